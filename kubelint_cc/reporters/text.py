"""Compiler-style lines: file:line:col: severity control message (kind namespace/name)."""
from __future__ import annotations

from kubelint_cc.reporters import summary

COLOURS = {"error": "\033[31m", "warning": "\033[33m", "note": "\033[36m"}
RESET = "\033[0m"


def _object(obj: dict) -> str:
    ns = obj.get("namespace")
    return f'{obj.get("kind")} {ns + "/" if ns else ""}{obj.get("name") or "<unnamed>"}'


def _write(findings, stream, colour: bool) -> None:
    for f in findings:
        if f.baseline == "unchanged":
            continue  # accepted in the baseline: JSON and SARIF keep it, marked; here it is only counted
        sev = f"{COLOURS[f.severity]}{f.severity}{RESET}" if colour and f.severity in COLOURS else f.severity
        where = f"{f.file}:{f.line}:{f.column}" if f.line else f.file  # no line: rendered output mapping to none
        stream.write(f"{where}: {sev} {f.control or f.rule} {f.message} ({_object(f.object)})\n")


class Stream:
    """Lines written while the scan runs; errors and the summary at the end."""

    def __init__(self, stream, colour: bool = False):
        self.stream, self.colour = stream, colour

    def __call__(self, findings) -> None:
        _write(findings, self.stream, self.colour)

    def finish(self, result) -> None:
        _tail(result, self.stream)


def render(result, stream, colour: bool = False) -> None:
    _write(result.findings, stream, colour)
    _tail(result, stream)


def _tail(result, stream) -> None:
    for e in result.errors:
        where = e.file + (f":{e.line}:{e.column}" if e.line else "")
        stream.write(f"{where}: error: {e.message}\n")
    b = getattr(result, "baseline_stats", None)
    if b:
        stream.write(f"baseline {b['file']}: {b['matched']} unchanged (not shown), {b['new']} new, "
                     f"{b['stale']} stale entr{'y' if b['stale'] == 1 else 'ies'}"
                     f"{' (fixed or gone: rewrite it with --write-baseline)' if b['stale'] else ''}\n")
    s = summary(result)
    counts = ", ".join(f"{n} {sev}{'s' if n != 1 else ''}" for sev, n in sorted(s["by_severity"].items()))
    stream.write(f"{s['findings']} finding{'s' if s['findings'] != 1 else ''}"
                 f"{' (' + counts + ')' if counts else ''} in {s['files']} file{'s' if s['files'] != 1 else ''}"
                 f" ({s['objects']} object{'s' if s['objects'] != 1 else ''})"
                 f"{', ' + str(s['errors']) + ' input error' + ('s' if s['errors'] != 1 else '') if s['errors'] else ''}\n")
