/* Unit tests for src/runtime_local.c: exit codes and signals, spawn failures, env/workdir/PATH,
 * logs and their cap, stop with grace (TERM honoured, TERM ignored, grace 0, shortened grace),
 * process groups (grandchildren), many processes, re-entrant callbacks, runtime_free with live
 * processes. Each test gets its own loop and temp dir; the teardown frees the runtime, drains the
 * loop (uv_loop_close must succeed: no handle left), and checks that this process has no child
 * left and that no process of any pod's group is still alive. Waits poll with a deadline. */
#include "unit.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include "runtime.h"

enum { EV_STARTED = 1, EV_EXIT };

typedef struct ev {
    int kind;
    char id[32];
    int pid, code, sig, err;
    uint64_t ns; /* uv_hrtime() when it arrived */
} ev;

#define MAX_EV 512
#define MAX_GROUPS 256

typedef struct fx fx;
struct fx {
    uv_loop_t loop;
    uv_timer_t tick;
    runtime_t *rt;
    char dir[64];
    ev ev[MAX_EV];
    int nev;
    bool in_call;                      /* inside runtime_*: a callback now would be re-entrant */
    int groups[MAX_GROUPS];            /* pgid of every pod that ran */
    int ngroups;
    void (*exit_hook)(fx *, const ev *);    /* called from on_exit, for re-entrancy tests */
    void (*started_hook)(fx *, const ev *); /* called from on_started */
    int hook_rc[4];
    int nhook;
    bool watchdog_fired;
};

static char *const ENV[] = {"PATH=/usr/bin:/bin", NULL};

/* ---- /proc ---- */

typedef struct pstat {
    int pid, ppid, pgrp, sid;
    char state;
} pstat;

static bool read_pstat(int pid, pstat *s)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
    if (!rp)
        return false;
    s->pid = pid;
    return sscanf(rp + 2, "%c %d %d %d", &s->state, &s->ppid, &s->pgrp, &s->sid) == 4;
}

/* Counts processes matching; readdir(/proc) lists processes only, never their threads. */
static int count_procs(bool (*match)(const pstat *, int), int key)
{
    DIR *d = opendir("/proc");
    int n = 0;
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d));) {
        pstat s;
        int pid = atoi(de->d_name);
        if (pid > 0 && read_pstat(pid, &s) && match(&s, key))
            n++;
    }
    closedir(d);
    return n;
}

static bool is_child_of(const pstat *s, int ppid) { return s->ppid == ppid; }
static bool alive_in_group(const pstat *s, int pgid)
{
    return s->pgrp == pgid && s->state != 'Z' && s->state != 'X';
}
static bool pid_alive(int pid)
{
    pstat s;
    return read_pstat(pid, &s) && s.state != 'Z' && s.state != 'X';
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Polls (no loop) until no live process remains in pgid; SIGKILL delivery is asynchronous. */
static bool group_gone(int pgid, unsigned ms)
{
    for (unsigned waited = 0;; waited += 5) {
        if (count_procs(alive_in_group, pgid) == 0)
            return true;
        if (waited >= ms)
            return false;
        sleep_ms(5);
    }
}

/* ---- files ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    for (size_t r; (r = fread(b + n, 1, cap - n, fp)) > 0;) {
        n += r;
        if (n == cap)
            b = realloc(b, (cap *= 2) + 1);
    }
    fclose(fp);
    b[n] = '\0';
    if (len)
        *len = n;
    return b;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void put_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    chmod(path, mode);
}

static void path_in(const fx *f, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", f->dir, name);
}

static void log_of(const fx *f, const char *id, char *out, size_t n)
{
    snprintf(out, n, "%s/logs/%s.log", f->dir, id);
}

/* ---- callbacks ---- */

static int count_ev(const fx *f, const char *id, int kind)
{
    int n = 0;
    for (int i = 0; i < f->nev; i++)
        n += f->ev[i].kind == kind && strcmp(f->ev[i].id, id) == 0;
    return n;
}

static ev *record(fx *f, int kind, const char *id)
{
    assert_false(f->in_call); /* invariant: no callback from inside runtime_* */
    assert_true(f->nev < MAX_EV);
    ev *e = &f->ev[f->nev++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    snprintf(e->id, sizeof e->id, "%s", id);
    e->ns = uv_hrtime();
    return e;
}

static void cb_started(void *arg, const char *id, int pid)
{
    fx *f = arg;
    /* one on_started per run: every earlier run of id has already exited */
    assert_int_equal(count_ev(f, id, EV_STARTED), count_ev(f, id, EV_EXIT));
    assert_true(pid > 0);
    ev *e = record(f, EV_STARTED, id);
    e->pid = pid;
    assert_true(f->ngroups < MAX_GROUPS);
    f->groups[f->ngroups++] = pid;
    if (f->started_hook)
        f->started_hook(f, e);
}

static void cb_exit(void *arg, const char *id, int code, int sig, int err)
{
    fx *f = arg;
    int started = count_ev(f, id, EV_STARTED), exited = count_ev(f, id, EV_EXIT);
    if (err == 0)
        assert_int_equal(started, exited + 1); /* on_started came first, exactly once */
    else
        assert_int_equal(code, 128);
    ev *e = record(f, EV_EXIT, id);
    e->code = code;
    e->sig = sig;
    e->err = err;
    if (f->exit_hook)
        f->exit_hook(f, e);
}

/* ---- loop ---- */

static void tick_cb(uv_timer_t *t) { (void)t; }

typedef bool (*pred_fn)(fx *, const void *);

/* Runs the loop until pred holds or ms pass; the tick wakes it so that external state (files,
 * /proc) is re-checked. Returns pred's final value. */
static bool run_until(fx *f, pred_fn pred, const void *arg, unsigned ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000;
    bool ok;
    uv_timer_start(&f->tick, tick_cb, 5, 5);
    while (!(ok = pred(f, arg)) && uv_hrtime() < end)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_timer_stop(&f->tick);
    return ok;
}

static ev *find_ev(fx *f, const char *id, int kind, int nth)
{
    for (int i = 0; i < f->nev; i++)
        if (f->ev[i].kind == kind && strcmp(f->ev[i].id, id) == 0 && nth-- == 0)
            return &f->ev[i];
    return NULL;
}

static bool pred_exited(fx *f, const void *id) { return find_ev(f, id, EV_EXIT, 0) != NULL; }
static bool pred_started(fx *f, const void *id) { return find_ev(f, id, EV_STARTED, 0) != NULL; }

static ev *wait_exit(fx *f, const char *id, unsigned ms)
{
    assert_true(run_until(f, pred_exited, id, ms));
    return find_ev(f, id, EV_EXIT, 0);
}

static ev *wait_started(fx *f, const char *id, unsigned ms)
{
    assert_true(run_until(f, pred_started, id, ms));
    return find_ev(f, id, EV_STARTED, 0);
}

typedef struct contains_arg {
    const char *path, *needle;
} contains_arg;

static bool pred_contains(fx *f, const void *a)
{
    (void)f;
    const contains_arg *c = a;
    char *s = slurp(c->path, NULL);
    bool ok = s && strstr(s, c->needle);
    free(s);
    return ok;
}

/* Waits until id's log holds "ready": its traps are set, its children forked. */
static void wait_ready(fx *f, const char *id)
{
    char log[256];
    log_of(f, id, log, sizeof log);
    contains_arg c = {log, "ready"};
    assert_true(run_until(f, pred_contains, &c, 5000));
}

/* ---- starting and stopping ---- */

static int start(fx *f, const char *id, char *const *argv, char *const *envp,
                 const char *workdir, uint64_t cap)
{
    char log[256];
    log_of(f, id, log, sizeof log);
    rt_pod p = {.id = id, .argv = argv, .envp = envp, .workdir = workdir, .log_path = log,
                .log_cap = cap};
    f->in_call = true;
    int rc = runtime_start(f->rt, &p);
    f->in_call = false;
    return rc;
}

static int start_sh(fx *f, const char *id, const char *script)
{
    char *const argv[] = {"sh", "-c", (char *)script, NULL};
    return start(f, id, argv, ENV, f->dir, 0);
}

static int stop(fx *f, const char *id, unsigned grace)
{
    f->in_call = true;
    int rc = runtime_stop(f->rt, id, grace);
    f->in_call = false;
    return rc;
}

static rt_callbacks callbacks(fx *f)
{
    rt_callbacks cb = {.on_started = cb_started, .on_exit = cb_exit, .arg = f};
    return cb;
}

static void watchdog_cb(uv_timer_t *t)
{
    fx *f = t->data;
    f->watchdog_fired = true;
    uv_stop(t->loop);
}

/* Runs the loop until it has nothing left, bounded by an unref'ed watchdog: after runtime_free
 * every process must be reaped and every handle closed, with not one callback. */
static void drain(fx *f, int nev_before)
{
    uv_timer_t wd;
    uv_timer_init(&f->loop, &wd);
    wd.data = f;
    uv_timer_start(&wd, watchdog_cb, 5000, 0);
    uv_unref((uv_handle_t *)&wd);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_false(f->watchdog_fired);
    uv_close((uv_handle_t *)&wd, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(f->nev, nev_before);
}

/* Every child is a pod leader, so its pid is a group to check, reported or not. */
static void note_children_as_groups(fx *f)
{
    DIR *d = opendir("/proc");
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d));) {
        pstat s;
        int pid = atoi(de->d_name);
        if (pid > 0 && read_pstat(pid, &s) && s.ppid == getpid() && f->ngroups < MAX_GROUPS)
            f->groups[f->ngroups++] = pid;
    }
    closedir(d);
}

static void free_runtime(fx *f)
{
    int before = f->nev;
    note_children_as_groups(f);
    f->in_call = true;
    runtime_free(f->rt);
    f->in_call = false;
    f->rt = NULL;
    drain(f, before);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/test_runtime.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    umask(022);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_timer_init(&f->loop, &f->tick);
    rt_callbacks cb = callbacks(f);
    f->rt = runtime_local_new(&f->loop, &cb);
    assert_non_null(f->rt);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (f->rt)
        free_runtime(f);
    uv_close((uv_handle_t *)&f->tick, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&f->loop), 0); /* no handle left behind */
    assert_int_equal(count_procs(is_child_of, getpid()), 0); /* no child, not even a zombie */
    for (int i = 0; i < f->ngroups; i++)
        assert_true(group_gone(f->groups[i], 2000));
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- exits ---- */

static void test_exit_zero(void **state)
{
    fx *f = *state;
    assert_int_equal(start_sh(f, "a", "exit 0"), 0);
    assert_int_equal(f->nev, 0); /* nothing from inside runtime_start */
    assert_int_equal(runtime_live(f->rt), 1);
    ev *e = wait_exit(f, "a", 5000);
    assert_int_equal(e->code, 0);
    assert_int_equal(e->sig, 0);
    assert_int_equal(e->err, 0);
    assert_int_equal(count_ev(f, "a", EV_STARTED), 1);
    assert_true(find_ev(f, "a", EV_STARTED, 0) < e);
    assert_int_equal(runtime_live(f->rt), 0);
}

static void test_exit_code(void **state)
{
    fx *f = *state;
    assert_int_equal(start_sh(f, "a", "exit 3"), 0);
    ev *e = wait_exit(f, "a", 5000);
    assert_int_equal(e->code, 3);
    assert_int_equal(e->sig, 0);
    assert_int_equal(e->err, 0);
}

static void test_killed_by_signal(void **state)
{
    fx *f = *state;
    assert_int_equal(start_sh(f, "a", "kill -9 $$"), 0);
    ev *e = wait_exit(f, "a", 5000);
    assert_int_equal(e->code, 137);
    assert_int_equal(e->sig, 9);
    assert_int_equal(e->err, 0);
}

/* ---- spawn failures ---- */

static void expect_failed(fx *f, const char *id, int err)
{
    ev *e = wait_exit(f, id, 5000);
    assert_int_equal(e->err, err);
    assert_int_equal(e->code, 128);
    assert_int_equal(e->sig, 0);
    assert_int_equal(count_ev(f, id, EV_STARTED), 0);
}

static void test_missing_command(void **state)
{
    fx *f = *state;
    char *const bare[] = {"no-such-command-tj", NULL};
    char *const abs[] = {"/nonexistent/tj/cmd", "x", NULL};
    char log[256];

    assert_int_equal(start(f, "bare", bare, ENV, NULL, 0), 0);
    assert_int_equal(start(f, "abs", abs, ENV, NULL, 0), 0);
    assert_int_equal(f->nev, 0);                     /* delivered later, not from runtime_start */
    assert_int_equal(start(f, "bare", bare, ENV, NULL, 0), -EEXIST); /* on_exit still owed */
    assert_int_equal(stop(f, "bare", 5), 0);         /* ...so stopping it is a no-op */
    assert_int_equal(runtime_live(f->rt), 0);
    expect_failed(f, "bare", -ENOENT);
    expect_failed(f, "abs", -ENOENT);
    assert_int_equal(stop(f, "bare", 5), -ESRCH);
    log_of(f, "bare", log, sizeof log);
    assert_int_equal(file_size(log), -1);            /* nothing left behind */
}

static void test_not_executable(void **state)
{
    fx *f = *state;
    char bin[200], tool[256], path_env[256];
    path_in(f, "bin", bin, sizeof bin);
    assert_int_equal(mkdir(bin, 0755), 0);
    snprintf(tool, sizeof tool, "%s/tool", bin);
    put_file(tool, "#!/bin/sh\necho no\n", 0644);
    snprintf(path_env, sizeof path_env, "PATH=%s", bin);
    char *const envp[] = {path_env, NULL};
    char *const argv[] = {"tool", NULL};
    char *const dir_argv[] = {bin, NULL}; /* a directory */

    assert_int_equal(start(f, "a", argv, envp, NULL, 0), 0);
    assert_int_equal(start(f, "b", dir_argv, envp, NULL, 0), 0);
    expect_failed(f, "a", -EACCES);
    expect_failed(f, "b", -EACCES);
}

/* The command exists but the child cannot chdir: posix_spawn reports it synchronously, we still
 * report it on the next turn, and the failed child has been reaped (by glibc). */
static void test_spawn_error_reported(void **state)
{
    fx *f = *state;
    char *const argv[] = {"sh", "-c", "exit 0", NULL};
    assert_int_equal(start(f, "a", argv, ENV, "/nonexistent/tj/workdir", 0), 0);
    assert_int_equal(f->nev, 0);
    expect_failed(f, "a", -ENOENT);
    assert_int_equal(count_procs(is_child_of, getpid()), 0);
}

/* ---- environment, workdir, PATH, log ---- */

static void test_env_exact(void **state)
{
    fx *f = *state;
    char *const envp[] = {"FOO=bar baz", "EMPTY=", "PATH=/usr/bin:/bin", "X=a=b", NULL};
    char *const argv[] = {"env", NULL}; /* prints its environment, nothing added */
    char log[256];
    assert_int_equal(start(f, "a", argv, envp, NULL, 0), 0);
    assert_int_equal(wait_exit(f, "a", 5000)->code, 0);
    log_of(f, "a", log, sizeof log);
    char *s = slurp(log, NULL);
    assert_string_equal(s, "FOO=bar baz\nEMPTY=\nPATH=/usr/bin:/bin\nX=a=b\n");
    free(s);

    /* NULL envp: an empty environment, not the daemon's */
    assert_int_equal(start(f, "b", (char *const[]){"/usr/bin/env", NULL}, NULL, NULL, 0), 0);
    assert_int_equal(wait_exit(f, "b", 5000)->code, 0);
    log_of(f, "b", log, sizeof log);
    s = slurp(log, NULL);
    assert_string_equal(s, "");
    free(s);
}

/* A pod starts with every signal at its default and none blocked, whatever the daemon's own
 * dispositions and mask (it ignores SIGPIPE; its threads may block signals), and with stdin on
 * /dev/null. glibc's posix_spawn leaves its two internal signals (32, 33: bits 31 and 32)
 * ignored; the log shim, which every pod of the daemon runs under, sets them back.
 * The spawned process reads its own status: a shell's child reading the shell's would race
 * with dash, which blocks every signal around each fork. */
static void test_clean_signals(void **state)
{
    fx *f = *state;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe, old_usr2;
    sigset_t blk, old_mask;
    sigemptyset(&blk);
    sigaddset(&blk, SIGUSR1);
    assert_int_equal(sigaction(SIGPIPE, &ign, &old_pipe), 0);
    assert_int_equal(sigaction(SIGUSR2, &ign, &old_usr2), 0);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &blk, &old_mask), 0);
    char *const argv[] = {"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL};
    char *const stdin_of[] = {"readlink", "/proc/self/fd/0", NULL};
    char shim[PATH_MAX]; /* the build's: BUILD/tests/test_runtime → BUILD/torchjob-logshim */
    ssize_t sl = readlink("/proc/self/exe", shim, sizeof shim - 32);
    assert_true(sl > 0);
    shim[sl] = 0;
    strcpy(strrchr(shim, '/'), "/../torchjob-logshim");
    char *const shimmed[] = {shim, "sh", "-c", "grep -E '^SigIgn' /proc/$$/status", NULL};
    char log[256];
    int rc = start(f, "a", argv, ENV, NULL, 0);
    int rc3 = start(f, "c", stdin_of, ENV, NULL, 0);
    int rc2 = access(shimmed[0], X_OK) == 0 ? start(f, "b", shimmed, ENV, NULL, 0) : -1;
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    sigaction(SIGUSR2, &old_usr2, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(wait_exit(f, "a", 5000)->code, 0);
    log_of(f, "a", log, sizeof log);
    char *s = slurp(log, NULL);
    assert_string_equal(s, "SigBlk:\t0000000000000000\nSigIgn:\t0000000180000000\n");
    free(s);
    assert_int_equal(rc3, 0);
    assert_int_equal(wait_exit(f, "c", 5000)->code, 0);
    log_of(f, "c", log, sizeof log);
    s = slurp(log, NULL);
    assert_string_equal(s, "/dev/null\n");
    free(s);
    assert_int_equal(rc2, 0); /* `make unit` builds the shim first */
    assert_int_equal(wait_exit(f, "b", 5000)->code, 0);
    log_of(f, "b", log, sizeof log);
    s = slurp(log, NULL);
    assert_non_null(strstr(s, " stdout F SigIgn:\t0000000000000000\n"));
    free(s);
}

static void test_workdir(void **state)
{
    fx *f = *state;
    char wd[200], real[PATH_MAX], want[PATH_MAX + 2], log[256];
    path_in(f, "work dir", wd, sizeof wd);
    assert_int_equal(mkdir(wd, 0755), 0);
    assert_non_null(realpath(wd, real));
    char *const argv[] = {"pwd", NULL};
    assert_int_equal(start(f, "a", argv, ENV, wd, 0), 0);
    assert_int_equal(wait_exit(f, "a", 5000)->code, 0);
    log_of(f, "a", log, sizeof log);
    char *s = slurp(log, NULL);
    snprintf(want, sizeof want, "%s\n", real);
    assert_string_equal(s, want);
    free(s);
}

static void test_path_from_envp(void **state)
{
    fx *f = *state;
    char bin[200], tool[256], path_env[256], log[256];
    path_in(f, "bin", bin, sizeof bin);
    assert_int_equal(mkdir(bin, 0755), 0);
    snprintf(tool, sizeof tool, "%s/tj-tool", bin);
    put_file(tool, "#!/bin/sh\necho \"tool $0 $1\"\n", 0755);
    snprintf(path_env, sizeof path_env, "PATH=/nonexistent:%s:/bin", bin);
    char *const envp[] = {path_env, NULL};
    char *const argv[] = {"tj-tool", "arg", NULL};

    /* found through envp's PATH (not the daemon's), argv[0] passed as given */
    assert_int_equal(start(f, "a", argv, envp, NULL, 0), 0);
    assert_int_equal(wait_exit(f, "a", 5000)->code, 0);
    log_of(f, "a", log, sizeof log);
    char *s = slurp(log, NULL);
    char want[300];
    snprintf(want, sizeof want, "tool %s arg\n", tool);
    assert_string_equal(s, want);
    free(s);

    /* the same name with the daemon's PATH: not found */
    assert_int_equal(start(f, "b", argv, ENV, NULL, 0), 0);
    expect_failed(f, "b", -ENOENT);

    /* no PATH in envp: the daemon's PATH finds sh */
    char *const noenv[] = {"A=1", NULL};
    char *const sh[] = {"sh", "-c", "exit 4", NULL};
    assert_int_equal(start(f, "c", sh, noenv, NULL, 0), 0);
    assert_int_equal(wait_exit(f, "c", 5000)->code, 4);
}

static void test_log_stdout_stderr(void **state)
{
    fx *f = *state;
    char log[256], deep[256];
    /* parents created as needed */
    snprintf(deep, sizeof deep, "%s/x/y/z/pod.log", f->dir);
    char *const argv[] = {"sh", "-c", "echo out; echo err >&2; read l || echo stdin-eof", NULL};
    rt_pod p = {.id = "deep", .argv = argv, .envp = ENV, .log_path = deep};
    assert_int_equal(runtime_start(f->rt, &p), 0);
    assert_int_equal(wait_exit(f, "deep", 5000)->code, 0);
    char *s = slurp(deep, NULL);
    assert_string_equal(s, "out\nerr\nstdin-eof\n"); /* stdin is /dev/null */
    free(s);
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    /* appended, not truncated */
    char logs[200];
    path_in(f, "logs", logs, sizeof logs);
    assert_int_equal(mkdir(logs, 0755), 0);
    log_of(f, "a", log, sizeof log);
    put_file(log, "before\n", 0600);
    assert_int_equal(start_sh(f, "a", "echo after"), 0);
    assert_int_equal(wait_exit(f, "a", 5000)->code, 0);
    s = slurp(log, NULL);
    assert_string_equal(s, "before\nafter\n");
    free(s);
}

static void test_own_session(void **state)
{
    fx *f = *state;
    assert_int_equal(start_sh(f, "a", "echo ready; exec sleep 100"), 0);
    int pid = wait_started(f, "a", 5000)->pid;
    pstat s;
    assert_true(read_pstat(pid, &s));
    assert_int_equal(s.pgrp, pid); /* its own group: kill(-pid) reaches its tree */
    assert_int_equal(s.sid, pid);  /* its own session: a Ctrl-C of the daemon does not */
    assert_int_not_equal(s.pgrp, getpgrp());
    assert_int_equal(stop(f, "a", 0), 0);
    assert_int_equal(wait_exit(f, "a", 5000)->sig, SIGKILL);
}

/* ---- stop ---- */

static uint64_t ms_since(uint64_t t0_ns, const ev *e) { return (e->ns - t0_ns) / 1000000; }

static void test_stop_term_trapped(void **state)
{
    fx *f = *state;
    assert_int_equal(start_sh(f, "a", "trap 'exit 0' TERM; echo ready; while :; do sleep 1; done"),
                     0);
    wait_ready(f, "a");
    uint64_t t0 = uv_hrtime();
    assert_int_equal(stop(f, "a", 5), 0);
    ev *e = wait_exit(f, "a", 5000);
    assert_int_equal(e->code, 0);
    assert_int_equal(e->sig, 0);
    assert_true(ms_since(t0, e) < 4000); /* it left within its grace: no SIGKILL needed */
    assert_int_equal(stop(f, "a", 5), -ESRCH);
}

static void test_stop_term_ignored(void **state)
{
    fx *f = *state;
    assert_int_equal(start_sh(f, "a", "trap '' TERM; echo ready; while :; do sleep 1; done"), 0);
    wait_ready(f, "a");
    uint64_t t0 = uv_hrtime();
    assert_int_equal(stop(f, "a", 1), 0);
    ev *e = wait_exit(f, "a", 5000);
    assert_int_equal(e->code, 137);
    assert_int_equal(e->sig, SIGKILL);
    assert_true(ms_since(t0, e) >= 1000); /* never before the grace */
    assert_true(ms_since(t0, e) < 3000);
}

static void test_stop_grace_zero(void **state)
{
    fx *f = *state;
    assert_int_equal(start_sh(f, "a", "trap '' TERM; echo ready; while :; do sleep 1; done"), 0);
    wait_ready(f, "a");
    uint64_t t0 = uv_hrtime();
    assert_int_equal(stop(f, "a", 0), 0);
    ev *e = wait_exit(f, "a", 5000);
    assert_int_equal(e->code, 137);
    assert_int_equal(e->sig, SIGKILL);
    assert_true(ms_since(t0, e) < 900);
    assert_int_equal(stop(f, "a", 0), -ESRCH);
}

static void test_stop_shortens(void **state)
{
    fx *f = *state;
    const char *ignore = "trap '' TERM; echo ready; while :; do sleep 1; done";
    assert_int_equal(start_sh(f, "a", ignore), 0);
    assert_int_equal(start_sh(f, "b", ignore), 0);
    wait_ready(f, "a");
    wait_ready(f, "b");

    /* a: 30 s, shortened to 1 s; a later 10 s does not lengthen it again */
    uint64_t t0 = uv_hrtime();
    assert_int_equal(stop(f, "a", 30), 0);
    uint64_t t1 = uv_hrtime();
    assert_int_equal(stop(f, "a", 1), 0);
    assert_int_equal(stop(f, "a", 10), 0);
    /* b: 30 s, then 0: SIGKILL at once */
    assert_int_equal(stop(f, "b", 30), 0);
    assert_int_equal(stop(f, "b", 0), 0);
    assert_int_equal(stop(f, "b", 0), 0); /* still being killed: on_exit is owed */

    ev *eb = wait_exit(f, "b", 5000);
    assert_int_equal(eb->sig, SIGKILL);
    assert_true(ms_since(t0, eb) < 900);
    ev *ea = wait_exit(f, "a", 5000);
    assert_int_equal(ea->sig, SIGKILL);
    assert_true(ms_since(t1, ea) >= 1000);
    assert_true(ms_since(t0, ea) < 3000);
}

static void stop_in_exit_hook(fx *f, const ev *e)
{
    if (f->nhook < 4)
        f->hook_rc[f->nhook++] = runtime_stop(f->rt, e->id, 0);
}

static void test_stop_unknown_or_exited(void **state)
{
    fx *f = *state;
    assert_int_equal(stop(f, "never", 1), -ESRCH);
    assert_int_equal(start_sh(f, "a", "echo ready; exec sleep 100"), 0);
    assert_int_equal(start_sh(f, "a", "exit 0"), -EEXIST); /* id already running */
    wait_ready(f, "a");
    f->exit_hook = stop_in_exit_hook;
    assert_int_equal(stop(f, "a", 0), 0);
    assert_int_equal(wait_exit(f, "a", 5000)->sig, SIGKILL);
    assert_int_equal(f->nhook, 1);
    assert_int_equal(f->hook_rc[0], -ESRCH); /* from inside on_exit: already exited */
    assert_int_equal(stop(f, "a", 0), -ESRCH);
    assert_int_equal(stop(f, "a", 30), -ESRCH);
}

/* The controller's restart pattern: start the same id again from inside on_exit. */
static void restart_in_exit_hook(fx *f, const ev *e)
{
    if (f->nhook < 1) {
        char *const argv[] = {"sh", "-c", "exit 5", NULL};
        rt_pod p = {.id = e->id, .argv = argv, .envp = ENV, .log_path = NULL};
        f->hook_rc[f->nhook++] = runtime_start(f->rt, &p);
    }
}

static bool pred_two_exits(fx *f, const void *id) { return find_ev(f, id, EV_EXIT, 1) != NULL; }

static void test_restart_same_id_from_on_exit(void **state)
{
    fx *f = *state;
    f->exit_hook = restart_in_exit_hook;
    assert_int_equal(start_sh(f, "a", "exit 1"), 0);
    assert_true(run_until(f, pred_two_exits, "a", 5000));
    assert_int_equal(f->hook_rc[0], 0);
    assert_int_equal(find_ev(f, "a", EV_EXIT, 0)->code, 1);
    assert_int_equal(find_ev(f, "a", EV_EXIT, 1)->code, 5);
    assert_int_equal(count_ev(f, "a", EV_STARTED), 2);
    assert_int_equal(runtime_live(f->rt), 0);
}

/* ---- process groups ---- */

static int read_pid_file(fx *f, const char *name)
{
    char path[256];
    path_in(f, name, path, sizeof path);
    char *s = slurp(path, NULL);
    assert_non_null(s);
    int pid = atoi(s);
    free(s);
    assert_true(pid > 0);
    return pid;
}

static void test_grandchild_killed_on_stop(void **state)
{
    fx *f = *state;
    assert_int_equal(start_sh(f, "a", "sleep 100 & echo $! > gc.pid; echo ready; sleep 100"), 0);
    int pid = wait_started(f, "a", 5000)->pid;
    wait_ready(f, "a");
    int gc = read_pid_file(f, "gc.pid");
    assert_true(count_procs(alive_in_group, pid) >= 3); /* sh and both sleeps */
    assert_int_equal(stop(f, "a", 5), 0);
    ev *e = wait_exit(f, "a", 5000);
    assert_int_equal(e->sig, SIGTERM); /* sh does not trap TERM */
    assert_int_equal(e->code, 128 + SIGTERM);
    assert_true(group_gone(pid, 2000));
    assert_false(pid_alive(gc));
}

/* SIGTERM goes to the whole group, so a worker gets its own chance to shut down cleanly: the
 * leader waits for its worker, which exits 0 only after seeing TERM itself. */
static void test_stop_term_reaches_group(void **state)
{
    fx *f = *state;
    char log[256];
    assert_int_equal(start_sh(f, "a", "trap 'wait $w; exit 7' TERM; "
                                      "sh -c 'trap \"echo worker-term; exit 0\" TERM; echo ready; "
                                      "while :; do sleep 0.05; done' & w=$!; wait $w"),
                     0);
    wait_ready(f, "a");
    assert_int_equal(stop(f, "a", 5), 0);
    ev *e = wait_exit(f, "a", 5000);
    assert_int_equal(e->code, 7);
    assert_int_equal(e->sig, 0);
    log_of(f, "a", log, sizeof log);
    char *s = slurp(log, NULL);
    assert_non_null(strstr(s, "worker-term\n"));
    free(s);
}

/* The leader exits on its own: the sweep SIGKILLs what it left in its group. */
static void test_grandchild_killed_when_leader_exits(void **state)
{
    fx *f = *state;
    assert_int_equal(start_sh(f, "a", "trap '' TERM; sleep 100 & echo $! > gc.pid; exit 0"), 0);
    ev *e = wait_exit(f, "a", 5000);
    assert_int_equal(e->code, 0);
    int pid = find_ev(f, "a", EV_STARTED, 0)->pid;
    int gc = read_pid_file(f, "gc.pid");
    assert_true(group_gone(pid, 2000));
    assert_false(pid_alive(gc));
}

/* ---- log cap ---- */

#define LINE100 "0123456789012345678901234567890123456789012345678901234567890123456789" \
                "01234567890123456789012345678\n"
#define WRITE_6000 "i=0; while [ $i -lt 60 ]; do printf '%s' '" LINE100 "'; i=$((i+1)); done; "

static bool pred_rotated(fx *f, const void *log)
{
    (void)f;
    char old[300];
    snprintf(old, sizeof old, "%s.1", (const char *)log);
    long long n = file_size(log);
    return file_size(old) > 0 && n >= 0 && n <= 1000;
}

static void test_log_cap_rotation_running(void **state)
{
    fx *f = *state;
    char log[256], old[300], go[256];
    log_of(f, "a", log, sizeof log);
    snprintf(old, sizeof old, "%s.1", log);
    path_in(f, "go", go, sizeof go);
    char *const argv[] = {"sh", "-c",
                          WRITE_6000 "while [ ! -e go ]; do sleep 0.02; done; echo after", NULL};
    assert_int_equal(start(f, "a", argv, ENV, f->dir, 1000), 0);
    /* the 500 ms check rotates it while it runs */
    assert_true(run_until(f, pred_rotated, log, 3000));
    assert_true(file_size(old) >= 1000);
    assert_true(file_size(log) < 6000);
    put_file(go, "", 0644);
    assert_int_equal(wait_exit(f, "a", 5000)->code, 0);
    /* the child's O_APPEND fd kept working: it wrote from offset 0, no hole of NULs */
    size_t n;
    char *s = slurp(log, &n);
    assert_true(n >= 6 && n <= 1000 + 6);
    assert_null(memchr(s, '\0', n));
    assert_string_equal(s + n - 6, "after\n");
    free(s);
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.1.tmp", log);
    assert_int_equal(file_size(tmp), -1);
}

/* A pod that writes past its cap and exits at once is rotated at exit, without waiting. */
static void test_log_cap_rotation_at_exit(void **state)
{
    fx *f = *state;
    char log[256], old[300];
    log_of(f, "a", log, sizeof log);
    snprintf(old, sizeof old, "%s.1", log);
    char *const argv[] = {"sh", "-c", WRITE_6000 "exit 0", NULL};
    assert_int_equal(start(f, "a", argv, ENV, f->dir, 1000), 0);
    assert_int_equal(wait_exit(f, "a", 5000)->code, 0);
    assert_int_equal(file_size(old), 6000);
    assert_int_equal(file_size(log), 0);

    /* uncapped: never rotated */
    char log_b[256], old_b[300];
    log_of(f, "b", log_b, sizeof log_b);
    snprintf(old_b, sizeof old_b, "%s.1", log_b);
    assert_int_equal(start(f, "b", argv, ENV, f->dir, 0), 0);
    assert_int_equal(wait_exit(f, "b", 5000)->code, 0);
    assert_int_equal(file_size(log_b), 6000);
    assert_int_equal(file_size(old_b), -1);
}

/* ---- scale ---- */

#define MANY 50

static bool pred_all_started_odd(fx *f, const void *arg)
{
    (void)arg;
    for (int i = 1; i < MANY; i += 2) {
        char id[16];
        snprintf(id, sizeof id, "p%d", i);
        if (!find_ev(f, id, EV_STARTED, 0))
            return false;
    }
    return true;
}

static bool pred_all_exited(fx *f, const void *arg)
{
    (void)arg;
    int n = 0;
    for (int i = 0; i < f->nev; i++)
        n += f->ev[i].kind == EV_EXIT;
    return n == MANY;
}

static void test_many_concurrent(void **state)
{
    fx *f = *state;
    for (int i = 0; i < MANY; i++) {
        char id[16], script[64];
        snprintf(id, sizeof id, "p%d", i);
        if (i % 2 == 0)
            snprintf(script, sizeof script, "exit %d", i % 10);
        else
            snprintf(script, sizeof script, "sleep 100");
        assert_int_equal(start_sh(f, id, script), 0);
    }
    assert_int_equal(runtime_live(f->rt), MANY);
    assert_true(run_until(f, pred_all_started_odd, NULL, 5000));
    for (int i = 1; i < MANY; i += 2) {
        char id[16];
        snprintf(id, sizeof id, "p%d", i);
        assert_int_equal(stop(f, id, i % 4 == 1 ? 0 : 5), 0); /* sh dies of TERM or KILL */
    }
    assert_true(run_until(f, pred_all_exited, NULL, 10000));
    for (int i = 0; i < MANY; i++) {
        char id[16];
        snprintf(id, sizeof id, "p%d", i);
        ev *e = find_ev(f, id, EV_EXIT, 0);
        assert_non_null(e);
        assert_int_equal(e->err, 0);
        if (i % 2 == 0) {
            assert_int_equal(e->code, i % 10);
        } else {
            int sig = i % 4 == 1 ? SIGKILL : SIGTERM;
            assert_int_equal(e->sig, sig);
            assert_int_equal(e->code, 128 + sig);
        }
    }
    assert_int_equal(runtime_live(f->rt), 0);
    assert_int_equal(count_procs(is_child_of, getpid()), 0);
}

/* ---- runtime_free ---- */

static void test_free_with_live(void **state)
{
    fx *f = *state;
    const char *ignore = "trap '' TERM; sleep 100 & echo ready; while :; do sleep 1; done";
    assert_int_equal(start_sh(f, "a", "echo ready; exec sleep 100"), 0);
    assert_int_equal(start_sh(f, "b", ignore), 0);
    assert_int_equal(start_sh(f, "c", ignore), 0);
    wait_ready(f, "a");
    wait_ready(f, "b");
    wait_ready(f, "c");
    assert_int_equal(stop(f, "c", 30), 0); /* TERMINATING, its timer armed */
    /* started, but its on_started not yet delivered when free comes */
    assert_int_equal(start_sh(f, "d", "exec sleep 100"), 0);
    /* a failed start whose on_exit is still owed */
    assert_int_equal(start(f, "e", (char *const[]){"no-such-command-tj", NULL}, ENV, NULL, 0), 0);
    assert_int_equal(runtime_live(f->rt), 4);
    uint64_t t0 = uv_hrtime();
    free_runtime(f); /* no callback after the free, every handle closed, loop drained */
    assert_true(uv_hrtime() - t0 < 2000000000ull);
    assert_int_equal(count_ev(f, "d", EV_STARTED), 0);
    assert_int_equal(count_ev(f, "e", EV_EXIT), 0);
    assert_int_equal(count_procs(is_child_of, getpid()), 0);
    /* the teardown checks that no process of a, b (with its grandchild), c or d is alive */
}

static void free_in_hook(fx *f, const ev *e)
{
    if (f->rt && strcmp(e->id, "a") == 0) {
        note_children_as_groups(f);
        runtime_free(f->rt);
        f->rt = NULL;
    }
}

/* runtime_free from inside on_exit: the runtime must outlive the callback that freed it. */
static void test_free_from_on_exit(void **state)
{
    fx *f = *state;
    assert_int_equal(start_sh(f, "b", "echo ready; exec sleep 100"), 0);
    wait_ready(f, "b");
    f->exit_hook = free_in_hook;
    assert_int_equal(start_sh(f, "a", "exit 0"), 0);
    assert_true(run_until(f, pred_exited, "a", 5000));
    assert_null(f->rt);
    drain(f, f->nev);
    assert_int_equal(count_ev(f, "b", EV_EXIT), 0);
}

/* runtime_free from on_started, in the middle of a turn's notifications: those still owed (c's
 * on_started, e's on_exit) are dropped. */
static void test_free_from_on_started(void **state)
{
    fx *f = *state;
    f->started_hook = free_in_hook;
    assert_int_equal(start_sh(f, "a", "exec sleep 100"), 0);
    assert_int_equal(start_sh(f, "c", "exec sleep 100"), 0);
    assert_int_equal(start(f, "e", (char *const[]){"no-such-command-tj", NULL}, ENV, NULL, 0), 0);
    assert_true(run_until(f, pred_started, "a", 5000));
    assert_null(f->rt);
    drain(f, f->nev);
    assert_int_equal(f->nev, 1);
}

/* ---- debug trace ---- */

static void test_debug_trace(void **state)
{
    fx *f = *state;
    char trace[256];
    path_in(f, "trace", trace, sizeof trace);
    free_runtime(f);
    setenv("TORCHJOBD_DEBUG", "1", 1);
    rt_callbacks cb = callbacks(f);
    f->rt = runtime_local_new(&f->loop, &cb);
    unsetenv("TORCHJOBD_DEBUG");

    fflush(stderr);
    int saved = dup(2), fd = open(trace, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    int rc = start_sh(f, "a", "exit 0");
    if (rc == 0)
        wait_exit(f, "a", 5000);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(rc, 0);

    char *s = slurp(trace, NULL);
    assert_non_null(strstr(s, "torchjobd: runtime: a (pid "));
    assert_non_null(strstr(s, "NEW -> RUNNING"));
    assert_non_null(strstr(s, "RUNNING -> EXITED"));
    free(s);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_exit_zero),
        T(test_exit_code),
        T(test_killed_by_signal),
        T(test_missing_command),
        T(test_not_executable),
        T(test_spawn_error_reported),
        T(test_env_exact),
        T(test_clean_signals),
        T(test_workdir),
        T(test_path_from_envp),
        T(test_log_stdout_stderr),
        T(test_own_session),
        T(test_stop_term_trapped),
        T(test_stop_term_ignored),
        T(test_stop_grace_zero),
        T(test_stop_shortens),
        T(test_stop_unknown_or_exited),
        T(test_restart_same_id_from_on_exit),
        T(test_grandchild_killed_on_stop),
        T(test_grandchild_killed_when_leader_exits),
        T(test_stop_term_reaches_group),
        T(test_log_cap_rotation_running),
        T(test_log_cap_rotation_at_exit),
        T(test_many_concurrent),
        T(test_free_with_live),
        T(test_free_from_on_exit),
        T(test_free_from_on_started),
        T(test_debug_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
