/* api_review — the self reviews: what may I do, what rules do I hold, who am I.
 *
 *   POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews   SelfSubjectAccessReview
 *   POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews    SelfSubjectRulesReview
 *   POST /apis/authentication.k8s.io/v1/selfsubjectreviews        SelfSubjectReview
 *
 * As kube-apiserver's REST handlers for them (pkg/registry/authorization/selfsubjectaccessreview,
 * …/selfsubjectrulesreview, pkg/registry/authentication/selfsubjectreview): the body is decoded
 * as the typed object (400 for a wrong JSON type), the access review validated (422), then the
 * answer computed with the user of the request and sent as 201; nothing is stored. The access
 * review asks authz_authorize, the function every request is authorized with; the rules review
 * lists authz_rules_for, the rules that function reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "authz.h"

/* ---- typed decoding --------------------------------------------------------------------------- */

static const char *json_type_name(const json_t *v)
{
    return json_is_string(v) ? "string" : json_is_number(v) ? "number" :
           json_is_boolean(v) ? "bool" : json_is_array(v) ? "array" : "object";
}

/* The decoder's 400 for a value of the wrong JSON type at path (encoding/json's
 * UnmarshalTypeError: the innermost struct, the field path, the Go type). */
static void type_error(apireq *r, const json_t *v, const char *strct, const char *path,
                       const char *gotype)
{
    apierr e = {0};
    apierr_set(&e, ST_BAD_REQUEST,
               "%s in version \"%s\" cannot be handled as a %s: json: cannot unmarshal %s into Go "
               "struct field %s.%s of type %s",
               r->res->kind, r->res->version, r->res->kind, json_type_name(v), strct, path, gotype);
    api_send_error(r, &e);
}

/* Is o[key] absent, null or of the JSON type the Go type wants? Answers 400 when not. */
static int typed(apireq *r, const json_t *o, const char *key, int (*is)(const json_t *),
                 const char *strct, const char *path, const char *gotype)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v) || is(v))
        return 0;
    type_error(r, v, strct, path, gotype);
    return -1;
}

static int is_object(const json_t *v) { return json_is_object(v); }
static int is_string(const json_t *v) { return json_is_string(v); }

/* Each of keys (NULL-terminated) a string field of o; Go struct strct at path prefix. */
static int typed_strings(apireq *r, const json_t *o, const char *const *keys, const char *strct,
                         const char *prefix)
{
    for (; *keys; keys++) {
        char path[128];
        snprintf(path, sizeof path, "%s.%s", prefix, *keys);
        if (typed(r, o, *keys, is_string, strct, path, "string") < 0)
            return -1;
    }
    return 0;
}

static const char *str_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The typed body's top level: metadata an ObjectMeta, spec and status objects. */
static int typed_top(apireq *r, const json_t *obj, const char *spec_type, const char *status_type)
{
    char t[96];
    if (typed(r, obj, "metadata", is_object, r->res->kind, "metadata", "v1.ObjectMeta") < 0)
        return -1;
    if (spec_type) {
        snprintf(t, sizeof t, "v1.%s", spec_type);
        if (typed(r, obj, "spec", is_object, r->res->kind, "spec", t) < 0)
            return -1;
    }
    snprintf(t, sizeof t, "v1.%s", status_type);
    return typed(r, obj, "status", is_object, r->res->kind, "status", t);
}

/* ---- SelfSubjectAccessReview ------------------------------------------------------------------ */

static const char *const res_attr_keys[] = {"namespace", "verb", "group", "version", "resource",
                                            "subresource", "name", NULL};
static const char *const nonres_attr_keys[] = {"path", "verb", NULL};

/* o's string fields in keys order, empty ones left out (omitempty), as the typed object encodes. */
static json_t *attrs_json(const json_t *o, const char *const *keys)
{
    json_t *out = json_object();
    for (; *keys; keys++)
        if (*str_of(o, *keys))
            json_object_set_new(out, *keys, json_string(str_of(o, *keys)));
    return out;
}

static void go_str_into(char *out, size_t cap, const char *s)
{
    char *q = fe_str(s);
    snprintf(out, cap, "%s", q ? q : "\"\"");
    free(q);
}

/* Is a metadata value the zero value (Semantic.DeepEqual treats empty maps and slices as nil)? */
static int zero_value(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)) ||
           (json_is_integer(v) && !json_integer_value(v)) ||
           (json_is_object(v) && !json_object_size(v)) || (json_is_array(v) && !json_array_size(v));
}

/* A Go map[string]string or []string value as %#v prints it. */
static void go_strmap(char *out, size_t cap, const json_t *m)
{
    size_t n = 0;
    if (!json_is_object(m) || !json_object_size(m)) {
        snprintf(out, cap, "map[string]string(nil)");
        return;
    }
    n += (size_t)snprintf(out + n, cap - n, "map[string]string{");
    /* fmt prints a map's keys sorted */
    const char *keys[64];
    size_t nk = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v)
        if (nk < 64)
            keys[nk++] = k;
    for (size_t i = 1; i < nk; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    for (size_t i = 0; i < nk && n < cap; i++) {
        char qk[256], qv[512];
        go_str_into(qk, sizeof qk, keys[i]);
        go_str_into(qv, sizeof qv, str_of(m, keys[i]));
        n += (size_t)snprintf(out + n, cap - n, "%s%s:%s", i ? ", " : "", qk, qv);
    }
    if (n < cap)
        snprintf(out + n, cap - n, "}");
}

static void go_strslice(char *out, size_t cap, const json_t *a)
{
    size_t n = 0;
    if (!json_is_array(a) || !json_array_size(a)) {
        snprintf(out, cap, "[]string(nil)");
        return;
    }
    n += (size_t)snprintf(out + n, cap - n, "[]string{");
    for (size_t i = 0; i < json_array_size(a) && n < cap; i++) {
        char q[256];
        const char *s = json_string_value(json_array_get(a, i));
        go_str_into(q, sizeof q, s ? s : "");
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", q);
    }
    if (n < cap)
        snprintf(out + n, cap - n, "}");
}

/* The metadata as the validator's %#v of a v1.ObjectMeta prints it. Strings, generation, labels,
 * annotations and finalizers are exact; timestamps, owner references and managed fields are shown
 * as unset (Go prints pointers and times there that a client could not rely on anyway). */
static char *go_object_meta(const json_t *m)
{
    char name[300], gen_name[300], ns[300], self_link[300], uid[300], rv[300];
    char labels[2048], annotations[2048], finalizers[1024];
    go_str_into(name, sizeof name, str_of(m, "name"));
    go_str_into(gen_name, sizeof gen_name, str_of(m, "generateName"));
    go_str_into(ns, sizeof ns, str_of(m, "namespace"));
    go_str_into(self_link, sizeof self_link, str_of(m, "selfLink"));
    go_str_into(uid, sizeof uid, str_of(m, "uid"));
    go_str_into(rv, sizeof rv, str_of(m, "resourceVersion"));
    go_strmap(labels, sizeof labels, json_object_get(m, "labels"));
    go_strmap(annotations, sizeof annotations, json_object_get(m, "annotations"));
    go_strslice(finalizers, sizeof finalizers, json_object_get(m, "finalizers"));
    json_t *g = json_object_get(m, "generation");
    char *out = NULL;
    if (asprintf(&out,
                 "v1.ObjectMeta{Name:%s, GenerateName:%s, Namespace:%s, SelfLink:%s, UID:%s, "
                 "ResourceVersion:%s, Generation:%lld, CreationTimestamp:time.Date(1, time.January, "
                 "1, 0, 0, 0, 0, time.UTC), DeletionTimestamp:<nil>, "
                 "DeletionGracePeriodSeconds:(*int64)(nil), Labels:%s, Annotations:%s, "
                 "OwnerReferences:[]v1.OwnerReference(nil), Finalizers:%s, "
                 "ManagedFields:[]v1.ManagedFieldsEntry(nil)}",
                 name, gen_name, ns, self_link, uid, rv,
                 json_is_integer(g) ? (long long)json_integer_value(g) : 0LL, labels, annotations,
                 finalizers) < 0)
        return NULL;
    return out;
}

/* ValidateSelfSubjectAccessReview into fe. */
static void validate_ssar(const json_t *meta, const json_t *ra, const json_t *nra, fielderrs *fe)
{
    if (ra && nra) {
        char path[300], verb[300], *v = NULL;
        go_str_into(path, sizeof path, str_of(nra, "path"));
        go_str_into(verb, sizeof verb, str_of(nra, "verb"));
        if (asprintf(&v, "authorization.NonResourceAttributes{Path:%s, Verb:%s}", path, verb) < 0)
            v = NULL;
        fe_add(fe, FE_INVALID, "spec.nonResourceAttributes", v ? v : "",
               "cannot be specified in combination with resourceAttributes");
        free(v);
    }
    if (!ra && !nra)
        fe_add(fe, FE_INVALID, "spec.resourceAttributes", "\"null\"",
               "exactly one of nonResourceAttributes or resourceAttributes must be specified");
    int empty = 1;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)meta, k, v)
        if (strcmp(k, "managedFields") && !zero_value(v))
            empty = 0;
    if (!empty) {
        char *m = go_object_meta(meta);
        fe_add(fe, FE_INVALID, "metadata", m ? m : "", "must be empty");
        free(m);
    }
}

/* A field or label selector of the request attributes, echoed when it is an object. */
static void copy_selector(json_t *out, const json_t *ra, const char *key)
{
    json_t *v = json_object_get(ra, key);
    if (json_is_object(v))
        json_object_set(out, key, v);
}

static void ssar(apireq *r, json_t *obj)
{
    static const char K[] = "SelfSubjectAccessReview";
    if (typed_top(r, obj, "SelfSubjectAccessReviewSpec", "SubjectAccessReviewStatus") < 0)
        return;
    json_t *meta = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec");
    json_t *ra = json_object_get(spec, "resourceAttributes");
    json_t *nra = json_object_get(spec, "nonResourceAttributes");
    if (typed(r, spec, "resourceAttributes", is_object, "SelfSubjectAccessReviewSpec",
              "spec.resourceAttributes", "v1.ResourceAttributes") < 0 ||
        typed(r, spec, "nonResourceAttributes", is_object, "SelfSubjectAccessReviewSpec",
              "spec.nonResourceAttributes", "v1.NonResourceAttributes") < 0 ||
        typed_strings(r, ra, res_attr_keys, "ResourceAttributes", "spec.resourceAttributes") < 0 ||
        typed(r, ra, "fieldSelector", is_object, "ResourceAttributes",
              "spec.resourceAttributes.fieldSelector", "v1.FieldSelectorAttributes") < 0 ||
        typed(r, ra, "labelSelector", is_object, "ResourceAttributes",
              "spec.resourceAttributes.labelSelector", "v1.LabelSelectorAttributes") < 0 ||
        typed_strings(r, nra, nonres_attr_keys, "NonResourceAttributes",
                      "spec.nonResourceAttributes") < 0)
        return;
    if (!json_is_object(ra))
        ra = NULL;
    if (!json_is_object(nra))
        nra = NULL;

    fielderrs fe = {0};
    validate_ssar(json_is_object(meta) ? meta : NULL, ra, nra, &fe);
    if (fe.n) {
        apierr e = {0};
        apierr_invalid(&e, resource_gk(r->res), NULL, r->res->group, K, &fe);
        fe_free(&fe);
        api_send_error(r, &e);
        return;
    }

    authz_attrs a = {.user = r->user};
    json_t *rspec = json_object();
    if (ra) {
        const char *version = str_of(ra, "version");
        a.resource_request = 1;
        a.verb = str_of(ra, "verb");
        a.ns = str_of(ra, "namespace");
        a.group = str_of(ra, "group");
        a.version = *version ? version : "*"; /* matchAllVersionIfEmpty */
        a.resource = str_of(ra, "resource");
        a.sub = str_of(ra, "subresource");
        a.name = str_of(ra, "name");
        json_t *o = attrs_json(ra, res_attr_keys);
        copy_selector(o, ra, "fieldSelector");
        copy_selector(o, ra, "labelSelector");
        json_object_set_new(rspec, "resourceAttributes", o);
    } else {
        a.verb = str_of(nra, "verb");
        a.path = str_of(nra, "path");
        json_object_set_new(rspec, "nonResourceAttributes", attrs_json(nra, nonres_attr_keys));
    }
    char reason[512];
    authz_decision d = authz_authorize(&a, reason, sizeof reason);
    json_t *status = json_pack("{s:b}", "allowed", d == AUTHZ_ALLOW);
    if (d == AUTHZ_DENY)
        json_object_set_new(status, "denied", json_true());
    if (*reason)
        json_object_set_new(status, "reason", json_string(reason));

    json_t *rmeta = json_pack("{s:n}", "creationTimestamp");
    json_t *mf = json_object_get(meta, "managedFields");
    if (json_is_array(mf) && json_array_size(mf))
        json_object_set(rmeta, "managedFields", mf);
    json_t *out = json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind", K, "apiVersion",
                            "authorization.k8s.io/v1", "metadata", rmeta, "spec", rspec, "status",
                            status);
    api_send_json(r, 201, out, 0);
}

/* ---- SelfSubjectRulesReview ------------------------------------------------------------------- */

static json_t *strings(const char *const *v)
{
    json_t *a = json_array();
    for (; v && *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

typedef struct rules_acc {
    json_t *resource_rules, *non_resource_rules;
} rules_acc;

/* RBAC's RulesFor: a rule with resources is a ResourceRule, one with URLs a NonResourceRule. */
static void add_rule(void *arg, const authz_rule *rule)
{
    rules_acc *acc = arg;
    if (rule->resources && rule->resources[0]) {
        json_t *o = json_pack("{s:o}", "verbs", strings(rule->verbs));
        if (rule->groups && rule->groups[0])
            json_object_set_new(o, "apiGroups", strings(rule->groups));
        json_object_set_new(o, "resources", strings(rule->resources));
        if (rule->names && rule->names[0])
            json_object_set_new(o, "resourceNames", strings(rule->names));
        json_array_append_new(acc->resource_rules, o);
    }
    if (rule->urls && rule->urls[0])
        json_array_append_new(acc->non_resource_rules,
                              json_pack("{s:o, s:o}", "verbs", strings(rule->verbs),
                                        "nonResourceURLs", strings(rule->urls)));
}

static void ssrr(apireq *r, json_t *obj)
{
    if (typed_top(r, obj, "SelfSubjectRulesReviewSpec", "SubjectRulesReviewStatus") < 0 ||
        typed(r, json_object_get(obj, "spec"), "namespace", is_string, "SelfSubjectRulesReviewSpec",
              "spec.namespace", "string") < 0)
        return;
    const char *ns = str_of(json_object_get(obj, "spec"), "namespace");
    if (!*ns) {
        apierr e = {0};
        apierr_set(&e, ST_BAD_REQUEST, "no namespace on request");
        api_send_error(r, &e);
        return;
    }
    rules_acc acc = {json_array(), json_array()};
    authz_rules_for(r->user, ns, add_rule, &acc);
    /* the answer is a new object: the request's spec and metadata are not echoed */
    json_t *out = json_pack("{s:s, s:s, s:{s:n}, s:{}, s:{s:o, s:o, s:b}}", "kind",
                            "SelfSubjectRulesReview", "apiVersion", "authorization.k8s.io/v1",
                            "metadata", "creationTimestamp", "spec", "status", "resourceRules",
                            acc.resource_rules, "nonResourceRules", acc.non_resource_rules,
                            "incomplete", 0);
    api_send_json(r, 201, out, 0);
}

/* ---- SelfSubjectReview ------------------------------------------------------------------------ */

static void ssr(apireq *r, json_t *obj)
{
    if (typed_top(r, obj, NULL, "SelfSubjectReviewStatus") < 0)
        return;
    const auth_user *u = r->user;
    json_t *info = json_object();
    if (u->name && *u->name)
        json_object_set_new(info, "username", json_string(u->name));
    if (u->uid && *u->uid)
        json_object_set_new(info, "uid", json_string(u->uid));
    if (u->ngroups) {
        json_t *g = json_array();
        for (size_t i = 0; i < u->ngroups; i++)
            json_array_append_new(g, json_string(u->groups[i]));
        json_object_set_new(info, "groups", g);
    }
    char *now = api_now_rfc3339();
    json_t *out = json_pack("{s:s, s:s, s:{s:s}, s:{s:o}}", "kind", "SelfSubjectReview",
                            "apiVersion", "authentication.k8s.io/v1", "metadata",
                            "creationTimestamp", now ? now : "", "status", "userInfo", info);
    free(now);
    api_send_json(r, 201, out, 0);
}

/* ---- entry -------------------------------------------------------------------------------------- */

void api_review(apireq *r)
{
    int dry = 0;
    json_t *obj = NULL;
    if (api_typed_request(r, "CreateOptions.meta.k8s.io", &dry, &obj) < 0)
        return;
    /* a dry run answers the same: nothing is written either way */
    if (!strcmp(r->res->plural, "selfsubjectaccessreviews"))
        ssar(r, obj);
    else if (!strcmp(r->res->plural, "selfsubjectrulesreviews"))
        ssrr(r, obj);
    else
        ssr(r, obj);
    json_decref(obj);
}
