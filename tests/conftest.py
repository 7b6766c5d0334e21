import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def _cli() -> list[str]:
    exe = shutil.which("kubelint-cc", path=os.path.dirname(sys.executable)) or shutil.which("kubelint-cc")
    return [exe] if exe else [sys.executable, "-m", "kubelint_cc"]


@pytest.fixture
def run():
    """Runs the installed CLI as a subprocess: run(*args, input=bytes) -> CompletedProcess."""
    def _run(*args, input=None, cwd=None, env=None):
        return subprocess.run(_cli() + [str(a) for a in args], input=input, capture_output=True,
                              cwd=cwd, env=env, timeout=120)
    return _run


@pytest.fixture
def scan_json(run):
    """scan --format json over paths -> (exit code, parsed document)."""
    def _scan(*args, input=None, cwd=None):
        proc = run("scan", "--format", "json", *args, input=input, cwd=cwd)
        assert proc.stdout, proc.stderr.decode()
        return proc.returncode, json.loads(proc.stdout)
    return _scan
