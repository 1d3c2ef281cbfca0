"""The DELETE matrix: k8s-api-semantics.md §3 (single object), §4.1 (finalizers), §5
(deletecollection) and the §13 edge cases 1–30. Watch events are checked through GET instead."""
import copy
import json

import pytest

from e2elib import (API, GK, GR, GROUP, PLURAL, TIME_RE, assert_not_found, assert_plain_404,
                    assert_status, assert_success_status, cause, invalid_details, pj, poll,
                    rv, uniq)

HOLD = "example.com/hold"
DO = "DeleteOptions.meta.k8s.io"


def mk(daemon, ns, **kw):
    o = daemon.create_job(ns, **kw)
    return o["metadata"]["name"], o


def assert_marked(o, finalizers, generation=2):
    m = o["metadata"]
    assert TIME_RE.match(m.get("deletionTimestamp", "")), m
    assert m.get("deletionGracePeriodSeconds") == 0, m
    assert m.get("finalizers") == finalizers, m
    assert m.get("generation") == generation, m


def do_invalid(field, reason, msg):
    return invalid_details("", "meta.k8s.io", "DeleteOptions", [cause(reason, msg, field)])


# -- immediate deletion ------------------------------------------------------------------------

def test_case01_02_delete_then_404(daemon, ns):
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name))
    assert_success_status(r, name, o["metadata"]["uid"])
    assert "code" not in r.json
    assert_not_found(daemon.get(pj(ns, name)), name)
    assert_not_found(daemon.delete(pj(ns, name)), name)


def test_case03_invalid_dry_run_before_lookup(daemon, ns):
    msg = 'Unsupported value: ["bogus"]: supported values: "All"'
    r = daemon.delete(pj(ns, "nope", query={"dryRun": "bogus"}))
    assert_status(r, 422, "Invalid", f'{DO} "" is invalid: dryRun: {msg}',
                  details=do_invalid("dryRun", "FieldValueNotSupported", msg))


def test_case04_dry_run(daemon, ns):
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name, query={"dryRun": "All"}))
    assert_success_status(r, name, o["metadata"]["uid"])
    g = daemon.get(pj(ns, name))
    assert g.status == 200 and rv(g.json) == rv(o), g
    assert "deletionTimestamp" not in g.json["metadata"], g


@pytest.mark.parametrize("value,shown", [("all", '["all"]'), ("true", '["true"]'), ("", '[""]')])
def test_case05_dry_run_values(daemon, ns, value, shown):
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name, query={"dryRun": value}))
    msg = f'Unsupported value: {shown}: supported values: "All"'
    assert_status(r, 422, "Invalid", f'{DO} "" is invalid: dryRun: {msg}',
                  details=do_invalid("dryRun", "FieldValueNotSupported", msg))
    assert daemon.get(pj(ns, name)).status == 200


def test_dry_run_repeated_param(daemon, ns):
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name, query=[("dryRun", "All"), ("dryRun", "bogus")]))
    msg = 'Unsupported value: ["All","bogus"]: supported values: "All"'
    assert_status(r, 422, "Invalid", f'{DO} "" is invalid: dryRun: {msg}')
    r = daemon.delete(pj(ns, name, query=[("dryRun", "All"), ("dryRun", "All")]))
    assert_success_status(r, name, o["metadata"]["uid"])
    assert daemon.get(pj(ns, name)).status == 200


@pytest.mark.parametrize("value", ["abc", "", "1.5"])
def test_case06_grace_period_not_integer(daemon, ns, value):
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name, query={"gracePeriodSeconds": value}))
    assert_status(r, 400, "BadRequest", contains=f'strconv.ParseInt: parsing "{value}": invalid syntax')
    assert daemon.get(pj(ns, name)).status == 200


@pytest.mark.parametrize("grace", ["-10", "0", "30"])
def test_case07_08_grace_period_ignored(daemon, ns, grace):
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name, query={"gracePeriodSeconds": grace}))
    assert_success_status(r, name, o["metadata"]["uid"])
    assert_not_found(daemon.get(pj(ns, name)), name)


def test_case09_orphan_and_policy(daemon, ns):
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name, query={"orphanDependents": "true", "propagationPolicy": "Background"}))
    msg = 'Invalid value: "Background": orphanDependents and deletionPropagation cannot be both set'
    assert_status(r, 422, "Invalid", f'{DO} "" is invalid: propagationPolicy: {msg}',
                  details=do_invalid("propagationPolicy", "FieldValueInvalid", msg))
    r = daemon.delete(pj(ns, name), {"orphanDependents": False, "propagationPolicy": "Background"})
    assert_status(r, 422, "Invalid", f'{DO} "" is invalid: propagationPolicy: {msg}')
    assert daemon.get(pj(ns, name)).status == 200


def test_case10_bad_policy(daemon, ns):
    name, o = mk(daemon, ns)
    for where, value in (("query", "foreground"), ("query", ""), ("body", "foreground"), ("body", "")):
        if where == "query":
            r = daemon.delete(pj(ns, name, query={"propagationPolicy": value}))
        else:
            r = daemon.delete(pj(ns, name), {"propagationPolicy": value})
        msg = (f'Unsupported value: "{value}": supported values: "Foreground", "Background", '
               '"Orphan", "nil"')
        assert_status(r, 422, "Invalid", f'{DO} "" is invalid: propagationPolicy: {msg}',
                      details=do_invalid("propagationPolicy", "FieldValueNotSupported", msg))
    assert daemon.get(pj(ns, name)).status == 200


def test_background_policy_immediate(daemon, ns):
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name, query={"propagationPolicy": "Background"}))
    assert_success_status(r, name, o["metadata"]["uid"])
    assert daemon.get(pj(ns, name)).status == 404


# -- GC finalizers with no dependents ---------------------------------------------------------

@pytest.mark.parametrize("how,finalizer", [
    ({"query": {"propagationPolicy": "Foreground"}}, "foregroundDeletion"),   # case 11
    ({"query": {"propagationPolicy": "Orphan"}}, "orphan"),                   # case 12
    ({"query": {"orphanDependents": "true"}}, "orphan"),
    ({"body": {"propagationPolicy": "Foreground"}}, "foregroundDeletion"),
    ({"body": {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"}},
     "foregroundDeletion"),                                                   # case 22
    ({"body": {"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1", "propagationPolicy": "Orphan"}},
     "orphan"),
    ({"body": "propagationPolicy: Foreground\n", "ctype": "application/yaml"}, "foregroundDeletion"),
], ids=["foreground", "orphan", "orphanDependents", "body-foreground", "body-v1", "body-meta-v1",
        "yaml-body"])
def test_case11_12_gc_finalizer_then_gone(daemon, ns, how, finalizer):
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name, query=how.get("query")), how.get("body"),
                      ctype=how.get("ctype"))
    assert r.status == 200, r
    got = r.json
    assert got["kind"] == "PyTorchJob" and got["metadata"]["uid"] == o["metadata"]["uid"], r
    assert_marked(got, [finalizer])
    assert rv(got) > rv(o), got["metadata"]
    # the garbage collector removes the finalizer promptly; then the object is gone
    daemon.wait_gone(ns, name, timeout=10)
    assert_not_found(daemon.delete(pj(ns, name)), name)


@pytest.mark.parametrize("value,orphan", [("", True), ("1", True), ("True", True), ("yes", True),
                                          ("0", False), ("False", False), ("FALSE", False)])
def test_orphan_dependents_query_booleans(daemon, ns, value, orphan):
    # §1: any value but 0/false (case-insensitive) is true, an empty value too
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name, query={"orphanDependents": value}))
    if orphan:
        assert r.status == 200 and r.json.get("kind") == "PyTorchJob", r
        assert_marked(r.json, ["orphan"])
        daemon.wait_gone(ns, name)
    else:
        assert_success_status(r, name, o["metadata"]["uid"])


def test_gc_finalizer_already_present(daemon, ns):
    # an object that already carries foregroundDeletion/orphan keeps that policy by default (§3.3 step 4)
    for fin in ("foregroundDeletion", "orphan"):
        name, o = mk(daemon, ns, finalizers=[fin])
        r = daemon.delete(pj(ns, name))
        assert r.status == 200, r
        assert_marked(r.json, [fin])
        daemon.wait_gone(ns, name)


def test_case18_background_drops_gc_finalizer(daemon, ns):
    # the only finalizer is a GC one, and Background removes it: deleted now, 200 Status
    name, o = mk(daemon, ns, finalizers=["foregroundDeletion"])
    r = daemon.delete(pj(ns, name, query={"propagationPolicy": "Background"}))
    assert_success_status(r, name, o["metadata"]["uid"])
    assert daemon.get(pj(ns, name)).status == 404
    name, o = mk(daemon, ns, finalizers=["orphan"])
    r = daemon.delete(pj(ns, name, query={"orphanDependents": "false"}))
    assert_success_status(r, name, o["metadata"]["uid"])
    assert daemon.get(pj(ns, name)).status == 404


def test_case13_orphan_dependents_false_202(daemon, ns):
    name, o = mk(daemon, ns, finalizers=[HOLD])
    r = daemon.delete(pj(ns, name, query={"orphanDependents": "false"}))
    assert r.status == 202, r
    assert_marked(r.json, [HOLD])
    # only an explicit orphanDependents=false gives 202; Foreground on a held object is 200
    name2, _ = mk(daemon, ns, finalizers=[HOLD])
    r = daemon.delete(pj(ns, name2, query={"propagationPolicy": "Foreground"}))
    assert r.status == 200, r
    assert r.json["metadata"]["finalizers"][0] == HOLD, r
    for n in (name, name2):
        daemon.remove_finalizers(ns, n)
        daemon.wait_gone(ns, n)


# -- custom finalizers (cases 14–17) -------------------------------------------------------------

def test_case14_15_custom_finalizer(daemon, ns):
    name, o = mk(daemon, ns, finalizers=[HOLD])
    r = daemon.delete(pj(ns, name))
    assert r.status == 200, r
    first = r.json
    assert_marked(first, [HOLD])
    assert rv(first) > rv(o)
    g = daemon.get(pj(ns, name)).json
    assert rv(g) == rv(first) and g["metadata"]["deletionTimestamp"] == first["metadata"]["deletionTimestamp"]
    # a repeated identical DELETE changes nothing: same RV, same deletionTimestamp
    r = daemon.delete(pj(ns, name))
    assert r.status == 200, r
    assert rv(r.json) == rv(first), r
    assert r.json["metadata"]["deletionTimestamp"] == first["metadata"]["deletionTimestamp"], r
    assert r.json["metadata"]["generation"] == 2, r
    assert rv(daemon.get(pj(ns, name)).json) == rv(first)
    # preconditions are still checked on a terminating object
    r = daemon.delete(pj(ns, name), {"preconditions": {"uid": "wrong"}})
    assert_status(r, 409, "Conflict")
    # removing the last finalizer deletes the object (case 15)
    r = daemon.patch(pj(ns, name), {"metadata": {"finalizers": None}})
    assert r.status == 200, r
    assert r.json["metadata"]["name"] == name, r
    assert_not_found(daemon.get(pj(ns, name)), name)


def test_case16_no_new_finalizers_while_terminating(daemon, ns):
    name, o = mk(daemon, ns, finalizers=[HOLD])
    cur = daemon.delete(pj(ns, name)).json
    r = daemon.patch(pj(ns, name), {"metadata": {"finalizers": [HOLD, "example.com/other"]}})
    msg = ('Forbidden: no new finalizers can be added if the object is being deleted, found new '
           'finalizers []string{"example.com/other"}')
    assert_status(r, 422, "Invalid", f'{GK} "{name}" is invalid: metadata.finalizers: {msg}',
                  details=invalid_details(name, GROUP, "PyTorchJob",
                                          [cause("FieldValueForbidden", msg, "metadata.finalizers")]))
    # via PUT too
    b = copy.deepcopy(cur)
    b["metadata"]["finalizers"] = [HOLD, "example.com/other"]
    r = daemon.put(pj(ns, name), b)
    assert_status(r, 422, "Invalid", f'{GK} "{name}" is invalid: metadata.finalizers: {msg}')
    assert rv(daemon.get(pj(ns, name)).json) == rv(cur)
    daemon.remove_finalizers(ns, name)
    daemon.wait_gone(ns, name)


def test_case17_deletion_timestamp_restored(daemon, ns):
    name, o = mk(daemon, ns, finalizers=[HOLD])
    cur = daemon.delete(pj(ns, name)).json
    b = copy.deepcopy(cur)
    del b["metadata"]["deletionTimestamp"]
    del b["metadata"]["deletionGracePeriodSeconds"]
    b["metadata"]["labels"] = {"touched": "yes"}
    r = daemon.put(pj(ns, name), b)
    assert r.status == 200, r
    m = r.json["metadata"]
    assert m["deletionTimestamp"] == cur["metadata"]["deletionTimestamp"], m
    assert m["deletionGracePeriodSeconds"] == 0, m
    assert m["labels"] == {"touched": "yes"}, m
    # a merge patch cannot move it either
    r = daemon.patch(pj(ns, name), {"metadata": {"deletionTimestamp": "2001-01-01T00:00:00Z"}})
    assert r.status == 200, r
    assert r.json["metadata"]["deletionTimestamp"] == cur["metadata"]["deletionTimestamp"], r
    # PUT leaving zero finalizers deletes it; the answer is 200
    b = copy.deepcopy(daemon.get(pj(ns, name)).json)
    b["metadata"]["finalizers"] = []
    r = daemon.put(pj(ns, name), b)
    assert r.status == 200, r
    assert_not_found(daemon.get(pj(ns, name)), name)


def test_repeated_delete_switches_gc_finalizer(daemon, ns):  # §3.5
    name, o = mk(daemon, ns, finalizers=[HOLD])
    r = daemon.delete(pj(ns, name), {"propagationPolicy": "Foreground"})
    assert r.status == 200, r
    assert r.json["metadata"]["finalizers"] == [HOLD, "foregroundDeletion"], r
    first_ts = r.json["metadata"]["deletionTimestamp"]
    r = daemon.delete(pj(ns, name), {"propagationPolicy": "Orphan"})
    assert r.status == 200, r
    assert r.json["metadata"]["finalizers"] == [HOLD, "orphan"], r
    assert r.json["metadata"]["deletionTimestamp"] == first_ts, r
    assert r.json["metadata"]["generation"] == 2, r
    r = daemon.delete(pj(ns, name), {"propagationPolicy": "Background"})
    assert r.status == 200, r
    assert r.json["metadata"]["finalizers"] == [HOLD], r

    def gc_done():
        g = daemon.get(pj(ns, name))
        return g.status == 200 and g.json["metadata"].get("finalizers") == [HOLD], g
    poll(gc_done, 10, desc="only the custom finalizer left")
    daemon.remove_finalizers(ns, name)
    daemon.wait_gone(ns, name)


def test_grace_period_on_finalized_object(daemon, ns):
    name, o = mk(daemon, ns, finalizers=[HOLD])
    r = daemon.delete(pj(ns, name), {"gracePeriodSeconds": 30})
    assert r.status == 200, r
    assert_marked(r.json, [HOLD])
    daemon.remove_finalizers(ns, name)
    daemon.wait_gone(ns, name)


# -- preconditions and body handling (cases 19–24) ------------------------------------------------

def test_case19_uid_precondition(daemon, ns):
    name, o = mk(daemon, ns)
    uid = o["metadata"]["uid"]
    r = daemon.delete(pj(ns, name), {"preconditions": {"uid": "wrong"}})
    assert_status(r, 409, "Conflict",
                  f'Operation cannot be fulfilled on {GK} "{name}": the UID in the precondition (wrong) '
                  f"does not match the UID in record ({uid}). The object might have been deleted and then recreated",
                  details={"name": name, "group": GROUP, "kind": "PyTorchJob"})
    assert daemon.get(pj(ns, name)).status == 200
    r = daemon.delete(pj(ns, name), {"preconditions": {"uid": uid}})
    assert_success_status(r, name, uid)


def test_case20_rv_precondition(daemon, ns):
    name, o = mk(daemon, ns)
    cur = rv(o)
    r = daemon.delete(pj(ns, name), {"preconditions": {"resourceVersion": "1"}})
    assert_status(r, 409, "Conflict",
                  f'Operation cannot be fulfilled on {GK} "{name}": the ResourceVersion in the precondition (1) '
                  f"does not match the ResourceVersion in record ({cur}). The object might have been modified",
                  details={"name": name, "group": GROUP, "kind": "PyTorchJob"})
    r = daemon.delete(pj(ns, name), {"preconditions": {"resourceVersion": str(cur)}})
    assert_success_status(r, name, o["metadata"]["uid"])


def test_precondition_on_missing_object_404(daemon, ns):
    r = daemon.delete(pj(ns, "no-such-job"), {"preconditions": {"uid": "x"}})
    assert_not_found(r, "no-such-job")


def test_case21_body_overrides_query(daemon, ns):
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name, query={"dryRun": "bogus"}), {"propagationPolicy": "Background"})
    assert_success_status(r, name, o["metadata"]["uid"])
    assert daemon.get(pj(ns, name)).status == 404
    # and the other way round: a dryRun in the query is ignored when a body is present
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name, query={"dryRun": "All", "propagationPolicy": "Foreground"}), {})
    assert_success_status(r, name, o["metadata"]["uid"])
    assert daemon.get(pj(ns, name)).status == 404


def test_case23_bad_bodies(daemon, ns):
    name, o = mk(daemon, ns)
    assert_status(daemon.delete(pj(ns, name), "not json"), 400, "BadRequest")
    r = daemon.delete(pj(ns, name), '{"propagationPolicy":"Orphan"}', ctype="text/plain")
    assert_status(r, 415, "UnsupportedMediaType",
                  prefix="the body of the request was in an unknown format - accepted media types include: ")
    r = daemon.delete(pj(ns, name), {"kind": "Pod", "apiVersion": "v1"})
    assert_status(r, 400, "BadRequest")
    g = daemon.get(pj(ns, name))
    assert g.status == 200 and rv(g.json) == rv(o), g
    # unknown fields are ignored; a body with no Content-Type is JSON
    r = daemon.delete(pj(ns, name), '{"unknownField": 1}', headers={"Content-Type": None})
    assert_success_status(r, name, o["metadata"]["uid"])


def test_case24_dry_run_with_finalizer_outcome(daemon, ns):
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name), {"dryRun": ["All"], "propagationPolicy": "Orphan"})
    assert r.status == 200, r
    assert_marked(r.json, ["orphan"])
    assert rv(r.json) == rv(o), r
    g = daemon.get(pj(ns, name)).json
    assert rv(g) == rv(o), g
    assert "deletionTimestamp" not in g["metadata"] and "finalizers" not in g["metadata"], g
    # dry run on a held object: the object as it would look, nothing stored
    name, o = mk(daemon, ns, finalizers=[HOLD])
    r = daemon.delete(pj(ns, name, query={"dryRun": "All"}))
    assert r.status == 200, r
    assert_marked(r.json, [HOLD])
    assert rv(r.json) == rv(o), r
    g = daemon.get(pj(ns, name)).json
    assert "deletionTimestamp" not in g["metadata"] and g["metadata"]["generation"] == 1, g
    # dry run still checks existence and preconditions
    assert_not_found(daemon.delete(pj(ns, "no-such-job", query={"dryRun": "All"})), "no-such-job")
    r = daemon.delete(pj(ns, name), {"dryRun": ["All"], "preconditions": {"uid": "wrong"}})
    assert_status(r, 409, "Conflict")
    daemon.remove_finalizers(ns, name)
    assert daemon.delete(pj(ns, name)).status == 200
    daemon.wait_gone(ns, name)


# -- deletecollection (§5, cases 25–28) --------------------------------------------------------

@pytest.fixture
def coll(daemon):
    ns = daemon.create_ns(uniq("coll"))
    jobs = {n: daemon.create_job(ns, n, labels=l) for n, l in
            (("c1", {"team": "a"}), ("c2", {"team": "b"}), ("c3", {"team": "a"}))}
    return ns, jobs


def _items(r):
    assert r.status == 200, r
    b = r.json
    assert b["kind"] == "PyTorchJobList" and b["apiVersion"] == "kubeflow.org/v1", b
    assert b["metadata"].get("resourceVersion"), b
    return [i["metadata"]["name"] for i in b["items"]]


@pytest.mark.parametrize("pretty", [False, True], ids=["compact", "pretty"])
def test_deletecollection_answer_is_the_items_as_stored(daemon, pretty):
    """The answer lists each deleted object exactly as a GET returned it before, in name order,
    keys sorted at every level; ?pretty indents that same text (json.Indent)."""
    ns = daemon.create_ns(uniq("dcbytes"))
    for n in ("b", "a"):
        daemon.create_job(ns, n, labels={"x": "1"}, annotations={"note": 'q"uo\\te, [braces]: {}'})
    daemon.create_job(ns, "c", annotations={"u": "\u00e9\u6f22"})
    before = [daemon.get(pj(ns, n)).raw.rstrip(b"\n") for n in ("a", "b", "c")]
    r = daemon.delete(pj(ns, query={"pretty": "true"} if pretty else None))
    assert r.status == 200, r
    lrv = r.json["metadata"]["resourceVersion"]
    compact = (b'{"apiVersion":"kubeflow.org/v1","items":[' + b",".join(before) +
               b'],"kind":"PyTorchJobList","metadata":{"resourceVersion":"' + lrv.encode() + b'"}}')
    want = go_indent(compact) if pretty else compact
    assert r.raw == want + b"\n", (r.raw[:300], want[:300])


def go_indent(raw):
    """Go's json.Indent(prefix "", indent "  "): the text's order, non-ASCII as it is."""
    return json.dumps(json.loads(raw), indent=2, ensure_ascii=False).encode()


def test_case25_deletecollection_label_selector(daemon, coll):
    ns, jobs = coll
    r = daemon.delete(pj(ns, query={"labelSelector": "team=a"}))
    assert _items(r) == ["c1", "c3"]
    for i in r.json["items"]:
        assert i["apiVersion"] == "kubeflow.org/v1" and i["kind"] == "PyTorchJob", i
        assert i["metadata"]["uid"] == jobs[i["metadata"]["name"]]["metadata"]["uid"], i
    assert daemon.get(pj(ns, "c1")).status == 404
    assert daemon.get(pj(ns, "c3")).status == 404
    assert daemon.get(pj(ns, "c2")).status == 200


def test_case26_deletecollection_bad_selectors(daemon, coll):
    ns, _ = coll
    assert_status(daemon.delete(pj(ns, query={"labelSelector": "team in ("})), 400, "BadRequest")
    assert_status(daemon.delete(pj(ns, query={"fieldSelector": "spec.x=1"})), 400, "BadRequest",
                  "field label not supported: spec.x")
    assert_status(daemon.delete(pj(ns, query={"resourceVersionMatch": "Exact"})), 422, "Invalid")
    assert_status(daemon.delete(pj(ns, query={"labelSelector": "team=a", "dryRun": "bogus"})),
                  422, "Invalid")
    assert _items(daemon.get(pj(ns))) == ["c1", "c2", "c3"]


def test_case27_deletecollection_nothing(daemon, coll):
    ns, _ = coll
    r = daemon.delete(pj(ns, query={"labelSelector": "team=zzz"}))
    assert _items(r) == []
    assert r.json["items"] == []
    empty = daemon.create_ns(uniq("empty"))
    assert _items(daemon.delete(pj(empty))) == []


def test_deletecollection_options(daemon, coll):
    ns, jobs = coll
    # dry run from the query string: listed, nothing deleted
    r = daemon.delete(pj(ns, query={"labelSelector": "team=a", "dryRun": "All"}))
    assert _items(r) == ["c1", "c3"]
    assert _items(daemon.get(pj(ns))) == ["c1", "c2", "c3"]
    # field selector
    r = daemon.delete(pj(ns, query={"fieldSelector": "metadata.name=c2"}))
    assert _items(r) == ["c2"]
    assert _items(daemon.get(pj(ns))) == ["c1", "c3"]
    # a held object is marked, not removed; the list shows it as it was before marking
    daemon.patch(pj(ns, "c1"), {"metadata": {"finalizers": [HOLD]}})
    r = daemon.delete(pj(ns), {"propagationPolicy": "Background"})
    assert _items(r) == ["c1", "c3"]
    assert "deletionTimestamp" not in r.json["items"][0]["metadata"], r
    g = daemon.get(pj(ns, "c1")).json
    assert_marked(g, [HOLD])
    assert daemon.get(pj(ns, "c3")).status == 404
    daemon.remove_finalizers(ns, "c1")
    daemon.wait_gone(ns, "c1")


def test_deletecollection_with_limit(daemon, coll):
    ns, _ = coll
    r = daemon.delete(pj(ns, query={"limit": 1}))
    assert _items(r) == ["c1"]
    assert r.json["metadata"].get("continue"), r
    assert _items(daemon.get(pj(ns))) == ["c2", "c3"]


def test_deletecollection_foreground(daemon, coll):
    ns, _ = coll
    r = daemon.delete(pj(ns, query={"propagationPolicy": "Foreground", "labelSelector": "team=b"}))
    assert _items(r) == ["c2"]
    daemon.wait_gone(ns, "c2")


def test_case28_deletecollection_all_namespaces_404(daemon):
    assert_plain_404(daemon.delete(f"{API}/pytorchjobs"))
    assert_plain_404(daemon.delete(f"{API}/pytorchjobs", query={"labelSelector": "team=a"}))


# -- wrong targets and auth (cases 29–30) -------------------------------------------------------

def test_case29_status_and_unknown_subresource(daemon, ns):
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name, "status"))
    assert_status(r, 405, "MethodNotAllowed",
                  'delete is not supported on resources of kind "pytorchjobs.kubeflow.org"',
                  details={"group": GROUP, "kind": PLURAL})
    r = daemon.delete(pj(ns, name, "foo"))
    assert_status(r, 404, "NotFound", f'{GR} "{name}" not found',
                  details={"name": name, "group": GROUP, "kind": PLURAL})
    assert daemon.get(pj(ns, name)).status == 200


def test_case30_auth(daemon, ns):
    name, o = mk(daemon, ns)
    r = daemon.delete(pj(ns, name), token=None)
    assert_status(r, 403, "Forbidden",
                  f'{GR} "{name}" is forbidden: User "system:anonymous" cannot delete resource "pytorchjobs" '
                  f'in API group "kubeflow.org" in the namespace "{ns}"',
                  details={"name": name, "group": GROUP, "kind": PLURAL})
    r = daemon.delete(pj(ns, name), token="wrong-token")
    assert r.status == 401 and r.json == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                          "status": "Failure", "message": "Unauthorized",
                                          "reason": "Unauthorized", "code": 401}, r
    r = daemon.delete(pj(ns, "no-such-job"), token=None)
    assert_status(r, 403, "Forbidden",
                  f'{GR} "no-such-job" is forbidden: User "system:anonymous" cannot delete resource '
                  f'"pytorchjobs" in API group "kubeflow.org" in the namespace "{ns}"')
    # authorization comes before option validation
    r = daemon.delete(pj(ns, name, query={"dryRun": "bogus"}), token=None)
    assert r.status == 403, r
    assert daemon.get(pj(ns, name)).status == 200
