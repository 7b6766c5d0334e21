"""What the API server does to a manifest before Pod Security Admission sees it: integer
fields decoded from JSON numbers, out-of-range values refused, and Pod defaulting."""
import pytest

POD = """apiVersion: v1
kind: {kind}
metadata:
  name: p
spec:
{spec}"""

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
{spec}"""


def _pod(spec: str, kind: str = "Pod") -> bytes:
    return POD.format(kind=kind, spec=spec).encode()


def _controls(doc):
    return sorted((f["control"], f["line"]) for f in doc["findings"])


@pytest.mark.parametrize("value", ["80.0", "8e1", "80"])
def test_whole_number_float_host_port_is_that_port(scan_json, value):
    spec = f"  containers:\n  - name: c\n    image: x\n    ports:\n    - containerPort: 8080\n      hostPort: {value}\n"
    code, doc = scan_json("--pss-level", "baseline", "-", input=_pod(spec))
    assert not doc["errors"] and code == 1
    (f,) = doc["findings"]
    assert (f["control"], f["line"], f["column"]) == ("hostPorts", 11, 7) and "hostPort 80 " in f["message"] + " "


def test_run_as_user_in_exponent_form_is_an_integer(scan_json):
    spec = "  securityContext: {runAsNonRoot: true, runAsUser: 0.0, seccompProfile: {type: RuntimeDefault}}\n" \
           "  containers:\n  - name: c\n    image: x\n" \
           "    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, runAsUser: 1e3}\n"
    code, doc = scan_json("-", input=_pod(spec))
    assert not doc["errors"]
    assert _controls(doc) == [("runAsUser", 6)]  # 0.0 is root; 1e3 is 1000 and fine


@pytest.mark.parametrize("field, value, bits", [("hostPort", "4294967296", 32), ("hostPort", "80.5", None)])
def test_values_the_api_server_refuses_are_input_errors_and_not_judged(scan_json, field, value, bits):
    spec = f"  containers:\n  - name: c\n    image: x\n    ports:\n    - containerPort: 8080\n      {field}: {value}\n"
    code, doc = scan_json("--pss-level", "baseline", "-", input=_pod(spec))
    assert code == 2 and not doc["findings"]
    (e,) = doc["errors"]
    assert (e["line"], e["column"]) == (11, 7)
    assert (f"must be an int{bits}" if bits else "must be an integer") in e["message"]


def test_run_as_user_beyond_int64_is_refused_not_read_as_root(scan_json):
    spec = "  securityContext: {runAsNonRoot: true, runAsUser: 9223372036854775808, seccompProfile: {type: RuntimeDefault}}\n" \
           "  containers:\n  - name: c\n    image: x\n" \
           "    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n"
    code, doc = scan_json("-", input=_pod(spec))
    assert code == 2 and "must be an int64" in doc["errors"][0]["message"]
    assert not doc["findings"]


HOST_NETWORK = "  hostNetwork: true\n  containers:\n  - name: c\n    image: x\n    ports:\n    - containerPort: 8080\n"


def test_host_network_pod_gets_host_ports_defaulted_from_container_ports(scan_json):
    code, doc = scan_json("--pss-level", "baseline", "-", input=_pod(HOST_NETWORK))
    assert _controls(doc) == [("hostNamespaces", 6), ("hostPorts", 11)]
    (hp,) = [f for f in doc["findings"] if f["control"] == "hostPorts"]
    assert "hostPort 8080" in hp["message"] and "defaulted" in hp["message"]


def test_pod_templates_get_no_host_port_defaulting(scan_json):
    spec = "".join("    " + line + "\n" for line in HOST_NETWORK.splitlines())
    code, doc = scan_json("--pss-level", "baseline", "-", input=DEPLOYMENT.format(spec=spec).encode())
    assert [f["control"] for f in doc["findings"]] == ["hostNamespaces"]
