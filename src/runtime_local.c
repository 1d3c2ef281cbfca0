/* runtime_local — the runtime.h contract with pods as local processes, on posix_spawn.
 *
 * A pod is one process (the replica's command, leader of a session and process group of its
 * own, so kill(-pgid) reaches its whole tree and a Ctrl-C of the daemon does not) and one
 * uv_timer_t (its SIGKILL deadline). Its state machine:
 *
 *                       runtime_start
 *                             │
 *                            NEW ─── PATH lookup, log open or posix_spawn failed ───► FAILED
 *                             │ posix_spawn ok                                        │
 *                             ▼                                                       │
 *       ┌─────────────── RUNNING ───────────────┐                                     │
 *       │ stop(g > 0): SIGTERM to the group,    │ stop(0): SIGKILL to the group       │
 *       ▼ timer armed for g                     ▼                                     │ kick:
 *  TERMINATING ── timer fires / stop(0) ───► KILLING                                  │ next
 *       │         SIGKILL to the group          │                                     │ turn
 *       └──── SIGCHLD: the leader reaped ───────┴──► EXITED ◄─────────────────────────┘
 *             (also straight from RUNNING)             │ on_exit(code, sig, 0), FAILED's
 *                                                      │ on_exit(128, 0, err)
 *                                                      ▼
 *                                      freed by its last close callback
 *
 * Invariants:
 *  1. Only NEW, RUNNING, TERMINATING, KILLING and FAILED pods are found by id. An EXITED pod is
 *     invisible to start and stop, so its id may be reused at once, even from inside on_exit.
 *  2. A process group is signalled only through signal_group(), which refuses unless the pod is
 *     RUNNING, TERMINATING or KILLING (its leader not yet reaped). The last signal a group ever
 *     gets is the SIGKILL sweep the exit callback sends before it moves the pod to EXITED: the
 *     leader is reaped by then, but Linux keeps a pid allocated while it names a live process
 *     group, so the sweep reaches the leader's leftover children (a training script's workers)
 *     and nothing else. The only hole is the last member dying and its pid being recycled as a
 *     new group leader's in the microseconds between our waitpid and the sweep; closing it
 *     needs a per-pod supervisor (ARCHITECTURE: processes that outlive the daemon).
 *  3. on_exit is called exactly once for each runtime_start that returned 0; on_started once
 *     for each process that ran, always before its on_exit. No callback is made from inside
 *     runtime_start, runtime_stop or runtime_free (outcomes known at once wait for the kick idle
 *     handle), and none after runtime_free.
 *  4. pod->timer is active only in TERMINATING. Its deadline only moves earlier and is never
 *     before the grace has fully passed.
 *  5. A pod is on rt->pending exactly while a notification is owed to it (on_started, or a
 *     FAILED pod's on_exit); rt->kick is active whenever rt->pending is not empty.
 *  6. Memory is freed only in close callbacks: a pod by its last handle's, once EXITED; the
 *     runtime by its last handle's, once runtime_free was called and every pod is gone.
 *  7. The daemon holds no fd of a pod past runtime_start: the child writes its own log (stdout
 *     and stderr are the same O_APPEND file description), so output never passes through the
 *     daemon and a pod could outlive it.
 *
 * Log cap (rt_pod.log_cap > 0): every LOG_CHECK_MS a timer (unref'ed: it never keeps the loop
 * alive) stats each running pod's log, and once more when the pod exits. Over the cap, it rotates
 * by copytruncate: copy log_path to log_path.1.tmp, rename that over log_path.1, ftruncate
 * log_path to 0. The child's O_APPEND fd keeps working and writes continue from offset 0 (no
 * hole). So a pod's disk use stays at about 2 × cap plus what it writes in LOG_CHECK_MS (both
 * files may carry that overshoot). Bytes written between the end of the copy and the truncate are
 * lost, as with logrotate's copytruncate. The copy runs on the loop thread (copy_file_range, in
 * the kernel): one rotation costs a copy of about cap bytes, so keep caps in the tens of MiB.
 *
 * Processes are started with posix_spawn, not uv_spawn: glibc's is a vfork (the child borrows
 * the daemon's memory until it execs), where libuv's fork() copies the daemon's page tables
 * first and the loop waits for that and for the child's exec, ~1-2.5 ms a process on this
 * machine class, longer as the store grows; four replicas of a job were started one after
 * another in ~10 ms. Exits come in as SIGCHLD through a libuv signal handle (so on the loop
 * thread), which waits for each live pod's pid only: other children of the process are left
 * alone. The handle keeps the loop running exactly while a pod's process is live, as a
 * uv_process_t would.
 *
 * Everything runs on the loop thread. Set TORCHJOBD_DEBUG to trace state changes on stderr.
 * Directories and files are created 0755/0644 minus the daemon's umask.
 */
#include "runtime.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_CHECK_MS 500 /* how often running pods' logs are checked against their cap */
#define SPAWN_FAILED_CODE 128

typedef struct link {
    struct link *prev, *next;
} link_t;

#define CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static void link_init(link_t *l) { l->prev = l->next = l; }
static bool link_empty(const link_t *l) { return l->next == l; }

static void link_add_tail(link_t *head, link_t *l)
{
    l->prev = head->prev;
    l->next = head;
    head->prev->next = l;
    head->prev = l;
}

/* Unlinks l (a no-op when l is not on a list) and leaves it self-linked. */
static void link_del(link_t *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    link_init(l);
}

typedef enum pod_state {
    POD_NEW,
    POD_RUNNING,
    POD_TERMINATING,
    POD_KILLING,
    POD_FAILED,
    POD_EXITED,
} pod_state;

static const char *const state_name[] = {
    [POD_NEW] = "NEW",           [POD_RUNNING] = "RUNNING", [POD_TERMINATING] = "TERMINATING",
    [POD_KILLING] = "KILLING",   [POD_FAILED] = "FAILED",   [POD_EXITED] = "EXITED",
};

typedef struct pod {
    link_t all;         /* rt->pods, from runtime_start to the last close callback */
    link_t pending;     /* rt->pending while a notification is owed (invariant 5) */
    runtime_t *rt;
    pod_state state;
    char *id;
    char *log_path;     /* NULL: output goes to /dev/null */
    uint64_t log_cap;   /* 0: unlimited */
    int pid;            /* > 0 once spawned; also the process group id */
    int err;            /* FAILED: why */
    uint64_t deadline;  /* TERMINATING: loop time (ms) at which SIGKILL is due */
    int closing;        /* handles whose close callback is still to come */
    bool reaped;        /* its waitpid succeeded in this SIGCHLD pass; status is set */
    int status;         /* from waitpid */
    bool rotate_warned; /* a rotation error was reported once */
    uv_timer_t timer;
} pod_t;

struct runtime {
    uv_loop_t *loop;
    rt_callbacks cb;
    link_t pods;        /* every pod_t not yet freed */
    link_t pending;     /* pods owed a notification, in order */
    size_t nlive;       /* pods in RUNNING, TERMINATING or KILLING */
    uv_idle_t kick;     /* delivers rt->pending on the next loop turn */
    uv_signal_t sigchld;/* referenced while nlive > 0 */
    uv_timer_t cap_timer;
    int closing;        /* own handles whose close callback is still to come */
    bool freeing;       /* runtime_free was called */
    bool debug;         /* TORCHJOBD_DEBUG was set at creation */
};

static void dbg(const runtime_t *rt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dbg(const runtime_t *rt, const char *fmt, ...)
{
    if (!rt->debug)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("torchjobd: runtime: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static bool state_live(pod_state s)
{
    return s == POD_RUNNING || s == POD_TERMINATING || s == POD_KILLING;
}

/* The one place a pod changes state: checks the transition against the diagram. */
static void set_state(pod_t *p, pod_state to)
{
    static const unsigned allowed[] = {
        [POD_NEW] = 1u << POD_RUNNING | 1u << POD_FAILED,
        [POD_RUNNING] = 1u << POD_TERMINATING | 1u << POD_KILLING | 1u << POD_EXITED,
        [POD_TERMINATING] = 1u << POD_KILLING | 1u << POD_EXITED,
        [POD_KILLING] = 1u << POD_EXITED,
        [POD_FAILED] = 1u << POD_EXITED,
        [POD_EXITED] = 0,
    };
    pod_state from = p->state;
    assert(allowed[from] & 1u << to);
    if (state_live(to) && !state_live(from) && p->rt->nlive++ == 0)
        uv_ref((uv_handle_t *)&p->rt->sigchld);
    else if (!state_live(to) && state_live(from) && --p->rt->nlive == 0)
        uv_unref((uv_handle_t *)&p->rt->sigchld);
    p->state = to;
    dbg(p->rt, "%s (pid %d): %s -> %s", p->id, p->pid, state_name[from], state_name[to]);
}

/* Invariant 2: the only kill() in this file. */
static void signal_group(pod_t *p, int sig)
{
    assert(state_live(p->state) && p->pid > 0);
    if (!state_live(p->state) || p->pid <= 0)
        return; /* stays in release builds: never signal a reaped or unknown pid */
    if (kill(-p->pid, sig) != 0)
        dbg(p->rt, "%s: kill(-%d, %d): %s", p->id, p->pid, sig, strerror(errno));
}

static pod_t *find(runtime_t *rt, const char *id)
{
    for (link_t *l = rt->pods.next; l != &rt->pods; l = l->next) {
        pod_t *p = CONTAINER_OF(l, pod_t, all);
        if (p->state != POD_EXITED && strcmp(p->id, id) == 0)
            return p;
    }
    return NULL;
}

/* ---- freeing (invariant 6) ---- */

static void rt_closed(uv_handle_t *h)
{
    runtime_t *rt = h->data;
    if (--rt->closing == 0)
        free(rt);
}

static void maybe_finish(runtime_t *rt)
{
    if (!rt->freeing || !link_empty(&rt->pods) || rt->closing)
        return;
    rt->closing = 3;
    uv_close((uv_handle_t *)&rt->kick, rt_closed);
    uv_close((uv_handle_t *)&rt->cap_timer, rt_closed);
    uv_close((uv_handle_t *)&rt->sigchld, rt_closed);
}

static void pod_closed(uv_handle_t *h)
{
    pod_t *p = h->data;
    if (--p->closing)
        return;
    runtime_t *rt = p->rt;
    link_del(&p->all);
    free(p->id);
    free(p->log_path);
    free(p);
    maybe_finish(rt);
}

/* EXITED: close the handles; the pod (and its id) stays valid until the loop's close phase. */
static void close_pod(pod_t *p)
{
    assert(p->state == POD_EXITED && !p->closing);
    link_del(&p->pending);
    p->closing = 1;
    uv_close((uv_handle_t *)&p->timer, pod_closed);
}

/* ---- log cap ---- */

/* Copies in to out from both current offsets until EOF, at most limit bytes. */
static int copy_fd(int in, int out, uint64_t limit)
{
    uint64_t done = 0;
    bool plain = false;
    char buf[64 * 1024];
    while (done < limit) {
        size_t want = limit - done > SSIZE_MAX / 2 ? SSIZE_MAX / 2 : (size_t)(limit - done);
        ssize_t n;
        if (!plain) {
            n = copy_file_range(in, NULL, out, NULL, want, 0);
            if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                          errno == EOPNOTSUPP)) {
                plain = true;
                continue;
            }
        } else {
            n = read(in, buf, want < sizeof buf ? want : sizeof buf);
            for (ssize_t w = 0, off = 0; n > 0 && off < n; off += w) {
                w = write(out, buf + off, n - off);
                if (w < 0 && errno != EINTR)
                    return -errno;
                if (w < 0)
                    w = 0;
            }
        }
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        done += n;
    }
    return 0;
}

/* copytruncate: path → path.1 (replaced atomically), then path truncated to 0. */
static int rotate(const char *path, uint64_t cap)
{
    size_t n = strlen(path);
    char *old = malloc(n + sizeof ".1"), *tmp = malloc(n + sizeof ".1.tmp");
    int in = -1, out = -1, err = 0;
    struct stat st;
    if (!old || !tmp) {
        err = -ENOMEM;
        goto done;
    }
    sprintf(old, "%s.1", path);
    sprintf(tmp, "%s.1.tmp", path);
    in = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (in < 0 || fstat(in, &st) != 0) {
        err = -errno;
        goto done;
    }
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
    if (out < 0) {
        err = -errno;
        goto done;
    }
    /* What is there, plus at most one cap of what arrives meanwhile: never chase a fast writer. */
    err = copy_fd(in, out, (uint64_t)st.st_size + cap);
    if (close(out) != 0 && !err)
        err = -errno;
    out = -1;
    if (!err && rename(tmp, old) != 0)
        err = -errno;
    if (err)
        unlink(tmp);
    else if (ftruncate(in, 0) != 0)
        err = -errno;
done:
    if (in >= 0)
        close(in);
    free(old);
    free(tmp);
    return err;
}

static void enforce_cap(pod_t *p)
{
    struct stat st;
    if (!p->log_cap || stat(p->log_path, &st) != 0 || (uint64_t)st.st_size <= p->log_cap)
        return;
    int err = rotate(p->log_path, p->log_cap);
    if (!err) {
        dbg(p->rt, "%s: rotated %s at %lld bytes", p->id, p->log_path, (long long)st.st_size);
    } else if (!p->rotate_warned) {
        p->rotate_warned = true; /* once per pod: a full disk must not flood stderr */
        fprintf(stderr, "torchjobd: runtime: %s: rotating %s: %s\n", p->id, p->log_path,
                strerror(-err));
    }
}

static void on_cap_tick(uv_timer_t *t)
{
    runtime_t *rt = t->data;
    bool any = false;
    for (link_t *l = rt->pods.next; l != &rt->pods; l = l->next) {
        pod_t *p = CONTAINER_OF(l, pod_t, all);
        if (state_live(p->state) && p->log_cap) {
            any = true;
            enforce_cap(p);
        }
    }
    if (!any)
        uv_timer_stop(t); /* restarted by the next capped runtime_start */
}

/* ---- notifications (invariants 3 and 5) ---- */

static void on_kick(uv_idle_t *h)
{
    runtime_t *rt = h->data;
    /* Pop one at a time: a callback may start, stop or free (runtime_free empties the list). */
    while (!link_empty(&rt->pending)) {
        pod_t *p = CONTAINER_OF(rt->pending.next, pod_t, pending);
        link_del(&p->pending);
        if (p->state == POD_FAILED) {
            set_state(p, POD_EXITED);
            close_pod(p);
            if (rt->cb.on_exit)
                rt->cb.on_exit(rt->cb.arg, p->id, SPAWN_FAILED_CODE, 0, p->err);
        } else {
            assert(state_live(p->state));
            if (rt->cb.on_started)
                rt->cb.on_started(rt->cb.arg, p->id, p->pid);
        }
    }
    uv_idle_stop(h);
}

static void owe(runtime_t *rt, pod_t *p)
{
    link_add_tail(&rt->pending, &p->pending);
    uv_idle_start(&rt->kick, on_kick);
}

/* ---- processes ---- */

static void on_proc_exit(pod_t *p, int status)
{
    runtime_t *rt = p->rt;
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    int code = sig ? 128 + sig : WEXITSTATUS(status);

    assert(state_live(p->state));
    signal_group(p, SIGKILL); /* the sweep: no grandchild outlives its pod (invariant 2) */
    uv_timer_stop(&p->timer);
    if (p->log_cap)
        enforce_cap(p); /* the log outlives the pod: leave it within its cap */
    bool owe_started = !link_empty(&p->pending);
    set_state(p, POD_EXITED);
    close_pod(p);
    if (owe_started && !rt->freeing && rt->cb.on_started)
        rt->cb.on_started(rt->cb.arg, p->id, p->pid);
    if (!rt->freeing && rt->cb.on_exit) /* on_started may have freed the runtime */
        rt->cb.on_exit(rt->cb.arg, p->id, code, sig, 0);
}

/* Signals coalesce, so every live pod is asked; the reaped are collected first and reported
 * after, because an exit callback may start, stop or free pods (a pod started there is live
 * but not reaped, and a free only marks: pods leave the list in close callbacks). */
static void on_sigchld(uv_signal_t *h, int signum)
{
    runtime_t *rt = h->data;
    (void)signum;
    bool any = false;
    for (link_t *l = rt->pods.next; l != &rt->pods; l = l->next) {
        pod_t *p = CONTAINER_OF(l, pod_t, all);
        if (!state_live(p->state) || p->pid <= 0)
            continue;
        int st;
        pid_t r;
        while ((r = waitpid(p->pid, &st, WNOHANG)) < 0 && errno == EINTR)
            ;
        if (r == p->pid && (WIFEXITED(st) || WIFSIGNALED(st))) {
            p->reaped = any = true;
            p->status = st;
        }
    }
    for (link_t *l = rt->pods.next; any && l != &rt->pods; l = l->next) {
        pod_t *p = CONTAINER_OF(l, pod_t, all);
        if (p->reaped) {
            p->reaped = false;
            on_proc_exit(p, p->status);
        }
    }
}

static void on_grace_expired(uv_timer_t *t)
{
    pod_t *p = t->data;
    assert(p->state == POD_TERMINATING);
    if (p->state != POD_TERMINATING)
        return;
    signal_group(p, SIGKILL);
    set_state(p, POD_KILLING);
}

static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (; *envp; envp++)
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

/* 0 if cand (relative to workdir, the child's cwd, when relative) is an executable file. */
static int check_exec(const char *cand, const char *workdir)
{
    char buf[PATH_MAX];
    const char *path = cand;
    struct stat st;
    if (cand[0] != '/' && workdir) {
        if ((size_t)snprintf(buf, sizeof buf, "%s/%s", workdir, cand) >= sizeof buf)
            return -ENAMETOOLONG;
        path = buf;
    }
    if (stat(path, &st) != 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0)
        return -EACCES;
    return 0;
}

/* execvp's search, done before anything is created so that a missing command leaves nothing
 * behind, and done on envp's PATH (else the daemon's, else /bin:/usr/bin) where the child's
 * execvp would use only envp's. Sets *out to a name with a '/' (malloc'ed; caller frees), so
 * the child's execvp runs it without searching again. */
void runtime_spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at, const char *workdir)
{
    if (workdir && *workdir)
        posix_spawn_file_actions_addchdir_np(fa, workdir);
    /* own session and process group; every signal at its default and none blocked (the daemon
     * ignores SIGPIPE, and a child must not inherit that) */
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setflags(at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setsigmask(at, &none);
    posix_spawnattr_setsigdefault(at, &all);
}

int runtime_resolve_cmd(const char *name, char *const *envp, const char *workdir, char **out)
{
    int err;
    if (!*name)
        return -ENOENT;
    if (strchr(name, '/')) {
        err = check_exec(name, workdir);
        if (!err && !(*out = strdup(name)))
            err = -ENOMEM;
        return err;
    }
    const char *path = env_get(envp, "PATH");
    if (!path)
        path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    bool eacces = false;
    for (const char *s = path;;) {
        const char *e = strchrnul(s, ':');
        char *cand;
        /* An empty entry is the current directory. */
        if (asprintf(&cand, "%.*s/%s", e == s ? 1 : (int)(e - s), e == s ? "." : s, name) < 0)
            return -ENOMEM;
        err = check_exec(cand, workdir);
        if (!err) {
            *out = cand;
            return 0;
        }
        free(cand);
        if (err == -EACCES)
            eacces = true;
        if (!*e)
            break;
        s = e + 1;
    }
    return eacces ? -EACCES : -ENOENT;
}

/* mkdir -p of the directories above path. */
static int mkdir_parents(const char *path)
{
    char *d = strdup(path);
    int err = 0;
    if (!d)
        return -ENOMEM;
    for (char *s = d + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        if (mkdir(d, 0755) != 0 && errno != EEXIST)
            err = -errno;
        *s = '/';
        if (err)
            break;
    }
    free(d);
    return err;
}

static int spawn(pod_t *p, const rt_pod *in)
{
    static char *const no_env[] = {NULL};
    char *const *envp = in->envp ? in->envp : no_env;
    char *file = NULL;
    int logfd = -1;

    int err = runtime_resolve_cmd(in->argv[0], envp, in->workdir, &file);
    if (err)
        return err;
    if (p->log_path) {
        err = mkdir_parents(p->log_path);
        if (!err) {
            logfd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
            if (logfd < 0)
                err = -errno;
        }
        if (err) {
            free(file);
            return err;
        }
    }
    /* fds 1 and 2: one shared O_APPEND description of the log (invariant 7), first, so that a
     * log fd that landed on 0 (a daemon started with stdin closed) is copied before fd 0 becomes
     * /dev/null; below 3 it is moved up first, as dup2 onto itself would keep its close-on-exec. */
    if (logfd >= 0 && logfd < 3) {
        int up = fcntl(logfd, F_DUPFD_CLOEXEC, 3);
        close(logfd);
        logfd = up;
        if (logfd < 0) {
            free(file);
            return -errno;
        }
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    for (int fd = 1; fd <= 2; fd++) {
        if (logfd >= 0)
            posix_spawn_file_actions_adddup2(&fa, logfd, fd);
        else
            posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", O_WRONLY, 0);
    }
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    runtime_spawn_setup(&fa, &at, in->workdir);
    /* Synchronous: returns once the child has exec'ed (so setsid() is done and -pid names its
     * group) or has failed to (chdir, exec), with that errno; glibc reaps a failed child. */
    pid_t pid = 0;
    int rc = posix_spawn(&pid, file, &fa, &at, (char *const *)in->argv, (char *const *)envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (logfd >= 0)
        close(logfd);
    free(file);
    if (rc)
        return -rc;
    p->pid = pid;
    return 0;
}

/* ---- the interface ---- */

runtime_t *runtime_local_new(uv_loop_t *loop, const rt_callbacks *cb)
{
    runtime_t *rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    rt->loop = loop;
    if (cb)
        rt->cb = *cb;
    link_init(&rt->pods);
    link_init(&rt->pending);
    rt->debug = getenv("TORCHJOBD_DEBUG") != NULL;
    uv_idle_init(loop, &rt->kick);
    rt->kick.data = rt;
    uv_timer_init(loop, &rt->cap_timer);
    rt->cap_timer.data = rt;
    uv_unref((uv_handle_t *)&rt->cap_timer);
    uv_signal_init(loop, &rt->sigchld);
    rt->sigchld.data = rt;
    if (uv_signal_start(&rt->sigchld, on_sigchld, SIGCHLD) != 0) {
        fprintf(stderr, "torchjobd: runtime: cannot watch SIGCHLD\n");
        rt->freeing = true;
        maybe_finish(rt); /* closes the handles; the close callbacks free rt */
        return NULL;
    }
    uv_unref((uv_handle_t *)&rt->sigchld);
    return rt;
}

/* Copies what it keeps of p (id, log_path); argv, envp and workdir are used only during the
 * call. Returns 0, -EEXIST if id is running or its on_exit is still owed, -EINVAL, -ENOMEM. A
 * start that fails after this point (command not found, log not writable, exec error) returns 0
 * and reports on_exit(128, 0, err) on the next loop turn. */
int runtime_start(runtime_t *rt, const rt_pod *in)
{
    assert(rt && !rt->freeing);
    assert(in && in->id && in->argv && in->argv[0]);
    if (!rt || rt->freeing || !in || !in->id || !in->argv || !in->argv[0])
        return -EINVAL;
    if (find(rt, in->id))
        return -EEXIST;

    pod_t *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->id = strdup(in->id);
    p->log_path = in->log_path ? strdup(in->log_path) : NULL;
    if (!p->id || (in->log_path && !p->log_path)) {
        free(p->id);
        free(p->log_path);
        free(p);
        return -ENOMEM;
    }
    p->rt = rt;
    p->state = POD_NEW;
    p->log_cap = p->log_path ? in->log_cap : 0;
    link_init(&p->pending);
    uv_timer_init(rt->loop, &p->timer);
    p->timer.data = p;
    link_add_tail(&rt->pods, &p->all);

    int err = spawn(p, in);
    if (err) {
        p->err = err;
        set_state(p, POD_FAILED);
        dbg(rt, "%s: cannot start %s: %s", p->id, in->argv[0], uv_strerror(err));
    } else {
        set_state(p, POD_RUNNING);
        if (p->log_cap && !uv_is_active((uv_handle_t *)&rt->cap_timer))
            uv_timer_start(&rt->cap_timer, on_cap_tick, LOG_CHECK_MS, LOG_CHECK_MS);
    }
    owe(rt, p);
    return 0;
}

/* Returns 0, or -ESRCH when no on_exit is owed for id (never started, or already reported). A
 * FAILED start is not running but its on_exit is on its way, so stopping it is a no-op. */
int runtime_stop(runtime_t *rt, const char *id, unsigned grace_s)
{
    assert(rt && !rt->freeing && id);
    pod_t *p = find(rt, id);
    if (!p)
        return -ESRCH;
    if (p->state == POD_FAILED || p->state == POD_KILLING)
        return 0;

    uv_update_time(rt->loop); /* measure the grace from now, not from the loop turn's start */
    uint64_t now = uv_now(rt->loop);
    /* +1: loop time is truncated to the ms, so the timer could fire up to 1 ms early. */
    uint64_t deadline = now + (uint64_t)grace_s * 1000 + 1;
    if (grace_s == 0) {
        uv_timer_stop(&p->timer);
        signal_group(p, SIGKILL);
        set_state(p, POD_KILLING);
        return 0;
    }
    if (p->state == POD_RUNNING) {
        signal_group(p, SIGTERM);
        set_state(p, POD_TERMINATING);
    } else if (deadline >= p->deadline) {
        return 0; /* a later stop may only shorten the grace */
    }
    p->deadline = deadline;
    uv_timer_start(&p->timer, on_grace_expired, deadline - now, 0);
    dbg(rt, "%s: SIGKILL in %llu ms", p->id, (unsigned long long)(deadline - now));
    return 0;
}

size_t runtime_live(const runtime_t *rt) { return rt->nlive; }

/* SIGKILLs every live group and returns at once; no callback is made from here on. Handles are
 * closed and memory freed as the loop reaps the processes, so the caller must keep running the
 * loop (uv_run until it returns) after this. A process stuck in uninterruptible sleep holds the
 * loop until it dies. */
void runtime_free(runtime_t *rt)
{
    if (!rt)
        return;
    assert(!rt->freeing);
    rt->freeing = true;
    while (!link_empty(&rt->pending))
        link_del(rt->pending.next);
    uv_idle_stop(&rt->kick);
    uv_timer_stop(&rt->cap_timer);
    /* close_pod does not unlink (pod_closed does, later), so this walk is safe. */
    for (link_t *l = rt->pods.next; l != &rt->pods; l = l->next) {
        pod_t *p = CONTAINER_OF(l, pod_t, all);
        switch (p->state) {
        case POD_RUNNING:
        case POD_TERMINATING:
            uv_timer_stop(&p->timer);
            signal_group(p, SIGKILL);
            set_state(p, POD_KILLING);
            break;
        case POD_FAILED:
            set_state(p, POD_EXITED);
            close_pod(p);
            break;
        case POD_KILLING: /* its exit callback will close it */
        case POD_EXITED:  /* closing already */
            break;
        case POD_NEW:
            assert(!"NEW outside runtime_start");
            break;
        }
    }
    maybe_finish(rt);
}
