"""The rule catalog: complete for every rule the code can report, documented, and in the README.

The documented examples are executed: each failing example must trigger its rule and each
passing example must not.  Examples containing "..." are abbreviated (a 300 KiB value
cannot be shown) and are not executed.
"""
from __future__ import annotations

import ast
import base64
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kubelint_cc import engine
from kubelint_cc.checks import pss
from kubelint_cc.kata.requests import REQUEST_RISK

ROOT = Path(__file__).resolve().parent.parent
RULE_ID = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+")


def _table(text: str) -> dict[str, list[str]]:
    """`kubelint-cc rules` output -> {id: [control, level, severity, title]}."""
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["RULE", "CONTROL", "LEVEL", "SEVERITY"]
    starts = [lines[0].index(h) for h in ("CONTROL", "LEVEL", "SEVERITY", "TITLE")]
    table = {}
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip([0] + starts, starts + [None])]
        table[cells[0]] = cells[1:]
    return table


@pytest.fixture
def table(run):
    proc = run("rules")
    assert proc.returncode == 0, proc.stderr.decode()
    return _table(proc.stdout.decode())


# ---------------------------------------------------------------- completeness

def _string_constants(node) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _calls(path: Path, names: set[str]):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in names:
            yield node


def rule_ids_in_code() -> dict[str, str]:
    """Every rule id the code can put in a finding -> where it comes from."""
    found = {}
    src = ROOT / "kubelint_cc"
    # Kata: Issue(control, rule, ...) literals, and ids picked in expressions (`rule = "a" if ... else "b"`).
    for path in sorted((src / "kata").glob("*.py")):
        for value in _string_constants(ast.parse(path.read_text(encoding="utf-8"))):
            if value.startswith("kata-") and RULE_ID.fullmatch(value):
                found.setdefault(value, path.name)
    # Per-request rules are built from REQUEST_RISK stems (policy.py _issues).
    stems = {stem for stem, *_ in REQUEST_RISK.values()}
    for stem in stems:
        found.pop(stem, None)
    for stem, _, on, cond in REQUEST_RISK.values():
        unrestricted = stem in ("kata-copyfile", "kata-create-container")
        if on:
            found[f"{stem}-{'unrestricted' if unrestricted else 'enabled'}"] = "REQUEST_RISK"
        if cond:
            found[f"{stem}-conditional"] = "REQUEST_RISK"
    # Everything else: Hit("rule", ...) and Finding("rule", ...) in the checks and the engine.
    for path in sorted((src / "checks").glob("*.py")) + [src / "engine.py"]:
        for call in _calls(path, {"Hit", "Finding"}):
            if call.args:
                for value in _string_constants(call.args[0]):
                    if RULE_ID.fullmatch(value):
                        found.setdefault(value, path.name)
    return found


def test_every_pss_control_has_its_rule(table):
    for control, check in pss.CHECKS.items():
        rule_id = engine.pss_rule_id(control)
        assert rule_id in table, f"{control}: no rules/{rule_id}.toml"
        got_control, level, severity, _ = table[rule_id]
        assert (got_control, level) == (control, check.level)
        assert severity == {"baseline": "error", "restricted": "warning"}[check.level]


def test_every_rule_the_code_reports_has_an_entry(table):
    used = rule_ids_in_code()
    assert len(used) > 40  # the scan itself must keep finding the kata, placement and engine rules
    missing = {rule: where for rule, where in used.items() if rule not in table}
    assert not missing, f"rule ids used in the code without rules/<id>.toml: {missing}"


def test_no_stale_entries(table):
    used = set(rule_ids_in_code()) | {engine.pss_rule_id(c) for c in pss.CHECKS}
    stale = sorted(set(table) - used)
    assert not stale, f"catalog entries no code reports: {stale}"


def test_kata_controls_match_the_code():
    """A literal Issue(control, rule, ...) must use a control its catalog entry names, so that
    `kubelint-cc rules CONTROL` and suppressions by control find it."""
    from kubelint_cc import catalog
    wrong = []
    for path in sorted((ROOT / "kubelint_cc" / "kata").glob("*.py")):
        for call in _calls(path, {"Issue"}):
            control, rule = call.args[:2] if len(call.args) >= 2 else (None, None)
            if isinstance(control, ast.Constant) and isinstance(rule, ast.Constant):
                entry = catalog.find(rule.value)
                if entry is not None and control.value not in entry.controls:
                    wrong.append(f"{path.name}:{call.lineno} {rule.value} control {control.value!r}")
    assert not wrong, wrong


# ---------------------------------------------------------------- the rules command

def test_rules_explains_a_rule(run):
    proc = run("rules", "pss-privileged")
    out = proc.stdout.decode()
    assert proc.returncode == 0
    for part in ("pss-privileged: Privileged containers", "control: privileged", "What it checks",
                 "Why it matters", "Failing example", "privileged: true", "Passing example",
                 "How to fix", "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline"):
        assert part in out, part


def test_rules_finds_by_control_and_lists_every_rule_sharing_it(run):
    assert run("rules", "runAsUser").stdout.decode().startswith("pss-run-as-user:")
    out = run("rules", "ExecProcessRequest").stdout.decode().splitlines()
    assert out[0] == "2 rules report control ExecProcessRequest; `kubelint-cc rules RULE` explains one:"
    assert [line.split()[0] for line in out[3:]] == ["kata-exec-enabled", "kata-exec-conditional"]
    initdata = run("rules", "initdata").stdout.decode()
    assert initdata.startswith("14 rules report control initdata")
    assert len(initdata.splitlines()) == 3 + 14
    markdown = run("rules", "initdata", "--format", "markdown").stdout.decode()
    assert markdown.count("\n## `kata-") + markdown.startswith("## `kata-") == 14


def test_rule_docs_say_what_fix_does():
    from kubelint_cc import catalog, fix
    fixed = {r.id for r in catalog.rules() if set(r.controls) & set(fix.FIXABLE)}
    assert set(catalog.AUTOFIX) == fixed
    from kubelint_cc import engine
    assert engine.FIXABLE == set(fix.FIXABLE)
    text = catalog.render_rule(catalog.find("pss-privileged"))
    assert "Automatic fix\n    Only `kubelint-cc fix --unsafe-fixes`, which sets `privileged: false`" in text
    assert "removes" not in text
    assert catalog.NO_AUTOFIX in catalog.render_rule(catalog.find("pss-host-ports"))


def test_rules_markdown_has_fenced_examples(run):
    out = run("rules", "kata-exec-enabled", "--format", "markdown").stdout.decode()
    assert out.startswith("## `kata-exec-enabled`")
    assert "```rego\npackage agent_policy\n\ndefault ExecProcessRequest := true\n```" in out


def test_unknown_rule_is_a_usage_error(run):
    proc = run("rules", "no-such-rule")
    assert proc.returncode == 2
    assert b"unknown rule or control 'no-such-rule'" in proc.stderr and b"Traceback" not in proc.stderr
    assert b"did you mean `pss-privileged`?" in run("rules", "pss-privilegd").stderr


def test_text_table_columns_are_aligned(run):
    lines = run("rules").stdout.decode().splitlines()
    col = lines[0].index("SEVERITY")
    assert all(line[col - 2:col] == "  " and line[col:].split()[0] in ("SEVERITY", "error", "warning", "note")
               for line in lines)


# ---------------------------------------------------------------- README

def _readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- rules:start -->\n", "<!-- rules:end -->"
    assert start in text and end in text, "README lost its rules markers"
    return text[text.index(start) + len(start):text.index(end)]


def test_readme_table_matches_the_catalog(run):
    generated = run("rules", "--format", "markdown").stdout.decode()
    assert _readme_section() == generated, \
        "README rules table is stale: run `python -m kubelint_cc.catalog README.md`"


def test_readme_regeneration_command(tmp_path):
    stale = (ROOT / "README.md").read_text(encoding="utf-8").replace("| Privileged containers", "| stale")
    stale = re.sub(r"(<!-- rules:start -->\n).*?(<!-- rules:end -->)", r"\1| old |\n\2", stale, flags=re.S)
    readme = tmp_path / "README.md"
    readme.write_text(stale, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "kubelint_cc.catalog", str(readme)], capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()
    assert readme.read_text(encoding="utf-8") == (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_anchors_exist_for_readme_help_links(table):
    """help_uri README#<anchor> links must land somewhere."""
    from kubelint_cc import catalog
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    anchors |= {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
                for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}
    for rule in catalog.rules():
        if rule.help_uri.startswith("https://github.com/kubelint-cc/kubelint-cc#"):
            assert rule.help_uri.split("#", 1)[1] in anchors, rule.id


# ---------------------------------------------------------------- documented examples run

def _initdata_pod(toml: str) -> str:
    value = base64.b64encode(gzip.compress(toml.encode(), mtime=0)).decode()
    return ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n"
            f"    io.katacontainers.config.hypervisor.cc_init_data: {value}\n"
            "spec:\n  runtimeClassName: kata-remote\n  containers:\n  - name: web\n    image: nginx:1.27\n")


def _manifest(syntax: str, example: str) -> str:
    if syntax == "rego":  # a policy runs as initdata's policy.rego
        return _initdata_pod('version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n"policy.rego" = \'\'\'\n'
                             + example + "\n'''\n")
    if syntax == "toml":  # an initdata document
        return _initdata_pod(example)
    return example


def _config(example: str) -> str | None:
    """A leading `# .kubelint-cc.yaml` comment block is the configuration the example assumes."""
    lines = example.splitlines()
    if not lines or lines[0] != "# .kubelint-cc.yaml":
        return None
    body = []
    for line in lines[1:]:
        if not line.startswith("# "):
            break
        body.append(line[2:])
    return "\n".join(body) + "\n"


INFORMATIONAL = {"kata-initdata-digest"}  # reported for every valid initdata, passing example included


def test_documented_examples_behave_as_documented(run, tmp_path):
    from kubelint_cc import catalog
    # One scan per (PSS level, configuration) rather than one per example: kata analysis is costly.
    groups: dict[tuple, list] = {}
    for rule in catalog.rules():
        for kind, text in (("failing", rule.fail_example), ("passing", rule.pass_example)):
            if "..." in text or (kind == "passing" and rule.id in INFORMATIONAL):
                continue
            groups.setdefault((rule.level, _config(text)), []).append((rule.id, kind, rule.example_syntax, text))
    wrong, executed = [], 0
    for n, ((level, config), cases) in enumerate(groups.items()):
        case_dir = tmp_path / f"group{n}"
        case_dir.mkdir()
        if config:
            (case_dir / ".kubelint-cc.yaml").write_text(config, encoding="utf-8")
        for rule_id, kind, syntax, text in cases:
            (case_dir / f"{rule_id}.{kind}.yaml").write_text(_manifest(syntax, text), encoding="utf-8")
        proc = run("scan", "--format", "json", ".", *(["--pss-level", level] if level else []), cwd=case_dir)
        doc = json.loads(proc.stdout)
        assert not doc["errors"], doc["errors"]
        for rule_id, kind, _, _ in cases:
            reported = {f["rule"] for f in doc["findings"] if f["file"] == f"{rule_id}.{kind}.yaml"}
            if (rule_id in reported) != (kind == "failing"):
                wrong.append(f"{rule_id}: the {kind} example reports {sorted(reported)}")
            executed += 1
    assert not wrong, "\n".join(wrong)
    assert executed > 2 * len(catalog.rules()) - 10  # only the few abbreviated examples are skipped


# ---------------------------------------------------------------- validation of rule files

GOOD_FILE = """
id = "demo-rule"
control = "demo"
severity = "warning"
title = "Demo"
summary = "A demo rule."
tags = ["correctness"]
help_uri = "https://example.com/demo"
description = "What."
why = "Why."
fix = "Fix."
fail_example = "a: 1"
pass_example = "a: 2"
"""


@pytest.mark.parametrize("change, error", [
    (("id = \"demo-rule\"", "id = \"other\""), "match the file name"),
    (("why = \"Why.\"\n", ""), "missing field(s) why"),
    (("fix = ", "fixes = \"x\"\nfix = "), "unknown field(s) fixes"),
    (("severity = \"warning\"", "severity = \"fatal\""), "severity must be one of"),
    (("tags = [\"correctness\"]", "tags = [\"security\"]"), "needs security_severity"),
    (("tags = [\"correctness\"]", "tags = [\"security\"]\nsecurity_severity = \"11\""), "security_severity"),
    (("control = \"demo\"", "control = \"demo\"\ncontrols = [\"x\"]"), "not both"),
    (("help_uri = \"https", "help_uri = \"http"), "https URL"),
    (("summary = \"A demo rule.\"", "summary = 3"), "must be strings"),
    (("id = ", "id = [\n"), "demo-rule.toml"),
])
def test_broken_rule_files_are_rejected(change, error):
    from kubelint_cc import catalog
    assert catalog._parse("demo-rule.toml", GOOD_FILE).severity == "warning"
    with pytest.raises(catalog.CatalogError, match=re.escape(error)):
        catalog._parse("demo-rule.toml", GOOD_FILE.replace(*change, 1))


def test_pss_severity_defaults_from_the_level():
    from kubelint_cc import catalog
    text = GOOD_FILE.replace('severity = "warning"\n', 'level = "restricted"\n')
    assert catalog._parse("demo-rule.toml", text).severity == "warning"
    assert catalog._parse("demo-rule.toml", text.replace("restricted", "baseline")).severity == "error"


def test_suppressions_may_name_ids_controls_and_agent_requests():
    from kubelint_cc import catalog
    names = catalog.known_names()
    assert {"pss-privileged", "privileged", "kata-exec-enabled", "ExecProcessRequest", "initdata",
            "GuestDetailsRequest", "AllowRequestsFailingPolicy"} <= names
    assert "pss-privilegd" not in names
