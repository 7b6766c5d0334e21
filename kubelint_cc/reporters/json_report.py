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


def render(result, stream) -> None:
    s = summary(result)
    if getattr(result, "baseline_stats", None):
        s["baseline"] = result.baseline_stats
    stream.write('{"findings": ' + _items([f.as_dict() for f in result.findings]) + ",\n")
    stream.write('"errors": ' + _items([e.as_dict() for e in result.errors]) + ",\n")
    stream.write('"summary": ' + json.dumps(s, ensure_ascii=False) + "}\n")
