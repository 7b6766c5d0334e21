"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

One run.  tool.driver.rules holds every catalog rule, so a rule's documentation shows in
GitHub even before it first fires.  Result locations are relative to %SRCROOT%: the git
work tree of the scanned files (else the current directory), which is what GitHub maps
to the checked-out repository.  Input errors become tool execution notifications.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

import attr
import sarif_om as om

from kubelint_cc import __version__, catalog

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/kubelint-cc/kubelint-cc"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "kubelintFingerprint/v1"
STDIN_URI = "stdin"


_MARKER = "\0kubelint-cc results\0"


def render(result, stream) -> None:
    """The log, with its results turned into JSON one at a time: the same text as dumping
    build(result) whole, without a second and third copy of every finding (sarif-om objects,
    then JSON data) in memory: 1.7 million findings took 6 GB that way."""
    if not result.findings:
        json.dump(to_json(build(result)), stream, indent=2)
        stream.write("\n")
        return
    index, locator = _rule_index(result), _locator(result)
    skeleton = json.dumps(to_json(build(result, results=[_MARKER])), indent=2)
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


def _rule_index(result) -> dict:
    index = {r.id: i for i, r in enumerate(catalog.rules())}
    for f in result.findings:
        if f.rule not in index:
            index[f.rule] = len(index)
    return index


def _locator(result) -> "Locator":
    return Locator([f.file for f in result.findings] + [e.file for e in result.errors])


def build(result, results: list | None = None) -> om.SarifLog:
    """The whole log; with `results`, those stand in for the findings' results (see render)."""
    rules = catalog.rules()
    descriptors = [_descriptor(r) for r in rules]
    index = {r.id: i for i, r in enumerate(rules)}
    for f in result.findings:  # a rule without a catalog entry still needs a descriptor
        if f.rule not in index:
            index[f.rule] = len(descriptors)
            descriptors.append(_placeholder_descriptor(f.rule))

    files = [f.file for f in result.findings] + [e.file for e in result.errors]
    locator = Locator(files)
    run = om.Run(
        tool=om.Tool(driver=om.ToolComponent(
            name="kubelint-cc", version=__version__, semantic_version=__version__,
            information_uri=INFORMATION_URI, rules=descriptors)),
        results=results if results is not None else [_result(f, index[f.rule], locator) for f in result.findings],
        invocations=[om.Invocation(
            execution_successful=not result.errors,
            tool_execution_notifications=[_notification(e, locator) for e in result.errors] or None)],
        original_uri_base_ids={SRCROOT: om.ArtifactLocation(uri=locator.root_uri)},
        column_kind="unicodeCodePoints",
    )
    return om.SarifLog(version="2.1.0", schema_uri=SCHEMA, runs=[run])


# ---------------------------------------------------------------- rules

def _descriptor(rule: catalog.Rule) -> om.ReportingDescriptor:
    properties = {"tags": list(rule.tags), "precision": rule.precision}
    if rule.security_severity:
        properties["security-severity"] = rule.security_severity
    if rule.controls:
        properties["controls"] = list(rule.controls)
    if rule.level:
        properties["pssLevel"] = rule.level
    return om.ReportingDescriptor(
        id=rule.id, name=rule.name,
        short_description=om.MultiformatMessageString(text=rule.title),  # heads the GitHub alert
        full_description=om.MultiformatMessageString(text=_sentence(rule.summary)),
        help=om.MultiformatMessageString(text=catalog.help_text(rule), markdown=catalog.help_markdown(rule)),
        help_uri=rule.help_uri,
        default_configuration=om.ReportingConfiguration(level=rule.severity),
        properties=properties)


def _placeholder_descriptor(rule_id: str) -> om.ReportingDescriptor:
    text = f"Rule {rule_id} has no catalog entry."
    return om.ReportingDescriptor(
        id=rule_id, name="".join(p.capitalize() for p in rule_id.split("-")),
        short_description=om.MultiformatMessageString(text=text),
        full_description=om.MultiformatMessageString(text=text),
        help=om.MultiformatMessageString(text=text), help_uri=INFORMATION_URI)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


# ---------------------------------------------------------------- results

def _object_text(obj: dict) -> str:
    ns = obj.get("namespace")
    return f'{obj.get("kind")} {ns + "/" if ns else ""}{obj.get("name") or "<unnamed>"}'


def _result(f, rule_index: int, locator: "Locator") -> om.Result:
    obj = f.object or {}
    logical = None
    if obj.get("kind"):
        props = {k: obj[k] for k in ("kind", "namespace", "name") if obj.get(k) is not None}
        logical = [om.LogicalLocation(name=obj.get("name") or "<unnamed>", kind="object",
                                      fully_qualified_name=_object_text(obj), properties=props)]
    location = om.Location(
        physical_location=om.PhysicalLocation(
            artifact_location=locator.artifact(f.file),
            # No line: a finding in rendered output that maps to no line of its template.  SARIF's
            # whole-artifact form (line 1 onwards) keeps GitHub and the validators content; the
            # JSON report keeps line null, and the result says "position": "file".
            region=om.Region(start_line=max(f.line, 1), start_column=max(f.column or 1, 1)) if f.line
            else om.Region(start_line=1)),
        logical_locations=logical)
    message = f.message.rstrip(".") + (f" ({_object_text(obj)})" if obj.get("kind") else "")
    properties = {"path": f.path or None, "control": f.control, "pssLevel": f.level}
    properties.update({k: v for k, v in (f.extra or {}).items() if v is not None})
    if not f.line:
        properties["position"] = "file"
    suppressions = None
    if f.suppressed is not None:
        # kubelint-cc suppressions are all written in the scanned files (annotation or comment).
        suppressions = [om.Suppression(kind="inSource", justification=f.suppressed.get("justification") or None,
                                       properties={"where": f.suppressed.get("kind")})]
    return om.Result(
        rule_id=f.rule, rule_index=rule_index, level=f.severity,
        message=om.Message(text=_sentence(message)),
        locations=[location],
        partial_fingerprints={FINGERPRINT_KEY: f.fingerprint},
        suppressions=suppressions,
        baseline_state=f.baseline,
        properties={k: v for k, v in properties.items() if v is not None} or None)


def _notification(e, locator: "Locator") -> om.Notification:
    region = om.Region(start_line=e.line, start_column=e.column or 1) if e.line else None
    location = om.Location(physical_location=om.PhysicalLocation(
        artifact_location=locator.artifact(e.file), region=region))
    where = e.file if e.file != "-" else "stdin"
    return om.Notification(level="error", message=om.Message(text=_sentence(f"{where}: {e.message}")),
                           locations=[location])


# ---------------------------------------------------------------- locations

class Locator:
    """Maps scanned file names to SARIF artifact locations under one %SRCROOT%."""

    def __init__(self, files: list[str]):
        self._roots: dict[str, Path | None] = {}
        cwd = Path.cwd()
        self.root = next((r for r in (self._repo_root(f) for f in files if f != "-") if r is not None), cwd)
        self.root_uri = self.root.as_uri().rstrip("/") + "/"

    def artifact(self, file: str) -> om.ArtifactLocation:
        if file == "-":
            return om.ArtifactLocation(uri=STDIN_URI)
        path = Path(os.path.abspath(file))
        try:
            relative = path.relative_to(self.root)
        except ValueError:  # outside the work tree: only an absolute URI can name it
            return om.ArtifactLocation(uri=path.as_uri())
        return om.ArtifactLocation(uri=quote(relative.as_posix(), safe="/", errors="surrogateescape"), uri_base_id=SRCROOT)

    def _repo_root(self, file: str) -> Path | None:
        directory = Path(os.path.abspath(file)).parent
        key = str(directory)
        if key not in self._roots:
            # What `git rev-parse --show-toplevel` answers, without a process per directory.
            self._roots[key] = next((d for d in (directory, *directory.parents) if (d / ".git").exists()), None)
        return self._roots[key]


# ---------------------------------------------------------------- serialisation

def to_json(value):
    """sarif-om objects -> JSON data, with SARIF's camelCase names.

    Unset properties (None) are dropped, and so are values equal to the schema default,
    except `level`: a result without one inherits its rule's default level, which is not
    the schema default "warning".
    """
    if attr.has(type(value)):
        out = {}
        for field in attr.fields(type(value)):
            item = getattr(value, field.name)
            if item is None:
                continue
            default = field.default
            if isinstance(default, attr.Factory):
                default = default.factory()
            if field.name != "level" and default is not attr.NOTHING and item == default:
                continue
            out[field.metadata.get("schema_property_name", field.name)] = to_json(item)
        return out
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value
