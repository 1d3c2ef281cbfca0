/* jobstatus — conditions and the reconcile pass of a PyTorchJob (see jobstatus.h).
 *
 * The job's conditions, as the reconcile pass moves them (the last array element is the state
 * `kubectl get` shows):
 *
 *                 ┌──────────── suspend ────────────┐
 *                 ▼                                 │
 *   (none) ──► Created ──pod Running──► Running ◄──pod back──► Restarting
 *                 │  ▲                    │  │                   │
 *       suspend   │  └─ resume ──┐        │  └─ Succeeded rule ──┼──► Succeeded ─┐
 *                 ▼              │        │                      │               ├─► TTL: job deleted
 *             Suspended(True) ───┘        └── Never / ExitCode 1..127 / backoff ─┴─► Failed (sticky)
 *                                              / deadline
 *
 * Invariants:
 *  1. jobstatus_set_cond() is the only writer of conditions; once Failed=True exists the list
 *     never changes again.
 *  2. Running and Restarting are never both present; Running is False once Succeeded/Failed is.
 *  3. A finished job (Succeeded or Failed True) never gets pods created again and ignores
 *     suspend; only cleanPodPolicy and TTL act on it.
 *  4. A suspended job has no pods and no services (all deleted, active = 0) and no startTime
 *     unless it ran before.
 *  5. Every action on a pod or service names one of the job's own children (observed or built
 *     from the job), never a pod already being deleted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jobstatus.h"

static char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }
static int streq(const char *a, const char *b) { return !strcmp(a ? a : "", b ? b : ""); }

/* ---- status codec ------------------------------------------------------------------------- */

static time_t jtime(const json_t *o, const char *k)
{
    time_t t = 0;
    if (strconv_parse_rfc3339(json_string_value(json_object_get(o, k)), &t) < 0)
        return 0;
    return t;
}

static void push_cond(ptj_status *s, ptj_cond c)
{
    if (s->nconds == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->conds = realloc(s->conds, s->cap * sizeof *s->conds);
        if (!s->conds)
            abort();
    }
    s->conds[s->nconds++] = c;
}

int jobstatus_decode(const json_t *st, ptj_status *s)
{
    memset(s, 0, sizeof *s);
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c)
    {
        if (!json_is_object(c))
            continue;
        ptj_cond pc = {
            .type = xstrdup(json_string_value(json_object_get(c, "type"))),
            .status = xstrdup(json_string_value(json_object_get(c, "status"))),
            .reason = xstrdup(json_string_value(json_object_get(c, "reason"))),
            .message = xstrdup(json_string_value(json_object_get(c, "message"))),
            .last_update = jtime(c, "lastUpdateTime"),
            .last_transition = jtime(c, "lastTransitionTime"),
        };
        if (!pc.type)
            pc.type = strdup("");
        if (!pc.status)
            pc.status = strdup("");
        push_cond(s, pc);
    }
    const json_t *rs = json_object_get(st, "replicaStatuses");
    for (int t = 0; t < PTJ_NTYPES; t++) {
        const json_t *r = json_object_get(rs, ptj_rtype_name(t));
        if (!json_is_object(r))
            continue;
        s->rs[t].present = 1;
        s->rs[t].active = (int32_t)json_integer_value(json_object_get(r, "active"));
        s->rs[t].succeeded = (int32_t)json_integer_value(json_object_get(r, "succeeded"));
        s->rs[t].failed = (int32_t)json_integer_value(json_object_get(r, "failed"));
        s->rs[t].selector = xstrdup(json_string_value(json_object_get(r, "selector")));
    }
    s->start_time = jtime(st, "startTime");
    s->completion_time = jtime(st, "completionTime");
    s->last_reconcile_time = jtime(st, "lastReconcileTime");
    return 0;
}

static void set_time(json_t *o, const char *k, time_t t)
{
    char buf[32];
    if (t)
        json_object_set_new(o, k, json_string(strconv_rfc3339(t, buf)));
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_set_new(o, k, json_string(v));
}

static void set_count(json_t *o, const char *k, int32_t v)
{
    if (v)
        json_object_set_new(o, k, json_integer(v));
}

json_t *jobstatus_encode(const ptj_status *s)
{
    json_t *o = json_object();
    if (s->nconds) {
        json_t *arr = json_array();
        for (size_t i = 0; i < s->nconds; i++) {
            const ptj_cond *c = &s->conds[i];
            json_t *jc = json_pack("{s:s, s:s}", "type", c->type, "status", c->status);
            set_str(jc, "reason", c->reason);
            set_str(jc, "message", c->message);
            set_time(jc, "lastUpdateTime", c->last_update);
            set_time(jc, "lastTransitionTime", c->last_transition);
            json_array_append_new(arr, jc);
        }
        json_object_set_new(o, "conditions", arr);
    }
    json_t *rs = json_object();
    for (int t = 0; t < PTJ_NTYPES; t++) {
        if (!s->rs[t].present)
            continue;
        json_t *r = json_object();
        set_str(r, "selector", s->rs[t].selector);
        set_count(r, "active", s->rs[t].active);
        set_count(r, "succeeded", s->rs[t].succeeded);
        set_count(r, "failed", s->rs[t].failed);
        json_object_set_new(rs, ptj_rtype_name(t), r);
    }
    if (json_object_size(rs))
        json_object_set(o, "replicaStatuses", rs);
    json_decref(rs);
    set_time(o, "startTime", s->start_time);
    set_time(o, "completionTime", s->completion_time);
    set_time(o, "lastReconcileTime", s->last_reconcile_time);
    return o;
}

static void cond_free(ptj_cond *c)
{
    free(c->type);
    free(c->status);
    free(c->reason);
    free(c->message);
}

void jobstatus_copy(ptj_status *dst, const ptj_status *src)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < src->nconds; i++) {
        const ptj_cond *c = &src->conds[i];
        push_cond(dst, (ptj_cond){xstrdup(c->type), xstrdup(c->status), xstrdup(c->reason),
                                  xstrdup(c->message), c->last_update, c->last_transition});
    }
    for (int t = 0; t < PTJ_NTYPES; t++) {
        dst->rs[t] = src->rs[t];
        dst->rs[t].selector = xstrdup(src->rs[t].selector);
    }
    dst->start_time = src->start_time;
    dst->completion_time = src->completion_time;
    dst->last_reconcile_time = src->last_reconcile_time;
}

void jobstatus_free(ptj_status *s)
{
    for (size_t i = 0; i < s->nconds; i++)
        cond_free(&s->conds[i]);
    free(s->conds);
    for (int t = 0; t < PTJ_NTYPES; t++)
        free(s->rs[t].selector);
    memset(s, 0, sizeof *s);
}

/* ---- conditions --------------------------------------------------------------------------- */

const ptj_cond *jobstatus_cond(const ptj_status *s, const char *type)
{
    for (size_t i = 0; i < s->nconds; i++)
        if (streq(s->conds[i].type, type))
            return &s->conds[i];
    return NULL;
}

int jobstatus_is(const ptj_status *s, const char *type)
{
    const ptj_cond *c = jobstatus_cond(s, type);
    return c && streq(c->status, PTJ_TRUE);
}

int jobstatus_finished(const ptj_status *s)
{
    return jobstatus_is(s, PTJ_COND_SUCCEEDED) || jobstatus_is(s, PTJ_COND_FAILED);
}

int jobstatus_set_cond(ptj_status *s, const char *type, const char *status, const char *reason,
                       const char *message, time_t now)
{
    if (jobstatus_is(s, PTJ_COND_FAILED)) /* rule 1 */
        return 0;
    const ptj_cond *cur = jobstatus_cond(s, type);
    if (cur && streq(cur->status, status) && streq(cur->reason, reason)) /* rule 2 */
        return 0;
    time_t transition = cur && streq(cur->status, status) ? cur->last_transition : now; /* 3 */
    int is_run = streq(type, PTJ_COND_RUNNING), is_restart = streq(type, PTJ_COND_RESTARTING);
    int is_end = streq(type, PTJ_COND_SUCCEEDED) || streq(type, PTJ_COND_FAILED);
    size_t n = 0;
    for (size_t i = 0; i < s->nconds; i++) { /* rule 4, and drop the old one of this type */
        ptj_cond *c = &s->conds[i];
        int c_run = streq(c->type, PTJ_COND_RUNNING);
        if (streq(c->type, type) || (is_restart && c_run) ||
            (is_run && streq(c->type, PTJ_COND_RESTARTING))) {
            cond_free(c);
            continue;
        }
        if (is_end && c_run && !streq(c->status, PTJ_FALSE)) {
            free(c->status);
            c->status = strdup(PTJ_FALSE);
        }
        s->conds[n++] = *c;
    }
    s->nconds = n;
    push_cond(s, (ptj_cond){strdup(type), strdup(status), xstrdup(reason), xstrdup(message), now,
                            transition});
    return 1;
}

/* ---- actions ------------------------------------------------------------------------------ */

typedef struct rc {
    const ptj_job *j;
    const ptj_pod *pods;
    size_t npods;
    const ptj_svc *svcs;
    size_t nsvcs;
    int port;
    time_t now;
    ptj_status st; /* the status being computed */
    ptj_result *out;
    int ttl_done;   /* the TTL rule ran in this pass */
    int delete_job; /* it expired: DELETE_JOB goes last */
} rc;

static ptj_action *push_act(rc *r, ptj_act_kind kind, const char *name)
{
    ptj_result *o = r->out;
    if (o->nacts == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 16;
        o->acts = realloc(o->acts, o->cap * sizeof *o->acts);
        if (!o->acts)
            abort();
    }
    ptj_action *a = &o->acts[o->nacts++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->name = xstrdup(name);
    a->event_type = PTJ_EV_NORMAL;
    return a;
}

static char *vfmt(const char *fmt, va_list ap)
{
    char *s;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    return s;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = vfmt(f, ap);
    va_end(ap);
    return s;
}

static void event(rc *r, const char *type, const char *reason, const char *f, ...)
    __attribute__((format(printf, 4, 5)));
static void event(rc *r, const char *type, const char *reason, const char *f, ...)
{
    ptj_action *a = push_act(r, PTJ_ACT_EVENT, NULL);
    va_list ap;
    va_start(ap, f);
    a->message = vfmt(f, ap);
    va_end(ap);
    a->event_type = type;
    a->reason = xstrdup(reason ? reason : "");
}

static int has_act(const rc *r, ptj_act_kind kind, const char *name)
{
    for (size_t i = 0; i < r->out->nacts; i++)
        if (r->out->acts[i].kind == kind && streq(r->out->acts[i].name, name))
            return 1;
    return 0;
}

static void delete_pod(rc *r, const ptj_pod *p)
{
    if (p->deleting || has_act(r, PTJ_ACT_DELETE_POD, p->name)) /* upstream skips terminating */
        return;
    ptj_action *a = push_act(r, PTJ_ACT_DELETE_POD, p->name);
    a->reason = strdup("SuccessfulDeletePod");
    a->message = fmt("Deleted pod: %s", p->name);
}

/* Delete the observed service called name, if there is one. */
static void delete_svc(rc *r, const char *name)
{
    int seen = 0;
    for (size_t i = 0; i < r->nsvcs && !seen; i++)
        seen = streq(r->svcs[i].name, name);
    if (!seen || has_act(r, PTJ_ACT_DELETE_SVC, name))
        return;
    ptj_action *a = push_act(r, PTJ_ACT_DELETE_SVC, name);
    a->reason = strdup("SuccessfulDeleteService");
    a->message = fmt("Deleted service: %s", name);
}

static void create_pod(rc *r, ptj_rtype t, int index)
{
    const ptj_job *j = r->j;
    /* the warning comes before the create, which may fail (upstream's createNewPod) */
    if (j->rs[t].tmpl_restart_policy)
        event(r, PTJ_EV_WARNING, "SetPodTemplateRestartPolicy",
              "Restart policy in pod template will be overwritten by restart policy in replica spec");
    char *name = ptj_child_name(j, t, index);
    ptj_action *a = push_act(r, PTJ_ACT_CREATE_POD, name);
    a->obj = ptj_build_pod(j, t, index, r->port);
    a->reason = strdup("SuccessfulCreatePod");
    a->message = fmt("Created pod: %s", name);
    free(name);
}

static void create_svc(rc *r, ptj_rtype t, int index)
{
    char *name = ptj_child_name(r->j, t, index);
    ptj_action *a = push_act(r, PTJ_ACT_CREATE_SVC, name);
    a->obj = ptj_build_service(r->j, t, index, r->port);
    a->reason = strdup("SuccessfulCreateService");
    a->message = fmt("Created service: %s", name);
    free(name);
}

static void requeue(rc *r, int64_t secs)
{
    if (secs < 0)
        secs = 0;
    if (r->out->requeue_after < 0 || secs < r->out->requeue_after)
        r->out->requeue_after = secs;
}

/* ---- the pass ----------------------------------------------------------------------------- */

/* DeletePodsAndServices: on a finished job per cleanPodPolicy, otherwise (backoff, deadline,
 * suspend) everything. A service goes with the pod of the same name. */
static void delete_children(rc *r, int finished)
{
    ptj_clean policy = r->j->run.clean;
    if (finished && policy == PTJ_CLEAN_NONE)
        return;
    for (size_t i = 0; i < r->npods; i++) {
        const ptj_pod *p = &r->pods[i];
        if (finished && policy == PTJ_CLEAN_RUNNING && p->phase != PTJ_POD_RUNNING &&
            p->phase != PTJ_POD_PENDING)
            continue;
        if (p->deleting)
            continue;
        delete_pod(r, p);
        delete_svc(r, p->name);
    }
    if (!finished) /* also services whose pod is already gone */
        for (size_t i = 0; i < r->nsvcs; i++)
            delete_svc(r, r->svcs[i].name);
}

/* CleanupJob: TTL after completion (never while suspend is set). */
static void cleanup_ttl(rc *r)
{
    const ptj_runpolicy *rp = &r->j->run;
    r->ttl_done = 1;
    if (!rp->ttl.set || rp->suspend || !r->st.completion_time) /* upstream: error, never deleted */
        return;
    int64_t expire = (int64_t)r->st.completion_time + rp->ttl.v;
    if ((int64_t)r->now >= expire) {
        r->delete_job = 1;
    } else {
        requeue(r, expire - (int64_t)r->now);
    }
}

static void set_cond(rc *r, const char *type, const char *status, const char *reason,
                     const char *msg)
{
    jobstatus_set_cond(&r->st, type, status, reason, msg, r->now);
}

static void complete(rc *r)
{
    if (!r->st.completion_time)
        r->st.completion_time = r->now;
}

static void fail(rc *r, const char *ev_type, const char *msg)
{
    event(r, ev_type, PTJ_REASON_FAILED, "%s", msg);
    complete(r);
    set_cond(r, PTJ_COND_FAILED, PTJ_TRUE, PTJ_REASON_FAILED, msg);
}

static int active_pod(const ptj_pod *p)
{
    return p->phase != PTJ_POD_SUCCEEDED && p->phase != PTJ_POD_FAILED && !p->deleting;
}

/* recordAbnormalPods (§7) over the active pods. */
static void abnormal_events(rc *r)
{
    for (size_t i = 0; i < r->npods; i++) {
        const ptj_pod *p = &r->pods[i];
        if (!active_pod(p))
            continue;
        for (size_t k = 0; k < p->nabnormal; k++) {
            const ptj_abnormal *a = &p->abnormal[k];
            if (a->kind == PTJ_AB_TERMINATED)
                event(r, PTJ_EV_WARNING, a->reason,
                      "Error pod %s container %s exitCode: %d terminated message: %s", p->name,
                      a->container ? a->container : "", a->exit_code, a->message);
            else if (a->kind == PTJ_AB_WAITING)
                event(r, PTJ_EV_WARNING, a->reason, "Error pod %s container %s waiting message: %s",
                      p->name, a->container ? a->container : "", a->message);
            else
                event(r, PTJ_EV_WARNING, a->reason, "Error pod %s condition message: %s", p->name,
                      a->message);
        }
    }
}

/* §6.5 restart-count rule. */
static int past_backoff_limit(const rc *r)
{
    int64_t sum = 0;
    for (size_t i = 0; i < r->npods; i++) {
        const ptj_pod *p = &r->pods[i];
        if (p->type < 0 || !r->j->rs[p->type].present || p->phase != PTJ_POD_RUNNING)
            continue;
        ptj_restart rp = r->j->rs[p->type].restart;
        if (rp == PTJ_RP_ON_FAILURE || rp == PTJ_RP_ALWAYS || rp == PTJ_RP_EXIT_CODE)
            sum += p->restarts;
    }
    int64_t limit = r->j->run.backoff.v;
    return limit == 0 ? sum > 0 : sum >= limit;
}

/* §5.2 ReconcilePods for one replica type. */
static void reconcile_pods(rc *r, ptj_rtype t)
{
    const ptj_job *j = r->j;
    const ptj_replica *spec = &j->rs[t];
    ptj_rstatus *rs = &r->st.rs[t];
    free(rs->selector); /* initializeReplicaStatuses */
    memset(rs, 0, sizeof *rs);
    rs->present = 1;

    int maxidx = -1;
    for (size_t i = 0; i < r->npods; i++)
        if (r->pods[i].type == (int)t && r->pods[i].index > maxidx)
            maxidx = r->pods[i].index;
    int nslots = spec->replicas > maxidx + 1 ? spec->replicas : maxidx + 1;
    for (int index = 0; index < nslots; index++) {
        const ptj_pod *p = NULL;
        int count = 0;
        for (size_t i = 0; i < r->npods; i++)
            if (r->pods[i].type == (int)t && r->pods[i].index == index && count++ == 0)
                p = &r->pods[i];
        if (count > 1) /* upstream: "too many pods" warning only */
            continue;
        if (count == 0) {
            if (index < spec->replicas)
                create_pod(r, t, index);
            continue;
        }
        if (index >= spec->replicas) /* scale-down */
            delete_pod(r, p);
        if (p->exit_code != PTJ_NO_EXIT_CODE)
            event(r, PTJ_EV_NORMAL, "ExitedWithCode", "Pod: %s.%s exited with code %d", j->ns,
                  p->name, p->exit_code);
        if (p->phase == PTJ_POD_FAILED &&
            (spec->restart == PTJ_RP_ON_FAILURE || spec->restart == PTJ_RP_ALWAYS ||
             (spec->restart == PTJ_RP_EXIT_CODE && p->exit_code >= 128))) {
            delete_pod(r, p);
            char *msg = fmt("job %s is restarting because %s replica(s) failed.", j->name,
                            ptj_rtype_name(t));
            event(r, PTJ_EV_WARNING, PTJ_REASON_RESTARTING, "%s", msg);
            set_cond(r, PTJ_COND_RESTARTING, PTJ_TRUE, PTJ_REASON_RESTARTING, msg);
            free(msg);
        } else if (p->phase == PTJ_POD_FAILED && spec->restart == PTJ_RP_EXIT_CODE) {
            char *msg = fmt("job \"%s\" is failing because \"%s\" replica(s) failed.", j->name,
                            ptj_rtype_name(t));
            fail(r, PTJ_EV_WARNING, msg); /* sets completionTime: fix of §11 */
            free(msg);
        }
        switch (p->phase) {
        case PTJ_POD_RUNNING:
            if (p->deleting)
                rs->failed++;
            else
                rs->active++;
            break;
        case PTJ_POD_SUCCEEDED: rs->succeeded++; break;
        case PTJ_POD_FAILED: rs->failed++; break;
        default: break;
        }
    }
}

/* §5.4 ReconcileServices for one replica type. */
static void reconcile_services(rc *r, ptj_rtype t)
{
    int replicas = r->j->rs[t].replicas, maxidx = -1;
    for (size_t i = 0; i < r->nsvcs; i++)
        if (r->svcs[i].type == (int)t && r->svcs[i].index > maxidx)
            maxidx = r->svcs[i].index;
    int nslots = replicas > maxidx + 1 ? replicas : maxidx + 1;
    for (int index = 0; index < nslots; index++) {
        const ptj_svc *s = NULL;
        int count = 0;
        for (size_t i = 0; i < r->nsvcs; i++)
            if (r->svcs[i].type == (int)t && r->svcs[i].index == index && count++ == 0)
                s = &r->svcs[i];
        if (count == 0 && index < replicas)
            create_svc(r, t, index);
        else if (count == 1 && index >= replicas)
            delete_svc(r, s->name);
    }
}

/* §6.2–6.3 UpdateJobStatus. */
static void update_job_status(rc *r)
{
    const ptj_job *j = r->j;
    ptj_status *st = &r->st;
    int has_master = j->rs[PTJ_MASTER].present;
    if (!st->start_time)
        st->start_time = r->now;
    for (int t = 0; t < PTJ_NTYPES; t++) { /* every selector, before any early return (§11) */
        if (!j->rs[t].present)
            continue;
        st->rs[t].present = 1;
        free(st->rs[t].selector);
        st->rs[t].selector = ptj_selector(j, t);
    }
    for (int t = 0; t < PTJ_NTYPES; t++) {
        const ptj_replica *spec = &j->rs[t];
        if (!spec->present)
            continue;
        int32_t succeeded = st->rs[t].succeeded, running = st->rs[t].active;
        int32_t failed = st->rs[t].failed, expected = spec->replicas - succeeded;
        char *msg;
        if (has_master ? t == PTJ_MASTER : t == PTJ_WORKER) {
            int done;
            if (has_master) { /* the Master decides; Worker states never affect success */
                if (running > 0) {
                    msg = fmt("PyTorchJob %s is running.", j->name);
                    set_cond(r, PTJ_COND_RUNNING, PTJ_TRUE, PTJ_REASON_RUNNING, msg);
                    free(msg);
                }
                done = expected == 0;
            } else { /* Workers only: all succeeded, or (elastic) any */
                done = expected == 0 || (j->elastic.present && succeeded > 0);
                if (!done && running > 0) {
                    msg = fmt("PyTorchJob %s/%s is running.", j->ns, j->name);
                    set_cond(r, PTJ_COND_RUNNING, PTJ_TRUE, PTJ_REASON_RUNNING, msg);
                    free(msg);
                }
            }
            if (done) {
                msg = has_master ? fmt("PyTorchJob %s is successfully completed.", j->name)
                                 : fmt("PyTorchJob %s/%s successfully completed.", j->ns, j->name);
                event(r, PTJ_EV_NORMAL, PTJ_REASON_SUCCEEDED, "%s", msg);
                complete(r);
                set_cond(r, PTJ_COND_SUCCEEDED, PTJ_TRUE, PTJ_REASON_SUCCEEDED, msg);
                free(msg);
                return; /* upstream returns here: later types are not looked at */
            }
        }
        if (failed > 0 && spec->replicas > succeeded + running) {
            if (spec->restart != PTJ_RP_NEVER) {
                msg = fmt("PyTorchJob %s is restarting because %d %s replica(s) failed.", j->name,
                          failed, ptj_rtype_name(t));
                event(r, PTJ_EV_WARNING, PTJ_REASON_RESTARTING, "%s", msg);
                set_cond(r, PTJ_COND_RESTARTING, PTJ_TRUE, PTJ_REASON_RESTARTING, msg);
            } else {
                msg = fmt("PyTorchJob %s is failed because %d %s replica(s) failed.", j->name,
                          failed, ptj_rtype_name(t));
                fail(r, PTJ_EV_NORMAL, msg);
            }
            free(msg);
        }
    }
}

/* Suspended and not finished (§6.8). */
static void suspend(rc *r)
{
    delete_children(r, 0);
    for (int t = 0; t < PTJ_NTYPES; t++)
        if (r->st.rs[t].present)
            r->st.rs[t].active = 0;
    char *msg = fmt("PyTorchJob %s is suspended.", r->j->name);
    if (jobstatus_is(&r->st, PTJ_COND_RUNNING))
        set_cond(r, PTJ_COND_RUNNING, PTJ_FALSE, PTJ_REASON_SUSPENDED, msg);
    if (!jobstatus_is(&r->st, PTJ_COND_SUSPENDED))
        set_cond(r, PTJ_COND_SUSPENDED, PTJ_TRUE, PTJ_REASON_SUSPENDED, msg);
    event(r, PTJ_EV_NORMAL, PTJ_REASON_SUSPENDED, "%s", msg);
    free(msg);
}

static void resume(rc *r)
{
    char *msg = fmt("PyTorchJob %s is resumed.", r->j->name);
    set_cond(r, PTJ_COND_SUSPENDED, PTJ_FALSE, PTJ_REASON_RESUMED, msg);
    r->st.start_time = r->now;
    event(r, PTJ_EV_NORMAL, PTJ_REASON_RESUMED, "%s", msg);
    free(msg);
}

/* Steps 8–11 of §5.1 for a running (not finished, not suspended) job. */
static void run(rc *r)
{
    const ptj_job *j = r->j;
    const ptj_runpolicy *rp = &j->run;
    int32_t active = 0, failed = 0, prev_failed = 0, total = ptj_total_replicas(j);
    for (size_t i = 0; i < r->npods; i++) {
        active += active_pod(&r->pods[i]);
        failed += r->pods[i].phase == PTJ_POD_FAILED;
    }
    for (int t = 0; t < PTJ_NTYPES; t++)
        if (r->st.rs[t].present)
            prev_failed += r->st.rs[t].failed;
    abnormal_events(r);

    char *why = NULL;
    if (rp->backoff.set) {
        /* requeues is always 0 upstream: the new-failure rule fires only for backoffLimit 0 */
        int exceeds = failed > prev_failed && active != total && 1 > rp->backoff.v;
        if (exceeds || past_backoff_limit(r))
            why = fmt("Job %s has failed because it has reached the specified backoff limit",
                      j->name);
    }
    if (!why && rp->deadline.set && r->st.start_time &&
        (int64_t)r->now - (int64_t)r->st.start_time >= rp->deadline.v)
        why = fmt("Job %s has failed because it was active longer than specified deadline",
                  j->name);

    if (why) {
        complete(r);
        delete_children(r, 0); /* regardless of cleanPodPolicy (faithful, issue #3419) */
        cleanup_ttl(r);
        fail(r, PTJ_EV_NORMAL, why);
        free(why);
    } else {
        for (int t = 0; t < PTJ_NTYPES; t++) {
            if (!j->rs[t].present)
                continue;
            reconcile_pods(r, t);
            reconcile_services(r, t);
        }
    }
    update_job_status(r);

    if (!jobstatus_finished(&r->st)) {
        if (rp->deadline.set && r->st.start_time) /* the timer upstream lacks */
            requeue(r, (int64_t)r->st.start_time + rp->deadline.v - (int64_t)r->now);
    } else if (!r->ttl_done && rp->ttl.set && r->st.completion_time) {
        /* just finished: the next pass applies the TTL */
        requeue(r, (int64_t)r->st.completion_time + rp->ttl.v - (int64_t)r->now);
    }
}

int jobstatus_set_created(ptj_status *s, const ptj_job *j, time_t now)
{
    char *msg = fmt("PyTorchJob %s is created.", j->name);
    int changed = jobstatus_set_cond(s, PTJ_COND_CREATED, PTJ_TRUE, PTJ_REASON_CREATED, msg,
                                     j->creation ? j->creation : now);
    free(msg);
    return changed;
}

int jobstatus_reconcile(const ptj_job *j, const ptj_pod *pods, size_t npods, const ptj_svc *svcs,
                        size_t nsvcs, int port, time_t now, ptj_result *out)
{
    memset(out, 0, sizeof *out);
    out->requeue_after = -1;
    if (j->deleting) /* children go by garbage collection */
        return 0;
    if (j->run.managed_by && strcmp(j->run.managed_by, PTJ_MANAGED_BY_US))
        return 0;
    rc r = {.j = j, .pods = pods, .npods = npods, .svcs = svcs, .nsvcs = nsvcs, .port = port,
            .now = now, .out = out};
    jobstatus_copy(&r.st, &j->status);

    jobstatus_set_created(&r.st, j, now);

    if (jobstatus_finished(&r.st)) { /* step 6 */
        delete_children(&r, 1);
        cleanup_ttl(&r);
        if (jobstatus_is(&r.st, PTJ_COND_SUCCEEDED))
            for (int t = 0; t < PTJ_NTYPES; t++) {
                r.st.rs[t].succeeded += r.st.rs[t].active;
                r.st.rs[t].active = 0;
            }
    } else if (j->run.suspend) { /* step 7 */
        suspend(&r);
    } else {
        if (jobstatus_is(&r.st, PTJ_COND_SUSPENDED))
            resume(&r);
        run(&r);
    }
    if (r.delete_job) {
        ptj_action *a = push_act(&r, PTJ_ACT_DELETE_JOB, j->name);
        a->reason = strdup("SuccessfulDeletePod"); /* sic, upstream */
        a->message = fmt("Deleted job: %s", j->name);
    }
    out->status = jobstatus_encode(&r.st);
    jobstatus_free(&r.st);
    return 0;
}

void jobstatus_result_free(ptj_result *r)
{
    for (size_t i = 0; i < r->nacts; i++) {
        free(r->acts[i].name);
        json_decref(r->acts[i].obj);
        free(r->acts[i].reason);
        free(r->acts[i].message);
    }
    free(r->acts);
    json_decref(r->status);
    memset(r, 0, sizeof *r);
}

const char *jobstatus_fail_reason(ptj_act_kind k)
{
    switch (k) {
    case PTJ_ACT_CREATE_POD: return "FailedCreatePod";
    case PTJ_ACT_DELETE_POD: return "FailedDeletePod";
    case PTJ_ACT_CREATE_SVC: return "FailedCreateService";
    case PTJ_ACT_DELETE_SVC: return "FailedDeleteService";
    case PTJ_ACT_DELETE_JOB: return "FailedDeletePod"; /* sic, upstream */
    default: return NULL;
    }
}

char *jobstatus_fail_message(ptj_act_kind k, const char *err)
{
    if (k == PTJ_ACT_EVENT)
        return NULL;
    int create = k == PTJ_ACT_CREATE_POD || k == PTJ_ACT_CREATE_SVC;
    return fmt("Error %s: %s", create ? "creating" : "deleting", err ? err : "");
}
