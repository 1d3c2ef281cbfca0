/* events — record core/v1 Events about an object (kubectl describe shows them). */
#ifndef TJ_EVENTS_H
#define TJ_EVENTS_H
#include "api.h"

typedef struct events events_t;
events_t *events_new(api_t *api);
/* Stop the expiry timer (its handle closes with the loop); then events_free after the loop. */
void events_stop(events_t *e);
void events_free(events_t *e);
/* Who reports: source.component and reportingComponent (e.g. "kubelet"), source.host and
 * reportingInstance (the node, for kubelet; NULL for a controller, as client-go leaves them). */
typedef struct events_source {
    const char *component;
    const char *host;
} events_source;
/* Record (or count again) an event about obj (any stored object: apiVersion, kind, metadata).
 * type "Normal"/"Warning"; component e.g. "pytorchjob-controller". */
void events_record(events_t *e, const json_t *obj, const char *component, const char *type,
                   const char *reason, const char *message);
/* The same, reported by src about a part of obj: field_path is involvedObject.fieldPath (e.g.
 * "spec.containers{main}", as kubelet's container references), or NULL. Nothing is recorded in
 * a namespace that is gone or terminating (the API server's NamespaceLifecycle refuses it). */
void events_record_from(events_t *e, const json_t *obj, const char *field_path, const events_source *src,
                        const char *type, const char *reason, const char *message);
#endif
