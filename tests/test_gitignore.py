"""Directory walks in a git work tree skip what git ignores; named files are always read."""
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not on PATH")

PRIVILEGED = """apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  containers:
    - name: c
      image: x
      securityContext: {privileged: true}
"""


@pytest.fixture
def repo(tmp_path):
    """A work tree with a virtualenv, a build directory and logs that git ignores."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    files = {
        ".gitignore": "venv/\n*.out.yaml\n!keep.out.yaml\n",
        "deploy/.gitignore": "build/\n",
        "deploy/pod.yaml": PRIVILEGED % "pod",
        "deploy/build/rendered.yaml": PRIVILEGED % "rendered",
        "deploy/keep.out.yaml": PRIVILEGED % "keep",
        "deploy/drop.out.yaml": PRIVILEGED % "drop",
        # A virtualenv's YAML is not Kubernetes, and some of it does not even parse.
        "venv/lib/site-packages/pkg/broken.yaml": "key: [unterminated\n",
        "venv/lib/site-packages/pkg/pod.yaml": PRIVILEGED % "venv",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def names(doc):
    return sorted({f["object"]["name"] for f in doc["findings"]})


def test_ignored_files_and_directories_are_not_walked(scan_json, repo):
    code, doc = scan_json(".", cwd=repo)
    assert doc["errors"] == [] and code == 1
    assert names(doc) == ["keep", "pod"]  # nested .gitignore (build/) and the negation (!keep) both apply


def test_a_subdirectory_walk_uses_the_repositorys_rules(scan_json, repo):
    code, doc = scan_json("deploy", cwd=repo)
    assert names(doc) == ["keep", "pod"]


def test_named_files_and_named_ignored_directories_are_scanned(scan_json, repo):
    code, doc = scan_json("deploy/drop.out.yaml", "deploy/build", cwd=repo)
    assert names(doc) == ["drop", "rendered"]


def test_tracked_files_are_not_ignored(scan_json, repo):
    subprocess.run(["git", "add", "-f", "deploy/drop.out.yaml"], cwd=repo, check=True)
    code, doc = scan_json(".", cwd=repo)
    assert names(doc) == ["drop", "keep", "pod"]


def test_no_ignore_scans_everything(scan_json, repo):
    code, doc = scan_json("--no-ignore", ".", cwd=repo)
    assert names(doc) == ["drop", "keep", "pod", "rendered", "venv"]
    assert [Path(e["file"]).name for e in doc["errors"]] == ["broken.yaml"] and code == 2


def test_outside_a_work_tree_nothing_is_filtered(scan_json, tmp_path):
    (tmp_path / "build").mkdir()
    (tmp_path / ".gitignore").write_text("build/\n")  # not a repository: the file means nothing
    (tmp_path / "build" / "pod.yaml").write_text(PRIVILEGED % "built")
    code, doc = scan_json(".", cwd=tmp_path)
    assert names(doc) == ["built"]
