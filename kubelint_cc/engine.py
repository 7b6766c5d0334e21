"""Runs the rules over every document and returns plain data; never prints.

Each document is composed once; workload documents are converted to data and
expanded to their pod template once, and every pod rule sees that same PodView.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from ruamel.yaml.nodes import ScalarNode, SequenceNode

from kubelint_cc import cache, defaults, expand, load, suppress, validate, yamltree
from kubelint_cc.checks import kata_rules, placement, pss
from kubelint_cc.render import helm

LEVEL_LABEL = "pod-security.kubernetes.io/enforce"
VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"
VERSION_RE = re.compile(r"^v1\.(0|[1-9][0-9]*)$")
# Cheap test for a Namespace document (YAML block style or JSON) before composing a file twice;
# it starts with a literal so that the search is fast, and may match more than Namespaces.
NAMESPACE_KIND = re.compile(r'kind"?[ \t]*:[ \t]*["\']?Namespace\b')
SEVERITY = {pss.BASELINE: "error", pss.RESTRICTED: "warning"}
# Controls `kubelint-cc fix` can fix (kubelint_cc.fix.FIXABLE, which a test keeps equal).
FIXABLE = frozenset({"allowPrivilegeEscalation", "capabilities_restricted", "seccompProfile_restricted",
                     "runAsNonRoot", "privileged"})


def parse_version(text: str) -> int | None:
    """Minor version of a PSS version string ("v1.N" or "latest"), or None if invalid."""
    if text == "latest":
        return pss.LATEST_MINOR
    m = VERSION_RE.match(text or "")
    return min(int(m.group(1)), pss.LATEST_MINOR) if m else None


def kebab(control: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "-", control).replace("_", "-").lower()


def pss_rule_id(control: str) -> str:
    return "pss-" + kebab(control)


@dataclass(slots=True)
class Finding:
    rule: str
    control: str | None
    level: str | None
    severity: str
    message: str
    file: str
    line: int
    column: int
    path: str
    object: dict
    suppressed: dict | None = None  # {"kind": "annotation"|"comment", "justification": str}
    baseline: str | None = None  # "unchanged" when matched by --baseline, "new" otherwise
    extra: dict = field(default_factory=dict)
    fix: str | None = None  # "safe": `kubelint-cc fix` fixes it; "unsafe": only with --unsafe-fixes

    @property
    def names(self) -> tuple:
        """What selection, severity overrides and suppressions match, most specific first: the
        rule id, the baseline control a restricted finding also violates, and the control."""
        return (self.rule, self.extra.get("baselineControl"), self.control)

    def counts(self) -> bool:
        """Whether the finding can fail the run (not suppressed, not accepted in a baseline)."""
        return self.suppressed is None and self.baseline != "unchanged"

    @property
    def fingerprint(self) -> str:
        """Stable across runs, working directories and line shifts: where the finding is
        (file relative to its repository, object, rule, YAML path), not which line."""
        return self.fingerprint_with(repo_relative(self.file))

    def fingerprint_with(self, file_key: str) -> str:
        key = "\0".join(str(x) for x in (file_key.replace(os.sep, "/"), self.object.get("kind"),
                                          self.object.get("namespace"), self.object.get("name"),
                                          self.control or self.rule, self.rule, self.path))
        return cache.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]

    def as_dict(self) -> dict:
        d = {"rule": self.rule, "control": self.control, "level": self.level, "severity": self.severity,
             "message": self.message, "file": self.file, "line": self.line, "column": self.column,
             "path": self.path, "object": self.object, "fingerprint": self.fingerprint}
        if self.suppressed is not None:
            d["suppressed"] = self.suppressed
        if self.baseline is not None:
            d["baseline"] = self.baseline
        if self.fix is not None:
            d["fix"] = self.fix
        d.update(self.extra)
        return d


_REPO_ROOTS: dict[str, str | None] = {}


def repo_relative(file: str) -> str:
    """A file's path from its git work tree's root (else from the working directory)."""
    if file == load.STDIN:
        return file
    path = os.path.abspath(file)
    directory = os.path.dirname(path)
    if directory not in _REPO_ROOTS:
        probe, root = directory, None
        while True:
            if os.path.exists(os.path.join(probe, ".git")):
                root = probe
                break
            parent = os.path.dirname(probe)
            if parent == probe:
                break
            probe = parent
        _REPO_ROOTS[directory] = root
    base = _REPO_ROOTS[directory] or os.getcwd()
    rel = os.path.relpath(path, base)
    return path if rel.startswith("..") else rel


@dataclass
class Options:
    level: str | None = None  # explicit --pss-level; None: namespace label, else config, else restricted
    version: str | None = None  # explicit --pss-version; None: namespace label, else config, else latest
    config: Any = None  # kubelint_cc.config.Config
    follow_external_symlinks: bool = False  # follow links that leave the repository (local use only)
    gitignore: bool = True  # directory walks skip what git ignores (--no-ignore: False)
    cache: Any = None  # kubelint_cc.cache.Store: results of unchanged files (None: no cache)


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    errors: list[load.LoadError] = field(default_factory=list)
    files: int = 0
    documents: int = 0
    objects: int = 0
    scanned: list[str] = field(default_factory=list)  # files read, for baseline staleness; kept with findings only
    sink: Callable | None = None  # when set, findings are handed over per file instead of kept
    streamed: int = 0
    by_severity: dict = field(default_factory=dict)  # of streamed unsuppressed findings
    suppressed: int = 0  # streamed suppressed findings
    failing: set = field(default_factory=set)  # severities of streamed findings that count

    def take(self, findings: list) -> None:
        if self.sink is None:
            self.findings.extend(findings)
            return
        for f in findings:
            if f.suppressed is not None:
                self.suppressed += 1
                continue
            self.by_severity[f.severity] = self.by_severity.get(f.severity, 0) + 1
            if f.counts():
                self.failing.add(f.severity)
        self.streamed += len(findings)
        if findings:
            self.sink(findings)
    baseline_stats: dict | None = None  # {"matched", "new", "stale"} when --baseline is used
    entry: tuple | None = None  # (key, payload): this one file's result, for the cache


def format_path(path: Iterable) -> str:
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", step):
            out += ("." if out else "") + step
        else:
            out += f'["{step}"]'
    return out


@dataclass
class Policy:
    level: str
    minor: int


class Scanner:
    def __init__(self, options: Options | None = None):
        from kubelint_cc.config import Config
        self.options = options or Options()
        self.config = self.options.config or Config()
        self.namespaces: dict[str, Policy] = {}
        self.used: dict | None = None  # while a file is scanned for the cache: namespace -> (level, minor)

    # -- PSS level and version for an object, as the admission controller would pick them
    def policy_for(self, namespace: str) -> Policy:
        policy = self._policy_for(namespace)
        if self.used is not None:  # what the file's verdict depends on beyond its own text
            self.used[namespace] = (policy.level, policy.minor)
        return policy

    def _policy_for(self, namespace: str) -> Policy:
        labelled = self.namespaces.get(namespace)
        level = self.options.level or (labelled.level if labelled else self.config.pss_level or pss.RESTRICTED)
        if self.options.version is not None:
            minor = parse_version(self.options.version)
        elif labelled:
            minor = labelled.minor
        else:
            minor = parse_version(self.config.pss_version or "latest")
        return Policy(level, minor)

    def learn_namespace(self, data: dict) -> None:
        learned = namespace_label(data)
        if learned is not None:
            self.namespaces[learned[0]] = Policy(*learned[1:])

    def _learn_namespaces(self, name: str, text: str) -> None:
        """The PSA labels of the Namespaces in a file (from the cache when the file is unchanged)."""
        store = self.options.cache
        key = store.key(b"namespaces", name.encode("utf-8", "surrogatepass"), cache.text_digest(text)) \
            if store is not None else None
        learned = cache.load_namespaces(store.get("n", key)) if key is not None else None
        if learned is None:
            learned = []
            for node in self._compose(name, text, None):
                if yamltree.top_scalar(node, "kind") == "Namespace":
                    data = yamltree.to_data(node)
                    if isinstance(data, dict) and (label := namespace_label(data)) is not None:
                        learned.append(label)
            if key is not None:
                store.put("n", key, cache.dump_namespaces(learned))
        for ns, level, minor in learned:
            self.namespaces[ns] = Policy(level, minor)

    # -- scanning
    def scan(self, paths: list[str], stdin: Any = None, exclude: Callable | None = None,
             sink: Callable | None = None, progress: Any = None) -> Result:
        """With `sink`, findings go to sink(list) file by file, in order, and are not kept:
        memory stays flat however many files are scanned.  With `progress` (a
        kubelint_cc.progress.Progress), it hears start(files) and then advance() per file done."""
        result = Result(sink=sink)
        sources = list(load.discover(paths, result.errors, exclude or self.config.exclude_matcher(),
                                     follow_external=self.options.follow_external_symlinks,
                                     gitignore=self.options.gitignore))
        if progress is not None:
            progress.start(len(sources))
        texts = {}
        kept = 0  # characters of other texts kept, up to TEXT_BUDGET, so as not to read them twice
        store = self.options.cache
        digests: dict[int, bytes] = {}  # source index -> text digest, with a cache
        # Namespace labels set the policy for every workload in the scan, wherever it sits.
        for i, src in enumerate(sources):
            text = self._read(src, result, stdin, report=False)
            if text is None:
                continue
            if store is not None and src.name != load.STDIN:
                digests[i] = cache.text_digest(text)
            if "Namespace" in text and NAMESPACE_KIND.search(text):
                texts[src.name] = text
                self._learn_namespaces(src.name, text)
            elif kept + len(text) <= TEXT_BUDGET:
                texts[src.name] = text
                kept += len(text)
        # Only now, with every label known, can a cached verdict be checked against them.  Hits
        # are kept as their (compact) payloads, not as findings, and the buckets are let go.
        cached = {i: payload for i, d in digests.items() if (payload := self._cached(sources[i].name, d)) is not None}
        if store is not None:
            store.forget()
        todo = [src for i, src in enumerate(sources) if i not in cached]
        jobs = _jobs(todo)
        parts = self._scan_parallel(todo, texts, jobs) if jobs > 1 else None
        for i, src in enumerate(sources):
            if i in cached:
                part = cache.load_result(cached.pop(i), src.name)[1]
            elif parts is not None:
                part = next(parts)
            else:
                text = texts.pop(src.name, None)
                part = self._scan_part(src, text, stdin, digests.get(i) if text is not None else None)
            if store is not None and part.entry is not None:  # stored here: a worker's store is its own copy
                store.put("f", *part.entry)
            _merge(result, part)
            if progress is not None:  # here in the parent, never in a worker: one bar, one writer
                progress.advance()
        if store is not None:
            store.flush()
        return result

    def _settings(self) -> bytes:
        """What, besides a file's text and name, its findings depend on (bar namespace labels)."""
        if getattr(self, "_settings_key", None) is None:
            self._settings_key = cache.settings_key(self.options, self.config)
        return self._settings_key

    def _cached(self, name: str, text_digest: bytes) -> bytes | None:
        """A file's cache entry, if its text, settings and code are unchanged and the namespace
        labels it was judged by are still the ones in force."""
        store = self.options.cache
        payload = store.get("f", store.key(self._settings(), name.encode("utf-8", "surrogatepass"), text_digest))
        used = cache.load_used(payload)
        if used is None:
            return None
        if any((p := self._policy_for(ns)).level != level or p.minor != minor for ns, (level, minor) in used):
            return None  # a Namespace label changed in another file
        store.hits.append(name)
        return payload

    def _scan_part(self, src: load.Source, text: str | None, stdin: Any = None,
                   digest: bytes | None = None) -> Result:
        """One file's result on its own, and its cache entry (`digest`: of `text`, if known)."""
        part = Result()
        if text is None:
            text = self._read(src, part, stdin, report=True)
        if text is None:
            return part
        store = self.options.cache if src.name != load.STDIN else None
        self.used = {} if store is not None else None
        try:
            self._scan_source(src, text, part, stdin)
        finally:
            used, self.used = self.used, None
        payload = cache.dump_result(part, used) if store is not None else None
        if payload is not None:
            key = store.key(self._settings(), src.name.encode("utf-8", "surrogatepass"),
                            digest or cache.text_digest(text))
            part.entry = (key, payload)
        return part

    def _scan_source(self, src: load.Source, text: str | None, result: Result, stdin: Any = None) -> None:
        if text is None:
            text = self._read(src, result, stdin, report=True)
        if text is None:
            return
        result.files += 1
        if result.sink is None:  # a streamed scan keeps nothing per file: memory stays flat
            result.scanned.append(src.name)
        errors_before = len(result.errors)
        findings = list(self.scan_text(src.name, text, result))
        if len(result.errors) > errors_before and "{{" in text:
            line = helm.template_line(text)
            if line is not None:
                # A Helm template read as YAML: its errors (and anything found in it) mean nothing.
                del result.errors[errors_before:]
                result.errors.append(load.LoadError(src.name, helm.HINT, line, 1))
                return
        result.take(findings)

    def _scan_parallel(self, sources: list, texts: dict, jobs: int) -> Iterator[Result]:
        """Files are independent once Namespace labels are known: scan them on every core,
        in order.  Workers are forked, so they inherit this scanner (config, labels)."""
        import gc
        import multiprocessing
        global _WORKER
        _WORKER = (self, texts)
        # Objects that exist before the fork (the source list above all) are shared with the
        # workers page by page until written to; a garbage collection in a worker would write
        # to every one of them.  Frozen objects are never collected: they stay shared.
        gc.freeze()
        try:
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                yield from pool.imap(_scan_in_worker, sources, chunksize=8)
        finally:
            _WORKER = None
            gc.unfreeze()

    def _read(self, src: load.Source, result: Result, stdin: Any, report: bool) -> str | None:
        try:
            return load.decode(load.read_bytes(src, stdin))
        except OSError as e:
            if report:
                result.errors.append(load.LoadError(src.name, load.os_message(e) if not e.strerror is None
                                                    else str(e)))
        except UnicodeError as e:
            if report:
                result.errors.append(load.LoadError(src.name, str(e), getattr(e, "line", None),
                                                    getattr(e, "column", None)))
        return None

    def _compose(self, name: str, text: str, result: Result | None, wanted=None) -> Iterator[Any]:
        errors: list = []  # a broken document is reported; the documents after it are still read
        skimmed: list = []  # objects of kinds no rule reads, never composed: counted all the same
        try:
            yield from load.compose_documents(text, errors, wanted, skimmed)
        except Exception as e:  # noqa: BLE001 - a bug must still not lose the other files
            errors.append(e)
        if result is not None:
            result.errors.extend(_yaml_error(name, e) for e in errors)
            result.objects += len(skimmed)  # (their emptied documents are counted as documents)

    def scan_text(self, name: str, text: str, result: Result) -> Iterator[Finding]:
        comments = suppress.comment_ignores(text)
        for finding in self._documents(name, text, result):
            suppress.apply_comments(comments, (finding,))
            yield finding
        if comments:  # a misspelt name would silently suppress nothing: an input error
            from kubelint_cc import catalog
            for ig in comments.values():
                for unknown in sorted(ig.names - catalog.known_names()):
                    result.errors.append(load.LoadError(name, f"ignore comment: {catalog.unknown_name(unknown)}",
                                                        *ig.where))

    def _wanted(self, kind: str, api_version: str | None = None) -> bool:
        return _read_by_rules(kind, api_version, self.config.workloads)

    def _documents(self, name: str, text: str, result: Result) -> Iterator[Finding]:
        for node in self._compose(name, text, result, self._wanted):
            result.documents += 1
            kind = yamltree.top_scalar(node, "kind")
            if kind in expand.LIST_KINDS:
                items = yamltree.child(node, "items")
                null = isinstance(items[1], ScalarNode) and yamltree.scalar(items[1]) is None if items else True
                if not null and not isinstance(items[1], SequenceNode):
                    mark = items[0].start_mark
                    result.errors.append(load.LoadError(name, "invalid List: items must be a list", mark.line + 1,
                                                        mark.column + 1))
                    continue
                for i, item in enumerate(items[1].value if items is not None and isinstance(items[1], SequenceNode) else []):
                    yield from self._object(name, node, item, ("items", i), result)
            else:
                yield from self._object(name, node, node, (), result)

    def _object(self, name: str, root: Any, node: Any, prefix: tuple, result: Result) -> Iterator[Finding]:
        result.errors.extend(validate.document(name, node, prefix))
        kind = yamltree.top_scalar(node, "kind")
        if isinstance(kind, str) and kind:
            result.objects += 1  # a Kubernetes object, whether or not a rule reads it
        template = expand.template_path(kind, yamltree.top_scalar(node, "apiVersion"), self.config.workloads)
        if template is None and not (kind == "ConfigMap" and kata_rules.has_initdata(node)):
            return
        problems: list = []
        try:
            data = yamltree.to_data(node, problems)
        except yamltree.TreeError as e:
            problems.append(e)
            data = None
        for p in problems:
            line, col = (p.node.start_mark.line + 1, p.node.start_mark.column + 1) if p.node is not None else (None, None)
            result.errors.append(load.LoadError(name, str(p), line, col))
        if not isinstance(data, dict):
            return
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        namespace = meta.get("namespace") if isinstance(meta.get("namespace"), str) else None
        obj = {"kind": kind, "namespace": namespace, "name": meta.get("name") if isinstance(meta.get("name"), str) else None}
        if template is not None:
            result.errors.extend(validate.pod_template(name, root, prefix, data, obj, template))
        namespace = namespace or self.config.default_namespace
        hits: list[tuple] = []  # (rule, control, level, severity, message, full path, extra)
        view = expand.pod_view(data, template, prefix) if template is not None else None
        if view is not None:
            policy = self.policy_for(namespace)
            defaulted = defaults.pod(kind, view.spec)
            for chk in pss.active_checks(policy.level, policy.minor):
                also = pss.replaced_baseline(chk, view.metadata, view.spec, policy.minor) if chk.overrides else {}
                for v in chk.func(view.metadata, view.spec, policy.minor):
                    message = v.message
                    if v.path in defaulted:
                        message += (" (defaulted: in a hostNetwork Pod the API server sets hostPort to the "
                                    "containerPort, and admission judges that)")
                    if v.path in also:  # also a baseline violation: graded, named and explained as one
                        base, bv = also[v.path]
                        hits.append((pss_rule_id(base), chk.control, pss.BASELINE, SEVERITY[pss.BASELINE],
                                     bv.message, view.prefix + v.path, (("baselineControl", base),)))
                    else:
                        hits.append((pss_rule_id(chk.control), chk.control, chk.level, SEVERITY[chk.level],
                                     message, view.prefix + v.path, ()))
            pod_hits = self._guarded(name, node, result, kata_rules.pod, view.metadata, view.spec)
            pod_hits += list(placement.runtime_class(view.spec, namespace, self.config))
            pod_hits += list(placement.peer_pods(view.spec, namespace, self.config))
            hits += [(h.rule, h.control, None, h.severity, h.message, view.prefix + h.path, h.extra) for h in pod_hits]
            hits += [(h.rule, h.control, None, h.severity, h.message, prefix + h.path, h.extra)
                     for h in kata_rules.misplaced(meta, kind)]
        elif template is None:  # a ConfigMap with initdata
            hits += [(h.rule, h.control, None, h.severity, h.message, prefix + h.path, h.extra)
                     for h in self._guarded(name, node, result, kata_rules.config_map, data)]
        ignores = suppress.annotation_ignores(meta, view.metadata if view else None,
                                              view.prefix[len(prefix):] if view else ())
        findings = []
        for rule, control, level, severity, message, full, extra in hits:
            names = (rule, dict(extra).get("baselineControl"), control)  # most specific first
            if not self.config.enabled(*names):
                continue
            line, col = yamltree.locate(root, full)
            finding = Finding(rule, control, level, self.config.severity_for(severity, *names), message,
                              name, line, col, format_path(full), obj, extra=dict(extra))
            finding.suppressed = suppress.match(ignores, finding)
            if control in FIXABLE and full[:len(view.prefix)] == view.prefix:
                from kubelint_cc import fix  # only for the findings it may fix
                finding.fix = fix.applicability(control, full[len(view.prefix):], view.spec)
            findings.append(finding)
        self._unknown_suppressions(ignores, root, prefix, name, result)
        findings.sort(key=lambda f: (f.line, f.column))
        yield from findings

    def _guarded(self, name: str, node: Any, result: Result, rule: Callable, *args) -> list:
        """Runs a rule that decodes untrusted payloads; a failure is an input error, never a crash."""
        try:
            return list(rule(*args))
        except Exception as e:  # noqa: BLE001 - reported with the object's position
            mark = node.start_mark
            result.errors.append(load.LoadError(name, f"could not analyse {rule.__module__.rsplit('.', 1)[-1]}: "
                                                      f"{type(e).__name__}: {e}", mark.line + 1, mark.column + 1))
            return []

    def _unknown_suppressions(self, ignores, root, prefix, name, result) -> None:
        for where, unknown in suppress.unknown_names(ignores):
            from kubelint_cc import catalog  # only for a misspelt name: it parses every rule file
            line, col = yamltree.locate(root, prefix + where)
            result.errors.append(load.LoadError(name, f"{suppress.ANNOTATION} annotation: "
                                                      f"{catalog.unknown_name(unknown)}", line, col))


def _read_by_rules(kind: str, api_version: str | None = None, declared: tuple = ()) -> bool:
    """Objects the rules read; the others only get validate.document's checks, which
    load.skim makes sure would pass, so their node trees need not be built."""
    return (kind in expand.LIST_KINDS or kind == "ConfigMap"
            or expand.template_path(kind, api_version, declared) is not None)


_WORKER: tuple | None = None
PARALLEL_MIN_FILES = 64  # below this, starting workers costs more than it saves
# Texts read while looking for Namespaces are kept for the scan up to this many characters:
# reading and decoding every file twice cost a cold scan of the real corpus (17 MB) about
# 10 % of its CPU time; a larger set is read twice past the budget, so memory stays bounded.
TEXT_BUDGET = 16 * 1024 * 1024


def _jobs(sources: list) -> int:
    if len(sources) < PARALLEL_MIN_FILES or any(s.name == load.STDIN for s in sources):
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    env = os.environ.get("KUBELINT_CC_JOBS")
    if env and env.isdigit():
        return max(1, min(int(env), 8))
    return max(1, min(_idle(cpus), 8))


def _idle(cpus: int, loadavg: str = "/proc/loadavg") -> int:
    """CPUs that no other process is running on right now.  A worker costs CPU of its own
    (a second Rego sandbox, files read twice, results pickled back, and two processes on
    neighbouring cores each run ~15-35 % slower): on a machine whose cores are busy it buys
    no wall time and costs CPU time, so only idle cores get one.  /proc/loadavg's 4th
    field counts the runnable tasks now (this one included), not a lagging average."""
    try:
        with open(loadavg, encoding="ascii") as f:
            running = int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return cpus
    return max(0, cpus - max(0, running - 1))


def _scan_in_worker(src: load.Source) -> Result:
    scanner, texts = _WORKER
    return scanner._scan_part(src, texts.get(src.name))


def _merge(result: Result, part: Result) -> None:
    """Adds one file's result (scanned on its own, in a worker or read from the cache)."""
    result.take(part.findings)
    result.errors.extend(part.errors)
    result.files += part.files
    result.documents += part.documents
    result.objects += part.objects
    if result.sink is None:
        result.scanned.extend(part.scanned)


def namespace_label(data: dict) -> tuple | None:
    """(name, level, minor) of a Namespace with PSA labels, as admission reads them; else None."""
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name = meta.get("name")
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    if not isinstance(name, str) or LEVEL_LABEL not in labels and VERSION_LABEL not in labels:
        return None
    level = labels.get(LEVEL_LABEL, "privileged")
    # PSA: an invalid enforce level fails closed (restricted); an invalid version means latest.
    if level not in ("privileged", pss.BASELINE, pss.RESTRICTED):
        level = pss.RESTRICTED
    minor = parse_version(str(labels.get(VERSION_LABEL, "latest")))
    return name, level, pss.LATEST_MINOR if minor is None else minor


def _yaml_error(name: str, e: Exception) -> load.LoadError:
    mark = getattr(e, "problem_mark", None)
    if isinstance(e, load.YamlError):
        message = f"YAML syntax error: {e.problem}" if e.syntax else e.problem
    else:
        message = f"internal error while reading YAML: {type(e).__name__}: {e}"
    if mark is not None:
        return load.LoadError(name, message, mark.line + 1, mark.column + 1)
    return load.LoadError(name, message)
