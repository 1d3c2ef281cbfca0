"""kubectl delete over live training: each --cascade mode with --grace-period, --dry-run=server,
and the pods' graceful deletion (--grace-period, --force). The jobs, watches and /proc monitor
are test_delete_live's (its fixtures run here on this module's own daemon)."""
import shutil
import time

import pytest

from e2elib import pj, rv
from test_delete_live import (JOB_LABEL, LATE, PROMPT, Checks, check_terminated, check_untouched,
                              findings, now, pod_deletion_events, pods_path, start_jobs,
                              wait_marked)
from test_delete_live import live, no_leftovers  # noqa: F401  (fixtures, on this module's daemon)

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")

GRACE = 2


def kubectl(env, *args, timeout=60):
    t = now()
    p = env.d.kubectl(*args, "-n", env.ns, timeout=timeout)
    return p, now() - t


@pytest.mark.parametrize("cascade", ["background", "foreground", "orphan"])
def test_kubectl_delete_cascade(live, no_leftovers, cascade):
    """`kubectl delete pytorchjob --cascade=X --grace-period=2`, after the same with
    --dry-run=server (which must change nothing). kubectl waits until the job is gone:
    background at once (the processes then get their 2 s), foreground only once every process
    has exited and every pod is gone (≥ the grace), orphan once the pods are orphaned (they keep
    running, and go later with `kubectl delete pod`)."""
    env = live.env()
    ck = Checks()
    j = start_jobs(env, {"kc": {}})["kc"]
    job0, pods0, svcs0 = j.snapshot()
    rv0 = rv(job0)
    prv = {p: rv(o) for p, o in pods0.items()}
    # --dry-run=server: the answer, and nothing else
    t = now()
    p, _ = kubectl(env, "delete", "pytorchjob", j.name, f"--cascade={cascade}",
                   f"--grace-period={GRACE}", "--dry-run=server")
    ck(p.returncode == 0 and p.stdout.strip() == f'pytorchjob.kubeflow.org "{j.name}" deleted (server dry run)',
       f"kubectl --dry-run=server: rc {p.returncode} stdout {p.stdout!r} stderr {p.stderr!r}")
    time.sleep(1.0)
    check_untouched(ck, j, t + 0.9, "after --dry-run=server: ")
    ck(not env.jobs.events(j.name, rv0), f"--dry-run=server produced events {env.jobs.events(j.name, rv0)}")
    ck(rv(j.d.get(pj(env.ns, j.name)).json) == rv0, "--dry-run=server changed the job")
    # for real
    t0, t0w = now(), time.time()
    p, took = kubectl(env, "delete", "pytorchjob", j.name, f"--cascade={cascade}",
                      f"--grace-period={GRACE}")
    t_ret = now()
    ck(p.returncode == 0 and p.stdout.strip() == f'pytorchjob.kubeflow.org "{j.name}" deleted',
       f"kubectl delete: rc {p.returncode} stdout {p.stdout!r} stderr {p.stderr!r}")
    ck(j.d.get(pj(env.ns, j.name)).status == 404, "kubectl returned before the job was gone")
    types = [e.type for e in env.jobs.events(j.name, rv0)]
    if cascade == "background":
        ck(took < GRACE - 0.5, f"--cascade=background took {took:.2f}s: it must not wait for the pods")
        ck(types == ["DELETED"], f"job events {env.jobs.events(j.name, rv0)}")
        check_terminated(ck, j, t0, t0w, GRACE, "background: ")
        for pn in pods0:
            pod_deletion_events(ck, env, pn, prv[pn], GRACE, True, GRACE + LATE + 5)
    elif cascade == "foreground":
        ck(took >= GRACE - 0.5, f"--cascade=foreground returned after {took:.2f}s, before the "
           f"worker's {GRACE}s grace was over")
        ck(types == ["MODIFIED", "DELETED"], f"job events {env.jobs.events(j.name, rv0)}")
        for m, label in ((j.m, "master"), (j.w, "worker")):
            ls = live.mon.last.get(m)
            ck(ls is None or ls <= t_ret, f"foreground: {label} still running "
               f"{(ls or 0) - t_ret:.2f}s after kubectl returned")
        check_terminated(ck, j, t0, t0w, GRACE, "foreground: ")
        left = j.d.get(pods_path(env.ns, query={"labelSelector": f"{JOB_LABEL}={j.name}"}))
        ck(left.json["items"] == [], "pods left after --cascade=foreground")
    else:
        ck(types == ["MODIFIED", "DELETED"], f"job events {env.jobs.events(j.name, rv0)}")
        time.sleep(1.0)
        check_untouched(ck, j, t_ret + 0.9, "orphan: ")
        for pn in pods0:
            g = j.d.get(pods_path(env.ns, pn))
            ck(g.status == 200 and not g.json["metadata"].get("ownerReferences"),
               f"orphaned pod {pn}: {g}")
        t1, t1w = now(), time.time()
        p, took = kubectl(env, "delete", "pod", "-l", f"{JOB_LABEL}={j.name}", "--grace-period=1")
        ck(p.returncode == 0 and sorted(p.stdout.split("\n")) == sorted(
            [""] + [f'pod "{pn}" deleted' for pn in pods0]),
           f"kubectl delete pod: rc {p.returncode} stdout {p.stdout!r} stderr {p.stderr!r}")
        check_terminated(ck, j, t1, t1w, 1, "orphans deleted with kubectl: ")
        ck(took >= 1 - 0.5, f"kubectl delete pod returned after {took:.2f}s, before the pods were gone")
        p, _ = kubectl(env, "delete", "service", "-l", f"{JOB_LABEL}={j.name}")
        ck(p.returncode == 0, f"kubectl delete service: {p.stderr}")
    findings(ck)


def test_kubectl_pod_grace_and_force(live, no_leftovers):
    """Pods being deleted with the default 30 s: `kubectl delete pod --grace-period=0` (without
    --force kubectl sends 1) waits ~1 s for the pod; `--force --grace-period=0` removes it at
    once and its process is killed at once."""
    env = live.env()
    ck = Checks()
    jobs = start_jobs(env, {"k30a": {"tgps": None}, "k30b": {"tgps": None}})
    marks = {}
    for j in jobs.values():
        prv = {p: env.pods.latest(p).rv for p in j.pod_names}
        p, _ = kubectl(env, "delete", "pytorchjob", j.name)
        ck(p.returncode == 0, f"kubectl delete pytorchjob: {p.stderr}")
        w = j.pod_names[1]
        marks[j.name] = wait_marked(env, w, prv[w])
        ck(marks[j.name].md.get("deletionGracePeriodSeconds") == 30, f"{w}: {marks[j.name]}")
    live.mon.wait_gone([j.m for j in jobs.values()], 5)
    live.mon.sync()
    for j in jobs.values():
        ck(live.mon.alive(j.w), f"{j.name}: worker gone before its 30 s grace")

    j = jobs["k30a"]
    w = j.pod_names[1]
    t1 = now()
    p, took = kubectl(env, "delete", "pod", w, "--grace-period=0")
    ck(p.returncode == 0 and p.stdout.strip() == f'pod "{w}" deleted',
       f"kubectl delete pod --grace-period=0: rc {p.returncode} {p.stdout!r} {p.stderr!r}")
    ev = [e for e in env.pods.events(w, marks[j.name].rv) if e.md.get("deletionGracePeriodSeconds") == 1]
    ck(ev, f"--grace-period=0 without --force must shorten to 1 s: {env.pods.events(w, marks[j.name].rv)}")
    live.mon.sync()
    ck(not live.mon.alive(j.w), f"kubectl returned after {took:.2f}s while the worker was still "
       f"running; pod events: {env.pods.events(w, marks[j.name].rv)}")
    g = live.mon.gone.get(j.w)
    ck(g is not None and g - t1 <= 1 + LATE, f"worker gone {(g or 0) - t1:.2f}s after the 1 s delete")

    j = jobs["k30b"]
    w = j.pod_names[1]
    p, took = kubectl(env, "delete", "pod", w, "--force", "--grace-period=0")
    ck(p.returncode == 0 and p.stdout.strip() == f'pod "{w}" force deleted',
       f"kubectl --force: rc {p.returncode} {p.stdout!r} {p.stderr!r}")
    ck("Immediate deletion does not wait" in p.stderr, f"kubectl --force warning: {p.stderr!r}")
    ck(j.d.get(pods_path(env.ns, w)).status == 404, "pod still there after --force --grace-period=0")
    try:
        live.mon.wait_gone([j.w], PROMPT)
    except AssertionError:
        ck.fail(f"worker still running {PROMPT}s after --force --grace-period=0")
    findings(ck)
