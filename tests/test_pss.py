"""Pod Security Standards: hand-made pass/fail pods per PSA control, run through the installed CLI.

tests/fixtures/pss/<control>/{pass,fail}/*.yaml are minimal restricted pods with one change.
Leading comments say how to run and what to expect:

    # pss-level: baseline          (default restricted)
    # pss-version: v1.24           (default latest)
    # expect: <control> <line>:<col>   (fail fixtures; one line per finding, exhaustive)
    # expect-error: <line>:<col>       (a field of the wrong type: an input error, exhaustive)

A fail fixture must produce exactly its expected (control, line, column) findings, a pass
fixture no finding with a control, and neither an input error it does not expect.  Every
fail pod is also wrapped as the pod template of each controller kind and must give the
same findings, moved to where the wrapping put them.  See fixtures/pss/README.md.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest

from conftest import _cli
from kubelint_cc import config as config_mod
from kubelint_cc.checks import pss

ROOT = Path(__file__).parent / "fixtures" / "pss"
DIRECTIVE = re.compile(r"#\s*(pss-level|pss-version|expect|expect-error):\s*(.*?)\s*$")
EXPECT = re.compile(r"([A-Za-z_]+) ([1-9][0-9]*):([1-9][0-9]*)$")
EXPECT_ERROR = re.compile(r"([1-9][0-9]*):([1-9][0-9]*)$")
TOP_KEY = re.compile(r"^([A-Za-z]+):")


@dataclass(frozen=True)
class Fixture:
    path: Path
    control: str  # the directory: which check the fixture is about
    verdict: str  # "pass" or "fail"
    level: str
    version: str
    expected: tuple  # ((control, line, column), ...)
    errors: tuple  # ((line, column), ...) of the input errors
    lines: tuple

    @property
    def id(self) -> str:
        return f"{self.control}/{self.verdict}/{self.path.stem}"

    @cached_property
    def body_start(self) -> int:
        """1-based line of the top-level `metadata:`; from there on the file is the pod's
        metadata and spec, the part a controller's template holds."""
        return next(i for i, line in enumerate(self.lines, 1) if line.startswith("metadata:"))


def parse(path: Path) -> Fixture:
    lines = tuple(path.read_text(encoding="utf-8").splitlines())
    level, version, expected, errors = "restricted", "latest", [], []
    for line in lines:
        if not line.startswith("#"):
            break  # directives live in the leading comment block only
        m = DIRECTIVE.match(line)
        if not m:
            continue
        key, value = m.groups()
        if key == "pss-level":
            level = value
        elif key == "pss-version":
            version = value
        elif key == "expect-error":
            e = EXPECT_ERROR.match(value)
            assert e, f"{path}: bad expect-error line {line!r} (want `# expect-error: <line>:<col>`)"
            errors.append((int(e.group(1)), int(e.group(2))))
        else:
            e = EXPECT.match(value)
            assert e, f"{path}: bad expect line {line!r} (want `# expect: <control> <line>:<col>`)"
            expected.append((e.group(1), int(e.group(2)), int(e.group(3))))
    return Fixture(path, path.parent.parent.name, path.parent.name, level, version, tuple(expected),
                   tuple(errors), lines)


FIXTURES = [parse(p) for p in sorted(ROOT.glob("*/*/*.yaml"))]
FAIL = [f for f in FIXTURES if f.verdict == "fail"]


# ---------------------------------------------------------------- running the CLI

def scan(level: str, version: str, paths: list, config: Path) -> dict:
    """One CLI run over many files -> {realpath: ([findings], [input errors])}."""
    argv = _cli() + ["scan", "--format", "json", "--pss-level", level, "--pss-version", version]
    if config_mod.discover([str(paths[0])]) is not None:
        # A config in the tree could select, ignore or exclude; neutralise it.  (Only then:
        # validating even an empty config costs each run a jsonschema import.)
        argv += ["--config", str(config)]
    proc = subprocess.run(argv + [str(p) for p in paths], capture_output=True, timeout=120)
    assert proc.stdout, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    assert proc.returncode == (2 if doc["errors"] else 1 if doc["findings"] else 0), proc.stderr.decode()
    assert doc["summary"]["objects"] == len(paths), "every file must be exactly one workload object"
    by_file: dict = {os.path.realpath(p): ([], []) for p in paths}
    for finding in doc["findings"]:
        by_file[os.path.realpath(finding["file"])][0].append(finding)
    for error in doc["errors"]:
        by_file[os.path.realpath(error["file"])][1].append(error)
    return by_file


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    """{(fixture id, None or controller id): (findings, errors)}: every fixture as a Pod, and
    every fail fixture wrapped in every controller, scanned with one CLI run per (level,
    version), the runs in parallel."""
    tmp = tmp_path_factory.mktemp("pss")
    config = tmp / "kubelint-cc.yaml"
    config.write_text("{}\n")
    groups: dict = {}
    for fx in FIXTURES:
        files = groups.setdefault((fx.level, fx.version), {})
        files[(fx.id, None)] = fx.path
        for ctl in CONTROLLERS if fx.verdict == "fail" else ():
            path = tmp / f"{fx.control}.{fx.verdict}.{fx.path.stem}.{_cid(ctl)}.yaml"
            path.write_text(wrap(fx, ctl), encoding="utf-8")
            files[(fx.id, _cid(ctl))] = path
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs = {group: pool.submit(scan, *group, list(files.values()), config) for group, files in groups.items()}
    out = {}
    for group, files in groups.items():
        found = runs[group].result()
        out.update({key: found[os.path.realpath(path)] for key, path in files.items()})
    return out


def controls(findings: list) -> Counter:
    return Counter((f["control"], f["line"], f["column"]) for f in findings if f.get("control"))


def positions(errors: list) -> Counter:
    return Counter((e.get("line"), e.get("column")) for e in errors)


# ---------------------------------------------------------------- the fixtures themselves

@pytest.mark.parametrize("fx", FIXTURES, ids=lambda f: f.id)
def test_fixture_is_well_formed(fx):
    assert fx.verdict in ("pass", "fail")
    assert fx.level in (pss.BASELINE, pss.RESTRICTED)
    assert fx.version == "latest" or re.fullmatch(r"v1\.(0|[1-9][0-9]*)", fx.version)
    assert bool(fx.expected) == (fx.verdict == "fail"), "fail fixtures need `# expect:` lines, pass fixtures none"
    body = fx.lines[fx.body_start - 1:]
    head = [line for line in fx.lines[:fx.body_start - 1] if not line.startswith("#")]
    assert head == ["apiVersion: v1", "kind: Pod"], "the pod starts apiVersion, kind, then metadata and spec"
    assert [m.group(1) for m in map(TOP_KEY.match, body) if m] == ["metadata", "spec"]
    for control, line, col in fx.expected + tuple((None, *e) for e in fx.errors):
        assert control in pss.CHECKS or control is None, f"unknown control {control}"
        assert fx.body_start <= line <= len(fx.lines), f"expect {line}:{col} is outside the pod"
        text = fx.lines[line - 1]
        # Findings name a key (or a sequence item): a word or quoted scalar starts there.
        assert col <= len(text) and re.match(r"[\w\"']", text[col - 1]), f"expect {line}:{col} in {text!r}"


def test_every_control_has_pass_and_fail_fixtures():
    have = {(f.control, f.verdict) for f in FIXTURES}
    missing = [f"{c}/{v}" for c in pss.CHECKS for v in ("pass", "fail") if (c, v) not in have]
    assert not missing, f"controls without fixtures: {missing}"
    strays = {f.control for f in FIXTURES} - set(pss.CHECKS)
    assert not strays, f"fixture directories that name no control: {strays}"


def test_each_control_is_expected_in_its_own_fail_fixtures():
    for fx in FAIL:
        assert any(c == fx.control for c, _, _ in fx.expected), f"{fx.id} never expects {fx.control}"


# ---------------------------------------------------------------- Pods

@pytest.mark.parametrize("fx", FIXTURES, ids=lambda f: f.id)
def test_pod(fx, results):
    found, errors = results[(fx.id, None)]
    assert controls(found) == Counter(fx.expected), json.dumps(found, indent=1)
    assert positions(errors) == Counter(fx.errors), json.dumps(errors, indent=1)
    assert all(f["object"]["kind"] == "Pod" for f in found)


# ---------------------------------------------------------------- the same pods as controllers' templates

def _controller(api: str, kind: str, spec: list[str]) -> tuple:
    head = [f"apiVersion: {api}", f"kind: {kind}", "metadata:", "  name: wrapped"]
    if kind == "PodTemplate":
        return api, kind, head + ["template:"], 2, "template."
    if kind in ("CronJob", "ScaledJob"):
        first = '  schedule: "*/5 * * * *"' if kind == "CronJob" else "  pollingInterval: 30"
        return api, kind, head + ["spec:", first, "  jobTemplate:", "    spec:",
                                  "      template:"], 8, "spec.jobTemplate.spec.template."
    return api, kind, head + ["spec:"] + [f"  {line}" for line in spec] + ["  template:"], 4, "spec.template."


SELECTOR = ["selector:", "  matchLabels:", "    app: wrapped"]
CONTROLLERS = [
    _controller("apps/v1", "Deployment", SELECTOR),
    _controller("extensions/v1beta1", "Deployment", ["replicas: 2"]),
    _controller("apps/v1", "DaemonSet", SELECTOR),
    _controller("apps/v1", "StatefulSet", ["serviceName: wrapped"] + SELECTOR),
    _controller("apps/v1", "ReplicaSet", SELECTOR),
    _controller("v1", "ReplicationController", ["replicas: 1"]),
    _controller("batch/v1", "Job", ["backoffLimit: 1"]),
    _controller("batch/v1", "CronJob", []),
    _controller("batch/v1beta1", "CronJob", []),
    _controller("v1", "PodTemplate", []),
    # Pod-carrying custom resources
    _controller("apps.openshift.io/v1", "DeploymentConfig", ["replicas: 1"]),
    _controller("argoproj.io/v1alpha1", "Rollout", SELECTOR),
    _controller("serving.knative.dev/v1", "Service", []),
    _controller("keda.sh/v1alpha1", "ScaledJob", []),
    _controller("apps.kruise.io/v1alpha1", "CloneSet", SELECTOR),
    _controller("apps.kruise.io/v1beta1", "StatefulSet", ["serviceName: wrapped"] + SELECTOR),
]


def wrap(fx: Fixture, controller: tuple) -> str:
    """The pod's metadata and spec, re-indented under the controller's template key."""
    _, _, head, indent, _ = controller
    body = [" " * indent + line if line.strip() else line for line in fx.lines[fx.body_start - 1:]]
    return "\n".join(head + body) + "\n"


def shifted(fx: Fixture, controller: tuple, line: int, column: int) -> tuple[int, int]:
    _, _, head, indent, _ = controller
    assert line >= fx.body_start, "a finding above the pod's metadata cannot move into a template"
    return len(head) + line - fx.body_start + 1, column + indent


def _cid(controller: tuple) -> str:
    return f"{controller[1]}-{controller[0].replace('/', '-')}"


@pytest.mark.parametrize("fx", FAIL, ids=lambda f: f.id)
def test_wrapped_in_controllers(fx, results):
    pod, pod_errors = results[(fx.id, None)]
    # The pod run is pinned to the hand-written expectations (test_pod), so these are too.
    assert sum(controls(pod).values()) == len(fx.expected) and len(pod_errors) == len(fx.errors)
    wrong = []
    for ctl in CONTROLLERS:
        api, kind, _, _, prefix = ctl
        want = Counter((f["control"], *shifted(fx, ctl, f["line"], f["column"]), prefix + f["path"], kind)
                       for f in pod if f.get("control"))
        found, errors = results[(fx.id, _cid(ctl))]
        have = Counter((f["control"], f["line"], f["column"], f["path"], f["object"]["kind"])
                       for f in found if f.get("control"))
        if have != want:
            wrong.append(f"{api} {kind}: missing {sorted(want - have)}, unexpected {sorted(have - want)}")
        if positions(errors) != Counter(shifted(fx, ctl, line, col) for line, col in fx.errors):
            wrong.append(f"{api} {kind}: input errors {sorted(positions(errors))}")
    assert not wrong, "\n".join(wrong)


# ---------------------------------------------------------------- wrong types never crash a check

RESTRICTED_SC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
CONTAINER = {
    "name": "app", "image": "registry.k8s.io/pause",
    "ports": [{"containerPort": 80, "hostPort": 0}],
    "securityContext": {
        "allowPrivilegeEscalation": False, "privileged": False, "runAsNonRoot": True, "runAsUser": 1000,
        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}, "procMount": "Default",
        "seccompProfile": {"type": "RuntimeDefault"}, "appArmorProfile": {"type": "RuntimeDefault"},
        "seLinuxOptions": {"type": "container_t", "user": "", "role": ""}, "windowsOptions": {"hostProcess": False}},
    "livenessProbe": {"httpGet": {"host": "", "port": 80}},
    "lifecycle": {"preStop": {"tcpSocket": {"host": "", "port": 80}}},
}
FULL_POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "full", "annotations": {
        "container.apparmor.security.beta.kubernetes.io/app": "runtime/default",
        "seccomp.security.alpha.kubernetes.io/pod": "runtime/default",
        "container.seccomp.security.alpha.kubernetes.io/app": "runtime/default"}},
    "spec": {
        "hostNetwork": False, "hostUsers": True, "os": {"name": "linux"},
        "securityContext": {
            "runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"},
            "appArmorProfile": {"type": "RuntimeDefault"}, "seLinuxOptions": {"type": "container_t"},
            "sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}], "windowsOptions": {"hostProcess": False}},
        "volumes": [{"name": "v", "configMap": {"name": "c"}}],
        "initContainers": [{"name": "init", "image": "x", "securityContext": RESTRICTED_SC}],
        "containers": [CONTAINER],
        "ephemeralContainers": [{"name": "debug", "image": "x", "securityContext": RESTRICTED_SC}],
    },
}
# null, a string where a bool, number or object belongs, and unhashable shapes where a string does
WRONG = [None, "true", [{}], {"a": [1]}]


def _places(node, path=()):
    """Paths of every value under metadata and spec."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if path or key in ("metadata", "spec"):
            yield path + (key,)
            yield from _places(value, path + (key,))


def _replaced(node, path, value):
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = _replaced(node[path[0]], path[1:], value)
    return copy


# A wrong-typed value counts as absent: these controls require a value (allowPrivilegeEscalation,
# capabilities.drop, runAsNonRoot, a seccomp profile for every container) or read an absent
# string as "" (an AppArmor or seccomp profile type, a sysctl name), so some mutation trips them.
# Forbidden-value checks (privileged: true, runAsUser: 0, ...) must never trip on a wrong type.
TRIPPED = {"appArmorProfile", "sysctls"}


# Checks that fire only on a forbidden value of the right type.
FORBIDDEN_VALUE = {"hostNamespaces", "privileged", "hostPorts", "windowsHostProcess", "runAsUser", "procMount",
                   "procMount_restricted", "hostProbesAndHostLifecycle", "seLinuxOptions", "hostPathVolumes",
                   "restrictedVolumes", "capabilities_baseline"}


@pytest.mark.parametrize("level,version,tripped", [
    ("restricted", "v1.18", TRIPPED | {"seccompProfile_baseline", "runAsNonRoot"}),
    ("restricted", "latest", TRIPPED | {"allowPrivilegeEscalation", "capabilities_restricted", "runAsNonRoot",
                                        "seccompProfile_restricted"}),
    ("baseline", "latest", TRIPPED | {"seccompProfile_baseline"}),
])
def test_wrong_types_are_judged_not_crashed_on(level, version, tripped, tmp_path, run):
    """Every field a check reads, replaced by each WRONG value: one document each, after the valid
    pod itself.  The scan completes; wrong types may be input errors, never crashes."""
    mutations = [(path, value) for path in _places(FULL_POD) for value in WRONG]
    docs = [FULL_POD] + [_replaced(FULL_POD, path, value) for path, value in mutations]
    stream = tmp_path / "wrong-types.yaml"
    stream.write_text("".join(f"---\n{json.dumps(d)}\n" for d in docs))  # document i is on line 2i+2
    proc = run("scan", "--format", "json", "--pss-level", level, "--pss-version", version, stream)
    assert proc.stdout and b"internal error" not in proc.stderr, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    assert proc.returncode in (0, 1, 2) and doc["summary"]["objects"] == len(docs)
    assert all(e.get("line") for e in doc["errors"]), "input errors carry a position"
    assert not [x for x in doc["findings"] + doc["errors"] if x.get("line") == 2], "the unmutated pod is valid"
    assert tripped <= {f["control"] for f in doc["findings"]}
    # The string "true" is a right-typed value where a string belongs; the other WRONG values
    # are never right-typed for a leaf, so they must not make a forbidden-value check fire.
    for f in doc["findings"]:
        path, value = mutations[(f["line"] - 2) // 2 - 1]
        assert isinstance(value, str) or f["control"] not in FORBIDDEN_VALUE, (path, value, f["message"])
