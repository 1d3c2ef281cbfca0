/* validate — object validation with apimachinery's and training-operator v1.9's exact texts.
 *
 * Three layers, run by the API in this order (kube-apiserver's for a CR, then the webhook):
 *
 *   1. validate_object_meta        apimachinery pkg/api/validation/objectmeta.go
 *                                  (ValidateObjectMetaAccessor with NameIsDNSSubdomain for CRs)
 *   2. validate_pytorchjob_schema  the CRD's structural schema as kube-openapi checks it
 *                                  (apiextensions-apiserver pkg/apiserver/validation):
 *                                  types and `required`, nulls already pruned     → 422 Invalid
 *      (_prune: the same walk removes what the schema does not know, as kube's decoding of a
 *      CR prunes it, and lists the paths for fieldValidation; validate_core_prune does the
 *      same for the built-in kinds, in the document's order, as their Go decoding meets them)
 *   3. validate_pytorchjob_webhook training-operator v1.9 pkg/webhooks/pytorch   → 403 Forbidden
 *
 * And for the built-in kinds the rules manifests get wrong: validate_pod_spec,
 * validate_pod_update (ValidatePodUpdate), validate_service_spec (ValidateService); and the
 * defaulting a pod gets on decode (validate_core_defaults, with SetDefaults_Pod's requests from
 * limits) and its QoS class (validate_pod_qos).
 *
 * Upstream iterates Go maps (labels, replica specs, schema properties) in random order; here maps
 * are walked in sorted key order and schema properties in the CRD's (alphabetical) order, so a
 * given object always yields the same message. JSON null is treated as absent everywhere: the API
 * server prunes nulls of non-nullable CRD fields before validation and admission. */
#include "validate.h"
#include "sbuf.h"
#include "quantity.h"
#include "base64.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* field.TooLong's detail as released through kube 1.31 (recent apimachinery prints "may not be
 * more than 262144 bytes" instead; flip here if the target apiserver is newer). */
#define ANNOTATIONS_TOO_LONG "must have at most 262144 bytes"
#define TOTAL_ANNOTATION_SIZE_LIMIT 262144

/* ---- message lists (the []string that apimachinery's Is* helpers return) ------------------ */

static void oom(void)
{
    fputs("validate: out of memory\n", stderr);
    abort();
}

/* asprintf that aborts on allocation failure. */
static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    char *s;
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (rc < 0)
        oom();
    return s;
}

#define MSGS_MAX 8
typedef struct msgs {
    char *m[MSGS_MAX];
    int n;
} msgs;

static void msgs_add(msgs *ms, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msgs_add(msgs *ms, const char *fmt, ...)
{
    va_list ap;
    assert(ms->n < MSGS_MAX); /* no helper yields more than 4 */
    if (ms->n >= MSGS_MAX)
        return;
    va_start(ap, fmt);
    if (vasprintf(&ms->m[ms->n], fmt, ap) < 0)
        oom();
    va_end(ap);
    ms->n++;
}

static void msgs_free(msgs *ms)
{
    for (int i = 0; i < ms->n; i++)
        free(ms->m[i]);
    ms->n = 0;
}

/* Joined with sep; malloc'ed. */
static char *msgs_join(const msgs *ms, const char *sep)
{
    size_t len = 1;
    for (int i = 0; i < ms->n; i++)
        len += strlen(ms->m[i]) + strlen(sep);
    char *s = malloc(len);
    if (!s)
        oom();
    s[0] = '\0';
    for (int i = 0; i < ms->n; i++) {
        if (i)
            strcat(s, sep);
        strcat(s, ms->m[i]);
    }
    return s;
}

/* ---- apimachinery pkg/util/validation (texts as released in kube 1.2x-1.3x; the 2025 rewrite
 * into api/validate/content says "a valid label key" and "... bytes" in places) ----------- */

#define DNS1123_LABEL_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_LABEL_ERR                                                                      \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', " \
    "and must start and end with an alphanumeric character"
#define DNS1123_SUBDOMAIN_FMT DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"
#define DNS1123_SUBDOMAIN_ERR                                                                   \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' " \
    "or '.', and must start and end with an alphanumeric character"
#define DNS1035_LABEL_FMT "[a-z]([-a-z0-9]*[a-z0-9])?"
#define DNS1035_LABEL_ERR                                                                     \
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with " \
    "an alphabetic character, and end with an alphanumeric character"
#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QNAME_ERR                                                                           \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with " \
    "an alphanumeric character"
#define LABEL_VALUE_FMT "(" QNAME_FMT ")?"
#define LABEL_VALUE_ERR                                                                         \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or " \
    "'.', and must start and end with an alphanumeric character"

/* RegexError(msg, fmt, examples...): "<msg> (e.g. 'a',  or 'b', regex used for validation is
 * '<fmt>')" — the doubled space after each ',' before " or " is upstream's. */
#define RE_EX1(msg, fmt, a) msg " (e.g. '" a "', regex used for validation is '" fmt "')"
#define RE_EX2(msg, fmt, a, b) msg " (e.g. '" a "',  or '" b "', regex used for validation is '" fmt "')"
#define RE_EX3(msg, fmt, a, b, c)                                                          \
    msg " (e.g. '" a "',  or '" b "',  or '" c "', regex used for validation is '" fmt "')"

static const char msg_dns1123_label[] = RE_EX2(DNS1123_LABEL_ERR, DNS1123_LABEL_FMT, "my-name", "123-abc");
static const char msg_dns1123_subdomain[] = RE_EX1(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, "example.com");
static const char msg_dns1035_label[] = RE_EX2(DNS1035_LABEL_ERR, DNS1035_LABEL_FMT, "my-name", "abc-123");
static const char msg_qname[] = RE_EX3(QNAME_ERR, QNAME_FMT, "MyName", "my.name", "123-abc");
static const char msg_label_value[] = RE_EX3(LABEL_VALUE_ERR, LABEL_VALUE_FMT, "MyValue", "my_value", "12345");

static int is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static int is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

/* ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ on s[0..n) */
static int match_dns1123_label(const char *s, size_t n)
{
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return 0;
    return 1;
}

static int match_dns1123_subdomain(const char *s)
{
    size_t n = strlen(s);
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!match_dns1123_label(s + start, i - start))
                return 0;
            start = i + 1;
        }
    }
    return 1;
}

/* ^[a-z]([-a-z0-9]*[a-z0-9])?$ */
static int match_dns1035_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || !(s[0] >= 'a' && s[0] <= 'z') || !is_lower_alnum(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return 0;
    return 1;
}

/* ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$ */
static int match_qname_part(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

static void is_dns1123_label(msgs *ms, const char *v)
{
    size_t n = strlen(v);
    if (n > 63)
        msgs_add(ms, "must be no more than %d characters", 63);
    if (!match_dns1123_label(v, n)) {
        if (match_dns1123_subdomain(v))
            msgs_add(ms, "must not contain dots");
        else
            msgs_add(ms, "%s", msg_dns1123_label);
    }
}

static void is_dns1123_subdomain(msgs *ms, const char *v)
{
    if (strlen(v) > 253)
        msgs_add(ms, "must be no more than %d characters", 253);
    if (!match_dns1123_subdomain(v))
        msgs_add(ms, "%s", msg_dns1123_subdomain);
}

static void is_dns1035_label(msgs *ms, const char *v)
{
    if (strlen(v) > 63)
        msgs_add(ms, "must be no more than %d characters", 63);
    if (!match_dns1035_label(v))
        msgs_add(ms, "%s", msg_dns1035_label);
}

static void is_qualified_name(msgs *ms, const char *v)
{
    const char *slash = strchr(v, '/');
    const char *name = v;
    if (slash && strchr(slash + 1, '/')) {
        msgs_add(ms, "a qualified name %s with an optional DNS subdomain prefix and '/' "
                     "(e.g. 'example.com/MyName')", msg_qname);
        return;
    }
    if (slash) {
        size_t plen = (size_t)(slash - v);
        name = slash + 1;
        if (plen == 0) {
            msgs_add(ms, "prefix part must be non-empty");
        } else {
            char *prefix = strndup(v, plen);
            if (!prefix)
                oom();
            msgs p = {0};
            is_dns1123_subdomain(&p, prefix);
            for (int i = 0; i < p.n; i++)
                msgs_add(ms, "prefix part %s", p.m[i]);
            msgs_free(&p);
            free(prefix);
        }
    }
    size_t n = strlen(name);
    if (n == 0)
        msgs_add(ms, "name part must be non-empty");
    else if (n > 63)
        msgs_add(ms, "name part must be no more than %d characters", 63);
    if (!match_qname_part(name, n))
        msgs_add(ms, "name part %s", msg_qname);
}

static void is_label_value(msgs *ms, const char *v)
{
    size_t n = strlen(v);
    if (n > 63)
        msgs_add(ms, "must be no more than %d characters", 63);
    if (n != 0 && !match_qname_part(v, n))
        msgs_add(ms, "%s", msg_label_value);
}

/* One Invalid error per message, value rendered with %q (field.Invalid(path, value, msg)). */
static void add_invalid_each(fielderrs *l, const char *field, const char *value, const msgs *ms)
{
    if (ms->n == 0)
        return;
    char *v = fe_str(value);
    for (int i = 0; i < ms->n; i++)
        fe_add(l, FE_INVALID, field, v, "%s", ms->m[i]);
    free(v);
}

typedef void (*is_fn)(msgs *, const char *);

static void check_each(fielderrs *l, const char *field, const char *value, is_fn fn)
{
    msgs ms = {0};
    fn(&ms, value ? value : "");
    add_invalid_each(l, field, value ? value : "", &ms);
    msgs_free(&ms);
}

void validate_dns1123_subdomain(fielderrs *l, const char *field, const char *value)
{
    check_each(l, field, value, is_dns1123_subdomain);
}

void validate_dns1123_label(fielderrs *l, const char *field, const char *value)
{
    check_each(l, field, value, is_dns1123_label);
}

void validate_dns1035_label(fielderrs *l, const char *field, const char *value)
{
    check_each(l, field, value, is_dns1035_label);
}

void validate_qualified_name(fielderrs *l, const char *field, const char *value)
{
    check_each(l, field, value, is_qualified_name);
}

void validate_label_value(fielderrs *l, const char *field, const char *value)
{
    check_each(l, field, value, is_label_value);
}

/* The messages of fn for value joined by sep, or NULL when there are none. */
static char *msgs_text(is_fn fn, const char *value, const char *sep)
{
    msgs ms = {0};
    fn(&ms, value ? value : "");
    char *s = ms.n ? msgs_join(&ms, sep) : NULL;
    msgs_free(&ms);
    return s;
}

char *validate_qualified_name_msg(const char *value, const char *sep)
{
    return msgs_text(is_qualified_name, value, sep);
}

char *validate_label_value_msg(const char *value, const char *sep)
{
    return msgs_text(is_label_value, value, sep);
}

/* ---- JSON access helpers ------------------------------------------------------------------ */

/* Member k of o when o is an object and the member is not null; else NULL. */
static const json_t *get(const json_t *o, const char *k)
{
    if (!o || !json_is_object(o))
        return NULL;
    const json_t *v = json_object_get(o, k);
    return v && !json_is_null(v) ? v : NULL;
}

static const char *get_str(const json_t *o, const char *k)
{
    const json_t *v = get(o, k);
    return v && json_is_string(v) ? json_string_value(v) : NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of object o whose values are not null, sorted; malloc'ed array (free it), *n set. */
static const char **sorted_keys(const json_t *o, size_t *n)
{
    *n = 0;
    if (!o || !json_is_object(o) || json_object_size(o) == 0)
        return NULL;
    const char **keys = malloc(json_object_size(o) * sizeof *keys);
    if (!keys)
        oom();
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        if (!json_is_null(v))
            keys[(*n)++] = k;
    }
    qsort(keys, *n, sizeof *keys, cmp_str);
    return keys;
}

/* ---- ObjectMeta (apimachinery pkg/api/validation/objectmeta.go) --------------------------- */

/* NameIsDNSSubdomain / NameIsDNSLabel with prefix=true: maskTrailingDash replaces the last *two*
 * characters by "a" when the name ends in '-' (upstream quirk, kept). */
static void name_fn(msgs *ms, const char *name, int prefix, int subdomain)
{
    char *masked = NULL;
    size_t n = strlen(name);
    if (prefix && n > 1 && name[n - 1] == '-') {
        masked = malloc(n);
        if (!masked)
            oom();
        memcpy(masked, name, n - 2);
        masked[n - 2] = 'a';
        masked[n - 1] = '\0';
        name = masked;
    }
    if (subdomain == META_NAME_DNS1035)
        is_dns1035_label(ms, name);
    else if (subdomain)
        is_dns1123_subdomain(ms, name);
    else
        is_dns1123_label(ms, name);
    free(masked);
}

static void validate_labels(fielderrs *l, const json_t *labels)
{
    size_t n;
    const char **keys = sorted_keys(labels, &n);
    for (size_t i = 0; i < n; i++) {
        validate_qualified_name(l, "metadata.labels", keys[i]);
        const json_t *v = json_object_get(labels, keys[i]);
        if (json_is_string(v))
            validate_label_value(l, "metadata.labels", json_string_value(v));
    }
    free(keys);
}

static void validate_annotations(fielderrs *l, const json_t *ann)
{
    size_t n;
    const char **keys = sorted_keys(ann, &n);
    long long total = 0;
    for (size_t i = 0; i < n; i++) {
        /* The rule is QualifiedName except that case doesn't matter. */
        char *lower = strdup(keys[i]);
        if (!lower)
            oom();
        for (char *c = lower; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        msgs ms = {0};
        is_qualified_name(&ms, lower);
        add_invalid_each(l, "metadata.annotations", keys[i], &ms);
        msgs_free(&ms);
        free(lower);
        const json_t *v = json_object_get(ann, keys[i]);
        total += (long long)strlen(keys[i]) + (json_is_string(v) ? (long long)json_string_length(v) : 0);
    }
    free(keys);
    if (total > TOTAL_ANNOTATION_SIZE_LIMIT)
        fe_add(l, FE_TOO_LONG, "metadata.annotations", NULL, "%s", ANNOTATIONS_TOO_LONG);
}

/* An OwnerReference as encoding/json renders the typed struct (field order, omitempty bools). */
static json_t *owner_ref_struct(const json_t *ref)
{
    const char *f[] = {"apiVersion", "kind", "name", "uid"};
    json_t *o = json_object();
    for (size_t i = 0; i < 4; i++) {
        const char *s = get_str(ref, f[i]);
        json_object_set_new(o, f[i], json_string(s ? s : ""));
    }
    const json_t *c = get(ref, "controller"), *b = get(ref, "blockOwnerDeletion");
    if (c && json_is_boolean(c))
        json_object_set_new(o, "controller", json_boolean(json_is_true(c)));
    if (b && json_is_boolean(b))
        json_object_set_new(o, "blockOwnerDeletion", json_boolean(json_is_true(b)));
    return o;
}

static void validate_owner_refs(fielderrs *l, const json_t *refs)
{
    if (!refs || !json_is_array(refs))
        return;
    char *first_controller = NULL;
    for (size_t i = 0; i < json_array_size(refs); i++) {
        const json_t *ref = json_array_get(refs, i);
        const char *api = get_str(ref, "apiVersion"), *kind = get_str(ref, "kind");
        const char *name = get_str(ref, "name"), *uid = get_str(ref, "uid");
        api = api ? api : "", kind = kind ? kind : "", name = name ? name : "", uid = uid ? uid : "";

        /* schema.FromAPIVersionAndKind → ParseGroupVersion */
        const char *version = "";
        const char *slash = strchr(api, '/');
        int ok_gv = 1;
        size_t group_len = 0;
        if (api[0] == '\0' || strcmp(api, "/") == 0)
            version = "";
        else if (!slash)
            version = api;
        else if (strchr(slash + 1, '/'))
            ok_gv = 0;
        else
            version = slash + 1, group_len = (size_t)(slash - api);
        if (!ok_gv)
            version = "", group_len = 0;

        char *v;
        if (!*version) {
            v = fe_str(api);
            fe_add(l, FE_INVALID, "metadata.ownerReferences.apiVersion", v, "version must not be empty");
            free(v);
        }
        const char *req[][2] = {{"kind", kind}, {"name", name}, {"uid", uid}};
        for (size_t k = 0; k < 3; k++) {
            if (*req[k][1])
                continue;
            char *field = xasprintf("metadata.ownerReferences.%s", req[k][0]);
            fe_add(l, FE_INVALID, field, "\"\"", "must not be empty");
            free(field);
        }
        if (group_len == 0 && strcmp(version, "v1") == 0 && strcmp(kind, "Event") == 0) {
            json_t *o = owner_ref_struct(ref);
            v = fe_json(o);
            json_decref(o);
            fe_add(l, FE_INVALID, "metadata.ownerReferences", v,
                   "/v1, Kind=Event is disallowed from being an owner");
            free(v);
        }

        const json_t *ctl = get(ref, "controller");
        if (ctl && json_is_true(ctl)) {
            char *cur = xasprintf("%s/%s", kind, name);
            if (first_controller) {
                json_t *all = json_array();
                for (size_t j = 0; j < json_array_size(refs); j++)
                    json_array_append_new(all, owner_ref_struct(json_array_get(refs, j)));
                v = fe_json(all);
                json_decref(all);
                fe_add(l, FE_INVALID, "metadata.ownerReferences", v,
                       "Only one reference can have Controller set to true. Found \"true\" in "
                       "references for %s and %s", first_controller, cur);
                free(v);
                free(cur);
            } else {
                first_controller = cur;
            }
        }
    }
    free(first_controller);
}

static void validate_finalizers(fielderrs *l, const json_t *fins)
{
    if (!fins || !json_is_array(fins))
        return;
    int orphan = 0, fg = 0;
    for (size_t i = 0; i < json_array_size(fins); i++) {
        const json_t *f = json_array_get(fins, i);
        if (!json_is_string(f))
            continue;
        const char *s = json_string_value(f);
        validate_qualified_name(l, "metadata.finalizers", s);
        orphan |= strcmp(s, "orphan") == 0;
        fg |= strcmp(s, "foregroundDeletion") == 0;
    }
    if (orphan && fg) {
        char *v = fe_json(fins);
        fe_add(l, FE_INVALID, "metadata.finalizers", v,
               "finalizer orphan and foregroundDeletion cannot be both set");
        free(v);
    }
}

void validate_object_meta(fielderrs *l, const json_t *meta, int name_subdomain)
{
    const char *name = get_str(meta, "name"), *gen = get_str(meta, "generateName");
    msgs ms = {0};

    if (gen && *gen) {
        name_fn(&ms, gen, 1, name_subdomain);
        add_invalid_each(l, "metadata.generateName", gen, &ms);
        msgs_free(&ms);
    }
    /* Upstream runs after name generation and reports an empty name whatever generateName says;
     * a caller that validates before generating gets no name error for a generateName-only
     * object (the generated name is valid whenever generateName is). */
    if (!name || !*name) {
        if (!gen || !*gen)
            fe_add(l, FE_REQUIRED, "metadata.name", NULL, "name or generateName is required");
    } else {
        name_fn(&ms, name, 0, name_subdomain);
        add_invalid_each(l, "metadata.name", name, &ms);
        msgs_free(&ms);
    }
    validate_labels(l, get(meta, "labels"));
    validate_annotations(l, get(meta, "annotations"));
    validate_owner_refs(l, get(meta, "ownerReferences"));
    validate_finalizers(l, get(meta, "finalizers"));
}

/* ---- CRD structural schema (kube-openapi as apiextensions-apiserver runs it) -------------- *
 *
 * Error shapes (kubeOpenAPIResultToFieldErrors):
 *   wrong type  → TypeInvalid(path, "<json type of data>",
 *                   "<path> in body must be of type <type>: \"<json type of data>\"")
 *   missing     → Required(path, "")
 * Paths: properties "a.b", map entries "a.<key>", list items "a[<i>]". int32/int64 formats are
 * stripped from CRD schemas, so only the JSON type is checked (no int32 range check); an
 * integral JSON real passes as an integer. Unknown fields are pruned, never checked. */

typedef enum { S_ANY, S_OBJECT, S_STRING, S_INTEGER, S_BOOLEAN, S_ARRAY } s_type;

typedef struct snode snode;
typedef struct sprop {
    const char *name;
    const snode *node;
} sprop;

struct snode {
    s_type type;
    const sprop *props;          /* S_OBJECT: known properties, {NULL} terminated, or NULL */
    const snode *sub;            /* S_OBJECT: additionalProperties; S_ARRAY: items */
    const char *const *required; /* S_OBJECT: NULL-terminated, or NULL */
    int closed;                  /* S_OBJECT: props are all the CRD's; any other member is pruned */
    size_t nprops;               /* props' length (they are sorted by strcmp, as the CRD's) */
};

/* A closed object: the CRD lists all of its properties (pruned otherwise). The open ones (n_obj
 * and the like) are the nested core/v1 types not written out here: kept whole, type-checked as
 * objects only. */
#define CLOSED(props, req) {S_OBJECT, props, NULL, req, 1, sizeof props / sizeof *props - 1}

static const snode n_any = {S_ANY, NULL, NULL, NULL, 0, 0};
static const snode n_str = {S_STRING, NULL, NULL, NULL, 0, 0};
static const snode n_int = {S_INTEGER, NULL, NULL, NULL, 0, 0};
static const snode n_bool = {S_BOOLEAN, NULL, NULL, NULL, 0, 0};
static const snode n_obj = {S_OBJECT, NULL, NULL, NULL, 0, 0};
static const snode n_str_arr = {S_ARRAY, NULL, &n_str, NULL, 0, 0};
static const snode n_int_arr = {S_ARRAY, NULL, &n_int, NULL, 0, 0};
static const snode n_str_map = {S_OBJECT, NULL, &n_str, NULL, 0, 0};
static const snode n_any_map = {S_OBJECT, NULL, &n_any, NULL, 0, 0}; /* quantities: int-or-string */
static const snode n_obj_arr = {S_ARRAY, NULL, &n_obj, NULL, 0, 0};

/* core/v1 as the CRD embeds it (k8s.io/api 1.32 field sets: a field a newer core/v1 has is kept
 * rather than pruned). Properties in the CRD's (alphabetical) order. */
static const char *const req_name[] = {"name", NULL};
static const char *const req_key[] = {"key", NULL};
static const sprop p_key_sel[] = {{"key", &n_str}, {"name", &n_str}, {"optional", &n_bool}, {NULL, NULL}};
static const snode n_key_sel = CLOSED(p_key_sel, req_key); /* ConfigMapKeySelector, SecretKeySelector */
static const char *const req_field_path[] = {"fieldPath", NULL};
static const sprop p_field_sel[] = {{"apiVersion", &n_str}, {"fieldPath", &n_str}, {NULL, NULL}};
static const snode n_field_sel = CLOSED(p_field_sel, req_field_path);
static const char *const req_resource[] = {"resource", NULL};
static const sprop p_res_field_sel[] = {
    {"containerName", &n_str}, {"divisor", &n_any}, {"resource", &n_str}, {NULL, NULL},
};
static const snode n_res_field_sel = CLOSED(p_res_field_sel, req_resource);
static const sprop p_env_src[] = {
    {"configMapKeyRef", &n_key_sel}, {"fieldRef", &n_field_sel},
    {"resourceFieldRef", &n_res_field_sel}, {"secretKeyRef", &n_key_sel}, {NULL, NULL},
};
static const snode n_env_src = CLOSED(p_env_src, NULL);
static const sprop p_env[] = {{"name", &n_str}, {"value", &n_str}, {"valueFrom", &n_env_src}, {NULL, NULL}};
static const snode n_env = CLOSED(p_env, req_name);
static const snode n_env_arr = {S_ARRAY, NULL, &n_env, NULL, 0, 0};
static const sprop p_opt_ref[] = {{"name", &n_str}, {"optional", &n_bool}, {NULL, NULL}};
static const snode n_opt_ref = CLOSED(p_opt_ref, NULL); /* ConfigMapEnvSource, SecretEnvSource */
static const sprop p_env_from[] = {{"configMapRef", &n_opt_ref}, {"prefix", &n_str}, {"secretRef", &n_opt_ref}, {NULL, NULL}};
static const snode n_env_from = CLOSED(p_env_from, NULL);
static const snode n_env_from_arr = {S_ARRAY, NULL, &n_env_from, NULL, 0, 0};
static const char *const req_port[] = {"containerPort", NULL};
static const sprop p_port[] = {
    {"containerPort", &n_int}, {"hostIP", &n_str}, {"hostPort", &n_int},
    {"name", &n_str}, {"protocol", &n_str}, {NULL, NULL},
};
static const snode n_port = CLOSED(p_port, req_port);
static const snode n_port_arr = {S_ARRAY, NULL, &n_port, NULL, 0, 0};
static const char *const req_mount[] = {"mountPath", "name", NULL};
static const sprop p_mount[] = {
    {"mountPath", &n_str}, {"mountPropagation", &n_str}, {"name", &n_str}, {"readOnly", &n_bool},
    {"recursiveReadOnly", &n_str}, {"subPath", &n_str}, {"subPathExpr", &n_str}, {NULL, NULL},
};
static const snode n_mount = CLOSED(p_mount, req_mount);
static const snode n_mount_arr = {S_ARRAY, NULL, &n_mount, NULL, 0, 0};
static const sprop p_res_claim[] = {{"name", &n_str}, {"request", &n_str}, {NULL, NULL}};
static const snode n_res_claim = CLOSED(p_res_claim, req_name);
static const snode n_res_claim_arr = {S_ARRAY, NULL, &n_res_claim, NULL, 0, 0};
static const sprop p_resources[] = {
    {"claims", &n_res_claim_arr}, {"limits", &n_any_map}, {"requests", &n_any_map}, {NULL, NULL},
};
static const snode n_resources = CLOSED(p_resources, NULL);
static const sprop p_exec[] = {{"command", &n_str_arr}, {NULL, NULL}};
static const snode n_exec = CLOSED(p_exec, NULL);
static const char *const req_port_only[] = {"port", NULL};
static const char *const req_name_value[] = {"name", "value", NULL};
static const sprop p_http_header[] = {{"name", &n_str}, {"value", &n_str}, {NULL, NULL}};
static const snode n_http_header = CLOSED(p_http_header, req_name_value);
static const snode n_http_header_arr = {S_ARRAY, NULL, &n_http_header, NULL, 0, 0};
static const sprop p_http_get[] = {
    {"host", &n_str}, {"httpHeaders", &n_http_header_arr}, {"path", &n_str}, {"port", &n_any},
    {"scheme", &n_str}, {NULL, NULL},
};
static const snode n_http_get = CLOSED(p_http_get, req_port_only);
static const sprop p_tcp[] = {{"host", &n_str}, {"port", &n_any}, {NULL, NULL}};
static const snode n_tcp = CLOSED(p_tcp, req_port_only);
static const sprop p_grpc[] = {{"port", &n_int}, {"service", &n_str}, {NULL, NULL}};
static const snode n_grpc = CLOSED(p_grpc, req_port_only);
static const sprop p_probe[] = {
    {"exec", &n_exec}, {"failureThreshold", &n_int}, {"grpc", &n_grpc}, {"httpGet", &n_http_get},
    {"initialDelaySeconds", &n_int}, {"periodSeconds", &n_int}, {"successThreshold", &n_int},
    {"tcpSocket", &n_tcp}, {"terminationGracePeriodSeconds", &n_int}, {"timeoutSeconds", &n_int},
    {NULL, NULL},
};
static const snode n_probe = CLOSED(p_probe, NULL);
static const char *const req_seconds[] = {"seconds", NULL};
static const sprop p_sleep[] = {{"seconds", &n_int}, {NULL, NULL}};
static const snode n_sleep = CLOSED(p_sleep, req_seconds);
static const sprop p_handler[] = {
    {"exec", &n_exec}, {"httpGet", &n_http_get}, {"sleep", &n_sleep}, {"tcpSocket", &n_tcp},
    {NULL, NULL},
};
static const snode n_handler = CLOSED(p_handler, NULL);
static const sprop p_lifecycle[] = {{"postStart", &n_handler}, {"preStop", &n_handler}, {"stopSignal", &n_str}, {NULL, NULL}};
static const snode n_lifecycle = CLOSED(p_lifecycle, NULL);
static const sprop p_caps[] = {{"add", &n_str_arr}, {"drop", &n_str_arr}, {NULL, NULL}};
static const snode n_caps = CLOSED(p_caps, NULL);
static const char *const req_type_only[] = {"type", NULL};
static const sprop p_profile[] = {{"localhostProfile", &n_str}, {"type", &n_str}, {NULL, NULL}};
static const snode n_profile = CLOSED(p_profile, req_type_only); /* seccomp, AppArmor */
static const sprop p_selinux[] = {
    {"level", &n_str}, {"role", &n_str}, {"type", &n_str}, {"user", &n_str}, {NULL, NULL},
};
static const snode n_selinux = CLOSED(p_selinux, NULL);
static const sprop p_sec_ctx[] = {
    {"allowPrivilegeEscalation", &n_bool}, {"appArmorProfile", &n_profile},
    {"capabilities", &n_caps}, {"privileged", &n_bool}, {"procMount", &n_str},
    {"readOnlyRootFilesystem", &n_bool}, {"runAsGroup", &n_int}, {"runAsNonRoot", &n_bool},
    {"runAsUser", &n_int}, {"seLinuxOptions", &n_selinux}, {"seccompProfile", &n_profile},
    {"windowsOptions", &n_obj},
    {NULL, NULL},
};
static const snode n_sec_ctx = CLOSED(p_sec_ctx, NULL);
static const sprop p_container[] = {
    {"args", &n_str_arr}, {"command", &n_str_arr}, {"env", &n_env_arr},
    {"envFrom", &n_env_from_arr}, {"image", &n_str}, {"imagePullPolicy", &n_str},
    {"lifecycle", &n_lifecycle}, {"livenessProbe", &n_probe}, {"name", &n_str}, {"ports", &n_port_arr},
    {"readinessProbe", &n_probe}, {"resizePolicy", &n_obj_arr}, {"resources", &n_resources},
    {"restartPolicy", &n_str}, {"securityContext", &n_sec_ctx}, {"startupProbe", &n_probe},
    {"stdin", &n_bool}, {"stdinOnce", &n_bool}, {"terminationMessagePath", &n_str},
    {"terminationMessagePolicy", &n_str}, {"tty", &n_bool}, {"volumeDevices", &n_obj_arr},
    {"volumeMounts", &n_mount_arr}, {"workingDir", &n_str}, {NULL, NULL},
};
static const snode n_container = CLOSED(p_container, req_name);
static const snode n_container_arr = {S_ARRAY, NULL, &n_container, NULL, 0, 0};

static const sprop p_sysctl[] = {{"name", &n_str}, {"value", &n_str}, {NULL, NULL}};
static const snode n_sysctl = CLOSED(p_sysctl, req_name_value);
static const snode n_sysctl_arr = {S_ARRAY, NULL, &n_sysctl, NULL, 0, 0};
static const sprop p_pod_sec_ctx[] = {
    {"appArmorProfile", &n_profile}, {"fsGroup", &n_int}, {"fsGroupChangePolicy", &n_str},
    {"runAsGroup", &n_int}, {"runAsNonRoot", &n_bool}, {"runAsUser", &n_int},
    {"seLinuxChangePolicy", &n_str}, {"seLinuxOptions", &n_selinux},
    {"seccompProfile", &n_profile}, {"supplementalGroups", &n_int_arr},
    {"supplementalGroupsPolicy", &n_str}, {"sysctls", &n_sysctl_arr}, {"windowsOptions", &n_obj},
    {NULL, NULL},
};
static const snode n_pod_sec_ctx = CLOSED(p_pod_sec_ctx, NULL);
static const sprop p_toleration[] = {
    {"effect", &n_str}, {"key", &n_str}, {"operator", &n_str}, {"tolerationSeconds", &n_int},
    {"value", &n_str}, {NULL, NULL},
};
static const snode n_toleration = CLOSED(p_toleration, NULL);
static const snode n_toleration_arr = {S_ARRAY, NULL, &n_toleration, NULL, 0, 0};
static const sprop p_local_ref[] = {{"name", &n_str}, {NULL, NULL}};
static const snode n_local_ref = CLOSED(p_local_ref, NULL);
static const snode n_local_ref_arr = {S_ARRAY, NULL, &n_local_ref, NULL, 0, 0};
static const sprop p_empty_dir[] = {{"medium", &n_str}, {"sizeLimit", &n_any}, {NULL, NULL}};
static const snode n_empty_dir = CLOSED(p_empty_dir, NULL);
static const char *const req_key_path[] = {"key", "path", NULL};
static const sprop p_key_to_path[] = {{"key", &n_str}, {"mode", &n_int}, {"path", &n_str}, {NULL, NULL}};
static const snode n_key_to_path = CLOSED(p_key_to_path, req_key_path);
static const snode n_key_to_path_arr = {S_ARRAY, NULL, &n_key_to_path, NULL, 0, 0};
static const sprop p_cm_vol[] = {
    {"defaultMode", &n_int}, {"items", &n_key_to_path_arr}, {"name", &n_str},
    {"optional", &n_bool}, {NULL, NULL},
};
static const snode n_cm_vol = CLOSED(p_cm_vol, NULL);
static const sprop p_secret_vol[] = {
    {"defaultMode", &n_int}, {"items", &n_key_to_path_arr}, {"optional", &n_bool},
    {"secretName", &n_str}, {NULL, NULL},
};
static const snode n_secret_vol = CLOSED(p_secret_vol, NULL);
static const char *const req_claim_name[] = {"claimName", NULL};
static const sprop p_pvc_vol[] = {{"claimName", &n_str}, {"readOnly", &n_bool}, {NULL, NULL}};
static const snode n_pvc_vol = CLOSED(p_pvc_vol, req_claim_name);
static const char *const req_path[] = {"path", NULL};
static const sprop p_host_path[] = {{"path", &n_str}, {"type", &n_str}, {NULL, NULL}};
static const snode n_host_path = CLOSED(p_host_path, req_path);
static const char *const req_nfs[] = {"path", "server", NULL};
static const sprop p_nfs[] = {{"path", &n_str}, {"readOnly", &n_bool}, {"server", &n_str}, {NULL, NULL}};
static const snode n_nfs = CLOSED(p_nfs, req_nfs);
static const sprop p_volume[] = {
    {"awsElasticBlockStore", &n_obj}, {"azureDisk", &n_obj}, {"azureFile", &n_obj},
    {"cephfs", &n_obj}, {"cinder", &n_obj}, {"configMap", &n_cm_vol}, {"csi", &n_obj},
    {"downwardAPI", &n_obj}, {"emptyDir", &n_empty_dir}, {"ephemeral", &n_obj}, {"fc", &n_obj},
    {"flexVolume", &n_obj}, {"flocker", &n_obj}, {"gcePersistentDisk", &n_obj},
    {"gitRepo", &n_obj}, {"glusterfs", &n_obj}, {"hostPath", &n_host_path}, {"image", &n_obj},
    {"iscsi", &n_obj}, {"name", &n_str}, {"nfs", &n_nfs}, {"persistentVolumeClaim", &n_pvc_vol},
    {"photonPersistentDisk", &n_obj}, {"portworxVolume", &n_obj}, {"projected", &n_obj},
    {"quobyte", &n_obj}, {"rbd", &n_obj}, {"scaleIO", &n_obj}, {"secret", &n_secret_vol},
    {"storageos", &n_obj}, {"vsphereVolume", &n_obj}, {NULL, NULL},
};
static const snode n_volume = CLOSED(p_volume, req_name);
static const snode n_volume_arr = {S_ARRAY, NULL, &n_volume, NULL, 0, 0};

static const sprop p_dns_opt[] = {{"name", &n_str}, {"value", &n_str}, {NULL, NULL}};
static const snode n_dns_opt = CLOSED(p_dns_opt, NULL);
static const snode n_dns_opt_arr = {S_ARRAY, NULL, &n_dns_opt, NULL, 0, 0};
static const sprop p_dns_config[] = {
    {"nameservers", &n_str_arr}, {"options", &n_dns_opt_arr}, {"searches", &n_str_arr}, {NULL, NULL},
};
static const snode n_dns_config = CLOSED(p_dns_config, NULL);
static const char *const req_ip[] = {"ip", NULL};
static const sprop p_host_alias[] = {{"hostnames", &n_str_arr}, {"ip", &n_str}, {NULL, NULL}};
static const snode n_host_alias = CLOSED(p_host_alias, req_ip);
static const snode n_host_alias_arr = {S_ARRAY, NULL, &n_host_alias, NULL, 0, 0};
static const sprop p_pod_os[] = {{"name", &n_str}, {NULL, NULL}};
static const snode n_pod_os = CLOSED(p_pod_os, req_name);
static const char *const req_condition_type[] = {"conditionType", NULL};
static const sprop p_readiness_gate[] = {{"conditionType", &n_str}, {NULL, NULL}};
static const snode n_readiness_gate = CLOSED(p_readiness_gate, req_condition_type);
static const snode n_readiness_gate_arr = {S_ARRAY, NULL, &n_readiness_gate, NULL, 0, 0};
static const sprop p_sched_gate[] = {{"name", &n_str}, {NULL, NULL}};
static const snode n_sched_gate = CLOSED(p_sched_gate, req_name);
static const snode n_sched_gate_arr = {S_ARRAY, NULL, &n_sched_gate, NULL, 0, 0};
static const sprop p_pod_res_claim[] = {
    {"name", &n_str}, {"resourceClaimName", &n_str}, {"resourceClaimTemplateName", &n_str},
    {NULL, NULL},
};
static const snode n_pod_res_claim = CLOSED(p_pod_res_claim, req_name);
static const snode n_pod_res_claim_arr = {S_ARRAY, NULL, &n_pod_res_claim, NULL, 0, 0};
/* NodeSelectorRequirement and LabelSelectorRequirement have the same fields. */
static const char *const req_key_op[] = {"key", "operator", NULL};
static const sprop p_sel_req[] = {{"key", &n_str}, {"operator", &n_str}, {"values", &n_str_arr}, {NULL, NULL}};
static const snode n_sel_req = CLOSED(p_sel_req, req_key_op);
static const snode n_sel_req_arr = {S_ARRAY, NULL, &n_sel_req, NULL, 0, 0};
static const sprop p_label_selector[] = {
    {"matchExpressions", &n_sel_req_arr}, {"matchLabels", &n_str_map}, {NULL, NULL},
};
static const snode n_label_selector = CLOSED(p_label_selector, NULL);
static const char *const req_spread[] = {"maxSkew", "topologyKey", "whenUnsatisfiable", NULL};
static const sprop p_spread[] = {
    {"labelSelector", &n_label_selector}, {"matchLabelKeys", &n_str_arr}, {"maxSkew", &n_int},
    {"minDomains", &n_int}, {"nodeAffinityPolicy", &n_str}, {"nodeTaintsPolicy", &n_str},
    {"topologyKey", &n_str}, {"whenUnsatisfiable", &n_str}, {NULL, NULL},
};
static const snode n_spread = CLOSED(p_spread, req_spread);
static const snode n_spread_arr = {S_ARRAY, NULL, &n_spread, NULL, 0, 0};
static const char *const req_weight_pref[] = {"preference", "weight", NULL};
static const char *const req_weight_term[] = {"podAffinityTerm", "weight", NULL};
static const char *const req_topology_key[] = {"topologyKey", NULL};
static const char *const req_terms[] = {"nodeSelectorTerms", NULL};
static const snode n_node_term_arr;
static const sprop p_node_selector[] = {{"nodeSelectorTerms", &n_node_term_arr}, {NULL, NULL}};
static const snode n_node_selector = CLOSED(p_node_selector, req_terms);
static const sprop p_node_term[] = {
    {"matchExpressions", &n_sel_req_arr}, {"matchFields", &n_sel_req_arr}, {NULL, NULL},
};
static const snode n_node_term = CLOSED(p_node_term, NULL);
static const snode n_node_term_arr = {S_ARRAY, NULL, &n_node_term, NULL, 0, 0};
static const sprop p_pref_term[] = {{"preference", &n_node_term}, {"weight", &n_int}, {NULL, NULL}};
static const snode n_pref_term = CLOSED(p_pref_term, req_weight_pref);
static const snode n_pref_term_arr = {S_ARRAY, NULL, &n_pref_term, NULL, 0, 0};
static const sprop p_node_affinity[] = {
    {"preferredDuringSchedulingIgnoredDuringExecution", &n_pref_term_arr},
    {"requiredDuringSchedulingIgnoredDuringExecution", &n_node_selector}, {NULL, NULL},
};
static const snode n_node_affinity = CLOSED(p_node_affinity, NULL);
static const sprop p_pod_term[] = {
    {"labelSelector", &n_label_selector}, {"matchLabelKeys", &n_str_arr},
    {"mismatchLabelKeys", &n_str_arr}, {"namespaceSelector", &n_label_selector},
    {"namespaces", &n_str_arr}, {"topologyKey", &n_str}, {NULL, NULL},
};
static const snode n_pod_term = CLOSED(p_pod_term, req_topology_key);
static const snode n_pod_term_arr = {S_ARRAY, NULL, &n_pod_term, NULL, 0, 0};
static const sprop p_weighted_term[] = {{"podAffinityTerm", &n_pod_term}, {"weight", &n_int}, {NULL, NULL}};
static const snode n_weighted_term = CLOSED(p_weighted_term, req_weight_term);
static const snode n_weighted_term_arr = {S_ARRAY, NULL, &n_weighted_term, NULL, 0, 0};
static const sprop p_pod_affinity[] = {
    {"preferredDuringSchedulingIgnoredDuringExecution", &n_weighted_term_arr},
    {"requiredDuringSchedulingIgnoredDuringExecution", &n_pod_term_arr}, {NULL, NULL},
};
static const snode n_pod_affinity = CLOSED(p_pod_affinity, NULL); /* and PodAntiAffinity */
static const sprop p_affinity[] = {
    {"nodeAffinity", &n_node_affinity}, {"podAffinity", &n_pod_affinity},
    {"podAntiAffinity", &n_pod_affinity}, {NULL, NULL},
};
static const snode n_affinity = CLOSED(p_affinity, NULL);

static const char *const req_containers[] = {"containers", NULL};
static const sprop p_podspec[] = {
    {"activeDeadlineSeconds", &n_int}, {"affinity", &n_affinity},
    {"automountServiceAccountToken", &n_bool}, {"containers", &n_container_arr},
    {"dnsConfig", &n_dns_config}, {"dnsPolicy", &n_str}, {"enableServiceLinks", &n_bool},
    {"ephemeralContainers", &n_obj_arr}, {"hostAliases", &n_host_alias_arr}, {"hostIPC", &n_bool},
    {"hostNetwork", &n_bool}, {"hostPID", &n_bool}, {"hostUsers", &n_bool},
    {"hostname", &n_str}, {"imagePullSecrets", &n_local_ref_arr},
    {"initContainers", &n_container_arr}, {"nodeName", &n_str}, {"nodeSelector", &n_str_map},
    {"os", &n_pod_os}, {"overhead", &n_any_map}, {"preemptionPolicy", &n_str},
    {"priority", &n_int}, {"priorityClassName", &n_str}, {"readinessGates", &n_readiness_gate_arr},
    {"resourceClaims", &n_pod_res_claim_arr}, {"resources", &n_resources}, {"restartPolicy", &n_str},
    {"runtimeClassName", &n_str}, {"schedulerName", &n_str}, {"schedulingGates", &n_sched_gate_arr},
    {"securityContext", &n_pod_sec_ctx}, {"serviceAccount", &n_str},
    {"serviceAccountName", &n_str}, {"setHostnameAsFQDN", &n_bool},
    {"shareProcessNamespace", &n_bool}, {"subdomain", &n_str},
    {"terminationGracePeriodSeconds", &n_int}, {"tolerations", &n_toleration_arr},
    {"topologySpreadConstraints", &n_spread_arr}, {"volumes", &n_volume_arr}, {NULL, NULL},
};
static const snode n_podspec = CLOSED(p_podspec, req_containers);
static const sprop p_tmeta[] = {
    {"annotations", &n_str_map}, {"finalizers", &n_str_arr}, {"labels", &n_str_map},
    {"name", &n_str}, {"namespace", &n_str}, {NULL, NULL},
};
static const snode n_tmeta = CLOSED(p_tmeta, NULL);
static const sprop p_template[] = {{"metadata", &n_tmeta}, {"spec", &n_podspec}, {NULL, NULL}};
static const snode n_template = CLOSED(p_template, NULL);

static const sprop p_replica[] = {
    {"replicas", &n_int}, {"restartPolicy", &n_str}, {"template", &n_template}, {NULL, NULL},
};
static const snode n_replica = CLOSED(p_replica, NULL);
static const snode n_replica_map = {S_OBJECT, NULL, &n_replica, NULL, 0, 0};

static const char *const req_type[] = {"type", NULL};
static const sprop p_metric[] = {
    {"containerResource", &n_obj}, {"external", &n_obj}, {"object", &n_obj}, {"pods", &n_obj},
    {"resource", &n_obj}, {"type", &n_str}, {NULL, NULL},
};
static const snode n_metric = CLOSED(p_metric, req_type);
static const snode n_metric_arr = {S_ARRAY, NULL, &n_metric, NULL, 0, 0};
static const sprop p_rdzv_conf[] = {{"key", &n_str}, {"value", &n_str}, {NULL, NULL}};
static const snode n_rdzv_conf = CLOSED(p_rdzv_conf, NULL);
static const snode n_rdzv_conf_arr = {S_ARRAY, NULL, &n_rdzv_conf, NULL, 0, 0};
static const sprop p_elastic[] = {
    {"maxReplicas", &n_int}, {"maxRestarts", &n_int}, {"metrics", &n_metric_arr},
    {"minReplicas", &n_int}, {"nProcPerNode", &n_int}, {"rdzvBackend", &n_str},
    {"rdzvConf", &n_rdzv_conf_arr}, {"rdzvHost", &n_str}, {"rdzvId", &n_str},
    {"rdzvPort", &n_int}, {"standalone", &n_bool}, {NULL, NULL},
};
static const snode n_elastic = CLOSED(p_elastic, NULL);

static const sprop p_sched[] = {
    {"minAvailable", &n_int}, {"minResources", &n_any_map}, {"priorityClass", &n_str},
    {"queue", &n_str}, {"scheduleTimeoutSeconds", &n_int}, {NULL, NULL},
};
static const snode n_sched = CLOSED(p_sched, NULL);
static const sprop p_runpolicy[] = {
    {"activeDeadlineSeconds", &n_int}, {"backoffLimit", &n_int}, {"cleanPodPolicy", &n_str},
    {"managedBy", &n_str}, {"schedulingPolicy", &n_sched}, {"suspend", &n_bool},
    {"ttlSecondsAfterFinished", &n_int}, {NULL, NULL},
};
static const snode n_runpolicy = CLOSED(p_runpolicy, NULL);

/* PyTorchJobSpec, plus the four pre-RunPolicy top-level fields of the legacy layout (not in the
 * v1.9 CRD, where they would be pruned unchecked; accepted and type-checked here). */
static const char *const req_spec[] = {"pytorchReplicaSpecs", NULL};
static const sprop p_spec[] = {
    {"activeDeadlineSeconds", &n_int}, {"backoffLimit", &n_int}, {"cleanPodPolicy", &n_str},
    {"elasticPolicy", &n_elastic}, {"nprocPerNode", &n_str},
    {"pytorchReplicaSpecs", &n_replica_map}, {"runPolicy", &n_runpolicy},
    {"ttlSecondsAfterFinished", &n_int}, {NULL, NULL},
};
static const snode n_spec = CLOSED(p_spec, req_spec);

static const char *s_type_name(s_type t)
{
    switch (t) {
    case S_OBJECT: return "object";
    case S_STRING: return "string";
    case S_INTEGER: return "integer";
    case S_BOOLEAN: return "boolean";
    case S_ARRAY: return "array";
    case S_ANY: break;
    }
    return "";
}

/* swag.IsFloat64AJSONInteger: within ±(2^53-1) and integral, or (positive) within a relative
 * error of 1e-9 of its truncation — so 1.0000000001 counts as an integer, 1.5 does not. */
static int float_is_json_integer(double d)
{
    const double max = 9007199254740991.0;
    if (!(d >= -max && d <= max))
        return 0;
    double g = (double)(long long)d;
    if (d == g)
        return 1;
    if (d < 0 || g == 0)
        return 0;
    return (d - g) / (d + g) < 1e-9;
}

/* The JSON type kube-openapi infers for data; a real that is a JSON integer passes where an
 * integer is expected (typeValidator's isFloatInt). */
static const char *data_type(const json_t *v, s_type want)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL:
        return want == S_INTEGER && float_is_json_integer(json_real_value(v)) ? "integer" : "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "";
}

/* Is v of type want, as data_type would name it? */
static int type_is(const json_t *v, s_type want)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return want == S_OBJECT;
    case JSON_ARRAY: return want == S_ARRAY;
    case JSON_STRING: return want == S_STRING;
    case JSON_INTEGER: return want == S_INTEGER;
    case JSON_REAL: return want == S_INTEGER && float_is_json_integer(json_real_value(v));
    case JSON_TRUE:
    case JSON_FALSE: return want == S_BOOLEAN;
    case JSON_NULL: break;
    }
    return 0;
}

/* The path of the value being checked ("spec.pytorchReplicaSpecs.Worker.replicas"): a chain of
 * frames on the walk's stack, written out only for a field error (a valid body, the common case,
 * formats no path at all). The names come from the schema and from one body of at most 3 MiB. */
#define SCHEMA_PATH_MAX (16u << 20)

typedef struct spath {
    const struct spath *up;
    const char *key;      /* NULL: an array index */
    size_t idx;
} spath;

static void path_write(sbuf *pb, const spath *p)
{
    if (p->up)
        path_write(pb, p->up);
    int rc;
    if (!p->key)
        rc = sbuf_printf(pb, "[%zu]", p->idx);
    else if (p->up)
        rc = sbuf_printf(pb, ".%s", p->key);
    else
        rc = sbuf_add(pb, p->key, strlen(p->key));
    if (rc)
        oom(); /* a field error for a truncated path would name the wrong field */
}

static void path_error(fielderrs *l, const spath *p, int type, const char *have, const char *want)
{
    sbuf pb = SBUF_INIT(SCHEMA_PATH_MAX);
    path_write(&pb, p);
    if (type == FE_TYPE_INVALID) {
        char *q = fe_str(have);
        fe_add(l, FE_TYPE_INVALID, sbuf_str(&pb), q, "%s in body must be of type %s: %s", sbuf_str(&pb),
               want, q);
        free(q);
    } else {
        fe_add(l, type, sbuf_str(&pb), NULL, NULL);
    }
    sbuf_free(&pb);
}

/* The index of property k in node's props (sorted), or -1. */
static int prop_index(const snode *node, const char *k)
{
    size_t lo = 0, hi = node->nprops;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *n = node->props[mid].name;
        int c = (unsigned char)n[0] - (unsigned char)k[0]; /* most steps end at the first byte */
        if (c == 0)
            c = strcmp(n, k);
        if (c == 0)
            return (int)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Every member of a closed object that is not one of its properties: its path to u, and the
 * member out of the object (structural pruning). */
static void prune_unknown(fieldpaths *u, const snode *node, const spath *path, json_t *v)
{
    /* keys belong to the members (deleting one frees its key): copied first, deleted after */
    char **del = malloc(json_object_size(v) * sizeof *del);
    size_t nd = 0;
    if (!del)
        oom();
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
        if (prop_index(node, k) >= 0)
            continue;
        spath sub = {path, k, 0};
        sbuf pb = SBUF_INIT(SCHEMA_PATH_MAX);
        path_write(&pb, &sub);
        fieldpaths_add(u, sbuf_str(&pb));
        sbuf_free(&pb);
        if (!(del[nd++] = strdup(k)))
            oom();
    }
    for (size_t i = 0; i < nd; i++) {
        json_object_del(v, del[i]);
        free(del[i]);
    }
    free(del);
}

/* A member of an object matched to its property. */
typedef struct pmember {
    int idx;
    const json_t *val;
} pmember;

static int cmp_pmember(const void *a, const void *b)
{
    return ((const pmember *)a)->idx - ((const pmember *)b)->idx;
}

/* Does every value of map v pass a scalar node (a quick pass before sorting keys for errors)? */
static int map_values_ok(const snode *sub, const json_t *v)
{
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x)
        if (!json_is_null(x) && !type_is(x, sub->type))
            return 0;
    return 1;
}

static void schema_walk(fielderrs *l, const snode *node, const spath *path, const json_t *v,
                        fieldpaths *u)
{
    if (!v || json_is_null(v) || node->type == S_ANY)
        return;
    if (!type_is(v, node->type)) {
        path_error(l, path, FE_TYPE_INVALID, data_type(v, node->type), s_type_name(node->type));
        return;
    }
    if (node->type == S_ARRAY) {
        for (size_t i = 0; node->sub && i < json_array_size(v); i++) {
            spath sub = {path, NULL, i};
            schema_walk(l, node->sub, &sub, json_array_get(v, i), u);
        }
        return;
    }
    if (node->type != S_OBJECT)
        return;
    /* a map's values in sorted key order (the order of the errors); values of a scalar type,
     * or of any type, need no sorting when none of them can fail */
    int scalar = node->sub && (node->sub->type == S_STRING || node->sub->type == S_INTEGER ||
                               node->sub->type == S_BOOLEAN);
    if (node->sub && node->sub->type != S_ANY && !(scalar && map_values_ok(node->sub, v))) {
        size_t n;
        const char **keys = sorted_keys(v, &n);
        for (size_t i = 0; i < n; i++) {
            spath sub = {path, keys[i], 0};
            schema_walk(l, node->sub, &sub, json_object_get(v, keys[i]), u);
        }
        free(keys);
    }
    if (!node->props)
        return;
    /* Each member is looked up among the properties (a binary search: bodies name few of a
     * schema's many properties), then the members are walked in the schema's order, the order
     * of the errors. */
    size_t nm = json_object_size(v), nf = 0, unknown = 0;
    pmember stack[32], *f = nm <= 32 ? stack : malloc(nm * sizeof *f);
    if (!f)
        oom();
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
        int i = prop_index(node, k);
        if (i < 0)
            unknown++;
        else
            f[nf++] = (pmember){i, x};
    }
    if (nf <= 32) {
        for (size_t i = 1; i < nf; i++) /* insertion sort: a handful of members */
            for (size_t j = i; j > 0 && f[j - 1].idx > f[j].idx; j--) {
                pmember t = f[j];
                f[j] = f[j - 1];
                f[j - 1] = t;
            }
    } else {
        qsort(f, nf, sizeof *f, cmp_pmember);
    }
    for (size_t i = 0; i < nf; i++) {
        const sprop *p = &node->props[f[i].idx];
        spath sub = {path, p->name, 0};
        schema_walk(l, p->node, &sub, f[i].val, u);
    }
    for (const char *const *r = node->required; r && *r; r++) {
        size_t i = 0;
        while (i < nf && strcmp(node->props[f[i].idx].name, *r))
            i++;
        if (i < nf && !json_is_null(f[i].val))
            continue;
        spath sub = {path, *r, 0};
        path_error(l, &sub, FE_REQUIRED, NULL, NULL);
    }
    if (f != stack)
        free(f);
    if (u && node->closed && unknown)
        prune_unknown(u, node, path, (json_t *)v);
}

/* JobStatus: condition items require type and status (the CRD's only required status fields). */
static const char *const req_cond[] = {"status", "type", NULL};
static const sprop p_cond[] = {
    {"lastTransitionTime", &n_str}, {"lastUpdateTime", &n_str}, {"message", &n_str},
    {"reason", &n_str}, {"status", &n_str}, {"type", &n_str}, {NULL, NULL},
};
static const snode n_cond = CLOSED(p_cond, req_cond);
static const snode n_cond_arr = {S_ARRAY, NULL, &n_cond, NULL, 0, 0};
static const sprop p_rstatus[] = {
    {"active", &n_int}, {"failed", &n_int}, {"labelSelector", &n_obj}, {"selector", &n_str},
    {"succeeded", &n_int}, {NULL, NULL},
};
static const snode n_rstatus = CLOSED(p_rstatus, NULL);
static const snode n_rstatus_map = {S_OBJECT, NULL, &n_rstatus, NULL, 0, 0};
static const sprop p_status[] = {
    {"completionTime", &n_str}, {"conditions", &n_cond_arr}, {"lastReconcileTime", &n_str},
    {"replicaStatuses", &n_rstatus_map}, {"startTime", &n_str}, {NULL, NULL},
};
static const snode n_status = CLOSED(p_status, NULL);

/* The root of a custom resource (pruning skips apiVersion, kind and metadata there), and
 * metav1.ObjectMeta, whose unknown members kube drops as it decodes the metadata
 * (GetObjectMetaWithOptions): only names are checked here, validate_object_meta checks values. */
static const sprop p_root[] = {
    {"apiVersion", &n_any}, {"kind", &n_any}, {"metadata", &n_any}, {"spec", &n_any},
    {"status", &n_any}, {NULL, NULL},
};
static const snode n_root = CLOSED(p_root, NULL);
static const sprop p_objmeta[] = {
    {"annotations", &n_any}, {"creationTimestamp", &n_any}, {"deletionGracePeriodSeconds", &n_any},
    {"deletionTimestamp", &n_any}, {"finalizers", &n_any}, {"generateName", &n_any},
    {"generation", &n_any}, {"labels", &n_any}, {"managedFields", &n_any}, {"name", &n_any},
    {"namespace", &n_any}, {"ownerReferences", &n_any}, {"resourceVersion", &n_any},
    {"selfLink", &n_any}, {"uid", &n_any}, {NULL, NULL},
};
static const snode n_objmeta = CLOSED(p_objmeta, NULL);

void fieldpaths_add(fieldpaths *u, const char *path)
{
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 8;
        char **v = realloc(u->v, cap * sizeof *v);
        if (!v)
            oom();
        u->v = v;
        u->cap = cap;
    }
    if (!(u->v[u->n] = strdup(path)))
        oom();
    u->n++;
}

void fieldpaths_free(fieldpaths *u)
{
    for (size_t i = 0; i < u->n; i++)
        free(u->v[i]);
    free(u->v);
    memset(u, 0, sizeof *u);
}

/* The members of a closed object that the schema does not know, pruned, with no walk below. */
static void prune_level(fieldpaths *u, const snode *node, const char *name, json_t *v)
{
    if (!json_is_object(v))
        return;
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
        if (prop_index(node, k) < 0) {
            spath path = {NULL, name, 0};
            prune_unknown(u, node, name ? &path : NULL, v);
            return;
        }
    }
}

static void sort_from(fieldpaths *u, size_t from)
{
    if (u->n - from > 1)
        qsort(u->v + from, u->n - from, sizeof *u->v, cmp_str);
}

void validate_pytorchjob_status_prune(fielderrs *l, json_t *obj, fieldpaths *u)
{
    spath root = {NULL, "status", 0};
    schema_walk(l, &n_status, &root, get(obj, "status"), u);
    /* kube's order over all of u: metadata's paths first, then the rest sorted together */
    size_t meta = 0;
    while (u && meta < u->n && !strncmp(u->v[meta], "metadata.", 9))
        meta++;
    if (u)
        sort_from(u, meta);
}

void validate_pytorchjob_status(fielderrs *l, const json_t *obj)
{
    validate_pytorchjob_status_prune(l, (json_t *)obj, NULL);
}

void validate_pytorchjob_schema_prune(fielderrs *l, json_t *obj, fieldpaths *u)
{
    /* kube reports the metadata's unknown fields first (sorted, as decoding the re-marshalled
     * map meets them), then what pruning removed, sorted (PruneWithOptions) */
    size_t from = u ? u->n : 0;
    if (u) {
        prune_level(u, &n_objmeta, "metadata", json_object_get(obj, "metadata"));
        sort_from(u, from);
        from = u->n;
        prune_level(u, &n_root, NULL, obj);
    }
    /* The CRD's root schema has no `required`: a missing spec passes here and is caught by the
     * webhook (spec.pytorchReplicaSpecs: Required value: must be required). */
    spath root = {NULL, "spec", 0};
    schema_walk(l, &n_spec, &root, get(obj, "spec"), u);
    if (u)
        sort_from(u, from);
}

void validate_pytorchjob_schema(fielderrs *l, const json_t *obj)
{
    validate_pytorchjob_schema_prune(l, (json_t *)obj, NULL);
}

/* ---- built-in kinds: unknown fields as Go's decoding drops them -------------------------- *
 *
 * A Pod, Service, Namespace or Event is decoded into its Go struct: a member the struct does not
 * have is dropped, and strict decoding lists it where the decoder met it, in the document's order
 * (not sorted, as a CR's pruning lists them). Only names are looked at here: the types are the
 * decoder's business (api_core_type_error). The pod spec is the CRD's embedded one. */
static const sprop p_svc_port[] = {
    {"appProtocol", &n_any}, {"name", &n_any}, {"nodePort", &n_any}, {"port", &n_any},
    {"protocol", &n_any}, {"targetPort", &n_any}, {NULL, NULL},
};
static const snode n_svc_port = CLOSED(p_svc_port, NULL);
static const snode n_svc_port_arr = {S_ARRAY, NULL, &n_svc_port, NULL, 0, 0};
static const sprop p_svc_spec[] = {
    {"allocateLoadBalancerNodePorts", &n_any}, {"clusterIP", &n_any}, {"clusterIPs", &n_any},
    {"externalIPs", &n_any}, {"externalName", &n_any}, {"externalTrafficPolicy", &n_any},
    {"healthCheckNodePort", &n_any}, {"internalTrafficPolicy", &n_any}, {"ipFamilies", &n_any},
    {"ipFamilyPolicy", &n_any}, {"loadBalancerClass", &n_any}, {"loadBalancerIP", &n_any},
    {"loadBalancerSourceRanges", &n_any}, {"ports", &n_svc_port_arr},
    {"publishNotReadyAddresses", &n_any}, {"selector", &n_any}, {"sessionAffinity", &n_any},
    {"sessionAffinityConfig", &n_obj}, {"trafficDistribution", &n_any}, {"type", &n_any},
    {NULL, NULL},
};
static const snode n_svc_spec = CLOSED(p_svc_spec, NULL);
static const sprop p_pod_root[] = {
    {"apiVersion", &n_any}, {"kind", &n_any}, {"metadata", &n_objmeta}, {"spec", &n_podspec},
    {"status", &n_obj}, {NULL, NULL},
};
static const snode n_pod_root = CLOSED(p_pod_root, NULL);
static const sprop p_svc_root[] = {
    {"apiVersion", &n_any}, {"kind", &n_any}, {"metadata", &n_objmeta}, {"spec", &n_svc_spec},
    {"status", &n_obj}, {NULL, NULL},
};
static const snode n_svc_root = CLOSED(p_svc_root, NULL);
static const sprop p_ns_spec[] = {{"finalizers", &n_any}, {NULL, NULL}};
static const snode n_ns_spec = CLOSED(p_ns_spec, NULL);
static const sprop p_ns_status[] = {{"conditions", &n_any}, {"phase", &n_any}, {NULL, NULL}};
static const snode n_ns_status = CLOSED(p_ns_status, NULL);
static const sprop p_ns_root[] = {
    {"apiVersion", &n_any}, {"kind", &n_any}, {"metadata", &n_objmeta}, {"spec", &n_ns_spec},
    {"status", &n_ns_status}, {NULL, NULL},
};
static const snode n_ns_root = CLOSED(p_ns_root, NULL);
static const sprop p_cm_root[] = {
    {"apiVersion", &n_any}, {"binaryData", &n_str_map}, {"data", &n_str_map}, {"immutable", &n_bool},
    {"kind", &n_any}, {"metadata", &n_objmeta}, {NULL, NULL},
};
static const snode n_cm_root = CLOSED(p_cm_root, NULL);
static const sprop p_secret_root[] = {
    {"apiVersion", &n_any}, {"data", &n_str_map}, {"immutable", &n_bool}, {"kind", &n_any},
    {"metadata", &n_objmeta}, {"stringData", &n_str_map}, {"type", &n_str}, {NULL, NULL},
};
static const snode n_secret_root = CLOSED(p_secret_root, NULL);
static const sprop p_event_root[] = {
    {"action", &n_any}, {"apiVersion", &n_any}, {"count", &n_any}, {"eventTime", &n_any},
    {"firstTimestamp", &n_any}, {"involvedObject", &n_obj}, {"kind", &n_any},
    {"lastTimestamp", &n_any}, {"message", &n_any}, {"metadata", &n_objmeta}, {"reason", &n_any},
    {"related", &n_obj}, {"reportingComponent", &n_any}, {"reportingInstance", &n_any},
    {"series", &n_obj}, {"source", &n_obj}, {"type", &n_any}, {NULL, NULL},
};
static const snode n_event_root = CLOSED(p_event_root, NULL);

/* The document-order walk: each member of a closed object is known (walked further) or pruned. */
static void prune_doc(const snode *node, const spath *path, json_t *v, fieldpaths *u)
{
    if (!v || node->type == S_ANY)
        return;
    if (json_is_array(v) && node->type == S_ARRAY && node->sub) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            spath sub = {path, NULL, i};
            prune_doc(node->sub, &sub, x, u);
        }
        return;
    }
    if (!json_is_object(v) || node->type != S_OBJECT)
        return;
    const char *k;
    json_t *x;
    size_t unknown = 0;
    json_object_foreach(v, k, x) {
        const snode *next = node->sub;
        if (node->props) {
            int i = prop_index(node, k);
            if (i < 0) {
                unknown += node->closed;
                if (node->closed) {
                    spath sub = {path, k, 0};
                    sbuf pb = SBUF_INIT(SCHEMA_PATH_MAX);
                    path_write(&pb, &sub);
                    fieldpaths_add(u, sbuf_str(&pb));
                    sbuf_free(&pb);
                }
                continue;
            }
            next = node->props[i].node;
        }
        if (next) {
            spath sub = {path, k, 0};
            prune_doc(next, &sub, x, u);
        }
    }
    if (!unknown)
        return;
    char **del = malloc(unknown * sizeof *del);
    size_t nd = 0;
    if (!del)
        oom();
    json_object_foreach(v, k, x)
        if (prop_index(node, k) < 0 && !(del[nd++] = strdup(k)))
            oom();
    for (size_t i = 0; i < nd; i++) {
        json_object_del(v, del[i]);
        free(del[i]);
    }
    free(del);
}

static const snode *core_root(const char *plural)
{
    if (!strcmp(plural, "pods"))
        return &n_pod_root;
    if (!strcmp(plural, "services"))
        return &n_svc_root;
    if (!strcmp(plural, "namespaces"))
        return &n_ns_root;
    if (!strcmp(plural, "events"))
        return &n_event_root;
    if (!strcmp(plural, "configmaps"))
        return &n_cm_root;
    if (!strcmp(plural, "secrets"))
        return &n_secret_root;
    return NULL;
}

int validate_core_prune(const char *plural, json_t *obj, fieldpaths *u)
{
    const snode *root = core_root(plural);
    if (!root)
        return -1;
    prune_doc(root, NULL, obj, u);
    return 0;
}

/* One node and everything below it: props sorted and counted (prop_index's binary search
 * depends on it), each closed object's props named. */
static int node_ok(const snode *node, int depth)
{
    if (depth > 32)
        return 0;
    if (node->sub && !node_ok(node->sub, depth + 1))
        return 0;
    if (!node->props)
        return node->nprops == 0 && !node->closed;
    size_t n = 0;
    while (node->props[n].name)
        n++;
    if (n != node->nprops || !node->closed)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((i && strcmp(node->props[i - 1].name, node->props[i].name) >= 0) ||
            !node_ok(node->props[i].node, depth + 1))
            return 0;
    return 1;
}

size_t validate_schema_props(const char *type, const char **names, size_t cap)
{
    static const struct {
        const char *type;
        const snode *node;
    } named[] = {{"PodSpec", &n_podspec}, {"Container", &n_container},
                 {"ResourceRequirements", &n_resources}, {"ContainerPort", &n_port},
                 {"EnvVar", &n_env}};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++) {
        if (strcmp(named[i].type, type))
            continue;
        size_t n = 0;
        for (; n < named[i].node->nprops && n < cap; n++)
            names[n] = named[i].node->props[n].name;
        return n;
    }
    return 0;
}

int validate_schema_ok(void)
{
    return node_ok(&n_root, 0) && node_ok(&n_objmeta, 0) && node_ok(&n_spec, 0) &&
           node_ok(&n_status, 0) && node_ok(&n_pod_root, 0) && node_ok(&n_svc_root, 0) &&
           node_ok(&n_ns_root, 0) && node_ok(&n_event_root, 0) && node_ok(&n_cm_root, 0) &&
           node_ok(&n_secret_root, 0);
}

/* ---- training-operator v1.9 validating webhook -------------------------------------------- */

static void validate_replica_specs(fielderrs *l, const json_t *rs)
{
    if (!rs || !json_is_object(rs)) {
        fe_add(l, FE_REQUIRED, "spec.pytorchReplicaSpecs", NULL, "must be required");
        return;
    }
    size_t n;
    const char **keys = sorted_keys(rs, &n);
    for (size_t i = 0; i < n; i++) {
        const char *type = keys[i];
        const json_t *spec = json_object_get(rs, type);
        char *fld; /* field paths are written out only for an error: a valid job formats none */

        if (strcmp(type, "Master") != 0 && strcmp(type, "Worker") != 0) {
            char *v = fe_str(type);
            fld = xasprintf("spec.pytorchReplicaSpecs[%s]", type);
            fe_add(l, FE_NOT_SUPPORTED, fld, v, "supported values: \"Master\", \"Worker\"");
            free(fld);
            free(v);
        }
        const json_t *cs = get(get(get(spec, "template"), "spec"), "containers");
        size_t nc = cs && json_is_array(cs) ? json_array_size(cs) : 0;
        if (nc == 0) {
            fld = xasprintf("spec.pytorchReplicaSpecs[%s].template.spec.containers", type);
            fe_add(l, FE_REQUIRED, fld, NULL, "must be specified");
            free(fld);
        }
        int has_default = 0;
        for (size_t c = 0; c < nc; c++) {
            const json_t *ct = json_array_get(cs, c);
            const char *image = get_str(ct, "image"), *name = get_str(ct, "name");
            if (!image || !*image) {
                fld = xasprintf("spec.pytorchReplicaSpecs[%s].template.spec.containers[%zu].image", type, c);
                fe_add(l, FE_REQUIRED, fld, NULL, "must be required");
                free(fld);
            }
            if (name && strcmp(name, "pytorch") == 0)
                has_default = 1;
        }
        if (!has_default) {
            fld = xasprintf("spec.pytorchReplicaSpecs[%s].template.spec.containers", type);
            fe_add(l, FE_REQUIRED, fld, NULL, "must have at least one container with name %s", "pytorch");
            free(fld);
        }

        const json_t *rep = get(spec, "replicas");
        int has_rep = rep && json_is_number(rep);
        double r = has_rep ? json_number_value(rep) : 0;
        const char *bad = NULL;
        if (strcmp(type, "Master") == 0) {
            if (!has_rep || r != 1)
                bad = "must be 1";
        } else if (has_rep && r < 1) {
            bad = "must be at least 1";
        }
        if (bad) {
            fld = xasprintf("spec.pytorchReplicaSpecs[%s].replicas", type);
            fe_add(l, FE_FORBIDDEN, fld, NULL, "%s", bad);
            free(fld);
        }
    }
    free(keys);
}

void validate_pytorchjob_webhook(fielderrs *l, const json_t *obj, json_t **warnings)
{
    if (warnings)
        *warnings = json_array();

    /* NameIsDNS1035Label(name, false), messages joined by "," */
    const char *name = get_str(get(obj, "metadata"), "name");
    msgs ms = {0};
    is_dns1035_label(&ms, name ? name : "");
    if (ms.n) {
        char *joined = msgs_join(&ms, ",");
        char *v = fe_str(name ? name : "");
        fe_add(l, FE_INVALID, "metadata.name", v, "should match: %s", joined);
        free(v);
        free(joined);
    }
    msgs_free(&ms);

    /* util.ValidateRunPolicy: managedBy ∈ supportedJobControllers (a set; listed sorted here).
     * The update-time immutability check compares the new object with itself upstream and never
     * fires, so there is nothing to run. */
    const json_t *spec = get(obj, "spec");
    const json_t *mb = get(get(spec, "runPolicy"), "managedBy");
    if (mb && json_is_string(mb) && strcmp(json_string_value(mb), "kubeflow.org/training-operator") != 0 &&
        strcmp(json_string_value(mb), "kueue.x-k8s.io/multikueue") != 0) {
        char *v = fe_str(json_string_value(mb));
        fe_add(l, FE_NOT_SUPPORTED, "spec.runPolicy.managedBy", v,
               "supported values: \"kubeflow.org/training-operator\", \"kueue.x-k8s.io/multikueue\"");
        free(v);
    }

    const json_t *ep = get(spec, "elasticPolicy");
    const json_t *rs = get(spec, "pytorchReplicaSpecs");
    if (ep) {
        if (!get(rs, "Worker"))
            fe_add(l, FE_REQUIRED, "spec.pytorchReplicaSpecs[Worker]", NULL,
                   "must be configured if elastic policy is used");
        if (get(ep, "nProcPerNode")) {
            if (warnings)
                json_array_append_new(*warnings,
                                      json_string("spec.elasticPolicy.nProcPerNode is deprecated, "
                                                  "use spec.nprocPerNode instead"));
            if (get(spec, "nprocPerNode"))
                fe_add(l, FE_FORBIDDEN, "spec.elasticPolicy.nProcPerNode", NULL,
                       "must not be used with %s", "spec.nprocPerNode");
        }
    }
    validate_replica_specs(l, rs);
}

/* ---- core/v1 Pod (the parts the local runtime relies on) ----------------------------------- */

/* v is one of the NULL-terminated set. */
static int one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(v, *set))
            return 1;
    return 0;
}

static void not_supported(fielderrs *l, const char *field, const char *v, const char *supported)
{
    char *q = fe_str(v);
    fe_add(l, FE_NOT_SUPPORTED, field, q, "supported values: %s", supported);
    free(q);
}

/* ---- core/v1 container env (ValidateEnv, ValidateEnvFrom; kube 1.32, whose
 * RelaxedEnvironmentVariableValidation is on) ------------------------------------------------- */

#define CONFIG_KEY_FMT "[-._a-zA-Z0-9]+"
static const char msg_config_key[] = RE_EX3("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                                            CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name");

/* IsRelaxedEnvVarName */
static void is_env_var_name(msgs *ms, const char *v)
{
    if (!*v)
        msgs_add(ms, "environment variable name must be non-empty");
    for (const unsigned char *c = (const unsigned char *)v; *c; c++)
        if (*c < 0x20 || *c > 0x7e || *c == '=') {
            msgs_add(ms, "a valid environment variable name must consist only of printable ASCII characters other than '='");
            break;
        }
}

/* IsConfigMapKey */
static void is_config_key(msgs *ms, const char *v)
{
    size_t n = strlen(v);
    if (n > 253)
        msgs_add(ms, "must be no more than %d characters", 253);
    int ok = n > 0;
    for (size_t i = 0; i < n && ok; i++)
        ok = is_alnum(v[i]) || v[i] == '-' || v[i] == '.' || v[i] == '_';
    if (!ok)
        msgs_add(ms, "%s", msg_config_key);
    if (!strcmp(v, "."))
        msgs_add(ms, "must not be '.'");
    else if (!strcmp(v, ".."))
        msgs_add(ms, "must not be '..'");
    else if (!strncmp(v, "..", 2))
        msgs_add(ms, "must not start with '..'");
}

/* The downward API fields a variable may name (validEnvDownwardAPIFieldPathExpressions, sorted). */
static const char *const env_field_paths[] = {"metadata.name", "metadata.namespace", "metadata.uid",
                                              "spec.nodeName", "spec.serviceAccountName", "status.hostIP",
                                              "status.hostIPs", "status.podIP", "status.podIPs", NULL};

/* SplitMaybeSubscriptedPath: "metadata.labels['k']" → path "metadata.labels", key "k". */
int validate_split_subscript(const char *fp, char *path, size_t pcap, char *key, size_t kcap)
{
    size_t n = strlen(fp);
    const char *open = strstr(fp, "['");
    if (n < 2 || strcmp(fp + n - 2, "']") || !open || open == fp || open + 2 > fp + n - 2)
        return 0;
    snprintf(path, pcap, "%.*s", (int)(open - fp), fp);
    snprintf(key, kcap, "%.*s", (int)(fp + n - 2 - (open + 2)), open + 2);
    return 1;
}

/* validateObjectFieldSelector with ConvertDownwardAPIFieldLabel for "v1"; at: "…valueFrom.fieldRef". */
static void env_field_ref(fielderrs *l, const char *at, const json_t *fr)
{
    char f[352];
    const char *av = get_str(fr, "apiVersion"), *fp = get_str(fr, "fieldPath");
    if (!av || !*av) {
        snprintf(f, sizeof f, "%s.apiVersion", at);
        fe_add(l, FE_REQUIRED, f, NULL, NULL);
        return;
    }
    snprintf(f, sizeof f, "%s.fieldPath", at);
    if (!fp || !*fp) {
        fe_add(l, FE_REQUIRED, f, NULL, NULL);
        return;
    }
    char path[256], key[256], *v = fe_str(fp);
    int sub = validate_split_subscript(fp, path, sizeof path, key, sizeof key);
    static const char *const known[] = {"metadata.annotations", "metadata.labels", "metadata.name",
                                        "metadata.namespace", "metadata.uid", "spec.nodeName",
                                        "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName",
                                        "status.phase", "status.hostIP", "status.hostIPs", "status.podIP",
                                        "status.podIPs", "spec.host", NULL};
    int found = !sub && one_of(fp, known);
    if (strcmp(av, "v1"))
        fe_add(l, FE_INVALID, f, v, "error converting fieldPath: unsupported pod version: %s", av);
    else if (sub && strcmp(path, "metadata.annotations") && strcmp(path, "metadata.labels"))
        fe_add(l, FE_INVALID, f, v, "error converting fieldPath: field label does not support subscript: %s", fp);
    else if (!sub && !found)
        fe_add(l, FE_INVALID, f, v, "error converting fieldPath: field label not supported: %s", fp);
    else if (sub && !strcmp(path, "metadata.annotations")) {
        for (char *c = key; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        validate_qualified_name(l, at, key);
    } else if (sub) {
        validate_qualified_name(l, at, key);
    } else {
        const char *internal = strcmp(fp, "spec.host") ? fp : "spec.nodeName";
        if (!one_of(internal, env_field_paths))
            not_supported(l, f, internal, "\"metadata.name\", \"metadata.namespace\", \"metadata.uid\", "
                          "\"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", "
                          "\"status.podIP\", \"status.podIPs\"");
    }
    free(v);
}

/* validateContainerResourceFieldSelector (not for a volume) and validateContainerResourceDivisor. */
static void env_resource_ref(fielderrs *l, const char *at, const json_t *rr)
{
    static const char *const res[] = {"limits.cpu", "limits.ephemeral-storage", "limits.memory",
                                      "requests.cpu", "requests.ephemeral-storage", "requests.memory", NULL};
    char f[352], buf[32];
    const char *r = get_str(rr, "resource");
    snprintf(f, sizeof f, "%s.resource", at);
    if (!r || !*r)
        fe_add(l, FE_REQUIRED, f, NULL, NULL);
    else if (!one_of(r, res) && strncmp(r, "requests.hugepages-", 19) && strncmp(r, "limits.hugepages-", 17))
        not_supported(l, f, r, "\"limits.cpu\", \"limits.ephemeral-storage\", \"limits.memory\", "
                      "\"requests.cpu\", \"requests.ephemeral-storage\", \"requests.memory\"");
    const char *d = quantity_text(json_object_get(rr, "divisor"), buf, sizeof buf);
    if (!r || !d || !strcmp(d, "0"))
        return;
    static const char *const mem[] = {"1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei",
                                      NULL};
    static const char *const cpus[] = {"1m", "1", NULL};
    int cpu = !strcmp(r, "limits.cpu") || !strcmp(r, "requests.cpu");
    int memory = !strcmp(r, "limits.memory") || !strcmp(r, "requests.memory");
    int storage = !strcmp(r, "limits.ephemeral-storage") || !strcmp(r, "requests.ephemeral-storage");
    int ok = one_of(d, cpu ? cpus : mem);
    if (ok || !(cpu || memory || storage))
        return;
    snprintf(f, sizeof f, "%s.divisor", at);
    char *v = fe_str(r);
    if (cpu)
        fe_add(l, FE_INVALID, f, v, "only divisor's values 1m and 1 are supported with the cpu resource");
    else
        fe_add(l, FE_INVALID, f, v, "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei "
               "are supported with the %s resource", memory ? "memory" : "local ephemeral storage");
    free(v);
}

/* validateConfigMapKeySelector / validateSecretKeySelector: a DNS-1123 subdomain name, a key. */
static void env_key_ref(fielderrs *l, const char *at, const json_t *kr)
{
    char f[352];
    snprintf(f, sizeof f, "%s.name", at);
    validate_dns1123_subdomain(l, f, get_str(kr, "name") ? get_str(kr, "name") : "");
    snprintf(f, sizeof f, "%s.key", at);
    const char *key = get_str(kr, "key");
    if (!key || !*key)
        fe_add(l, FE_REQUIRED, f, NULL, NULL);
    else
        check_each(l, f, key, is_config_key);
}

/* ValidateEnv for one container's env list; at: "spec.containers[0].env". */
static void validate_env(fielderrs *l, const char *at, const json_t *env)
{
    size_t i;
    json_t *ev;
    json_array_foreach(env, i, ev) {
        char f[300], vf[320];
        snprintf(f, sizeof f, "%s[%zu].name", at, i);
        const char *name = get_str(ev, "name");
        if (!name || !*name)
            fe_add(l, FE_REQUIRED, f, NULL, NULL);
        else
            check_each(l, f, name, is_env_var_name);
        const json_t *from = get(ev, "valueFrom");
        if (!json_is_object(from))
            continue;
        snprintf(f, sizeof f, "%s[%zu].valueFrom", at, i);
        static const char *const kinds[] = {"fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef"};
        int sources = 0;
        for (size_t k = 0; k < 4; k++) {
            const json_t *src = get(from, kinds[k]);
            if (!json_is_object(src))
                continue;
            sources++;
            snprintf(vf, sizeof vf, "%s.%s", f, kinds[k]);
            if (k == 0)
                env_field_ref(l, vf, src);
            else if (k == 1)
                env_resource_ref(l, vf, src);
            else
                env_key_ref(l, vf, src);
        }
        const char *value = get_str(ev, "value");
        if (sources == 0)
            fe_add(l, FE_INVALID, f, "\"\"", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`");
        else if (value && *value)
            fe_add(l, FE_INVALID, f, "\"\"", "may not be specified when `value` is not empty");
        else if (sources > 1)
            fe_add(l, FE_INVALID, f, "\"\"", "may not have more than one field specified at a time");
    }
}

/* ValidateEnvFrom; at: "spec.containers[0].envFrom". */
static void validate_env_from(fielderrs *l, const char *at, const json_t *list)
{
    size_t i;
    json_t *ef;
    json_array_foreach(list, i, ef) {
        char f[300];
        const char *prefix = get_str(ef, "prefix");
        if (prefix && *prefix) {
            snprintf(f, sizeof f, "%s[%zu].prefix", at, i);
            check_each(l, f, prefix, is_env_var_name);
        }
        int sources = 0;
        static const char *const kinds[] = {"configMapRef", "secretRef"};
        for (size_t k = 0; k < 2; k++) {
            const json_t *ref = get(ef, kinds[k]);
            if (!json_is_object(ref))
                continue;
            sources++;
            snprintf(f, sizeof f, "%s[%zu].%s.name", at, i, kinds[k]);
            const char *name = get_str(ref, "name");
            if (!name || !*name)
                fe_add(l, FE_REQUIRED, f, NULL, NULL);
            else
                validate_dns1123_subdomain(l, f, name);
        }
        /* upstream names the list here, not the item */
        if (sources == 0)
            fe_add(l, FE_INVALID, at, "\"\"", "must specify one of: `configMapRef` or `secretRef`");
        else if (sources > 1)
            fe_add(l, FE_INVALID, at, "\"\"", "may not have more than one field specified at a time");
    }
}

/* ---- core/v1 ConfigMap and Secret (ValidateConfigMap, ValidateSecret and their updates) --------- */

#define CONFIG_MAX_BYTES (1 << 20) /* MaxSecretSize, and a ConfigMap's total */

/* Each key of map under name: a valid config key, not in also (binaryData against data). The
 * bytes of the values are added to *total (decoded, for base64 maps). */
static void config_keys(fielderrs *l, const char *name, const json_t *map, const json_t *also, int b64,
                        size_t *total)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)map, k, v) {
        char f[600];
        snprintf(f, sizeof f, "%s[%.500s]", name, k);
        check_each(l, f, k, is_config_key);
        if (also && json_object_get(also, k)) {
            char *q = fe_str(k);
            fe_add(l, FE_INVALID, f, q, "duplicate of key present in binaryData");
            free(q);
        }
        size_t n = json_string_length(v);
        *total += b64 ? n / 4 * 3 : n;
    }
}

void validate_config_object(fielderrs *l, const char *plural, const json_t *obj)
{
    size_t total = 0;
    if (!strcmp(plural, "configmaps")) {
        const json_t *data = json_object_get(obj, "data"), *bin = json_object_get(obj, "binaryData");
        config_keys(l, "data", data, bin, 0, &total);
        config_keys(l, "binaryData", bin, NULL, 1, &total);
        if (total > CONFIG_MAX_BYTES)
            fe_add(l, FE_TOO_LONG, "[]", NULL, "must have at most %d bytes", CONFIG_MAX_BYTES);
        return;
    }
    const json_t *data = json_object_get(obj, "data");
    config_keys(l, "data", data, NULL, 1, &total);
    if (total > CONFIG_MAX_BYTES)
        fe_add(l, FE_TOO_LONG, "data", NULL, "must have at most %d bytes", CONFIG_MAX_BYTES);
    /* the typed Secrets' keys (ValidateSecret's switch on the type) */
    const char *type = get_str(obj, "type");
    const char *need[2] = {NULL, NULL};
    if (!type)
        return;
    if (!strcmp(type, "kubernetes.io/service-account-token")) {
        const char *sa = get_str(get(get(obj, "metadata"), "annotations"), "kubernetes.io/service-account.name");
        if (!sa || !*sa)
            fe_add(l, FE_REQUIRED, "metadata.annotations[kubernetes.io/service-account.name]", NULL, NULL);
        return;
    }
    if (!strcmp(type, "kubernetes.io/dockercfg"))
        need[0] = ".dockercfg";
    else if (!strcmp(type, "kubernetes.io/dockerconfigjson"))
        need[0] = ".dockerconfigjson";
    else if (!strcmp(type, "kubernetes.io/tls"))
        need[0] = "tls.crt", need[1] = "tls.key";
    else if (!strcmp(type, "kubernetes.io/basic-auth")) {
        if (json_object_get(data, "username") || json_object_get(data, "password"))
            return; /* either may be empty, one must be there */
        need[0] = "username", need[1] = "password";
    } else if (!strcmp(type, "kubernetes.io/ssh-auth")) {
        if (json_string_length(json_object_get(data, "ssh-privatekey")))
            return;
        fe_add(l, FE_REQUIRED, "data[ssh-privatekey]", NULL, NULL);
        return;
    }
    for (int i = 0; i < 2 && need[i]; i++)
        if (!json_object_get(data, need[i])) {
            char f[64];
            snprintf(f, sizeof f, "data[%s]", need[i]);
            fe_add(l, FE_REQUIRED, f, NULL, NULL);
        }
}

void validate_config_update(fielderrs *l, const char *plural, const json_t *old, const json_t *obj)
{
    if (!strcmp(plural, "secrets")) {
        const char *ot = get_str(old, "type"), *nt = get_str(obj, "type");
        if (ot && nt && strcmp(ot, nt)) {
            char *v = fe_str(nt);
            fe_add(l, FE_INVALID, "type", v, "field is immutable");
            free(v);
        }
    }
    if (!json_is_true(json_object_get(old, "immutable")))
        return;
    /* immutable: the data may not change, nor may immutable be unset */
    static const char *const fields[] = {"data", "binaryData"};
    for (size_t i = 0; i < (strcmp(plural, "configmaps") ? 1u : 2u); i++) {
        const json_t *a = json_object_get(old, fields[i]), *b = json_object_get(obj, fields[i]);
        int empty_a = !a || !json_object_size(a), empty_b = !b || !json_object_size(b);
        if (!(empty_a && empty_b) && !json_equal(a, b))
            fe_add(l, FE_FORBIDDEN, fields[i], NULL, "field is immutable when `immutable` is set");
    }
    if (!json_is_true(json_object_get(obj, "immutable")))
        fe_add(l, FE_FORBIDDEN, "immutable", NULL, "field is immutable when `immutable` is set");
}

void validate_pod_spec(fielderrs *l, const json_t *obj)
{
    const json_t *spec = get(obj, "spec");
    const json_t *cs = get(spec, "containers");
    if (!json_is_array(cs) || json_array_size(cs) == 0) {
        fe_add(l, FE_REQUIRED, "spec.containers", NULL, NULL);
        return;
    }
    size_t i;
    json_t *c;
    json_array_foreach(cs, i, c) {
        char field[96];
        const char *name = get_str(c, "name");
        snprintf(field, sizeof field, "spec.containers[%zu].name", i);
        if (!name || !*name)
            fe_add(l, FE_REQUIRED, field, NULL, NULL);
        else
            validate_dns1123_label(l, field, name);
        snprintf(field, sizeof field, "spec.containers[%zu].image", i);
        const char *image = get_str(c, "image");
        if (!image || !*image)
            fe_add(l, FE_REQUIRED, field, NULL, NULL);
        snprintf(field, sizeof field, "spec.containers[%zu].env", i);
        validate_env(l, field, get(c, "env"));
        snprintf(field, sizeof field, "spec.containers[%zu].envFrom", i);
        validate_env_from(l, field, get(c, "envFrom"));
    }
    const char *rp = get_str(spec, "restartPolicy");
    if (rp && strcmp(rp, "Always") && strcmp(rp, "OnFailure") && strcmp(rp, "Never")) {
        char *v = fe_str(rp);
        fe_add(l, FE_NOT_SUPPORTED, "spec.restartPolicy", v, "supported values: \"Always\", \"OnFailure\", \"Never\"");
        free(v);
    }
}

/* ---- core/v1 Pod updates (ValidatePodUpdate) ---------------------------------------------- */

#define POD_UPDATABLE                                                                             \
    "pod updates may not change fields other than `spec.containers[*].image`,"                    \
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "       \
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be "    \
    "set to 1 if it was previously negative)"

/* The containers of list name in new, their images taken from old's (the one field that may
 * change); -1 when a container was added or removed (that error is in l). */
static int munge_images(fielderrs *l, json_t *munged, const json_t *ospec, const char *name)
{
    json_t *nc = json_object_get(munged, name);
    const json_t *oc = json_object_get(ospec, name);
    if (json_array_size(nc) != json_array_size(oc)) {
        char field[32];
        snprintf(field, sizeof field, "spec.%s", name);
        fe_add(l, FE_FORBIDDEN, field, NULL, "pod updates may not add or remove containers");
        return -1;
    }
    size_t i;
    json_t *c;
    json_array_foreach(nc, i, c) {
        const json_t *img = json_object_get(json_array_get(oc, i), "image");
        if (json_is_object(c) && img)
            json_object_set(c, "image", (json_t *)img);
        else if (json_is_object(c))
            json_object_del(c, "image");
    }
    return 0;
}

/* Each old toleration is still there (validateOnlyAddedTolerations, for equal ones). */
static int same_toleration(const json_t *a, const json_t *b)
{
    json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
    json_object_del(x, "tolerationSeconds");
    json_object_del(y, "tolerationSeconds");
    int eq = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}

/* Each old toleration is still there, but for its tolerationSeconds (validateOnlyAddedTolerations). */
static void only_added_tolerations(fielderrs *l, const json_t *nt, const json_t *ot)
{
    size_t i, k;
    json_t *o, *n;
    json_array_foreach(ot, i, o) {
        int found = 0;
        json_array_foreach(nt, k, n)
            found |= same_toleration(o, n);
        if (!found) {
            fe_add(l, FE_FORBIDDEN, "spec.tolerations", NULL,
                   "existing toleration can not be modified except its tolerationSeconds");
            return;
        }
    }
}

void validate_pod_update(fielderrs *l, const json_t *old, const json_t *obj)
{
    const json_t *ospec = get(old, "spec"), *nspec = get(obj, "spec");
    if (!ospec || !nspec)
        return;
    json_t *m = json_deep_copy(nspec);
    if (munge_images(l, m, ospec, "containers") < 0 || munge_images(l, m, ospec, "initContainers") < 0) {
        json_decref(m);
        return;
    }
    const json_t *nads = get(nspec, "activeDeadlineSeconds"), *oads = get(ospec, "activeDeadlineSeconds");
    if (nads) {
        json_int_t v = json_integer_value(nads);
        char text[32];
        snprintf(text, sizeof text, "%lld", (long long)v);
        if (v < 0 || v > 2147483647)
            fe_add(l, FE_INVALID, "spec.activeDeadlineSeconds", text, "must be between 0 and 2147483647, inclusive");
        else if (oads && v > json_integer_value(oads))
            fe_add(l, FE_INVALID, "spec.activeDeadlineSeconds", text, "must be less than or equal to previous value");
    } else if (oads) {
        fe_add(l, FE_INVALID, "spec.activeDeadlineSeconds", "null", "must not update from a positive integer to nil value");
    }
    only_added_tolerations(l, get(nspec, "tolerations"), get(ospec, "tolerations"));
    /* the fields that may change take their old values; what differs then may not change */
    static const char *const free_keys[] = {"activeDeadlineSeconds", "tolerations", "schedulingGates"};
    for (size_t i = 0; i < 3; i++) {
        const json_t *ov = json_object_get(ospec, free_keys[i]);
        if (ov)
            json_object_set(m, free_keys[i], (json_t *)ov);
        else
            json_object_del(m, free_keys[i]);
    }
    const json_t *og = get(ospec, "terminationGracePeriodSeconds"), *ng = get(m, "terminationGracePeriodSeconds");
    if (og && json_integer_value(og) < 0 && ng && json_integer_value(ng) == 1)
        json_object_set(m, "terminationGracePeriodSeconds", (json_t *)og);
    if (!json_equal(m, ospec)) {
        /* kube follows this line with cmp.Diff of its Go PodSpec; the fields that differ here */
        sbuf d = SBUF_INIT(1u << 16);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)ospec, k, v)
            if (!json_equal(v, json_object_get(m, k)))
                sbuf_printf(&d, "\n  spec.%s changed", k);
        json_object_foreach(m, k, v)
            if (!json_object_get(ospec, k))
                sbuf_printf(&d, "\n  spec.%s added", k);
        fe_add(l, FE_FORBIDDEN, "spec", NULL, "%s%s", POD_UPDATABLE, sbuf_str(&d));
        sbuf_free(&d);
    }
    json_decref(m);
}

/* ---- core/v1 Service (ValidateService, the rules a manifest gets wrong) -------------------- */

/* validation.IsValidPortName */
static void is_port_name(msgs *ms, const char *v)
{
    size_t n = strlen(v);
    int letter = 0, charset = n > 0;
    for (size_t i = 0; i < n; i++) {
        letter |= v[i] >= 'a' && v[i] <= 'z';
        charset &= (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-';
    }
    if (n > 15)
        msgs_add(ms, "must be no more than %d characters", 15);
    if (!charset)
        msgs_add(ms, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    if (!letter)
        msgs_add(ms, "must contain at least one letter (a-z)");
    if (strstr(v, "--"))
        msgs_add(ms, "must not contain consecutive hyphens");
    if (n > 0 && (v[0] == '-' || v[n - 1] == '-'))
        msgs_add(ms, "must not begin or end with a hyphen");
}

/* validation.IsValidPortNum, on a JSON number (a port field is an int32 by now). */
static void port_num(fielderrs *l, const char *field, json_int_t p)
{
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)p);
    if (p < 1 || p > 65535)
        fe_add(l, FE_INVALID, field, v, "must be between 1 and 65535, inclusive");
}

void validate_service_spec(fielderrs *l, const json_t *obj)
{
    static const char *const types[] = {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort", NULL};
    static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};
    static const char *const affinities[] = {"ClientIP", "None", NULL};
    const json_t *spec = get(obj, "spec");
    const char *type = get_str(spec, "type"), *cip = get_str(spec, "clusterIP");
    if (!type)
        type = "ClusterIP";
    int headless = cip && !strcmp(cip, "None");
    const json_t *ports = get(spec, "ports");
    size_t nports = json_array_size(ports);
    if (!nports && !headless && strcmp(type, "ExternalName"))
        fe_add(l, FE_REQUIRED, "spec.ports", NULL, NULL);
    if (!strcmp(type, "ExternalName")) {
        if (json_array_size(get(spec, "clusterIPs")) > 0)
            fe_add(l, FE_FORBIDDEN, "spec.clusterIPs", NULL, "may not be set for ExternalName services");
        const char *en = get_str(spec, "externalName");
        size_t n = en ? strlen(en) : 0;
        if (n && en[n - 1] == '.') /* a CNAME may end in a dot: fully qualified */
            n--;
        if (n) {
            char *cname = strndup(en, n);
            if (!cname)
                oom();
            validate_dns1123_subdomain(l, "spec.externalName", cname);
            free(cname);
        } else {
            fe_add(l, FE_REQUIRED, "spec.externalName", NULL, NULL);
        }
    }
    for (size_t i = 0; i < nports; i++) {
        const json_t *p = json_array_get(ports, i);
        char field[64];
        const char *name = get_str(p, "name");
        snprintf(field, sizeof field, "spec.ports[%zu].name", i);
        if (nports > 1 && (!name || !*name)) {
            fe_add(l, FE_REQUIRED, field, NULL, NULL);
        } else if (name && *name) {
            validate_dns1123_label(l, field, name);
            for (size_t k = 0; k < i; k++) {
                const char *other = get_str(json_array_get(ports, k), "name");
                if (other && !strcmp(other, name)) {
                    char *q = fe_str(name);
                    fe_add(l, FE_DUPLICATE, field, q, NULL);
                    free(q);
                    break;
                }
            }
        }
        snprintf(field, sizeof field, "spec.ports[%zu].port", i);
        port_num(l, field, json_integer_value(get(p, "port")));
        const char *proto = get_str(p, "protocol");
        snprintf(field, sizeof field, "spec.ports[%zu].protocol", i);
        if (!proto || !*proto)
            fe_add(l, FE_REQUIRED, field, NULL, NULL);
        else if (!one_of(proto, protocols))
            not_supported(l, field, proto, "\"SCTP\", \"TCP\", \"UDP\"");
        const json_t *tp = get(p, "targetPort");
        snprintf(field, sizeof field, "spec.ports[%zu].targetPort", i);
        if (json_is_string(tp)) {
            msgs ms = {0};
            is_port_name(&ms, json_string_value(tp));
            add_invalid_each(l, field, json_string_value(tp), &ms);
            msgs_free(&ms);
        } else {
            port_num(l, field, tp ? json_integer_value(tp) : json_integer_value(get(p, "port")));
        }
    }
    const char *aff = get_str(spec, "sessionAffinity");
    if (aff && !one_of(aff, affinities))
        not_supported(l, "spec.sessionAffinity", aff, "\"ClientIP\", \"None\"");
    if (!one_of(type, types))
        not_supported(l, "spec.type", type, "\"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"");
}

/* The CRD schema's defaults, applied where kube applies them (decoding a request body): a
 * runPolicy object gets suspend: false, and a port in the pod templates gets protocol TCP (the
 * pod template schema is core/v1's). Nothing else: the controller's defaults stay in memory. */
void validate_pytorchjob_defaults(json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    json_t *rp = json_object_get(spec, "runPolicy");
    if (json_is_object(rp) && !json_object_get(rp, "suspend"))
        json_object_set_new(rp, "suspend", json_false());
    const char *key;
    json_t *rs;
    json_object_foreach(json_object_get(spec, "pytorchReplicaSpecs"), key, rs) {
        json_t *pspec = json_object_get(json_object_get(rs, "template"), "spec");
        static const char *const lists[] = {"containers", "initContainers"};
        for (size_t l = 0; l < 2; l++) {
            size_t i, k;
            json_t *c, *port;
            json_array_foreach(json_object_get(pspec, lists[l]), i, c)
                json_array_foreach(json_object_get(c, "ports"), k, port)
                    if (json_is_object(port) && !json_object_get(port, "protocol"))
                        json_object_set_new(port, "protocol", json_string("TCP"));
        }
    }
}

/* One container's defaults (SetDefaults_Container, SetDefaults_ContainerPort). */
static void container_defaults(json_t *c)
{
    if (!json_is_object(c))
        return;
    const char *image = json_string_value(json_object_get(c, "image"));
    if (image && !json_object_get(c, "imagePullPolicy")) {
        /* Always for ":latest" or no tag (a digest counts as a tag), else IfNotPresent */
        const char *slash = strrchr(image, '/'), *tail = slash ? slash + 1 : image;
        const char *colon = strrchr(tail, ':');
        int latest = !strchr(image, '@') && (!colon || !strcmp(colon, ":latest"));
        json_object_set_new(c, "imagePullPolicy", json_string(latest ? "Always" : "IfNotPresent"));
    }
    if (!json_object_get(c, "terminationMessagePath"))
        json_object_set_new(c, "terminationMessagePath", json_string("/dev/termination-log"));
    if (!json_object_get(c, "terminationMessagePolicy"))
        json_object_set_new(c, "terminationMessagePolicy", json_string("File"));
    if (!json_object_get(c, "resources"))
        json_object_set_new(c, "resources", json_object());
    /* SetDefaults_Probe, SetDefaults_HTTPGetAction */
    static const char *const probes[] = {"livenessProbe", "readinessProbe", "startupProbe"};
    for (size_t k = 0; k < 3; k++) {
        json_t *pr = json_object_get(c, probes[k]);
        if (!json_is_object(pr))
            continue;
        static const struct { const char *f; int v; } d[] = {
            {"timeoutSeconds", 1}, {"periodSeconds", 10}, {"successThreshold", 1}, {"failureThreshold", 3}};
        for (size_t j = 0; j < 4; j++)
            if (!json_is_integer(json_object_get(pr, d[j].f)) || json_integer_value(json_object_get(pr, d[j].f)) == 0)
                json_object_set_new(pr, d[j].f, json_integer(d[j].v));
        json_t *hg = json_object_get(pr, "httpGet");
        if (json_is_object(hg)) {
            const char *path = json_string_value(json_object_get(hg, "path"));
            if (!path || !*path)
                json_object_set_new(hg, "path", json_string("/"));
            if (!json_is_string(json_object_get(hg, "scheme")) || !*json_string_value(json_object_get(hg, "scheme")))
                json_object_set_new(hg, "scheme", json_string("HTTP"));
        }
    }
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(c, "env"), i, ev) {
        /* SetDefaults_ObjectFieldSelector; a ResourceFieldSelector's divisor is a Quantity, not a
         * pointer, so Go writes its zero value */
        json_t *from = json_object_get(ev, "valueFrom"), *fr = json_object_get(from, "fieldRef"),
               *rr = json_object_get(from, "resourceFieldRef");
        if (json_is_object(fr) && !json_object_get(fr, "apiVersion"))
            json_object_set_new(fr, "apiVersion", json_string("v1"));
        if (json_is_object(rr) && !json_object_get(rr, "divisor"))
            json_object_set_new(rr, "divisor", json_string("0"));
    }
    json_t *port;
    json_array_foreach(json_object_get(c, "ports"), i, port)
        if (json_is_object(port) && !json_object_get(port, "protocol"))
            json_object_set_new(port, "protocol", json_string("TCP"));
}

/* SetDefaults_Pod: a limit without its request gives the request (a Pod's, not a template's). */
static void requests_from_limits(json_t *c)
{
    json_t *res = json_object_get(c, "resources"), *lim = json_object_get(res, "limits");
    if (!json_is_object(lim))
        return;
    json_t *req = json_object_get(res, "requests");
    if (!json_is_object(req))
        json_object_set_new(res, "requests", req = json_object());
    const char *k;
    json_t *v;
    json_object_foreach(lim, k, v)
        if (!json_object_get(req, k))
            json_object_set(req, k, v);
}

/* A quantity of a resource list (a string, or a number as YAML gives it) as a number; 0 when
 * absent or not a quantity. */
static long double list_quantity(const json_t *list, const char *name)
{
    long double v = 0;
    quantity_json(json_object_get(list, name), &v);
    return v;
}

const char *validate_pod_qos(const json_t *pod)
{
    /* GetPodQOS over cpu and memory: positive requests and limits summed over all containers;
     * Guaranteed when every container limits both and the sums of requests equal the limits */
    static const char *const lists[] = {"containers", "initContainers"}, *const names[] = {"cpu", "memory"};
    long double req[2] = {0, 0}, lim[2] = {0, 0};
    int has_req[2] = {0, 0}, has_lim[2] = {0, 0}, guaranteed = 1;
    const json_t *spec = json_object_get(pod, "spec");
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(spec, lists[l]), i, c) {
            const json_t *res = json_object_get(c, "resources");
            int found = 0;
            for (int n = 0; n < 2; n++) {
                long double r = list_quantity(json_object_get(res, "requests"), names[n]);
                long double m = list_quantity(json_object_get(res, "limits"), names[n]);
                if (r > 0)
                    req[n] += r, has_req[n] = 1;
                if (m > 0)
                    lim[n] += m, has_lim[n] = 1, found++;
            }
            if (found < 2)
                guaranteed = 0;
        }
    }
    if (!has_req[0] && !has_req[1] && !has_lim[0] && !has_lim[1])
        return "BestEffort";
    for (int n = 0; n < 2 && guaranteed; n++)
        if (has_req[n] && (!has_lim[n] || req[n] != lim[n]))
            guaranteed = 0;
    return guaranteed && has_req[0] + has_req[1] == has_lim[0] + has_lim[1] ? "Guaranteed" : "Burstable";
}

/* A Secret as v1 decodes it: stringData merged into data (base64, overwriting), type Opaque
 * when none is given (SetDefaults_Secret). */
static void secret_defaults(json_t *obj)
{
    json_t *sd = json_object_get(obj, "stringData");
    if (json_is_object(sd) && json_object_size(sd)) {
        json_t *data = json_object_get(obj, "data");
        if (!json_is_object(data))
            json_object_set_new(obj, "data", data = json_object());
        const char *k;
        json_t *v;
        json_object_foreach(sd, k, v) {
            char *e = base64_encode(json_string_value(v) ? json_string_value(v) : "", json_string_length(v));
            if (!e)
                oom();
            json_object_set_new(data, k, json_string(e));
            free(e);
        }
    }
    json_object_del(obj, "stringData");
    if (!json_is_string(json_object_get(obj, "type")) || !json_string_length(json_object_get(obj, "type")))
        json_object_set_new(obj, "type", json_string("Opaque"));
}

void validate_core_defaults(const char *plural, json_t *obj)
{
    if (!strcmp(plural, "secrets")) {
        secret_defaults(obj);
        return;
    }
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec))
        return;
    if (!strcmp(plural, "pods")) {
        static const char *const lists[] = {"containers", "initContainers"};
        for (size_t l = 0; l < 2; l++) {
            size_t i;
            json_t *c;
            json_array_foreach(json_object_get(spec, lists[l]), i, c) {
                container_defaults(c);
                requests_from_limits(c);
            }
        }
        if (!json_object_get(spec, "dnsPolicy"))
            json_object_set_new(spec, "dnsPolicy", json_string("ClusterFirst"));
        if (!json_object_get(spec, "enableServiceLinks"))
            json_object_set_new(spec, "enableServiceLinks", json_true());
        if (!json_object_get(spec, "securityContext"))
            json_object_set_new(spec, "securityContext", json_object());
        /* the Priority admission plugin, with no PriorityClass given */
        if (!json_object_get(spec, "priority") && !json_object_get(spec, "priorityClassName"))
            json_object_set_new(spec, "priority", json_integer(0));
        if (!json_object_get(spec, "preemptionPolicy"))
            json_object_set_new(spec, "preemptionPolicy", json_string("PreemptLowerPriority"));
        /* SetDefaults_PodSpec, on every decode (an update's body too) */
        if (!json_is_string(json_object_get(spec, "restartPolicy")))
            json_object_set_new(spec, "restartPolicy", json_string("Always"));
        if (!json_is_integer(json_object_get(spec, "terminationGracePeriodSeconds")))
            json_object_set_new(spec, "terminationGracePeriodSeconds", json_integer(30));
        if (!json_is_string(json_object_get(spec, "schedulerName")))
            json_object_set_new(spec, "schedulerName", json_string("default-scheduler"));
    } else if (!strcmp(plural, "services")) {
        const char *type = json_string_value(json_object_get(spec, "type"));
        int external = type && !strcmp(type, "ExternalName");
        if (!json_object_get(spec, "sessionAffinity"))
            json_object_set_new(spec, "sessionAffinity", json_string("None"));
        if (!external && !json_object_get(spec, "internalTrafficPolicy"))
            json_object_set_new(spec, "internalTrafficPolicy", json_string("Cluster"));
        size_t i;
        json_t *port;
        json_array_foreach(json_object_get(spec, "ports"), i, port) {
            if (!json_is_object(port))
                continue;
            if (!json_object_get(port, "protocol"))
                json_object_set_new(port, "protocol", json_string("TCP"));
            if (!json_object_get(port, "targetPort") && json_is_integer(json_object_get(port, "port")))
                json_object_set(port, "targetPort", json_object_get(port, "port"));
        }
    }
}
