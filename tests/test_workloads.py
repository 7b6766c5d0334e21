"""Pod-carrying kinds beyond the core controllers (README, "Controllers like Pods"):
judged by their pod template, findings on the template's lines.  Each fixture marks the
lines a finding must point at with `# finding: CONTROL`; no other finding may appear."""
import re

import pytest

from conftest import FIXTURES

WORKLOADS = FIXTURES / "workloads"
MARK = re.compile(r"# finding: (\w+)")


def expected(path):
    return sorted((i, m.group(1)) for i, line in enumerate(path.read_text().splitlines(), 1)
                  for m in [MARK.search(line)] if m)


@pytest.mark.parametrize("name", ["rollout.yaml", "deploymentconfig.yaml", "knative-service.yaml",
                                  "scaledjob.yaml", "kruise.yaml"])
def test_findings_land_on_the_template_lines(scan_json, name):
    code, doc = scan_json("--pss-level", "baseline", WORKLOADS / name)
    assert doc["errors"] == []
    assert sorted((f["line"], f["control"]) for f in doc["findings"]) == expected(WORKLOADS / name)


def test_paths_name_the_template(scan_json):
    code, doc = scan_json("--pss-level", "baseline", WORKLOADS / "scaledjob.yaml")
    [f] = doc["findings"]
    assert f["path"] == "spec.jobTemplate.spec.template.spec.hostPID"
    assert f["object"] == {"kind": "ScaledJob", "namespace": None, "name": "worker"}


def test_a_rollout_with_a_workload_ref_is_not_judged(scan_json):
    code, doc = scan_json(WORKLOADS / "rollout.yaml")  # restricted: a template would have many findings
    assert {f["object"]["name"] for f in doc["findings"]} == {"canary"}
    assert doc["summary"]["objects"] == 2


def test_declared_kinds_are_judged_by_their_template(scan_json):
    path = WORKLOADS / "declared.yaml"
    code, doc = scan_json("--pss-level", "baseline", "--config", WORKLOADS / "workloads.kubelint-cc.yaml", path)
    assert doc["errors"] == []
    assert sorted((f["line"], f["control"]) for f in doc["findings"]) == expected(path)
    assert doc["findings"][0]["path"] == "spec.pod.spec.containers[0].securityContext.privileged"
    # Without the declaration the kind is just an object.
    code, doc = scan_json("--pss-level", "baseline", path)
    assert doc["findings"] == [] and code == 0


@pytest.mark.parametrize("entry,message", [
    ("{kind: X, apiVersion: a/v1}", "'template' is a required property"),
    ("{kind: X, apiVersion: a/v1, template: spec..template}", "is not valid: expected Dotted path"),
    ("{kind: X, apiVersion: a/v1, template: spec.template, path: x}", "unknown key 'path'"),
])
def test_declarations_are_validated(run, tmp_path, entry, message):
    config = tmp_path / "c.yaml"
    config.write_text(f"workloads:\n  - {entry}\n")
    proc = run("scan", "--config", config, WORKLOADS / "declared.yaml")
    assert proc.returncode == 2 and message in proc.stderr.decode(), proc.stderr.decode()
    assert f"{config}:2:" in proc.stderr.decode()
