/* podexec — see podexec.h. What a cluster splits between kube-apiserver (the pod and container
 * checks, and for v5 its stream translator) and the kubelet with its container runtime (the
 * stream options, the running container, the exec itself) is done here in one place, with each
 * side's answers:
 *
 *   pod missing: 404 Status; container not in the pod, or several and none named: 400 Status;
 *   not an upgrade: 400 Status "Upgrade request required";
 *   v5 (kubectl): the WebSocket is accepted first, as the translator accepts it, so what the
 *     kubelet refuses (no stream asked for, container not running) comes back on the error
 *     channel: "Internal error occurred: unable to upgrade connection: container not found …";
 *   v4 and older (proxied to the kubelet on a cluster): the kubelet's refusal is the HTTP answer
 *     (400 or 500, plain text), then the handshake (403 for a protocol it does not speak).
 *
 * A session:
 *
 *   spawned ──101, empty message on the first output channel──► RUNNING
 *   RUNNING: client frames → stdin (channel 0; v5's [255, 0] closes it), resize (channel 4);
 *            stdout/stderr (or the terminal) → frames on channels 1/2
 *   process reaped (SIGCHLD) and its output at EOF ──► status on channel 3, close 1000 ──► DONE
 *   client gone or closing ──► the process group is killed; DONE once it is reaped
 *   the container's process ends ──► the process group is killed (exit 137 in the status)
 *
 * Invariants:
 *  1. A process group is signalled only while its leader is not reaped, and once more (SIGKILL)
 *     right after reaping, sweeping what it left behind, as runtime_local does for pods.
 *  2. The daemon holds at most OUT_CAP of a session's output unsent: past it the pipes are not
 *     read until the client catches up; stdin past IN_CAP pauses reading the client.
 *  3. A session is freed from the last close callback of its handles, once DONE.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <http_parser.h>
#include <jansson.h>
#include "jsonio.h"
#include "kubelet.h"
#include "podexec.h"
#include "runtime.h"
#include "base64.h"
#include "websocket.h"

#define OUT_CAP (1u << 20)
#define IN_CAP (1u << 20)
#define MAX_FRAME (16u << 20)
#define MAX_B64_MESSAGE (4u << 20) /* a base64 message is decoded whole */
#define STREAM_CLOSE 255 /* v5: [255, channel] closes a channel */

enum { P_V1, P_V4, P_V5 };
enum { CH_STDIN, CH_STDOUT, CH_STDERR, CH_ERROR, CH_RESIZE };

/* The base64 ones (browsers' clients) carry each message as text: the channel as an ASCII digit,
 * then the data in base64. */
static const struct { const char *name; int proto, b64; } protocols[] = {
    {"v5.channel.k8s.io", P_V5, 0}, {"v4.channel.k8s.io", P_V4, 0}, {"channel.k8s.io", P_V1, 0},
    {"v4.base64.channel.k8s.io", P_V4, 1}, {"base64.channel.k8s.io", P_V1, 1},
};

typedef struct session session;

struct podexec {
    api_t *api;
    uv_signal_t sigchld;
    session *sessions;
    int closing;           /* podexec_free was called: freed once the signal handle and every
                            * session are closed */
    int sig_closed;
};

struct session {
    session *next;
    podexec_t *px;
    http_req *http;        /* NULL once the client is gone or the session ended */
    int proto, tty, b64;
    /* attach: no command; the container's output from its log, from now until it ends */
    int attach, want_out, want_err;
    int tail_fd;
    off_t tail_off;
    char *carry;           /* an incomplete last line */
    size_t carry_len;
    int run_over;
    char *b64msg;          /* a base64 message being received */
    size_t b64len;
    char run_id[96];
    char cmd[1024];        /* the command as Go's %v prints a []string, for the status */
    pid_t pid;
    int reaped, wstatus;
    uv_pipe_t in, out, err; /* with a terminal, out is its master, read and written */
    int in_open, out_open, err_open;
    int in_closing;
    size_t in_queued;
    int paused;
    uv_timer_t poll;       /* output backpressure: waits for the client to drain */
    int handles;
    int done;
    ws_parser wp;
    int chan;              /* channel of the message being received; -1 before its first byte */
    int close_sig;         /* in a v5 close message: its channel byte is next */
    char rsz[256];         /* a resize message being received */
    size_t rsz_len;
};

/* ---- statuses ----------------------------------------------------------------------------- */

/* metav1.Status as the kubelet's json.Marshal writes it (no kind or apiVersion). */
static char *status_internal(const char *inner)
{
    json_t *o = json_pack("{s:{},s:s,s:s+,s:s,s:{s:[{s:s}]},s:i}", "metadata", "status", "Failure", "message",
                          "Internal error occurred: ", inner, "reason", "InternalError", "details", "causes",
                          "message", inner, "code", 500);
    char *t = jsonio_dump(o, JSON_COMPACT, NULL);
    json_decref(o);
    return t;
}

/* The error channel's message for how the process ended; NULL for nothing to send. */
static char *status_text(const session *s, int code, const char *spawn_err)
{
    char msg[1400], inner[1200];
    if (spawn_err) {
        snprintf(inner, sizeof inner, "error executing command in container: failed to exec in container: %s", spawn_err);
        if (s->proto == P_V1) {
            snprintf(msg, sizeof msg, "Internal error occurred: %s", inner);
            return strdup(msg);
        }
        if (s->proto == P_V4)
            return status_internal(inner);
        /* v5: the translator wraps the kubelet's Status message once more */
        snprintf(msg, sizeof msg, "Internal error occurred: %s", inner);
        return status_internal(msg);
    }
    if (code == 0)
        return s->proto == P_V1 ? NULL : strdup("{\"metadata\":{},\"status\":\"Success\"}");
    if (s->proto == P_V5) /* the translator's message, from client-go's decoding of the kubelet's */
        snprintf(msg, sizeof msg, "command terminated with non-zero exit code: command terminated with exit code %d", code);
    else /* the container runtime's CodeExitError */
        snprintf(msg, sizeof msg, "command terminated with non-zero exit code: error executing command %s, exit code %d",
                 s->cmd, code);
    if (s->proto == P_V1)
        return strdup(msg);
    char num[16];
    snprintf(num, sizeof num, "%d", code);
    json_t *o = json_pack("{s:{},s:s,s:s,s:s,s:{s:[{s:s,s:s}]}}", "metadata", "status", "Failure", "message", msg,
                          "reason", "NonZeroExitCode", "details", "causes", "reason", "ExitCode", "message", num);
    char *t = jsonio_dump(o, JSON_COMPACT, NULL);
    json_decref(o);
    return t;
}

/* ---- frames to the client ------------------------------------------------------------------- */

static void send_raw_frame(session *s, int op, const char *pre, size_t pn, const char *data, size_t n)
{
    if (!s->http)
        return;
    unsigned char h[10];
    size_t hl = ws_frame_header(h, op, pn + n);
    char *buf = malloc(hl + pn + n);
    if (!buf)
        abort();
    memcpy(buf, h, hl);
    memcpy(buf + hl, pre, pn);
    if (n)
        memcpy(buf + hl + pn, data, n);
    http_upgrade_write(s->http, buf, hl + pn + n);
    free(buf);
}

static void send_chan(session *s, int chan, const char *data, size_t n)
{
    if (s->b64) {
        char c = (char)('0' + chan);
        char *enc = base64_encode(data ? data : "", n);
        if (!enc)
            abort();
        send_raw_frame(s, WS_TEXT, &c, 1, enc, strlen(enc));
        free(enc);
        return;
    }
    char c = (char)chan;
    send_raw_frame(s, WS_BINARY, &c, 1, data, n);
}

/* A close frame with code, then the end of the connection once it is sent. */
static void send_close(session *s, int code)
{
    if (!s->http)
        return;
    char p[2] = {(char)(code >> 8), (char)code};
    send_raw_frame(s, WS_CLOSE, p, 2, NULL, 0);
    http_upgrade_end(s->http);
    s->http = NULL;
}

/* ---- the session's life ------------------------------------------------------------------------ */

static void on_handle_closed(uv_handle_t *h)
{
    session *s = h->data;
    if (--s->handles > 0)
        return;
    podexec_t *px = s->px;
    for (session **pp = &px->sessions; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    free(s->b64msg);
    free(s->carry);
    free(s);
    if (px->closing && px->sig_closed && !px->sessions)
        free(px);
}

static void close_pipe(session *s, uv_pipe_t *p, int *open)
{
    if (!*open)
        return;
    *open = 0;
    uv_close((uv_handle_t *)p, on_handle_closed);
}

static void kill_group(session *s)
{
    if (s->pid > 0 && !s->reaped)
        kill(-s->pid, SIGKILL);
}

static void tail_read(session *s);

/* An attach is over (its container ended, or the client left): Success, as the kubelet writes. */
static void attach_finish(session *s)
{
    if (s->done)
        return;
    s->done = 1;
    if (s->http)
        tail_read(s);
    if (s->proto != P_V1)
        send_chan(s, CH_ERROR, "{\"metadata\":{},\"status\":\"Success\"}", 34);
    send_close(s, WS_NORMAL);
    if (s->tail_fd >= 0)
        close(s->tail_fd);
    s->tail_fd = -1;
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
}

/* Both the process and its output are over: the status, the close, and the handles. */
static void maybe_finish(session *s)
{
    if (s->attach) {
        if (!s->http || s->run_over)
            attach_finish(s);
        return;
    }
    if (s->done || !s->reaped || s->out_open || s->err_open)
        return;
    s->done = 1;
    int code = WIFEXITED(s->wstatus) ? WEXITSTATUS(s->wstatus) : 128 + WTERMSIG(s->wstatus);
    char *st = status_text(s, code, NULL);
    if (st) {
        send_chan(s, CH_ERROR, st, strlen(st));
        free(st);
    }
    send_close(s, WS_NORMAL);
    if (s->in_open && !s->in_closing)
        close_pipe(s, &s->in, &s->in_open);
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
}

/* The client is gone (or closed): nothing more is sent; the process is killed. */
static void abandon(session *s)
{
    s->http = NULL;
    kill_group(s);
    close_pipe(s, &s->out, &s->out_open);
    close_pipe(s, &s->err, &s->err_open);
    maybe_finish(s);
}

static void on_gone(void *arg, http_req *req)
{
    session *s = arg;
    s->http = NULL;
    http_upgrade_end(req); /* the request's hold on its closing connection goes */
    abandon(s);
}

/* ---- output ----------------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char slab[65536]; /* one loop thread: one read at a time */
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(slab, sizeof slab);
}

static void on_output(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);

static void reading(session *s, int on)
{
    uv_pipe_t *p[2] = {&s->out, &s->err};
    int open[2] = {s->out_open, s->err_open};
    for (int i = 0; i < 2; i++)
        if (open[i]) {
            if (on)
                uv_read_start((uv_stream_t *)p[i], on_alloc, on_output);
            else
                uv_read_stop((uv_stream_t *)p[i]);
        }
}

static void on_poll(uv_timer_t *t)
{
    session *s = t->data;
    if (s->http && http_req_queued(s->http) > OUT_CAP / 4)
        return;
    uv_timer_stop(t);
    reading(s, 1);
}

static void on_output(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    session *s = st->data;
    int is_err = st == (uv_stream_t *)&s->err;
    if (n < 0) { /* EOF; a terminal's master reads EIO once no one holds the other side */
        close_pipe(s, is_err ? &s->err : &s->out, is_err ? &s->err_open : &s->out_open);
        maybe_finish(s);
        return;
    }
    if (n == 0)
        return;
    send_chan(s, is_err ? CH_STDERR : CH_STDOUT, buf->base, (size_t)n);
    if (s->http && http_req_queued(s->http) > OUT_CAP) {
        reading(s, 0);
        uv_timer_start(&s->poll, on_poll, 10, 10);
    }
}

/* ---- attach: the container's log as it grows ------------------------------------------------------ */

#define CARRY_MAX 65536

/* One log line: a CRI record "<time> <stdout|stderr> <F|P> <text>" (the shim's), or any other
 * line as stdout (no shim). */
static void tail_line(session *s, const char *l, size_t n)
{
    int chan = CH_STDOUT, full = 1;
    const char *sp1 = memchr(l, ' ', n), *sp2 = sp1 ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l)) : NULL;
    if (sp2 && (size_t)(sp2 - l) + 2 < n && sp2[2] == ' ' && (sp2[1] == 'F' || sp2[1] == 'P')) {
        size_t sl = (size_t)(sp2 - sp1 - 1);
        if (sl == 6 && !memcmp(sp1 + 1, "stderr", 6))
            chan = CH_STDERR;
        else if (!(sl == 6 && !memcmp(sp1 + 1, "stdout", 6)))
            goto raw;
        full = sp2[1] == 'F';
        const char *text = sp2 + 3;
        n -= (size_t)(text - l);
        l = text;
    }
raw:
    if (s->tty || chan == CH_STDOUT ? !s->want_out : !s->want_err)
        return;
    char *buf = malloc(n + 1);
    if (!buf)
        abort();
    memcpy(buf, l, n);
    if (full)
        buf[n++] = '\n';
    send_chan(s, s->tty ? CH_STDOUT : chan, buf, n);
    free(buf);
}

static void tail_read(session *s)
{
    if (s->tail_fd < 0 || !s->http)
        return;
    struct stat st;
    if (fstat(s->tail_fd, &st) == 0 && st.st_size < s->tail_off) { /* rotated (copytruncate) */
        s->tail_off = 0;
        s->carry_len = 0;
    }
    char buf[65536];
    for (;;) {
        ssize_t n = pread(s->tail_fd, buf, sizeof buf, s->tail_off);
        if (n <= 0)
            break;
        s->tail_off += n;
        char *c = realloc(s->carry, s->carry_len + (size_t)n);
        if (!c)
            abort();
        s->carry = c;
        memcpy(s->carry + s->carry_len, buf, (size_t)n);
        s->carry_len += (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < s->carry_len; i++)
            if (s->carry[i] == '\n') {
                tail_line(s, s->carry + start, i - start);
                start = i + 1;
            }
        if (s->carry_len - start > CARRY_MAX) { /* a line without end: pass it on as it is */
            tail_line(s, s->carry + start, s->carry_len - start);
            start = s->carry_len;
        }
        memmove(s->carry, s->carry + start, s->carry_len - start);
        s->carry_len -= start;
        if (http_req_queued(s->http) > OUT_CAP)
            break; /* the next tick goes on */
    }
}

static void on_tail(uv_timer_t *t)
{
    session *s = t->data;
    if (s->done || !s->http || http_req_queued(s->http) > OUT_CAP)
        return;
    tail_read(s);
}

/* ---- input -------------------------------------------------------------------------------------- */

typedef struct inw { uv_write_t w; session *s; size_t n; char data[]; } inw;

static void on_in_written(uv_write_t *w, int status)
{
    inw *r = (inw *)w;
    session *s = r->s;
    s->in_queued -= r->n;
    free(r);
    if (status < 0 && s->in_open && !s->in_closing && !s->tty) /* the process closed its stdin */
        close_pipe(s, &s->in, &s->in_open);
    if (s->paused && s->in_queued < IN_CAP / 4 && s->http) {
        s->paused = 0;
        http_upgrade_pause(s->http, 0);
    }
}

static void write_stdin(session *s, const char *p, size_t n)
{
    uv_pipe_t *dst = s->tty ? &s->out : &s->in;
    int open = s->tty ? s->out_open : s->in_open && !s->in_closing;
    if (!open || n == 0)
        return;
    inw *r = malloc(sizeof *r + n);
    if (!r)
        abort();
    r->s = s;
    r->n = n;
    memcpy(r->data, p, n);
    uv_buf_t b = uv_buf_init(r->data, (unsigned)n);
    s->in_queued += n;
    if (uv_write(&r->w, (uv_stream_t *)dst, &b, 1, on_in_written) < 0) {
        s->in_queued -= n;
        free(r);
        return;
    }
    if (s->in_queued > IN_CAP && !s->paused && s->http) {
        s->paused = 1;
        http_upgrade_pause(s->http, 1);
    }
}

static void on_in_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    session *s = req->data;
    free(req);
    s->in_closing = 0;
    close_pipe(s, &s->in, &s->in_open);
}

/* v5's CLOSE signal for stdin: what was written goes first, then the process reads EOF. */
static void close_stdin(session *s)
{
    if (s->tty || !s->in_open || s->in_closing)
        return;
    uv_shutdown_t *req = malloc(sizeof *req);
    if (!req)
        abort();
    req->data = s;
    s->in_closing = 1;
    /* a pipe has no half-close: the shutdown fails once the writes are done, and the
     * callback closes the handle then */
    if (uv_shutdown(req, (uv_stream_t *)&s->in, on_in_shutdown) < 0) {
        free(req);
        s->in_closing = 0;
        close_pipe(s, &s->in, &s->in_open);
    }
}

static void apply_resize(session *s)
{
    json_t *o = json_loadb(s->rsz, s->rsz_len, 0, NULL);
    json_int_t w = json_integer_value(json_object_get(o, "Width"));
    json_int_t h = json_integer_value(json_object_get(o, "Height"));
    json_decref(o);
    if (!s->tty || !s->out_open || w <= 0 || h <= 0 || w > 65535 || h > 65535)
        return;
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&s->out, &fd) == 0) {
        struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
        ioctl(fd, TIOCSWINSZ, &ws);
    }
}

/* A piece of a message whose first byte is its channel (see on_ws_data). */
static void channel_piece(session *s, int first, int fin, const char *p, size_t n)
{
    if (first) {
        s->chan = -1;
        s->close_sig = 0;
        s->rsz_len = 0;
    }
    if (s->chan < 0 && n > 0) {
        s->chan = (unsigned char)*p++;
        n--;
    }
    if (s->chan == STREAM_CLOSE && s->proto == P_V5) {
        if (n > 0 && !s->close_sig) {
            s->close_sig = 1;
            if (*p == CH_STDIN)
                close_stdin(s);
        }
        return;
    }
    if (s->chan == CH_STDIN) {
        write_stdin(s, p, n);
    } else if (s->chan == CH_RESIZE) {
        if (s->rsz_len + n <= sizeof s->rsz) {
            memcpy(s->rsz + s->rsz_len, p, n);
            s->rsz_len += n;
        }
        if (fin)
            apply_resize(s);
    }
}

static void on_ws_data(void *arg, int op, int first, int fin, const char *p, size_t n)
{
    session *s = arg;
    (void)op;
    if (!s->b64) {
        channel_piece(s, first, fin, p, n);
        return;
    }
    /* base64: the whole message, then its channel digit and the decoded data */
    if (first)
        s->b64len = 0;
    if (s->b64len + n > MAX_B64_MESSAGE) {
        send_close(s, WS_TOO_BIG);
        abandon(s);
        return;
    }
    char *nb = realloc(s->b64msg, s->b64len + n + 1);
    if (!nb)
        abort();
    s->b64msg = nb;
    memcpy(s->b64msg + s->b64len, p, n);
    s->b64len += n;
    if (!fin || s->b64len == 0)
        return;
    size_t len = 0, bad = 0;
    unsigned char *d = base64_decode(s->b64msg + 1, s->b64len - 1, &len, &bad);
    if (!d) /* the kubelet logs it and drops the message */
        return;
    char *msg = malloc(len + 1);
    if (!msg)
        abort();
    msg[0] = (char)(s->b64msg[0] - '0');
    memcpy(msg + 1, d, len);
    channel_piece(s, 1, 1, msg, len + 1);
    free(msg);
    free(d);
}

static void on_ws_control(void *arg, int op, const char *p, size_t n)
{
    session *s = arg;
    if (op == WS_PING) {
        send_raw_frame(s, WS_PONG, p, n, NULL, 0);
    } else if (op == WS_CLOSE) {
        /* the client leaves: answer its close as RFC 6455 asks, and stop what runs for it */
        int code = n >= 2 ? ((unsigned char)p[0] << 8 | (unsigned char)p[1]) : WS_NORMAL;
        send_close(s, code == 1005 || code < 1000 ? WS_NORMAL : code);
        abandon(s);
    }
}

static const ws_events ws_ev = {on_ws_data, on_ws_control};

static void on_client_bytes(void *arg, char *data, size_t len)
{
    session *s = arg;
    if (!s->http)
        return;
    int code = ws_parse(&s->wp, data, len, MAX_FRAME, &ws_ev, s);
    if (code && s->http) {
        send_close(s, code);
        abandon(s);
    }
}

/* ---- process ------------------------------------------------------------------------------------ */

static void on_sigchld(uv_signal_t *h, int sig)
{
    (void)sig;
    podexec_t *px = h->data;
    for (session *s = px->sessions; s; s = s->next) {
        if (s->pid <= 0 || s->reaped)
            continue;
        int st;
        pid_t r;
        while ((r = waitpid(s->pid, &st, WNOHANG)) < 0 && errno == EINTR)
            ;
        if (r != s->pid)
            continue;
        s->reaped = 1;
        s->wstatus = st;
        kill(-s->pid, SIGKILL); /* what it left in its group (invariant 1) */
        maybe_finish(s);
    }
}

static const char *err_text(int e)
{
    switch (e) {
    case ENOENT: return "no such file or directory";
    case EACCES: return "permission denied";
    case ENOMEM: return "cannot allocate memory";
    default: return strerror(e);
    }
}

static int open_pipe(session *s, uv_pipe_t *p, int fd, int *open)
{
    uv_pipe_init(s->px->api->loop, p, 0);
    p->data = s;
    s->handles++;
    *open = 1;
    if (uv_pipe_open(p, fd) < 0) {
        close(fd);
        return -1;
    }
    return 0;
}

/* Start argv in the container's environment: 0, or -1 with the runtime's error in err. */
static int spawn(session *s, char **argv, char *const *env, const char *workdir, int want_in, int want_out,
                 int want_err, char *err, size_t cap)
{
    char *file = NULL;
    int rc = runtime_resolve_cmd(argv[0], env, workdir, &file);
    if (rc < 0) {
        if (rc == -ENOENT && !strchr(argv[0], '/'))
            snprintf(err, cap, "exec: \"%s\": executable file not found in $PATH", argv[0]);
        else
            snprintf(err, cap, "exec: \"%s\": %s", argv[0], err_text(-rc));
        return -1;
    }
    /* the environment: the container's, with TERM for a terminal as the runtime gives it */
    size_t ne = 0;
    while (env[ne])
        ne++;
    char **envp = calloc(ne + 2, sizeof *envp);
    int has_term = 0;
    for (size_t i = 0; i < ne; i++) {
        envp[i] = env[i];
        has_term |= !strncmp(env[i], "TERM=", 5);
    }
    if (s->tty && !has_term)
        envp[ne] = "TERM=xterm";
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    int fds[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    int master = -1;
    char slave[128] = "";
    int ok = 1;
    if (s->tty) {
        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        ok = master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0 &&
             ptsname_r(master, slave, sizeof slave) == 0;
        /* opened after setsid, without O_NOCTTY: it becomes the session's controlling terminal */
        if (ok) {
            posix_spawn_file_actions_addopen(&fa, 0, slave, O_RDWR, 0);
            posix_spawn_file_actions_adddup2(&fa, 0, 1);
            posix_spawn_file_actions_adddup2(&fa, 0, 2);
        }
    } else {
        int want[3] = {want_in, want_out, want_err};
        for (int i = 0; i < 3 && ok; i++) {
            if (!want[i]) {
                posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i ? O_WRONLY : O_RDONLY, 0);
                continue;
            }
            ok = pipe2(fds[i], O_CLOEXEC) == 0;
            if (ok)
                posix_spawn_file_actions_adddup2(&fa, fds[i][i ? 1 : 0], i);
        }
    }
    runtime_spawn_setup(&fa, &at, workdir);
    pid_t pid = -1;
    if (ok) {
        argv[0] = file;
        rc = posix_spawn(&pid, file, &fa, &at, argv, envp);
        argv[0] = NULL;
        if (rc) {
            snprintf(err, cap, "exec: \"%s\": %s", file, err_text(rc));
            ok = 0;
        }
    } else {
        snprintf(err, cap, "cannot set up the command's streams: %s", strerror(errno));
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    free(envp);
    free(file);
    for (int i = 0; i < 3; i++) { /* the child's ends, and on failure ours */
        if (fds[i][i ? 1 : 0] >= 0)
            close(fds[i][i ? 1 : 0]);
        if (!ok && fds[i][i ? 0 : 1] >= 0)
            close(fds[i][i ? 0 : 1]);
    }
    if (!ok) {
        if (master >= 0)
            close(master);
        return -1;
    }
    s->pid = pid;
    if (s->tty) {
        open_pipe(s, &s->out, master, &s->out_open);
    } else {
        if (fds[0][1] >= 0)
            open_pipe(s, &s->in, fds[0][1], &s->in_open);
        if (fds[1][0] >= 0)
            open_pipe(s, &s->out, fds[1][0], &s->out_open);
        if (fds[2][0] >= 0)
            open_pipe(s, &s->err, fds[2][0], &s->err_open);
    }
    return 0;
}

/* ---- the request -------------------------------------------------------------------------------- */

static void bad_request(apireq *r, const char *msg)
{
    apierr e = {0};
    apierr_set(&e, ST_BAD_REQUEST, "%s", msg);
    api_send_error(r, &e);
}

/* The header's comma-separated tokens contain tok (case-insensitive). */
static int header_has(const http_req *h, const char *name, const char *tok)
{
    const char *vals[8];
    size_t n = http_header_all(h, name, vals, 8), tl = strlen(tok);
    for (size_t i = 0; i < n; i++)
        for (const char *p = vals[i]; *p;) {
            while (*p == ' ' || *p == '\t' || *p == ',')
                p++;
            const char *e = p;
            while (*e && *e != ',')
                e++;
            const char *t = e;
            while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
                t--;
            if ((size_t)(t - p) == tl && !strncasecmp(p, tok, tl))
                return 1;
            p = e;
        }
    return 0;
}

/* The first of the client's subprotocols that is served: its index in protocols[], -2 when the
 * client offered none (the kubelet's "" is v1), -1 when it offered only others. */
static int negotiate(const http_req *h)
{
    const char *vals[8];
    size_t n = http_header_all(h, "sec-websocket-protocol", vals, 8);
    if (n == 0)
        return -2;
    for (size_t i = 0; i < n; i++)
        for (const char *p = vals[i]; *p;) {
            while (*p == ' ' || *p == '\t' || *p == ',')
                p++;
            const char *e = p;
            while (*e && *e != ',' && *e != ' ' && *e != '\t')
                e++;
            for (size_t k = 0; k < sizeof protocols / sizeof *protocols; k++)
                if ((size_t)(e - p) == strlen(protocols[k].name) && !strncmp(p, protocols[k].name, (size_t)(e - p)))
                    return (int)k;
            while (*e == ' ' || *e == '\t')
                e++;
            p = e;
        }
    return -1;
}

/* Go's fmt %v of a []string: [a b c], cut to fit. */
static void go_strv(char **v, size_t n, char *out, size_t cap)
{
    size_t l = 0;
    out[l++] = '[';
    for (size_t i = 0; i < n && l + 2 < cap; i++) {
        int w = snprintf(out + l, cap - l - 1, "%s%s", i ? " " : "", v[i]);
        if (w < 0 || (size_t)w >= cap - l - 1) {
            l = cap - 2;
            break;
        }
        l += (size_t)w;
    }
    out[l++] = ']';
    out[l] = 0;
}

/* The container to exec in, as kube-apiserver's streamLocation picks it: 0, or -1 answered. */
static int pick_container(apireq *r, json_t *pod, const char *want, char *out, size_t cap)
{
    json_t *spec = json_object_get(pod, "spec");
    json_t *cs = json_object_get(spec, "containers"), *ics = json_object_get(spec, "initContainers");
    size_t i;
    json_t *c;
    if (want && *want) {
        json_t *lists[2] = {cs, ics};
        for (int l = 0; l < 2; l++)
            json_array_foreach(lists[l], i, c) {
                const char *n = json_string_value(json_object_get(c, "name"));
                if (n && !strcmp(n, want)) {
                    snprintf(out, cap, "%s", want);
                    return 0;
                }
            }
        char msg[700];
        snprintf(msg, sizeof msg, "container %.256s is not valid for pod %.256s", want, r->name);
        bad_request(r, msg);
        return -1;
    }
    if (json_array_size(cs) == 1) {
        const char *n = json_string_value(json_object_get(json_array_get(cs, 0), "name"));
        snprintf(out, cap, "%s", n ? n : "");
        return 0;
    }
    char names[1024] = "", inames[1024] = "";
    json_t *lists[2] = {cs, ics};
    char *bufs[2] = {names, inames};
    for (int l = 0; l < 2; l++) {
        size_t len = 0;
        json_array_foreach(lists[l], i, c) {
            const char *n = json_string_value(json_object_get(c, "name"));
            int w = snprintf(bufs[l] + len, sizeof names - len, "%s%s", i ? " " : "", n ? n : "");
            if (w < 0 || (size_t)w >= sizeof names - len)
                break;
            len += (size_t)w;
        }
    }
    char msg[2600];
    int l = snprintf(msg, sizeof msg, "a container name must be specified for pod %.256s", r->name);
    if (json_array_size(cs) > 0)
        l += snprintf(msg + l, sizeof msg - (size_t)l, ", choose one of: [%s]", names);
    if (json_array_size(cs) > 0 && *inames)
        snprintf(msg + l, sizeof msg - (size_t)l, " or one of the init containers: [%s]", inames);
    bad_request(r, msg);
    return -1;
}

static int query_flag(const http_req *h, const char *name)
{
    char *v = http_query_get(h, name);
    int on = api_query_bool(v);
    free(v);
    return on;
}

/* The 101 and the first (empty) message on the lowest output channel, which tells the client the
 * streams are up. */
static void accept_ws(session *s, const char *accept, int pi, int want_out, int want_err)
{
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\n%s%s%s\r\n",
                      accept, pi >= 0 ? "Sec-WebSocket-Protocol: " : "", pi >= 0 ? protocols[pi].name : "",
                      pi >= 0 ? "\r\n" : "");
    http_upgrade(s->http, head, (size_t)hl, on_client_bytes, s);
    send_chan(s, want_out ? CH_STDOUT : want_err ? CH_STDERR : CH_ERROR, NULL, 0);
}

void podexec_serve(apireq *r)
{
    http_req *h = r->http;
    podexec_t *px = r->api->exec;
    h->m_verb = "CONNECT";
    json_t *pod = api_read_object(r);
    if (!pod)
        return;
    char *want = http_query_get(h, "container");
    char container[256];
    int rc = pick_container(r, pod, want, container, sizeof container);
    free(want);
    json_decref(pod);
    if (rc < 0)
        return;
    if (!header_has(h, "connection", "upgrade") || !http_header_get(h, "upgrade")) {
        bad_request(r, "Upgrade request required");
        return;
    }
    if (!header_has(h, "upgrade", "websocket")) {
        /* SPDY/3.1, kubectl's fallback: only WebSockets are served */
        char msg[300];
        snprintf(msg, sizeof msg, "%.100s streams are not served here; use a WebSocket (%s)",
                 http_header_get(h, "upgrade"), protocols[0].name);
        bad_request(r, msg);
        return;
    }
    /* the WebSocket handshake (golang.org/x/net/websocket's answers) */
    char accept[29];
    const char *ver = http_header_get(h, "sec-websocket-version");
    if (h->method != HTTP_GET) {
        http_respond(h, 405, "text/plain; charset=utf-8", "bad method", 10, NULL);
        return;
    }
    if (!ver || strcmp(ver, "13")) {
        http_respond(h, 400, "text/plain; charset=utf-8", "missing or bad WebSocket Version", 32,
                     "Sec-WebSocket-Version: 13\r\n");
        return;
    }
    if (ws_accept_key(http_header_get(h, "sec-websocket-key"), accept) < 0) {
        http_respond(h, 400, "text/plain; charset=utf-8", "bad request", 11, NULL);
        return;
    }
    int pi = negotiate(h);
    int proto = pi >= 0 ? protocols[pi].proto : P_V1;
    int want_in = query_flag(h, "stdin"), want_out = query_flag(h, "stdout"), want_err = query_flag(h, "stderr");
    int tty = query_flag(h, "tty");
    if (tty)
        want_err = 0; /* the kubelet: a terminal has no separate stderr */
    int attach = !strcmp(r->sub, "attach");
    char **cmd = NULL;
    size_t ncmd = attach ? 0 : http_query_all(h, "command", &cmd);
    /* the kubelet's checks */
    char refusal[400] = "";
    int refusal_code = 0;
    char *const *env = NULL;
    const char *workdir = NULL;
    char run_id[96] = "";
    if (!want_in && !want_out && !want_err) {
        snprintf(refusal, sizeof refusal, "you must specify at least 1 of stdin, stdout, stderr");
        refusal_code = 400;
    } else if (!r->api->kubelet ||
               kubelet_exec_target(r->api->kubelet, r->ns, r->name, container, &env, &workdir, run_id,
                                   sizeof run_id) < 0) {
        snprintf(refusal, sizeof refusal, "container not found (\"%s\")", container);
        refusal_code = 500;
    }
    if (*refusal && proto != P_V5) {
        http_respond(h, refusal_code, "text/plain; charset=utf-8", refusal, strlen(refusal), NULL);
        http_strv_free(cmd, ncmd);
        return;
    }
    if (pi == -1) { /* x/net/websocket's answer to a handshake it refuses */
        http_respond(h, 403, "text/plain; charset=utf-8", "", 0, NULL);
        http_strv_free(cmd, ncmd);
        return;
    }
    session *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->px = px;
    s->http = h;
    s->proto = proto;
    s->b64 = pi >= 0 && protocols[pi].b64;
    s->tty = tty;
    s->chan = -1;
    s->attach = attach;
    s->want_out = want_out;
    s->want_err = want_err;
    s->tail_fd = -1;
    snprintf(s->run_id, sizeof s->run_id, "%s", run_id);
    go_strv(cmd, ncmd, s->cmd, sizeof s->cmd);
    uv_timer_init(r->api->loop, &s->poll);
    s->poll.data = s;
    s->handles = 1;
    s->next = px->sessions;
    px->sessions = s;
    http_req_on_gone(h, on_gone, s);
    char spawn_err[600] = "";
    if (!*refusal && attach) {
        char log[1200];
        kubelet_log_path(r->api->kubelet, r->ns, r->name, container, 0, log, sizeof log);
        s->tail_fd = open(log, O_RDONLY | O_CLOEXEC);
        struct stat st;
        s->tail_off = s->tail_fd >= 0 && fstat(s->tail_fd, &st) == 0 ? st.st_size : 0; /* from now on */
    } else if (!*refusal) {
        if (ncmd == 0) {
            snprintf(spawn_err, sizeof spawn_err, "no command was given");
        } else {
            char **argv = calloc(ncmd + 1, sizeof *argv);
            for (size_t i = 1; i < ncmd; i++)
                argv[i] = cmd[i];
            argv[0] = cmd[0];
            if (spawn(s, argv, env, workdir, want_in, want_out, want_err, spawn_err, sizeof spawn_err) < 0 &&
                !*spawn_err)
                snprintf(spawn_err, sizeof spawn_err, "exec failed");
            free(argv);
        }
    }
    http_strv_free(cmd, ncmd);
    accept_ws(s, accept, pi, want_out, want_err);
    if (*refusal || *spawn_err) {
        char *st;
        if (*refusal) { /* v5 only: the translator's dial to the kubelet failed */
            char inner[500];
            snprintf(inner, sizeof inner, "unable to upgrade connection: %s", refusal);
            st = status_internal(inner);
        } else {
            st = status_text(s, 0, spawn_err);
        }
        send_chan(s, CH_ERROR, st, strlen(st));
        free(st);
        send_close(s, WS_NORMAL);
        s->done = 1;
        uv_close((uv_handle_t *)&s->poll, on_handle_closed);
        return;
    }
    if (attach) {
        uv_timer_start(&s->poll, on_tail, 50, 50);
        return;
    }
    reading(s, 1);
}

/* ---- the module ---------------------------------------------------------------------------------- */

podexec_t *podexec_new(api_t *api)
{
    podexec_t *px = calloc(1, sizeof *px);
    if (!px)
        abort();
    px->api = api;
    uv_signal_init(api->loop, &px->sigchld);
    px->sigchld.data = px;
    uv_signal_start(&px->sigchld, on_sigchld, SIGCHLD);
    uv_unref((uv_handle_t *)&px->sigchld); /* the sessions' pipes keep the loop alive */
    return px;
}

static void on_px_closed(uv_handle_t *h)
{
    podexec_t *px = h->data;
    px->sig_closed = 1;
    if (!px->sessions)
        free(px);
}

void podexec_free(podexec_t *px)
{
    if (!px)
        return;
    px->closing = 1;
    for (session *s = px->sessions; s; s = s->next) {
        kill_group(s);
        if (!s->done)
            abandon(s);
        if (!s->done) { /* not reaped yet: the process dies with the daemon's exit */
            s->done = 1;
            if (s->in_open)
                close_pipe(s, &s->in, &s->in_open);
            uv_close((uv_handle_t *)&s->poll, on_handle_closed);
        }
    }
    uv_close((uv_handle_t *)&px->sigchld, on_px_closed);
}

void podexec_run_ended(void *arg, const char *run_id)
{
    podexec_t *px = arg;
    for (session *s = px->sessions; s; s = s->next)
        if (!strcmp(s->run_id, run_id)) {
            kill_group(s);
            if (s->attach && !s->done) {
                s->run_over = 1;
                maybe_finish(s);
            }
        }
}
