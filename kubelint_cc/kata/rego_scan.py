"""A small Rego lexer and top-level statement scanner.

This is not an evaluator: the Rego engine (regorus, as in the agent) decides values.  The scanner gives what
the engine does not expose: where each rule is (line numbers), how its head and bodies are
written (Rego v0 bodies without ``if``, the v0 ``if`` trap, duplicate ``default`` rules),
and which top-level names and ``input`` paths a rule body refers to.

Lexing follows the Rego grammar where it matters for a line scanner: ``#`` starts a comment
only outside strings; ``"..."`` strings have JSON escapes; back-quoted raw strings have no
escapes and may span lines; newlines end a statement only at bracket depth 0.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

# A depth-0 newline does not end a statement when the previous token is one of these.
_CONTINUES = {":=", "=", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "&", "|",
              ",", ".", "if", "else", "contains", "in", "default", "import", "package", "as",
              "not", "some", "every", "with"}
_VALUE_OPS = {":=", "=", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "&", "|",
              ",", ".", ":", "in", "not"}


class Token(NamedTuple):
    kind: str  # "ident", "string", "raw", "number", "op", "nl"
    text: str
    line: int
    offset: int


# One alternative per token shape.  Their first characters are disjoint, so the order only
# matters for speed (most frequent first).  Unnamed alternatives (blanks, comments) produce
# no token.
_TOKEN = re.compile(r"""
     (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    |[ \t\r\f\v]+
    |(?P<op>[:=!<>]=|[=<>+\-*/%&|,;:.()\[\]{}])
    |(?P<nl>\n)
    |(?P<string>"[^"\\\n]*(?:\\[\s\S][^"\\\n]*)*")
    |(?P<number>(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    |\#[^\n]*
    |(?P<raw>`[^`]*`?)
    |(?P<open_string>"(?:[^"\\\n]|\\[\s\S]?)*)
    |(?P<other>[\s\S])
""", re.X)


def tokenize(text: str) -> list[Token]:
    """Tokenise Rego; tolerant of errors (an unterminated string ends at end of line).

    A backslash escapes any character in a string, a newline included (that newline is not
    counted as a line break: it is invalid Rego and the engine reports it anyway)."""
    toks: list[Token] = []
    append = toks.append
    new = tuple.__new__  # Token(...) without the NamedTuple constructor's Python frame
    line, n = 1, len(text)
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind is None:
            continue
        if kind == "nl":
            append(new(Token, ("nl", "\n", line, m.start())))
            line += 1
        elif kind == "raw":
            raw = m.group()
            append(new(Token, ("raw", raw, line, m.start())))
            line += raw.count("\n")
        elif kind == "open_string":  # the token keeps the newline that ends it
            end = m.end()
            append(new(Token, ("string", text[m.start():end + 1] if end < n else m.group(), line, m.start())))
        elif kind == "other":  # unknown character: kept as an operator token
            c = m.group()
            append(new(Token, ("number" if c.isdigit() else "op", c, line, m.start())))
        else:
            append(new(Token, (kind, m.group(), line, m.start())))
    return toks


@dataclass
class Definition:
    """One head/body pair of a rule (an ``else`` branch is its own definition)."""

    line: int
    value: list[Token]            # head value tokens (empty: implicit true)
    body: list[Token] | None      # None: no body (unconditional)
    has_if: bool = False
    if_offset: int | None = None  # offset of the ``if`` keyword, when followed by ``{``
    v0_body: bool = False         # body written without ``if`` (Rego v0 only)
    is_else: bool = False

    @property
    def value_text(self) -> str:
        return " ".join(t.text for t in self.value) if self.value else "true"


@dataclass
class Statement:
    kind: str                     # "package", "import", "default", "rule", "function", "partial", "junk"
    name: str
    line: int
    start: int                    # character offsets [start, end) in the source
    end: int
    tokens: list[Token]
    definitions: list[Definition] = field(default_factory=list)
    default_value: list[Token] = field(default_factory=list)


@dataclass
class ModuleScan:
    package: str | None = None
    package_line: int | None = None
    imports: list[tuple[str, int]] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    _index: tuple[int, dict[tuple[str, str], list[Statement]]] | None = field(
        default=None, init=False, repr=False, compare=False)

    def _by_name(self, kind: str, name: str) -> list[Statement]:
        # The classifier asks for every request name several times: index statements once.
        if self._index is None or self._index[0] != len(self.statements):
            index: dict[tuple[str, str], list[Statement]] = {}
            for s in self.statements:
                group = "rule" if s.kind in ("rule", "partial") else s.kind
                index.setdefault((group, s.name), []).append(s)
            self._index = (len(self.statements), index)
        return list(self._index[1].get((kind, name), ()))

    def rules(self, name: str) -> list[Statement]:
        return self._by_name("rule", name)

    def defaults(self, name: str) -> list[Statement]:
        return self._by_name("default", name)

    def names(self) -> set[str]:
        return {s.name for s in self.statements if s.kind in ("default", "rule", "function", "partial")}

    def is_function(self, name: str) -> bool:
        return bool(self._by_name("function", name))

    @property
    def if_imported(self) -> bool:
        return any(p in ("rego.v1", "future.keywords", "future.keywords.if") for p, _ in self.imports)


# +1 / -1 for bracket tokens.  Only operator tokens can have these texts (string tokens keep
# their quotes), so the token text alone decides, here and for "\n" and ".".
_BRACKET = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


def _split_statements(toks: list[Token]) -> list[list[Token]]:
    stmts: list[list[Token]] = []
    cur: list[Token] = []
    depth = 0
    n = len(toks)
    after = 0  # index of the first non-newline token after the current newline
    bracket = _BRACKET.get
    for idx, t in enumerate(toks):
        text = t[1]
        if text == "\n":
            if depth > 0 or not cur:
                continue
            if cur[0][1] not in ("package", "import") and cur[-1][1] in _CONTINUES:
                continue
            if idx >= after:  # else reuse it: everything up to `after` is newlines
                after = idx + 1
                while after < n and toks[after][1] == "\n":
                    after += 1
            if after < n and toks[after][1] == "else":  # `}\nelse := ...` continues the rule
                continue
            stmts.append(cur)
            cur = []
            continue
        d = bracket(text)
        if d is not None:
            depth = depth + 1 if d > 0 else max(0, depth - 1)
        cur.append(t)
    if cur:
        stmts.append(cur)
    return stmts


def _match(toks: list[Token], i: int) -> int:
    """Index just past the bracket group that opens at toks[i]."""
    depth = 0
    bracket = _BRACKET.get
    for j in range(i, len(toks)):
        d = bracket(toks[j][1])
        if d:
            depth += d
            if depth == 0:
                return j + 1
    return len(toks)


def _is_op(t: Token, *texts: str) -> bool:
    return t.kind == "op" and t.text in texts


def _is_kw(t: Token, kw: str) -> bool:
    return t.kind == "ident" and t.text == kw


def _read_value(toks: list[Token], i: int) -> tuple[list[Token], int]:
    """Read a head value term; stops before a depth-0 ``if``/``else`` or a v0 body ``{``."""
    out: list[Token] = []
    while i < len(toks):
        t = toks[i]
        if _is_kw(t, "if") or _is_kw(t, "else"):
            break
        if _is_op(t, "{", "[", "("):
            if _is_op(t, "{") and out and not (out[-1].kind == "op" and out[-1].text in _VALUE_OPS) \
                    and not _is_kw(out[-1], "in") and not _is_kw(out[-1], "not"):
                break  # `R := v { body }`: v0 body after a complete value term
            j = _match(toks, i)
            out.extend(toks[i:j])
            i = j
            continue
        out.append(t)
        i += 1
    return out, i


def _read_definition(toks: list[Token], i: int, line: int, is_else: bool) -> tuple[Definition, int]:
    value: list[Token] = []
    if i < len(toks) and _is_op(toks[i], ":=", "="):
        value, i = _read_value(toks, i + 1)
    d = Definition(line=line, value=value, body=None, is_else=is_else)
    if i < len(toks) and _is_kw(toks[i], "if"):
        d.has_if = True
        i += 1
        if i < len(toks) and _is_op(toks[i], "{"):
            d.if_offset = toks[i - 1].offset
            j = _match(toks, i)
            d.body = toks[i + 1:j - 1]
            i = j
        else:  # single-literal body, up to a depth-0 else
            j = i
            body: list[Token] = []
            while j < len(toks) and not _is_kw(toks[j], "else"):
                if _is_op(toks[j], "{", "[", "("):
                    k = _match(toks, j)
                    body.extend(toks[j:k])
                    j = k
                    continue
                body.append(toks[j])
                j += 1
            d.body = body
            i = j
    elif i < len(toks) and _is_op(toks[i], "{"):
        d.v0_body = True
        j = _match(toks, i)
        d.body = toks[i + 1:j - 1]
        i = j
    # v0 chained bodies `R { a } { b }`: fold into one definition (OR of bodies)
    while i < len(toks) and _is_op(toks[i], "{"):
        d.v0_body = True
        j = _match(toks, i)
        d.body = (d.body or []) + toks[i + 1:j - 1]
        i = j
    return d, i


def _parse_statement(toks: list[Token], text: str) -> Statement:
    first = toks[0]
    start, end = first.offset, toks[-1].offset + len(toks[-1].text)
    st = Statement(kind="junk", name="", line=first.line, start=start, end=end, tokens=toks)
    if _is_kw(first, "package") or _is_kw(first, "import"):
        parts = []
        for t in toks[1:]:
            if _is_kw(t, "as"):  # an import alias is not part of the path
                break
            parts.append(t.text)
        st.kind, st.name = first.text, "".join(parts)
        return st
    if _is_kw(first, "default"):
        st.kind = "default"
        i = 1
        name_parts = []
        while i < len(toks) and (toks[i].kind == "ident" or _is_op(toks[i], ".")):
            name_parts.append(toks[i].text)
            i += 1
        st.name = "".join(name_parts)
        if i < len(toks) and _is_op(toks[i], ":=", "="):
            st.default_value = toks[i + 1:]
        return st
    if first.kind != "ident":
        return st
    i = 0
    name_parts = []
    while i < len(toks) and (toks[i].kind == "ident" or _is_op(toks[i], ".")):
        if toks[i].kind == "ident" and toks[i].text in ("if", "contains", "else") and name_parts:
            break
        name_parts.append(toks[i].text)
        i += 1
    st.name = "".join(name_parts)
    st.kind = "rule"
    if i < len(toks) and _is_op(toks[i], "("):
        st.kind = "function"
        i = _match(toks, i)
    elif i < len(toks) and _is_op(toks[i], "["):
        st.kind = "partial"
        i = _match(toks, i)
    if i < len(toks) and _is_kw(toks[i], "contains"):
        st.kind = "partial"
        _, i = _read_value(toks, i + 1)
    d, i = _read_definition(toks, i, first.line, False)
    st.definitions.append(d)
    while i < len(toks) and _is_kw(toks[i], "else"):
        d, i = _read_definition(toks, i + 1, toks[i].line, True)
        st.definitions.append(d)
    return st


def scan(text: str) -> ModuleScan:
    toks = tokenize(text)
    mod = ModuleScan()
    for stoks in _split_statements(toks):
        st = _parse_statement(stoks, text)
        if st.kind == "package" and mod.package is None:
            mod.package, mod.package_line = st.name, st.line
        elif st.kind == "import":
            mod.imports.append((st.name, st.line))
        mod.statements.append(st)
    return mod


def input_refs(tokens: list[Token]) -> list[str]:
    """Dotted ``input.a.b["c"]`` references appearing in tokens, in order, de-duplicated."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.kind == "ident" and t.text == "input" and not (i > 0 and _is_op(tokens[i - 1], ".")):
            parts = ["input"]
            j = i + 1
            while j + 1 < len(tokens):
                if _is_op(tokens[j], ".") and tokens[j + 1].kind == "ident":
                    parts.append("." + tokens[j + 1].text)
                    j += 2
                elif _is_op(tokens[j], "[") and j + 2 < len(tokens) and tokens[j + 1].kind in ("string", "number") \
                        and _is_op(tokens[j + 2], "]"):
                    parts.append("[" + tokens[j + 1].text + "]")
                    j += 3
                else:
                    break
            ref = "".join(parts)
            if ref not in out:
                out.append(ref)
            i = j
            continue
        i += 1
    return out


def data_refs(tokens: list[Token], names: set[str]) -> list[list[str]]:
    """References ``name.a.b`` to top-level names (as key lists), outermost first."""
    out: list[list[str]] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.kind == "ident" and t.text in names and not (i > 0 and _is_op(tokens[i - 1], ".")) \
                and not (i + 1 < len(tokens) and _is_op(tokens[i + 1], "(")):
            parts = [t.text]
            j = i + 1
            while j + 1 < len(tokens):
                if _is_op(tokens[j], ".") and tokens[j + 1].kind == "ident":
                    parts.append(tokens[j + 1].text)
                    j += 2
                elif _is_op(tokens[j], "[") and j + 2 < len(tokens) and tokens[j + 1].kind == "string" \
                        and _is_op(tokens[j + 2], "]"):
                    parts.append(tokens[j + 1].text[1:-1])
                    j += 3
                else:
                    break
            if parts not in out:
                out.append(parts)
            i = j
            continue
        i += 1
    return out


def idents(tokens: list[Token]) -> set[str]:
    """Identifiers that are not field selections (``x.foo`` contributes ``x`` only)."""
    prev = [None, *tokens]
    return {t[1] for p, t in zip(prev, tokens) if t[0] == "ident" and (p is None or p[1] != ".")}


def statement_tokens(st: Statement) -> list[Token]:
    toks: list[Token] = []
    for d in st.definitions:
        toks.extend(d.value)
        toks.extend(d.body or [])
    return toks


def input_dependent_names(mod: ModuleScan) -> set[str]:
    """Top-level names whose value can depend on ``input`` (transitively through helpers)."""
    uses: dict[str, set[str]] = {}
    for st in mod.statements:
        if st.kind in ("rule", "function", "partial"):
            toks = statement_tokens(st)
            if st.kind == "function":
                toks = st.tokens  # include arguments
            uses.setdefault(st.name, set()).update(idents(toks))
    dep: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, used in uses.items():
            if name not in dep and ("input" in used or used & dep):
                dep.add(name)
                changed = True
    return dep


def observes_whole_input(mod: ModuleScan) -> bool:
    """Can some rule tell "no input document" from the empty object ``{}``?

    Only an expression that uses ``input`` itself can: ``input.a`` and ``input[k]`` are
    undefined in both cases, so when every use is such a reference every rule has the same
    value for both.  Arguments of the ``print`` built-in are exempt (print always succeeds
    and its output is not a value) unless the module defines its own ``print``.  ``with``
    (which can replace ``input``) and ``$`` (template strings) count as whole-input uses.
    Errs towards True.
    """
    toks = [t for st in mod.statements for t in st.tokens]
    exempt_print = "print" not in mod.names()
    print_depths: list[int] = []  # bracket depths of the print( ... ) calls we are inside
    depth = 0
    prev: Token | None = None
    for k, t in enumerate(toks):
        kind, text = t[0], t[1]
        if kind == "op":
            d = _BRACKET.get(text)
            if d == 1:
                depth += 1
                if text == "(" and exempt_print and prev is not None and prev[1] == "print" \
                        and prev[0] == "ident" and not (k > 1 and toks[k - 2][1] == "."):
                    print_depths.append(depth)
            elif d == -1:
                if print_depths and print_depths[-1] == depth:
                    print_depths.pop()
                depth -= 1
            elif text == "$":
                return True
        elif kind == "ident":
            if text == "with":
                return True
            if text == "input" and not (prev is not None and prev[1] == ".") and not print_depths:
                nxt = toks[k + 1][1] if k + 1 < len(toks) else None
                if nxt not in (".", "["):
                    return True
        prev = t
    return False
