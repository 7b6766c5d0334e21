"""Compiler-style lines, one format for findings and input errors, which one problem
matcher reads:

    file:line:col: severity: [rule] message (kind namespace/name)
    file:line:col: error: message                 (an input error; no line when it has none)

then a table of findings per rule, the fixable count and the summary line.
"""
from __future__ import annotations

from collections import Counter

from kubelint_cc.excerpt import escape, path
from kubelint_cc.reporters import object_text, summary

COLOURS = {"error": "\033[31m", "warning": "\033[33m", "note": "\033[36m"}
RESET = "\033[0m"
RANK = {"error": 2, "warning": 1, "note": 0}


def _object(obj: dict) -> str:
    return escape(object_text(obj) or f'{obj.get("kind")} <unnamed>')


class Stats:
    """Findings shown, per rule: count, safely fixable, most severe severity."""

    def __init__(self):
        self.count, self.fixable, self.severity = Counter(), Counter(), {}
        self.unsafe = 0

    def add(self, f) -> None:
        self.count[f.rule] += 1
        self.fixable[f.rule] += f.fix == "safe"
        self.unsafe += f.fix == "unsafe"
        if RANK.get(f.severity, 2) >= RANK.get(self.severity.get(f.rule), -1):
            self.severity[f.rule] = f.severity

    def write(self, stream) -> None:
        if not self.count:
            return
        from kubelint_cc import catalog
        titles = {r.id: r.title for r in catalog.rules()}
        rows = [("count", "fixable", "rule", "severity", "title")]
        rows += [(f"{n:,}", f"{self.fixable[rule]:,}", rule, self.severity[rule], titles.get(rule, ""))
                 for rule, n in sorted(self.count.items(), key=lambda item: (-item[1], item[0]))]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            cells = [row[0].rjust(widths[0]), row[1].rjust(widths[1]), row[2].ljust(widths[2]),
                     row[3].ljust(widths[3]), row[4]]
            stream.write("  ".join(cells).rstrip() + "\n")
        fixable = sum(self.fixable.values())
        if fixable or self.unsafe:
            stream.write(f"{fixable:,} fixable with `kubelint-cc fix`"
                         f"{f' ({self.unsafe:,} more with --unsafe-fixes)' if self.unsafe else ''}\n")


def _write(findings, stream, colour: bool, show_suppressed: bool, stats: Stats | None) -> None:
    for f in findings:
        if f.baseline == "unchanged":
            continue  # accepted in the baseline: JSON and SARIF keep it, marked; here it is only counted
        if f.suppressed is not None:
            if show_suppressed:  # marked so that no problem matcher reads it as an error or warning
                reason = f.suppressed.get("justification")
                stream.write(f"{f.file}:{f.line}:{f.column}: suppressed: [{f.rule}] {f.message} "
                             f"({_object(f.object)}){'; reason: ' + reason if reason else ''}\n")
            continue
        if stats is not None:
            stats.add(f)
        sev = f"{COLOURS[f.severity]}{f.severity}{RESET}" if colour and f.severity in COLOURS else f.severity
        # Names, messages and objects come from the scanned files: escaped, so that a newline,
        # a carriage return or an ANSI escape in them cannot forge a line or a CI log command.
        where = path(f.file) + (f":{f.line}:{f.column}" if f.line else "")  # no line: rendered, mapping to none
        stream.write(f"{where}: {sev}: [{escape(f.rule)}] {escape(f.message)} ({_object(f.object)})\n")


class Stream:
    """Lines written while the scan runs; errors, statistics and the summary at the end."""

    def __init__(self, stream, colour: bool = False, show_suppressed: bool = False, quiet: bool = False):
        self.stream, self.colour, self.show_suppressed, self.quiet = stream, colour, show_suppressed, quiet
        self.stats = Stats()

    def __call__(self, findings) -> None:
        if not self.quiet:
            _write(findings, self.stream, self.colour, self.show_suppressed, self.stats)

    def finish(self, result) -> None:
        _tail(result, self.stream, self.stats, self.quiet)


def render(result, stream, colour: bool = False, show_suppressed: bool = False, quiet: bool = False) -> None:
    stats = Stats()
    if not quiet:
        _write(result.findings, stream, colour, show_suppressed, stats)
    _tail(result, stream, stats, quiet)


def _tail(result, stream, stats: Stats, quiet: bool = False) -> None:
    if not quiet:
        for e in result.errors:
            where = path(e.file) + (f":{e.line}:{e.column}" if e.line else "")
            stream.write(f"{where}: error: {escape(e.message)}\n")
        stats.write(stream)
    b = getattr(result, "baseline_stats", None)
    if b and not quiet:
        stream.write(f"baseline {escape(b['file'])}: {b['matched']} unchanged (not shown), {b['new']} new, "
                     f"{b['stale']} stale entr{'y' if b['stale'] == 1 else 'ies'}"
                     f"{' (fixed or gone: rewrite it with --write-baseline)' if b['stale'] else ''}\n")
    s = summary(result)
    stream.write(summary_line(s) + "\n")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' if n != 1 else ''}"


def summary_line(s: dict) -> str:
    """E.g. 5,982 findings (365 errors, 5,614 warnings), 2 suppressed in 2,472 files (4,088 objects), 11 input errors."""
    counts = ", ".join(_count(n, sev) for sev, n in sorted(s["by_severity"].items()))
    line = _count(s["findings"], "finding") + (f" ({counts})" if counts else "")
    if s["suppressed"]:
        line += f", {s['suppressed']:,} suppressed"
    line += " in " + _count(s["files"], "file") + f" ({_count(s['objects'], 'object')})"
    if s["errors"]:
        line += ", " + _count(s["errors"], "input error")
    return line
