"""WATCH over raw HTTPS (k8s-api-semantics.md §9, §13 cases 43–45; client-compat.md §3 `-w`).

Every stream here is read by `WatchStream`, a small reader over a TLS socket that decodes the
chunked body itself, so a test can tell a clean end (the zero-length chunk) from a dropped
connection. Nothing sleeps to wait for a state: reads and polls have deadlines, and "no further
event" is proven with a marker write that must be the very next event.
"""
import asyncio
import collections
import http.client
import io
import json
import os
import re
import resource
import socket
import ssl
import struct
import threading
import time

import pytest

from e2elib import (ADMIN, API, RV_RE, TIME_RE, assert_status, job, pj, poll, rv, uniq,
                    with_query)

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io"


# -- the stream reader -------------------------------------------------------------------------

class WatchStream:
    """One GET on a raw TLS socket. The head is read in the constructor; for a chunked answer
    the body is decoded as it arrives and split into JSON lines (events)."""

    def __init__(self, daemon, path, query=None, headers=None, token=ADMIN, timeout=10.0,
                 rcvbuf=None):
        self.daemon = daemon
        self.path = with_query(path, query)
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(timeout)
        try:
            raw.connect(("127.0.0.1", daemon.port))
            self.sock = daemon.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")
        except BaseException:
            raw.close()
            raise
        self.local_port = self.sock.getsockname()[1]
        hdrs = {"Host": f"127.0.0.1:{daemon.port}", "Accept": "application/json",
                "User-Agent": "torchjobd-e2e-watch"}
        if token is ADMIN:
            token = daemon.token
        if token:
            hdrs["Authorization"] = "Bearer " + token
        for k, v in (headers or {}).items():
            hdrs = {hk: hv for hk, hv in hdrs.items() if hk.lower() != k.lower()}
            if v is not None:
                hdrs[k] = v
        req = f"GET {self.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
        self.buf = b""          # raw bytes not yet decoded
        self.data = b""         # decoded body bytes not yet split into lines
        self.pending = collections.deque()
        self.events = []        # every event returned so far
        self.ended = False      # zero-length chunk seen
        self.eof = False        # the server closed the connection
        self.body = b""         # the body of a non-chunked answer
        self.t_open = time.monotonic()
        self.t_end = None
        try:
            self.sock.sendall((req + "\r\n").encode())
            self._read_head(time.monotonic() + timeout)
        except BaseException:
            self.close()
            raise

    # context manager: every stream is closed
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def __repr__(self):
        return f"<watch {self.path} status={getattr(self, 'status', None)} seen={len(self.events)}>"

    # -- low level
    def _fill(self, deadline):
        """Read once. False on timeout or EOF."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(262144)
        except (socket.timeout, TimeoutError):
            return False
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            d = b""
        if not d:
            self.eof = True
            if self.t_end is None:
                self.t_end = time.monotonic()
            return False
        self.buf += d
        return True

    def _read_head(self, deadline):
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                raise AssertionError(f"{self.path}: no response head (eof={self.eof}): {self.buf[:300]!r}")
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        status_line, _, hdr = head.partition(b"\r\n")
        self.status_line = status_line.decode("latin-1")
        self.status = int(self.status_line.split(" ", 2)[1])
        self.headers = http.client.parse_headers(io.BytesIO(hdr + b"\r\n\r\n"))
        self.chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if not self.chunked:
            n = int(self.headers.get("Content-Length") or 0)
            while len(self.buf) < n and self._fill(deadline):
                pass
            self.body, self.buf = self.buf[:n], self.buf[n:]
            self.ended = True

    def _decode(self):
        while not self.ended:
            i = self.buf.find(b"\r\n")
            if i < 0:
                return
            line = self.buf[:i]
            try:
                size = int(line.split(b";")[0], 16)
            except ValueError:
                raise AssertionError(f"bad chunk size line {line[:100]!r}") from None
            if len(self.buf) < i + 2 + size + 2:
                return
            chunk = self.buf[i + 2:i + 2 + size]
            trailer = self.buf[i + 2 + size:i + 4 + size]
            assert trailer == b"\r\n", f"chunk not followed by CRLF: {trailer!r}"
            self.buf = self.buf[i + 4 + size:]
            if size == 0:
                self.ended = True
                self.t_end = time.monotonic()
                assert self.data == b"", f"stream ended inside a line: {self.data[:200]!r}"
                return
            self.data += chunk
            while b"\n" in self.data:
                ln, _, self.data = self.data.partition(b"\n")
                if ln.strip():
                    try:
                        self.pending.append(json.loads(ln))
                    except ValueError:
                        raise AssertionError(f"event line is not JSON: {ln[:300]!r}") from None

    # -- events
    def next(self, timeout=10.0):
        """The next event, or None when the stream has ended (cleanly or not)."""
        assert self.status == 200 and self.chunked, f"not a stream: {self.status_line} {self.body[:500]!r}"
        deadline = time.monotonic() + timeout
        while True:
            self._decode()
            if self.pending:
                ev = self.pending.popleft()
                self.events.append(ev)
                return ev
            if self.ended:
                return None
            if not self._fill(deadline):
                if self.eof:
                    self._decode()
                    if self.pending:
                        continue
                    return None
                raise AssertionError(f"{self.path}: no event within {timeout}s; seen: "
                                     f"{[sig(e) for e in self.events]}")

    def take(self, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        out = []
        for _ in range(n):
            ev = self.next(max(0.0, deadline - time.monotonic()))
            assert ev is not None, (f"stream ended after {len(out)} of {n} events "
                                    f"(clean={self.ended}): {[sig(e) for e in out]}")
            out.append(ev)
        return out

    def until(self, pred, timeout=10.0):
        deadline = time.monotonic() + timeout
        out = []
        while True:
            ev = self.next(max(0.0, deadline - time.monotonic()))
            assert ev is not None, f"stream ended before the awaited event: {[sig(e) for e in out]}"
            out.append(ev)
            if pred(ev):
                return out

    def rest(self, timeout=10.0):
        """Every remaining event; asserts the stream ends with the zero-length chunk."""
        deadline = time.monotonic() + timeout
        out = []
        while True:
            ev = self.next(max(0.0, deadline - time.monotonic()))
            if ev is None:
                break
            out.append(ev)
        assert self.ended, f"stream not ended by a zero-length chunk (eof={self.eof}): {out}"
        return out


def sig(ev):
    """(type, name, rv) of an event, for messages and comparisons."""
    o = ev.get("object") or {}
    m = o.get("metadata") or {}
    if o.get("kind") == "Table":
        rows = o.get("rows") or [{}]
        m = (rows[0].get("object") or {}).get("metadata") or {}
    r = m.get("resourceVersion")
    return ev.get("type"), m.get("name"), int(r) if r else None


def list_rv(daemon, path):
    r = daemon.get(path)
    assert r.status == 200, r
    v = r.json["metadata"]["resourceVersion"]
    assert RV_RE.match(v), r
    return v


def watch(daemon, ns, rv_=None, **query):
    q = {"watch": "true"}
    if rv_ is not None:
        q["resourceVersion"] = str(rv_)
    q.update(query)
    return WatchStream(daemon, pj(ns), q)


def marker(daemon, ns, w, name=None, **kw):
    """Create a job and assert it is the very next event of w: nothing came before it."""
    o = daemon.create_job(ns, name or uniq("marker"), **kw)
    ev = w.next()
    assert ev is not None and sig(ev) == ("ADDED", o["metadata"]["name"], rv(o)), \
        f"expected the marker's ADDED next, got {ev and sig(ev)}; all: {[sig(e) for e in w.events]}"
    return o


def patch_labels(daemon, ns, name, labels):
    r = daemon.patch(pj(ns, name), {"metadata": {"labels": labels}})
    assert r.status == 200, r
    return r.json


def set_condition(daemon, ns, name, ctype, status="True"):
    cond = {"type": ctype, "status": status, "reason": "PyTorchJob" + ctype, "message": "e2e",
            "lastUpdateTime": "2024-05-01T10:00:00Z", "lastTransitionTime": "2024-05-01T10:00:00Z"}
    r = daemon.patch(pj(ns, name, "status"), {"status": {"conditions": [cond]}})
    assert r.status == 200, r
    return r.json


def assert_stream_head(w):
    assert w.status == 200, f"{w.status_line} {w.body[:500]!r}"
    assert w.headers.get("Content-Type", "").split(";")[0] == "application/json", dict(w.headers)
    assert w.chunked, dict(w.headers)
    assert w.headers.get("Content-Length") is None, dict(w.headers)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


# -- start points (§9, case 43) ----------------------------------------------------------------

def test_case43_events_from_list_rv(daemon):
    ns = daemon.create_ns(uniq("w43"))
    start = list_rv(daemon, pj(ns))
    with watch(daemon, ns, start) as w:
        assert_stream_head(w)  # head arrives before any event
        name = uniq("j")
        created = daemon.create_job(ns, name, labels={"a": "1"})
        modified = patch_labels(daemon, ns, name, {"a": "2"})
        d = daemon.delete(pj(ns, name))
        assert d.status == 200, d
        evs = w.take(3)
        assert [e["type"] for e in evs] == ["ADDED", "MODIFIED", "DELETED"], [sig(e) for e in evs]
        assert evs[0]["object"] == created, evs[0]
        assert evs[1]["object"] == modified, evs[1]
        deleted = evs[2]["object"]
        assert rv(deleted) > rv(modified), (sig(evs[1]), sig(evs[2]))
        assert deleted["metadata"]["labels"] == {"a": "2"}, deleted  # the last state
        assert deleted["metadata"]["uid"] == created["metadata"]["uid"], deleted
        after = list_rv(daemon, pj(ns))
        assert int(after) >= rv(deleted), (after, sig(evs[2]))
        assert all(set(e) == {"type", "object"} for e in evs), evs
        marker(daemon, ns, w)


@pytest.mark.parametrize("query", [{"watch": "true"}, {"watch": "1"}, {"watch": "True"}, {"watch": ""},
                                   {"watch": "true", "resourceVersion": "0"}],
                         ids=["true", "1", "True", "empty", "rv0"])
def test_initial_added_then_live(daemon, query):
    ns = daemon.create_ns(uniq("winit"))
    objs = [daemon.create_job(ns, n) for n in ("c-job", "a-job", "b-job")]
    other = daemon.create_ns(uniq("wother"))
    daemon.create_job(other, "a-job")
    with WatchStream(daemon, pj(ns), query) as w:
        assert_stream_head(w)
        init = w.take(3)
        assert [e["type"] for e in init] == ["ADDED"] * 3, [sig(e) for e in init]
        # sorted by name (storage key order), each the current object
        assert [sig(e)[1] for e in init] == ["a-job", "b-job", "c-job"], [sig(e) for e in init]
        by_name = {o["metadata"]["name"]: o for o in objs}
        for e in init:
            assert e["object"] == by_name[e["object"]["metadata"]["name"]], e
        live = daemon.create_job(ns, "d-job")
        ev = w.next()
        assert sig(ev) == ("ADDED", "d-job", rv(live)) and ev["object"] == live, ev
        m = patch_labels(daemon, ns, "a-job", {"x": "y"})
        ev = w.next()
        assert sig(ev) == ("MODIFIED", "a-job", rv(m)) and ev["object"] == m, ev
        marker(daemon, ns, w)


@pytest.mark.parametrize("value", ["false", "0", "False"])
def test_watch_false_is_a_list(daemon, value):
    """§1: every value except 0/false (any case) is true; these are plain LISTs."""
    ns = daemon.create_ns(uniq("wfalse"))
    daemon.create_job(ns, "a")
    r = daemon.get(pj(ns, query={"watch": value}))
    assert r.status == 200 and r.json["kind"] == "PyTorchJobList", r
    assert [i["metadata"]["name"] for i in r.json["items"]] == ["a"], r


def test_initial_added_empty_namespace_flushes_head(daemon):
    """An empty collection: the head comes at once, and the first event is the first change."""
    ns = daemon.create_ns(uniq("wempty"))
    with watch(daemon, ns) as w:
        assert_stream_head(w)
        marker(daemon, ns, w)


def test_resume_from_rv(daemon):
    ns = daemon.create_ns(uniq("wres"))
    a = daemon.create_job(ns, "a")
    b = daemon.create_job(ns, "b")
    a2 = patch_labels(daemon, ns, "a", {"v": "2"})
    a3 = patch_labels(daemon, ns, "a", {"v": "3"})
    assert daemon.delete(pj(ns, "b")).status == 200
    now = list_rv(daemon, pj(ns))
    ws = [watch(daemon, ns, v) for v in (rv(b), rv(a3), rv(a), now)]
    try:
        # from b's creation: a2, a3, DELETED b — nothing at or before rv(b), no synthetic ADDED
        evs = ws[0].take(3)
        assert [sig(e)[:2] for e in evs] == [("MODIFIED", "a"), ("MODIFIED", "a"), ("DELETED", "b")], \
            [sig(e) for e in evs]
        assert evs[0]["object"] == a2 and evs[1]["object"] == a3, evs
        assert sig(evs[2])[2] > rv(a3), [sig(e) for e in evs]
        # from a3: only the delete of b
        ev = ws[1].next()
        assert sig(ev)[:2] == ("DELETED", "b") and ev["object"]["metadata"]["uid"] == b["metadata"]["uid"], ev
        # from the first object's rv: everything after it, in order
        evs = ws[2].take(4)
        assert [sig(e)[:2] for e in evs] == [("ADDED", "b"), ("MODIFIED", "a"), ("MODIFIED", "a"),
                                              ("DELETED", "b")], [sig(e) for e in evs]
        # one marker: the next event of every watch (from the current rv: the first one)
        o = daemon.create_job(ns, uniq("marker"))
        for w in ws:
            ev = w.next()
            assert sig(ev) == ("ADDED", o["metadata"]["name"], rv(o)), (w, [sig(e) for e in w.events])
    finally:
        for w in ws:
            w.close()


def test_watch_rv_in_the_future_is_error_event(daemon):
    """§9: a future N behaves as in §8.6 but is delivered as an ERROR event (504 Timeout)."""
    ns = daemon.create_ns(uniq("wfut"))
    cur = int(list_rv(daemon, pj(ns)))
    n = cur + 1000000
    with watch(daemon, ns, n) as w:
        assert_stream_head(w)
        evs = w.rest(timeout=15)
        assert len(evs) == 1 and evs[0]["type"] == "ERROR", evs
        st = evs[0]["object"]
        assert st["kind"] == "Status" and st["code"] == 504 and st["reason"] == "Timeout", st
        assert re.fullmatch(rf"Timeout: Too large resource version: {n}, current: \d+", st["message"]), st
        assert st["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge", st
        assert st["details"]["retryAfterSeconds"] == 1, st


def test_watch_bad_params_are_plain_errors(daemon):
    """Errors found before the stream starts are ordinary HTTP answers, not streams."""
    ns = daemon.create_ns(uniq("wbad"))
    for q, code, reason, contains in [
        ({"watch": "true", "labelSelector": "team in ("}, 400, "BadRequest", None),
        ({"watch": "true", "fieldSelector": "spec.foo=1"}, 400, "BadRequest",
         "field label not supported: spec.foo"),
        ({"watch": "true", "resourceVersion": "abc"}, 400, "BadRequest", "invalid resource version"),
        ({"watch": "true", "resourceVersion": "1", "resourceVersionMatch": "NotOlderThan"}, 422,
         "Invalid", "resourceVersionMatch"),
    ]:
        r = daemon.get(pj(ns, query=q))
        assert_status(r, code, reason, contains=contains)
        assert r.headers.get("Transfer-Encoding") is None, r


def test_cluster_wide_and_namespace_scope(daemon):
    ns1, ns2 = daemon.create_ns(uniq("wcw")), daemon.create_ns(uniq("wcw"))
    start = list_rv(daemon, pj(ns1))
    with WatchStream(daemon, f"{API}/pytorchjobs", {"watch": "true", "resourceVersion": start}) as wall, \
            watch(daemon, ns1, start) as w1:
        o1 = daemon.create_job(ns1, "x")
        o2 = daemon.create_job(ns2, "x")
        evs = wall.until(lambda e: sig(e) == ("ADDED", "x", rv(o2)))
        mine = [e for e in evs if e["object"]["metadata"]["namespace"] in (ns1, ns2)]
        assert [(e["object"]["metadata"]["namespace"], sig(e)) for e in mine] == \
            [(ns1, ("ADDED", "x", rv(o1))), (ns2, ("ADDED", "x", rv(o2)))], [sig(e) for e in evs]
        ev = w1.next()
        assert sig(ev) == ("ADDED", "x", rv(o1)), ev
        marker(daemon, ns1, w1)  # o2 (other namespace) never reached w1


# -- ordering and completeness under concurrent writes -------------------------------------------

def test_concurrent_writes_ordered_exactly_once(daemon):
    ns = daemon.create_ns(uniq("wconc"))
    start = list_rv(daemon, pj(ns))
    threads, per = 4, 50
    expected = [[] for _ in range(threads)]   # (type, name, rv or None) per thread, in order
    errors = []

    def worker(t):
        conn = daemon.connect()
        try:
            name = None
            for i in range(per):
                k = i % 4
                if k == 0:
                    name = f"t{t}-{i // 4:02d}"
                    r = daemon.post(pj(ns), job(name), conn=conn)
                    assert r.status == 201, r
                    expected[t].append(("ADDED", name, rv(r.json)))
                elif k in (1, 2):
                    r = daemon.patch(pj(ns, name), {"metadata": {"labels": {"step": str(i)}}}, conn=conn)
                    assert r.status == 200, r
                    expected[t].append(("MODIFIED", name, rv(r.json)))
                else:
                    r = daemon.delete(pj(ns, name), conn=conn)
                    assert r.status == 200, r
                    expected[t].append(("DELETED", name, None))
        except BaseException as e:  # reported by the main thread
            errors.append(e)
        finally:
            conn.close()

    with watch(daemon, ns, start) as w:
        ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        evs = w.take(threads * per, timeout=30)
        for t in ts:
            t.join(30)
        assert not errors, errors
        elapsed = time.monotonic() - t0
        print(f"\n{threads * per} concurrent writes watched in {elapsed:.2f}s")
        sigs = [sig(e) for e in evs]
        rvs = [s[2] for s in sigs]
        assert rvs[0] > int(start), sigs[:3]
        bad = [(a, b) for a, b in zip(sigs, sigs[1:]) if b[2] <= a[2]]
        assert not bad, f"resourceVersions not strictly increasing: {bad[:5]}"
        # per object: the writer's own order, with the rvs its writes answered
        for t in range(threads):
            names = {n for _, n, _ in expected[t]}
            got = [s for s in sigs if s[1] in names]
            assert len(got) == len(expected[t]), (t, got, expected[t])
            for g, x in zip(got, expected[t]):
                assert g[:2] == x[:2] and (x[2] is None or g[2] == x[2]), (t, got, expected[t])
        # DELETED carries the last state
        last_labels = {}
        for e in evs:
            n = e["object"]["metadata"]["name"]
            if e["type"] == "DELETED":
                assert e["object"]["metadata"].get("labels") == last_labels.get(n), e
            else:
                last_labels[n] = e["object"]["metadata"].get("labels")
        # the final state replayed from the events equals a LIST
        state = {}
        for e in evs:
            n = e["object"]["metadata"]["name"]
            if e["type"] == "DELETED":
                assert n in state, e
                del state[n]
            else:
                assert (e["type"] == "ADDED") == (n not in state), e
                state[n] = e["object"]
        lst = daemon.get(pj(ns))
        assert lst.status == 200, lst
        assert {i["metadata"]["name"]: i for i in lst.json["items"]} == state
        assert int(lst.json["metadata"]["resourceVersion"]) >= rvs[-1], (lst.json["metadata"], rvs[-1])
        marker(daemon, ns, w)  # exactly 200: nothing else was queued


# -- watch-list: sendInitialEvents (§9) ---------------------------------------------------------

WL = {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan", "allowWatchBookmarks": "true"}
END_ANN = {"k8s.io/initial-events-end": "true"}


@pytest.mark.parametrize("rv_", [None, "0", "current"])
def test_watch_list_initial_events_then_end_bookmark(daemon, rv_):
    """sendInitialEvents=true: ADDED for the state at a revision not older than resourceVersion
    (also when one is given), then a BOOKMARK annotated k8s.io/initial-events-end at that
    revision, then the changes after it."""
    ns = daemon.create_ns(uniq("wl"))
    objs = [daemon.create_job(ns, n) for n in ("a", "b")]
    snap = list_rv(daemon, pj(ns))
    q = dict(WL)
    if rv_ is not None:
        q["resourceVersion"] = snap if rv_ == "current" else rv_
    with WatchStream(daemon, pj(ns), {"watch": "true", **q}) as w:
        init = w.take(3)
        assert [sig(e) for e in init[:2]] == [("ADDED", o["metadata"]["name"], rv(o)) for o in objs]
        end = init[2]
        assert end["type"] == "BOOKMARK", end
        assert end["object"]["metadata"] == {"annotations": END_ANN, "resourceVersion": snap}, end
        assert end["object"]["kind"] == "PyTorchJob" and end["object"]["apiVersion"] == "kubeflow.org/v1"
        marker(daemon, ns, w)


def test_watch_list_without_bookmarks_has_no_end_marker(daemon):
    ns = daemon.create_ns(uniq("wl"))
    a = daemon.create_job(ns, "a")
    q = {k: v for k, v in WL.items() if k != "allowWatchBookmarks"}
    with WatchStream(daemon, pj(ns), {"watch": "true", **q}) as w:
        assert sig(w.next()) == ("ADDED", "a", rv(a))
        marker(daemon, ns, w)  # the next event is the change, no BOOKMARK between


def test_watch_list_send_initial_events_false(daemon):
    """sendInitialEvents=false: no initial state; the changes after resourceVersion, or after
    now without one."""
    ns = daemon.create_ns(uniq("wl"))
    daemon.create_job(ns, "a")
    at = list_rv(daemon, pj(ns))
    b = daemon.create_job(ns, "b")
    q = {"watch": "true", "sendInitialEvents": "false", "resourceVersionMatch": "NotOlderThan"}
    with WatchStream(daemon, pj(ns), {**q, "resourceVersion": at}) as w:
        assert sig(w.next()) == ("ADDED", "b", rv(b))
        marker(daemon, ns, w)
    with WatchStream(daemon, pj(ns), q) as w:
        marker(daemon, ns, w)


def test_watch_list_options_validated_as_kube(daemon):
    ns = daemon.create_ns(uniq("wl"))
    pre = 'ListOptions.meta.k8s.io "" is invalid: '
    need = "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
    for q, msg in [
        ({"sendInitialEvents": "true"}, need),
        ({"sendInitialEvents": "false"}, need),
        ({"resourceVersionMatch": "NotOlderThan"},
         "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"),
        ({"sendInitialEvents": "true", "resourceVersionMatch": "Exact", "resourceVersion": "1"},
         f'[{need}, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]'),
    ]:
        r = daemon.get(pj(ns, query={"watch": "true", **q}))
        assert_status(r, 422, "Invalid", pre + msg)
    # a watch's resourceVersionMatch needs no resourceVersion (the list rule is not a watch's)
    with WatchStream(daemon, pj(ns), {"watch": "true", **WL}) as w:
        assert w.next()["type"] == "BOOKMARK"


# -- compaction: 410 Expired (§9, case 44; §8.5) --------------------------------------------------

@pytest.fixture(scope="module")
def compacting(make_daemon):
    return make_daemon(args=["--retain-revisions", "5", "--compact-interval", "1"])


def test_case44_watch_too_old_rv_is_410_error_event(compacting):
    d = compacting
    ns = d.create_ns(uniq("w410"))
    first = d.create_job(ns, "a")
    for i in range(24):
        patch_labels(d, ns, "a", {"i": str(i)})
    last = d.get_job(ns, "a").json

    def expired():
        with WatchStream(d, pj(ns), {"watch": "true", "resourceVersion": "1"}) as w:
            assert_stream_head(w)
            ev = w.next()
            if ev is None or ev["type"] != "ERROR":
                return False, ev and sig(ev)   # history not compacted yet: a replay
            return True, [ev] + w.rest(timeout=5)
    evs = poll(expired, timeout=15, desc="a watch from rv 1 to answer 410")
    assert len(evs) == 1, f"ERROR must be the first and only event: {evs}"
    st = evs[0]["object"]
    assert list(st) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "code"], st
    assert st["kind"] == "Status" and st["apiVersion"] == "v1" and st["metadata"] == {}, st
    assert st["status"] == "Failure" and st["reason"] == "Expired" and st["code"] == 410, st
    m = re.fullmatch(r"too old resource version: 1 \((\d+)\)", st["message"])
    assert m, st
    oldest = int(m.group(1))
    assert rv(first) <= oldest < rv(last), (st, rv(first), rv(last))
    # the retained tail still replays
    with WatchStream(d, pj(ns), {"watch": "true", "resourceVersion": str(rv(last) - 2)}) as w:
        evs = w.take(2)
        assert [sig(e) for e in evs] == [("MODIFIED", "a", rv(last) - 1), ("MODIFIED", "a", rv(last))], evs
        assert evs[1]["object"] == last
        marker(d, ns, w)


def test_continue_token_after_compaction_is_410_with_new_token(compacting):
    d = compacting
    ns = d.create_ns(uniq("wcont"))
    for n in ("a", "b", "c"):
        d.create_job(ns, n)
    p1 = d.get(pj(ns, query={"limit": "1"}))
    assert p1.status == 200 and [i["metadata"]["name"] for i in p1.json["items"]] == ["a"], p1
    tok = p1.json["metadata"]["continue"]
    assert tok, p1
    for i in range(24):
        patch_labels(d, ns, "c", {"i": str(i)})

    def gone():
        r = d.get(pj(ns, query={"limit": "1", "continue": tok}))
        return r.status == 410, r
    r = poll(gone, timeout=15, desc="the old continue token to expire")
    # a deletecollection lists as a LIST does: the same token is 410 there too, and nothing goes
    rd = d.delete(pj(ns, query={"limit": "1", "continue": tok}))
    assert rd.status == 410 and rd.json["reason"] == "Expired", rd
    assert rd.json["message"] == r.json["message"], rd
    b = r.json
    assert b["kind"] == "Status" and b["status"] == "Failure", r
    assert b["reason"] == "Expired" and b["code"] == 410, r
    assert b["message"].startswith(
        "The provided continue parameter is too old to display a consistent list result. You can "
        "start a new list without the continue parameter"), r
    new = b["metadata"].get("continue")
    assert new and new != tok, r
    r2 = d.get(pj(ns, query={"continue": new}))
    assert r2.status == 200, r2
    assert [i["metadata"]["name"] for i in r2.json["items"]] == ["b", "c"], r2
    assert r2.json["items"][1]["metadata"]["labels"] == {"i": "23"}, r2  # latest state
    assert int(r2.json["metadata"]["resourceVersion"]) >= rv(r2.json["items"][1]), r2


# -- selectors ----------------------------------------------------------------------------------

def test_label_selector_enter_and_leave(daemon):
    ns = daemon.create_ns(uniq("wlab"))
    daemon.create_job(ns, "pre-a", labels={"team": "a"})
    daemon.create_job(ns, "pre-b", labels={"team": "b"})
    with watch(daemon, ns, labelSelector="team=a") as w:
        ev = w.next()
        assert sig(ev)[:2] == ("ADDED", "pre-a"), ev    # initial: only the matching object
        j = daemon.create_job(ns, "mover", labels={"team": "b"})      # not matching: nothing
        e1 = patch_labels(daemon, ns, "mover", {"team": "a"})         # enters → ADDED
        e2 = patch_labels(daemon, ns, "mover", {"extra": "1"})        # still in → MODIFIED
        e3 = patch_labels(daemon, ns, "mover", {"team": "b"})         # leaves → DELETED
        patch_labels(daemon, ns, "mover", {"extra": "2"})             # still out: nothing
        e5 = patch_labels(daemon, ns, "mover", {"team": "a"})         # enters again → ADDED
        assert daemon.delete(pj(ns, "mover")).status == 200           # deleted while in → DELETED
        evs = w.take(5)
        assert [sig(e)[:2] for e in evs] == [("ADDED", "mover"), ("MODIFIED", "mover"),
                                              ("DELETED", "mover"), ("ADDED", "mover"),
                                              ("DELETED", "mover")], [sig(e) for e in evs]
        assert evs[0]["object"] == e1 and evs[1]["object"] == e2 and evs[3]["object"] == e5, evs
        assert sig(evs[2])[2] == rv(e3), (sig(evs[2]), rv(e3))  # leaving: the change's rv
        assert evs[2]["object"]["metadata"]["uid"] == j["metadata"]["uid"]
        assert sig(evs[4])[2] > rv(e5)
        marker(daemon, ns, w, labels={"team": "a"})


def test_label_selector_leave_carries_previous_state(daemon):
    """kube (cacher and etcd watcher alike) sends an object leaving the selector as DELETED with
    the *previous* content (the one that matched) stamped with the change's resourceVersion
    (apiserver/pkg/storage/cacher/cache_watcher.go convertToWatchEvent: "return a delete event
    with the previous object content, but with the event's resource version")."""
    ns = daemon.create_ns(uniq("wleave"))
    daemon.create_job(ns, "m", labels={"team": "a", "v": "1"})
    with watch(daemon, ns, list_rv(daemon, pj(ns)), labelSelector="team=a") as w:
        out = patch_labels(daemon, ns, "m", {"team": "b", "v": "2"})
        ev = w.next()
        assert sig(ev) == ("DELETED", "m", rv(out)), ev
        assert ev["object"]["metadata"]["labels"] == {"team": "a", "v": "1"}, ev["object"]["metadata"]


def test_field_selector_metadata_name(daemon):
    ns = daemon.create_ns(uniq("wfld"))
    daemon.create_job(ns, "other")
    start = list_rv(daemon, pj(ns))
    with watch(daemon, ns, start, fieldSelector="metadata.name=x") as w:
        x = daemon.create_job(ns, "x")
        patch_labels(daemon, ns, "other", {"k": "v"})
        x2 = patch_labels(daemon, ns, "x", {"k": "v"})
        assert daemon.delete(pj(ns, "other")).status == 200
        assert daemon.delete(pj(ns, "x")).status == 200
        evs = w.take(3)
        assert [sig(e)[:2] for e in evs] == [("ADDED", "x"), ("MODIFIED", "x"), ("DELETED", "x")], \
            [sig(e) for e in evs]
        assert evs[0]["object"] == x and evs[1]["object"] == x2
        marker(daemon, ns, w, name="x")
    # rv=0 (kubectl get NAME -w): the initial ADDED is only x
    with watch(daemon, ns, "0", fieldSelector="metadata.name=x") as w:
        ev = w.next()
        assert sig(ev)[:2] == ("ADDED", "x"), ev
        daemon.create_job(ns, "y")
        x3 = patch_labels(daemon, ns, "x", {"k": "w"})
        ev = w.next()
        assert sig(ev) == ("MODIFIED", "x", rv(x3)), ev
    # namespace and != work too
    with watch(daemon, ns, list_rv(daemon, pj(ns)),
               fieldSelector=f"metadata.namespace={ns},metadata.name!=x") as w:
        patch_labels(daemon, ns, "x", {"k": "z"})
        marker(daemon, ns, w)


@pytest.mark.parametrize("query", [{}, {"watch": "true"}], ids=["plain", "watch-param"])
def test_legacy_watch_path_one_object(daemon, query):
    """/watch/namespaces/{ns}/pytorchjobs/{name} is always a watch of that one object."""
    ns = daemon.create_ns(uniq("wleg"))
    x = daemon.create_job(ns, "x")
    daemon.create_job(ns, "y")
    with WatchStream(daemon, f"{API}/watch/namespaces/{ns}/pytorchjobs/x", query) as w:
        assert_stream_head(w)
        ev = w.next()
        assert sig(ev) == ("ADDED", "x", rv(x)) and ev["object"] == x, ev
        patch_labels(daemon, ns, "y", {"k": "v"})
        x2 = patch_labels(daemon, ns, "x", {"k": "v"})
        ev = w.next()
        assert sig(ev) == ("MODIFIED", "x", rv(x2)), (ev, w.events)
        assert daemon.delete(pj(ns, "y")).status == 200
        assert daemon.delete(pj(ns, "x")).status == 200
        ev = w.next()
        assert sig(ev)[:2] == ("DELETED", "x"), ev
        daemon.create_job(ns, "z")
        x3 = daemon.create_job(ns, "x")  # the name again: the next event
        ev = w.next()
        assert sig(ev) == ("ADDED", "x", rv(x3)), ev


@pytest.mark.parametrize("query", [{}, {"watch": "true"}], ids=["plain", "watch-param"])
def test_legacy_watch_path_collection(daemon, query):
    ns = daemon.create_ns(uniq("wlegc"))
    start = list_rv(daemon, pj(ns))
    q = dict(query, resourceVersion=start)
    with WatchStream(daemon, f"{API}/watch/namespaces/{ns}/pytorchjobs", q) as w, \
            WatchStream(daemon, f"{API}/watch/pytorchjobs", q) as wall:
        assert_stream_head(w)
        assert_stream_head(wall)
        z = daemon.create_job(ns, "z")
        ev = w.next()
        assert sig(ev) == ("ADDED", "z", rv(z)), ev
        ev = wall.until(lambda e: sig(e) == ("ADDED", "z", rv(z)))[-1]
        assert ev["object"]["metadata"]["namespace"] == ns
        marker(daemon, ns, w)


# -- bookmarks, timeouts --------------------------------------------------------------------------

def test_bookmarks(make_daemon):
    d = make_daemon(args=["--watch-bookmark-interval", "1"])
    ns = d.create_ns(uniq("wbm"))
    start = list_rv(d, pj(ns))
    with WatchStream(d, pj(ns), {"watch": "true", "resourceVersion": start,
                                 "allowWatchBookmarks": "true"}) as w, \
            WatchStream(d, pj(ns), {"watch": "true", "resourceVersion": start}) as plain:
        o = d.create_job(ns, "a")
        ev = w.next()
        assert sig(ev) == ("ADDED", "a", rv(o)), ev
        bms = []
        t0 = time.monotonic()
        while len(bms) < 2:
            ev = w.next(timeout=5)
            assert ev is not None and ev["type"] == "BOOKMARK", ev
            bms.append((time.monotonic() - t0, ev))
        for _, b in bms:
            assert b == {"type": "BOOKMARK",
                         "object": {"kind": "PyTorchJob", "apiVersion": "kubeflow.org/v1",
                                    "metadata": {"resourceVersion": b["object"]["metadata"]["resourceVersion"]}}}, b
            assert int(b["object"]["metadata"]["resourceVersion"]) >= rv(o), (b, rv(o))
        gap = bms[1][0] - bms[0][0]
        assert 0.5 <= gap <= 3.0, f"bookmark interval 1s, got {gap:.2f}s"
        # a watch without allowWatchBookmarks gets none: its next event after ADDED is the marker
        ev = plain.next()
        assert sig(ev) == ("ADDED", "a", rv(o)), ev
        marker(d, ns, plain)
        # the bookmark watcher continues to get events
        ev = w.until(lambda e: e["type"] != "BOOKMARK")[-1]
        assert ev["type"] == "ADDED", ev


def test_case45_timeout_seconds_ends_cleanly(daemon):
    ns = daemon.create_ns(uniq("wto"))
    t0 = time.monotonic()
    with WatchStream(daemon, pj(ns), {"watch": "true", "timeoutSeconds": "2",
                                      "resourceVersion": list_rv(daemon, pj(ns))}) as w:
        assert_stream_head(w)
        evs = w.rest(timeout=8)
        took = w.t_end - t0
        assert evs == [], evs
        assert w.ended and not w.eof, "expected a zero-length chunk, not a dropped connection"
        assert 1.8 <= took <= 4.0, f"stream ended after {took:.2f}s"
        # the connection is still usable (HTTP/1.1 keep-alive after the stream)
        w.sock.settimeout(5)
        w.sock.sendall(f"GET {pj(ns)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {daemon.token}\r\n"
                       "Accept: application/json\r\n\r\n".encode())
        buf = w.buf
        while b"\r\n\r\n" not in buf:
            d = w.sock.recv(65536)
            assert d, "connection closed after the watch ended"
            buf += d
        assert buf.startswith(b"HTTP/1.1 200"), buf[:200]


def test_timeout_seconds_with_initial_events(daemon):
    ns = daemon.create_ns(uniq("wto2"))
    daemon.create_job(ns, "a")
    t0 = time.monotonic()
    with WatchStream(daemon, pj(ns), {"watch": "true", "timeoutSeconds": "1"}) as w:
        evs = w.rest(timeout=6)
        assert [sig(e)[:2] for e in evs] == [("ADDED", "a")], evs
        assert 0.8 <= w.t_end - t0 <= 3.0, w.t_end - t0


# -- resource handling: disconnects, slow readers, many watchers ------------------------------

def test_disconnects_do_not_leak(daemon):
    ns = daemon.create_ns(uniq("wdisc"))
    pid = daemon.proc.pid
    base = fd_count(pid)
    for round_ in range(2):
        streams = []
        try:
            for i in range(100):
                streams.append(WatchStream(daemon, pj(ns), {"watch": "true",
                                                            "allowWatchBookmarks": "true"}))
            assert all(s.status == 200 for s in streams)
            mid = fd_count(pid)
            assert mid >= base + 90, (base, mid)  # (an idle keep-alive may have closed)
            # drop half with a reset, half with a plain close, then write at once: the fan-out
            # meets connections the daemon may not have noticed yet
            for i, s in enumerate(streams):
                if i % 2 == 0:
                    s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
        finally:
            for s in streams:
                s.close()
        daemon.create_job(ns, uniq("after"))
        poll(lambda: (fd_count(pid) <= base + 2, fd_count(pid)), timeout=10,
             desc=f"daemon fds back to {base} (round {round_})")
    assert daemon.proc.poll() is None, daemon.log_tail()
    t0 = time.monotonic()
    r = daemon.get(pj(ns))
    assert r.status == 200 and len(r.json["items"]) == 2, r
    assert time.monotonic() - t0 < 2
    with watch(daemon, ns, list_rv(daemon, pj(ns))) as w:
        marker(daemon, ns, w)


def server_side_tcp(daemon_port, client_port):
    """(state, inode) of the daemon's end of the connection from client_port, or None."""
    want_l = f"0100007F:{daemon_port:04X}"
    want_r = f"0100007F:{client_port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.read().splitlines()[1:]:
            p = line.split()
            if p[1] == want_l and p[2] == want_r:
                return p[3], p[9]
    return None


def test_slow_watcher_is_cut_off(make_daemon):
    d = make_daemon()
    ns = d.create_ns(uniq("wslow"))
    d.create_job(ns, "big")
    start = list_rv(d, pj(ns))
    n, size = 150, 200_000
    stuck = WatchStream(d, pj(ns), {"watch": "true", "resourceVersion": start}, rcvbuf=4096)
    healthy = WatchStream(d, pj(ns), {"watch": "true", "resourceVersion": start})
    got, err = [], []

    def read_healthy():
        try:
            for _ in range(n):
                ev = healthy.next(timeout=60)
                assert ev is not None
                got.append(sig(ev))
        except BaseException as e:
            err.append(e)
    t = threading.Thread(target=read_healthy)
    try:
        assert stuck.status == 200 and healthy.status == 200
        assert server_side_tcp(d.port, stuck.local_port)[0] == "01"
        t.start()
        conn = d.connect()
        worst = 0.0
        rvs = []
        t0 = time.monotonic()
        try:
            for i in range(n):
                ann = {"big": f"{i:04d}" + "x" * size}
                t1 = time.monotonic()
                r = d.patch(pj(ns, "big"), {"metadata": {"annotations": ann}}, conn=conn)
                worst = max(worst, time.monotonic() - t1)
                assert r.status == 200, r
                rvs.append(rv(r.json))
        finally:
            conn.close()
        took = time.monotonic() - t0
        # other clients are served at once
        t1 = time.monotonic()
        g = d.get(pj(ns, query={"limit": "1"}))
        get_s = time.monotonic() - t1
        print(f"\n{n} writes of {size} B with a stuck watcher: {took:.2f}s, slowest write {worst:.3f}s,"
              f" GET after {get_s:.3f}s")
        assert g.status == 200, g
        assert get_s < 2.0 and worst < 5.0, (get_s, worst)
        t.join(60)
        assert not err, err
        assert [s[2] for s in got] == rvs, "the reading watcher missed events"
        # the stuck connection is closed by the server (its end leaves ESTABLISHED / loses its fd)
        t1 = time.monotonic()

        def server_closed():
            s = server_side_tcp(d.port, stuck.local_port)
            return s is None or s[0] != "01" or s[1] == "0", s
        close_err = None
        try:
            poll(server_closed, timeout=30, interval=0.2,
                 desc="the server to close the stuck watch connection")
            print(f"stuck connection closed {time.monotonic() - t1:.2f}s after the last write")
        except AssertionError as e:
            close_err = e
        # what reached it before the cut-off: a strict prefix of the events, in order (possibly
        # empty if the server resets the connection)
        drained = []
        while True:
            ev = stuck.next(timeout=10)
            if ev is None:
                break
            drained.append(sig(ev)[2])
        assert len(drained) < n, f"the stuck watcher was not cut off: got {len(drained)} of {n}"
        assert drained == rvs[:len(drained)], "the stuck watcher's events are not a prefix"
        print(f"stuck watcher was cut off after {len(drained)} of {n} events")
        assert close_err is None, close_err
    finally:
        stuck.close()
        healthy.close()
        t.join(5)
    assert d.proc.poll() is None, d.log_tail()


# -- replays larger than a client's queue: paced, never cut off (§9) ------------------------------

BIG = 200_000            # bytes of annotation per job
BIG_JOBS = 150           # ~30 MB of events: past the 16 MiB a live watcher may have queued,
                         # with the socket buffers full too


def create_big_jobs(d, ns, n=BIG_JOBS, start=0):
    conn = d.connect()
    try:
        out = []
        for i in range(start, start + n):
            r = d.post(pj(ns), job(f"j-{i:03d}", annotations={"big": f"{i:03d}" + "x" * BIG}), conn=conn)
            assert r.status == 201, r
            out.append(r.json)
        return out
    finally:
        conn.close()


@pytest.mark.parametrize("query", [{"watch": "true"}, {"watch": "true", "resourceVersion": "0"}],
                         ids=["unset", "rv0"])
def test_large_initial_events_paced_with_changes_after(daemon, query):
    """The synthetic ADDED events of a namespace bigger than the cap on a client's queue all
    arrive, at the revision the watch started at, and the changes made while the client was not
    reading follow them exactly once, in order (a cut-off at the cap lost them before)."""
    d = daemon
    ns = d.create_ns(uniq("wbig"))
    objs = create_big_jobs(d, ns)
    snap = rv(objs[-1])
    # a small receive buffer, and nothing read until the writes below: the server's replay must
    # wait for the client, with the first job sent and the last one not yet listed
    with WatchStream(d, pj(ns), query, rcvbuf=65536, timeout=30) as w:
        assert_stream_head(w)
        first = patch_labels(d, ns, "j-000", {"after": "1"})
        last = patch_labels(d, ns, f"j-{BIG_JOBS - 1:03d}", {"after": "1"})
        new = d.create_job(ns, "k-new")
        init = w.take(BIG_JOBS, timeout=60)
        assert [sig(e) for e in init] == [("ADDED", o["metadata"]["name"], rv(o)) for o in objs], \
            "the initial events are the objects as they were when the watch started, by name"
        assert all(e["object"] == o for e, o in zip(init, objs))
        assert max(sig(e)[2] for e in init) == snap
        after = w.take(3)
        assert [sig(e) for e in after] == [("MODIFIED", "j-000", rv(first)),
                                           ("MODIFIED", f"j-{BIG_JOBS - 1:03d}", rv(last)),
                                           ("ADDED", "k-new", rv(new))], [sig(e) for e in after]
        assert after[1]["object"] == last
        marker(d, ns, w)


def test_large_replay_from_rv_paced(daemon):
    """A watch from a resourceVersion whose replay is bigger than the cap gets every change after
    it, then the live ones, in order."""
    d = daemon
    ns = d.create_ns(uniq("wbigrv"))
    start = list_rv(d, pj(ns))
    objs = create_big_jobs(d, ns)
    with WatchStream(d, pj(ns), {"watch": "true", "resourceVersion": start}, rcvbuf=65536,
                     timeout=30) as w:
        assert_stream_head(w)
        live = d.create_job(ns, "k-live")
        evs = w.take(BIG_JOBS + 1, timeout=60)
        assert [sig(e) for e in evs] == [("ADDED", o["metadata"]["name"], rv(o)) for o in objs + [live]]
        marker(d, ns, w)


def test_paced_replay_past_compaction_is_410(compacting):
    """History compacted past a replay that waits for its client: an ERROR 410 event, then a
    clean end, after a prefix of the initial events in order; never a silent cut."""
    d = compacting
    ns = d.create_ns(uniq("wbig410"))
    objs = create_big_jobs(d, ns, n=60)
    with WatchStream(d, pj(ns), {"watch": "true"}, rcvbuf=65536, timeout=30) as w:
        assert_stream_head(w)
        snap = rv(objs[-1])
        other = d.create_ns(uniq("wchurn"))
        d.create_job(other, "c")

        def compacted():
            patch_labels(d, other, "c", {"t": str(time.monotonic())})
            with WatchStream(d, pj(other), {"watch": "true", "resourceVersion": str(snap)}) as p:
                ev = p.next()
                return ev is not None and ev["type"] == "ERROR", ev and sig(ev)
        poll(compacted, timeout=20, interval=0.3, desc="history compacted past the watch's start")
        evs = w.rest(timeout=60)
        assert evs and evs[-1]["type"] == "ERROR", [sig(e) for e in evs][-3:]
        st = evs[-1]["object"]
        assert st["reason"] == "Expired" and st["code"] == 410, st
        assert st["message"].startswith(f"too old resource version: {snap} ("), st
        init = evs[:-1]
        assert 0 < len(init) < len(objs), len(init)
        assert [sig(e) for e in init] == [("ADDED", o["metadata"]["name"], rv(o)) for o in objs[:len(init)]]


def _raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _proc_nofile(pid):
    for line in open(f"/proc/{pid}/limits"):
        if line.startswith("Max open files"):
            return int(line.split()[3])
    return 0


def test_thousand_watchers(daemon, make_daemon):
    N = 1000
    if _raise_nofile(N + 500) < N + 200:
        pytest.skip("RLIMIT_NOFILE too low for 1000 watchers")
    d = daemon if _proc_nofile(daemon.proc.pid) >= N + 200 else make_daemon()
    ns = d.create_ns(uniq("w1k"))
    start = list_rv(d, pj(ns))
    req = (f"GET {pj(ns, query={'watch': 'true', 'resourceVersion': start})} HTTP/1.1\r\n"
           f"Host: 127.0.0.1:{d.port}\r\nAuthorization: Bearer {d.token}\r\n"
           "Accept: application/json\r\n\r\n").encode()
    name = uniq("all")
    ctx = d.ssl_context()

    async def main():
        sem = asyncio.Semaphore(64)
        conns = []

        async def open_one():
            async with sem:
                r, w = await asyncio.wait_for(asyncio.open_connection(
                    "127.0.0.1", d.port, ssl=ctx, server_hostname="127.0.0.1"), 30)
                conns.append(w)
                w.write(req)
                head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 30)
                assert head.startswith(b"HTTP/1.1 200"), head
                assert b"chunked" in head.lower(), head
                return r

        async def read_event(r):
            data = b""
            while b"\n" not in data:
                size = int((await r.readline()).split(b";")[0], 16)
                assert size > 0, "stream ended before the event"
                data += (await r.readexactly(size + 2))[:-2]
            return time.monotonic(), json.loads(data.partition(b"\n")[0])

        try:
            t0 = time.monotonic()
            readers = await asyncio.gather(*[open_one() for _ in range(N)])
            t_open = time.monotonic() - t0
            tasks = [asyncio.ensure_future(read_event(r)) for r in readers]
            loop = asyncio.get_running_loop()
            resp = await loop.run_in_executor(None, lambda: d.post(pj(ns), job(name)))
            t_ack = time.monotonic()
            assert resp.status == 201, resp
            res = await asyncio.wait_for(asyncio.gather(*tasks), 30)
            return t_open, resp.json, t_ack, res
        finally:
            for w in conns:
                w.transport.abort()

    t_open, created, t_ack, res = asyncio.run(main())
    assert len(res) == N
    for _, ev in res:
        assert sig(ev) == ("ADDED", name, rv(created)), ev
    delays = sorted(max(0.0, t - t_ack) for t, _ in res)
    early = sum(1 for t, _ in res if t < t_ack)
    p50, p99 = delays[N // 2], delays[int(N * 0.99) - 1]
    print(f"\n{N} watchers opened in {t_open:.2f}s; delay after the write was acknowledged: "
          f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {delays[-1] * 1000:.1f} ms "
          f"({early} before the ack)")
    assert delays[-1] < 30
    poll(lambda: d.get("/readyz", token=None).status == 200, timeout=10, desc="readyz")
    assert d.proc.poll() is None, d.log_tail()


# -- Table events, deletion phases ------------------------------------------------------------------

def test_table_watch_events(daemon):
    ns = daemon.create_ns(uniq("wtab"))
    daemon.create_job(ns, "pre")
    hdr = {"Accept": TABLE_ACCEPT}
    with WatchStream(daemon, pj(ns), {"watch": "true"}, headers=hdr) as w, \
            WatchStream(daemon, pj(ns), {"watch": "true", "resourceVersion": list_rv(daemon, pj(ns)),
                                         "includeObject": "Object"}, headers=hdr) as wo:
        assert_stream_head(w)
        first = w.next()
        assert first["type"] == "ADDED", first
        t = first["object"]
        assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1", t
        assert len(t["rows"]) == 1, t
        assert [c["name"] for c in t["columnDefinitions"]][:3] == ["Name", "State", "Age"], t
        row = t["rows"][0]
        assert row["cells"][0] == "pre" and row["cells"][1] is None, row
        pm = row["object"]
        assert pm["kind"] == "PartialObjectMetadata" and pm["apiVersion"] == "meta.k8s.io/v1", pm
        assert pm["metadata"]["name"] == "pre" and pm["metadata"]["namespace"] == ns, pm
        o = daemon.create_job(ns, "tj")
        s = set_condition(daemon, ns, "tj", "Running")
        assert daemon.delete(pj(ns, "tj")).status == 200
        evs = w.take(3)
        assert [e["type"] for e in evs] == ["ADDED", "MODIFIED", "DELETED"], evs
        for e, want_rv, state in zip(evs, (rv(o), rv(s), None), (None, "Running", "Running")):
            tab = e["object"]
            assert tab["kind"] == "Table" and len(tab["rows"]) == 1, tab
            r0 = tab["rows"][0]
            assert r0["cells"][0] == "tj" and r0["cells"][1] == state, r0
            assert r0["object"]["metadata"]["name"] == "tj", r0
            assert r0["object"]["metadata"]["uid"] == o["metadata"]["uid"], r0
            if want_rv:
                assert r0["object"]["metadata"]["resourceVersion"] == str(want_rv), r0
                assert tab["metadata"]["resourceVersion"] == str(want_rv), tab
        # includeObject=Object: the row carries the full object
        evs = wo.take(3)
        assert [e["type"] for e in evs] == ["ADDED", "MODIFIED", "DELETED"], evs
        assert evs[0]["object"]["rows"][0]["object"] == o, evs[0]
        assert evs[1]["object"]["rows"][0]["object"] == s, evs[1]


def test_foreground_delete_modified_then_deleted(daemon):
    ns = daemon.create_ns(uniq("wfg"))
    with watch(daemon, ns, list_rv(daemon, pj(ns))) as w:
        o = daemon.create_job(ns, "fg")
        r = daemon.delete(pj(ns, "fg"), {"propagationPolicy": "Foreground"})
        assert r.status == 200 and r.json["kind"] == "PyTorchJob", r
        evs = w.take(3, timeout=15)
        assert [sig(e)[:2] for e in evs] == [("ADDED", "fg"), ("MODIFIED", "fg"), ("DELETED", "fg")], \
            [sig(e) for e in evs]
        m = evs[1]["object"]
        assert m == r.json, (m, r.json)
        assert TIME_RE.match(m["metadata"].get("deletionTimestamp", "")), m
        assert m["metadata"]["finalizers"] == ["foregroundDeletion"], m
        assert sig(evs[2])[2] > rv(m), [sig(e) for e in evs]
        assert evs[2]["object"]["metadata"]["uid"] == o["metadata"]["uid"]
        assert "deletionTimestamp" in evs[2]["object"]["metadata"], evs[2]
        assert daemon.get_job(ns, "fg").status == 404
        marker(daemon, ns, w)


def test_no_event_for_noop_dry_run_and_repeated_delete(daemon):
    """No event for no-op writes, dry runs, or a repeated DELETE of a terminating object (§9,
    §13 cases 4, 14, 15)."""
    ns = daemon.create_ns(uniq("wnoop"))
    o = daemon.create_job(ns, "h", labels={"k": "v"}, finalizers=["example.com/hold"])
    with watch(daemon, ns, rv(o)) as w:
        r = daemon.patch(pj(ns, "h"), {"metadata": {"labels": {"k": "v"}}})   # no-op
        assert r.status == 200 and rv(r.json) == rv(o), r
        r = daemon.patch(pj(ns, "h", query={"dryRun": "All"}), {"metadata": {"labels": {"k": "w"}}})
        assert r.status == 200, r
        r = daemon.delete(pj(ns, "h", query={"dryRun": "All"}))
        assert r.status == 200, r
        r1 = daemon.delete(pj(ns, "h"))                                      # marks it
        assert r1.status == 200 and "deletionTimestamp" in r1.json["metadata"], r1
        ev = w.next()
        assert sig(ev) == ("MODIFIED", "h", rv(r1.json)) and ev["object"] == r1.json, ev
        r2 = daemon.delete(pj(ns, "h"))                                      # repeated: no event
        assert r2.status == 200 and rv(r2.json) == rv(r1.json), r2
        r3 = daemon.patch(pj(ns, "h"), {"metadata": {"finalizers": None}})    # released → DELETED
        assert r3.status == 200, r3
        ev = w.next()
        assert sig(ev)[:2] == ("DELETED", "h"), (ev, [sig(e) for e in w.events])
        assert sig(ev)[2] > rv(r1.json)
        marker(daemon, ns, w)
