"""Where each workload kind keeps its pod template (Kyverno auto-gen's table).

A controller is linted exactly like the Pod it would create: the checks see the
template's metadata and spec, and every path they return is prefixed with the
template's path so positions land inside the controller's own file.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# kind -> (API groups it is served from, path of the pod template inside the object)
TEMPLATES: dict[str, tuple[frozenset, tuple]] = {
    "Pod": (frozenset({""}), ()),
    "PodTemplate": (frozenset({""}), ("template",)),
    "ReplicationController": (frozenset({""}), ("spec", "template")),
    "Deployment": (frozenset({"apps", "extensions"}), ("spec", "template")),
    "DaemonSet": (frozenset({"apps", "extensions"}), ("spec", "template")),
    "StatefulSet": (frozenset({"apps"}), ("spec", "template")),
    "ReplicaSet": (frozenset({"apps", "extensions"}), ("spec", "template")),
    "Job": (frozenset({"batch"}), ("spec", "template")),
    "CronJob": (frozenset({"batch"}), ("spec", "jobTemplate", "spec", "template")),
}
LIST_KINDS = {"List"}  # `kubectl get -o yaml` output: items are objects in their own right


def api_group(api_version: Any) -> str | None:
    if not isinstance(api_version, str):
        return None
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def is_workload(kind: Any, api_version: Any) -> bool:
    entry = TEMPLATES.get(kind) if isinstance(kind, str) else None
    if entry is None:
        return False
    group = api_group(api_version)
    return group is None or group in entry[0]  # no apiVersion: judge by kind, like auto-gen


@dataclass
class PodView:
    """The pod a workload describes: its metadata and spec, and where they live."""
    prefix: tuple  # path of the pod template from the document root
    metadata: dict
    spec: dict


def _get(data: Any, path: tuple) -> Any:
    for step in path:
        if not isinstance(data, dict):
            return None
        data = data.get(step)
    return data


def pod_view(obj: dict, prefix: tuple = ()) -> PodView | None:
    """The PodView of a workload object (already known to be one), or None when it has no
    template at all (nothing for pod rules to judge)."""
    kind = obj.get("kind")
    template_path = TEMPLATES[kind][1]
    template = _get(obj, template_path)
    if not isinstance(template, dict):
        return None
    meta = template.get("metadata")
    spec = template.get("spec")
    return PodView(prefix + template_path,
                   meta if isinstance(meta, dict) else {},
                   spec if isinstance(spec, dict) else {})
