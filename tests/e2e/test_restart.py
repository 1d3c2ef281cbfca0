"""A restart on the same data dir continues where the daemon stopped (ARCHITECTURE.md: "keeps
everything in DIR … a restart on the same DIR continues where it stopped")."""
from e2elib import pj, rv, strip_volatile, uniq


def test_restart_keeps_everything(make_daemon):
    d = make_daemon()
    ca = d.ca_path.read_bytes()
    tokens = d.tokens_path.read_text()
    token = d.token
    ns = d.create_ns(uniq("rs"))
    plain = d.create_job(ns, "plain", labels={"team": "a"})
    held = d.create_job(ns, "held", finalizers=["example.com/hold"])
    d.create_job(ns, "gone")
    r = d.patch(pj(ns, "plain", "status"), {"status": {"conditions": [
        {"type": "Created", "status": "True", "reason": "PyTorchJobCreated", "message": "m",
         "lastUpdateTime": "2024-05-01T10:00:00Z", "lastTransitionTime": "2024-05-01T10:00:00Z"}]}})
    assert r.status == 200, r
    plain = r.json
    r = d.delete(pj(ns, "held"))
    assert r.status == 200, r
    held = r.json
    assert d.delete(pj(ns, "gone")).status == 200
    gen = d.post(pj(ns), {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
                          "metadata": {"generateName": "gen-"}, "spec": plain["spec"]})
    assert gen.status == 201, gen
    gen = gen.json
    before = d.get(pj(ns)).json
    list_rv = int(before["metadata"]["resourceVersion"])
    # an idle keep-alive connection must not hold up the shutdown
    idle = d.connect()
    assert d.api("GET", "/readyz", conn=idle).status == 200
    try:
        rc = d.stop()
    finally:
        idle.close()
    assert rc == 0, f"exit status {rc} after SIGTERM; log:\n{d.log_tail()}"

    d.start()
    assert d.ca_path.read_bytes() == ca, "the CA must survive a restart"
    assert d.tokens_path.read_text() == tokens
    assert d.token == token
    after = d.get(pj(ns)).json
    assert [strip_volatile(i) for i in after["items"]] == [strip_volatile(i) for i in before["items"]]
    assert int(after["metadata"]["resourceVersion"]) >= list_rv
    for old in (plain, held, gen):
        g = d.get(pj(ns, old["metadata"]["name"]))
        assert g.status == 200, g
        assert g.json["metadata"]["uid"] == old["metadata"]["uid"], g
        assert rv(g.json) == rv(old), g
    g = d.get(pj(ns, "plain")).json
    assert g["status"] == plain["status"] and g["metadata"]["labels"] == {"team": "a"}, g
    g = d.get(pj(ns, "held")).json
    assert g["metadata"]["deletionTimestamp"] == held["metadata"]["deletionTimestamp"], g
    assert g["metadata"]["finalizers"] == ["example.com/hold"], g
    assert d.get(pj(ns, "gone")).status == 404
    nss = d.get("/api/v1/namespaces").json["items"]
    assert {ns, "default", "kube-system"} <= {n["metadata"]["name"] for n in nss}, nss

    # new writes get higher resourceVersions than anything before the restart
    top = max(list_rv, *(rv(i) for i in before["items"]))
    new = d.create_job(ns, "new")
    assert rv(new) > top, (new["metadata"], top)
    r = d.patch(pj(ns, "plain"), {"metadata": {"labels": {"team": "b"}}})
    assert r.status == 200 and rv(r.json) > rv(new), r
    assert r.json["metadata"]["uid"] == plain["metadata"]["uid"]
    # the name is taken again after restart → 409
    assert d.post(pj(ns), {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
                           "metadata": {"name": "plain"}, "spec": plain["spec"]}).status == 409
    # a terminating object still finishes deleting
    d.remove_finalizers(ns, "held")
    d.wait_gone(ns, "held")

    # and a second restart still sees the post-restart writes
    last = d.get(pj(ns)).json
    assert d.stop() == 0
    d.start()
    again = d.get(pj(ns)).json
    assert [strip_volatile(i) for i in again["items"]] == [strip_volatile(i) for i in last["items"]]
    assert d.get(pj(ns, "held")).status == 404
