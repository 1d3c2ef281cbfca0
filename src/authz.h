/* authz — the authorizer: (user, verb, resource or path) → allow, and the rules a user holds.
 *
 * One function decides for every request and for SelfSubjectAccessReview alike, and the rules a
 * SelfSubjectRulesReview lists come from the same table, so the three can never disagree. */
#ifndef TJ_AUTHZ_H
#define TJ_AUTHZ_H
#include <stddef.h>
#include "auth.h"

/* kube's authorizer.Attributes. A resource request names group/resource (version, subresource,
 * namespace, name optional: "" or NULL); a non-resource request names path. */
typedef struct authz_attrs {
    const auth_user *user;
    const char *verb;         /* "get", "create", … ("*" matches only a "*" rule) */
    int resource_request;
    const char *ns, *group, *version, *resource, *sub, *name;
    const char *path;
} authz_attrs;

typedef enum { AUTHZ_NO_OPINION, AUTHZ_ALLOW, AUTHZ_DENY } authz_decision;

/* The one authorization call (kube-apiserver's union of the system:masters authorizer and RBAC
 * with the bootstrap policy). reason: kube's reason text ("" for system:masters, "RBAC: allowed
 * by ClusterRoleBinding …" for a binding), written into reason[cap] when reason is not NULL.
 * Nothing here ever denies: a request no rule allows gets AUTHZ_NO_OPINION, as kube. */
authz_decision authz_authorize(const authz_attrs *a, char *reason, size_t cap);
static inline int authz_allowed(const authz_attrs *a)
{
    return authz_authorize(a, NULL, 0) == AUTHZ_ALLOW;
}

/* One PolicyRule: NULL-terminated lists, NULL for none. A resource rule has resources, a
 * non-resource rule urls. */
typedef struct authz_rule {
    const char *const *verbs;
    const char *const *groups;
    const char *const *resources;
    const char *const *names;
    const char *const *urls;
} authz_rule;

/* The rules user holds in namespace ns, in RBAC's order (what RBAC's RulesFor visits: the
 * ClusterRoleBindings naming the user or one of its groups, each binding's role's rules in
 * order). The system:masters authorizer lists no rules, as kube's. fn is called once a rule. */
void authz_rules_for(const auth_user *u, const char *ns, void (*fn)(void *arg, const authz_rule *r),
                     void *arg);
#endif
