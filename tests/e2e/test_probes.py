"""Container probes as kubelet runs them: readiness (Ready, containerStatuses[].ready), liveness
(kill and restart, with kubelet's events), startup (holds the others back, `started`), by exec,
httpGet and tcpSocket against 127.0.0.1, with their thresholds and kube's defaults."""
import socket
import threading
import time

import pytest

from e2elib import poll, uniq

pytestmark = pytest.mark.usefixtures("daemon")


@pytest.fixture(scope="module")
def ns(daemon):
    n = daemon.create_ns(uniq("probes"))
    yield n
    assert daemon.delete(f"/api/v1/namespaces/{n}/pods", query={"gracePeriodSeconds": "0"}).status == 200
    poll(lambda: not daemon.get(f"/api/v1/namespaces/{n}/pods").json["items"], desc="pods gone")


def make_pod(daemon, ns, container, restart="Always", grace=1):
    name = uniq("pr")
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": restart, "terminationGracePeriodSeconds": grace,
                     "containers": [dict({"name": "main", "image": "busybox"}, **container)]}}
    r = daemon.post(f"/api/v1/namespaces/{ns}/pods", body)
    assert r.status == 201, r.text
    return name, r.json


def status(daemon, ns, name):
    return daemon.get(f"/api/v1/namespaces/{ns}/pods/{name}").json["status"]


def main_status(daemon, ns, name):
    """containerStatuses[0], or {} before the kubelet's first status write."""
    return (status(daemon, ns, name).get("containerStatuses") or [{}])[0]


def cond(st, t):
    return next((c for c in st.get("conditions", []) if c["type"] == t), {})


def events(daemon, ns, name):
    items = daemon.get(f"/api/v1/namespaces/{ns}/events",
                       query={"fieldSelector": f"involvedObject.name={name}"}).json["items"]
    return [(e["reason"], e["message"]) for e in items]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_probe_defaults(daemon, ns):
    _, pod = make_pod(daemon, ns, {"command": ["sleep", "300"],
                                   "livenessProbe": {"httpGet": {"port": 80}},
                                   "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 2}})
    c = pod["spec"]["containers"][0]
    assert c["livenessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                                  "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert c["readinessProbe"]["periodSeconds"] == 2 and c["readinessProbe"]["failureThreshold"] == 3


def test_readiness_by_exec(daemon, ns, tmp_path):
    flag = tmp_path / "ready"
    name, _ = make_pod(daemon, ns, {"command": ["sleep", "300"],
                                    "readinessProbe": {"exec": {"command": ["test", "-f", str(flag)]},
                                                       "periodSeconds": 1}})
    poll(lambda: status(daemon, ns, name).get("phase") == "Running", desc="running")
    time.sleep(1.5)
    st = status(daemon, ns, name)
    assert st["containerStatuses"][0]["ready"] is False
    assert cond(st, "Ready")["status"] == "False"
    assert cond(st, "Ready")["message"] == "containers with unready status: [main]"
    flag.write_text("")
    poll(lambda: main_status(daemon, ns, name).get("ready"), timeout=10, desc="ready")
    assert cond(status(daemon, ns, name), "Ready")["status"] == "True"
    assert ("Unhealthy", "Readiness probe failed: ") in events(daemon, ns, name)
    flag.unlink()  # failureThreshold 3: unready again after three failures
    poll(lambda: main_status(daemon, ns, name).get("ready") is False, timeout=10, desc="unready")


def test_liveness_by_http_restarts(daemon, ns):
    port = free_port()
    # a server that answers 200 a few times, then 500: the liveness probe kills the container
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    seen = []

    def serve():
        srv.settimeout(30)
        try:
            while True:
                c, _ = srv.accept()
                req = c.recv(4096)
                seen.append(req)
                code = "200 OK" if len(seen) <= 2 else "500 Internal Server Error"
                c.sendall(f"HTTP/1.1 {code}\r\nContent-Length: 0\r\n\r\n".encode())
                c.close()
        except OSError:
            pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        name, _ = make_pod(daemon, ns, {"command": ["sleep", "300"],
                                        "livenessProbe": {"httpGet": {"port": port, "path": "/healthz",
                                                                      "httpHeaders": [{"name": "X-Probe",
                                                                                       "value": "yes"}]},
                                                          "periodSeconds": 1, "failureThreshold": 2}})
        poll(lambda: main_status(daemon, ns, name).get("restartCount", 0) >= 1, timeout=20,
             desc="restarted by liveness")
        ev = events(daemon, ns, name)
        assert ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500") in ev, ev
        assert ("Killing", "Container main failed liveness probe, will be restarted") in ev, ev
        req = seen[0].decode()
        assert req.startswith("GET /healthz HTTP/1.1\r\n") and "User-Agent: kube-probe/1.32\r\n" in req, req
        assert "X-Probe: yes\r\n" in req, req
        last = status(daemon, ns, name)["containerStatuses"][0]["lastState"]["terminated"]
        assert last["exitCode"] == 143 and last["reason"] == "Error", last  # SIGTERM
    finally:
        srv.close()


def test_liveness_by_tcp_with_never_fails_the_pod(daemon, ns):
    port = free_port()  # nothing listens
    name, _ = make_pod(daemon, ns, {"command": ["sleep", "300"],
                                    "livenessProbe": {"tcpSocket": {"port": "metrics"}, "periodSeconds": 1,
                                                      "failureThreshold": 1},
                                    "ports": [{"name": "metrics", "containerPort": port}]},
                       restart="Never")
    poll(lambda: status(daemon, ns, name).get("phase") == "Failed", timeout=15, desc="failed")
    ev = events(daemon, ns, name)
    assert ("Unhealthy", f"Liveness probe failed: dial tcp 127.0.0.1:{port}: connect: connection refused") in ev, ev


def test_startup_probe_gates_the_others(daemon, ns, tmp_path):
    flag = tmp_path / "started"
    name, _ = make_pod(daemon, ns, {"command": ["sleep", "300"],
                                    "startupProbe": {"exec": {"command": ["test", "-f", str(flag)]},
                                                     "periodSeconds": 1, "failureThreshold": 30},
                                    "livenessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1,
                                                      "failureThreshold": 1}})
    poll(lambda: status(daemon, ns, name).get("phase") == "Running", desc="running")
    time.sleep(2)
    cs = status(daemon, ns, name)["containerStatuses"][0]
    # not started: the failing liveness probe has not run, nothing restarted
    assert cs["started"] is False and cs["restartCount"] == 0, cs
    assert cs["ready"] is True  # no readiness probe: ready, as kubelet reports it
    flag.write_text("")
    poll(lambda: main_status(daemon, ns, name).get("restartCount", 0) >= 1, timeout=15,
         desc="liveness ran after startup")


def test_exec_probe_timeout(daemon, ns):
    name, _ = make_pod(daemon, ns, {"command": ["sleep", "300"],
                                    "readinessProbe": {"exec": {"command": ["sleep", "5"]}, "periodSeconds": 1,
                                                       "timeoutSeconds": 1}})
    poll(lambda: ("Unhealthy", 'Readiness probe failed: command "sleep 5" timed out') in events(daemon, ns, name),
         timeout=10, desc="timeout event")
    # the killed command is reaped: no zombie is left under the daemon
    from e2elib import child_processes
    poll(lambda: not [c for c in child_processes(daemon.proc.pid) if c[1] == "Z"], timeout=5, desc="no zombies")
