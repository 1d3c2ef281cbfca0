/* svcalloc — a Service's cluster IP and node ports, allocated as kube's service REST storage does
 * (pkg/registry/core/service/storage/alloc.go) on a single-stack IPv4 cluster with kubeadm's
 * ranges: cluster IPs from 10.96.0.0/12, node ports from 30000-32767. */
#ifndef TJ_SVCALLOC_H
#define TJ_SVCALLOC_H
#include <jansson.h>
#include "fielderr.h"
#include "store.h"

#define SVC_CIDR "10.96.0.0/12"
#define SVC_NODEPORT_MIN 30000
#define SVC_NODEPORT_MAX 32767

typedef struct svcalloc svcalloc_t;

/* The allocator of a store: indexes the stored services and follows the store's commits. */
svcalloc_t *svcalloc_new(store_t *st);
void svcalloc_free(svcalloc_t *a);

/* A new service (obj, already defaulted and valid): a clusterIP unless headless or ExternalName,
 * clusterIPs, ipFamilies and ipFamilyPolicy; for NodePort and LoadBalancer a nodePort on every
 * port and externalTrafficPolicy (and allocateLoadBalancerNodePorts for a LoadBalancer). Values
 * the body names must be in range and free. Free means no stored service holds it and no
 * allocation of the last moments (for writes not yet committed) took it. key: the service's
 * store key. 0, or -1 with fe set (kube's 422 causes). Loop thread only. No allocator (NULL):
 * nothing is done. */
int svcalloc_create(svcalloc_t *a, const char *key, json_t *obj, fielderrs *fe);

/* A headless service's spec (clusterIP "None"): clusterIPs, ipFamilies and ipFamilyPolicy, as
 * svcalloc_create gives them; needs no store (the controller's services). Else nothing. */
void svcalloc_headless(json_t *spec);

/* An update from old to obj: what obj leaves out is carried over from old (its clusterIP(s),
 * ipFamilies, ipFamilyPolicy, a port's nodePort), a changed clusterIP is refused, what a new type
 * needs is allocated and what it no longer needs is dropped. 0, or -1 with fe set. */
int svcalloc_update(svcalloc_t *a, const char *key, const json_t *old, json_t *obj, fielderrs *fe);
#endif
