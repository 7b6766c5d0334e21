"""Where a repository ends, and whether a path stays inside it.

A pull request can add symbolic links.  One that leads out of the repository could make
the scan read (and quote) files of the machine it runs on, walk the whole filesystem
(`root.d -> /`), or make a write land outside.  Everything here works on real paths
(os.path.realpath), so `..`, nested links and link chains are all judged by where they
finally lead.
"""
from __future__ import annotations

import errno
import os
import stat

OUTSIDE = ("symbolic link leading outside the repository (or, outside a repository, the scanned "
           "directory): not followed (--follow-external-symlinks follows it)")


def repo_root(start: str) -> str | None:
    """The nearest directory at or above `start` that holds `.git` (a directory, or a file
    in worktrees and submodules), found by name: a directory reached through a symbolic link
    is not taken for the top, so a link to another checkout cannot widen the boundary."""
    here = os.path.abspath(start)
    while True:
        if os.path.lexists(os.path.join(here, ".git")) and not os.path.islink(here):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def boundary(path: str) -> str | None:
    """The real path of the repository holding `path` (not following a link at its end), or
    None outside any repository.  Links planted by a pull request exist only inside one: a
    path named outside a repository (`/dev/stdin`, a link in one's home directory) is the
    user's own, and is followed."""
    absolute = os.path.abspath(path)
    start = absolute if os.path.isdir(absolute) and not os.path.islink(absolute) else os.path.dirname(absolute)
    root = repo_root(start)
    return os.path.realpath(root) if root is not None else None


def within(path: str, root: str) -> bool:
    """Whether `path`, once every link in it is resolved, is `root` (a real path) or under it."""
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


WRITE_OUTSIDE = "symbolic link leading outside the repository: not written"


def write_target(path: str) -> str:
    """The real path to write `path` at.  A pull request can plant a link where a report or
    baseline goes (`kubelint-cc.sarif -> ~/.bashrc`): a link out of the repository holding
    the directory of `path` is refused."""
    real = os.path.realpath(path)
    root = boundary(os.path.dirname(os.path.abspath(path)))
    if root is not None and not within(real, root):
        raise OSError(errno.EPERM, WRITE_OUTSIDE)
    return real


def _new_file_mode(real: str) -> int:
    """The mode the file keeps (if it exists) or would get from open() (mkstemp's is 0600)."""
    try:
        return os.stat(real).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_bytes(path: str, data: bytes) -> None:
    """Writes `data` at `path`'s real path, atomically: a temporary file in the same
    directory, renamed over the target, so a reader (or a crash) never sees half a file."""
    import tempfile  # here, not at the top: it costs every run a few ms of imports (random, shutil)
    real = write_target(path)
    fd, tmp = tempfile.mkstemp(prefix=".kubelint-cc-", suffix=".tmp", dir=os.path.dirname(real))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _new_file_mode(real))
        os.replace(tmp, real)
    except BaseException:
        _unlink(tmp)
        raise


def open_text(path: str):
    """A text stream that becomes `path` when closed (see write_bytes).  A character device
    or FIFO (`-o /dev/stdout`) is opened as it is: there is no file to replace."""
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None and (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        return open(path, "w", encoding="utf-8", errors="backslashreplace")
    real = write_target(path)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory")
    return _AtomicText(real)


class _AtomicText:
    def __init__(self, real: str):
        import tempfile
        self.real = real
        fd, self.tmp = tempfile.mkstemp(prefix=".kubelint-cc-", suffix=".tmp", dir=os.path.dirname(real))
        self.file = os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace")

    def __getattr__(self, name):
        return getattr(self.file, name)

    def isatty(self) -> bool:
        return False

    def discard(self) -> None:
        """Drops what was written: the target stays as it was."""
        if not self.file.closed:
            self.file.close()
            _unlink(self.tmp)

    def close(self) -> None:
        if self.file.closed:
            return
        try:
            self.file.close()
            os.chmod(self.tmp, _new_file_mode(self.real))
            os.replace(self.tmp, self.real)
        except BaseException:
            _unlink(self.tmp)
            raise


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


MAX_CONFIG_BYTES = 1024 * 1024  # a config or pyproject.toml is a few kB; anything near this is not one


def read_capped(path: str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.  Never blocks on a FIFO, and never
    reads more than `limit` + 1 bytes, whatever the file claims (a /proc file says size 0)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (FIFO, socket or device): not read")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"file too large (over {_size(limit)}): not read")
    return data


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"
