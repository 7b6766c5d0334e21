"""A small Rego lexer and top-level statement scanner.

This is not an evaluator: the Rego engine (regopy) decides values.  The scanner gives what
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

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_OPERATORS = (":=", "==", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%", "&", "|",
              ",", ";", ":", ".", "(", ")", "[", "]", "{", "}")
_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {")", "]", "}"}
# A depth-0 newline does not end a statement when the previous token is one of these.
_CONTINUES = {":=", "=", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "&", "|",
              ",", ".", "if", "else", "contains", "in", "default", "import", "package", "as",
              "not", "some", "every", "with"}
_VALUE_OPS = {":=", "=", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "&", "|",
              ",", ".", ":", "in", "not"}


@dataclass(frozen=True)
class Token:
    kind: str  # "ident", "string", "raw", "number", "op", "nl"
    text: str
    line: int
    offset: int


def tokenize(text: str) -> list[Token]:
    """Tokenise Rego; tolerant of errors (an unterminated string ends at end of line)."""
    toks: list[Token] = []
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            toks.append(Token("nl", "\n", line, i))
            line += 1
            i += 1
        elif c in " \t\r\f\v":
            i += 1
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j, n)
            toks.append(Token("string", text[i:j + 1], line, i))
            i = j + 1 if j < n and text[j] == '"' else j
        elif c == "`":
            j = text.find("`", i + 1)
            j = n - 1 if j < 0 else j
            toks.append(Token("raw", text[i:j + 1], line, i))
            line += text.count("\n", i, j + 1)
            i = j + 1
        elif c.isdigit():
            m = _NUMBER.match(text, i)
            end = m.end() if m else i + 1
            toks.append(Token("number", text[i:end], line, i))
            i = end
        elif c.isalpha() or c == "_":
            m = _IDENT.match(text, i)
            assert m is not None
            toks.append(Token("ident", m.group(), line, i))
            i = m.end()
        else:
            for op in _OPERATORS:
                if text.startswith(op, i):
                    toks.append(Token("op", op, line, i))
                    i += len(op)
                    break
            else:  # unknown character: keep it as an operator token
                toks.append(Token("op", c, line, i))
                i += 1
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

    def rules(self, name: str) -> list[Statement]:
        return [s for s in self.statements if s.name == name and s.kind in ("rule", "partial")]

    def defaults(self, name: str) -> list[Statement]:
        return [s for s in self.statements if s.name == name and s.kind == "default"]

    def names(self) -> set[str]:
        return {s.name for s in self.statements if s.kind in ("default", "rule", "function", "partial")}

    @property
    def if_imported(self) -> bool:
        return any(p in ("rego.v1", "future.keywords", "future.keywords.if") for p, _ in self.imports)


def _split_statements(toks: list[Token]) -> list[list[Token]]:
    stmts: list[list[Token]] = []
    cur: list[Token] = []
    depth = 0
    for idx, t in enumerate(toks):
        if t.kind == "nl":
            if depth > 0 or not cur:
                continue
            header = cur[0].kind == "ident" and cur[0].text in ("package", "import")
            if not header and cur[-1].text in _CONTINUES and cur[-1].kind in ("op", "ident"):
                continue
            nxt = next((u for u in toks[idx + 1:] if u.kind != "nl"), None)
            if nxt is not None and nxt.kind == "ident" and nxt.text == "else":
                continue
            stmts.append(cur)
            cur = []
            continue
        if t.kind == "op" and t.text in _OPEN:
            depth += 1
        elif t.kind == "op" and t.text in _CLOSE:
            depth = max(0, depth - 1)
        cur.append(t)
    if cur:
        stmts.append(cur)
    return stmts


def _match(toks: list[Token], i: int) -> int:
    """Index just past the bracket group that opens at toks[i]."""
    depth = 0
    for j in range(i, len(toks)):
        t = toks[j]
        if t.kind == "op" and t.text in _OPEN:
            depth += 1
        elif t.kind == "op" and t.text in _CLOSE:
            depth -= 1
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
    out = set()
    for k, t in enumerate(tokens):
        if t.kind == "ident" and not (k > 0 and _is_op(tokens[k - 1], ".")):
            out.add(t.text)
    return out


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


def blank(text: str, start: int, end: int) -> str:
    """Replace text[start:end] by spaces, keeping newlines so line numbers do not move."""
    seg = "".join(c if c == "\n" else " " for c in text[start:end])
    return text[:start] + seg + text[end:]
