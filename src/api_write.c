/* api_write — create (POST), update (PUT), patch (merge, json, apply), the status subresource
 * and the writes of the scale subresource (api_scale.c makes the object a Scale asks for), with
 * kube-apiserver's rules for server-owned metadata, generation, resourceVersion preconditions,
 * finalizers on terminating objects and no-op writes; fieldValidation's answers to unknown and
 * repeated fields (warnings, or the strict decoding error before any other rule); a service's
 * addresses (svcalloc.c) and a pod's update rules. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <http_parser.h>
#include "api.h"
#include "jsonio.h"
#include "patch.h"
#include "sbuf.h"
#include "svcalloc.h"
#include "validate.h"
#include "hpa.h"

/* ---- answering after the commit --------------------------------------------------------------- */

typedef struct wwait {
    http_req *http;
    char *headers;
    int pretty, code, sorted;
    json_t *reply;
    char *body;          /* or the answer as bytes (a deletecollection's list) */
    size_t body_len;
    const resource *scale_of; /* or the Scale of the stored object (a /scale write) */
} wwait;

static int is_scale(const apireq *r)
{
    return r->sub && !strcmp(r->sub, "scale");
}

/* Answer obj (stolen) as its Scale: ScaleREST's 400 when it cannot be read as one. */
static void send_scale(apireq *r, const resource *res, int code, json_t *obj)
{
    char *err = NULL;
    json_t *s = api_scale_of(res, obj, NULL, &err);
    json_decref(obj);
    if (s) {
        api_send_json(r, code, s, 0);
        return;
    }
    apierr e = {0};
    apierr_set(&e, ST_BAD_REQUEST, "%s", err);
    free(err);
    api_send_error(r, &e);
}

static void on_written(void *arg, int err, const store_rec *rec)
{
    wwait *w = arg;
    apireq r = {.http = w->http, .pretty = w->pretty, .headers = w->headers};
    if (err < 0) {
        apierr e = {0};
        apierr_internal(&e, "the write could not be committed to the store");
        api_send_error(&r, &e);
        json_decref(w->reply);
    } else if (w->reply) {
        api_send_json(&r, w->code, w->reply, w->sorted);
    } else if (w->scale_of) {
        send_scale(&r, w->scale_of, w->code, api_rec_json(rec));
    } else if (w->body) {
        api_send_bytes(&r, w->code, w->body, w->body_len);
    } else {
        api_send_bytes(&r, w->code, rec->data, rec->len);
    }
    free(w->body);
    free(w->headers);
    free(w);
}

static wwait *wwait_new(apireq *r, int code, json_t *reply, int reply_sorted)
{
    wwait *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->http = r->http;
    w->pretty = r->pretty;
    w->code = code;
    w->reply = reply;
    w->sorted = reply_sorted;
    w->headers = r->headers ? strdup(r->headers) : NULL;
    return w;
}

/* The store refused the write at once (shutting down, or a delete of what is gone). */
static void write_refused(apireq *r, wwait *w)
{
    apierr e = {0};
    apierr_not_found(&e, resource_gr(r->res), r->res->group, r->res->plural, r->name ? r->name : "");
    json_decref(w->reply);
    free(w->body);
    free(w->headers);
    free(w);
    api_send_error(r, &e);
}

uint64_t api_write_respond(apireq *r, const char *key, json_t *obj, int code, json_t *reply, int reply_sorted)
{
    wwait *w = wwait_new(r, code, reply, reply_sorted);
    uint64_t rv = store_write(r->api->store, key, obj, on_written, w, NULL);
    if (!rv)
        write_refused(r, w);
    return rv;
}

uint64_t api_write_respond_bytes(apireq *r, const char *key, json_t *obj, int code, char *body, size_t len)
{
    wwait *w = wwait_new(r, code, NULL, 0);
    w->body = body;
    w->body_len = len;
    uint64_t rv = store_write(r->api->store, key, obj, on_written, w, NULL);
    if (!rv)
        write_refused(r, w);
    return rv;
}

static uint64_t write_respond_prepared(apireq *r, const char *key, store_prep *sp, int code)
{
    wwait *w = wwait_new(r, code, NULL, 0);
    uint64_t rv = store_write_prepared(r->api->store, key, sp, on_written, w, NULL);
    if (!rv)
        write_refused(r, w);
    return rv;
}

json_t *api_rec_json(const store_rec *rec)
{
    return jsonio_parse(rec->data, rec->len, 0, NULL);
}

json_t *api_stored_json(api_t *api, const char *key)
{
    const store_rec *rec = store_latest(api->store, key);
    json_t *o = rec && !rec->deleted ? api_rec_json(rec) : NULL;
    if (json_is_object(o))
        return o;
    json_decref(o);
    return NULL;
}

/* Store obj (stolen) and answer with the stored bytes, or with obj unstored for a dry run; a
 * /scale write answers with the Scale of either. */
static void answer_write(apireq *r, const char *key, json_t *obj, int code, int dry)
{
    if (is_scale(r) && dry) {
        send_scale(r, r->res, code, obj);
    } else if (is_scale(r)) {
        wwait *w = wwait_new(r, code, NULL, 0);
        w->scale_of = r->res;
        if (!store_write(r->api->store, key, obj, on_written, w, NULL))
            write_refused(r, w);
    } else if (dry) {
        api_send_json(r, code, obj, r->res->is_cr);
    } else {
        api_write_respond(r, key, obj, code, NULL, 0);
    }
}

/* ---- helpers ------------------------------------------------------------------------------------ */

static json_t *meta_of(json_t *o)
{
    json_t *m = json_object_get(o, "metadata");
    if (!json_is_object(m)) {
        m = json_object();
        json_object_set_new(o, "metadata", m);
    }
    return m;
}

static const char *str_at(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void send_invalid(apireq *r, const char *name, fielderrs *fe)
{
    apierr e = {0};
    apierr_invalid(&e, resource_gk(r->res), name, r->res->group, r->res->kind, fe);
    fe_free(fe);
    api_send_error(r, &e);
}

/* 422 "<optkind> \"\" is invalid: …" for the request's options (details.kind is the options
 * kind without its group suffix); frees fe; -1. */
static int options_invalid(apireq *r, const char *optkind, fielderrs *fe)
{
    apierr e = {0};
    apierr_invalid(&e, optkind, "", "meta.k8s.io", "", fe);
    free(e.dkind);
    e.dkind = strndup(optkind, (size_t)(strchr(optkind, '.') - optkind));
    fe_free(fe);
    api_send_error(r, &e);
    return -1;
}

static int query_dry_run(apireq *r, const char *optkind, int *dry)
{
    char **v;
    size_t n = http_query_all(r->http, "dryRun", &v);
    fielderrs fe = {0};
    int rc = api_dry_run(v, n, dry, &fe);
    http_strv_free(v, n);
    if (rc < 0)
        return options_invalid(r, optkind, &fe);
    return 0;
}

/* fieldManager ≤ 128 printable characters (fm may be NULL: absent). */
static void field_manager_errs(const char *fm, int required, fielderrs *fe)
{
    if (required && (!fm || !*fm))
        fe_add(fe, FE_REQUIRED, "fieldManager", NULL, "is required for apply patch");
    else if (fm && strlen(fm) > 128) {
        char *v = fe_str(fm);
        fe_add(fe, FE_TOO_LONG, "fieldManager", v, "may not be more than 128 bytes");
        free(v);
    } else if (fm) {
        for (const char *p = fm; *p; p++)
            if (!isprint((unsigned char)*p)) {
                char *v = fe_str(fm);
                fe_add(fe, FE_INVALID, "fieldManager", v, "must consist of printable characters");
                free(v);
                break;
            }
    }
}

static int check_field_manager(apireq *r, const char *optkind, int required)
{
    char *fm = http_query_get(r->http, "fieldManager");
    fielderrs fe = {0};
    field_manager_errs(fm, required, &fe);
    free(fm);
    return fe.n ? options_invalid(r, optkind, &fe) : 0;
}

static int field_validation_ok(const char *fv)
{
    return !fv || !*fv || !strcmp(fv, "Ignore") || !strcmp(fv, "Warn") || !strcmp(fv, "Strict");
}

/* kube's ValidateFieldValidation, in the request's options: 422 <optkind> "" is invalid. */
static int check_field_validation(apireq *r, const char *optkind)
{
    char *fv = http_query_get(r->http, "fieldValidation");
    if (field_validation_ok(fv)) {
        free(fv);
        return 0;
    }
    fielderrs fe = {0};
    char *q = fe_str(fv);
    fe_add(&fe, FE_NOT_SUPPORTED, "fieldValidation", q,
           "supported values: \"\", \"Ignore\", \"Strict\", \"Warn\"");
    free(q);
    free(fv);
    return options_invalid(r, optkind, &fe);
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A custom resource's finalizers that this write adds (old: the object before, or NULL), each
 * once and sorted, without a '/' and not one of kube's own: a warning each, as the CRD
 * strategy's WarningsOnCreate/WarningsOnUpdate. */
static void finalizer_warnings(const json_t *obj, const json_t *old, json_t **warn)
{
    const json_t *fins = json_object_get(json_object_get(obj, "metadata"), "finalizers");
    const json_t *had = old ? json_object_get(json_object_get(old, "metadata"), "finalizers") : NULL;
    size_t n = json_array_size(fins), k = 0;
    if (!n || n > 256)
        return;
    const char *v[256];
    for (size_t i = 0; i < n; i++) {
        const char *f = json_string_value(json_array_get(fins, i));
        if (!f || strchr(f, '/') || !strcmp(f, "orphan") || !strcmp(f, "foregroundDeletion") ||
            !strcmp(f, "kubernetes") || api_str_in(had, f))
            continue;
        v[k++] = f;
    }
    qsort(v, k, sizeof *v, cmp_strp);
    for (size_t i = 0; i < k; i++) {
        if (i && !strcmp(v[i], v[i - 1]))
            continue;
        char text[512]; /* a name without '/' is a valid one (≤ 63 bytes) or already refused */
        snprintf(text, sizeof text, "metadata.finalizers: \"%.300s\": prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers", v[i]);
        if (!*warn)
            *warn = json_array();
        json_array_append_new(*warn, json_string(text));
    }
}

/* The request's fieldValidation (validated already by check_field_validation): what becomes of a
 * field the schema does not know. Unset is Warn, as kube's default since 1.27. */
enum { FV_IGNORE, FV_WARN, FV_STRICT };

static int field_validation_mode(const http_req *h)
{
    if (!h)
        return FV_IGNORE;
    char *fv = http_query_get(h, "fieldValidation");
    int mode = fv && !strcmp(fv, "Strict") ? FV_STRICT : fv && !strcmp(fv, "Ignore") ? FV_IGNORE : FV_WARN;
    free(fv);
    return mode;
}

/* runtime.NewStrictDecodingError's text: the repeated keys, then the pruned fields. */
static char *strict_text(const fieldpaths *dups, const fieldpaths *u)
{
    sbuf b = SBUF_INIT(1u << 24);
    sbuf_add(&b, "strict decoding error: ", 23);
    for (size_t i = 0; i < dups->n; i++)
        sbuf_printf(&b, "%sduplicate field \"%s\"", i ? ", " : "", dups->v[i]);
    for (size_t i = 0; i < u->n; i++)
        sbuf_printf(&b, "%sunknown field \"%s\"", i || dups->n ? ", " : "", u->v[i]);
    char *t = strdup(sbuf_str(&b));
    sbuf_free(&b);
    if (!t)
        abort(); /* as validate's oom: an error answer without its text would mislead */
    return t;
}

static void add_warning(json_t **warn, const char *what, const char *path)
{
    char text[1100]; /* kube's warning text is capped at 1 KiB anyway */
    snprintf(text, sizeof text, "%s field \"%.1000s\"", what, path);
    if (!*warn)
        *warn = json_array();
    json_array_append_new(*warn, json_string(text));
}

/* What the request's fieldValidation makes of the keys its body repeated (taken from the request
 * once, so they are reported once; a JSON patch's own keys are not checked, as kube's) and of
 * the fields pruned from its object (u): a warning each under Warn (appended to *warn), nothing
 * under Ignore; under Strict -1 with *strict set to kube's decoding error. */
static int unknown_fields(const http_req *h, const fieldpaths *u, json_t **warn, char **strict)
{
    fieldpaths d = {0};
    if (h)
        api_take_body_dups((http_req *)h, &d); /* h->prep is the request's own scratch */
    const char *ct = d.n ? http_header_get(h, "content-type") : NULL;
    if (ct && api_media_is(ct, "application/json-patch+json"))
        fieldpaths_free(&d);
    int mode = u->n || d.n ? field_validation_mode(h) : FV_IGNORE;
    if (mode == FV_STRICT) {
        *strict = strict_text(&d, u);
        fieldpaths_free(&d);
        return -1;
    }
    for (size_t i = 0; mode == FV_WARN && i < d.n; i++)
        add_warning(warn, "duplicate", d.v[i]);
    for (size_t i = 0; mode == FV_WARN && i < u->n; i++)
        add_warning(warn, "unknown", u->v[i]);
    fieldpaths_free(&d);
    return 0;
}

/* The patched object as kube shows it in a patch's strict decoding error (sorted keys, as Go
 * marshals the map), taken before its unknown fields are pruned; NULL for any other request. */
static char *strict_patched(const http_req *h, const json_t *obj)
{
    if (!h || h->method != HTTP_PATCH || field_validation_mode(h) != FV_STRICT)
        return NULL;
    const char *ct = http_header_get(h, "content-type");
    if (ct && api_media_is(ct, "application/strategic-merge-patch+json")) {
        /* a strategic merge patch shows the patch itself, as fmt's %+v of the decoded map */
        json_t *p = jsonio_parse(h->body, h->body_len, 0, NULL);
        char *v = p ? fe_gov(p) : NULL;
        json_decref(p);
        return v;
    }
    return jsonio_dump(obj, JSON_COMPACT | JSON_SORT_KEYS, NULL);
}

/* kube's answer to a strict decoding error: 400 for a body; for a patch (h a PATCH), 422 on the
 * field "patch" whose value is the patched object. */
static void strict_error(const resource *res, const http_req *h, const char *patched,
                         const char *strict, apierr *e)
{
    if (h && h->method == HTTP_PATCH) {
        fielderrs fe = {0};
        char *v = fe_str(patched ? patched : "");
        fe_add(&fe, FE_INVALID, "patch", v, "%s", strict);
        apierr_invalid(e, "", NULL, NULL, NULL, &fe);
        free(v);
        fe_free(&fe);
        return;
    }
    apierr_set(e, ST_BAD_REQUEST, "%s in version \"%s\" cannot be handled as a %s: %s", res->kind,
               res->version, res->kind, strict);
}

/* The fields obj's kind does not know, pruned from obj and listed in u: a PyTorchJob against its
 * CRD's schema (its schema errors go to fe), a built-in kind as its Go decoding drops them. */
static void prune_kind(const resource *res, json_t *obj, fielderrs *fe, fieldpaths *u)
{
    if (!strcmp(res->plural, "pytorchjobs"))
        validate_pytorchjob_schema_prune(fe, obj, u);
    else if (!res->is_cr)
        validate_core_prune(res->plural, obj, u);
}

/* Validation of a whole object (create or update of the main resource, or a /scale write),
 * touching nothing but its arguments (it also runs off the loop, for a prepared create); obj gets
 * the schema's defaults first, and loses the fields the CRD's schema does not know (as kube's
 * decoding prunes them). h: the request, for its fieldValidation (NULL: Ignore). old: the
 * object before an update, or NULL. 0, or -1 with the errors in fe: the schema's and the scale
 * paths' (*hook = 0) or the PyTorchJob admission webhook's (*hook = 1; its rules name the
 * resource, so webhook = 0 for a subresource); or, under Strict with unknown fields, -1 with
 * *strict set (kube's decoding error, which comes before any validation). *warn: the unknown
 * field, finalizer and webhook warnings (a JSON array of strings, or NULL). */
static int check_object(const resource *res, json_t *obj, const json_t *old, int webhook,
                        const http_req *h, fielderrs *fe, int *hook, json_t **warn, char **strict)
{
    *hook = 0;
    *warn = NULL;
    *strict = NULL;
    int pj = !strcmp(res->plural, "pytorchjobs");
    if (pj) /* decoded with the schema's defaults, as kube */
        validate_pytorchjob_defaults(obj);
    validate_object_meta(fe, json_object_get(obj, "metadata"),
                         !strcmp(res->plural, "services") ? META_NAME_DNS1035
                                                          : strcmp(res->plural, "namespaces") != 0);
    fieldpaths u = {0};
    prune_kind(res, obj, fe, &u);
    int rc = unknown_fields(h, &u, warn, strict);
    fieldpaths_free(&u);
    if (rc < 0) { /* a decoding error: no validation error is reported with it */
        fe_free(fe);
        return -1;
    }
    if (!strcmp(res->plural, "pods"))
        validate_pod_spec(fe, obj);
    else if (!strcmp(res->plural, "services"))
        validate_service_spec(fe, obj);
    else if (!strcmp(res->plural, "configmaps") || !strcmp(res->plural, "secrets")) {
        if (old) /* ValidateSecretUpdate / ValidateConfigMapUpdate: the update's rules first */
            validate_config_update(fe, res->plural, old, obj);
        validate_config_object(fe, res->plural, obj);
    } else if (!strcmp(res->plural, "horizontalpodautoscalers"))
        hpa_validate(fe, obj);
    api_scale_validate(res, obj, 1, 1, fe);
    if (fe->n)
        return -1;
    if (res->is_cr)
        finalizer_warnings(obj, old, warn);
    if (webhook && pj) {
        json_t *hw = NULL;
        validate_pytorchjob_webhook(fe, obj, &hw);
        if (*warn)
            json_array_extend(*warn, hw);
        else
            *warn = json_incref(hw);
        json_decref(hw);
        *hook = fe->n > 0;
    }
    return fe->n ? -1 : 0;
}

static void send_warnings(apireq *r, const json_t *warn)
{
    size_t wi;
    json_t *wv;
    json_array_foreach(warn, wi, wv)
        api_warn(r, json_string_value(wv));
}

/* check_object's errors as the answer they get: 422 Invalid for the schema, 403 Forbidden for
 * the webhook, and for unknown fields under Strict kube's decoding error: 400 for a body, or for
 * a patch 422 on the field "patch" whose value is the patched object (sorted keys, as Go
 * marshals the map). 0, or -1 with e set. *warn as check_object's (the caller releases it). */
static int object_error(const resource *res, json_t *obj, const json_t *old, int webhook,
                        const http_req *h, const char *name, json_t **warn, apierr *e)
{
    fielderrs fe = {0};
    int hook;
    char *strict, *patched = strict_patched(h, obj);
    int rc = check_object(res, obj, old, webhook, h, &fe, &hook, warn, &strict);
    if (strict)
        strict_error(res, h, patched, strict, e);
    free(patched);
    free(strict);
    if (rc == 0)
        return 0;
    if (e->message) /* the strict decoding error */
        return -1;
    if (!hook) {
        apierr_invalid(e, resource_gk(res), name, res->group, res->kind, &fe);
        fe_free(&fe);
        return -1;
    }
    char *agg = fe_aggregate(&fe);
    apierr_set(e, ST_FORBIDDEN,
               "admission webhook \"validator.pytorchjob.training-operator.kubeflow.org\" denied the request: %s", agg);
    free(agg);
    fe_free(&fe);
    return -1;
}

/* check_object, answering its errors. 0, or -1 after answering. */
static int validate_object(apireq *r, json_t *obj, const json_t *old, const char *name)
{
    json_t *warn;
    apierr e = {0};
    int rc = object_error(r->res, obj, old, !r->sub, r->http, name, &warn, &e);
    send_warnings(r, warn);
    json_decref(warn);
    if (rc == 0)
        return 0;
    api_send_error(r, &e);
    return -1;
}

static void create_defaults(const resource *res, json_t *obj);

int api_validate_create(const resource *res, json_t *obj, apierr *e)
{
    create_defaults(res, obj);
    json_t *warn;
    const char *name = str_at(json_object_get(obj, "metadata"), "name");
    int rc = object_error(res, obj, NULL, 1, NULL, name ? name : "", &warn, e);
    json_decref(warn);
    return rc;
}

/* The apiVersion a body of res must carry ("group/version", or "version" in the core group). */
static void want_api_version(const resource *res, char out[96])
{
    if (res->group[0])
        snprintf(out, 96, "%s/%s", res->group, res->version);
    else
        snprintf(out, 96, "%s", res->version);
}

/* Type check of apiVersion/kind in a body. */
static int check_type(apireq *r, json_t *obj)
{
    apierr e = {0};
    char want_av[96];
    want_api_version(r->res, want_av);
    if (!json_is_object(obj)) {
        apierr_set(&e, ST_BAD_REQUEST, "the object provided is unrecognized (must be of type %s): couldn't get version/kind; json parse error: json: cannot unmarshal %s into Go value of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }",
                   r->res->kind, json_is_array(obj) ? "array" : "non-object");
        api_send_error(r, &e);
        return -1;
    }
    const char *kind = str_at(obj, "kind"), *av = str_at(obj, "apiVersion");
    if (!r->res->is_cr) {
        /* Built-in kinds default their type from the URL (typed decoding with a default GVK). */
        if (!kind || !*kind)
            json_object_set_new(obj, "kind", json_string(r->res->kind));
        if (!av || !*av)
            json_object_set_new(obj, "apiVersion", json_string(want_av));
        kind = str_at(obj, "kind");
        av = str_at(obj, "apiVersion");
    }
    if (!kind || !*kind) {
        char *body = strndup(r->http->body, 200);
        apierr_set(&e, ST_BAD_REQUEST, "Object 'Kind' is missing in '%s'", body);
        free(body);
        api_send_error(r, &e);
        return -1;
    }
    if (!av || strcmp(av, want_av)) {
        apierr_set(&e, ST_BAD_REQUEST, "the API version in the data (%s) does not match the expected API version (%s)",
                   av ? av : "", want_av);
        api_send_error(r, &e);
        return -1;
    }
    if (strcmp(kind, r->res->kind)) {
        fielderrs fe = {0};
        char *v = fe_str(kind);
        fe_add(&fe, FE_INVALID, "kind", v, "must be %s", r->res->kind);
        free(v);
        send_invalid(r, str_at(json_object_get(obj, "metadata"), "name"), &fe);
        return -1;
    }
    return 0;
}

/* ---- create -------------------------------------------------------------------------------------- */

static const char gen_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

static void gen_suffix(char out[6])
{
    unsigned char b[5];
    extern int RAND_bytes(unsigned char *, int);
    RAND_bytes(b, 5);
    for (int i = 0; i < 5; i++)
        out[i] = gen_alphabet[b[i] % (sizeof gen_alphabet - 1)];
    out[5] = 0;
}

/* The DefaultTolerationSeconds admission plugin (on by default): a pod that does not tolerate
 * the not-ready and unreachable NoExecute taints gets a 300 s toleration of each. */
static void default_tolerations(json_t *spec)
{
    static const char *const taints[] = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"};
    json_t *tols = json_object_get(spec, "tolerations");
    int have[2] = {0, 0};
    size_t i;
    json_t *t;
    json_array_foreach(tols, i, t) {
        const char *key = json_string_value(json_object_get(t, "key"));
        const char *effect = json_string_value(json_object_get(t, "effect"));
        int any_effect = !effect || !*effect || !strcmp(effect, "NoExecute");
        for (size_t k = 0; k < 2; k++)
            have[k] |= any_effect && (!key || !*key || !strcmp(key, taints[k]));
    }
    for (size_t k = 0; k < 2; k++) {
        if (have[k])
            continue;
        if (!json_is_array(tols))
            json_object_set_new(spec, "tolerations", tols = json_array());
        json_array_append_new(tols, json_pack("{s:s,s:s,s:s,s:I}", "key", taints[k], "operator",
                                              "Exists", "effect", "NoExecute", "tolerationSeconds",
                                              (json_int_t)300));
    }
}

/* What a new object gets from kube's defaulting, its strategy's PrepareForCreate and, for a pod,
 * the scheduler (one node, "localhost"): the same for a POST and for the controller's children
 * (api_validate_create), as the operator's pods and services are POSTed on a cluster. */
static void create_defaults(const resource *res, json_t *obj)
{
    if (!strcmp(res->plural, "pods") || !strcmp(res->plural, "services") || !strcmp(res->plural, "secrets"))
        validate_core_defaults(res->plural, obj);
    if (!strcmp(res->plural, "horizontalpodautoscalers"))
        hpa_defaults(obj);
    if (!strcmp(res->plural, "pods")) {
        /* What a cluster's defaulting and scheduler would fill in: one node, "localhost". */
        json_t *spec = json_object_get(obj, "spec");
        if (json_is_object(spec)) {
            if (!json_is_string(json_object_get(spec, "nodeName")))
                json_object_set_new(spec, "nodeName", json_string("localhost"));
            default_tolerations(spec);
        }
        json_object_set_new(obj, "status", json_pack("{s:s,s:s}", "phase", "Pending", "qosClass", validate_pod_qos(obj)));
    } else if (!strcmp(res->plural, "services")) {
        json_t *spec = json_object_get(obj, "spec");
        if (json_is_object(spec) && !json_is_string(json_object_get(spec, "type")))
            json_object_set_new(spec, "type", json_string("ClusterIP"));
        svcalloc_headless(spec); /* the rest needs the store: svcalloc_create, on the loop */
        json_object_set_new(obj, "status", json_pack("{s:{}}", "loadBalancer"));
    } else if (!strcmp(res->plural, "events")) {
        /* events have no status subresource: kept as sent */
    } else if (!strcmp(res->plural, "namespaces")) {
        json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
        /* namespaceStrategy.PrepareForCreate: the kubernetes finalizer, always (appended) */
        json_t *spec = json_object_get(obj, "spec");
        if (!json_is_object(spec))
            json_object_set_new(obj, "spec", spec = json_object());
        json_t *fins = json_object_get(spec, "finalizers");
        if (!json_is_array(fins))
            json_object_set_new(spec, "finalizers", fins = json_array());
        if (!api_str_in(fins, "kubernetes"))
            json_array_append_new(fins, json_string("kubernetes"));
    } else {
        json_object_del(obj, "status");
    }
}

/* The create's rules for the body alone, before anything is looked up: the namespace comes
 * from the URL, server-owned metadata is wiped, defaulting fills in what a cluster would. Touches
 * nothing but its arguments (it also runs off the loop). 0, or -1 with e set. */
static int create_shape(const resource *res, const char *ns, json_t *obj, apierr *e)
{
    json_t *md = meta_of(obj);
    const char *bns = str_at(md, "namespace");
    if (res->namespaced) {
        if (bns && *bns && strcmp(bns, ns)) {
            apierr_set(e, ST_BAD_REQUEST, "the namespace of the provided object does not match the namespace sent on the request");
            return -1;
        }
        json_object_set_new(md, "namespace", json_string(ns));
    } else {
        json_object_del(md, "namespace");
    }
    const char *rv = str_at(md, "resourceVersion");
    if (rv && *rv) {
        int numeric = 1;
        for (const char *p = rv; *p; p++)
            numeric &= isdigit((unsigned char)*p) != 0;
        if (numeric) {
            apierr_set(e, ST_UNKNOWN, "resourceVersion should not be set on objects to be created");
            return -1;
        }
    }
    static const char *const wiped[] = {"uid", "creationTimestamp", "deletionTimestamp",
                                        "deletionGracePeriodSeconds", "selfLink", "resourceVersion",
                                        "generation"};
    for (size_t i = 0; i < sizeof wiped / sizeof *wiped; i++)
        json_object_del(md, wiped[i]);
    create_defaults(res, obj);
    return 0;
}

/* ObjectMeta as it comes out of its Go struct: the omitempty maps, slices and strings that are
 * empty or null are gone (kube decodes every kind's metadata into ObjectMeta, a custom
 * resource's too), so `finalizers: []` or `labels: {}` is not stored, and a patch that leaves
 * only them changes nothing. */
static void meta_drop_empty(json_t *md)
{
    static const char *const keys[] = {"labels", "annotations", "finalizers", "ownerReferences",
                                       "managedFields", "generateName", "selfLink"};
    for (size_t i = 0; json_is_object(md) && i < sizeof keys / sizeof *keys; i++) {
        json_t *v = json_object_get(md, keys[i]);
        if (v && (json_is_null(v) || (json_is_object(v) && !json_object_size(v)) ||
                  (json_is_array(v) && !json_array_size(v)) ||
                  (json_is_string(v) && !json_string_length(v))))
            json_object_del(md, keys[i]);
    }
}

/* What the server sets on every new object's metadata. */
static void create_stamp(const resource *res, json_t *md)
{
    meta_drop_empty(md);
    char uid[37];
    api_new_uid(uid);
    json_object_set_new(md, "uid", json_string(uid));
    char *now = api_now_rfc3339();
    json_object_set_new(md, "creationTimestamp", json_string(now));
    free(now);
    if (res->is_cr)
        json_object_set_new(md, "generation", json_integer(1));
}

/* The 409 for a name that is taken by cur. */
static void name_taken(apireq *r, const store_rec *cur, const char *name, int generated, apierr *e)
{
    if (generated) {
        apierr_set(e, ST_ALREADY_EXISTS,
                   "%s \"%s\" already exists, the server was not able to generate a unique name for the object",
                   resource_gr(r->res), name);
        apierr_details(e, name, r->res->group, r->res->plural, NULL);
        e->retry_after = 1;
        return;
    }
    json_t *o = api_rec_json(cur);
    int terminating = json_object_get(json_object_get(o, "metadata"), "deletionTimestamp") != NULL;
    json_decref(o);
    apierr_already_exists(e, resource_gr(r->res), r->res->group, r->res->plural, name, terminating);
}

/* A namespace always carries kubernetes.io/metadata.name = its name (kube's namespace
 * strategy, on create and on every update: it cannot be removed or changed). */
static void ns_name_label(const resource *res, json_t *obj, const char *name)
{
    json_t *md = json_object_get(obj, "metadata");
    if (strcmp(res->plural, "namespaces") || !json_is_object(md) || !name || !*name)
        return;
    json_t *labels = json_object_get(md, "labels");
    if (!json_is_object(labels))
        json_object_set_new(md, "labels", labels = json_object());
    json_object_set_new(labels, "kubernetes.io/metadata.name", json_string(name));
}

/* A request's body loses its unknown fields, as kube's decoding drops them, so that what
 * follows (an update's generation and no-op check) sees the object as it will be stored. The
 * warnings are sent; under Strict, -1 with e set. A status write's body is pruned whole (spec
 * and status). */
static int prune_body(apireq *r, json_t *obj, int is_status, apierr *e)
{
    fielderrs fe = {0}; /* the schema's errors come again from check_object */
    fieldpaths u = {0};
    json_t *warn = NULL;
    char *patched = strict_patched(r->http, obj), *strict = NULL;
    prune_kind(r->res, obj, &fe, &u);
    if (is_status && r->res->is_cr)
        validate_pytorchjob_status_prune(&fe, obj, &u);
    fe_free(&fe);
    int rc = unknown_fields(r->http, &u, &warn, &strict);
    fieldpaths_free(&u);
    send_warnings(r, warn);
    json_decref(warn);
    if (rc < 0)
        strict_error(r->res, r->http, patched, strict, e);
    free(patched);
    free(strict);
    return rc;
}

/* Under Strict, kube's decoding error comes before every other rule of a create or a PUT (the
 * namespace, the name, a 404): the body's unknown and repeated fields are looked for first. */
static int strict_first(apireq *r, json_t *obj, apierr *e)
{
    return field_validation_mode(r->http) == FV_STRICT ? prune_body(r, obj, 0, e) : 0;
}

void api_do_create(apireq *r, json_t *obj, int dry)
{
    apierr e = {0};
    json_t *md = meta_of(obj);
    if (strict_first(r, obj, &e) < 0 || create_shape(r->res, r->ns, obj, &e) < 0)
        goto fail;
    const char *name = str_at(md, "name");
    if (api_check_namespace(r, "create", name, &e) < 0)
        goto fail;
    const char *gen = str_at(md, "generateName");
    int generated = 0;
    char namebuf[300];
    if ((!name || !*name) && gen && *gen) {
        char suffix[6];
        gen_suffix(suffix);
        snprintf(namebuf, sizeof namebuf, "%.58s%s", gen, suffix);
        json_object_set_new(md, "name", json_string(namebuf));
        generated = 1;
    }
    name = str_at(md, "name");
    if (validate_object(r, obj, NULL, name ? name : "") < 0) {
        json_decref(obj);
        return;
    }
    char key[1024];
    const store_rec *cur = NULL;
    for (int attempt = 0; attempt < 8; attempt++) {
        api_key(key, sizeof key, r->res, r->ns, str_at(md, "name"));
        cur = store_latest(r->api->store, key);
        if (!cur || !generated)
            break;
        char suffix[6];
        gen_suffix(suffix);
        snprintf(namebuf, sizeof namebuf, "%.58s%s", gen, suffix);
        json_object_set_new(md, "name", json_string(namebuf));
    }
    name = str_at(md, "name");
    if (cur) {
        name_taken(r, cur, name, generated, &e);
        goto fail;
    }
    if (!strcmp(r->res->plural, "services")) {
        fielderrs fe = {0};
        if (svcalloc_create(r->api->svcalloc, key, obj, &fe) < 0) {
            send_invalid(r, name, &fe);
            json_decref(obj);
            return;
        }
    }
    ns_name_label(r->res, obj, name);
    create_stamp(r->res, md);
    answer_write(r, key, obj, 201, dry);
    return;
fail:
    json_decref(obj);
    api_send_error(r, &e);
}

/* ---- create, prepared off the loop ---------------------------------------------------------------
 *
 * Most of a create's cost is the body's tree: decoding, validating, serialising and freeing it.
 * api_prepare runs on pfor's threads, and for a POST into a collection it runs here every rule
 * of the create that reads nothing but the request (options, type, create_shape, check_object,
 * create_stamp) and store_prepare. The loop is left with what needs the store: the namespace,
 * the name, queueing the bytes. A request that any of those rules would answer with an error
 * (or a dry run, or a generated name) is not prepared: the ordinary path decodes it again and
 * answers it as always, so the answers and their order are the same either way. */

struct api_precreate {
    const resource *res;
    char *ns, *name, *key;
    json_t *warn;             /* the webhook's warnings, or NULL */
    store_prep sp;
};

void api_precreate_free(api_precreate *pc)
{
    if (!pc)
        return;
    free(pc->ns);
    free(pc->name);
    free(pc->key);
    json_decref(pc->warn);
    store_prep_free(&pc->sp);
    free(pc);
}

/* The body's apiVersion and kind are the resource's own (what check_type accepts untouched). */
static int type_is(const resource *res, const json_t *obj)
{
    const char *kind = str_at(obj, "kind"), *av = str_at(obj, "apiVersion");
    char want_av[96];
    want_api_version(res, want_av);
    return kind && av && !strcmp(kind, res->kind) && !strcmp(av, want_av);
}

api_precreate *api_precreate_new(api_t *api, const http_req *h, const resource *res,
                                 const char *ns, json_t *obj)
{
    api_precreate *pc = NULL;
    fielderrs fe = {0};
    json_t *warn = NULL;
    char **v;
    size_t n = http_query_all(h, "dryRun", &v);
    http_strv_free(v, n);
    char *fm = http_query_get(h, "fieldManager"), *fv = http_query_get(h, "fieldValidation");
    field_manager_errs(fm, 0, &fe);
    char tmsg[512];
    /* a service's cluster IP and node ports are allocated against the store, on the loop */
    int ok = n == 0 && fe.n == 0 && field_validation_ok(fv) && json_is_object(obj) && type_is(res, obj) &&
             strcmp(res->plural, "services") &&
             api_core_type_error(res, obj, tmsg, sizeof tmsg) == 0;
    free(fm);
    free(fv);
    apierr e = {0};
    if (!ok || create_shape(res, ns, obj, &e) < 0)
        goto no;
    json_t *md = meta_of(obj);
    const char *name = str_at(md, "name");
    int hook;
    char *strict = NULL;
    if (!name || !*name || check_object(res, obj, NULL, 1, h, &fe, &hook, &warn, &strict) < 0) {
        free(strict); /* answered on the loop, by the ordinary path */
        goto no;
    }
    create_stamp(res, md);
    char key[1024];
    api_key(key, sizeof key, res, ns, name);
    if (!(pc = calloc(1, sizeof *pc)))
        goto no;
    pc->res = res;
    pc->ns = strdup(ns);
    pc->name = strdup(name);
    pc->key = strdup(key);
    pc->warn = warn;
    if (!pc->ns || !pc->name || !pc->key || store_prepare(api->store, key, obj, &pc->sp) < 0) {
        api_precreate_free(pc); /* store_prepare took obj either way */
        return NULL;
    }
    return pc;
no:
    apierr_free(&e);
    fe_free(&fe);
    json_decref(warn);
    json_decref(obj);
    return NULL;
}

/* The loop's part of a prepared create: api_do_create's steps that need the store. */
static void create_prepared(apireq *r, api_precreate *pc)
{
    apierr e = {0};
    if (api_check_namespace(r, "create", pc->name, &e) < 0)
        goto fail;
    send_warnings(r, pc->warn);
    const store_rec *cur = store_latest(r->api->store, pc->key);
    if (cur) {
        name_taken(r, cur, pc->name, 0, &e);
        goto fail;
    }
    write_respond_prepared(r, pc->key, &pc->sp, 201);
    api_precreate_free(pc);
    return;
fail:
    api_precreate_free(pc);
    api_send_error(r, &e);
}

int api_typed_request(apireq *r, const char *optkind, int *dry, json_t **obj)
{
    if (query_dry_run(r, optkind, dry) < 0 || check_field_manager(r, optkind, 0) < 0 ||
        check_field_validation(r, optkind) < 0)
        return -1;
    apierr e = {0};
    if (api_decode_body(r, obj, &e, 0) < 0) {
        api_send_error(r, &e);
        return -1;
    }
    if (!is_scale(r) && check_type(r, *obj) < 0) { /* a Scale's type is checked as it decodes */
        json_decref(*obj);
        return -1;
    }
    return 0;
}

void api_create(apireq *r)
{
    api_precreate *pc = api_take_precreate(r->http);
    if (pc && pc->res == r->res && !strcmp(pc->ns, r->ns)) {
        create_prepared(r, pc);
        return;
    }
    api_precreate_free(pc);
    int dry = 0;
    json_t *obj;
    if (api_typed_request(r, "CreateOptions.meta.k8s.io", &dry, &obj) == 0)
        api_do_create(r, obj, dry);
}

/* ---- update ---------------------------------------------------------------------------------------- */

/* Everything but metadata and status: a change here bumps generation. */
static int spec_changed(const json_t *a, const json_t *b)
{
    json_t *ca = json_deep_copy(a), *cb = json_deep_copy(b);
    static const char *const skip[] = {"metadata", "status", "apiVersion", "kind"};
    for (size_t i = 0; i < 4; i++) {
        json_object_del(ca, skip[i]);
        json_object_del(cb, skip[i]);
    }
    int changed = !json_equal(ca, cb);
    json_decref(ca);
    json_decref(cb);
    return changed;
}


static void copy_key(json_t *dst, const json_t *src, const char *k)
{
    json_t *v = json_object_get(src, k);
    if (v)
        json_object_set(dst, k, v);
    else
        json_object_del(dst, k);
}

void api_do_update(apireq *r, const store_rec *old, json_t *nobj, int dry, int rv_required)
{
    apierr e = {0};
    json_t *oobj = NULL;
    int prunable = !strcmp(r->res->plural, "pytorchjobs") ||
                   (!r->res->is_cr && !(r->sub && !strcmp(r->sub, "scale")));
    if (prunable && prune_body(r, nobj, r->sub && !strcmp(r->sub, "status"), &e) < 0)
        goto fail;
    if (!strcmp(r->res->plural, "pytorchjobs")) /* before generation compares the specs */
        validate_pytorchjob_defaults(nobj);
    ns_name_label(r->res, nobj, r->name);
    if (!strcmp(r->res->plural, "pods") || !strcmp(r->res->plural, "services") || !strcmp(r->res->plural, "secrets"))
        validate_core_defaults(r->res->plural, nobj); /* a request body is decoded with them */
    if (!strcmp(r->res->plural, "horizontalpodautoscalers"))
        hpa_defaults(nobj);
    const char *gr = resource_gr(r->res);
    oobj = api_rec_json(old);
    char key[1024];
    api_key(key, sizeof key, r->res, r->ns, r->name);
    json_t *om = meta_of(oobj), *nm = meta_of(nobj);
    int is_status = r->sub && !strcmp(r->sub, "status");
    /* as kube's checkName: a body without a name does not match either (no silent fill-in) */
    const char *nname = str_at(nm, "name");
    if (!nname || strcmp(nname, r->name)) {
        apierr_set(&e, ST_BAD_REQUEST, "the name of the object (%s) does not match the name on the URL (%s)", nname ? nname : "", r->name);
        goto fail;
    }
    const char *nns = str_at(nm, "namespace");
    if (r->res->namespaced && nns && *nns && strcmp(nns, r->ns)) {
        apierr_set(&e, ST_BAD_REQUEST, "the namespace of the object (%s) does not match the namespace on the request (%s)", nns, r->ns);
        goto fail;
    }
    const char *nrv = str_at(nm, "resourceVersion");
    if ((!nrv || !*nrv) && rv_required) {
        fielderrs fe = {0};
        fe_add(&fe, FE_INVALID, "metadata.resourceVersion", "0", "must be specified for an update");
        apierr_invalid(&e, gr, r->name, r->res->group, r->res->plural, &fe);
        fe_free(&fe);
        goto fail;
    }
    if (nrv && *nrv && strcmp(nrv, str_at(om, "resourceVersion"))) {
        apierr_conflict_modified(&e, gr, r->res->group, r->res->plural, r->name);
        goto fail;
    }
    const char *nuid = str_at(nm, "uid"), *ouid = str_at(om, "uid");
    if (nuid && *nuid && strcmp(nuid, ouid)) {
        apierr_set(&e, ST_CONFLICT,
                   "Operation cannot be fulfilled on %s \"%s\": StorageError: invalid object, Code: 4, Key: /registry/%s%s%s/%s/%s, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: %s, UID in object meta: %s",
                   gr, r->name, r->res->group, *r->res->group ? "/" : "", r->res->plural, r->ns, r->name, nuid, ouid);
        apierr_details(&e, r->name, r->res->group, r->res->plural, NULL);
        goto fail;
    }
    json_t *res;
    if (is_status) {
        res = json_deep_copy(oobj);
        copy_key(res, nobj, "status");
        json_decref(nobj);
    } else {
        /* ValidateObjectMetaUpdate: an update cannot start a deletion or change its grace (on an
         * object being deleted, a missing value is put back below, as kube's BeforeUpdate) */
        fielderrs fe = {0};
        const json_t *ndt = json_object_get(nm, "deletionTimestamp");
        if (!json_object_get(om, "deletionTimestamp") && ndt && !json_is_null(ndt)) {
            time_t t = api_parse_rfc3339(json_string_value(ndt));
            struct tm tm;
            char when[64] = "";
            if (t && gmtime_r(&t, &tm)) /* Go's time.String of the value, in the server's UTC */
                strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
            fe_add(&fe, FE_INVALID, "metadata.deletionTimestamp", when, "field is immutable");
        }
        const json_t *ndg = json_object_get(nm, "deletionGracePeriodSeconds");
        const json_t *odg = json_object_get(om, "deletionGracePeriodSeconds");
        if (json_is_integer(ndg) && !(odg && json_equal(odg, ndg))) {
            char g[32];
            snprintf(g, sizeof g, "%lld", (long long)json_integer_value(ndg));
            fe_add(&fe, FE_INVALID, "metadata.deletionGracePeriodSeconds", g, "field is immutable");
        }
        if (fe.n) {
            send_invalid(r, r->name, &fe);
            json_decref(nobj);
            json_decref(oobj);
            return;
        }
        res = nobj;
        copy_key(res, oobj, "status");
        json_t *rm = meta_of(res);
        static const char *const owned[] = {"uid", "creationTimestamp", "deletionTimestamp",
                                            "deletionGracePeriodSeconds"};
        for (size_t i = 0; i < 4; i++)
            copy_key(rm, om, owned[i]);
        json_object_del(rm, "selfLink");
        json_object_set_new(rm, "name", json_string(r->name));
        if (r->res->namespaced)
            json_object_set_new(rm, "namespace", json_string(r->ns));
        else
            json_object_del(rm, "namespace");
        if (r->res->is_cr) {
            json_int_t g = json_integer_value(json_object_get(om, "generation"));
            json_object_set_new(rm, "generation", json_integer(spec_changed(oobj, res) ? g + 1 : g));
        } else {
            json_object_del(rm, "generation");
        }
        if (!json_object_get(res, "apiVersion"))
            json_object_set(res, "apiVersion", json_object_get(oobj, "apiVersion"));
        if (!json_object_get(res, "kind"))
            json_object_set(res, "kind", json_object_get(oobj, "kind"));
        fielderrs fe2 = {0};
        if (!strcmp(r->res->plural, "services") && svcalloc_update(r->api->svcalloc, key, oobj, res, &fe2) < 0) {
            send_invalid(r, r->name, &fe2);
            json_decref(res);
            json_decref(oobj);
            return;
        }
    }
    nobj = NULL;
    json_t *rm = meta_of(res);
    meta_drop_empty(rm);
    json_object_set(rm, "resourceVersion", json_object_get(om, "resourceVersion"));
    /* No new finalizers once deletion started. */
    if (json_object_get(om, "deletionTimestamp")) {
        json_t *of = json_object_get(om, "finalizers"), *nf = json_object_get(rm, "finalizers");
        size_t i;
        json_t *v;
        char list[2048];
        size_t ll = 0;
        int added = 0;
        json_array_foreach(nf, i, v) {
            if (json_is_string(v) && !api_str_in(of, json_string_value(v))) {
                ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s\"%s\"", added ? ", " : "",
                                       json_string_value(v));
                if (ll >= sizeof list)
                    ll = sizeof list - 1;
                added++;
            }
        }
        if (added) {
            fielderrs fe = {0};
            fe_add(&fe, FE_FORBIDDEN, "metadata.finalizers", NULL,
                   "no new finalizers can be added if the object is being deleted, found new finalizers []string{%s}", list);
            apierr_invalid(&e, resource_gk(r->res), r->name, r->res->group, r->res->kind, &fe);
            fe_free(&fe);
            json_decref(res);
            goto fail;
        }
    }
    if (is_status) {
        fielderrs fe = {0};
        if (!strcmp(r->res->plural, "pytorchjobs"))
            validate_pytorchjob_status(&fe, res);
        api_scale_validate(r->res, res, 0, 1, &fe);
        if (fe.n) {
            send_invalid(r, r->name, &fe);
            json_decref(res);
            json_decref(oobj);
            return;
        }
    }
    if (!is_status) {
        fielderrs fe = {0};
        json_t *f = json_object_get(rm, "finalizers");
        if (api_str_in(f, "orphan") && api_str_in(f, "foregroundDeletion")) {
            char *v = fe_json(f); /* the value, as on create */
            fe_add(&fe, FE_INVALID, "metadata.finalizers", v, "finalizer orphan and foregroundDeletion cannot be both set");
            free(v);
            send_invalid(r, r->name, &fe);
            json_decref(res);
            json_decref(oobj);
            return;
        }
        /* the CRD's CEL transition rule on the queue (self == oldSelf: checked when both have it) */
        const char *qpath[] = {"spec", "runPolicy", "schedulingPolicy", "queue"};
        const json_t *nq = res, *oq = oobj;
        for (size_t i = 0; i < 4; i++) {
            nq = json_object_get(nq, qpath[i]);
            oq = json_object_get(oq, qpath[i]);
        }
        if (!strcmp(r->res->plural, "pytorchjobs") && nq && oq && !json_equal(nq, oq)) {
            fe_add(&fe, FE_INVALID, "spec.runPolicy.schedulingPolicy.queue", "\"string\"",
                   "spec.runPolicy.schedulingPolicy.queue is immutable");
            send_invalid(r, r->name, &fe);
            json_decref(res);
            json_decref(oobj);
            return;
        }
        if (validate_object(r, res, oobj, r->name) < 0) {
            json_decref(res);
            json_decref(oobj);
            return;
        }
        if (!strcmp(r->res->plural, "pods")) {
            validate_pod_update(&fe, oobj, res);
            if (fe.n) {
                send_invalid(r, r->name, &fe);
                json_decref(res);
                json_decref(oobj);
                return;
            }
        }
    }
    if (json_equal(res, oobj)) { /* a no-op write keeps the resourceVersion and sends no event */
        json_decref(res);
        if (is_scale(r))
            send_scale(r, r->res, 200, oobj);
        else {
            json_decref(oobj);
            api_send_bytes(r, 200, old->data, old->len);
        }
        return;
    }
    json_t *dts = json_object_get(rm, "deletionTimestamp");
    json_t *fins = json_object_get(rm, "finalizers");
    json_int_t dgp = json_integer_value(json_object_get(rm, "deletionGracePeriodSeconds"));
    json_decref(oobj);
    if (dts && json_array_size(fins) == 0 && dgp == 0) {
        /* The last finalizer went away: the object is deleted instead of updated. */
        if (dry) {
            api_send_json(r, 200, res, r->res->is_cr);
            return;
        }
        api_write_respond(r, key, NULL, 200, res, r->res->is_cr);
        return;
    }
    answer_write(r, key, res, 200, dry);
    return;
fail:
    json_decref(nobj);
    json_decref(oobj);
    api_send_error(r, &e);
}

static const store_rec *load_or_404(apireq *r)
{
    char key[1024];
    api_key(key, sizeof key, r->res, r->ns, r->name);
    const store_rec *old = store_latest(r->api->store, key);
    if (!old) {
        apierr e = {0};
        apierr_not_found(&e, resource_gr(r->res), r->res->group, r->res->plural, r->name);
        api_send_error(r, &e);
    }
    return old;
}

void api_update(apireq *r)
{
    int dry = 0;
    json_t *obj;
    apierr e = {0};
    if (api_typed_request(r, "UpdateOptions.meta.k8s.io", &dry, &obj) < 0)
        return;
    if (!r->sub && strict_first(r, obj, &e) < 0) { /* before the name checks and the 404 */
        json_decref(obj);
        api_send_error(r, &e);
        return;
    }
    int64_t replicas;
    if (is_scale(r) && api_scale_decode(obj, &replicas, &e) < 0) { /* decoded before checkName */
        json_decref(obj);
        api_send_error(r, &e);
        return;
    }
    json_t *md = json_object_get(obj, "metadata");
    const char *bname = str_at(md, "name"), *bns = str_at(md, "namespace");
    if (!bname || strcmp(bname, r->name)) {
        apierr_set(&e, ST_BAD_REQUEST, "the name of the object (%s) does not match the name on the URL (%s)", bname ? bname : "", r->name);
        json_decref(obj);
        api_send_error(r, &e);
        return;
    }
    if (r->res->namespaced && bns && *bns && strcmp(bns, r->ns)) {
        apierr_set(&e, ST_BAD_REQUEST, "the namespace of the object (%s) does not match the namespace on the request (%s)", bns, r->ns);
        json_decref(obj);
        api_send_error(r, &e);
        return;
    }
    const store_rec *old = load_or_404(r);
    if (!old) {
        json_decref(obj);
        return;
    }
    if (is_scale(r)) { /* the Scale's replicas into the stored object; no resourceVersion needed */
        json_t *cur = api_rec_json(old), *want = api_scale_apply(r, cur, obj, 1, &e);
        json_decref(cur);
        json_decref(obj);
        if (!want) {
            api_send_error(r, &e);
            return;
        }
        api_do_update(r, old, want, dry, 0);
        return;
    }
    api_do_update(r, old, obj, dry, 1);
}

/* ---- patch ----------------------------------------------------------------------------------------- */

enum { P_MERGE, P_JSON, P_APPLY, P_STRATEGIC };


/* kube's 422 for a patch that cannot be applied or does not make an object: no causes. */
static void patch_rejected(apierr *e)
{
    apierr_set(e, ST_INVALID, "the server rejected our request due to an error in our request");
    apierr_details(e, NULL, NULL, NULL, NULL);
}

void api_patch(apireq *r)
{
    apierr e = {0};
    const char *ct = http_header_get(r->http, "content-type");
    int type;
    if (ct && api_media_is(ct, "application/merge-patch+json"))
        type = P_MERGE;
    else if (ct && api_media_is(ct, "application/json-patch+json"))
        type = P_JSON;
    else if (ct && api_media_is(ct, "application/apply-patch+yaml"))
        type = P_APPLY;
    else if (ct && api_media_is(ct, "application/strategic-merge-patch+json") && !r->res->is_cr)
        type = P_STRATEGIC; /* core kinds only: a custom resource has no patch strategy (415) */
    else {
        apierr_unsupported_patch(&e);
        api_send_error(r, &e);
        return;
    }
    if (!r->name) {
        apierr_set(&e, ST_BAD_REQUEST, "name must be provided");
        api_send_error(r, &e);
        return;
    }
    int dry = 0;
    if (query_dry_run(r, "PatchOptions.meta.k8s.io", &dry) < 0 ||
        check_field_manager(r, "PatchOptions.meta.k8s.io", type == P_APPLY) < 0 ||
        check_field_validation(r, "PatchOptions.meta.k8s.io") < 0)
        return;
    char *force = http_query_get(r->http, "force");
    if (force && type != P_APPLY) {
        free(force);
        fielderrs fe = {0};
        fe_add(&fe, FE_FORBIDDEN, "force", NULL, "may not be specified for non-apply patch");
        apierr_invalid(&e, "PatchOptions.meta.k8s.io", "", "meta.k8s.io", "PatchOptions", &fe);
        fe_free(&fe);
        api_send_error(r, &e);
        return;
    }
    free(force);
    json_t *p;
    if (api_decode_body(r, &p, &e, 1) < 0) {
        free(e.message);
        e.message = NULL;
        apierr_set(&e, ST_BAD_REQUEST, "error decoding patch: invalid JSON in the request body");
        api_send_error(r, &e);
        return;
    }
    char key[1024];
    api_key(key, sizeof key, r->res, r->ns, r->name);
    const store_rec *old = store_latest(r->api->store, key);
    json_t *stored = NULL; /* a /scale patch: the stored object */
    if (!old && type == P_APPLY && !r->sub) {
        if (check_type(r, p) < 0) {
            json_decref(p);
            return;
        }
        json_t *md = json_object_get(p, "metadata");
        const char *bn = str_at(md, "name");
        if (bn && strcmp(bn, r->name)) {
            apierr_set(&e, ST_BAD_REQUEST, "the name of the object (%s) does not match the name on the URL (%s)", bn, r->name);
            json_decref(p);
            api_send_error(r, &e);
            return;
        }
        if (!json_is_object(md))
            json_object_set_new(p, "metadata", md = json_object());
        json_object_set_new(md, "name", json_string(r->name));
        api_do_create(r, p, dry);
        return;
    }
    if (!old) {
        json_decref(p);
        apierr_not_found(&e, resource_gr(r->res), r->res->group, r->res->plural, r->name);
        api_send_error(r, &e);
        return;
    }
    /* A /scale patch applies to the object's Scale. */
    json_t *cur = is_scale(r) ? api_scale_for_patch(r->res, (stored = api_rec_json(old)), &e)
                              : api_rec_json(old);
    json_t *result = NULL;
    if (!cur) {
        json_decref(stored);
        json_decref(p);
        api_send_error(r, &e);
        return;
    }
    if (type != P_JSON && !json_is_object(p)) {
        json_decref(cur);
        json_decref(stored);
        json_decref(p);
        patch_rejected(&e);
        api_send_error(r, &e);
        return;
    }
    if (type == P_APPLY) {
        /* Apply as "merge the full intent": fields it names win, lists replace. The apply
         * configuration carries no resourceVersion precondition unless it sets one. */
        json_object_del(json_object_get(p, "metadata"), "managedFields");
    }
    char *err = NULL;
    int rc = 0;
    if (type == P_JSON)
        rc = patch_json(cur, p, &result, &err);
    else if (type == P_STRATEGIC)
        rc = patch_strategic(cur, p, r->res->kind, &result, &err);
    else
        result = patch_merge(cur, p);
    if (rc < 0) { /* malformed 400, too many ops 413, an op or a merge that fails 422 */
        if (rc == PATCH_ERR_MALFORMED)
            apierr_set(&e, ST_BAD_REQUEST, "%s", err ? err : "malformed patch");
        else if (rc == PATCH_ERR_TOO_MANY)
            apierr_set(&e, ST_TOO_LARGE, "Request entity too large: The allowed maximum operations in a JSON patch is %d, got %zu",
                       PATCH_MAX_OPS, json_array_size(p));
        else {
            patch_rejected(&e);
        }
        free(err);
        json_decref(cur);
        json_decref(stored);
        json_decref(p);
        api_send_error(r, &e);
        return;
    }
    free(err);
    json_decref(p);
    json_decref(cur);
    if (!json_is_object(result)) {
        json_decref(stored);
        json_decref(result);
        patch_rejected(&e);
        api_send_error(r, &e);
        return;
    }
    /* kind/apiVersion changed by a patch are a type error as in an update */
    if (!r->sub && check_type(r, result) < 0) {
        json_decref(result);
        return;
    }
    if (stored) { /* the patched Scale, then as a PUT of it */
        json_t *want = api_scale_apply(r, stored, result, 0, &e);
        json_decref(stored);
        json_decref(result);
        if (!want) {
            api_send_error(r, &e);
            return;
        }
        result = want;
    }
    api_do_update(r, old, result, dry, 0);
}
