"""Where each workload kind keeps its pod template (Kyverno auto-gen's table, and the
custom resources that carry pods).

A controller is linted exactly like the Pod it would create: the checks see the
template's metadata and spec, and every path they return is prefixed with the
template's path so positions land inside the controller's own file.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

CORE_GROUPS = frozenset({"", "apps", "extensions", "batch"})

# kind -> [(API groups it is served from, path of the pod template inside the object)].
# Only kinds served from a core group are recognised when an object has no apiVersion.
TEMPLATES: dict[str, list[tuple[frozenset, tuple]]] = {
    "Pod": [(frozenset({""}), ())],
    "PodTemplate": [(frozenset({""}), ("template",))],
    "ReplicationController": [(frozenset({""}), ("spec", "template"))],
    "Deployment": [(frozenset({"apps", "extensions"}), ("spec", "template"))],
    "DaemonSet": [(frozenset({"apps", "extensions"}), ("spec", "template"))],
    "StatefulSet": [(frozenset({"apps"}), ("spec", "template")),
                    (frozenset({"apps.kruise.io"}), ("spec", "template"))],  # OpenKruise Advanced StatefulSet
    "ReplicaSet": [(frozenset({"apps", "extensions"}), ("spec", "template"))],
    "Job": [(frozenset({"batch"}), ("spec", "template"))],
    "CronJob": [(frozenset({"batch"}), ("spec", "jobTemplate", "spec", "template"))],
    # Pod-carrying custom resources.  A Rollout with spec.workloadRef has no template: nothing to judge.
    "DeploymentConfig": [(frozenset({"apps.openshift.io", ""}), ("spec", "template"))],  # "": OpenShift 3's oapi v1
    "Rollout": [(frozenset({"argoproj.io"}), ("spec", "template"))],
    "Service": [(frozenset({"serving.knative.dev"}), ("spec", "template"))],  # core Services carry no pods
    "ScaledJob": [(frozenset({"keda.sh"}), ("spec", "jobTemplate", "spec", "template"))],
    "CloneSet": [(frozenset({"apps.kruise.io"}), ("spec", "template"))],
}
LIST_KINDS = {"List"}  # `kubectl get -o yaml` output: items are objects in their own right


@dataclass(frozen=True)
class Declared:
    """A pod-carrying kind declared in the config (`workloads:`)."""
    kind: str
    api_version: str  # glob over the whole apiVersion: "example.com/*"
    path: tuple  # of the pod template; () when the object is itself pod-shaped


def api_group(api_version: Any) -> str | None:
    if not isinstance(api_version, str):
        return None
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def template_path(kind: Any, api_version: Any, declared: tuple = ()) -> tuple | None:
    """Path of the pod template of an object of this kind and apiVersion, or None when it
    carries no pods.  Kinds declared in the config come first."""
    if not isinstance(kind, str):
        return None
    for d in declared:
        if d.kind == kind and isinstance(api_version, str) and fnmatch.fnmatchcase(api_version, d.api_version):
            return d.path
    group = api_group(api_version)
    for groups, path in TEMPLATES.get(kind, ()):
        if group in groups or group is None and groups & CORE_GROUPS:  # no apiVersion: judge by kind, like auto-gen
            return path
    return None


def is_workload(kind: Any, api_version: Any, declared: tuple = ()) -> bool:
    return template_path(kind, api_version, declared) is not None


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


def pod_view(obj: dict, template_path: tuple, prefix: tuple = ()) -> PodView | None:
    """The PodView of a workload object whose pod template is at `template_path`, or None
    when it has no template at all (nothing for pod rules to judge)."""
    template = _get(obj, template_path)
    if not isinstance(template, dict):
        return None
    meta = template.get("metadata")
    spec = template.get("spec")
    return PodView(prefix + template_path,
                   meta if isinstance(meta, dict) else {},
                   spec if isinstance(spec, dict) else {})
