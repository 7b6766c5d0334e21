"""What the API server's defaulting does to an object before Pod Security Admission sees it.

Admission judges the decoded, defaulted object, not the YAML.  Every defaulting applied
here is listed in the README ("The API server's decoding and defaulting"):
  * a volume without a source is an emptyDir (handled in checks.pss, where volumes are read);
  * in a Pod with ``hostNetwork: true``, a container or init container port without a
    hostPort gets ``hostPort = containerPort`` (SetDefaults_Pod, Pods only since
    Kubernetes 1.28: pod templates keep hostPort 0).
"""
from __future__ import annotations

from typing import Any


def pod(kind: Any, spec: Any) -> set[tuple]:
    """Apply a Pod's defaulting to ``spec`` in place; return the paths (from spec) it set."""
    if kind != "Pod" or not isinstance(spec, dict) or spec.get("hostNetwork") is not True:
        return set()
    set_paths: set[tuple] = set()
    for field in ("initContainers", "containers"):
        containers = spec.get(field)
        for i, c in enumerate(containers if isinstance(containers, list) else []):
            ports = c.get("ports") if isinstance(c, dict) else None
            for j, port in enumerate(ports if isinstance(ports, list) else []):
                if not isinstance(port, dict) or port.get("hostPort") not in (None, 0):
                    continue
                cp = port.get("containerPort")
                if type(cp) is int and cp != 0:
                    port["hostPort"] = cp
                    set_paths.add(("spec", field, i, "ports", j, "hostPort"))
    return set_paths
