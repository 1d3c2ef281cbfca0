/* Unit tests for src/metrics.c: the registry, its text exposition and torchjobd's metric set. */
#include "unit.h"
#include <math.h>
#include <unistd.h>
#include <sys/wait.h>
#include "metrics.h"

/* Render r and compare with want, byte for byte. */
static void expect_render(metrics *r, const char *want)
{
    size_t len = 0;
    char *got = metrics_render(r, &len);
    assert_non_null(got);
    assert_int_equal(len, strlen(got));
    assert_string_equal(got, want);
    free(got);
}

static void test_empty(void **state)
{
    metrics *r = metrics_new();
    expect_render(r, "");
    metrics_free(r);
    metrics_free(NULL);
}

static void test_counter(void **state)
{
    metrics *r = metrics_new();
    const char *labels[] = {"method", "code", NULL};
    metrics_family *c = metrics_counter(r, "http_requests_total", "Requests served.", labels);
    assert_non_null(c);
    metrics_family *plain = metrics_counter(r, "restarts_total", "Restarts.", NULL);
    assert_non_null(plain);

    metrics_inc(c, (const char *[]){"post", "201"});
    metrics_inc(c, (const char *[]){"get", "200"});
    metrics_add(c, (const char *[]){"get", "200"}, 2);
    metrics_inc(c, (const char *[]){"get", "404"});
    metrics_add(c, (const char *[]){"get", "404"}, -5);        /* ignored: counters only go up */
    metrics_add(c, (const char *[]){"get", "404"}, NAN);       /* ignored */
    metrics_add(c, (const char *[]){"get", "500"}, 0.5);
    assert_true(metrics_value(c, (const char *[]){"get", "200"}) == 3);
    assert_true(metrics_value(c, (const char *[]){"put", "200"}) == 0);

    expect_render(r,
                  "# HELP http_requests_total Requests served.\n"
                  "# TYPE http_requests_total counter\n"
                  "http_requests_total{method=\"get\",code=\"200\"} 3\n"
                  "http_requests_total{method=\"get\",code=\"404\"} 1\n"
                  "http_requests_total{method=\"get\",code=\"500\"} 0.5\n"
                  "http_requests_total{method=\"post\",code=\"201\"} 1\n"
                  "# HELP restarts_total Restarts.\n"
                  "# TYPE restarts_total counter\n"
                  "restarts_total 0\n");

    metrics_inc(plain, NULL);
    metrics_inc(c, (const char *[]){"delete", "200"});  /* new series after a render: re-sorted */
    expect_render(r,
                  "# HELP http_requests_total Requests served.\n"
                  "# TYPE http_requests_total counter\n"
                  "http_requests_total{method=\"delete\",code=\"200\"} 1\n"
                  "http_requests_total{method=\"get\",code=\"200\"} 3\n"
                  "http_requests_total{method=\"get\",code=\"404\"} 1\n"
                  "http_requests_total{method=\"get\",code=\"500\"} 0.5\n"
                  "http_requests_total{method=\"post\",code=\"201\"} 1\n"
                  "# HELP restarts_total Restarts.\n"
                  "# TYPE restarts_total counter\n"
                  "restarts_total 1\n");
    metrics_free(r);
}

static void test_gauge_and_numbers(void **state)
{
    metrics *r = metrics_new();
    const char *labels[] = {"k", NULL};
    metrics_family *g = metrics_gauge(r, "temp", "", labels);
    metrics_family *one = metrics_gauge(r, "ns:level", "Level.", NULL);
    assert_non_null(g);
    assert_non_null(one);

    metrics_set(g, (const char *[]){"a"}, 0.1);
    metrics_set(g, (const char *[]){"b"}, -2.5);
    metrics_set(g, (const char *[]){"c"}, 1234567);
    metrics_set(g, (const char *[]){"d"}, 1e21);
    metrics_set(g, (const char *[]){"e"}, 1.0 / 3);
    metrics_set(g, (const char *[]){"f"}, INFINITY);
    metrics_set(g, (const char *[]){"g"}, -INFINITY);
    metrics_set(g, (const char *[]){"h"}, NAN);
    metrics_set(g, (const char *[]){"i"}, 5e-324);
    metrics_set(g, (const char *[]){"j"}, 9007199254740993.0);  /* rounds to 2^53 */
    metrics_add(g, (const char *[]){"k"}, 3);
    metrics_add(g, (const char *[]){"k"}, -4);  /* gauges go down */
    metrics_inc(g, (const char *[]){"l"});
    metrics_set(one, NULL, 42);
    metrics_set(one, NULL, 7);

    expect_render(r,
                  "# HELP temp \n"
                  "# TYPE temp gauge\n"
                  "temp{k=\"a\"} 0.1\n"
                  "temp{k=\"b\"} -2.5\n"
                  "temp{k=\"c\"} 1234567\n"
                  "temp{k=\"d\"} 1e+21\n"
                  "temp{k=\"e\"} 0.3333333333333333\n"
                  "temp{k=\"f\"} +Inf\n"
                  "temp{k=\"g\"} -Inf\n"
                  "temp{k=\"h\"} NaN\n"
                  "temp{k=\"i\"} 4.94065645841247e-324\n"
                  "temp{k=\"j\"} 9007199254740992\n"
                  "temp{k=\"k\"} -1\n"
                  "temp{k=\"l\"} 1\n"
                  "# HELP ns:level Level.\n"
                  "# TYPE ns:level gauge\n"
                  "ns:level 7\n");
    metrics_free(r);
}

static void test_escaping(void **state)
{
    metrics *r = metrics_new();
    const char *labels[] = {"path", NULL};
    metrics_family *g = metrics_gauge(r, "esc", "Back\\slash, \"quotes\" and a\nnewline.", labels);
    assert_non_null(g);
    metrics_set(g, (const char *[]){"C:\\dir\\\"x\"\nnext"}, 1);
    metrics_set(g, (const char *[]){""}, 2);
    metrics_set(g, (const char *[]){NULL}, 3);         /* NULL reads as "": the same series */
    metrics_set(g, (const char *[]){"\xc3\xa9t\xc3\xa9"}, 4);  /* UTF-8 passes through */
    expect_render(r,
                  "# HELP esc Back\\\\slash, \"quotes\" and a\\nnewline.\n"
                  "# TYPE esc gauge\n"
                  "esc{path=\"\"} 3\n"
                  "esc{path=\"C:\\\\dir\\\\\\\"x\\\"\\nnext\"} 1\n"
                  "esc{path=\"\xc3\xa9t\xc3\xa9\"} 4\n");
    metrics_free(r);
}

static void test_histogram(void **state)
{
    metrics *r = metrics_new();
    const char *labels[] = {"op", NULL};
    const double bounds[] = {0.1, 0.5, 1};
    metrics_family *h = metrics_histogram(r, "lat_seconds", "Latency.", labels, bounds, 3);
    assert_non_null(h);

    metrics_observe(h, (const char *[]){"read"}, 0.05);
    metrics_observe(h, (const char *[]){"read"}, 0.1);   /* le is inclusive */
    metrics_observe(h, (const char *[]){"read"}, 0.3);
    metrics_observe(h, (const char *[]){"read"}, 0.75);
    metrics_observe(h, (const char *[]){"read"}, 2);
    metrics_observe(h, (const char *[]){"read"}, 1.5);
    metrics_observe(h, (const char *[]){"write"}, 0.5);
    assert_true(metrics_value(h, (const char *[]){"read"}) == 6);

    expect_render(r,
                  "# HELP lat_seconds Latency.\n"
                  "# TYPE lat_seconds histogram\n"
                  "lat_seconds_bucket{op=\"read\",le=\"0.1\"} 2\n"
                  "lat_seconds_bucket{op=\"read\",le=\"0.5\"} 3\n"
                  "lat_seconds_bucket{op=\"read\",le=\"1\"} 4\n"
                  "lat_seconds_bucket{op=\"read\",le=\"+Inf\"} 6\n"
                  "lat_seconds_sum{op=\"read\"} 4.7\n"
                  "lat_seconds_count{op=\"read\"} 6\n"
                  "lat_seconds_bucket{op=\"write\",le=\"0.1\"} 0\n"
                  "lat_seconds_bucket{op=\"write\",le=\"0.5\"} 1\n"
                  "lat_seconds_bucket{op=\"write\",le=\"1\"} 1\n"
                  "lat_seconds_bucket{op=\"write\",le=\"+Inf\"} 1\n"
                  "lat_seconds_sum{op=\"write\"} 0.5\n"
                  "lat_seconds_count{op=\"write\"} 1\n");
    metrics_free(r);
}

static void test_histogram_unlabelled(void **state)
{
    metrics *r = metrics_new();
    const double bounds[] = {1, 2, INFINITY};  /* a trailing +Inf is accepted and implied */
    metrics_family *h = metrics_histogram(r, "size", "Sizes.", NULL, bounds, 3);
    assert_non_null(h);
    expect_render(r,
                  "# HELP size Sizes.\n"
                  "# TYPE size histogram\n"
                  "size_bucket{le=\"1\"} 0\n"
                  "size_bucket{le=\"2\"} 0\n"
                  "size_bucket{le=\"+Inf\"} 0\n"
                  "size_sum 0\n"
                  "size_count 0\n");
    metrics_observe(h, NULL, 1);
    metrics_observe(h, NULL, -3);   /* below every bound: first bucket */
    metrics_observe(h, NULL, NAN);  /* like client_golang: +Inf bucket, sum NaN */
    expect_render(r,
                  "# HELP size Sizes.\n"
                  "# TYPE size histogram\n"
                  "size_bucket{le=\"1\"} 2\n"
                  "size_bucket{le=\"2\"} 2\n"
                  "size_bucket{le=\"+Inf\"} 3\n"
                  "size_sum NaN\n"
                  "size_count 3\n");
    metrics_free(r);
}

/* Parse every _bucket line of a rendered histogram: le values strictly increase, counts never
 * decrease, +Inf comes last and equals _count. */
static void check_cumulative(const char *text, const char *name, size_t want_buckets)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s_bucket{le=\"", name);
    const char *p = text;
    double last_le = -INFINITY;
    unsigned long long last = 0, inf = 0;
    size_t n = 0;
    int saw_inf = 0;
    while ((p = strstr(p, prefix))) {
        p += strlen(prefix);
        assert_false(saw_inf);
        double le = strncmp(p, "+Inf", 4) == 0 ? INFINITY : strtod(p, NULL);
        assert_true(le > last_le);
        const char *sp = strstr(p, "} ");
        assert_non_null(sp);
        unsigned long long c = strtoull(sp + 2, NULL, 10);
        assert_true(c >= last);
        last_le = le;
        last = c;
        n++;
        if (isinf(le)) {
            saw_inf = 1;
            inf = c;
        }
    }
    assert_true(saw_inf);
    assert_int_equal(n, want_buckets + 1);
    snprintf(prefix, sizeof prefix, "\n%s_count ", name);
    p = strstr(text, prefix);
    assert_non_null(p);
    assert_int_equal(strtoull(p + strlen(prefix), NULL, 10), inf);
}

static void test_histogram_cumulative(void **state)
{
    metrics *r = metrics_new();
    metrics_family *h = metrics_histogram(r, "req_seconds", "", NULL, metrics_apiserver_buckets,
                                          metrics_apiserver_nbuckets);
    assert_non_null(h);
    assert_int_equal(metrics_apiserver_nbuckets, 23);
    unsigned seed = 12345;
    for (int i = 0; i < 10000; i++) {
        seed = seed * 1103515245u + 12345u;
        metrics_observe(h, NULL, (seed >> 8) % 80000 / 1000.0);  /* 0 .. 79.999 s */
    }
    char *text = metrics_render(r, NULL);
    assert_non_null(text);
    check_cumulative(text, "req_seconds", 23);
    assert_non_null(strstr(text, "req_seconds_count 10000\n"));
    assert_non_null(strstr(text, "req_seconds_bucket{le=\"0.005\"} "));
    assert_non_null(strstr(text, "req_seconds_bucket{le=\"1\"} "));
    assert_non_null(strstr(text, "req_seconds_bucket{le=\"1.25\"} "));
    assert_non_null(strstr(text, "req_seconds_bucket{le=\"60\"} "));
    free(text);
    metrics_free(r);
}

static void test_sort_order(void **state)
{
    metrics *r = metrics_new();
    const char *labels[] = {"a", "b", NULL};
    metrics_family *c = metrics_counter(r, "c_total", "", labels);
    metrics_inc(c, (const char *[]){"x", "b"});
    metrics_inc(c, (const char *[]){"", "z"});
    metrics_inc(c, (const char *[]){"x", "a"});
    metrics_inc(c, (const char *[]){"xy", ""});
    metrics_inc(c, (const char *[]){"X", "a"});
    /* Tuple-wise: ("x","b") and ("xy","") differ in the first value; ("ab","c") vs ("a","bc")
     * are distinct series even though their concatenations agree. */
    metrics_inc(c, (const char *[]){"ab", "c"});
    metrics_inc(c, (const char *[]){"a", "bc"});
    expect_render(r,
                  "# HELP c_total \n"
                  "# TYPE c_total counter\n"
                  "c_total{a=\"\",b=\"z\"} 1\n"
                  "c_total{a=\"X\",b=\"a\"} 1\n"
                  "c_total{a=\"a\",b=\"bc\"} 1\n"
                  "c_total{a=\"ab\",b=\"c\"} 1\n"
                  "c_total{a=\"x\",b=\"a\"} 1\n"
                  "c_total{a=\"x\",b=\"b\"} 1\n"
                  "c_total{a=\"xy\",b=\"\"} 1\n");
    metrics_free(r);
}

static void test_many_series(void **state)
{
    metrics *r = metrics_new();
    const char *labels[] = {"id", NULL};
    metrics_family *c = metrics_counter(r, "many_total", "", labels);
    char id[16];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 5000; i++) {
            snprintf(id, sizeof id, "%05d", (i * 7919) % 5000);  /* every id, scrambled order */
            metrics_inc(c, (const char *[]){id});
        }
    }
    assert_int_equal(metrics_family_dropped(c), 0);
    for (int i = 0; i < 5000; i += 499) {
        snprintf(id, sizeof id, "%05d", i);
        assert_true(metrics_value(c, (const char *[]){id}) == 3);
    }
    char *text = metrics_render(r, NULL);
    assert_non_null(text);
    const char *p = strchr(strchr(text, '\n') + 1, '\n') + 1;  /* past HELP and TYPE */
    for (int i = 0; i < 5000; i++) {
        char line[64];
        snprintf(line, sizeof line, "many_total{id=\"%05d\"} 3\n", i);
        assert_memory_equal(p, line, strlen(line));
        p += strlen(line);
    }
    assert_string_equal(p, "");
    free(text);
    metrics_free(r);
}

static void test_series_cap(void **state)
{
    metrics *r = metrics_new();
    const char *labels[] = {"ns", NULL};
    metrics_family *c = metrics_counter(r, "jobs_total", "Jobs.", labels);
    metrics_family *h = metrics_histogram(r, "h", "", labels, (const double[]){1}, 1);
    metrics_family_set_max_series(c, 2);
    metrics_family_set_max_series(h, 1);

    metrics_inc(c, (const char *[]){"b"});
    metrics_inc(c, (const char *[]){"a"});
    metrics_inc(c, (const char *[]){"c"});  /* over the cap: dropped */
    metrics_inc(c, (const char *[]){"d"});  /* dropped */
    metrics_inc(c, (const char *[]){"c"});  /* still dropped */
    metrics_inc(c, (const char *[]){"a"});  /* existing series keep counting */
    metrics_observe(h, (const char *[]){"a"}, 0.5);
    metrics_observe(h, (const char *[]){"b"}, 0.5);
    assert_int_equal(metrics_family_dropped(c), 3);
    assert_int_equal(metrics_family_dropped(h), 1);
    assert_true(metrics_value(c, (const char *[]){"c"}) == 0);

    expect_render(r,
                  "# HELP jobs_total Jobs.\n"
                  "# TYPE jobs_total counter\n"
                  "jobs_total{ns=\"a\"} 2\n"
                  "jobs_total{ns=\"b\"} 1\n"
                  "# HELP h \n"
                  "# TYPE h histogram\n"
                  "h_bucket{ns=\"a\",le=\"1\"} 1\n"
                  "h_bucket{ns=\"a\",le=\"+Inf\"} 1\n"
                  "h_sum{ns=\"a\"} 0.5\n"
                  "h_count{ns=\"a\"} 1\n"
                  "# HELP metrics_series_dropped_total Observations dropped because their metric "
                  "had reached its cap on distinct label sets.\n"
                  "# TYPE metrics_series_dropped_total counter\n"
                  "metrics_series_dropped_total{metric=\"h\"} 1\n"
                  "metrics_series_dropped_total{metric=\"jobs_total\"} 3\n");
    metrics_free(r);
}

typedef struct watchers {
    int calls;
    int n;
    const char *res[8];
} watchers;

static void collect_watchers(void *arg, metrics_sink *s)
{
    watchers *w = arg;
    w->calls++;
    for (int i = 0; i < w->n; i++) {
        metrics_sink_add(s, (const char *[]){"WATCH", w->res[i]}, 1);  /* one per watcher */
    }
}

static void collect_scalar(void *arg, metrics_sink *s)
{
    metrics_sink_add(s, NULL, *(double *)arg);
}

static void collect_overflow(void *arg, metrics_sink *s)
{
    char v[16];
    for (int i = 5; i >= 0; i--) {
        snprintf(v, sizeof v, "%d", i);
        metrics_sink_add(s, (const char *[]){v}, i);
    }
}

static void test_callbacks(void **state)
{
    metrics *r = metrics_new();
    watchers w = {.n = 4, .res = {"pods", "pytorchjobs", "pods", "pods"}};
    double live = 3;
    const char *labels[] = {"verb", "resource", NULL};
    metrics_family *g = metrics_callback(r, METRICS_GAUGE, "watchers", "Open watches.", labels,
                                         collect_watchers, &w);
    metrics_family *late = metrics_callback(r, METRICS_GAUGE, "live", "Live.", NULL, NULL, NULL);
    metrics_family *cnt = metrics_callback(r, METRICS_COUNTER, "syncs_total", "Syncs.", NULL,
                                           collect_scalar, &live);
    const char *one[] = {"i", NULL};
    metrics_family *capped = metrics_callback(r, METRICS_GAUGE, "capped", "", one,
                                              collect_overflow, NULL);
    assert_non_null(g);
    assert_non_null(late);
    assert_non_null(cnt);
    assert_non_null(capped);
    metrics_family_set_max_series(capped, 4);
    assert_null(metrics_callback(r, METRICS_HISTOGRAM, "cbh", "", NULL, collect_scalar, &live));

    expect_render(r,
                  "# HELP watchers Open watches.\n"
                  "# TYPE watchers gauge\n"
                  "watchers{verb=\"WATCH\",resource=\"pods\"} 3\n"
                  "watchers{verb=\"WATCH\",resource=\"pytorchjobs\"} 1\n"
                  "# HELP live Live.\n"
                  "# TYPE live gauge\n"
                  "# HELP syncs_total Syncs.\n"
                  "# TYPE syncs_total counter\n"
                  "syncs_total 3\n"
                  "# HELP capped \n"
                  "# TYPE capped gauge\n"
                  "capped{i=\"2\"} 2\n"
                  "capped{i=\"3\"} 3\n"
                  "capped{i=\"4\"} 4\n"
                  "capped{i=\"5\"} 5\n"
                  "# HELP metrics_series_dropped_total Observations dropped because their metric "
                  "had reached its cap on distinct label sets.\n"
                  "# TYPE metrics_series_dropped_total counter\n"
                  "metrics_series_dropped_total{metric=\"capped\"} 2\n");
    assert_int_equal(w.calls, 1);

    /* Values are taken fresh at every render; nothing is kept in between. */
    w.n = 1;
    w.res[0] = "services";
    live = 0;
    metrics_family_set_collect(late, collect_scalar, &live);
    metrics_family_set_collect(capped, NULL, NULL);
    expect_render(r,
                  "# HELP watchers Open watches.\n"
                  "# TYPE watchers gauge\n"
                  "watchers{verb=\"WATCH\",resource=\"services\"} 1\n"
                  "# HELP live Live.\n"
                  "# TYPE live gauge\n"
                  "live 0\n"
                  "# HELP syncs_total Syncs.\n"
                  "# TYPE syncs_total counter\n"
                  "syncs_total 0\n"
                  "# HELP capped \n"
                  "# TYPE capped gauge\n"
                  "# HELP metrics_series_dropped_total Observations dropped because their metric "
                  "had reached its cap on distinct label sets.\n"
                  "# TYPE metrics_series_dropped_total counter\n"
                  "metrics_series_dropped_total{metric=\"capped\"} 2\n");
    assert_int_equal(w.calls, 2);
    metrics_free(r);
}

static void test_invalid_registration(void **state)
{
    metrics *r = metrics_new();
    const double inc[] = {1, 2};
    assert_non_null(metrics_counter(r, "ok_total", "", NULL));
    assert_null(metrics_counter(r, "ok_total", "", NULL));          /* duplicate */
    assert_null(metrics_gauge(r, "ok_total", "", NULL));            /* duplicate, other type */
    assert_null(metrics_counter(r, "", "", NULL));
    assert_null(metrics_counter(r, NULL, "", NULL));
    assert_null(metrics_counter(r, "9lives", "", NULL));
    assert_null(metrics_counter(r, "has-dash", "", NULL));
    assert_null(metrics_counter(r, "metrics_series_dropped_total", "", NULL));  /* reserved */
    assert_null(metrics_counter(r, "x", "", (const char *[]){"a:b", NULL}));
    assert_null(metrics_counter(r, "x", "", (const char *[]){"1a", NULL}));
    assert_null(metrics_counter(r, "x", "", (const char *[]){"__name__", NULL}));
    assert_null(metrics_counter(r, "x", "", (const char *[]){"a", "a", NULL}));
    assert_null(metrics_histogram(r, "x", "", (const char *[]){"le", NULL}, inc, 2));
    assert_non_null(metrics_counter(r, "le_ok", "", (const char *[]){"le", NULL}));
    assert_null(metrics_histogram(r, "x", "", NULL, (const double[]){2, 1}, 2));
    assert_null(metrics_histogram(r, "x", "", NULL, (const double[]){1, 1}, 2));
    assert_null(metrics_histogram(r, "x", "", NULL, (const double[]){NAN}, 1));
    assert_null(metrics_histogram(r, "x", "", NULL, (const double[]){-INFINITY, 1}, 2));
    const char *many[METRICS_MAX_LABELS + 2];
    char names[METRICS_MAX_LABELS + 1][16];
    for (int i = 0; i <= METRICS_MAX_LABELS; i++) {
        snprintf(names[i], sizeof names[i], "l%d", i);
        many[i] = names[i];
    }
    many[METRICS_MAX_LABELS + 1] = NULL;
    assert_null(metrics_counter(r, "x", "", many));
    many[METRICS_MAX_LABELS] = NULL;
    assert_non_null(metrics_counter(r, "x", "", many));
    assert_non_null(metrics_histogram(r, "no_buckets", "", NULL, NULL, 0));
    metrics_free(r);
}

/* Rendered text of a fresh tj_metrics, written out by hand from metrics.h's list. */
static void test_tj_fresh(void **state)
{
    tj_metrics *m = tj_metrics_new();
    assert_non_null(m);
    size_t len;
    char *got = tj_metrics_render(m, &len);
    assert_non_null(got);
    const char *want =
        "# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each "
        "verb, group, version, resource, scope, component, and HTTP response code.\n"
        "# TYPE apiserver_request_total counter\n"
        "# HELP apiserver_request_duration_seconds [STABLE] Response latency distribution in "
        "seconds for each verb, group, version, resource, subresource, scope and component.\n"
        "# TYPE apiserver_request_duration_seconds histogram\n"
        "# HELP apiserver_longrunning_requests [ALPHA] Gauge of all active long-running apiserver "
        "requests broken out by verb, group, version, resource, scope and component. Not all "
        "requests are tracked this way.\n"
        "# TYPE apiserver_longrunning_requests gauge\n"
        "# HELP apiserver_storage_objects [STABLE] Number of stored objects at the time of last "
        "check split by kind.\n"
        "# TYPE apiserver_storage_objects gauge\n"
        "# HELP training_operator_jobs_created_total Counts number of jobs created\n"
        "# TYPE training_operator_jobs_created_total counter\n"
        "# HELP training_operator_jobs_deleted_total Counts number of jobs deleted\n"
        "# TYPE training_operator_jobs_deleted_total counter\n"
        "# HELP training_operator_jobs_successful_total Counts number of jobs successful\n"
        "# TYPE training_operator_jobs_successful_total counter\n"
        "# HELP training_operator_jobs_failed_total Counts number of jobs failed\n"
        "# TYPE training_operator_jobs_failed_total counter\n"
        "# HELP training_operator_jobs_restarted_total Counts number of jobs restarted\n"
        "# TYPE training_operator_jobs_restarted_total counter\n"
        "# HELP torchjob_store_commits_total Store batches committed, one SQLite transaction "
        "each.\n"
        "# TYPE torchjob_store_commits_total counter\n"
        "torchjob_store_commits_total 0\n"
        "# HELP torchjob_store_fsyncs_total Store commits that ended in an fsync.\n"
        "# TYPE torchjob_store_fsyncs_total counter\n"
        "torchjob_store_fsyncs_total 0\n"
        "# HELP torchjob_store_commit_duration_seconds Time to commit one store batch, in "
        "seconds.\n"
        "# TYPE torchjob_store_commit_duration_seconds histogram\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"0.001\"} 0\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"0.002\"} 0\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"0.004\"} 0\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"0.008\"} 0\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"0.016\"} 0\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"0.032\"} 0\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"0.064\"} 0\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"0.128\"} 0\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"0.256\"} 0\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"0.512\"} 0\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"1.024\"} 0\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"2.048\"} 0\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"4.096\"} 0\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"8.192\"} 0\n"
        "torchjob_store_commit_duration_seconds_bucket{le=\"+Inf\"} 0\n"
        "torchjob_store_commit_duration_seconds_sum 0\n"
        "torchjob_store_commit_duration_seconds_count 0\n"
        "# HELP torchjob_store_commit_batch_size Records per committed store batch.\n"
        "# TYPE torchjob_store_commit_batch_size histogram\n"
        "torchjob_store_commit_batch_size_bucket{le=\"1\"} 0\n"
        "torchjob_store_commit_batch_size_bucket{le=\"2\"} 0\n"
        "torchjob_store_commit_batch_size_bucket{le=\"4\"} 0\n"
        "torchjob_store_commit_batch_size_bucket{le=\"8\"} 0\n"
        "torchjob_store_commit_batch_size_bucket{le=\"16\"} 0\n"
        "torchjob_store_commit_batch_size_bucket{le=\"32\"} 0\n"
        "torchjob_store_commit_batch_size_bucket{le=\"64\"} 0\n"
        "torchjob_store_commit_batch_size_bucket{le=\"128\"} 0\n"
        "torchjob_store_commit_batch_size_bucket{le=\"256\"} 0\n"
        "torchjob_store_commit_batch_size_bucket{le=\"512\"} 0\n"
        "torchjob_store_commit_batch_size_bucket{le=\"1024\"} 0\n"
        "torchjob_store_commit_batch_size_bucket{le=\"+Inf\"} 0\n"
        "torchjob_store_commit_batch_size_sum 0\n"
        "torchjob_store_commit_batch_size_count 0\n"
        "# HELP torchjob_processes_live Pod processes currently running.\n"
        "# TYPE torchjob_processes_live gauge\n";
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(got);
    tj_metrics_free(m);
    tj_metrics_free(NULL);
}

static void collect_objects(void *arg, metrics_sink *s)
{
    metrics_sink_add(s, (const char *[]){"pytorchjobs"}, 2);
    metrics_sink_add(s, (const char *[]){"pods"}, 5);
}

static void collect_longrunning(void *arg, metrics_sink *s)
{
    const char *v[] = {"WATCH", "kubeflow.org", "v1", "pytorchjobs", "", "namespace", "apiserver"};
    metrics_sink_add(s, v, 1);
    metrics_sink_add(s, v, 1);
}

static void collect_procs(void *arg, metrics_sink *s)
{
    metrics_sink_add(s, NULL, 4);
}

/* Lines of got that start with prefix, concatenated. */
static char *grep(const char *got, const char *prefix)
{
    size_t cap = strlen(got) + 1, n = 0, pl = strlen(prefix);
    char *out = calloc(1, cap);
    for (const char *p = got; *p;) {
        const char *nl = strchr(p, '\n');
        size_t ll = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (strncmp(p, prefix, pl) == 0) {
            memcpy(out + n, p, ll);
            n += ll;
        }
        p += ll;
    }
    return out;
}

static void expect_lines(const char *got, const char *prefix, const char *want)
{
    char *lines = grep(got, prefix);
    assert_string_equal(lines, want);
    free(lines);
}

static void test_tj_observations(void **state)
{
    tj_metrics *m = tj_metrics_new();
    assert_non_null(m);
    tj_metrics_set_collector(m, TJ_GAUGE_STORAGE_OBJECTS, collect_objects, NULL);
    tj_metrics_set_collector(m, TJ_GAUGE_LONGRUNNING, collect_longrunning, NULL);
    tj_metrics_set_collector(m, TJ_GAUGE_PROCESSES_LIVE, collect_procs, NULL);

    tj_metrics_request(m, "LIST", "kubeflow.org", "v1", "pytorchjobs", "", "namespace", 200, 0.004);
    tj_metrics_request(m, "LIST", "kubeflow.org", "v1", "pytorchjobs", "", "namespace", 200, 0.03);
    tj_metrics_request(m, "GET", "", "v1", "pods", "log", "resource", 404, 0.001);
    tj_metrics_request(m, "POST", "kubeflow.org", "v1", "pytorchjobs", NULL, "namespace", 201, 61);
    tj_metrics_job(m, TJ_JOB_CREATED, "default");
    tj_metrics_job(m, TJ_JOB_CREATED, "team-a");
    tj_metrics_job(m, TJ_JOB_CREATED, "default");
    tj_metrics_job(m, TJ_JOB_SUCCESSFUL, "default");
    tj_metrics_job(m, TJ_JOB_RESTARTED, "team-a");
    tj_metrics_job(m, TJ_JOB_FAILED, "team-a");
    tj_metrics_job(m, TJ_JOB_DELETED, "default");
    tj_metrics_store_commit(m, 0.003, 1, 1);
    tj_metrics_store_commit(m, 0.0005, 37, 0);
    tj_metrics_store_commit(m, 20, 4096, 1);

    char *got = tj_metrics_render(m, NULL);
    assert_non_null(got);
    expect_lines(got, "apiserver_request_total",
                 "apiserver_request_total{verb=\"GET\",group=\"\",version=\"v1\",resource=\"pods\","
                 "subresource=\"log\",scope=\"resource\",component=\"apiserver\",code=\"404\"} 1\n"
                 "apiserver_request_total{verb=\"LIST\",group=\"kubeflow.org\",version=\"v1\","
                 "resource=\"pytorchjobs\",subresource=\"\",scope=\"namespace\","
                 "component=\"apiserver\",code=\"200\"} 2\n"
                 "apiserver_request_total{verb=\"POST\",group=\"kubeflow.org\",version=\"v1\","
                 "resource=\"pytorchjobs\",subresource=\"\",scope=\"namespace\","
                 "component=\"apiserver\",code=\"201\"} 1\n");
#define LIST_LABELS                                                                             \
    "{verb=\"LIST\",group=\"kubeflow.org\",version=\"v1\",resource=\"pytorchjobs\","          \
    "subresource=\"\",scope=\"namespace\",component=\"apiserver\""
    expect_lines(got, "apiserver_request_duration_seconds_bucket" LIST_LABELS,
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"0.005\"} 1\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"0.025\"} 1\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"0.05\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"0.1\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"0.2\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"0.4\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"0.6\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"0.8\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"1\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"1.25\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"1.5\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"2\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"3\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"4\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"5\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"6\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"8\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"10\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"15\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"20\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"30\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"45\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"60\"} 2\n"
                 "apiserver_request_duration_seconds_bucket" LIST_LABELS ",le=\"+Inf\"} 2\n");
    expect_lines(got, "apiserver_request_duration_seconds_sum" LIST_LABELS,
                 "apiserver_request_duration_seconds_sum" LIST_LABELS "} 0.034\n");
    expect_lines(got, "apiserver_request_duration_seconds_count",
                 "apiserver_request_duration_seconds_count{verb=\"GET\",group=\"\",version=\"v1\","
                 "resource=\"pods\",subresource=\"log\",scope=\"resource\",component=\"apiserver\"} 1\n"
                 "apiserver_request_duration_seconds_count" LIST_LABELS "} 2\n"
                 "apiserver_request_duration_seconds_count{verb=\"POST\",group=\"kubeflow.org\","
                 "version=\"v1\",resource=\"pytorchjobs\",subresource=\"\",scope=\"namespace\","
                 "component=\"apiserver\"} 1\n");
#undef LIST_LABELS
    assert_non_null(strstr(got, "apiserver_request_duration_seconds_bucket{verb=\"POST\","
                                "group=\"kubeflow.org\",version=\"v1\",resource=\"pytorchjobs\","
                                "subresource=\"\",scope=\"namespace\",component=\"apiserver\","
                                "le=\"60\"} 0\n"));
    expect_lines(got, "apiserver_longrunning_requests",
                 "apiserver_longrunning_requests{verb=\"WATCH\",group=\"kubeflow.org\","
                 "version=\"v1\",resource=\"pytorchjobs\",subresource=\"\",scope=\"namespace\","
                 "component=\"apiserver\"} 2\n");
    expect_lines(got, "apiserver_storage_objects",
                 "apiserver_storage_objects{resource=\"pods\"} 5\n"
                 "apiserver_storage_objects{resource=\"pytorchjobs\"} 2\n");
    expect_lines(got, "training_operator_jobs_",
                 "training_operator_jobs_created_total{job_namespace=\"default\","
                 "framework=\"pytorch\"} 2\n"
                 "training_operator_jobs_created_total{job_namespace=\"team-a\","
                 "framework=\"pytorch\"} 1\n"
                 "training_operator_jobs_deleted_total{job_namespace=\"default\","
                 "framework=\"pytorch\"} 1\n"
                 "training_operator_jobs_successful_total{job_namespace=\"default\","
                 "framework=\"pytorch\"} 1\n"
                 "training_operator_jobs_failed_total{job_namespace=\"team-a\","
                 "framework=\"pytorch\"} 1\n"
                 "training_operator_jobs_restarted_total{job_namespace=\"team-a\","
                 "framework=\"pytorch\"} 1\n");
    expect_lines(got, "torchjob_store_commits_total", "torchjob_store_commits_total 3\n");
    expect_lines(got, "torchjob_store_fsyncs_total", "torchjob_store_fsyncs_total 2\n");
    expect_lines(got, "torchjob_store_commit_duration_seconds_",
                 "torchjob_store_commit_duration_seconds_bucket{le=\"0.001\"} 1\n"
                 "torchjob_store_commit_duration_seconds_bucket{le=\"0.002\"} 1\n"
                 "torchjob_store_commit_duration_seconds_bucket{le=\"0.004\"} 2\n"
                 "torchjob_store_commit_duration_seconds_bucket{le=\"0.008\"} 2\n"
                 "torchjob_store_commit_duration_seconds_bucket{le=\"0.016\"} 2\n"
                 "torchjob_store_commit_duration_seconds_bucket{le=\"0.032\"} 2\n"
                 "torchjob_store_commit_duration_seconds_bucket{le=\"0.064\"} 2\n"
                 "torchjob_store_commit_duration_seconds_bucket{le=\"0.128\"} 2\n"
                 "torchjob_store_commit_duration_seconds_bucket{le=\"0.256\"} 2\n"
                 "torchjob_store_commit_duration_seconds_bucket{le=\"0.512\"} 2\n"
                 "torchjob_store_commit_duration_seconds_bucket{le=\"1.024\"} 2\n"
                 "torchjob_store_commit_duration_seconds_bucket{le=\"2.048\"} 2\n"
                 "torchjob_store_commit_duration_seconds_bucket{le=\"4.096\"} 2\n"
                 "torchjob_store_commit_duration_seconds_bucket{le=\"8.192\"} 2\n"
                 "torchjob_store_commit_duration_seconds_bucket{le=\"+Inf\"} 3\n"
                 "torchjob_store_commit_duration_seconds_sum 20.0035\n"
                 "torchjob_store_commit_duration_seconds_count 3\n");
    expect_lines(got, "torchjob_store_commit_batch_size_",
                 "torchjob_store_commit_batch_size_bucket{le=\"1\"} 1\n"
                 "torchjob_store_commit_batch_size_bucket{le=\"2\"} 1\n"
                 "torchjob_store_commit_batch_size_bucket{le=\"4\"} 1\n"
                 "torchjob_store_commit_batch_size_bucket{le=\"8\"} 1\n"
                 "torchjob_store_commit_batch_size_bucket{le=\"16\"} 1\n"
                 "torchjob_store_commit_batch_size_bucket{le=\"32\"} 1\n"
                 "torchjob_store_commit_batch_size_bucket{le=\"64\"} 2\n"
                 "torchjob_store_commit_batch_size_bucket{le=\"128\"} 2\n"
                 "torchjob_store_commit_batch_size_bucket{le=\"256\"} 2\n"
                 "torchjob_store_commit_batch_size_bucket{le=\"512\"} 2\n"
                 "torchjob_store_commit_batch_size_bucket{le=\"1024\"} 2\n"
                 "torchjob_store_commit_batch_size_bucket{le=\"+Inf\"} 3\n"
                 "torchjob_store_commit_batch_size_sum 4134\n"
                 "torchjob_store_commit_batch_size_count 3\n");
    expect_lines(got, "torchjob_processes_live", "torchjob_processes_live 4\n");
    assert_null(strstr(got, "metrics_series_dropped_total"));
    free(got);

    /* Families can be added to the set's registry; they render after it. */
    metrics_family *extra = metrics_gauge(tj_metrics_registry(m), "torchjob_extra", "X.", NULL);
    assert_non_null(extra);
    got = tj_metrics_render(m, NULL);
    size_t n = strlen(got);
    const char *tail = "# HELP torchjob_extra X.\n# TYPE torchjob_extra gauge\ntorchjob_extra 0\n";
    assert_true(n > strlen(tail));
    assert_string_equal(got + n - strlen(tail), tail);
    free(got);
    tj_metrics_free(m);
}

/* The request families are capped at TJ_METRICS_REQUEST_SERIES distinct label sets. */
static void test_tj_request_cap(void **state)
{
    tj_metrics *m = tj_metrics_new();
    char res[32];
    for (int i = 0; i < TJ_METRICS_REQUEST_SERIES + 10; i++) {
        snprintf(res, sizeof res, "r%d", i);
        tj_metrics_request(m, "GET", "", "v1", res, "", "cluster", 404, 0.001);
    }
    char *got = tj_metrics_render(m, NULL);
    assert_non_null(strstr(got, "metrics_series_dropped_total{metric=\"apiserver_request_duration_"
                                "seconds\"} 10\n"
                                "metrics_series_dropped_total{metric=\"apiserver_request_total\"} "
                                "10\n"));
    free(got);
    tj_metrics_free(m);
}

/* `promtool check metrics` parses and lints the whole exposition, when it is installed. */
static void test_promtool(void **state)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        skip();
    }
    tj_metrics *m = tj_metrics_new();
    tj_metrics_set_collector(m, TJ_GAUGE_STORAGE_OBJECTS, collect_objects, NULL);
    tj_metrics_set_collector(m, TJ_GAUGE_LONGRUNNING, collect_longrunning, NULL);
    tj_metrics_set_collector(m, TJ_GAUGE_PROCESSES_LIVE, collect_procs, NULL);
    tj_metrics_request(m, "LIST", "kubeflow.org", "v1", "pytorchjobs", "", "namespace", 200, 0.01);
    tj_metrics_request(m, "GET", "", "v1", "pods", "log", "resource", 200, 2.5);
    tj_metrics_job(m, TJ_JOB_CREATED, "default");
    tj_metrics_store_commit(m, 0.002, 3, 1);
    metrics *r = tj_metrics_registry(m);
    metrics_family *g = metrics_gauge(r, "torchjob_test_escapes", "Odd \\ help\nline.",
                                      (const char *[]){"v", NULL});
    metrics_set(g, (const char *[]){"q\"b\\n\nx"}, 1.5);
    metrics_set(g, (const char *[]){"inf"}, INFINITY);
    metrics_set(g, (const char *[]){"nan"}, NAN);
    metrics_family *capped = metrics_counter(r, "torchjob_test_capped_total", "Capped.",
                                             (const char *[]){"v", NULL});
    metrics_family_set_max_series(capped, 1);
    metrics_inc(capped, (const char *[]){"a"});
    metrics_inc(capped, (const char *[]){"b"});

    size_t len;
    char *text = tj_metrics_render(m, &len);
    char path[] = "/tmp/test_metrics_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[4096] = "";
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    unlink(path);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fail_msg("promtool check metrics failed (%d):\n%s\n--- input:\n%s", st, out, text);
    }
    free(text);
    tj_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_counter),
        cmocka_unit_test(test_gauge_and_numbers),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_histogram_unlabelled),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_sort_order),
        cmocka_unit_test(test_many_series),
        cmocka_unit_test(test_series_cap),
        cmocka_unit_test(test_callbacks),
        cmocka_unit_test(test_invalid_registration),
        cmocka_unit_test(test_tj_fresh),
        cmocka_unit_test(test_tj_observations),
        cmocka_unit_test(test_tj_request_cap),
        cmocka_unit_test(test_promtool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
