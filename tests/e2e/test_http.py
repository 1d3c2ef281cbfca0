"""Transport, authentication, error shapes and limits (k8s-api-semantics.md §1, §2, §10–§12;
client-compat.md §0–§1)."""
import json
import os
import secrets
import socket
import ssl
import subprocess
import time
import warnings

import pytest
import yaml

from e2elib import (API, GR, GROUP, PLURAL, UNSUPPORTED_PATCH_MSG, assert_plain_404,
                    assert_status, binary_path, exchange_raw, job, kubeconfig_ca_data, pj,
                    sanitized, tokens_setup, uniq, STRATEGIC)


# -- health, version, files ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/readyz", "/livez", "/healthz"])
def test_health_endpoints(daemon, path):
    r = daemon.get(path)
    assert r.status == 200, r
    assert r.raw.strip() == b"ok", r
    assert r.ctype.startswith("text/plain"), r


def test_health_verbose_exclude_and_single_checks(daemon):
    """As kube's healthz: ?exclude skips a check (listed as excluded), names that match no check
    are warned about once, sorted; /livez/<check> runs one check alone; an unknown one is not a
    route (plain 404)."""
    r = daemon.get("/livez", query={"verbose": "", "exclude": ["ping", "zz", "nope", "zz"]})
    assert r.status == 200, r
    assert r.raw.decode() == ("[+]ping excluded: ok\n[+]log ok\n[+]store ok\n"
                              'warn: some health checks cannot be excluded: no matches for "nope","zz"\n'
                              "livez check passed\n")
    r = daemon.get("/readyz", query={"verbose": ""})
    assert r.raw.decode() == "[+]ping ok\n[+]log ok\n[+]store ok\nreadyz check passed\n"
    for path in ("/livez/ping", "/readyz/store", "/healthz/log"):
        r = daemon.get(path, query={"verbose": ""})
        assert r.status == 200 and r.raw == b"ok", r
    assert_plain_404(daemon.get("/livez/nope"))


def test_readyz_anonymous(daemon):
    r = daemon.get("/readyz", token=None)
    assert r.status == 200 and r.raw.strip() == b"ok", r


def test_version(daemon):
    r = daemon.get("/version")
    assert r.status == 200, r
    v = r.json
    assert v["major"] == "1" and v["minor"] == "32", v
    assert v["gitVersion"].startswith("v1.32."), v
    for k in ("gitCommit", "gitTreeState", "buildDate", "goVersion", "compiler", "platform"):
        assert k in v, (k, v)


def test_data_dir_files(daemon):
    d = daemon.data_dir
    for f in ("ca.crt", "server.crt", "server.key", "tokens.csv", "kubeconfig"):
        assert (d / f).is_file(), f
    assert (d / "server.key").stat().st_mode & 0o077 == 0, "server.key must not be group/world readable"
    first = (d / "tokens.csv").read_text().splitlines()[0]
    cols = first.split(",", 3)
    assert len(cols) == 4 and "system:masters" in cols[3], first
    kc = yaml.safe_load(daemon.kubeconfig.read_text())
    assert kc["clusters"][0]["cluster"]["server"] == daemon.base_url
    assert kubeconfig_ca_data(daemon) == daemon.ca_path.read_bytes()
    assert kc["users"][0]["user"]["token"] == cols[0]
    ctx = [c for c in kc["contexts"] if c["name"] == kc["current-context"]]
    assert ctx, kc


def test_cli_help_and_bad_flags(tmp_path):
    b = str(binary_path())
    run = dict(capture_output=True, text=True, timeout=10, cwd=str(tmp_path))
    p = subprocess.run([b, "--help"], **run)
    assert p.returncode == 0, p
    out = p.stdout + p.stderr
    for flag in ("--data-dir", "--listen", "--request-timeout"):
        assert flag in out, f"--help does not mention {flag}: {out}"
    p = subprocess.run([b, "--no-such-flag"], **run)
    assert p.returncode != 0, p
    assert "no-such-flag" in p.stderr, p
    p = subprocess.run([b, "--request-timeout", "abc", "--data-dir", str(tmp_path / "d"),
                        "--listen", "127.0.0.1:1"], **run)
    assert p.returncode != 0 and p.stderr.strip(), p


# -- TLS and HTTP/1.1 ---------------------------------------------------------------------------

def test_alpn_never_h2(daemon):
    s = daemon.tls_socket(alpn=["h2", "http/1.1"])
    try:
        assert s.selected_alpn_protocol() in (None, "http/1.1"), s.selected_alpn_protocol()
        assert s.version() in ("TLSv1.2", "TLSv1.3"), s.version()
    finally:
        s.close()


def test_tls_1_1_refused(daemon):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(daemon.ca_path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ValueError, ssl.SSLError):
        pytest.skip("the local OpenSSL cannot offer TLS 1.1")
    raw = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
    with pytest.raises((ssl.SSLError, OSError)):
        try:
            s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
            s.close()
        finally:
            raw.close()


def test_keep_alive(daemon):
    c = daemon.connect()
    try:
        for _ in range(3):
            r = daemon.api("GET", "/readyz", conn=c)
            assert r.status == 200, r
        r = daemon.api("GET", pj("default"), conn=c)
        assert r.status == 200, r
    finally:
        c.close()


def test_accept_protobuf_first_gets_json(daemon):
    r = daemon.get(pj("default"), headers={"Accept": "application/vnd.kubernetes.protobuf,application/json"})
    assert r.status == 200, r
    assert r.is_json and r.json["kind"] == "PyTorchJobList", r


def test_lowercase_headers_and_scheme(daemon):
    r = daemon.get(pj("default"), token=None, headers={"authorization": "bearer " + daemon.token})
    assert r.status == 200, r


# -- authentication and authorization (§10, §11) ----------------------------------------------------

UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


@pytest.mark.parametrize("method,path", [
    ("GET", pj("default")),
    ("GET", pj("default", "does-not-exist")),
    ("DELETE", pj("default", "does-not-exist")),
    ("POST", pj("default")),
    ("GET", "/api/v1/namespaces"),
    ("GET", "/apis"),
])
def test_unknown_token_401(daemon, method, path):
    r = daemon.api(method, path, token="not-a-valid-token-" + secrets.token_hex(8),
                   body=job("x") if method == "POST" else None)
    assert r.status == 401, r
    assert r.is_json, r
    assert r.json == UNAUTHORIZED, r
    assert list(r.json) == list(UNAUTHORIZED), f"key order: {list(r.json)}"


def _anon_msg(verb, resource, ns=None, name=None, gr=GR, group=GROUP):
    who = f'User "system:anonymous" cannot {verb} resource "{resource}" in API group "{group}"'
    where = f' in the namespace "{ns}"' if ns else " at the cluster scope"
    head = f'{gr} "{name}" is forbidden: ' if name else f"{gr} is forbidden: "
    return head + who + where


@pytest.mark.parametrize("token", [None, ""])
def test_anonymous_list_403(daemon, token):
    r = daemon.get(pj("default"), token=token)
    assert_status(r, 403, "Forbidden", _anon_msg("list", "pytorchjobs", "default"),
                  details={"group": GROUP, "kind": PLURAL})


def test_anonymous_verbs_403(daemon):
    name = uniq("anon")
    # a forbidden request is answered before the object is looked up: 403, never 404
    cases = [
        ("GET", pj("default", name), None, _anon_msg("get", "pytorchjobs", "default", name),
         {"name": name, "group": GROUP, "kind": PLURAL}),
        ("DELETE", pj("default", name), None, _anon_msg("delete", "pytorchjobs", "default", name),
         {"name": name, "group": GROUP, "kind": PLURAL}),
        ("POST", pj("default"), job(name), _anon_msg("create", "pytorchjobs", "default"),
         {"group": GROUP, "kind": PLURAL}),
        ("DELETE", pj("default"), None, _anon_msg("deletecollection", "pytorchjobs", "default"),
         {"group": GROUP, "kind": PLURAL}),
        ("GET", pj("default", name, "status"), None,
         _anon_msg("get", "pytorchjobs/status", "default", name),
         {"name": name, "group": GROUP, "kind": PLURAL}),
        ("GET", f"{API}/pytorchjobs", None, _anon_msg("list", "pytorchjobs"),
         {"group": GROUP, "kind": PLURAL}),
        ("GET", pj("default", query={"watch": "true", "timeoutSeconds": "1"}), None,
         _anon_msg("watch", "pytorchjobs", "default"), {"group": GROUP, "kind": PLURAL}),
        ("GET", "/api/v1/namespaces", None,
         _anon_msg("list", "namespaces", gr="namespaces", group=""), {"kind": "namespaces"}),
        # kube's RequestInfo takes the namespace of /api/v1/namespaces/{name} to be {name}
        ("GET", "/api/v1/namespaces/default", None,
         _anon_msg("get", "namespaces", "default", name="default", gr="namespaces", group=""),
         {"name": "default", "kind": "namespaces"}),
    ]
    for method, path, body, msg, details in cases:
        r = daemon.api(method, path, body, token=None)
        assert_status(r, 403, "Forbidden", msg, details=details)


def test_anonymous_nonresource_403(daemon):
    r = daemon.get("/apis", token=None)
    assert_status(r, 403, "Forbidden", 'forbidden: User "system:anonymous" cannot get path "/apis"')


# -- paths, methods, media types --------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("GET", "/nope"),
    ("GET", "/apis/kubeflow.org/v2/namespaces/default/pytorchjobs"),
    ("GET", "/apis/kubeflow.org/v1/namespaces/default/tfjobs"),
    ("GET", "/apis/kubeflow.org/v1/pytorchjobs/x"),      # namespaced CR without namespace: list/watch only
    ("DELETE", "/apis/kubeflow.org/v1/pytorchjobs"),     # §13 case 28
    ("GET", "/openapi/v2"),
])
def test_unknown_paths_plain_404(daemon, method, path):
    assert_plain_404(daemon.api(method, path))


def test_unknown_subresource_404(daemon, ns):
    name = daemon.create_job(ns)["metadata"]["name"]
    r = daemon.get(pj(ns, name, "foo"))
    assert_status(r, 404, "NotFound", f'{GR} "{name}" not found',
                  details={"name": name, "group": GROUP, "kind": PLURAL})


@pytest.mark.parametrize("method,verb", [("DELETE", "delete"), ("POST", "create")])
def test_status_subresource_405(daemon, ns, method, verb):
    name = daemon.create_job(ns)["metadata"]["name"]
    r = daemon.api(method, pj(ns, name, "status"), job(name) if method == "POST" else None)
    assert_status(r, 405, "MethodNotAllowed",
                  f'{verb} is not supported on resources of kind "pytorchjobs.kubeflow.org"',
                  details={"group": GROUP, "kind": PLURAL})
    assert daemon.get(pj(ns, name)).status == 200


def test_put_patch_on_collection_400(daemon, ns):
    assert_status(daemon.put(pj(ns), job("x")), 400, "BadRequest", "name must be provided")
    assert_status(daemon.patch(pj(ns), {"metadata": {}}), 400, "BadRequest", "name must be provided")
    # PATCH checks the content type first
    assert_status(daemon.patch(pj(ns), {"metadata": {}}, ctype=STRATEGIC), 415,
                  "UnsupportedMediaType", UNSUPPORTED_PATCH_MSG)


@pytest.mark.parametrize("ctype", ["text/plain", "application/vnd.kubernetes.protobuf",
                                   "application/x-www-form-urlencoded"])
def test_create_wrong_content_type_415(daemon, ns, ctype):
    r = daemon.post(pj(ns), json.dumps(job(uniq())), ctype=ctype)
    b = assert_status(r, 415, "UnsupportedMediaType",
                      prefix="the body of the request was in an unknown format - accepted media types include: ")
    assert "application/json" in b["message"] and "application/yaml" in b["message"], b
    assert "details" not in b, b


def _pb_field(num, data):
    """A length-delimited protobuf field (lengths < 128 only)."""
    assert len(data) < 128
    return bytes([num << 3 | 2, len(data)]) + data


def _pb_body(api_version, kind, raw):
    """kubectl's protobuf body: the magic, then runtime.Unknown{typeMeta, raw}."""
    tm = _pb_field(1, api_version.encode()) + _pb_field(2, kind.encode())
    return b"k8s\0" + _pb_field(1, tm) + _pb_field(2, raw)


PROTOBUF = "application/vnd.kubernetes.protobuf"


def test_create_protobuf_body(daemon, ns):
    """Built-in kinds take protobuf bodies (the JSON path runs on the decoded object); a custom
    resource answers 415 as upstream's CR handler, which has no protobuf serializer."""
    name = uniq("pb")
    meta = _pb_field(1, name.encode()) + _pb_field(11, _pb_field(1, b"k") + _pb_field(2, b"v1v"))  # labels
    r = daemon.post("/api/v1/namespaces", _pb_body("v1", "Namespace", _pb_field(1, meta)), ctype=PROTOBUF)
    assert r.status == 201, r
    assert r.is_json and r.json["metadata"]["name"] == name and r.json["metadata"]["labels"]["k"] == "v1v", r
    # a Service body on the namespaces URL: the same answer as the JSON path's
    r = daemon.post("/api/v1/namespaces", _pb_body("v1", "Service", _pb_field(1, _pb_field(1, b"x"))), ctype=PROTOBUF)
    assert_status(r, 422, "Invalid", contains="must be Namespace")
    prefix = "the body of the request was in an unknown format - accepted media types include: "
    b = assert_status(daemon.post(pj(ns), _pb_body("kubeflow.org/v1", "PyTorchJob", b""), ctype=PROTOBUF), 415,
                      "UnsupportedMediaType", prefix=prefix)
    assert "application/json" in b["message"] and "protobuf" not in b["message"], b
    # kinds the decoder does not know: the same 415
    assert_status(daemon.post(f"/api/v1/namespaces/{ns}/pods", _pb_body("v1", "Pod", b""), ctype=PROTOBUF),
                  415, "UnsupportedMediaType", prefix=prefix)
    # malformed protobuf: 400
    r = daemon.post("/api/v1/namespaces", b"k8s\0\x0a\x7f\x0a", ctype=PROTOBUF)
    assert_status(r, 400, "BadRequest", "the object provided is unrecognized (must be of type Namespace): "
                  "unexpected EOF")
    r = daemon.post("/api/v1/namespaces", b'{"kind":"Namespace"}', ctype=PROTOBUF)
    assert_status(r, 400, "BadRequest", contains="expected prefix [107 56 115 0]")


def test_create_yaml_body(daemon, ns):
    name = uniq()
    r = daemon.post(pj(ns), yaml.safe_dump(job(name)), ctype="application/yaml")
    assert r.status == 201, r
    assert r.is_json and r.json["metadata"]["name"] == name, r


@pytest.mark.parametrize("body", ['{"apiVersion": "kubeflow.org/v1", "kind": ', "not json", "[1, 2"])
def test_malformed_json_400(daemon, ns, body):
    assert_status(daemon.post(pj(ns), body), 400, "BadRequest")


def test_missing_kind_400(daemon, ns):
    b = job(uniq())
    del b["kind"]
    assert_status(daemon.post(pj(ns), b), 400, "BadRequest", prefix="Object 'Kind' is missing in ")


def test_wrong_api_version_400(daemon, ns):
    b = job(uniq())
    b["apiVersion"] = "kubeflow.org/v2"
    assert_status(daemon.post(pj(ns), b), 400, "BadRequest")


def test_wrong_kind_422(daemon, ns):
    name = uniq()
    b = job(name)
    b["kind"] = "Foo"
    r = daemon.post(pj(ns), b)
    body = assert_status(r, 422, "Invalid",
                         f'PyTorchJob.kubeflow.org "{name}" is invalid: kind: Invalid value: "Foo": must be PyTorchJob')
    assert body["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "message": 'Invalid value: "Foo": must be PyTorchJob', "field": "kind"}]


# -- pretty printing (§2) ---------------------------------------------------------------------

def _go_indent(raw):
    return json.dumps(json.loads(raw), indent=2)


def test_pretty(daemon, ns):
    name = daemon.create_job(ns, labels={"a": "b"})["metadata"]["name"]
    r = daemon.get(pj(ns, name, query={"pretty": "true"}))
    assert r.status == 200, r
    assert r.text.rstrip("\n") == _go_indent(r.raw), r
    assert r.text.startswith('{\n  "apiVersion": "kubeflow.org/v1",\n'), r
    # compact by default (non-browser User-Agent)
    r = daemon.get(pj(ns, name))
    assert "\n" not in r.text.rstrip("\n"), r
    # curl User-Agent → indented unless pretty=false
    r = daemon.get(pj(ns, name), headers={"User-Agent": "curl/8.4.0"})
    assert r.text.rstrip("\n") == _go_indent(r.raw), r
    r = daemon.get(pj(ns, name, query={"pretty": "false"}), headers={"User-Agent": "curl/8.4.0"})
    assert "\n" not in r.text.rstrip("\n"), r
    # lists and Status errors too
    r = daemon.get(pj(ns, query={"pretty": "true"}))
    assert r.status == 200 and r.text.rstrip("\n") == _go_indent(r.raw), r
    r = daemon.get(pj(ns, "nope", query={"pretty": "true"}))
    assert r.status == 404 and r.text.rstrip("\n") == _go_indent(r.raw), r


# -- discovery (client-compat §1, §2) -----------------------------------------------------------

def test_discovery_legacy(daemon):
    r = daemon.get("/apis")
    assert r.status == 200, r
    groups = {g["name"]: g for g in r.json["groups"]}
    assert groups["kubeflow.org"]["preferredVersion"]["groupVersion"] == "kubeflow.org/v1", r
    r = daemon.get("/apis/kubeflow.org/v1")
    assert r.status == 200, r
    b = r.json
    assert b["kind"] == "APIResourceList" and b["groupVersion"] == "kubeflow.org/v1", b
    res = {x["name"]: x for x in b["resources"]}
    p = res["pytorchjobs"]
    assert p["namespaced"] is True and p["kind"] == "PyTorchJob" and p["singularName"] == "pytorchjob", p
    assert set(p["verbs"]) == {"create", "delete", "deletecollection", "get", "list", "patch",
                               "update", "watch"}, p
    assert set(res["pytorchjobs/status"]["verbs"]) == {"get", "patch", "update"}, res
    r = daemon.get("/api/v1")
    assert r.status == 200, r
    core = {x["name"]: x for x in r.json["resources"]}
    assert core["namespaces"]["namespaced"] is False and core["namespaces"]["kind"] == "Namespace", core
    r = daemon.get("/api")
    assert r.status == 200 and "v1" in r.json["versions"], r
    r = daemon.get("/apis/kubeflow.org")
    assert r.status == 200 and r.json["name"] == "kubeflow.org", r


def test_discovery_aggregated(daemon):
    accept = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
              "application/json")
    r = daemon.get("/apis", headers={"Accept": accept})
    assert r.status == 200, r
    ct = r.ctype.replace(" ", "")
    if "as=APIGroupDiscoveryList" in ct:
        assert ct == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", r
        b = json.loads(r.raw)
        assert b["kind"] == "APIGroupDiscoveryList", b
        names = [i["metadata"]["name"] for i in b["items"]]
        assert "kubeflow.org" in names, names
    else:  # the legacy answer is allowed, with a plain JSON content type
        assert ct.startswith("application/json") and json.loads(r.raw)["kind"] == "APIGroupList", r


def test_openapi_v3(daemon):
    r = daemon.get("/openapi/v3")
    assert r.status == 200, r
    paths = r.json["paths"]
    assert "apis/kubeflow.org/v1" in paths and "api/v1" in paths, paths
    r = daemon.get(paths["apis/kubeflow.org/v1"]["serverRelativeURL"])
    assert r.status == 200, r
    doc = r.json
    item = doc["paths"]["/apis/kubeflow.org/v1/namespaces/{namespace}/pytorchjobs/{name}"]
    patch = item["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "kubeflow.org", "version": "v1",
                                                        "kind": "PyTorchJob"}, patch
    assert any(p["name"] == "fieldValidation" for p in patch["parameters"]), patch
    assert STRATEGIC not in patch.get("requestBody", {}).get("content", {}), patch


# -- limits: body size, header size, slow clients ------------------------------------------------

MiB = 1024 * 1024


def _post_raw(daemon, path, body_len, filler=b" ", prefix=b"", ctype="application/json"):
    s = daemon.tls_socket()
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{daemon.port}\r\n"
            f"Authorization: Bearer {daemon.token}\r\nContent-Type: {ctype}\r\n"
            f"Accept: application/json\r\nContent-Length: {body_len}\r\n\r\n").encode()
    chunks = [head]
    if prefix:
        chunks.append(prefix)
    left = body_len - len(prefix)
    while left > 0:
        n = min(left, 64 * 1024)
        chunks.append(filler * n)
        left -= n
    try:
        return exchange_raw(s, chunks)
    finally:
        s.close()


def test_body_limit_3mib(daemon, ns):
    # exactly 3 MiB is accepted (a valid job padded with JSON whitespace)
    name = uniq("big")
    doc = json.dumps(job(name)).encode()
    r = _post_raw(daemon, pj(ns), 3 * MiB, prefix=doc)
    assert r is not None, "connection closed without a response for a 3 MiB body"
    assert r.status == 201, r
    # one byte more is 413
    r = _post_raw(daemon, pj(ns), 3 * MiB + 1, prefix=json.dumps(job(uniq("big"))).encode())
    assert r is not None, "connection closed without a 413 response"
    assert_status(r, 413, "RequestEntityTooLarge", prefix="Request entity too large")
    r = _post_raw(daemon, pj(ns), 8 * MiB)
    assert r is not None and r.status == 413, r
    assert daemon.get("/readyz").status == 200


def test_header_too_large_431(daemon):
    s = daemon.tls_socket()
    head = f"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{daemon.port}\r\nX-Big: ".encode()
    chunks = [head] + [b"a" * (16 * 1024)] * 160 + [b"\r\n\r\n"]   # 2.5 MiB of header
    try:
        r = exchange_raw(s, chunks)
    finally:
        s.close()
    assert r is not None, "connection closed without a 431 response"
    assert r.status == 431, r
    assert daemon.get("/readyz").status == 200


def test_many_headers_431(daemon):
    s = daemon.tls_socket()
    lines = [f"X-H{i}: {'v' * 100}\r\n".encode() for i in range(20000)]
    chunks = [f"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{daemon.port}\r\n".encode()]
    for i in range(0, len(lines), 200):
        chunks.append(b"".join(lines[i:i + 200]))
    chunks.append(b"\r\n")
    try:
        r = exchange_raw(s, chunks)
    finally:
        s.close()
    assert r is not None and r.status == 431, r
    assert daemon.get("/readyz").status == 200


# A second daemon with a short request timeout and an extra, unprivileged user in tokens.csv.

@pytest.fixture(scope="module")
def aux(make_daemon):
    seed, admin_tok, (alice_tok,) = tokens_setup(("alice", "alice-uid", None))
    d = make_daemon(args=["--request-timeout", "2"], setup=seed)
    d.alice = alice_tok
    d.admin_seeded = admin_tok
    return d


def test_seeded_tokens_kept(aux):
    assert aux.token == aux.admin_seeded, "the daemon must keep an existing tokens.csv"
    assert aux.get(pj("default")).status == 200


def test_unprivileged_user_403(aux):
    r = aux.get(pj("default"), token=aux.alice)
    assert_status(r, 403, "Forbidden",
                  f'{GR} is forbidden: User "alice" cannot list resource "pytorchjobs" in API group '
                  f'"kubeflow.org" in the namespace "default"', details={"group": GROUP, "kind": PLURAL})
    r = aux.delete(pj("default", "x"), token=aux.alice)
    assert_status(r, 403, "Forbidden",
                  f'{GR} "x" is forbidden: User "alice" cannot delete resource "pytorchjobs" in API '
                  f'group "kubeflow.org" in the namespace "default"',
                  details={"name": "x", "group": GROUP, "kind": PLURAL})


def _wait_closed(sock, limit):
    """Read until EOF/reset; returns (seconds until closed, bytes received)."""
    t0 = time.monotonic()
    got = b""
    sock.settimeout(0.5)
    while time.monotonic() - t0 < limit:
        try:
            data = sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (OSError, ssl.SSLError):
            return time.monotonic() - t0, got
        if not data:
            return time.monotonic() - t0, got
        got += data
    return None, got


@pytest.mark.parametrize("partial", [
    b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    b"POST /apis/kubeflow.org/v1/namespaces/default/pytorchjobs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"apiVersion\":",
], ids=["partial-headers", "partial-body"])
def test_slow_client_disconnected(aux, partial):
    s = aux.tls_socket()
    try:
        s.sendall(partial)
        # the loop keeps serving others meanwhile
        t0 = time.monotonic()
        assert aux.get("/readyz").status == 200
        assert time.monotonic() - t0 < 1.5, "a stalled client delayed another request"
        elapsed, got = _wait_closed(s, 15)
    finally:
        s.close()
    assert elapsed is not None, f"a stalled client was not disconnected within 15 s (got {got!r})"
    assert elapsed >= 1.0, f"disconnected after {elapsed:.2f}s, before the 2 s request timeout"
    assert got == b"" or got.startswith(b"HTTP/1.1 4"), got
    assert aux.get("/readyz").status == 200


def test_no_tls_handshake_disconnected(aux):
    s = socket.create_connection(("127.0.0.1", aux.port), timeout=10)
    try:
        s.sendall(b"\x16\x03\x01")  # the first bytes of a ClientHello, then nothing
        elapsed, got = _wait_closed(s, 15)
    finally:
        s.close()
    assert elapsed is not None, "a client stalled in the TLS handshake was not disconnected within 15 s"
    assert aux.get("/readyz").status == 200


def test_plain_http_on_tls_port(aux):
    s = socket.create_connection(("127.0.0.1", aux.port), timeout=10)
    try:
        s.sendall(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        elapsed, got = _wait_closed(s, 15)
    finally:
        s.close()
    assert elapsed is not None, "plain HTTP on the TLS port kept the connection open"
    assert aux.get("/readyz").status == 200


# -- HTTP/1.1 details and concurrency -------------------------------------------------------------

def _read_responses(sock, n, timeout=10):
    out = []
    for _ in range(n):
        r = exchange_raw(sock, [], read_timeout=timeout)
        assert r is not None, f"connection closed after {len(out)} of {n} responses"
        out.append(r)
    return out


def test_pipelined_requests(daemon):
    s = daemon.tls_socket()
    try:
        req = (f"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{daemon.port}\r\n\r\n"
               f"GET /version HTTP/1.1\r\nHost: 127.0.0.1:{daemon.port}\r\n"
               f"Authorization: Bearer {daemon.token}\r\n\r\n"
               f"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{daemon.port}\r\n\r\n").encode()
        s.sendall(req)
        rs = _read_responses(s, 3)
    finally:
        s.close()
    assert [r.status for r in rs] == [200, 200, 200], rs
    assert rs[0].raw.strip() == b"ok" and json.loads(rs[1].raw)["minor"] == "32" and rs[2].raw.strip() == b"ok", rs


def test_connection_close_honoured(daemon):
    s = daemon.tls_socket()
    try:
        s.sendall(f"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{daemon.port}\r\nConnection: close\r\n\r\n".encode())
        rs = _read_responses(s, 1)
        elapsed, got = _wait_closed(s, 5)
    finally:
        s.close()
    assert rs[0].status == 200, rs
    assert elapsed is not None and got == b"", f"connection not closed after Connection: close ({got!r})"


def test_chunked_request_body(daemon, ns):
    name = uniq("chunked")
    body = json.dumps(job(name)).encode()
    half = len(body) // 2
    s = daemon.tls_socket()
    try:
        head = (f"POST {pj(ns)} HTTP/1.1\r\nHost: 127.0.0.1:{daemon.port}\r\n"
                f"Authorization: Bearer {daemon.token}\r\nContent-Type: application/json\r\n"
                f"Transfer-Encoding: chunked\r\n\r\n").encode()
        chunks = [head, b"%x\r\n" % half + body[:half] + b"\r\n",
                  b"%x\r\n" % (len(body) - half) + body[half:] + b"\r\n", b"0\r\n\r\n"]
        r = exchange_raw(s, chunks)
    finally:
        s.close()
    assert r is not None and r.status == 201, r
    assert daemon.get(pj(ns, name)).status == 200


def test_concurrent_creates(daemon):
    import threading
    ns = daemon.create_ns(uniq("conc"))
    results, lock = [], threading.Lock()

    def worker(t):
        c = daemon.connect()
        try:
            for i in range(10):
                r = daemon.api("POST", pj(ns), job(f"t{t:02d}-{i:02d}"), conn=c)
                with lock:
                    results.append(r)
        finally:
            c.close()
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 160, len(results)
    bad = [r for r in results if r.status != 201]
    assert not bad, bad[:3]
    rvs = [int(r.json["metadata"]["resourceVersion"]) for r in results]
    assert len(set(rvs)) == 160, "resourceVersions must be unique"
    lst = daemon.get(pj(ns)).json
    assert len(lst["items"]) == 160
    assert int(lst["metadata"]["resourceVersion"]) >= max(rvs)


def test_burst_answered_together(daemon):
    """48 connections send at once, so that a loop turn holds more requests and answers than
    SEAL_PARALLEL_MIN (16): their bodies are decoded and their answers sealed on pfor's threads
    too. Every connection gets its own answer, whole. (A burst on a slow machine may be spread
    over small turns: up to three bursts are sent until one was handed out.)"""
    ns = daemon.create_ns(uniq("burst"))
    n = 48

    def threads():
        pid = daemon.proc.pid
        return {open(f"/proc/{pid}/task/{t}/comm").read().strip() for t in os.listdir(f"/proc/{pid}/task")}

    for burst in range(3):
        socks = [daemon.tls_socket() for _ in range(n)]
        try:
            for verb in ("POST", "GET"):
                reqs = []
                for i in range(n):
                    name = f"b{burst}-{i:02d}"
                    if verb == "POST":
                        body = json.dumps(job(name)).encode()
                        head = (f"POST {pj(ns)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                f"Authorization: Bearer {daemon.token}\r\n"
                                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
                        reqs.append(head.encode() + body)
                    else:
                        reqs.append((f"GET {pj(ns, name)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                     f"Authorization: Bearer {daemon.token}\r\n\r\n").encode())
                for s, req in zip(socks, reqs):
                    s.sendall(req)
                for i, s in enumerate(socks):
                    r = exchange_raw(s, [])
                    assert r is not None and r.status == (201 if verb == "POST" else 200), (verb, i, r)
                    assert r.json["metadata"]["name"] == f"b{burst}-{i:02d}", (verb, i)
        finally:
            for s in socks:
                s.close()
        assert len(daemon.get(pj(ns)).json["items"]) == n * (burst + 1)
        if (os.cpu_count() or 1) < 2 or "pfor" in threads():
            break
    if (os.cpu_count() or 1) > 1:
        assert "pfor" in threads(), f"no turn was handed out in parallel (threads: {sorted(threads())})"


def test_concurrent_conflicting_updates(daemon, ns):
    import threading
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    results, lock = [], threading.Lock()

    def worker(t):
        b = json.loads(json.dumps(o))
        b["metadata"]["labels"] = {"writer": str(t)}
        r = daemon.put(pj(ns, name), b)
        with lock:
            results.append(r)
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(r.status for r in results)
    assert codes == [200] + [409] * 11, codes
    winner = [r for r in results if r.status == 200][0].json
    g = daemon.get(pj(ns, name)).json
    assert g["metadata"]["labels"] == winner["metadata"]["labels"], (g, winner)
    assert g["metadata"]["resourceVersion"] == winner["metadata"]["resourceVersion"]


# -- big answers ----------------------------------------------------------------------------------

def _vm_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field}")


def _read_answer(f):
    """One HTTP/1.1 answer with a Content-Length from a file over the socket: (status, body)."""
    status = int(f.readline().split()[1])
    length = None
    while True:
        line = f.readline().strip()
        if not line:
            break
        k, _, v = line.decode().partition(":")
        if k.lower() == "content-length":
            length = int(v)
    assert length is not None, "a plain answer has a Content-Length"
    return status, f.read(length)


def test_big_list_is_sealed_as_the_client_reads(make_daemon):
    """A LIST far bigger than the socket buffers is encrypted as the client reads it, so the
    daemon's peak is the list's plaintext and a few MB of ciphertext, not both whole (before, a
    50 MB LIST took the daemon's peak up by 2x its size). The answer arrives whole, and a request
    pipelined behind it is answered after it, in order. A daemon of its own: its VmHWM is this
    test's."""
    d = make_daemon()
    ns = d.create_ns(uniq("biglist"))
    n, size = 250, 200_000  # ~50 MB of JSON
    conn = d.connect()
    try:
        for i in range(n):
            r = d.post(pj(ns), job(f"j-{i:03d}", annotations={"big": "x" * size}), conn=conn)
            assert r.status == 201, r
    finally:
        conn.close()
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    raw.settimeout(60)
    raw.connect(("127.0.0.1", d.port))
    s = d.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")
    try:
        before = _vm_kb(d.proc.pid, "VmHWM")
        head = (f"Host: 127.0.0.1:{d.port}\r\nAuthorization: Bearer {d.token}\r\n"
                "User-Agent: torchjobd-e2e\r\nAccept: application/json\r\n\r\n")
        s.sendall((f"GET {pj(ns)} HTTP/1.1\r\n{head}"
                   f"GET {pj(ns, 'j-007')} HTTP/1.1\r\n{head}").encode())
        time.sleep(1.5)  # the daemon lists, answers and waits for this client, which reads nothing
        peak = _vm_kb(d.proc.pid, "VmHWM")
        f = s.makefile("rb")
        status, body = _read_answer(f)
        assert status == 200
        items = json.loads(body)["items"]
        assert [o["metadata"]["name"] for o in items] == [f"j-{i:03d}" for i in range(n)]
        grown = (peak - before) * 1024
        assert sanitized() or 0.9 * len(body) < grown < 1.3 * len(body), \
            f"the daemon's peak grew by {grown / 1e6:.0f} MB for a {len(body) / 1e6:.0f} MB list"
        status, body = _read_answer(f)
        assert status == 200 and json.loads(body)["metadata"]["name"] == "j-007"
        f.close()
    finally:
        s.close()


# -- the self reviews: authorization.k8s.io and authentication.k8s.io ---------------------------

SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SSRR = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
SSR = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
CREATE_PJ = {"resourceAttributes": {"namespace": "default", "verb": "create",
                                    "group": "kubeflow.org", "resource": "pytorchjobs"}}


def _ssar(spec, **kw):
    return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None}, "spec": spec, **kw}


def test_ssar_admin_and_user(aux):
    r = aux.post(SSAR, _ssar(CREATE_PJ))
    assert r.status == 201, r
    assert r.json == _ssar(CREATE_PJ, status={"allowed": True}), r  # system:masters: no reason
    r = aux.post(SSAR, {"spec": CREATE_PJ}, token=aux.alice)
    assert r.status == 201, r
    assert r.json == _ssar(CREATE_PJ, status={"allowed": False}), r
    spec = {"resourceAttributes": {"verb": "create", "group": "authentication.k8s.io",
                                   "resource": "selfsubjectreviews", "version": "v1"}}
    r = aux.post(SSAR, {"spec": spec}, token=aux.alice)
    assert r.status == 201 and r.json["status"] == {
        "allowed": True,
        "reason": 'RBAC: allowed by ClusterRoleBinding "system:basic-user" of ClusterRole '
                  '"system:basic-user" to Group "system:authenticated"'}, r
    spec = {"nonResourceAttributes": {"path": "/metrics", "verb": "get"}}
    assert aux.post(SSAR, {"spec": spec}, token=aux.alice).json["status"] == {"allowed": False}
    assert aux.post(SSAR, {"spec": spec}).json["status"] == {"allowed": True}


def test_ssar_agrees_with_requests(aux):
    """The review and the request it describes are decided by one function."""
    for path, verb, attrs in [
            ("/metrics", "GET", {"nonResourceAttributes": {"path": "/metrics", "verb": "get"}}),
            ("/apis", "GET", {"nonResourceAttributes": {"path": "/apis", "verb": "get"}}),
            (pj("default"), "GET", {"resourceAttributes": {"namespace": "default", "verb": "list",
                                                           "group": "kubeflow.org",
                                                           "resource": "pytorchjobs"}})]:
        for tok in (aux.token, aux.alice):
            allowed = aux.post(SSAR, {"spec": attrs}, token=tok).json["status"]["allowed"]
            st = aux.api(verb, path, token=tok).status
            assert (st != 403) == allowed, (path, tok == aux.token, st, allowed)


def test_self_reviews_anonymous_403(aux):
    for path, plural, group in [(SSAR, "selfsubjectaccessreviews", "authorization.k8s.io"),
                                (SSRR, "selfsubjectrulesreviews", "authorization.k8s.io"),
                                (SSR, "selfsubjectreviews", "authentication.k8s.io")]:
        r = aux.post(path, {"spec": CREATE_PJ}, token=None)
        assert_status(r, 403, "Forbidden",
                      f'{plural}.{group} is forbidden: User "system:anonymous" cannot create '
                      f'resource "{plural}" in API group "{group}" at the cluster scope',
                      details={"group": group, "kind": plural})


def test_ssar_invalid(aux):
    r = aux.post(SSAR, {"spec": {}})
    msg = ("Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes "
           "must be specified")
    assert_status(r, 422, "Invalid",
                  f'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: '
                  f'spec.resourceAttributes: {msg}',
                  details={"group": "authorization.k8s.io", "kind": "SelfSubjectAccessReview",
                           "causes": [{"reason": "FieldValueInvalid", "message": msg,
                                       "field": "spec.resourceAttributes"}]})
    both = {"resourceAttributes": {"verb": "get", "resource": "pods"},
            "nonResourceAttributes": {"path": "/x", "verb": "get"}}
    r = aux.post(SSAR, {"spec": both})
    assert_status(r, 422, "Invalid",
                  'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: '
                  'spec.nonResourceAttributes: Invalid value: authorization.NonResourceAttributes'
                  '{Path:"/x", Verb:"get"}: cannot be specified in combination with resourceAttributes')
    r = aux.post(SSAR, {"metadata": {"name": "x"}, "spec": CREATE_PJ})
    assert_status(r, 422, "Invalid", prefix='SelfSubjectAccessReview.authorization.k8s.io "" is '
                  'invalid: metadata: Invalid value: v1.ObjectMeta{Name:"x", ', contains="must be empty")
    r = aux.post(SSAR, {"spec": {"resourceAttributes": {"verb": 5}}})
    assert_status(r, 400, "BadRequest",
                  'SelfSubjectAccessReview in version "v1" cannot be handled as a '
                  'SelfSubjectAccessReview: json: cannot unmarshal number into Go struct field '
                  'ResourceAttributes.spec.resourceAttributes.verb of type string')


def test_ssrr(aux):
    r = aux.post(SSRR, {"spec": {"namespace": "default"}})
    assert r.status == 201, r
    b = r.json
    assert (b["kind"], b["apiVersion"], b["metadata"], b["spec"]) == (
        "SelfSubjectRulesReview", "authorization.k8s.io/v1", {"creationTimestamp": None}, {}), r
    st = b["status"]
    assert st["incomplete"] is False, r
    assert st["resourceRules"][0] == {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, r
    assert st["nonResourceRules"][0] == {"verbs": ["*"], "nonResourceURLs": ["*"]}, r
    user = aux.post(SSRR, {"spec": {"namespace": "default"}}, token=aux.alice).json["status"]
    assert user["resourceRules"] == [
        {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
         "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
        {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"],
         "resources": ["selfsubjectreviews"]}], user
    assert st["resourceRules"][1:] == user["resourceRules"], r
    assert st["nonResourceRules"][1:] == user["nonResourceRules"], r
    assert {"verbs": ["get"], "nonResourceURLs": ["/livez", "/readyz", "/healthz", "/version",
                                                  "/version/"]} in user["nonResourceRules"], user
    r = aux.post(SSRR, {"spec": {}})
    assert_status(r, 400, "BadRequest", "no namespace on request")


def test_ssr(aux):
    r = aux.post(SSR, {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                 token=aux.alice)
    assert r.status == 201, r
    b = r.json
    assert list(b) == ["kind", "apiVersion", "metadata", "status"], r
    assert b["metadata"]["creationTimestamp"].endswith("Z"), r
    assert b["status"] == {"userInfo": {"username": "alice", "uid": "alice-uid",
                                        "groups": ["system:authenticated"]}}, r


def test_self_reviews_not_stored_nor_readable(aux):
    rv = aux.get(pj("default")).json["metadata"]["resourceVersion"]
    for path in (SSAR, SSRR, SSR):
        assert aux.post(path, {"spec": {**CREATE_PJ, "namespace": "default"}}).status == 201
        r = aux.get(path)
        assert_status(r, 405, "MethodNotAllowed",
                      "the server does not allow this method on the requested resource", details={})
        assert aux.delete(path).status == 405
        assert_plain_404(aux.get(path + "/x"))
        assert_plain_404(aux.post(path + "/x", {}))
    assert_plain_404(aux.post("/apis/authorization.k8s.io/v1/namespaces/default/"
                              "selfsubjectaccessreviews", {"spec": CREATE_PJ}))
    assert aux.get(pj("default")).json["metadata"]["resourceVersion"] == rv, "a review was stored"


def test_self_reviews_discovery(daemon):
    want = {"authorization.k8s.io": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
            "authentication.k8s.io": ["selfsubjectreviews"]}
    groups = {g["name"]: g for g in daemon.get("/apis").json["groups"]}
    for group, plurals in want.items():
        assert groups[group]["preferredVersion"]["groupVersion"] == f"{group}/v1", groups
        l = daemon.get(f"/apis/{group}/v1").json
        assert [(e["name"], e["namespaced"], e["verbs"]) for e in l["resources"]] == [
            (p, False, ["create"]) for p in plurals], l
        assert all(e["singularName"] == e["name"][:-1] for e in l["resources"]), l
    agg = daemon.get("/apis", headers={"accept": "application/json;g=apidiscovery.k8s.io;v=v2;"
                                                 "as=APIGroupDiscoveryList"}).json
    items = {i["metadata"]["name"]: i for i in agg["items"]}
    for group, plurals in want.items():
        res = items[group]["versions"][0]["resources"]
        assert [(e["resource"], e["scope"], e["verbs"], e["responseKind"]["kind"]) for e in res] == [
            (p, "Cluster", ["create"], e["responseKind"]["kind"]) for p, e in zip(plurals, res)], res
    assert items["authorization.k8s.io"]["versions"][0]["resources"][0]["responseKind"] == {
        "group": "authorization.k8s.io", "version": "v1", "kind": "SelfSubjectAccessReview"}
