"""CI formats, each checked against what its consumer accepts: github (workflow commands,
parsed as the Actions runner parses them), junit (validated against the Ant/Jenkins JUnit
schema in fixtures/formats/junit.xsd) and gitlab (GitLab Code Quality's documented fields)."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from kubelint_cc.reporters import github

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations: {kubelint-cc.io/ignore: "hostPorts legacy LB, see TICKET-1"}
spec:
  containers:
  - name: app
    image: nginx
    ports: [{containerPort: 80, hostPort: 80}]
    securityContext:
      privileged: true
  volumes:
  - name: root
    hostPath: {path: /}
"""
BROKEN = "apiVersion: v1\nkind: Pod\nmetadata: {name: x\n"


@pytest.fixture
def tree(tmp_path):
    (tmp_path / ".git").mkdir()  # paths in the reports are relative to the repository root
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "odd,name:100%.yaml").write_text(POD)
    (deploy / "broken.yaml").write_text(BROKEN)
    (deploy / "clean.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    return tmp_path


# ---------------------------------------------------------------- github

def parse_runner_command(line: str):
    """actions/runner ActionCommand.TryParseV2 with its unescaping, in Python."""
    line = line.lstrip()
    if not line.startswith("::"):
        return None
    end = line.find("::", 2)
    if end < 0:
        return None
    info = line[2:end]
    name, _, props_text = info.partition(" ")
    if name not in ("error", "warning", "notice"):
        return None
    props = {}
    for prop in (p for p in props_text.strip().split(",") if p):
        pair = [x for x in prop.split("=", 1) if x]
        if len(pair) == 2:
            value = pair[1]
            for token, replacement in (("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25")):
                value = value.replace(replacement, token)
            props[pair[0].lower()] = value
    data = line[end + 2:]
    for token, replacement in (("\r", "%0D"), ("\n", "%0A"), ("%", "%25")):
        data = data.replace(replacement, token)
    return name, props, data


@pytest.mark.parametrize("text", ["plain", "100% sure", "a,b:c=d", "two\nlines\r\n", "%0A stays %3A", "::x::"])
def test_github_escaping_round_trips_through_the_runner(text):
    line = github.command("error", text, file=text, title=text).rstrip("\n")
    assert "\n" not in line and "\r" not in line
    assert parse_runner_command(line) == ("error", {"file": text, "title": text}, text)


def test_github_format(tree, run):
    proc = run("scan", "--format", "github", "deploy", cwd=tree)
    assert proc.returncode == 2  # the broken file
    lines = proc.stdout.decode().splitlines()
    commands = [parse_runner_command(line) for line in lines]
    assert all(commands[:-1]) and commands[-1] is None  # the summary is a plain log line
    by_title = {c[1]["title"].split(":")[0]: c for c in commands[:-1]}
    name, props, data = by_title["kubelint-cc pss-privileged"]
    assert (name, props["file"], props["line"], props["col"]) == ("error", "deploy/odd,name:100%.yaml", "12", "7")
    assert data == 'container "app" must not set securityContext.privileged=true (Pod web)'
    assert by_title["kubelint-cc pss-host-path-volumes"][0] == "error"
    assert by_title["kubelint-cc pss-allow-privilege-escalation"][0] == "warning"
    assert "kubelint-cc pss-host-ports" not in by_title  # suppressed
    error = by_title["kubelint-cc"]
    assert error[1]["file"] == "deploy/broken.yaml" and error[1]["line"] == "3"
    assert lines[-1].startswith("kubelint-cc: 6 findings, 1 suppressed, 1 input error")


# ---------------------------------------------------------------- junit

def test_junit_format_is_valid_against_the_schema(tree, run):
    etree = pytest.importorskip("lxml.etree")
    proc = run("scan", "--format", "junit", "deploy", cwd=tree)
    schema = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "fixtures" / "formats" / "junit.xsd")))
    doc = etree.fromstring(proc.stdout)
    schema.assertValid(doc)
    suites = {s.get("name"): s for s in doc.iter("testsuite")}
    assert set(suites) == {"deploy/odd,name:100%.yaml", "deploy/broken.yaml", "deploy/clean.yaml"}
    odd = suites["deploy/odd,name:100%.yaml"]
    assert (odd.get("tests"), odd.get("failures"), odd.get("skipped")) == ("7", "6", "1")
    skipped = odd.find("testcase/skipped")
    assert skipped.get("message") == "suppressed: legacy LB, see TICKET-1"
    assert [f.get("type") for f in odd.iter("failure")].count("error") == 2
    clean = suites["deploy/clean.yaml"]
    assert clean.get("failures") == "0" and len(clean.findall("testcase")) == 1
    assert doc.get("errors") == "1" and doc.get("failures") == "6"


def test_junit_schema_rejects_what_consumers_reject():
    etree = pytest.importorskip("lxml.etree")
    schema = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "fixtures" / "formats" / "junit.xsd")))
    assert not schema.validate(etree.fromstring(b'<testsuites><testsuite tests="1"><testcase name="x"/>'
                                                b'</testsuite></testsuites>'))  # a suite needs a name
    assert not schema.validate(etree.fromstring(b'<testsuites><testsuite name="s" tests="-1"/></testsuites>'))


# ---------------------------------------------------------------- gitlab

# GitLab Code Quality report format, the documented fields
# (https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format).
GITLAB_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string", "minLength": 1, "not": {"pattern": "^(/|\\./)"}},
                    "lines": {"type": "object", "required": ["begin"],
                              "properties": {"begin": {"type": "integer", "minimum": 1}}},
                },
            },
        },
    },
}


def test_gitlab_format_has_the_documented_fields(tree, run):
    proc = run("scan", "--format", "gitlab", "deploy", cwd=tree)
    issues = json.loads(proc.stdout)
    jsonschema.validate(issues, GITLAB_SCHEMA)
    assert len({i["fingerprint"] for i in issues}) == len(issues) == 7  # 6 findings + 1 input error
    by_check = {i["check_name"]: i for i in issues}
    assert by_check["pss-privileged"]["location"] == {"path": "deploy/odd,name:100%.yaml", "lines": {"begin": 12}}
    assert by_check["pss-privileged"]["severity"] == "critical"
    assert by_check["pss-run-as-non-root"]["severity"] == "major"
    assert by_check["kubelint-cc-input-error"]["severity"] == "blocker"
    assert "pss-host-ports" not in by_check  # suppressed
