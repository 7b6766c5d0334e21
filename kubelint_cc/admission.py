"""The cluster's own Pod Security Admission configuration, and which level applies in which mode.

An API server is given ``--admission-control-config-file``: an AdmissionConfiguration whose
``PodSecurity`` plugin carries a PodSecurityConfiguration (inline as ``configuration`` or in
a file named by ``path``).  Its ``defaults`` set the enforce, audit and warn levels and
versions of namespaces without labels; its ``exemptions`` exempt namespaces, runtime
classes and users.  A bare PodSecurityConfiguration file is read too.

Schema: k8s.io/pod-security-admission/admission/api (v1alpha1, v1beta1, v1): missing
defaults are ``privileged`` and ``latest``; a level outside privileged/baseline/restricted
or a version that is not ``latest`` or ``v1.N`` makes the API server refuse to start, so it
is an error here too.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from kubelint_cc.excerpt import excerpt

MODES = ("enforce", "audit", "warn")
LEVELS = ("privileged", "baseline", "restricted")
PSC_VERSIONS = tuple(f"pod-security.admission.config.k8s.io/{v}" for v in ("v1", "v1beta1", "v1alpha1"))
AC_VERSIONS = ("apiserver.config.k8s.io/v1", "apiserver.config.k8s.io/v1alpha1", "apiserver.k8s.io/v1alpha1")
_VERSION = re.compile(r"^(latest|v1\.(0|[1-9][0-9]*))$")


class AdmissionConfigError(Exception):
    pass


@dataclass(frozen=True)
class ModePolicy:
    level: str
    version: str   # "latest" or "v1.N"


@dataclass
class PodSecurityConfig:
    path: str
    defaults: dict = field(default_factory=dict)            # mode -> ModePolicy
    namespaces: frozenset = frozenset()
    runtime_classes: frozenset = frozenset()
    usernames: tuple = ()

    def exemption(self, namespace: str | None, runtime_class) -> str | None:
        """Why PSA would not evaluate an object at all, or None."""
        if namespace in self.namespaces:
            return f"namespace {excerpt(repr(namespace))} is in the admission configuration's exemptions.namespaces"
        if isinstance(runtime_class, str) and runtime_class in self.runtime_classes:
            return (f"runtimeClassName {excerpt(repr(runtime_class))} is in the admission configuration's "
                    f"exemptions.runtimeClasses")
        return None


def load(path: str) -> PodSecurityConfig:
    from kubelint_cc import config as config_mod  # its YAML reader gives positions

    if not os.path.isfile(path):
        raise AdmissionConfigError(f"{path}: admission configuration not found")
    try:
        data, root = config_mod._load_yaml(path)
    except config_mod.ConfigError as e:
        raise AdmissionConfigError(str(e)) from None

    def where(steps) -> str:
        return config_mod._yaml_where(path, root, steps)

    if not isinstance(data, dict):
        raise AdmissionConfigError(f"{where([])}: expected an AdmissionConfiguration or a PodSecurityConfiguration")
    kind, api = data.get("kind"), data.get("apiVersion")
    if kind == "PodSecurityConfiguration":
        return _pod_security(path, data, [], where)
    if kind != "AdmissionConfiguration":
        raise AdmissionConfigError(f"{where(['kind'] if 'kind' in data else [])}: kind must be AdmissionConfiguration "
                                   f"or PodSecurityConfiguration, got {excerpt(repr(kind))}")
    if api not in AC_VERSIONS:
        raise AdmissionConfigError(f"{where(['apiVersion'])}: unknown apiVersion {excerpt(repr(api))} for "
                                   f"AdmissionConfiguration (known: {', '.join(AC_VERSIONS)})")
    plugins = data.get("plugins")
    if not isinstance(plugins, list):
        raise AdmissionConfigError(f"{where(['plugins'] if 'plugins' in data else [])}: plugins must be a list")
    for i, plugin in enumerate(plugins):
        if not isinstance(plugin, dict) or plugin.get("name") != "PodSecurity":
            continue
        if isinstance(plugin.get("configuration"), dict):
            return _pod_security(path, plugin["configuration"], ["plugins", i, "configuration"], where)
        if isinstance(plugin.get("path"), str):
            target = os.path.join(os.path.dirname(os.path.abspath(path)), plugin["path"])
            return load(target)
        raise AdmissionConfigError(f"{where(['plugins', i])}: the PodSecurity plugin needs a configuration or a path")
    raise AdmissionConfigError(f"{where(['plugins'])}: no PodSecurity plugin in this AdmissionConfiguration")


def _pod_security(path: str, data: dict, at: list, where) -> PodSecurityConfig:
    api = data.get("apiVersion")
    if api not in PSC_VERSIONS:
        raise AdmissionConfigError(f"{where(at + ['apiVersion'])}: unknown apiVersion {excerpt(repr(api))} for "
                                   f"PodSecurityConfiguration (known: {', '.join(PSC_VERSIONS)})")
    if data.get("kind") != "PodSecurityConfiguration":
        raise AdmissionConfigError(f"{where(at + ['kind'])}: kind must be PodSecurityConfiguration")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise AdmissionConfigError(f"{where(at + ['defaults'])}: defaults must be a mapping")
    modes = {}
    for mode in MODES:
        level, version = defaults.get(mode, "privileged"), defaults.get(f"{mode}-version", "latest")
        if level not in LEVELS:
            raise AdmissionConfigError(f"{where(at + ['defaults', mode])}: {mode} must be one of "
                                       f"{', '.join(LEVELS)}, got {excerpt(repr(level))}")
        if not isinstance(version, str) or not _VERSION.match(version):
            raise AdmissionConfigError(f"{where(at + ['defaults', mode + '-version'])}: {mode}-version must be "
                                       f"\"latest\" or \"v1.N\", got {excerpt(repr(version))}")
        modes[mode] = ModePolicy(level, version)
    exemptions = data.get("exemptions") or {}
    lists = {}
    for key in ("namespaces", "runtimeClasses", "usernames"):
        value = exemptions.get(key) or [] if isinstance(exemptions, dict) else None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise AdmissionConfigError(f"{where(at + ['exemptions', key])}: exemptions.{key} must be a list of strings")
        lists[key] = value
    return PodSecurityConfig(path, modes, frozenset(lists["namespaces"]), frozenset(lists["runtimeClasses"]),
                             tuple(lists["usernames"]))
