/* svcalloc — a Service's cluster IP and node ports (see svcalloc.h).
 *
 * What is taken lives in an index built from the stored services at start and kept by a commit
 * listener (a commit of a services/ key removes its previous version's values, adds its own):
 * a count per cluster IP (open addressing) and per node port. A create answered but not yet
 * committed is not in it, so the last allocations are also kept in a ring keyed by service: one
 * counts as taken while that key's latest version is not committed (a deleted key, or a dry run
 * never written, holds nothing). Two creates in one batch therefore cannot share a value. The
 * ring forgets an allocation after RECENT newer ones, far more than one batch holds.
 *
 * Like kube's allocators, a random pick prefers the upper part of the range: the first
 * min(max(16, size/16), 256) addresses (min(max(16, size/32), 128) ports) are left for values a
 * manifest names, and used for random picks only once the rest is full. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include "jsonio.h"
#include "svcalloc.h"

#define IP_BASE 0x0A600000u /* 10.96.0.0 */
#define IP_SIZE (1u << 20)  /* /12 */
#define IP_BAND 256u
#define PORT_SIZE (SVC_NODEPORT_MAX - SVC_NODEPORT_MIN + 1)
#define PORT_BAND 86u
#define RECENT 1024
#define INVALID_IP_MSG "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"

/* The last allocations: the service's key and the value. */
typedef struct recent {
    char key[256];
    uint32_t v;
    int port;
} recent;

/* The cluster IPs held by stored services: open addressing, linear probing, counts (a value
 * may pass from one version of a service to the next within a batch). */
typedef struct ipslot {
    uint32_t ip; /* 0: empty (10.96.0.0 is never a service's) */
    uint32_t n;  /* 0: a tombstone, kept for probing */
} ipslot;

struct svcalloc {
    store_t *store;
    ipslot *ips;
    size_t cap, used;                 /* slots, slots ever filled (tombstones included) */
    uint32_t ports[PORT_SIZE];         /* counts per node port */
    recent ring[RECENT];
    size_t n_ring;
};

/* A list of values (this request's own picks, an updated service's old values). */
typedef struct taken {
    uint32_t v[64];
    size_t n;
} taken;

static int has(const taken *t, uint32_t x)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i] == x)
            return 1;
    return 0;
}

static void add(taken *t, uint32_t x)
{
    if (t->n < sizeof t->v / sizeof *t->v)
        t->v[t->n++] = x;
}

static size_t ip_hash(uint32_t ip, size_t cap)
{
    return (size_t)(ip * 2654435761u) & (cap - 1);
}

static ipslot *ip_find(const svcalloc_t *a, uint32_t ip)
{
    if (!a->cap)
        return NULL;
    for (size_t i = ip_hash(ip, a->cap), k = 0; k < a->cap; i = (i + 1) & (a->cap - 1), k++) {
        if (a->ips[i].ip == ip)
            return &a->ips[i];
        if (!a->ips[i].ip)
            return NULL;
    }
    return NULL;
}

/* A new slot for ip, whose count is n (the probe's first empty one). */
static void ip_place(svcalloc_t *a, uint32_t ip, uint32_t n)
{
    size_t i = ip_hash(ip, a->cap);
    while (a->ips[i].ip)
        i = (i + 1) & (a->cap - 1);
    a->ips[i] = (ipslot){ip, n};
    a->used++;
}

/* Twice the slots; the live ones move with their counts, the tombstones stay behind. */
static void ip_grow(svcalloc_t *a)
{
    ipslot *old = a->ips;
    size_t oc = a->cap;
    a->cap = oc ? oc * 2 : 256;
    a->ips = calloc(a->cap, sizeof *a->ips);
    if (!a->ips)
        abort(); /* an index that lost values would hand them out twice */
    a->used = 0;
    for (size_t i = 0; i < oc; i++)
        if (old[i].n)
            ip_place(a, old[i].ip, old[i].n);
    free(old);
}

static void ip_count(svcalloc_t *a, uint32_t ip, int delta)
{
    ipslot *e = ip_find(a, ip);
    if (delta < 0) {
        if (e && e->n)
            e->n--;
        return;
    }
    if (e) {
        e->n++;
        return;
    }
    if ((a->used + 1) * 4 > a->cap * 3)
        ip_grow(a);
    ip_place(a, ip, 1);
}

static int parse_ip(const char *s, uint32_t *out)
{
    struct in_addr a;
    if (!s || inet_pton(AF_INET, s, &a) != 1)
        return -1;
    *out = ntohl(a.s_addr);
    return 0;
}

static void fmt_ip(uint32_t ip, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static uint32_t rnd(void)
{
    uint32_t r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
        r = (uint32_t)random();
    return r;
}

/* The values a spec holds, into ips and ports (either may be NULL). */
static void values_of(const json_t *spec, taken *ips, taken *ports)
{
    uint32_t ip;
    size_t i;
    json_t *v;
    if (ips && parse_ip(json_string_value(json_object_get(spec, "clusterIP")), &ip) == 0)
        add(ips, ip);
    json_array_foreach(json_object_get(spec, "clusterIPs"), i, v)
        if (ips && parse_ip(json_string_value(v), &ip) == 0 && !has(ips, ip))
            add(ips, ip);
    json_array_foreach(json_object_get(spec, "ports"), i, v) {
        json_int_t np = json_integer_value(json_object_get(v, "nodePort"));
        if (ports && np > 0)
            add(ports, (uint32_t)np);
    }
}

/* A stored version of a service enters (+1) or leaves (-1) the index. */
static void index_rec(svcalloc_t *a, const store_rec *r, int delta)
{
    json_t *o = jsonio_parse(r->data, r->len, 0, NULL);
    taken ips = {.n = 0}, ports = {.n = 0};
    values_of(json_object_get(o, "spec"), &ips, &ports);
    json_decref(o);
    for (size_t i = 0; i < ips.n; i++)
        ip_count(a, ips.v[i], delta);
    for (size_t i = 0; i < ports.n; i++)
        if (ports.v[i] >= SVC_NODEPORT_MIN && ports.v[i] <= SVC_NODEPORT_MAX) {
            uint32_t *c = &a->ports[ports.v[i] - SVC_NODEPORT_MIN];
            *c = delta > 0 ? *c + 1 : *c ? *c - 1 : 0;
        }
}

static int is_service(const store_rec *r)
{
    return r && !strncmp(r->key, "services/", 9);
}

static void on_commit(void *arg, const store_rec *rec, const store_rec *prev)
{
    if (!is_service(rec))
        return;
    if (prev && !prev->deleted)
        index_rec(arg, prev, -1);
    if (!rec->deleted)
        index_rec(arg, rec, 1);
}

static int scan_one(void *arg, const store_rec *r)
{
    index_rec(arg, r, 1);
    return 0;
}

svcalloc_t *svcalloc_new(store_t *st)
{
    svcalloc_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->store = st;
    store_list(st, "services/", NULL, 0, scan_one, a);
    store_on_commit(st, on_commit, a);
    return a;
}

void svcalloc_free(svcalloc_t *a)
{
    if (!a)
        return;
    free(a->ips);
    free(a);
}

/* What a request checks a value against: the index less the updated service's own old values,
 * the allocations not yet committed, and what this request took already. */
typedef struct scan {
    svcalloc_t *a;
    taken own_ips, own_ports;
    taken req_ips, req_ports;
} scan;

static int pending(const svcalloc_t *a, uint32_t v, int port)
{
    for (size_t i = 0; i < a->n_ring && i < RECENT; i++) {
        if (a->ring[i].v != v || a->ring[i].port != port)
            continue;
        const store_rec *r = store_latest(a->store, a->ring[i].key);
        if (r && !r->committed)
            return 1;
    }
    return 0;
}

/* A value the updated service held is its own (no other service can hold it too). */
static int ip_held(const scan *sc, uint32_t ip)
{
    if (has(&sc->req_ips, ip))
        return 1;
    if (has(&sc->own_ips, ip))
        return 0;
    const ipslot *e = ip_find(sc->a, ip);
    return (e && e->n) || pending(sc->a, ip, 0);
}

static int port_held(const scan *sc, uint32_t p)
{
    if (has(&sc->req_ports, p))
        return 1;
    if (has(&sc->own_ports, p))
        return 0;
    return sc->a->ports[p - SVC_NODEPORT_MIN] || pending(sc->a, p, 1);
}

/* A free value among base + [lo, size): random in [band, size) first, then anywhere; 0 when all
 * are taken. */
static uint32_t pick(const scan *sc, int port, uint32_t base, uint32_t lo, uint32_t size, uint32_t band)
{
    for (int tries = 0; tries < 64; tries++) {
        uint32_t c = base + band + rnd() % (size - band);
        if (!(port ? port_held(sc, c) : ip_held(sc, c)))
            return c;
    }
    for (uint32_t i = lo; i < size; i++)
        if (!(port ? port_held(sc, base + i) : ip_held(sc, base + i)))
            return base + i;
    return 0;
}

static void remember(svcalloc_t *a, const char *key, uint32_t v, int port)
{
    recent *e = &a->ring[a->n_ring++ % RECENT];
    snprintf(e->key, sizeof e->key, "%s", key);
    e->v = v;
    e->port = port;
}

static const char *spec_type(const json_t *spec)
{
    const char *t = json_string_value(json_object_get(spec, "type"));
    return t ? t : "ClusterIP";
}

static int needs_cluster_ip(const json_t *spec)
{
    return strcmp(spec_type(spec), "ExternalName") != 0;
}

static int needs_node_ports(const json_t *spec)
{
    const char *t = spec_type(spec);
    if (!strcmp(t, "NodePort"))
        return 1;
    return !strcmp(t, "LoadBalancer") && !json_is_false(json_object_get(spec, "allocateLoadBalancerNodePorts"));
}

static int external_policy(const json_t *spec)
{
    const char *t = spec_type(spec);
    return !strcmp(t, "NodePort") || !strcmp(t, "LoadBalancer");
}

static const char *cluster_ip_of(const json_t *spec)
{
    const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
    if (ip && *ip)
        return ip;
    ip = json_string_value(json_array_get(json_object_get(spec, "clusterIPs"), 0));
    return ip && *ip ? ip : NULL;
}

static void set_default(json_t *spec, const char *k, json_t *v)
{
    if (!json_object_get(spec, k))
        json_object_set_new(spec, k, v);
    else
        json_decref(v);
}

void svcalloc_headless(json_t *spec)
{
    const char *cip = json_is_object(spec) ? cluster_ip_of(spec) : NULL;
    if (!cip || strcmp(cip, "None") || !needs_cluster_ip(spec))
        return;
    json_object_set_new(spec, "clusterIP", json_string("None"));
    set_default(spec, "clusterIPs", json_pack("[s]", "None"));
    set_default(spec, "ipFamilies", json_pack("[s]", "IPv4"));
    /* headless without a selector may hold endpoints of either family */
    int selectorless = json_object_size(json_object_get(spec, "selector")) == 0;
    set_default(spec, "ipFamilyPolicy", json_string(selectorless ? "RequireDualStack" : "SingleStack"));
}

/* The cluster IP fields of a spec that needs them: the given IP checked, or one allocated. */
static int alloc_cluster_ip(json_t *spec, scan *sc, fielderrs *fe)
{
    const char *cip = cluster_ip_of(spec);
    if (cip && !strcmp(cip, "None")) {
        svcalloc_headless(spec);
        return 0;
    }
    uint32_t ip;
    char text[16];
    if (cip) {
        if (parse_ip(cip, &ip) < 0) {
            char *v = fe_str(cip);
            fe_add(fe, FE_INVALID, "spec.clusterIPs[0]", v, INVALID_IP_MSG);
            free(v);
            return -1;
        }
        fmt_ip(ip, text);
        char list[64];
        snprintf(list, sizeof list, "[]string{\"%s\"}", text);
        if (ip <= IP_BASE || ip >= IP_BASE + IP_SIZE - 1) {
            fe_add(fe, FE_INVALID, "spec.clusterIPs", list,
                   "failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s",
                   text, text, SVC_CIDR);
            return -1;
        }
        if (ip_held(sc, ip)) {
            fe_add(fe, FE_INVALID, "spec.clusterIPs", list, "failed to allocate IP %s: provided IP is already allocated", text);
            return -1;
        }
    } else if (!(ip = pick(sc, 0, IP_BASE, 1, IP_SIZE - 1, IP_BAND))) {
        fe_add(fe, FE_INVALID, "spec.clusterIPs", "[]string(nil)",
               "failed to allocate a serviceIP: range is full");
        return -1;
    }
    add(&sc->req_ips, ip);
    fmt_ip(ip, text);
    json_object_set_new(spec, "clusterIP", json_string(text));
    json_object_set_new(spec, "clusterIPs", json_pack("[s]", text));
    set_default(spec, "ipFamilies", json_pack("[s]", "IPv4"));
    set_default(spec, "ipFamilyPolicy", json_string("SingleStack"));
    return 0;
}

/* Node ports for every port of a spec that needs them: a given one checked, a missing one
 * allocated. */
static int alloc_node_ports(json_t *spec, scan *sc, fielderrs *fe)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(spec, "ports"), i, p) {
        if (!json_is_object(p))
            continue;
        json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
        char field[48], val[32];
        snprintf(field, sizeof field, "spec.ports[%zu].nodePort", i);
        if (np != 0) {
            snprintf(val, sizeof val, "%lld", (long long)np);
            if (np < SVC_NODEPORT_MIN || np > SVC_NODEPORT_MAX) {
                fe_add(fe, FE_INVALID, field, val,
                       "provided port is not in the valid range. The range of valid ports is %d-%d",
                       SVC_NODEPORT_MIN, SVC_NODEPORT_MAX);
                return -1;
            }
            if (port_held(sc, (uint32_t)np)) {
                fe_add(fe, FE_INVALID, field, val, "provided port is already allocated");
                return -1;
            }
        } else if (!(np = pick(sc, 1, SVC_NODEPORT_MIN, 0, PORT_SIZE, PORT_BAND))) {
            fe_add(fe, FE_INVALID, field, "0", "failed to allocate a nodePort: range is full");
            return -1;
        } else {
            json_object_set_new(p, "nodePort", json_integer(np));
        }
        add(&sc->req_ports, (uint32_t)np);
    }
    return 0;
}

/* The allocations a spec needs that it does not hold yet; remembered only when all succeed.
 * own_spec: the updated service's old spec (its values are its own), or NULL. */
static int alloc_all(svcalloc_t *a, const char *key, json_t *spec, const json_t *own_spec,
                     fielderrs *fe)
{
    scan sc = {.a = a};
    if (own_spec)
        values_of(own_spec, &sc.own_ips, &sc.own_ports);
    int rc = 0;
    if (needs_cluster_ip(spec))
        rc = alloc_cluster_ip(spec, &sc, fe);
    if (rc == 0 && needs_node_ports(spec))
        rc = alloc_node_ports(spec, &sc, fe);
    if (rc == 0 && external_policy(spec))
        set_default(spec, "externalTrafficPolicy", json_string("Cluster"));
    if (rc == 0 && !strcmp(spec_type(spec), "LoadBalancer"))
        set_default(spec, "allocateLoadBalancerNodePorts", json_true());
    for (size_t i = 0; rc == 0 && i < sc.req_ips.n; i++) /* what this request took */
        remember(a, key, sc.req_ips.v[i], 0);
    for (size_t i = 0; rc == 0 && i < sc.req_ports.n; i++)
        remember(a, key, sc.req_ports.v[i], 1);
    return rc;
}

int svcalloc_create(svcalloc_t *a, const char *key, json_t *obj, fielderrs *fe)
{
    json_t *spec = json_object_get(obj, "spec");
    if (!a || !json_is_object(spec))
        return 0;
    return alloc_all(a, key, spec, NULL, fe);
}

/* The old port a new port without a nodePort continues: the same name, else (an unnamed single
 * port) the same port and protocol. */
static const json_t *old_port_for(const json_t *oports, const json_t *np)
{
    const char *name = json_string_value(json_object_get(np, "name"));
    size_t i;
    json_t *op;
    json_array_foreach(oports, i, op) {
        const char *on = json_string_value(json_object_get(op, "name"));
        if (name && *name ? on && !strcmp(on, name)
                          : json_equal(json_object_get(op, "port"), json_object_get(np, "port")) &&
                                json_equal(json_object_get(op, "protocol"), json_object_get(np, "protocol")))
            return op;
    }
    return NULL;
}

int svcalloc_update(svcalloc_t *a, const char *key, const json_t *old, json_t *obj, fielderrs *fe)
{
    const json_t *ospec = json_object_get(old, "spec");
    json_t *spec = json_object_get(obj, "spec");
    if (!a || !json_is_object(spec))
        return 0;
    static const char *const ipkeys[] = {"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"};
    if (needs_cluster_ip(ospec) && needs_cluster_ip(spec)) {
        /* patchAllocatedValues: what the new object leaves out stays; a change is refused */
        const char *ocip = cluster_ip_of(ospec), *ncip = cluster_ip_of(spec);
        if (ocip && ncip && strcmp(ocip, ncip)) {
            /* normalizeClusterIPs made the new clusterIP the list's; the list is the value */
            char *q = fe_str(ncip), list[128];
            snprintf(list, sizeof list, "[]string{%.100s}", q);
            fe_add(fe, FE_INVALID, "spec.clusterIPs[0]", list, "may not change once set");
            free(q);
            return -1;
        }
        for (size_t i = 0; i < 4; i++) {
            json_t *ov = json_object_get(ospec, ipkeys[i]);
            const json_t *nv = json_object_get(spec, ipkeys[i]);
            if (ov && (!nv || json_is_null(nv) || (json_is_string(nv) && !*json_string_value(nv)) ||
                       (json_is_array(nv) && !json_array_size(nv))))
                json_object_set(spec, ipkeys[i], ov);
        }
    } else if (!needs_cluster_ip(spec)) {
        /* dropTypeDependentFields: the values the old type held go with it */
        for (size_t i = 0; i < 4; i++)
            if (json_equal(json_object_get(spec, ipkeys[i]), json_object_get(ospec, ipkeys[i])))
                json_object_del(spec, ipkeys[i]);
    }
    if (needs_node_ports(spec) && needs_node_ports(ospec)) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(spec, "ports"), i, p) {
            const json_t *op = json_is_object(p) && !json_integer_value(json_object_get(p, "nodePort"))
                                   ? old_port_for(json_object_get(ospec, "ports"), p) : NULL;
            if (op && json_integer_value(json_object_get(op, "nodePort")))
                json_object_set(p, "nodePort", json_object_get(op, "nodePort"));
        }
    } else if (!needs_node_ports(spec)) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(spec, "ports"), i, p) {
            const json_t *op = old_port_for(json_object_get(ospec, "ports"), p);
            if (op && json_equal(json_object_get(op, "nodePort"), json_object_get(p, "nodePort")))
                json_object_del(p, "nodePort");
        }
    }
    if (!external_policy(spec) &&
        json_equal(json_object_get(spec, "externalTrafficPolicy"), json_object_get(ospec, "externalTrafficPolicy")))
        json_object_del(spec, "externalTrafficPolicy");
    if (strcmp(spec_type(spec), "LoadBalancer"))
        json_object_del(spec, "allocateLoadBalancerNodePorts");
    else if (!json_object_get(spec, "allocateLoadBalancerNodePorts") && json_object_get(ospec, "allocateLoadBalancerNodePorts"))
        json_object_set(spec, "allocateLoadBalancerNodePorts", json_object_get(ospec, "allocateLoadBalancerNodePorts"));
    if (external_policy(spec) && !json_object_get(spec, "externalTrafficPolicy") && json_object_get(ospec, "externalTrafficPolicy"))
        json_object_set(spec, "externalTrafficPolicy", json_object_get(ospec, "externalTrafficPolicy"));
    /* Whatever is still missing (a new type, new ports) is allocated; the service's own old
     * values do not count as taken, the new ones it names are checked against the others. */
    return alloc_all(a, key, spec, ospec, fe);
}
