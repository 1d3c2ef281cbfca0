/* openapi — OpenAPI v3 documents per group-version (see openapi.h).
 *
 * A document is:   paths       one entry per REST path of every table resource in the
 *                              group-version (collection, all-namespaces list, item, each
 *                              subresource), each operation carrying the GVK and action
 *                              extensions and its query parameters inline;
 *                  components  meta/v1 schemas, the built-in kind schemas of the group-version,
 *                              and generic kind/list schemas for table kinds that lack one.
 *
 * What kubectl relies on (client-compat.md §2):
 *   1. every PATCH operation of a kind lists an inline query parameter named fieldValidation
 *      (kubectl checks the first PATCH op with the object's GVK and gives up on v3 without it);
 *   2. custom resources do not offer application/strategic-merge-patch+json;
 *   3. kind schemas carry x-kubernetes-group-version-kind (an array) for `kubectl explain`;
 *   4. every $ref points into the same document's components.schemas. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "openapi.h"
#include "resource.h"

#define REF_PREFIX "#/components/schemas/"
#define META(n) "io.k8s.apimachinery.pkg.apis.meta.v1." n
#define CORE(n) "io.k8s.api.core.v1." n
#define INTSTR "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
#define QUANTITY "io.k8s.apimachinery.pkg.api.resource.Quantity"

#define MORE_INFO "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
#define D_APIVERSION                                                                              \
    "APIVersion defines the versioned schema of this representation of an object. Servers "       \
    "should convert recognized schemas to the latest internal value, and may reject "             \
    "unrecognized values. More info: " MORE_INFO "#resources"
#define D_KIND                                                                                    \
    "Kind is a string value representing the REST resource this object represents. Servers may "  \
    "infer this from the endpoint the client submits requests to. Cannot be updated. In "         \
    "CamelCase. More info: " MORE_INFO "#types-kinds"
#define D_METADATA "Standard object's metadata. More info: " MORE_INFO "#metadata"
#define D_LISTMETA "Standard list metadata. More info: " MORE_INFO "#types-kinds"

/* ---------------------------------------------------------------- schema constructors ----
 * Each returns a new reference; NULL arguments (allocation failures) are absorbed by jansson. */

static json_t *typed(const char *type, const char *format, const char *desc)
{
    json_t *s = json_object();
    if (desc)
        json_object_set_new(s, "description", json_string(desc));
    json_object_set_new(s, "type", json_string(type));
    if (format)
        json_object_set_new(s, "format", json_string(format));
    return s;
}

static json_t *s_str(const char *d) { return typed("string", NULL, d); }
static json_t *s_i32(const char *d) { return typed("integer", "int32", d); }
static json_t *s_i64(const char *d) { return typed("integer", "int64", d); }
static json_t *s_bool(const char *d) { return typed("boolean", NULL, d); }
static json_t *s_time(const char *d) { return typed("string", "date-time", d); }

/* A bare reference, for array items and map values. */
static json_t *ref(const char *name)
{
    char buf[256];
    snprintf(buf, sizeof buf, REF_PREFIX "%s", name);
    return json_pack("{s:s}", "$ref", buf);
}

/* A described reference to another schema, kube's v3 style: allOf with one $ref. */
static json_t *s_ref(const char *name, const char *desc)
{
    json_t *s = json_object();
    json_object_set_new(s, "description", json_string(desc));
    json_object_set_new(s, "allOf", json_pack("[o]", ref(name)));
    return s;
}

static json_t *s_arr(json_t *items, const char *desc)
{
    json_t *s = typed("array", NULL, desc);
    json_object_set_new(s, "items", items);
    return s;
}

static json_t *s_map(json_t *values, const char *desc)
{
    json_t *s = typed("object", NULL, desc);
    json_object_set_new(s, "additionalProperties", values);
    return s;
}

static json_t *s_strmap(const char *desc) { return s_map(s_str(NULL), desc); }
static json_t *s_strs(const char *desc) { return s_arr(s_str(NULL), desc); }

/* Resource quantities ("500m", 2) in a custom resource: int-or-string, as CRD schemas have
 * them (core/v1 refers to the named Quantity schema instead). */
static json_t *s_quantities(const char *desc)
{
    return s_map(json_pack("{s:[{s:s},{s:s}], s:b}", "anyOf", "type", "integer", "type", "string",
                           "x-kubernetes-int-or-string", 1),
                 desc);
}

/* An object whose content is kept as sent (pod templates, affinity, probes, ...). */
static json_t *s_free(const char *desc)
{
    json_t *s = typed("object", NULL, desc);
    json_object_set_new(s, "x-kubernetes-preserve-unknown-fields", json_true());
    return s;
}

static json_t *s_free_arr(const char *desc) { return s_arr(s_free(NULL), desc); }

/* An object with properties given as NULL-terminated (name, json_t *schema) pairs. */
static json_t *s_obj(const char *desc, ...)
{
    json_t *s = typed("object", NULL, desc), *props = json_object();
    va_list ap;
    va_start(ap, desc);
    for (const char *name; (name = va_arg(ap, const char *));)
        json_object_set_new(props, name, va_arg(ap, json_t *));
    va_end(ap);
    json_object_set_new(s, "properties", props);
    return s;
}

/* Adds "required": [NULL-terminated names] to s and returns s. */
static json_t *required(json_t *s, ...)
{
    json_t *req = json_array();
    va_list ap;
    va_start(ap, s);
    for (const char *name; (name = va_arg(ap, const char *));)
        json_array_append_new(req, json_string(name));
    va_end(ap);
    json_object_set_new(s, "required", req);
    return s;
}

/* A list merged by key under strategic merge patch and server-side apply. */
static json_t *listmap(json_t *arr, const char *key)
{
    json_object_set_new(arr, "x-kubernetes-list-map-keys", json_pack("[s]", key));
    json_object_set_new(arr, "x-kubernetes-list-type", json_string("map"));
    json_object_set_new(arr, "x-kubernetes-patch-merge-key", json_string(key));
    json_object_set_new(arr, "x-kubernetes-patch-strategy", json_string("merge"));
    return arr;
}

static json_t *gvk_obj(const char *group, const char *version, const char *kind)
{
    return json_pack("{s:s, s:s, s:s}", "group", group, "kind", kind, "version", version);
}

static json_t *with_gvk(json_t *s, const char *group, const char *version, const char *kind)
{
    json_object_set_new(s, "x-kubernetes-group-version-kind",
                        json_pack("[o]", gvk_obj(group, version, kind)));
    return s;
}

/* The top-level schema of a kind: apiVersion, kind, metadata, then spec and status if given. */
static json_t *kind_schema(const char *group, const char *version, const char *kind,
                           const char *desc, json_t *spec, json_t *status)
{
    json_t *s = s_obj(desc, "apiVersion", s_str(D_APIVERSION), "kind", s_str(D_KIND),
                      "metadata", s_ref(META("ObjectMeta"), D_METADATA), NULL);
    json_t *props = json_object_get(s, "properties");
    if (spec)
        json_object_set_new(props, "spec", spec);
    if (status)
        json_object_set_new(props, "status", status);
    return with_gvk(s, group, version, kind);
}

/* ------------------------------------------------------------------------ meta/v1 ---- */

static void add_meta(json_t *sc)
{
    json_object_set_new(sc, META("ObjectMeta"), s_obj(
        "ObjectMeta is metadata that all persisted resources must have, which includes all "
        "objects users must create.",
        "annotations", s_strmap(
            "Annotations is an unstructured key value map stored with a resource that may be set "
            "by external tools to store and retrieve arbitrary metadata. They are not queryable "
            "and should be preserved when modifying objects. More info: "
            "https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations"),
        "creationTimestamp", s_time(
            "CreationTimestamp is a timestamp representing the server time when this object was "
            "created. Clients may not set this value. It is represented in RFC3339 form and is in "
            "UTC.\n\nPopulated by the system. Read-only. Null for lists."),
        "deletionGracePeriodSeconds", s_i64(
            "Number of seconds allowed for this object to gracefully terminate before it will be "
            "removed from the system. Only set when deletionTimestamp is also set. May only be "
            "shortened. Read-only."),
        "deletionTimestamp", s_time(
            "DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted. "
            "This field is set by the server when a graceful deletion is requested by the user, "
            "and is not directly settable by a client. The resource is expected to be deleted "
            "(no longer visible from resource lists, and not reachable by name) after the time "
            "in this field, once the finalizers list is empty.\n\nPopulated by the system when a "
            "graceful deletion is requested. Read-only."),
        "finalizers", json_pack("{s:s, s:s, s:o, s:s, s:s}", "description",
            "Must be empty before the object is deleted from the registry. Each entry is an "
            "identifier for the responsible component that will remove the entry from the list. "
            "If the deletionTimestamp of the object is non-nil, entries in this list can only be "
            "removed. Finalizers may be processed and removed in any order.",
            "type", "array", "items", s_str(NULL), "x-kubernetes-list-type", "set",
            "x-kubernetes-patch-strategy", "merge"),
        "generateName", s_str(
            "GenerateName is an optional prefix, used by the server, to generate a unique name "
            "ONLY IF the Name field has not been provided. If this field is used, the name "
            "returned to the client will be different than the name passed. The value will be "
            "combined with a unique suffix."),
        "generation", s_i64(
            "A sequence number representing a specific generation of the desired state. "
            "Populated by the system. Read-only."),
        "labels", s_strmap(
            "Map of string keys and values that can be used to organize and categorize (scope "
            "and select) objects. May match selectors of replication controllers and services. "
            "More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels"),
        "managedFields", s_arr(ref(META("ManagedFieldsEntry")),
            "ManagedFields maps workflow-id and version to the set of fields that are managed by "
            "that workflow. This is mostly for internal housekeeping, and users typically "
            "shouldn't need to set or understand this field."),
        "name", s_str(
            "Name must be unique within a namespace. Is required when creating resources, "
            "although some resources may allow a client to request the generation of an "
            "appropriate name automatically. Cannot be updated. More info: "
            "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"),
        "namespace", s_str(
            "Namespace defines the space within which each name must be unique. An empty "
            "namespace is equivalent to the \"default\" namespace, but \"default\" is the "
            "canonical representation. Not all objects are required to be scoped to a namespace "
            "- the value of this field for those objects will be empty.\n\nMust be a DNS_LABEL. "
            "Cannot be updated. More info: "
            "https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces"),
        "ownerReferences", listmap(s_arr(ref(META("OwnerReference")),
            "List of objects depended by this object. If ALL objects in the list have been "
            "deleted, this object will be garbage collected. If this object is managed by a "
            "controller, then an entry in this list will point to this controller, with the "
            "controller field set to true. There cannot be more than one managing controller."),
            "uid"),
        "resourceVersion", s_str(
            "An opaque value that represents the internal version of this object that can be "
            "used by clients to determine when objects have changed. May be used for optimistic "
            "concurrency, change detection, and the watch operation on a resource or set of "
            "resources. Clients must treat these values as opaque and passed unmodified back to "
            "the server.\n\nPopulated by the system. Read-only."),
        "selfLink", s_str(
            "Deprecated: selfLink is a legacy read-only field that is no longer populated by "
            "the system."),
        "uid", s_str(
            "UID is the unique in time and space value for this object. It is typically "
            "generated by the server on successful creation of a resource and is not allowed to "
            "change on PUT operations.\n\nPopulated by the system. Read-only."),
        NULL));

    json_object_set_new(sc, META("OwnerReference"), required(s_obj(
        "OwnerReference contains enough information to let you identify an owning object. An "
        "owning object must be in the same namespace as the dependent, or be cluster-scoped, so "
        "there is no namespace field.",
        "apiVersion", s_str("API version of the referent."),
        "blockOwnerDeletion", s_bool(
            "If true, AND if the owner has the \"foregroundDeletion\" finalizer, then the owner "
            "cannot be deleted from the key-value store until this reference is removed."),
        "controller", s_bool("If true, this reference points to the managing controller."),
        "kind", s_str("Kind of the referent."),
        "name", s_str("Name of the referent."),
        "uid", s_str("UID of the referent."),
        NULL), "apiVersion", "kind", "name", "uid", NULL));

    json_object_set_new(sc, META("ManagedFieldsEntry"), s_obj(
        "ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource "
        "that the fieldset applies to.",
        "apiVersion", s_str("APIVersion defines the version of this resource that this field "
                            "set applies to."),
        "fieldsType", s_str("FieldsType is the discriminator for the different fields format "
                            "and version. There is currently only one possible value: "
                            "\"FieldsV1\""),
        "fieldsV1", s_free("FieldsV1 holds the first JSON version format as described in the "
                           "\"FieldsV1\" type."),
        "manager", s_str("Manager is an identifier of the workflow managing these fields."),
        "operation", s_str("Operation is the type of operation which lead to this "
                           "ManagedFieldsEntry being created. The only valid values for this "
                           "field are 'Apply' and 'Update'."),
        "subresource", s_str("Subresource is the name of the subresource used to update that "
                             "object, or empty string if the object was updated through the main "
                             "resource."),
        "time", s_time("Time is the timestamp of when the ManagedFields entry was added."),
        NULL));

    json_object_set_new(sc, META("ListMeta"), s_obj(
        "ListMeta describes metadata that synthetic resources must have, including lists and "
        "various status objects.",
        "continue", s_str(
            "continue may be set if the user set a limit on the number of items returned, and "
            "indicates that the server has more data available. The value is opaque and may be "
            "used to issue another request to the endpoint that served this list to retrieve "
            "the next set of available objects."),
        "remainingItemCount", s_i64(
            "remainingItemCount is the number of subsequent items in the list which are not "
            "included in this list response."),
        "resourceVersion", s_str(
            "String that identifies the server's internal version of this object that can be "
            "used by clients to determine when objects have changed. Value must be treated as "
            "opaque by clients and passed unmodified back to the server. Populated by the "
            "system. Read-only."),
        "selfLink", s_str("Deprecated: selfLink is a legacy read-only field that is no longer "
                          "populated by the system."),
        NULL));

    json_object_set_new(sc, META("Status"), with_gvk(s_obj(
        "Status is a return value for calls that don't return other objects.",
        "apiVersion", s_str(D_APIVERSION),
        "code", s_i32("Suggested HTTP return code for this status, 0 if not set."),
        "details", s_ref(META("StatusDetails"),
            "Extended data associated with the reason.  Each reason may define its own extended "
            "details. This field is optional and the data returned is not guaranteed to conform "
            "to any schema except that defined by the reason type."),
        "kind", s_str(D_KIND),
        "message", s_str("A human-readable description of the status of this operation."),
        "metadata", s_ref(META("ListMeta"), D_LISTMETA),
        "reason", s_str(
            "A machine-readable description of why this operation is in the \"Failure\" status. "
            "If this value is empty there is no information available. A Reason clarifies an "
            "HTTP status code but does not override it."),
        "status", s_str("Status of the operation. One of: \"Success\" or \"Failure\"."),
        NULL), "", "v1", "Status"));

    json_object_set_new(sc, META("StatusDetails"), s_obj(
        "StatusDetails is a set of additional properties that MAY be set by the server to "
        "provide additional information about a response.",
        "causes", s_arr(ref(META("StatusCause")),
            "The Causes array includes more details associated with the StatusReason failure."),
        "group", s_str("The group attribute of the resource associated with the status "
                       "StatusReason."),
        "kind", s_str("The kind attribute of the resource associated with the status "
                      "StatusReason. On some operations may differ from the requested resource "
                      "Kind."),
        "name", s_str("The name attribute of the resource associated with the status "
                      "StatusReason (when there is a single name which can be described)."),
        "retryAfterSeconds", s_i32("If specified, the time in seconds before the operation "
                                   "should be retried."),
        "uid", s_str("UID of the resource. (when there is a single resource which can be "
                     "described)."),
        NULL));

    json_object_set_new(sc, META("StatusCause"), s_obj(
        "StatusCause provides more information about an api.Status failure, including cases "
        "when multiple errors are encountered.",
        "field", s_str("The field of the resource that has caused this error, as named by its "
                       "JSON serialization."),
        "message", s_str("A human-readable description of the cause of the error."),
        "reason", s_str("A machine-readable description of the cause of the error."),
        NULL));

    json_object_set_new(sc, META("DeleteOptions"), with_gvk(s_obj(
        "DeleteOptions may be provided when deleting an API object.",
        "apiVersion", s_str(D_APIVERSION),
        "dryRun", s_strs("When present, indicates that modifications should not be persisted. "
                         "Valid values are: - All: all dry run stages will be processed"),
        "gracePeriodSeconds", s_i64(
            "The duration in seconds before the object should be deleted. Value must be "
            "non-negative integer. The value zero indicates delete immediately."),
        "kind", s_str(D_KIND),
        "orphanDependents", s_bool(
            "Deprecated: please use the PropagationPolicy, this field will be deprecated in "
            "1.7. Should the dependent objects be orphaned."),
        "preconditions", s_ref(META("Preconditions"),
            "Must be fulfilled before a deletion is carried out. If not possible, a 409 "
            "Conflict status will be returned."),
        "propagationPolicy", s_str(
            "Whether and how garbage collection will be performed. Either this field or "
            "OrphanDependents may be set, but not both. Acceptable values are: 'Orphan' - orphan "
            "the dependents; 'Background' - allow the garbage collector to delete the dependents "
            "in the background; 'Foreground' - a cascading policy that deletes all dependents "
            "in the foreground."),
        NULL), "", "v1", "DeleteOptions"));

    json_object_set_new(sc, META("Preconditions"), s_obj(
        "Preconditions must be fulfilled before an operation (update, delete, etc.) is carried "
        "out.",
        "resourceVersion", s_str("Specifies the target ResourceVersion"),
        "uid", s_str("Specifies the target UID."),
        NULL));

    json_object_set_new(sc, META("Patch"), typed("object", NULL,
        "Patch is provided to give a concrete name and type to the Kubernetes PATCH request "
        "body."));
}

/* ---------------------------------------------------------------- kubeflow.org/v1 ---- */

static json_t *pj_replica_spec(void)
{
    return s_obj(
        "ReplicaSpec is a description of the replica",
        "replicas", s_i32("Replicas is the desired number of replicas of the given template. "
                          "If unspecified, defaults to 1."),
        "restartPolicy", s_str(
            "Restart policy for all replicas within the job. One of Always, OnFailure, Never and "
            "ExitCode. Default to OnFailure for PyTorchJob."),
        "template", s_obj(
            "Template is the object that describes the pod that will be created for this "
            "replica. RestartPolicy in PodTemplateSpec will be overide by RestartPolicy in "
            "ReplicaSpec",
            /* the CRD's embedded ObjectMeta: the five fields controller-gen keeps */
            "metadata", s_obj(D_METADATA,
                              "annotations", s_strmap(NULL), "finalizers", s_strs(NULL),
                              "labels", s_strmap(NULL), "name", s_str(NULL),
                              "namespace", s_str(NULL), NULL),
            "spec", s_ref(CORE("PodSpec"), "Specification of the desired behavior of the pod. "
                          "More info: " MORE_INFO "#spec-and-status"),
            NULL),
        NULL);
}

static json_t *pj_run_policy(void)
{
    json_t *suspend = s_bool(
        "suspend specifies whether the Job controller should create Pods or not. If a Job is "
        "created with suspend set to true, no Pods are created by the Job controller. If a Job "
        "is suspended after creation (i.e. the flag goes from false to true), the Job "
        "controller will delete all active Pods and PodGroups associated with this Job. Users "
        "must design their workload to gracefully handle this. Suspending a Job will reset the "
        "StartTime field of the Job.\n\nDefaults to false.");
    json_object_set_new(suspend, "default", json_false());
    return s_obj(
        "RunPolicy encapsulates various runtime policies of the distributed training job, for "
        "example how to clean up resources and how long the job can stay active.",
        "activeDeadlineSeconds", s_i64(
            "Specifies the duration in seconds relative to the startTime that the job may be "
            "active before the system tries to terminate it; value must be positive integer."),
        "backoffLimit", s_i32("Optional number of retries before marking this job failed."),
        "cleanPodPolicy", s_str(
            "CleanPodPolicy defines the policy to kill pods after the job completes. One of "
            "All, Running, None. Default to None for PyTorchJob."),
        "managedBy", s_str(
            "ManagedBy is used to indicate the controller or entity that manages a job. The "
            "value must be either an empty, 'kubeflow.org/training-operator' or "
            "'kueue.x-k8s.io/multikueue'. The built-in job controller reconciles the job when "
            "managedBy is empty or 'kubeflow.org/training-operator'. The field is immutable."),
        "schedulingPolicy", s_obj(
            "SchedulingPolicy defines the policy related to scheduling, e.g. gang-scheduling",
            "minAvailable", s_i32("MinAvailable defines the minimal number of member to run "
                                  "the PodGroup. Defaults to the total number of replicas."),
            "minResources", s_quantities(
                "MinResources defines the minimal resources of members to run the PodGroup."),
            "priorityClass", s_str("PriorityClass defines the PodGroup's PriorityClass."),
            "queue", s_str("Queue defines the queue name to allocate resource for PodGroup. "
                           "Immutable."),
            "scheduleTimeoutSeconds", s_i32(
                "Waiting time in seconds for the gang to be scheduled (scheduler-plugins only)."),
            NULL),
        "suspend", suspend,
        "ttlSecondsAfterFinished", s_i32(
            "TTLSecondsAfterFinished is the TTL to clean up jobs. It may take extra "
            "ReconcilePeriod seconds for the cleanup, since reconcile gets called periodically. "
            "Default to infinite."),
        NULL);
}

static json_t *pj_elastic_policy(void)
{
    return s_obj(
        "ElasticPolicy holds the elastic training configuration (torchrun rendezvous).",
        "maxReplicas", s_i32("upper limit for the number of pods that can be set by the "
                             "autoscaler; cannot be smaller than MinReplicas, defaults to null."),
        "maxRestarts", s_i32("Maximum number of worker group restarts before failing."),
        "metrics", s_free_arr(
            "Metrics contains the specifications which are used to calculate the desired "
            "replica count (the maximum replica count across all metrics will be used). An HPA "
            "is created for the job when metrics is set."),
        "minReplicas", s_i32("minReplicas is the lower limit for the number of replicas to "
                             "which the training job can scale down.  It defaults to null."),
        "nProcPerNode", s_i32("Number of workers per node; supported values: [auto, cpu, gpu, "
                              "int]. Deprecated: This API is deprecated in v1.7+ Use "
                              ".spec.nprocPerNode instead."),
        "rdzvBackend", s_str("Rendezvous backend: c10d, etcd or etcd-v2."),
        "rdzvConf", s_arr(s_obj("RDZVConf is a rendezvous configuration key-value pair.",
                                "key", s_str(NULL), "value", s_str(NULL), NULL),
                          "RDZVConf contains additional rendezvous configuration "
                          "(<key1>=<value1>,<key2>=<value2>,...)."),
        "rdzvHost", s_str("Rendezvous host; defaults to the first Worker's service."),
        "rdzvId", s_str("Rendezvous ID."),
        "rdzvPort", s_i32("Rendezvous port; defaults to the Worker's pytorchjob-port."),
        "standalone", s_bool("Start a local standalone rendezvous backend that is represented "
                             "by a C10d TCP store on port 29400. Useful when launching single-"
                             "node, multi-worker job. If specified --rdzv_backend, "
                             "--rdzv_endpoint, --rdzv_id are auto-assigned; any explicitly set "
                             "values are ignored."),
        NULL);
}

static json_t *pj_status(void)
{
    json_t *cond = required(s_obj(
        "JobCondition describes the state of the job at a certain point.",
        "lastTransitionTime", s_time("Last time the condition transitioned from one status to "
                                     "another."),
        "lastUpdateTime", s_time("The last time this condition was updated."),
        "message", s_str("A human readable message indicating details about the transition."),
        "reason", s_str("The reason for the condition's last transition."),
        "status", s_str("Status of the condition, one of True, False, Unknown."),
        "type", s_str("Type of job condition: Created, Running, Restarting, Succeeded, "
                      "Suspended or Failed."),
        NULL), "status", "type", NULL);
    json_t *replica = s_obj(
        "ReplicaStatus represents the current observed state of the replica.",
        "active", s_i32("The number of actively running pods."),
        "failed", s_i32("The number of pods which reached phase Failed."),
        "labelSelector", s_free(
            "Deprecated: Use Selector instead"),
        "selector", s_str(
            "A Selector is a label query over a set of resources. The result of matchLabels and "
            "matchExpressions are ANDed. An empty Selector matches all objects. A null Selector "
            "matches no objects."),
        "succeeded", s_i32("The number of pods which reached phase Succeeded."),
        NULL);
    return s_obj(
        "Most recently observed status of the PyTorchJob. Read-only (modified by the system).",
        "completionTime", s_time("Represents time when the job was completed. It is not "
                                 "guaranteed to be set in happens-before order across separate "
                                 "operations. It is represented in RFC3339 form and is in UTC."),
        "conditions", listmap(s_arr(cond, "Conditions is an array of current observed job "
                                          "conditions."), "type"),
        "lastReconcileTime", s_time("Represents last time when the job was reconciled. It is "
                                    "not guaranteed to be set in happens-before order across "
                                    "separate operations. It is represented in RFC3339 form and "
                                    "is in UTC."),
        "replicaStatuses", s_map(replica, "ReplicaStatuses is map of ReplicaType and "
                                          "ReplicaStatus, specifies the status of each "
                                          "replica."),
        "startTime", s_time("Represents time when the job was acknowledged by the job "
                            "controller. It is not guaranteed to be set in happens-before order "
                            "across separate operations. It is represented in RFC3339 form and "
                            "is in UTC."),
        NULL);
}

static void add_core_pod_spec(json_t *sc);

static void add_kubeflow_v1(json_t *sc)
{
    json_t *spec = required(s_obj(
        "Specification of the desired state of the PyTorchJob.",
        "elasticPolicy", pj_elastic_policy(),
        "nprocPerNode", s_str(
            "Number of workers per node; supported values: [auto, cpu, gpu, int]. For more, "
            "https://github.com/pytorch/pytorch/blob/26f7f470df64d90e092081e39507e4ac751f55d6/"
            "torch/distributed/run.py#L629-L658. Defaults to auto."),
        "pytorchReplicaSpecs", s_map(pj_replica_spec(),
            "A map of PyTorchReplicaType (type) to ReplicaSpec (value). Specifies the PyTorch "
            "cluster configuration. For example,\n  {\n    \"Master\": PyTorchReplicaSpec,\n    "
            "\"Worker\": PyTorchReplicaSpec,\n  }"),
        "runPolicy", pj_run_policy(),
        NULL), "pytorchReplicaSpecs", NULL);
    add_core_pod_spec(sc); /* the templates' spec, in this document as $refs must be */
    json_object_set_new(sc, "org.kubeflow.v1.PyTorchJob",
        kind_schema("kubeflow.org", "v1", "PyTorchJob", "PyTorchJob Represents a PyTorchJob "
                    "resource.", spec, pj_status()));
}

/* ----------------------------------------------------------------- autoscaling/v1 ---- */

/* The Scale of a scale subresource, in whichever document serves one. */
static void add_autoscaling_scale(json_t *sc)
{
    json_object_set_new(sc, "io.k8s.api.autoscaling.v1.ScaleSpec", s_obj(
        "ScaleSpec describes the attributes of a scale subresource.",
        "replicas", s_i32("replicas is the desired number of instances for the scaled object."),
        NULL));
    json_object_set_new(sc, "io.k8s.api.autoscaling.v1.ScaleStatus", required(s_obj(
        "ScaleStatus represents the current status of a scale subresource.",
        "replicas", s_i32("replicas is the actual number of observed instances of the scaled "
                          "object."),
        "selector", s_str("selector is the label query over pods that should match the "
                          "replicas count. This is same as the label selector but in the string "
                          "format to avoid introspection by clients. The string will be in the "
                          "same format as the query-param syntax. More info about label "
                          "selectors: https://kubernetes.io/docs/concepts/overview/"
                          "working-with-objects/labels/"),
        NULL), "replicas", NULL));
    json_object_set_new(sc, "io.k8s.api.autoscaling.v1.Scale", with_gvk(s_obj(
        "Scale represents a scaling request for a resource.",
        "apiVersion", s_str(D_APIVERSION), "kind", s_str(D_KIND),
        "metadata", s_ref(META("ObjectMeta"), "Standard object metadata; More info: " MORE_INFO
                          "#metadata."),
        "spec", s_ref("io.k8s.api.autoscaling.v1.ScaleSpec", "spec defines the behavior of the "
                      "scale. More info: " MORE_INFO "#spec-and-status."),
        "status", s_ref("io.k8s.api.autoscaling.v1.ScaleStatus", "status is the current status "
                        "of the scale. More info: " MORE_INFO "#spec-and-status. Read-only."),
        NULL), "autoscaling", "v1", "Scale"));
}

/* ------------------------------------------------------------------------ core/v1 ---- */

static json_t *object_reference(void)
{
    return s_obj(
        "ObjectReference contains enough information to let you inspect or modify the referred "
        "object.",
        "apiVersion", s_str("API version of the referent."),
        "fieldPath", s_str("If referring to a piece of an object instead of an entire object, "
                           "this string should contain a valid JSON/Go field access statement, "
                           "such as desiredState.manifest.containers[2]."),
        "kind", s_str("Kind of the referent."),
        "name", s_str("Name of the referent."),
        "namespace", s_str("Namespace of the referent."),
        "resourceVersion", s_str("Specific resourceVersion to which this reference is made, if "
                                 "any."),
        "uid", s_str("UID of the referent."),
        NULL);
}

/* PodSpec and the types below it: a pod's, and a PyTorchJob template's. */
static void add_core_pod_spec(json_t *sc)
{
    json_object_set_new(sc, QUANTITY, json_pack("{s:s, s:[{s:s},{s:s}]}", "description",
        "Quantity is a fixed-point representation of a number, e.g. \"500m\", \"2Gi\" or 2.",
        "oneOf", "type", "string", "type", "number"));
    json_object_set_new(sc, CORE("Container"), required(s_obj(
        "A single application container that you want to run within a pod.",
        "args", s_strs("Arguments to the entrypoint. The container image's CMD is used if this "
                       "is not provided."),
        "command", s_strs("Entrypoint array. Not executed within a shell. The container "
                          "image's ENTRYPOINT is used if this is not provided."),
        "env", listmap(s_arr(ref(CORE("EnvVar")), "List of environment variables to set in the "
                                                   "container. Cannot be updated."), "name"),
        "envFrom", s_free_arr("List of sources to populate environment variables in the "
                              "container."),
        "image", s_str("Container image name. More info: "
                       "https://kubernetes.io/docs/concepts/containers/images"),
        "imagePullPolicy", s_str("Image pull policy. One of Always, Never, IfNotPresent."),
        "lifecycle", s_free("Actions that the management system should take in response to "
                            "container lifecycle events."),
        "livenessProbe", s_free("Periodic probe of container liveness."),
        "name", s_str("Name of the container specified as a DNS_LABEL. Each container in a pod "
                      "must have a unique name (DNS_LABEL). Cannot be updated."),
        "ports", listmap(s_arr(ref(CORE("ContainerPort")), "List of ports to expose from the "
                                                             "container."), "containerPort"),
        "readinessProbe", s_free("Periodic probe of container service readiness."),
        "resizePolicy", s_free_arr("Resources resize policy for the container."),
        "resources", s_ref(CORE("ResourceRequirements"), "Compute Resources required by this "
                                                          "container."),
        "restartPolicy", s_str("RestartPolicy defines the restart behavior of individual "
                               "containers in a pod. This field may only be set for init "
                               "containers, and the only allowed value is \"Always\"."),
        "securityContext", s_free("SecurityContext defines the security options the container "
                                  "should be run with."),
        "startupProbe", s_free("StartupProbe indicates that the Pod has successfully "
                               "initialized."),
        "stdin", s_bool("Whether this container should allocate a buffer for stdin in the "
                        "container runtime."),
        "stdinOnce", s_bool("Whether the container runtime should close the stdin channel "
                            "after it has been opened by a single attach."),
        "terminationMessagePath", s_str("Path at which the file to which the container's "
                                        "termination message will be written is mounted."),
        "terminationMessagePolicy", s_str("Indicate how the termination message should be "
                                          "populated. File or FallbackToLogsOnError."),
        "tty", s_bool("Whether this container should allocate a TTY for itself."),
        "volumeDevices", listmap(s_free_arr("volumeDevices is the list of block devices to be "
                                            "used by the container."), "devicePath"),
        "volumeMounts", listmap(s_free_arr("Pod volumes to mount into the container's "
                                           "filesystem."), "mountPath"),
        "workingDir", s_str("Container's working directory."),
        NULL), "name", NULL));

    json_object_set_new(sc, CORE("EnvVar"), required(s_obj(
        "EnvVar represents an environment variable present in a Container.",
        "name", s_str("Name of the environment variable. Must be a C_IDENTIFIER."),
        "value", s_str("Variable references $(VAR_NAME) are expanded using the previously "
                       "defined environment variables in the container and any service "
                       "environment variables."),
        "valueFrom", s_free("Source for the environment variable's value. Cannot be used if "
                            "value is not empty."),
        NULL), "name", NULL));

    json_object_set_new(sc, CORE("ContainerPort"), required(s_obj(
        "ContainerPort represents a network port in a single container.",
        "containerPort", s_i32("Number of port to expose on the pod's IP address. This must be "
                               "a valid port number, 0 < x < 65536."),
        "hostIP", s_str("What host IP to bind the external port to."),
        "hostPort", s_i32("Number of port to expose on the host."),
        "name", s_str("If specified, this must be an IANA_SVC_NAME and unique within the pod. "
                      "Each named port in a pod must have a unique name."),
        "protocol", s_str("Protocol for port. Must be UDP, TCP, or SCTP. Defaults to \"TCP\"."),
        NULL), "containerPort", NULL));

    json_object_set_new(sc, CORE("ResourceRequirements"), s_obj(
        "ResourceRequirements describes the compute resource requirements.",
        "claims", listmap(s_free_arr("Claims lists the names of resources, defined in "
                                     "spec.resourceClaims, that are used by this container."),
                          "name"),
        "limits", s_map(ref(QUANTITY), "Limits describes the maximum amount of compute "
                                       "resources allowed."),
        "requests", s_map(ref(QUANTITY), "Requests describes the minimum amount of compute "
                                         "resources required."),
        NULL));

    json_object_set_new(sc, CORE("PodSpec"), required(s_obj(
        "PodSpec is a description of a pod.",
        "activeDeadlineSeconds", s_i64("Optional duration in seconds the pod may be active on "
                                       "the node relative to StartTime before the system will "
                                       "actively try to mark it failed and kill associated "
                                       "containers."),
        "affinity", s_free("If specified, the pod's scheduling constraints"),
        "automountServiceAccountToken", s_bool("AutomountServiceAccountToken indicates whether "
                                               "a service account token should be automatically "
                                               "mounted."),
        "containers", listmap(s_arr(ref(CORE("Container")),
            "List of containers belonging to the pod. Containers cannot currently be added or "
            "removed. There must be at least one container in a Pod. Cannot be updated."),
            "name"),
        "dnsConfig", s_free("Specifies the DNS parameters of a pod. Parameters specified here "
                            "will be merged to the generated DNS configuration based on "
                            "DNSPolicy."),
        "dnsPolicy", s_str("Set DNS policy for the pod. Defaults to \"ClusterFirst\"."),
        "enableServiceLinks", s_bool("EnableServiceLinks indicates whether information about "
                                     "services should be injected into pod's environment "
                                     "variables."),
        "ephemeralContainers", listmap(s_free_arr("List of ephemeral containers run in this "
                                                  "pod. Ephemeral containers may be run in an "
                                                  "existing pod to perform user-initiated "
                                                  "actions such as debugging."), "name"),
        "hostAliases", listmap(s_free_arr("HostAliases is an optional list of hosts and IPs "
                                          "that will be injected into the pod's hosts file if "
                                          "specified."), "ip"),
        "hostIPC", s_bool("Use the host's ipc namespace. Optional: Default to false."),
        "hostNetwork", s_bool("Host networking requested for this pod."),
        "hostPID", s_bool("Use the host's pid namespace. Optional: Default to false."),
        "hostUsers", s_bool("Use the host's user namespace. Optional: Default to true."),
        "hostname", s_str("Specifies the hostname of the Pod. If not specified, the pod's "
                          "hostname will be set to a system-defined value."),
        "imagePullSecrets", listmap(s_free_arr("ImagePullSecrets is an optional list of "
                                               "references to secrets in the same namespace to "
                                               "use for pulling any of the images used by this "
                                               "PodSpec."), "name"),
        "initContainers", listmap(s_arr(ref(CORE("Container")),
            "List of initialization containers belonging to the pod. Init containers are "
            "executed in order prior to containers being started."), "name"),
        "nodeName", s_str("NodeName indicates in which node this pod is scheduled."),
        "nodeSelector", s_strmap("NodeSelector is a selector which must be true for the pod "
                                 "to fit on a node."),
        "os", s_free("Specifies the OS of the containers in the pod."),
        "overhead", s_map(ref(QUANTITY), "Overhead represents the resource overhead "
                                         "associated with running a pod for a given "
                                         "RuntimeClass."),
        "preemptionPolicy", s_str("PreemptionPolicy is the Policy for preempting pods with "
                                  "lower priority. One of Never, PreemptLowerPriority. Defaults "
                                  "to PreemptLowerPriority if unset."),
        "priority", s_i32("The priority value. Various system components use this field to "
                          "find the priority of the pod."),
        "priorityClassName", s_str("If specified, indicates the pod's priority."),
        "readinessGates", s_free_arr("If specified, all readiness gates will be evaluated for "
                                     "pod readiness."),
        "resourceClaims", listmap(s_free_arr("ResourceClaims defines which ResourceClaims must "
                                             "be allocated and reserved before the Pod is "
                                             "allowed to start."), "name"),
        "resources", s_ref(CORE("ResourceRequirements"), "Resources is the total amount of CPU "
                                                          "and Memory resources required by all "
                                                          "containers in the pod."),
        "restartPolicy", s_str("Restart policy for all containers within the pod. One of "
                               "Always, OnFailure, Never. Default to Always."),
        "runtimeClassName", s_str("RuntimeClassName refers to a RuntimeClass object in the "
                                  "node.k8s.io group, which should be used to run this pod."),
        "schedulerName", s_str("If specified, the pod will be dispatched by specified "
                               "scheduler."),
        "schedulingGates", listmap(s_free_arr("SchedulingGates is an opaque list of values "
                                              "that if specified will block scheduling the "
                                              "pod."), "name"),
        "securityContext", s_free("SecurityContext holds pod-level security attributes and "
                                  "common container settings."),
        "serviceAccount", s_str("DeprecatedServiceAccount is a deprecated alias for "
                                "ServiceAccountName. Deprecated: Use serviceAccountName "
                                "instead."),
        "serviceAccountName", s_str("ServiceAccountName is the name of the ServiceAccount to "
                                    "use to run this pod."),
        "setHostnameAsFQDN", s_bool("If true the pod's hostname will be configured as the "
                                    "pod's FQDN, rather than the leaf name (the default)."),
        "shareProcessNamespace", s_bool("Share a single process namespace between all of the "
                                        "containers in a pod."),
        "subdomain", s_str("If specified, the fully qualified Pod hostname will be "
                           "\"<hostname>.<subdomain>.<pod namespace>.svc.<cluster domain>\"."),
        "terminationGracePeriodSeconds", s_i64("Optional duration in seconds the pod needs to "
                                               "terminate gracefully. Defaults to 30 seconds."),
        "tolerations", s_free_arr("If specified, the pod's tolerations."),
        "topologySpreadConstraints", s_free_arr("TopologySpreadConstraints describes how a "
                                                "group of pods ought to spread across topology "
                                                "domains."),
        "volumes", listmap(s_free_arr("List of volumes that can be mounted by containers "
                                      "belonging to the pod."), "name"),
        NULL), "containers", NULL));
}

static void add_core_pod(json_t *sc)
{
    add_core_pod_spec(sc);
    json_object_set_new(sc, CORE("PodCondition"), required(s_obj(
        "PodCondition contains details for the current condition of this pod.",
        "lastProbeTime", s_time("Last time we probed the condition."),
        "lastTransitionTime", s_time("Last time the condition transitioned from one status to "
                                     "another."),
        "message", s_str("Human-readable message indicating details about last transition."),
        "reason", s_str("Unique, one-word, CamelCase reason for the condition's last "
                        "transition."),
        "status", s_str("Status is the status of the condition. Can be True, False, Unknown."),
        "type", s_str("Type is the type of the condition."),
        NULL), "type", "status", NULL));

    json_object_set_new(sc, CORE("ContainerStateWaiting"), s_obj(
        "ContainerStateWaiting is a waiting state of a container.",
        "message", s_str("Message regarding why the container is not yet running."),
        "reason", s_str("(brief) reason the container is not yet running."),
        NULL));
    json_object_set_new(sc, CORE("ContainerStateRunning"), s_obj(
        "ContainerStateRunning is a running state of a container.",
        "startedAt", s_time("Time at which the container was last (re-)started"),
        NULL));
    json_object_set_new(sc, CORE("ContainerStateTerminated"), required(s_obj(
        "ContainerStateTerminated is a terminated state of a container.",
        "containerID", s_str("Container's ID in the format '<type>://<container_id>'"),
        "exitCode", s_i32("Exit status from the last termination of the container"),
        "finishedAt", s_time("Time at which the container last terminated"),
        "message", s_str("Message regarding the last termination of the container"),
        "reason", s_str("(brief) reason from the last termination of the container"),
        "signal", s_i32("Signal from the last termination of the container"),
        "startedAt", s_time("Time at which previous execution of the container started"),
        NULL), "exitCode", NULL));
    json_object_set_new(sc, CORE("ContainerState"), s_obj(
        "ContainerState holds a possible state of container. Only one of its members may be "
        "specified. If none of them is specified, the default one is ContainerStateWaiting.",
        "running", s_ref(CORE("ContainerStateRunning"), "Details about a running container"),
        "terminated", s_ref(CORE("ContainerStateTerminated"), "Details about a terminated "
                                                              "container"),
        "waiting", s_ref(CORE("ContainerStateWaiting"), "Details about a waiting container"),
        NULL));

    json_object_set_new(sc, CORE("ContainerStatus"), required(s_obj(
        "ContainerStatus contains details for the current status of this container.",
        "containerID", s_str("ContainerID is the ID of the container in the format "
                             "'<type>://<container_id>'."),
        "image", s_str("Image is the name of container image that the container is running."),
        "imageID", s_str("ImageID is the image ID of the container's image."),
        "lastState", s_ref(CORE("ContainerState"), "LastTerminationState holds the last "
                                                   "termination state of the container."),
        "name", s_str("Name is a DNS_LABEL representing the unique name of the container."),
        "ready", s_bool("Ready specifies whether the container is currently passing its "
                        "readiness check."),
        "restartCount", s_i32("RestartCount holds the number of times the container has been "
                              "restarted."),
        "started", s_bool("Started indicates whether the container has finished its postStart "
                          "lifecycle hook and passed its startup probe."),
        "state", s_ref(CORE("ContainerState"), "State holds details about the container's "
                                               "current condition."),
        NULL), "name", "ready", "restartCount", "image", "imageID", NULL));

    json_object_set_new(sc, CORE("PodStatus"), s_obj(
        "PodStatus represents information about the status of a pod. Status may trail the "
        "actual state of a system, especially if the node that hosts the pod cannot contact the "
        "control plane.",
        "conditions", listmap(s_arr(ref(CORE("PodCondition")), "Current service state of "
                                                                "pod."), "type"),
        "containerStatuses", s_arr(ref(CORE("ContainerStatus")),
            "The list has one entry per container in the manifest."),
        "hostIP", s_str("hostIP holds the IP address of the host to which the pod is "
                        "assigned."),
        "initContainerStatuses", s_arr(ref(CORE("ContainerStatus")),
            "The list has one entry per init container in the manifest."),
        "message", s_str("A human readable message indicating details about why the pod is in "
                         "this condition."),
        "nominatedNodeName", s_str("nominatedNodeName is set only when this pod preempts other "
                                   "pods on the node."),
        "phase", s_str("The phase of a Pod is a simple, high-level summary of where the Pod is "
                       "in its lifecycle: Pending, Running, Succeeded, Failed or Unknown."),
        "podIP", s_str("podIP address allocated to the pod."),
        "podIPs", listmap(s_arr(s_obj("PodIP represents a single IP address allocated to the "
                                      "pod.", "ip", s_str("IP is the IP address assigned to "
                                                          "the pod"), NULL),
                                "podIPs holds the IP addresses allocated to the pod."), "ip"),
        "qosClass", s_str("The Quality of Service (QOS) classification assigned to the pod "
                          "based on resource requirements."),
        "reason", s_str("A brief CamelCase message indicating details about why the pod is in "
                        "this state."),
        "startTime", s_time("RFC 3339 date and time at which the object was acknowledged by "
                            "the Kubelet."),
        NULL));

    json_object_set_new(sc, CORE("Pod"), kind_schema("", "v1", "Pod",
        "Pod is a collection of containers that can run on a host. This resource is created by "
        "clients and scheduled onto hosts.",
        s_ref(CORE("PodSpec"), "Specification of the desired behavior of the pod. More info: "
                               MORE_INFO "#spec-and-status"),
        s_ref(CORE("PodStatus"), "Most recently observed status of the pod. This data may not "
                                 "be up to date. Populated by the system. Read-only. More info: "
                                 MORE_INFO "#spec-and-status")));
}

static void add_core_service(json_t *sc)
{
    json_t *ports = s_arr(ref(CORE("ServicePort")), "The list of ports that are exposed by "
                                                    "this service.");
    listmap(ports, "port");
    json_object_set_new(ports, "x-kubernetes-list-map-keys", json_pack("[s,s]", "port",
                                                                         "protocol"));
    json_object_set_new(sc, CORE("ServicePort"), required(s_obj(
        "ServicePort contains information on service's port.",
        "appProtocol", s_str("The application protocol for this port."),
        "name", s_str("The name of this port within the service. This must be a DNS_LABEL. All "
                      "ports within a ServiceSpec must have unique names."),
        "nodePort", s_i32("The port on each node on which this service is exposed when type is "
                          "NodePort or LoadBalancer."),
        "port", s_i32("The port that will be exposed by this service."),
        "protocol", s_str("The IP protocol for this port. Supports \"TCP\", \"UDP\", and "
                          "\"SCTP\". Default is TCP."),
        "targetPort", s_ref(INTSTR, "Number or name of the port to access on the pods "
                                    "targeted by the service."),
        NULL), "port", NULL));

    json_object_set_new(sc, CORE("ServiceSpec"), s_obj(
        "ServiceSpec describes the attributes that a user creates on a service.",
        "clusterIP", s_str("clusterIP is the IP address of the service and is usually assigned "
                           "randomly. \"None\" makes a headless service."),
        "clusterIPs", s_strs("ClusterIPs is a list of IP addresses assigned to this service."),
        "externalIPs", s_strs("externalIPs is a list of IP addresses for which nodes in the "
                              "cluster will also accept traffic for this service."),
        "externalName", s_str("externalName is the external reference that discovery "
                              "mechanisms will return as an alias for this service."),
        "externalTrafficPolicy", s_str("externalTrafficPolicy describes how nodes distribute "
                                       "service traffic they receive on one of the Service's "
                                       "\"externally-facing\" addresses."),
        "internalTrafficPolicy", s_str("InternalTrafficPolicy describes how nodes distribute "
                                       "service traffic they receive on the ClusterIP."),
        "ipFamilies", s_strs("IPFamilies is a list of IP families (e.g. IPv4, IPv6) assigned "
                             "to this service."),
        "ipFamilyPolicy", s_str("IPFamilyPolicy represents the dual-stack-ness requested or "
                                "required by this Service."),
        "ports", ports,
        "publishNotReadyAddresses", s_bool("publishNotReadyAddresses indicates that any agent "
                                           "which deals with endpoints for this Service should "
                                           "disregard any indications of ready/not-ready."),
        "selector", s_strmap("Route service traffic to pods with label keys and values matching "
                             "this selector."),
        "sessionAffinity", s_str("Supports \"ClientIP\" and \"None\". Used to maintain session "
                                 "affinity."),
        "type", s_str("type determines how the Service is exposed. Defaults to ClusterIP. Valid "
                      "options are ExternalName, ClusterIP, NodePort, and LoadBalancer."),
        NULL));

    json_object_set_new(sc, CORE("ServiceStatus"), s_obj(
        "ServiceStatus represents the current status of a service.",
        "conditions", listmap(s_free_arr("Current service state"), "type"),
        "loadBalancer", s_free("LoadBalancer contains the current status of the load-balancer, "
                               "if one is present."),
        NULL));

    json_object_set_new(sc, CORE("Service"), kind_schema("", "v1", "Service",
        "Service is a named abstraction of software service (for example, mysql) consisting of "
        "local port (for example 3306) that the proxy listens on, and the selector that "
        "determines which pods will answer requests sent through the proxy.",
        s_ref(CORE("ServiceSpec"), "Spec defines the behavior of a service. " MORE_INFO
                                   "#spec-and-status"),
        s_ref(CORE("ServiceStatus"), "Most recently observed status of the service. Populated "
                                     "by the system. Read-only. More info: " MORE_INFO
                                     "#spec-and-status")));
}

static void add_core_event(json_t *sc)
{
    json_object_set_new(sc, CORE("ObjectReference"), object_reference());
    json_object_set_new(sc, CORE("EventSource"), s_obj(
        "EventSource contains information for an event.",
        "component", s_str("Component from which the event is generated."),
        "host", s_str("Node name on which the event is generated."),
        NULL));
    json_object_set_new(sc, CORE("EventSeries"), s_obj(
        "EventSeries contain information on series of events, i.e. thing that was/is happening "
        "continuously for some time.",
        "count", s_i32("Number of occurrences in this series up to the last heartbeat time"),
        "lastObservedTime", s_time("Time of the last occurrence observed"),
        NULL));

    json_t *ev = required(s_obj(
        "Event is a report of an event somewhere in the cluster.",
        "action", s_str("What action was taken/failed regarding to the Regarding object."),
        "apiVersion", s_str(D_APIVERSION),
        "count", s_i32("The number of times this event has occurred."),
        "eventTime", s_time("Time when this Event was first observed."),
        "firstTimestamp", s_time("The time at which the event was first recorded. (Time of "
                                 "server receipt is in TypeMeta.)"),
        "involvedObject", s_ref(CORE("ObjectReference"), "The object that this event is "
                                                         "about."),
        "kind", s_str(D_KIND),
        "lastTimestamp", s_time("The time at which the most recent occurrence of this event "
                                "was recorded."),
        "message", s_str("A human-readable description of the status of this operation."),
        "metadata", s_ref(META("ObjectMeta"), D_METADATA),
        "reason", s_str("This should be a short, machine understandable string that gives the "
                        "reason for the transition into the object's current status."),
        "related", s_ref(CORE("ObjectReference"), "Optional secondary object for more complex "
                                                  "actions."),
        "reportingComponent", s_str("Name of the controller that emitted this Event, e.g. "
                                    "`kubernetes.io/kubelet`."),
        "reportingInstance", s_str("ID of the controller instance, e.g. `kubelet-xyzf`."),
        "series", s_ref(CORE("EventSeries"), "Data about the Event series this event "
                                             "represents or nil if it's a singleton Event."),
        "source", s_ref(CORE("EventSource"), "The component reporting this event. Should be a "
                                             "short machine understandable string."),
        "type", s_str("Type of this event (Normal, Warning), new types could be added in the "
                      "future"),
        NULL), "metadata", "involvedObject", NULL);
    json_object_set_new(sc, CORE("Event"), with_gvk(ev, "", "v1", "Event"));
}

static void add_core_namespace(json_t *sc)
{
    json_object_set_new(sc, CORE("NamespaceSpec"), s_obj(
        "NamespaceSpec describes the attributes on a Namespace.",
        "finalizers", json_pack("{s:s, s:s, s:o, s:s}", "description",
            "Finalizers is an opaque list of values that must be empty to permanently remove "
            "object from storage.",
            "type", "array", "items", s_str(NULL), "x-kubernetes-list-type", "atomic"),
        NULL));
    json_object_set_new(sc, CORE("NamespaceCondition"), required(s_obj(
        "NamespaceCondition contains details about state of namespace.",
        "lastTransitionTime", s_time("Last time the condition transitioned from one status to "
                                     "another."),
        "message", s_str("Human-readable message indicating details about last transition."),
        "reason", s_str("Unique, one-word, CamelCase reason for the condition's last "
                        "transition."),
        "status", s_str("Status of the condition, one of True, False, Unknown."),
        "type", s_str("Type of namespace controller condition."),
        NULL), "type", "status", NULL));
    json_object_set_new(sc, CORE("NamespaceStatus"), s_obj(
        "NamespaceStatus is information about the current status of a Namespace.",
        "conditions", listmap(s_arr(ref(CORE("NamespaceCondition")), "Represents the latest "
                                    "available observations of a namespace's current state."),
                              "type"),
        "phase", s_str("Phase is the current lifecycle phase of the namespace: Active or "
                       "Terminating. More info: https://kubernetes.io/docs/tasks/administer-"
                       "cluster/namespaces/"),
        NULL));
    json_object_set_new(sc, CORE("Namespace"), kind_schema("", "v1", "Namespace",
        "Namespace provides a scope for Names. Use of multiple namespaces is optional.",
        s_ref(CORE("NamespaceSpec"), "Spec defines the behavior of the Namespace. More info: "
                                     MORE_INFO "#spec-and-status"),
        s_ref(CORE("NamespaceStatus"), "Status describes the current status of a Namespace. "
                                       "More info: " MORE_INFO "#spec-and-status")));
}

/* The Node as kube-openapi describes it, its fields' descriptions shortened to their first
 * sentence. */
static void add_core_node(json_t *sc)
{
    json_object_set_new(sc, CORE("Taint"), s_obj(
        "The node this Taint is attached to has the \"effect\" on any pod that does not tolerate the Taint.",
        "effect", s_str("Required. The effect of the taint on pods that do not tolerate the taint."),
        "key", s_str("Required. The taint key to be applied to a node."),
        "timeAdded", s_time("TimeAdded represents the time at which the taint was added."),
        "value", s_str("The taint value corresponding to the taint key."),
        NULL));
    json_object_set_new(sc, CORE("NodeSpec"), s_obj(
        "NodeSpec describes the attributes that a node is created with.",
        "podCIDR", s_str("PodCIDR represents the pod IP range assigned to the node."),
        "podCIDRs", s_strs("podCIDRs represents the IP ranges assigned to the node for usage by Pods on that node."),
        "providerID", s_str("ID of the node assigned by the cloud provider in the format: <ProviderName>://<ProviderSpecificNodeID>"),
        "taints", s_arr(ref(CORE("Taint")), "If specified, the node's taints."),
        "unschedulable", s_bool("Unschedulable controls node schedulability of new pods. By default, node is schedulable."),
        NULL));
    json_object_set_new(sc, CORE("NodeCondition"), s_obj(
        "NodeCondition contains condition information for a node.",
        "lastHeartbeatTime", s_time("Last time we got an update on a given condition."),
        "lastTransitionTime", s_time("Last time the condition transit from one status to another."),
        "message", s_str("Human readable message indicating details about last transition."),
        "reason", s_str("(brief) reason for the condition's last transition."),
        "status", s_str("Status of the condition, one of True, False, Unknown."),
        "type", s_str("Type of node condition."),
        NULL));
    json_object_set_new(sc, CORE("NodeAddress"), s_obj(
        "NodeAddress contains information for the node's address.",
        "address", s_str("The node address."),
        "type", s_str("Node address type, one of Hostname, ExternalIP or InternalIP."),
        NULL));
    json_object_set_new(sc, CORE("NodeSystemInfo"), s_obj(
        "NodeSystemInfo is a set of ids/uuids to uniquely identify the node.",
        "architecture", s_str("The Architecture reported by the node"),
        "bootID", s_str("Boot ID reported by the node."),
        "containerRuntimeVersion", s_str("ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."),
        "kernelVersion", s_str("Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
        "kubeProxyVersion", s_str("Deprecated: KubeProxy Version reported by the node."),
        "kubeletVersion", s_str("Kubelet Version reported by the node."),
        "machineID", s_str("MachineID reported by the node."),
        "operatingSystem", s_str("The Operating System reported by the node"),
        "osImage", s_str("OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."),
        "systemUUID", s_str("SystemUUID reported by the node."),
        NULL));
    json_object_set_new(sc, CORE("NodeStatus"), s_obj(
        "NodeStatus is information about the current status of a node.",
        "addresses", s_arr(ref(CORE("NodeAddress")), "List of addresses reachable to the node."),
        "allocatable", s_quantities("Allocatable represents the resources of a node that are available for scheduling."),
        "capacity", s_quantities("Capacity represents the total resources of a node."),
        "conditions", listmap(s_arr(ref(CORE("NodeCondition")), "Conditions is an array of current observed node conditions."),
                              "type"),
        "daemonEndpoints", s_free("Endpoints of daemons running on the Node."),
        "images", s_free_arr("List of container images on this node"),
        "nodeInfo", s_ref(CORE("NodeSystemInfo"), "Set of ids/uuids to uniquely identify the node."),
        NULL));
    json_object_set_new(sc, CORE("Node"), kind_schema("", "v1", "Node",
        "Node is a worker node in Kubernetes. Each node will have a unique identifier in the cache (i.e. in etcd).",
        s_ref(CORE("NodeSpec"), "Spec defines the behavior of a node. https://git.k8s.io/community/contributors/"
                                "devel/sig-architecture/api-conventions.md#spec-and-status"),
        s_ref(CORE("NodeStatus"), "Most recently observed status of the node. Populated by the system. Read-only. "
                                  "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/"
                                  "api-conventions.md#spec-and-status")));
}

/* ConfigMap and Secret: no spec or status, their data at the top. */
static json_t *config_schema(const char *kind, const char *desc, ...)
{
    json_t *s = kind_schema("", "v1", kind, desc, NULL, NULL);
    json_t *props = json_object_get(s, "properties");
    va_list ap;
    va_start(ap, desc);
    for (const char *name; (name = va_arg(ap, const char *));)
        json_object_set_new(props, name, va_arg(ap, json_t *));
    va_end(ap);
    return s;
}

static void add_core_config(json_t *sc)
{
    json_object_set_new(sc, CORE("ConfigMap"), config_schema("ConfigMap",
        "ConfigMap holds configuration data for pods to consume.",
        "binaryData", s_map(typed("string", "byte", NULL), "BinaryData contains the binary data. Each key must "
                            "consist of alphanumeric characters, '-', '_' or '.'."),
        "data", s_strmap("Data contains the configuration data. Each key must consist of alphanumeric characters, "
                         "'-', '_' or '.'."),
        "immutable", s_bool("Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated "
                            "(only object metadata can be modified)."),
        NULL));
    json_object_set_new(sc, CORE("Secret"), config_schema("Secret",
        "Secret holds secret data of a certain type. The total bytes of the values in the Data field must be less "
        "than MaxSecretSize bytes.",
        "data", s_map(typed("string", "byte", NULL), "Data contains the secret data. Each key must consist of "
                      "alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 "
                      "encoded string."),
        "immutable", s_bool("Immutable, if set to true, ensures that data stored in the Secret cannot be updated "
                            "(only object metadata can be modified)."),
        "stringData", s_strmap("stringData allows specifying non-binary secret data in string form. It is provided "
                               "as a write-only input field for convenience. All keys and values are merged into "
                               "the data field on write, overwriting any existing values."),
        "type", s_str("Used to facilitate programmatic handling of secret data."),
        NULL));
}

/* coordination.k8s.io/v1 Lease, named as schema_name names a dotted group's kinds. */
static void add_coordination_v1(json_t *sc)
{
    json_object_set_new(sc, "io.k8s.coordination.v1.LeaseSpec", s_obj(
        "LeaseSpec is a specification of a Lease.",
        "acquireTime", s_time("acquireTime is a time when the current lease was acquired."),
        "holderIdentity", s_str("holderIdentity contains the identity of the holder of a current lease."),
        "leaseDurationSeconds", s_i32("leaseDurationSeconds is a duration that candidates for a lease need to wait "
                                      "to force acquire it. This is measured against the time of last observed renewTime."),
        "leaseTransitions", s_i32("leaseTransitions is the number of transitions of a lease between holders."),
        "preferredHolder", s_str("PreferredHolder signals to a lease holder that the lease has a more optimal holder "
                                 "and should be given up."),
        "renewTime", s_time("renewTime is a time when the current holder of a lease has last updated the lease."),
        "strategy", s_str("Strategy indicates the strategy for picking the leader for coordinated leader election."),
        NULL));
    json_object_set_new(sc, "io.k8s.coordination.v1.Lease", kind_schema("coordination.k8s.io", "v1", "Lease",
        "Lease defines a lease concept.",
        s_ref("io.k8s.coordination.v1.LeaseSpec", "spec contains the specification of the Lease. More info: "
                                                   "https://git.k8s.io/community/contributors/devel/sig-architecture/"
                                                   "api-conventions.md#spec-and-status"),
        NULL));
}

static void add_core_v1(json_t *sc)
{
    /* as kube-openapi emits them (oneOf, no top-level type), so explain shows the name */
    json_object_set_new(sc, INTSTR, json_pack("{s:s, s:s, s:[{s:s},{s:s}]}", "description",
        "IntOrString is a type that can hold an int32 or a string.", "format", "int-or-string",
        "oneOf", "type", "integer", "type", "string"));
    add_core_namespace(sc);
    add_core_node(sc);
    add_core_config(sc);
    add_core_pod(sc);
    add_core_service(sc);
    add_core_event(sc);
}

/* Built-in schemas per group-version. Core/v1 always carries Pod, Service and Event, served
 * or not, so `kubectl apply -f` and `explain` know those kinds. */
static const struct builtin {
    const char *group, *version;
    void (*add)(json_t *schemas);
} builtins[] = {
    {"coordination.k8s.io", "v1", add_coordination_v1},
    {"kubeflow.org", "v1", add_kubeflow_v1},
    {"", "v1", add_core_v1},
};

/* ------------------------------------------------------------------------- naming ---- */

/* "io.k8s.api.core.v1.Pod", "io.k8s.api.autoscaling.v1.Scale" (built-in groups have no dot);
 * "org.kubeflow.v1.PyTorchJob" (the group reversed, as kube names the schemas of custom
 * resources). */
static void schema_name(char *buf, size_t n, const char *group, const char *version,
                        const char *kind)
{
    if (!strchr(group, '.')) {
        snprintf(buf, n, "io.k8s.api.%s.%s.%s", group[0] ? group : "core", version, kind);
        return;
    }
    size_t off = 0;
    for (const char *end = group + strlen(group); end > group;) {
        const char *dot = end;
        while (dot > group && dot[-1] != '.')
            dot--;
        off += (size_t)snprintf(buf + off, off < n ? n - off : 0, "%.*s.", (int)(end - dot), dot);
        end = dot > group ? dot - 1 : group;
    }
    snprintf(buf + (off < n ? off : n - 1), off < n ? n - off : 1, "%s.%s", version, kind);
}

/* "CoreV1" or "KubeflowOrgV1": the group-version part of kube's operation ids. */
static void gv_camel(char *buf, size_t n, const char *group, const char *version)
{
    size_t off = 0;
    const char *g = group[0] ? group : "core";
    int up = 1;
    for (const char *p = g; *p && off + 1 < n; p++) {
        if (*p == '.' || *p == '-') {
            up = 1;
            continue;
        }
        buf[off++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        up = 0;
    }
    for (const char *p = version; *p && off + 1 < n; p++)
        buf[off++] = p == version && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
    buf[off] = '\0';
}

/* ---------------------------------------------------------------------- parameters ---- */

enum {
    Q_PRETTY = 1u << 0, Q_DRYRUN = 1u << 1, Q_FIELDMANAGER = 1u << 2,
    Q_FIELDVALIDATION = 1u << 3, Q_FORCE = 1u << 4, Q_LIST = 1u << 5, Q_DELETE = 1u << 6,
    Q_LOG = 1u << 7, Q_EXEC = 1u << 8, Q_ATTACH = 1u << 9,
    Q_WRITE = Q_PRETTY | Q_DRYRUN | Q_FIELDMANAGER | Q_FIELDVALIDATION,
};

static const struct qparam {
    unsigned set;
    const char *name, *type, *desc;
} qparams[] = {
    {Q_EXEC, "command", "string",
     "Command is the remote command to execute. argv array. Not executed within a shell."},
    {Q_EXEC, "container", "string",
     "Container in which to execute the command. Defaults to only container if there is only "
     "one container in the pod."},
    {Q_ATTACH, "container", "string",
     "The container in which to execute the command. Defaults to only container if there is only "
     "one container in the pod."},
    {Q_LIST, "allowWatchBookmarks", "boolean",
     "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."},
    {Q_LOG, "container", "string",
     "The container for which to stream logs. Defaults to only container if there is one "
     "container in the pod."},
    {Q_LIST, "continue", "string",
     "The continue option should be set when retrieving more results from the server."},
    {Q_DRYRUN | Q_DELETE, "dryRun", "string",
     "When present, indicates that modifications should not be persisted. An invalid or "
     "unrecognized dryRun directive will result in an error response and no further processing "
     "of the request. Valid values are: - All: all dry run stages will be processed"},
    {Q_FIELDMANAGER, "fieldManager", "string",
     "fieldManager is a name associated with the actor or entity that is making these "
     "changes."},
    {Q_LIST, "fieldSelector", "string",
     "A selector to restrict the list of returned objects by their fields. Defaults to "
     "everything."},
    {Q_FIELDVALIDATION, "fieldValidation", "string",
     "fieldValidation instructs the server on how to handle objects in the request containing "
     "unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict"},
    {Q_LOG, "follow", "boolean", "Follow the log stream of the pod. Defaults to false."},
    {Q_FORCE, "force", "boolean",
     "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting "
     "fields owned by other people. Force flag must be unset for non-apply patch requests."},
    {Q_DELETE, "gracePeriodSeconds", "integer",
     "The duration in seconds before the object should be deleted."},
    {Q_LIST, "labelSelector", "string",
     "A selector to restrict the list of returned objects by their labels. Defaults to "
     "everything."},
    {Q_LIST, "limit", "integer",
     "limit is a maximum number of responses to return for a list call."},
    {Q_LOG, "limitBytes", "integer",
     "If set, the number of bytes to read from the server before terminating the log output."},
    {Q_DELETE, "orphanDependents", "boolean",
     "Deprecated: please use the PropagationPolicy. Should the dependent objects be orphaned."},
    {Q_PRETTY, "pretty", "string", "If 'true', then the output is pretty printed."},
    {Q_LOG, "previous", "boolean",
     "Return previous terminated container logs. Defaults to false."},
    {Q_DELETE, "propagationPolicy", "string",
     "Whether and how garbage collection will be performed: 'Orphan', 'Background' or "
     "'Foreground'."},
    {Q_LIST, "resourceVersion", "string",
     "resourceVersion sets a constraint on what resource versions a request may be served "
     "from."},
    {Q_LIST, "resourceVersionMatch", "string",
     "resourceVersionMatch determines how resourceVersion is applied to list calls."},
    {Q_LIST, "sendInitialEvents", "boolean",
     "`sendInitialEvents=true` may be set together with `watch=true`."},
    {Q_LOG, "sinceSeconds", "integer",
     "A relative time in seconds before the current time from which to show logs."},
    {Q_LOG, "tailLines", "integer",
     "If set, the number of lines from the end of the logs to show."},
    {Q_EXEC | Q_ATTACH, "stderr", "boolean",
     "Redirect the standard error stream of the pod for this call."},
    {Q_EXEC | Q_ATTACH, "stdin", "boolean", "Redirect the standard input stream of the pod for this call. "
     "Defaults to false."},
    {Q_EXEC | Q_ATTACH, "stdout", "boolean",
     "Redirect the standard output stream of the pod for this call."},
    {Q_LIST, "timeoutSeconds", "integer",
     "Timeout for the list/watch call, regardless of any activity or inactivity."},
    {Q_LOG, "timestamps", "boolean",
     "If true, add an RFC3339 or RFC3339Nano timestamp at the beginning of every line of log "
     "output. Defaults to false."},
    {Q_EXEC | Q_ATTACH, "tty", "boolean",
     "TTY if true indicates that a tty will be allocated for the exec call. Defaults to false."},
    {Q_LIST, "watch", "boolean",
     "Watch for changes to the described resources and return them as a stream of add, "
     "update, and remove notifications."},
};

static json_t *param(const char *name, const char *in, const char *type, const char *desc)
{
    json_t *p = json_pack("{s:s, s:s, s:s, s:{s:s, s:b}}", "description", desc, "in", in,
                          "name", name, "schema", "type", type, "uniqueItems", 1);
    if (!strcmp(in, "path"))
        json_object_set_new(p, "required", json_true());
    return p;
}

/* Path parameters first, then the query parameters of the sets in qset, in name order. */
static json_t *params(int ns, int name, unsigned qset, const resource *r)
{
    json_t *a = json_array();
    if (name) {
        char d[128];
        snprintf(d, sizeof d, "name of the %s", r->kind);
        json_array_append_new(a, param("name", "path", "string", d));
    }
    if (ns)
        json_array_append_new(a, param("namespace", "path", "string",
                                       "object name and auth scope, such as for teams and "
                                       "projects"));
    for (size_t i = 0; i < sizeof qparams / sizeof qparams[0]; i++)
        if (qparams[i].set & qset)
            json_array_append_new(a, param(qparams[i].name, "query", qparams[i].type,
                                           qparams[i].desc));
    return a;
}

/* ---------------------------------------------------------------------- operations ---- */

/* What every operation of one resource shares. */
typedef struct opctx {
    const resource *r;
    char gv[64];          /* "KubeflowOrgV1" */
    char tag[96];         /* "kubeflowOrg_v1" */
    char kind_ref[192];   /* schema names */
    char list_ref[192];
} opctx;

static json_t *content(const char *ctype, json_t *schema)
{
    return json_pack("{s:{s:o}}", ctype, "schema", schema);
}

static json_t *response(const char *desc, const char *ctype, json_t *schema)
{
    json_t *r = json_pack("{s:s}", "description", desc);
    if (schema)
        json_object_set_new(r, "content", content(ctype, schema));
    return r;
}

/* Responses {codes...: schema_name} as application/json, plus 401. codes: "200", "201", ... */
static json_t *responses(const char *schema, const char *const *codes)
{
    static const struct { const char *code, *desc; } text[] = {
        {"200", "OK"}, {"201", "Created"}, {"202", "Accepted"},
    };
    json_t *rs = json_object();
    for (; *codes; codes++) {
        const char *desc = "OK";
        for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
            if (!strcmp(text[i].code, *codes))
                desc = text[i].desc;
        json_object_set_new(rs, *codes, response(desc, "application/json", ref(schema)));
    }
    json_object_set_new(rs, "401", response("Unauthorized", NULL, NULL));
    return rs;
}

static const char *const C200[] = {"200", NULL};
static const char *const C200_201_202[] = {"200", "201", "202", NULL};
static const char *const C200_201[] = {"200", "201", NULL};
static const char *const C200_202[] = {"200", "202", NULL};

/* One operation object. opid_verb: "list", "create", "patch", ...; mid: text between the
 * group-version and the kind ("Namespaced", "CollectionNamespaced", ""); suffix after the kind
 * ("Status", "ForAllNamespaces"). body and resps are consumed. */
static json_t *op(const opctx *c, const char *action, const char *opid_verb, const char *mid,
                  const char *suffix, const char *desc, json_t *prm, json_t *body, json_t *resps)
{
    char id[256];
    snprintf(id, sizeof id, "%s%s%s%s%s", opid_verb, c->gv, mid, c->r->kind, suffix);
    json_t *o = json_pack("{s:[s], s:s, s:s, s:o, s:o, s:s, s:o}", "tags", c->tag,
                          "description", desc, "operationId", id, "parameters", prm,
                          "responses", resps, "x-kubernetes-action", action,
                          "x-kubernetes-group-version-kind",
                          gvk_obj(c->r->group, c->r->version, c->r->kind));
    if (body)
        json_object_set_new(o, "requestBody", body);
    return o;
}

static json_t *body_of(const char *schema)
{
    json_t *b = json_pack("{s:o}", "content", content("*/*", ref(schema)));
    json_object_set_new(b, "required", json_true());
    return b;
}

/* The PATCH body: custom resources do not offer strategic merge patch (kubectl reads this
 * list to choose the patch type). */
static json_t *patch_body(const resource *r)
{
    static const char *const types[] = {
        "application/apply-patch+yaml", "application/json-patch+json",
        "application/merge-patch+json", "application/strategic-merge-patch+json",
    };
    json_t *ct = json_object();
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (r->is_cr && strstr(types[i], "strategic"))
            continue;
        json_object_set_new(ct, types[i], json_pack("{s:o}", "schema", ref(META("Patch"))));
    }
    return json_pack("{s:o, s:b}", "content", ct, "required", 1);
}

/* A subresource of another kind: its operations carry that kind's GVK. */
static void sub_gvk(json_t *o, const subresource *s)
{
    if (s->kind)
        json_object_set_new(o, "x-kubernetes-group-version-kind",
                            gvk_obj(s->kind_group, s->kind_version, s->kind));
}

static void set_op(json_t *paths, const char *path, const char *method, json_t *o)
{
    json_t *item = json_object_get(paths, path);
    if (!item) {
        item = json_object();
        json_object_set_new(paths, path, item);
    }
    json_object_set_new(item, method, o);
}

static void add_paths(json_t *paths, const resource *r)
{
    opctx c = {.r = r};
    gv_camel(c.gv, sizeof c.gv, r->group, r->version);
    /* tag: the camel group with a lower-case initial ("kubeflowOrg", "core"), "_", version */
    int glen = (int)(strlen(c.gv) - strlen(r->version));
    snprintf(c.tag, sizeof c.tag, "%c%.*s_%s", tolower((unsigned char)c.gv[0]), glen - 1,
             c.gv + 1, r->version);
    schema_name(c.kind_ref, sizeof c.kind_ref, r->group, r->version, r->kind);
    if (r->list_kind)
        schema_name(c.list_ref, sizeof c.list_ref, r->group, r->version, r->list_kind);

    char prefix[160], base[256], item[320], d[256];
    if (r->group[0])
        snprintf(prefix, sizeof prefix, "/apis/%s/%s", r->group, r->version);
    else
        snprintf(prefix, sizeof prefix, "/api/%s", r->version);
    snprintf(base, sizeof base, "%s%s/%s", prefix, r->namespaced ? "/namespaces/{namespace}" : "",
             r->plural);
    snprintf(item, sizeof item, "%s/{name}", base);
    const int ns = r->namespaced;
    const char *nsd = ns ? "Namespaced" : "";
    const char *k = r->kind;

    if (r->verbs & VERB_LIST) {
        snprintf(d, sizeof d, "list or watch objects of kind %s", k);
        set_op(paths, base, "get", op(&c, "list", "list", nsd, "", d,
                                       params(ns, 0, Q_PRETTY | Q_LIST, r), NULL,
                                       responses(c.list_ref, C200)));
        if (ns) {
            char all[256];
            snprintf(all, sizeof all, "%s/%s", prefix, r->plural);
            set_op(paths, all, "get", op(&c, "list", "list", "", "ForAllNamespaces", d,
                                          params(0, 0, Q_PRETTY | Q_LIST, r), NULL,
                                          responses(c.list_ref, C200)));
        }
    }
    if (r->verbs & VERB_CREATE) {
        snprintf(d, sizeof d, "create a %s", k);
        set_op(paths, base, "post", op(&c, "post", "create", nsd, "", d,
                                        params(ns, 0, Q_WRITE, r), body_of(c.kind_ref),
                                        responses(c.kind_ref, C200_201_202)));
    }
    if (r->verbs & VERB_DELETECOLLECTION) {
        snprintf(d, sizeof d, "delete collection of %s", k);
        char mid[32];
        snprintf(mid, sizeof mid, "Collection%s", nsd);
        set_op(paths, base, "delete", op(&c, "deletecollection", "delete", mid, "", d,
                                          params(ns, 0, Q_PRETTY | Q_LIST | Q_DELETE, r),
                                          body_of(META("DeleteOptions")),
                                          responses(META("Status"), C200)));
    }
    if (r->verbs & VERB_GET) {
        snprintf(d, sizeof d, "read the specified %s", k);
        set_op(paths, item, "get", op(&c, "get", "read", nsd, "", d, params(ns, 1, Q_PRETTY, r),
                                       NULL, responses(c.kind_ref, C200)));
    }
    if (r->verbs & VERB_UPDATE) {
        snprintf(d, sizeof d, "replace the specified %s", k);
        set_op(paths, item, "put", op(&c, "put", "replace", nsd, "", d, params(ns, 1, Q_WRITE, r),
                                       body_of(c.kind_ref), responses(c.kind_ref, C200_201)));
    }
    if (r->verbs & VERB_PATCH) {
        snprintf(d, sizeof d, "partially update the specified %s", k);
        set_op(paths, item, "patch", op(&c, "patch", "patch", nsd, "", d,
                                         params(ns, 1, Q_WRITE | Q_FORCE, r), patch_body(r),
                                         responses(c.kind_ref, C200_201)));
    }
    if (r->verbs & VERB_DELETE) {
        snprintf(d, sizeof d, "delete a %s", k);
        set_op(paths, item, "delete", op(&c, "delete", "delete", nsd, "", d,
                                          params(ns, 1, Q_PRETTY | Q_DELETE, r),
                                          body_of(META("DeleteOptions")),
                                          responses(META("Status"), C200_202)));
    }

    /* Subresources: "status" reads and writes the whole object, one of another kind ("scale")
     * that kind; any other ("log") answers a text stream. */
    for (const subresource *s = r->subresources; s && s->name; s++) {
        char path[384], sfx[64], sref[192];
        json_t *o;
        snprintf(path, sizeof path, "%s/%s", item, s->name);
        snprintf(sfx, sizeof sfx, "%c%s", s->name[0] >= 'a' && s->name[0] <= 'z'
                 ? s->name[0] - 'a' + 'A' : s->name[0], s->name + 1);
        if (!strcmp(s->name, "exec") || !strcmp(s->name, "attach")) {
            /* a connect subresource: GET and POST upgrade to a stream */
            static const char *const methods[][2] = {{"get", "Get"}, {"post", "Post"}};
            for (size_t m = 0; m < 2; m++) {
                char mid[64];
                snprintf(mid, sizeof mid, "%s%s", methods[m][1], nsd);
                snprintf(d, sizeof d, "connect %s requests to %s of %s", methods[m][0], s->name, k);
                for (char *u = d + 8; *u && *u != ' '; u++)
                    *u = (char)(*u - 'a' + 'A');
                json_t *resps = json_pack("{s:o, s:o}", "200", response("OK", "*/*", typed("string", NULL, NULL)),
                                          "401", response("Unauthorized", NULL, NULL));
                set_op(paths, path, methods[m][0],
                       o = op(&c, "connect", "connect", mid, sfx, d,
                              params(ns, 1, !strcmp(s->name, "exec") ? Q_EXEC : Q_ATTACH, r), NULL, resps));
                sub_gvk(o, s);
            }
            continue;
        }
        const int whole = !strcmp(s->name, "status") || s->kind;
        if (s->kind)
            schema_name(sref, sizeof sref, s->kind_group, s->kind_version, s->kind);
        else
            snprintf(sref, sizeof sref, "%s", c.kind_ref);
        if (s->verbs & VERB_GET) {
            snprintf(d, sizeof d, "read %s of the specified %s", s->name, k);
            json_t *resps = whole ? responses(sref, C200) : json_pack(
                "{s:o, s:o}", "200", response("OK", "text/plain", typed("string", NULL, NULL)),
                "401", response("Unauthorized", NULL, NULL));
            set_op(paths, path, "get", o = op(&c, "get", "read", nsd, sfx, d,
                                               params(ns, 1, whole ? Q_PRETTY : Q_PRETTY | Q_LOG, r),
                                               NULL, resps));
            sub_gvk(o, s);
        }
        if (!whole)
            continue;
        if (s->verbs & VERB_UPDATE) {
            snprintf(d, sizeof d, "replace %s of the specified %s", s->name, k);
            set_op(paths, path, "put", o = op(&c, "put", "replace", nsd, sfx, d,
                                               params(ns, 1, Q_WRITE, r), body_of(sref),
                                               responses(sref, C200_201)));
            sub_gvk(o, s);
        }
        if (s->verbs & VERB_PATCH) {
            snprintf(d, sizeof d, "partially update %s of the specified %s", s->name, k);
            set_op(paths, path, "patch", o = op(&c, "patch", "patch", nsd, sfx, d,
                                                 params(ns, 1, Q_WRITE | Q_FORCE, r), patch_body(r),
                                                 responses(sref, C200_201)));
            sub_gvk(o, s);
        }
    }
}

/* --------------------------------------------------------------------- generic kinds ---- */

/* For a table kind without a built-in schema: the envelope, spec and status kept as sent. */
static json_t *generic_kind(const resource *r)
{
    char d[160];
    snprintf(d, sizeof d, "%s is served by torchjobd; spec and status are kept as sent.",
             r->kind);
    return kind_schema(r->group, r->version, r->kind, d, s_free("Spec of the object."),
                       s_free("Status of the object."));
}

static json_t *list_schema(const resource *r, const char *kind_ref)
{
    char d[192], items[192];
    snprintf(d, sizeof d, "%s is a list of %s", r->list_kind, r->kind);
    snprintf(items, sizeof items, "List of %s.", r->plural);
    json_t *s = required(s_obj(d, "apiVersion", s_str(D_APIVERSION),
                               "items", s_arr(ref(kind_ref), items),
                               "kind", s_str(D_KIND),
                               "metadata", s_ref(META("ListMeta"), D_LISTMETA), NULL),
                         "items", NULL);
    return with_gvk(s, r->group, r->version, r->list_kind);
}

json_t *openapi_v3_doc(const char *group, const char *version)
{
    int any = 0;
    for (size_t i = 0; i < nresources; i++)
        any |= !strcmp(resources[i].group, group) && !strcmp(resources[i].version, version);
    if (!any)
        return NULL;

    json_t *paths = json_object(), *sc = json_object();
    add_meta(sc);
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (!strcmp(builtins[i].group, group) && !strcmp(builtins[i].version, version))
            builtins[i].add(sc);
    for (size_t i = 0; i < nresources; i++) {
        const resource *r = &resources[i];
        if (strcmp(r->group, group) || strcmp(r->version, version))
            continue;
        char kname[192], lname[192];
        schema_name(kname, sizeof kname, group, version, r->kind);
        if (!json_object_get(sc, kname))
            json_object_set_new(sc, kname, generic_kind(r));
        if (r->list_kind)
            schema_name(lname, sizeof lname, group, version, r->list_kind);
        if (r->list_kind && !json_object_get(sc, lname))
            json_object_set_new(sc, lname, list_schema(r, kname));
        for (const subresource *s = r->subresources; s && s->name; s++)
            if (s->kind && !strcmp(s->kind, "Scale"))
                add_autoscaling_scale(sc);
        add_paths(paths, r);
    }
    json_t *doc = json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:o}}", "openapi", "3.0.0", "info",
                            "title", "Kubernetes", "version", "v1.32.0", "paths", paths,
                            "components", "schemas", sc);
    return doc;
}
