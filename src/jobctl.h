/* jobctl — the PyTorchJob controller on the loop (see jobctl.c). */
#ifndef TJ_JOBCTL_H
#define TJ_JOBCTL_H
#include "api.h"
#include "events.h"

typedef struct jobctl jobctl_t;
jobctl_t *jobctl_new(api_t *api, events_t *ev);
void jobctl_free(jobctl_t *c);
#endif
