"""Helpers for the end-to-end suite: start/stop torchjobd, raw HTTPS requests, kubectl, the
official Python client, and assertions on kube-apiserver Status bodies.

Everything talks to 127.0.0.1 only. Nothing here sleeps to wait for a state: `poll()` retries a
check until a deadline and reports the last value it saw.

Jobs made by `job()` carry `spec.runPolicy.managedBy: kueue.x-k8s.io/multikueue` (and
`suspend: true`): the training-operator semantics say such a job is never touched by the
controller (pytorchjob-semantics.md §6.9), so no status write races the API assertions on
resourceVersion, and no training process is started.
"""
import base64
import http.client
import io
import weakref
import json
import os
import re
import secrets
import select
import signal
import socket
import ssl
import string
import subprocess
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GROUP, VERSION, PLURAL, KIND = "kubeflow.org", "v1", "pytorchjobs", "PyTorchJob"
API = "/apis/kubeflow.org/v1"
GR = "pytorchjobs.kubeflow.org"
GK = "PyTorchJob.kubeflow.org"
QUIET_MANAGER = "kueue.x-k8s.io/multikueue"
WEBHOOK_PREFIX = ('admission webhook "validator.pytorchjob.training-operator.kubeflow.org" '
                  'denied the request: ')
UNSUPPORTED_PATCH_MSG = ("the body of the request was in an unknown format - accepted media types "
                         "include: application/json-patch+json, application/merge-patch+json, "
                         "application/apply-patch+yaml")
START_TIMEOUT = float(os.environ.get("TORCHJOBD_START_TIMEOUT", "60"))
MERGE = "application/merge-patch+json"
JSONPATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
STRATEGIC = "application/strategic-merge-patch+json"

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
RV_RE = re.compile(r"^[1-9][0-9]*$")

# meta/v1 Status is a typed struct: fixed key order (k8s-api-semantics.md §2).
STATUS_KEYS = ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]
DETAILS_KEYS = ["name", "group", "kind", "uid", "causes", "retryAfterSeconds"]
CAUSE_KEYS = ["reason", "message", "field"]

ADMIN = object()  # token= sentinel: the admin token from the kubeconfig


def binary_path():
    b = os.environ.get("TORCHJOBD") or "build/torchjobd"
    p = Path(b)
    if not p.is_absolute():
        p = ROOT / p
    return p


def tokens_setup(*users):
    """A make_daemon setup that writes tokens.csv: a fresh admin (system:masters) and the given
    users, each (name, uid, groups or None). Returns (setup, admin token, [user tokens])."""
    import secrets
    admin = secrets.token_hex(16)
    toks = [secrets.token_hex(16) for _ in users]

    def setup(d):
        lines = [f'{admin},admin,admin,"system:masters"']
        for (name, uid, groups), tok in zip(users, toks):
            lines.append(f'{tok},{name},{uid}' + (f',"{groups}"' if groups else ""))
        d.tokens_path.write_text("\n".join(lines) + "\n")
        d.tokens_path.chmod(0o600)
    return setup, admin, toks


_SANITIZED = None


def sanitized():
    """Is the daemon under test an ASan build? (Its freed memory sits in quarantine: memory
    peaks mean nothing there.)"""
    global _SANITIZED
    if _SANITIZED is None:
        _SANITIZED = b"__asan_init" in binary_path().read_bytes()
    return _SANITIZED


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uniq(prefix="j"):
    alphabet = string.ascii_lowercase + string.digits
    return prefix + "-" + "".join(secrets.choice(alphabet) for _ in range(6))


def poll(fn, timeout=10.0, interval=0.05, desc="condition"):
    """Call fn() until it returns a truthy value or the deadline passes. fn may return a
    (ok, value) tuple to report the last value seen on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        v = fn()
        if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], bool):
            ok, last = v
        else:
            ok, last = bool(v), v
        if ok:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {desc}; last: {last!r}")
        time.sleep(interval)


def pj(ns, name=None, sub=None, query=None):
    p = f"{API}/namespaces/{ns}/pytorchjobs"
    if name is not None:
        p += "/" + name
    if sub:
        p += "/" + sub
    return with_query(p, query)


def with_query(path, query):
    if not query:
        return path
    if isinstance(query, str):
        return path + "?" + query
    return path + "?" + urllib.parse.urlencode(query, doseq=True, quote_via=urllib.parse.quote)


def container(name="pytorch", image="python:3.11"):
    c = {"name": name, "command": ["python3", "-c", "print('hello')"]}
    if image is not None:
        c["image"] = image
    return c


def replica(replicas=1, containers=None):
    r = {"restartPolicy": "OnFailure",
         "template": {"spec": {"containers": containers if containers is not None else [container()]}}}
    if replicas is not None:
        r["replicas"] = replicas
    return r


def job(name=None, *, ns=None, labels=None, annotations=None, finalizers=None,
        generate_name=None, spec=None, worker=False, **meta_extra):
    """A minimal PyTorchJob that passes v1.9 validation and is left alone by the controller."""
    meta = {}
    if name is not None:
        meta["name"] = name
    if generate_name is not None:
        meta["generateName"] = generate_name
    if ns is not None:
        meta["namespace"] = ns
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    if finalizers is not None:
        meta["finalizers"] = list(finalizers)
    meta.update(meta_extra)
    if spec is None:
        spec = {"pytorchReplicaSpecs": {"Master": replica(1)},
                "runPolicy": {"managedBy": QUIET_MANAGER, "suspend": True}}
        if worker:
            spec["pytorchReplicaSpecs"]["Worker"] = replica(1)
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": meta, "spec": spec}


def namespace_obj(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


class Resp:
    """One HTTP answer. Iterates as (status, headers, body) where body is the decoded JSON
    when the answer is JSON, else the raw bytes."""

    def __init__(self, status, headers, raw, method="", path=""):
        self.status, self.headers, self.raw = status, headers, raw
        self.method, self.path = method, path
        self._json = None

    @property
    def ctype(self):
        return self.headers.get("Content-Type", "") if self.headers is not None else ""

    @property
    def is_json(self):
        return self.ctype.split(";")[0].strip() == "application/json"

    @property
    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.raw)
            except ValueError as e:
                raise AssertionError(f"{self}: body is not JSON: {e}") from None
        return self._json

    @property
    def text(self):
        return self.raw.decode("utf-8", "replace")

    @property
    def body(self):
        return self.json if self.is_json else self.raw

    def __iter__(self):
        return iter((self.status, self.headers, self.body))

    def __repr__(self):
        t = self.text
        if len(t) > 3000:
            t = t[:3000] + "…"
        return f"<{self.method} {self.path} → {self.status} {self.ctype!r} {t}>"

    __str__ = __repr__


class Daemon:
    """One torchjobd process on 127.0.0.1:<port> with its own data dir."""

    def __init__(self, data_dir, port=None, args=(), log_path=None, kubectl_cache=None, env=None):
        self.data_dir = Path(data_dir)
        self.env = dict(env or {})  # added to this process's environment for the daemon
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.args = list(args)
        self.log_path = Path(log_path) if log_path else self.data_dir.parent / (self.data_dir.name + ".log")
        self.kubectl_cache = Path(kubectl_cache) if kubectl_cache else self.data_dir.parent / (self.data_dir.name + "-kcache")
        self.kubectl_home = self.data_dir.parent / (self.data_dir.name + "-home")
        self.proc = None
        self._token = None
        self._api_client = None
        self._ctx = None

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def host(self):
        return "127.0.0.1"

    @property
    def base_url(self):
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_path(self):
        return self.data_dir / "ca.crt"

    @property
    def kubeconfig(self):
        return self.data_dir / "kubeconfig"

    @property
    def tokens_path(self):
        return self.data_dir / "tokens.csv"

    def command(self):
        return [str(binary_path()), "--data-dir", str(self.data_dir),
                "--listen", f"127.0.0.1:{self.port}", *self.args]

    def start(self, timeout=START_TIMEOUT):
        b = binary_path()
        if not b.exists():
            raise AssertionError(f"daemon binary {b} not found: run `make` first "
                                 "(or point TORCHJOBD at a built binary)")
        self._ctx = None
        self._token = None
        log = open(self.log_path, "ab")
        log.write(f"\n==== start {' '.join(self.command())}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, cwd=str(self.data_dir.parent),
                                     env=dict(os.environ, **self.env) if self.env else None)
        log.close()
        self.wait_ready(timeout)
        return self

    def log_tail(self, n=40):
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(f"torchjobd exited with {rc} before it was ready; log:\n"
                                     + self.log_tail())
            if self.ca_path.exists():
                try:
                    self._ctx = None
                    r = self.api("GET", "/readyz", token=None, timeout=5)
                    if r.status == 200 and r.raw.strip() == b"ok":
                        return
                    last = r
                except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                    last = e
            if time.monotonic() > deadline:
                raise AssertionError(f"torchjobd not ready after {timeout}s (last: {last!r}); log:\n"
                                     + self.log_tail())
            time.sleep(0.05)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        """SIGTERM, wait; returns the exit status (kills and raises if it does not stop)."""
        if self.proc is None:
            return None
        if self._api_client is not None:
            try:
                self._api_client.close()
            except Exception:
                pass
            self._api_client = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"torchjobd did not exit within {timeout}s of SIGTERM; log:\n"
                                     + self.log_tail())
        rc = self.proc.returncode
        return rc

    # -- credentials -------------------------------------------------------------------------
    @property
    def token(self):
        """The admin token (from the kubeconfig the daemon wrote)."""
        if self._token is None:
            import yaml
            kc = yaml.safe_load(self.kubeconfig.read_text())
            self._token = kc["users"][0]["user"]["token"]
        return self._token

    def ssl_context(self, alpn=None):
        if alpn is None and self._ctx is not None:
            return self._ctx
        ctx = ssl.create_default_context(cafile=str(self.ca_path))
        if alpn:
            ctx.set_alpn_protocols(alpn)
        if alpn is None:
            self._ctx = ctx
        return ctx

    # -- raw HTTPS -----------------------------------------------------------------------------
    def connect(self, timeout=30):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ssl_context(),
                                           timeout=timeout)

    def api(self, method, path, body=None, headers=None, token=ADMIN, query=None, ctype=None,
            timeout=30, conn=None):
        """One request. body: dict/list → JSON; str/bytes → sent as is. token: ADMIN (default),
        None (no Authorization header) or a string. Returns Resp."""
        path = with_query(path, query)
        hdrs = {"Accept": "application/json"}
        data = None
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            elif isinstance(body, str):
                data = body.encode()
                hdrs["Content-Type"] = "application/json"
            else:
                data = bytes(body)
                hdrs["Content-Type"] = "application/json"
        if ctype is not None:
            hdrs["Content-Type"] = ctype
        if token is ADMIN:
            token = self.token
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        if headers:
            for k, v in headers.items():
                for hk in list(hdrs):
                    if hk.lower() == k.lower():
                        del hdrs[hk]
                if v is not None:
                    hdrs[k] = v
        own = conn is None
        c = conn or self.connect(timeout)
        try:
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            raw = r.read()
            return Resp(r.status, r.headers, raw, method, path)
        finally:
            if own:
                c.close()

    def get(self, path, **kw):
        return self.api("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.api("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.api("PUT", path, body, **kw)

    def patch(self, path, body, ctype=MERGE, **kw):
        return self.api("PATCH", path, body, ctype=ctype, **kw)

    def delete(self, path, body=None, **kw):
        return self.api("DELETE", path, body, **kw)

    def tls_socket(self, alpn=None, timeout=10):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return self.ssl_context(alpn).wrap_socket(raw, server_hostname="127.0.0.1")

    # -- conveniences on objects -------------------------------------------------------------
    def create_ns(self, name=None):
        name = name or uniq("e2e")
        r = self.post("/api/v1/namespaces", namespace_obj(name))
        assert r.status == 201, r
        return name

    def create_job(self, ns, name=None, **kw):
        body = job(name or uniq("j"), **kw)
        r = self.post(pj(ns), body)
        assert r.status == 201, r
        return r.json

    def get_job(self, ns, name):
        return self.get(pj(ns, name))

    def wait_gone(self, ns, name, timeout=10.0):
        """Poll GET until 404 (e.g. while the GC removes a foregroundDeletion/orphan finalizer)."""
        def check():
            r = self.get(pj(ns, name))
            return r.status == 404, r
        return poll(check, timeout, desc=f"pytorchjob {ns}/{name} to disappear")

    def remove_finalizers(self, ns, name):
        r = self.patch(pj(ns, name), {"metadata": {"finalizers": None}})
        assert r.status in (200, 404), r
        return r

    # -- clients -------------------------------------------------------------------------------
    def kubectl(self, *args, input=None, timeout=60, check=False):
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        self.kubectl_home.mkdir(exist_ok=True)
        env["HOME"] = str(self.kubectl_home)
        env.pop("KUBECTL_EXTERNAL_DIFF", None)
        cmd = ["kubectl", "--cache-dir", str(self.kubectl_cache), *[str(a) for a in args]]
        p = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                           env=env, stdin=None if input is not None else subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} → rc {p.returncode}\nstdout: {p.stdout}\n"
                                 f"stderr: {p.stderr}")
        return p

    @property
    def api_client(self):
        if self._api_client is None:
            from kubernetes import config
            self._api_client = config.new_client_from_config(config_file=str(self.kubeconfig))
        return self._api_client


# -- assertions ----------------------------------------------------------------------------------
_NOTSET = object()


def ordered_keys_ok(obj, order):
    keys = list(obj.keys())
    return keys == [k for k in order if k in obj] and all(k in order for k in keys)


def assert_status(r, code, reason, message=None, *, prefix=None, contains=None,
                  details=_NOTSET, status="Failure"):
    """Assert r is a meta/v1 Status answer with HTTP code == body code."""
    assert r.status == code, f"expected HTTP {code}, got {r}"
    assert r.is_json, f"expected application/json, got {r}"
    b = r.json
    assert isinstance(b, dict), r
    assert ordered_keys_ok(b, STATUS_KEYS), f"Status keys {list(b)} not in kube order/set: {r}"
    assert b.get("kind") == "Status" and b.get("apiVersion") == "v1", r
    assert b.get("metadata") == {}, r
    assert b.get("status") == status, r
    assert b.get("code") == code, r
    if reason:
        assert b.get("reason") == reason, f"reason: expected {reason!r}: {r}"
    else:
        assert b.get("reason", "") == "", r
    msg = b.get("message", "")
    if message is not None:
        assert msg == message, f"message:\n expected {message!r}\n got      {msg!r}"
    if prefix is not None:
        assert msg.startswith(prefix), f"message:\n expected prefix {prefix!r}\n got {msg!r}"
    if contains is not None:
        assert contains in msg, f"message:\n expected to contain {contains!r}\n got {msg!r}"
    if "details" in b:
        d = b["details"]
        assert ordered_keys_ok(d, DETAILS_KEYS), f"details keys {list(d)} not in kube order: {r}"
        for c in d.get("causes", []):
            assert ordered_keys_ok(c, CAUSE_KEYS), f"cause keys {list(c)} not in kube order: {r}"
    if details is not _NOTSET:
        assert b.get("details") == details, (f"details:\n expected {details!r}\n got      "
                                             f"{b.get('details')!r}")
    return b


def assert_success_status(r, name, uid, kind="pytorchjobs", group="kubeflow.org"):
    """Immediate delete of a CR: 200 Status Success with details {name, group, kind, uid}, no code."""
    assert r.status == 200, r
    assert r.is_json, r
    b = r.json
    assert ordered_keys_ok(b, STATUS_KEYS), r
    expected = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "group": group, "kind": kind, "uid": uid}}
    if not group:
        del expected["details"]["group"]
    assert b == expected, f"expected {expected!r}, got {r}"
    return b


def assert_not_found(r, name, ns_name=None):
    """404 Status for a missing PyTorchJob."""
    return assert_status(r, 404, "NotFound", f'{GR} "{name}" not found',
                         details={"name": name, "group": GROUP, "kind": PLURAL})


def assert_plain_404(r):
    assert r.status == 404, r
    assert r.ctype.startswith("text/plain"), f"expected text/plain 404, got {r}"
    assert r.raw.strip() == b"404 page not found", r


def invalid_details(name, group, kind, causes):
    d = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = kind
    d["causes"] = causes
    return d


def cause(reason, message, field):
    return {"reason": reason, "message": message, "field": field}


def assert_webhook_denied(r, aggregate):
    return assert_status(r, 403, "Forbidden", WEBHOOK_PREFIX + aggregate)


def rv(obj):
    return int(obj["metadata"]["resourceVersion"])


def strip_volatile(obj):
    """A copy without managedFields (optional in this implementation)."""
    o = json.loads(json.dumps(obj))
    o.get("metadata", {}).pop("managedFields", None)
    return o


def child_processes(pid=None):
    """(pid, state, comm) of live children of pid (default: this process), from /proc."""
    pid = os.getpid() if pid is None else pid
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        l, r = stat.find("("), stat.rfind(")")
        comm = stat[l + 1:r]
        rest = stat[r + 2:].split()
        if len(rest) >= 2 and int(rest[1]) == pid:
            out.append((int(d), rest[0], comm))
    return out


_LEFTOVER = weakref.WeakKeyDictionary()


def exchange_raw(sock, chunks, read_timeout=15):
    """Send byte chunks, stopping early if the server already answered; then read one HTTP
    response. Returns Resp, or None if the connection closed without a response.

    With TLS 1.3 the server sends session tickets after the handshake, so a readable socket
    does not mean an answer: only application data read from it counts. Bytes read past the
    response (pipelined answers can share a TLS record) are kept for the next call on sock."""
    buf = _LEFTOVER.pop(sock, b"")
    closed = False
    sent_all = True
    timeout = sock.gettimeout()
    for ch in chunks:
        r, _, _ = select.select([sock], [], [], 0)
        if r or (hasattr(sock, "pending") and sock.pending()):
            sock.settimeout(0)
            try:
                data = sock.recv(65536)
                if not data:
                    closed = True
                buf += data
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
            except (OSError, ssl.SSLError):
                closed = True
            finally:
                sock.settimeout(timeout)
            if buf or closed:
                sent_all = False
                break
        try:
            sock.sendall(ch)
        except (OSError, ssl.SSLError):
            sent_all = False
            break
    sock.settimeout(read_timeout)

    def more():
        nonlocal buf, closed
        if closed:
            return False
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            data = b""
        if not data:
            closed = True
            return False
        buf += data
        return True

    while b"\r\n\r\n" not in buf:
        if not more():
            if not buf:
                return None
            raise AssertionError(f"incomplete HTTP response: {buf[:500]!r}")
    head, _, rest = buf.partition(b"\r\n\r\n")
    status_line, _, hdr_bytes = head.partition(b"\r\n")
    parts = status_line.decode("latin-1").split(" ", 2)
    status = int(parts[1])
    headers = http.client.parse_headers(io.BytesIO(hdr_bytes + b"\r\n\r\n"))
    buf = rest
    n = headers.get("Content-Length")
    if n is not None:
        while len(buf) < int(n) and more():
            pass
        body = buf[:int(n)]
        if buf[int(n):]:
            _LEFTOVER[sock] = buf[int(n):]
    elif "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        body = b""
        while True:
            while b"\r\n" not in buf and more():
                pass
            line, _, buf = buf.partition(b"\r\n")
            size = int(line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            while len(buf) < size + 2 and more():
                pass
            body += buf[:size]
            buf = buf[size + 2:]
        buf = buf.partition(b"\r\n")[2] if buf.startswith(b"\r\n") else buf
        if buf:
            _LEFTOVER[sock] = buf
    else:
        while more():
            pass
        body = buf
    return Resp(status, headers, body, "RAW", f"(sent_all={sent_all})")


def kubeconfig_ca_data(daemon):
    import yaml
    kc = yaml.safe_load(daemon.kubeconfig.read_text())
    return base64.b64decode(kc["clusters"][0]["cluster"]["certificate-authority-data"])


# -- running jobs (test_controller.py, test_runtime_e2e.py, test_training.py) ----------------------
# Jobs built here carry no managedBy, so the controller runs them: each pod's `pytorch` container
# command runs as a local process. Every container gets the env var RUN_MARK_VAR=<mark>, so
# processes a test started can be found in /proc (and any left behind reported).

RUN_MARK_VAR = "TORCHJOB_E2E_MARK"
LABEL_JOB = "training.kubeflow.org/job-name"
LABEL_OP = "training.kubeflow.org/operator-name"
LABEL_TYPE = "training.kubeflow.org/replica-type"
LABEL_INDEX = "training.kubeflow.org/replica-index"
LABEL_ROLE = "training.kubeflow.org/job-role"
WAIT_FOR_MASTER = "torchjob.kubeflow.org/wait-for-master"
RFC3339NANO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")


def sh_container(script, mark=None, env=None, name="pytorch", **extra):
    """A container running `sh -c script` (image only for validation)."""
    c = {"name": name, "image": "busybox", "command": ["sh", "-c", script]}
    e = [{"name": RUN_MARK_VAR, "value": mark}] if mark else []
    e += [{"name": k, "value": v} for k, v in (env or {}).items()]
    if e:
        c["env"] = e
    c.update(extra)
    return c


def run_replica(script, replicas=1, restart=None, mark=None, env=None, template_meta=None,
                **container_extra):
    r = {"replicas": replicas,
         "template": {"spec": {"containers": [sh_container(script, mark, env, **container_extra)]}}}
    if replicas is None:
        del r["replicas"]
    if restart:
        r["restartPolicy"] = restart
    if template_meta:
        r["template"]["metadata"] = template_meta
    return r


def run_job(name, master=None, worker=None, workers=1, restart=None, run_policy=None, mark=None,
            **spec_extra):
    """A PyTorchJob the controller runs. master/worker: a shell script or a full replica spec."""
    specs = {}
    if master is not None:
        specs["Master"] = master if isinstance(master, dict) else run_replica(master, 1, restart, mark)
    if worker is not None:
        specs["Worker"] = (worker if isinstance(worker, dict)
                           else run_replica(worker, workers, restart, mark))
    spec = {"pytorchReplicaSpecs": specs}
    if run_policy is not None:
        spec["runPolicy"] = run_policy
    spec.update(spec_extra)
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
            "metadata": {"name": name}, "spec": spec}


def pods_path(ns, name=None, sub=None, query=None):
    p = f"/api/v1/namespaces/{ns}/pods"
    if name is not None:
        p += "/" + name
    if sub:
        p += "/" + sub
    return with_query(p, query)


def svcs_path(ns, name=None):
    p = f"/api/v1/namespaces/{ns}/services"
    return p + "/" + name if name is not None else p


def cond_list(job_obj):
    return [(c["type"], c["status"], c.get("reason"))
            for c in (job_obj.get("status") or {}).get("conditions") or []]


def find_cond(job_obj, ctype):
    for c in (job_obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def wait_job(d, ns, name, pred, timeout=20.0, desc="job state"):
    """Poll the job until pred(job) holds; returns the job."""
    def check():
        r = d.get(pj(ns, name))
        if r.status != 200:
            return False, r
        try:
            ok = bool(pred(r.json))
        except (KeyError, TypeError, AttributeError, IndexError):
            ok = False  # a status part not written yet
        return ok, r.json.get("status")
    poll(check, timeout, desc=f"{ns}/{name}: {desc}")
    return d.get(pj(ns, name)).json


def wait_cond(d, ns, name, ctype, status="True", timeout=20.0):
    def pred(j):
        c = find_cond(j, ctype)
        return c is not None and c["status"] == status
    return wait_job(d, ns, name, pred, timeout, desc=f"condition {ctype}={status}")


def list_pods(d, ns, job=None):
    q = {"labelSelector": f"{LABEL_JOB}={job}"} if job else None
    r = d.get(pods_path(ns, query=q))
    assert r.status == 200, r
    return {p["metadata"]["name"]: p for p in r.json["items"]}


def get_pod(d, ns, name):
    r = d.get(pods_path(ns, name))
    return r.json if r.status == 200 else None


def wait_pod(d, ns, name, pred, timeout=20.0, desc="pod state"):
    def check():
        p = get_pod(d, ns, name)
        return (p is not None and bool(pred(p))), (p or {}).get("status")
    poll(check, timeout, desc=f"pod {ns}/{name}: {desc}")
    return get_pod(d, ns, name)


def wait_pod_gone(d, ns, name, timeout=20.0):
    def check():
        r = d.get(pods_path(ns, name))
        return r.status == 404, r.status
    poll(check, timeout, desc=f"pod {ns}/{name} to disappear")


def pod_phase(p):
    return (p.get("status") or {}).get("phase")


def container_status(p, name="pytorch"):
    for cs in (p.get("status") or {}).get("containerStatuses") or []:
        if cs.get("name") == name:
            return cs
    return None


def restart_count(p, name="pytorch"):
    cs = container_status(p, name)
    return cs.get("restartCount", 0) if cs else 0


def pod_log(d, ns, pod, **query):
    r = d.get(pods_path(ns, pod, "log", query or None), headers={"Accept": "*/*"})
    return r


def parse_env_log(text):
    """KEY=VALUE lines (e.g. from `env`) into a dict."""
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition("=")
        if sep and re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k):
            out[k] = v
    return out


def _proc_stat(pid):
    stat = Path(f"/proc/{pid}/stat").read_text()
    l, r = stat.find("("), stat.rfind(")")
    rest = stat[r + 2:].split()
    # state ppid pgrp session ...
    return {"pid": int(pid), "comm": stat[l + 1:r], "state": rest[0], "ppid": int(rest[1]),
            "pgrp": int(rest[2]), "sid": int(rest[3])}


def processes_of(daemon_pid, marks=(), cmdline_contains=()):
    """Live processes (not zombies) that belong to a daemon's pods: children of daemon_pid, any
    process in a session or process group led by one of them, and any process whose environment
    carries RUN_MARK_VAR=<one of marks> or whose command line contains one of cmdline_contains.
    Returns a list of dicts (pid, comm, state, ppid, pgrp, sid, cmdline)."""
    marks = [f"{RUN_MARK_VAR}={m}".encode() for m in marks]
    cmds = [c.encode() for c in cmdline_contains]
    me = os.getpid()
    stats = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in (me, daemon_pid):
            continue
        try:
            stats.append(_proc_stat(d))
        except (OSError, ValueError, IndexError):
            continue
    leaders = {s["pid"] for s in stats if s["ppid"] == daemon_pid}
    out = []
    for s in stats:
        if s["state"] in ("Z", "X"):
            continue
        hit = s["ppid"] == daemon_pid or s["sid"] in leaders or s["pgrp"] in leaders
        cmdline = b""
        try:
            cmdline = Path(f"/proc/{s['pid']}/cmdline").read_bytes()
        except OSError:
            pass
        if not hit and cmds:
            hit = any(c in cmdline for c in cmds)
        if not hit and marks:
            try:
                env = Path(f"/proc/{s['pid']}/environ").read_bytes().split(b"\0")
            except OSError:
                env = []
            hit = any(m in env for m in marks)
        if hit:
            s["cmdline"] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
            out.append(s)
    return out


def wait_no_processes(daemon_pid, marks=(), cmdline_contains=(), timeout=15.0):
    """Poll until no process of the daemon's pods is left (see processes_of)."""
    return poll(lambda: (not processes_of(daemon_pid, marks, cmdline_contains),
                         processes_of(daemon_pid, marks, cmdline_contains)),
                timeout, desc=f"no pod process of torchjobd pid {daemon_pid} left")


def job_events(d, ns, name):
    r = d.get(f"/api/v1/namespaces/{ns}/events",
              query={"fieldSelector": f"involvedObject.name={name}"})
    assert r.status == 200, r
    return [e for e in r.json["items"]
            if e.get("involvedObject", {}).get("kind") == KIND]
