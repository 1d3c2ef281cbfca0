"""The official Python client (Debian python3-kubernetes 22.6) against the daemon
(client-compat.md §10): CustomObjectsApi for pytorchjobs, CoreV1Api for namespaces."""
import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from e2elib import GROUP, PLURAL, VERSION, job, poll, rv, uniq


@pytest.fixture(scope="module")
def co(daemon):
    return client.CustomObjectsApi(daemon.api_client)


@pytest.fixture(scope="module")
def core(daemon):
    return client.CoreV1Api(daemon.api_client)


@pytest.fixture(scope="module")
def pns(daemon):
    return daemon.create_ns(uniq("py"))


def err_body(e):
    return json.loads(e.body)


def create(co, ns, name=None, **kw):
    return co.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, job(name or uniq("py"), **kw))


def test_namespaces(core):
    names = {n.metadata.name: n for n in core.list_namespace().items}
    assert "default" in names and "kube-system" in names, list(names)
    assert names["default"].status.phase == "Active"
    name = uniq("pyns")
    made = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    assert made.metadata.name == name and made.metadata.uid and made.status.phase == "Active", made
    got = core.read_namespace(name)
    assert got.metadata.uid == made.metadata.uid
    with pytest.raises(ApiException) as ei:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    assert ei.value.status == 409 and err_body(ei.value)["reason"] == "AlreadyExists"
    lst = core.list_namespace(field_selector=f"metadata.name={name}")
    assert [n.metadata.name for n in lst.items] == [name]
    core.delete_namespace(name)

    def gone():
        try:
            core.read_namespace(name)
            return False
        except ApiException as e:
            return e.status == 404
    poll(gone, 20, desc=f"namespace {name} deleted")
    with pytest.raises(ApiException) as ei:
        core.read_namespace("nope-" + uniq("x"))
    assert ei.value.status == 404


def test_job_in_missing_namespace(co):
    with pytest.raises(ApiException) as ei:
        create(co, "nope")
    assert ei.value.status == 404
    b = err_body(ei.value)
    assert b["message"] == 'namespaces "nope" not found' and b["reason"] == "NotFound", b


def test_create_get_list(co, pns):
    name = uniq("py")
    o = create(co, pns, name, labels={"app": "py"})
    assert o["metadata"]["name"] == name and o["metadata"]["generation"] == 1, o
    g = co.get_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name)
    assert g["metadata"]["uid"] == o["metadata"]["uid"], g
    lst = co.list_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, label_selector="app=py")
    assert lst["kind"] == "PyTorchJobList" and [i["metadata"]["name"] for i in lst["items"]] == [name], lst
    lst = co.list_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, field_selector=f"metadata.name={name}")
    assert [i["metadata"]["name"] for i in lst["items"]] == [name], lst
    cl = co.list_cluster_custom_object(GROUP, VERSION, PLURAL)
    assert (pns, name) in [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in cl["items"]]
    with pytest.raises(ApiException) as ei:
        co.create_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, job(name))
    assert ei.value.status == 409 and err_body(ei.value)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as ei:
        co.get_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, "missing-job")
    assert ei.value.status == 404
    assert err_body(ei.value)["message"] == 'pytorchjobs.kubeflow.org "missing-job" not found'


def test_create_dry_run(co, pns):
    name = uniq("py")
    o = co.create_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, job(name), dry_run="All",
                                           field_manager="me")
    assert o["metadata"]["uid"] and not o["metadata"].get("resourceVersion"), o
    with pytest.raises(ApiException) as ei:
        co.get_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name)
    assert ei.value.status == 404


def test_pagination(co, daemon):
    ns = daemon.create_ns(uniq("pypage"))
    for n in ("a", "b", "c"):
        create(co, ns, n)
    seen, tok, rvs = [], None, set()
    for _ in range(10):
        kw = {"limit": 1}
        if tok:
            kw["_continue"] = tok
        page = co.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, **kw)
        seen += [i["metadata"]["name"] for i in page["items"]]
        rvs.add(page["metadata"]["resourceVersion"])
        tok = page["metadata"].get("continue")
        if not tok:
            break
    assert seen == ["a", "b", "c"] and len(rvs) == 1, (seen, rvs)


def test_replace(co, pns):
    o = create(co, pns)
    name = o["metadata"]["name"]
    o["spec"]["runPolicy"]["backoffLimit"] = 2
    r = co.replace_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name, o)
    assert r["metadata"]["generation"] == 2 and rv(r) > rv(o), r
    with pytest.raises(ApiException) as ei:
        co.replace_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name, o)   # stale RV
    assert ei.value.status == 409 and err_body(ei.value)["reason"] == "Conflict"
    del r["metadata"]["resourceVersion"]
    with pytest.raises(ApiException) as ei:
        co.replace_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name, r)
    assert ei.value.status == 422


def test_patch(co, pns):
    o = create(co, pns, labels={"a": "1"})
    name = o["metadata"]["name"]
    r = co.patch_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name,
                                          {"metadata": {"labels": {"a": None, "b": "2"}}})
    assert r["metadata"]["labels"] == {"b": "2"}, r
    r2 = co.patch_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name,
                                           {"metadata": {"labels": {"b": "2"}}})
    assert rv(r2) == rv(r), (r2, r)
    # JSON-patch ops sent as a merge patch (the client always sends merge-patch+json) → 4xx
    with pytest.raises(ApiException) as ei:
        co.patch_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name,
                                          [{"op": "add", "path": "/metadata/labels/c", "value": "3"}])
    assert 400 <= ei.value.status < 500
    r = co.patch_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name,
                                          {"metadata": {"labels": {"dry": "1"}}}, dry_run="All")
    assert r["metadata"]["labels"]["dry"] == "1"
    g = co.get_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name)
    assert "dry" not in g["metadata"]["labels"], g


def test_status_subresource(co, pns):
    o = create(co, pns)
    name = o["metadata"]["name"]
    st = {"conditions": [{"type": "Created", "status": "True", "reason": "PyTorchJobCreated",
                          "message": "made", "lastUpdateTime": "2024-05-01T10:00:00Z",
                          "lastTransitionTime": "2024-05-01T10:00:00Z"}]}
    r = co.patch_namespaced_custom_object_status(GROUP, VERSION, pns, PLURAL, name,
                                                 {"status": st, "spec": {"runPolicy": {"backoffLimit": 5}}})
    assert r["status"] == st and "backoffLimit" not in r["spec"]["runPolicy"], r
    assert r["metadata"]["generation"] == 1, r
    g = co.get_namespaced_custom_object_status(GROUP, VERSION, pns, PLURAL, name)
    assert g["status"] == st, g
    g["status"]["conditions"][0]["message"] = "replaced"
    r = co.replace_namespaced_custom_object_status(GROUP, VERSION, pns, PLURAL, name, g)
    assert r["status"]["conditions"][0]["message"] == "replaced", r


def test_delete_variants(co, pns):
    # body with Foreground → the object, marked; then gone
    o = create(co, pns)
    name = o["metadata"]["name"]
    r = co.delete_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name,
                                           body=client.V1DeleteOptions(propagation_policy="Foreground",
                                                                       grace_period_seconds=5))
    assert r["kind"] == "PyTorchJob" and r["metadata"]["finalizers"] == ["foregroundDeletion"], r
    assert r["metadata"].get("deletionTimestamp"), r

    def gone(n):
        def f():
            try:
                co.get_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, n)
                return False
            except ApiException as e:
                return e.status == 404
        return f
    poll(gone(name), 10, desc=f"{name} deleted")
    # kwargs only → query string, no body
    o = create(co, pns)
    name = o["metadata"]["name"]
    r = co.delete_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name, propagation_policy="Background",
                                           grace_period_seconds=0, dry_run="All")
    assert r["kind"] == "Status" and r["status"] == "Success" and r["details"]["uid"] == o["metadata"]["uid"], r
    assert co.get_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name)["metadata"]["uid"] == o["metadata"]["uid"]
    # body and kwargs → the body wins
    r = co.delete_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name, grace_period_seconds=7,
                                           propagation_policy="Foreground",
                                           body={"dryRun": ["All"], "propagationPolicy": "Orphan"})
    assert r["metadata"]["finalizers"] == ["orphan"], r
    g = co.get_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name)
    assert "deletionTimestamp" not in g["metadata"], g
    # V1DeleteOptions(dry_run=[All]) body
    r = co.delete_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name,
                                           body=client.V1DeleteOptions(dry_run=["All"]))
    assert r["status"] == "Success", r
    # plain delete
    r = co.delete_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name)
    assert r["status"] == "Success" and r["details"]["name"] == name, r
    with pytest.raises(ApiException) as ei:
        co.delete_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name)
    assert ei.value.status == 404
    with pytest.raises(ApiException) as ei:
        co.delete_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, "x", propagation_policy="foreground")
    assert ei.value.status == 422


def test_delete_orphan_dependents_false_202(co, daemon, pns):
    o = create(co, pns, finalizers=["example.com/hold"])
    name = o["metadata"]["name"]
    # the client sends orphanDependents=False (capitalised) in the query; 202 is not an error
    r = co.delete_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name, orphan_dependents=False)
    assert r["kind"] == "PyTorchJob" and r["metadata"].get("deletionTimestamp"), r
    r = co.patch_namespaced_custom_object(GROUP, VERSION, pns, PLURAL, name, {"metadata": {"finalizers": None}})
    daemon.wait_gone(pns, name)


def test_delete_collection(co, daemon):
    ns = daemon.create_ns(uniq("pycoll"))
    for n in ("a", "b"):
        create(co, ns, n)
    r = co.delete_collection_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, dry_run="All")
    assert r["kind"] == "PyTorchJobList" and [i["metadata"]["name"] for i in r["items"]] == ["a", "b"], r
    assert len(co.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)["items"]) == 2
    r = co.delete_collection_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, propagation_policy="Background")
    assert [i["metadata"]["name"] for i in r["items"]] == ["a", "b"], r
    assert co.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)["items"] == []


def test_raw_call_through_client(daemon, pns):
    # the ApiClient itself (auth + CA from the kubeconfig) against a raw path
    resp = daemon.api_client.call_api("/version", "GET", auth_settings=["BearerToken"],
                                      response_type="object", _return_http_data_only=True)
    assert resp["minor"] == "32", resp


def test_discovery_and_version_calls(daemon):
    """The client's discovery and version calls ask for /version/, /apis/, /api/ and /api/v1/
    (with the slash): the same documents as without it."""
    api = daemon.api_client
    assert client.VersionApi(api).get_code().minor == "32"
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert GROUP in groups, groups
    assert "v1" in client.CoreApi(api).get_api_versions().versions
    names = {r.name for r in client.CoreV1Api(api).get_api_resources().resources}
    assert {"pods", "services", "namespaces"} <= names, names
    for path, kind in ((f"/apis/{GROUP}/", "APIGroup"), (f"/apis/{GROUP}/{VERSION}/", "APIResourceList")):
        r = daemon.get(path)
        assert r.status == 200 and r.json["kind"] == kind, r
    # a resource path keeps its slash: not a discovery document
    assert daemon.get(f"/apis/{GROUP}/{VERSION}/{PLURAL}/").status == 404


def test_namespace_metadata_name_label(core):
    """kube sets kubernetes.io/metadata.name on every namespace, and keeps it on update."""
    name = uniq("pylbl")
    made = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    assert made.metadata.labels == {"kubernetes.io/metadata.name": name}
    got = core.list_namespace(label_selector=f"kubernetes.io/metadata.name={name}").items
    assert [n.metadata.name for n in got] == [name]
    made.metadata.labels = {"team": "a"}
    upd = core.replace_namespace(name, made)
    assert upd.metadata.labels == {"team": "a", "kubernetes.io/metadata.name": name}
    upd = core.patch_namespace(name, {"metadata": {"labels": {"kubernetes.io/metadata.name": "other"}}})
    assert upd.metadata.labels["kubernetes.io/metadata.name"] == name
    core.delete_namespace(name)
