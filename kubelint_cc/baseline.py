"""Baselines: accept the findings a repository has today so that only new ones fail.

`scan --write-baseline FILE` records every unsuppressed finding by fingerprint (file,
object kind/namespace/name, control, rule and YAML path; never the line, so edits
elsewhere in a file do not break the match).  `scan --baseline FILE` marks each
finding "unchanged" (in the baseline: reported, but not counted for the exit code)
or "new", and counts the entries that matched nothing as stale.

File names are stored relative to the baseline file's directory, so a baseline
written from the repository root still matches when the scan runs from a
subdirectory, from CI's checkout path, or with absolute paths.  The same finding
can occur more than once (two identical objects in one file), so each entry has a
count and matches at most that many findings.
"""
from __future__ import annotations

import json
import os
from collections import Counter

from kubelint_cc.excerpt import excerpt

VERSION = 1
TOOL = "kubelint-cc"


class BaselineError(Exception):
    """The baseline file cannot be read, parsed or written; the message says which and why."""


def _file_key(name: str, base_dir: str) -> str:
    if name == "-":
        return name
    return os.path.relpath(os.path.abspath(name), base_dir).replace(os.sep, "/")


def _base_dir(path: str) -> str:
    return os.path.dirname(os.path.abspath(path))


def fingerprint(finding, base_dir: str) -> str:
    """The finding's fingerprint with its file named relative to base_dir."""
    return finding.fingerprint_with(_file_key(finding.file, base_dir))


def entries(result, base_dir: str) -> list[dict]:
    counts: Counter = Counter()
    info: dict[str, dict] = {}
    for f in result.findings:
        if f.suppressed is not None:
            continue  # already accepted, with a justification, in the manifest or the config
        fp = fingerprint(f, base_dir)
        counts[fp] += 1
        info.setdefault(fp, {"fingerprint": fp, "rule": f.rule, "control": f.control,
                             "file": _file_key(f.file, base_dir), "object": f.object, "path": f.path})
    out = [dict(info[fp], count=n) for fp, n in counts.items()]
    out.sort(key=lambda e: (e["file"], str(e["object"].get("kind")), str(e["object"].get("namespace")),
                            str(e["object"].get("name")), e["path"], e["rule"], e["fingerprint"]))
    return out


def write(path: str, result) -> int:
    """Records the result's findings in `path`; returns how many findings were recorded."""
    found = entries(result, _base_dir(path))
    doc = {"version": VERSION, "tool": TOOL, "findings": found}
    text = json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    from kubelint_cc import paths
    try:
        paths.write_bytes(path, text.encode("utf-8", "surrogateescape"))  # atomic, never out of the repository
    except OSError as e:
        raise BaselineError(f"cannot write baseline {path}: {e.strerror or e}") from None
    return sum(e["count"] for e in found)


def read(path: str) -> Counter:
    """(fingerprint -> count, fingerprint -> the files its entries name) from a baseline file."""
    from kubelint_cc import load, paths
    try:
        raw = paths.read_capped(path, load.MAX_FILE_BYTES)  # large repositories have large baselines
    except FileNotFoundError:
        raise BaselineError(f"{path}: baseline file not found (create it with --write-baseline {path})") from None
    except IsADirectoryError:
        raise BaselineError(f"{path}: is a directory, not a baseline file") from None
    except OSError as e:
        raise BaselineError(f"{path}: cannot read baseline: {e.strerror or e}") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise BaselineError(f"{path}: not a kubelint-cc baseline: not UTF-8 (byte offset {e.start})") from None
    except json.JSONDecodeError as e:
        raise BaselineError(f"{path}:{e.lineno}:{e.colno}: not a kubelint-cc baseline: invalid JSON: {e.msg}") from None
    except RecursionError:
        raise BaselineError(f"{path}: not a kubelint-cc baseline: nested too deeply") from None
    if not isinstance(doc, dict) or doc.get("tool") != TOOL or "findings" not in doc:
        raise BaselineError(f'{path}: not a kubelint-cc baseline (expected a JSON object with "tool": "{TOOL}", '
                            '"version" and "findings")')
    if doc.get("version") != VERSION:
        raise BaselineError(f"{path}: baseline version {excerpt(repr(doc.get('version')))} is not supported (this kubelint-cc "
                            f"reads version {VERSION}); write a new one with --write-baseline")
    if not isinstance(doc["findings"], list):
        raise BaselineError(f'{path}: "findings" must be a list')
    counts: Counter = Counter()
    files: dict[str, set] = {}
    for i, entry in enumerate(doc["findings"]):
        where = f"{path}: findings[{i}]"
        if not isinstance(entry, dict):
            raise BaselineError(f"{where}: must be an object")
        fp, n = entry.get("fingerprint"), entry.get("count", 1)
        if not isinstance(fp, str) or not fp:
            raise BaselineError(f'{where}: "fingerprint" must be a non-empty string')
        if type(n) is not int or n < 1:
            raise BaselineError(f'{where}: "count" must be a positive integer')
        counts[fp] += n
        if isinstance(entry.get("file"), str):
            files.setdefault(fp, set()).add(entry["file"])
    return counts, files


def apply(path: str, result) -> dict:
    """Marks each unsuppressed finding "unchanged" or "new" and sets result.baseline_stats."""
    base_dir = _base_dir(path)
    remaining, files = read(path)
    matched = new = 0
    for f in result.findings:
        if f.suppressed is not None:
            continue
        fp = fingerprint(f, base_dir)
        if remaining[fp] > 0:
            remaining[fp] -= 1
            f.baseline = "unchanged"
            matched += 1
        else:
            f.baseline = "new"
            new += 1
    # Entries for files this run did not read are out of scope (a pre-commit run on one
    # file must not call the rest of the baseline stale).
    scanned = {_file_key(name, base_dir) for name in getattr(result, "scanned", [])}
    stale = sum(n for fp, n in remaining.items()
                if n > 0 and (fp not in files or files[fp] & scanned))
    stats = {"file": path, "matched": matched, "new": new, "stale": stale}
    result.baseline_stats = stats
    return stats
