"""pods/exec: kubectl exec and kubectl cp (WebSocket, v5.channel.k8s.io), the Python client's
stream helper (v4.channel.k8s.io), a terminal, and the frames themselves (websocket-client)."""
import json
import os
import ssl
import subprocess
import time

import pytest
import websocket
from kubernetes import client
from kubernetes.stream import stream

from e2elib import poll, tokens_setup, uniq

pytestmark = pytest.mark.usefixtures("daemon")


def pod_obj(name, containers=None, init=None, **spec):
    s = {"containers": containers or [{"name": "main", "image": "busybox", "command": ["sleep", "300"],
                                       "env": [{"name": "FOO", "value": "bar"}], "workingDir": "/tmp"}]}
    if init:
        s["initContainers"] = init
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": s}


def running_pod(daemon, ns, name=None, **kw):
    name = name or uniq("ex")
    r = daemon.post(f"/api/v1/namespaces/{ns}/pods", pod_obj(name, **kw))
    assert r.status == 201, r.text
    poll(lambda: daemon.get(f"/api/v1/namespaces/{ns}/pods/{name}").json["status"].get("phase") == "Running",
         desc="pod running")
    return name


@pytest.fixture(scope="module", autouse=True)
def no_pods_left(daemon, ns):
    """The session's daemon is shared: this module's pods and their processes go with it."""
    yield
    r = daemon.delete(f"/api/v1/namespaces/{ns}/pods", query={"gracePeriodSeconds": "0"})
    assert r.status == 200, r.text
    poll(lambda: not daemon.get(f"/api/v1/namespaces/{ns}/pods").json["items"], desc="pods gone")


@pytest.fixture(scope="module")
def pod(daemon, ns):
    return running_pod(daemon, ns)


def ws_connect(daemon, ns, pod, query, protocols=("v4.channel.k8s.io",), token=None):
    url = f"wss://127.0.0.1:{daemon.port}/api/v1/namespaces/{ns}/pods/{pod}/exec?{query}"
    return websocket.create_connection(
        url, sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": str(daemon.ca_path)},
        header=[f"Authorization: Bearer {token or daemon.token}"], subprotocols=list(protocols), timeout=10)


def handshake(daemon, ns, pod, query, protocol="v4.channel.k8s.io", token=None):
    """A WebSocket handshake the server refuses: its plain HTTP answer (Resp)."""
    import base64
    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(), "Sec-WebSocket-Protocol": protocol}
    kw = {"token": token} if token else {}
    return daemon.get(f"/api/v1/namespaces/{ns}/pods/{pod}/exec", query=query, headers=headers, **kw)


def read_all(ws):
    """Every message until the server closes: {channel: bytes}, and the close code."""
    got = {}
    while True:
        op, data = ws.recv_data(control_frame=True)
        if op == websocket.ABNF.OPCODE_CLOSE:
            code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            return got, code
        if op == websocket.ABNF.OPCODE_BINARY:
            got[data[0]] = got.get(data[0], b"") + data[1:]


# -- kubectl (v5) --------------------------------------------------------------------------------

def test_kubectl_exec_output_env_and_directory(daemon, kubectl, ns, pod):
    p = kubectl("-n", ns, "exec", pod, "--", "sh", "-c", "echo out $FOO $HOSTNAME; pwd; echo err >&2")
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"out bar {pod}\n/tmp\n"
    assert p.stderr == "err\n"


def test_kubectl_exec_exit_code(daemon, kubectl, ns, pod):
    p = kubectl("-n", ns, "exec", pod, "--", "sh", "-c", "echo before; exit 3")
    assert p.returncode == 3
    assert p.stdout == "before\n"
    assert p.stderr == "command terminated with exit code 3\n"


def test_kubectl_exec_stdin(daemon, kubectl, ns, pod):
    # 300 KB: several WebSocket messages, gorilla's fragments, and the v5 CLOSE of stdin for EOF
    data = "".join(f"{i:07d}\n" for i in range(37500))
    p = kubectl("-n", ns, "exec", "-i", pod, "--", "sh", "-c", "md5sum | cut -c1-32; echo done", input=data)
    assert p.returncode == 0, p.stderr
    import hashlib
    assert p.stdout == hashlib.md5(data.encode()).hexdigest() + "\ndone\n"


def test_kubectl_exec_interactive_terminal(daemon, kubectl, ns, pod):
    """kubectl exec -it on a terminal of its own: raw mode, its window size, keys in, exit code out."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    pid, fd = pty.fork()
    if pid == 0:  # the child: kubectl on the pty's other side, 30 rows by 90 columns
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 90, 0, 0))
        os.environ["KUBECONFIG"] = str(daemon.kubeconfig)
        os.execvp("kubectl", ["kubectl", "-n", ns, "exec", "-it", pod, "--", "sh"])
    out = b""

    def read_until(marker, t=10.0):
        nonlocal out
        end = time.time() + t
        while marker not in out and time.time() < end:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    return
    try:
        read_until(b"# ")
        os.write(fd, b"echo hello-$((6*7)); tty; stty size\r")
        read_until(b"30 90")
        os.write(fd, b"exit 5\r")
        read_until(b"exit code 5")
    finally:
        _, st = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(st) == 5, out
    assert b"\r\nhello-42\r\n/dev/pts/" in out, out
    assert b"\r\n30 90\r\n" in out, out
    assert out.endswith(b"command terminated with exit code 5\r\n"), out


def test_kubectl_exec_into_a_job_replica(daemon, kubectl, ns):
    """The replica's rendezvous environment is the exec'ed command's too."""
    from e2elib import container, job, replica
    c = container()
    c["command"] = ["sleep", "300"]
    name = uniq("xj")
    j = job(name, ns=ns, spec={"pytorchReplicaSpecs": {"Master": replica(1, [c])}})
    r = daemon.post(f"/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs", j)
    assert r.status == 201, r.text
    pod = f"{name}-master-0"

    def master_running():
        r = daemon.get(f"/api/v1/namespaces/{ns}/pods/{pod}")
        return r.status == 200 and r.json["status"].get("phase") == "Running"
    poll(master_running, desc="master running")
    p = kubectl("-n", ns, "exec", pod, "--", "sh", "-c", "echo $RANK $WORLD_SIZE $MASTER_ADDR $PET_NNODES")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "0 1 127.0.0.1 1\n"
    assert daemon.delete(f"/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs/{name}").status == 200


def test_kubectl_exec_large_streams(daemon, kubectl, ns, pod):
    # 24 MB out: past the daemon's 1 MiB of unsent output, the pipes wait for the client
    p = kubectl("-n", ns, "exec", pod, "--", "seq", "1", "3000000")
    assert p.returncode == 0, p.stderr[-500:]
    assert len(p.stdout) == sum(len(str(i)) + 1 for i in range(1, 3000001))
    assert p.stdout.endswith("\n2999999\n3000000\n")
    # 6 MB in to a process that reads it only after a second: the client is paused meanwhile
    data = "x" * (6 << 20)
    p = kubectl("-n", ns, "exec", "-i", pod, "--", "sh", "-c", "sleep 1; wc -c", input=data)
    assert p.returncode == 0, p.stderr[-500:]
    assert p.stdout.strip() == str(6 << 20)


def test_kubectl_exec_command_not_found(daemon, kubectl, ns, pod):
    p = kubectl("-n", ns, "exec", pod, "--", "no-such-command-here")
    assert p.returncode == 1
    assert p.stderr == ("error: Internal error occurred: Internal error occurred: error executing command in "
                        "container: failed to exec in container: exec: \"no-such-command-here\": executable file "
                        "not found in $PATH\n")


def test_kubectl_exec_bad_container_and_pod(daemon, kubectl, ns, pod):
    p = kubectl("-n", ns, "exec", pod, "-c", "nope", "--", "true")
    assert p.returncode == 1
    assert p.stderr == f"Error from server (BadRequest): container nope is not valid for pod {pod}\n"
    p = kubectl("-n", ns, "exec", "no-such-pod", "--", "true")
    assert p.returncode == 1
    assert p.stderr == 'Error from server (NotFound): pods "no-such-pod" not found\n'


def test_kubectl_cp_both_ways(daemon, kubectl, ns, pod, tmp_path):
    src = tmp_path / "src.txt"
    src.write_text("hello from kubectl cp\n" * 1000)
    remote = tmp_path / "remote.txt"  # the pod's filesystem is this machine's
    p = kubectl("-n", ns, "cp", str(src), f"{pod}:{remote}")
    assert p.returncode == 0, p.stderr
    assert remote.read_text() == src.read_text()
    back = tmp_path / "back.txt"
    p = kubectl("-n", ns, "cp", f"{pod}:{remote}", str(back))
    assert p.returncode == 0, p.stderr
    assert back.read_text() == src.read_text()


def test_kubectl_exec_into_container_not_running(daemon, kubectl, ns):
    # a Secret that does not exist keeps the container from being created: the pod is Pending
    name = uniq("cfg")
    body = pod_obj(name, containers=[{"name": "main", "image": "busybox", "command": ["sleep", "300"],
                                      "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "missing",
                                                                                          "key": "k"}}}]}])
    assert daemon.post(f"/api/v1/namespaces/{ns}/pods", body).status == 201
    poll(lambda: (daemon.get(f"/api/v1/namespaces/{ns}/pods/{name}").json["status"].get("containerStatuses") or
                  [{}])[0].get("state", {}).get("waiting", {}).get("reason") == "CreateContainerConfigError",
         desc="config error")
    p = kubectl("-n", ns, "exec", name, "--", "true")
    assert p.returncode == 1
    assert p.stderr == ('error: Internal error occurred: unable to upgrade connection: container not found '
                        '("main")\n')
    # v4 is proxied to the kubelet on a cluster: its refusal is the HTTP answer
    r = handshake(daemon, ns, name, {"command": "true", "stdout": "true"})
    assert r.status == 500
    assert r.text == 'container not found ("main")'


def test_exec_killed_when_client_leaves(daemon, ns, pod, tmp_path):
    pidfile = tmp_path / "pid"
    env = dict(os.environ, KUBECONFIG=str(daemon.kubeconfig), HOME=str(tmp_path))
    pr = subprocess.Popen(["kubectl", "-n", ns, "exec", pod, "--", "sh", "-c", f"echo $$ > {pidfile}; sleep 1000"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        poll(lambda: pidfile.exists() and pidfile.read_text().strip(), desc="exec started")
        pid = int(pidfile.read_text())
        assert os.path.exists(f"/proc/{pid}")
    finally:
        pr.kill()
        pr.wait()
    poll(lambda: not os.path.exists(f"/proc/{pid}"), desc="exec'ed process killed")


def test_exec_ends_with_its_container(daemon, kubectl, ns):
    name = running_pod(daemon, ns)
    env = dict(os.environ, KUBECONFIG=str(daemon.kubeconfig))
    pr = subprocess.Popen(["kubectl", "-n", ns, "exec", name, "--", "sh", "-c", "echo up; sleep 1000"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    assert pr.stdout.readline() == "up\n"
    assert daemon.delete(f"/api/v1/namespaces/{ns}/pods/{name}", query={"gracePeriodSeconds": "1"}).status == 200
    out, err = pr.communicate(timeout=20)
    assert pr.returncode == 137  # SIGKILL, as a container's processes get when it is torn down
    assert err == "command terminated with exit code 137\n"


# -- the Python client (v4) ----------------------------------------------------------------------

def test_python_stream_return_code_and_channels(daemon, pyclient, ns, pod):
    api = client.CoreV1Api(pyclient)
    s = stream(api.connect_get_namespaced_pod_exec, pod, ns, command=["sh", "-c", "echo hi $FOO; echo e >&2; exit 4"],
               stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    s.run_forever(timeout=10)
    assert s.returncode == 4
    assert s.read_stdout() == "hi bar\n"
    assert s.read_stderr() == "e\n"
    out = stream(api.connect_get_namespaced_pod_exec, pod, ns, command=["echo", "preloaded"], stderr=True,
                 stdin=False, stdout=True, tty=False)
    assert out == "preloaded\n"


def test_python_stream_terminal(daemon, pyclient, ns, pod):
    api = client.CoreV1Api(pyclient)
    s = stream(api.connect_get_namespaced_pod_exec, pod, ns, command=["sh"], stderr=False, stdin=True, stdout=True,
               tty=True, _preload_content=False)
    s.write_channel(4, json.dumps({"Width": 101, "Height": 41}))
    s.write_stdin("stty size; tty; echo term=$TERM; exit 7\n")
    s.run_forever(timeout=10)
    assert s.returncode == 7
    out = s.read_stdout()
    # a terminal echoes the input, sh prompts on it, and lines end in CRLF
    assert "41 101\r\n" in out
    assert "\r\n/dev/pts/" in out
    assert "\r\nterm=xterm\r\n" in out


# -- the protocol ---------------------------------------------------------------------------------

def test_v4_status_messages(daemon, ns, pod):
    ws = ws_connect(daemon, ns, pod, "command=sh&command=-c&command=echo%20x%3B%20exit%205&stdout=true&stderr=true")
    assert ws.subprotocol == "v4.channel.k8s.io"
    got, code = read_all(ws)
    assert code == 1000
    assert got[1] == b"x\n"
    assert json.loads(got[3]) == {
        "metadata": {}, "status": "Failure",
        "message": "command terminated with non-zero exit code: error executing command [sh -c echo x; exit 5], "
                   "exit code 5",
        "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": "5"}]}}
    ws = ws_connect(daemon, ns, pod, "command=true&stdout=true")
    got, code = read_all(ws)
    assert got[3] == b'{"metadata":{},"status":"Success"}'
    # v1 (no subprotocol): the error channel carries the message alone, and nothing on success
    ws = ws_connect(daemon, ns, pod, "command=false&stdout=true", protocols=())
    assert ws.subprotocol is None
    got, code = read_all(ws)
    assert got[3] == b"command terminated with non-zero exit code: error executing command [false], exit code 1"


def test_negotiation_and_first_message(daemon, ns, pod):
    # the client's order decides; unknown names are skipped
    ws = ws_connect(daemon, ns, pod, "command=true&stderr=true",
                    protocols=("base64.binary.k8s.io", "v5.channel.k8s.io", "v4.channel.k8s.io"))
    assert ws.subprotocol == "v5.channel.k8s.io"
    op, first = ws.recv_data()
    assert first == b"\x02"  # an empty message on the lowest output channel asked for: stderr
    got, code = read_all(ws)
    assert got[3] == b'{"metadata":{},"status":"Success"}'
    with pytest.raises(websocket.WebSocketBadStatusException) as ei:
        ws_connect(daemon, ns, pod, "command=true&stdout=true", protocols=("v9.channel.k8s.io",))
    assert ei.value.status_code == 403


def test_base64_protocol(daemon, ns, pod):
    """v4.base64.channel.k8s.io (browsers' clients): text messages, a channel digit, base64 data."""
    import base64
    ws = ws_connect(daemon, ns, pod, "command=sh&command=-c&command=read%20x%3B%20echo%20got%20%24x%3B%20exit%202"
                                     "&stdin=true&stdout=true&stderr=true",
                    protocols=("v4.base64.channel.k8s.io",))
    assert ws.subprotocol == "v4.base64.channel.k8s.io"
    ws.send("0" + base64.b64encode(b"hello\n").decode())
    got = {}
    while True:
        op, data = ws.recv_data(control_frame=True)
        if op == websocket.ABNF.OPCODE_CLOSE:
            break
        assert op == websocket.ABNF.OPCODE_TEXT
        ch = data[:1].decode()
        got[ch] = got.get(ch, b"") + base64.b64decode(data[1:])
    assert got["1"] == b"got hello\n"
    assert json.loads(got["3"])["details"]["causes"] == [{"reason": "ExitCode", "message": "2"}]


def test_ping_fragments_and_stdin_close(daemon, ns, pod):
    ws = ws_connect(daemon, ns, pod, "command=cat&stdin=true&stdout=true", protocols=("v5.channel.k8s.io",))
    ws.ping(b"hb")
    op, data = ws.recv_data(control_frame=True)
    while op != websocket.ABNF.OPCODE_PONG:
        op, data = ws.recv_data(control_frame=True)
    assert data == b"hb"
    # one message in three frames: only the first carries the channel byte
    ws.send_frame(websocket.ABNF.create_frame(b"\x00ab", websocket.ABNF.OPCODE_BINARY, fin=0))
    ws.send_frame(websocket.ABNF.create_frame(b"cd", websocket.ABNF.OPCODE_CONT, fin=0))
    ws.send_frame(websocket.ABNF.create_frame(b"ef\n", websocket.ABNF.OPCODE_CONT, fin=1))
    ws.send_binary(b"\xff\x00")  # v5: CLOSE stdin, so cat ends
    got, code = read_all(ws)
    assert got[1] == b"abcdef\n"
    assert got[3] == b'{"metadata":{},"status":"Success"}'


def test_slow_reader_gets_everything(daemon, ns, pod):
    # the client reads nothing for a second: the daemon stops reading the pipe past 1 MiB unsent
    # and the command blocks on it, then it all arrives, in order
    ws = ws_connect(daemon, ns, pod, "command=seq&command=1&command=2000000&stdout=true")
    time.sleep(1.0)
    got, code = read_all(ws)
    assert code == 1000
    assert len(got[1]) == sum(len(str(i)) + 1 for i in range(1, 2000001))
    assert got[1].endswith(b"\n1999999\n2000000\n")
    assert got[3] == b'{"metadata":{},"status":"Success"}'


def test_refusals_before_the_upgrade(daemon, ns, pod):
    base = f"/api/v1/namespaces/{ns}/pods"
    r = daemon.get(f"{base}/{pod}/exec", query={"command": "true", "stdout": "true"})
    assert r.status == 400
    assert r.json["message"] == "Upgrade request required"
    r = daemon.post(f"{base}/{pod}/exec", query={"command": "true", "stdout": "true"},
                    headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1"})
    assert r.status == 400
    assert r.json["reason"] == "BadRequest"
    # the kubelet's option check (v4): at least one stream
    r = handshake(daemon, ns, pod, {"command": "true"})
    assert r.status == 400
    assert r.text == "you must specify at least 1 of stdin, stdout, stderr"
    r = daemon.get(f"{base}/no-such-pod/exec", query={"command": "true"})
    assert r.status == 404
    assert r.json["message"] == 'pods "no-such-pod" not found'


def test_container_choice(daemon, ns):
    name = running_pod(daemon, ns, containers=[
        {"name": "a", "image": "busybox", "command": ["sleep", "300"]},
        {"name": "b", "image": "busybox", "command": ["sleep", "300"]}],
        init=[{"name": "i", "image": "busybox", "command": ["true"]}])
    r = daemon.get(f"/api/v1/namespaces/{ns}/pods/{name}/exec", query={"command": "true", "stdout": "true"})
    assert r.status == 400
    assert r.json["message"] == (f"a container name must be specified for pod {name}, choose one of: [a b] or one "
                                 "of the init containers: [i]")
    # the main container runs ("a", the first): exec into it works
    ws = ws_connect(daemon, ns, name, "command=echo&command=in-a&stdout=true&container=a")
    got, _ = read_all(ws)
    assert got[1] == b"in-a\n"


def test_exec_needs_rbac(make_daemon):
    seed, _, (tok,) = tokens_setup(("carol", "carol-uid", None))
    d = make_daemon(setup=seed)
    nsn = d.create_ns(uniq("rb"))
    name = running_pod(d, nsn)
    r = handshake(d, nsn, name, {"command": "true", "stdout": "true"}, token=tok)
    assert r.status == 403
    assert r.json["message"] == (f'pods "{name}" is forbidden: User "carol" cannot get resource "pods/exec" in API '
                                 f'group "" in the namespace "{nsn}"')
    ws = ws_connect(d, nsn, name, "command=true&stdout=true")
    got, _ = read_all(ws)
    assert got[3] == b'{"metadata":{},"status":"Success"}'
    assert d.delete(f"/api/v1/namespaces/{nsn}/pods/{name}", query={"gracePeriodSeconds": "0"}).status == 200


def test_exec_metrics(daemon, ns, pod):
    ws = ws_connect(daemon, ns, pod, "command=true&stdout=true")
    read_all(ws)
    text = daemon.get("/metrics").text
    line = [ln for ln in text.splitlines() if ln.startswith("apiserver_request_total{") and 'verb="CONNECT"' in ln
            and 'subresource="exec"' in ln and 'code="101"' in ln]
    assert line and float(line[0].rsplit(" ", 1)[1]) >= 1


def test_kubectl_attach_streams_output_until_the_container_ends(daemon, kubectl, ns):
    """pods/attach: the running container's output from now on, stdout and stderr on their own
    channels, until it ends (Success); its earlier output is not replayed."""
    name = uniq("at")
    body = pod_obj(name, containers=[{"name": "main", "image": "busybox", "command": [
        "sh", "-c", "echo before; sleep 1.5; for i in 1 2 3; do echo line $i; echo err $i >&2; sleep 0.2; done"]}],
        restartPolicy="Never")
    assert daemon.post(f"/api/v1/namespaces/{ns}/pods", body).status == 201
    poll(lambda: daemon.get(f"/api/v1/namespaces/{ns}/pods/{name}").json["status"].get("phase") == "Running",
         desc="running")
    poll(lambda: kubectl("-n", ns, "logs", name).stdout == "before\n", desc="first line logged")
    p = kubectl("-n", ns, "attach", name, timeout=20)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "line 1\nline 2\nline 3\n", p.stdout
    assert "err 1\nerr 2\nerr 3\n" in p.stderr, p.stderr
    # a finished pod: kubectl refuses before asking
    poll(lambda: daemon.get(f"/api/v1/namespaces/{ns}/pods/{name}").json["status"].get("phase") == "Succeeded",
         desc="done")
    p = kubectl("-n", ns, "attach", name)
    assert p.returncode == 1 and "completed pod" in p.stderr, p.stderr


def test_attach_over_v4(daemon, ns):
    name = uniq("at")
    body = pod_obj(name, containers=[{"name": "main", "image": "busybox", "command": [
        "sh", "-c", "sleep 1; echo hello; sleep 0.5"]}], restartPolicy="Never")
    assert daemon.post(f"/api/v1/namespaces/{ns}/pods", body).status == 201
    poll(lambda: daemon.get(f"/api/v1/namespaces/{ns}/pods/{name}").json["status"].get("phase") == "Running",
         desc="running")
    url = f"wss://127.0.0.1:{daemon.port}/api/v1/namespaces/{ns}/pods/{name}/attach?stdout=true&stderr=true"
    ws = websocket.create_connection(url, sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": str(daemon.ca_path)},
                                     header=[f"Authorization: Bearer {daemon.token}"],
                                     subprotocols=["v4.channel.k8s.io"], timeout=10)
    got, code = read_all(ws)
    assert code == 1000 and got[1] == b"hello\n" and got[3] == b'{"metadata":{},"status":"Success"}', got
