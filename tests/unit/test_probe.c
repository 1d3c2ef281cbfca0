/* probe: results and thresholds of exec and tcpSocket probes, the initial states, startup gating,
 * and a stop with a command in flight (uv_loop_close must succeed: every handle closed, the
 * command reaped). Each test runs its own loop until a condition or a deadline. */
#include "unit.h"
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include "probe.h"

typedef struct got {
    int changed, unhealthy, failed;
    char last_kind[32], last_msg[256], unhealthy_kind[32];
} got;

static void on_changed(void *arg) { ((got *)arg)->changed++; }
static void on_failed(void *arg, const char *kind, const char *msg)
{
    got *g = arg;
    g->failed++;
    snprintf(g->last_kind, sizeof g->last_kind, "%s", kind);
    snprintf(g->last_msg, sizeof g->last_msg, "%s", msg);
}
static void on_unhealthy(void *arg, const char *kind)
{
    got *g = arg;
    g->unhealthy++;
    snprintf(g->unhealthy_kind, sizeof g->unhealthy_kind, "%s", kind);
}

static char *env[] = {"PATH=/usr/bin:/bin", NULL};

static probeset *start(uv_loop_t *loop, const char *container_json, got *g)
{
    json_t *c = json_loads(container_json, 0, NULL);
    assert_non_null(c);
    probe_cb cb = {on_changed, on_failed, on_unhealthy, g};
    probeset *ps = probes_start(loop, c, env, NULL, &cb);
    json_decref(c);
    return ps;
}

/* Run the loop until *flag is set or ms pass. */
static void run_until(uv_loop_t *loop, const int *flag, unsigned ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000;
    while (!*flag && uv_hrtime() < end)
        uv_run(loop, UV_RUN_ONCE);
}

static void finish(uv_loop_t *loop, probeset *ps)
{
    probes_stop(ps);
    uint64_t end = uv_hrtime() + 5000000000ull;
    while (uv_loop_alive(loop) && uv_hrtime() < end)
        uv_run(loop, UV_RUN_ONCE);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void test_none(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    got g = {0};
    assert_null(start(&loop, "{\"name\":\"main\"}", &g));
    assert_int_equal(probes_ready(NULL), 1);
    assert_int_equal(probes_started(NULL), 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_readiness_exec(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    got g = {0};
    probeset *ps = start(&loop, "{\"readinessProbe\":{\"exec\":{\"command\":[\"true\"]}}}", &g);
    assert_non_null(ps);
    assert_int_equal(probes_ready(ps), 0); /* not ready until the first success */
    assert_int_equal(probes_started(ps), 1);
    run_until(&loop, &g.changed, 3000);
    assert_int_equal(g.changed, 1);
    assert_int_equal(probes_ready(ps), 1);
    assert_int_equal(g.failed, 0);
    finish(&loop, ps);
}

static void test_liveness_threshold(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    got g = {0};
    /* the first failure is an event only; the second (1 s later) reaches the threshold */
    probeset *ps = start(&loop, "{\"livenessProbe\":{\"exec\":{\"command\":[\"sh\",\"-c\",\"echo sick; exit 1\"]},"
                                "\"periodSeconds\":1,\"failureThreshold\":2}}", &g);
    assert_int_equal(probes_ready(ps), 1);
    run_until(&loop, &g.failed, 3000);
    assert_int_equal(g.unhealthy, 0);
    assert_string_equal(g.last_kind, "Liveness");
    assert_string_equal(g.last_msg, "sick\n");
    run_until(&loop, &g.unhealthy, 3000);
    assert_int_equal(g.unhealthy, 1);
    assert_int_equal(g.failed, 2);
    assert_string_equal(g.unhealthy_kind, "Liveness");
    finish(&loop, ps);
}

static void test_tcp_refused(void **state)
{
    (void)state;
    /* a port nobody listens on: bind one, read its number, close it */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    getsockname(s, (struct sockaddr *)&sa, &sl);
    int port = ntohs(sa.sin_port);
    close(s);
    char json[256], want[128];
    snprintf(json, sizeof json, "{\"readinessProbe\":{\"tcpSocket\":{\"port\":%d}}}", port);
    snprintf(want, sizeof want, "dial tcp 127.0.0.1:%d: connect: connection refused", port);
    uv_loop_t loop;
    uv_loop_init(&loop);
    got g = {0};
    probeset *ps = start(&loop, json, &g);
    run_until(&loop, &g.failed, 3000);
    assert_string_equal(g.last_kind, "Readiness");
    assert_string_equal(g.last_msg, want);
    assert_int_equal(probes_ready(ps), 0);
    finish(&loop, ps);
}

static void test_startup_gates(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    got g = {0};
    /* startup fails (threshold 5): liveness, which would fail at once, must not run */
    probeset *ps = start(&loop, "{\"startupProbe\":{\"exec\":{\"command\":[\"false\"]},\"failureThreshold\":5},"
                                "\"livenessProbe\":{\"exec\":{\"command\":[\"false\"]},\"failureThreshold\":1}}", &g);
    assert_int_equal(probes_started(ps), 0);
    run_until(&loop, &g.failed, 3000);
    assert_string_equal(g.last_kind, "Startup");
    int never = 0;
    run_until(&loop, &never, 300);
    assert_int_equal(g.unhealthy, 0);
    assert_int_equal(g.failed, 1);
    finish(&loop, ps);
}

static void test_stop_in_flight(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    got g = {0};
    probeset *ps = start(&loop, "{\"readinessProbe\":{\"exec\":{\"command\":[\"sleep\",\"30\"]},"
                                "\"timeoutSeconds\":30}}", &g);
    int never = 0;
    run_until(&loop, &never, 200); /* the command is running */
    finish(&loop, ps);             /* killed and reaped: the loop closes */
    assert_int_equal(g.failed, 0);
    assert_int_equal(g.changed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_readiness_exec),
        cmocka_unit_test(test_liveness_threshold),
        cmocka_unit_test(test_tcp_refused),
        cmocka_unit_test(test_startup_gates),
        cmocka_unit_test(test_stop_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
