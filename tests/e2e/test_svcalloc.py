"""A Service's cluster IP and node ports (svcalloc.c), as kube's service REST storage allocates
them on a single-stack IPv4 cluster with kubeadm's ranges (10.96.0.0/12, 30000-32767), and the
controller's children defaulted as the POST of them would be."""
import concurrent.futures
import ipaddress

from e2elib import assert_status, pods_path, run_job, svcs_path, uniq, wait_job

NET = ipaddress.ip_network("10.96.0.0/12")


def svc(name, type_=None, ports=None, selector=None, **spec):
    s = {"ports": ports if ports is not None else [{"port": 80}], **spec}
    if selector is not False:
        s["selector"] = selector or {"app": name}
    if type_:
        s["type"] = type_
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": s}


def create(daemon, ns, body, code=201):
    r = daemon.post(svcs_path(ns), body)
    assert r.status == code, r
    return r.json


def assert_ip(spec):
    ip = ipaddress.ip_address(spec["clusterIP"])
    assert ip in NET and ip not in (NET.network_address, NET.broadcast_address), spec
    assert spec["clusterIPs"] == [spec["clusterIP"]], spec
    assert (spec["ipFamilies"], spec["ipFamilyPolicy"]) == (["IPv4"], "SingleStack"), spec
    return ip


def test_cluster_ips_distinct_even_when_created_together(daemon):
    ns = daemon.create_ns(uniq("alloc"))
    names = [f"s{i}" for i in range(40)]
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        got = list(ex.map(lambda n: create(daemon, ns, svc(n)), names))
    ips = [assert_ip(o["spec"]) for o in got]
    assert len(set(ips)) == len(ips), ips
    # random picks come from above the band left for the addresses manifests name
    assert all(int(ip) - int(NET.network_address) >= 256 for ip in ips), ips
    # what the store holds, and what a LIST shows, is what the create answered
    listed = {o["metadata"]["name"]: o["spec"]["clusterIP"] for o in daemon.get(svcs_path(ns)).json["items"]}
    assert listed == {o["metadata"]["name"]: o["spec"]["clusterIP"] for o in got}


def test_node_ports_and_types(daemon):
    ns = daemon.create_ns(uniq("alloc"))
    np = create(daemon, ns, svc("np", "NodePort", [{"name": "a", "port": 80}, {"name": "b", "port": 81}]))["spec"]
    assert_ip(np)
    ports = [p["nodePort"] for p in np["ports"]]
    assert all(30000 <= p <= 32767 for p in ports) and len(set(ports)) == 2, np
    assert np["externalTrafficPolicy"] == "Cluster" and "allocateLoadBalancerNodePorts" not in np, np
    lb = create(daemon, ns, svc("lb", "LoadBalancer"))["spec"]
    assert_ip(lb)
    assert lb["allocateLoadBalancerNodePorts"] is True and 30000 <= lb["ports"][0]["nodePort"] <= 32767, lb
    assert lb["ports"][0]["nodePort"] not in ports
    lb2 = create(daemon, ns, svc("lb2", "LoadBalancer", allocateLoadBalancerNodePorts=False))["spec"]
    assert "nodePort" not in lb2["ports"][0] and lb2["externalTrafficPolicy"] == "Cluster", lb2
    cip = create(daemon, ns, svc("cip"))["spec"]
    assert "nodePort" not in cip["ports"][0] and "externalTrafficPolicy" not in cip, cip
    hl = create(daemon, ns, svc("hl", clusterIP="None"))["spec"]
    assert (hl["clusterIP"], hl["clusterIPs"], hl["ipFamilies"], hl["ipFamilyPolicy"]) == \
        ("None", ["None"], ["IPv4"], "SingleStack"), hl
    hl2 = create(daemon, ns, svc("hl2", clusterIP="None", selector=False))["spec"]
    assert hl2["ipFamilyPolicy"] == "RequireDualStack", hl2
    ex = create(daemon, ns, svc("ex", "ExternalName", externalName="example.com"))["spec"]
    for k in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        assert k not in ex, ex


def test_named_values_checked(daemon):
    ns = daemon.create_ns(uniq("alloc"))
    a = create(daemon, ns, svc("a", clusterIP="10.96.0.10"))["spec"]
    assert a["clusterIPs"] == ["10.96.0.10"], a
    r = daemon.post(svcs_path(ns), svc("b", clusterIP="10.96.0.10"))
    assert_status(r, 422, "Invalid", 'Service "b" is invalid: spec.clusterIPs: Invalid value: '
                  '[]string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: provided IP is already allocated')
    r = daemon.post(svcs_path(ns), svc("b", clusterIP="192.168.0.1"))
    assert_status(r, 422, "Invalid", 'Service "b" is invalid: spec.clusterIPs: Invalid value: '
                  '[]string{"192.168.0.1"}: failed to allocate IP 192.168.0.1: the provided IP '
                  '(192.168.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12')
    r = daemon.post(svcs_path(ns), svc("b", clusterIP="10.96.0.x"))
    assert_status(r, 422, "Invalid", 'Service "b" is invalid: spec.clusterIPs[0]: Invalid value: '
                  '"10.96.0.x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')
    create(daemon, ns, svc("n", "NodePort", [{"port": 80, "nodePort": 30010}]))
    r = daemon.post(svcs_path(ns), svc("b", "NodePort", [{"port": 80, "nodePort": 30010}]))
    assert_status(r, 422, "Invalid", 'Service "b" is invalid: spec.ports[0].nodePort: Invalid value: '
                  '30010: provided port is already allocated')
    r = daemon.post(svcs_path(ns), svc("b", "NodePort", [{"port": 80, "nodePort": 8080}]))
    assert_status(r, 422, "Invalid", 'Service "b" is invalid: spec.ports[0].nodePort: Invalid value: '
                  '8080: provided port is not in the valid range. The range of valid ports is 30000-32767')
    assert daemon.get(svcs_path(ns, "b")).status == 404
    # a deleted service's values are free again
    assert daemon.delete(svcs_path(ns, "a")).status == 200
    assert daemon.delete(svcs_path(ns, "n")).status == 200
    create(daemon, ns, svc("b", "NodePort", [{"port": 80, "nodePort": 30010}], clusterIP="10.96.0.10"))


def test_update_keeps_what_it_leaves_out(daemon):
    ns = daemon.create_ns(uniq("alloc"))
    cur = create(daemon, ns, svc("u", "NodePort", [{"name": "http", "port": 80}]))
    spec = cur["spec"]
    body = svc("u", "NodePort", [{"name": "http", "port": 80}])
    body["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
    r = daemon.put(svcs_path(ns, "u"), body)
    assert r.status == 200, r
    got = r.json["spec"]
    assert (got["clusterIP"], got["clusterIPs"], got["ports"][0]["nodePort"]) == \
        (spec["clusterIP"], spec["clusterIPs"], spec["ports"][0]["nodePort"]), got
    # nothing else changed: a no-op, the same resourceVersion
    assert r.json["metadata"]["resourceVersion"] == cur["metadata"]["resourceVersion"], r
    r = daemon.patch(svcs_path(ns, "u"), {"spec": {"clusterIP": "10.96.9.9"}})
    assert_status(r, 422, "Invalid", 'Service "u" is invalid: spec.clusterIPs[0]: Invalid value: '
                  '[]string{"10.96.9.9"}: may not change once set')
    # a new port gets a node port, the old one keeps its own
    r = daemon.patch(svcs_path(ns, "u"), {"spec": {"ports": [{"name": "http", "port": 80},
                                                             {"name": "https", "port": 443}]}})
    assert r.status == 200, r
    p = r.json["spec"]["ports"]
    assert p[0]["nodePort"] == spec["ports"][0]["nodePort"] and 30000 <= p[1]["nodePort"] <= 32767, p
    # to ClusterIP: the node ports and the external policy go, the IP stays
    r = daemon.patch(svcs_path(ns, "u"), {"spec": {"type": "ClusterIP"}})
    assert r.status == 200, r
    got = r.json["spec"]
    assert got["clusterIP"] == spec["clusterIP"] and "externalTrafficPolicy" not in got, got
    assert all("nodePort" not in x for x in got["ports"]), got
    # to ExternalName: the IP goes too; and back to ClusterIP: a new one
    r = daemon.patch(svcs_path(ns, "u"), {"spec": {"type": "ExternalName", "externalName": "x.example"}})
    assert r.status == 200, r
    assert "clusterIP" not in r.json["spec"] and "ipFamilies" not in r.json["spec"], r.json["spec"]
    r = daemon.patch(svcs_path(ns, "u"), {"spec": {"type": "ClusterIP", "externalName": None}})
    assert r.status == 200, r
    assert_ip(r.json["spec"])


def test_kubectl_shows_the_cluster_ip(daemon, kubectl):
    ns = daemon.create_ns(uniq("alloc"))
    p = kubectl("create", "service", "nodeport", "web", "--tcp=80:8080", "-n", ns)
    assert p.returncode == 0, p.stderr
    o = daemon.get(svcs_path(ns, "web")).json["spec"]
    out = kubectl("get", "svc", "web", "-n", ns).stdout
    assert o["clusterIP"] in out and f"80:{o['ports'][0]['nodePort']}/TCP" in out, out


def test_controller_children_get_the_post_defaults(daemon):
    """The operator's pods and services are POSTed on a cluster: they carry core/v1's defaults,
    and the headless services the dual-stack fields."""
    ns = daemon.create_ns(uniq("kids"))
    name = uniq("j")
    r = daemon.post(f"/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs",
                    run_job(name, master="exit 0"))
    assert r.status == 201, r
    wait_job(daemon, ns, name, lambda j: any(c["type"] == "Succeeded" for c in
                                             (j.get("status") or {}).get("conditions", [])))
    pod = daemon.get(pods_path(ns, f"{name}-master-0")).json
    spec = pod["spec"]
    assert {k: spec.get(k) for k in ("dnsPolicy", "enableServiceLinks", "schedulerName",
                                     "terminationGracePeriodSeconds", "priority", "securityContext")} == \
        {"dnsPolicy": "ClusterFirst", "enableServiceLinks": True, "schedulerName": "default-scheduler",
         "terminationGracePeriodSeconds": 30, "priority": 0, "securityContext": {}}, spec
    c = spec["containers"][0]
    assert (c["terminationMessagePath"], c["terminationMessagePolicy"], c["resources"]) == \
        ("/dev/termination-log", "File", {}), c
    s = daemon.get(svcs_path(ns, f"{name}-master-0")).json["spec"]
    assert (s["clusterIP"], s["clusterIPs"], s["ipFamilies"], s["ipFamilyPolicy"]) == \
        ("None", ["None"], ["IPv4"], "SingleStack"), s
    assert (s["sessionAffinity"], s["internalTrafficPolicy"]) == ("None", "Cluster"), s


def test_a_named_value_goes_to_one_of_two_creates_in_flight(daemon):
    """Two creates naming the same cluster IP at once: the second is checked against the first
    even while the first is not committed yet (the allocations' ring), so exactly one gets it."""
    ns = daemon.create_ns(uniq("race"))

    def pair(i):
        ip = f"10.96.0.{100 + i}"  # the band random picks leave alone
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            rs = list(ex.map(lambda n: daemon.post(svcs_path(ns), svc(n, clusterIP=ip)),
                             (f"a{i}", f"b{i}")))
        return sorted(r.status for r in rs)
    got = [pair(i) for i in range(1, 31)]
    assert all(g == [201, 422] for g in got), got


def test_the_index_follows_restarts_deletes_and_updates(make_daemon):
    """What is taken is indexed from the store at start and kept by its commits: a value stays
    taken across a restart, is free once its service is deleted or changed away from it."""
    d = make_daemon()
    ns = d.create_ns(uniq("idx"))
    create(d, ns, svc("a", "NodePort", [{"port": 80, "nodePort": 30020}], clusterIP="10.96.0.20"))
    create(d, ns, svc("b", clusterIP="10.96.0.21"))
    assert d.stop() == 0
    d.start()
    r = d.post(svcs_path(ns), svc("c", clusterIP="10.96.0.20"))
    assert_status(r, 422, "Invalid", contains="provided IP is already allocated")
    r = d.post(svcs_path(ns), svc("c", "NodePort", [{"port": 80, "nodePort": 30020}]))
    assert_status(r, 422, "Invalid", contains="provided port is already allocated")
    # a's node port goes with its type; b goes away: both values are free again
    assert d.patch(svcs_path(ns, "a"), {"spec": {"type": "ClusterIP"}}).status == 200
    assert d.delete(svcs_path(ns, "b")).status == 200
    create(d, ns, svc("c", "NodePort", [{"port": 80, "nodePort": 30020}], clusterIP="10.96.0.21"))
    r = d.post(svcs_path(ns), svc("e", clusterIP="10.96.0.20"))  # a still holds its IP
    assert_status(r, 422, "Invalid", contains="provided IP is already allocated")


def test_pods_get_the_default_tolerations(daemon):
    """DefaultTolerationSeconds: not-ready and unreachable NoExecute for 300 s, unless tolerated."""
    ns = daemon.create_ns(uniq("tol"))
    pods = pods_path(ns)

    def pod(tols=None):
        spec = {"containers": [{"name": "c", "image": "i", "command": ["true"]}], "restartPolicy": "Never"}
        if tols is not None:
            spec["tolerations"] = tols
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": uniq("p")}, "spec": spec}
    nr = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
          "tolerationSeconds": 300}
    ur = dict(nr, key="node.kubernetes.io/unreachable")
    r = daemon.post(pods, pod(), query={"dryRun": "All"})
    assert r.json["spec"]["tolerations"] == [nr, ur], r.json["spec"]
    own = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    r = daemon.post(pods, pod([own, {"key": "node.kubernetes.io/unreachable", "operator": "Exists"}]),
                    query={"dryRun": "All"})
    assert r.json["spec"]["tolerations"] == [own, {"key": "node.kubernetes.io/unreachable",
                                                   "operator": "Exists"}, nr], r.json["spec"]
    r = daemon.post(pods, pod([{"operator": "Exists"}]), query={"dryRun": "All"})
    assert r.json["spec"]["tolerations"] == [{"operator": "Exists"}], r.json["spec"]


def test_service_validation(daemon):
    """ValidateService's rules that manifests get wrong, with kube's texts."""
    ns = daemon.create_ns(uniq("sv"))

    def post(body):
        return daemon.post(svcs_path(ns), body, query={"dryRun": "All"})
    r = post(svc("a", ports=[]))
    assert_status(r, 422, "Invalid", 'Service "a" is invalid: spec.ports: Required value')
    assert post(svc("a", ports=[], clusterIP="None")).status == 201
    r = post(svc("a", ports=[{"port": 0, "protocol": "XTP"}, {"name": "Bad_Name", "port": 70000,
                                                            "targetPort": "--http-too-long-name"}]))
    assert_status(r, 422, "Invalid", 'Service "a" is invalid: [spec.ports[0].name: Required value, '
                  'spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive, '
                  'spec.ports[0].protocol: Unsupported value: "XTP": supported values: "SCTP", "TCP", "UDP", '
                  'spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive, '
                  'spec.ports[1].name: Invalid value: "Bad_Name": a lowercase RFC 1123 label must consist of '
                  "lower case alphanumeric characters or '-', and must start and end with an alphanumeric "
                  "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?'), "
                  'spec.ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive, '
                  'spec.ports[1].targetPort: Invalid value: "--http-too-long-name": must be no more than 15 characters, '
                  'spec.ports[1].targetPort: Invalid value: "--http-too-long-name": must not contain consecutive hyphens, '
                  'spec.ports[1].targetPort: Invalid value: "--http-too-long-name": must not begin or end with a hyphen]')
    r = post(svc("a", ports=[{"name": "x", "port": 1}, {"name": "x", "port": 2}]))
    assert_status(r, 422, "Invalid", 'Service "a" is invalid: spec.ports[1].name: Duplicate value: "x"')
    r = post(svc("a", "Foo", sessionAffinity="Sticky"))
    assert_status(r, 422, "Invalid", 'Service "a" is invalid: [spec.sessionAffinity: Unsupported value: '
                  '"Sticky": supported values: "ClientIP", "None", spec.type: Unsupported value: "Foo": '
                  'supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]')
    r = post(svc("a", "ExternalName", ports=[]))
    assert_status(r, 422, "Invalid", 'Service "a" is invalid: spec.externalName: Required value')
    assert post(svc("a", "ExternalName", ports=[], externalName="db.example.com.")).status == 201
    r = post(svc("1a"))
    assert_status(r, 422, "Invalid", prefix='Service "1a" is invalid: metadata.name: Invalid value: "1a": '
                  'a DNS-1035 label must consist of lower case alphanumeric characters')


def test_pod_updates_are_restricted(daemon):
    """ValidatePodUpdate: a running pod's spec keeps what its process was started with; only the
    images, activeDeadlineSeconds (down), added tolerations may change."""
    ns = daemon.create_ns(uniq("pu"))
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"restartPolicy": "Never", "activeDeadlineSeconds": 100,
                     "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "30"]}]}}
    assert daemon.post(pods_path(ns), body).status == 201
    path = pods_path(ns, "p")
    tols = daemon.get(path).json["spec"]["tolerations"]  # the admission's two: a list is replaced whole
    r = daemon.patch(path, {"spec": {"containers": [{"name": "c", "image": "busybox:2"}],
                                     "activeDeadlineSeconds": 50,
                                     "tolerations": tols + [{"key": "a", "operator": "Exists"}]}},
                     ctype="application/strategic-merge-patch+json")
    assert r.status == 200, r
    s = r.json["spec"]
    assert s["containers"][0]["image"] == "busybox:2" and s["activeDeadlineSeconds"] == 50, s
    r = daemon.patch(path, {"spec": {"restartPolicy": "Always"}})
    b = assert_status(r, 422, "Invalid", prefix='Pod "p" is invalid: spec: Forbidden: pod updates may not '
                      'change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,'
                      '`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing '
                      'tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it '
                      'was previously negative)')
    assert b["details"]["causes"][0]["field"] == "spec", b
    r = daemon.patch(path, {"spec": {"activeDeadlineSeconds": 60}})
    assert_status(r, 422, "Invalid", 'Pod "p" is invalid: spec.activeDeadlineSeconds: Invalid value: 60: '
                  'must be less than or equal to previous value')
    r = daemon.patch(path, {"spec": {"tolerations": []}})
    assert_status(r, 422, "Invalid", 'Pod "p" is invalid: spec.tolerations: Forbidden: existing toleration '
                  'can not be modified except its tolerationSeconds')
    r = daemon.patch(path, {"spec": {"containers": [{"name": "c", "image": "x"}, {"name": "d", "image": "y"}]}},
                     ctype="application/strategic-merge-patch+json")
    assert_status(r, 422, "Invalid", 'Pod "p" is invalid: spec.containers: Forbidden: pod updates may not '
                  'add or remove containers')
    # labels and the status stay writable
    assert daemon.patch(path, {"metadata": {"labels": {"a": "b"}}}).status == 200
    daemon.delete(path, query={"gracePeriodSeconds": "0"})
