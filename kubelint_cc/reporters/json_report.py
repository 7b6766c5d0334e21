"""JSON: {"findings": [...], "errors": [...], "summary": {...}} (the documented contract).

One finding per line: readable, diffable, and written with json's C encoder (an indented
dump goes through the pure-Python one, several times slower on large scans).
"""
from __future__ import annotations

import json

from kubelint_cc.reporters import summary


def _items(items) -> str:
    encode = json.JSONEncoder(ensure_ascii=False).encode
    return "[]" if not items else "[\n" + ",\n".join(encode(i) for i in items) + "\n]"


class Stream:
    """The same document, written while the scan runs (the findings are never all in memory)."""

    def __init__(self, stream):
        self.stream, self.first = stream, True
        self.encode = json.JSONEncoder(ensure_ascii=False).encode
        stream.write('{"findings": [')

    def __call__(self, findings) -> None:
        text = ",\n".join(self.encode(f.as_dict()) for f in findings)
        self.stream.write(("\n" if self.first else ",\n") + text)
        self.first = False

    def finish(self, result) -> None:
        self.stream.write(("]" if self.first else "\n]") + ",\n")
        self.stream.write('"errors": ' + _items([e.as_dict() for e in result.errors]) + ",\n")
        self.stream.write('"summary": ' + json.dumps(summary(result), ensure_ascii=False) + "}\n")


def render(result, stream) -> None:
    s = summary(result)
    if getattr(result, "baseline_stats", None):
        s["baseline"] = result.baseline_stats
    stream.write('{"findings": ' + _items([f.as_dict() for f in result.findings]) + ",\n")
    stream.write('"errors": ' + _items([e.as_dict() for e in result.errors]) + ",\n")
    stream.write('"summary": ' + json.dumps(s, ensure_ascii=False) + "}\n")
