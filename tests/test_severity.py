"""A restricted finding whose value also violates a baseline control is a baseline error.

At the restricted level PSA replaces four baseline checks with stricter restricted ones
(restrictedVolumes, capabilities_restricted, seccompProfile_restricted,
procMount_restricted); a hostPath volume or a SYS_ADMIN capability must not be demoted to
a restricted-only warning because of it.
"""
from __future__ import annotations

import json

import pytest

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: bad
spec:
  containers:
  - name: app
    image: nginx
    securityContext:
      capabilities:
        add: [SYS_ADMIN]
  volumes:
  - name: root
    hostPath:
      path: /
"""


def test_baseline_violations_are_errors_at_the_restricted_level(tmp_path, run, scan_json):
    (tmp_path / "pod.yaml").write_text(POD)
    proc = run("scan", "--fail-on", "error", tmp_path / "pod.yaml")
    assert proc.returncode == 1, proc.stdout.decode()
    _, doc = scan_json(tmp_path / "pod.yaml")
    errors = {(f["line"], f["rule"], f["control"], f["level"], f.get("baselineControl"))
              for f in doc["findings"] if f["severity"] == "error"}
    assert errors == {
        (11, "pss-capabilities-baseline", "capabilities_restricted", "baseline", "capabilities_baseline"),
        (14, "pss-host-path-volumes", "restrictedVolumes", "baseline", "hostPathVolumes")}
    # The restricted-only parts stay warnings.
    drop = next(f for f in doc["findings"] if f["path"].endswith("capabilities.drop"))
    assert (drop["severity"], drop["level"], drop["rule"]) == ("warning", "restricted", "pss-capabilities-restricted")
    assert "baselineControl" not in drop


def test_sarif_names_the_baseline_rule_and_control(tmp_path, run):
    (tmp_path / "pod.yaml").write_text(POD)
    sarif = json.loads(run("scan", "--format", "sarif", tmp_path / "pod.yaml").stdout)
    run_ = sarif["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    host = next(r for r in run_["results"] if r["properties"].get("control") == "restrictedVolumes")
    assert host["level"] == "error"
    assert host["ruleId"] == "pss-host-path-volumes"
    assert host["properties"]["pssLevel"] == "baseline"
    assert host["properties"]["baselineControl"] == "hostPathVolumes"
    assert rules[host["ruleIndex"]]["id"] == "pss-host-path-volumes"
    # GitHub grades the alert by the rule's security-severity: the baseline rule's, not restrictedVolumes' 5.5.
    assert rules[host["ruleIndex"]]["properties"]["security-severity"] == "8.0"


def test_privileged_level_is_accepted_on_the_command_line_as_in_the_config(tmp_path, run):
    (tmp_path / "pod.yaml").write_text(POD)
    proc = run("scan", "--pss-level", "privileged", tmp_path / "pod.yaml")
    assert proc.returncode == 0 and proc.stdout.decode().endswith("0 findings in 1 file (1 object)\n")


@pytest.mark.parametrize("body, line, baseline_control", [
    ("    securityContext:\n      seccompProfile: {type: Unconfined}\n", 10, "seccompProfile_baseline"),
    ("    securityContext:\n      procMount: Unmasked\n", 10, "procMount"),
])
def test_unconfined_seccomp_and_unmasked_proc_are_errors(tmp_path, scan_json, body, line, baseline_control):
    (tmp_path / "pod.yaml").write_text(POD.split("    securityContext:")[0] + body)
    _, doc = scan_json(tmp_path / "pod.yaml")
    hits = [f for f in doc["findings"] if f.get("baselineControl") == baseline_control]
    assert [(f["line"], f["severity"], f["level"]) for f in hits] == [(line, "error", "baseline")]


def test_unmasked_proc_in_a_user_namespace_is_restricted_only(tmp_path, scan_json):
    # v1.35: baseline allows procMount: Unmasked with hostUsers: false; restricted does not.
    text = POD.split("    securityContext:")[0].replace("spec:\n", "spec:\n  hostUsers: false\n", 1)
    (tmp_path / "pod.yaml").write_text(text + "    securityContext:\n      procMount: Unmasked\n")
    _, doc = scan_json(tmp_path / "pod.yaml")
    proc = [f for f in doc["findings"] if f["control"] == "procMount_restricted"]
    assert [(f["severity"], f["level"], f["rule"]) for f in proc] == [
        ("warning", "restricted", "pss-proc-mount-restricted")]


def test_names_of_the_baseline_control_select_ignore_and_suppress(tmp_path, scan_json):
    (tmp_path / "pod.yaml").write_text(POD)
    (tmp_path / ".kubelint-cc.yaml").write_text("rules: {ignore: [pss-restricted-volumes]}\n")
    _, doc = scan_json(tmp_path / "pod.yaml")
    assert any(f["rule"] == "pss-host-path-volumes" for f in doc["findings"])  # a rule id is exact
    (tmp_path / ".kubelint-cc.yaml").write_text("rules: {ignore: [hostPathVolumes]}\n")
    _, doc = scan_json(tmp_path / "pod.yaml")
    assert not any(f["rule"] == "pss-host-path-volumes" for f in doc["findings"])
    (tmp_path / ".kubelint-cc.yaml").write_text("rules: {severity: {hostPathVolumes: note}}\n")
    _, doc = scan_json(tmp_path / "pod.yaml")
    assert next(f for f in doc["findings"] if f["rule"] == "pss-host-path-volumes")["severity"] == "note"
