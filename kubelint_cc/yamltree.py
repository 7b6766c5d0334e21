"""YAML node trees -> plain data, and YAML paths -> source positions.

We compose with ruamel.yaml's C composer (node marks, no construction, so no tag is
ever instantiated) and convert only the documents a rule needs.  Plain scalars are
resolved the way Kubernetes reads YAML (sigs.k8s.io/yaml, i.e. YAML 1.1: `yes`/`on`
are booleans), not with ruamel's YAML 1.2 resolver.
"""
from __future__ import annotations

import re
from typing import Any

from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

MAX_DEPTH = 256  # deeper than any Kubernetes object; bounds recursion on hostile input

_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_FALSE = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)$")
_INT_OTHER = re.compile(r"[-+]?0(?:b[01_]+|x[0-9a-fA-F_]+|o?[0-7_]+)$")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"}
_NAN = {".nan", ".NaN", ".NAN"}
MERGE_TAG = "tag:yaml.org,2002:merge"
STR_TAG = "tag:yaml.org,2002:str"


class TreeError(Exception):
    """A document that cannot be turned into data; carries the node for its position."""

    def __init__(self, message: str, node: Any = None):
        super().__init__(message)
        self.node = node


def scalar(node: ScalarNode) -> Any:
    text = node.value
    if node.style or node.tag == STR_TAG and not _looks_typed(text):
        return text
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.match(text):
        return int(text.replace("_", ""))
    if _INT_OTHER.match(text):
        sign = -1 if text[0] == "-" else 1
        body = text.lstrip("+-").replace("_", "")
        base = {"b": 2, "x": 16, "o": 8}.get(body[1:2], 8)
        digits = body[2:] if body[1:2] in ("b", "x", "o") else body[1:]
        try:
            return sign * int(digits or "0", base)
        except ValueError:
            return text
    if _FLOAT.match(text) and any(c.isdigit() for c in text):
        try:
            return float(text.replace("_", ""))
        except ValueError:
            return text
    if text in _INF:
        return float("inf")
    if text in ("-.inf", "-.Inf", "-.INF"):
        return float("-inf")
    if text in _NAN:
        return float("nan")
    return text


def _looks_typed(text: str) -> bool:
    # ruamel tags a plain scalar `str` under YAML 1.2 even when YAML 1.1 (Kubernetes) types it.
    return text in _NULL or text in _TRUE or text in _FALSE or bool(_INT.match(text) or _INT_OTHER.match(text))


def key_text(node: Any) -> str:
    if isinstance(node, ScalarNode):
        return node.value
    return "<complex key>"


def to_data(node: Any, errors: list | None = None) -> Any:
    """Plain dict/list/scalars.  Aliases share one converted object, so an alias bomb
    costs no more than its source text; cycles resolve to the object under construction."""
    memo: dict[int, Any] = {}
    return _convert(node, memo, errors if errors is not None else [], 0)


def _convert(node: Any, memo: dict, errors: list, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise TreeError(f"nesting deeper than {MAX_DEPTH} levels", node)
    found = memo.get(id(node))
    if found is not None:
        return found
    if isinstance(node, ScalarNode):
        return scalar(node)
    if isinstance(node, SequenceNode):
        out: list = []
        memo[id(node)] = out
        out.extend(_convert(item, memo, errors, depth + 1) for item in node.value)
        return out
    if isinstance(node, MappingNode):
        result: dict = {}
        memo[id(node)] = result
        seen: dict[str, Any] = {}
        merged: dict = {}
        for knode, vnode in node.value:
            if isinstance(knode, ScalarNode) and knode.tag == MERGE_TAG:
                for src in _merge_sources(vnode):
                    value = _convert(src, memo, errors, depth + 1)
                    if isinstance(value, dict):
                        for k, v in value.items():
                            merged.setdefault(k, v)
                continue
            key = key_text(knode)
            if key in seen:
                first = seen[key].start_mark
                errors.append(TreeError(
                    f'duplicate key "{key}" (first defined at line {first.line + 1}, column {first.column + 1})', knode))
            seen[key] = knode
            result[key] = _convert(vnode, memo, errors, depth + 1)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result
    return None


def _merge_sources(node: Any) -> list:
    if isinstance(node, SequenceNode):
        return list(node.value)
    return [node]


def child(node: Any, step: Any) -> tuple[Any, Any] | None:
    """(key node or item node, value node) for one path step, or None when absent.
    The last occurrence of a duplicate key wins, as in the converted data."""
    if isinstance(node, MappingNode) and isinstance(step, str):
        hit = None
        for knode, vnode in node.value:
            if isinstance(knode, ScalarNode) and knode.value == step and knode.tag != MERGE_TAG:
                hit = (knode, vnode)
        if hit is not None:
            return hit
        for knode, vnode in node.value:
            if isinstance(knode, ScalarNode) and knode.tag == MERGE_TAG:
                for src in _merge_sources(vnode):
                    found = child(src, step)
                    if found is not None:
                        return found
        return None
    if isinstance(node, SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        item = node.value[step]
        return item, item
    return None


def locate(root: Any, path: tuple) -> tuple[int, int]:
    """1-based (line, column) of the field at `path`: its key for a mapping entry, the
    item for a sequence element, else the nearest ancestor that exists."""
    mark = root.start_mark
    node = root
    for step in path:
        found = child(node, step)
        if found is None:
            break
        anchor, node = found
        mark = anchor.start_mark
    return mark.line + 1, mark.column + 1


def top_scalar(node: Any, key: str) -> str | None:
    """A top-level scalar (kind, apiVersion) without converting the document."""
    if not isinstance(node, MappingNode):
        return None
    found = child(node, key)
    if found is None or not isinstance(found[1], ScalarNode):
        return None
    return found[1].value
