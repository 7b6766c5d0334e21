"""Property-based tests: whatever the input, the scanner returns findings and input
errors -- it never raises -- and a good document after a bad one is still reported at
its own line.

Workloads are generated from kubelint_cc.validate's schema (the fields the rules read),
each field given either a value of its type or anything at all; YAML-ish "token soup"
and raw bytes exercise the parser's error paths.  Scans run in-process (scan_text, or
scan on a temporary file for the byte path), on a fixed example budget.
"""
import io
import json
import re

from hypothesis import HealthCheck, example, given, settings, strategies as st
from ruamel.yaml import YAML

from kubelint_cc import expand, validate
from kubelint_cc.engine import Options, Result, Scanner

SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

SENTINEL = """apiVersion: v1
kind: Pod
metadata: {name: sentinel}
spec:
  hostNetwork: true
  containers: [{name: c, image: x}]
"""  # its hostNamespaces finding is on line 5 of the document
BREAKS = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")  # the line breaks YAML counts


def scan_text(text: str) -> Result:
    result = Result()
    result.findings.extend(Scanner(Options(level="restricted")).scan_text("t.yaml", text, result))
    return result


def assert_well_formed(result: Result, text: str) -> None:
    lines = len(BREAKS.findall(text)) + 1
    for f in result.findings:
        assert 1 <= f.line <= lines and f.column >= 1, f
    for e in result.errors:
        assert e.file == "t.yaml" and e.message
        assert e.line is None or 1 <= e.line <= lines, e


def assert_sentinel_found(result: Result, text_before: str) -> None:
    line = len(BREAKS.findall(text_before)) + 5
    assert any(f.object.get("name") == "sentinel" and f.control == "hostNamespaces" and f.line == line
               for f in result.findings), (line, [(f.object, f.line) for f in result.findings], result.errors)


# ------------------------------------------------------------ values and workloads

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12)

PLAUSIBLE = {
    validate.STRING: st.sampled_from(["x", "ALL", "SYS_ADMIN", "RuntimeDefault", "Localhost", "Unconfined",
                                      "windows", "kata", "true", "0", ""]),
    validate.INT32: st.sampled_from([0, 1, 1000, 8080, -1, 80.0]),
    validate.INT64: st.sampled_from([0, 1, 1000, 8080, -1, 1e3]),
    validate.BOOLEAN: st.booleans(),
    validate.INT_OR_STRING: st.sampled_from([80, "http"]),
    validate.QUANTITY: st.sampled_from(["100m", 1, 0.5, "1Gi"]),
}


def shaped(spec, depth: int = 0):
    """Values for a validate schema node: mostly the right shape, sometimes anything."""
    if isinstance(spec, (validate._Scalar, validate._Int)):
        right = PLAUSIBLE[spec]
    elif isinstance(spec, validate._Object):
        fields = {k: shaped(v, depth + 1) for k, v in spec.fields.items()} if depth < 6 else {}
        right = st.fixed_dictionaries({}, optional=fields)
    elif isinstance(spec, validate._ListOf):
        right = st.lists(shaped(spec.item, depth + 1), max_size=2)
    else:
        right = st.dictionaries(st.sampled_from(["a", "io.katacontainers.config.agent.policy", "b/c"]),
                                shaped(spec.value, depth + 1), max_size=2)
    return st.one_of(right, right, right, anything)


@st.composite
def workloads(draw):
    kind = draw(st.sampled_from(sorted(expand.TEMPLATES)))
    template = draw(shaped(validate.POD_TEMPLATE))
    groups, path = expand.TEMPLATES[kind][0]
    own = sorted(f"{g}/v1" if g else "v1" for g in groups)
    obj: dict = {"apiVersion": draw(st.sampled_from(own + ["v1", "apps/v1", "batch/v1", "x/v1"])), "kind": kind,
                 "metadata": draw(shaped(validate.OBJECT_META))}
    if not path:  # a Pod is its own template
        if isinstance(template, dict):
            obj.update(template)
        return obj
    node = obj
    for step in path[:-1]:
        node = node.setdefault(step, {})
    node[path[-1]] = template if draw(st.booleans()) else draw(anything)
    return obj


def as_yaml(data, block: bool) -> str:
    if not block:
        return json.dumps(data, allow_nan=True)  # JSON is YAML (flow style)
    out = io.StringIO()
    YAML(typ="safe").dump(data, out)
    return out.getvalue()


@settings(max_examples=300, **SETTINGS)
@given(workloads(), st.booleans())
def test_generated_workloads_never_crash(obj, block):
    text = as_yaml(obj, block)
    result = scan_text(text)
    assert_well_formed(result, text)
    before = text + "\n---\n"
    assert_sentinel_found(scan_text(before + SENTINEL), before)


@settings(max_examples=50, **SETTINGS)
@given(st.lists(workloads(), min_size=2, max_size=3))
def test_lists_of_generated_workloads(objs):
    text = as_yaml({"apiVersion": "v1", "kind": "List", "items": objs}, block=True)
    assert_well_formed(scan_text(text), text)


# ------------------------------------------------------------ YAML-ish token soup

TOKENS = ["\n", " ", "  ", "- ", ": ", "? ", ",", "[", "]", "{", "}", "&a ", "*a", "&b ", "*b", "<<: ", "!!str ",
          "!!python/object ", "!x ", "\t", '"', "'", "|", ">", "#", "%YAML 1.1\n", "---\n", "...\n", "\r", "\x85",
          "\u2028", "\ufeff", "\x01", "\x7f", "\ufffe", "\uffff", "é", "kind: Pod\n", "apiVersion: v1\n",
          "metadata:\n", "spec:\n", "containers:\n", "securityContext:\n", "privileged: true\n", "name: x\n",
          "hostPID: yes\n", "runAsUser: 0\n", "1", "0x1F", "1e9", "~", "null", "key"]


@settings(max_examples=1200, **SETTINGS)
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_token_soup_never_crashes_and_the_next_document_survives(tokens):
    soup = "".join(tokens)
    result = scan_text(soup)
    assert_well_formed(result, soup)
    before = soup + "\n---\n"
    assert_sentinel_found(scan_text(before + SENTINEL), before)


@settings(max_examples=100, **SETTINGS)
@given(st.integers(1, 4000), st.sampled_from(["[", "{a: ", "- ", "&x [*x, "]))
def test_any_depth_is_bounded(depth, opener):
    before = "a: " + opener * depth + "\n---\n"
    result = scan_text(before + SENTINEL)
    assert_sentinel_found(result, before)
    assert all("nesting deeper" in e.message or "YAML syntax error" in e.message for e in result.errors)


# ------------------------------------------------------------ raw bytes

@settings(max_examples=300, **SETTINGS)
@given(st.binary(max_size=300), st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff"]))
def test_random_bytes_never_crash(tmp_path_factory, data, prefix):
    path = tmp_path_factory.mktemp("bytes") / "t.yaml"
    path.write_bytes(prefix + data + b"\n---\n" + SENTINEL.encode())
    result = Scanner(Options(level="restricted")).scan([str(path)])
    for e in result.errors:
        assert e.file == str(path) and e.message
    full = prefix + data
    if result.files and not full.startswith((b"\xff\xfe", b"\xfe\xff")):  # read as UTF-8: the sentinel survives
        text = (full + b"\n---\n").decode("utf-8", "replace")
        assert any(f.object.get("name") == "sentinel" and f.line == len(BREAKS.findall(text)) + 5
                   for f in result.findings), (result.errors, [(f.object, f.line) for f in result.findings])


# ------------------------------------------------------------ skimming is invisible

LINES = ["---\n", "--- # c\n", "...\n", "# kind: Pod\n", "\n", "apiVersion: v1\n", "apiVersion: 1\n", "apiVersion:\n",
         "apiVersion: 'v1'\n", "kind: Service\n", "kind: CustomResourceDefinition\n", "kind: Pod\n", "kind: List\n",
         'kind: "Secret"\n', "kind: yes\n", "kind: ConfigMap\n", "kind: Namespace\n", "metadata: {name: m}\n",
         "spec:\n", "  hostNetwork: true\n", "  containers: [{name: c, image: i}]\n", "  a: b\n", "  - x\n", "x\n",
         "- y\n", 'text: "open\n', 'close"\n', '  close"\n', "flow: [\n", "]\n", "  - &a z\n", "b: *a\n", "<<: {kind: Pod}\n",
         "? kind\n", ": Pod\n", "\tkind: Pod\n", "kind: Service\r\n", "items:\n", "- kind: Pod\n", "data:\n",
         "  INITDATA: x\n", "kindness: 1\n", "é: 1\n"]


@settings(max_examples=1500, **SETTINGS)
@given(st.lists(st.sampled_from(LINES), max_size=30))
@example(["apiVersion: v1\n", 'text: "open\n', "kind: Service\n", '  close"\n'])  # kind inside a string
@example(["apiVersion: v1\n", "flow: [\n", "kind: Service\n", "  ]\n"])  # kind inside a flow sequence
def test_skimming_changes_nothing(lines):
    from kubelint_cc import load
    text = "".join(lines)

    def outcome():
        r = scan_text(text)
        return [f.as_dict() for f in r.findings], [e.as_dict() for e in r.errors], r.documents, r.objects

    skimmed = outcome()
    real_skim = load.skim
    load.skim = lambda text, wanted, skimmed=None: text
    try:
        full = outcome()
    finally:
        load.skim = real_skim
    if not any("nesting deeper" in e["message"] or "too large" in e["message"] for e in full[1]):
        assert skimmed == full
