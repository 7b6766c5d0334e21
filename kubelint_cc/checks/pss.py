"""Pod Security Standards: every check of Kubernetes' Pod Security Admission
(k8s.io/pod-security-admission, policy/check_*.go), with its versioned behaviour.

Each check is a pure function (metadata, spec, minor) -> Violations, where `minor` is
the policy version v1.<minor> being enforced.  Paths are relative to the pod template,
so the engine can place them in a Pod or inside any controller.  Where PSA sees a
defaulted object (a volume without a source is an emptyDir) we judge the YAML the
same way.  Rule metadata and docs live in rules/<rule>.toml.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from kubelint_cc.excerpt import excerpt, quoted  # every value quoted in a message: short and escaped

BASELINE, RESTRICTED = "baseline", "restricted"
LATEST_MINOR = 37  # newest policy version any check defines; `latest` and v1.N above it mean this


@dataclass(frozen=True)
class Violation:
    path: tuple
    message: str


@dataclass(frozen=True)
class Check:
    control: str  # the PSA check ID
    level: str
    since: int  # first policy minor version with this check
    func: Callable[[dict, dict, int], Iterator[Violation]]
    overrides: tuple = ()  # (baseline control, from minor) replaced at the restricted level


CHECKS: dict[str, Check] = {}


def check(control: str, level: str, since: int = 0, overrides: tuple = ()):
    def register(func):
        if control in CHECKS:
            raise ValueError(f"duplicate check {control}")
        CHECKS[control] = Check(control, level, since, func, overrides)
        return func
    return register


def active_checks(level: str, minor: int) -> list[Check]:
    """The checks PSA evaluates at this level and version, restricted overrides applied."""
    if level not in (BASELINE, RESTRICTED):
        return []
    minor = min(minor, LATEST_MINOR)
    chosen = [c for c in CHECKS.values()
              if c.since <= minor and (c.level == BASELINE or level == RESTRICTED)]
    if level == RESTRICTED:
        replaced = {base for c in chosen for base, since in c.overrides if since <= minor}
        chosen = [c for c in chosen if c.control not in replaced]
    return chosen


def replaced_baseline(check: Check, meta: dict, spec: dict, minor: int) -> dict[tuple, tuple[str, Violation]]:
    """For a restricted check that replaces baseline checks at this version: the baseline
    violations, by path, {path: (baseline control, violation)}.  A restricted finding at
    one of these paths is also a baseline violation (hostPath is both a restricted volume
    type and forbidden by hostPathVolumes), so it must not be graded restricted-only."""
    out: dict[tuple, tuple[str, Violation]] = {}
    for base, since in check.overrides:
        if since <= min(minor, LATEST_MINOR):
            for v in CHECKS[base].func(meta, spec, minor):
                out.setdefault(v.path, (base, v))
    return out


# ---------------------------------------------------------------- helpers

def _m(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list:
    return value if isinstance(value, list) else []


# A value of the wrong type (`privileged: "true"`, `runAsUser: "0"`, a list where a string
# belongs) counts as absent, like a field the API server cannot decode; kubelint_cc.validate
# reports it as an input error.  So a wrong type never matches a forbidden value and never
# satisfies a required one, and no unhashable value reaches a set lookup.

def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _str(value: Any) -> str:
    """A string field as Go reads it: absent, null and wrong types are all ""."""
    return value if isinstance(value, str) else ""


def _strings(value: Any) -> Iterator[tuple[int, str]]:
    """(index, item) of the string items of a list field."""
    return ((i, item) for i, item in enumerate(_l(value)) if isinstance(item, str))


def _is_set(value: Any) -> bool:
    """Whether a pointer-to-struct field is non-nil: only a mapping decodes to one."""
    return isinstance(value, dict)


POD_SC = ("spec", "securityContext")
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def containers(spec: dict) -> Iterator[tuple[tuple, dict, str]]:
    """(path, container, display name) for init, regular and ephemeral containers, in PSA's order."""
    for field in CONTAINER_LISTS:
        for i, c in enumerate(_l(spec.get(field))):
            if isinstance(c, dict):
                yield ("spec", field, i), c, _name(c, field, i)


def _name(c: dict, field: str, i: int) -> str:
    name = c.get("name")
    return quoted(name) if isinstance(name, str) and name else f"{field}[{i}]"


def _sc(container: dict) -> dict:
    return _m(container.get("securityContext"))


def is_windows(spec: dict) -> bool:
    return _m(spec.get("os")).get("name") == "windows"


def user_namespaced(spec: dict) -> bool:
    return spec.get("hostUsers") is False


# ---------------------------------------------------------------- baseline

@check("hostNamespaces", BASELINE)
def host_namespaces(meta, spec, minor):
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field) is True:
            yield Violation(("spec", field), f"{field}=true shares the host's namespace with the pod")


@check("privileged", BASELINE)
def privileged(meta, spec, minor):
    for path, c, name in containers(spec):
        if _sc(c).get("privileged") is True:
            yield Violation(path + ("securityContext", "privileged"),
                            f"container {name} must not set securityContext.privileged=true")


CAPABILITIES_BASELINE = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})


@check("capabilities_baseline", BASELINE)
def capabilities_baseline(meta, spec, minor):
    for path, c, name in containers(spec):
        caps = _m(_sc(c).get("capabilities"))
        for i, cap in _strings(caps.get("add")):
            if cap not in CAPABILITIES_BASELINE:
                yield Violation(path + ("securityContext", "capabilities", "add", i),
                                f'container {name} must not include {quoted(cap)} in securityContext.capabilities.add')


@check("hostPathVolumes", BASELINE)
def host_path_volumes(meta, spec, minor):
    for i, vol in enumerate(_l(spec.get("volumes"))):
        vol = _m(vol)
        if _is_set(vol.get("hostPath")):
            yield Violation(("spec", "volumes", i, "hostPath"),
                            f'volume {quoted(vol.get("name"))} must not use hostPath')


@check("hostPorts", BASELINE)
def host_ports(meta, spec, minor):
    for path, c, name in containers(spec):
        for i, port in enumerate(_l(c.get("ports"))):
            host_port = _m(port).get("hostPort")
            if _int(host_port) is not None and host_port != 0:
                yield Violation(path + ("ports", i, "hostPort"), f"container {name} uses hostPort {excerpt(host_port)}")


@check("appArmorProfile", BASELINE)
def apparmor_profile(meta, spec, minor):
    # The field check was patched into the v1.0 policy, so it applies at every version.
    profile_types = {"RuntimeDefault", "Localhost"}
    pod_profile = _m(spec.get("securityContext")).get("appArmorProfile")
    if _is_set(pod_profile) and _str(pod_profile.get("type")) not in profile_types:
        yield Violation(POD_SC + ("appArmorProfile", "type"),
                        f'pod must not set AppArmor profile type to {quoted(_str(pod_profile.get("type")))}')
    for path, c, name in containers(spec):
        profile = _sc(c).get("appArmorProfile")
        if _is_set(profile) and _str(profile.get("type")) not in profile_types:
            yield Violation(path + ("securityContext", "appArmorProfile", "type"),
                            f'container {name} must not set AppArmor profile type to {quoted(_str(profile.get("type")))}')
    for key, value in _m(meta.get("annotations")).items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/"):
            value = _str(value)  # "" (also null) is allowed here
            if not (value == "" or value == "runtime/default" or value.startswith("localhost/")):
                yield Violation(("metadata", "annotations", key), f'forbidden AppArmor annotation {excerpt(key)}={quoted(value)}')


@check("seLinuxOptions", BASELINE)
def selinux_options(meta, spec, minor):
    allowed = {"", "container_t", "container_init_t", "container_kvm_t"}
    if minor >= 31:
        allowed.add("container_engine_t")
    places = [(POD_SC, _m(spec.get("securityContext")), "pod")]
    places += [(path + ("securityContext",), _sc(c), f"container {name}") for path, c, name in containers(spec)]
    for path, sc, who in places:
        opts = sc.get("seLinuxOptions")
        if not _is_set(opts):
            continue
        seopt = path + ("seLinuxOptions",)
        if _str(opts.get("type")) not in allowed:
            yield Violation(seopt + ("type",), f'{who} must not set seLinuxOptions.type {quoted(opts["type"])}')
        for field in ("user", "role"):
            if _str(opts.get(field)):
                yield Violation(seopt + (field,), f"{who} must not set seLinuxOptions.{field}")


def _seccomp_type_ok(profile: dict) -> bool:
    return _str(profile.get("type")) in ("RuntimeDefault", "Localhost")


def _seccomp_annotation_ok(value: str) -> bool:
    return value in ("runtime/default", "docker/default") or value.startswith("localhost/")


@check("seccompProfile_baseline", BASELINE)
def seccomp_profile_baseline(meta, spec, minor):
    if minor < 19:
        annotations = _m(meta.get("annotations"))
        keys = ["seccomp.security.alpha.kubernetes.io/pod"]
        keys += [f"container.seccomp.security.alpha.kubernetes.io/{c.get('name')}"
                 for _, c, _ in containers(spec) if isinstance(c.get("name"), str)]
        for key in keys:
            if key not in annotations or not isinstance(annotations[key], (str, type(None))):
                continue  # absent, or of the wrong type (which counts as absent)
            # Unlike AppArmor's, an empty value (null reads as "") is forbidden.
            if not _seccomp_annotation_ok(_str(annotations[key])):
                yield Violation(("metadata", "annotations", key),
                                f'forbidden seccomp annotation {excerpt(key)}={quoted(_str(annotations[key]))}')
        return
    places = [(POD_SC, _m(spec.get("securityContext")), "pod")]
    places += [(path + ("securityContext",), _sc(c), f"container {name}") for path, c, name in containers(spec)]
    for path, sc, who in places:
        profile = sc.get("seccompProfile")
        if _is_set(profile) and not _seccomp_type_ok(profile):
            yield Violation(path + ("seccompProfile", "type"),
                            f'{who} must not set securityContext.seccompProfile.type to {quoted(_str(profile.get("type")))}')


SYSCTLS = [
    (0, {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
         "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"}),
    (27, {"net.ipv4.ip_local_reserved_ports"}),
    (29, {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
          "net.ipv4.tcp_keepalive_probes"}),
    (32, {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}),
    (37, {"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"}),
]


def allowed_sysctls(minor: int) -> set[str]:
    return set().union(*(names for since, names in SYSCTLS if since <= minor))


@check("sysctls", BASELINE)
def sysctls(meta, spec, minor):
    allowed = allowed_sysctls(minor)
    for i, entry in enumerate(_l(_m(spec.get("securityContext")).get("sysctls"))):
        if not isinstance(entry, dict):
            continue
        name = _str(entry.get("name"))
        if name not in allowed:
            yield Violation(POD_SC + ("sysctls", i, "name"), f'forbidden sysctl {quoted(name)}')


@check("windowsHostProcess", BASELINE)
def windows_host_process(meta, spec, minor):
    places = [(POD_SC, _m(spec.get("securityContext")), "pod")]
    places += [(path + ("securityContext",), _sc(c), f"container {name}") for path, c, name in containers(spec)]
    for path, sc, who in places:
        if _m(sc.get("windowsOptions")).get("hostProcess") is True:
            yield Violation(path + ("windowsOptions", "hostProcess"),
                            f"{who} must not set securityContext.windowsOptions.hostProcess=true")


def _procmount(spec):
    for path, c, name in containers(spec):
        sc = _sc(c)
        if isinstance(sc.get("procMount"), str) and sc["procMount"] != "Default":  # even "" is forbidden
            yield Violation(path + ("securityContext", "procMount"),
                            f'container {name} must not set securityContext.procMount to {quoted(sc["procMount"])}')


@check("procMount", BASELINE)
def proc_mount(meta, spec, minor):
    if minor >= 35 and user_namespaced(spec):
        return  # v1.35: a user-namespaced pod may unmask /proc
    yield from _procmount(spec)


HOST_HANDLERS = ("livenessProbe", "readinessProbe", "startupProbe")


@check("hostProbesAndHostLifecycle", BASELINE, since=34)
def host_probes_and_lifecycle(meta, spec, minor):
    for path, c, name in containers(spec):
        handlers = [((probe,), c.get(probe)) for probe in HOST_HANDLERS]
        lifecycle = _m(c.get("lifecycle"))
        handlers += [(("lifecycle", hook), lifecycle.get(hook)) for hook in ("postStart", "preStop")]
        for where, handler in handlers:
            for action in ("httpGet", "tcpSocket"):
                host = _str(_m(_m(handler).get(action)).get("host"))
                if host:
                    yield Violation(path + where + (action, "host"),
                                    f'container {name} must not set {".".join(where)}.{action}.host {quoted(host)}')


# ---------------------------------------------------------------- restricted

ALLOWED_VOLUME_SOURCES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                          "persistentVolumeClaim", "projected", "secret")
RESTRICTED_VOLUME_SOURCES = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs", "rbd",
    "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos")


@check("restrictedVolumes", RESTRICTED, overrides=(("hostPathVolumes", 0),))
def restricted_volumes(meta, spec, minor):
    for i, vol in enumerate(_l(spec.get("volumes"))):
        vol = _m(vol)
        if any(_is_set(vol.get(src)) for src in ALLOWED_VOLUME_SOURCES):
            continue
        sources = [k for k, v in vol.items() if k != "name" and _is_set(v)]
        if not sources:
            continue  # the API defaults a volume without a source to emptyDir
        kind = next((s for s in RESTRICTED_VOLUME_SOURCES if _is_set(vol.get(s))), sources[0])
        yield Violation(("spec", "volumes", i, kind),
                        f'volume {quoted(vol.get("name"))} uses restricted volume type {quoted(kind)}')


@check("allowPrivilegeEscalation", RESTRICTED, since=8)
def allow_privilege_escalation(meta, spec, minor):
    if minor >= 25 and is_windows(spec):
        return
    for path, c, name in containers(spec):
        if _sc(c).get("allowPrivilegeEscalation") is not False:
            yield Violation(path + ("securityContext", "allowPrivilegeEscalation"),
                            f"container {name} must set securityContext.allowPrivilegeEscalation=false")


@check("capabilities_restricted", RESTRICTED, since=22, overrides=(("capabilities_baseline", 22),))
def capabilities_restricted(meta, spec, minor):
    if minor >= 25 and is_windows(spec):
        return
    for path, c, name in containers(spec):
        caps = _sc(c).get("capabilities")
        cap_path = path + ("securityContext", "capabilities")
        if not _is_set(caps) or "ALL" not in _l(caps.get("drop")):
            yield Violation(cap_path + ("drop",), f'container {name} must set securityContext.capabilities.drop=["ALL"]')
        for i, cap in _strings(_m(caps).get("add")):
            if cap != "NET_BIND_SERVICE":
                yield Violation(cap_path + ("add", i),
                                f'container {name} must not include {quoted(cap)} in securityContext.capabilities.add')


@check("procMount_restricted", RESTRICTED, since=35, overrides=(("procMount", 35),))
def proc_mount_restricted(meta, spec, minor):
    yield from _procmount(spec)  # no user-namespace relaxation at restricted


@check("runAsNonRoot", RESTRICTED)
def run_as_non_root(meta, spec, minor):
    if minor >= 35 and user_namespaced(spec):
        return
    pod_value = _bool(_m(spec.get("securityContext")).get("runAsNonRoot"))
    explicit, implicit = [], []
    if pod_value is False:
        explicit.append(Violation(POD_SC + ("runAsNonRoot",), "pod must not set securityContext.runAsNonRoot=false"))
    for path, c, name in containers(spec):
        value = _bool(_sc(c).get("runAsNonRoot"))
        if value is not None:
            if value is False:
                explicit.append(Violation(path + ("securityContext", "runAsNonRoot"),
                                          f"container {name} must not set securityContext.runAsNonRoot=false"))
        elif pod_value is not True:
            implicit.append(Violation(path + ("securityContext", "runAsNonRoot"),
                                      f"pod or container {name} must set securityContext.runAsNonRoot=true"))
    yield from explicit  # PSA names only these; fixing them reveals the rest, so say both now
    yield from implicit


@check("runAsUser", RESTRICTED, since=23)
def run_as_user(meta, spec, minor):
    if minor >= 35 and user_namespaced(spec):
        return
    places = [(POD_SC, _m(spec.get("securityContext")), "pod")]
    places += [(path + ("securityContext",), _sc(c), f"container {name}") for path, c, name in containers(spec)]
    for path, sc, who in places:
        if _int(sc.get("runAsUser")) == 0:
            yield Violation(path + ("runAsUser",), f"{who} must not set runAsUser=0")


@check("seccompProfile_restricted", RESTRICTED, since=19, overrides=(("seccompProfile_baseline", 19),))
def seccomp_profile_restricted(meta, spec, minor):
    if minor >= 25 and is_windows(spec):
        return
    pod_profile = _m(spec.get("securityContext")).get("seccompProfile")
    explicit, implicit = [], []
    if _is_set(pod_profile) and not _seccomp_type_ok(pod_profile):
        explicit.append(Violation(POD_SC + ("seccompProfile", "type"), 'pod must not set securityContext.seccompProfile'
                                  f'.type to {quoted(_str(pod_profile.get("type")))}'))
    pod_ok = _is_set(pod_profile) and _seccomp_type_ok(pod_profile)
    for path, c, name in containers(spec):
        profile = _sc(c).get("seccompProfile")
        where = path + ("securityContext", "seccompProfile")
        if _is_set(profile):
            if not _seccomp_type_ok(profile):
                explicit.append(Violation(where + ("type",),
                                          f'container {name} must not set securityContext.seccompProfile.type to '
                                          f'{quoted(_str(profile.get("type")))}'))
        elif not pod_ok:
            implicit.append(Violation(where, f'pod or container {name} must set securityContext.seccompProfile.type '
                                             'to "RuntimeDefault" or "Localhost"'))
    yield from explicit  # PSA names only these; fixing them reveals the rest, so say both now
    yield from implicit
