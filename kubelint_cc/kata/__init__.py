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

from .decode import (INITDATA_ANNOTATION, POLICY_ANNOTATION, DecodeError, analyse_initdata,
                     analyse_policy_annotation, decode_initdata, decode_policy_annotation)
from .engine import RegoEngineUnavailable
from .issue import Issue
from .policy import (CONDITIONAL, DISABLED, ENABLED, ERROR, UNDEFINED, PolicyAnalysis, RequestVerdict,
                     analyse_policy_text, classify_policy)
from .requests import AGENT_REQUESTS, ALLOW_FAILING, LEGACY_REQUESTS

__all__ = [
    "AGENT_REQUESTS", "ALLOW_FAILING", "CONDITIONAL", "DISABLED", "ENABLED", "ERROR", "INITDATA_ANNOTATION",
    "LEGACY_REQUESTS", "POLICY_ANNOTATION", "UNDEFINED", "DecodeError", "Issue", "PolicyAnalysis",
    "RegoEngineUnavailable", "RequestVerdict", "analyse_initdata", "analyse_policy_annotation",
    "analyse_policy_text", "classify_policy", "decode_initdata", "decode_policy_annotation",
]
