"""GitHub Actions workflow commands: one `::error|warning|notice ...::message` line per
finding and input error, which the runner turns into annotations on the pull request (for
repositories that cannot upload SARIF to code scanning).

Escaping follows the runner (actions/runner ActionCommand.cs): in the message `%`, CR and
LF; in properties also `:` and `,`.  Paths are relative to the repository root, as
annotations need.  Suppressed and baseline-accepted findings are left out.
"""
from __future__ import annotations

from kubelint_cc.reporters import object_text, summary

COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}\n"


def render(result, stream) -> None:
    from kubelint_cc import catalog
    from kubelint_cc.engine import repo_relative
    titles = {r.id: r.title for r in catalog.rules()}
    for f in result.findings:
        if not f.counts():
            continue
        where = f" ({object_text(f.object)})" if object_text(f.object) else ""
        stream.write(command(COMMAND.get(f.severity, "error"), f.message + where, file=repo_relative(f.file),
                             line=f.line, col=f.column,
                             title=f"kubelint-cc {f.rule}: {titles.get(f.rule, f.control or f.rule)}"))
    for e in result.errors:
        stream.write(command("error", e.message, file=repo_relative(e.file), line=e.line, col=e.column,
                             title="kubelint-cc: input error"))
    s = summary(result)
    stream.write(f"kubelint-cc: {s['findings']} finding{'s' if s['findings'] != 1 else ''}, "
                 f"{s['suppressed']} suppressed, {s['errors']} input error{'s' if s['errors'] != 1 else ''} "
                 f"in {s['files']} file{'s' if s['files'] != 1 else ''}\n")
