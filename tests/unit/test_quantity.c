/* quantity: resource.Quantity text and the downward API's rounding. */
#include <math.h>
#include "unit.h"
#include "quantity.h"

static void test_parse(void **state)
{
    (void)state;
    struct { const char *s; long double v; } ok[] = {
        {"0", 0}, {"1", 1}, {"500m", 0.5L}, {"1.5", 1.5L}, {"2k", 2000}, {"1Ki", 1024},
        {"1.5Gi", 1610612736.0L}, {"128974848", 128974848}, {"129e6", 129000000}, {"129M", 129000000},
        {"123Mi", 128974848}, {"100u", 0.0001L}, {"5n", 5e-9L}, {"+3", 3}, {"-2", -2}, {".5", 0.5L},
        {"1E", 1e18L}, {"2E3", 2000}, {"1e-3", 0.001L}, {"1Ei", 1152921504606846976.0L},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        long double v = -1;
        assert_int_equal(quantity_parse(ok[i].s, &v), 0);
        if (fabsl(v - ok[i].v) > fabsl(ok[i].v) * 1e-15L)
            print_error("%s: got %Lg want %Lg\n", ok[i].s, v, ok[i].v);
        assert_true(fabsl(v - ok[i].v) <= fabsl(ok[i].v) * 1e-15L);
    }
    const char *bad[] = {NULL, "", "m", "1x", "1 Gi", "1.2.3", "Gi", "1e", "1e+", "1ee3", "0x10", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        long double v;
        if (quantity_parse(bad[i], &v) != -1)
            print_error("%s parsed\n", bad[i] ? bad[i] : "NULL");
        assert_int_equal(quantity_parse(bad[i], &v), -1);
    }
}

static void test_ceil_div(void **state)
{
    (void)state;
    long double v, d;
    /* ExtractContainerResourceValue: CPU in thousandths, rounded up; memory in bytes */
    assert_int_equal(quantity_ceil_div(0.5L, 0, 1), 1);          /* 500m, no divisor: 1 core */
    assert_int_equal(quantity_ceil_div(0.5L, 0.001L, 1), 500);   /* divisor 1m */
    assert_int_equal(quantity_ceil_div(2, 1, 1), 2);
    assert_int_equal(quantity_ceil_div(0.0001L, 0.001L, 1), 1);  /* 100u is 1m, rounded up */
    assert_int_equal(quantity_parse("1.1", &v), 0);
    assert_int_equal(quantity_ceil_div(v, 0.001L, 1), 1100);
    assert_int_equal(quantity_parse("64Mi", &v), 0);
    assert_int_equal(quantity_parse("1Mi", &d), 0);
    assert_int_equal(quantity_ceil_div(v, d, 0), 64);
    assert_int_equal(quantity_ceil_div(v, 0, 0), 67108864);
    assert_int_equal(quantity_parse("1k", &d), 0);
    assert_int_equal(quantity_ceil_div(v, d, 0), 67109);         /* 67,108.864 up */
    assert_int_equal(quantity_ceil_div(0, 0, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_ceil_div),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
