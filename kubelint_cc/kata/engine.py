"""The kata-agent's own Rego engine, regorus, driven the way the agent drives it.

kata-agent (src/agent/policy/src/policy.rs) builds one ``regorus::Engine`` per policy with
raised policy-length limits, ``{"pstate": {}}`` as data, prints gathered (not written), and
queries ``data.agent_policy.<Request>`` with the request as input.  kata >= 3.30 pins a
regorus of the 0.9.1 line, which parses Rego v1; kata <= 3.29 ran regorus 0.2.8, which
parsed Rego v0.  The Python binding is the ``gordon-to-regorus`` wheel (see the README's
"Rego engine" section for why that build and what differs).

Nothing here isolates the process: regorus is native code and a hostile policy can make it
recurse, allocate or loop without bound.  kubelint_cc.kata.sandbox runs all of this in a
child process under time and memory limits.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

PACKAGE = "agent_policy"

# kata-agent >= 3.30 (src/agent/policy/src/policy.rs:26-28); regorus' stock limits
# (1024 columns, 1 MiB, 20 000 lines) reject genpolicy output.
MAX_COL = 64 * 1024
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_LINES = 200_000

# "--> agent_policy:12:5" heads every regorus diagnostic; "error: <msg>" follows the caret.
_LOCATION = re.compile(r"-->\s*[^:\s]*:(\d+):(\d+)")
_MESSAGE = re.compile(r"^error:\s*(.+)$", re.M)

# A fixed clock: a verdict must not depend on when the scan runs (the agent reads its own).
_FIXED_NOW_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


class RegoEngineUnavailable(RuntimeError):
    """The Rego engine (regorus) is not installed."""


def load_regorus():
    try:
        import regorus  # noqa: PLC0415 - loaded only when a policy is analysed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RegoEngineUnavailable(
            "analysing Kata agent policies needs regorus, the kata-agent's Rego engine "
            "(pip install gordon-to-regorus)") from exc
    return regorus


@dataclass
class EngineError:
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        return self.message


def engine_error(exc: BaseException) -> EngineError:
    """regorus' text (location, source excerpt, caret, message, backtrace) → message + position."""
    text = str(exc)
    loc = _LOCATION.search(text)
    msgs = _MESSAGE.findall(text)
    message = "; ".join(dict.fromkeys(m.strip() for m in msgs)) if msgs else text.split("Stack backtrace")[0].strip()
    message = " ".join(message.split())[:300] or type(exc).__name__
    return EngineError(message, int(loc.group(1)) if loc else None, int(loc.group(2)) if loc else None)


@dataclass
class ProbeResult:
    ok: bool                                   # whole-package evaluation succeeded
    values: dict[str, Any] = field(default_factory=dict)   # rule -> value (absent = undefined)
    errors: dict[str, str] = field(default_factory=dict)   # rule -> regorus' message, where evaluation failed


@dataclass
class EngineResult:
    parse_error: EngineError | None = None     # add_policy failed: the agent cannot load it
    compile_error: EngineError | None = None   # loads, but every query fails (unknown function, ...)
    probes: dict[str, ProbeResult] = field(default_factory=dict)


def new_engine(rego_v0: bool = False):
    """An engine configured as kata-agent configures its own."""
    regorus = load_regorus()
    engine = regorus.Engine()
    if rego_v0:
        engine.set_rego_v0(True)
    engine.set_policy_length_config(max_col=MAX_COL, max_file_bytes=MAX_FILE_BYTES, max_lines=MAX_LINES)
    engine.set_gather_prints(True)
    engine.add_data({"pstate": {}})
    engine.add_extension("time.now_ns", 0, lambda: _FIXED_NOW_NS)
    return engine


def _query(engine, query: str) -> list[Any]:
    out = json.loads(engine.eval_query_as_json(query))
    engine.take_prints()
    return [r["expressions"][0]["value"] for r in out.get("result", []) if r.get("expressions")]


def evaluate(text: str, probes: list[tuple[str, Any]], rule_names: list[str], rego_v0: bool = False,
             base_names: tuple[str, ...] = ()) -> EngineResult:
    """Load ``text`` once and evaluate the rules ``rule_names`` (plus ``base_names`` for the
    first probe) for each probe input.

    A probe input of None means "no input document".  Only the named rules are evaluated,
    as the agent evaluates one request at a time: evaluating the whole package would also
    evaluate every helper rule, which can cost many times more.  If one rule fails for an
    input (e.g. conflicting complete rules), each rule is evaluated on its own so that one
    failing rule does not hide the others.
    """
    res = EngineResult()
    engine = new_engine(rego_v0)
    try:
        engine.add_policy(PACKAGE, text)
    except Exception as exc:  # noqa: BLE001 - regorus raises RuntimeError/ValueError with its diagnostic
        res.parse_error = engine_error(exc)
        return res
    try:  # regorus resolves functions and rule order on the first query, for every rule at once
        _query(engine, "true")
    except Exception as exc:  # noqa: BLE001
        res.compile_error = engine_error(exc)
        return res
    has_input = False
    for k, (name, value) in enumerate(probes):
        if value is not None:
            engine.set_input(value)
            has_input = True
        elif has_input:  # the binding cannot unset an input; a fresh engine has none
            engine = new_engine(rego_v0)
            engine.add_policy(PACKAGE, text)
            has_input = False
        wanted = sorted(set(rule_names) | (set(base_names) if k == 0 else set()))
        try:
            # `names[_]`, not `some r in`: the query must parse in Rego v0 too
            vals = _query(engine, f"{{r: v | r := {json.dumps(wanted)}[_]; v := data.{PACKAGE}[r]}}")
        except Exception:  # noqa: BLE001 - one rule failed for this input; find which
            pr = ProbeResult(ok=False)
            for r in wanted:
                try:
                    got = _query(engine, f"data.{PACKAGE}[{json.dumps(r)}]")
                except Exception as exc:  # noqa: BLE001
                    pr.errors[r] = engine_error(exc).message
                    continue
                if got:
                    pr.values[r] = got[0]
            res.probes[name] = pr
            continue
        val = vals[0] if vals else {}
        res.probes[name] = ProbeResult(ok=True, values=val if isinstance(val, dict) else {})
    return res
