/* Unit tests for src/keyq.c: each key queued once, in the order first pushed, below and past
 * the point where the hash set takes over from the scan; take empties the queue; free. */
#include "unit.h"
#include "keyq.h"

static void key_of(char *b, size_t n, size_t i)
{
    /* a long shared prefix, as store keys have */
    snprintf(b, n, "pytorchjobs/bench/p-%zu", i);
}

static void free_keys(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void test_small(void **state)
{
    keyq q = {0};
    assert_int_equal(keyq_push(&q, "b"), 1);
    assert_int_equal(keyq_push(&q, "a"), 1);
    assert_int_equal(keyq_push(&q, "b"), 0);
    assert_int_equal(keyq_push(&q, "ab"), 1);
    assert_int_equal(keyq_push(&q, "a"), 0);
    assert_null(q.set); /* a handful is scanned */
    size_t n;
    char **v = keyq_take(&q, &n);
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "b");
    assert_string_equal(v[1], "a");
    assert_string_equal(v[2], "ab");
    free_keys(v, n);
    assert_int_equal(q.n, 0);
    assert_null(keyq_take(&q, &n)); /* empty */
    assert_int_equal(n, 0);
    /* taken keys may be queued again */
    assert_int_equal(keyq_push(&q, "b"), 1);
    keyq_free(&q);
    assert_int_equal(q.n, 0);
}

/* Every count around the switch to the set and its growth: each key in once, in order, and
 * every queued key found again. */
static void test_counts(void **state)
{
    const size_t counts[] = {15, 16, 17, 31, 32, 33, 64, 65, 129, 1000};
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        keyq q = {0};
        char k[64];
        for (size_t i = 0; i < counts[c]; i++) {
            key_of(k, sizeof k, i);
            assert_int_equal(keyq_push(&q, k), 1);
            key_of(k, sizeof k, i / 2); /* an earlier key, or this one */
            assert_int_equal(keyq_push(&q, k), 0);
        }
        for (size_t i = 0; i < counts[c]; i++) {
            key_of(k, sizeof k, i);
            assert_int_equal(keyq_push(&q, k), 0);
        }
        if (counts[c] > 16) {
            assert_non_null(q.set); /* found by hash, not by a scan of the queue */
            assert_true(q.set_cap >= 2 * q.n);
        }
        size_t n;
        char **v = keyq_take(&q, &n);
        assert_int_equal(n, counts[c]);
        for (size_t i = 0; i < n; i++) {
            key_of(k, sizeof k, i);
            assert_string_equal(v[i], k);
        }
        free_keys(v, n);
        assert_null(q.set);
    }
}

/* A controller adopting every job after a restart: 200,000 keys, each pushed twice. With a scan
 * of the queue this is 2 * 10^10 comparisons (the restart with 100,000 jobs that took 20 s). */
static void test_many(void **state)
{
    keyq q = {0};
    char k[64];
    const size_t N = 200000;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < N; i++) {
            key_of(k, sizeof k, i);
            assert_int_equal(keyq_push(&q, k), pass == 0);
        }
    assert_int_equal(q.n, N);
    keyq_free(&q); /* the keys go with it (LeakSanitizer checks) */
    assert_null(q.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
