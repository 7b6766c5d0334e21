"""Kustomize: a kustomization directory is built and its objects judged as built (their
namespace included); findings point at the file and line that set the value: a patch,
else the resource's own file (README, "Kustomize")."""
import json
import os

import pytest

from conftest import FIXTURES
from kubelint_cc.render import kustomize

KUSTOMIZE = FIXTURES / "kustomize"
CONFIG = KUSTOMIZE / "config.yaml"

needs_builder = pytest.mark.skipif(kustomize.builder() is None, reason="neither kustomize nor kubectl on PATH")


def where(doc):
    return sorted((os.path.relpath(f["file"], KUSTOMIZE), f["line"], f["column"], f["control"],
                   f["object"]["namespace"], f["object"]["name"], f.get("position")) for f in doc["findings"])


@needs_builder
def test_a_patch_that_sets_privileged_is_where_the_finding_points(scan_json):
    code, doc = scan_json("--pss-level", "baseline", "--config", CONFIG, KUSTOMIZE / "overlay")
    assert doc["errors"] == [] and code == 1
    assert where(doc) == [
        # The base pod sets no runtime class; the overlay's namespace requires one.
        ("base/pod.yaml", 5, 1, "runtimeClassName", "confidential-apps", "prod-debug", None),
        # containers[1] as built is the patch's containers[0]: matched by name.
        ("overlay/privileged.yaml", 12, 13, "privileged", "confidential-apps", "prod-web", None)]


@needs_builder
def test_the_overlay_namespace_changes_the_runtime_class_verdict(scan_json):
    code, doc = scan_json("--pss-level", "baseline", "--config", CONFIG, KUSTOMIZE / "base")
    assert where(doc) == [("base/deployment.yaml", 12, 7, "runtimeClassName", None, "web", None)]


@needs_builder
def test_values_of_the_base_point_into_the_base(scan_json):
    code, doc = scan_json("--config", CONFIG, KUSTOMIZE / "overlay")
    assert ("base/deployment.yaml", 20, 13, "runAsUser", "confidential-apps", "prod-web", None) in where(doc)


@needs_builder
def test_a_json6902_operation_is_where_its_value_is(scan_json):
    code, doc = scan_json("--pss-level", "baseline", "--config", CONFIG, KUSTOMIZE / "json6902")
    assert where(doc) == [
        ("base/deployment.yaml", 12, 7, "runtimeClassName", None, "web", None),
        ("json6902/host-network.yaml", 3, 3, "hostNamespaces", None, "web", None),
        ("loose/hostpid.yaml", 7, 3, "hostNamespaces", None, "loose", None)]


@needs_builder
def test_what_a_kustomization_consumes_is_not_scanned_again(scan_json):
    code, doc = scan_json("--pss-level", "baseline", "--config", CONFIG, KUSTOMIZE)
    # base/ is built by overlay/ and json6902/, loose/hostpid.yaml by json6902/: neither alone.
    assert doc["summary"]["objects"] == 5
    assert sorted(f["object"]["name"] for f in doc["findings"]) == ["loose", "prod-debug", "prod-web", "web", "web"]


@needs_builder
def test_sarif_names_the_patch(run):
    proc = run("scan", "--pss-level", "baseline", "--format", "sarif", "--config", CONFIG, KUSTOMIZE / "overlay")
    results = json.loads(proc.stdout)["runs"][0]["results"]
    locations = sorted((r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 2)[-2:][1],
                        r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results)
    assert locations == [("pod.yaml", 5), ("privileged.yaml", 12)]


@needs_builder
def test_a_broken_kustomization_is_an_input_error(scan_json, tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    code, doc = scan_json(tmp_path)
    assert code == 2 and doc["errors"][0]["message"].startswith("kustomize build failed: ")
    assert "missing.yaml" in doc["errors"][0]["message"]


def test_without_a_builder_resource_files_are_judged_in_the_overlays_namespace(run):
    """No kustomize, no kubectl: the resources a kustomization lists (through its bases) are
    scanned as written, in the namespace the outermost kustomization gives them; patches
    are neither applied nor scanned alone, and one warning says so."""
    proc = run("scan", "--format", "json", "--pss-level", "baseline", "--config", CONFIG, KUSTOMIZE,
               env=dict(os.environ, KUBELINT_CC_KUSTOMIZE="none"))
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and doc["errors"] == []
    assert proc.stderr.decode() == f"kubelint-cc: warning: {kustomize.NO_BUILDER}\n"
    assert where(doc) == [
        ("base/deployment.yaml", 12, 7, "runtimeClassName", None, "web", None),  # via json6902/: default
        ("base/pod.yaml", 5, 1, "runtimeClassName", "confidential-apps", "debug", None),  # via overlay/
        ("loose/hostpid.yaml", 7, 3, "hostNamespaces", None, "loose", None)]
    # Base files twice (once per kustomization), loose/ once, no patch alone.
    assert doc["summary"]["objects"] == 5

@needs_builder
def test_fix_leaves_built_objects_alone(run, tmp_path):
    """Paths in built output are not paths in the files: fix must not rewrite by them."""
    proc = run("fix", "--diff", KUSTOMIZE / "overlay")
    assert proc.stdout == b""
    assert "not fixed: allowPrivilegeEscalation: found in what a Helm chart or kustomization renders" in \
           proc.stderr.decode()


@needs_builder
def test_a_file_named_alone_stands_for_the_kustomization_that_consumes_it(scan_json, tmp_path):
    """pre-commit passes changed files: a patch means its overlay, built; a base file its
    base, which the overlay builds on (so it is not built alone); a file no kustomization
    lists is just a file."""
    code, doc = scan_json("--pss-level", "baseline", "--config", CONFIG,
                          KUSTOMIZE / "overlay" / "privileged.yaml", KUSTOMIZE / "base" / "pod.yaml")
    assert where(doc) == [
        ("base/pod.yaml", 5, 1, "runtimeClassName", "confidential-apps", "prod-debug", None),
        ("overlay/privileged.yaml", 12, 13, "privileged", "confidential-apps", "prod-web", None)]
    (tmp_path / "kustomization.yaml").write_text("namespace: shop\nresources: [listed.yaml]\n")
    pod = ("apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\n"
           "spec:\n  hostPID: true\n  containers: [{name: c, image: x}]\n")
    (tmp_path / "listed.yaml").write_text(pod % "listed")
    (tmp_path / "stray.yaml").write_text(pod % "stray")
    code, doc = scan_json("--pss-level", "baseline", tmp_path / "listed.yaml", tmp_path / "stray.yaml")
    assert sorted((f["object"]["namespace"] or "-", f["object"]["name"]) for f in doc["findings"]) == [
        ("-", "stray"), ("shop", "listed")]


@needs_builder
def test_only_origin_annotations_are_rewritten():
    """Origins are made absolute; any other `path:` (a probe's, a volume item's) is data."""
    text = kustomize.build(str(KUSTOMIZE / "overlay"))
    assert "path: healthz" in text
    assert f"path: '{KUSTOMIZE / 'base' / 'pod.yaml'}'" in text
