/* base64: Go's StdEncoding, and the byte its errors name. */
#include "unit.h"
#include "base64.h"

static void test_round_trip(void **state)
{
    (void)state;
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar", "hello, world\n"};
    const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy", "aGVsbG8sIHdvcmxkCg=="};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
        char *e = base64_encode(plain[i], strlen(plain[i]));
        assert_string_equal(e, enc[i]);
        size_t len, bad;
        unsigned char *d = base64_decode(e, strlen(e), &len, &bad);
        assert_non_null(d);
        assert_int_equal(len, strlen(plain[i]));
        assert_memory_equal(d, plain[i], len);
        free(d);
        free(e);
    }
    size_t len, bad;
    unsigned char *d = base64_decode("Zm9v\r\nYmFy\n", 11, &len, &bad); /* CR and LF are skipped */
    assert_non_null(d);
    assert_int_equal(len, 6);
    free(d);
}

static void test_errors(void **state)
{
    (void)state;
    /* CorruptInputError offsets as Go's decoder reports them */
    struct { const char *s; size_t at; } bad[] = {
        {"abc", 0}, {"a", 0}, {"Zm9vY", 4}, {"Zm9v!mFy", 4}, {"Zg=", 3}, {"Zg=x", 2}, {"Z===", 1},
        {"Zg==Zg==", 4}, {"=AAA", 0}, {"not base64", 3},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t len, at = 99;
        unsigned char *d = base64_decode(bad[i].s, strlen(bad[i].s), &len, &at);
        if (d || at != bad[i].at)
            print_error("%s: decoded %d, at %zu, want %zu\n", bad[i].s, d != NULL, at, bad[i].at);
        assert_null(d);
        assert_int_equal(at, bad[i].at);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
