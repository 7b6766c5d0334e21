"""Command line: `kubelint-cc scan | fix | rules`; the only layer that prints.

Modules are imported inside the commands: a pre-commit run on one file should pay
only for what it uses.
"""
from __future__ import annotations

import os
import signal
import sys

import click

from kubelint_cc import __version__
from kubelint_cc.engine import parse_version

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
# --format -> module in kubelint_cc.reporters (text is handled apart: it takes options)
REPORTERS = {"json": "json_report", "sarif": "sarif", "github": "github", "junit": "junit", "gitlab": "gitlab"}
FORMATS = ["text", *REPORTERS]
LEVELS = ["baseline", "restricted", "privileged"]  # as in the config and the namespace label
SEVERITY_RANK = {"note": 0, "warning": 1, "error": 2}


def _version(ctx, param, value):
    if value is not None and parse_version(value) is None:
        raise click.BadParameter(f'{value!r}: expected "latest" or v1.N (e.g. v1.29)')
    return value


def _fail(message: str) -> None:
    from kubelint_cc.excerpt import escape  # messages can hold file names from the repository
    click.echo(f"kubelint-cc: error: {escape(message)}", err=True)
    sys.exit(EXIT_ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kubelint-cc")
def cli():
    """Static linter for Kubernetes manifests: Pod Security Standards, Kata agent policy, runtime classes."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PATH]...")
@click.option("--pss-level", type=click.Choice(LEVELS), default=None,
              help="Pod Security Standards level (default: the namespace's enforce label, else config, else "
                   "restricted; privileged: no PSS findings).")
@click.option("--pss-version", callback=_version, default=None, metavar="v1.N|latest",
              help="Pod Security Standards version (default: the namespace's enforce-version label, else config, else latest).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text, json, sarif, github (workflow command annotations), junit (JUnit XML), "
                   "gitlab (GitLab Code Quality).")
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
@click.option("--show-suppressed", is_flag=True, help="Text format: also print suppressed findings, marked `suppressed`.")
@click.option("-q", "--quiet", is_flag=True, help="Text format: print only the summary line.")
@click.option("--select", "select", multiple=True, metavar="NAMES",
              help="Report only these rule ids or controls (comma-separated; replaces the config's select).")
@click.option("--ignore", "ignore", multiple=True, metavar="NAMES",
              help="Do not report these rule ids or controls (comma-separated; added to the config's ignore).")
@click.option("--color", "color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour the text format (auto: on a terminal, unless NO_COLOR or TERM=dumb; FORCE_COLOR or "
                   "CLICOLOR_FORCE turn it on).")
@click.option("--follow-external-symlinks", is_flag=True,
              help="Follow symbolic links that lead outside the repository (never on untrusted input).")
@click.option("--no-ignore", is_flag=True, help="Also scan what git ignores (.gitignore) in the directories walked.")
@click.option("--admission-config", "admission_path", metavar="FILE",
              help="The API server's AdmissionConfiguration (or a PodSecurityConfiguration): its PodSecurity "
                   "defaults apply to namespaces without labels, and its exemptions exempt objects.")
@click.option("--helm-values", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Values file for the Helm charts scanned (repeatable; after the chart's values.yaml).")
@click.option("--helm-set", multiple=True, metavar="KEY=VALUE",
              help="A value for the Helm charts scanned, as helm --set (repeatable).")
@click.option("--chart", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="The chart a `helm template` stream on stdin came from, to map findings to template lines.")
@click.option("--no-cache", is_flag=True,
              help="Neither read nor write the cache of unchanged files' results (.kubelint-cc-cache).")
def scan(paths, pss_level, pss_version, fmt, output, config_path, fail_on, baseline_path, write_baseline_path,
         do_fix, unsafe_fixes, show_suppressed, quiet, select, ignore, color, follow_external_symlinks, no_ignore,
         admission_path, helm_values, helm_set, chart, no_cache):
    """Scan files and directories (default: .); `-` reads stdin."""
    from kubelint_cc.engine import Options, Scanner
    from kubelint_cc.progress import Progress

    paths = list(paths)
    # stdin is never cached: there is no file whose next version could reuse the verdict
    use_cache = not no_cache and any(p != "-" for p in paths or ["."])
    cfg = _config(config_path, paths, select, ignore, cache=use_cache)
    options = Options(level=pss_level, version=pss_version, config=cfg,
                      follow_external_symlinks=follow_external_symlinks,
                      gitignore=not no_ignore, admission=_admission(admission_path, cfg),
                      helm_values=list(helm_values), helm_set=list(helm_set), chart=chart,
                      cache=_cache_store(cfg, paths) if use_cache else None)
    if do_fix:
        from kubelint_cc import fix
        fix.fix_paths([p for p in paths if p != "-"] or ["."], write=True, unsafe=unsafe_fixes,
                      out=sys.stderr, exclude=cfg.exclude_matcher(), options=options, show_errors=False)
    if fmt in ("text", "json") and not (write_baseline_path or baseline_path):
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
                sink = text.Stream(stream, colour=use_colour(color, stream), show_suppressed=show_suppressed,
                                   quiet=quiet)
            try:
                result = Scanner(options).scan(paths, sink=_clearing(sink, progress), progress=progress)
            finally:
                progress.close()
            sink.finish(result)
        except BaseException:
            _discard(stream)
            raise
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
    _report(result, fmt, output, show_suppressed, quiet, color)
    _warn(result, paths)
    sys.exit(exit_code(result, fail_on))


def _admission(path: str | None, cfg):
    """--admission-config, else the config file's pss.admissionConfig (relative to it)."""
    if path is None and cfg.admission_config:
        path = os.path.join(cfg.root, cfg.admission_config)
    if path is None:
        return None
    from kubelint_cc import admission
    try:
        conf = admission.load(path)
    except admission.AdmissionConfigError as e:
        _fail(str(e))
    if conf.usernames:
        click.echo(f"kubelint-cc: note: {conf.path}: exemptions.usernames ({len(conf.usernames)}) cannot apply to "
                   "files: who sends a manifest to the API server is not written in it", err=True)
    return conf


def _names(values) -> list[str]:
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def _config(config_path, paths: list, select=(), ignore=(), cache: bool = False):
    """The config file's settings, with --select replacing its select and --ignore adding to
    its ignore; every name must be a rule id or control."""
    from kubelint_cc import config as config_mod
    try:
        cfg = config_mod.load_config(config_path, paths, cache=cache)
    except config_mod.ConfigError as e:
        _fail(str(e))
    for option, values in (("--select", select), ("--ignore", ignore)):
        for name in _names(values):
            from kubelint_cc import catalog  # only when names are given: it parses every rule file
            if name not in catalog.known_names():
                _fail(f"{option}: {catalog.unknown_name(name)}")
    if select:
        cfg.select = _names(select)
    cfg.ignore = cfg.ignore + _names(ignore)
    return cfg


def _cache_store(cfg, paths: list):
    from kubelint_cc import cache
    return cache.open_store(cache.location(cfg.path, cfg.cache_dir, paths))


def use_colour(choice: str, stream) -> bool:
    """--color always/never; auto: NO_COLOR (non-empty) turns colour off, FORCE_COLOR or
    CLICOLOR_FORCE (non-empty, not "0") on; else only on a terminal whose TERM is not dumb."""
    if choice != "auto":
        return choice == "always"
    env = os.environ
    if env.get("NO_COLOR"):
        return False
    if any(env.get(name, "") not in ("", "0") for name in ("FORCE_COLOR", "CLICOLOR_FORCE")):
        return True
    return env.get("TERM") != "dumb" and stream.isatty()


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
    from kubelint_cc import paths
    try:
        return paths.open_text(output)  # atomic, and never through a link out of the repository
    except OSError as e:
        _fail(f"cannot write {output}: {e.strerror or e}")


def _report(result, fmt: str, output: str | None, show_suppressed: bool = False, quiet: bool = False,
            color: str = "auto") -> None:
    stream = _open_output(output)
    try:
        if fmt == "text":
            from kubelint_cc.reporters import text
            text.render(result, stream, colour=use_colour(color, stream), show_suppressed=show_suppressed,
                        quiet=quiet)
        else:
            import importlib
            importlib.import_module(f"kubelint_cc.reporters.{REPORTERS[fmt]}").render(result, stream)
    except BaseException:
        _discard(stream)
        raise
    finally:
        if stream is not sys.stdout:
            stream.close()


def _discard(stream) -> None:
    """A report cut short (SIGTERM, a crash) leaves the previous --output file as it was."""
    if hasattr(stream, "discard"):
        stream.discard()


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PATH]...")
@click.option("--diff", is_flag=True, help="Print a unified diff instead of writing the files.")
@click.option("--unsafe-fixes", is_flag=True, help="Also turn privileged: true into false (can break the workload).")
@click.option("--pss-level", type=click.Choice(LEVELS), default=None,
              help="As for scan: only findings at this level are fixed.")
@click.option("--pss-version", callback=_version, default=None, metavar="v1.N|latest", help="As for scan.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, help="As for scan.")
@click.option("--select", "select", multiple=True, metavar="NAMES", help="As for scan: fix only these.")
@click.option("--ignore", "ignore", multiple=True, metavar="NAMES", help="As for scan: leave these alone.")
def fix(paths, diff, unsafe_fixes, pss_level, pss_version, config_path, select, ignore):
    """Rewrite manifests in place (default: .), fixing the findings scan reports that have
    one safe answer."""
    from kubelint_cc import fix as fix_mod
    from kubelint_cc.engine import Options
    paths = list(paths) or ["."]
    cfg = _config(config_path, paths, select, ignore)
    code = fix_mod.fix_paths(paths, write=not diff, unsafe=unsafe_fixes, out=sys.stdout,
                             exclude=cfg.exclude_matcher(),
                             options=Options(level=pss_level, version=pss_version, config=cfg))
    sys.exit(code)


@cli.command()
@click.argument("rule_id", required=False, metavar="[RULE|CONTROL]")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
def rules(rule_id, fmt):
    """List every rule, or explain one (what, why, failing and passing example, fix).

    A control shared by several rules lists them (markdown: explains them all)."""
    from kubelint_cc import catalog
    if rule_id is None:
        click.echo(catalog.render_table(fmt), nl=False)
        return
    found = catalog.matching(rule_id)
    if not found:
        _fail(catalog.unknown_name(rule_id))
    if len(found) == 1 or fmt == "markdown":
        click.echo("\n".join(catalog.render_rule(rule, fmt) for rule in found), nl=False)
        return
    click.echo(f"{len(found)} rules report control {rule_id}; `kubelint-cc rules RULE` explains one:\n\n"
               + catalog.render_table(fmt, found), nl=False)


HOOK_USAGE = ("pre-commit: the hook's arguments must end with `--` "
              "(args: [--pss-level, baseline, --]): pre-commit appends file names right after them, "
              "and a file may be named like an option")


def hook_argv(argv: list[str]) -> list[str]:
    """`pre-commit OPTIONS -- FILES` as scan's argv, where every FILE stays a path.

    pre-commit runs `entry args files` with no `--` of its own, so a staged file named
    `--write-baseline=x.json` would be read as an option and could turn the verdict off.
    The hook definition's default args are `[--]`, and a user's own args must end with it.
    pre-commit puts args before the file names, so the first `--` is the hook's own (and
    the hook passes only names ending in .yaml/.yml/.json, never a bare `--`).  Without
    one we refuse: a wrong guess here would let a file decide the options."""
    if "--" not in argv:
        _fail(HOOK_USAGE)
    cut = argv.index("--")
    files = argv[cut + 1:]
    if not files:
        sys.exit(EXIT_CLEAN)  # pre-commit passed no file: nothing to scan (not the whole tree)
    return ["scan", *argv[:cut], "--", *files]


@cli.command("pre-commit", context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
             add_help_option=False)
def pre_commit_command():
    """The pre-commit hook: `pre-commit [SCAN OPTIONS] -- FILES`; every FILE is a path."""
    _fail(HOOK_USAGE)  # main() handles this command before click parses (and drops) the `--`


def _terminated(signum, frame):
    raise SystemExit(128 + signum)


def main():
    # A file name that is not UTF-8 (kept by Python as surrogate escapes) must not crash the
    # report: print it as \udcXX, which is also a valid escape inside JSON strings.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    # SIGTERM (CI cancelling a job, pre-commit's timeout) becomes SystemExit, so that the
    # worker pool and open files are cleaned up on the way out instead of workers left running.
    signal.signal(signal.SIGTERM, _terminated)
    args = sys.argv[1:]
    try:
        if args[:1] == ["pre-commit"]:
            args = hook_argv(args[1:])
        cli(args=args, prog_name="kubelint-cc")
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
