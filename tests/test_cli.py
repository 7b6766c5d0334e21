"""End-to-end behaviour of the installed CLI (subprocess runs)."""
import json
import os
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent.parent / "examples" / "deployment.yaml"


def test_example_deployment_findings_point_into_the_template(scan_json):
    code, doc = scan_json(EXAMPLE)
    assert code == 1
    by_control = {f["control"]: f for f in doc["findings"]}
    assert by_control["privileged"]["line"] == 20 and by_control["privileged"]["column"] == 13
    assert by_control["privileged"]["path"] == "spec.template.spec.containers[0].securityContext.privileged"
    assert by_control["hostNamespaces"]["line"] == 15
    assert by_control["hostPorts"]["line"] == 23
    assert by_control["privileged"]["object"] == {"kind": "Deployment", "namespace": "shop", "name": "web"}
    assert by_control["privileged"]["severity"] == "error" and by_control["privileged"]["level"] == "baseline"
    assert by_control["runAsNonRoot"]["severity"] == "warning"
    assert doc["summary"]["findings"] == len(doc["findings"])


def test_baseline_level_skips_restricted_controls(scan_json):
    code, doc = scan_json("--pss-level", "baseline", EXAMPLE)
    assert {f["level"] for f in doc["findings"]} == {"baseline"}


def test_text_output_is_compiler_style(run):
    proc = run("scan", EXAMPLE)
    assert proc.returncode == 1
    lines = proc.stdout.decode().splitlines()
    assert any(l.startswith(f"{EXAMPLE}:20:13: error: [pss-privileged] ") and l.endswith("(Deployment shop/web)")
               for l in lines), lines
    assert "finding" in lines[-1]


def test_stdin_and_clean_exit(run):
    pod = (b"apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  securityContext:\n"
           b"    runAsNonRoot: true\n    seccompProfile: {type: RuntimeDefault}\n  containers:\n"
           b"  - name: c\n    image: x\n    securityContext:\n      allowPrivilegeEscalation: false\n"
           b"      capabilities: {drop: [ALL]}\n")
    proc = run("scan", "-", input=pod)
    assert proc.returncode == 0, proc.stdout
    proc = run("scan", "--format", "json", "-", input=pod.replace(b"runAsNonRoot: true", b"runAsNonRoot: false"))
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["findings"][0]["file"] == "-"


def test_bad_version_is_a_usage_error(run):
    proc = run("scan", "--pss-version", "1.30", EXAMPLE)
    assert proc.returncode == 2
    assert b"v1.N" in proc.stderr


def test_unparsable_file_is_reported_and_rest_scanned(tmp_path, scan_json):
    (tmp_path / "bad.yaml").write_text("a: [unclosed\n")
    (tmp_path / "good.yaml").write_text(EXAMPLE.read_text())
    code, doc = scan_json(tmp_path)
    assert code == 2
    assert doc["errors"][0]["file"].endswith("bad.yaml") and doc["errors"][0]["line"]
    assert any(f["control"] == "privileged" for f in doc["findings"])


def test_list_items_are_scanned_and_a_bad_items_field_is_an_error(tmp_path, scan_json):
    f = tmp_path / "list.yaml"
    f.write_text("apiVersion: v1\nkind: List\nitems: {a: 1}\n---\napiVersion: v1\nkind: List\nitems:\n"
                 "- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    hostPID: true\n"
                 "    containers: [{name: c, image: x}]\n")
    code, doc = scan_json("--pss-level", "baseline", f)
    assert code == 2
    assert [(e["line"], e["message"]) for e in doc["errors"]] == [(3, "invalid List: items must be a list")]
    [hit] = doc["findings"]
    assert (hit["control"], hit["line"], hit["path"]) == ("hostNamespaces", 12, "items[0].spec.hostPID")


def test_text_lines_findings_and_input_errors_share_one_format(tmp_path, run):
    import re
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n"
                                       "  containers: [{name: c, image: x}]\n---\nkind: Pod\n  x: [\n")
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "nowhere")
    lines = run("scan", "--pss-level", "baseline", tmp_path).stdout.decode().splitlines()
    # One regular expression, as a CI problem matcher would use it (README), reads them all.
    matcher = re.compile(r"^(.+?):(?:(\d+):(\d+):)? (error|warning|note): (?:\[([a-z0-9-]+)\] )?(.*)$")
    matched = sorted((m[0].rsplit("/", 1)[-1], m[1], m[3], m[4])
                     for m in (matcher.match(line).groups() for line in lines if line.startswith(str(tmp_path))))
    assert matched == [("bad.yaml", "5", "error", "pss-host-namespaces"), ("bad.yaml", "9", "error", None),
                       ("dangling.yaml", None, "error", None)]


def test_statistics_table_and_fixable_count(tmp_path, run):
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n  containers:\n"
        "  - {name: a, image: x, securityContext: {privileged: true}}\n  - {name: b, image: x}\n")
    out = run("scan", tmp_path).stdout.decode().splitlines()
    start = out.index(next(line for line in out if line.split() == ["count", "fixable", "rule", "severity", "title"]))
    table = [line.split()[:4] for line in out[start + 1:-2]]
    assert table == [["2", "1", "pss-allow-privilege-escalation", "warning"],
                     ["2", "2", "pss-capabilities-restricted", "warning"],
                     ["2", "2", "pss-run-as-non-root", "warning"],
                     ["2", "2", "pss-seccomp-profile-restricted", "warning"],
                     ["1", "0", "pss-host-namespaces", "error"],
                     ["1", "0", "pss-privileged", "error"]]
    assert out[-2] == "7 fixable with `kubelint-cc fix` (2 more with --unsafe-fixes)"
    assert out[-1] == "10 findings (2 errors, 8 warnings) in 1 file (1 object)"
    # The estimate is what fix then does.
    assert "would fix 7 findings in 1 file" in run("fix", "--diff", tmp_path).stderr.decode()
    quiet = run("scan", "-q", tmp_path)
    assert quiet.stdout.decode() == out[-1] + "\n" and quiet.returncode == 1


def test_select_and_ignore_on_the_command_line(tmp_path, run, scan_json):
    pod = tmp_path / "pod.yaml"
    pod.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n  containers:\n"
                   "  - {name: a, image: x, securityContext: {privileged: true}}\n")
    (tmp_path / ".kubelint-cc.yaml").write_text("rules: {select: [hostNamespaces], ignore: [runAsNonRoot]}\n")
    _, doc = scan_json(pod)
    assert {f["rule"] for f in doc["findings"]} == {"pss-host-namespaces"}
    _, doc = scan_json("--select", "privileged,pss-run-as-non-root", "--select", "hostNamespaces", pod)
    assert {f["rule"] for f in doc["findings"]} == {"pss-privileged", "pss-host-namespaces"}  # config ignore kept
    _, doc = scan_json("--select", "privileged", "--ignore", "pss-privileged", pod)
    assert doc["findings"] == []
    proc = run("scan", "--ignore", "hostPID", pod)
    assert proc.returncode == 2 and proc.stdout == b""
    assert b"--ignore: unknown rule or control 'hostPID' (did you mean `hostPorts`?)" in proc.stderr


@pytest.mark.parametrize("flag, env, coloured", [
    ("always", {}, True), ("never", {"FORCE_COLOR": "1"}, False), ("auto", {}, False),
    ("auto", {"FORCE_COLOR": "1"}, True), ("auto", {"CLICOLOR_FORCE": "1"}, True),
    ("auto", {"FORCE_COLOR": "0"}, False), ("auto", {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    ("always", {"NO_COLOR": "1"}, True),
])
def test_colour(tmp_path, run, flag, env, coloured):
    import os
    pod = tmp_path / "pod.yaml"
    pod.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n  containers: []\n")
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE")}
    out = run("scan", "--color", flag, pod, env={**base, **env}).stdout
    assert (b"\x1b[31merror\x1b[0m" in out) is coloured


@pytest.mark.parametrize("env, coloured", [({"TERM": "xterm"}, True), ({"TERM": "dumb"}, False),
                                           ({"TERM": "xterm", "NO_COLOR": "1"}, False)])
def test_colour_auto_on_a_terminal(env, coloured):
    import io
    from kubelint_cc import cli

    class Tty(io.StringIO):
        def isatty(self):
            return True
    saved = {k: os.environ.pop(k, None) for k in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "TERM")}
    try:
        os.environ.update(env)
        assert cli.use_colour("auto", Tty()) is coloured
    finally:
        for k in env:
            os.environ.pop(k, None)
        os.environ.update({k: v for k, v in saved.items() if v is not None})
