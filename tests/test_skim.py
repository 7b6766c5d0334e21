"""Skimming (load.skim) must be invisible: the same findings, errors, lines and counts as
composing every document.  Each case is scanned twice in-process, with and without it."""
from pathlib import Path

import pytest

from kubelint_cc import engine, load

HERE = Path(__file__).parent

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  versions:
  - name: v1
    schema:
      openAPIV3Schema:
        description: "A widget;
          see the docs"
"""
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: c
    image: nginx
    securityContext:
      privileged: true
"""

CASES = {
    "crd then pod": CRD + "---\n" + POD,
    "pod after crd, CRLF": (CRD + "---\n" + POD).replace("\n", "\r\n"),
    "implicit first document skimmed": "# comment\n\n" + CRD + "...\n---\n" + POD,
    "comment and blank lines on the marker": "--- # first\n" + CRD + "---   \n" + POD,
    "syntax error in a skippable document": CRD + "  bad: [unclosed\n---\n" + POD,
    "tab in a skippable document": CRD + "\tx: 1\n---\n" + POD,
    "apiVersion typed as a number": "apiVersion: 1\nkind: Service\n---\n" + POD,
    "apiVersion null": "apiVersion: null\nkind: Service\n---\n" + POD,
    "apiVersion empty": "apiVersion:\nkind: Service\n---\n" + POD,
    "kind typed as a bool": "apiVersion: v1\nkind: Yes\n---\n" + POD,
    "quoted kind": 'apiVersion: v1\nkind: "Service"\n---\n' + POD,
    "duplicate kind": "apiVersion: v1\nkind: Service\nkind: Pod\nspec: {hostNetwork: true, containers: [{name: c, image: i}]}\n",
    "kind from a merge key": "base: &b {kind: Pod}\n<<: *b\napiVersion: v1\nkind: Service\n",
    "undefined alias": "apiVersion: v1\nkind: Service\nspec: *nothing\n---\n" + POD,
    "anchor defined twice": "apiVersion: v1\nkind: Service\na: &x 1\nb: &x 2\n---\n" + POD,
    "undefined alias in a sequence": "apiVersion: v1\nkind: Service\nspec:\n- *nothing\n---\n" + POD,
    "undefined alias in a flow mapping": "apiVersion: v1\nkind: Service\nspec: {a: *nothing}\n---\n" + POD,
    "anchor after a tag, defined twice": "apiVersion: v1\nkind: Service\na: !!str &x 1\nb: - &x 2\n---\n" + POD,
    "alias after indentation": "apiVersion: v1\nkind: Service\nspec:\n  *nothing\n---\n" + POD,
    "a list document with a kind line": "- apiVersion: v1\n  kind: Service\n---\n" + POD,
    "a string document": "--- |\n  kind: Service\n---\n" + POD,
    "tagged document": "--- !!map\napiVersion: v1\nkind: Service\n---\n" + POD,
    "json": '{"apiVersion": "v1", "kind": "Service"}\n',
    "list kind": "apiVersion: v1\nkind: List\nitems:\n- " + POD.replace("\n", "\n  ").rstrip() + "\n",
    "configmap with initdata": "apiVersion: v1\nkind: ConfigMap\ndata:\n  INITDATA: \"not base64!\"\n",
    "namespace labels": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n  labels:\n"
                        "    pod-security.kubernetes.io/enforce: baseline\n---\n" + POD.replace("name: p", "name: p\n  namespace: n"),
    "kind inside a multi-line quoted string only": 'apiVersion: v1\ndescription: "a\nkind: Service\n  b"\n',
    "suppression comment in a skimmed document": "apiVersion: v1\nkind: Service  # kubelint-cc: ignore nosuch\n",
    "non-ascii and a lone CR": "apiVersion: v1\nkind: Service\nmetadata: {name: caf\u00e9}\r---\n" + POD,
    "NEL line break": "apiVersion: v1\nkind: Service\x85---\n" + POD,
    "document end marker": CRD + "...\n" + POD,
    "empty documents": "---\n---\n" + CRD + "---\n\n---\n" + POD,
    "kindless document (Helm values)": "replicaCount: 1\nimage: {repository: x}\n---\n" + POD,
    "kindless document, syntax error": "replicaCount: 1\nimage: [unclosed\n---\n" + POD,
    "kindless document, undefined alias": "replicaCount: *nothing\n---\n" + POD,
    "apiVersion without kind": "apiVersion: v1\nmetadata: {name: x}\n---\n" + POD,
    "sigils in a block scalar": CRD + "        x: |\n          *Warning*: see\n          &amp; *.example.com\n---\n" + POD,
    "sigil starting a plain continuation line": "apiVersion: v1\nkind: Service\nd: a\n  *b\n---\n" + POD,
    "alias at column 0 of a sequence": "apiVersion: v1\nkind: Service\nx:\n- &a 1\n- *a\n- *b\n---\n" + POD,
    "alias at column 0": "apiVersion: v1\nkind: Service\nx:\n*nothing\n---\n" + POD,
    "alias after a tag": "apiVersion: v1\nkind: Service\nd: !!str *nothing\n---\n" + POD,
    "percent signs already there": "apiVersion: v1\nkind: Service\nd: 50%\ne: '%x'\n---\n" + POD,
    "alias as a flow key": "apiVersion: v1\nkind: Service\nd: {a:*nothing}\n---\n" + POD,
}


def _scan(path: Path):
    result = engine.Scanner().scan([str(path)])
    return ([f.as_dict() for f in result.findings], [e.as_dict() for e in result.errors],
            result.documents, result.objects)


def _both(path: Path, monkeypatch):
    skimmed = _scan(path)
    with monkeypatch.context() as m:
        m.setattr(load, "skim", lambda text, wanted, skimmed=None: text)
        full = _scan(path)
    return skimmed, full


@pytest.mark.parametrize("name", sorted(CASES))
def test_skimming_changes_nothing(name, tmp_path, monkeypatch):
    path = tmp_path / "case.yaml"
    path.write_bytes(CASES[name].encode("utf-8"))
    skimmed, full = _both(path, monkeypatch)
    assert skimmed == full


def test_skimming_happens(monkeypatch):
    """Guards the test above against a skim that never skims."""
    text = CRD + "---\n" + POD
    out = load.skim(text, engine._read_by_rules)
    assert "CustomResourceDefinition" not in out and "kind: Pod" in out
    assert out.count("\n") == text.count("\n")
    # && and * inside a scalar are text, not anchors or aliases
    cel = CRD + "        x-kubernetes-validations: [{rule: self.a && self.b}]\n        pattern: a *.example.com\n"
    assert "CustomResourceDefinition" not in load.skim(cel, engine._read_by_rules)
    # a `*` or `&` starting a line of a block scalar is text too: libyaml tells, not a regex
    warning = CRD + "        x: |\n          *Warning*: see\n          &amp; more\n"
    assert "CustomResourceDefinition" not in load.skim(warning, engine._read_by_rules)
    values = "replicaCount: 1\nimage:\n  tag: x\n"  # not Kubernetes: only checked to be YAML
    assert load.skim(values, engine._read_by_rules).strip("~\n") == ""
    implicit = load.skim("# c\n" + CRD, engine._read_by_rules)
    assert implicit.startswith("~\n") and implicit.count("\n") == CRD.count("\n") + 1


@pytest.mark.parametrize("deep", ["spec: " + "[" * 300 + "]" * 300 + "\n",
                                  "spec:\n" + "".join(" " * i + "a:\n" for i in range(1, 300)) + " " * 300 + "b: 1\n",
                                  "spec:\n" + "- " * 300 + "x\n",
                                  "spec: !!seq " + "[ " * 300 + "]" * 300 + "\n",
                                  "spec:\n- " + "[\n " * 300 + "]" * 300 + "\n",
                                  "spec: " + "[a," * 300 + "1" + "]" * 300 + "\n"])
def test_the_depth_limit_applies_to_skimmed_kinds_too(tmp_path, monkeypatch, deep):
    """The README promises the nesting limit for every document: skimming must not let one
    escape it (nor take libyaml's quadratic time on deep flow nesting)."""
    path = tmp_path / "deep.yaml"
    path.write_text("apiVersion: v1\nkind: Service\n" + deep + "---\napiVersion: v1\nkind: Pod\n" + deep)
    skimmed, full = _both(path, monkeypatch)
    assert skimmed == full
    assert [e["message"] for e in full[1]] == ["nesting deeper than 256 levels"] * 2


def test_shallow_documents_with_many_brackets_are_still_skimmed(tmp_path, monkeypatch):
    """Past the cheap bound, the depth is counted event by event: a big CRD whose descriptions
    hold hundreds of brackets is still skimmed, and one just under the limit passes."""
    from kubelint_cc import load
    crd = "apiVersion: v1\nkind: Service\nspec:\n" + "  d: 'x[y] {z}'\n" * 200 + "  deep: " + "[" * 250 + "]" * 250
    assert load.skim(crd + "\n", lambda kind, api_version=None: False) != crd + "\n"
    assert load.skim(crd.replace("[" * 250, "[" * 260) + "\n", lambda kind, api_version=None: False).startswith("apiVersion")


@pytest.mark.parametrize("path", sorted(p for d in ("fixtures", "hostile") for p in (HERE / d).rglob("*")
                                        if p.is_file() and p.suffix in (".yaml", ".yml", ".json")),
                         ids=lambda p: str(p.relative_to(HERE)))
def test_fixtures_unchanged(path, monkeypatch):
    skimmed, full = _both(path, monkeypatch)
    assert skimmed == full


def test_the_flow_bound_counts_every_flow_collection():
    """load._flow_starts may count brackets in scalars, but never fewer than libyaml's flow
    collections: the nesting limit of skimmed documents rests on it."""
    from hypothesis import given, settings, strategies as st
    from _ruamel_yaml import CParser
    from ruamel.yaml.events import CollectionStartEvent

    @settings(max_examples=2000, deadline=None)
    @given(st.text(alphabet="[]{}:,-?!&*% \t\nab'\"#|", max_size=40))
    def check(doc):
        parser, flows = CParser(doc), 0
        try:
            while (event := parser.get_event()) is not None and type(event).__name__ != "StreamEndEvent":
                flows += isinstance(event, CollectionStartEvent) and bool(event.flow_style)
        except Exception:  # noqa: BLE001 - not YAML: nothing to bound
            return
        assert load._flow_starts(doc) >= flows

    check()
