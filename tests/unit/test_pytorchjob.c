/* Unit tests for src/pytorchjob.c: decoding with defaults, env vars (§5.5 worked examples, with
 * the local 127.0.0.1 / per-job port differences), pod and service JSON, observed children. */
#include "unit.h"
#include <errno.h>
#include <jansson.h>
#include "pytorchjob.h"

#define PORT 40123

/* JSON from text written with single quotes. */
static json_t *J(const char *text)
{
    char *s = strdup(text);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t err;
    json_t *v = json_loads(s, 0, &err);
    if (!v)
        fail_msg("bad fixture: %s: %s", err.text, s);
    free(s);
    return v;
}

#define CONTAINER "{'name':'pytorch','image':'python:3.11','command':['python3','train.py']}"
#define REPLICA(n, policy) "{'replicas':" #n ",'restartPolicy':'" policy "','template':{'spec':{'containers':[" CONTAINER "]}}}"
#define META "'metadata':{'name':'demo','namespace':'ns1','uid':'uid-1','generation':2,'creationTimestamp':'2026-01-02T03:04:05Z'}"

static void decode_text(const char *text, ptj_job *j)
{
    json_t *o = J(text);
    assert_int_equal(ptj_decode(o, j), 0);
    json_decref(o);
}

/* The injected env as "K=V,K=V,...". Malloc'ed. */
static char *env_str(json_t *env)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    size_t i;
    json_t *e;
    json_array_foreach(env, i, e)
        fprintf(f, "%s%s=%s", i ? "," : "", json_string_value(json_object_get(e, "name")),
                json_string_value(json_object_get(e, "value")));
    fclose(f);
    return buf;
}

static void check_env(const ptj_job *j, ptj_rtype t, int index, const char *want)
{
    json_t *env = ptj_build_env(j, t, index, PORT);
    char *got = env_str(env);
    assert_string_equal(got, want);
    free(got);
    json_decref(env);
}

/* ---- decode ------------------------------------------------------------------------------- */

static void test_decode_defaults(void **state)
{
    ptj_job j;
    decode_text("{" META ",'spec':{'pytorchReplicaSpecs':{'Master':{'template':{'spec':{'containers':["
                CONTAINER "]}}},'Worker':{'replicas':3,'restartPolicy':''}}}}", &j);
    assert_string_equal(j.name, "demo");
    assert_string_equal(j.ns, "ns1");
    assert_string_equal(j.uid, "uid-1");
    assert_int_equal(j.generation, 2);
    assert_int_equal(j.creation, 1767323045);
    assert_false(j.deleting);
    assert_true(j.rs[PTJ_MASTER].present);
    assert_int_equal(j.rs[PTJ_MASTER].replicas, 1);
    assert_int_equal(j.rs[PTJ_MASTER].restart, PTJ_RP_ON_FAILURE);
    assert_string_equal(j.rs[PTJ_MASTER].restart_policy, "OnFailure");
    assert_non_null(j.rs[PTJ_MASTER].tmpl);
    assert_int_equal(j.rs[PTJ_MASTER].user_port, 0);
    assert_int_equal(j.rs[PTJ_WORKER].replicas, 3);
    assert_string_equal(j.rs[PTJ_WORKER].restart_policy, "OnFailure");
    assert_null(j.rs[PTJ_WORKER].tmpl);
    assert_int_equal(j.run.clean, PTJ_CLEAN_NONE);
    assert_string_equal(j.run.clean_pod_policy, "None");
    assert_false(j.run.ttl.set);
    assert_false(j.run.deadline.set);
    assert_false(j.run.backoff.set);
    assert_false(j.run.suspend);
    assert_null(j.run.managed_by);
    assert_false(j.elastic.present);
    assert_string_equal(j.nproc_per_node, "auto");
    assert_int_equal(ptj_total_replicas(&j), 4);
    assert_int_equal(j.status.nconds, 0);
    ptj_job_free(&j);

    json_t *notobj = json_string("x");
    assert_int_equal(ptj_decode(notobj, &j), -EINVAL);
    json_decref(notobj);
}

static void test_managed_elsewhere(void **state)
{
    static const struct { const char *text; int want; } cases[] = {
        {"{'spec':{'runPolicy':{'managedBy':'kueue.x-k8s.io/multikueue'}}}", 1},
        {"{'spec':{'runPolicy':{'managedBy':'kubeflow.org/training-operator'}}}", 0},
        {"{'spec':{'runPolicy':{}}}", 0},
        {"{'spec':{'runPolicy':{'managedBy':7}}}", 0},
        {"{'spec':{'managedBy':'kueue.x-k8s.io/multikueue'}}", 0}, /* not a legacy field */
        {"{'spec':{}}", 0},
        {"{}", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *o = J(cases[i].text);
        assert_int_equal(ptj_managed_elsewhere(o), cases[i].want);
        json_decref(o);
    }
    assert_int_equal(ptj_managed_elsewhere(NULL), 0);
}

static void test_decode_runpolicy_and_legacy(void **state)
{
    ptj_job j;
    /* Legacy top-level fields fill what runPolicy lacks; runPolicy wins where both are set. */
    decode_text("{" META ",'spec':{'activeDeadlineSeconds':100,'ttlSecondsAfterFinished':60,"
                "'cleanPodPolicy':'All','backoffLimit':4,"
                "'runPolicy':{'backoffLimit':2,'suspend':true,'managedBy':'kueue.x-k8s.io/multikueue'},"
                "'pytorchReplicaSpecs':{'Worker':" REPLICA(2, "ExitCode") "}}}", &j);
    assert_true(j.run.deadline.set);
    assert_int_equal(j.run.deadline.v, 100);
    assert_int_equal(j.run.ttl.v, 60);
    assert_int_equal(j.run.clean, PTJ_CLEAN_ALL);
    assert_int_equal(j.run.backoff.v, 2);
    assert_true(j.run.suspend);
    assert_string_equal(j.run.managed_by, "kueue.x-k8s.io/multikueue");
    assert_int_equal(j.rs[PTJ_WORKER].restart, PTJ_RP_EXIT_CODE);
    assert_false(j.rs[PTJ_MASTER].present);
    ptj_job_free(&j);

    decode_text("{" META ",'spec':{'runPolicy':{'cleanPodPolicy':'Running','ttlSecondsAfterFinished':0},"
                "'cleanPodPolicy':'All','pytorchReplicaSpecs':{}}}", &j);
    assert_int_equal(j.run.clean, PTJ_CLEAN_RUNNING);
    assert_true(j.run.ttl.set);
    assert_int_equal(j.run.ttl.v, 0);
    ptj_job_free(&j);

    decode_text("{" META ",'spec':{'runPolicy':{'cleanPodPolicy':'Sometimes'}}}", &j);
    assert_int_equal(j.run.clean, PTJ_CLEAN_ALL); /* unknown behaves like All */
    assert_string_equal(j.run.clean_pod_policy, "Sometimes");
    ptj_job_free(&j);

    decode_text("{'metadata':{'name':'d','deletionTimestamp':'2026-01-02T03:04:05Z'}}", &j);
    assert_true(j.deleting);
    assert_string_equal(j.ns, "");
    ptj_job_free(&j);
}

static void test_decode_elastic_defaults(void **state)
{
    ptj_job j;
    decode_text("{" META ",'spec':{'elasticPolicy':{},'pytorchReplicaSpecs':{'Worker':" REPLICA(3, "OnFailure") "}}}", &j);
    assert_true(j.elastic.present);
    assert_int_equal(j.elastic.min_replicas, 3);
    assert_int_equal(j.elastic.max_replicas, 3);
    assert_null(j.elastic.rdzv_conf);
    ptj_job_free(&j);

    decode_text("{" META ",'spec':{'elasticPolicy':{'maxReplicas':5,'rdzvConf':[]},'pytorchReplicaSpecs':{}}}", &j);
    assert_int_equal(j.elastic.min_replicas, 5);
    assert_int_equal(j.elastic.max_replicas, 5);
    assert_null(j.elastic.rdzv_conf); /* [] is treated as absent (upstream panics) */
    ptj_job_free(&j);

    decode_text("{" META ",'spec':{'elasticPolicy':{'minReplicas':2,'nProcPerNode':8},'pytorchReplicaSpecs':{}}}", &j);
    assert_int_equal(j.elastic.min_replicas, 2);
    assert_int_equal(j.elastic.max_replicas, 2);
    assert_null(j.nproc_per_node); /* not defaulted when the deprecated field is set */
    ptj_job_free(&j);
}

static void test_decode_status(void **state)
{
    ptj_job j;
    decode_text("{" META ",'spec':{},'status':{'conditions':[{'type':'Created','status':'True',"
                "'reason':'PyTorchJobCreated','message':'m','lastUpdateTime':'2026-01-02T03:04:05Z',"
                "'lastTransitionTime':'2026-01-02T03:04:05.123+01:00'}],"
                "'replicaStatuses':{'Worker':{'active':2,'failed':1,'selector':'s'},'worker':{}},"
                "'startTime':'2026-01-02T03:04:06Z','completionTime':'bogus'}}", &j);
    assert_int_equal(j.status.nconds, 1);
    assert_string_equal(j.status.conds[0].type, "Created");
    assert_string_equal(j.status.conds[0].message, "m");
    assert_int_equal(j.status.conds[0].last_update, 1767323045);
    assert_int_equal(j.status.conds[0].last_transition, 1767323045 - 3600);
    assert_false(j.status.rs[PTJ_MASTER].present);
    assert_true(j.status.rs[PTJ_WORKER].present);
    assert_int_equal(j.status.rs[PTJ_WORKER].active, 2);
    assert_int_equal(j.status.rs[PTJ_WORKER].failed, 1);
    assert_string_equal(j.status.rs[PTJ_WORKER].selector, "s");
    assert_int_equal(j.status.start_time, 1767323046);
    assert_int_equal(j.status.completion_time, 0);
    ptj_job_free(&j);
}

static void test_time(void **state)
{
    char buf[32];
    time_t t;
    assert_string_equal(strconv_rfc3339(1767323045, buf), "2026-01-02T03:04:05Z");
    assert_int_equal(strconv_parse_rfc3339("2026-01-02T03:04:05Z", &t), 0);
    assert_int_equal(t, 1767323045);
    assert_int_equal(strconv_parse_rfc3339("2026-01-02T03:04:05.5-00:30", &t), 0);
    assert_int_equal(t, 1767323045 + 1800);
    assert_int_equal(strconv_parse_rfc3339("2026-01-02 03:04:05Z", &t), -EINVAL);
    assert_int_equal(strconv_parse_rfc3339("2026-01-02T03:04:05", &t), -EINVAL);
    assert_int_equal(strconv_parse_rfc3339("2026-13-02T03:04:05Z", &t), -EINVAL);
    assert_int_equal(strconv_parse_rfc3339(NULL, &t), -EINVAL);
}

/* ---- env: the worked examples of §5.5, adapted -------------------------------------------- */

static void test_env_master_workers(void **state)
{
    ptj_job j;
    decode_text("{" META ",'spec':{'pytorchReplicaSpecs':{'Master':" REPLICA(1, "OnFailure")
                ",'Worker':" REPLICA(2, "OnFailure") "}}}", &j);
    check_env(&j, PTJ_MASTER, 0,
              "PYTHONUNBUFFERED=1,MASTER_PORT=40123,PET_MASTER_PORT=40123,MASTER_ADDR=127.0.0.1,"
              "PET_MASTER_ADDR=127.0.0.1,WORLD_SIZE=3,RANK=0,PET_NODE_RANK=0,"
              "PET_NPROC_PER_NODE=auto,PET_NNODES=3");
    check_env(&j, PTJ_WORKER, 1,
              "PYTHONUNBUFFERED=1,MASTER_PORT=40123,PET_MASTER_PORT=40123,MASTER_ADDR=127.0.0.1,"
              "PET_MASTER_ADDR=127.0.0.1,WORLD_SIZE=3,RANK=2,PET_NODE_RANK=2,"
              "PET_NPROC_PER_NODE=auto,PET_NNODES=3");
    ptj_job_free(&j);
}

static void test_env_nproc(void **state)
{
    ptj_job j;
    decode_text("{" META ",'spec':{'nprocPerNode':'4','pytorchReplicaSpecs':{'Master':" REPLICA(1, "OnFailure")
                ",'Worker':" REPLICA(2, "OnFailure") "}}}", &j);
    check_env(&j, PTJ_WORKER, 0,
              "PYTHONUNBUFFERED=1,MASTER_PORT=40123,PET_MASTER_PORT=40123,MASTER_ADDR=127.0.0.1,"
              "PET_MASTER_ADDR=127.0.0.1,WORLD_SIZE=12,RANK=1,PET_NODE_RANK=1,"
              "PET_NPROC_PER_NODE=4,PET_NNODES=3");
    ptj_job_free(&j);
    /* A non-integer nprocPerNode counts as 1 process per node. */
    decode_text("{" META ",'spec':{'nprocPerNode':'gpu','pytorchReplicaSpecs':{'Master':" REPLICA(1, "OnFailure") "}}}", &j);
    check_env(&j, PTJ_MASTER, 0,
              "PYTHONUNBUFFERED=1,MASTER_PORT=40123,PET_MASTER_PORT=40123,MASTER_ADDR=127.0.0.1,"
              "PET_MASTER_ADDR=127.0.0.1,WORLD_SIZE=1,RANK=0,PET_NODE_RANK=0,"
              "PET_NPROC_PER_NODE=gpu,PET_NNODES=1");
    ptj_job_free(&j);
}

static void test_env_workers_only(void **state)
{
    ptj_job j;
    decode_text("{" META ",'spec':{'pytorchReplicaSpecs':{'Worker':" REPLICA(3, "OnFailure") "}}}", &j);
    check_env(&j, PTJ_WORKER, 0, "PYTHONUNBUFFERED=1,PET_NPROC_PER_NODE=auto,PET_NNODES=3");
    ptj_job_free(&j);
}

static void test_env_elastic(void **state)
{
    ptj_job j;
    decode_text("{" META ",'spec':{'elasticPolicy':{'rdzvBackend':'c10d','minReplicas':1,'maxReplicas':2,"
                "'maxRestarts':100},'pytorchReplicaSpecs':{'Worker':" REPLICA(2, "OnFailure") "}}}", &j);
    const char *want = "PYTHONUNBUFFERED=1,PET_NPROC_PER_NODE=auto,PET_RDZV_ENDPOINT=127.0.0.1:40123,"
                       "PET_RDZV_BACKEND=c10d,PET_NNODES=1:2,PET_MAX_RESTARTS=100";
    check_env(&j, PTJ_WORKER, 0, want);
    check_env(&j, PTJ_WORKER, 1, want);
    ptj_job_free(&j);

    /* Every optional elastic variable, in upstream's order; the deprecated nProcPerNode appears
     * once (spec.nprocPerNode is then not defaulted); a user rdzvHost/rdzvPort is kept. */
    decode_text("{" META ",'spec':{'elasticPolicy':{'rdzvHost':'h','rdzvPort':1234,'rdzvId':'id1',"
                "'nProcPerNode':2,'standalone':true,'rdzvConf':[{'key':'a','value':'1'},{'key':'b','value':'2'}]},"
                "'pytorchReplicaSpecs':{'Worker':" REPLICA(2, "OnFailure") "}}}", &j);
    check_env(&j, PTJ_WORKER, 1,
              "PYTHONUNBUFFERED=1,PET_RDZV_ENDPOINT=h:1234,PET_RDZV_BACKEND=c10d,PET_NNODES=2:2,"
              "PET_NPROC_PER_NODE=2,PET_RDZV_ID=id1,PET_RDZV_CONF=a=1,b=2,PET_STANDALONE=");
    ptj_job_free(&j);
}

static void test_env_user_port(void **state)
{
    ptj_job j;
    /* A port the user named pytorchjob-port is kept and used for MASTER_PORT; the Worker's own
     * (defaulted) port is the job's port and feeds the rendezvous endpoint. */
    decode_text("{" META ",'spec':{'elasticPolicy':{},'pytorchReplicaSpecs':{'Master':{'replicas':1,'template':{'spec':"
                "{'containers':[{'name':'pytorch','image':'i','ports':[{'name':'pytorchjob-port','containerPort':29500}]}]}}},"
                "'Worker':" REPLICA(1, "OnFailure") "}}}", &j);
    assert_int_equal(ptj_replica_port(&j, PTJ_MASTER, PORT), 29500);
    assert_int_equal(ptj_replica_port(&j, PTJ_WORKER, PORT), PORT);
    check_env(&j, PTJ_WORKER, 0,
              "PYTHONUNBUFFERED=1,MASTER_PORT=29500,PET_MASTER_PORT=29500,MASTER_ADDR=127.0.0.1,"
              "PET_MASTER_ADDR=127.0.0.1,WORLD_SIZE=2,RANK=1,PET_NODE_RANK=1,PET_NPROC_PER_NODE=auto,"
              "PET_RDZV_ENDPOINT=127.0.0.1:40123,PET_RDZV_BACKEND=c10d,PET_NNODES=1:1");
    json_t *pod = ptj_build_pod(&j, PTJ_MASTER, 0, PORT);
    json_t *want = J("[{'name':'pytorchjob-port','containerPort':29500}]");
    assert_true(json_equal(json_object_get(json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0), "ports"), want));
    json_decref(want);
    json_decref(pod);
    ptj_job_free(&j);
}

/* ---- pod and service JSON ----------------------------------------------------------------- */

static void test_build_pod(void **state)
{
    ptj_job j;
    decode_text("{" META ",'spec':{'pytorchReplicaSpecs':{"
                "'Master':" REPLICA(1, "ExitCode") ","
                "'Worker':{'replicas':2,'restartPolicy':'OnFailure','template':{"
                "'metadata':{'labels':{'app':'x','training.kubeflow.org/replica-index':'9'},"
                "'annotations':{'a':'b'},'finalizers':['f/x'],'name':'ignored'},"
                "'spec':{'restartPolicy':'Always','nodeName':'n1',"
                "'initContainers':[{'name':'init','image':'busybox'}],"
                "'containers':[{'name':'sidecar','image':'s'},"
                "{'name':'pytorch','image':'p','env':[{'name':'RANK','value':'user'}],"
                "'ports':[{'name':'metrics','containerPort':9000}]}]}}}}}}", &j);
    assert_true(j.rs[PTJ_WORKER].tmpl_restart_policy);

    json_t *pod = ptj_build_pod(&j, PTJ_WORKER, 1, PORT);
    json_t *want = J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'demo-worker-1','namespace':'ns1',"
        "'labels':{'app':'x','training.kubeflow.org/replica-index':'1',"
        "'training.kubeflow.org/job-name':'demo','training.kubeflow.org/operator-name':'pytorchjob-controller',"
        "'training.kubeflow.org/replica-type':'worker'},"
        "'annotations':{'a':'b','torchjob.kubeflow.org/wait-for-master':'demo-master-0'},"
        "'finalizers':['f/x'],"
        "'ownerReferences':[{'apiVersion':'kubeflow.org/v1','kind':'PyTorchJob','name':'demo','uid':'uid-1',"
        "'controller':true,'blockOwnerDeletion':true}]},"
        "'spec':{'restartPolicy':'OnFailure','nodeName':'localhost',"
        "'initContainers':[{'name':'init','image':'busybox'}],"
        "'containers':[{'name':'sidecar','image':'s','env':[]},"
        "{'name':'pytorch','image':'p','env':[{'name':'RANK','value':'user'}],"
        "'ports':[{'name':'metrics','containerPort':9000},"
        "{'name':'pytorchjob-port','containerPort':40123,'protocol':'TCP'}]}]}}");
    /* Env: compare separately (user env first, then the injected block, on every container). */
    json_t *cs = json_object_get(json_object_get(pod, "spec"), "containers");
    char *e0 = env_str(json_object_get(json_array_get(cs, 0), "env"));
    char *e1 = env_str(json_object_get(json_array_get(cs, 1), "env"));
    const char *inject = "PYTHONUNBUFFERED=1,MASTER_PORT=40123,PET_MASTER_PORT=40123,MASTER_ADDR=127.0.0.1,"
                         "PET_MASTER_ADDR=127.0.0.1,WORLD_SIZE=3,RANK=2,PET_NODE_RANK=2,"
                         "PET_NPROC_PER_NODE=auto,PET_NNODES=3";
    assert_string_equal(e0, inject);
    char want1[512];
    snprintf(want1, sizeof want1, "RANK=user,%s", inject);
    assert_string_equal(e1, want1);
    free(e0);
    free(e1);
    json_object_set_new(json_array_get(cs, 0), "env", json_array());
    json_object_set_new(json_array_get(cs, 1), "env", json_pack("[{s:s,s:s}]", "name", "RANK", "value", "user"));
    if (!json_equal(pod, want)) {
        char *g = json_dumps(pod, JSON_SORT_KEYS);
        fail_msg("pod: %s", g);
    }
    json_decref(want);
    json_decref(pod);

    /* Master: job-role label, ExitCode → Never, no wait annotation, no annotations at all. */
    pod = ptj_build_pod(&j, PTJ_MASTER, 0, PORT);
    json_t *md = json_object_get(pod, "metadata");
    assert_string_equal(json_string_value(json_object_get(md, "name")), "demo-master-0");
    assert_string_equal(json_string_value(json_object_get(json_object_get(md, "labels"), "training.kubeflow.org/job-role")), "master");
    assert_string_equal(json_string_value(json_object_get(json_object_get(md, "labels"), "training.kubeflow.org/replica-type")), "master");
    assert_null(json_object_get(md, "annotations"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(pod, "spec"), "restartPolicy")), "Never");
    json_decref(pod);
    ptj_job_free(&j);

    /* Workers only: Worker 0 has the master role; no wait annotation. */
    decode_text("{" META ",'spec':{'pytorchReplicaSpecs':{'Worker':" REPLICA(2, "Never") "}}}", &j);
    assert_true(ptj_is_master_role(&j, PTJ_WORKER, 0));
    assert_false(ptj_is_master_role(&j, PTJ_WORKER, 1));
    pod = ptj_build_pod(&j, PTJ_WORKER, 0, PORT);
    md = json_object_get(pod, "metadata");
    assert_string_equal(json_string_value(json_object_get(json_object_get(md, "labels"), "training.kubeflow.org/job-role")), "master");
    assert_null(json_object_get(md, "annotations"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(pod, "spec"), "restartPolicy")), "Never");
    json_decref(pod);
    pod = ptj_build_pod(&j, PTJ_WORKER, 1, PORT);
    assert_null(json_object_get(json_object_get(json_object_get(pod, "metadata"), "labels"), "training.kubeflow.org/job-role"));
    json_decref(pod);
    ptj_job_free(&j);
}

static void test_build_service(void **state)
{
    ptj_job j;
    decode_text("{" META ",'spec':{'pytorchReplicaSpecs':{'Worker':{'replicas':1,'template':{"
                "'metadata':{'labels':{'app':'x'}},'spec':{'containers':[{'name':'pytorch','image':'p',"
                "'ports':[{'name':'metrics','containerPort':9000}]}]}}}}}}", &j);
    json_t *svc = ptj_build_service(&j, PTJ_WORKER, 0, PORT);
    json_t *want = J("{'apiVersion':'v1','kind':'Service','metadata':{'name':'demo-worker-0','namespace':'ns1',"
        "'labels':{'training.kubeflow.org/job-name':'demo','training.kubeflow.org/operator-name':'pytorchjob-controller',"
        "'training.kubeflow.org/replica-type':'worker','training.kubeflow.org/replica-index':'0'},"
        "'ownerReferences':[{'apiVersion':'kubeflow.org/v1','kind':'PyTorchJob','name':'demo','uid':'uid-1',"
        "'controller':true,'blockOwnerDeletion':true}]},"
        "'spec':{'clusterIP':'None','type':'ClusterIP',"
        "'selector':{'training.kubeflow.org/job-name':'demo','training.kubeflow.org/operator-name':'pytorchjob-controller',"
        "'training.kubeflow.org/replica-type':'worker','training.kubeflow.org/replica-index':'0'},"
        "'ports':[{'name':'metrics','protocol':'TCP','port':9000,'targetPort':9000},"
        "{'name':'pytorchjob-port','protocol':'TCP','port':40123,'targetPort':40123}]}}");
    if (!json_equal(svc, want)) {
        char *g = json_dumps(svc, JSON_SORT_KEYS);
        fail_msg("service: %s", g);
    }
    json_decref(want);
    json_decref(svc);
    ptj_job_free(&j);
}

static void test_names(void **state)
{
    ptj_job j;
    decode_text("{" META ",'spec':{}}", &j);
    char *n = ptj_child_name(&j, PTJ_WORKER, 12);
    assert_string_equal(n, "demo-worker-12");
    free(n);
    n = ptj_selector(&j, PTJ_MASTER);
    assert_string_equal(n, "training.kubeflow.org/job-name=demo,training.kubeflow.org/operator-name="
                           "pytorchjob-controller,training.kubeflow.org/replica-type=master");
    free(n);
    assert_string_equal(ptj_rtype_name(PTJ_WORKER), "Worker");
    assert_string_equal(ptj_rtype_label(PTJ_MASTER), "master");
    ptj_job_free(&j);
}

/* ---- observed children -------------------------------------------------------------------- */

static void test_observe_pod(void **state)
{
    json_t *o = J("{'metadata':{'name':'demo-worker-1','labels':{'training.kubeflow.org/replica-type':'worker',"
        "'training.kubeflow.org/replica-index':'1'}},'status':{'phase':'Running',"
        "'initContainerStatuses':[{'name':'init','restartCount':1,'state':{'terminated':{'exitCode':0}}}],"
        "'containerStatuses':[{'name':'side','restartCount':2,'state':{'waiting':{'reason':'CrashLoopBackOff','message':'back-off'}}},"
        "{'name':'pytorch','restartCount':3,'state':{'terminated':{'exitCode':137,'reason':'OOMKilled','message':'oom'}}}]}}");
    ptj_pod p;
    assert_int_equal(ptj_pod_observe(o, &p), 0);
    assert_string_equal(p.name, "demo-worker-1");
    assert_int_equal(p.type, PTJ_WORKER);
    assert_int_equal(p.index, 1);
    assert_int_equal(p.phase, PTJ_POD_RUNNING);
    assert_false(p.deleting);
    assert_int_equal(p.exit_code, 137);
    assert_int_equal(p.restarts, 6);
    assert_int_equal(p.nabnormal, 2);
    assert_int_equal(p.abnormal[0].kind, PTJ_AB_WAITING);
    assert_string_equal(p.abnormal[0].container, "side");
    assert_string_equal(p.abnormal[0].reason, "CrashLoopBackOff");
    assert_string_equal(p.abnormal[0].message, "back-off");
    assert_int_equal(p.abnormal[1].kind, PTJ_AB_TERMINATED);
    assert_int_equal(p.abnormal[1].exit_code, 137);
    assert_string_equal(p.abnormal[1].reason, "OOMKilled");
    json_decref(o);

    o = J("{'metadata':{'name':'x','deletionTimestamp':'2026-01-02T03:04:05Z','labels':{"
          "'training.kubeflow.org/replica-type':'chief','training.kubeflow.org/replica-index':'01x'}},"
          "'status':{'conditions':[{'type':'PodScheduled','status':'True','lastTransitionTime':'2026-01-02T03:04:05Z'},"
          "{'type':'Ready','status':'False','reason':'Unready','message':'not ready','lastTransitionTime':'2026-01-02T03:04:06Z'}]}}");
    assert_int_equal(ptj_pod_observe(o, &p), 0);
    assert_int_equal(p.type, -1);
    assert_int_equal(p.index, -1);
    assert_int_equal(p.phase, PTJ_POD_PENDING);
    assert_true(p.deleting);
    assert_int_equal(p.exit_code, PTJ_NO_EXIT_CODE);
    assert_int_equal(p.nabnormal, 1);
    assert_int_equal(p.abnormal[0].kind, PTJ_AB_CONDITION);
    assert_string_equal(p.abnormal[0].message, "not ready");
    json_decref(o);

    o = J("{'metadata':{}}");
    assert_int_equal(ptj_pod_observe(o, &p), -EINVAL);
    json_decref(o);

    ptj_svc s;
    o = J("{'metadata':{'name':'demo-master-0','labels':{'training.kubeflow.org/replica-type':'master',"
          "'training.kubeflow.org/replica-index':'0'}}}");
    assert_int_equal(ptj_svc_observe(o, &s), 0);
    assert_int_equal(s.type, PTJ_MASTER);
    assert_int_equal(s.index, 0);
    json_decref(o);
}

static void test_owns(void **state)
{
    ptj_job j;
    decode_text("{" META ",'spec':{'pytorchReplicaSpecs':{'Worker':" REPLICA(1, "OnFailure") "}}}", &j);
    json_t *pod = ptj_build_pod(&j, PTJ_WORKER, 0, PORT);
    json_t *svc = ptj_build_service(&j, PTJ_WORKER, 0, PORT);
    assert_true(ptj_owns(&j, pod));
    assert_true(ptj_owns(&j, svc));
    json_object_set_new(json_array_get(json_object_get(json_object_get(pod, "metadata"), "ownerReferences"), 0),
                        "uid", json_string("other"));
    assert_false(ptj_owns(&j, pod));
    json_object_set_new(json_object_get(json_object_get(svc, "metadata"), "labels"),
                        "training.kubeflow.org/job-name", json_string("other"));
    assert_false(ptj_owns(&j, svc));
    json_decref(pod);
    json_decref(svc);
    ptj_job_free(&j);
}

static void test_claim_and_adopt(void **state)
{
    ptj_job j;
    decode_text("{" META ",'spec':{'pytorchReplicaSpecs':{'Worker':" REPLICA(1, "OnFailure") "}}}", &j);
    json_t *pod = ptj_build_pod(&j, PTJ_WORKER, 0, PORT);
    json_t *md = json_object_get(pod, "metadata");
    assert_int_equal(ptj_claim(&j, pod), PTJ_CLAIM_OWNED);
    /* an orphan with the job's labels and another, non-controller owner */
    json_object_set_new(md, "ownerReferences",
                        json_pack("[{s:s,s:s,s:s,s:s}]", "apiVersion", "v1", "kind", "ConfigMap", "name", "cm", "uid", "u1"));
    assert_int_equal(ptj_claim(&j, pod), PTJ_CLAIM_ORPHAN);
    ptj_adopt(&j, pod);
    assert_int_equal(ptj_claim(&j, pod), PTJ_CLAIM_OWNED);
    json_t *refs = json_object_get(md, "ownerReferences");
    assert_int_equal(json_array_size(refs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(refs, 0), "uid")), "u1");
    assert_true(json_is_true(json_object_get(json_array_get(refs, 1), "blockOwnerDeletion")));
    /* being deleted: left alone; so is every orphan of a job being deleted */
    json_object_del(md, "ownerReferences");
    json_object_set_new(md, "deletionTimestamp", json_string("2026-01-01T00:00:00Z"));
    assert_int_equal(ptj_claim(&j, pod), PTJ_CLAIM_NONE);
    json_object_del(md, "deletionTimestamp");
    j.deleting = 1;
    assert_int_equal(ptj_claim(&j, pod), PTJ_CLAIM_NONE);
    j.deleting = 0;
    /* another controller's, or not labelled for the job */
    json_object_set_new(md, "ownerReferences", json_pack("[{s:s,s:b}]", "uid", "other", "controller", 1));
    assert_int_equal(ptj_claim(&j, pod), PTJ_CLAIM_NONE);
    json_object_del(md, "ownerReferences");
    json_object_del(json_object_get(md, "labels"), "training.kubeflow.org/operator-name");
    assert_int_equal(ptj_claim(&j, pod), PTJ_CLAIM_NONE);
    json_decref(pod);
    ptj_job_free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_defaults),
        cmocka_unit_test(test_decode_runpolicy_and_legacy),
        cmocka_unit_test(test_managed_elsewhere),
        cmocka_unit_test(test_decode_elastic_defaults),
        cmocka_unit_test(test_decode_status),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_env_master_workers),
        cmocka_unit_test(test_env_nproc),
        cmocka_unit_test(test_env_workers_only),
        cmocka_unit_test(test_env_elastic),
        cmocka_unit_test(test_env_user_port),
        cmocka_unit_test(test_build_pod),
        cmocka_unit_test(test_build_service),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_observe_pod),
        cmocka_unit_test(test_owns),
        cmocka_unit_test(test_claim_and_adopt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
