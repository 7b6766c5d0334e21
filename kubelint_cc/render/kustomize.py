"""Kustomize: a directory with a kustomization is built, and the built objects are mapped
back to the files a person edits (README, "Kustomize").

The build runs `kustomize build` (or `kubectl kustomize`) on a throw-away kustomization
that only adds `buildMetadata: [originAnnotations]` around the directory, so every object
names the file it came from without the user's kustomization having to ask for it.  A
finding's path is then looked up in the patches of the kustomizations involved (a patch
that sets the offending value is where it is fixed), else in the object's own file; list
items are matched by `name`, as strategic merge patches match containers and volumes.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from typing import Any

from kubelint_cc.render.origin import Placed

FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
ORIGIN = "config.kubernetes.io/origin"
NO_BUILDER = ("kustomize directories are not built (neither kustomize nor kubectl is on PATH): their "
              "resource files are judged as written, in the overlay's namespace, without patches")


class BuildError(Exception):
    pass


def kustomization_file(directory: str) -> str | None:
    for name in FILES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def builder() -> list[str] | None:
    """The build command: kustomize, else kubectl kustomize; KUBELINT_CC_KUSTOMIZE=none: none."""
    if os.environ.get("KUBELINT_CC_KUSTOMIZE") == "none":
        return None
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def build(directory: str) -> str:
    """The built objects of `directory`, each annotated with the file it came from
    (paths made absolute)."""
    command = builder()
    if command is None:
        raise BuildError(NO_BUILDER)
    with tempfile.TemporaryDirectory(prefix="kubelint-cc-") as wrapper:
        target = os.path.relpath(os.path.abspath(directory), wrapper)
        with open(os.path.join(wrapper, "kustomization.yaml"), "w", encoding="utf-8") as f:
            f.write(f"resources:\n- {_quote(target)}\nbuildMetadata: [originAnnotations]\n")
        try:
            proc = subprocess.run(command + ["--load-restrictor", "LoadRestrictionsNone", wrapper],
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
        except (OSError, subprocess.SubprocessError) as e:
            raise BuildError(f"{' '.join(command)} failed: {e}") from None
        if proc.returncode != 0:
            raise BuildError(_message(proc.stderr.decode("utf-8", "replace"), wrapper, target, directory))
        text = proc.stdout.decode("utf-8", "replace")
    # Origins are relative to the wrapper: make them absolute while its path is known.
    return _ORIGIN_PATH.sub(
        lambda m: m.group(1) + _quote(os.path.normpath(os.path.join(wrapper, m.group(2).strip("'\"")))), text)


# The first line of an origin annotation (a block scalar), and only that: `path:` is a common key.
_ORIGIN_PATH = re.compile(r"(config\.kubernetes\.io/origin: \|-?\r?\n[ \t]+path: )([^\r\n]+)")


def _quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def _message(stderr: str, wrapper: str, target: str, directory: str) -> str:
    text = " ".join(stderr.split())
    text = re.sub(r'^E\d{4} [\d:.]+ +\d+ \S+\] "command failed" err=', "", text)
    text = text.strip('"').replace(f"'{target}'", f"'{directory}'").replace(wrapper, ".")
    return f"kustomize build failed: {text[:500] or 'no message'}"


def consumed(directory: str) -> set[str]:
    """Absolute paths of the directories and files the kustomization in `directory` names
    (resources, bases, components, patches), found by reading the kustomization files, so
    that they are not also scanned on their own."""
    out: set[str] = set()
    pending = [os.path.abspath(directory)]
    while pending:
        here = pending.pop()
        data = _read_kustomization(here)
        for entry in _entries(data):
            path = os.path.normpath(os.path.join(here, entry))
            if path in out:
                continue
            out.add(path)
            if os.path.isdir(path):
                pending.append(path)
    return out


def plain_resources(directory: str) -> list[tuple[str, str | None]]:
    """Without a builder: the resource files of the kustomization in `directory` and of the
    kustomizations it builds on, each with the namespace it lands in (the outermost
    `namespace:` wins, as kustomize's namespace transformer runs last in the overlay).
    Patches, generators and name changes are not applied: files are judged as written."""
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()

    def collect(here: str, inherited: str | None) -> None:
        if here in seen:
            return
        seen.add(here)
        data = _read_kustomization(here)
        namespace = inherited or (data.get("namespace") if isinstance(data.get("namespace"), str) else None)
        for entry in (data.get("resources") or []) + (data.get("bases") or []):
            if not isinstance(entry, str) or "://" in entry:
                continue
            path = os.path.normpath(os.path.join(here, entry))
            if os.path.isdir(path):
                collect(path, namespace)
            elif os.path.isfile(path):
                out.append((path, namespace))

    collect(os.path.abspath(directory), None)
    return out


def _read_kustomization(directory: str) -> dict:
    from kubelint_cc import load, yamltree
    path = kustomization_file(directory)
    if path is None:
        return {}
    try:
        with open(path, "rb") as f:
            nodes = [n for n in load.compose_documents(load.decode(f.read())) if n is not None]
        data = yamltree.to_data(nodes[0]) if nodes else {}
    except Exception:  # noqa: BLE001 - the build reports a broken kustomization
        return {}
    return data if isinstance(data, dict) else {}


def _entries(data: dict) -> list[str]:
    out = []
    for key in ("resources", "bases", "components", "patchesStrategicMerge", "crds"):
        out += [e for e in data.get(key) or [] if isinstance(e, str) and "://" not in e and "\n" not in e]
    for key in ("patches", "patchesJson6902"):
        out += [p["path"] for p in data.get(key) or [] if isinstance(p, dict) and isinstance(p.get("path"), str)]
    return out


def _patches(directory: str) -> list[str]:
    """Patch files of the kustomization in `directory` and of those it builds on, the ones
    applied last first."""
    out: list[str] = []
    seen: set[str] = set()
    pending = [os.path.abspath(directory)]
    while pending:
        here = pending.pop(0)
        if here in seen:
            continue
        seen.add(here)
        data = _read_kustomization(here)
        names = [e for e in data.get("patchesStrategicMerge") or [] if isinstance(e, str) and "\n" not in e]
        for key in ("patches", "patchesJson6902"):
            names += [p["path"] for p in data.get(key) or [] if isinstance(p, dict) and isinstance(p.get("path"), str)]
        out += [os.path.normpath(os.path.join(here, n)) for n in names]
        for entry in (data.get("resources") or []) + (data.get("bases") or []) + (data.get("components") or []):
            if isinstance(entry, str) and os.path.isdir(os.path.join(here, entry)):
                pending.append(os.path.normpath(os.path.join(here, entry)))
    return out


# -- mapping built objects back ------------------------------------------------------------

_STEP = re.compile(r'\.?([A-Za-z0-9_-]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def parse_path(text: str) -> tuple:
    """engine.format_path's output back to steps."""
    steps: list = []
    for m in _STEP.finditer(text or ""):
        steps.append(m.group(1) if m.group(1) is not None else int(m.group(2)) if m.group(2) is not None
                     else m.group(3).replace('\\"', '"'))
    return tuple(steps)


class Built:
    """The stream built from one kustomization directory, and the way back."""

    def __init__(self, name: str, text: str):
        from kubelint_cc import load, yamltree
        self.name, self.text = name, text
        self.documents: list[tuple[int, dict]] = []  # (first line, 0-based; the object)
        for node in load.compose_documents(text, []):
            data = yamltree.to_data(node, [])
            if isinstance(data, dict):
                self.documents.append((node.start_mark.line, data))
        self._files: dict[str, list] = {}
        self._patch_files = [display(p) for p in _patches(name)]

    @property
    def sections(self) -> list:
        """(first line, file, at hand) per object, as render.origin.Rendered has them."""
        return [(line, origin_of(data) or self.name, True) for line, data in self.documents]

    def origins(self) -> set[str]:
        return {f for f in (origin_of(d) for _, d in self.documents) if f} | set(self._patch_files)

    def place(self, line: int | None, column: int | None, path: str | None = None) -> Placed:
        """Where a finding at `path` of the object at stream `line` is set: a scalar value in
        the last patch that sets it to what was built, else in the object's own file; a
        mapping or list (a missing field's parent) in the object's own file first.  Where
        neither has it as built, the nearest part the object's file has, not exact."""
        from kubelint_cc import yamltree
        obj = self._object_at(line)
        if obj is None:
            return Placed(self.name, line, column, False)
        origin = origin_of(obj) or self.name
        present = _present(obj, parse_path(path) if path else ())  # the part of the path the object has
        value = _get(obj, present)
        scalar = not isinstance(value, (dict, list))
        files = self._patch_files + [origin] if scalar else [origin] + self._patch_files
        for file in files:
            if scalar and file != origin:
                at = self._operation(file, present, value)
                if at is not None:
                    return Placed(file, *at, True)
            for root, data in self._docs(file):
                if not _same_object(data, obj, patch=file != origin):
                    continue
                translated = _translate(obj, data, present)
                if translated is None:
                    continue
                found = _get(data, translated, _MISSING)
                if found is _MISSING or scalar and found != value:
                    continue
                return Placed(file, *yamltree.locate(root, translated), True)
        for root, data in self._docs(origin):
            if _same_object(data, obj, patch=False):
                return Placed(origin, *yamltree.locate(root, _translate(obj, data, present, partial=True)), False)
        return Placed(origin, None, None, False)

    def _operation(self, file: str, present: tuple, value: Any) -> tuple[int, int] | None:
        """(line, column) of the value a JSON6902 patch in `file` adds or replaces at
        `present`, when it is the value built.  (Targets are not checked: a patch file
        whose operation sets this very path to this very value is taken as the one.)"""
        from kubelint_cc import yamltree
        for root, ops in self._docs(file, lists=True):
            for i, op in enumerate(ops):
                if not isinstance(op, dict) or op.get("op") not in ("add", "replace"):
                    continue
                if not isinstance(op.get("path"), str):
                    continue
                steps = tuple(int(p) if p.isdigit() else p.replace("~1", "/").replace("~0", "~")
                              for p in op["path"].split("/")[1:])
                if steps != present[:len(steps)]:
                    continue
                rest = present[len(steps):]
                if _get(op.get("value"), rest, _MISSING) == value:
                    return yamltree.locate(root, (i, "value") + rest)
        return None

    def _object_at(self, line: int | None) -> dict | None:
        if line is None:
            return None
        found = None
        for start, data in self.documents:
            if start > line - 1:
                break
            found = data
        return found

    def _docs(self, file: str, lists: bool = False) -> list:
        """(root node, data) of the objects in `file`, or with `lists` of its lists (JSON6902)."""
        if file not in self._files:
            from kubelint_cc import load, yamltree
            docs = []
            try:
                with open(file, "rb") as f:
                    for node in load.compose_documents(load.decode(f.read()), []):
                        data = yamltree.to_data(node, [])
                        if isinstance(data, (dict, list)):
                            docs.append((node, data))
            except (OSError, UnicodeError):
                pass
            self._files[file] = docs
        kind = list if lists else dict
        return [(root, data) for root, data in self._files[file] if isinstance(data, kind)]


_MISSING = object()


def origin_of(obj: dict) -> str | None:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    m = re.search(r"^path: (.+)$", annotations.get(ORIGIN) or "", re.M)
    if m is None:
        return None
    path = m.group(1).strip()
    if path.startswith("'") and path.endswith("'"):
        path = path[1:-1].replace("''", "'")
    return display(path)


def display(path: str) -> str:
    """An absolute path as the user would write it: relative when below the working directory."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _same_object(source: dict, built: dict, patch: bool) -> bool:
    """Whether a document of a source or patch file is the built object (names may have
    gained a prefix or suffix, and a patch may leave out apiVersion)."""
    if source.get("kind") != built.get("kind"):
        return False
    name = (source.get("metadata") or {}).get("name") if isinstance(source.get("metadata"), dict) else None
    built_name = (built.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not isinstance(built_name, str):
        return not patch
    return name == built_name or name in built_name


def _walk(data: Any, steps: tuple) -> tuple[Any, int]:
    """How far `steps` lead into data (list indexes, mapping keys), and the value reached."""
    for depth, step in enumerate(steps):
        if isinstance(step, int) and isinstance(data, list) and 0 <= step < len(data):
            data = data[step]
        elif isinstance(step, str) and isinstance(data, dict) and step in data:
            data = data[step]
        else:
            return data, depth
    return data, len(steps)


def _present(data: Any, steps: tuple) -> tuple:
    return steps[:_walk(data, steps)[1]]


def _get(data: Any, steps: tuple, missing: Any = None) -> Any:
    value, depth = _walk(data, steps)
    return value if depth == len(steps) else missing


def _translate(built: Any, source: Any, steps: tuple, partial: bool = False) -> tuple | None:
    """`steps` in the built object, as steps in a source document: list items are matched by
    their `name` (or, without one, by position when both lists have the same length)."""
    out: tuple = ()
    for step in steps:
        if isinstance(step, int):
            if not isinstance(built, list) or not isinstance(source, list):
                return out if partial else None
            item = built[step]
            name = item.get("name") if isinstance(item, dict) else None
            if name is not None:
                match = [i for i, s in enumerate(source) if isinstance(s, dict) and s.get("name") == name]
                index = match[0] if len(match) == 1 else None
            else:
                index = step if len(source) == len(built) else None
            if index is None:
                return out if partial else None
            built, source, out = item, source[index], out + (index,)
        else:
            if not isinstance(built, dict) or not isinstance(source, dict) or step not in source:
                return out if partial else None
            built, source, out = built[step], source[step], out + (step,)
    return out
