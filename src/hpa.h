/* hpa — the HorizontalPodAutoscaler (autoscaling/v2) as kube-apiserver takes it: its defaults
 * (SetDefaults_HorizontalPodAutoscaler) and validation (ValidateHorizontalPodAutoscaler), and the
 * one a PyTorchJob with elasticPolicy.metrics gets from training-operator (desiredHPA). */
#ifndef TJ_HPA_H
#define TJ_HPA_H
#include <jansson.h>
#include "fielderr.h"

/* spec.minReplicas 1 and, with no metrics, one: CPU at 80% average utilization. */
void hpa_defaults(json_t *obj);
/* The spec's rules (metadata is checked by the caller), with kube's field paths and texts. */
void hpa_validate(fielderrs *l, const json_t *obj);
/* training-operator's desiredHPA for a job (name, namespace, uid): scaleTargetRef the job, min and
 * max from the elastic policy, its metrics; owned by the job (controller). Defaults applied. New
 * reference. */
json_t *hpa_for_job(const char *name, const char *ns, const char *uid, long long min_replicas,
                    long long max_replicas, const json_t *metrics);
#endif
