"""Command line: `kubelint-cc scan`, the only place that prints."""
from __future__ import annotations

import os
import sys

import click

from kubelint_cc import __version__
from kubelint_cc.engine import Options, Scanner, parse_version

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _version(ctx, param, value):
    if value is not None and parse_version(value) is None:
        raise click.BadParameter(f'{value!r}: expected "latest" or v1.N (e.g. v1.29)')
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kubelint-cc")
def cli():
    """Static linter for Kubernetes manifests: Pod Security Standards, Kata agent policy, runtime classes."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PATH]...")
@click.option("--pss-level", type=click.Choice(["baseline", "restricted"]), default=None,
              help="Pod Security Standards level (default: the namespace's enforce label, else restricted).")
@click.option("--pss-version", callback=_version, default=None, metavar="v1.N|latest",
              help="Pod Security Standards version (default: the namespace's enforce-version label, else latest).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def scan(paths, pss_level, pss_version, fmt):
    """Scan files and directories (default: .); `-` reads stdin."""
    result = Scanner(Options(level=pss_level, version=pss_version)).scan(list(paths))
    out = sys.stdout
    if fmt == "json":
        from kubelint_cc.reporters import json_report
        json_report.render(result, out)
    else:
        from kubelint_cc.reporters import text
        text.render(result, out, colour=out.isatty() and "NO_COLOR" not in os.environ)
    if result.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if result.findings else EXIT_CLEAN)


def main():
    try:
        cli(prog_name="kubelint-cc")
    except KeyboardInterrupt:
        sys.exit(130)
