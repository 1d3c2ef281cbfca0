/* gc — garbage collector and namespace controller (see gc.h).
 *
 *   commit of an owner being deleted, or of one of its dependents ──► queue[owner key]
 *   commit of an owner's removal ──────────────────────────────────► queue["dangling:<ns>"]
 *   next loop turn, per queued key (reading the latest state):
 *     owner with `orphan`: strip its ownerReference from every dependent → drop the finalizer
 *     owner with `foregroundDeletion`: delete every dependent; once no blocking dependent
 *         (blockOwnerDeletion) is left, not even a terminating pod → drop the finalizer
 *     no finalizers left → remove the owner
 *     dangling:<ns>: dependents whose owners are all gone are deleted (background); references
 *         to owners that are gone are dropped from dependents that still have a live owner
 *     namespace being deleted: delete everything in it, then the namespace
 *
 * Dependents are the namespaced objects with ownerReferences (DEP_KINDS: the controller's pods,
 * services and HPA, and what clients own the same way); pods are
 * deleted gracefully: the grace given to the owner's DELETE (gracePeriodSeconds, our extension:
 * a training process needs time to checkpoint), else the pod's terminationGracePeriodSeconds.
 *
 * Invariants:
 *  1. The queue holds each key once; processing reads the latest state, so a key queued twice
 *     or stale is harmless.
 *  2. Every write here goes through the store like a client's, so watchers see the same
 *     MODIFIED/DELETED events a cluster would send.
 *  3. An owner leaves only after its GC finalizers are gone, and those go only after their
 *     condition holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ftw.h>
#include "gc.h"
#include "jsonio.h"
#include "keyq.h"
#include "kubelet.h"
#include "pytorchjob.h"

#define MAX_GRACE_NOTES 1024

typedef struct grace_note {
    char uid[64];
    int64_t grace;
} grace_note;

struct gc {
    api_t *api;
    uv_timer_t timer;
    keyq queue;               /* owners and "dangling:<ns>" keys for the next pass */
    int closing;
    grace_note notes[MAX_GRACE_NOTES];
    size_t next_note;
};

static void enqueue(gc_t *g, const char *key) { keyq_push(&g->queue, key); }

/* The kinds that may be dependents (owned through ownerReferences). Events are left out: they
 * are not owned, and there are many. */
static const char *const dep_kinds[] = {"pods", "services", "configmaps", "secrets", "leases",
                                        "horizontalpodautoscalers"};
#define NDEP (sizeof dep_kinds / sizeof *dep_kinds)

static int is_dep_key(const char *key)
{
    for (size_t i = 0; i < NDEP; i++) {
        size_t n = strlen(dep_kinds[i]);
        if (!strncmp(key, dep_kinds[i], n) && key[n] == '/')
            return 1;
    }
    return 0;
}

/* The stored, namespaced resource of this plural, or of this kind. */
static const resource *ns_resource(const char *plural, const char *kind)
{
    for (size_t i = 0; i < nresources; i++) {
        const resource *r = &resources[i];
        if (r->namespaced && !r->ephemeral &&
            ((plural && !strcmp(r->plural, plural)) || (kind && !strcmp(r->kind, kind))))
            return r;
    }
    return NULL;
}

static void on_timer(uv_timer_t *t);

static void kick(gc_t *g, uint64_t ms)
{
    if (!g->closing && !uv_is_active((uv_handle_t *)&g->timer))
        uv_timer_start(&g->timer, on_timer, ms, 0);
}

void gc_note_grace(gc_t *g, const char *uid, int64_t grace)
{
    for (size_t i = 0; i < MAX_GRACE_NOTES; i++)
        if (!strcmp(g->notes[i].uid, uid)) {
            /* a later DELETE may only shorten it */
            if (grace < g->notes[i].grace)
                g->notes[i].grace = grace;
            return;
        }
    grace_note *n = &g->notes[g->next_note];
    snprintf(n->uid, sizeof n->uid, "%s", uid);
    n->grace = grace;
    g->next_note = (g->next_note + 1) % MAX_GRACE_NOTES;
}

static int grace_for(gc_t *g, const char *uid, int64_t *grace)
{
    for (size_t i = 0; i < MAX_GRACE_NOTES; i++)
        if (uid && !strcmp(g->notes[i].uid, uid)) {
            *grace = g->notes[i].grace;
            return 1;
        }
    return 0;
}

/* Remove the GC finalizers of an object whose dependents are all handled; remove the object
 * when no finalizer is left. drop: which GC finalizers may go. Returns 1 when it wrote. */
static int finish_deletion(gc_t *g, const char *key, const store_rec *rec, int extra_block)
{
    json_t *o = jsonio_parse(rec->data, rec->len, 0, NULL);
    json_t *md = json_object_get(o, "metadata");
    json_t *fin = json_object_get(md, "finalizers");
    json_t *nf = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(fin, i, v)
        if (strcmp(json_string_value(v), "orphan") && strcmp(json_string_value(v), "foregroundDeletion"))
            json_array_append(nf, v);
    int wrote = 0;
    if (json_array_size(nf) == 0 && !extra_block) {
        store_write(g->api->store, key, NULL, NULL, NULL, NULL);
        wrote = 1;
    } else if (json_array_size(nf) != json_array_size(fin)) {
        if (json_array_size(nf))
            json_object_set(md, "finalizers", nf);
        else
            json_object_del(md, "finalizers");
        store_write(g->api->store, key, o, NULL, NULL, NULL);
        o = NULL;
        wrote = 1;
    }
    json_decref(nf);
    json_decref(o);
    return wrote;
}

/* ---- dependents ------------------------------------------------------------------------------ */

static int has_owner_ref(const json_t *obj, const char *uid, int *blocking)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i, r) {
        const char *u = json_string_value(json_object_get(r, "uid"));
        if (u && !strcmp(u, uid)) {
            if (blocking)
                *blocking = json_is_true(json_object_get(r, "blockOwnerDeletion"));
            return 1;
        }
    }
    return 0;
}

typedef struct depscan {
    gc_t *g;
    const char *uid;
    int mode;          /* DEP_COUNT, DEP_DELETE, DEP_ORPHAN */
    size_t blocking;   /* dependents with blockOwnerDeletion still present */
    size_t found;
} depscan;

enum { DEP_COUNT, DEP_DELETE, DEP_ORPHAN };

/* Delete a dependent: pods gracefully (the owner's grace, else their own), others at once. */
static void delete_dependent(gc_t *g, const char *key, json_t *obj, int64_t grace, int has_grace)
{
    json_t *md = json_object_get(obj, "metadata");
    if (json_object_get(md, "deletionTimestamp")) {
        json_decref(obj);
        return;
    }
    if (!strncmp(key, "pods/", 5)) {
        json_t *spec = json_object_get(obj, "spec");
        const char *phase = json_string_value(json_object_get(json_object_get(obj, "status"), "phase"));
        json_t *tg = json_object_get(spec, "terminationGracePeriodSeconds");
        if (!has_grace)
            grace = json_is_integer(tg) ? json_integer_value(tg) : 30;
        if (grace < 0)
            grace = 1;
        if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
            grace = 0;
        if (grace > 0 || json_array_size(json_object_get(md, "finalizers"))) {
            char *ts = api_rfc3339(time(NULL) + (time_t)(grace > 0 ? grace : 0));
            json_object_set_new(md, "deletionTimestamp", json_string(ts));
            json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(grace > 0 ? grace : 0));
            free(ts);
            store_write(g->api->store, key, obj, NULL, NULL, NULL);
            return;
        }
    } else if (json_array_size(json_object_get(md, "finalizers"))) {
        char *ts = api_now_rfc3339();
        json_object_set_new(md, "deletionTimestamp", json_string(ts));
        json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(0));
        free(ts);
        store_write(g->api->store, key, obj, NULL, NULL, NULL);
        return;
    }
    json_decref(obj);
    store_write(g->api->store, key, NULL, NULL, NULL, NULL);
}

static int scan_dep(void *arg, const store_rec *rec)
{
    depscan *d = arg;
    const store_rec *latest = store_latest(d->g->api->store, rec->key);
    if (!latest || !memmem(latest->data, latest->len, d->uid, strlen(d->uid)))
        return 0;
    json_t *o = jsonio_parse(latest->data, latest->len, 0, NULL);
    int blocking = 0;
    if (!has_owner_ref(o, d->uid, &blocking)) {
        json_decref(o);
        return 0;
    }
    d->found++;
    if (blocking)
        d->blocking++;
    if (d->mode == DEP_DELETE) {
        int64_t grace = 0;
        int has = grace_for(d->g, d->uid, &grace);
        delete_dependent(d->g, rec->key, o, grace, has);
        return 0;
    }
    if (d->mode == DEP_ORPHAN) {
        json_t *refs = json_object_get(json_object_get(o, "metadata"), "ownerReferences");
        for (size_t i = json_array_size(refs); i-- > 0;) {
            const char *u = json_string_value(json_object_get(json_array_get(refs, i), "uid"));
            if (u && !strcmp(u, d->uid))
                json_array_remove(refs, i);
        }
        if (!json_array_size(refs))
            json_object_del(json_object_get(o, "metadata"), "ownerReferences");
        store_write(d->g->api->store, rec->key, o, NULL, NULL, NULL);
        return 0;
    }
    json_decref(o);
    return 0;
}

static void scan_dependents(gc_t *g, const char *ns, depscan *d)
{
    char prefix[400];
    for (size_t i = 0; i < NDEP; i++) {
        snprintf(prefix, sizeof prefix, "%s/%s/", dep_kinds[i], ns);
        store_list(g->api->store, prefix, NULL, 0, scan_dep, d);
    }
}

/* A dependent whose owners are all gone is deleted; references to gone owners are dropped. */
typedef struct dangle {
    gc_t *g;
    const char *ns;
} dangle;

static int owner_alive(gc_t *g, const char *ns, const json_t *ref)
{
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    const char *name = json_string_value(json_object_get(ref, "name"));
    const char *uid = json_string_value(json_object_get(ref, "uid"));
    if (!kind || !name || !uid)
        return 0;
    const resource *res = ns_resource(NULL, kind);
    if (!res)
        return 1; /* an owner kind we do not serve (or a cluster-scoped one): leave it alone */
    char key[700];
    snprintf(key, sizeof key, "%s/%s/%s", res->plural, ns, name);
    const store_rec *rec = store_latest(g->api->store, key);
    if (!rec)
        return 0;
    json_t *o = jsonio_parse(rec->data, rec->len, 0, NULL);
    const char *u = json_string_value(json_object_get(json_object_get(o, "metadata"), "uid"));
    int alive = u && !strcmp(u, uid);
    json_decref(o);
    return alive;
}

static int scan_dangling(void *arg, const store_rec *rec)
{
    dangle *d = arg;
    if (!memmem(rec->data, rec->len, "\"ownerReferences\"", 17))
        return 0;
    const store_rec *latest = store_latest(d->g->api->store, rec->key);
    if (!latest)
        return 0;
    json_t *o = jsonio_parse(latest->data, latest->len, 0, NULL);
    json_t *refs = json_object_get(json_object_get(o, "metadata"), "ownerReferences");
    size_t alive = 0, dead = 0;
    char dead_uid[64] = "";
    for (size_t i = 0; i < json_array_size(refs); i++) {
        if (owner_alive(d->g, d->ns, json_array_get(refs, i)))
            alive++;
        else {
            dead++;
            snprintf(dead_uid, sizeof dead_uid, "%s",
                     json_string_value(json_object_get(json_array_get(refs, i), "uid")) ?: "");
        }
    }
    if (!dead) {
        json_decref(o);
        return 0;
    }
    if (!alive) {
        int64_t grace = 0;
        int has = grace_for(d->g, dead_uid, &grace);
        delete_dependent(d->g, rec->key, o, grace, has);
        return 0;
    }
    for (size_t i = json_array_size(refs); i-- > 0;)
        if (!owner_alive(d->g, d->ns, json_array_get(refs, i)))
            json_array_remove(refs, i);
    store_write(d->g->api->store, rec->key, o, NULL, NULL, NULL);
    return 0;
}

static void process_dangling(gc_t *g, const char *ns)
{
    char prefix[400];
    dangle d = {g, ns};
    for (size_t i = 0; i < NDEP; i++) {
        snprintf(prefix, sizeof prefix, "%s/%s/", dep_kinds[i], ns);
        store_list(g->api->store, prefix, NULL, 0, scan_dangling, &d);
    }
}


typedef struct nsscan {
    gc_t *g;
    size_t left;
    const char *plural;
} nsscan;

static int delete_in_ns(void *arg, const store_rec *rec)
{
    nsscan *s = arg;
    s->left++;
    const store_rec *latest = store_latest(s->g->api->store, rec->key);
    if (!latest)
        return 0;
    const resource *res = ns_resource(s->plural, NULL);
    if (!strcmp(s->plural, "pods")) {
        delete_dependent(s->g, rec->key, jsonio_parse(latest->data, latest->len, 0, NULL), 0, 0);
        return 0;
    }
    delopts o = {0};
    json_t *obj = NULL;
    int write;
    apierr e = {0};
    if (api_delete_decide(res, latest, &o, &obj, &write, &e) < 0) {
        apierr_free(&e);
        return 0;
    }
    if (write == DEL_REMOVE) {
        store_write(s->g->api->store, rec->key, NULL, NULL, NULL, NULL);
        json_decref(obj);
    } else if (write == DEL_UPDATE) {
        store_write(s->g->api->store, rec->key, obj, NULL, NULL, NULL);
    } else {
        json_decref(obj);
    }
    return 0;
}

static void process(gc_t *g, const char *key)
{
    store_t *st = g->api->store;
    if (!strncmp(key, "dangling:", 9)) {
        process_dangling(g, key + 9);
        return;
    }
    const store_rec *rec = store_latest(st, key);
    if (!rec)
        return;
    json_t *o = jsonio_parse(rec->data, rec->len, 0, NULL);
    json_t *md = json_object_get(o, "metadata");
    int deleting = json_object_get(md, "deletionTimestamp") != NULL;
    const char *name = json_string_value(json_object_get(md, "name"));
    char nsname[300];
    snprintf(nsname, sizeof nsname, "%s", name ? name : "");
    json_decref(o);
    if (!deleting)
        return;
    if (!strncmp(key, "namespaces/", 11)) {
        /* Delete everything inside (every namespaced kind), then the namespace itself. */
        char prefix[400];
        size_t left = 0;
        for (size_t i = 0; i < nresources; i++) {
            if (!resources[i].namespaced || resources[i].ephemeral)
                continue;
            snprintf(prefix, sizeof prefix, "%s/%s/", resources[i].plural, nsname);
            nsscan s = {g, 0, resources[i].plural};
            store_list(st, prefix, NULL, 0, delete_in_ns, &s);
            left += store_count(st, prefix);
        }
        if (left) {
            enqueue(g, key);
            kick(g, 100);
            return;
        }
        finish_deletion(g, key, rec, 0);
        return;
    }
    json_t *obj = jsonio_parse(rec->data, rec->len, 0, NULL);
    json_t *omd = json_object_get(obj, "metadata");
    const char *uid = json_string_value(json_object_get(omd, "uid"));
    const char *ns = json_string_value(json_object_get(omd, "namespace"));
    int orphan = api_str_in(json_object_get(omd, "finalizers"), "orphan"), fg = api_str_in(json_object_get(omd, "finalizers"), "foregroundDeletion");
    if (!uid || !ns || (!orphan && !fg)) {
        json_decref(obj);
        return;
    }
    depscan d = {g, uid, orphan ? DEP_ORPHAN : DEP_DELETE, 0, 0};
    scan_dependents(g, ns, &d);
    json_decref(obj);
    /* Foreground: the owner stays until no blocking dependent is left, terminating pods
     * included (they leave when their process has exited). */
    if (fg && d.blocking)
        return;
    finish_deletion(g, key, rec, 0);
}

static void on_timer(uv_timer_t *t)
{
    gc_t *g = t->data;
    size_t n;
    char **q = keyq_take(&g->queue, &n);
    for (size_t i = 0; i < n; i++) {
        process(g, q[i]);
        free(q[i]);
    }
    free(q);
    if (g->queue.n)
        kick(g, 100);
}

/* A job's pod went away after the job itself: its logs go with it. */
static void drop_logs_if_orphaned(gc_t *g, const store_rec *rec)
{
    const char *job = json_string_value(json_object_get(rec->labels, "training.kubeflow.org/job-name"));
    if (!job || !g->api->kubelet)
        return;
    const char *ns = rec->key + 5;
    const char *slash = strchr(ns, '/');
    if (!slash)
        return;
    char key[700], nsb[300];
    snprintf(nsb, sizeof nsb, "%.*s", (int)(slash - ns), ns);
    snprintf(key, sizeof key, "pytorchjobs/%s/%s", nsb, job);
    if (!store_latest(g->api->store, key))
        kubelet_remove_job_logs(g->api->kubelet, nsb, job);
}

/* Queue the owners named in a dependent's ownerReferences. */
static void queue_owners(gc_t *g, const store_rec *rec)
{
    if (!memmem(rec->data, rec->len, "\"ownerReferences\"", 17))
        return;
    const char *ns = strchr(rec->key, '/') + 1;
    const char *slash = strchr(ns, '/');
    json_t *o = jsonio_parse(rec->data, rec->len, 0, NULL);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(json_object_get(o, "metadata"), "ownerReferences"), i, r) {
        const char *kind = json_string_value(json_object_get(r, "kind"));
        const char *name = json_string_value(json_object_get(r, "name"));
        if (kind && name && !strcmp(kind, "PyTorchJob")) {
            char key[700];
            snprintf(key, sizeof key, "pytorchjobs/%.*s/%s", (int)(slash - ns), ns, name);
            enqueue(g, key);
            kick(g, 0);
        }
    }
    json_decref(o);
}

static void on_commit(void *arg, const store_rec *rec, const store_rec *prev)
{
    gc_t *g = arg;
    (void)prev;
    int dep = is_dep_key(rec->key);
    if (dep) {
        queue_owners(g, rec);
        if (rec->deleted && !strncmp(rec->key, "pods/", 5))
            drop_logs_if_orphaned(g, rec);
        return;
    }
    if (rec->deleted) {
        if (!strncmp(rec->key, "pytorchjobs/", 12)) {
            /* The owner is gone: its dependents are now dangling (background cascade). */
            const char *ns = rec->key + 12;
            const char *slash = strchr(ns, '/');
            /* a job run elsewhere had no pods here: no scan of the namespace's log dir */
            if (g->api->kubelet && slash && !(rec->tags & PTJ_TAG_MANAGED_ELSEWHERE)) {
                char nsb[300];
                snprintf(nsb, sizeof nsb, "%.*s", (int)(slash - ns), ns);
                kubelet_remove_job_logs(g->api->kubelet, nsb, slash + 1);
            }
            char key[400];
            snprintf(key, sizeof key, "dangling:%.*s", (int)(slash - ns), ns);
            enqueue(g, key);
            kick(g, 0);
        }
        return;
    }
    if (strncmp(rec->key, "pytorchjobs/", 12) && strncmp(rec->key, "namespaces/", 11))
        return;
    /* Cheap test before parsing: only objects being deleted matter. */
    if (!memmem(rec->data, rec->len, "\"deletionTimestamp\"", 19))
        return;
    enqueue(g, rec->key);
    kick(g, 0);
}

static int scan_ns_dangling(void *arg, const store_rec *rec)
{
    char key[400];
    const char *slash = strrchr(rec->key, '/');
    snprintf(key, sizeof key, "dangling:%s", slash ? slash + 1 : "");
    enqueue(arg, key);
    return 0;
}

static int scan_one(void *arg, const store_rec *rec)
{
    on_commit(arg, rec, NULL);
    return 0;
}

gc_t *gc_new(api_t *api)
{
    gc_t *g = calloc(1, sizeof *g);
    g->api = api;
    uv_timer_init(api->loop, &g->timer);
    g->timer.data = g;
    uv_unref((uv_handle_t *)&g->timer);
    store_on_commit(api->store, on_commit, g);
    /* After a restart, finish what was being deleted. */
    store_list(api->store, "pytorchjobs/", NULL, 0, scan_one, g);
    store_list(api->store, "namespaces/", NULL, 0, scan_one, g);
    store_list(api->store, "namespaces/", NULL, 0, scan_ns_dangling, g);
    uv_timer_stop(&g->timer);
    uv_timer_start(&g->timer, on_timer, 0, 0);
    return g;
}

static void on_gc_closed(uv_handle_t *h)
{
    free(h->data);
}

void gc_free(gc_t *g)
{
    if (!g)
        return;
    g->closing = 1;
    keyq_free(&g->queue);
    uv_close((uv_handle_t *)&g->timer, on_gc_closed);
}

void gc_delete_namespace(apireq *r, const store_rec *rec, const delopts *o)
{
    apierr e = {0};
    /* NamespaceLifecycle's immortal namespaces */
    if (!strcmp(r->name, "default") || !strcmp(r->name, "kube-system") || !strcmp(r->name, "kube-public")) {
        apierr_set(&e, ST_FORBIDDEN, "namespaces \"%s\" is forbidden: this namespace may not be deleted", r->name);
        apierr_details(&e, r->name, "", "namespaces", NULL);
        api_send_error(r, &e);
        return;
    }
    json_t *obj = NULL;
    int write;
    if (api_delete_decide(r->res, rec, o, &obj, &write, &e) < 0) {
        api_send_error(r, &e);
        return;
    }
    /* A namespace always goes through Terminating: spec.finalizers ["kubernetes"] holds it
     * until the namespace controller has emptied it. */
    json_t *md = json_object_get(obj, "metadata");
    int changed = write != DEL_NOTHING;
    if (!json_object_get(md, "deletionTimestamp")) {
        char *now = api_now_rfc3339();
        json_object_set_new(md, "deletionTimestamp", json_string(now));
        json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(0));
        free(now);
        changed = 1;
    }
    json_t *st = json_object_get(obj, "status");
    if (!json_is_object(st))
        json_object_set_new(obj, "status", st = json_object());
    const char *phase = json_string_value(json_object_get(st, "phase"));
    if (!phase || strcmp(phase, "Terminating")) {
        json_object_set_new(st, "phase", json_string("Terminating"));
        changed = 1;
    }
    if (!changed || o->dry_run) {
        api_send_json(r, 200, obj, 0);
        return;
    }
    char key[600];
    api_key(key, sizeof key, r->res, "", r->name);
    api_write_respond(r, key, obj, 200, NULL, 0);
}
