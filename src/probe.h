/* probe — a running container's startup, liveness and readiness probes, as kubelet's prober
 * runs them: exec (a command with the container's environment), httpGet and tcpSocket against
 * 127.0.0.1 (the pod's IP here), on their own timers, with their thresholds. What they conclude
 * goes back to the kubelet through the callbacks, on the loop thread. */
#ifndef TJ_PROBE_H
#define TJ_PROBE_H
#include <jansson.h>
#include <uv.h>

typedef struct probeset probeset;

typedef struct probe_cb {
    /* readiness or startup changed: probes_ready/probes_started tell the new state */
    void (*changed)(void *arg);
    /* a probe failed once: kind "Liveness", "Readiness" or "Startup", kubelet's message */
    void (*failed)(void *arg, const char *kind, const char *msg);
    /* liveness or startup failed failureThreshold times in a row: the container is to be killed
     * and restarted ("Container main failed liveness probe, will be restarted") */
    void (*unhealthy)(void *arg, const char *kind);
    void *arg;
} probe_cb;

/* The probes of container c (its livenessProbe, readinessProbe, startupProbe), started now for
 * a process that has just started; NULL when it has none. env and workdir: for exec probes
 * (copied). */
probeset *probes_start(uv_loop_t *loop, const json_t *c, char *const *env, const char *workdir,
                       const probe_cb *cb);
/* Stop every probe (a running exec probe is killed); no callback after this. */
void probes_stop(probeset *ps);
/* Readiness as containerStatuses[].ready has it: 1 without a readiness probe. */
int probes_ready(const probeset *ps);
/* containerStatuses[].started: 1 without a startup probe, else once it succeeded. */
int probes_started(const probeset *ps);
#endif
