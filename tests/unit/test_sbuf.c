/* Unit tests for src/sbuf.c: appending, the cap set at init, the sticky error, take and reuse. */
#include "unit.h"
#include <errno.h>
#include "sbuf.h"

/* The allocation-failure case asks for more than any allocator gives; under ASan that must
 * return NULL rather than abort. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

static void expect_text(const sbuf *b, const char *want)
{
    assert_string_equal(sbuf_str(b), want);
    assert_int_equal(sbuf_len(b), strlen(want));
}

static void test_empty(void **state)
{
    sbuf b;
    sbuf_init(&b, 16);
    expect_text(&b, "");
    assert_null(b.p); /* nothing allocated until needed */
    assert_int_equal(sbuf_add(&b, "", 0), 0);
    expect_text(&b, "");
    char *s = sbuf_take(&b);
    assert_non_null(s); /* "" is a string, not a failure */
    assert_string_equal(s, "");
    free(s);
    sbuf_free(&b);
}

static void test_append(void **state)
{
    sbuf b;
    sbuf_init(&b, 1024);
    assert_int_equal(sbuf_add(&b, "ab\0cd", 2), 0);
    assert_int_equal(sbuf_putc(&b, '-'), 0);
    assert_int_equal(sbuf_puts(&b, "xyz"), 0);
    assert_int_equal(sbuf_printf(&b, "[%d|%s|%5.2f]", 42, "q", 1.5), 0);
    expect_text(&b, "ab-xyz[42|q| 1.50]");
    assert_int_equal(sbuf_error(&b), 0);
    char *s = sbuf_take(&b);
    assert_string_equal(s, "ab-xyz[42|q| 1.50]");
    free(s);
    /* take leaves an empty, reusable buffer with the same cap */
    expect_text(&b, "");
    assert_int_equal(b.max, 1024);
    assert_int_equal(sbuf_puts(&b, "again"), 0);
    expect_text(&b, "again");
    sbuf_free(&b);
}

static void test_embedded_nul(void **state)
{
    sbuf b;
    sbuf_init(&b, 64);
    assert_int_equal(sbuf_add(&b, "a\0b", 3), 0);
    assert_int_equal(sbuf_len(&b), 3);
    assert_memory_equal(sbuf_str(&b), "a\0b", 4);
    sbuf_free(&b);
}

static void test_grows(void **state)
{
    sbuf b;
    sbuf_init(&b, 1u << 20);
    char want[5001] = "";
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(sbuf_printf(&b, "%04d,", i), 0);
        char item[16];
        snprintf(item, sizeof item, "%04d,", i);
        strcat(want, item);
    }
    expect_text(&b, want);
    assert_true(b.cap > b.len && b.cap <= b.max);
    /* one printf longer than everything allocated so far */
    sbuf_reset(&b);
    assert_int_equal(sbuf_printf(&b, "%s%s", want, want), 0);
    assert_int_equal(sbuf_len(&b), 10000);
    assert_memory_equal(sbuf_str(&b), want, 5000);
    assert_memory_equal(sbuf_str(&b) + 5000, want, 5000);
    sbuf_free(&b);
}

/* max counts the NUL: a buffer of max 8 holds 7 bytes of text. */
static void test_cap_add(void **state)
{
    sbuf b;
    sbuf_init(&b, 8);
    assert_int_equal(sbuf_puts(&b, "1234"), 0);
    assert_int_equal(sbuf_puts(&b, "567"), 0);
    expect_text(&b, "1234567");
    assert_true(b.cap <= 8);
    assert_int_equal(sbuf_putc(&b, '8'), -E2BIG);
    expect_text(&b, "1234567"); /* the failed append left nothing behind */
    /* sticky: even what would fit now fails */
    sbuf_setlen(&b, 2);
    assert_int_equal(sbuf_putc(&b, 'x'), -E2BIG);
    assert_int_equal(sbuf_puts(&b, ""), -E2BIG);
    assert_int_equal(sbuf_printf(&b, "%d", 1), -E2BIG);
    assert_int_equal(sbuf_error(&b), -E2BIG);
    expect_text(&b, "12");
    sbuf_reset(&b); /* reset keeps the error */
    assert_int_equal(sbuf_error(&b), -E2BIG);
    assert_null(sbuf_take(&b));
    /* take cleared it; the cap is unchanged */
    assert_int_equal(sbuf_error(&b), 0);
    assert_int_equal(sbuf_puts(&b, "abcdefg"), 0);
    assert_int_equal(sbuf_puts(&b, "h"), -E2BIG);
    sbuf_free(&b);
    assert_int_equal(sbuf_error(&b), 0);
    assert_int_equal(sbuf_puts(&b, "abcdefg"), 0);
    sbuf_free(&b);
}

static void test_cap_printf(void **state)
{
    sbuf b;
    sbuf_init(&b, 100); /* not a power of two: memory is clamped to it */
    assert_int_equal(sbuf_printf(&b, "%s", "0123456789"), 0);
    assert_int_equal(sbuf_printf(&b, "%090d", 0), -E2BIG); /* 10 + 90 + NUL > 100 */
    expect_text(&b, "0123456789"); /* the truncated first try into the room there was is undone */
    sbuf_free(&b);

    sbuf_init(&b, 100);
    assert_int_equal(sbuf_puts(&b, "0123456789"), 0);
    assert_int_equal(sbuf_printf(&b, "%089d", 7), 0); /* exactly 99 bytes + NUL */
    assert_int_equal(sbuf_len(&b), 99);
    assert_int_equal(b.cap, 100);
    assert_int_equal(sbuf_str(&b)[98], '7');
    assert_int_equal(sbuf_putc(&b, 'x'), -E2BIG);
    sbuf_free(&b);
}

static void test_cap_huge_add(void **state)
{
    sbuf b;
    sbuf_init(&b, 16);
    assert_int_equal(sbuf_puts(&b, "abc"), 0);
    /* a length that would wrap len + n + 1 around is refused, not wrapped */
    assert_int_equal(sbuf_add(&b, "x", (size_t)-1), -E2BIG);
    expect_text(&b, "abc");
    sbuf_free(&b);
}

static void test_nomem(void **state)
{
    sbuf b;
    sbuf_init(&b, (size_t)-1);
    assert_int_equal(sbuf_puts(&b, "abc"), 0);
    /* no allocator grants this; the copy is never attempted */
    assert_int_equal(sbuf_add(&b, "x", (size_t)-1 / 2), -ENOMEM);
    expect_text(&b, "abc");
    assert_int_equal(sbuf_puts(&b, "d"), -ENOMEM);
    assert_null(sbuf_take(&b));
    assert_int_equal(sbuf_puts(&b, "d"), 0);
    expect_text(&b, "d");
    sbuf_free(&b);
}

static void test_setlen(void **state)
{
    sbuf b;
    sbuf_init(&b, 64);
    assert_int_equal(sbuf_puts(&b, "spec.replicas"), 0);
    size_t mark = sbuf_len(&b);
    assert_int_equal(sbuf_printf(&b, "[%d]", 3), 0);
    expect_text(&b, "spec.replicas[3]");
    sbuf_setlen(&b, mark);
    expect_text(&b, "spec.replicas");
    sbuf_setlen(&b, 4);
    expect_text(&b, "spec");
    sbuf_reset(&b);
    expect_text(&b, "");
    sbuf_reset(&b); /* also on a buffer that never allocated */
    sbuf_free(&b);
    sbuf_reset(&b);
    expect_text(&b, "");
}

static int vwrap(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vwrap(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sbuf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

static void test_vprintf(void **state)
{
    sbuf b;
    sbuf_init(&b, 4096);
    char big[300];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    /* the second formatting pass (after growing) needs its own copy of the va_list */
    assert_int_equal(vwrap(&b, "%s/%d/%s", "a", 7, big), 0);
    assert_int_equal(sbuf_len(&b), 4 + 299);
    assert_memory_equal(sbuf_str(&b), "a/7/zz", 6);
    assert_int_equal(sbuf_str(&b)[sbuf_len(&b) - 1], 'z');
    sbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),      cmocka_unit_test(test_append),
        cmocka_unit_test(test_embedded_nul), cmocka_unit_test(test_grows),
        cmocka_unit_test(test_cap_add),    cmocka_unit_test(test_cap_printf),
        cmocka_unit_test(test_cap_huge_add), cmocka_unit_test(test_nomem),
        cmocka_unit_test(test_setlen),     cmocka_unit_test(test_vprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
