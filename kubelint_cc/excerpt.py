"""Short, escaped excerpts of untrusted values, for messages.

Messages quote values from the scanned files (names, capabilities, keys, initdata fields).
A value can be 200,000 characters long, or hold a newline, a carriage return, an ANSI
escape or a line like `::error file=...::` that a terminal or a CI log would obey.  Every
value that goes into a message goes through `excerpt` (or `quoted`): at most MAX_CHARS
characters of it, every control character escaped, so a message stays one short line.
Reporters escape whole lines again (`escape`), for values that reached a message some
other way and for file names.
"""
from __future__ import annotations

import re

MAX_CHARS = 80  # enough to recognise a name or a capability, short enough to never flood a log

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides,
# which terminals and log viewers interpret instead of printing.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def _escape_char(m: re.Match) -> str:
    c = m.group()
    return _NAMED.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")


def escape(text: str) -> str:
    """`text` with every control character written as an escape (`\\n`, `\\e`, `\\x85`...):
    whatever it holds, it prints as one line and changes nothing on a terminal."""
    if text.isprintable():  # the usual case, in C: every character _CONTROL matches is unprintable
        return text
    return _CONTROL.sub(_escape_char, text)


def excerpt(value, limit: int = MAX_CHARS) -> str:
    """At most `limit` characters of str(value), escaped, with the length of what was cut."""
    if isinstance(value, int) and value.bit_length() > 256:
        return f"an integer of {value.bit_length():,} bits"  # str() of 4,300+ digits raises
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text) - limit:,} more characters)"
    return escape(text)


def clip(value, limit: int = 253):
    """A string value cut to `limit` characters (253: Kubernetes' longest name), unescaped: for
    data fields that reports escape themselves, like a finding's object name."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "..."
    return value


def quoted(value, limit: int = MAX_CHARS) -> str:
    """excerpt(value) in double quotes, for values inside a sentence."""
    return f'"{excerpt(value, limit)}"'


_PLAIN_START = re.compile(r"[\w./~-]")


def path(name: str) -> str:
    """A file name as a text report prints it at the start of a line: escaped, and never
    starting like a CI log command (GitHub's `::error file=...::`, a `##[...]` or `##vso[`
    line) or with blanks: a file may be named `::error file=x::spoofed.yaml`."""
    name = escape(name)
    return name if _PLAIN_START.match(name) else "./" + name
