"""A pull request is hostile (issue 13): nothing it contains may change the verdict, leak
a file from outside the repository, forge output lines or exhaust the runner.  Every run
is the installed CLI in a subprocess with a timeout; the pre-commit case is in
test_precommit.py."""
import json
import os
import subprocess
import sys

import pytest

from conftest import _cli

PRIVILEGED_POD = """apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  containers:
  - name: app
    image: nginx
    securityContext: {privileged: true}
"""
SECRET = "s3cr3t-0utside-the-repo"


def cli(*args, cwd=None, input=None, timeout=60):
    proc = subprocess.run(_cli() + [str(a) for a in args], cwd=cwd, input=input, capture_output=True,
                          timeout=timeout)
    out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in out and "internal error" not in out, out
    return proc, out


def rules_of(proc):
    return sorted(f["control"] for f in json.loads(proc.stdout)["findings"])


@pytest.mark.parametrize("kind", ["worktree", "submodule"])
def test_config_discovery_stops_at_a_git_file(tmp_path, kind):
    """In a worktree or submodule `.git` is a file; the config above it is not the repository's."""
    (tmp_path / ".kubelint-cc.yaml").write_text("rules: {ignore: [privileged]}\n")
    repo = tmp_path / kind
    repo.mkdir()
    (repo / ".git").write_text("gitdir: ../.git/worktrees/x\n")
    (repo / "pod.yaml").write_text(PRIVILEGED_POD)
    proc, out = cli("scan", "--format", "json", "--pss-level", "baseline", repo / "pod.yaml")
    assert proc.returncode == 1 and rules_of(proc) == ["privileged"], out
