/* svcalloc — a Service's cluster IP and node ports (see svcalloc.h).
 *
 * What is taken is read from the store each time (every stored service's clusterIPs and
 * nodePorts; a cluster holds few services outside the controller's headless ones, which take
 * nothing), plus a ring of the last allocations: a create answered but not yet committed is not
 * in the store's committed state, and two of them in one batch must not share an address. The
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

/* The last allocations: the service's key and the value. One counts as taken while the latest
 * version of that key is not committed yet (a committed one is in the store's state already; a
 * deleted or never-written one, a dry run, holds nothing). */
typedef struct recent {
    char key[256];
    uint32_t v;
    int port;
} recent;
static recent ring[RECENT];
static size_t n_ring;

typedef struct taken {
    uint32_t *v;
    size_t n, cap;
} taken;

typedef struct scan {
    taken ips, ports;
    taken own_ips, own_ports; /* the updated service's old values: its own, not taken from it */
    const char *skip_uid;     /* the service being updated */
} scan;

static void take(taken *t, uint32_t x)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        uint32_t *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            abort(); /* an allocation that missed a taken value would hand it out twice */
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = x;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int is_taken(const taken *t, uint32_t x)
{
    return bsearch(&x, t->v, t->n, sizeof x, cmp_u32) != NULL;
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

/* The values a spec holds, into ips and ports. */
static void values_of(const json_t *spec, taken *ips, taken *ports)
{
    uint32_t ip;
    size_t i;
    json_t *v;
    if (parse_ip(json_string_value(json_object_get(spec, "clusterIP")), &ip) == 0)
        take(ips, ip);
    json_array_foreach(json_object_get(spec, "clusterIPs"), i, v)
        if (parse_ip(json_string_value(v), &ip) == 0)
            take(ips, ip);
    json_array_foreach(json_object_get(spec, "ports"), i, v) {
        json_int_t np = json_integer_value(json_object_get(v, "nodePort"));
        if (np > 0)
            take(ports, (uint32_t)np);
    }
}

static int scan_one(void *arg, const store_rec *r)
{
    scan *sc = arg;
    json_t *o = jsonio_parse(r->data, r->len, 0, NULL);
    const char *uid = json_string_value(json_object_get(json_object_get(o, "metadata"), "uid"));
    if (o && !(sc->skip_uid && uid && !strcmp(uid, sc->skip_uid)))
        values_of(json_object_get(o, "spec"), &sc->ips, &sc->ports);
    json_decref(o);
    return 0;
}

static void scan_store(store_t *st, scan *sc, const json_t *own_spec, const char *skip_uid)
{
    memset(sc, 0, sizeof *sc);
    sc->skip_uid = skip_uid;
    if (own_spec) {
        values_of(own_spec, &sc->own_ips, &sc->own_ports);
        qsort(sc->own_ips.v, sc->own_ips.n, sizeof(uint32_t), cmp_u32);
        qsort(sc->own_ports.v, sc->own_ports.n, sizeof(uint32_t), cmp_u32);
    }
    store_list(st, "services/", NULL, 0, scan_one, sc);
    for (size_t i = 0; i < n_ring && i < RECENT; i++) {
        const store_rec *r = store_latest(st, ring[i].key);
        if (r && !r->committed)
            take(ring[i].port ? &sc->ports : &sc->ips, ring[i].v);
    }
    qsort(sc->ips.v, sc->ips.n, sizeof *sc->ips.v, cmp_u32);
    qsort(sc->ports.v, sc->ports.n, sizeof *sc->ports.v, cmp_u32);
}

static void scan_free(scan *sc)
{
    free(sc->ips.v);
    free(sc->ports.v);
    free(sc->own_ips.v);
    free(sc->own_ports.v);
}

/* Is a value the request names held by another service (not by the one being updated)? */
static int held(const taken *t, const taken *own, uint32_t x)
{
    return is_taken(t, x) && !is_taken(own, x);
}

/* A free value among base + [0, size), random in [band, size) first, then anywhere; 0 when all
 * are taken. An allocated value is taken at once, for the next pick of the same request. */
static uint32_t pick(taken *t, uint32_t base, uint32_t lo, uint32_t size, uint32_t band)
{
    uint32_t x = 0;
    for (int tries = 0; tries < 64 && !x; tries++) {
        uint32_t c = base + band + rnd() % (size - band);
        if (c >= base + lo && !is_taken(t, c))
            x = c;
    }
    for (uint32_t i = lo; !x && i < size; i++)
        if (!is_taken(t, base + i))
            x = base + i;
    if (x) {
        take(t, x);
        qsort(t->v, t->n, sizeof *t->v, cmp_u32);
    }
    return x;
}

static void remember(const char *key, uint32_t v, int port)
{
    recent *e = &ring[n_ring++ % RECENT];
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
static int alloc_cluster_ip(json_t *spec, scan *sc, fielderrs *fe, uint32_t *got)
{
    const char *cip = cluster_ip_of(spec);
    *got = 0;
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
        if (held(&sc->ips, &sc->own_ips, ip)) {
            fe_add(fe, FE_INVALID, "spec.clusterIPs", list, "failed to allocate IP %s: provided IP is already allocated", text);
            return -1;
        }
        take(&sc->ips, ip);
        qsort(sc->ips.v, sc->ips.n, sizeof *sc->ips.v, cmp_u32);
    } else if (!(ip = pick(&sc->ips, IP_BASE, 1, IP_SIZE - 1, IP_BAND))) {
        fe_add(fe, FE_INVALID, "spec.clusterIPs", "[]string(nil)",
               "failed to allocate a serviceIP: range is full");
        return -1;
    }
    fmt_ip(ip, text);
    json_object_set_new(spec, "clusterIP", json_string(text));
    json_object_set_new(spec, "clusterIPs", json_pack("[s]", text));
    set_default(spec, "ipFamilies", json_pack("[s]", "IPv4"));
    set_default(spec, "ipFamilyPolicy", json_string("SingleStack"));
    *got = ip;
    return 0;
}

/* Node ports for every port of a spec that needs them: a given one checked, a missing one
 * allocated. got/ngot: what was allocated or claimed (for the ring). */
static int alloc_node_ports(json_t *spec, scan *sc, fielderrs *fe, uint32_t *got, size_t *ngot)
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
            if (held(&sc->ports, &sc->own_ports, (uint32_t)np)) {
                fe_add(fe, FE_INVALID, field, val, "provided port is already allocated");
                return -1;
            }
            take(&sc->ports, (uint32_t)np);
            qsort(sc->ports.v, sc->ports.n, sizeof *sc->ports.v, cmp_u32);
        } else if (!(np = pick(&sc->ports, SVC_NODEPORT_MIN, 0, PORT_SIZE, PORT_BAND))) {
            fe_add(fe, FE_INVALID, field, "0", "failed to allocate a nodePort: range is full");
            return -1;
        } else {
            json_object_set_new(p, "nodePort", json_integer(np));
        }
        if (*ngot < 64)
            got[(*ngot)++] = (uint32_t)np;
    }
    return 0;
}

/* The allocations a spec needs that it does not hold yet; remembered only when all succeed. */
static int alloc_all(store_t *st, const char *key, json_t *spec, const json_t *own_spec,
                     const char *own_uid, fielderrs *fe)
{
    scan sc;
    scan_store(st, &sc, own_spec, own_uid);
    uint32_t ip = 0, ports[64];
    size_t nports = 0;
    int rc = 0;
    if (needs_cluster_ip(spec))
        rc = alloc_cluster_ip(spec, &sc, fe, &ip);
    if (rc == 0 && needs_node_ports(spec))
        rc = alloc_node_ports(spec, &sc, fe, ports, &nports);
    if (rc == 0 && external_policy(spec))
        set_default(spec, "externalTrafficPolicy", json_string("Cluster"));
    if (rc == 0 && !strcmp(spec_type(spec), "LoadBalancer"))
        set_default(spec, "allocateLoadBalancerNodePorts", json_true());
    if (rc == 0) {
        if (ip)
            remember(key, ip, 0);
        for (size_t i = 0; i < nports; i++)
            remember(key, ports[i], 1);
    }
    scan_free(&sc);
    return rc;
}

int svcalloc_create(store_t *st, const char *key, json_t *obj, fielderrs *fe)
{
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec))
        return 0;
    return alloc_all(st, key, spec, NULL, NULL, fe);
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

int svcalloc_update(store_t *st, const char *key, const json_t *old, json_t *obj, fielderrs *fe)
{
    const json_t *ospec = json_object_get(old, "spec");
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec))
        return 0;
    const char *uid = json_string_value(json_object_get(json_object_get(old, "metadata"), "uid"));
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
    return alloc_all(st, key, spec, ospec, uid, fe);
}
