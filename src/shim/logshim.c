/* torchjob-logshim — runs a pod's command and writes its stdout/stderr to its own stdout in the
 * CRI log format kubelet uses ("<RFC3339Nano> stdout|stderr F|P <text>"), so every line carries
 * the time it was written and the daemon never holds a pod's output in memory.
 *
 *   usage: torchjob-logshim COMMAND [ARGS...]
 *
 * The runtime starts the shim as the pod's process, in the pod's own process group, with stdout
 * and stderr appended to the log file. Signals: SIGTERM/SIGINT/SIGHUP reach the command directly
 * (same process group); the shim ignores them and keeps draining the pipes until the command
 * has exited, then exits the same way (same code, or the same signal). SIGKILL ends both.
 * A command that cannot be executed exits 128 with the error as its only log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE 16384 /* kubelet splits longer lines into partial (P) records */

typedef struct stream {
    int fd;
    const char *name;
    char buf[MAX_LINE];
    size_t len;
} stream;

static void stamp(char *out, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char frac[16];
    snprintf(frac, sizeof frac, "%09ld", ts.tv_nsec);
    size_t n = strlen(frac);
    while (n > 0 && frac[n - 1] == '0') /* Go's RFC3339Nano trims trailing zeros */
        frac[--n] = 0;
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n)
        snprintf(out, cap, "%s.%sZ", base, frac);
    else
        snprintf(out, cap, "%sZ", base);
}

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* the log is gone: keep draining so the command is never blocked */
        }
        p += w;
        n -= (size_t)w;
    }
}

static void emit(const char *sname, const char *tag, const char *text, size_t n)
{
    char ts[48], head[96];
    stamp(ts, sizeof ts);
    int hl = snprintf(head, sizeof head, "%s %s %s ", ts, sname, tag);
    /* one write per record, so records from the two streams never interleave */
    char *rec = malloc((size_t)hl + n + 1);
    if (!rec)
        return;
    memcpy(rec, head, (size_t)hl);
    memcpy(rec + hl, text, n);
    rec[hl + n] = '\n';
    write_all(rec, (size_t)hl + n + 1);
    free(rec);
}

static void flush_lines(stream *s, int eof)
{
    size_t start = 0;
    for (size_t i = 0; i < s->len; i++)
        if (s->buf[i] == '\n') {
            emit(s->name, "F", s->buf + start, i - start);
            start = i + 1;
        }
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
    if (s->len == sizeof s->buf || (eof && s->len)) {
        emit(s->name, "P", s->buf, s->len);
        s->len = 0;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: torchjob-logshim COMMAND [ARGS...]\n");
        return 2;
    }
    int out[2], err[2], ex[2];
    /* ex: the exec error channel; close-on-exec, so a successful exec reads as EOF. */
    if (pipe(out) < 0 || pipe(err) < 0 || pipe2(ex, O_CLOEXEC) < 0)
        return 128;
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    pid_t pid = fork();
    if (pid < 0)
        return 128;
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        /* The daemon starts the shim with glibc's posix_spawn, which leaves glibc's two internal
         * signals (32 and 33) ignored in what it starts; glibc's own sigaction refuses to touch
         * them, the kernel does not. The command gets every signal at its default. */
        struct {
            void (*handler)(int);
            unsigned long flags;
            void (*restorer)(void);
            unsigned long mask;
        } dfl = {SIG_DFL, 0, NULL, 0};
        for (int sig = 32; sig <= 33; sig++)
            syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        close(ex[0]);
        execvp(argv[1], argv + 1);
        int e = errno;
        if (write(ex[1], &e, sizeof e) < 0)
            _exit(128);
        _exit(128);
    }
    close(out[1]);
    close(err[1]);
    close(ex[1]);
    stream s[2] = {{.fd = out[0], .name = "stdout"}, {.fd = err[0], .name = "stderr"}};
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    int open_n = 2, status = 0, exited = 0;
    /* The container ends when its main process ends: a background grandchild that keeps the
     * pipes open must not keep the pod alive (the runtime kills the group after us). */
    while (open_n > 0) {
        if (!exited && waitpid(pid, &status, WNOHANG) == pid)
            exited = 1;
        struct pollfd pf[2];
        int n = 0;
        for (int i = 0; i < 2; i++)
            if (s[i].fd >= 0)
                pf[n++] = (struct pollfd){.fd = s[i].fd, .events = POLLIN};
        int pr = poll(pf, (nfds_t)n, exited ? 0 : 100);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0 && exited) {
            for (int i = 0; i < 2; i++)
                if (s[i].fd >= 0)
                    flush_lines(&s[i], 1);
            break;
        }
        if (pr <= 0)
            continue;
        for (int j = 0; j < n; j++) {
            if (!(pf[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            stream *st = pf[j].fd == s[0].fd ? &s[0] : &s[1];
            ssize_t r = read(st->fd, st->buf + st->len, sizeof st->buf - st->len);
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r <= 0) {
                flush_lines(st, 1);
                close(st->fd);
                st->fd = -1;
                open_n--;
                continue;
            }
            st->len += (size_t)r;
            flush_lines(st, 0);
        }
    }
    while (!exited && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int e = 0;
    if (read(ex[0], &e, sizeof e) == (ssize_t)sizeof e) {
        char msg[512];
        int n = snprintf(msg, sizeof msg, "exec: \"%s\": %s", argv[1], strerror(e));
        emit("stderr", "F", msg, (size_t)n);
        return 128;
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        signal(sig, SIG_DFL);
        kill(getpid(), sig);
        return 128 + sig;
    }
    return WEXITSTATUS(status);
}
