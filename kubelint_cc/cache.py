"""The cache: what a scan found in a file, kept so that an unchanged file is not scanned again.

Where: `.kubelint-cc-cache/` beside the config file, else at the top of the git work tree
of the first scanned path, else in the current directory (`cache-dir` in the config moves
it; `--no-cache` turns it off).  It holds a `.gitignore` of `*`, so git never offers to
commit it, and a CACHEDIR.TAG, so backup tools skip it.

An entry is one file, named by a digest of everything its verdict depends on:
- file entries: the file's name and text, the settings that change findings (options and
  config), and the code (kubelint-cc's version and the digest of its installed files);
  the namespace labels read from other files are recorded *in* the entry (the policies
  it used) and compared with this run's on every hit, so a label changed elsewhere
  invalidates only the files with objects in that namespace;
- namespace entries: the labels learned from a file's Namespace objects (text and code);
- config entries: "this config file is valid" (its bytes, the schema and the code), so a
  run with a config does not import jsonschema.

Entries are never trusted as they are.  Each carries a MAC (keyed BLAKE2b) over its name
and contents, with a secret kept outside the repository (`~/.cache/kubelint-cc/secret`):
a truncated, garbled or stale entry fails the check and is rebuilt, and so does one that a
pull request committed to the repository (it could otherwise hide findings from CI, since
everything else in a key is public).  Writes go to a temporary file renamed into place, so
two runs sharing the cache never read half an entry; the cache is kept under MAX_BYTES by
deleting the least recently used entries.
"""
from __future__ import annotations

import os
import re
import sys

# CPython's own BLAKE2 and SHA-256: `import hashlib` loads OpenSSL first, which costs a
# one-file run a few milliseconds (5 % of what it must stay within).
try:
    from _blake2 import blake2b
except ImportError:  # another Python
    from hashlib import blake2b
try:
    from _sha256 import sha256  # Python 3.11
except ImportError:
    try:
        from _sha2 import sha256  # 3.12+
    except ImportError:
        from hashlib import sha256

NAME = ".kubelint-cc-cache"
MAGIC = b"kubelint-cc cache 1\n"  # format version: any other first line is not an entry
MAC_SIZE = 32
MAX_BYTES = 128 * 1024 * 1024  # all entries together; each bucket keeps its share, dropping the oldest
PENDING_BYTES = 16 * 1024 * 1024  # new entries kept before the buckets are written
BUCKETS = 64  # few enough that writing them is cheap, so a cold scan pays little for the cache
OURS = (".gitignore", "CACHEDIR.TAG")
ENTRY = re.compile(r"b-[0-9a-f]{2}(\.tmp-[0-9]+)?")  # a bucket, or one being written
CACHEDIR_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
                "# This file is a cache directory tag created by kubelint-cc.\n"
                "# For information about cache directory tags see https://bford.info/cachedir/\n")


def digest(*parts: bytes) -> bytes:
    h = blake2b(digest_size=20)
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))  # length-prefixed: no two part lists collide
        h.update(part)
    return h.digest()


def text_digest(text: str) -> bytes:
    # surrogatepass: UTF-16 input can decode to lone surrogates, which must hash too
    return blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()


def _code_files() -> list[str]:
    """Every file of the installed package (code, schema, rule files): a changed file is a
    changed kubelint-cc, even when the version number stays (a checkout being worked on)."""
    package = os.path.dirname(os.path.abspath(__file__))
    tops = [package]
    rules = os.path.join(os.path.dirname(package), "rules")  # a checkout: rules/ beside the package
    if not os.path.isdir(os.path.join(package, "rules")) and os.path.isdir(rules):
        tops.append(rules)
    out = []
    for top in tops:
        for directory, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            out += [os.path.join(directory, f) for f in sorted(files) if f.endswith((".py", ".json", ".toml"))]
    return out


def code_digest() -> bytes:
    """kubelint-cc's version, its files (by size and modification time: stat only, no
    reads), the Python and ruamel.yaml versions (they parse and report the YAML)."""
    import ruamel.yaml

    from kubelint_cc import __version__
    parts = [__version__.encode(), sys.version.encode(), repr(ruamel.yaml.version_info).encode()]
    for path in _code_files():
        try:
            st = os.stat(path)
        except OSError:
            continue
        parts.append(f"{path}\0{st.st_size}\0{st.st_mtime_ns}".encode("utf-8", "surrogateescape"))
    return digest(*parts)


def location(config_path: str | None, setting: str | None, paths: list[str]) -> str:
    """The cache directory: $KUBELINT_CC_CACHE_DIR, else `setting` (cache-dir, relative to
    the config file's directory), else .kubelint-cc-cache beside the config, else at the top
    of the first scanned path's git work tree, else in the current directory."""
    from kubelint_cc import paths as pathutil
    if os.environ.get("KUBELINT_CC_CACHE_DIR"):  # a CI job's cache step, a benchmark
        return os.path.abspath(os.environ["KUBELINT_CC_CACHE_DIR"])
    base = os.path.dirname(os.path.abspath(config_path)) if config_path else None
    if setting:
        return os.path.join(base or os.getcwd(), os.path.expanduser(setting))
    if base is None:
        start = next((p for p in paths if p != "-"), ".")
        start = os.path.abspath(start)
        base = pathutil.repo_root(start if os.path.isdir(start) else os.path.dirname(start)) or os.getcwd()
    return os.path.join(base, NAME)


def _secret() -> bytes | None:
    """The MAC key: 32 random bytes in the user's cache directory, made on first use."""
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(home, "kubelint-cc", "secret")
    try:
        with open(path, "rb") as f:
            key = f.read(64)
        if len(key) == 32:
            return key
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
        try:
            os.link(tmp, path)  # fails if another run made one first: theirs is kept, and read below
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
        with open(path, "rb") as f:
            key = f.read(64)
    except OSError:
        return None
    return key if len(key) == 32 else None


class Store:
    """One cache directory.  Entries live in BUCKETS files (by their key's first byte):
    creating a file costs this kind of filesystem 0.1-0.3 ms of CPU, so a file per entry
    cost a cold scan of 2,500 files up to a second; buckets are read when first needed and
    written back, merged with what is on disk by then, at flush().  Every method swallows
    OSError: a cache that cannot be read or written costs a rescan, never a failed run."""

    def __init__(self, directory: str, secret: bytes):
        self.directory = directory
        self.secret = secret
        self.code = code_digest()
        self.hits: list[str] = []  # names of files answered from the cache (in this process)
        self._buckets: dict[int, dict] = {}  # bucket -> {entry name: payload}, as read
        self._pending: dict[int, dict] = {}  # bucket -> {entry name: payload}, to write

    # -- entries
    def get(self, kind: str, key: bytes) -> bytes | None:
        pending = self._pending.get(key[0] % BUCKETS)
        name = kind.encode() + key
        if pending is not None and name in pending:
            return pending[name]
        return self._bucket(key[0] % BUCKETS).get(name)

    def put(self, kind: str, key: bytes, payload: bytes) -> None:
        self._pending.setdefault(key[0] % BUCKETS, {})[kind.encode() + key] = payload
        self._pending_bytes = getattr(self, "_pending_bytes", 0) + len(payload)
        if self._pending_bytes > PENDING_BYTES:  # a cold scan of a big tree: memory stays bounded
            self.flush()

    def forget(self) -> None:
        """Drops the buckets read so far (memory): a warm scan of a big tree has all of them."""
        self._buckets.clear()

    def _path(self, bucket: int) -> str:
        return os.path.join(self.directory, f"b-{bucket:02x}")

    def _bucket(self, bucket: int) -> dict:
        if bucket not in self._buckets:
            self._buckets[bucket] = self._read(bucket)
        return self._buckets[bucket]

    def _read(self, bucket: int) -> dict:
        """A bucket's entries; {} when it is missing, truncated, garbled or not ours."""
        import marshal
        try:
            with open(self._path(bucket), "rb") as f:
                data = f.read()
        except OSError:
            return {}
        head = len(MAGIC) + MAC_SIZE
        body = data[head:]
        if not data.startswith(MAGIC) or not _equal(data[len(MAGIC):head], self._mac(bucket, body)):
            return {}  # marshal is only ever given bytes this user's kubelint-cc wrote
        try:
            entries = marshal.loads(body)
        except (ValueError, TypeError, EOFError):
            return {}
        return entries if isinstance(entries, dict) else {}

    def flush(self) -> None:
        """Writes the buckets with new entries: what is on disk now (another run may have
        written since we read), plus ours, the oldest dropped past the bucket's share of
        MAX_BYTES; to a temporary file renamed into place, so no reader sees half a bucket.
        Two runs writing one bucket at once: the last one wins, the other's entries are lost
        (a miss next time), none is ever damaged."""
        import marshal
        pending, self._pending, self._pending_bytes = self._pending, {}, 0
        for bucket, new in pending.items():
            entries = self._read(bucket)
            for name in new:
                entries.pop(name, None)  # re-inserted last: the dict's order is the age
            entries.update(new)
            size = sum(len(k) + len(v) for k, v in entries.items())
            for name in list(entries):
                if size <= MAX_BYTES // BUCKETS:
                    break
                size -= len(name) + len(entries.pop(name))
            self._buckets[bucket] = entries
            body = marshal.dumps(entries)
            tmp = f"{self._path(bucket)}.tmp-{os.getpid()}"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                with os.fdopen(fd, "wb") as f:
                    f.write(MAGIC + self._mac(bucket, body) + body)
                os.replace(tmp, self._path(bucket))
            except OSError:
                _remove(tmp)

    def _mac(self, bucket: int, body: bytes) -> bytes:
        h = blake2b(key=self.secret, digest_size=MAC_SIZE)
        h.update(MAGIC + bytes([bucket]))  # a bucket copied under another name does not check out
        h.update(body)
        return h.digest()

    # -- keys
    def key(self, *parts: bytes) -> bytes:
        return digest(self.code, *parts)


def _equal(a: bytes, b: bytes) -> bool:
    # Not hmac.compare_digest (its import loads OpenSSL): a timing side channel needs an
    # attacker who can make one run compare many guesses, and a scan compares each bucket once.
    return a == b


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


_OPEN: dict[str, Store | None] = {}
_ACTIVE: list = []  # the store this run's scan uses (set by open_store), for memo()


def memo(name: bytes, build):
    """build(), kept in this run's cache (if any) for as long as kubelint-cc is unchanged:
    for values made from the package alone, such as the SARIF rule descriptors (parsing 68
    rule files and rendering their help costs a one-file run more than its scan).  The
    value must be marshal-able."""
    import marshal
    store = _ACTIVE[-1] if _ACTIVE else None
    if store is None:
        return build()
    key = store.key(b"memo", name)
    payload = store.get("m", key)
    if payload is not None:
        try:
            return marshal.loads(payload)
        except (ValueError, TypeError, EOFError):
            pass
    value = build()
    store.put("m", key, marshal.dumps(value))
    return value


def open_store(directory: str) -> Store | None:
    """The Store at `directory`, made if missing; None when it cannot be used: not a
    directory, a symbolic link (a pull request could point it anywhere), or a directory
    that holds other things than a kubelint-cc cache."""
    directory = os.path.abspath(directory)
    if directory not in _OPEN:
        _OPEN[directory] = _open(directory)
    _ACTIVE[:] = [_OPEN[directory]]
    return _OPEN[directory]


def _open(directory: str) -> Store | None:
    tag = os.path.join(directory, "CACHEDIR.TAG")
    try:
        if os.path.islink(directory):
            return None
        os.makedirs(directory, exist_ok=True)  # exist_ok: another run may be making it too
        if not os.path.isfile(tag):
            if not all(n in OURS or ENTRY.fullmatch(n) for n in os.listdir(directory)):
                return None  # someone else's directory: we would write (and prune) in it
            for name, text in ((".gitignore", "# Created by kubelint-cc: nothing here belongs in git.\n*\n"),
                               ("CACHEDIR.TAG", CACHEDIR_TAG)):
                with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
                    f.write(text)
    except OSError:
        return None
    secret = _secret()
    if secret is None:
        return None
    import atexit
    store = Store(directory, secret)
    atexit.register(store.flush)  # what a run learnt besides its scan (config verdict, memo)
    return store


# ---------------------------------------------------------------- what entries hold
#
# marshal, not JSON: it keeps tuples, ints and None exactly as they were, so a replayed
# finding is the same object a scan builds, and it is the fastest loader there is.  It is
# only ever given bytes whose MAC checked out (Store.get): bytes this user's kubelint-cc wrote.

MAX_FINDINGS = 2000  # a file with more is scanned every time: its findings are streamed, never held
FAILED_ANALYSIS = "kata-policy-analysis-failed"  # a timeout or memory limit on a busy machine: not kept
FAILED_RULE = "could not analyse"  # a rule that raised (a missing engine): not kept


# Options that only choose which files are read, or where the cache is: not in the key.
NOT_SETTINGS = ("config", "cache", "follow_external_symlinks", "gitignore")
NOT_CONFIG = ("path", "exclude", "cache_dir")


def settings_key(options, config) -> bytes:
    """The options and config settings that change what is found in a file: every option but
    those that choose files (NOT_SETTINGS) -- the level and version flags, the admission
    configuration's content (its defaults per mode and its exemptions), Helm values and sets
    -- and every config setting but where files are looked for and where the cache is
    (kyvernoExclude, namespaces, severities, selection, ...); the config file's path does not
    count either (two checkouts with the same config share verdicts).  Unknown or new fields
    are in the key unless listed above: a setting left out would replay stale findings."""
    import dataclasses
    opts = sorted((f.name, canonical(getattr(options, f.name))) for f in dataclasses.fields(options)
                  if f.name not in NOT_SETTINGS)
    fields = sorted((f.name, canonical(getattr(config, f.name))) for f in dataclasses.fields(config)
                    if f.name not in NOT_CONFIG)
    return repr((opts, fields)).encode("utf-8", "surrogatepass")


def canonical(value):
    """A value as plain, ordered data whose repr is the same in every run for equal values:
    dataclasses by their fields, sets sorted (their order changes with the hash seed)."""
    import dataclasses
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,
                tuple((f.name, canonical(getattr(value, f.name))) for f in dataclasses.fields(value)))
    if isinstance(value, dict):
        return ("dict", tuple(sorted(((repr(canonical(k)), canonical(v)) for k, v in value.items()),
                                     key=lambda kv: kv[0])))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(repr(canonical(v)) for v in value)))
    if isinstance(value, (list, tuple)):
        return tuple(canonical(v) for v in value)
    if value is None or isinstance(value, (str, bytes, int, float, bool)):
        return value
    if hasattr(value, "pattern"):  # a compiled regular expression
        return ("re", value.pattern, getattr(value, "flags", 0))
    text = repr(value)
    if " at 0x" in text:  # no stable form: a key that never matches, so never a stale hit
        return ("unstable", id(value), os.getpid(), os.urandom(8))
    return text


def dump_result(part, used: dict) -> bytes | None:
    """One file's result (engine.Result, findings kept) and the namespace policies it used;
    None when the result depends on more than the inputs of the key."""
    import marshal
    if len(part.findings) > MAX_FINDINGS:  # an entry past a bucket's share would be dropped at once
        return None
    if any(f.rule == FAILED_ANALYSIS for f in part.findings) or \
            any(e.message.startswith(FAILED_RULE) for e in part.errors):
        return None
    findings = tuple((f.rule, f.control, f.level, f.severity, f.message, f.file, f.line, f.column, f.path,
                      f.object, f.suppressed, f.extra, f.fix, f.rendered) for f in part.findings)
    errors = tuple((e.file, e.message, e.line, e.column) for e in part.errors)
    return marshal.dumps((tuple(sorted(used.items())), part.files, part.documents, part.objects,
                          tuple(part.scanned), errors, findings, tuple(part.warnings)))


def load_used(payload: bytes | None):
    """The namespace policies a cached result was judged by, or None (no usable entry):
    [(namespace, ((level, minor, mode), ...)), ...], every PSA mode that judged anything."""
    if payload is None:
        return None
    import marshal
    try:
        used = marshal.loads(payload)[0]
        return [(str(ns), tuple((str(level), int(minor), str(mode)) for level, minor, mode in policies))
                for ns, policies in used]
    except (ValueError, TypeError, EOFError, IndexError, KeyError):
        return None


def load_result(payload: bytes | None, name: str):
    """(namespace policies used, engine.Result) from dump_result's bytes, or None."""
    if payload is None:
        return None
    import marshal

    from kubelint_cc.engine import Finding, Result
    from kubelint_cc.load import LoadError
    try:
        used, files, documents, objects, scanned, errors, findings, warnings = marshal.loads(payload)
        part = Result(files=files, documents=documents, objects=objects, scanned=list(scanned),
                      warnings=list(warnings))
        part.errors = [LoadError(*e) for e in errors]
        part.findings = [Finding(rule, control, level, severity, message, file, line, column, path, obj,
                                 suppressed=suppressed, extra=extra, fix=fix, rendered=rendered)
                         for rule, control, level, severity, message, file, line, column, path, obj, suppressed,
                         extra, fix, rendered in findings]
    except (ValueError, TypeError, EOFError):  # a format this version does not read
        return None
    return used, part


def dump_namespaces(learned: list) -> bytes:
    import marshal
    return marshal.dumps(tuple(learned))


def load_namespaces(payload: bytes | None) -> list | None:
    """[(namespace, ((mode, level, minor), ...)), ...] from dump_namespaces's bytes, or None."""
    if payload is None:
        return None
    import marshal
    try:
        learned = marshal.loads(payload)
        return [(str(name), tuple((str(mode), str(level), int(minor)) for mode, level, minor in modes))
                for name, modes in learned]
    except (ValueError, TypeError, EOFError):
        return None
