"""The PyTorchJob controller end to end: jobs without managedBy run, each pod's `pytorch` command
as a local process (trivial `sh -c` scripts), and their status, pods, services and events must
follow training-operator v1.9 (pytorchjob-semantics.md §2–§8, §11) with the local differences:
MASTER_ADDR=127.0.0.1, a free MASTER_PORT per job (also the `pytorchjob-port` of containers and
services), workers started once the master runs (annotation torchjob.kubeflow.org/wait-for-master),
spec.nodeName "localhost", podIP 127.0.0.1.

One dedicated daemon with --restart-backoff 1 for the module. Every test deletes its jobs and then
checks that no process of its pods is left (processes are found by an env marker and as
descendants of the daemon). Nothing sleeps to wait for a state: everything polls with a deadline.
"""
import datetime
import shutil
import time

import pytest

import e2elib
from e2elib import (LABEL_INDEX, LABEL_JOB, LABEL_OP, LABEL_ROLE, LABEL_TYPE, WAIT_FOR_MASTER,
                    find_cond, get_pod, list_pods, parse_env_log, pj, pod_log, pod_phase, poll,
                    restart_count, run_job, run_replica, svcs_path, uniq, wait_cond, wait_job,
                    wait_pod)

INJECTED_MASTER_ENV = ["PYTHONUNBUFFERED", "MASTER_PORT", "PET_MASTER_PORT", "MASTER_ADDR",
                       "PET_MASTER_ADDR", "WORLD_SIZE", "RANK", "PET_NODE_RANK",
                       "PET_NPROC_PER_NODE", "PET_NNODES"]
ENV_SCRIPT = "env"


# -- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rd(make_daemon):
    """A daemon for this module: in-place restarts after 1 s (then 2 s, 4 s, …)."""
    return make_daemon(args=["--restart-backoff", "1"])


@pytest.fixture(scope="module")
def rns(rd):
    return rd.create_ns(uniq("ctl"))


class Runner:
    """Creates jobs in one namespace with a process marker; deletes them at teardown and checks
    that no process is left."""

    def __init__(self, d, ns, tmp):
        self.d, self.ns, self.tmp = d, ns, tmp
        self.mark = uniq("m")
        self.jobs = []

    def job(self, name, master=None, worker=None, **kw):
        return run_job(name, master, worker, mark=self.mark, **kw)

    def replica(self, script, replicas=1, restart=None, env=None, **kw):
        return run_replica(script, replicas, restart, self.mark, env, **kw)

    def create(self, body):
        body.setdefault("metadata", {})
        r = self.d.post(pj(self.ns), body)
        assert r.status == 201, r
        self.jobs.append(body["metadata"]["name"])
        return r.json

    def get(self, name):
        r = self.d.get(pj(self.ns, name))
        assert r.status == 200, r
        return r.json

    def log(self, pod, **q):
        r = pod_log(self.d, self.ns, pod, **q)
        assert r.status == 200, r
        return r.text

    def pods(self, job):
        return list_pods(self.d, self.ns, job)

    def services(self, job):
        r = self.d.get(svcs_path(self.ns) + f"?labelSelector={LABEL_JOB}%3D{job}")
        assert r.status == 200, r
        return {s["metadata"]["name"]: s for s in r.json["items"]}

    def events(self, job):
        return e2elib.job_events(self.d, self.ns, job)

    def procs(self):
        return e2elib.processes_of(self.d.proc.pid, [self.mark])

    def cleanup(self):
        for name in self.jobs:
            r = self.d.delete(pj(self.ns, name))
            assert r.status in (200, 202, 404), r
        for name in self.jobs:
            self.d.wait_gone(self.ns, name, timeout=15)
            poll(lambda: (not self.pods(name), sorted(self.pods(name))), 15,
                 desc=f"pods of {name} to be deleted")
        e2elib.wait_no_processes(self.d.proc.pid, [self.mark], timeout=15)


@pytest.fixture
def run(rd, rns, tmp_path):
    r = Runner(rd, rns, tmp_path)
    yield r
    r.cleanup()


def selector(job, rtype):
    return (f"{LABEL_JOB}={job},{LABEL_OP}=pytorchjob-controller,"
            f"{LABEL_TYPE}={rtype}")


def conds(j):
    return [(c["type"], c["status"], c["reason"], c["message"])
            for c in (j.get("status") or {}).get("conditions") or []]


def env_names(pod):
    return [e["name"] for e in pod["spec"]["containers"][0].get("env", [])]


def env_list(pod):
    return [(e["name"], e.get("value")) for e in pod["spec"]["containers"][0].get("env", [])]


def job_port(pod):
    ports = pod["spec"]["containers"][0].get("ports", [])
    named = [p for p in ports if p.get("name") == "pytorchjob-port"]
    assert len(named) == 1, ports
    return named[0]["containerPort"]


def wait_restarts(r, pod, n, timeout=15):
    return wait_pod(r.d, r.ns, pod, lambda p: restart_count(p) >= n, timeout,
                    desc=f"restartCount >= {n}")


def wait_running(r, pod, timeout=15):
    return wait_pod(r.d, r.ns, pod, lambda p: pod_phase(p) == "Running"
                    and (e2elib.container_status(p) or {}).get("state", {}).get("running"),
                    timeout, desc="process running")


# -- two jobs at once: env, ports, services, pods, status, events -------------------------------

@pytest.fixture(scope="module")
def pair(rd, rns, tmp_path_factory):
    """Job A (Master + 2 Workers, defaults) and job B (Master + 1 Worker, nprocPerNode "4", user env
    that the injected env must override, a template restartPolicy that must be overwritten) run at
    the same time: each master waits (bounded) until the other master has started."""
    tmp = tmp_path_factory.mktemp("pair")
    r = Runner(rd, rns, tmp)
    a, b = uniq("pa"), uniq("pb")

    def master(me, other):
        return (f"env; touch {tmp}/{me}; i=0; while [ ! -e {tmp}/{other} ] && [ $i -lt 150 ]; "
                f"do sleep 0.1; i=$((i+1)); done; [ -e {tmp}/{other} ] && echo saw-{other}")

    ja = r.job(a, master(a, b), ENV_SCRIPT, workers=2)
    user_env = {"RANK": "99", "WORLD_SIZE": "1", "PYTHONUNBUFFERED": "0"}
    jb = r.job(b, r.replica(master(b, a), env=user_env),
               r.replica(ENV_SCRIPT, 1, env=user_env), nprocPerNode="4")
    jb["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["restartPolicy"] = "Always"
    t0 = time.monotonic()
    r.create(ja)
    r.create(jb)
    for n in (a, b):
        wait_cond(rd, rns, n, "Succeeded", timeout=30)
    elapsed = time.monotonic() - t0
    yield {"r": r, "a": a, "b": b, "elapsed": elapsed}
    r.cleanup()


def test_pair_both_succeed_concurrently_with_distinct_ports(pair):
    r, a, b = pair["r"], pair["a"], pair["b"]
    assert f"saw-{b}" in r.log(f"{a}-master-0"), "master A never saw master B running"
    assert f"saw-{a}" in r.log(f"{b}-master-0"), "master B never saw master A running"
    pa = {job_port(p) for p in r.pods(a).values()}
    pb = {job_port(p) for p in r.pods(b).values()}
    assert len(pa) == 1 and len(pb) == 1, (pa, pb)
    assert pa != pb, f"two concurrent jobs got the same MASTER_PORT {pa}"
    for p in pa | pb:
        assert 0 < p < 65536


def test_env_master_and_workers_defaults(pair):
    r, a = pair["r"], pair["a"]
    pods = r.pods(a)
    assert sorted(pods) == [f"{a}-master-0", f"{a}-worker-0", f"{a}-worker-1"]
    port = str(job_port(pods[f"{a}-master-0"]))
    for name, rank in ((f"{a}-master-0", 0), (f"{a}-worker-0", 1), (f"{a}-worker-1", 2)):
        env = parse_env_log(r.log(name))
        want = {"PYTHONUNBUFFERED": "1", "MASTER_PORT": port, "PET_MASTER_PORT": port,
                "MASTER_ADDR": "127.0.0.1", "PET_MASTER_ADDR": "127.0.0.1", "WORLD_SIZE": "3",
                "RANK": str(rank), "PET_NODE_RANK": str(rank), "PET_NPROC_PER_NODE": "auto",
                "PET_NNODES": "3"}
        got = {k: env.get(k) for k in want}
        assert got == want, f"{name}: process env {got}"
        for k in ("PET_RDZV_ENDPOINT", "PET_RDZV_BACKEND", "PET_MAX_RESTARTS"):
            assert k not in env, f"{name}: {k} set without elasticPolicy"
        # the pod spec: user env first, then the injected block in upstream's order
        pod = pods[name]
        assert env_names(pod) == [e2elib.RUN_MARK_VAR] + INJECTED_MASTER_ENV, env_names(pod)
        assert dict(env_list(pod)[1:]) == want


def test_env_nproc_per_node_and_last_duplicate_wins(pair):
    r, b = pair["r"], pair["b"]
    pods = r.pods(b)
    assert sorted(pods) == [f"{b}-master-0", f"{b}-worker-0"]
    port = str(job_port(pods[f"{b}-master-0"]))
    for name, rank in ((f"{b}-master-0", 0), (f"{b}-worker-0", 1)):
        env = parse_env_log(r.log(name))
        want = {"PYTHONUNBUFFERED": "1", "MASTER_PORT": port, "MASTER_ADDR": "127.0.0.1",
                "WORLD_SIZE": "8", "RANK": str(rank), "PET_NODE_RANK": str(rank),
                "PET_NPROC_PER_NODE": "4", "PET_NNODES": "2"}
        got = {k: env.get(k) for k in want}
        assert got == want, f"{name}: process env {got} (user env must lose to the injected)"
        names = env_names(pods[name])
        # user entries kept in the spec, injected ones appended after them
        assert names[:4] == [e2elib.RUN_MARK_VAR, "RANK", "WORLD_SIZE", "PYTHONUNBUFFERED"], names
        assert names[4:] == INJECTED_MASTER_ENV, names


def test_pods_shape(pair):
    r, a, b = pair["r"], pair["a"], pair["b"]
    job = r.get(a)
    pods = r.pods(a)
    port = job_port(pods[f"{a}-master-0"])
    for name, pod in pods.items():
        rtype = "master" if "-master-" in name else "worker"
        idx = name.rsplit("-", 1)[1]
        labels = pod["metadata"]["labels"]
        want = {LABEL_JOB: a, LABEL_OP: "pytorchjob-controller", LABEL_TYPE: rtype,
                LABEL_INDEX: idx}
        if rtype == "master":
            want[LABEL_ROLE] = "master"
        assert labels == want, f"{name}: labels {labels}"
        assert pod["metadata"]["ownerReferences"] == [{
            "apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "name": a,
            "uid": job["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}], pod
        spec = pod["spec"]
        assert spec["nodeName"] == "localhost", spec
        assert spec["restartPolicy"] == "OnFailure", spec
        assert not spec.get("initContainers"), "no init-pytorch: the runtime waits for the master"
        c = spec["containers"][0]
        assert c["name"] == "pytorch"
        assert {"name": "pytorchjob-port", "containerPort": port, "protocol": "TCP"} in c["ports"]
        ann = (pod["metadata"].get("annotations") or {}).get(WAIT_FOR_MASTER)
        if rtype == "worker":
            assert ann == f"{a}-master-0", pod["metadata"]
        else:
            assert ann is None, pod["metadata"]
        st = pod["status"]
        assert st["podIP"] == "127.0.0.1" and st["phase"] == "Succeeded", st
        cs = e2elib.container_status(pod)
        assert cs["state"]["terminated"]["exitCode"] == 0, cs
        assert cs["state"]["terminated"].get("reason") == "Completed", cs
    # Workers start after their master. The kubelet spawns a worker only once the master's process
    # runs and its Running status has committed, but who prints first after that is up to the
    # scheduler (both commands start with `env`; a commit takes ~0.3 ms): a worker's first line
    # may precede the master's by a little, never by much. (That a worker does not start at all
    # while its master cannot run is test_workers_wait_for_master_process.)
    def first_stamp(pod):
        ts = r.log(pod, timestamps="true").split(" ", 1)[0]
        assert e2elib.RFC3339NANO_RE.match(ts), ts
        return datetime.datetime.fromisoformat(ts[:26] + "+00:00") if "." in ts else \
            datetime.datetime.fromisoformat(ts[:19] + "+00:00")
    m0 = first_stamp(f"{a}-master-0")
    for w in (f"{a}-worker-0", f"{a}-worker-1"):
        lead = (m0 - first_stamp(w)).total_seconds()
        assert lead < 0.05, f"{w} logged {lead * 1000:.1f} ms before its master"
    # B's Worker template said restartPolicy Always: the replica's (default OnFailure) wins
    w = r.pods(b)[f"{b}-worker-0"]
    assert w["spec"]["restartPolicy"] == "OnFailure", w["spec"]
    ev = [e for e in r.events(b) if e["reason"] == "SetPodTemplateRestartPolicy"]
    assert ev and ev[0]["type"] == "Warning", r.events(b)
    assert ev[0]["message"] == ("Restart policy in pod template will be overwritten by restart "
                                "policy in replica spec"), ev


def test_services_one_headless_per_pod(pair):
    r, a = pair["r"], pair["a"]
    job = r.get(a)
    pods = r.pods(a)
    port = job_port(pods[f"{a}-master-0"])
    svcs = r.services(a)
    assert sorted(svcs) == sorted(pods), (sorted(svcs), sorted(pods))
    for name, s in svcs.items():
        rtype = "master" if "-master-" in name else "worker"
        want_labels = {LABEL_JOB: a, LABEL_OP: "pytorchjob-controller", LABEL_TYPE: rtype,
                       LABEL_INDEX: name.rsplit("-", 1)[1]}
        assert s["metadata"]["labels"] == want_labels, s["metadata"]
        assert s["spec"]["clusterIP"] == "None", s["spec"]
        assert s["spec"]["selector"] == want_labels, s["spec"]
        ports = s["spec"]["ports"]
        assert len(ports) == 1 and ports[0]["name"] == "pytorchjob-port", ports
        assert ports[0]["port"] == port, ports
        assert s["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"], s
    # kubectl shows them headless
    if shutil.which("kubectl"):
        p = r.d.kubectl("get", "svc", "-n", r.ns, "-l", f"{LABEL_JOB}={a}", "--no-headers")
        assert p.returncode == 0, p.stderr
        lines = p.stdout.strip().splitlines()
        assert len(lines) == 3, p.stdout
        for ln in lines:
            cols = ln.split()
            assert cols[2] == "None" and cols[4] == f"{port}/TCP", ln


def test_success_status(pair):
    r, a = pair["r"], pair["a"]
    j = wait_job(r.d, r.ns, a, lambda j: (j["status"].get("replicaStatuses", {}).get("Worker")
                                          or {}).get("succeeded") == 2, 10,
                 desc="Worker succeeded 2")
    assert conds(j) == [
        ("Created", "True", "PyTorchJobCreated", f"PyTorchJob {a} is created."),
        ("Running", "False", "PyTorchJobRunning", f"PyTorchJob {a} is running."),
        ("Succeeded", "True", "PyTorchJobSucceeded", f"PyTorchJob {a} is successfully completed."),
    ], j["status"]
    st = j["status"]
    assert st["replicaStatuses"] == {
        "Master": {"succeeded": 1, "selector": selector(a, "master")},
        "Worker": {"succeeded": 2, "selector": selector(a, "worker")},
    }, st
    for k in ("startTime", "completionTime"):
        assert e2elib.TIME_RE.match(st[k]), st
    assert st["startTime"] <= st["completionTime"]
    for c in st["conditions"]:
        assert e2elib.TIME_RE.match(c["lastUpdateTime"]) and e2elib.TIME_RE.match(c["lastTransitionTime"]), c
    kc = r.d.kubectl("get", "pj", a, "-n", r.ns, "--no-headers") if shutil.which("kubectl") else None
    if kc is not None:
        assert kc.returncode == 0 and kc.stdout.split()[1] == "Succeeded", kc.stdout


def test_events_and_describe(pair):
    r, a = pair["r"], pair["a"]
    evs = r.events(a)
    got = {(e["type"], e["reason"], e["message"]) for e in evs}
    want = set()
    for pod in (f"{a}-master-0", f"{a}-worker-0", f"{a}-worker-1"):
        want.add(("Normal", "SuccessfulCreatePod", f"Created pod: {pod}"))
        want.add(("Normal", "SuccessfulCreateService", f"Created service: {pod}"))
    want.add(("Normal", "PyTorchJobSucceeded", f"PyTorchJob {a} is successfully completed."))
    want.add(("Normal", "ExitedWithCode", f"Pod: {r.ns}.{a}-master-0 exited with code 0"))
    assert want <= got, f"missing events {want - got}; got {sorted(got)}"
    for e in evs:
        io = e["involvedObject"]
        assert io["kind"] == "PyTorchJob" and io["name"] == a and io["namespace"] == r.ns, e
        assert io["apiVersion"] == "kubeflow.org/v1", e
        assert e.get("source", {}).get("component") == "pytorchjob-controller", e
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    p = r.d.kubectl("describe", "pytorchjob", a, "-n", r.ns)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "\nEvents:" in out, out
    ev_part = out.split("\nEvents:", 1)[1]
    for needle in ("SuccessfulCreatePod", f"Created pod: {a}-master-0", "SuccessfulCreateService",
                   "PyTorchJobSucceeded", "pytorchjob-controller"):
        assert needle in ev_part, f"{needle!r} not in describe's Events:\n{ev_part}"


# -- env of other job shapes ----------------------------------------------------------------------

def test_env_workers_only(run):
    name = uniq("wo")
    run.create(run.job(name, worker=ENV_SCRIPT, workers=3))
    j = wait_cond(run.d, run.ns, name, "Succeeded")
    pods = run.pods(name)
    assert sorted(pods) == [f"{name}-worker-{i}" for i in range(3)]
    port = job_port(pods[f"{name}-worker-0"])
    for pname, pod in pods.items():
        env = parse_env_log(run.log(pname))
        for k in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "PET_NODE_RANK",
                  "PET_MASTER_ADDR", "PET_MASTER_PORT"):
            assert k not in env, f"{pname}: {k}={env[k]} set without a Master"
        assert env.get("PYTHONUNBUFFERED") == "1" and env.get("PET_NPROC_PER_NODE") == "auto"
        assert env.get("PET_NNODES") == "3", env
        assert env_list(pod)[1:] == [("PYTHONUNBUFFERED", "1"), ("PET_NPROC_PER_NODE", "auto"),
                                     ("PET_NNODES", "3")], env_list(pod)
        assert WAIT_FOR_MASTER not in (pod["metadata"].get("annotations") or {}), pod["metadata"]
        assert job_port(pod) == port
    # v1.8+: worker 0 has the master role when there is no Master
    assert pods[f"{name}-worker-0"]["metadata"]["labels"].get(LABEL_ROLE) == "master"
    assert LABEL_ROLE not in pods[f"{name}-worker-1"]["metadata"]["labels"]
    j = wait_job(run.d, run.ns, name, lambda j: j["status"]["replicaStatuses"].get("Worker", {})
                 .get("succeeded") == 3, 10, desc="Worker succeeded 3")
    sc = find_cond(j, "Succeeded")
    assert (sc["reason"], sc["message"]) == (
        "PyTorchJobSucceeded", f"PyTorchJob {run.ns}/{name} successfully completed."), sc
    rc = find_cond(j, "Running")
    if rc is not None:  # seen running: the no-Master message form
        assert rc["status"] == "False" and rc["message"] == f"PyTorchJob {run.ns}/{name} is running.", rc
    assert "Master" not in j["status"]["replicaStatuses"], j["status"]


def test_env_elastic(run):
    name = uniq("el")
    # worker 0 exits 0 at once; worker 1 keeps running: with elasticPolicy one Succeeded worker
    # is enough for the job to succeed (§6.2)
    script = ('env; case "$HOSTNAME" in *-worker-0) exit 0;; esac; '
              'i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done')
    body = run.job(name, worker=script, workers=2)
    body["spec"]["elasticPolicy"] = {
        "rdzvBackend": "c10d", "minReplicas": 1, "maxReplicas": 2, "maxRestarts": 100,
        "rdzvId": "e2e-id", "rdzvConf": [{"key": "timeout", "value": "5"}, {"key": "x", "value": "y"}],
        "standalone": True}
    run.create(body)
    j = wait_cond(run.d, run.ns, name, "Succeeded")
    sc = find_cond(j, "Succeeded")
    assert sc["message"] == f"PyTorchJob {run.ns}/{name} successfully completed.", sc
    pods = run.pods(name)
    port = job_port(pods[f"{name}-worker-0"])
    want = [("PYTHONUNBUFFERED", "1"), ("PET_NPROC_PER_NODE", "auto"),
            ("PET_RDZV_ENDPOINT", f"127.0.0.1:{port}"), ("PET_RDZV_BACKEND", "c10d"),
            ("PET_NNODES", "1:2"), ("PET_MAX_RESTARTS", "100"), ("PET_RDZV_ID", "e2e-id"),
            ("PET_RDZV_CONF", "timeout=5,x=y"), ("PET_STANDALONE", "")]
    for pname in (f"{name}-worker-0", f"{name}-worker-1"):
        assert env_list(pods[pname])[1:] == want, f"{pname}: {env_list(pods[pname])}"
        env = parse_env_log(poll(lambda: (("PET_NNODES=" in run.log(pname)), run.log(pname)),
                                 10, desc=f"{pname} env in its log"))
        assert {k: env.get(k) for k, _ in want} == dict(want), f"{pname}: {env}"
        assert "MASTER_ADDR" not in env and "WORLD_SIZE" not in env, env
    # cleanPodPolicy None: worker 1 is still running after the job succeeded
    w1 = get_pod(run.d, run.ns, f"{name}-worker-1")
    assert pod_phase(w1) == "Running", w1["status"]


# -- conditions for failures and restarts ---------------------------------------------------------

def test_never_worker_failure_fails_job(run):
    name = uniq("nv")
    run.create(run.job(name, "sleep 60", "echo failing; exit 3", restart="Never"))
    j = wait_cond(run.d, run.ns, name, "Failed")
    msg = f"PyTorchJob {name} is failed because 1 Worker replica(s) failed."
    assert conds(j) == [
        ("Created", "True", "PyTorchJobCreated", f"PyTorchJob {name} is created."),
        ("Running", "False", "PyTorchJobRunning", f"PyTorchJob {name} is running."),
        ("Failed", "True", "PyTorchJobFailed", msg)], j["status"]
    assert j["status"]["replicaStatuses"]["Worker"].get("failed") == 1, j["status"]
    assert "completionTime" in j["status"], j["status"]
    w = get_pod(run.d, run.ns, f"{name}-worker-0")
    assert w["spec"]["restartPolicy"] == "Never"
    assert pod_phase(w) == "Failed", w["status"]
    cs = e2elib.container_status(w)
    assert cs["state"]["terminated"]["exitCode"] == 3 and cs["restartCount"] == 0, cs
    assert cs["state"]["terminated"].get("reason") == "Error", cs
    # cleanPodPolicy None (default): the master keeps running after the worker failed
    m = get_pod(run.d, run.ns, f"{name}-master-0")
    assert pod_phase(m) == "Running", m["status"]
    assert run.procs(), "the master's process should still run"
    evs = {(e["type"], e["reason"], e["message"]) for e in run.events(name)}
    assert ("Normal", "PyTorchJobFailed", msg) in evs, sorted(evs)
    assert ("Normal", "ExitedWithCode", f"Pod: {run.ns}.{name}-worker-0 exited with code 3") in evs, sorted(evs)
    # Failed is terminal: the status no longer changes
    j2 = run.get(name)
    assert conds(j2) == conds(j)


def test_onfailure_restarts_in_place(run, tmp_path):
    name = uniq("of")
    # fails twice (exit 1), then succeeds: restarted in place by the kubelet (back-off 1 s, 2 s)
    script = (f'n=$(cat {tmp_path}/n 2>/dev/null || echo 0); echo $((n+1)) > {tmp_path}/n; '
              f'echo "run $n"; [ "$n" -ge 2 ] || exit 1; echo ok')
    run.create(run.job(name, script))
    pod0 = wait_pod(run.d, run.ns, f"{name}-master-0", lambda p: True, 10, desc="created")
    uid = pod0["metadata"]["uid"]
    j = wait_cond(run.d, run.ns, name, "Succeeded", timeout=20)
    p = get_pod(run.d, run.ns, f"{name}-master-0")
    assert p["metadata"]["uid"] == uid, "OnFailure must restart in place, not recreate the pod"
    assert pod_phase(p) == "Succeeded", p["status"]
    cs = e2elib.container_status(p)
    assert cs["restartCount"] == 2, cs
    assert cs["state"]["terminated"]["exitCode"] == 0, cs
    # OnFailure failures are invisible to the job (§6.4): no Restarting, no Failed
    types = [c[0] for c in conds(j)]
    assert types == ["Created", "Running", "Succeeded"], conds(j)
    assert (tmp_path / "n").read_text().strip() == "3"
    evs = {e["reason"] for e in run.events(name)}
    assert "PyTorchJobRestarting" not in evs and "SuccessfulDeletePod" not in evs, evs
    # kubelet keeps the previous run's termination in lastState
    assert (cs.get("lastState") or {}).get("terminated", {}).get("exitCode") == 1, \
        f"lastState of a restarted container lost: {cs}"


def test_always_restarts_even_on_success(run):
    name = uniq("al")
    run.create(run.job(name, "echo tick; sleep 0.5; exit 0", restart="Always"))
    pod = f"{name}-master-0"
    # once running again after a restart, lastState keeps the previous exit (kubelet's
    # lastTerminationState); kubelet restarts the first time at once, then waits in
    # CrashLoopBackOff (--restart-backoff) before the second restart
    seen = []

    def check():
        cs = e2elib.container_status(get_pod(run.d, run.ns, pod) or {}) or {}
        seen.append(cs)
        return bool(cs.get("state", {}).get("running")) and cs.get("restartCount", 0) >= 2, cs
    poll(check, 15, interval=0.02, desc="running again after two restarts")
    p = wait_restarts(run, pod, 2)
    assert p["spec"]["restartPolicy"] == "Always"
    assert pod_phase(p) == "Running", p["status"]
    j = run.get(name)
    types = [c[0] for c in conds(j)]
    assert "Succeeded" not in types and "Failed" not in types, conds(j)
    assert find_cond(j, "Running")["status"] == "True", conds(j)
    # each run has its own log: the current one and the previous one
    assert run.log(pod).split() == ["tick"] and run.log(pod, previous="true").split() == ["tick"]
    waiting = [cs for cs in seen if "waiting" in cs.get("state", {})]
    assert waiting, "never saw the container waiting between runs"
    assert waiting[-1]["state"]["waiting"]["reason"] == "CrashLoopBackOff", waiting[-1]
    assert waiting[-1]["lastState"]["terminated"]["exitCode"] == 0, waiting[-1]
    running = seen[-1]
    assert (running.get("lastState") or {}).get("terminated", {}).get("exitCode") == 0, \
        f"lastState of a restarted, running container lost: {running}"


def test_exitcode_permanent_failure(run):
    name = uniq("ecp")
    run.create(run.job(name, "echo bye; exit 1", restart="ExitCode"))
    j = wait_cond(run.d, run.ns, name, "Failed")
    f = find_cond(j, "Failed")
    msg = f'job "{name}" is failing because "Master" replica(s) failed.'
    assert (f["reason"], f["message"]) == ("PyTorchJobFailed", msg), f
    assert conds(j)[-1][0] == "Failed"
    # deviation on purpose (§11): completionTime is set so TTL applies
    assert "completionTime" in j["status"], j["status"]
    p = get_pod(run.d, run.ns, f"{name}-master-0")
    assert p["spec"]["restartPolicy"] == "Never", p["spec"]
    assert pod_phase(p) == "Failed", p["status"]
    assert e2elib.container_status(p)["state"]["terminated"]["exitCode"] == 1
    evs = {(e["type"], e["reason"], e["message"]) for e in run.events(name)}
    assert ("Warning", "PyTorchJobFailed", msg) in evs, sorted(evs)
    assert not any(r == "SuccessfulDeletePod" for _, r, _ in evs), sorted(evs)


@pytest.mark.parametrize("first", ["kill -9 $$", "exit 130"])
def test_exitcode_retryable_recreates_pod(run, tmp_path, first):
    name = uniq("ecr")
    # the second run lasts long enough for the controller to see it Running (else Restarting,
    # not Running, precedes Succeeded: a race upstream has too)
    script = (f'if [ ! -e {tmp_path}/once ]; then touch {tmp_path}/once; echo first; {first}; fi; '
              'echo second; sleep 0.5; exit 0')
    run.create(run.job(name, script, restart="ExitCode"))
    j = wait_cond(run.d, run.ns, name, "Succeeded", timeout=20)
    p = get_pod(run.d, run.ns, f"{name}-master-0")
    assert restart_count(p) == 0, "recreated, not restarted in place"
    assert run.log(f"{name}-master-0").split() == ["second"], "a new pod has a new log"
    code = 137 if "kill" in first else 130
    msg = f"job {name} is restarting because Master replica(s) failed."
    evs = [(e["type"], e["reason"], e["message"]) for e in run.events(name)]
    assert ("Warning", "PyTorchJobRestarting", msg) in evs, evs
    assert ("Normal", "ExitedWithCode", f"Pod: {run.ns}.{name}-master-0 exited with code {code}") in evs, evs
    assert ("Normal", "SuccessfulDeletePod", f"Deleted pod: {name}-master-0") in evs, evs
    creates = [e for e in run.events(name) if e["reason"] == "SuccessfulCreatePod"]
    assert sum(e.get("count", 1) for e in creates) == 2, creates
    assert conds(j) == [
        ("Created", "True", "PyTorchJobCreated", f"PyTorchJob {name} is created."),
        ("Running", "False", "PyTorchJobRunning", f"PyTorchJob {name} is running."),
        ("Succeeded", "True", "PyTorchJobSucceeded", f"PyTorchJob {name} is successfully completed."),
    ], j["status"]


def test_backoff_limit_restart_count(run):
    name = uniq("bo")
    run.create(run.job(name, "echo fail; exit 1", "sleep 60",
                       run_policy={"backoffLimit": 2, "cleanPodPolicy": "None"}))
    t0 = time.monotonic()
    j = wait_cond(run.d, run.ns, name, "Failed", timeout=20)
    msg = f"Job {name} has failed because it has reached the specified backoff limit"
    f = find_cond(j, "Failed")
    assert (f["reason"], f["message"]) == ("PyTorchJobFailed", msg), f
    assert "completionTime" in j["status"], j["status"]
    # restarts at +1 s and +2 s: the limit (2) is reached about 3 s after the start
    assert time.monotonic() - t0 < 12
    # every pod and service deleted regardless of cleanPodPolicy (§6.5)
    poll(lambda: (not run.pods(name), sorted(run.pods(name))), 15, desc="pods deleted")
    poll(lambda: (not run.services(name), sorted(run.services(name))), 15, desc="services deleted")
    e2elib.wait_no_processes(run.d.proc.pid, [run.mark], timeout=15)
    evs = {(e["type"], e["reason"], e["message"]) for e in run.events(name)}
    assert ("Normal", "PyTorchJobFailed", msg) in evs, sorted(evs)
    assert ("Normal", "SuccessfulDeletePod", f"Deleted pod: {name}-worker-0") in evs, sorted(evs)


def test_active_deadline(run):
    name = uniq("dl")
    run.create(run.job(name, "sleep 60", "sleep 60", run_policy={"activeDeadlineSeconds": 2}))
    t0 = time.monotonic()
    j = wait_cond(run.d, run.ns, name, "Failed", timeout=10)
    took = time.monotonic() - t0
    msg = f"Job {name} has failed because it was active longer than specified deadline"
    f = find_cond(j, "Failed")
    assert (f["reason"], f["message"]) == ("PyTorchJobFailed", msg), f
    assert 1.0 <= took <= 5.0, f"deadline 2 s fired after {took:.1f}s"
    st = j["status"]
    assert "completionTime" in st and "startTime" in st, st
    poll(lambda: (not run.pods(name), sorted(run.pods(name))), 15, desc="pods deleted")
    e2elib.wait_no_processes(run.d.proc.pid, [run.mark], timeout=15)
    assert conds(run.get(name))[-1][:2] == ("Failed", "True")


def test_ttl_after_finished_deletes_job(run):
    name = uniq("ttl")
    run.create(run.job(name, "echo done", "echo done",
                       run_policy={"ttlSecondsAfterFinished": 1}))
    wait_cond(run.d, run.ns, name, "Succeeded")
    t0 = time.monotonic()
    run.d.wait_gone(run.ns, name, timeout=10)
    assert time.monotonic() - t0 < 5
    poll(lambda: (not run.pods(name), sorted(run.pods(name))), 15, desc="pods deleted")
    poll(lambda: (not run.services(name), sorted(run.services(name))), 15, desc="services deleted")
    evs = {(e["type"], e["reason"], e["message"]) for e in run.events(name)}
    assert ("Normal", "SuccessfulDeletePod", f"Deleted job: {name}") in evs, sorted(evs)


@pytest.mark.parametrize("policy", ["None", "Running", "All"])
def test_clean_pod_policy(run, tmp_path, policy):
    name = uniq("cp" + policy.lower()[:3])
    # workers announce themselves and keep running; the master exits 0 once both have started
    worker = f'touch {tmp_path}/$HOSTNAME; exec sleep 60'
    master = (f'i=0; while [ $(ls {tmp_path} | wc -l) -lt 2 ] && [ $i -lt 150 ]; '
              'do sleep 0.1; i=$((i+1)); done; echo master-done')
    run.create(run.job(name, master, worker, workers=2, run_policy={"cleanPodPolicy": policy}))
    wait_cond(run.d, run.ns, name, "Succeeded")
    workers = {f"{name}-worker-0", f"{name}-worker-1"}
    mpod = f"{name}-master-0"
    if policy == "None":
        pods = run.pods(name)
        assert set(pods) == workers | {mpod}, sorted(pods)
        for w in workers:
            assert pod_phase(pods[w]) == "Running", pods[w]["status"]
        assert len(run.procs()) >= 2, run.procs()
        assert set(run.services(name)) == workers | {mpod}
        j = wait_job(run.d, run.ns, name, lambda j: j["status"]["replicaStatuses"]
                     .get("Worker", {}).get("succeeded") == 2, 10, desc="active moved to succeeded")
        assert "active" not in j["status"]["replicaStatuses"]["Worker"], j["status"]
    elif policy == "Running":
        poll(lambda: (set(run.pods(name)) == {mpod}, sorted(run.pods(name))), 15,
             desc="running workers deleted, the Succeeded master kept")
        poll(lambda: (set(run.services(name)) == {mpod}, sorted(run.services(name))), 15,
             desc="workers' services deleted")
        assert pod_phase(get_pod(run.d, run.ns, mpod)) == "Succeeded"
        e2elib.wait_no_processes(run.d.proc.pid, [run.mark], timeout=15)
    else:
        poll(lambda: (not run.pods(name), sorted(run.pods(name))), 15, desc="all pods deleted")
        poll(lambda: (not run.services(name), sorted(run.services(name))), 15,
             desc="all services deleted")
        e2elib.wait_no_processes(run.d.proc.pid, [run.mark], timeout=15)
    if policy != "None":
        evs = {(e["reason"], e["message"]) for e in run.events(name)}
        for w in workers:
            assert ("SuccessfulDeletePod", f"Deleted pod: {w}") in evs, sorted(evs)
            assert ("SuccessfulDeleteService", f"Deleted service: {w}") in evs, sorted(evs)
    j = run.get(name)
    assert conds(j)[-1][:2] == ("Succeeded", "True"), conds(j)


# -- suspend / resume --------------------------------------------------------------------------------

def test_suspend_and_resume(run):
    name = uniq("sus")
    body = run.job(name, "exec sleep 60", "exec sleep 60", workers=2,
                   run_policy={"suspend": True})
    run.create(body)
    j = wait_cond(run.d, run.ns, name, "Suspended")
    assert conds(j) == [
        ("Created", "True", "PyTorchJobCreated", f"PyTorchJob {name} is created."),
        ("Suspended", "True", "PyTorchJobSuspended", f"PyTorchJob {name} is suspended.")], j["status"]
    assert "startTime" not in j["status"], j["status"]
    assert run.pods(name) == {} and run.services(name) == {}
    assert not run.procs()
    evs = {(e["type"], e["reason"], e["message"]) for e in run.events(name)}
    assert ("Normal", "PyTorchJobSuspended", f"PyTorchJob {name} is suspended.") in evs, evs

    # resume: pods appear, Suspended False/Resumed, then Running
    r = run.d.patch(pj(run.ns, name), {"spec": {"runPolicy": {"suspend": False}}})
    assert r.status == 200, r
    j = wait_job(run.d, run.ns, name, lambda j: (j["status"].get("replicaStatuses", {})
                                                 .get("Worker", {}).get("active") == 2
                                                 and j["status"]["replicaStatuses"]
                                                 .get("Master", {}).get("active") == 1),
                 15, desc="1 Master and 2 Workers active")
    assert conds(j) == [
        ("Created", "True", "PyTorchJobCreated", f"PyTorchJob {name} is created."),
        ("Suspended", "False", "PyTorchJobResumed", f"PyTorchJob {name} is resumed."),
        ("Running", "True", "PyTorchJobRunning", f"PyTorchJob {name} is running.")], j["status"]
    assert "startTime" in j["status"], j["status"]
    assert j["status"]["replicaStatuses"] == {
        "Master": {"active": 1, "selector": selector(name, "master")},
        "Worker": {"active": 2, "selector": selector(name, "worker")}}, j["status"]
    assert len(run.pods(name)) == 3 and len(run.services(name)) == 3
    poll(lambda: (len(run.procs()) >= 3, run.procs()), 10, desc="three processes")
    evs = {(e["type"], e["reason"], e["message"]) for e in run.events(name)}
    assert ("Normal", "PyTorchJobResumed", f"PyTorchJob {name} is resumed.") in evs, evs

    # suspend the running job: every pod and service deleted, processes gone, Running False
    r = run.d.patch(pj(run.ns, name), {"spec": {"runPolicy": {"suspend": True}}})
    assert r.status == 200, r
    j = wait_cond(run.d, run.ns, name, "Suspended")
    poll(lambda: (not run.pods(name), sorted(run.pods(name))), 15, desc="pods deleted")
    poll(lambda: (not run.services(name), sorted(run.services(name))), 15, desc="services deleted")
    e2elib.wait_no_processes(run.d.proc.pid, [run.mark], timeout=15)
    j = wait_job(run.d, run.ns, name, lambda j: all(
        not v.get("active") for v in j["status"].get("replicaStatuses", {}).values()), 10,
        desc="active counts zeroed")
    c = {t: (s, rs, m) for t, s, rs, m in conds(j)}
    assert c["Running"] == ("False", "PyTorchJobSuspended", f"PyTorchJob {name} is suspended."), conds(j)
    assert c["Suspended"] == ("True", "PyTorchJobSuspended", f"PyTorchJob {name} is suspended."), conds(j)
    assert conds(j)[-1][0] in ("Suspended", "Running"), conds(j)


# -- workers and their master ------------------------------------------------------------------------

def test_workers_wait_for_master_process(run, tmp_path):
    """A worker's process starts only once its master's process runs (the local stand-in for the
    init-pytorch DNS wait, which needs a Ready master): with a master whose command cannot be
    executed, the worker must stay Pending and never run."""
    name = uniq("wm")
    master = run.replica("unused")
    master["template"]["spec"]["containers"][0]["command"] = ["/nonexistent/e2e-master"]
    run.create(run.job(name, master, f"touch {tmp_path}/worker-ran"))
    # the master fails to start (exit 128) and is restarted in place after 1 s
    m = wait_restarts(run, f"{name}-master-0", 1)
    cs = e2elib.container_status(m)
    last = cs.get("lastState", {}).get("terminated") or cs["state"].get("terminated") or {}
    assert last.get("exitCode") == 128, cs
    assert "/nonexistent/e2e-master" in run.log(f"{name}-master-0")
    w = get_pod(run.d, run.ns, f"{name}-worker-0")
    assert not (tmp_path / "worker-ran").exists(), \
        f"the worker ran although its master never did; worker status {w['status']}"
    assert pod_phase(w) == "Pending", w["status"]


def test_worker_restart_after_master_finished(run, tmp_path):
    """A worker restarted in place (OnFailure) after its master has finished restarts like any
    container: upstream's init container ran once, before the first start, and is not re-run."""
    name = uniq("wr")
    master = f'i=0; while [ ! -e {tmp_path}/w-started ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done; echo master-done'
    worker = (f'if [ ! -e {tmp_path}/w-started ]; then touch {tmp_path}/w-started; i=0; '
              f'while [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); '
              f'[ -n "$(ls {tmp_path}/m-gone 2>/dev/null)" ] && break; done; exit 1; fi; echo second-run')
    run.create(run.job(name, master, worker))
    wait_cond(run.d, run.ns, name, "Succeeded")
    # the master has exited: let the worker's first run fail now
    wait_pod(run.d, run.ns, f"{name}-master-0", lambda p: pod_phase(p) == "Succeeded", 10)
    (tmp_path / "m-gone").touch()
    w = wait_pod(run.d, run.ns, f"{name}-worker-0",
                 lambda p: pod_phase(p) == "Succeeded", 10,
                 desc="worker restarted in place (back-off 1 s) and succeeded")
    assert restart_count(w) == 1, w["status"]
    assert run.log(f"{name}-worker-0").split() == ["second-run"]


# -- more lifecycle ------------------------------------------------------------------------------------

def test_user_named_port_is_used_everywhere(run):
    name = uniq("up")
    port = e2elib.free_port()
    body = run.job(name, ENV_SCRIPT + "; sleep 0.3", ENV_SCRIPT)
    for rs in body["spec"]["pytorchReplicaSpecs"].values():
        rs["template"]["spec"]["containers"][0]["ports"] = [
            {"name": "pytorchjob-port", "containerPort": port}]
    run.create(body)
    wait_cond(run.d, run.ns, name, "Succeeded")
    for pname, pod in run.pods(name).items():
        assert job_port(pod) == port, pod["spec"]["containers"][0]["ports"]
        env = parse_env_log(run.log(pname))
        assert env.get("MASTER_PORT") == str(port) and env.get("PET_MASTER_PORT") == str(port), env
    for sname, svc in run.services(name).items():
        assert [p["port"] for p in svc["spec"]["ports"]] == [port], svc["spec"]


def test_backoff_limit_zero_with_never(run):
    """backoffLimit 0: the new-failure rule fires on the first failed pod (§6.5), before the
    Never rule, and every pod is deleted."""
    name = uniq("b0")
    run.create(run.job(name, "exec sleep 60", "exit 2", restart="Never",
                       run_policy={"backoffLimit": 0}))
    j = wait_cond(run.d, run.ns, name, "Failed")
    f = find_cond(j, "Failed")
    assert f["message"] == f"Job {name} has failed because it has reached the specified backoff limit", f
    poll(lambda: (not run.pods(name), sorted(run.pods(name))), 15, desc="pods deleted")
    e2elib.wait_no_processes(run.d.proc.pid, [run.mark], timeout=15)


def test_deadline_clock_starts_at_resume(run):
    """activeDeadlineSeconds counts from startTime, which a suspended job does not have and which
    is reset at resume (§6.6, §6.8)."""
    name = uniq("dls")
    # 2 s: long enough that the pods are Running before it fires even on a loaded machine (with
    # 1 s a slow start once let the deadline win, and the job never showed Running)
    run.create(run.job(name, "exec sleep 60", run_policy={"suspend": True,
                                                          "activeDeadlineSeconds": 2}))
    wait_cond(run.d, run.ns, name, "Suspended")
    t_susp = time.monotonic()
    # while suspended the deadline must not fire: watch it for 3 s (longer than the deadline)
    deadline_fired = []

    def watch_suspended():
        j = run.get(name)
        if find_cond(j, "Failed"):
            deadline_fired.append(conds(j))
            return True
        return time.monotonic() - t_susp > 3.0
    poll(watch_suspended, 6, desc="3 s suspended")
    assert not deadline_fired, f"deadline fired while suspended: {deadline_fired}"
    r = run.d.patch(pj(run.ns, name), {"spec": {"runPolicy": {"suspend": False}}})
    assert r.status == 200, r
    t_res = time.monotonic()
    j = wait_cond(run.d, run.ns, name, "Running", timeout=10)
    assert time.monotonic() - t_res < 2.0 or find_cond(j, "Failed") is None
    j = wait_cond(run.d, run.ns, name, "Failed", timeout=10)
    took = time.monotonic() - t_res
    # startTime is stored in whole seconds (RFC 3339), so the deadline can fire up to 1 s early,
    # as training-operator's, which also reads the truncated startTime back
    assert 0.9 <= took <= 5.0, f"deadline 2 s after resume fired after {took:.1f}s"
    assert find_cond(j, "Failed")["message"] == (
        f"Job {name} has failed because it was active longer than specified deadline")


def test_scale_workers_down_and_up(run):
    name = uniq("sc")
    run.create(run.job(name, "exec sleep 60", "exec sleep 60", workers=2))
    wait_job(run.d, run.ns, name, lambda j: j["status"].get("replicaStatuses", {})
             .get("Worker", {}).get("active") == 2, 15, desc="2 workers active")
    r = run.d.patch(pj(run.ns, name), {"spec": {"pytorchReplicaSpecs": {"Worker": {"replicas": 1}}}})
    assert r.status == 200, r
    w1 = f"{name}-worker-1"
    poll(lambda: (w1 not in run.pods(name), sorted(run.pods(name))), 15, desc="worker-1 deleted")
    poll(lambda: (w1 not in run.services(name), sorted(run.services(name))), 15,
         desc="worker-1's service deleted")
    wait_job(run.d, run.ns, name, lambda j: j["status"]["replicaStatuses"]["Worker"].get("active") == 1,
             10, desc="1 worker active")
    evs = {(e["reason"], e["message"]) for e in run.events(name)}
    assert ("SuccessfulDeletePod", f"Deleted pod: {w1}") in evs, sorted(evs)
    r = run.d.patch(pj(run.ns, name), {"spec": {"pytorchReplicaSpecs": {"Worker": {"replicas": 3}}}})
    assert r.status == 200, r
    poll(lambda: (set(run.pods(name)) == {f"{name}-master-0"} | {f"{name}-worker-{i}" for i in range(3)},
                  sorted(run.pods(name))), 15, desc="3 workers")
    new = run.pods(name)[f"{name}-worker-2"]
    env = dict(env_list(new))
    assert env["WORLD_SIZE"] == "4" and env["RANK"] == "3", env


def test_deleted_pod_is_recreated(run):
    name = uniq("rc")
    run.create(run.job(name, "exec sleep 60", "exec sleep 60"))
    w = f"{name}-worker-0"
    p = wait_running(run, w)
    uid = p["metadata"]["uid"]
    r = run.d.delete(e2elib.pods_path(run.ns, w), query={"gracePeriodSeconds": "0"})
    assert r.status == 200, r
    p = wait_pod(run.d, run.ns, w, lambda p: p["metadata"]["uid"] != uid and pod_phase(p) == "Running",
                 15, desc="recreated and running")
    assert restart_count(p) == 0
    j = run.get(name)
    assert find_cond(j, "Failed") is None and find_cond(j, "Succeeded") is None, conds(j)


# -- creates that fail, adoption, restart pacing (jobctl invariants 4–6) ------------------------

def event_count(r, job, reason, uid=None):
    return sum(e.get("count", 1) for e in r.events(job)
               if e["reason"] == reason and (uid is None or e["involvedObject"].get("uid") == uid))


def failed_creates(r, job, reason="FailedCreatePod"):
    return [(e["type"], e["message"], e.get("count", 1)) for e in r.events(job) if e["reason"] == reason]


def assert_paced_retries(r, name, reason, seconds=2.5, most=25):
    """The create keeps failing, retried with a doubling delay: a few retries, not a hot loop."""
    poll(lambda: (bool(failed_creates(r, name, reason)), r.events(name)), 10, desc=reason)
    t0 = time.monotonic()
    poll(lambda: (event_count(r, name, reason) >= 3, failed_creates(r, name, reason)), 10,
         desc=f"{reason} retried")
    time.sleep(max(0.0, seconds - (time.monotonic() - t0)))  # a span to count retries in
    n = event_count(r, name, reason)
    assert 3 <= n <= most, f"{n} {reason} in {seconds}s: {failed_creates(r, name, reason)}"


@pytest.mark.parametrize("case", ["restart-policy", "container-name"])
def test_invalid_pod_is_not_created(run, case):
    """The controller's pods get the apiserver's validation: FailedCreatePod with its message,
    no pod, the job stays Created, retried with backoff."""
    name = uniq("inv")
    if case == "restart-policy":  # the webhook does not check the enum; the apiserver does
        body = run.job(name, run.replica("exec sleep 60", restart="onFailure"))
    else:
        m = run.replica("exec sleep 60")
        m["template"]["spec"]["containers"].append(e2elib.sh_container("true", name="Bad_Name"))
        body = run.job(name, m)
    run.create(body)
    pod = f"{name}-master-0"
    assert_paced_retries(run, name, "FailedCreatePod")
    evs = failed_creates(run, name)
    assert len(evs) == 1 and evs[0][0] == "Warning", evs
    msg = evs[0][1]
    if case == "restart-policy":
        assert msg == (f'Error creating: Pod "{pod}" is invalid: spec.restartPolicy: Unsupported value: '
                       '"onFailure": supported values: "Always", "OnFailure", "Never"'), msg
    else:
        # the very answer a POST of that pod gets
        spec = {"containers": body["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"]}
        r = run.d.post(e2elib.pods_path(run.ns), {"apiVersion": "v1", "kind": "Pod",
                                                   "metadata": {"name": pod}, "spec": spec})
        assert r.status == 422, r
        assert msg == "Error creating: " + r.json["message"], (msg, r.json["message"])
        assert 'spec.containers[1].name: Invalid value: "Bad_Name"' in msg, msg
    assert not run.pods(name)
    assert pod not in list_pods(run.d, run.ns)
    j = run.get(name)
    assert conds(j) == [("Created", "True", "PyTorchJobCreated", f"PyTorchJob {name} is created.")], conds(j)
    assert not any(e["reason"] == "SuccessfulCreatePod" for e in run.events(name))


def test_service_name_too_long(run):
    """<job>-master-0 of a 59-character job is a valid pod name (hostname cut to 63) but no
    valid service name: FailedCreateService, and the job does not progress."""
    name = (uniq("long") + "-" + "x" * 60)[:59]
    pod = f"{name}-master-0"
    assert len(pod) == 68
    run.create(run.job(name, 'echo "host=$HOSTNAME"; exec sleep 60'))
    assert_paced_retries(run, name, "FailedCreateService")
    evs = failed_creates(run, name, "FailedCreateService")
    assert evs[0][:2] == ("Warning", f'Error creating: Service "{pod}" is invalid: metadata.name: '
                          f'Invalid value: "{pod}": must be no more than 63 characters'), evs
    # the same as a direct POST of such a service
    r = run.d.post(svcs_path(run.ns), {"apiVersion": "v1", "kind": "Service", "metadata": {"name": pod},
                                       "spec": {"clusterIP": "None"}})
    assert r.status == 422 and evs[0][1] == "Error creating: " + r.json["message"], r
    assert not run.services(name)
    p = wait_running(run, pod)
    # the kubelet's hostname: the first 63 characters, no trailing '-'
    host = pod[:63].rstrip("-.")
    poll(lambda: (f"host={host}" in run.log(pod), run.log(pod)), 10, desc="hostname logged")
    assert p["metadata"]["name"] == pod
    j = run.get(name)
    assert conds(j) == [("Created", "True", "PyTorchJobCreated", f"PyTorchJob {name} is created.")], conds(j)


def test_orphans_are_adopted(run):
    """kubectl delete pj X --cascade=orphan, then X again: the new job claims the old pods and
    services (ClaimPods/ClaimServices) instead of failing to create them."""
    name = uniq("adopt")
    run.create(run.job(name, "exec sleep 60", "exec sleep 60"))
    pods = [f"{name}-master-0", f"{name}-worker-0"]
    for p in pods:
        wait_running(run, p)
    old = {n: p["metadata"]["uid"] for n, p in run.pods(name).items()}
    old_svcs = {n: s["metadata"]["uid"] for n, s in run.services(name).items()}
    assert sorted(old) == sorted(old_svcs) == sorted(pods)
    r = run.d.delete(pj(run.ns, name), {"propagationPolicy": "Orphan"})
    assert r.status in (200, 202), r
    run.d.wait_gone(run.ns, name, timeout=15)
    poll(lambda: (all(not p["metadata"].get("ownerReferences") for p in run.pods(name).values()),
                  run.pods(name)), 10, desc="ownerReferences removed")
    uid = run.create(run.job(name, "exec sleep 60", "exec sleep 60"))["metadata"]["uid"]

    def owned(objs):
        refs = {n: o["metadata"].get("ownerReferences") or [] for n, o in objs.items()}
        return (all(any(ref.get("uid") == uid and ref.get("controller") for ref in rs)
                    for rs in refs.values()) and len(refs) == 2, refs)
    poll(lambda: owned(run.pods(name)), 10, desc="pods adopted")
    poll(lambda: owned(run.services(name)), 10, desc="services adopted")
    ref = run.pods(name)[pods[0]]["metadata"]["ownerReferences"]
    assert ref == [{"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "name": name, "uid": uid,
                    "controller": True, "blockOwnerDeletion": True}], ref
    assert {n: p["metadata"]["uid"] for n, p in run.pods(name).items()} == old, "adopted, not recreated"
    assert {n: s["metadata"]["uid"] for n, s in run.services(name).items()} == old_svcs
    wait_cond(run.d, run.ns, name, "Running")
    assert event_count(run, name, "SuccessfulCreatePod", uid) == 0
    assert event_count(run, name, "FailedCreatePod", uid) == 0


def test_foreign_pod_with_the_name(run):
    """A pod that is not the job's (no labels) holds <job>-master-0: the create fails like a
    POST, AlreadyExists, retried with backoff; the pod is left alone."""
    name = uniq("taken")
    pod = f"{name}-master-0"
    r = run.d.post(e2elib.pods_path(run.ns), {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod},
        "spec": {"containers": [e2elib.sh_container("exec sleep 60", run.mark)]}})
    assert r.status == 201, r
    uid = r.json["metadata"]["uid"]
    try:
        run.create(run.job(name, "exec sleep 60"))
        assert_paced_retries(run, name, "FailedCreatePod")
        evs = failed_creates(run, name)
        assert evs[0][:2] == ("Warning", f'Error creating: pods "{pod}" already exists'), evs
        p = get_pod(run.d, run.ns, pod)
        assert p["metadata"]["uid"] == uid and not p["metadata"].get("ownerReferences"), p["metadata"]
        assert conds(run.get(name))[-1][0] == "Created"
    finally:
        r = run.d.delete(e2elib.pods_path(run.ns, pod), query={"gracePeriodSeconds": "0"})
        assert r.status in (200, 404), r


def test_exitcode_unstartable_command_is_paced(run):
    """ExitCode + a command that cannot start (128, retryable): the pod is recreated with a
    doubling delay instead of hundreds of times a second."""
    name = uniq("nx")
    m = run.replica("true", restart="ExitCode")
    m["template"]["spec"]["containers"][0]["command"] = ["/nonexistent/bin"]
    run.create(run.job(name, m))
    poll(lambda: (event_count(run, name, "SuccessfulCreatePod") >= 3, run.events(name)), 10,
         desc="pod recreated")
    t0 = time.monotonic()
    time.sleep(2.5)
    n = event_count(run, name, "SuccessfulCreatePod")
    assert n <= 25, f"{n} pods created in {time.monotonic() - t0 + 0.1:.1f}s"
    j = run.get(name)
    assert find_cond(j, "Failed") is None, conds(j)
    assert find_cond(j, "Restarting")["status"] == "True", conds(j)
    evs = {(e["reason"], e["message"]) for e in run.events(name)}
    assert ("ExitedWithCode", f"Pod: {run.ns}.{name}-master-0 exited with code 128") in evs, sorted(evs)
