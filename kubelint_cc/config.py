"""Config: `.kubelint-cc.yaml` or `[tool.kubelint-cc]` in pyproject.toml, found upward
from the first scanned path (or named with --config), validated by config.schema.json.

Errors name the bad key and, for YAML, its line and column.
"""
from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import Any

from kubelint_cc import paths as pathutil
from kubelint_cc.excerpt import excerpt

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
    admission_config: str | None = None  # path of the cluster's AdmissionConfiguration, relative to the config
    kyverno_exclude: list = field(default_factory=list)  # Kyverno podSecurity exclude entries (kubelint_cc.kyverno)
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
    cache_dir: str | None = None  # cache-dir, relative to the config file's directory

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

    def enabled(self, *names: str | None) -> bool:
        """Whether a finding answering to these names (rule id, controls) is reported."""
        named = set(names) - {None}
        if self.select and not named & set(self.select):
            return False
        return not named & set(self.ignore)

    def severity_for(self, default: str, *names: str | None) -> str:
        """The configured severity for the first of the names (most specific first) that has one."""
        return next((self.severity[n] for n in names if n is not None and n in self.severity), default)

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
    top: str | None | bool = False  # the repository's real top (None: no repository), once needed
    while True:
        for name in CONFIG_NAMES + ("pyproject.toml",):
            candidate = os.path.join(here, name)
            if not os.path.isfile(candidate):
                continue
            if top is False:
                top = pathutil.boundary(here)
            if top is not None and not pathutil.within(candidate, top):
                # A pull request can add the link: its target (a credentials file, /etc/passwd)
                # would be read and echoed in error messages.
                raise ConfigError(f"{candidate}: symbolic link to a file outside the repository: not read")
            if name != "pyproject.toml" or _pyproject_section(candidate) is not None:
                return candidate
        parent = os.path.dirname(here)
        # `.git` is a file in worktrees and submodules: either way this is the repository's
        # top, and a config above it belongs to someone else.
        if parent == here or os.path.lexists(os.path.join(here, ".git")):
            return None
        here = parent


def _pyproject_section(path: str) -> dict | None:
    import re
    import tomllib
    try:
        data = tomllib.loads(pathutil.read_capped(path, pathutil.MAX_CONFIG_BYTES).decode("utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8: {excerpt(str(e), 200)}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    except tomllib.TOMLDecodeError as e:  # "Invalid value (at line 3, column 9)": say it as path:line:col
        m = re.search(r" \(at line (\d+), column (\d+)\)$", str(e))
        at, message = (f":{m.group(1)}:{m.group(2)}", str(e)[:m.start()]) if m else ("", str(e))
        if message.endswith(" (at end of document)"):
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            at, message = f":{text.count(chr(10)) + 1}:{len(text) - text.rfind(chr(10))}", message[:-21]
        raise ConfigError(f"{path}{at}: invalid TOML: {excerpt(message, 200)}") from None
    tool = data.get("tool")
    return tool.get("kubelint-cc") if isinstance(tool, dict) else None


_TOML_KEY = r'(?:"(?:[^"\\]|\\.)*"|'"'"r"[^']*'|[A-Za-z0-9_-]+)"


def _toml_keys(text: str) -> list[str]:
    import re
    return [k.strip("\"'") for k in re.findall(_TOML_KEY, text)]


def _toml_locate(text: str, steps: list) -> tuple[int, int] | None:
    """Best-effort (line, column) of a key path under [tool.kubelint-cc] in pyproject.toml
    text (tomllib keeps no positions): the deepest matching table header, then each key,
    dotted or inside an inline table, then the list item."""
    import re
    full = ["tool", "kubelint-cc"] + [s for s in steps if isinstance(s, str)]
    index = next((s for s in steps if isinstance(s, int)), None)
    headers = [(m.start(), m.end(), _toml_keys(m.group(1))) for m in
               re.finditer(r"^[ \t]*\[(?!\[)[ \t]*([^\]\n]+?)[ \t]*\][ \t]*(?:#.*)?$", text, re.M)]
    best = None
    for n, (start, end, keys) in enumerate(headers):
        if len(keys) >= 2 and full[:len(keys)] == keys and (best is None or len(keys) > len(best[2])):
            best = (start, end, keys, headers[n + 1][0] if n + 1 < len(headers) else len(text))
    if best is None:
        return None
    found, pos, _, end = best
    for key in full[len(best[2]):]:
        m = re.compile(r"(?<![\w-])[\"']?" + re.escape(key) + r"[\"']?[ \t]*[=.]").search(text, pos, end)
        if not m:
            break
        found, pos = m.start(), m.end()
    else:
        items = list(re.finditer(r'"(?:[^"\\]|\\.)*"|' + r"'[^']*'", text[pos:end])) if index is not None else []
        if index is not None and index < len(items):
            found = pos + items[index].start()
    line_start = text.rfind("\n", 0, found) + 1
    return text.count("\n", 0, found) + 1, found - line_start + 1


def load_config(explicit: str | None, paths: list[str], cache: bool = False) -> Config:
    """The config for a scan of `paths`.  With `cache`, a config found valid before (same
    content, same kubelint-cc) is not validated again: jsonschema alone costs a one-file
    run more than the rest of kubelint-cc's imports and the scan together."""
    path = explicit or discover(paths)
    if path is None:
        return Config()
    if explicit and not os.path.isfile(explicit):
        if os.path.exists(explicit):
            raise ConfigError(f"{explicit}: not a regular file: not read")
        raise ConfigError(f"{explicit}: config file not found")
    if path.endswith(".toml"):
        data, root = _pyproject_section(path), None
        if data is None:
            raise ConfigError(f"{path}: no [tool.kubelint-cc] section")
        where = lambda p: _toml_where(path, p)
    else:
        data, root = _load_yaml(path)
        where = lambda p: _yaml_where(path, root, p)
    verdict = _verdict_cache(path, data, paths) if cache else None
    if verdict is None or verdict[0].get("c", verdict[1]) != VALID:
        _validate(data, where)
        _check_names(data or {}, where)
        if verdict is not None:
            verdict[0].put("c", verdict[1], VALID)
    return _build(path, data or {})


VALID = b"valid"


def _verdict_cache(path: str, data: Any, paths: list[str]):
    """(store, key) where a verdict on this config's data is cached, or None.  The key is the
    data's repr (the same for any two configs that validate alike, YAML or TOML) and the code
    digest, which covers config.schema.json and the rule catalog that names are checked in."""
    from kubelint_cc import cache
    setting = data.get("cache-dir") if isinstance(data, dict) else None
    store = cache.open_store(cache.location(path, setting if isinstance(setting, str) else None, paths))
    if store is None:
        return None
    return store, store.key(b"config", repr(data).encode("utf-8", "surrogatepass"))


def _check_names(data: dict, where) -> None:
    """A misspelt rule name would silently select nothing, or ignore nothing: an error."""
    from kubelint_cc import catalog
    rules = data.get("rules", {})
    named = [(["rules", key, i], n) for key in ("select", "ignore") for i, n in enumerate(rules.get(key, []))]
    named += [(["rules", "severity", n], n) for n in rules.get("severity", {})]
    known = catalog.known_names()
    for steps, name in named:
        if name not in known:
            raise ConfigError(f"{where(steps)}: {catalog.unknown_name(name)}")


def _load_yaml(path: str):
    from kubelint_cc import load, yamltree
    try:
        text = load.decode(pathutil.read_capped(path, pathutil.MAX_CONFIG_BYTES))
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
        raise ConfigError(f"{path}:{p.node.start_mark.line + 1}:{p.node.start_mark.column + 1}: {excerpt(str(p), 300)}")
    return data, nodes[0]


def _toml_where(path: str, steps) -> str:
    dotted = "[tool.kubelint-cc]" + "".join(f".{s}" if isinstance(s, str) else f"[{s}]" for s in steps)
    try:
        with open(path, encoding="utf-8") as f:
            at = _toml_locate(f.read(), list(steps))
    except (OSError, UnicodeError):
        at = None
    return f"{path}:{at[0]}:{at[1]}: {dotted}" if at else f"{path}: {dotted}"


def _yaml_where(path: str, root, steps) -> str:
    from kubelint_cc import yamltree
    dotted = excerpt(".".join(str(s) for s in steps) or "(top level)")
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
            raise ConfigError(f"{where(steps)}: unknown key {excerpt(repr(extra[0]))}"
                              f" (allowed: {', '.join(sorted(e.schema.get('properties', {})))})")
    if e.validator == "pattern":  # never show the regular expression: say what is expected
        raise ConfigError(f"{where(steps)}: {excerpt(repr(e.instance))} is not valid: expected "
                          f"{e.schema.get('description', 'another value')}")
    # jsonschema's message quotes the whole value (a whole file, if the config is one string):
    # quote a short excerpt of it instead.
    message, value = e.message, repr(e.instance)
    if value in message:
        message = message.replace(value, excerpt(value), 1)
    raise ConfigError(f"{where(steps)}: {excerpt(message, 300)}")


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
        admission_config=pss.get("admissionConfig"),
        kyverno_exclude=list(pss.get("kyvernoExclude", [])),
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
        cache_dir=data.get("cache-dir"),
    )


def _declared(entry: dict):
    from kubelint_cc.expand import Declared
    template = entry["template"]
    return Declared(entry["kind"], entry["apiVersion"], tuple(template.split(".")) if template != "." else ())
