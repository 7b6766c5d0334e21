"""Input errors the API server would refuse: documents that are not objects, and pod
templates whose fields have the wrong type.

Only the fields the rules read are checked (a small schema below, following the Go
structs of k8s.io/api/core/v1).  A wrong type is reported the way the API server refuses
the object ("spec.template.spec.containers must be a list, got a mapping"), at the field's
position; the rules still run, and they ignore values of the wrong type.  `null` is
always accepted: Kubernetes reads it as the field's zero value.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterator

from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from kubelint_cc import load, yamltree
from kubelint_cc.checks import pss
from kubelint_cc.excerpt import excerpt

MAX_ERRORS_PER_OBJECT = 20  # a hostile object must not flood the report


# ------------------------------------------------------------------ the schema types

class _Scalar:
    def __init__(self, name: str, test: Callable[[Any], bool]):
        self.name, self.test = name, test

    def check(self, value: Any, path: tuple, out: list) -> None:
        if value is not None and not self.test(value):
            out.append((path, f"must be {self.name}, got {describe(value)}"))


class _Object:
    def __init__(self, fields: dict):
        self.fields = fields

    def check(self, value: Any, path: tuple, out: list) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            out.append((path, f"must be a mapping, got {describe(value)}"))
            return
        for key, spec in self.fields.items():
            if key in value:
                _replace(value, key, spec.check(value[key], path + (key,), out))


class _ListOf:
    def __init__(self, item):
        self.item = item

    def check(self, value: Any, path: tuple, out: list) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            out.append((path, f"must be a list, got {describe(value)}"))
            return
        for i, item in enumerate(value):
            _replace(value, i, self.item.check(item, path + (i,), out))
            if len(out) > MAX_ERRORS_PER_OBJECT:
                return


class _MapOf:
    def __init__(self, value):
        self.value = value

    def check(self, value: Any, path: tuple, out: list) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            out.append((path, f"must be a mapping, got {describe(value)}"))
            return
        for key, item in list(value.items()):
            _replace(value, key, self.value.check(item, path + (key,), out))
            if len(out) > MAX_ERRORS_PER_OBJECT:
                return


_KEEP = object()   # check() results: keep the value, or the value the API server decodes instead


_DROP = object()   # ... or drop it: the API server refuses it, so it is not judged


def _replace(container: Any, key: Any, new: Any) -> None:
    if new is _DROP:
        if isinstance(container, dict):
            del container[key]
        else:
            container[key] = None
    elif new is not _KEEP and new is not None:
        container[key] = new


class _Int:
    """An integer field as the API server decodes it (kubectl sends JSON; Go decodes a
    whole-number float such as 80.0 or 1e3 into the integer), and refuses a value outside
    the Go type's range; such a value is then not judged."""

    def __init__(self, bits: int):
        self.name, self.lo, self.hi = f"an int{bits}", -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def check(self, value: Any, path: tuple, out: list) -> Any:
        if value is None:
            return _KEEP
        decoded = int(value) if type(value) is float and value.is_integer() else value
        if type(decoded) is not int:
            out.append((path, f"must be an integer, got {describe(value)}"))
            return _KEEP
        if not self.lo <= decoded <= self.hi:
            out.append((path, f"must be {self.name} ({self.lo} to {self.hi}), got {describe(value)}"))
            return _DROP
        return decoded if decoded is not value else _KEEP


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


STRING = _Scalar("a string", lambda v: isinstance(v, str))
INT32 = _Int(32)
INT64 = _Int(64)
BOOLEAN = _Scalar("a boolean", lambda v: isinstance(v, bool))
INT_OR_STRING = _Scalar("an integer or a string", lambda v: type(v) is int or isinstance(v, str))
QUANTITY = _Scalar("a quantity (a string or a number)", lambda v: isinstance(v, str) or _number(v))
ANY_OBJECT = _Object({})


# ------------------------------------------------------------------ core/v1, as far as the rules read it

OBJECT_META = _Object({"name": STRING, "namespace": STRING,
                       "labels": _MapOf(STRING), "annotations": _MapOf(STRING)})
PROFILE = _Object({"type": STRING, "localhostProfile": STRING})
SELINUX = _Object({"user": STRING, "role": STRING, "type": STRING, "level": STRING})
WINDOWS = _Object({"gmsaCredentialSpecName": STRING, "gmsaCredentialSpec": STRING,
                   "runAsUserName": STRING, "hostProcess": BOOLEAN})
_COMMON_SC = {"runAsUser": INT64, "runAsGroup": INT64, "runAsNonRoot": BOOLEAN,
              "seccompProfile": PROFILE, "appArmorProfile": PROFILE,
              "seLinuxOptions": SELINUX, "windowsOptions": WINDOWS}
SECURITY_CONTEXT = _Object({**_COMMON_SC, "privileged": BOOLEAN, "allowPrivilegeEscalation": BOOLEAN,
                            "readOnlyRootFilesystem": BOOLEAN, "procMount": STRING,
                            "capabilities": _Object({"add": _ListOf(STRING), "drop": _ListOf(STRING)})})
POD_SECURITY_CONTEXT = _Object({**_COMMON_SC, "fsGroup": INT64, "supplementalGroups": _ListOf(INT64),
                                "sysctls": _ListOf(_Object({"name": STRING, "value": STRING}))})
HANDLER = _Object({"httpGet": _Object({"host": STRING, "path": STRING, "port": INT_OR_STRING, "scheme": STRING}),
                   "tcpSocket": _Object({"host": STRING, "port": INT_OR_STRING}),
                   "exec": _Object({"command": _ListOf(STRING)}),
                   "grpc": _Object({"port": INT32, "service": STRING})})
CONTAINER = _Object({
    "name": STRING, "image": STRING, "command": _ListOf(STRING), "args": _ListOf(STRING),
    "ports": _ListOf(_Object({"containerPort": INT32, "hostPort": INT32, "protocol": STRING,
                              "name": STRING, "hostIP": STRING})),
    "securityContext": SECURITY_CONTEXT,
    "resources": _Object({"limits": _MapOf(QUANTITY), "requests": _MapOf(QUANTITY)}),
    "lifecycle": _Object({"postStart": HANDLER, "preStop": HANDLER}),
    "livenessProbe": HANDLER, "readinessProbe": HANDLER, "startupProbe": HANDLER,
})
_SOURCES = dict.fromkeys(pss.ALLOWED_VOLUME_SOURCES + pss.RESTRICTED_VOLUME_SOURCES, ANY_OBJECT)
VOLUME = _Object({**_SOURCES, "name": STRING, "hostPath": _Object({"path": STRING, "type": STRING})})
POD_SPEC = _Object({
    "containers": _ListOf(CONTAINER), "initContainers": _ListOf(CONTAINER),
    "ephemeralContainers": _ListOf(CONTAINER), "volumes": _ListOf(VOLUME),
    "securityContext": POD_SECURITY_CONTEXT,
    "hostNetwork": BOOLEAN, "hostPID": BOOLEAN, "hostIPC": BOOLEAN, "hostUsers": BOOLEAN,
    "runtimeClassName": STRING, "os": _Object({"name": STRING}), "nodeSelector": _MapOf(STRING),
    "serviceAccountName": STRING, "automountServiceAccountToken": BOOLEAN,
})
POD_TEMPLATE = _Object({"metadata": OBJECT_META, "spec": POD_SPEC})


# ------------------------------------------------------------------ entry points

def document(file: str, node: Any, prefix: tuple = ()) -> list[load.LoadError]:
    """A document (or an item of a List) that is not a Kubernetes object.

    YAML that is not Kubernetes at all is no error and is skipped: a document that is a
    scalar or a list (Ansible playbooks, JSON6902 patches, .pre-commit-hooks.yaml) or a
    mapping with neither `kind` nor `apiVersion` (Helm values, tool configuration).  What
    claims to be an object and cannot be one is an error: `apiVersion` without `kind`, a
    `kind` or `apiVersion` that is not a non-empty string, a List item that is no mapping."""
    if not isinstance(node, (ScalarNode, SequenceNode, MappingNode)):
        return []  # not a node at all (the engine walked `items` that are not a list)
    if not prefix and not isinstance(node, MappingNode):
        return []  # a whole document that is a scalar or a list: not Kubernetes
    where = f"{_path(prefix)} " if prefix else "document "
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, ScalarNode):
        value = yamltree.scalar(node)
        if value is None:
            return []
        return [load.LoadError(file, f"{where}is not a Kubernetes object: it is {describe(value)} "
                                     "(expected a mapping with apiVersion and kind)", line, col)]
    if isinstance(node, SequenceNode):
        return [load.LoadError(file, f"{where}is not a Kubernetes object: it is a list (expected a mapping with "
                                     "apiVersion and kind; several objects go in separate documents or a List)",
                               line, col)]
    kind = yamltree.child(node, "kind")
    api = yamltree.child(node, "apiVersion")
    errors = []
    for name, found in (("apiVersion", api), ("kind", kind)):
        if found is None:
            continue
        value = yamltree.scalar(found[1]) if isinstance(found[1], ScalarNode) else found[1].value
        if not isinstance(value, str) or not value:
            got = describe(value) if isinstance(found[1], ScalarNode) else \
                ("a list" if isinstance(found[1], SequenceNode) else "a mapping")
            errors.append(load.LoadError(file, f"{where}has an invalid {name}: must be a non-empty string, got {got}",
                                         found[0].start_mark.line + 1, found[0].start_mark.column + 1))
    if kind is None and api is not None:
        errors.append(load.LoadError(file, f"{where}has apiVersion but no kind: not a valid Kubernetes object",
                                     line, col))
    return errors


def pod_template(file: str, root: Any, prefix: tuple, data: dict, obj: dict, template: tuple) -> list[load.LoadError]:
    """Type errors in a workload's metadata and its pod template (at path `template`, see
    expand.template_path), as input errors at each field."""
    found: list = []
    OBJECT_META.check(data.get("metadata"), ("metadata",), found)
    path: tuple = ()
    value: Any = data
    for step in template:  # spec, template, jobTemplate...: each a mapping
        value = value.get(step)
        path += (step,)
        if value is None:
            break
        if not isinstance(value, dict):
            found.append((path, f"must be a mapping, got {describe(value)}"))
            break
    else:
        if path:  # a Pod is its own template; its metadata was checked above
            POD_TEMPLATE.check(value, path, found)
        else:
            POD_SPEC.check(data.get("spec"), ("spec",), found)
    return list(_errors(file, root, prefix, obj, found))


def _errors(file: str, root: Any, prefix: tuple, obj: dict, found: list) -> Iterator[load.LoadError]:
    ns, name = obj.get("namespace"), obj.get("name")  # from the manifest: short and escaped
    who = f"{excerpt(obj.get('kind'))} {excerpt(ns) + '/' if ns else ''}{excerpt(name) if name else '<unnamed>'}"
    placed = sorted((yamltree.locate(root, prefix + path), path, message)
                    for path, message in found[:MAX_ERRORS_PER_OBJECT])
    for (line, col), path, message in placed:
        yield load.LoadError(file, f"invalid {who}: {_path(path)} {message}", line, col)
    if len(found) > MAX_ERRORS_PER_OBJECT:
        yield load.LoadError(file, f"invalid {who}: more type errors not shown (the first {MAX_ERRORS_PER_OBJECT} "
                                   "are)", *yamltree.locate(root, prefix))


def describe(value: Any) -> str:
    """What a value is, for messages: 'a mapping', 'the string "true"', 'the integer 8080'."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}" if value.bit_length() < 64 else "an integer"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "the string " + json.dumps(value if len(value) <= 40 else value[:37] + "...", ensure_ascii=False)
    return "null" if value is None else type(value).__name__


def _path(path: tuple) -> str:
    from kubelint_cc.engine import format_path  # engine imports this module
    return format_path(path)
