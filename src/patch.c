/* patch — JSON merge patch (RFC 7386) and JSON patch (RFC 6902) over jansson values.
 *
 * Both entry points work on a private deep copy of the target, so the caller's value is never
 * touched and the result shares nothing with it (or with the patch).
 *
 * patch_json runs in two phases:
 *   1. validate the whole document (shape, op names, required members, pointer syntax, the op
 *      cap) — any fault here is PATCH_ERR_MALFORMED / PATCH_ERR_TOO_MANY, before anything runs;
 *   2. apply the ops in order to the working copy — the first op that cannot be applied throws
 *      the copy away and returns PATCH_ERR_APPLY, so a patch applies completely or not at all.
 *
 * Error texts follow evanphx/json-patch (what the apiserver uses), so clients see familiar words.
 *
 * Invariants:
 *   1. A JSON pointer reaching the apply phase is syntactically valid (empty, or '/'-led with
 *      every '~' followed by '0' or '1'); ptr_next relies on it.
 *   2. Array indices are strict RFC 6901: "0" or [1-9][0-9]*; "-" names the slot past the end and
 *      is only usable as an add target. No negative indices.
 *   3. Caps: at most PATCH_MAX_OPS ops, at most COPY_MAX_BYTES copied by "copy" ops in total.
 *   4. Every error message is valid UTF-8 (it is built from parsed JSON strings and ASCII), so
 *      the server can embed it in a Status body.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "patch.h"

#define OP_ECHO_MAX 256 /* bytes of an offending op quoted in a "malformed" message */
/* Cap on the total bytes (compact JSON) that "copy" ops of one patch may add: without it twenty
 * ops copying the root into itself grow the document a millionfold. The apiserver's default
 * (JSONPatchMaxCopyBytes) is the same 3 MiB. */
#define COPY_MAX_BYTES (3 * 1024 * 1024)

/* ---- errors ---------------------------------------------------------------------------------- */

static int fail(char **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char **err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(err, fmt, ap) < 0)
            *err = NULL;
        va_end(ap);
    }
    return code;
}

static int oom(char **err)
{
    return fail(err, PATCH_ERR_APPLY, "out of memory");
}

/* ---- merge patch (RFC 7386) ------------------------------------------------------------------ */

/* MergePatch(t, p) from RFC 7386 §2. Takes ownership of t (which may be NULL: "undefined") and
 * edits it in place; returns a new reference, or NULL when out of memory. */
static json_t *merge_steal(json_t *t, const json_t *p)
{
    if (!json_is_object(p)) {
        json_decref(t);
        return json_deep_copy(p);
    }
    if (!json_is_object(t)) {
        json_decref(t);
        if (!(t = json_object()))
            return NULL;
    }
    json_t *pm = (json_t *)p; /* the iterator API is not const-correct; p is only read */
    for (void *it = json_object_iter(pm); it; it = json_object_iter_next(pm, it)) {
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        json_t *v = json_object_iter_value(it);
        if (json_is_null(v)) {
            json_object_deln(t, key, klen);
            continue;
        }
        json_t *m = merge_steal(json_incref(json_object_getn(t, key, klen)), v);
        if (!m || json_object_setn_new(t, key, klen, m)) {
            json_decref(t);
            return NULL;
        }
    }
    return t;
}

json_t *patch_merge(const json_t *target, const json_t *patch)
{
    assert(patch);
    /* Only an object patch looks at the target; don't copy it for nothing. */
    json_t *t = json_is_object(patch) && target ? json_deep_copy(target) : NULL;
    return merge_steal(t, patch);
}

/* ---- strategic merge patch ----------------------------------------------------------------
 *
 * kube's strategic merge patch for the core kinds this server stores (pods, services,
 * namespaces, events), as kubectl apply, kubectl patch and the Python client's patch_* send it:
 * a JSON merge patch, except that the lists below are merged by their patchMergeKey (or, for
 * primitive lists with patchStrategy merge, as a set), and the directives $patch (replace,
 * delete, merge), $retainKeys, $setElementOrder/<list> and $deleteFromPrimitiveList/<list> are
 * carried out instead of being stored. Lists not in the table are replaced, as in a merge patch.
 * $setElementOrder puts the listed elements in its order and keeps the others after them.
 *
 * The table: where a list is, as its path from the object's root with "*" for a list element,
 * and its merge key ("" = a primitive list merged as a set). Taken from the patchMergeKey and
 * patchStrategy tags of k8s.io/api/core/v1 and meta/v1. */
typedef struct smp_list {
    const char *kind; /* NULL: every kind */
    const char *path;
    const char *key;
} smp_list;

static const smp_list smp_lists[] = {
    {NULL, "metadata.finalizers", ""},
    {NULL, "metadata.ownerReferences", "uid"},
    {"Pod", "spec.containers", "name"},
    {"Pod", "spec.initContainers", "name"},
    {"Pod", "spec.ephemeralContainers", "name"},
    {"Pod", "spec.containers.*.ports", "containerPort"},
    {"Pod", "spec.initContainers.*.ports", "containerPort"},
    {"Pod", "spec.ephemeralContainers.*.ports", "containerPort"},
    {"Pod", "spec.containers.*.env", "name"},
    {"Pod", "spec.initContainers.*.env", "name"},
    {"Pod", "spec.ephemeralContainers.*.env", "name"},
    {"Pod", "spec.containers.*.volumeMounts", "mountPath"},
    {"Pod", "spec.initContainers.*.volumeMounts", "mountPath"},
    {"Pod", "spec.ephemeralContainers.*.volumeMounts", "mountPath"},
    {"Pod", "spec.containers.*.volumeDevices", "devicePath"},
    {"Pod", "spec.initContainers.*.volumeDevices", "devicePath"},
    {"Pod", "spec.containers.*.resizePolicy", "resourceName"},
    {"Pod", "spec.initContainers.*.resizePolicy", "resourceName"},
    {"Pod", "spec.volumes", "name"},
    {"Pod", "spec.imagePullSecrets", "name"},
    {"Pod", "spec.hostAliases", "ip"},
    {"Pod", "spec.topologySpreadConstraints", "topologyKey"},
    {"Pod", "spec.resourceClaims", "name"},
    {"Pod", "spec.schedulingGates", "name"},
    {"Pod", "status.conditions", "type"},
    {"Pod", "status.podIPs", "ip"},
    {"Pod", "status.hostIPs", "ip"},
    {"Service", "spec.ports", "port"},
    {"Service", "status.conditions", "type"},
    {"Namespace", "status.conditions", "type"},
};

enum { SMP_PATH_MAX = 256, SMP_DEPTH_MAX = 64 };

typedef struct smp {
    const char *kind;
    char *err;
    int rc;
} smp;

static int smp_fail(smp *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int smp_fail(smp *c, int rc, const char *fmt, ...)
{
    if (!c->rc) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&c->err, fmt, ap) < 0)
            c->err = NULL;
        va_end(ap);
        c->rc = rc;
    }
    return -1;
}

static const smp_list *smp_find(const smp *c, const char *path)
{
    for (size_t i = 0; i < sizeof smp_lists / sizeof *smp_lists; i++)
        if ((!smp_lists[i].kind || (c->kind && !strcmp(smp_lists[i].kind, c->kind))) &&
            !strcmp(smp_lists[i].path, path))
            return &smp_lists[i];
    return NULL;
}

static int smp_path(char *out, const char *base, const char *key)
{
    int n = snprintf(out, SMP_PATH_MAX, "%s%s%s", base, *base ? "." : "", key);
    return n > 0 && n < SMP_PATH_MAX ? 0 : -1;
}

static json_t *smp_map(smp *c, const json_t *orig, const json_t *patch, const char *path, int depth);

/* A patch value with no original under it: its directives carried out on nothing. */
static json_t *smp_fresh(smp *c, const json_t *v, const char *path, int depth)
{
    if (json_is_object(v))
        return smp_map(c, NULL, v, path, depth);
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        const json_t *e;
        char ip[SMP_PATH_MAX];
        if (smp_path(ip, path, "*") < 0)
            return a;
        json_array_foreach(v, i, e) {
            const char *d = json_string_value(json_object_get(e, "$patch"));
            if (d && (!strcmp(d, "replace") || !strcmp(d, "delete")))
                continue;
            json_array_append_new(a, smp_fresh(c, e, ip, depth + 1));
        }
        return a;
    }
    return json_deep_copy(v);
}

static int smp_key_equal(const json_t *a, const json_t *b, const char *key)
{
    const json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
    return x && y && json_equal(x, y);
}

/* A list of the table merged with the patch's list. */
static json_t *smp_list_merge(smp *c, const json_t *orig, const json_t *patch, const smp_list *l,
                              const char *path, int depth)
{
    size_t i;
    const json_t *pe;
    char ip[SMP_PATH_MAX];
    if (smp_path(ip, path, "*") < 0) {
        smp_fail(c, PATCH_ERR_APPLY, "path too deep: %s", path);
        return NULL;
    }
    json_array_foreach(patch, i, pe) { /* {"$patch": "replace"} anywhere: the list as sent */
        const char *d = json_string_value(json_object_get(pe, "$patch"));
        if (json_is_object(pe) && d && !strcmp(d, "replace"))
            return smp_fresh(c, patch, path, depth);
    }
    json_t *res = json_is_array(orig) ? json_deep_copy(orig) : json_array();
    json_array_foreach(patch, i, pe) {
        if (!*l->key) { /* a set of primitives */
            size_t k;
            const json_t *re;
            int have = 0;
            json_array_foreach(res, k, re)
                have |= json_equal(re, pe);
            if (!have)
                json_array_append(res, (json_t *)pe);
            continue;
        }
        if (!json_is_object(pe) || !json_object_get(pe, l->key)) {
            smp_fail(c, PATCH_ERR_APPLY, "map: %s does not contain declared merge key: %s",
                     json_is_object(pe) ? "the element" : "a non-map element", l->key);
            json_decref(res);
            return NULL;
        }
        const char *d = json_string_value(json_object_get(pe, "$patch"));
        size_t k, found = (size_t)-1;
        json_t *re;
        json_array_foreach(res, k, re)
            if (smp_key_equal(re, pe, l->key)) {
                found = k;
                break;
            }
        if (d && !strcmp(d, "delete")) {
            for (k = json_array_size(res); k-- > 0;)
                if (smp_key_equal(json_array_get(res, k), pe, l->key))
                    json_array_remove(res, k);
            continue;
        }
        json_t *m = smp_map(c, found == (size_t)-1 ? NULL : json_array_get(res, found), pe, ip, depth + 1);
        if (!m) {
            json_decref(res);
            return NULL;
        }
        if (found == (size_t)-1)
            json_array_append_new(res, m);
        else
            json_array_set_new(res, found, m);
    }
    return res;
}

/* $setElementOrder/<field>: the elements it names, in its order, then the rest as they were. */
static void smp_order(json_t *list, const json_t *order, const char *key)
{
    json_t *out = json_array(), *rest = json_array();
    size_t i, k;
    const json_t *o;
    json_t *e;
    json_array_foreach(order, i, o)
        json_array_foreach(list, k, e)
            if (key && *key ? smp_key_equal(e, o, key) : json_equal(e, o))
                json_array_append(out, e);
    json_array_foreach(list, k, e) {
        int named = 0;
        json_array_foreach(order, i, o)
            named |= key && *key ? smp_key_equal(e, o, key) : json_equal(e, o);
        if (!named)
            json_array_append(rest, e);
    }
    json_array_extend(out, rest);
    json_array_clear(list);
    json_array_extend(list, out);
    json_decref(out);
    json_decref(rest);
}

static json_t *smp_map(smp *c, const json_t *orig, const json_t *patch, const char *path, int depth)
{
    if (depth > SMP_DEPTH_MAX) {
        smp_fail(c, PATCH_ERR_APPLY, "patch nested too deep");
        return NULL;
    }
    const char *d = json_string_value(json_object_get(patch, "$patch"));
    if (d && strcmp(d, "replace") && strcmp(d, "merge") && strcmp(d, "delete")) {
        smp_fail(c, PATCH_ERR_MALFORMED, "Unknown patch type: %s in map: %s", d, path);
        return NULL;
    }
    json_t *res = d && !strcmp(d, "replace") ? json_object()
                  : json_is_object(orig)     ? json_deep_copy(orig)
                                             : json_object();
    const json_t *retain = json_object_get(patch, "$retainKeys");
    if (json_is_array(retain)) { /* keys not named are cleared before the merge */
        void *it = json_object_iter(res);
        while (it) {
            const char *k = json_object_iter_key(it);
            size_t i;
            const json_t *rk;
            int keep = 0;
            json_array_foreach(retain, i, rk)
                keep |= json_is_string(rk) && !strcmp(json_string_value(rk), k);
            it = keep ? json_object_iter_next(res, it) : (json_object_del(res, k), json_object_iter(res));
        }
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)patch, key, v) {
        char kp[SMP_PATH_MAX];
        if (!strcmp(key, "$patch") || !strcmp(key, "$retainKeys") ||
            !strncmp(key, "$setElementOrder/", 17))
            continue;
        if (!strncmp(key, "$deleteFromPrimitiveList/", 25)) {
            json_t *list = json_object_get(res, key + 25);
            size_t i, k;
            const json_t *dv;
            json_array_foreach(v, i, dv)
                for (k = json_array_size(list); k-- > 0;)
                    if (json_equal(json_array_get(list, k), dv))
                        json_array_remove(list, k);
            continue;
        }
        if (smp_path(kp, path, key) < 0) {
            smp_fail(c, PATCH_ERR_APPLY, "path too deep: %s", path);
            json_decref(res);
            return NULL;
        }
        json_t *m;
        const char *vd = json_string_value(json_object_get(v, "$patch"));
        const smp_list *l;
        if (json_is_null(v) || (json_is_object(v) && vd && !strcmp(vd, "delete"))) {
            json_object_del(res, key);
            continue;
        } else if (json_is_object(v)) {
            m = smp_map(c, json_object_get(res, key), v, kp, depth + 1);
        } else if (json_is_array(v) && (l = smp_find(c, kp))) {
            m = smp_list_merge(c, json_object_get(res, key), v, l, kp, depth + 1);
        } else {
            m = smp_fresh(c, v, kp, depth + 1);
        }
        if (!m) {
            json_decref(res);
            return NULL;
        }
        json_object_set_new(res, key, m);
    }
    json_object_foreach((json_t *)patch, key, v) {
        char kp[SMP_PATH_MAX];
        json_t *list;
        if (strncmp(key, "$setElementOrder/", 17) || !json_is_array(v) ||
            !json_is_array(list = json_object_get(res, key + 17)) || smp_path(kp, path, key + 17) < 0)
            continue;
        const smp_list *l = smp_find(c, kp);
        smp_order(list, v, l ? l->key : NULL);
    }
    return res;
}

int patch_strategic(const json_t *target, const json_t *patch, const char *kind, json_t **out,
                    char **err)
{
    smp c = {kind, NULL, 0};
    *out = NULL;
    if (err)
        *err = NULL;
    if (!json_is_object(patch)) {
        if (err)
            *err = strdup("a strategic merge patch must be a JSON object");
        return PATCH_ERR_MALFORMED;
    }
    json_t *r = smp_map(&c, target, patch, "", 0);
    if (!r) {
        if (err)
            *err = c.err;
        else
            free(c.err);
        return c.rc ? c.rc : PATCH_ERR_APPLY;
    }
    free(c.err);
    *out = r;
    return 0;
}

/* ---- JSON values ----------------------------------------------------------------------------- */

/* 1 and 1.0 are the same JSON number; jansson keeps them as different types. An integer equals a
 * real only when the real is integral and the conversion is exact. */
static int number_equal(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_real(a) && json_is_real(b))
        return json_real_value(a) == json_real_value(b);
    const json_t *i = json_is_integer(a) ? a : b, *r = json_is_integer(a) ? b : a;
    double d = json_real_value(r);
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) /* also rejects NaN */
        return 0;
    json_int_t n = (json_int_t)d;
    return (double)n == d && n == json_integer_value(i);
}

/* Deep JSON equality as RFC 6902 §4.6 defines it for "test". */
static int value_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return number_equal(a, b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        json_t *am = (json_t *)a;
        for (void *it = json_object_iter(am); it; it = json_object_iter_next(am, it)) {
            json_t *bv = json_object_getn(b, json_object_iter_key(it), json_object_iter_key_len(it));
            if (!bv || !value_equal(json_object_iter_value(it), bv))
                return 0;
        }
        return 1;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(a);
        if (n != json_array_size(b))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (!value_equal(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
    default: /* true, false, null: the type is the value */
        return 1;
    }
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

/* ---- JSON pointers (RFC 6901) ---------------------------------------------------------------- */

/* NULL when ptr is a valid pointer, else why not. */
static const char *ptr_check(const char *ptr)
{
    if (*ptr && *ptr != '/')
        return "must be empty or start with '/'";
    for (const char *s = ptr; *s; s++)
        if (*s == '~' && s[1] != '0' && s[1] != '1')
            return "'~' must be followed by '0' or '1'";
    return NULL;
}

/* Decodes the reference token after the '/' at *p into tok (room for strlen(*p) bytes) and moves
 * *p to the next '/' or the end. ~1 → '/', then ~0 → '~', in one left-to-right pass. */
static void ptr_next(const char **p, char *tok)
{
    const char *s = *p + 1;
    while (*s && *s != '/') {
        if (*s == '~') {
            *tok++ = s[1] == '0' ? '~' : '/';
            s += 2;
        } else {
            *tok++ = *s++;
        }
    }
    *tok = '\0';
    *p = s;
}

/* Strict array index (invariant 2). Returns 0 and *idx, or -1 when tok is not an index. An index
 * too big for size_t reads as SIZE_MAX: syntactically fine, out of range for every array. */
static int parse_index(const char *tok, size_t *idx)
{
    if (tok[0] < '0' || tok[0] > '9' || (tok[0] == '0' && tok[1]))
        return -1;
    size_t n = 0;
    for (const char *s = tok; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        n = n > (SIZE_MAX - d) / 10 ? SIZE_MAX : n * 10 + d;
    }
    *idx = n;
    return 0;
}

/* Why a token could not be used on its container. */
enum leaf { LEAF_OK, LEAF_NO_KEY, LEAF_BAD_INDEX, LEAF_OOM };

static enum leaf leaf_get(json_t *c, const char *tok, json_t **out)
{
    size_t i;
    if (json_is_object(c))
        return (*out = json_object_get(c, tok)) ? LEAF_OK : LEAF_NO_KEY;
    if (parse_index(tok, &i) || i >= json_array_size(c))
        return LEAF_BAD_INDEX;
    *out = json_array_get(c, i);
    return LEAF_OK;
}

/* Steals v whatever the outcome. */
static enum leaf leaf_add(json_t *c, const char *tok, json_t *v)
{
    size_t i, n;
    if (json_is_object(c))
        return json_object_set_new(c, tok, v) ? LEAF_OOM : LEAF_OK;
    n = json_array_size(c);
    if (!strcmp(tok, "-"))
        i = n;
    else if (parse_index(tok, &i) || i > n) {
        json_decref(v);
        return LEAF_BAD_INDEX;
    }
    return json_array_insert_new(c, i, v) ? LEAF_OOM : LEAF_OK;
}

/* Steals v whatever the outcome; the slot must already exist. */
static enum leaf leaf_replace(json_t *c, const char *tok, json_t *v)
{
    json_t *old;
    enum leaf r = leaf_get(c, tok, &old);
    if (r != LEAF_OK) {
        json_decref(v);
        return r;
    }
    if (json_is_object(c))
        return json_object_set_new(c, tok, v) ? LEAF_OOM : LEAF_OK;
    size_t i;
    parse_index(tok, &i); /* leaf_get vetted it */
    return json_array_set_new(c, i, v) ? LEAF_OOM : LEAF_OK;
}

static enum leaf leaf_remove(json_t *c, const char *tok)
{
    size_t i;
    if (json_is_object(c))
        return json_object_del(c, tok) ? LEAF_NO_KEY : LEAF_OK;
    if (parse_index(tok, &i) || i >= json_array_size(c))
        return LEAF_BAD_INDEX;
    json_array_remove(c, i);
    return LEAF_OK;
}

/* Walks every token of a non-empty pointer but the last. On success returns 0, *parent is the
 * object or array that holds the target (borrowed from doc) and *tok the decoded last token
 * (malloc'ed, caller frees). Returns -1 when some step is missing or is not a container, or -2
 * when out of memory. */
static int resolve(json_t *doc, const char *ptr, json_t **parent, char **tok)
{
    assert(*ptr == '/');
    char *t = malloc(strlen(ptr) + 1);
    if (!t)
        return -2;
    const char *p = ptr;
    json_t *cur = doc;
    ptr_next(&p, t);
    while (*p) {
        if ((!json_is_object(cur) && !json_is_array(cur)) || leaf_get(cur, t, &cur) != LEAF_OK) {
            free(t);
            return -1;
        }
        ptr_next(&p, t);
    }
    if (!json_is_object(cur) && !json_is_array(cur)) {
        free(t);
        return -1;
    }
    *parent = cur;
    *tok = t;
    return 0;
}

/* The "error in <op> for <what>: '<ptr>': <why>" message of a failed leaf step. */
static int leaf_fail(char **err, enum leaf r, const char *op, const char *what, const char *ptr,
                     const char *verb, const char *tok)
{
    switch (r) {
    case LEAF_NO_KEY:
        return fail(err, PATCH_ERR_APPLY,
                    "error in %s for %s: '%s': unable to %s nonexistent key: %s: missing value", op,
                    what, ptr, verb, tok);
    case LEAF_BAD_INDEX:
        return fail(err, PATCH_ERR_APPLY,
                    "error in %s for %s: '%s': Unable to access invalid index: %s: invalid index "
                    "referenced", op, what, ptr, tok);
    default:
        return oom(err);
    }
}

/* ---- operations ------------------------------------------------------------------------------ */

/* Puts v (stolen) at path as "add" does; also the second half of move and copy (op names it). */
static int put(json_t **doc, const char *path, json_t *v, const char *op, char **err)
{
    json_t *parent;
    char *tok;
    if (!v)
        return oom(err);
    if (!*path) {
        json_decref(*doc);
        *doc = v;
        return 0;
    }
    int r = resolve(*doc, path, &parent, &tok);
    if (r) {
        json_decref(v);
        if (r == -2)
            return oom(err);
        if (!strcmp(op, "add"))
            return fail(err, PATCH_ERR_APPLY,
                        "add operation does not apply: doc is missing path: \"%s\": missing value",
                        path);
        return fail(err, PATCH_ERR_APPLY,
                    "%s operation does not apply: doc is missing destination path: %s: missing value",
                    op, path);
    }
    enum leaf l = leaf_add(parent, tok, v);
    int rc = l == LEAF_OK ? 0 : leaf_fail(err, l, op, "path", path, "add", tok);
    free(tok);
    return rc;
}

static int op_remove(json_t **doc, const char *path, char **err)
{
    json_t *parent;
    char *tok;
    if (!*path)
        return fail(err, PATCH_ERR_APPLY,
                    "remove operation does not apply: cannot remove the whole document");
    int r = resolve(*doc, path, &parent, &tok);
    if (r == -2)
        return oom(err);
    if (r)
        return fail(err, PATCH_ERR_APPLY,
                    "remove operation does not apply: doc is missing path: \"%s\": missing value",
                    path);
    enum leaf l = leaf_remove(parent, tok);
    int rc = l == LEAF_OK ? 0 : leaf_fail(err, l, "remove", "path", path, "remove", tok);
    free(tok);
    return rc;
}

static int op_replace(json_t **doc, const char *path, const json_t *value, char **err)
{
    json_t *parent, *v = json_deep_copy(value);
    char *tok;
    if (!v)
        return oom(err);
    if (!*path) {
        json_decref(*doc);
        *doc = v;
        return 0;
    }
    int r = resolve(*doc, path, &parent, &tok);
    if (r) {
        json_decref(v);
        if (r == -2)
            return oom(err);
        return fail(err, PATCH_ERR_APPLY,
                    "replace operation does not apply: doc is missing path: %s: missing value", path);
    }
    enum leaf l = leaf_replace(parent, tok, v);
    free(tok);
    if (l == LEAF_OOM)
        return oom(err);
    if (l != LEAF_OK)
        return fail(err, PATCH_ERR_APPLY,
                    "replace operation does not apply: doc is missing key: %s: missing value", path);
    return 0;
}

/* The value at from (borrowed), for move and copy. With detach set the value is also taken out
 * of the document and *val is then a new reference. */
static int get_from(json_t *doc, const char *from, int detach, json_t **val, const char *op,
                    char **err)
{
    json_t *parent;
    char *tok;
    if (!*from) {
        assert(!detach); /* moving the root is either a no-op or into its own child */
        *val = doc;
        return 0;
    }
    int r = resolve(doc, from, &parent, &tok);
    if (r == -2)
        return oom(err);
    if (r)
        return fail(err, PATCH_ERR_APPLY,
                    "%s operation does not apply: doc is missing from path: \"%s\": missing value",
                    op, from);
    enum leaf l = leaf_get(parent, tok, val);
    int rc = l == LEAF_OK ? 0 : leaf_fail(err, l, op, "from", from, "get", tok);
    if (!rc && detach) {
        json_incref(*val);
        leaf_remove(parent, tok);
    }
    free(tok);
    return rc;
}

static int op_move(json_t **doc, const char *from, const char *path, char **err)
{
    json_t *v;
    size_t fl = strlen(from);
    /* Pointers are canonical (only ~0 and ~1 escape), so a prefix test on the raw text works. */
    if (!strncmp(path, from, fl) && path[fl] == '/')
        return fail(err, PATCH_ERR_APPLY,
                    "move operation does not apply: cannot move \"%s\" into its own child \"%s\"",
                    from, path);
    if (!strcmp(from, path)) /* RFC 6902 §4.4 allows it; it must still exist, and changes nothing */
        return get_from(*doc, from, 0, &v, "move", err);
    int rc = get_from(*doc, from, 1, &v, "move", err);
    return rc ? rc : put(doc, path, v, "move", err);
}

/* *copied: bytes copied so far by this patch (see COPY_MAX_BYTES). */
static int op_copy(json_t **doc, const char *from, const char *path, size_t *copied, char **err)
{
    json_t *v;
    int rc = get_from(*doc, from, 0, &v, "copy", err);
    if (rc)
        return rc;
    *copied += json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY); /* sizes, writes nothing */
    if (*copied > COPY_MAX_BYTES)
        return fail(err, PATCH_ERR_APPLY,
                    "Unable to complete the copy, the accumulated size increase of copy is %zu, "
                    "exceeding the limit %d", *copied, COPY_MAX_BYTES);
    return put(doc, path, json_deep_copy(v), "copy", err);
}

static int op_test(json_t **doc, const char *path, const json_t *value, char **err)
{
    json_t *parent, *v = *doc;
    char *tok;
    if (*path) {
        int r = resolve(*doc, path, &parent, &tok);
        if (r == -2)
            return oom(err);
        if (r)
            return fail(err, PATCH_ERR_APPLY,
                        "test operation does not apply: is missing path: %s: missing value", path);
        enum leaf l = leaf_get(parent, tok, &v);
        int rc = l == LEAF_BAD_INDEX ? leaf_fail(err, l, "test", "path", path, "get", tok) : 0;
        free(tok);
        if (rc)
            return rc;
        if (l != LEAF_OK) /* a missing member is unequal to anything, null included (RFC) */
            v = NULL;
    }
    if (!v || !value_equal(v, value))
        return fail(err, PATCH_ERR_APPLY, "testing value %s failed: test failed", path);
    return 0;
}

/* ---- the patch document ---------------------------------------------------------------------- */

enum kind { K_ADD, K_REMOVE, K_REPLACE, K_MOVE, K_COPY, K_TEST, K_UNKNOWN };

#define NEED_VALUE 1u
#define NEED_FROM  2u

static const struct {
    const char *name;
    unsigned needs;
} kinds[] = {
    [K_ADD] = {"add", NEED_VALUE},
    [K_REMOVE] = {"remove", 0},
    [K_REPLACE] = {"replace", NEED_VALUE},
    [K_MOVE] = {"move", NEED_FROM},
    [K_COPY] = {"copy", NEED_FROM},
    [K_TEST] = {"test", NEED_VALUE},
};

static enum kind kind_of(const json_t *op)
{
    const char *name = json_string_value(json_object_get(op, "op"));
    if (name)
        for (int k = 0; k < K_UNKNOWN; k++)
            if (!strcmp(name, kinds[k].name))
                return (enum kind)k;
    return K_UNKNOWN;
}

/* "invalid operation <op as compact JSON, capped>: <why>" → PATCH_ERR_MALFORMED. */
static int bad_op(char **err, const json_t *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad_op(char **err, const json_t *op, const char *fmt, ...)
{
    if (!err)
        return PATCH_ERR_MALFORMED;
    char *echo = json_dumps(op, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY), *why = NULL;
    if (echo && strlen(echo) > OP_ECHO_MAX) {
        size_t n = OP_ECHO_MAX;
        while (n && ((unsigned char)echo[n] & 0xC0) == 0x80) /* cut on a UTF-8 boundary */
            n--;
        memcpy(echo + n, "...", 4);
    }
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&why, fmt, ap) < 0)
        why = NULL;
    va_end(ap);
    fail(err, 0, "invalid operation %s: %s", echo ? echo : "?", why ? why : "?");
    free(echo);
    free(why);
    return PATCH_ERR_MALFORMED;
}

/* A string member that holds a JSON pointer: present, a string, well-formed. */
static int check_ptr(const json_t *op, const char *member, const char *missing, char **err)
{
    const json_t *m = json_object_get(op, member);
    const char *why;
    if (!m)
        return bad_op(err, op, "failed to decode '%s': %s: missing value", member, missing);
    if (!json_is_string(m))
        return bad_op(err, op, "failed to decode '%s': expected a string, got %s", member,
                      type_name(m));
    if ((why = ptr_check(json_string_value(m))))
        return bad_op(err, op, "failed to decode '%s': invalid JSON pointer \"%s\": %s", member,
                      json_string_value(m), why);
    return 0;
}

static int validate_op(const json_t *op, char **err)
{
    if (!json_is_object(op))
        return bad_op(err, op, "an operation must be an object, got %s", type_name(op));
    enum kind k = kind_of(op);
    if (k == K_UNKNOWN) /* decodes; fails when its turn comes, after the ops before it (422) */
        return 0;
    if ((kinds[k].needs & NEED_VALUE) && !json_object_get(op, "value"))
        return bad_op(err, op,
                      "failed to decode 'value': operation, missing value field: missing value");
    int rc;
    if ((kinds[k].needs & NEED_FROM) &&
        (rc = check_ptr(op, "from", "operation, missing from field", err)))
        return rc;
    return check_ptr(op, "path", "operation missing path field", err);
}

int patch_json(const json_t *target, const json_t *ops, json_t **out, char **err)
{
    size_t i, copied = 0;
    const json_t *op;
    int rc;

    assert(target && out);
    if (err)
        *err = NULL;
    if (!json_is_array(ops))
        return fail(err, PATCH_ERR_MALFORMED, "a JSON patch must be an array of operations, got %s",
                    ops ? type_name(ops) : "nothing");
    if (json_array_size(ops) > PATCH_MAX_OPS)
        return fail(err, PATCH_ERR_TOO_MANY,
                    "The allowed maximum operations in a JSON patch is %d, got %zu", PATCH_MAX_OPS,
                    json_array_size(ops));
    json_array_foreach(ops, i, op)
        if ((rc = validate_op(op, err)))
            return rc;

    json_t *doc = json_deep_copy(target);
    if (!doc)
        return oom(err);
    json_array_foreach(ops, i, op) {
        const char *path = json_string_value(json_object_get(op, "path"));
        const char *from = json_string_value(json_object_get(op, "from"));
        const json_t *value = json_object_get(op, "value");
        switch (kind_of(op)) {
        case K_ADD: rc = put(&doc, path, json_deep_copy(value), "add", err); break;
        case K_REMOVE: rc = op_remove(&doc, path, err); break;
        case K_REPLACE: rc = op_replace(&doc, path, value, err); break;
        case K_MOVE: rc = op_move(&doc, from, path, err); break;
        case K_COPY: rc = op_copy(&doc, from, path, &copied, err); break;
        case K_TEST: rc = op_test(&doc, path, value, err); break;
        default: {
            const json_t *o = json_object_get(op, "op");
            rc = fail(err, PATCH_ERR_APPLY, "Unexpected kind: %s",
                      json_is_string(o) ? json_string_value(o) : "unknown");
        }
        }
        if (rc) {
            json_decref(doc);
            return rc;
        }
    }
    *out = doc;
    return 0;
}
