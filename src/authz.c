/* authz — the authorizer (see authz.h).
 *
 * kube-apiserver authorizes with a union, first answer that is not "no opinion" wins:
 *
 *   1. the system:masters authorizer (authorizerfactory.NewPrivilegedGroups): members may do
 *      everything, reason ""; it is not a rule resolver, so it lists no rules;
 *   2. RBAC, with the bootstrap policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy) as the
 *      only objects: the ClusterRoleBindings below, each to a ClusterRole's rules. A rule allows
 *      as rbac.RuleAllows does; the reason names the binding that allowed.
 *
 * Until Role/ClusterRole/RoleBinding/ClusterRoleBinding are API objects, the policy is this
 * static table, the subset of a 1.32 cluster's defaults that concerns users of this server:
 * cluster-admin to system:masters, and the roles every authenticated user (discovery, the self
 * reviews) or everyone (health and version) holds. RoleBindings (namespaced) do not exist yet, so
 * the namespace never changes an answer.
 */
#include <stdio.h>
#include <string.h>
#include "authz.h"

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

typedef struct role {
    const char *name;
    const authz_rule *rules;
    size_t nrules;
} role;

typedef struct binding {
    const char *name;
    const role *role;
    const char *const *groups; /* subjects, all of kind Group */
} binding;

static const authz_rule cluster_admin_rules[] = {
    {.verbs = L("*"), .groups = L("*"), .resources = L("*")},
    {.verbs = L("*"), .urls = L("*")},
};
static const authz_rule monitoring_rules[] = {
    {.verbs = L("get"), .urls = L("/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz",
                                  "/livez/*", "/readyz/*", "/healthz/*")},
};
static const authz_rule discovery_rules[] = {
    {.verbs = L("get"), .urls = L("/livez", "/readyz", "/healthz", "/version", "/version/",
                                  "/openapi", "/openapi/*", "/api", "/api/*", "/apis", "/apis/*")},
};
static const authz_rule basic_user_rules[] = {
    {.verbs = L("create"), .groups = L("authorization.k8s.io"),
     .resources = L("selfsubjectaccessreviews", "selfsubjectrulesreviews")},
    {.verbs = L("create"), .groups = L("authentication.k8s.io"), .resources = L("selfsubjectreviews")},
};
static const authz_rule public_info_rules[] = {
    {.verbs = L("get"), .urls = L("/livez", "/readyz", "/healthz", "/version", "/version/")},
};

#define ROLE(name, rules) {name, rules, sizeof(rules) / sizeof(rules[0])}
static const role cluster_admin = ROLE("cluster-admin", cluster_admin_rules);
static const role monitoring = ROLE("system:monitoring", monitoring_rules);
static const role discovery = ROLE("system:discovery", discovery_rules);
static const role basic_user = ROLE("system:basic-user", basic_user_rules);
static const role public_info = ROLE("system:public-info-viewer", public_info_rules);

/* bootstrappolicy.ClusterRoleBindings(), in its order; each binding is named after its role */
static const binding bindings[] = {
    {"cluster-admin", &cluster_admin, L("system:masters")},
    {"system:monitoring", &monitoring, L("system:monitoring")},
    {"system:discovery", &discovery, L("system:authenticated")},
    {"system:basic-user", &basic_user, L("system:authenticated")},
    {"system:public-info-viewer", &public_info, L("system:authenticated", "system:unauthenticated")},
};

static int has(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (!strcmp(*list, s))
            return 1;
    return 0;
}

static const char *str(const char *s)
{
    return s ? s : "";
}

/* rbacv1helpers.ResourceMatches: "*", the combined "resource/sub", or "* /sub". */
static int resource_matches(const authz_rule *r, const char *resource, const char *sub)
{
    char combined[256];
    if (*sub)
        snprintf(combined, sizeof combined, "%s/%s", resource, sub);
    else
        snprintf(combined, sizeof combined, "%s", resource);
    for (const char *const *p = r->resources; p && *p; p++) {
        if (!strcmp(*p, "*") || !strcmp(*p, combined))
            return 1;
        if (*sub && (*p)[0] == '*' && (*p)[1] == '/' && !strcmp(*p + 2, sub))
            return 1;
    }
    return 0;
}

/* rbacv1helpers.NonResourceURLMatches: "*", the path, or a prefix ending in "*". */
static int url_matches(const authz_rule *r, const char *path)
{
    for (const char *const *p = r->urls; p && *p; p++) {
        size_t n = strlen(*p);
        if (!strcmp(*p, "*") || !strcmp(*p, path))
            return 1;
        if (n && (*p)[n - 1] == '*' && !strncmp(*p, path, n - 1))
            return 1;
    }
    return 0;
}

/* rbac.RuleAllows */
static int rule_allows(const authz_rule *r, const authz_attrs *a)
{
    const char *verb = str(a->verb);
    if (!has(r->verbs, "*") && !has(r->verbs, verb))
        return 0;
    if (!a->resource_request)
        return url_matches(r, str(a->path));
    if (!has(r->groups, "*") && !has(r->groups, str(a->group)))
        return 0;
    if (!resource_matches(r, str(a->resource), str(a->sub)))
        return 0;
    return !r->names || !r->names[0] || has(r->names, str(a->name));
}

/* The first of b's subjects that applies to u, or NULL. */
static const char *applies_to(const binding *b, const auth_user *u)
{
    for (const char *const *g = b->groups; *g; g++)
        if (auth_user_in_group(u, *g))
            return *g;
    return NULL;
}

authz_decision authz_authorize(const authz_attrs *a, char *reason, size_t cap)
{
    if (reason && cap)
        reason[0] = '\0';
    if (auth_user_in_group(a->user, "system:masters"))
        return AUTHZ_ALLOW;
    for (size_t i = 0; i < sizeof bindings / sizeof bindings[0]; i++) {
        const binding *b = &bindings[i];
        const char *subject = applies_to(b, a->user);
        if (!subject)
            continue;
        for (size_t k = 0; k < b->role->nrules; k++) {
            if (!rule_allows(&b->role->rules[k], a))
                continue;
            if (reason && cap)
                snprintf(reason, cap,
                         "RBAC: allowed by ClusterRoleBinding \"%s\" of ClusterRole \"%s\" to Group \"%s\"",
                         b->name, b->role->name, subject);
            return AUTHZ_ALLOW;
        }
    }
    return AUTHZ_NO_OPINION;
}

void authz_rules_for(const auth_user *u, const char *ns, void (*fn)(void *arg, const authz_rule *r),
                     void *arg)
{
    (void)ns; /* no RoleBindings yet */
    for (size_t i = 0; i < sizeof bindings / sizeof bindings[0]; i++) {
        const binding *b = &bindings[i];
        if (!applies_to(b, u))
            continue;
        for (size_t k = 0; k < b->role->nrules; k++)
            fn(arg, &b->role->rules[k]);
    }
}
