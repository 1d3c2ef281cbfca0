/* pytorchjob — the typed view of a PyTorchJob, of its pods and services, and the objects the
 * controller builds from it (training-operator v1.9, spec §2–§5). Pure: no I/O, no clock.
 *
 * Decode once at the edge: ptj_decode() turns the stored JSON into a ptj_job with the defaults of
 * spec §3 applied in memory (never written back). Nothing outside this file walks
 * "spec"/"pytorchReplicaSpecs"/"Worker" by string. ptj_pod_observe()/ptj_svc_observe() do the same
 * for the job's children. The reconciler (jobstatus.h) works only on these structs.
 *
 * Local-runtime differences from upstream, on purpose (all pods are processes on one host):
 *  - MASTER_ADDR / PET_MASTER_ADDR are "127.0.0.1", not `<job>-master-0`; the default rendezvous
 *    host of PET_RDZV_ENDPOINT is "127.0.0.1", not `<job>-worker-0` (a user's rdzvHost is kept).
 *  - The port appended by defaulting rule 4 (name `pytorchjob-port`) is the per-job port the
 *    caller allocates (`port` below), not 23456. It lands in the pod's container port, in every
 *    service and in MASTER_PORT / the rendezvous port. A port the user named `pytorchjob-port`
 *    is kept and used everywhere, as upstream.
 *  - No `init-pytorch` init container. Instead a Worker pod of a job that has a Master carries the
 *    annotation `torchjob.kubeflow.org/wait-for-master: <job>-master-0`; the runtime starts its
 *    process only once that master runs (same meaning as the DNS wait loop).
 *  - spec.nodeName = "localhost" on every pod (pods count as scheduled at once).
 *  - The appended container port and service ports carry the apiserver's defaults
 *    (protocol TCP, service targetPort = port, service type ClusterIP), since no apiserver
 *    defaulting runs on objects the controller writes.
 */
#ifndef TJ_PYTORCHJOB_H
#define TJ_PYTORCHJOB_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>
#include "strconv.h" /* timestamps: strconv_rfc3339, strconv_parse_rfc3339 */

#define PTJ_API_VERSION "kubeflow.org/v1"
#define PTJ_KIND "PyTorchJob"
#define PTJ_CONTROLLER_NAME "pytorchjob-controller"
#define PTJ_MANAGED_BY_US "kubeflow.org/training-operator"
#define PTJ_CONTAINER "pytorch"
#define PTJ_PORT_NAME "pytorchjob-port"
#define PTJ_DEFAULT_PORT 23456 /* upstream's; ours is the caller's per-job port */
#define PTJ_LOCAL_ADDR "127.0.0.1"
#define PTJ_NODE_NAME "localhost"

#define PTJ_LABEL_JOB_NAME "training.kubeflow.org/job-name"
#define PTJ_LABEL_OPERATOR "training.kubeflow.org/operator-name"
#define PTJ_LABEL_TYPE "training.kubeflow.org/replica-type"
#define PTJ_LABEL_INDEX "training.kubeflow.org/replica-index"
#define PTJ_LABEL_ROLE "training.kubeflow.org/job-role"
#define PTJ_ANN_WAIT_FOR_MASTER "torchjob.kubeflow.org/wait-for-master"

/* Exit code read when the `pytorch` container has not terminated (upstream's 0xbeef). */
#define PTJ_NO_EXIT_CODE 0xBEEF

/* Replica types, in the order the reconciler visits them (upstream: random map order). */
typedef enum { PTJ_MASTER = 0, PTJ_WORKER = 1, PTJ_NTYPES = 2 } ptj_rtype;

typedef enum {
    PTJ_RP_ON_FAILURE, /* default */
    PTJ_RP_ALWAYS,
    PTJ_RP_NEVER,
    PTJ_RP_EXIT_CODE,  /* pod gets Never; the controller recreates on exit code >= 128 */
    PTJ_RP_OTHER,      /* no enum in the schema: copied to the pod as written */
} ptj_restart;

typedef enum {
    PTJ_CLEAN_NONE,    /* default */
    PTJ_CLEAN_RUNNING, /* Running and Pending pods */
    PTJ_CLEAN_ALL,     /* also any unknown value */
} ptj_clean;

/* An optional integer: set = 0 means absent (nil in Go). */
typedef struct ptj_opt {
    int set;
    int64_t v;
} ptj_opt;

typedef struct ptj_replica {
    int present;                /* the key exists in pytorchReplicaSpecs */
    int32_t replicas;           /* defaulted to 1 */
    ptj_restart restart;
    const char *restart_policy; /* as written; "OnFailure" when absent or "" */
    const json_t *tmpl;         /* the pod template, borrowed from the job; NULL if absent */
    int tmpl_restart_policy;    /* the template sets spec.restartPolicy (overwritten; warned) */
    int32_t user_port;          /* containerPort of a port named pytorchjob-port in the `pytorch`
                                   container (container 0 if none is so named); 0 = none */
} ptj_replica;

typedef struct ptj_runpolicy {
    ptj_clean clean;
    const char *clean_pod_policy; /* as written; "None" when absent */
    ptj_opt ttl;                  /* ttlSecondsAfterFinished */
    ptj_opt deadline;             /* activeDeadlineSeconds */
    ptj_opt backoff;              /* backoffLimit */
    int suspend;
    const char *managed_by;       /* NULL = unset (= us) */
} ptj_runpolicy;

typedef struct ptj_elastic {
    int present;
    int32_t min_replicas, max_replicas; /* after defaulting rule 5 */
    const char *rdzv_backend;           /* NULL = unset → "c10d" */
    const char *rdzv_host;              /* NULL = unset → 127.0.0.1 */
    const char *rdzv_id;                /* NULL = unset */
    ptj_opt rdzv_port;                  /* unset → the Worker's pytorchjob-port */
    ptj_opt nproc_per_node;             /* deprecated elasticPolicy.nProcPerNode */
    ptj_opt max_restarts;
    const json_t *rdzv_conf;            /* array of {key, value}, borrowed; NULL when absent or [] */
    int standalone;
} ptj_elastic;

/* One status condition; strings owned by the ptj_status. Times: 0 = absent. */
typedef struct ptj_cond {
    char *type, *status, *reason, *message;
    time_t last_update, last_transition;
} ptj_cond;

typedef struct ptj_rstatus {
    int present; /* the key exists in status.replicaStatuses */
    int32_t active, succeeded, failed;
    char *selector; /* owned; NULL = absent */
} ptj_rstatus;

/* status (JobStatus). Replica statuses under keys other than Master/Worker and the deprecated
 * labelSelector are dropped on decode (upstream resets both on each reconcile). */
typedef struct ptj_status {
    ptj_cond *conds;
    size_t nconds, cap;
    ptj_rstatus rs[PTJ_NTYPES];
    time_t start_time, completion_time, last_reconcile_time; /* 0 = absent */
} ptj_status;

typedef struct ptj_job {
    json_t *obj;                  /* the decoded object; one reference held */
    const char *name, *ns, *uid;  /* borrowed from obj; "" when absent */
    int64_t generation;
    time_t creation;              /* metadata.creationTimestamp; 0 = absent */
    int deleting;                 /* metadata.deletionTimestamp present */
    ptj_replica rs[PTJ_NTYPES];
    ptj_runpolicy run;
    ptj_elastic elastic;
    const char *nproc_per_node;   /* "auto" by default; NULL only when elastic nProcPerNode is set */
    ptj_status status;            /* the current .status, decoded */
} ptj_job;

/* Decode obj (a PyTorchJob) into j, applying §3's defaults in memory. Lenient: a field of the
 * wrong type reads as absent (the API server validated the object). runPolicy fields missing
 * there are taken from the legacy top-level spec fields activeDeadlineSeconds,
 * ttlSecondsAfterFinished, cleanPodPolicy and backoffLimit. Returns 0, or -EINVAL when obj is
 * not an object. j holds a reference to obj until ptj_job_free(). */
int ptj_decode(json_t *obj, ptj_job *j);
/* spec.runPolicy.managedBy names another controller (spec §6.9): the job is not ours to run. */
int ptj_managed_elsewhere(const json_t *obj);
/* The store tag (rec->tags bit) the controller gives jobs ptj_managed_elsewhere() is true of:
 * nothing here runs them, so they never have pods or logs on this node. */
enum { PTJ_TAG_MANAGED_ELSEWHERE = 1u };
void ptj_job_free(ptj_job *j);

/* "Master"/"Worker" (spec and status keys) and "master"/"worker" (labels and names). */
const char *ptj_rtype_name(ptj_rtype t);
const char *ptj_rtype_label(ptj_rtype t);
/* Number of replicas over every present replica spec. */
int32_t ptj_total_replicas(const ptj_job *j);
/* Whether (t, index) is the master-role pod: the Master; without a Master, Worker 0. */
int ptj_is_master_role(const ptj_job *j, ptj_rtype t, int index);
/* The pytorchjob-port of t's `pytorch` container: the user's, else `port`. */
int ptj_replica_port(const ptj_job *j, ptj_rtype t, int port);

/* "<job>-<type>-<index>" with '/' replaced by '-' (pod and service name). Malloc'ed. */
char *ptj_child_name(const ptj_job *j, ptj_rtype t, int index);
/* The status selector: "training.kubeflow.org/job-name=J,…operator-name=…,…replica-type=worker"
 * (sorted k=v). Malloc'ed. */
char *ptj_selector(const ptj_job *j, ptj_rtype t);

/* The environment injected into every container of pod (t, index), in upstream's order (§5.5,
 * with the local differences above): a new JSON array of {name, value}. port = the job's port. */
json_t *ptj_build_env(const ptj_job *j, ptj_rtype t, int index, int port);
/* The Pod (apiVersion/kind/metadata/spec) for (t, index), §5.2: a new reference. */
json_t *ptj_build_pod(const ptj_job *j, ptj_rtype t, int index, int port);
/* The headless Service for (t, index), §5.4: a new reference. */
json_t *ptj_build_service(const ptj_job *j, ptj_rtype t, int index, int port);


/* ---- observed children ------------------------------------------------------------------ */

typedef enum { PTJ_POD_PENDING, PTJ_POD_RUNNING, PTJ_POD_SUCCEEDED, PTJ_POD_FAILED, PTJ_POD_UNKNOWN } ptj_phase;

/* A pod condition worth an event (§7, recordAbnormalPods). Strings borrowed. */
typedef enum { PTJ_AB_TERMINATED, PTJ_AB_WAITING, PTJ_AB_CONDITION } ptj_ab_kind;
typedef struct ptj_abnormal {
    ptj_ab_kind kind;
    const char *container; /* NULL for PTJ_AB_CONDITION */
    const char *reason, *message;
    int exit_code;         /* PTJ_AB_TERMINATED */
} ptj_abnormal;
#define PTJ_MAX_ABNORMAL 4

typedef struct ptj_pod {
    const char *name;
    int type;           /* ptj_rtype; -1 when the replica-type label is neither master nor worker */
    int index;          /* replica-index label; -1 when missing or not an integer */
    ptj_phase phase;
    int deleting;       /* deletionTimestamp set */
    int exit_code;      /* of the terminated `pytorch` container, else PTJ_NO_EXIT_CODE */
    int32_t restarts;   /* sum of restartCount over init and regular container statuses */
    ptj_abnormal abnormal[PTJ_MAX_ABNORMAL];
    size_t nabnormal;   /* at most PTJ_MAX_ABNORMAL kept */
} ptj_pod;

typedef struct ptj_svc {
    const char *name;
    int type;  /* as ptj_pod */
    int index;
} ptj_svc;

/* Whether child (a Pod or Service object) belongs to job j: labels job-name and operator-name
 * match, and a controller ownerReference carries j's uid (upstream's selector + ClaimPods). */
int ptj_owns(const ptj_job *j, const json_t *child);
/* Upstream's ControllerRefManager.ClaimObject for child: OWNED as ptj_owns; ORPHAN when the
 * labels match but no ownerReference is a controller's, and neither child nor job is being
 * deleted (the job adopts it: ptj_adopt); NONE otherwise (someone else's, or unrelated).
 * Children that are owned but no longer match the labels are not released (upstream's
 * ReleasePod): they are simply not the job's. */
enum { PTJ_CLAIM_NONE, PTJ_CLAIM_OWNED, PTJ_CLAIM_ORPHAN };
int ptj_claim(const ptj_job *j, const json_t *child);
/* Adopt child: append j's controller ownerReference to the ones it has (upstream's adoption
 * patch merges by uid, keeping the others). */
void ptj_adopt(const ptj_job *j, json_t *child);
/* Decode a Pod / Service into the observed form; strings are borrowed from the object. Returns
 * 0, or -EINVAL when it has no metadata.name. */
int ptj_pod_observe(const json_t *pod, ptj_pod *out);
int ptj_svc_observe(const json_t *svc, ptj_svc *out);
#endif
