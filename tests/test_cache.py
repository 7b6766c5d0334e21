"""The cache of unchanged files' results (.kubelint-cc-cache): what invalidates an entry,
that a damaged or foreign entry is never trusted, and that reports are the same with it,
without it, cold and warm."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import _cli

import kubelint_cc
from kubelint_cc import cache
from kubelint_cc.config import Config, NamespacePolicy
from kubelint_cc.engine import Options, Scanner
from kubelint_cc.reporters import json_report

POD = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata:
      name: {name}
      namespace: {namespace}
    spec:
      containers:
      - name: c
        image: x
        securityContext:
          runAsUser: 0
          {extra}
    """)


def pod(name: str, namespace: str = "default", extra: str = "") -> str:
    return POD.format(name=name, namespace=namespace, extra=extra)


def namespace(name: str, level: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Namespace
        metadata:
          name: {name}
          labels:
            pod-security.kubernetes.io/enforce: {level}
        """)


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A directory of manifests, a private MAC secret and a cache directory per test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(cache, "_OPEN", {})
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.yaml").write_text(pod("a", extra="privileged: true"))
    (root / "b.yaml").write_text(pod("b", namespace="team"))
    (root / "c.yaml").write_text("kind: [unclosed\n---\n" + pod("c"))
    (root / "d.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n")
    (root / "ns.yaml").write_text(namespace("team", "baseline"))
    return root


def scan(root: Path, cached: bool = True, config: Config | None = None, directory: str = "cache",
         **options) -> tuple[str, list[str]]:
    """(JSON report, names of the files answered from the cache)."""
    store = None
    if cached:
        cache._OPEN.clear()  # a new run: a fresh Store, as a new process would open
        store = cache.open_store(str(root.parent / directory))
        assert store is not None
    result = Scanner(Options(config=config or Config(), cache=store, **options)).scan([str(root)])
    out = io.StringIO()
    json_report.render(result, out)
    return out.getvalue(), sorted(os.path.basename(n) for n in (store.hits if store else []))


ALL = ["a.yaml", "b.yaml", "c.yaml", "d.yaml", "ns.yaml"]


def test_cold_and_warm_reports_are_identical_to_an_uncached_scan(tree):
    plain, _ = scan(tree, cached=False)
    assert json.loads(plain)["findings"] and json.loads(plain)["errors"]  # findings and input errors both
    cold, hits = scan(tree)
    assert cold == plain and hits == []
    warm, hits = scan(tree)
    assert warm == plain
    assert hits == ALL


def test_a_changed_file_is_scanned_again_and_only_it(tree):
    scan(tree)
    (tree / "a.yaml").write_text(pod("a", extra="allowPrivilegeEscalation: true"))
    warm, hits = scan(tree)
    assert "a.yaml" not in hits and hits == ["b.yaml", "c.yaml", "d.yaml", "ns.yaml"]
    assert warm == scan(tree, cached=False)[0]


def test_a_namespace_label_changed_in_another_file_invalidates_that_namespace_only(tree):
    first, _ = scan(tree)
    (tree / "ns.yaml").write_text(namespace("team", "restricted"))
    warm, hits = scan(tree)
    # b.yaml's Pod is in namespace team: judged at the new level; a, c and d (namespace
    # default) keep their verdicts, and so would b had the label not changed.
    assert hits == ["a.yaml", "c.yaml", "d.yaml"]
    assert warm == scan(tree, cached=False)[0] != first
    assert scan(tree)[1] == ALL
    # A Namespace that appears (for the default namespace) invalidates the files using it.
    (tree / "ns2.yaml").write_text(namespace("default", "privileged"))
    warm, hits = scan(tree)
    assert hits == ["b.yaml", "d.yaml", "ns.yaml"]  # d is a ConfigMap: no policy read
    assert warm == scan(tree, cached=False)[0]


def test_a_changed_config_invalidates_every_file_but_where_to_look_does_not(tree):
    scan(tree)
    assert scan(tree, config=Config(exclude=["nothing/*"]))[1] == ALL
    for config in (Config(pss_level="baseline"), Config(ignore=["pss-privileged"]),
                   Config(severity={"pss-run-as-non-root": "note"}),
                   Config(namespaces=[NamespacePolicy("*", ["kata"], True)])):
        warm, hits = scan(tree, config=config)
        assert hits == [], config
        assert warm == scan(tree, cached=False, config=config)[0]
    warm, hits = scan(tree, level="baseline")  # options count like config
    assert hits == []


def test_a_new_kubelint_cc_version_invalidates_everything(tree, monkeypatch):
    scan(tree)
    monkeypatch.setattr(kubelint_cc, "__version__", "99.0.0")
    assert scan(tree)[1] == []
    assert scan(tree)[1] == ALL


def test_an_edited_kubelint_cc_file_invalidates_everything(tree, monkeypatch):
    scan(tree)
    real = cache._code_files
    monkeypatch.setattr(cache, "_code_files", lambda: real() + [str(tree / "a.yaml")])  # as if a file changed
    assert scan(tree)[1] == []


def buckets(tree: Path, directory: str = "cache") -> list[Path]:
    return sorted(p for p in (tree.parent / directory).iterdir() if cache.ENTRY.fullmatch(p.name))


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "header only", "flipped byte"])
def test_a_damaged_entry_is_ignored_and_rebuilt(tree, damage):
    plain, _ = scan(tree, cached=False)
    scan(tree)
    assert buckets(tree)
    for entry in buckets(tree):
        data = entry.read_bytes()
        entry.write_bytes({"truncated": data[:-1], "empty": b"", "garbage": os.urandom(len(data)),
                           "header only": cache.MAGIC,
                           "flipped byte": data[:-1] + bytes([data[-1] ^ 1])}[damage])
    warm, hits = scan(tree)
    assert hits == [] and warm == plain
    assert scan(tree) == (plain, ALL)  # rebuilt


def test_an_entry_written_with_another_secret_is_not_trusted(tree, monkeypatch, tmp_path):
    """A pull request can commit .kubelint-cc-cache: with everything in a key public, a
    forged entry could hide a file's findings.  Buckets are MACed with a secret outside the
    repository, so one made elsewhere is just a miss."""
    plain, _ = scan(tree, cached=False)
    assert "pss-privileged" in plain
    privileged = (tree / "a.yaml").read_text()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "attacker"))
    (tree / "a.yaml").write_text(pod("a"))  # the attacker scans an a.yaml without privileged ...
    scan(tree)
    store = cache.open_store(str(tree.parent / "cache"))
    settings, name = Scanner(Options(config=Config()))._settings(), str(tree / "a.yaml").encode()
    forged = store.get("f", store.key(settings, name, cache.text_digest(pod("a"))))
    store.put("f", store.key(settings, name, cache.text_digest(privileged)), forged)
    store.flush()  # ... and commits its verdict under the key of the privileged a.yaml
    (tree / "a.yaml").write_text(privileged)
    hidden, hits = scan(tree)
    assert hits == ALL and "pss-privileged" not in hidden  # with the attacker's secret, it would work
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "victim"))
    warm, hits = scan(tree)
    assert hits == [] and warm == plain


def test_results_that_depend_on_the_machine_are_not_kept(tree, monkeypatch):
    from kubelint_cc.checks import kata_rules

    def unavailable(*args):
        raise RuntimeError("the Rego engine is not installed")
    monkeypatch.setattr(kata_rules, "pod", unavailable)
    first, _ = scan(tree)
    assert "could not analyse" in first
    assert scan(tree)[1] == ["d.yaml", "ns.yaml"]  # the files with a Pod are scanned again


def test_prune_removes_the_least_recently_used_entries_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(cache, "MAX_BYTES", cache.BUCKETS * 6 * 1021)  # 6 entries of 1,021 bytes a bucket
    store = cache._open(str(tmp_path / "cache"))
    keys = [bytes([7, i]) * 10 for i in range(10)]  # all in bucket 7
    for i, key in enumerate(keys):
        store.put("f", key, b"x" * 1000)
        if i in (3, 8):
            store.flush()
    store.flush()
    assert [store.get("f", k) is not None for k in keys] == [False] * 4 + [True] * 6
    (tmp_path / "cache" / "notes.txt").write_text("not ours")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [".gitignore", "CACHEDIR.TAG", "b-07",
                                                                       "notes.txt"]
    fresh = cache.Store(str(tmp_path / "cache"), store.secret)  # as read by the next run
    assert [fresh.get("f", k) is not None for k in keys] == [False] * 4 + [True] * 6


def test_a_directory_that_is_not_a_cache_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("mine")
    assert cache._open(str(tmp_path / "docs")) is None
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    assert cache._open(str(tmp_path / "link")) is None
    assert list((tmp_path / "elsewhere").iterdir()) == []


# ---------------------------------------------------------------- the command line

def git_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "deploy" / "pod.yaml").write_text(pod("p", extra="privileged: true"))
    return repo


def cli(*args, cwd, env_home, input=None):
    env = dict(os.environ, XDG_CACHE_HOME=str(env_home))
    return subprocess.run(_cli() + list(args), cwd=cwd, env=env, capture_output=True, input=input, timeout=120)


def test_the_cache_lives_at_the_repository_top_and_git_ignores_it(tmp_path):
    repo = git_repo(tmp_path)
    first = cli("scan", "--format", "json", "pod.yaml", cwd=repo / "deploy", env_home=tmp_path / "h")
    assert (repo / ".kubelint-cc-cache" / "CACHEDIR.TAG").is_file()
    assert (repo / ".kubelint-cc-cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    status = subprocess.run(["git", "status", "--porcelain", "--ignored=no"], cwd=repo, capture_output=True, text=True)
    assert ".kubelint-cc-cache" not in status.stdout
    second = cli("scan", "--format", "json", "pod.yaml", cwd=repo / "deploy", env_home=tmp_path / "h")
    assert first.stdout == second.stdout and first.returncode == second.returncode == 1


def test_no_cache_and_stdin_write_nothing(tmp_path):
    repo = git_repo(tmp_path)
    proc = cli("scan", "--no-cache", "deploy/pod.yaml", cwd=repo, env_home=tmp_path / "h")
    assert proc.returncode == 1 and not (repo / ".kubelint-cc-cache").exists()
    proc = cli("scan", "-", cwd=repo, env_home=tmp_path / "h", input=pod("p").encode())
    assert proc.returncode == 1 and not (repo / ".kubelint-cc-cache").exists()


def test_cache_dir_in_the_config(tmp_path):
    repo = git_repo(tmp_path)
    (repo / ".kubelint-cc.yaml").write_text("cache-dir: build/lint-cache\n")
    proc = cli("scan", "deploy", cwd=repo, env_home=tmp_path / "h")
    assert proc.returncode == 1, proc.stderr
    assert [p.name for p in (repo / "build" / "lint-cache").iterdir() if p.name.startswith("b-")]
    assert not (repo / ".kubelint-cc-cache").exists()
    (repo / ".kubelint-cc.yaml").write_text("cache-dir: 7\n")
    proc = cli("scan", "deploy", cwd=repo, env_home=tmp_path / "h")
    assert proc.returncode == 2 and b"cache-dir" in proc.stderr


def test_a_valid_config_is_not_validated_again_but_an_invalid_one_always_is(tmp_path):
    repo = git_repo(tmp_path)
    (repo / ".kubelint-cc.yaml").write_text("pss:\n  level: baseline\n")
    probe = ("import sys; from kubelint_cc import config; "
             "config.load_config(None, ['deploy'], cache=True); print('jsonschema' in sys.modules)")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "h"))
    imported = [subprocess.run([sys.executable, "-c", probe], cwd=repo, env=env, capture_output=True,
                               text=True).stdout.strip() for _ in range(2)]
    assert imported == ["True", "False"]
    (repo / ".kubelint-cc.yaml").write_text("pss:\n  level: baseline\n  levle: restricted\n")
    for _ in range(2):
        proc = cli("scan", "deploy", cwd=repo, env_home=tmp_path / "h")
        assert proc.returncode == 2 and b"unknown key 'levle'" in proc.stderr


def test_parallel_scans_share_a_cache(tmp_path):
    """Two runs at once, each over 80 files (so both fork workers): every report is the
    same as an uncached one, and a third run finds every file cached."""
    repo = git_repo(tmp_path)
    for i in range(80):
        (repo / "deploy" / f"p{i:02}.yaml").write_text(pod(f"p{i}", extra="privileged: true" if i % 3 else ""))
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "h"), KUBELINT_CC_JOBS="2")
    argv = _cli() + ["scan", "--format", "json", "deploy"]
    plain = subprocess.run(argv + ["--no-cache"], cwd=repo, env=env, capture_output=True, timeout=120).stdout
    runs = [subprocess.Popen(argv, cwd=repo, env=env, stdout=subprocess.PIPE) for _ in range(2)]
    assert [r.communicate(timeout=120)[0] for r in runs] == [plain, plain]
    (repo / "deploy" / "p05.yaml").write_text(pod("p5"))
    again = subprocess.run(argv, cwd=repo, env=env, capture_output=True, timeout=120).stdout
    assert again == subprocess.run(argv + ["--no-cache"], cwd=repo, env=env, capture_output=True,
                                   timeout=120).stdout


def test_kubelint_cc_cache_dir_in_the_environment_wins(tmp_path):
    repo = git_repo(tmp_path)
    (repo / ".kubelint-cc.yaml").write_text("cache-dir: build/lint-cache\n")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "h"), KUBELINT_CC_CACHE_DIR=str(tmp_path / "ci-cache"))
    proc = subprocess.run(_cli() + ["scan", "deploy"], cwd=repo, env=env, capture_output=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert (tmp_path / "ci-cache" / "CACHEDIR.TAG").is_file() and not (repo / "build").exists()


# ------------------------------------------------------------ what the merge with PSA modes,
# the admission configuration, Kyverno exclusions and rendering added to the key

def labelled(name: str, **labels: str) -> str:
    """A Namespace with PSA labels: enforce="baseline", warn="restricted", warn_version="v1.25"."""
    lines = "".join(f"    pod-security.kubernetes.io/{k.replace('_', '-')}: {v}\n" for k, v in labels.items())
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n{lines}"


def modes(report: str, name: str) -> set:
    return {(f["rule"], tuple(f.get("modes") or ())) for f in json.loads(report)["findings"]
            if f["object"].get("name") == name}


def test_a_changed_warn_label_invalidates_the_files_in_that_namespace(tree):
    (tree / "ns.yaml").write_text(labelled("team", enforce="baseline"))
    first, _ = scan(tree)
    assert scan(tree)[1] == ALL
    for labels in ({"enforce": "baseline", "warn": "restricted"},
                   {"enforce": "baseline", "warn": "restricted", "warn_version": "v1.25"},
                   {"enforce": "baseline", "warn": "restricted", "warn_version": "v1.25", "audit": "restricted"},
                   {"enforce": "baseline"}):
        (tree / "ns.yaml").write_text(labelled("team", **labels))
        warm, hits = scan(tree)
        # b.yaml's Pod is in namespace team (ns.yaml, once back to its first text, is a hit too)
        assert "b.yaml" not in hits and {"a.yaml", "c.yaml", "d.yaml"} <= set(hits), labels
        assert warm == scan(tree, cached=False)[0], labels
        assert scan(tree)[1] == ALL
        if "warn" in labels:
            assert any("warn" in m for _, m in modes(warm, "b")), labels
    assert warm == first


ADMISSION = """apiVersion: pod-security.admission.config.k8s.io/v1
kind: PodSecurityConfiguration
defaults:
  enforce: {enforce}
  warn: {warn}
exemptions:
  namespaces: [{exempt}]
"""


def test_a_changed_admission_config_invalidates_every_file(tree, tmp_path):
    from kubelint_cc import admission
    path = tmp_path / "admission.yaml"
    reports, seen = [], set()
    for enforce, warn, exempt in (("baseline", "baseline", ""), ("baseline", "restricted", ""),
                                  ("baseline", "restricted", "default"), ("privileged", "restricted", ""),
                                  ("baseline", "baseline", "")):
        path.write_text(ADMISSION.format(enforce=enforce, warn=warn, exempt=exempt))
        conf = admission.load(str(path))
        warm, hits = scan(tree, admission=conf)
        assert warm == scan(tree, cached=False, admission=admission.load(str(path)))[0], (enforce, warn, exempt)
        # Every file's objects are judged by the defaults (b's namespace has a label for
        # enforce only, so its warn level is the default's) and by the exemptions; the
        # first configuration again finds its own entries.
        if (enforce, warn, exempt) in seen:
            assert hits == ALL
        else:
            assert "a.yaml" not in hits and "b.yaml" not in hits, (enforce, warn, exempt)
        seen.add((enforce, warn, exempt))
        assert scan(tree, admission=admission.load(str(path)))[1] == ALL
        reports.append(warm)
    assert len(set(reports)) == 4, [a == b for a in reports for b in reports]  # the last is the first again
    assert scan(tree)[1] == []  # no admission configuration is another setting: never scanned so yet


def test_a_changed_admission_config_file_invalidates_cached_cli_results(tmp_path):
    repo = git_repo(tmp_path)
    conf = repo / "admission.yaml"
    argv = ("scan", "--format", "json", "--admission-config", str(conf), "deploy")
    for enforce, warn, exempt in (("baseline", "baseline", ""), ("baseline", "restricted", ""),
                                  ("baseline", "restricted", "default")):
        conf.write_text(ADMISSION.format(enforce=enforce, warn=warn, exempt=exempt))
        outs = [cli(*argv, cwd=repo, env_home=tmp_path / "h").stdout for _ in range(2)]
        plain = cli(*argv, "--no-cache", cwd=repo, env_home=tmp_path / "h").stdout
        assert outs == [plain, plain], (enforce, warn, exempt)
    assert "exemptions.namespaces" in plain.decode()


def test_a_changed_kyverno_exclude_invalidates_every_file(tree):
    scan(tree)
    reports = {scan(tree, cached=False)[0]}
    for exclude in ([{"controlName": "Privileged Containers", "images": ["*"]}],
                    [{"controlName": "Privileged Containers", "images": ["y*"]}],
                    [{"controlName": "Running as Non-root user", "images": ["*"]}]):
        config = Config(kyverno_exclude=exclude)
        warm, hits = scan(tree, config=config)
        assert hits == [], exclude
        assert warm == scan(tree, cached=False, config=Config(kyverno_exclude=exclude))[0], exclude
        assert scan(tree, config=Config(kyverno_exclude=exclude))[1] == ALL
        reports.add(warm)
    assert len(reports) == 3  # the image that matches nothing changes nothing


def test_settings_keys_are_the_same_in_every_process(tmp_path):
    """Sets (exemptions) are kept in a hash-seeded order: the key must not depend on it."""
    path = tmp_path / "admission.yaml"
    path.write_text(ADMISSION.format(enforce="baseline", warn="restricted", exempt="a, b, c, d, e, f"))
    probe = ("from kubelint_cc import admission, cache; from kubelint_cc.config import Config, NamespacePolicy; "
             "from kubelint_cc.engine import Options; "
             f"c = Config(kyverno_exclude=[{{'controlName': 'Capabilities', 'images': ['x*']}}], "
             "namespaces=[NamespacePolicy('*', ['kata'], True)]); "
             f"o = Options(config=c, admission=admission.load({str(path)!r}), helm_set=['a=1']); "
             "k = cache.settings_key(o, c); assert b' at 0x' not in k, k; print(k.hex())")
    keys = {subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                           env=dict(os.environ, PYTHONHASHSEED=str(seed))).stdout for seed in (1, 2, 3)}
    assert len(keys) == 1


def test_rendered_charts_are_not_cached_and_follow_their_values(tmp_path):
    import shutil

    from kubelint_cc.render import helm
    if helm.renderer() is None:
        pytest.skip("no Helm renderer")
    repo = git_repo(tmp_path)
    shutil.copytree(Path(__file__).parent / "fixtures" / "helm" / "web", repo / "web")
    values = repo / "values.yaml"
    argv = ("scan", "--format", "json", "--helm-values", str(values), "web", "deploy")
    for privileged in ("true", "false", "true"):
        values.write_text(f"privileged: {privileged}\n")
        outs = [cli(*argv, cwd=repo, env_home=tmp_path / "h").stdout for _ in range(2)]
        plain = cli(*argv, "--no-cache", cwd=repo, env_home=tmp_path / "h").stdout
        assert outs == [plain, plain], privileged
    (repo / "web" / "templates" / "deployment.yaml").write_text(
        (repo / "web" / "templates" / "deployment.yaml").read_text() + "\n# edited\n")
    assert cli(*argv, cwd=repo, env_home=tmp_path / "h").stdout == \
        cli(*argv, "--no-cache", cwd=repo, env_home=tmp_path / "h").stdout


@pytest.mark.parametrize("fmt", ["json", "sarif", "text"])
def test_reports_are_byte_identical_with_and_without_the_cache(tmp_path, fmt):
    """Cold, warm and uncached runs, serial and with workers, with warn/audit labels, an
    admission configuration and Kyverno exclusions: the same bytes."""
    repo = git_repo(tmp_path)
    (repo / "deploy" / "ns.yaml").write_text(labelled("team", enforce="baseline", warn="restricted",
                                                      audit="restricted", audit_version="v1.25"))
    for i in range(70):
        (repo / "deploy" / f"p{i:02}.yaml").write_text(
            pod(f"p{i}", namespace=("team", "default", "kube-system")[i % 3],
                extra="privileged: true" if i % 2 else "allowPrivilegeEscalation: true"))
    (repo / "admission.yaml").write_text(ADMISSION.format(enforce="baseline", warn="restricted",
                                                          exempt="kube-system"))
    (repo / ".kubelint-cc.yaml").write_text(
        "pss:\n  kyvernoExclude: [{controlName: Privileged Containers, images: ['x']}]\n")
    for jobs in ("1", "2"):
        env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "h"), KUBELINT_CC_JOBS=jobs)
        argv = _cli() + ["scan", "--format", fmt, "--admission-config", "admission.yaml", "deploy"]
        plain = subprocess.run(argv + ["--no-cache"], cwd=repo, env=env, capture_output=True, timeout=300)
        shutil_rm(repo / ".kubelint-cc-cache")
        for _ in ("cold", "warm"):
            proc = subprocess.run(argv, cwd=repo, env=env, capture_output=True, timeout=300)
            assert (proc.returncode, proc.stdout, proc.stderr) == (plain.returncode, plain.stdout, plain.stderr)
        assert plain.returncode == 1 and plain.stdout


def shutil_rm(path: Path) -> None:
    import shutil
    shutil.rmtree(path, ignore_errors=True)
