/* discovery — /version, /api, /apis, /apis/<group>[/<version>], /api/<version> and the
 * /openapi/v3 documents (see discovery.h).
 *
 * Every document is generated from the resource table once, in discovery_init, serialised, and
 * served from memory. /api and /apis exist in three variants chosen by the Accept header:
 *
 *     Accept (first acceptable range, highest q)        answer
 *     ...;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList       aggregated, apidiscovery/v2
 *     ...;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList  aggregated, v2beta1
 *     application/json, application/ *, * / *, absent, or nothing usable   legacy
 *
 * The aggregated Content-Type must be exactly the media type kubectl asked for: with a plain
 * application/json Content-Type it silently reads the list as empty (client-compat.md §1). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "discovery.h"
#include "openapi.h"
#include "resource.h"

#define CT_JSON "application/json"
#define CT_AGG_V2 "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
#define CT_AGG_V2B1 "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

enum variant { V_PLAIN, V_AGG_V2, V_AGG_V2B1 };

typedef struct entry {
    char *path;
    enum variant variant;
    discovery_doc doc;    /* body owned by the entry unless static_body */
    int static_body;
} entry;

static struct {
    entry *v;
    size_t n, cap;
} D;

static const char not_found_body[] = "404 page not found\n";

/* ------------------------------------------------------------------------- storage ---- */

/* Appends an entry; body is taken over unless is_static. Returns 0 or -ENOMEM (body is then
 * freed unless is_static). */
static int put_raw(const char *path, enum variant var, int status, const char *ctype,
                   const char *body, size_t len, int is_static)
{
    char *p = strdup(path);
    if (p && D.n == D.cap) {
        size_t cap = D.cap ? D.cap * 2 : 16;
        entry *v = realloc(D.v, cap * sizeof *v);
        if (v) {
            D.v = v;
            D.cap = cap;
        }
    }
    if (!p || D.n == D.cap) {
        free(p);
        if (!is_static)
            free((char *)body);
        return -ENOMEM;
    }
    D.v[D.n++] = (entry){p, var, {status, ctype, body, len}, is_static};
    return 0;
}

/* Stores doc (consumed) serialised under path. Returns 0 or -ENOMEM. */
static int put(const char *path, enum variant var, const char *ctype, json_t *doc)
{
    if (!doc)
        return -ENOMEM;
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!body)
        return -ENOMEM;
    return put_raw(path, var, 200, ctype, body, strlen(body), 0);
}

static const entry *find(const char *path, enum variant var)
{
    for (size_t i = 0; i < D.n; i++)
        if (D.v[i].variant == var && !strcmp(D.v[i].path, path))
            return &D.v[i];
    return NULL;
}

/* -------------------------------------------------------------------- table walking ---- */

/* Is resources[i] the first entry of its group (resp. group-version) in table order? */
static int first_of_group(size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (!strcmp(resources[j].group, resources[i].group))
            return 0;
    return 1;
}

static int first_of_gv(size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (!strcmp(resources[j].group, resources[i].group) &&
            !strcmp(resources[j].version, resources[i].version))
            return 0;
    return 1;
}

static int same_gv(const resource *r, const char *group, const char *version)
{
    return !strcmp(r->group, group) && !strcmp(r->version, version);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ["create","delete",...]: the verb names of a mask, sorted as kube lists them. */
static json_t *verbs_json(unsigned verbs)
{
    const char *names[32];
    size_t n = 0;
    for (unsigned bit = 1; bit && n < 32; bit <<= 1)
        if (verbs & bit)
            names[n++] = verb_name(bit);
    qsort(names, n, sizeof names[0], cmp_str);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

static json_t *strings_json(const char *const *v)
{
    json_t *a = json_array();
    for (; v && *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

static void set_names(json_t *o, const resource *r)
{
    if (r->short_names && r->short_names[0])
        json_object_set_new(o, "shortNames", strings_json(r->short_names));
    if (r->categories && r->categories[0])
        json_object_set_new(o, "categories", strings_json(r->categories));
}

static json_t *gv_json(const char *group, const char *version)
{
    char gv[160];
    snprintf(gv, sizeof gv, "%s/%s", group, version);
    return json_pack("{s:s, s:s}", "groupVersion", gv, "version", version);
}

/* The group's versions in table order; the first is the preferred one. */
static json_t *group_versions(const char *group)
{
    json_t *a = json_array();
    for (size_t i = 0; i < nresources; i++)
        if (!strcmp(resources[i].group, group) && first_of_gv(i))
            json_array_append_new(a, gv_json(group, resources[i].version));
    return a;
}

static json_t *api_group(const char *group)
{
    json_t *versions = group_versions(group);
    json_t *pref = json_deep_copy(json_array_get(versions, 0));
    return json_pack("{s:s, s:o, s:o}", "name", group, "versions", versions,
                     "preferredVersion", pref);
}

/* ---------------------------------------------------------------- legacy documents ---- */

/* APIResourceList for a group-version: each resource, then its "<plural>/<sub>" entries. */
static json_t *resource_list(const char *group, const char *version)
{
    json_t *list = json_array();
    for (size_t i = 0; i < nresources; i++) {
        const resource *r = &resources[i];
        if (!same_gv(r, group, version))
            continue;
        json_t *e = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", r->plural, "singularName",
                              r->singular, "namespaced", r->namespaced, "kind", r->kind,
                              "verbs", verbs_json(r->verbs));
        set_names(e, r);
        json_array_append_new(list, e);
        for (const subresource *s = r->subresources; s && s->name; s++) {
            char name[128];
            snprintf(name, sizeof name, "%s/%s", r->plural, s->name);
            json_t *se = json_pack("{s:s, s:s, s:b}", "name", name, "singularName", "",
                                   "namespaced", r->namespaced);
            if (s->kind && (strcmp(s->kind_group, r->group) || strcmp(s->kind_version, r->version))) {
                /* another group's kind (scale): APIResource names its group-version */
                json_object_set_new(se, "group", json_string(s->kind_group));
                json_object_set_new(se, "version", json_string(s->kind_version));
            }
            json_object_set_new(se, "kind", json_string(s->kind ? s->kind : r->kind));
            json_object_set_new(se, "verbs", verbs_json(s->verbs));
            json_array_append_new(list, se);
        }
    }
    char gv[160];
    snprintf(gv, sizeof gv, "%s%s%s", group, group[0] ? "/" : "", version);
    json_t *doc = json_pack("{s:s, s:s, s:o}", "kind", "APIResourceList", "groupVersion", gv,
                            "resources", list);
    if (group[0])  /* kube omits apiVersion on /api/v1 */
        json_object_set_new(doc, "apiVersion", json_string("v1"));
    return doc;
}

static json_t *api_versions(const char *server_addr)
{
    json_t *versions = json_array();
    for (size_t i = 0; i < nresources; i++)
        if (!resources[i].group[0] && first_of_gv(i))
            json_array_append_new(versions, json_string(resources[i].version));
    return json_pack("{s:s, s:o, s:[{s:s, s:s}]}", "kind", "APIVersions", "versions", versions,
                     "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress",
                     server_addr);
}

static json_t *api_group_list(void)
{
    json_t *groups = json_array();
    for (size_t i = 0; i < nresources; i++)
        if (resources[i].group[0] && first_of_group(i))
            json_array_append_new(groups, api_group(resources[i].group));
    return json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups",
                     groups);
}

/* ------------------------------------------------------------ aggregated documents ---- */

static json_t *response_kind(const resource *r)
{
    return json_pack("{s:s, s:s, s:s}", "group", r->group, "version", r->version, "kind",
                     r->kind);
}

static json_t *sub_response_kind(const resource *r, const subresource *s)
{
    if (!s->kind)
        return response_kind(r);
    return json_pack("{s:s, s:s, s:s}", "group", s->kind_group, "version", s->kind_version,
                     "kind", s->kind);
}

static json_t *agg_resource(const resource *r)
{
    json_t *e = json_pack("{s:s, s:s, s:s, s:o, s:o}", "resource", r->plural,
                          "singularResource", r->singular, "scope",
                          r->namespaced ? "Namespaced" : "Cluster", "responseKind",
                          response_kind(r), "verbs", verbs_json(r->verbs));
    set_names(e, r);
    if (r->subresources && r->subresources[0].name) {
        json_t *subs = json_array();
        for (const subresource *s = r->subresources; s->name; s++)
            json_array_append_new(subs, json_pack("{s:s, s:o, s:o}", "subresource", s->name,
                                                  "responseKind", sub_response_kind(r, s), "verbs",
                                                  verbs_json(s->verbs)));
        json_object_set_new(e, "subresources", subs);
    }
    return e;
}

/* One APIGroupDiscovery item: the group's versions in table order, each with its resources. */
static json_t *agg_group(const char *group)
{
    json_t *versions = json_array();
    for (size_t i = 0; i < nresources; i++) {
        if (strcmp(resources[i].group, group) || !first_of_gv(i))
            continue;
        json_t *res = json_array();
        for (size_t j = i; j < nresources; j++)
            if (same_gv(&resources[j], group, resources[i].version))
                json_array_append_new(res, agg_resource(&resources[j]));
        json_array_append_new(versions, json_pack("{s:s, s:o, s:s}", "version",
                                                  resources[i].version, "resources", res,
                                                  "freshness", "Current"));
    }
    return json_pack("{s:{s:s}, s:o}", "metadata", "name", group, "versions", versions);
}

/* core: only the legacy group ""; else every named group. */
static json_t *agg_list(int core, enum variant var)
{
    json_t *items = json_array();
    for (size_t i = 0; i < nresources; i++)
        if ((resources[i].group[0] == 0) == core && first_of_group(i))
            json_array_append_new(items, agg_group(resources[i].group));
    return json_pack("{s:s, s:s, s:{}, s:o}", "kind", "APIGroupDiscoveryList", "apiVersion",
                     var == V_AGG_V2 ? "apidiscovery.k8s.io/v2" : "apidiscovery.k8s.io/v2beta1",
                     "metadata", "items", items);
}

/* --------------------------------------------------------------------------- openapi ---- */

/* FNV-1a, 64 bits: enough to change the index URL when a document changes (kubectl caches by
 * that URL). */
static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Each group-version document, then the index pointing at them. */
static int put_openapi(void)
{
    json_t *index = json_object();
    for (size_t i = 0; i < nresources; i++) {
        const resource *r = &resources[i];
        if (!first_of_gv(i))
            continue;
        char key[160], path[192], url[256];
        if (r->group[0])
            snprintf(key, sizeof key, "apis/%s/%s", r->group, r->version);
        else
            snprintf(key, sizeof key, "api/%s", r->version);
        snprintf(path, sizeof path, "/openapi/v3/%s", key);
        int rc = put(path, V_PLAIN, CT_JSON, openapi_v3_doc(r->group, r->version));
        if (rc < 0) {
            json_decref(index);
            return rc;
        }
        const discovery_doc *d = &D.v[D.n - 1].doc;
        snprintf(url, sizeof url, "%s?hash=%016" PRIX64, path, fnv1a(d->body, d->len));
        json_object_set_new(index, key, json_pack("{s:s}", "serverRelativeURL", url));
    }
    return put("/openapi/v3", V_PLAIN, CT_JSON, json_pack("{s:o}", "paths", index));
}

/* ------------------------------------------------------------------------ public API ---- */

static json_t *version_doc(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", "1", "minor", "32",
                     "gitVersion", "v1.32.0-torchjob", "gitCommit",
                     "0000000000000000000000000000000000000000", "gitTreeState", "clean",
                     "buildDate", "2025-01-01T00:00:00Z", "goVersion", "go1.23.0", "compiler",
                     "gc", "platform", "linux/amd64");
}

int discovery_init(const char *server_addr)
{
    discovery_free();
    int rc = 0;
    rc = rc ? rc : put("/version", V_PLAIN, CT_JSON, version_doc());
    rc = rc ? rc : put("/api", V_PLAIN, CT_JSON, api_versions(server_addr));
    rc = rc ? rc : put("/api", V_AGG_V2, CT_AGG_V2, agg_list(1, V_AGG_V2));
    rc = rc ? rc : put("/api", V_AGG_V2B1, CT_AGG_V2B1, agg_list(1, V_AGG_V2B1));
    rc = rc ? rc : put("/apis", V_PLAIN, CT_JSON, api_group_list());
    rc = rc ? rc : put("/apis", V_AGG_V2, CT_AGG_V2, agg_list(0, V_AGG_V2));
    rc = rc ? rc : put("/apis", V_AGG_V2B1, CT_AGG_V2B1, agg_list(0, V_AGG_V2B1));
    for (size_t i = 0; !rc && i < nresources; i++) {
        const resource *r = &resources[i];
        char path[192];
        if (r->group[0] && first_of_group(i)) {
            snprintf(path, sizeof path, "/apis/%s", r->group);
            json_t *g = api_group(r->group);
            json_object_set_new(g, "kind", json_string("APIGroup"));
            json_object_set_new(g, "apiVersion", json_string("v1"));
            rc = put(path, V_PLAIN, CT_JSON, g);
        }
        if (!rc && first_of_gv(i)) {
            if (r->group[0])
                snprintf(path, sizeof path, "/apis/%s/%s", r->group, r->version);
            else
                snprintf(path, sizeof path, "/api/%s", r->version);
            rc = put(path, V_PLAIN, CT_JSON, resource_list(r->group, r->version));
        }
    }
    rc = rc ? rc : put_openapi();
    /* kube's plain-text 404: a JSON v2 document breaks kubectl, which parses it as protobuf */
    rc = rc ? rc : put_raw("/openapi/v2", V_PLAIN, 404, "text/plain; charset=utf-8",
                           not_found_body, sizeof not_found_body - 1, 1);
    if (rc)
        discovery_free();
    return rc;
}

/* Picks the /api and /apis variant. Ranges are taken in order of q (ties: first listed),
 * as apimachinery's negotiation does; a range we cannot serve is skipped, and when none is
 * usable the legacy answer is given (never 406). */
static enum variant negotiate(const char *accept)
{
    enum variant best = V_PLAIN;
    double best_q = -1;
    const char *p = accept ? accept : "";
    while (*p) {
        size_t len = strcspn(p, ",");
        char range[512];
        snprintf(range, sizeof range, "%.*s", (int)(len < sizeof range ? len : sizeof range - 1),
                 p);
        p += len + (p[len] == ',');

        double q = 1;
        const char *as = NULL, *v = NULL, *g = NULL;
        char *save = NULL, *tok = strtok_r(range, ";", &save);
        char *type = tok;
        if (!type)
            continue;
        while ((tok = strtok_r(NULL, ";", &save))) {
            tok += strspn(tok, " \t");
            char *eq = strchr(tok, '=');
            if (!eq)
                continue;
            *eq = '\0';
            char *key = tok, *val = eq + 1;
            key[strcspn(key, " \t")] = '\0';
            val += strspn(val, " \t\"");
            val[strcspn(val, " \t\"")] = '\0';
            if (!strcmp(key, "q"))
                q = strtod(val, NULL);
            else if (!strcmp(key, "as"))
                as = val;
            else if (!strcmp(key, "v"))
                v = val;
            else if (!strcmp(key, "g"))
                g = val;
        }
        type += strspn(type, " \t");
        type[strcspn(type, " \t")] = '\0';
        if (strcasecmp(type, "application/json") && strcasecmp(type, "application/*") &&
            strcasecmp(type, "*/*"))
            continue;

        enum variant cand;
        if (!as)
            cand = V_PLAIN;
        else if (strcmp(as, "APIGroupDiscoveryList") || (g && strcmp(g, "apidiscovery.k8s.io")))
            continue;  /* as=Table and the like: not something these paths serve */
        else if (v && !strcmp(v, "v2"))
            cand = V_AGG_V2;
        else if (!v || !strcmp(v, "v2beta1"))
            cand = V_AGG_V2B1;
        else
            continue;
        if (q > 0 && q > best_q) {
            best = cand;
            best_q = q;
        }
    }
    return best;
}

int discovery_lookup(const char *path, const char *accept, discovery_doc *doc)
{
    enum variant var = V_PLAIN;
    if (!strcmp(path, "/api") || !strcmp(path, "/apis"))
        var = negotiate(accept);
    const entry *e = find(path, var);
    if (!e)
        return 0;
    *doc = e->doc;
    return 1;
}

void discovery_free(void)
{
    for (size_t i = 0; i < D.n; i++) {
        free(D.v[i].path);
        if (!D.v[i].static_body)
            free((char *)D.v[i].doc.body);
    }
    free(D.v);
    D.v = NULL;
    D.n = D.cap = 0;
}
