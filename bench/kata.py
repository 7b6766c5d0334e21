"""Kata agent-policy analysis time, per policy, in the engine's own process.

Measures ``classify_policy_here`` (regorus load + probes + classification, no sandbox
round trip) on the shared samples, on each ``*.rego`` of --policies DIR (for example
genpolicy outputs built from a kata-containers checkout), and on a generated genpolicy-sized
policy (60 KB: a long allow-list in ``policy_data``) so the figure exists without a checkout.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

HEAD = "package agent_policy\n\nimport rego.v1\n\ndefault ExecProcessRequest := false\n\n"


def generated_policy(size: int = 60_000) -> str:
    """About ``size`` bytes shaped like genpolicy output: many helper rules with print()
    traces and input comparisons, request rules that call them, and a policy_data object
    with per-container OCI data (written for the benchmark; no genpolicy text is copied)."""
    parts = [HEAD, "default CreateContainerRequest := false\ndefault ReadStreamRequest := false\n\n"]
    containers = []
    i = 0
    while sum(map(len, parts)) + len(json.dumps(containers, indent=2)) < size:
        parts.append(
            f"allow_field_{i}(p_obj, i_obj) if {{\n"
            f"    print(\"allow_field_{i}: p_obj =\", p_obj)\n"
            f"    p_obj.field_{i} == i_obj.field_{i}\n"
            f"    some s in p_obj.items\n"
            f"    startswith(s, \"prefix-{i}\")\n"
            f"    print(\"allow_field_{i}: true\")\n}}\n\n")
        if i % 8 == 0:
            containers.append({"OCI": {"Version": "1.1.0", "Process": {
                "Args": ["/app", f"--id={i}"], "Env": [f"VAR_{k}=value-{k}" for k in range(6)], "Cwd": "/"}},
                "exec_commands": []})
        i += 1
    parts.append("CreateContainerRequest if {\n    some p_container in policy_data.containers\n"
                 + "".join(f"    allow_field_{k}(p_container, input)\n" for k in range(0, i, max(1, i // 10)))
                 + "}\n\n")
    parts.append("ExecProcessRequest if {\n    some p in policy_data.request_defaults.ExecProcessRequest.allowed_commands\n"
                 "    p == input.process.Args\n}\n\n")
    parts.append("ReadStreamRequest if policy_data.request_defaults.ReadStreamRequest == true\n\n")
    data = {"containers": containers,
            "request_defaults": {"ExecProcessRequest": {"allowed_commands": [["/bin/date"]], "regex": []},
                                 "ReadStreamRequest": False}}
    parts.append("policy_data := " + json.dumps(data, indent=2) + "\n")
    return "".join(parts)


def time_policy(text: str, reps: int = 3) -> float:
    from kubelint_cc.kata.policy import classify_policy_here

    best = float("inf")
    for _ in range(reps):
        classify_policy_here.cache_clear()
        t0 = time.perf_counter()
        classify_policy_here(text)
        best = min(best, time.perf_counter() - t0)
    return best


def measure(samples: Path | None, policies: Path | None) -> dict:
    from kubelint_cc.kata.engine import new_engine

    new_engine()  # load the library before timing
    out: dict = {}
    if samples and samples.is_dir():
        times = [time_policy(p.read_text()) for p in sorted(samples.glob("*.rego"))]
        if times:
            out["samples"] = {"n": len(times), "median_ms": round(statistics.median(times) * 1000, 2),
                              "max_ms": round(max(times) * 1000, 2)}
    gen = generated_policy()
    out["generated"] = {"bytes": len(gen), "ms": round(time_policy(gen) * 1000, 1)}
    if policies and policies.is_dir():
        out["policies"] = {p.name: {"bytes": p.stat().st_size, "ms": round(time_policy(p.read_text()) * 1000, 1)}
                           for p in sorted(policies.glob("*.rego"))}
    return out


def markdown(k: dict) -> str:
    rows = ["| Kata policy analysis (in process, best of 3) | time | target |", "|---|---|---|"]
    if "samples" in k:
        s = k["samples"]
        rows.append(f"| shared samples: median of {s['n']} (max) | {s['median_ms']} ms ({s['max_ms']} ms) | ≤ 5 ms |")
    g = k["generated"]
    rows.append(f"| generated genpolicy-sized policy, {g['bytes'] / 1000:.0f} KB | {g['ms']} ms | ≤ 100 ms |")
    for name, p in k.get("policies", {}).items():
        rows.append(f"| {name}, {p['bytes'] / 1000:.0f} KB | {p['ms']} ms | ≤ 100 ms |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    shared = Path(__file__).resolve().parents[2] / "shared" / "kata" / "samples"
    pol = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    print(markdown(measure(shared, pol)))
