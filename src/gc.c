/* gc — garbage collector and namespace controller (see gc.h).
 *
 *   commit of an object with deletionTimestamp ──► queue[key] ──(next loop turn)──► process:
 *     pytorchjob/namespace with `orphan`/`foregroundDeletion`: dependents handled → drop them
 *     no finalizers left (and, for a namespace, nothing left inside) → remove the object
 *     namespace still holding objects → delete them (background), look again in 100 ms
 *
 * Invariants:
 *  1. The queue holds each key once; processing reads the latest state, so a key queued twice
 *     or stale is harmless.
 *  2. Every write here goes through the store like a client's, so watchers see the same
 *     MODIFIED/DELETED events a cluster would send.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gc.h"

struct gc {
    api_t *api;
    uv_timer_t timer;
    char **queue;
    size_t n, cap;
    int closing;
};

static void enqueue(gc_t *g, const char *key)
{
    for (size_t i = 0; i < g->n; i++)
        if (!strcmp(g->queue[i], key))
            return;
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->queue = realloc(g->queue, g->cap * sizeof *g->queue);
    }
    g->queue[g->n++] = strdup(key);
}

static void on_timer(uv_timer_t *t);

static void kick(gc_t *g, uint64_t ms)
{
    if (!g->closing && !uv_is_active((uv_handle_t *)&g->timer))
        uv_timer_start(&g->timer, on_timer, ms, 0);
}

/* Remove the GC finalizers of an object whose dependents are all handled; remove the object
 * when no finalizer is left. Returns 1 when it wrote. */
static int finish_deletion(gc_t *g, const char *key, const store_rec *rec, int extra_block)
{
    json_t *o = json_loadb(rec->data, rec->len, 0, NULL);
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

typedef struct nsscan {
    gc_t *g;
    size_t left;
} nsscan;

static int delete_in_ns(void *arg, const store_rec *rec)
{
    nsscan *s = arg;
    s->left++;
    const store_rec *latest = store_latest(s->g->api->store, rec->key);
    if (!latest)
        return 0;
    const resource *res = resource_find("kubeflow.org", "v1", "pytorchjobs");
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
    const store_rec *rec = store_latest(st, key);
    if (!rec)
        return;
    json_t *o = json_loadb(rec->data, rec->len, 0, NULL);
    json_t *md = json_object_get(o, "metadata");
    int deleting = json_object_get(md, "deletionTimestamp") != NULL;
    const char *name = json_string_value(json_object_get(md, "name"));
    char nsname[300];
    snprintf(nsname, sizeof nsname, "%s", name ? name : "");
    json_decref(o);
    if (!deleting)
        return;
    if (!strncmp(key, "namespaces/", 11)) {
        /* Delete everything inside, then the namespace itself. */
        char prefix[400];
        snprintf(prefix, sizeof prefix, "pytorchjobs/%s/", nsname);
        nsscan s = {g, 0};
        store_list(st, prefix, NULL, 0, delete_in_ns, &s);
        size_t left = store_count(st, prefix);
        if (left) {
            enqueue(g, key);
            kick(g, 100);
            return;
        }
        finish_deletion(g, key, rec, 0);
        return;
    }
    /* No dependents are tracked yet: the GC finalizers can go at once. */
    finish_deletion(g, key, rec, 0);
}

static void on_timer(uv_timer_t *t)
{
    gc_t *g = t->data;
    char **q = g->queue;
    size_t n = g->n;
    g->queue = NULL;
    g->n = g->cap = 0;
    for (size_t i = 0; i < n; i++) {
        process(g, q[i]);
        free(q[i]);
    }
    free(q);
    if (g->n)
        kick(g, 100);
}

static void on_commit(void *arg, const store_rec *rec, const store_rec *prev)
{
    gc_t *g = arg;
    (void)prev;
    if (rec->deleted)
        return;
    if (strncmp(rec->key, "pytorchjobs/", 12) && strncmp(rec->key, "namespaces/", 11))
        return;
    /* Cheap test before parsing: only objects being deleted matter. */
    if (!memmem(rec->data, rec->len, "\"deletionTimestamp\"", 19))
        return;
    enqueue(g, rec->key);
    kick(g, 0);
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
    for (size_t i = 0; i < g->n; i++)
        free(g->queue[i]);
    free(g->queue);
    uv_close((uv_handle_t *)&g->timer, on_gc_closed);
}

void gc_delete_namespace(apireq *r, const store_rec *rec, const delopts *o)
{
    apierr e = {0};
    if (!strcmp(r->name, "default") || !strcmp(r->name, "kube-system")) {
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
