"""Decoding and validation of the two Kata policy carriers.

io.katacontainers.config.agent.policy
    base64 (standard alphabet, '=' padding required, CR/LF skipped) of the raw Rego text,
    exactly as the Go shim's base64.StdEncoding.DecodeString (src/runtime/pkg/oci/utils.go).
    runtime-rs ignores the annotation.
io.katacontainers.config.hypervisor.cc_init_data  (and the peer-pods ConfigMap INITDATA key)
    base64 (standard, padded) of ONE gzip member holding the initdata TOML document:
    version = "0.1.0", algorithm = sha256|sha384|sha512, [data] string -> string; the
    digest is <algorithm>(decompressed bytes) with no canonicalisation.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import tomllib
import zlib
from dataclasses import dataclass

from .issue import Issue, excerpt
from .policy import analyse_policy_text

POLICY_ANNOTATION = "io.katacontainers.config.agent.policy"
INITDATA_ANNOTATION = "io.katacontainers.config.hypervisor.cc_init_data"
INITDATA_VERSION = "0.1.0"
INITDATA_ALGORITHMS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
#: Decompression cap: the agent's policy size limit (16 MiB, src/agent/policy/src/policy.rs).
MAX_DECOMPRESSED = 16 * 1024 * 1024
#: Kubernetes limit on the total size of an object's annotations.
K8S_ANNOTATIONS_LIMIT = 256 * 1024
AGENT_DATA_KEYS = ("aa.toml", "cdh.toml", "policy.rego")

_STD_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_TOML_TYPES = {"int": "integer", "float": "float", "bool": "boolean", "list": "array", "dict": "table",
               "datetime": "datetime", "date": "date", "time": "time"}


class DecodeError(ValueError):
    """A carrier value that Kata rejects; ``issue`` says why."""

    def __init__(self, issue: Issue):
        super().__init__(issue.message)
        self.issue = issue


# ------------------------------------------------------------------------- base64 ----
def decode_std_base64(value: str, control: str) -> tuple[bytes, bool]:
    """Decode like Go's base64.StdEncoding: standard alphabet, padding required, '\\r' and
    '\\n' skipped.  Returns (bytes, had_line_breaks); raises DecodeError otherwise."""
    compact = value.replace("\r", "").replace("\n", "")
    wrapped = compact != value
    what = "agent.policy annotation" if control == "agentPolicyEncoding" else "initdata value"
    rule = "kata-policy-encoding" if control == "agentPolicyEncoding" else "kata-initdata-encoding"
    if not compact.strip():
        raise DecodeError(Issue(control, rule, "error", f"The {what} is empty."))
    if "-" in compact or "_" in compact:
        raise DecodeError(Issue(control, rule, "error",
                                f"The {what} uses the URL-safe base64 alphabet ('-' or '_'), which the Kata Go shim "
                                f"(base64.StdEncoding) rejects, so the sandbox is not created."))
    if not _STD_B64.fullmatch(compact):
        bad = sorted({c for c in compact if not (c.isascii() and (c.isalnum() or c in "+/="))})
        raise DecodeError(Issue(control, rule, "error",
                                f"The {what} contains characters outside the standard base64 alphabet "
                                f"({''.join(bad)[:10]!r}), so the Kata Go shim cannot decode it."))
    if len(compact) % 4:
        raise DecodeError(Issue(control, rule, "error",
                                f"The {what} is not padded base64 (length {len(compact)} is not a multiple of 4, "
                                f"'=' padding missing), which the Kata Go shim rejects."))
    try:
        return base64.b64decode(compact, validate=True), wrapped
    except (binascii.Error, ValueError) as exc:
        raise DecodeError(Issue(control, rule, "error",
                                f"The {what} is not valid base64 ({excerpt(str(exc), 160)}), so the Kata Go shim rejects it.")) from exc


# ------------------------------------------------------------------ agent.policy ----
def decode_policy_annotation(value: str) -> str:
    """Rego text of an io.katacontainers.config.agent.policy value (raises DecodeError)."""
    raw, _ = decode_std_base64(value, "agentPolicyEncoding")
    if raw[:2] == b"\x1f\x8b":
        raise DecodeError(Issue("agentPolicyEncoding", "kata-policy-encoding", "error",
                                "The agent.policy annotation decodes to gzip data, but this annotation carries plain "
                                "base64 Rego (gzip + TOML is the cc_init_data format)."))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(Issue("agentPolicyEncoding", "kata-policy-encoding", "error",
                                f"The agent.policy annotation does not decode to UTF-8 text ({exc.reason} at byte "
                                f"{exc.start}), so it cannot be a Rego policy.")) from exc


def analyse_policy_annotation(value: str) -> list[Issue]:
    """Issues for the value of io.katacontainers.config.agent.policy."""
    try:
        rego = decode_policy_annotation(value)
    except DecodeError as exc:
        return [exc.issue]
    issues: list[Issue] = []
    if len(POLICY_ANNOTATION) + len(value) > K8S_ANNOTATIONS_LIMIT:
        issues.append(Issue("agentPolicyEncoding", "kata-policy-too-large", "error",
                            f"The agent.policy annotation is {len(value)} bytes, over the Kubernetes limit of 256 KiB "
                            f"for all annotations of an object, so the API server rejects the object."))
    issues.append(Issue(
        "agentPolicySource", "kata-policy-annotation-unattested", "warning",
        "The policy comes from the io.katacontainers.config.agent.policy annotation: it is not measured by "
        "attestation, runtime-rs (the default shim since Kata 4.0) ignores it, and the Go shim applies it only "
        "if the policy already loaded allows SetPolicyRequest; prefer a policy.rego in cc_init_data."))
    issues.extend(analyse_policy_text(rego, "annotation"))
    return issues


# ---------------------------------------------------------------------- initdata ----
@dataclass(frozen=True)
class InitData:
    raw: bytes                      # the decompressed TOML bytes (digest input)
    doc: dict | None
    digest_hex: str | None
    algorithm: str | None


def gunzip_bounded(blob: bytes, limit: int = MAX_DECOMPRESSED) -> tuple[bytes, bytes]:
    """Decompress the first gzip member, never producing more than ``limit`` bytes.

    Returns (data, unused_bytes_after_the_member).  Raises ValueError("too large"),
    ValueError("truncated") or zlib.error."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    chunk = 64 * 1024
    data = blob
    while True:
        piece = d.decompress(data, chunk)
        out += piece
        if len(out) > limit:
            raise ValueError("too large")
        data = d.unconsumed_tail
        if d.eof:
            break
        if not data and not piece:
            raise ValueError("truncated")
    return bytes(out), d.unused_data


def analyse_initdata(value: str, source: str = "annotation") -> list[Issue]:
    """Issues for a cc_init_data annotation value (source="annotation") or the INITDATA key
    of the peer-pods ConfigMap (source="configmap")."""
    where = ("cc_init_data annotation" if source == "annotation" else "peer-pods ConfigMap INITDATA")
    issues: list[Issue] = []
    try:
        blob, wrapped = decode_std_base64(value, "initdata")
    except DecodeError as exc:
        i = exc.issue
        return [Issue(i.control, i.rule, i.severity, i.message.replace("initdata value", f"{where} value"))]
    if wrapped:
        issues.append(Issue("initdata", "kata-initdata-line-wrapped", "warning",
                            f"The {where} value contains line breaks: the Go shim and cloud-api-adaptor skip them, "
                            f"but runtime-rs (kata-types base64 STANDARD) rejects the value and panics; use base64 -w0."))
    if source == "annotation" and len(INITDATA_ANNOTATION) + len(value) > K8S_ANNOTATIONS_LIMIT:
        issues.append(Issue("initdata", "kata-initdata-too-large", "error",
                            f"The {where} value is {len(value)} bytes, over the Kubernetes 256 KiB annotation limit."))
    if blob[:2] != b"\x1f\x8b":
        hint = " (it looks like plain base64 of the TOML)" if blob.lstrip()[:1].isalpha() else ""
        issues.append(Issue("initdata", "kata-initdata-not-gzip", "error",
                            f"The {where} value is base64 but not gzip data{hint}; Kata expects base64(gzip(TOML)) "
                            f"and rejects it, so the sandbox is not created."))
        return issues
    try:
        raw, rest = gunzip_bounded(blob)
    except ValueError as exc:
        if str(exc) == "too large":
            issues.append(Issue("initdata", "kata-initdata-too-large", "error",
                                f"The {where} gzip payload decompresses to more than 16 MiB (the agent's policy size "
                                f"cap); decompression was stopped (gzip bomb?)."))
        else:
            issues.append(Issue("initdata", "kata-initdata-gzip", "error",
                                f"The {where} gzip payload is truncated, so Kata cannot decompress it and the sandbox "
                                f"is not created."))
        return issues
    except zlib.error as exc:
        issues.append(Issue("initdata", "kata-initdata-gzip", "error",
                            f"The {where} gzip payload is corrupt ({excerpt(str(exc), 160)}), so Kata cannot decompress it."))
        return issues
    if rest:
        if rest[:2] == b"\x1f\x8b":
            issues.append(Issue("initdata", "kata-initdata-gzip", "warning",
                                f"The {where} value holds more than one gzip member: the Go shim reads all of them "
                                f"but runtime-rs and the agent read only the first, so they see different documents "
                                f"and digests; only the first member is analysed."))
        elif rest.strip(b"\0"):
            issues.append(Issue("initdata", "kata-initdata-gzip", "error",
                                f"The {where} value has {len(rest)} bytes of trailing garbage after the gzip data, "
                                f"which the Go gzip reader rejects."))
    issues.extend(_analyse_initdata_toml(raw, source, where))
    return issues


def _analyse_initdata_toml(raw: bytes, source: str, where: str) -> list[Issue]:
    issues: list[Issue] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [Issue("initdata", "kata-initdata-toml", "error",
                      f"The {where} document is not UTF-8 text ({exc.reason} at byte {exc.start}).")]
    doc, problem = _toml(text)
    if problem is _TOO_DEEP:
        return [Issue("initdata", "kata-initdata-toml", "error",
                      f"The {where} document nests arrays or tables deeper than kubelint-cc reads (about 1,000 "
                      f"levels), so nothing in it could be checked; no real initdata nests like this.")]
    if problem is not None:
        return [Issue("initdata", "kata-initdata-toml", "error",
                      f"The {where} document is not valid TOML ({problem}), so the shim rejects it and the agent "
                      f"cannot read it.")]
    version = doc.get("version")
    if version != INITDATA_VERSION:
        issues.append(Issue("initdata", "kata-initdata-version", "error",
                            f"The {where} version is {excerpt(version)}; Kata accepts only \"{INITDATA_VERSION}\"."))
    algorithm = doc.get("algorithm")
    if algorithm not in INITDATA_ALGORITHMS:
        issues.append(Issue("initdata", "kata-initdata-algorithm", "error",
                            f"The {where} algorithm is {excerpt(algorithm)}; it must be one of sha256, sha384, sha512 "
                            f"(lower case), otherwise the Go shim fails while hashing it."))
    else:
        digest = INITDATA_ALGORITHMS[algorithm](raw).hexdigest()
        issues.append(Issue("initdata", "kata-initdata-digest", "note",
                            f"The {where} {algorithm} digest is {digest} (over the exact decompressed TOML bytes); "
                            f"attestation compares it, truncated or zero-padded, with MRCONFIGID (TDX), HOST_DATA (SNP) "
                            f"or PCR8 (vTPM)."))
        if algorithm != "sha256":
            issues.append(Issue("initdata", "kata-initdata-non-sha256", "note",
                                f"The {where} uses {algorithm}: the digest is truncated to 48 bytes for TDX and 32 "
                                f"bytes for SNP, and vTPM attesters (peer pods on Azure) need an exact 32-byte sha256 "
                                f"digest."))
    data = doc.get("data")
    if not isinstance(data, dict):
        issues.append(Issue("initdata", "kata-initdata-data", "error",
                            f"The {where} document has no [data] table of string values."))
        data = {}
    # A hostile initdata may hold 500,000 keys: say the first few, then how many more.
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if len(bad) > MAX_KEY_ISSUES:
        issues.append(Issue("initdata", "kata-initdata-data", "error",
                            f"The {where} has {len(bad) - MAX_KEY_ISSUES:,} more data values that are not strings."))
    for k in bad[:MAX_KEY_ISSUES]:
        issues.append(Issue("initdata", "kata-initdata-data", "error",
                            f"The {where} data.{excerpt(k)} is not a string ({_TOML_TYPES.get(type(data[k]).__name__, type(data[k]).__name__)}): the agent fails to "
                            f"parse the initdata and exits at startup."))
    unknown = [k for k in data if k not in AGENT_DATA_KEYS]
    if len(unknown) > MAX_KEY_ISSUES:
        issues.append(Issue("initdata", "kata-initdata-unknown-key", "note",
                            f"The {where} has {len(unknown) - MAX_KEY_ISSUES:,} more data keys the agent ignores."))
    for k in unknown[:MAX_KEY_ISSUES]:
        issues.append(Issue("initdata", "kata-initdata-unknown-key", "note",
                            f"The {where} data key {excerpt(k)} is ignored (the agent uses only aa.toml, cdh.toml and "
                            f"policy.rego; cloud-api-adaptor logs it as not allowed)."))
    for k in ("aa.toml", "cdh.toml"):
        v = data.get(k)
        if isinstance(v, str):
            _, problem = _toml(v)
            if problem is not None:
                issues.append(Issue("initdata", "kata-initdata-toml", "warning",
                                    f"The {where} data.{excerpt(k)} is not valid TOML ({problem})."))
    policy = data.get("policy.rego")
    if policy is None:
        issues.append(Issue("initdata", "kata-initdata-no-policy", "note",
                            f"The {where} has no policy.rego, so the guest image default policy stays in force "
                            f"(allow-all in upstream and peer-pod images)."))
    elif isinstance(policy, str):
        issues.extend(analyse_policy_text(policy, "configmap" if source == "configmap" else "initdata"))
    return issues


_INT64 = (-(1 << 63), (1 << 63) - 1)
MAX_KEY_ISSUES = 20  # per kind of data-key problem in one initdata
_TOO_DEEP = "arrays or tables nested deeper than kubelint-cc reads (about 1,000 levels)"


def _toml(text: str) -> tuple[dict | None, str | None]:
    """The TOML document, or why Kata's TOML readers (Go BurntSushi, Rust toml) refuse it.
    TOML integers are 64-bit: Python's reader takes larger ones (and fails past 4,300
    digits), so they are checked here."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, excerpt(str(exc), 160)
    except RecursionError:
        return None, _TOO_DEEP
    except ValueError:  # int() of thousands of digits
        return None, "an integer has more digits than a 64-bit integer can hold"
    stack: list = [doc]
    while stack:  # iterative: the document may nest as deep as the parser allowed
        node = stack.pop()
        values = node.values() if isinstance(node, dict) else node
        for v in values:
            if isinstance(v, (dict, list)):
                stack.append(v)
            elif type(v) is int and not _INT64[0] <= v <= _INT64[1]:
                return None, "an integer is outside the 64-bit range TOML allows"
    return doc, None


def decode_initdata(value: str) -> bytes:
    """Decompressed initdata TOML bytes (raises DecodeError / ValueError)."""
    blob, _ = decode_std_base64(value, "initdata")
    if blob[:2] != b"\x1f\x8b":
        raise ValueError("not gzip data")
    raw, _ = gunzip_bounded(blob)
    return raw
