"""`kubelint-cc fix`: the restricted-level findings that have one safe answer, fixed
as small text edits so comments, quoting, key order, indentation, flow style, line
endings and document separators stay exactly as they were.

Why text edits and not ruamel.yaml's round-trip dumper: on the real-world corpus
only 1,005 of 2,478 files come back byte-identical from a round-trip load+dump
(indentation, quoting and line wrapping get normalised), so every fix would also
rewrite lines nobody asked to change.  Instead we compose each file (the same
composer the scanner uses), find the nodes to change by their marks, and insert or
replace only the text we must.  Before anything is written the new text is parsed
again and must give exactly the old data plus the intended fields; a file for which
that fails is left alone ("skipped").

What we fix, and only where `scan` reports a finding that counts (not suppressed,
rule not disabled, the namespace's level/version applied):

  allowPrivilegeEscalation   allowPrivilegeEscalation: false on the container (init and
                             ephemeral too).  Not on a privileged container: the API
                             rejects that pair, so it needs --unsafe-fixes.
  capabilities_restricted    "ALL" added to capabilities.drop (list created when absent).
                             Non-default `add` entries are a human's call: left alone.
  seccompProfile_restricted  seccompProfile.type: RuntimeDefault at pod level when the
                             pod sets none; a profile without a type gets RuntimeDefault.
                             An explicit type (Unconfined, ...) is a deliberate choice:
                             left alone, as is Localhost.
  runAsNonRoot               runAsNonRoot: true at pod level when neither the pod nor the
                             container sets it.  An explicit false is left alone.
  privileged (--unsafe-fixes only)  privileged: true becomes privileged: false.  This can
                             break a workload that needs host devices or kernel access.

Windows pods get none of the Linux-only fields (the API rejects them there).
"""
from __future__ import annotations

import copy
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from kubelint_cc import load, yamltree
from kubelint_cc.excerpt import escape
from kubelint_cc.excerpt import path as shown

FIXABLE = ("allowPrivilegeEscalation", "capabilities_restricted", "seccompProfile_restricted",
           "runAsNonRoot", "privileged")
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
NULLS = {"", "~", "null", "Null", "NULL"}
SC = "securityContext"
_LINE = re.compile(r"[^\n]*\n|[^\n]+")
_BREAK = re.compile(r"[\r\n]")


class Skip(Exception):
    """A change we cannot make without touching more than we should; the message says why."""


class AllIn:
    """Patch leaf: the list must contain "ALL" (appended when missing)."""

    def __repr__(self):
        return "AllIn()"


ALL_IN = AllIn()


# ---------------------------------------------------------------- entry point

@dataclass
class FileOutcome:
    old_text: str | None = None
    new_text: str | None = None
    fixed: Counter = field(default_factory=Counter)
    left: list = field(default_factory=list)  # (line, control, reason)
    skipped: str | None = None


def fix_paths(paths: list[str], write: bool, unsafe: bool, out, exclude=None, options=None,
              show_errors: bool = True) -> int:
    """Fixes every file under `paths`; writes them (write=True) or prints a unified diff to `out`.
    `options` (engine.Options) are the scan's: only findings that scan would count get fixed.
    Returns 2 when the scan reports an input error (unreadable, unparsable or invalid; the other
    files are still fixed), else 0."""
    from kubelint_cc.engine import Options, Scanner

    messages = out if write else sys.stderr  # keep a --diff on stdout clean for `patch`
    code = 0
    if load.STDIN in paths:
        print("kubelint-cc: error: fix cannot rewrite stdin; name the files", file=sys.stderr)
        code = 2
        paths = [p for p in paths if p != load.STDIN]
        if not paths:
            return code
    result = Scanner(options or Options()).scan(paths, exclude=exclude)
    if result.errors:
        code = 2
        if show_errors:
            for e in result.errors:
                where = shown(e.file) + (f":{e.line}:{e.column}" if e.line else "")
                print(f"{where}: error: {escape(e.message)}", file=sys.stderr)
    by_file: dict[str, list] = {}
    for f in result.findings:
        if f.control in FIXABLE and f.counts():
            if f.rendered:  # a Helm template or a kustomize base: its paths are those of the output
                print(f"{f.file}:{f.line or '-'}: not fixed: {f.control}: found in what a Helm chart or "
                      "kustomization renders, which fix does not rewrite", file=messages)
                continue
            by_file.setdefault(f.file, []).append(f)
    total = Counter()
    changed = 0
    for name in sorted(by_file):
        outcome, encoding = fix_file(name, by_file[name], unsafe)
        for line, control, reason in outcome.left:
            print(f"{shown(name)}:{line}: not fixed: {control}: {escape(reason)}", file=messages)
        if outcome.skipped:
            print(f"skipped {escape(name)}: {escape(outcome.skipped)}", file=messages)
            continue
        if outcome.new_text is None:
            continue
        new_bytes = encoding(outcome.new_text)
        if write:
            try:
                _write(name, new_bytes)
            except OSError as e:
                print(f"kubelint-cc: error: cannot write {escape(name)}: {e.strerror or e}", file=sys.stderr)
                code = 2
                continue
        else:
            out.write(unified_diff(name, outcome.old_text, outcome.new_text))
        changed += 1
        total += outcome.fixed
        verb = "fixed" if write else "would fix"
        print(f"{verb} {escape(name)}: {_counts(outcome.fixed)}", file=messages)
    n = sum(total.values())
    verb = "fixed" if write else "would fix"
    print(f"{verb} {n} finding{'s' if n != 1 else ''} in {changed} file{'s' if changed != 1 else ''}",
          file=messages)
    return code


def _counts(fixed: Counter) -> str:
    return ", ".join(c if n == 1 else f"{c} x{n}" for c, n in sorted(fixed.items()))


def _utf8(text: str) -> bytes:
    return text.encode("utf-8")


def fix_file(name: str, findings: list, unsafe: bool):
    """(FileOutcome, encoder that turns the new text into the file's bytes)."""
    try:
        data = load.read_bytes(load.Source(name))
    except OSError as e:
        return FileOutcome(skipped=f"cannot read: {load.os_message(e)}"), _utf8
    encoding, text = _encoding(data)
    if encoding is None:
        return FileOutcome(skipped="not UTF-8 text: not rewritten"), _utf8
    try:
        outcome = fix_text(text, findings, unsafe)
    except Skip as e:
        outcome = FileOutcome(skipped=str(e))
    outcome.old_text = text
    return outcome, encoding


def _encoding(data: bytes):
    """(encoder that gives back these exact bytes for the unchanged text, text) or (None, None)."""
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    try:
        text = data[len(bom):].decode("utf-8")
    except UnicodeDecodeError:
        return None, None
    if bom:
        return (lambda t: bom + t.encode("utf-8")), text
    return _utf8, text


def _write(name: str, data: bytes) -> None:
    """Atomically, keeping the file's mode, and through a symlink rather than replacing it
    (but never one that leads out of the repository)."""
    from kubelint_cc import paths
    if not os.access(paths.write_target(name), os.W_OK):
        raise PermissionError(13, "permission denied")
    paths.write_bytes(name, data)


def _lines(text: str) -> list[str]:
    # Split on \n only: str.splitlines would also split inside values at \x0b, \x1c, \u2028...
    return _LINE.findall(text)


def unified_diff(name: str, old: str, new: str) -> str:
    """A diff that `patch -p0` and `git apply -p0` accept, CRLF and a missing final newline included."""
    out = []
    import difflib  # only --diff needs it; findings that are fixable import this module
    for line in difflib.unified_diff(_lines(old), _lines(new), fromfile=name, tofile=name):
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


# ---------------------------------------------------------------- planning: findings -> patches

_STEP = re.compile(r'\.?([A-Za-z0-9_-]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def parse_path(text: str) -> tuple:
    """engine.format_path in reverse."""
    steps, pos = [], 0
    while pos < len(text):
        m = _STEP.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(text)
        steps.append(m.group(1) if m.group(1) is not None else
                     int(m.group(2)) if m.group(2) is not None else m.group(3))
        pos = m.end()
    return tuple(steps)


def _split(path: tuple) -> tuple[tuple, tuple | None] | None:
    """(pod spec path, container path or None) of a finding's path, None when it is neither a
    container's nor the pod's securityContext."""
    for k in range(len(path) - 2, 0, -1):
        if path[k] in CONTAINER_LISTS and path[k - 1] == "spec" and isinstance(path[k + 1], int):
            return path[:k], path[:k + 2]
    for k in range(len(path) - 1, 0, -1):
        if path[k] == SC and path[k - 1] == "spec":
            return path[:k], None
    return None


def _get(data: Any, path: tuple) -> Any:
    for step in path:
        if isinstance(data, dict) and isinstance(step, str):
            data = data.get(step)
        elif isinstance(data, list) and isinstance(step, int) and 0 <= step < len(data):
            data = data[step]
        else:
            return None
    return data


def _d(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


@dataclass
class Unit:
    """Everything to change in one securityContext owner (a container or a pod spec)."""
    doc: int
    owner: tuple
    patch: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)  # (finding, control) fixed if the unit applies


def _merge(patch: dict, path: tuple, value: Any) -> None:
    for step in path[:-1]:
        patch = patch.setdefault(step, {})
    patch[path[-1]] = value


def _untyped(profile: Any) -> bool:
    """A seccompProfile that names no type: RuntimeDefault completes it.  With a
    localhostProfile it was meant to be Localhost (the API rejects it with any other type)."""
    return isinstance(profile, dict) and profile.get("type") is None and profile.get("localhostProfile") is None


def _seccomp_reason(profile: Any) -> str:
    if isinstance(profile, dict) and profile.get("type") is None:
        return "profile has localhostProfile but no type: set type: Localhost"
    return "explicit profile type: a deliberate choice"


def _quoted_true(value: Any) -> bool:
    """"true" as a string: the intent is plain, only the type is wrong (the API rejects it)."""
    return isinstance(value, str) and value.strip().lower() == "true"


def plan(findings: list, roots: list, datas: list, unsafe: bool):
    """Units to apply, and the findings left for a human with the reason."""
    units: dict[tuple, Unit] = {}
    left = []

    def add(doc, owner, rel, value, finding):
        unit = units.setdefault((doc, owner), Unit(doc, owner))
        _merge(unit.patch, rel, value)
        unit.findings.append(finding)

    for f in findings:
        doc = _document_of(f, roots)
        try:
            path = parse_path(f.path)
        except ValueError:
            path = ()
        where = _split(path)
        if doc is None or where is None:
            left.append((f, "cannot locate the field"))
            continue
        spec_path, cpath = where
        spec = _d(_get(datas[doc], spec_path))
        decision = decide(f.control, path, spec, _d(_get(datas[doc], cpath)) if cpath else None, unsafe)
        if isinstance(decision, str):
            left.append((f, decision))
        else:
            owner, rel, value = decision
            add(doc, cpath if owner == "container" else spec_path, rel, value, f)
    return list(units.values()), left


def decide(control: str, path: tuple, spec: dict, container: dict | None, unsafe: bool):
    """How a finding of `control` at `path` (ending inside `container`, or at the pod's
    securityContext when None) is fixed: ("container" | "pod", field path, value), or
    the reason it is left for a human."""
    pod_sc = _d(spec.get(SC))
    sc = _d(container.get(SC)) if container is not None else {}
    if control != "runAsNonRoot" and container is None and control != "seccompProfile_restricted":
        return "unexpected pod-level finding"
    if control in ("allowPrivilegeEscalation", "capabilities_restricted", "seccompProfile_restricted") \
            and _d(spec.get("os")).get("name") == "windows":
        return "Windows pod: the API rejects this field there"
    if control == "allowPrivilegeEscalation":
        if sc.get("privileged") is True and not unsafe:
            return ("privileged container (the API rejects allowPrivilegeEscalation=false with "
                    "privileged=true; --unsafe-fixes sets privileged to false)")
        return "container", (SC, "allowPrivilegeEscalation"), False
    if control == "capabilities_restricted":
        if path and path[-1] == "drop":
            return "container", (SC, "capabilities", "drop"), ALL_IN
        return "added capabilities need a human decision"
    if control == "seccompProfile_restricted":
        own = sc.get("seccompProfile")
        pod_profile = pod_sc.get("seccompProfile")
        if container is not None and own is not None:  # the container's own profile is incomplete or wrong
            return ("container", (SC, "seccompProfile", "type"), "RuntimeDefault") if _untyped(own) \
                else _seccomp_reason(own)
        if pod_profile is None or _untyped(pod_profile):
            return "pod", (SC, "seccompProfile", "type"), "RuntimeDefault"
        return "the pod's " + _seccomp_reason(pod_profile)
    if control == "runAsNonRoot":
        own = sc.get("runAsNonRoot")
        pod_value = pod_sc.get("runAsNonRoot")
        if container is not None and own is not None:
            return ("container", (SC, "runAsNonRoot"), True) if _quoted_true(own) \
                else "explicitly false: a deliberate choice"
        if pod_value is None or _quoted_true(pod_value):
            return "pod", (SC, "runAsNonRoot"), True
        return "the pod sets it explicitly false: a deliberate choice"
    if control == "privileged":
        if unsafe:
            return "container", (SC, "privileged"), False
        return "setting privileged to false can break the workload; use --unsafe-fixes"
    return "no automatic fix"


def applicability(control: str | None, path: tuple, spec: dict) -> str | None:
    """"safe" when `kubelint-cc fix` fixes a finding (path relative to its pod template),
    "unsafe" when only --unsafe-fixes does, None when neither does.  The file itself can
    still be skipped (an anchor shared by several objects, a layout we cannot edit)."""
    if control not in FIXABLE:
        return None
    where = _split(path)
    if where is None:
        return None
    container = _d(_get({"spec": spec}, where[1])) if where[1] else None
    for unsafe in (False, True):
        if not isinstance(decide(control, path, spec, container, unsafe), str):
            return "unsafe" if unsafe else "safe"
    return None


def _document_of(finding, roots: list) -> int | None:
    """Index of the document holding the finding: findings are placed on a node of their document."""
    line = finding.line - 1
    for i, root in enumerate(roots):
        if root.start_mark.line <= line <= root.end_mark.line:
            return i
    return None


# ---------------------------------------------------------------- applying patches as text edits

@dataclass
class Edit:
    start: int
    end: int
    text: str
    depth: int = 0  # at one position, the deeper mapping's insertion goes first


class Context:
    def __init__(self, text: str, roots: list):
        self.text = text
        self.eol = "\r\n" if "\r\n" in text else "\n"
        self.shared = _shared_nodes(roots)
        self.step, self.dash = _indentation(roots)
        self.edits: list[Edit] = []
        self.json = False

    def guard(self, node: Any) -> None:
        if id(node) in self.shared:
            raise Skip("the field sits under a YAML anchor used more than once")

    # -- text helpers
    def line_end(self, pos: int) -> int:
        m = _BREAK.search(self.text, pos)
        return m.start() if m else len(self.text)

    def rest_of_line(self, pos: int) -> str:
        return self.text[pos:self.line_end(pos)]

    def check_clean_tail(self, pos: int) -> int:
        """End of the line at pos, which must hold nothing but spaces and a comment after pos."""
        tail = self.rest_of_line(pos)
        if not re.fullmatch(r"[ \t]*(#.*)?", tail):
            raise Skip(f"unexpected text after a value on line {self.text.count(chr(10), 0, pos) + 1}")
        return pos + len(tail)

    # -- rendering
    def scalar(self, value: Any, like: Any = None) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if self.json or like == '"':
            return json.dumps(value)
        if like == "'":
            return f"'{value}'"
        return str(value)

    def flow(self, value: Any, like: Any = None) -> str:
        if isinstance(value, dict):
            inner = ", ".join(f"{self.key(k)}: {self.flow(v)}" for k, v in value.items())
            return "{" + inner + "}"
        if value is ALL_IN:
            return "[" + self.scalar("ALL", like) + "]"
        return self.scalar(value, like)

    def key(self, k: str) -> str:
        return json.dumps(k) if self.json else k

    def block(self, key: str, value: Any, indent: int) -> list[str]:
        pad = " " * indent
        if isinstance(value, dict):
            lines = [f"{pad}{self.key(key)}:"]
            for k, v in value.items():
                lines += self.block(k, v, indent + self.step)
            return lines
        if value is ALL_IN:
            return [f"{pad}{self.key(key)}:", " " * (indent + self.dash) + "- " + self.scalar("ALL")]
        return [f"{pad}{self.key(key)}: {self.scalar(value)}"]

    def block_value(self, value: Any, indent: int) -> list[str]:
        """Lines of a block value under a key at column indent - step."""
        if isinstance(value, dict):
            lines = []
            for k, v in value.items():
                lines += self.block(k, v, indent)
            return lines
        if value is ALL_IN:
            return [" " * (indent - self.step + self.dash) + "- " + self.scalar("ALL")]
        raise Skip("internal: scalar block value")


def _shared_nodes(roots: list) -> set[int]:
    """ids of nodes reached more than once (YAML aliases): their marks point at the anchor."""
    seen, shared = set(), set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            shared.add(id(node))
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for k, v in node.value:
                stack += [k, v]
        elif isinstance(node, SequenceNode):
            stack += node.value
    return shared


def _indentation(roots: list) -> tuple[int, int]:
    """The file's mapping indent step and sequence dash offset (from its nested keys), most common wins."""
    steps, dashes = Counter(), Counter()
    stack, seen = list(roots), set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for k, v in node.value:
                if isinstance(v, MappingNode) and v.value and v.value[0][0].start_mark.line > k.start_mark.line:
                    steps[v.value[0][0].start_mark.column - k.start_mark.column] += 1
                if isinstance(v, SequenceNode) and not v.flow_style and v.value:
                    dashes[v.start_mark.column - k.start_mark.column] += 1
                stack += [k, v]
        elif isinstance(node, SequenceNode):
            stack += node.value
    step = max((s for s in steps.items() if s[0] > 0), key=lambda s: s[1], default=(2, 0))[0]
    dash = max((d for d in dashes.items() if d[0] >= 0), key=lambda d: d[1], default=(0, 0))[0]
    return step, dash


def _direct(mapping: MappingNode, key: str):
    hit = None
    for k, v in mapping.value:
        if isinstance(k, ScalarNode) and k.tag != yamltree.MERGE_TAG and k.value == key:
            hit = (k, v)
    return hit


def _has_merge(mapping: MappingNode) -> bool:
    return any(isinstance(k, ScalarNode) and k.tag == yamltree.MERGE_TAG for k, _ in mapping.value)


def _is_null(node: Any) -> bool:
    return isinstance(node, ScalarNode) and not node.style and node.value in NULLS


def _block(node: Any) -> bool:
    return isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style


def navigate(ctx: Context, root: Any, path: tuple) -> tuple[Any, Any]:
    """(node at path, the key node that holds it) through direct children only."""
    node, key = root, None
    for step in path:
        ctx.guard(node)
        if isinstance(node, MappingNode) and isinstance(step, str):
            found = _direct(node, step)
            if found is None:
                raise Skip(f'"{step}" comes from a YAML merge key' if _has_merge(node) else f'no "{step}"')
            key, node = found
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            key = None
        else:
            raise Skip("unexpected structure")
    return node, key


def apply_mapping(ctx: Context, m: MappingNode, patch: dict, depth: int) -> None:
    ctx.guard(m)
    missing = {}
    for key, want in patch.items():
        found = _direct(m, key)
        if found is None:
            if _has_merge(m):
                raise Skip("the object uses a YAML merge key (<<)")
            missing[key] = want
            continue
        k, v = found
        ctx.guard(v)
        if isinstance(want, dict):
            if isinstance(v, MappingNode):
                if not v.value and v.flow_style and not m.flow_style:
                    _expand_empty_flow(ctx, k, v, want, depth + 1)
                else:
                    apply_mapping(ctx, v, want, depth + 1)
            elif _is_null(v):
                _replace_null(ctx, m, k, v, want, depth + 1)
            else:
                raise Skip(f"{key} is not a mapping")
        elif want is ALL_IN:
            if isinstance(v, SequenceNode):
                _append_all(ctx, v, depth + 1)
            elif _is_null(v):
                _replace_null(ctx, m, k, v, want, depth + 1)
            else:
                raise Skip(f"{key} is not a list")
        else:
            if not isinstance(v, ScalarNode) or v.style in ("|", ">"):
                raise Skip(f"{key} is not a plain value")
            rendered = ctx.scalar(want)
            if v.start_mark.index == v.end_mark.index:  # `key:` with nothing after it
                rendered = " " + rendered
            ctx.edits.append(Edit(v.start_mark.index, v.end_mark.index, rendered))
    if missing:
        _insert(ctx, m, missing, depth)


def _insert(ctx: Context, m: MappingNode, entries: dict, depth: int) -> None:
    if not m.flow_style:
        indent = m.value[0][0].start_mark.column
        lines = []
        for k, v in entries.items():
            lines += ctx.block(k, v, indent)
        _insert_lines_after(ctx, m, lines, depth)
        return
    text = ctx.text
    start = m.start_mark.index
    if text[start:start + 1] != "{":
        raise Skip("unexpected flow mapping")
    if not m.value:
        body = ", ".join(f"{ctx.key(k)}: {ctx.flow(v)}" for k, v in entries.items())
        ctx.edits.append(Edit(start + 1, start + 1, body, depth))
        return
    last_key, last_value = m.value[-1]
    ctx.guard(last_value)
    pos = last_value.end_mark.index
    col = last_key.start_mark.column
    line_start = text.rfind("\n", 0, last_key.start_mark.index) + 1
    if last_key.start_mark.line > m.start_mark.line and not text[line_start:last_key.start_mark.index].strip():
        # one entry a line (pretty-printed JSON): keep it that way
        parts = [f"{ctx.key(k)}: {_pretty(ctx, v, col)}" for k, v in entries.items()]
        body = "".join("," + ctx.eol + " " * col + p for p in parts)
    else:
        body = "".join(f", {ctx.key(k)}: {ctx.flow(v)}" for k, v in entries.items())
    ctx.edits.append(Edit(pos, pos, body, depth))


def _pretty(ctx: Context, value: Any, col: int) -> str:
    if not ctx.json or not isinstance(value, dict):
        return ctx.flow(value)
    plain = json.loads(json.dumps(value, default=lambda o: ["ALL"]))
    lines = json.dumps(plain, indent=ctx.step).split("\n")
    return (ctx.eol + " " * col).join(lines)


def _last_leaf(ctx: Context, node: Any) -> Any:
    while _block(node) and node.value:
        ctx.guard(node)
        node = node.value[-1][1] if isinstance(node, MappingNode) else node.value[-1]
    ctx.guard(node)
    return node


def _insert_lines_after(ctx: Context, node: Any, lines: list[str], depth: int) -> None:
    """New lines right after the block collection `node` ends."""
    leaf = _last_leaf(ctx, node)
    end = leaf.end_mark
    if end.column == 0 and end.index > 0:  # a block scalar ends at the start of the next line
        ctx.edits.append(Edit(end.index, end.index, "".join(line + ctx.eol for line in lines), depth))
    else:
        pos = ctx.check_clean_tail(end.index)
        ctx.edits.append(Edit(pos, pos, "".join(ctx.eol + line for line in lines), depth))


def _append_all(ctx: Context, seq: SequenceNode, depth: int) -> None:
    like = seq.value[0].style if seq.value and isinstance(seq.value[0], ScalarNode) else None
    item = ctx.scalar("ALL", like)
    if seq.flow_style:
        start = seq.start_mark.index
        if ctx.text[start:start + 1] != "[":
            raise Skip("unexpected flow sequence")
        if not seq.value:
            ctx.edits.append(Edit(start + 1, start + 1, item, depth))
        else:
            last = seq.value[-1]
            ctx.guard(last)
            ctx.edits.append(Edit(last.end_mark.index, last.end_mark.index, ", " + item, depth))
        return
    dash_col = seq.start_mark.column
    if ctx.text[seq.start_mark.index:seq.start_mark.index + 1] != "-":
        raise Skip("unexpected block sequence")
    _insert_lines_after(ctx, seq, [" " * dash_col + "- " + item], depth)


def _key_gap_start(ctx: Context, pos: int) -> int:
    """pos moved back over the spaces that separate a value from its key's colon."""
    while pos > 0 and ctx.text[pos - 1] in " \t":
        pos -= 1
    return pos


def _expand_empty_flow(ctx: Context, k: Any, v: MappingNode, want: dict, depth: int) -> None:
    """`securityContext: {}` in a block mapping becomes a block mapping (or gains entries in place
    when a comment follows it)."""
    end = v.end_mark.index
    if ctx.rest_of_line(end).strip():
        apply_mapping(ctx, v, want, depth)
        return
    start = _key_gap_start(ctx, v.start_mark.index)
    stop = ctx.line_end(end)
    lines = ctx.block_value(want, k.start_mark.column + ctx.step)
    ctx.edits.append(Edit(start, stop, "".join(ctx.eol + line for line in lines), depth))


def _replace_null(ctx: Context, m: MappingNode, k: Any, v: ScalarNode, want: Any, depth: int) -> None:
    """`key:`, `key: null` or `key: ~` that needs a mapping or a list under it."""
    if m.flow_style:
        if v.start_mark.index == v.end_mark.index:
            raise Skip("empty value in a flow mapping")
        ctx.edits.append(Edit(v.start_mark.index, v.end_mark.index, ctx.flow(want), depth))
        return
    if v.end_mark.line != k.start_mark.line:
        raise Skip("unexpected null value layout")
    lines = ctx.block_value(want, k.start_mark.column + ctx.step)
    if v.start_mark.index != v.end_mark.index:
        ctx.edits.append(Edit(_key_gap_start(ctx, v.start_mark.index), v.end_mark.index, "", depth))
    pos = ctx.check_clean_tail(v.end_mark.index)
    ctx.edits.append(Edit(pos, pos, "".join(ctx.eol + line for line in lines), depth))


def apply_edits(text: str, edits: list[Edit]) -> str:
    out, pos = [], 0
    for e in sorted(edits, key=lambda e: (e.start, e.end, -e.depth)):
        if e.start < pos:
            raise Skip("two changes overlap")
        out.append(text[pos:e.start])
        out.append(e.text)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


# ---------------------------------------------------------------- one file

def _set_data(data: Any, owner: tuple, patch: dict) -> None:
    """What the fixed document must read as: the patch applied to the plain data."""
    target = _get(data, owner)
    _patch_data(target, patch)


def _patch_data(target: dict, patch: dict) -> None:
    for key, want in patch.items():
        if isinstance(want, dict):
            if not isinstance(target.get(key), dict):
                target[key] = {}
            _patch_data(target[key], want)
        elif want is ALL_IN:
            if not isinstance(target.get(key), list):
                target[key] = []
            if "ALL" not in target[key]:
                target[key].append("ALL")
        else:
            target[key] = want


def _compose(text: str) -> list:
    return [n for n in load.compose_documents(text) if n is not None]


def fix_text(text: str, findings: list, unsafe: bool) -> FileOutcome:
    try:
        roots = _compose(text)
        datas = [yamltree.to_data(r) for r in roots]
    except Exception:  # the scan has already reported why this file does not parse
        raise Skip("cannot parse") from None
    units, left_findings = plan(findings, roots, datas, unsafe)
    outcome = FileOutcome()
    outcome.left = [(f.line, f.control, reason) for f, reason in left_findings]
    if not units:
        return outcome
    ctx = Context(text, roots)
    expected = copy.deepcopy(datas)
    for unit in units:
        before = len(ctx.edits)
        try:
            root = roots[unit.doc]
            ctx.json = root.flow_style and isinstance(root, MappingNode) and bool(root.value) and \
                root.value[0][0].style == '"'
            node, _ = navigate(ctx, root, unit.owner)
            if not isinstance(node, MappingNode):
                raise Skip("not a mapping")
            apply_mapping(ctx, node, unit.patch, len(unit.owner))
        except Skip as e:
            del ctx.edits[before:]
            outcome.left += [(f.line, f.control, str(e)) for f in unit.findings]
            continue
        _set_data(expected[unit.doc], unit.owner, unit.patch)
        outcome.fixed.update(f.control for f in unit.findings)
    if not ctx.edits:
        return outcome
    new_text = apply_edits(text, ctx.edits)
    _verify(text, new_text, expected)
    outcome.new_text = new_text
    return outcome


def _same(a: Any, b: Any) -> bool:
    """a == b, except that NaN equals NaN: `.nan` re-parses to a new NaN, which == would call
    a change (Python's == only lets a NaN equal itself when it is the very same object)."""
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _verify(old: str, new: str, expected: list) -> None:
    """The fixed text must parse to exactly the intended data; JSON must stay JSON."""
    try:
        got = [yamltree.to_data(r) for r in _compose(new)]
        same = _same(got, expected)
    except Exception:
        same = False
    if not same:
        raise Skip("cannot preserve the rest of the file (please report this file)")
    try:
        json.loads(old)
    except ValueError:
        return
    try:
        json.loads(new)
    except ValueError:
        raise Skip("the fixed file would no longer be JSON") from None
