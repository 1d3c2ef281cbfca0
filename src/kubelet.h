/* kubelet — runs the pods bound to this machine (spec.nodeName "localhost") through the runtime
 * interface and writes their status as a kubelet would: phase, conditions, containerStatuses,
 * restarts in place with back-off (Always/OnFailure), graceful termination on delete.
 * The main container (the one named "pytorch", else the first) carries the pod's state machine,
 * its probes and the worker's wait for its master; the other containers run beside it. */
#ifndef TJ_KUBELET_H
#define TJ_KUBELET_H
#include "api.h"
#include "events.h"
#include "runtime.h"

typedef struct kubelet kubelet_t;

typedef struct kubelet_opts {
    const char *log_dir;          /* DIR/logs: <ns>/<pod>/<container>.log (+ .previous.log) */
    unsigned backoff_initial_ms;  /* first restart delay (kubelet: 10 s), doubling to backoff_max */
    unsigned backoff_max_ms;      /* kubelet: 300 s */
    unsigned master_wait_s;       /* workers wait this long for their master (upstream init: 200 s) */
    const char *shim;             /* torchjob-logshim: CRI-format logs with per-line timestamps;
                                   * NULL = the command writes its log file directly */
} kubelet_opts;

/* Pods' events (Scheduled, Pulled, Created, Started, Failed, BackOff, Killing) go to ev. */
kubelet_t *kubelet_new(api_t *api, events_t *ev, const kubelet_opts *o);
/* Kill every process and release (the loop must run afterwards for the close callbacks). */
void kubelet_free(kubelet_t *k);
size_t kubelet_live(const kubelet_t *k);
/* Path of a pod container's log (previous: the run before the current one). Writes into buf. */
void kubelet_log_path(const kubelet_t *k, const char *ns, const char *pod, const char *container,
                      int previous, char *buf, size_t cap);
/* name is one of job's pod names: <job>-master-<i> or <job>-worker-<i>. */
int kubelet_is_job_pod_name(const char *name, const char *job);
/* Remove the logs of job's pods that no longer exist: a job's logs live as long as the job. */
void kubelet_remove_job_logs(kubelet_t *k, const char *ns, const char *job);
/* The running process of a pod's container, for an exec into it: 0 with the environment it was
 * started with (NULL-terminated; valid until the loop turns), its working directory (NULL: the
 * daemon's) and its run id; -1 when that container has no running process. */
int kubelet_exec_target(const kubelet_t *k, const char *ns, const char *pod, const char *container,
                        char *const **env, const char **workdir, char *run_id, size_t cap);
/* fn(arg, run_id) when a container's process has ended (exec sessions in it end too). */
void kubelet_on_run_end(kubelet_t *k, void (*fn)(void *arg, const char *run_id), void *arg);
/* Is the pod's process still running (for logs -f)? */
int kubelet_pod_running(const kubelet_t *k, const char *ns, const char *pod);
#endif
