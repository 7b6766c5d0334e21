"""The cluster's PodSecurity configuration and the three PSA modes (enforce, warn, audit)."""
import json

import pytest

ADMISSION = """apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/{version}
    kind: PodSecurityConfiguration
    defaults:
      enforce: baseline
      warn: restricted
      warn-version: v1.30
    exemptions:
      runtimeClasses: [kata-remote]
      namespaces: [kube-system]
      usernames: ["system:serviceaccount:ci:deployer"]
"""

PODS = """apiVersion: v1
kind: Pod
metadata:
  name: peer
  namespace: apps
spec:
  runtimeClassName: kata-remote
  hostNetwork: true
  containers:
  - name: c
    image: x
---
apiVersion: v1
kind: Pod
metadata:
  name: plain
  namespace: apps
spec:
  hostNetwork: true
  containers:
  - name: c
    image: x
---
apiVersion: v1
kind: Pod
metadata:
  name: system
  namespace: kube-system
spec:
  hostNetwork: true
  containers:
  - name: c
    image: x
"""


def _findings(doc, name):
    return [(f["rule"], f["severity"], f.get("modes")) for f in doc["findings"] if f["object"]["name"] == name]


@pytest.mark.parametrize("version", ["v1", "v1beta1", "v1alpha1"])
def test_admission_config_defaults_and_exemptions(run, tmp_path, version):
    (tmp_path / "admission.yaml").write_text(ADMISSION.format(version=version))
    (tmp_path / "pods.yaml").write_text(PODS)
    proc = run("scan", "--format", "json", "--admission-config", tmp_path / "admission.yaml", tmp_path / "pods.yaml")
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and not doc["errors"]
    (note,) = _findings(doc, "peer")
    assert note == ("pss-exempt", "note", None)
    assert "exemptions.runtimeClasses" in doc["findings"][0]["message"]
    assert _findings(doc, "system") == [("pss-exempt", "note", None)]
    plain = _findings(doc, "plain")
    assert ("pss-host-namespaces", "error", ["enforce", "warn"]) in plain      # baseline: enforced
    assert ("pss-run-as-non-root", "warning", ["warn"]) in plain                # restricted only: a warning
    assert all(sev == "warning" for rule, sev, modes in plain if "enforce" not in modes)
    assert "usernames (1) cannot apply to files" in proc.stderr.decode()


def test_namespace_labels_in_every_mode(run, tmp_path):
    (tmp_path / "ns.yaml").write_text("""apiVersion: v1
kind: Namespace
metadata:
  name: apps
  labels:
    pod-security.kubernetes.io/enforce: baseline
    pod-security.kubernetes.io/warn: restricted
    pod-security.kubernetes.io/audit: restricted
    pod-security.kubernetes.io/audit-version: v1.20
""")
    (tmp_path / "pods.yaml").write_text(PODS.split("---\n")[1])
    proc = run("scan", "--format", "json", tmp_path)
    doc = json.loads(proc.stdout)
    by_rule = {f["rule"]: f for f in doc["findings"]}
    assert by_rule["pss-host-namespaces"]["severity"] == "error"
    assert by_rule["pss-host-namespaces"]["modes"] == ["enforce", "warn", "audit"]
    # allowPrivilegeEscalation is restricted since v1.8: warn (latest) and audit (v1.20) both see it;
    # capabilities_restricted arrived in v1.22, so only warn does.
    assert by_rule["pss-allow-privilege-escalation"]["modes"] == ["warn", "audit"]
    assert by_rule["pss-capabilities-restricted"]["modes"] == ["warn"]
    assert by_rule["pss-capabilities-restricted"]["severity"] == "warning"
    assert "PSA warn mode: restricted latest" in by_rule["pss-capabilities-restricted"]["message"]
    sarif = json.loads(run("scan", "--format", "sarif", tmp_path).stdout)
    modes = [r["properties"].get("modes") for r in sarif["runs"][0]["results"]]
    assert ["warn"] in modes and ["enforce", "warn", "audit"] in modes


def test_flags_override_enforce_only(run, tmp_path):
    (tmp_path / "admission.yaml").write_text(ADMISSION.format(version="v1"))
    (tmp_path / "pods.yaml").write_text(PODS.split("---\n")[1])
    proc = run("scan", "--format", "json", "--pss-level", "restricted", "--admission-config",
               tmp_path / "admission.yaml", tmp_path / "pods.yaml")
    doc = json.loads(proc.stdout)
    assert {f["severity"] for f in doc["findings"]} == {"error", "warning"}
    assert all("enforce" in f["modes"] for f in doc["findings"])


@pytest.mark.parametrize("text, where, message", [
    ("apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n"
     "  configuration:\n    apiVersion: pod-security.admission.config.k8s.io/v2\n    kind: PodSecurityConfiguration\n",
     ":6:5:", "unknown apiVersion"),
    ("apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n"
     "defaults:\n  enforce: strict\n", ":4:3:", "enforce must be one of privileged, baseline, restricted"),
    ("apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n"
     "defaults:\n  warn-version: 1.30\n", ":4:3:", "warn-version must be"),
    ("apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: Other\n",
     ":3:1:", "no PodSecurity plugin"),
    ("kind: [\n", ":", "invalid YAML"),
])
def test_malformed_admission_config_is_an_error_with_its_position(run, tmp_path, text, where, message):
    (tmp_path / "admission.yaml").write_text(text)
    (tmp_path / "pods.yaml").write_text(PODS)
    proc = run("scan", "--admission-config", tmp_path / "admission.yaml", tmp_path / "pods.yaml")
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err
    assert f"admission.yaml{where}" in err and message in err, err


def test_plugin_path_and_bare_pod_security_configuration(run, tmp_path):
    (tmp_path / "psc.yaml").write_text("apiVersion: pod-security.admission.config.k8s.io/v1\n"
                                       "kind: PodSecurityConfiguration\nexemptions:\n  namespaces: [apps]\n")
    (tmp_path / "admission.yaml").write_text("apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\n"
                                             "plugins:\n- name: PodSecurity\n  path: psc.yaml\n")
    (tmp_path / "pods.yaml").write_text(PODS.split("---\n")[1])
    for conf in ("admission.yaml", "psc.yaml"):
        doc = json.loads(run("scan", "--format", "json", "--admission-config", tmp_path / conf,
                             tmp_path / "pods.yaml").stdout)
        assert [f["rule"] for f in doc["findings"]] == ["pss-exempt"]


def test_config_key_names_the_admission_config(run, tmp_path):
    (tmp_path / "cluster").mkdir()
    (tmp_path / "cluster" / "admission.yaml").write_text(ADMISSION.format(version="v1"))
    (tmp_path / ".kubelint-cc.yaml").write_text("pss:\n  admissionConfig: cluster/admission.yaml\n")
    (tmp_path / "pods.yaml").write_text(PODS)
    doc = json.loads(run("scan", "--format", "json", "pods.yaml", cwd=tmp_path).stdout)
    assert [f["rule"] for f in doc["findings"] if f["object"]["name"] == "peer"] == ["pss-exempt"]


KYVERNO_POD = """apiVersion: v1
kind: Pod
metadata:
  name: agent
spec:
  hostNetwork: true
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: agent
    image: ghcr.io/acme/agent:1.2
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {add: [NET_ADMIN], drop: [ALL]}
  - name: app
    image: docker.io/library/nginx:1.27
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {add: [NET_ADMIN], drop: [ALL]}
"""


@pytest.mark.parametrize("exclude, expected", [
    ("[]", {("pss-capabilities-baseline", 13), ("pss-capabilities-baseline", 18), ("pss-host-namespaces", 6)}),
    # container-level: only the agent image is exempted
    ('[{controlName: Capabilities, images: ["ghcr.io/acme/*"]}]',
     {("pss-capabilities-baseline", 18), ("pss-host-namespaces", 6)}),
    # pod-level part of a control: no images
    ("[{controlName: Host Namespaces}]", {("pss-capabilities-baseline", 13), ("pss-capabilities-baseline", 18)}),
    # images on a pod-level control exempt nothing at the pod level
    ('[{controlName: Host Namespaces, images: ["*"]}]',
     {("pss-capabilities-baseline", 13), ("pss-capabilities-baseline", 18), ("pss-host-namespaces", 6)}),
])
def test_kyverno_exclusions_by_image(run, tmp_path, exclude, expected):
    (tmp_path / ".kubelint-cc.yaml").write_text(f"pss:\n  kyvernoExclude: {exclude}\n")
    (tmp_path / "pod.yaml").write_text(KYVERNO_POD)
    doc = json.loads(run("scan", "--format", "json", "pod.yaml", cwd=tmp_path).stdout)
    assert {(f["rule"], f["line"]) for f in doc["findings"]} == expected


def test_kyverno_exclusion_fields_it_cannot_model_are_refused(run, tmp_path):
    (tmp_path / ".kubelint-cc.yaml").write_text(
        "pss:\n  kyvernoExclude:\n  - controlName: Capabilities\n    images: ['*']\n"
        "    restrictedField: spec.containers[*].securityContext.capabilities.add\n    values: [NET_ADMIN]\n")
    (tmp_path / "pod.yaml").write_text(KYVERNO_POD)
    proc = run("scan", "pod.yaml", cwd=tmp_path)
    assert proc.returncode == 2 and "restrictedField" in proc.stderr.decode()
