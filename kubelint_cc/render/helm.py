"""Helm: charts rendered into one manifest stream, and that stream mapped back to the
template files (README, "Helm charts").

A chart is rendered in process by the Helm SDK binding (`pip install 'kubelint-cc[helm]'`,
helm-python-sdk) when it is installed, else by `helm template` when `helm` is on PATH.
Either way the result is a stream in `helm template`'s shape, each template's output
after a `# Source: CHART/templates/FILE` comment, and the same code maps it back, so a
stream piped in (`helm template . | kubelint-cc scan -`) maps the same way.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from kubelint_cc.render.origin import Rendered

ACTION = re.compile(r"\{\{.*?\}\}")  # a Go template action on one line: {{ .Values.x }}, {{- if ... }}
CHART_FILE = "Chart.yaml"
RELEASE = "release-name"  # what `helm template` calls a release it is not given a name for
SOURCE = re.compile(r"^# Source: (.+?)[ \t]*\r?$", re.M)
RENDER_ERROR = re.compile(r"\(([^()\s]+?):(\d+):(\d+)\): (.*)", re.S)

HINT = ("Helm template syntax ({{ ... }}), not YAML: render it (helm template CHART | kubelint-cc scan -, "
        "or scan the chart's directory) or exclude it")
NO_RENDERER = ("Helm chart not rendered: no Helm renderer (pip install 'kubelint-cc[helm]', or put helm on PATH); "
               "its templates are not checked")


def template_line(text: str) -> int | None:
    """1-based line of the first template action in `text`, or None when it has none."""
    m = ACTION.search(text)
    return None if m is None else text.count("\n", 0, m.start()) + 1


def is_chart(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, CHART_FILE))


@dataclass
class Values:
    """What the chart is rendered with, on top of its own values.yaml."""
    files: list = field(default_factory=list)  # --helm-values FILE, in order
    sets: list = field(default_factory=list)  # --helm-set key=value, in order
    namespace: str = "default"  # the release's (.Release.Namespace)


class RenderError(Exception):
    """A chart that could not be rendered; `file`, `line`, `column` when Helm names a place."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message, self.file, self.line, self.column = message, file, line, column


# -- renderers ---------------------------------------------------------------------------

def renderer() -> str | None:
    """'sdk' (helm-python-sdk installed), 'binary' (helm on PATH) or None.
    KUBELINT_CC_HELM=sdk|binary|none chooses (none: charts are not rendered)."""
    chosen = os.environ.get("KUBELINT_CC_HELM")
    if chosen in ("sdk", "binary", "none"):
        return None if chosen == "none" else chosen
    try:
        import helm_python  # noqa: F401
        return "sdk"
    except Exception:  # noqa: BLE001 - not installed, or its native library does not load here
        pass
    return "binary" if shutil.which("helm") else None


def render(chart: str, values: Values, how: str | None = None) -> str:
    """The chart's manifests as one stream with `# Source:` comments, like `helm template`."""
    how = how or renderer()
    if how == "sdk":
        return _render_sdk(chart, values)
    if how == "binary":
        return _render_binary(chart, values)
    raise RenderError(NO_RENDERER)


def _render_sdk(chart: str, values: Values) -> str:
    import helm_python
    try:
        merged: dict = {}
        for path in values.files:
            with open(path, encoding="utf-8") as f:
                _merge(merged, helm_python.values_from_yaml(f.read()) or {})
        for expression in values.sets:
            _merge(merged, helm_python.parse_set_string(expression))
        with helm_python.Chart.load(chart) as loaded:
            manifests = loaded.render(merged or None, name=RELEASE, namespace=values.namespace)
    except OSError as e:
        raise RenderError(f"cannot read values file: {e.filename}: {e.strerror}") from None
    except helm_python.HelmError as e:
        raise _render_error(chart, getattr(e, "detail", None) or str(e)) from None
    except Exception as e:  # noqa: BLE001 - a failure of the native library is this chart's error, not a crash
        raise RenderError(f"helm-python-sdk failed: {type(e).__name__}: {e}") from None
    parts = []
    for source in sorted(manifests):
        if "/templates/" not in "/" + source or source.endswith("NOTES.txt"):
            continue
        # As helm template prints it: each document apart, under its own `# Source:`.
        for doc in _SEPARATOR.split(manifests[source].strip()):
            if doc.strip():
                parts.append(f"---\n# Source: {source}\n{doc.strip()}\n")
    return "".join(parts)


_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")  # Helm's releaseutil.SplitManifests: `---#...` splits too


def _render_binary(chart: str, values: Values) -> str:
    command = ["helm", "template", RELEASE, chart, "--namespace", values.namespace]
    for path in values.files:
        command += ["--values", path]
    for expression in values.sets:
        command += ["--set", expression]
    try:
        proc = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as e:
        raise RenderError(f"helm template failed: {e}") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().removeprefix("Error: ")
        raise _render_error(chart, message)
    return proc.stdout.decode("utf-8", "replace")


def _merge(into: dict, new: dict) -> None:
    """Helm's coalescing of values: maps merge key by key, anything else replaces."""
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _render_error(chart: str, message: str) -> RenderError:
    """`required`, `fail` and parse errors name a template and a position: point there."""
    message = " ".join(message.split()) or "helm could not render the chart"  # one line
    if _missing_dependencies(chart):
        message += " (the chart's dependencies are not in its charts/ directory: run helm dependency build)"
    m = RENDER_ERROR.search(message) or _PLACE_FIRST.match(message)
    if m:
        file = source_file(chart, m.group(1))
        return RenderError(m.group(4).strip(), file, int(m.group(2)), int(m.group(3)))
    return RenderError(message)


# CHART/templates/x.yaml:43:55 executing "..." at <...>: ...
_PLACE_FIRST = re.compile(r"(?:template: )?([^\s:]+):(\d+):(\d+):? (.*)", re.S)


def _missing_dependencies(chart: str) -> bool:
    try:
        with open(os.path.join(chart, CHART_FILE), encoding="utf-8") as f:
            declared = re.search(r"^dependencies:[ \t]*\n[ \t]*-", f.read(), re.M) is not None
    except OSError:
        return False
    return declared and not os.path.isdir(os.path.join(chart, "charts"))


# -- mapping a stream back ---------------------------------------------------------------

def source_file(chart: str | None, source: str) -> str:
    """The file a `# Source:` names: CHART/templates/x.yaml -> chart_dir/templates/x.yaml."""
    if chart is None:
        return source
    rest = source.split("/", 1)[1] if "/" in source else source
    return os.path.join(chart, rest) if chart not in ("", ".") else rest


def has_sources(text: str) -> bool:
    return "# Source: " in text and SOURCE.search(text) is not None


def rendered(name: str, text: str, chart: str | None) -> Rendered:
    """The stream `text` (from chart directory `chart`, or None when it is not at hand)
    split into the sections its `# Source:` comments start."""
    sections = []
    for m in SOURCE.finditer(text):
        start = text.count("\n", 0, m.start())
        sections.append((start, source_file(chart, m.group(1)), chart is not None))
    return Rendered(name, text, sections)


def chart_for_stream(text: str, chart: str | None = None) -> str | None:
    """The chart directory a piped stream came from: `chart` if given, else the current
    directory, NAME or charts/NAME, whose Chart.yaml names the chart of the first `# Source:`."""
    if chart is not None:
        return chart
    m = SOURCE.search(text)
    if m is None:
        return None
    name = m.group(1).split("/", 1)[0]
    for candidate in (".", name, os.path.join("charts", name)):
        if is_chart(candidate) and _chart_name(candidate) == name:
            return candidate
    return None


def _chart_name(directory: str) -> str | None:
    try:
        with open(os.path.join(directory, CHART_FILE), encoding="utf-8") as f:
            m = re.search(r"^name:[ \t]*[\"']?([^\"'#\s]+)", f.read(), re.M)
    except OSError:
        return None
    return m.group(1) if m else None
