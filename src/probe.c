/* probe — see probe.h. kubelet 1.32's pkg/kubelet/prober, per probe (worker.go):
 *
 *   start ──initialDelaySeconds──► PROBING ──every periodSeconds──► attempt (exec, HTTP, TCP)
 *     result: failure → "Unhealthy" event; the same result resultRun times in a row
 *     (failureThreshold for a failure, successThreshold for a success) makes it the probe's
 *     result; liveness or startup failing so → unhealthy (the kubelet kills the container) and
 *     the probe holds; startup succeeding → it stops, and liveness and readiness begin.
 *
 * Invariants:
 *  1. Liveness and readiness do not probe before the startup probe succeeded (if there is one).
 *  2. At most one attempt per probe is in flight; a tick that finds one skips.
 *  3. Initial results as kubelet's: liveness success, readiness failure (not ready), startup
 *     not started.
 *  4. After probes_stop no callback is made; memory goes with the last handle's close.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"
#include "runtime.h"
#include "sbuf.h"

enum { PK_STARTUP, PK_LIVENESS, PK_READINESS, PK_N };
static const char *const kind_key[PK_N] = {"startupProbe", "livenessProbe", "readinessProbe"};
static const char *const kind_name[PK_N] = {"Startup", "Liveness", "Readiness"};
enum { H_EXEC, H_HTTP, H_TCP, H_UNSUPPORTED };

#define MAX_OUTPUT (10u << 10) /* kubelet's maxReadLength for an exec probe's output */

typedef struct attempt attempt;

typedef struct probe {
    probeset *ps;
    int kind, handler;
    int present;
    unsigned delay_ms, period_ms, timeout_ms, success_th, failure_th;
    char **argv;          /* exec */
    int port;             /* http, tcp; -1: a named port that the container does not have */
    char port_name[64];
    char *path;           /* http */
    char *headers;        /* http: "Name: value\r\n"... */
    int https;
    uv_timer_t timer;
    int result;           /* the probe's result (invariant 3) */
    int last_raw, run;
    int hold;
    attempt *cur;
} probe;

struct probeset {
    uv_loop_t *loop;
    probe_cb cb;
    char **env;
    char *workdir;
    probe p[PK_N];
    int started;
    int stopped;
    int handles;
};

static void maybe_free(probeset *ps)
{
    if (!ps->stopped || ps->handles > 0)
        return;
    for (int k = 0; k < PK_N; k++) {
        probe *p = &ps->p[k];
        for (size_t i = 0; p->argv && p->argv[i]; i++)
            free(p->argv[i]);
        free(p->argv);
        free(p->path);
        free(p->headers);
    }
    for (size_t i = 0; ps->env && ps->env[i]; i++)
        free(ps->env[i]);
    free(ps->env);
    free(ps->workdir);
    free(ps);
}

static void on_handle_closed(uv_handle_t *h)
{
    probeset *ps = h->data;
    ps->handles--;
    maybe_free(ps);
}

/* ---- results (worker.doProbe) ----------------------------------------------------------------- */

static void arm(probe *p, uint64_t first_ms);

static void result(probe *p, int ok, const char *msg)
{
    probeset *ps = p->ps;
    if (ps->stopped || p->hold)
        return;
    if (!ok)
        ps->cb.failed(ps->cb.arg, kind_name[p->kind], msg);
    if (ok == p->last_raw) {
        p->run++;
    } else {
        p->last_raw = ok;
        p->run = 1;
    }
    if ((!ok && (unsigned)p->run < p->failure_th) || (ok && (unsigned)p->run < p->success_th))
        return;
    int changed = p->result != ok;
    p->result = ok;
    if (!ok && (p->kind == PK_LIVENESS || p->kind == PK_STARTUP)) {
        p->hold = 1; /* until the container restarts (a new probe set) */
        uv_timer_stop(&p->timer);
        ps->cb.unhealthy(ps->cb.arg, kind_name[p->kind]);
        return;
    }
    if (ok && p->kind == PK_STARTUP && !ps->started) {
        ps->started = 1;
        uv_timer_stop(&p->timer);
        arm(&ps->p[PK_LIVENESS], 0);
        arm(&ps->p[PK_READINESS], 0);
        changed = 1;
    }
    if (changed && (p->kind == PK_READINESS || p->kind == PK_STARTUP))
        ps->cb.changed(ps->cb.arg);
}

/* ---- attempts ------------------------------------------------------------------------------------ */

struct attempt {
    probe *p;
    int done;
    int handles;
    uv_timer_t timeout;
    /* exec */
    pid_t pid;
    int reaped, wstatus, out_eof;
    uv_pipe_t out;
    uv_signal_t sigchld;
    sbuf output;
    /* http, tcp */
    uv_tcp_t tcp;
    uv_connect_t conn;
    uv_write_t wr;
    char *req;
    char status[64];
    size_t status_len;
};

static void attempt_closed(uv_handle_t *h)
{
    attempt *a = h->data;
    probeset *ps = a->p->ps;
    if (--a->handles > 0)
        return;
    sbuf_free(&a->output);
    free(a->req);
    free(a);
    ps->handles--;
    maybe_free(ps);
}

static void close_h(attempt *a, uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, attempt_closed);
}

/* The attempt is over: its result goes to the probe, its handles close. */
static void finish(attempt *a, int ok, const char *msg)
{
    if (a->done)
        return;
    a->done = 1;
    probe *p = a->p;
    if (p->cur == a)
        p->cur = NULL;
    if (a->pid > 0 && !a->reaped)
        kill(-a->pid, SIGKILL); /* a timed out command, or a stopped probe set */
    result(p, ok, msg);
    uv_close((uv_handle_t *)&a->timeout, attempt_closed);
    if (p->handler == H_EXEC) {
        close_h(a, (uv_handle_t *)&a->out);
        if (a->pid <= 0 || a->reaped) /* else it stays to reap the killed command */
            close_h(a, (uv_handle_t *)&a->sigchld);
    } else {
        close_h(a, (uv_handle_t *)&a->tcp);
    }
}

static attempt *attempt_new(probe *p)
{
    attempt *a = calloc(1, sizeof *a);
    if (!a)
        abort();
    a->p = p;
    sbuf_init(&a->output, MAX_OUTPUT);
    uv_timer_init(p->ps->loop, &a->timeout);
    a->timeout.data = a;
    a->handles = 1;
    p->ps->handles++;
    p->cur = a;
    return a;
}

/* exec: the command's exit code, with its output as the message; a timeout kills it. */
static void exec_maybe_done(attempt *a)
{
    if (!a->reaped || !a->out_eof || a->done)
        return;
    int ok = WIFEXITED(a->wstatus) && WEXITSTATUS(a->wstatus) == 0;
    finish(a, ok, sbuf_str(&a->output));
}

static void exec_alloc(uv_handle_t *h, size_t sug, uv_buf_t *b)
{
    static char slab[16384];
    (void)h;
    (void)sug;
    *b = uv_buf_init(slab, sizeof slab);
}

static void exec_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    attempt *a = s->data;
    if (n < 0) {
        a->out_eof = 1;
        uv_read_stop(s);
        exec_maybe_done(a);
        return;
    }
    size_t room = MAX_OUTPUT - sbuf_len(&a->output);
    if (n > 0 && room > 0)
        sbuf_add(&a->output, b->base, (size_t)n < room ? (size_t)n : room);
}

static void exec_sigchld(uv_signal_t *h, int sig)
{
    (void)sig;
    attempt *a = h->data;
    int st;
    pid_t r;
    if (a->reaped || a->pid <= 0)
        return;
    while ((r = waitpid(a->pid, &st, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r != a->pid)
        return;
    a->reaped = 1;
    a->wstatus = st;
    kill(-a->pid, SIGKILL); /* what it left behind holds the pipe open */
    if (a->done) { /* timed out or stopped before: only the reaping was left */
        close_h(a, (uv_handle_t *)&a->sigchld);
        return;
    }
    exec_maybe_done(a);
}

static void on_timeout(uv_timer_t *t)
{
    attempt *a = t->data;
    probe *p = a->p;
    char msg[600];
    if (p->handler == H_EXEC) {
        sbuf cmd = SBUF_INIT(400);
        for (size_t i = 0; p->argv[i]; i++)
            sbuf_printf(&cmd, "%s%s", i ? " " : "", p->argv[i]);
        snprintf(msg, sizeof msg, "command \"%s\" timed out", sbuf_str(&cmd));
        sbuf_free(&cmd);
    } else if (p->handler == H_HTTP) {
        snprintf(msg, sizeof msg, "Get \"http://127.0.0.1:%d%s\": context deadline exceeded (Client.Timeout "
                 "exceeded while awaiting headers)", p->port, p->path);
    } else {
        snprintf(msg, sizeof msg, "dial tcp 127.0.0.1:%d: i/o timeout", p->port);
    }
    finish(a, 0, msg);
}

static void run_exec(attempt *a)
{
    probe *p = a->p;
    probeset *ps = p->ps;
    uv_pipe_init(ps->loop, &a->out, 0);
    a->out.data = a;
    uv_signal_init(ps->loop, &a->sigchld);
    a->sigchld.data = a;
    a->handles += 2;
    char *file = NULL, msg[600];
    int rc = runtime_resolve_cmd(p->argv[0], ps->env, ps->workdir, &file);
    int fds[2] = {-1, -1};
    if (rc < 0 || pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(msg, sizeof msg, "exec: \"%s\": executable file not found in $PATH", p->argv[0]);
        free(file);
        finish(a, 0, msg);
        return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    runtime_spawn_setup(&fa, &at, ps->workdir);
    /* the handler first: a fast command's SIGCHLD must not come before it */
    uv_signal_start(&a->sigchld, exec_sigchld, SIGCHLD);
    char *argv0 = p->argv[0];
    p->argv[0] = file;
    rc = posix_spawn(&a->pid, file, &fa, &at, p->argv, ps->env);
    p->argv[0] = argv0;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    free(file);
    close(fds[1]);
    if (rc) {
        close(fds[0]);
        a->pid = 0;
        snprintf(msg, sizeof msg, "exec: \"%s\": %s", p->argv[0], strerror(rc));
        finish(a, 0, msg);
        return;
    }
    uv_pipe_open(&a->out, fds[0]);
    uv_read_start((uv_stream_t *)&a->out, exec_alloc, exec_read);
    exec_sigchld(&a->sigchld, SIGCHLD); /* it may have exited already */
}

/* http and tcp */
static void net_alloc(uv_handle_t *h, size_t sug, uv_buf_t *b)
{
    static char slab[4096];
    (void)h;
    (void)sug;
    *b = uv_buf_init(slab, sizeof slab);
}

/* The status line is in: 200 ≤ code < 400 succeeds (kubelet's HTTP prober; redirects not followed). */
static void http_status(attempt *a)
{
    int code = 0;
    if (sscanf(a->status, "HTTP/%*d.%*d %d", &code) != 1) {
        finish(a, 0, "malformed HTTP response");
        return;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "HTTP probe failed with statuscode: %d", code);
    finish(a, code >= 200 && code < 400, code >= 200 && code < 400 ? "" : msg);
}

static void http_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    attempt *a = s->data;
    if (a->done)
        return;
    for (ssize_t i = 0; i < n && a->status_len + 1 < sizeof a->status; i++) {
        if (b->base[i] == '\n') {
            http_status(a);
            return;
        }
        a->status[a->status_len++] = b->base[i];
    }
    if (n < 0 || a->status_len + 1 >= sizeof a->status) {
        if (a->status_len)
            http_status(a);
        else
            finish(a, 0, "EOF");
    }
}

static void http_written(uv_write_t *w, int status)
{
    attempt *a = w->data;
    if (status < 0 && !a->done)
        finish(a, 0, uv_strerror(status));
}

static void on_connect(uv_connect_t *c, int status)
{
    attempt *a = c->data;
    probe *p = a->p;
    if (a->done)
        return;
    char msg[600];
    if (status < 0) {
        /* Go's net error text */
        const char *why = status == UV_ECONNREFUSED ? "connection refused" : uv_strerror(status);
        if (p->handler == H_HTTP)
            snprintf(msg, sizeof msg, "Get \"http://127.0.0.1:%d%s\": dial tcp 127.0.0.1:%d: connect: %s", p->port,
                     p->path, p->port, why);
        else
            snprintf(msg, sizeof msg, "dial tcp 127.0.0.1:%d: connect: %s", p->port, why);
        finish(a, 0, msg);
        return;
    }
    if (p->handler == H_TCP) {
        finish(a, 1, "");
        return;
    }
    if (asprintf(&a->req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\n"
                          "%sConnection: close\r\n\r\n", p->path, p->port, p->headers ? p->headers : "") < 0)
        abort();
    uv_buf_t b = uv_buf_init(a->req, (unsigned)strlen(a->req));
    a->wr.data = a;
    uv_write(&a->wr, (uv_stream_t *)&a->tcp, &b, 1, http_written);
    uv_read_start((uv_stream_t *)&a->tcp, net_alloc, http_read);
}

static void run_net(attempt *a)
{
    probe *p = a->p;
    uv_tcp_init(p->ps->loop, &a->tcp);
    a->tcp.data = a;
    a->handles++;
    char msg[200];
    if (p->port <= 0) {
        snprintf(msg, sizeof msg, "couldn't find port: %s", p->port_name);
        finish(a, 0, msg);
        return;
    }
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", p->port, &sa);
    a->conn.data = a;
    int rc = uv_tcp_connect(&a->conn, &a->tcp, (const struct sockaddr *)&sa, on_connect);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "dial tcp 127.0.0.1:%d: %s", p->port, uv_strerror(rc));
        finish(a, 0, msg);
    }
}

static void on_tick(uv_timer_t *t)
{
    probe *p = t->data;
    probeset *ps = p->ps;
    if (ps->stopped || p->hold || p->cur)
        return; /* invariant 2 */
    if (p->kind != PK_STARTUP && ps->p[PK_STARTUP].present && !ps->started)
        return; /* invariant 1 */
    if (p->handler == H_UNSUPPORTED) {
        result(p, 0, p->https ? "HTTPS probes are not supported here" : "grpc probes are not supported here");
        return;
    }
    attempt *a = attempt_new(p);
    uv_timer_start(&a->timeout, on_timeout, p->timeout_ms, 0);
    if (p->handler == H_EXEC)
        run_exec(a);
    else
        run_net(a);
}

static void arm(probe *p, uint64_t first_ms)
{
    if (!p->present || p->ps->stopped)
        return;
    uv_timer_start(&p->timer, on_tick, first_ms, p->period_ms);
}

/* ---- the set ------------------------------------------------------------------------------------- */

static unsigned field(const json_t *o, const char *k, unsigned dflt, unsigned min)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        return dflt;
    json_int_t x = json_integer_value(v);
    return x < (json_int_t)min ? min : x > 86400 ? 86400 : (unsigned)x;
}

/* A named or numbered port of c. */
static int port_of(const json_t *c, const json_t *port, char *name, size_t cap)
{
    if (json_is_integer(port))
        return (int)json_integer_value(port);
    const char *n = json_string_value(port);
    snprintf(name, cap, "%s", n ? n : "");
    size_t i;
    const json_t *cp;
    json_array_foreach(json_object_get(c, "ports"), i, cp)
        if (n && json_is_string(json_object_get(cp, "name")) && !strcmp(json_string_value(json_object_get(cp, "name")), n))
            return (int)json_integer_value(json_object_get(cp, "containerPort"));
    if (n && *n >= '0' && *n <= '9')
        return atoi(n);
    return -1;
}

static void decode(probe *p, const json_t *c, const json_t *spec)
{
    p->present = 1;
    p->delay_ms = field(spec, "initialDelaySeconds", 0, 0) * 1000;
    p->period_ms = field(spec, "periodSeconds", 10, 1) * 1000;
    p->timeout_ms = field(spec, "timeoutSeconds", 1, 1) * 1000;
    p->success_th = field(spec, "successThreshold", 1, 1);
    p->failure_th = field(spec, "failureThreshold", 3, 1);
    const json_t *ex = json_object_get(spec, "exec"), *hg = json_object_get(spec, "httpGet"),
                 *ts = json_object_get(spec, "tcpSocket");
    if (json_is_object(ex) && json_array_size(json_object_get(ex, "command")) > 0) {
        p->handler = H_EXEC;
        const json_t *cmd = json_object_get(ex, "command");
        p->argv = calloc(json_array_size(cmd) + 1, sizeof *p->argv);
        for (size_t i = 0; i < json_array_size(cmd); i++)
            p->argv[i] = strdup(json_string_value(json_array_get(cmd, i)) ? json_string_value(json_array_get(cmd, i)) : "");
    } else if (json_is_object(hg)) {
        p->handler = H_HTTP;
        p->port = port_of(c, json_object_get(hg, "port"), p->port_name, sizeof p->port_name);
        const char *path = json_string_value(json_object_get(hg, "path"));
        p->path = strdup(path && *path ? path : "/");
        const char *scheme = json_string_value(json_object_get(hg, "scheme"));
        p->https = scheme && !strcmp(scheme, "HTTPS");
        if (p->https)
            p->handler = H_UNSUPPORTED;
        sbuf h = SBUF_INIT(4096);
        size_t i;
        const json_t *hh;
        json_array_foreach(json_object_get(hg, "httpHeaders"), i, hh)
            sbuf_printf(&h, "%s: %s\r\n", json_string_value(json_object_get(hh, "name")) ?: "",
                        json_string_value(json_object_get(hh, "value")) ?: "");
        p->headers = strdup(sbuf_str(&h));
        sbuf_free(&h);
    } else if (json_is_object(ts)) {
        p->handler = H_TCP;
        p->port = port_of(c, json_object_get(ts, "port"), p->port_name, sizeof p->port_name);
    } else {
        p->handler = H_UNSUPPORTED; /* grpc */
    }
    p->result = p->kind == PK_LIVENESS; /* invariant 3 */
    p->last_raw = -1;
}

probeset *probes_start(uv_loop_t *loop, const json_t *c, char *const *env, const char *workdir,
                       const probe_cb *cb)
{
    int any = 0;
    for (int k = 0; k < PK_N; k++)
        any |= json_is_object(json_object_get(c, kind_key[k]));
    if (!any)
        return NULL;
    probeset *ps = calloc(1, sizeof *ps);
    if (!ps)
        abort();
    ps->loop = loop;
    ps->cb = *cb;
    size_t ne = 0;
    while (env && env[ne])
        ne++;
    ps->env = calloc(ne + 1, sizeof *ps->env);
    for (size_t i = 0; i < ne; i++)
        ps->env[i] = strdup(env[i]);
    ps->workdir = workdir ? strdup(workdir) : NULL;
    for (int k = 0; k < PK_N; k++) {
        probe *p = &ps->p[k];
        p->ps = ps;
        p->kind = k;
        uv_timer_init(loop, &p->timer);
        p->timer.data = p;
        ps->handles++;
        const json_t *spec = json_object_get(c, kind_key[k]);
        if (json_is_object(spec))
            decode(p, c, spec);
    }
    ps->started = !ps->p[PK_STARTUP].present;
    for (int k = 0; k < PK_N; k++)
        arm(&ps->p[k], ps->p[k].delay_ms);
    return ps;
}

void probes_stop(probeset *ps)
{
    if (!ps || ps->stopped)
        return;
    ps->stopped = 1;
    for (int k = 0; k < PK_N; k++) {
        probe *p = &ps->p[k];
        if (p->cur)
            finish(p->cur, 0, ""); /* stopped: result() ignores it */
        uv_close((uv_handle_t *)&p->timer, on_handle_closed);
        p->timer.data = ps;
    }
}

int probes_ready(const probeset *ps)
{
    if (!ps || !ps->p[PK_READINESS].present)
        return 1;
    return ps->started && ps->p[PK_READINESS].result == 1;
}

int probes_started(const probeset *ps)
{
    return !ps || ps->started;
}
