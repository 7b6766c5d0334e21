"""Confidential Containers / Kata agent policy and initdata analysis (standalone library).

Public API:
    Issue                                   finding dataclass
    analyse_policy_annotation(value)        io.katacontainers.config.agent.policy value
    analyse_initdata(value, source)         cc_init_data annotation or peer-pods ConfigMap INITDATA
    analyse_policy_text(rego, origin)       decoded Rego; origin "annotation" | "initdata" | "configmap"
    classify_policy(rego)                   per-request verdicts (PolicyAnalysis), cached by text

Needs regorus (the kata-agent's Rego engine, package ``gordon-to-regorus``) at call time;
policies are evaluated in a bounded child process (kata.sandbox).  Nothing here imports the rest of kubelint_cc.
"""
from __future__ import annotations

import importlib

# Names are imported on first use (PEP 562): `kubelint_cc.kata.requests` is plain data the
# catalog needs on every run that checks a suppression, and importing it must not pull in
# the decoder and the policy analyser with it.
_HOME = {
    "decode": ("INITDATA_ANNOTATION", "POLICY_ANNOTATION", "DecodeError", "analyse_initdata",
               "analyse_policy_annotation", "decode_initdata", "decode_policy_annotation"),
    "engine": ("RegoEngineUnavailable",),
    "issue": ("Issue",),
    "policy": ("CONDITIONAL", "DISABLED", "ENABLED", "ERROR", "UNDEFINED", "PolicyAnalysis", "RequestVerdict",
               "analyse_policy_text", "classify_policy"),
    "requests": ("AGENT_REQUESTS", "ALLOW_FAILING", "LEGACY_REQUESTS"),
}
_MODULE_OF = {name: module for module, names in _HOME.items() for name in names}


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once found, an ordinary module attribute
    return value


__all__ = [
    "AGENT_REQUESTS", "ALLOW_FAILING", "CONDITIONAL", "DISABLED", "ENABLED", "ERROR", "INITDATA_ANNOTATION",
    "LEGACY_REQUESTS", "POLICY_ANNOTATION", "UNDEFINED", "DecodeError", "Issue", "PolicyAnalysis",
    "RegoEngineUnavailable", "RequestVerdict", "analyse_initdata", "analyse_policy_annotation",
    "analyse_policy_text", "classify_policy", "decode_initdata", "decode_policy_annotation",
]


def __dir__():
    return sorted(set(globals()) | set(__all__))
