"""kubectl 1.32 (through the /usr/bin/kubectl dispatcher) against the daemon
(client-compat.md §1–§8). Every call uses the session's fresh --cache-dir and the daemon's
kubeconfig."""
import json

import pytest
import yaml

from e2elib import job, pj, tokens_setup, uniq


@pytest.fixture(scope="module")
def kns(daemon):
    return daemon.create_ns(uniq("kubectl"))


def write_manifest(tmp_path, obj, fname="job.yaml"):
    p = tmp_path / fname
    p.write_text(yaml.safe_dump(obj))
    return p


def ok(p):
    assert p.returncode == 0, f"rc {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p.stdout


def fail(p):
    assert p.returncode != 0, f"expected failure\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p.stderr


def test_version_dispatch(kubectl):
    out = ok(kubectl("version", "-o", "json"))
    v = json.loads(out)
    assert v["serverVersion"]["minor"] == "32", v
    assert v["clientVersion"]["gitVersion"].startswith("v1.32."), v


def test_api_resources(kubectl):
    out = ok(kubectl("api-resources"))
    lines = out.splitlines()
    assert lines and lines[0].split()[:1] == ["NAME"], out
    pj_line = [l for l in lines if l.split() and l.split()[0] == "pytorchjobs"]
    assert pj_line, out
    cols = pj_line[0].split()
    assert "kubeflow.org/v1" in cols and "true" in cols and cols[-1] == "PyTorchJob", pj_line
    ns_line = [l for l in lines if l.split() and l.split()[0] == "namespaces"]
    assert ns_line and ns_line[0].split()[-1] == "Namespace" and "false" in ns_line[0].split(), out
    out = ok(kubectl("api-resources", "--api-group=kubeflow.org", "-o", "name"))
    assert "pytorchjobs.kubeflow.org" in out.split(), out


def test_create_and_get(kubectl, daemon, kns, tmp_path):
    name = uniq("kc")
    f = write_manifest(tmp_path, job(name, labels={"app": "kc"}))
    out = ok(kubectl("create", "-f", f, "-n", kns))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} created", out
    err = fail(kubectl("create", "-f", f, "-n", kns))
    assert (f'Error from server (AlreadyExists): error when creating "{f}": '
            f'pytorchjobs.kubeflow.org "{name}" already exists') in err, err
    api = daemon.get(pj(kns, name)).json
    o = json.loads(ok(kubectl("get", "pytorchjob", name, "-n", kns, "-o", "json")))
    assert o["metadata"]["uid"] == api["metadata"]["uid"] and o["kind"] == "PyTorchJob", o
    o = yaml.safe_load(ok(kubectl("get", "pytorchjob", name, "-n", kns, "-o", "yaml")))
    assert o["metadata"]["uid"] == api["metadata"]["uid"], o
    lst = json.loads(ok(kubectl("get", "pytorchjobs", "-n", kns, "-o", "json")))
    assert name in [i["metadata"]["name"] for i in lst["items"]], lst
    out = ok(kubectl("get", "pytorchjobs", "-n", kns))
    assert out.splitlines()[0].split()[0] == "NAME", out
    assert any(l.split()[0] == name for l in out.splitlines()[1:]), out
    out = ok(kubectl("get", "pytorchjob", name, "-n", kns, "-o", "name"))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name}", out
    out = ok(kubectl("get", "pytorchjobs", "-n", kns, "-l", "app=kc", "-o", "name"))
    assert out.split() == [f"pytorchjob.kubeflow.org/{name}"], out
    out = ok(kubectl("get", "pytorchjobs", "-n", kns, "--field-selector", f"metadata.name={name}", "-o", "name"))
    assert out.split() == [f"pytorchjob.kubeflow.org/{name}"], out
    out = ok(kubectl("get", "pytorchjobs", "-A"))
    assert any(l.split()[:2] == [kns, name] for l in out.splitlines()), out
    out = ok(kubectl("get", "pytorchjob", name, "-n", kns, "-o", "jsonpath={.metadata.labels.app}"))
    assert out == "kc", out


def test_get_missing(kubectl, kns):
    err = fail(kubectl("get", "pytorchjob", "nonexist", "-n", kns))
    assert 'Error from server (NotFound): pytorchjobs.kubeflow.org "nonexist" not found' in err, err


def test_get_chunked(kubectl, daemon):
    ns = daemon.create_ns(uniq("chunk"))
    for n in ("k1", "k2", "k3"):
        daemon.create_job(ns, n)
    out = ok(kubectl("get", "pytorchjobs", "-n", ns, "--chunk-size=1", "-o", "name"))
    assert out.split() == [f"pytorchjob.kubeflow.org/{n}" for n in ("k1", "k2", "k3")], out
    out = ok(kubectl("get", "pytorchjobs", "-n", ns, "--chunk-size=1"))
    assert [l.split()[0] for l in out.splitlines()[1:]] == ["k1", "k2", "k3"], out


def test_create_dry_run_server(kubectl, daemon, kns, tmp_path):
    name = uniq("kc")
    f = write_manifest(tmp_path, job(name))
    out = ok(kubectl("create", "-f", f, "-n", kns, "--dry-run=server"))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} created (server dry run)", out
    assert daemon.get(pj(kns, name)).status == 404


def test_apply_three_times(kubectl, daemon, kns, tmp_path):
    name = uniq("ap")
    obj = job(name, labels={"app": "demo"})
    f = write_manifest(tmp_path, obj)
    out = ok(kubectl("apply", "-f", f, "-n", kns))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} created", out
    g = daemon.get(pj(kns, name)).json
    ann = g["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert json.loads(ann)["metadata"]["name"] == name, ann
    obj["metadata"]["labels"] = {"app": "demo2"}
    obj["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["image"] = "python:3.12"
    f = write_manifest(tmp_path, obj)
    out = ok(kubectl("apply", "-f", f, "-n", kns))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} configured", out
    g2 = daemon.get(pj(kns, name)).json
    assert g2["metadata"]["labels"] == {"app": "demo2"}, g2
    c = g2["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]
    assert c["image"] == "python:3.12", c
    assert g2["metadata"]["generation"] == 2 and g2["metadata"]["uid"] == g["metadata"]["uid"], g2
    out = ok(kubectl("apply", "-f", f, "-n", kns))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} unchanged", out
    g3 = daemon.get(pj(kns, name)).json
    assert g3["metadata"]["resourceVersion"] == g2["metadata"]["resourceVersion"], g3


def test_apply_server_side(kubectl, daemon, kns, tmp_path):
    name = uniq("ssa")
    obj = job(name, labels={"v": "1"})
    f = write_manifest(tmp_path, obj)
    out = ok(kubectl("apply", "--server-side", "-f", f, "-n", kns))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} serverside-applied", out
    obj["metadata"]["labels"] = {"v": "2"}
    f = write_manifest(tmp_path, obj)
    out = ok(kubectl("apply", "--server-side", "--force-conflicts", "-f", f, "-n", kns))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} serverside-applied", out
    assert daemon.get(pj(kns, name)).json["metadata"]["labels"]["v"] == "2"


def test_replace(kubectl, daemon, kns, tmp_path):
    name = uniq("rp")
    f = write_manifest(tmp_path, job(name))
    ok(kubectl("create", "-f", f, "-n", kns))
    f = write_manifest(tmp_path, job(name, labels={"replaced": "yes"}))
    out = ok(kubectl("replace", "-f", f, "-n", kns))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} replaced", out
    assert daemon.get(pj(kns, name)).json["metadata"]["labels"] == {"replaced": "yes"}


def test_patch_types(kubectl, daemon, kns):
    name = daemon.create_job(kns)["metadata"]["name"]
    out = ok(kubectl("patch", "pytorchjob", name, "-n", kns, "--type=merge",
                     "-p", '{"metadata":{"labels":{"x":"y"}}}'))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} patched", out
    out = ok(kubectl("patch", "pytorchjob", name, "-n", kns, "--type=merge",
                     "-p", '{"metadata":{"labels":{"x":"y"}}}'))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} patched (no change)", out
    out = ok(kubectl("patch", "pytorchjob", name, "-n", kns, "--type=json",
                     "-p", '[{"op":"add","path":"/metadata/labels/z","value":"1"}]'))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} patched", out
    assert daemon.get(pj(kns, name)).json["metadata"]["labels"] == {"x": "y", "z": "1"}
    err = fail(kubectl("patch", "pytorchjob", name, "-n", kns, "-p", '{"metadata":{"labels":{"s":"1"}}}'))
    assert "UnsupportedMediaType" in err or "not supported" in err, err
    err = fail(kubectl("patch", "pytorchjob", name, "-n", kns, "--type=json",
                       "-p", '[{"op":"test","path":"/metadata/labels/x","value":"nope"}]'))
    assert "the server rejected our request due to an error in our request" in err, err
    assert "s" not in daemon.get(pj(kns, name)).json["metadata"]["labels"]


def test_label_annotate(kubectl, daemon, kns):
    name = daemon.create_job(kns)["metadata"]["name"]
    out = ok(kubectl("label", "pytorchjob", name, "-n", kns, "team=ml"))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} labeled", out
    assert daemon.get(pj(kns, name)).json["metadata"]["labels"] == {"team": "ml"}
    err = fail(kubectl("label", "pytorchjob", name, "-n", kns, "team=other"))
    assert "already has a value" in err, err
    out = ok(kubectl("label", "pytorchjob", name, "-n", kns, "team=other", "--overwrite"))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} labeled", out
    out = ok(kubectl("label", "pytorchjob", name, "-n", kns, "team-"))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} unlabeled", out
    assert not daemon.get(pj(kns, name)).json["metadata"].get("labels")
    out = ok(kubectl("annotate", "pytorchjob", name, "-n", kns, "note=hello"))
    assert out.strip() == f"pytorchjob.kubeflow.org/{name} annotated", out
    assert daemon.get(pj(kns, name)).json["metadata"]["annotations"]["note"] == "hello"
    out = ok(kubectl("annotate", "pytorchjob", name, "-n", kns, "note-"))
    assert "annotated" in out, out
    assert "note" not in (daemon.get(pj(kns, name)).json["metadata"].get("annotations") or {})


@pytest.mark.parametrize("flags", [[], ["--cascade=background"], ["--cascade=foreground"],
                                   ["--cascade=orphan"], ["--grace-period=5"], ["--now"],
                                   ["--force", "--grace-period=0"]],
                         ids=["default", "background", "foreground", "orphan", "grace-5", "now", "force"])
def test_delete(kubectl, daemon, kns, flags):
    name = daemon.create_job(kns)["metadata"]["name"]
    p = kubectl("delete", "pytorchjob", name, "-n", kns, "--timeout=30s", *flags)
    out = ok(p)
    assert f'pytorchjob.kubeflow.org "{name}" ' in out and "deleted" in out, out
    assert daemon.get(pj(kns, name)).status == 404


def test_delete_dry_run_and_missing(kubectl, daemon, kns):
    name = daemon.create_job(kns)["metadata"]["name"]
    out = ok(kubectl("delete", "pytorchjob", name, "-n", kns, "--dry-run=server"))
    assert out.strip() == f'pytorchjob.kubeflow.org "{name}" deleted (server dry run)', out
    assert daemon.get(pj(kns, name)).status == 200
    err = fail(kubectl("delete", "pytorchjob", "nonexist", "-n", kns))
    assert 'Error from server (NotFound): pytorchjobs.kubeflow.org "nonexist" not found' in err, err
    p = kubectl("delete", "pytorchjob", "nonexist", "-n", kns, "--ignore-not-found")
    assert ok(p).strip() == "", p


def test_delete_held_no_wait(kubectl, daemon, kns):
    name = daemon.create_job(kns, finalizers=["example.com/hold"])["metadata"]["name"]
    out = ok(kubectl("delete", "pytorchjob", name, "-n", kns, "--wait=false"))
    assert f'pytorchjob.kubeflow.org "{name}" deleted' in out, out
    g = daemon.get(pj(kns, name)).json
    assert g["metadata"].get("deletionTimestamp"), g
    ok(kubectl("patch", "pytorchjob", name, "-n", kns, "--type=json",
               "-p", '[{"op":"remove","path":"/metadata/finalizers"}]'))
    daemon.wait_gone(kns, name)


def test_delete_by_label(kubectl, daemon):
    ns = daemon.create_ns(uniq("kdel"))
    for n, team in (("d1", "a"), ("d2", "b"), ("d3", "a")):
        daemon.create_job(ns, n, labels={"team": team})
    out = ok(kubectl("delete", "pytorchjobs", "-n", ns, "-l", "team=a", "--timeout=30s"))
    assert sorted(out.strip().splitlines()) == ['pytorchjob.kubeflow.org "d1" deleted',
                                                'pytorchjob.kubeflow.org "d3" deleted'], out
    assert [i["metadata"]["name"] for i in daemon.get(pj(ns)).json["items"]] == ["d2"]


def test_explain(kubectl):
    out = ok(kubectl("explain", "pytorchjob"))
    assert "PyTorchJob" in out, out


def test_explain_reaches_into_the_pod_template(kubectl):
    """The template is the CRD's PodTemplateSpec, so explain goes down to the containers, as on a
    cluster (it used to stop at `template <Object>`)."""
    base = "pytorchjob.spec.pytorchReplicaSpecs.template"
    out = ok(kubectl("explain", base))
    assert "metadata\t<Object>" in out and "spec\t<PodSpec>" in out, out
    out = ok(kubectl("explain", base + ".spec"))
    for f in ("containers", "tolerations", "shareProcessNamespace", "topologySpreadConstraints"):
        assert f"  {f}\t" in out, (f, out)
    out = ok(kubectl("explain", base + ".spec.containers.resources"))
    assert "limits\t<map[string]Quantity>" in out and "claims\t" in out, out


# kubectl's typed clients send these creates as Kubernetes protobuf (client-compat.md, Protobuf).
def test_create_namespace_protobuf(kubectl, daemon):
    name = uniq("pbns")
    assert ok(kubectl("create", "namespace", name)).strip() == f"namespace/{name} created"
    r = daemon.get(f"/api/v1/namespaces/{name}")
    assert r.status == 200, r
    o = r.json
    assert o["kind"] == "Namespace" and o["metadata"]["name"] == name and o["metadata"]["uid"], o
    assert o["status"]["phase"] == "Active", o
    err = fail(kubectl("create", "namespace", name))
    assert f'Error from server (AlreadyExists): namespaces "{name}" already exists' in err, err
    dry = uniq("pbns")
    assert ok(kubectl("create", "namespace", dry, "--dry-run=server")).strip() == f"namespace/{dry} created (server dry run)"
    assert daemon.get(f"/api/v1/namespaces/{dry}").status == 404


@pytest.mark.parametrize("kind,args,want", [
    ("clusterip", ["--tcp=80:8080"], {"type": "ClusterIP",
                                      "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}]}),
    ("nodeport", ["--tcp=80:8080", "--node-port=30080"],
     {"type": "NodePort",
      "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080, "nodePort": 30080}]}),
    ("loadbalancer", ["--tcp=5678:http"],
     {"type": "LoadBalancer", "ports": [{"name": "5678-http", "protocol": "TCP", "port": 5678, "targetPort": "http"}]}),
    ("externalname", ["--external-name=bar.example.com"], {"type": "ExternalName", "externalName": "bar.example.com"}),
])
def test_create_service_protobuf(kubectl, daemon, kind, args, want):
    ns = ok(kubectl("create", "namespace", uniq("pbsvc"))).split()[0].split("/")[1]
    name = uniq("s")
    out = ok(kubectl("create", "service", kind, name, *args, "-n", ns))
    assert out.strip() == f"service/{name} created", out
    r = daemon.get(f"/api/v1/namespaces/{ns}/services/{name}")
    assert r.status == 200, r
    o = r.json
    assert o["kind"] == "Service" and o["metadata"]["name"] == name and o["metadata"]["namespace"] == ns, o
    assert o["metadata"]["labels"] == {"app": name}, o
    assert o["spec"]["selector"] == {"app": name}, o
    if kind == "loadbalancer":  # allocated, as a NodePort's without --node-port (test_svcalloc.py)
        assert 30000 <= o["spec"]["ports"][0].pop("nodePort") <= 32767, o
    for k, v in want.items():
        assert o["spec"][k] == v, (k, o)
    got = json.loads(ok(kubectl("get", "service", name, "-n", ns, "-o", "json")))
    assert got["metadata"]["uid"] == o["metadata"]["uid"], got


# -- kubectl auth: can-i, can-i --list, whoami (the self reviews, sent as protobuf) -------------

@pytest.fixture(scope="module")
def two_users(make_daemon):
    """A daemon whose tokens.csv has the admin and bob, an authenticated user without roles."""
    seed, _, (bob_tok,) = tokens_setup(("bob", "bob-uid", "dev,ops"))
    d = make_daemon(setup=seed)
    d.bob = bob_tok
    return d


def test_auth_can_i(two_users):
    p = two_users.kubectl("auth", "can-i", "create", "pytorchjobs")
    assert (p.returncode, p.stdout) == (0, "yes\n"), p
    p = two_users.kubectl("auth", "can-i", "delete", "pods", "-n", "kube-system")
    assert (p.returncode, p.stdout) == (0, "yes\n"), p
    p = two_users.kubectl("--token", two_users.bob, "auth", "can-i", "create", "pytorchjobs")
    assert (p.returncode, p.stdout) == (1, "no\n"), p
    # what a user may do anyway: the self reviews, discovery
    p = two_users.kubectl("--token", two_users.bob, "auth", "can-i", "create",
                          "selfsubjectaccessreviews")
    assert (p.returncode, p.stdout) == (0, "yes\n"), p
    p = two_users.kubectl("--token", two_users.bob, "auth", "can-i", "get", "/apis")
    assert (p.returncode, p.stdout) == (0, "yes\n"), p
    p = two_users.kubectl("--token", two_users.bob, "auth", "can-i", "get", "/metrics")
    assert (p.returncode, p.stdout) == (1, "no\n"), p


SELF_REVIEW_ROWS = [
    ["selfsubjectreviews.authentication.k8s.io", "[]", "[]", "[create]"],
    ["selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"],
    ["selfsubjectrulesreviews.authorization.k8s.io", "[]", "[]", "[create]"],
]
# system:discovery and system:public-info-viewer both grant the health and version paths
DISCOVERY_ROWS = [["[%s]" % u, "[]", "[get]"] for u in (
    "/api/*", "/api", "/apis/*", "/apis", "/healthz", "/healthz", "/livez", "/livez",
    "/openapi/*", "/openapi", "/readyz", "/readyz", "/version/", "/version/", "/version",
    "/version")]


def test_auth_can_i_list(two_users):
    """The table a 1.32 cluster prints (cluster-admin plus the bootstrap roles of every
    authenticated user)."""
    rows = [l.split() for l in ok(two_users.kubectl("auth", "can-i", "--list")).splitlines()]
    assert rows[0] == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"], rows
    assert rows[1:] == [["*.*", "[]", "[]", "[*]"], ["[*]", "[]", "[*]"], *SELF_REVIEW_ROWS,
                        *DISCOVERY_ROWS], rows
    p = two_users.kubectl("--token", two_users.bob, "auth", "can-i", "--list")
    rows = [l.split() for l in ok(p).splitlines()]
    assert rows[1:] == [*SELF_REVIEW_ROWS, *DISCOVERY_ROWS], rows


def test_auth_whoami(two_users):
    rows = [l.split(None, 1) for l in ok(two_users.kubectl("auth", "whoami")).splitlines()]
    assert rows == [["ATTRIBUTE", "VALUE"], ["Username", "admin"], ["UID", "admin"],
                    ["Groups", "[system:masters system:authenticated]"]], rows
    out = ok(two_users.kubectl("--token", two_users.bob, "auth", "whoami", "-o", "json"))
    v = json.loads(out)
    assert v["kind"] == "SelfSubjectReview" and v["apiVersion"] == "authentication.k8s.io/v1", v
    assert v["status"] == {"userInfo": {"username": "bob", "uid": "bob-uid",
                                        "groups": ["dev", "ops", "system:authenticated"]}}, v


def test_api_resources_self_reviews(kubectl):
    out = ok(kubectl("api-resources", "--api-group=authorization.k8s.io", "-o", "name"))
    assert out.split() == ["selfsubjectaccessreviews.authorization.k8s.io",
                           "selfsubjectrulesreviews.authorization.k8s.io"], out
    out = ok(kubectl("api-resources", "--api-group=authentication.k8s.io", "-o", "name"))
    assert out.split() == ["selfsubjectreviews.authentication.k8s.io"], out


# -- strategic merge patch on core kinds (kubectl apply's second run, default kubectl patch) ---

def test_apply_service_twice_merges_ports_by_key(kubectl, daemon, tmp_path):
    """kubectl apply of a changed Service sends a strategic merge patch with $setElementOrder and
    $patch: delete; the ports are merged by port, and no directive is stored."""
    ns = daemon.create_ns(uniq("smp"))
    f = tmp_path / "svc.yaml"
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s1", "namespace": ns},
           "spec": {"selector": {"app": "x"},
                    "ports": [{"name": "http", "port": 80, "targetPort": 8080}, {"name": "m", "port": 9090}]}}
    f.write_text(json.dumps(svc))
    assert "service/s1 created" in ok(kubectl("apply", "-f", str(f)))
    svc["spec"]["ports"][0]["port"] = 81
    f.write_text(json.dumps(svc))
    assert "service/s1 configured" in ok(kubectl("apply", "-f", str(f)))
    spec = daemon.get(f"/api/v1/namespaces/{ns}/services/s1").json["spec"]
    assert spec["ports"] == [{"name": "http", "port": 81, "protocol": "TCP", "targetPort": 8080},
                             {"name": "m", "port": 9090, "protocol": "TCP", "targetPort": 9090}], spec
    assert not [k for k in spec if k.startswith("$")], spec


def test_patch_pod_default_strategic_keeps_container_fields(kubectl, daemon):
    ns = daemon.create_ns(uniq("smp"))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1"},
           "spec": {"containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "60"],
                                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]}}
    assert daemon.post(f"/api/v1/namespaces/{ns}/pods", pod).status == 201
    # the container is merged by its name: the image (the one field a pod update may change)
    # changes, the rest of the container stays
    ok(kubectl("patch", "pod", "p1", "-n", ns, "-p",
               '{"spec":{"containers":[{"name":"main","image":"busybox:2"}]}}'))
    c = daemon.get(f"/api/v1/namespaces/{ns}/pods/p1").json["spec"]["containers"]
    assert c == [{"name": "main", "image": "busybox:2", "command": ["sleep", "60"],
                  "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                  "imagePullPolicy": "IfNotPresent", "resources": {},
                  "terminationMessagePath": "/dev/termination-log",
                  "terminationMessagePolicy": "File"}], c
    # the env may not change on a pod (ValidatePodUpdate); the merge itself is test_patch.c's
    err = fail(kubectl("patch", "pod", "p1", "-n", ns, "-p",
                       '{"spec":{"containers":[{"name":"main",'
                       '"env":[{"name":"B","$patch":"delete"},{"name":"C","value":"3"}]}]}}'))
    assert ('The Pod "p1" is invalid: spec: Forbidden: pod updates may not change fields other than '
            '`spec.containers[*].image`') in err, err
    daemon.delete(f"/api/v1/namespaces/{ns}/pods/p1", query={"gracePeriodSeconds": "0"})


def test_impersonation(two_users):
    """kubectl --as: the request is the impersonated user's when the caller may impersonate
    (system:masters may), 403 when it may not; never silently the caller's."""
    d = two_users
    p = d.kubectl("auth", "whoami", "--as=bob", "--as-group=dev", "-o", "json")
    assert p.returncode == 0, p
    info = json.loads(p.stdout)["status"]["userInfo"]
    assert (info["username"], info["groups"]) == ("bob", ["dev", "system:authenticated"]), info
    p = d.kubectl("get", "pods", "--as=bob")
    assert p.returncode == 1 and 'User "bob" cannot list resource "pods"' in p.stderr, p
    p = d.kubectl("auth", "can-i", "get", "pods", "--as=bob")
    assert (p.returncode, p.stdout) == (1, "no\n"), p
    p = d.kubectl("--token", d.bob, "get", "pods", "--as=admin")
    assert p.returncode == 1 and ('users "admin" is forbidden: User "bob" cannot impersonate resource '
                                  '"users" in API group "" at the cluster scope') in p.stderr, p
