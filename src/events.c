/* events — core/v1 Events recorded by the controllers, deduplicated as client-go's recorder
 * does: the same (object, type, reason, message) bumps `count` and `lastTimestamp` of the
 * existing Event instead of creating another. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
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

void events_record(events_t *e, const json_t *obj, const char *component, const char *type,
                   const char *reason, const char *message)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *uid = jstr(md, "uid"), *ns = jstr(md, "namespace"), *name = jstr(md, "name");
    char *key;
    if (asprintf(&key, "%s\x1f%s\x1f%s\x1f%s", uid, type, reason, message) < 0)
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
    unsigned char rnd[8];
    RAND_bytes(rnd, sizeof rnd);
    char evname[300];
    snprintf(evname, sizeof evname, "%.200s.%02x%02x%02x%02x%02x%02x%02x%02x", name, rnd[0], rnd[1], rnd[2],
             rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    char uidbuf[37];
    api_new_uid(uidbuf);
    json_t *ev = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s},s:s,s:s,s:s,s:{s:s},s:i,"
                           "s:s,s:s,s:n,s:s,s:s}",
                           "apiVersion", "v1", "kind", "Event",
                           "metadata", "name", evname, "namespace", ns, "uid", uidbuf, "creationTimestamp", now,
                           "involvedObject", "apiVersion", jstr(obj, "apiVersion"), "kind", jstr(obj, "kind"),
                           "name", name, "namespace", ns, "uid", uid,
                           "reason", reason, "message", message, "type", type,
                           "source", "component", component, "count", 1,
                           "firstTimestamp", now, "lastTimestamp", now, "eventTime",
                           "reportingComponent", component, "reportingInstance", "");
    const char *rv = jstr(md, "resourceVersion");
    if (*rv)
        json_object_set_new(json_object_get(ev, "involvedObject"), "resourceVersion", json_string(rv));
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
