/* kubelet — pods as local processes (see kubelet.h).
 *
 * A pod's life here (its init containers one after another, then its main container; the other
 * containers run beside it, see "sidecars" below):
 *
 *   admitted ──(worker: master not Running yet)──► WAITING ──master runs──┐
 *      │                                                                  ▼
 *      └──────────────────────────────────────────────────────────────► STARTING ──spawned──► RUNNING
 *                                                                          ▲                   │ exit
 *                                   BACKOFF ◄── restart (Always / OnFailure & code≠0) ◄───────┤
 *                                      └──────────── timer ───────────────┘                    │
 *                                                                   terminal (Never, OnFailure & 0)
 *                                                                                               ▼
 *   deletionTimestamp: RUNNING ──SIGTERM, SIGKILL after grace──► exit ──► object removed    EXITED
 *                      other states ──────────────────────────────────────► object removed
 *
 *   init containers: STARTING..RUNNING as above for spec.initContainers[init_done]; exit 0 ──►
 *   init_done++, the next one (or the main container) STARTING; another exit: restartPolicy
 *   Never ──► EXITED (phase Failed), else BACKOFF and the same init container again. The pod is
 *   Pending and not Initialized until the last one exits 0; a restart of the main container
 *   later does not run them again. A worker waits for its master after its init containers, as
 *   upstream appends init-pytorch to the user's.
 *
 *   spec.activeDeadlineSeconds past status.startTime (activeDeadlineHandler): a process is
 *   stopped as a deletion would stop it, any other state ends at once; the pod is Failed with
 *   reason DeadlineExceeded and nothing restarts.
 *
 *   STARTING ──env names a ConfigMap, a Secret or a key of one that does not exist, and is not
 *              optional──► CONFIG_ERROR (phase Pending, waiting: CreateContainerConfigError) ──a
 *              ConfigMap or Secret of the namespace is written──► STARTING (tried again)
 *
 * Invariants:
 *  1. At most one process per pod; its runtime id is "<pod uid>/<restart>", never reused.
 *  2. Status is written only from here (and only the status part), from the latest stored
 *     object, and only when it changes.
 *  3. A kpod lives while its process lives or its pod object exists, whichever is longer.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "kubelet.h"
#include "node.h"
#include "events.h"
#include "jsonio.h"
#include "quantity.h"
#include "base64.h"
#include "sbuf.h"
#include "validate.h"
#include "probe.h"


enum { K_WAITING, K_STARTING, K_RUNNING, K_BACKOFF, K_STOPPING, K_EXITED, K_CONFIG_ERROR };
static const char *const kstate_name[] = {"WAITING", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED",
                                          "CONFIG_ERROR"};

/* A running container process's environment and directory: what an exec or a probe in that
 * container runs with. */
typedef struct runenv {
    char **env;   /* NULL-terminated */
    size_t n;
    char *workdir;
} runenv;

static void runenv_free(runenv *r)
{
    for (size_t j = 0; j < r->n; j++)
        free(r->env[j]);
    free(r->env);
    free(r->workdir);
    memset(r, 0, sizeof *r);
}

/* Keep a started process's env (taken: *env and *n are cleared) and container c's workingDir. */
static void runenv_keep(runenv *r, char ***env, size_t *n, const json_t *c)
{
    runenv_free(r);
    r->env = *env;
    r->n = *n;
    const char *wd = json_string_value(json_object_get(c, "workingDir"));
    r->workdir = wd ? strdup(wd) : NULL;
    *env = NULL;
    *n = 0;
}

typedef struct kpod {
    struct kpod *next;
    kubelet_t *k;
    char key[600];
    char ns[256], name[256], uid[64];
    char container[128];
    char run_id[96];
    int state;
    int restarts;
    int pid;
    int gone;              /* the pod object is removed */
    time_t started, waiting_since;
    unsigned backoff_ms;
    int crashes;           /* exits that led to a restart (back-off: 0, initial, 2×, …) */
    int ever_started;      /* this container of this pod instance ran a process before */
    json_t *last_term;     /* lastState.terminated of the previous run, or NULL */
    /* init containers: restarts/ever_started/last_term/crashes above are the current init
     * container's while in_init; the main container's restart count waits in main_restarts */
    int in_init;           /* the current container is spec.initContainers[init_done] */
    int init_done;         /* init containers that exited 0 */
    int main_restarts;
    json_t *init_status;   /* initContainerStatuses as kept between writes, or NULL */
    uv_timer_t timer;
    uv_timer_t deadline;   /* spec.activeDeadlineSeconds */
    int deadline_hit;      /* the deadline passed: the pod fails, nothing restarts */
    int handles;           /* timers not closed yet */
    runenv run;            /* its running process's, for an exec into its container */
    probeset *probes;      /* the main container's probes while its process runs, or NULL */
    /* the pod's other containers, started with the main one's first run (see "sidecars") */
    struct kside *sides;   /* room for every container, made once: the timers must not move */
    size_t nsides;
    int sides_made;
    int awaiting_sides;    /* deleted, the main process gone: the pod goes when theirs are */
    /* what the main container's last status write said, for a write a sidecar makes */
    const char *cur_phase;
    json_t *cur_state, *cur_last;
    int cur_ready;
} kpod;

enum { S_STARTING, S_RUNNING, S_BACKOFF, S_EXITED, S_CONFIG_ERROR };

typedef struct kside {
    kpod *p;
    char name[128];
    char run_id[200];
    int state, pid, restarts, crashes, ever;
    int stopping;       /* stopped with the pod: its exit ends it */
    int native;         /* an init container with restartPolicy Always (a native sidecar) */
    int init_idx;       /* its index in spec.initContainers */
    unsigned backoff_ms;
    time_t started;
    json_t *cur;        /* its state for containerStatuses, or NULL before its first start */
    json_t *last_term;  /* lastState of its last run, or NULL */
    uv_timer_t timer;   /* back-off */
    runenv run;         /* for exec and probes, while its process runs */
    probeset *probes;   /* its probes while its process runs */
} kside;

struct kubelet {
    api_t *api;
    events_t *ev;
    runtime_t *rt;
    kubelet_opts o;
    kpod *pods;
    int closing;
    int adopting;  /* reading the pods that existed when the daemon started */
    void (*run_end)(void *arg, const char *run_id);
    void *run_end_arg;
};

static void set_state(kpod *p, int s)
{
    if (getenv("TORCHJOBD_DEBUG"))
        fprintf(stderr, "kubelet: %s/%s %s -> %s\n", p->ns, p->name, kstate_name[p->state], kstate_name[s]);
    p->state = s;
}

static kpod *find(kubelet_t *k, const char *key)
{
    for (kpod *p = k->pods; p; p = p->next)
        if (!strcmp(p->key, key))
            return p;
    return NULL;
}

static kside *find_side(kubelet_t *k, const char *run_id)
{
    for (kpod *p = k->pods; p; p = p->next)
        for (size_t i = 0; i < p->nsides; i++)
            if (!strcmp(p->sides[i].run_id, run_id) && p->sides[i].state != S_EXITED)
                return &p->sides[i];
    return NULL;
}

static kpod *find_run(kubelet_t *k, const char *run_id)
{
    for (kpod *p = k->pods; p; p = p->next)
        if (!strcmp(p->run_id, run_id))
            return p;
    return NULL;
}

static void kpod_release(kpod *p)
{
    if (--p->handles > 0)
        return;
    json_decref(p->last_term);
    json_decref(p->init_status);
    json_decref(p->cur_state);
    json_decref(p->cur_last);
    for (size_t i = 0; i < p->nsides; i++) {
        json_decref(p->sides[i].cur);
        json_decref(p->sides[i].last_term);
        runenv_free(&p->sides[i].run);
    }
    free(p->sides);
    runenv_free(&p->run);
    free(p);
}

static void on_timer_closed(uv_handle_t *h)
{
    kpod_release(h->data);
}

static void on_side_timer_closed(uv_handle_t *h)
{
    kpod_release(((kside *)h->data)->p);
}

static void kpod_free(kpod *p)
{
    kubelet_t *k = p->k;
    for (kpod **pp = &k->pods; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    probes_stop(p->probes);
    p->probes = NULL;
    for (size_t i = 0; i < p->nsides; i++) {
        kside *sd = &p->sides[i];
        probes_stop(sd->probes);
        sd->probes = NULL;
        if (sd->state == S_STARTING || sd->state == S_RUNNING)
            runtime_stop(k->rt, sd->run_id, 0); /* its exit is not waited for */
        sd->state = S_EXITED;
        uv_close((uv_handle_t *)&sd->timer, on_side_timer_closed);
    }
    uv_close((uv_handle_t *)&p->timer, on_timer_closed);
    uv_close((uv_handle_t *)&p->deadline, on_timer_closed);
}

/* containerStatuses[].ready of the current container: a running main container, ready by its
 * readiness probe if it has one */
static int kready(const kpod *p)
{
    return !p->in_init && probes_ready(p->probes);
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* A grace period as runtime_stop takes it: g (a JSON integer: a probe's) or else the pod's
 * terminationGracePeriodSeconds, else 30 s; negative is 0, at most a day. */
static unsigned grace_of(const json_t *pod, const json_t *g)
{
    if (!json_is_integer(g))
        g = json_object_get(json_object_get(pod, "spec"), "terminationGracePeriodSeconds");
    json_int_t v = json_is_integer(g) ? json_integer_value(g) : 30;
    return v <= 0 ? 0 : v > 86400 ? 86400 : (unsigned)v;
}

/* The main container: "pytorch" if present, else the first. */
static json_t *main_container(json_t *pod)
{
    json_t *cs = json_object_get(json_object_get(pod, "spec"), "containers");
    size_t i;
    json_t *c;
    json_array_foreach(cs, i, c)
        if (jstr(c, "name") && !strcmp(jstr(c, "name"), "pytorch"))
            return c;
    return json_array_get(cs, 0);
}

void kubelet_log_path(const kubelet_t *k, const char *ns, const char *pod, const char *container,
                      int previous, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s/%s/%s%s.log", k->o.log_dir, ns, pod, container, previous ? ".previous" : "");
}

/* ---- events ------------------------------------------------------------------------------ */

/* An event about p, as kubelet records it (or, from "default-scheduler", the scheduler): the
 * reference is the pod as last stored (its resourceVersion) or, once it is gone, what p keeps of
 * it; container: about the main container (fieldPath spec.containers{NAME}, as kubelet's
 * container references). */
/* An event about p, as kubelet records it (see pod_event); cname: the container it is about
 * (fieldPath spec.containers{NAME} or spec.initContainers{NAME}), or NULL for the pod. */
static void vpod_event(kpod *p, const char *cname, int init, const char *type, const char *reason, const char *fmt,
                       va_list ap)
{
    kubelet_t *k = p->k;
    if (!k->ev)
        return;
    char msg[1200], fp[160];
    vsnprintf(msg, sizeof msg, fmt, ap);
    snprintf(fp, sizeof fp, "spec.%s{%s}", init ? "initContainers" : "containers", cname ? cname : "");
    json_t *ref = json_pack("{s:s,s:s,s:{s:s,s:s,s:s}}", "apiVersion", "v1", "kind", "Pod", "metadata", "name",
                            p->name, "namespace", p->ns, "uid", p->uid);
    const store_rec *rec = p->key[0] ? store_latest(k->api->store, p->key) : NULL;
    if (rec) { /* a removed pod: the revision of its removal, as the watch told kubelet */
        char rv[32];
        snprintf(rv, sizeof rv, "%llu", (unsigned long long)rec->rv);
        json_object_set_new(json_object_get(ref, "metadata"), "resourceVersion", json_string(rv));
    }
    int sched = !strcmp(reason, "Scheduled");
    events_source src = {sched ? "default-scheduler" : "kubelet", sched ? NULL : NODE_NAME};
    events_record_from(k->ev, ref, cname ? fp : NULL, &src, type, reason, msg);
    json_decref(ref);
}

static void pod_event(kpod *p, int container, const char *type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void pod_event(kpod *p, int container, const char *type, const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vpod_event(p, container ? p->container : NULL, p->in_init, type, reason, fmt, ap);
    va_end(ap);
}

/* Go's %q for the usual image reference: in quotes, quote and backslash escaped. */
static void quote(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    buf[n++] = '"';
    for (; *s && n + 3 < cap; s++) {
        if (*s == '"' || *s == '\\')
            buf[n++] = '\\';
        buf[n++] = *s;
    }
    buf[n++] = '"';
    buf[n] = 0;
}

/* ---- status writes ------------------------------------------------------------------------- */

/* The containerID of the process pid (a status entry's, or a terminated state's), if any. */
static void set_container_id(json_t *o, int pid)
{
    if (pid <= 0)
        return;
    char cid[64];
    snprintf(cid, sizeof cid, "torchjob://%d", pid);
    json_object_set_new(o, "containerID", json_string(cid));
}

/* The container p runs now: the main one, or spec.initContainers[init_done]. */
static json_t *current_container(const kpod *p, json_t *pod)
{
    if (p->in_init)
        return json_array_get(json_object_get(json_object_get(pod, "spec"), "initContainers"), (size_t)p->init_done);
    return main_container(pod);
}

/* One entry of containerStatuses or initContainerStatuses (state and last taken). */
static json_t *container_status(const json_t *c, int restarts, int ready, int started, json_t *state, json_t *last)
{
    const char *name = jstr(c, "name") ? jstr(c, "name") : "main", *image = jstr(c, "image") ? jstr(c, "image") : "";
    return json_pack("{s:s,s:s,s:s,s:b,s:i,s:b,s:o,s:o}", "name", name, "image", image, "imageID", image, "ready",
                     ready, "restartCount", restarts, "started", started, "state", state, "lastState", last);
}

/* initContainerStatuses[init_done] = cs (taken); the list is made on first use, every init
 * container waiting (PodInitializing) until its turn. */
static void init_status_ensure(kpod *p, json_t *pod)
{
    json_t *inits = json_object_get(json_object_get(pod, "spec"), "initContainers");
    if (json_array_size(p->init_status) != json_array_size(inits)) {
        json_decref(p->init_status);
        p->init_status = json_array();
        size_t i;
        json_t *c;
        json_array_foreach(inits, i, c)
            json_array_append_new(p->init_status,
                                  container_status(c, 0, 0, 0, json_pack("{s:{s:s}}", "waiting", "reason", "PodInitializing"),
                                                   json_object()));
    }
}

static void init_status_set(kpod *p, json_t *pod, json_t *cs)
{
    init_status_ensure(p, pod);
    json_array_set_new(p->init_status, (size_t)p->init_done, cs);
}

/* The names of spec's list whose status in statuses fails ok (or is missing, when missing is
 * set), as Go's %s prints a []string: "[a b]". */
static void names_where(const json_t *pod, const char *list, const json_t *statuses, int missing,
                        int (*ok)(const json_t *cs), sbuf *out)
{
    size_t i, j, n = 0;
    json_t *c, *cs;
    sbuf_printf(out, "[");
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), list), i, c) {
        const json_t *found = NULL;
        json_array_foreach(statuses, j, cs)
            if (jstr(cs, "name") && jstr(c, "name") && !strcmp(jstr(cs, "name"), jstr(c, "name")))
                found = cs;
        if (found ? !ok(found) : missing)
            sbuf_printf(out, "%s%s", n++ ? " " : "", jstr(c, "name") ? jstr(c, "name") : "");
    }
    sbuf_printf(out, "]");
}

static int cs_ready(const json_t *cs) { return json_is_true(json_object_get(cs, "ready")); }
static int cs_known(const json_t *cs) { (void)cs; return 1; }
static int cs_completed(const json_t *cs)
{
    const json_t *t = json_object_get(json_object_get(cs, "state"), "terminated");
    return t && json_integer_value(json_object_get(t, "exitCode")) == 0;
}
static int cs_started(const json_t *cs)
{
    const json_t *state = json_object_get(cs, "state");
    return json_object_get(state, "running") || json_object_get(state, "terminated");
}

/* One condition, its lastTransitionTime kept from old while its status holds. */
static json_t *condition_of(const char *type, int ok, const char *reason, const char *message, const json_t *old,
                            const char *now)
{
    json_t *c = json_pack("{s:s,s:s,s:n,s:s}", "type", type, "status", ok ? "True" : "False", "lastProbeTime",
                          "lastTransitionTime", now);
    if (reason)
        json_object_set_new(c, "reason", json_string(reason));
    if (message)
        json_object_set_new(c, "message", json_string(message));
    size_t j;
    json_t *oc;
    json_array_foreach(old, j, oc)
        if (jstr(oc, "type") && !strcmp(jstr(oc, "type"), type) && jstr(oc, "status") &&
            !strcmp(jstr(oc, "status"), ok ? "True" : "False"))
            json_object_set(c, "lastTransitionTime", json_object_get(oc, "lastTransitionTime"));
    return c;
}

/* status.conditions from the statuses just written (kubelet's status/generate.go): the sandbox
 * is down once the pod is over; Initialized once the init containers exited 0 or a container
 * started; ContainersReady and Ready with their unready containers, PodCompleted or PodFailed
 * for a finished pod. */
static void pod_conditions(const json_t *pod, json_t *st, const json_t *old, const char *now)
{
    const char *phase = jstr(st, "phase");
    int succeeded = phase && !strcmp(phase, "Succeeded"), failed = phase && !strcmp(phase, "Failed");
    const json_t *cst = json_object_get(st, "containerStatuses"), *ist = json_object_get(st, "initContainerStatuses");
    sbuf unknown = SBUF_INIT(4096), unready = SBUF_INIT(4096), incomplete = SBUF_INIT(4096);
    names_where(pod, "containers", cst, 1, cs_known, &unknown);
    names_where(pod, "containers", cst, 0, cs_ready, &unready);
    names_where(pod, "initContainers", ist, 1, cs_completed, &incomplete);
    int started = 0;
    size_t i;
    json_t *cs;
    json_array_foreach(cst, i, cs)
        started |= cs_started(cs);
    /* ContainersReady, and Ready after it */
    const char *cr_reason = NULL;
    char msg[4200] = "";
    int cr_ok = 0;
    if (succeeded && !strcmp(sbuf_str(&unknown), "[]"))
        cr_reason = "PodCompleted";
    else if (failed)
        cr_reason = "PodFailed";
    else {
        if (strcmp(sbuf_str(&unknown), "[]"))
            snprintf(msg, sizeof msg, "containers with unknown status: %s", sbuf_str(&unknown));
        if (strcmp(sbuf_str(&unready), "[]"))
            snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "%scontainers with unready status: %s",
                     *msg ? ", " : "", sbuf_str(&unready));
        cr_ok = !*msg;
        cr_reason = cr_ok ? NULL : "ContainersNotReady";
    }
    const char *cr_msg = *msg ? msg : NULL;
    /* Initialized */
    char imsg[4200] = "";
    const char *i_reason = NULL;
    int i_ok = 1;
    if (succeeded)
        i_reason = "PodCompleted";
    else if (!started && strcmp(sbuf_str(&incomplete), "[]")) {
        snprintf(imsg, sizeof imsg, "containers with incomplete status: %s", sbuf_str(&incomplete));
        i_ok = 0;
        i_reason = "ContainersNotInitialized";
    }
    json_t *conds = json_array();
    json_array_append_new(conds, condition_of("PodReadyToStartContainers", !succeeded && !failed, NULL, NULL, old, now));
    json_array_append_new(conds, condition_of("Initialized", i_ok, i_reason, *imsg ? imsg : NULL, old, now));
    json_array_append_new(conds, condition_of("Ready", cr_ok, cr_reason, cr_msg, old, now));
    json_array_append_new(conds, condition_of("ContainersReady", cr_ok, cr_reason, cr_msg, old, now));
    json_array_append_new(conds, condition_of("PodScheduled", 1, NULL, NULL, old, now));
    json_object_set_new(st, "conditions", conds);
    sbuf_free(&unknown);
    sbuf_free(&unready);
    sbuf_free(&incomplete);
}

/* ---- sidecars: the pod's other containers ---------------------------------------------------------
 *
 * Each runs as a process of its own from the main container's first run on (kubelet starts a
 * pod's containers together, after its init containers), restarts by the pod's policy with its
 * own back-off, and is stopped with the pod. The pod is over only when every container is:
 * Running while one still runs, Failed when any ended in failure. */

static kside *side_named(const kpod *p, const char *name)
{
    for (size_t i = 0; i < p->nsides; i++)
        if (name && !strcmp(p->sides[i].name, name))
            return &p->sides[i];
    return NULL;
}

/* Processes of sidecars that have not ended yet. */
static size_t sides_procs(const kpod *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nsides; i++)
        n += p->sides[i].state == S_STARTING || p->sides[i].state == S_RUNNING;
    return n;
}

/* The pod's phase from the main container's (main) and the sidecars'. */
static const char *sides_phase(const kpod *p, const char *main)
{
    if (!main || !p->nsides || (strcmp(main, "Succeeded") && strcmp(main, "Failed")))
        return main;
    int failed = 0;
    for (size_t i = 0; i < p->nsides; i++) {
        const kside *sd = &p->sides[i];
        if (sd->native) /* a native sidecar neither holds the pod nor fails it */
            continue;
        if (sd->state != S_EXITED)
            return "Running";
        failed |= json_integer_value(json_object_get(json_object_get(sd->cur, "terminated"), "exitCode")) != 0;
    }
    return failed ? "Failed" : main;
}

/* containerStatuses in spec order: the main container's (cs, taken) and each sidecar's. */
static json_t *all_statuses(const kpod *p, json_t *pod, const json_t *mc, json_t *cs)
{
    json_t *list = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c) {
        if (c == mc) {
            json_array_append(list, cs);
            continue;
        }
        const kside *sd = side_named(p, jstr(c, "name"));
        json_t *state = sd && sd->cur ? json_incref(sd->cur)
                                      : json_pack("{s:{s:s}}", "waiting", "reason",
                                                  p->init_status ? "PodInitializing" : "ContainerCreating");
        int running = sd && sd->state == S_RUNNING;
        json_t *e = container_status(c, sd ? sd->restarts : 0, running && probes_ready(sd->probes),
                                     running && probes_started(sd->probes), state,
                                     sd && sd->last_term ? json_incref(sd->last_term) : json_object());
        if (running)
            set_container_id(e, sd->pid);
        json_array_append_new(list, e);
    }
    if (!mc)
        json_array_append(list, cs);
    json_decref(cs);
    return list;
}

/* initContainerStatuses' entries of the native sidecars, from their processes. */
static void native_statuses(kpod *p, json_t *pod)
{
    json_t *inits = json_object_get(json_object_get(pod, "spec"), "initContainers");
    for (size_t i = 0; i < p->nsides; i++) {
        const kside *sd = &p->sides[i];
        if (!sd->native || !sd->cur)
            continue;
        init_status_ensure(p, pod);
        int running = sd->state == S_RUNNING;
        json_t *e = container_status(json_array_get(inits, (size_t)sd->init_idx), sd->restarts,
                                     running && probes_ready(sd->probes), running && probes_started(sd->probes),
                                     json_incref(sd->cur), sd->last_term ? json_incref(sd->last_term) : json_object());
        if (running)
            set_container_id(e, sd->pid);
        json_array_set_new(p->init_status, (size_t)sd->init_idx, e);
    }
}

static void sides_stop(kpod *p, unsigned grace);

/* Rewrite the pod's status from p's state. exit_code/signal describe the last exit (when
 * terminated or restarting); phase NULL = keep. */
static void write_status(kpod *p, const char *phase, json_t *state, json_t *last_state, int ready)
{
    kubelet_t *k = p->k;
    const store_rec *rec = store_latest(k->api->store, p->key);
    if (!rec) {
        json_decref(state);
        json_decref(last_state);
        return;
    }
    json_t *pod = jsonio_parse(rec->data, rec->len, 0, NULL);
    const char *uid = jstr(json_object_get(pod, "metadata"), "uid");
    if (!uid || strcmp(uid, p->uid)) {
        json_decref(pod);
        json_decref(state);
        json_decref(last_state);
        return;
    }
    /* kept for a write a sidecar makes (sides_write) */
    json_t *ks = json_incref(state), *kl = json_incref(last_state);
    json_decref(p->cur_state);
    json_decref(p->cur_last);
    p->cur_state = ks;
    p->cur_last = kl;
    p->cur_phase = phase;
    p->cur_ready = ready;
    phase = sides_phase(p, phase);
    json_t *old = json_deep_copy(json_object_get(pod, "status"));
    json_t *st = json_object_get(pod, "status");
    if (!json_is_object(st))
        json_object_set_new(pod, "status", st = json_object());
    char *now = api_now_rfc3339();
    if (phase)
        json_object_set_new(st, "phase", json_string(phase));
    json_object_set_new(st, "hostIP", json_string("127.0.0.1"));
    json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", "127.0.0.1"));
    json_object_set_new(st, "podIP", json_string("127.0.0.1"));
    json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", "127.0.0.1"));
    if (!json_object_get(st, "startTime"))
        json_object_set_new(st, "startTime", json_string(now));
    json_t *c = current_container(p, pod), *mc = main_container(pod);
    json_t *cs = container_status(c, p->restarts, ready, p->state == K_RUNNING && probes_started(p->probes),
                                  state ? state : json_object(),
                                  last_state ? last_state : json_object());
    set_container_id(cs, p->pid);
    if (p->deadline_hit) {
        json_object_set_new(st, "reason", json_string("DeadlineExceeded"));
        json_object_set_new(st, "message", json_string("Pod was active on the node longer than the specified deadline"));
    }
    if (p->in_init) { /* the main container waits for the init containers */
        init_status_set(p, pod, cs);
        cs = container_status(mc, p->main_restarts, 0, 0, json_pack("{s:{s:s}}", "waiting", "reason", "PodInitializing"),
                              json_object());
    }
    native_statuses(p, pod);
    if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) {
        /* the regular containers are all done: kubelet terminates the native sidecars */
        int running_native = 0;
        for (size_t i = 0; i < p->nsides; i++)
            running_native |= p->sides[i].native && !p->sides[i].stopping;
        if (running_native)
            sides_stop(p, grace_of(pod, NULL));
    }
    if (p->init_status)
        json_object_set_new(st, "initContainerStatuses", json_deep_copy(p->init_status));
    json_object_set_new(st, "containerStatuses", all_statuses(p, pod, mc, cs));
    if (!json_object_get(st, "qosClass"))
        json_object_set_new(st, "qosClass", json_string(validate_pod_qos(pod)));
    pod_conditions(pod, st, json_object_get(old, "conditions"), now);
    free(now);
    /* Timestamps aside, unchanged status means no write. */
    if (json_equal(old, st)) {
        json_decref(old);
        json_decref(pod);
        return;
    }
    json_decref(old);
    store_write(k->api->store, p->key, pod, NULL, NULL, NULL);
}

static json_t *running_state(kpod *p)
{
    char *ts = api_rfc3339(p->started);
    json_t *s = json_pack("{s:{s:s}}", "running", "startedAt", ts);
    free(ts);
    return s;
}

static json_t *terminated_state(kpod *p, int code, int sig)
{
    char *a = api_rfc3339(p->started), *b = api_now_rfc3339();
    json_t *t = json_pack("{s:i,s:s,s:s,s:s}", "exitCode", code, "reason", code == 0 ? "Completed" : "Error",
                          "startedAt", a, "finishedAt", b);
    if (sig)
        json_object_set_new(t, "signal", json_integer(sig));
    set_container_id(t, p->pid);
    free(a);
    free(b);
    return json_pack("{s:o}", "terminated", t);
}

/* ---- deletion -------------------------------------------------------------------------------- */

/* The process is gone: the pod object goes too (or waits for its finalizers with grace 0). */
static void finish_deletion(kpod *p)
{
    kubelet_t *k = p->k;
    const store_rec *rec = store_latest(k->api->store, p->key);
    if (rec) {
        json_t *pod = jsonio_parse(rec->data, rec->len, 0, NULL);
        json_t *md = json_object_get(pod, "metadata");
        const char *uid = jstr(md, "uid");
        if (uid && !strcmp(uid, p->uid) && json_object_get(md, "deletionTimestamp")) {
            if (json_array_size(json_object_get(md, "finalizers")) == 0) {
                store_write(k->api->store, p->key, NULL, NULL, NULL, NULL);
                json_decref(pod);
            } else {
                json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(0));
                store_write(k->api->store, p->key, pod, NULL, NULL, NULL);
            }
        } else {
            json_decref(pod);
        }
    }
    p->gone = 1;
}

/* ---- starting -------------------------------------------------------------------------------- */

static int master_running(kubelet_t *k, const char *ns, const char *master)
{
    char key[600];
    snprintf(key, sizeof key, "pods/%s/%s", ns, master);
    kpod *mp = find(k, key);
    return mp && mp->state == K_RUNNING && !mp->in_init;
}

/* "$(VAR)" expansion against the environment built so far (kubelet semantics; "$$(" escapes). */
static char *expand(const char *v, char **env, size_t n)
{
    size_t cap = strlen(v) + 64, len = 0;
    char *o = malloc(cap);
    for (const char *s = v; *s;) {
        const char *add = s;
        size_t alen = 1;
        if (s[0] == '$' && s[1] == '$' && s[2] == '(') {
            add = "$(";
            alen = 2;
            s += 3;
        } else if (s[0] == '$' && s[1] == '(' && strchr(s, ')')) {
            const char *end = strchr(s, ')');
            size_t kl = (size_t)(end - s - 2);
            const char *val = NULL;
            for (size_t i = n; i-- > 0;)
                if (!strncmp(env[i], s + 2, kl) && env[i][kl] == '=') {
                    val = env[i] + kl + 1;
                    break;
                }
            if (val) {
                add = val;
                alen = strlen(val);
            } else {
                add = s;
                alen = (size_t)(end - s + 1);
            }
            s = end + 1;
        } else {
            s++;
        }
        if (len + alen + 1 > cap) {
            cap = (len + alen + 1) * 2;
            o = realloc(o, cap);
        }
        memcpy(o + len, add, alen);
        len += alen;
    }
    o[len] = 0;
    return o;
}

static void add_env(char ***env, size_t *n, const char *k, const char *v)
{
    size_t kl = strlen(k);
    for (size_t i = 0; i < *n; i++)
        if (!strncmp((*env)[i], k, kl) && (*env)[i][kl] == '=') { /* last one wins */
            free((*env)[i]);
            memmove(&(*env)[i], &(*env)[i + 1], (*n - i - 1) * sizeof **env);
            (*n)--;
            break;
        }
    *env = realloc(*env, (*n + 2) * sizeof **env);
    char *e;
    if (asprintf(&e, "%s=%s", k, v) < 0)
        abort();
    (*env)[(*n)++] = e;
    (*env)[*n] = NULL;
}

/* ---- the container's environment (kubelet's makeEnvironmentVariables) ----------------------- */

/* A container of the pod by name, among containers and init containers. */
static const json_t *container_named(const json_t *pod, const char *name)
{
    static const char *const lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(json_object_get(pod, "spec"), lists[l]), i, c)
            if (jstr(c, "name") && !strcmp(jstr(c, "name"), name))
                return c;
    }
    return NULL;
}

/* resourceFieldRef: the container's limit or request as a decimal string (kubelet's
 * containerResourceRuntimeValue); a limit not set is the node's allocatable, a request not set 0.
 * 0, or -1 with err set. */
static int resource_value(const kubelet_t *k, const json_t *pod, const json_t *c, const json_t *rr,
                          char *out, size_t cap, char *err, size_t ecap)
{
    const char *cname = jstr(rr, "containerName"), *res = jstr(rr, "resource");
    if (cname && *cname && !(c = container_named(pod, cname))) {
        snprintf(err, ecap, "container %s not found", cname);
        return -1;
    }
    const char *dot = res ? strchr(res, '.') : NULL;
    if (!dot) {
        snprintf(err, ecap, "unsupported container resource : %s", res ? res : "");
        return -1;
    }
    char kind[16];
    snprintf(kind, sizeof kind, "%.*s", (int)(dot - res), res);
    const char *name = dot + 1;
    const json_t *q = json_object_get(json_object_get(json_object_get(c, "resources"), kind), name);
    long double v = 0, d = 0;
    if (!q && !strcmp(kind, "limits"))
        v = node_allocatable(name, k->o.log_dir); /* a limit not set: the node's allocatable */
    else
        quantity_json(q, &v);
    quantity_json(json_object_get(rr, "divisor"), &d);
    snprintf(out, cap, "%lld", quantity_ceil_div(v, d, !strcmp(name, "cpu")));
    return 0;
}

/* fieldRef: podFieldSelectorRuntimeValue (the pod's own address is the node's, 127.0.0.1). */
static void field_value(const json_t *pod, const char *fp, char *out, size_t cap)
{
    const json_t *md = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
    char path[256], key[256];
    const char *v = "";
    if (validate_split_subscript(fp, path, sizeof path, key, sizeof key)) {
        const char *map = !strcmp(path, "metadata.labels") ? "labels" : "annotations";
        v = jstr(json_object_get(md, map), key);
    } else if (!strcmp(fp, "metadata.name") || !strcmp(fp, "metadata.namespace") || !strcmp(fp, "metadata.uid")) {
        v = jstr(md, fp + 9);
    } else if (!strcmp(fp, "spec.nodeName") || !strcmp(fp, "spec.host")) {
        v = NODE_NAME;
    } else if (!strcmp(fp, "spec.serviceAccountName")) {
        v = jstr(spec, "serviceAccountName");
    } else if (!strncmp(fp, "status.hostIP", 13) || !strncmp(fp, "status.podIP", 12)) {
        v = "127.0.0.1";
    }
    snprintf(out, cap, "%s", v ? v : "");
}

/* The ConfigMap or Secret a reference names, in the pod's namespace, as stored; NULL (with
 * *missing set to kubelet's error, or left empty when the reference is optional) when there is
 * none. secret: a Secret, else a ConfigMap. */
static json_t *config_source(const kubelet_t *k, const json_t *pod, const json_t *ref, int secret, char *err,
                             size_t ecap, int *optional)
{
    const char *ns = jstr(json_object_get(pod, "metadata"), "namespace"), *name = jstr(ref, "name");
    *optional = json_is_true(json_object_get(ref, "optional"));
    char key[700];
    snprintf(key, sizeof key, "%s/%s/%s", secret ? "secrets" : "configmaps", ns ? ns : "", name ? name : "");
    json_t *o = api_stored_json(k->api, key);
    if (!o && !*optional)
        snprintf(err, ecap, "%s \"%s\" not found", secret ? "secret" : "configmap", name ? name : "");
    return o;
}

/* A value of a ConfigMap (data, else binaryData decoded) or Secret (data decoded) as text; NULL
 * when the key is not there. Caller frees. */
static char *config_value(const json_t *o, const char *key, int secret)
{
    const json_t *v = secret ? NULL : json_object_get(json_object_get(o, "data"), key);
    if (json_is_string(v))
        return strdup(json_string_value(v));
    v = json_object_get(json_object_get(o, secret ? "data" : "binaryData"), key);
    if (!json_is_string(v))
        return NULL;
    size_t len, bad;
    return (char *)base64_decode(json_string_value(v), json_string_length(v), &len, &bad);
}

/* The environment kubelet gives container c of pod, after PATH, HOSTNAME and HOME: envFrom (a
 * ConfigMap's data, a Secret's data decoded, with the prefix), then env in order, "$(VAR)"
 * expanded in plain values only. 0, or -1 with err set (the container cannot be created; a
 * missing object or key that is not optional, as kubelet's error). */
static int container_env(const kubelet_t *k, const json_t *pod, const json_t *c, char ***env, size_t *ne,
                         char *err, size_t ecap)
{
    size_t i;
    json_t *ef, *ev;
    json_array_foreach(json_object_get(c, "envFrom"), i, ef) {
        const json_t *cm = json_object_get(ef, "configMapRef"), *sec = json_object_get(ef, "secretRef");
        int secret = !json_is_object(cm), optional;
        if (!json_is_object(cm) && !json_is_object(sec))
            continue;
        json_t *o = config_source(k, pod, secret ? sec : cm, secret, err, ecap, &optional);
        if (!o && !optional)
            return -1;
        const char *prefix = jstr(ef, "prefix") ? jstr(ef, "prefix") : "", *key;
        json_t *v;
        json_object_foreach(json_object_get(o, "data"), key, v) {
            char *val = config_value(o, key, secret), *name;
            if (val && asprintf(&name, "%s%s", prefix, key) >= 0) {
                add_env(env, ne, name, val);
                free(name);
            }
            free(val);
        }
        json_decref(o);
    }
    json_array_foreach(json_object_get(c, "env"), i, ev) {
        const char *n = jstr(ev, "name"), *v = jstr(ev, "value");
        const json_t *from = json_object_get(ev, "valueFrom");
        if (!n)
            continue;
        char val[4096] = "";
        if (v && *v) {
            char *x = expand(v, *env, *ne);
            add_env(env, ne, n, x);
            free(x);
            continue;
        }
        const json_t *fr = json_object_get(from, "fieldRef"), *rr = json_object_get(from, "resourceFieldRef"),
                     *cmk = json_object_get(from, "configMapKeyRef"), *sk = json_object_get(from, "secretKeyRef");
        if (json_is_object(fr)) {
            field_value(pod, jstr(fr, "fieldPath") ? jstr(fr, "fieldPath") : "", val, sizeof val);
        } else if (json_is_object(rr)) {
            if (resource_value(k, pod, c, rr, val, sizeof val, err, ecap) < 0)
                return -1;
        } else if (json_is_object(cmk) || json_is_object(sk)) {
            int secret = !json_is_object(cmk), optional;
            const json_t *ref = secret ? sk : cmk;
            json_t *o = config_source(k, pod, ref, secret, err, ecap, &optional);
            if (!o) {
                if (optional)
                    continue;
                return -1;
            }
            const char *key = jstr(ref, "key") ? jstr(ref, "key") : "";
            char *got = config_value(o, key, secret);
            if (!got && !optional) {
                const char *ns = jstr(json_object_get(pod, "metadata"), "namespace");
                snprintf(err, ecap, "couldn't find key %s in %s %s/%s", key, secret ? "Secret" : "ConfigMap",
                         ns ? ns : "", jstr(ref, "name") ? jstr(ref, "name") : "");
            }
            json_decref(o);
            if (!got) {
                if (optional)
                    continue;
                return -1;
            }
            add_env(env, ne, n, got);
            free(got);
            continue;
        }
        add_env(env, ne, n, val);
    }
    return 0;
}

static void mkdirs(const char *path)
{
    char tmp[2048];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *s = tmp + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(tmp, 0755);
            *s = '/';
        }
    mkdir(tmp, 0755);
}

static void on_backoff(uv_timer_t *t);
static void on_proc_exit(void *arg, const char *id, int code, int sig, int err);

/* execvp's lookup: a name with '/' must be executable; else some PATH entry must hold it. */
static int command_found(const char *cmd, char **env)
{
    if (!*cmd)
        return 0;
    if (strchr(cmd, '/'))
        return access(cmd, X_OK) == 0;
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (size_t i = 0; env[i]; i++)
        if (!strncmp(env[i], "PATH=", 5))
            path = env[i] + 5;
    char buf[4096];
    for (const char *p = path;;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, n ? p : ".", cmd);
        struct stat st;
        if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
            return 1;
        if (!colon)
            return 0;
        p = colon + 1;
    }
}

/* c's environment (PATH, HOSTNAME, HOME, then its env as kubelet makes it) and argv (the log shim,
 * then command and args with $(VAR) expanded): argv has *argc entries, the command at *first_cmd.
 * -1 with err set (nothing allocated) when a ConfigMap, Secret or key its env names is missing. */
static int build_cmd(const kpod *p, const json_t *pod, const json_t *c, char ***argv_out, size_t *argc,
                     size_t *first_cmd, char ***env_out, size_t *ne_out, char *err, size_t cap)
{
    kubelet_t *k = p->k;
    size_t na = json_array_size(json_object_get(c, "command")) + json_array_size(json_object_get(c, "args"));
    char **argv = calloc(na + 4, sizeof *argv);
    char **env = NULL;
    size_t ne = 0;
    add_env(&env, &ne, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    /* the kubelet's hostname: the pod's name cut to 63 characters, without a trailing '-' or
     * '.' (truncatePodHostnameIfNeeded); a pod name may have up to 253 */
    char host[64];
    snprintf(host, sizeof host, "%.63s", p->name);
    for (size_t hl = strlen(host); hl > 1 && (host[hl - 1] == '-' || host[hl - 1] == '.');)
        host[--hl] = 0;
    add_env(&env, &ne, "HOSTNAME", host);
    add_env(&env, &ne, "HOME", "/root");
    if (container_env(k, pod, c, &env, &ne, err, cap) < 0) {
        for (size_t j = 0; j < ne; j++)
            free(env[j]);
        free(env);
        free(argv);
        return -1;
    }
    size_t i, ai = 0;
    json_t *a;
    if (k->o.shim)
        argv[ai++] = strdup(k->o.shim);
    *first_cmd = ai;
    json_array_foreach(json_object_get(c, "command"), i, a)
        argv[ai++] = expand(json_string_value(a) ? json_string_value(a) : "", env, ne);
    json_array_foreach(json_object_get(c, "args"), i, a)
        argv[ai++] = expand(json_string_value(a) ? json_string_value(a) : "", env, ne);
    *argc = ai;
    *argv_out = argv;
    *env_out = env;
    *ne_out = ne;
    return 0;
}

static void sides_make(kpod *p, const json_t *pod);
static kside *side_named(const kpod *p, const char *name);
static kside *side_add(kpod *p, const json_t *pod, const json_t *c, int native, int init_idx);
static void side_start(kside *sd);

static void start(kpod *p)
{
    kubelet_t *k = p->k;
    const store_rec *rec = store_latest(k->api->store, p->key);
    if (!rec)
        return;
    json_t *pod = jsonio_parse(rec->data, rec->len, 0, NULL);
    json_t *md = json_object_get(pod, "metadata");
    if (!p->in_init && !p->ever_started && p->init_done == 0 &&
        json_array_size(json_object_get(json_object_get(pod, "spec"), "initContainers")) > 0) {
        p->in_init = 1; /* this pod instance's first start: its init containers come first */
        p->main_restarts = p->restarts;
        p->restarts = 0;
    }
    const char *master = jstr(json_object_get(md, "annotations"), "torchjob.kubeflow.org/wait-for-master");
    /* Only the main container's first run waits: upstream's init-pytorch comes after the user's
     * init containers and runs once per pod. */
    if (master && !p->ever_started && !p->in_init && !master_running(k, p->ns, master)) {
        if (p->state != K_WAITING) {
            p->waiting_since = time(NULL);
            set_state(p, K_WAITING);
            if (p->init_status) /* the last init container's end is not written yet */
                write_status(p, "Pending", json_pack("{s:{s:s}}", "waiting", "reason", "PodInitializing"), NULL, 0);
        }
        json_decref(pod);
        return;
    }
    json_t *c = current_container(p, pod);
    if (p->in_init && jstr(c, "restartPolicy") && !strcmp(jstr(c, "restartPolicy"), "Always")) {
        /* a native sidecar: it starts and keeps running, and the next init container (or the
         * main one) follows */
        if (!side_named(p, jstr(c, "name")))
            side_start(side_add(p, pod, c, 1, p->init_done));
        int ninit = (int)json_array_size(json_object_get(json_object_get(pod, "spec"), "initContainers"));
        if (++p->init_done >= ninit) {
            p->in_init = 0;
            p->restarts = p->main_restarts;
        }
        json_decref(pod);
        start(p);
        return;
    }
    snprintf(p->container, sizeof p->container, "%s", jstr(c, "name") ? jstr(c, "name") : "main");
    char **argv = NULL, **env = NULL;
    size_t ne = 0, first_cmd = 0, ai = 0;
    char cfgerr[600] = "";
    if (build_cmd(p, pod, c, &argv, &ai, &first_cmd, &env, &ne, cfgerr, sizeof cfgerr) < 0) {
        /* kubelet: the image is there, the container cannot be made; the pod stays Pending */
        char img[600];
        quote(jstr(c, "image") ? jstr(c, "image") : "", img, sizeof img);
        pod_event(p, 1, "Normal", "Pulled", "Container image %s already present on machine", img);
        pod_event(p, 1, "Warning", "Failed", "Error: %s", cfgerr);
        set_state(p, K_CONFIG_ERROR);
        write_status(p, "Pending",
                     json_pack("{s:{s:s,s:s}}", "waiting", "reason", "CreateContainerConfigError", "message", cfgerr),
                     json_incref(p->last_term), 0);
        json_decref(pod);
        return;
    }
    char log[1200], prev[1200], dir[1100];
    kubelet_log_path(k, p->ns, p->name, p->container, 0, log, sizeof log);
    kubelet_log_path(k, p->ns, p->name, p->container, 1, prev, sizeof prev);
    snprintf(dir, sizeof dir, "%s/%s/%s", k->o.log_dir, p->ns, p->name);
    mkdirs(dir);
    if (p->ever_started) {
        rename(log, prev); /* the run before this one stays readable with previous=true */
        p->restarts++;     /* restartCount counts restarts, when they happen */
    } else {
        /* a new pod instance, maybe under an old name: its logs start empty */
        unlink(log);
        unlink(prev);
    }
    p->ever_started = 1;
    p->pid = 0;
    if (p->in_init)
        snprintf(p->run_id, sizeof p->run_id, "%s/init%d/%d", p->uid, p->init_done, p->restarts);
    else
        snprintf(p->run_id, sizeof p->run_id, "%s/%d", p->uid, p->restarts);
    /* kubelet: a command that cannot be executed fails the container's start (StartError,
     * exit 128); the restart policy decides what follows. Images are never run. */
    char why[600] = "";
    if (ai == first_cmd)
        snprintf(why, sizeof why, "container %s has no command; images are not pulled or run", p->container);
    else if (!command_found(argv[first_cmd], env))
        snprintf(why, sizeof why, "exec: \"%.400s\": executable file not found in $PATH", argv[first_cmd]);
    p->started = time(NULL);
    /* kubelet's events for a container it starts: the image is never pulled here, so it is
     * "already present" (IfNotPresent); a command that cannot run fails the start. */
    char img[600];
    quote(jstr(c, "image") ? jstr(c, "image") : "", img, sizeof img);
    pod_event(p, 1, "Normal", "Pulled", "Container image %s already present on machine", img);
    pod_event(p, 1, "Normal", "Created", "Created container: %s", p->container);
    if (*why) {
        FILE *f = fopen(log, "a");
        if (f) {
            fprintf(f, "torchjobd: %s\n", why);
            fclose(f);
        }
        pod_event(p, 1, "Warning", "Failed", "Error: %s", why);
        set_state(p, K_RUNNING);
    } else {
        rt_pod rp = {.id = p->run_id, .argv = argv, .envp = env, .workdir = jstr(c, "workingDir"),
                     .log_path = log, .log_cap = 64u << 20};
        set_state(p, K_STARTING);
        if (runtime_start(k->rt, &rp) < 0) {
            /* Only a duplicate id can fail here; the run before is still being reaped. */
            set_state(p, K_BACKOFF);
            uv_timer_start(&p->timer, on_backoff, 100, 0);
        } else {
            /* kept for exec: a command run in the container sees the container's environment */
            runenv_keep(&p->run, &env, &ne, c);
        }
    }
    for (size_t j = 0; argv[j]; j++)
        free(argv[j]);
    free(argv);
    for (size_t j = 0; j < ne; j++)
        free(env[j]);
    free(env);
    if (!p->in_init)
        sides_make(p, pod); /* the pod's other containers start with the main one */
    json_decref(pod);
    if (*why)
        on_proc_exit(k, p->run_id, 128, 0, 0);
}

/* ---- sidecars' lives ------------------------------------------------------------------------ */

static void side_event(kside *sd, const char *type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void side_event(kside *sd, const char *type, const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vpod_event(sd->p, sd->name, 0, type, reason, fmt, ap);
    va_end(ap);
}

/* The pod's status again, the main container's part as it last wrote it. */
static void sides_write(kpod *p)
{
    if (!p->cur_phase)
        return;
    write_status(p, p->cur_phase, json_incref(p->cur_state), json_incref(p->cur_last), p->cur_ready);
}

static void side_exited(kside *sd, int code, int sig, int err);
static void on_side_backoff(uv_timer_t *t);

static void side_start(kside *sd)
{
    kpod *p = sd->p;
    kubelet_t *k = p->k;
    json_t *pod = api_stored_json(k->api, p->key);
    const json_t *c = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), sd->native ? "initContainers" : "containers"), i, x)
        if (jstr(x, "name") && !strcmp(jstr(x, "name"), sd->name))
            c = x;
    if (!c) {
        json_decref(pod);
        return;
    }
    char **argv = NULL, **env = NULL, cfgerr[600] = "";
    size_t ne = 0, first_cmd = 0, argc = 0;
    char img[600];
    quote(jstr(c, "image") ? jstr(c, "image") : "", img, sizeof img);
    side_event(sd, "Normal", "Pulled", "Container image %s already present on machine", img);
    if (build_cmd(p, pod, c, &argv, &argc, &first_cmd, &env, &ne, cfgerr, sizeof cfgerr) < 0) {
        side_event(sd, "Warning", "Failed", "Error: %s", cfgerr);
        sd->state = S_CONFIG_ERROR;
        json_decref(sd->cur);
        sd->cur = json_pack("{s:{s:s,s:s}}", "waiting", "reason", "CreateContainerConfigError", "message", cfgerr);
        json_decref(pod);
        sides_write(p);
        return;
    }
    char log[1200], prev[1200];
    kubelet_log_path(k, p->ns, p->name, sd->name, 0, log, sizeof log);
    kubelet_log_path(k, p->ns, p->name, sd->name, 1, prev, sizeof prev);
    if (sd->ever) {
        rename(log, prev);
        sd->restarts++;
    } else {
        unlink(log);
        unlink(prev);
    }
    sd->ever = 1;
    sd->pid = 0;
    sd->started = time(NULL);
    snprintf(sd->run_id, sizeof sd->run_id, "%s/c/%.100s/%d", p->uid, sd->name, sd->restarts);
    side_event(sd, "Normal", "Created", "Created container: %s", sd->name);
    char why[600] = "";
    if (argc == first_cmd)
        snprintf(why, sizeof why, "container %s has no command; images are not pulled or run", sd->name);
    else if (!command_found(argv[first_cmd], env))
        snprintf(why, sizeof why, "exec: \"%.400s\": executable file not found in $PATH", argv[first_cmd]);
    int started = 0;
    if (!*why) {
        rt_pod rp = {.id = sd->run_id, .argv = argv, .envp = env, .workdir = jstr(c, "workingDir"),
                     .log_path = log, .log_cap = 64u << 20};
        sd->state = S_STARTING;
        started = runtime_start(k->rt, &rp) == 0;
        if (started) {
            runenv_keep(&sd->run, &env, &ne, c);
        }
    }
    for (size_t j = 0; j < argc; j++)
        free(argv[j]);
    free(argv);
    for (size_t j = 0; j < ne; j++)
        free(env[j]);
    free(env);
    json_decref(pod);
    if (!started) {
        FILE *f = *why ? fopen(log, "a") : NULL;
        if (f) {
            fprintf(f, "torchjobd: %s\n", why);
            fclose(f);
        }
        if (*why)
            side_event(sd, "Warning", "Failed", "Error: %s", why);
        side_exited(sd, 128, 0, 0);
    }
}

static void side_probe_changed(void *arg)
{
    kside *sd = arg;
    if (sd->state == S_RUNNING && !sd->stopping && !sd->p->gone)
        sides_write(sd->p);
}

static void side_probe_failed(void *arg, const char *kind, const char *msg)
{
    side_event(arg, "Warning", "Unhealthy", "%s probe failed: %s", kind, msg);
}

static void side_probe_unhealthy(void *arg, const char *kind)
{
    kside *sd = arg;
    kpod *p = sd->p;
    if (sd->state != S_RUNNING || sd->stopping || p->gone)
        return;
    side_event(sd, "Normal", "Killing", "Container %s failed %c%s probe, will be restarted", sd->name,
               (char)(kind[0] - 'A' + 'a'), kind + 1);
    json_t *pod = api_stored_json(p->k->api, p->key);
    unsigned grace = grace_of(pod, NULL);
    json_decref(pod);
    runtime_stop(p->k->rt, sd->run_id, grace);
}

static void side_started(kside *sd, int pid)
{
    sd->pid = pid;
    if (sd->state != S_STARTING)
        return;
    sd->state = S_RUNNING;
    side_event(sd, "Normal", "Started", "Started container %s", sd->name);
    char *ts = api_rfc3339(sd->started);
    json_decref(sd->cur);
    sd->cur = json_pack("{s:{s:s}}", "running", "startedAt", ts);
    free(ts);
    json_t *pod = api_stored_json(sd->p->k->api, sd->p->key);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), sd->native ? "initContainers" : "containers"), i, c)
        if (jstr(c, "name") && !strcmp(jstr(c, "name"), sd->name)) {
            probe_cb cb = {side_probe_changed, side_probe_failed, side_probe_unhealthy, sd};
            probes_stop(sd->probes);
            sd->probes = probes_start(sd->p->k->api->loop, c, sd->run.env, sd->run.workdir, &cb);
        }
    json_decref(pod);
    sides_write(sd->p);
}

static void side_exited(kside *sd, int code, int sig, int err)
{
    kpod *p = sd->p;
    kubelet_t *k = p->k;
    probes_stop(sd->probes);
    sd->probes = NULL;
    runenv_free(&sd->run);
    if (k->run_end && sd->pid > 0)
        k->run_end(k->run_end_arg, sd->run_id);
    char *a = api_rfc3339(sd->started), *b = api_now_rfc3339();
    json_t *t = json_pack("{s:i,s:s,s:s,s:s}", "exitCode", code,
                          "reason", code == 0 ? "Completed" : err == 0 && code == 128 && sd->pid <= 0 ? "StartError" : "Error",
                          "startedAt", a, "finishedAt", b);
    if (sig)
        json_object_set_new(t, "signal", json_integer(sig));
    set_container_id(t, sd->pid);
    free(a);
    free(b);
    json_t *term = json_pack("{s:o}", "terminated", t);
    if (p->gone || p->awaiting_sides || sd->stopping || p->deadline_hit || p->state == K_STOPPING) {
        sd->state = S_EXITED;
        json_decref(sd->cur);
        sd->cur = term;
        if (p->awaiting_sides && !sides_procs(p)) { /* the pod's last process: it goes now */
            finish_deletion(p);
            kpod_free(p);
            return;
        }
        if (!p->gone && !p->awaiting_sides)
            sides_write(p);
        return;
    }
    json_t *pod = api_stored_json(k->api, p->key);
    const char *policy = jstr(json_object_get(pod, "spec"), "restartPolicy");
    int restart = sd->native || (policy && (!strcmp(policy, "Always") || (!strcmp(policy, "OnFailure") && code != 0)));
    json_decref(pod);
    if (restart) { /* the same back-off as the main container's */
        if (time(NULL) - sd->started >= 600)
            sd->crashes = 0;
        sd->crashes++;
        sd->backoff_ms = sd->crashes == 1 ? 0 : sd->crashes == 2 ? k->o.backoff_initial_ms : sd->backoff_ms * 2;
        if (sd->backoff_ms > k->o.backoff_max_ms)
            sd->backoff_ms = k->o.backoff_max_ms;
        sd->state = S_BACKOFF;
        char msg[1200];
        snprintf(msg, sizeof msg, "back-off %us restarting failed container=%s pod=%s_%s(%s)", sd->backoff_ms / 1000,
                 sd->name, p->name, p->ns, p->uid);
        if (sd->backoff_ms)
            side_event(sd, "Warning", "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)", sd->name,
                       p->name, p->ns, p->uid);
        json_decref(sd->last_term);
        sd->last_term = term;
        json_decref(sd->cur);
        sd->cur = json_pack("{s:{s:s,s:s}}", "waiting", "reason", "CrashLoopBackOff", "message", msg);
        uv_timer_start(&sd->timer, on_side_backoff, sd->backoff_ms, 0);
    } else {
        sd->state = S_EXITED;
        json_decref(sd->cur);
        sd->cur = term;
    }
    sides_write(p);
}

static void on_side_backoff(uv_timer_t *t)
{
    kside *sd = t->data;
    if (sd->state == S_BACKOFF && !sd->p->gone)
        side_start(sd);
}

/* The main container's first run: the others start with it. */
/* A new sidecar of p, named like container c. The array has room for all of the pod's
 * containers from its first use on. */
static kside *side_add(kpod *p, const json_t *pod, const json_t *c, int native, int init_idx)
{
    if (!p->sides) {
        const json_t *spec = json_object_get(pod, "spec");
        size_t cap = json_array_size(json_object_get(spec, "containers")) +
                     json_array_size(json_object_get(spec, "initContainers"));
        p->sides = calloc(cap ? cap : 1, sizeof *p->sides);
        if (!p->sides)
            abort();
    }
    kside *sd = &p->sides[p->nsides++];
    sd->p = p;
    sd->native = native;
    sd->init_idx = init_idx;
    snprintf(sd->name, sizeof sd->name, "%s", jstr(c, "name") ? jstr(c, "name") : "");
    uv_timer_init(p->k->api->loop, &sd->timer);
    sd->timer.data = sd;
    p->handles++;
    return sd;
}

static void sides_make(kpod *p, const json_t *pod)
{
    if (p->sides_made)
        return;
    p->sides_made = 1;
    const json_t *mc = main_container((json_t *)pod);
    size_t i, first = p->nsides;
    const json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c)
        if (c != mc)
            side_add(p, pod, c, 0, 0);
    for (size_t j = first; j < p->nsides; j++)
        side_start(&p->sides[j]);
}

/* Stop the sidecars' processes with grace (a deletion, a deadline); the others end at once. */
static void sides_stop(kpod *p, unsigned grace)
{
    for (size_t i = 0; i < p->nsides; i++) {
        kside *sd = &p->sides[i];
        uv_timer_stop(&sd->timer);
        if (sd->state == S_STARTING || sd->state == S_RUNNING) {
            if (!sd->stopping)
                side_event(sd, "Normal", "Killing", "Stopping container %s", sd->name);
            sd->stopping = 1;
            runtime_stop(p->k->rt, sd->run_id, grace);
        } else {
            sd->state = S_EXITED;
        }
    }
}

static void on_backoff(uv_timer_t *t)
{
    kpod *p = t->data;
    if (p->state == K_BACKOFF && !p->gone)
        start(p);
}

/* ---- runtime callbacks ------------------------------------------------------------------------ */

static void retry_waiting(kubelet_t *k, const char *ns);
static void on_proc_exit(void *arg, const char *id, int code, int sig, int err);

/* ---- probes -------------------------------------------------------------------------------------- */

static void probe_changed(void *arg)
{
    kpod *p = arg;
    if (p->state == K_RUNNING && !p->gone)
        write_status(p, "Running", running_state(p), json_incref(p->last_term), kready(p));
}

static void probe_failed(void *arg, const char *kind, const char *msg)
{
    kpod *p = arg;
    pod_event(p, 1, "Warning", "Unhealthy", "%s probe failed: %s", kind, msg);
}

/* kubelet kills a container whose liveness or startup probe failed, with the pod's grace period
 * (or the probe's terminationGracePeriodSeconds); the restart policy decides what follows. */
static void probe_unhealthy(void *arg, const char *kind)
{
    kpod *p = arg;
    if (p->state != K_RUNNING || p->gone)
        return;
    char lower[32];
    snprintf(lower, sizeof lower, "%s", kind);
    lower[0] = (char)(lower[0] - 'A' + 'a');
    pod_event(p, 1, "Normal", "Killing", "Container %s failed %s probe, will be restarted", p->container, lower);
    json_t *pod = api_stored_json(p->k->api, p->key);
    json_t *c = pod ? current_container(p, pod) : NULL;
    char key[48];
    snprintf(key, sizeof key, "%.20sProbe", lower);
    unsigned grace = grace_of(pod, json_object_get(json_object_get(c, key), "terminationGracePeriodSeconds"));
    json_decref(pod);
    runtime_stop(p->k->rt, p->run_id, grace);
}

static void start_probes(kpod *p)
{
    probes_stop(p->probes);
    p->probes = NULL;
    json_t *pod = api_stored_json(p->k->api, p->key);
    if (!pod)
        return;
    probe_cb cb = {probe_changed, probe_failed, probe_unhealthy, p};
    p->probes = probes_start(p->k->api->loop, current_container(p, pod), p->run.env, p->run.workdir, &cb);
    json_decref(pod);
}

static void on_proc_started(void *arg, const char *id, int pid)
{
    kubelet_t *k = arg;
    kside *sd = find_side(k, id);
    if (sd) {
        side_started(sd, pid);
        return;
    }
    kpod *p = find_run(k, id);
    if (!p)
        return;
    p->pid = pid;
    if (p->state == K_STOPPING) /* deleted while starting: the stop is already under way */
        return;
    pod_event(p, 1, "Normal", "Started", "Started container %s", p->container);
    set_state(p, K_RUNNING);
    if (!p->in_init)
        start_probes(p);
    write_status(p, p->in_init ? "Pending" : "Running", running_state(p), json_incref(p->last_term), kready(p));
    if (!p->in_init)
        retry_waiting(k, p->ns);
}

static void on_proc_exit(void *arg, const char *id, int code, int sig, int err)
{
    kubelet_t *k = arg;
    kside *sd = find_side(k, id);
    if (sd) {
        if (!k->closing)
            side_exited(sd, code, sig, err);
        return;
    }
    kpod *p = find_run(k, id);
    if (!p)
        return;
    probes_stop(p->probes);
    p->probes = NULL;
    runenv_free(&p->run);
    if (k->run_end)
        k->run_end(k->run_end_arg, id); /* the container is gone, and what was exec'ed in it */
    if (err < 0) {
        char log[1200];
        kubelet_log_path(k, p->ns, p->name, p->container, 0, log, sizeof log);
        FILE *f = fopen(log, "a");
        if (f) {
            fprintf(f, "torchjobd: cannot start container %s: %s\n", p->container, strerror(-err));
            fclose(f);
        }
        if (!k->closing && !p->gone && p->state != K_STOPPING)
            pod_event(p, 1, "Warning", "Failed", "Error: cannot start container %s: %s", p->container,
                      strerror(-err));
    }
    if (k->closing)
        return;
    int was_stopping = p->state == K_STOPPING;
    if (p->gone || was_stopping) {
        set_state(p, K_EXITED);
        if (!p->gone && sides_procs(p)) { /* the pod goes with its last process */
            p->awaiting_sides = 1;
            return;
        }
        if (!p->gone)
            finish_deletion(p);
        kpod_free(p);
        return;
    }
    if (p->deadline_hit) { /* stopped for its deadline: the pod is over */
        set_state(p, K_EXITED);
        write_status(p, "Failed", terminated_state(p, code, sig), json_incref(p->last_term), 0);
        return;
    }
    const store_rec *rec = store_latest(k->api->store, p->key);
    json_t *pod = rec ? jsonio_parse(rec->data, rec->len, 0, NULL) : NULL;
    const char *policy = jstr(json_object_get(pod, "spec"), "restartPolicy");
    int restart = policy && (!strcmp(policy, "Always") || (!strcmp(policy, "OnFailure") && code != 0));
    json_t *term = terminated_state(p, code, sig);
    if (err == 0 && code == 128 && sig == 0 && p->pid <= 0)
        json_object_set_new(json_object_get(term, "terminated"), "reason", json_string("StartError"));
    if (p->in_init && code == 0) {
        /* done: its status stays as it ended (ready), and the next container starts */
        json_t *done = container_status(current_container(p, pod), p->restarts, 1, 0, term,
                                        p->last_term ? json_incref(p->last_term) : json_object());
        set_container_id(done, p->pid);
        init_status_set(p, pod, done);
        int ninit = (int)json_array_size(json_object_get(json_object_get(pod, "spec"), "initContainers"));
        json_decref(pod);
        json_decref(p->last_term);
        p->last_term = NULL;
        p->ever_started = p->crashes = 0;
        p->backoff_ms = 0;
        p->restarts = 0;
        if (++p->init_done >= ninit) {
            p->in_init = 0;
            p->restarts = p->main_restarts;
        }
        start(p);
        return;
    }
    /* an init container that failed is restarted unless the pod never restarts anything */
    if (p->in_init)
        restart = !policy || strcmp(policy, "Never");
    json_decref(pod);
    if (restart) {
        /* Restart in place after a back-off, as kubelet does (CrashLoopBackOff): the first
         * restart at once, then the initial delay, doubling to the maximum; a run of ten
         * minutes resets it. */
        if (time(NULL) - p->started >= 600)
            p->crashes = 0;
        p->crashes++;
        if (p->crashes == 1)
            p->backoff_ms = 0;
        else if (p->crashes == 2)
            p->backoff_ms = k->o.backoff_initial_ms;
        else
            p->backoff_ms *= 2;
        if (p->backoff_ms > k->o.backoff_max_ms)
            p->backoff_ms = k->o.backoff_max_ms;
        set_state(p, K_BACKOFF);
        char msg[1200];
        snprintf(msg, sizeof msg, "back-off %us restarting failed container=%s pod=%s_%s(%s)",
                 p->backoff_ms / 1000, p->container, p->name, p->ns, p->uid);
        json_t *w = json_pack("{s:{s:s,s:s}}", "waiting", "reason", "CrashLoopBackOff", "message", msg);
        if (p->backoff_ms) /* kubelet's doBackOff: a start refused while the back-off runs */
            pod_event(p, 1, "Warning", "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)",
                      p->container, p->name, p->ns, p->uid);
        json_decref(p->last_term);
        p->last_term = json_incref(term);
        write_status(p, p->in_init ? "Pending" : "Running", w, term, 0);
        uv_timer_start(&p->timer, on_backoff, p->backoff_ms, 0);
        return;
    }
    set_state(p, K_EXITED);
    write_status(p, code == 0 ? "Succeeded" : "Failed", term, json_incref(p->last_term), 0);
}

/* ---- pod events ----------------------------------------------------------------------------- */

static void retry_waiting(kubelet_t *k, const char *ns)
{
    time_t now = time(NULL);
    for (kpod *p = k->pods; p; p = p->next) {
        if (p->state != K_WAITING || strcmp(p->ns, ns))
            continue;
        if (now - p->waiting_since > (time_t)k->o.master_wait_s) {
            /* The upstream init container gives up: the pod fails as an init failure would. */
            set_state(p, K_EXITED);
            write_status(p, "Failed", terminated_state(p, 1, 0), NULL, 0);
            continue;
        }
        start(p);
    }
}

/* A ConfigMap or Secret was written (key "configmaps/NS/NAME"): the pods of NS whose container
 * could not be made for a missing one try again, as kubelet's next sync would. */
static void retry_config_errors(kubelet_t *k, const char *key)
{
    const char *ns = strchr(key, '/') + 1, *end = strchr(ns, '/');
    if (!end)
        return;
    for (kpod *p = k->pods, *next; p; p = next) {
        next = p->next;
        if (p->gone || strlen(p->ns) != (size_t)(end - ns) || strncmp(p->ns, ns, (size_t)(end - ns)))
            continue;
        for (size_t i = 0; i < p->nsides; i++)
            if (p->sides[i].state == S_CONFIG_ERROR)
                side_start(&p->sides[i]);
        if (p->state == K_CONFIG_ERROR) {
            set_state(p, K_STARTING);
            start(p);
        }
    }
}

/* activeDeadlineHandler: the pod ran longer than spec.activeDeadlineSeconds. */
static void on_deadline(uv_timer_t *t)
{
    kpod *p = t->data;
    kubelet_t *k = p->k;
    if (p->gone || p->state == K_EXITED || p->state == K_STOPPING || p->deadline_hit)
        return;
    p->deadline_hit = 1;
    pod_event(p, 0, "Normal", "DeadlineExceeded", "Pod was active on the node longer than the specified deadline");
    json_t *pod = api_stored_json(k->api, p->key);
    unsigned grace = grace_of(pod, NULL);
    json_decref(pod);
    sides_stop(p, grace);
    if (p->state == K_RUNNING || p->state == K_STARTING) {
        pod_event(p, 1, "Normal", "Killing", "Stopping container %s", p->container);
        if (runtime_stop(k->rt, p->run_id, grace) == 0)
            return; /* on_proc_exit ends the pod */
    }
    uv_timer_stop(&p->timer);
    set_state(p, K_EXITED);
    write_status(p, "Failed", p->last_term ? json_incref(p->last_term) : json_pack("{s:{}}", "waiting"), NULL, 0);
}

/* (Re)arm the deadline from the pod as stored: startTime (or now, before the first status
 * write) plus spec.activeDeadlineSeconds, which an update may lower. */
static void arm_deadline(kpod *p, const json_t *pod)
{
    const json_t *ads = json_object_get(json_object_get(pod, "spec"), "activeDeadlineSeconds");
    if (!json_is_integer(ads) || p->deadline_hit || p->state == K_EXITED) {
        uv_timer_stop(&p->deadline);
        return;
    }
    const char *st = jstr(json_object_get(pod, "status"), "startTime");
    time_t start = st ? api_parse_rfc3339(st) : time(NULL);
    double due = ((double)start + (double)json_integer_value(ads) - (double)time(NULL)) * 1000;
    uv_timer_start(&p->deadline, on_deadline, due <= 0 ? 0 : due > 1e12 ? (uint64_t)1e12 : (uint64_t)due, 0);
}

static void stop_pod(kpod *p, json_t *md)
{
    kubelet_t *k = p->k;
    /* As kubelet: the process gets deletionGracePeriodSeconds from now (the deletionTimestamp
     * has whole seconds only, so a deadline read from it could cut a second off). A later,
     * shorter grace can only bring the SIGKILL forward (runtime_stop never extends). */
    json_int_t grace = json_integer_value(json_object_get(md, "deletionGracePeriodSeconds"));
    unsigned left = grace <= 0 ? 0 : grace > (json_int_t)UINT_MAX ? UINT_MAX : (unsigned)grace;
    sides_stop(p, left);
    switch (p->state) {
    case K_STARTING:
    case K_RUNNING:
    case K_STOPPING:
        if (p->state != K_STOPPING)
            pod_event(p, 1, "Normal", "Killing", "Stopping container %s", p->container);
        set_state(p, K_STOPPING);
        if (runtime_stop(k->rt, p->run_id, left) < 0) {
            finish_deletion(p);
            kpod_free(p);
        }
        break;
    default:
        uv_timer_stop(&p->timer);
        set_state(p, K_EXITED);
        if (sides_procs(p)) {
            p->awaiting_sides = 1;
            return;
        }
        finish_deletion(p);
        kpod_free(p);
    }
}

static void on_commit(void *arg, const store_rec *rec, const store_rec *prev)
{
    kubelet_t *k = arg;
    (void)prev;
    if (k->closing)
        return;
    if (!strncmp(rec->key, "configmaps/", 11) || !strncmp(rec->key, "secrets/", 8)) {
        retry_config_errors(k, rec->key);
        return;
    }
    if (strncmp(rec->key, "pods/", 5))
        return;
    kpod *p = find(k, rec->key);
    if (rec->deleted) {
        if (!p)
            return;
        p->gone = 1;
        if (p->state == K_RUNNING || p->state == K_STARTING || p->state == K_STOPPING) {
            if (p->state != K_STOPPING) /* removed at once (grace 0): kubelet still kills it */
                pod_event(p, 1, "Normal", "Killing", "Stopping container %s", p->container);
            set_state(p, K_STOPPING);
            if (runtime_stop(k->rt, p->run_id, 0) < 0)
                kpod_free(p);
        } else {
            kpod_free(p);
        }
        return;
    }
    json_t *pod = jsonio_parse(rec->data, rec->len, 0, NULL);
    json_t *md = json_object_get(pod, "metadata");
    char nsbuf[256];
    snprintf(nsbuf, sizeof nsbuf, "%s", jstr(md, "namespace") ? jstr(md, "namespace") : "");
    const char *uid = jstr(md, "uid");
    const char *node = jstr(json_object_get(pod, "spec"), "nodeName");
    const char *phase = jstr(json_object_get(pod, "status"), "phase");
    if (p && uid && strcmp(p->uid, uid)) {
        /* Same name, new pod: the old one's process is finishing under its old identity. */
        p->gone = 1;
        p->key[0] = 0;
        p = NULL;
    }
    if (!p) {
        if (!uid || !node || strcmp(node, NODE_NAME) ||
            (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))) {
            json_decref(pod);
            return;
        }
        if (json_object_get(md, "deletionTimestamp")) {
            /* Never started: nothing to stop. */
            kpod tmp = {.k = k};
            snprintf(tmp.key, sizeof tmp.key, "%s", rec->key);
            snprintf(tmp.uid, sizeof tmp.uid, "%s", uid);
            finish_deletion(&tmp);
            json_decref(pod);
            return;
        }
        p = calloc(1, sizeof *p);
        p->k = k;
        snprintf(p->key, sizeof p->key, "%s", rec->key);
        snprintf(p->uid, sizeof p->uid, "%s", uid);
        snprintf(p->ns, sizeof p->ns, "%s", jstr(md, "namespace") ? jstr(md, "namespace") : "");
        snprintf(p->name, sizeof p->name, "%s", jstr(md, "name") ? jstr(md, "name") : "");
        /* the main container's status (a pod's other containers have theirs beside it) */
        json_t *cs = NULL, *e;
        size_t ci;
        const char *mname = jstr(main_container(pod), "name");
        json_array_foreach(json_object_get(json_object_get(pod, "status"), "containerStatuses"), ci, e)
            if (!cs || (mname && jstr(e, "name") && !strcmp(jstr(e, "name"), mname)))
                cs = e;
        p->restarts = (int)json_integer_value(json_object_get(cs, "restartCount"));
        uv_timer_init(k->api->loop, &p->timer);
        p->timer.data = p;
        uv_timer_init(k->api->loop, &p->deadline);
        p->deadline.data = p;
        p->handles = 2;
        p->state = K_STARTING;
        p->next = k->pods;
        k->pods = p;
        json_t *running = json_object_get(json_object_get(cs, "state"), "running");
        if (k->adopting && running) {
            /* Its process died with the previous daemon (a node reboot, for kubelet): the
             * container was killed; the restart policy decides what happens next. */
            json_t *mc = main_container(pod);
            snprintf(p->container, sizeof p->container, "%s",
                     json_string_value(json_object_get(mc, "name")) ? json_string_value(json_object_get(mc, "name")) : "main");
            p->started = api_parse_rfc3339(json_string_value(json_object_get(running, "startedAt")));
            snprintf(p->run_id, sizeof p->run_id, "%s/adopted", p->uid);
            p->ever_started = 1;
            set_state(p, K_RUNNING);
            on_proc_exit(k, p->run_id, 137, 9, 0);
            json_decref(pod);
            return;
        }
        /* Bound when it was created (the API's stand-in for the scheduler). */
        pod_event(p, 0, "Normal", "Scheduled", "Successfully assigned %s/%s to %s", p->ns, p->name, NODE_NAME);
        start(p);
        arm_deadline(p, pod);
        json_decref(pod);
        retry_waiting(k, nsbuf);
        return;
    }
    if (json_object_get(md, "deletionTimestamp") && p->state != K_EXITED) {
        stop_pod(p, md);
    } else if (json_object_get(md, "deletionTimestamp")) {
        finish_deletion(p);
        kpod_free(p);
    } else {
        arm_deadline(p, pod);
    }
    json_decref(pod);
    retry_waiting(k, nsbuf);
}

static int adopt(void *arg, const store_rec *rec)
{
    on_commit(arg, rec, NULL);
    return 0;
}

kubelet_t *kubelet_new(api_t *api, events_t *ev, const kubelet_opts *o)
{
    kubelet_t *k = calloc(1, sizeof *k);
    k->api = api;
    k->ev = ev;
    k->o = *o;
    if (!k->o.backoff_initial_ms)
        k->o.backoff_initial_ms = 10000;
    if (!k->o.backoff_max_ms)
        k->o.backoff_max_ms = 300000;
    if (!k->o.master_wait_s)
        k->o.master_wait_s = 200;
    rt_callbacks cb = {.on_started = on_proc_started, .on_exit = on_proc_exit, .arg = k};
    k->rt = runtime_local_new(api->loop, &cb);
    store_on_commit(api->store, on_commit, k);
    /* Pods that were running when the daemon stopped: their processes died with it (they are
     * not re-adopted yet): as after a node reboot, each restarts or fails by its policy. */
    k->adopting = 1;
    store_list(api->store, "pods/", NULL, 0, adopt, k);
    k->adopting = 0;
    return k;
}

void kubelet_free(kubelet_t *k)
{
    if (!k)
        return;
    k->closing = 1;
    while (k->pods)
        kpod_free(k->pods);
    runtime_free(k->rt);
    free(k);
}

int kubelet_exec_target(const kubelet_t *k, const char *ns, const char *pod, const char *container,
                        char *const **env, const char **workdir, char *run_id, size_t cap)
{
    for (kpod *p = k->pods; p; p = p->next) {
        if (strcmp(p->ns, ns) || strcmp(p->name, pod) || p->gone)
            continue;
        kside *sd = side_named(p, container);
        if (sd) {
            if (!sd->run.env || sd->pid <= 0 || sd->state != S_RUNNING)
                return -1;
            *env = sd->run.env;
            *workdir = sd->run.workdir;
            snprintf(run_id, cap, "%s", sd->run_id);
            return 0;
        }
        if (!p->run.env || p->pid <= 0 || strcmp(p->container, container) ||
            (p->state != K_RUNNING && p->state != K_STOPPING))
            return -1;
        *env = p->run.env;
        *workdir = p->run.workdir;
        snprintf(run_id, cap, "%s", p->run_id);
        return 0;
    }
    return -1;
}

void kubelet_on_run_end(kubelet_t *k, void (*fn)(void *arg, const char *run_id), void *arg)
{
    k->run_end = fn;
    k->run_end_arg = arg;
}

size_t kubelet_live(const kubelet_t *k)
{
    return runtime_live(k->rt);
}

int kubelet_pod_running(const kubelet_t *k, const char *ns, const char *pod)
{
    for (kpod *p = k->pods; p; p = p->next)
        if (!strcmp(p->ns, ns) && !strcmp(p->name, pod))
            return p->state == K_RUNNING || p->state == K_STARTING || p->state == K_STOPPING ||
                   p->state == K_BACKOFF || p->state == K_WAITING || sides_procs(p) > 0;
    return 0;
}

/* ---- log retention --------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

int kubelet_is_job_pod_name(const char *name, const char *job)
{
    size_t jl = strlen(job);
    if (strncmp(name, job, jl) || name[jl] != '-')
        return 0;
    const char *rest = name + jl + 1;
    const char *idx = !strncmp(rest, "master-", 7) ? rest + 7 : !strncmp(rest, "worker-", 7) ? rest + 7 : NULL;
    if (!idx || !*idx)
        return 0;
    for (; *idx; idx++)
        if (*idx < '0' || *idx > '9')
            return 0;
    return 1;
}

void kubelet_remove_job_logs(kubelet_t *k, const char *ns, const char *job)
{
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/%s", k->o.log_dir, ns);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!kubelet_is_job_pod_name(de->d_name, job))
            continue;
        char key[700];
        snprintf(key, sizeof key, "pods/%s/%s", ns, de->d_name);
        if (store_latest(k->api->store, key))
            continue; /* still there (or a new job of the same name): keep */
        char path[2400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        nftw(path, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    }
    closedir(d);
}
