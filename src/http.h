/* http — HTTP/1.1 over TLS on libuv: connections, request parsing (http-parser), limits,
 * fixed and chunked responses. Knows nothing about Kubernetes.
 *
 * A connection serves one request at a time (parsing pauses while a request is being
 * answered; pipelined bytes wait in the connection's input buffer). A request is answered
 * exactly once: http_respond(), or http_stream_begin() … http_stream_end(). The answer may
 * come later, from another callback; if the client leaves first, the request is marked gone
 * (http_req_gone) and the late answer is dropped. */
#ifndef TJ_HTTP_H
#define TJ_HTTP_H
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <openssl/ssl.h>

typedef struct http_conn http_conn;
typedef struct http_server http_server;

typedef struct http_header { char *name; char *value; } http_header; /* name lower-cased */

typedef struct http_req {
    http_conn *conn;
    uint64_t id;
    int method;               /* http_parser's enum http_method (HTTP_GET, ...) */
    const char *method_name;  /* "GET" */
    char *path;               /* percent-decoded path, without the query */
    char *query;              /* raw query string (after '?'), or NULL */
    http_header *headers;
    size_t nheaders;
    char *body;               /* NUL-terminated */
    size_t body_len;
    uint64_t start_ns;        /* uv_hrtime at dispatch */
    int responded;
    int streaming;
    int status;               /* status sent */
    size_t bytes_out;
    /* What the server's prepare hook made of the request off the loop (http_server_on_prepare),
     * freed with the request by prep_free unless the handler took it (set prep to NULL). */
    void *prep;
    void (*prep_free)(void *);
    /* Labels for the request's metrics, set by the handler: static strings. */
    const char *m_verb, *m_group, *m_version, *m_resource, *m_sub, *m_scope;
} http_req;

typedef struct http_limits {
    size_t max_header_bytes;  /* request line + headers; over → 431 */
    size_t max_body_bytes;    /* over → 413 */
    unsigned request_timeout_ms; /* a request must arrive whole within this, idle keep-alive too */
    size_t max_conn_queue;    /* bytes queued to a client before a stream write fails */
} http_limits;

typedef void (*http_handler_fn)(void *ctx, http_req *req);
/* Called once when a request's client goes away before the request was answered. */
typedef void (*http_gone_fn)(void *arg, http_req *req);

/* Listen on addr:port (IPv4 or IPv6 literal). ssl_ctx may be NULL for plain HTTP. */
int http_server_start(uv_loop_t *loop, const char *addr, int port, SSL_CTX *ssl_ctx,
                      const http_limits *lim, http_handler_fn fn, void *ctx, http_server **out,
                      char **err);
/* Called once per answered request (after its last byte was queued, or when it was dropped). */
void http_server_on_done(http_server *srv, http_handler_fn fn);
/* With a prepare hook, requests that arrive during one loop turn are handed to the handler
 * together after the turn's I/O, and fn runs first for each of them, on any thread and in
 * parallel: it may read the request and set req->prep, and must touch nothing else (decoding a
 * body, say). */
void http_server_on_prepare(http_server *srv, http_handler_fn fn);
/* Called on the loop after the handlers of a turn's requests ran and before their answers are
 * encrypted and sent (with the server's ctx): the moment to start what they queued. */
void http_server_on_handled(http_server *srv, void (*fn)(void *ctx));
/* Stop accepting and close every connection. */
void http_server_stop(http_server *srv);
size_t http_server_conns(const http_server *srv);

const char *http_header_get(const http_req *req, const char *lower_name);
/* Every value of a repeated header, in order, at most max: their count. */
size_t http_header_all(const http_req *req, const char *lower_name, const char **vals, size_t max);
/* Query parameter lookup on the raw query: returns the first value (decoded, malloc'ed; "" for
 * `?k` or `?k=`), or NULL when absent. */
char *http_query_get(const http_req *req, const char *name);
/* Every value of a repeated parameter; returns count, *vals malloc'ed array of malloc'ed strings. */
size_t http_query_all(const http_req *req, const char *name, char ***vals);
void http_strv_free(char **v, size_t n);

/* A complete answer. extra_headers: "Name: value\r\n..." or NULL. Copies body. */
void http_respond(http_req *req, int status, const char *ctype, const char *body, size_t len,
                  const char *extra_headers);
/* The same, taking body (malloc'd): a big one is sealed from it as the socket drains, not copied
 * into queued ciphertext at once. */
void http_respond_owned(http_req *req, int status, const char *ctype, char *body, size_t len,
                        const char *extra_headers);
/* A piece of a big answer, filled by the caller: data[0..len) of cap. */
typedef struct http_seg {
    struct http_seg *next;
    char *data;
    size_t len, cap;
    int ext; /* data is a buffer of its own */
    char inl[];
} http_seg;
http_seg *http_seg_new(size_t cap); /* aborts when out of memory */
void http_segs_free(http_seg *first);
/* An answer made of pieces (a LIST), which it takes: a big one is sealed from them as the socket
 * drains, never whole in memory twice, and never copied into one buffer. */
void http_respond_segs(http_req *req, int status, const char *ctype, http_seg *body,
                       const char *extra_headers);
/* Chunked streaming answer (watch, logs -f). */
void http_stream_begin(http_req *req, int status, const char *ctype);
/* Returns 0, or -1 when the client is gone or its queue passed max_conn_queue (caller should end
 * the stream). */
int http_stream_write(http_req *req, const char *data, size_t len);
/* Write an already framed chunk ("<hex len>\r\n<payload>\r\n"): the same bytes can go to many
 * streams (watch fan-out). payload = the payload's length. Same result as http_stream_write. */
int http_stream_write_chunk(http_req *req, const char *chunk, size_t len, size_t payload);
/* http_stream_write_chunk of the same chunk to n streams, the work shared with helper threads
 * when n is large; res[i] = its result for reqs[i]. No two reqs may share a connection. */
void http_stream_fanout(http_req *const *reqs, size_t n, const char *chunk, size_t len,
                        size_t payload, int *res);
void http_stream_end(http_req *req);
/* Switch the request's connection to another protocol (a WebSocket): head is the whole 101
 * answer. From then on every byte the client sends goes to fn (writable, for unmasking in place),
 * the bytes it sent after the request first; the client leaving is the request's gone callback.
 * The request stays open until http_upgrade_end. */
typedef void (*http_upgrade_fn)(void *arg, char *data, size_t len);
void http_upgrade(http_req *req, const char *head, size_t len, http_upgrade_fn fn, void *arg);
/* Bytes of the new protocol to the client: 0, or -1 when the client is gone. */
int http_upgrade_write(http_req *req, const char *data, size_t len);
/* Stop (1) or resume (0) reading the client: backpressure for what fn feeds. */
void http_upgrade_pause(http_req *req, int paused);
/* The end: what was written is sent, then the connection closes (TLS close_notify first). */
void http_upgrade_end(http_req *req);
/* End the request by closing its connection at once (a stream whose client stopped reading). */
void http_abort(http_req *req);
void http_req_on_gone(http_req *req, http_gone_fn fn, void *arg);
int http_req_gone(const http_req *req);
size_t http_req_queued(const http_req *req);
const char *http_status_text(int status);
#endif
