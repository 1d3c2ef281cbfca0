/* api_scale — the scale subresource of a custom resource, as apiextensions-apiserver's ScaleREST
 * serves it (pkg/registry/customresource/etcd.go): an autoscaling/v1 Scale read from, and
 * written to, the paths of the resource's scalepaths (resource.h).
 *
 *   GET    load (404) → Scale; no value at specReplicasPath → 500
 *   PUT    decode the Scale (400) → the stored object with specReplicasPath set
 *   PATCH  the patch applies to the current Scale (specReplicas absent: int32 min), then as PUT
 *          → api_do_update as a write of the main resource: schema + ValidateScaleSpec (422),
 *            resourceVersion / uid preconditions (409), generation, watch event, controller;
 *            no admission webhook (the PyTorchJob webhook's rules name `pytorchjobs` only)
 *          → answered with the Scale of the stored object
 *
 * Only spec.replicas, metadata.resourceVersion (and a PUT's metadata.uid, a precondition) of a
 * Scale reach the object; its status, labels and the rest are ignored, as upstream. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "jsonio.h"

#define SCALE_API_VERSION "autoscaling/v1"
#define SCALE_KIND "Scale"
/* ScaleREST's marker for "the object has no spec replicas" in the Scale a PATCH applies to. */
#define SCALE_NO_REPLICAS INT32_MIN

/* ---- unstructured paths (k8s.io/apimachinery unstructured.Nested*) ---------------------------- */

/* fmt's %v of a JSON value (strings bare); malloc'ed. */
static char *go_v(const json_t *v)
{
    if (json_is_string(v))
        return strdup(json_string_value(v));
    return fe_json(v);
}

/* Go's %T of a decoded JSON value. */
static const char *go_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "map[string]interface {}";
    case JSON_ARRAY: return "[]interface {}";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "int64";
    case JSON_REAL: return "float64";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    default: return "<nil>";
    }
}

/* The accessor error of unstructured: "<path> accessor error: <v> is of the type <T>, expected
 * <want>", path being the first plen bytes of path. malloc'ed. */
static char *accessor_err(const char *path, size_t plen, const json_t *v, const char *want)
{
    char *vs = go_v(v), *out = NULL;
    if (asprintf(&out, "%.*s accessor error: %s is of the type %s, expected %s", (int)plen, path,
                 vs, go_type(v), want) < 0)
        abort();
    free(vs);
    return out;
}

/* NestedFieldNoCopy at a dotted path with its leading period (".spec.a.b"): 1 and *out
 * (borrowed) when found, 0 when absent (null counts as absent), -1 with *err (malloc'ed) when
 * a step on the way is not an object. */
static int nested(const json_t *obj, const char *path, const json_t **out, char **err)
{
    const json_t *cur = obj;
    const char *p = path[0] == '.' ? path + 1 : path;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(cur)) {
            *err = accessor_err(path, (size_t)(p - 1 - path), cur, "map[string]interface{}");
            return -1;
        }
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        cur = json_object_get(cur, key);
        if (!cur || json_is_null(cur))
            return 0;
        p += n + (dot ? 1 : 0);
    }
    *out = cur;
    return 1;
}

/* NestedInt64: 1 found (*v), 0 absent (*v = 0), -1 with *err. */
static int nested_int(const json_t *obj, const char *path, int64_t *v, char **err)
{
    const json_t *x;
    *v = 0;
    int rc = nested(obj, path, &x, err);
    if (rc <= 0)
        return rc;
    if (!json_is_integer(x)) {
        *err = accessor_err(path, strlen(path), x, "int64");
        return -1;
    }
    *v = json_integer_value(x);
    return 1;
}

/* NestedString: 1 found (*s borrowed), 0 absent (*s = ""), -1 with *err. */
static int nested_str(const json_t *obj, const char *path, const char **s, char **err)
{
    const json_t *x;
    *s = "";
    int rc = nested(obj, path, &x, err);
    if (rc <= 0)
        return rc;
    if (!json_is_string(x)) {
        *err = accessor_err(path, strlen(path), x, "string");
        return -1;
    }
    *s = json_string_value(x);
    return 1;
}

/* SetNestedField: v (stolen) at path, creating the objects on the way. 0, or -1 with *err when
 * a step on the way is not an object. */
static int set_nested(json_t *obj, const char *path, json_t *v, char **err)
{
    json_t *cur = obj;
    const char *p = path[0] == '.' ? path + 1 : path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        if (!dot) {
            json_object_set_new(cur, key, v);
            return 0;
        }
        json_t *next = json_object_get(cur, key);
        if (!next || json_is_null(next)) {
            next = json_object();
            json_object_set_new(cur, key, next);
        } else if (!json_is_object(next)) {
            if (asprintf(err, "value cannot be set because %.*s is not a map[string]interface{}",
                         (int)(dot - path), path) < 0)
                abort();
            json_decref(v);
            return -1;
        }
        cur = next;
        p = dot + 1;
    }
}

/* ---- the Scale view ----------------------------------------------------------------------------- */

static void copy_meta(json_t *dst, const json_t *src, const char *k)
{
    json_t *v = json_object_get(src, k);
    if (v)
        json_object_set(dst, k, v);
}

json_t *api_scale_of(const resource *res, const json_t *obj, int *found, char **err)
{
    const scalepaths *sp = res->scale;
    assert(sp);
    int64_t spec = 0, status = 0;
    const char *selector = "";
    int rc = nested_int(obj, sp->spec_replicas, &spec, err);
    if (rc < 0 || nested_int(obj, sp->status_replicas, &status, err) < 0 ||
        (sp->label_selector && nested_str(obj, sp->label_selector, &selector, err) < 0))
        return NULL;
    if (found)
        *found = rc == 1;
    /* autoscaling/v1 Scale as Go writes it: fields in struct order, spec.replicas and
     * status.selector omitted when empty */
    const json_t *om = json_object_get(obj, "metadata");
    json_t *md = json_object();
    static const char *const keys[] = {"name", "namespace", "uid", "resourceVersion",
                                       "creationTimestamp"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        copy_meta(md, om, keys[i]);
    json_t *sspec = json_object(), *sstatus = json_object();
    if ((int32_t)spec)
        json_object_set_new(sspec, "replicas", json_integer((int32_t)spec));
    json_object_set_new(sstatus, "replicas", json_integer((int32_t)status));
    if (*selector)
        json_object_set_new(sstatus, "selector", json_string(selector));
    json_t *s = json_object();
    json_object_set_new(s, "kind", json_string(SCALE_KIND));
    json_object_set_new(s, "apiVersion", json_string(SCALE_API_VERSION));
    json_object_set_new(s, "metadata", md);
    json_object_set_new(s, "spec", sspec);
    json_object_set_new(s, "status", sstatus);
    return s;
}

json_t *api_scale_for_patch(const resource *res, const json_t *obj, apierr *e)
{
    int found;
    char *err = NULL;
    json_t *s = api_scale_of(res, obj, &found, &err);
    if (!s) {
        apierr_set(e, ST_UNKNOWN, "%s", err);
        free(err);
        return NULL;
    }
    if (!found)
        json_object_set_new(json_object_get(s, "spec"), "replicas",
                            json_integer(SCALE_NO_REPLICAS));
    return s;
}

void api_scale_get(apireq *r)
{
    char key[1024];
    apierr e = {0};
    api_key(key, sizeof key, r->res, r->ns, r->name);
    const store_rec *rec = store_get(r->api->store, key);
    if (!rec) {
        apierr_not_found(&e, resource_gr(r->res), r->res->group, r->res->plural, r->name);
        api_send_error(r, &e);
        return;
    }
    json_t *o = api_rec_json(rec);
    int found;
    char *err = NULL;
    json_t *s = api_scale_of(r->res, o, &found, &err);
    json_decref(o);
    if (!s) { /* not a Status error upstream: 500 with an empty reason */
        apierr_set(&e, ST_UNKNOWN, "%s", err);
        free(err);
        api_send_error(r, &e);
        return;
    }
    if (!found) {
        char msg[256];
        snprintf(msg, sizeof msg, "the spec replicas field \"%s\" does not exist",
                 r->res->scale->spec_replicas);
        json_decref(s);
        apierr_internal(&e, msg);
        api_send_error(r, &e);
        return;
    }
    table_include inc;
    if (api_table_wanted(r, &inc)) {
        /* the subresource keeps its parent's table convertor: the job's columns over the Scale */
        json_t *rows = json_array();
        json_array_append_new(rows, table_row(r->res->plural, s, inc, time(NULL)));
        const char *rv = json_string_value(json_object_get(json_object_get(s, "metadata"),
                                                           "resourceVersion"));
        json_t *t = table_new(r->res->plural, rows, rv, NULL, 1);
        json_decref(s);
        api_send_json(r, 200, t, 0);
        return;
    }
    api_send_json(r, 200, s, 0);
}

/* ---- writes ----------------------------------------------------------------------------------- */

/* The decoder's 400 for a Scale body it cannot read. */
static void undecodable(apierr *e, const char *kind, const char *version, const char *why)
{
    apierr_set(e, ST_BAD_REQUEST, "%s in version \"%s\" cannot be handled as a Scale: %s", kind,
               version, why);
}

/* Decode scale as an autoscaling/v1 Scale: *replicas (0 when absent). 0, or -1 with e (400). */
int api_scale_decode(const json_t *scale, int64_t *replicas, apierr *e)
{
    if (!json_is_object(scale)) {
        apierr_set(e, ST_BAD_REQUEST, "the object provided is unrecognized (must be of type Scale): "
                   "couldn't get version/kind; json parse error: json: cannot unmarshal %s into "
                   "Go value of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; "
                   "Kind string \"json:\\\"kind,omitempty\\\"\" }",
                   json_is_array(scale) ? "array" : "non-object");
        return -1;
    }
    const char *kind = json_string_value(json_object_get(scale, "kind"));
    const char *av = json_string_value(json_object_get(scale, "apiVersion"));
    if ((kind && *kind && strcmp(kind, SCALE_KIND)) || (av && *av && strcmp(av, SCALE_API_VERSION))) {
        const char *slash = av ? strrchr(av, '/') : NULL;
        char why[512];
        snprintf(why, sizeof why, "no kind \"%s\" is registered for version \"%s\"",
                 kind && *kind ? kind : SCALE_KIND, av && *av ? av : SCALE_API_VERSION);
        undecodable(e, kind && *kind ? kind : SCALE_KIND, slash ? slash + 1 : av ? av : "v1", why);
        return -1;
    }
    *replicas = 0;
    const json_t *spec = json_object_get(scale, "spec");
    const json_t *rep = json_is_object(spec) ? json_object_get(spec, "replicas") : NULL;
    if (spec && !json_is_null(spec) && !json_is_object(spec)) {
        char why[256];
        snprintf(why, sizeof why, "json: cannot unmarshal %s into Go struct field Scale.spec of type v1.ScaleSpec",
                 json_is_string(spec) ? "string" : json_is_number(spec) ? "number" :
                 json_is_boolean(spec) ? "bool" : "array");
        undecodable(e, SCALE_KIND, "v1", why);
        return -1;
    }
    if (rep && !json_is_null(rep)) {
        int64_t v = json_is_integer(rep) ? json_integer_value(rep) : 0;
        if (!json_is_integer(rep) || v < INT32_MIN || v > INT32_MAX) {
            char *num = json_is_number(rep) ? fe_json(rep) : NULL, why[256];
            snprintf(why, sizeof why, "json: cannot unmarshal %s%s into Go struct field "
                     "ScaleSpec.spec.replicas of type int32",
                     json_is_string(rep) ? "string" : json_is_number(rep) ? "number " :
                     json_is_boolean(rep) ? "bool" : json_is_array(rep) ? "array" : "object",
                     num ? num : "");
            free(num);
            undecodable(e, SCALE_KIND, "v1", why);
            return -1;
        }
        *replicas = v;
    }
    return 0;
}

json_t *api_scale_apply(apireq *r, const json_t *cur, const json_t *scale, int is_put, apierr *e)
{
    int64_t replicas;
    if (api_scale_decode(scale, &replicas, e) < 0)
        return NULL;
    const char *path = r->res->scale->spec_replicas;
    if (replicas == SCALE_NO_REPLICAS) {
        apierr_set(e, ST_BAD_REQUEST, "the spec replicas field \"%s\" cannot be empty", path);
        return NULL;
    }
    json_t *obj = json_deep_copy(cur);
    char *err = NULL;
    if (set_nested(obj, path, json_integer(replicas), &err) < 0) {
        apierr_set(e, ST_UNKNOWN, "%s", err);
        free(err);
        json_decref(obj);
        return NULL;
    }
    /* The Scale's name and namespace are checked against the URL as an object's are; its
     * resourceVersion (and a PUT's uid) are the update's preconditions. */
    const json_t *sm = json_object_get(scale, "metadata");
    json_t *md = json_object_get(obj, "metadata");
    static const char *const keys[] = {"name", "namespace", "resourceVersion", "uid"};
    for (size_t i = 0; i < (is_put ? 4u : 3u); i++) {
        const json_t *v = json_object_get(sm, keys[i]);
        if (json_is_string(v) && json_string_length(v))
            json_object_set(md, keys[i], (json_t *)v);
    }
    return obj;
}

void api_scale_validate(const resource *res, const json_t *obj, int spec, int status,
                        fielderrs *fe)
{
    const scalepaths *sp = res->scale;
    if (!sp)
        return;
    const char *paths[2] = {spec ? sp->spec_replicas : NULL, status ? sp->status_replicas : NULL};
    for (size_t i = 0; i < 2; i++) {
        if (!paths[i])
            continue;
        int64_t v;
        char *err = NULL;
        if (nested_int(obj, paths[i], &v, &err) < 0) {
            fe_add(fe, FE_INVALID, paths[i], "0", "%s", err);
            free(err);
        } else if (v < 0) {
            char val[32];
            snprintf(val, sizeof val, "%lld", (long long)v);
            fe_add(fe, FE_INVALID, paths[i], val, "should be a non-negative integer");
        } else if (v > INT32_MAX) {
            char val[32];
            snprintf(val, sizeof val, "%lld", (long long)v);
            fe_add(fe, FE_INVALID, paths[i], val, "should be less than or equal to %d", INT32_MAX);
        }
    }
    if (status && sp->label_selector) {
        const char *s;
        char *err = NULL;
        if (nested_str(obj, sp->label_selector, &s, &err) < 0) {
            fe_add(fe, FE_INVALID, sp->label_selector, "\"\"", "%s", err);
            free(err);
        }
    }
}
