"""Command line: `kubelint-cc scan | fix | rules`; the only layer that prints.

Modules are imported inside the commands: a pre-commit run on one file should pay
only for what it uses.
"""
from __future__ import annotations

import os
import sys

import click

from kubelint_cc import __version__
from kubelint_cc.engine import parse_version

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
SEVERITY_RANK = {"note": 0, "warning": 1, "error": 2}


def _version(ctx, param, value):
    if value is not None and parse_version(value) is None:
        raise click.BadParameter(f'{value!r}: expected "latest" or v1.N (e.g. v1.29)')
    return value


def _fail(message: str) -> None:
    click.echo(f"kubelint-cc: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kubelint-cc")
def cli():
    """Static linter for Kubernetes manifests: Pod Security Standards, Kata agent policy, runtime classes."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PATH]...")
@click.option("--pss-level", type=click.Choice(["baseline", "restricted"]), default=None,
              help="Pod Security Standards level (default: the namespace's enforce label, else config, else restricted).")
@click.option("--pss-version", callback=_version, default=None, metavar="v1.N|latest",
              help="Pod Security Standards version (default: the namespace's enforce-version label, else config, else latest).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to FILE instead of stdout.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file (default: .kubelint-cc.yaml or [tool.kubelint-cc] in pyproject.toml, found upward).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "never"]), default="warning", show_default=True,
              help="Lowest severity of an unsuppressed finding that makes the exit code 1.")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False), default=None,
              help="Report only findings not recorded in this baseline file.")
@click.option("--write-baseline", "write_baseline_path", type=click.Path(dir_okay=False), default=None,
              help="Record the current findings in this baseline file.")
@click.option("--fix", "do_fix", is_flag=True, help="Fix what can be fixed safely before scanning (see `fix`).")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix: also turn privileged: true into false (may break the workload).")
@click.option("--no-ignore", is_flag=True, help="Also scan what git ignores (.gitignore) in the directories walked.")
@click.option("--helm-values", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Values file for the Helm charts scanned (repeatable; after the chart's values.yaml).")
@click.option("--helm-set", multiple=True, metavar="KEY=VALUE",
              help="A value for the Helm charts scanned, as helm --set (repeatable).")
@click.option("--chart", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="The chart a `helm template` stream on stdin came from, to map findings to template lines.")
def scan(paths, pss_level, pss_version, fmt, output, config_path, fail_on, baseline_path, write_baseline_path,
         do_fix, unsafe_fixes, no_ignore, helm_values, helm_set, chart):
    """Scan files and directories (default: .); `-` reads stdin."""
    from kubelint_cc import config as config_mod
    from kubelint_cc.engine import Options, Scanner
    from kubelint_cc.progress import Progress

    paths = list(paths)
    try:
        cfg = config_mod.load_config(config_path, paths)
    except config_mod.ConfigError as e:
        _fail(str(e))
    options = Options(level=pss_level, version=pss_version, config=cfg, gitignore=not no_ignore,
                      helm_values=list(helm_values), helm_set=list(helm_set), chart=chart)
    if do_fix:
        from kubelint_cc import fix
        fix.fix_paths([p for p in paths if p != "-"] or ["."], write=True, unsafe=unsafe_fixes,
                      out=sys.stderr, exclude=cfg.exclude_matcher(), options=options, show_errors=False)
    if fmt != "sarif" and not (write_baseline_path or baseline_path):
        # Text and JSON are written while the scan runs, so memory does not grow with the repository.
        stream = _open_output(output)
        # Streamed JSON leaves the cursor mid-line: on the same terminal the bar would overwrite it.
        progress = Progress(None if fmt == "json" and stream.isatty() else sys.stderr)
        try:
            if fmt == "json":
                from kubelint_cc.reporters import json_report
                sink = json_report.Stream(stream)
            else:
                from kubelint_cc.reporters import text
                sink = text.Stream(stream, colour=stream.isatty() and "NO_COLOR" not in os.environ)
            try:
                result = Scanner(options).scan(paths, sink=_clearing(sink, progress), progress=progress)
            finally:
                progress.close()
            sink.finish(result)
        finally:
            if stream is not sys.stdout:
                stream.close()
        _warn(result, paths)
        sys.exit(exit_code(result, fail_on))
    progress = Progress(sys.stderr)
    try:
        result = Scanner(options).scan(paths, progress=progress)
    finally:
        progress.close()
    if write_baseline_path or baseline_path:
        from kubelint_cc import baseline
        try:
            if write_baseline_path:
                n = baseline.write(write_baseline_path, result)
                click.echo(f"kubelint-cc: recorded {n} finding{'s' if n != 1 else ''} in {write_baseline_path}",
                           err=True)
            # A baseline just written is accepted as it stands: the run passes unless --baseline says otherwise.
            baseline.apply(baseline_path or write_baseline_path, result)
        except baseline.BaselineError as e:
            _fail(str(e))
    _report(result, fmt, output)
    _warn(result, paths)
    sys.exit(exit_code(result, fail_on))


def _warn(result, paths: list) -> None:
    """The scan's warnings on stderr; they never change the exit code.  A scan that read no
    Kubernetes object was probably pointed at the wrong place (but a commit of CI files
    alone must pass the pre-commit hook); input errors explain an empty scan better."""
    for warning in getattr(result, "warnings", ()):
        click.echo(f"kubelint-cc: warning: {warning}", err=True)
    if result.objects or result.errors:
        return
    shown = paths or ["."]
    where = ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")
    click.echo(f"kubelint-cc: warning: no Kubernetes objects found in {where}", err=True)


def _clearing(sink, progress):
    """The sink, erasing the bar before each write: a finding printed to the same terminal
    must get a line of its own, not the end of the bar's."""
    def write(findings):
        progress.clear()
        sink(findings)
    return write


def exit_code(result, fail_on: str) -> int:
    if result.errors:
        return EXIT_ERROR
    if fail_on == "never":
        return EXIT_CLEAN
    floor = SEVERITY_RANK[fail_on]
    failing = set(getattr(result, "failing", ())) | {f.severity for f in result.findings if f.counts()}
    return EXIT_FINDINGS if any(SEVERITY_RANK.get(sev, 2) >= floor for sev in failing) else EXIT_CLEAN


def _open_output(output: str | None):
    if not output:
        return sys.stdout
    try:
        return open(output, "w", encoding="utf-8", errors="backslashreplace")
    except OSError as e:
        _fail(f"cannot write {output}: {e.strerror or e}")


def _report(result, fmt: str, output: str | None) -> None:
    stream = _open_output(output)
    try:
        if fmt == "json":
            from kubelint_cc.reporters import json_report
            json_report.render(result, stream)
        elif fmt == "sarif":
            from kubelint_cc.reporters import sarif
            sarif.render(result, stream)
        else:
            from kubelint_cc.reporters import text
            colour = stream.isatty() and "NO_COLOR" not in os.environ
            text.render(result, stream, colour=colour)
    finally:
        if stream is not sys.stdout:
            stream.close()


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(), required=True, metavar="PATH...")
@click.option("--diff", is_flag=True, help="Print a unified diff instead of writing the files.")
@click.option("--unsafe-fixes", is_flag=True, help="Also turn privileged: true into false (can break the workload).")
def fix(paths, diff, unsafe_fixes):
    """Rewrite manifests in place, fixing the restricted controls that have one safe answer."""
    from kubelint_cc import config as config_mod
    from kubelint_cc import fix as fix_mod
    from kubelint_cc.engine import Options
    try:
        cfg = config_mod.load_config(None, list(paths))
    except config_mod.ConfigError as e:
        _fail(str(e))
    code = fix_mod.fix_paths(list(paths), write=not diff, unsafe=unsafe_fixes, out=sys.stdout,
                             exclude=cfg.exclude_matcher(), options=Options(config=cfg))
    sys.exit(code)


@cli.command()
@click.argument("rule_id", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
def rules(rule_id, fmt):
    """List every rule, or explain one (what, why, failing and passing example, fix)."""
    from kubelint_cc import catalog
    if rule_id is None:
        click.echo(catalog.render_table(fmt), nl=False)
        return
    rule = catalog.find(rule_id)
    if rule is None:
        _fail(f"unknown rule {rule_id!r}; `kubelint-cc rules` lists them")
    click.echo(catalog.render_rule(rule, fmt), nl=False)


def main():
    # A file name that is not UTF-8 (kept by Python as surrogate escapes) must not crash the
    # report: print it as \udcXX, which is also a valid escape inside JSON strings.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        cli(prog_name="kubelint-cc")
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(EXIT_ERROR)
    except Exception as e:  # noqa: BLE001 - a bug must still end in a message and exit code 2
        if os.environ.get("KUBELINT_CC_DEBUG"):
            raise
        click.echo(f"kubelint-cc: internal error: {type(e).__name__}: {e} "
                   "(set KUBELINT_CC_DEBUG=1 for a traceback, and please report it)", err=True)
        sys.exit(EXIT_ERROR)
