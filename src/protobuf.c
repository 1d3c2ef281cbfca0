/* protobuf — decoding of the Kubernetes protobuf encoding (see protobuf.h).
 *
 * The wire format (varints, length-delimited fields) is read against small schema tables copied
 * from the field numbers of k8s.io/api's generated.proto files; a field not in a table is
 * skipped, as proto2 does. Messages are decoded as Go's gogo-protobuf types decode them: every
 * scalar field present (gogo writes empty strings too), metav1.Time as {seconds, nanos}.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "protobuf.h"

typedef enum {
    F_STRING,      /* string */
    F_INT,         /* int64/int32 varint */
    F_TIME,        /* metav1.Time: null when zero, else RFC 3339 */
    F_MESSAGE,     /* nested message (sub) */
    F_MESSAGES,    /* repeated nested message → array */
    F_STRINGS,     /* repeated string → array */
    F_STRING_MAP,  /* map<string,string> → object */
    F_OPAQUE,      /* kept only as "present" (true): not decoded here */
} ftype;

typedef struct field {
    unsigned num;
    const char *name;
    ftype type;
    const struct field *sub; /* F_MESSAGE/F_MESSAGES: its fields, ended by num 0 */
} field;

#define END {0, NULL, 0, NULL}

/* a message whose fields are not needed here (a status the server computes): {} */
static const field none[] = {END};

/* k8s.io/apimachinery/pkg/apis/meta/v1 ObjectMeta */
static const field object_meta[] = {
    {1, "name", F_STRING, NULL}, {2, "generateName", F_STRING, NULL},
    {3, "namespace", F_STRING, NULL}, {4, "selfLink", F_STRING, NULL},
    {5, "uid", F_STRING, NULL}, {6, "resourceVersion", F_STRING, NULL},
    {7, "generation", F_INT, NULL}, {8, "creationTimestamp", F_TIME, NULL},
    {9, "deletionTimestamp", F_TIME, NULL}, {10, "deletionGracePeriodSeconds", F_INT, NULL},
    {11, "labels", F_STRING_MAP, NULL}, {12, "annotations", F_STRING_MAP, NULL},
    {13, "ownerReferences", F_OPAQUE, NULL}, {14, "finalizers", F_STRINGS, NULL},
    {17, "managedFields", F_OPAQUE, NULL}, END,
};

/* k8s.io/api/authorization/v1 */
static const field selector_requirement[] = {
    {1, "key", F_STRING, NULL}, {2, "operator", F_STRING, NULL}, {3, "values", F_STRINGS, NULL},
    END,
};
static const field selector_attributes[] = {
    {1, "rawSelector", F_STRING, NULL}, {2, "requirements", F_MESSAGES, selector_requirement}, END,
};
static const field resource_attributes[] = {
    {1, "namespace", F_STRING, NULL}, {2, "verb", F_STRING, NULL}, {3, "group", F_STRING, NULL},
    {4, "version", F_STRING, NULL}, {5, "resource", F_STRING, NULL},
    {6, "subresource", F_STRING, NULL}, {7, "name", F_STRING, NULL},
    {8, "fieldSelector", F_MESSAGE, selector_attributes},
    {9, "labelSelector", F_MESSAGE, selector_attributes}, END,
};
static const field non_resource_attributes[] = {
    {1, "path", F_STRING, NULL}, {2, "verb", F_STRING, NULL}, END,
};
static const field ssar_spec[] = {
    {1, "resourceAttributes", F_MESSAGE, resource_attributes},
    {2, "nonResourceAttributes", F_MESSAGE, non_resource_attributes}, END,
};
static const field ssar[] = {
    {1, "metadata", F_MESSAGE, object_meta}, {2, "spec", F_MESSAGE, ssar_spec},
    {3, "status", F_MESSAGE, none}, END,
};
static const field ssrr_spec[] = {{1, "namespace", F_STRING, NULL}, END};
static const field ssrr[] = {
    {1, "metadata", F_MESSAGE, object_meta}, {2, "spec", F_MESSAGE, ssrr_spec},
    {3, "status", F_MESSAGE, none}, END,
};
/* k8s.io/api/authentication/v1 */
static const field ssr[] = {
    {1, "metadata", F_MESSAGE, object_meta}, {2, "status", F_MESSAGE, none}, END,
};

static const struct {
    const char *api_version, *kind;
    const field *fields;
} kinds[] = {
    {"authorization.k8s.io/v1", "SelfSubjectAccessReview", ssar},
    {"authorization.k8s.io/v1", "SelfSubjectRulesReview", ssrr},
    {"authentication.k8s.io/v1", "SelfSubjectReview", ssr},
};

/* ---- wire format -------------------------------------------------------------------------------- */

typedef struct rd {
    const unsigned char *p, *end;
} rd;

static int varint(rd *r, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->p == r->end)
            return -1;
        unsigned char b = *r->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

/* The next field: *num, *wt; for wire type 2 *sub is its bytes, for 0 *v its value. */
static int next(rd *r, unsigned *num, unsigned *wt, rd *sub, uint64_t *v)
{
    uint64_t key;
    if (varint(r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
        return -1;
    *num = (unsigned)(key >> 3);
    *wt = key & 7;
    switch (*wt) {
    case 0:
        return varint(r, v);
    case 1:
    case 5: {
        size_t n = *wt == 1 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return -1;
        r->p += n;
        return 0;
    }
    case 2: {
        uint64_t n;
        if (varint(r, &n) < 0 || n > (uint64_t)(r->end - r->p))
            return -1;
        sub->p = r->p;
        sub->end = r->p + n;
        r->p += n;
        return 0;
    }
    }
    return -1; /* groups (3, 4) are not used by Kubernetes */
}

static json_t *bytes_string(const rd *b)
{
    return json_stringn((const char *)b->p, (size_t)(b->end - b->p)); /* NULL if not UTF-8 */
}

/* metav1.Time {seconds, nanos} as its JSON: null for the zero time, else RFC 3339 (UTC). */
static json_t *time_json(rd b)
{
    int64_t secs = 0;
    unsigned num, wt;
    rd sub;
    uint64_t v = 0;
    while (b.p < b.end) {
        if (next(&b, &num, &wt, &sub, &v) < 0)
            return NULL;
        if (num == 1 && wt == 0)
            secs = (int64_t)v;
    }
    if (!secs)
        return json_null();
    time_t t = (time_t)secs;
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return NULL;
    return json_string(buf);
}

static json_t *message(rd b, const field *fields, int depth);

static int map_entry(rd b, json_t *obj)
{
    json_t *k = NULL, *val = NULL;
    unsigned num, wt;
    rd sub;
    uint64_t v;
    while (b.p < b.end) {
        if (next(&b, &num, &wt, &sub, &v) < 0)
            goto fail;
        if (wt == 2 && (num == 1 || num == 2)) {
            json_t **slot = num == 1 ? &k : &val;
            json_decref(*slot);
            if (!(*slot = bytes_string(&sub)))
                goto fail;
        }
    }
    json_object_set_new(obj, k ? json_string_value(k) : "", val ? val : json_string(""));
    json_decref(k);
    return 0;
fail:
    json_decref(k);
    json_decref(val);
    return -1;
}

/* One field's value into obj; -1 for a malformed value. */
static int set_field(json_t *obj, const field *f, unsigned wt, rd sub, uint64_t v, int depth)
{
    json_t *val = NULL;
    switch (f->type) {
    case F_INT:
        if (wt != 0)
            return -1;
        return json_object_set_new(obj, f->name, json_integer((json_int_t)v));
    case F_OPAQUE:
        return json_object_set_new(obj, f->name, json_true());
    default:
        break;
    }
    if (wt != 2)
        return -1;
    switch (f->type) {
    case F_STRING:
        val = bytes_string(&sub);
        break;
    case F_TIME:
        val = time_json(sub);
        break;
    case F_MESSAGE:
        val = message(sub, f->sub, depth + 1);
        break;
    case F_MESSAGES:
    case F_STRINGS: {
        json_t *arr = json_object_get(obj, f->name);
        if (!arr) {
            arr = json_array();
            json_object_set_new(obj, f->name, arr);
        }
        json_t *item = f->type == F_STRINGS ? bytes_string(&sub) : message(sub, f->sub, depth + 1);
        return item ? json_array_append_new(arr, item) : -1;
    }
    case F_STRING_MAP: {
        json_t *m = json_object_get(obj, f->name);
        if (!m) {
            m = json_object();
            json_object_set_new(obj, f->name, m);
        }
        return map_entry(sub, m);
    }
    default:
        return -1;
    }
    return val ? json_object_set_new(obj, f->name, val) : -1;
}

static json_t *message(rd b, const field *fields, int depth)
{
    if (depth > 16)
        return NULL;
    json_t *obj = json_object();
    unsigned num, wt;
    rd sub = {0};
    uint64_t v = 0;
    while (b.p < b.end) {
        if (next(&b, &num, &wt, &sub, &v) < 0)
            goto fail;
        for (const field *f = fields; f->num; f++)
            if (f->num == num && set_field(obj, f, wt, sub, v, depth) < 0)
                goto fail;
    }
    return obj;
fail:
    json_decref(obj);
    return NULL;
}

static int fail(char **err, const char *msg)
{
    *err = strdup(msg);
    return -1;
}

int protobuf_decode(const void *data, size_t len, json_t **out, char **err)
{
    static const unsigned char magic[4] = {'k', '8', 's', 0};
    *out = NULL;
    *err = NULL;
    if (len < 4 || memcmp(data, magic, 4))
        return fail(err, "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]");
    rd r = {(const unsigned char *)data + 4, (const unsigned char *)data + len};
    rd raw = {0}, tm = {0}, sub;
    unsigned num, wt;
    uint64_t v;
    int has_raw = 0;
    while (r.p < r.end) {
        if (next(&r, &num, &wt, &sub, &v) < 0)
            return fail(err, "unexpected EOF");
        if (num == 1 && wt == 2)
            tm = sub;
        else if (num == 2 && wt == 2) {
            raw = sub;
            has_raw = 1;
        }
    }
    const char *av = NULL, *kind = NULL;
    json_t *type_meta = message(tm, (const field[]){{1, "apiVersion", F_STRING, NULL},
                                                   {2, "kind", F_STRING, NULL}, END}, 0);
    if (!type_meta)
        return fail(err, "unexpected EOF");
    av = json_string_value(json_object_get(type_meta, "apiVersion"));
    kind = json_string_value(json_object_get(type_meta, "kind"));
    const field *fields = NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (av && kind && !strcmp(av, kinds[i].api_version) && !strcmp(kind, kinds[i].kind))
            fields = kinds[i].fields;
    if (!fields || !has_raw) {
        if (asprintf(err, "no kind \"%s\" is registered for version \"%s\"", kind ? kind : "",
                     av ? av : "") < 0)
            *err = NULL;
        json_decref(type_meta);
        return -1;
    }
    json_t *obj = message(raw, fields, 0);
    if (!obj) {
        json_decref(type_meta);
        return fail(err, "unexpected EOF");
    }
    /* apiVersion and kind first, as a JSON client writes them */
    json_t *res = json_pack("{s:s, s:s}", "apiVersion", av, "kind", kind);
    json_object_update(res, obj);
    json_decref(obj);
    json_decref(type_meta);
    *out = res;
    return 0;
}
