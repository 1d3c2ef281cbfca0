"""Watches as real clients use them (client-compat.md §3 `-w`, §6 the delete wait, §8 `kubectl
wait`, §10 the Python client's watch.Watch). kubectl runs in the background with a fresh
--cache-dir and `-v=6`: its request log on stderr tells when its watch is open, so the test knows
when to make the change it waits for (no sleeps)."""
import os
import shutil
import subprocess
import threading
import time
import urllib.parse

import pytest
from kubernetes import client, watch

from e2elib import GROUP, PLURAL, VERSION, job, pj, poll, rv, uniq


@pytest.fixture(scope="module")
def wns(daemon):
    return daemon.create_ns(uniq("kwatch"))


@pytest.fixture
def bg(daemon, tmp_path):
    """Start kubectl in the background: bg(*args) → Bg. Every one is stopped at teardown."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    procs = []

    def start(*args):
        b = Bg(daemon, tmp_path / f"kcache{len(procs)}", args)
        procs.append(b)
        return b
    yield start
    for b in procs:
        b.stop()


class Bg:
    def __init__(self, daemon, cache_dir, args):
        env = dict(os.environ)
        env["KUBECONFIG"] = str(daemon.kubeconfig)
        daemon.kubectl_home.mkdir(exist_ok=True)
        env["HOME"] = str(daemon.kubectl_home)
        self.cmd = ["kubectl", "--cache-dir", str(cache_dir), *[str(a) for a in args]]
        self.out, self.err = [], []
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)
        self.readers = [threading.Thread(target=self._pump, args=(self.p.stdout, self.out), daemon=True),
                        threading.Thread(target=self._pump, args=(self.p.stderr, self.err), daemon=True)]
        for t in self.readers:
            t.start()

    @staticmethod
    def _pump(f, sink):
        for line in f:
            sink.append(line.rstrip("\n"))

    def __repr__(self):
        return (f"<{' '.join(self.cmd)} rc={self.p.poll()}\nstdout:\n" + "\n".join(self.out) +
                "\nstderr:\n" + "\n".join(l for l in self.err if "round_trippers" in l or "rror" in l))

    def wait_out(self, pred, timeout=15, desc="output"):
        return poll(lambda: (any(pred(l) for l in self.out), self), timeout, desc=desc)

    def wait_request(self, needle, timeout=15):
        """Until kubectl logged a request whose URL contains needle (-v=6: logged at the answer's
        head, i.e. a watch is open when its line appears)."""
        def check():
            for l in self.err:
                if "round_trippers" in l and " GET " in l and needle in l:
                    return True, l
            return False, self
        return poll(check, timeout, desc=f"kubectl request with {needle!r}")

    def requests(self):
        return [l.split(" GET ", 1)[1] for l in self.err if "round_trippers" in l and " GET " in l]

    def wait(self, timeout=20):
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"kubectl still running after {timeout}s: {self!r}") from None
        for t in self.readers:
            t.join(5)
        return rc

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        for t in self.readers:
            t.join(5)
        for f in (self.p.stdout, self.p.stderr):
            f.close()


def set_condition(daemon, ns, name, ctype, status="True"):
    cond = {"type": ctype, "status": status, "reason": "PyTorchJob" + ctype, "message": "e2e",
            "lastUpdateTime": "2024-05-01T10:00:00Z", "lastTransitionTime": "2024-05-01T10:00:00Z"}
    r = daemon.patch(pj(ns, name, "status"), {"status": {"conditions": [cond]}})
    assert r.status == 200, r
    return r.json


def rows(lines):
    """(name, state or None) for every row printed by `kubectl get` (header lines skipped)."""
    out = []
    for l in lines:
        p = l.split()
        if not p or p[0] in ("NAME", "EVENT"):
            continue
        out.append(p)
    return out


def query_of(line):
    u = next(t for t in line.split() if t.startswith("https://"))
    return urllib.parse.parse_qs(urllib.parse.urlsplit(u).query, keep_blank_values=True)


# -- kubectl get -w --------------------------------------------------------------------------------

def test_get_watch_list(daemon, bg, wns):
    ns = daemon.create_ns(uniq("kgw"))
    a = daemon.create_job(ns, "w-a")
    k = bg("get", "pytorchjobs", "-w", "-n", ns, "-v=6")
    k.wait_out(lambda l: l.split()[:1] == ["w-a"], desc="the initial row")
    line = k.wait_request("watch=true")
    q = query_of(line)
    assert q.get("watch") == ["true"] and q.get("resourceVersion"), line
    lst_rv = q["resourceVersion"][0]
    daemon.create_job(ns, "w-b")
    k.wait_out(lambda l: l.split()[:1] == ["w-b"], desc="the new job's row")
    set_condition(daemon, ns, "w-a", "Running")
    k.wait_out(lambda l: l.split()[:2] == ["w-a", "Running"], desc="w-a Running")
    set_condition(daemon, ns, "w-b", "Succeeded")
    k.wait_out(lambda l: l.split()[:2] == ["w-b", "Succeeded"], desc="w-b Succeeded")
    assert k.p.poll() is None, k
    k.stop()
    assert k.out[0].split() == ["NAME", "STATE", "AGE"], k
    assert sum(1 for l in k.out if l.split()[:1] == ["NAME"]) == 1, k
    got = [tuple(r[:2]) if len(r) == 3 else (r[0], None) for r in rows(k.out)]
    assert got == [("w-a", None), ("w-b", None), ("w-a", "Running"), ("w-b", "Succeeded")], k
    assert int(lst_rv) >= rv(a), (lst_rv, rv(a))  # the list's rv is the watch's start (§3)


def test_get_watch_output_watch_events(daemon, bg):
    ns = daemon.create_ns(uniq("kgwe"))
    daemon.create_job(ns, "e-a")
    k = bg("get", "pytorchjobs", "-w", "--output-watch-events", "-n", ns, "-v=6")
    k.wait_out(lambda l: "e-a" in l.split(), desc="the initial row")
    k.wait_request("watch=true")
    daemon.create_job(ns, "e-b")
    set_condition(daemon, ns, "e-b", "Running")
    assert daemon.delete(pj(ns, "e-b")).status == 200
    k.wait_out(lambda l: l.split()[:2] == ["DELETED", "e-b"], desc="the DELETED row")
    k.stop()
    assert k.out[0].split() == ["EVENT", "NAME", "STATE", "AGE"], k
    got = [tuple(r[:3]) for r in rows(k.out)]
    assert [g[:2] for g in got] == [("ADDED", "e-a"), ("ADDED", "e-b"), ("MODIFIED", "e-b"),
                                    ("DELETED", "e-b")], k
    assert got[2][2] == "Running" and got[3][2] == "Running", k


def test_get_one_watch(daemon, bg):
    ns = daemon.create_ns(uniq("kgo"))
    daemon.create_job(ns, "one")
    daemon.create_job(ns, "two")
    k = bg("get", "pytorchjob", "one", "-w", "-n", ns, "-v=6")
    k.wait_out(lambda l: l.split()[:1] == ["one"], desc="the initial row")
    line = k.wait_request("watch=true")
    q = query_of(line)
    assert q.get("fieldSelector") == ["metadata.name=one"] and q.get("resourceVersion") == ["0"], line
    set_condition(daemon, ns, "two", "Running")          # another object: never printed
    set_condition(daemon, ns, "one", "Running")          # the first real change must print
    k.wait_out(lambda l: l.split()[:2] == ["one", "Running"], desc="one Running")
    set_condition(daemon, ns, "one", "Succeeded")
    k.wait_out(lambda l: l.split()[:2] == ["one", "Succeeded"], desc="one Succeeded")
    k.stop()
    assert not any("two" in l.split() for l in k.out), k
    rs = rows(k.out)
    assert [r[0] for r in rs] == ["one", "one", "one"], k
    assert len(rs[0]) == 2, f"first row: no state yet: {k}"
    assert rs[1][1] == "Running" and rs[2][1] == "Succeeded", k


# -- kubectl wait ----------------------------------------------------------------------------------

def test_wait_condition_met(daemon, bg, wns):
    name, other = uniq("wt"), uniq("wo")
    daemon.create_job(wns, name)
    daemon.create_job(wns, other)
    set_condition(daemon, wns, other, "Succeeded")  # the wrong object must not satisfy the wait
    k = bg("wait", "--for=condition=Succeeded", f"pytorchjob/{name}", "--timeout=20s", "-n", wns, "-v=6")
    line = k.wait_request("watch=true")
    q = query_of(line)
    assert q.get("fieldSelector") == [f"metadata.name={name}"], line
    assert k.p.poll() is None, f"kubectl wait ended before the condition was set: {k!r}"
    t0 = time.monotonic()
    set_condition(daemon, wns, name, "Succeeded")
    rc = k.wait(15)
    took = time.monotonic() - t0
    assert rc == 0, k
    assert k.out == [f"pytorchjob.kubeflow.org/{name} condition met"], k
    assert took < 5, f"kubectl wait took {took:.2f}s after the condition was set"


def test_wait_condition_already_true(daemon, kubectl, wns):
    name = uniq("wt")
    daemon.create_job(wns, name)
    set_condition(daemon, wns, name, "Succeeded")
    p = kubectl("wait", "--for=condition=Succeeded", f"pytorchjob/{name}", "--timeout=10s", "-n", wns)
    assert p.returncode == 0 and p.stdout == f"pytorchjob.kubeflow.org/{name} condition met\n", p


def test_wait_condition_timeout(daemon, kubectl, wns):
    name = uniq("wt")
    daemon.create_job(wns, name)
    set_condition(daemon, wns, name, "Succeeded", status="False")
    t0 = time.monotonic()
    p = kubectl("wait", "--for=condition=Succeeded", f"pytorchjob/{name}", "--timeout=2s", "-n", wns)
    took = time.monotonic() - t0
    assert p.returncode == 1, p
    assert p.stderr.strip() == f"error: timed out waiting for the condition on pytorchjobs/{name}", p
    assert 1.8 <= took < 10, took


def test_wait_missing_object(daemon, kubectl, wns):
    p = kubectl("wait", "--for=condition=Succeeded", "pytorchjob/nope", "--timeout=5s", "-n", wns)
    assert p.returncode == 1, p
    assert p.stderr.strip() == 'Error from server (NotFound): pytorchjobs.kubeflow.org "nope" not found', p


def test_wait_for_delete(daemon, bg, kubectl, wns):
    name = uniq("wd")
    daemon.create_job(wns, name, finalizers=["example.com/hold"])
    r = daemon.delete(pj(wns, name))
    assert r.status == 200 and "deletionTimestamp" in r.json["metadata"], r
    k = bg("wait", "--for=delete", f"pytorchjob/{name}", "--timeout=20s", "-n", wns, "-v=6")
    k.wait_request("watch=true")
    assert k.p.poll() is None, k
    daemon.remove_finalizers(wns, name)
    assert k.wait(15) == 0, k
    assert k.out == [f"pytorchjob.kubeflow.org/{name} condition met"], k
    # already gone: exit 0, no output
    p = kubectl("wait", "--for=delete", f"pytorchjob/{name}", "--timeout=5s", "-n", wns)
    assert p.returncode == 0 and p.stdout == "", p


# -- kubectl delete waits for the object to go ---------------------------------------------------

def test_delete_cascade_foreground(daemon, kubectl, wns):
    name = uniq("fg")
    daemon.create_job(wns, name)
    p = kubectl("delete", "pytorchjob", name, "--cascade=foreground", "-n", wns)
    assert p.returncode == 0, p
    assert p.stdout == f'pytorchjob.kubeflow.org "{name}" deleted\n', p
    assert daemon.get_job(wns, name).status == 404  # gone when kubectl returned


def test_delete_cascade_foreground_waits_for_finalizer(daemon, bg, wns):
    name = uniq("fgh")
    daemon.create_job(wns, name, finalizers=["example.com/hold"])
    k = bg("delete", "pytorchjob", name, "--cascade=foreground", "-n", wns, "-v=6")
    line = k.wait_request("watch=true")
    q = query_of(line)
    assert q.get("fieldSelector") == [f"metadata.name={name}"], line
    assert k.p.poll() is None, k
    g = daemon.get_job(wns, name)
    assert g.status == 200, g
    # foregroundDeletion was added, and the GC may already have dropped it (no dependents)
    assert g.json["metadata"]["finalizers"] in (["example.com/hold", "foregroundDeletion"],
                                                ["example.com/hold"]), g
    assert "deletionTimestamp" in g.json["metadata"], g
    daemon.remove_finalizers(wns, name)
    assert k.wait(15) == 0, k
    assert k.out == [f'pytorchjob.kubeflow.org "{name}" deleted'], k
    assert daemon.get_job(wns, name).status == 404


# -- the Python client ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def co(daemon):
    return client.CustomObjectsApi(daemon.api_client)


def test_python_watch_initial_then_live(daemon, co):
    ns = daemon.create_ns(uniq("pyw"))
    daemon.create_job(ns, "b")
    daemon.create_job(ns, "a")
    w = watch.Watch()
    got = []
    t0 = time.monotonic()
    expected_rvs = {}
    for ev in w.stream(co.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL, timeout_seconds=3):
        got.append((ev["type"], ev["object"]["metadata"]["name"], ev["object"]["metadata"]["resourceVersion"]))
        if len(got) == 2:  # the synthetic ADDEDs are in: now live changes
            c = co.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, job("c"))
            a = co.patch_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "a",
                                                  {"metadata": {"labels": {"x": "y"}}})
            co.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "b")
            expected_rvs = {"c": c["metadata"]["resourceVersion"], "a": a["metadata"]["resourceVersion"]}
        assert len(got) <= 5, got
    took = time.monotonic() - t0
    assert [g[:2] for g in got] == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c"), ("MODIFIED", "a"),
                                    ("DELETED", "b")], got
    assert got[2][2] == expected_rvs["c"] and got[3][2] == expected_rvs["a"], (got, expected_rvs)
    assert int(got[4][2]) > int(got[3][2]), got
    # timeout_seconds=3: the server ends the stream and the client does not reconnect
    assert 2.5 <= took <= 8, took
    assert w.resource_version == got[4][2], (w.resource_version, got)


def test_python_watch_resume(daemon, co):
    ns = daemon.create_ns(uniq("pyr"))
    a = daemon.create_job(ns, "a")
    a2 = daemon.patch(pj(ns, "a"), {"metadata": {"labels": {"v": "2"}}}).json
    b = daemon.create_job(ns, "b")
    w = watch.Watch()
    got = []
    for ev in w.stream(co.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL,
                       resource_version=str(rv(a)), timeout_seconds=3):
        got.append((ev["type"], ev["object"]["metadata"]["name"], int(ev["object"]["metadata"]["resourceVersion"])))
        if len(got) == 2:
            break
    assert got == [("MODIFIED", "a", rv(a2)), ("ADDED", "b", rv(b))], got
    assert w.resource_version == str(rv(b)), w.resource_version
    # resume where it stopped: only what happened since
    c = daemon.create_job(ns, "c")
    for ev in w.stream(co.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL,
                       resource_version=w.resource_version, timeout_seconds=3):
        got.append((ev["type"], ev["object"]["metadata"]["name"], int(ev["object"]["metadata"]["resourceVersion"])))
        break
    assert got[2] == ("ADDED", "c", rv(c)), got
