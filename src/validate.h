/* validate — object validation with apimachinery's and training-operator v1.9's exact texts. */
#ifndef TJ_VALIDATE_H
#define TJ_VALIDATE_H
#include <jansson.h>
#include "fielderr.h"

/* DNS-1123 subdomain / label, DNS-1035 label, qualified name, label value: append errors for
 * field to l with kube's messages. */
void validate_dns1123_subdomain(fielderrs *l, const char *field, const char *value);
void validate_dns1123_label(fielderrs *l, const char *field, const char *value);
void validate_dns1035_label(fielderrs *l, const char *field, const char *value);
void validate_qualified_name(fielderrs *l, const char *field, const char *value);
void validate_label_value(fielderrs *l, const char *field, const char *value);
/* The same checks for a caller that renders the error itself (label selectors): the messages of
 * validation.IsQualifiedName / IsValidLabelValue joined by sep (strings.Join), malloc'ed, caller
 * frees; NULL when value is valid. */
char *validate_qualified_name_msg(const char *value, const char *sep);
char *validate_label_value_msg(const char *value, const char *sep);

/* ObjectMeta of an object being created or updated (apimachinery ValidateObjectMeta):
 * name/generateName (subdomain if name_subdomain else DNS-1123 label), labels, annotations
 * (total size), finalizers (qualified names; orphan+foregroundDeletion together), ownerReferences.
 * meta may be NULL (→ name required). */
#define META_NAME_DNS1035 2 /* name_subdomain's third value: a Service's name */
void validate_object_meta(fielderrs *l, const json_t *meta, int name_subdomain);

/* Paths of pruned fields ("spec.foo", "spec.template.spec.containers[0].bar"), malloc'ed. */
typedef struct fieldpaths {
    char **v;
    size_t n, cap;
} fieldpaths;
void fieldpaths_add(fieldpaths *u, const char *path);
void fieldpaths_free(fieldpaths *u);

/* The CRD schema level (422): spec.pytorchReplicaSpecs required, field types (int32/int64/bool/
 * string/object/array) along the PyTorchJob schema. */
void validate_pytorchjob_schema(fielderrs *l, const json_t *obj);
/* The same, with structural pruning as kube decodes a custom resource: every member the CRD's
 * schema does not know (at the root, in metadata, anywhere under spec where the schema lists all
 * of an object's properties) is removed from obj and its path appended to u in kube's order:
 * metadata's sorted, then the rest sorted. */
void validate_pytorchjob_schema_prune(fielderrs *l, json_t *obj, fieldpaths *u);
/* A built-in kind's unknown fields (pods, services, namespaces, events), as decoding into its Go
 * struct drops them: removed from obj, paths appended to u in the document's order (strict
 * decoding's). Where the embedded types are not written out here they are kept whole. -1 (and
 * nothing done) for another kind. */
int validate_core_prune(const char *plural, json_t *obj, fieldpaths *u);
/* The schema tables are well formed (every object's properties sorted and counted): 1, else 0.
 * For the unit tests: pruning looks properties up by binary search. */
int validate_schema_ok(void);
/* The property names pruning knows for a core/v1 type ("PodSpec", "Container",
 * "ResourceRequirements", "ContainerPort", "EnvVar"), sorted, into names (at most cap); the
 * count, 0 for another type. For the test that holds openapi.c's schemas to the same names. */
size_t validate_schema_props(const char *type, const char **names, size_t cap);
/* The status schema (422): condition items need type and status; counters are integers. */
void validate_pytorchjob_status(fielderrs *l, const json_t *obj);
/* The same, pruning unknown status fields as validate_pytorchjob_schema_prune does; u (which may
 * hold that function's paths already) is left in kube's order: metadata's, then all the rest
 * sorted. */
void validate_pytorchjob_status_prune(fielderrs *l, json_t *obj, fieldpaths *u);
/* The v1.9 validating webhook (answered as 403). warnings: if non-NULL, receives a new JSON
 * array of warning strings (possibly empty). */
void validate_pytorchjob_webhook(fielderrs *l, const json_t *obj, json_t **warnings);
/* core/v1 defaulting of a pod or service (plural), in place: containers' imagePullPolicy,
 * terminationMessagePath/Policy, resources and ports' protocol; a pod's dnsPolicy,
 * enableServiceLinks, securityContext, priority and preemptionPolicy; a service's
 * sessionAffinity, internalTrafficPolicy and ports' protocol and targetPort. */
void validate_core_defaults(const char *plural, json_t *obj);
/* The CRD schema's defaults (runPolicy.suspend, ports' protocol), in place. */
void validate_pytorchjob_defaults(json_t *obj);
/* core/v1 Service (ValidateService): ports required unless headless or ExternalName; each
 * port's name (required when several, DNS label, unique), port, protocol and targetPort; an
 * ExternalName's name; sessionAffinity and type values. */
void validate_service_spec(fielderrs *l, const json_t *obj);
/* An update of a pod (ValidatePodUpdate): only the containers' images, activeDeadlineSeconds
 * (down, never to null), added tolerations and a negative grace period set to 1 may change. */
void validate_pod_update(fielderrs *l, const json_t *old, const json_t *obj);
/* core/v1 Pod spec: containers with name and image, their env and envFrom (ValidateEnv,
 * ValidateEnvFrom), restartPolicy values. */
void validate_pod_spec(fielderrs *l, const json_t *obj);
/* A ConfigMap's or Secret's keys (valid config keys, a ConfigMap's not in both data and
 * binaryData) and size (1 MiB); plural "configmaps" or "secrets". */
void validate_config_object(fielderrs *l, const char *plural, const json_t *obj);
/* Their updates: a Secret's type, and nothing of an immutable one (ValidateConfigMapUpdate,
 * ValidateSecretUpdate). */
void validate_config_update(fielderrs *l, const char *plural, const json_t *old, const json_t *obj);
/* A pod's status.qosClass (GetPodQOS over cpu and memory): "BestEffort", "Burstable" or
 * "Guaranteed". */
const char *validate_pod_qos(const json_t *pod);
/* SplitMaybeSubscriptedPath: 1 when fp is "PATH['KEY']" (path and key copied out), else 0. */
int validate_split_subscript(const char *fp, char *path, size_t pcap, char *key, size_t kcap);
#endif
