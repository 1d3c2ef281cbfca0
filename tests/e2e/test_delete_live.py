"""DELETE over live training: the garbage collector, the kubelet and the grace periods, end to end
(k8s-api-semantics.md §3–§5, §3.6; the issue "DELETE over live training").

Unlike the rest of the suite, the jobs here do NOT set runPolicy.managedBy: the controller runs
them, so every replica is a real local process. Each replica runs `sh -c` with a unique marker
in its command line (MARK_PREFIX…), found by scanning /proc (ProcMonitor), and an env var CKPT
from the pod template naming a file it writes when SIGTERM reaches it:

  Master  TERM-trapping: writes "ckpt" to $CKPT and exits 0 (a checkpoint within the grace)
  Worker  TERM-catching but staying: appends "term" to $CKPT and keeps running, so only the
          SIGKILL at the end of the grace period ends it

Everything is observed, not slept on: three watches per namespace (pytorchjobs, pods, services)
record every event with its arrival time and resourceVersion (one store: RVs order events across
kinds), and a /proc scanner records when each marker was last seen alive.

The matrix (policy × gracePeriodSeconds × dryRun × job state = 144 cells) runs as 72 scenarios
in parallel on one dedicated daemon: each scenario drives one job through a dryRun=All DELETE
(which must change nothing) and then the same DELETE for real, and files its findings per cell.
The parametrized test_matrix cells only report them.

Beyond the matrix: the pods API's graceful deletion (default 30 s, shorten only, grace 0,
dryRun), a negative grace, a later DELETE changing the policy (of a foreground deletion held by
a terminating pod, and of a job held by a custom finalizer), a repeated DELETE changing nothing,
deletecollection cascading per job, namespace deletion, the Python client with V1DeleteOptions,
a dryRun grace that must not stick, the grace near a wall-clock second boundary, a grace beyond
32 bits, and the daemon stopped right after a DELETE. kubectl: test_delete_live_kubectl.py.
"""
import concurrent.futures
import http.client
import json
import os
import secrets
import signal
import socket
import threading
import time
import traceback
from collections import defaultdict

import pytest

from e2elib import (GROUP, PLURAL, TIME_RE, VERSION, assert_success_status, pj, rv,
                    with_query)

CUSTOM = "e2e.torchjob.dev/hold"
FG, ORPHAN = "foregroundDeletion", "orphan"
TGPS = 3          # terminationGracePeriodSeconds of every pod template (the "absent" column)
SMALL = 1         # the "small" gracePeriodSeconds
JOB_LABEL = "training.kubeflow.org/job-name"
TOKEN = secrets.token_hex(3)
MARK_PREFIX = f"@@TJDL{TOKEN}:"

# Timing tolerances (seconds). The lower bound on SIGKILL is strict on purpose: a process killed
# more than EARLY before the grace has passed did not get its grace.
EARLY = 0.35
LATE = 2.5        # scheduling slack on two loaded cores
PROMPT = 1.5      # SIGTERM / SIGKILL "at once"


def marker(job, role):
    return f"{MARK_PREFIX}{job}:{role}@@"


def now():
    return time.monotonic()


# -- processes ---------------------------------------------------------------------------------

class ProcMonitor(threading.Thread):
    """Scans /proc every `interval` s for command lines holding MARK_PREFIX. For each marker:
    first/last scan (start time) that saw a live (non-zombie) process with it, and the first
    scan after that which did not (gone)."""

    def __init__(self, interval=0.05):
        super().__init__(daemon=True)
        self.interval = interval
        self.prefix = MARK_PREFIX.encode()
        self.cache = {}                 # pid -> marker or None
        self.first, self.last, self.gone = {}, {}, {}
        self.gone_by = {}               # marker -> end of the scan that first missed it
        self.pids = {}                  # marker -> set of live pids (latest scan)
        self.cv = threading.Condition()
        self.stopping = False
        self.scans = 0
        self.t_scan = 0.0             # start time of the latest complete scan

    def _marker_of(self, pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cl = f.read()
        except OSError:
            return None
        i = cl.find(self.prefix)
        if i < 0:
            return None
        j = cl.find(b"@@", i + len(self.prefix))
        return cl[i:j + 2].decode() if j > 0 else None

    @staticmethod
    def _live(pid):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                st = f.read()
        except OSError:
            return False
        return st[st.rfind(b")") + 2:st.rfind(b")") + 3] not in (b"Z", b"X")

    def scan(self):
        t = now()
        seen = set()
        cur = defaultdict(set)
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            pid = int(d)
            seen.add(pid)
            if pid not in self.cache:
                self.cache[pid] = self._marker_of(pid)
            m = self.cache[pid]
            if m and self._live(pid):
                cur[m].add(pid)
        for pid in list(self.cache):
            if pid not in seen:
                del self.cache[pid]
        with self.cv:
            for m, ps in cur.items():
                self.first.setdefault(m, t)
                self.last[m] = t
                self.gone.pop(m, None)
                self.gone_by.pop(m, None)
            t_end = now()
            for m in list(self.pids):
                if m not in cur and m not in self.gone:
                    self.gone[m] = t
                    self.gone_by[m] = t_end
            self.pids = dict(cur)
            self.scans += 1
            self.t_scan = t
            self.cv.notify_all()

    def run(self):
        while not self.stopping:
            try:
                self.scan()
            except Exception:  # a scan racing process exits must never end the monitor
                pass
            time.sleep(self.interval)

    def stop(self):
        self.stopping = True
        self.join(5)

    def alive(self, m):
        with self.cv:
            return bool(self.pids.get(m))

    def wait(self, pred, timeout, desc):
        deadline = now() + timeout
        with self.cv:
            while not pred():
                left = deadline - now()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for {desc}")
                self.cv.wait(left)

    def wait_alive(self, markers, timeout=30):
        self.wait(lambda: all(self.pids.get(m) for m in markers), timeout,
                  f"processes {markers} to run")

    def wait_gone(self, markers, timeout):
        self.wait(lambda: not any(self.pids.get(m) for m in markers), timeout,
                  f"processes {markers} to exit")

    def sync(self):
        """Wait for a complete scan that started after this call (no stale answers)."""
        t = now()
        self.wait(lambda: self.t_scan > t, 5, "a fresh /proc scan")

    def live_with_prefix(self, prefix=MARK_PREFIX):
        with self.cv:
            return {m: set(ps) for m, ps in self.pids.items() if ps and m.startswith(prefix)}


def scan_now(prefix):
    """A synchronous /proc scan: {marker: pids} of live processes whose marker starts with prefix."""
    out = defaultdict(set)
    p = prefix.encode()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cl = f.read()
            if p not in cl:
                continue
            with open(f"/proc/{d}/stat", "rb") as f:
                st = f.read()
        except OSError:
            continue
        if st[st.rfind(b")") + 2:st.rfind(b")") + 3] in (b"Z", b"X"):
            continue
        i = cl.find(p)
        j = cl.find(b"@@", i + len(p))
        out[cl[i:j + 2].decode()].add(int(d))
    return dict(out)


def kill_leftovers(prefix):
    """SIGKILL, by pid, the processes of this module's jobs still alive; returns what was found."""
    left = scan_now(prefix)
    for pids in left.values():
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return left


# -- watches -----------------------------------------------------------------------------------

class Ev:
    __slots__ = ("t", "type", "obj", "rv", "name")

    def __init__(self, t, typ, obj):
        self.t, self.type, self.obj = t, typ, obj
        md = (obj or {}).get("metadata") or {}
        self.name = md.get("name")
        r = md.get("resourceVersion")
        self.rv = int(r) if r and r.isdigit() else 0

    @property
    def md(self):
        return self.obj.get("metadata") or {}

    def __repr__(self):
        md = self.md
        return (f"{self.type}({self.name} rv={self.rv} dt={md.get('deletionTimestamp')} "
                f"dgps={md.get('deletionGracePeriodSeconds')} fin={md.get('finalizers')} "
                f"owners={[o.get('name') for o in md.get('ownerReferences') or []]})")


class Watcher(threading.Thread):
    """One watch stream read by a thread; events are kept per object name with arrival times."""

    def __init__(self, d, path, start_rv, query=None):
        super().__init__(daemon=True)
        q = dict(query or {})
        q.update({"watch": "true", "resourceVersion": str(start_rv), "timeoutSeconds": "3600"})
        self.path = with_query(path, q)
        self.conn = http.client.HTTPSConnection("127.0.0.1", d.port, context=d.ssl_context(),
                                                timeout=None)
        self.conn.request("GET", self.path, headers={"Authorization": "Bearer " + d.token,
                                                     "Accept": "application/json"})
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, (self.path, self.resp.status, self.resp.read()[:500])
        self.cv = threading.Condition()
        self.by_name = defaultdict(list)
        self.all = []
        self.errors = []
        self.ended = False
        self.start()

    def run(self):
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                if not line.strip():
                    continue
                ev = json.loads(line)
                e = Ev(now(), ev.get("type"), ev.get("object"))
                with self.cv:
                    if e.type == "ERROR":
                        self.errors.append(ev)
                    else:
                        self.all.append(e)
                        self.by_name[e.name].append(e)
                    self.cv.notify_all()
        except Exception as ex:  # closed under us at teardown
            with self.cv:
                self.errors.append(repr(ex))
        finally:
            with self.cv:
                self.ended = True
                self.cv.notify_all()

    def close(self):
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except Exception:
            pass
        self.conn.close()
        self.join(5)

    def events(self, name, after_rv=0):
        with self.cv:
            return [e for e in self.by_name.get(name, []) if e.rv > after_rv]

    def latest(self, name):
        with self.cv:
            evs = self.by_name.get(name)
            return evs[-1] if evs else None

    def wait(self, pred, timeout, desc):
        deadline = now() + timeout
        with self.cv:
            while True:
                v = pred()
                if v:
                    return v
                left = deadline - now()
                if left <= 0 or self.ended:
                    raise AssertionError(f"timed out after {timeout}s waiting for {desc} "
                                         f"(stream ended={self.ended}, errors={self.errors})")
                self.cv.wait(min(left, 0.5))

    def wait_event(self, name, after_rv, pred, timeout, desc):
        """The first event of name after after_rv matching pred."""
        def find():
            for e in self.by_name.get(name, []):
                if e.rv > after_rv and pred(e):
                    return e
            return None
        return self.wait(find, timeout, f"{desc} of {name}; seen: {self.events(name, after_rv)}")

    def wait_quiet(self, names, quiet, timeout):
        """Until none of names got an event for `quiet` seconds."""
        deadline = now() + timeout
        while True:
            with self.cv:
                lt = max([self.by_name[n][-1].t for n in names if self.by_name.get(n)] or [0])
            if now() - lt >= quiet:
                return
            if now() > deadline:
                raise AssertionError(f"{names} never quiet for {quiet}s")
            time.sleep(0.1)


def list_rv(d, path):
    r = d.get(path)
    assert r.status == 200, r
    return r.json["metadata"]["resourceVersion"]


def pods_path(ns, name=None, query=None):
    p = f"/api/v1/namespaces/{ns}/pods" + (f"/{name}" if name else "")
    return with_query(p, query)


def svcs_path(ns, name=None, query=None):
    p = f"/api/v1/namespaces/{ns}/services" + (f"/{name}" if name else "")
    return with_query(p, query)


class Env:
    """One namespace with its three watches, the shared /proc monitor and a checkpoint dir."""

    def __init__(self, d, ns, mon, ckdir):
        self.d, self.ns, self.mon, self.ckdir = d, ns, mon, ckdir
        self.created = []   # LiveJobs, for the cleanup after a test
        self.jobs = Watcher(d, pj(ns), list_rv(d, pj(ns)))
        self.pods = Watcher(d, pods_path(ns), list_rv(d, pods_path(ns)))
        self.svcs = Watcher(d, svcs_path(ns), list_rv(d, svcs_path(ns)))

    def close(self):
        for w in (self.jobs, self.pods, self.svcs):
            w.close()


# -- jobs --------------------------------------------------------------------------------------

TRAP_CKPT = ": {m}; trap 'echo ckpt > \"$CKPT\"; exit 0' TERM; while :; do sleep 1000 & wait; done"
TRAP_STAY = ": {m}; trap 'echo term >> \"$CKPT\"' TERM; while :; do sleep 1000 & wait; done"
QUICK_OK = ": {m}; sleep {s}; exit 0"


class LiveJob:
    """A 1 Master + 1 Worker PyTorchJob run by the controller (no managedBy)."""

    def __init__(self, env, name, kind="live", suspend=False, finalizers=None, tgps=TGPS,
                 labels=None):
        self.env, self.name = env, name
        self.key = f"{env.ns}.{name}"   # unique in the module: markers and files
        self.m, self.w = marker(self.key, "m"), marker(self.key, "w")
        self.ck_m = env.ckdir / f"{self.key}.ckpt"
        self.ck_w = env.ckdir / f"{self.key}.term"
        self.pod_names = [f"{name}-master-0", f"{name}-worker-0"]
        if kind == "live":
            ms, ws = TRAP_CKPT.format(m=self.m), TRAP_STAY.format(m=self.w)
        else:  # "succeed": both exit 0 (the master a little later, so the worker can start)
            ms, ws = QUICK_OK.format(m=self.m, s="0.5"), QUICK_OK.format(m=self.w, s="0")

        def rep(script, ck):
            c = {"name": "pytorch", "image": "busybox", "command": ["sh", "-c", script],
                 "env": [{"name": "CKPT", "value": str(ck)}]}
            spec = {"containers": [c]}
            if tgps is not None:
                spec["terminationGracePeriodSeconds"] = tgps
            return {"replicas": 1, "restartPolicy": "OnFailure", "template": {"spec": spec}}

        meta = {"name": name}
        if finalizers:
            meta["finalizers"] = list(finalizers)
        if labels:
            meta["labels"] = dict(labels)
        spec = {"pytorchReplicaSpecs": {"Master": rep(ms, self.ck_m), "Worker": rep(ws, self.ck_w)}}
        if suspend:
            spec["runPolicy"] = {"suspend": True}
        self.body = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": meta,
                     "spec": spec}
        self.obj = None

    @property
    def d(self):
        return self.env.d

    @property
    def ns(self):
        return self.env.ns

    @property
    def uid(self):
        return self.obj["metadata"]["uid"]

    def create(self):
        r = self.d.post(pj(self.ns), self.body)
        assert r.status == 201, r
        self.obj = r.json
        self.env.created.append(self)
        return self

    def _cond(self, typ):
        def pred():
            e = self.env.jobs.latest(self.name)
            if e is None or e.type == "DELETED":
                return None
            conds = (e.obj.get("status") or {}).get("conditions") or []
            return e if any(c.get("type") == typ and c.get("status") == "True" for c in conds) else None
        return pred

    def _pods_phase(self, phase):
        def pred():
            for p in self.pod_names:
                e = self.env.pods.latest(p)
                if e is None or e.type == "DELETED" or (e.obj.get("status") or {}).get("phase") != phase:
                    return False
            return True
        return pred

    def wait_running(self, timeout=40):
        self.env.jobs.wait(self._cond("Running"), timeout, f"{self.name} Running")
        self.env.pods.wait(self._pods_phase("Running"), timeout, f"{self.name} pods Running")
        self.env.mon.wait_alive([self.m, self.w], timeout)
        self.quiet()

    def wait_succeeded(self, timeout=40):
        self.env.jobs.wait(self._cond("Succeeded"), timeout, f"{self.name} Succeeded")
        self.env.pods.wait(self._pods_phase("Succeeded"), timeout, f"{self.name} pods Succeeded")
        self.quiet()

    def wait_suspended(self, timeout=40):
        self.env.jobs.wait(self._cond("Suspended"), timeout, f"{self.name} Suspended")
        self.quiet()

    def quiet(self, q=0.6, timeout=20):
        self.env.jobs.wait_quiet([self.name], q, timeout)
        self.env.pods.wait_quiet(self.pod_names, q, timeout)

    def snapshot(self):
        """(job, {pod name: pod}, {svc name: svc}) as GET/LIST show them now."""
        r = self.d.get(pj(self.ns, self.name))
        assert r.status == 200, r
        sel = {"labelSelector": f"{JOB_LABEL}={self.name}"}
        p = self.d.get(pods_path(self.ns, query=sel))
        s = self.d.get(svcs_path(self.ns, query=sel))
        assert p.status == 200 and s.status == 200, (p, s)
        return (r.json, {o["metadata"]["name"]: o for o in p.json["items"]},
                {o["metadata"]["name"]: o for o in s.json["items"]})

    def delete(self, body=None, query=None):
        return self.d.delete(pj(self.ns, self.name, query=query), body)

    def drop_custom_finalizer(self):
        return self.d.patch(pj(self.ns, self.name), {"metadata": {"finalizers": None}})

    def cleanup(self):
        """Whatever state the test left: no job, no pods, no services, no process. Returns what
        had to be cleaned up by force (processes still alive after the grace-0 deletes)."""
        d, ns = self.d, self.ns
        r = d.get(pj(ns, self.name))
        if r.status == 200:
            if r.json["metadata"].get("finalizers"):
                d.patch(pj(ns, self.name), {"metadata": {"finalizers": None}})
            d.delete(pj(ns, self.name), {"gracePeriodSeconds": 0, "propagationPolicy": "Background"})
        for p in self.pod_names:
            d.delete(pods_path(ns, p), {"gracePeriodSeconds": 0})
            d.delete(svcs_path(ns, p))
        try:
            self.env.mon.wait_gone([self.m, self.w], 10)
        except AssertionError:
            pass
        return kill_leftovers(f"{MARK_PREFIX}{self.key}:")


# -- checks ------------------------------------------------------------------------------------

class Checks:
    """Soft assertions filed under a phase ('dry' / 'real'); strict=True raises at once."""

    def __init__(self, strict=False):
        self.strict = strict
        self.fails = {"dry": [], "real": []}
        self.phase = "real"

    def __call__(self, cond, msg):
        if not cond:
            if self.strict:
                raise AssertionError(msg)
            self.fails[self.phase].append(msg)
        return bool(cond)

    def fail(self, msg):
        return self(False, msg)


def fmt_t(x):
    return "never" if x is None else f"{x:+.2f}s"


def check_terminated(ck, job, t0, t0_wall, grace, what=""):
    """Both processes of job ended as a grace period of `grace` seconds from t0 says: the
    TERM-trapping master wrote its checkpoint within the grace and exited; the worker, which
    stays after SIGTERM, saw the SIGTERM and was SIGKILLed once the grace had passed. grace 0:
    SIGKILL at once, no trap ran."""
    mon = job.env.mon
    try:
        mon.wait_gone([job.m, job.w], grace + LATE + 3)
    except AssertionError:
        ck.fail(f"{what}processes still running {grace + LATE + 3:.1f}s after the delete "
                f"(grace {grace}): master alive={mon.alive(job.m)} worker alive={mon.alive(job.w)}")
        return
    g_m, g_w = mon.gone.get(job.m), mon.gone.get(job.w)
    l_w = mon.last.get(job.w)
    rel = lambda x: None if x is None else x - t0  # noqa: E731
    if grace > 0:
        for path, label in ((job.ck_m, "master checkpoint"), (job.ck_w, "worker SIGTERM note")):
            if ck(path.exists(), f"{what}{label} {path.name} not written: SIGTERM never reached "
                                 f"the process (grace {grace})"):
                mt = path.stat().st_mtime
                ck(t0_wall - 0.05 <= mt <= t0_wall + PROMPT,
                   f"{what}{label} written at {mt - t0_wall:+.2f}s, expected within "
                   f"[0, {PROMPT}]s of the delete (SIGTERM at once)")
        ck(g_m is not None and rel(g_m) <= PROMPT + 0.3,
           f"{what}master (exits on SIGTERM) gone at {fmt_t(rel(g_m))}, expected ≤ {PROMPT + 0.3}s")
        # Proof of an early SIGKILL is a scan that missed the worker and ended before the grace
        # (less EARLY) had passed. Its last sighting alone is no proof: on two loaded cores a
        # scan of /proc can take half a second, and the last one that saw the worker may have
        # started well before the grace ran out.
        gb_w = mon.gone_by.get(job.w)
        ck(l_w is not None and gb_w is not None and rel(gb_w) >= grace - EARLY,
           f"{what}worker (stays after SIGTERM) last seen alive at {fmt_t(rel(l_w))} and missed "
           f"by a scan that ended at {fmt_t(rel(gb_w))}, expected alive until the grace "
           f"({grace}s) expired: SIGKILL came too early")
        ck(g_w is not None and rel(g_w) <= grace + LATE,
           f"{what}worker gone at {fmt_t(rel(g_w))}, expected SIGKILL at ~{grace}s "
           f"(≤ {grace + LATE}s)")
    else:
        ck(not job.ck_m.exists() and not job.ck_w.exists(),
           f"{what}grace 0 must SIGKILL at once, but a SIGTERM trap ran "
           f"(ckpt={job.ck_m.exists()}, term={job.ck_w.exists()})")
        for m, g, label in ((job.m, g_m, "master"), (job.w, g_w, "worker")):
            ck(g is not None and rel(g) <= PROMPT,
               f"{what}{label} gone at {fmt_t(rel(g))}, expected SIGKILL at once (≤ {PROMPT}s)")


def check_untouched(ck, job, since, what=""):
    """Processes alive since `since` (monotonic) and no SIGTERM seen by either."""
    mon = job.env.mon
    mon.sync()
    for m, label in ((job.m, "master"), (job.w, "worker")):
        ck(mon.alive(m) and mon.last.get(m, 0) >= since,
           f"{what}{label} process not running (alive={mon.alive(m)}, gone at "
           f"{fmt_t((mon.gone.get(m) or 0) - since) if mon.gone.get(m) else '-'})")
    ck(not job.ck_m.exists() and not job.ck_w.exists(),
       f"{what}a process got SIGTERM (ckpt={job.ck_m.exists()}, term={job.ck_w.exists()})")


def pod_deletion_events(ck, env, pname, rv0, grace, graceful, timeout, watcher=None, what=""):
    """Wait for the pod's DELETED; check the graceful marking (deletionGracePeriodSeconds) that
    came before it. Returns the DELETED event or None."""
    w = watcher or env.pods
    try:
        dele = w.wait_event(pname, rv0, lambda e: e.type == "DELETED", timeout, "DELETED")
    except AssertionError as ex:
        ck.fail(f"{what}{ex}")
        return None
    marks = [e for e in w.events(pname, rv0) if e.type == "MODIFIED" and e.md.get("deletionTimestamp")]
    if graceful:
        if ck(marks, f"{what}pod {pname} removed without a graceful marking (expected "
                     f"deletionGracePeriodSeconds={grace}); events: {w.events(pname, rv0)}"):
            ck(marks[0].md.get("deletionGracePeriodSeconds") == grace,
               f"{what}pod {pname} deletionGracePeriodSeconds="
               f"{marks[0].md.get('deletionGracePeriodSeconds')}, expected {grace}")
    else:
        ck(not [e for e in marks if (e.md.get("deletionGracePeriodSeconds") or 0) > 0],
           f"{what}pod {pname} given a grace period although it must go at once "
           f"(grace 0 or a finished pod): {marks}")
    return dele


def job_event_types(env, name, rv0):
    return [e.type for e in env.jobs.events(name, rv0)]


# -- the matrix ----------------------------------------------------------------------------------

POLICIES = ["none", "Background", "Foreground", "Orphan", "orphanDependents=true",
            "orphanDependents=false"]
GRACES = ["absent", 0, SMALL]
STATES = ["running", "succeeded", "suspended", "finalizer"]
POL_ABBR = {"none": "none", "Background": "bg", "Foreground": "fg", "Orphan": "orph",
            "orphanDependents=true": "odt", "orphanDependents=false": "odf"}
GR_ABBR = {"absent": "ga", 0: "g0", SMALL: f"g{SMALL}"}
ST_ABBR = {"running": "run", "succeeded": "suc", "suspended": "sus", "finalizer": "fin"}


def delete_body(policy, grace, dry):
    b = {"kind": "DeleteOptions", "apiVersion": "v1"}
    if policy in ("Background", "Foreground", "Orphan"):
        b["propagationPolicy"] = policy
    elif policy == "orphanDependents=true":
        b["orphanDependents"] = True
    elif policy == "orphanDependents=false":
        b["orphanDependents"] = False
    if grace != "absent":
        b["gracePeriodSeconds"] = grace
    if dry:
        b["dryRun"] = ["All"]
    return b


def mode_of(policy):
    return {"Foreground": "fg", "Orphan": "orphan", "orphanDependents=true": "orphan"}.get(policy, "bg")


def strip_for_compare(o):
    o = json.loads(json.dumps(o))
    md = o.get("metadata", {})
    md.pop("resourceVersion", None)
    md.pop("deletionTimestamp", None)
    md.pop("managedFields", None)
    return o


class Scenario:
    """One job through a dryRun=All DELETE and then the same DELETE for real."""

    def __init__(self, env, state, policy, grace):
        self.env, self.state, self.policy, self.grace = env, state, policy, grace
        self.name = f"{ST_ABBR[state]}-{POL_ABBR[policy]}-{GR_ABBR[grace]}"
        self.ck = Checks()
        self.mode = mode_of(policy)
        self.custom = state == "finalizer"
        self.procs = state in ("running", "finalizer")
        self.G = TGPS if grace == "absent" else grace
        fin = [CUSTOM] if self.custom else []
        if self.mode == "orphan":
            fin.append(ORPHAN)
        elif self.mode == "fg":
            fin.append(FG)
        self.want_fin = fin
        self.immediate = not fin
        self.want_code = 202 if policy == "orphanDependents=false" and not self.immediate else 200
        self.job = LiveJob(env, self.name, kind="succeed" if state == "succeeded" else "live",
                           suspend=state == "suspended", finalizers=[CUSTOM] if self.custom else None)
        self.dry_resp = None
        self.timeline = []

    def note(self, what):
        self.timeline.append(f"{now() - self.t_start:6.2f}s {what}")

    # -- the run
    def run(self):
        self.t_start = now()
        ck = self.ck
        try:
            ck.phase = "setup"
            self.setup()
            ck.phase = "dry"
            self.dry_phase()
            ck.phase = "real"
            self.real_phase()
        except Exception as ex:
            msg = f"{type(ex).__name__} in {ck.phase} phase: {ex}\n{traceback.format_exc(limit=4)}"
            if ck.phase == "setup":
                ck.fails["dry"].append(msg)
                ck.fails["real"].append(msg)
            else:
                ck.fails[ck.phase].append(msg)
        finally:
            ck.phase = "real"
            try:
                left = self.job.cleanup()
                ck(not left, f"processes left behind (killed by the test): {left}")
            except Exception as ex:
                ck.fail(f"cleanup failed: {ex!r}")
        self.note("done")
        return self

    def setup(self):
        j = self.job.create()
        self.note("created")
        if self.state == "succeeded":
            j.wait_succeeded()
        elif self.state == "suspended":
            j.wait_suspended()
        else:
            j.wait_running()
        self.note("steady")
        self.job0, self.pods0, self.svcs0 = j.snapshot()
        self.rv0 = rv(self.job0)
        latest = self.env.jobs.latest(self.name)
        assert latest and latest.rv == self.rv0, \
            f"watch and GET disagree before the delete: {latest} vs rv {self.rv0}"
        want_pods = {} if self.state == "suspended" else set(j.pod_names)
        assert set(self.pods0) == set(want_pods), f"pods before the delete: {sorted(self.pods0)}"
        if self.state == "succeeded":  # finished pods stay, reporting how their process ended
            for n, o in self.pods0.items():
                cs = ((o.get("status") or {}).get("containerStatuses") or [{}])[0]
                term = (cs.get("state") or {}).get("terminated") or {}
                assert term.get("exitCode") == 0 and term.get("reason") == "Completed", \
                    f"succeeded pod {n}: containerStatuses {cs}"
        self.pod_rv0 = {n: rv(o) for n, o in self.pods0.items()}
        self.svc_rv0 = {n: rv(o) for n, o in self.svcs0.items()}
        self.prv0 = min(self.pod_rv0.values() or [self.rv0])
        self.srv0 = min(self.svc_rv0.values() or [self.rv0])

    # -- expected answers
    def check_response(self, r, dry):
        ck, j0 = self.ck, self.job0
        what = "dryRun " if dry else ""
        if self.immediate:
            try:
                assert_success_status(r, self.name, j0["metadata"]["uid"])
            except AssertionError as ex:
                ck.fail(f"{what}DELETE: expected 200 Status Success: {ex}")
            return
        if not ck(r.status == self.want_code and r.is_json and r.json.get("kind") == "PyTorchJob",
                  f"{what}DELETE: expected {self.want_code} with the PyTorchJob, got {r}"):
            return
        md, md0 = r.json["metadata"], j0["metadata"]
        ck(md.get("finalizers") == self.want_fin,
           f"{what}DELETE answer finalizers {md.get('finalizers')}, expected {self.want_fin}")
        ck(TIME_RE.match(md.get("deletionTimestamp") or ""),
           f"{what}DELETE answer deletionTimestamp {md.get('deletionTimestamp')!r}")
        ck(md.get("deletionGracePeriodSeconds") == 0,
           f"{what}DELETE answer deletionGracePeriodSeconds {md.get('deletionGracePeriodSeconds')}, "
           "expected 0 (a CR has no graceful deletion)")
        ck(md.get("generation") == md0.get("generation", 1) + 1,
           f"{what}DELETE answer generation {md.get('generation')}, expected {md0.get('generation', 1) + 1}")
        ck(md.get("uid") == md0["uid"], f"{what}DELETE answer uid {md.get('uid')}")
        if dry:
            ck(md.get("resourceVersion") == md0["resourceVersion"],
               f"dryRun answer resourceVersion {md.get('resourceVersion')}, expected the stored "
               f"{md0['resourceVersion']}")
        else:
            ck(int(md.get("resourceVersion", "0")) > self.rv0,
               f"DELETE answer resourceVersion {md.get('resourceVersion')} not after {self.rv0}")
        ck(r.json.get("spec") == j0.get("spec"), f"{what}DELETE answer spec differs from the job's")

    # -- dryRun=All
    def dry_phase(self):
        ck, j, env = self.ck, self.job, self.env
        t = now()
        r = j.delete(delete_body(self.policy, self.grace, True))
        self.note(f"dry delete → {r.status}")
        self.dry_resp = r
        self.check_response(r, dry=True)
        time.sleep(1.0)
        g = j.d.get(pj(j.ns, j.name))
        if ck(g.status == 200, f"after dryRun: GET job → {g.status}"):
            md = g.json["metadata"]
            ck(rv(g.json) == self.rv0, f"after dryRun: job resourceVersion {rv(g.json)} != {self.rv0}")
            ck("deletionTimestamp" not in md, f"after dryRun: job has deletionTimestamp {md}")
            ck(md.get("finalizers") == self.job0["metadata"].get("finalizers"),
               f"after dryRun: finalizers {md.get('finalizers')}")
        evs = env.jobs.events(j.name, self.rv0)
        ck(not evs, f"dryRun produced job watch events: {evs}")
        _, pods, svcs = j.snapshot()
        ck({n: rv(o) for n, o in pods.items()} == self.pod_rv0,
           f"after dryRun: pods changed: {({n: rv(o) for n, o in pods.items()})} vs {self.pod_rv0}")
        ck({n: rv(o) for n, o in svcs.items()} == self.svc_rv0,
           f"after dryRun: services changed: {({n: rv(o) for n, o in svcs.items()})} vs {self.svc_rv0}")
        for p in self.pods0:
            pe = env.pods.events(p, self.pod_rv0[p])
            ck(not pe, f"dryRun produced pod watch events: {pe}")
        if self.procs:
            check_untouched(ck, j, t + 0.9, "after dryRun: ")
        self.ev_mark = len(env.jobs.events(j.name, self.rv0))

    # -- the real DELETE
    def real_phase(self):
        ck, j, env = self.ck, self.job, self.env
        t0, t0w = now(), time.time()
        r = j.delete(delete_body(self.policy, self.grace, False))
        self.note(f"delete → {r.status}")
        self.check_response(r, dry=False)
        # dryRun answers exactly what the real delete answers
        d = self.dry_resp
        if self.immediate:
            same = d.status == r.status and d.raw == r.raw
        else:
            same = (d.status == r.status and d.is_json and r.is_json and
                    strip_for_compare(d.json) == strip_for_compare(r.json))
        self.dry_same = same
        self.dry_vs_real = (d, r)
        if not same:
            self.ck.fails["dry"].append(f"dryRun answer differs from the real delete's:\n dry:  {d}\n real: {r}")

        jobs = env.jobs
        name = j.name
        seq = []  # expected job event types
        if self.immediate:
            seq = ["DELETED"]
            dele = jobs.wait_event(name, self.rv0, lambda e: e.type == "DELETED", 10, "DELETED")
            self.after_owner_gone(t0, t0w, dele)
        else:
            mod = jobs.wait_event(name, self.rv0, lambda e: True, 10, "the first event")
            seq.append("MODIFIED")
            ck(mod.type == "MODIFIED" and mod.md.get("finalizers") == self.want_fin and
               mod.md.get("deletionTimestamp"),
               f"first job event {mod}, expected MODIFIED with deletionTimestamp and "
               f"finalizers {self.want_fin}")
            if self.mode == "bg":  # only the custom finalizer holds it
                time.sleep(max(0.0, t0 + 1.2 - now()))
                ck(jobs.latest(name).type == "MODIFIED", f"job went away while held: "
                   f"{jobs.events(name, self.rv0)}")
                if self.procs:
                    check_untouched(ck, j, t0 + 1.1, "while the job is held by its finalizer: ")
                for p in self.pods0:
                    ck(not env.pods.events(p, self.pod_rv0[p]),
                       f"pod touched while its owner is held by a finalizer (Background): "
                       f"{env.pods.events(p, self.pod_rv0[p])}")
                t1, t1w = now(), time.time()
                pr = j.drop_custom_finalizer()
                ck(pr.status == 200, f"removing the custom finalizer: {pr}")
                dele = jobs.wait_event(name, self.rv0, lambda e: e.type == "DELETED", 10, "DELETED")
                seq.append("DELETED")
                self.after_owner_gone(t1, t1w, dele)
            elif self.mode == "fg":
                self.foreground(t0, t0w, mod, seq)
            else:
                self.orphan(t0, t0w, mod, seq)
        # the job's event sequence, exactly (nothing can follow DELETED)
        got = job_event_types(env, name, self.rv0)
        ck(got == seq, f"job watch events {env.jobs.events(name, self.rv0)}, expected {seq}")
        g = j.d.get(pj(j.ns, name))
        ck(g.status == 404, f"job still there at the end: {g}")

    def after_owner_gone(self, t0, t0w, dele):
        """Background: the owner is gone; its dependents are deleted, processes get the grace."""
        ck, j, env = self.ck, self.job, self.env
        self.note("owner gone")
        if self.procs:
            check_terminated(ck, j, t0, t0w, self.G)
        for p in self.pods0:
            pe = pod_deletion_events(ck, env, p, self.pod_rv0[p], self.G,
                                     self.procs and self.G > 0, self.G + LATE + 5)
            if pe:
                first = env.pods.events(p, self.pod_rv0[p])[0]
                ck(first.rv > dele.rv, f"pod {p} touched (rv {first.rv}) before its owner was "
                   f"gone (rv {dele.rv}) in a Background delete")
        self.services_gone()

    def services_gone(self, before_rv=None):
        ck, env = self.ck, self.env
        out = {}
        for s in self.svcs0:
            try:
                e = env.svcs.wait_event(s, self.svc_rv0[s], lambda e: e.type == "DELETED", 10, "DELETED")
                out[s] = e
                if before_rv is not None:
                    ck(e.rv < before_rv, f"service {s} deleted (rv {e.rv}) after the owner's "
                       f"foreground finalizer went (rv {before_rv})")
            except AssertionError as ex:
                ck.fail(f"service not deleted: {ex}")
        return out

    def foreground(self, t0, t0w, mod, seq):
        ck, j, env = self.ck, self.job, self.env
        name = j.name
        if self.procs:
            check_terminated(ck, j, t0, t0w, self.G)
        pod_del = {}
        for p in self.pods0:
            e = pod_deletion_events(ck, env, p, self.pod_rv0[p], self.G, self.procs and self.G > 0,
                                    self.G + LATE + 5)
            if e:
                pod_del[p] = e
        if self.custom:
            nxt = env.jobs.wait_event(name, mod.rv, lambda e: True, self.G + LATE + 10,
                                      "the foregroundDeletion finalizer to go")
            seq.append("MODIFIED")
            ck(nxt.type == "MODIFIED" and nxt.md.get("finalizers") == [CUSTOM],
               f"after the dependents: {nxt}, expected MODIFIED with finalizers [{CUSTOM}]")
            end = nxt
        else:
            end = env.jobs.wait_event(name, mod.rv, lambda e: True, self.G + LATE + 10,
                                      "DELETED")
            seq.append("DELETED")
            ck(end.type == "DELETED", f"after the dependents: {end}, expected DELETED")
        for p, e in pod_del.items():
            ck(e.rv < end.rv, f"foreground: owner's finalizer went (rv {end.rv}) before pod {p} "
               f"was gone (rv {e.rv})")
        if self.procs:
            for m, label in ((j.m, "master"), (j.w, "worker")):
                ls = env.mon.last.get(m)
                ck(ls is None or ls <= end.t,
                   f"foreground: the {label} process was still running {ls - end.t:.2f}s after the "
                   f"owner's foregroundDeletion finalizer was removed")
        self.services_gone(before_rv=end.rv)
        if self.custom:
            g = j.d.get(pj(j.ns, name))
            ck(g.status == 200 and g.json["metadata"].get("finalizers") == [CUSTOM],
               f"foreground + custom finalizer: job should still be held: {g}")
            pr = j.drop_custom_finalizer()
            ck(pr.status == 200, f"removing the custom finalizer: {pr}")
            env.jobs.wait_event(name, end.rv, lambda e: e.type == "DELETED", 10, "DELETED")
            seq.append("DELETED")

    def orphan(self, t0, t0w, mod, seq):
        ck, j, env = self.ck, self.job, self.env
        name, uid = j.name, self.job0["metadata"]["uid"]

        def unowned(e):
            return e.type == "MODIFIED" and not any(o.get("uid") == uid
                                                    for o in e.md.get("ownerReferences") or [])
        orphaned = {}
        for p in self.pods0:
            try:
                orphaned[p] = env.pods.wait_event(p, self.pod_rv0[p], unowned, 10, "orphaning")
            except AssertionError as ex:
                ck.fail(f"pod not orphaned: {ex}")
        for s in self.svcs0:
            try:
                orphaned["svc/" + s] = env.svcs.wait_event(s, self.svc_rv0[s], unowned, 10, "orphaning")
            except AssertionError as ex:
                ck.fail(f"service not orphaned: {ex}")
        nxt = env.jobs.wait_event(name, mod.rv, lambda e: True, 10, "the orphan finalizer to go")
        if self.custom:
            seq.append("MODIFIED")
            ck(nxt.type == "MODIFIED" and nxt.md.get("finalizers") == [CUSTOM],
               f"after orphaning: {nxt}, expected MODIFIED with finalizers [{CUSTOM}]")
        else:
            seq.append("DELETED")
            ck(nxt.type == "DELETED", f"after orphaning: {nxt}, expected DELETED")
        for k, e in orphaned.items():
            ck(e.rv < nxt.rv, f"orphan: the owner's finalizer went (rv {nxt.rv}) before {k} was "
               f"orphaned (rv {e.rv})")
        if self.custom:
            pr = j.drop_custom_finalizer()
            ck(pr.status == 200, f"removing the custom finalizer: {pr}")
            env.jobs.wait_event(name, nxt.rv, lambda e: e.type == "DELETED", 10, "DELETED")
            seq.append("DELETED")
        t_gone = now()
        time.sleep(1.0)
        # dependents survive as standalone objects, processes untouched
        if self.procs:
            check_untouched(ck, j, t_gone + 0.9, "orphaned: ")
        for p in self.pods0:
            g = j.d.get(pods_path(j.ns, p))
            if ck(g.status == 200, f"orphaned pod {p} is gone: {g}"):
                md = g.json["metadata"]
                ck(not md.get("ownerReferences"), f"orphaned pod {p} ownerReferences {md.get('ownerReferences')}")
                ck("deletionTimestamp" not in md, f"orphaned pod {p} is being deleted: {md}")
                ck(md.get("labels", {}).get(JOB_LABEL) == name, f"orphaned pod {p} lost its labels")
        for s in self.svcs0:
            g = j.d.get(svcs_path(j.ns, s))
            if ck(g.status == 200, f"orphaned service {s} is gone: {g}"):
                ck(not g.json["metadata"].get("ownerReferences"),
                   f"orphaned service {s} ownerReferences {g.json['metadata'].get('ownerReferences')}")
        # ... and can be deleted later through the pods API, gracefully
        t1, t1w = now(), time.time()
        for p in self.pods0:
            r = j.d.delete(pods_path(j.ns, p), {"gracePeriodSeconds": SMALL})
            if ck(r.status == 200 and r.is_json and r.json.get("kind") == "Pod",
                  f"DELETE orphaned pod {p}: expected 200 with the Pod, got {r}"):
                md = r.json["metadata"]
                if self.procs:
                    ck(md.get("deletionGracePeriodSeconds") == SMALL and TIME_RE.match(
                        md.get("deletionTimestamp") or ""),
                       f"DELETE orphaned pod {p} (running, grace {SMALL}): answer metadata {md}")
        for s in self.svcs0:
            r = j.d.delete(svcs_path(j.ns, s))
            ck(r.status == 200 and r.is_json and r.json.get("kind") == "Service",
               f"DELETE orphaned service {s}: expected 200 with the Service, got {r}")
        if self.procs:
            check_terminated(ck, j, t1, t1w, SMALL, "orphaned pods deleted through the pods API: ")
        for p in self.pods0:
            pod_deletion_events(ck, env, p, self.pod_rv0[p], SMALL, self.procs, SMALL + LATE + 5,
                                what="orphaned pod deleted through the API: ")


# -- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live(make_daemon, tmp_path_factory):
    d = make_daemon()
    mon = ProcMonitor()
    mon.start()
    ckdir = tmp_path_factory.mktemp("ckpt")
    envs = []

    def env(ns=None):
        ns = ns or d.create_ns(f"live-{secrets.token_hex(3)}")
        e = Env(d, ns, mon, ckdir)
        envs.append(e)
        return e

    class Live:
        pass
    lv = Live()
    lv.d, lv.mon, lv.ckdir, lv.env, lv.envs = d, mon, ckdir, env, envs
    yield lv
    for e in envs:
        e.close()
    left = kill_leftovers(MARK_PREFIX)
    mon.stop()
    assert not left, f"training processes left behind (killed by the test): {left}"


@pytest.fixture
def no_leftovers(live):
    """Per test: the test's jobs, pods and services are deleted (grace 0) if the test left any,
    and then no process of theirs may be running."""
    first = len(live.envs)
    yield
    left = {}
    for e in live.envs[first:]:
        for j in e.created:
            left.update(j.cleanup())
    left.update(kill_leftovers(MARK_PREFIX))
    assert not left, f"processes left behind after their objects were deleted (killed): {left}"


@pytest.fixture(scope="module")
def matrix(live):
    env = live.env()
    scs = {(s, p, g): Scenario(env, s, p, g) for s in STATES for p in POLICIES for g in GRACES}
    t = now()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(scs)) as ex:
        list(ex.map(lambda sc: sc.run(), scs.values()))
    print(f"\nmatrix: {len(scs)} scenarios ({2 * len(scs)} cells) in {now() - t:.1f}s")
    return scs


CELLS = [(s, p, g, dry) for s in STATES for p in POLICIES for g in GRACES for dry in (False, True)]


def cell_id(c):
    s, p, g, dry = c
    return f"{s}-{p}-grace_{g}-{'dry' if dry else 'real'}"


@pytest.mark.parametrize("cell", CELLS, ids=[cell_id(c) for c in CELLS])
def test_matrix(matrix, cell):
    s, p, g, dry = cell
    sc = matrix[(s, p, g)]
    fails = sc.ck.fails["dry" if dry else "real"]
    assert not fails, (f"job {sc.name}: {len(fails)} finding(s):\n - " + "\n - ".join(fails) +
                       "\ntimeline:\n  " + "\n  ".join(sc.timeline))



# -- beyond the matrix -------------------------------------------------------------------------

def findings(ck):
    f = ck.fails["dry"] + ck.fails["real"]
    assert not f, f"{len(f)} finding(s):\n - " + "\n - ".join(f)


def start_jobs(env, specs):
    """Create jobs (LiveJob kwargs per name) at once, wait for each one's steady state."""
    jobs = {n: LiveJob(env, n, **kw) for n, kw in specs.items()}
    for j in jobs.values():
        j.create()
    for n, j in jobs.items():
        if specs[n].get("suspend"):
            j.wait_suspended()
        elif specs[n].get("kind") == "succeed":
            j.wait_succeeded()
        else:
            j.wait_running()
    return jobs


def wait_marked(env, pname, rv0, timeout=10):
    """The pod's first MODIFIED carrying a deletionTimestamp."""
    return env.pods.wait_event(pname, rv0, lambda e: e.type == "MODIFIED" and
                               e.md.get("deletionTimestamp"), timeout, "graceful marking")


def ts_wall(s):
    return time.mktime(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone


def test_pod_default_grace_30_shorten_then_grace_0(live, no_leftovers):
    """No gracePeriodSeconds and no terminationGracePeriodSeconds: each pod gets 30 s (§3.6).
    Then the pods API: a longer or equal grace is ignored (200, object unchanged, no event), a
    shorter one moves the deadline (old deadline − old grace + new grace) and the SIGKILL with
    it; grace 0 removes the pod at once and kills its process."""
    env = live.env()
    ck = Checks()
    jobs = start_jobs(env, {"short": {"tgps": None}, "force": {"tgps": None}})
    rvs = {n: {p: env.pods.latest(p).rv for p in j.pod_names} for n, j in jobs.items()}
    t0, t0w = now(), time.time()
    for j in jobs.values():
        assert_success_status(j.delete(), j.name, j.uid)
    for n, j in jobs.items():
        master, worker = j.pod_names
        for p in j.pod_names:
            e = wait_marked(env, p, rvs[n][p])
            ck(e.md.get("deletionGracePeriodSeconds") == 30,
               f"{p}: deletionGracePeriodSeconds {e.md.get('deletionGracePeriodSeconds')}, expected 30")
            ck(abs(ts_wall(e.md["deletionTimestamp"]) - (t0w + 30)) <= 2,
               f"{p}: deletionTimestamp {e.md['deletionTimestamp']} not ~30 s after the delete")
        # the master checkpoints and leaves; the worker stays within its 30 s
        pod_deletion_events(ck, env, master, rvs[n][master], 30, True, 5)
        ck(j.ck_m.exists() and j.ck_w.exists(), f"{n}: SIGTERM did not reach both processes")
    live.mon.wait_gone([j.m for j in jobs.values()], 5)
    live.mon.sync()
    for j in jobs.values():
        ck(live.mon.alive(j.w), f"{j.name}: worker gone before its 30 s grace")

    j = jobs["short"]
    worker = j.pod_names[1]
    cur = j.d.get(pods_path(env.ns, worker)).json
    for g in (60, 30):
        r = j.d.delete(pods_path(env.ns, worker), {"gracePeriodSeconds": g})
        ck(r.status == 200 and r.json == cur,
           f"pod DELETE grace {g} (≥ the pending 30) must leave the pod as it is: {r}")
    old_dt = ts_wall(cur["metadata"]["deletionTimestamp"])
    ts = now()
    r = j.d.delete(pods_path(env.ns, worker), {"gracePeriodSeconds": 5})
    if ck(r.status == 200 and r.json.get("kind") == "Pod", f"pod DELETE grace 5: {r}"):
        md = r.json["metadata"]
        ck(md.get("deletionGracePeriodSeconds") == 5, f"shortened: dgps {md.get('deletionGracePeriodSeconds')}")
        ck(ts_wall(md["deletionTimestamp"]) == old_dt - 25,
           f"shortened deadline {md['deletionTimestamp']}, expected old − 30 + 5 = "
           f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(old_dt - 25))}")
        ck(int(md["resourceVersion"]) > rv(cur), "shortened pod kept its resourceVersion")
    # the SIGKILL follows the new deadline: ~t0 + 5, not t0 + 30 and not at once
    deadline = t0 + 5
    try:
        live.mon.wait_gone([j.w], 5 + LATE + 2)
    except AssertionError:
        ck.fail("worker not killed at the shortened deadline")
    ls, gone = live.mon.last.get(j.w), live.mon.gone.get(j.w)
    ck(ls is not None and ls >= deadline - 1 - EARLY,
       f"worker killed at {fmt_t(gone and gone - t0)} after the delete, before the shortened deadline (~5 s)")
    ck(gone is not None and gone <= deadline + LATE,
       f"worker gone at {fmt_t(gone and gone - t0)}, expected ~5 s after the job's delete")
    ck(ts - t0 < 5 - 1, "test too slow to see the shortening")

    j = jobs["force"]
    worker = j.pod_names[1]
    pr = env.pods.latest(worker).rv
    # dryRun=All with grace 0: answered, nothing done
    r = j.d.delete(pods_path(env.ns, worker), {"gracePeriodSeconds": 0, "dryRun": ["All"]})
    ck(r.status == 200 and r.json.get("kind") == "Pod", f"pod dryRun DELETE grace 0: {r}")
    time.sleep(0.5)
    g = j.d.get(pods_path(env.ns, worker))
    ck(g.status == 200 and rv(g.json) == pr, f"pod after the dryRun DELETE: {g}")
    live.mon.sync()
    ck(live.mon.alive(j.w), "a dryRun pod DELETE killed the process")
    ck(not env.pods.events(worker, pr), f"a dryRun pod DELETE produced events {env.pods.events(worker, pr)}")
    tf = now()
    r = j.d.delete(pods_path(env.ns, worker), {"gracePeriodSeconds": 0})
    ck(r.status == 200 and r.json.get("kind") == "Pod", f"pod DELETE grace 0: {r}")
    g = j.d.get(pods_path(env.ns, worker))
    ck(g.status == 404, f"grace 0 must remove the pod at once: {g}")
    try:
        live.mon.wait_gone([j.w], PROMPT)
    except AssertionError:
        ck.fail(f"worker still running {PROMPT}s after its pod was removed with grace 0")
    ck(env.pods.events(worker, pr) and env.pods.events(worker, pr)[-1].type == "DELETED",
       f"events after the grace-0 delete: {env.pods.events(worker, pr)}")
    ck(live.mon.gone.get(j.w, 1e9) - tf <= PROMPT, "grace 0 did not kill at once")
    findings(ck)


def test_negative_grace_is_one_second(live, no_leftovers):
    """gracePeriodSeconds < 0 on the job's DELETE: accepted, each process gets 1 s."""
    env = live.env()
    ck = Checks()
    j = start_jobs(env, {"neg": {}})["neg"]
    rvs = {p: env.pods.latest(p).rv for p in j.pod_names}
    t0, t0w = now(), time.time()
    assert_success_status(j.delete({"gracePeriodSeconds": -5}), j.name, j.uid)
    check_terminated(ck, j, t0, t0w, 1)
    for p in j.pod_names:
        pod_deletion_events(ck, env, p, rvs[p], 1, True, 8)
    findings(ck)


@pytest.mark.parametrize("switch", ["Background", "Orphan", "orphanDependents=false"])
def test_later_delete_changes_policy(live, no_leftovers, switch):
    """A Foreground deletion held by a terminating pod (30 s grace, its process staying after
    SIGTERM); a second DELETE changes the policy (§3.5): Background / orphanDependents=false drop
    foregroundDeletion and the job goes at once (200 Status); Orphan swaps it for `orphan`
    (200 with the object), the terminating pod loses its owner, then the job goes. The pod keeps
    its own graceful deletion either way."""
    env = live.env()
    ck = Checks()
    j = start_jobs(env, {"sw": {"tgps": None}})["sw"]
    rv0 = rv(j.snapshot()[0])
    prv = {p: env.pods.latest(p).rv for p in j.pod_names}
    master, worker = j.pod_names
    r = j.delete({"propagationPolicy": "Foreground"})
    ck(r.status == 200 and r.json["metadata"].get("finalizers") == [FG], f"Foreground: {r}")
    pod_deletion_events(ck, env, master, prv[master], 30, True, 5)
    marked = wait_marked(env, worker, prv[worker])
    time.sleep(0.5)
    g = j.d.get(pj(env.ns, j.name))
    ck(g.status == 200 and g.json["metadata"].get("finalizers") == [FG],
       f"the terminating worker pod must hold the foreground deletion: {g}")
    mod1 = env.jobs.events(j.name, rv0)
    ck([e.type for e in mod1] == ["MODIFIED"], f"job events so far: {mod1}")
    if switch == "Orphan":
        body = {"propagationPolicy": "Orphan"}
    elif switch == "Background":
        body = {"propagationPolicy": "Background"}
    else:
        body = {"orphanDependents": False}
    r = j.delete(body)
    if switch == "Orphan":
        if ck(r.status == 200 and r.json.get("kind") == "PyTorchJob", f"switch to Orphan: {r}"):
            ck(r.json["metadata"].get("finalizers") == [ORPHAN], f"switch to Orphan: finalizers {r.json['metadata']}")
            ck(r.json["metadata"].get("deletionTimestamp") == g.json["metadata"]["deletionTimestamp"],
               "the deletionTimestamp must be kept")
            ck(r.json["metadata"].get("generation") == g.json["metadata"]["generation"],
               "generation bumps only on the first delete")
        e = env.pods.wait_event(worker, marked.rv, lambda e: e.type == "MODIFIED" and not e.md.get(
            "ownerReferences"), 10, "orphaning")
        ck(e.md.get("deletionTimestamp") == marked.md["deletionTimestamp"],
           f"orphaning must not change the pod's pending deletion: {e}")
        env.jobs.wait_event(j.name, rv0, lambda e: e.type == "DELETED", 10, "DELETED")
        want = ["MODIFIED", "MODIFIED", "DELETED"]
    else:
        try:
            assert_success_status(r, j.name, j.uid)
        except AssertionError as ex:
            ck.fail(f"switch to {switch}: expected the job to go at once: {ex}")
        env.jobs.wait_event(j.name, rv0, lambda e: e.type == "DELETED", 10, "DELETED")
        want = ["MODIFIED", "DELETED"]
    ck([e.type for e in env.jobs.events(j.name, rv0)] == want,
       f"job events {env.jobs.events(j.name, rv0)}, expected {want}")
    time.sleep(0.5)
    # the worker is still within its 30 s: pod terminating, process alive
    g = j.d.get(pods_path(env.ns, worker))
    ck(g.status == 200 and g.json["metadata"].get("deletionGracePeriodSeconds") == 30,
       f"worker pod after the switch: {g}")
    live.mon.sync()
    ck(live.mon.alive(j.w), "worker process gone before its grace")
    later = [e for e in env.pods.events(worker, marked.rv) if e.type == "DELETED"]
    ck(not later, f"worker pod removed early: {later}")
    r = j.d.delete(pods_path(env.ns, worker), {"gracePeriodSeconds": 0})
    ck(r.status == 200, f"cleanup pod delete: {r}")
    findings(ck)


@pytest.mark.parametrize("policy", ["Background", "Foreground", "Orphan", "dryRun"])
def test_deletecollection_cascades(live, no_leftovers, policy):
    """deletecollection (options from the query) cascades for every job it deletes, with the
    grace for every process; a job outside the selector is untouched; dryRun=All changes
    nothing."""
    env = live.env()
    ck = Checks()
    jobs = start_jobs(env, {"dc-a": {"labels": {"set": "x"}}, "dc-b": {"labels": {"set": "x"}},
                            "dc-keep": {}})
    snaps = {n: j.snapshot() for n, j in jobs.items()}
    rv0 = {n: rv(s[0]) for n, s in snaps.items()}
    prv = {n: {p: rv(o) for p, o in s[1].items()} for n, s in snaps.items()}
    q = {"labelSelector": "set=x", "gracePeriodSeconds": str(SMALL)}
    if policy == "dryRun":
        q["dryRun"] = "All"
    else:
        q["propagationPolicy"] = policy
    t0, t0w = now(), time.time()
    r = env.d.delete(pj(env.ns, query=q))
    if ck(r.status == 200 and r.json.get("kind") == "PyTorchJobList", f"deletecollection: {r}"):
        ck(sorted(i["metadata"]["name"] for i in r.json["items"]) == ["dc-a", "dc-b"],
           f"deletecollection items {[i['metadata']['name'] for i in r.json['items']]}")
    gone = ["dc-a", "dc-b"] if policy != "dryRun" else []
    want = {"Background": ["DELETED"], "Foreground": ["MODIFIED", "DELETED"],
            "Orphan": ["MODIFIED", "DELETED"], "dryRun": []}[policy]
    for n in gone:
        env.jobs.wait_event(n, rv0[n], lambda e: e.type == "DELETED", SMALL + LATE + 8, "DELETED")
    if policy in ("Background", "Foreground"):
        for n in gone:
            check_terminated(ck, jobs[n], t0, t0w, SMALL, f"{n}: ")
            for p in jobs[n].pod_names:
                pod_deletion_events(ck, env, p, prv[n][p], SMALL, True, SMALL + LATE + 5, what=f"{n}: ")
    time.sleep(1.0)
    for n in ("dc-a", "dc-b"):
        ck([e.type for e in env.jobs.events(n, rv0[n])] == want,
           f"{n}: job events {env.jobs.events(n, rv0[n])}, expected {want}")
    untouched = ["dc-keep"] + ([] if policy in ("Background", "Foreground") else ["dc-a", "dc-b"])
    for n in untouched:
        check_untouched(ck, jobs[n], t0 + 0.9, f"{n}: ")
        for p in jobs[n].pod_names:
            evs = env.pods.events(p, prv[n][p])
            bad = [e for e in evs if e.type != "MODIFIED" or e.md.get("deletionTimestamp")]
            ck(not bad, f"{n}: pod {p} deleted: {bad}")
            if policy == "Orphan" and n != "dc-keep":
                ck(evs and not evs[-1].md.get("ownerReferences"), f"{n}: pod {p} not orphaned: {evs}")
            elif not (policy == "Orphan"):
                ck(not evs, f"{n}: pod {p} touched: {evs}")
    ck(not env.jobs.events("dc-keep", rv0["dc-keep"]), "the job outside the selector got events")
    findings(ck)


def test_namespace_deletion_terminates_everything(live, no_leftovers):
    """DELETE of a namespace: dryRun first (nothing changes), then for real: 200 with the
    namespace in phase Terminating; it stays Terminating while its pods' processes use their
    grace (the template's terminationGracePeriodSeconds), then everything in it is gone."""
    env = live.env()
    ck = Checks()
    d, ns = env.d, env.ns
    jobs = start_jobs(env, {"ns-a": {}, "ns-b": {}, "ns-done": {"kind": "succeed"}})
    live_jobs = [jobs["ns-a"], jobs["ns-b"]]
    nsw = Watcher(d, "/api/v1/namespaces", list_rv(d, "/api/v1/namespaces"),
                  {"fieldSelector": f"metadata.name={ns}"})
    try:
        nrv = rv(d.get(f"/api/v1/namespaces/{ns}").json)
        r = d.delete(f"/api/v1/namespaces/{ns}", query={"dryRun": "All"})
        ck(r.status == 200 and (r.json.get("status") or {}).get("phase") == "Terminating",
           f"namespace dryRun delete: {r}")
        time.sleep(1.0)
        g = d.get(f"/api/v1/namespaces/{ns}")
        ck(g.status == 200 and rv(g.json) == nrv and g.json["status"].get("phase") == "Active",
           f"namespace after dryRun: {g}")
        for j in live_jobs:
            check_untouched(ck, j, now() - 0.1, f"after the namespace dryRun, {j.name}: ")
        ck(not nsw.events(ns, nrv), f"dryRun produced namespace events: {nsw.events(ns, nrv)}")
        t0, t0w = now(), time.time()
        r = d.delete(f"/api/v1/namespaces/{ns}")
        if ck(r.status == 200 and r.json.get("kind") == "Namespace", f"namespace delete: {r}"):
            ck(r.json["status"].get("phase") == "Terminating" and r.json["metadata"].get("deletionTimestamp"),
               f"namespace delete answer: {r.json}")
        time.sleep(1.0)
        g = d.get(f"/api/v1/namespaces/{ns}")
        ck(g.status == 200 and g.json["status"].get("phase") == "Terminating",
           f"namespace must be Terminating while its pods terminate: {g}")
        for j in live_jobs:
            check_terminated(ck, j, t0, t0w, TGPS, f"{j.name}: ")
        ev = nsw.wait_event(ns, nrv, lambda e: e.type == "DELETED", TGPS + LATE + 10, "DELETED")
        types = [e.type for e in nsw.events(ns, nrv)]
        ck(types[0] == "MODIFIED" and types[-1] == "DELETED" and "DELETED" not in types[:-1],
           f"namespace events {nsw.events(ns, nrv)}")
        for j in live_jobs:
            ls = live.mon.last.get(j.w)
            ck(ls is None or ls <= ev.t, f"namespace gone while {j.name}'s worker was running")
        for path in (pj(ns), pods_path(ns), svcs_path(ns), f"/api/v1/namespaces/{ns}/events"):
            g = d.get(path)
            ck(g.status == 200 and g.json.get("items") == [], f"{path} after the namespace: {g}")
        ck(d.get(f"/api/v1/namespaces/{ns}").status == 404, "namespace still there")
        for j in jobs.values():
            ck([e.type for e in env.jobs.events(j.name, rv(j.obj))][-1:] == ["DELETED"],
               f"{j.name}: no DELETED event: {env.jobs.events(j.name, rv(j.obj))}")
    finally:
        nsw.close()
    findings(ck)


def test_python_client_delete_with_v1deleteoptions(live, no_leftovers):
    """kubernetes.client with a V1DeleteOptions body: Foreground + grace, Orphan (then the
    orphans through CoreV1Api.delete_namespaced_pod), dryRun, Background with grace 0."""
    from kubernetes import client
    env = live.env()
    ck = Checks()
    ns = env.ns
    co = client.CustomObjectsApi(env.d.api_client)
    core = client.CoreV1Api(env.d.api_client)
    jobs = start_jobs(env, {"py-fg": {}, "py-orph": {}, "py-bg": {}})
    rv0 = {n: rv(j.snapshot()[0]) for n, j in jobs.items()}

    def delete(name, **kw):
        return co.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name,
                                                  body=client.V1DeleteOptions(**kw))

    # Foreground with gracePeriodSeconds: the answer is the object being deleted
    j = jobs["py-fg"]
    t0, t0w = now(), time.time()
    out = delete(j.name, propagation_policy="Foreground", grace_period_seconds=SMALL)
    ck(out["metadata"].get("finalizers") == [FG] and out["metadata"].get("deletionTimestamp"),
       f"Foreground answer: {out['metadata']}")
    check_terminated(ck, j, t0, t0w, SMALL, "py Foreground: ")
    env.jobs.wait_event(j.name, rv0[j.name], lambda e: e.type == "DELETED", 10, "DELETED")
    ck([e.type for e in env.jobs.events(j.name, rv0[j.name])] == ["MODIFIED", "DELETED"],
       f"py Foreground events {env.jobs.events(j.name, rv0[j.name])}")

    # dryRun: the same answer as the real one, nothing touched
    j = jobs["py-bg"]
    t1 = now()
    out = delete(j.name, dry_run=["All"], grace_period_seconds=0)
    ck(out.get("kind") == "Status" and out.get("status") == "Success" and
       out.get("details", {}).get("uid") == j.uid, f"dryRun answer {out}")
    time.sleep(1.0)
    check_untouched(ck, j, t1 + 0.9, "py dryRun: ")
    ck(not env.jobs.events(j.name, rv0[j.name]), "py dryRun produced events")
    t0, t0w = now(), time.time()
    out2 = delete(j.name, propagation_policy="Background", grace_period_seconds=0)
    ck(out2 == out, f"dryRun answered {out}, the real delete {out2}")
    check_terminated(ck, j, t0, t0w, 0, "py Background grace 0: ")

    # Orphan: the pods keep running, then go through the pods API
    j = jobs["py-orph"]
    out = delete(j.name, propagation_policy="Orphan")
    ck(out["metadata"].get("finalizers") == [ORPHAN], f"Orphan answer: {out['metadata']}")
    env.jobs.wait_event(j.name, rv0[j.name], lambda e: e.type == "DELETED", 10, "DELETED")
    time.sleep(0.5)
    for p in j.pod_names:
        pod = core.read_namespaced_pod(p, ns)
        ck(not pod.metadata.owner_references and pod.metadata.deletion_timestamp is None,
           f"orphan {p}: owners {pod.metadata.owner_references}")
    check_untouched(ck, j, now() - 0.1, "py Orphan: ")
    t0, t0w = now(), time.time()
    for p in j.pod_names:
        pod = core.delete_namespaced_pod(p, ns, body=client.V1DeleteOptions(grace_period_seconds=SMALL))
        ck(isinstance(pod, client.V1Pod) and pod.metadata.deletion_grace_period_seconds == SMALL,
           f"delete_namespaced_pod answer: {pod.metadata if hasattr(pod, 'metadata') else pod}")
    check_terminated(ck, j, t0, t0w, SMALL, "py orphans deleted: ")
    for p in j.pod_names:
        core.delete_namespaced_service(p, ns)
    findings(ck)


def test_repeated_foreground_delete_changes_nothing(live, no_leftovers):
    """The same Foreground DELETE again while a terminating pod holds the job: 200 with the
    unchanged object (same resourceVersion, no event), also with a shorter gracePeriodSeconds;
    once the pod is removed (pods API, grace 0) the foreground deletion completes."""
    env = live.env()
    ck = Checks()
    j = start_jobs(env, {"again": {"tgps": None}})["again"]
    rv0 = rv(j.snapshot()[0])
    prv = {p: env.pods.latest(p).rv for p in j.pod_names}
    worker = j.pod_names[1]
    r1 = j.delete({"propagationPolicy": "Foreground"})
    ck(r1.status == 200 and r1.json["metadata"].get("finalizers") == [FG], f"Foreground: {r1}")
    marked = wait_marked(env, worker, prv[worker])
    for body in ({"propagationPolicy": "Foreground"}, {}, {"gracePeriodSeconds": 0}):
        r = j.delete(body)
        ck(r.status == 200 and r.json == r1.json,
           f"repeated DELETE {body}: expected 200 with the unchanged object, got {r}")
    time.sleep(0.5)
    ck([e.type for e in env.jobs.events(j.name, rv0)] == ["MODIFIED"],
       f"repeated DELETEs produced events: {env.jobs.events(j.name, rv0)}")
    live.mon.sync()
    ck(live.mon.alive(j.w), "worker killed by a repeated job DELETE")
    ck(not [e for e in env.pods.events(worker, marked.rv)], "worker pod touched by a repeated DELETE")
    t = now()
    r = j.d.delete(pods_path(env.ns, worker), {"gracePeriodSeconds": 0})
    ck(r.status == 200, f"pod delete grace 0: {r}")
    e = env.jobs.wait_event(j.name, rv0, lambda e: e.type == "DELETED", 10, "DELETED")
    ck(e.t - t <= PROMPT + 1, f"job gone {e.t - t:.2f}s after its last pod")
    findings(ck)


@pytest.mark.parametrize("then", ["Foreground", "Orphan"])
def test_held_job_later_delete_changes_policy(live, no_leftovers, then):
    """A Background DELETE of a job held by a custom finalizer leaves its pods running; a later
    DELETE with Foreground (gracePeriodSeconds 1) deletes them, Orphan orphans them; the GC
    finalizer then goes and the custom one still holds the job until the client removes it."""
    env = live.env()
    ck = Checks()
    j = start_jobs(env, {"held": {"finalizers": [CUSTOM]}})["held"]
    rv0 = rv(j.snapshot()[0])
    prv = {p: env.pods.latest(p).rv for p in j.pod_names}
    r = j.delete({"gracePeriodSeconds": 30})
    ck(r.status == 200 and r.json["metadata"].get("finalizers") == [CUSTOM], f"first DELETE: {r}")
    time.sleep(1.0)
    check_untouched(ck, j, now() - 0.1, "held: ")
    t0, t0w = now(), time.time()
    body = {"propagationPolicy": then}
    if then == "Foreground":
        body["gracePeriodSeconds"] = 1
    r = j.delete(body)
    want = [CUSTOM, FG if then == "Foreground" else ORPHAN]
    ck(r.status == 200 and r.json["metadata"].get("finalizers") == want,
       f"later DELETE {body}: expected finalizers {want}: {r}")
    if then == "Foreground":
        check_terminated(ck, j, t0, t0w, 1, "held then Foreground: ")
        for p in j.pod_names:
            pod_deletion_events(ck, env, p, prv[p], 1, True, 8)
    else:
        for p in j.pod_names:
            env.pods.wait_event(p, prv[p], lambda e: not e.md.get("ownerReferences"), 10, "orphaning")
    env.jobs.wait_event(j.name, rv0, lambda e: e.md.get("finalizers") == [CUSTOM] and
                        e.md.get("deletionTimestamp") and e.rv > rv(r.json), 10, f"{then} finalizer to go")
    ck(j.d.get(pj(env.ns, j.name)).status == 200, "the custom finalizer must still hold the job")
    pr = j.drop_custom_finalizer()
    ck(pr.status == 200, f"dropping the custom finalizer: {pr}")
    env.jobs.wait_event(j.name, rv0, lambda e: e.type == "DELETED", 10, "DELETED")
    ck([e.type for e in env.jobs.events(j.name, rv0)] == ["MODIFIED", "MODIFIED", "MODIFIED", "DELETED"],
       f"job events {env.jobs.events(j.name, rv0)}")
    if then == "Orphan":
        time.sleep(1.0)
        check_untouched(ck, j, now() - 0.1, "orphans after the job went: ")
    findings(ck)


@pytest.mark.parametrize("how", ["delete", "deletecollection"])
def test_dry_run_grace_does_not_stick(live, no_leftovers, how):
    """A dryRun=All DELETE with gracePeriodSeconds=0 records nothing: the real DELETE that
    follows without gracePeriodSeconds gives the processes the template's grace (3 s)."""
    env = live.env()
    ck = Checks()
    j = start_jobs(env, {"dryg": {"labels": {"dry": "g"}}})["dryg"]
    if how == "delete":
        r = j.delete({"dryRun": ["All"], "gracePeriodSeconds": 0})
        ck(r.status == 200, f"dryRun delete: {r}")
    else:
        r = env.d.delete(pj(env.ns, query={"labelSelector": "dry=g", "dryRun": "All",
                                           "gracePeriodSeconds": "0"}))
        ck(r.status == 200 and len(r.json.get("items", [])) == 1, f"dryRun deletecollection: {r}")
    time.sleep(0.5)
    t0, t0w = now(), time.time()
    assert_success_status(j.delete(), j.name, j.uid)
    check_terminated(ck, j, t0, t0w, TGPS)
    findings(ck)


def test_daemon_stop_right_after_delete(make_daemon, tmp_path):
    """SIGTERM to the daemon right after DELETEs of running jobs (their pods' removals still
    committing): it must exit 0 and leave no process behind."""
    results = []
    for round_ in range(4):
        d = make_daemon()
        mon = ProcMonitor()
        mon.start()
        env = Env(d, d.create_ns(f"stop-{round_}"), mon, tmp_path)
        try:
            jobs = [LiveJob(env, f"s{i}").create() for i in range(3)]
            for j in jobs:
                j.wait_running()
        finally:
            env.close()
        for i, j in enumerate(jobs):
            j.delete({"gracePeriodSeconds": i % 2})
        rc = d.stop()
        mon.stop()
        time.sleep(0.3)
        left = kill_leftovers(MARK_PREFIX + env.ns + ".")
        results.append((rc, left, d.log_tail(3) if rc else ""))
    bad = [r for r in results if r[0] != 0 or r[1]]
    assert not bad, f"daemon stop right after DELETE: (rc, processes left, log) per round: {results}"


def test_grace_is_whole_across_a_second_boundary(live, no_leftovers):
    """The grace each process gets does not depend on where in the wall-clock second the DELETE
    lands: jobs deleted (gracePeriodSeconds 2) at 1 ms steps just before a second boundary must
    all keep their worker (which stays after SIGTERM) for the whole 2 s."""
    env = live.env()
    ck = Checks()
    jobs = list(start_jobs(env, {f"sec{k}": {} for k in range(6)}).values())
    done = []
    for k, j in enumerate(jobs):
        frac = 0.9905 + 0.001 * k
        while True:
            f = time.time() % 1
            if abs(f - frac) <= 0.0003 and (not done or now() - done[-1][1] > 0.5):
                break
            time.sleep(0.0002)
        t0, t0w = now(), time.time()
        assert_success_status(j.delete({"gracePeriodSeconds": 2}), j.name, j.uid)
        done.append((j, t0, t0w))
    for j, t0, t0w in done:
        check_terminated(ck, j, t0, t0w, 2, f"{j.name} (deleted at {t0w % 1:.4f} past the second): ")
    findings(ck)


def test_huge_grace_is_not_wrapped(live, no_leftovers):
    """gracePeriodSeconds is an int64: 2^32+1 s is a very long grace, not 1 s."""
    env = live.env()
    ck = Checks()
    j = start_jobs(env, {"huge": {}})["huge"]
    prv = {p: env.pods.latest(p).rv for p in j.pod_names}
    huge = 2 ** 32 + 1
    assert_success_status(j.delete({"gracePeriodSeconds": huge}), j.name, j.uid)
    worker = j.pod_names[1]
    e = wait_marked(env, worker, prv[worker])
    ck(e.md.get("deletionGracePeriodSeconds") == huge, f"worker pod marked {e}")
    time.sleep(2.5)
    live.mon.sync()
    ck(live.mon.alive(j.w), f"worker killed {live.mon.gone.get(j.w, 0) - e.t:.2f}s after its pod was "
       f"marked with a grace of {huge}s")
    findings(ck)
