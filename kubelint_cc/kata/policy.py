"""Static analysis of a Kata agent policy (Rego) with a real Rego engine.

How a verdict is reached for each request name R (kata-agent semantics, FACTS.md section 4):
  * the policy is loaded into regorus, configured as kata-agent configures it (engine.py), in a
    bounded child process (sandbox.py), and ``data.agent_policy`` is evaluated for a few
    probe inputs: no input at all, ``{}`` (how AllowRequestsFailingPolicy is queried), and two
    "attacker" requests (a shell exec, a write outside the shared dir, a new policy for
    SetPolicy, ...), all JSON-shaped like the agent's serde input;
  * allowed = ``true`` or an object ``{"allowed": true, ...}``; undefined = denied;
  * ENABLED      the attacker request is allowed (unconditional default/rule, trivially true
                 body, deny-list, ``else := true`` fallback, ...);
  * CONDITIONAL  not allowed for the attacker request, but some rule for R that can allow
                 depends (transitively) on ``input``;
  * DISABLED     false for every input;  UNDEFINED  no rule and no default (denied);
  * ERROR        evaluation fails (e.g. conflicting complete rules) -> the request fails.
A lexer-level scan (rego_scan) adds line numbers, Rego v0/v1 dialect checks and duplicate
defaults, which the engine does not report usefully.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import engine
from .issue import Issue, excerpt
from .requests import (AGENT_REQUESTS, ALLOW_FAILING, LEGACY_REQUESTS, POD_START_REQUESTS,
                       REQUEST_RISK)
from .rego_scan import (ModuleScan, Statement, data_refs, input_dependent_names, input_refs,
                        observes_whole_input, scan)

ENABLED, CONDITIONAL, DISABLED, UNDEFINED, ERROR = "enabled", "conditional", "disabled", "undefined", "error"

# kata-agent >= 3.30 lexer limits (src/agent/policy/src/policy.rs:26-28)
MAX_POLICY_BYTES = 16 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024
MAX_LINES = 200_000

_HEX64 = "4f1c7e0b9a3d5e6f8a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f"
_SHELL_ARGV = ["/bin/sh", "-c", "cat /proc/1/environ /run/secrets/kubernetes.io/serviceaccount/token"]
_EVIL_POLICY = "package agent_policy\n\ndefault ExecProcessRequest := true\ndefault ReadStreamRequest := true\n"


def _attack_input(container_id: str, argv: list[str], iface: str) -> dict[str, Any]:
    """One input document carrying the fields of every request an untrusted host may send.

    Each request type reads only its own fields, so one union document probes all rules."""
    process = {
        "Terminal": False, "ConsoleSize": None,
        "User": {"UID": 0, "GID": 0, "Umask": None, "AdditionalGids": [], "Username": ""},
        "Args": argv, "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cwd": "/", "Capabilities": None, "Rlimits": [], "NoNewPrivileges": False,
        "ApparmorProfile": "", "OOMScoreAdj": 0, "SelinuxLabel": "",
    }
    oci = {
        "Version": "1.1.0", "Process": process, "Root": {"Path": "/run/evil", "Readonly": False},
        "Hostname": "evil", "Mounts": [{"destination": "/", "source": "/", "type": "bind",
                                        "options": ["rbind", "rw"]}],
        "Annotations": {"io.kubernetes.cri.image-name": "attacker.example/evil:latest",
                        "io.kubernetes.cri.container-type": "container"},
        "Linux": {"Namespaces": [], "Devices": []},
    }
    return {
        "container_id": container_id, "exec_id": container_id, "sandbox_id": container_id,
        "string_user": None, "process": process, "OCI": oci, "oci": oci, "storages": [],
        "devices": [], "sandbox_pidns": True, "kernel_modules": ["evil"], "guest_hook_path": "/evil",
        "hostname": "evil", "dns": ["nameserver 6.6.6.6"],
        "len": 4096, "data": [105, 100, 10], "stdin": [105, 100, 10],
        "path": "/etc/kata-opa/default-policy.rego", "file_type": "Regular", "symlink_target": "",
        "file_size": 3, "file_mode": 420, "dir_mode": 493, "uid": 0, "gid": 0, "offset": 0,
        "policy": _EVIL_POLICY,
        "interface": {"device": iface, "name": iface, "IPAddresses": [{"family": 0, "address": "10.66.6.6", "mask": "24"}],
                      "mtu": 1500, "hwAddr": "02:42:ac:11:00:66", "raw_flags": 0, "type": "", "pciPath": ""},
        "routes": {"Routes": [{"dest": "0.0.0.0/0", "gateway": "10.66.6.1", "device": iface, "source": "",
                               "scope": 0, "family": 0, "flags": 0}]},
        "neighbors": {"ARPNeighbors": [{"toIPAddress": {"family": 0, "address": "10.66.6.1", "mask": ""},
                                        "device": iface, "lladdr": "02:42:ac:11:00:66", "state": 128, "flags": 0}]},
        "log_type": "termination_log", "PCIPath": {"path": "02/00"}, "swap_path": "/evil/swap",
        "sec": 0, "usec": 0, "is_ipv6": False, "resources": {}, "signal": 9, "row": 24, "column": 80,
        "volume_guest_path": "/", "size": 1, "interfaces": [],
        "memcg_config": {}, "compact_config": {},
    }


_PROBES: list[tuple[str, Any]] = [
    ("none", None),
    ("empty", {}),
    ("attack1", _attack_input("0" + _HEX64[1:], _SHELL_ARGV, "eth0")),
    ("attack2", _attack_input("a" + _HEX64[1:], ["/bin/bash", "-i"], "eth1")),
]
_ATTACKS = ("attack1", "attack2")
# Without the "empty" probe: its results are those of "none" unless the policy looks at input
# itself (rego_scan.observes_whole_input), which spares one evaluation of the whole package.
_PROBES_NO_EMPTY = [p for p in _PROBES if p[0] != "empty"]


@dataclass(frozen=True)
class RequestVerdict:
    name: str
    state: str                      # enabled | conditional | disabled | undefined | error
    reason: str = ""                # how it was reached, for messages
    line: int | None = None
    depends_on: tuple[str, ...] = ()
    detail: str = ""                # e.g. the exec allow-list
    conflicting: bool = False       # evaluation fails for some inputs (multiple outputs)
    invalid_result: bool = False    # value is neither a bool nor {"allowed": bool, ...}
    error_text: str = ""            # regorus' message when evaluation fails for some input


@dataclass(frozen=True)
class PolicyAnalysis:
    """Origin-independent result; ``findings`` are (kind, payload) records turned into Issues."""

    verdicts: dict[str, RequestVerdict] = field(default_factory=dict)
    dialect: str = "v1"             # "v1" (kata >= 3.30) or "v0" (only older agents load it)
    loadable: bool = True           # False: the agent cannot load it at all
    allow_failing: bool = False
    syntax: tuple[Issue, ...] = ()  # origin-independent format issues (messages finalised later)
    v0_trap: dict[str, RequestVerdict] = field(default_factory=dict)
    legacy: tuple[tuple[str, int], ...] = ()
    unknown: tuple[tuple[str, int], ...] = ()
    wrong_package: bool = False
    allow_failing_line: int | None = None
    eval_seconds: float = 0.0


# --------------------------------------------------------------------------- helpers ----
def _allowed(v: Any) -> bool:
    return v is True or (isinstance(v, dict) and v.get("allowed") is True)


def _valid_result(v: Any) -> bool:
    return isinstance(v, bool) or (isinstance(v, dict) and isinstance(v.get("allowed"), bool))


def _short(v: Any, limit: int = 160) -> str:
    s = json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    return s if len(s) <= limit else s[:limit - 1] + "…"


def _resolve(values: dict[str, Any], path: list[str]) -> tuple[bool, Any]:
    cur: Any = values
    for key in path:
        if isinstance(cur, dict) and key in cur:
            cur = cur[key]
        else:
            return False, None
    return True, cur


def _default_line(mod: ModuleScan, name: str) -> int | None:
    ds = mod.defaults(name)
    return ds[0].line if ds else None


def _can_allow(d) -> bool:
    """Can this head value ever be an allowing result?"""
    vt = d.value_text.replace(" ", "")
    if vt == "false":
        return False
    if vt.startswith("{"):
        return '"allowed":false' not in vt
    return True


def _exec_detail(values: dict[str, Any]) -> str:
    ok, rd = _resolve(values, ["policy_data", "request_defaults", "ExecProcessRequest"])
    parts = []
    if ok and isinstance(rd, dict):
        cmds = rd.get("allowed_commands", []) or []
        old = rd.get("commands") or []
        if old:
            parts.append(f"command-line allow-list {_short(old, 200)}")
        regex = rd.get("regex", [])
        parts.append(f"exact argv allow-list {_short(cmds, 200)}" if cmds else "empty argv allow-list")
        parts.append(f"regex list {_short(regex, 120)}" if regex else "regex list empty")
        shells = [c for c in cmds if isinstance(c, list) and c and str(c[0]).rsplit("/", 1)[-1]
                  in ("sh", "bash", "ash", "dash", "zsh", "ksh", "busybox")]
        if shells:
            parts.append(f"{len(shells)} allow-listed argv start a shell")
        loose = [r for r in regex if isinstance(r, str) and (".*" in r or not (r.startswith("^") and r.endswith("$")))]
        if loose:
            parts.append(f"wide or unanchored regex {_short(loose, 80)}")
    ok, containers = _resolve(values, ["policy_data", "containers"])
    if ok and isinstance(containers, list):
        probes = [a for c in containers if isinstance(c, dict) for a in (c.get("exec_commands") or [])]
        parts.append(f"exec-probe argv {_short(probes, 200)}" if probes else "no exec-probe argv")
    return "; ".join(parts)


# ----------------------------------------------------------------------- classifier ----
def _classify_request(name: str, mod: ModuleScan, dep: set[str], ev: engine.EngineResult,
                      v0_trap_mode: bool) -> RequestVerdict:
    defs = mod.rules(name)
    defaults = mod.defaults(name)
    probes = ev.probes
    base_p = probes.get("none")
    base = base_p.values.get(name) if base_p else None
    failures = [p.errors[name] for p in probes.values() if name in p.errors]
    errors = bool(failures)
    error_text = failures[0] if failures else ""
    attack_vals = [probes[a].values.get(name) for a in _ATTACKS if a in probes]
    invalid = any(v is not None and not _valid_result(v) for p in probes.values() for v in [p.values.get(name)])
    if not defs and not defaults:
        return RequestVerdict(name, UNDEFINED, "no rule and no default", None)

    dep_defs = [(st, d) for st in defs for d in st.definitions
                if (d.body is not None and (input_refs(d.body) or name in dep)) and _can_allow(d)]
    first_line = defs[0].line if defs else _default_line(mod, name)

    if any(_allowed(v) for v in attack_vals):
        # Why is an arbitrary request allowed?
        trap = [st for st in defs for d in st.definitions if d.if_offset is not None] if v0_trap_mode else []
        deny = [(st, d) for st in defs for d in st.definitions if d.body is not None and d.value_text == "false"]
        else_true = [(st, d) for st in defs for d in st.definitions if d.is_else and d.body is None and d.value_text == "true"]
        if trap:
            reason = (f"unconditionally: `{name} := … if {{…}}` without `import future.keywords.if` is an "
                      f"unconditional rule in Rego v0")
            line = trap[0].line
        elif else_true:
            reason = "by the final `else := true` fallback"
            line = else_true[0][1].line
        elif _allowed(base) and deny:
            reason = f"by default with only a deny-list exception ({len(deny)} `{name} := false if …` rule(s))"
            line = _default_line(mod, name) or deny[0][0].line
        elif _allowed(base) and defaults and _allowed_default(defaults):
            reason = f"unconditionally (`default {name} := true`)"
            line = _default_line(mod, name)
        elif _allowed(base):
            bodyless = [st for st in defs for d in st.definitions if d.body is None and _can_allow(d)]
            if bodyless:
                reason = "unconditionally (a rule with no body)"
                line = bodyless[0].line
            else:
                reason = "unconditionally (its rule body is always true)"
                line = first_line
        else:
            reason = "for an arbitrary request: its condition is trivially true"
            line = dep_defs[0][0].line if dep_defs else first_line
        return RequestVerdict(name, ENABLED, reason, line, conflicting=errors, invalid_result=invalid,
                              error_text=error_text)

    if dep_defs and name == "ExecProcessRequest" and base_p is not None:
        lists = _exec_allow_lists(mod, base_p.values)
        if lists is not None and not any(lists.values()):
            return RequestVerdict(
                name, DISABLED, "denied: every exec allow-list in policy_data is empty "
                f"({', '.join(sorted(lists))}), so no `some p in <list>` can hold and the default applies",
                first_line)
    if dep_defs:
        deps: list[str] = []
        for _, d in dep_defs:
            for r in input_refs(d.body or []):
                if r not in deps:
                    deps.append(r)
        names = mod.names() - dep
        resolved: list[str] = []
        values = base_p.values if base_p else {}
        for _, d in dep_defs:
            for path in data_refs(d.body or [], names):
                ok, val = _resolve(values, path)
                if ok and not (path[0] == "policy_data" and len(path) == 1):
                    s = f"{'.'.join(path)} = {_short(val, 120)}"
                    if s not in resolved:
                        resolved.append(s)
        detail = _exec_detail(values) if name == "ExecProcessRequest" else ""
        if not detail and resolved:
            detail = "; ".join(resolved[:3])
        if not deps:
            deps = ["helper rules that read input"]
        return RequestVerdict(name, CONDITIONAL, "", dep_defs[0][0].line, tuple(deps), detail,
                              conflicting=errors, invalid_result=invalid, error_text=error_text)

    if errors:
        return RequestVerdict(name, ERROR, f"evaluation fails ({excerpt(error_text, 120)})", first_line,
                              conflicting=True, error_text=error_text)
    if base is None:
        return RequestVerdict(name, UNDEFINED, "its rules never succeed and there is no default", first_line)
    return RequestVerdict(name, DISABLED, f"always {_short(base, 40)}", first_line, invalid_result=invalid)


def _allowed_default(defaults: list[Statement]) -> bool:
    return any(" ".join(t.text for t in d.default_value).strip() == "true" for d in defaults)


# Over a body's tokens joined by spaces, so a dot is " . ".
_EXEC_LISTS = re.compile(
    r"\bsome \w+ in (?:policy_data \. request_defaults \. ExecProcessRequest \. (allowed_commands|commands|regex)"
    r"|\w+ \. (exec_commands))\b")


def _exec_allow_lists(mod: ModuleScan, values: dict[str, Any]) -> dict[str, list] | None:
    """genpolicy's exec allow-lists, when every ExecProcessRequest rule iterates one of them.

    Each such body holds ``some p in <list>``, which never holds over an empty list; the
    lists are constants in ``policy_data`` (container ``exec_commands`` reach the rule through
    the agent's per-container state, which genpolicy fills from ``policy_data.containers``)."""
    defs = [d for st in mod.rules("ExecProcessRequest") for d in st.definitions]
    if not defs:
        return None
    used: set[str] = set()
    for d in defs:
        m = _EXEC_LISTS.search(" ".join(t.text for t in d.body or []))
        if d.body is None or m is None:
            return None
        used.add(m.group(1) or m.group(2))
    ok, rd = _resolve(values, ["policy_data", "request_defaults", "ExecProcessRequest"])
    ok_c, containers = _resolve(values, ["policy_data", "containers"])
    lists: dict[str, list] = {}
    for key in used:
        if key == "exec_commands":
            if not ok_c or not isinstance(containers, list):
                return None
            got = [c for ct in containers if isinstance(ct, dict) for c in (ct.get("exec_commands") or [])]
        else:
            got = rd.get(key) if ok and isinstance(rd, dict) else None
            if got is None:
                got = []
            if not isinstance(got, list):
                return None
        lists[key] = got
    return lists


def _load(text: str, mod: ModuleScan, rego_v0: bool) -> tuple[engine.EngineResult, dict[str, RequestVerdict]]:
    names = sorted(set(AGENT_REQUESTS) | {ALLOW_FAILING} | (mod.names() & set(LEGACY_REQUESTS)))
    # The values the verdicts explain a condition with (allow-lists in policy_data, ...).
    top = mod.names()
    base = {"policy_data"} | {path[0] for n in AGENT_REQUESTS for st in mod.rules(n) for d in st.definitions
                              for path in data_refs(d.body or [], top) if path}
    base = tuple(sorted(b for b in base if b in top and not mod.is_function(b)))
    probes = _PROBES if observes_whole_input(mod) else _PROBES_NO_EMPTY
    ev = engine.evaluate(text, probes, names, rego_v0, base)
    if probes is _PROBES_NO_EMPTY:
        if "none" in ev.probes:
            ev.probes["empty"] = ev.probes["none"]
    verdicts: dict[str, RequestVerdict] = {}
    if ev.parse_error is None and ev.compile_error is None:
        dep = input_dependent_names(mod)
        trap_mode = rego_v0 and not mod.if_imported
        for name in AGENT_REQUESTS:
            verdicts[name] = _classify_request(name, mod, dep, ev, trap_mode)
    return ev, verdicts


def _engine_issue(err: engine.EngineError, what: str) -> Issue:
    where = f" (column {err.column})" if err.column else ""
    return Issue("agentPolicySyntax", "kata-policy-syntax", "error", f"{what}{where}: {excerpt(err.message)}.", err.line)


def classify_policy(rego: str) -> PolicyAnalysis:
    """Analyse one policy text in the sandbox process (cached by text there and here)."""
    from .sandbox import analyse  # noqa: PLC0415 - sandbox imports this module

    return analyse(rego)


@lru_cache(maxsize=256)
def classify_policy_here(rego: str) -> PolicyAnalysis:
    """Analyse one policy text in this process (the sandbox's side of classify_policy)."""
    import time

    t0 = time.perf_counter()
    syntax: list[Issue] = []
    raw = rego.encode("utf-8", "replace")
    if len(raw) > MAX_POLICY_BYTES:
        syntax.append(Issue("agentPolicySyntax", "kata-policy-too-large", "error",
                            f"The policy is {len(raw)} bytes, over the kata-agent limit of 16 MiB, so the agent rejects it."))
    lines = rego.split("\n")
    if len(lines) > MAX_LINES:
        syntax.append(Issue("agentPolicySyntax", "kata-policy-too-large", "error",
                            f"The policy has {len(lines)} lines, over the kata-agent (>= 3.30) limit of 200000."))
    # a character is at most 4 UTF-8 bytes: only long lines need encoding
    long_line = next((i for i, ln in enumerate(lines, 1) if len(ln) * 4 > MAX_LINE_BYTES
                      and len(ln.encode("utf-8", "replace")) > MAX_LINE_BYTES), None)
    if long_line:
        syntax.append(Issue("agentPolicySyntax", "kata-policy-too-large", "error",
                            "A line is longer than 64 KiB, which the kata-agent (>= 3.30) lexer rejects.", long_line))
    if syntax:  # the agent refuses it before parsing; so does the engine, with less to say
        return PolicyAnalysis(loadable=False, syntax=tuple(syntax), eval_seconds=time.perf_counter() - t0)

    mod = scan(rego)
    # Duplicate defaults: regorus (the agent) keeps the first one it meets, in file order;
    # OPA rejects the module.  A warning: the policy works, but fragilely.
    by_name: dict[str, list[Statement]] = {}
    for st in mod.statements:
        if st.kind == "default":
            by_name.setdefault(st.name, []).append(st)
    for name, ds in by_name.items():
        if len(ds) > 1:
            vals = [" ".join(t.text for t in d.default_value) for d in ds]
            syntax.append(Issue(
                "agentPolicySyntax", "kata-policy-duplicate-default", "warning",
                f"`default {name}` is declared {len(ds)} times ({', '.join(excerpt(v, 40) for v in vals)}): the "
                f"kata-agent's engine (regorus) keeps the first one ({excerpt(vals[0], 40)}), while OPA rejects "
                f"the module; keep one default.", ds[1].line))

    wrong_package = False
    if mod.package is not None and mod.package != engine.PACKAGE:
        wrong_package = True
        syntax.append(Issue(
            "agentPolicySyntax", "kata-policy-wrong-package", "error",
            f"The policy declares `package {excerpt(mod.package, 80)}` but the kata-agent queries "
            f"data.agent_policy.<Request>, so every request is undefined and denied and the sandbox cannot start.",
            mod.package_line))

    # kata >= 3.30 parses Rego v1; a policy only Rego v0 accepts worked on kata <= 3.29.
    ev, verdicts = _load(rego, mod, rego_v0=False)
    dialect, loadable = "v1", True
    if ev.parse_error is not None:
        ev0, verdicts0 = _load(rego, mod, rego_v0=True)
        if ev0.parse_error is None:
            v1_error = ev.parse_error
            dialect, ev, verdicts, loadable = "v0", ev0, verdicts0, False
            syntax.append(Issue(
                "agentPolicySyntax", "kata-policy-rego-v0", "error",
                f"The policy is Rego v0: kata-agent >= 3.30 parses Rego v1 and rejects the whole policy "
                f"(regorus: \"{excerpt(v1_error.message, 120)}\"); the request findings for this policy "
                f"apply to kata-agent <= 3.29 only.", v1_error.line))
        else:
            loadable = False
            syntax.append(_engine_issue(ev.parse_error, "Rego parse error"))
    elif ev.compile_error is not None:
        loadable = False
        syntax.append(_engine_issue(ev.compile_error, "Rego error on every request"))

    v0_trap: dict[str, RequestVerdict] = {}
    trap = (not mod.if_imported) and any(d.if_offset is not None for st in mod.statements for d in st.definitions)
    if dialect == "v1" and loadable and trap:
        ev0, v0v = _load(rego, mod, rego_v0=True)
        rank = {UNDEFINED: 0, DISABLED: 0, ERROR: 0, CONDITIONAL: 1, ENABLED: 2}
        for name, v in v0v.items():
            if name in verdicts and rank[v.state] > rank[verdicts[name].state]:
                v0_trap[name] = v

    allow_failing = False
    empty = ev.probes.get("empty")
    if empty is not None and _allowed(empty.values.get(ALLOW_FAILING)):
        allow_failing = True
    afp = (mod.rules(ALLOW_FAILING) or mod.defaults(ALLOW_FAILING) or [None])[0]

    legacy = tuple((n, (mod.defaults(n) or mod.rules(n))[0].line) for n in sorted(mod.names() & set(LEGACY_REQUESTS)))
    unknown = tuple(sorted(
        (st.name, st.line) for st in mod.statements
        if st.kind in ("default", "rule") and st.name[:1].isupper()
        and (st.name.endswith("Request") or st.name.endswith("Config"))
        and st.name not in AGENT_REQUESTS and st.name not in LEGACY_REQUESTS))
    unknown = tuple(dict.fromkeys(unknown))
    return PolicyAnalysis(verdicts=verdicts, dialect=dialect, loadable=loadable, allow_failing=allow_failing,
                          syntax=tuple(syntax), v0_trap=v0_trap, legacy=legacy, unknown=unknown,
                          wrong_package=wrong_package,
                          allow_failing_line=afp.line if afp else None, eval_seconds=time.perf_counter() - t0)


# ------------------------------------------------------------------------- messages ----
_ORIGIN = {
    "annotation": "in the agent.policy annotation policy (unattested, ignored by runtime-rs)",
    "initdata": "in the measured initdata policy",
    "configmap": "in the peer-pods ConfigMap INITDATA default policy (a pod's own cc_init_data overrides it)",
}
_LOAD_FAIL = {
    "annotation": "the SetPolicyRequest carrying it fails and the sandbox is not created",
    "initdata": "the agent fails to load the initdata policy and the sandbox fails to start",
    "configmap": "every peer pod without its own cc_init_data fails to start",
}


def _issues(pa: PolicyAnalysis, origin: str) -> list[Issue]:
    where = _ORIGIN.get(origin, f"in the {origin} policy")
    issues: list[Issue] = []
    for i in pa.syntax:
        msg = i.message
        if i.rule in ("kata-policy-syntax", "kata-policy-too-large"):
            msg = msg.rstrip(".") + f": {_LOAD_FAIL.get(origin, 'the agent cannot load it')}."
        issues.append(Issue(i.control, i.rule, i.severity, msg, i.rego_line))
    if not pa.verdicts or pa.wrong_package:
        return issues
    pre = "On kata-agent <= 3.29 (Rego v0), " if pa.dialect == "v0" else ""

    def cap(s: str) -> str:
        return s[0].upper() + s[1:] if not pre else s

    for name, v in pa.verdicts.items():
        risk = REQUEST_RISK.get(name)
        if risk is None:
            continue
        stem, exposes, sev_on, sev_cond = risk
        if name == "SetPolicyRequest" and origin in ("initdata", "configmap"):
            exposes = "the host can replace the measured policy at runtime, so the attested initdata no longer bounds what the agent allows"
        if v.state == ENABLED and sev_on:
            rule = f"{stem}-enabled" if stem not in ("kata-copyfile", "kata-create-container") else f"{stem}-unrestricted"
            if stem in ("kata-risky-request", "kata-network-mutation", "kata-swap"):
                rule = f"{stem}-enabled" if stem != "kata-risky-request" else "kata-risky-request-enabled"
            msg = f"{pre}{cap(name)} is allowed {v.reason} {where}: {exposes}."
            issues.append(Issue(name, rule, sev_on, msg, v.line))
        elif v.state == CONDITIONAL and sev_cond:
            dep = ", ".join(v.depends_on[:4])
            detail = f" ({v.detail})" if v.detail else ""
            msg = (f"{pre}{cap(name)} is allowed conditional on {dep}{detail} {where}: for matching requests "
                   f"{exposes}.")
            issues.append(Issue(name, f"{stem}-conditional", sev_cond, msg, v.line))
        if v.conflicting:
            issues.append(Issue(name, "kata-policy-conflicting-rules", "warning",
                                f"{pre}{cap(name)} fails to evaluate for some requests (regorus: "
                                f"\"{excerpt(v.error_text, 160)}\"), so the agent fails those requests"
                                + (" and redacts the stream output" if name == "ReadStreamRequest" else "") + ".",
                                v.line))
    for name, v in pa.verdicts.items():
        if v.invalid_result:
            issues.append(Issue(name, "kata-policy-invalid-result", "warning",
                                f"{pre}{cap(name)} produces a value that is neither a boolean nor "
                                f"{{\"allowed\": bool, \"ops\": …}}, which the agent treats as an error.", v.line))
        if v.state in (ENABLED, CONDITIONAL) and v.conflicting and REQUEST_RISK.get(name) is None:
            issues.append(Issue(name, "kata-policy-conflicting-rules", "warning",
                                f"{pre}{cap(name)} fails to evaluate for some requests (regorus: "
                                f"\"{excerpt(v.error_text, 160)}\").",
                                v.line))
    if pa.allow_failing:
        issues.append(Issue(ALLOW_FAILING, "kata-allow-failing-policy", "error",
                            f"{pre}{cap(ALLOW_FAILING)} is true {where}: the agent allows every request the policy "
                            f"denies or leaves undefined, so the policy enforces nothing.", pa.allow_failing_line))
    else:
        blocked = [n for n in POD_START_REQUESTS if pa.verdicts.get(n) and pa.verdicts[n].state in (DISABLED, UNDEFINED, ERROR)]
        if blocked:
            states = ", ".join(f"{n} ({pa.verdicts[n].state})" for n in blocked)
            issues.append(Issue(blocked[0], "kata-policy-blocks-pod-start", "warning",
                                f"{pre}{cap('the policy')} {where} denies {states}, so on an upstream kata-agent "
                                f"the sandbox or its containers cannot start.", pa.verdicts[blocked[0]].line))
    for name, v in pa.v0_trap.items():
        issues.append(Issue(name, "kata-policy-v0-if-trap", "warning",
                            f"On kata-agent <= 3.29 (Rego v0) {name} is {v.state} {v.reason} {where}; add "
                            f"`import future.keywords.if` or `import rego.v1`.", v.line))
    for name, line in pa.legacy:
        issues.append(Issue(name, "kata-policy-legacy-request", "note",
                            f"{name} matches no current agent RPC ({LEGACY_REQUESTS[name]}), so this rule has no effect.",
                            line))
    for name, line in pa.unknown:
        issues.append(Issue(name, "kata-policy-unknown-request", "note",
                            f"{name} is not an agent request name (typo?), so this rule has no effect and the "
                            f"intended request keeps its own value.", line))
    return issues


def analyse_policy_text(rego: str, origin: str) -> list[Issue]:
    """Analyse decoded Rego text. origin: "annotation" | "initdata" | "configmap"."""
    return _issues(classify_policy(rego), origin)


def policy_digest(rego: str) -> str:
    return hashlib.sha256(rego.encode("utf-8", "replace")).hexdigest()
