"""Which template line produced a rendered line: a conservative matcher.

Both texts are read as trees of lines (a line's parent is the key above it with less
indentation, or the list item it belongs to).  Matching goes down from the top: a
rendered line can map only if its parent mapped, and only to a child of that parent's
template line which, read as a pattern (its literal text, each `{{ ... }}` action standing
for any text), matches the whole rendered line at the same column; a template line
without actions is preferred over one with.  Rendered siblings with the same candidates
map one to one, in order, only when there are exactly as many candidates as rendered
lines: a line repeated by `range`, or a key that `toYaml` produced next to a literal one,
is ambiguous and maps to nothing.  The caller then points at the nearest ancestor that
maps, and says so.  Lines that come from helpers (`include`) or values (`toYaml`) never
map: they are not in the template.
"""
from __future__ import annotations

import re

ACTION = re.compile(r"\{\{.*?\}\}")
_DOCUMENT = re.compile(r"(?:---|\.\.\.)(?:[ \t#]|$)")
_ITEM = re.compile(r"(?:-[ \t]+)*")
_TEMPLATED_KEY = re.compile(r"\{\{.*?\}\}[^#:]*:(?:[ \t]|$)")
_KEY = re.compile(r"""("[^"]*"|'[^']*'|[^\s#'"{\[&*!|>%@`-][^#]*?|-[^\s#][^#]*?)[ \t]*:(?:[ \t]|$)""")


class Line:
    """One meaningful line: where its content starts, whether it starts a list item, its
    key (if it is `key: ...`) and its parent line."""
    __slots__ = ("index", "text", "column", "key", "item", "parent", "pattern")

    def __init__(self, index: int, text: str, column: int, key: str | None, item: bool, parent: "Line | None"):
        self.index, self.text, self.column, self.key, self.item, self.parent = index, text, column, key, item, parent
        self.pattern = None


def scan(lines: list[str], template: bool) -> list[Line]:
    out: list[Line] = []
    stack: list[Line] = []  # open parents: keys and list items
    for i, raw in enumerate(lines):
        text = raw.rstrip()
        stripped = text.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        if _DOCUMENT.match(text):
            stack = []  # a new document (Helm splits `---# comment` too)
            continue
        if template and not ACTION.sub("", stripped).strip():
            continue  # {{- if ... }}, {{ include ... | nindent 4 }}: renders nothing of its own here
        indent = len(text) - len(stripped)
        column = indent + _ITEM.match(stripped).end()
        item = column > indent
        m = _KEY.match(text, column)
        key = m.group(1).strip("\"'") if m else None
        if template and key is None and _TEMPLATED_KEY.match(text, column):
            key = "{{}}"  # `{{ .name }}:` is a key too: what is indented under it are its children
        # A line closes what is indented deeper; at the same column it closes keys, and also
        # list items when it starts a new item itself.
        while stack and (stack[-1].column > column or stack[-1].column == column and (item or not stack[-1].item)):
            stack.pop()
        line = Line(i, text, column, key, item, stack[-1] if stack else None)
        out.append(line)
        if key is not None or item:
            stack.append(line)
    return out


def _pattern(text: str) -> re.Pattern:
    parts, last = [], 0
    for m in ACTION.finditer(text):
        parts.append(re.escape(text[last:m.start()]))
        parts.append(".*?")
        last = m.end()
    parts.append(re.escape(text[last:]))
    return re.compile("".join(parts))


def _children(lines: list[Line]) -> dict:
    out: dict = {}
    for line in lines:
        out.setdefault(line.parent.index if line.parent is not None else None, []).append(line)
    return out


class LineMap:
    """Rendered lines (of one template's output) -> template lines, where certain.  Lines
    are 0-based indices into the lists given."""

    def __init__(self, template: list[str], rendered: list[str]):
        t_lines = scan(template, template=True)
        for t in t_lines:
            t.pattern = _pattern(t.text)
        r_lines = scan(rendered, template=False)
        self.template = {t.index: t for t in t_lines}
        self.rendered = {r.index: r for r in r_lines}
        self.map: dict[int, int] = {}
        t_children, r_children = _children(t_lines), _children(r_lines)
        pending = [(None, None)]  # (rendered parent, its template line); None, None: the top level
        while pending:
            r_parent, t_parent = pending.pop()
            groups: dict[tuple, list[int]] = {}
            siblings = t_children.get(t_parent, [])
            for r in r_children.get(r_parent, []):
                candidates = [t for t in siblings if t.column == r.column and t.pattern.fullmatch(r.text)]
                literal = [t for t in candidates if "{{" not in t.text]
                if candidates:
                    groups.setdefault(tuple(t.index for t in literal or candidates), []).append(r.index)
            for candidates, rendered_lines in groups.items():
                if len(candidates) == len(rendered_lines):
                    for r_index, t_index in zip(rendered_lines, candidates):
                        self.map[r_index] = t_index
                        pending.append((r_index, t_index))

    def line(self, rendered_index: int) -> int | None:
        """The template line that produced rendered line `rendered_index`, or None."""
        return self.map.get(rendered_index)

    def ancestor(self, rendered_index: int) -> int | None:
        """The rendered line of the nearest ancestor of `rendered_index` that maps, or None."""
        r = self.rendered.get(rendered_index)
        r = r.parent if r is not None else None
        while r is not None and r.index not in self.map:
            r = r.parent
        return r.index if r is not None else None

    def column(self, rendered_index: int, rendered_column: int) -> int:
        """The column in the template line of what sits at `rendered_column` of a mapped
        rendered line: the same when the text before it is the same, else where the
        template line's content starts."""
        r = self.rendered[rendered_index]
        t = self.template[self.map[rendered_index]]
        if t.text[:rendered_column] == r.text[:rendered_column]:
            return rendered_column
        return t.column
