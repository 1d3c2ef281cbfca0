/* Unit tests for src/pfor.c: every index exactly once, on the caller alone or with helpers,
 * many runs in a row (generations), tiny and empty ranges, and that the helpers do take part. */
#include "unit.h"
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include "pfor.h"

typedef struct visit {
    unsigned *hits;          /* per index, atomic */
    pthread_t caller;
    unsigned others;         /* items done off the caller's thread, atomic */
} visit;

static void mark(void *arg, size_t i)
{
    visit *v = arg;
    __atomic_fetch_add(&v->hits[i], 1, __ATOMIC_RELAXED);
    if (!pthread_equal(pthread_self(), v->caller))
        __atomic_fetch_add(&v->others, 1, __ATOMIC_RELAXED);
}

static void run_and_check(pfor *p, size_t n, visit *v)
{
    v->hits = calloc(n ? n : 1, sizeof *v->hits);
    v->caller = pthread_self();
    pfor_run(p, n, mark, v);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(v->hits[i], 1);
    free(v->hits);
}

static void test_no_helpers_is_a_plain_loop(void **state)
{
    pfor *p = pfor_new(0);
    assert_non_null(p);
    assert_int_equal(pfor_helpers(p), 0);
    visit v = {0};
    run_and_check(p, 1000, &v);
    assert_int_equal(v.others, 0);
    pfor_free(p);
}

static void test_every_index_once_with_helpers(void **state)
{
    pfor *p = pfor_new(3);
    assert_int_equal(pfor_helpers(p), 3);
    static const size_t sizes[] = {0, 1, 15, 16, 17, 63, 64, 1000, 10007, 100000};
    for (int round = 0; round < 50; round++)
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            visit v = {0};
            run_and_check(p, sizes[k], &v);
        }
    pfor_free(p);
}

/* Items slow enough that the helpers must wake up and take some. */
static void slow_mark(void *arg, size_t i)
{
    mark(arg, i);
    struct timespec ts = {0, 20000};
    nanosleep(&ts, NULL);
}

static void test_helpers_take_part(void **state)
{
    pfor *p = pfor_new(2);
    visit v = {0};
    v.hits = calloc(2000, sizeof *v.hits);
    v.caller = pthread_self();
    pfor_run(p, 2000, slow_mark, &v);
    for (size_t i = 0; i < 2000; i++)
        assert_int_equal(v.hits[i], 1);
    assert_true(v.others > 0);
    free(v.hits);
    pfor_free(p);
}

static void test_capped_and_default(void **state)
{
    pfor *p = pfor_new(100);
    assert_int_equal(pfor_helpers(p), 3); /* at most 3 */
    pfor_free(p);
    p = pfor_new(-1);                     /* one fewer than the CPUs */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int want = cpus > 1 ? (int)cpus - 1 : 0;
    assert_int_equal(pfor_helpers(p), want > 3 ? 3 : want);
    visit v = {0};
    run_and_check(p, 5000, &v);
    pfor_free(p);
    pfor_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_helpers_is_a_plain_loop),
        cmocka_unit_test(test_every_index_once_with_helpers),
        cmocka_unit_test(test_helpers_take_part),
        cmocka_unit_test(test_capped_and_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
