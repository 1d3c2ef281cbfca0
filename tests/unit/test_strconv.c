/* strconv: Go's strict integer parsing, RFC 3339 timestamps and UTF-8 validity. */
#include <errno.h>
#include "unit.h"
#include "strconv.h"

static void test_int64(void **state)
{
    (void)state;
    long long v;
    assert_int_equal(strconv_int64("42", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(strconv_int64("-7", &v), 0);
    assert_int_equal(v, -7);
    assert_int_equal(strconv_int64("+3", &v), 0);
    assert_int_equal(v, 3);
    const char *bad[] = {NULL, "", "-", "1.5", " 1", "1 ", "0x10", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(strconv_int64(bad[i], &v), -1);
}

static void test_rfc3339(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(strconv_rfc3339(0, buf), "1970-01-01T00:00:00Z");
    time_t t;
    assert_int_equal(strconv_parse_rfc3339("2026-12-04T16:54:07Z", &t), 0);
    assert_string_equal(strconv_rfc3339(t, buf), "2026-12-04T16:54:07Z");
    assert_int_equal(strconv_parse_rfc3339("2026-12-04T16:54:07.154311086Z", &t), 0);
    assert_string_equal(strconv_rfc3339(t, buf), "2026-12-04T16:54:07Z");
    assert_int_equal(strconv_parse_rfc3339("2026-12-04T18:54:07+02:00", &t), 0);
    assert_string_equal(strconv_rfc3339(t, buf), "2026-12-04T16:54:07Z");
    const char *bad[] = {NULL, "", "2026-12-04", "2026-12-04T16:54:07", "2026-12-04T16:54:07Zx",
                         "2026-13-04T16:54:07Z", "2026-12-04T16:54:07.Z"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(strconv_parse_rfc3339(bad[i], &t), -EINVAL);
}

/* RFC 3629's limits, each on both sides. */
static void test_utf8_len(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t avail, want;
    } cases[] = {
        {"\xC2\x80", 2, 2},         {"\xC1\xBF", 2, 0},         /* overlong 2-byte */
        {"\xDF\xBF", 2, 2},         {"\xC3", 1, 0},              /* cut short */
        {"\xE0\xA0\x80", 3, 3},     {"\xE0\x9F\xBF", 3, 0},     /* overlong 3-byte */
        {"\xED\x9F\xBF", 3, 3},     {"\xED\xA0\x80", 3, 0},     /* surrogate */
        {"\xEF\xBF\xBF", 3, 3},     {"\xE2\x82", 2, 0},
        {"\xF0\x90\x80\x80", 4, 4}, {"\xF0\x8F\xBF\xBF", 4, 0}, /* overlong 4-byte */
        {"\xF4\x8F\xBF\xBF", 4, 4}, {"\xF4\x90\x80\x80", 4, 0}, /* past U+10FFFF */
        {"\xF5\x80\x80\x80", 4, 0}, {"\x80", 1, 0},              /* bad lead bytes */
        {"\xE2\x82\x41", 3, 0},                                   /* bad continuation */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(strconv_utf8_len((const unsigned char *)cases[i].s, cases[i].avail),
                         cases[i].want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int64),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_utf8_len),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
