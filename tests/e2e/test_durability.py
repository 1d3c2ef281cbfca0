"""Durability honesty (docs/PERFORMANCE.md, issue "Speed you can quote"): a create is answered
only after its batch's sync returned, and the store does not sync more often than it commits.

The daemon runs under `strace -f --seccomp-bpf -ttt -T -y -e trace=fsync,fdatasync`: every sync
call, with the thread that made it, the file it flushed, its start time and its duration (both in
wall-clock seconds, the clock time.time() reads). Several clients then make N acknowledged durable
creates at once, the daemon is killed with SIGKILL, and:

  1. every acknowledged create saw a sync of the store's WAL that started after the request was
     sent and returned before the answer arrived (so no ack went out ahead of its fsync);
  2. those WAL syncs are made by a thread other than the event loop's (the writer; the loop never
     blocks on a flush), and there is at least one and at most one per acknowledged write (group
     commit may only lower the count) — SQLite checkpoints, which sync the WAL and the database
     file outside any commit, are counted on their own and allowed for;
  3. a restart on the same data dir after the SIGKILL lists every acknowledged job.
"""
import os
import re
import shutil
import signal
import threading
import time

import pytest

import e2elib
from e2elib import job, pj

N_CLIENTS = 8
PER_CLIENT = 25
SYNC_RE = re.compile(r"^(\d+)\s+([\d.]+)\s+(fsync|fdatasync)\((\d+)<([^>]*)>\)\s+=\s+(-?\d+).*<([\d.]+)>\s*$")

pytestmark = pytest.mark.skipif(shutil.which("strace") is None,
                                reason="strace is not installed (scripts/install-deps.sh installs it)")


class TracedDaemon(e2elib.Daemon):
    """torchjobd as the child of strace; .pid is the daemon itself, .proc is strace."""

    def __init__(self, data_dir, trace_path):
        super().__init__(data_dir)
        self.trace_path = trace_path

    def command(self):
        return ["strace", "-f", "--seccomp-bpf", "-ttt", "-T", "-y",
                "-e", "trace=fsync,fdatasync", "-o", str(self.trace_path), *super().command()]

    @property
    def pid(self):
        kids = open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read().split()
        assert len(kids) == 1, f"strace should have one child, has {kids}"
        return int(kids[0])


def parse_syncs(path, store_dir):
    """[(tid, start, end, call, file, rc)] for the store's files."""
    out = []
    for line in open(path):
        m = SYNC_RE.match(line)
        if not m:
            continue
        tid, t, call, _fd, f, rc, dur = m.groups()
        if os.path.dirname(f) != str(store_dir) or not os.path.basename(f).startswith("store.db"):
            continue
        out.append((int(tid), float(t), float(t) + float(dur), call, os.path.basename(f), int(rc)))
    return out


def test_acknowledged_creates_are_synced_and_survive_kill9(tmp_path):
    data = tmp_path / "data"
    d = TracedDaemon(data, tmp_path / "strace.txt")
    acks = []            # (name, sent, answered)
    errors = []
    try:
        d.start()
        loop_tid = d.pid
        ns = d.create_ns(e2elib.uniq("dur"))

        def client(k):
            try:
                conn = d.connect()
                for i in range(PER_CLIENT):
                    name = f"c{k}-{i}"
                    sent = time.time()
                    r = d.api("POST", pj(ns), job(name), conn=conn)
                    answered = time.time()
                    if r.status != 201:
                        errors.append(r)
                        return
                    acks.append((name, sent, answered))
                conn.close()
            except Exception as e:  # noqa: BLE001 — reported below
                errors.append(e)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(N_CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors[:3]
        assert len(acks) == N_CLIENTS * PER_CLIENT
        os.kill(d.pid, signal.SIGKILL)
        d.proc.wait(30)        # strace ends with its tracee
    finally:
        if d.proc is not None and d.proc.poll() is None:
            try:
                os.kill(d.pid, signal.SIGKILL)
            except (OSError, AssertionError):
                pass
            d.proc.kill()
            d.proc.wait(30)

    syncs = parse_syncs(d.trace_path, data)
    first = min(s for _, s, _ in acks)
    last = max(a for _, _, a in acks)
    window = [s for s in syncs if s[2] >= first and s[1] <= last]
    wal = [s for s in window if s[4] == "store.db-wal"]
    db = [s for s in window if s[4] == "store.db"]
    assert all(s[5] == 0 for s in window), f"a sync failed: {[s for s in window if s[5]]}"

    # 1. every ack follows a WAL sync that ran inside its request
    late = [(n, round(a - s, 4)) for n, s, a in acks
            if not any(w[1] >= s and w[2] <= a for w in wal)]
    assert not late, (f"{len(late)} of {len(acks)} creates were answered without a WAL sync inside "
                      f"their request, e.g. {late[:5]}")

    # 2. on the writer, at least one and at most one per acknowledged write (+ checkpoints)
    assert not [s for s in wal if s[0] == loop_tid], "the event loop thread synced the WAL itself"
    checkpoints = len(db)
    # a checkpoint syncs the WAL before copying it back, and the first commit after the WAL
    # restarts syncs its new header: two extra WAL syncs per checkpoint at most
    assert 1 <= len(wal) <= len(acks) + 2 * checkpoints, (
        f"{len(wal)} WAL syncs for {len(acks)} acknowledged creates and {checkpoints} checkpoints")
    print(f"\n{len(acks)} acknowledged creates from {N_CLIENTS} clients: {len(wal)} WAL syncs "
          f"(≈ commit batches, {len(acks) / len(wal):.1f} creates per sync), {checkpoints} checkpoint "
          f"syncs of store.db, by threads {sorted({s[0] for s in wal})}")

    # 3. all of them are there after SIGKILL and a restart
    d2 = e2elib.Daemon(data)
    try:
        d2.start()
        r = d2.api("GET", pj(ns))
        assert r.status == 200, r
        have = {i["metadata"]["name"] for i in r.json["items"]}
        missing = sorted({n for n, _, _ in acks} - have)
        assert not missing, f"{len(missing)} acknowledged creates lost after kill -9: {missing[:10]}"
    finally:
        assert d2.stop() == 0, d2.log_tail()
