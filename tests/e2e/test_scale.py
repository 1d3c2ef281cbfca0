"""The scale subresource of pytorchjobs (pytorchjob-semantics.md §1: specReplicasPath
.spec.pytorchReplicaSpecs.Worker.replicas, statusReplicasPath .status.replicaStatuses.Worker.active,
labelSelectorPath .status.replicaStatuses.Worker.selector), served as apiextensions-apiserver's
ScaleREST serves a CRD's (k8s-api-semantics.md §1, §7): an autoscaling/v1 Scale; PUT and PATCH
write the Worker replicas through the job's update path (schema and ValidateScaleSpec, no
webhook), and the controller then runs the new workers (`kubectl scale`)."""
import json

import pytest

import e2elib
from e2elib import (API, GK, GR, GROUP, JSONPATCH, MERGE, PLURAL, RV_RE, assert_not_found,
                    assert_status, cause, invalid_details, job, list_pods, pj, poll, replica,
                    run_job, run_replica, uniq, wait_pod, pod_phase)

SPEC_PATH = ".spec.pytorchReplicaSpecs.Worker.replicas"
SCALE_KEYS = ["kind", "apiVersion", "metadata", "spec", "status"]
META_KEYS = ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"]


def scale_path(ns, name):
    return pj(ns, name, "scale")


def worker_job(name, replicas=2):
    b = job(name, worker=True)
    b["spec"]["pytorchReplicaSpecs"]["Worker"] = replica(replicas)
    return b


def create(daemon, ns, body):
    r = daemon.post(pj(ns), body)
    assert r.status == 201, r
    return r.json


def stored(daemon, ns, name):
    r = daemon.get(pj(ns, name))
    assert r.status == 200, r
    return r.json


def assert_scale(r, obj, spec, status, selector=None):
    """r is a 200 Scale of the job obj (metadata copied from it) with these replicas."""
    assert r.status == 200, r
    s = r.json
    assert list(s) == SCALE_KEYS, s
    assert s["kind"] == "Scale" and s["apiVersion"] == "autoscaling/v1", s
    m = obj["metadata"]
    assert list(s["metadata"]) == META_KEYS, s
    assert s["metadata"] == {k: m[k] for k in META_KEYS}, (s, m)
    assert s["spec"] == ({"replicas": spec} if spec else {}), s  # replicas is omitempty
    want = {"replicas": status}
    if selector:
        want["selector"] = selector
    assert s["status"] == want, s
    return s


def worker_replicas(obj):
    return obj["spec"]["pytorchReplicaSpecs"]["Worker"].get("replicas")


# -- GET ----------------------------------------------------------------------------------------

def test_get_scale(daemon, ns):
    o = create(daemon, ns, worker_job(uniq("s"), 2))
    name = o["metadata"]["name"]
    assert_scale(daemon.get(scale_path(ns, name)), o, 2, 0)

    st = {"replicaStatuses": {"Worker": {"active": 1, "selector": "app=x,tier=w"}}}
    r = daemon.patch(pj(ns, name, "status"), {"status": st})
    assert r.status == 200, r
    assert_scale(daemon.get(scale_path(ns, name)), r.json, 2, 1, "app=x,tier=w")


def test_get_scale_missing_job(daemon, ns):
    assert_not_found(daemon.get(scale_path(ns, "nope")), "nope")


def test_get_scale_without_worker_replicas(daemon, ns):
    """specReplicasPath with no value: ScaleREST.Get answers an InternalError."""
    msg = f'the spec replicas field "{SPEC_PATH}" does not exist'
    for body in (job(uniq("s")), worker_job(uniq("s"))):
        body["spec"]["pytorchReplicaSpecs"].get("Worker", {}).pop("replicas", None)
        o = create(daemon, ns, body)
        r = daemon.get(scale_path(ns, o["metadata"]["name"]))
        assert_status(r, 500, "InternalError", f"Internal error occurred: {msg}",
                      details={"causes": [{"message": msg}]})


def test_scale_verbs_and_discovery(daemon, ns):
    o = create(daemon, ns, worker_job(uniq("s")))
    name = o["metadata"]["name"]
    for method, verb in (("POST", "create"), ("DELETE", "delete")):
        r = daemon.api(method, scale_path(ns, name), {"spec": {"replicas": 1}} if method == "POST" else None)
        assert_status(r, 405, "MethodNotAllowed", f'{verb} is not supported on resources of kind "{GR}"',
                      details={"group": GROUP, "kind": PLURAL})
    assert worker_replicas(stored(daemon, ns, name)) == 2

    r = daemon.get(API)
    assert r.status == 200, r
    entry = [e for e in r.json["resources"] if e["name"] == "pytorchjobs/scale"]
    assert entry == [{"name": "pytorchjobs/scale", "singularName": "", "namespaced": True,
                      "group": "autoscaling", "version": "v1", "kind": "Scale",
                      "verbs": ["get", "patch", "update"]}], r.json["resources"]
    r = daemon.get("/apis", headers={"Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"})
    assert r.status == 200, r
    group = [g for g in r.json["items"] if g["metadata"]["name"] == GROUP][0]
    res = [x for x in group["versions"][0]["resources"] if x["resource"] == PLURAL][0]
    sub = [s for s in res["subresources"] if s["subresource"] == "scale"]
    assert sub == [{"subresource": "scale",
                    "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                    "verbs": ["get", "patch", "update"]}], res["subresources"]


def test_scale_forbidden_names_the_subresource(daemon, ns):
    r = daemon.get(scale_path(ns, "x"), token=None)
    assert_status(r, 403, "Forbidden",
                  f'{GR} "x" is forbidden: User "system:anonymous" cannot get resource '
                  f'"pytorchjobs/scale" in API group "{GROUP}" in the namespace "{ns}"')


# -- PUT ----------------------------------------------------------------------------------------

def test_put_scale(daemon, ns):
    o = create(daemon, ns, worker_job(uniq("s"), 2))
    name = o["metadata"]["name"]
    s = daemon.get(scale_path(ns, name)).json
    s["spec"]["replicas"] = 3
    s["status"] = {"replicas": 7, "selector": "ignored=1"}  # a Scale's status is never written
    r = daemon.put(scale_path(ns, name), s)
    j = stored(daemon, ns, name)
    assert_scale(r, j, 3, 0)
    assert worker_replicas(j) == 3, j
    assert j["metadata"]["generation"] == 2, j
    assert int(j["metadata"]["resourceVersion"]) > int(o["metadata"]["resourceVersion"]), j
    assert "status" not in j or not j["status"], j
    assert j["spec"]["pytorchReplicaSpecs"]["Master"] == o["spec"]["pytorchReplicaSpecs"]["Master"]

    # the same replicas again: a no-op write, resourceVersion kept
    s = r.json
    r = daemon.put(scale_path(ns, name), s)
    assert_scale(r, j, 3, 0)
    assert stored(daemon, ns, name)["metadata"]["resourceVersion"] == j["metadata"]["resourceVersion"]

    # without a resourceVersion the update is unconditional (ScaleREST keeps the stored one)
    r = daemon.put(scale_path(ns, name), {"metadata": {"name": name}, "spec": {"replicas": 1}})
    j = stored(daemon, ns, name)
    assert_scale(r, j, 1, 0)
    assert j["metadata"]["generation"] == 3, j

    # dryRun: answered, not stored
    r = daemon.put(scale_path(ns, name), {"metadata": {"name": name}, "spec": {"replicas": 6}},
                   query={"dryRun": "All"})
    assert r.status == 200 and r.json["spec"] == {"replicas": 6}, r
    assert stored(daemon, ns, name) == j


def test_put_scale_stale_resource_version(daemon, ns):
    o = create(daemon, ns, worker_job(uniq("s"), 2))
    name = o["metadata"]["name"]
    s = daemon.get(scale_path(ns, name)).json
    r = daemon.patch(pj(ns, name), {"metadata": {"labels": {"moved": "on"}}})
    assert r.status == 200, r
    s["spec"]["replicas"] = 5
    r = daemon.put(scale_path(ns, name), s)
    assert_status(r, 409, "Conflict",
                  f'Operation cannot be fulfilled on {GR} "{name}": the object has been modified; '
                  "please apply your changes to the latest version and try again",
                  details={"name": name, "group": GROUP, "kind": PLURAL})
    assert worker_replicas(stored(daemon, ns, name)) == 2


def test_put_scale_negative_replicas(daemon, ns):
    """ScaleREST writes the replicas into the job; the CR's ValidateScaleSpec rejects them."""
    o = create(daemon, ns, worker_job(uniq("s"), 2))
    name = o["metadata"]["name"]
    detail = "Invalid value: -1: should be a non-negative integer"
    want = dict(message=f'{GK} "{name}" is invalid: {SPEC_PATH}: {detail}',
                details=invalid_details(name, GROUP, "PyTorchJob",
                                        [cause("FieldValueInvalid", detail, SPEC_PATH)]))
    r = daemon.put(scale_path(ns, name), {"metadata": {"name": name}, "spec": {"replicas": -1}})
    assert_status(r, 422, "Invalid", **want)
    r = daemon.patch(scale_path(ns, name), {"spec": {"replicas": -1}})
    assert_status(r, 422, "Invalid", **want)
    # the same check guards the job itself, before the webhook
    b = stored(daemon, ns, name)
    b["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] = -1
    assert_status(daemon.put(pj(ns, name), b), 422, "Invalid", **want)
    assert worker_replicas(stored(daemon, ns, name)) == 2


def test_put_scale_bad_bodies(daemon, ns):
    o = create(daemon, ns, worker_job(uniq("s"), 2))
    name = o["metadata"]["name"]
    r = daemon.put(scale_path(ns, name), {"metadata": {"name": "other"}, "spec": {"replicas": 1}})
    assert_status(r, 400, "BadRequest",
                  f"the name of the object (other) does not match the name on the URL ({name})")
    r = daemon.put(scale_path(ns, name), {"spec": {"replicas": "3"}})
    assert_status(r, 400, "BadRequest",
                  'Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal '
                  "string into Go struct field ScaleSpec.spec.replicas of type int32")
    r = daemon.put(scale_path(ns, name), {"metadata": {"name": name, "uid": "0d6a6c3e-0000-4000-8000-000000000000"},
                                          "spec": {"replicas": 1}})
    assert_status(r, 409, "Conflict", prefix=f'Operation cannot be fulfilled on {GR} "{name}": '
                  "StorageError: invalid object")
    assert worker_replicas(stored(daemon, ns, name)) == 2
    assert_not_found(daemon.put(scale_path(ns, "nope"), {"metadata": {"name": "nope"}, "spec": {"replicas": 1}}), "nope")
    # a Scale without a name is checked as any PUT body (kube's checkName), after decoding
    assert_status(daemon.put(scale_path(ns, name), {"spec": {"replicas": 1}}), 400, "BadRequest",
                  f"the name of the object () does not match the name on the URL ({name})")


# -- PATCH --------------------------------------------------------------------------------------

def test_merge_patch_scale(daemon, ns):
    o = create(daemon, ns, worker_job(uniq("s"), 2))
    name = o["metadata"]["name"]
    r = daemon.patch(scale_path(ns, name), {"spec": {"replicas": 4}}, ctype=MERGE)
    j = stored(daemon, ns, name)
    assert_scale(r, j, 4, 0)
    assert worker_replicas(j) == 4 and j["metadata"]["generation"] == 2, j
    # a stale resourceVersion in the patch is a precondition
    r = daemon.patch(scale_path(ns, name), {"metadata": {"resourceVersion": o["metadata"]["resourceVersion"]},
                                            "spec": {"replicas": 5}})
    assert_status(r, 409, "Conflict", prefix=f'Operation cannot be fulfilled on {GR} "{name}"')
    assert_not_found(daemon.patch(scale_path(ns, "nope"), {"spec": {"replicas": 1}}), "nope")


def test_json_patch_scale(daemon, ns):
    o = create(daemon, ns, worker_job(uniq("s"), 2))
    name = o["metadata"]["name"]
    ops = [{"op": "test", "path": "/spec/replicas", "value": 2},
           {"op": "replace", "path": "/spec/replicas", "value": 5}]
    r = daemon.patch(scale_path(ns, name), ops, ctype=JSONPATCH)
    j = stored(daemon, ns, name)
    assert_scale(r, j, 5, 0)
    assert worker_replicas(j) == 5, j
    r = daemon.patch(scale_path(ns, name), ops, ctype=JSONPATCH)  # the test op fails now
    assert_status(r, 422, "Invalid", "the server rejected our request due to an error in our request")


def test_patch_scale_of_job_without_worker_replicas(daemon, ns):
    """No value at specReplicasPath: a patch must set spec.replicas (400 otherwise); one that
    does creates the path, as unstructured.SetNestedField does."""
    o = create(daemon, ns, job(uniq("s")))
    name = o["metadata"]["name"]
    r = daemon.patch(scale_path(ns, name), {"metadata": {"labels": {"a": "b"}}})
    assert_status(r, 400, "BadRequest", f'the spec replicas field "{SPEC_PATH}" cannot be empty')
    assert stored(daemon, ns, name) == o
    r = daemon.patch(scale_path(ns, name), {"spec": {"replicas": 2}})
    j = stored(daemon, ns, name)
    assert_scale(r, j, 2, 0)
    assert j["spec"]["pytorchReplicaSpecs"]["Worker"] == {"replicas": 2}, j


def test_scale_update_is_a_watched_job_update(daemon, ns):
    o = create(daemon, ns, worker_job(uniq("s"), 2))
    name = o["metadata"]["name"]
    r = daemon.patch(scale_path(ns, name), {"spec": {"replicas": 3}})
    assert r.status == 200, r
    w = daemon.get(pj(ns), query={"watch": "true", "resourceVersion": o["metadata"]["resourceVersion"],
                                  "fieldSelector": f"metadata.name={name}", "timeoutSeconds": "1"})
    assert w.status == 200, w
    events = [json.loads(line) for line in w.raw.splitlines() if line.strip()]
    assert [(e["type"], worker_replicas(e["object"]), e["object"]["metadata"]["resourceVersion"])
            for e in events] == [("MODIFIED", 3, r.json["metadata"]["resourceVersion"])], events


# -- kubectl scale: the controller runs the new workers --------------------------------------------

@pytest.fixture
def running(daemon, ns):
    """Jobs the controller runs in ns (sleeping processes with a marker); deleted at teardown,
    with no process left behind."""
    mark = uniq("m")
    names = []

    def make(name, workers):
        body = run_job(name, master="sleep 30", worker=run_replica("sleep 30", workers, mark=mark),
                       mark=mark)
        create(daemon, ns, body)
        names.append(name)
        return name

    yield make
    for name in names:
        assert daemon.delete(pj(ns, name)).status in (200, 202, 404)
    for name in names:
        daemon.wait_gone(ns, name, timeout=15)
        poll(lambda: (not list_pods(daemon, ns, name), sorted(list_pods(daemon, ns, name))), 15,
             desc=f"pods of {name} to be deleted")
    e2elib.wait_no_processes(daemon.proc.pid, [mark], timeout=15)


def running_workers(daemon, ns, name):
    return sorted(p for p, o in list_pods(daemon, ns, name).items()
                  if "-worker-" in p and pod_phase(o) == "Running" and
                  not o["metadata"].get("deletionTimestamp"))


def test_kubectl_scale_starts_workers(kubectl, daemon, ns, running):
    name = running(uniq("ks"), 1)
    want1 = [f"{name}-worker-0"]
    poll(lambda: (running_workers(daemon, ns, name) == want1, running_workers(daemon, ns, name)), 20,
         desc="worker-0 running")
    wait_pod(daemon, ns, f"{name}-master-0", lambda p: pod_phase(p) == "Running")

    p = kubectl("scale", "pytorchjob", name, "--replicas=3", "-n", ns)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"pytorchjob.kubeflow.org/{name} scaled", p.stdout
    assert worker_replicas(stored(daemon, ns, name)) == 3
    want3 = [f"{name}-worker-{i}" for i in range(3)]
    poll(lambda: (running_workers(daemon, ns, name) == want3, running_workers(daemon, ns, name)), 20,
         desc="three workers running")

    p = kubectl("get", "pytorchjob", name, "-n", ns, "--subresource=scale", "-o", "json")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["kind"] == "Scale" and s["spec"] == {"replicas": 3}, s
    # the table keeps the job's printer columns, over the Scale
    p = kubectl("get", "pytorchjob", name, "-n", ns, "--subresource=scale")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "AGE"] and lines[1].split()[0] == name, p.stdout

    # a precondition on the current size goes through GET and PUT of the Scale
    p = kubectl("scale", "pytorchjob", name, "--current-replicas=2", "--replicas=1", "-n", ns)
    assert p.returncode != 0 and "Expected replicas to be 2, was 3" in p.stderr, p.stderr
    p = kubectl("scale", "pytorchjob", name, "--current-replicas=3", "--replicas=1", "-n", ns)
    assert p.returncode == 0, p.stderr
    poll(lambda: (running_workers(daemon, ns, name) == want1, running_workers(daemon, ns, name)), 20,
         desc="scaled down to worker-0")
