"""Helm: charts are rendered, and findings point into the template files (README, "Helm
charts").  The mapping is tested on a pre-rendered stream (no renderer needed); rendering
itself with whatever renderer is installed (helm-python-sdk or helm), else skipped."""
import json
import os

import pytest

from conftest import FIXTURES
from kubelint_cc.render import helm
from kubelint_cc.render.linemap import LineMap

HELM = FIXTURES / "helm"
STREAM = (HELM / "web.rendered.yaml").read_bytes()  # what `helm template` prints for tests/fixtures/helm/web
DEPLOYMENT = "web/templates/deployment.yaml"
CACHE = "web/charts/cache/templates/pod.yaml"

# (file under tests/fixtures/helm, line, column, container or "", exact?)
EXPECTED = [
    (CACHE, 6, 3, "", True),  # hostNetwork: {{ .Values.hostNetwork }}, in the sub-chart
    (DEPLOYMENT, 20, 13, "web", True),  # privileged: {{ .Values.privileged }}
    (DEPLOYMENT, 16, 7, "log", False),  # inside {{ range }}: one template line, two outputs -> containers:
    (DEPLOYMENT, 16, 7, "metrics", False),
    (DEPLOYMENT, 30, 11, "extra", False),  # toYaml of values -> the literal securityContext: above it
]

needs_renderer = pytest.mark.skipif(helm.renderer() is None, reason="no Helm renderer (kubelint-cc[helm] or helm)")


def placed(doc, base=HELM):
    out = []
    for f in sorted(doc["findings"], key=lambda f: (f["file"], f["path"])):
        container = f["message"].split('"')[1] if '"' in f["message"] else ""
        out.append((os.path.relpath(f["file"], base) if f["line"] else f["file"], f["line"], f["column"],
                    container, f.get("position") != "rendered"))
    return sorted(out)


def test_a_piped_stream_maps_to_template_lines_with_chart(scan_json):
    code, doc = scan_json("--pss-level", "baseline", "--chart", HELM / "web", "-", input=STREAM)
    assert doc["errors"] == [] and code == 1
    assert placed(doc) == sorted(EXPECTED)
    assert doc["summary"]["objects"] == 3


def test_the_chart_is_found_next_to_the_working_directory(scan_json):
    code, doc = scan_json("--pss-level", "baseline", "-", input=STREAM, cwd=HELM)
    assert placed(doc, base=".") == sorted(EXPECTED)


def test_without_the_chart_only_files_are_named(scan_json, tmp_path):
    code, doc = scan_json("--pss-level", "baseline", "-", input=STREAM, cwd=tmp_path)
    assert sorted((f["file"], f["line"], f.get("position")) for f in doc["findings"]) == sorted(
        [(CACHE, None, "rendered")] + [(DEPLOYMENT, None, "rendered")] * 4)


def test_text_and_sarif_point_into_the_templates(run, tmp_path):
    proc = run("scan", "--pss-level", "baseline", "--chart", HELM / "web", "-", input=STREAM)
    lines = proc.stdout.decode().splitlines()
    assert f"{HELM / 'web' / 'templates' / 'deployment.yaml'}:20:13: error: [pss-privileged]" \
           ' container "web" must not set securityContext.privileged=true (Deployment release-name-web)' in lines
    proc = run("scan", "--pss-level", "baseline", "--format", "sarif", "-", input=STREAM, cwd=tmp_path)
    results = json.loads(proc.stdout)["runs"][0]["results"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} == {
        "web/templates/deployment.yaml", "web/charts/cache/templates/pod.yaml"}
    # No line: none invented.  SARIF needs a region, so it is the whole file (its start, when
    # the file is not at hand, as here: the stream names templates of a chart elsewhere).
    assert all(r["locations"][0]["physicalLocation"]["region"] == {"startLine": 1} for r in results)
    assert all(r["properties"]["position"] == "rendered" for r in results)
    proc = run("scan", "--pss-level", "baseline", "--format", "sarif", "--chart", HELM / "web", "-", input=STREAM)
    regions = sorted((r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[1],
                      r["locations"][0]["physicalLocation"]["region"]["startLine"],
                      r["properties"].get("position")) for r in json.loads(proc.stdout)["runs"][0]["results"])
    assert regions == [("deployment.yaml", 16, "rendered"), ("deployment.yaml", 16, "rendered"),
                       ("deployment.yaml", 20, None), ("deployment.yaml", 30, "rendered"), ("pod.yaml", 6, None)]


# ------------------------------------------------------------ rendering charts

@needs_renderer
def test_a_chart_directory_is_rendered_and_mapped(scan_json):
    code, doc = scan_json("--pss-level", "baseline", HELM / "web")
    assert doc["errors"] == [] and code == 1
    assert placed(doc) == sorted(EXPECTED)


@needs_renderer
def test_charts_found_while_walking_are_rendered_not_read_file_by_file(scan_json, tmp_path):
    code, doc = scan_json("--pss-level", "baseline", "--helm-set", "image.tag=1", HELM)
    # Without rendering, deployment.yaml would be a Helm-syntax error; web.rendered.yaml is a plain file.
    assert doc["errors"] == [], doc["errors"]
    assert len([f for f in doc["findings"] if "templates" in f["file"]]) == 5


@needs_renderer
def test_a_required_value_is_an_error_at_its_template_line(scan_json):
    code, doc = scan_json(HELM / "required")
    assert code == 2
    assert [(os.path.relpath(e["file"], HELM), e["line"], e["message"]) for e in doc["errors"]] == [
        ("required/templates/pod.yaml", 8, "image.tag is required")]


@needs_renderer
def test_values_from_flags_and_config(scan_json, tmp_path):
    code, doc = scan_json("--helm-set", "image.tag=1.0", HELM / "required")
    assert doc["errors"] == [] and doc["summary"]["objects"] == 1
    values = tmp_path / "v.yaml"
    values.write_text("privileged: false\nsidecars: []\nextraSecurityContext: null\ncache: {hostNetwork: false}\n")
    code, doc = scan_json("--pss-level", "baseline", "--helm-values", values, HELM / "web")
    assert doc["findings"] == [] and doc["errors"] == [] and code == 0
    config = tmp_path / "c.yaml"
    config.write_text("helm:\n  values: [v.yaml]\n  set: [privileged=true]\n")
    code, doc = scan_json("--pss-level", "baseline", "--config", config, HELM / "web")
    assert [(f["line"], f["column"]) for f in doc["findings"]] == [(20, 13)]


def test_without_a_renderer_charts_are_skipped_and_said_so_once(run):
    env = dict(os.environ, KUBELINT_CC_HELM="none")
    proc = run("scan", "--format", "json", HELM / "web", HELM / "required", env=env)
    assert proc.returncode == 2
    errors = json.loads(proc.stdout)["errors"]
    assert [e["message"] for e in errors] == [helm.NO_RENDERER, "Helm chart not rendered (no Helm renderer, see above)"]
    assert "pip install 'kubelint-cc[helm]', or put helm on PATH" in helm.NO_RENDERER


# ------------------------------------------------------------ the line matcher

def _map(template: str, rendered: str) -> list:
    m = LineMap(template.splitlines(), rendered.splitlines())
    return [None if m.line(i) is None else m.line(i) + 1 for i in range(len(rendered.splitlines()))]


def test_literal_lines_map_and_values_do_not():
    template = "a:\n  b: {{ .Values.b }}\n  {{- toYaml .Values.c | nindent 2 }}\n  d: 1\n"
    rendered = "a:\n  b: x\n  c: 2\n  d: 1\n"
    assert _map(template, rendered) == [1, 2, None, 4]


def test_a_key_in_range_is_ambiguous_but_its_literal_neighbour_is_not():
    template = "l:\n{{- range .x }}\n- n: {{ . }}\n{{- end }}\n- n: last\n"
    rendered = "l:\n- n: a\n- n: b\n- n: last\n"
    assert _map(template, rendered) == [1, None, None, 5]


def test_a_key_from_values_next_to_the_same_literal_key_is_ambiguous():
    template = "c:\n- s:\n    p: {{ .p }}\n- s:\n    {{- toYaml .s | nindent 4 }}\n"
    rendered = "c:\n- s:\n    p: true\n- s:\n    p: true\n"
    assert _map(template, rendered) == [1, 2, 3, 4, None]


def test_a_templated_key_is_a_parent_too():
    template = "{{ .k }}:\n  p: true\n{{ .j }}: {{ .v }}\n"
    rendered = "x:\n  p: true\ny: 1\n"
    assert _map(template, rendered) == [1, 2, 3]
    two = "{{ .k }}:\n  p: true\n{{ .j }}:\n  p: true\n"
    assert _map(two, "x:\n  p: true\n") == [None, None]  # two candidates, one line: ambiguous


@needs_renderer
def test_a_template_named_alone_stands_for_its_chart(scan_json):
    """pre-commit passes the changed files: a template or values.yaml means its (outermost) chart."""
    code, doc = scan_json("--pss-level", "baseline", HELM / "web" / "charts" / "cache" / "templates" / "pod.yaml",
                          HELM / "web" / "values.yaml")
    assert doc["errors"] == [] and placed(doc) == sorted(EXPECTED)


# ------------------------------------------------------------ the helm binary, stood in for

FAKE_HELM = """#!{python}
import sys
open({log!r}, "a").write(" ".join(sys.argv[1:]) + "\\n")
if "fail=true" in sys.argv:
    sys.stderr.write("Error: execution error at (web/templates/deployment.yaml:20:25): privileged is required\\n")
    sys.exit(1)
sys.stdout.write(open({stream!r}).read())
"""


@pytest.fixture
def fake_helm(tmp_path):
    """A `helm` on PATH that prints the pre-rendered stream (this machine has no helm)."""
    bin_dir, log = tmp_path / "bin", tmp_path / "helm.log"
    bin_dir.mkdir()
    import sys
    (bin_dir / "helm").write_text(FAKE_HELM.format(python=sys.executable, log=str(log),
                                                   stream=str(HELM / "web.rendered.yaml")))
    (bin_dir / "helm").chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", KUBELINT_CC_HELM="binary")
    return env, log


def test_the_helm_binary_renders_with_the_values_given(run, fake_helm, tmp_path):
    env, log = fake_helm
    values = tmp_path / "prod.yaml"
    values.write_text("{}\n")
    proc = run("scan", "--format", "json", "--pss-level", "baseline", "--helm-values", values,
               "--helm-set", "image=nginx:2", HELM / "web", env=env)
    assert placed(json.loads(proc.stdout)) == sorted(EXPECTED)
    assert log.read_text() == (f"template release-name {HELM / 'web'} --namespace default --values {values} "
                               "--set image=nginx:2\n")


def test_helm_binary_errors_point_at_the_template(run, fake_helm):
    env, _ = fake_helm
    proc = run("scan", "--format", "json", "--helm-set", "fail=true", HELM / "web", env=env)
    assert proc.returncode == 2
    [error] = json.loads(proc.stdout)["errors"]
    assert (os.path.relpath(error["file"], HELM), error["line"], error["column"], error["message"]) == (
        "web/templates/deployment.yaml", 20, 25, "privileged is required")


@needs_renderer
def test_the_release_namespace_is_the_configs_default_namespace(scan_json, tmp_path):
    chart = tmp_path / "ns"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: ns\nversion: 0.1.0\n")
    (chart / "templates" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: {{ .Release.Namespace }}\n"
        "spec:\n  containers: [{name: c, image: x}]\n")
    config = tmp_path / "c.yaml"
    config.write_text("runtimeClasses:\n  defaultNamespace: shop\n"
                      '  namespaces:\n    "shop": {allowed: [kata], required: true}\n')
    code, doc = scan_json("--pss-level", "baseline", "--config", config, chart)
    assert [(f["control"], f["object"]["namespace"], f["line"]) for f in doc["findings"]] == [
        ("runtimeClassName", "shop", 6)]
