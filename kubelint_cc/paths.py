"""Where a repository ends, and whether a path stays inside it.

A pull request can add symbolic links.  One that leads out of the repository could make
the scan read (and quote) files of the machine it runs on, walk the whole filesystem
(`root.d -> /`), or make a write land outside.  Everything here works on real paths
(os.path.realpath), so `..`, nested links and link chains are all judged by where they
finally lead.
"""
from __future__ import annotations

import os

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


def boundary(path: str) -> str:
    """The real directory that a scan of `path` must stay in: its repository's top, else the
    directory itself (or, for a file, the directory holding it)."""
    absolute = os.path.abspath(path)
    start = absolute if os.path.isdir(absolute) and not os.path.islink(absolute) else os.path.dirname(absolute)
    root = repo_root(start)
    if root is None:
        root = absolute if os.path.isdir(absolute) else os.path.dirname(absolute)
    return os.path.realpath(root)


def within(path: str, root: str) -> bool:
    """Whether `path`, once every link in it is resolved, is `root` (a real path) or under it."""
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)
