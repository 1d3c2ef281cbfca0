/* events — record core/v1 Events about an object (kubectl describe shows them). */
#ifndef TJ_EVENTS_H
#define TJ_EVENTS_H
#include "api.h"

typedef struct events events_t;
events_t *events_new(api_t *api);
/* Stop the expiry timer (its handle closes with the loop); then events_free after the loop. */
void events_stop(events_t *e);
void events_free(events_t *e);
/* Record (or count again) an event about obj (any stored object: apiVersion, kind, metadata).
 * type "Normal"/"Warning"; component e.g. "pytorchjob-controller". */
void events_record(events_t *e, const json_t *obj, const char *component, const char *type,
                   const char *reason, const char *message);
#endif
