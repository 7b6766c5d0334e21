"""`kubelint-cc fix` and `scan --fix`: minimal text edits that clear the fixable findings.

Golden files (tests/fixtures/fix/expected/) hold the exact expected output, so any
change to untouched lines, comments, quoting, indentation or separators fails.
"""
import difflib
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from conftest import FIXTURES

FIX = FIXTURES / "fix"
EXPECTED = FIX / "expected"
INPUTS = sorted(p for p in FIX.iterdir() if p.is_file())
FIXABLE = ("allowPrivilegeEscalation", "capabilities_restricted", "seccompProfile_restricted",
           "runAsNonRoot", "privileged")
CORPUS = Path("/work/shared/corpus/real")


def fixable(doc):
    return Counter(f["fingerprint"] for f in doc["findings"] if f["control"] in FIXABLE)


def fixed_total(output: str) -> int:
    m = re.search(r"^(?:fixed|would fix) (\d+) findings? in \d+ files?$", output, re.M)
    assert m, output
    return int(m.group(1))


def check_fix_consistent(before, after, fix_output):
    """After a fix: no finding appeared, every finding the fix claims is gone, and every
    fixable finding still there was reported as `not fixed` with a reason."""
    new = Counter(f["fingerprint"] for f in after["findings"]) - Counter(f["fingerprint"] for f in before["findings"])
    assert not new, [f for f in after["findings"] if f["fingerprint"] in new]
    gone = sum((fixable(before) - fixable(after)).values())
    assert gone == fixed_total(fix_output)
    left = fix_output.count(": not fixed: ")
    assert sum(fixable(after).values()) == left, fix_output


# ---------------------------------------------------------------- golden files

def test_fix_matches_the_golden_files(tmp_path, run, scan_json):
    for src in INPUTS:
        shutil.copyfile(src, tmp_path / src.name)
    _, before = scan_json(tmp_path)
    proc = run("fix", tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    differ = [src.name for src in INPUTS if (tmp_path / src.name).read_bytes() != (EXPECTED / src.name).read_bytes()]
    assert not differ, proc.stdout.decode()
    _, after = scan_json(tmp_path)
    check_fix_consistent(before, after, proc.stdout.decode())


def test_a_second_run_has_nothing_left_to_do(tmp_path, run):
    for src in INPUTS:
        shutil.copyfile(EXPECTED / src.name, tmp_path / src.name)
    proc = run("fix", tmp_path)
    assert fixed_total(proc.stdout.decode()) == 0
    for src in INPUTS:
        assert (tmp_path / src.name).read_bytes() == (EXPECTED / src.name).read_bytes()


def test_clean_file_is_a_byte_for_byte_no_op(tmp_path, run):
    target = tmp_path / "clean.yaml"
    shutil.copyfile(FIX / "clean.yaml", target)
    stat = target.stat()
    proc = run("fix", target)
    assert proc.returncode == 0
    assert proc.stdout.decode().strip() == "fixed 0 findings in 0 files"
    assert target.read_bytes() == (FIX / "clean.yaml").read_bytes()
    assert target.stat().st_mtime_ns == stat.st_mtime_ns  # not even rewritten


def test_fixed_lines_are_the_only_changes(tmp_path, run):
    """The golden diff of the commented, 4-space-indented file: only insertions, at the
    file's own indentation, and the block scalar and every comment untouched."""
    target = tmp_path / "comments.yaml"
    shutil.copyfile(FIX / "comments.yaml", target)
    run("fix", target)
    old = (FIX / "comments.yaml").read_text().splitlines()
    new = target.read_text().splitlines()
    ops = [op for op in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes() if op[0] != "equal"]
    assert {op[0] for op in ops} == {"insert"}
    inserted = [line for op in ops for line in new[op[3]:op[4]]]
    assert inserted == [
        "                        allowPrivilegeEscalation: false",
        "                        capabilities:",
        "                            drop:",
        "                                - ALL",
        "                    securityContext:",
        "                        allowPrivilegeEscalation: false",
        "                        capabilities:",
        "                            drop:",
        "                                - ALL",
        "            securityContext:",
        "                runAsNonRoot: true",
        "                seccompProfile:",
        "                    type: RuntimeDefault",
    ]


def test_crlf_bom_and_non_ascii_are_preserved(tmp_path, run):
    src = (FIX / "kubectl.yaml").read_text(encoding="utf-8").replace("name: report\n", "name: report  # café ✓\n")
    expected = (EXPECTED / "kubectl.yaml").read_text(encoding="utf-8").replace(
        "name: report\n", "name: report  # café ✓\n")
    target = tmp_path / "crlf.yaml"
    target.write_bytes(b"\xef\xbb\xbf" + src.replace("\n", "\r\n").encode("utf-8"))
    proc = run("fix", target)
    assert proc.returncode == 0, proc.stderr.decode()
    assert target.read_bytes() == b"\xef\xbb\xbf" + expected.replace("\n", "\r\n").encode("utf-8")


def test_json_stays_json(tmp_path, run):
    target = tmp_path / "pod.json"
    shutil.copyfile(FIX / "pod.json", target)
    run("fix", target)
    data = json.loads(target.read_text())
    assert data["spec"]["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert data["spec"]["containers"][1]["securityContext"]["capabilities"]["drop"] == ["NET_RAW", "ALL"]


# ---------------------------------------------------------------- behaviour

def test_diff_prints_a_patch_and_writes_nothing(tmp_path, run):
    target = tmp_path / "kubectl.yaml"
    shutil.copyfile(FIX / "kubectl.yaml", target)
    proc = run("fix", "--diff", "kubectl.yaml", cwd=tmp_path)
    assert proc.returncode == 0
    assert target.read_bytes() == (FIX / "kubectl.yaml").read_bytes()
    patch = proc.stdout.decode()
    assert patch.startswith("--- kubectl.yaml\n+++ kubectl.yaml\n@@ ")
    assert "-              allowPrivilegeEscalation: true\n+              allowPrivilegeEscalation: false\n" in patch
    assert "would fix kubectl.yaml: allowPrivilegeEscalation x2" in proc.stderr.decode()
    if shutil.which("git"):
        subprocess.run(["git", "apply", "-p0", "-"], input=proc.stdout, cwd=tmp_path, check=True)
        assert target.read_bytes() == (EXPECTED / "kubectl.yaml").read_bytes()


def test_diff_marks_a_missing_final_newline(tmp_path, run):
    target = tmp_path / "m.yaml"
    shutil.copyfile(FIX / "multidoc.yaml", target)
    patch = run("fix", "--diff", target).stdout.decode()
    assert patch.count("\\ No newline at end of file\n") == 2  # the old and the new last line


def test_report_names_each_file_and_the_fixed_controls(tmp_path, run):
    shutil.copyfile(FIX / "privileged.yaml", tmp_path / "privileged.yaml")
    proc = run("fix", ".", cwd=tmp_path)
    out = proc.stdout.decode()
    assert "fixed privileged.yaml: allowPrivilegeEscalation, capabilities_restricted x2, runAsNonRoot x2, " \
           "seccompProfile_restricted x2\n" in out
    assert "privileged.yaml:18: not fixed: privileged: setting privileged to false can break the workload; " \
           "use --unsafe-fixes" in out
    assert "privileged.yaml:17: not fixed: allowPrivilegeEscalation: privileged container" in out


def test_unsafe_fixes_turn_privileged_off(tmp_path, run, scan_json):
    target = tmp_path / "privileged.yaml"
    shutil.copyfile(FIX / "privileged.yaml", target)
    proc = run("fix", "--unsafe-fixes", target)
    assert proc.returncode == 0
    assert target.read_bytes() == (EXPECTED / "privileged.unsafe.yaml").read_bytes()
    _, doc = scan_json(target)
    assert not [f for f in doc["findings"] if f["control"] in FIXABLE]


def test_unparsable_file_exits_2_and_the_rest_is_still_fixed(tmp_path, run):
    shutil.copyfile(FIX / "windows.yaml", tmp_path / "good.yaml")
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: Pod\nspec: [unclosed\n")
    proc = run("fix", tmp_path)
    assert proc.returncode == 2
    assert re.search(r"bad\.yaml:\d+:\d+: error: YAML", proc.stderr.decode())
    assert (tmp_path / "good.yaml").read_bytes() == (EXPECTED / "windows.yaml").read_bytes()
    assert (tmp_path / "bad.yaml").read_text() == "apiVersion: v1\nkind: Pod\nspec: [unclosed\n"
    assert b"Traceback" not in proc.stderr


def test_a_quoted_boolean_is_replaced_too(tmp_path, run, scan_json):
    """A string "true" is no boolean (the API rejects it); false fixes both problems."""
    target = tmp_path / "q.yaml"
    text = (EXPECTED / "windows.yaml").read_text().replace("  os:\n    name: windows\n", "").replace(
        "    image: mcr.microsoft.com/windows/nanoserver:ltsc2022\n",
        "    image: x\n    securityContext:\n      allowPrivilegeEscalation: \"true\"  # sic\n")
    target.write_text(text)
    run("fix", target)
    assert '      allowPrivilegeEscalation: false  # sic\n' in target.read_text()
    code, doc = scan_json(target)
    assert code == 0 and not doc["errors"] and not doc["findings"]


def test_missing_path_and_stdin_are_errors(tmp_path, run):
    proc = run("fix", tmp_path / "nope.yaml")
    assert proc.returncode == 2
    assert "nope.yaml: error: no such file or directory" in proc.stderr.decode()
    proc = run("fix", "-", input=b"kind: Pod\n")
    assert proc.returncode == 2
    assert "cannot rewrite stdin" in proc.stderr.decode()


def test_suppressed_findings_are_not_fixed(tmp_path, run):
    target = tmp_path / "p.yaml"
    text = (FIX / "windows.yaml").read_text().replace(
        "  name: win\n", "  name: win\n  annotations:\n    kubelint-cc.io/ignore: runAsNonRoot the image needs root\n")
    target.write_text(text)
    proc = run("fix", target)
    assert proc.returncode == 0
    assert target.read_text() == text
    assert "fixed 0 findings" in proc.stdout.decode()


def test_symlink_is_followed_not_replaced(tmp_path, run):
    real = tmp_path / "real.yaml"
    shutil.copyfile(FIX / "windows.yaml", real)
    os.chmod(real, 0o640)
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    run("fix", link)
    assert link.is_symlink()
    assert real.read_bytes() == (EXPECTED / "windows.yaml").read_bytes()
    assert real.stat().st_mode & 0o777 == 0o640


def test_scan_fix_fixes_then_reports_what_is_left(tmp_path, run):
    shutil.copyfile(FIX / "privileged.yaml", tmp_path / "privileged.yaml")
    proc = run("scan", "--fix", "--format", "json", ".", cwd=tmp_path)
    assert "fixed privileged.yaml:" in proc.stderr.decode()
    doc = json.loads(proc.stdout)
    assert sorted(f["control"] for f in doc["findings"]) == ["allowPrivilegeEscalation", "privileged"]
    assert proc.returncode == 1
    assert (tmp_path / "privileged.yaml").read_bytes() == (EXPECTED / "privileged.yaml").read_bytes()


def test_scan_fix_uses_the_scan_level(tmp_path, run):
    """--pss-level baseline reports no restricted findings, so there is nothing to fix."""
    shutil.copyfile(FIX / "kubectl.yaml", tmp_path / "k.yaml")
    proc = run("scan", "--fix", "--pss-level", "baseline", tmp_path)
    assert proc.returncode == 0
    assert (tmp_path / "k.yaml").read_bytes() == (FIX / "kubectl.yaml").read_bytes()


def test_fix_takes_the_scans_scope_and_options(tmp_path, run):
    shutil.copyfile(FIX / "kubectl.yaml", tmp_path / "k.yaml")
    original = (FIX / "kubectl.yaml").read_bytes()
    for level in ("baseline", "privileged"):
        proc = run("fix", "--pss-level", level, cwd=tmp_path)  # default path: .
        assert proc.returncode == 0 and "fixed 0 findings" in proc.stdout.decode(), (level, proc.stdout)
        assert (tmp_path / "k.yaml").read_bytes() == original
    proc = run("fix", "--pss-version", "v1.7", "--diff", cwd=tmp_path)  # before allowPrivilegeEscalation and co.
    assert "would fix k.yaml: runAsNonRoot x2\n" in proc.stderr.decode()
    (tmp_path / "cfg.yaml").write_text("rules: {select: [runAsNonRoot]}\n")
    proc = run("fix", "--config", "cfg.yaml", "--diff", cwd=tmp_path)
    assert "would fix k.yaml: runAsNonRoot" in proc.stderr.decode(), proc.stderr.decode()
    proc = run("fix", "--ignore", "runAsNonRoot,pss-seccomp-profile-restricted", "--diff", cwd=tmp_path)
    fixed = next(line for line in proc.stderr.decode().splitlines() if line.startswith("would fix k.yaml:"))
    assert "runAsNonRoot" not in fixed and "seccompProfile_restricted" not in fixed and "capabilities" in fixed
    proc = run("fix", "--select", "privilegd", cwd=tmp_path)
    assert proc.returncode == 2 and b"did you mean `privileged`?" in proc.stderr
    run("fix", cwd=tmp_path)
    assert (tmp_path / "k.yaml").read_bytes() == (EXPECTED / "kubectl.yaml").read_bytes()


# ---------------------------------------------------------------- PSS fail fixtures

PSS_FAIL = sorted((FIXTURES / "pss").glob("*/fail/*.yaml")) if (FIXTURES / "pss").is_dir() else []
PSS_FAIL = [p for p in PSS_FAIL if p.parent.parent.name in FIXABLE]


def _version_args(path: Path) -> list[str]:
    m = re.search(r"^# pss-version: (\S+)", path.read_text(), re.M)
    return ["--pss-version", m.group(1)] if m else []


@pytest.mark.skipif(not PSS_FAIL, reason="no PSS fail fixtures")
def test_scan_fix_clears_the_fixable_findings_of_every_fail_fixture(tmp_path, run, scan_json):
    """Every fail fixture of a fixable control, at its own policy version, one scan per version."""
    groups: dict[tuple, list[Path]] = {}
    for src in PSS_FAIL:
        groups.setdefault(tuple(_version_args(src)), []).append(src)
    fixed = 0
    for n, (version, sources) in enumerate(sorted(groups.items())):
        folder = tmp_path / f"v{n}"
        folder.mkdir()
        for src in sources:
            shutil.copyfile(src, folder / f"{src.parent.parent.name}-{src.name}")
        _, before = scan_json(*version, folder)
        proc = run("scan", "--fix", "--unsafe-fixes", "--format", "json", *version, folder)
        after = json.loads(proc.stdout)
        check_fix_consistent(before, after, proc.stderr.decode())
        assert not after["errors"], after["errors"]
        fixed += fixed_total(proc.stderr.decode())
    assert fixed > 0


# ---------------------------------------------------------------- real-world corpus

ALLOWED_WORDS = re.compile(
    r'(?:[\s,:{}\[\]"\'-]|securityContext|allowPrivilegeEscalation|capabilities|drop|ALL|seccompProfile|type|'
    r'RuntimeDefault|runAsNonRoot|privileged|true|false)*')


def _related(old: str, new: str) -> bool:
    """`new` is `old` with only fix content inserted, true->false, or an empty value opened up."""
    if old == new:
        return True
    p = 0
    while p < min(len(old), len(new)) and old[p] == new[p]:
        p += 1
    s = 0
    while s < min(len(old), len(new)) - p and old[-1 - s] == new[-1 - s]:
        s += 1
    if p + s == len(old) and ALLOWED_WORDS.fullmatch(new[p:len(new) - s]):
        return True  # a pure insertion
    if re.sub(r"(allowPrivilegeEscalation|privileged)(\"?): false", r"\1\2: true", new) == old:
        return True
    return bool(re.fullmatch(r"(.*:)\s*(\{\}|~|null)?\s*", old)) and new.rstrip() == re.sub(
        r"\s*(\{\}|~|null)?\s*$", "", old)


def assert_minimal_change(old_text: str, new_text: str, name: str):
    old, new = old_text.splitlines(keepends=True), new_text.splitlines(keepends=True)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        assert tag != "delete", (name, old[i1:i2])
        pending = list(new[j1:j2])
        for line in old[i1:i2]:  # each changed old line maps, in order, onto a related new line
            while pending and not _related(line, pending[0]):
                assert ALLOWED_WORDS.fullmatch(pending.pop(0)), (name, line)
            assert pending, (name, line, new[j1:j2])
            pending.pop(0)
        for line in pending:
            assert ALLOWED_WORDS.fullmatch(line), (name, line)


def _corpus_files():
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json"))
    if os.environ.get("KUBELINT_CC_FULL_CORPUS"):
        return files
    return files[::5]  # a fixed fifth keeps CI quick; KUBELINT_CC_FULL_CORPUS=1 runs all


@pytest.mark.skipif(not CORPUS.is_dir(), reason="/work/shared corpus not present")
def test_fix_on_the_real_world_corpus(tmp_path, run):
    root = tmp_path / "corpus"
    originals = {}
    for src in _corpus_files():
        rel = src.relative_to(CORPUS)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, root / rel)
        originals[rel.as_posix()] = src.read_bytes()
    before = json.loads(run("scan", "--format", "json", ".", cwd=root).stdout)
    proc = run("fix", ".", cwd=root)
    out = proc.stdout.decode()
    assert proc.returncode == (2 if before["errors"] else 0), proc.stderr.decode()
    assert "skipped" not in out, out
    after = json.loads(run("scan", "--format", "json", ".", cwd=root).stdout)
    assert after["errors"] == before["errors"]  # no new parse errors
    check_fix_consistent(before, after, out)
    fixed_files = set(re.findall(r"^fixed (.+?): ", out, re.M))
    assert fixed_files and sum(fixable(before).values()) > 0
    for rel, data in originals.items():
        now = (root / rel).read_bytes()
        if rel not in fixed_files:
            assert now == data, f"{rel} changed although nothing was fixed"
        else:
            assert_minimal_change(data.decode("utf-8-sig"), now.decode("utf-8-sig"), rel)
    again = run("fix", ".", cwd=root)
    assert fixed_total(again.stdout.decode()) == 0


def test_the_minimal_change_check_rejects_other_edits():
    assert_minimal_change("a: {}\nb: 1\n", "a:\n  allowPrivilegeEscalation: false\nb: 1\n", "ok")
    assert_minimal_change("x: [a]\n", "x: [a, ALL]\n", "ok")
    for old, new in (("a: 1\n# c\n", "a: 2\n# c\n"), ("a: 1\n# c\n", "a: 1\n"), ("a: 1\n", "a: 1\nimage: x\n"),
                     ('a: "1"\n', "a: '1'\n")):
        with pytest.raises(AssertionError):
            assert_minimal_change(old, new, "bad")
