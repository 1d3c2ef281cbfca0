"""A real training job end to end: examples/ddp (DistributedDataParallel, gloo on CPU, 1 Master +
2 Workers) through `kubectl apply`, `kubectl wait --for=condition=Succeeded`, the pod logs, and no
process left behind.

Needs /usr/bin/python3 with torch (Debian python3-torch) and kubectl; skipped otherwise.
"""
import re
import shutil
import subprocess
import time

import pytest

import e2elib
from e2elib import ROOT, pj, poll, uniq

EXAMPLE = ROOT / "examples" / "ddp"
TRAIN = EXAMPLE / "train.py"
STEPS = 20


def torch_available():
    try:
        return subprocess.run(["/usr/bin/python3", "-c", "import torch.distributed as d; "
                               "assert d.is_available() and d.is_gloo_available()"],
                              capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module")
def td(make_daemon):
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    if not torch_available():
        pytest.skip("/usr/bin/python3 cannot import torch with gloo")
    return make_daemon()


def test_ddp_example_trains_to_success(td):
    ns = td.create_ns(uniq("ddp"))
    manifest = (EXAMPLE / "pytorchjob-ddp.yaml").read_text()
    assert "@REPO@" in manifest
    manifest = manifest.replace("@REPO@", str(ROOT))
    name = "ddp-linear"

    t0 = time.monotonic()
    k = td.kubectl("apply", "-n", ns, "-f", "-", input=manifest)
    assert k.returncode == 0, k.stderr
    assert k.stdout.strip() == f"pytorchjob.kubeflow.org/{name} created", k.stdout
    k = td.kubectl("wait", "-n", ns, "--for=condition=Succeeded", f"pytorchjob/{name}",
                   "--timeout=180s", timeout=200)
    took = time.monotonic() - t0
    if k.returncode != 0:
        job = td.get(pj(ns, name)).json
        logs = {p: td.get(e2elib.pods_path(ns, p, "log")).text
                for p in e2elib.list_pods(td, ns, name)}
        pytest.fail(f"kubectl wait: {k.stdout}{k.stderr}\nstatus: {job.get('status')}\nlogs: {logs}")
    assert k.stdout.strip() == f"pytorchjob.kubeflow.org/{name} condition met", k.stdout

    job = td.get(pj(ns, name)).json
    types = [(c["type"], c["status"]) for c in job["status"]["conditions"]]
    assert types == [("Created", "True"), ("Running", "False"), ("Succeeded", "True")], types
    assert job["status"]["replicaStatuses"]["Master"].get("succeeded") == 1, job["status"]

    pods = e2elib.list_pods(td, ns, name)
    want = {f"{name}-master-0": 0, f"{name}-worker-0": 1, f"{name}-worker-1": 2}
    assert set(pods) == set(want), sorted(pods)
    port = None
    step_re = re.compile(r"^rank (\d+) step (\d+) loss (\d+\.\d+)$")
    for pod, rank in want.items():
        env = {e["name"]: e.get("value") for e in pods[pod]["spec"]["containers"][0]["env"]}
        assert env["WORLD_SIZE"] == "3" and env["RANK"] == str(rank), env
        assert env["MASTER_ADDR"] == "127.0.0.1", env
        port = port or env["MASTER_PORT"]
        assert env["MASTER_PORT"] == port, env
        k = td.kubectl("logs", "-n", ns, pod)
        assert k.returncode == 0, k.stderr
        lines = k.stdout.splitlines()
        assert f"rank {rank} world_size 3 master 127.0.0.1:{port}" in lines, k.stdout
        losses = {}
        for ln in lines:
            m = step_re.match(ln)
            if m:
                assert int(m.group(1)) == rank, ln
                losses[int(m.group(2))] = float(m.group(3))
        assert sorted(losses) == list(range(STEPS)), f"{pod}: steps {sorted(losses)}\n{k.stdout}"
        assert losses[STEPS - 1] < losses[0] / 10, f"{pod}: loss did not go down: {losses}"
        assert re.search(rf"^rank {rank} done\b", k.stdout, re.M), k.stdout
        if pod.endswith("master-0"):
            assert e2elib.pod_phase(pods[pod]) == "Succeeded", pods[pod]["status"]
    # every rank finished (cleanPodPolicy None keeps the pods): all three Succeeded
    poll(lambda: (all(e2elib.pod_phase(p) == "Succeeded"
                      for p in e2elib.list_pods(td, ns, name).values()),
                  {n: e2elib.pod_phase(p) for n, p in e2elib.list_pods(td, ns, name).items()}),
         30, desc="all three ranks Succeeded")
    assert took < 120, f"the DDP example took {took:.0f}s"

    k = td.kubectl("delete", "-n", ns, f"pytorchjob/{name}")
    assert k.returncode == 0, k.stderr
    poll(lambda: (not e2elib.list_pods(td, ns, name), sorted(e2elib.list_pods(td, ns, name))),
         30, desc="pods deleted with the job")
    e2elib.wait_no_processes(td.proc.pid, cmdline_contains=[str(TRAIN)], timeout=30)
