/* Unit tests for src/auth.c: token file parsing and bearer authentication. */
#include "unit.h"
#include <unistd.h>
#include "auth.h"

static char dir[64];

static int setup(void **state)
{
    strcpy(dir, "/tmp/test_auth.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes content to a token file and loads it; returns authn_load's result. */
static int load(const char *content, authn **a, char **err)
{
    char path[128];
    snprintf(path, sizeof path, "%s/tokens.csv", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    *err = NULL;
    return authn_load(path, a, err);
}

static authn *load_ok(const char *content)
{
    authn *a = NULL;
    char *err = NULL;
    int rc = load(content, &a, &err);
    if (rc)
        fprintf(stderr, "unexpected error: %s\n", err ? err : "(null)");
    assert_int_equal(rc, 0);
    assert_non_null(a);
    return a;
}

/* Loading must fail with an error that starts with "token file: line LINE:". */
static void load_fails(const char *content, unsigned line)
{
    authn *a = (authn *)1;
    char *err = NULL, want[64];
    assert_int_equal(load(content, &a, &err), -1);
    assert_null(a);
    assert_non_null(err);
    snprintf(want, sizeof want, "token file: line %u: ", line);
    if (strncmp(err, want, strlen(want)))
        fail_msg("error \"%s\" does not start with \"%s\"", err, want);
    free(err);
}

static const auth_user *auth_ok(const authn *a, const char *header)
{
    const auth_user *u = NULL;
    assert_int_equal(authn_authenticate(a, header, &u), 0);
    assert_non_null(u);
    return u;
}

static void assert_anonymous(const auth_user *u)
{
    assert_string_equal(u->name, "system:anonymous");
    assert_int_equal(u->ngroups, 1);
    assert_true(auth_user_in_group(u, "system:unauthenticated"));
    assert_false(auth_user_in_group(u, "system:authenticated"));
}

static void test_quotes_and_groups(void **state)
{
    authn *a = load_ok("tok1,alice,u1,\"dev,ops\"\n"
                       "\"tok,2\",bob,u2\n"
                       "tok3,\"carol \"\"c\"\"\",u3,\"\"\n"
                       "tok4,dave,u4,\"g1,,system:authenticated\",extra\n");
    const auth_user *u = auth_ok(a, "Bearer tok1");
    assert_string_equal(u->name, "alice");
    assert_string_equal(u->uid, "u1");
    assert_int_equal(u->ngroups, 3);
    assert_string_equal(u->groups[0], "dev");
    assert_string_equal(u->groups[1], "ops");
    assert_string_equal(u->groups[2], "system:authenticated");

    u = auth_ok(a, "Bearer tok,2");
    assert_string_equal(u->name, "bob");
    assert_int_equal(u->ngroups, 1);
    assert_true(auth_user_in_group(u, "system:authenticated"));

    u = auth_ok(a, "Bearer tok3");
    assert_string_equal(u->name, "carol \"c\"");
    assert_int_equal(u->ngroups, 1);

    /* empty group names dropped, system:authenticated not doubled, extra columns ignored */
    u = auth_ok(a, "Bearer tok4");
    assert_int_equal(u->ngroups, 2);
    assert_string_equal(u->groups[0], "g1");
    assert_string_equal(u->groups[1], "system:authenticated");
    authn_free(a);
}

static void test_line_endings_and_blank_lines(void **state)
{
    authn *a = load_ok("\xef\xbb\xbf"
                       "t1,a,1\r\n"
                       "\r\n"
                       "   \t\n"
                       "t2,b,2,\"x,\r\ny\"\n"
                       "\n"
                       "t3,c,3\r");
    assert_string_equal(auth_ok(a, "Bearer t1")->name, "a");
    const auth_user *u = auth_ok(a, "Bearer t2");
    assert_int_equal(u->ngroups, 3);
    assert_string_equal(u->groups[1], "\ny"); /* quoted \r\n becomes \n, as in Go */
    assert_string_equal(auth_ok(a, "Bearer t3")->uid, "3");
    authn_free(a);

    a = load_ok("");
    assert_anonymous(auth_ok(a, NULL));
    authn_free(a);
}

static void test_errors(void **state)
{
    load_fails("t,u\n", 1);
    load_fails("t1,a,1\n\n  \nshort,line\n", 4);
    load_fails("t1,a,\"multi\nline\"\nx\n", 3); /* line numbers count lines inside quotes */
    load_fails("t1,a\"b,1\n", 1);                /* bare quote */
    load_fails("t1,\"a\"b,1\n", 1);              /* text after a closing quote */
    load_fails("t1,\"open,1\n", 1);              /* quote never closed */
    load_fails(",\n", 1); /* 3 columns are checked before the empty-token skip */

    authn *a = (authn *)1;
    char *err = NULL;
    assert_int_equal(authn_load("/nonexistent/tokens.csv", &a, &err), -1);
    assert_null(a);
    assert_non_null(err);
    free(err);
}

static void test_empty_token_skipped(void **state)
{
    authn *a = load_ok(",ghost,0,\"system:masters\"\n,,\nt,u,v\n");
    assert_string_equal(auth_ok(a, "Bearer t")->name, "u");
    assert_null(authn_token_in_group(a, "system:masters"));
    authn_free(a);
}

static void test_duplicate_later_wins(void **state)
{
    authn *a = load_ok("t,first,1,\"g1\"\nother,o,2\nt,second,3\n");
    const auth_user *u = auth_ok(a, "Bearer t");
    assert_string_equal(u->name, "second");
    assert_false(auth_user_in_group(u, "g1"));
    authn_free(a);
}

static void test_token_in_group(void **state)
{
    authn *a = load_ok("a,x,1\nb,y,2,\"system:masters\"\na,z,3,\"dev,system:masters\"\n");
    assert_string_equal(authn_token_in_group(a, "system:masters"), "b");
    assert_string_equal(authn_token_in_group(a, "dev"), "a");
    assert_string_equal(authn_token_in_group(a, "system:authenticated"), "b");
    assert_null(authn_token_in_group(a, "nobody"));
    authn_free(a);
}

static void test_scheme_case_and_spaces(void **state)
{
    authn *a = load_ok("secret,u,1\n");
    static const char *const ok[] = {"Bearer secret", "bearer secret", "BEARER secret",
                                     "BeArEr secret", "  Bearer secret \t", "Bearer secret trailing"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_string_equal(auth_ok(a, ok[i])->name, "u");
    /* empty token = not presented → anonymous, like bearertoken.go */
    static const char *const none[] = {"", "   ", "Bearer", "Bearer ", "Bearer  secret",
                                       "Bearer\tsecret", "Basic dXNlcjpwYXNz", "Bearersecret",
                                       "Token secret"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        assert_anonymous(auth_ok(a, none[i]));
    authn_free(a);
}

static void test_unknown_token(void **state)
{
    authn *a = load_ok("secret,u,1\n");
    const auth_user *u = (const auth_user *)1;
    static const char *const bad[] = {"Bearer secre", "Bearer secrets", "Bearer SECRET", "Bearer x",
                                      "bearer \"secret\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(authn_authenticate(a, bad[i], &u), -1);
    authn_free(a);

    a = load_ok("");
    assert_int_equal(authn_authenticate(a, "Bearer anything", &u), -1);
    authn_free(a);
}

static void test_anonymous(void **state)
{
    authn *a = load_ok("secret,u,1\n");
    const auth_user *u = auth_ok(a, NULL);
    assert_anonymous(u);
    assert_string_equal(u->uid, "");
    assert_false(auth_user_in_group(NULL, "x"));
    assert_false(auth_user_in_group(u, NULL));
    authn_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quotes_and_groups),
        cmocka_unit_test(test_line_endings_and_blank_lines),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_empty_token_skipped),
        cmocka_unit_test(test_duplicate_later_wins),
        cmocka_unit_test(test_token_in_group),
        cmocka_unit_test(test_scheme_case_and_spaces),
        cmocka_unit_test(test_unknown_token),
        cmocka_unit_test(test_anonymous),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
