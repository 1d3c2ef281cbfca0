/* podexec — GET/POST …/pods/{pod}/exec: a command run in a pod's container (here: beside its
 * process, with its environment and working directory), its stdin, stdout, stderr, exit status
 * and terminal carried over a WebSocket in Kubernetes' channel protocols; and …/attach, the
 * container's own output from its log as it grows, over the same streams (v5.channel.k8s.io as
 * kubectl exec and kubectl cp speak it, v4.channel.k8s.io as the Python and JavaScript clients'
 * stream helpers do, channel.k8s.io). */
#ifndef TJ_PODEXEC_H
#define TJ_PODEXEC_H
#include "api.h"

typedef struct podexec podexec_t;

podexec_t *podexec_new(api_t *api);
/* Kill every session's process and close them (the loop must run afterwards). */
void podexec_free(podexec_t *px);
void podexec_serve(apireq *r);
/* The container process run_id ended: what was exec'ed in it is killed, as with its container. */
void podexec_run_ended(void *px, const char *run_id);
#endif
