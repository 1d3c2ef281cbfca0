/* api_delete — DELETE of one object and deletecollection, exactly as kube-apiserver's generic
 * registry does it for a custom resource (spec/k8s-api-semantics.md §3–§5).
 *
 * The single-object algorithm, after options were parsed (400) and validated (422):
 *
 *   load (404) → preconditions (409) → GC finalizers from the options →
 *        no finalizers left ───────────────► remove now; 200 Status{Success, details.uid}
 *        finalizers left  ──► mark deleting: deletionTimestamp (kept if set; first time also
 *                              generation+1), deletionGracePeriodSeconds 0, finalizers;
 *                              nothing changed → no write;
 *                              200 with the object (202 only for explicit orphanDependents=false)
 *
 * dryRun runs every check and answers the same, writing nothing. The garbage collector (gc.c)
 * later removes `orphan` / `foregroundDeletion` once the dependents are handled.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "jsonio.h"
#include "gc.h"
#include <time.h>

/* ---- options ------------------------------------------------------------------------------------ */

void api_delopts_free(delopts *o)
{
    free(o->pre_uid);
    free(o->pre_rv);
    memset(o, 0, sizeof *o);
}

static int parse_int64(const char *s, int64_t *out, apierr *e)
{
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || (s[0] == '+' && 0)) {
        apierr_set(e, ST_BAD_REQUEST, "strconv.ParseInt: parsing \"%s\": invalid syntax", s);
        return -1;
    }
    if (errno == ERANGE) {
        apierr_set(e, ST_BAD_REQUEST, "strconv.ParseInt: parsing \"%s\": value out of range", s);
        return -1;
    }
    *out = v;
    return 0;
}


static void unmarshal_err(apierr *e, const json_t *v, const char *field, const char *gotype)
{
    const char *jt = json_is_string(v) ? "string" : json_is_number(v) ? "number" :
                     json_is_boolean(v) ? "bool" : json_is_array(v) ? "array" : "object";
    apierr_set(e, ST_BAD_REQUEST, "json: cannot unmarshal %s into Go struct field DeleteOptions.%s of type %s",
               jt, field, gotype);
}

/* DeleteOptions from a non-empty body (the query string is then ignored entirely), else from
 * the query. Then ValidateDeleteOptions. Returns 0 or -1 with e set. */
int api_delopts_parse(apireq *r, delopts *o, apierr *e)
{
    memset(o, 0, sizeof *o);
    http_req *h = r->http;
    char **dry = NULL;
    size_t ndry = 0;
    int rc = -1;
    int has_body = 0;
    for (size_t i = 0; i < h->body_len; i++)
        if (!isspace((unsigned char)h->body[i]))
            has_body = 1;
    if (h->body_len > 0 && has_body) {
        const char *ct = http_header_get(h, "content-type");
        if (ct && *ct && !api_media_is(ct, "application/json") && !api_media_is(ct, "application/yaml") && !api_media_is(ct, "*/*")) {
            apierr_set(e, ST_UNSUPPORTED_MEDIA,
                       "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml");
            return -1;
        }
        json_t *b = NULL;
        char *perr = NULL;
        if (api_body_json(h, &b, &perr) < 0) {
            apierr_set(e, ST_BAD_REQUEST, "couldn't get version/kind; json parse error: %s", perr ? perr : "invalid JSON");
            free(perr);
            return -1;
        }
        if (!json_is_object(b)) {
            apierr_set(e, ST_BAD_REQUEST, "couldn't get version/kind; json parse error: json: cannot unmarshal %s into Go value of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }",
                       json_is_array(b) ? "array" : "string");
            json_decref(b);
            return -1;
        }
        const char *kind = json_string_value(json_object_get(b, "kind"));
        if (kind && *kind && strcmp(kind, "DeleteOptions")) {
            apierr_set(e, ST_BAD_REQUEST, "decoded object cannot be converted to DeleteOptions");
            json_decref(b);
            return -1;
        }
        json_t *v;
        if ((v = json_object_get(b, "gracePeriodSeconds")) && !json_is_null(v)) {
            if (!json_is_integer(v)) {
                unmarshal_err(e, v, "gracePeriodSeconds", "int64");
                json_decref(b);
                return -1;
            }
            o->has_grace = 1;
            o->grace = json_integer_value(v);
        }
        if ((v = json_object_get(b, "orphanDependents")) && !json_is_null(v)) {
            if (!json_is_boolean(v)) {
                unmarshal_err(e, v, "orphanDependents", "bool");
                json_decref(b);
                return -1;
            }
            o->has_orphan = 1;
            o->orphan = json_is_true(v);
        }
        if ((v = json_object_get(b, "propagationPolicy")) && !json_is_null(v)) {
            if (!json_is_string(v)) {
                unmarshal_err(e, v, "propagationPolicy", "v1.DeletionPropagation");
                json_decref(b);
                return -1;
            }
            o->has_policy = 1;
            snprintf(o->policy, sizeof o->policy, "%s", json_string_value(v));
            if (strlen(json_string_value(v)) >= sizeof o->policy)
                strcpy(o->policy, "(invalid)");
        }
        if ((v = json_object_get(b, "dryRun")) && !json_is_null(v)) {
            if (!json_is_array(v)) {
                unmarshal_err(e, v, "dryRun", "[]string");
                json_decref(b);
                return -1;
            }
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) {
                if (!json_is_string(x)) {
                    unmarshal_err(e, x, "dryRun", "string");
                    http_strv_free(dry, ndry);
                    json_decref(b);
                    return -1;
                }
                dry = realloc(dry, (ndry + 1) * sizeof *dry);
                dry[ndry++] = strdup(json_string_value(x));
            }
        }
        json_t *pre = json_object_get(b, "preconditions");
        if (json_is_object(pre)) {
            const char *u = json_string_value(json_object_get(pre, "uid"));
            const char *rv = json_string_value(json_object_get(pre, "resourceVersion"));
            if (u)
                o->pre_uid = strdup(u);
            if (rv)
                o->pre_rv = strdup(rv);
        }
        json_decref(b);
    } else {
        char *v = http_query_get(h, "gracePeriodSeconds");
        if (v) { /* Convert_Slice_string_To_Pointer_int64: even "" goes through ParseInt */
            if (parse_int64(v, &o->grace, e) < 0) {
                free(v);
                return -1;
            }
            o->has_grace = 1;
        }
        free(v);
        if ((v = http_query_get(h, "orphanDependents"))) {
            o->has_orphan = 1;
            o->orphan = api_query_bool(v);
            free(v);
        }
        if ((v = http_query_get(h, "propagationPolicy"))) {
            o->has_policy = 1;
            snprintf(o->policy, sizeof o->policy, "%s", v);
            if (strlen(v) >= sizeof o->policy)
                strcpy(o->policy, "(invalid)");
            free(v);
        }
        ndry = http_query_all(h, "dryRun", &dry);
    }
    fielderrs fe = {0};
    if (o->has_orphan && o->has_policy) {
        char *q = fe_str(o->policy);
        fe_add(&fe, FE_INVALID, "propagationPolicy", q, "orphanDependents and deletionPropagation cannot be both set");
        free(q);
    }
    if (o->has_policy && strcmp(o->policy, "Foreground") && strcmp(o->policy, "Background") &&
        strcmp(o->policy, "Orphan")) {
        char *q = fe_str(o->policy);
        fe_add(&fe, FE_NOT_SUPPORTED, "propagationPolicy", q,
               "supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"");
        free(q);
    }
    api_dry_run(dry, ndry, &o->dry_run, &fe);
    http_strv_free(dry, ndry);
    if (fe.n) {
        apierr_invalid(e, "DeleteOptions.meta.k8s.io", "", "meta.k8s.io", "DeleteOptions", &fe);
        fe_free(&fe);
        goto out;
    }
    rc = 0;
out:
    return rc;
}

/* ---- the algorithm -------------------------------------------------------------------------------- */


static int same_set(const json_t *a, const json_t *b)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
        if (!api_str_in(b, json_string_value(v)))
            return 0;
    json_array_foreach(b, i, v)
        if (!api_str_in(a, json_string_value(v)))
            return 0;
    return 1;
}

/* Decide what deleting rec means. *obj: the object to answer with (marked state, or current when
 * unchanged); *write: DEL_*. Returns 0, or -1 with e (409 preconditions). */
int api_delete_decide(const resource *res, const store_rec *rec, const delopts *o, json_t **obj, int *write, apierr *e)
{
    json_t *cur = jsonio_parse(rec->data, rec->len, 0, NULL);
    json_t *md = json_object_get(cur, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *uid = json_string_value(json_object_get(md, "uid"));
    const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
    char gk[128];
    snprintf(gk, sizeof gk, "%s%s%s", res->kind, *res->group ? "." : "", res->group);
    if (o->pre_uid && strcmp(o->pre_uid, uid ? uid : "")) {
        apierr_set(e, ST_CONFLICT,
                   "Operation cannot be fulfilled on %s \"%s\": the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated",
                   gk, name, o->pre_uid, uid);
        apierr_details(e, name, res->group, res->kind, NULL);
        json_decref(cur);
        return -1;
    }
    if (o->pre_rv && strcmp(o->pre_rv, rv ? rv : "")) {
        apierr_set(e, ST_CONFLICT,
                   "Operation cannot be fulfilled on %s \"%s\": the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). The object might have been modified",
                   gk, name, o->pre_rv, rv);
        apierr_details(e, name, res->group, res->kind, NULL);
        json_decref(cur);
        return -1;
    }
    json_t *old_fin = json_object_get(md, "finalizers");
    int orphan, fg;
    if (o->has_orphan)
        orphan = o->orphan;
    else if (o->has_policy)
        orphan = !strcmp(o->policy, "Orphan");
    else
        orphan = api_str_in(old_fin, "orphan");
    if (o->has_orphan)
        fg = 0;
    else if (o->has_policy)
        fg = !strcmp(o->policy, "Foreground");
    else
        fg = api_str_in(old_fin, "foregroundDeletion");
    json_t *nf = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(old_fin, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), "orphan") &&
            strcmp(json_string_value(v), "foregroundDeletion"))
            json_array_append(nf, v);
    if (orphan)
        json_array_append_new(nf, json_string("orphan"));
    if (fg)
        json_array_append_new(nf, json_string("foregroundDeletion"));
    if (json_array_size(nf) == 0) {
        json_decref(nf);
        *obj = cur;
        *write = DEL_REMOVE;
        return 0;
    }
    int changed = !same_set(nf, old_fin ? old_fin : nf);
    if (!old_fin && json_array_size(nf))
        changed = 1;
    if (changed)
        json_object_set(md, "finalizers", nf);
    json_decref(nf);
    if (!json_object_get(md, "deletionTimestamp")) {
        char *now = api_now_rfc3339();
        json_object_set_new(md, "deletionTimestamp", json_string(now));
        free(now);
        if (res->is_cr)
            json_object_set_new(md, "generation",
                                json_integer(json_integer_value(json_object_get(md, "generation")) + 1));
        changed = 1;
    }
    json_t *dgp = json_object_get(md, "deletionGracePeriodSeconds");
    if (!json_is_integer(dgp) || json_integer_value(dgp) != 0) {
        json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(0));
        changed = 1;
    }
    *obj = cur;
    *write = changed ? DEL_UPDATE : DEL_NOTHING;
    return 0;
}

static void send_status_success(apireq *r, json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    json_t *st = status_success_json(json_string_value(json_object_get(md, "name")), r->res->group,
                                     r->res->plural, json_string_value(json_object_get(md, "uid")));
    api_send_json(r, 200, st, 0);
}

/* Built-in kinds whose registry answers a DELETE with the object, not a Status. */
static int returns_object(const resource *res)
{
    return !strcmp(res->plural, "pods") || !strcmp(res->plural, "services");
}

static json_int_t json_int_at(const json_t *o, const char *k, json_int_t dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* Graceful deletion of a pod (pkg/registry/rest/delete.go BeforeDelete + pod CheckGracefulDelete):
 * returns 1 when it decided (obj/write set), 0 when the ordinary algorithm applies (grace 0). */
static int pod_graceful(const store_rec *rec, const delopts *o, json_t **obj, int *write)
{
    json_t *cur = jsonio_parse(rec->data, rec->len, 0, NULL);
    json_t *md = json_object_get(cur, "metadata"), *spec = json_object_get(cur, "spec");
    const char *phase = json_string_value(json_object_get(json_object_get(cur, "status"), "phase"));
    int64_t grace = o->has_grace ? o->grace : json_int_at(spec, "terminationGracePeriodSeconds", 30);
    const char *node = json_string_value(json_object_get(spec, "nodeName"));
    if (!node || !*node || (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
        grace = 0;
    if (grace < 0)
        grace = 1;
    json_t *dts = json_object_get(md, "deletionTimestamp");
    if (dts) {
        /* Pending graceful deletion: a later DELETE may only shorten the period. */
        json_int_t old = json_int_at(md, "deletionGracePeriodSeconds", 0);
        if (old == 0 || grace >= old) {
            *obj = cur;
            *write = DEL_NOTHING;
            return 1;
        }
        if (grace == 0) {
            json_decref(cur);
            return 0;
        }
        time_t deadline = api_parse_rfc3339(json_string_value(dts)) - (time_t)old + (time_t)grace;
        time_t now = time(NULL);
        if (deadline < now)
            deadline = now;
        char *ts = api_rfc3339(deadline);
        json_object_set_new(md, "deletionTimestamp", json_string(ts));
        free(ts);
        json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(grace));
        *obj = cur;
        *write = DEL_UPDATE;
        return 1;
    }
    if (grace == 0) {
        json_decref(cur);
        return 0;
    }
    char *ts = api_rfc3339(time(NULL) + (time_t)grace);
    json_object_set_new(md, "deletionTimestamp", json_string(ts));
    free(ts);
    json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(grace));
    json_object_set_new(md, "generation", json_integer(json_int_at(md, "generation", 0) + 1));
    *obj = cur;
    *write = DEL_UPDATE;
    return 1;
}

void api_delete(apireq *r)
{
    apierr e = {0};
    delopts o;
    if (api_delopts_parse(r, &o, &e) < 0) {
        api_delopts_free(&o);
        api_send_error(r, &e);
        return;
    }
    char key[1024];
    api_key(key, sizeof key, r->res, r->ns, r->name);
    const store_rec *rec = store_latest(r->api->store, key);
    if (!rec) {
        api_delopts_free(&o);
        apierr_not_found(&e, resource_gr(r->res), r->res->group, r->res->plural, r->name);
        api_send_error(r, &e);
        return;
    }
    if (!strcmp(r->res->plural, "namespaces")) {
        gc_delete_namespace(r, rec, &o);
        api_delopts_free(&o);
        return;
    }
    json_t *obj = NULL;
    int write;
    int graceful = 0;
    if (!strcmp(r->res->plural, "pods")) {
        /* preconditions first, as for every delete */
        json_t *probe = NULL;
        int w;
        if (api_delete_decide(r->res, rec, &(delopts){.pre_uid = o.pre_uid, .pre_rv = o.pre_rv,
                              .has_orphan = 1}, &probe, &w, &e) < 0) {
            api_delopts_free(&o);
            api_send_error(r, &e);
            return;
        }
        json_decref(probe);
        graceful = pod_graceful(rec, &o, &obj, &write);
    }
    if (!graceful && api_delete_decide(r->res, rec, &o, &obj, &write, &e) < 0) {
        api_delopts_free(&o);
        api_send_error(r, &e);
        return;
    }
    int code = (o.has_orphan && !o.orphan) ? 202 : 200;
    int dry = o.dry_run;
    if (!dry && o.has_grace && r->res->is_cr && r->api->gc) {
        const char *uid = json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
        if (uid)
            gc_note_grace(r->api->gc, uid, o.grace < 0 ? 1 : o.grace);
    }
    api_delopts_free(&o);
    if (write == DEL_REMOVE && returns_object(r->res)) {
        if (dry) {
            api_send_json(r, 200, obj, 0);
            return;
        }
        api_write_respond(r, key, NULL, 200, obj, 0);
        return;
    }
    if (write == DEL_REMOVE) {
        if (dry) {
            send_status_success(r, obj);
            json_decref(obj);
            return;
        }
        json_t *md = json_object_get(obj, "metadata");
        json_t *st = status_success_json(json_string_value(json_object_get(md, "name")), r->res->group,
                                         r->res->plural, json_string_value(json_object_get(md, "uid")));
        json_decref(obj);
        api_write_respond(r, key, NULL, 200, st, 0);
        return;
    }
    if (write == DEL_NOTHING || dry) {
        api_send_json(r, code, obj, r->res->is_cr);
        return;
    }
    api_write_respond(r, key, obj, code, NULL, 0);
}

/* ---- deletecollection ----------------------------------------------------------------------------- */

typedef struct collect {
    const store_rec **recs;
    size_t n, cap;
} collect;

static int collect_one(void *arg, const store_rec *rec)
{
    collect *c = arg;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->recs = realloc(c->recs, c->cap * sizeof *c->recs);
    }
    store_rec_ref(rec);
    c->recs[c->n++] = rec;
    return 0;
}

/* The answer: a list of the items as they were listed, in key order, its keys sorted as every
 * stored object's are. Spliced from the stored bytes: a tree of 100,000 jobs would take GBs. */
static char *deleted_list(const resource *res, const store_rec *const *items, size_t n, uint64_t rv,
                          const char *tok, size_t *len)
{
    char head[256], tail[1024];
    int hl = snprintf(head, sizeof head, "{\"apiVersion\":\"%s%s%s\",\"items\":[", res->is_cr ? res->group : "",
                      res->is_cr ? "/" : "", res->version);
    int tl = snprintf(tail, sizeof tail, "],\"kind\":\"%s\",\"metadata\":{%s%s%s\"resourceVersion\":\"%llu\"}}",
                      res->list_kind, tok ? "\"continue\":\"" : "", tok ? tok : "", tok ? "\"," : "",
                      (unsigned long long)rv);
    size_t total = (size_t)hl + (size_t)tl + 1;
    for (size_t i = 0; i < n; i++)
        total += items[i]->len + 1;
    char *b = malloc(total);
    if (!b)
        abort(); /* out of memory */
    size_t at = 0;
    memcpy(b, head, (size_t)hl);
    at += (size_t)hl;
    for (size_t i = 0; i < n; i++) {
        if (i)
            b[at++] = ',';
        memcpy(b + at, items[i]->data, items[i]->len);
        at += items[i]->len;
    }
    memcpy(b + at, tail, (size_t)tl);
    at += (size_t)tl;
    b[at] = 0;
    *len = at;
    return b;
}

void api_deletecollection(apireq *r)
{
    apierr e = {0};
    listopts lo;
    if (api_listopts_parse(r, &lo, &e) < 0) {
        api_listopts_free(&lo);
        api_send_error(r, &e);
        return;
    }
    delopts o;
    if (api_delopts_parse(r, &o, &e) < 0) {
        api_listopts_free(&lo);
        api_delopts_free(&o);
        api_send_error(r, &e);
        return;
    }
    store_t *st = r->api->store;
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s/%s/", r->res->plural, r->res->namespaced ? r->ns : "");
    collect c = {0};
    char *start = NULL;
    uint64_t tok_rv = 0;
    if (lo.cont && api_parse_continue(lo.cont, &tok_rv, &start, &e) < 0) {
        api_listopts_free(&lo);
        api_delopts_free(&o);
        api_send_error(r, &e);
        return;
    }
    if (lo.cont && tok_rv < store_compact_rev(st)) { /* listed like a LIST: 410 as it would */
        api_continue_expired(r, start, &e);
        free(start);
        api_listopts_free(&lo);
        api_delopts_free(&o);
        api_send_error(r, &e);
        return;
    }
    char start_key[1200];
    int has_start = start != NULL;
    if (has_start)
        snprintf(start_key, sizeof start_key, "%s%s", prefix, start);
    free(start);
    store_list(st, prefix, has_start ? start_key : NULL, 0, collect_one, &c);
    uint64_t list_rv = store_rev(st);
    const char *last_key = NULL;
    int more = 0;
    size_t taken = 0;
    /* Matching items, the page the client asked for when it set limit. */
    const store_rec **todo = calloc(c.n ? c.n : 1, sizeof *todo);
    size_t ntodo = 0;
    for (size_t i = 0; i < c.n; i++) {
        if (!api_rec_matches(c.recs[i], lo.ls, lo.fs))
            continue;
        if (lo.limit > 0 && (long long)taken == lo.limit) {
            more = 1;
            break;
        }
        todo[ntodo++] = c.recs[i];
        taken++;
        last_key = c.recs[i]->key;
    }
    char *next_tok = more && last_key ? api_make_continue(store_rev(st), last_key + strlen(prefix)) : NULL;
    char key[1024];
    int failed = 0;
    const char *last_write_key = NULL;
    json_t *last_write_obj = NULL;
    int last_write_kind = DEL_NOTHING;
    for (size_t i = 0; i < ntodo && !failed; i++) {
        const store_rec *rec = todo[i];
        const store_rec *latest = store_latest(st, rec->key);
        if (!latest)
            continue; /* deleted concurrently: ignored */
        json_t *obj = NULL;
        int write;
        if (api_delete_decide(r->res, latest, &o, &obj, &write, &e) < 0) {
            failed = 1;
            break;
        }
        if (o.dry_run || write == DEL_NOTHING) {
            json_decref(obj);
            continue;
        }
        if (o.has_grace && r->res->is_cr && r->api->gc) {
            const char *uid = json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
            if (uid)
                gc_note_grace(r->api->gc, uid, o.grace < 0 ? 1 : o.grace);
        }
        /* Every write but the last one goes without a callback: commits complete in revision
         * order, so the last one's callback means all are durable. */
        if (last_write_key) {
            store_write(st, last_write_key, last_write_kind == DEL_REMOVE ? NULL : last_write_obj, NULL, NULL, NULL);
            if (last_write_kind == DEL_REMOVE)
                json_decref(last_write_obj);
        }
        last_write_key = rec->key;
        last_write_obj = obj;
        last_write_kind = write;
    }
    (void)key;
    api_delopts_free(&o);
    api_listopts_free(&lo);
    if (failed) {
        free(next_tok);
        if (last_write_key) {
            store_write(st, last_write_key, last_write_kind == DEL_REMOVE ? NULL : last_write_obj, NULL, NULL, NULL);
            if (last_write_kind == DEL_REMOVE)
                json_decref(last_write_obj);
        }
        api_send_error(r, &e);
    } else {
        size_t len;
        char *list = deleted_list(r->res, todo, ntodo, list_rv, next_tok, &len);
        free(next_tok);
        if (last_write_key) {
            api_write_respond_bytes(r, last_write_key, last_write_kind == DEL_REMOVE ? NULL : last_write_obj,
                                    200, list, len);
            if (last_write_kind == DEL_REMOVE)
                json_decref(last_write_obj);
        } else {
            api_send_bytes(r, 200, list, len);
            free(list);
        }
    }
    for (size_t i = 0; i < c.n; i++)
        store_rec_unref(c.recs[i]);
    free(c.recs);
    free(todo);
}
