"""Kyverno's view of Pod Security: `validate.podSecurity.exclude` applied to the findings.

A Kyverno ``podSecurity`` rule can exempt containers by image from one control:
``exclude: [{controlName: Capabilities, images: ["ghcr.io/org/agent*"]}]``.  The config key
``pss.kyvernoExclude`` takes the same list, so teams whose cluster runs Kyverno see the
verdict it gives.  As in Kyverno: an entry with ``images`` exempts the containers whose
image matches one of the wildcards; an entry without ``images`` exempts the pod-level part
of the control (Kyverno >= 1.12 refuses ``images`` on pod-level controls).
``restrictedField``/``values`` (exempting only some values) are not modelled: the config
refuses them rather than exempting more than the cluster does.
"""
from __future__ import annotations

import fnmatch
from typing import Any

# Kyverno controlName -> the PSA check IDs it covers (kyverno pkg/pss/utils: PSS_controls).
CONTROLS = {
    "HostProcess": ("windowsHostProcess",),
    "Host Namespaces": ("hostNamespaces",),
    "Privileged Containers": ("privileged",),
    "Capabilities": ("capabilities_baseline", "capabilities_restricted"),
    "HostPath Volumes": ("hostPathVolumes",),
    "Host Ports": ("hostPorts",),
    "AppArmor": ("appArmorProfile",),
    "SELinux": ("seLinuxOptions",),
    "/proc Mount Type": ("procMount", "procMount_restricted"),
    "Seccomp": ("seccompProfile_baseline", "seccompProfile_restricted"),
    "Sysctls": ("sysctls",),
    "Volume Types": ("restrictedVolumes",),
    "Privilege Escalation": ("allowPrivilegeEscalation",),
    "Running as Non-root": ("runAsNonRoot",),
    "Running as Non-root user": ("runAsUser",),
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def excluded(entries: list, control: str, path: tuple, spec: Any) -> bool:
    """Whether a finding of PSA check ``control`` at ``path`` (from the pod, e.g.
    ("spec", "containers", 0, "securityContext")) is exempted by ``entries``."""
    container = None
    if len(path) >= 3 and path[0] == "spec" and path[1] in CONTAINER_LISTS and isinstance(path[2], int):
        items = spec.get(path[1]) if isinstance(spec, dict) else None
        if isinstance(items, list) and path[2] < len(items) and isinstance(items[path[2]], dict):
            container = items[path[2]]
    for entry in entries:
        if control not in CONTROLS.get(entry.get("controlName"), ()):
            continue
        images = entry.get("images")
        if container is None:
            if not images:
                return True
        elif images and isinstance(container.get("image"), str) \
                and any(fnmatch.fnmatchcase(container["image"], pattern) for pattern in images):
            return True
    return False
