/* Unit tests for src/discovery.c (and the openapi documents it serves). The checks walk the
 * resource table rather than naming resources, so they keep holding as the table grows. */
#include "unit.h"
#include <jansson.h>
#include "discovery.h"
#include "resource.h"
#include "validate.h"

#define KUBECTL_ACCEPT                                                                  \
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"             \
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"        \
    "application/json"
#define V2B1_ACCEPT                                                                     \
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"        \
    "application/json"
#define CT_V2 "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
#define CT_V2B1 "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

static int setup(void **state)
{
    return discovery_init("127.0.0.1:6443");
}

static int teardown(void **state)
{
    discovery_free();
    return 0;
}

/* Looks path up (must be a 200 discovery path) and parses it; the caller owns the result. */
static json_t *get_doc(const char *path, const char *accept, const char **ctype)
{
    discovery_doc d;
    if (!discovery_lookup(path, accept, &d))
        fail_msg("%s: not a discovery path", path);
    assert_int_equal(d.status, 200);
    assert_int_equal(strlen(d.body), d.len);
    json_error_t err;
    json_t *j = json_loadb(d.body, d.len, 0, &err);
    if (!j)
        fail_msg("%s: bad JSON: %s", path, err.text);
    if (ctype)
        *ctype = d.ctype;
    return j;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        fail_msg("missing string %s", key);
    return s;
}

static json_t *find_by(json_t *arr, const char *key, const char *val)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
        if (json_is_string(json_object_get(e, key)) && !strcmp(str(e, key), val))
            return e;
    return NULL;
}

static void gv_string(char *buf, size_t n, const resource *r)
{
    snprintf(buf, n, "%s%s%s", r->group, r->group[0] ? "/" : "", r->version);
}

static size_t popcount(unsigned v)
{
    size_t n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

static void assert_sorted_verbs(json_t *verbs, unsigned mask)
{
    assert_true(json_is_array(verbs));
    assert_int_equal(json_array_size(verbs), popcount(mask));
    for (size_t i = 1; i < json_array_size(verbs); i++)
        assert_true(strcmp(json_string_value(json_array_get(verbs, i - 1)),
                           json_string_value(json_array_get(verbs, i))) < 0);
}

/* ------------------------------------------------------------------------ /version ---- */

static void test_version(void **state)
{
    const char *ct;
    json_t *v = get_doc("/version", NULL, &ct);
    assert_string_equal(ct, "application/json");
    assert_string_equal(str(v, "major"), "1");
    assert_string_equal(str(v, "minor"), "32");
    assert_true(!strncmp(str(v, "gitVersion"), "v1.32.", 6));
    assert_string_equal(str(v, "gitTreeState"), "clean");
    assert_string_equal(str(v, "platform"), "linux/amd64");
    str(v, "gitCommit");
    str(v, "buildDate");
    str(v, "goVersion");
    str(v, "compiler");
    json_decref(v);
}

/* ---------------------------------------------------------------- legacy discovery ---- */

static void test_api_legacy(void **state)
{
    static const char *const accepts[] = {NULL, "", "application/json", "application/json, */*",
                                          "application/json;as=Table;v=v1;g=meta.k8s.io"};
    for (size_t i = 0; i < sizeof accepts / sizeof accepts[0]; i++) {
        const char *ct;
        json_t *v = get_doc("/api", accepts[i], &ct);
        assert_string_equal(ct, "application/json");
        assert_string_equal(str(v, "kind"), "APIVersions");
        assert_string_equal(json_string_value(json_array_get(json_object_get(v, "versions"), 0)),
                            "v1");
        json_t *cidr = json_array_get(json_object_get(v, "serverAddressByClientCIDRs"), 0);
        assert_string_equal(str(cidr, "clientCIDR"), "0.0.0.0/0");
        assert_string_equal(str(cidr, "serverAddress"), "127.0.0.1:6443");
        json_decref(v);
    }
}

static void test_apis_legacy(void **state)
{
    const char *ct;
    json_t *v = get_doc("/apis", "application/json", &ct);
    assert_string_equal(ct, "application/json");
    assert_string_equal(str(v, "kind"), "APIGroupList");
    assert_string_equal(str(v, "apiVersion"), "v1");
    json_t *groups = json_object_get(v, "groups");
    json_t *kf = find_by(groups, "name", "kubeflow.org");
    assert_non_null(kf);
    assert_string_equal(str(json_object_get(kf, "preferredVersion"), "groupVersion"),
                        "kubeflow.org/v1");
    assert_non_null(find_by(json_object_get(kf, "versions"), "groupVersion", "kubeflow.org/v1"));
    assert_null(find_by(groups, "name", ""));  /* core is not a named group */
    json_decref(v);

    v = get_doc("/apis/kubeflow.org", NULL, &ct);
    assert_string_equal(str(v, "kind"), "APIGroup");
    assert_string_equal(str(v, "apiVersion"), "v1");
    assert_string_equal(str(v, "name"), "kubeflow.org");
    assert_string_equal(str(json_object_get(v, "preferredVersion"), "version"), "v1");
    json_decref(v);
}

/* Every table resource, and every subresource as "<plural>/<sub>", in its APIResourceList. */
static void test_resource_lists(void **state)
{
    for (size_t i = 0; i < nresources; i++) {
        const resource *r = &resources[i];
        char path[192], gv[160];
        gv_string(gv, sizeof gv, r);
        snprintf(path, sizeof path, "%s/%s", r->group[0] ? "/apis" : "/api", gv);
        json_t *l = get_doc(path, "application/json, */*", NULL);
        assert_string_equal(str(l, "kind"), "APIResourceList");
        assert_string_equal(str(l, "groupVersion"), gv);
        json_t *res = json_object_get(l, "resources");
        json_t *e = find_by(res, "name", r->plural);
        assert_non_null(e);
        assert_string_equal(str(e, "singularName"), r->singular);
        assert_string_equal(str(e, "kind"), r->kind);
        assert_int_equal(json_is_true(json_object_get(e, "namespaced")), r->namespaced);
        assert_sorted_verbs(json_object_get(e, "verbs"), r->verbs);
        if (r->short_names && r->short_names[0])
            assert_string_equal(json_string_value(json_array_get(
                                    json_object_get(e, "shortNames"), 0)), r->short_names[0]);
        else
            assert_null(json_object_get(e, "shortNames"));
        for (const subresource *s = r->subresources; s && s->name; s++) {
            char name[128];
            snprintf(name, sizeof name, "%s/%s", r->plural, s->name);
            json_t *se = find_by(res, "name", name);
            assert_non_null(se);
            assert_string_equal(str(se, "singularName"), "");
            assert_string_equal(str(se, "kind"), s->kind ? s->kind : r->kind);
            assert_sorted_verbs(json_object_get(se, "verbs"), s->verbs);
        }
        json_decref(l);
    }
}

static void test_known_entries(void **state)
{
    json_t *l = get_doc("/apis/kubeflow.org/v1", NULL, NULL);
    json_t *st = find_by(json_object_get(l, "resources"), "name", "pytorchjobs/status");
    assert_non_null(st);
    json_t *verbs = json_object_get(st, "verbs");
    assert_int_equal(json_array_size(verbs), 3);
    assert_string_equal(json_string_value(json_array_get(verbs, 0)), "get");
    assert_string_equal(json_string_value(json_array_get(verbs, 1)), "patch");
    assert_string_equal(json_string_value(json_array_get(verbs, 2)), "update");
    assert_non_null(json_object_get(l, "apiVersion"));
    /* a CRD's scale subresource, as apiextensions-apiserver lists it */
    json_t *sc = find_by(json_object_get(l, "resources"), "name", "pytorchjobs/scale");
    assert_non_null(sc);
    assert_string_equal(str(sc, "group"), "autoscaling");
    assert_string_equal(str(sc, "version"), "v1");
    assert_string_equal(str(sc, "kind"), "Scale");
    assert_true(json_equal(json_object_get(sc, "verbs"), json_object_get(st, "verbs")));
    assert_null(json_object_get(st, "group"));
    json_decref(l);

    l = get_doc("/api/v1", NULL, NULL);
    json_t *ns = find_by(json_object_get(l, "resources"), "name", "namespaces");
    assert_non_null(ns);
    assert_true(json_is_false(json_object_get(ns, "namespaced")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(ns, "shortNames"), 0)),
                        "ns");
    assert_null(json_object_get(l, "apiVersion"));  /* as kube's /api/v1 */
    json_decref(l);
}

/* ------------------------------------------------------------ aggregated discovery ---- */

static void check_aggregated(json_t *doc, int core, const char *api_version)
{
    assert_string_equal(str(doc, "kind"), "APIGroupDiscoveryList");
    assert_string_equal(str(doc, "apiVersion"), api_version);
    json_t *items = json_object_get(doc, "items");
    for (size_t i = 0; i < nresources; i++) {
        const resource *r = &resources[i];
        if ((r->group[0] == 0) != core)
            continue;
        json_t *item = NULL, *it;
        size_t k;
        json_array_foreach(items, k, it)
            if (!strcmp(str(json_object_get(it, "metadata"), "name"), r->group))
                item = it;
        assert_non_null(item);
        json_t *ver = find_by(json_object_get(item, "versions"), "version", r->version);
        assert_non_null(ver);
        assert_string_equal(str(ver, "freshness"), "Current");
        json_t *e = find_by(json_object_get(ver, "resources"), "resource", r->plural);
        assert_non_null(e);
        assert_string_equal(str(e, "singularResource"), r->singular);
        assert_string_equal(str(e, "scope"), r->namespaced ? "Namespaced" : "Cluster");
        json_t *rk = json_object_get(e, "responseKind");
        assert_string_equal(str(rk, "group"), r->group);
        assert_string_equal(str(rk, "version"), r->version);
        assert_string_equal(str(rk, "kind"), r->kind);
        assert_sorted_verbs(json_object_get(e, "verbs"), r->verbs);
        assert_int_equal(json_object_get(e, "shortNames") != NULL,
                         r->short_names && r->short_names[0]);
        assert_int_equal(json_object_get(e, "categories") != NULL,
                         r->categories && r->categories[0]);
        for (const subresource *s = r->subresources; s && s->name; s++) {
            json_t *se = find_by(json_object_get(e, "subresources"), "subresource", s->name);
            assert_non_null(se);
            assert_sorted_verbs(json_object_get(se, "verbs"), s->verbs);
            json_t *srk = json_object_get(se, "responseKind");
            assert_string_equal(str(srk, "group"), s->kind ? s->kind_group : r->group);
            assert_string_equal(str(srk, "version"), s->kind ? s->kind_version : r->version);
            assert_string_equal(str(srk, "kind"), s->kind ? s->kind : r->kind);
        }
    }
}

static void test_aggregated_v2(void **state)
{
    const char *ct;
    json_t *v = get_doc("/api", KUBECTL_ACCEPT, &ct);
    assert_string_equal(ct, CT_V2);
    check_aggregated(v, 1, "apidiscovery.k8s.io/v2");
    json_t *core = json_array_get(json_object_get(v, "items"), 0);
    assert_string_equal(str(json_object_get(core, "metadata"), "name"), "");
    assert_int_equal(json_array_size(json_object_get(v, "items")), 1);
    json_decref(v);

    v = get_doc("/apis", KUBECTL_ACCEPT, &ct);
    assert_string_equal(ct, CT_V2);
    check_aggregated(v, 0, "apidiscovery.k8s.io/v2");
    json_decref(v);

    /* parameter order and spacing do not matter */
    v = get_doc("/apis", "application/json; as=APIGroupDiscoveryList; v=v2; "
                         "g=apidiscovery.k8s.io", &ct);
    assert_string_equal(ct, CT_V2);
    json_decref(v);
}

static void test_aggregated_v2beta1(void **state)
{
    const char *ct;
    json_t *v = get_doc("/api", V2B1_ACCEPT, &ct);
    assert_string_equal(ct, CT_V2B1);
    check_aggregated(v, 1, "apidiscovery.k8s.io/v2beta1");
    json_decref(v);
    v = get_doc("/apis", V2B1_ACCEPT, &ct);
    assert_string_equal(ct, CT_V2B1);
    check_aggregated(v, 0, "apidiscovery.k8s.io/v2beta1");
    json_decref(v);
}

static void test_negotiation_order(void **state)
{
    const char *ct;
    /* plain JSON listed first wins, as in apimachinery's negotiation */
    json_t *v = get_doc("/apis", "application/json,application/json;g=apidiscovery.k8s.io;"
                                 "v=v2;as=APIGroupDiscoveryList", &ct);
    assert_string_equal(ct, "application/json");
    assert_string_equal(str(v, "kind"), "APIGroupList");
    json_decref(v);
    /* ...unless its q is lower */
    v = get_doc("/apis", "application/json;q=0.5,application/json;g=apidiscovery.k8s.io;"
                         "v=v2;as=APIGroupDiscoveryList", &ct);
    assert_string_equal(ct, CT_V2);
    json_decref(v);
    /* an unknown discovery version is skipped */
    v = get_doc("/apis", "application/json;g=apidiscovery.k8s.io;v=v9;as=APIGroupDiscoveryList,"
                         "application/json;g=apidiscovery.k8s.io;v=v2beta1;"
                         "as=APIGroupDiscoveryList", &ct);
    assert_string_equal(ct, CT_V2B1);
    json_decref(v);
    /* nothing usable: legacy, never 406 */
    v = get_doc("/api", "application/vnd.kubernetes.protobuf", &ct);
    assert_string_equal(ct, "application/json");
    json_decref(v);
}

/* --------------------------------------------------------------------------- openapi ---- */

static void walk_refs(json_t *node, json_t *schemas, size_t *nrefs)
{
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_object(node)) {
        json_object_foreach(node, key, v) {
            if (!strcmp(key, "$ref")) {
                const char *ref = json_string_value(v);
                assert_non_null(ref);
                const char *prefix = "#/components/schemas/";
                if (strncmp(ref, prefix, strlen(prefix)))
                    fail_msg("$ref outside components.schemas: %s", ref);
                if (!json_object_get(schemas, ref + strlen(prefix)))
                    fail_msg("unresolved $ref: %s", ref);
                (*nrefs)++;
            } else {
                walk_refs(v, schemas, nrefs);
            }
        }
    } else if (json_is_array(node)) {
        json_array_foreach(node, i, v)
            walk_refs(v, schemas, nrefs);
    }
}

/* The URL the index gives for a group-version key, without its query. */
static void index_path(json_t *index, const char *key, char *buf, size_t n)
{
    json_t *e = json_object_get(json_object_get(index, "paths"), key);
    if (!e)
        fail_msg("openapi index lacks %s", key);
    const char *url = str(e, "serverRelativeURL");
    char want[192];
    snprintf(want, sizeof want, "/openapi/v3/%s?hash=", key);
    assert_true(!strncmp(url, want, strlen(want)));
    assert_true(strlen(url) > strlen(want));
    snprintf(buf, n, "%.*s", (int)strcspn(url, "?"), url);
}

static int has_query_param(json_t *op, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(op, "parameters"), i, p)
        if (!strcmp(str(p, "name"), name) && !strcmp(str(p, "in"), "query"))
            return 1;
    return 0;
}

/* The first PATCH operation whose GVK is the given one, as kubectl searches it. */
static json_t *patch_op_for(json_t *doc, const char *group, const char *version,
                            const char *kind)
{
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item) {
        json_t *op = json_object_get(item, "patch");
        json_t *gvk = json_object_get(op, "x-kubernetes-group-version-kind");
        if (op && gvk && !strcmp(str(gvk, "group"), group) &&
            !strcmp(str(gvk, "version"), version) && !strcmp(str(gvk, "kind"), kind))
            return op;
    }
    return NULL;
}

static json_t *schema_with_gvk(json_t *doc, const char *group, const char *version,
                               const char *kind)
{
    const char *name;
    json_t *s;
    json_object_foreach(json_object_get(json_object_get(doc, "components"), "schemas"), name,
                        s) {
        size_t i;
        json_t *g;
        json_array_foreach(json_object_get(s, "x-kubernetes-group-version-kind"), i, g)
            if (!strcmp(str(g, "group"), group) && !strcmp(str(g, "version"), version) &&
                !strcmp(str(g, "kind"), kind))
                return s;
    }
    return NULL;
}

static json_t *group_doc(const char *key)
{
    char path[192];
    json_t *index = get_doc("/openapi/v3", "application/json, */*", NULL);
    index_path(index, key, path, sizeof path);
    json_decref(index);
    const char *ct;
    json_t *doc = get_doc(path, "application/json", &ct);
    assert_string_equal(ct, "application/json");
    return doc;
}

/* Every table group-version has a document; every kind a PATCH op that kubectl trusts and a
 * schema with its GVK; every $ref resolves; operation ids are unique. */
static void test_openapi_every_gv(void **state)
{
    for (size_t i = 0; i < nresources; i++) {
        const resource *r = &resources[i];
        char key[192], gv[160];
        gv_string(gv, sizeof gv, r);
        snprintf(key, sizeof key, "%s/%s", r->group[0] ? "apis" : "api", gv);
        json_t *doc = group_doc(key);
        assert_string_equal(str(doc, "openapi"), "3.0.0");
        json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
        size_t nrefs = 0;
        walk_refs(doc, schemas, &nrefs);
        assert_true(nrefs > 0);

        if (r->verbs & VERB_PATCH) {
            json_t *op = patch_op_for(doc, r->group, r->version, r->kind);
            assert_non_null(op);
            assert_true(has_query_param(op, "fieldValidation"));
            assert_true(has_query_param(op, "dryRun"));
            assert_true(has_query_param(op, "fieldManager"));
            assert_true(has_query_param(op, "force"));
            assert_string_equal(str(op, "x-kubernetes-action"), "patch");
            json_t *ct = json_object_get(json_object_get(op, "requestBody"), "content");
            assert_non_null(json_object_get(ct, "application/json-patch+json"));
            assert_non_null(json_object_get(ct, "application/merge-patch+json"));
            assert_non_null(json_object_get(ct, "application/apply-patch+yaml"));
            assert_int_equal(json_object_get(ct, "application/strategic-merge-patch+json") != NULL,
                             !r->is_cr);
        }
        assert_non_null(schema_with_gvk(doc, r->group, r->version, r->kind));
        if (r->list_kind) /* the self reviews have none, as upstream */
            assert_non_null(schema_with_gvk(doc, r->group, r->version, r->list_kind));
        else
            assert_true(r->ephemeral && r->verbs == VERB_CREATE);

        /* all paths of the resource are there, each op carrying its action */
        char base[256], item[320];
        snprintf(base, sizeof base, "/%s%s/%s", key, r->namespaced ? "/namespaces/{namespace}"
                                                                   : "", r->plural);
        snprintf(item, sizeof item, "%s/{name}", base);
        json_t *paths = json_object_get(doc, "paths");
        json_t *b = json_object_get(paths, base), *it = json_object_get(paths, item);
        if (r->verbs & VERB_LIST)
            assert_string_equal(str(json_object_get(b, "get"), "x-kubernetes-action"), "list");
        if (r->verbs & VERB_CREATE) {
            json_t *post = json_object_get(b, "post");
            assert_string_equal(str(post, "x-kubernetes-action"), "post");
            assert_true(has_query_param(post, "fieldValidation"));
        }
        if (r->verbs & VERB_DELETECOLLECTION)
            assert_string_equal(str(json_object_get(b, "delete"), "x-kubernetes-action"),
                                "deletecollection");
        if (r->verbs & VERB_GET)
            assert_string_equal(str(json_object_get(it, "get"), "x-kubernetes-action"), "get");
        if (r->verbs & VERB_UPDATE) {
            json_t *put = json_object_get(it, "put");
            assert_string_equal(str(put, "x-kubernetes-action"), "put");
            assert_true(has_query_param(put, "fieldValidation"));
        }
        if (r->verbs & VERB_DELETE)
            assert_string_equal(str(json_object_get(it, "delete"), "x-kubernetes-action"),
                                "delete");
        for (const subresource *s = r->subresources; s && s->name; s++) {
            char sp[384];
            snprintf(sp, sizeof sp, "%s/%s", item, s->name);
            assert_non_null(json_object_get(paths, sp));
            if (!strcmp(s->name, "attach")) {
                json_t *g = json_object_get(json_object_get(paths, sp), "get");
                assert_string_equal(str(g, "operationId"), "connectCoreV1GetNamespacedPodAttach");
                assert_true(has_query_param(g, "stdout"));
                assert_false(has_query_param(g, "command"));
                continue;
            }
            if (!strcmp(s->name, "exec")) {
                /* a connect subresource: GET and POST, the exec options as query parameters */
                json_t *g = json_object_get(json_object_get(paths, sp), "get");
                json_t *p = json_object_get(json_object_get(paths, sp), "post");
                assert_string_equal(str(g, "x-kubernetes-action"), "connect");
                assert_string_equal(str(p, "x-kubernetes-action"), "connect");
                assert_string_equal(str(g, "operationId"), "connectCoreV1GetNamespacedPodExec");
                assert_string_equal(str(p, "operationId"), "connectCoreV1PostNamespacedPodExec");
                assert_string_equal(str(g, "description"), "connect GET requests to exec of Pod");
                assert_true(has_query_param(g, "command"));
                assert_true(has_query_param(p, "tty"));
                assert_string_equal(str(json_object_get(g, "x-kubernetes-group-version-kind"), "kind"),
                                    "PodExecOptions");
                continue;
            }
            if (!s->kind)
                continue;
            /* a subresource of another kind (scale): its operations read and write that kind */
            assert_non_null(schema_with_gvk(doc, s->kind_group, s->kind_version, s->kind));
            json_t *get = json_object_get(json_object_get(paths, sp), "get");
            json_t *gvk = json_object_get(get, "x-kubernetes-group-version-kind");
            assert_string_equal(str(gvk, "group"), s->kind_group);
            assert_string_equal(str(gvk, "kind"), s->kind);
            json_t *sch = json_object_get(json_object_get(json_object_get(json_object_get(
                json_object_get(json_object_get(get, "responses"), "200"), "content"),
                "application/json"), "schema"), "$ref");
            char want[192];
            snprintf(want, sizeof want, "#/components/schemas/io.k8s.api.%s.%s.%s",
                     s->kind_group, s->kind_version, s->kind);
            assert_string_equal(json_string_value(sch), want);
        }

        /* operation ids are unique within the document */
        json_t *seen = json_object();
        const char *p, *method;
        json_t *pi, *op;
        json_object_foreach(paths, p, pi) {
            json_object_foreach(pi, method, op) {
                const char *id = str(op, "operationId");
                if (json_object_get(seen, id))
                    fail_msg("duplicate operationId %s", id);
                json_object_set_new(seen, id, json_true());
                assert_non_null(json_object_get(op, "x-kubernetes-group-version-kind"));
            }
        }
        json_decref(seen);
        json_decref(doc);
    }
}

static void test_openapi_pytorchjob(void **state)
{
    json_t *doc = group_doc("apis/kubeflow.org/v1");
    json_t *op = patch_op_for(doc, "kubeflow.org", "v1", "PyTorchJob");
    assert_non_null(op);
    assert_true(has_query_param(op, "fieldValidation"));
    json_t *ct = json_object_get(json_object_get(op, "requestBody"), "content");
    assert_null(json_object_get(ct, "application/strategic-merge-patch+json"));
    assert_int_equal(json_object_size(ct), 3);

    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    json_t *pj = json_object_get(schemas, "org.kubeflow.v1.PyTorchJob");
    assert_non_null(pj);
    assert_ptr_equal(pj, schema_with_gvk(doc, "kubeflow.org", "v1", "PyTorchJob"));
    assert_true(strlen(str(pj, "description")) > 0);
    json_t *props = json_object_get(pj, "properties");
    json_t *spec = json_object_get(props, "spec");
    assert_true(strlen(str(spec, "description")) > 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(spec, "required"), 0)),
                        "pytorchReplicaSpecs");
    json_t *sp = json_object_get(spec, "properties");
    json_t *rs = json_object_get(sp, "pytorchReplicaSpecs");
    assert_true(strlen(str(rs, "description")) > 0);
    json_t *replica = json_object_get(rs, "additionalProperties");
    json_t *rp = json_object_get(replica, "properties");
    assert_string_equal(str(json_object_get(rp, "replicas"), "format"), "int32");
    assert_string_equal(str(json_object_get(rp, "restartPolicy"), "type"), "string");
    /* the template is the CRD's PodTemplateSpec: its metadata's five fields, core's PodSpec */
    json_t *tp = json_object_get(json_object_get(rp, "template"), "properties");
    assert_int_equal(json_object_size(json_object_get(json_object_get(tp, "metadata"), "properties")), 5);
    assert_string_equal(str(json_array_get(json_object_get(json_object_get(tp, "spec"), "allOf"), 0), "$ref"),
                        "#/components/schemas/io.k8s.api.core.v1.PodSpec");
    /* every field that pruning keeps is in the schema kubectl explain reads, and no other */
    static const char *const types[] = {"PodSpec", "Container", "ResourceRequirements",
                                        "ContainerPort", "EnvVar"};
    for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
        const char *names[64];
        size_t n = validate_schema_props(types[t], names, 64);
        char key[128];
        snprintf(key, sizeof key, "io.k8s.api.core.v1.%s", types[t]);
        json_t *props_t = json_object_get(json_object_get(json_object_get(json_object_get(doc,
            "components"), "schemas"), key), "properties");
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++)
            if (!json_object_get(props_t, names[i]))
                fail_msg("%s.%s is kept by pruning but missing from the openapi schema", types[t], names[i]);
        assert_int_equal(json_object_size(props_t), n);
    }
    static const char *const run[] = {"cleanPodPolicy", "ttlSecondsAfterFinished",
                                      "activeDeadlineSeconds", "backoffLimit",
                                      "schedulingPolicy", "suspend", "managedBy"};
    json_t *runp = json_object_get(json_object_get(sp, "runPolicy"), "properties");
    for (size_t i = 0; i < sizeof run / sizeof run[0]; i++)
        assert_true(strlen(str(json_object_get(runp, run[i]), "description")) > 0);
    assert_non_null(json_object_get(sp, "elasticPolicy"));
    assert_non_null(json_object_get(sp, "nprocPerNode"));
    json_t *stp = json_object_get(json_object_get(props, "status"), "properties");
    static const char *const st[] = {"conditions", "replicaStatuses", "startTime",
                                     "completionTime", "lastReconcileTime"};
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++)
        assert_non_null(json_object_get(stp, st[i]));
    json_t *om = json_object_get(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    assert_true(strlen(str(json_object_get(json_object_get(om, "properties"), "name"),
                           "description")) > 0);
    assert_non_null(json_object_get(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"));
    assert_non_null(json_object_get(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.Status"));
    assert_non_null(json_object_get(schemas,
                                    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"));
    /* core kinds do not leak into the custom resource's document */
    assert_null(schema_with_gvk(doc, "", "v1", "Pod"));
    json_decref(doc);
}

static void test_openapi_core(void **state)
{
    json_t *doc = group_doc("api/v1");
    static const char *const kinds[] = {"Namespace", "Pod", "Service", "Event"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        json_t *s = schema_with_gvk(doc, "", "v1", kinds[i]);
        if (!s)
            fail_msg("no schema for core/v1 %s", kinds[i]);
        assert_true(strlen(str(s, "description")) > 0);
    }
    json_t *op = patch_op_for(doc, "", "v1", "Namespace");
    assert_non_null(op);
    json_t *ct = json_object_get(json_object_get(op, "requestBody"), "content");
    assert_non_null(json_object_get(ct, "application/strategic-merge-patch+json"));
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    json_t *nsp = json_object_get(json_object_get(schemas, "io.k8s.api.core.v1.NamespaceSpec"),
                                  "properties");
    assert_non_null(json_object_get(nsp, "finalizers"));
    json_t *nss = json_object_get(json_object_get(schemas,
                                                  "io.k8s.api.core.v1.NamespaceStatus"),
                                  "properties");
    assert_non_null(json_object_get(nss, "phase"));
    /* the cluster-scoped namespace has no {namespace} segment */
    assert_non_null(json_object_get(json_object_get(doc, "paths"), "/api/v1/namespaces/{name}"));
    json_decref(doc);
}

/* ---------------------------------------------------------------- misc and unknowns ---- */

static void test_openapi_v2_404(void **state)
{
    discovery_doc d;
    assert_int_equal(discovery_lookup("/openapi/v2", "application/com.github.proto-openapi."
                                      "spec.v2@v1.0+protobuf", &d), 1);
    assert_int_equal(d.status, 404);
    assert_string_equal(d.ctype, "text/plain; charset=utf-8");
    assert_int_equal(d.len, strlen("404 page not found\n"));
    assert_memory_equal(d.body, "404 page not found\n", d.len);
}

static void test_unknown_paths(void **state)
{
    static const char *const paths[] = {
        "/apis/nope.example.com", "/apis/nope.example.com/v1", "/apis/kubeflow.org/v2",
        "/api/v2", "/apis/kubeflow.org/", "/api/", "/apis/", "/openapi/v3/apis/nope/v1",
        "/openapi/v3/api/v2", "/openapi/v3/", "/version/", "/", "", "/apis/kubeflow.org/v1/"
        "namespaces/default/pytorchjobs", "/api/v1/namespaces", "/openapi/v2/x", "/healthz",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        discovery_doc d = {0};
        if (discovery_lookup(paths[i], KUBECTL_ACCEPT, &d))
            fail_msg("%s should not be a discovery path", paths[i]);
    }
}

/* Documents are stored once: the same bytes every time, and a re-init rebuilds cleanly. */
static void test_stable_and_reinit(void **state)
{
    discovery_doc a, b;
    assert_int_equal(discovery_lookup("/openapi/v3", NULL, &a), 1);
    assert_int_equal(discovery_lookup("/openapi/v3", NULL, &b), 1);
    assert_ptr_equal(a.body, b.body);
    char *copy = strndup(a.body, a.len);
    assert_int_equal(discovery_init("127.0.0.1:7443"), 0);
    assert_int_equal(discovery_lookup("/openapi/v3", NULL, &b), 1);
    assert_string_equal(copy, b.body);  /* hashes depend on content only */
    free(copy);
    json_t *v = get_doc("/api", NULL, NULL);
    assert_string_equal(str(json_array_get(json_object_get(v, "serverAddressByClientCIDRs"), 0),
                            "serverAddress"), "127.0.0.1:7443");
    json_decref(v);
    discovery_free();
    assert_int_equal(discovery_lookup("/version", NULL, &a), 0);
    assert_int_equal(discovery_init("127.0.0.1:6443"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_api_legacy),
        cmocka_unit_test(test_apis_legacy),
        cmocka_unit_test(test_resource_lists),
        cmocka_unit_test(test_known_entries),
        cmocka_unit_test(test_aggregated_v2),
        cmocka_unit_test(test_aggregated_v2beta1),
        cmocka_unit_test(test_negotiation_order),
        cmocka_unit_test(test_openapi_every_gv),
        cmocka_unit_test(test_openapi_pytorchjob),
        cmocka_unit_test(test_openapi_core),
        cmocka_unit_test(test_openapi_v2_404),
        cmocka_unit_test(test_unknown_paths),
        cmocka_unit_test(test_stable_and_reinit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
