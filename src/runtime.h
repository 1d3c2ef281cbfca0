/* runtime — where pods run. The controller talks only to this interface, so a Slurm runtime can
 * replace the local one without touching the controller. Asynchronous: every outcome comes back
 * through the callbacks, on the loop thread.
 *
 *   runtime_start ──► STARTING ──spawned──► RUNNING ──exit/signal──► EXITED (on_exit once)
 *                         └──spawn failed──► on_exit(exit_code 128, signal 0, err < 0)
 *   runtime_stop(grace) on RUNNING: SIGTERM to the process group, SIGKILL when grace expires
 *   (grace 0: SIGKILL now). A reaped process is never signalled.
 */
#ifndef TJ_RUNTIME_H
#define TJ_RUNTIME_H
#include <stddef.h>
#include <stdint.h>
#include <spawn.h>
#include <uv.h>

typedef struct runtime runtime_t;

typedef struct rt_pod {
    const char *id;        /* unique key of this run, e.g. the pod uid + restart count */
    char *const *argv;     /* command + args, NULL-terminated; argv[0] looked up in PATH */
    char *const *envp;     /* "K=V", NULL-terminated: the complete environment */
    const char *workdir;   /* or NULL: the daemon's working directory */
    const char *log_path;  /* stdout and stderr are appended here (created 0644) */
    uint64_t log_cap;      /* bytes kept in log_path; 0 = unlimited */
} rt_pod;

typedef struct rt_callbacks {
    /* The process is running (pid > 0). */
    void (*on_started)(void *arg, const char *id, int pid);
    /* The process ended: exit_code (0..255) or term_signal (>0, exit_code = 128+signal), or
     * it could not be started (err < 0, e.g. -ENOENT for a missing command; exit_code 128). */
    void (*on_exit)(void *arg, const char *id, int exit_code, int term_signal, int err);
    void *arg;
} rt_callbacks;

runtime_t *runtime_local_new(uv_loop_t *loop, const rt_callbacks *cb);
/* Start p. Returns 0 (the outcome arrives through the callbacks) or < 0 if id is already running. */
int runtime_start(runtime_t *rt, const rt_pod *p);
/* Stop id: SIGTERM to its process group, SIGKILL after grace_s seconds (0 = SIGKILL now). A
 * later call may only shorten the grace. Returns 0, or -ESRCH if id is not running. */
int runtime_stop(runtime_t *rt, const char *id, unsigned grace_s);
/* execvp's search for name on envp's PATH (else the daemon's), relative names from workdir:
 * 0 and *out (malloc'd, with a '/'), or -ENOENT, -EACCES, -ENOMEM. */
int runtime_resolve_cmd(const char *name, char *const *envp, const char *workdir, char **out);
/* The attributes every child of the daemon is spawned with: workdir (if any), a session and
 * process group of its own, every signal at its default and none blocked. */
void runtime_spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at, const char *workdir);
/* Number of live processes. */
size_t runtime_live(const runtime_t *rt);
/* Kill every process (SIGKILL to each group) and free the runtime once they are reaped. */
void runtime_free(runtime_t *rt);
#endif
