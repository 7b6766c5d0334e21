"""The pre-commit hook (.pre-commit-hooks.yaml), run by the real pre-commit on real commits.

pre-commit installs a hook repository by cloning it at a `rev`, so the working tree
(uncommitted and untracked files included, which `pre-commit try-repo` would drop) is
copied into a throwaway git repository and committed there.  A second throwaway
repository uses it in its .pre-commit-config.yaml with the hook installed as git's
pre-commit hook, exactly as a user would.  PRE_COMMIT_HOME is shared by the module so
the hook's environment (this package and its dependencies from PyPI) is built once.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

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

RESTRICTED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: good
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
  containers:
  - name: app
    image: nginx:1.27
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop: [ALL]
"""

# Only restricted-level (warning) findings: allowPrivilegeEscalation is not set.
WARNING_ONLY_POD = RESTRICTED_POD.replace("      allowPrivilegeEscalation: false\n", "")

HOST_NETWORK_JSON = """\
{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
 "spec": {"selector": {"matchLabels": {"app": "web"}},
  "template": {"metadata": {"labels": {"app": "web"}},
   "spec": {"hostNetwork": true, "containers": [{"name": "web", "image": "nginx:1.27"}]}}}}
"""


def _clean_env(tmp: Path) -> dict:
    """No global or system git config, no GIT_DIR & co. leaking in from an outer git
    hook (these tests may themselves run inside one), and a private PRE_COMMIT_HOME."""
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("GIT_") and not k.startswith("GIT_SSL")) and not k.startswith("PRE_COMMIT")}
    gitconfig = tmp / "gitconfig"
    gitconfig.write_text("")
    env.update(GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0",
               PRE_COMMIT_HOME=str(tmp / "pre-commit-home"), NO_COLOR="1")
    return env


def _git(repo: Path, *args, env, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    if check and proc.returncode:
        raise AssertionError(f"git {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc


def _new_repo(path: Path, env) -> Path:
    path.mkdir()
    _git(path, "init", "-q", env=env)
    _git(path, "config", "user.name", "kubelint-cc tests", env=env)
    _git(path, "config", "user.email", "tests@kubelint-cc.invalid", env=env)
    _git(path, "config", "commit.gpgsign", "false", env=env)
    return path


def _source_files() -> list[str]:
    """The files a release would contain: tracked or new, not ignored, not deleted, and
    not inside hidden directories (tool caches and virtual environments live there)."""
    proc = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                          cwd=ROOT, capture_output=True, timeout=60)
    if proc.returncode:
        pytest.skip(f"{ROOT} is not a git work tree: {proc.stderr.decode().strip()}")
    names = sorted(set(proc.stdout.decode().split("\0")) - {""})
    return [n for n in names
            if not any(part.startswith(".") for part in n.split("/")[:-1]) and (ROOT / n).is_file()]


def _pre_commit(*args, cwd, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A user's repository with the kubelint-cc hook installed; yields commit(files)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    tmp = tmp_path_factory.mktemp("precommit")
    env = _clean_env(tmp)

    hook_repo = _new_repo(tmp / "kubelint-cc", env)
    for name in _source_files():
        (hook_repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, hook_repo / name)
    assert (hook_repo / ".pre-commit-hooks.yaml").is_file()
    _git(hook_repo, "add", "-A", env=env)
    _git(hook_repo, "commit", "-q", "-m", "snapshot of the working tree", env=env)
    rev = _git(hook_repo, "rev-parse", "HEAD", env=env).stdout.strip()

    repo = _new_repo(tmp / "app", env)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {hook_repo.as_posix()}\n  rev: {rev}\n  hooks:\n  - id: kubelint-cc\n")
    for args in (("install",), ("install-hooks",)):
        proc = _pre_commit(*args, cwd=repo, env=env)
        assert proc.returncode == 0, f"pre-commit {args[0]}:\n{proc.stdout}{proc.stderr}"

    def commit(files: dict[str, str]) -> tuple[subprocess.CompletedProcess, bool]:
        """Writes and stages files, runs `git commit`; -> (process, whether HEAD moved)."""
        before = _git(repo, "rev-parse", "-q", "--verify", "HEAD", env=env, check=False).stdout
        for name, text in files.items():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_text(text)
        _git(repo, "add", "--", *files, env=env)
        proc = subprocess.run(["git", "commit", "-m", "change"], cwd=repo, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
        after = _git(repo, "rev-parse", "-q", "--verify", "HEAD", env=env, check=False).stdout
        # Leave a clean tree for the next test, whatever this commit did.
        if after:
            _git(repo, "reset", "-q", "--hard", "HEAD", env=env)
        else:
            _git(repo, "rm", "-q", "-r", "--cached", "--", ".", env=env, check=False)
        _git(repo, "clean", "-q", "-f", "-d", "-x", "--", ".", ":!.pre-commit-config.yaml", env=env)
        proc.output = proc.stdout + proc.stderr
        return proc, after != before

    # The hook's own config file is YAML too, and not a Kubernetes object: it must pass.
    proc, moved = commit({".pre-commit-config.yaml": (repo / ".pre-commit-config.yaml").read_text()})
    assert proc.returncode == 0 and moved, proc.output
    commit.repo = repo
    yield commit


def test_privileged_workloads_refuse_the_commit(app):
    proc, moved = app({"deploy/pod.yaml": PRIVILEGED_POD, "deploy/web.json": HOST_NETWORK_JSON})
    assert proc.returncode != 0 and not moved, proc.output
    assert "kubelint-cc" in proc.output and "Failed" in proc.output
    assert "exit code: 1" in proc.output
    # Compiler-style lines name the file, line, column and rule, for YAML and JSON alike.
    assert "deploy/pod.yaml:10:7: error: [pss-privileged] " in proc.output, proc.output
    assert "deploy/web.json:" in proc.output and " [pss-host-namespaces] " in proc.output, proc.output


def test_compliant_manifest_is_committed(app):
    proc, moved = app({"deploy/good.yaml": RESTRICTED_POD, "notes/settings.json": '{"a": [1, 2]}\n'})
    assert proc.returncode == 0 and moved, proc.output
    assert "Passed" in proc.output


def test_unparsable_yaml_refuses_the_commit_with_its_position(app):
    proc, moved = app({"deploy/broken.yml": "apiVersion: v1\nkind: Pod\nspec: [unclosed\n",
                       "deploy/good.yaml": RESTRICTED_POD})
    assert proc.returncode != 0 and not moved, proc.output
    assert "exit code: 2" in proc.output
    assert re.search(r"deploy/broken\.yml:[34]:\d+: error: YAML syntax error", proc.output), proc.output


def test_namespace_label_in_another_file_sets_the_level(app):
    """require_serial: the Namespace reaches the same process as the workload.  Without
    it, on a machine with several CPUs, pre-commit would pass the first four files to one
    process and the Namespace (last in order) to another."""
    namespace = ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: infra\n  labels:\n"
                 "    pod-security.kubernetes.io/enforce: privileged\n")
    agent = PRIVILEGED_POD.replace("name: bad\n", "name: agent\n  namespace: infra\n")
    files = {"a-agent.yaml": agent, "z-namespace.yaml": namespace}
    files.update({f"b-good-{i}.yaml": RESTRICTED_POD.replace("name: good", f"name: good-{i}") for i in range(3)})
    proc, moved = app(files)
    assert proc.returncode == 0 and moved, proc.output


def test_files_that_are_not_manifests_are_not_passed(app):
    # An .ipynb is "json" to pre-commit's file typing but not something to lint.
    proc, moved = app({"notebook.ipynb": "{not json: [", "deploy/good.yaml": RESTRICTED_POD})
    assert proc.returncode == 0 and moved, proc.output


def test_config_exclude_applies_to_the_files_pre_commit_passes(app):
    # A Helm template is YAML to pre-commit but not parsable; the config keeps it out.
    template = ("{{- if .Values.enabled }}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n"
                "  labels:\n    {{- include \"web.labels\" . | nindent 4 }}\n{{- end }}\n")
    proc, moved = app({".kubelint-cc.yaml": 'exclude: ["charts/*/templates"]\n',
                       "charts/web/templates/pod.yaml": template, "charts/web/values.yaml": "replicas: 2\n"})
    assert proc.returncode == 0 and moved, proc.output


def test_args_from_the_readme_reach_the_scan(app):
    """`args` go before the file names, ending with `--`: `--fail-on error` lets warnings through."""
    assert app({"deploy/almost.yaml": WARNING_ONLY_POD})[0].returncode == 1
    config = app.repo / ".pre-commit-config.yaml"
    original = config.read_text()
    proc, moved = app({".pre-commit-config.yaml": original + "    args: [--pss-level, baseline, --fail-on, error, --]\n",
                       "deploy/almost.yaml": WARNING_ONLY_POD})
    assert proc.returncode == 0 and moved, proc.output
    # Without the `--`, file names could not be told from options: the hook refuses to run.
    proc, moved = app({".pre-commit-config.yaml": original + "    args: [--fail-on, error]\n",
                       "deploy/good.yaml": RESTRICTED_POD})
    assert proc.returncode != 0 and not moved, proc.output
    assert "must end with `--`" in proc.output, proc.output
    proc, moved = app({".pre-commit-config.yaml": original})  # as the other tests expect it
    assert proc.returncode == 0 and moved, proc.output


@pytest.mark.parametrize("name", ["--write-baseline=x.json", "--fail-on=never.yaml", "--output=deploy/pod.yaml",
                                  "--config=evil.yaml", "-o.json"])
def test_a_file_named_like_an_option_is_a_path(app, name):
    """pre-commit appends file names without `--`: a staged file named like an option must
    not turn the verdict off (or overwrite a file); it is scanned as the path it is."""
    files = {"deploy/pod.yaml": PRIVILEGED_POD, name: "",
             "evil.yaml": "pss: {level: baseline}\nrules: {ignore: [privileged]}\n"}
    proc, moved = app(files)
    assert proc.returncode != 0 and not moved, proc.output
    assert "exit code: 1" in proc.output and "deploy/pod.yaml:10:7: error: [pss-privileged] " in proc.output, proc.output
    assert not (app.repo / "x.json").exists()
