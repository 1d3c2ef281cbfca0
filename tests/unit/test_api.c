/* Unit tests for src/api.c's small helpers: UIDs (RFC 4122 version 4 text, unique across the
 * refills of the random pool). */
#include "unit.h"
#include <ctype.h>
#include "api.h"

static int cmp(const void *a, const void *b) { return strcmp(a, b); }

static void test_uid_format_and_uniqueness(void **state)
{
    enum { N = 1000 }; /* several refills of the 4 KiB pool */
    static char uids[N][37];
    for (int i = 0; i < N; i++) {
        api_new_uid(uids[i]);
        const char *u = uids[i];
        assert_int_equal(strlen(u), 36);
        for (int k = 0; k < 36; k++) {
            if (k == 8 || k == 13 || k == 18 || k == 23)
                assert_int_equal(u[k], '-');
            else
                assert_true(isxdigit((unsigned char)u[k]) && !isupper((unsigned char)u[k]));
        }
        assert_int_equal(u[14], '4');                 /* version 4 */
        assert_non_null(strchr("89ab", u[19]));       /* RFC 4122 variant */
    }
    qsort(uids, N, sizeof uids[0], cmp);
    for (int i = 1; i < N; i++)
        assert_true(strcmp(uids[i - 1], uids[i]) != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uid_format_and_uniqueness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
