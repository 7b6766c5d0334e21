"""Suppressions: accepted findings stay in the report, marked, and do not fail the run.

- Per object: annotation `kubelint-cc.io/ignore: "<names> [reason]"` on the object or on
  its pod template.
- In source: a comment `# kubelint-cc: ignore <names> [reason]` on the finding's line
  or on the line above.

<names> is a comma-separated list of rule ids or controls (`pss-privileged`,
`privileged`, `ExecProcessRequest`, ...); the rest, word for word, is the reason.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

ANNOTATION = "kubelint-cc.io/ignore"
COMMENT = re.compile(r"#\s*kubelint-cc:\s*ignore\b[ \t]*([^\n]*)")
# Names: comma-separated, a space after a comma allowed ("privileged, hostPorts"); the rest
# of the text, exactly as written, is the reason.
NAMES = re.compile(r"[^\s,]+(?:[ \t]*,[ \t]*[^\s,]+)*,?")


@dataclass(frozen=True)
class Ignore:
    names: frozenset
    reason: str
    kind: str  # SARIF suppression kind is "inSource" for both; this says where it was written
    where: tuple  # path of the annotation (annotation) or (line, column) of the comment


def _parse(text: str) -> tuple[frozenset, str]:
    text = text.strip()
    m = NAMES.match(text)
    head = m.group() if m else ""
    names = frozenset(n.strip() for n in head.split(",") if n.strip())
    return names, text[len(head):].strip()


def annotation_ignores(meta: dict, template_meta: dict | None, template_path: tuple = ()) -> list[Ignore]:
    """Ignores from the object's annotation and, for controllers, its pod template's."""
    places = [(("metadata",), meta)]
    if template_meta is not None and template_meta is not meta:
        places.append((template_path + ("metadata",), template_meta))
    out = []
    for path, m in places:
        annotations = m.get("annotations")
        value = annotations.get(ANNOTATION) if isinstance(annotations, dict) else None
        if isinstance(value, str) and value.strip():
            out.append(Ignore(*_parse(value), "annotation", path + ("annotations", ANNOTATION)))
    return out


def comment_ignores(text: str) -> dict[int, Ignore]:
    """1-based line -> the ignore comment on it; cheap when the file has none."""
    if "kubelint-cc:" not in text:
        return {}
    out = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if "kubelint-cc:" in line:
            m = COMMENT.search(line)
            if m:
                out[lineno] = Ignore(*_parse(m.group(1)), "comment", (lineno, m.start() + 1))
    return out


def _matches(ignore: Ignore, finding) -> bool:
    return not ignore.names or any(n in ignore.names for n in finding.names if n is not None)


def match(ignores: list[Ignore], finding) -> dict | None:
    for ignore in ignores:
        if _matches(ignore, finding):
            return {"kind": ignore.kind, "justification": ignore.reason}
    return None


def apply_comments(comments: dict[int, Ignore], findings) -> None:
    if not comments:
        return
    for f in findings:
        if f.suppressed is not None:
            continue
        for line in (f.line, f.line - 1):
            ignore = comments.get(line)
            if ignore is not None and _matches(ignore, f):
                f.suppressed = {"kind": "comment", "justification": ignore.reason}
                break


def unknown_names(ignores) -> list[tuple]:
    """(where, name) for every name no rule or control answers to."""
    if not ignores:
        return []
    from kubelint_cc import catalog
    known = catalog.known_names()
    return [(ignore.where, name) for ignore in ignores for name in sorted(ignore.names) if name not in known]
