/* Unit tests for src/authz.c: the system:masters authorizer, RBAC's rule matching over the
 * bootstrap bindings, and the rules a user holds. */
#include "unit.h"
#include "authz.h"

static char *admin_groups[] = {"system:masters", "system:authenticated"};
static char *alice_groups[] = {"system:authenticated"};
static char *anon_groups[] = {"system:unauthenticated"};
static char *mon_groups[] = {"system:monitoring", "system:authenticated"};
static const auth_user admin = {"admin", "admin", admin_groups, 2};
static const auth_user alice = {"alice", "alice-uid", alice_groups, 1};
static const auth_user anon = {"system:anonymous", "", anon_groups, 1};
static const auth_user mon = {"prom", "", mon_groups, 2};

static authz_decision res(const auth_user *u, const char *verb, const char *group,
                          const char *resource, const char *sub, char *reason, size_t cap)
{
    authz_attrs a = {.user = u, .verb = verb, .resource_request = 1, .ns = "default",
                     .group = group, .resource = resource, .sub = sub};
    return authz_authorize(&a, reason, cap);
}

static authz_decision path(const auth_user *u, const char *verb, const char *p)
{
    authz_attrs a = {.user = u, .verb = verb, .path = p};
    return authz_authorize(&a, NULL, 0);
}

static void test_masters_allowed_without_reason(void **state)
{
    char reason[256] = "x";
    assert_int_equal(res(&admin, "create", "kubeflow.org", "pytorchjobs", NULL, reason, sizeof reason),
                     AUTHZ_ALLOW);
    assert_string_equal(reason, "");
    assert_int_equal(res(&admin, "*", "*", "*", NULL, NULL, 0), AUTHZ_ALLOW);
    assert_int_equal(path(&admin, "get", "/metrics"), AUTHZ_ALLOW);
}

static void test_basic_user(void **state)
{
    char reason[256];
    assert_int_equal(res(&alice, "create", "authorization.k8s.io", "selfsubjectaccessreviews", NULL,
                         reason, sizeof reason), AUTHZ_ALLOW);
    assert_string_equal(reason, "RBAC: allowed by ClusterRoleBinding \"system:basic-user\" of "
                                "ClusterRole \"system:basic-user\" to Group \"system:authenticated\"");
    assert_int_equal(res(&alice, "create", "authentication.k8s.io", "selfsubjectreviews", NULL, NULL, 0),
                     AUTHZ_ALLOW);
    /* the wrong group, verb or a subresource does not match */
    assert_int_equal(res(&alice, "create", "authentication.k8s.io", "selfsubjectaccessreviews", NULL,
                         NULL, 0), AUTHZ_NO_OPINION);
    assert_int_equal(res(&alice, "get", "authorization.k8s.io", "selfsubjectaccessreviews", NULL,
                         NULL, 0), AUTHZ_NO_OPINION);
    assert_int_equal(res(&alice, "create", "authorization.k8s.io", "selfsubjectaccessreviews", "x",
                         NULL, 0), AUTHZ_NO_OPINION);
    reason[0] = 'x';
    assert_int_equal(res(&alice, "create", "kubeflow.org", "pytorchjobs", NULL, reason, sizeof reason),
                     AUTHZ_NO_OPINION);
    assert_string_equal(reason, "");
    assert_int_equal(res(&anon, "create", "authorization.k8s.io", "selfsubjectaccessreviews", NULL,
                         NULL, 0), AUTHZ_NO_OPINION);
}

static void test_non_resource_urls(void **state)
{
    assert_int_equal(path(&alice, "get", "/apis"), AUTHZ_ALLOW);
    assert_int_equal(path(&alice, "get", "/apis/kubeflow.org/v1"), AUTHZ_ALLOW);
    assert_int_equal(path(&alice, "get", "/openapi/v3"), AUTHZ_ALLOW);
    assert_int_equal(path(&alice, "post", "/apis"), AUTHZ_NO_OPINION);
    assert_int_equal(path(&alice, "get", "/metrics"), AUTHZ_NO_OPINION);
    assert_int_equal(path(&alice, "get", "/apisx"), AUTHZ_NO_OPINION);
    assert_int_equal(path(&anon, "get", "/version"), AUTHZ_ALLOW);
    assert_int_equal(path(&anon, "get", "/version/"), AUTHZ_ALLOW);
    assert_int_equal(path(&anon, "get", "/healthz"), AUTHZ_ALLOW);
    assert_int_equal(path(&anon, "get", "/api"), AUTHZ_NO_OPINION);
    assert_int_equal(path(&mon, "get", "/metrics"), AUTHZ_ALLOW);
    assert_int_equal(path(&mon, "get", "/readyz/ping"), AUTHZ_ALLOW);
    /* a resource rule never matches a path, nor a URL rule a resource */
    assert_int_equal(res(&alice, "get", "", "api", NULL, NULL, 0), AUTHZ_NO_OPINION);
}

typedef struct count {
    int resource, non_resource, star;
} count;

static void counter(void *arg, const authz_rule *r)
{
    count *c = arg;
    if (r->resources) {
        c->resource++;
        c->star += !strcmp(r->resources[0], "*") && !strcmp(r->verbs[0], "*") &&
                   !strcmp(r->groups[0], "*");
    }
    if (r->urls) {
        c->non_resource++;
        c->star += !strcmp(r->urls[0], "*");
    }
}

static void test_rules_for(void **state)
{
    count c = {0};
    authz_rules_for(&admin, "default", counter, &c);
    /* cluster-admin's two rules, basic-user's two, discovery's and public-info-viewer's */
    assert_int_equal(c.resource, 3);
    assert_int_equal(c.non_resource, 3);
    assert_int_equal(c.star, 2);
    c = (count){0};
    authz_rules_for(&alice, "default", counter, &c);
    assert_int_equal(c.resource, 2);
    assert_int_equal(c.non_resource, 2);
    assert_int_equal(c.star, 0);
    c = (count){0};
    authz_rules_for(&anon, "default", counter, &c);
    assert_int_equal(c.resource, 0);
    assert_int_equal(c.non_resource, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masters_allowed_without_reason),
        cmocka_unit_test(test_basic_user),
        cmocka_unit_test(test_non_resource_urls),
        cmocka_unit_test(test_rules_for),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
