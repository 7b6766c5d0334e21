"""Files, directories and stdin -> YAML documents (root nodes with marks), or load errors.

Nothing here raises for bad input: every problem becomes a LoadError with the file
and, where there is one, the line and column.
"""
from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from typing import Any, Iterator

EXTENSIONS = (".yaml", ".yml", ".json")
MAX_FILE_BYTES = 64 * 1024 * 1024  # far above any manifest; keeps a stray dump from eating memory
STDIN = "-"


@dataclass
class LoadError:
    file: str
    message: str
    line: int | None = None
    column: int | None = None

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "message": self.message}


@dataclass
class Source:
    """One input: a path to read, or stdin's bytes."""
    name: str
    data: bytes | None = None


def discover(paths: list[str], errors: list[LoadError], exclude=None) -> Iterator[Source]:
    """Yields sources in a stable order.  Directories recurse (skipping .git and other
    dot-directories), symlinked directories are not followed into loops, and only
    regular files are ever opened: FIFOs and devices are reported, never read."""
    seen_dirs: set[tuple[int, int]] = set()
    for path in paths or ["."]:
        if path == STDIN:
            yield Source(STDIN)
            continue
        try:
            st = os.stat(path)
        except FileNotFoundError:
            errors.append(LoadError(path, "no such file or directory"))
            continue
        except OSError as e:
            errors.append(LoadError(path, _os_message(e)))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(path, errors, seen_dirs, exclude)
        elif stat.S_ISREG(st.st_mode):
            if not (exclude and exclude(path)):
                yield Source(path)
        else:
            errors.append(LoadError(path, "not a regular file (FIFO, socket or device): not read"))


def _walk(top: str, errors: list[LoadError], seen: set, exclude) -> Iterator[Source]:
    try:
        st = os.stat(top)
    except OSError as e:
        errors.append(LoadError(top, _os_message(e)))
        return
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return  # a symlink loop or a second link to a directory already scanned
    seen.add(key)
    try:
        with os.scandir(top) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        errors.append(LoadError(top, _os_message(e)))
        return
    for entry in entries:
        path = os.path.join(top, entry.name) if top != "." else entry.name
        if exclude and exclude(path):
            continue
        try:
            is_dir = entry.is_dir()  # follows symlinks; loops are cut by `seen`
            is_file = entry.is_file()
        except OSError as e:
            errors.append(LoadError(path, _os_message(e)))
            continue
        if is_dir:
            if not entry.name.startswith("."):
                yield from _walk(path, errors, seen, exclude)
        elif entry.name.endswith(EXTENSIONS):
            if is_file:
                yield Source(path)
            elif entry.is_symlink() and not os.path.exists(path):
                errors.append(LoadError(path, "broken symbolic link"))
            else:
                errors.append(LoadError(path, "not a regular file (FIFO, socket or device): not read"))


def read_bytes(source: Source, stdin: Any = None) -> bytes:
    if source.data is not None:
        return source.data
    if source.name == STDIN:
        stream = stdin if stdin is not None else __import__("sys").stdin.buffer
        source.data = stream.read(MAX_FILE_BYTES + 1)
        data = source.data
    else:
        # O_NONBLOCK: a path swapped for a FIFO after discovery must not hang the scan.
        fd = os.open(source.name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError("not a regular file (FIFO, socket or device): not read")
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read(MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise OSError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB: not scanned")
    return data


def decode(data: bytes) -> str:
    """Text of a manifest.  YAML allows UTF-8, UTF-16 and UTF-32 (detected by BOM)."""
    for bom, codec in ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
                       (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le")):
        if data.startswith(bom):
            text = data.decode(codec)
            return text[1:] if text.startswith("\ufeff") else text
    if b"\x00" in data:
        raise UnicodeError(f"binary file (NUL byte at offset {data.index(0)})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UnicodeError(f"not valid UTF-8 (byte offset {e.start})") from None


def _os_message(e: OSError) -> str:
    if isinstance(e, PermissionError):
        return "permission denied"
    if isinstance(e, FileNotFoundError):
        return "no such file or directory (removed during the scan?)"
    return e.strerror or str(e)


def os_message(e: OSError) -> str:
    return _os_message(e)


def compose_documents(text: str) -> Iterator[Any]:
    """Root nodes of every document, in order.  Raises ruamel's MarkedYAMLError subclasses
    on a syntax error; documents before the error have already been yielded."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=False)
    yield from yaml.compose_all(io.StringIO(text))
