"""The one Node (src/node.c): `localhost`, registered at start as a kubelet registers its node,
read and written through the API like any object (kubectl get/describe/label/cordon, the Python
client), its labels and spec kept and its status refreshed across a restart.

A daemon of its own: labelling and cordoning the node must not reach other modules' tests."""
import os
import re
import shutil

import pytest

from e2elib import poll, uniq

NODE = "/api/v1/nodes/localhost"


@pytest.fixture(scope="module")
def nd(make_daemon):
    return make_daemon()


def kubectl_or_skip(d, *args):
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    return d.kubectl(*args, check=True).stdout


def meminfo_kib():
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return None


def test_the_node_as_registered(nd):
    r = nd.get(NODE)
    assert r.status == 200, r
    n = r.json
    assert (n["apiVersion"], n["kind"], n["metadata"]["name"]) == ("v1", "Node", "localhost")
    assert "namespace" not in n["metadata"]
    labels = n["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "localhost" and labels["kubernetes.io/os"] == "linux", labels
    st = n["status"]
    cap = st["capacity"]
    assert cap["cpu"] == str(os.cpu_count()) and cap["pods"] == "110", cap
    page = os.sysconf("SC_PAGESIZE")
    assert cap["memory"] == f"{os.sysconf('SC_PHYS_PAGES') * page // 1024}Ki", cap
    assert abs(int(cap["memory"][:-2]) - meminfo_kib()) < 1024 * 1024, (cap, meminfo_kib())
    assert st["allocatable"] == cap
    conds = {c["type"]: (c["status"], c["reason"]) for c in st["conditions"]}
    assert conds == {"MemoryPressure": ("False", "KubeletHasSufficientMemory"),
                     "DiskPressure": ("False", "KubeletHasNoDiskPressure"),
                     "PIDPressure": ("False", "KubeletHasSufficientPID"),
                     "Ready": ("True", "KubeletReady")}, conds
    assert st["addresses"] == [{"type": "InternalIP", "address": "127.0.0.1"},
                               {"type": "Hostname", "address": "localhost"}]
    info = st["nodeInfo"]
    version = nd.get("/version").json["gitVersion"]
    assert (info["kubeletVersion"], info["kernelVersion"], info["operatingSystem"]) == (
        version, os.uname().release, "linux"), info
    # a list holds it, and the node's field selectors work
    r = nd.get("/api/v1/nodes", query={"fieldSelector": "spec.unschedulable=false"})
    assert r.status == 200 and [i["metadata"]["name"] for i in r.json["items"]] == ["localhost"], r
    r = nd.get("/api/v1/nodes", query={"fieldSelector": "status.phase=Running"})
    assert r.status == 400, r


def test_the_node_lease(nd):
    """kubelet's heartbeat Lease in kube-node-lease, owned by the node; the system namespaces a
    cluster starts with; kube-public is immortal as default and kube-system are."""
    node = nd.get(NODE).json
    r = nd.get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/localhost")
    assert r.status == 200, r
    lease = r.json
    assert lease["spec"]["holderIdentity"] == "localhost" and lease["spec"]["leaseDurationSeconds"] == 40
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", lease["spec"]["renewTime"]), lease
    assert lease["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "localhost", "uid": node["metadata"]["uid"]}], lease
    names = {n["metadata"]["name"] for n in nd.get("/api/v1/namespaces").json["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names, names
    r = nd.delete("/api/v1/namespaces/kube-public")
    assert (r.status, r.json["message"]) == (
        403, 'namespaces "kube-public" is forbidden: this namespace may not be deleted'), r
    # a client's own lease (leader election) is an ordinary object
    mine = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "my-controller"},
            "spec": {"holderIdentity": "replica-a", "leaseDurationSeconds": 15}}
    ns = nd.create_ns(uniq("lease"))
    r = nd.post(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases", mine)
    assert r.status == 201 and r.json["spec"]["holderIdentity"] == "replica-a", r
    if shutil.which("kubectl"):
        out = nd.kubectl("get", "leases", "-A", "--no-headers", check=True).stdout.split("\n")
        assert any(l.split()[:3] == ["kube-node-lease", "localhost", "localhost"] for l in out), out
        text = nd.kubectl("describe", "node", "localhost", check=True).stdout
        assert "HolderIdentity:  localhost" in text and "Failed to get lease" not in text, text


def test_python_client_reads_the_node(nd):
    from kubernetes import client
    v1 = client.CoreV1Api(nd.api_client)
    assert [n.metadata.name for n in v1.list_node().items] == ["localhost"]
    n = v1.read_node("localhost")
    assert n.status.node_info.architecture in ("amd64", "arm64") and n.status.capacity["pods"] == "110"


def test_kubectl_get_and_describe_nodes(nd):
    out = kubectl_or_skip(nd, "get", "nodes", "-o", "wide", "--no-headers").split()
    version = nd.get("/version").json["gitVersion"]
    assert out[:3] == ["localhost", "Ready", "<none>"], out
    assert out[4:7] == [version, "127.0.0.1", "<none>"], out
    assert out[-2:] == [os.uname().release, f"torchjob://{version}"], out
    assert "nodes" in kubectl_or_skip(nd, "api-resources", "--namespaced=false", "-o", "name").split()
    ns = nd.create_ns(uniq("node"))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper"},
           "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "30"],
                                    "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}}}]}}
    assert nd.post(f"/api/v1/namespaces/{ns}/pods", pod).status == 201
    try:
        text = kubectl_or_skip(nd, "describe", "node", "localhost")
        assert "Non-terminated Pods:          (1 in total)" in text, text
        assert f"{ns}" in text and "sleeper" in text and "500m (" in text, text
        assert "Ready            True" in text, text
    finally:
        nd.delete(f"/api/v1/namespaces/{ns}/pods/sleeper", query={"gracePeriodSeconds": "0"})


def test_label_cordon_and_restart(nd):
    kubectl_or_skip(nd, "label", "node", "localhost", "node-role.kubernetes.io/trainer=")
    kubectl_or_skip(nd, "cordon", "localhost")
    out = kubectl_or_skip(nd, "get", "node", "localhost", "--no-headers").split()
    assert out[1:3] == ["Ready,SchedulingDisabled", "trainer"], out
    before = nd.get(NODE).json
    assert before["spec"]["unschedulable"] is True and before["status"]["conditions"], before
    # a restart keeps what the API wrote and registers the status anew
    nd.stop()
    nd.start()
    after = nd.get(NODE).json
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["metadata"]["labels"]["node-role.kubernetes.io/trainer"] == ""
    assert after["spec"]["unschedulable"] is True
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    assert after["status"]["nodeInfo"] == before["status"]["nodeInfo"]
    kubectl_or_skip(nd, "uncordon", "localhost")
    assert "unschedulable" not in nd.get(NODE).json["spec"]


def test_heartbeats(make_daemon):
    """kubelet's heartbeats: the Lease renewed every interval (10 s; 100 ms here), made again when
    deleted; the status reported every 30 renewals (5 min; 3 s here) with a new lastHeartbeatTime
    and the same lastTransitionTime."""
    import time
    d = make_daemon(env={"TORCHJOBD_NODE_RENEW_MS": "100"})
    lease_path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/localhost"
    first = d.get(lease_path).json["spec"]["renewTime"]
    poll(lambda: d.get(lease_path).json["spec"]["renewTime"] > first, timeout=5, desc="lease renewed")
    assert d.delete(lease_path).status == 200
    poll(lambda: d.get(lease_path).status == 200, timeout=5, desc="lease made again")
    ready = [c for c in d.get(NODE).json["status"]["conditions"] if c["type"] == "Ready"][0]
    time.sleep(1.1)  # the heartbeat time has whole seconds

    def reported():
        c = [c for c in d.get(NODE).json["status"]["conditions"] if c["type"] == "Ready"][0]
        return c if c["lastHeartbeatTime"] > ready["lastHeartbeatTime"] else None
    later = poll(reported, timeout=10, desc="status reported")
    assert later["lastTransitionTime"] == ready["lastTransitionTime"] and later["status"] == "True", later
