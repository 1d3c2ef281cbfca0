/* node — the one Node this server runs pods on ("localhost"), as its kubelet registers it:
 * capacity and allocatable from this machine, Ready and the pressure conditions, addresses and
 * system info. Written at start (created, or its status refreshed on a restart) and kept fresh
 * with its Lease while the daemon runs; the rest of its
 * life is the API's (labels, annotations, spec.unschedulable and taints are stored and shown;
 * nothing schedules against them). */
#ifndef TJ_NODE_H
#define TJ_NODE_H
#include "api.h"

#define NODE_NAME "localhost"

typedef struct node_hb node_hb;

/* Create nodes//localhost, or refresh the status of the one stored (keeping metadata and spec),
 * and renew its Lease in kube-node-lease; then keep both fresh as kubelet's heartbeats do (the
 * Lease every 10 s, the status every 5 min). data_dir: where ephemeral-storage is measured. */
node_hb *node_start(api_t *api, const char *data_dir);
void node_stop(node_hb *hb);
/* The node's allocatable amount of "cpu" (cores), "memory" or "ephemeral-storage" (bytes of the
 * filesystem holding path): what a container's limit defaults to in the downward API. */
long double node_allocatable(const char *resource, const char *path);
#endif
