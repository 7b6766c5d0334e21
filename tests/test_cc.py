"""Confidential Containers through the CLI: Kata policy annotations and initdata on pods and
controllers, peer-pods ConfigMaps, runtime-class placement and peer-pod accounting."""
import base64
import gzip
from pathlib import Path

import pytest

KATA = Path(__file__).parent / "fixtures" / "kata"
POLICY = "io.katacontainers.config.agent.policy"
INITDATA = "io.katacontainers.config.hypervisor.cc_init_data"
SAFE = ("      securityContext:\n        allowPrivilegeEscalation: false\n        capabilities: {drop: [ALL]}\n"
        "        runAsNonRoot: true\n        seccompProfile: {type: RuntimeDefault}\n")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def initdata(policy: str | None) -> str:
    toml = 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n'
    if policy is not None:
        toml += "\"policy.rego\" = '''\n" + policy + "'''\n"
    return base64.b64encode(gzip.compress(toml.encode(), mtime=0)).decode()


EXEC_LOG_ON = (KATA / "exec_log_on.rego").read_text()


def by(doc, **want):
    return [f for f in doc["findings"] if all(f.get(k) == v for k, v in want.items())]


def test_deployment_policy_findings_point_at_the_template_annotation(tmp_path, scan_json):
    f = tmp_path / "d.yaml"
    f.write_text(f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    metadata:
      annotations:
        {POLICY}: "{b64(EXEC_LOG_ON)}"
    spec:
      runtimeClassName: kata-remote
      containers:
      - name: app
        image: x
{SAFE}""")
    code, doc = scan_json(f)
    assert code == 1
    for control in ("ExecProcessRequest", "ReadStreamRequest"):
        [hit] = by(doc, control=control)
        assert (hit["line"], hit["column"]) == (9, 9)
        assert hit["severity"] == "error"
        assert hit["path"] == f'spec.template.metadata.annotations["{POLICY}"]'
        assert "annotation" in hit["message"]
    assert by(doc, control="agentPolicySource", rule="kata-policy-annotation-unattested")
    assert not by(doc, control="SetPolicyRequest")


def test_cronjob_initdata_findings_point_at_the_job_template(tmp_path, scan_json):
    f = tmp_path / "c.yaml"
    f.write_text(f"""apiVersion: batch/v1
kind: CronJob
metadata:
  name: job
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          annotations:
            {INITDATA}: "{initdata(EXEC_LOG_ON)}"
        spec:
          runtimeClassName: kata-remote
          restartPolicy: Never
          containers:
          - name: job
            image: x
""")
    code, doc = scan_json(f)
    [hit] = by(doc, control="ExecProcessRequest")
    assert (hit["line"], hit["column"]) == (12, 13)
    assert hit["path"].startswith("spec.jobTemplate.spec.template.metadata.annotations")
    assert "initdata" in hit["message"]
    assert by(doc, rule="kata-initdata-digest")


@pytest.mark.parametrize("value, rule", [
    (b64("package agent_policy\n\n").rstrip("="), "kata-policy-encoding"),  # unpadded
    (base64.urlsafe_b64encode(b"\xfb\xff" * 30).decode(), "kata-policy-encoding"),  # URL-safe alphabet
])
def test_undecodable_policy_annotation_is_a_finding_at_the_annotation(tmp_path, scan_json, value, rule):
    f = tmp_path / "p.yaml"
    f.write_text(f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    {POLICY}: \"{value}\"\n"
                 "spec:\n  containers: [{name: c, image: x}]\n")
    code, doc = scan_json(f)
    [hit] = by(doc, rule=rule)
    assert hit["control"] == "agentPolicyEncoding" and hit["line"] == 6 and hit["severity"] == "error"


def test_peer_pods_configmap_initdata(tmp_path, scan_json):
    f = tmp_path / "cm.yaml"
    f.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: peer-pods-cm\n  namespace: openshift-sandboxed-containers-operator\n"
                 f"data:\n  CLOUD_PROVIDER: azure\n  INITDATA: {initdata(EXEC_LOG_ON)}\n")
    code, doc = scan_json(f)
    [hit] = by(doc, control="ExecProcessRequest")
    assert hit["line"] == 8 and hit["object"]["kind"] == "ConfigMap"
    assert "ConfigMap" in hit["message"]


def test_both_carriers_with_setpolicy_denied_means_the_pod_cannot_start(tmp_path, scan_json):
    deny = "package agent_policy\ndefault SetPolicyRequest := false\ndefault CreateSandboxRequest := true\n"
    f = tmp_path / "both.yaml"
    f.write_text(f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
                 f"    {INITDATA}: \"{initdata(deny)}\"\n    {POLICY}: \"{b64(EXEC_LOG_ON)}\"\n"
                 "spec:\n  containers: [{name: c, image: x}]\n")
    code, doc = scan_json(f)
    [hit] = by(doc, rule="kata-policy-rejected")
    assert hit["line"] == 7
    assert not by(doc, control="ExecProcessRequest")  # that policy never takes effect


def test_annotation_on_controller_metadata_has_no_effect(tmp_path, scan_json):
    f = tmp_path / "d.yaml"
    f.write_text(f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  annotations:\n"
                 f"    {POLICY}: \"{b64(EXEC_LOG_ON)}\"\nspec:\n  template:\n    spec:\n      containers: [{{name: c, image: x}}]\n")
    code, doc = scan_json(f)
    [hit] = by(doc, rule="kata-annotation-misplaced")
    assert hit["line"] == 6
    assert not by(doc, control="ExecProcessRequest")


# ------------------------------------------------------------------ runtime class placement

CONFIG = """runtimeClasses:
  namespaces:
    "confidential-*": {allowed: [kata-remote], required: true}
    "kube-*": {}
    "*": {allowed: [runc]}
"""


def pod(namespace: str | None, runtime_class: str | None, extra_container: str = "") -> str:
    ns = f"  namespace: {namespace}\n" if namespace else ""
    rc = f"  runtimeClassName: {runtime_class}\n" if runtime_class else ""
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n{ns}spec:\n{rc}  containers:\n  - name: c\n    image: x\n"
            + extra_container)


@pytest.mark.parametrize("namespace, rc, rule, line", [
    ("confidential-a", None, "runtime-class-required", 6),  # at `spec:`
    ("confidential-a", "runc", "runtime-class-not-allowed", 7),  # at runtimeClassName
    ("confidential-a", "kata-remote", None, None),
    ("web", "kata-remote", "runtime-class-not-allowed", 7),
    (None, "kata-remote", "runtime-class-not-allowed", 6),  # no namespace: "default" matches "*"
    ("kube-system", "anything", None, None),  # a pattern with no `allowed` allows any class
])
def test_runtime_class_placement(tmp_path, scan_json, namespace, rc, rule, line):
    (tmp_path / ".kubelint-cc.yaml").write_text(CONFIG)
    (tmp_path / "p.yaml").write_text(pod(namespace, rc))
    code, doc = scan_json(tmp_path)
    hits = by(doc, control="runtimeClassName")
    if rule is None:
        assert hits == []
    else:
        [hit] = hits
        assert hit["rule"] == rule and hit["line"] == line and hit["severity"] == "error"


def test_default_namespace_comes_from_config(tmp_path, scan_json):
    (tmp_path / ".kubelint-cc.yaml").write_text(CONFIG + "  defaultNamespace: confidential-x\n")
    (tmp_path / "p.yaml").write_text(pod(None, None))
    code, doc = scan_json(tmp_path)
    assert [f["rule"] for f in by(doc, control="runtimeClassName")] == ["runtime-class-required"]


# ------------------------------------------------------------------ peer-pod accounting

RESOURCES = "    resources:\n      limits: {cpu: '1'}\n"
VM = "    resources:\n      limits: {kata.peerpods.io/vm: '1'}\n"


@pytest.mark.parametrize("namespace, container, rule, severity", [
    ("kube-system", "", "peer-pod-accounting", "warning"),
    ("openshift-monitoring", RESOURCES, "peer-pod-accounting", "warning"),
    ("kube-system", VM, None, None),
    ("apps", RESOURCES, "peer-pod-resources-removed", "note"),
    ("apps", "", None, None),
])
def test_peer_pod_accounting(tmp_path, scan_json, namespace, container, rule, severity):
    (tmp_path / "p.yaml").write_text(pod(namespace, "kata-remote", container))
    code, doc = scan_json(tmp_path / "p.yaml")
    hits = by(doc, control="peerPodAccounting")
    if rule is None:
        assert hits == []
    else:
        [hit] = hits
        assert hit["rule"] == rule and hit["severity"] == severity


def test_peer_pod_classes_and_skipped_namespaces_are_configurable(tmp_path, scan_json):
    (tmp_path / ".kubelint-cc.yaml").write_text(
        "peerPods:\n  runtimeClasses: [my-peer]\n  webhookSkippedNamespaces: [infra]\n")
    (tmp_path / "a.yaml").write_text(pod("infra", "my-peer"))
    (tmp_path / "b.yaml").write_text(pod("kube-system", "kata-remote"))
    code, doc = scan_json(tmp_path)
    [hit] = by(doc, control="peerPodAccounting")
    assert hit["file"].endswith("a.yaml")
