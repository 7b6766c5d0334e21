"""Thin wrapper around regopy (Python binding of rego-cpp).

regopy API used:
  regopy.Interpreter()                         one interpreter per policy text
  Interpreter.add_module(name, source)         parse; raises regopy.RegoError with
                                               "(error <len>:<name>|<offset>|<len> (errormsg <len>:<msg>) ...)"
  Interpreter.build(None, [entrypoints])       compile once into a Bundle ("agent_policy" =
                                               the whole package object; "agent_policy/<Rule>")
  Bundle.ok()                                  compile errors (duplicate defaults, ...)
  regopy.Input(value) / Interpreter.set_input  the request input (an Input is built once per
                                               probe and cloned into each interpreter)
  Interpreter.query_bundle_entrypoint(b, ep)   evaluate; Output.ok(), Output.results[0].expressions[0]

rego-cpp prints compile errors and print() output on the process's stdout (C++ std::cout),
so every engine call runs with file descriptor 1 redirected to a temporary file; the captured
text is used for compile-error messages.  A module-level lock serialises engine use.
"""
from __future__ import annotations

import ctypes
import os
import re
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

try:
    import resource
except ImportError:  # pragma: no cover - not on POSIX: no such limits to check
    resource = None  # type: ignore[assignment]

PACKAGE = "agent_policy"
_LOCK = threading.RLock()
_ERR_LOC = re.compile(r"\(error \d+:[^|\s]*\|(\d+)\|(\d+)")
_ERR_MSG = re.compile(r"\(errormsg \d+:([^\n]*?)\)\s*$", re.M)

try:  # libc fflush(NULL) flushes the C stdio buffers rego-cpp writes through
    _LIBC = ctypes.CDLL(None)
except OSError:  # pragma: no cover
    _LIBC = None


class RegoEngineUnavailable(RuntimeError):
    """regopy (the Rego engine) is not installed or cannot start in this process."""


# rego-cpp's allocator (snmalloc) reserves about 256 GiB of address space when the library
# loads and aborts the whole process (SIGABRT, "Failed to initialise snmalloc") if it cannot:
# an address-space or data-segment limit (`ulimit -v`, `ulimit -d`) below that kills us
# before Python can report anything.  Limits from 1 TiB up leave a wide margin.
ADDRESS_SPACE_NEEDED = 1 << 40
_LIMITS = (("RLIMIT_AS", "ulimit -v"), ("RLIMIT_DATA", "ulimit -d"))


def _limit_problem() -> str | None:
    if resource is None:  # pragma: no cover
        return None
    for name, shell in _LIMITS:
        which = getattr(resource, name, None)
        if which is None:  # pragma: no cover - not on this platform
            continue
        try:
            soft, _ = resource.getrlimit(which)
        except (OSError, ValueError):  # pragma: no cover
            continue
        if soft != resource.RLIM_INFINITY and soft < ADDRESS_SPACE_NEEDED:
            return (f"the Rego engine (regopy/rego-cpp) cannot start under the {name} limit of "
                    f"{_size(soft)} ({shell}): its allocator reserves about 256 GiB of address space at start-up "
                    f"and would abort the process; remove the limit (`{shell} unlimited`) to analyse "
                    f"Kata agent policies")
    return None


def _size(n: int) -> str:
    return f"{n / (1 << 30):.4g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.4g} MiB"


def load_regopy():
    if "regopy" not in sys.modules:  # once loaded, the allocator is up and limits no longer matter
        problem = _limit_problem()
        if problem:
            raise RegoEngineUnavailable(problem)
    try:
        import regopy  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RegoEngineUnavailable(
            "kubelint_cc.kata needs the 'regopy' package (Python binding of rego-cpp) to "
            "evaluate Kata agent policies: pip install regopy") from exc
    return regopy


# Probe inputs do not depend on the policy: each is converted to a regopy.Input once.
# set_input clones the Input into the interpreter, so one Input serves every policy, and it
# skips rego-cpp's term parser, which costs milliseconds per call for these documents.
# Keyed by identity (the value is kept alive with it): probe values are never mutated.
_INPUTS: dict[int, tuple[Any, Any]] = {}


def _input(regopy, value: Any):
    hit = _INPUTS.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    if len(_INPUTS) >= 64:  # callers use a handful of fixed probes; bound it anyway
        _INPUTS.clear()
    inp = regopy.Input(value)
    _INPUTS[id(value)] = (value, inp)
    return inp


def _flush() -> None:
    try:
        sys.stdout.flush()
    except Exception:  # pragma: no cover
        pass
    if _LIBC is not None:
        try:
            _LIBC.fflush(None)
        except Exception:  # pragma: no cover
            pass


@contextmanager
def captured_stdout() -> Iterator[list[str]]:
    """Redirect file descriptor 1 for the duration; the list receives the captured text."""
    out: list[str] = []
    _flush()
    try:
        saved = os.dup(1)
    except OSError:  # no fd 1 at all: nothing to protect
        yield out
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 1)
        try:
            yield out
        finally:
            _flush()
            os.dup2(saved, 1)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read(1 << 20).decode("utf-8", "replace"))


def _offset_to_line(text: str, offset: int) -> int:
    b = text.encode("utf-8")[:offset]
    return b.count(b"\n") + 1


def _error_lines(captured: str) -> str:
    keep = []
    for ln in captured.splitlines():
        s = ln.strip()
        if not s or s == "Errors:" or s.startswith("--") or set(s) <= {"~"} or s.startswith("Pass ") \
                or s in ("wellformed_error",) or s.startswith("compreturn"):
            continue
        keep.append(s)
    return "; ".join(dict.fromkeys(keep))[:300]


@dataclass
class ProbeResult:
    ok: bool                                   # whole-package evaluation succeeded
    values: dict[str, Any] = field(default_factory=dict)   # rule -> value (absent = undefined)
    errors: set[str] = field(default_factory=set)          # rules whose evaluation failed


@dataclass
class EngineResult:
    parse_error: str | None = None
    parse_line: int | None = None
    compile_error: str | None = None
    probes: dict[str, ProbeResult] = field(default_factory=dict)


def evaluate(text: str, probes: list[tuple[str, Any]], rule_names: list[str]) -> EngineResult:
    """Compile ``text`` once and evaluate ``data.agent_policy`` for each probe input.

    A probe input of None means "no input document" and must come first; probe values are
    converted once and cached by identity, so they must not be mutated afterwards.  If the
    package-level query fails (e.g. conflicting complete rules for one input) each rule
    in ``rule_names`` is evaluated on its own so that one failing rule does not hide the
    others.
    """
    regopy = load_regopy()
    res = EngineResult()
    with _LOCK, captured_stdout() as cap:
        interp = regopy.Interpreter()
        try:
            interp.add_module(PACKAGE, text)
        except regopy.RegoError as exc:
            msg = str(exc)
            m = _ERR_LOC.search(msg)
            res.parse_line = _offset_to_line(text, int(m.group(1))) if m else None
            msgs = _ERR_MSG.findall(msg)
            res.parse_error = "; ".join(dict.fromkeys(msgs)) or msg.strip()[:300]
            return res
        try:
            bundle = interp.build(None, [PACKAGE])
            ok = bundle.ok()
        except regopy.RegoError as exc:
            bundle, ok = None, False
            cap_msg = str(exc)
        else:
            cap_msg = ""
        if not ok:
            _flush()
            res.compile_error = cap_msg or "compile error"
            res._needs_capture = True  # type: ignore[attr-defined]
        else:
            per_rule_bundle = None
            for name, value in probes:
                if value is not None:
                    interp.set_input(_input(regopy, value))
                out = interp.query_bundle_entrypoint(bundle, PACKAGE)
                if out.ok() and out.results:
                    exprs = out.results[0].expressions
                    val = exprs[0] if exprs else {}
                    res.probes[name] = ProbeResult(ok=True, values=val if isinstance(val, dict) else {})
                    continue
                if out.ok():  # undefined package (nothing defined in it)
                    res.probes[name] = ProbeResult(ok=True)
                    continue
                pr = ProbeResult(ok=False)
                if per_rule_bundle is None:
                    per_rule_bundle = interp.build(None, [f"{PACKAGE}/{r}" for r in rule_names])
                    if not per_rule_bundle.ok():  # pragma: no cover - defensive
                        res.probes[name] = pr
                        continue
                for r in rule_names:
                    o = interp.query_bundle_entrypoint(per_rule_bundle, f"{PACKAGE}/{r}")
                    if not o.ok():
                        pr.errors.add(r)
                    elif o.results and o.results[0].expressions:
                        pr.values[r] = o.results[0].expressions[0]
                res.probes[name] = pr
    if res.compile_error is not None and getattr(res, "_needs_capture", False):
        detail = _error_lines(cap[0] if cap else "")
        if detail:
            res.compile_error = detail
    return res
