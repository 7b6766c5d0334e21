"""Files, directories and stdin -> YAML documents (root nodes with marks), or load errors.

Nothing here raises for bad input: every problem becomes a LoadError with the file
and, where there is one, the line and column.
"""
from __future__ import annotations

import bisect
import codecs
import errno
import os
import re
import stat
from array import array
from dataclasses import dataclass
from typing import Any, Iterator

from kubelint_cc import paths as pathutil

EXTENSIONS = (".yaml", ".yml", ".json")
MAX_FILE_BYTES = 64 * 1024 * 1024  # far above any manifest; keeps a stray dump from eating memory
STDIN = "-"


@dataclass(slots=True)
class LoadError:
    file: str
    message: str
    line: int | None = None
    column: int | None = None

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "message": self.message}


@dataclass(slots=True)
class Source:
    """One input: a path to read, or stdin's bytes; or a directory to render first
    (`render`: "helm" for a chart, "kustomize" for a kustomization; see kubelint_cc/render)."""
    name: str
    data: bytes | None = None
    render: str | None = None
    namespace: str | None = None  # the namespace its objects land in, when a kustomization sets it


def _renderable(directory: str) -> str | None:
    """'helm' for a chart, 'kustomize' for a kustomization directory, else None."""
    from kubelint_cc.render import helm, kustomize
    if helm.is_chart(directory):
        return "helm"
    return "kustomize" if kustomize.kustomization_file(directory) else None


def _enclosing(path: str, consumed: dict) -> tuple[str, str] | None:
    """What a file named alone (as pre-commit names changed files) belongs to: ("helm",
    the outermost chart holding it) or ("kustomize", the nearest kustomization directory
    that consumes it), looking up to its repository's root; None for a plain file."""
    from kubelint_cc.render import helm, kustomize
    target = os.path.abspath(path)
    chart = kustomization = None
    directory = os.path.dirname(target)
    while True:
        if helm.is_chart(directory):
            chart = directory
        elif kustomization is None and kustomize.kustomization_file(directory):
            if directory not in consumed:  # once per directory, however many files pre-commit names
                consumed[directory] = kustomize.consumed(directory)
            if target in consumed[directory]:
                kustomization = directory
        parent = os.path.dirname(directory)
        if parent == directory or os.path.exists(os.path.join(directory, ".git")):
            break
        directory = parent
    found = ("helm", chart) if chart else ("kustomize", kustomization) if kustomization else None
    if found is None:
        return None
    rel = os.path.relpath(found[1])
    return found[0], found[1] if rel.startswith("..") else rel


def discover(paths: list[str], errors: list[LoadError], exclude=None,
             follow_external: bool = False, gitignore: bool = True) -> Iterator[Source]:
    """Yields sources in a stable order.  Directories recurse (skipping .git and other
    dot-directories); symbolic links are followed while they stay inside the repository
    (or, outside one, the scanned directory): one leading out is reported and not followed
    unless `follow_external`, so a pull request cannot make the scan read the runner's
    files.  A directory reached twice (a link loop) is walked once; only regular files are
    ever opened: FIFOs, sockets and devices are reported, never read.  With `gitignore`, directory walks skip what git
    ignores there; files named in `paths` are always read."""
    seen_dirs: set[tuple[int, int]] = set()
    enclosing: set[str] = set()  # charts and kustomizations already yielded for files named inside them
    consumed: dict[str, set] = {}  # kustomization directory -> what it consumes
    for path in paths or ["."]:
        if path == STDIN:
            yield Source(STDIN)
            continue
        try:
            st = os.stat(path)
        except OSError as e:
            errors.append(LoadError(path, _os_message(e, initial=True)))
            continue
        root = None
        if not follow_external:
            # Inside a repository, the path must not lead out of it (`deploy -> /`); outside
            # one, a walk stays inside the directory named (the path itself is the user's).
            root = pathutil.boundary(path)
            if root is not None and not pathutil.within(path, root):
                errors.append(LoadError(path, pathutil.OUTSIDE))
                continue
            if root is None:
                root = os.path.realpath(path)
        if stat.S_ISDIR(st.st_mode):
            render = _renderable(path)
            if render:
                yield Source(path, render=render)
                continue
            yield from _walk(path, errors, seen_dirs, exclude, root,
                             git_ignored(path) if gitignore else None)
        elif stat.S_ISREG(st.st_mode):
            if exclude and exclude(path):
                continue
            # A template, values.yaml, patch... named alone (as pre-commit does): check what it is part of.
            within = _enclosing(path, consumed)
            if within is None:
                yield Source(path)
            elif within[1] not in enclosing and not (exclude and exclude(within[1])):
                enclosing.add(within[1])
                yield Source(within[1], render=within[0])
        else:
            errors.append(LoadError(path, NOT_REGULAR))


NOT_REGULAR = "not a regular file (FIFO, socket or device): not read"


def git_ignored(top: str) -> set[str] | None:
    """What git ignores under the directory `top`: paths relative to it, a whole directory
    as `name/`.  None when git is not on PATH, `top` is not in a work tree, or `top` is
    itself ignored (it was named, so it is scanned).  git's own answer, so nested
    .gitignore files, negations, .git/info/exclude and core.excludesFile all count;
    tracked files are never ignored, as in git."""
    import shutil
    import subprocess
    git = shutil.which("git")
    if git is None:
        return None
    # core.fsmonitor=false: the scanned tree's .git/config must not make us run a program.
    command = [git, "-c", "core.fsmonitor=false", "ls-files", "--others", "--ignored", "--exclude-standard",
               "--directory", "-z"]
    try:
        proc = subprocess.run(command, cwd=top, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None  # not a work tree (or a repository git refuses to read): nothing is filtered
    names = {os.fsdecode(p) for p in proc.stdout.split(b"\0") if p}
    return None if "./" in names else names


def _walk(top: str, errors: list[LoadError], seen: set, exclude, root: str | None,
          ignored: set | None = None) -> Iterator[Source]:
    """Depth first, entries in name order; iterative, so no tree is too deep to walk.
    With `root` (a real path), a symbolic link that leads out of it is reported, not followed.
    `ignored`: what git ignores under `top` (git_ignored)."""
    stack = [iter(_entries(top, errors, seen))]
    base = 0 if top == "." else len(top if top.endswith(os.sep) else top + os.sep)  # path[base:]: relative to top
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        path = os.path.join(entry[0], entry[1].name) if entry[0] != "." else entry[1].name
        item = entry[1]
        if exclude and exclude(path):
            continue
        try:
            if root is not None and item.is_symlink() and _wanted(item) and not pathutil.within(path, root):
                errors.append(LoadError(path, pathutil.OUTSIDE))
                continue
            is_dir = item.is_dir()  # follows symlinks; loops are cut by `seen`
            is_file = item.is_file()
        except OSError as e:
            errors.append(LoadError(path, _os_message(e)))
            continue
        if ignored and (path[base:] in ignored or is_dir and path[base:] + "/" in ignored):
            continue  # git lists an ignored directory as `name/` (a link to one as `name`)
        if is_dir:
            if not item.name.startswith("."):
                render = _renderable(path)
                if render:
                    yield Source(path, render=render)  # its files are read when it is rendered, not alone
                else:
                    stack.append(iter(_entries(path, errors, seen)))
        elif item.name.endswith(EXTENSIONS):
            if is_file:
                yield Source(path)
            elif item.is_symlink():
                try:
                    os.stat(path)
                    errors.append(LoadError(path, NOT_REGULAR))
                except FileNotFoundError:
                    errors.append(LoadError(path, "broken symbolic link (its target does not exist)"))
                except OSError as e:  # a loop
                    errors.append(LoadError(path, _os_message(e)))
            else:
                errors.append(LoadError(path, NOT_REGULAR))


def _wanted(item) -> bool:
    """Whether the walk would use this entry: a manifest, or a directory it descends into."""
    return item.name.endswith(EXTENSIONS) or not item.name.startswith(".") and item.is_dir()


def _entries(top: str, errors: list[LoadError], seen: set) -> list:
    try:
        st = os.stat(top)
        if (st.st_dev, st.st_ino) in seen:
            return []  # a symlink loop, or a second link to a directory already walked
        seen.add((st.st_dev, st.st_ino))
        with os.scandir(top) as it:
            return [(top, e) for e in sorted(it, key=lambda e: e.name)]
    except OSError as e:
        errors.append(LoadError(top, _os_message(e)))
        return []


def read_bytes(source: Source, stdin: Any = None) -> bytes:
    if source.name == STDIN:
        if source.data is None:  # stdin can be read once: keep it for the second pass
            stream = stdin if stdin is not None else __import__("sys").stdin.buffer
            source.data = stream.read(MAX_FILE_BYTES + 1)
        data = source.data
    elif source.data is not None:
        data = source.data
    else:
        # O_NONBLOCK: a path swapped for a FIFO after discovery must not hang the scan.
        fd = os.open(source.name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(NOT_REGULAR)
            if st.st_size > MAX_FILE_BYTES:
                raise OSError(_too_large(st.st_size))
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read(MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise OSError(_too_large(None))  # read up to the limit only: the real size is unknown
    return data


def _too_large(size: int | None) -> str:
    limit = f"{MAX_FILE_BYTES // (1024 * 1024)} MiB"
    if size is None:
        return f"input too large (over the {limit} limit): not scanned"
    return f"file too large ({size / (1024 * 1024):.0f} MiB; the limit is {limit}): not scanned"


class DecodeError(UnicodeError):
    """Bytes that are not a manifest's text; `line`/`column` (1-based) when a position helps."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line, self.column = line, column


BINARY_SNIFF = 8000  # like git: a NUL byte this early means a binary file, not text
INVALID_UTF8 = "\uffff"  # stands for an undecodable byte: libyaml refuses it, so only its document fails


def decode(data: bytes) -> str:
    """Text of a manifest: UTF-8, or UTF-16 with a byte order mark -- what Kubernetes'
    YAML reader (go-yaml, like libyaml) accepts.  UTF-32 is refused as Kubernetes refuses
    it.  Bytes that are not UTF-8 become U+FFFF, which the YAML reader refuses: the
    document holding them is reported, the others are still read."""
    if data.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")):
        raise DecodeError("UTF-32 text: Kubernetes reads only UTF-8 and UTF-16 YAML (re-encode the file as UTF-8)")
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le")):
        if data.startswith(bom):
            if codec == "utf-8":
                return _utf8(data[len(bom):])
            try:
                return data[len(bom):].decode(codec)
            except UnicodeDecodeError as e:
                raise DecodeError(f"not valid {codec.upper()} (byte offset {e.start + len(bom)}: {e.reason})") from None
    nul = data.find(b"\x00", 0, BINARY_SNIFF)
    if nul >= 0:
        raise DecodeError("binary file: NUL byte (or UTF-16/32 text without a byte order mark)", *_where(data, nul))
    return _utf8(data)


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "kubelint-cc-invalid")


codecs.register_error("kubelint-cc-invalid", lambda e: (INVALID_UTF8 * (e.end - e.start), e.end))


def _where(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset."""
    start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[start:offset].decode("utf-8", "replace")) + 1


def _os_message(e: OSError, initial: bool = False) -> str:
    if isinstance(e, PermissionError):
        return "permission denied"
    if isinstance(e, FileNotFoundError):
        return "no such file or directory" if initial else "no such file or directory (removed during the scan?)"
    if e.errno == errno.ELOOP:
        return "symbolic link loop (too many levels of symbolic links)"
    return e.strerror or str(e)


def os_message(e: OSError) -> str:
    return _os_message(e)


# -- composing YAML ---------------------------------------------------------------------
#
# We compose with ruamel.yaml's C parser (libyaml) and never construct, so no tag is ever
# instantiated.  Two hooks of the C composer do the work:
#   resolve          -- plain scalars keep their text; yamltree types them the way Kubernetes
#                       does (YAML 1.1).  This is also 3-9x faster than ruamel's resolver.
#   descend_resolver -- called before every node: counts nesting depth and nodes, and stops
#                       the composer long before its C recursion could overflow the stack
#                       (100,000 levels of `[` segfault it) or a document could fill memory.
# libyaml stops a stream at its first error; compose_documents resumes at the next document
# marker, so one broken document never hides the others.

MAX_NODES = 1_000_000  # per document; the largest CRDs have ~50,000, 1M nodes is ~400 MB
MAX_ERRORS = 100  # per file: past this, the rest of a hopeless file is not worth the time

_BREAKS = "\r\n\x85\u2028\u2029"  # libyaml's line break characters ("\r\n" counts once)
_MARKER = re.compile(r"(?:^|(?<=[\r\x85\u2028\u2029]))(?:---|\.\.\.)(?=[ \t\r\n\x85\u2028\u2029]|\Z)", re.M)


@dataclass
class Mark:
    """A position in the whole file (0-based, like ruamel's marks)."""
    line: int
    column: int
    index: int = 0
    name: str = ""


class YamlError(Exception):
    """A document that could not be composed.  Shaped like ruamel's MarkedYAMLError
    (`problem`, `problem_mark`), with the mark counted from the start of the file.
    `syntax` is False for documents refused for their size rather than their syntax."""

    def __init__(self, problem: str, mark: Mark | None = None, syntax: bool = True):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark
        self.context = None
        self.context_mark = None
        self.syntax = syntax


class _Limit(Exception):
    def __init__(self, problem: str, node: Any):
        super().__init__(problem)
        self.problem = problem
        self.node = node


def _composer_class():
    from _ruamel_yaml import CParser
    from ruamel.yaml.nodes import MappingNode, ScalarNode
    from ruamel.yaml.tag import Tag

    from kubelint_cc import yamltree

    # One shared Tag object per implicit tag: ruamel's Node would build one per node.
    plain, merge, string, mapping, sequence = (Tag(suffix=t) for t in (
        yamltree.PLAIN_TAG, yamltree.MERGE_TAG, yamltree.STR_TAG, yamltree.MAP_TAG, yamltree.SEQ_TAG))

    depth_limit = yamltree.MAX_DEPTH + 1  # the root is at depth 1 here, 0 in yamltree

    class Composer(CParser):
        depth = 0
        nodes = 0

        def resolve(self, kind, value, implicit):
            if kind is ScalarNode:
                if not implicit[0]:
                    return string  # quoted or block scalar: always a string
                return merge if value == "<<" else plain
            return mapping if kind is MappingNode else sequence

        def descend_resolver(self, parent, index):
            self.depth += 1
            self.nodes += 1
            if self.depth > depth_limit:
                raise _Limit(f"nesting deeper than {yamltree.MAX_DEPTH} levels", parent)
            if self.nodes > MAX_NODES:
                raise _Limit(f"document too large: more than {MAX_NODES:,} YAML nodes "
                             "(no Kubernetes object comes near this)", parent)

        def ascend_resolver(self):
            self.depth -= 1

    return Composer


_COMPOSER = None


def composer():
    """The composer class, built on first use (it imports the C parser)."""
    global _COMPOSER
    if _COMPOSER is None:
        _COMPOSER = _composer_class()
    return _COMPOSER


class _Tail:
    """text[pos:end], read in chunks (no copy of the rest of a big file)."""

    def __init__(self, text: str, pos: int, end: int):
        self.text, self.pos, self.end = text, pos, end

    def read(self, size: int = -1) -> str:
        end = self.end if size is None or size < 0 else min(self.pos + size, self.end)
        piece = self.text[self.pos:end]
        self.pos += len(piece)
        return piece


def compose_documents(text: str, errors: list | None = None, wanted=None, skimmed: list | None = None) -> Iterator[Any]:
    """Root nodes of every document, in order, with marks counted from the start of the file.

    With `errors` (a list), a document that cannot be composed adds a YamlError to it and
    composing resumes at the next `---` or `...` line, so the documents after a broken one
    are still returned.  Without it, the first error is raised (after the documents before it).

    With `wanted` ((kind, apiVersion or None) -> bool), a document whose kind can be read
    from its text and is not wanted comes back as an empty document instead (see `skim`),
    and its kind is appended to `skimmed` when that is a list."""
    composer()
    if text.startswith("\ufeff"):
        text = text[1:]  # libyaml skips a BOM without counting it: keep character offsets in step
    if wanted is not None:
        text = skim(text, wanted, skimmed)
    return _Stream(text, errors).compose(0, len(text), 0)


# -- skimming: documents the rules never read are not composed -----------------------------
#
# Most of a real repository's bytes are CustomResourceDefinitions and other objects no rule
# reads, and building their node trees is most of the cost of a scan.  A document that is
# plainly a block mapping at column 0, whose `kind:` (and `apiVersion:`) lines name an
# object nobody wants, and that libyaml's parser accepts (in C, building nothing) is
# replaced by as many line breaks as it had: libyaml reads an empty document, and every
# later line keeps its number.
# Whatever looks unusual (quoted or complex keys, content on the `---` line, a quote or
# bracket before the `kind:` line, line breaks other than CR/LF) keeps the document, and so
# does an anchor or alias: the composer checks that each is defined once.  So skimming never
# changes a verdict: a skimmed document could only have failed validate.document's checks,
# and those read the same `kind` and `apiVersion` lines as here.  It is held to MAX_DEPTH
# like a composed one (_parses_shallow); MAX_NODES protects the composer's memory, which a
# skimmed document never uses.

# Patterns that start with a literal "\n" are searched for with memchr-like speed, unlike "^" with re.M.
_COLUMN0 = re.compile(r"\n([^ \t\r\n#][^\r\n]*)")  # non-blank, non-comment lines at column 0
_KEY_LINE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*[ \t]*:(?:[ \t]|$)")
_ID_LINE = re.compile(r"(kind|apiVersion)[ \t]*:[ \t]+(?:\"([^\"\\]+)\"|'([^']+)'|([A-Za-z0-9][A-Za-z0-9_.\-/]*))"
                      r"[ \t]*(?:#.*)?\r?$")
_OPENER = re.compile(r"[\"'\[{]")
# An `&` or `*` that could start an anchor or alias: followed by a name character, and not
# right after a word character or a dot (`a*b`, `a&&b`, `*.example.com` after a word), where
# no node can start.  The look-behind after the literal keeps the search at C speed.
# One pattern per sigil: a literal is searched for ten times faster than a class.
_SIGILS = tuple(re.compile(r"%s(?<![\w.]%s)(?=[^ \t\r\n,\[\]{}])" % (c, c)) for c in (r"\*", "&"))
_SKIM_MARKER = re.compile(r"\n(?:---|\.\.\.)(?=[ \t\r\n]|\Z)")  # _MARKER, when lines end in \n only


def skim(text: str, wanted, skimmed: list | None = None) -> str:
    """`text` with the documents that cannot interest the rules emptied, or `text` itself;
    the kind of each emptied document is appended to `skimmed`."""
    if "\x85" in text or "\u2028" in text or "\u2029" in text or text.count("\r") != text.count("\r\n"):
        return text  # line breaks libyaml counts that the arithmetic here does not
    bounds = [0] + [m.start() + 1 for m in _SKIM_MARKER.finditer(text)] + [len(text)]
    out, last = [], 0
    for start, end in zip(bounds, bounds[1:]):
        body = _skippable(text, start, end, wanted, skimmed)
        if body is None:
            continue
        breaks = text.count("\n", body, end)
        # Without a `---` line an empty document would be no document at all: `~` keeps one.
        out += (text[last:body], "\n" * breaks if body > start else "~" + "\n" * breaks)
        last = end
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def _skippable(text: str, start: int, end: int, wanted, skimmed: list | None = None) -> int | None:
    """Where the body of the document text[start:end] starts, if it can be skimmed."""
    if text.startswith("...", start):
        return None
    body = start
    if text.startswith("---", start):
        body = text.find("\n", start, end) + 1
        rest = text[start + 3:body].strip()
        if not body or rest and not rest.startswith("#"):
            return None  # a tag, anchor or node on the marker line
    ids: dict[str, str] = {}
    kind_at, keys = body, 0
    for at, line in _column0_lines(text, body, end):
        if not _KEY_LINE.match(line):
            return None  # a list, a scalar, a quoted or complex key: not plainly a mapping
        keys += 1
        if line.startswith(("kind", "apiVersion")):
            ident = _ID_LINE.fullmatch(line)
            if ident is None:
                if line.startswith(("kind:", "kind ", "apiVersion:", "apiVersion ")):
                    return None  # an unusual value: the composer and validate.document judge it
                continue  # another key (kindness:, apiVersions:)
            if ident.group(1) in ids:
                return None  # a duplicate key
            value = ident.group(2) or ident.group(3) or ident.group(4)
            if ident.group(4) is not None:
                from kubelint_cc.yamltree import typed
                if not isinstance(typed(value), str):
                    return None  # a plain value that YAML types as a number, bool or null
            ids[ident.group(1)] = value
            if ident.group(1) == "kind":
                kind_at = at
    kind = ids.get("kind")
    if kind is None:
        # Neither kind nor apiVersion at column 0: not Kubernetes (Helm values, a workflow),
        # which validate.document skips.  Only checked to be YAML, like a skimmed object.
        if ids or not keys:
            return None  # apiVersion alone is an error to report; no key at all, no mapping
    elif wanted(kind, ids.get("apiVersion")) or _opened(text, body, kind_at):
        return None
    if not _parses_shallow(_without_nodes_at_sigils(text[start:end])):
        return None  # broken, too deep, or with an anchor or alias: composed
    if skimmed is not None and kind is not None:
        skimmed.append(kind)
    return body


def _parses_shallow(doc: str) -> bool:
    """Whether libyaml's parser accepts `doc` and it nests no deeper than the composer allows.

    Skimming must not let a document escape the nesting limit, and libyaml's parser alone
    has none: it also takes quadratic time on deep flow nesting (80,000 `[` took 79 s).
    Most documents are provably shallow from two counts made at C speed: every flow
    collection starts with a `[` or `{` (all of them are counted, or when there are many,
    those where a node can start: _flow_starts, which counts some in scalars too and so only
    makes the bound higher), and a block collection at column c is at most 2c + 2 deep (a sequence may sit at
    its key's column, then the next level is at least one column further), where c is
    within a line's run of blanks and `-`, `?`, `:` indicators.  A node sits at most one
    level below its collection.  Those are parsed in one C call; the rare rest is parsed
    event by event, stopping at the first node past the limit."""
    from _ruamel_yaml import CParser
    limit = _depth_limit()
    flow = doc.count("[") + doc.count("{")
    if flow > limit // 2:
        flow = _flow_starts(doc)  # brackets in descriptions ("see [RFC 1123]") do not count
    room = (limit - 3 - flow) // 2  # block columns that keep flow + 2c + 2 + 1 within the limit
    if room >= 0 and _indicator_run(room + 1).search(doc) is None:
        try:
            CParser(doc).raw_parse()
        except Exception:  # noqa: BLE001 - any parse error
            return False
        return True
    from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent, StreamEndEvent
    parser, depth = CParser(doc), 0
    try:
        while True:
            event = parser.get_event()
            if event is None or isinstance(event, StreamEndEvent):
                return True
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > limit:
                    return False
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
            elif depth + 1 > limit:  # a scalar or alias, one level below its collection
                return False
    except Exception:  # noqa: BLE001 - any parse error
        return False


def _flow_starts(doc: str) -> int:
    """At least as many as the flow collections in `doc` (the bound _parses_shallow needs):
    the `[` and `{` where a node can start, not the `[` of "see [RFC 1123]" in a description.
    Found with str.find: a regex searching for a character class runs at a tenth of its speed."""
    n = 0
    for opener in "[{":
        at = doc.find(opener)
        while at >= 0:
            n += _node_can_start(doc, at)
            at = doc.find(opener, at + 1)
    return n


def _node_can_start(doc: str, at: int) -> bool:
    """Whether a node can start at doc[at]: at a line's content, right after an indicator
    (`:`, `-`, `?`, `,`, `[`, `{`), or after one or a tag or anchor and blanks.  When in
    doubt, it can.  Each call walks back over the blanks and the word before `at` only, and
    those belong to no other opener: all calls for a document take linear time."""
    j = at - 1
    while j >= 0 and doc[j] in " \t":
        j -= 1
    if j < 0 or doc[j] in "\r\n:-?,[{":
        return True
    if j == at - 1:
        return False  # right after a scalar's character
    before = doc[max(0, j - 256):j + 1]
    blank = max(before.rfind(" "), before.rfind("\t"), before.rfind("\n"), before.rfind("\r"))
    if blank < 0 and j >= 256:
        return True  # a long word: in doubt
    return before.startswith(("!", "&", "%"), blank + 1)  # a tag or an anchor (% below)


def _depth_limit() -> int:
    from kubelint_cc import yamltree
    return yamltree.MAX_DEPTH + 1  # as the composer counts: the root is at depth 1


def _indicator_run(n: int):
    """A line that starts with at least n blanks and block indicators."""
    return re.compile(r"\n[ \t?:-]{%d}" % n)


def _without_nodes_at_sigils(doc: str) -> str:
    """`doc` with every `&` and `*` that might start an anchor or alias made a `%`.

    No node can start with `%` (a plain scalar may not, and there is no other use for it
    there), while inside a scalar or a comment it is as good a character as `&` or `*`.
    So libyaml parses the result if and only if `doc` parses with no anchor or alias in it:
    one more C-speed parse tells an alias from the `*` of a sentence in a description,
    which a regex cannot when the sentence starts a line of a block scalar."""
    for sigil, pattern in zip("*&", _SIGILS):
        if sigil in doc:
            doc = pattern.sub("%", doc)
    return doc


def _opened(text: str, start: int, end: int) -> bool:
    """Whether a quote or bracket outside comment lines comes before `end`: the `kind:` line
    there might then be a line of a multi-line string, which libyaml lets start at column 0."""
    pos = start
    while True:
        m = _OPENER.search(text, pos, end)
        if m is None:
            return False
        line = text.rfind("\n", pos, m.start()) + 1 or pos  # pos is always at a line's start
        if not text[line:m.start()].lstrip().startswith("#"):
            return True
        pos = text.find("\n", m.start(), end) + 1 or end  # the rest of a comment line is comment


def _column0_lines(text: str, body: int, end: int) -> Iterator[tuple[int, str]]:
    if body == 0:  # the first line of the file has no line break before it
        first = _COLUMN0.match("\n" + text[:text.find("\n") + 1 or len(text)])
        if first:
            yield 0, first.group(1)
    for m in _COLUMN0.finditer(text, body - 1 if body else 0, end):
        yield m.start(1), m.group(1)


class _Stream:
    """One file being composed: resumes after errors, and remembers its document markers."""

    def __init__(self, text: str, errors: list | None):
        self.text = text
        self.errors = errors
        self.markers: tuple | None = None  # (offsets, lines), found on the first error only: the good path never pays
        self.ascii_only = True
        self.end: Mark | None = None  # where the text ends, trailing line breaks aside
        self.failures = 0

    def _learn(self) -> None:
        """What error handling needs to know about the whole text, worked out once."""
        text = self.text
        self.ascii_only = text.isascii()
        self.markers = _markers(text, self.ascii_only)
        end = len(text)
        while end and text[end - 1] in _BREAKS:
            end -= 1
        self.end = _mark_at(text, 0, 0, end, self.ascii_only)

    def compose(self, pos: int, end: int, line: int) -> Iterator[Any]:
        """Documents of text[pos:end], which starts on line `line` of the file."""
        text = self.text
        while True:
            source = text if pos == 0 and end == len(text) else _Tail(text, pos, end)
            parser = _COMPOSER(source)
            done, done_line = pos, line  # where the documents yielded so far end
            try:
                while parser.check_node():
                    parser.nodes = parser.depth = 0
                    node = parser.get_node()
                    if pos:
                        _shift(node, line, pos)
                    done, done_line = node.end_mark.index, node.end_mark.line
                    yield node
                return
            except Exception as e:  # ruamel raises many classes; each becomes a YamlError with a mark
                if self.markers is None:
                    self._learn()
                error = self._error(e, pos, line)
                read_ahead = getattr(e, "position", None) is not None  # a ReaderError
            if self.errors is None:
                raise error
            if read_ahead:
                # libyaml checks characters a buffer ahead: documents before the bad one were never
                # parsed.  Compose them on their own, up to the marker that starts the bad one.
                cut = self._start_of(error.problem_mark, done)
                if cut is not None and cut <= error.problem_mark.index:  # the bad character lies past `cut`
                    yield from self.compose(done, cut, done_line)
            self._record(error)
            resume = _resume_point(self.markers, error.problem_mark, pos)
            if resume is None or resume[0] >= end:
                return
            self.failures += 1
            if self.failures >= MAX_ERRORS:
                self._record(YamlError(f"more than {MAX_ERRORS} broken documents: the rest of the file is not "
                                       "checked", Mark(resume[1], 0, resume[0]), syntax=False))
                return
            pos, line = resume

    def _error(self, e: Exception, pos: int, line: int) -> YamlError:
        error = _convert_error(e, self.text, pos, line, self.ascii_only)
        mark = error.problem_mark
        if mark is not None and (mark.line, mark.column) > (self.end.line, self.end.column):
            # libyaml places an error at the end of the input after the last line break, on a
            # line editors do not show: point just past the last character instead.
            error.problem_mark = self.end
        return error

    def _record(self, error: YamlError) -> None:
        last = self.errors[-1] if self.errors else None
        if last is None or (last.problem, last.problem_mark) != (error.problem, error.problem_mark):
            self.errors.append(error)

    def _start_of(self, mark: Mark | None, after: int) -> int | None:
        """Offset of the marker that starts the document holding `mark`, if it is past `after`."""
        if mark is None:
            return None
        offsets, lines = self.markers
        i = bisect.bisect_right(lines, mark.line) - 1  # the last marker on or before the mark's line
        return offsets[i] if i >= 0 and offsets[i] > after else None


def _markers(text: str, ascii_only: bool) -> tuple[array, array]:
    """(offsets, lines) of every `---` / `...` line: the places a broken stream can resume.
    Both ascend, so lookups bisect (one scan per error made 100 errors after a million
    markers take minutes); arrays of machine integers take 16 bytes a marker, not 120."""
    offsets, lines = array("q"), array("q")
    last, line = 0, 0
    for m in _MARKER.finditer(text):
        line += _count_breaks(text, last, m.start(), ascii_only)
        last = m.start()
        offsets.append(last)
        lines.append(line)
    return offsets, lines


def _count_breaks(text: str, start: int, end: int, ascii_only: bool = False) -> int:
    n = text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)
    if not ascii_only:
        n += sum(text.count(c, start, end) for c in "\x85\u2028\u2029")
    return n


def _resume_point(markers: tuple, mark: Mark | None, pos: int) -> tuple[int, int] | None:
    """The first document marker after an error: on the error's line when the error is the
    marker itself (a document cut short by the next one), else on a later line."""
    if mark is None:
        return None
    offsets, lines = markers
    after_pos = bisect.bisect_right(offsets, pos)
    on_line = (bisect.bisect_left if mark.column == 0 else bisect.bisect_right)(lines, mark.line)
    i = max(after_pos, on_line)
    return (offsets[i], lines[i]) if i < len(offsets) else None


def _convert_error(e: Exception, text: str, pos: int, line: int, ascii_only: bool) -> YamlError:
    if isinstance(e, _Limit):
        m = getattr(e.node, "start_mark", None)
        return YamlError(e.problem, _mark(m, line, pos) if m is not None else Mark(line, 0, pos), syntax=False)
    if isinstance(e, YamlError):
        return e
    problem = getattr(e, "problem", None) or _first_line(e)
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    if mark is not None:
        where = _mark(mark, line, pos)
        context, context_mark = getattr(e, "context", None), getattr(e, "context_mark", None)
        start = _mark(context_mark, line, pos) if context_mark is not None else None
        if problem == "second occurrence":  # libyaml: an anchor defined twice
            name = re.match(r"&([^\s,\[\]{}]*)", text[where.index:where.index + 200])
            return YamlError(f"anchor &{name.group(1) if name else '?'} is defined twice"
                             + (f" (first at line {start.line + 1}, column {start.column + 1})" if start else "")
                             + "; YAML allows redefining an anchor but this linter cannot read the document", where)
        if problem == "found character that cannot start any token" and text[where.index:where.index + 1] == "\t":
            return YamlError("found a tab character where YAML needs spaces (indentation must not use tabs)", where)
        if context and context != problem:
            elsewhere = start is not None and (start.line, start.column) != (where.line, where.column)
            started = f" started at line {start.line + 1}, column {start.column + 1}" if elsewhere else ""
            problem += f" ({context}{started})"
        return YamlError(problem, where)
    position = getattr(e, "position", None)  # ReaderError: a character libyaml refuses
    if isinstance(position, int):
        # libyaml counts this one in bytes of UTF-8 from the start of the run, not in characters.
        chars = len(text[pos:pos + position].encode("utf-8")[:position].decode("utf-8", "ignore"))
        where = _mark_at(text, pos, line, chars, ascii_only)
        if text[where.index:where.index + 1] == INVALID_UTF8:
            return YamlError("not valid UTF-8: a byte here is not UTF-8 text (another encoding?)", where, syntax=False)
        reason = getattr(e, "reason", None) or "unacceptable character"
        char = getattr(e, "character", None)
        what = f"#x{char:04x}" if isinstance(char, int) else repr(char)
        return YamlError(f"unacceptable character {what} ({reason})", where)
    return YamlError(_first_line(e), None)


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _mark(m: Any, line: int, pos: int) -> Mark:
    """A ruamel mark of the run that started at (pos, line), counted from the file's start."""
    column = m.column
    return Mark(m.line + line, column, m.index + pos)


def _mark_at(text: str, pos: int, line: int, index: int, ascii_only: bool) -> Mark:
    """The mark of character `index` of the run that started at (pos, line)."""
    at = pos + index
    start = max(text.rfind(c, 0, at) for c in ("\n\r" if ascii_only else _BREAKS)) + 1
    return Mark(line + _count_breaks(text, pos, at, ascii_only), at - start, at)


def _shift(root: Any, lines: int, chars: int) -> None:
    """Moves every mark of a document composed from the middle of the file into whole-file terms."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        node.start_mark = _mark(node.start_mark, lines, chars)
        if node.end_mark is not None:
            node.end_mark = _mark(node.end_mark, lines, chars)
        value = node.value
        if isinstance(value, list):
            for item in value:
                if isinstance(item, tuple):
                    stack.extend(item)
                else:
                    stack.append(item)
