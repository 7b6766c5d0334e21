"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

One run.  tool.driver.rules holds every catalog rule, so a rule's documentation shows in
GitHub even before it first fires.  Result locations are relative to %SRCROOT%: the git
work tree of the scanned files (else the current directory), which is what GitHub maps
to the checked-out repository.  Input errors become tool execution notifications.
"""
from __future__ import annotations

import json
import os

from kubelint_cc import __version__, cache

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/kubelint-cc/kubelint-cc"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "kubelintFingerprint/v1"
STDIN_URI = "stdin"

# The log is built from plain dicts, not sarif-om objects: importing sarif-om (and attrs,
# and pbr at run time) cost a one-file pre-commit run about as much as the scan itself.
# Keys are written in the order sarif-om serialised them, so the output is unchanged;
# None means "not set" and is dropped (to_json), as sarif-om's serialiser did.


_MARKER = "\0kubelint-cc results\0"  # stands in for the results in the log's skeleton (see render)
RULES_SLOT = "\0rules\0"  # no string of a real log holds a NUL: json writes it as \u0000
RULES_DEPTH = 5  # the rules list is at log.runs[0].tool.driver.rules


def render(result, stream) -> None:
    """The log, with its results turned into JSON one at a time: the same text as dumping
    build(result) whole, without a second and third copy of every finding (the result
    dicts, then their JSON) in memory: 1.7 million findings took 6 GB that way."""
    log = build(result, results=[_MARKER] if result.findings else None)
    driver = log["runs"][0]["tool"]["driver"]
    index = {d["id"]: i for i, d in enumerate(driver["rules"])}
    if len(driver["rules"]) == len(_descriptor_list()):  # no placeholders for unknown rules
        # The rules (every rule's documentation: most of a small log) are the same in every log
        # of this kubelint-cc, and an indented dump runs json's pure-Python encoder: they are
        # written once, kept in the cache, and put in the slot left for them.
        driver["rules"] = RULES_SLOT
        head, tail = json.dumps(to_json(log), indent=2).split(json.dumps(RULES_SLOT), 1)
        skeleton = head + cache.memo(b"sarif rules text", _rules_text) + tail
    else:
        skeleton = json.dumps(to_json(log), indent=2)
    if not result.findings:
        stream.write(skeleton + "\n")
        return
    locator = _locator(result)
    before, marker_line, after = _split_at(skeleton, json.dumps(_MARKER))
    indent = marker_line[:len(marker_line) - len(marker_line.lstrip())]
    stream.write(before)
    for i, f in enumerate(result.findings):
        text = json.dumps(to_json(_result(f, index[f.rule], locator)), indent=2)
        stream.write(("" if i == 0 else ",\n") + indent + text.replace("\n", "\n" + indent))
    stream.write(after)
    stream.write("\n")


def _split_at(text: str, marker: str) -> tuple[str, str, str]:
    """(text before the marker's line, that line, the text after it, from its line break)."""
    at = text.index(marker)
    start = text.rindex("\n", 0, at) + 1
    end = text.find("\n", at)
    return text[:start], text[start:end], text[end:]


def _locator(result) -> "Locator":
    return Locator([f.file for f in result.findings] + [e.file for e in result.errors])


def _rules_text() -> str:
    text = json.dumps(to_json(_descriptor_list()), indent=2)
    return text.replace("\n", "\n" + "  " * RULES_DEPTH)


_DESCRIPTORS: list = []  # this process's copy


def _descriptor_list() -> list[dict]:
    if not _DESCRIPTORS:
        _DESCRIPTORS.extend(cache.memo(b"sarif rule descriptors", _descriptors))
    return list(_DESCRIPTORS)


def build(result, results: list | None = None) -> dict:
    """The whole log; with `results`, those stand in for the findings' results (see render)."""
    descriptors = _descriptor_list()
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    for f in result.findings:  # a rule without a catalog entry still needs a descriptor
        if f.rule not in index:
            index[f.rule] = len(descriptors)
            descriptors.append(_placeholder_descriptor(f.rule))

    locator = _locator(result)
    run = {
        "tool": {"driver": {
            "name": "kubelint-cc", "informationUri": INFORMATION_URI, "rules": descriptors,
            "semanticVersion": __version__, "version": __version__}},
        "columnKind": "unicodeCodePoints",
        "invocations": [{
            "executionSuccessful": not result.errors,
            "toolExecutionNotifications": [_notification(e, locator) for e in result.errors] or None}],
        "originalUriBaseIds": {SRCROOT: {"uri": locator.root_uri}},
        "results": results if results is not None else [_result(f, index[f.rule], locator)
                                                         for f in result.findings],
    }
    return {"runs": [run], "version": "2.1.0", "$schema": SCHEMA}


# ---------------------------------------------------------------- rules

def _descriptors() -> list[dict]:
    from kubelint_cc import catalog
    return [_descriptor(r) for r in catalog.rules()]


def _descriptor(rule) -> dict:
    from kubelint_cc import catalog
    properties = {"tags": list(rule.tags), "precision": rule.precision}
    if rule.security_severity:
        properties["security-severity"] = rule.security_severity
    if rule.controls:
        properties["controls"] = list(rule.controls)
    if rule.level:
        properties["pssLevel"] = rule.level
    return {
        "id": rule.id,
        "defaultConfiguration": {"level": rule.severity},
        "fullDescription": {"text": _sentence(rule.summary)},
        "help": {"text": catalog.help_text(rule), "markdown": catalog.help_markdown(rule)},
        "helpUri": rule.help_uri,
        "name": rule.name,
        "properties": properties,
        "shortDescription": {"text": rule.title},  # heads the GitHub alert
    }


def _placeholder_descriptor(rule_id: str) -> dict:
    text = f"Rule {rule_id} has no catalog entry."
    return {"id": rule_id, "fullDescription": {"text": text}, "help": {"text": text},
            "helpUri": INFORMATION_URI, "name": "".join(p.capitalize() for p in rule_id.split("-")),
            "shortDescription": {"text": text}}


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


# ---------------------------------------------------------------- results

def _object_text(obj: dict) -> str:
    ns = obj.get("namespace")
    return f'{obj.get("kind")} {ns + "/" if ns else ""}{obj.get("name") or "<unnamed>"}'


def _result(f, rule_index: int, locator: "Locator") -> dict:
    obj = f.object or {}
    logical = None
    if obj.get("kind"):
        props = {k: obj[k] for k in ("kind", "namespace", "name") if obj.get(k) is not None}
        logical = [{"fullyQualifiedName": _object_text(obj), "kind": "object",
                    "name": obj.get("name") or "<unnamed>", "properties": props}]
    location = {
        "logicalLocations": logical,
        "physicalLocation": {
            "artifactLocation": locator.artifact(f.file),
            # No line: a finding in rendered output that maps to no line of its template.  No
            # line is invented: the region is the whole file (SARIF consumers need one).
            "region": {"startColumn": max(f.column or 1, 1), "startLine": max(f.line, 1)} if f.line
            else locator.whole(f.file)},
    }
    message = f.message.rstrip(".") + (f" ({_object_text(obj)})" if obj.get("kind") else "")
    properties = {"path": f.path or None, "control": f.control, "pssLevel": f.level}
    properties.update({k: v for k, v in (f.extra or {}).items() if v is not None})
    suppressions = None
    if f.suppressed is not None:
        # kubelint-cc suppressions are all written in the scanned files (annotation or comment).
        suppressions = [{"kind": "inSource", "justification": f.suppressed.get("justification") or None,
                         "properties": {"where": f.suppressed.get("kind")}}]
    return {
        "message": {"text": _sentence(message)},
        "baselineState": f.baseline,
        "level": f.severity,
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {k: v for k, v in properties.items() if v is not None} or None,
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "suppressions": suppressions,
    }


def _notification(e, locator: "Locator") -> dict:
    region = {"startColumn": e.column or 1, "startLine": e.line} if e.line else None
    where = e.file if e.file != "-" else "stdin"
    return {"message": {"text": _sentence(f"{where}: {e.message}")}, "level": "error",
            "locations": [{"physicalLocation": {"artifactLocation": locator.artifact(e.file), "region": region}}]}


# ---------------------------------------------------------------- locations

class Locator:
    """Maps scanned file names to SARIF artifact locations under one %SRCROOT%.

    Plain os.path and _quote rather than pathlib and urllib.parse: on Python 3.11 those two
    imports (urllib.parse loads ipaddress) cost a one-file run 4 ms.  The URIs are the ones
    Path.as_uri() and urllib.parse.quote(safe="/") make."""

    def __init__(self, files: list[str]):
        self._roots: dict[str, str | None] = {}
        self._whole: dict[str, dict] = {}
        self.root = next((r for r in (self._repo_root(f) for f in files if f != "-") if r is not None),
                         os.getcwd())
        self.root_uri = _file_uri(self.root).rstrip("/") + "/"

    def artifact(self, file: str) -> dict:
        if file == "-":
            return {"uri": STDIN_URI}
        path = os.path.abspath(file)
        prefix = self.root.rstrip("/") + "/"
        if not path.startswith(prefix):  # outside the work tree: only an absolute URI can name it
            return {"uri": _file_uri(path)}
        return {"uri": _quote(path[len(prefix):]), "uriBaseId": SRCROOT}

    def whole(self, file: str) -> dict:
        """The region of a whole file: its lines, when it can be read (up to WHOLE_BYTES);
        else its start (a template named by a piped stream, without the chart at hand)."""
        if file not in self._whole:
            region = {"startLine": 1}
            try:
                with open(file, "rb") as f:
                    data = f.read(WHOLE_BYTES + 1)
                if len(data) <= WHOLE_BYTES:
                    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
                    region["endLine"] = max(lines, 1)
            except (OSError, ValueError):
                pass
            self._whole[file] = region
        return dict(self._whole[file])

    def _repo_root(self, file: str) -> str | None:
        directory = os.path.dirname(os.path.abspath(file))
        if directory not in self._roots:
            # What `git rev-parse --show-toplevel` answers, without a process per directory.
            from kubelint_cc.paths import repo_root
            self._roots[directory] = repo_root(directory)
        return self._roots[directory]


WHOLE_BYTES = 4 * 1024 * 1024  # past this, a whole-file region is not counted: its first line stands for it


_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/")


def _quote(path: str) -> str:
    """urllib.parse.quote(path, safe="/", errors="surrogateescape")."""
    return "".join(chr(b) if b in _SAFE else f"%{b:02X}" for b in path.encode("utf-8", "surrogateescape"))


def _file_uri(path: str) -> str:
    """Path(path).as_uri() of an absolute POSIX path."""
    return "file://" + _quote(path)


# ---------------------------------------------------------------- serialisation

def to_json(value):
    """The log without its unset (None) values, at any depth (lists keep their items)."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value
