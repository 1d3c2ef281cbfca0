/* resource — the table of served resources (see resource.h). */
#include <stdio.h>
#include <string.h>
#include "resource.h"

/* A subresource answering with its parent's kind. */
#define SUB(name, verbs) {name, verbs, NULL, NULL, NULL}
#define SUB_END SUB(NULL, 0)

/* pytorchjobs/log is ours: a job's pod logs, kept after the pods are cleaned up. */
static const subresource pj_sub[] = {SUB("status", VERB_GET | VERB_UPDATE | VERB_PATCH),
                                     {"scale", VERB_GET | VERB_UPDATE | VERB_PATCH, "autoscaling",
                                      "v1", "Scale"},
                                     SUB("log", VERB_GET),
                                     SUB_END};
/* The training-operator CRD's subresources.scale. */
static const scalepaths pj_scale = {".spec.pytorchReplicaSpecs.Worker.replicas",
                                    ".status.replicaStatuses.Worker.active",
                                    ".status.replicaStatuses.Worker.selector"};
static const subresource ns_sub[] = {SUB("status", VERB_GET | VERB_UPDATE | VERB_PATCH), SUB_END};
static const subresource pod_sub[] = {SUB("status", VERB_GET | VERB_UPDATE | VERB_PATCH),
                                      SUB("log", VERB_GET),
                                      {"attach", VERB_GET | VERB_CREATE, "", "v1", "PodAttachOptions"},
                                      {"exec", VERB_GET | VERB_CREATE, "", "v1", "PodExecOptions"},
                                      SUB_END};
static const char *const meta_fields[] = {"metadata.name", "metadata.namespace", NULL};
/* pkg/registry/core/pod/strategy.go PodToSelectableFields */
static const char *const pod_fields[] = {"metadata.name", "metadata.namespace", "spec.nodeName",
                                         "spec.restartPolicy", "spec.schedulerName",
                                         "spec.serviceAccountName", "spec.hostNetwork",
                                         "status.phase", "status.podIP", "status.nominatedNodeName",
                                         NULL};
/* pkg/registry/core/event/strategy.go ToSelectableFields */
static const char *const event_fields[] = {"metadata.name", "metadata.namespace",
                                           "involvedObject.kind", "involvedObject.namespace",
                                           "involvedObject.name", "involvedObject.uid",
                                           "involvedObject.apiVersion",
                                           "involvedObject.resourceVersion",
                                           "involvedObject.fieldPath", "reason",
                                           "reportingComponent", "source", "type", NULL};
static const char *const ns_fields[] = {"metadata.name", "status.phase", NULL};
/* pkg/registry/core/secret/strategy.go SelectableFields */
static const char *const secret_fields[] = {"metadata.name", "metadata.namespace", "type", NULL};
/* pkg/registry/core/node/strategy.go NodeToSelectableFields */
static const char *const node_fields[] = {"metadata.name", "spec.unschedulable", NULL};

#define ALL_VERBS (VERB_GET | VERB_LIST | VERB_WATCH | VERB_CREATE | VERB_UPDATE | VERB_PATCH | \
                   VERB_DELETE | VERB_DELETECOLLECTION)

const resource resources[] = {
    {"kubeflow.org", "v1", "pytorchjobs", "pytorchjob", "PyTorchJob", "PyTorchJobList", 1, ALL_VERBS,
     pj_sub, (const char *const[]){"pj", NULL}, NULL, meta_fields, 1, &pj_scale, 0},
    {"", "v1", "pods", "pod", "Pod", "PodList", 1, ALL_VERBS, pod_sub,
     (const char *const[]){"po", NULL}, (const char *const[]){"all", NULL}, pod_fields, 0, NULL, 0},
    {"", "v1", "services", "service", "Service", "ServiceList", 1, ALL_VERBS, ns_sub,
     (const char *const[]){"svc", NULL}, (const char *const[]){"all", NULL}, meta_fields, 0, NULL, 0},
    {"", "v1", "events", "event", "Event", "EventList", 1, ALL_VERBS, NULL,
     (const char *const[]){"ev", NULL}, NULL, event_fields, 0, NULL, 0},
    {"", "v1", "namespaces", "namespace", "Namespace", "NamespaceList", 0,
     VERB_GET | VERB_LIST | VERB_WATCH | VERB_CREATE | VERB_UPDATE | VERB_PATCH | VERB_DELETE,
     ns_sub, (const char *const[]){"ns", NULL}, NULL, ns_fields, 0, NULL, 0},
    /* what pods read their environment from (env valueFrom, envFrom) */
    {"", "v1", "configmaps", "configmap", "ConfigMap", "ConfigMapList", 1, ALL_VERBS, NULL,
     (const char *const[]){"cm", NULL}, NULL, meta_fields, 0, NULL, 0},
    {"", "v1", "secrets", "secret", "Secret", "SecretList", 1, ALL_VERBS, NULL, NULL, NULL, secret_fields, 0,
     NULL, 0},
    {"", "v1", "nodes", "node", "Node", "NodeList", 0, ALL_VERBS, ns_sub, (const char *const[]){"no", NULL},
     NULL, node_fields, 0, NULL, 0},
    /* the node's heartbeat lease (kube-node-lease/localhost), and any other lease a client keeps */
    {"coordination.k8s.io", "v1", "leases", "lease", "Lease", "LeaseList", 1, ALL_VERBS, NULL, NULL, NULL,
     meta_fields, 0, NULL, 0},
    /* what training-operator makes for an elastic job with metrics (hpa.c, jobctl.c) */
    {"autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler",
     "HorizontalPodAutoscalerList", 1, ALL_VERBS, ns_sub, (const char *const[]){"hpa", NULL},
     (const char *const[]){"all", NULL}, meta_fields, 0, NULL, 0},
    /* The self reviews: POST only, answered from the authorizer (authz.c), never stored. */
    {"authorization.k8s.io", "v1", "selfsubjectaccessreviews", "selfsubjectaccessreview",
     "SelfSubjectAccessReview", NULL, 0, VERB_CREATE, NULL, NULL, NULL, NULL, 0, NULL, 1},
    {"authorization.k8s.io", "v1", "selfsubjectrulesreviews", "selfsubjectrulesreview",
     "SelfSubjectRulesReview", NULL, 0, VERB_CREATE, NULL, NULL, NULL, NULL, 0, NULL, 1},
    {"authentication.k8s.io", "v1", "selfsubjectreviews", "selfsubjectreview", "SelfSubjectReview",
     NULL, 0, VERB_CREATE, NULL, NULL, NULL, NULL, 0, NULL, 1},
};
const size_t nresources = sizeof(resources) / sizeof(resources[0]);

const resource *resource_find(const char *group, const char *version, const char *plural)
{
    for (size_t i = 0; i < nresources; i++) {
        const resource *r = &resources[i];
        if (!strcmp(r->group, group) && !strcmp(r->version, version) && !strcmp(r->plural, plural))
            return r;
    }
    return NULL;
}

/* The GR/GK strings are fixed per table entry, so they are built once into static slots. */
static char gr_buf[sizeof(resources) / sizeof(resources[0])][96];
static char gk_buf[sizeof(resources) / sizeof(resources[0])][96];

const char *resource_gr(const resource *r)
{
    size_t i = (size_t)(r - resources);
    if (!gr_buf[i][0]) {
        if (r->group[0])
            snprintf(gr_buf[i], sizeof gr_buf[i], "%s.%s", r->plural, r->group);
        else
            snprintf(gr_buf[i], sizeof gr_buf[i], "%s", r->plural);
    }
    return gr_buf[i];
}

const char *resource_gk(const resource *r)
{
    size_t i = (size_t)(r - resources);
    if (!gk_buf[i][0]) {
        if (r->group[0])
            snprintf(gk_buf[i], sizeof gk_buf[i], "%s.%s", r->kind, r->group);
        else
            snprintf(gk_buf[i], sizeof gk_buf[i], "%s", r->kind);
    }
    return gk_buf[i];
}

const char *verb_name(unsigned verb)
{
    switch (verb) {
    case VERB_GET: return "get";
    case VERB_LIST: return "list";
    case VERB_WATCH: return "watch";
    case VERB_CREATE: return "create";
    case VERB_UPDATE: return "update";
    case VERB_PATCH: return "patch";
    case VERB_DELETE: return "delete";
    case VERB_DELETECOLLECTION: return "deletecollection";
    }
    return "unknown";
}
