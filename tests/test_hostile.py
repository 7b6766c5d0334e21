"""Hostile and broken input, through the installed CLI: a clear message at the file (and
line/column where there is one), exit code 2, no traceback, and the rest of the scan
still done -- the good document next to the bad one, in the same file or another.

Every run has a timeout, its peak memory must stay under 512 MB, and it may run under a
1 GiB address-space limit, so a case that
hangs or blows up fails instead of taking the machine with it.  Text cases live in tests/hostile/
(one file per case; `# finding` marks each line a finding must point at); byte-level
and huge cases are generated in tmp_path.
"""
import base64
import gzip
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

HOSTILE = Path(__file__).parent / "hostile"
LIMIT = 1 << 30  # 1 GiB of address space per CLI run
TIMEOUT = 60  # a hang guard, not a speed test: every case takes a second or two

GOOD_POD = """apiVersion: v1
kind: Pod
metadata: {name: good}
spec:
  hostNetwork: true
  containers: [{name: c, image: x}]
"""  # its finding (hostNamespaces) is on line 5
GOOD_LINE = 5


def _cli() -> list[str]:
    exe = shutil.which("kubelint-cc", path=os.path.dirname(sys.executable)) or shutil.which("kubelint-cc")
    return [exe] if exe else [sys.executable, "-m", "kubelint_cc"]


def _limits():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


# Runs a command as its only child and reports the child's peak memory on the last line of stderr.
_MEASURE = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
            "print(f'maxrss_kb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr); "
            "sys.exit(code)")


def cli(*args, input=None, cwd=None, limit=True):
    """The CLI under a timeout and, with `limit`, a 1 GiB address-space limit.  Without it
    its peak memory is measured instead.  Either way: no traceback, and never more than a few hundred MB."""
    proc = subprocess.run([sys.executable, "-c", _MEASURE] + _cli() + [str(a) for a in args], input=input,
                          capture_output=True, cwd=cwd, timeout=TIMEOUT, preexec_fn=_limits if limit else None)
    err, _, last = proc.stderr.rpartition(b"maxrss_kb=")
    assert int(last) < 512 * 1024, f"peak memory {int(last) // 1024} MB"
    assert b"Traceback" not in err and b"internal error" not in err, err.decode()
    proc.stderr = err
    return proc


def scan(*args, level="baseline", input=None, cwd=None, limit=True):
    """scan --format json -> (exit code, report)."""
    proc = cli("scan", "--format", "json", "--pss-level", level, *args, input=input, cwd=cwd, limit=limit)
    return proc.returncode, json.loads(proc.stdout)


def errors_of(doc, name=None):
    return [(e["line"], e["column"], e["message"]) for e in doc["errors"]
            if name is None or e["file"].endswith(name)]


def assert_good_reported(doc, file_suffix, line=GOOD_LINE, name="good"):
    assert any(f["file"].endswith(file_suffix) and f["line"] == line and f["object"]["name"] == name
               for f in doc["findings"]), doc["findings"]


def marked_lines(path: Path) -> set[int]:
    return {i for i, text in enumerate(path.read_text().splitlines(), 1) if "# finding" in text}


# ------------------------------------------------------------ tests/hostile/*.yaml

# file -> (PSS level, [(line, column, message part)])
CASES = {
    "syntax-error.yaml": ("baseline", [(16, 19, "YAML syntax error: mapping values are not allowed in this context")]),
    "tab-indent.yaml": ("baseline", [(5, 1, "YAML syntax error: found a tab character where YAML needs spaces")]),
    "unterminated-string.yaml": ("baseline", [
        (7, 1, "found unexpected document indicator (while scanning a quoted scalar started at line 4, column 9)")]),
    "unterminated-flow.yaml": ("baseline", [
        (6, 1, "did not find expected ',' or ']' (while parsing a flow sequence started at line 5, column 15)")]),
    "duplicate-keys.yaml": ("baseline", [(7, 3, 'duplicate key "hostNetwork" (first defined at line 5, column 3)')]),
    "unknown-tags.yaml": ("restricted", [
        (8, 24, "invalid Pod tagged: metadata.annotations.note must be a string, got a list"),
        (14, 5, "invalid Pod tagged: spec.containers[0].image must be a string, got a list")]),
    "merge-keys.yaml": ("restricted", []),
    "alias-bomb.yaml": ("baseline", [(10, 8, "excessive aliasing (an alias bomb?)")]),
    "alias-cycle.yaml": ("baseline", [(5, 11, "makes a cycle; Kubernetes rejects it"),
                                      (13, 11, "makes a cycle; Kubernetes rejects it")]),
    "not-objects.yaml": ("baseline", [
        (12, 1, "document has apiVersion but no kind"),
        (15, 1, "document has an invalid apiVersion: must be a non-empty string, got a list"),
        (16, 1, "document has an invalid kind: must be a non-empty string, got the integer 42"),
        (21, 3, 'items[0] is not a Kubernetes object: it is the string "nope"')]),
    "wrong-types.yaml": ("baseline", [
        (8, 12, "invalid Deployment shop/web: metadata.labels.version must be a string, got the number 1.0"),
        (13, 9, 'spec.template.metadata.annotations["prometheus.io/port"] must be a string, got the integer 8080'),
        (15, 7, 'spec.template.spec.hostNetwork must be a boolean, got the string "true"'),
        (16, 7, "spec.template.spec.securityContext must be a mapping, got a list"),
        (18, 9, "spec.template.spec.containers[0].name must be a string, got the integer 123"),
        (20, 9, "spec.template.spec.containers[0].ports must be a list, got the integer 8080"),
        (22, 11, 'containers[0].securityContext.privileged must be a boolean, got the string "true"'),
        (23, 11, 'containers[0].securityContext.runAsUser must be an integer, got the string "0"'),
        (24, 26, 'containers[0].securityContext.capabilities.add must be a list, got the string "SYS_ADMIN"'),
        (31, 9, 'spec.template.spec.volumes[0].hostPath must be a mapping, got the string "/etc"'),
        (39, 7, 'invalid CronJob nightly: spec.jobTemplate.spec.template must be a mapping, got the string'),
        (45, 3, "invalid Pod empty-containers: spec.containers must be a list, got a mapping")]),
}


def test_every_hostile_file_has_a_case():
    assert sorted(p.name for p in HOSTILE.glob("*.yaml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file(name, tmp_path):
    level, expected = CASES[name]
    src = tmp_path / name  # a copy: nothing a tag might do can touch the repository
    shutil.copyfile(HOSTILE / name, src)
    shutil.copyfile(HOSTILE / name, tmp_path / "copy.yml")
    (tmp_path / "other.yaml").write_text(GOOD_POD)
    code, doc = scan(tmp_path, level=level, cwd=tmp_path)
    assert code == (2 if expected else 1)
    got = errors_of(doc, name)
    assert len(got) == len(expected), got
    for (line, col, part), (gline, gcol, message) in zip(expected, got):
        assert (gline, gcol) == (line, col) and part in message, (gline, gcol, message)
    for file in (name, "copy.yml"):  # the same errors for the copy: the run is deterministic
        lines = {f["line"] for f in doc["findings"] if f["file"].endswith(file)}
        assert marked_lines(HOSTILE / name) <= lines, (file, lines)
    assert_good_reported(doc, "other.yaml")
    assert not (tmp_path / "PWNED").exists()  # `!!python/object/apply:os.system` never ran


def test_merged_values_point_at_the_anchor():
    code, doc = scan(HOSTILE / "merge-keys.yaml", level="restricted")
    privileged = sorted(f["path"] for f in doc["findings"] if f["control"] == "privileged")
    assert privileged == ["spec.containers[0].securityContext.privileged",
                          "spec.containers[1].securityContext.privileged"]
    assert {f["line"] for f in doc["findings"] if f["control"] == "privileged"} == {12}
    escalation = [f for f in doc["findings"] if f["control"] == "allowPrivilegeEscalation"]
    assert [(f["path"], f["line"]) for f in escalation] == [
        ("spec.containers[1].securityContext.allowPrivilegeEscalation", 18)]


def test_text_output_of_a_syntax_error():
    proc = cli("scan", "--pss-level", "baseline", HOSTILE / "syntax-error.yaml")
    assert proc.returncode == 2
    out = proc.stdout.decode()
    assert f"{HOSTILE / 'syntax-error.yaml'}:16:19: error: YAML syntax error: mapping values" in out
    assert ":10:23: error: [pss-privileged]" in out and ":28:11: error: [pss-privileged]" in out
    assert out.rstrip().endswith("2 findings (2 errors) in 1 file (2 objects), 1 input error")


# ------------------------------------------------------------ nesting and size

DEEP = {
    "flow sequences": lambda n: "a: " + "[" * n + "\n",
    "flow mappings": lambda n: "a: " + "{a: " * n + "\n",
    "block sequences": lambda n: "- " * n + "x\n",
    # Block mappings need one more column per level: 100,000 levels would be 5 GB, far over
    # the file size limit, so this is the deepest that fits in a few MB.
    "block mappings": lambda n: "".join(" " * i + "a:\n" for i in range(min(n, 3000))),
}


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_deep_nesting_is_refused_before_composing(kind, tmp_path):
    (tmp_path / "deep.yaml").write_text(GOOD_POD + "---\n" + DEEP[kind](100_000) + "---\n" + GOOD_POD)
    code, doc = scan(tmp_path / "deep.yaml")
    assert code == 2
    ((line, col, message),) = errors_of(doc)
    assert message == "nesting deeper than 256 levels" and line >= 8
    assert_good_reported(doc, "deep.yaml")
    assert_good_reported(doc, "deep.yaml", line=GOOD_LINE + 7 + DEEP[kind](100_000).count("\n") + 1)


def test_nesting_below_the_limit_is_fine(tmp_path):
    (tmp_path / "ok.yaml").write_text(GOOD_POD.replace("spec:", "x: " + "[" * 250 + "]" * 250 + "\nspec:"))
    code, doc = scan(tmp_path / "ok.yaml")
    assert code == 1 and not doc["errors"]
    assert_good_reported(doc, "ok.yaml", line=GOOD_LINE + 1)


def test_a_hundred_megabyte_file_is_refused_unread(tmp_path):
    with open(tmp_path / "huge.yaml", "wb") as f:
        f.write(b"a: b\n" * (100 * 1024 * 1024 // 5))
    (tmp_path / "good.yaml").write_text(GOOD_POD)
    code, doc = scan(tmp_path)
    assert code == 2
    assert errors_of(doc, "huge.yaml") == [(None, None, "file too large (100 MiB; the limit is 64 MiB): not scanned")]
    assert_good_reported(doc, "good.yaml")


def test_a_hundred_megabytes_on_stdin_is_refused():
    code, doc = scan("-", input=b"a: b\n" * (100 * 1024 * 1024 // 5))
    assert code == 2
    assert errors_of(doc) == [(None, None, "input too large (over the 64 MiB limit): not scanned")]


def test_a_hopeless_file_stops_after_a_hundred_errors(tmp_path):
    (tmp_path / "broken.yaml").write_text("a: [\n---\n" * 150 + GOOD_POD)
    (tmp_path / "good.yaml").write_text(GOOD_POD)
    code, doc = scan(tmp_path)
    assert code == 2
    errors = errors_of(doc, "broken.yaml")
    assert len(errors) == 101 and errors[0][:2] == (2, 1)
    assert errors[-1] == (200, 1, "more than 100 broken documents: the rest of the file is not checked")
    assert_good_reported(doc, "good.yaml")


def test_a_document_of_too_many_nodes_is_refused(monkeypatch):
    """The limit is 1,000,000 nodes, ~10 s to reach: in-process, with a lower limit."""
    from kubelint_cc import load

    monkeypatch.setattr(load, "MAX_NODES", 1000)
    errors: list = []
    docs = list(load.compose_documents("- a\n" * 1001 + "---\n" + GOOD_POD, errors))
    assert [(e.problem_mark.line, e.problem) for e in errors] == [
        (0, "document too large: more than 1,000 YAML nodes (no Kubernetes object comes near this)")]
    assert [d.start_mark.line for d in docs] == [1002]  # after the `---` on line 1001 (0-based)


# ------------------------------------------------------------ bytes and encodings

def test_binary_file(tmp_path):
    (tmp_path / "image.yaml").write_bytes(bytes(range(256)) * 64)
    (tmp_path / "good.yaml").write_text(GOOD_POD)
    code, doc = scan(tmp_path)
    assert code == 2
    assert errors_of(doc, "image.yaml") == [
        (1, 1, "binary file: NUL byte (or UTF-16/32 text without a byte order mark)")]
    assert_good_reported(doc, "good.yaml")


def test_invalid_utf8_fails_only_its_document(tmp_path):
    latin1 = GOOD_POD.replace("image: x", "image: café").encode("latin-1")
    (tmp_path / "latin1.yaml").write_bytes(latin1 + b"---\n" + GOOD_POD.encode())
    code, doc = scan(tmp_path / "latin1.yaml")
    assert code == 2
    assert errors_of(doc) == [(6, 36, "not valid UTF-8: a byte here is not UTF-8 text (another encoding?)")]
    assert_good_reported(doc, "latin1.yaml", line=GOOD_LINE + 7)
    assert len(doc["findings"]) == 1


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x7f", "\ufffe"])
def test_control_characters_fail_only_their_document(char, tmp_path):
    text = "# " + "x" * 9000 + "\n" + GOOD_POD.replace("name: good", f'name: "a{char}"') + "---\n" + GOOD_POD
    (tmp_path / "ctrl.yaml").write_bytes(text.encode("utf-8"))
    code, doc = scan(tmp_path / "ctrl.yaml")
    assert code == 2
    ((line, col, message),) = errors_of(doc)
    assert (line, col) == (4, 20) and "unacceptable character #x" in message
    assert_good_reported(doc, "ctrl.yaml", line=GOOD_LINE + 8)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-8"])
def test_byte_order_marks(codec, tmp_path):
    (tmp_path / "bom.yaml").write_bytes(("\ufeff" + GOOD_POD + "---\n" + GOOD_POD).encode(codec))
    code, doc = scan(tmp_path / "bom.yaml")
    assert code == 1 and not doc["errors"]
    assert sorted(f["line"] for f in doc["findings"]) == [GOOD_LINE, GOOD_LINE + 7]


@pytest.mark.parametrize("codec", ["utf-32-le", "utf-32-be"])
def test_utf32_is_refused_like_kubernetes(codec, tmp_path):
    (tmp_path / "wide.yaml").write_bytes(("\ufeff" + GOOD_POD).encode(codec))
    (tmp_path / "good.yaml").write_text(GOOD_POD)
    code, doc = scan(tmp_path)
    assert code == 2
    assert errors_of(doc, "wide.yaml") == [
        (None, None, "UTF-32 text: Kubernetes reads only UTF-8 and UTF-16 YAML (re-encode the file as UTF-8)")]
    assert_good_reported(doc, "good.yaml")


@pytest.mark.parametrize("content", ["", "---\n", "---\n---\n...\n", "# only a comment\n", "\n\n\n"])
def test_empty_files_are_fine(content, tmp_path):
    (tmp_path / "empty.yaml").write_text(content)
    code, doc = scan(tmp_path / "empty.yaml")
    assert code == 0 and doc["errors"] == [] and doc["findings"] == []
    assert doc["summary"]["files"] == 1


def test_binary_on_stdin():
    code, doc = scan("-", input=b"\x89PNG\r\n\x1a\n\x00\x00")
    assert code == 2
    assert errors_of(doc) == [(3, 1, "binary file: NUL byte (or UTF-16/32 text without a byte order mark)")]


# ------------------------------------------------------------ paths

def test_missing_file(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD_POD)
    code, doc = scan(tmp_path / "missing.yaml", tmp_path / "good.yaml")
    assert code == 2
    assert errors_of(doc, "missing.yaml") == [(None, None, "no such file or directory")]
    assert_good_reported(doc, "good.yaml")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files and directories whatever their permissions")
def test_unreadable_file_and_directory(tmp_path):
    (tmp_path / "secret.yaml").write_text(GOOD_POD)
    (tmp_path / "secret.yaml").chmod(0)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "x.yaml").write_text(GOOD_POD)
    (tmp_path / "locked").chmod(0)
    (tmp_path / "good.yaml").write_text(GOOD_POD)
    try:
        code, doc = scan(tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert code == 2
    assert errors_of(doc, "secret.yaml") == [(None, None, "permission denied")]
    assert errors_of(doc, "locked") == [(None, None, "permission denied")]
    assert_good_reported(doc, "good.yaml")


def test_symlink_loops(tmp_path):
    (tmp_path / "self.yaml").symlink_to("self.yaml")
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    (tmp_path / "dangling.yaml").symlink_to("nowhere.yaml")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to("..")  # a directory loop: walked once, silently
    (tmp_path / "good.yaml").write_text(GOOD_POD)
    code, doc = scan(tmp_path)
    assert code == 2
    loop = "symbolic link loop (too many levels of symbolic links)"
    assert {(e["file"].rsplit("/", 1)[-1], e["message"]) for e in doc["errors"]} == {
        ("self.yaml", loop), ("a.yaml", loop), ("b.yaml", loop),
        ("dangling.yaml", "broken symbolic link (its target does not exist)")}
    assert [f["file"] for f in doc["findings"]] == [str(tmp_path / "good.yaml")]  # once, not once per loop


def test_symlinks_out_of_the_tree_are_reported_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "pod.yaml").write_text(GOOD_POD)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.yaml").symlink_to(outside / "pod.yaml")
    (tree / "dir").symlink_to(outside)
    (tree / "inside.yaml").symlink_to("dir/pod.yaml")  # a relative link through another: outside too
    code, doc = scan(tree)
    assert code == 2 and not doc["findings"]
    assert sorted((e["file"], e["message"].split(":")[0]) for e in doc["errors"]) == [
        (str(tree / name), "symbolic link leading outside the repository (or, outside a repository, the scanned "
                           "directory)") for name in ("dir", "inside.yaml", "link.yaml")]
    # For local use, an option follows them.
    code, doc = scan(tree, "--follow-external-symlinks")
    assert code == 1 and not doc["errors"]
    assert sorted(f["file"] for f in doc["findings"]) == [
        str(tree / "dir" / "pod.yaml"), str(tree / "inside.yaml"), str(tree / "link.yaml")]


def test_fifos_sockets_and_devices_are_never_read(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it for reading would block forever
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock.yaml"))
    (tmp_path / "good.yaml").write_text(GOOD_POD)
    try:
        code, doc = scan(tmp_path, tmp_path / "pipe.yaml", "/dev/zero")
    finally:
        sock.close()
    assert code == 2
    not_read = "not a regular file (FIFO, socket or device): not read"
    assert sorted((e["file"].rsplit("/", 1)[-1], e["message"]) for e in doc["errors"]) == [
        ("pipe.yaml", not_read), ("pipe.yaml", not_read), ("sock.yaml", not_read), ("zero", not_read)]
    assert_good_reported(doc, "good.yaml")


def test_deep_directory_tree(tmp_path):
    deep = tmp_path
    for _ in range(1500):  # deeper than Python's recursion limit
        deep = deep / "d"
        deep.mkdir()
    (deep / "pod.yaml").write_text(GOOD_POD)
    try:
        code, doc = scan(".", cwd=tmp_path)
    finally:  # bottom up: shutil.rmtree (and pytest's cleanup) would recurse too deep
        (deep / "pod.yaml").unlink()
        while deep != tmp_path:
            deep.rmdir()
            deep = deep.parent
    assert code == 1 and not doc["errors"]
    assert_good_reported(doc, "d/pod.yaml")


def test_non_utf8_file_names_are_printed_safely(tmp_path):
    raw = os.fsencode(str(tmp_path)) + b"/bad\xff\xfe.yaml"
    with open(raw, "w") as f:
        f.write(GOOD_POD)
    env = dict(os.environ, LC_ALL="C.UTF-8", PYTHONIOENCODING="utf-8")  # strict UTF-8 stdout
    text = subprocess.run(_cli() + ["scan", "--pss-level", "baseline", str(tmp_path)], capture_output=True,
                          env=env, timeout=TIMEOUT)
    assert text.returncode == 1, text.stderr.decode()
    assert b"bad\\udcff\\udcfe.yaml:5:3: error: [pss-host-namespaces]" in text.stdout
    as_json = subprocess.run(_cli() + ["scan", "--format", "json", str(tmp_path)], capture_output=True,
                             env=env, timeout=TIMEOUT)
    assert as_json.returncode == 1, as_json.stderr.decode()
    (finding,) = [f for f in json.loads(as_json.stdout)["findings"] if f["control"] == "hostNamespaces"]
    assert os.fsencode(finding["file"]) == raw  # the \udcXX escapes round-trip to the real name


def test_file_removed_during_the_scan(tmp_path, monkeypatch):
    """Discovery and reading are separate steps; a file gone in between is reported, not
    a crash.  (In-process: a subprocess offers no moment to remove the file.)"""
    from kubelint_cc import load
    from kubelint_cc.engine import Options, Scanner

    (tmp_path / "gone.yaml").write_text(GOOD_POD)
    (tmp_path / "good.yaml").write_text(GOOD_POD)
    discover = load.discover

    def discover_then_remove(*args, **kwargs):
        sources = list(discover(*args, **kwargs))
        (tmp_path / "gone.yaml").unlink()
        return iter(sources)

    monkeypatch.setattr(load, "discover", discover_then_remove)
    result = Scanner(Options(level="baseline")).scan([str(tmp_path)])
    assert [(e.file, e.message) for e in result.errors] == [
        (str(tmp_path / "gone.yaml"), "no such file or directory (removed during the scan?)")]
    assert [f.file for f in result.findings] == [str(tmp_path / "good.yaml")]


# ------------------------------------------------------------ encoded Kata payloads

def kata_pod(key: str, value: str) -> str:
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: kata\n  annotations:\n"
            f"    io.katacontainers.config.{key}: \"{value}\"\nspec:\n  runtimeClassName: kata\n"
            f"  containers: [{{name: c, image: x}}]\n---\n" + GOOD_POD)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


INITDATA = 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = "package agent_policy\\n"\n'
KATA = {
    "invalid base64": ("agent.policy", "!!!!", "outside the standard base64 alphabet"),
    "wrong padding": ("agent.policy", b64(b"package agent_policy\n\n").rstrip("="), "not padded base64"),
    "gzip bomb": ("hypervisor.cc_init_data", b64(gzip.compress(b"\0" * (64 << 20), mtime=0)),
                  "decompresses to more than 16 MiB"),
    "truncated gzip": ("hypervisor.cc_init_data", b64(gzip.compress(INITDATA.encode() * 50, mtime=0)[:30]),
                       "truncated"),
    "not TOML": ("hypervisor.cc_init_data", b64(gzip.compress(b"this is = = not toml", mtime=0)),
                 "not valid TOML"),
    "huge annotation": ("agent.policy", b64(("package agent_policy\n" + ("# " + "x" * 100 + "\n") * 4_000).encode()),
                        "over the Kubernetes limit of 256 KiB"),
}


@pytest.mark.parametrize("case", sorted(KATA))
def test_hostile_kata_payloads(case, tmp_path):
    key, value, part = KATA[case]
    (tmp_path / "kata.yaml").write_text(kata_pod(key, value))
    code, doc = scan(tmp_path / "kata.yaml", limit=False)
    assert code == 1 and not doc["errors"], doc["errors"]
    assert any(part in f["message"] and f["line"] == 6 and f["object"]["name"] == "kata"
               for f in doc["findings"]), [f["message"] for f in doc["findings"]]
    assert_good_reported(doc, "kata.yaml", line=GOOD_LINE + 10)
