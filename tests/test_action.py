"""The GitHub Action (action.yml): its metadata, and its steps run the way the runner runs them.

A small stand-in for the Actions runner evaluates the `${{ }}` expressions, runs each
`run:` script with `bash --noprofile --norc -eo pipefail` in a workspace, and reads the
step outputs back from $GITHUB_OUTPUT.  `uses:` steps are not run; actions/setup-python
is stood in for by this interpreter (its `python-path` output).  The install step really
creates the virtual environment and pip-installs the action's own directory (a copy
of this working tree) with its dependencies, once for the module.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
ACTION = YAML(typ="safe").load((ROOT / "action.yml").read_text())
STEPS = ACTION["runs"]["steps"]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")

PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: bad
spec:
  containers:
  - name: app
    image: nginx:1.27
    securityContext:
      privileged: true
"""
# Only restricted-level (warning) findings: allowPrivilegeEscalation is not set.
WARNING_ONLY_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: almost
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: app
    image: nginx:1.27
    securityContext:
      capabilities: {drop: [ALL]}
"""


class Runner:
    """Runs action.yml's steps as the Actions runner would, one step at a time."""

    def __init__(self, workspace: Path, action_path: Path, temp: Path):
        self.workspace, self.action_path, self.temp = workspace, action_path, temp
        self.steps: dict[str, dict] = {}
        self.log = ""

    def evaluate(self, text, inputs: dict) -> str:
        def value(m):
            head, *rest = m.group(1).split(".")
            if head == "inputs" and len(rest) == 1:
                return inputs[rest[0]]
            if head == "steps" and len(rest) == 3 and rest[1] == "outputs":
                return self.steps.get(rest[0], {}).get(rest[2], "")
            if (head, *rest) == ("github", "action_path"):
                return str(self.action_path)
            if (head, *rest) == ("runner", "temp"):
                return str(self.temp)
            raise AssertionError(f"expression not understood by this test's runner: {m.group(0)}")
        return EXPRESSION.sub(value, str(text))

    def run_step(self, step: dict, given: dict) -> int:
        inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
        assert set(given) <= set(inputs), f"unknown inputs {set(given) - set(inputs)}"
        inputs.update(given)
        if "uses" in step:
            assert step["uses"].startswith("actions/setup-python@"), step["uses"]
            self.steps[step["id"]] = {"python-path": sys.executable,
                                      "python-version": self.evaluate(step["with"]["python-version"], inputs)}
            return 0
        assert step["shell"] == "bash"
        output_file = self.temp / f"output-{step['id']}"
        output_file.write_text("")
        # Nothing from a real runner (when these tests run in GitHub Actions) may leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "INPUT_"))}
        env.update({k: self.evaluate(v, inputs) for k, v in step.get("env", {}).items()})
        env.update(GITHUB_OUTPUT=str(output_file), GITHUB_ACTION_PATH=str(self.action_path),
                   RUNNER_TEMP=str(self.temp), GITHUB_WORKSPACE=str(self.workspace))
        script = self.temp / f"{step['id']}.sh"
        script.write_text(self.evaluate(step["run"], inputs))
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=self.workspace, env=env, capture_output=True, text=True, timeout=600)
        self.log = proc.stdout + proc.stderr
        self.steps[step["id"]] = parse_outputs(output_file.read_text())
        return proc.returncode

    def outputs(self, given: dict) -> dict:
        return {name: self.evaluate(spec["value"], given) for name, spec in ACTION["outputs"].items()}


def parse_outputs(text: str) -> dict:
    """$GITHUB_OUTPUT's two forms: name=value and name<<DELIMITER ... DELIMITER."""
    out, lines = {}, iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            out[name] = "\n".join(iter(lambda: next(lines), delimiter))
        elif line:
            name, value = line.split("=", 1)
            out[name] = value
    return out


def step(step_id: str) -> dict:
    return next(s for s in STEPS if s.get("id") == step_id)


def _copy_source(dest: Path) -> None:
    """The action's directory as `uses: kubelint-cc/kubelint-cc@ref` checks it out: the
    files in git (new ones included), not ignored files or hidden tool directories."""
    proc = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                          cwd=ROOT, capture_output=True, timeout=60)
    if proc.returncode:
        pytest.skip(f"{ROOT} is not a git work tree: {proc.stderr.decode().strip()}")
    for name in set(proc.stdout.decode().split("\0")) - {""}:
        if not any(part.startswith(".") for part in name.split("/")[:-1]) and (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Runner state after the setup-python and install steps, run once for the module."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    base = tmp_path_factory.mktemp("action")
    action_path = base / "action"
    action_path.mkdir()
    _copy_source(action_path)
    assert (action_path / "action.yml").is_file()
    runner = Runner(base, action_path, base / "temp")
    runner.temp.mkdir()
    assert runner.run_step(step("python"), {}) == 0
    code = runner.run_step(step("install"), {})
    assert code == 0, runner.log
    return runner


@pytest.fixture
def scan(installed, tmp_path):
    """scan(files, **inputs) -> (step exit code, action outputs, log, workspace)."""
    def _scan(files: dict[str, str], **inputs):
        runner = Runner(tmp_path / "workspace", installed.action_path, installed.temp)
        runner.steps = {k: dict(v) for k, v in installed.steps.items()}
        runner.workspace.mkdir(exist_ok=True)
        for name, text in files.items():
            (runner.workspace / name).parent.mkdir(parents=True, exist_ok=True)
            (runner.workspace / name).write_text(text)
        given = {k.replace("_", "-"): v for k, v in inputs.items()}
        code = runner.run_step(step("scan"), given)
        return code, runner.outputs(given), runner.log, runner.workspace
    return _scan


def test_metadata():
    assert ACTION["runs"]["using"] == "composite"
    assert {name: spec.get("default") for name, spec in ACTION["inputs"].items()} == {
        "paths": ".", "format": "sarif", "output": "kubelint-cc.sarif", "args": "", "fail-on": "never",
        "python-version": "3.11", "version": ""}
    assert all(spec.get("description") for spec in [*ACTION["inputs"].values(), *ACTION["outputs"].values()])
    assert set(ACTION["outputs"]) == {"sarif-file", "exit-code"}
    ids = {s.get("id") for s in STEPS}
    for spec in ACTION["outputs"].values():
        m = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.[\w-]+ \}\}", spec["value"])
        assert m and m.group(1) in ids, spec["value"]
    for s in STEPS:
        if "uses" in s:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", s["uses"]), s["uses"]
        else:
            # Inputs reach scripts through env only: a `${{ }}` in a script is an injection hole.
            assert s["shell"] == "bash" and "${{" not in s["run"], s["name"]


def test_install_step_installs_the_actions_own_source(installed):
    exe = Path(installed.steps["install"]["executable"])
    assert exe.is_file() and exe.is_relative_to(installed.temp)
    assert "kubelint-cc, version" in installed.log
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("kubelint-cc, version")


# Stands in for setup-python's interpreter: notes what the install step asks pip for.
PYTHON_SHIM = """\
#!/bin/bash
set -eu
case "$1 $2" in
  "-m venv") mkdir -p "${@: -1}/bin" && : > "${@: -1}/bin/python" && chmod +x "${@: -1}/bin/python" ;;
  "-m pip") [ "$3" = --python ] && printf %s "${@: -1}" > "$(dirname "$0")/requirement"
            printf '#!/bin/sh\\necho "kubelint-cc, version 0"\\n' > "$(dirname "$4")/kubelint-cc"
            chmod +x "$(dirname "$4")/kubelint-cc" ;;
  *) exit 64 ;;
esac
"""


@pytest.mark.parametrize("version, requirement", [
    ("", "{action_path}"),
    ("0.2.0", "kubelint-cc==0.2.0"),
    ("1.0.0rc1", "kubelint-cc==1.0.0rc1"),
    ("kubelint-cc>=0.1,<0.2", "kubelint-cc>=0.1,<0.2"),
    ("git+https://github.com/kubelint-cc/kubelint-cc@main", "git+https://github.com/kubelint-cc/kubelint-cc@main"),
])
def test_version_input_picks_what_pip_installs(tmp_path, version, requirement):
    shim = tmp_path / "python"
    shim.write_text(PYTHON_SHIM)
    shim.chmod(0o755)
    runner = Runner(tmp_path, tmp_path / "action", tmp_path / "temp")
    runner.temp.mkdir()
    runner.steps["python"] = {"python-path": str(shim)}
    assert runner.run_step(step("install"), {"version": version}) == 0, runner.log
    assert (tmp_path / "requirement").read_text() == requirement.format(action_path=runner.action_path)
    assert runner.steps["install"]["executable"] == str(runner.temp / "kubelint-cc-venv" / "bin" / "kubelint-cc")


def test_defaults_write_sarif_and_do_not_fail_on_findings(scan):
    code, outputs, log, ws = scan({"k8s/pod.yaml": PRIVILEGED_POD})
    assert code == 0, log
    assert outputs == {"sarif-file": "kubelint-cc.sarif", "exit-code": "0"}
    sarif = json.loads((ws / "kubelint-cc.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    privileged = [r for r in results if "privileged" in r["ruleId"]]
    assert privileged, results
    location = privileged[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("k8s/pod.yaml")
    assert location["region"]["startLine"] == 10


def test_fail_on_fails_the_step_after_writing_the_report(scan):
    files = {"k8s/pod.yaml": WARNING_ONLY_POD}
    code, outputs, log, ws = scan(files, fail_on="warning")
    assert code == 1, log
    assert outputs == {"sarif-file": "kubelint-cc.sarif", "exit-code": "1"}
    assert json.loads((ws / "kubelint-cc.sarif").read_text())["runs"][0]["results"]
    # Warnings only: failing on errors passes, and so does a baseline-level scan.
    assert scan(files, fail_on="error")[:2] == (0, outputs | {"exit-code": "0"})
    assert scan(files, fail_on="warning", args="--pss-level baseline")[0] == 0


def test_unparsable_manifest_fails_the_step_even_with_fail_on_never(scan):
    code, outputs, log, ws = scan({"k8s/pod.yaml": PRIVILEGED_POD, "k8s/broken.yaml": "spec: [unclosed\n"})
    assert code == 2, log
    assert outputs == {"sarif-file": "kubelint-cc.sarif", "exit-code": "2"}
    assert (ws / "kubelint-cc.sarif").stat().st_size


def test_usage_error_leaves_no_stale_report(scan):
    code, outputs, log, ws = scan({"k8s/pod.yaml": PRIVILEGED_POD, "kubelint-cc.sarif": "{}"},
                                  args="--pss-level sideways")
    assert code == 2 and "sideways" in log, log
    assert outputs == {"sarif-file": "", "exit-code": "2"}
    assert not (ws / "kubelint-cc.sarif").exists()


def test_several_paths_text_format_in_the_log(scan):
    code, outputs, log, ws = scan({"a/pod.yaml": PRIVILEGED_POD, "b/pod.json": json.dumps(
        YAML(typ="safe").load(PRIVILEGED_POD)), "c/pod.yaml": PRIVILEGED_POD},
        paths="a\n  b/pod.json", format="text", output="", fail_on="error")
    assert code == 1, log
    assert outputs == {"sarif-file": "", "exit-code": "1"}
    assert "a/pod.yaml:10:7: error: [pss-privileged] " in log and "b/pod.json:" in log, log
    assert "c/pod.yaml" not in log


def test_github_format_annotates_from_the_log(scan):
    code, outputs, log, ws = scan({"a/pod.yaml": PRIVILEGED_POD}, format="github", fail_on="error")
    assert code == 1, log
    assert outputs == {"sarif-file": "", "exit-code": "1"}
    assert "::error file=a/pod.yaml,line=10,col=7,title=kubelint-cc pss-privileged%3A " in log, log
    assert not (ws / "kubelint-cc.sarif").exists()  # the default output does not swallow the annotations


def test_inputs_are_data_not_shell(scan):
    code, outputs, log, ws = scan({"k8s/pod.yaml": PRIVILEGED_POD},
                                  paths='k8s $(touch injected) "; touch injected; "', args="`touch injected`",
                                  format="json", output="report.json")
    assert not (ws / "injected").exists()
    assert code == 2 and outputs == {"sarif-file": "", "exit-code": "2"}, log
    errors = json.loads((ws / "report.json").read_text())["errors"]
    assert {e["file"] for e in errors} == {"$(touch", "injected)", '";', "touch", "injected;", '"',
                                             "`touch", "injected`"}
