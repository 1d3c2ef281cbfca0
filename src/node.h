/* node — the one Node this server runs pods on ("localhost"), as its kubelet registers it:
 * capacity and allocatable from this machine, Ready and the pressure conditions, addresses and
 * system info. Written at start (created, or its status refreshed on a restart); the rest of its
 * life is the API's (labels, annotations, spec.unschedulable and taints are stored and shown;
 * nothing schedules against them). */
#ifndef TJ_NODE_H
#define TJ_NODE_H
#include "api.h"

#define NODE_NAME "localhost"

/* Create nodes//localhost, or refresh the status of the one stored (keeping metadata and spec),
 * and renew its Lease in kube-node-lease. data_dir: where ephemeral-storage is measured. */
void node_register(api_t *api, const char *data_dir);
/* The node's allocatable amount of "cpu" (cores), "memory" or "ephemeral-storage" (bytes of the
 * filesystem holding path): what a container's limit defaults to in the downward API. */
long double node_allocatable(const char *resource, const char *path);
#endif
