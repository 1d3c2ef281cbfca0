"""ConfigMaps and Secrets: served as core/v1 objects (kubectl create configmap / secret send
protobuf), validated and defaulted as kube's (config keys, base64 data, stringData merged into data,
type Opaque, immutable), and read by the kubelet into a container's environment (env valueFrom,
envFrom), a pod waiting for one that is missing until it is written."""
import base64
import json
import shutil

import pytest

from e2elib import container_status, get_pod, pod_phase, pods_path, uniq, wait_pod


def cm_path(ns, name=None):
    return f"/api/v1/namespaces/{ns}/configmaps" + (f"/{name}" if name else "")


def secret_path(ns, name=None):
    return f"/api/v1/namespaces/{ns}/secrets" + (f"/{name}" if name else "")


def need_kubectl():
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")


def test_kubectl_create_get_describe(daemon, ns):
    need_kubectl()
    k = daemon.kubectl
    k("create", "configmap", "app", "-n", ns, "--from-literal=url=http://x", "--from-literal=mode=fast", check=True)
    k("create", "secret", "generic", "creds", "-n", ns, "--from-literal=token=s3cr3t", check=True)
    k("create", "secret", "tls", "tls", "-n", ns, f"--cert={daemon.data_dir}/server.crt",
      f"--key={daemon.data_dir}/server.key", check=True)
    cm = daemon.get(cm_path(ns, "app")).json
    assert cm["data"] == {"url": "http://x", "mode": "fast"}, cm
    s = daemon.get(secret_path(ns, "creds")).json
    assert (s["type"], s["data"]) == ("Opaque", {"token": base64.b64encode(b"s3cr3t").decode()}), s
    rows = k("get", "cm,secrets", "-n", ns, "--no-headers", check=True).stdout.split("\n")
    got = sorted(tuple(r.split()[:-1]) for r in rows if r.strip())  # the age aside
    assert got == [("configmap/app", "2"), ("secret/creds", "Opaque", "1"),
                   ("secret/tls", "kubernetes.io/tls", "2")], got
    text = k("describe", "secret", "creds", "-n", ns, check=True).stdout
    assert "token:  6 bytes" in text, text


def test_validation_and_defaults(daemon, ns):
    r = daemon.post(cm_path(ns), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bad"},
                                  "data": {"a/b": "x", "k": "1"}, "binaryData": {"k": "MQ=="}})
    assert r.status == 422, r
    causes = [(c["field"], c["message"]) for c in r.json["details"]["causes"]]
    assert causes == [
        ("data[a/b]", "Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters, '-', "
                      "'_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
                      "'[-._a-zA-Z0-9]+')"),
        ("data[k]", 'Invalid value: "k": duplicate of key present in binaryData')], causes
    r = daemon.post(secret_path(ns), {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b64"},
                                      "data": {"a": "abc"}})
    assert (r.status, r.json["message"]) == (
        400, 'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0'), r
    r = daemon.post(secret_path(ns), {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "big"},
                                      "data": {"a": base64.b64encode(b"x" * (1 << 20 | 1)).decode()}})
    assert (r.status, r.json["details"]["causes"][0]["field"]) == (422, "data"), r
    assert "must have at most 1048576 bytes" in r.json["message"], r
    # stringData is merged into data (over it) and not stored; the type defaults to Opaque
    r = daemon.post(secret_path(ns), {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sd"},
                                      "data": {"a": "MQ==", "b": "MQ=="}, "stringData": {"b": "two"}})
    assert r.status == 201, r
    assert (r.json["type"], r.json["data"], "stringData" in r.json) == (
        "Opaque", {"a": "MQ==", "b": base64.b64encode(b"two").decode()}, False), r.json
    # a Secret's type cannot change; nothing of an immutable object can
    r = daemon.patch(secret_path(ns, "sd"), {"type": "kubernetes.io/basic-auth"})
    assert r.status == 422 and r.json["details"]["causes"][0]["message"] == (
        'Invalid value: "kubernetes.io/basic-auth": field is immutable'), r
    assert daemon.patch(secret_path(ns, "sd"), {"immutable": True}).status == 200
    r = daemon.patch(secret_path(ns, "sd"), {"data": {"a": "Mg=="}})
    assert (r.status, r.json["message"]) == (
        422, 'Secret "sd" is invalid: data: Forbidden: field is immutable when `immutable` is set'), r
    r = daemon.patch(secret_path(ns, "sd"), {"immutable": False})
    assert r.status == 422 and "immutable: Forbidden" in r.json["message"], r
    assert daemon.patch(secret_path(ns, "sd"), {"metadata": {"labels": {"ok": "yes"}}}).status == 200


def test_pods_read_their_environment_from_them(daemon, ns):
    """env valueFrom (data, binaryData, a Secret's decoded data) and envFrom with a prefix; a
    missing key is kubelet's error; a pod that needs a ConfigMap not written yet waits for it,
    then runs once it is."""
    assert daemon.post(cm_path(ns), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf"},
                                     "data": {"url": "http://x", "mode": "fast"},
                                     "binaryData": {"blob": base64.b64encode(b"bin-ok").decode()}}).status == 201
    assert daemon.post(secret_path(ns), {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tok"},
                                         "stringData": {"token": "s3cr3t"}}).status == 201
    later = uniq("later")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader"}, "spec": {
        "restartPolicy": "Never", "containers": [{
            "name": "main", "image": "busybox",
            "command": ["sh", "-c", "echo $URL $BLOB $TOKEN $CFG_mode $CFG_url $LATER"],
            "envFrom": [{"configMapRef": {"name": "conf"}, "prefix": "CFG_"}],
            "env": [{"name": "URL", "valueFrom": {"configMapKeyRef": {"name": "conf", "key": "url"}}},
                    {"name": "BLOB", "valueFrom": {"configMapKeyRef": {"name": "conf", "key": "blob"}}},
                    {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "tok", "key": "token"}}},
                    {"name": "LATER", "valueFrom": {"configMapKeyRef": {"name": later, "key": "v"}}}]}]}}
    assert daemon.post(pods_path(ns), pod).status == 201
    try:
        p = wait_pod(daemon, ns, "reader", lambda p: (container_status(p, "main") or {}).get("state", {})
                     .get("waiting", {}).get("reason") == "CreateContainerConfigError", 10, desc="waiting")
        assert container_status(p, "main")["state"]["waiting"]["message"] == f'configmap "{later}" not found'
        assert daemon.post(cm_path(ns), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": later},
                                         "data": {"v": "arrived"}}).status == 201
        wait_pod(daemon, ns, "reader", lambda p: pod_phase(p) == "Succeeded", 10, desc="Succeeded")
        r = daemon.get(pods_path(ns, "reader", "log"), headers={"Accept": "*/*"})
        assert r.text == "http://x bin-ok s3cr3t fast http://x arrived\n", r.text
        # a key that is not there
        bad = json.loads(json.dumps(pod))
        bad["metadata"]["name"] = "nokey"
        bad["spec"]["containers"][0]["env"] = [
            {"name": "X", "valueFrom": {"secretKeyRef": {"name": "tok", "key": "nope"}}},
            {"name": "Y", "valueFrom": {"configMapKeyRef": {"name": "conf", "key": "nope", "optional": True}}}]
        assert daemon.post(pods_path(ns), bad).status == 201
        p = wait_pod(daemon, ns, "nokey", lambda p: (container_status(p, "main") or {}).get("state", {})
                     .get("waiting"), 10, desc="waiting")
        assert container_status(p, "main")["state"]["waiting"] == {
            "reason": "CreateContainerConfigError", "message": f"couldn't find key nope in Secret {ns}/tok"}
    finally:
        for name in ("reader", "nokey"):
            daemon.delete(pods_path(ns, name), query={"gracePeriodSeconds": "0"})


@pytest.mark.parametrize("type_,data,annotations,want", [
    ("kubernetes.io/tls", {"tls.crt": "eA=="}, None, ["data[tls.key]: Required value"]),
    ("kubernetes.io/tls", {}, None, ["data[tls.crt]: Required value", "data[tls.key]: Required value"]),
    ("kubernetes.io/basic-auth", {}, None, ["data[username]: Required value", "data[password]: Required value"]),
    ("kubernetes.io/basic-auth", {"password": ""}, None, []),
    ("kubernetes.io/ssh-auth", {"ssh-privatekey": ""}, None, ["data[ssh-privatekey]: Required value"]),
    ("kubernetes.io/dockerconfigjson", {}, None, ["data[.dockerconfigjson]: Required value"]),
    ("kubernetes.io/service-account-token", {}, None,
     ["metadata.annotations[kubernetes.io/service-account.name]: Required value"]),
    ("kubernetes.io/service-account-token", {}, {"kubernetes.io/service-account.name": "default"}, []),
    ("example.com/custom", {}, None, []),
])
def test_typed_secrets(daemon, ns, type_, data, annotations, want):
    """ValidateSecret's rules for the built-in secret types."""
    name = uniq("typed")
    md = {"name": name, **({"annotations": annotations} if annotations else {})}
    r = daemon.post(secret_path(ns), {"apiVersion": "v1", "kind": "Secret", "metadata": md, "type": type_,
                                      "data": data})
    if not want:
        assert r.status == 201, r
        return
    assert r.status == 422, r
    assert [f"{c['field']}: {c['message']}" for c in r.json["details"]["causes"]] == want, r


def test_unknown_fields(daemon, ns):
    """Unknown fields are dropped as Go's decoding drops them, with kube's three answers."""
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "typo"}, "data": {"a": "1"},
            "dta": {"b": "2"}}
    r = daemon.post(cm_path(ns), body, query={"fieldValidation": "Strict"})
    assert (r.status, r.json["message"]) == (400, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: '
                                                  'strict decoding error: unknown field "dta"'), r
    r = daemon.post(cm_path(ns), body)
    assert r.status == 201 and "dta" not in r.json, r
    assert r.headers.get("Warning") == r'299 - "unknown field \"dta\""', r.headers


def test_python_client(daemon, ns):
    from kubernetes import client
    v1 = client.CoreV1Api(daemon.api_client)
    body = client.V1Secret(metadata=client.V1ObjectMeta(name="py"), string_data={"k": "v"})
    s = v1.create_namespaced_secret(ns, body)
    assert (s.type, s.data) == ("Opaque", {"k": "dg=="})
    v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="pycm"),
                                                           data={"a": "1"}))
    assert v1.read_namespaced_config_map("pycm", ns).data == {"a": "1"}
    assert "pycm" in [c.metadata.name for c in v1.list_namespaced_config_map(ns).items]
