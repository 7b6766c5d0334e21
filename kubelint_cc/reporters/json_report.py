"""JSON: {"findings": [...], "errors": [...], "summary": {...}} (the documented contract)."""
from __future__ import annotations

import json

from kubelint_cc.reporters import summary


def render(result, stream) -> None:
    doc = {
        "findings": [f.as_dict() for f in result.findings],
        "errors": [e.as_dict() for e in result.errors],
        "summary": summary(result),
    }
    if getattr(result, "baseline_stats", None):
        doc["summary"]["baseline"] = result.baseline_stats
    json.dump(doc, stream, indent=2, ensure_ascii=False)
    stream.write("\n")
