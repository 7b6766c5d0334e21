"""The benchmark's smallest mode, as a smoke test: it runs end to end and prints its
table.  Nothing here is timed -- speed is measured by `python bench/run.py`, not by tests."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_quick_benchmark_prints_its_table(tmp_path):
    results = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--sizes", "20",
                           "--corpus", str(REPO / "tests" / "fixtures"),
                           "--cache-dir", str(tmp_path / "cache"), "--json", str(results)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| input | kubelint-cc | libyaml floor | checkov | ours / floor | checkov / ours |" in proc.stdout
    assert "| target (from the issue) | wall time | CPU time |" in proc.stdout
    data = json.loads(results.read_text())
    assert data["complete"] and data["markdown"] == proc.stdout.rstrip("\n") + "\n"
    assert data["one_file"]["results"]["kubelint-cc"]["wall"] > 0
    if data["helm"]:  # a Helm renderer is installed: rendering is measured next to scanning
        assert data["helm"]["results"]["render alone"]["wall"] > 0
        assert "| Helm chart `web` (" in proc.stdout
    assert data["datasets"][0]["label"] == "corpus fixtures (every 10th file)"
    for ds in data["datasets"]:  # the synthetic set only where ../shared has its generator
        assert ds["results"]["kubelint-cc"]["wall"] > 0 and ds["results"]["floor"]["wall"] > 0
