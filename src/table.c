/* table — meta.k8s.io/v1 Table answers (see table.h).
 *
 * Printers are data: one entry per plural holds its column definitions and the function that
 * fills one row's cells, in column order. Invariants:
 *   1. A row has exactly as many cells as its printer has columns; a fill function that comes
 *      up short (an allocation failed) makes table_row() return NULL rather than a skewed row.
 *   2. Core kinds render a missing time as "<unknown>" and missing strings as kube does
 *      ("<none>" or ""); CR columns (pytorchjobs, the default printer) render missing values as
 *      null, like the CRD table convertor.
 *   3. Cells are strings except counts kube prints as integers (event Count, the pytorchjob
 *      replica sums). Pod Restarts is a string, as upstream since 1.22: "0", "3 (5s ago)". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "table.h"
#include "quantity.h"
#include "sbuf.h"

/* ---- small helpers ------------------------------------------------------------------------ */

/* Composed cells ("80/TCP,443/TCP", "a=b,c=d") are built in an sbuf capped at SB_MAX. */
#define SB_MAX (1u << 20)

/* The value at a dotted path ("status.podIP"), or NULL. */
static const json_t *jget(const json_t *o, const char *path)
{
    while (o && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        o = json_is_object(o) ? json_object_getn(o, path, n) : NULL;
        path += n + (dot != NULL);
    }
    return o;
}

/* The string at path, or NULL when absent or not a string. */
static const char *jstr(const json_t *o, const char *path)
{
    const json_t *v = jget(o, path);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The string at path when present and non-empty (Go's `!= ""`), else NULL. */
static const char *jnz(const json_t *o, const char *path)
{
    const char *s = jstr(o, path);
    return s && *s ? s : NULL;
}

static json_int_t jint(const json_t *o, const char *path)
{
    const json_t *v = jget(o, path);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* The object at path (a JSON null counts as absent, like a nil pointer), or NULL. */
static const json_t *jobj(const json_t *o, const char *path)
{
    const json_t *v = jget(o, path);
    return json_is_object(v) ? v : NULL;
}

static size_t jlen(const json_t *arr) { return json_is_array(arr) ? json_array_size(arr) : 0; }

static int streq(const char *a, const char *b) { return a && b && !strcmp(a, b); }

/* Cells. A failed append leaves the row short, which table_row() catches (invariant 1). */
static void put_str(json_t *cells, const char *s)
{
    json_array_append_new(cells, json_string(s ? s : ""));
}
static void put_int(json_t *cells, json_int_t v) { json_array_append_new(cells, json_integer(v)); }
static void put_null(json_t *cells) { json_array_append_new(cells, json_null()); }

/* Appends b's text as a cell (none if building it failed) and empties b for the next one. */
static void put_sb(json_t *cells, sbuf *b)
{
    if (!sbuf_error(b))
        json_array_append_new(cells, json_stringn(sbuf_str(b), sbuf_len(b)));
    sbuf_free(b);
}

/* Replace b's text by s. */
static void sb_set(sbuf *b, const char *s)
{
    sbuf_reset(b);
    sbuf_puts(b, s);
}

/* ---- time --------------------------------------------------------------------------------- */

#define NO_TIME INT64_MIN

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* RFC 3339 ("2023-11-14T22:13:20Z", "...20.123456Z", "...20+02:00") → Unix milliseconds.
 * -1 when unparseable or Go's zero time (0001-01-01T00:00:00Z: metav1.Time.IsZero()). */
static int parse_time(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, frac = 0, off = 0;
    if (!s || digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
        digits(&s, 2, &d) || (*s != 'T' && *s != 't'))
        return -1;
    s++;
    if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' ||
        digits(&s, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
        return -1;
    if (*s == '.') {
        int n = 0;
        for (s++; *s >= '0' && *s <= '9'; s++, n++)
            if (n < 3)
                frac = frac * 10 + (*s - '0');
        if (n == 0)
            return -1;
        for (; n < 3; n++)
            frac *= 10;
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s++ == '-' ? -1 : 1, oh, om;
        if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = sign * (oh * 60 + om);
    } else {
        return -1;
    }
    if (*s)
        return -1;
    int64_t t = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi - off) * 60 + sec;
    if (t == -62135596800 && frac == 0)
        return -1;  /* the zero time */
    *ms = t * 1000 + frac;
    return 0;
}

char *table_human_duration(int64_t ms, char *buf, size_t n)
{
    /* Integer division truncates toward zero, as Go's int(d.Seconds()) does. */
    int64_t secs = ms / 1000, mins = ms / 60000, hours = ms / 3600000;
    long long s = secs, m = mins, h = hours;
    if (secs < -1)
        snprintf(buf, n, "<invalid>");
    else if (secs < 0)
        snprintf(buf, n, "0s");
    else if (secs < 60 * 2)
        snprintf(buf, n, "%llds", s);
    else if (mins < 10)
        snprintf(buf, n, s % 60 ? "%lldm%llds" : "%lldm", m, s % 60);
    else if (mins < 60 * 3)
        snprintf(buf, n, "%lldm", m);
    else if (hours < 8)
        snprintf(buf, n, m % 60 ? "%lldh%lldm" : "%lldh", h, m % 60);
    else if (hours < 48)
        snprintf(buf, n, "%lldh", h);
    else if (hours < 24 * 8)
        snprintf(buf, n, h % 24 ? "%lldd%lldh" : "%lldd", h / 24, h % 24);
    else if (hours < 24 * 365 * 2)
        snprintf(buf, n, "%lldd", h / 24);
    else if (hours < 24 * 365 * 8)
        snprintf(buf, n, (h / 24) % 365 ? "%lldy%lldd" : "%lldy", h / 24 / 365, (h / 24) % 365);
    else
        snprintf(buf, n, "%lldy", h / 24 / 365);
    return buf;
}

/* translateTimestampSince: the age of the timestamp at path, or "<unknown>" (NULL when
 * missing_null: the CRD convertor's null cell for a date it cannot parse). */
static void put_age(json_t *cells, const json_t *obj, const char *path, int64_t now,
                    int missing_null)
{
    int64_t t;
    char buf[TABLE_DURATION_MAX];
    if (parse_time(jstr(obj, path), &t) == 0)
        put_str(cells, table_human_duration(now - t, buf, sizeof buf));
    else if (missing_null)
        put_null(cells);
    else
        put_str(cells, "<unknown>");
}

/* ---- column definitions ------------------------------------------------------------------- */

typedef struct column {
    const char *name, *type, *format, *description;
    int priority;
} column;

#define D_NAME                                                                                    \
    "Name must be unique within a namespace. Is required when creating resources, although some " \
    "resources may allow a client to request the generation of an appropriate name "              \
    "automatically. Name is primarily intended for creation idempotence and configuration "       \
    "definition. Cannot be updated. More info: "                                                  \
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
#define D_CREATED                                                                                 \
    "CreationTimestamp is a timestamp representing the server time when this object was "         \
    "created. It is not guaranteed to be set in happens-before order across separate operations. " \
    "Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\n"         \
    "Populated by the system. Read-only. Null for lists. More info: "                             \
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
#define CRD_COL(path) "Custom resource definition column (in JSONPath format): " path

#define NAME_COL {"Name", "string", "name", D_NAME, 0}

static const column pj_cols[] = {
    NAME_COL,
    {"State", "string", "", CRD_COL(".status.conditions[-1:].type"), 0},
    {"Age", "date", "", CRD_COL(".metadata.creationTimestamp"), 0},
};

static const column ns_cols[] = {
    NAME_COL,
    {"Status", "string", "", "The status of the namespace", 0},
    {"Age", "string", "", D_CREATED, 0},
};

#define D_ADDRESSES                                                                                \
    "List of addresses reachable to the node. Queried from cloud provider, if available. More "     \
    "info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is "   \
    "declared as mergeable, but the merge key is not sufficiently unique, which can cause data "    \
    "corruption when it is merged. Callers should instead use a full-replacement patch. See "       \
    "https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change "    \
    "during the lifetime of a Node. However, there are some exceptions where this may not be "      \
    "possible, such as Pods that inherit a Node's address in its own status or consumers of the "   \
    "downward API (status.hostIP)."

/* printers.go configMapColumnDefinitions, secretColumnDefinitions */
static const column cm_cols[] = {
    NAME_COL,
    {"Data", "string", "", "Data contains the configuration data. Each key must consist of alphanumeric characters, "
                           "'-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The "
                           "keys stored in Data must not overlap with the keys in the BinaryData field, this is "
                           "enforced during validation process.", 0},
    {"Age", "string", "", D_CREATED, 0},
};
static const column secret_cols[] = {
    NAME_COL,
    {"Type", "string", "", "Used to facilitate programmatic handling of secret data. More info: "
                           "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types", 0},
    {"Data", "string", "", "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' "
                           "or '.'. The serialized form of the secret data is a base64 encoded string, representing "
                           "the arbitrary (possibly non-string) data value here. Described in "
                           "https://tools.ietf.org/html/rfc4648#section-4", 0},
    {"Age", "string", "", D_CREATED, 0},
};

/* printers.go leaseColumnDefinitions */
static const column lease_cols[] = {
    NAME_COL,
    {"Holder", "string", "", "Name of the Lease holder", 0},
    {"Age", "string", "", D_CREATED, 0},
};

/* printers.go horizontalPodAutoscalerColumnDefinitions */
static const column hpa_cols[] = {
    NAME_COL,
    {"Reference", "string", "", "scaleTargetRef points to the target resource to scale, and is used to the pods for "
                               "which metrics should be collected, as well as to actually change the replica count.", 0},
    {"Targets", "string", "", "metrics contains the specifications for which to use to calculate the desired "
                             "replica count (the maximum replica count across all metrics will be used).", 0},
    {"MinPods", "string", "", "minReplicas is the lower limit for the number of replicas to which the autoscaler "
                             "can scale down.", 0},
    {"MaxPods", "string", "", "maxReplicas is the upper limit for the number of replicas to which the autoscaler "
                             "can scale up.", 0},
    {"Replicas", "string", "", "currentReplicas is current number of replicas of pods managed by this autoscaler, "
                              "as last seen by the autoscaler.", 0},
    {"Age", "string", "", D_CREATED, 0},
};

/* printers.go nodeColumnDefinitions */
static const column node_cols[] = {
    NAME_COL,
    {"Status", "string", "", "The status of the node", 0},
    {"Roles", "string", "", "The roles of the node", 0},
    {"Age", "string", "", D_CREATED, 0},
    {"Version", "string", "", "Kubelet Version reported by the node.", 0},
    {"Internal-IP", "string", "", D_ADDRESSES, 1},
    {"External-IP", "string", "", D_ADDRESSES, 1},
    {"OS-Image", "string", "", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1},
    {"Kernel-Version", "string", "", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1},
    {"Container-Runtime", "string", "",
     "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1},
};

static const column pod_cols[] = {
    NAME_COL,
    {"Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0},
    {"Status", "string", "", "The aggregate status of the containers in this pod.", 0},
    {"Restarts", "string", "",
     "The number of times the containers in this pod have been restarted and when the last "
     "container in this pod has restarted.", 0},
    {"Age", "string", "", D_CREATED, 0},
    {"IP", "string", "",
     "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet "
     "allocated.", 1},
    {"Node", "string", "",
     "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate "
     "for scheduling by the scheduler defined in schedulerName.", 1},
    {"Nominated Node", "string", "",
     "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot "
     "be scheduled right away as preemption victims receive their graceful termination "
     "periods.", 1},
    {"Readiness Gates", "string", "",
     "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when "
     "all its containers are ready AND all conditions specified in the readiness gates have "
     "status equal to \"True\".", 1},
};

static const column svc_cols[] = {
    NAME_COL,
    {"Type", "string", "",
     "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are "
     "ExternalName, ClusterIP, NodePort, and LoadBalancer.", 0},
    {"Cluster-IP", "string", "",
     "clusterIP is the IP address of the service and is usually assigned randomly.", 0},
    {"External-IP", "string", "",
     "externalIPs is a list of IP addresses for which nodes in the cluster will also accept "
     "traffic for this service.", 0},
    {"Port(s)", "string", "", "The list of ports that are exposed by this service.", 0},
    {"Age", "string", "", D_CREATED, 0},
    {"Selector", "string", "",
     "Route service traffic to pods with label keys and values matching this selector. If empty "
     "or not present, the service is assumed to have an external process managing its endpoints, "
     "which Kubernetes will not modify.", 1},
};

static const column ev_cols[] = {
    {"Last Seen", "string", "",
     "The time at which the most recent occurrence of this event was recorded.", 0},
    {"Type", "string", "", "Type of this event (Normal, Warning), new types could be added in the "
                           "future", 0},
    {"Reason", "string", "",
     "This should be a short, machine understandable string that gives the reason for the "
     "transition into the object's current status.", 0},
    {"Object", "string", "", "The object that this event is about.", 0},
    {"Subobject", "string", "",
     "If referring to a piece of an object instead of an entire object, this string should "
     "contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].",
     1},
    {"Source", "string", "",
     "The component reporting this event. Should be a short machine understandable string.", 1},
    {"Message", "string", "", "A human-readable description of the status of this operation.", 0},
    {"First Seen", "string", "",
     "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", 1},
    {"Count", "string", "", "The number of times this event has occurred.", 1},
    {"Name", "string", "name", D_NAME, 1},
};

static const column default_cols[] = {
    NAME_COL,
    {"Age", "date", "", CRD_COL(".metadata.creationTimestamp"), 0},
};

/* ---- rows --------------------------------------------------------------------------------- */

static void put_name(json_t *cells, const json_t *o) { put_str(cells, jstr(o, "metadata.name")); }

static void pj_cells(const json_t *o, int64_t now, json_t *cells, json_t *row)
{
    put_name(cells, o);
    /* .status.conditions[-1:].type: null when there are no conditions. */
    const json_t *conds = jget(o, "status.conditions");
    size_t n = jlen(conds);
    const char *state = n ? jstr(json_array_get(conds, n - 1), "type") : NULL;
    if (state)
        put_str(cells, state);
    else
        put_null(cells);
    put_age(cells, o, "metadata.creationTimestamp", now, 1);
}

static void ns_cells(const json_t *o, int64_t now, json_t *cells, json_t *row)
{
    put_name(cells, o);
    put_str(cells, jstr(o, "status.phase"));
    put_age(cells, o, "metadata.creationTimestamp", now, 0);
}

static void cm_cells(const json_t *o, int64_t now, json_t *cells, json_t *row)
{
    (void)row;
    put_name(cells, o);
    put_int(cells, (json_int_t)(json_object_size(jget(o, "data")) + json_object_size(jget(o, "binaryData"))));
    put_age(cells, o, "metadata.creationTimestamp", now, 0);
}

static void secret_cells(const json_t *o, int64_t now, json_t *cells, json_t *row)
{
    (void)row;
    put_name(cells, o);
    put_str(cells, jstr(o, "type") ? jstr(o, "type") : "");
    put_int(cells, (json_int_t)json_object_size(jget(o, "data")));
    put_age(cells, o, "metadata.creationTimestamp", now, 0);
}

static void lease_cells(const json_t *o, int64_t now, json_t *cells, json_t *row)
{
    (void)row;
    put_name(cells, o);
    put_str(cells, jstr(o, "spec.holderIdentity") ? jstr(o, "spec.holderIdentity") : "");
    put_age(cells, o, "metadata.creationTimestamp", now, 0);
}

/* A quantity as kubectl's String() prints it: as written, here. */
static const char *qstr(const json_t *q, char *buf, size_t cap)
{
    const char *t = quantity_text(q, buf, cap);
    return t ? t : "<unknown>";
}

/* printers.go formatHPAMetrics: "<current>/<target>" per metric, the first two, then "+ N more...". */
static void hpa_targets(const json_t *o, sbuf *out)
{
    const json_t *specs = jget(o, "spec.metrics"), *stats = jget(o, "status.currentMetrics");
    if (json_array_size(specs) == 0) {
        sbuf_printf(out, "<none>");
        return;
    }
    size_t i, count = 0;
    const json_t *m;
    json_array_foreach(specs, i, m) {
        char cur[64] = "<unknown>", b1[64], b2[64];
        const char *type = jstr(m, "type") ? jstr(m, "type") : "";
        const json_t *st = json_array_get(stats, i);
        if (count < 2)
            sbuf_printf(out, "%s", count ? ", " : "");
        if (!strcmp(type, "Resource") || !strcmp(type, "ContainerResource")) {
            const char *f = !strcmp(type, "Resource") ? "resource" : "containerResource";
            const json_t *src = json_object_get(m, f), *t = json_object_get(src, "target");
            const json_t *sc = json_object_get(json_object_get(st, f), "current");
            const char *rname = jstr(src, "name") ? jstr(src, "name") : "";
            char head[200];
            if (!strcmp(type, "Resource"))
                snprintf(head, sizeof head, "%.100s", rname);
            else
                snprintf(head, sizeof head, "%.100s/%.90s", rname, jstr(src, "container") ? jstr(src, "container") : "");
            if (json_object_get(t, "averageValue")) {
                if (json_object_get(sc, "averageValue"))
                    snprintf(cur, sizeof cur, "%s", qstr(json_object_get(sc, "averageValue"), b1, sizeof b1));
                if (count < 2)
                    sbuf_printf(out, "%s: %s/%s", head, cur, qstr(json_object_get(t, "averageValue"), b2, sizeof b2));
            } else {
                if (json_is_integer(json_object_get(sc, "averageUtilization")))
                    snprintf(cur, sizeof cur, "%lld%%", (long long)json_integer_value(json_object_get(sc, "averageUtilization")));
                char tgt[32] = "<auto>";
                if (json_is_integer(json_object_get(t, "averageUtilization")))
                    snprintf(tgt, sizeof tgt, "%lld%%", (long long)json_integer_value(json_object_get(t, "averageUtilization")));
                if (count < 2)
                    sbuf_printf(out, "%s: %s/%s", head, cur, tgt);
            }
        } else if (!strcmp(type, "Pods") || !strcmp(type, "Object") || !strcmp(type, "External")) {
            const char *f = !strcmp(type, "Pods") ? "pods" : !strcmp(type, "Object") ? "object" : "external";
            const json_t *t = json_object_get(json_object_get(m, f), "target");
            const json_t *sc = json_object_get(json_object_get(st, f), "current");
            int avg = json_object_get(t, "averageValue") != NULL;
            const char *k = avg ? "averageValue" : "value";
            if (json_object_get(sc, k))
                snprintf(cur, sizeof cur, "%s", qstr(json_object_get(sc, k), b1, sizeof b1));
            if (count < 2)
                sbuf_printf(out, "%s/%s%s", cur, qstr(json_object_get(t, k), b2, sizeof b2),
                            avg && strcmp(type, "Pods") ? " (avg)" : "");
        } else if (count < 2) {
            sbuf_printf(out, "<unknown type>");
        }
        count++;
    }
    if (count > 2)
        sbuf_printf(out, " + %zu more...", count - 2);
}

/* printHorizontalPodAutoscaler */
static void hpa_cells(const json_t *o, int64_t now, json_t *cells, json_t *row)
{
    (void)row;
    put_name(cells, o);
    sbuf b = SBUF_INIT(SB_MAX);
    sbuf_printf(&b, "%s/%s", jstr(o, "spec.scaleTargetRef.kind") ? jstr(o, "spec.scaleTargetRef.kind") : "",
                jstr(o, "spec.scaleTargetRef.name") ? jstr(o, "spec.scaleTargetRef.name") : "");
    put_str(cells, sbuf_str(&b));
    sbuf_free(&b);
    sbuf t = SBUF_INIT(SB_MAX);
    hpa_targets(o, &t);
    put_str(cells, sbuf_str(&t));
    sbuf_free(&t);
    const json_t *min = jget(o, "spec.minReplicas");
    char mb[32] = "<unset>";
    if (json_is_integer(min))
        snprintf(mb, sizeof mb, "%lld", (long long)json_integer_value(min));
    put_str(cells, mb);
    put_int(cells, json_integer_value(jget(o, "spec.maxReplicas")));
    put_int(cells, json_integer_value(jget(o, "status.currentReplicas")));
    put_age(cells, o, "metadata.creationTimestamp", now, 0);
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* printNode: Ready or NotReady (Unknown without the condition), SchedulingDisabled when
 * cordoned; the roles from node-role.kubernetes.io/<role> and kubernetes.io/role labels. */
static void node_cells(const json_t *o, int64_t now, json_t *cells, json_t *row)
{
    (void)row;
    put_name(cells, o);
    sbuf st = SBUF_INIT(SB_MAX);
    size_t i;
    const json_t *c;
    json_array_foreach(jget(o, "status.conditions"), i, c)
        if (streq(jstr(c, "type"), "Ready"))
            sbuf_printf(&st, "%s", streq(jstr(c, "status"), "True") ? "Ready" : "NotReady");
    if (!sbuf_len(&st))
        sbuf_printf(&st, "Unknown");
    if (json_is_true(jget(o, "spec.unschedulable")))
        sbuf_printf(&st, ",SchedulingDisabled");
    put_sb(cells, &st);
    /* findNodeRoles: a sorted set */
    const char *roles[64];
    size_t nr = 0;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)jget(o, "metadata.labels"), k, v) {
        const char *r = NULL;
        if (!strncmp(k, "node-role.kubernetes.io/", 24) && k[24])
            r = k + 24;
        else if (streq(k, "kubernetes.io/role") && json_string_value(v) && *json_string_value(v))
            r = json_string_value(v);
        int dup = 0;
        for (size_t j = 0; r && j < nr; j++)
            dup |= streq(roles[j], r);
        if (r && !dup && nr < 64)
            roles[nr++] = r;
    }
    qsort(roles, nr, sizeof *roles, cmp_cstr);
    sbuf rs = SBUF_INIT(SB_MAX);
    for (size_t j = 0; j < nr; j++)
        sbuf_printf(&rs, "%s%s", j ? "," : "", roles[j]);
    if (!nr)
        sbuf_printf(&rs, "<none>");
    put_sb(cells, &rs);
    put_age(cells, o, "metadata.creationTimestamp", now, 0);
    put_str(cells, jstr(o, "status.nodeInfo.kubeletVersion") ? jstr(o, "status.nodeInfo.kubeletVersion") : "");
    const char *addr[2] = {"<none>", "<none>"};
    json_array_foreach(jget(o, "status.addresses"), i, c) {
        if (streq(jstr(c, "type"), "InternalIP") && streq(addr[0], "<none>") && jstr(c, "address"))
            addr[0] = jstr(c, "address");
        if (streq(jstr(c, "type"), "ExternalIP") && streq(addr[1], "<none>") && jstr(c, "address"))
            addr[1] = jstr(c, "address");
    }
    put_str(cells, addr[0]);
    put_str(cells, addr[1]);
    static const char *const info[] = {"status.nodeInfo.osImage", "status.nodeInfo.kernelVersion",
                                       "status.nodeInfo.containerRuntimeVersion"};
    for (size_t j = 0; j < 3; j++)
        put_str(cells, jnz(o, info[j]) ? jnz(o, info[j]) : "<unknown>");
}

static void default_cells(const json_t *o, int64_t now, json_t *cells, json_t *row)
{
    put_name(cells, o);
    put_age(cells, o, "metadata.creationTimestamp", now, 1);
}

/* -- pods: printPod() of pkg/printers/internalversion -- */

/* The entry of arr whose "name" is name, or NULL. */
static const json_t *by_name(const json_t *arr, const char *name)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
        if (streq(jstr(v, "name"), name))
            return v;
    return NULL;
}

/* status.conditions has {type: T, status: "True"} (the first entry of type T decides). */
static int cond_true(const json_t *conds, const char *type)
{
    size_t i;
    const json_t *c;
    json_array_foreach(conds, i, c)
        if (streq(jstr(c, "type"), type))
            return streq(jstr(c, "status"), "True");
    return 0;
}

/* A sidecar: an init container with restartPolicy Always. */
static int restartable_init(const json_t *init_specs, const char *name)
{
    return streq(jstr(by_name(init_specs, name), "restartPolicy"), "Always");
}

/* lastState.terminated.finishedAt of a container status, or NO_TIME. */
static int64_t last_finished(const json_t *cs)
{
    int64_t t;
    return parse_time(jstr(cs, "lastState.terminated.finishedAt"), &t) == 0 ? t : NO_TIME;
}

/* "Signal:9" / "ExitCode:1" for a terminated state without a reason. */
static void exit_reason(sbuf *reason, const char *prefix, const json_t *term)
{
    json_int_t sig = jint(term, "signal");
    sb_set(reason, prefix);
    if (sig)
        sbuf_printf(reason, "Signal:%lld", (long long)sig);
    else
        sbuf_printf(reason, "ExitCode:%lld", (long long)jint(term, "exitCode"));
}

static void pod_row_conditions(json_t *row, const char *phase)
{
    const char *msg = streq(phase, "Succeeded") ? "The pod has completed successfully." :
                      streq(phase, "Failed") ? "The pod failed." : NULL;
    if (msg)
        json_object_set_new(row, "conditions", json_pack("[{s:s,s:s,s:s,s:s}]", "type", "Completed",
                                                         "status", "True", "reason", phase,
                                                         "message", msg));
}

static void pod_cells(const json_t *o, int64_t now, json_t *cells, json_t *row)
{
    const json_t *spec = jobj(o, "spec"), *st = jobj(o, "status");
    const json_t *init_specs = jget(spec, "initContainers"), *conds = jget(st, "conditions");
    const char *phase = jstr(st, "phase");
    size_t total = jlen(jget(spec, "containers")), ready = 0;
    json_int_t restarts = 0, sidecar_restarts = 0;
    int64_t last = NO_TIME, sidecar_last = NO_TIME;
    sbuf reason = SBUF_INIT(SB_MAX);
    size_t i;
    const json_t *cs;

    sb_set(&reason, jnz(st, "reason") ? jnz(st, "reason") : phase ? phase : "");
    json_array_foreach(conds, i, cs)
        if (streq(jstr(cs, "type"), "PodScheduled") && streq(jstr(cs, "reason"), "SchedulingGated"))
            sb_set(&reason, "SchedulingGated");
    pod_row_conditions(row, phase);
    json_array_foreach(init_specs, i, cs)
        total += streq(jstr(cs, "restartPolicy"), "Always");

    /* Init containers: the first one not done decides the status ("Init:0/1", "Init:Error"). */
    int initializing = 0;
    json_array_foreach(jget(st, "initContainerStatuses"), i, cs) {
        json_int_t rc = jint(cs, "restartCount");
        int64_t fin = last_finished(cs);
        int sidecar = restartable_init(init_specs, jstr(cs, "name"));
        restarts += rc;
        if (fin > last)
            last = fin;
        if (sidecar) {
            sidecar_restarts += rc;
            if (fin > sidecar_last)
                sidecar_last = fin;
        }
        const json_t *term = jobj(cs, "state.terminated");
        const char *waiting = jnz(cs, "state.waiting.reason");
        if (term && jint(term, "exitCode") == 0)
            continue;
        if (sidecar && json_is_true(json_object_get(cs, "started"))) {
            ready += json_is_true(json_object_get(cs, "ready"));
            continue;
        }
        if (term && jnz(term, "reason")) {
            sb_set(&reason, "Init:");
            sbuf_puts(&reason, jnz(term, "reason"));
        } else if (term) {
            exit_reason(&reason, "Init:", term);
        } else if (waiting && strcmp(waiting, "PodInitializing")) {
            sb_set(&reason, "Init:");
            sbuf_puts(&reason, waiting);
        } else {
            sb_set(&reason, "");
            sbuf_printf(&reason, "Init:%zu/%zu", i, jlen(init_specs));
        }
        initializing = 1;
        break;
    }

    /* Containers, last to first: a waiting or terminated one names the status. */
    if (!initializing || cond_true(conds, "Initialized")) {
        const json_t *stats = jget(st, "containerStatuses");
        int running = 0;
        restarts = sidecar_restarts;
        last = sidecar_last;
        for (size_t k = jlen(stats); k-- > 0;) {
            cs = json_array_get(stats, k);
            int64_t fin = last_finished(cs);
            restarts += jint(cs, "restartCount");
            if (fin > last)
                last = fin;
            const json_t *term = jobj(cs, "state.terminated");
            if (jnz(cs, "state.waiting.reason")) {
                sb_set(&reason, jnz(cs, "state.waiting.reason"));
            } else if (term && jnz(term, "reason")) {
                sb_set(&reason, jnz(term, "reason"));
            } else if (term) {
                exit_reason(&reason, "", term);
            } else if (json_is_true(json_object_get(cs, "ready")) && jobj(cs, "state.running")) {
                running = 1;
                ready++;
            }
        }
        /* A pod whose last container completed but another still runs is not "Completed". */
        if (!strcmp(sbuf_str(&reason), "Completed") && running)
            sb_set(&reason, cond_true(conds, "Ready") ? "Running" : "NotReady");
    }

    const json_t *deleted = jget(o, "metadata.deletionTimestamp");
    if (deleted && !json_is_null(deleted)) {
        if (streq(jstr(st, "reason"), "NodeLost"))
            sb_set(&reason, "Unknown");
        else if (!streq(phase, "Succeeded") && !streq(phase, "Failed"))
            sb_set(&reason, "Terminating");
    }

    sbuf b = SBUF_INIT(SB_MAX);
    put_name(cells, o);
    sbuf_printf(&b, "%zu/%zu", ready, total);
    put_sb(cells, &b);
    put_sb(cells, &reason);
    sbuf_printf(&b, "%lld", (long long)restarts);
    if (restarts != 0 && last != NO_TIME) {
        char age[TABLE_DURATION_MAX];
        sbuf_printf(&b, " (%s ago)", table_human_duration(now - last, age, sizeof age));
    }
    put_sb(cells, &b);
    put_age(cells, o, "metadata.creationTimestamp", now, 0);

    /* The priority-1 columns. */
    const char *ip = jnz(json_array_get(jget(st, "podIPs"), 0), "ip");
    if (!ip)
        ip = jnz(st, "podIP");  /* a pod stored without podIPs */
    put_str(cells, ip ? ip : "<none>");
    put_str(cells, jnz(spec, "nodeName") ? jnz(spec, "nodeName") : "<none>");
    put_str(cells, jnz(st, "nominatedNodeName") ? jnz(st, "nominatedNodeName") : "<none>");
    const json_t *gates = jget(spec, "readinessGates");
    if (jlen(gates)) {
        size_t ok = 0;
        json_array_foreach(gates, i, cs)
            ok += cond_true(conds, jstr(cs, "conditionType"));
        sbuf_printf(&b, "%zu/%zu", ok, jlen(gates));
        put_sb(cells, &b);
    } else {
        put_str(cells, "<none>");
    }
}

/* -- services: printService() -- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The strings of a JSON array joined with ",". */
static void join_strings(sbuf *b, const json_t *arr)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v))
            continue;
        if (sbuf_len(b))
            sbuf_puts(b, ",");
        sbuf_puts(b, json_string_value(v));
    }
}

/* loadBalancerStatusStringer: the sorted, de-duplicated ingress IPs (else hostnames). -1 when
 * out of memory. */
static int lb_ingress(sbuf *b, const json_t *ingress)
{
    size_t n = 0, i;
    const json_t *v;
    const char **all = calloc(jlen(ingress) + 1, sizeof *all);
    if (!all)
        return -1;
    json_array_foreach(ingress, i, v) {
        const char *s = jnz(v, "ip") ? jnz(v, "ip") : jnz(v, "hostname");
        if (s)
            all[n++] = s;
    }
    qsort(all, n, sizeof *all, cmp_str);
    for (i = 0; i < n; i++) {
        if (i && !strcmp(all[i], all[i - 1]))
            continue;
        if (sbuf_len(b))
            sbuf_puts(b, ",");
        sbuf_puts(b, all[i]);
    }
    free(all);
    return 0;
}

static void svc_external_ip(json_t *cells, const json_t *spec, const json_t *st, const char *type)
{
    const json_t *ext = jget(spec, "externalIPs");
    sbuf b = SBUF_INIT(SB_MAX);
    if (!strcmp(type, "ClusterIP") || !strcmp(type, "NodePort")) {
        join_strings(&b, ext);
        if (!sbuf_len(&b))
            sbuf_puts(&b, "<none>");
    } else if (!strcmp(type, "LoadBalancer")) {
        if (lb_ingress(&b, jget(st, "loadBalancer.ingress"))) {
            sbuf_free(&b);
            return; /* the row comes up short (invariant 1) */
        }
        join_strings(&b, ext);
        if (!sbuf_len(&b))
            sbuf_puts(&b, "<pending>");
    } else if (!strcmp(type, "ExternalName")) {
        sbuf_puts(&b, jstr(spec, "externalName") ? jstr(spec, "externalName") : "");
    } else {
        sbuf_puts(&b, "<unknown>");
    }
    put_sb(cells, &b);
}

/* labels.FormatLabels: "k=v,k=v" sorted by key, or "<none>". */
static void put_labels(json_t *cells, const json_t *map)
{
    size_t n = 0, i;
    const char *key;
    const json_t *v;
    sbuf b = SBUF_INIT(SB_MAX);
    const char **keys = calloc(json_is_object(map) ? json_object_size(map) + 1 : 1, sizeof *keys);
    if (!keys)
        return;  /* the short row is caught by table_row() */
    json_object_foreach((json_t *)map, key, v)
        if (json_is_string(v))
            keys[n++] = key;
    qsort(keys, n, sizeof *keys, cmp_str);
    for (i = 0; i < n; i++) {
        if (i)
            sbuf_puts(&b, ",");
        sbuf_puts(&b, keys[i]);
        sbuf_puts(&b, "=");
        sbuf_puts(&b, json_string_value(json_object_get(map, keys[i])));
    }
    if (!n)
        sbuf_puts(&b, "<none>");
    free(keys);
    put_sb(cells, &b);
}

static void svc_cells(const json_t *o, int64_t now, json_t *cells, json_t *row)
{
    const json_t *spec = jobj(o, "spec"), *st = jobj(o, "status");
    /* The apiserver defaults type and clusterIPs; a stored object may lack them. */
    const char *type = jnz(spec, "type") ? jnz(spec, "type") : "ClusterIP";
    const char *cip = json_string_value(json_array_get(jget(spec, "clusterIPs"), 0));
    if (!cip || !*cip)
        cip = jnz(spec, "clusterIP");

    put_name(cells, o);
    put_str(cells, type);
    put_str(cells, cip ? cip : "<none>");
    svc_external_ip(cells, spec, st, type);

    sbuf b = SBUF_INIT(SB_MAX);
    size_t i;
    const json_t *p;
    json_array_foreach(jget(spec, "ports"), i, p) {
        const char *proto = jnz(p, "protocol") ? jnz(p, "protocol") : "TCP";
        if (i)
            sbuf_puts(&b, ",");
        if (jint(p, "nodePort") > 0)
            sbuf_printf(&b, "%lld:%lld/", (long long)jint(p, "port"), (long long)jint(p, "nodePort"));
        else
            sbuf_printf(&b, "%lld/", (long long)jint(p, "port"));
        sbuf_puts(&b, proto);
    }
    if (!sbuf_len(&b))
        sbuf_puts(&b, "<none>");
    put_sb(cells, &b);
    put_age(cells, o, "metadata.creationTimestamp", now, 0);
    put_labels(cells, jget(spec, "selector"));
}

/* -- events: printEvent() -- */

static int has_time(const json_t *o, const char *path)
{
    int64_t t;
    return parse_time(jstr(o, path), &t) == 0;
}

static void ev_cells(const json_t *o, int64_t now, json_t *cells, json_t *row)
{
    const char *first = has_time(o, "firstTimestamp") ? "firstTimestamp" : "eventTime";
    const char *last = has_time(o, "lastTimestamp") ? "lastTimestamp" : first;
    const json_t *series = jobj(o, "series");
    json_int_t count = jint(o, "count");
    if (series) {
        count = jint(series, "count");
    } else if (count == 0) {
        count = 1;  /* singleton events of the new API carry no count */
    }

    if (series)
        put_age(cells, series, "lastObservedTime", now, 0);
    else
        put_age(cells, o, last, now, 0);
    put_str(cells, jstr(o, "type"));
    put_str(cells, jstr(o, "reason"));

    sbuf b = SBUF_INIT(SB_MAX);
    const char *kind = jstr(o, "involvedObject.kind"), *name = jnz(o, "involvedObject.name");
    for (const char *k = kind ? kind : ""; *k; k++) {
        char c = *k >= 'A' && *k <= 'Z' ? (char)(*k - 'A' + 'a') : *k;
        sbuf_putc(&b, c);
    }
    if (name) {
        sbuf_puts(&b, "/");
        sbuf_puts(&b, name);
    }
    put_sb(cells, &b);
    put_str(cells, jstr(o, "involvedObject.fieldPath"));

    /* formatEventSource: component (or reportingComponent), then ", host" (or instance). */
    const char *comp = jnz(o, "source.component") ? jnz(o, "source.component")
                                                  : jstr(o, "reportingComponent");
    const char *host = jnz(o, "source.host") ? jnz(o, "source.host") : jnz(o, "reportingInstance");
    sbuf_puts(&b, comp ? comp : "");
    if (host) {
        sbuf_puts(&b, ", ");
        sbuf_puts(&b, host);
    }
    put_sb(cells, &b);

    /* strings.TrimSpace (ASCII whitespace). */
    const char *msg = jstr(o, "message") ? jstr(o, "message") : "";
    const char *ws = " \t\n\v\f\r";
    size_t n;
    msg += strspn(msg, ws);
    for (n = strlen(msg); n && strchr(ws, msg[n - 1]); n--)
        ;
    sbuf_add(&b, msg, n);
    put_sb(cells, &b);

    put_age(cells, o, first, now, 0);
    put_int(cells, count);
    put_name(cells, o);
}

/* ---- the printer table -------------------------------------------------------------------- */

typedef void (*fill_fn)(const json_t *obj, int64_t now_ms, json_t *cells, json_t *row);

typedef struct printer {
    const char *plural;  /* NULL: the default */
    const column *cols;
    size_t ncols;
    fill_fn fill;
} printer;

#define COLS(a) a, sizeof a / sizeof a[0]
static const printer printers[] = {
    {"pytorchjobs", COLS(pj_cols), pj_cells},
    {"namespaces", COLS(ns_cols), ns_cells},
    {"nodes", COLS(node_cols), node_cells},
    {"leases", COLS(lease_cols), lease_cells},
    {"horizontalpodautoscalers", COLS(hpa_cols), hpa_cells},
    {"configmaps", COLS(cm_cols), cm_cells},
    {"secrets", COLS(secret_cols), secret_cells},
    {"pods", COLS(pod_cols), pod_cells},
    {"services", COLS(svc_cols), svc_cells},
    {"events", COLS(ev_cols), ev_cells},
    {NULL, COLS(default_cols), default_cells},
};

static const printer *printer_for(const char *plural)
{
    const printer *p = printers;
    while (p->plural && !streq(p->plural, plural))
        p++;
    return p;
}

json_t *table_columns(const char *plural)
{
    const printer *p = printer_for(plural);
    json_t *cols = json_array();
    for (size_t i = 0; cols && i < p->ncols; i++) {
        const column *c = &p->cols[i];
        if (json_array_append_new(cols, json_pack("{s:s,s:s,s:s,s:s,s:i}", "name", c->name,
                                                  "type", c->type, "format", c->format,
                                                  "description", c->description,
                                                  "priority", c->priority))) {
            json_decref(cols);
            return NULL;
        }
    }
    return cols;
}

int table_include_parse(const char *s, table_include *out)
{
    if (!s || !*s || !strcmp(s, "Metadata"))
        *out = TABLE_INCLUDE_METADATA;
    else if (!strcmp(s, "Object"))
        *out = TABLE_INCLUDE_OBJECT;
    else if (!strcmp(s, "None"))
        *out = TABLE_INCLUDE_NONE;
    else
        return -1;
    return 0;
}

/* PartialObjectMetadata: the object's metadata without managedFields (which no Table reader
 * uses; the apiserver keeps them). */
static json_t *partial_metadata(const json_t *obj)
{
    const json_t *m = jobj(obj, "metadata");
    json_t *meta = m ? json_deep_copy(m) : json_object();
    if (!meta)
        return NULL;
    json_object_del(meta, "managedFields");
    return json_pack("{s:s,s:s,s:o}", "kind", "PartialObjectMetadata", "apiVersion",
                     "meta.k8s.io/v1", "metadata", meta);
}

json_t *table_row(const char *plural, const json_t *obj, table_include inc, time_t now)
{
    const printer *p = printer_for(plural);
    if (!json_is_object(obj))
        return NULL;
    json_t *row = json_object(), *cells = json_array();
    if (!row || !cells || json_object_set(row, "cells", cells))
        goto fail;
    p->fill(obj, (int64_t)now * 1000, cells, row);
    if (json_array_size(cells) != p->ncols)
        goto fail;  /* invariant 1 */
    if (inc != TABLE_INCLUDE_NONE) {
        json_t *o = inc == TABLE_INCLUDE_OBJECT ? json_deep_copy(obj) : partial_metadata(obj);
        if (json_object_set_new(row, "object", o))
            goto fail;
    }
    json_decref(cells);
    return row;
fail:
    json_decref(cells);
    json_decref(row);
    return NULL;
}

json_t *table_new(const char *plural, json_t *rows, const char *resource_version, const char *cont,
                  int with_columns)
{
    json_t *t = json_object(), *meta = json_object();
    int err = !t || !meta;
    err |= json_object_set_new(t, "kind", json_string("Table"));
    err |= json_object_set_new(t, "apiVersion", json_string("meta.k8s.io/v1"));
    if (resource_version && *resource_version)
        err |= json_object_set_new(meta, "resourceVersion", json_string(resource_version));
    if (cont && *cont)
        err |= json_object_set_new(meta, "continue", json_string(cont));
    err |= json_object_set_new(t, "metadata", meta);
    err |= json_object_set_new(t, "columnDefinitions",
                               with_columns ? table_columns(plural) : json_array());
    err |= json_object_set_new(t, "rows", rows ? rows : json_array());
    if (err) {  /* json_object_set_new() released what it could not attach */
        json_decref(t);
        return NULL;
    }
    return t;
}

/* ---- Accept negotiation ------------------------------------------------------------------- */

/* [s, s+n) with blanks trimmed both ends equals lit (case-insensitively when ci). */
static int tok_eq(const char *s, size_t n, const char *lit, int ci)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
        s++, n -= 2;
    return strlen(lit) == n && !(ci ? strncasecmp(s, lit, n) : strncmp(s, lit, n));
}

/* One media range [s, s+n): 1 = a Table we serve, 0 = plain JSON, -1 = something we cannot
 * serve; *q = its quality (1 unless given). */
static int media_range(const char *s, size_t n, double *q)
{
    const char *end = s + n, *semi = memchr(s, ';', n);
    const char *tend = semi ? semi : end;
    int json = tok_eq(s, (size_t)(tend - s), "application/json", 1);
    int any = json || tok_eq(s, (size_t)(tend - s), "application/*", 1) ||
              tok_eq(s, (size_t)(tend - s), "*/*", 1);
    int has_as = 0, table = 0, g = 0, v = 0;
    *q = 1;
    for (const char *p = semi; p && p < end;) {
        p++;
        const char *pend = memchr(p, ';', (size_t)(end - p));
        if (!pend)
            pend = end;
        const char *eq = memchr(p, '=', (size_t)(pend - p));
        if (eq) {
            size_t kl = (size_t)(eq - p), vl = (size_t)(pend - eq - 1);
            if (tok_eq(p, kl, "as", 1)) {
                has_as = 1;
                table = tok_eq(eq + 1, vl, "Table", 0);
            } else if (tok_eq(p, kl, "g", 1)) {
                g = tok_eq(eq + 1, vl, "meta.k8s.io", 0);
            } else if (tok_eq(p, kl, "v", 1)) {
                v = tok_eq(eq + 1, vl, "v1", 0) || tok_eq(eq + 1, vl, "v1beta1", 0);
            } else if (tok_eq(p, kl, "q", 1)) {
                char buf[16];
                snprintf(buf, sizeof buf, "%.*s", (int)(vl < 15 ? vl : 15), eq + 1);
                *q = strtod(buf, NULL);
            }
        }
        p = pend;
    }
    if (has_as)
        return json && table && g && v ? 1 : -1;
    return any ? 0 : -1;
}

int table_wanted(const char *accept)
{
    int best = 0, found = 0;
    double best_q = 0;
    for (const char *p = accept; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        double q;
        int kind = media_range(p, n, &q);
        if (kind >= 0 && q > 0 && (!found || q > best_q)) {
            best = kind;
            best_q = q;
            found = 1;
        }
        p += n + (comma != NULL);
    }
    return found && best == 1;
}
