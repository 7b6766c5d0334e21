"""What a non-PSS rule returns: a finding relative to the object or its pod template."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    rule: str
    control: str | None
    severity: str
    message: str
    path: tuple  # relative to the pod template (pod rules) or the object (object rules)
    extra: tuple = ()  # (key, value) pairs added to the JSON finding
