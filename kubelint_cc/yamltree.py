"""YAML node trees -> plain data, and YAML paths -> source positions.

load.compose_documents composes with ruamel.yaml's C parser and never constructs, so no
tag is ever instantiated.  Scalars are typed here the way Kubernetes reads YAML
(sigs.k8s.io/yaml on go-yaml v2, i.e. YAML 1.1: `yes`/`on` are booleans):
  - plain scalars without a tag are resolved (null, bool, int, float, else string);
  - quoted and block scalars, `!!str`, and every other tag (`!!python/object`, `!custom`,
    `!!binary`) are strings: go-yaml keeps the text of a tag it does not know, so these
    are accepted by Kubernetes and read as text, never constructed;
  - explicit `!!int`/`!!bool`/`!!float`/`!!null` resolve their text like a plain scalar.
Aliases share one converted object (no expansion); a document whose aliases would
expand past go-yaml's limits is refused like Kubernetes refuses it.
"""
from __future__ import annotations

import re
from typing import Any

from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from kubelint_cc.excerpt import quoted

MAX_DEPTH = 256  # levels below a document root; real objects stay under 40

_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_FALSE = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)$")
_INT_OTHER = re.compile(r"[-+]?0(?:b[01_]+|x[0-9a-fA-F_]+|o?[0-7_]+)$")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"}
_NAN = {".nan", ".NaN", ".NAN"}
_YAML = "tag:yaml.org,2002:"
PLAIN_TAG = "?"  # an untagged plain scalar (YAML's non-specific tag): typed by its text
MERGE_TAG = _YAML + "merge"
STR_TAG = _YAML + "str"
MAP_TAG = _YAML + "map"
SEQ_TAG = _YAML + "seq"
_TYPED_TAGS = {_YAML + t for t in ("int", "float", "bool", "null")}

# go-yaml v2 (decode.go): past 400,000 decode steps the share of steps spent expanding
# aliases may fall from 99% to 10% at 4,000,000; beyond it Kubernetes answers
# "document contains excessive aliasing".
_ALIAS_LOW, _ALIAS_HIGH = 400_000, 4_000_000


def _allowed_alias_ratio(decodes: int) -> float:
    if decodes <= _ALIAS_LOW:
        return 0.99
    if decodes >= _ALIAS_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decodes - _ALIAS_LOW) / (_ALIAS_HIGH - _ALIAS_LOW)


class TreeError(Exception):
    """A document that cannot be turned into data; carries the node for its position."""

    def __init__(self, message: str, node: Any = None):
        super().__init__(message)
        self.node = node


def scalar(node: ScalarNode) -> Any:
    tag = node.tag
    if tag == PLAIN_TAG or tag in _TYPED_TAGS:
        return typed(node.value)
    return node.value


def typed(text: str) -> Any:
    """A plain scalar's value under YAML 1.1, as go-yaml v2 resolves it."""
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.match(text):
        try:
            return int(text.replace("_", ""))
        except ValueError:  # more digits than Python converts (4,300): go-yaml keeps it a string too
            return text
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


def key_text(node: Any) -> str | None:
    """A mapping key's text, or None for a mapping or list used as a key."""
    return node.value if isinstance(node, ScalarNode) else None


def to_data(node: Any, errors: list | None = None) -> Any:
    """Plain dict/list/scalars.  Aliases share one converted object, so an alias bomb
    costs no more than its source text.  Problems Kubernetes would also refuse (duplicate
    keys, non-scalar keys) are appended to `errors`; a document it cannot be turned into
    at all (too deep, an anchor inside itself, excessive aliasing) appends its TreeError
    and returns None."""
    errors = errors if errors is not None else []
    try:
        return _Converter(errors).convert(node, 0)
    except TreeError as e:
        errors.append(e)
        return None


class _Converter:
    def __init__(self, errors: list):
        self.errors = errors
        self.memo: dict[int, Any] = {}  # id(node) -> converted collection
        self.size: dict[int, int] = {}  # id(node) -> decode steps go-yaml spends on it
        self.active: set[int] = set()  # collections being converted (an alias to one is a cycle)
        self.decodes = 0
        self.aliased = 0

    def convert(self, node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise TreeError(f"nesting deeper than {MAX_DEPTH} levels", node)
        self.decodes += 1
        if isinstance(node, ScalarNode):
            return scalar(node)
        key = id(node)
        if key in self.memo:
            return self._alias(node, key)
        start = self.decodes
        self.active.add(key)
        if isinstance(node, SequenceNode):
            out: Any = []
            self.memo[key] = out
            for item in node.value:
                out.append(self.convert(item, depth + 1))
        elif isinstance(node, MappingNode):
            out = {}
            self.memo[key] = out
            self._mapping(node, out, depth)
        else:
            out = None
        self.active.discard(key)
        self.size[key] = self.decodes - start + 1
        return out

    def _alias(self, node: Any, key: int) -> Any:
        if key in self.active:
            raise TreeError("an alias inside its own anchor's value makes a cycle; Kubernetes rejects it", node)
        steps = self.size[key]
        self.decodes += steps - 1
        self.aliased += steps
        if self.aliased > 100 and self.decodes > 1000 and \
                self.aliased / self.decodes > _allowed_alias_ratio(self.decodes):
            raise TreeError("excessive aliasing (an alias bomb?): its aliases expand the document far beyond "
                            "what Kubernetes' YAML decoder accepts", node)
        return self.memo[key]

    def _mapping(self, node: Any, out: dict, depth: int) -> None:
        seen: dict[str, Any] = {}
        merged: dict = {}
        for knode, vnode in node.value:
            self.decodes += 1  # the key
            if isinstance(knode, ScalarNode) and knode.value == "<<" and knode.tag == MERGE_TAG:
                for src in _merge_sources(vnode):
                    value = self.convert(src, depth + 1)
                    if isinstance(value, dict):
                        for k, v in value.items():
                            merged.setdefault(k, v)
                continue
            key = key_text(knode)
            if key is None:
                self.errors.append(TreeError(
                    "a mapping or list cannot be a key (Kubernetes rejects it as an invalid map key)", knode))
                continue
            if key in seen:
                first = seen[key].start_mark
                where = f"line {first.line + 1}, column {first.column + 1}"
                self.errors.append(TreeError(f'duplicate key {quoted(key)} (first defined at {where})', knode))
            seen[key] = knode
            out[key] = self.convert(vnode, depth + 1)
        for k, v in merged.items():
            out.setdefault(k, v)


def _merge_sources(node: Any) -> list:
    if isinstance(node, SequenceNode):
        return list(node.value)
    return [node]


def child(node: Any, step: Any) -> tuple[Any, Any] | None:
    """(key node or item node, value node) for one path step, or None when absent.
    The last occurrence of a duplicate key wins, as in the converted data; keys merged
    with `<<` come after the mapping's own keys, earlier sources first."""
    if isinstance(node, SequenceNode):
        if isinstance(step, int) and 0 <= step < len(node.value):
            item = node.value[step]
            return item, item
        return None
    if not isinstance(step, str):
        return None
    pending, seen = [node], set()
    while pending:  # merge sources, depth first, each mapping once (aliases can form cycles)
        current = pending.pop()
        if not isinstance(current, MappingNode) or id(current) in seen:
            continue
        seen.add(id(current))
        hit, sources = None, []
        for knode, vnode in current.value:
            if not isinstance(knode, ScalarNode):
                continue
            if knode.value == "<<" and knode.tag == MERGE_TAG:
                sources.extend(_merge_sources(vnode))
            elif knode.value == step:
                hit = (knode, vnode)
        if hit is not None:
            return hit
        pending.extend(reversed(sources))
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
