"""`scan --write-baseline` / `scan --baseline`: accept today's findings, fail only on new ones."""
import json
import textwrap

import pytest

POD = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata:
      name: {name}
      namespace: team
    spec:
      containers:
      - name: app
        image: app
    """)
CLEAN_POD = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata:
      name: {name}
      namespace: team
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {{type: RuntimeDefault}}
      containers:
      - name: app
        image: app
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {{drop: [ALL]}}
    """)


@pytest.fixture
def repo(tmp_path):
    """A repository with manifests/ holding one non-compliant and one compliant Pod."""
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "a.yaml").write_text(POD.format(name="a"))
    (tmp_path / "manifests" / "ok.yaml").write_text(CLEAN_POD.format(name="ok"))
    return tmp_path


def write_baseline(run, repo):
    proc = run("scan", "--write-baseline", "baseline.json", "manifests", cwd=repo)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads((repo / "baseline.json").read_text())


def test_written_baseline_is_sorted_relative_and_counted(run, repo):
    doc = write_baseline(run, repo)
    assert doc["version"] == 1 and doc["tool"] == "kubelint-cc"
    entries = doc["findings"]
    assert {e["control"] for e in entries} == {"allowPrivilegeEscalation", "capabilities_restricted",
                                               "runAsNonRoot", "seccompProfile_restricted"}
    assert all(e["file"] == "manifests/a.yaml" and e["count"] == 1 for e in entries)
    assert entries[0]["object"] == {"kind": "Pod", "namespace": "team", "name": "a"}
    assert set(entries[0]) == {"fingerprint", "rule", "control", "file", "object", "path", "count"}
    assert entries == sorted(entries, key=lambda e: (e["path"], e["rule"]))
    assert all("line" not in e for e in entries)


def test_writing_accepts_the_current_findings(run, repo):
    proc = run("scan", "--write-baseline", "baseline.json", "manifests", cwd=repo)
    assert proc.returncode == 0
    assert "recorded 4 findings in baseline.json" in proc.stderr.decode()
    assert "baseline baseline.json: 4 unchanged (not shown), 0 new, 0 stale entries" in proc.stdout.decode()


def test_unchanged_findings_stay_in_json_marked_and_do_not_fail(run, scan_json, repo):
    write_baseline(run, repo)
    code, doc = scan_json("--baseline", "baseline.json", "manifests", cwd=repo)
    assert code == 0
    assert len(doc["findings"]) == 4
    assert {f["baseline"] for f in doc["findings"]} == {"unchanged"}
    assert doc["summary"]["baseline"] == {"file": "baseline.json", "matched": 4, "new": 0, "stale": 0}


def test_line_shifts_keep_matching(run, scan_json, repo):
    write_baseline(run, repo)
    a = repo / "manifests" / "a.yaml"
    a.write_text("# a new header\n# over two lines\n---\n" + a.read_text().replace(
        "  name: a\n", "  labels:\n    app: a\n  name: a\n"))
    code, doc = scan_json("--baseline", "baseline.json", "manifests", cwd=repo)
    assert code == 0
    assert doc["summary"]["baseline"]["matched"] == 4
    assert all(f["baseline"] == "unchanged" for f in doc["findings"])


def test_a_new_finding_is_reported_and_fails(run, scan_json, repo):
    write_baseline(run, repo)
    (repo / "manifests" / "b.yaml").write_text(POD.format(name="b"))
    code, doc = scan_json("--baseline", "baseline.json", "manifests", cwd=repo)
    assert code == 1
    new = [f for f in doc["findings"] if f["baseline"] == "new"]
    assert len(new) == 4 and {f["file"] for f in new} == {"manifests/b.yaml"}
    assert doc["summary"]["baseline"] == {"file": "baseline.json", "matched": 4, "new": 4, "stale": 0}
    text = run("scan", "--baseline", "baseline.json", "manifests", cwd=repo).stdout.decode()
    assert "manifests/b.yaml:" in text and "manifests/a.yaml:" not in text  # text shows only new ones
    assert "baseline baseline.json: 4 unchanged (not shown), 4 new, 0 stale entries" in text


def test_a_new_finding_in_a_known_object_is_new(run, scan_json, repo):
    write_baseline(run, repo)
    a = repo / "manifests" / "a.yaml"
    a.write_text(a.read_text() + "    securityContext:\n      privileged: true\n")
    code, doc = scan_json("--baseline", "baseline.json", "manifests", cwd=repo)
    assert code == 1
    assert [f["control"] for f in doc["findings"] if f["baseline"] == "new"] == ["privileged"]


def test_a_fixed_finding_leaves_a_stale_entry(run, scan_json, repo):
    write_baseline(run, repo)
    a = repo / "manifests" / "a.yaml"
    a.write_text(a.read_text() + "    securityContext:\n      allowPrivilegeEscalation: false\n")
    code, doc = scan_json("--baseline", "baseline.json", "manifests", cwd=repo)
    assert code == 0
    assert doc["summary"]["baseline"] == {"file": "baseline.json", "matched": 3, "new": 0, "stale": 1}
    text = run("scan", "--baseline", "baseline.json", "manifests", cwd=repo).stdout.decode()
    assert "1 stale entry (fixed or gone: rewrite it with --write-baseline)" in text


def test_the_same_finding_twice_is_counted(run, scan_json, repo):
    """Two identical objects in one file give identical fingerprints: the entry has a count and
    matches only that many."""
    a = repo / "manifests" / "a.yaml"
    a.write_text(POD.format(name="a") + "---\n" + POD.format(name="a"))
    doc = write_baseline(run, repo)
    assert {e["count"] for e in doc["findings"]} == {2}
    a.write_text(POD.format(name="a") + "---\n" + POD.format(name="a") + "---\n" + POD.format(name="a"))
    code, out = scan_json("--baseline", "baseline.json", "manifests", cwd=repo)
    assert code == 1
    assert out["summary"]["baseline"] == {"file": "baseline.json", "matched": 8, "new": 4, "stale": 0}
    a.write_text(POD.format(name="a"))
    code, out = scan_json("--baseline", "baseline.json", "manifests", cwd=repo)
    assert code == 0
    assert out["summary"]["baseline"] == {"file": "baseline.json", "matched": 4, "new": 0, "stale": 4}


def test_matching_does_not_depend_on_the_working_directory(run, scan_json, repo):
    write_baseline(run, repo)
    code, doc = scan_json("--baseline", "../baseline.json", ".", cwd=repo / "manifests")
    assert code == 0 and doc["summary"]["baseline"]["matched"] == 4
    code, doc = scan_json("--baseline", str(repo / "baseline.json"), str(repo / "manifests" / "a.yaml"),
                          cwd=repo.parent)
    assert code == 0 and doc["summary"]["baseline"]["matched"] == 4


def test_a_baseline_written_elsewhere_names_files_relative_to_itself(run, scan_json, repo):
    (repo / "ci").mkdir()
    proc = run("scan", "--write-baseline", "../ci/kubelint-baseline.json", ".", cwd=repo / "manifests")
    assert proc.returncode == 0
    entries = json.loads((repo / "ci" / "kubelint-baseline.json").read_text())["findings"]
    assert {e["file"] for e in entries} == {"../manifests/a.yaml"}
    code, doc = scan_json("--baseline", "ci/kubelint-baseline.json", "manifests", cwd=repo)
    assert code == 0 and doc["summary"]["baseline"]["matched"] == 4


def test_scanning_one_file_does_not_call_the_others_stale(run, scan_json, repo):
    (repo / "manifests" / "b.yaml").write_text(POD.format(name="b"))
    write_baseline(run, repo)
    code, doc = scan_json("--baseline", "baseline.json", "manifests/a.yaml", cwd=repo)
    assert code == 0
    assert doc["summary"]["baseline"] == {"file": "baseline.json", "matched": 4, "new": 0, "stale": 0}


def test_sarif_keeps_baselined_results(run, repo):
    write_baseline(run, repo)
    proc = run("scan", "--format", "sarif", "--baseline", "baseline.json", "manifests", cwd=repo)
    assert proc.returncode == 0
    results = json.loads(proc.stdout)["runs"][0]["results"]
    assert [r.get("baselineState") for r in results] == ["unchanged"] * 4


@pytest.mark.parametrize("content, message", [
    ("{", "baseline.json:1:2: not a kubelint-cc baseline: invalid JSON"),
    ("[]", 'baseline.json: not a kubelint-cc baseline (expected a JSON object with "tool": "kubelint-cc"'),
    ('{"version": 1, "tool": "other", "findings": []}', "not a kubelint-cc baseline"),
    ('{"version": 2, "tool": "kubelint-cc", "findings": []}',
     "baseline.json: baseline version 2 is not supported (this kubelint-cc reads version 1)"),
    ('{"version": 1, "tool": "kubelint-cc", "findings": {}}', 'baseline.json: "findings" must be a list'),
    ('{"version": 1, "tool": "kubelint-cc", "findings": [{"count": 1}]}',
     'baseline.json: findings[0]: "fingerprint" must be a non-empty string'),
    ('{"version": 1, "tool": "kubelint-cc", "findings": [{"fingerprint": "x", "count": 0}]}',
     'findings[0]: "count" must be a positive integer'),
    (b"\xff\xfe", "not UTF-8"),
])
def test_a_bad_baseline_is_a_clear_error(run, repo, content, message):
    path = repo / "baseline.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    proc = run("scan", "--baseline", "baseline.json", "manifests", cwd=repo)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.startswith("kubelint-cc: error: ") and message in err, err
    assert "Traceback" not in err and not proc.stdout


def test_a_missing_baseline_is_a_clear_error(run, repo):
    proc = run("scan", "--baseline", "nope.json", "manifests", cwd=repo)
    assert proc.returncode == 2
    assert "nope.json: baseline file not found (create it with --write-baseline nope.json)" in proc.stderr.decode()


def test_an_unwritable_baseline_is_a_clear_error(run, repo):
    proc = run("scan", "--write-baseline", "no/such/dir/b.json", "manifests", cwd=repo)
    assert proc.returncode == 2
    assert "cannot write baseline no/such/dir/b.json" in proc.stderr.decode()


def test_suppressed_findings_are_not_recorded(run, repo):
    a = repo / "manifests" / "a.yaml"
    a.write_text(a.read_text().replace("  namespace: team\n", "  namespace: team\n  annotations:\n"
                                       "    kubelint-cc.io/ignore: runAsNonRoot image runs as root\n"))
    doc = write_baseline(run, repo)
    assert "runAsNonRoot" not in {e["control"] for e in doc["findings"]}
    assert len(doc["findings"]) == 3
