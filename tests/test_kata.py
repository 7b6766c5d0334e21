"""Tests for kubelint_cc.kata (Kata agent policy / initdata analysis).

Fixtures under tests/fixtures/kata/ are small hand-written policies; encodings are built here.
"""
from __future__ import annotations

import base64
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("regorus")

from kubelint_cc.kata import (AGENT_REQUESTS, CONDITIONAL, DISABLED, ENABLED, UNDEFINED, Issue,  # noqa: E402
                              analyse_initdata, analyse_policy_annotation, analyse_policy_text,
                              classify_policy)
from kubelint_cc.kata import engine, policy, sandbox  # noqa: E402
from kubelint_cc.kata.decode import MAX_DECOMPRESSED, gunzip_bounded  # noqa: E402
from kubelint_cc.kata.rego_scan import observes_whole_input, scan, tokenize  # noqa: E402

FIX = Path(__file__).parent / "fixtures" / "kata"


def rego(name: str) -> str:
    return (FIX / name).read_text()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def initdata_value(toml: str | bytes) -> str:
    raw = toml.encode() if isinstance(toml, str) else toml
    return b64(gzip.compress(raw, mtime=0))


def wrap(policy: str, algorithm: str = "sha256") -> str:
    return f'version = "0.1.0"\nalgorithm = "{algorithm}"\n\n[data]\n"policy.rego" = \'\'\'\n{policy}\'\'\'\n'


def by_rule(issues: list[Issue]) -> dict[str, list[Issue]]:
    out: dict[str, list[Issue]] = {}
    for i in issues:
        out.setdefault(i.rule, []).append(i)
    return out


def states(text: str) -> dict[str, str]:
    return {n: v.state for n, v in classify_policy(text).verdicts.items()}


# ------------------------------------------------------------------- lexer/scanner ----
def test_lexer_ignores_hash_and_braces_in_strings():
    toks = tokenize('x := "a # b { c" # real comment\ny := `raw\n# not { comment`\n')
    assert [t.text for t in toks if t.kind != "nl"] == ["x", ":=", '"a # b { c"', "y", ":=", "`raw\n# not { comment`"]
    mod = scan(rego("v1_constructs.rego"))
    # the raw-string and "#"-string decoys do not create rules
    assert not mod.defaults("SetPolicyRequest")[1:] and not mod.rules("AllowRequestsFailingPolicy")
    assert mod.if_imported


def test_lexer_lines_offsets_and_broken_strings():
    text = 'a := `x\ny`\nb := "open\nc := "q\\"" # c\nd := 1.5e3 ö ²\n'
    toks = [(t.kind, t.text, t.line, t.offset) for t in tokenize(text) if t.kind != "nl"]
    assert toks == [
        ("ident", "a", 1, 0), ("op", ":=", 1, 2), ("raw", "`x\ny`", 1, 5),
        ("ident", "b", 3, 11), ("op", ":=", 3, 13), ("string", '"open\n', 3, 16),  # unterminated: ends at the line
        ("ident", "c", 4, 22), ("op", ":=", 4, 24), ("string", '"q\\""', 4, 27),
        ("ident", "d", 5, 37), ("op", ":=", 5, 39), ("number", "1.5e3", 5, 42),
        ("op", "ö", 5, 48), ("number", "²", 5, 50),  # unknown characters are kept, never fatal
    ]
    assert [t.line for t in tokenize(text) if t.kind == "nl"] == [2, 3, 4, 5]


def test_non_ascii_identifier_is_a_syntax_finding_not_a_crash():
    text = "package agent_policy\n\ndefault ExecProcessRequest := false\nExecProcessRequest if { input.ö == 1 }\n"
    (i,) = analyse_policy_text(text, "initdata")
    assert i.rule == "kata-policy-syntax" and i.severity == "error"


@pytest.mark.parametrize("body, whole", [
    ("input.process.Args[0] == \"sh\"", False),
    ('input["process"].Args == []', False),
    ('print("request", input)\n    input.path == "/x"', False),       # print always succeeds
    ("count(input) == 0", True),
    ("x := input\n    x.path == 1", True),
    ('f(1) with input as {"a": 1}', True),
    ('print(input)\n    true\n}\n\nprint(x) := x if {\n    true', True),  # print is not the built-in here
    ("some k\n    input[k]", False),
])
def test_whole_input_use_is_detected(body, whole):
    text = f"package agent_policy\nimport rego.v1\n\nExecProcessRequest if {{\n    {body}\n}}\n"
    assert observes_whole_input(scan(text)) is whole


def test_missing_and_empty_input_are_told_apart_when_the_policy_can():
    # AllowRequestsFailingPolicy is queried with input {}: count(input) == 0 is true then,
    # undefined without any input.  Both probes must really be evaluated.
    text = ("package agent_policy\nimport rego.v1\n\ndefault ExecProcessRequest := false\n"
            "AllowRequestsFailingPolicy if count(input) == 0\n")
    pa = classify_policy(text)
    assert pa.allow_failing and pa.allow_failing_line == 5
    assert pa.verdicts["ExecProcessRequest"].state == DISABLED
    only_paths = text.replace("count(input) == 0", "not input.x")
    assert classify_policy(only_paths).allow_failing  # same answer when both probes share one run


def test_scanner_statement_shapes():
    mod = scan(rego("v1_constructs.rego"))
    (diag,) = mod.rules("GetDiagnosticDataRequest")
    assert [d.is_else for d in diag.definitions] == [False, True]
    assert diag.definitions[1].body is None and diag.definitions[1].value_text == "true"
    (ws,) = mod.rules("WriteStreamRequest")
    assert ws.definitions[0].body is None
    v0 = scan(rego("v0_legacy.rego"))
    assert not v0.if_imported
    assert [st.name for st in v0.statements for d in st.definitions if d.v0_body] == \
        ["CreateContainerRequest", "CloseStdinRequest"]


# --------------------------------------------------------------------- verdicts ----
def test_exec_and_log_enabled_by_default_lines():
    text = rego("exec_log_on.rego")
    s = states(text)
    assert s["ExecProcessRequest"] == ENABLED and s["ReadStreamRequest"] == ENABLED
    assert s["WriteStreamRequest"] == ENABLED and s["SetPolicyRequest"] == DISABLED
    assert s["AddSwapRequest"] == UNDEFINED and s["GetIPTablesRequest"] == UNDEFINED
    r = by_rule(analyse_policy_text(text, "initdata"))
    (ex,) = r["kata-exec-enabled"]
    assert ex.severity == "error" and ex.control == "ExecProcessRequest" and ex.rego_line == 13
    assert "initdata" in ex.message
    assert r["kata-log-enabled"][0].rego_line == 14
    assert r["kata-stdin-enabled"][0].severity == "warning"
    assert {i.control for i in r["kata-policy-legacy-request"]} == {"PullImageRequest", "StartTracingRequest"}
    assert "kata-setpolicy-enabled" not in r


def test_deny_all_generated():
    text = "package agent_policy\n\n" + "".join(f"default {n} := false\n" for n in AGENT_REQUESTS) \
        + "default AllowRequestsFailingPolicy := false\n"
    s = states(text)
    assert len(s) == 41 and set(s.values()) == {DISABLED}
    r = by_rule(analyse_policy_text(text, "annotation"))
    assert set(r) == {"kata-policy-blocks-pod-start"}
    assert "CreateSandboxRequest" in r["kata-policy-blocks-pod-start"][0].message


def test_genpolicy_style_allowlist_is_conditional():
    text = rego("allowlist.rego")
    pa = classify_policy(text)
    ex = pa.verdicts["ExecProcessRequest"]
    assert ex.state == CONDITIONAL and "input.process.Args" in ex.depends_on
    assert '["/usr/bin/uptime"]' in ex.detail and "regex list empty" in ex.detail
    assert 'ok # not a comment } {' in ex.detail  # probe argv, read as data
    assert pa.verdicts["ReadStreamRequest"].state == DISABLED  # policy_data switch is false
    assert pa.verdicts["WriteStreamRequest"].state == DISABLED
    assert pa.verdicts["CreateContainerRequest"].state == CONDITIONAL  # object result
    assert pa.verdicts["CopyFileRequest"].state == CONDITIONAL
    r = by_rule(analyse_policy_text(text, "initdata"))
    (c,) = r["kata-exec-conditional"]
    assert c.severity == "warning" and "conditional on input.process.Args" in c.message and c.rego_line == 25
    assert "kata-log-enabled" not in r and "kata-log-conditional" not in r


def test_wide_exec_regex_counts_as_enabled():
    s = states(rego("allowlist_wide_regex.rego"))
    assert s["ExecProcessRequest"] == ENABLED


def test_setpolicy_enabled_is_critical_and_origin_specific():
    text = rego("setpolicy_open.rego")
    assert states(text)["SetPolicyRequest"] == ENABLED
    (i,) = by_rule(analyse_policy_text(text, "initdata"))["kata-setpolicy-enabled"]
    assert i.severity == "error" and i.rego_line == 8 and "measured policy" in i.message
    (c,) = by_rule(analyse_policy_text(text, "configmap"))["kata-setpolicy-enabled"]
    assert "ConfigMap" in c.message and "overrides" in c.message


def test_rego_v1_constructs():
    text = rego("v1_constructs.rego")
    pa = classify_policy(text)
    v = pa.verdicts
    assert v["ExecProcessRequest"].state == CONDITIONAL
    assert '["/bin/hostname","-f"]' in v["ExecProcessRequest"].detail
    assert v["WriteStreamRequest"].state == ENABLED                 # := true, no body
    assert v["ReadStreamRequest"].state == ENABLED                  # print + always-true test
    assert "trivially true" in v["ReadStreamRequest"].reason
    assert v["UpdateRoutesRequest"].state == ENABLED                # deny-list
    assert "deny-list" in v["UpdateRoutesRequest"].reason
    assert v["GetDiagnosticDataRequest"].state == ENABLED           # else := true
    assert v["SetPolicyRequest"].state == DISABLED                  # decoy strings ignored
    assert not pa.allow_failing
    r = by_rule(analyse_policy_text(text, "annotation"))
    assert r["kata-log-enabled"][0].rego_line == 19
    assert "annotation" in r["kata-log-enabled"][0].message


def test_parse_error_reports_line():
    issues = analyse_policy_text(rego("broken.rego"), "initdata")
    (i,) = issues
    assert (i.control, i.rule, i.severity) == ("agentPolicySyntax", "kata-policy-syntax", "error")
    assert i.rego_line == 6 and "sandbox fails to start" in i.message
    assert classify_policy(rego("broken.rego")).loadable is False


def test_unclosed_body_parse_error():
    text = 'package agent_policy\n\ndefault ExecProcessRequest := false\n\nReadStreamRequest if {\n    input.x == 1\n'
    (i,) = analyse_policy_text(text, "annotation")
    assert i.rule == "kata-policy-syntax" and i.rego_line == 7  # regorus reports the end of input


def test_duplicate_default_first_one_wins_as_in_regorus():
    text = rego("dup_default.rego")
    r = by_rule(analyse_policy_text(text, "initdata"))
    (d,) = r["kata-policy-duplicate-default"]
    assert d.control == "agentPolicySyntax" and d.severity == "warning" and d.rego_line == 9
    assert "keeps the first one (false)" in d.message
    assert "kata-log-enabled" not in r
    pa = classify_policy(text)
    assert pa.loadable and pa.verdicts["ReadStreamRequest"].state == DISABLED
    assert pa.verdicts["ExecProcessRequest"].conflicting
    assert any(i.control == "ExecProcessRequest" for i in r["kata-policy-conflicting-rules"])


def test_rego_v0_policy():
    text = rego("v0_legacy.rego")
    pa = classify_policy(text)
    assert pa.dialect == "v0" and not pa.loadable and pa.allow_failing
    r = by_rule(analyse_policy_text(text, "initdata"))
    (v0,) = r["kata-policy-rego-v0"]
    assert v0.rego_line == 10 and "3.30" in v0.message
    (ex,) = r["kata-exec-enabled"]
    assert ex.rego_line == 6 and "future.keywords.if" in ex.message and ex.message.startswith("On kata-agent <= 3.29")
    (afp,) = r["kata-allow-failing-policy"]
    assert afp.control == "AllowRequestsFailingPolicy" and afp.severity == "error" and afp.rego_line == 16
    assert pa.verdicts["CloseStdinRequest"].state == ENABLED
    assert pa.verdicts["CreateContainerRequest"].state == ENABLED   # print-only body


def test_if_without_import_trap_on_old_agents():
    text = rego("v1_if_without_import.rego")
    pa = classify_policy(text)
    assert pa.dialect == "v1" and pa.verdicts["ExecProcessRequest"].state == CONDITIONAL
    (t,) = by_rule(analyse_policy_text(text, "initdata"))["kata-policy-v0-if-trap"]
    assert t.control == "ExecProcessRequest" and t.severity == "warning" and t.rego_line == 8


def test_wrong_package():
    (i,) = analyse_policy_text(rego("other_package.rego"), "annotation")
    assert (i.rule, i.rego_line, i.severity) == ("kata-policy-wrong-package", 1, "error")


def test_print_output_does_not_leak(capfd):
    sandbox._cache.clear()
    classify_policy(rego("v1_constructs.rego") + "\n# fresh text\n")
    out, _ = capfd.readouterr()
    assert "log read" not in out


def test_cache_avoids_a_second_evaluation(monkeypatch):
    text = rego("allowlist.rego") + "\n# cache probe\n"
    first = analyse_policy_text(text, "annotation")

    def fail(*args, **kwargs):
        raise sandbox._Failed("policy evaluated again")

    monkeypatch.setattr(sandbox._Child, "ask", fail)
    assert analyse_policy_text(text, "annotation") == first
    assert analyse_policy_text(text, "initdata") != first  # per-origin messages from the cached analysis
    (failed,) = policy.classify_policy(text + "# another text\n").syntax
    assert failed.rule == "kata-policy-analysis-failed" and "evaluated again" in failed.message


# ------------------------------------------------------------------- annotation ----
def test_policy_annotation_roundtrip_and_line_wrapping():
    text = rego("exec_log_on.rego")
    value = b64(text.encode())
    issues = analyse_policy_annotation(value)
    r = by_rule(issues)
    assert "kata-exec-enabled" in r and "kata-policy-annotation-unattested" in r
    assert r["kata-policy-annotation-unattested"][0].severity == "warning"
    wrapped = "\n".join(value[i:i + 76] for i in range(0, len(value), 76))
    assert analyse_policy_annotation(wrapped) == issues      # Go shim skips CR/LF


@pytest.mark.parametrize("mangle", [
    lambda v: v.replace("+", "-").replace("/", "_"),  # URL-safe alphabet
    lambda v: v.rstrip("="),                           # unpadded
    lambda v: v[:-2] + "!!",                           # junk
    lambda v: "",                                      # empty
])
def test_policy_annotation_bad_encodings(mangle):
    text = rego("v1_constructs.rego") + "\n# ~~~ pad ???\n"   # '~'/'?' make '+'/'/' appear
    value = b64(text.encode())
    if len(text.encode()) % 3 == 0:
        value = b64((text + "x").encode())
    bad = mangle(value)
    if bad == value:
        pytest.skip("encoding has no character this mangling changes")
    (i,) = analyse_policy_annotation(bad)
    assert (i.control, i.rule, i.severity) == ("agentPolicyEncoding", "kata-policy-encoding", "error")


# --------------------------------------------------------------------- initdata ----
def test_initdata_valid_with_policy_and_digest():
    toml = rego("initdata_ok.toml")
    issues = analyse_initdata(initdata_value(toml))
    r = by_rule(issues)
    import hashlib
    digest = hashlib.sha384(toml.encode()).hexdigest()
    assert digest in r["kata-initdata-digest"][0].message
    assert r["kata-initdata-digest"][0].severity == "note"
    assert "kata-initdata-non-sha256" in r
    (sp,) = r["kata-setpolicy-enabled"]
    assert sp.rego_line == 6 and "measured" in sp.message          # line inside policy.rego
    assert not any(i.severity == "error" and i.control == "initdata" for i in issues)


def test_initdata_configmap_origin():
    value = initdata_value(wrap(rego("exec_log_on.rego")))
    (ex,) = by_rule(analyse_initdata(value, source="configmap"))["kata-exec-enabled"]
    assert "ConfigMap" in ex.message


def test_initdata_no_policy_note():
    value = initdata_value('version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"cdh.toml" = "socket = \'x\'"\n')
    r = by_rule(analyse_initdata(value))
    assert r["kata-initdata-no-policy"][0].severity == "note"
    assert "kata-initdata-non-sha256" not in r


def test_initdata_malformed_document():
    r = by_rule(analyse_initdata(initdata_value(rego("initdata_bad.toml"))))
    assert r["kata-initdata-version"][0].severity == "error"
    assert r["kata-initdata-algorithm"][0].severity == "error"
    assert "cdh.toml" in r["kata-initdata-data"][0].message
    assert "extra.txt" in r["kata-initdata-unknown-key"][0].message
    assert all(i.control == "initdata" for v in r.values() for i in v)


def test_initdata_not_gzip_truncated_not_toml():
    plain = b64(wrap("package agent_policy\n").encode())
    (i,) = analyse_initdata(plain)
    assert i.rule == "kata-initdata-not-gzip" and i.control == "initdata"
    gz = gzip.compress(wrap("package agent_policy\n").encode(), mtime=0)
    (t,) = analyse_initdata(b64(gz[: len(gz) // 2]))
    assert t.rule == "kata-initdata-gzip" and "truncated" in t.message
    (n,) = analyse_initdata(initdata_value("this is = = not toml"))
    assert n.rule == "kata-initdata-toml"
    (u,) = analyse_initdata(b64(gz).replace("+", "-").replace("/", "_") if "+" in b64(gz) or "/" in b64(gz)
                            else b64(gz).rstrip("=") + "-")
    assert u.control == "initdata" and u.severity == "error"


def test_initdata_line_wrapped_warns_for_runtime_rs():
    value = initdata_value(wrap(rego("setpolicy_open.rego")))
    wrapped = "\n".join(value[i:i + 76] for i in range(0, len(value), 76))
    r = by_rule(analyse_initdata(wrapped))
    assert r["kata-initdata-line-wrapped"][0].severity == "warning"
    assert "kata-setpolicy-enabled" in r


def test_initdata_gzip_bomb_is_bounded():
    blob = gzip.compress(b'version = "0.1.0"\n' + b"#" * (MAX_DECOMPRESSED + 1024), mtime=0, compresslevel=9)
    (i,) = [i for i in analyse_initdata(b64(blob)) if i.rule == "kata-initdata-too-large"]
    assert i.severity == "error" and "16 MiB" in i.message
    with pytest.raises(ValueError, match="too large"):
        gunzip_bounded(blob, limit=1 << 20)


def test_initdata_multi_member_gzip():
    one = gzip.compress(wrap(rego("setpolicy_open.rego")).encode(), mtime=0)
    r = by_rule(analyse_initdata(b64(one + one)))
    assert r["kata-initdata-gzip"][0].severity == "warning"


def test_no_stray_files_read_from_shared():
    # the tests must be self-contained
    assert not any("/work/shared" in str(p) for p in FIX.iterdir())
    assert os.path.isdir(FIX)


# ------------------------------------------------------------------- rego engine ----
def _cli() -> list[str]:
    exe = shutil.which("kubelint-cc", path=os.path.dirname(sys.executable)) or shutil.which("kubelint-cc")
    return [exe] if exe else [sys.executable, "-m", "kubelint_cc"]


def _pod(tmp_path, policy_text: str) -> Path:
    pod = tmp_path / "pod.yaml"
    pod.write_text(f"""apiVersion: v1
kind: Pod
metadata:
  name: limited
  annotations:
    io.katacontainers.config.agent.policy: {b64(policy_text.encode())}
spec:
  hostNetwork: true
  containers: [{{name: c, image: x}}]
""")
    return pod


def _scan_cli(pod: Path, preexec_fn=None) -> tuple[int, dict]:
    proc = subprocess.run(_cli() + ["scan", "--format", "json", "--pss-level", "baseline", str(pod)],
                          capture_output=True, timeout=120, preexec_fn=preexec_fn)
    assert b"Traceback" not in proc.stderr and b"snmalloc" not in proc.stderr, proc.stderr.decode()
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}"
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.parametrize("limit", ["RLIMIT_AS", "RLIMIT_DATA"])
def test_policy_is_analysed_under_an_address_space_limit(tmp_path, limit):
    # CI runners and containers often set these; the engine must still run under them.
    which = getattr(resource, limit)

    def set_limit():
        resource.setrlimit(which, (4 << 30, resource.getrlimit(which)[1]))

    code, doc = _scan_cli(_pod(tmp_path, rego("exec_log_on.rego")), set_limit)
    assert code == 1 and not doc["errors"]
    assert "kata-exec-enabled" in {f["rule"] for f in doc["findings"]}


def test_with_input_as_reference_is_analysed(tmp_path):
    # rego-cpp aborted the process on this shape; regorus evaluates it as the agent does.
    text = ("package agent_policy\nimport rego.v1\n\nsample := {\"x\": 1}\n"
            "ExecProcessRequest if {\n    allowed with input as sample\n}\n\nallowed if input.x == 1\n")
    code, doc = _scan_cli(_pod(tmp_path, text))
    assert code == 1 and not doc["errors"]
    assert [f["rule"] for f in doc["findings"] if f["control"] == "ExecProcessRequest"] == ["kata-exec-enabled"]


# ------------------------------------------------ engine parity (regorus, as the agent runs it) ----
def test_comprehension_shapes_regorus_accepts_load_without_a_syntax_finding():
    pa = classify_policy(rego("comprehensions.rego"))
    assert pa.loadable and pa.dialect == "v1" and not pa.syntax
    ex = pa.verdicts["ExecProcessRequest"]
    assert ex.state == CONDITIONAL and '["/bin/date"]' in ex.detail


def test_genpolicy_v0_with_every_allow_list_empty_denies_exec():
    pa = classify_policy(rego("genpolicy_v0_empty.rego"))
    assert pa.dialect == "v0" and not pa.loadable
    ex = pa.verdicts["ExecProcessRequest"]
    assert ex.state == DISABLED and "every exec allow-list in policy_data is empty" in ex.reason
    rules = by_rule(analyse_policy_text(rego("genpolicy_v0_empty.rego"), "annotation"))
    assert "kata-exec-conditional" not in rules and "kata-exec-enabled" not in rules
    (v0,) = rules["kata-policy-rego-v0"]
    assert v0.rego_line == 11 and "`if` keyword is required" in v0.message


def test_genpolicy_v0_with_one_probe_command_is_conditional_and_lists_it():
    pa = classify_policy(rego("genpolicy_v0_probe.rego"))
    ex = pa.verdicts["ExecProcessRequest"]
    assert ex.state == CONDITIONAL and "/bin/healthcheck --quick" in ex.detail


def test_genpolicy_v1_drop_in_lists_the_command_and_enables_log():
    text = rego("genpolicy_v1_dropin.rego")
    pa = classify_policy(text)
    assert pa.loadable and not pa.syntax
    assert pa.verdicts["ExecProcessRequest"].state == CONDITIONAL
    assert 'exact argv allow-list [["/bin/date"]]' in pa.verdicts["ExecProcessRequest"].detail
    assert pa.verdicts["ReadStreamRequest"].state == ENABLED
    rules = by_rule(analyse_policy_text(text, "initdata"))
    assert rules["kata-log-enabled"][0].rego_line == 28


def test_unknown_function_fails_only_the_rules_that_call_it():
    # regorus resolves functions when a rule is evaluated: the agent answers every other request.
    pa = classify_policy(rego("unknown_function.rego"))
    assert pa.loadable and not pa.syntax
    assert pa.verdicts["ExecProcessRequest"].state == DISABLED


def test_v1_parse_error_has_the_engines_line_and_column():
    text = "package agent_policy\nimport rego.v1\n\nExecProcessRequest if {\n    x := [1, 2\n}\n"
    (i,) = analyse_policy_text(text, "initdata")
    assert i.rule == "kata-policy-syntax" and i.rego_line == 5 and "(column 7)" in i.message


def test_engine_length_limits_are_the_agents_not_regorus_stock_ones():
    # regorus' stock lexer stops at 1024 columns; kata-agent raises it to 64 KiB.
    long_line = "allowed_env := [" + ", ".join(f'"VAR_{i}=value"' for i in range(300)) + "]\n"
    text = "package agent_policy\nimport rego.v1\n\ndefault ExecProcessRequest := false\n" + long_line
    assert len(long_line) > 4096
    pa = classify_policy(text)
    assert pa.loadable and not pa.syntax


HOSTILE_HEAD = "package agent_policy\nimport rego.v1\n\ndefault ExecProcessRequest := false\n"


@pytest.mark.parametrize("body, rule", [
    # allocates past the sandbox's memory bound: a finding, not a dead scan
    ("ExecProcessRequest if count(numbers.range(1, 1000000000)) > 0\n", "kata-policy-analysis-failed"),
    # 30,000-deep parentheses crashed rego-cpp; regorus refuses past 32 levels, as in the agent
    ("x := " + "(" * 30000 + "1" + ")" * 30000 + "\n", "kata-policy-syntax"),
    # catastrophic backtracking in backtracking engines; regorus' regex is linear
    ('ExecProcessRequest if regex.match("(a+)+$", concat("", ["' + "a" * 60 + '", "!"]))\n', None),
])
def test_hostile_policies_are_bounded_and_the_scan_goes_on(tmp_path, body, rule):
    def hard_cap():  # as a CI runner would: the whole scan, engine child included, under 3 GiB
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    code, doc = _scan_cli(_pod(tmp_path, HOSTILE_HEAD + body), hard_cap)
    assert not doc["errors"]
    kata = [f["rule"] for f in doc["findings"] if f["rule"].startswith("kata-policy-") and f["severity"] == "error"]
    assert kata == ([rule] if rule else [])
    assert "hostNamespaces" in {f["control"] for f in doc["findings"]}  # the rest of the pod was judged


def test_policy_evaluation_sees_no_environment_and_no_clock(tmp_path):
    secret = "kubelint-planted-secret-4f1c7e"
    text = HOSTILE_HEAD + ("ExecProcessRequest if input.process.Args in allowed\n"
                           "allowed := [[opa.runtime()], [time.now_ns()]]\n")
    pod = _pod(tmp_path, text)
    runs = []
    for fmt in ("text", "json", "sarif"):
        proc = subprocess.run(_cli() + ["scan", "--format", fmt, str(pod)], capture_output=True, timeout=120,
                              env={**os.environ, "KUBELINT_SECRET": secret})
        assert secret.encode() not in proc.stdout + proc.stderr
        runs.append(proc.stdout)
    proc = subprocess.run(_cli() + ["scan", "--format", "json", str(pod)], capture_output=True, timeout=120)
    assert proc.stdout == runs[1]  # the same verdict at another time: the clock is fixed


@pytest.mark.parametrize("extra, aa, message", [
    ("x = " + "[" * 1000 + "]" * 1000 + "\n", None, "deeper than kubelint-cc reads"),
    ("n = " + "9" * 5000 + "\n", None, "more digits than a 64-bit integer"),
    ("n = " + "9" * 20 + "\n", None, "outside the 64-bit range"),
    ("", "x = " + "[" * 1000 + "]" * 1000 + "\n", "deeper than kubelint-cc reads"),
])
def test_initdata_that_python_cannot_read_is_a_finding_not_a_failure(extra, aa, message):
    toml = 'version = "0.1.0"\nalgorithm = "sha256"\n' + extra + '[data]\n"policy.rego" = "package agent_policy"\n'
    if aa is not None:
        toml += "\"aa.toml\" = '''\n" + aa + "'''\n"
    value = base64.b64encode(gzip.compress(toml.encode(), mtime=0)).decode()
    issues = [i for i in analyse_initdata(value) if i.rule == "kata-initdata-toml"]
    assert len(issues) == 1 and message in issues[0].message
    assert issues[0].severity == ("warning" if aa else "error")


def test_initdata_with_many_keys_and_a_huge_version_gives_a_short_report():
    toml = 'version = "' + "9" * 200_000 + '"\nalgorithm = "sha256"\n[data]\n' + \
        "".join(f'"k{i}" = "v"\n' for i in range(50_000)) + '"policy.rego" = "package agent_policy"\n'
    value = base64.b64encode(gzip.compress(toml.encode(), mtime=0)).decode()
    issues = analyse_initdata(value)
    assert len(issues) < 40
    assert all(len(i.message) < 600 for i in issues)
    assert any("49,980 more data keys" in i.message for i in issues)
