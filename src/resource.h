/* resource — the static table of served resources. It feeds the router, discovery, openapi
 * and authorization alike (routes are data). */
#ifndef TJ_RESOURCE_H
#define TJ_RESOURCE_H
#include <stddef.h>

enum {
    VERB_GET = 1u << 0, VERB_LIST = 1u << 1, VERB_WATCH = 1u << 2, VERB_CREATE = 1u << 3,
    VERB_UPDATE = 1u << 4, VERB_PATCH = 1u << 5, VERB_DELETE = 1u << 6,
    VERB_DELETECOLLECTION = 1u << 7,
};

typedef struct subresource {
    const char *name;     /* "status", "scale", "log" */
    unsigned verbs;
    /* The kind it answers with when not the parent's ("autoscaling", "v1", "Scale"), or NULLs. */
    const char *kind_group, *kind_version, *kind;
} subresource;

/* A CRD's scale subresource (CustomResourceSubresourceScale): where Scale's fields live in the
 * object, as dotted JSON paths with the leading period. */
typedef struct scalepaths {
    const char *spec_replicas;    /* Scale spec.replicas */
    const char *status_replicas;  /* Scale status.replicas */
    const char *label_selector;   /* Scale status.selector, or NULL */
} scalepaths;

typedef struct resource {
    const char *group;    /* "" for core */
    const char *version;  /* "v1" */
    const char *plural;   /* "pytorchjobs" */
    const char *singular; /* "pytorchjob" */
    const char *kind;     /* "PyTorchJob" */
    const char *list_kind;/* "PyTorchJobList" */
    int namespaced;
    unsigned verbs;
    const subresource *subresources;  /* terminated by {NULL, 0} */
    const char *const *short_names;   /* NULL-terminated or NULL */
    const char *const *categories;    /* NULL-terminated or NULL */
    const char *const *field_labels;  /* supported fieldSelector fields, NULL-terminated */
    int is_cr;            /* custom resource: sorted keys, Status details with group */
    const scalepaths *scale; /* the "scale" subresource's paths, or NULL */
    /* Never stored: create is the only verb, and its answer is computed from the request (the
     * self reviews of authorization.k8s.io and authentication.k8s.io, api_review.c). No list
     * kind (list_kind NULL). */
    int ephemeral;
} resource;

extern const resource resources[];
extern const size_t nresources;

const resource *resource_find(const char *group, const char *version, const char *plural);
/* "pytorchjobs.kubeflow.org" or "namespaces" (GroupResource string); static buffer per resource. */
const char *resource_gr(const resource *r);
/* "PyTorchJob.kubeflow.org" or "Namespace" (GroupKind string). */
const char *resource_gk(const resource *r);
const char *verb_name(unsigned verb);  /* "get", "deletecollection", ... */
#endif
