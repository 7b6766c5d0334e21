"""Runtime class placement and peer-pod VM accounting.

Placement is the user's policy (config `runtimeClasses.namespaces`: namespace glob ->
allowed runtimeClassName values, optionally required).  Accounting follows the
peer-pods mutating webhook: for pods of a peer-pods runtime class it strips container
resources and adds the extended resource kata.peerpods.io/vm, except in the namespaces
it skips, where a pod must request that resource itself or escape VM accounting.
"""
from __future__ import annotations

import fnmatch
from typing import Iterator

from kubelint_cc.checks.rule import Hit
from kubelint_cc.excerpt import quoted  # values from the manifest: short and escaped

PEER_POD_RESOURCE = "kata.peerpods.io/vm"
CONTAINER_LISTS = ("initContainers", "containers")  # what the webhook rewrites


def _containers(spec: dict):
    for field in CONTAINER_LISTS:
        items = spec.get(field)
        for i, c in enumerate(items if isinstance(items, list) else []):
            if isinstance(c, dict):
                yield ("spec", field, i), c


def runtime_class(spec: dict, namespace: str, config) -> Iterator[Hit]:
    policy = config.namespace_policy(namespace)
    if policy is None:
        return
    name = spec.get("runtimeClassName")
    if name is None:
        if policy.required:
            allowed = ", ".join(policy.allowed or []) or "a runtime class"
            yield Hit("runtime-class-required", "runtimeClassName", "error",
                      f'namespace {quoted(namespace)} (config pattern "{policy.pattern}") requires runtimeClassName '
                      f"({allowed}); this pod sets none", ("spec",))
        return
    if policy.allowed is not None and name not in policy.allowed:
        allowed = ", ".join(policy.allowed) if policy.allowed else "none"
        yield Hit("runtime-class-not-allowed", "runtimeClassName", "error",
                  f'runtimeClassName {quoted(name)} is not allowed in namespace {quoted(namespace)} '
                  f'(config pattern "{policy.pattern}" allows: {allowed})', ("spec", "runtimeClassName"))


def _requests_vm(c: dict) -> bool:
    resources = c.get("resources")
    if not isinstance(resources, dict):
        return False
    return any(isinstance(resources.get(kind), dict) and PEER_POD_RESOURCE in resources[kind]
               for kind in ("limits", "requests"))


def peer_pods(spec: dict, namespace: str, config) -> Iterator[Hit]:
    name = spec.get("runtimeClassName")
    if not isinstance(name, str) or name not in config.peer_pod_classes:
        return
    skipped = next((p for p in config.webhook_skipped if fnmatch.fnmatchcase(namespace, p)), None)
    containers = list(_containers(spec))
    if skipped is not None:
        if not any(_requests_vm(c) for _, c in containers):
            yield Hit("peer-pod-accounting", "peerPodAccounting", "warning",
                      f'peer pod (runtimeClassName {quoted(name)}) in namespace {quoted(namespace)}, which the peer-pods webhook '
                      f'skips (pattern "{skipped}"): without a {PEER_POD_RESOURCE} request or limit it escapes '
                      "peer-pod VM accounting", ("spec", "runtimeClassName"))
        return
    for path, c in containers:
        resources = c.get("resources")
        if isinstance(resources, dict) and any(resources.get(k) for k in ("limits", "requests")):
            yield Hit("peer-pod-resources-removed", "peerPodAccounting", "note",
                      f'the peer-pods webhook removes this container\'s resources (runtimeClassName {quoted(name)}) and adds '
                      f"{PEER_POD_RESOURCE}; size the peer-pod VM with its instance type instead",
                      path + ("resources",))
