/* events — core/v1 Events recorded by the controllers and the kubelet, deduplicated as
 * client-go's recorder does: the same (object, fieldPath, source, type, reason, message) bumps
 * `count` and `lastTimestamp` of the existing Event instead of creating another. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "events.h"
#include "jsonio.h"
#include <time.h>

#define MAX_REMEMBERED 4096 /* dedup memory (client-go's LRU holds 4096 too) */

typedef struct seen {
    char *key;      /* uid \x1f type \x1f reason \x1f message */
    char *evkey;    /* the store key of the Event */
} seen;

#define EVENT_TTL_S 3600 /* kube-apiserver's --event-ttl default */

struct events {
    api_t *api;
    uv_timer_t ttl;
    seen *v;
    size_t n, next; /* ring of remembered events */
    uint64_t last_ns; /* the time in the newest event name */
};

typedef struct expiry {
    events_t *e;
    time_t cutoff;
} expiry;

static int expire_one(void *arg, const store_rec *rec)
{
    expiry *x = arg;
    json_t *ev = jsonio_parse(rec->data, rec->len, 0, NULL);
    const char *last = json_string_value(json_object_get(ev, "lastTimestamp"));
    time_t t = api_parse_rfc3339(last);
    json_decref(ev);
    if (t && t < x->cutoff)
        store_write(x->e->api->store, rec->key, NULL, NULL, NULL, NULL);
    return 0;
}

/* Events expire an hour after they last happened, as on a cluster. */
static void on_ttl(uv_timer_t *t)
{
    events_t *e = t->data;
    expiry x = {e, time(NULL) - EVENT_TTL_S};
    store_list(e->api->store, "events/", NULL, 0, expire_one, &x);
}

events_t *events_new(api_t *api)
{
    events_t *e = calloc(1, sizeof *e);
    e->api = api;
    e->v = calloc(MAX_REMEMBERED, sizeof *e->v);
    uv_timer_init(api->loop, &e->ttl);
    e->ttl.data = e;
    uv_timer_start(&e->ttl, on_ttl, 60000, 60000);
    uv_unref((uv_handle_t *)&e->ttl);
    return e;
}

void events_stop(events_t *e)
{
    if (e)
        uv_close((uv_handle_t *)&e->ttl, NULL);
}

void events_free(events_t *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < MAX_REMEMBERED; i++) {
        free(e->v[i].key);
        free(e->v[i].evkey);
    }
    free(e->v);
    free(e);
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* client-go's event name: the object's name and the time in nanoseconds, in hex, so that a
 * list (ordered by name) has an object's events in the order they were recorded. */
static void event_name(events_t *e, const char *name, char *buf, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (ns <= e->last_ns)
        ns = e->last_ns + 1; /* two events in one nanosecond still get two names */
    e->last_ns = ns;
    snprintf(buf, cap, "%.200s.%" PRIx64, name, ns);
}

static int namespace_open(events_t *e, const char *ns)
{
    char key[300];
    snprintf(key, sizeof key, "namespaces//%s", ns); /* cluster-scoped: no namespace part */
    const store_rec *rec = store_latest(e->api->store, key);
    return rec && !memmem(rec->data, rec->len, "\"deletionTimestamp\"", 19);
}

void events_record(events_t *e, const json_t *obj, const char *component, const char *type,
                   const char *reason, const char *message)
{
    events_source src = {component, NULL};
    events_record_from(e, obj, NULL, &src, type, reason, message);
}

void events_record_from(events_t *e, const json_t *obj, const char *field_path, const events_source *src,
                        const char *type, const char *reason, const char *message)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *uid = jstr(md, "uid"), *ns = jstr(md, "namespace"), *name = jstr(md, "name");
    const char *fp = field_path ? field_path : "", *host = src->host ? src->host : "";
    if (!namespace_open(e, ns))
        return;
    /* client-go's getEventKey, less what one uid already pins down (kind, name, namespace) */
    char *key;
    if (asprintf(&key, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", uid, fp, src->component, host, type, reason,
                 message) < 0)
        abort();
    char *now = api_now_rfc3339();
    store_t *st = e->api->store;
    for (size_t i = 0; i < MAX_REMEMBERED; i++) {
        if (!e->v[i].key || strcmp(e->v[i].key, key))
            continue;
        const store_rec *rec = store_latest(st, e->v[i].evkey);
        if (!rec)
            break;
        json_t *ev = api_rec_json(rec);
        json_object_set_new(ev, "count", json_integer(json_integer_value(json_object_get(ev, "count")) + 1));
        json_object_set_new(ev, "lastTimestamp", json_string(now));
        store_write(st, e->v[i].evkey, ev, NULL, NULL, NULL);
        free(key);
        free(now);
        return;
    }
    char evname[300];
    event_name(e, name, evname, sizeof evname);
    char uidbuf[37];
    api_new_uid(uidbuf);
    json_t *ev = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s},s:s,s:s,s:s,s:{s:s},s:i,"
                           "s:s,s:s,s:n,s:s,s:s}",
                           "apiVersion", "v1", "kind", "Event",
                           "metadata", "name", evname, "namespace", ns, "uid", uidbuf, "creationTimestamp", now,
                           "involvedObject", "apiVersion", jstr(obj, "apiVersion"), "kind", jstr(obj, "kind"),
                           "name", name, "namespace", ns, "uid", uid,
                           "reason", reason, "message", message, "type", type,
                           "source", "component", src->component, "count", 1,
                           "firstTimestamp", now, "lastTimestamp", now, "eventTime",
                           "reportingComponent", src->component, "reportingInstance", host);
    json_t *io = json_object_get(ev, "involvedObject");
    const char *rv = jstr(md, "resourceVersion");
    if (*rv)
        json_object_set_new(io, "resourceVersion", json_string(rv));
    if (*fp)
        json_object_set_new(io, "fieldPath", json_string(fp));
    if (*host)
        json_object_set_new(json_object_get(ev, "source"), "host", json_string(host));
    char evkey[600];
    snprintf(evkey, sizeof evkey, "events/%s/%s", ns, evname);
    store_write(st, evkey, ev, NULL, NULL, NULL);
    seen *s = &e->v[e->next];
    free(s->key);
    free(s->evkey);
    s->key = key;
    s->evkey = strdup(evkey);
    e->next = (e->next + 1) % MAX_REMEMBERED;
    free(now);
}
