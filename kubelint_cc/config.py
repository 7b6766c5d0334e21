"""Config: `.kubelint-cc.yaml` or `[tool.kubelint-cc]` in pyproject.toml, found upward
from the first scanned path (or named with --config), validated by config.schema.json.

Errors name the bad key and, for YAML, its line and column.
"""
from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import Any

CONFIG_NAMES = (".kubelint-cc.yaml", ".kubelint-cc.yml")
DEFAULT_PEER_POD_CLASSES = ["kata-remote"]
DEFAULT_WEBHOOK_SKIPPED = ["openshift-*", "kube-*"]


class ConfigError(Exception):
    pass


@dataclass
class NamespacePolicy:
    pattern: str
    allowed: list | None  # None: any runtime class
    required: bool


@dataclass
class Config:
    path: str | None = None
    pss_level: str | None = None
    pss_version: str | None = None
    select: list = field(default_factory=list)
    ignore: list = field(default_factory=list)
    severity: dict = field(default_factory=dict)
    exclude: list = field(default_factory=list)
    default_namespace: str = "default"
    namespaces: list = field(default_factory=list)  # [NamespacePolicy], first match wins
    peer_pod_classes: list = field(default_factory=lambda: list(DEFAULT_PEER_POD_CLASSES))
    webhook_skipped: list = field(default_factory=lambda: list(DEFAULT_WEBHOOK_SKIPPED))
    workloads: tuple = ()  # (expand.Declared, ...): pod-carrying kinds beyond the built-in table
    helm_values: list = field(default_factory=list)  # values files for every chart, relative to the config
    helm_set: list = field(default_factory=list)  # key=value, as helm --set

    @property
    def root(self) -> str:
        return os.path.dirname(os.path.abspath(self.path)) if self.path else os.getcwd()

    def exclude_matcher(self):
        if not self.exclude:
            return None
        root = self.root

        def excluded(path: str) -> bool:
            rel = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
            return any(fnmatch.fnmatchcase(rel, pat) or fnmatch.fnmatchcase(rel, pat.rstrip("/") + "/*")
                       for pat in self.exclude)
        return excluded

    def enabled(self, rule: str, control: str | None) -> bool:
        names = {rule, control} - {None}
        if self.select and not names & set(self.select):
            return False
        return not names & set(self.ignore)

    def severity_for(self, rule: str, control: str | None, default: str) -> str:
        return self.severity.get(rule) or (self.severity.get(control) if control else None) or default

    def namespace_policy(self, namespace: str) -> NamespacePolicy | None:
        return next((p for p in self.namespaces if fnmatch.fnmatchcase(namespace, p.pattern)), None)


def _schema() -> dict:
    import json  # only when there is a config file to validate: a one-file scan stays lean
    with open(os.path.join(os.path.dirname(__file__), "config.schema.json"), encoding="utf-8") as f:
        return json.load(f)


def discover(paths: list[str]) -> str | None:
    start = next((p for p in paths if p != "-"), ".")
    here = os.path.abspath(start)
    if not os.path.isdir(here):
        here = os.path.dirname(here)
    while True:
        for name in CONFIG_NAMES:
            candidate = os.path.join(here, name)
            if os.path.isfile(candidate):
                return candidate
        pyproject = os.path.join(here, "pyproject.toml")
        if os.path.isfile(pyproject) and _pyproject_section(pyproject) is not None:
            return pyproject
        parent = os.path.dirname(here)
        if parent == here or os.path.isdir(os.path.join(here, ".git")):
            return None
        here = parent


def _pyproject_section(path: str) -> dict | None:
    import tomllib
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    section = data.get("tool", {}).get("kubelint-cc")
    return section


def load_config(explicit: str | None, paths: list[str]) -> Config:
    path = explicit or discover(paths)
    if path is None:
        return Config()
    if explicit and not os.path.isfile(explicit):
        raise ConfigError(f"{explicit}: config file not found")
    if path.endswith(".toml"):
        data, root = _pyproject_section(path), None
        if data is None:
            raise ConfigError(f"{path}: no [tool.kubelint-cc] section")
        where = lambda p: f"{path}: [tool.kubelint-cc]{''.join(f'.{s}' if isinstance(s, str) else f'[{s}]' for s in p)}"
    else:
        data, root = _load_yaml(path)
        where = lambda p: _yaml_where(path, root, p)
    _validate(data, where)
    return _build(path, data or {})


def _load_yaml(path: str):
    from kubelint_cc import load, yamltree
    try:
        with open(path, "rb") as f:
            text = load.decode(f.read())
        nodes = [n for n in load.compose_documents(text) if n is not None]
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {load.os_message(e)}") from None
    except UnicodeError as e:
        raise ConfigError(f"{path}: {e}") from None
    except Exception as e:  # ruamel's marked errors
        mark = getattr(e, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}{at}: invalid YAML: {getattr(e, 'problem', None) or e}") from None
    if not nodes:
        return {}, None
    if len(nodes) > 1:
        raise ConfigError(f"{path}: expected one YAML document, found {len(nodes)}")
    problems: list = []
    try:
        data = yamltree.to_data(nodes[0], problems)
    except yamltree.TreeError as e:
        problems.append(e)
    if problems:
        p = problems[0]
        raise ConfigError(f"{path}:{p.node.start_mark.line + 1}:{p.node.start_mark.column + 1}: {p}")
    return data, nodes[0]


def _yaml_where(path: str, root, steps) -> str:
    from kubelint_cc import yamltree
    dotted = ".".join(str(s) for s in steps) or "(top level)"
    if root is None:
        return f"{path}: {dotted}"
    line, col = yamltree.locate(root, tuple(steps))
    return f"{path}:{line}:{col}: {dotted}"


def _validate(data: Any, where) -> None:
    import jsonschema
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data if data is not None else {}), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    e = errors[0]
    steps = list(e.absolute_path)
    if e.validator == "additionalProperties":
        extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
        if extra:
            steps.append(extra[0])
            raise ConfigError(f"{where(steps)}: unknown key {extra[0]!r}"
                              f" (allowed: {', '.join(sorted(e.schema.get('properties', {})))})")
    raise ConfigError(f"{where(steps)}: {e.message}")


def _build(path: str, data: dict) -> Config:
    pss = data.get("pss", {})
    rules = data.get("rules", {})
    rc = data.get("runtimeClasses", {})
    peer = data.get("peerPods", {})
    namespaces = [NamespacePolicy(pattern, spec.get("allowed"), bool(spec.get("required", False)))
                  for pattern, spec in rc.get("namespaces", {}).items()]
    return Config(
        path=path,
        pss_level=pss.get("level"),
        pss_version=pss.get("version"),
        select=list(rules.get("select", [])),
        ignore=list(rules.get("ignore", [])),
        severity=dict(rules.get("severity", {})),
        exclude=list(data.get("exclude", [])),
        default_namespace=rc.get("defaultNamespace", "default"),
        namespaces=namespaces,
        peer_pod_classes=list(peer.get("runtimeClasses", DEFAULT_PEER_POD_CLASSES)),
        webhook_skipped=list(peer.get("webhookSkippedNamespaces", DEFAULT_WEBHOOK_SKIPPED)),
        workloads=tuple(_declared(w) for w in data.get("workloads", [])),
        helm_values=[os.path.join(os.path.dirname(os.path.abspath(path)), v)
                     for v in data.get("helm", {}).get("values", [])],
        helm_set=list(data.get("helm", {}).get("set", [])),
    )


def _declared(entry: dict):
    from kubelint_cc.expand import Declared
    template = entry["template"]
    return Declared(entry["kind"], entry["apiVersion"], tuple(template.split(".")) if template != "." else ())
