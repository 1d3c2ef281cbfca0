"""Create, get, list, update, /status, patch, apply and namespaces (k8s-api-semantics.md §6–§8,
§13 cases 31–42; pytorchjob-semantics.md §4.2 webhook checks)."""
import copy
import re

import pytest
import yaml

from e2elib import (API, APPLY, GK, GR, GROUP, JSONPATCH, MERGE, PLURAL, RV_RE,
                    STRATEGIC, TIME_RE, QUIET_MANAGER, UNSUPPORTED_PATCH_MSG, UUID_RE, assert_not_found,
                    assert_status, assert_webhook_denied, cause, container, invalid_details, job,
                    namespace_obj, pj, poll, replica, rv, strip_volatile, uniq)

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                 "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
                 "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
             "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
             "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
               "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
               "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
GEN_CHARS = "bcdfghjklmnpqrstvwxz2456789"


def sample_status(msg="hello"):
    return {"conditions": [{"type": "Created", "status": "True", "reason": "PyTorchJobCreated",
                            "message": msg, "lastUpdateTime": "2024-05-01T10:00:00Z",
                            "lastTransitionTime": "2024-05-01T10:00:00Z"}],
            "replicaStatuses": {"Master": {"active": 1}}}


# -- create (§6) --------------------------------------------------------------------------------

def test_create_returns_stored_object(daemon, ns):
    name = uniq()
    r = daemon.post(pj(ns), job(name, labels={"app": "x"}))
    assert r.status == 201, r
    assert r.is_json, r
    o = r.json
    assert o["apiVersion"] == "kubeflow.org/v1" and o["kind"] == "PyTorchJob", o
    m = o["metadata"]
    assert m["name"] == name and m["namespace"] == ns, m
    assert UUID_RE.match(m["uid"]), m
    assert TIME_RE.match(m["creationTimestamp"]), m
    assert m["generation"] == 1, m
    assert isinstance(m["resourceVersion"], str) and RV_RE.match(m["resourceVersion"]), m
    assert m["labels"] == {"app": "x"}, m
    assert "selfLink" not in m and "deletionTimestamp" not in m, m
    # CR objects are generic maps: keys sorted at every level
    assert list(o) == sorted(o), list(o)
    assert list(m) == sorted(m), list(m)
    g = daemon.get(pj(ns, name))
    assert g.status == 200, g
    assert strip_volatile(g.json) == strip_volatile(o)
    assert list(g.json) == sorted(g.json)


def test_create_wipes_server_fields(daemon, ns):
    name = uniq()
    b = job(name, uid="11111111-1111-4111-8111-111111111111",
            creationTimestamp="2001-01-01T00:00:00Z", deletionTimestamp="2001-01-01T00:00:00Z",
            deletionGracePeriodSeconds=5, generation=7)
    r = daemon.post(pj(ns), b)
    assert r.status == 201, r
    m = r.json["metadata"]
    assert m["uid"] != "11111111-1111-4111-8111-111111111111" and UUID_RE.match(m["uid"]), m
    assert m["creationTimestamp"] != "2001-01-01T00:00:00Z", m
    assert "deletionTimestamp" not in m and "deletionGracePeriodSeconds" not in m, m
    assert m["generation"] == 1, m


def test_create_already_exists_409(daemon, ns):  # case 31
    name = daemon.create_job(ns)["metadata"]["name"]
    r = daemon.post(pj(ns), job(name))
    assert_status(r, 409, "AlreadyExists", f'{GR} "{name}" already exists',
                  details={"name": name, "group": GROUP, "kind": PLURAL})


def test_create_while_terminating_409(daemon, ns):  # case 31, terminating variant
    name = daemon.create_job(ns, finalizers=["example.com/hold"])["metadata"]["name"]
    assert daemon.delete(pj(ns, name)).status == 200
    r = daemon.post(pj(ns), job(name))
    assert_status(r, 409, "AlreadyExists", f'object is being deleted: {GR} "{name}" already exists',
                  details={"name": name, "group": GROUP, "kind": PLURAL})
    daemon.remove_finalizers(ns, name)
    daemon.wait_gone(ns, name)


def test_create_bad_name_422(daemon, ns):  # case 32
    r = daemon.post(pj(ns), job("Bad_Name"))
    msg = f'Invalid value: "Bad_Name": {SUBDOMAIN_MSG}'
    assert_status(r, 422, "Invalid", f'{GK} "Bad_Name" is invalid: metadata.name: {msg}',
                  details=invalid_details("Bad_Name", GROUP, "PyTorchJob",
                                          [cause("FieldValueInvalid", msg, "metadata.name")]))


def test_create_name_too_long_422(daemon, ns):  # case 32
    name = "a" * 254
    r = daemon.post(pj(ns), job(name))
    b = assert_status(r, 422, "Invalid", prefix=f'{GK} "{name}" is invalid: metadata.name: ')
    causes = b["details"]["causes"]
    assert len(causes) == 1 and causes[0]["field"] == "metadata.name", causes
    assert causes[0]["reason"] == "FieldValueInvalid", causes
    assert causes[0]["message"].endswith("must be no more than 253 characters"), causes


def test_create_no_name_422(daemon, ns):
    b = job(None)
    r = daemon.post(pj(ns), b)
    body = assert_status(r, 422, "Invalid",
                         f'{GK} "" is invalid: metadata.name: Required value: name or generateName is required')
    assert body["details"]["causes"] == [
        cause("FieldValueRequired", "Required value: name or generateName is required", "metadata.name")]


def test_generate_name(daemon, ns):  # case 33
    r = daemon.post(pj(ns), job(None, generate_name="job-"))
    assert r.status == 201, r
    m = r.json["metadata"]
    assert re.fullmatch(f"job-[{GEN_CHARS}]{{5}}", m["name"]), m["name"]
    assert m["generateName"] == "job-", m
    assert m["generation"] == 1 and UUID_RE.match(m["uid"]) and TIME_RE.match(m["creationTimestamp"]), m
    assert daemon.get(pj(ns, m["name"])).status == 200
    names = {daemon.post(pj(ns), job(None, generate_name="job-")).json["metadata"]["name"]
             for _ in range(5)}
    assert len(names) == 5 and m["name"] not in names, names


def test_create_drops_status(daemon, ns):  # case 34
    b = job(uniq())
    b["status"] = sample_status()
    r = daemon.post(pj(ns), b)
    assert r.status == 201, r
    assert "status" not in r.json or r.json["status"] in ({}, None), r
    g = daemon.get(pj(ns, b["metadata"]["name"])).json
    assert "status" not in g or g["status"] in ({}, None), g


def test_create_namespace_mismatch_400(daemon, ns):  # case 34
    r = daemon.post(pj(ns), job(uniq(), ns="other"))
    assert_status(r, 400, "BadRequest",
                  "the namespace of the provided object does not match the namespace sent on the request")


def test_create_with_resource_version(daemon, ns):  # case 34
    r = daemon.post(pj(ns), job(uniq(), resourceVersion="5"))
    assert r.status in (400, 500), r
    assert r.json["message"] == "resourceVersion should not be set on objects to be created", r


def test_create_dry_run(daemon, ns):  # case 35
    name = uniq()
    r = daemon.post(pj(ns, query={"dryRun": "All"}), job(name))
    assert r.status == 201, r
    m = r.json["metadata"]
    assert UUID_RE.match(m["uid"]) and TIME_RE.match(m["creationTimestamp"]), m
    assert not m.get("resourceVersion"), m
    assert_not_found(daemon.get(pj(ns, name)), name)


def test_create_dry_run_bogus_422(daemon, ns):
    r = daemon.post(pj(ns, query={"dryRun": "bogus"}), job(uniq()))
    msg = 'Unsupported value: ["bogus"]: supported values: "All"'
    assert_status(r, 422, "Invalid", f'CreateOptions.meta.k8s.io "" is invalid: dryRun: {msg}',
                  details=invalid_details("", "meta.k8s.io", "CreateOptions",
                                          [cause("FieldValueNotSupported", msg, "dryRun")]))


def test_create_in_missing_namespace_404(daemon):
    r = daemon.post(pj("nope"), job(uniq()))
    assert_status(r, 404, "NotFound", 'namespaces "nope" not found',
                  details={"name": "nope", "kind": "namespaces"})


def test_create_field_manager_and_validation_params(daemon, ns):
    name = uniq()
    r = daemon.post(pj(ns, query={"fieldManager": "kubectl-create", "fieldValidation": "Strict"}), job(name))
    assert r.status == 201, r


def test_create_legacy_toplevel_runpolicy_aliases(daemon, ns):
    name = uniq()
    b = job(name)
    b["spec"].update({"activeDeadlineSeconds": 100, "ttlSecondsAfterFinished": 60,
                      "cleanPodPolicy": "All", "backoffLimit": 3})
    r = daemon.post(pj(ns), b)
    assert r.status == 201, r
    g = daemon.get(pj(ns, name)).json
    spec = g["spec"]
    for k, v in (("activeDeadlineSeconds", 100), ("ttlSecondsAfterFinished", 60),
                 ("cleanPodPolicy", "All"), ("backoffLimit", 3)):
        assert spec.get(k) == v or spec.get("runPolicy", {}).get(k) == v, (k, spec)


def test_create_finalizer_validation(daemon, ns):
    name = uniq()
    r = daemon.post(pj(ns), job(name, finalizers=["orphan", "foregroundDeletion"]))
    b = assert_status(r, 422, "Invalid", prefix=f'{GK} "{name}" is invalid: metadata.finalizers: ')
    assert b["message"].endswith("finalizer orphan and foregroundDeletion cannot be both set"), b
    r = daemon.post(pj(ns), job(name, finalizers=["Not A Valid/Name!"]))
    b = assert_status(r, 422, "Invalid", prefix=f'{GK} "{name}" is invalid: ')
    fields = {c["field"] for c in b["details"]["causes"]}
    assert fields == {"metadata.finalizers"}, b


def test_create_bad_label_422(daemon, ns):
    name = uniq()
    r = daemon.post(pj(ns), job(name, labels={"bad key!": "v"}))
    b = assert_status(r, 422, "Invalid", prefix=f'{GK} "{name}" is invalid: metadata.labels: ')
    assert b["details"]["causes"][0]["field"] == "metadata.labels", b


# -- schema (422) and webhook (403) validation ---------------------------------------------------

def test_schema_required_replica_specs_422(daemon, ns):
    name = uniq()
    b = job(name)
    del b["spec"]["pytorchReplicaSpecs"]
    r = daemon.post(pj(ns), b)
    assert_status(r, 422, "Invalid", f'{GK} "{name}" is invalid: spec.pytorchReplicaSpecs: Required value',
                  details=invalid_details(name, GROUP, "PyTorchJob",
                                          [cause("FieldValueRequired", "Required value",
                                                 "spec.pytorchReplicaSpecs")]))


def test_schema_type_error_422(daemon, ns):
    name = uniq()
    b = job(name)
    b["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = "one"
    r = daemon.post(pj(ns), b)
    body = assert_status(r, 422, "Invalid", prefix=f'{GK} "{name}" is invalid: ')
    fields = [(c["field"], c["reason"]) for c in body["details"]["causes"]]
    assert ("spec.pytorchReplicaSpecs.Master.replicas", "FieldValueTypeInvalid") in fields, fields


def _mut_name(n):
    def f(b):
        b["metadata"]["name"] = n
    return f


def _mut(fn):
    return fn


RS = "spec.pytorchReplicaSpecs"
WEBHOOK_CASES = [
    ("dns1035-dot", _mut_name("a.b"), f'metadata.name: Invalid value: "a.b": should match: {DNS1035_MSG}'),
    ("dns1035-digit", _mut_name("1abc"), f'metadata.name: Invalid value: "1abc": should match: {DNS1035_MSG}'),
    ("dns1035-long", _mut_name("a" * 64),
     f'metadata.name: Invalid value: "{"a" * 64}": should match: must be no more than 63 characters'),
    ("managed-by", lambda b: b["spec"]["runPolicy"].update(managedBy="foo"),
     'spec.runPolicy.managedBy: Unsupported value: "foo": supported values: '
     '"kubeflow.org/training-operator", "kueue.x-k8s.io/multikueue"'),
    ("elastic-no-worker", lambda b: b["spec"].update(elasticPolicy={"minReplicas": 1, "maxReplicas": 2}),
     f"{RS}[Worker]: Required value: must be configured if elastic policy is used"),
    ("nproc-both", lambda b: (b["spec"].update(elasticPolicy={"nProcPerNode": 1}, nprocPerNode="2"),
                              b["spec"]["pytorchReplicaSpecs"].update(Worker=replica(1))),
     "spec.elasticPolicy.nProcPerNode: Forbidden: must not be used with spec.nprocPerNode"),
    ("lowercase-key", lambda b: b["spec"].update(pytorchReplicaSpecs={"master": replica(1)}),
     f'{RS}[master]: Unsupported value: "master": supported values: "Master", "Worker"'),
    ("no-containers", lambda b: b["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"].update(containers=[]),
     f"[{RS}[Master].template.spec.containers: Required value: must be specified, "
     f"{RS}[Master].template.spec.containers: Required value: must have at least one container with name pytorch]"),
    ("no-image", lambda b: b["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"].update(
        containers=[container(image=None)]),
     f"{RS}[Master].template.spec.containers[0].image: Required value: must be required"),
    ("no-pytorch-container", lambda b: b["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"].update(
        containers=[container(name="main")]),
     f"{RS}[Master].template.spec.containers: Required value: must have at least one container with name pytorch"),
    ("master-replicas-2", lambda b: b["spec"]["pytorchReplicaSpecs"]["Master"].update(replicas=2),
     f"{RS}[Master].replicas: Forbidden: must be 1"),
    ("master-replicas-nil", lambda b: b["spec"]["pytorchReplicaSpecs"]["Master"].pop("replicas"),
     f"{RS}[Master].replicas: Forbidden: must be 1"),
    ("worker-replicas-0", lambda b: b["spec"]["pytorchReplicaSpecs"].update(Worker=replica(0)),
     f"{RS}[Worker].replicas: Forbidden: must be at least 1"),
]


@pytest.mark.parametrize("mutate,aggregate", [c[1:] for c in WEBHOOK_CASES], ids=[c[0] for c in WEBHOOK_CASES])
def test_webhook_denies_create(daemon, ns, mutate, aggregate):
    b = job(uniq("w"))
    mutate(b)
    r = daemon.post(pj(ns), b)
    assert_webhook_denied(r, aggregate)
    assert daemon.get(pj(ns, b["metadata"]["name"])).status == 404


def test_webhook_two_errors_aggregate(daemon, ns):
    b = job("x.y")
    b["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = 3
    r = daemon.post(pj(ns), b)
    assert_webhook_denied(r, f'[metadata.name: Invalid value: "x.y": should match: {DNS1035_MSG}, '
                             f"{RS}[Master].replicas: Forbidden: must be 1]")


def test_webhook_worker_only_and_elastic_ok(daemon, ns):
    b = job(uniq("w"))
    b["spec"]["pytorchReplicaSpecs"] = {"Worker": replica(2)}
    b["spec"]["elasticPolicy"] = {"minReplicas": 1, "maxReplicas": 2, "rdzvBackend": "c10d"}
    r = daemon.post(pj(ns), b)
    assert r.status == 201, r


def test_webhook_deprecation_warning(daemon, ns):
    b = job(uniq("w"), worker=True)
    b["spec"]["elasticPolicy"] = {"nProcPerNode": 2}
    r = daemon.post(pj(ns), b)
    assert r.status == 201, r
    warnings = r.headers.get_all("Warning") or []
    assert any("spec.elasticPolicy.nProcPerNode is deprecated, use spec.nprocPerNode instead" in w
               and w.startswith("299 ") for w in warnings), warnings


def test_webhook_on_update(daemon, ns):
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    bad = copy.deepcopy(o)
    bad["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = 2
    assert_webhook_denied(daemon.put(pj(ns, name), bad), f"{RS}[Master].replicas: Forbidden: must be 1")
    r = daemon.patch(pj(ns, name), {"spec": {"pytorchReplicaSpecs": {"Master": {"replicas": 2}}}})
    assert_webhook_denied(r, f"{RS}[Master].replicas: Forbidden: must be 1")
    r = daemon.patch(pj(ns, name), [{"op": "replace", "path": "/spec/runPolicy/managedBy", "value": "foo"}],
                     ctype=JSONPATCH)
    assert_webhook_denied(r, 'spec.runPolicy.managedBy: Unsupported value: "foo": supported values: '
                             '"kubeflow.org/training-operator", "kueue.x-k8s.io/multikueue"')
    assert rv(daemon.get(pj(ns, name)).json) == rv(o)


# -- get and list (§8) ------------------------------------------------------------------------

def test_get_missing_404(daemon, ns):
    assert_not_found(daemon.get(pj(ns, "does-not-exist")), "does-not-exist")
    assert_not_found(daemon.get(pj(ns, "does-not-exist", "status")), "does-not-exist")


def test_get_watch_param_is_plain_get(daemon, ns):  # §1: a watch param is ignored on an item URL
    o = daemon.create_job(ns)
    r = daemon.get(pj(ns, o["metadata"]["name"], query={"watch": "true"}))
    assert r.status == 200 and r.json["metadata"]["uid"] == o["metadata"]["uid"], r


@pytest.fixture(scope="module")
def labelled(daemon):
    """A namespace with four jobs: a(team=a,tier=1) b(team=b) c(team=a,tier=2) d(no labels)."""
    ns = daemon.create_ns(uniq("sel"))
    for name, labels in (("a", {"team": "a", "tier": "1"}), ("b", {"team": "b"}),
                         ("c", {"team": "a", "tier": "2"}), ("d", None)):
        daemon.create_job(ns, name, labels=labels)
    return ns


def _names(r):
    assert r.status == 200, r
    return [i["metadata"]["name"] for i in r.json["items"]]


def test_list_shape(daemon, labelled):
    r = daemon.get(pj(labelled))
    assert r.status == 200, r
    b = r.json
    assert b["kind"] == "PyTorchJobList" and b["apiVersion"] == "kubeflow.org/v1", b
    assert RV_RE.match(b["metadata"]["resourceVersion"]), b
    assert not b["metadata"].get("continue"), b
    assert [i["metadata"]["name"] for i in b["items"]] == ["a", "b", "c", "d"]
    for i in b["items"]:
        assert i["apiVersion"] == "kubeflow.org/v1" and i["kind"] == "PyTorchJob", i
    # the list RV is at least every item's RV
    assert int(b["metadata"]["resourceVersion"]) >= max(rv(i) for i in b["items"])


def test_list_empty_namespace(daemon):
    ns = daemon.create_ns(uniq("empty"))
    r = daemon.get(pj(ns))
    assert r.status == 200, r
    assert r.json["items"] == [], r


@pytest.mark.parametrize("sel,expected", [
    ("team=a", ["a", "c"]),
    ("team==a", ["a", "c"]),
    ("team!=a", ["b", "d"]),
    ("team in (a,b)", ["a", "b", "c"]),
    ("team notin (a)", ["b", "d"]),
    ("tier", ["a", "c"]),
    ("!tier", ["b", "d"]),
    ("team=a,tier=2", ["c"]),
    (" team = a , tier in ( 1 ) ", ["a"]),
    ("tier>1", ["c"]),
    ("", ["a", "b", "c", "d"]),
])
def test_list_label_selector(daemon, labelled, sel, expected):
    assert _names(daemon.get(pj(labelled, query={"labelSelector": sel}))) == expected


@pytest.mark.parametrize("sel", ["team in (", "team in a", "=a", "team=a=b", "x/y/z=1"])
def test_list_label_selector_invalid_400(daemon, labelled, sel):
    assert_status(daemon.get(pj(labelled, query={"labelSelector": sel})), 400, "BadRequest")


def test_list_field_selector(daemon, labelled):
    assert _names(daemon.get(pj(labelled, query={"fieldSelector": "metadata.name=b"}))) == ["b"]
    assert _names(daemon.get(pj(labelled, query={"fieldSelector": "metadata.name==b"}))) == ["b"]
    assert _names(daemon.get(pj(labelled, query={"fieldSelector": "metadata.name!=b"}))) == ["a", "c", "d"]
    assert _names(daemon.get(pj(labelled, query={"fieldSelector": f"metadata.namespace={labelled}"}))) == \
        ["a", "b", "c", "d"]
    assert _names(daemon.get(pj(labelled, query={"fieldSelector": "metadata.namespace=other"}))) == []
    assert _names(daemon.get(pj(labelled, query={"fieldSelector": "metadata.name=a",
                                                 "labelSelector": "team=a"}))) == ["a"]
    r = daemon.get(pj(labelled, query={"fieldSelector": "spec.x=1"}))
    assert_status(r, 400, "BadRequest", "field label not supported: spec.x")
    r = daemon.get(pj(labelled, query={"fieldSelector": "metadata.name"}))
    assert_status(r, 400, "BadRequest", "invalid selector: 'metadata.name'; can't understand 'metadata.name'")


def test_list_cluster_wide(daemon, labelled):
    r = daemon.get(f"{API}/pytorchjobs", query={"fieldSelector": f"metadata.namespace={labelled}"})
    assert _names(r) == ["a", "b", "c", "d"]
    r = daemon.get(f"{API}/pytorchjobs")
    assert r.status == 200 and r.json["kind"] == "PyTorchJobList", r
    keys = [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in r.json["items"]]
    assert keys == sorted(keys), keys
    assert (labelled, "a") in keys


def test_list_pagination(daemon):  # case 41
    ns = daemon.create_ns(uniq("page"))
    made = {n: daemon.create_job(ns, n) for n in ("p1", "p2", "p3")}
    r = daemon.get(pj(ns, query={"limit": 1}))
    assert r.status == 200, r
    first = r.json
    list_rv = first["metadata"]["resourceVersion"]
    assert [i["metadata"]["name"] for i in first["items"]] == ["p1"], first
    tok = first["metadata"].get("continue")
    assert tok, first
    # changes after the first page are not visible in later pages (consistent snapshot)
    daemon.patch(pj(ns, "p2"), {"metadata": {"labels": {"changed": "yes"}}})
    daemon.create_job(ns, "p4")
    seen = ["p1"]
    pages = 1
    while tok:
        r = daemon.get(pj(ns, query={"limit": 1, "continue": tok}))
        assert r.status == 200, r
        b = r.json
        assert b["metadata"]["resourceVersion"] == list_rv, (b["metadata"], list_rv)
        assert len(b["items"]) <= 1, b
        for i in b["items"]:
            seen.append(i["metadata"]["name"])
            if i["metadata"]["name"] == "p2":
                assert rv(i) == rv(made["p2"]) and "changed" not in i["metadata"].get("labels", {}), i
        tok = b["metadata"].get("continue")
        pages += 1
        assert pages < 10, seen
    assert seen == ["p1", "p2", "p3"], seen
    # limit 0 = unlimited, sees the new state
    assert _names(daemon.get(pj(ns, query={"limit": 0}))) == ["p1", "p2", "p3", "p4"]
    assert _names(daemon.get(pj(ns, query={"limit": 10}))) == ["p1", "p2", "p3", "p4"]


def test_list_continue_errors(daemon, labelled):  # case 41
    r = daemon.get(pj(labelled, query={"continue": "garbage"}))
    assert_status(r, 400, "BadRequest", prefix="invalid continue token")
    tok = daemon.get(pj(labelled, query={"limit": 1})).json["metadata"]["continue"]
    r = daemon.get(pj(labelled, query={"continue": tok, "resourceVersion": "5"}))
    assert_status(r, 400, "BadRequest", "specifying resource version is not allowed when using continue")
    r = daemon.get(pj(labelled, query={"continue": tok, "resourceVersion": "0", "limit": 1}))
    assert r.status == 200, r
    r = daemon.get(pj(labelled, query={"continue": tok, "resourceVersionMatch": "NotOlderThan"}))
    assert_status(r, 422, "Invalid", prefix='ListOptions.meta.k8s.io "" is invalid: ')


def test_list_resource_version_match(daemon, labelled):  # case 42
    r = daemon.get(pj(labelled, query={"resourceVersionMatch": "Exact"}))
    msg = "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"
    assert_status(r, 422, "Invalid", f'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: {msg}',
                  details=invalid_details("", "meta.k8s.io", "ListOptions",
                                          [cause("FieldValueForbidden", msg, "resourceVersionMatch")]))
    list_rv = daemon.get(pj(labelled)).json["metadata"]["resourceVersion"]
    r = daemon.get(pj(labelled, query={"resourceVersionMatch": "Bogus", "resourceVersion": list_rv}))
    assert_status(r, 422, "Invalid",
                  'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "Bogus": '
                  'supported values: "Exact", "NotOlderThan", ""')
    r = daemon.get(pj(labelled, query={"resourceVersionMatch": "Exact", "resourceVersion": "0"}))
    assert_status(r, 422, "Invalid", prefix='ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: ')
    r = daemon.get(pj(labelled, query={"resourceVersionMatch": "NotOlderThan", "resourceVersion": list_rv}))
    assert _names(r) == ["a", "b", "c", "d"]
    r = daemon.get(pj(labelled, query={"resourceVersionMatch": "NotOlderThan", "resourceVersion": "0"}))
    assert _names(r) == ["a", "b", "c", "d"]
    r = daemon.get(pj(labelled, query={"resourceVersionMatch": "Exact", "resourceVersion": list_rv}))
    assert _names(r) == ["a", "b", "c", "d"]
    assert r.json["metadata"]["resourceVersion"] == list_rv, r
    assert _names(daemon.get(pj(labelled, query={"resourceVersion": "0"}))) == ["a", "b", "c", "d"]
    assert_status(daemon.get(pj(labelled, query={"limit": "abc"})), 400, "BadRequest")
    r = daemon.get(pj(labelled, query={"resourceVersion": "abc"}))
    assert_status(r, 400, "BadRequest", prefix="invalid resource version")
    r = daemon.get(pj(labelled, query={"sendInitialEvents": "true"}))
    assert_status(r, 422, "Invalid",
                  'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: '
                  'sendInitialEvents is forbidden for list')


def test_list_resource_version_too_large_504(daemon, labelled):
    cur = int(daemon.get(pj(labelled)).json["metadata"]["resourceVersion"])
    want = cur + 100000
    r = daemon.get(pj(labelled, query={"resourceVersion": str(want),
                                       "resourceVersionMatch": "NotOlderThan"}), timeout=20)
    b = assert_status(r, 504, "Timeout", prefix=f"Timeout: Too large resource version: {want}, current: ")
    assert b["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge", b
    assert b["details"]["retryAfterSeconds"] == 1, b


# -- update (PUT) (§7.1, cases 36–38) ----------------------------------------------------------

def test_put_conflicts(daemon, ns):  # case 36
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    cur = copy.deepcopy(o)
    cur["metadata"]["labels"] = {"v": "1"}
    assert daemon.put(pj(ns, name), cur).status == 200
    stale = copy.deepcopy(o)
    stale["metadata"]["labels"] = {"v": "2"}
    r = daemon.put(pj(ns, name), stale)
    assert_status(r, 409, "Conflict",
                  f'Operation cannot be fulfilled on {GR} "{name}": the object has been modified; '
                  "please apply your changes to the latest version and try again",
                  details={"name": name, "group": GROUP, "kind": PLURAL})
    norv = copy.deepcopy(o)
    del norv["metadata"]["resourceVersion"]
    r = daemon.put(pj(ns, name), norv)
    msg = "Invalid value: 0: must be specified for an update"
    assert_status(r, 422, "Invalid", f'{GR} "{name}" is invalid: metadata.resourceVersion: {msg}',
                  details={"name": name, "group": GROUP, "kind": PLURAL,
                           "causes": [cause("FieldValueInvalid", msg, "metadata.resourceVersion")]})


def test_put_mismatches(daemon, ns):
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    r = daemon.put(pj(ns, "other-name"), o)
    assert_status(r, 400, "BadRequest",
                  f"the name of the object ({name}) does not match the name on the URL (other-name)")
    b = copy.deepcopy(o)
    b["metadata"]["namespace"] = "elsewhere"
    r = daemon.put(pj(ns, name), b)
    assert_status(r, 400, "BadRequest",
                  f"the namespace of the object (elsewhere) does not match the namespace on the request ({ns})")
    r = daemon.put(pj(ns, "missing-job"), job("missing-job", resourceVersion="1"))
    assert_not_found(r, "missing-job")
    b = copy.deepcopy(o)
    b["metadata"]["uid"] = "11111111-1111-4111-8111-111111111111"
    r = daemon.put(pj(ns, name), b)
    assert_status(r, 409, "Conflict")


def test_put_generation_rules(daemon, ns):  # case 37
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    # spec change → generation +1
    b = copy.deepcopy(o)
    b["spec"]["runPolicy"]["backoffLimit"] = 4
    r = daemon.put(pj(ns, name), b)
    assert r.status == 200, r
    o2 = r.json
    assert o2["metadata"]["generation"] == 2 and rv(o2) > rv(o), o2["metadata"]
    assert o2["spec"]["runPolicy"]["backoffLimit"] == 4
    # labels only → generation unchanged, RV changes
    b = copy.deepcopy(o2)
    b["metadata"]["labels"] = {"x": "y"}
    b["metadata"]["annotations"] = {"note": "n"}
    r = daemon.put(pj(ns, name), b)
    assert r.status == 200, r
    o3 = r.json
    assert o3["metadata"]["generation"] == 2 and rv(o3) > rv(o2), o3["metadata"]
    # identical object → RV unchanged
    r = daemon.put(pj(ns, name), o3)
    assert r.status == 200, r
    assert rv(r.json) == rv(o3), r
    assert rv(daemon.get(pj(ns, name)).json) == rv(o3)
    # client-supplied generation / creationTimestamp are ignored
    b = copy.deepcopy(o3)
    b["metadata"]["generation"] = 99
    b["metadata"]["creationTimestamp"] = "2001-01-01T00:00:00Z"
    r = daemon.put(pj(ns, name), b)
    assert r.status == 200, r
    assert r.json["metadata"]["generation"] == 2, r
    assert r.json["metadata"]["creationTimestamp"] == o["metadata"]["creationTimestamp"], r
    assert r.json["metadata"]["uid"] == o["metadata"]["uid"], r


def test_put_dry_run(daemon, ns):
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    b = copy.deepcopy(o)
    b["metadata"]["labels"] = {"dry": "run"}
    r = daemon.put(pj(ns, name, query={"dryRun": "All"}), b)
    assert r.status == 200 and r.json["metadata"]["labels"] == {"dry": "run"}, r
    g = daemon.get(pj(ns, name)).json
    assert rv(g) == rv(o) and "labels" not in g["metadata"], g


def test_put_ignores_status(daemon, ns):  # case 38
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    r = daemon.put(pj(ns, name, "status"), dict(o, status=sample_status("one")))
    assert r.status == 200, r
    cur = r.json
    b = copy.deepcopy(cur)
    b["status"] = sample_status("two")
    b["metadata"]["labels"] = {"k": "v"}
    r = daemon.put(pj(ns, name), b)
    assert r.status == 200, r
    assert r.json["status"] == cur["status"], r
    assert r.json["metadata"]["labels"] == {"k": "v"}, r
    # omitting status keeps it too
    b = copy.deepcopy(r.json)
    del b["status"]
    r = daemon.put(pj(ns, name), b)
    assert r.status == 200 and r.json["status"] == cur["status"], r


# -- /status (§7.2, case 38) -----------------------------------------------------------------

def test_status_subresource(daemon, ns):
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    r = daemon.get(pj(ns, name, "status"))
    assert r.status == 200, r
    assert strip_volatile(r.json) == strip_volatile(o)
    # PUT /status with spec, metadata and status changes → only status changes
    b = copy.deepcopy(o)
    b["status"] = sample_status()
    b["spec"]["runPolicy"]["backoffLimit"] = 9
    b["metadata"]["labels"] = {"ignored": "yes"}
    b["metadata"]["finalizers"] = ["example.com/ignored"]
    r = daemon.put(pj(ns, name, "status"), b)
    assert r.status == 200, r
    s = r.json
    assert s["status"] == sample_status(), s
    assert "backoffLimit" not in s["spec"]["runPolicy"], s
    assert "labels" not in s["metadata"] and "finalizers" not in s["metadata"], s
    assert s["metadata"]["generation"] == 1 and rv(s) > rv(o), s["metadata"]
    g = daemon.get(pj(ns, name)).json
    assert g["status"] == sample_status() and rv(g) == rv(s), g
    # stale RV → 409; no RV → 422
    r = daemon.put(pj(ns, name, "status"), dict(o, status=sample_status("x")))
    assert_status(r, 409, "Conflict",
                  f'Operation cannot be fulfilled on {GR} "{name}": the object has been modified; '
                  "please apply your changes to the latest version and try again")
    nov = copy.deepcopy(s)
    del nov["metadata"]["resourceVersion"]
    assert_status(daemon.put(pj(ns, name, "status"), nov), 422, "Invalid")
    # merge PATCH /status changes only status
    r = daemon.patch(pj(ns, name, "status"), {"status": {"replicaStatuses": {"Master": {"active": 0, "succeeded": 1}}},
                                              "spec": {"runPolicy": {"backoffLimit": 7}},
                                              "metadata": {"labels": {"ignored": "too"}}})
    assert r.status == 200, r
    p = r.json
    assert p["status"]["replicaStatuses"]["Master"] == {"active": 0, "succeeded": 1}, p
    assert "backoffLimit" not in p["spec"]["runPolicy"] and "labels" not in p["metadata"], p
    assert p["metadata"]["generation"] == 1, p
    # JSON patch on /status
    r = daemon.patch(pj(ns, name, "status"),
                     [{"op": "replace", "path": "/status/conditions/0/message", "value": "jp"}], ctype=JSONPATCH)
    assert r.status == 200 and r.json["status"]["conditions"][0]["message"] == "jp", r
    # PUT /status without status clears it
    b = copy.deepcopy(r.json)
    del b["status"]
    r = daemon.put(pj(ns, name, "status"), b)
    assert r.status == 200, r
    assert r.json.get("status") in (None, {}), r
    assert daemon.get(pj(ns, name)).json.get("status") in (None, {})


def test_status_validation(daemon, ns):
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    b = copy.deepcopy(o)
    b["status"] = {"conditions": [{"reason": "NoType"}]}
    r = daemon.put(pj(ns, name, "status"), b)
    body = assert_status(r, 422, "Invalid")
    fields = {c["field"] for c in body["details"]["causes"]}
    assert any(f.startswith("status.conditions") for f in fields), body


# -- PATCH (§7.3, cases 39–40) ----------------------------------------------------------------

def test_merge_patch(daemon, ns):
    o = daemon.create_job(ns, labels={"keep": "1", "drop": "2"})
    name = o["metadata"]["name"]
    r = daemon.patch(pj(ns, name), {"metadata": {"labels": {"drop": None, "new": "3"}}})
    assert r.status == 200, r
    p = r.json
    assert p["metadata"]["labels"] == {"keep": "1", "new": "3"}, p
    assert p["metadata"]["generation"] == 1 and rv(p) > rv(o), p["metadata"]
    # a spec change bumps generation; lists are replaced wholesale
    r = daemon.patch(pj(ns, name), {"spec": {"pytorchReplicaSpecs": {"Master": {"template": {"spec": {
        "containers": [{"name": "pytorch", "image": "python:3.12"}]}}}}}})
    assert r.status == 200, r
    p2 = r.json
    assert p2["metadata"]["generation"] == 2, p2
    c = p2["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"]
    assert c == [{"name": "pytorch", "image": "python:3.12"}], c
    assert p2["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] == 1, p2
    # no-op patch keeps RV
    r = daemon.patch(pj(ns, name), {"metadata": {"labels": {"keep": "1"}}})
    assert r.status == 200 and rv(r.json) == rv(p2), r
    # optimistic locking is opt-in: a stale RV in the patch → 409
    r = daemon.patch(pj(ns, name), {"metadata": {"resourceVersion": str(rv(o)), "labels": {"x": "y"}}})
    assert_status(r, 409, "Conflict")
    r = daemon.patch(pj(ns, name), {"metadata": {"resourceVersion": str(rv(p2)), "labels": {"x": "y"}}})
    assert r.status == 200, r
    # name change → 400
    assert_status(daemon.patch(pj(ns, name), {"metadata": {"name": "renamed"}}), 400, "BadRequest")
    # missing object → 404
    assert_not_found(daemon.patch(pj(ns, "missing-job"), {"metadata": {}}), "missing-job")
    # dry run
    cur = daemon.get(pj(ns, name)).json
    r = daemon.patch(pj(ns, name, query={"dryRun": "All"}), {"metadata": {"labels": {"dry": "1"}}})
    assert r.status == 200 and r.json["metadata"]["labels"].get("dry") == "1", r
    assert rv(daemon.get(pj(ns, name)).json) == rv(cur)


def test_merge_patch_options(daemon, ns):
    name = daemon.create_job(ns)["metadata"]["name"]
    r = daemon.patch(pj(ns, name, query={"force": "true"}), {"metadata": {}})
    msg = "Forbidden: may not be specified for non-apply patch"
    assert_status(r, 422, "Invalid", f'PatchOptions.meta.k8s.io "" is invalid: force: {msg}',
                  details=invalid_details("", "meta.k8s.io", "PatchOptions",
                                          [cause("FieldValueForbidden", msg, "force")]))
    r = daemon.patch(pj(ns, name), [{"op": "add", "path": "/metadata/labels", "value": {}}])
    assert 400 <= r.status < 500, r
    assert_status(daemon.patch(pj(ns, name), "{not json"), 400, "BadRequest")


def test_json_patch(daemon, ns):
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    ops = [{"op": "test", "path": "/kind", "value": "PyTorchJob"},
           {"op": "add", "path": "/metadata/labels", "value": {"a": "1"}},
           {"op": "add", "path": "/metadata/labels/b", "value": "2"},
           {"op": "copy", "from": "/metadata/labels/a", "path": "/metadata/labels/c"},
           {"op": "move", "from": "/metadata/labels/b", "path": "/metadata/labels/d"},
           {"op": "remove", "path": "/metadata/labels/a"},
           {"op": "replace", "path": "/spec/runPolicy/suspend", "value": True}]
    r = daemon.patch(pj(ns, name), ops, ctype=JSONPATCH)
    assert r.status == 200, r
    assert r.json["metadata"]["labels"] == {"c": "1", "d": "2"}, r
    cur = rv(r.json)
    bad = "the server rejected our request due to an error in our request"
    for ops in ([{"op": "test", "path": "/spec/x", "value": 1}],
                [{"op": "test", "path": "/kind", "value": "Other"}],
                [{"op": "remove", "path": "/metadata/labels/none"}],
                [{"op": "replace", "path": "/spec/nothing/here", "value": 1}]):
        r = daemon.patch(pj(ns, name), ops, ctype=JSONPATCH)
        b = assert_status(r, 422, "Invalid", bad)
        assert b.get("details", {}) == {}, b
    assert rv(daemon.get(pj(ns, name)).json) == cur
    for body in ('{"op": "add"}', "not json"):
        assert_status(daemon.patch(pj(ns, name), body, ctype=JSONPATCH), 400, "BadRequest")


def test_json_patch_too_many_ops_413(daemon, ns):
    name = daemon.create_job(ns)["metadata"]["name"]
    ops = [{"op": "test", "path": "/kind", "value": "PyTorchJob"}] * 10001
    r = daemon.patch(pj(ns, name), ops, ctype=JSONPATCH)
    assert_status(r, 413, "RequestEntityTooLarge", prefix="Request entity too large")
    r = daemon.patch(pj(ns, name), ops[:10000], ctype=JSONPATCH)
    assert r.status == 200, r


def test_strategic_merge_patch_415(daemon, ns):  # case 39
    name = daemon.create_job(ns)["metadata"]["name"]
    for ct in (STRATEGIC, STRATEGIC + "; charset=utf-8", "text/plain", "application/json"):
        r = daemon.patch(pj(ns, name), {"metadata": {"labels": {"a": "b"}}}, ctype=ct)
        b = assert_status(r, 415, "UnsupportedMediaType", UNSUPPORTED_PATCH_MSG)
        assert "details" not in b, b
    r = daemon.patch(pj(ns, name), {"metadata": {"labels": {"a": "b"}}}, ctype=MERGE + "; charset=utf-8")
    assert r.status == 200, r


def test_apply_patch(daemon, ns):  # case 40
    name = uniq("ap")
    body = job(name, labels={"v": "1"})
    r = daemon.patch(pj(ns, name), body, ctype=APPLY)
    msg = "Required value: is required for apply patch"
    assert_status(r, 422, "Invalid", f'PatchOptions.meta.k8s.io "" is invalid: fieldManager: {msg}',
                  details=invalid_details("", "meta.k8s.io", "PatchOptions",
                                          [cause("FieldValueRequired", msg, "fieldManager")]))
    assert daemon.get(pj(ns, name)).status == 404
    r = daemon.patch(pj(ns, name, query={"fieldManager": "e2e"}), body, ctype=APPLY)
    assert r.status == 201, r
    o = r.json
    assert o["metadata"]["name"] == name and o["metadata"]["generation"] == 1, o
    assert UUID_RE.match(o["metadata"]["uid"]), o
    # again, with a change, as YAML
    body["metadata"]["labels"] = {"v": "2"}
    r = daemon.patch(pj(ns, name, query={"fieldManager": "e2e", "force": "true"}), yaml.safe_dump(body), ctype=APPLY)
    assert r.status == 200, r
    assert r.json["metadata"]["labels"]["v"] == "2", r
    assert r.json["metadata"]["uid"] == o["metadata"]["uid"], r
    # the webhook applies to apply too
    body["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = 2
    r = daemon.patch(pj(ns, name, query={"fieldManager": "e2e"}), body, ctype=APPLY)
    assert_webhook_denied(r, f"{RS}[Master].replicas: Forbidden: must be 1")


def test_generation_rules(daemon, ns):
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    gens = []
    for patch in ({"metadata": {"labels": {"a": "b"}}}, {"metadata": {"annotations": {"a": "b"}}},
                  {"metadata": {"finalizers": ["example.com/f"]}}, {"metadata": {"finalizers": None}}):
        r = daemon.patch(pj(ns, name), patch)
        assert r.status == 200, r
        gens.append(r.json["metadata"]["generation"])
    assert gens == [1, 1, 1, 1], gens
    r = daemon.patch(pj(ns, name, "status"), {"status": sample_status()})
    assert r.status == 200 and r.json["metadata"]["generation"] == 1, r
    r = daemon.patch(pj(ns, name), {"spec": {"runPolicy": {"backoffLimit": 1}}})
    assert r.status == 200 and r.json["metadata"]["generation"] == 2, r
    r = daemon.patch(pj(ns, name), {"spec": {"runPolicy": {"backoffLimit": 2}}})
    assert r.status == 200 and r.json["metadata"]["generation"] == 3, r


# -- namespaces ---------------------------------------------------------------------------------

def test_builtin_namespaces(daemon):
    r = daemon.get("/api/v1/namespaces")
    assert r.status == 200, r
    b = r.json
    assert b["kind"] == "NamespaceList" and b["apiVersion"] == "v1", b
    phases = {i["metadata"]["name"]: i.get("status", {}).get("phase") for i in b["items"]}
    assert phases.get("default") == "Active" and phases.get("kube-system") == "Active", phases
    r = daemon.get("/api/v1/namespaces/default")
    assert r.status == 200 and r.json["kind"] == "Namespace" and r.json["apiVersion"] == "v1", r


def test_namespace_crud(daemon):
    name = uniq("ns")
    r = daemon.post("/api/v1/namespaces", namespace_obj(name))
    assert r.status == 201, r
    o = r.json
    assert o["metadata"]["name"] == name and UUID_RE.match(o["metadata"]["uid"]), o
    assert o["status"]["phase"] == "Active", o
    r = daemon.post("/api/v1/namespaces", namespace_obj(name))
    assert_status(r, 409, "AlreadyExists", f'namespaces "{name}" already exists',
                  details={"name": name, "kind": "namespaces"})
    r = daemon.get("/api/v1/namespaces", query={"fieldSelector": f"metadata.name={name}"})
    assert [i["metadata"]["name"] for i in r.json["items"]] == [name], r
    r = daemon.get("/api/v1/namespaces/nope")
    assert_status(r, 404, "NotFound", 'namespaces "nope" not found', details={"name": "nope", "kind": "namespaces"})
    # a job inside is removed with the namespace
    daemon.create_job(name, "inside")
    r = daemon.delete(f"/api/v1/namespaces/{name}")
    assert r.status in (200, 202), r

    def gone():
        g = daemon.get(f"/api/v1/namespaces/{name}")
        return g.status == 404, g
    poll(gone, 20, desc=f"namespace {name} to disappear")
    r = daemon.get(f"{API}/pytorchjobs", query={"fieldSelector": f"metadata.namespace={name}"})
    assert r.status == 200 and r.json["items"] == [], r
    r = daemon.delete(f"/api/v1/namespaces/{name}")
    assert_status(r, 404, "NotFound", f'namespaces "{name}" not found')


def test_namespace_create_without_kind(daemon):
    # built-in kinds default apiVersion/kind from the URL (the Python client sends none)
    name = uniq("ns")
    r = daemon.post("/api/v1/namespaces", {"metadata": {"name": name}})
    assert r.status == 201, r
    assert r.json["kind"] == "Namespace" and r.json["metadata"]["name"] == name, r


def test_namespace_invalid_name(daemon):
    r = daemon.post("/api/v1/namespaces", namespace_obj("Bad_NS"))
    msg = f'Invalid value: "Bad_NS": {LABEL_MSG}'
    assert_status(r, 422, "Invalid", f'Namespace "Bad_NS" is invalid: metadata.name: {msg}',
                  details={"name": "Bad_NS", "kind": "Namespace",
                           "causes": [cause("FieldValueInvalid", msg, "metadata.name")]})


# -- found by probing against the spec (2026-12-05) -----------------------------------------------

def test_update_body_without_name_400(daemon, ns):
    """kube's checkName: a body with no name does not match the URL's (no silent fill-in), for
    PUT, PUT /status and a patch that removes the name."""
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    msg = f"the name of the object () does not match the name on the URL ({name})"
    body = copy.deepcopy(o)
    del body["metadata"]["name"]
    assert_status(daemon.put(pj(ns, name), body), 400, "BadRequest", msg)
    assert_status(daemon.put(pj(ns, name) + "/status", body), 400, "BadRequest", msg)
    assert_status(daemon.patch(pj(ns, name), {"metadata": {"name": None}}), 400, "BadRequest", msg)
    assert rv(daemon.get(pj(ns, name)).json) == rv(o)


def test_create_in_terminating_namespace_403_names_the_object(daemon):
    tns = daemon.create_ns(uniq("tns"))
    held = daemon.create_job(tns, finalizers=["example.com/hold"])["metadata"]["name"]
    assert daemon.delete(f"/api/v1/namespaces/{tns}").status == 200
    tail = f"unable to create new content in namespace {tns} because it is being terminated"
    try:
        r = daemon.post(pj(tns), job("j-new"))
        assert_status(r, 403, "Forbidden", f'{GR} "j-new" is forbidden: {tail}',
                      details={"name": "j-new", "group": GROUP, "kind": PLURAL})
        r = daemon.post(pj(tns), job(generate_name="g-"))
        assert_status(r, 403, "Forbidden", f"{GR} is forbidden: {tail}",
                      details={"group": GROUP, "kind": PLURAL})
    finally:
        daemon.remove_finalizers(tns, held)


def test_legacy_list_rv_with_limit_is_exact(daemon, ns):
    """resourceVersion=N with a limit and no resourceVersionMatch is served at exactly N (etcd's
    legacy paging rule), not at the latest revision."""
    ns = daemon.create_ns(uniq("lrv"))  # a namespace of its own: the items are compared
    a = daemon.create_job(ns, "a")
    at = str(rv(a))
    daemon.create_job(ns, "b")
    daemon.patch(pj(ns, "a"), {"metadata": {"labels": {"x": "1"}}})
    r = daemon.get(pj(ns), query={"resourceVersion": at, "limit": "10"})
    assert r.status == 200, r
    assert r.json["metadata"]["resourceVersion"] == at
    assert [(o["metadata"]["name"], o["metadata"].get("labels")) for o in r.json["items"]] == [("a", None)]
    # without a limit it is "not older than": the latest
    r = daemon.get(pj(ns), query={"resourceVersion": at})
    assert [o["metadata"]["name"] for o in r.json["items"]] == ["a", "b"]


def test_finalizer_warnings_for_names_without_domain(daemon, ns):
    """A custom resource's new finalizer without a '/' (and not kube's own) is a Warning, on
    create and on an update that adds it (once, sorted), never for one it already had."""
    def warnings(r):
        return [w for w in (r.headers.get_all("Warning") or []) if "finalizer" in w]
    text = ('299 - "metadata.finalizers: \\"{}\\": prefer a domain-qualified finalizer name to '
            'avoid accidental conflicts with other finalizer writers"')
    r = daemon.post(pj(ns), job("fw", finalizers=["zeta", "example.com/ok", "orphan", "alpha"]))
    assert r.status == 201, r
    assert warnings(r) == [text.format("alpha"), text.format("zeta")]
    r = daemon.patch(pj(ns, "fw"), {"metadata": {"finalizers": ["zeta", "alpha", "beta", "beta"]}})
    assert r.status == 200, r
    assert warnings(r) == [text.format("beta")]
    r = daemon.patch(pj(ns, "fw"), {"metadata": {"labels": {"a": "b"}}})
    assert warnings(r) == []
    daemon.patch(pj(ns, "fw"), {"metadata": {"finalizers": None}})


def test_update_orphan_and_foreground_422_shows_the_value(daemon, ns):
    name = daemon.create_job(ns)["metadata"]["name"]
    r = daemon.patch(pj(ns, name), {"metadata": {"finalizers": ["orphan", "foregroundDeletion"]}})
    assert_status(r, 422, "Invalid",
                  f'{GK} "{name}" is invalid: metadata.finalizers: Invalid value: '
                  '["orphan","foregroundDeletion"]: finalizer orphan and foregroundDeletion cannot be both set')


def test_json_patch_unknown_op_fails_when_applied_422(daemon, ns):
    """kube decodes a JSON patch without looking at op kinds; an unknown one fails when its turn
    comes (422), after the ops before it."""
    name = daemon.create_job(ns)["metadata"]["name"]
    bad = "the server rejected our request due to an error in our request"
    for ops in ([{"op": "frob", "path": "/a"}], [{"path": "/a"}],
                [{"op": "remove", "path": "/metadata/labels/none"}, {"op": "frob"}]):
        assert_status(daemon.patch(pj(ns, name), ops, ctype=JSONPATCH), 422, "Invalid", bad)


def test_scheduling_queue_is_immutable(daemon, ns):
    """The CRD's CEL rule (self == oldSelf) on spec.runPolicy.schedulingPolicy.queue: a change is
    422; setting it where it was unset is not a change."""
    b = job(uniq("q"))
    b["spec"]["runPolicy"]["schedulingPolicy"] = {"queue": "q1", "minAvailable": 1}
    o = daemon.post(pj(ns), b).json
    name = o["metadata"]["name"]
    msg = ('Invalid value: "string": spec.runPolicy.schedulingPolicy.queue is immutable')
    r = daemon.patch(pj(ns, name), {"spec": {"runPolicy": {"schedulingPolicy": {"queue": "q2"}}}})
    assert_status(r, 422, "Invalid", f'{GK} "{name}" is invalid: spec.runPolicy.schedulingPolicy.queue: {msg}')
    cur = daemon.get(pj(ns, name)).json
    cur["spec"]["runPolicy"]["schedulingPolicy"]["queue"] = "q3"
    assert_status(daemon.put(pj(ns, name), cur), 422, "Invalid")
    r = daemon.patch(pj(ns, name), {"spec": {"runPolicy": {"schedulingPolicy": {"queue": "q1", "minAvailable": 1}}}})
    assert r.status == 200, r
    other = daemon.create_job(ns)["metadata"]["name"]
    r = daemon.patch(pj(ns, other), {"spec": {"runPolicy": {"schedulingPolicy": {"queue": "late"}}}})
    assert r.status == 200, r


def test_crd_schema_defaults(daemon, ns):
    """The CRD schema's defaults are stored: runPolicy.suspend false (only where a runPolicy
    object is), and protocol TCP on the pod templates' ports; an identical PUT stays a no-op."""
    b = job(uniq("d"))
    b["spec"]["runPolicy"] = {"managedBy": QUIET_MANAGER, "backoffLimit": 2}
    tmpl = b["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    tmpl["containers"][0]["ports"] = [{"name": "http", "containerPort": 8080},
                                      {"containerPort": 9090, "protocol": "UDP"}]
    o = daemon.post(pj(ns), b).json
    assert o["spec"]["runPolicy"] == {"managedBy": QUIET_MANAGER, "backoffLimit": 2, "suspend": False}
    ports = o["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["ports"]
    assert ports == [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                     {"containerPort": 9090, "protocol": "UDP"}]
    assert daemon.get(pj(ns, o["metadata"]["name"])).json == o
    r = daemon.put(pj(ns, o["metadata"]["name"]), o)
    assert r.status == 200 and rv(r.json) == rv(o) and r.json["metadata"]["generation"] == 1, r
    b2 = job(uniq("d"))
    b2["spec"].pop("runPolicy", None)
    r = daemon.post(pj(ns), b2, query={"dryRun": "All"})  # (dry: the controller would run it)
    assert r.status == 201 and "runPolicy" not in r.json["spec"], r


def test_get_with_resource_version(daemon, ns):
    """GET ?resourceVersion: not older than it; one the server has not reached is 504 at once
    (as a LIST), one that is not a number 400."""
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    for q in ("0", str(rv(o)), ""):
        r = daemon.get(pj(ns, name), query={"resourceVersion": q})
        assert r.status == 200 and r.json == o, r
    cur = int(daemon.get(pj(ns), query={"limit": "1"}).json["metadata"]["resourceVersion"])
    r = daemon.get(pj(ns, name), query={"resourceVersion": str(cur + 1000)})
    b = assert_status(r, 504, "Timeout", prefix=f"Timeout: Too large resource version: {cur + 1000}, current: ")
    assert b["details"]["causes"] == [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]
    assert_status(daemon.get(pj(ns, name), query={"resourceVersion": "abc"}), 400, "BadRequest",
                  'invalid resource version: strconv.ParseUint: parsing "abc": invalid syntax')


def test_bad_field_validation_422(daemon, ns):
    """kube's ValidateFieldValidation in the options of a create, an update and a patch."""
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    tail = 'is invalid: fieldValidation: Unsupported value: "bogus": supported values: "", "Ignore", "Strict", "Warn"'
    q = {"fieldValidation": "bogus"}
    r = daemon.post(pj(ns), job(uniq("fv")), query=q)
    assert_status(r, 422, "Invalid", f'CreateOptions.meta.k8s.io "" {tail}')
    assert r.json["details"]["kind"] == "CreateOptions" and r.json["details"]["group"] == "meta.k8s.io", r
    assert_status(daemon.put(pj(ns, name), o, query=q), 422, "Invalid", f'UpdateOptions.meta.k8s.io "" {tail}')
    assert_status(daemon.patch(pj(ns, name), {"metadata": {"labels": {"a": "b"}}}, query=q), 422,
                  "Invalid", f'PatchOptions.meta.k8s.io "" {tail}')
    for ok in ("", "Ignore", "Warn", "Strict"):
        r = daemon.patch(pj(ns, name), {"metadata": {"labels": {"a": ok or "e"}}}, query={"fieldValidation": ok})
        assert r.status == 200, r


def test_update_cannot_start_a_deletion_422(daemon, ns):
    """ValidateObjectMetaUpdate: a PUT or patch that sets deletionTimestamp or
    deletionGracePeriodSeconds on a live object is 422 field is immutable (not silently dropped)."""
    o = daemon.create_job(ns)
    name = o["metadata"]["name"]
    b = copy.deepcopy(o)
    b["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
    assert_status(daemon.put(pj(ns, name), b), 422, "Invalid",
                  f'{GK} "{name}" is invalid: metadata.deletionTimestamp: Invalid value: '
                  '2030-01-01 00:00:00 +0000 UTC: field is immutable')
    r = daemon.patch(pj(ns, name), {"metadata": {"deletionGracePeriodSeconds": 5}})
    assert_status(r, 422, "Invalid",
                  f'{GK} "{name}" is invalid: metadata.deletionGracePeriodSeconds: Invalid value: 5: '
                  'field is immutable')
    assert rv(daemon.get(pj(ns, name)).json) == rv(o)


def test_core_defaults_pod_and_service(daemon):
    """core/v1 defaulting, as kube's SetDefaults_* and the Priority admission: what `kubectl get
    pod -o yaml` shows on a cluster for fields the manifest left out."""
    ns = daemon.create_ns(uniq("defs"))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"restartPolicy": "Never",
                    "containers": [{"name": "a", "image": "busybox", "command": ["true"],
                                    "ports": [{"containerPort": 80}]},
                                   {"name": "b", "image": "busybox:1.36", "command": ["true"],
                                    "imagePullPolicy": "Never"}]}}
    r = daemon.post(f"/api/v1/namespaces/{ns}/pods", pod, query={"dryRun": "All"})
    assert r.status == 201, r
    spec = r.json["spec"]
    a, b = spec["containers"]
    assert (a["imagePullPolicy"], b["imagePullPolicy"]) == ("Always", "Never")
    assert a["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    for c in (a, b):
        assert (c["terminationMessagePath"], c["terminationMessagePolicy"], c["resources"]) == \
            ("/dev/termination-log", "File", {}), c
    assert {k: spec[k] for k in ("dnsPolicy", "enableServiceLinks", "securityContext", "priority",
                                 "preemptionPolicy", "restartPolicy")} == \
        {"dnsPolicy": "ClusterFirst", "enableServiceLinks": True, "securityContext": {}, "priority": 0,
         "preemptionPolicy": "PreemptLowerPriority", "restartPolicy": "Never"}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"name": "http", "port": 80},
                              {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": "dns"}]}}
    r = daemon.post(f"/api/v1/namespaces/{ns}/services", svc)
    assert r.status == 201, r
    s = r.json["spec"]
    assert s["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80},
                          {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": "dns"}], s
    assert (s["type"], s["sessionAffinity"], s["internalTrafficPolicy"]) == ("ClusterIP", "None", "Cluster")


def test_namespace_always_gets_the_kubernetes_finalizer(daemon):
    """namespaceStrategy.PrepareForCreate appends `kubernetes` whatever spec the body has (kubectl
    create namespace sends an empty one)."""
    for spec, want in ((None, ["kubernetes"]), ({}, ["kubernetes"]),
                       ({"finalizers": ["foo.io/x"]}, ["foo.io/x", "kubernetes"]),
                       ({"finalizers": ["kubernetes", "foo.io/x"]}, ["kubernetes", "foo.io/x"])):
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": uniq("nsf")}}
        if spec is not None:
            body["spec"] = spec
        r = daemon.post("/api/v1/namespaces", body, query={"dryRun": "All"})
        assert r.status == 201 and r.json["spec"] == {"finalizers": want}, r


def test_core_kinds_refuse_values_of_the_wrong_type_400(daemon):
    """A built-in kind is decoded into its Go struct: a label that is not a string (YAML's `y`
    is a bool to kubectl), a service port that is a string, are 400, not stored."""
    ns = daemon.create_ns(uniq("typ"))
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "labels": {"x": 5}},
           "spec": {"ports": [{"port": 80}]}}
    pre = 'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal '
    assert_status(daemon.post(f"/api/v1/namespaces/{ns}/services", svc), 400, "BadRequest",
                  pre + "number into Go struct field ObjectMeta.metadata.labels of type string")
    svc["metadata"]["labels"] = {"x": "5"}
    svc["spec"]["selector"] = {"tier": True}
    assert_status(daemon.post(f"/api/v1/namespaces/{ns}/services", svc), 400, "BadRequest",
                  pre + "bool into Go struct field ServiceSpec.spec.selector of type string")
    svc["spec"]["selector"] = {"tier": "y"}
    svc["spec"]["ports"] = [{"port": "80"}]
    assert_status(daemon.post(f"/api/v1/namespaces/{ns}/services", svc), 400, "BadRequest",
                  pre + "string into Go struct field ServicePort.spec.ports.port of type int32")
    svc["spec"]["ports"] = [{"port": 80}]
    r = daemon.post(f"/api/v1/namespaces/{ns}/services", svc)
    assert r.status == 201, r
    bad = dict(r.json, metadata=dict(r.json["metadata"], annotations={"a": ["x"]}))
    assert_status(daemon.put(f"/api/v1/namespaces/{ns}/services/s", bad), 400, "BadRequest",
                  pre + "array into Go struct field ObjectMeta.metadata.annotations of type string")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"nodeSelector": {"a": True}, "containers": [{"name": "c", "image": "i"}]}}
    assert_status(daemon.post(f"/api/v1/namespaces/{ns}/pods", pod), 400, "BadRequest",
                  'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal bool into '
                  "Go struct field PodSpec.spec.nodeSelector of type string")


def test_empty_metadata_maps_and_lists_are_not_stored(daemon, ns):
    """ObjectMeta's omitempty fields come out of its Go struct only when they hold something:
    `labels: {}`, `finalizers: []`, `annotations: null` are not stored, and a patch that only
    empties what was already absent is a no-op (same resourceVersion, no event)."""
    name = uniq("empty")
    body = job(name, labels={}, finalizers=[])
    body["metadata"].update({"annotations": None, "ownerReferences": [], "generateName": ""})
    r = daemon.post(pj(ns), body)
    assert r.status == 201, r
    md = r.json["metadata"]
    for k in ("labels", "finalizers", "annotations", "ownerReferences", "generateName"):
        assert k not in md, md
    r2 = daemon.patch(pj(ns, name), {"metadata": {"labels": {}, "finalizers": []}})
    assert r2.status == 200, r2
    assert rv(r2.json) == rv(r.json) and "labels" not in r2.json["metadata"], r2
    r3 = daemon.patch(pj(ns, name), {"metadata": {"finalizers": ["example.com/x"], "labels": {"a": "b"}}})
    assert r3.json["metadata"]["finalizers"] == ["example.com/x"], r3
    r4 = daemon.patch(pj(ns, name), {"metadata": {"finalizers": [], "labels": None}})
    assert r4.status == 200, r4
    assert "finalizers" not in r4.json["metadata"] and "labels" not in r4.json["metadata"], r4
    g = daemon.get(pj(ns, name)).json["metadata"]
    assert "finalizers" not in g and "labels" not in g, g
