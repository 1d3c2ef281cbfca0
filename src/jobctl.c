/* jobctl — the PyTorchJob controller: the pure reconciler (jobstatus.c) wired to the store.
 *
 *   commit of a job, or of a pod/service labelled with a job's name ──► queue[job key]
 *   next loop turn: for each queued job whose previous writes are all committed:
 *       decode job → observe owned pods/services → jobstatus_reconcile → write status (if
 *       changed) → apply actions in order (create/delete pods and services, events, TTL delete)
 *       → arm the requeue timer (deadline, TTL)
 *
 * Invariants:
 *  1. "Expectations": a job is reconciled only when every write of its previous pass has
 *     committed, so each pass observes the effects of the last one (no double creates).
 *  2. Each job has one port on 127.0.0.1 for its whole life (MASTER_PORT), found again from its
 *     pods after a restart; two jobs never share one.
 *  3. Status is written through the same path as the /status subresource: only .status changes.
 *  4. A child is created only if a POST of it would be: the same validation (api_validate_create)
 *     and a free name. A create that fails records FailedCreatePod/FailedCreateService
 *     ("Error creating: <the API's message>"), ends the pass (no later action, no status but
 *     Created) and retries the job after 5 ms · 2^n, n = passes failed in a row, at most
 *     1000 s (client-go's per-item rate limiter); a pass that does not fail resets n.
 *  5. Orphans (labels of the job, no controller ownerReference) are adopted: the job's
 *     ownerReference is added to them and they count as its own (upstream's ClaimPods).
 *  6. A pod deleted because it failed (to be recreated: ExitCode, or evicted) is recreated after
 *     5 ms · 2^n, n = such restarts in a row, at most 1000 s, where upstream has the kubelet's
 *     start latency; n starts over once a recreated pod lived 10 s. A command that cannot start
 *     so does not loop hot.
 *  7. An elastic job with elasticPolicy.metrics has an HPA named like it, kept equal in spec to
 *     training-operator's desiredHPA (hpa.c) and deleted while the job is suspended
 *     (ReconcileHPA); without metrics its HPA is left alone, as upstream leaves it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include "jobctl.h"
#include "jobstatus.h"
#include "hpa.h"
#include "keyq.h"
#include "metrics.h"

typedef struct jobent {
    struct jobent *next;       /* all entries */
    struct jobent *hnext;      /* hash chain */
    struct jobent **pprev;     /* where this entry is linked in the all-list */
    jobctl_t *c;
    char key[600];
    char uid[64];
    int port;
    int pending;    /* writes of the last pass not yet committed */
    int dirty;      /* a change arrived while writes were pending */
    int fails;      /* passes failed in a row (invariant 4) */
    int restarts;   /* failed pods deleted in a row (invariant 6) */
    uint64_t hold_until; /* loop ms: no pod is created before (invariant 6) */
    uv_timer_t timer;
} jobent;

struct jobctl {
    api_t *api;
    events_t *ev;
    uv_timer_t kick;
    keyq queue;                /* jobs to reconcile on the next kick */
    jobent *jobs;
    jobent **buckets;          /* key → entry; grows with the number of jobs */
    size_t nbuckets, njobs;
    int closing;
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void rehash(jobctl_t *c)
{
    size_t nb = c->nbuckets ? c->nbuckets * 2 : 256;
    jobent **b = calloc(nb, sizeof *b);
    for (jobent *e = c->jobs; e; e = e->next) {
        size_t i = hash_key(e->key) & (nb - 1);
        e->hnext = b[i];
        b[i] = e;
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = nb;
}


static void on_kick(uv_timer_t *t);

/* Invariants 4 and 6: 5 ms doubling n times, at most 1000 s. */
#define RETRY_BASE_MS 5
#define RETRY_MAX_MS 1000000
#define RESTART_RESET_MS 10000

static uint64_t retry_ms(int n)
{
    uint64_t ms = RETRY_BASE_MS;
    while (n-- > 0 && ms < RETRY_MAX_MS)
        ms *= 2;
    return ms < RETRY_MAX_MS ? ms : RETRY_MAX_MS;
}

/* *wake = the earlier of *wake and ms (-1: none yet). */
static void wake_at(int64_t *wake, int64_t ms)
{
    if (*wake < 0 || ms < *wake)
        *wake = ms;
}

static void enqueue(jobctl_t *c, const char *key)
{
    if (!keyq_push(&c->queue, key))
        return;
    if (!c->closing && !uv_is_active((uv_handle_t *)&c->kick))
        uv_timer_start(&c->kick, on_kick, 0, 0);
}

static void on_requeue(uv_timer_t *t)
{
    jobent *e = t->data;
    enqueue(e->c, e->key);
}

static jobent *entry(jobctl_t *c, const char *key, int create)
{
    if (c->nbuckets)
        for (jobent *e = c->buckets[hash_key(key) & (c->nbuckets - 1)]; e; e = e->hnext)
            if (!strcmp(e->key, key))
                return e;
    if (!create)
        return NULL;
    jobent *e = calloc(1, sizeof *e);
    e->c = c;
    snprintf(e->key, sizeof e->key, "%s", key);
    uv_timer_init(c->api->loop, &e->timer);
    e->timer.data = e;
    e->next = c->jobs;
    if (c->jobs)
        c->jobs->pprev = &e->next;
    e->pprev = &c->jobs;
    c->jobs = e;
    if (++c->njobs > c->nbuckets)
        rehash(c);
    else {
        size_t i = hash_key(key) & (c->nbuckets - 1);
        e->hnext = c->buckets[i];
        c->buckets[i] = e;
    }
    return e;
}

static void entry_closed(uv_handle_t *h)
{
    free(h->data);
}

static void entry_free(jobctl_t *c, jobent *e)
{
    *e->pprev = e->next;
    if (e->next)
        e->next->pprev = e->pprev;
    for (jobent **pp = &c->buckets[hash_key(e->key) & (c->nbuckets - 1)]; *pp; pp = &(*pp)->hnext)
        if (*pp == e) {
            *pp = e->hnext;
            break;
        }
    c->njobs--;
    uv_close((uv_handle_t *)&e->timer, entry_closed);
}

static int port_in_use(jobctl_t *c, int port)
{
    for (jobent *e = c->jobs; e; e = e->next) /* only when a job first needs a port */
        if (e->port == port)
            return 1;
    return 0;
}

/* A free TCP port on 127.0.0.1 that no other job holds. */
static int alloc_port(jobctl_t *c)
{
    for (int tries = 0; tries < 64; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return 0;
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof sa;
        int port = 0;
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
            port = ntohs(sa.sin_port);
        close(fd);
        if (port && !port_in_use(c, port))
            return port;
    }
    return 0;
}

/* The port a job's existing pods already use (after a daemon restart). */
static int port_from_pod(const json_t *pod)
{
    size_t i, j;
    json_t *ct, *p;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, ct)
        json_array_foreach(json_object_get(ct, "ports"), j, p) {
            const char *n = json_string_value(json_object_get(p, "name"));
            if (n && !strcmp(n, PTJ_PORT_NAME))
                return (int)json_integer_value(json_object_get(p, "containerPort"));
        }
    return 0;
}

/* ---- writes, counted ----------------------------------------------------------------------- */

typedef struct wctx {
    jobctl_t *c;
    char key[600];
} wctx;

static void on_written(void *arg, int err, const store_rec *rec)
{
    wctx *w = arg;
    (void)err;
    (void)rec;
    jobent *e = entry(w->c, w->key, 0);
    if (e && --e->pending == 0 && e->dirty) {
        e->dirty = 0;
        enqueue(w->c, e->key);
    }
    free(w);
}

static void counted_write(jobent *e, const char *key, json_t *obj)
{
    wctx *w = calloc(1, sizeof *w);
    w->c = e->c;
    snprintf(w->key, sizeof w->key, "%s", e->key);
    if (store_write(e->c->api->store, key, obj, on_written, w, NULL))
        e->pending++;
    else
        free(w);
}

static void new_meta(json_t *obj, const char *ns)
{
    json_t *md = json_object_get(obj, "metadata");
    char uid[37];
    api_new_uid(uid);
    char *now = api_now_rfc3339();
    json_object_set_new(md, "uid", json_string(uid));
    json_object_set_new(md, "creationTimestamp", json_string(now));
    json_object_set_new(md, "namespace", json_string(ns));
    free(now);
}

/* Graceful delete of a pod, as the API's DELETE with the pod's own grace period. */
static int delete_pod(jobent *e, const char *key)
{
    store_t *st = e->c->api->store;
    const store_rec *rec = store_latest(st, key);
    if (!rec)
        return -1;
    json_t *pod = api_rec_json(rec);
    json_t *md = json_object_get(pod, "metadata");
    if (json_object_get(md, "deletionTimestamp")) {
        json_decref(pod);
        return 0;
    }
    const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
    json_t *g = json_object_get(json_object_get(pod, "spec"), "terminationGracePeriodSeconds");
    json_int_t grace = json_is_integer(g) ? json_integer_value(g) : 30;
    if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
        grace = 0;
    if (grace <= 0 && json_array_size(json_object_get(md, "finalizers")) == 0) {
        json_decref(pod);
        counted_write(e, key, NULL);
        return 0;
    }
    char *ts = api_rfc3339(time(NULL) + (time_t)(grace > 0 ? grace : 0));
    json_object_set_new(md, "deletionTimestamp", json_string(ts));
    json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(grace > 0 ? grace : 0));
    free(ts);
    counted_write(e, key, pod);
    return 0;
}

/* ---- one pass --------------------------------------------------------------------------------- */

typedef struct objv {
    json_t **v;
    size_t n, cap;
} objv;

static void objv_push(objv *v, json_t *o)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->v = realloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n++] = o;
}

typedef struct kids {
    const char *job;
    const ptj_job *j;
    objv own;     /* the job's children */
    objv orphans; /* children to adopt (invariant 5) */
} kids;

static int collect(void *arg, const store_rec *rec)
{
    kids *k = arg;
    const char *jn = json_string_value(json_object_get(rec->labels, PTJ_LABEL_JOB_NAME));
    if (!jn || strcmp(jn, k->job))
        return 0;
    /* the latest version, pending writes included: the previous pass's effects */
    json_t *o = api_rec_json(rec);
    switch (ptj_claim(k->j, o)) {
    case PTJ_CLAIM_OWNED: objv_push(&k->own, o); break;
    case PTJ_CLAIM_ORPHAN: objv_push(&k->orphans, o); break;
    default: json_decref(o);
    }
    return 0;
}

/* Adopt the orphans collected, after the list (never write inside it): they join the job's own. */
static void adopt_orphans(jobent *e, const ptj_job *j, kids *k, const char *plural)
{
    for (size_t i = 0; i < k->orphans.n; i++) {
        json_t *o = k->orphans.v[i];
        char key[700];
        snprintf(key, sizeof key, "%s/%s/%s", plural, j->ns,
                 json_string_value(json_object_get(json_object_get(o, "metadata"), "name")));
        ptj_adopt(j, o);
        counted_write(e, key, json_deep_copy(o));
        objv_push(&k->own, o);
    }
    k->orphans.n = 0;
}

static void kids_free(kids *k)
{
    for (size_t i = 0; i < k->own.n; i++)
        json_decref(k->own.v[i]);
    for (size_t i = 0; i < k->orphans.n; i++)
        json_decref(k->orphans.v[i]);
    free(k->own.v);
    free(k->orphans.v);
}

/* Whether the create of a->obj under ckey can go ahead: 1 yes; 0 not yet (the job's own old child
 * of that name is still going away: retry soon); -1 it fails as a POST would, *err set (the
 * caller frees it). Stamps a->obj as the server would. */
static int create_check(jobctl_t *c, const ptj_job *j, ptj_action *a, const char *ckey, apierr *err)
{
    int pod = a->kind == PTJ_ACT_CREATE_POD;
    const store_rec *cur = store_latest(c->api->store, ckey);
    if (cur) {
        json_t *o = api_rec_json(cur);
        int terminating = json_object_get(json_object_get(o, "metadata"), "deletionTimestamp") != NULL;
        int ours = ptj_owns(j, o);
        json_decref(o);
        if (ours)
            return 0;
        apierr_already_exists(err, pod ? "pods" : "services", "", pod ? "pods" : "services", a->name,
                              terminating);
        return -1;
    }
    new_meta(a->obj, j->ns); /* api_validate_create adds the defaults and the new status */
    return api_validate_create(resource_find("", "v1", pod ? "pods" : "services"), a->obj, err) < 0 ? -1 : 1;
}

/* Invariant 7 (ReconcileHPA). */
static void reconcile_hpa(jobent *e, const ptj_job *j)
{
    const json_t *metrics =
        json_object_get(json_object_get(json_object_get(j->obj, "spec"), "elasticPolicy"), "metrics");
    if (!j->elastic.present || !metrics || json_is_null(metrics))
        return;
    char key[700];
    snprintf(key, sizeof key, "horizontalpodautoscalers/%s/%s", j->ns, j->name);
    const store_rec *cur = store_latest(e->c->api->store, key);
    if (j->run.suspend) {
        if (cur)
            counted_write(e, key, NULL);
        return;
    }
    json_t *want = hpa_for_job(j->name, j->ns, j->uid, j->elastic.min_replicas, j->elastic.max_replicas, metrics);
    if (!cur) {
        new_meta(want, j->ns);
        counted_write(e, key, want);
        return;
    }
    json_t *o = api_rec_json(cur);
    if (!json_equal(json_object_get(o, "spec"), json_object_get(want, "spec"))) {
        /* the update replaces the spec (and names the job as the owner); status is kept */
        json_object_set(o, "spec", json_object_get(want, "spec"));
        json_object_set(json_object_get(o, "metadata"), "ownerReferences",
                        json_object_get(json_object_get(want, "metadata"), "ownerReferences"));
        counted_write(e, key, json_incref(o));
    }
    json_decref(o);
    json_decref(want);
}

/* The observed pod called name, or NULL. */
static const ptj_pod *observed_pod(const ptj_pod *pv, size_t np, const char *name)
{
    for (size_t i = 0; i < np; i++)
        if (!strcmp(pv[i].name, name))
            return &pv[i];
    return NULL;
}

static void reconcile(jobctl_t *c, const char *key)
{
    store_t *st = c->api->store;
    const store_rec *rec = store_latest(st, key);
    jobent *e = entry(c, key, 0);
    if (!rec) {
        if (e)
            entry_free(c, e);
        return;
    }
    if (e && e->pending) {
        e->dirty = 1;
        return;
    }
    json_t *obj = api_rec_json(rec);
    ptj_job j;
    if (ptj_decode(obj, &j) < 0) {
        json_decref(obj);
        return;
    }
    json_decref(obj); /* j holds its own reference */
    if (ptj_managed_elsewhere(j.obj)) {
        /* Another controller's job (spec §6.9): nothing to do, nothing to keep. */
        if (e)
            entry_free(c, e);
        ptj_job_free(&j);
        return;
    }
    if (!e)
        e = entry(c, key, 1);
    if (strcmp(e->uid, j.uid)) { /* a new job under an old name */
        snprintf(e->uid, sizeof e->uid, "%s", j.uid);
        e->port = 0;
    }
    char prefix[600];
    snprintf(prefix, sizeof prefix, "pods/%s/", j.ns);
    kids pods = {.job = j.name, .j = &j};
    store_list(st, prefix, NULL, 0, collect, &pods);
    snprintf(prefix, sizeof prefix, "services/%s/", j.ns);
    kids svcs = {.job = j.name, .j = &j};
    store_list(st, prefix, NULL, 0, collect, &svcs);
    adopt_orphans(e, &j, &pods, "pods");
    adopt_orphans(e, &j, &svcs, "services");
    ptj_pod *pv = calloc(pods.own.n + 1, sizeof *pv);
    ptj_svc *sv = calloc(svcs.own.n + 1, sizeof *sv);
    size_t np = 0, ns = 0;
    for (size_t i = 0; i < pods.own.n; i++) {
        if (!e->port)
            e->port = port_from_pod(pods.own.v[i]);
        if (ptj_pod_observe(pods.own.v[i], &pv[np]) == 0)
            np++;
    }
    for (size_t i = 0; i < svcs.own.n; i++)
        if (ptj_svc_observe(svcs.own.v[i], &sv[ns]) == 0)
            ns++;
    /* A port only for a job that will run processes (finished and suspended jobs start none). */
    if (!e->port && !j.deleting && !j.run.suspend && !jobstatus_finished(&j.status))
        e->port = alloc_port(c);
    ptj_result res;
    time_t now = time(NULL);
    uint64_t now_ms = uv_now(c->api->loop);
    jobstatus_reconcile(&j, pv, np, sv, ns, e->port, now, &res);

    /* Invariant 4: the first create that would fail ends the pass there. */
    size_t nacts = res.nacts;
    char ckey[700];
    apierr cerr = {0};
    int *go = calloc(res.nacts + 1, sizeof *go); /* per create: 1 create, 0 not yet */
    int held = 0;
    for (size_t i = 0; i < res.nacts; i++) {
        ptj_action *a = &res.acts[i];
        if (a->kind != PTJ_ACT_CREATE_POD && a->kind != PTJ_ACT_CREATE_SVC)
            continue;
        int pod = a->kind == PTJ_ACT_CREATE_POD;
        snprintf(ckey, sizeof ckey, "%s/%s/%s", pod ? "pods" : "services", j.ns, a->name);
        go[i] = create_check(c, &j, a, ckey, &cerr);
        if (go[i] < 0) {
            nacts = i;
            break;
        }
        if (go[i] == 0) /* an old one is still terminating */
            e->dirty = 1;
        else if (pod && now_ms < e->hold_until) /* invariant 6 */
            go[i] = 0, held = 1;
    }
    json_t *status = res.status;
    ptj_status created;
    if (nacts < res.nacts) { /* a failed pass writes only what the job's create event adds */
        jobstatus_copy(&created, &j.status);
        status = jobstatus_set_created(&created, &j, now) ? jobstatus_encode(&created) : NULL;
        jobstatus_free(&created);
    }
    if (status && !json_equal(status, json_object_get(j.obj, "status"))) {
        json_t *upd = json_deep_copy(j.obj);
        json_object_set(upd, "status", status);
        counted_write(e, key, upd);
    }
    if (status != res.status)
        json_decref(status);
    for (size_t i = 0; i < nacts; i++) {
        ptj_action *a = &res.acts[i];
        int ok = 1;
        switch (a->kind) {
        case PTJ_ACT_CREATE_POD:
        case PTJ_ACT_CREATE_SVC:
            if (!go[i]) {
                ok = 0;
                break;
            }
            snprintf(ckey, sizeof ckey, "%s/%s/%s", a->kind == PTJ_ACT_CREATE_POD ? "pods" : "services",
                     j.ns, a->name);
            counted_write(e, ckey, json_incref(a->obj));
            break;
        case PTJ_ACT_DELETE_POD: {
            const ptj_pod *p = observed_pod(pv, np, a->name);
            if (p && p->phase == PTJ_POD_FAILED && !p->deleting) { /* invariant 6: a restart */
                if (e->restarts && now_ms >= e->hold_until + RESTART_RESET_MS)
                    e->restarts = 0;
                e->hold_until = now_ms + retry_ms(e->restarts++);
            }
            snprintf(ckey, sizeof ckey, "pods/%s/%s", j.ns, a->name);
            ok = delete_pod(e, ckey) == 0;
            break;
        }
        case PTJ_ACT_DELETE_SVC:
            snprintf(ckey, sizeof ckey, "services/%s/%s", j.ns, a->name);
            if (store_latest(st, ckey))
                counted_write(e, ckey, NULL);
            break;
        case PTJ_ACT_EVENT:
            break;
        case PTJ_ACT_DELETE_JOB: {
            const store_rec *cur = store_latest(st, key);
            delopts o = {0};
            json_t *dobj = NULL;
            int write;
            apierr err = {0};
            if (cur && api_delete_decide(resource_find("kubeflow.org", "v1", "pytorchjobs"), cur, &o, &dobj,
                                         &write, &err) == 0) {
                if (write == DEL_REMOVE) {
                    json_decref(dobj);
                    counted_write(e, key, NULL);
                } else if (write == DEL_UPDATE) {
                    counted_write(e, key, dobj);
                } else {
                    json_decref(dobj);
                }
            } else {
                ok = 0;
                apierr_free(&err);
            }
            break;
        }
        }
        if (a->kind == PTJ_ACT_EVENT && c->api->metrics && a->reason) {
            if (!strcmp(a->reason, PTJ_REASON_SUCCEEDED))
                tj_metrics_job(c->api->metrics, TJ_JOB_SUCCESSFUL, j.ns);
            else if (!strcmp(a->reason, PTJ_REASON_FAILED))
                tj_metrics_job(c->api->metrics, TJ_JOB_FAILED, j.ns);
            else if (!strcmp(a->reason, PTJ_REASON_RESTARTING))
                tj_metrics_job(c->api->metrics, TJ_JOB_RESTARTED, j.ns);
        }
        if (a->reason && a->message) {
            if (ok)
                events_record(c->ev, j.obj, PTJ_CONTROLLER_NAME, a->event_type, a->reason, a->message);
            else if (a->kind != PTJ_ACT_EVENT && a->kind != PTJ_ACT_CREATE_POD && a->kind != PTJ_ACT_CREATE_SVC) {
                char *m = jobstatus_fail_message(a->kind, "not found");
                events_record(c->ev, j.obj, PTJ_CONTROLLER_NAME, PTJ_EV_WARNING, jobstatus_fail_reason(a->kind), m);
                free(m);
            }
        }
    }
    if (!j.deleting && nacts == res.nacts)
        reconcile_hpa(e, &j);
    /* The next pass: the earliest of the job's own timer (deadline, TTL), a terminating child's
     * poll, a held recreate (invariant 6) and a failed pass's retry (invariant 4). */
    int64_t wake = res.requeue_after >= 0 ? res.requeue_after * 1000 + 50 : -1;
    if (nacts < res.nacts) {
        ptj_action *a = &res.acts[nacts];
        char *m = jobstatus_fail_message(a->kind, cerr.message);
        events_record(c->ev, j.obj, PTJ_CONTROLLER_NAME, PTJ_EV_WARNING, jobstatus_fail_reason(a->kind), m);
        free(m);
        apierr_free(&cerr);
        wake_at(&wake, (int64_t)retry_ms(e->fails++));
    } else {
        e->fails = 0;
    }
    if (held)
        wake_at(&wake, (int64_t)(e->hold_until - now_ms));
    if (e->dirty && !e->pending) {
        e->dirty = 0;
        wake_at(&wake, 200); /* waiting for a terminating child */
    }
    if (wake >= 0 && !c->closing)
        uv_timer_start(&e->timer, on_requeue, (uint64_t)wake, 0);
    free(go);
    jobstatus_result_free(&res);
    free(pv);
    free(sv);
    kids_free(&pods);
    kids_free(&svcs);
    ptj_job_free(&j);
}

static void on_kick(uv_timer_t *t)
{
    jobctl_t *c = t->data;
    size_t n;
    char **q = keyq_take(&c->queue, &n);
    for (size_t i = 0; i < n; i++) {
        if (!c->closing)
            reconcile(c, q[i]);
        free(q[i]);
    }
    free(q);
}

static void on_commit(void *arg, const store_rec *rec, const store_rec *prev)
{
    jobctl_t *c = arg;
    (void)prev;
    if (!strncmp(rec->key, "pytorchjobs/", 12)) {
        if (c->api->metrics && (rec->deleted || !prev)) {
            const char *ns = rec->key + 12, *slash = strchr(ns, '/');
            char nsb[300];
            snprintf(nsb, sizeof nsb, "%.*s", slash ? (int)(slash - ns) : 0, ns);
            tj_metrics_job(c->api->metrics, rec->deleted ? TJ_JOB_DELETED : TJ_JOB_CREATED, nsb);
        }
        /* Another controller's job that we hold nothing for: no pass needed (reconcile would
         * parse it only to find that out). With an entry, the pass releases it. */
        if ((rec->tags & PTJ_TAG_MANAGED_ELSEWHERE) && !rec->deleted && !entry(c, rec->key, 0))
            return;
        enqueue(c, rec->key);
        return;
    }
    if (!strncmp(rec->key, "horizontalpodautoscalers/", 25)) {
        /* an HPA named like a job: that job looks at it again (a deleted one is made again) */
        char key[700];
        snprintf(key, sizeof key, "pytorchjobs/%s", rec->key + 25);
        if (entry(c, key, 0))
            enqueue(c, key);
        return;
    }
    int pod = !strncmp(rec->key, "pods/", 5), svc = !strncmp(rec->key, "services/", 9);
    if (!pod && !svc)
        return;
    const char *jn = json_string_value(json_object_get(rec->labels, PTJ_LABEL_JOB_NAME));
    if (!jn)
        return;
    const char *ns = rec->key + (pod ? 5 : 9);
    const char *slash = strchr(ns, '/');
    if (!slash)
        return;
    char key[700];
    snprintf(key, sizeof key, "pytorchjobs/%.*s/%s", (int)(slash - ns), ns, jn);
    enqueue(c, key);
}

/* The store's tagger: marks another controller's jobs as they are written. */
static unsigned tag(void *arg, const char *key, const json_t *obj)
{
    (void)arg;
    return !strncmp(key, "pytorchjobs/", 12) && ptj_managed_elsewhere(obj) ? PTJ_TAG_MANAGED_ELSEWHERE : 0;
}

static int adopt(void *arg, const store_rec *rec)
{
    enqueue(arg, rec->key);
    return 0;
}

jobctl_t *jobctl_new(api_t *api, events_t *ev)
{
    jobctl_t *c = calloc(1, sizeof *c);
    c->api = api;
    c->ev = ev;
    uv_timer_init(api->loop, &c->kick);
    c->kick.data = c;
    store_on_commit(api->store, on_commit, c);
    store_on_tag(api->store, tag, c);
    store_list(api->store, "pytorchjobs/", NULL, 0, adopt, c);
    return c;
}

static void ctl_closed(uv_handle_t *h)
{
    free(h->data);
}

void jobctl_free(jobctl_t *c)
{
    if (!c)
        return;
    c->closing = 1;
    while (c->jobs)
        entry_free(c, c->jobs);
    free(c->buckets);
    keyq_free(&c->queue);
    uv_close((uv_handle_t *)&c->kick, ctl_closed);
}
