"""A pod's other containers (sidecars) run beside the main one, as kubelet runs every container of a
pod: their own processes, statuses, logs, restarts and events; the pod is over only when all are,
and a deletion stops them all before the pod goes."""
import os
import time

import pytest

from e2elib import poll, uniq

pytestmark = pytest.mark.usefixtures("daemon")


@pytest.fixture(scope="module")
def ns(daemon):
    n = daemon.create_ns(uniq("side"))
    yield n
    daemon.delete(f"/api/v1/namespaces/{n}/pods", query={"gracePeriodSeconds": "0"})
    poll(lambda: not daemon.get(f"/api/v1/namespaces/{n}/pods").json["items"], desc="pods gone")


def make_pod(daemon, ns, main_cmd, side_cmd, restart="Always", grace=2):
    name = uniq("sc")
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": restart, "terminationGracePeriodSeconds": grace, "containers": [
                {"name": "main", "image": "busybox", "command": ["sh", "-c", main_cmd]},
                {"name": "side", "image": "busybox", "command": ["sh", "-c", side_cmd],
                 "env": [{"name": "WHO", "value": "sidecar"}]}]}}
    r = daemon.post(f"/api/v1/namespaces/{ns}/pods", body)
    assert r.status == 201, r.text
    return name


def pod(daemon, ns, name):
    return daemon.get(f"/api/v1/namespaces/{ns}/pods/{name}").json


def statuses(daemon, ns, name):
    return {c["name"]: c for c in pod(daemon, ns, name).get("status", {}).get("containerStatuses") or []}


def test_both_run_with_their_own_status_logs_and_exec(daemon, kubectl, ns):
    name = make_pod(daemon, ns, "echo main; sleep 300", "echo hello from $WHO; sleep 300")
    poll(lambda: all(c.get("ready") for c in statuses(daemon, ns, name).values()) and
         len(statuses(daemon, ns, name)) == 2, desc="both ready")
    p = pod(daemon, ns, name)
    assert [c["name"] for c in p["status"]["containerStatuses"]] == ["main", "side"]
    side = p["status"]["containerStatuses"][1]
    assert side["started"] is True and "running" in side["state"] and side["containerID"].startswith("torchjob://")
    assert [c["status"] for c in p["status"]["conditions"] if c["type"] == "Ready"] == ["True"]
    out = kubectl("-n", ns, "get", "pod", name, "--no-headers").stdout.split()
    assert out[1:3] == ["2/2", "Running"], out
    poll(lambda: kubectl("-n", ns, "logs", name, "-c", "side").stdout == "hello from sidecar\n", desc="side log")
    p = kubectl("-n", ns, "exec", name, "-c", "side", "--", "sh", "-c", "echo $WHO")
    assert p.returncode == 0 and p.stdout == "sidecar\n", p.stderr
    reasons = [(e["reason"], e["involvedObject"].get("fieldPath")) for e in daemon.get(
        f"/api/v1/namespaces/{ns}/events", query={"fieldSelector": f"involvedObject.name={name}"}).json["items"]]
    assert ("Started", "spec.containers{side}") in reasons and ("Started", "spec.containers{main}") in reasons


def test_never_pod_ends_with_its_last_container(daemon, ns):
    name = make_pod(daemon, ns, "exit 0", "sleep 2; exit 0", restart="Never")
    poll(lambda: statuses(daemon, ns, name).get("main", {}).get("state", {}).get("terminated"), desc="main done")
    assert pod(daemon, ns, name)["status"]["phase"] == "Running"  # the sidecar still runs
    # a follow of the sidecar's log lasts as long as the sidecar, not the main container
    import subprocess
    env = dict(os.environ, KUBECONFIG=str(daemon.kubeconfig))
    t = time.time()
    f = subprocess.run(["kubectl", "-n", ns, "logs", "-f", name, "-c", "side"], env=env, capture_output=True,
                       text=True, timeout=20)
    followed = time.time() - t
    assert f.returncode == 0, f.stderr
    assert followed >= 0.5, followed  # it followed until the sidecar's end
    poll(lambda: pod(daemon, ns, name)["status"]["phase"] == "Succeeded", timeout=10, desc="succeeded")
    failed = make_pod(daemon, ns, "exit 0", "sleep 1; exit 3", restart="Never")
    poll(lambda: pod(daemon, ns, failed)["status"].get("phase") == "Failed", timeout=10, desc="failed")
    side = statuses(daemon, ns, failed)["side"]["state"]["terminated"]
    assert side["exitCode"] == 3 and side["reason"] == "Error"


def test_sidecar_restarts_by_policy(daemon, ns):
    name = make_pod(daemon, ns, "sleep 300", "exit 1", restart="OnFailure")
    poll(lambda: statuses(daemon, ns, name).get("side", {}).get("restartCount", 0) >= 1, timeout=20,
         desc="sidecar restarted")
    st = statuses(daemon, ns, name)
    assert st["main"]["restartCount"] == 0
    assert st["side"]["lastState"]["terminated"]["exitCode"] == 1


def test_delete_stops_every_container(daemon, ns):
    name = make_pod(daemon, ns, "trap 'exit 0' TERM; sleep 300 & wait",
                    "echo $$ > /tmp/side-pid-$HOSTNAME; trap 'sleep 1; exit 0' TERM; sleep 300 & wait")
    poll(lambda: all(c.get("ready") for c in statuses(daemon, ns, name).values()) and
         len(statuses(daemon, ns, name)) == 2, desc="both ready")
    pidfile = f"/tmp/side-pid-{name}"
    poll(lambda: os.path.exists(pidfile) and open(pidfile).read().strip(), desc="side pid")
    side_pid = int(open(pidfile).read())
    t = time.time()
    assert daemon.delete(f"/api/v1/namespaces/{ns}/pods/{name}").status == 200
    poll(lambda: daemon.get(f"/api/v1/namespaces/{ns}/pods/{name}").status == 404, timeout=10, desc="pod gone")
    # the pod went only once the sidecar had ended (it takes a second on SIGTERM)
    assert time.time() - t >= 0.9
    assert not os.path.exists(f"/proc/{side_pid}")
    os.unlink(pidfile)
    kills = [e["involvedObject"].get("fieldPath") for e in daemon.get(
        f"/api/v1/namespaces/{ns}/events", query={"fieldSelector": f"involvedObject.name={name},reason=Killing"}
    ).json["items"]]
    assert sorted(kills) == ["spec.containers{main}", "spec.containers{side}"], kills


def test_native_sidecar(daemon, kubectl, ns):
    """An init container with restartPolicy Always (kube 1.29+): started in its turn, the next init
    container and the main one follow while it runs; it shows in initContainerStatuses; it neither
    holds nor fails the pod, and is terminated once the regular containers are done."""
    name = uniq("nat")
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 2,
                     "initContainers": [
                         {"name": "proxy", "image": "busybox", "restartPolicy": "Always",
                          "command": ["sh", "-c", "echo proxy up; trap 'exit 0' TERM; sleep 300 & wait"]},
                         {"name": "setup", "image": "busybox", "command": ["true"]}],
                     "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "sleep 2"]}]}}
    assert daemon.post(f"/api/v1/namespaces/{ns}/pods", body).status == 201

    def inits():
        return {c["name"]: c for c in pod(daemon, ns, name).get("status", {}).get("initContainerStatuses") or []}
    poll(lambda: statuses(daemon, ns, name).get("main", {}).get("state", {}).get("running"), desc="main running")
    proxy = inits()["proxy"]
    assert "running" in proxy["state"] and proxy["started"] is True and proxy["ready"] is True, proxy
    assert inits()["setup"]["state"]["terminated"]["exitCode"] == 0
    p = kubectl("-n", ns, "exec", name, "-c", "proxy", "--", "echo", "in proxy")
    assert p.returncode == 0 and p.stdout == "in proxy\n", p.stderr
    assert kubectl("-n", ns, "logs", name, "-c", "proxy").stdout == "proxy up\n"
    poll(lambda: pod(daemon, ns, name)["status"]["phase"] == "Succeeded", timeout=15, desc="succeeded")
    poll(lambda: inits()["proxy"]["state"].get("terminated"), timeout=10, desc="sidecar terminated")


def test_native_sidecar_always_restarts(daemon, ns):
    name = uniq("nat")
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                     "initContainers": [{"name": "flaky", "image": "busybox", "restartPolicy": "Always",
                                         "command": ["sh", "-c", "exit 1"]}],
                     "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "sleep 3"]}]}}
    assert daemon.post(f"/api/v1/namespaces/{ns}/pods", body).status == 201

    def flaky():
        return ((pod(daemon, ns, name).get("status", {}).get("initContainerStatuses") or [{}])[0])
    poll(lambda: flaky().get("restartCount", 0) >= 1, timeout=10, desc="restarted despite Never")
    # its failures do not fail the pod: the main container decides
    poll(lambda: pod(daemon, ns, name)["status"]["phase"] == "Succeeded", timeout=15, desc="succeeded")


def test_sidecar_probes(daemon, ns, tmp_path):
    flag = tmp_path / "side-ready"
    name = uniq("sp")
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [
                {"name": "main", "image": "busybox", "command": ["sleep", "300"]},
                {"name": "side", "image": "busybox", "command": ["sleep", "300"],
                 "readinessProbe": {"exec": {"command": ["test", "-f", str(flag)]}, "periodSeconds": 1}},
                {"name": "sick", "image": "busybox", "command": ["sleep", "300"],
                 "livenessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}}]}}
    assert daemon.post(f"/api/v1/namespaces/{ns}/pods", body).status == 201
    poll(lambda: statuses(daemon, ns, name).get("sick", {}).get("restartCount", 0) >= 1, timeout=15,
         desc="sick sidecar restarted by its liveness probe")
    st = statuses(daemon, ns, name)
    assert st["side"]["ready"] is False and st["main"]["ready"] is True
    flag.write_text("")
    poll(lambda: statuses(daemon, ns, name)["side"]["ready"], timeout=10, desc="side ready")
    ev = [(e["reason"], e["message"]) for e in daemon.get(
        f"/api/v1/namespaces/{ns}/events", query={"fieldSelector": f"involvedObject.name={name}"}).json["items"]]
    assert ("Killing", "Container sick failed liveness probe, will be restarted") in ev, ev
