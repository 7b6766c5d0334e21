"""GitLab Code Quality (a subset of Code Climate's issue format): a JSON array of issues
with description, check_name, fingerprint, severity and location {path, lines.begin}
(https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format).

Paths are relative to the repository root.  Suppressed and baseline-accepted findings are
left out; input errors are `blocker` issues, since the scan of that input is incomplete.
"""
from __future__ import annotations

import hashlib
import json

from kubelint_cc.reporters import object_text

SEVERITY = {"error": "critical", "warning": "major", "note": "info"}


def _issue(check: str, description: str, path: str, line: int | None, severity: str, key: str) -> dict:
    return {"type": "issue", "check_name": check, "description": description,
            "categories": ["Security"], "severity": severity,
            "fingerprint": hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32],
            "location": {"path": path, "lines": {"begin": max(line or 1, 1)}}}


def render(result, stream) -> None:
    from kubelint_cc.engine import repo_relative
    issues, seen = [], set()
    for f in result.findings:
        if not f.counts():
            continue
        where = f" ({object_text(f.object)})" if object_text(f.object) else ""
        key = f.fingerprint
        while key in seen:  # GitLab shows one issue per fingerprint
            key += "+"
        seen.add(key)
        issues.append(_issue(f.rule, f"{f.rule}: {f.message}{where}", repo_relative(f.file), f.line,
                             SEVERITY.get(f.severity, "major"), key))
    for e in result.errors:
        path = repo_relative(e.file)
        issues.append(_issue("kubelint-cc-input-error", f"input error: {e.message}", path, e.line, "blocker",
                             "\0".join(str(x) for x in ("error", path, e.line, e.column, e.message))))
    json.dump(issues, stream, indent=1, ensure_ascii=False)
    stream.write("\n")
