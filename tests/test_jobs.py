"""How many processes a scan uses: one per idle CPU, the parent included (KUBELINT_CC_JOBS overrides)."""
from kubelint_cc import engine, load

MANY = [load.Source(f"f{i}.yaml") for i in range(engine.PARALLEL_MIN_FILES)]


def test_only_idle_cpus_get_a_worker(tmp_path):
    loadavg = tmp_path / "loadavg"
    for running, idle in (("1/90", 4), ("2/90", 3), ("4/90", 1), ("9/90", 0)):
        loadavg.write_text(f"0.50 0.40 0.30 {running} 12345\n")  # this process is one of the running
        assert engine._idle(4, str(loadavg)) == idle
    assert engine._idle(4, str(tmp_path / "missing")) == 4


def test_a_busy_machine_scans_in_one_process(monkeypatch):
    monkeypatch.delenv("KUBELINT_CC_JOBS", raising=False)
    monkeypatch.setattr(engine, "_idle", lambda cpus: 0)
    assert engine._jobs(MANY) == 1
    monkeypatch.setenv("KUBELINT_CC_JOBS", "2")  # the user's word wins
    assert engine._jobs(MANY) == 2
