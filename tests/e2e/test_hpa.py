"""HorizontalPodAutoscalers (autoscaling/v2): served with kube's defaults, validation and table,
and made by the controller for an elastic PyTorchJob with metrics, as training-operator's
ReconcileHPA does; a namespace's deletion takes them (and every other namespaced kind) along."""
import json

import pytest

from e2elib import poll, uniq

pytestmark = pytest.mark.usefixtures("daemon")

METRICS = [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                       "averageUtilization": 60}}}]


def hpas(ns):
    return f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers"


def elastic_job(name, metrics=METRICS, suspend=False):
    c = {"name": "pytorch", "image": "busybox", "command": ["sleep", "300"]}
    ep = {"minReplicas": 1, "maxReplicas": 3, "rdzvBackend": "c10d"}
    if metrics is not None:
        ep["metrics"] = metrics
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": name},
            "spec": {"elasticPolicy": ep, "runPolicy": {"suspend": suspend},
                     "pytorchReplicaSpecs": {"Worker": {"replicas": 1, "restartPolicy": "OnFailure",
                                                        "template": {"spec": {"containers": [c]}}}}}}


def test_elastic_job_gets_its_hpa(daemon, kubectl):
    ns = daemon.create_ns(uniq("hpa"))
    r = daemon.post(f"/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs", elastic_job("el"))
    assert r.status == 201, r.text
    uid = r.json["metadata"]["uid"]
    h = poll(lambda: daemon.get(f"{hpas(ns)}/el").json if daemon.get(f"{hpas(ns)}/el").status == 200 else None,
             desc="HPA made")
    assert h["spec"] == {"scaleTargetRef": {"kind": "PyTorchJob", "name": "el", "apiVersion": "kubeflow.org/v1"},
                         "minReplicas": 1, "maxReplicas": 3, "metrics": METRICS}, h
    assert h["metadata"]["ownerReferences"] == [{"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "name": "el",
                                                 "uid": uid, "controller": True, "blockOwnerDeletion": True}]
    out = kubectl("-n", ns, "get", "hpa", "--no-headers").stdout.split()
    assert out[:6] == ["el", "PyTorchJob/el", "cpu:", "<unknown>/60%", "1", "3"], out
    assert "horizontalpodautoscaler.autoscaling/el" in kubectl("-n", ns, "get", "all").stdout
    # the controller keeps its spec: an edit is put back
    h["spec"]["maxReplicas"] = 9
    assert daemon.put(f"{hpas(ns)}/el", h).status == 200
    poll(lambda: daemon.get(f"{hpas(ns)}/el").json["spec"]["maxReplicas"] == 3, desc="spec restored")
    # a deleted one is made again
    assert daemon.delete(f"{hpas(ns)}/el").status == 200
    poll(lambda: daemon.get(f"{hpas(ns)}/el").status == 200, desc="HPA made again")
    # suspended: no HPA; resumed: back
    assert daemon.patch(f"/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs/el",
                        {"spec": {"runPolicy": {"suspend": True}}}).status == 200
    poll(lambda: daemon.get(f"{hpas(ns)}/el").status == 404, desc="HPA deleted while suspended")
    assert daemon.patch(f"/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs/el",
                        {"spec": {"runPolicy": {"suspend": False}}}).status == 200
    poll(lambda: daemon.get(f"{hpas(ns)}/el").status == 200, desc="HPA back on resume")
    # the job's deletion takes it along (its owner)
    assert daemon.delete(f"/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs/el").status == 200
    poll(lambda: daemon.get(f"{hpas(ns)}/el").status == 404, desc="HPA collected")
    poll(lambda: not daemon.get(f"/api/v1/namespaces/{ns}/pods").json["items"], desc="pods gone")


def test_no_metrics_no_hpa(daemon):
    ns = daemon.create_ns(uniq("hpa"))
    assert daemon.post(f"/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs",
                       elastic_job("plain", metrics=None, suspend=True)).status == 201
    assert daemon.post(f"/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs",
                       elastic_job("susp", suspend=True)).status == 201
    poll(lambda: daemon.get(f"/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs/susp").json.get("status",
                                                                                              {}).get("conditions"),
         desc="reconciled")
    assert daemon.get(hpas(ns)).json["items"] == []


def test_hpa_api_defaults_validation_and_table(daemon, kubectl, pyclient):
    ns = daemon.create_ns(uniq("hpa"))
    body = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "maxReplicas": 5}}
    r = daemon.post(hpas(ns), body)
    assert r.status == 201, r.text
    assert r.json["spec"]["minReplicas"] == 1
    assert r.json["spec"]["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 80}}}]
    bad = json.loads(json.dumps(body))
    bad["metadata"]["name"] = "bad"
    bad["spec"].update(minReplicas=6, scaleTargetRef={"name": "web"})
    r = daemon.post(hpas(ns), bad)
    assert r.status == 422
    assert r.json["message"] == ('HorizontalPodAutoscaler.autoscaling "bad" is invalid: [spec.maxReplicas: Invalid '
                                 'value: 5: must be greater than or equal to `minReplicas`, '
                                 'spec.scaleTargetRef.kind: Required value]')
    # the table reads the status the autoscaler would write
    st = daemon.get(f"{hpas(ns)}/web").json
    st["status"] = {"currentReplicas": 2, "desiredReplicas": 2,
                    "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
                        "averageUtilization": 42, "averageValue": "210m"}}}]}
    assert daemon.put(f"{hpas(ns)}/web/status", st).status == 200
    out = kubectl("-n", ns, "get", "hpa", "web", "--no-headers").stdout.split()
    assert out[:7] == ["web", "Deployment/web", "cpu:", "42%/80%", "1", "5", "2"], out
    # the Python client finds it through discovery (its typed APIs stop at v2beta2)
    from kubernetes.dynamic import DynamicClient
    api = DynamicClient(pyclient).resources.get(api_version="autoscaling/v2", kind="HorizontalPodAutoscaler")
    h = api.get(name="web", namespace=ns)
    assert h.spec.maxReplicas == 5 and h.status.currentMetrics[0].resource.current.averageUtilization == 42


def test_namespace_deletion_takes_every_kind(daemon):
    ns = daemon.create_ns(uniq("nsdel"))
    objs = {
        f"/api/v1/namespaces/{ns}/configmaps": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
        f"/api/v1/namespaces/{ns}/secrets": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}},
        f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases": {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}},
        hpas(ns): {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
                   "spec": {"scaleTargetRef": {"kind": "K", "name": "n"}, "maxReplicas": 1}},
    }
    for path, body in objs.items():
        assert daemon.post(path, body).status == 201, path
    assert daemon.delete(f"/api/v1/namespaces/{ns}").status == 200
    poll(lambda: daemon.get(f"/api/v1/namespaces/{ns}").status == 404, desc="namespace gone")
    for path in objs:
        r = daemon.get(path)
        assert r.status == 200 and r.json["items"] == [], (path, r.json)
