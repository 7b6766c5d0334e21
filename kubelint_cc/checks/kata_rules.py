"""Kata / Confidential Containers: the agent policy and initdata a pod carries, and the
default initdata of a peer-pods ConfigMap, analysed by kubelint_cc.kata.

A finding about a line of the decoded Rego points at the annotation (the Rego itself
is base64 inside it) and carries the Rego line in its message and as `regoLine`.
"""
from __future__ import annotations

from typing import Iterator

from kubelint_cc.checks.rule import Hit
from kubelint_cc.excerpt import excerpt

MAX_MESSAGE = 1000  # characters of a Kata finding's message (the longest written ones are ~400)

POLICY_ANNOTATION = "io.katacontainers.config.agent.policy"
INITDATA_ANNOTATION = "io.katacontainers.config.hypervisor.cc_init_data"
INITDATA_KEY = "INITDATA"


def _hits(issues, path: tuple) -> Iterator[Hit]:
    for issue in issues:
        # A safety net: kubelint_cc.kata quotes values (an initdata version, data keys) that a
        # manifest can make 200,000 characters long; excerpt() those where they are quoted.
        message = excerpt(issue.message, MAX_MESSAGE)
        extra = ()
        if issue.rego_line:
            message = f"{message} (policy line {issue.rego_line})"
            extra = (("regoLine", issue.rego_line),)
        yield Hit(issue.rule, issue.control, issue.severity, message, path, extra)


def pod(metadata: dict, spec: dict) -> Iterator[Hit]:
    annotations = metadata.get("annotations")
    if not isinstance(annotations, dict):
        return
    if POLICY_ANNOTATION not in annotations and INITDATA_ANNOTATION not in annotations:
        return
    from kubelint_cc import kata  # regorus is loaded only for manifests that carry a policy
    found = {}
    for key, analyse in ((INITDATA_ANNOTATION, kata.analyse_initdata),
                         (POLICY_ANNOTATION, kata.analyse_policy_annotation)):
        value = annotations.get(key)
        if value is None:
            continue
        path = ("metadata", "annotations", key)
        if not isinstance(value, str):
            yield Hit("kata-policy-encoding" if key == POLICY_ANNOTATION else "kata-initdata-encoding",
                      "agentPolicyEncoding" if key == POLICY_ANNOTATION else "initdata", "error",
                      f"{key} must be a string (annotations are strings), got {type(value).__name__}", path)
            continue
        found[key] = analyse(value)
    if POLICY_ANNOTATION in found and INITDATA_ANNOTATION in found:
        yield from _both(found)
    for key, issues in found.items():
        yield from _hits(issues, ("metadata", "annotations", key))


def _both(found: dict) -> Iterator[Hit]:
    """Both carriers: the Go shim loads the initdata policy, then asks it to SetPolicy the
    annotation's policy (FACTS: kata_agent.go startSandbox, agent do_set_policy)."""
    path = ("metadata", "annotations", POLICY_ANNOTATION)
    rules = {i.rule for i in found[INITDATA_ANNOTATION]}
    broken = any(i.severity == "error" and i.control in ("initdata", "agentPolicySyntax")
                 for i in found[INITDATA_ANNOTATION])
    if broken:
        return  # the initdata itself stops the sandbox; its own findings say why
    if "kata-initdata-no-policy" in rules or "kata-setpolicy-enabled" in rules or "kata-setpolicy-conditional" in rules:
        yield Hit("kata-policy-overrides-initdata", "agentPolicySource", "error",
                  "both cc_init_data and agent.policy are set and the measured policy lets the host SetPolicy: the "
                  "unattested annotation policy replaces the measured one at sandbox start", path)
        return
    yield Hit("kata-policy-rejected", "agentPolicySource", "error",
              "both cc_init_data and agent.policy are set, and the measured initdata policy denies SetPolicyRequest: "
              "the Go shim's SetPolicy with the annotation fails and the sandbox does not start", path)
    # The annotation's policy never takes effect: keep its format findings, drop its request verdicts.
    found[POLICY_ANNOTATION] = [i for i in found[POLICY_ANNOTATION]
                                if i.control in ("agentPolicyEncoding", "agentPolicySyntax")]


def config_map(obj: dict) -> Iterator[Hit]:
    """A peer-pods ConfigMap's INITDATA: the default for pods without their own cc_init_data."""
    data = obj.get("data")
    if not isinstance(data, dict) or INITDATA_KEY not in data:
        return
    value = data[INITDATA_KEY]
    path = ("data", INITDATA_KEY)
    if not isinstance(value, str) or not value.strip():
        return  # empty INITDATA: the peer-pods default is simply unset
    from kubelint_cc import kata
    yield from _hits(kata.analyse_initdata(value, source="configmap"), path)


def has_initdata(node) -> bool:
    """Whether a ConfigMap node has data.INITDATA, judged without converting it."""
    from kubelint_cc import yamltree
    data = yamltree.child(node, "data")
    return data is not None and yamltree.child(data[1], INITDATA_KEY) is not None


def misplaced(metadata: dict, kind: str) -> Iterator[Hit]:
    """Kata annotations on a controller's own metadata never reach its pods."""
    annotations = metadata.get("annotations")
    if kind == "Pod" or not isinstance(annotations, dict):
        return
    for key in (POLICY_ANNOTATION, INITDATA_ANNOTATION):
        if key in annotations:
            yield Hit("kata-annotation-misplaced", "agentPolicySource" if key == POLICY_ANNOTATION else "initdata",
                      "warning", f"{key} on the {kind}'s own metadata has no effect: only pod template annotations "
                      "reach the pods (move it to the template's metadata.annotations)",
                      ("metadata", "annotations", key))
