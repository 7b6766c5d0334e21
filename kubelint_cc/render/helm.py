"""Helm: template syntax found outside a chart."""
from __future__ import annotations

import re

ACTION = re.compile(r"\{\{.*?\}\}")  # a Go template action on one line: {{ .Values.x }}, {{- if ... }}

HINT = ("Helm template syntax ({{ ... }}), not YAML: render it (helm template CHART | kubelint-cc scan -, "
        "or scan the chart's directory) or exclude it")


def template_line(text: str) -> int | None:
    """1-based line of the first template action in `text`, or None when it has none."""
    m = ACTION.search(text)
    return None if m is None else text.count("\n", 0, m.start()) + 1
