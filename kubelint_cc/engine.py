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

from kubelint_cc import cache, defaults, expand, kyverno, load, suppress, validate, yamltree
from kubelint_cc.checks import kata_rules, placement, pss
from kubelint_cc.checks.rule import Hit
from kubelint_cc.excerpt import clip, excerpt
from kubelint_cc.render import helm

LABEL = "pod-security.kubernetes.io/"  # + enforce, audit, warn; + "-version" for each
LEVEL_LABEL = LABEL + "enforce"
VERSION_LABEL = LABEL + "enforce-version"
MODES = ("enforce", "warn", "audit")
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
    rendered: bool = False  # found in a rendered chart or kustomization (not reported as such; `fix` leaves it)

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
# Every finding's fingerprint and report line needs its file's repository path, and a file
# has many findings: each name is worked out once per scan (Scanner.scan empties this, as
# a relative name means another file after a change of directory).
_RELATIVE: dict[str, str] = {}


def repo_relative(file: str) -> str:
    """A file's path from its git work tree's root (else from the working directory)."""
    if file == load.STDIN:
        return file
    rel = _RELATIVE.get(file)
    if rel is None:
        path = os.path.abspath(file)
        directory = os.path.dirname(path)
        if directory not in _REPO_ROOTS:
            from kubelint_cc.paths import repo_root
            _REPO_ROOTS[directory] = repo_root(directory)
        rel = os.path.relpath(path, _REPO_ROOTS[directory] or os.getcwd())
        rel = _RELATIVE[file] = path if rel.startswith("..") else rel
    return rel


@dataclass
class Options:
    level: str | None = None  # explicit --pss-level; None: namespace label, else config, else restricted
    version: str | None = None  # explicit --pss-version; None: namespace label, else config, else latest
    config: Any = None  # kubelint_cc.config.Config
    follow_external_symlinks: bool = False  # follow links that leave the repository (local use only)
    admission: Any = None  # kubelint_cc.admission.PodSecurityConfig: the cluster's PodSecurity defaults and exemptions
    gitignore: bool = True  # directory walks skip what git ignores (--no-ignore: False)
    helm_values: list = field(default_factory=list)  # --helm-values FILE, after the config's helm.values
    helm_set: list = field(default_factory=list)  # --helm-set key=value, after the config's helm.set
    chart: str | None = None  # --chart DIR: the chart a `helm template` stream on stdin came from
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
    warnings: list = field(default_factory=list)  # said once on stderr; no effect on the exit code
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
    mode: str = "enforce"


class Scanner:
    def __init__(self, options: Options | None = None):
        from kubelint_cc.config import Config
        self.options = options or Options()
        self.config = self.options.config or Config()
        self.namespaces: dict[str, dict[str, tuple]] = {}  # namespace -> mode -> (level, minor) from its labels
        self.origins: dict[str, Any] = {}  # rendered source -> render.origin.Rendered
        self._told_no_renderer = False
        # while a file is scanned for the cache: namespace -> its policies ((level, minor, mode), ...)
        self.used: dict | None = None

    # -- PSS level and version for an object, in each PSA mode (README: "Which level applies")
    def policies_for(self, namespace: str) -> list[Policy]:
        """The enforce policy first, then the audit and warn policies that judge anything.
        Each level and version: the command-line flag (enforce only), else the namespace's
        label, else the admission configuration's default, else (enforce only) the config
        file, else restricted / latest."""
        out = self._policies_for(namespace)
        if self.used is not None:  # what the file's verdict depends on beyond its own text
            self.used[namespace] = policy_key(out)
        return out

    def _policies_for(self, namespace: str) -> list[Policy]:
        labels = self.namespaces.get(namespace, {})
        defaults = self.options.admission.defaults if self.options.admission else {}
        out = []
        for mode in MODES:
            flag = (self.options.level, self.options.version) if mode == "enforce" else (None, None)
            conf = (self.config.pss_level, self.config.pss_version) if mode == "enforce" else (None, None)
            fallback = (pss.RESTRICTED, "latest") if mode == "enforce" else ("privileged", "latest")
            labelled = labels.get(mode)
            default = defaults.get(mode)
            if labelled is None and default is None and mode != "enforce":
                continue
            level = flag[0] or (labelled[0] if labelled else None) or (default.level if default else None) \
                or conf[0] or fallback[0]
            if flag[1] is not None:
                minor = parse_version(flag[1])
            elif labelled:
                minor = labelled[1]
            else:
                version = (default.version if default else None) or conf[1] or fallback[1]
                minor = parse_version(version)
            minor = pss.LATEST_MINOR if minor is None else minor
            if mode == "enforce" or level != "privileged":
                out.append(Policy(level, minor, mode))
        return out

    def learn_namespace(self, data: dict) -> None:
        learned = namespace_labels(data)
        if learned is not None:
            self.namespaces[learned[0]] = {mode: (level, minor) for mode, level, minor in learned[1]}

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
                    if isinstance(data, dict) and (labels := namespace_labels(data)) is not None:
                        learned.append(labels)
            if key is not None:
                store.put("n", key, cache.dump_namespaces(learned))
        for ns, modes in learned:
            self.namespaces[ns] = {mode: (level, minor) for mode, level, minor in modes}

    # -- scanning
    def scan(self, paths: list[str], stdin: Any = None, exclude: Callable | None = None,
             sink: Callable | None = None, progress: Any = None) -> Result:
        """With `sink`, findings go to sink(list) file by file, in order, and are not kept:
        memory stays flat however many files are scanned.  With `progress` (a
        kubelint_cc.progress.Progress), it hears start(files) and then advance() per file done."""
        result = Result(sink=sink)
        _RELATIVE.clear()
        sources = list(load.discover(paths, result.errors, exclude or self.config.exclude_matcher(),
                                     follow_external=self.options.follow_external_symlinks,
                                     gitignore=self.options.gitignore))
        sources = self._render_all(sources, result)
        if progress is not None:
            progress.start(len(sources))
        texts = {}
        kept = 0  # characters of other texts kept, up to TEXT_BUDGET, so as not to read them twice
        store = self.options.cache
        digests: dict[int, bytes] = {}  # source index -> text digest, for the files the cache may answer
        # Namespace labels set the policy for every workload in the scan, wherever it sits.
        for i, src in enumerate(sources):
            text = self._read(src, result, stdin, report=False)
            if text is None:
                continue
            if store is not None and self._cacheable(src, len(text)):
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
        for i in cached:
            texts.pop(sources[i].name, None)
        todo = [src for i, src in enumerate(sources) if i not in cached]
        jobs = _jobs(todo)
        parts = self._scan_parallel(todo, texts, jobs) if jobs > 1 else None
        try:
            for i, src in enumerate(sources):
                if i in cached:
                    entry = cache.load_result(cached.pop(i), src.name)
                    # (an entry whose policies read but whose findings do not: scanned here, as not in `todo`)
                    part = entry[1] if entry is not None else \
                        self._scan_part(src, texts.pop(src.name, None), stdin, digests[i], into=result)
                elif parts is not None:
                    part = next(parts)
                elif i in digests:  # its findings streamed into the result as it is scanned
                    part = self._scan_part(src, texts.pop(src.name, None), stdin, digests[i], into=result)
                else:  # no cache for it: scanned straight into the result, its findings streamed
                    part = src
                if isinstance(part, load.Source):  # a big file (or one not cached): streamed, never held whole
                    self._scan_source(part, texts.pop(part.name, None), result, stdin)
                else:
                    if store is not None and part.entry is not None:  # stored here: a worker's store is its own copy
                        store.put("f", *part.entry)
                    _merge(result, part)
                if progress is not None:  # here in the parent, never in a worker: one bar, one writer
                    progress.advance()
        finally:
            if parts is not None:
                parts.close()  # stops the workers, also when the loop was left early
        if store is not None:
            store.flush()
        return result

    def _cacheable(self, src: load.Source, size: int) -> bool:
        """Whether a file's result may be kept: not stdin (no next version to reuse it), not a
        rendered chart or kustomization, nor a file that one places in a namespace (their
        findings depend on files, values and renderers outside the key), nor a big file (its
        findings are streamed, never held whole)."""
        return (self.options.cache is not None and src.name != load.STDIN and src.data is None
                and src.render is None and src.namespace is None and src.name not in self.origins
                and size < LOCAL_BYTES)

    def _settings(self) -> bytes:
        """What, besides a file's text and name, its findings depend on (bar namespace labels)."""
        if getattr(self, "_settings_key", None) is None:
            self._settings_key = cache.settings_key(self.options, self.config)
        return self._settings_key

    def _cached(self, name: str, text_digest: bytes) -> bytes | None:
        """A file's cache entry, if its text, settings and code are unchanged and the
        namespace policies (every PSA mode) it was judged by are still the ones in force."""
        store = self.options.cache
        payload = store.get("f", store.key(self._settings(), name.encode("utf-8", "surrogatepass"), text_digest))
        used = cache.load_used(payload)
        if used is None:
            return None
        if any(policy_key(self._policies_for(ns)) != policies for ns, policies in used):
            return None  # a Namespace label changed in another file
        store.hits.append(name)
        return payload

    def _scan_part(self, src: load.Source, text: str | None, stdin: Any = None,
                   digest: bytes | None = None, into: Result | None = None) -> Result:
        """One file's result on its own, and its cache entry (`digest`: of `text`, if known).
        With `into`, the findings go to into.take() batch by batch as they are found (a file
        of 30,000 findings is not held whole) and the part keeps a copy for the cache only up
        to cache.MAX_FINDINGS; the caller merges the rest of the part (_merge)."""
        kept: list | None = []

        def tee(findings: list) -> None:
            nonlocal kept
            into.take(findings)
            if kept is not None and len(kept) + len(findings) <= cache.MAX_FINDINGS:
                kept.extend(findings)
            else:
                kept = None

        part = Result(sink=tee if into is not None else None)
        if text is None:
            text = self._read(src, part, stdin, report=True)
        if text is None:
            return part
        store = self.options.cache if self._cacheable(src, len(text)) else None
        self.used = {} if store is not None else None
        try:
            self._scan_source(src, text, part, stdin)
        finally:
            used, self.used = self.used, None
        if into is not None:  # handed over already: _merge must not take them again
            part.sink, part.scanned = None, [src.name] * part.files
            part.entry = self._entry(store, src, text, digest, part, used, kept) if kept is not None else None
            return part
        part.entry = self._entry(store, src, text, digest, part, used, part.findings)
        return part

    def _entry(self, store, src: load.Source, text: str, digest: bytes | None, part: Result, used: dict | None,
               findings: list) -> tuple | None:
        if store is None:
            return None
        part.findings, saved = findings, part.findings
        try:
            payload = cache.dump_result(part, used)
        finally:
            part.findings = saved
        if payload is None:
            return None
        return store.key(self._settings(), src.name.encode("utf-8", "surrogatepass"),
                         digest or cache.text_digest(text)), payload

    def _scan_source(self, src: load.Source, text: str | None, result: Result, stdin: Any = None) -> None:
        if text is None:
            text = self._read(src, result, stdin, report=True)
        if text is None:
            return
        result.files += 1
        if result.sink is None:  # a streamed scan keeps nothing per file: memory stays flat
            result.scanned.append(src.name)
        errors_before = len(result.errors)
        findings = self.scan_text(src.name, text, result, src.namespace)
        origin = self.origins.get(src.name)
        if origin is None and src.name == load.STDIN and helm.has_sources(text):
            origin = helm.rendered(src.name, text, helm.chart_for_stream(text, self.options.chart))
        if origin is not None or "{{" in text:
            findings = list(findings)
            if origin is not None:
                self._relocate(origin, findings, result.errors[errors_before:], result)
            elif len(result.errors) > errors_before:
                line = helm.template_line(text)
                if line is not None:
                    # A Helm template read as YAML: its errors (and anything found in it) mean nothing.
                    del result.errors[errors_before:]
                    result.errors.append(load.LoadError(src.name, helm.HINT, line, 1))
                    return
        # Handed over in batches, not per file: one 60 MB file of 350,000 Pods has 1.7 million
        # findings, which held at once took gigabytes (and slowed every garbage collection).
        batch: list = []
        for finding in findings:
            batch.append(finding)
            if len(batch) >= STREAM_BATCH and result.sink is not None:
                result.take(batch)
                batch = []
        result.take(batch)

    def _render_all(self, sources: list, result: Result) -> list:
        """Charts and kustomizations rendered into manifests (src.data), each with its way
        back to the files (self.origins).  A kustomization another one in the scan builds
        on is not built alone, nor is a file a kustomization consumes scanned alone."""
        from kubelint_cc.render import kustomize
        kustomizations = [src for src in sources if src.render == "kustomize"]
        consumed: set[str] = set()
        for src in kustomizations:
            consumed |= kustomize.consumed(src.name)
        out, unbuilt = [], []
        for src in sources:
            if src.render == "kustomize" and os.path.abspath(src.name) in consumed:
                continue
            if src.render == "kustomize" and kustomize.builder() is None:
                # No builder: the resource files, judged as written, in the namespace they land in.
                unbuilt += [load.Source(kustomize.display(f), namespace=ns)
                            for f, ns in kustomize.plain_resources(src.name)]
                if kustomize.NO_BUILDER not in result.warnings:
                    result.warnings.append(kustomize.NO_BUILDER)
            elif src.render is None or self._render(src, result):
                out.append(src)
        for origin in self.origins.values():
            if hasattr(origin, "origins"):
                consumed |= {os.path.abspath(f) for f in origin.origins()}
        return [src for src in out if src.render is not None or os.path.abspath(src.name) not in consumed] + unbuilt

    def _render(self, src: load.Source, result: Result) -> bool:
        """Renders one chart or kustomization into src.data and remembers how to map it
        back; False (and an input error) when it cannot be rendered."""
        from kubelint_cc.render import kustomize
        if src.render == "kustomize":
            try:
                text = kustomize.build(src.name)
            except kustomize.BuildError as e:
                result.errors.append(load.LoadError(src.name, str(e)))
                return False
            src.data = text.encode("utf-8")
            self.origins[src.name] = kustomize.Built(src.name, text)
            return True
        values = helm.Values(list(self.config.helm_values) + list(self.options.helm_values),
                             list(self.config.helm_set) + list(self.options.helm_set), self.config.default_namespace)
        try:
            text = helm.render(src.name, values)
        except helm.RenderError as e:
            message = e.message
            if message == helm.NO_RENDERER:
                if self._told_no_renderer:
                    message = "Helm chart not rendered (no Helm renderer, see above)"
                self._told_no_renderer = True
            result.errors.append(load.LoadError(e.file or src.name, message, e.line, e.column))
            return False
        src.data = text.encode("utf-8")
        self.origins[src.name] = helm.rendered(src.name, text, src.name)
        return True

    def _relocate(self, origin: Any, findings: list, errors: list, result: Result) -> None:
        """Findings and errors in a rendered stream, moved to the files a person edits."""
        for f in findings:
            placed = origin.place(f.line, f.column, f.path)
            f.file, f.line, f.column, f.rendered = placed.file, placed.line, placed.column, True
            if not placed.exact:
                f.extra["position"] = "rendered"
        for e in errors:
            placed = origin.place(e.line, e.column)
            e.file, e.line, e.column = placed.file, placed.line, placed.column
        if result.sink is None:
            result.scanned.extend(sorted({file for _, file, _ in origin.sections}))

    def _scan_parallel(self, sources: list, texts: dict, jobs: int) -> Iterator[Result]:
        """Files are independent once Namespace labels are known: scan them on every core,
        in order, in this process and jobs - 1 forked workers, which inherit this scanner
        (config, labels)."""
        import gc
        import multiprocessing
        global _WORKER
        _WORKER = (self, texts)
        load.composer()  # built once here, not once in every worker
        # Objects that exist before the fork (the source list above all) are shared with the
        # workers page by page until written to; a garbage collection in a worker would write
        # to every one of them.  Frozen objects are never collected: they stay shared.
        gc.freeze()
        try:
            # Leaving this block for any reason (SIGTERM included: the CLI turns it into SystemExit)
            # terminates the workers; _worker_init covers a parent that dies without leaving it.
            with multiprocessing.get_context("fork").Pool(jobs - 1, initializer=_worker_init,
                                                          initargs=(os.getpid(),)) as pool:
                for parts in _windowed(pool, sources, jobs - 1):
                    if isinstance(parts, load.Source):  # a big file: the parent scans it, its findings streamed
                        yield parts
                    else:
                        yield from parts
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

    def scan_text(self, name: str, text: str, result: Result, namespace: str | None = None) -> Iterator[Finding]:
        """Findings in one file's text; `namespace`: where its objects land, whatever they say."""
        comments = suppress.comment_ignores(text)
        for finding in self._documents(name, text, result, namespace):
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

    def _documents(self, name: str, text: str, result: Result, namespace: str | None = None) -> Iterator[Finding]:
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
                    yield from self._object(name, node, item, ("items", i), result, namespace)
            else:
                yield from self._object(name, node, node, (), result, namespace)

    def _object(self, name: str, root: Any, node: Any, prefix: tuple, result: Result,
                namespace_override: str | None = None) -> Iterator[Finding]:
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
        namespace = namespace_override or (meta.get("namespace") if isinstance(meta.get("namespace"), str) else None)
        # Kubernetes names are at most 253 characters: a longer one is cut, so that it is not
        # repeated whole in every finding of the object.
        obj = {"kind": clip(kind), "namespace": clip(namespace),
               "name": clip(meta.get("name")) if isinstance(meta.get("name"), str) else None}
        if template is not None:
            result.errors.extend(validate.pod_template(name, root, prefix, data, obj, template))
        namespace = namespace or self.config.default_namespace
        hits: list[tuple] = []  # (rule, control, level, severity, message, full path, extra)
        view = expand.pod_view(data, template, prefix) if template is not None else None
        if view is not None:
            hits += self._pss_hits(kind, namespace, view)
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
        hits = [h for h in hits if self.config.enabled(h[0], dict(h[6]).get("baselineControl"), h[1])]
        hits, cut = _cap_repeats(hits)
        findings = []
        for rule, control, level, severity, message, full, extra in hits:
            names = (rule, dict(extra).get("baselineControl"), control)  # most specific first
            line, col = yamltree.locate(root, full)
            finding = Finding(rule, control, level, self.config.severity_for(severity, *names), message,
                              name, line, col, format_path(full), obj, extra=dict(extra))
            finding.suppressed = suppress.match(ignores, finding)
            if control in FIXABLE and full[:len(view.prefix)] == view.prefix:
                from kubelint_cc import fix  # only for the findings it may fix
                finding.fix = fix.applicability(control, full[len(view.prefix):], view.spec)
            findings.append(finding)
        for (rule, control, level), (n, severity) in cut.items():
            line, col = yamltree.locate(root, prefix)
            finding = Finding(rule, control, level, self.config.severity_for(severity, rule, control),
                              f"{n:,} more {rule} findings in this object are not shown "
                              f"(at most {MAX_REPEATS} per rule and object)", name, line, col,
                              format_path(prefix), obj)
            finding.suppressed = suppress.match(ignores, finding)
            findings.append(finding)
        self._unknown_suppressions(ignores, root, prefix, name, result)
        findings.sort(key=lambda f: (f.line, f.column))
        yield from findings

    def _pss_hits(self, kind: str, namespace: str, view) -> list[tuple]:
        """Pod Security findings in every mode PSA evaluates: enforce at its severities; what
        only the audit or warn level forbids, as warnings marked with those modes."""
        exempt = self.options.admission.exemption(namespace, view.spec.get("runtimeClassName")) \
            if self.options.admission else None
        if exempt:
            h = Hit("pss-exempt", None, "note", f"not evaluated by Pod Security Admission: {exempt}", ())
            return [(h.rule, h.control, None, h.severity, h.message, view.prefix + h.path, h.extra)]
        defaulted = defaults.pod(kind, view.spec)
        found: dict[tuple, list] = {}  # (control, path) -> [hit fields..., modes, policy of the first mode]
        for policy in self.policies_for(namespace):
            for chk in pss.active_checks(policy.level, policy.minor):
                also = pss.replaced_baseline(chk, view.metadata, view.spec, policy.minor) if chk.overrides else {}
                for v in chk.func(view.metadata, view.spec, policy.minor):
                    key = (also[v.path][0] if v.path in also else chk.control, v.path)
                    # a value that also breaks a baseline control is exempted only with that control
                    if self.config.kyverno_exclude and kyverno.excluded(self.config.kyverno_exclude, key[0],
                                                                        v.path, view.spec):
                        continue
                    if key in found:  # the same offending value, already found in another mode
                        found[key][-2].append(policy.mode)
                        continue
                    message = v.message
                    if v.path in defaulted:
                        message += (" (defaulted: in a hostNetwork Pod the API server sets hostPort to the "
                                    "containerPort, and admission judges that)")
                    rule, level, severity, extra = pss_rule_id(chk.control), chk.level, SEVERITY[chk.level], ()
                    if v.path in also:  # also a baseline violation: graded, named and explained as one
                        base, bv = also[v.path]
                        rule, level, severity, extra = pss_rule_id(base), pss.BASELINE, SEVERITY[pss.BASELINE], \
                            (("baselineControl", base),)
                        message = bv.message + message[len(v.message):]
                    found[key] = [rule, chk.control, level, severity, message, view.prefix + v.path, extra,
                                  [policy.mode], policy]
        hits = []
        for rule, control, level, severity, message, path, extra, modes, policy in found.values():
            if "enforce" not in modes:  # kubectl prints a warning, or the audit log records it
                severity = "warning"
                message += (f" (PSA {' and '.join(modes)} mode{'s' if len(modes) > 1 else ''}: {policy.level} "
                            f"{_version_text(policy.minor)})")
            hits.append((rule, control, level, severity, message, path, extra + (("modes", modes),)))
        return hits

    def _guarded(self, name: str, node: Any, result: Result, rule: Callable, *args) -> list:
        """Runs a rule that decodes untrusted payloads; a failure is an input error, never a crash."""
        try:
            return list(rule(*args))
        except Exception as e:  # noqa: BLE001 - reported with the object's position
            mark = node.start_mark
            result.errors.append(load.LoadError(name, f"could not analyse {rule.__module__.rsplit('.', 1)[-1]}: "
                                                      f"{type(e).__name__}: {excerpt(str(e), 500)}",
                                                mark.line + 1, mark.column + 1))
            return []

    def _unknown_suppressions(self, ignores, root, prefix, name, result) -> None:
        for where, unknown in suppress.unknown_names(ignores):
            from kubelint_cc import catalog  # only for a misspelt name: it parses every rule file
            line, col = yamltree.locate(root, prefix + where)
            result.errors.append(load.LoadError(name, f"{suppress.ANNOTATION} annotation: "
                                                      f"{catalog.unknown_name(unknown)}", line, col))


def _version_text(minor: int) -> str:
    return "latest" if minor == pss.LATEST_MINOR else f"v1.{minor}"


STREAM_BATCH = 1000  # findings handed to a streaming sink at a time

MAX_REPEATS = 100  # findings of one rule per object; more are counted in one finding


def _cap_repeats(hits: list) -> tuple[list, dict]:
    """The first MAX_REPEATS hits of each rule, and {(rule, control, level): (how many more,
    their highest severity)}.  One object can hold 500,000 initdata keys or containers: its
    report must not grow with them (no real object has a hundred findings of one rule)."""
    kept, seen, cut = [], {}, {}
    rank = {"note": 0, "warning": 1, "error": 2}
    for hit in hits:
        key = hit[:3]
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= MAX_REPEATS:
            kept.append(hit)
            continue
        n, severity = cut.get(key, (0, hit[3]))
        cut[key] = (n + 1, max(severity, hit[3], key=lambda s: rank.get(s, 2)))
    return kept, cut


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


CHUNK_FILES, CHUNK_BYTES = 8, 256 * 1024  # per task: few round trips for small files, small results for big ones


# A worker hands a file's findings over all at once; a file this big is scanned in the
# parent instead, which streams its findings in batches (a 60 MB file has 1.7 million).
LOCAL_BYTES = 4 * 1024 * 1024


def _chunks(sources: list) -> Iterator:
    """Lists of sources for the workers, and, alone, the sources too big to hand to one."""
    chunk, size = [], 0
    for src in sources:
        try:
            here = os.stat(src.name).st_size
        except OSError:
            here = 0  # reported when the worker reads it
        if here >= LOCAL_BYTES:
            if chunk:
                yield chunk
                chunk, size = [], 0
            yield src
            continue
        size += here
        chunk.append(src)
        if len(chunk) >= CHUNK_FILES or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _windowed(pool, sources: list, workers: int):
    """Lists of per-file Results (or a big file's Source, to scan in the parent), in order.

    Each worker has at most 2 chunks in flight: pool.imap would run ahead of a parent that
    writes the report more slowly than the workers produce it, and hold every finished
    file's findings meanwhile (the parent grew past 600 MB on 500 files of 1 MB).  When the
    next result in order is not ready, the parent scans the next chunk itself instead of
    waiting: it is a worker too, and the process it does not start saves that process's
    share of pickling and start-up (on 2 cores, a parent and 2 workers cost a third more
    CPU than one process)."""
    from collections import deque
    chunks = _chunks(sources)
    pending: deque = deque()  # in order: pool tasks, Sources, and chunks the parent scanned
    window, in_pool, more = 4 * workers, 0, True
    while True:
        while more and in_pool < window:
            chunk = next(chunks, None)
            more = chunk is not None
            if more:
                in_pool += not isinstance(chunk, load.Source)
                pending.append(chunk if isinstance(chunk, load.Source) else pool.apply_async(_scan_chunk, (chunk,)))
        if not pending:
            return
        if more and not _done(pending[0]) and len(pending) < 4 * window:
            chunk = next(chunks, None)
            more = chunk is not None
            if more:
                pending.append(chunk if isinstance(chunk, load.Source) else _scan_chunk(chunk))
            continue
        head = pending.popleft()
        in_pool -= hasattr(head, "ready")
        yield _get(head)


def _done(task) -> bool:
    return not hasattr(task, "ready") or task.ready()


def _get(task):
    return task.get() if hasattr(task, "get") else task


def _scan_chunk(sources: list) -> list:
    return [_scan_in_worker(src) for src in sources]


def _worker_init(parent: int) -> None:
    """In each worker: SIGTERM ends it at once (the parent's handler, inherited through fork,
    would raise SystemExit inside the pool's machinery), and so does the parent's death."""
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG (Linux only)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


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
    result.warnings.extend(w for w in part.warnings if w not in result.warnings)


def namespace_labels(data: dict) -> tuple | None:
    """(name, ((mode, level, minor), ...)) of a Namespace with PSA labels in any mode
    (enforce, warn, audit), as admission reads them; else None."""
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name = meta.get("name")
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    if not isinstance(name, str):
        return None
    modes = []
    for mode in MODES:
        key = LABEL + mode
        if key not in labels and key + "-version" not in labels:
            continue
        level = labels.get(key, "privileged")
        # PSA: an invalid level fails closed (restricted); an invalid version means latest.
        if level not in ("privileged", pss.BASELINE, pss.RESTRICTED):
            level = pss.RESTRICTED
        minor = parse_version(str(labels.get(key + "-version", "latest")))
        modes.append((mode, level, pss.LATEST_MINOR if minor is None else minor))
    return (name, tuple(modes)) if modes else None


def policy_key(policies: list) -> tuple:
    """A namespace's policies in every mode, as a cache entry records and compares them."""
    return tuple((p.level, p.minor, p.mode) for p in policies)


def _yaml_error(name: str, e: Exception) -> load.LoadError:
    mark = getattr(e, "problem_mark", None)
    if isinstance(e, load.YamlError):
        message = f"YAML syntax error: {e.problem}" if e.syntax else e.problem
    else:
        message = f"internal error while reading YAML: {type(e).__name__}: {excerpt(str(e), 200)}"
    if mark is not None:
        return load.LoadError(name, message, mark.line + 1, mark.column + 1)
    return load.LoadError(name, message)
