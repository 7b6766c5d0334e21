"""Catalogue of the kata-agent policy rule names (AgentService request message names).

Source: kata-containers src/libs/protocols/protos/agent.proto (service AgentService, 41
request types as of 4.1.0); the rule name is the protobuf *message* name of the request
(src/agent/src/policy.rs is_allowed), e.g. WriteStdin -> WriteStreamRequest,
MemAgentMemcgSet -> MemAgentMemcgConfig.
"""
from __future__ import annotations

#: Every request type of the current AgentService, in alphabetical order.
AGENT_REQUESTS: tuple[str, ...] = (
    "AddARPNeighborsRequest",
    "AddSwapPathRequest",
    "AddSwapRequest",
    "CloseStdinRequest",
    "CopyFileRequest",
    "CreateContainerRequest",
    "CreateSandboxRequest",
    "DestroySandboxRequest",
    "ExecProcessRequest",
    "GetDiagnosticDataRequest",
    "GetIPTablesRequest",
    "GetMetricsRequest",
    "GetOOMEventRequest",
    "GuestDetailsRequest",
    "ListInterfacesRequest",
    "ListRoutesRequest",
    "MemAgentCompactConfig",
    "MemAgentMemcgConfig",
    "MemHotplugByProbeRequest",
    "OnlineCPUMemRequest",
    "PauseContainerRequest",
    "ReadStreamRequest",
    "RemoveContainerRequest",
    "RemoveStaleVirtiofsShareMountsRequest",
    "ReseedRandomDevRequest",
    "ResizeVolumeRequest",
    "ResumeContainerRequest",
    "SetGuestDateTimeRequest",
    "SetIPTablesRequest",
    "SetPolicyRequest",
    "SignalProcessRequest",
    "StartContainerRequest",
    "StatsContainerRequest",
    "TtyWinResizeRequest",
    "UpdateContainerRequest",
    "UpdateEphemeralMountsRequest",
    "UpdateInterfaceRequest",
    "UpdateRoutesRequest",
    "VolumeStatsRequest",
    "WaitProcessRequest",
    "WriteStreamRequest",
)

#: Not a request: queried once with input {} when a policy is loaded; true turns every
#: denied or undefined request into an allowed one (src/agent/policy/src/policy.rs).
ALLOW_FAILING = "AllowRequestsFailingPolicy"

#: Names found in old policies that match no current RPC (no effect).
LEGACY_REQUESTS: dict[str, str] = {
    "PullImageRequest": "CCv0-only RPC, removed from rules.rego in 2024",
    "StartTracingRequest": "tracing RPCs were removed in 2021",
    "StopTracingRequest": "tracing RPCs were removed in 2021",
}

#: Requests the runtime must get through for a pod to start at all.
POD_START_REQUESTS: tuple[str, ...] = ("CreateSandboxRequest", "CreateContainerRequest", "StartContainerRequest")

# What an allowed host can do, and how loud a finding is when the request is allowed for an
# arbitrary (attacker-chosen) request ("enabled") or only under a condition on the input
# ("conditional").  None = no finding.  Risk column of FACTS.md section 3.
#   name: (rule-id stem, what it exposes, severity if enabled, severity if conditional)
REQUEST_RISK: dict[str, tuple[str, str, str | None, str | None]] = {
    "ExecProcessRequest": (
        "kata-exec",
        "the host can run commands inside the containers (kubectl exec) and read secrets and memory",
        "error", "warning"),
    "ReadStreamRequest": (
        "kata-log",
        "the host can read container and exec stdout/stderr (kubectl logs)",
        "error", "warning"),
    "SetPolicyRequest": (
        "kata-setpolicy",
        "the host can replace the whole agent policy at runtime, e.g. with allow-all",
        "error", "warning"),
    "WriteStreamRequest": (
        "kata-stdin",
        "the host can write to container and exec stdin",
        "warning", "note"),
    "CopyFileRequest": (
        "kata-copyfile",
        "the host can write files, directories and symlinks into the guest (CVE-2026-41326 class)",
        "warning", None),
    "CreateContainerRequest": (
        "kata-create-container",
        "the host can start containers with an OCI spec, image, mounts and devices of its choice",
        "warning", None),
    "AddSwapRequest": (
        "kata-swap",
        "the host can make the guest swap to host-visible storage, so memory leaves the TEE",
        "warning", None),
    "AddSwapPathRequest": (
        "kata-swap",
        "the host can make the guest swap to host-visible storage, so memory leaves the TEE",
        "warning", None),
    "SetIPTablesRequest": (
        "kata-network-mutation",
        "the host can rewrite the guest iptables",
        "warning", None),
    "CreateSandboxRequest": (
        "kata-risky-request",
        "the host chooses sandbox storages, guest hooks, kernel modules and pid-namespace sharing",
        "note", None),
    "UpdateInterfaceRequest": (
        "kata-network-mutation",
        "the host can change guest interface addresses and flags (traffic redirection)",
        "note", None),
    "UpdateRoutesRequest": (
        "kata-network-mutation",
        "the host can change guest routes (traffic redirection)",
        "note", None),
    "AddARPNeighborsRequest": (
        "kata-network-mutation",
        "the host can add static ARP entries (spoofing)",
        "note", None),
    "UpdateEphemeralMountsRequest": (
        "kata-risky-request",
        "the host can remount ephemeral storages with its own specs",
        "note", None),
    "SetGuestDateTimeRequest": (
        "kata-risky-request",
        "the host can set the guest clock, which breaks certificate and token expiry checks",
        "note", None),
    "ReseedRandomDevRequest": (
        "kata-risky-request",
        "the host can feed and credit entropy to the guest /dev/random",
        "note", None),
    "GetDiagnosticDataRequest": (
        "kata-risky-request",
        "the host can read a container's termination-log file",
        "note", None),
    "MemAgentMemcgConfig": (
        "kata-risky-request",
        "the host can force swap or eviction through mem-agent",
        "note", None),
    "MemAgentCompactConfig": (
        "kata-risky-request",
        "the host can force memory compaction through mem-agent",
        "note", None),
}
