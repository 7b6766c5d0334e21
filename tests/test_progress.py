"""The progress bar: drawn on a terminal for scans over a second, never in pipes."""
import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import termios
import threading
import time

import pytest

from conftest import _cli
from kubelint_cc import engine
from kubelint_cc.progress import Progress

ERASE = "\x1b[K"
POD = ("apiVersion: v1\nkind: Pod\nmetadata: {{name: p{}}}\nspec:\n"
       "  containers:\n  - {{name: c, image: x}}\n")
CLEAN = ("apiVersion: v1\nkind: Pod\nmetadata: {{name: p{}}}\nspec:\n  securityContext:\n"
         "    runAsNonRoot: true\n    seccompProfile: {{type: RuntimeDefault}}\n  containers:\n"
         "  - name: c\n    image: x\n    securityContext:\n      allowPrivilegeEscalation: false\n"
         "      capabilities: {{drop: [ALL]}}\n")


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def term(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    clock = Clock()
    stream = Terminal()
    return stream, clock, Progress(stream, clock=clock)


def test_nothing_is_drawn_in_the_first_second(term):
    stream, clock, bar = term
    bar.start(10)
    for t in (0.0, 0.5, 0.99):
        clock.now = t
        bar.advance()
    bar.clear()
    bar.close()
    assert stream.getvalue() == ""


def test_drawn_after_a_second_on_one_line(term):
    stream, clock, bar = term
    bar.start(10_000)
    bar.advance(1233)
    clock.now = 1.25
    bar.advance()
    assert stream.getvalue() == "\rkubelint-cc: 1,234/10,000 files (12%), 1.2 s" + ERASE


def test_redraws_at_most_ten_times_a_second(term):
    stream, clock, bar = term
    bar.start(1000)
    for i in range(128):  # a file every 1/64 s (exact in binary) for 2 s, after the first second
        clock.now = 1.0 + i / 64
        bar.advance()
    assert 15 <= stream.getvalue().count("\r") <= 20
    assert stream.getvalue().endswith(f"127/1,000 files (12%), 3.0 s{ERASE}")  # the last redraw is current


def test_clear_erases_and_the_bar_comes_back(term):
    stream, clock, bar = term
    bar.start(3)
    bar.clear()  # nothing shown: nothing to erase
    assert stream.getvalue() == ""
    clock.now = 1.0
    bar.advance()
    bar.clear()
    assert stream.getvalue().endswith(ERASE + "\r" + ERASE)
    bar.clear()  # erased once only
    assert stream.getvalue().count("\r") == 2
    clock.now = 2.0
    bar.advance()
    assert stream.getvalue().endswith("\rkubelint-cc: 2/3 files (66%), 2.0 s" + ERASE)


def test_close_erases_for_good(term):
    stream, clock, bar = term
    bar.start(3)
    clock.now = 1.0
    bar.advance()
    bar.close()
    drawn = stream.getvalue()
    assert drawn.endswith(ERASE + "\r" + ERASE)
    clock.now = 5.0
    bar.advance()
    bar.clear()
    bar.close()
    assert stream.getvalue() == drawn


@pytest.mark.parametrize("stream, term_env", [(io.StringIO(), "xterm"), (Terminal(), "dumb")])
def test_no_bar_off_a_terminal_or_on_a_dumb_one(monkeypatch, stream, term_env):
    monkeypatch.setenv("TERM", term_env)
    clock = Clock()
    bar = Progress(stream, clock=clock)
    bar.start(2)
    clock.now = 5.0
    bar.advance()
    bar.clear()
    bar.advance()
    bar.close()
    assert stream.getvalue() == ""


def test_never_raises(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")

    class Gone(Terminal):
        def write(self, text):
            raise OSError(5, "Input/output error")

    clock = Clock()
    for stream in (Gone(), Terminal()):
        bar = Progress(stream, clock=clock)
        stream.close()  # a closed stream raises ValueError on every call, isatty included
        clock.now += 2.0
        bar.advance()
        bar.clear()
        bar.close()
    assert Progress(None).advance() is None


def test_trimmed_to_the_terminal_width(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 20, 0, 0))
    clock = Clock()
    with os.fdopen(slave, "w") as stream:
        bar = Progress(stream, clock=clock)
        bar.start(100)
        clock.now = 1.0
        bar.advance()
        drawn = os.read(master, 1000).decode()
    os.close(master)
    assert drawn == "\r" + "kubelint-cc: 1/100 files (1%), 1.0 s"[:19] + ERASE


# -- wiring: the engine reports every file, in the single-process and the parallel loop

class Recorder:
    def __init__(self):
        self.total, self.done = None, 0

    def start(self, total):
        self.total = total

    def advance(self, files=1):
        self.done += files


@pytest.mark.parametrize("parallel", [False, True])
def test_scanner_reports_each_file(tmp_path, monkeypatch, parallel):
    for i in range(12):
        (tmp_path / f"p{i}.yaml").write_text(POD.format(i))
    (tmp_path / "bad.yaml").write_text("a: [unclosed\n")  # a file in error is done too
    if parallel:
        monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 2)
        monkeypatch.setenv("KUBELINT_CC_JOBS", "2")
    assert (engine._jobs([engine.load.Source("x")] * 13) > 1) is parallel
    progress = Recorder()
    result = engine.Scanner().scan([str(tmp_path)], progress=progress)
    assert result.files == 13 and result.errors
    assert progress.total == progress.done == 13


# -- end to end: the installed CLI under a pseudo-terminal

def _scan_with_stderr(tmp_path, *args, stderr_tty=True, stdout_tty=False, pod=POD):
    """Runs `scan ARGS - DIR` over a failing pod on stdin and 50 small pods in DIR; stdin is
    held back 1.5 s so the scan lasts over a second however fast the machine.
    Returns (stdout, what the terminal got)."""
    for i in range(50):
        (tmp_path / f"p{i}.yaml").write_text(pod.format(i))
    env = dict(os.environ, TERM="xterm", NO_COLOR="1")
    master, slave = pty.openpty()
    proc = subprocess.Popen(_cli() + ["scan", *args, "-", str(tmp_path)], env=env, stdin=subprocess.PIPE,
                            stdout=slave if stdout_tty else subprocess.PIPE,
                            stderr=slave if stderr_tty else subprocess.PIPE)
    os.close(slave)  # the child holds the only copy: reading the master ends when it exits
    screen = []

    def read():
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            screen.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(1.5)
    out, err = proc.communicate(POD.format("stdin").encode(), timeout=60)
    reader.join(10)
    os.close(master)
    assert proc.returncode == 1, err
    return (out or b"").decode(), (err or b"").decode() + b"".join(screen).decode()


def _render(raw: str) -> list[str]:
    """What a terminal shows for raw output: \\r, \\n and erase-to-end-of-line; no wrapping."""
    lines, row, col = [[]], 0, 0
    for token in re.findall(r"\x1b\[K|.", raw, re.S):
        if token == ERASE:
            del lines[row][col:]
        elif token == "\r":
            col = 0
        elif token == "\n":
            row += 1
            lines.append([])
        else:
            line = lines[row]
            line.extend(" " * (col - len(line)))
            line[col:col + 1] = [token]
            col += 1
    return ["".join(line) for line in lines]


def test_bar_on_a_terminal_and_json_on_stdout_intact(tmp_path):
    # Only stdin has findings: once they are written nothing but close() erases the bar.
    out, terminal = _scan_with_stderr(tmp_path, "--format", "json", pod=CLEAN)
    assert re.search(r"\rkubelint-cc: \d+/51 files \(\d+%\), \d+\.\d s\x1b\[K", terminal), repr(terminal)
    assert terminal.endswith("\r" + ERASE)  # erased before exit
    assert _render(terminal) == [""]
    doc = json.loads(out)
    assert doc["summary"]["files"] == 51 and doc["findings"]
    assert {f["file"] for f in doc["findings"]} == {"-"}


def test_text_findings_on_the_same_terminal_are_never_mixed_with_the_bar(tmp_path, run):
    _, terminal = _scan_with_stderr(tmp_path, stdout_tty=True)
    segments = terminal.split("\r")
    bars = [i for i, s in enumerate(segments) if s.startswith("kubelint-cc: ")]
    assert bars, repr(terminal)
    for i in bars:  # each bar is followed by its own erase and nothing else: the next write starts afresh
        assert re.fullmatch(r"kubelint-cc: \d+/51 files \(\d+%\), \d+\.\d s\x1b\[K", segments[i]), segments[i]
    assert any(": warning: " in s for s in segments[bars[0]:]), "no finding written after the bar appeared"
    expected = run("scan", "-", tmp_path, input=POD.format("stdin").encode(),
                   env=dict(os.environ, NO_COLOR="1")).stdout.decode().splitlines()
    assert _render(terminal) == expected + [""]


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path):
    out, err = _scan_with_stderr(tmp_path, "--format", "json", stderr_tty=False)
    assert err == ""
    assert json.loads(out)["summary"]["files"] == 51
