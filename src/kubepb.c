/* kubepb — protobuf request bodies into JSON (see kubepb.h).
 *
 * Table-driven: each message is a static table of {field number, JSON name, type, flags} taken
 * from k8s.io/api/core/v1/generated.proto and k8s.io/apimachinery's meta/v1, intstr and runtime
 * generated.proto; the Go json tags decide the flags. The gogo-generated marshallers kubectl uses
 * write every non-pointer field, zero or not, so the decoder drops what `omitempty` would drop
 * (F_OMIT) and keeps every other field that is on the wire (pointers, `json:"port"`-style
 * fields, structs).
 *
 * Protobuf merge rules, as gogo's Unmarshal: a scalar seen twice keeps the last value, an
 * embedded message seen twice is merged into the first, repeated fields and map entries append.
 *
 * Invariants:
 *   1. No read past `end`: every varint, fixed-width skip and length is checked against the
 *      bytes left before it is used (a length is compared as uint64 before any pointer sum).
 *   2. Nesting is at most MAX_DEPTH messages deep whatever the tables say.
 *   3. On error nothing leaks: values are attached to their parent as soon as they are made,
 *      and the caller frees the root. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kubepb.h"
#include "base64.h"

#define MAX_DEPTH 16
#define ERR_CAP 192

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_FIXED32 = 5 };

typedef enum {
    T_STRING,   /* string */
    T_INT32,    /* int32 (varint, low 32 bits) */
    T_INT64,    /* int64 */
    T_BOOL,     /* bool */
    T_MSG,      /* embedded message: a JSON object */
    T_MAP,      /* map<string, string>: repeated {1 key, 2 value} */
    T_BMAP,     /* map<string, bytes>: the values base64, as Go's JSON writes []byte */
    T_INTSTR,   /* intstr.IntOrString {1 type, 2 intVal, 3 strVal}: a number or a string */
    T_TIME,     /* meta/v1 Time {1 seconds, 2 nanos}: RFC 3339, whole seconds, UTC */
} ftype;

enum {
    F_OMIT = 1,     /* json:",omitempty" on a scalar, slice or map: zero values left out */
    F_REPEATED = 2, /* a JSON array of the values */
};

typedef struct pbmsg pbmsg;
typedef struct pbfield {
    unsigned num;
    const char *json;
    unsigned char type;  /* ftype */
    unsigned char flags; /* F_* */
    const pbmsg *msg;    /* T_MSG */
} pbfield;

struct pbmsg {
    const char *name; /* Go type, for error messages */
    const pbfield *f;
    size_t n;
};

#define MSG(var, goname, ...)                                                                   \
    static const pbfield var##_f[] = {__VA_ARGS__};                                             \
    static const pbmsg var = {goname, var##_f, sizeof var##_f / sizeof *var##_f}

/* ---- the tables (leaves first) ---------------------------------------------------------- */

/* meta/v1 */
MSG(OwnerReference, "OwnerReference",
    {5, "apiVersion", T_STRING, 0, NULL},
    {1, "kind", T_STRING, 0, NULL},
    {3, "name", T_STRING, 0, NULL},
    {4, "uid", T_STRING, 0, NULL},
    {6, "controller", T_BOOL, 0, NULL},          /* *bool */
    {7, "blockOwnerDeletion", T_BOOL, 0, NULL}); /* *bool */

/* managedFields (17) is skipped: this server keeps none (docs/API.md). */
MSG(ObjectMeta, "ObjectMeta",
    {1, "name", T_STRING, F_OMIT, NULL},
    {2, "generateName", T_STRING, F_OMIT, NULL},
    {3, "namespace", T_STRING, F_OMIT, NULL},
    {4, "selfLink", T_STRING, F_OMIT, NULL},
    {5, "uid", T_STRING, F_OMIT, NULL},
    {6, "resourceVersion", T_STRING, F_OMIT, NULL},
    {7, "generation", T_INT64, F_OMIT, NULL},
    {8, "creationTimestamp", T_TIME, 0, NULL},
    {9, "deletionTimestamp", T_TIME, 0, NULL},
    {10, "deletionGracePeriodSeconds", T_INT64, 0, NULL}, /* *int64 */
    {11, "labels", T_MAP, F_OMIT, NULL},
    {12, "annotations", T_MAP, F_OMIT, NULL},
    {13, "ownerReferences", T_MSG, F_OMIT | F_REPEATED, &OwnerReference},
    {14, "finalizers", T_STRING, F_OMIT | F_REPEATED, NULL});

MSG(Condition, "Condition",
    {1, "type", T_STRING, 0, NULL},
    {2, "status", T_STRING, 0, NULL},
    {3, "observedGeneration", T_INT64, F_OMIT, NULL},
    {4, "lastTransitionTime", T_TIME, 0, NULL},
    {5, "reason", T_STRING, 0, NULL},
    {6, "message", T_STRING, 0, NULL});

/* core/v1 Namespace */
MSG(NamespaceSpec, "NamespaceSpec",
    {1, "finalizers", T_STRING, F_OMIT | F_REPEATED, NULL});

MSG(NamespaceCondition, "NamespaceCondition",
    {1, "type", T_STRING, 0, NULL},
    {2, "status", T_STRING, 0, NULL},
    {4, "lastTransitionTime", T_TIME, 0, NULL},
    {5, "reason", T_STRING, F_OMIT, NULL},
    {6, "message", T_STRING, F_OMIT, NULL});

MSG(NamespaceStatus, "NamespaceStatus",
    {1, "phase", T_STRING, F_OMIT, NULL},
    {2, "conditions", T_MSG, F_OMIT | F_REPEATED, &NamespaceCondition});

MSG(Namespace, "Namespace",
    {1, "metadata", T_MSG, 0, &ObjectMeta},
    {2, "spec", T_MSG, 0, &NamespaceSpec},
    {3, "status", T_MSG, 0, &NamespaceStatus});

/* core/v1 Service */
MSG(ServicePort, "ServicePort",
    {1, "name", T_STRING, F_OMIT, NULL},
    {2, "protocol", T_STRING, F_OMIT, NULL},
    {6, "appProtocol", T_STRING, 0, NULL}, /* *string */
    {3, "port", T_INT32, 0, NULL},
    {4, "targetPort", T_INTSTR, 0, NULL},
    {5, "nodePort", T_INT32, F_OMIT, NULL});

MSG(ClientIPConfig, "ClientIPConfig",
    {1, "timeoutSeconds", T_INT32, 0, NULL}); /* *int32 */

MSG(SessionAffinityConfig, "SessionAffinityConfig",
    {1, "clientIP", T_MSG, 0, &ClientIPConfig});

MSG(ServiceSpec, "ServiceSpec",
    {1, "ports", T_MSG, F_OMIT | F_REPEATED, &ServicePort},
    {2, "selector", T_MAP, F_OMIT, NULL},
    {3, "clusterIP", T_STRING, F_OMIT, NULL},
    {18, "clusterIPs", T_STRING, F_OMIT | F_REPEATED, NULL},
    {4, "type", T_STRING, F_OMIT, NULL},
    {5, "externalIPs", T_STRING, F_OMIT | F_REPEATED, NULL},
    {7, "sessionAffinity", T_STRING, F_OMIT, NULL},
    {8, "loadBalancerIP", T_STRING, F_OMIT, NULL},
    {9, "loadBalancerSourceRanges", T_STRING, F_OMIT | F_REPEATED, NULL},
    {10, "externalName", T_STRING, F_OMIT, NULL},
    {11, "externalTrafficPolicy", T_STRING, F_OMIT, NULL},
    {12, "healthCheckNodePort", T_INT32, F_OMIT, NULL},
    {13, "publishNotReadyAddresses", T_BOOL, F_OMIT, NULL},
    {14, "sessionAffinityConfig", T_MSG, 0, &SessionAffinityConfig}, /* pointer */
    {19, "ipFamilies", T_STRING, F_OMIT | F_REPEATED, NULL},
    {17, "ipFamilyPolicy", T_STRING, 0, NULL},                /* *string */
    {20, "allocateLoadBalancerNodePorts", T_BOOL, 0, NULL},   /* *bool */
    {21, "loadBalancerClass", T_STRING, 0, NULL},             /* *string */
    {22, "internalTrafficPolicy", T_STRING, 0, NULL},         /* *string */
    {23, "trafficDistribution", T_STRING, 0, NULL});          /* *string */

MSG(PortStatus, "PortStatus",
    {1, "port", T_INT32, 0, NULL},
    {2, "protocol", T_STRING, 0, NULL},
    {3, "error", T_STRING, 0, NULL}); /* *string */

MSG(LoadBalancerIngress, "LoadBalancerIngress",
    {1, "ip", T_STRING, F_OMIT, NULL},
    {2, "hostname", T_STRING, F_OMIT, NULL},
    {3, "ipMode", T_STRING, 0, NULL}, /* *string */
    {4, "ports", T_MSG, F_OMIT | F_REPEATED, &PortStatus});

MSG(LoadBalancerStatus, "LoadBalancerStatus",
    {1, "ingress", T_MSG, F_OMIT | F_REPEATED, &LoadBalancerIngress});

MSG(ServiceStatus, "ServiceStatus",
    {1, "loadBalancer", T_MSG, 0, &LoadBalancerStatus},
    {2, "conditions", T_MSG, F_OMIT | F_REPEATED, &Condition});

MSG(Service, "Service",
    {1, "metadata", T_MSG, 0, &ObjectMeta},
    {2, "spec", T_MSG, 0, &ServiceSpec},
    {3, "status", T_MSG, 0, &ServiceStatus});

/* core/v1 ConfigMap and Secret: kubectl create configmap / secret */
MSG(ConfigMap, "ConfigMap",
    {1, "metadata", T_MSG, 0, &ObjectMeta},
    {2, "data", T_MAP, F_OMIT, NULL},
    {3, "binaryData", T_BMAP, F_OMIT, NULL},
    {4, "immutable", T_BOOL, 0, NULL}); /* *bool */

MSG(Secret, "Secret",
    {1, "metadata", T_MSG, 0, &ObjectMeta},
    {2, "data", T_BMAP, F_OMIT, NULL},
    {4, "stringData", T_MAP, F_OMIT, NULL},
    {3, "type", T_STRING, F_OMIT, NULL},
    {5, "immutable", T_BOOL, 0, NULL}); /* *bool */

/* authorization/v1: kubectl auth can-i (the review's status is the server's: decoded only
 * as far as the client fills it) */
MSG(SelectorRequirement, "FieldSelectorRequirement",
    {1, "key", T_STRING, 0, NULL},
    {2, "operator", T_STRING, 0, NULL},
    {3, "values", T_STRING, F_OMIT | F_REPEATED, NULL});

MSG(SelectorAttributes, "FieldSelectorAttributes",
    {1, "rawSelector", T_STRING, F_OMIT, NULL},
    {2, "requirements", T_MSG, F_OMIT | F_REPEATED, &SelectorRequirement});

MSG(ResourceAttributes, "ResourceAttributes",
    {1, "namespace", T_STRING, F_OMIT, NULL},
    {2, "verb", T_STRING, F_OMIT, NULL},
    {3, "group", T_STRING, F_OMIT, NULL},
    {4, "version", T_STRING, F_OMIT, NULL},
    {5, "resource", T_STRING, F_OMIT, NULL},
    {6, "subresource", T_STRING, F_OMIT, NULL},
    {7, "name", T_STRING, F_OMIT, NULL},
    {8, "fieldSelector", T_MSG, 0, &SelectorAttributes},  /* pointer */
    {9, "labelSelector", T_MSG, 0, &SelectorAttributes}); /* pointer */

MSG(NonResourceAttributes, "NonResourceAttributes",
    {1, "path", T_STRING, F_OMIT, NULL},
    {2, "verb", T_STRING, F_OMIT, NULL});

MSG(SelfSubjectAccessReviewSpec, "SelfSubjectAccessReviewSpec",
    {1, "resourceAttributes", T_MSG, 0, &ResourceAttributes},       /* pointer */
    {2, "nonResourceAttributes", T_MSG, 0, &NonResourceAttributes}); /* pointer */

MSG(SubjectAccessReviewStatus, "SubjectAccessReviewStatus",
    {1, "allowed", T_BOOL, 0, NULL},
    {4, "denied", T_BOOL, F_OMIT, NULL},
    {2, "reason", T_STRING, F_OMIT, NULL},
    {3, "evaluationError", T_STRING, F_OMIT, NULL});

MSG(SelfSubjectAccessReview, "SelfSubjectAccessReview",
    {1, "metadata", T_MSG, 0, &ObjectMeta},
    {2, "spec", T_MSG, 0, &SelfSubjectAccessReviewSpec},
    {3, "status", T_MSG, 0, &SubjectAccessReviewStatus});

MSG(SelfSubjectRulesReviewSpec, "SelfSubjectRulesReviewSpec",
    {1, "namespace", T_STRING, F_OMIT, NULL});

MSG(SubjectRulesReviewStatus, "SubjectRulesReviewStatus",
    {3, "incomplete", T_BOOL, 0, NULL},
    {4, "evaluationError", T_STRING, F_OMIT, NULL});

MSG(SelfSubjectRulesReview, "SelfSubjectRulesReview",
    {1, "metadata", T_MSG, 0, &ObjectMeta},
    {2, "spec", T_MSG, 0, &SelfSubjectRulesReviewSpec},
    {3, "status", T_MSG, 0, &SubjectRulesReviewStatus});

/* authentication/v1: kubectl auth whoami (its status is the server's) */
MSG(UserInfo, "UserInfo",
    {1, "username", T_STRING, F_OMIT, NULL},
    {2, "uid", T_STRING, F_OMIT, NULL},
    {3, "groups", T_STRING, F_OMIT | F_REPEATED, NULL});

MSG(SelfSubjectReviewStatus, "SelfSubjectReviewStatus",
    {1, "userInfo", T_MSG, 0, &UserInfo});

MSG(SelfSubjectReview, "SelfSubjectReview",
    {1, "metadata", T_MSG, 0, &ObjectMeta},
    {2, "status", T_MSG, 0, &SelfSubjectReviewStatus});

static const struct {
    const char *api_version, *kind;
    const pbmsg *msg;
} kinds[] = {
    {"v1", "Namespace", &Namespace},
    {"v1", "Service", &Service},
    {"v1", "ConfigMap", &ConfigMap},
    {"v1", "Secret", &Secret},
    {"authorization.k8s.io/v1", "SelfSubjectAccessReview", &SelfSubjectAccessReview},
    {"authorization.k8s.io/v1", "SelfSubjectRulesReview", &SelfSubjectRulesReview},
    {"authentication.k8s.io/v1", "SelfSubjectReview", &SelfSubjectReview},
};

/* ---- the wire ---------------------------------------------------------------------------- */

typedef struct pbctx {
    int depth;
    char err[ERR_CAP];
} pbctx;

typedef struct cursor {
    const uint8_t *p, *end;
} cursor;

static int fail(pbctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(pbctx *c, const char *fmt, ...)
{
    if (!c->err[0]) { /* the innermost cause wins */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, sizeof c->err, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int varint(pbctx *c, cursor *k, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (k->p >= k->end)
            return fail(c, "unexpected EOF");
        uint8_t b = *k->p++;
        if (i == 9 && b > 1)
            return fail(c, "proto: integer overflow");
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return fail(c, "proto: integer overflow");
}

/* A length-delimited payload: its bytes as a sub-cursor, k moved past them. */
static int payload(pbctx *c, cursor *k, cursor *sub)
{
    uint64_t n;
    if (varint(c, k, &n) < 0)
        return -1;
    if (n > (uint64_t)(k->end - k->p))
        return fail(c, "unexpected EOF");
    sub->p = k->p;
    sub->end = k->p + n;
    k->p += n;
    return 0;
}

static int skip_n(pbctx *c, cursor *k, size_t n)
{
    if ((size_t)(k->end - k->p) < n)
        return fail(c, "unexpected EOF");
    k->p += n;
    return 0;
}

/* Skip the value of an unknown field. Groups (deprecated, never in Kubernetes types) are refused. */
static int skip(pbctx *c, cursor *k, unsigned wt)
{
    uint64_t v;
    cursor sub = {NULL, NULL};
    switch (wt) {
    case WT_VARINT: return varint(c, k, &v);
    case WT_FIXED64: return skip_n(c, k, 8);
    case WT_LEN: return payload(c, k, &sub);
    case WT_FIXED32: return skip_n(c, k, 4);
    default: return fail(c, "proto: illegal wireType %u", wt);
    }
}

/* The next tag: field number and wire type. */
static int tag(pbctx *c, cursor *k, const char *msg, unsigned *num, unsigned *wt)
{
    uint64_t t;
    if (varint(c, k, &t) < 0)
        return -1;
    *wt = (unsigned)(t & 7);
    if ((t >> 3) == 0 || (t >> 3) > 0x1fffffff)
        return fail(c, "proto: %s: illegal tag %llu (wire type %u)", msg, (unsigned long long)(t >> 3), *wt);
    if (*wt == WT_EGROUP)
        return fail(c, "proto: %s: wiretype end group for non-group", msg);
    *num = (unsigned)(t >> 3);
    return 0;
}

static int string_at(pbctx *c, cursor *k, const char *msg, const char *field, json_t **out)
{
    cursor s = {NULL, NULL};
    if (payload(c, k, &s) < 0)
        return -1;
    *out = json_stringn((const char *)s.p, (size_t)(s.end - s.p));
    if (!*out)
        return fail(c, "proto: %s: field %s is not valid UTF-8", msg, field);
    return 0;
}

/* ---- messages ---------------------------------------------------------------------------- */

static int decode_msg(pbctx *c, const pbmsg *m, cursor k, json_t *obj);

/* map<string, string> entry {1 key, 2 value} into obj (a missing key or value is ""). */
static int map_entry(pbctx *c, cursor k, const pbfield *f, json_t *obj)
{
    json_t *key = NULL, *val = NULL;
    while (k.p < k.end) {
        unsigned num, wt;
        json_t **slot = NULL;
        if (tag(c, &k, f->json, &num, &wt) < 0)
            goto fail;
        if (num == 1 || num == 2) {
            if (wt != WT_LEN) {
                fail(c, "proto: wrong wireType = %u for field %s", wt, f->json);
                goto fail;
            }
            slot = num == 1 ? &key : &val;
            json_decref(*slot);
            *slot = NULL;
            if (num == 2 && f->type == T_BMAP) { /* bytes */
                cursor b = {NULL, NULL};
                if (payload(c, &k, &b) < 0)
                    goto fail;
                char *e = base64_encode(b.p, (size_t)(b.end - b.p));
                val = e ? json_string(e) : NULL;
                free(e);
                if (!val) {
                    fail(c, "out of memory");
                    goto fail;
                }
            } else if (string_at(c, &k, f->json, num == 1 ? "key" : "value", slot) < 0)
                goto fail;
        } else if (skip(c, &k, wt) < 0) {
            goto fail;
        }
    }
    const char *ks = key ? json_string_value(key) : "";
    if (key && strlen(ks) != json_string_length(key)) {
        fail(c, "proto: %s: a key holds a NUL byte", f->json);
        goto fail;
    }
    if (json_object_set_new(obj, ks, val ? val : json_string("")) < 0) {
        val = NULL;
        fail(c, "out of memory");
        goto fail;
    }
    json_decref(key);
    return 0;
fail:
    json_decref(key);
    json_decref(val);
    return -1;
}

/* intstr.IntOrString: type 0 the int32 intVal, type 1 the string strVal. */
static int intstr(pbctx *c, cursor k, json_t **out)
{
    uint64_t type = 0, iv = 0;
    json_t *sv = NULL;
    while (k.p < k.end) {
        unsigned num, wt;
        if (tag(c, &k, "IntOrString", &num, &wt) < 0)
            goto fail;
        if ((num == 1 || num == 2) && wt != WT_VARINT)
            goto wrong;
        if (num == 3 && wt != WT_LEN)
            goto wrong;
        if (num == 1 || num == 2) {
            if (varint(c, &k, num == 1 ? &type : &iv) < 0)
                goto fail;
        } else if (num == 3) {
            json_decref(sv);
            sv = NULL;
            if (string_at(c, &k, "IntOrString", "StrVal", &sv) < 0)
                goto fail;
        } else if (skip(c, &k, wt) < 0) {
            goto fail;
        }
        continue;
    wrong:
        fail(c, "proto: IntOrString: wrong wireType = %u for field %u", wt, num);
        goto fail;
    }
    if ((int64_t)type == 0) {
        json_decref(sv);
        *out = json_integer((int32_t)(uint32_t)iv);
    } else if ((int64_t)type == 1) {
        *out = sv ? sv : json_string("");
    } else {
        fail(c, "impossible IntOrString.Type");
        goto fail;
    }
    return 0;
fail:
    json_decref(sv);
    return -1;
}

/* metav1.Time: an empty message is the zero time (NULL, left out); else RFC 3339 in UTC, whole
 * seconds, years 0001-9999 as Go's Time.MarshalJSON allows. */
static int mtime(pbctx *c, cursor k, json_t **out)
{
    uint64_t secs = 0, nanos = 0;
    *out = NULL;
    if (k.p == k.end)
        return 0;
    while (k.p < k.end) {
        unsigned num, wt;
        if (tag(c, &k, "Timestamp", &num, &wt) < 0)
            return -1;
        if (num == 1 || num == 2) {
            if (wt != WT_VARINT)
                return fail(c, "proto: Timestamp: wrong wireType = %u for field %u", wt, num);
            if (varint(c, &k, num == 1 ? &secs : &nanos) < 0)
                return -1;
        } else if (skip(c, &k, wt) < 0) {
            return -1;
        }
    }
    int64_t s = (int64_t)secs;
    if (s < -62135596800LL || s > 253402300799LL)
        return fail(c, "Time.MarshalJSON: year outside of range [0,9999]");
    time_t t = (time_t)s;
    struct tm tm;
    char buf[64]; /* 20 used; room for what -Wformat-truncation counts */
    if (!gmtime_r(&t, &tm))
        return fail(c, "Time.MarshalJSON: year outside of range [0,9999]");
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    *out = json_string(buf);
    return 0;
}

static int is_zero(const json_t *v)
{
    return (json_is_string(v) && json_string_length(v) == 0) || (json_is_integer(v) && json_integer_value(v) == 0) ||
           json_is_false(v);
}

/* Put v (owned) under f in obj: appended for a repeated field; left out (and any earlier value
 * dropped, as gogo overwrites) where omitempty or a zero Time says so. */
static int put(pbctx *c, json_t *obj, const pbfield *f, json_t *v)
{
    if (f->flags & F_REPEATED) {
        json_t *arr = json_object_get(obj, f->json);
        if (!arr) {
            arr = json_array();
            if (!arr || json_object_set_new(obj, f->json, arr) < 0) {
                json_decref(v);
                return fail(c, "out of memory");
            }
        }
        if (!v || json_array_append_new(arr, v) < 0)
            return fail(c, "out of memory");
        return 0;
    }
    if (!v || ((f->flags & F_OMIT) && is_zero(v))) {
        json_decref(v);
        json_object_del(obj, f->json);
        return 0;
    }
    if (json_object_set_new(obj, f->json, v) < 0)
        return fail(c, "out of memory");
    return 0;
}

static int wants(ftype t)
{
    return t == T_INT32 || t == T_INT64 || t == T_BOOL ? WT_VARINT : WT_LEN;
}

static int field(pbctx *c, const pbmsg *m, const pbfield *f, unsigned wt, cursor *k, json_t *obj)
{
    if ((int)wt != wants(f->type))
        return fail(c, "proto: %s: wrong wireType = %u for field %s", m->name, wt, f->json);
    uint64_t u;
    cursor sub = {NULL, NULL};
    json_t *v = NULL;
    switch ((ftype)f->type) {
    case T_STRING:
        if (string_at(c, k, m->name, f->json, &v) < 0)
            return -1;
        return put(c, obj, f, v);
    case T_INT32:
    case T_INT64:
    case T_BOOL:
        if (varint(c, k, &u) < 0)
            return -1;
        v = f->type == T_BOOL ? json_boolean(u != 0)
            : f->type == T_INT32 ? json_integer((int32_t)(uint32_t)u) : json_integer((json_int_t)(int64_t)u);
        return put(c, obj, f, v);
    case T_MSG:
        if (payload(c, k, &sub) < 0)
            return -1;
        if (c->depth >= MAX_DEPTH)
            return fail(c, "proto: %s: nesting deeper than %d", m->name, MAX_DEPTH);
        json_t *into = (f->flags & F_REPEATED) ? NULL : json_object_get(obj, f->json);
        if (!into) { /* a message seen again is merged into the first */
            into = json_object();
            if (!into)
                return fail(c, "out of memory");
            if (put(c, obj, f, into) < 0)
                return -1;
        }
        c->depth++;
        int rc = decode_msg(c, f->msg, sub, into);
        c->depth--;
        return rc;
    case T_MAP:
    case T_BMAP: {
        if (payload(c, k, &sub) < 0)
            return -1;
        json_t *map = json_object_get(obj, f->json);
        if (!map) {
            map = json_object();
            if (!map || json_object_set_new(obj, f->json, map) < 0)
                return fail(c, "out of memory");
        }
        return map_entry(c, sub, f, map);
    }
    case T_INTSTR:
        if (payload(c, k, &sub) < 0 || intstr(c, sub, &v) < 0)
            return -1;
        return put(c, obj, f, v);
    case T_TIME:
        if (payload(c, k, &sub) < 0 || mtime(c, sub, &v) < 0)
            return -1;
        return put(c, obj, f, v);
    }
    return fail(c, "proto: %s: field %s has no decoder", m->name, f->json);
}

static int decode_msg(pbctx *c, const pbmsg *m, cursor k, json_t *obj)
{
    while (k.p < k.end) {
        unsigned num, wt;
        if (tag(c, &k, m->name, &num, &wt) < 0)
            return -1;
        const pbfield *f = NULL;
        for (size_t i = 0; i < m->n && !f; i++)
            if (m->f[i].num == num)
                f = &m->f[i];
        if (f ? field(c, m, f, wt, &k, obj) < 0 : skip(c, &k, wt) < 0)
            return -1;
    }
    return 0;
}

/* ---- the envelope ------------------------------------------------------------------------- */

static const pbmsg *kind_msg(const char *api_version, const char *kind)
{
    if (!api_version || !kind)
        return NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (!strcmp(kinds[i].api_version, api_version) && !strcmp(kinds[i].kind, kind))
            return kinds[i].msg;
    return NULL;
}

int kubepb_decodes(const char *api_version, const char *kind)
{
    return kind_msg(api_version, kind) != NULL;
}

MSG(TypeMeta, "TypeMeta",
    {1, "apiVersion", T_STRING, F_OMIT, NULL},
    {2, "kind", T_STRING, F_OMIT, NULL});

MSG(UnknownStrings, "Unknown",
    {3, "contentEncoding", T_STRING, F_OMIT, NULL},
    {4, "contentType", T_STRING, F_OMIT, NULL});

/* runtime.Unknown {1 typeMeta, 2 raw, 3 contentEncoding, 4 contentType}: the type into tm, raw's
 * bytes into *raw, the two strings into str. */
static int unknown(pbctx *c, cursor k, json_t *tm, cursor *raw, json_t *str)
{
    while (k.p < k.end) {
        unsigned num, wt;
        if (tag(c, &k, "Unknown", &num, &wt) < 0)
            return -1;
        if (num == 2) {
            if (wt != WT_LEN)
                return fail(c, "proto: Unknown: wrong wireType = %u for field Raw", wt);
            if (payload(c, &k, raw) < 0) /* the last one wins, as gogo's */
                return -1;
        } else if (num == 1) {
            cursor sub = {NULL, NULL};
            if (wt != WT_LEN)
                return fail(c, "proto: Unknown: wrong wireType = %u for field TypeMeta", wt);
            if (payload(c, &k, &sub) < 0 || decode_msg(c, &TypeMeta, sub, tm) < 0)
                return -1;
        } else if (num == 3 || num == 4) {
            if (field(c, &UnknownStrings, &UnknownStrings.f[num - 3], wt, &k, str) < 0)
                return -1;
        } else if (skip(c, &k, wt) < 0) {
            return -1;
        }
    }
    return 0;
}

int kubepb_decode(const void *buf, size_t len, json_t **out, char **err)
{
    static const char magic[4] = {'k', '8', 's', 0};
    pbctx c = {0};
    json_t *tm = json_object(), *str = json_object(), *obj = NULL;
    cursor raw = {NULL, NULL};
    int rc = -EINVAL;
    *out = NULL;
    *err = NULL;
    if (!tm || !str) {
        fail(&c, "out of memory");
        goto done;
    }
    if (len < sizeof magic || memcmp(buf, magic, sizeof magic)) {
        fail(&c, "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]");
        goto done;
    }
    cursor k = {(const uint8_t *)buf + sizeof magic, (const uint8_t *)buf + len};
    if (unknown(&c, k, tm, &raw, str) < 0)
        goto done;
    const char *enc = json_string_value(json_object_get(str, "contentEncoding"));
    const char *ct = json_string_value(json_object_get(str, "contentType"));
    if (enc) {
        fail(&c, "unsupported contentEncoding \"%s\" in the protobuf envelope", enc);
        goto done;
    }
    if (ct && strcmp(ct, KUBEPB_MEDIA)) {
        fail(&c, "unsupported contentType \"%s\" in the protobuf envelope", ct);
        goto done;
    }
    const char *av = json_string_value(json_object_get(tm, "apiVersion"));
    const char *kind = json_string_value(json_object_get(tm, "kind"));
    const pbmsg *m = kind_msg(av, kind);
    if (!m) {
        fail(&c, "no protobuf decoder for kind \"%s\" in version \"%s\"", kind ? kind : "", av ? av : "");
        rc = -ENOTSUP;
        goto done;
    }
    obj = json_pack("{s:s,s:s}", "kind", kind, "apiVersion", av);
    if (!obj) {
        fail(&c, "out of memory");
        goto done;
    }
    if (raw.p && decode_msg(&c, m, raw, obj) < 0)
        goto done;
    *out = obj;
    obj = NULL;
    rc = 0;
done:
    if (rc < 0)
        *err = strdup(c.err[0] ? c.err : "protobuf decoding failed");
    json_decref(obj);
    json_decref(tm);
    json_decref(str);
    return rc;
}
