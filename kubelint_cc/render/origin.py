"""A rendered stream and its way back to the files a person edits.

The engine scans a rendered stream like any file, then asks `place(line, column)` where
each finding and error really is.  `Placed.exact` is False when the line is that of the
nearest ancestor that could be mapped (or there is no line at all): findings then say
`"position": "rendered"`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Placed:
    file: str
    line: int | None
    column: int | None
    exact: bool


class Rendered:
    """A stream split into sections, each the output of one source file.

    `sections`: (first line of the section, 0-based; the file it came from; whether that
    file is at hand to map lines into).  Lines before the first section are the stream's own."""

    def __init__(self, name: str, text: str, sections: list[tuple[int, str, bool]]):
        self.name, self.text, self.sections = name, text, sections
        self._lines: list[str] | None = None
        self._maps: dict[str, tuple] = {}

    def place(self, line: int | None, column: int | None, path: str | None = None) -> Placed:
        section = self._section(line)
        if section is None:
            return Placed(self.name, line, column, True)
        file, at_hand = section
        if not at_hand:
            return Placed(file, None, None, False)
        linemap, stream_lines = self._map(file)
        index = stream_lines.get(line - 1)
        mapped = linemap.line(index) if linemap is not None and index is not None else None
        if mapped is not None:
            return Placed(file, mapped + 1, linemap.column(index, (column or 1) - 1) + 1, True)
        ancestor = linemap.ancestor(index) if linemap is not None and index is not None else None
        if ancestor is not None:
            t = linemap.template[linemap.line(ancestor)]
            return Placed(file, t.index + 1, t.column + 1, False)
        return Placed(file, None, None, False)

    def _section(self, line: int | None) -> tuple[str, bool] | None:
        if line is None:
            return None
        found = None
        for start, file, at_hand in self.sections:
            if start > line - 1:
                break
            found = (file, at_hand)
        return found

    def _map(self, file: str):
        """The LineMap of `file` against all of its sections, and stream line -> index in them."""
        if file not in self._maps:
            from kubelint_cc.render.linemap import LineMap
            if self._lines is None:
                self._lines = self.text.split("\n")
            ends = [s[0] for s in self.sections[1:]] + [len(self._lines)]
            rendered: list[str] = []
            where: dict[int, int] = {}
            for (start, name, _), end in zip(self.sections, ends):
                if name != file:
                    continue
                rendered.append("---")  # every section is a document of its own
                for i in range(start, end):
                    where[i] = len(rendered)
                    rendered.append(self._lines[i])
            try:
                with open(file, encoding="utf-8-sig") as f:
                    template = f.read().split("\n")
                linemap = LineMap(template, rendered)
            except (OSError, UnicodeError):
                linemap = None  # a template inside a packed sub-chart (.tgz): no lines to point at
            self._maps[file] = (linemap, where)
        return self._maps[file]
