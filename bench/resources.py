"""Resource inputs from the hostile-input issue: one 60 MB file of Pods, and 500 files of 1 MB.

Both are generated into the benchmark cache (never committed) and scanned like any dataset,
so the table gives wall time, CPU time and peak memory of kubelint-cc next to the libyaml
floor over the same files.
"""
from __future__ import annotations

from pathlib import Path

POD = """---
apiVersion: v1
kind: Pod
metadata:
  name: pod-{i}
  namespace: team-{ns}
spec:
  hostNetwork: {host}
  containers:
  - name: app
    image: registry.example/app:{i}
    ports:
    - containerPort: 8080
    securityContext:
      privileged: {host}
"""


def _write(path: Path, size: int, start: int = 0) -> None:
    parts, n, i = [], 0, start
    while n < size:
        doc = POD.format(i=i, ns=i % 7, host="true" if i % 5 == 0 else "false")
        parts.append(doc)
        n += len(doc)
        i += 1
    path.write_text("".join(parts), encoding="utf-8")


def inputs(cache: Path, log) -> list[tuple[str, Path]]:
    """[(label, path)]: the 60 MB file and the directory of 500 x 1 MB files, made once."""
    big = cache / "resources" / "pods-60mb.yaml"
    many = cache / "resources" / "500x1mb"
    if not big.exists():
        log("resources: writing one 60 MB file of Pods")
        big.parent.mkdir(parents=True, exist_ok=True)
        _write(big, 60 * 1000 * 1000)
    if not (many / "f499.yaml").exists():
        log("resources: writing 500 files of 1 MB")
        many.mkdir(parents=True, exist_ok=True)
        for k in range(500):
            _write(many / f"f{k}.yaml", 1000 * 1000, start=k * 10_000)
    return [("one 60 MB file of Pods", big), ("500 files of 1 MB", many)]
