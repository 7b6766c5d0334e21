"""The finding type shared by every Kata agent-policy / initdata check."""
from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("error", "warning", "note")


@dataclass(frozen=True)
class Issue:
    """One finding.

    control:   the agent API request name for policy findings (for example
               "ExecProcessRequest", "SetPolicyRequest", "AllowRequestsFailingPolicy"),
               or "initdata", "agentPolicyEncoding", "agentPolicySyntax" for format problems.
    rule:      stable kebab-case rule id (see kubelint_cc.kata.RULES).
    severity:  "error" | "warning" | "note".
    message:   one sentence.
    rego_line: 1-based line inside the decoded Rego text, when the finding is about a
               specific rule or parse error.
    """

    control: str
    rule: str
    severity: str
    message: str
    rego_line: int | None = None


def excerpt(value, limit: int = 80) -> str:
    """At most `limit` characters of a value from the scanned file, control characters escaped:
    messages quote attacker-written text, which must neither flood nor forge a report line."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"
                   for c in text[:limit + 1])
    return text if len(text) <= limit else text[:limit - 1] + "…"
