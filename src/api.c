/* api — request entry point, routing, authentication, authorization, GET and LIST.
 *
 * Order of checks for every request (kube-apiserver's filter chain):
 *   transport errors (400/413/431) → health → authentication (401) → discovery/openapi →
 *   route (plain 404) → authorization (403) → verb handler (parse 400 → validate 422 →
 *   lookup 404 → preconditions 409 → …).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <http_parser.h>
#include <openssl/rand.h>
#include "api.h"
#include "jsonio.h"
#include "strconv.h"
#include "discovery.h"
#include "selector.h"
#include "watch.h"
#include "yamljson.h"
#include "kubepb.h"
#include "base64.h"
#include "table.h"
#include "podlog.h"
#include "podexec.h"
#include "validate.h"
#include "metrics.h"
#include "authz.h"

/* ---- small shared helpers ------------------------------------------------------------------- */

int api_query_bool(const char *v)
{
    if (!v)
        return 0;
    return !(strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0);
}

/* Go's strconv.ParseBool: 1 true, 0 false, -1 not a bool. */
static int go_parse_bool(const char *v)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (!strcmp(v, t[i]))
            return 1;
        if (!strcmp(v, f[i]))
            return 0;
    }
    return -1;
}

int api_dry_run(char **vals, size_t n, int *dry, fielderrs *fe)
{
    *dry = 0;
    if (!n)
        return 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(vals[i], "All"))
            bad = 1;
    if (!bad) {
        *dry = 1;
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(vals[i]));
    char *v = fe_json(arr);
    json_decref(arr);
    fe_add(fe, FE_NOT_SUPPORTED, "dryRun", v, "supported values: \"All\"");
    free(v);
    return -1;
}

char *api_now_rfc3339(void)
{
    return api_rfc3339(time(NULL));
}

time_t api_parse_rfc3339(const char *s)
{
    time_t t;
    return strconv_parse_rfc3339(s, &t) == 0 ? t : 0;
}

char *api_rfc3339(time_t t)
{
    char *s = malloc(32);
    return strconv_rfc3339(t, s);
}

/* Random (version 4) UIDs. The random bytes are drawn from OpenSSL a page at a time: one
 * RAND_bytes call per object created cost more than the rest of making its metadata. Loop thread
 * only. */
void api_new_uid(char out[37])
{
    static __thread unsigned char pool[4096]; /* per thread: prepared creates stamp off the loop */
    static __thread size_t left;
    static const char hex[] = "0123456789abcdef";
    if (left < 16) {
        if (RAND_bytes(pool, sizeof pool) != 1)
            abort();
        left = sizeof pool;
    }
    unsigned char *b = pool + sizeof pool - left;
    left -= 16;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = 0;
    OPENSSL_cleanse(b, 16); /* a used draw is not kept */
}

void api_key(char *buf, size_t cap, const resource *res, const char *ns, const char *name)
{
    snprintf(buf, cap, "%s/%s/%s", res->plural, res->namespaced ? ns : "", name ? name : "");
}

static const char JSON_CT[] = "application/json";

void api_send_bytes(apireq *r, int code, const char *data, size_t len)
{
    char *buf;
    size_t n = len;
    if (r->pretty) {
        /* indented as the bytes are, without a tree (a list of 100,000 jobs is 230 MB) */
        if (!(buf = jsonio_indent(data, len, &n)))
            abort(); /* out of memory */
        buf[n] = '\n'; /* over the NUL */
    } else {
        if (!(buf = malloc(len + 1)))
            abort();
        memcpy(buf, data, len);
        buf[len] = '\n';
    }
    http_respond_owned(r->http, code, JSON_CT, buf, n + 1, r->headers);
}

void api_send_json(apireq *r, int code, json_t *obj, int sorted)
{
    size_t flags = r->pretty ? JSON_INDENT(2) : JSON_COMPACT;
    if (sorted)
        flags |= JSON_SORT_KEYS;
    size_t len;
    char *s = jsonio_dump(obj, flags, &len);
    s = realloc(s, len + 2);
    s[len] = '\n';
    http_respond_owned(r->http, code, JSON_CT, s, len + 1, r->headers);
    json_decref(obj);
}

void api_send_error(apireq *r, apierr *e)
{
    json_t *st = status_json(e);
    int code = status_code(e->kind);
    apierr_free(e);
    api_send_json(r, code, st, 0);
}

json_t *api_read_object(apireq *r)
{
    char key[1024];
    api_key(key, sizeof key, r->res, r->ns, r->name);
    const store_rec *rec = store_get(r->api->store, key);
    if (rec)
        return api_rec_json(rec);
    apierr e = {0};
    apierr_not_found(&e, resource_gr(r->res), r->res->group, r->res->plural, r->name);
    api_send_error(r, &e);
    return NULL;
}

void api_warn(apireq *r, const char *text)
{
    size_t old = r->headers ? strlen(r->headers) : 0, n = strlen(text);
    if (old + n * 2 + 32 > 8192)
        return; /* keep the header block bounded */
    char *h = realloc(r->headers, old + n * 2 + 32);
    char *p = h + old;
    p += sprintf(p, "Warning: 299 - \"");
    for (const char *t = text; *t; t++) {
        if (*t == '"' || *t == '\\')
            *p++ = '\\';
        *p++ = (*t == '\r' || *t == '\n') ? ' ' : *t;
    }
    strcpy(p, "\"\r\n");
    r->headers = h;
}

static void send_plain_404(http_req *h)
{
    static const char msg[] = "404 page not found\n";
    http_respond(h, 404, "text/plain; charset=utf-8", msg, sizeof msg - 1,
                 "X-Content-Type-Options: nosniff\r\n");
}

/* ---- authorization ---------------------------------------------------------------------------- */

/* The one authorization call for a resource request (authz.c decides; a SelfSubjectAccessReview
 * asks the same function). */
static int authorize(const auth_user *u, const char *verb, const resource *res, const char *sub,
                     const char *ns, const char *name)
{
    authz_attrs a = {.user = u, .verb = verb, .resource_request = 1, .ns = ns, .group = res->group,
                     .version = res->version, .resource = res->plural, .sub = sub, .name = name};
    return authz_allowed(&a);
}

/* The same for a non-resource path (discovery, /version, /metrics). */
static int authorize_path(const auth_user *u, const char *verb, const char *path)
{
    authz_attrs a = {.user = u, .verb = verb, .path = path};
    return authz_allowed(&a);
}

static void html_escape_into(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 6 < cap; s++) {
        const char *rep = NULL;
        if (*s == '&') rep = "&amp;";
        else if (*s == '<') rep = "&lt;";
        else if (*s == '>') rep = "&gt;";
        if (rep) {
            size_t l = strlen(rep);
            memcpy(out + o, rep, l);
            o += l;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = 0;
}

static void forbidden(apireq *r, const char *verb)
{
    apierr e = {0};
    char user[512];
    html_escape_into(user, sizeof user, r->user->name);
    char resname[128];
    if (r->sub)
        snprintf(resname, sizeof resname, "%s/%s", r->res->plural, r->sub);
    else
        snprintf(resname, sizeof resname, "%s", r->res->plural);
    char scope[300];
    if (r->ns && *r->ns)
        snprintf(scope, sizeof scope, "in the namespace \"%s\"", r->ns);
    else
        snprintf(scope, sizeof scope, "at the cluster scope");
    if (r->name)
        apierr_set(&e, ST_FORBIDDEN, "%s \"%s\" is forbidden: User \"%s\" cannot %s resource \"%s\" in API group \"%s\" %s",
                   resource_gr(r->res), r->name, user, verb, resname, r->res->group, scope);
    else
        apierr_set(&e, ST_FORBIDDEN, "%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API group \"%s\" %s",
                   resource_gr(r->res), user, verb, resname, r->res->group, scope);
    apierr_details(&e, r->name, r->res->group, r->res->plural, NULL);
    api_send_error(r, &e);
}

/* ---- namespaces ------------------------------------------------------------------------------- */

int api_check_namespace(apireq *r, const char *verb_for_msg, const char *name, apierr *e)
{
    if (!r->res->namespaced)
        return 0;
    const resource *nsres = resource_find("", "v1", "namespaces");
    char key[512];
    api_key(key, sizeof key, nsres, "", r->ns);
    const store_rec *ns = store_latest(r->api->store, key);
    if (!ns) {
        apierr_not_found(e, "namespaces", "", "namespaces", r->ns);
        return -1;
    }
    /* Stored bytes are canonical JSON: the key can only appear unescaped as a key, and a
     * namespace has no other object carrying it. No parse on every create. */
    int terminating = memmem(ns->data, ns->len, "\"deletionTimestamp\":", 20) != NULL;
    if (terminating && verb_for_msg) {
        /* the name the object asks for (none with generateName), as kube's NewForbidden */
        if (name && *name)
            apierr_set(e, ST_FORBIDDEN,
                       "%s \"%s\" is forbidden: unable to create new content in namespace %s because it is being terminated",
                       resource_gr(r->res), name, r->ns);
        else
            apierr_set(e, ST_FORBIDDEN,
                       "%s is forbidden: unable to create new content in namespace %s because it is being terminated",
                       resource_gr(r->res), r->ns);
        apierr_details(e, name && *name ? name : NULL, r->res->group, r->res->plural, NULL);
        return -1;
    }
    return 0;
}

/* ---- body decoding ------------------------------------------------------------------------------ */

int api_media_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    while (*ct == ' ')
        ct++;
    return !strncasecmp(ct, want, n) && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

int api_str_in(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        if (json_is_string(v) && !strcmp(json_string_value(v), s))
            return 1;
    return 0;
}

/* What api_prepare made of a request: its decoded body, or the create made ready from it; and
 * the keys its JSON body repeats (api_take_body_dups). */
typedef struct apiprep {
    json_t *body;
    api_precreate *create;
    fieldpaths dups;
} apiprep;

static void prep_free(void *p)
{
    apiprep *ap = p;
    json_decref(ap->body);
    api_precreate_free(ap->create);
    fieldpaths_free(&ap->dups);
    free(ap);
}

typedef struct dupkey {
    size_t off;
    char *path;
} dupkey;

typedef struct dups {
    dupkey *v;
    size_t n, cap;
} dups;

static void collect_dup(void *arg, size_t off, const char *path)
{
    dups *d = arg;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        dupkey *v = realloc(d->v, cap * sizeof *v);
        if (!v)
            return;
        d->v = v;
        d->cap = cap;
    }
    if ((d->v[d->n].path = strdup(path)))
        d->v[d->n++].off = off;
}

static int cmp_dup(const void *a, const void *b)
{
    size_t x = ((const dupkey *)a)->off, y = ((const dupkey *)b)->off;
    return x < y ? -1 : x > y;
}

/* A JSON body: with its keys unique, as ever; with a key repeated, decoded as kube's decoder
 * takes it (the last value wins) and the repeats listed in *dups as strict decoding meets them,
 * in the document's order, each path once (kjson's messages are de-duplicated). */
static json_t *parse_body(const char *buf, size_t len, fieldpaths *out, json_error_t *err)
{
    json_t *o = jsonio_parse(buf, len, JSON_REJECT_DUPLICATES, err);
    if (o || !(o = jsonio_parse(buf, len, 0, NULL)))
        return o;
    dups d = {0};
    jsonio_duplicates(buf, len, collect_dup, &d);
    if (d.n > 1)
        qsort(d.v, d.n, sizeof *d.v, cmp_dup);
    for (size_t i = 0; i < d.n; i++) {
        int seen = 0;
        for (size_t k = 0; k < out->n && !seen; k++)
            seen = !strcmp(out->v[k], d.v[i].path);
        if (!seen)
            fieldpaths_add(out, d.v[i].path);
        free(d.v[i].path);
    }
    free(d.v);
    return o;
}

void api_take_body_dups(http_req *h, fieldpaths *out)
{
    apiprep *ap = h->prep;
    memset(out, 0, sizeof *out);
    if (ap && ap->dups.n) {
        *out = ap->dups;
        memset(&ap->dups, 0, sizeof ap->dups);
    }
}

static int split_path(const char *path, char **seg, int max);

/* The collection a POST to path creates in, when it is one of a namespaced resource
 * (/api/v1/namespaces/NS/R, /apis/G/V/namespaces/NS/R): the resource, *ns (malloc'ed). As
 * api_handle routes it; anything else is NULL (and left to api_handle). */
static const resource *create_target(const char *path, char **ns)
{
    char *seg[8];
    int n = split_path(path, seg, 8);
    const resource *res = NULL;
    *ns = NULL;
    if (n == 5 && !strcmp(seg[0], "api") && !strcmp(seg[2], "namespaces"))
        res = resource_find("", seg[1], seg[4]);
    else if (n == 6 && !strcmp(seg[0], "apis") && !strcmp(seg[3], "namespaces"))
        res = resource_find(seg[1], seg[2], seg[5]);
    if (res && (!res->namespaced || !(res->verbs & VERB_CREATE) || !strcmp(seg[n - 1], "status") ||
                !strcmp(seg[n - 1], "finalize") || !*seg[n - 2]))
        res = NULL;
    if (res)
        *ns = strdup(seg[n - 2]);
    for (int k = 0; k < n; k++)
        free(seg[k]);
    return *ns ? res : NULL;
}

/* The server's prepare hook (any thread, in parallel): a JSON body of a create or an update is
 * decoded here, exactly as api_body_json would, so the loop thread finds it done; a create is
 * made ready as far as it can be without the store (api_precreate_new). */
void api_prepare(void *ctx, http_req *h)
{
    api_t *api = ctx;
    if ((h->method != HTTP_POST && h->method != HTTP_PUT) || !h->body_len || h->status)
        return;
    const char *ct = http_header_get(h, "content-type");
    if (ct && *ct && !api_media_is(ct, "application/json"))
        return;
    fieldpaths dups = {0};
    json_t *body = parse_body(h->body, h->body_len, &dups, NULL);
    apiprep *ap = calloc(1, sizeof *ap);
    if (!ap) {
        fieldpaths_free(&dups);
        json_decref(body);
        return;
    }
    ap->dups = dups;
    char *ns;
    /* a body with repeated keys is answered on the loop, where its warnings or error are */
    const resource *res = h->method == HTTP_POST && json_is_object(body) && !dups.n
                              ? create_target(h->path, &ns) : NULL;
    if (res) {
        /* the body goes either way: what did not become a create is decoded again on the loop */
        ap->create = api_precreate_new(api, h, res, ns, body);
        free(ns);
    } else {
        ap->body = body;
    }
    h->prep = ap;
    h->prep_free = prep_free;
}

void api_handled(void *ctx)
{
    api_t *api = ctx;
    store_flush(api->store);
}

api_precreate *api_take_precreate(http_req *h)
{
    apiprep *ap = h->prep;
    api_precreate *pc = ap ? ap->create : NULL;
    if (pc)
        ap->create = NULL;
    return pc;
}

int api_body_json(http_req *h, json_t **out, char **err)
{
    apiprep *ap = h->prep;
    if (ap && ap->body) { /* decoded by api_prepare */
        *out = ap->body;
        ap->body = NULL;
        return 0;
    }
    json_error_t je;
    fieldpaths dups = {0};
    json_t *o = parse_body(h->body, h->body_len, &dups, &je);
    if (dups.n) {
        if (!ap && (ap = calloc(1, sizeof *ap))) {
            h->prep = ap;
            h->prep_free = prep_free;
        }
        if (ap) {
            fieldpaths_free(&ap->dups);
            ap->dups = dups;
        } else {
            fieldpaths_free(&dups);
        }
    }
    if (o) {
        *out = o;
        return 0;
    }
    const char *ct = http_header_get(h, "content-type");
    if (ct && (api_media_is(ct, "application/yaml") || api_media_is(ct, "application/apply-patch+yaml"))) {
        o = yamljson_parse(h->body, h->body_len, err);
        if (o) {
            *out = o;
            return 0;
        }
        return -1;
    }
    *err = strdup(je.text);
    return -1;
}

#define UNKNOWN_FORMAT_MSG                                                                     \
    "the body of the request was in an unknown format - accepted media types include: "         \
    "application/json, application/yaml"

/* A protobuf body of a built-in kind (custom resources have no protobuf, as upstream's CR
 * handler): decoded into the JSON the same object would have been sent as. A kind kubepb does
 * not decode is the 415 any other unknown media type gets. */
static int decode_protobuf(apireq *r, json_t **out, apierr *e)
{
    char *err = NULL;
    int rc = kubepb_decode(r->http->body, r->http->body_len, out, &err);
    if (rc == -ENOTSUP)
        apierr_set(e, ST_UNSUPPORTED_MEDIA, "%s", UNKNOWN_FORMAT_MSG);
    else if (rc < 0)
        apierr_set(e, ST_BAD_REQUEST, "the object provided is unrecognized (must be of type %s): %s",
                   r->res->kind, err ? err : "protobuf decoding failed");
    free(err);
    return rc < 0 ? -1 : 0;
}

/* Go's name of a JSON value's type in an UnmarshalTypeError. */
static const char *json_type_go(const json_t *v)
{
    return json_is_string(v) ? "string" : json_is_number(v) ? "number" : json_is_boolean(v) ? "bool"
           : json_is_array(v) ? "array" : "object";
}

/* A map[string]string, or with bytes a map[string][]byte (base64 strings), as Go's JSON decodes
 * it: a value of the wrong type, or bytes that are not base64 (Go's CorruptInputError), give the
 * error's text in msg. */
static int map_error(const json_t *m, const char *goname, int bytes, char *msg, size_t cap)
{
    const char *k, *elem = bytes ? "[]uint8" : "string";
    const json_t *v;
    if (!m || json_is_null(m))
        return 0;
    if (!json_is_object(m)) {
        snprintf(msg, cap, "json: cannot unmarshal %s into Go struct field %s of type map[string]%s",
                 json_type_go(m), goname, elem);
        return -1;
    }
    json_object_foreach((json_t *)m, k, v) {
        if (json_is_null(v))
            continue;
        if (!json_is_string(v)) {
            snprintf(msg, cap, "json: cannot unmarshal %s into Go struct field %s of type %s", json_type_go(v),
                     goname, elem);
            return -1;
        }
        size_t len, bad;
        unsigned char *d = bytes ? base64_decode(json_string_value(v), json_string_length(v), &len, &bad) : NULL;
        if (bytes && !d) {
            snprintf(msg, cap, "illegal base64 data at input byte %zu", bad);
            return -1;
        }
        free(d);
    }
    return 0;
}

int api_core_type_error(const resource *res, const json_t *obj, char *msg, size_t cap)
{
    if (!res || res->is_cr || !json_is_object(obj))
        return 0;
    const json_t *md = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec");
    if (map_error(json_object_get(md, "labels"), "ObjectMeta.metadata.labels", 0, msg, cap) < 0 ||
        map_error(json_object_get(md, "annotations"), "ObjectMeta.metadata.annotations", 0, msg, cap) < 0)
        return -1;
    if (!strcmp(res->plural, "services")) {
        if (map_error(json_object_get(spec, "selector"), "ServiceSpec.spec.selector", 0, msg, cap) < 0)
            return -1;
        size_t i;
        const json_t *port;
        json_array_foreach(json_object_get(spec, "ports"), i, port) {
            const json_t *p = json_object_get(port, "port");
            if (p && !json_is_null(p) && !json_is_integer(p)) {
                snprintf(msg, cap, "json: cannot unmarshal %s into Go struct field ServicePort.spec.ports.port of type int32",
                         json_type_go(p));
                return -1;
            }
        }
    } else if (!strcmp(res->plural, "pods")) {
        if (map_error(json_object_get(spec, "nodeSelector"), "PodSpec.spec.nodeSelector", 0, msg, cap) < 0)
            return -1;
    } else if (!strcmp(res->plural, "configmaps")) {
        if (map_error(json_object_get(obj, "data"), "ConfigMap.data", 0, msg, cap) < 0 ||
            map_error(json_object_get(obj, "binaryData"), "ConfigMap.binaryData", 1, msg, cap) < 0)
            return -1;
    } else if (!strcmp(res->plural, "secrets")) {
        if (map_error(json_object_get(obj, "stringData"), "Secret.stringData", 0, msg, cap) < 0 ||
            map_error(json_object_get(obj, "data"), "Secret.data", 1, msg, cap) < 0)
            return -1;
    }
    return 0;
}

int api_decode_body(apireq *r, json_t **out, apierr *e, int for_patch)
{
    const char *ct = http_header_get(r->http, "content-type");
    if (!for_patch && ct && r->res && !r->res->is_cr && api_media_is(ct, KUBEPB_MEDIA))
        return decode_protobuf(r, out, e);
    if (!for_patch && ct && *ct && !api_media_is(ct, "application/json") && !api_media_is(ct, "application/yaml") &&
        !api_media_is(ct, "*/*")) {
        apierr_set(e, ST_UNSUPPORTED_MEDIA, "%s", UNKNOWN_FORMAT_MSG);
        return -1;
    }
    char *err = NULL;
    if (api_body_json(r->http, out, &err) < 0) {
        apierr_set(e, ST_BAD_REQUEST,
                   "the object provided is unrecognized (must be of type %s): couldn't get version/kind; json parse error: %s",
                   r->res ? r->res->kind : "object", err ? err : "invalid JSON");
        free(err);
        return -1;
    }
    char msg[512];
    if (!for_patch && api_core_type_error(r->res, *out, msg, sizeof msg) < 0) {
        /* a built-in kind is decoded into its Go struct: a value of the wrong type is 400 */
        apierr_set(e, ST_BAD_REQUEST, "%s in version \"%s\" cannot be handled as a %s: %s",
                   r->res->kind, r->res->version, r->res->kind, msg);
        json_decref(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int api_table_wanted(apireq *r, table_include *inc)
{
    *inc = TABLE_INCLUDE_METADATA;
    if (!table_wanted(http_header_get(r->http, "accept")))
        return 0;
    char *v = http_query_get(r->http, "includeObject");
    if (table_include_parse(v, inc) < 0)
        *inc = TABLE_INCLUDE_METADATA;
    free(v);
    return 1;
}

/* ---- GET -------------------------------------------------------------------------------------- */

/* A resourceVersion this server has not reached yet: 504 at once (kube waits up to 3 s for its
 * watch cache first; a revision this server handed out is never ahead of it). */
static int rv_too_large(apireq *r, const char *rv, apierr *e)
{
    if (!rv || !strcmp(rv, "0"))
        return 0;
    uint64_t want = strtoull(rv, NULL, 10), cur = store_rev(r->api->store);
    if (want <= cur)
        return 0;
    apierr_set(e, ST_TIMEOUT, "Timeout: Too large resource version: %llu, current: %llu",
               (unsigned long long)want, (unsigned long long)cur);
    apierr_details(e, NULL, NULL, NULL, NULL);
    e->causes = json_pack("[{s:s,s:s}]", "reason", "ResourceVersionTooLarge", "message",
                          "Too large resource version");
    e->retry_after = 1;
    return 1;
}

void api_get(apireq *r)
{
    /* resourceVersion: unset = latest, else not older than it; one not reached yet is 504 */
    char *rvq = http_query_get(r->http, "resourceVersion");
    if (rvq && *rvq) {
        apierr e = {0};
        const char *p = rvq;
        while (isdigit((unsigned char)*p))
            p++;
        if (*p)
            apierr_set(&e, ST_BAD_REQUEST,
                       "invalid resource version: strconv.ParseUint: parsing \"%s\": invalid syntax", rvq);
        if (*p || rv_too_large(r, rvq, &e)) {
            free(rvq);
            api_send_error(r, &e);
            return;
        }
    }
    free(rvq);
    char key[1024];
    api_key(key, sizeof key, r->res, r->ns, r->name);
    const store_rec *rec = store_get(r->api->store, key);
    if (!rec) {
        apierr e = {0};
        apierr_not_found(&e, resource_gr(r->res), r->res->group, r->res->plural, r->name);
        api_send_error(r, &e);
        return;
    }
    table_include inc;
    if (api_table_wanted(r, &inc)) {
        json_t *o = api_rec_json(rec);
        json_t *rows = json_array();
        json_array_append_new(rows, table_row(r->res->plural, o, inc, time(NULL)));
        const char *rv = json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
        json_t *t = table_new(r->res->plural, rows, rv, NULL, 1);
        json_decref(o);
        api_send_json(r, 200, t, 0);
        return;
    }
    api_send_bytes(r, 200, rec->data, rec->len);
}

/* ---- LIST ------------------------------------------------------------------------------------- */

/* Continue tokens are kube's: base64url (no padding) of {"v":"meta.k8s.io/v1","rv":N,"start":"<key>"}
 * where start is the last returned key relative to the list prefix. */
static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64url_encode(const char *in, size_t n)
{
    char *o = malloc(n * 4 / 3 + 4), *p = o;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        *p++ = b64u[v >> 18]; *p++ = b64u[(v >> 12) & 63]; *p++ = b64u[(v >> 6) & 63]; *p++ = b64u[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned char)in[i] << 16;
        *p++ = b64u[v >> 18]; *p++ = b64u[(v >> 12) & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
        *p++ = b64u[v >> 18]; *p++ = b64u[(v >> 12) & 63]; *p++ = b64u[(v >> 6) & 63];
    }
    *p = 0;
    return o;
}

static char *b64url_decode(const char *in, size_t *outlen, size_t *bad_at)
{
    size_t n = strlen(in);
    char *o = malloc(n + 1);
    size_t len = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = in[i] ? strchr(b64u, in[i]) : NULL;
        if (!p) {
            *bad_at = i;
            free(o);
            return NULL;
        }
        acc = acc << 6 | (unsigned)(p - b64u);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[len++] = (char)(acc >> bits & 0xff);
        }
    }
    if (n % 4 == 1) {
        *bad_at = n - 1;
        free(o);
        return NULL;
    }
    o[len] = 0;
    *outlen = len;
    return o;
}

char *api_make_continue(uint64_t rv, const char *start)
{
    json_t *t = json_pack("{s:s, s:I, s:s}", "v", "meta.k8s.io/v1", "rv", (json_int_t)rv, "start", start);
    size_t len;
    char *s = jsonio_dump(t, JSON_COMPACT | JSON_PRESERVE_ORDER, &len);
    json_decref(t);
    char *enc = b64url_encode(s, len);
    free(s);
    return enc;
}

int api_parse_continue(const char *tok, uint64_t *rv, char **start, apierr *e)
{
    size_t len = 0, bad = 0;
    char *raw = b64url_decode(tok, &len, &bad);
    if (!raw) {
        apierr_set(e, ST_BAD_REQUEST, "invalid continue token: continue key is not valid: illegal base64 data at input byte %zu", bad);
        return -1;
    }
    json_t *o = jsonio_parse(raw, len, 0, NULL);
    free(raw);
    json_t *v = json_object_get(o, "v"), *jrv = json_object_get(o, "rv"), *st = json_object_get(o, "start");
    if (!o || !json_is_string(v) || strcmp(json_string_value(v), "meta.k8s.io/v1")) {
        apierr_set(e, ST_BAD_REQUEST, "invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
        json_decref(o);
        return -1;
    }
    if (!json_is_integer(jrv) || json_integer_value(jrv) <= 0 || !json_is_string(st) ||
        !*json_string_value(st) || strstr(json_string_value(st), "..")) {
        apierr_set(e, ST_BAD_REQUEST, "invalid continue token: continue key is not valid: %s",
                   !json_is_integer(jrv) || json_integer_value(jrv) <= 0 ? "incorrect encoded start resourceVersion (version meta.k8s.io/v1)" : "continue key must not be empty");
        json_decref(o);
        return -1;
    }
    *rv = (uint64_t)json_integer_value(jrv);
    *start = strdup(json_string_value(st));
    json_decref(o);
    return 0;
}

/* 410 for a continue token older than the history kept, with a token to go on from now. */
void api_continue_expired(apireq *r, const char *start, apierr *e)
{
    char *tok = api_make_continue(store_rev(r->api->store), start);
    apierr_set(e, ST_EXPIRED,
               "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.");
    e->continue_tok = tok;
}

void api_listopts_free(listopts *o)
{
    labelsel_free(o->ls);
    fieldsel_free(o->fs);
    free(o->cont);
    free(o->rv);
    free(o->rvmatch);
    memset(o, 0, sizeof *o);
}

int api_listopts_parse(apireq *r, listopts *o, apierr *e)
{
    memset(o, 0, sizeof *o);
    http_req *h = r->http;
    char *err = NULL;
    char *v = http_query_get(h, "labelSelector");
    int rc = labelsel_parse(v, &o->ls, &err);
    free(v);
    if (rc < 0) {
        apierr_set(e, ST_BAD_REQUEST, "%s", err ? err : "invalid label selector");
        free(err);
        return -1;
    }
    v = http_query_get(h, "fieldSelector");
    rc = fieldsel_parse(v, r->res->field_labels, &o->fs, &err);
    free(v);
    if (rc < 0) {
        apierr_set(e, ST_BAD_REQUEST, "%s", err ? err : "invalid field selector");
        free(err);
        return -1;
    }
    if (r->name) { /* a collection verb never has a name; kept for the legacy watch path */
        const char *fv = fieldsel_exact(o->fs, "metadata.name");
        if (fv && strcmp(fv, r->name)) {
            apierr_set(e, ST_BAD_REQUEST, "fieldSelector metadata.name doesn't match requested name");
            return -1;
        }
    }
    v = http_query_get(h, "limit");
    if (v && *v) {
        char *end;
        o->limit = strtoll(v, &end, 10);
        if (*end) {
            apierr_set(e, ST_BAD_REQUEST, "strconv.ParseInt: parsing \"%s\": invalid syntax", v);
            free(v);
            return -1;
        }
    }
    free(v);
    o->cont = http_query_get(h, "continue");
    if (o->cont && !*o->cont) { free(o->cont); o->cont = NULL; }
    o->rv = http_query_get(h, "resourceVersion");
    if (o->rv && !*o->rv) { free(o->rv); o->rv = NULL; }
    o->rvmatch = http_query_get(h, "resourceVersionMatch");
    if (o->rvmatch && !*o->rvmatch) { free(o->rvmatch); o->rvmatch = NULL; }
    o->watch = api_query_bool(v = http_query_get(h, "watch")) || r->verb == VERB_WATCH;
    free(v);
    v = http_query_get(h, "timeoutSeconds");
    if (v && *v) {
        char *end;
        strtoll(v, &end, 10);
        if (*end) {
            apierr_set(e, ST_BAD_REQUEST, "strconv.ParseInt: parsing \"%s\": invalid syntax", v);
            free(v);
            return -1;
        }
    }
    free(v);
    char *sie = http_query_get(h, "sendInitialEvents");
    if (o->rv) {
        for (const char *p = o->rv; *p; p++)
            if (!isdigit((unsigned char)*p)) {
                apierr_set(e, ST_BAD_REQUEST, "invalid resource version: strconv.ParseUint: parsing \"%s\": invalid syntax", o->rv);
                free(sie);
                return -1;
            }
    }
    fielderrs fe = {0};
    o->initial = sie ? api_query_bool(sie) : -1;
    if (o->watch) { /* kube's validateWatchOptions, with the WatchList feature on */
        if (sie && (!o->rvmatch || strcmp(o->rvmatch, "NotOlderThan")))
            fe_add(&fe, FE_FORBIDDEN, "resourceVersionMatch", NULL, "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan");
        if (o->rvmatch) {
            if (!sie)
                fe_add(&fe, FE_FORBIDDEN, "resourceVersionMatch", NULL, "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided");
            if (strcmp(o->rvmatch, "NotOlderThan")) {
                char *q = fe_str(o->rvmatch);
                fe_add(&fe, FE_NOT_SUPPORTED, "resourceVersionMatch", q, "supported values: \"NotOlderThan\"");
                free(q);
            }
            if (o->cont)
                fe_add(&fe, FE_FORBIDDEN, "resourceVersionMatch", NULL, "resourceVersionMatch is forbidden when continue is provided");
        }
    } else {
        if (o->rvmatch) {
            if (!o->rv)
                fe_add(&fe, FE_FORBIDDEN, "resourceVersionMatch", NULL, "resourceVersionMatch is forbidden unless resourceVersion is provided");
            if (o->cont)
                fe_add(&fe, FE_FORBIDDEN, "resourceVersionMatch", NULL, "resourceVersionMatch is forbidden when continue is provided");
            if (strcmp(o->rvmatch, "Exact") && strcmp(o->rvmatch, "NotOlderThan")) {
                char *q = fe_str(o->rvmatch);
                fe_add(&fe, FE_NOT_SUPPORTED, "resourceVersionMatch", q, "supported values: \"Exact\", \"NotOlderThan\", \"\"");
                free(q);
            } else if (!strcmp(o->rvmatch, "Exact") && o->rv && !strcmp(o->rv, "0")) {
                fe_add(&fe, FE_FORBIDDEN, "resourceVersionMatch", NULL, "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"");
            }
        }
        if (sie)
            fe_add(&fe, FE_FORBIDDEN, "sendInitialEvents", NULL, "sendInitialEvents is forbidden for list");
    }
    free(sie);
    if (fe.n) {
        apierr_invalid(e, "ListOptions.meta.k8s.io", "", "meta.k8s.io", "ListOptions", &fe);
        fe_free(&fe);
        return -1;
    }
    if (o->cont && o->rv && strcmp(o->rv, "0")) {
        apierr_set(e, ST_BAD_REQUEST, "specifying resource version is not allowed when using continue");
        return -1;
    }
    return 0;
}

typedef struct listbuf {
    json_t *rows;         /* Table rows, when a Table was asked for */
    table_include inc;
    time_t now;
    const char *plural;
    http_seg *first, *last; /* the answer, in pieces: never copied to grow */
    size_t len;
    size_t count;
    long long limit;
    const char *prefix;
    size_t prefix_len;
    const char *last_key;
    int more;
    const listopts *o;
} listbuf;

/* Pieces of 64 KiB, then of 1 MiB: a page of 500 jobs is ~1 MB, and a LIST of 100,000 is 200 MB,
 * which grown in one buffer by doubling was copied and held twice at its largest. */
static void lb_put(listbuf *b, const char *s, size_t n)
{
    while (n > 0) {
        http_seg *g = b->last;
        if (!g || g->len == g->cap) {
            g = http_seg_new(b->first ? 1u << 20 : 65536);
            if (b->last)
                b->last->next = g;
            else
                b->first = g;
            b->last = g;
        }
        size_t k = g->cap - g->len < n ? g->cap - g->len : n;
        memcpy(g->data + g->len, s, k);
        g->len += k;
        b->len += k;
        s += k;
        n -= k;
    }
}

/* Does a stored record pass the list's selectors? Field selectors need the parsed object. */
int api_rec_matches(const store_rec *rec, const labelsel *ls, const fieldsel *fs)
{
    if (ls && !labelsel_empty(ls) && !labelsel_match(ls, rec->labels))
        return 0;
    if (fs && !fieldsel_empty(fs)) {
        json_t *o = jsonio_parse(rec->data, rec->len, 0, NULL);
        int ok = fieldsel_match(fs, o);
        json_decref(o);
        if (!ok)
            return 0;
    }
    return 1;
}

static int list_item(void *arg, const store_rec *rec)
{
    listbuf *b = arg;
    if (!api_rec_matches(rec, b->o->ls, b->o->fs))
        return 0;
    if (b->limit > 0 && (long long)b->count == b->limit) {
        b->more = 1;
        return 1;
    }
    if (b->rows) {
        json_t *o = jsonio_parse(rec->data, rec->len, 0, NULL);
        json_array_append_new(b->rows, table_row(b->plural, o, b->inc, b->now));
        json_decref(o);
    } else {
        if (b->count)
            lb_put(b, ",", 1);
        lb_put(b, rec->data, rec->len);
    }
    b->count++;
    b->last_key = rec->key;
    return 0;
}

void api_list(apireq *r)
{
    apierr e = {0};
    listopts o;
    if (api_listopts_parse(r, &o, &e) < 0) {
        api_listopts_free(&o);
        api_send_error(r, &e);
        return;
    }
    if (o.watch) {
        watch_start(r->api->watch, r, o.ls, o.fs, o.rv, o.initial);
        o.ls = NULL;
        o.fs = NULL;
        api_listopts_free(&o);
        return;
    }
    store_t *st = r->api->store;
    char prefix[600];
    if (r->res->namespaced && *r->ns)
        snprintf(prefix, sizeof prefix, "%s/%s/", r->res->plural, r->ns);
    else
        snprintf(prefix, sizeof prefix, "%s/", r->res->plural);
    uint64_t at = 0;
    char *start = NULL;
    if (o.cont) {
        if (api_parse_continue(o.cont, &at, &start, &e) < 0)
            goto fail;
    } else if (o.rv && o.rvmatch && !strcmp(o.rvmatch, "Exact")) {
        at = strtoull(o.rv, NULL, 10);
    } else if (o.rv && !o.rvmatch && o.limit > 0 && strcmp(o.rv, "0")) {
        at = strtoull(o.rv, NULL, 10); /* legacy: a page asked at N is served at exactly N */
    }
    if (rv_too_large(r, o.rv, &e))
        goto fail;
    if (at == store_rev(st))
        at = 0;
    listbuf b = {0};
    b.o = &o;
    if (api_table_wanted(r, &b.inc)) {
        b.rows = json_array();
        b.now = time(NULL);
        b.plural = r->res->plural;
    }
    b.limit = o.limit;
    b.prefix = prefix;
    b.prefix_len = strlen(prefix);
    char start_key[1200];
    if (start)
        snprintf(start_key, sizeof start_key, "%s%s", prefix, start);
    uint64_t list_rv = at ? at : store_rev(st);
    const resource *res = r->res;
    char head[256];
    int hl;
    if (res->is_cr)
        hl = snprintf(head, sizeof head, "{\"apiVersion\":\"%s/%s\",\"items\":[", res->group, res->version);
    else
        hl = snprintf(head, sizeof head, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"items\":[", res->list_kind, res->version);
    lb_put(&b, head, (size_t)hl);
    size_t items_at = b.len;
    int rc = store_list(st, prefix, start ? start_key : NULL, at, list_item, &b);
    if (rc == STORE_ERR_COMPACTED) {
        http_segs_free(b.first);
        json_decref(b.rows);
        if (o.cont) {
            api_continue_expired(r, start, &e);
        } else {
            apierr_set(&e, ST_EXPIRED, "The resourceVersion for the provided list is too old.");
        }
        goto fail;
    }
    (void)items_at;
    char *tok = NULL;
    if (b.more && b.last_key)
        tok = api_make_continue(list_rv, b.last_key + b.prefix_len);
    if (b.rows) {
        char rvs[32];
        snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)list_rv);
        json_t *t = table_new(r->res->plural, b.rows, rvs, tok, 1);
        free(tok);
        http_segs_free(b.first);
        free(start);
        api_listopts_free(&o);
        api_send_json(r, 200, t, 0);
        return;
    }
    char tail[1024];
    if (res->is_cr)
        hl = snprintf(tail, sizeof tail, "],\"kind\":\"%s\",\"metadata\":{%s%s%s\"resourceVersion\":\"%llu\"}}",
                      res->list_kind, tok ? "\"continue\":\"" : "", tok ? tok : "", tok ? "\"," : "",
                      (unsigned long long)list_rv);
    else
        hl = snprintf(tail, sizeof tail, "],\"metadata\":{%s%s%s\"resourceVersion\":\"%llu\"}}",
                      tok ? "\"continue\":\"" : "", tok ? tok : "", tok ? "\"," : "",
                      (unsigned long long)list_rv);
    free(tok);
    lb_put(&b, tail, (size_t)hl);
    if (r->pretty) { /* indented from one buffer */
        char *flat = malloc(b.len ? b.len : 1), *p = flat;
        if (!flat)
            abort();
        for (http_seg *g = b.first; g; g = g->next) {
            memcpy(p, g->data, g->len);
            p += g->len;
        }
        http_segs_free(b.first);
        api_send_bytes(r, 200, flat, b.len);
        free(flat);
    } else {
        lb_put(&b, "\n", 1);
        http_respond_segs(r->http, 200, JSON_CT, b.first, r->headers);
    }
    free(start);
    api_listopts_free(&o);
    return;
fail:
    free(start);
    api_listopts_free(&o);
    api_send_error(r, &e);
}

/* ---- routing ------------------------------------------------------------------------------------ */

static char *dupn(const char *s, size_t n)
{
    char *o = malloc(n + 1);
    memcpy(o, s, n);
    o[n] = 0;
    return o;
}

/* Split path into at most 16 segments (no empty ones except a trailing slash → fail). */
static int split_path(const char *path, char **seg, int max)
{
    int n = 0;
    const char *p = path;
    if (*p != '/')
        return -1;
    p++;
    while (*p) {
        const char *s = strchr(p, '/');
        size_t len = s ? (size_t)(s - p) : strlen(p);
        if (len == 0 || n == max)
            goto bad;
        seg[n++] = dupn(p, len);
        p += len;
        if (*p == '/')
            p++;
        if (s && !*p)
            goto bad; /* trailing slash */
    }
    return n;
bad:
    while (n > 0)
        free(seg[--n]);
    return -1;
}

static void apireq_free(apireq *r)
{
    free(r->ns);
    free(r->name);
    free(r->sub);
    free(r->headers);
    free(r);
}

static int want_pretty(http_req *h)
{
    char *p = http_query_get(h, "pretty");
    if (p) {
        int b = go_parse_bool(p);
        free(p);
        if (b >= 0)
            return b;
    }
    const char *ua = http_header_get(h, "user-agent");
    if (ua && (!strncmp(ua, "curl", 4) || !strncmp(ua, "Wget", 4) || !strncmp(ua, "Mozilla/5.0", 11)))
        return 1;
    return 0;
}

static void early_error(http_req *h)
{
    apireq r = {.http = h, .pretty = 0};
    apierr e = {0};
    switch (h->status) {
    case 413:
        apierr_set(&e, ST_TOO_LARGE, "Request entity too large: limit is 3145728");
        break;
    case 431:
        apierr_set(&e, ST_HEADERS_TOO_LARGE, "request header fields too large");
        break;
    default:
        apierr_set(&e, ST_BAD_REQUEST, "malformed HTTP request");
    }
    api_send_error(&r, &e);
}

/* The checks behind /livez, /readyz and /healthz (all pass while the loop answers), as
 * kube's healthz: ?verbose lists them, ?exclude=NAME skips one, /livez/NAME runs one alone. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *const health_checks[] = {"ping", "log", "store"};
enum { NCHECKS = sizeof health_checks / sizeof health_checks[0] };

static void health(http_req *h, const char *path)
{
    static const char ok[] = "ok", nosniff[] = "X-Content-Type-Options: nosniff\r\n";
    const char *slash = strchr(path + 1, '/');
    if (slash) { /* one check; an unknown one is not a route */
        for (size_t i = 0; i < NCHECKS; i++)
            if (!strcmp(slash + 1, health_checks[i])) {
                http_respond(h, 200, "text/plain; charset=utf-8", ok, 2, nosniff);
                return;
            }
        send_plain_404(h);
        return;
    }
    char *verbose = http_query_get(h, "verbose");
    if (!verbose) {
        http_respond(h, 200, "text/plain; charset=utf-8", ok, 2, nosniff);
        return;
    }
    free(verbose);
    char **ex = NULL;
    size_t nex = http_query_all(h, "exclude", &ex);
    char used[64] = {0};
    char buf[2048];
    size_t n = 0;
    for (size_t i = 0; i < NCHECKS; i++) {
        int skip = 0;
        for (size_t k = 0; k < nex && k < sizeof used; k++)
            if (!strcmp(ex[k], health_checks[i]))
                skip = used[k] = 1;
        n += (size_t)snprintf(buf + n, sizeof buf - n, skip ? "[+]%s excluded: ok\n" : "[+]%s ok\n",
                              health_checks[i]);
    }
    /* names that matched no check: one warning line, sorted and each once, as kube's sets */
    const char *miss[64];
    size_t nmiss = 0;
    for (size_t k = 0; k < nex && k < sizeof used; k++) {
        int dup = 0;
        for (size_t j = 0; j < nmiss; j++)
            dup |= !strcmp(miss[j], ex[k]);
        if (!used[k] && !dup)
            miss[nmiss++] = ex[k];
    }
    qsort(miss, nmiss, sizeof *miss, cmp_str);
    for (size_t k = 0; k < nmiss && n < sizeof buf - 256; k++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"%.100s\"",
                              k ? "," : "warn: some health checks cannot be excluded: no matches for ",
                              miss[k]);
    if (nmiss)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "\n");
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s check passed\n", path + 1);
    http_strv_free(ex, nex);
    http_respond(h, 200, "text/plain; charset=utf-8", buf, n, nosniff);
}

static unsigned method_verb(int method, int collection, int watch)
{
    switch (method) {
    case HTTP_GET:
    case HTTP_HEAD:
        return collection ? (watch ? VERB_WATCH : VERB_LIST) : VERB_GET;
    case HTTP_POST: return VERB_CREATE;
    case HTTP_PUT: return VERB_UPDATE;
    case HTTP_PATCH: return VERB_PATCH;
    case HTTP_DELETE: return collection ? VERB_DELETECOLLECTION : VERB_DELETE;
    }
    return 0;
}

static const char *metric_verb(unsigned verb)
{
    switch (verb) {
    case VERB_GET: return "GET";
    case VERB_LIST: return "LIST";
    case VERB_WATCH: return "WATCH";
    case VERB_CREATE: return "POST";
    case VERB_UPDATE: return "PUT";
    case VERB_PATCH: return "PATCH";
    case VERB_DELETE: return "DELETE";
    case VERB_DELETECOLLECTION: return "DELETECOLLECTION";
    }
    return "";
}

void api_request_done(void *ctx, http_req *h)
{
    api_t *api = ctx;
    if (!api->metrics)
        return;
    double secs = (double)(uv_hrtime() - h->start_ns) / 1e9;
    tj_metrics_request(api->metrics, h->m_verb ? h->m_verb : h->method_name, h->m_group, h->m_version,
                       h->m_resource, h->m_sub, h->m_scope, h->status, secs);
}

/* GET /metrics: Prometheus text, for users allowed the non-resource URL. */
static void serve_metrics(api_t *api, http_req *h, const auth_user *user)
{
    if (!authorize_path(user, "get", "/metrics")) {
        apireq r = {.api = api, .http = h};
        apierr e = {0};
        apierr_set(&e, ST_FORBIDDEN, "forbidden: User \"%s\" cannot get path \"/metrics\"", user->name);
        apierr_details(&e, NULL, NULL, NULL, NULL);
        api_send_error(&r, &e);
        return;
    }
    size_t len = 0;
    char *text = api->metrics ? tj_metrics_render(api->metrics, &len) : NULL;
    http_respond(h, 200, METRICS_CONTENT_TYPE, text ? text : "", text ? len : 0, NULL);
    free(text);
}

static void handle_as(api_t *api, http_req *h, const auth_user *user);

static void auth_user_free(auth_user *u)
{
    if (!u)
        return;
    free(u->name);
    free(u->uid);
    for (size_t i = 0; i < u->ngroups; i++)
        free(u->groups[i]);
    free(u->groups);
    free(u);
}

/* kube's impersonation filter: Impersonate-User (and -Group, -Uid) make the request the named
 * user's, if the caller may `impersonate` users (and groups, uids) — system:masters may. 0 and
 * *as, or -1 after answering 400/403. */
static int impersonate(api_t *api, http_req *h, const auth_user *caller, auth_user **as)
{
    enum { MAX_GROUPS = 32 };
    const char *name = http_header_get(h, "impersonate-user");
    const char *uid = http_header_get(h, "impersonate-uid");
    const char *groups[MAX_GROUPS];
    size_t ng = http_header_all(h, "impersonate-group", groups, MAX_GROUPS);
    apireq r = {.api = api, .http = h, .user = caller};
    apierr e = {0};
    if (!name || !*name) {
        apierr_set(&e, ST_BAD_REQUEST, "requested %s without impersonating a user",
                   ng ? "groups" : "a uid");
        api_send_error(&r, &e);
        return -1;
    }
    /* what is checked, in kube's order: the user, each group, the uid */
    struct { const char *resource, *value; } checks[MAX_GROUPS + 2];
    size_t n = 0;
    checks[n++] = (typeof(checks[0])){"users", name};
    for (size_t i = 0; i < ng; i++)
        checks[n++] = (typeof(checks[0])){"groups", groups[i]};
    if (uid && *uid)
        checks[n++] = (typeof(checks[0])){"uids", uid};
    for (size_t i = 0; i < n; i++) {
        authz_attrs a = {.user = caller, .verb = "impersonate", .resource_request = 1, .ns = "",
                         .group = "", .version = "", .resource = checks[i].resource, .sub = "",
                         .name = checks[i].value};
        if (!authz_allowed(&a)) {
            char who[512];
            html_escape_into(who, sizeof who, caller->name);
            apierr_set(&e, ST_FORBIDDEN,
                       "%s \"%s\" is forbidden: User \"%s\" cannot impersonate resource \"%s\" in API group \"\" at the cluster scope",
                       checks[i].resource, checks[i].value, who, checks[i].resource);
            apierr_details(&e, checks[i].value, "", checks[i].resource, NULL);
            api_send_error(&r, &e);
            return -1;
        }
    }
    auth_user *u = calloc(1, sizeof *u);
    if (!u || !(u->groups = calloc(ng + 1, sizeof *u->groups)))
        abort();
    u->name = strdup(name);
    u->uid = strdup(uid ? uid : "");
    int anon = !strcmp(name, "system:anonymous"), has_auth = 0, has_unauth = 0;
    for (size_t i = 0; i < ng; i++) {
        has_auth |= !strcmp(groups[i], "system:authenticated");
        has_unauth |= !strcmp(groups[i], "system:unauthenticated");
        u->groups[u->ngroups++] = strdup(groups[i]);
    }
    /* kube adds system:authenticated to a named user (system:unauthenticated to the anonymous
     * one) unless the caller gave either */
    if (!anon && !has_auth && !has_unauth)
        u->groups[u->ngroups++] = strdup("system:authenticated");
    else if (anon && !has_unauth)
        u->groups[u->ngroups++] = strdup("system:unauthenticated");
    *as = u;
    return 0;
}

void api_handle(void *ctx, http_req *h)
{
    api_t *api = ctx;
    api->requests++;
    if (h->status) { /* transport-level error found while reading the request */
        early_error(h);
        return;
    }
    const char *path = h->path;
    if (!strcmp(path, "/readyz") || !strcmp(path, "/livez") || !strcmp(path, "/healthz") ||
        !strncmp(path, "/readyz/", 8) || !strncmp(path, "/livez/", 7) || !strncmp(path, "/healthz/", 9)) {
        health(h, path);
        return;
    }
    const auth_user *user = NULL;
    if (authn_authenticate(api->authn, http_header_get(h, "authorization"), &user) < 0) {
        apireq r = {.api = api, .http = h};
        apierr e = {0};
        apierr_set(&e, ST_UNAUTHORIZED, "Unauthorized");
        api_send_error(&r, &e);
        return;
    }
    auth_user *as = NULL;
    if (http_header_get(h, "impersonate-user") || http_header_get(h, "impersonate-group") ||
        http_header_get(h, "impersonate-uid")) {
        if (impersonate(api, h, user, &as) < 0)
            return;
        user = as;
    }
    handle_as(api, h, user);
    auth_user_free(as);
}

/* The request from here on is user's (the caller's, or the one it impersonates). */
static void handle_as(api_t *api, http_req *h, const auth_user *user)
{
    const char *path = h->path;
    int pretty = want_pretty(h);
    if (!strcmp(path, "/metrics")) {
        serve_metrics(api, h, user);
        return;
    }
    discovery_doc doc;
    const char *accept = http_header_get(h, "accept");
    int found = discovery_lookup(path, accept, &doc);
    /* /version/, /api/, /apis/g/v/ … are the same documents (the Python client asks for
     * /version/ and /apis/); a resource path keeps its slash */
    char dpath[512];
    size_t plen = strlen(path);
    if (!found && plen > 1 && plen < sizeof dpath && path[plen - 1] == '/' &&
        strncmp(path, "/openapi", 8)) {
        memcpy(dpath, path, plen - 1);
        dpath[plen - 1] = '\0';
        if ((found = discovery_lookup(dpath, accept, &doc)))
            path = dpath;
    }
    if (found) {
        if (!authorize_path(user, "get", h->path)) {
            apireq r = {.api = api, .http = h, .pretty = pretty};
            apierr e = {0};
            apierr_set(&e, ST_FORBIDDEN, "forbidden: User \"%s\" cannot get path \"%s\"", user->name, h->path);
            apierr_details(&e, NULL, NULL, NULL, NULL);
            api_send_error(&r, &e);
            return;
        }
        http_respond(h, doc.status, doc.ctype, doc.body, doc.len, NULL);
        return;
    }

    char *seg[16];
    int n = split_path(path, seg, 16);
    const char *group = NULL, *version = NULL;
    int i = 0, legacy_watch = 0;
    apireq *r = calloc(1, sizeof *r);
    r->api = api;
    r->http = h;
    r->user = user;
    r->pretty = pretty;
    if (n >= 2 && !strcmp(seg[0], "api")) {
        group = "";
        version = seg[1];
        i = 2;
    } else if (n >= 3 && !strcmp(seg[0], "apis")) {
        group = seg[1];
        version = seg[2];
        i = 3;
    }
    if (group && i < n && !strcmp(seg[i], "watch")) {
        legacy_watch = 1;
        i++;
    }
    const char *resname = NULL;
    if (group && i < n) {
        /* requestinfo.go: namespaces/{ns}/{resource}… unless the third part is a namespace
         * subresource (status, finalize): then it is the namespace object itself. */
        if (!strcmp(seg[i], "namespaces") && n - i >= 3 && strcmp(seg[i + 2], "status") &&
            strcmp(seg[i + 2], "finalize")) {
            r->ns = strdup(seg[i + 1]);
            resname = seg[i + 2];
            i += 3;
        } else if (!strcmp(seg[i], "namespaces") && n - i >= 2) {
            resname = seg[i];
            r->ns = strdup(seg[i + 1]);
            i += 2;
        } else {
            resname = seg[i];
            i += 1;
        }
    }
    const resource *res = resname ? resource_find(group, version, resname) : NULL;
    int ok = res != NULL && n >= 0;
    if (ok) {
        r->res = res;
        int rest = n - i;
        if (res->namespaced) {
            if (!r->ns && rest > 0)
                ok = 0; /* only list/watch without a namespace */
        } else {
            /* cluster-scoped: /namespaces/{name} put the name in ns */
            if (r->ns && !strcmp(resname, "namespaces")) {
                r->name = r->ns;
                r->ns = strdup(r->name);
                if (rest > 1)
                    ok = 0;
                else if (rest == 1)
                    r->sub = strdup(seg[i]);
            } else if (r->ns) {
                ok = 0;
            } else if (rest >= 1) {
                r->name = strdup(seg[i]);
                if (rest == 2)
                    r->sub = strdup(seg[i + 1]);
                else if (rest > 2)
                    ok = 0;
            }
        }
        if (ok && res->namespaced && r->ns) {
            if (rest >= 1)
                r->name = strdup(seg[i]);
            if (rest == 2)
                r->sub = strdup(seg[i + 1]);
            if (rest > 2)
                ok = 0;
        }
        if (!r->ns)
            r->ns = strdup("");
    }
    for (int k = 0; k < n; k++)
        free(seg[k]);
    char *wv = http_query_get(h, "watch");
    int watch = legacy_watch || api_query_bool(wv);
    free(wv);
    if (ok && res->ephemeral && (r->name || legacy_watch))
        ok = 0; /* a self review has its collection's POST and no other route */
    if (ok && res->ephemeral && h->method != HTTP_POST) {
        /* go-restful's 405 for a route without the method, as kube answers it */
        apierr e = {0};
        apierr_set(&e, ST_METHOD_NOT_ALLOWED, "the server does not allow this method on the requested resource");
        apierr_details(&e, NULL, NULL, NULL, NULL);
        api_send_error(r, &e);
        apireq_free(r);
        return;
    }
    unsigned verb = ok ? method_verb(h->method, r->name == NULL, watch) : 0;
    if (ok && res->namespaced && !*r->ns && verb != VERB_LIST && verb != VERB_WATCH)
        ok = 0;
    if (ok && legacy_watch && h->method != HTTP_GET)
        ok = 0;
    if (!ok || !verb) {
        if (ok && !verb) {
            apierr e = {0};
            apierr_method_not_allowed(&e, h->method_name, resource_gr(res), res->group, res->plural);
            api_send_error(r, &e);
        } else {
            send_plain_404(h);
        }
        apireq_free(r);
        return;
    }
    if (legacy_watch && r->name) {
        /* /watch/.../name is a watch of one object: a field selector on the name */
        verb = VERB_WATCH;
    }
    r->verb = verb;
    h->m_verb = metric_verb(verb);
    h->m_group = res->group;
    h->m_version = res->version;
    h->m_resource = res->plural;
    h->m_scope = r->name ? "resource" : (res->namespaced && *r->ns) ? "namespace" : "cluster";
    apierr e = {0};
    if (r->sub) {
        const subresource *sr = NULL;
        for (const subresource *s = res->subresources; s && s->name; s++)
            if (!strcmp(s->name, r->sub))
                sr = s;
        if (sr)
            h->m_sub = sr->name;
        if (!sr) {
            apierr_not_found(&e, resource_gr(res), res->group, res->plural, r->name);
            api_send_error(r, &e);
            apireq_free(r);
            return;
        }
        if (!(sr->verbs & verb)) {
            apierr_method_not_allowed(&e, verb_name(verb), resource_gr(res), res->group, res->plural);
            api_send_error(r, &e);
            apireq_free(r);
            return;
        }
    } else if (!(res->verbs & verb)) {
        apierr_method_not_allowed(&e, verb_name(verb), resource_gr(res), res->group, res->plural);
        api_send_error(r, &e);
        apireq_free(r);
        return;
    }
    if (!authorize(user, verb_name(verb), res, r->sub, r->ns, r->name)) {
        forbidden(r, verb_name(verb));
        apireq_free(r);
        return;
    }
    if (res->ephemeral) {
        api_review(r);
        apireq_free(r);
        return;
    }
    if ((verb == VERB_UPDATE || verb == VERB_PATCH) && !r->name) {
        if (verb == VERB_PATCH) {
            api_patch(r); /* checks the content type first, then answers 400 */
        } else {
            apierr_set(&e, ST_BAD_REQUEST, "name must be provided");
            api_send_error(r, &e);
        }
        apireq_free(r);
        return;
    }
    if (h->method == HTTP_POST && r->name && !r->sub) {
        apierr_method_not_allowed(&e, "create", resource_gr(res), res->group, res->plural);
        api_send_error(r, &e);
        apireq_free(r);
        return;
    }
    if (verb == VERB_GET && r->sub && !strcmp(r->sub, "log")) {
        if (!strcmp(res->plural, "pods"))
            podlog_serve(r);
        else
            podlog_serve_job(r);
        apireq_free(r);
        return;
    }
    if (r->sub && (!strcmp(r->sub, "exec") || !strcmp(r->sub, "attach"))) {
        podexec_serve(r);
        apireq_free(r);
        return;
    }
    if (verb == VERB_GET && r->sub && !strcmp(r->sub, "scale")) {
        api_scale_get(r);
        apireq_free(r);
        return;
    }
    switch (verb) {
    case VERB_GET: api_get(r); break;
    case VERB_LIST: api_list(r); break;
    case VERB_WATCH:
        if (r->name) { /* legacy single-object watch path */
            free(h->query ? NULL : NULL);
        }
        api_list(r);
        break;
    case VERB_CREATE: api_create(r); break;
    case VERB_UPDATE: api_update(r); break;
    case VERB_PATCH: api_patch(r); break;
    case VERB_DELETE: api_delete(r); break;
    case VERB_DELETECOLLECTION: api_deletecollection(r); break;
    }
    /* Verb handlers that answer later keep their own copy of what they need; apireq is ours. */
    apireq_free(r);
}
