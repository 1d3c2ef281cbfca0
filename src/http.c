/* http — HTTP/1.1 over TLS (memory BIOs) on libuv. See http.h for the contract.
 *
 * A connection's life:
 *
 *   OPEN ──bytes──► (parse) ──message complete──► HANDLING ──answered──► OPEN (keep-alive)
 *    │                                                │                    │
 *    │ timeout, TLS/parse error, EOF                  │ client gone        │ Connection: close
 *    ▼                                                ▼                    ▼
 *   CLOSING ◄─────────────────────────────────────────┴────────────────────┘
 *    │ both handles closed and no request holds the connection
 *    ▼
 *   FREED
 *
 * Invariants:
 *  1. At most one request per connection is being answered; parsing is paused meanwhile and
 *     bytes that arrive wait in `pending` (capped: past the cap the socket stops reading).
 *  2. The request timer runs only while no request is being answered: a request must arrive
 *     whole within request_timeout_ms of the connection's previous answer (slowloris-proof).
 *  3. A connection is freed only from a close callback, once refs == 0 (handles + request).
 *  4. Every error before dispatch (bad request, 413, 431) is still dispatched to the handler as
 *     a request with early_error set, so the API layer renders the Status; then the connection
 *     closes.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <http_parser.h>
#include <openssl/err.h>
#include "http.h"
#include "pfor.h"
#include "sbuf.h"

enum { C_OPEN, C_HANDLING, C_CLOSING };

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    SSL_CTX *ssl_ctx;
    http_limits lim;
    http_handler_fn fn;
    http_handler_fn done_fn;
    void *ctx;
    http_conn *conns;     /* doubly linked list of live connections */
    size_t nconns;
    uint64_t next_id;
    int stopping;
    pfor *fan;            /* helper threads of the fan-out and the cork, made at first large use */
    /* answers held during one loop turn (see "cork" below) */
    http_conn **cork;
    size_t ncork, cork_cap;
    uv_check_t *cork_check;
    uv_idle_t *cork_idle;
    int open_handles;     /* listener and the cork's two: freed when all are closed */
    http_handler_fn prep_fn;
    void (*handled_fn)(void *ctx); /* after a turn's requests were handled, before its answers are sealed */
    http_conn **ready;    /* requests of this turn waiting for the prepare hook and the handler */
    size_t nready, ready_cap;
};

struct http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    http_server *srv;
    http_conn *prev, *next;
    int state;
    int refs;             /* open handles + 1 while a request is being answered */
    SSL *ssl;
    BIO *rbio, *wbio;
    http_parser parser;
    /* request being parsed */
    char *url; size_t url_len;
    http_header *hdrs; size_t nhdrs, hdrs_cap;
    int in_value;
    size_t header_bytes;
    char *body; size_t body_len, body_cap;
    int early_error;      /* 400, 413, 431 */
    int message_done;
    int keep_alive;
    /* bytes received while a request is being answered */
    char *pending; size_t pending_len, pending_cap;
    int reading_stopped;
    int draining;
    http_req req;
    int req_active;
    http_gone_fn gone_fn; void *gone_arg;
    size_t queued;        /* bytes handed to uv_write, not yet written */
    int close_after_write;
    int lingering;        /* answered and half-closed: input is read and dropped until EOF */
    uv_shutdown_t shutdown;
    /* plaintext answered this loop turn, not yet encrypted (TLS connections only), ≤ HOLD_MAX */
    sbuf held;
    int in_cork;
    /* plaintext of a big answer not yet encrypted (TLS only): sealed as the socket drains, so a
     * 200 MB LIST is in memory once, not once more as queued ciphertext. While there is a tail,
     * everything sent on the connection is appended to it, in order. */
    http_seg *tail, *tail_last;
    size_t tail_off;      /* sealed bytes of the first piece */
    size_t tail_bytes;    /* plaintext still waiting */
    /* after a 101: the client's bytes go here, not to the parser */
    http_upgrade_fn up_fn;
    void *up_arg;
    int up_paused;
};

typedef struct wreq { uv_write_t w; http_conn *c; size_t len; char data[]; } wreq;

enum { HOLD_MAX = 256 * 1024 }; /* held per connection; past it (big lists, long replays) the
                                 * held bytes are sealed and the rest goes out at once, in pieces */
/* An answer is encrypted ahead of the socket only while less than TAIL_LOW is queued; the rest
 * waits as plaintext in the tail. Answers under TAIL_MIN (a LIST of 1,000 jobs is 2 MB) are
 * sealed whole at once, as before: the tail costs a copy and a loop turn per refill. */
enum { TAIL_LOW = 4u << 20, TAIL_MIN = 8u << 20 };

static void conn_close(http_conn *c);
static void out_release(http_conn *c);

/* Append to a growing array of connections (the turn's waiting requests, its held answers). */
static void conns_push(http_conn ***v, size_t *n, size_t *cap, http_conn *c)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        http_conn **p = realloc(*v, nc * sizeof *p);
        if (!p)
            abort();
        *v = p;
        *cap = nc;
    }
    (*v)[(*n)++] = c;
}
static void turn_end_soon(http_server *srv);
static void conn_drain(http_conn *c);
static void tls_flush(http_conn *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

const char *http_status_text(int s)
{
    switch (s) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    }
    return "Unknown";
}

/* ---- output ---------------------------------------------------------------------------- */

static void on_linger_timeout(uv_timer_t *t)
{
    conn_close(t->data);
}

static void on_shutdown(uv_shutdown_t *s, int status)
{
    (void)s;
    (void)status;
}

/* A client may still be sending a body we refused (413): closing at once would reset the
 * connection and lose our answer, so half-close and drop its input for a while (as Go does). */
static void linger(http_conn *c)
{
    if (c->lingering || c->state == C_CLOSING)
        return;
    c->lingering = 1;
    if (c->ssl) {
        out_release(c); /* the answer before close_notify */
        SSL_shutdown(c->ssl);
        tls_flush(c);
    }
    uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown);
    uv_timer_stop(&c->timer);
    uv_timer_start(&c->timer, on_linger_timeout, 2000, 0);
}

static void tail_pump(http_conn *c);

static void on_write(uv_write_t *w, int status)
{
    wreq *r = (wreq *)w;
    http_conn *c = r->c;
    c->queued -= r->len;
    free(r);
    if (status < 0 && c->state != C_CLOSING) {
        conn_close(c);
        return;
    }
    if (c->tail && c->state != C_CLOSING)
        tail_pump(c);
    if (c->close_after_write && c->queued == 0 && !c->tail && c->state != C_CLOSING)
        linger(c);
}

/* Bytes on their way out of the connection: queued in libuv, or waiting in the tail. */
static size_t conn_backlog(const http_conn *c)
{
    return c->queued + c->tail_bytes;
}

/* Queue a write request whose data is already in r->data. */
static void submit(http_conn *c, wreq *r, size_t len)
{
    r->c = c;
    r->len = len;
    uv_buf_t b = uv_buf_init(r->data, (unsigned)len);
    c->queued += len;
    if (uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
        c->queued -= len;
        free(r);
        conn_close(c);
    }
}

static void raw_write(http_conn *c, const char *data, size_t len)
{
    if (c->state == C_CLOSING || len == 0)
        return;
    wreq *r = malloc(sizeof *r + len);
    if (!r)
        abort();
    memcpy(r->data, data, len);
    submit(c, r, len);
}

/* Move whatever TLS produced into the socket. With nothing queued, try the socket at once,
 * straight from the BIO's memory (a big LIST is ~1 MB a page: no copy out of the BIO first): a
 * watch fan-out writes to thousands of idle connections per event, and a write request (malloc,
 * copy, callback, poll registration) per connection costs more than the syscall. What the
 * socket does not take goes into a write request, in order. */
static void tls_flush(http_conn *c)
{
    size_t n;
    char *p;
    long have;
    if (c->state != C_CLOSING && c->queued == 0 && (have = BIO_get_mem_data(c->wbio, &p)) > 0) {
        uv_buf_t b = uv_buf_init(p, (unsigned)have);
        int w = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (w < 0 && w != UV_EAGAIN) {
            conn_close(c);
            return;
        }
        if (w < 0)
            w = 0;
        if (w < have) /* the rest, in order, into a write request */
            raw_write(c, p + w, (size_t)(have - w));
        (void)BIO_reset(c->wbio); /* a read-write memory BIO: now empty */
    }
    while (c->state != C_CLOSING && (n = BIO_ctrl_pending(c->wbio)) > 0) {
        wreq *r = malloc(sizeof *r + n);
        if (!r)
            abort();
        int got = BIO_read(c->wbio, r->data, (int)n);
        if (got <= 0) {
            free(r);
            return;
        }
        submit(c, r, (size_t)got);
    }
}


static void out_hold(http_conn *c, const char *data, size_t len);

http_seg *http_seg_new(size_t cap)
{
    http_seg *g = malloc(sizeof *g + cap);
    if (!g)
        abort();
    g->next = NULL;
    g->data = g->inl;
    g->len = 0;
    g->cap = cap;
    g->ext = 0;
    return g;
}

/* A piece over a malloc'd buffer, which it takes. */
static http_seg *seg_over(char *buf, size_t len)
{
    http_seg *g = malloc(sizeof *g);
    if (!g)
        abort();
    g->next = NULL;
    g->data = buf;
    g->len = g->cap = len;
    g->ext = 1;
    return g;
}

void http_segs_free(http_seg *g)
{
    while (g) {
        http_seg *next = g->next;
        if (g->ext)
            free(g->data);
        free(g);
        g = next;
    }
}

static void tail_link(http_conn *c, http_seg *g)
{
    g->next = NULL;
    if (c->tail_last)
        c->tail_last->next = g;
    else
        c->tail = g;
    c->tail_last = g;
    c->tail_bytes += g->len;
}

static void tail_add(http_conn *c, const char *data, size_t len)
{
    http_seg *g = c->tail_last;
    if (g && !g->ext && g->cap - g->len >= len) {
        memcpy(g->data + g->len, data, len);
        g->len += len;
        c->tail_bytes += len;
        return;
    }
    g = http_seg_new(len > 65536 ? len : 65536);
    memcpy(g->data, data, len);
    g->len = len;
    tail_link(c, g);
}

/* Encrypt from data while little is queued, 64 KiB at a time, each to the socket at once (the
 * client decrypts the first records while the rest are being encrypted). Returns how much was
 * encrypted; with all, the connection may have been closed on an error. */
static size_t seal_some(http_conn *c, const char *data, size_t len, size_t low)
{
    size_t done = 0;
    while (done < len && c->state != C_CLOSING &&
           (low == 0 || c->queued + BIO_ctrl_pending(c->wbio) < low)) {
        int chunk = len - done > 65536 ? 65536 : (int)(len - done);
        int n = SSL_write(c->ssl, data + done, chunk);
        if (n <= 0) {
            ERR_clear_error();
            conn_close(c);
            return len;
        }
        done += (size_t)n;
        tls_flush(c);
    }
    return c->state == C_CLOSING ? len : done;
}

/* The socket took some: seal more of the tail. When nothing is queued after this, the tail is
 * gone (a socket that takes all at once leaves nothing to wait for). */
static void tail_pump(http_conn *c)
{
    while (c->tail && c->state != C_CLOSING) {
        http_seg *g = c->tail;
        size_t n = seal_some(c, g->data + c->tail_off, g->len - c->tail_off, TAIL_LOW);
        if (c->state == C_CLOSING)
            return; /* freed with the connection */
        c->tail_off += n;
        c->tail_bytes -= n;
        if (c->tail_off < g->len)
            return; /* enough queued: on_write comes back */
        c->tail = g->next;
        if (!c->tail)
            c->tail_last = NULL;
        c->tail_off = 0;
        g->next = NULL;
        http_segs_free(g);
    }
}

/* Send a piece the connection takes; sealed ahead of the socket only while less than low is
 * queued (0: all at once), the rest waits in the tail as it is, without a copy. */
static void conn_send_seg(http_conn *c, http_seg *g, size_t low)
{
    if (c->state == C_CLOSING || !c->ssl) {
        if (c->state != C_CLOSING)
            raw_write(c, g->data, g->len);
        http_segs_free(g);
        return;
    }
    if (c->tail) { /* after what waits, in order */
        tail_link(c, g);
        return;
    }
    out_release(c);
    size_t n = seal_some(c, g->data, g->len, low);
    if (n < g->len && c->state != C_CLOSING) {
        tail_link(c, g);
        c->tail_off = n;
        c->tail_bytes -= n;
        return;
    }
    http_segs_free(g);
}

/* Send data; own: it is a malloc'd buffer that the connection takes. */
static void conn_send_buf(http_conn *c, char *data, size_t len, int own)
{
    if (c->state == C_CLOSING || len == 0) {
        if (own)
            free(data);
        return;
    }
    if (c->ssl && !c->tail && SSL_is_init_finished(c->ssl) && sbuf_len(&c->held) + len <= HOLD_MAX) {
        out_hold(c, data, len);
        if (own)
            free(data);
        return;
    }
    if (c->ssl && c->tail && !own) {
        tail_add(c, data, len);
        return;
    }
    if (!own) { /* sealed at once (or queued raw): nothing to keep */
        if (!c->ssl) {
            raw_write(c, data, len);
            return;
        }
        out_release(c);
        seal_some(c, data, len, 0);
        return;
    }
    conn_send_seg(c, seg_over(data, len), len >= TAIL_MIN ? TAIL_LOW : 0);
}

static void conn_send(http_conn *c, const char *data, size_t len)
{
    conn_send_buf(c, (char *)data, len, 0);
}

/* ---- request state ----------------------------------------------------------------------- */

static void reset_parse_state(http_conn *c)
{
    free(c->url);
    c->url = NULL;
    c->url_len = 0;
    for (size_t i = 0; i < c->nhdrs; i++) {
        free(c->hdrs[i].name);
        free(c->hdrs[i].value);
    }
    c->nhdrs = 0;
    c->in_value = 0;
    c->header_bytes = 0;
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    c->early_error = 0;
    c->message_done = 0;
}

static void free_req(http_req *r)
{
    free(r->path);
    free(r->query);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    if (r->prep && r->prep_free)
        r->prep_free(r->prep);
    memset(r, 0, sizeof *r);
}

static void conn_unref(http_conn *c)
{
    if (--c->refs > 0)
        return;
    free_req(&c->req);
    reset_parse_state(c);
    free(c->hdrs);
    free(c->pending);
    sbuf_free(&c->held);
    http_segs_free(c->tail);
    /* (a connection on the ready list cannot get here: its waiting request holds a reference) */
    if (c->in_cork)
        for (size_t i = 0; i < c->srv->ncork; i++)
            if (c->srv->cork[i] == c)
                c->srv->cork[i] = NULL;
    if (c->ssl)
        SSL_free(c->ssl);
    free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    conn_unref(h->data);
}

static void conn_close(http_conn *c)
{
    if (c->state == C_CLOSING)
        return;
    c->state = C_CLOSING;
    http_server *s = c->srv;
    if (c->prev) c->prev->next = c->next; else s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    s->nconns--;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    if (c->req_active && !c->req.responded && c->gone_fn) {
        http_gone_fn fn = c->gone_fn;
        c->gone_fn = NULL;
        fn(c->gone_arg, &c->req);
    }
}

static void on_timeout(uv_timer_t *t)
{
    http_conn *c = t->data;
    if (!c->req_active)
        conn_close(c);
}

static void arm_timer(http_conn *c)
{
    if (c->srv->lim.request_timeout_ms)
        uv_timer_start(&c->timer, on_timeout, c->srv->lim.request_timeout_ms, 0);
}

static int hex(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Percent-decode n bytes of s; '+' is kept (paths) unless plus_space (query values). */
static char *pct_decode(const char *s, size_t n, int plus_space)
{
    char *o = malloc(n + 1), *p = o;
    if (!o)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            *p++ = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else if (plus_space && s[i] == '+') {
            *p++ = ' ';
        } else {
            *p++ = s[i];
        }
    }
    *p = 0;
    return o;
}

static void dispatch(http_conn *c)
{
    http_req *r = &c->req;
    free_req(r);
    r->conn = c;
    r->id = ++c->srv->next_id;
    r->method = c->parser.method;
    r->method_name = http_method_str(c->parser.method);
    const char *u = c->url ? c->url : "/";
    size_t ulen = c->url ? c->url_len : 1;
    const char *q = memchr(u, '?', ulen);
    size_t plen = q ? (size_t)(q - u) : ulen;
    r->path = pct_decode(u, plen, 0);
    if (q)
        r->query = strndup(q + 1, ulen - plen - 1);
    r->headers = c->hdrs;
    r->nheaders = c->nhdrs;
    c->hdrs = NULL;
    c->nhdrs = c->hdrs_cap = 0;
    r->body = c->body ? c->body : strdup("");
    r->body_len = c->body_len;
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    r->start_ns = uv_hrtime();
    r->status = c->early_error; /* the handler sees early errors here */
    c->keep_alive = !c->early_error && http_should_keep_alive(&c->parser);
    c->early_error = 0;
    c->message_done = 0;
    free(c->url);
    c->url = NULL;
    c->url_len = 0;
    c->header_bytes = 0;
    c->in_value = 0;
    c->req_active = 1;
    c->refs++;
    c->state = C_HANDLING;
    c->gone_fn = NULL;
    uv_timer_stop(&c->timer);
    http_server *srv = c->srv;
    if (!srv->prep_fn) {
        srv->fn(srv->ctx, r);
        return;
    }
    conns_push(&srv->ready, &srv->nready, &srv->ready_cap, c);
    turn_end_soon(srv);
}

/* The request was answered: resume reading the next one. */
static void finish_req(http_req *r)
{
    http_conn *c = r->conn;
    if (c->srv->done_fn)
        c->srv->done_fn(c->srv->ctx, r);
    c->req_active = 0;
    c->gone_fn = NULL;
    if (c->state == C_CLOSING) {
        conn_unref(c);
        return;
    }
    c->state = C_OPEN;
    if (!c->keep_alive) {
        c->close_after_write = 1;
        if (conn_backlog(c) == 0)
            linger(c);
        conn_unref(c);
        return;
    }
    arm_timer(c);
    http_parser_pause(&c->parser, 0);
    conn_unref(c);
    conn_drain(c);
}

/* ---- parser callbacks ----------------------------------------------------------------------- */

static int over_headers(http_conn *c, size_t add)
{
    c->header_bytes += add;
    if (c->header_bytes > c->srv->lim.max_header_bytes) {
        c->early_error = 431;
        return 1;
    }
    return 0;
}

static char *append(char *s, size_t *len, const char *at, size_t n)
{
    char *o = realloc(s, *len + n + 1);
    if (!o)
        abort();
    memcpy(o + *len, at, n);
    *len += n;
    o[*len] = 0;
    return o;
}

static int on_message_begin(http_parser *p)
{
    http_conn *c = p->data;
    reset_parse_state(c);
    uv_timer_stop(&c->timer);
    arm_timer(c); /* the whole request within the timeout, from its first byte */
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    if (over_headers(c, n))
        return 1;
    c->url = append(c->url, &c->url_len, at, n);
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    if (over_headers(c, n + 4))
        return 1;
    if (c->in_value || c->nhdrs == 0) {
        if (c->nhdrs == c->hdrs_cap) {
            c->hdrs_cap = c->hdrs_cap ? c->hdrs_cap * 2 : 16;
            c->hdrs = realloc(c->hdrs, c->hdrs_cap * sizeof *c->hdrs);
            if (!c->hdrs)
                abort();
        }
        c->hdrs[c->nhdrs].name = NULL;
        c->hdrs[c->nhdrs].value = strdup("");
        c->nhdrs++;
        c->in_value = 0;
    }
    http_header *h = &c->hdrs[c->nhdrs - 1];
    size_t len = h->name ? strlen(h->name) : 0;
    h->name = append(h->name, &len, at, n);
    for (char *s = h->name; *s; s++)
        *s = (char)tolower((unsigned char)*s);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    if (over_headers(c, n))
        return 1;
    if (c->nhdrs == 0)
        return 0;
    c->in_value = 1;
    http_header *h = &c->hdrs[c->nhdrs - 1];
    size_t len = strlen(h->value);
    h->value = append(h->value, &len, at, n);
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    http_conn *c = p->data;
    if (p->content_length != ULLONG_MAX && p->content_length > c->srv->lim.max_body_bytes) {
        c->early_error = 413;
        return 2; /* no body expected: we will answer and close */
    }
    for (size_t i = 0; i < c->nhdrs; i++)
        if (!strcmp(c->hdrs[i].name ? c->hdrs[i].name : "", "expect") &&
            !strcasecmp(c->hdrs[i].value, "100-continue")) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            conn_send(c, cont, sizeof cont - 1);
        }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    if (c->body_len + n > c->srv->lim.max_body_bytes) {
        c->early_error = 413;
        return 1;
    }
    if (c->body_len + n + 1 > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        while (cap < c->body_len + n + 1)
            cap *= 2;
        c->body = realloc(c->body, cap);
        if (!c->body)
            abort();
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, at, n);
    c->body_len += n;
    c->body[c->body_len] = 0;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    http_conn *c = p->data;
    c->message_done = 1;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void hold(http_conn *c, const char *data, size_t len)
{
    if (c->pending_len + len > c->pending_cap) {
        size_t cap = c->pending_cap ? c->pending_cap : 4096;
        while (cap < c->pending_len + len)
            cap *= 2;
        c->pending = realloc(c->pending, cap);
        if (!c->pending)
            abort();
        c->pending_cap = cap;
    }
    memcpy(c->pending + c->pending_len, data, len);
    c->pending_len += len;
    /* Backpressure: a client that pipelines without reading answers stops being read. */
    if (c->pending_len > c->srv->lim.max_header_bytes + c->srv->lim.max_body_bytes &&
        !c->reading_stopped) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading_stopped = 1;
    }
}

/* Parse plaintext; dispatches at most one request, keeps the rest in `pending`. */
static void feed(http_conn *c, const char *data, size_t len)
{
    if (c->state == C_CLOSING)
        return;
    if (c->up_fn) {
        /* every caller's buffer is writable: the socket slab, the TLS plaintext, pending */
        c->up_fn(c->up_arg, (char *)data, len);
        return;
    }
    if (c->req_active) {
        hold(c, data, len);
        return;
    }
    size_t n = http_parser_execute(&c->parser, &settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (c->message_done) {
        if (n < len) /* pipelined bytes wait for the answer */
            hold(c, data + n, len - n);
        dispatch(c);
        return;
    }
    if (e != HPE_OK) {
        if (!c->early_error)
            c->early_error = e == HPE_HEADER_OVERFLOW ? 431 : 400;
        /* Answer the error as a request, then close. */
        if (!c->url)
            c->url = strdup("/"), c->url_len = 1;
        dispatch(c);
    }
}

static void conn_drain(http_conn *c)
{
    if (c->draining)
        return;
    c->draining = 1;
    /* pending bytes go to the parser between requests, or to an upgraded protocol's reader */
#define CAN_FEED(c) ((c)->state != C_CLOSING && !(c)->close_after_write && \
                     (((c)->state == C_OPEN && !(c)->req_active) || ((c)->up_fn && !(c)->up_paused)))
    while (CAN_FEED(c) && c->pending_len) {
        char *buf = c->pending;
        size_t len = c->pending_len;
        c->pending = NULL;
        c->pending_len = c->pending_cap = 0;
        feed(c, buf, len);
        free(buf);
    }
    if (CAN_FEED(c) && c->reading_stopped) {
        c->reading_stopped = 0;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
    c->draining = 0;
}

/* ---- socket input ---------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char slab[65536]; /* one loop thread: one read at a time */
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(slab, sizeof slab);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    http_conn *c = s->data;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0)
        return;
    if (c->lingering || c->close_after_write)
        return;
    if (!c->ssl) {
        feed(c, buf->base, (size_t)nread);
        return;
    }
    BIO_write(c->rbio, buf->base, (int)nread);
    if (!SSL_is_init_finished(c->ssl)) {
        int r = SSL_do_handshake(c->ssl);
        tls_flush(c);
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            ERR_clear_error();
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                conn_close(c);
            return;
        }
    }
    char plain[16384];
    for (;;) {
        if (c->state == C_CLOSING)
            return;
        int n = SSL_read(c->ssl, plain, sizeof plain);
        if (n > 0) {
            feed(c, plain, (size_t)n);
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        ERR_clear_error();
        tls_flush(c);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return;
        conn_close(c); /* close_notify or a TLS error */
        return;
    }
}

static void on_connection(uv_stream_t *l, int status)
{
    http_server *s = l->data;
    if (status < 0 || s->stopping)
        return;
    http_conn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->srv = s;
    sbuf_init(&c->held, HOLD_MAX + 1);
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->refs = 2;
    c->state = C_OPEN;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (s->ssl_ctx) {
        c->ssl = SSL_new(s->ssl_ctx);
        c->rbio = BIO_new(BIO_s_mem());
        c->wbio = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(c->rbio, -1);
        BIO_set_mem_eof_return(c->wbio, -1);
        SSL_set_bio(c->ssl, c->rbio, c->wbio);
        SSL_set_accept_state(c->ssl);
    }
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    arm_timer(c);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void server_handle_closed(http_server *s)
{
    if (--s->open_handles > 0)
        return;
    pfor_free(s->fan);
    free(s->cork);
    free(s->ready);
    free(s);
}

static void on_cork_handle_closed(uv_handle_t *h)
{
    http_server *s = h->data;
    free(h);
    server_handle_closed(s);
}

static void on_listener_closed(uv_handle_t *h) { server_handle_closed(h->data); }

int http_server_start(uv_loop_t *loop, const char *addr, int port, SSL_CTX *ssl_ctx,
                      const http_limits *lim, http_handler_fn fn, void *ctx, http_server **out,
                      char **err)
{
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->loop = loop;
    s->ssl_ctx = ssl_ctx;
    /* http-parser's own cap (80 KiB by default) would answer first; ours gives the 431. */
    http_parser_set_max_header_size((uint32_t)lim->max_header_bytes + 65536);
    s->lim = *lim;
    s->fn = fn;
    s->ctx = ctx;
    struct sockaddr_storage sa;
    int r;
    if (strchr(addr, ':'))
        r = uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&sa);
    else
        r = uv_ip4_addr(addr, port, (struct sockaddr_in *)&sa);
    if (r == 0) {
        uv_tcp_init(loop, &s->listener);
        s->listener.data = s;
        s->open_handles = 1;
        r = uv_tcp_bind(&s->listener, (struct sockaddr *)&sa, 0);
        if (r == 0)
            r = uv_listen((uv_stream_t *)&s->listener, 1024, on_connection);
        if (r < 0)
            uv_close((uv_handle_t *)&s->listener, on_listener_closed), s = NULL;
    } else {
        free(s);
        s = NULL;
    }
    if (r < 0) {
        if (asprintf(err, "listen on %s:%d: %s", addr, port, uv_strerror(r)) < 0)
            *err = NULL;
        return -1;
    }
    s->cork_check = malloc(sizeof *s->cork_check);
    s->cork_idle = malloc(sizeof *s->cork_idle);
    if (!s->cork_check || !s->cork_idle)
        abort();
    uv_check_init(loop, s->cork_check);
    uv_idle_init(loop, s->cork_idle);
    s->cork_check->data = s->cork_idle->data = s;
    s->open_handles += 2;
    *out = s;
    return 0;
}

void http_server_stop(http_server *s)
{
    s->stopping = 1;
    /* requests still waiting for their turn's end are dropped with their connections */
    for (size_t i = 0; i < s->nready; i++)
        if (s->ready[i]) {
            s->ready[i]->req_active = 0;
            conn_close(s->ready[i]);
            conn_unref(s->ready[i]);
        }
    s->nready = 0;
    while (s->conns)
        conn_close(s->conns);
    uv_close((uv_handle_t *)s->cork_check, on_cork_handle_closed);
    uv_close((uv_handle_t *)s->cork_idle, on_cork_handle_closed);
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}

size_t http_server_conns(const http_server *s) { return s->nconns; }

void http_server_on_done(http_server *srv, http_handler_fn fn) { srv->done_fn = fn; }
void http_server_on_prepare(http_server *srv, http_handler_fn fn) { srv->prep_fn = fn; }
void http_server_on_handled(http_server *srv, void (*fn)(void *ctx)) { srv->handled_fn = fn; }

/* ---- request accessors ----------------------------------------------------------------------- */

const char *http_header_get(const http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (r->headers[i].name && !strcmp(r->headers[i].name, name))
            return r->headers[i].value;
    return NULL;
}

size_t http_header_all(const http_req *r, const char *name, const char **vals, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nheaders && n < max; i++)
        if (r->headers[i].name && !strcmp(r->headers[i].name, name))
            vals[n++] = r->headers[i].value;
    return n;
}

size_t http_query_all(const http_req *r, const char *name, char ***vals)
{
    size_t n = 0, nlen = strlen(name);
    *vals = NULL;
    if (!r->query)
        return 0;
    const char *p = r->query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        char *k = pct_decode(p, klen, 1);
        if (!strcmp(k, name) || (klen == nlen && !memcmp(p, name, nlen))) {
            *vals = realloc(*vals, (n + 1) * sizeof **vals);
            (*vals)[n++] = eq ? pct_decode(eq + 1, len - klen - 1, 1) : strdup("");
        }
        free(k);
        p += len;
        if (*p == '&')
            p++;
    }
    return n;
}

char *http_query_get(const http_req *r, const char *name)
{
    char **v;
    size_t n = http_query_all(r, name, &v);
    if (!n)
        return NULL;
    char *first = v[0];
    for (size_t i = 1; i < n; i++)
        free(v[i]);
    free(v);
    return first;
}

void http_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- answers ---------------------------------------------------------------------------------- */

/* The answer's head; extra: headers. */
static int answer_head(http_req *r, char *head, size_t cap, int status, const char *ctype,
                       size_t len, const char *extra)
{
    int hl = snprintf(head, cap,
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Cache-Control: no-cache, private\r\n%s%s\r\n",
                      status, http_status_text(status), ctype, len, extra ? extra : "",
                      r->conn->keep_alive ? "" : "Connection: close\r\n");
    if (hl < 0 || (size_t)hl >= cap)
        hl = snprintf(head, cap, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n\r\n", status,
                      http_status_text(status), len);
    return hl;
}

static void respond(http_req *r, int status, const char *ctype, char *body, size_t len,
                    const char *extra, int own)
{
    http_conn *c = r->conn;
    if (r->responded) {
        if (own)
            free(body);
        return;
    }
    r->responded = 1;
    r->status = status;
    if (c->state != C_CLOSING) {
        char head[1024];
        int hl = answer_head(r, head, sizeof head, status, ctype, len, extra);
        if (r->method == HTTP_HEAD)
            len = 0;
        r->bytes_out = (size_t)hl + len;
        /* One TLS record for small answers: copy head and body together. */
        if ((size_t)hl + len <= 65536) {
            char *buf = malloc((size_t)hl + len);
            if (!buf)
                abort();
            memcpy(buf, head, (size_t)hl);
            if (len)
                memcpy(buf + hl, body, len);
            conn_send_buf(c, buf, (size_t)hl + len, 1);
        } else {
            conn_send(c, head, (size_t)hl);
            conn_send_buf(c, body, len, own);
            own = 0;
        }
    }
    if (own)
        free(body);
    finish_req(r);
}

void http_respond_segs(http_req *r, int status, const char *ctype, http_seg *body,
                       const char *extra)
{
    http_conn *c = r->conn;
    size_t len = 0;
    for (http_seg *g = body; g; g = g->next)
        len += g->len;
    if (r->responded || c->state == C_CLOSING || r->method == HTTP_HEAD || len <= 65536) {
        char *flat = malloc(len ? len : 1), *p = flat;
        if (!flat)
            abort();
        for (http_seg *g = body; g; g = g->next) {
            memcpy(p, g->data, g->len);
            p += g->len;
        }
        http_segs_free(body);
        respond(r, status, ctype, flat, len, extra, 1);
        return;
    }
    r->responded = 1;
    r->status = status;
    char head[1024];
    int hl = answer_head(r, head, sizeof head, status, ctype, len, extra);
    r->bytes_out = (size_t)hl + len;
    conn_send(c, head, (size_t)hl);
    size_t low = len >= TAIL_MIN ? TAIL_LOW : 0;
    while (body) {
        http_seg *g = body;
        body = g->next;
        g->next = NULL;
        conn_send_seg(c, g, low);
    }
    finish_req(r);
}

void http_respond(http_req *r, int status, const char *ctype, const char *body, size_t len,
                  const char *extra)
{
    respond(r, status, ctype, (char *)body, len, extra, 0);
}

void http_respond_owned(http_req *r, int status, const char *ctype, char *body, size_t len,
                        const char *extra)
{
    respond(r, status, ctype, body, len, extra, 1);
}

void http_stream_begin(http_req *r, int status, const char *ctype)
{
    http_conn *c = r->conn;
    r->streaming = 1;
    r->status = status;
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
                      "Cache-Control: no-cache, private\r\n\r\n",
                      status, http_status_text(status), ctype);
    conn_send(c, head, (size_t)hl);
}

int http_stream_write(http_req *r, const char *data, size_t len)
{
    http_conn *c = r->conn;
    if (c->state == C_CLOSING || r->responded)
        return -1;
    if (conn_backlog(c) > c->srv->lim.max_conn_queue)
        return -1;
    if (len == 0)
        return 0;
    char *buf = malloc(len + 32);
    if (!buf)
        abort();
    int hl = snprintf(buf, 32, "%zx\r\n", len);
    memcpy(buf + hl, data, len);
    memcpy(buf + hl + len, "\r\n", 2);
    conn_send_buf(c, buf, (size_t)hl + len + 2, 1);
    r->bytes_out += len;
    return c->state == C_CLOSING ? -1 : 0;
}

int http_stream_write_chunk(http_req *r, const char *chunk, size_t len, size_t payload)
{
    http_conn *c = r->conn;
    if (c->state == C_CLOSING || r->responded)
        return -1;
    if (conn_backlog(c) > c->srv->lim.max_conn_queue)
        return -1;
    conn_send(c, chunk, len);
    r->bytes_out += payload;
    return c->state == C_CLOSING ? -1 : 0;
}

/* ---- sealing records off the loop thread ------------------------------------------------------
 *
 * Encrypting an answer and writing it to its socket is most of the cost of a small request and
 * all of the cost of a watch event. Both are done for many connections at once:
 *  - the fan-out: one chunk to many watch streams;
 *  - the cork: answers given during one loop turn (a store batch answers up to hundreds of
 *    writers at once; a loop turn can read requests from as many connections) are held as
 *    plaintext and sealed together when the turn's I/O is done (uv_check).
 * Phase 1 (loop): checks. Phase 2 (pfor, any thread): per connection, SSL_write into a BIO of the
 * thread's own and send() straight to the socket when nothing is queued in libuv for it; what
 * the socket does not take goes into the connection's BIO. Only that connection's SSL and
 * descriptor are touched, and the loop thread is inside pfor_run, so no one else touches them.
 * Phase 3 (loop): what needs libuv (queued bytes, failures) is done the ordinary way.
 *
 * The thread's own BIO: a memory BIO keeps the largest buffer it ever held, and ten thousand
 * watch connections each growing theirs on the first event is tens of MB of fresh pages faulted
 * in during one fan-out. */

enum { SEAL_SENT = 0, SEAL_FLUSH = 1, SEAL_FAIL = 2, SEAL_SKIP = 3 };
/* Fewer items than SEAL_PARALLEL_MIN are done on the loop alone. Handing a few out cost more
 * than it saved: the helper's wakeup, its wait and the trees and buffers crossing cores, on a
 * CPU the clients need too. With 2 (as before) against 16, on the 2-CPU bench machine: creates at
 * 16 connections 13.7k/s against 15.7k/s, GET at 50 connections 48k/s against 59k/s; creates at
 * 64 connections (turns of 16 and more) the same. */
enum { SEAL_PARALLEL_MIN = 16, SEAL_SCRATCH = 64 * 1024 };

/* A thread's scratch buffer and BIO, released when the thread ends (pfor's helpers end with the
 * server). */
typedef struct sealtls {
    char scratch[SEAL_SCRATCH];
    BIO *bio;
} sealtls;

static pthread_key_t seal_key;
static pthread_once_t seal_once = PTHREAD_ONCE_INIT;

static void sealtls_free(void *p)
{
    sealtls *t = p;
    BIO_free(t->bio);
    free(t);
}

static void seal_key_init(void) { pthread_key_create(&seal_key, sealtls_free); }

static sealtls *seal_tls(void)
{
    static __thread sealtls *mine;
    if (mine)
        return mine;
    pthread_once(&seal_once, seal_key_init);
    sealtls *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    if (!(t->bio = BIO_new(BIO_s_mem()))) {
        free(t);
        return NULL;
    }
    pthread_setspecific(seal_key, t);
    return mine = t;
}

static int seal_send(http_conn *c, const char *data, size_t len)
{
    uv_os_fd_t fd;
    sealtls *t = NULL;
    if (c->queued || BIO_ctrl_pending(c->wbio) || len > SEAL_SCRATCH / 2 ||
        uv_fileno((uv_handle_t *)&c->tcp, &fd) < 0 || !(t = seal_tls())) {
        while (len > 0) { /* the ordinary way: into the connection's BIO, flushed on the loop */
            int n = SSL_write(c->ssl, data, len > (1u << 30) ? (1 << 30) : (int)len);
            if (n <= 0) {
                ERR_clear_error();
                return SEAL_FAIL;
            }
            data += n;
            len -= (size_t)n;
        }
        return SEAL_FLUSH;
    }
    char *scratch = t->scratch;
    BIO_up_ref(c->wbio); /* survives being swapped out; the SSL takes this reference back */
    BIO_up_ref(t->bio);  /* the SSL's while it is swapped in */
    SSL_set0_wbio(c->ssl, t->bio);
    int ok = SSL_write(c->ssl, data, (int)len) > 0;
    SSL_set0_wbio(c->ssl, c->wbio);
    int got = BIO_read(t->bio, scratch, SEAL_SCRATCH);
    (void)BIO_reset(t->bio);
    if (!ok || got <= 0) {
        ERR_clear_error();
        return SEAL_FAIL;
    }
    ssize_t w = send(fd, scratch, (size_t)got, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w == got)
        return SEAL_SENT;
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return SEAL_FAIL;
    if (w < 0)
        w = 0;
    BIO_write(c->wbio, scratch + w, got - (int)w); /* it was empty: the order is kept */
    return SEAL_FLUSH;
}

/* Phase 3 for one connection. Returns 0, or -1 when it is closed. */
static int seal_done(http_conn *c, int st)
{
    if (st == SEAL_FAIL) {
        conn_close(c);
        return -1;
    }
    if (st == SEAL_FLUSH)
        tls_flush(c);
    return c->state == C_CLOSING ? -1 : 0;
}

static void seal_run(http_server *srv, size_t n, pfor_fn fn, void *arg)
{
    if (n >= SEAL_PARALLEL_MIN && !srv->fan)
        srv->fan = pfor_new(-1);
    if (n >= SEAL_PARALLEL_MIN)
        pfor_run(srv->fan, n, fn, arg);
    else
        for (size_t i = 0; i < n; i++)
            fn(arg, i);
}

/* -- the cork -- */

static void on_cork_check(uv_check_t *h);
static void on_cork_idle(uv_idle_t *h);

static void out_hold(http_conn *c, const char *data, size_t len)
{
    http_server *srv = c->srv;
    if (sbuf_add(&c->held, data, len))
        abort(); /* out of memory: conn_send keeps it under HOLD_MAX */
    if (c->in_cork)
        return;
    conns_push(&srv->cork, &srv->ncork, &srv->cork_cap, c);
    c->in_cork = 1;
    turn_end_soon(srv);
}

/* The turn's end (uv_check, after its I/O) hands out the waiting requests, then seals the held
 * answers. The idle handle keeps the loop from blocking in poll first when the work came after
 * the check phase (a close callback, or the turn's end itself: a pipelined request). */
static void turn_end_soon(http_server *srv)
{
    if (uv_is_active((uv_handle_t *)srv->cork_check))
        return;
    uv_check_start(srv->cork_check, on_cork_check);
    uv_idle_start(srv->cork_idle, on_cork_idle);
}

/* The buffer is not kept: ten thousand idle watch streams would each keep one. */
static void held_release(http_conn *c) { sbuf_free(&c->held); }

/* Seal what c holds now, on the loop (before bytes that must follow it). */
static void out_release(http_conn *c)
{
    if (!sbuf_len(&c->held) || c->state == C_CLOSING)
        return;
    int st = seal_send(c, sbuf_str(&c->held), sbuf_len(&c->held));
    held_release(c);
    seal_done(c, st);
}

typedef struct corkjob {
    http_conn **conns;
    unsigned char *st;
} corkjob;

static void cork_one(void *arg, size_t i)
{
    corkjob *j = arg;
    http_conn *c = j->conns[i];
    j->st[i] = !c || c->state == C_CLOSING || !sbuf_len(&c->held)
                   ? SEAL_SKIP
                   : (unsigned char)seal_send(c, sbuf_str(&c->held), sbuf_len(&c->held));
}

typedef struct prepjob {
    http_server *srv;
    http_conn **conns;
} prepjob;

static void prep_one(void *arg, size_t i)
{
    prepjob *j = arg;
    if (j->conns[i])
        j->srv->prep_fn(j->srv->ctx, &j->conns[i]->req);
}

static void hand_out(http_server *srv)
{
    size_t n = srv->nready;
    if (!n)
        return;
    http_conn **conns = srv->ready; /* taken: a handler's answer can let a pipelined one in */
    srv->ready = NULL;
    srv->nready = srv->ready_cap = 0;
    prepjob j = {srv, conns};
    seal_run(srv, n, prep_one, &j);
    for (size_t i = 0; i < n; i++)
        if (conns[i])
            srv->fn(srv->ctx, &conns[i]->req);
    free(conns);
}

static void seal_held(http_server *srv);

static void turn_end(http_server *srv)
{
    uv_check_stop(srv->cork_check);
    uv_idle_stop(srv->cork_idle);
    hand_out(srv);
    if (srv->handled_fn)
        srv->handled_fn(srv->ctx);
    seal_held(srv);
}

static void on_cork_check(uv_check_t *h) { turn_end(h->data); }
static void on_cork_idle(uv_idle_t *h) { turn_end(h->data); }

/* Seal every held answer now, together. */
static void seal_held(http_server *srv)
{
    size_t n = srv->ncork;
    if (!n)
        return;
    /* take the list: phase 3 may answer again (a pipelined request), which starts a new one */
    http_conn **conns = srv->cork;
    srv->cork = NULL;
    srv->ncork = srv->cork_cap = 0;
    unsigned char stbuf[256], *st = n <= sizeof stbuf ? stbuf : malloc(n);
    if (!st)
        abort();
    for (size_t i = 0; i < n; i++)
        if (conns[i])
            conns[i]->in_cork = 0;
    corkjob j = {conns, st};
    seal_run(srv, n, cork_one, &j);
    for (size_t i = 0; i < n; i++) {
        http_conn *c = conns[i];
        if (!c || st[i] == SEAL_SKIP)
            continue;
        held_release(c);
        seal_done(c, st[i]);
    }
    if (st != stbuf)
        free(st);
    free(conns);
}

/* -- the fan-out -- */

typedef struct fanjob {
    http_req *const *reqs;
    const char *chunk;
    size_t len;
    unsigned char *st;
} fanjob;

static void fan_one(void *arg, size_t i)
{
    fanjob *f = arg;
    if (f->st[i] == SEAL_SENT)
        f->st[i] = (unsigned char)seal_send(f->reqs[i]->conn, f->chunk, f->len);
}

void http_stream_fanout(http_req *const *reqs, size_t n, const char *chunk, size_t len,
                        size_t payload, int *res)
{
    if (n == 0)
        return;
    /* Answers given before this event go out first: the writer's acknowledgement must not wait
     * for ten thousand watchers (and a stream's own held head or bookmark precedes the event). */
    seal_held(reqs[0]->conn->srv);
    unsigned char *st = malloc(n);
    if (!st)
        abort();
    for (size_t i = 0; i < n; i++) {
        http_conn *c = reqs[i]->conn;
        st[i] = c->state == C_CLOSING || reqs[i]->responded ||
                conn_backlog(c) > c->srv->lim.max_conn_queue ? SEAL_SKIP : SEAL_SENT;
        if (st[i] == SEAL_SENT && (!c->ssl || c->tail)) { /* in order after a tail */
            conn_send(c, chunk, len);
            st[i] = SEAL_SKIP;
            reqs[i]->bytes_out += payload;
            res[i] = c->state == C_CLOSING ? -1 : 0;
        } else if (st[i] == SEAL_SKIP) {
            res[i] = -1;
        }
    }
    fanjob f = {reqs, chunk, len, st};
    seal_run(reqs[0]->conn->srv, n, fan_one, &f);
    for (size_t i = 0; i < n; i++) {
        if (st[i] == SEAL_SKIP)
            continue;
        res[i] = seal_done(reqs[i]->conn, st[i]);
        if (res[i] == 0)
            reqs[i]->bytes_out += payload;
    }
    free(st);
}

void http_stream_end(http_req *r)
{
    if (r->responded)
        return;
    r->responded = 1;
    conn_send(r->conn, "0\r\n\r\n", 5);
    finish_req(r);
}

void http_upgrade(http_req *r, const char *head, size_t len, http_upgrade_fn fn, void *arg)
{
    http_conn *c = r->conn;
    r->streaming = 1;
    r->status = 101;
    r->bytes_out += len;
    conn_send(c, head, len);
    c->up_fn = fn;
    c->up_arg = arg;
    /* what the client sent after the request (its first frames) waits in pending */
    conn_drain(c);
}

int http_upgrade_write(http_req *r, const char *data, size_t len)
{
    http_conn *c = r->conn;
    if (c->state == C_CLOSING || r->responded)
        return -1;
    conn_send(c, data, len);
    r->bytes_out += len;
    return c->state == C_CLOSING ? -1 : 0;
}

void http_upgrade_pause(http_req *r, int paused)
{
    http_conn *c = r->conn;
    if (c->state == C_CLOSING || r->responded || c->up_paused == paused)
        return;
    c->up_paused = paused;
    if (paused && !c->reading_stopped) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading_stopped = 1;
    } else if (!paused) {
        conn_drain(c);
    }
}

void http_upgrade_end(http_req *r)
{
    if (r->responded)
        return;
    r->responded = 1;
    http_conn *c = r->conn;
    c->up_fn = NULL;
    c->keep_alive = 0; /* nothing of HTTP follows another protocol */
    finish_req(r);
}

void http_abort(http_req *r)
{
    if (r->responded)
        return;
    r->responded = 1;
    http_conn *c = r->conn;
    c->gone_fn = NULL;
    conn_close(c); /* hard: a client that stopped reading would never drain a graceful close */
    finish_req(r);
}

void http_req_on_gone(http_req *r, http_gone_fn fn, void *arg)
{
    r->conn->gone_fn = fn;
    r->conn->gone_arg = arg;
}

int http_req_gone(const http_req *r) { return r->conn->state == C_CLOSING; }
size_t http_req_queued(const http_req *r) { return conn_backlog(r->conn); }
