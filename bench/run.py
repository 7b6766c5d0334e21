#!/usr/bin/env python3
"""Speed and scale benchmark: kubelint-cc against the libyaml floor and checkov.

    python bench/run.py                 # full run (about 1.5 hours on 2 CPUs)
    python bench/run.py --quick         # smoke run: real-corpus subset + 1,000 synthetic files
    python bench/run.py --no-checkov --sizes 10000 --reps 5

Everything runs on this machine in one go, each measurement in its own process:

- `kubelint-cc scan --format json` (the installed CLI: next to sys.executable, else on
  PATH, else --kubelint), its report sent to /dev/null;
- the floor: libyaml composing every document of the same files with marks
  (PyYAML `yaml.compose_all(text, Loader=yaml.CSafeLoader)`), the least a YAML linter
  that reports line and column must do; PyYAML lives only in the benchmark's own venv;
- checkov (`--framework kubernetes --skip-download --quiet -o json`), in its own venv.

Inputs: ../shared/corpus/real and synthetic sets from ../shared/corpus/make_synthetic.py,
generated once and cached (with the venvs) under bench/cache.  Wall time, CPU time and
peak RSS come from os.wait4 on each child (the RSS of its largest single process).
Repetitions alternate between the tools so a busy machine slows them alike; medians are
reported.  Writes bench/results.json and prints the markdown table for the README.
"""
from __future__ import annotations

import argparse
import atexit
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
EXTENSIONS = (".yaml", ".yml", ".json")
BIG_SET = 50_000  # synthetic sets this large get --big-reps repetitions (a rep takes minutes)

TARGETS = {
    "floor_ratio": 1.0,       # real corpus, cold (no cache): kubelint-cc / libyaml floor
    "warm_ratio": 0.2,        # real corpus, warm (nothing changed): kubelint-cc / libyaml floor
    "checkov_ratio": 40.0,    # real corpus: checkov / kubelint-cc
    "one_file_ratio": 1.2,    # one file: kubelint-cc / `python -c "import click, ruamel.yaml"`
    "linearity": 1.2,         # time per file, largest synthetic set / smallest
    "peak_rss_mb": 150.0,     # largest synthetic set
}
CONFIG = """\
# a config like a repository's: a level, an ignored control, excluded paths
pss: {level: restricted}
rules: {ignore: [hostPorts]}
exclude: ["vendor/*", "charts/*/templates/*"]
"""

# The floor, run by the benchmark venv's python.  It walks paths as kubelint-cc does
# (*.yaml/*.yml/*.json, dot-directories skipped), reads, decodes and composes every
# document; a file that fails is counted and skipped, as a linter reports and moves on.
FLOOR_CODE = r"""
import os, sys, yaml
def files(paths):
    for p in paths:
        if not os.path.isdir(p):
            yield p
            continue
        for d, dirs, names in os.walk(p):
            dirs[:] = sorted(x for x in dirs if not x.startswith('.'))
            for n in sorted(names):
                if n.endswith(('.yaml', '.yml', '.json')):
                    yield os.path.join(d, n)
nfiles = ndocs = nfailed = 0
for path in files(sys.argv[1:]):
    nfiles += 1
    try:
        with open(path, 'rb') as f:
            text = f.read().decode('utf-8')
        for node in yaml.compose_all(text, Loader=yaml.CSafeLoader):
            ndocs += 1
    except Exception:
        nfailed += 1
print(f'files={nfiles} documents={ndocs} failed={nfailed}', file=sys.stderr)
"""


# ---------------------------------------------------------------- measuring

class Run(dict):
    """One timed process: wall and CPU seconds, peak RSS in MB, exit code."""


NEUTRAL_CWD = tempfile.mkdtemp(prefix="kubelint-bench-")
atexit.register(shutil.rmtree, NEUTRAL_CWD, True)
# Every kubelint-cc run shares one cache, here, whatever repository its input lies in
# (the synthetic sets are under bench/cache, in this work tree): the benchmark empties it
# for cold runs and fills it for warm ones.
CACHE = os.path.join(NEUTRAL_CWD, ".kubelint-cc-cache")
os.environ["KUBELINT_CC_CACHE_DIR"] = CACHE


# The kernel counts a child's peak RSS from before its exec, when it is still a copy of
# this (larger) process: a small child would report our size.  GNU time is a small
# process in between, and reports the peak of the command alone.
TIME_BIN = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_pss_kb(root: int) -> int:
    """Proportional set size of a process and all its descendants: worker processes
    count, pages they share with their parent count once."""
    children: dict[int, list[int]] = {}
    try:
        entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return 0
    for name in entries:
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, ()))
        total += _pss_kb(pid)
    return total


class TreeSampler(threading.Thread):
    """Samples tree_pss_kb every 0.2 s while a measured command runs (Linux /proc only)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.peak_kb = max(self.peak_kb, tree_pss_kb(self.pid))


def measure(cmd: list[str], env: dict | None = None, stdout: str | None = None) -> Run:
    """Runs cmd with stdout to /dev/null (or to the file `stdout`); stderr is kept to spot
    crashes.  The working directory is an empty one: no `python -c` imports the work tree,
    no config is found there."""
    with open(stdout or os.devnull, "wb") as devnull, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        argv = [TIME_BIN, "-f", "%M", "-o", rss.name, *cmd] if TIME_BIN else cmd
        load = os.getloadavg()[0]
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=devnull, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                cwd=NEUTRAL_CWD)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        # wait4 gives this child's own rusage (including its reaped children), unlike
        # RUSAGE_CHILDREN which accumulates over every run.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        sampler.done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        peak_kb = usage.ru_maxrss
        if TIME_BIN:
            # GNU time writes "Command exited with non-zero status N" before the number
            lines = rss.read().split()
            peak_kb = int(lines[-1]) if lines and lines[-1].isdigit() else peak_kb
    # memory: the largest single process (exact), or all of a multi-process tool together
    # (sampled), whichever is more
    return Run(wall=round(wall, 4), cpu=round(usage.ru_utime + usage.ru_stime, 4),
               rss_mb=round(max(peak_kb, sampler.peak_kb) / 1024, 1),
               largest_process_mb=round(peak_kb / 1024, 1), tree_pss_mb=round(sampler.peak_kb / 1024, 1),
               exit=proc.returncode,
               load_before=round(load, 2), stderr_tail=stderr[-600:] if stderr.strip() else "")


def summarise(runs: list[Run]) -> dict:
    return {"reps": len(runs),
            "wall": round(statistics.median(r["wall"] for r in runs), 4),
            "cpu": round(statistics.median(r["cpu"] for r in runs), 4),
            "rss_mb": max(r["rss_mb"] for r in runs),
            "exit": sorted({r["exit"] for r in runs}),
            "runs": runs}


def check_runs(name: str, runs: list[Run], ok_exits: set[int]) -> str | None:
    """A tool that crashed was not measured doing its job: say so instead of timing it."""
    for r in runs:
        if r["exit"] not in ok_exits or "Traceback (most recent call last)" in r["stderr_tail"]:
            return f"{name}: exit {r['exit']}: {r['stderr_tail'].strip()[-300:]}"
    return None


def checkov_resources(report: str) -> int | None:
    """How many resources a checkov JSON report says were scanned (None: not a report).
    checkov quietly skips every path under a directory whose name starts with a dot, and
    a run that scanned nothing must not be timed as if it had done the work."""
    try:
        with open(report, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    reports = data if isinstance(data, list) else [data]
    return sum(int((r.get("summary") or {}).get("resource_count") or 0) for r in reports if isinstance(r, dict))


# ---------------------------------------------------------------- tools

def find_kubelint(explicit: str | None) -> str:
    if explicit:
        exe = shutil.which(explicit)
        return os.path.abspath(exe) if exe else sys.exit(f"bench: {explicit}: not an executable")
    exe = shutil.which("kubelint-cc", path=os.path.dirname(sys.executable)) or shutil.which("kubelint-cc")
    if not exe:
        sys.exit("bench: kubelint-cc not found next to this python or on PATH (pip install . first, or --kubelint)")
    return exe


def interpreter_of(script: str) -> str:
    """The python a console script runs with (its #! line), for the `python -c pass` baseline."""
    try:
        with open(script, "rb") as f:
            first = f.readline().decode("utf-8", "replace").strip()
    except OSError:
        return sys.executable
    if first.startswith("#!"):
        candidate = first[2:].strip().split()[0]
        if os.access(candidate, os.X_OK):
            return candidate
    return sys.executable


def ensure_venv(where: Path, requirement: str, log) -> tuple[Path | None, str]:
    """A venv with `requirement` installed, reused when a previous run completed it."""
    marker = where / ".bench-installed"
    python = where / "bin" / "python"
    if marker.is_file() and marker.read_text() == requirement and python.exists():
        return python, ""
    log(f"installing {requirement} into {where} (once; cached)")
    shutil.rmtree(where, ignore_errors=True)
    steps = [[sys.executable, "-m", "venv", str(where)],
             [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement]]
    for step in steps:
        try:
            proc = subprocess.run(step, capture_output=True, text=True, timeout=3600)
        except (OSError, subprocess.TimeoutExpired) as e:
            return None, f"{' '.join(step[:4])}: {e}"
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return None, f"{' '.join(step[:4])} failed: {' / '.join(tail)}"
    marker.write_text(requirement)
    return python, ""


def tool_version(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=NEUTRAL_CWD)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (proc.stdout or proc.stderr).strip().splitlines()[-1] if (proc.stdout or proc.stderr).strip() else "?"


# ---------------------------------------------------------------- inputs

def manifest_files(paths: list[Path]) -> list[Path]:
    """The files kubelint-cc would scan, in its order."""
    out: list[Path] = []
    for p in paths:
        if p.is_file():
            out.append(p)
            continue
        for d, dirs, names in os.walk(p):
            dirs[:] = sorted(x for x in dirs if not x.startswith("."))
            out.extend(Path(d) / n for n in sorted(names) if n.endswith(EXTENSIONS))
    return out


def warm(files: list[Path]) -> int:
    """Reads every file once so that no tool pays for the first, cold read; returns bytes."""
    total = 0
    for f in files:
        try:
            total += len(f.read_bytes())
        except OSError:
            pass
    return total


def synthetic_set(cache: Path, generator: Path, n: int, seed: int, log) -> Path:
    """make_synthetic.py output for (n, seed), generated once; a changed generator regenerates."""
    out = cache / "synthetic" / f"n{n}-seed{seed}"
    marker = out.parent / f"n{n}-seed{seed}.done"
    digest = hashlib.sha256(generator.read_bytes()).hexdigest()
    if marker.is_file() and marker.read_text() == digest and out.is_dir():
        return out
    log(f"generating {n:,} synthetic files in {out} (once; cached)")
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, str(generator), "--out", str(out), "--files", str(n),
                    "--seed", str(seed), "--quiet"], check=True)
    marker.write_text(digest)
    return out


def one_file_pick(files: list[Path]) -> Path:
    """A typical pre-commit input: the median-sized file holding a Deployment."""
    deployments = []
    for f in files:
        try:
            if b"kind: Deployment" in f.read_bytes():
                deployments.append(f)
        except OSError:
            pass
    pool = sorted(deployments or files, key=lambda f: (f.stat().st_size, str(f)))
    return pool[len(pool) // 2]


# ---------------------------------------------------------------- the benchmark

class Bench:
    def __init__(self, args):
        self.args = args
        self.cache = Path(args.cache_dir).resolve()
        self.cache.mkdir(parents=True, exist_ok=True)
        self.kubelint = find_kubelint(args.kubelint)
        self.python = interpreter_of(self.kubelint)
        self.floor_python: Path | None = None
        self.checkov: str | None = None
        self.notes: list[str] = []

    def log(self, msg: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    def setup(self) -> dict:
        self.floor_python, why = ensure_venv(self.cache / "venv-floor", "pyyaml", self.log)
        if self.floor_python is None:
            self.notes.append(f"floor unavailable ({why})")
        elif subprocess.run([str(self.floor_python), "-c", "import yaml; assert yaml.__with_libyaml__"],
                            capture_output=True).returncode != 0:
            self.notes.append("floor unavailable (PyYAML installed without libyaml)")
            self.floor_python = None
        if self.args.checkov:
            python, why = ensure_venv(self.cache / "venv-checkov", "checkov", self.log)
            if python is None:
                self.notes.append(f"checkov unavailable ({why})")
            else:
                self.checkov = str(python.parent / "checkov")
        versions = {"kubelint-cc": tool_version([self.kubelint, "--version"]),
                    "python": platform.python_version()}
        where = tool_version([self.python, "-c", "import kubelint_cc; print(kubelint_cc.__file__)"])
        versions["kubelint-cc location"] = where
        if "site-packages" not in where:
            # An editable install imports from the work tree, without .pyc files when
            # PYTHONDONTWRITEBYTECODE is set: every run then compiles the package again.
            self.notes.append(f"kubelint-cc is imported from {where}, not an installed package: start-up is "
                              "slower than after `pip install .`")
        if self.floor_python:
            versions["pyyaml"] = tool_version([str(self.floor_python), "-c",
                                               "import yaml; print(yaml.__version__)"])
        if self.checkov:
            versions["checkov"] = tool_version([self.checkov, "--version"])
        return versions

    # Commands per tool, for a list of paths (files or directories).
    def ours(self, paths):
        return [self.kubelint, "scan", "--format", "json", *map(str, paths)]

    def floor(self, paths):
        return [str(self.floor_python), "-c", FLOOR_CODE, *map(str, paths)]

    def checkov_cmd(self, paths):
        flag = "-d" if len(paths) == 1 and Path(paths[0]).is_dir() else "-f"
        return [self.checkov, flag, *map(str, paths), "--framework", "kubernetes",
                "--skip-download", "--quiet", "-o", "json"]

    def time_tools(self, label: str, tools: dict, reps: int) -> dict:
        """Alternates the tools rep by rep; returns {tool: summary} (or {"error": ...})."""
        runs: dict[str, list[Run]] = {name: [] for name in tools}
        for rep in range(reps):
            for name, (cmd, _, *prepare) in tools.items():
                if name in runs and isinstance(runs[name], list):
                    self.log(f"{label}: {name} rep {rep + 1}/{reps}")
                    for step in prepare:  # untimed: a cache emptied, a file changed
                        step(rep)
                    if name == "checkov":
                        with tempfile.NamedTemporaryFile(suffix=".json") as report:
                            runs[name].append(measure(cmd, stdout=report.name))
                            count = checkov_resources(report.name)
                        runs[name][-1]["resources"] = count
                        bad = check_runs(name, runs[name][-1:], tools[name][1]) or (
                            None if count else "checkov: no JSON report on stdout: not comparable" if count is None
                            else "checkov: its report says it scanned 0 resources (it skips paths under "
                                 "dot-directories): not comparable")
                    else:
                        runs[name].append(measure(cmd))
                        bad = check_runs(name, runs[name][-1:], tools[name][1])
                    if bad:
                        self.notes.append(f"{label}: {bad}")
                        runs[name] = {"error": bad}
        return {name: (summarise(r) if isinstance(r, list) else r) for name, r in runs.items()}

    def dataset(self, kind: str, label: str, paths: list[Path], reps: int, with_checkov: bool) -> dict:
        files = manifest_files(paths)
        nbytes = warm(files)
        self.log(f"{label}: {len(files):,} files, {nbytes / 1e6:.1f} MB")
        # cold: no cache (emptied before each run, which then writes one); warm: a re-scan
        # with nothing changed, the cache written by an untimed run first
        tools = {"kubelint-cc": (self.ours(paths), {0, 1, 2}, lambda rep: self.empty_cache())}
        if self.floor_python:
            tools["floor"] = (self.floor(paths), {0})
        tools["kubelint-cc warm"] = (self.ours(paths), {0, 1, 2})
        self.empty_cache()
        measure(self.ours(paths))
        results = self.time_tools(label, tools, reps)
        self.empty_cache()
        if with_checkov and self.checkov:
            # checkov is slow: its own (fewer) repetitions, after ours
            results.update(self.time_tools(label, {"checkov": (self.checkov_cmd(paths), {0, 1})},
                                           self.args.checkov_reps))
        return {"kind": kind, "label": label, "files": len(files), "bytes": nbytes,
                "paths": [str(p) for p in paths], "results": results}

    def empty_cache(self) -> None:
        shutil.rmtree(CACHE, ignore_errors=True)

    def one_file(self, path: Path, reps: int) -> dict:
        """What a pre-commit hook on one changed file costs: the file is changed before each
        run (a comment line), so its result is never in the cache, while the config's verdict
        and the SARIF rules are, as in a repository where the hook has run before."""
        plain_dir, config_dir = Path(NEUTRAL_CWD) / "one", Path(NEUTRAL_CWD) / "one-config"
        for d in (plain_dir, config_dir):
            d.mkdir(exist_ok=True)
            shutil.copyfile(path, d / path.name)
        (config_dir / ".kubelint-cc.yaml").write_text(CONFIG)
        original = path.read_bytes()

        def change(rep: int) -> None:
            for d in (plain_dir, config_dir):
                (d / path.name).write_bytes(original + f"\n# changed {rep} {time.time()}\n".encode())

        # Import caches (.pyc) and kubelint-cc's cache are warmed by one untimed run of each tool.
        # The second floor is the least any CLI built on the design card's libraries pays:
        # importing them, before reading a byte.
        tools = {"kubelint-cc": (self.ours([plain_dir / path.name]), {0, 1, 2}, change),
                 ONE_CONFIG_SARIF: ([self.kubelint, "scan", "--format", "sarif", str(config_dir / path.name)],
                                    {0, 1, 2}, change),
                 "python -c pass": ([self.python, "-c", "pass"], {0}),
                 LIBRARIES: ([self.python, "-c", LIBRARIES], {0})}
        if self.checkov:
            tools["checkov"] = (self.checkov_cmd([path]), {0, 1})
        for cmd, *_ in tools.values():
            measure(cmd)
        return {"label": "one file", "file": str(path), "bytes": path.stat().st_size,
                "results": self.time_tools("one file", tools, reps)}

    def helm_chart(self, chart: Path, reps: int) -> dict | None:
        """What rendering a chart costs next to scanning its output: `scan CHART` (render,
        scan, map back), `scan` of the same output saved to a file, and rendering alone."""
        render = (f"from kubelint_cc.render import helm; import sys; "
                  f"sys.stdout.write(helm.render({str(chart)!r}, helm.Values()))")
        if subprocess.run([self.python, "-c", "from kubelint_cc.render import helm; "
                           "raise SystemExit(helm.renderer() is None)"], capture_output=True).returncode:
            self.notes.append("Helm chart: no Helm renderer (kubelint-cc[helm] or helm): not measured")
            return None
        rendered = self.cache / "helm-rendered.yaml"
        rendered.write_text(subprocess.run([self.python, "-c", render], capture_output=True, text=True,
                                           check=True).stdout)
        # --no-cache: rendered charts are never cached, so their saved output is not either,
        # or the comparison would set a fresh render against a cache hit
        tools = {"render and scan": ([*self.ours([chart]), "--no-cache"], {0, 1}),
                 "scan its output": ([*self.ours([rendered]), "--no-cache"], {0, 1}),
                 "render alone": ([self.python, "-c", render], {0})}
        for cmd, _ in tools.values():
            measure(cmd)  # warm caches
        return {"label": "Helm chart", "chart": str(chart), "renderer": tool_version(
                    [self.python, "-c", "from kubelint_cc.render import helm; print(helm.renderer())"]),
                "results": self.time_tools("Helm chart", tools, reps)}


# ---------------------------------------------------------------- report

LIBRARIES = "import click, ruamel.yaml"  # the CLI and YAML libraries kubelint-cc is built on
ONE_CONFIG_SARIF = "kubelint-cc, config, sarif"  # the one file again, with a config file and --format sarif


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def derive(data: dict) -> dict:
    """Ratios and the issue's targets, from the medians, by wall time and by CPU time
    (CPU time is what a busy machine disturbs least)."""
    def med(ds, tool, key="wall"):
        r = ds["results"].get(tool) if ds else None
        return r.get(key) if isinstance(r, dict) and key in r else None

    def per_file(ds, key):
        t = med(ds, "kubelint-cc", key)
        return round(1000 * t / ds["files"], 3) if t else None

    d: dict = {}
    real = next((ds for ds in data["datasets"] if ds["kind"] == "real"), None)
    synth = sorted((ds for ds in data["datasets"] if ds["kind"] == "synthetic"),
                   key=lambda ds: ds["files"])
    for ds in data["datasets"]:
        ds["ratios"] = {"ours/floor": ratio(med(ds, "kubelint-cc"), med(ds, "floor")),
                        "ours/floor cpu": ratio(med(ds, "kubelint-cc", "cpu"), med(ds, "floor", "cpu")),
                        "checkov/ours": ratio(med(ds, "checkov"), med(ds, "kubelint-cc")),
                        "checkov/ours cpu": ratio(med(ds, "checkov", "cpu"), med(ds, "kubelint-cc", "cpu")),
                        "warm/floor": ratio(med(ds, "kubelint-cc warm"), med(ds, "floor")),
                        "warm/floor cpu": ratio(med(ds, "kubelint-cc warm", "cpu"), med(ds, "floor", "cpu")),
                        "ms/file": per_file(ds, "wall"), "ms/file cpu": per_file(ds, "cpu")}
    one = data.get("one_file")
    if one:
        one["ratios"] = {"ours/pass": ratio(med(one, "kubelint-cc"), med(one, "python -c pass")),
                         "ours/pass cpu": ratio(med(one, "kubelint-cc", "cpu"), med(one, "python -c pass", "cpu")),
                         "libraries/pass": ratio(med(one, LIBRARIES), med(one, "python -c pass")),
                         "libraries/pass cpu": ratio(med(one, LIBRARIES, "cpu"), med(one, "python -c pass", "cpu")),
                         "ours/libraries": ratio(med(one, "kubelint-cc"), med(one, LIBRARIES)),
                         "ours/libraries cpu": ratio(med(one, "kubelint-cc", "cpu"), med(one, LIBRARIES, "cpu")),
                         "config sarif/libraries": ratio(med(one, ONE_CONFIG_SARIF), med(one, LIBRARIES)),
                         "config sarif/libraries cpu": ratio(med(one, ONE_CONFIG_SARIF, "cpu"),
                                                             med(one, LIBRARIES, "cpu")),
                         "checkov/ours": ratio(med(one, "checkov"), med(one, "kubelint-cc")),
                         "checkov/ours cpu": ratio(med(one, "checkov", "cpu"), med(one, "kubelint-cc", "cpu"))}
    targets = {}
    if real:
        q = real["ratios"]
        targets["real corpus, cold: kubelint-cc / floor <= %g" % TARGETS["floor_ratio"]] = \
            _verdict(q["ours/floor"], q["ours/floor cpu"], TARGETS["floor_ratio"], below=True)
        targets["real corpus, warm: kubelint-cc / floor <= %g" % TARGETS["warm_ratio"]] = \
            _verdict(q["warm/floor"], q["warm/floor cpu"], TARGETS["warm_ratio"], below=True)
        targets["real corpus: checkov / kubelint-cc >= %g" % TARGETS["checkov_ratio"]] = \
            _verdict(q["checkov/ours"], q["checkov/ours cpu"], TARGETS["checkov_ratio"], below=False)
    if one:
        q = one["ratios"]
        targets["one file: kubelint-cc / import click, ruamel.yaml <= %g" % TARGETS["one_file_ratio"]] = \
            _verdict(q["ours/libraries"], q["ours/libraries cpu"], TARGETS["one_file_ratio"], below=True)
        targets["one file, config, SARIF: kubelint-cc / import click, ruamel.yaml <= %g"
                % TARGETS["one_file_ratio"]] = \
            _verdict(q["config sarif/libraries"], q["config sarif/libraries cpu"], TARGETS["one_file_ratio"],
                     below=True)
    if len(synth) >= 2 and synth[0]["ratios"]["ms/file"] and synth[-1]["ratios"]["ms/file"]:
        small, large = synth[0]["ratios"], synth[-1]["ratios"]
        lin = {"small": synth[0]["files"], "large": synth[-1]["files"],
               "ratio": ratio(large["ms/file"], small["ms/file"]),
               "ratio cpu": ratio(large["ms/file cpu"], small["ms/file cpu"])}
        d["linearity"] = lin
        targets[f"{lin['large']:,} vs {lin['small']:,} files: time per file ratio <= {TARGETS['linearity']:g}"] = \
            _verdict(lin["ratio"], lin["ratio cpu"], TARGETS["linearity"], below=True)
    if synth:
        rss = med(synth[-1], "kubelint-cc", "rss_mb")
        targets[f"{synth[-1]['files']:,} files: peak RSS <= {TARGETS['peak_rss_mb']:g} MB"] = \
            _verdict(rss, None, TARGETS["peak_rss_mb"], below=True)
    d["targets"] = targets
    return d


def _verdict(value, cpu_value, limit, below: bool) -> dict:
    def met(v):
        return None if v is None else (v <= limit if below else v >= limit)
    return {"value": value, "met": met(value), "cpu value": cpu_value, "cpu met": met(cpu_value)}


def _cell(r: dict | None, rss=True) -> str:
    if not isinstance(r, dict):
        return "–"
    if "error" in r:
        return "failed"
    text = f"{_secs(r['wall'])} ({_secs(r['cpu'])} CPU)"
    return text + (f", {r['rss_mb']:.0f} MB" if rss else "")


def _secs(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.1f} s" if s < 100 else f"{s:.0f} s"


def _met(value, met) -> str:
    if value is None:
        return "–"
    return f"{value:g}: " + ("met" if met else "**not met**")


def _mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB" if n >= 10e6 else f"{n / 1e6:.1f} MB"


def _rx(wall, cpu) -> str:
    if wall is None:
        return "–"
    return f"{wall:g}× (CPU {cpu:g}×)" if cpu is not None else f"{wall:g}×"


def markdown(data: dict) -> str:
    rows = ["| input | kubelint-cc | libyaml floor | checkov | ours / floor | checkov / ours |",
            "|---|---|---|---|---|---|"]
    for ds in data["datasets"]:
        r, q = ds["results"], ds["ratios"]
        rows.append(f"| {ds['label']}: {ds['files']:,} file{'s' if ds['files'] != 1 else ''}, {_mb(ds['bytes'])} "
                    f"| {_cell(r.get('kubelint-cc'))} | {_cell(r.get('floor'))} | {_cell(r.get('checkov'))} "
                    f"| {_rx(q['ours/floor'], q['ours/floor cpu'])} | {_rx(q['checkov/ours'], q['checkov/ours cpu'])} |")
        if r.get("kubelint-cc warm"):
            rows.append(f"| {ds['label']}, warm (cached, nothing changed) | {_cell(r.get('kubelint-cc warm'))} "
                        f"| (as above) | – | {_rx(q['warm/floor'], q['warm/floor cpu'])} | – |")
    one = data.get("one_file")
    if one:
        r = one["results"]
        rows.append(f"| one file ({one['bytes'] / 1000:.1f} kB, as pre-commit runs it) "
                    f"| {_cell(r.get('kubelint-cc'))} | `python -c pass`: {_cell(r.get('python -c pass'), rss=False)} "
                    f"| {_cell(r.get('checkov'))} | {_rx(one['ratios']['ours/pass'], one['ratios']['ours/pass cpu'])} of `pass` "
                    f"| {_rx(one['ratios']['checkov/ours'], one['ratios']['checkov/ours cpu'])} |")
        if r.get(LIBRARIES):
            q = one["ratios"]
            rows.append(f"| one file: `{LIBRARIES}` alone | – | {_cell(r.get(LIBRARIES), rss=False)} | – "
                        f"| {_rx(q['libraries/pass'], q['libraries/pass cpu'])} of `pass`; "
                        f"kubelint-cc is {_rx(q['ours/libraries'], q['ours/libraries cpu'])} of it | – |")
        if r.get(ONE_CONFIG_SARIF):
            q = one["ratios"]
            rows.append(f"| one file, with a config file and `--format sarif` | {_cell(r.get(ONE_CONFIG_SARIF))} "
                        f"| `{LIBRARIES}`: {_cell(r.get(LIBRARIES), rss=False)} | – "
                        f"| {_rx(q['config sarif/libraries'], q['config sarif/libraries cpu'])} of the import | – |")
    helm = data.get("helm")
    if helm:
        r = helm["results"]
        rows.append(f"| Helm chart `{Path(helm['chart']).name}` ({helm['renderer']}): render and scan "
                    f"| {_cell(r.get('render and scan'))} | scan of its output: {_cell(r.get('scan its output'))} "
                    f"| render alone: {_cell(r.get('render alone'))} | – | – |")
    out = [f"{data['versions'].get('kubelint-cc', 'kubelint-cc')}; median wall time (CPU time), peak RSS; "
           f"{data['machine']['summary']}.", "", *rows, ""]
    lin = data["derived"].get("linearity")
    if lin:
        out.append(f"Time per file, {lin['large']:,} files vs {lin['small']:,}: {lin['ratio']:g}× by wall time, "
                   f"{lin['ratio cpu']:g}× by CPU time (1× is linear).")
        out.append("")
    out.append("| target (from the issue) | wall time | CPU time |")
    out.append("|---|---|---|")
    for name, v in data["derived"]["targets"].items():
        out.append(f"| {name} | {_met(v['value'], v['met'])} | {_met(v['cpu value'], v['cpu met'])} |")
    if data.get("kata"):
        sys.path.insert(0, str(REPO / "bench"))
        import kata  # noqa: PLC0415
        out += ["", kata.markdown(data["kata"]).rstrip()]
    if data["notes"]:
        out += ["", *(f"- {n}" for n in data["notes"])]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- main

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: a real-corpus subset and 1,000 synthetic files, 1 rep, no checkov")
    ap.add_argument("--reps", type=int, default=None, help="repetitions per measurement (default 3; quick 1)")
    ap.add_argument("--big-reps", type=int, default=1,
                    help=f"repetitions for synthetic sets of {BIG_SET:,}+ files (default 1)")
    ap.add_argument("--checkov-reps", type=int, default=1, help="repetitions of checkov on directories (default 1)")
    ap.add_argument("--sizes", default=None, help="synthetic set sizes (default 10000,100000; quick 1000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-kata", dest="kata", action="store_false", help="skip the Kata policy-analysis timings")
    ap.add_argument("--resources", action="store_true",
                    help="also time one 60 MB file of Pods and 500 files of 1 MB (peak memory; several minutes)")
    ap.add_argument("--kata-policies", default=None,
                    help="directory of extra *.rego policies to time (e.g. genpolicy outputs)")
    ap.add_argument("--no-checkov", dest="checkov", action="store_false")
    ap.add_argument("--checkov-max-files", type=int, default=0,
                    help="run checkov on synthetic sets up to this many files (default 0: none; "
                         "on 10,000 files it ran over 20 minutes)")
    ap.add_argument("--corpus", default=str(SHARED / "corpus" / "real"), help="real corpus directory")
    ap.add_argument("--generator", default=str(SHARED / "corpus" / "make_synthetic.py"))
    # Not a dot-directory: checkov skips every file below one.
    ap.add_argument("--cache-dir", default=str(REPO / "bench" / "cache"),
                    help="venvs and synthetic sets (default bench/cache)")
    ap.add_argument("--kubelint", default=None, help="kubelint-cc executable (default: installed CLI)")
    ap.add_argument("--json", default=str(REPO / "bench" / "results.json"), help="results file")
    args = ap.parse_args(argv)
    if args.quick:
        args.checkov = False
        args.reps = args.reps or 1
        args.sizes = args.sizes or "1000"
    args.reps = args.reps or 3
    try:
        args.sizes = [int(s.replace("_", "")) for s in (args.sizes or "10000,100000").split(",") if s.strip()]
    except ValueError:
        ap.error("--sizes: comma-separated file counts, e.g. 10000,100000")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    started = time.time()
    versions = bench.setup()
    cpu = platform.processor() or platform.machine()
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": cpu,
               "summary": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
                          f"Python {platform.python_version()}"}
    data = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            "command": "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "machine": machine, "versions": versions, "one_file": None, "helm": None, "datasets": [], "notes": []}

    def save(complete: bool) -> str:
        # Written after every input, so that a run cut short still leaves its numbers.
        data["complete"] = complete
        data["notes"] = bench.notes + busy_note(data)
        data["derived"] = derive(data)
        data["seconds"] = round(time.time() - started, 1)
        data["markdown"] = markdown(data)
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
        return data["markdown"]

    corpus = Path(args.corpus).resolve()
    real_files = manifest_files([corpus]) if corpus.is_dir() else []
    if not real_files:
        bench.notes.append(f"real corpus not found at {corpus}: skipped")
    generator = Path(args.generator).resolve()
    if not generator.is_file():
        bench.notes.append(f"synthetic generator not found at {generator}: skipped")

    # One file first: it takes seconds, and it is what every pre-commit run costs.
    pool = real_files or (manifest_files([synthetic_set(bench.cache, generator, min(args.sizes), args.seed,
                                                        bench.log)]) if generator.is_file() and args.sizes else [])
    if pool:
        data["one_file"] = bench.one_file(one_file_pick(pool), max(args.reps, 5) if not args.quick else 3)
        save(False)

    # A small chart of the test fixtures (a sub-chart, a range, a toYaml block).
    data["helm"] = bench.helm_chart(REPO / "tests" / "fixtures" / "helm" / "web", max(args.reps, 3))
    save(False)

    if real_files:
        label = "real corpus" if corpus == (SHARED / "corpus" / "real").resolve() else f"corpus {corpus.name}"
        if args.quick:
            # every 10th file: a spread across the corpus' projects, small enough for CI
            data["datasets"].append(bench.dataset("real", f"{label} (every 10th file)", real_files[::10],
                                                  args.reps, False))
        else:
            data["datasets"].append(bench.dataset("real", label, [corpus], args.reps, args.checkov))
        save(False)

    if generator.is_file():
        for n in args.sizes:
            path = synthetic_set(bench.cache, generator, n, args.seed, bench.log)
            reps = min(args.reps, args.big_reps) if n >= BIG_SET else args.reps
            data["datasets"].append(bench.dataset("synthetic", "synthetic", [path], reps,
                                                  args.checkov and n <= args.checkov_max_files))
            save(False)

    if args.resources:  # the hostile-input issue's memory cases: one 60 MB file, 500 files of 1 MB
        sys.path.insert(0, str(REPO / "bench"))
        import resources  # noqa: PLC0415 - bench/resources.py, beside this script
        for label, path in resources.inputs(bench.cache, bench.log):
            data["datasets"].append(bench.dataset("resources", label, [path], 1, False))
            save(False)

    if args.kata:
        sys.path.insert(0, str(REPO / "bench"))
        import kata  # noqa: PLC0415 - bench/kata.py, beside this script
        data["kata"] = kata.measure(SHARED / "kata" / "samples", Path(args.kata_policies) if args.kata_policies else None)

    table = save(True)
    print(table)
    print(f"results: {args.json} ({data['seconds']:.0f} s)", file=sys.stderr)
    return 0


def busy_note(data: dict) -> list[str]:
    loads = [r["load_before"] for ds in data["datasets"] + ([data["one_file"]] if data["one_file"] else [])
             for res in ds["results"].values() if isinstance(res, dict) and "runs" in res for r in res["runs"]]
    if loads and max(loads) > (os.cpu_count() or 1):
        return [f"the machine was busy (1-minute load up to {max(loads):g} on {os.cpu_count()} CPUs): "
                "wall times are inflated, CPU times less so"]
    return []


if __name__ == "__main__":
    sys.exit(main())
