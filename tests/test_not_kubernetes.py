"""YAML and JSON that are not Kubernetes are skipped without a word; what claims to be an
object and cannot be one stays an error; a stray Helm template gets one hint."""
from pathlib import Path

from conftest import FIXTURES

NOT_K8S = FIXTURES / "not-kubernetes"
REPO = Path(__file__).parent.parent


def test_lists_scalars_and_plain_mappings_are_skipped(scan_json):
    names = ["playbook.yml", "json6902-patch.json", "json6902-patch.yaml", "scalar.yaml", "values.yaml"]
    code, doc = scan_json(*(NOT_K8S / n for n in names))
    assert code == 0, doc["errors"]
    assert doc["errors"] == [] and doc["findings"] == []
    assert doc["summary"]["files"] == 5 and doc["summary"]["objects"] == 0


def test_the_repositorys_own_hook_definitions_are_skipped(scan_json):
    code, doc = scan_json(REPO / ".pre-commit-hooks.yaml")
    assert code == 0 and doc["errors"] == [], doc


def test_half_objects_stay_errors(scan_json):
    code, doc = scan_json(NOT_K8S / "no-kind.yaml", NOT_K8S / "wrong-kind.json")
    assert code == 2
    assert [(Path(e["file"]).name, e["line"], e["message"]) for e in doc["errors"]] == [
        ("no-kind.yaml", 1, "document has apiVersion but no kind: not a valid Kubernetes object"),
        ("wrong-kind.json", 1, "document has an invalid kind: must be a non-empty string, got a list")]


def test_a_helm_template_outside_a_chart_gets_one_hint(scan_json):
    code, doc = scan_json(NOT_K8S / "helm-template.yaml")
    assert code == 2
    [error] = doc["errors"]
    assert (error["line"], error["column"]) == (5, 1)  # the first {{ ... }}
    assert error["message"].startswith("Helm template syntax ({{ ... }}), not YAML: render it")
    assert "exclude it" in error["message"] and "YAML syntax error" not in error["message"]
    assert doc["findings"] == []


def test_template_syntax_inside_valid_yaml_is_just_text(scan_json, tmp_path):
    # Argo Workflows and Prometheus rules carry {{ }} in strings: valid YAML, no hint.
    (tmp_path / "pod.yaml").write_text(
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {summary: "{{ $labels.instance }}"}\n'
        "spec:\n  hostNetwork: true\n  containers: [{name: c, image: x}]\n")
    code, doc = scan_json("--pss-level", "baseline", tmp_path / "pod.yaml")
    assert doc["errors"] == [] and [f["line"] for f in doc["findings"]] == [7]


# ------------------------------------------------------------ nothing scanned

def test_no_kubernetes_objects_is_a_warning_not_a_failure(run, tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run("scan", tmp_path / "empty", NOT_K8S / "playbook.yml")
    assert proc.returncode == 0
    assert proc.stderr.decode() == (f"kubelint-cc: warning: no Kubernetes objects found in {tmp_path / 'empty'}, "
                                    f"{NOT_K8S / 'playbook.yml'}\n")
    assert proc.stdout.decode() == "0 findings in 1 file (0 objects)\n"


def test_objects_of_any_kind_count(run, tmp_path):
    (tmp_path / "svc.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n"
                                       "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap}\n")
    proc = run("scan", tmp_path)
    assert proc.returncode == 0 and proc.stderr == b""
    assert proc.stdout.decode() == "0 findings in 1 file (2 objects)\n"


def test_many_paths_are_shortened_in_the_warning(run):
    files = [NOT_K8S / n for n in ("playbook.yml", "scalar.yaml", "values.yaml", "json6902-patch.yaml")]
    proc = run("scan", "--format", "json", *files)
    assert proc.returncode == 0 and proc.stderr.decode().endswith(f"{files[2]} and 1 more\n")
