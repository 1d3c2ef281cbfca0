"""Fields a PyTorchJob's CRD schema does not know (validate.c's structural pruning, api_write.c's
fieldValidation): kube prunes them as it decodes a custom resource, and the request's
fieldValidation says what the client hears of it (k8s-api-semantics.md §5, client-compat.md):
  Warn (the default)  one `Warning: 299 - "unknown field \"PATH\""` each, the object stored without them;
  Ignore              nothing said, the object stored without them;
  Strict              400 `PyTorchJob in version "v1" cannot be handled as a PyTorchJob: strict
                      decoding error: unknown field "A", unknown field "B"` (a patch: 422 on the
                      field "patch"), nothing stored.
The paths: metadata's first, then the rest sorted (PruneWithOptions sorts them)."""
import copy
import json

from e2elib import assert_status, job, pj, poll, uniq

STRICT_PREFIX = 'PyTorchJob in version "v1" cannot be handled as a PyTorchJob: strict decoding error: '


def unknown_warnings(r):
    return [w for w in (r.headers.get_all("Warning") or []) if "unknown field" in w]


def warning(path):
    return '299 - "unknown field \\"{}\\""'.format(path)


def strict_text(paths):
    return ", ".join('unknown field "{}"'.format(p) for p in paths)


def typo_job(name):
    """A job with unknown fields at every level the schema closes, in no particular order."""
    b = job(name)
    b["metadata"]["labelz"] = {"a": "b"}
    b["extra"] = 1
    spec = b["spec"]
    spec["zzz"] = None  # a null is pruned (and reported) like any other value
    spec["runPolicy"]["cleanupPolicy"] = "All"
    master = spec["pytorchReplicaSpecs"]["Master"]
    master["replica"] = 2
    master["template"]["spec"]["container"] = []
    master["template"]["spec"]["containers"][0]["imagee"] = "x"
    master["template"]["metadata"] = {"labels": {"x": "y"}, "label": {"x": "y"}}
    return b


TYPO_PATHS = [
    "metadata.labelz",
    "extra",
    "spec.pytorchReplicaSpecs.Master.replica",
    "spec.pytorchReplicaSpecs.Master.template.metadata.label",
    "spec.pytorchReplicaSpecs.Master.template.spec.container",
    "spec.pytorchReplicaSpecs.Master.template.spec.containers[0].imagee",
    "spec.runPolicy.cleanupPolicy",
    "spec.zzz",
]


def assert_pruned(obj):
    assert "extra" not in obj and "labelz" not in obj["metadata"], obj
    spec = obj["spec"]
    assert "zzz" not in spec and "cleanupPolicy" not in spec["runPolicy"], spec
    master = spec["pytorchReplicaSpecs"]["Master"]
    assert "replica" not in master, master
    tmpl = master["template"]
    assert tmpl["metadata"] == {"labels": {"x": "y"}}, tmpl
    assert "container" not in tmpl["spec"], tmpl
    c = tmpl["spec"]["containers"][0]
    assert "imagee" not in c and c["image"] == "python:3.11", c


def test_create_warns_by_default_and_stores_without_them(daemon, ns):
    name = uniq("unk")
    r = daemon.post(pj(ns), typo_job(name))
    assert r.status == 201, r
    assert unknown_warnings(r) == [warning(p) for p in TYPO_PATHS], r.headers.get_all("Warning")
    assert_pruned(r.json)
    g = daemon.get(pj(ns, name))
    assert_pruned(g.json)


def test_create_warn_and_ignore(daemon, ns):
    a, b = uniq("unk"), uniq("unk")
    r = daemon.post(pj(ns), typo_job(a), query={"fieldValidation": "Warn"})
    assert r.status == 201 and unknown_warnings(r) == [warning(p) for p in TYPO_PATHS], r
    r = daemon.post(pj(ns), typo_job(b), query={"fieldValidation": "Ignore"})
    assert r.status == 201, r
    assert unknown_warnings(r) == [], r.headers.get_all("Warning")
    assert_pruned(daemon.get(pj(ns, b)).json)


def test_create_strict_is_400_and_stores_nothing(daemon, ns):
    name = uniq("unk")
    r = daemon.post(pj(ns), typo_job(name), query={"fieldValidation": "Strict"})
    assert_status(r, 400, "BadRequest", STRICT_PREFIX + strict_text(TYPO_PATHS))
    assert daemon.get(pj(ns, name)).status == 404
    # a decoding error comes before validation: an invalid job with an unknown field is still 400
    bad = job(name)
    bad["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = "one"
    bad["spec"]["foo"] = 1
    r = daemon.post(pj(ns), bad, query={"fieldValidation": "Strict"})
    assert_status(r, 400, "BadRequest", STRICT_PREFIX + 'unknown field "spec.foo"')
    # and before the create's own rules: a namespace that is not the URL's is answered after it
    bad = job(name, ns="elsewhere")
    bad["spec"]["foo"] = 1
    r = daemon.post(pj(ns), bad, query={"fieldValidation": "Strict"})
    assert_status(r, 400, "BadRequest", STRICT_PREFIX + 'unknown field "spec.foo"')
    r = daemon.post(pj(ns), bad)
    assert_status(r, 400, "BadRequest", "the namespace of the provided object does not match the "
                  "namespace sent on the request")


def full_job(name):
    """Every level of the schema that is closed, with fields a real manifest carries."""
    b = job(name, worker=True)
    probe = {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP",
                         "httpHeaders": [{"name": "X", "value": "y"}]},
             "initialDelaySeconds": 3, "periodSeconds": 5, "timeoutSeconds": 1,
             "successThreshold": 1, "failureThreshold": 3, "terminationGracePeriodSeconds": 10}
    c = {
        "name": "pytorch", "image": "python:3.11", "imagePullPolicy": "IfNotPresent",
        "command": ["python3"], "args": ["-c", "print(1)"], "workingDir": "/tmp",
        "env": [{"name": "A", "value": "1"},
                {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "C", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}}},
                {"name": "D", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}}],
        "envFrom": [{"prefix": "P_", "configMapRef": {"name": "cm", "optional": True}}],
        "ports": [{"name": "pytorchjob-port", "containerPort": 23456, "protocol": "TCP"}],
        "resources": {"limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": 1},
                      "requests": {"cpu": 0.5}, "claims": [{"name": "gpu"}]},
        "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm", "readOnly": False,
                          "subPath": "", "mountPropagation": "None"}],
        "livenessProbe": probe, "readinessProbe": {"exec": {"command": ["true"]}},
        "startupProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 1},
        "securityContext": {"runAsUser": 1000, "runAsNonRoot": True, "privileged": False,
                            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"},
                            "appArmorProfile": {"type": "RuntimeDefault"}},
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "1"]}},
                      "postStart": {"httpGet": {"port": 80, "httpHeaders": [{"name": "a", "value": "b"}]}}},
        "stdin": False, "tty": False, "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    pod = {
        "containers": [c], "initContainers": [{"name": "init", "image": "busybox"}],
        "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}},
                    {"name": "data", "persistentVolumeClaim": {"claimName": "d"}},
                    {"name": "cfg", "configMap": {"name": "c", "items": [{"key": "k", "path": "p"}]}},
                    {"name": "sec", "secret": {"secretName": "s", "defaultMode": 256}},
                    {"name": "hp", "hostPath": {"path": "/data", "type": "Directory"}},
                    {"name": "nfs", "nfs": {"server": "n", "path": "/x", "readOnly": True}}],
        "dnsConfig": {"nameservers": ["1.1.1.1"], "options": [{"name": "ndots", "value": "2"}]},
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["db"]}],
        "readinessGates": [{"conditionType": "x.io/ready"}], "os": {"name": "linux"},
        "nodeSelector": {"accelerator": "a100"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule",
                         "tolerationSeconds": 30}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "k", "operator": "In", "values": ["v"]}],
                     "matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n"]}]}]},
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 10, "preference": {"matchExpressions": [{"key": "z", "operator": "Exists"}]}}]},
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 100, "podAffinityTerm": {
                        "labelSelector": {"matchLabels": {"app": "x"},
                                          "matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]}]},
                        "namespaceSelector": {}, "namespaces": ["n"], "matchLabelKeys": ["pod-template-hash"],
                        "topologyKey": "kubernetes.io/hostname"}}]},
            "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "y"}}, "topologyKey": "zone"}]}},
        "imagePullSecrets": [{"name": "regcred"}],
        "securityContext": {"fsGroup": 2000, "runAsGroup": 3000, "supplementalGroups": [4000],
                            "sysctls": [{"name": "net.core.somaxconn", "value": "1024"}]},
        "serviceAccountName": "trainer", "priorityClassName": "high", "schedulerName": "volcano",
        "hostNetwork": False, "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
        "restartPolicy": "OnFailure", "hostIPC": True, "shareProcessNamespace": False,
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone",
                                       "whenUnsatisfiable": "DoNotSchedule"}],
    }
    b["spec"]["pytorchReplicaSpecs"]["Master"]["template"] = {
        "metadata": {"labels": {"app": "x"}, "annotations": {"a": "b"}}, "spec": pod}
    b["spec"]["elasticPolicy"] = {"minReplicas": 1, "maxReplicas": 3, "maxRestarts": 2,
                                  "rdzvBackend": "c10d", "rdzvConf": [{"key": "k", "value": "v"}],
                                  "metrics": [{"type": "Resource", "resource": {"name": "cpu"}}]}
    b["spec"]["runPolicy"].update({"cleanPodPolicy": "None", "backoffLimit": 3,
                                   "ttlSecondsAfterFinished": 60, "activeDeadlineSeconds": 600,
                                   "schedulingPolicy": {"minAvailable": 1, "queue": "q",
                                                        "minResources": {"cpu": "1"},
                                                        "priorityClass": "p",
                                                        "scheduleTimeoutSeconds": 10}})
    b["spec"]["nprocPerNode"] = "auto"
    return b


def test_a_full_manifest_loses_nothing(daemon, ns):
    """Nothing the CRD knows is pruned: every closed level, with the fields real jobs carry."""
    name = uniq("full")
    body = full_job(name)
    r = daemon.post(pj(ns), body, query={"fieldValidation": "Strict"})
    assert r.status == 201, r
    assert unknown_warnings(r) == []
    got = r.json
    assert got["spec"]["pytorchReplicaSpecs"] == body["spec"]["pytorchReplicaSpecs"], got
    assert got["spec"]["elasticPolicy"] == body["spec"]["elasticPolicy"]
    sent_rp = dict(body["spec"]["runPolicy"])
    assert got["spec"]["runPolicy"] == sent_rp, got["spec"]["runPolicy"]
    assert got["spec"]["nprocPerNode"] == "auto"


def test_nested_core_types_are_pruned_too(daemon, ns):
    name = uniq("nest")
    b = job(name)
    c = b["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]
    c["env"] = [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "s", "kye": "k", "key": "t"}}}]
    c["securityContext"] = {"capabilities": {"drop": ["ALL"], "dorp": ["X"]}}
    b["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["volumes"] = [
        {"name": "v", "configMap": {"nmae": "c", "name": "c"}}]
    b["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["affinity"] = {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "k", "operator": "In", "valuez": ["v"]}]}]}}}
    r = daemon.post(pj(ns), b, query={"fieldValidation": "Strict"})
    base = "spec.pytorchReplicaSpecs.Master.template.spec."
    assert_status(r, 400, "BadRequest", STRICT_PREFIX + strict_text([
        base + "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
               "nodeSelectorTerms[0].matchExpressions[0].valuez",
        base + "containers[0].env[0].valueFrom.secretKeyRef.kye",
        base + "containers[0].securityContext.capabilities.dorp",
        base + "volumes[0].configMap.nmae"]))


def test_update_prunes_and_strict_refuses(daemon, ns):
    name = uniq("unk")
    cur = daemon.post(pj(ns), job(name)).json
    body = copy.deepcopy(cur)
    body["spec"]["runPolicy"]["backofLimit"] = 5
    r = daemon.put(pj(ns, name), body, query={"fieldValidation": "Strict"})
    assert_status(r, 400, "BadRequest", STRICT_PREFIX + 'unknown field "spec.runPolicy.backofLimit"')
    # decoding comes first: before the name check, and before the 404 of a missing object
    r = daemon.put(pj(ns, name + "-x"), body, query={"fieldValidation": "Strict"})
    assert_status(r, 400, "BadRequest", STRICT_PREFIX + 'unknown field "spec.runPolicy.backofLimit"')
    gone = copy.deepcopy(body)
    gone["metadata"]["name"] = name + "-gone"
    r = daemon.put(pj(ns, name + "-gone"), gone, query={"fieldValidation": "Strict"})
    assert_status(r, 400, "BadRequest", STRICT_PREFIX + 'unknown field "spec.runPolicy.backofLimit"')
    r = daemon.put(pj(ns, name), body)
    assert r.status == 200, r
    assert unknown_warnings(r) == [warning("spec.runPolicy.backofLimit")]
    assert "backofLimit" not in r.json["spec"]["runPolicy"]
    # pruned to the stored object: nothing changed, so no new resourceVersion
    assert r.json["metadata"]["resourceVersion"] == cur["metadata"]["resourceVersion"], r


def test_patch_prunes_and_strict_is_422_on_patch(daemon, ns):
    name = uniq("unk")
    cur = daemon.post(pj(ns), job(name)).json
    patch = {"spec": {"runPolicy": {"backofLimit": 5, "backoffLimit": 4}}}
    r = daemon.patch(pj(ns, name), patch, query={"fieldValidation": "Strict"})
    b = assert_status(r, 422, "Invalid", prefix=' "" is invalid: patch: Invalid value: "{')
    text = 'strict decoding error: unknown field "spec.runPolicy.backofLimit"'
    assert b["message"].endswith('}": ' + text), b["message"]
    causes = b["details"]["causes"]
    assert list(b["details"]) == ["causes"], b["details"]
    assert len(causes) == 1 and causes[0]["reason"] == "FieldValueInvalid", causes
    assert causes[0]["field"] == "patch", causes
    # the value is the patched object, keys sorted, unknown field still in it
    value = causes[0]["message"][len('Invalid value: "'):-len('": ' + text)]
    patched = json.loads(json.loads('"' + value + '"'))
    assert list(patched) == sorted(patched), list(patched)
    assert patched["spec"]["runPolicy"]["backofLimit"] == 5, patched
    assert patched["metadata"]["name"] == name
    g = daemon.get(pj(ns, name)).json
    assert g["metadata"]["resourceVersion"] == cur["metadata"]["resourceVersion"]

    r = daemon.patch(pj(ns, name), patch)
    assert r.status == 200, r
    assert unknown_warnings(r) == [warning("spec.runPolicy.backofLimit")]
    rp = r.json["spec"]["runPolicy"]
    assert rp["backoffLimit"] == 4 and "backofLimit" not in rp, rp
    r = daemon.patch(pj(ns, name), {"metadata": {"labelz": {"a": "b"}}},
                     query={"fieldValidation": "Ignore"})
    assert r.status == 200 and unknown_warnings(r) == [], r
    assert "labelz" not in r.json["metadata"]


def test_status_update_prunes_unknown_status_fields(daemon, ns):
    name = uniq("unk")
    cur = daemon.post(pj(ns), job(name)).json
    body = copy.deepcopy(cur)
    body["status"] = {"startTime": "2026-01-01T00:00:00Z", "phase": "Running",
                      "replicaStatuses": {"Master": {"active": 1, "ready": 1}}}
    r = daemon.put(pj(ns, name, "status"), body, query={"fieldValidation": "Strict"})
    assert_status(r, 400, "BadRequest", STRICT_PREFIX + strict_text(
        ["status.phase", "status.replicaStatuses.Master.ready"]))
    r = daemon.put(pj(ns, name, "status"), body)
    assert r.status == 200, r
    assert unknown_warnings(r) == [warning("status.phase"), warning("status.replicaStatuses.Master.ready")]
    assert r.json["status"]["replicaStatuses"] == {"Master": {"active": 1}}, r.json["status"]
    assert "phase" not in r.json["status"]


def test_kubectl_validation_modes(daemon, kubectl, ns, tmp_path):
    """kubectl create sends Strict by default; --validate=warn sends Warn, =false Ignore."""
    name = uniq("kc")
    b = job(name, ns=ns)
    b["spec"]["pytorchReplicaSpecs"]["Master"]["replica"] = 2
    f = tmp_path / "job.json"
    f.write_text(json.dumps(b))
    p = kubectl("create", "-f", str(f))
    assert p.returncode != 0, p
    assert ('strict decoding error: unknown field "spec.pytorchReplicaSpecs.Master.replica"'
            in p.stderr), p.stderr
    p = kubectl("create", "--validate=warn", "-f", str(f))
    assert p.returncode == 0, p.stderr
    assert 'unknown field "spec.pytorchReplicaSpecs.Master.replica"' in p.stderr, p.stderr
    got = json.loads(kubectl("get", "pytorchjob", name, "-n", ns, "-o", "json").stdout)
    assert "replica" not in got["spec"]["pytorchReplicaSpecs"]["Master"], got


def test_python_client_create_is_pruned(daemon, pyclient, ns):
    """Debian's client sends no fieldValidation (its methods do not take one): Warn, pruned."""
    from kubernetes import client
    api = client.CustomObjectsApi(pyclient)
    name = uniq("py")
    b = job(name)
    b["spec"]["runPolicy"]["ttlSecondsAfterFinish"] = 5
    got = api.create_namespaced_custom_object("kubeflow.org", "v1", ns, "pytorchjobs", b)
    assert "ttlSecondsAfterFinish" not in got["spec"]["runPolicy"], got


# -- built-in kinds: decoded into their Go structs, unknown fields listed in the document's order --

POD_STRICT = 'Pod in version "v1" cannot be handled as a Pod: strict decoding error: '


def core_pod(name):
    # members in an order that is not sorted: strict decoding lists them as it meets them
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labelz": {"a": "b"}},
            "spec": {"zz": 1, "restartPolicy": "Never",
                     "containers": [{"name": "c", "image": "busybox", "command": ["true"],
                                     "imagee": "x", "resources": {"limitz": {}}}],
                     "aa": {"b": 2}}}


POD_PATHS = ["metadata.labelz", "spec.zz", "spec.containers[0].imagee",
             "spec.containers[0].resources.limitz", "spec.aa"]


def test_core_kinds_prune_in_document_order(daemon):
    ns = daemon.create_ns(uniq("core"))
    pods = f"/api/v1/namespaces/{ns}/pods"
    r = daemon.post(pods, core_pod("p"), query={"fieldValidation": "Strict"})
    assert_status(r, 400, "BadRequest", POD_STRICT + strict_text(POD_PATHS))
    r = daemon.post(pods, core_pod("p"), query={"dryRun": "All"})
    assert r.status == 201, r
    assert unknown_warnings(r) == [warning(p) for p in POD_PATHS]
    spec = r.json["spec"]
    assert "zz" not in spec and "aa" not in spec and "labelz" not in r.json["metadata"], r.json
    c = spec["containers"][0]
    assert "imagee" not in c and c["resources"] == {}, c

    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 80, "nodeport": 30001}], "selector": {"a": "b"}},
           "status": {"loadBalancer": {}}}
    r = daemon.post(f"/api/v1/namespaces/{ns}/services", svc)
    assert r.status == 201 and unknown_warnings(r) == [warning("spec.ports[0].nodeport")], r
    assert r.json["spec"]["ports"][0] == {"port": 80, "protocol": "TCP", "targetPort": 80}, r.json
    nsb = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": uniq("nsu")},
           "spec": {"finalizerz": ["x"]}}
    r = daemon.post("/api/v1/namespaces", nsb, query={"fieldValidation": "Strict"})
    assert_status(r, 400, "BadRequest", 'Namespace in version "v1" cannot be handled as a Namespace: '
                  'strict decoding error: unknown field "spec.finalizerz"')
    ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "reason": "R",
          "involvedObject": {"kind": "Pod", "name": "p", "namespace": ns}, "reasn": "x"}
    r = daemon.post(f"/api/v1/namespaces/{ns}/events", ev)
    assert r.status == 201 and unknown_warnings(r) == [warning("reasn")], r
    assert "reasn" not in r.json


def test_core_patches_strict(daemon):
    ns = daemon.create_ns(uniq("core"))
    pods = f"/api/v1/namespaces/{ns}/pods"
    body = core_pod("p")
    r = daemon.post(pods, body, query={"fieldValidation": "Ignore"})
    assert r.status == 201 and unknown_warnings(r) == [], r
    # a strategic merge patch shows the patch as Go prints the decoded map
    r = daemon.patch(f"{pods}/p", {"spec": {"bar": {"x": [1, 2.5, "s"], "n": None}}},
                     ctype="application/strategic-merge-patch+json", query={"fieldValidation": "Strict"})
    assert_status(r, 422, "Invalid", ' "" is invalid: patch: Invalid value: "map[spec:map[bar:map[n:<nil> '
                  'x:[1 2.5 s]]]]": strict decoding error: unknown field "spec.bar"')
    # a merge patch the patched object, keys sorted
    r = daemon.patch(f"{pods}/p", {"spec": {"bar": 1}}, query={"fieldValidation": "Strict"})
    b = assert_status(r, 422, "Invalid", prefix=' "" is invalid: patch: Invalid value: "{\\"apiVersion\\":\\"v1\\",')
    assert b["message"].endswith('": strict decoding error: unknown field "spec.bar"'), b["message"]
    # Warn: pruned, so nothing changes (once the pod's own status writes are over)
    poll(lambda: daemon.get(f"{pods}/p").json["status"].get("phase") == "Succeeded", desc="pod done")
    rv0 = daemon.get(f"{pods}/p").json["metadata"]["resourceVersion"]
    r = daemon.patch(f"{pods}/p", {"spec": {"bar": 1}})
    assert r.status == 200 and unknown_warnings(r) == [warning("spec.bar")], r
    assert r.json["metadata"]["resourceVersion"] == rv0, r


# -- repeated keys: the last value wins, and fieldValidation says what the client hears ------------

def raw_job(name_a, name_b, extra=""):
    return ('{"apiVersion":"kubeflow.org/v1","kind":"PyTorchJob","metadata":{"name":"%s","name":"%s"},'
            '"spec":{"pytorchReplicaSpecs":{"Master":{"replicas":2,"replicas":1,"template":{"spec":'
            '{"containers":[{"name":"pytorch","image":"i","image":"j"}]}}}},'
            '"runPolicy":{"managedBy":"kueue.x-k8s.io/multikueue"}%s}}' % (name_a, name_b, extra))


DUP_PATHS = ["metadata.name", "spec.pytorchReplicaSpecs.Master.replicas",
             "spec.pytorchReplicaSpecs.Master.template.spec.containers[0].image"]


def dup_warning(path):
    return '299 - "duplicate field \\"{}\\""'.format(path)


def test_repeated_keys(daemon, ns):
    a, b = uniq("dupa"), uniq("dupb")
    body = raw_job(a, b, ',"foo":1').encode()
    r = daemon.api("POST", pj(ns), body=body, ctype="application/json", query={"fieldValidation": "Strict"})
    assert_status(r, 400, "BadRequest", STRICT_PREFIX + ", ".join(
        ['duplicate field "%s"' % p for p in DUP_PATHS] + ['unknown field "spec.foo"']))
    r = daemon.api("POST", pj(ns), body=body, ctype="application/json")
    assert r.status == 201, r
    got = r.headers.get_all("Warning") or []
    assert got == [dup_warning(p) for p in DUP_PATHS] + [warning("spec.foo")], got
    o = r.json
    assert o["metadata"]["name"] == b, o  # the last value wins
    m = o["spec"]["pytorchReplicaSpecs"]["Master"]
    assert m["replicas"] == 1 and m["template"]["spec"]["containers"][0]["image"] == "j", m
    r = daemon.api("POST", pj(ns), body=raw_job(uniq("x"), uniq("dupc")).encode(), ctype="application/json",
                   query={"fieldValidation": "Ignore"})
    assert r.status == 201 and not r.headers.get_all("Warning"), r
    # a merge patch's repeated keys (paths in the patch, which are the object's)
    path = pj(ns, b)
    p = b'{"metadata":{"labels":{"a":"1","a":"2"}}}'
    r = daemon.api("PATCH", path, body=p, ctype="application/merge-patch+json",
                   query={"fieldValidation": "Strict"})
    m = assert_status(r, 422, "Invalid", prefix=' "" is invalid: patch: Invalid value: ')["message"]
    assert m.endswith('": strict decoding error: duplicate field "metadata.labels.a"'), m
    r = daemon.api("PATCH", path, body=p, ctype="application/merge-patch+json")
    assert r.status == 200 and r.json["metadata"]["labels"] == {"a": "2"}, r
    assert (r.headers.get_all("Warning") or []) == [dup_warning("metadata.labels.a")], r
    # a JSON patch's own keys are not checked (kube decodes the operations without strictness)
    jp = b'[{"op":"add","op":"replace","path":"/metadata/labels/a","value":"3"}]'
    r = daemon.api("PATCH", path, body=jp, ctype="application/json-patch+json",
                   query={"fieldValidation": "Strict"})
    assert r.status == 200 and r.json["metadata"]["labels"] == {"a": "3"}, r
    # a built-in kind's body
    pod = (b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"x":"1","x":"2"}},'
           b'"spec":{"containers":[{"name":"c","image":"i","command":["true"]}]}}')
    r = daemon.api("POST", f"/api/v1/namespaces/{ns}/pods", body=pod, ctype="application/json",
                   query={"dryRun": "All"})
    assert r.status == 201 and r.json["metadata"]["labels"] == {"x": "2"}, r
    assert (r.headers.get_all("Warning") or []) == [dup_warning("metadata.labels.x")], r
