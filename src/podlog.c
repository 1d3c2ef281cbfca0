/* podlog — GET …/pods/{pod}/log and GET …/pytorchjobs/{job}/log?pod=… (logs that outlive
 * the pod), read from the CRI-format files the log shim writes (see kubelet.c, shim/logshim.c).
 *
 *   open file ──tailLines/sinceSeconds: find the start──► SENDING ──EOF──┬─ follow & running ─► TAILING
 *                                                            ▲            │                       │ 100 ms
 *                                   client queue drained ───┘            └─ otherwise ─► END ◄────┘ stopped & EOF
 *
 * Invariants:
 *  1. The daemon holds at most one read buffer (64 KiB) per stream; a client that does not
 *     read stalls its own stream only (queue cap), never the loop.
 *  2. A record is a line "<RFC3339Nano> <stdout|stderr> <F|P> <text>"; P records join the next
 *     one. Lines that are not CRI records (no shim) are passed through as they are.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "kubelet.h"
#include "podlog.h"

#define CHUNK 65536
#define QUEUE_CAP (4u << 20)

typedef struct logstream {
    api_t *api;
    http_req *http;
    char path[1200];
    char ns[256], pod[256];
    int fd;
    off_t off;
    int follow, timestamps;
    time_t since;              /* records before this are skipped (0 = all) */
    long long limit_bytes;     /* 0 = unlimited */
    long long sent;
    char carry[CHUNK];         /* an incomplete last line */
    size_t carry_len;
    uv_timer_t timer;
    int ended;
} logstream;

static void ls_closed(uv_handle_t *h)
{
    free(h->data);
}

static void ls_end(logstream *s)
{
    if (s->ended)
        return;
    s->ended = 1;
    if (s->fd >= 0)
        close(s->fd);
    http_stream_end(s->http);
    uv_close((uv_handle_t *)&s->timer, ls_closed);
}

static void ls_gone(void *arg, http_req *req)
{
    (void)req;
    ls_end(arg);
}

/* RFC3339Nano → seconds (fraction dropped). */
static time_t ts_seconds(const char *s, size_t n)
{
    char buf[40];
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = 0;
    return api_parse_rfc3339(buf);
}

/* Emit one line of the file (without its '\n'). Returns -1 when the stream must stop. */
static int emit_line(logstream *s, const char *line, size_t n)
{
    const char *text = line;
    size_t tlen = n;
    const char *ts = NULL;
    size_t tslen = 0;
    int partial = 0;
    /* "<ts> <stream> <F|P> <text>" */
    const char *sp1 = memchr(line, ' ', n);
    if (sp1 && sp1 - line >= 20 && isdigit((unsigned char)line[0])) {
        const char *sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line));
        if (sp2 && sp2 + 2 <= line + n && (sp2[1] == 'F' || sp2[1] == 'P') &&
            (sp2 + 2 == line + n || sp2[2] == ' ')) {
            ts = line;
            tslen = (size_t)(sp1 - line);
            partial = sp2[1] == 'P';
            text = sp2 + 2 < line + n ? sp2 + 3 : sp2 + 2;
            tlen = (size_t)(line + n - text);
        }
    }
    if (s->since && ts && ts_seconds(ts, tslen) < s->since)
        return 0;
    char out[CHUNK + 128];
    size_t o = 0;
    if (s->timestamps && ts) {
        memcpy(out, ts, tslen);
        out[tslen] = ' ';
        o = tslen + 1;
    }
    if (tlen > CHUNK)
        tlen = CHUNK;
    memcpy(out + o, text, tlen);
    o += tlen;
    if (!partial)
        out[o++] = '\n';
    if (s->limit_bytes > 0 && s->sent + (long long)o > s->limit_bytes)
        o = (size_t)(s->limit_bytes - s->sent);
    if (o && http_stream_write(s->http, out, o) < 0)
        return -1;
    s->sent += (long long)o;
    if (s->limit_bytes > 0 && s->sent >= s->limit_bytes)
        return -1;
    return 0;
}

static void pump(uv_timer_t *t);

/* Send what the file has now; arm the timer for more (follow) or end. */
static void ls_run(logstream *s)
{
    char buf[CHUNK];
    for (;;) {
        if (s->ended)
            return;
        if (http_req_queued(s->http) > QUEUE_CAP) { /* let the client catch up */
            uv_timer_start(&s->timer, pump, 10, 0);
            return;
        }
        struct stat st;
        if (fstat(s->fd, &st) == 0 && st.st_size < s->off) /* rotated by copytruncate */
            s->off = 0, s->carry_len = 0;
        ssize_t r = pread(s->fd, buf, sizeof buf, s->off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        s->off += r;
        size_t start = 0;
        for (size_t i = 0; i < (size_t)r; i++) {
            if (buf[i] != '\n')
                continue;
            int rc;
            if (s->carry_len) {
                size_t add = i - start;
                if (s->carry_len + add > sizeof s->carry)
                    add = sizeof s->carry - s->carry_len;
                memcpy(s->carry + s->carry_len, buf + start, add);
                rc = emit_line(s, s->carry, s->carry_len + add);
                s->carry_len = 0;
            } else {
                rc = emit_line(s, buf + start, i - start);
            }
            start = i + 1;
            if (rc < 0) {
                ls_end(s);
                return;
            }
        }
        size_t rest = (size_t)r - start;
        if (s->carry_len + rest > sizeof s->carry)
            rest = sizeof s->carry - s->carry_len;
        memcpy(s->carry + s->carry_len, buf + start, rest);
        s->carry_len += rest;
    }
    if (s->follow && kubelet_pod_running(s->api->kubelet, s->ns, s->pod)) {
        uv_timer_start(&s->timer, pump, 100, 0);
        return;
    }
    if (s->carry_len && emit_line(s, s->carry, s->carry_len) < 0) {
        ls_end(s);
        return;
    }
    ls_end(s);
}

static void pump(uv_timer_t *t)
{
    ls_run(t->data);
}

/* Offset of the start of the last n lines of fd (size bytes). */
static off_t tail_offset(int fd, off_t size, long long n)
{
    if (n <= 0)
        return size;
    char buf[CHUNK];
    off_t pos = size;
    long long lines = 0;
    int first = 1;
    while (pos > 0) {
        size_t want = pos > (off_t)sizeof buf ? sizeof buf : (size_t)pos;
        pos -= (off_t)want;
        ssize_t r = pread(fd, buf, want, pos);
        if (r <= 0)
            return 0;
        for (ssize_t i = r - 1; i >= 0; i--) {
            if (buf[i] != '\n')
                continue;
            if (first && pos + i == size - 1) { /* the file's final newline */
                first = 0;
                continue;
            }
            first = 0;
            if (++lines == n)
                return pos + i + 1;
        }
    }
    return 0;
}

static int parse_ll(const char *v, long long *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno)
        return -1;
    *out = x;
    return 0;
}

static void bad_request(apireq *r, const char *fmt, const char *a, const char *b)
{
    apierr e = {0};
    apierr_set(&e, ST_BAD_REQUEST, fmt, a, b);
    api_send_error(r, &e);
}

/* Serve the log of container in pod (ns/name); pod_json may be NULL (pod gone, job log). */
static void serve(apireq *r, const char *ns, const char *pod, json_t *pod_json)
{
    http_req *h = r->http;
    char *container = http_query_get(h, "container");
    json_t *spec = json_object_get(pod_json, "spec"), *cs = json_object_get(spec, "containers");
    /* VisitContainers' order: init containers, then the others */
    json_t *all = json_array();
    json_array_extend(all, json_object_get(spec, "initContainers"));
    json_array_extend(all, cs);
    char cname[256] = "";
    if (container && *container) {
        int found = !pod_json;
        size_t i;
        json_t *c;
        json_array_foreach(all, i, c)
            if (json_string_value(json_object_get(c, "name")) &&
                !strcmp(json_string_value(json_object_get(c, "name")), container))
                found = 1;
        if (!found) {
            bad_request(r, "container %s is not valid for pod %s", container, pod);
            free(container);
            json_decref(all);
            return;
        }
        snprintf(cname, sizeof cname, "%s", container);
    } else if (pod_json) {
        if (json_array_size(cs) > 1) {
            size_t i;
            json_t *c;
            char list[1024] = "";
            size_t l = 0;
            json_array_foreach(all, i, c) {
                const char *cn = json_string_value(json_object_get(c, "name"));
                int n = snprintf(list + l, sizeof list - l, "%s%s", i ? " " : "", cn ? cn : "");
                if (n < 0 || (size_t)n >= sizeof list - l)
                    break; /* a pod has few containers; a list past 1 KiB is cut */
                l += (size_t)n;
            }
            apierr e = {0};
            apierr_set(&e, ST_BAD_REQUEST, "a container name must be specified for pod %s, choose one of: [%s]", pod, list);
            api_send_error(r, &e);
            free(container);
            json_decref(all);
            return;
        }
        const char *n0 = json_string_value(json_object_get(json_array_get(cs, 0), "name"));
        snprintf(cname, sizeof cname, "%s", n0 ? n0 : "pytorch");
    } else {
        snprintf(cname, sizeof cname, "pytorch");
    }
    json_decref(all);
    free(container);
    char *v;
    int previous = api_query_bool(v = http_query_get(h, "previous"));
    free(v);
    logstream *s = calloc(1, sizeof *s);
    s->api = r->api;
    s->http = h;
    s->fd = -1;
    snprintf(s->ns, sizeof s->ns, "%s", ns);
    snprintf(s->pod, sizeof s->pod, "%s", pod);
    s->follow = api_query_bool(v = http_query_get(h, "follow"));
    free(v);
    s->timestamps = api_query_bool(v = http_query_get(h, "timestamps"));
    free(v);
    long long tail = -1, since = 0, limit = 0;
    const char *bad = NULL;
    char *tv = http_query_get(h, "tailLines"), *sv = http_query_get(h, "sinceSeconds"),
         *lv = http_query_get(h, "limitBytes"), *st = http_query_get(h, "sinceTime");
    if (tv && *tv && parse_ll(tv, &tail) < 0)
        bad = "tailLines";
    if (sv && *sv && (parse_ll(sv, &since) < 0 || since < 1))
        bad = "sinceSeconds";
    if (lv && *lv && (parse_ll(lv, &limit) < 0 || limit < 1))
        bad = "limitBytes";
    if (sv && *sv && st && *st)
        bad = "sinceTime";
    if (bad) {
        char val[256];
        snprintf(val, sizeof val, "%s", !strcmp(bad, "tailLines") ? tv : !strcmp(bad, "sinceSeconds") ? sv : !strcmp(bad, "limitBytes") ? lv : st);
        free(tv), free(sv), free(lv), free(st), free(s);
        bad_request(r, "invalid value for %s: %s", bad, val);
        return;
    }
    if (since > 0)
        s->since = time(NULL) - (time_t)since;
    else if (st && *st)
        s->since = api_parse_rfc3339(st);
    s->limit_bytes = limit;
    free(tv), free(sv), free(lv), free(st);
    kubelet_log_path(r->api->kubelet, ns, pod, cname, previous, s->path, sizeof s->path);
    s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        apierr e = {0};
        if (previous)
            apierr_set(&e, ST_BAD_REQUEST, "previous terminated container \"%s\" in pod \"%s\" not found", cname, pod);
        else if (pod_json) /* nothing written yet (still waiting to start) */
            apierr_set(&e, ST_BAD_REQUEST, "container \"%s\" in pod \"%s\" is waiting to start: ContainerCreating", cname, pod);
        else
            apierr_not_found(&e, "pods", "", "pods", pod);
        free(s);
        api_send_error(r, &e);
        return;
    }
    if (previous)
        s->follow = 0;
    struct stat stt;
    fstat(s->fd, &stt);
    s->off = tail >= 0 ? tail_offset(s->fd, stt.st_size, tail) : 0;
    uv_timer_init(r->api->loop, &s->timer);
    s->timer.data = s;
    http_req_on_gone(h, ls_gone, s);
    http_stream_begin(h, 200, "text/plain");
    ls_run(s);
}

void podlog_serve(apireq *r)
{
    json_t *pod = api_read_object(r);
    if (!pod)
        return;
    serve(r, r->ns, r->name, pod);
    json_decref(pod);
}

void podlog_serve_job(apireq *r)
{
    char key[1024];
    api_key(key, sizeof key, r->res, r->ns, r->name);
    if (!store_get(r->api->store, key)) {
        apierr e = {0};
        apierr_not_found(&e, resource_gr(r->res), r->res->group, r->res->plural, r->name);
        api_send_error(r, &e);
        return;
    }
    char *pod = http_query_get(r->http, "pod");
    if (!pod || !*pod) {
        free(pod);
        apierr e = {0};
        apierr_set(&e, ST_BAD_REQUEST, "a pod name must be given: ?pod=<job>-master-0");
        api_send_error(r, &e);
        return;
    }
    /* Only this job's pods: names are <job>-<type>-<index>. */
    if (!kubelet_is_job_pod_name(pod, r->name)) {
        apierr e = {0};
        apierr_not_found(&e, "pods", "", "pods", pod);
        free(pod);
        api_send_error(r, &e);
        return;
    }
    char pkey[1024];
    snprintf(pkey, sizeof pkey, "pods/%s/%s", r->ns, pod);
    const store_rec *prec = store_get(r->api->store, pkey);
    json_t *pj = prec ? api_rec_json(prec) : NULL;
    serve(r, r->ns, pod, pj);
    json_decref(pj);
    free(pod);
}
