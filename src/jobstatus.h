/* jobstatus — a PyTorchJob's status: its conditions (the only place that computes them) and the
 * reconcile pass that derives the next status and the actions on pods, services and events from
 * the decoded job and what was observed (training-operator v1.9, spec §5.1–§6.9, §7). Pure: no
 * I/O, the caller passes the clock.
 *
 * The caller (the job controller) owns the I/O:
 *   1. decode the job (ptj_decode), list its pods and services (ptj_claim, adopting orphans, + ptj_*_observe);
 *      upstream's "expectations" are the caller's: observed children must include the effect of
 *      the previous pass's actions (apply them before reconciling again);
 *   2. jobstatus_reconcile();
 *   3. write result.status through /status when it is non-NULL and differs (json_equal) from the
 *      stored one; then apply result.acts in order, recording each action's event when it
 *      succeeded, or jobstatus_fail_reason()/jobstatus_fail_message() when it failed
 *      (DELETE_JOB is always the last action); a create that fails ends the pass there: the
 *      later actions are not applied and no status but the Created condition is written
 *      (upstream's ReconcilePods/ReconcileServices return the error before UpdateJobStatus);
 *   4. if result.requeue_after >= 0, reconcile again after that many seconds (0 = at once).
 *
 * Deviations from upstream, on purpose (spec §11 and local fixes):
 *  - activeDeadlineSeconds arms a requeue at startTime + deadline (upstream has no real timer).
 *  - ExitCode-permanent failures (exit 0..127) set completionTime, so TTL applies.
 *  - Every replica type gets its selector, even after the Master-success early return.
 *  - Slots between `replicas` and the highest observed index are not filled with new pods or
 *    services (upstream creates then deletes them, a loop).
 *  - On the backoff/deadline and suspend paths every observed service is deleted, not only those
 *    named like a still-existing pod. Like upstream (faithful, issue #3419) these paths ignore
 *    cleanPodPolicy and delete all pods.
 *  - The finished-job TTL uses now >= completionTime + ttl (second precision).
 *  - Pods without a usable replica-type/replica-index label, and pods beyond a slot's first, are
 *    ignored (upstream logs).
 *  - No HPA, PodGroup/gang scheduling, or lastReconcileTime (kept as read).
 */
#ifndef TJ_JOBSTATUS_H
#define TJ_JOBSTATUS_H
#include "pytorchjob.h"

#define PTJ_COND_CREATED "Created"
#define PTJ_COND_RUNNING "Running"
#define PTJ_COND_RESTARTING "Restarting"
#define PTJ_COND_SUCCEEDED "Succeeded"
#define PTJ_COND_FAILED "Failed"
#define PTJ_COND_SUSPENDED "Suspended"
#define PTJ_TRUE "True"
#define PTJ_FALSE "False"

#define PTJ_REASON_CREATED "PyTorchJobCreated"
#define PTJ_REASON_RUNNING "PyTorchJobRunning"
#define PTJ_REASON_RESTARTING "PyTorchJobRestarting"
#define PTJ_REASON_SUCCEEDED "PyTorchJobSucceeded"
#define PTJ_REASON_FAILED "PyTorchJobFailed"
#define PTJ_REASON_SUSPENDED "PyTorchJobSuspended"
#define PTJ_REASON_RESUMED "PyTorchJobResumed"

#define PTJ_EV_NORMAL "Normal"
#define PTJ_EV_WARNING "Warning"

/* ---- status ----------------------------------------------------------------------------- */

/* Decode .status (NULL or not an object = empty status) into s. Returns 0. */
int jobstatus_decode(const json_t *status, ptj_status *s);
/* The full status object (omitempty like upstream): a new reference. */
json_t *jobstatus_encode(const ptj_status *s);
/* Deep copy src into dst (dst uninitialised). */
void jobstatus_copy(ptj_status *dst, const ptj_status *src);
void jobstatus_free(ptj_status *s);

/* The condition of that type, or NULL. Borrowed from s. */
const ptj_cond *jobstatus_cond(const ptj_status *s, const char *type);
/* Whether a condition of that type has status True. */
int jobstatus_is(const ptj_status *s, const char *type);
/* Succeeded or Failed is True. */
int jobstatus_finished(const ptj_status *s);

/* Set a condition by the rules of §6.1:
 *  1. a Failed=True condition freezes the list (Failed is sticky);
 *  2. same type, status and reason → no-op (message and times untouched);
 *  3. otherwise the old one is removed and the new one appended at the end with both times =
 *     now, except lastTransitionTime is kept when only the reason changed;
 *  4. Running and Restarting exclude each other; setting Succeeded or Failed flips an existing
 *     Running to False in place.
 * status is PTJ_TRUE or PTJ_FALSE. Returns 1 when s changed, else 0. */
int jobstatus_set_cond(ptj_status *s, const char *type, const char *status, const char *reason,
                       const char *message, time_t now);

/* Set the Created condition every pass starts with (upstream adds it on the job's create event)
 * at the job's creationTimestamp. Returns 1 when s changed. */
int jobstatus_set_created(ptj_status *s, const ptj_job *j, time_t now);

/* ---- reconcile -------------------------------------------------------------------------- */

typedef enum {
    PTJ_ACT_CREATE_POD,  /* name, obj */
    PTJ_ACT_DELETE_POD,  /* name */
    PTJ_ACT_CREATE_SVC,  /* name, obj */
    PTJ_ACT_DELETE_SVC,  /* name */
    PTJ_ACT_EVENT,       /* event_type, reason, message: record on the job */
    PTJ_ACT_DELETE_JOB,  /* name: TTL expired; default (background) propagation */
} ptj_act_kind;

typedef struct ptj_action {
    ptj_act_kind kind;
    char *name;             /* the pod, service or job; NULL for PTJ_ACT_EVENT */
    json_t *obj;            /* CREATE_*: the object to create (owned); else NULL */
    /* PTJ_ACT_EVENT: the event. Others: the event to record once the action succeeded
     * (SuccessfulCreatePod "Created pod: <pod>", SuccessfulDeletePod "Deleted pod: <pod>",
     * SuccessfulCreateService, SuccessfulDeleteService, and for DELETE_JOB upstream's
     * SuccessfulDeletePod "Deleted job: <job>"). */
    const char *event_type; /* PTJ_EV_NORMAL / PTJ_EV_WARNING, static */
    char *reason, *message; /* owned */
} ptj_action;

typedef struct ptj_result {
    json_t *status;        /* the whole next .status (new reference); NULL = leave it alone */
    ptj_action *acts;      /* owned */
    size_t nacts, cap;
    int64_t requeue_after; /* seconds; -1 = no timer */
} ptj_result;

/* One reconcile pass of job j (spec §5.1) given its observed pods and services at time now.
 * port = the job's allocated port (see pytorchjob.h). Fills out (zeroed first); the caller
 * frees it with jobstatus_result_free(). A job being deleted, or managed by someone else
 * (runPolicy.managedBy ≠ kubeflow.org/training-operator), gives no status and no actions.
 * Returns 0 (no failure mode besides allocation, which aborts). */
int jobstatus_reconcile(const ptj_job *j, const ptj_pod *pods, size_t npods, const ptj_svc *svcs,
                        size_t nsvcs, int port, time_t now, ptj_result *out);
void jobstatus_result_free(ptj_result *r);

/* The Warning event for an action that failed: reason FailedCreatePod / FailedDeletePod /
 * FailedCreateService / FailedDeleteService (FailedDeletePod for DELETE_JOB, as upstream);
 * message "Error creating: <err>" / "Error deleting: <err>" (malloc'ed). NULL for EVENT. */
const char *jobstatus_fail_reason(ptj_act_kind k);
char *jobstatus_fail_message(ptj_act_kind k, const char *err);
#endif
