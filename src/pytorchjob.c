/* pytorchjob — decode a PyTorchJob and its children into typed structs; build its pods, services
 * and environment (see pytorchjob.h for the local-runtime differences).
 *
 *   stored JSON ──ptj_decode──► ptj_job (defaults of §3 in memory) ──► jobstatus_reconcile
 *   Pod/Service JSON ──ptj_*_observe──► ptj_pod / ptj_svc ──┘        │
 *                                   ptj_build_pod / _service / _env ◄─┘ (create actions)
 *
 * Invariants:
 *  1. This file is the only one that reads the PyTorchJob spec by key, or a Pod's status.
 *  2. Decoding never fails on a validated object: a wrong-typed field reads as absent, and the
 *     upstream default applies.
 *  3. Every string in a ptj_job / ptj_pod / ptj_svc is borrowed from the JSON it was decoded from
 *     (ptj_job holds a reference to its object; the caller keeps pods and services alive).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jobstatus.h"
#include "pytorchjob.h"
#include "strconv.h"

static const char *const TYPE_NAMES[PTJ_NTYPES] = {"Master", "Worker"};
static const char *const TYPE_LABELS[PTJ_NTYPES] = {"master", "worker"};

const char *ptj_rtype_name(ptj_rtype t) { return TYPE_NAMES[t]; }
const char *ptj_rtype_label(ptj_rtype t) { return TYPE_LABELS[t]; }

/* ---- small JSON readers ----------------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Present and not null. */
static int jhas(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return v && !json_is_null(v);
}

static ptj_opt jopt(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    ptj_opt r = {0, 0};
    if (json_is_integer(v)) {
        r.set = 1;
        r.v = json_integer_value(v);
    }
    return r;
}


/* ---- time --------------------------------------------------------------------------------- */



static time_t jtime(const json_t *o, const char *k)
{
    time_t t = 0;
    if (strconv_parse_rfc3339(jstr(o, k), &t) < 0)
        return 0;
    return t;
}

/* ---- decode ------------------------------------------------------------------------------- */

/* The container defaulting rule 4 targets: the one named `pytorch`, else index 0. -1 if none. */
static int port_container(const json_t *containers)
{
    size_t n = json_array_size(containers);
    for (size_t i = 0; i < n; i++) {
        const char *name = jstr(json_array_get(containers, i), "name");
        if (name && !strcmp(name, PTJ_CONTAINER))
            return (int)i;
    }
    return n ? 0 : -1;
}

/* The port named pytorchjob-port in container c, or NULL. */
static const json_t *named_port(const json_t *c)
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(c, "ports"), i, p)
    {
        const char *name = jstr(p, "name");
        if (name && !strcmp(name, PTJ_PORT_NAME))
            return p;
    }
    return NULL;
}

static ptj_restart restart_of(const char *s)
{
    if (!strcmp(s, "OnFailure"))
        return PTJ_RP_ON_FAILURE;
    if (!strcmp(s, "Always"))
        return PTJ_RP_ALWAYS;
    if (!strcmp(s, "Never"))
        return PTJ_RP_NEVER;
    if (!strcmp(s, "ExitCode"))
        return PTJ_RP_EXIT_CODE;
    return PTJ_RP_OTHER;
}

static void decode_replica(const json_t *r, ptj_replica *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(r))
        return;
    out->present = 1;
    ptj_opt n = jopt(r, "replicas");
    out->replicas = n.set ? (int32_t)n.v : 1;
    const char *rp = jstr(r, "restartPolicy");
    out->restart_policy = rp && *rp ? rp : "OnFailure";
    out->restart = restart_of(out->restart_policy);
    const json_t *t = json_object_get(r, "template");
    out->tmpl = json_is_object(t) ? t : NULL;
    const json_t *spec = json_object_get(out->tmpl, "spec");
    const char *trp = jstr(spec, "restartPolicy");
    out->tmpl_restart_policy = trp && *trp;
    const json_t *cs = json_object_get(spec, "containers");
    int ci = port_container(cs);
    const json_t *p = ci >= 0 ? named_port(json_array_get(cs, (size_t)ci)) : NULL;
    if (p) {
        ptj_opt v = jopt(p, "containerPort");
        out->user_port = v.set ? (int32_t)v.v : 0;
    }
}

/* runPolicy field k, else the legacy top-level spec field. */
static const json_t *run_field(const json_t *rp, const json_t *spec, const char *k)
{
    return jhas(rp, k) ? json_object_get(rp, k) : json_object_get(spec, k);
}

static void decode_runpolicy(const json_t *spec, ptj_runpolicy *out)
{
    const json_t *rp = json_object_get(spec, "runPolicy");
    memset(out, 0, sizeof *out);
    const char *cpp = json_string_value(run_field(rp, spec, "cleanPodPolicy"));
    out->clean_pod_policy = cpp ? cpp : "None";
    if (!strcmp(out->clean_pod_policy, "None"))
        out->clean = PTJ_CLEAN_NONE;
    else if (!strcmp(out->clean_pod_policy, "Running"))
        out->clean = PTJ_CLEAN_RUNNING;
    else
        out->clean = PTJ_CLEAN_ALL;
    static const char *const ints[3] = {"ttlSecondsAfterFinished", "activeDeadlineSeconds",
                                        "backoffLimit"};
    ptj_opt *dst[3] = {&out->ttl, &out->deadline, &out->backoff};
    for (int i = 0; i < 3; i++) {
        const json_t *v = run_field(rp, spec, ints[i]);
        if (json_is_integer(v)) {
            dst[i]->set = 1;
            dst[i]->v = json_integer_value(v);
        }
    }
    out->suspend = json_is_true(json_object_get(rp, "suspend"));
    out->managed_by = jstr(rp, "managedBy");
}

static void decode_elastic(const json_t *spec, const ptj_replica *worker, ptj_elastic *out)
{
    const json_t *ep = json_object_get(spec, "elasticPolicy");
    memset(out, 0, sizeof *out);
    if (!json_is_object(ep))
        return;
    out->present = 1;
    ptj_opt mn = jopt(ep, "minReplicas"), mx = jopt(ep, "maxReplicas");
    if (mn.set && mx.set) { /* defaulting rule 5 */
        out->min_replicas = (int32_t)mn.v;
        out->max_replicas = (int32_t)mx.v;
    } else if (mx.set) {
        out->min_replicas = out->max_replicas = (int32_t)mx.v;
    } else if (mn.set) {
        out->min_replicas = out->max_replicas = (int32_t)mn.v;
    } else {
        out->min_replicas = out->max_replicas = worker->present ? worker->replicas : 0;
    }
    out->rdzv_backend = jstr(ep, "rdzvBackend");
    out->rdzv_host = jstr(ep, "rdzvHost");
    out->rdzv_id = jstr(ep, "rdzvId");
    out->rdzv_port = jopt(ep, "rdzvPort");
    out->nproc_per_node = jopt(ep, "nProcPerNode");
    out->max_restarts = jopt(ep, "maxRestarts");
    const json_t *conf = json_object_get(ep, "rdzvConf");
    out->rdzv_conf = json_array_size(conf) ? conf : NULL; /* [] crashes upstream: absent */
    out->standalone = json_is_true(json_object_get(ep, "standalone"));
}

int ptj_decode(json_t *obj, ptj_job *j)
{
    memset(j, 0, sizeof *j);
    if (!json_is_object(obj))
        return -EINVAL;
    j->obj = json_incref(obj);
    const json_t *md = json_object_get(obj, "metadata");
    j->name = jstr(md, "name") ? jstr(md, "name") : "";
    j->ns = jstr(md, "namespace") ? jstr(md, "namespace") : "";
    j->uid = jstr(md, "uid") ? jstr(md, "uid") : "";
    j->generation = json_integer_value(json_object_get(md, "generation"));
    j->creation = jtime(md, "creationTimestamp");
    j->deleting = jhas(md, "deletionTimestamp");

    const json_t *spec = json_object_get(obj, "spec");
    const json_t *reps = json_object_get(spec, "pytorchReplicaSpecs");
    for (int t = 0; t < PTJ_NTYPES; t++)
        decode_replica(json_object_get(reps, TYPE_NAMES[t]), &j->rs[t]);
    decode_runpolicy(spec, &j->run);
    decode_elastic(spec, &j->rs[PTJ_WORKER], &j->elastic);
    j->nproc_per_node = jstr(spec, "nprocPerNode");
    if (!j->nproc_per_node && !j->elastic.nproc_per_node.set)
        j->nproc_per_node = "auto"; /* defaulting rule 6 */
    jobstatus_decode(json_object_get(obj, "status"), &j->status);
    return 0;
}

int ptj_managed_elsewhere(const json_t *obj)
{
    const json_t *rp = json_object_get(json_object_get(obj, "spec"), "runPolicy");
    const char *by = json_string_value(json_object_get(rp, "managedBy"));
    return by && strcmp(by, PTJ_MANAGED_BY_US) != 0;
}

void ptj_job_free(ptj_job *j)
{
    jobstatus_free(&j->status);
    json_decref(j->obj);
    memset(j, 0, sizeof *j);
}

/* ---- names and labels --------------------------------------------------------------------- */

int32_t ptj_total_replicas(const ptj_job *j)
{
    int32_t n = 0;
    for (int t = 0; t < PTJ_NTYPES; t++)
        if (j->rs[t].present)
            n += j->rs[t].replicas;
    return n;
}

int ptj_is_master_role(const ptj_job *j, ptj_rtype t, int index)
{
    if (j->rs[PTJ_MASTER].present)
        return t == PTJ_MASTER;
    return t == PTJ_WORKER && index == 0;
}

int ptj_replica_port(const ptj_job *j, ptj_rtype t, int port)
{
    return j->rs[t].present && j->rs[t].user_port ? j->rs[t].user_port : port;
}

char *ptj_child_name(const ptj_job *j, ptj_rtype t, int index)
{
    char *s;
    if (asprintf(&s, "%s-%s-%d", j->name, TYPE_LABELS[t], index) < 0)
        abort();
    for (char *p = s; *p; p++)
        if (*p == '/')
            *p = '-';
    return s;
}

char *ptj_selector(const ptj_job *j, ptj_rtype t)
{
    char *s; /* keys in sorted order: job-name < operator-name < replica-type */
    if (asprintf(&s, PTJ_LABEL_JOB_NAME "=%s," PTJ_LABEL_OPERATOR "=" PTJ_CONTROLLER_NAME
                 "," PTJ_LABEL_TYPE "=%s", j->name, TYPE_LABELS[t]) < 0)
        abort();
    return s;
}

/* {job-name, operator-name, replica-type, replica-index} set on labels. */
static void set_child_labels(json_t *labels, const ptj_job *j, ptj_rtype t, int index)
{
    char idx[16];
    snprintf(idx, sizeof idx, "%d", index);
    json_object_set_new(labels, PTJ_LABEL_JOB_NAME, json_string(j->name));
    json_object_set_new(labels, PTJ_LABEL_OPERATOR, json_string(PTJ_CONTROLLER_NAME));
    json_object_set_new(labels, PTJ_LABEL_TYPE, json_string(TYPE_LABELS[t]));
    json_object_set_new(labels, PTJ_LABEL_INDEX, json_string(idx));
}

static json_t *owner_refs(const ptj_job *j)
{
    return json_pack("[{s:s, s:s, s:s, s:s, s:b, s:b}]", "apiVersion", PTJ_API_VERSION, "kind",
                     PTJ_KIND, "name", j->name, "uid", j->uid, "controller", 1,
                     "blockOwnerDeletion", 1);
}

/* ---- env ---------------------------------------------------------------------------------- */

static void env_add(json_t *env, const char *name, const char *value)
{
    json_array_append_new(env, json_pack("{s:s, s:s}", "name", name, "value", value));
}

static void env_addf(json_t *env, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void env_addf(json_t *env, const char *name, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    env_add(env, name, buf);
}

/* P of §5.5: nprocPerNode as an integer, else 1. */
static long long nproc_int(const ptj_job *j)
{
    long long v;
    return j->nproc_per_node && strconv_int64(j->nproc_per_node, &v) == 0 ? v : 1;
}

static void env_elastic(json_t *env, const ptj_job *j, int port)
{
    const ptj_elastic *e = &j->elastic;
    long long rport = e->rdzv_port.set ? e->rdzv_port.v : ptj_replica_port(j, PTJ_WORKER, port);
    env_addf(env, "PET_RDZV_ENDPOINT", "%s:%lld", e->rdzv_host ? e->rdzv_host : PTJ_LOCAL_ADDR, rport);
    env_add(env, "PET_RDZV_BACKEND", e->rdzv_backend ? e->rdzv_backend : "c10d");
    env_addf(env, "PET_NNODES", "%d:%d", e->min_replicas, e->max_replicas);
    if (e->max_restarts.set)
        env_addf(env, "PET_MAX_RESTARTS", "%lld", (long long)e->max_restarts.v);
    if (e->nproc_per_node.set)
        env_addf(env, "PET_NPROC_PER_NODE", "%lld", (long long)e->nproc_per_node.v);
    if (e->rdzv_id)
        env_add(env, "PET_RDZV_ID", e->rdzv_id);
    if (e->rdzv_conf) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        size_t i;
        const json_t *kv;
        json_array_foreach(e->rdzv_conf, i, kv)
        {
            const char *k = jstr(kv, "key"), *v = jstr(kv, "value");
            fprintf(f, "%s%s=%s", i ? "," : "", k ? k : "", v ? v : "");
        }
        fclose(f);
        env_add(env, "PET_RDZV_CONF", buf);
        free(buf);
    }
    if (e->standalone)
        env_add(env, "PET_STANDALONE", "");
}

json_t *ptj_build_env(const ptj_job *j, ptj_rtype t, int index, int port)
{
    json_t *env = json_array();
    long long total = ptj_total_replicas(j);
    env_add(env, "PYTHONUNBUFFERED", "1");
    if (j->rs[PTJ_MASTER].present) {
        int mport = ptj_replica_port(j, PTJ_MASTER, port);
        env_addf(env, "MASTER_PORT", "%d", mport);
        env_addf(env, "PET_MASTER_PORT", "%d", mport);
        env_add(env, "MASTER_ADDR", PTJ_LOCAL_ADDR);
        env_add(env, "PET_MASTER_ADDR", PTJ_LOCAL_ADDR);
        int rank = index + (t == PTJ_WORKER ? 1 : 0);
        env_addf(env, "WORLD_SIZE", "%lld", total * nproc_int(j));
        env_addf(env, "RANK", "%d", rank);
        env_addf(env, "PET_NODE_RANK", "%d", rank);
    }
    if (j->nproc_per_node)
        env_add(env, "PET_NPROC_PER_NODE", j->nproc_per_node);
    if (j->elastic.present)
        env_elastic(env, j, port);
    else
        env_addf(env, "PET_NNODES", "%lld", total);
    return env;
}

/* ---- pod and service ---------------------------------------------------------------------- */

/* Defaulting rule 4 on a pod spec's containers (in place), with the job's port. */
static void default_port(json_t *containers, int port)
{
    int ci = port_container(containers);
    if (ci < 0)
        return;
    json_t *c = json_array_get(containers, (size_t)ci);
    if (!json_is_object(c) || named_port(c))
        return;
    json_t *ports = json_object_get(c, "ports");
    if (!json_is_array(ports)) {
        ports = json_array();
        json_object_set_new(c, "ports", ports);
    }
    json_array_append_new(ports, json_pack("{s:s, s:i, s:s}", "name", PTJ_PORT_NAME,
                                           "containerPort", port, "protocol", "TCP"));
}

/* A deep copy of the replica's template spec (an object, possibly empty), ports defaulted. */
static json_t *template_spec(const ptj_job *j, ptj_rtype t, int port)
{
    const json_t *spec = json_object_get(j->rs[t].tmpl, "spec");
    json_t *s = json_is_object(spec) ? json_deep_copy(spec) : json_object();
    default_port(json_object_get(s, "containers"), port);
    return s;
}

/* A copy of the template's metadata.<k> when it is of the wanted type, else NULL. */
static json_t *template_meta(const ptj_job *j, ptj_rtype t, const char *k, int want_object)
{
    const json_t *v = json_object_get(json_object_get(j->rs[t].tmpl, "metadata"), k);
    if (want_object ? json_is_object(v) : json_is_array(v))
        return json_deep_copy(v);
    return NULL;
}

json_t *ptj_build_pod(const ptj_job *j, ptj_rtype t, int index, int port)
{
    const ptj_replica *r = &j->rs[t];
    char *name = ptj_child_name(j, t, index);
    json_t *md = json_pack("{s:s, s:s}", "name", name, "namespace", j->ns);
    free(name);

    json_t *labels = template_meta(j, t, "labels", 1);
    if (!labels)
        labels = json_object();
    set_child_labels(labels, j, t, index);
    if (ptj_is_master_role(j, t, index))
        json_object_set_new(labels, PTJ_LABEL_ROLE, json_string("master"));
    json_object_set_new(md, "labels", labels);

    json_t *ann = template_meta(j, t, "annotations", 1);
    if (t == PTJ_WORKER && j->rs[PTJ_MASTER].present) {
        char *master = ptj_child_name(j, PTJ_MASTER, 0);
        if (!ann)
            ann = json_object();
        json_object_set_new(ann, PTJ_ANN_WAIT_FOR_MASTER, json_string(master));
        free(master);
    }
    if (ann)
        json_object_set_new(md, "annotations", ann);
    json_t *fin = template_meta(j, t, "finalizers", 0);
    if (fin)
        json_object_set_new(md, "finalizers", fin);
    json_object_set_new(md, "ownerReferences", owner_refs(j));

    json_t *spec = template_spec(j, t, port);
    json_object_set_new(spec, "restartPolicy",
                        json_string(r->restart == PTJ_RP_EXIT_CODE ? "Never" : r->restart_policy));
    json_object_set_new(spec, "nodeName", json_string(PTJ_NODE_NAME));
    json_t *inject = ptj_build_env(j, t, index, port);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(spec, "containers"), i, c)
    {
        if (!json_is_object(c))
            continue;
        json_t *env = json_object_get(c, "env");
        if (!json_is_array(env)) {
            env = json_array();
            json_object_set_new(c, "env", env);
        }
        json_t *copy = json_deep_copy(inject);
        json_array_extend(env, copy);
        json_decref(copy);
    }
    json_decref(inject);
    return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", md,
                     "spec", spec);
}

json_t *ptj_build_service(const ptj_job *j, ptj_rtype t, int index, int port)
{
    char *name = ptj_child_name(j, t, index);
    json_t *labels = json_object();
    set_child_labels(labels, j, t, index);
    json_t *md = json_pack("{s:s, s:s, s:O, s:o}", "name", name, "namespace", j->ns, "labels",
                           labels, "ownerReferences", owner_refs(j));
    free(name);

    /* Every port of the `pytorch` container (upstream collects them in a map by name: a
     * repeated name keeps the last number). */
    json_t *tspec = template_spec(j, t, port);
    json_t *ports = json_array();
    size_t i, k;
    json_t *c, *p;
    json_array_foreach(json_object_get(tspec, "containers"), i, c)
    {
        const char *cn = jstr(c, "name");
        if (!cn || strcmp(cn, PTJ_CONTAINER))
            continue;
        json_array_foreach(json_object_get(c, "ports"), k, p)
        {
            const char *pn = jstr(p, "name") ? jstr(p, "name") : "";
            json_int_t num = json_integer_value(json_object_get(p, "containerPort"));
            json_t *sp = NULL, *q;
            size_t m;
            json_array_foreach(ports, m, q)
                if (!strcmp(jstr(q, "name") ? jstr(q, "name") : "", pn))
                    sp = q;
            if (!sp) {
                sp = json_object();
                if (*pn)
                    json_object_set_new(sp, "name", json_string(pn));
                json_object_set_new(sp, "protocol", json_string("TCP"));
                json_array_append_new(ports, sp);
            }
            json_object_set_new(sp, "port", json_integer(num));
            json_object_set_new(sp, "targetPort", json_integer(num));
        }
        break;
    }
    json_decref(tspec);
    json_t *spec = json_pack("{s:s, s:s, s:o, s:o}", "clusterIP", "None", "type", "ClusterIP",
                             "selector", json_deep_copy(labels), "ports", ports);
    json_decref(labels);
    return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Service", "metadata", md,
                     "spec", spec);
}

/* ---- observed children -------------------------------------------------------------------- */

static void child_labels(const json_t *obj, int *type, int *index)
{
    const json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
    const char *rt = jstr(labels, PTJ_LABEL_TYPE);
    *type = -1;
    for (int t = 0; t < PTJ_NTYPES; t++)
        if (rt && !strcmp(rt, TYPE_LABELS[t]))
            *type = t;
    long long v;
    *index = strconv_int64(jstr(labels, PTJ_LABEL_INDEX), &v) == 0 && v >= 0 && v <= INT_MAX ? (int)v : -1;
}

int ptj_claim(const ptj_job *j, const json_t *child)
{
    const json_t *md = json_object_get(child, "metadata");
    const json_t *labels = json_object_get(md, "labels");
    const char *jn = jstr(labels, PTJ_LABEL_JOB_NAME), *op = jstr(labels, PTJ_LABEL_OPERATOR);
    if (!jn || strcmp(jn, j->name) || !op || strcmp(op, PTJ_CONTROLLER_NAME))
        return PTJ_CLAIM_NONE;
    size_t i;
    const json_t *ref;
    json_array_foreach(json_object_get(md, "ownerReferences"), i, ref)
    {
        const char *uid = jstr(ref, "uid");
        if (json_is_true(json_object_get(ref, "controller")))
            return uid && !strcmp(uid, j->uid) ? PTJ_CLAIM_OWNED : PTJ_CLAIM_NONE;
    }
    /* ClaimObject: an orphan being deleted, or claimed by a job being deleted, stays an orphan */
    return jhas(md, "deletionTimestamp") || j->deleting ? PTJ_CLAIM_NONE : PTJ_CLAIM_ORPHAN;
}

int ptj_owns(const ptj_job *j, const json_t *child)
{
    return ptj_claim(j, child) == PTJ_CLAIM_OWNED;
}

void ptj_adopt(const ptj_job *j, json_t *child)
{
    json_t *md = json_object_get(child, "metadata");
    json_t *refs = json_object_get(md, "ownerReferences");
    if (!json_is_array(refs)) {
        refs = json_array();
        json_object_set_new(md, "ownerReferences", refs);
    }
    json_t *mine = owner_refs(j);
    json_array_extend(refs, mine);
    json_decref(mine);
}

static ptj_phase phase_of(const char *s)
{
    if (!s || !*s || !strcmp(s, "Pending"))
        return PTJ_POD_PENDING;
    if (!strcmp(s, "Running"))
        return PTJ_POD_RUNNING;
    if (!strcmp(s, "Succeeded"))
        return PTJ_POD_SUCCEEDED;
    if (!strcmp(s, "Failed"))
        return PTJ_POD_FAILED;
    return PTJ_POD_UNKNOWN;
}

static void add_abnormal(ptj_pod *p, ptj_ab_kind kind, const char *container, const char *reason,
                         const char *message, int exit_code)
{
    if (p->nabnormal == PTJ_MAX_ABNORMAL)
        return;
    ptj_abnormal *a = &p->abnormal[p->nabnormal++];
    a->kind = kind;
    a->container = container;
    a->reason = reason ? reason : "";
    a->message = message ? message : "";
    a->exit_code = exit_code;
}

/* recordAbnormalPods' view of one pod (§7): container statuses if any, else init container
 * statuses, else the newest pod condition when it is not True. */
static void observe_abnormal(const json_t *st, ptj_pod *p)
{
    const json_t *cs = json_object_get(st, "containerStatuses");
    if (!json_array_size(cs))
        cs = json_object_get(st, "initContainerStatuses");
    if (json_array_size(cs)) {
        size_t i;
        const json_t *c;
        json_array_foreach(cs, i, c)
        {
            const json_t *state = json_object_get(c, "state");
            const json_t *term = json_object_get(state, "terminated");
            const json_t *wait = json_object_get(state, "waiting");
            int code = (int)json_integer_value(json_object_get(term, "exitCode"));
            if (json_is_object(term) && code != 0)
                add_abnormal(p, PTJ_AB_TERMINATED, jstr(c, "name"), jstr(term, "reason"),
                             jstr(term, "message"), code);
            const char *wm = jstr(wait, "message");
            if (json_is_object(wait) && wm && *wm)
                add_abnormal(p, PTJ_AB_WAITING, jstr(c, "name"), jstr(wait, "reason"), wm, 0);
        }
        return;
    }
    const json_t *conds = json_object_get(st, "conditions"), *latest = NULL, *c;
    time_t lt = 0;
    size_t i;
    json_array_foreach(conds, i, c)
    {
        time_t ct = jtime(c, "lastTransitionTime");
        if (!latest || ct > lt) {
            latest = c;
            lt = ct;
        }
    }
    const char *cst = jstr(latest, "status");
    if (latest && !(cst && !strcmp(cst, "True")))
        add_abnormal(p, PTJ_AB_CONDITION, NULL, jstr(latest, "reason"), jstr(latest, "message"), 0);
}

int ptj_pod_observe(const json_t *pod, ptj_pod *out)
{
    memset(out, 0, sizeof *out);
    const json_t *md = json_object_get(pod, "metadata");
    out->name = jstr(md, "name");
    if (!out->name)
        return -EINVAL;
    child_labels(pod, &out->type, &out->index);
    out->deleting = jhas(md, "deletionTimestamp");
    const json_t *st = json_object_get(pod, "status");
    out->phase = phase_of(jstr(st, "phase"));
    out->exit_code = PTJ_NO_EXIT_CODE;
    static const char *const lists[2] = {"initContainerStatuses", "containerStatuses"};
    for (int l = 0; l < 2; l++) {
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(st, lists[l]), i, c)
        {
            out->restarts += (int32_t)json_integer_value(json_object_get(c, "restartCount"));
            const json_t *term = json_object_get(json_object_get(c, "state"), "terminated");
            const char *cn = jstr(c, "name");
            if (l == 1 && cn && !strcmp(cn, PTJ_CONTAINER) && json_is_object(term))
                out->exit_code = (int)json_integer_value(json_object_get(term, "exitCode"));
        }
    }
    observe_abnormal(st, out);
    return 0;
}

int ptj_svc_observe(const json_t *svc, ptj_svc *out)
{
    memset(out, 0, sizeof *out);
    out->name = jstr(json_object_get(svc, "metadata"), "name");
    if (!out->name)
        return -EINVAL;
    child_labels(svc, &out->type, &out->index);
    return 0;
}
