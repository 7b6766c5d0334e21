"""Policy analysis in a child process, under a time and a memory bound.

A policy is attacker-written code run by native code (regorus): it can recurse until the
stack overflows, allocate until the machine swaps, or loop.  So each scanning process hands
policies to one long-lived child of its own (``python -m kubelint_cc.kata.sandbox``), which
runs ``policy.classify_policy_here`` and answers with the pickled analysis.  The child:
  * has an address-space limit (MEMORY_LIMIT) and is killed after TIME_LIMIT seconds on one
    policy; a crash, a limit breach or a timeout becomes a finding on that policy and the
    next policy gets a fresh child;
  * starts with an empty environment, no stdin but the request pipe, and stdout/stderr on
    /dev/null, so nothing a policy does reaches the report but its analysis.
The engine itself sees no environment, no files and a fixed clock (engine.new_engine).

Protocol, both ways: a 4-byte big-endian length, then the payload (request: the policy as
UTF-8; answer: a pickle of ("ok", PolicyAnalysis) or ("error", message)).
"""
from __future__ import annotations

import atexit
import hashlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
from collections import OrderedDict

from .issue import Issue

TIME_LIMIT = 20.0             # seconds of wall time for one policy
MEMORY_LIMIT = 4 << 30        # bytes of address space for the child
_CACHE_SIZE = 512
_HEADER = struct.Struct(">I")

_cache: OrderedDict[str, object] = OrderedDict()
_child: "_Child | None" = None


class _Failed(Exception):
    pass


class _Child:
    def __init__(self) -> None:
        pkg_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = {"PYTHONPATH": pkg_parent, "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        self.owner = os.getpid()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kubelint_cc.kata.sandbox", str(MEMORY_LIMIT)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, close_fds=True, start_new_session=True)

    def ask(self, text: str, limit: float) -> object:
        payload = text.encode("utf-8", "surrogatepass")
        try:
            self.proc.stdin.write(_HEADER.pack(len(payload)) + payload)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _Failed(self._death()) from None
        deadline = time.monotonic() + limit
        head = self._read(_HEADER.size, deadline)
        (size,) = _HEADER.unpack(head)
        status, value = pickle.loads(self._read(size, deadline))
        if status != "ok":
            raise _Failed(f"the analysis failed: {value}")
        return value

    def _read(self, n: int, deadline: float) -> bytes:
        fd = self.proc.stdout.fileno()
        buf = bytearray()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.kill()
                raise _Failed(f"the analysis did not finish within {TIME_LIMIT:g} s")
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                raise _Failed(self._death())
            buf += chunk
        return bytes(buf)

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            return f"the Rego engine crashed ({name}), as a stack overflow or a memory limit breach does"
        if code == 3:
            return f"the Rego engine ran out of its {MEMORY_LIMIT >> 30} GiB memory bound"
        return f"the Rego engine's process ended (exit code {code})"

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except Exception:  # noqa: BLE001 - best effort at exit
            self.kill()


def _failure(message: str):
    from .policy import PolicyAnalysis  # noqa: PLC0415

    return PolicyAnalysis(loadable=False, syntax=(Issue(
        "agentPolicySyntax", "kata-policy-analysis-failed", "error",
        f"kubelint-cc could not analyse this policy: {message}. The kata-agent runs the same engine "
        f"(regorus) on it, so treat the policy as unsafe until it analyses cleanly."),))


def analyse(rego: str):
    """PolicyAnalysis of ``rego``, computed in the sandbox child (cached by text)."""
    global _child
    key = hashlib.sha256(rego.encode("utf-8", "surrogatepass")).hexdigest()
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    if os.name != "posix":  # pragma: no cover - no fork/select on pipes: analyse in process
        from .policy import classify_policy_here  # noqa: PLC0415
        return classify_policy_here(rego)
    if _child is None or _child.owner != os.getpid() or _child.proc.poll() is not None:
        _child = _Child()  # a forked scan worker never shares its parent's child
    try:
        result = _child.ask(rego, TIME_LIMIT)
    except _Failed as exc:
        _child = None
        result = _failure(str(exc))
    _cache[key] = result
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return result


@atexit.register
def _shutdown() -> None:
    if _child is not None and _child.owner == os.getpid():
        _child.close()


# ------------------------------------------------------------------------- child side ----
def _child_main(memory_limit: int) -> int:
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)   # whatever the engine prints goes nowhere
    os.dup2(devnull, 2)
    try:
        import ctypes  # noqa: PLC0415
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the scan
    except Exception:  # noqa: BLE001 - not Linux: stdin EOF still ends the loop
        pass
    try:
        import resource  # noqa: PLC0415
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):  # pragma: no cover
        pass
    from .policy import classify_policy_here  # noqa: PLC0415 - after the limits are set

    inp = sys.stdin.buffer
    while True:
        head = inp.read(_HEADER.size)
        if len(head) < _HEADER.size:
            return 0
        (size,) = _HEADER.unpack(head)
        text = inp.read(size).decode("utf-8", "surrogatepass")
        try:
            answer = ("ok", classify_policy_here(text))
        except MemoryError:
            return 3
        except RecursionError:
            answer = ("error", "the policy nests too deeply to analyse")
        except Exception as exc:  # noqa: BLE001 - reported as a finding, never a traceback
            answer = ("error", f"{type(exc).__name__}: {str(exc)[:200]}")
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_HEADER.pack(len(data)) + data)
        out.flush()


if __name__ == "__main__":
    sys.exit(_child_main(int(sys.argv[1]) if len(sys.argv) > 1 else MEMORY_LIMIT))
