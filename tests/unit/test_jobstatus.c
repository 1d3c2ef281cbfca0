/* Unit tests for src/jobstatus.c: the condition rules of §6.1 and reconcile scenarios (§5–§6). */
#include "unit.h"
#include <jansson.h>
#include "jobstatus.h"

#define PORT 40123
#define T0 ((time_t)1767323045) /* 2026-01-02T03:04:05Z, the job's creationTimestamp */

/* ---- fixtures ----------------------------------------------------------------------------- */

static json_t *tmpl(void)
{
    return json_pack("{s:{s:[{s:s, s:s, s:[s]}]}}", "spec", "containers", "name", "pytorch",
                     "image", "python:3.11", "command", "true");
}

/* A job "demo" in ns1 with `masters` Master (0/1) and `workers` Workers, each with policy. */
static json_t *job(int masters, int workers, const char *policy)
{
    json_t *reps = json_object();
    if (masters)
        json_object_set_new(reps, "Master", json_pack("{s:i, s:s, s:o}", "replicas", 1,
                                                      "restartPolicy", policy, "template", tmpl()));
    if (workers)
        json_object_set_new(reps, "Worker", json_pack("{s:i, s:s, s:o}", "replicas", workers,
                                                      "restartPolicy", policy, "template", tmpl()));
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:o, s:{}}}", "apiVersion",
                     "kubeflow.org/v1", "kind", "PyTorchJob", "metadata", "name", "demo",
                     "namespace", "ns1", "uid", "uid-1", "creationTimestamp", "2026-01-02T03:04:05Z",
                     "spec", "pytorchReplicaSpecs", reps, "runPolicy");
}

static void run_policy(json_t *jb, const char *key, json_t *v)
{
    json_object_set_new(json_object_get(json_object_get(jb, "spec"), "runPolicy"), key, v);
}

static ptj_pod pod(const char *name, int type, int index, ptj_phase phase)
{
    ptj_pod p;
    memset(&p, 0, sizeof p);
    p.name = name;
    p.type = type;
    p.index = index;
    p.phase = phase;
    p.exit_code = PTJ_NO_EXIT_CODE;
    return p;
}

static ptj_svc svc(const char *name, int type, int index)
{
    return (ptj_svc){name, type, index};
}

/* One pass over the job as stored now. */
static void pass(json_t *jb, const ptj_pod *pods, size_t np, const ptj_svc *svcs, size_t ns,
                 time_t now, ptj_result *res)
{
    ptj_job j;
    assert_int_equal(ptj_decode(jb, &j), 0);
    assert_int_equal(jobstatus_reconcile(&j, pods, np, svcs, ns, PORT, now, res), 0);
    ptj_job_free(&j);
}

/* Store the pass's status as the job's. */
static void store(json_t *jb, const ptj_result *res)
{
    assert_non_null(res->status);
    json_object_set(jb, "status", res->status);
}

/* "Type=Status(Reason),..." of the status's conditions. */
static const char *conds(const json_t *status)
{
    static char buf[1024];
    size_t n = 0;
    size_t i;
    json_t *c;
    buf[0] = 0;
    json_array_foreach(json_object_get(status, "conditions"), i, c)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s=%s(%s)", i ? "," : "",
                              json_string_value(json_object_get(c, "type")),
                              json_string_value(json_object_get(c, "status")),
                              json_string_value(json_object_get(c, "reason")));
    return buf;
}

static const json_t *cond(const json_t *status, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c)
        if (!strcmp(json_string_value(json_object_get(c, "type")), type))
            return c;
    return NULL;
}

static const char *cond_field(const json_t *status, const char *type, const char *field)
{
    return json_string_value(json_object_get(cond(status, type), field));
}

static const char *sfield(const json_t *status, const char *field)
{
    return json_string_value(json_object_get(status, field));
}

static json_int_t rcount(const json_t *status, const char *type, const char *field)
{
    return json_integer_value(json_object_get(json_object_get(json_object_get(status, "replicaStatuses"), type), field));
}

/* The pod/service/job actions as "+pod a;-svc b;-job c" (events left out). */
static const char *acts(const ptj_result *r)
{
    static char buf[2048];
    static const char *const tag[] = {"+pod ", "-pod ", "+svc ", "-svc ", "", "-job "};
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; i < r->nacts; i++)
        if (r->acts[i].kind != PTJ_ACT_EVENT)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%s", n ? ";" : "",
                                  tag[r->acts[i].kind], r->acts[i].name);
    return buf;
}

/* The events as "Type Reason: message|..." */
static const char *events(const ptj_result *r)
{
    static char buf[4096];
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; i < r->nacts; i++)
        if (r->acts[i].kind == PTJ_ACT_EVENT)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s %s: %s", n ? "|" : "",
                                  r->acts[i].event_type, r->acts[i].reason, r->acts[i].message);
    return buf;
}

static const char *T(time_t t)
{
    static char buf[4][32];
    static int k;
    return strconv_rfc3339(t, buf[k++ % 4]);
}

/* ---- conditions (§6.1) -------------------------------------------------------------------- */

static void test_cond_rules(void **state)
{
    ptj_status s;
    jobstatus_decode(NULL, &s);
    assert_int_equal(jobstatus_set_cond(&s, "Created", PTJ_TRUE, "R1", "m1", 100), 1);
    assert_int_equal(jobstatus_set_cond(&s, "Running", PTJ_TRUE, "R2", "m2", 110), 1);
    /* rule 2: same status and reason → no-op even with another message */
    assert_int_equal(jobstatus_set_cond(&s, "Created", PTJ_TRUE, "R1", "other", 120), 0);
    assert_string_equal(s.conds[0].message, "m1");
    assert_int_equal(s.conds[0].last_update, 100);
    /* rule 3: reason change moves it to the end, keeps lastTransitionTime */
    assert_int_equal(jobstatus_set_cond(&s, "Created", PTJ_TRUE, "R9", "m9", 130), 1);
    assert_int_equal(s.nconds, 2);
    assert_string_equal(s.conds[0].type, "Running");
    assert_string_equal(s.conds[1].type, "Created");
    assert_string_equal(s.conds[1].message, "m9");
    assert_int_equal(s.conds[1].last_update, 130);
    assert_int_equal(s.conds[1].last_transition, 100);
    /* status change: both times now */
    assert_int_equal(jobstatus_set_cond(&s, "Created", PTJ_FALSE, "R9", "m9", 140), 1);
    assert_int_equal(s.conds[1].last_transition, 140);
    /* rule 4: Restarting removes Running and vice versa */
    assert_int_equal(jobstatus_set_cond(&s, "Restarting", PTJ_TRUE, "R3", "m3", 150), 1);
    assert_null(jobstatus_cond(&s, "Running"));
    assert_int_equal(jobstatus_set_cond(&s, "Running", PTJ_TRUE, "R2", "m2", 160), 1);
    assert_null(jobstatus_cond(&s, "Restarting"));
    assert_int_equal(s.nconds, 2);
    assert_string_equal(s.conds[1].type, "Running");
    /* Succeeded flips Running to False in place (reason, message, times, position kept) */
    assert_int_equal(jobstatus_set_cond(&s, "Succeeded", PTJ_TRUE, "R4", "m4", 170), 1);
    assert_string_equal(s.conds[1].type, "Running");
    assert_string_equal(s.conds[1].status, "False");
    assert_string_equal(s.conds[1].reason, "R2");
    assert_int_equal(s.conds[1].last_transition, 160);
    assert_string_equal(s.conds[2].type, "Succeeded");
    assert_true(jobstatus_finished(&s));
    jobstatus_free(&s);

    /* Failed is sticky: nothing changes afterwards. */
    jobstatus_decode(NULL, &s);
    jobstatus_set_cond(&s, "Running", PTJ_TRUE, "R", "m", 1);
    assert_int_equal(jobstatus_set_cond(&s, "Failed", PTJ_TRUE, "F", "f", 2), 1);
    assert_string_equal(s.conds[0].status, "False");
    assert_int_equal(jobstatus_set_cond(&s, "Running", PTJ_TRUE, "R", "m", 3), 0);
    assert_int_equal(jobstatus_set_cond(&s, "Failed", PTJ_TRUE, "G", "g", 3), 0);
    assert_int_equal(jobstatus_set_cond(&s, "Succeeded", PTJ_TRUE, "S", "s", 3), 0);
    assert_int_equal(s.nconds, 2);
    assert_true(jobstatus_is(&s, "Failed"));

    /* encode → decode round trip */
    json_t *o = jobstatus_encode(&s);
    ptj_status s2;
    jobstatus_decode(o, &s2);
    json_t *o2 = jobstatus_encode(&s2);
    assert_true(json_equal(o, o2));
    json_decref(o);
    json_decref(o2);
    jobstatus_free(&s2);
    jobstatus_free(&s);
}

/* ---- reconcile scenarios ------------------------------------------------------------------ */

static void test_fresh_job(void **state)
{
    json_t *jb = job(1, 2, "OnFailure");
    ptj_result r;
    pass(jb, NULL, 0, NULL, 0, T0 + 1, &r);
    assert_string_equal(acts(&r), "+pod demo-master-0;+svc demo-master-0;+pod demo-worker-0;"
                                  "+pod demo-worker-1;+svc demo-worker-0;+svc demo-worker-1");
    assert_string_equal(events(&r), "");
    assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated)");
    assert_string_equal(cond_field(r.status, "Created", "message"), "PyTorchJob demo is created.");
    assert_string_equal(cond_field(r.status, "Created", "lastTransitionTime"), T(T0));
    assert_string_equal(sfield(r.status, "startTime"), T(T0 + 1));
    assert_null(sfield(r.status, "completionTime"));
    json_t *want = json_pack("{s:{s:s}, s:{s:s}}",
        "Master", "selector", "training.kubeflow.org/job-name=demo,training.kubeflow.org/operator-name=pytorchjob-controller,training.kubeflow.org/replica-type=master",
        "Worker", "selector", "training.kubeflow.org/job-name=demo,training.kubeflow.org/operator-name=pytorchjob-controller,training.kubeflow.org/replica-type=worker");
    assert_true(json_equal(json_object_get(r.status, "replicaStatuses"), want));
    json_decref(want);
    assert_int_equal(r.requeue_after, -1);
    /* the action carries the object and its success event */
    assert_int_equal(r.acts[0].kind, PTJ_ACT_CREATE_POD);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.acts[0].obj, "metadata"), "name")), "demo-master-0");
    assert_string_equal(r.acts[0].reason, "SuccessfulCreatePod");
    assert_string_equal(r.acts[0].message, "Created pod: demo-master-0");
    assert_string_equal(r.acts[1].reason, "SuccessfulCreateService");
    assert_string_equal(r.acts[1].message, "Created service: demo-master-0");
    assert_string_equal(json_string_value(json_object_get(r.acts[1].obj, "kind")), "Service");

    /* Same pass again with the children in place: nothing to do, status unchanged. */
    store(jb, &r);
    json_t *prev = json_incref(r.status);
    jobstatus_result_free(&r);
    ptj_pod pods[] = {pod("demo-master-0", PTJ_MASTER, 0, PTJ_POD_PENDING),
                      pod("demo-worker-0", PTJ_WORKER, 0, PTJ_POD_PENDING),
                      pod("demo-worker-1", PTJ_WORKER, 1, PTJ_POD_PENDING)};
    ptj_svc svcs[] = {svc("demo-master-0", PTJ_MASTER, 0), svc("demo-worker-0", PTJ_WORKER, 0),
                      svc("demo-worker-1", PTJ_WORKER, 1)};
    pass(jb, pods, 3, svcs, 3, T0 + 2, &r);
    assert_string_equal(acts(&r), "");
    assert_true(json_equal(prev, r.status));
    json_decref(prev);
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_template_restart_policy_event(void **state)
{
    json_t *jb = job(0, 1, "Never");
    json_object_set_new(json_object_get(json_object_get(json_object_get(json_object_get(
        json_object_get(jb, "spec"), "pytorchReplicaSpecs"), "Worker"), "template"), "spec"),
        "restartPolicy", json_string("Always"));
    ptj_result r;
    pass(jb, NULL, 0, NULL, 0, T0, &r);
    assert_string_equal(events(&r), "Warning SetPodTemplateRestartPolicy: Restart policy in pod "
                                    "template will be overwritten by restart policy in replica spec");
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_master_running_then_succeeded(void **state)
{
    json_t *jb = job(1, 1, "OnFailure");
    ptj_result r;
    pass(jb, NULL, 0, NULL, 0, T0, &r);
    store(jb, &r);
    jobstatus_result_free(&r);
    ptj_svc svcs[] = {svc("demo-master-0", PTJ_MASTER, 0), svc("demo-worker-0", PTJ_WORKER, 0)};
    ptj_pod pods[] = {pod("demo-master-0", PTJ_MASTER, 0, PTJ_POD_RUNNING),
                      pod("demo-worker-0", PTJ_WORKER, 0, PTJ_POD_PENDING)};
    pass(jb, pods, 2, svcs, 2, T0 + 7, &r);
    assert_string_equal(acts(&r), "");
    assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Running=True(PyTorchJobRunning)");
    assert_string_equal(cond_field(r.status, "Running", "message"), "PyTorchJob demo is running.");
    assert_string_equal(cond_field(r.status, "Running", "lastTransitionTime"), T(T0 + 7));
    assert_int_equal(rcount(r.status, "Master", "active"), 1);
    assert_null(json_object_get(json_object_get(json_object_get(r.status, "replicaStatuses"), "Worker"), "active"));
    store(jb, &r);
    jobstatus_result_free(&r);

    /* master exits 0, the worker still runs */
    pods[0].phase = PTJ_POD_SUCCEEDED;
    pods[0].exit_code = 0;
    pods[1].phase = PTJ_POD_RUNNING;
    pass(jb, pods, 2, svcs, 2, T0 + 192, &r);
    assert_string_equal(acts(&r), "");
    assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Running=False(PyTorchJobRunning),"
                                         "Succeeded=True(PyTorchJobSucceeded)");
    assert_string_equal(cond_field(r.status, "Succeeded", "message"), "PyTorchJob demo is successfully completed.");
    assert_string_equal(cond_field(r.status, "Running", "lastTransitionTime"), T(T0 + 7));
    assert_string_equal(sfield(r.status, "completionTime"), T(T0 + 192));
    assert_string_equal(events(&r), "Normal ExitedWithCode: Pod: ns1.demo-master-0 exited with code 0|"
                                    "Normal PyTorchJobSucceeded: PyTorchJob demo is successfully completed.");
    /* both selectors are there (upstream may lose the Worker's, §11) */
    assert_non_null(json_object_get(json_object_get(json_object_get(r.status, "replicaStatuses"), "Worker"), "selector"));
    assert_int_equal(rcount(r.status, "Master", "succeeded"), 1);
    assert_int_equal(rcount(r.status, "Worker", "active"), 1);
    assert_int_equal(r.requeue_after, -1);
    store(jb, &r);
    jobstatus_result_free(&r);

    /* next pass on the finished job: cleanPodPolicy None keeps the worker; active → succeeded */
    pass(jb, pods, 2, svcs, 2, T0 + 193, &r);
    assert_string_equal(acts(&r), "");
    assert_int_equal(rcount(r.status, "Worker", "succeeded"), 1);
    assert_null(json_object_get(json_object_get(json_object_get(r.status, "replicaStatuses"), "Worker"), "active"));
    assert_string_equal(events(&r), "");
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_workers_only_and_elastic(void **state)
{
    json_t *jb = job(0, 2, "OnFailure");
    ptj_svc svcs[] = {svc("demo-worker-0", PTJ_WORKER, 0), svc("demo-worker-1", PTJ_WORKER, 1)};
    ptj_pod pods[] = {pod("demo-worker-0", PTJ_WORKER, 0, PTJ_POD_SUCCEEDED),
                      pod("demo-worker-1", PTJ_WORKER, 1, PTJ_POD_RUNNING)};
    ptj_result r;
    pass(jb, pods, 2, svcs, 2, T0, &r);
    assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Running=True(PyTorchJobRunning)");
    assert_string_equal(cond_field(r.status, "Running", "message"), "PyTorchJob ns1/demo is running.");
    store(jb, &r);
    jobstatus_result_free(&r);
    pods[1].phase = PTJ_POD_SUCCEEDED;
    pass(jb, pods, 2, svcs, 2, T0 + 5, &r);
    assert_string_equal(cond_field(r.status, "Succeeded", "message"), "PyTorchJob ns1/demo successfully completed.");
    jobstatus_result_free(&r);
    json_decref(jb);

    /* elastic: one worker done is enough */
    jb = job(0, 2, "OnFailure");
    json_object_set_new(json_object_get(jb, "spec"), "elasticPolicy", json_pack("{s:i}", "maxReplicas", 2));
    pods[1].phase = PTJ_POD_RUNNING;
    pass(jb, pods, 2, svcs, 2, T0, &r);
    assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Succeeded=True(PyTorchJobSucceeded)");
    assert_string_equal(sfield(r.status, "completionTime"), T(T0));
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_never_worker_failed(void **state)
{
    json_t *jb = job(1, 1, "Never");
    ptj_svc svcs[] = {svc("demo-master-0", PTJ_MASTER, 0), svc("demo-worker-0", PTJ_WORKER, 0)};
    ptj_pod pods[] = {pod("demo-master-0", PTJ_MASTER, 0, PTJ_POD_RUNNING),
                      pod("demo-worker-0", PTJ_WORKER, 0, PTJ_POD_FAILED)};
    pods[1].exit_code = 1;
    ptj_result r;
    pass(jb, pods, 2, svcs, 2, T0 + 10, &r);
    assert_string_equal(acts(&r), "");
    assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Running=False(PyTorchJobRunning),"
                                         "Failed=True(PyTorchJobFailed)");
    assert_string_equal(cond_field(r.status, "Failed", "message"),
                        "PyTorchJob demo is failed because 1 Worker replica(s) failed.");
    assert_string_equal(sfield(r.status, "completionTime"), T(T0 + 10));
    assert_int_equal(rcount(r.status, "Worker", "failed"), 1);
    assert_string_equal(events(&r), "Normal ExitedWithCode: Pod: ns1.demo-worker-0 exited with code 1|"
                                    "Normal PyTorchJobFailed: PyTorchJob demo is failed because 1 Worker replica(s) failed.");
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_restart_on_failure_and_exitcode(void **state)
{
    static const struct { const char *policy; int code; } cases[] = {
        {"OnFailure", 1}, {"Always", 0}, {"ExitCode", 137}, {"ExitCode", PTJ_NO_EXIT_CODE}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        json_t *jb = job(0, 2, cases[k].policy);
        ptj_svc svcs[] = {svc("demo-worker-0", PTJ_WORKER, 0), svc("demo-worker-1", PTJ_WORKER, 1)};
        ptj_pod pods[] = {pod("demo-worker-0", PTJ_WORKER, 0, PTJ_POD_RUNNING),
                          pod("demo-worker-1", PTJ_WORKER, 1, PTJ_POD_FAILED)};
        pods[1].exit_code = cases[k].code;
        ptj_result r;
        pass(jb, pods, 2, svcs, 2, T0, &r);
        assert_string_equal(acts(&r), "-pod demo-worker-1");
        for (size_t i = 0; i < r.nacts; i++)
            if (r.acts[i].kind == PTJ_ACT_DELETE_POD)
                assert_string_equal(r.acts[i].message, "Deleted pod: demo-worker-1");
        assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Restarting=True(PyTorchJobRestarting)");
        /* the pod pass set "job demo is restarting because Worker replica(s) failed.", the
         * status pass set Running (worker-0 runs) then Restarting again (upstream's flip) */
        assert_string_equal(cond_field(r.status, "Restarting", "message"),
                            "PyTorchJob demo is restarting because 1 Worker replica(s) failed.");
        assert_non_null(strstr(events(&r), "Warning PyTorchJobRestarting: PyTorchJob demo is restarting "
                                           "because 1 Worker replica(s) failed."));
        assert_null(sfield(r.status, "completionTime"));
        store(jb, &r);
        jobstatus_result_free(&r);

        /* while the deletion is in progress: no second delete, no new pod */
        pods[1].deleting = 1;
        pass(jb, pods, 2, svcs, 2, T0 + 1, &r);
        assert_string_equal(acts(&r), "");
        jobstatus_result_free(&r);
        /* gone → recreated with the same name; Running again once it runs */
        pass(jb, pods, 1, svcs, 2, T0 + 2, &r);
        assert_string_equal(acts(&r), "+pod demo-worker-1");
        assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Running=True(PyTorchJobRunning)");
        jobstatus_result_free(&r);
        json_decref(jb);
    }
}

static void test_exitcode_permanent(void **state)
{
    json_t *jb = job(1, 1, "ExitCode");
    run_policy(jb, "ttlSecondsAfterFinished", json_integer(30));
    ptj_svc svcs[] = {svc("demo-master-0", PTJ_MASTER, 0), svc("demo-worker-0", PTJ_WORKER, 0)};
    ptj_pod pods[] = {pod("demo-master-0", PTJ_MASTER, 0, PTJ_POD_RUNNING),
                      pod("demo-worker-0", PTJ_WORKER, 0, PTJ_POD_FAILED)};
    pods[1].exit_code = 1;
    ptj_result r;
    pass(jb, pods, 2, svcs, 2, T0 + 10, &r);
    assert_string_equal(acts(&r), "");
    assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Failed=True(PyTorchJobFailed)");
    assert_string_equal(cond_field(r.status, "Failed", "message"),
                        "job \"demo\" is failing because \"Worker\" replica(s) failed.");
    assert_string_equal(sfield(r.status, "completionTime"), T(T0 + 10)); /* fix of §11 */
    assert_non_null(strstr(events(&r), "Warning PyTorchJobFailed: job \"demo\" is failing because \"Worker\" replica(s) failed."));
    assert_int_equal(r.requeue_after, 30);
    store(jb, &r);
    jobstatus_result_free(&r);
    /* so the TTL applies */
    pass(jb, pods, 2, svcs, 2, T0 + 40, &r);
    assert_string_equal(acts(&r), "-job demo");
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_backoff_restart_count(void **state)
{
    json_t *jb = job(1, 2, "OnFailure");
    run_policy(jb, "backoffLimit", json_integer(3));
    ptj_svc svcs[] = {svc("demo-master-0", PTJ_MASTER, 0), svc("demo-worker-0", PTJ_WORKER, 0),
                      svc("demo-worker-1", PTJ_WORKER, 1)};
    ptj_pod pods[] = {pod("demo-master-0", PTJ_MASTER, 0, PTJ_POD_RUNNING),
                      pod("demo-worker-0", PTJ_WORKER, 0, PTJ_POD_RUNNING),
                      pod("demo-worker-1", PTJ_WORKER, 1, PTJ_POD_PENDING)};
    pods[0].restarts = 1;
    pods[1].restarts = 1;
    pods[2].restarts = 5; /* Pending pods do not count */
    ptj_result r;
    pass(jb, pods, 3, svcs, 3, T0, &r);
    assert_null(cond(r.status, "Failed"));
    store(jb, &r);
    jobstatus_result_free(&r);

    pods[1].restarts = 2;
    pass(jb, pods, 3, svcs, 3, T0 + 5, &r);
    assert_string_equal(acts(&r), "-pod demo-master-0;-svc demo-master-0;-pod demo-worker-0;"
                                  "-svc demo-worker-0;-pod demo-worker-1;-svc demo-worker-1");
    assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Running=False(PyTorchJobRunning),"
                                         "Failed=True(PyTorchJobFailed)");
    assert_string_equal(cond_field(r.status, "Failed", "message"),
                        "Job demo has failed because it has reached the specified backoff limit");
    assert_string_equal(sfield(r.status, "completionTime"), T(T0 + 5));
    assert_non_null(strstr(events(&r), "Normal PyTorchJobFailed: Job demo has failed because it has reached the specified backoff limit"));
    jobstatus_result_free(&r);

    /* Never replicas are not counted */
    json_decref(jb);
    jb = job(1, 2, "Never");
    run_policy(jb, "backoffLimit", json_integer(3));
    pass(jb, pods, 3, svcs, 3, T0 + 5, &r);
    assert_null(cond(r.status, "Failed"));
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_backoff_zero_new_failure(void **state)
{
    json_t *jb = job(0, 2, "ExitCode");
    run_policy(jb, "backoffLimit", json_integer(0));
    ptj_svc svcs[] = {svc("demo-worker-0", PTJ_WORKER, 0), svc("demo-worker-1", PTJ_WORKER, 1)};
    ptj_pod pods[] = {pod("demo-worker-0", PTJ_WORKER, 0, PTJ_POD_RUNNING),
                      pod("demo-worker-1", PTJ_WORKER, 1, PTJ_POD_FAILED)};
    pods[1].exit_code = 137;
    ptj_result r;
    pass(jb, pods, 2, svcs, 2, T0, &r);
    assert_string_equal(acts(&r), "-pod demo-worker-0;-svc demo-worker-0;-pod demo-worker-1;-svc demo-worker-1");
    assert_string_equal(cond_field(r.status, "Failed", "message"),
                        "Job demo has failed because it has reached the specified backoff limit");
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_deadline(void **state)
{
    json_t *jb = job(1, 1, "OnFailure");
    run_policy(jb, "activeDeadlineSeconds", json_integer(100));
    run_policy(jb, "cleanPodPolicy", json_string("None"));
    ptj_result r;
    pass(jb, NULL, 0, NULL, 0, T0, &r);
    assert_int_equal(r.requeue_after, 100); /* the timer upstream lacks */
    store(jb, &r);
    jobstatus_result_free(&r);

    ptj_svc svcs[] = {svc("demo-master-0", PTJ_MASTER, 0), svc("demo-worker-0", PTJ_WORKER, 0),
                      svc("demo-worker-7", PTJ_WORKER, 7)};
    ptj_pod pods[] = {pod("demo-master-0", PTJ_MASTER, 0, PTJ_POD_RUNNING),
                      pod("demo-worker-0", PTJ_WORKER, 0, PTJ_POD_RUNNING)};
    pass(jb, pods, 2, svcs, 3, T0 + 60, &r);
    assert_int_equal(r.requeue_after, 40);
    assert_null(cond(r.status, "Failed"));
    store(jb, &r);
    jobstatus_result_free(&r);

    pass(jb, pods, 2, svcs, 3, T0 + 100, &r);
    /* everything goes, cleanPodPolicy None notwithstanding (faithful) */
    assert_string_equal(acts(&r), "-pod demo-master-0;-svc demo-master-0;-pod demo-worker-0;"
                                  "-svc demo-worker-0;-svc demo-worker-7");
    assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Running=False(PyTorchJobRunning),"
                                         "Failed=True(PyTorchJobFailed)");
    assert_string_equal(cond_field(r.status, "Failed", "message"),
                        "Job demo has failed because it was active longer than specified deadline");
    assert_string_equal(sfield(r.status, "completionTime"), T(T0 + 100));
    assert_int_equal(r.requeue_after, -1);
    jobstatus_result_free(&r);
    json_decref(jb);
}

static json_t *finished_job(const char *clean, int ttl, const char *cond_type)
{
    json_t *jb = job(1, 1, "OnFailure");
    if (clean)
        run_policy(jb, "cleanPodPolicy", json_string(clean));
    if (ttl >= 0)
        run_policy(jb, "ttlSecondsAfterFinished", json_integer(ttl));
    char st[512];
    snprintf(st, sizeof st, "{\"conditions\":[{\"type\":\"Created\",\"status\":\"True\",\"reason\":\"PyTorchJobCreated\","
             "\"message\":\"PyTorchJob demo is created.\",\"lastUpdateTime\":\"%s\",\"lastTransitionTime\":\"%s\"},"
             "{\"type\":\"%s\",\"status\":\"True\",\"reason\":\"x\"}],"
             "\"replicaStatuses\":{\"Master\":{\"succeeded\":1},\"Worker\":{\"active\":1}},"
             "\"startTime\":\"%s\",\"completionTime\":\"%s\"}", T(T0), T(T0), cond_type, T(T0), T(T0 + 100));
    json_object_set_new(jb, "status", json_loads(st, 0, NULL));
    return jb;
}

static void test_ttl(void **state)
{
    ptj_result r;
    json_t *jb = finished_job(NULL, 60, "Succeeded");
    pass(jb, NULL, 0, NULL, 0, T0 + 130, &r);
    assert_string_equal(acts(&r), "");
    assert_int_equal(r.requeue_after, 30);
    jobstatus_result_free(&r);
    pass(jb, NULL, 0, NULL, 0, T0 + 160, &r);
    assert_string_equal(acts(&r), "-job demo");
    assert_string_equal(r.acts[r.nacts - 1].reason, "SuccessfulDeletePod");
    assert_string_equal(r.acts[r.nacts - 1].message, "Deleted job: demo");
    jobstatus_result_free(&r);
    json_decref(jb);

    /* ttl 0: deleted on the pass right after it finished */
    jb = job(1, 0, "OnFailure");
    run_policy(jb, "ttlSecondsAfterFinished", json_integer(0));
    ptj_pod pods[] = {pod("demo-master-0", PTJ_MASTER, 0, PTJ_POD_SUCCEEDED)};
    ptj_svc svcs[] = {svc("demo-master-0", PTJ_MASTER, 0)};
    pass(jb, pods, 1, svcs, 1, T0 + 3, &r);
    assert_string_equal(acts(&r), "");
    assert_int_equal(r.requeue_after, 0);
    store(jb, &r);
    jobstatus_result_free(&r);
    pass(jb, pods, 1, svcs, 1, T0 + 3, &r);
    assert_string_equal(acts(&r), "-job demo");
    jobstatus_result_free(&r);
    json_decref(jb);

    /* suspend set on a finished job: no TTL */
    jb = finished_job(NULL, 0, "Failed");
    run_policy(jb, "suspend", json_true());
    pass(jb, NULL, 0, NULL, 0, T0 + 1000, &r);
    assert_string_equal(acts(&r), "");
    assert_int_equal(r.requeue_after, -1);
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_clean_pod_policy(void **state)
{
    static const struct { const char *policy; const char *want; } cases[] = {
        {NULL, ""},
        {"None", ""},
        {"Running", "-pod demo-master-0;-svc demo-master-0;-pod demo-worker-1"},
        {"All", "-pod demo-master-0;-svc demo-master-0;-pod demo-worker-0;-svc demo-worker-0;"
                "-pod demo-worker-1"},
        {"Bogus", "-pod demo-master-0;-svc demo-master-0;-pod demo-worker-0;-svc demo-worker-0;"
                  "-pod demo-worker-1"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        json_t *jb = finished_job(cases[k].policy, -1, "Succeeded");
        ptj_pod pods[] = {pod("demo-master-0", PTJ_MASTER, 0, PTJ_POD_RUNNING),
                          pod("demo-worker-0", PTJ_WORKER, 0, PTJ_POD_SUCCEEDED),
                          pod("demo-worker-1", PTJ_WORKER, 1, PTJ_POD_PENDING),
                          pod("demo-worker-2", PTJ_WORKER, 2, PTJ_POD_RUNNING)};
        pods[3].deleting = 1; /* already going */
        /* demo-worker-1 has no service; demo-worker-9's pod is gone: its service survives */
        ptj_svc svcs[] = {svc("demo-master-0", PTJ_MASTER, 0), svc("demo-worker-0", PTJ_WORKER, 0),
                          svc("demo-worker-9", PTJ_WORKER, 9)};
        ptj_result r;
        pass(jb, pods, 4, svcs, 3, T0 + 200, &r);
        assert_string_equal(acts(&r), cases[k].want);
        /* Succeeded: active moves into succeeded, no status recomputation */
        assert_int_equal(rcount(r.status, "Worker", "succeeded"), 1);
        assert_int_equal(rcount(r.status, "Worker", "active"), 0);
        assert_int_equal(rcount(r.status, "Master", "succeeded"), 1);
        assert_int_equal(r.requeue_after, -1);
        jobstatus_result_free(&r);
        json_decref(jb);
    }
    /* A Failed job keeps its active counts. */
    json_t *jb = finished_job("All", -1, "Failed");
    ptj_result r;
    pass(jb, NULL, 0, NULL, 0, T0 + 200, &r);
    assert_int_equal(rcount(r.status, "Worker", "active"), 1);
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_suspend_created_suspended(void **state)
{
    json_t *jb = job(1, 1, "OnFailure");
    run_policy(jb, "suspend", json_true());
    ptj_result r;
    pass(jb, NULL, 0, NULL, 0, T0, &r);
    assert_string_equal(acts(&r), "");
    assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Suspended=True(PyTorchJobSuspended)");
    assert_string_equal(cond_field(r.status, "Suspended", "message"), "PyTorchJob demo is suspended.");
    assert_null(sfield(r.status, "startTime"));
    assert_null(json_object_get(r.status, "replicaStatuses"));
    assert_string_equal(events(&r), "Normal PyTorchJobSuspended: PyTorchJob demo is suspended.");
    store(jb, &r);
    jobstatus_result_free(&r);
    /* the event comes again on every pass (the lead counts it) */
    pass(jb, NULL, 0, NULL, 0, T0 + 1, &r);
    assert_string_equal(events(&r), "Normal PyTorchJobSuspended: PyTorchJob demo is suspended.");
    jobstatus_result_free(&r);

    /* resume: Suspended=False, startTime = now, pods created */
    run_policy(jb, "suspend", json_false());
    pass(jb, NULL, 0, NULL, 0, T0 + 50, &r);
    assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Suspended=False(PyTorchJobResumed)");
    assert_string_equal(cond_field(r.status, "Suspended", "message"), "PyTorchJob demo is resumed.");
    assert_string_equal(sfield(r.status, "startTime"), T(T0 + 50));
    assert_string_equal(events(&r), "Normal PyTorchJobResumed: PyTorchJob demo is resumed.");
    assert_string_equal(acts(&r), "+pod demo-master-0;+svc demo-master-0;+pod demo-worker-0;+svc demo-worker-0");
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_suspend_resume_running(void **state)
{
    json_t *jb = job(1, 1, "OnFailure");
    run_policy(jb, "activeDeadlineSeconds", json_integer(1000));
    ptj_svc svcs[] = {svc("demo-master-0", PTJ_MASTER, 0), svc("demo-worker-0", PTJ_WORKER, 0)};
    ptj_pod pods[] = {pod("demo-master-0", PTJ_MASTER, 0, PTJ_POD_RUNNING),
                      pod("demo-worker-0", PTJ_WORKER, 0, PTJ_POD_RUNNING)};
    ptj_result r;
    pass(jb, pods, 2, svcs, 2, T0, &r);
    assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Running=True(PyTorchJobRunning)");
    store(jb, &r);
    jobstatus_result_free(&r);

    run_policy(jb, "suspend", json_true());
    pass(jb, pods, 2, svcs, 2, T0 + 10, &r);
    assert_string_equal(acts(&r), "-pod demo-master-0;-svc demo-master-0;-pod demo-worker-0;-svc demo-worker-0");
    assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Running=False(PyTorchJobSuspended),"
                                         "Suspended=True(PyTorchJobSuspended)");
    assert_int_equal(rcount(r.status, "Master", "active"), 0);
    assert_int_equal(rcount(r.status, "Worker", "active"), 0);
    assert_int_equal(r.requeue_after, -1); /* no deadline while suspended */
    store(jb, &r);
    jobstatus_result_free(&r);

    /* still suspended, children gone: nothing more */
    pass(jb, NULL, 0, NULL, 0, T0 + 20, &r);
    assert_string_equal(acts(&r), "");
    store(jb, &r);
    jobstatus_result_free(&r);

    run_policy(jb, "suspend", json_false());
    pass(jb, NULL, 0, NULL, 0, T0 + 2000, &r); /* the deadline clock restarts at resume */
    assert_null(cond(r.status, "Failed"));
    assert_string_equal(sfield(r.status, "startTime"), T(T0 + 2000));
    assert_int_equal(r.requeue_after, 1000);
    store(jb, &r);
    jobstatus_result_free(&r);
    pass(jb, pods, 2, svcs, 2, T0 + 2001, &r);
    assert_string_equal(conds(r.status), "Created=True(PyTorchJobCreated),Suspended=False(PyTorchJobResumed),"
                                         "Running=True(PyTorchJobRunning)");
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_managed_elsewhere_and_deleting(void **state)
{
    json_t *jb = job(1, 1, "OnFailure");
    run_policy(jb, "managedBy", json_string("kueue.x-k8s.io/multikueue"));
    ptj_result r;
    pass(jb, NULL, 0, NULL, 0, T0, &r);
    assert_null(r.status);
    assert_int_equal(r.nacts, 0);
    assert_int_equal(r.requeue_after, -1);
    jobstatus_result_free(&r);
    run_policy(jb, "managedBy", json_string("kubeflow.org/training-operator"));
    pass(jb, NULL, 0, NULL, 0, T0, &r);
    assert_non_null(r.status);
    assert_int_equal(r.nacts, 4);
    jobstatus_result_free(&r);

    json_object_set_new(json_object_get(jb, "metadata"), "deletionTimestamp", json_string(T(T0)));
    pass(jb, NULL, 0, NULL, 0, T0, &r);
    assert_null(r.status);
    assert_int_equal(r.nacts, 0);
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_scale_down(void **state)
{
    json_t *jb = job(0, 1, "OnFailure");
    ptj_svc svcs[] = {svc("demo-worker-0", PTJ_WORKER, 0), svc("demo-worker-1", PTJ_WORKER, 1),
                      svc("demo-worker-2", PTJ_WORKER, 2)};
    ptj_pod pods[] = {pod("demo-worker-0", PTJ_WORKER, 0, PTJ_POD_RUNNING),
                      pod("demo-worker-2", PTJ_WORKER, 2, PTJ_POD_RUNNING),
                      pod("demo-worker-1", PTJ_WORKER, 1, PTJ_POD_RUNNING),
                      pod("stray", -1, -1, PTJ_POD_RUNNING)};
    ptj_result r;
    pass(jb, pods, 4, svcs, 3, T0, &r);
    assert_string_equal(acts(&r), "-pod demo-worker-1;-pod demo-worker-2;-svc demo-worker-1;-svc demo-worker-2");
    jobstatus_result_free(&r);

    /* a gap above replicas is not filled (upstream would create and delete index 1) */
    ptj_pod gap[] = {pod("demo-worker-0", PTJ_WORKER, 0, PTJ_POD_RUNNING),
                     pod("demo-worker-2", PTJ_WORKER, 2, PTJ_POD_RUNNING)};
    pass(jb, gap, 2, svcs, 1, T0, &r);
    assert_string_equal(acts(&r), "-pod demo-worker-2");
    jobstatus_result_free(&r);

    /* scale-up creates the missing indexes */
    json_object_set_new(json_object_get(json_object_get(json_object_get(jb, "spec"), "pytorchReplicaSpecs"), "Worker"),
                        "replicas", json_integer(3));
    pass(jb, gap, 2, svcs, 1, T0, &r);
    assert_string_equal(acts(&r), "+pod demo-worker-1;+svc demo-worker-1;+svc demo-worker-2");
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_abnormal_events(void **state)
{
    json_t *jb = job(0, 1, "OnFailure");
    ptj_svc svcs[] = {svc("demo-worker-0", PTJ_WORKER, 0)};
    ptj_pod pods[] = {pod("demo-worker-0", PTJ_WORKER, 0, PTJ_POD_RUNNING)};
    pods[0].nabnormal = 2;
    pods[0].abnormal[0] = (ptj_abnormal){PTJ_AB_WAITING, "pytorch", "CrashLoopBackOff", "back-off 10s", 0};
    pods[0].abnormal[1] = (ptj_abnormal){PTJ_AB_TERMINATED, "pytorch", "Error", "boom", 2};
    ptj_result r;
    pass(jb, pods, 1, svcs, 1, T0, &r);
    assert_string_equal(events(&r),
        "Warning CrashLoopBackOff: Error pod demo-worker-0 container pytorch waiting message: back-off 10s|"
        "Warning Error: Error pod demo-worker-0 container pytorch exitCode: 2 terminated message: boom");
    jobstatus_result_free(&r);
    json_decref(jb);
}

static void test_fail_event_texts(void **state)
{
    assert_string_equal(jobstatus_fail_reason(PTJ_ACT_CREATE_POD), "FailedCreatePod");
    assert_string_equal(jobstatus_fail_reason(PTJ_ACT_DELETE_SVC), "FailedDeleteService");
    assert_null(jobstatus_fail_reason(PTJ_ACT_EVENT));
    char *m = jobstatus_fail_message(PTJ_ACT_CREATE_SVC, "exists");
    assert_string_equal(m, "Error creating: exists");
    free(m);
    m = jobstatus_fail_message(PTJ_ACT_DELETE_JOB, "gone");
    assert_string_equal(m, "Error deleting: gone");
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cond_rules),
        cmocka_unit_test(test_fresh_job),
        cmocka_unit_test(test_template_restart_policy_event),
        cmocka_unit_test(test_master_running_then_succeeded),
        cmocka_unit_test(test_workers_only_and_elastic),
        cmocka_unit_test(test_never_worker_failed),
        cmocka_unit_test(test_restart_on_failure_and_exitcode),
        cmocka_unit_test(test_exitcode_permanent),
        cmocka_unit_test(test_backoff_restart_count),
        cmocka_unit_test(test_backoff_zero_new_failure),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_ttl),
        cmocka_unit_test(test_clean_pod_policy),
        cmocka_unit_test(test_suspend_created_suspended),
        cmocka_unit_test(test_suspend_resume_running),
        cmocka_unit_test(test_managed_elsewhere_and_deleting),
        cmocka_unit_test(test_scale_down),
        cmocka_unit_test(test_abnormal_events),
        cmocka_unit_test(test_fail_event_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
