"""The kubelet side end to end: pods as local processes (through torchjob-logshim), their status,
their logs (kubectl logs and the pods/log endpoint, client-compat.md §9), graceful deletion, and
the job log endpoint that outlives the pods.

One dedicated daemon with --restart-backoff 1 for the module. After every test no process of the
daemon's pods may be left: not a child of the daemon, nor anything in a session or process group
one of them leads, nor anything carrying the test's env marker.
"""
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

import e2elib
from e2elib import (RFC3339NANO_RE, assert_status, container_status, get_pod, pj, pod_log,
                    pod_phase, pods_path, poll, restart_count, run_job, uniq, wait_cond,
                    wait_pod, wait_pod_gone)


@pytest.fixture(scope="module")
def rd(make_daemon):
    return make_daemon(args=["--restart-backoff", "1"])


@pytest.fixture(scope="module")
def rns(rd):
    return rd.create_ns(uniq("rt"))


@pytest.fixture
def mark(rd, rns):
    """A per-test process marker; at teardown: delete what is left in the namespace and check
    that no process of the daemon's pods remains."""
    m = uniq("m")
    yield m
    r = rd.get(pj(rns))
    for j in r.json.get("items", []):
        rd.delete(pj(rns, j["metadata"]["name"]))
    for name, p in e2elib.list_pods(rd, rns).items():
        rd.delete(pods_path(rns, name), query={"gracePeriodSeconds": "0"})
    poll(lambda: (not e2elib.list_pods(rd, rns), sorted(e2elib.list_pods(rd, rns))), 15,
         desc="namespace emptied of pods")
    e2elib.wait_no_processes(rd.proc.pid, [m], timeout=15)
    left = e2elib.processes_of(rd.proc.pid)
    assert not left, f"processes of the daemon left behind: {left}"


def need_kubectl():
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")


def pod_body(name, script, mark, restart="Never", cname="main", **spec_extra):
    spec = {"restartPolicy": restart,
            "containers": [{"name": cname, "image": "busybox", "command": ["sh", "-c", script],
                            "env": [{"name": e2elib.RUN_MARK_VAR, "value": mark}]}]}
    spec.update(spec_extra)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def create_pod(d, ns, body):
    r = d.post(pods_path(ns), body)
    assert r.status == 201, r
    return r.json


def wait_log(d, ns, pod, needle, timeout=10, **q):
    def check():
        r = pod_log(d, ns, pod, **q)
        return r.status == 200 and needle in r.text, r
    return poll(check, timeout, desc=f"{needle!r} in the log of {pod}")


def alive(pid):
    try:
        st = open(f"/proc/{pid}/stat").read()
    except OSError:
        return False
    return st[st.rfind(")") + 2] not in "ZX"


def pod_pids(d, mark):
    return [p["pid"] for p in e2elib.processes_of(d.proc.pid, [mark])]


# -- a pod made through the pods API ---------------------------------------------------------------

def test_direct_pod_runs_to_completion(rd, rns, mark):
    name = uniq("direct")
    created = create_pod(rd, rns, pod_body(name, "echo to-stdout; echo to-stderr >&2", mark))
    assert created["metadata"]["uid"]
    p = wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Succeeded", 15, desc="Succeeded")
    assert p["spec"]["nodeName"] == "localhost", p["spec"]
    st = p["status"]
    assert st["podIP"] == "127.0.0.1" and st["hostIP"] == "127.0.0.1", st
    assert e2elib.TIME_RE.match(st["startTime"]), st
    cs = container_status(p, "main")
    assert cs is not None, st
    t = cs["state"]["terminated"]
    assert t["exitCode"] == 0 and t["reason"] == "Completed", cs
    assert e2elib.TIME_RE.match(t["startedAt"]) and e2elib.TIME_RE.match(t["finishedAt"]), t
    assert cs["restartCount"] == 0 and cs["ready"] is False and cs["name"] == "main", cs
    for k in ("image", "imageID"):
        assert isinstance(cs.get(k), str), cs
    conds = {c["type"]: c["status"] for c in st["conditions"]}
    assert conds.get("Ready") == "False" and conds.get("PodScheduled") == "True", conds
    r = pod_log(rd, rns, name)
    assert r.status == 200 and r.ctype.startswith("text/plain"), r
    assert r.text == "to-stdout\nto-stderr\n", r

    # the typed Python client decodes pods, the pod list and the pod watch
    from kubernetes import client, watch
    v1 = client.CoreV1Api(rd.api_client)
    lst = v1.list_namespaced_pod(rns)
    got = [i for i in lst.items if i.metadata.name == name]
    assert got and got[0].status.phase == "Succeeded", lst
    one = v1.read_namespaced_pod(name, rns)
    cs1 = one.status.container_statuses[0]
    assert cs1.state.terminated.exit_code == 0 and cs1.restart_count == 0, cs1
    assert one.spec.node_name == "localhost" and one.status.pod_ip == "127.0.0.1"
    assert v1.read_namespaced_pod_log(name, rns, container="main") == "to-stdout\nto-stderr\n"
    assert v1.read_namespaced_pod_log(name, rns, container="main", tail_lines=1) == "to-stderr\n"
    w = watch.Watch()
    events = []
    for ev in w.stream(v1.list_namespaced_pod, rns, field_selector=f"metadata.name={name}",
                       timeout_seconds=1, _request_timeout=10):
        events.append((ev["type"], ev["object"].metadata.name, ev["object"].status.phase))
    assert ("ADDED", name, "Succeeded") in events, events

    # kubectl get pods: a finished pod reads Completed, 0/1
    if shutil.which("kubectl"):
        k = rd.kubectl("get", "pod", name, "-n", rns, "--no-headers", "-o", "wide")
        assert k.returncode == 0, k.stderr
        cols = k.stdout.split()
        assert cols[:4] == [name, "0/1", "Completed", "0"], k.stdout
        assert "127.0.0.1" in cols and "localhost" in cols, k.stdout


def test_direct_pod_failure_and_exit_codes(rd, rns, mark):
    name = uniq("fail")
    create_pod(rd, rns, pod_body(name, "echo oops; exit 7", mark))
    p = wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Failed", 15, desc="Failed")
    t = container_status(p, "main")["state"]["terminated"]
    assert t["exitCode"] == 7 and t["reason"] == "Error", t
    # a command that cannot run: exit 128, the error in the log
    name2 = uniq("noexec")
    body = pod_body(name2, "", mark)
    body["spec"]["containers"][0]["command"] = ["/nonexistent/e2e-binary"]
    create_pod(rd, rns, body)
    p = wait_pod(rd, rns, name2, lambda p: pod_phase(p) == "Failed", 15, desc="Failed")
    t = container_status(p, "main")["state"]["terminated"]
    assert t["exitCode"] == 128, t
    assert "/nonexistent/e2e-binary" in pod_log(rd, rns, name2).text


def test_command_args_env_expansion_and_working_dir(rd, rns, mark, tmp_path):
    """command + args run as given, $(VAR) in them expands from the container env ($$( escapes,
    unknown names stay), env values see earlier entries, workingDir is the cwd, HOSTNAME is the
    pod name (kubelet semantics)."""
    name = uniq("cmd")
    body = pod_body(name, "", mark)
    c = body["spec"]["containers"][0]
    c["command"] = ["sh", "-c"]
    c["args"] = ["echo '$(GREETING)' '$$(GREETING)' '$(NO_SUCH_VAR)' \"$PHRASE\"; pwd; "
                 "echo host=$HOSTNAME"]
    c["env"] += [{"name": "GREETING", "value": "hi"},
                 {"name": "PHRASE", "value": "$(GREETING) there"}]
    c["workingDir"] = str(tmp_path)
    create_pod(rd, rns, body)
    wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Succeeded", 10, desc="Succeeded")
    assert pod_log(rd, rns, name).text.splitlines() == [
        "hi $(GREETING) $(NO_SUCH_VAR) hi there", str(tmp_path), f"host={name}"]


def test_env_value_from_downward_api_and_resources(rd, rns, mark):
    """valueFrom as kubelet resolves it: the pod's own fields (fieldRef), the container's limits
    and requests (resourceFieldRef: a limit not set is the node's allocatable, a request not set
    0; rounded up against the divisor), an optional ConfigMap or Secret that does not exist left
    out; $(VAR) sees the resolved values; the stored pod carries fieldRef's defaulted apiVersion
    and the zero divisor, as kube writes them back."""
    name = uniq("envfrom")
    body = pod_body(name, "", mark)
    body["metadata"]["labels"] = {"app": "trainer"}
    body["metadata"]["annotations"] = {"team.example.com/owner": "ml"}
    c = body["spec"]["containers"][0]
    c["command"] = ["sh", "-c", "for v in POD NS UID APP OWNER NOLABEL NODE SA PODIP HOSTIPS MEM_MI CPU_M "
                    "CPU REQ_CPU REQ_MEM OTHER_CPU OPT_CM OPT_SECRET FROM_OPT_X COMBINED; do "
                    "eval \"echo $v=\\${$v-unset}\"; done"]
    c["resources"] = {"limits": {"memory": "64Mi", "cpu": "1500m"}, "requests": {"cpu": "250m"}}
    def fr(path, **kw):
        return {"valueFrom": {"fieldRef": {"fieldPath": path, **kw}}}
    def rr(res, **kw):
        return {"valueFrom": {"resourceFieldRef": {"resource": res, **kw}}}
    c["env"] += [
        {"name": "POD", **fr("metadata.name")}, {"name": "NS", **fr("metadata.namespace")},
        {"name": "UID", **fr("metadata.uid", apiVersion="v1")},
        {"name": "APP", **fr("metadata.labels['app']")},
        {"name": "OWNER", **fr("metadata.annotations['team.example.com/owner']")},
        {"name": "NOLABEL", **fr("metadata.labels['missing']")},
        {"name": "NODE", **fr("spec.nodeName")}, {"name": "SA", **fr("spec.serviceAccountName")},
        {"name": "PODIP", **fr("status.podIP")}, {"name": "HOSTIPS", **fr("status.hostIPs")},
        {"name": "MEM_MI", **rr("limits.memory", divisor="1Mi")},
        {"name": "CPU_M", **rr("limits.cpu", divisor="1m")},
        {"name": "CPU", **rr("limits.cpu")},
        {"name": "REQ_CPU", **rr("requests.cpu", divisor="1m")},
        {"name": "REQ_MEM", **rr("requests.memory")},
        {"name": "OTHER_CPU", **rr("limits.cpu", containerName="side")},
        {"name": "OPT_CM", "valueFrom": {"configMapKeyRef": {"name": "none", "key": "k", "optional": True}}},
        {"name": "OPT_SECRET", "valueFrom": {"secretKeyRef": {"name": "none", "key": "k", "optional": True}}},
        {"name": "COMBINED", "value": "$(POD)@$(NODE)/$(CPU_M)"},
    ]
    c["envFrom"] = [{"configMapRef": {"name": "none", "optional": True}, "prefix": "FROM_"}]
    body["spec"]["containers"].append({"name": "side", "image": "busybox", "command": ["true"]})
    created = create_pod(rd, rns, body)
    env = {e["name"]: e for e in created["spec"]["containers"][0]["env"]}
    assert env["POD"]["valueFrom"]["fieldRef"] == {"apiVersion": "v1", "fieldPath": "metadata.name"}
    assert env["MEM_MI"]["valueFrom"]["resourceFieldRef"] == {"resource": "limits.memory", "divisor": "1Mi"}
    assert env["CPU"]["valueFrom"]["resourceFieldRef"] == {"resource": "limits.cpu", "divisor": "0"}
    # SetDefaults_Pod: the memory limit without a request gives the request; cpu 250m < 1500m
    assert created["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "250m", "memory": "64Mi"}
    assert created["status"]["qosClass"] == "Burstable", created["status"]
    wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Succeeded", 10, desc="Succeeded")
    r = pod_log(rd, rns, name)  # two containers: kube names them
    assert (r.status, r.json["message"]) == (
        400, f"a container name must be specified for pod {name}, choose one of: [main side]"), r
    text = pod_log(rd, rns, name, container="main").text
    assert all("=" in line for line in text.splitlines()), text
    got = dict(line.split("=", 1) for line in text.splitlines())
    assert got == {
        "POD": name, "NS": rns, "UID": created["metadata"]["uid"], "APP": "trainer", "OWNER": "ml",
        "NOLABEL": "", "NODE": "localhost", "SA": "", "PODIP": "127.0.0.1", "HOSTIPS": "127.0.0.1",
        "MEM_MI": "64", "CPU_M": "1500", "CPU": "2", "REQ_CPU": "250", "REQ_MEM": "67108864",
        "OTHER_CPU": str(os.cpu_count()), "OPT_CM": "unset", "OPT_SECRET": "unset", "FROM_OPT_X": "unset",
        "COMBINED": f"{name}@localhost/1500"}, got


@pytest.mark.parametrize("ref,want", [
    ({"valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "url"}}}, 'configmap "app-config" not found'),
    ({"valueFrom": {"secretKeyRef": {"name": "wandb", "key": "token", "optional": False}}}, 'secret "wandb" not found'),
    (None, 'secret "creds" not found'),
])
def test_env_missing_config_map_or_secret(rd, rns, mark, ref, want):
    """A ConfigMap or Secret the container needs does not exist (none is served): as kubelet, the
    container is never created; the pod stays Pending, waiting with CreateContainerConfigError,
    and a Failed event says why. Deleting the pod removes it at once."""
    name = uniq("envmiss")
    body = pod_body(name, "echo should-not-run", mark)
    c = body["spec"]["containers"][0]
    if ref:
        c["env"].append({"name": "X", **ref})
    else:
        c["envFrom"] = [{"secretRef": {"name": "creds"}}]
    uid = create_pod(rd, rns, body)["metadata"]["uid"]
    p = wait_pod(rd, rns, name, lambda p: (container_status(p, "main") or {}).get("state", {}).get("waiting"),
                 10, desc="waiting")
    assert pod_phase(p) == "Pending", p["status"]
    cs = container_status(p, "main")
    assert cs["state"] == {"waiting": {"reason": "CreateContainerConfigError", "message": want}}, cs
    assert (cs["ready"], cs["started"], cs["restartCount"]) == (False, False, 0), cs
    assert "containerID" not in cs, cs
    evs = wait_pod_events(rd, rns, name, lambda evs: "Failed" in reasons(evs))
    assert reasons(evs) == ["Scheduled", "Pulled", "Failed"], evs
    assert (evs[-1]["type"], evs[-1]["message"]) == ("Warning", f"Error: {want}"), evs[-1]
    check_pod_event(evs[-1], rns, name, uid)
    time.sleep(0.3)
    assert "should-not-run" not in pod_log(rd, rns, name).text
    assert rd.delete(pods_path(rns, name)).status == 200
    wait_pod_gone(rd, rns, name, timeout=5)


def test_env_value_from_is_validated(rd, rns, mark):
    """ValidateEnv's rules answer 422 with kube's texts."""
    body = pod_body(uniq("envbad"), "true", mark)
    body["spec"]["containers"][0]["env"] += [
        {"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "status.phase"}}},
        {"name": "B", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    r = rd.post(pods_path(rns), body)
    assert r.status == 422, r
    causes = [(x["field"], x["message"]) for x in r.json["details"]["causes"]]
    assert causes == [
        ("spec.containers[0].env[1].valueFrom.fieldRef.fieldPath",
         'Unsupported value: "status.phase": supported values: "metadata.name", "metadata.namespace", '
         '"metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", '
         '"status.podIP", "status.podIPs"'),
        ("spec.containers[0].env[2].valueFrom", 'Invalid value: "": may not be specified when `value` is not empty'),
    ], causes


# -- activeDeadlineSeconds -------------------------------------------------------------------------

def test_pod_active_deadline_fails_the_pod(rd, rns, mark):
    """kubelet's activeDeadlineHandler: past spec.activeDeadlineSeconds from startTime the process
    gets SIGTERM (and its grace period), the pod is Failed with reason DeadlineExceeded, and even
    restartPolicy Always restarts nothing."""
    name = uniq("deadline")
    body = pod_body(name, "trap 'echo got-term; exit 0' TERM; echo started; while true; do sleep 0.1; done",
                    mark, restart="Always", activeDeadlineSeconds=1, terminationGracePeriodSeconds=5)
    create_pod(rd, rns, body)
    t0 = time.monotonic()
    p = wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Failed", 10, desc="Failed")
    assert time.monotonic() - t0 < 5
    st = p["status"]
    assert (st["reason"], st["message"]) == (
        "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"), st
    cs = container_status(p, "main")
    assert cs["state"]["terminated"]["exitCode"] == 0 and cs["restartCount"] == 0, cs
    text = pod_log(rd, rns, name).text  # the shell may also report its sleep as Terminated
    assert text.startswith("started\n") and "got-term\n" in text, text
    evs = wait_pod_events(rd, rns, name, lambda evs: "DeadlineExceeded" in reasons(evs))
    d = [e for e in evs if e["reason"] == "DeadlineExceeded"][0]
    assert (d["type"], d["message"]) == ("Normal", "Pod was active on the node longer than the specified deadline"), d
    assert "fieldPath" not in d["involvedObject"], d
    assert "Killing" in reasons(evs), evs
    time.sleep(0.5)
    assert restart_count(rd_pod := get_pod(rd, rns, name), "main") == 0 and pod_phase(rd_pod) == "Failed"


def test_pod_active_deadline_lowered_by_an_update(rd, rns, mark):
    """activeDeadlineSeconds may be lowered on a running pod (ValidatePodUpdate); the kubelet
    takes the new deadline from the stored pod."""
    name = uniq("deadline2")
    create_pod(rd, rns, pod_body(name, "echo up; exec sleep 60", mark, activeDeadlineSeconds=300,
                                 terminationGracePeriodSeconds=1))
    wait_log(rd, rns, name, "up")
    r = rd.patch(pods_path(rns, name), {"spec": {"activeDeadlineSeconds": 1}},
                 ctype="application/strategic-merge-patch+json")
    assert r.status == 200, r
    p = wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Failed", 10, desc="Failed")
    assert p["status"]["reason"] == "DeadlineExceeded", p["status"]
    assert container_status(p, "main")["state"]["terminated"]["signal"] == 15, p["status"]


# -- init containers -------------------------------------------------------------------------------

def init_container(name, script, mark):
    return {"name": name, "image": "busybox", "command": ["sh", "-c", script],
            "env": [{"name": e2elib.RUN_MARK_VAR, "value": mark}]}


def test_init_containers_run_in_order_before_the_main_one(rd, rns, mark, tmp_path):
    """Init containers run one after another, each to a zero exit, before the main container;
    their statuses stay as they ended (Completed, ready), their events name
    spec.initContainers{NAME}, their logs are served under their names."""
    name = uniq("init")
    shared = tmp_path / "shared"
    body = pod_body(name, f"echo main sees; cat {shared}", mark)
    body["spec"]["initContainers"] = [init_container("fetch", f"echo fetched > {shared}; echo fetch-log", mark),
                                      init_container("check", f"echo checked >> {shared}; echo check-log", mark)]
    uid = create_pod(rd, rns, body)["metadata"]["uid"]
    p = wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Succeeded", 15, desc="Succeeded")
    assert pod_log(rd, rns, name).text == "main sees\nfetched\nchecked\n"
    for c, text in (("fetch", "fetch-log\n"), ("check", "check-log\n")):
        assert pod_log(rd, rns, name, container=c).text == text
    ics = p["status"]["initContainerStatuses"]
    assert [c["name"] for c in ics] == ["fetch", "check"], ics
    for c in ics:
        t = c["state"]["terminated"]
        assert (t["exitCode"], t["reason"], c["ready"], c["started"], c["restartCount"]) == (0, "Completed", True, False, 0), c
        assert c["containerID"] == t["containerID"] and c["containerID"].startswith("torchjob://"), c
    conds = {c["type"]: c["status"] for c in p["status"]["conditions"]}
    assert conds["Initialized"] == "True", conds
    evs = wait_pod_events(rd, rns, name, lambda evs: sum(e["reason"] == "Started" for e in evs) >= 3)
    got = [(e["reason"], e["involvedObject"].get("fieldPath")) for e in evs if e["reason"] != "Scheduled"]
    want = []
    for fp in ("spec.initContainers{fetch}", "spec.initContainers{check}", "spec.containers{main}"):
        want += [("Pulled", fp), ("Created", fp), ("Started", fp)]
    assert got == want, got
    for e in evs:
        assert e["involvedObject"]["uid"] == uid
    # a container name is needed on a pod of several: kube lists the init containers first
    body2 = pod_body(uniq("init2"), "true", mark)
    body2["spec"]["initContainers"] = [init_container("prep", "true", mark)]
    body2["spec"]["containers"].append({"name": "side", "image": "busybox", "command": ["true"]})
    create_pod(rd, rns, body2)
    r = pod_log(rd, rns, body2["metadata"]["name"])
    assert (r.status, r.json["message"]) == (400, "a container name must be specified for pod "
                                              f"{body2['metadata']['name']}, choose one of: [prep main side]"), r
    r = pod_log(rd, rns, body2["metadata"]["name"], container="nope")
    assert (r.status, r.json["message"]) == (400, f"container nope is not valid for pod {body2['metadata']['name']}"), r


def conditions(p):
    return {c["type"]: (c["status"], c.get("reason"), c.get("message")) for c in p["status"]["conditions"]}


def test_pod_conditions_as_kubelet_generates_them(rd, rns, mark, tmp_path):
    """status.conditions with kubelet's reasons and messages (status/generate.go) through a pod's
    life: initializing, running, not ready, completed, failed."""
    gate = tmp_path / "gate"
    name = uniq("conds")
    body = pod_body(name, "echo up; sleep 0.5", mark)
    body["spec"]["initContainers"] = [init_container("wait", f"while [ ! -e {gate} ]; do sleep 0.05; done", mark)]
    create_pod(rd, rns, body)
    p = wait_pod(rd, rns, name, lambda p: (p["status"].get("initContainerStatuses") or [{}])[0]
                 .get("state", {}).get("running"), 10, desc="init running")
    assert conditions(p) == {
        "PodReadyToStartContainers": ("True", None, None),
        "Initialized": ("False", "ContainersNotInitialized", "containers with incomplete status: [wait]"),
        "Ready": ("False", "ContainersNotReady", "containers with unready status: [main]"),
        "ContainersReady": ("False", "ContainersNotReady", "containers with unready status: [main]"),
        "PodScheduled": ("True", None, None)}, conditions(p)
    gate.touch()
    p = wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Running", 10, desc="Running")
    assert {k: v[0] for k, v in conditions(p).items()} == {
        "PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True",
        "ContainersReady": "True", "PodScheduled": "True"}, conditions(p)
    assert all(v[1] is None for v in conditions(p).values()), conditions(p)
    p = wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Succeeded", 10, desc="Succeeded")
    assert conditions(p) == {
        "PodReadyToStartContainers": ("False", None, None),
        "Initialized": ("True", "PodCompleted", None),
        "Ready": ("False", "PodCompleted", None),
        "ContainersReady": ("False", "PodCompleted", None),
        "PodScheduled": ("True", None, None)}, conditions(p)
    failed = uniq("condf")
    create_pod(rd, rns, pod_body(failed, "exit 2", mark))
    p = wait_pod(rd, rns, failed, lambda p: pod_phase(p) == "Failed", 10, desc="Failed")
    c = conditions(p)
    assert (c["Ready"], c["ContainersReady"], c["Initialized"][:2], c["PodReadyToStartContainers"][0]) == (
        ("False", "PodFailed", None), ("False", "PodFailed", None), ("True", None), "False"), c
    looping = uniq("condl")
    create_pod(rd, rns, pod_body(looping, "exit 1", mark, restart="Always"))
    p = wait_pod(rd, rns, looping, lambda p: ((container_status(p, "main") or {}).get("state", {})
                                             .get("waiting", {}).get("reason") == "CrashLoopBackOff"),
                 10, desc="CrashLoopBackOff")
    assert conditions(p)["Ready"] == ("False", "ContainersNotReady", "containers with unready status: [main]")


def test_init_container_failure_fails_a_never_pod(rd, rns, mark):
    """restartPolicy Never: a failed init container fails the pod; the main container never
    runs and waits as PodInitializing; kubectl shows Init:Error."""
    name = uniq("initfail")
    body = pod_body(name, "echo main-ran", mark)
    body["spec"]["initContainers"] = [init_container("setup", "echo setting up; exit 3", mark)]
    create_pod(rd, rns, body)
    p = wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Failed", 15, desc="Failed")
    ic = p["status"]["initContainerStatuses"][0]
    assert (ic["state"]["terminated"]["exitCode"], ic["state"]["terminated"]["reason"], ic["ready"]) == (3, "Error", False), ic
    assert container_status(p, "main")["state"] == {"waiting": {"reason": "PodInitializing"}}, p["status"]
    assert {c["type"]: c["status"] for c in p["status"]["conditions"]}["Initialized"] == "False"
    assert pod_log(rd, rns, name, container="setup").text == "setting up\n"
    assert "main-ran" not in pod_log(rd, rns, name).text
    if shutil.which("kubectl"):
        k = rd.kubectl("get", "pod", name, "-n", rns, "--no-headers")
        assert k.stdout.split()[1:3] == ["0/1", "Init:Error"], k.stdout


def test_init_container_restarts_until_it_succeeds(rd, rns, mark, tmp_path):
    """restartPolicy OnFailure: a failed init container runs again (its restartCount counts it,
    the pod stays Pending meanwhile), then the main container runs."""
    name = uniq("initretry")
    flag = tmp_path / "tried"
    body = pod_body(name, "echo main-done", mark, restart="OnFailure")
    body["spec"]["initContainers"] = [init_container(
        "flaky", f"if [ -e {flag} ]; then echo second; else touch {flag}; echo first; exit 1; fi", mark)]
    create_pod(rd, rns, body)
    p = wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Succeeded", 15, desc="Succeeded")
    ic = p["status"]["initContainerStatuses"][0]
    assert (ic["restartCount"], ic["state"]["terminated"]["exitCode"]) == (1, 0), ic
    assert ic["lastState"]["terminated"]["exitCode"] == 1, ic
    assert restart_count(p, "main") == 0
    assert pod_log(rd, rns, name, container="flaky").text == "second\n"
    assert pod_log(rd, rns, name, container="flaky", previous="true").text == "first\n"
    assert pod_log(rd, rns, name).text == "main-done\n"


def test_delete_during_init_container(rd, rns, mark):
    """A pod deleted while an init container runs: that process is stopped as a running main
    container would be (SIGTERM, then the grace period), and the main container never starts."""
    name = uniq("initdel")
    body = pod_body(name, "echo main-ran", mark, terminationGracePeriodSeconds=5)
    body["spec"]["initContainers"] = [init_container(
        "slow", "trap 'echo init-term; exit 0' TERM; echo init-up; while true; do sleep 0.1; done", mark)]
    create_pod(rd, rns, body)
    wait_log(rd, rns, name, "init-up", container="slow")
    p = get_pod(rd, rns, name)
    assert pod_phase(p) == "Pending" and p["status"]["initContainerStatuses"][0]["state"].get("running"), p["status"]
    assert container_status(p, "main")["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert rd.delete(pods_path(rns, name)).status == 200
    wait_pod_gone(rd, rns, name, timeout=10)
    evs = wait_pod_events(rd, rns, name, lambda evs: "Killing" in reasons(evs))
    k = [e for e in evs if e["reason"] == "Killing"]
    assert [(e["message"], e["involvedObject"]["fieldPath"]) for e in k] == [
        ("Stopping container slow", "spec.initContainers{slow}")], evs
    assert [e["involvedObject"].get("fieldPath") for e in evs if e["reason"] == "Started"] == [
        "spec.initContainers{slow}"], evs


def test_job_template_init_container(rd, rns, mark, tmp_path):
    """A PyTorchJob's template may carry init containers (a data download, say): each replica
    runs them before its training process, which sees what they left."""
    name = uniq("jinit")
    data = tmp_path / "data"
    body = run_job(name, f'cat {data}-$RANK', f'cat {data}-$RANK', mark=mark)
    for spec in body["spec"]["pytorchReplicaSpecs"].values():
        spec["template"]["spec"]["initContainers"] = [
            {"name": "download", "image": "busybox", "command": ["sh", "-c", f"echo shard-$RANK > {data}-$RANK"],
             "env": [{"name": "RANK", "value": "x"}]}]
    # the init container sees its own env, not the rendezvous one: both write shard-x
    for spec in body["spec"]["pytorchReplicaSpecs"].values():
        spec["template"]["spec"]["containers"][0]["command"] = ["sh", "-c", f"cat {data}-x"]
    assert rd.post(pj(rns), body).status == 201
    wait_cond(rd, rns, name, "Succeeded", timeout=20)
    for pod in (f"{name}-master-0", f"{name}-worker-0"):
        assert pod_log(rd, rns, pod, container="pytorch").text == "shard-x\n"


def test_worker_init_containers_run_before_the_wait_for_master(rd, rns, mark, tmp_path):
    """Upstream appends init-pytorch (the wait for the master) after the user's init containers,
    so a worker's own init containers run while the master is not up yet. Here the master's init
    container waits for a file the worker's init container writes: with the wait first, neither
    would ever run."""
    name = uniq("jwinit")
    flag = tmp_path / "worker-init-ran"
    body = run_job(name, "echo master-main", "echo worker-main", mark=mark, restart="Never")
    specs = body["spec"]["pytorchReplicaSpecs"]
    specs["Master"]["template"]["spec"]["initContainers"] = [init_container(
        "await-worker", f"for i in $(seq 100); do [ -e {flag} ] && exit 0; sleep 0.05; done; exit 1", mark)]
    specs["Worker"]["template"]["spec"]["initContainers"] = [init_container("prepare", f"touch {flag}", mark)]
    assert rd.post(pj(rns), body).status == 201
    wait_cond(rd, rns, name, "Succeeded", timeout=20)
    assert pod_log(rd, rns, f"{name}-worker-0", container="pytorch").text == "worker-main\n"


# -- logs ------------------------------------------------------------------------------------------

def test_kubectl_logs_follow_tail_timestamps(rd, rns, mark, tmp_path):
    need_kubectl()
    name = uniq("logs")
    # prints 5 lines, waits for a go file (bounded), prints a last line, exits
    script = (f'for i in 1 2 3 4 5; do echo line-$i; done; i=0; '
              f'while [ ! -e {tmp_path}/go ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; '
              'echo last-line')
    create_pod(rd, rns, pod_body(name, script, mark))
    wait_log(rd, rns, name, "line-5")
    f = subprocess.Popen(
        ["kubectl", "--cache-dir", str(rd.kubectl_cache), "logs", "-f", name, "-n", rns],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"KUBECONFIG": str(rd.kubeconfig), "HOME": str(rd.kubectl_home),
             "PATH": "/usr/bin:/bin"})
    try:
        # logs -f is still streaming while the process runs
        first = f.stdout.readline()
        assert first == "line-1\n", first
        assert f.poll() is None, "kubectl logs -f ended while the process still runs"
        (tmp_path / "go").touch()
        guard = threading.Timer(15, f.kill)  # a stream that never ends fails, not hangs
        guard.start()
        try:
            out = f.stdout.read()  # until kubectl closes it: the stream ended
            f.wait(timeout=15)
            err = f.stderr.read()
        finally:
            guard.cancel()
        assert f.returncode != -signal.SIGKILL, f"kubectl logs -f did not end: {out!r}"
    finally:
        if f.poll() is None:
            f.kill()
            f.wait()
    assert f.returncode == 0, err
    assert first + out == "".join(f"line-{i}\n" for i in range(1, 6)) + "last-line\n", out
    wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Succeeded", 10, desc="Succeeded")

    k = rd.kubectl("logs", name, "-n", rns, "--tail=2")
    assert k.returncode == 0 and k.stdout == "line-5\nlast-line\n", k
    k = rd.kubectl("logs", name, "-n", rns, "--timestamps")
    assert k.returncode == 0, k
    lines = k.stdout.splitlines()
    assert len(lines) == 6, k.stdout
    stamps = []
    for ln in lines:
        ts, sep, text = ln.partition(" ")
        assert sep and RFC3339NANO_RE.match(ts), f"no RFC3339Nano prefix: {ln!r}"
        stamps.append(ts)
    assert [ln.partition(" ")[2] for ln in lines] == [f"line-{i}" for i in range(1, 6)] + ["last-line"]
    assert stamps == sorted(stamps), stamps
    k = rd.kubectl("logs", name, "-n", rns, "--tail=1", "--timestamps")
    assert k.returncode == 0 and k.stdout.endswith(" last-line\n"), k
    k = rd.kubectl("logs", name, "-n", rns, "-c", "nope")
    assert k.returncode == 1, k
    assert f"container nope is not valid for pod {name}" in k.stderr, k.stderr

    # the same options on the raw endpoint
    assert pod_log(rd, rns, name, limitBytes="8").raw == b"line-1\nl"
    assert pod_log(rd, rns, name, sinceSeconds="3600").text.count("\n") == 6
    assert pod_log(rd, rns, name, tailLines="0").raw == b""
    assert pod_log(rd, rns, name, container="main").text.startswith("line-1\n")
    assert_status(pod_log(rd, rns, name, container="nope"), 400, "BadRequest",
                  f"container nope is not valid for pod {name}")
    assert_status(pod_log(rd, rns, name, tailLines="x"), 400, "BadRequest")
    assert_status(pod_log(rd, rns, "no-such-pod"), 404, "NotFound", 'pods "no-such-pod" not found')
    assert_status(pod_log(rd, rns, name, previous="true"), 400, "BadRequest",
                  f'previous terminated container "main" in pod "{name}" not found')
    # follow on a finished pod ends at once
    r = pod_log(rd, rns, name, follow="true")
    assert r.status == 200 and r.text.endswith("last-line\n"), r


def test_python_client_follow(rd, rns, mark, tmp_path):
    from kubernetes import client
    v1 = client.CoreV1Api(rd.api_client)
    name = uniq("pyf")
    script = (f'echo a; i=0; while [ ! -e {tmp_path}/go ] && [ $i -lt 100 ]; do sleep 0.1; '
              'i=$((i+1)); done; echo b')
    create_pod(rd, rns, pod_body(name, script, mark))
    wait_log(rd, rns, name, "a")
    r = v1.read_namespaced_pod_log(name, rns, container="main", follow=True, timestamps=True,
                                   _preload_content=False, _request_timeout=20)
    (tmp_path / "go").touch()
    data = b"".join(r.stream())
    lines = data.decode().splitlines()
    assert [ln.partition(" ")[2] for ln in lines] == ["a", "b"], data
    assert all(RFC3339NANO_RE.match(ln.partition(" ")[0]) for ln in lines), data


def test_logs_previous_after_restart(rd, rns, mark, tmp_path):
    name = uniq("prev")
    script = (f'n=$(cat {tmp_path}/n 2>/dev/null || echo 0); echo $((n+1)) > {tmp_path}/n; '
              f'echo "run $n"; [ "$n" -ge 1 ] || exit 3')
    create_pod(rd, rns, pod_body(name, script, mark, restart="OnFailure"))
    p = wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Succeeded", 15, desc="Succeeded")
    assert restart_count(p, "main") == 1, p["status"]
    assert pod_log(rd, rns, name).text == "run 1\n"
    assert pod_log(rd, rns, name, previous="true").text == "run 0\n"
    if shutil.which("kubectl"):
        k = rd.kubectl("logs", name, "-n", rns, "--previous")
        assert k.returncode == 0 and k.stdout == "run 0\n", k
        k = rd.kubectl("logs", name, "-n", rns)
        assert k.returncode == 0 and k.stdout == "run 1\n", k
        k = rd.kubectl("get", "pod", name, "-n", rns, "--no-headers")
        assert k.stdout.split()[2:4] == ["Completed", "1"], k.stdout


def test_new_pod_with_reused_name_has_no_previous_log(rd, rns, mark):
    """A pod deleted and created again under the same name is a new pod: its log starts empty
    and it has no previous container."""
    name = uniq("reuse")
    create_pod(rd, rns, pod_body(name, "echo old-pod", mark))
    wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Succeeded", 15, desc="Succeeded")
    assert rd.delete(pods_path(rns, name)).status == 200
    wait_pod_gone(rd, rns, name)
    create_pod(rd, rns, pod_body(name, "echo new-pod", mark))
    wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Succeeded", 15, desc="Succeeded")
    assert pod_log(rd, rns, name).text == "new-pod\n"
    r = pod_log(rd, rns, name, previous="true")
    assert r.status == 400, f"the new pod serves the old pod's log as previous: {r}"


# -- the process tree ---------------------------------------------------------------------------

def test_background_children_die_with_the_pod(rd, rns, mark):
    """A container's processes end with it: a background child left by a command that exits is
    killed (kubelet: the container's processes go with its main process), and does not keep the
    pod from completing by holding its output open."""
    name = uniq("bg")
    t0 = time.monotonic()
    create_pod(rd, rns, pod_body(name, "sleep 60 & echo started; exit 0", mark))
    wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Succeeded", 10, desc="Succeeded")
    assert time.monotonic() - t0 < 5, "the pod waited for its background child"
    e2elib.wait_no_processes(rd.proc.pid, [mark], timeout=5)
    assert pod_log(rd, rns, name).text == "started\n"

    name2 = uniq("tree")
    create_pod(rd, rns, pod_body(name2, "sleep 60 & sleep 60 & echo ready; wait", mark))
    wait_log(rd, rns, name2, "ready")
    poll(lambda: (len(pod_pids(rd, mark)) >= 4, e2elib.processes_of(rd.proc.pid, [mark])), 5,
         desc="shim, shell and two sleeps")
    assert rd.delete(pods_path(rns, name2), query={"gracePeriodSeconds": "1"}).status == 200
    wait_pod_gone(rd, rns, name2, timeout=5)
    e2elib.wait_no_processes(rd.proc.pid, [mark], timeout=5)


# -- graceful deletion -----------------------------------------------------------------------------

def test_delete_sigterm_trap_runs(rd, rns, mark, tmp_path):
    name = uniq("term")
    marker = tmp_path / "marker"
    script = (f"trap 'echo got-term; echo bye > {marker}; exit 0' TERM; echo ready; "
              "while :; do sleep 0.1; done")
    create_pod(rd, rns, pod_body(name, script, mark))
    wait_log(rd, rns, name, "ready")
    pids = pod_pids(rd, mark)
    assert pids, "the pod's process is not running"
    t0 = time.monotonic()
    r = rd.delete(pods_path(rns, name))
    assert r.status == 200, r
    md = r.json["metadata"]
    assert md.get("deletionTimestamp") and md.get("deletionGracePeriodSeconds") == 30, md
    wait_pod_gone(rd, rns, name, timeout=10)
    took = time.monotonic() - t0
    assert took < 5, f"a process that exits on SIGTERM took {took:.1f}s to be deleted"
    assert marker.read_text() == "bye\n", "the SIGTERM trap did not run"
    poll(lambda: (not any(alive(p) for p in pids), pids), 5, desc="processes gone")


def test_delete_grace_period_then_sigkill(rd, rns, mark):
    name = uniq("ign")
    script = "trap '' TERM; echo ready; while :; do sleep 0.1; done"
    create_pod(rd, rns, pod_body(name, script, mark))
    wait_log(rd, rns, name, "ready")
    pids = pod_pids(rd, mark)
    assert pids
    t0 = time.monotonic()
    r = rd.delete(pods_path(rns, name), query={"gracePeriodSeconds": "2"})
    assert r.status == 200, r
    assert r.json["metadata"].get("deletionGracePeriodSeconds") == 2, r.json["metadata"]
    # still there (terminating) while the grace runs
    p = get_pod(rd, rns, name)
    assert p is not None and p["metadata"].get("deletionTimestamp"), p
    assert any(alive(x) for x in pids), "killed before the grace period ran out"
    wait_pod_gone(rd, rns, name, timeout=10)
    took = time.monotonic() - t0
    assert 1.5 <= took <= 4.5, f"SIGKILL expected ≈2 s after the delete, pod gone after {took:.1f}s"
    poll(lambda: (not any(alive(p) for p in pids), pids), 5, desc="processes gone")


def test_force_delete_kills_at_once(rd, rns, mark):
    need_kubectl()
    name = uniq("force")
    script = "trap '' TERM; echo ready; while :; do sleep 0.1; done"
    create_pod(rd, rns, pod_body(name, script, mark))
    wait_log(rd, rns, name, "ready")
    pids = pod_pids(rd, mark)
    assert pids
    t0 = time.monotonic()
    k = rd.kubectl("delete", "pod", name, "-n", rns, "--force", "--grace-period=0")
    assert k.returncode == 0, k
    assert f'pod "{name}" force deleted' in k.stdout, k.stdout
    wait_pod_gone(rd, rns, name, timeout=5)
    poll(lambda: (not any(alive(p) for p in pids), pids), 5, desc="processes gone")
    took = time.monotonic() - t0
    assert took < 2.0, f"force delete took {took:.1f}s"


def test_job_delete_stops_processes(rd, rns, mark):
    """Deleting a running job (background cascade) stops its processes."""
    name = uniq("jdel")
    body = run_job(name, "exec sleep 60", "exec sleep 60", mark=mark)
    assert rd.post(pj(rns), body).status == 201
    poll(lambda: (len(pod_pids(rd, mark)) >= 2, pod_pids(rd, mark)), 10, desc="two processes")
    r = rd.delete(pj(rns, name))
    assert r.status == 200, r
    rd.wait_gone(rns, name, timeout=10)
    poll(lambda: (not e2elib.list_pods(rd, rns, name), e2elib.list_pods(rd, rns, name)), 40,
         desc="pods gone")
    e2elib.wait_no_processes(rd.proc.pid, [mark], timeout=40)


# -- the job log endpoint --------------------------------------------------------------------------

def test_job_log_endpoint_after_clean_pod_policy_all(rd, rns, mark):
    name = uniq("jlog")
    body = run_job(name, 'echo "master-out rank=$RANK"; sleep 0.3', 'echo "worker-out rank=$RANK"',
                   workers=2, mark=mark, run_policy={"cleanPodPolicy": "All"})
    assert rd.post(pj(rns), body).status == 201
    wait_cond(rd, rns, name, "Succeeded", timeout=20)
    poll(lambda: (not e2elib.list_pods(rd, rns, name), sorted(e2elib.list_pods(rd, rns, name))),
         15, desc="pods deleted by cleanPodPolicy All")
    assert pod_log(rd, rns, f"{name}-worker-0").status == 404
    base = pj(rns, name, "log")
    for pod, text in ((f"{name}-master-0", "master-out rank=0\n"),
                      (f"{name}-worker-0", "worker-out rank=1\n"),
                      (f"{name}-worker-1", "worker-out rank=2\n")):
        r = rd.get(base, query={"pod": pod}, headers={"Accept": "*/*"})
        assert r.status == 200 and r.ctype.startswith("text/plain"), r
        assert r.text == text, r
        r = rd.get(base, query={"pod": pod, "timestamps": "true", "tailLines": "1"},
                   headers={"Accept": "*/*"})
        ts, _, rest = r.text.partition(" ")
        assert r.status == 200 and RFC3339NANO_RE.match(ts) and rest == text, r
    # errors
    assert_status(rd.get(base), 400, "BadRequest")
    assert rd.get(base, query={"pod": f"{name}-worker-7"}).status == 404
    assert rd.get(base, query={"pod": "someone-else-master-0"}).status == 404
    assert rd.get(pj(rns, "no-such-job", "log"), query={"pod": "no-such-job-master-0"}).status == 404


def test_job_pods_env_value_from(rd, rns, mark):
    """A job's template may read its pod's own name and labels (the downward API) as many
    launchers do; the controller's pods get fieldRef's default apiVersion as a POSTed pod would.
    A template that needs a ConfigMap leaves every pod Pending with CreateContainerConfigError,
    and the job Created, as on a cluster without that ConfigMap."""
    name = uniq("jenv")
    env = [{"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
           {"name": "MY_TYPE", "valueFrom": {"fieldRef": {
               "fieldPath": "metadata.labels['training.kubeflow.org/replica-type']"}}}]
    body = run_job(name, 'echo "$MY_POD $MY_TYPE rank=$RANK"', 'echo "$MY_POD $MY_TYPE rank=$RANK"', mark=mark)
    for spec in body["spec"]["pytorchReplicaSpecs"].values():
        spec["template"]["spec"]["containers"][0]["env"] += env
    assert rd.post(pj(rns), body).status == 201
    wait_cond(rd, rns, name, "Succeeded", timeout=20)
    for pod, rtype, rank in ((f"{name}-master-0", "master", 0), (f"{name}-worker-0", "worker", 1)):
        assert pod_log(rd, rns, pod).text == f"{pod} {rtype} rank={rank}\n"
        fr = get_pod(rd, rns, pod)["spec"]["containers"][0]["env"]
        assert {"name": "MY_POD", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}} in fr

    blocked = uniq("jcfg")
    body = run_job(blocked, "echo never", "echo never", mark=mark)
    for spec in body["spec"]["pytorchReplicaSpecs"].values():
        spec["template"]["spec"]["containers"][0]["envFrom"] = [{"configMapRef": {"name": "train-config"}}]
    assert rd.post(pj(rns), body).status == 201
    pod = f"{blocked}-master-0"
    p = wait_pod(rd, rns, pod, lambda p: (container_status(p) or {}).get("state", {}).get("waiting"), 10,
                 desc="waiting")
    assert pod_phase(p) == "Pending", p["status"]
    assert container_status(p)["state"]["waiting"] == {
        "reason": "CreateContainerConfigError", "message": 'configmap "train-config" not found'}
    time.sleep(0.5)
    # the worker waits for the master's process (our stand-in for upstream's init container)
    assert pod_phase(get_pod(rd, rns, f"{blocked}-worker-0")) == "Pending"
    conds = [c["type"] for c in rd.get(pj(rns, blocked)).json["status"].get("conditions", [])]
    assert conds == ["Created"], conds


def test_job_log_endpoint_only_serves_its_own_pods(rd, rns, mark):
    """Job X's log endpoint must not serve the pods of job X-other (pod names share the prefix)."""
    a = uniq("jl")
    b = a + "-other"
    for n in (a, b):
        assert rd.post(pj(rns), run_job(n, f"echo I am {n}", mark=mark)).status == 201
    for n in (a, b):
        wait_cond(rd, rns, n, "Succeeded", timeout=20)
    r = rd.get(pj(rns, a, "log"), query={"pod": f"{b}-master-0"})
    assert r.status == 404, f"job {a}'s log endpoint served job {b}'s pod: {r}"


def test_job_logs_go_with_the_job(rd, rns, mark):
    """A deleted job's pod logs are removed from the data dir with it; deleting a job that runs
    elsewhere (runPolicy.managedBy) touches no other job's logs."""
    name = uniq("jgone")
    other = uniq("jkeep")
    for n in (name, other):
        body = run_job(n, 'echo "out of $HOSTNAME"', mark=mark, run_policy={"cleanPodPolicy": "None"})
        assert rd.post(pj(rns), body).status == 201
    for n in (name, other):
        wait_cond(rd, rns, n, "Succeeded", timeout=20)
    logs = rd.data_dir / "logs" / rns
    assert (logs / f"{name}-master-0").is_dir() and (logs / f"{other}-master-0").is_dir()
    elsewhere = run_job(uniq("jelse"), "true", run_policy={"managedBy": "kueue.x-k8s.io/multikueue"})
    assert rd.post(pj(rns), elsewhere).status == 201
    assert rd.delete(pj(rns, elsewhere["metadata"]["name"])).status == 200
    assert rd.delete(pj(rns, name)).status == 200
    rd.wait_gone(rns, name, timeout=10)
    poll(lambda: (not (logs / f"{name}-master-0").exists(), sorted(os.listdir(logs))), 10,
         desc="the deleted job's log dir removed")
    assert (logs / f"{other}-master-0").is_dir()
    r = rd.get(pj(rns, other, "log"), query={"pod": f"{other}-master-0"}, headers={"Accept": "*/*"})
    assert r.status == 200 and r.text == f"out of {other}-master-0\n", r


# -- restart counting --------------------------------------------------------------------------------

def test_restart_count_counts_restarts_not_exits(rd, rns, mark, tmp_path):
    """restartCount is the number of times the container was restarted: while it waits in
    CrashLoopBackOff after its n-th exit it has been restarted n-1 times (kubelet takes the count
    from the exited instance; the next instance carries n)."""
    name = uniq("rcnt")
    runs = tmp_path / "runs"
    create_pod(rd, rns, pod_body(name, f"echo x >> {runs}; exit 2", mark, restart="Always"))

    def waiting():
        p = get_pod(rd, rns, name)
        cs = container_status(p or {}, "main") or {}
        return "waiting" in cs.get("state", {}), cs
    cs = poll(waiting, 10, interval=0.02, desc="CrashLoopBackOff")
    n = len(runs.read_text().splitlines())
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff", cs
    assert cs["lastState"]["terminated"]["exitCode"] == 2, cs
    assert cs["restartCount"] == n - 1, \
        f"after {n} run(s), waiting to restart: restartCount {cs['restartCount']}, want {n - 1}"


# -- processes end with their owner ----------------------------------------------------------------

def test_namespace_delete_stops_processes(rd, mark):
    ns = rd.create_ns(uniq("nsdel"))
    body = run_job(uniq("j"), "exec sleep 60", "exec sleep 60", mark=mark)
    assert rd.post(pj(ns), body).status == 201
    create_pod(rd, ns, pod_body(uniq("p"), "exec sleep 60", mark))
    poll(lambda: (len(pod_pids(rd, mark)) >= 3, pod_pids(rd, mark)), 10, desc="three processes")
    r = rd.delete(f"/api/v1/namespaces/{ns}")
    assert r.status == 200, r
    poll(lambda: (rd.get(f"/api/v1/namespaces/{ns}").status == 404,
                  rd.get(f"/api/v1/namespaces/{ns}")), 45, desc="namespace gone")
    e2elib.wait_no_processes(rd.proc.pid, [mark], timeout=10)


def test_daemon_stop_leaves_no_process(make_daemon, tmp_path):
    d = make_daemon()
    m = uniq("m")
    ns = d.create_ns(uniq("stop"))
    body = run_job(uniq("j"), "exec sleep 60", "trap '' TERM; while :; do sleep 0.1; done", mark=m)
    assert d.post(pj(ns), body).status == 201
    poll(lambda: (len(e2elib.processes_of(d.proc.pid, [m])) >= 2, e2elib.processes_of(d.proc.pid, [m])),
         10, desc="job processes running")
    pid = d.proc.pid
    t0 = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - t0 < 10
    left = e2elib.processes_of(pid, [m])
    assert not left, f"processes outlived the daemon: {left}"


def test_restart_during_init_containers_runs_them_again(make_daemon, tmp_path):
    """The daemon stops while a pod is in its init containers: their processes end with it, and
    the new daemon, like a kubelet on a rebooted node, runs the init containers again from the
    first, then the main container."""
    d = make_daemon()
    m = uniq("m")
    ns = d.create_ns(uniq("rinit"))
    gate = tmp_path / "gate"
    body = pod_body("p", "echo main-ran", m)
    body["spec"]["initContainers"] = [
        init_container("first", "echo first", m),
        init_container("second", f"while [ ! -e {gate} ]; do sleep 0.05; done; echo second", m)]
    create_pod(d, ns, body)
    wait_pod(d, ns, "p", lambda p: ((p["status"].get("initContainerStatuses") or [{}, {}])[1]
                                    .get("state", {}).get("running")), 10, desc="second init running")
    assert d.stop() == 0
    gate.touch()
    d.start()
    p = wait_pod(d, ns, "p", lambda p: pod_phase(p) == "Succeeded", 15, desc="Succeeded")
    assert [c["state"]["terminated"]["reason"] for c in p["status"]["initContainerStatuses"]] == [
        "Completed", "Completed"], p["status"]
    assert pod_log(d, ns, "p", container="first").text == "first\n"
    assert pod_log(d, ns, "p").text == "main-ran\n"
    assert not e2elib.processes_of(d.proc.pid, [m])


# -- pod events (kubelet's and the scheduler's, as kubectl describe pod shows them) ---------------

def pod_events(d, ns, pod):
    """The events about pod (the current one of that name), in list order."""
    r = d.get(f"/api/v1/namespaces/{ns}/events",
              query={"fieldSelector": f"involvedObject.name={pod}"})
    assert r.status == 200, r
    return [e for e in r.json["items"] if e["involvedObject"].get("kind") == "Pod"]


def wait_pod_events(d, ns, pod, done, timeout=15, desc="events"):
    return poll(lambda: (done(pod_events(d, ns, pod)), pod_events(d, ns, pod)), timeout,
                desc=f"{desc} of {pod}") and pod_events(d, ns, pod)


def reasons(evs):
    return [e["reason"] for e in evs]


def check_pod_event(e, ns, pod, uid, container="main"):
    io = e["involvedObject"]
    assert io["kind"] == "Pod" and io["apiVersion"] == "v1", e
    assert io["namespace"] == ns and io["name"] == pod and io["uid"] == uid, e
    assert e2elib.RV_RE.match(io.get("resourceVersion", "")), e
    assert e["metadata"]["namespace"] == ns and e["metadata"]["name"].startswith(pod + "."), e
    assert e2elib.TIME_RE.match(e["firstTimestamp"]) and e2elib.TIME_RE.match(e["lastTimestamp"]), e
    assert e["firstTimestamp"] <= e["lastTimestamp"] and e["count"] >= 1, e
    if e["reason"] == "Scheduled":
        assert "fieldPath" not in io, e
        assert e["source"] == {"component": "default-scheduler"}, e
        assert e["reportingComponent"] == "default-scheduler", e
    else:
        assert io["fieldPath"] == f"spec.containers{{{container}}}", e
        assert e["source"] == {"component": "kubelet", "host": "localhost"}, e
        assert e["reportingComponent"] == "kubelet" and e["reportingInstance"] == "localhost", e


def test_pod_events_run_and_exit(rd, rns, mark):
    name = uniq("evrun")
    body = pod_body(name, "echo hi", mark)
    body["spec"]["containers"][0]["image"] = "reg.example/img:1"
    uid = create_pod(rd, rns, body)["metadata"]["uid"]
    wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Succeeded", 15, desc="Succeeded")
    evs = wait_pod_events(rd, rns, name, lambda evs: "Started" in reasons(evs))
    got = [(e["type"], e["reason"], e["message"]) for e in evs]
    assert got == [("Normal", "Scheduled", f"Successfully assigned {rns}/{name} to localhost"),
                   ("Normal", "Pulled", 'Container image "reg.example/img:1" already present on machine'),
                   ("Normal", "Created", "Created container: main"),
                   ("Normal", "Started", "Started container main")], got
    for e in evs:
        check_pod_event(e, rns, name, uid)
        assert e["count"] == 1, e
    # the events field selector `source` is source.component (ToSelectableFields)
    for src, want in (("kubelet", ["Pulled", "Created", "Started"]), ("default-scheduler", ["Scheduled"])):
        r = rd.get(f"/api/v1/namespaces/{rns}/events",
                   query={"fieldSelector": f"source={src},involvedObject.name={name}"})
        assert r.status == 200 and reasons(r.json["items"]) == want, r


def test_pod_events_crash_loop_back_off(rd, rns, mark):
    name = uniq("evloop")
    uid = create_pod(rd, rns, pod_body(name, "exit 3", mark, restart="Always"))["metadata"]["uid"]

    def backed_off_twice(evs):
        return any(e["reason"] == "BackOff" and e["count"] >= 2 for e in evs)
    evs = wait_pod_events(rd, rns, name, backed_off_twice, timeout=20, desc="BackOff ×2")
    by = {}
    for e in evs:
        check_pod_event(e, rns, name, uid)
        assert e["reason"] not in by, f"a repeated event was recorded twice, not counted: {evs}"
        by[e["reason"]] = e
    assert set(by) == {"Scheduled", "Pulled", "Created", "Started", "BackOff"}, evs
    b = by["BackOff"]
    assert b["type"] == "Warning", b
    assert b["message"] == f"Back-off restarting failed container main in pod {name}_{rns}({uid})", b
    # a start after each back-off (the first restart comes at once): 2 back-offs ⇒ ≥ 3 starts
    for r in ("Pulled", "Created", "Started"):
        assert by[r]["count"] >= 3, by[r]
    assert by["Scheduled"]["count"] == 1, by["Scheduled"]


def test_pod_events_command_not_found(rd, rns, mark):
    name = uniq("evnocmd")
    body = pod_body(name, "", mark)
    body["spec"]["containers"][0]["command"] = ["no-such-command-" + mark]
    uid = create_pod(rd, rns, body)["metadata"]["uid"]
    wait_pod(rd, rns, name, lambda p: pod_phase(p) == "Failed", 15, desc="Failed")
    evs = wait_pod_events(rd, rns, name, lambda evs: "Failed" in reasons(evs))
    assert reasons(evs) == ["Scheduled", "Pulled", "Created", "Failed"], evs
    f = evs[-1]
    check_pod_event(f, rns, name, uid)
    assert f["type"] == "Warning", f
    assert f["message"] == f'Error: exec: "no-such-command-{mark}": executable file not found in $PATH', f


def test_pod_events_delete_killing(rd, rns, mark):
    name = uniq("evdel")
    uid = create_pod(rd, rns, pod_body(name, "echo ready; exec sleep 60", mark))["metadata"]["uid"]
    wait_log(rd, rns, name, "ready")
    assert rd.delete(pods_path(rns, name), query={"gracePeriodSeconds": "5"}).status == 200
    wait_pod_gone(rd, rns, name, timeout=10)
    # the events outlive the pod (they expire with the event TTL, as on a cluster)
    evs = wait_pod_events(rd, rns, name, lambda evs: "Killing" in reasons(evs))
    assert reasons(evs) == ["Scheduled", "Pulled", "Created", "Started", "Killing"], evs
    k = evs[-1]
    check_pod_event(k, rns, name, uid)
    assert (k["type"], k["message"], k["count"]) == ("Normal", "Stopping container main", 1), k


def test_kubectl_describe_pod_and_get_events(rd, rns, mark):
    """`kubectl describe pod JOB-master-0` lists the pod's events in order, as on a cluster."""
    need_kubectl()
    name = uniq("evjob")
    assert rd.post(pj(rns), run_job(name, "echo done", mark=mark)).status == 201
    pod = f"{name}-master-0"
    wait_pod_events(rd, rns, pod, lambda evs: "Started" in reasons(evs))
    p = rd.kubectl("describe", "pod", pod, "-n", rns)
    assert p.returncode == 0, p.stderr
    ev_part = p.stdout.split("\nEvents:", 1)[1]
    assert "<none>" not in ev_part, p.stdout
    rows = [ln.split() for ln in ev_part.strip().splitlines()[2:]]
    got = [(r[0], r[1], r[3]) for r in rows]
    assert got == [("Normal", "Scheduled", "default-scheduler"), ("Normal", "Pulled", "kubelet"),
                   ("Normal", "Created", "kubelet"), ("Normal", "Started", "kubelet")], ev_part
    assert f"Successfully assigned {rns}/{pod} to localhost" in ev_part, ev_part
    assert "Created container: pytorch" in ev_part and "Started container pytorch" in ev_part, ev_part
    g = rd.kubectl("get", "events", "-n", rns, "--field-selector", f"involvedObject.name={pod}")
    assert g.returncode == 0, g.stderr
    lines = g.stdout.strip().splitlines()
    assert lines[0].split()[:4] == ["LAST", "SEEN", "TYPE", "REASON"], g.stdout
    assert [ln.split()[2] for ln in lines[1:]] == ["Scheduled", "Pulled", "Created", "Started"], g.stdout
    assert all(f"pod/{pod}" in ln for ln in lines[1:]), g.stdout
