"""Suppressions (annotation and comment), config discovery/validation, --fail-on."""
import json
import textwrap

import pytest

PRIV_POD = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata:
      name: p
      namespace: ns
    spec:
      containers:
      - name: c
        image: x
        securityContext:
          privileged: true
    """)


def by(doc, **want):
    return [f for f in doc["findings"] if all(f.get(k) == v for k, v in want.items())]


def test_annotation_suppression_keeps_finding_marked_and_exit_clean(tmp_path, scan_json):
    f = tmp_path / "p.yaml"
    f.write_text(PRIV_POD.replace("  namespace: ns\n", "  namespace: ns\n  annotations:\n"
                                  "    kubelint-cc.io/ignore: privileged,pss-host-ports CNI agent needs it\n"))
    code, doc = scan_json("--pss-level", "baseline", f)
    [hit] = by(doc, control="privileged")
    assert hit["suppressed"] == {"kind": "annotation", "justification": "CNI agent needs it"}
    assert code == 0


def test_template_annotation_suppresses_in_a_controller(tmp_path, scan_json):
    f = tmp_path / "d.yaml"
    f.write_text(textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          template:
            metadata:
              annotations: {kubelint-cc.io/ignore: pss-privileged}
            spec:
              containers:
              - name: c
                image: x
                securityContext: {privileged: true}
        """))
    code, doc = scan_json("--pss-level", "baseline", f)
    assert by(doc, control="privileged")[0]["suppressed"]["kind"] == "annotation"
    assert code == 0


@pytest.mark.parametrize("placement", ["same line", "line above"])
def test_comment_suppression(tmp_path, scan_json, placement):
    text = PRIV_POD
    if placement == "same line":
        text = text.replace("privileged: true", "privileged: true  # kubelint-cc: ignore privileged debug only")
    else:
        text = text.replace("      privileged: true", "      # kubelint-cc: ignore privileged debug only\n"
                                                     "      privileged: true")
    f = tmp_path / "p.yaml"
    f.write_text(text)
    code, doc = scan_json("--pss-level", "baseline", f)
    [hit] = by(doc, control="privileged")
    assert hit["suppressed"] == {"kind": "comment", "justification": "debug only"}
    assert code == 0


def test_comment_for_another_rule_does_not_suppress(tmp_path, scan_json):
    f = tmp_path / "p.yaml"
    f.write_text(PRIV_POD.replace("privileged: true", "privileged: true  # kubelint-cc: ignore hostPorts"))
    code, doc = scan_json("--pss-level", "baseline", f)
    assert "suppressed" not in by(doc, control="privileged")[0]
    assert code == 1


def test_unknown_rule_in_suppression_is_an_input_error(tmp_path, scan_json):
    f = tmp_path / "p.yaml"
    f.write_text(PRIV_POD.replace("privileged: true", "privileged: true  # kubelint-cc: ignore privileged,no-such-rule")
                 .replace("  namespace: ns\n", "  namespace: ns\n  annotations: {kubelint-cc.io/ignore: privilegd}\n"))
    code, doc = scan_json("--pss-level", "baseline", f)
    assert code == 2  # a misspelt name must not silently suppress nothing
    errors = sorted((e["line"], e["message"]) for e in doc["errors"])
    assert errors == [
        (6, "kubelint-cc.io/ignore annotation: unknown rule or control 'privilegd' (did you mean `privileged`?)"),
        (12, "ignore comment: unknown rule or control 'no-such-rule' (`kubelint-cc rules` lists them)")]
    assert all(e["file"] == str(f) for e in doc["errors"])
    assert by(doc, control="privileged")[0]["suppressed"]["kind"] == "comment"  # the known name still works


@pytest.mark.parametrize("config, message", [
    ("rules:\n  select: [privilegd]\n",
     ".kubelint-cc.yaml:2:12: rules.select.0: unknown rule or control 'privilegd' (did you mean `privileged`?)"),
    ("rules:\n  ignore: [hostPorts, pss-host-port]\n",
     ".kubelint-cc.yaml:2:23: rules.ignore.1: unknown rule or control 'pss-host-port' (did you mean `pss-host-ports`?)"),
    ("rules:\n  severity:\n    runasnonroot: error\n",
     ".kubelint-cc.yaml:3:5: rules.severity.runasnonroot: unknown rule or control 'runasnonroot' "
     "(did you mean `runAsNonRoot`?)"),
])
def test_unknown_rule_in_config_is_an_error(tmp_path, run, config, message):
    (tmp_path / ".kubelint-cc.yaml").write_text(config)
    (tmp_path / "p.yaml").write_text(PRIV_POD)
    proc = run("scan", tmp_path)
    assert proc.returncode == 2 and proc.stdout == b""
    assert message in proc.stderr.decode(), proc.stderr.decode()


def test_config_selects_ignores_and_overrides(tmp_path, scan_json):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""\
        [project]
        name = "x"
        [tool.kubelint-cc]
        pss = {level = "baseline"}
        rules = {ignore = ["hostPorts"], severity = {privileged = "warning"}}
        exclude = ["vendor/*"]
        """))
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "v.yaml").write_text(PRIV_POD)
    (tmp_path / "p.yaml").write_text(PRIV_POD.replace("    securityContext:", "    ports: [{containerPort: 1, hostPort: 1}]\n    securityContext:"))
    code, doc = scan_json(tmp_path)
    assert {f["file"].rsplit("/", 1)[-1] for f in doc["findings"]} == {"p.yaml"}
    assert [f["control"] for f in doc["findings"]] == ["privileged"]  # baseline only, hostPorts ignored
    assert doc["findings"][0]["severity"] == "warning"


@pytest.mark.parametrize("config, message", [
    ("rules:\n  ignorre: [x]\n", ".kubelint-cc.yaml:2:3: rules.ignorre: unknown key 'ignorre'"),
    ("pss:\n  level: strict\n", ".kubelint-cc.yaml:2:3: pss.level:"),
    ("rules:\n  severity: {privileged: fatal}\n", ".kubelint-cc.yaml:2:14: rules.severity.privileged:"),
    ("exclude: vendor\n", ".kubelint-cc.yaml:1:1: exclude: 'vendor' is not of type 'array'"),
    ("pss: [\n", "invalid YAML"),
])
def test_bad_config_is_a_clear_error(tmp_path, run, config, message):
    (tmp_path / ".kubelint-cc.yaml").write_text(config)
    (tmp_path / "p.yaml").write_text(PRIV_POD)
    proc = run("scan", tmp_path)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert message in err, err
    assert "Traceback" not in err


def test_explicit_config_flag_and_missing_file(tmp_path, run, scan_json):
    cfg = tmp_path / "elsewhere.yaml"
    cfg.write_text("rules: {select: [hostNamespaces]}\n")
    (tmp_path / "p.yaml").write_text(PRIV_POD)
    code, doc = scan_json("--config", cfg, tmp_path / "p.yaml")
    assert doc["findings"] == [] and code == 0
    proc = run("scan", "--config", tmp_path / "nope.yaml", tmp_path)
    assert proc.returncode == 2 and b"not found" in proc.stderr


@pytest.mark.parametrize("fail_on, code", [("error", 0), ("warning", 1), ("never", 0)])
def test_fail_on(tmp_path, run, fail_on, code):
    f = tmp_path / "p.yaml"  # only restricted (warning) findings
    f.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n")
    assert run("scan", "--fail-on", fail_on, f).returncode == code


def test_namespace_labels_set_level_and_version(tmp_path, scan_json):
    (tmp_path / "ns.yaml").write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: Namespace
        metadata:
          name: legacy
          labels:
            pod-security.kubernetes.io/enforce: baseline
            pod-security.kubernetes.io/enforce-version: v1.0
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: open
          labels: {pod-security.kubernetes.io/enforce: privileged}
        """))
    (tmp_path / "a.yaml").write_text(PRIV_POD.replace("namespace: ns", "namespace: legacy"))
    (tmp_path / "b.yaml").write_text(PRIV_POD.replace("namespace: ns", "namespace: open"))
    code, doc = scan_json(tmp_path)
    assert {(f["file"].rsplit("/", 1)[-1], f["level"]) for f in doc["findings"]} == {("a.yaml", "baseline")}
    code, doc = scan_json("--pss-level", "restricted", tmp_path)  # an explicit flag beats the labels
    assert {f["file"].rsplit("/", 1)[-1] for f in doc["findings"]} == {"a.yaml", "b.yaml"}


SUPPRESSED_POD = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata:
      name: p
      annotations: {kubelint-cc.io/ignore: "hostPorts legacy LB, see TICKET-1"}
    spec:
      hostNetwork: true
      containers:
      - name: app
        image: nginx
        ports: [{containerPort: 80, hostPort: 80}]
        securityContext:
          privileged: true  # kubelint-cc: ignore privileged node agent,  really
    """)


def test_suppressed_findings_are_counted_apart_and_hidden_from_text(tmp_path, run, scan_json):
    f = tmp_path / "p.yaml"
    f.write_text(SUPPRESSED_POD)
    proc = run("scan", "--pss-level", "baseline", f)
    out = proc.stdout.decode().splitlines()
    assert proc.returncode == 1
    assert out[-1] == "1 finding (1 error), 2 suppressed in 1 file (1 object)"
    findings = [line for line in out if line.startswith(str(f))]
    assert len(findings) == 1 and "[pss-host-namespaces]" in findings[0]
    shown = run("scan", "--pss-level", "baseline", "--show-suppressed", f).stdout.decode().splitlines()
    assert [line.split(": ", 1)[1].split(" ", 2)[:2] for line in shown if line.startswith(str(f))] == [
        ["error:", "[pss-host-namespaces]"], ["suppressed:", "[pss-host-ports]"], ["suppressed:", "[pss-privileged]"]]
    assert shown[1].endswith("(Pod p); reason: legacy LB, see TICKET-1")
    code, doc = scan_json("--pss-level", "baseline", f)
    assert doc["summary"]["findings"] == 1 and doc["summary"]["suppressed"] == 2
    assert doc["summary"]["by_severity"] == {"error": 1}
    assert len(doc["findings"]) == 3  # suppressed ones stay in the report, marked


def test_suppression_reasons_keep_the_users_words(tmp_path, scan_json):
    f = tmp_path / "p.yaml"
    f.write_text(SUPPRESSED_POD)
    _, doc = scan_json("--pss-level", "baseline", f)
    reasons = {x["control"]: x["suppressed"]["justification"] for x in doc["findings"] if "suppressed" in x}
    assert reasons == {"hostPorts": "legacy LB, see TICKET-1", "privileged": "node agent,  really"}


@pytest.mark.parametrize("toml, message", [
    ('[tool.kubelint-cc]\npss = {level = "baseline", version = "1.29"}\n',
     'pyproject.toml:2:28: [tool.kubelint-cc].pss.version: \'1.29\' is not valid: expected "latest" or v1.N'),
    ('[project]\nname = "x"\n\n[tool.kubelint-cc.rules]\nselect = [\n  "hostPorts",\n  "privilegd",\n]\n',
     "pyproject.toml:7:3: [tool.kubelint-cc].rules.select[1]: unknown rule or control 'privilegd' "
     "(did you mean `privileged`?)"),
    ('[tool.kubelint-cc]\nrules.severity = {runAsNonRoot = "fatal"}\n',
     "pyproject.toml:2:19: [tool.kubelint-cc].rules.severity.runAsNonRoot: 'fatal' is not one of"),
    ('[tool.kubelint-cc]\nexclude = [1,,]\n', "pyproject.toml:2:14: invalid TOML: Invalid value"),
    ('[tool.kubelint-cc]\nexclude = [1\n', "pyproject.toml:3:1: invalid TOML: Unclosed array"),
])
def test_pyproject_config_errors_name_line_and_column(tmp_path, run, toml, message):
    (tmp_path / "pyproject.toml").write_text(toml)
    (tmp_path / "p.yaml").write_text(PRIV_POD)
    proc = run("scan", tmp_path)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert message in err, err
    assert "^(" not in err  # no regular expression
