"""The rule catalog: one TOML file per rule in rules/ (shipped as kubelint_cc.rules).

Everything that describes a rule to people comes from here: `kubelint-cc rules`, the
README table, and the SARIF rule descriptors.  Files are validated when first loaded,
so a broken rule file fails every test rather than one report.

`python -m kubelint_cc.catalog README.md` rewrites the README's rules table.
"""
from __future__ import annotations

import os
import re
import sys
import tomllib
from dataclasses import dataclass
from functools import lru_cache

LEVELS = ("baseline", "restricted")
SEVERITIES = ("error", "warning", "note")
PRECISIONS = ("very-high", "high", "medium", "low")
SYNTAXES = ("yaml", "rego", "toml")
DEFAULT_SEVERITY = {"baseline": "error", "restricted": "warning"}
REQUIRED = ("id", "title", "summary", "description", "why", "fix", "fail_example", "pass_example",
            "help_uri", "tags")
OPTIONAL = ("control", "controls", "level", "severity", "security_severity", "precision", "example_syntax")
ID_RE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
README_START, README_END = "<!-- rules:start -->", "<!-- rules:end -->"
# Markdown table sections, in order: (heading, predicate on tags)
GROUPS = (
    ("Pod Security Standards rules", lambda tags: any(t.startswith("pss-") for t in tags)),
    ("Runtime class and peer-pod rules", lambda tags: "runtime-class" in tags or "peer-pods" in tags),
    ("Kata agent policy and initdata rules", lambda tags: "kata" in tags),
    ("Other rules", lambda tags: True),
)


class CatalogError(Exception):
    """A rule file is missing, malformed or inconsistent (a packaging or authoring bug)."""


@dataclass(frozen=True)
class Rule:
    id: str
    controls: tuple[str, ...]
    level: str | None
    severity: str
    title: str
    summary: str
    description: str
    why: str
    fix: str
    fail_example: str
    pass_example: str
    help_uri: str
    tags: tuple[str, ...]
    security_severity: str | None
    precision: str
    example_syntax: str

    @property
    def control(self) -> str | None:
        return self.controls[0] if self.controls else None

    @property
    def name(self) -> str:
        """A PascalCase friendly name, as SARIF consumers expect next to the opaque id."""
        return "".join(part.capitalize() for part in self.id.split("-"))


# ---------------------------------------------------------------- loading

def _rule_files() -> list[tuple[str, str]]:
    """(file name, text) of every rule file, installed or in a source checkout.

    Read from the directory, not through importlib.resources: its import (zipfile, pathlib)
    cost every SARIF run a few milliseconds."""
    package = os.path.dirname(os.path.abspath(__file__))
    files = []
    # installed: kubelint_cc/rules; a checkout (or an editable install): rules/ beside the package
    for root in (os.path.join(package, "rules"), os.path.join(os.path.dirname(package), "rules")):
        try:
            names = sorted(n for n in os.listdir(root) if n.endswith(".toml"))
        except OSError:
            continue
        for name in names:
            with open(os.path.join(root, name), encoding="utf-8") as f:
                files.append((name, f.read()))
        if files:
            break
    if not files:
        from importlib import resources  # anything else (a zip): ask the import system
        try:
            root = resources.files("kubelint_cc.rules")
            files = [(f.name, f.read_text(encoding="utf-8")) for f in root.iterdir() if f.name.endswith(".toml")]
        except ModuleNotFoundError:
            pass
    if not files:
        raise CatalogError("no rule files found (kubelint_cc.rules is empty)")
    return sorted(files)


def _parse(file: str, text: str) -> Rule:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CatalogError(f"rules/{file}: {e}") from None

    def fail(message: str):
        raise CatalogError(f"rules/{file}: {message}")

    missing = [k for k in REQUIRED if not data.get(k)]
    if missing:
        fail(f"missing field(s) {', '.join(missing)}")
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        fail(f"unknown field(s) {', '.join(unknown)}")
    strings = [k for k in set(data) - {"tags", "controls"} if not isinstance(data[k], str)]
    if strings:
        fail(f"field(s) {', '.join(sorted(strings))} must be strings")
    rule_id = data["id"]
    if not ID_RE.fullmatch(rule_id) or file != f"{rule_id}.toml":
        fail(f'id "{rule_id}" must be kebab-case and match the file name')
    if "control" in data and "controls" in data:
        fail("give control or controls, not both")
    controls = [data["control"]] if "control" in data else data.get("controls", [])
    if not isinstance(controls, list) or not all(isinstance(c, str) and c for c in controls):
        fail("controls must be a list of non-empty strings")
    level = data.get("level")
    if level is not None and level not in LEVELS:
        fail(f"level must be one of {', '.join(LEVELS)}")
    severity = data.get("severity") or DEFAULT_SEVERITY.get(level)
    if severity not in SEVERITIES:
        fail(f"severity must be one of {', '.join(SEVERITIES)}")
    tags = data["tags"]
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        fail("tags must be a list of non-empty strings")
    score = data.get("security_severity")
    if "security" in tags and score is None:
        fail('a rule tagged "security" needs security_severity')
    if score is not None and not (re.fullmatch(r"\d{1,2}\.\d", score) and 0.1 <= float(score) <= 10.0):
        fail('security_severity must be a string number "0.1" to "10.0"')
    precision = data.get("precision", "very-high")
    if precision not in PRECISIONS:
        fail(f"precision must be one of {', '.join(PRECISIONS)}")
    syntax = data.get("example_syntax", "yaml")
    if syntax not in SYNTAXES:
        fail(f"example_syntax must be one of {', '.join(SYNTAXES)}")
    if not data["help_uri"].startswith("https://"):
        fail("help_uri must be an https URL")
    if "\n" in data["summary"] or "\n" in data["title"]:
        fail("title and summary must be one line")
    return Rule(id=rule_id, controls=tuple(controls), level=level, severity=severity,
                title=data["title"], summary=data["summary"], description=data["description"].strip(),
                why=data["why"].strip(), fix=data["fix"].strip(), fail_example=data["fail_example"].strip("\n"),
                pass_example=data["pass_example"].strip("\n"), help_uri=data["help_uri"], tags=tuple(tags),
                security_severity=score, precision=precision, example_syntax=syntax)


@lru_cache(maxsize=1)
def _catalog() -> tuple[Rule, ...]:
    loaded = [_parse(name, text) for name, text in _rule_files()]
    seen: dict[str, Rule] = {}
    for rule in loaded:
        if rule.id in seen:
            raise CatalogError(f"duplicate rule id {rule.id!r}")
        seen[rule.id] = rule
    clash = sorted(set(seen) & {c for r in loaded for c in r.controls})
    if clash:  # a name must mean one thing in `rules NAME` and in suppressions
        raise CatalogError(f"control name(s) equal to a rule id: {', '.join(clash)}")
    return tuple(sorted(loaded, key=lambda r: r.id))


def rules() -> list[Rule]:
    """Every rule, sorted by id."""
    return list(_catalog())


def matching(name: str) -> list[Rule]:
    """[the rule with this id], else every rule with this control, the most severe first
    (kata-exec-enabled before kata-exec-conditional for ExecProcessRequest)."""
    rank = {"error": 0, "warning": 1, "note": 2}
    by_id = [r for r in _catalog() if r.id == name]
    return by_id or sorted((r for r in _catalog() if name in r.controls),
                           key=lambda r: (r.control != name, rank[r.severity], r.id))


def find(name: str) -> Rule | None:
    """The rule with this id, else the most severe rule with this control."""
    candidates = matching(name)
    return candidates[0] if candidates else None


def known_names() -> set[str]:
    """Names a suppression may use: rule ids and controls.

    Kata findings about the policy as a whole (conflicting rules, invalid results, ...) use
    the agent request as their control, whatever the request; those names count too.
    """
    from kubelint_cc.kata import requests  # pure data; loaded only when a suppression is checked
    names = {r.id for r in _catalog()} | {c for r in _catalog() for c in r.controls}
    return names | set(requests.AGENT_REQUESTS) | set(requests.LEGACY_REQUESTS) | {requests.ALLOW_FAILING}


def unknown_name(name: str) -> str:
    """The message for a name no rule or control answers to, with the closest known name."""
    import difflib
    known = known_names()
    lower = {n.lower(): n for n in sorted(known)}
    close = [lower[name.lower()]] if name.lower() in lower else \
        [lower[m] for m in difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)]
    hint = f"did you mean `{close[0]}`?" if close else "`kubelint-cc rules` lists them"
    return f"unknown rule or control {name!r} ({hint})"


# What `kubelint-cc fix` does for each rule it fixes (kubelint_cc.fix.decide); the
# "Automatic fix" section of every other rule says it has none.
AUTOFIX = {
    "pss-allow-privilege-escalation": "`kubelint-cc fix` sets `allowPrivilegeEscalation: false` on the "
        "container. On a privileged container (the API rejects that pair) only `--unsafe-fixes` does, "
        "together with `privileged: false`.",
    "pss-capabilities-restricted": "`kubelint-cc fix` adds `ALL` to `capabilities.drop` (creating the list). "
        "Entries of `capabilities.add` other than `NET_BIND_SERVICE` are left to you.",
    "pss-seccomp-profile-restricted": "`kubelint-cc fix` sets `seccompProfile.type: RuntimeDefault` on the pod "
        "when neither it nor the container sets a profile, and on a profile without a type. An explicit "
        "type (`Unconfined`, `Localhost`) is left alone.",
    "pss-run-as-non-root": "`kubelint-cc fix` sets `runAsNonRoot: true` on the pod when neither the pod nor "
        "the container sets it (or sets the string \"true\"). An explicit `false` is left alone.",
    "pss-privileged": "Only `kubelint-cc fix --unsafe-fixes`, which sets `privileged: false`: the workload "
        "may need what it loses.",
}
NO_AUTOFIX = "None: `kubelint-cc fix` does not change what this rule reports."


# ---------------------------------------------------------------- rendering

def _controls_text(rule: Rule) -> str:
    if not rule.controls:
        return "-"
    extra = len(rule.controls) - 1
    return rule.controls[0] + (f" (+{extra})" if extra else "")


def render_table(fmt: str = "text", rules: list[Rule] | None = None) -> str:
    if fmt == "markdown":
        return _markdown_table()
    header = ("RULE", "CONTROL", "LEVEL", "SEVERITY", "TITLE")
    rows = [header] + [(r.id, _controls_text(r), r.level or "-", r.severity, r.title)
                       for r in (_catalog() if rules is None else rules)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in rows]
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _markdown_table() -> str:
    remaining = list(_catalog())
    out = []
    for heading, belongs in GROUPS:
        group = [r for r in remaining if belongs(r.tags)]
        remaining = [r for r in remaining if r not in group]
        if not group:
            continue
        out += [f"### {heading}", "", "| rule | control | level | severity | what it reports |",
                "|---|---|---|---|---|"]
        for r in group:
            # The id anchor lets help URIs of the form README#<rule-id> land on the row.
            self_link = r.help_uri.endswith("#" + r.id)
            link = f'<a id="{r.id}"></a>' + (f"`{r.id}`" if self_link else f"[`{r.id}`]({r.help_uri})")
            controls = ", ".join(f"`{c}`" for c in r.controls) or "-"
            out.append(f"| {link} | {controls} | {r.level or '-'} | {r.severity} | {_md_cell(r.summary)} |")
        out.append("")
    return "\n".join(out)


def render_rule(rule: Rule, fmt: str = "text") -> str:
    facts = [("control" if len(rule.controls) < 2 else "controls", ", ".join(rule.controls) or "-"),
             ("level", rule.level or "-"), ("severity", rule.severity)]
    if rule.security_severity:
        facts.append(("security severity", rule.security_severity))
    sections = [("What it checks", rule.description), ("Why it matters", rule.why),
                ("Failing example", None), ("Passing example", None), ("How to fix", rule.fix),
                ("Automatic fix", AUTOFIX.get(rule.id, NO_AUTOFIX))]
    examples = {"Failing example": rule.fail_example, "Passing example": rule.pass_example}
    if fmt == "markdown":
        out = [f"## `{rule.id}`: {rule.title}", "", " · ".join(f"{k}: `{v}`" for k, v in facts), "",
               rule.summary, ""]
        for heading, body in sections:
            out.append(f"### {heading}")
            out.append("")
            if body is None:
                out += [f"```{rule.example_syntax}", examples[heading], "```"]
            else:
                out.append(body)
            out.append("")
        out.append(f"More: <{rule.help_uri}>")
        return "\n".join(out) + "\n"
    out = [f"{rule.id}: {rule.title}", "  ".join(f"{k}: {v}" for k, v in facts), "", rule.summary, ""]
    for heading, body in sections:
        out.append(heading)
        text = examples[heading] if body is None else body
        out += ["    " + line if line else "" for line in text.splitlines()]
        out.append("")
    out.append(f"More: {rule.help_uri}")
    return "\n".join(out) + "\n"


def help_markdown(rule: Rule) -> str:
    """The rule's full documentation as markdown, for SARIF `help` (no top heading)."""
    return render_rule(rule, "markdown").split("\n", 2)[2]


def help_text(rule: Rule) -> str:
    return render_rule(rule, "text").split("\n", 1)[1].lstrip("\n")


# ---------------------------------------------------------------- README

def update_readme(text: str) -> str:
    """README text with the table between the markers regenerated."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise CatalogError(f"README has no {README_START} ... {README_END} section")
    return text[:start + len(README_START)] + "\n" + render_table("markdown") + text[end:]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m kubelint_cc.catalog README.md", file=sys.stderr)
        return 2
    from pathlib import Path
    path = Path(argv[0])
    try:
        text = path.read_text(encoding="utf-8")
        new = update_readme(text)
    except (OSError, CatalogError) as e:
        print(f"kubelint-cc: error: {e}", file=sys.stderr)
        return 2
    if new != text:
        path.write_text(new, encoding="utf-8")
        print(f"{path}: rules table updated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
