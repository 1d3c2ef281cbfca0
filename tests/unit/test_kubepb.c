/* kubepb: Kubernetes protobuf request bodies decoded into the JSON the JSON path would get.
 * The four bodies below are what kubectl 1.32.4 sent for `kubectl create namespace foo`,
 * `create service clusterip s --tcp=80:8080 -n foo`, `create service nodeport np --tcp=80:8080
 * --node-port=30080` and `create service externalname en --external-name bar.com`. */
#include <errno.h>
#include <stdint.h>
#include "unit.h"
#include "kubepb.h"

static const char ns_foo[] =
    "\x6b\x38\x73\x00\x0a\x0f\x0a\x02\x76\x31\x12\x09\x4e\x61\x6d\x65\x73\x70\x61\x63\x65\x12\x1b\x0a"
    "\x13\x0a\x03\x66\x6f\x6f\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x00\x1a\x02"
    "\x0a\x00\x1a\x00\x22\x00";
static const char svc_clusterip[] =
    "\x6b\x38\x73\x00\x0a\x0d\x0a\x02\x76\x31\x12\x07\x53\x65\x72\x76\x69\x63\x65\x12\x66\x0a\x1e\x0a"
    "\x01\x73\x12\x00\x1a\x03\x66\x6f\x6f\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x5a\x08\x0a\x03\x61"
    "\x70\x70\x12\x01\x73\x12\x40\x0a\x1b\x0a\x07\x38\x30\x2d\x38\x30\x38\x30\x12\x03\x54\x43\x50\x18"
    "\x50\x22\x07\x08\x00\x10\x90\x3f\x1a\x00\x28\x00\x12\x08\x0a\x03\x61\x70\x70\x12\x01\x73\x1a\x00"
    "\x22\x09\x43\x6c\x75\x73\x74\x65\x72\x49\x50\x3a\x00\x42\x00\x52\x00\x5a\x00\x60\x00\x68\x00\x1a"
    "\x02\x0a\x00\x1a\x00\x22\x00";
static const char svc_nodeport[] =
    "\x6b\x38\x73\x00\x0a\x0d\x0a\x02\x76\x31\x12\x07\x53\x65\x72\x76\x69\x63\x65\x12\x67\x0a\x1d\x0a"
    "\x02\x6e\x70\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x5a\x09\x0a\x03\x61\x70\x70"
    "\x12\x02\x6e\x70\x12\x42\x0a\x1d\x0a\x07\x38\x30\x2d\x38\x30\x38\x30\x12\x03\x54\x43\x50\x18\x50"
    "\x22\x07\x08\x00\x10\x90\x3f\x1a\x00\x28\x80\xeb\x01\x12\x09\x0a\x03\x61\x70\x70\x12\x02\x6e\x70"
    "\x1a\x00\x22\x08\x4e\x6f\x64\x65\x50\x6f\x72\x74\x3a\x00\x42\x00\x52\x00\x5a\x00\x60\x00\x68\x00"
    "\x1a\x02\x0a\x00\x1a\x00\x22\x00";
static const char svc_externalname[] =
    "\x6b\x38\x73\x00\x0a\x0d\x0a\x02\x76\x31\x12\x07\x53\x65\x72\x76\x69\x63\x65\x12\x53\x0a\x1d\x0a"
    "\x02\x65\x6e\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x5a\x09\x0a\x03\x61\x70\x70"
    "\x12\x02\x65\x6e\x12\x2e\x12\x09\x0a\x03\x61\x70\x70\x12\x02\x65\x6e\x1a\x00\x22\x0c\x45\x78\x74"
    "\x65\x72\x6e\x61\x6c\x4e\x61\x6d\x65\x3a\x00\x42\x00\x52\x07\x62\x61\x72\x2e\x63\x6f\x6d\x5a\x00"
    "\x60\x00\x68\x00\x1a\x02\x0a\x00\x1a\x00\x22\x00";

#define BODY(a) (a), sizeof(a) - 1

/* ---- a small protobuf writer for hand-made bodies ---- */
typedef struct pb {
    uint8_t b[4096];
    size_t n;
} pb;

static void pb_raw(pb *p, const void *d, size_t n)
{
    assert_true(p->n + n <= sizeof p->b);
    memcpy(p->b + p->n, d, n);
    p->n += n;
}

static void pb_varint(pb *p, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        if (v)
            c |= 0x80;
        pb_raw(p, &c, 1);
    } while (v);
}

static void pb_tag(pb *p, unsigned num, unsigned wt) { pb_varint(p, (uint64_t)num << 3 | wt); }
static void pb_int(pb *p, unsigned num, uint64_t v) { pb_tag(p, num, 0); pb_varint(p, v); }
static void pb_bytes(pb *p, unsigned num, const void *d, size_t n)
{
    pb_tag(p, num, 2);
    pb_varint(p, n);
    pb_raw(p, d, n);
}
static void pb_str(pb *p, unsigned num, const char *s) { pb_bytes(p, num, s, strlen(s)); }
static void pb_msg(pb *p, unsigned num, const pb *m) { pb_bytes(p, num, m->b, m->n); }
static void pb_entry(pb *p, unsigned num, const char *k, const char *v)
{
    pb e = {.n = 0};
    pb_str(&e, 1, k);
    pb_str(&e, 2, v);
    pb_msg(p, num, &e);
}

/* "k8s\0" + Unknown{typeMeta{av, kind}, raw} */
static void envelope(pb *out, const char *av, const char *kind, const pb *raw)
{
    pb tm = {.n = 0};
    out->n = 0;
    pb_raw(out, "k8s", 4);
    pb_str(&tm, 1, av);
    pb_str(&tm, 2, kind);
    pb_msg(out, 1, &tm);
    if (raw)
        pb_msg(out, 2, raw);
}

/* Decodes from an exact-size heap copy, so the sanitizers see any read past the end. */
static int decode(const void *buf, size_t len, json_t **out, char **err)
{
    void *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, buf, len);
    int rc = kubepb_decode(copy, len, out, err);
    free(copy);
    return rc;
}

static void assert_decodes(const void *buf, size_t len, const char *want)
{
    json_t *got = NULL, *w = json_loads(want, 0, NULL);
    char *err = NULL;
    assert_non_null(w);
    int rc = decode(buf, len, &got, &err);
    if (rc)
        fail_msg("decode: %d %s", rc, err ? err : "?");
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("got %s\nwant %s", g, want);
    }
    assert_null(err);
    json_decref(got);
    json_decref(w);
}

static void assert_fails(const void *buf, size_t len, int want_rc, const char *want_err)
{
    json_t *got = NULL;
    char *err = NULL;
    int rc = decode(buf, len, &got, &err);
    assert_int_equal(rc, want_rc);
    assert_null(got);
    assert_non_null(err);
    if (want_err && !strstr(err, want_err))
        fail_msg("error %s, want it to hold %s", err, want_err);
    free(err);
}

/* ---- what kubectl sends ---- */

static void test_kubectl_namespace(void **state)
{
    (void)state;
    assert_decodes(BODY(ns_foo), "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"foo\"},"
                                 "\"spec\":{},\"status\":{}}");
}

static void test_kubectl_services(void **state)
{
    (void)state;
    assert_decodes(BODY(svc_clusterip),
                   "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"s\",\"namespace\":\"foo\","
                   "\"labels\":{\"app\":\"s\"}},\"spec\":{\"ports\":[{\"name\":\"80-8080\",\"protocol\":\"TCP\","
                   "\"port\":80,\"targetPort\":8080}],\"selector\":{\"app\":\"s\"},\"type\":\"ClusterIP\"},"
                   "\"status\":{\"loadBalancer\":{}}}");
    assert_decodes(BODY(svc_nodeport),
                   "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"np\",\"labels\":{\"app\":\"np\"}},"
                   "\"spec\":{\"ports\":[{\"name\":\"80-8080\",\"protocol\":\"TCP\",\"port\":80,\"targetPort\":8080,"
                   "\"nodePort\":30080}],\"selector\":{\"app\":\"np\"},\"type\":\"NodePort\"},"
                   "\"status\":{\"loadBalancer\":{}}}");
    assert_decodes(BODY(svc_externalname),
                   "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"en\",\"labels\":{\"app\":\"en\"}},"
                   "\"spec\":{\"selector\":{\"app\":\"en\"},\"type\":\"ExternalName\",\"externalName\":\"bar.com\"},"
                   "\"status\":{\"loadBalancer\":{}}}");
}

/* ---- ObjectMeta in full, pointers, merges, unknown fields ---- */

static void test_object_meta(void **state)
{
    (void)state;
    pb owner = {.n = 0}, meta = {.n = 0}, ts = {.n = 0}, spec = {.n = 0}, ns = {.n = 0}, body;
    pb_str(&owner, 5, "kubeflow.org/v1");
    pb_str(&owner, 1, "PyTorchJob");
    pb_str(&owner, 3, "job");
    pb_str(&owner, 4, "u-1");
    pb_int(&owner, 6, 1);
    pb_int(&owner, 7, 0); /* *bool set to false: kept */
    pb_int(&ts, 1, 1767323045); /* 2026-01-02T03:04:05Z */
    pb_int(&ts, 2, 500);
    pb_str(&meta, 1, "");
    pb_str(&meta, 2, "gen-");
    pb_str(&meta, 3, "ns1");
    pb_int(&meta, 7, 0);
    pb_msg(&meta, 9, &ts);
    pb_int(&meta, 10, 30);
    pb_entry(&meta, 11, "a", "1");
    pb_entry(&meta, 11, "b", "");
    pb_entry(&meta, 11, "a", "2"); /* a map key seen again: the last value */
    pb_entry(&meta, 12, "note", "x\xc3\xa9");
    pb_msg(&meta, 13, &owner);
    pb_str(&meta, 14, "f1");
    pb_str(&meta, 14, "f2");
    /* unknown fields of every wire type, including managedFields (17) */
    pb_int(&meta, 99, 300);
    pb_tag(&meta, 100, 1);
    pb_raw(&meta, "12345678", 8);
    pb_tag(&meta, 101, 5);
    pb_raw(&meta, "1234", 4);
    pb_str(&meta, 17, "\x0a\x03" "abc");
    pb_str(&spec, 1, "kubernetes");
    pb_msg(&ns, 1, &meta);
    pb_msg(&ns, 2, &spec);
    pb_str(&meta, 1, "later"); /* ObjectMeta seen twice: merged */
    meta.n = 0;
    pb_str(&meta, 1, "late");
    pb_msg(&ns, 1, &meta);
    envelope(&body, "v1", "Namespace", &ns);
    assert_decodes(body.b, body.n,
                   "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"late\","
                   "\"generateName\":\"gen-\",\"namespace\":\"ns1\",\"deletionTimestamp\":\"2026-01-02T03:04:05Z\","
                   "\"deletionGracePeriodSeconds\":30,\"labels\":{\"a\":\"2\",\"b\":\"\"},"
                   "\"annotations\":{\"note\":\"x\xc3\xa9\"},\"ownerReferences\":[{\"apiVersion\":\"kubeflow.org/v1\","
                   "\"kind\":\"PyTorchJob\",\"name\":\"job\",\"uid\":\"u-1\",\"controller\":true,"
                   "\"blockOwnerDeletion\":false}],\"finalizers\":[\"f1\",\"f2\"]},"
                   "\"spec\":{\"finalizers\":[\"kubernetes\"]}}");
}

static void test_service_fields(void **state)
{
    (void)state;
    pb port = {.n = 0}, tp = {.n = 0}, cip = {.n = 0}, sac = {.n = 0}, spec = {.n = 0}, svc = {.n = 0};
    pb ing = {.n = 0}, ps = {.n = 0}, lb = {.n = 0}, st = {.n = 0}, cond = {.n = 0}, lt = {.n = 0}, body;
    pb_int(&tp, 1, 1);
    pb_int(&tp, 2, 7);
    pb_str(&tp, 3, "http");
    pb_str(&port, 1, "web");
    pb_str(&port, 6, "kubernetes.io/h2c");
    pb_int(&port, 3, 80);
    pb_msg(&port, 4, &tp);
    pb_int(&port, 5, 0);
    pb_int(&cip, 1, 10800);
    pb_msg(&sac, 1, &cip);
    pb_msg(&spec, 1, &port);
    port.n = 0;
    pb_int(&port, 3, 0);               /* port is not omitempty: a 0 is kept */
    pb_int(&port, 5, (uint64_t)-1);    /* int32 -1, sign-extended to 10 bytes */
    pb_msg(&spec, 1, &port);
    pb_str(&spec, 3, "None");
    pb_str(&spec, 18, "None");
    pb_str(&spec, 19, "IPv4");
    pb_str(&spec, 17, "SingleStack");
    pb_str(&spec, 7, "ClientIP");
    pb_msg(&spec, 14, &sac);
    pb_int(&spec, 13, 1);
    pb_int(&spec, 20, 0);
    pb_str(&spec, 22, "Local");
    pb_str(&spec, 5, "1.2.3.4");
    pb_int(&ps, 1, 80);
    pb_str(&ps, 2, "TCP");
    pb_str(&ing, 1, "10.0.0.1");
    pb_str(&ing, 3, "VIP");
    pb_msg(&ing, 4, &ps);
    pb_msg(&lb, 1, &ing);
    pb_msg(&st, 1, &lb);
    pb_int(&lt, 1, 0);
    pb_str(&cond, 1, "Ready");
    pb_str(&cond, 2, "True");
    pb_msg(&cond, 4, &lt); /* seconds 0 on the wire: the epoch, not the zero time */
    pb_str(&cond, 5, "");
    pb_msg(&st, 2, &cond);
    pb_msg(&svc, 2, &spec);
    pb_msg(&svc, 3, &st);
    envelope(&body, "v1", "Service", &svc);
    assert_decodes(body.b, body.n,
                   "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"spec\":{\"ports\":[{\"name\":\"web\","
                   "\"appProtocol\":\"kubernetes.io/h2c\",\"port\":80,\"targetPort\":\"http\"},"
                   "{\"port\":0,\"nodePort\":-1}],\"clusterIP\":\"None\",\"clusterIPs\":[\"None\"],"
                   "\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\",\"sessionAffinity\":\"ClientIP\","
                   "\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":10800}},"
                   "\"publishNotReadyAddresses\":true,\"allocateLoadBalancerNodePorts\":false,"
                   "\"internalTrafficPolicy\":\"Local\",\"externalIPs\":[\"1.2.3.4\"]},"
                   "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"10.0.0.1\",\"ipMode\":\"VIP\","
                   "\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}]},\"conditions\":[{\"type\":\"Ready\","
                   "\"status\":\"True\",\"lastTransitionTime\":\"1970-01-01T00:00:00Z\",\"reason\":\"\"}]}}");
}

static void test_envelope(void **state)
{
    (void)state;
    pb body, raw = {.n = 0};
    /* no raw: an object of the type alone */
    envelope(&body, "v1", "Namespace", NULL);
    assert_decodes(body.b, body.n, "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\"}");
    /* the content type may name protobuf; unknown envelope fields are skipped */
    pb_str(&body, 4, KUBEPB_MEDIA);
    pb_int(&body, 9, 1);
    assert_decodes(body.b, body.n, "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\"}");
    /* types this module does not decode */
    envelope(&body, "v1", "Pod", &raw);
    assert_fails(body.b, body.n, -ENOTSUP, "no protobuf decoder for kind \"Pod\" in version \"v1\"");
    envelope(&body, "kubeflow.org/v1", "PyTorchJob", &raw);
    assert_fails(body.b, body.n, -ENOTSUP, "PyTorchJob");
    envelope(&body, "apps/v1", "Service", &raw);
    assert_fails(body.b, body.n, -ENOTSUP, NULL);
    envelope(&body, "", "", &raw);
    assert_fails(body.b, body.n, -ENOTSUP, NULL);
    assert_true(kubepb_decodes("v1", "Namespace") && kubepb_decodes("v1", "Service"));
    assert_true(kubepb_decodes("authorization.k8s.io/v1", "SelfSubjectAccessReview"));
    assert_true(kubepb_decodes("authentication.k8s.io/v1", "SelfSubjectReview"));
    assert_false(kubepb_decodes("v1", "Pod") || kubepb_decodes("kubeflow.org/v1", "PyTorchJob") ||
                 kubepb_decodes("v1", NULL) || kubepb_decodes(NULL, "Namespace") ||
                 kubepb_decodes("v1", "SelfSubjectReview"));
    /* encodings and content types that are not raw protobuf */
    envelope(&body, "v1", "Namespace", &raw);
    pb_str(&body, 3, "gzip");
    assert_fails(body.b, body.n, -EINVAL, "contentEncoding \"gzip\"");
    envelope(&body, "v1", "Namespace", &raw);
    pb_str(&body, 4, "application/json");
    assert_fails(body.b, body.n, -EINVAL, "contentType \"application/json\"");
}

/* ---- malformed input ---- */

static void test_malformed(void **state)
{
    (void)state;
    pb body, m = {.n = 0};
    assert_fails("", 0, -EINVAL, "expected prefix [107 56 115 0]");
    assert_fails("k8s", 3, -EINVAL, "expected prefix");
    assert_fails("{\"kind\":\"Namespace\"}", 20, -EINVAL, "expected prefix");
    /* the magic alone is an empty Unknown: no type */
    assert_fails("k8s", 4, -ENOTSUP, NULL);
    /* a length past the end */
    assert_fails("k8s\0\x0a\x05\x0a\x02v1", 10, -EINVAL, "unexpected EOF");
    /* a length that overflows a pointer sum */
    assert_fails("k8s\0\x12\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 14, -EINVAL, "unexpected EOF");
    /* an 11-byte varint */
    assert_fails("k8s\0\x48\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 16, -EINVAL, "overflow");
    /* a 10th byte above 1 */
    assert_fails("k8s\0\x48\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 15, -EINVAL, "overflow");
    /* field number 0, groups, wire types 6 and 7 */
    assert_fails("k8s\0\x00\x00", 6, -EINVAL, "illegal tag 0");
    assert_fails("k8s\0\x4b\x4c", 6, -EINVAL, "illegal wireType 3");
    assert_fails("k8s\0\x4c", 5, -EINVAL, "end group");
    assert_fails("k8s\0\x4e", 5, -EINVAL, "illegal wireType 6");
    assert_fails("k8s\0\x4f", 5, -EINVAL, "illegal wireType 7");
    /* truncated fixed-width unknown fields */
    assert_fails("k8s\0\x29\x01\x02", 7, -EINVAL, "unexpected EOF");
    assert_fails("k8s\0\x2d\x01\x02", 7, -EINVAL, "unexpected EOF");
    /* a known field with the wrong wire type */
    pb_int(&m, 1, 5); /* ObjectMeta as a varint */
    envelope(&body, "v1", "Namespace", &m);
    assert_fails(body.b, body.n, -EINVAL, "proto: Namespace: wrong wireType = 0 for field metadata");
    /* a string that is not UTF-8 */
    pb meta = {.n = 0};
    m.n = 0;
    pb_str(&meta, 1, "bad\xff");
    pb_msg(&m, 1, &meta);
    envelope(&body, "v1", "Namespace", &m);
    assert_fails(body.b, body.n, -EINVAL, "field name is not valid UTF-8");
    /* a label key holding NUL */
    meta.n = m.n = 0;
    pb_entry(&meta, 11, "a", "b");
    meta.b[4] = 0; /* entry: 5a 06 0a 01 'a' …: the key's byte */
    pb_msg(&m, 1, &meta);
    envelope(&body, "v1", "Namespace", &m);
    assert_fails(body.b, body.n, -EINVAL, "NUL");
    /* IntOrString of an impossible type; a Time out of Go's range */
    pb tp = {.n = 0}, port = {.n = 0}, spec = {.n = 0}, svc = {.n = 0};
    pb_int(&tp, 1, 2);
    pb_msg(&port, 4, &tp);
    pb_msg(&spec, 1, &port);
    pb_msg(&svc, 2, &spec);
    envelope(&body, "v1", "Service", &svc);
    assert_fails(body.b, body.n, -EINVAL, "impossible IntOrString.Type");
    pb ts = {.n = 0};
    meta.n = m.n = 0;
    pb_int(&ts, 1, 253402300800ULL);
    pb_msg(&meta, 8, &ts);
    pb_msg(&m, 1, &meta);
    envelope(&body, "v1", "Namespace", &m);
    assert_fails(body.b, body.n, -EINVAL, "year outside of range");
}

/* Every cut of every kubectl body decodes or fails cleanly, never reading past the cut. */
static void test_truncated(void **state)
{
    (void)state;
    const struct { const char *b; size_t n; } bodies[] = {
        {BODY(ns_foo)}, {BODY(svc_clusterip)}, {BODY(svc_nodeport)}, {BODY(svc_externalname)},
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
        for (size_t cut = 0; cut < bodies[i].n; cut++) {
            json_t *o = NULL;
            char *err = NULL;
            int rc = decode(bodies[i].b, cut, &o, &err);
            assert_true(rc == 0 || rc == -EINVAL || rc == -ENOTSUP);
            assert_true(rc == 0 ? o && !err : !o && err);
            json_decref(o);
            free(err);
        }
}

/* Random bytes, and kubectl's bodies with random bytes flipped: no crash, no leak, a clean answer. */
static void test_garbage(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    uint8_t buf[160];
    for (int it = 0; it < 20000; it++) {
        size_t n;
        if (it & 1) {
            n = sizeof svc_clusterip - 1;
            memcpy(buf, svc_clusterip, n);
            for (int k = 0; k < 1 + it % 4; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[4 + x % (n - 4)] = (uint8_t)(x >> 24);
            }
        } else {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            n = 4 + x % (sizeof buf - 4);
            memcpy(buf, "k8s", 4);
            for (size_t k = 4; k < n; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[k] = (uint8_t)x;
            }
        }
        json_t *o = NULL;
        char *err = NULL;
        int rc = decode(buf, n, &o, &err);
        assert_true(rc == 0 || rc == -EINVAL || rc == -ENOTSUP);
        assert_true(rc == 0 ? o && !err : !o && err);
        json_decref(o);
        free(err);
    }
}

/* A SelfSubjectAccessReview as `kubectl auth can-i create pytorchjobs` sends it: a zero
 * creationTimestamp in the metadata, spec.resourceAttributes, an empty status. */
static const unsigned char ssar[] = {
    'k', '8', 's', 0,
    0x0a, 0x32, /* typeMeta */
    0x0a, 0x17, 'a', 'u', 't', 'h', 'o', 'r', 'i', 'z', 'a', 't', 'i', 'o', 'n', '.', 'k', '8',
    's', '.', 'i', 'o', '/', 'v', '1',
    0x12, 0x17, 'S', 'e', 'l', 'f', 'S', 'u', 'b', 'j', 'e', 'c', 't', 'A', 'c', 'c', 'e', 's',
    's', 'R', 'e', 'v', 'i', 'e', 'w',
    0x12, 0x36, /* raw */
    0x0a, 0x02, 0x42, 0x00, /* metadata { creationTimestamp {} } */
    0x12, 0x2e, /* spec */
    0x0a, 0x2c, /* resourceAttributes */
    0x0a, 0x07, 'd', 'e', 'f', 'a', 'u', 'l', 't',
    0x12, 0x06, 'c', 'r', 'e', 'a', 't', 'e',
    0x1a, 0x0c, 'k', 'u', 'b', 'e', 'f', 'l', 'o', 'w', '.', 'o', 'r', 'g',
    0x2a, 0x0b, 'p', 'y', 't', 'o', 'r', 'c', 'h', 'j', 'o', 'b', 's',
    0x1a, 0x00, /* status {} */
};

static void test_self_subject_access_review(void **state)
{
    (void)state;
    json_t *o = NULL;
    char *err = NULL;
    assert_int_equal(kubepb_decode(ssar, sizeof ssar, &o, &err), 0);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":"
                           "\"SelfSubjectAccessReview\",\"metadata\":{},\"spec\":{"
                           "\"resourceAttributes\":{\"group\":\"kubeflow.org\",\"namespace\":"
                           "\"default\",\"resource\":\"pytorchjobs\",\"verb\":\"create\"}},"
                           "\"status\":{}}");
    free(s);
    json_decref(o);
    for (size_t n = 0; n < sizeof ssar; n++) { /* every cut is an error, never a read past it */
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, ssar, n);
        int rc = kubepb_decode(cut, n, &o, &err);
        free(cut);
        if (rc == 0) {
            json_decref(o);
            continue; /* a cut on a field boundary of the outermost message is a valid body */
        }
        assert_null(o);
        free(err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kubectl_namespace),
        cmocka_unit_test(test_kubectl_services),
        cmocka_unit_test(test_object_meta),
        cmocka_unit_test(test_service_fields),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_self_subject_access_review),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
