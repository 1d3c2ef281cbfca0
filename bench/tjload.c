/* tjload — a small closed-loop HTTP/1.1 load generator for torchjobd's benchmarks.
 *
 * One thread, epoll, N keep-alive connections (TLS through OpenSSL, or plain HTTP), 127.0.0.1
 * only. wrk drives the GET and LIST figures; this tool drives what wrk cannot express well:
 *
 *   post     POST a body template (every "__NAME__" replaced by PREFIX<i>) to PATH: durable creates
 *   delete   DELETE PATH/PREFIX<i>: deletes of objects made by a `post` run with the same names
 *   etcdput  POST /v3/kv/put {"key": b64(PREFIX<i>), "value": b64(body)} to etcd's JSON gateway
 *   watch    hold N watch streams on PATH, then POST K creates (body template to --trigger-path,
 *            names PREFIX<k>) one at a time and time when each watcher receives each event
 *   pages    GET PATH?limit=L, then follow metadata.continue to the end, on one connection;
 *            counts the objects ("kind":"<--kind>") and bytes of the whole walk
 *
 * i runs from --start over the requests in issue order, so a `delete` run with the same prefix
 * and start removes exactly what a `post` run created. A run ends after --count requests or
 * --duration seconds (whichever comes first; new requests stop, those in flight finish).
 *
 * A connection:
 *
 *   CONNECTING ──tcp up──► HANDSHAKE ──TLS up──► IDLE ──request──► SENDING ──sent──► RECEIVING
 *        ▲                  (skipped for http)    ▲                                      │
 *        │                                        └──────── response complete ◄──────────┤
 *        └──── EOF/error while work remains (reconnect) ◄─────────────────────────────────┤
 *                                                  watch: 200 + chunked head ──► STREAMING
 * Invariants:
 *  1. A connection has at most one request in flight (closed loop); its latency is measured from
 *     the first byte written to the last byte of the response parsed.
 *  2. Every run is bounded: --duration (default 10 s) and a hard --timeout for the whole run.
 *
 * Output: one JSON object on stdout (rates in 1/s, latencies in ms).
 * Build: cc -O2 -o tjload tjload.c -lssl -lcrypto -lm
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { M_POST, M_DELETE, M_ETCDPUT, M_WATCH, M_PAGES };
enum cstate { C_CONNECTING, C_HANDSHAKE, C_IDLE, C_SENDING, C_RECEIVING, C_STREAMING, C_DEAD };
enum chstate { CH_SIZE, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_END_CR, CH_END_LF };

typedef struct buf {
    char *p;
    size_t len, off, cap;
} buf;

typedef struct conn {
    int fd, id;
    SSL *ssl;
    enum cstate st;
    unsigned events;           /* epoll interest */
    buf w, r;
    /* response parser */
    int hdr_done, status, chunked, closing;
    long clen;
    enum chstate ch;
    size_t ch_left;
    int ch_ext;                /* inside a chunk extension (";...") of the size line */
    double t_sent;
    int is_trigger;
    /* watch */
    buf body;                  /* pages: the response body */
    int nev;                   /* events after the first create was sent */
    int early;                 /* events before it (e.g. synthetic ADDED of existing objects) */
    double *ev_t;
    int established;
} conn;

static struct {
    enum mode mode;
    int tls, port, conns, events, connect_par;
    long count, start;
    double duration, timeout, settle, gap;
    const char *path, *trigger_path, *prefix, *token, *body_file;
    char host[64];
    char *tmpl_a, *tmpl_b;     /* body template split at __NAME__ (tmpl_b NULL: no name) */
    char *b64val;              /* etcdput */
    int rss_pid;
    long limit;
    const char *kind;
} opt = {.conns = 1, .duration = 10, .timeout = 300, .events = 5, .connect_par = 256,
         .settle = 1.0, .gap = 0.3, .prefix = "bench-", .limit = 500, .kind = "PyTorchJob"};

static SSL_CTX *ctx;
static int ep;
static conn *conns;
static int nconns;
static long issued, done_ok, done_err;
static long status_count[600];
static double *lat;            /* ms */
static size_t nlat, caplat;
static double t0, t_end, t_last;
static int stopping;
static char first_err[512];
static int fired;              /* watch: the first create has been sent */
static int n_streaming;        /* watch: streams open now */
static int ev_got[64];         /* watch: streams open now that have received event k */
static char pg_cont[2048];     /* pages: the continue token of the last page ("" = first page) */
static int pg_done;
static long pg_objects, pg_pages;
static double pg_bytes, pg_worst;
static long reconnects;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* realtime: comparable with strace -ttt and other tools */
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    fprintf(stderr, "tjload: ");
    vfprintf(stderr, f, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        die("out of memory");
    return p;
}

static void buf_add(buf *b, const void *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t old = b->cap;
        b->cap = (b->len + n + 1) * 2;
        /* at least 8 KiB, touched now: a watch stream's buffer would otherwise grow (and fault
         * its pages in) on the first event, charging the client's page faults to that event */
        if (b->cap < 8192)
            b->cap = 8192;
        b->p = xrealloc(b->p, b->cap);
        if (old < 8192)
            memset(b->p + old, 0, b->cap - old);
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_fmt(buf *b, const char *f, ...)
{
    char tmp[4096];
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(tmp, sizeof tmp, f, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        die("header too long");
    buf_add(b, tmp, (size_t)n);
}

static void buf_consume(buf *b, size_t n)
{
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    if (b->p)
        b->p[b->len] = 0;
}

static char *b64(const unsigned char *s, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = xrealloc(NULL, (n + 2) / 3 * 4 + 1), *q = o;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = s[i] << 16 | (i + 1 < n ? s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        *q++ = t[v >> 18 & 63];
        *q++ = t[v >> 12 & 63];
        *q++ = i + 1 < n ? t[v >> 6 & 63] : '=';
        *q++ = i + 2 < n ? t[v & 63] : '=';
    }
    *q = 0;
    return o;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: %s", path, strerror(errno));
    buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_add(&b, tmp, n);
    fclose(f);
    while (b.len && (b.p[b.len - 1] == '\n' || b.p[b.len - 1] == ' ' || b.p[b.len - 1] == '\r'))
        b.p[--b.len] = 0;
    *len = b.len;
    return b.p ? b.p : calloc(1, 1);
}

/* ---- requests --------------------------------------------------------------------------- */

static void body_for(buf *out, const char *name)
{
    buf_add(out, opt.tmpl_a, strlen(opt.tmpl_a));
    if (opt.tmpl_b) {
        buf_add(out, name, strlen(name));
        buf_add(out, opt.tmpl_b, strlen(opt.tmpl_b));
    }
}

static void auth_hdr(buf *w)
{
    if (opt.token)
        buf_fmt(w, "Authorization: Bearer %s\r\n", opt.token);
}

static void post(buf *w, const char *path, const buf *body)
{
    buf_fmt(w, "POST %s HTTP/1.1\r\nHost: %s:%d\r\n", path, opt.host, opt.port);
    auth_hdr(w);
    buf_fmt(w, "Content-Type: application/json\r\nAccept: application/json\r\n"
               "Content-Length: %zu\r\n\r\n", body->len);
    buf_add(w, body->p, body->len);
}

/* Build request number i (or the watch GET / a trigger) into c->w. */
static void build(conn *c, long i)
{
    char name[256];
    snprintf(name, sizeof name, "%s%ld", opt.prefix, i);
    buf body = {0};
    c->w.len = c->w.off = 0;
    if (c->is_trigger) {
        body_for(&body, name);
        post(&c->w, opt.trigger_path, &body);
    } else if (opt.mode == M_WATCH) {
        buf_fmt(&c->w, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n", opt.path, opt.host, opt.port);
        auth_hdr(&c->w);
        buf_fmt(&c->w, "Accept: application/json\r\n\r\n");
    } else if (opt.mode == M_POST) {
        body_for(&body, name);
        post(&c->w, opt.path, &body);
    } else if (opt.mode == M_PAGES) {
        buf_fmt(&c->w, "GET %s%slimit=%ld%s%s HTTP/1.1\r\nHost: %s:%d\r\n", opt.path,
                strchr(opt.path, '?') ? "&" : "?", opt.limit, pg_cont[0] ? "&continue=" : "", pg_cont,
                opt.host, opt.port);
        auth_hdr(&c->w);
        buf_fmt(&c->w, "Accept: application/json\r\n\r\n");
    } else if (opt.mode == M_DELETE) {
        buf_fmt(&c->w, "DELETE %s/%s HTTP/1.1\r\nHost: %s:%d\r\n", opt.path, name, opt.host,
                opt.port);
        auth_hdr(&c->w);
        buf_fmt(&c->w, "Accept: application/json\r\n\r\n");
    } else { /* M_ETCDPUT */
        char *k = b64((const unsigned char *)name, strlen(name));
        buf_fmt(&body, "{\"key\":\"%s\",\"value\":\"", k);
        buf_add(&body, opt.b64val, strlen(opt.b64val));
        buf_add(&body, "\"}", 2);
        free(k);
        post(&c->w, "/v3/kv/put", &body);
    }
    free(body.p);
}

/* ---- connections ------------------------------------------------------------------------ */

static void set_events(conn *c, unsigned ev)
{
    if (c->events == ev)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e) < 0)
        die("epoll_ctl: %s", strerror(errno));
    c->events = ev;
}

static void conn_open(conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket: %s (raise ulimit -n)", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    c->events = 0;
    c->st = C_CONNECTING;
    c->hdr_done = 0;
    c->r.len = 0;
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS)
        die("connect: %s", strerror(errno));
    set_events(c, EPOLLOUT);
}

static void conn_close(conn *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd); /* also leaves the epoll set */
        c->fd = -1;
    }
    c->events = 0;
    if (c->st == C_STREAMING) {
        n_streaming--;
        for (int k = 0; k < c->nev && k < opt.events && k < 64; k++)
            ev_got[k]--;
    }
    c->st = C_DEAD;
}

static int more_work(void)
{
    if (opt.mode == M_WATCH || stopping)
        return 0;
    if (opt.mode == M_PAGES)
        return !pg_done && now() < t_end;
    if (opt.count && issued >= opt.count)
        return 0;
    return now() < t_end;
}

static void record(conn *c)
{
    double t = now();
    int s = c->status;
    status_count[s >= 0 && s < 600 ? s : 0]++;
    if (s >= 200 && s < 300)
        done_ok++;
    else
        done_err++;
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 65536;
        lat = xrealloc(lat, caplat * sizeof *lat);
    }
    lat[nlat++] = (t - c->t_sent) * 1000;
    t_last = t;
    if (opt.mode == M_PAGES) {
        buf *b = &c->body;
        if (s != 200) {
            pg_done = 1;
        } else {
            char pat[300];
            int pl = snprintf(pat, sizeof pat, "\"kind\":\"%s\"", opt.kind);
            for (char *q = b->p; q && (q = memmem(q, b->len - (size_t)(q - b->p), pat, (size_t)pl)); q += pl)
                pg_objects++;
            pg_pages++;
            pg_bytes += (double)b->len;
            if ((t - c->t_sent) * 1000 > pg_worst)
                pg_worst = (t - c->t_sent) * 1000;
            /* metadata comes last in a list body (sorted keys) or first: look at both ends */
            const char *key = "\"continue\":\"";
            size_t tail = b->len > 4096 ? b->len - 4096 : 0;
            char *k = memmem(b->p + tail, b->len - tail, key, strlen(key));
            if (!k)
                k = memmem(b->p, b->len < 4096 ? b->len : 4096, key, strlen(key));
            pg_cont[0] = 0;
            if (k) {
                k += strlen(key);
                char *e = memchr(k, '"', b->len - (size_t)(k - b->p));
                if (e && (size_t)(e - k) < sizeof pg_cont) {
                    memcpy(pg_cont, k, (size_t)(e - k));
                    pg_cont[e - k] = 0;
                }
            }
            pg_done = !pg_cont[0];
        }
        b->len = 0;
    }
}

static void start_request(conn *c)
{
    if (opt.mode == M_WATCH && !c->is_trigger) {
        build(c, 0);
        c->st = C_SENDING;
        c->hdr_done = 0;
        c->t_sent = now();
        set_events(c, EPOLLOUT);
        return;
    }
    if (!more_work()) {
        c->st = C_IDLE;
        set_events(c, EPOLLIN); /* notice a server close */
        return;
    }
    build(c, opt.start + issued++);
    c->st = C_SENDING;
    c->hdr_done = 0;
    c->t_sent = now();
    /* drive() writes at once; it asks for EPOLLOUT only if the socket is full (two epoll_ctl
     * calls per request otherwise: the client's CPU is taken from the server's on these two
     * cores) */
}

/* Returns >0 bytes, 0 would block (*want set), -1 EOF/error. */
static ssize_t io_read(conn *c, char *p, size_t n, unsigned *want)
{
    if (!c->ssl) {
        ssize_t k = read(c->fd, p, n);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            *want = EPOLLIN;
            return 0;
        }
        return k > 0 ? k : -1;
    }
    int k = SSL_read(c->ssl, p, (int)n);
    if (k > 0)
        return k;
    int e = SSL_get_error(c->ssl, k);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *want = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
        return 0;
    }
    return -1;
}

static ssize_t io_write(conn *c, const char *p, size_t n, unsigned *want)
{
    if (!c->ssl) {
        ssize_t k = write(c->fd, p, n);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            *want = EPOLLOUT;
            return 0;
        }
        return k >= 0 ? k : -1;
    }
    int k = SSL_write(c->ssl, p, (int)n);
    if (k > 0)
        return k;
    int e = SSL_get_error(c->ssl, k);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *want = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
        return 0;
    }
    return -1;
}

/* Chunked decoding of r's bytes from *pos. Returns 1 when the last chunk ended. Counts '\n'
 * inside chunk data as watch events. */
static int chunks(conn *c, size_t *pos)
{
    buf *r = &c->r;
    while (*pos < r->len) {
        char ch = r->p[*pos];
        switch (c->ch) {
        case CH_SIZE:
            (*pos)++;
            if (ch == '\r') {
                c->ch = CH_SIZE_LF;
            } else if (ch == ';') {
                c->ch_ext = 1;
            } else if (!c->ch_ext) {
                int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                        : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : 0;
                c->ch_left = c->ch_left * 16 + (size_t)v;
            }
            break;
        case CH_SIZE_LF:
            (*pos)++;
            c->ch = c->ch_left ? CH_DATA : CH_END_CR;
            break;
        case CH_DATA: {
            size_t n = r->len - *pos < c->ch_left ? r->len - *pos : c->ch_left;
            if (opt.mode == M_WATCH && !c->is_trigger) {
                const char *p = r->p + *pos, *end = p + n;
                while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
                    p++;
                    if (!fired) {      /* an event from before the first create: not ours */
                        c->early++;
                        continue;
                    }
                    if (c->nev < opt.events) {
                        c->ev_t[c->nev] = now();
                        ev_got[c->nev]++;
                    }
                    c->nev++;
                }
            }
            if (opt.mode == M_PAGES)
                buf_add(&c->body, r->p + *pos, n);
            *pos += n;
            c->ch_left -= n;
            if (!c->ch_left)
                c->ch = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
        case CH_DATA_LF:
            (*pos)++;
            if (c->ch == CH_DATA_CR) {
                c->ch = CH_DATA_LF;
            } else {
                c->ch = CH_SIZE;
                c->ch_left = 0;
                c->ch_ext = 0;
            }
            break;
        case CH_END_CR:
            (*pos)++;
            c->ch = CH_END_LF;
            break;
        case CH_END_LF:
            (*pos)++;
            return 1;
        }
    }
    return 0;
}

/* Parse what r holds. Returns 1 when a response (not a stream) is complete. */
static int parse(conn *c)
{
    buf *r = &c->r;
    size_t pos = 0;
    if (!c->hdr_done) {
        char *e = memmem(r->p, r->len, "\r\n\r\n", 4);
        if (!e)
            return 0;
        *e = 0;
        c->status = atoi(r->p + 9);
        c->clen = -1;
        c->chunked = c->closing = 0;
        for (char *l = strstr(r->p, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
            const char *h = l + 2;
            if (!strncasecmp(h, "content-length:", 15))
                c->clen = atol(h + 15);
            else if (!strncasecmp(h, "transfer-encoding:", 18) && strcasestr(h, "chunked"))
                c->chunked = 1;
            else if (!strncasecmp(h, "connection:", 11) && strcasestr(h, "close"))
                c->closing = 1;
        }
        pos = (size_t)(e - r->p) + 4;
        c->hdr_done = 1;
        c->ch = CH_SIZE;
        c->ch_left = 0;
        c->ch_ext = 0;
        if ((c->status < 200 || c->status >= 300) && !first_err[0]) {
            size_t n = r->len - pos < 300 ? r->len - pos : 300;
            snprintf(first_err, sizeof first_err, "%d %.*s", c->status, (int)n, r->p + pos);
        }
        if (opt.mode == M_WATCH && !c->is_trigger && c->status == 200 && c->chunked) {
            c->st = C_STREAMING;
            c->established = 1;
            n_streaming++;
        }
    }
    int complete;
    if (c->chunked) {
        complete = chunks(c, &pos);
    } else if (c->clen >= 0) {
        size_t have = r->len - pos;
        complete = have >= (size_t)c->clen;
        size_t take = complete ? (size_t)c->clen : have;
        if (opt.mode == M_PAGES)
            buf_add(&c->body, r->p + pos, take);
        pos += take;
        if (!complete)
            c->clen -= (long)have;
    } else {
        complete = 0; /* read to EOF: not produced by our servers */
        pos = r->len;
    }
    buf_consume(r, pos);
    if (complete)
        c->hdr_done = 0;
    return complete && c->st != C_STREAMING;
}

static void watch_trigger_done(conn *c);
static void drive(conn *c, unsigned revents);

static void conn_lost(conn *c)
{
    int busy = c->st == C_SENDING || c->st == C_RECEIVING;
    conn_close(c);
    if (busy) {
        status_count[0]++;
        done_err++;
        if (!first_err[0])
            snprintf(first_err, sizeof first_err, "connection lost mid-request");
    }
    if (opt.mode != M_WATCH && more_work()) {
        reconnects++;
        conn_open(c);
    }
}

static void drive(conn *c, unsigned revents)
{
    for (;;) {
        unsigned want = 0;
        switch (c->st) {
        case C_CONNECTING: {
            int err = 0;
            socklen_t l = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
            if (err) {
                if (!first_err[0])
                    snprintf(first_err, sizeof first_err, "connect: %s", strerror(err));
                conn_lost(c);
                return;
            }
            if (!(revents & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
                return;
            if (opt.tls) {
                c->ssl = SSL_new(ctx);
                SSL_set_fd(c->ssl, c->fd);
                SSL_set_tlsext_host_name(c->ssl, "localhost");
                SSL_set_connect_state(c->ssl);
                c->st = C_HANDSHAKE;
            } else {
                c->st = C_IDLE;
                if (c->is_trigger)
                    return set_events(c, EPOLLIN);
                start_request(c);
                if (c->st == C_IDLE)
                    return;
            }
            break;
        }
        case C_HANDSHAKE: {
            int k = SSL_do_handshake(c->ssl);
            if (k == 1) {
                c->st = C_IDLE;
                if (c->is_trigger)
                    return set_events(c, EPOLLIN);
                start_request(c);
                if (c->st == C_IDLE)
                    return;
                break;
            }
            int e = SSL_get_error(c->ssl, k);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return set_events(c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
            if (!first_err[0])
                snprintf(first_err, sizeof first_err, "TLS handshake: %s",
                         ERR_error_string(ERR_get_error(), NULL));
            conn_lost(c);
            return;
        }
        case C_SENDING: {
            ssize_t k = io_write(c, c->w.p + c->w.off, c->w.len - c->w.off, &want);
            if (k < 0)
                return conn_lost(c);
            if (k == 0)
                return set_events(c, want);
            c->w.off += (size_t)k;
            if (c->w.off == c->w.len) {
                /* the answer cannot be there yet: wait for epoll instead of a read that fails */
                c->st = C_RECEIVING;
                return set_events(c, EPOLLIN);
            }
            break;
        }
        case C_IDLE:
        case C_RECEIVING:
        case C_STREAMING: {
            char tmp[65536];
            ssize_t k = io_read(c, tmp, sizeof tmp, &want);
            if (k < 0)
                return conn_lost(c);
            if (k == 0)
                return set_events(c, want);
            if (c->st == C_IDLE)
                break; /* unexpected bytes; ignore */
            buf_add(&c->r, tmp, (size_t)k);
            if (parse(c)) {
                if (c->is_trigger) {
                    watch_trigger_done(c);
                    break;
                }
                if (opt.mode == M_WATCH) { /* the watch was refused: a failed watcher */
                    conn_close(c);
                    return;
                }
                record(c);
                if (c->closing) {
                    conn_close(c);
                    if (more_work()) {
                        reconnects++;
                        conn_open(c);
                    }
                    return;
                }
                start_request(c);
                if (c->st == C_IDLE)
                    return;
            } else if ((size_t)k < sizeof tmp && !(c->ssl && SSL_has_pending(c->ssl))) {
                /* all there was has been read: one read per arrival, not a second that fails
                 * (epoll is level-triggered, so what comes later is reported) */
                return set_events(c, EPOLLIN);
            }
            break;
        }
        case C_DEAD:
            return;
        }
    }
}

/* ---- watch mode ------------------------------------------------------------------------- */

static conn trig = {.fd = -1, .is_trigger = 1};
static double *t_tsend, *t_tack;
static int trig_k = -1, trig_busy;

static void watch_trigger_done(conn *c)
{
    t_tack[trig_k] = now();
    if (c->status < 200 || c->status >= 300)
        die("trigger create answered %d (%s)", c->status, first_err);
    trig_busy = 0;
    c->st = C_IDLE;
    set_events(c, EPOLLIN);
}

static void watch_fire(int k)
{
    fired = 1;
    trig_k = k;
    trig_busy = 1;
    build(&trig, opt.start + k);
    trig.st = C_SENDING;
    trig.hdr_done = 0;
    t_tsend[k] = trig.t_sent = now();
    set_events(&trig, EPOLLOUT);
    drive(&trig, EPOLLOUT);
}

static long rss_kb(int pid)
{
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", pid);
    FILE *f = fopen(p, "r");
    long v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            v = atol(line + 6);
    fclose(f);
    return v;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    if (!n)
        return -1;
    size_t i = (size_t)ceil(p * (double)n) - 1;
    if (i >= n)
        i = n - 1;
    return v[i];
}

static void poll_once(int ms)
{
    struct epoll_event evs[512];
    int n = epoll_wait(ep, evs, 512, ms);
    for (int i = 0; i < n; i++)
        drive(evs[i].data.ptr, evs[i].events);
}

static void run_watch(void)
{
    double deadline = now() + opt.timeout;
    conn_open(&trig);
    /* open watchers, at most connect_par handshakes at a time */
    int opened = 0;
    for (;;) {
        int est = 0, dead = 0;
        for (int i = 0; i < opened; i++) {
            est += conns[i].established && conns[i].st == C_STREAMING;
            dead += conns[i].st == C_DEAD;
        }
        if (est + dead == nconns)
            break;
        while (opened < nconns && opened - est - dead < opt.connect_par)
            conn_open(&conns[opened++]);
        if (now() > deadline)
            break;
        poll_once(50);
    }
    double t_conn = now() - t0;
    int est = 0;
    for (int i = 0; i < nconns; i++)
        est += conns[i].st == C_STREAMING;
    while (trig.st != C_IDLE && now() < deadline)
        poll_once(50);
    for (double t = now() + opt.settle; now() < t;)
        poll_once(20);
    long rss_idle = opt.rss_pid ? rss_kb(opt.rss_pid) : -1, rss_peak = rss_idle;
    for (int k = 0; k < opt.events && now() < deadline; k++) {
        watch_fire(k);
        double until = now() + 10, next_rss = 0;
        for (;;) {
            /* counted as they arrive: a scan of every stream per poll would cost this process
             * as much CPU as reading the events, on the same two cores as the server */
            if ((ev_got[k] >= n_streaming && !trig_busy) || now() > until)
                break;
            poll_once(5);
            if (opt.rss_pid && now() >= next_rss) {
                long r = rss_kb(opt.rss_pid);
                if (r > rss_peak)
                    rss_peak = r;
                next_rss = now() + 0.01;
            }
        }
        long r = opt.rss_pid ? rss_kb(opt.rss_pid) : -1;
        if (r > rss_peak)
            rss_peak = r;
        for (double t = now() + opt.gap; now() < t;)
            poll_once(20);
    }
    /* per-event and overall latencies after the create's acknowledgement (and its send) */
    size_t cap = (size_t)nconns * (size_t)opt.events, n_all = 0, n_snd = 0;
    double *all = xrealloc(NULL, (cap + 1) * sizeof *all), *snd = xrealloc(NULL, (cap + 1) * sizeof *snd);
    double *one = xrealloc(NULL, ((size_t)nconns + 1) * sizeof *one);
    printf("{\"mode\":\"watch\",\"watchers\":%d,\"established\":%d,\"connect_s\":%.3f,"
           "\"rss_kb_idle\":%ld,\"rss_kb_peak\":%ld,\"events\":[", nconns, est, t_conn, rss_idle,
           rss_peak);
    for (int k = 0; k < opt.events; k++) {
        size_t m = 0;
        for (int i = 0; i < nconns; i++)
            if (conns[i].nev > k) {
                double d = (conns[i].ev_t[k] - t_tack[k]) * 1000;
                one[m++] = d;
                all[n_all++] = d;
                snd[n_snd++] = (conns[i].ev_t[k] - t_tsend[k]) * 1000;
            }
        qsort(one, m, sizeof *one, cmp_d);
        printf("%s{\"delivered\":%zu,\"ack_ms\":%.3f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}",
               k ? "," : "", m, (t_tack[k] - t_tsend[k]) * 1000, pct(one, m, .5), pct(one, m, .99),
               pct(one, m, 1));
    }
    qsort(all, n_all, sizeof *all, cmp_d);
    qsort(snd, n_snd, sizeof *snd, cmp_d);
    long early = 0;
    for (int i = 0; i < nconns; i++)
        early += conns[i].early;
    printf("],\"early_events\":%ld,\"delivered\":%zu,\"expected\":%zu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
           "\"from_send_p50_ms\":%.3f,\"from_send_p99_ms\":%.3f,\"first_error\":\"%s\"}\n",
           early, n_all, (size_t)est * (size_t)opt.events, pct(all, n_all, .5), pct(all, n_all, .99),
           pct(all, n_all, 1), pct(snd, n_snd, .5), pct(snd, n_snd, .99),
           first_err[0] ? "see stderr" : "");
    if (first_err[0])
        fprintf(stderr, "tjload: first error: %s\n", first_err);
}

/* ---- load modes ------------------------------------------------------------------------- */

static void run_load(void)
{
    double hard = t0 + opt.timeout;
    for (int i = 0; i < nconns; i++)
        conn_open(&conns[i]);
    for (;;) {
        int busy = 0;
        for (int i = 0; i < nconns; i++)
            busy += conns[i].st != C_IDLE && conns[i].st != C_DEAD;
        if (!busy)
            break;
        if (now() > hard) {
            stopping = 1;
            fprintf(stderr, "tjload: hard timeout with %d connections busy\n", busy);
            break;
        }
        poll_once(100);
    }
    double secs = (t_last > t0 ? t_last : now()) - t0;
    qsort(lat, nlat, sizeof *lat, cmp_d);
    double sum = 0;
    for (size_t i = 0; i < nlat; i++)
        sum += lat[i];
    if (opt.mode == M_PAGES) {
        printf("{\"mode\":\"pages\",\"objects\":%ld,\"pages\":%ld,\"bytes\":%.0f,\"secs\":%.3f,"
               "\"obj_per_s\":%.1f,\"worst_page_ms\":%.3f,\"complete\":%s,\"errors\":%ld}\n",
               pg_objects, pg_pages, pg_bytes, secs, secs > 0 ? pg_objects / secs : 0, pg_worst,
               pg_done && !done_err ? "true" : "false", done_err);
        if (first_err[0])
            fprintf(stderr, "tjload: first error: %s\n", first_err);
        return;
    }
    const char *m = opt.mode == M_POST ? "post" : opt.mode == M_DELETE ? "delete" : "etcdput";
    printf("{\"mode\":\"%s\",\"conns\":%d,\"ok\":%ld,\"errors\":%ld,\"secs\":%.3f,\"rps\":%.1f,"
           "\"mean_ms\":%.3f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
           "\"reconnects\":%ld,\"status\":{",
           m, nconns, done_ok, done_err, secs, secs > 0 ? done_ok / secs : 0,
           nlat ? sum / nlat : -1, pct(lat, nlat, .5), pct(lat, nlat, .9), pct(lat, nlat, .99),
           pct(lat, nlat, 1), reconnects);
    int first = 1;
    for (int s = 0; s < 600; s++)
        if (status_count[s]) {
            printf("%s\"%d\":%ld", first ? "" : ",", s, status_count[s]);
            first = 0;
        }
    printf("},\"first_error\":\"%s\"}\n", first_err[0] ? "see stderr" : "");
    if (first_err[0])
        fprintf(stderr, "tjload: first error: %s\n", first_err);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: tjload MODE --url http[s]://127.0.0.1:PORT [options]\n"
            "modes: post delete etcdput watch pages\n"
            "  --path PATH          collection path (post, delete, watch: the watch URL path+query)\n"
            "  --body FILE          body template; __NAME__ becomes PREFIX<i> (post, etcdput, watch)\n"
            "  --prefix P           name prefix (default bench-)   --start I  first index (default 0)\n"
            "  --conns N            connections / watchers (default 1)\n"
            "  --count M            stop after M requests           --duration S  (default 10)\n"
            "  --timeout S          hard limit for the whole run (default 300)\n"
            "  --token T            bearer token (or env TJ_TOKEN)\n"
            "  --events K           watch: creates to fan out (default 5)\n"
            "  --trigger-path PATH  watch: where the creates go\n"
            "  --rss-pid PID        watch: sample this process's VmRSS\n"
            "  --limit L            pages: page size (default 500)   --kind K  object kind counted\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *m = argv[1];
    opt.mode = !strcmp(m, "post") ? M_POST : !strcmp(m, "delete") ? M_DELETE
             : !strcmp(m, "etcdput") ? M_ETCDPUT : !strcmp(m, "watch") ? M_WATCH
             : !strcmp(m, "pages") ? M_PAGES : (usage(), 0);
    static struct option lo[] = {
        {"url", 1, 0, 'u'}, {"path", 1, 0, 'p'}, {"body", 1, 0, 'b'}, {"prefix", 1, 0, 'x'},
        {"start", 1, 0, 's'}, {"conns", 1, 0, 'c'}, {"count", 1, 0, 'n'}, {"duration", 1, 0, 'd'},
        {"timeout", 1, 0, 'T'}, {"token", 1, 0, 't'}, {"events", 1, 0, 'e'},
        {"trigger-path", 1, 0, 'g'}, {"rss-pid", 1, 0, 'r'}, {"settle", 1, 0, 'S'},
        {"limit", 1, 0, 'l'}, {"kind", 1, 0, 'k'}, {0, 0, 0, 0}};
    const char *url = NULL;
    int o;
    optind = 2;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (o) {
        case 'u': url = optarg; break;
        case 'p': opt.path = optarg; break;
        case 'b': opt.body_file = optarg; break;
        case 'x': opt.prefix = optarg; break;
        case 's': opt.start = atol(optarg); break;
        case 'c': opt.conns = atoi(optarg); break;
        case 'n': opt.count = atol(optarg); break;
        case 'd': opt.duration = atof(optarg); break;
        case 'T': opt.timeout = atof(optarg); break;
        case 't': opt.token = optarg; break;
        case 'e': opt.events = atoi(optarg) > 64 ? 64 : atoi(optarg); break;
        case 'g': opt.trigger_path = optarg; break;
        case 'r': opt.rss_pid = atoi(optarg); break;
        case 'S': opt.settle = atof(optarg); break;
        case 'l': opt.limit = atol(optarg); break;
        case 'k': opt.kind = optarg; break;
        default: usage();
        }
    }
    if (!opt.token)
        opt.token = getenv("TJ_TOKEN");
    if (!url || opt.conns < 1)
        usage();
    if (!strncmp(url, "https://", 8))
        opt.tls = 1;
    else if (strncmp(url, "http://", 7))
        die("url must be http:// or https://");
    const char *hp = url + (opt.tls ? 8 : 7), *colon = strrchr(hp, ':');
    if (!colon || (size_t)(colon - hp) >= sizeof opt.host)
        usage();
    memcpy(opt.host, hp, (size_t)(colon - hp));
    opt.port = atoi(colon + 1);
    if (strcmp(opt.host, "127.0.0.1") && strcmp(opt.host, "localhost"))
        die("loopback only (127.0.0.1), not %s", opt.host);
    if (opt.mode != M_ETCDPUT && !opt.path)
        die("--path is required");
    if (opt.mode == M_WATCH && !opt.trigger_path)
        die("--trigger-path is required in watch mode");
    if (opt.mode == M_PAGES && opt.conns != 1)
        die("pages walks on one connection");
    if (opt.mode != M_DELETE && opt.mode != M_PAGES) {
        if (!opt.body_file)
            die("--body is required");
        size_t len;
        char *t = read_file(opt.body_file, &len);
        if (opt.mode == M_ETCDPUT) {
            opt.b64val = b64((unsigned char *)t, len);
        } else {
            char *at = strstr(t, "__NAME__");
            opt.tmpl_a = t;
            if (at) {
                *at = 0;
                opt.tmpl_b = at + 8;
            }
        }
    }
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (opt.tls) {
        ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
        /* a record's header and body in one read(), not two: like any HTTP client that reads
         * its socket in large pieces */
        SSL_CTX_set_read_ahead(ctx, 1);
        static const unsigned char alpn[] = "\x08http/1.1";
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    nconns = opt.conns;
    conns = calloc((size_t)nconns, sizeof *conns);
    if (!conns)
        die("out of memory");
    for (int i = 0; i < nconns; i++) {
        conns[i].fd = -1;
        conns[i].id = i;
        if (opt.mode == M_WATCH)
            conns[i].ev_t = xrealloc(NULL, (size_t)opt.events * sizeof(double));
    }
    t0 = now();
    t_end = t0 + opt.duration;
    if (opt.mode == M_WATCH) {
        t_tsend = calloc((size_t)opt.events, sizeof(double));
        t_tack = calloc((size_t)opt.events, sizeof(double));
        run_watch();
    } else {
        run_load();
    }
    return 0;
}
