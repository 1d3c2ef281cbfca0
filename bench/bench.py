#!/usr/bin/python3
"""bench.py — torchjobd's benchmark suite: the figures of docs/PERFORMANCE.md.

Run through bench/run.sh (`make bench`, `make bench-smoke`), which installs wrk, nginx and etcd,
builds bench/tjload.c and raises the open-file limit first.

Every figure is measured on 127.0.0.1 against the real daemon (build/torchjobd, fresh temporary
data dir per phase). Anchored figures run anchor, daemon, anchor, daemon, ... anchor (RUNS daemon
tries, each between two anchor tries) and quote medians; the anchor is nginx (TLS, serving the very
bytes the daemon answers) or etcd 3.4 (durable puts of the same object through its JSON gateway).
Every process started here is stopped here, by pid; every load run has a time limit.

  phase get     nginx vs daemon: GET one job (wrk -t1 -c50), LIST 1,000 jobs (wrk -t1 -c1),
                GET at 1/10/50/200 connections
  phase write   etcd vs daemon (a fresh pair per figure): durable create at 1/16/64 connections,
                durable delete at 16
  phase store   daemon growing to 100,000 jobs (the fill has a time budget; where it runs out, the
                figures are taken at the count reached): RSS, GET, create and LIST-page cost at
                1k/10k/100k, LIST of everything in pages of 500
  phase jobs    job start latency (1 Master + 3 Workers), foreground delete, watch fan-out

Results: WORK/results.json (every try), WORK/summary.md; with --doc FILE the generated part of
FILE (between the bench markers) is replaced. --smoke: tiny counts and durations, checks that
every figure produced sane numbers (exit 1 if not); targets are reported, never enforced.
"""
import argparse
import datetime
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
API = "/apis/kubeflow.org/v1"
QUIET = "kueue.x-k8s.io/multikueue"   # managedBy: the controller leaves such jobs alone
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

FULL = dict(runs=3, get_s=5, list_s=5, conn_s=2, write_s=3, list_jobs=1000, store_points=[1000, 10000, 100000],
            page=500, page_passes=3, start_jobs=100, fg_jobs=100, watchers=[100, 1000, 10000], watch_events=5,
            probe_s=1, conn_points=[1, 10, 50, 200], fill_budget=300, warm_gb=4)
SMOKE = dict(runs=1, get_s=1, list_s=1, conn_s=1, write_s=0.3, list_jobs=100, store_points=[300, 1000],
             page=200, page_passes=1, start_jobs=3, fg_jobs=2, watchers=[50], watch_events=2, probe_s=0.3,
             conn_points=[10], fill_budget=60, warm_gb=0.25)


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pctl(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    i = max(0, min(len(xs) - 1, int(-(-p * len(xs) // 1)) - 1))
    return xs[i]


# ---- processes ----------------------------------------------------------------------------

class Procs:
    """Every long-running process started by the suite; stop_all() ends each by its pid."""
    live = []

    @classmethod
    def start(cls, argv, log_path, **kw):
        f = open(log_path, "ab")
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, **kw)
        f.close()
        cls.live.append((p, argv[0]))
        return p

    @classmethod
    def stop(cls, p, sig=signal.SIGTERM, timeout=20):
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        cls.live = [(q, n) for q, n in cls.live if q is not p]
        return p.returncode

    @classmethod
    def stop_all(cls):
        for p, _ in list(cls.live):
            cls.stop(p, timeout=10)


def cpu_jiffies(pids):
    """utime+stime of the given pids and their direct children."""
    tot = 0
    kids = []
    for pid in pids:
        try:
            kids += [int(x) for x in open(f"/proc/{pid}/task/{pid}/children").read().split()]
        except OSError:
            pass
    for pid in list(pids) + kids:
        try:
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            tot += int(f[11]) + int(f[12])
        except (OSError, IndexError):
            pass
    return tot


class Noise:
    """Machine busy % and 'foreign' % (busy CPU used by neither the server nor our load client)
    over one run: other tenants of a shared machine show up there."""

    def __init__(self, pids):
        self.pids = pids
        self.a = self._stat()
        self.s = cpu_jiffies(pids)
        self.c = self._children()

    @staticmethod
    def _stat():
        return [int(x) for x in open("/proc/stat").readline().split()[1:9]]

    @staticmethod
    def _children():
        """CPU of the load clients: our waited-for children (wrk, tjload) and this process (the
        Python clients of the sequential figures)."""
        t = 0.0
        for who in (resource.RUSAGE_CHILDREN, resource.RUSAGE_SELF):
            r = resource.getrusage(who)
            t += r.ru_utime + r.ru_stime
        return t * os.sysconf("SC_CLK_TCK")

    def end(self):
        b = self._stat()
        d = [y - x for x, y in zip(self.a, b)]
        tot = sum(d) or 1
        busy = tot - d[3] - d[4] - d[7]
        mine = cpu_jiffies(self.pids) - self.s + self._children() - self.c
        return {"busy": round(100 * busy / tot), "foreign": max(0, round(100 * (busy - mine) / tot))}


# ---- servers ------------------------------------------------------------------------------

class Daemon:
    def __init__(self, work, name, binary):
        self.dir = work / name
        self.dir.mkdir(parents=True)
        self.port = free_port()
        self.binary = binary
        self.proc = None

    def start(self):
        self.proc = Procs.start([str(self.binary), "--data-dir", str(self.dir / "data"),
                                 "--listen", f"127.0.0.1:{self.port}"], self.dir / "daemon.log")
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"torchjobd exited {self.proc.returncode}; see {self.dir}/daemon.log")
            try:
                if (self.dir / "data/tokens.csv").exists():
                    self.token = (self.dir / "data/tokens.csv").read_text().split(",", 1)[0]
                    self.ctx = ssl.create_default_context(cafile=str(self.dir / "data/ca.crt"))
                    st, body = self.req("GET", "/readyz", auth=False)
                    if st == 200:
                        break
            except (OSError, ssl.SSLError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise SystemExit("torchjobd did not become ready")
            time.sleep(0.05)
        self.url = f"https://127.0.0.1:{self.port}"
        return self

    @property
    def pid(self):
        return self.proc.pid

    def conn(self, timeout=60):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=timeout)

    def req(self, method, path, body=None, auth=True, conn=None, timeout=60):
        """One request with only Host, Authorization (and Content-Type for a body): the request
        shape wrk sends, so the answer is the bytes wrk gets."""
        c = conn or self.conn(timeout)
        h = {"Authorization": "Bearer " + self.token} if auth else {}
        if body is not None:
            h["Content-Type"] = "application/json"
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, data
        finally:
            if conn is None:
                c.close()

    def ok(self, method, path, body=None, conn=None, want=(200, 201, 202)):
        st, data = self.req(method, path, body, conn=conn)
        if st not in want:
            raise SystemExit(f"{method} {path} → {st}: {data[:400]!r}")
        return json.loads(data) if data[:1] == b"{" else data

    def namespace(self, name):
        self.ok("POST", "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def rss_kb(self, field="VmRSS:"):
        for line in open(f"/proc/{self.pid}/status"):
            if line.startswith(field):
                return int(line.split()[1])
        return None

    def hwm_kb(self):
        """The peak RSS of this daemon process."""
        return self.rss_kb("VmHWM:")

    def stop(self):
        if self.proc:
            rc = Procs.stop(self.proc, timeout=30)
            self.proc = None
            return rc


class Nginx:
    """nginx, one worker, TLS with the daemon's own certificate, serving files from www/."""

    def __init__(self, work, cert, key):
        self.dir = work / "nginx"
        (self.dir / "logs").mkdir(parents=True)
        (self.dir / "www").mkdir()
        self.port = free_port()
        (self.dir / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
master_process on;
pid {self.dir}/nginx.pid;
error_log {self.dir}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  server_tokens off;
  keepalive_requests 1000000;
  keepalive_timeout 65;
  open_file_cache max=64 inactive=1h;
  etag off;
  server {{
    listen 127.0.0.1:{self.port} ssl backlog=4096;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {{ root {self.dir}/www; default_type application/json; }}
  }}
}}
""")

    def put(self, name, data):
        (self.dir / "www" / name).write_bytes(data)

    def start(self):
        conf = str(self.dir / "nginx.conf")
        subprocess.run(["nginx", "-p", str(self.dir), "-c", conf, "-t", "-q"], check=True)
        self.proc = Procs.start(["nginx", "-p", str(self.dir), "-c", conf], self.dir / "nginx.out")
        wait_port(self.port, self.proc)
        self.url = f"https://127.0.0.1:{self.port}"
        return self

    def get(self, name):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=30)
        c.request("GET", "/" + name)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def stop(self):
        Procs.stop(self.proc, signal.SIGQUIT)


class Etcd:
    """Single-member etcd 3.4 (Debian etcd-server), data dir beside the daemon's, plain HTTP on
    127.0.0.1 (no TLS: the anchor is spared the cost our side pays); WAL fdatasync per batch."""

    def __init__(self, work, name="etcd"):
        self.dir = work / name
        self.dir.mkdir(parents=True)
        self.port, self.peer = free_port(), free_port()

    def start(self):
        ep, pp = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{self.peer}"
        self.proc = Procs.start(
            ["etcd", "--name", "bench", "--data-dir", str(self.dir / "data"),
             "--listen-client-urls", ep, "--advertise-client-urls", ep,
             "--listen-peer-urls", pp, "--initial-advertise-peer-urls", pp,
             "--initial-cluster", f"bench={pp}", "--initial-cluster-state", "new",
             "--quota-backend-bytes", str(8 << 30), "--logger", "zap",
             "--log-outputs", str(self.dir / "etcd.log")], self.dir / "etcd.out")
        wait_port(self.port, self.proc, 30)
        deadline = time.monotonic() + 30
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/health")
                if b"true" in c.getresponse().read():
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("etcd did not become healthy")
            time.sleep(0.1)
        self.url = ep
        return self

    def version(self):
        out = subprocess.run(["etcd", "--version"], capture_output=True, text=True).stdout
        return out.split("\n")[0].split()[-1]

    def stop(self):
        Procs.stop(self.proc)


def wait_port(port, proc, secs=10):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args[0]} exited {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} never opened")


# ---- load tools ---------------------------------------------------------------------------

def parse_wrk(t):
    def ms(s):
        m = re.match(r"([\d.]+)(us|ms|s|m)$", s)
        v, u = float(m.group(1)), m.group(2)
        return v / 1000 if u == "us" else v if u == "ms" else v * 1000 if u == "s" else v * 60000
    rps = re.search(r"Requests/sec:\s+([\d.]+)", t)
    p50 = re.search(r"^\s+50%\s+(\S+)", t, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", t, re.M)
    err = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    if m:
        err += sum(map(int, m.groups()))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    if m:
        err += int(m.group(1))
    n = re.search(r"(\d+) requests in", t)
    return {"rps": float(rps.group(1)) if rps else 0.0, "p50_ms": ms(p50.group(1)) if p50 else None,
            "p99_ms": ms(p99.group(1)) if p99 else None, "errors": err,
            "requests": int(n.group(1)) if n else 0}


class Suite:
    def __init__(self, args):
        self.a = args
        self.p = SMOKE if args.smoke else FULL
        self.work = Path(args.work)
        self.rows = []          # every try
        self.fig = {}           # figure summaries
        self.growth = {"stored": [], "watchers": [], "connections": []}
        self.profiles = {}
        self.commands = []
        self.problems = []      # smoke sanity failures / broken measurements

    # -- recording --
    def row(self, figure, side, r, res, noise):
        d = {"figure": figure, "side": side, "try": r, **res, **noise,
             "noisy": noise["foreign"] > self.a.foreign_max}
        self.rows.append(d)
        log(f"  {figure:28} {side:7} try{r}: " + " ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in res.items()
            if k in ("rps", "p50_ms", "p99_ms", "errors", "ok") and v is not None)
            + f" busy={noise['busy']}% foreign={noise['foreign']}%" + (" NOISY" if d["noisy"] else ""))
        with open(self.work / "results.jsonl", "a") as f:
            f.write(json.dumps(d) + "\n")

    def cmd(self, label, argv):
        s = " ".join(a if re.match(r"^[\w@%+=:,./-]+$", a) else repr(a) for a in argv)
        s = re.sub(r"Bearer [0-9a-f]{16,}", "Bearer $TOKEN", s)
        if label not in [c[0] for c in self.commands]:
            self.commands.append((label, s))

    # -- load runners --
    def wrk(self, url, conns, secs, pids, token=None, label=None):
        argv = ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(secs))}s", "--timeout", "10s", "--latency"]
        if token:
            argv += ["-H", f"Authorization: Bearer {token}"]
        argv.append(url)
        if label:
            self.cmd(label, argv)
        n = Noise(pids)
        out = subprocess.run(argv, capture_output=True, text=True, timeout=secs + 60).stdout
        noise = n.end()
        res = parse_wrk(out)
        if res["requests"] == 0:
            self.problems.append(f"wrk {url}: no requests\n{out}")
        return res, noise

    def tjload(self, mode, url, pids, label=None, timeout=600, **kw):
        argv = [str(self.a.tjload), mode, "--url", url]
        env = dict(os.environ)
        if "token" in kw:
            env["TJ_TOKEN"] = kw.pop("token")
        for k, v in kw.items():
            argv += ["--" + k.replace("_", "-"), str(v)]
        if label:
            self.cmd(label, (["TJ_TOKEN=$TOKEN"] if "TJ_TOKEN" in env else []) + argv)
        n = Noise(pids)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
        noise = n.end()
        if p.returncode != 0 or not p.stdout.strip():
            raise SystemExit(f"tjload failed ({p.returncode}): {p.stderr[-2000:]}")
        if p.stderr.strip():
            log("  tjload:", p.stderr.strip()[-500:])
        return json.loads(p.stdout.strip().splitlines()[-1]), noise

    def quiet(self):
        """Wait (bounded by --quiet-max) until the machine is idle for a second: other tenants'
        bursts would otherwise land inside a try."""
        end = time.monotonic() + self.a.quiet_max
        while True:
            a = Noise._stat()
            time.sleep(0.5)
            d = [y - x for x, y in zip(a, Noise._stat())]
            busy = 100 * (sum(d) - d[3] - d[4] - d[7]) / (sum(d) or 1)
            if busy <= 25 or time.monotonic() >= end:
                return

    def warm_memory(self, why):
        """Touch, then give back, warm_gb of memory before a figure whose processes grow. On a VM
        whose memory the host backs lazily and takes back when the guest frees it (virtio-balloon
        free page reporting; Firecracker here), the first touch of a guest page is a host fault:
        2.0-2.1 s per GB against 0.3-0.6 s per GB warm on 2026-12-05. A try that grows into such
        memory measures the hypervisor: creates at 64 connections fell from ~31k/s to ~24k/s in
        the third try, etcd's puts with them. Freed pages go to the front of the guest's free
        lists, so what the daemon and etcd allocate next is the memory just warmed, for both."""
        try:
            avail = next(int(l.split()[1]) << 10 for l in open("/proc/meminfo") if l.startswith("MemAvailable:"))
        except (OSError, StopIteration):
            return
        n = int(min(self.p["warm_gb"] * (1 << 30), avail / 2))
        if n <= 0:
            return
        t0 = time.monotonic()
        b = bytearray(n)  # zero-filled: every page is written
        del b
        s_per_gb = (time.monotonic() - t0) / (n / (1 << 30))
        self.fig.setdefault("warm", []).append(round(s_per_gb, 3))
        log(f"  memory warmed for {why}: {n / (1 << 30):.2f} GB at {s_per_gb:.2f} s/GB")

    def settled(self, d, res):
        """res, after the daemon went idle again: a try's leftover work must not land in the
        anchor's next try. The wait is kept in the result (settle_s)."""
        res[0]["settle_s"] = round(self.settle(d), 2)
        return res

    def settle(self, d, limit=120):
        """Wait until the daemon's CPU stays under 5% for half a second (its controller has caught
        up with the writes just made); returns the seconds waited."""
        t0 = time.monotonic()
        tck = os.sysconf("SC_CLK_TCK")
        while time.monotonic() - t0 < limit:
            a = cpu_jiffies([d.pid])
            time.sleep(0.5)
            if (cpu_jiffies([d.pid]) - a) / tck / 0.5 < 0.05:
                break
        return time.monotonic() - t0

    def anchored(self, figure, anchor_fn, ours_fn):
        """anchor, ours, anchor, ours, ..., anchor: each daemon try sits between two anchor tries.
        A try whose foreign CPU passed --foreign-max is kept but marked noisy, and the pair is tried
        again (at most --extra-tries more per figure); medians use the clean tries when there are."""
        self.quiet()
        self.row(figure, "anchor", 1, *anchor_fn(1))
        r = clean = 0
        while clean < self.p["runs"] and r < self.p["runs"] + self.a.extra_tries:
            r += 1
            self.quiet()
            self.row(figure, "ours", r, *ours_fn(r))
            self.row(figure, "anchor", r + 1, *anchor_fn(r + 1))
            clean += not self.rows[-2]["noisy"]

    def med(self, figure, side, key):
        rows = [r for r in self.rows if r["figure"] == figure and r["side"] == side]
        clean = [r for r in rows if not r["noisy"]]
        return median([r.get(key) for r in (clean or rows)])

    def summarize(self, figure, key="rps"):
        return {"ours": self.med(figure, "ours", key), "anchor": self.med(figure, "anchor", key),
                "ours_p50": self.med(figure, "ours", "p50_ms"), "ours_p99": self.med(figure, "ours", "p99_ms"),
                "anchor_p50": self.med(figure, "anchor", "p50_ms"),
                "anchor_p99": self.med(figure, "anchor", "p99_ms"),
                "errors": sum(r.get("errors", 0) or 0 for r in self.rows if r["figure"] == figure),
                "foreign": [r["foreign"] for r in self.rows if r["figure"] == figure]}

    # -- helpers on a daemon --
    def fill(self, d, ns, prefix, count, start=0, conns=64, budget=None):
        """Create count quiet jobs PREFIX<start..start+count-1> in ns (durable creates at 64).
        With a budget (s), stops when it runs out: returns how many were created, and the rate."""
        if count <= 0:
            return 0, None
        secs = budget if budget is not None else 3600
        res, _ = self.tjload("post", d.url, [d.pid], path=f"{API}/namespaces/{ns}/pytorchjobs",
                             body=BENCH / "job.json", prefix=prefix, start=start, count=count,
                             conns=conns, duration=secs, timeout=secs + 120, token=d.token)
        if res["errors"] or (budget is None and res["ok"] != count):
            raise SystemExit(f"fill {ns}/{prefix}: {res}")
        return res["ok"], res["rps"]

    def perf(self, name, pid, secs, load):
        """perf record -g on pid while load() runs; keeps the top of the report."""
        if not self.a.profile or not shutil.which("perf"):
            return load()
        data = self.work / f"perf-{name}.data"
        p = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "-g", "-p", str(pid),
                              "-o", str(data), "--", "sleep", str(secs)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            out = load()
        finally:
            p.wait(secs + 30)
        rep = {}
        for mode, extra in (("self", ["--no-children"]), ("children", ["--children"])):
            t = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "-g", "none",
                                "--sort", "dso,symbol", "--percent-limit", "0.8"] + extra,
                               capture_output=True, text=True, timeout=300).stdout
            (self.work / f"perf-{name}-{mode}.txt").write_text(t)
            rows = []
            for line in t.splitlines():
                m = re.match(r"\s+(?:([\d.]+)%\s+)?([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.+?)(\s+-\s+-)?\s*$", line)
                if m:
                    rows.append((float(m.group(2) if mode == "self" else m.group(1) or m.group(2)),
                                 m.group(3), m.group(5).strip()))
            rep[mode] = rows[:25]
        t = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "-g", "none", "--sort", "dso",
                            "--no-children"], capture_output=True, text=True, timeout=300).stdout
        rep["dso"] = [(float(m.group(1)), m.group(2).strip()) for m in
                      re.finditer(r"^\s+([\d.]+)%\s+(.+?)\s*$", t, re.M)][:8]
        self.profiles[name] = rep
        return out

    # ---- phase get: nginx vs daemon ------------------------------------------------------
    def phase_get(self):
        p = self.p
        d = Daemon(self.work, "d-get", self.a.binary).start()
        d.namespace("bench")
        n = p["list_jobs"]
        self.fill(d, "bench", "job-", n, start=1)
        get_path = f"{API}/namespaces/bench/pytorchjobs/job-1"
        list_path = f"{API}/namespaces/bench/pytorchjobs"
        st, one = d.req("GET", get_path)
        st2, lst = d.req("GET", list_path)
        assert st == 200 and st2 == 200, (st, st2)
        self.sizes = {"get": len(one), "list": len(lst), "list_items": lst.count(b'"kind":"PyTorchJob"')}
        ng = Nginx(self.work, d.dir / "data/server.crt", d.dir / "data/server.key")
        ng.put("job.json", one)
        ng.put("list.json", lst)
        ng.start()
        try:
            for name, data in (("job.json", one), ("list.json", lst)):
                st, got = ng.get(name)
                if st != 200 or got != data:
                    raise SystemExit(f"nginx serves different bytes for {name}")
            _, again = d.req("GET", list_path)
            if again != lst:
                raise SystemExit("the daemon's LIST bytes changed between two reads")
            self.fig["get_bytes"] = len(one)
            self.anchored("GET one job c=50",
                          lambda r: self.wrk(ng.url + "/job.json", 50, p["get_s"], [ng.proc.pid], d.token,
                                             "GET, nginx"),
                          lambda r: self.wrk(d.url + get_path, 50, p["get_s"], [d.pid], d.token,
                                             "GET, torchjobd"))
            self.anchored(f"LIST {n} jobs c=1",
                          lambda r: self.wrk(ng.url + "/list.json", 1, p["list_s"], [ng.proc.pid], d.token,
                                             "LIST, nginx"),
                          lambda r: self.wrk(d.url + list_path, 1, p["list_s"], [d.pid], d.token,
                                             "LIST, torchjobd"))
            for c in p["conn_points"]:
                self.quiet()
                a, _ = self.wrk(ng.url + "/job.json", c, p["conn_s"], [ng.proc.pid], d.token)
                o, _ = self.wrk(d.url + get_path, c, p["conn_s"], [d.pid], d.token)
                self.growth["connections"].append({"conns": c, "ours_rps": o["rps"], "ours_p99": o["p99_ms"],
                                                   "nginx_rps": a["rps"], "nginx_p99": a["p99_ms"],
                                                   "errors": o["errors"] + a["errors"]})
            if self.a.profile:
                self.perf("get", d.pid, 5, lambda: self.wrk(d.url + get_path, 50, 5, [d.pid], d.token))
        finally:
            ng.stop()
            d.stop()

    # ---- phase write: etcd vs daemon -----------------------------------------------------
    def phase_write(self):
        """Each figure on a fresh daemon and a fresh etcd, so a figure does not inherit the jobs
        the previous ones stored (the growth table shows that cost on its own)."""
        p = self.p
        coll = f"{API}/namespaces/bench/pytorchjobs"
        obj_path = self.work / "object.json"

        def fresh(name):
            self.warm_memory(name)
            d = Daemon(self.work, f"d-{name}", self.a.binary).start()
            d.namespace("bench")
            e = Etcd(self.work, f"etcd-{name}").start()
            self.etcd_version = e.version()
            return d, e

        d, e = fresh("value")
        try:
            self.fill(d, "bench", "value-", 1)
            obj = d.req("GET", f"{coll}/value-0")[1].rstrip(b"\n")
            obj_path.write_bytes(obj)
            self.fig["object_bytes"] = len(obj)
        finally:
            e.stop()
            d.stop()
        put = lambda e, c, r, tag, label=None: self.tjload(
            "etcdput", e.url, [e.proc.pid], label, body=obj_path, conns=c, duration=p["write_s"],
            prefix=f"/registry/kubeflow.org/pytorchjobs/bench/{tag}-r{r}-")
        for c in (1, 16, 64):
            d, e = fresh(f"create{c}")
            try:
                self.anchored(f"durable create c={c}", lambda r: put(e, c, r, f"c{c}", f"etcd put c={c}"),
                              lambda r: self.settled(d, self.tjload(
                                  "post", d.url, [d.pid], f"create c={c}", path=coll, body=BENCH / "job.json",
                                  conns=c, duration=p["write_s"], prefix=f"c{c}-r{r}-", token=d.token)))
                if c == 64 and self.a.profile:
                    self.perf("create", d.pid, 5, lambda: self.tjload(
                        "post", d.url, [d.pid], path=coll, body=BENCH / "job.json", conns=64, duration=5,
                        prefix="prof-", token=d.token))
            finally:
                e.stop()
                d.stop()
        # deletes of jobs made for them: enough for write_s at the c=16 create rate, x1.5
        d, e = fresh("delete16")
        try:
            rate = self.med("durable create c=16", "ours", "rps") or 1000
            per = max(200, int(rate * p["write_s"] * 1.5))

            def delete(r):   # made right before each try (not timed), so the store stays small
                self.fill(d, "bench", f"del{r}-", per)
                self.settle(d)
                return self.settled(d, self.tjload("delete", d.url, [d.pid], "delete c=16", path=coll, conns=16,
                                                   prefix=f"del{r}-", count=per, duration=p["write_s"],
                                                   token=d.token))
            self.anchored("durable delete c=16", lambda r: put(e, 16, r, "d16"), delete)
        finally:
            e.stop()
            d.stop()

    # ---- phase store: growth to 100,000 jobs ---------------------------------------------
    def phase_store(self):
        p = self.p
        self.warm_memory("store")
        d = Daemon(self.work, "d-store", self.a.binary).start()
        try:
            d.namespace("bench")
            d.namespace("probe")
            have = 0
            probes = 0  # jobs the create probes left in the "probe" namespace
            probe_i = 0
            t_fill = time.monotonic() + p["fill_budget"]
            for point in p["store_points"]:
                left = t_fill - time.monotonic()
                made, fill_rps = self.fill(d, "bench", "s-", point - have, start=have, budget=max(1, left))
                have += made
                if have < point:
                    self.fig["fill_stopped"] = {"target": p["store_points"][-1], "reached": have,
                                                "budget_s": p["fill_budget"], "last_rps": fill_rps}
                    log(f"  fill budget spent: {have} of {point} jobs, creates at {fill_rps:.0f}/s at the end")
                    point = have
                busy_s = self.settle(d)
                rss = d.rss_kb()
                g, _ = self.wrk(d.url + f"{API}/namespaces/bench/pytorchjobs/s-0", 50, max(1, p["probe_s"] * 2),
                                [d.pid], d.token)
                c, _ = self.tjload("post", d.url, [d.pid], path=f"{API}/namespaces/probe/pytorchjobs",
                                   body=BENCH / "job.json", conns=16, duration=p["probe_s"],
                                   prefix=f"probe{probe_i}-", token=d.token)
                probe_i += 1
                probes += c["ok"]
                self.settle(d)
                t0 = time.perf_counter()
                for _ in range(5):
                    d.req("GET", f"{API}/namespaces/bench/pytorchjobs?limit={p['page']}")
                page_ms = (time.perf_counter() - t0) / 5 * 1000
                self.growth["stored"].append({"jobs": point, "probe_jobs": probes - c["ok"],
                                              "fill_rps": fill_rps, "busy_after_s": busy_s,
                                              "rss_mb": rss / 1024, "get_rps": g["rps"],
                                              "get_p99": g["p99_ms"], "create16_rps": c["rps"],
                                              "create16_p99": c["p99_ms"], "page_ms": page_ms})
                log(f"  stored {point}: rss {rss / 1024:.1f} MB, GET {g['rps']:.0f}/s, "
                    f"create c=16 {c['rps']:.0f}/s, page {page_ms:.2f} ms")
                if have < p["store_points"][-1] and "fill_stopped" in self.fig:
                    break
            self.settle(d)
            runs = []
            os.sync()  # the fill's writes go to the disk before the walks, not during them
            for r in range(1, p["page_passes"] + 1):
                j0 = cpu_jiffies([d.pid])
                res, noise = self.tjload("pages", d.url, [d.pid], "LIST in pages",
                                         path=f"{API}/namespaces/bench/pytorchjobs", limit=p["page"],
                                         duration=600, timeout=700, token=d.token)
                res["server_cpu_s"] = (cpu_jiffies([d.pid]) - j0) / os.sysconf("SC_CLK_TCK")
                self.row(f"LIST {have} in pages of {p['page']}", "ours", r,
                         {"rps": res["obj_per_s"], "objects": res["objects"], "secs": res["secs"],
                          "worst_page_ms": res["worst_page_ms"], "server_cpu_s": res["server_cpu_s"],
                          "errors": res["errors"]}, noise)
                runs.append(res)
                if res["objects"] != have or not res["complete"]:
                    self.problems.append(f"paged LIST saw {res['objects']} of {have} jobs")
            self.fig["pages"] = {"jobs": have, "obj_per_s": median([x["obj_per_s"] for x in runs]),
                                 "bytes": runs[0]["bytes"], "pages": runs[0]["pages"],
                                 "worst_page_ms": max(x["worst_page_ms"] for x in runs),
                                 "server_cpu_s": median([x["server_cpu_s"] for x in runs])}
            # A restart over the same data: ready (/readyz) once every job is loaded and the
            # controllers have taken them back, then the first full LIST.
            d.stop()
            t0 = time.monotonic()
            d.start()
            ready_s = time.monotonic() - t0
            t0 = time.monotonic()
            st, body = d.req("GET", f"{API}/namespaces/bench/pytorchjobs", timeout=300)
            list_s = time.monotonic() - t0
            seen = len(json.loads(body).get("items", [])) if st == 200 else -1
            if seen != have:
                self.problems.append(f"after a restart a LIST saw {seen} of {have} jobs")
            self.fig["restart"] = {"jobs": have, "probe_jobs": probes, "ready_s": ready_s, "list_s": list_s, "rss_kb": d.rss_kb()}
            log(f"  restart with {have} jobs: ready in {ready_s:.2f} s, first LIST {list_s:.2f} s")
            # then one DELETE of the whole collection (its answer lists every job)
            t0 = time.monotonic()
            st, body = d.req("DELETE", f"{API}/namespaces/bench/pytorchjobs", timeout=600)
            dc_s = time.monotonic() - t0
            gone = len(json.loads(body).get("items", [])) if st == 200 else -1
            if gone != have:
                self.problems.append(f"deletecollection answered {st} with {gone} of {have} jobs")
            self.fig["restart"].update(dc_s=dc_s, dc_bytes=len(body), dc_rss_kb=d.rss_kb(),
                                       hwm_kb=d.hwm_kb())
            log(f"  deletecollection of {have} jobs: {dc_s:.2f} s, RSS after {d.rss_kb() / 1024:.0f} MB")
        finally:
            d.stop()
        self.exact_rss(have)

    def exact_rss(self, jobs):
        """The memory figure: a fresh daemon holding exactly `jobs` jobs and nothing else (the
        growth daemon above also holds its create probes' jobs), filled by durable creates at 64
        connections and settled; its RSS against the JSON bytes of those jobs (a paged LIST walk)."""
        p = self.p
        self.warm_memory("memory figure")
        d = Daemon(self.work, "d-rss", self.a.binary).start()
        try:
            d.namespace("bench")
            base_rss = d.rss_kb()
            made, _ = self.fill(d, "bench", "s-", jobs, budget=p["fill_budget"])
            self.settle(d)
            rss = d.rss_kb()
            res, _ = self.tjload("pages", d.url, [d.pid], path=f"{API}/namespaces/bench/pytorchjobs",
                                 limit=p["page"], duration=600, timeout=700, token=d.token)
            if res["objects"] != made or not res["complete"]:
                self.problems.append(f"memory figure: the paged LIST saw {res['objects']} of {made} jobs")
            self.fig["rss"] = {"jobs": made, "rss_kb": rss, "base_rss_kb": base_rss, "json_bytes": res["bytes"]}
            log(f"  memory: {made} jobs alone, rss {rss / 1024:.1f} MB, their JSON {res['bytes'] / 2**20:.1f} MB")
        finally:
            d.stop()

    # ---- phase jobs: start latency, foreground delete, watch fan-out ---------------------
    def phase_jobs(self):
        p = self.p
        d = Daemon(self.work, "d-jobs", self.a.binary).start()
        try:
            for ns in ["start", "fg"] + [f"fan{w}" for w in p["watchers"]]:
                d.namespace(ns)
            self.fig["start"] = self.job_start(d, "start", p["start_jobs"])
            self.fig["foreground"] = self.foreground(d, "fg", p["fg_jobs"])
            base = d.rss_kb()
            for i, w in enumerate(p["watchers"]):
                lim = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
                if w + 200 > lim:
                    self.problems.append(f"{w} watchers need more than the open-file limit {lim}")
                    continue
                res, noise = self.tjload("watch", d.url, [d.pid], "watch fan-out",
                                         path=f"{API}/namespaces/fan{w}/pytorchjobs?watch=1",
                                         trigger_path=f"{API}/namespaces/fan{w}/pytorchjobs",
                                         body=BENCH / "job.json", prefix=f"fan{i}-", conns=w,
                                         events=p["watch_events"], rss_pid=d.pid, timeout=300,
                                         token=d.token)
                self.row(f"watch fan-out {w}", "ours", 1,
                         {"p50_ms": res["p50_ms"], "p99_ms": res["p99_ms"], "max_ms": res["max_ms"],
                          "delivered": res["delivered"], "expected": res["expected"],
                          "established": res["established"], "connect_s": res["connect_s"],
                          "rss_kb_peak": res["rss_kb_peak"]}, noise)
                self.growth["watchers"].append({"watchers": w, **res, "rss_before_kb": base})
                if res["established"] != w or res["delivered"] != res["expected"] or res["early_events"]:
                    self.problems.append(f"watch fan-out {w}: {res['established']} established, "
                                         f"{res['delivered']}/{res['expected']} events")
        finally:
            d.stop()

    def start_job(self, name, cmd):
        c = {"name": "pytorch", "image": "busybox", "command": cmd}
        rs = lambda n: {"replicas": n, "restartPolicy": "Never", "template": {"spec": {"containers": [c]}}}
        return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": name},
                "spec": {"pytorchReplicaSpecs": {"Master": rs(1), "Worker": rs(3)}}}

    def job_start(self, d, ns, n):
        """create → all 4 pods Running (seen on a pods watch), one job at a time; each job is
        deleted (and waited for) before the next."""
        ev = Events(d, f"/api/v1/namespaces/{ns}/pods?watch=1")
        lat, acks, parts = [], [], []
        c = d.conn()
        try:
            for i in range(n):
                name = f"st-{i}"
                t0 = time.time()
                d.ok("POST", f"{API}/namespaces/{ns}/pytorchjobs", self.start_job(name, ["sleep", "30"]), conn=c)
                acks.append((time.time() - t0) * 1000)
                t = ev.wait(lambda: ev.all_running(name, 4), 30)
                if t is None:
                    self.problems.append(f"job {name}: not all 4 pods Running within 30 s")
                    continue
                lat.append((t - t0) * 1000)
                with ev.cv:
                    run = ev.running[name]
                    added = ev.added.get(name, {})
                    master = [v for k, v in run.items() if "-master-" in k]
                    parts.append({"ack": acks[-1], "pods_added": (max(added.values()) - t0) * 1000 if added else None,
                                  "master_running": (master[0] - t0) * 1000 if master else None,
                                  "all_running": (t - t0) * 1000})
                d.ok("DELETE", f"{API}/namespaces/{ns}/pytorchjobs/{name}", conn=c)
                if ev.wait(lambda: ev.all_deleted(name, 4), 30) is None:
                    self.problems.append(f"job {name}: pods not deleted within 30 s")
        finally:
            c.close()
            ev.close()
        self.cmd("job start", ["(python) POST 1 Master + 3 Workers `sleep 30`, watch pods until all 4 "
                               "are Running; DELETE; wait for the pods to go; x", str(n)])
        steps = {k: pctl([x[k] for x in parts if x[k] is not None], .5) for k in
                 ("ack", "pods_added", "master_running", "all_running")}
        return {"n": len(lat), "p50_ms": pctl(lat, .5), "p99_ms": pctl(lat, .99), "max_ms": max(lat or [0]),
                "ack_p50_ms": pctl(acks, .5), "steps_p50_ms": steps}

    def foreground(self, d, ns, n):
        """Running 1M+3W job, DELETE propagationPolicy=Foreground: time from the last pod's
        DELETED event (its process exited on SIGTERM) to the job's DELETED event."""
        pods = Events(d, f"/api/v1/namespaces/{ns}/pods?watch=1")
        jobs = Events(d, f"{API}/namespaces/{ns}/pytorchjobs?watch=1")
        gone, total = [], []
        c = d.conn()
        try:
            for i in range(n):
                name = f"fg-{i}"
                d.ok("POST", f"{API}/namespaces/{ns}/pytorchjobs", self.start_job(name, ["sleep", "30"]), conn=c)
                if pods.wait(lambda: pods.all_running(name, 4), 30) is None:
                    self.problems.append(f"foreground {name}: pods not Running")
                    continue
                t0 = time.time()
                d.ok("DELETE", f"{API}/namespaces/{ns}/pytorchjobs/{name}",
                     {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"}, conn=c)
                tj = jobs.wait(lambda: jobs.deleted_at(name), 30)
                tp = pods.wait(lambda: pods.all_deleted(name, 4), 5)
                if tj is None or tp is None:
                    self.problems.append(f"foreground {name}: job gone {tj}, pods gone {tp}")
                    continue
                gone.append((tj - tp) * 1000)
                total.append((tj - t0) * 1000)
        finally:
            c.close()
            pods.close()
            jobs.close()
        self.cmd("foreground delete", ["(python) per job: POST 1M+3W `sleep 30`, wait Running, DELETE "
                                       "propagationPolicy=Foreground; job DELETED − last pod DELETED; x", str(n)])
        return {"n": len(gone), "p50_ms": pctl(gone, .5), "p99_ms": pctl(gone, .99), "max_ms": max(gone or [0]),
                "min_ms": min(gone or [0]), "total_p50_ms": pctl(total, .5), "total_p99_ms": pctl(total, .99)}

    # ---- run + report --------------------------------------------------------------------
    def run(self):
        phases = self.a.phases.split(",")
        t0 = time.time()
        for ph in ("get", "write", "store", "jobs"):
            if ph in phases:
                # the last phase's writes (the store fill is ~400 MB) reach the disk now, not
                # during this phase's syncs: each phase measures its own daemon, not writeback
                t_sync = time.time()
                os.sync()
                log(f"== phase {ph} (sync of earlier writes took {time.time() - t_sync:.1f} s)")
                getattr(self, "phase_" + ph)()
        self.secs = time.time() - t0
        self.check()
        md = self.report()
        (self.work / "summary.md").write_text(md)
        json.dump({"rows": self.rows, "figures": self.fig, "growth": self.growth, "profiles": self.profiles,
                   "problems": self.problems, "sizes": getattr(self, "sizes", None), "secs": self.secs,
                   "etcd_version": getattr(self, "etcd_version", "?"), "commands": self.commands, "params": self.p},
                  open(self.work / "results.json", "w"), indent=1, default=str)
        return self.publish(md)

    def render(self, path):
        """Rebuild the report from a results.json of an earlier run (no measuring)."""
        r = json.load(open(path))
        self.rows, self.fig, self.growth, self.profiles = r["rows"], r["figures"], r["growth"], r["profiles"]
        self.problems, self.secs, self.etcd_version = r["problems"], r["secs"], r["etcd_version"]
        self.commands = [tuple(c) for c in r["commands"]]
        self.p = r.get("params", self.p)
        if r.get("sizes"):
            self.sizes = r["sizes"]
        return self.publish(self.report())

    def publish(self, md):
        print(md)
        if self.a.doc:
            doc = Path(self.a.doc)
            text = doc.read_text() if doc.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
            if BEGIN not in text:
                text += f"\n{BEGIN}\n{END}\n"
            pre, rest = text.split(BEGIN, 1)
            post = rest.split(END, 1)[1] if END in rest else ""
            doc.write_text(pre + BEGIN + "\n" + md + "\n" + END + post)
            log(f"wrote {doc}")
        if self.problems:
            log("PROBLEMS:\n  " + "\n  ".join(self.problems))
        return 1 if self.problems else 0

    def check(self):
        """Sanity of the measurements themselves (not of the targets)."""
        for r in self.rows:
            if r.get("errors"):
                self.problems.append(f"{r['figure']} {r['side']} try{r['try']}: {r['errors']} errors")
            if "rps" in r and not r["rps"]:
                self.problems.append(f"{r['figure']} {r['side']} try{r['try']}: zero throughput")
        for key in ("start", "foreground"):
            f = self.fig.get(key)
            if f is not None and not f["n"]:
                self.problems.append(f"{key}: no sample")

    def table_rows(self):
        """(figure, ours, anchor, ratio, target, met) for the issue's table."""
        out = []

        def fmt(v, unit=""):
            if v is None:
                return "–"
            if abs(v) >= 1000:
                return f"{v:,.0f}{unit}"
            return f"{v:.3g}{unit}" if abs(v) < 100 else f"{v:.0f}{unit}"

        def ratio_row(fig, label, target, unit="/s"):
            s = self.summarize(fig)
            if s["ours"] is None:
                return
            r = s["ours"] / s["anchor"] if s["anchor"] else None
            out.append((label, fmt(s["ours"], unit), fmt(s["anchor"], unit),
                        f"{r:.2f}×" if r is not None else "–", f"≥ {target}×",
                        "yes" if r is not None and r >= target else "no"))
            return s

        s = ratio_row("GET one job c=50", f"GET one job ({self.fig.get('get_bytes', 0):,} B), keep-alive, "
                      "`wrk -t1 -c50` vs nginx (TLS)", 0.7)
        if s:
            r = s["ours_p99"] / s["anchor_p99"] if s["anchor_p99"] else None
            out.append(("GET one job: p99 latency", fmt(s["ours_p99"], " ms"), fmt(s["anchor_p99"], " ms"),
                        f"{r:.2f}×" if r else "–", "≤ 2×", "yes" if r is not None and r <= 2 else "no"))
        for c in (1, 16, 64):
            ratio_row(f"durable create c={c}", f"durable create, {c} conn vs etcd durable put", 3)
        ratio_row("durable delete c=16", "durable delete, 16 conn vs etcd durable put", 3)
        n = self.p["list_jobs"]
        ratio_row(f"LIST {n} jobs c=1", f"LIST {n} jobs ({self.sizes['list'] / 1e6:.2f} MB) vs nginx, same bytes"
                  if hasattr(self, "sizes") else "LIST", 0.5, " lists/s")
        pg = self.fig.get("pages")
        if pg:
            out.append((f"LIST {pg['jobs']:,} jobs in pages of {self.p['page']}", fmt(pg["obj_per_s"], " obj/s"),
                        "–", "–", "≥ 200,000 obj/s", "yes" if pg["obj_per_s"] >= 200000 else "no"))
        rs = self.fig.get("rss")
        if rs and "json_bytes" in rs:
            lim = 2 * rs["json_bytes"] + (64 << 20)
            out.append((f"RSS with {rs['jobs']:,} stored jobs", f"{rs['rss_kb'] / 1024:.0f} MB",
                        f"JSON {rs['json_bytes'] / 2**20:.0f} MB", f"{rs['rss_kb'] * 1024 / rs['json_bytes']:.2f}× JSON",
                        f"≤ 2× JSON + 64 MB = {lim / 2**20:.0f} MB", "yes" if rs["rss_kb"] * 1024 <= lim else "no"))
        st = self.fig.get("start")
        if st and st["n"]:
            out.append((f"job start, 1M+3W, create → all Running ({st['n']} jobs): p50", fmt(st["p50_ms"], " ms"),
                        "–", "–", "≤ 20 ms", "yes" if st["p50_ms"] <= 20 else "no"))
            out.append(("job start: p99", fmt(st["p99_ms"], " ms"), "–", "–", "≤ 100 ms",
                        "yes" if st["p99_ms"] <= 100 else "no"))
        for g in self.growth["watchers"]:
            if g["watchers"] == max(x["watchers"] for x in self.growth["watchers"]):
                out.append((f"watch fan-out, {g['watchers']:,} watchers: p99 after the write's ack",
                            fmt(g["p99_ms"], " ms"), "–", "–", "≤ 200 ms",
                            "yes" if g["p99_ms"] is not None and g["p99_ms"] <= 200 and
                            g["delivered"] == g["expected"] else "no"))
                out.append((f"watch fan-out, {g['watchers']:,} watchers: daemon RSS (peak)",
                            f"{g['rss_kb_peak'] / 1024:.0f} MB", "–", "–", "≤ 300 MB",
                            "yes" if g["rss_kb_peak"] <= 300 * 1024 else "no"))
        fg = self.fig.get("foreground")
        if fg and fg["n"]:
            out.append((f"foreground delete ({fg['n']} jobs): job gone after last pod gone, p99",
                        fmt(fg["p99_ms"], " ms"), "–", "–", "≤ 50 ms", "yes" if fg["p99_ms"] <= 50 else "no"))
        return out

    def report(self):
        now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        src = subprocess.run(["df", "--output=source,fstype", str(self.work)], capture_output=True,
                             text=True).stdout.splitlines()[-1]
        disk = " ".join(src.split())
        dev = src.split()[0].rsplit("/", 1)[-1]
        for f in (f"/sys/block/{dev}/queue/write_cache", f"/sys/block/{dev}/queue/rotational"):
            try:
                disk += f", {f.rsplit('/', 1)[1]}={open(f).read().strip()}"
            except OSError:
                pass
        ver = lambda argv: (subprocess.run(argv, capture_output=True, text=True).stdout +
                            subprocess.run(argv, capture_output=True, text=True).stderr).strip().split("\n")[0]
        fr = [r["foreign"] for r in self.rows]
        L = []
        L.append(f"Generated by `bench/bench.py{' --smoke' if self.a.smoke else ''}` on {now} "
                 f"in {self.secs / 60:.1f} min.\n")
        L.append("| | |\n|---|---|")
        L.append(f"| date | {now} |")
        L.append(f"| `uname -a` | `{platform.uname().system} {' '.join(os.uname()[1:])}` |")
        L.append(f"| `nproc` | {os.cpu_count()} |")
        L.append(f"| CPU | {cpu} |")
        L.append(f"| disk (data dirs) | {disk} |")
        L.append(f"| tools | {ver(['nginx', '-v'])}; wrk {ver(['dpkg-query', '-W', '-f=${Version}', 'wrk'])}; "
                 f"etcd {getattr(self, 'etcd_version', '?')}; torchjobd {ver(['git', '-C', str(ROOT), 'describe', '--always', '--dirty'])} |")
        L.append(f"| tries | {self.p['runs']} clean daemon tries per anchored figure (at most {self.a.extra_tries} "
                 f"retries of noisy ones), each between two anchor tries; medians of the clean tries |")
        L.append(f"| noise | CPU used by other processes during a try (\"foreign\", % of the machine): median "
                 f"{median(fr) or 0:.0f}%, max {max(fr or [0])}%; a try over {self.a.foreign_max}% is noisy |")
        wm = self.fig.get("warm")
        if wm:
            L.append(f"| memory warm-up | {self.p['warm_gb']} GB touched and freed before each write and store figure: "
                     f"first {wm[0]:.2f} s/GB, then median {median(wm[1:] or wm):.2f} s/GB (cold guest pages cost a host fault) |")
        L.append("")
        L.append("### The issue's figures\n")
        L.append("| figure | ours | anchor | ratio | target | met? |\n|---|---|---|---|---|---|")
        for r in self.table_rows():
            L.append("| " + " | ".join(r) + " |")
        L.append("")
        L.append("### Every figure (medians of clean tries; per try in order, * = noisy)\n")
        L.append("| figure | ours /s | p50 ms | p99 ms | anchor /s | p50 ms | p99 ms | ours /s per try | anchor /s per try | foreign % per try |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        tries = lambda fig, side: ", ".join(f"{r['rps']:,.0f}" + ("*" if r["noisy"] else "") for r in self.rows
                                            if r["figure"] == fig and r["side"] == side and r.get("rps") is not None) or "–"
        for fig in dict.fromkeys(r["figure"] for r in self.rows):
            s = self.summarize(fig)
            f2 = lambda v: "–" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.3g}")
            L.append(f"| {fig} | {f2(s['ours'])} | {f2(s['ours_p50'])} | {f2(s['ours_p99'])} | {f2(s['anchor'])} "
                     f"| {f2(s['anchor_p50'])} | {f2(s['anchor_p99'])} | {tries(fig, 'ours')} | {tries(fig, 'anchor')} "
                     f"| {','.join(map(str, s['foreign']))} |")
        pg = self.fig.get("pages")
        if pg and pg.get("server_cpu_s"):
            L.append(f"\nPaged LIST: {pg['pages']} pages, {pg['bytes'] / 2**20:.0f} MB per walk, slowest page "
                     f"{pg['worst_page_ms']:.1f} ms; the daemon spent {pg['server_cpu_s']:.2f} CPU-s per walk "
                     f"({pg['jobs'] / pg['server_cpu_s']:,.0f} objects per daemon CPU-second).")
        st, fg = self.fig.get("start"), self.fig.get("foreground")
        if st:
            L.append(f"\nJob start ({st['n']} jobs): p50 {st['p50_ms']:.1f} ms, p99 {st['p99_ms']:.1f} ms, "
                     f"max {st['max_ms']:.1f} ms. Steps (p50 from the create's send): " +
                     ", ".join(f"{k.replace('_', ' ')} {v:.1f} ms" for k, v in st["steps_p50_ms"].items() if v is not None)
                     + ".")
        if fg:
            L.append(f"Foreground delete ({fg['n']} jobs): job DELETED − last pod DELETED p50 {fg['p50_ms']:.1f} ms, "
                     f"p99 {fg['p99_ms']:.1f} ms (min {fg['min_ms']:.1f}, max {fg['max_ms']:.1f}); DELETE sent → job "
                     f"DELETED p50 {fg['total_p50_ms']:.1f} ms, p99 {fg['total_p99_ms']:.1f} ms.")
        L.append("\n### How cost grows\n")
        if self.growth["stored"]:
            L.append("Stored jobs (one daemon filled by durable creates at 64 connections; "
                     f"GET = `wrk -t1 -c50` {max(1, self.p['probe_s'] * 2)}s, create = 16 connections {self.p['probe_s']}s "
                     f"into another namespace, page = LIST limit={self.p['page']}, mean of 5):\n")
            L.append("The store also holds the jobs of the earlier points' create probes (their own column); "
                     "the RSS figure of the issue's table is from a fresh daemon holding the stated jobs alone.\n")
            L.append("| stored jobs | + probe jobs | fill creates /s (c=64) | daemon busy after the fill s | RSS MB | GET /s | GET p99 ms | create c=16 /s | create p99 ms | one page ms |")
            L.append("|---|---|---|---|---|---|---|---|---|---|")
            for g in self.growth["stored"]:
                L.append(f"| {g['jobs']:,} | {g.get('probe_jobs', 0):,} | {g['fill_rps'] or 0:,.0f} | {g.get('busy_after_s', 0):.1f} | {g['rss_mb']:.0f} | {g['get_rps']:,.0f} | {g['get_p99']:.2f} | "
                         f"{g['create16_rps']:,.0f} | {g['create16_p99']:.1f} | {g['page_ms']:.1f} |")
        rs = self.fig.get("restart")
        if rs:
            L.append(f"\nRestart over the same data dir with {rs['jobs'] + rs.get('probe_jobs', 0):,} stored jobs (SIGTERM, start, "
                     f"`/readyz`): ready in {rs['ready_s']:.2f} s; then the first LIST of the {rs['jobs']:,} in one namespace "
                     f"{rs['list_s']:.2f} s; RSS after {rs['rss_kb'] / 1024:.0f} MB.")
            if "dc_s" in rs:
                L.append(f"Then one DELETE of the collection: {rs['dc_s']:.2f} s, answer "
                         f"{rs['dc_bytes'] / 1e6:.0f} MB; RSS after {rs['dc_rss_kb'] / 1024:.0f} MB, "
                         f"peak since the restart {rs['hwm_kb'] / 1024:.0f} MB.")
        fs = self.fig.get("fill_stopped")
        if fs:
            L.append(f"\n**The fill stopped at {fs['reached']:,} of {fs['target']:,} jobs**: its {fs['budget_s']} s "
                     f"budget ran out with creates down to {fs['last_rps'] or 0:,.0f}/s, so the figures above "
                     f"for {fs['target']:,} jobs are measured at {fs['reached']:,}.")
        if self.growth["watchers"]:
            L.append("\nWatchers (one namespace; each of the "
                     f"{self.p['watch_events']} creates is delivered to every watcher; latency from the "
                     "create's acknowledgement):\n")
            L.append("| watchers | connect s | p50 ms | p99 ms | max ms | from send p99 ms | delivered | RSS MB before → peak |")
            L.append("|---|---|---|---|---|---|---|---|")
            for g in self.growth["watchers"]:
                L.append(f"| {g['watchers']:,} | {g['connect_s']:.1f} | {g['p50_ms']:.1f} | {g['p99_ms']:.1f} | "
                         f"{g['max_ms']:.1f} | {g['from_send_p99_ms']:.1f} | {g['delivered']}/{g['expected']} | "
                         f"{g['rss_before_kb'] / 1024:.0f} → {g['rss_kb_peak'] / 1024:.0f} |")
        if self.growth["connections"]:
            L.append(f"\nConnections (GET one job, `wrk -t1 -cN -d{self.p['conn_s']}s`, one try each):\n")
            L.append("| connections | ours /s | ours p99 ms | nginx /s | nginx p99 ms | ratio |")
            L.append("|---|---|---|---|---|---|")
            for g in self.growth["connections"]:
                L.append(f"| {g['conns']} | {g['ours_rps']:,.0f} | {g['ours_p99']:.2f} | {g['nginx_rps']:,.0f} | "
                         f"{g['nginx_p99']:.2f} | {g['ours_rps'] / g['nginx_rps']:.2f} |")
            cr = [(c, self.summarize(f"durable create c={c}")) for c in (1, 16, 64)]
            if all(s["ours"] for _, s in cr):
                L.append("\nDurable create by connections: " + ", ".join(
                    f"c={c}: {s['ours']:,.0f}/s (p99 {s['ours_p99']:.1f} ms) vs etcd {s['anchor']:,.0f}/s" for c, s in cr) + ".")
        if self.profiles:
            L.append("\n### Profile (perf record -e cpu-clock -g -p PID, self time, top symbols)\n")
            for name, rep in self.profiles.items():
                L.append(f"- **{name}**, by library: " + ", ".join(f"{d} {pc:.1f}%" for pc, d in rep.get("dso", [])))
                L.append("  top symbols: " + "; ".join(f"`{s}` ({dso}) {pc:.1f}%" for pc, dso, s in rep.get("self", [])[:15]))
        L.append("\n### Commands\n")
        L.append("```")
        for label, s in self.commands:
            L.append(f"# {label}\n{s}")
        L.append("```")
        if self.problems:
            L.append("\nProblems seen: " + "; ".join(self.problems))
        return "\n".join(L)


class Events(threading.Thread):
    """A watch stream read on a thread; keeps (arrival time, type, object) of every event."""

    def __init__(self, d, path):
        super().__init__(daemon=True)
        self.c = d.conn(timeout=None)
        self.c.request("GET", path, headers={"Authorization": "Bearer " + d.token})
        self.r = self.c.getresponse()
        if self.r.status != 200:
            raise SystemExit(f"watch {path} → {self.r.status}")
        self.cv = threading.Condition()
        self.added = {}          # job name → {pod: time ADDED}
        self.running = {}        # job name → {pod: time Running first seen}
        self.deleted = {}        # job name (or the object's own name) → {name: time}
        self.closed = False
        self.start()

    def run(self):
        try:
            while True:
                line = self.r.readline()
                if not line:
                    break
                t = time.time()
                e = json.loads(line)
                o = e.get("object", {})
                meta = o.get("metadata", {})
                name = meta.get("name")
                job = (meta.get("labels") or {}).get("training.kubeflow.org/job-name", name)
                with self.cv:
                    if e["type"] == "ADDED":
                        self.added.setdefault(job, {}).setdefault(name, t)
                    if e["type"] in ("ADDED", "MODIFIED") and (o.get("status") or {}).get("phase") == "Running":
                        self.running.setdefault(job, {}).setdefault(name, t)
                    elif e["type"] == "DELETED":
                        self.deleted.setdefault(job, {})[name] = t
                    self.cv.notify_all()
        except Exception:
            if not self.closed:
                raise

    def wait(self, pred, timeout):
        """Block until pred() returns a time (not None); None after timeout."""
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                v = pred()
                if v is not None:
                    return v
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def all_running(self, job, n):
        r = self.running.get(job, {})
        return max(r.values()) if len(r) >= n else None

    def all_deleted(self, job, n):
        r = self.deleted.get(job, {})
        return max(r.values()) if len(r) >= n else None

    def deleted_at(self, name):
        return self.deleted.get(name, {}).get(name)

    def close(self):
        self.closed = True
        try:
            self.c.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny counts and durations")
    ap.add_argument("--phases", default="get,write,store,jobs")
    ap.add_argument("--binary", default=str(ROOT / "build/torchjobd"))
    ap.add_argument("--tjload", default=str(ROOT / "build/bench/tjload"))
    ap.add_argument("--work", default=None, help="work dir (default: a new /tmp/tjbench.*); kept")
    ap.add_argument("--doc", default=None, help="replace the generated part of this markdown file")
    ap.add_argument("--profile", action="store_true", help="perf record the daemon during extra GET and create runs")
    ap.add_argument("--render", default=None, help="only rebuild the report from this results.json")
    ap.add_argument("--runs", type=int, default=None, help="daemon tries per anchored figure")
    ap.add_argument("--quiet-max", type=float, default=None, help="longest wait for an idle machine before a try (s)")
    ap.add_argument("--foreign-max", type=int, default=20, help="a try with more foreign CPU %% is noisy")
    ap.add_argument("--extra-tries", type=int, default=3, help="retries of noisy tries per figure")
    a = ap.parse_args()
    if a.render:
        a.work = a.work or str(Path(a.render).parent)
    a.work = a.work or tempfile.mkdtemp(prefix="tjbench.")
    if a.quiet_max is None:
        a.quiet_max = 0 if a.smoke else 30
    if a.smoke:
        a.extra_tries = 0
    Path(a.work).mkdir(parents=True, exist_ok=True)
    os.chmod(a.work, 0o755)   # nginx's worker (user nobody) reads www/ below it
    log(f"work dir {a.work}")
    if not a.render:
        # every phase runs the same binary, even if the tree is rebuilt meanwhile (and perf can
        # still read its symbols)
        snap = Path(a.work) / "torchjobd"
        shutil.copy2(a.binary, snap)
        a.binary = snap
    s = Suite(a)
    if a.runs:
        s.p = dict(s.p, runs=a.runs)

    def on_signal(sig, frame):
        raise SystemExit(f"signal {sig}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        rc = s.render(a.render) if a.render else s.run()
    finally:
        Procs.stop_all()
    if a.smoke and rc == 0:
        shutil.rmtree(a.work, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
