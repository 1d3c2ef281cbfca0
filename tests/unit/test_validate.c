/* Unit tests for src/validate.c: apimachinery name/ObjectMeta checks, the PyTorchJob CRD schema
 * level and the training-operator v1.9 webhook, each message verbatim. */
#include "unit.h"
#include "validate.h"

#define SUBDOMAIN_MSG                                                                             \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "  \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used " \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define LABEL_MSG                                                                                  \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "   \
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used " \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define DNS1035_MSG                                                                                \
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "   \
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', " \
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define QNAME_MSG                                                                                  \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define LABEL_VALUE_MSG                                                                              \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', " \
    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "    \
    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

/* "<field>: <cause message>" of error i. */
static char *full(const fielderrs *l, size_t i)
{
    char *body = fe_cause_message(&l->v[i]);
    char *s;
    assert_true(asprintf(&s, "%s: %s", l->v[i].field, body) > 0);
    free(body);
    return s;
}

static void expect(const fielderrs *l, size_t i, const char *want)
{
    assert_true(i < l->n);
    char *got = full(l, i);
    if (strcmp(got, want) != 0)
        print_error("error %zu:\n got: %s\nwant: %s\n", i, got, want);
    assert_string_equal(got, want);
    free(got);
}

static void expect_none(fielderrs *l)
{
    if (l->n) {
        char *agg = fe_aggregate(l);
        print_error("unexpected errors: %s\n", agg);
        free(agg);
    }
    assert_int_equal(l->n, 0);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static json_t *load(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    if (!v)
        print_error("json: %s at %d\n", err.text, err.position);
    assert_non_null(v);
    return v;
}

/* ---- names ------------------------------------------------------------------------------- */

static void test_dns1123_subdomain(void **state)
{
    (void)state;
    fielderrs l = {0};
    const char *ok[] = {"a", "example.com", "a-b.c-d", "0", "pytorch-simple", "1.2.3"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        validate_dns1123_subdomain(&l, "metadata.name", ok[i]);
    expect_none(&l);

    validate_dns1123_subdomain(&l, "metadata.name", "Bad_Name");
    assert_int_equal(l.n, 1);
    expect(&l, 0, "metadata.name: Invalid value: \"Bad_Name\": " SUBDOMAIN_MSG);
    assert_int_equal(l.v[0].type, FE_INVALID);
    fe_free(&l);

    const char *bad[] = {"", "-a", "a-", "a..b", "a.-b", ".a", "a.", "A", "a_b", "a/b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        validate_dns1123_subdomain(&l, "f", bad[i]);
        assert_int_equal(l.n, i + 1);
    }
    fe_free(&l);

    char *s = repeat('a', 254);
    validate_dns1123_subdomain(&l, "metadata.name", s);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].detail, "must be no more than 253 characters");
    fe_free(&l);
    s[253] = '\0';
    validate_dns1123_subdomain(&l, "metadata.name", s);
    expect_none(&l);
    s[253] = '_';
    validate_dns1123_subdomain(&l, "metadata.name", s); /* too long and bad char: both, in order */
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].detail, "must be no more than 253 characters");
    assert_string_equal(l.v[1].detail, SUBDOMAIN_MSG);
    fe_free(&l);
    free(s);
}

static void test_dns1123_label(void **state)
{
    (void)state;
    fielderrs l = {0};
    validate_dns1123_label(&l, "metadata.namespace", "default");
    validate_dns1123_label(&l, "metadata.namespace", "a-1");
    expect_none(&l);

    validate_dns1123_label(&l, "metadata.namespace", "a.b");
    expect(&l, 0, "metadata.namespace: Invalid value: \"a.b\": must not contain dots");
    validate_dns1123_label(&l, "metadata.namespace", "Ns");
    expect(&l, 1, "metadata.namespace: Invalid value: \"Ns\": " LABEL_MSG);
    assert_int_equal(l.n, 2);
    fe_free(&l);

    char *s = repeat('a', 64);
    validate_dns1123_label(&l, "x", s);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].detail, "must be no more than 63 characters");
    fe_free(&l);
    free(s);
}

static void test_dns1035_label(void **state)
{
    (void)state;
    fielderrs l = {0};
    validate_dns1035_label(&l, "metadata.name", "test");
    validate_dns1035_label(&l, "metadata.name", "a0-b");
    expect_none(&l);
    validate_dns1035_label(&l, "metadata.name", "0-test");
    assert_int_equal(l.n, 1);
    expect(&l, 0, "metadata.name: Invalid value: \"0-test\": " DNS1035_MSG);
    fe_free(&l);
    validate_dns1035_label(&l, "metadata.name", "a.b"); /* no dots special case for 1035 */
    expect(&l, 0, "metadata.name: Invalid value: \"a.b\": " DNS1035_MSG);
    fe_free(&l);
}

static void test_qualified_name(void **state)
{
    (void)state;
    fielderrs l = {0};
    const char *ok[] = {"a", "MyName", "my.name", "123-abc", "example.com/MyName", "a_b", "x/Y.z"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        validate_qualified_name(&l, "metadata.labels", ok[i]);
    expect_none(&l);

    validate_qualified_name(&l, "metadata.finalizers", "a/b/c");
    assert_int_equal(l.n, 1);
    expect(&l, 0, "metadata.finalizers: Invalid value: \"a/b/c\": a qualified name " QNAME_MSG
                  " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    fe_free(&l);

    validate_qualified_name(&l, "k", "/a");
    assert_int_equal(l.n, 1);
    expect(&l, 0, "k: Invalid value: \"/a\": prefix part must be non-empty");
    fe_free(&l);

    validate_qualified_name(&l, "k", "Example.com/a");
    assert_int_equal(l.n, 1);
    expect(&l, 0, "k: Invalid value: \"Example.com/a\": prefix part " SUBDOMAIN_MSG);
    fe_free(&l);

    validate_qualified_name(&l, "k", "a/");
    assert_int_equal(l.n, 2);
    expect(&l, 0, "k: Invalid value: \"a/\": name part must be non-empty");
    expect(&l, 1, "k: Invalid value: \"a/\": name part " QNAME_MSG);
    fe_free(&l);

    validate_qualified_name(&l, "k", "");
    assert_int_equal(l.n, 2);
    fe_free(&l);

    validate_qualified_name(&l, "k", "-a");
    assert_int_equal(l.n, 1);
    expect(&l, 0, "k: Invalid value: \"-a\": name part " QNAME_MSG);
    fe_free(&l);

    char *n = repeat('a', 64), *s;
    assert_true(asprintf(&s, "x/%s", n) > 0);
    validate_qualified_name(&l, "k", s);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].detail, "name part must be no more than 63 characters");
    fe_free(&l);
    free(s);
    free(n);
}

static void test_label_value(void **state)
{
    (void)state;
    fielderrs l = {0};
    validate_label_value(&l, "metadata.labels", "");
    validate_label_value(&l, "metadata.labels", "MyValue");
    validate_label_value(&l, "metadata.labels", "my_value.1-2");
    expect_none(&l);
    validate_label_value(&l, "metadata.labels", "-x");
    expect(&l, 0, "metadata.labels: Invalid value: \"-x\": " LABEL_VALUE_MSG);
    fe_free(&l);
    char *s = repeat('v', 64);
    validate_label_value(&l, "metadata.labels", s);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].detail, "must be no more than 63 characters");
    fe_free(&l);
    free(s);
}

/* ---- ObjectMeta -------------------------------------------------------------------------- */

static void test_meta_name(void **state)
{
    (void)state;
    fielderrs l = {0};
    json_t *m = load("{\"name\":\"Bad_Name\",\"namespace\":\"default\"}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    assert_int_equal(l.n, 1);
    /* the whole 422 message of k8s-api-semantics.md §6.1 */
    char *agg = fe_aggregate(&l);
    assert_string_equal(agg, "metadata.name: Invalid value: \"Bad_Name\": " SUBDOMAIN_MSG);
    free(agg);
    json_t *c = fe_causes(&l);
    char *cs = json_dumps(c, JSON_COMPACT);
    assert_string_equal(cs, "[{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: "
                            "\\\"Bad_Name\\\": " "a lowercase RFC 1123 subdomain must consist of lower case "
                            "alphanumeric characters, '-' or '.', and must start and end with an "
                            "alphanumeric character (e.g. 'example.com', regex used for validation is "
                            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')\","
                            "\"field\":\"metadata.name\"}]");
    free(cs);
    json_decref(c);
    fe_free(&l);

    /* missing both; NULL meta */
    m = load("{}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    validate_object_meta(&l, NULL, 1);
    assert_int_equal(l.n, 2);
    expect(&l, 0, "metadata.name: Required value: name or generateName is required");
    assert_int_equal(l.v[0].type, FE_REQUIRED);
    char *agg2 = fe_aggregate(&l); /* identical messages collapse */
    assert_string_equal(agg2, "metadata.name: Required value: name or generateName is required");
    free(agg2);
    fe_free(&l);

    /* label rules when name_subdomain is 0 */
    m = load("{\"name\":\"a.b\"}");
    validate_object_meta(&l, m, 0);
    json_decref(m);
    expect(&l, 0, "metadata.name: Invalid value: \"a.b\": must not contain dots");
    fe_free(&l);

    char *s = repeat('a', 254), *t;
    assert_true(asprintf(&t, "{\"name\":\"%s\"}", s) > 0);
    m = load(t);
    validate_object_meta(&l, m, 1);
    json_decref(m);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].detail, "must be no more than 253 characters");
    fe_free(&l);
    free(t);
    free(s);
}

static void test_meta_generate_name(void **state)
{
    (void)state;
    fielderrs l = {0};
    json_t *m = load("{\"generateName\":\"job-\"}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    expect_none(&l);

    m = load("{\"generateName\":\"job-\",\"name\":\"job-x7k2p\"}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    expect_none(&l);

    m = load("{\"generateName\":\"Job-\",\"name\":\"job-abcde\"}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    assert_int_equal(l.n, 1);
    expect(&l, 0, "metadata.generateName: Invalid value: \"Job-\": " SUBDOMAIN_MSG);
    fe_free(&l);

    /* maskTrailingDash drops the character before the dash too (upstream quirk) */
    m = load("{\"generateName\":\"ab_-\",\"name\":\"x\"}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    expect_none(&l);
    m = load("{\"generateName\":\"-\",\"name\":\"x\"}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    expect(&l, 0, "metadata.generateName: Invalid value: \"-\": " SUBDOMAIN_MSG);
    fe_free(&l);
}

static void test_meta_labels_annotations(void **state)
{
    (void)state;
    fielderrs l = {0};
    json_t *m = load("{\"name\":\"j\",\"labels\":{\"app\":\"x\",\"example.com/team\":\"\"},"
                     "\"annotations\":{\"Example.COM/Mixed_Case\":\"anything at all\"}}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    expect_none(&l);

    m = load("{\"name\":\"j\",\"labels\":{\"b/c/d\":\"ok\",\"a\":\"bad value\"},"
             "\"annotations\":{\"-bad\":\"v\"}}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    assert_int_equal(l.n, 3);
    expect(&l, 0, "metadata.labels: Invalid value: \"bad value\": " LABEL_VALUE_MSG);
    expect(&l, 1, "metadata.labels: Invalid value: \"b/c/d\": a qualified name " QNAME_MSG
                  " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    expect(&l, 2, "metadata.annotations: Invalid value: \"-bad\": name part " QNAME_MSG);
    fe_free(&l);

    /* total annotation size: keys + values > 256 KiB */
    json_t *ann = json_object();
    char *big = repeat('x', 262144 - 1);
    json_object_set_new(ann, "k", json_string(big)); /* exactly 262144: fine */
    m = json_pack("{s:s, s:o}", "name", "j", "annotations", ann);
    validate_object_meta(&l, m, 1);
    expect_none(&l);
    json_object_set_new(ann, "z", json_string(""));
    validate_object_meta(&l, m, 1);
    assert_int_equal(l.n, 1);
    expect(&l, 0, "metadata.annotations: Too long: must have at most 262144 bytes");
    assert_int_equal(l.v[0].type, FE_TOO_LONG);
    fe_free(&l);
    json_decref(m);
    free(big);
}

static void test_meta_finalizers(void **state)
{
    (void)state;
    fielderrs l = {0};
    json_t *m = load("{\"name\":\"j\",\"finalizers\":[\"example.com/hold\",\"orphan\"]}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    expect_none(&l);

    m = load("{\"name\":\"j\",\"finalizers\":[\"orphan\",\"a/b/c\",\"foregroundDeletion\"]}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    assert_int_equal(l.n, 2);
    expect(&l, 0, "metadata.finalizers: Invalid value: \"a/b/c\": a qualified name " QNAME_MSG
                  " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    expect(&l, 1, "metadata.finalizers: Invalid value: [\"orphan\",\"a/b/c\",\"foregroundDeletion\"]: "
                  "finalizer orphan and foregroundDeletion cannot be both set");
    fe_free(&l);
}

static void test_meta_owner_refs(void **state)
{
    (void)state;
    fielderrs l = {0};
    json_t *m = load("{\"name\":\"j-master-0\",\"ownerReferences\":[{\"apiVersion\":\"kubeflow.org/v1\","
                     "\"kind\":\"PyTorchJob\",\"name\":\"j\",\"uid\":\"u1\",\"controller\":true,"
                     "\"blockOwnerDeletion\":true}]}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    expect_none(&l);

    m = load("{\"name\":\"p\",\"ownerReferences\":[{}, {\"apiVersion\":\"a/b/c\",\"kind\":\"K\","
             "\"name\":\"n\",\"uid\":\"u\"}, {\"apiVersion\":\"apps/\",\"kind\":\"K\",\"name\":\"n\",\"uid\":\"u\"}]}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    assert_int_equal(l.n, 6);
    expect(&l, 0, "metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty");
    expect(&l, 1, "metadata.ownerReferences.kind: Invalid value: \"\": must not be empty");
    expect(&l, 2, "metadata.ownerReferences.name: Invalid value: \"\": must not be empty");
    expect(&l, 3, "metadata.ownerReferences.uid: Invalid value: \"\": must not be empty");
    expect(&l, 4, "metadata.ownerReferences.apiVersion: Invalid value: \"a/b/c\": version must not be empty");
    expect(&l, 5, "metadata.ownerReferences.apiVersion: Invalid value: \"apps/\": version must not be empty");
    fe_free(&l);

    m = load("{\"name\":\"p\",\"ownerReferences\":["
             "{\"apiVersion\":\"v1\",\"kind\":\"A\",\"name\":\"a\",\"uid\":\"1\",\"controller\":true},"
             "{\"apiVersion\":\"v1\",\"kind\":\"B\",\"name\":\"b\",\"uid\":\"2\",\"controller\":true,\"x\":1}]}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    assert_int_equal(l.n, 1);
    expect(&l, 0, "metadata.ownerReferences: Invalid value: [{\"apiVersion\":\"v1\",\"kind\":\"A\",\"name\":\"a\","
                  "\"uid\":\"1\",\"controller\":true},{\"apiVersion\":\"v1\",\"kind\":\"B\",\"name\":\"b\","
                  "\"uid\":\"2\",\"controller\":true}]: Only one reference can have Controller set to true. "
                  "Found \"true\" in references for A/a and B/b");
    fe_free(&l);

    m = load("{\"name\":\"p\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"name\":\"e\","
             "\"uid\":\"1\"}]}");
    validate_object_meta(&l, m, 1);
    json_decref(m);
    expect(&l, 0, "metadata.ownerReferences: Invalid value: {\"apiVersion\":\"v1\",\"kind\":\"Event\","
                  "\"name\":\"e\",\"uid\":\"1\"}: /v1, Kind=Event is disallowed from being an owner");
    fe_free(&l);
}

/* ---- the PyTorchJob of pytorchjob-semantics.md §12.1 ------------------------------------- */

static const char minimal_job[] =
    "{\"apiVersion\":\"kubeflow.org/v1\",\"kind\":\"PyTorchJob\","
    "\"metadata\":{\"name\":\"pytorch-simple\",\"namespace\":\"default\"},"
    "\"spec\":{\"pytorchReplicaSpecs\":{"
    "\"Master\":{\"replicas\":1,\"restartPolicy\":\"OnFailure\",\"template\":{\"spec\":{\"containers\":[{"
    "\"name\":\"pytorch\",\"image\":\"python:3.11\","
    "\"command\":[\"python3\",\"-c\",\"import os; print(os.environ['RANK'], os.environ['WORLD_SIZE'])\"]}]}}},"
    "\"Worker\":{\"replicas\":1,\"restartPolicy\":\"OnFailure\",\"template\":{\"spec\":{\"containers\":[{"
    "\"name\":\"pytorch\",\"image\":\"python:3.11\","
    "\"command\":[\"python3\",\"-c\",\"import os; print(os.environ['RANK'], os.environ['WORLD_SIZE'])\"]}]}}}"
    "}}}";

static json_t *job(void) { return load(minimal_job); }

/* Replace the value at a '/'-separated path (created as needed); v stolen. NULL v deletes. */
static void set(json_t *root, const char *path, json_t *v)
{
    char *p = strdup(path), *save = NULL;
    json_t *cur = root;
    char *tok = strtok_r(p, "/", &save);
    while (tok) {
        char *next = strtok_r(NULL, "/", &save);
        if (!next) {
            if (v)
                json_object_set_new(cur, tok, v);
            else
                json_object_del(cur, tok);
            break;
        }
        json_t *child = json_object_get(cur, tok);
        if (!child || !json_is_object(child)) {
            child = json_object();
            json_object_set_new(cur, tok, child);
        }
        cur = child;
        tok = next;
    }
    free(p);
}

static void test_minimal_job_clean(void **state)
{
    (void)state;
    fielderrs l = {0};
    json_t *j = job(), *w = NULL;
    validate_object_meta(&l, json_object_get(j, "metadata"), 1);
    validate_pytorchjob_schema(&l, j);
    validate_pytorchjob_webhook(&l, j, &w);
    expect_none(&l);
    assert_non_null(w);
    assert_int_equal(json_array_size(w), 0);
    json_decref(w);
    /* warnings may be NULL */
    validate_pytorchjob_webhook(&l, j, NULL);
    expect_none(&l);
    json_decref(j);

    /* smallest: a single Master with replicas 1 */
    j = load("{\"metadata\":{\"name\":\"m\"},\"spec\":{\"pytorchReplicaSpecs\":{\"Master\":{\"replicas\":1,"
             "\"template\":{\"spec\":{\"containers\":[{\"name\":\"pytorch\",\"image\":\"i\"}]}}}}}}");
    validate_pytorchjob_schema(&l, j);
    validate_pytorchjob_webhook(&l, j, NULL);
    expect_none(&l);
    json_decref(j);
}

/* ---- schema ------------------------------------------------------------------------------ */

static void test_schema_tables_sorted(void **state)
{
    (void)state;
    assert_true(validate_schema_ok());
}

/* Unknown members of closed objects are removed and listed: metadata's first (sorted), then the
 * rest sorted; members of open objects (a pod's affinity) and of maps (labels) are kept. */
static void test_prune_unknown_fields(void **state)
{
    (void)state;
    json_t *j = load("{\"zz\":1,\"metadata\":{\"name\":\"m\",\"nam\":1,\"labels\":{\"q\":\"r\"},\"b\":null},"
                     "\"spec\":{\"runPolicy\":{\"suspend\":true,\"suspnd\":true},\"pytorchReplicaSpecs\":"
                     "{\"Master\":{\"replicas\":1,\"template\":{\"spec\":{\"ephemeralContainers\":[{\"x\":1}],"
                     "\"containers\":[{\"name\":\"p\",\"image\":\"i\",\"imag\":\"j\",\"resources\":"
                     "{\"limits\":{\"cpu\":1},\"limit\":{}}}]}}}},\"aa\":null}}");
    fielderrs l = {0};
    fieldpaths u = {0};
    validate_pytorchjob_schema_prune(&l, j, &u);
    expect_none(&l);
    static const char *const want[] = {
        "metadata.b", "metadata.nam", "spec.aa",
        "spec.pytorchReplicaSpecs.Master.template.spec.containers[0].imag",
        "spec.pytorchReplicaSpecs.Master.template.spec.containers[0].resources.limit",
        "spec.runPolicy.suspnd", "zz",
    };
    assert_int_equal(u.n, sizeof want / sizeof *want);
    for (size_t i = 0; i < u.n; i++)
        assert_string_equal(u.v[i], want[i]);
    fieldpaths_free(&u);
    char *out = json_dumps(j, JSON_COMPACT);
    assert_string_equal(out, "{\"metadata\":{\"name\":\"m\",\"labels\":{\"q\":\"r\"}},\"spec\":{\"runPolicy\":"
                             "{\"suspend\":true},\"pytorchReplicaSpecs\":{\"Master\":{\"replicas\":1,\"template\":"
                             "{\"spec\":{\"ephemeralContainers\":[{\"x\":1}],\"containers\":[{\"name\":\"p\",\"image\":\"i\","
                             "\"resources\":{\"limits\":{\"cpu\":1}}}]}}}}}}");
    free(out);
    /* nothing left to prune the second time; without a list nothing is pruned at all */
    validate_pytorchjob_schema_prune(&l, j, &u);
    assert_int_equal(u.n, 0);
    json_object_set_new(json_object_get(j, "spec"), "x", json_true());
    validate_pytorchjob_schema(&l, j);
    assert_non_null(json_object_get(json_object_get(j, "spec"), "x"));
    expect_none(&l);
    json_decref(j);
}

/* A built-in kind's unknown fields come in the document's order (strict decoding's), whatever
 * their values' types; another kind is not handled here. */
static void test_core_prune_document_order(void **state)
{
    (void)state;
    json_t *j = load("{\"spec\":{\"z\":1,\"ports\":[{\"port\":\"x\",\"nodeport\":1}],\"a\":null},"
                     "\"metadata\":{\"name\":\"s\",\"x\":{}},\"extra\":[]}");
    fieldpaths u = {0};
    assert_int_equal(validate_core_prune("services", j, &u), 0);
    static const char *const want[] = {"spec.z", "spec.ports[0].nodeport", "spec.a", "metadata.x", "extra"};
    assert_int_equal(u.n, 5);
    for (size_t i = 0; i < u.n; i++)
        assert_string_equal(u.v[i], want[i]);
    char *out = json_dumps(j, JSON_COMPACT);
    assert_string_equal(out, "{\"spec\":{\"ports\":[{\"port\":\"x\"}]},\"metadata\":{\"name\":\"s\"}}");
    free(out);
    fieldpaths_free(&u);
    assert_int_equal(validate_core_prune("pytorchjobs", j, &u), -1);
    assert_int_equal(u.n, 0);
    json_decref(j);
}

/* A type error in an object with many members is still found in the schema's order, and the
 * unknown ones beside it are pruned (more members than the walk's stack holds). */
static void test_prune_many_members(void **state)
{
    (void)state;
    json_t *j = load("{\"metadata\":{\"name\":\"m\"},\"spec\":{\"runPolicy\":{\"backoffLimit\":\"x\","
                     "\"activeDeadlineSeconds\":\"y\"},\"pytorchReplicaSpecs\":{}}}");
    json_t *rp = json_object_get(json_object_get(j, "spec"), "runPolicy");
    for (int i = 0; i < 40; i++) {
        char k[16];
        snprintf(k, sizeof k, "u%02d", i);
        json_object_set_new(rp, k, json_integer(i));
    }
    fielderrs l = {0};
    fieldpaths u = {0};
    validate_pytorchjob_schema_prune(&l, j, &u);
    assert_int_equal(l.n, 2);
    expect(&l, 0, "spec.runPolicy.activeDeadlineSeconds: Invalid value: \"string\": "
                  "spec.runPolicy.activeDeadlineSeconds in body must be of type integer: \"string\"");
    assert_int_equal(u.n, 40);
    assert_string_equal(u.v[0], "spec.runPolicy.u00");
    assert_string_equal(u.v[39], "spec.runPolicy.u39");
    assert_int_equal(json_object_size(rp), 2);
    fieldpaths_free(&u);
    fe_free(&l);
    json_decref(j);
}

static void schema_one(json_t *j, const char *want)
{
    fielderrs l = {0};
    validate_pytorchjob_schema(&l, j);
    if (l.n != 1) {
        char *agg = fe_aggregate(&l);
        print_error("want 1 error, got %zu: %s\n", l.n, agg);
        free(agg);
    }
    assert_int_equal(l.n, 1);
    expect(&l, 0, want);
    fe_free(&l);
    json_decref(j);
}

static void test_schema_types(void **state)
{
    (void)state;
    json_t *j;

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Worker/replicas", json_string("2"));
    fielderrs l = {0};
    validate_pytorchjob_schema(&l, j);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].type, FE_TYPE_INVALID);
    assert_string_equal(fe_type_reason(l.v[0].type), "FieldValueTypeInvalid");
    expect(&l, 0, "spec.pytorchReplicaSpecs.Worker.replicas: Invalid value: \"string\": "
                  "spec.pytorchReplicaSpecs.Worker.replicas in body must be of type integer: \"string\"");
    fe_free(&l);
    json_decref(j);

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Worker/replicas", json_real(1.5));
    schema_one(j, "spec.pytorchReplicaSpecs.Worker.replicas: Invalid value: \"number\": "
                  "spec.pytorchReplicaSpecs.Worker.replicas in body must be of type integer: \"number\"");

    j = job(); /* an integral real is an integer; int32 range is not checked (format stripped) */
    set(j, "spec/pytorchReplicaSpecs/Worker/replicas", json_real(3.0));
    set(j, "spec/pytorchReplicaSpecs/Master/replicas", json_integer(1LL << 40));
    set(j, "spec/runPolicy/backoffLimit", json_real(2.0000000001)); /* swag's 1e-9 tolerance */
    set(j, "spec/runPolicy/activeDeadlineSeconds", json_real(-4.0));
    validate_pytorchjob_schema(&l, j);
    expect_none(&l);
    json_decref(j);

    j = job();
    set(j, "spec/runPolicy/backoffLimit", json_real(-2.5));
    schema_one(j, "spec.runPolicy.backoffLimit: Invalid value: \"number\": "
                  "spec.runPolicy.backoffLimit in body must be of type integer: \"number\"");
    j = job();
    set(j, "spec/runPolicy/backoffLimit", json_real(1e300));
    schema_one(j, "spec.runPolicy.backoffLimit: Invalid value: \"number\": "
                  "spec.runPolicy.backoffLimit in body must be of type integer: \"number\"");

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Master/restartPolicy", json_integer(1));
    schema_one(j, "spec.pytorchReplicaSpecs.Master.restartPolicy: Invalid value: \"integer\": "
                  "spec.pytorchReplicaSpecs.Master.restartPolicy in body must be of type string: \"integer\"");

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Master/template", json_string("x"));
    schema_one(j, "spec.pytorchReplicaSpecs.Master.template: Invalid value: \"string\": "
                  "spec.pytorchReplicaSpecs.Master.template in body must be of type object: \"string\"");

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Worker", json_pack("[]"));
    schema_one(j, "spec.pytorchReplicaSpecs.Worker: Invalid value: \"array\": "
                  "spec.pytorchReplicaSpecs.Worker in body must be of type object: \"array\"");

    j = job();
    set(j, "spec/pytorchReplicaSpecs", json_true());
    schema_one(j, "spec.pytorchReplicaSpecs: Invalid value: \"boolean\": "
                  "spec.pytorchReplicaSpecs in body must be of type object: \"boolean\"");

    j = job();
    set(j, "spec", json_string("x"));
    schema_one(j, "spec: Invalid value: \"string\": spec in body must be of type object: \"string\"");

    j = job();
    set(j, "spec/nprocPerNode", json_integer(4));
    schema_one(j, "spec.nprocPerNode: Invalid value: \"integer\": "
                  "spec.nprocPerNode in body must be of type string: \"integer\"");

    j = job();
    set(j, "spec/nprocPerNode", json_string("gpu"));
    validate_pytorchjob_schema(&l, j);
    expect_none(&l);
    json_decref(j);
}

static void test_schema_run_elastic(void **state)
{
    (void)state;
    struct {
        const char *path;
        const char *json;
        const char *field;
        const char *want, *have;
    } cases[] = {
        {"spec/runPolicy/cleanPodPolicy", "1", "spec.runPolicy.cleanPodPolicy", "string", "integer"},
        {"spec/runPolicy/ttlSecondsAfterFinished", "\"60\"", "spec.runPolicy.ttlSecondsAfterFinished", "integer", "string"},
        {"spec/runPolicy/activeDeadlineSeconds", "true", "spec.runPolicy.activeDeadlineSeconds", "integer", "boolean"},
        {"spec/runPolicy/backoffLimit", "[1]", "spec.runPolicy.backoffLimit", "integer", "array"},
        {"spec/runPolicy/suspend", "\"true\"", "spec.runPolicy.suspend", "boolean", "string"},
        {"spec/runPolicy/managedBy", "{}", "spec.runPolicy.managedBy", "string", "object"},
        {"spec/runPolicy/schedulingPolicy/minAvailable", "0.5", "spec.runPolicy.schedulingPolicy.minAvailable", "integer", "number"},
        {"spec/runPolicy/schedulingPolicy/queue", "1", "spec.runPolicy.schedulingPolicy.queue", "string", "integer"},
        {"spec/runPolicy", "\"x\"", "spec.runPolicy", "object", "string"},
        {"spec/elasticPolicy/minReplicas", "\"1\"", "spec.elasticPolicy.minReplicas", "integer", "string"},
        {"spec/elasticPolicy/maxReplicas", "\"1\"", "spec.elasticPolicy.maxReplicas", "integer", "string"},
        {"spec/elasticPolicy/maxRestarts", "false", "spec.elasticPolicy.maxRestarts", "integer", "boolean"},
        {"spec/elasticPolicy/nProcPerNode", "\"auto\"", "spec.elasticPolicy.nProcPerNode", "integer", "string"},
        {"spec/elasticPolicy/rdzvBackend", "1", "spec.elasticPolicy.rdzvBackend", "string", "integer"},
        {"spec/elasticPolicy/rdzvHost", "1", "spec.elasticPolicy.rdzvHost", "string", "integer"},
        {"spec/elasticPolicy/rdzvPort", "\"29400\"", "spec.elasticPolicy.rdzvPort", "integer", "string"},
        {"spec/elasticPolicy/rdzvId", "1", "spec.elasticPolicy.rdzvId", "string", "integer"},
        {"spec/elasticPolicy/standalone", "1", "spec.elasticPolicy.standalone", "boolean", "integer"},
        {"spec/elasticPolicy/rdzvConf", "{}", "spec.elasticPolicy.rdzvConf", "array", "object"},
        {"spec/elasticPolicy/metrics", "\"cpu\"", "spec.elasticPolicy.metrics", "array", "string"},
        {"spec/elasticPolicy", "[]", "spec.elasticPolicy", "object", "array"},
        /* the four legacy top-level fields */
        {"spec/activeDeadlineSeconds", "\"1\"", "spec.activeDeadlineSeconds", "integer", "string"},
        {"spec/ttlSecondsAfterFinished", "\"1\"", "spec.ttlSecondsAfterFinished", "integer", "string"},
        {"spec/cleanPodPolicy", "0", "spec.cleanPodPolicy", "string", "integer"},
        {"spec/backoffLimit", "\"3\"", "spec.backoffLimit", "integer", "string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = job();
        set(j, cases[i].path, json_loads(cases[i].json, JSON_DECODE_ANY, NULL));
        char *want;
        assert_true(asprintf(&want, "%s: Invalid value: \"%s\": %s in body must be of type %s: \"%s\"",
                             cases[i].field, cases[i].have, cases[i].field, cases[i].want, cases[i].have) > 0);
        schema_one(j, want);
        free(want);
    }

    /* valid values of every field pass */
    json_t *j = job();
    json_t *rp = load("{\"cleanPodPolicy\":\"None\",\"ttlSecondsAfterFinished\":60,\"activeDeadlineSeconds\":3600,"
                      "\"backoffLimit\":3,\"suspend\":false,\"managedBy\":\"kueue.x-k8s.io/multikueue\","
                      "\"schedulingPolicy\":{\"minAvailable\":2,\"queue\":\"q\",\"minResources\":{\"cpu\":\"1\"}}}");
    json_t *ep = load("{\"minReplicas\":1,\"maxReplicas\":3,\"rdzvBackend\":\"c10d\",\"rdzvPort\":29400,"
                      "\"rdzvConf\":[{\"key\":\"k\",\"value\":\"v\"}],\"standalone\":true,\"nProcPerNode\":2,"
                      "\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\"}}]}");
    set(j, "spec/runPolicy", rp);
    set(j, "spec/elasticPolicy", ep);
    set(j, "spec/activeDeadlineSeconds", json_integer(5));
    set(j, "spec/cleanPodPolicy", json_string("All"));
    set(j, "spec/unknownField", json_string("pruned, never checked"));
    fielderrs l = {0};
    validate_pytorchjob_schema(&l, j);
    expect_none(&l);
    json_decref(j);

    /* nested array items carry [i] */
    j = job();
    set(j, "spec/elasticPolicy/rdzvConf", load("[{\"key\":\"a\",\"value\":\"b\"},{\"key\":1}]"));
    schema_one(j, "spec.elasticPolicy.rdzvConf[1].key: Invalid value: \"integer\": "
                  "spec.elasticPolicy.rdzvConf[1].key in body must be of type string: \"integer\"");
    j = job();
    set(j, "spec/elasticPolicy/metrics", load("[{\"resource\":{}}]"));
    schema_one(j, "spec.elasticPolicy.metrics[0].type: Required value");
}

static void test_schema_required_and_nulls(void **state)
{
    (void)state;
    fielderrs l = {0};
    json_t *j;

    j = job();
    set(j, "spec/pytorchReplicaSpecs", NULL);
    schema_one(j, "spec.pytorchReplicaSpecs: Required value");

    j = job(); /* null is pruned before validation: same as absent */
    set(j, "spec/pytorchReplicaSpecs", json_null());
    validate_pytorchjob_schema(&l, j);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].type, FE_REQUIRED);
    expect(&l, 0, "spec.pytorchReplicaSpecs: Required value");
    fe_free(&l);
    json_decref(j);

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Worker/replicas", json_null());
    set(j, "spec/runPolicy", json_null());
    set(j, "spec/nprocPerNode", json_null());
    validate_pytorchjob_schema(&l, j);
    expect_none(&l);
    json_decref(j);

    /* The CRD root has no `required`: a missing spec passes the schema (the webhook rejects it). */
    j = load("{\"metadata\":{\"name\":\"x\"}}");
    validate_pytorchjob_schema(&l, j);
    expect_none(&l);
    json_decref(j);
    validate_pytorchjob_schema(&l, NULL);
    expect_none(&l);

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Worker/template/spec", json_object());
    schema_one(j, "spec.pytorchReplicaSpecs.Worker.template.spec.containers: Required value");

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Worker/template/spec/containers", load("[{\"image\":\"i\"}]"));
    schema_one(j, "spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].name: Required value");

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Worker/template/spec/containers",
        load("[{\"name\":\"pytorch\",\"image\":\"i\",\"ports\":[{\"name\":\"p\"}],\"env\":[{\"value\":\"1\"}],"
             "\"command\":\"python\"}]"));
    validate_pytorchjob_schema(&l, j);
    assert_int_equal(l.n, 3);
    expect(&l, 0, "spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].command: Invalid value: "
                  "\"string\": spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].command in body "
                  "must be of type array: \"string\"");
    expect(&l, 1, "spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].env[0].name: Required value");
    expect(&l, 2, "spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].ports[0].containerPort: "
                  "Required value");
    fe_free(&l);
    json_decref(j);

    /* several errors: sorted map keys, properties in CRD order, required last */
    j = load("{\"spec\":{\"runPolicy\":{\"suspend\":1},\"pytorchReplicaSpecs\":{\"Worker\":{\"replicas\":\"1\"},"
             "\"Master\":{\"restartPolicy\":2}}}}");
    validate_pytorchjob_schema(&l, j);
    char *agg = fe_aggregate(&l);
    assert_string_equal(agg,
        "[spec.pytorchReplicaSpecs.Master.restartPolicy: Invalid value: \"integer\": "
        "spec.pytorchReplicaSpecs.Master.restartPolicy in body must be of type string: \"integer\", "
        "spec.pytorchReplicaSpecs.Worker.replicas: Invalid value: \"string\": "
        "spec.pytorchReplicaSpecs.Worker.replicas in body must be of type integer: \"string\", "
        "spec.runPolicy.suspend: Invalid value: \"integer\": "
        "spec.runPolicy.suspend in body must be of type boolean: \"integer\"]");
    free(agg);
    fe_free(&l);
    json_decref(j);
}

/* ---- webhook ----------------------------------------------------------------------------- */

/* Runs the webhook on j (consumed) and returns its aggregate message; *warnings if wanted. */
static char *hook(json_t *j, json_t **warnings)
{
    fielderrs l = {0};
    json_t *w = NULL;
    validate_pytorchjob_webhook(&l, j, &w);
    char *agg = fe_aggregate(&l);
    fe_free(&l);
    json_decref(j);
    if (warnings)
        *warnings = w;
    else
        json_decref(w);
    return agg;
}

#define HOOK_IS(j, want)                      \
    do {                                      \
        char *got_ = hook((j), NULL);         \
        assert_string_equal(got_, want);      \
        free(got_);                           \
    } while (0)

static void test_webhook_name(void **state)
{
    (void)state;
    json_t *j = job();
    set(j, "metadata/name", json_string("0-test"));
    HOOK_IS(j, "metadata.name: Invalid value: \"0-test\": should match: " DNS1035_MSG);

    /* a valid subdomain that is no DNS-1035 label */
    j = job();
    set(j, "metadata/name", json_string("job.v1"));
    HOOK_IS(j, "metadata.name: Invalid value: \"job.v1\": should match: " DNS1035_MSG);

    /* several messages are joined with "," (no space) */
    char *n = repeat('a', 63), *s;
    assert_true(asprintf(&s, "%s-", n) > 0);
    j = job();
    set(j, "metadata/name", json_string(s));
    char *want;
    assert_true(asprintf(&want, "metadata.name: Invalid value: \"%s\": should match: must be no more than "
                                "63 characters," DNS1035_MSG, s) > 0);
    HOOK_IS(j, want);
    free(want);
    free(s);
    free(n);

    fielderrs l = {0};
    j = job();
    set(j, "metadata/name", json_string("0-test"));
    validate_pytorchjob_webhook(&l, j, NULL);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].type, FE_INVALID);
    fe_free(&l);
    json_decref(j);
}

static void test_webhook_managed_by(void **state)
{
    (void)state;
    json_t *j = job();
    set(j, "spec/runPolicy/managedBy", json_string("kueue.x-k8s.io/other"));
    HOOK_IS(j, "spec.runPolicy.managedBy: Unsupported value: \"kueue.x-k8s.io/other\": supported values: "
               "\"kubeflow.org/training-operator\", \"kueue.x-k8s.io/multikueue\"");

    j = job();
    set(j, "spec/runPolicy/managedBy", json_string(""));
    HOOK_IS(j, "spec.runPolicy.managedBy: Unsupported value: \"\": supported values: "
               "\"kubeflow.org/training-operator\", \"kueue.x-k8s.io/multikueue\"");

    j = job();
    set(j, "spec/runPolicy/managedBy", json_string("kubeflow.org/training-operator"));
    HOOK_IS(j, "");
    j = job();
    set(j, "spec/runPolicy/managedBy", json_string("kueue.x-k8s.io/multikueue"));
    HOOK_IS(j, "");
}

static void test_webhook_elastic(void **state)
{
    (void)state;
    json_t *j = job(), *w;
    set(j, "spec/pytorchReplicaSpecs/Worker", NULL);
    set(j, "spec/elasticPolicy", json_object());
    HOOK_IS(j, "spec.pytorchReplicaSpecs[Worker]: Required value: must be configured if elastic policy is used");

    j = job(); /* a null Worker is pruned: same as absent */
    set(j, "spec/pytorchReplicaSpecs/Worker", json_null());
    set(j, "spec/elasticPolicy/minReplicas", json_integer(1));
    HOOK_IS(j, "spec.pytorchReplicaSpecs[Worker]: Required value: must be configured if elastic policy is used");

    j = job();
    set(j, "spec/elasticPolicy/nProcPerNode", json_integer(2));
    char *agg = hook(j, &w);
    assert_string_equal(agg, "");
    free(agg);
    assert_int_equal(json_array_size(w), 1);
    assert_string_equal(json_string_value(json_array_get(w, 0)),
                        "spec.elasticPolicy.nProcPerNode is deprecated, use spec.nprocPerNode instead");
    json_decref(w);

    j = job();
    set(j, "spec/elasticPolicy/nProcPerNode", json_integer(2));
    set(j, "spec/nprocPerNode", json_string("2"));
    agg = hook(j, &w);
    assert_string_equal(agg, "spec.elasticPolicy.nProcPerNode: Forbidden: must not be used with spec.nprocPerNode");
    free(agg);
    assert_int_equal(json_array_size(w), 1);
    json_decref(w);

    j = job(); /* nprocPerNode alone is fine */
    set(j, "spec/nprocPerNode", json_string("auto"));
    agg = hook(j, &w);
    assert_string_equal(agg, "");
    assert_int_equal(json_array_size(w), 0);
    free(agg);
    json_decref(w);
}

static void test_webhook_replica_specs(void **state)
{
    (void)state;
    json_t *j;

    j = job();
    set(j, "spec/pytorchReplicaSpecs", NULL);
    HOOK_IS(j, "spec.pytorchReplicaSpecs: Required value: must be required");
    HOOK_IS(load("{\"metadata\":{\"name\":\"x\"}}"), "spec.pytorchReplicaSpecs: Required value: must be required");
    HOOK_IS(load("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"pytorchReplicaSpecs\":{}}}"), "");

    j = job();
    set(j, "spec/pytorchReplicaSpecs/master", json_deep_copy(json_object_get(
        json_object_get(json_object_get(j, "spec"), "pytorchReplicaSpecs"), "Master")));
    set(j, "spec/pytorchReplicaSpecs/Master", NULL);
    HOOK_IS(j, "spec.pytorchReplicaSpecs[master]: Unsupported value: \"master\": supported values: "
               "\"Master\", \"Worker\"");

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Worker/template/spec/containers", json_array());
    HOOK_IS(j, "[spec.pytorchReplicaSpecs[Worker].template.spec.containers: Required value: must be specified, "
               "spec.pytorchReplicaSpecs[Worker].template.spec.containers: Required value: must have at least "
               "one container with name pytorch]");

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Worker/template", NULL);
    HOOK_IS(j, "[spec.pytorchReplicaSpecs[Worker].template.spec.containers: Required value: must be specified, "
               "spec.pytorchReplicaSpecs[Worker].template.spec.containers: Required value: must have at least "
               "one container with name pytorch]");

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Worker/template/spec/containers",
        load("[{\"name\":\"sidecar\",\"image\":\"\"},{\"name\":\"pytorch\"}]"));
    HOOK_IS(j, "[spec.pytorchReplicaSpecs[Worker].template.spec.containers[0].image: Required value: must be required, "
               "spec.pytorchReplicaSpecs[Worker].template.spec.containers[1].image: Required value: must be required]");

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Master/template/spec/containers",
        load("[{\"name\":\"main\",\"image\":\"i\"}]"));
    HOOK_IS(j, "spec.pytorchReplicaSpecs[Master].template.spec.containers: Required value: must have at least "
               "one container with name pytorch");

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Master/replicas", json_integer(2));
    HOOK_IS(j, "spec.pytorchReplicaSpecs[Master].replicas: Forbidden: must be 1");
    j = job(); /* no defaulting before the webhook: a missing Master replicas is rejected */
    set(j, "spec/pytorchReplicaSpecs/Master/replicas", NULL);
    HOOK_IS(j, "spec.pytorchReplicaSpecs[Master].replicas: Forbidden: must be 1");

    j = job();
    set(j, "spec/pytorchReplicaSpecs/Worker/replicas", json_integer(0));
    HOOK_IS(j, "spec.pytorchReplicaSpecs[Worker].replicas: Forbidden: must be at least 1");
    j = job();
    set(j, "spec/pytorchReplicaSpecs/Worker/replicas", json_integer(-3));
    HOOK_IS(j, "spec.pytorchReplicaSpecs[Worker].replicas: Forbidden: must be at least 1");
    j = job(); /* Worker replicas may be omitted */
    set(j, "spec/pytorchReplicaSpecs/Worker/replicas", NULL);
    HOOK_IS(j, "");
    j = job();
    set(j, "spec/pytorchReplicaSpecs/Worker/replicas", json_integer(8));
    HOOK_IS(j, "");
}

static void test_webhook_all_collected(void **state)
{
    (void)state;
    json_t *j = load("{\"metadata\":{\"name\":\"Job\"},\"spec\":{"
                     "\"runPolicy\":{\"managedBy\":\"me\"},"
                     "\"elasticPolicy\":{\"nProcPerNode\":1},\"nprocPerNode\":\"1\","
                     "\"pytorchReplicaSpecs\":{"
                     "\"Master\":{\"replicas\":3,\"template\":{\"spec\":{\"containers\":[{\"name\":\"x\"}]}}},"
                     "\"Chief\":{\"replicas\":0}}}}");
    json_t *w;
    fielderrs l = {0};
    validate_pytorchjob_webhook(&l, j, &w);
    json_decref(j);
    const char *want[] = {
        "metadata.name: Invalid value: \"Job\": should match: " DNS1035_MSG,
        "spec.runPolicy.managedBy: Unsupported value: \"me\": supported values: "
        "\"kubeflow.org/training-operator\", \"kueue.x-k8s.io/multikueue\"",
        "spec.pytorchReplicaSpecs[Worker]: Required value: must be configured if elastic policy is used",
        "spec.elasticPolicy.nProcPerNode: Forbidden: must not be used with spec.nprocPerNode",
        "spec.pytorchReplicaSpecs[Chief]: Unsupported value: \"Chief\": supported values: \"Master\", \"Worker\"",
        "spec.pytorchReplicaSpecs[Chief].template.spec.containers: Required value: must be specified",
        "spec.pytorchReplicaSpecs[Chief].template.spec.containers: Required value: must have at least one "
        "container with name pytorch",
        "spec.pytorchReplicaSpecs[Chief].replicas: Forbidden: must be at least 1",
        "spec.pytorchReplicaSpecs[Master].template.spec.containers[0].image: Required value: must be required",
        "spec.pytorchReplicaSpecs[Master].template.spec.containers: Required value: must have at least one "
        "container with name pytorch",
        "spec.pytorchReplicaSpecs[Master].replicas: Forbidden: must be 1",
    };
    assert_int_equal(l.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < l.n; i++)
        expect(&l, i, want[i]);
    assert_int_equal(json_array_size(w), 1);
    json_decref(w);
    char *agg = fe_aggregate(&l);
    assert_true(agg[0] == '[' && agg[strlen(agg) - 1] == ']');
    assert_non_null(strstr(agg, " should match: a DNS-1035 label"));
    free(agg);
    json_t *c = fe_causes(&l);
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 4), "reason")),
                        "FieldValueNotSupported");
    json_decref(c);
    fe_free(&l);
}

/* ValidateEnv and ValidateEnvFrom of kube 1.32 (relaxed variable names), messages verbatim. */
static void test_pod_env(void **state)
{
    (void)state;
    json_t *pod = json_loads(
        "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\",\"env\":["
        "{\"name\":\"OK\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.name\"}}},"
        "{\"name\":\"my var.1\",\"value\":\"x\"},"
        "{\"name\":\"A=B\",\"value\":\"x\"},"
        "{\"name\":\"\"},"
        "{\"name\":\"R\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"spec.restartPolicy\"}}},"
        "{\"name\":\"F\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"foo\"}}},"
        "{\"name\":\"V\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v2\",\"fieldPath\":\"metadata.name\"}}},"
        "{\"name\":\"S\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.name['x']\"}}},"
        "{\"name\":\"L\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.labels['-bad']\"}}},"
        "{\"name\":\"AN\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.annotations['Ok.Key']\"}}},"
        "{\"name\":\"W\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.labels\"}}},"
        "{\"name\":\"E\",\"valueFrom\":{}},"
        "{\"name\":\"B\",\"value\":\"x\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.uid\"}}},"
        "{\"name\":\"T\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.uid\"},"
        "\"secretKeyRef\":{\"name\":\"s\",\"key\":\"k\"}}},"
        "{\"name\":\"RR\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.gpu\"}}},"
        "{\"name\":\"RD\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.cpu\",\"divisor\":\"1k\"}}},"
        "{\"name\":\"RM\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"requests.memory\",\"divisor\":\"1Mi\"}}},"
        "{\"name\":\"RX\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.memory\",\"divisor\":\"1m\"}}},"
        "{\"name\":\"CK\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"Cfg\",\"key\":\"a/b\"}}},"
        "{\"name\":\"CN\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cfg\"}}},"
        "{\"name\":\"DD\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"..x\"}}}],"
        "\"envFrom\":[{\"prefix\":\"P=\",\"configMapRef\":{\"name\":\"cm\"}},{},"
        "{\"configMapRef\":{\"name\":\"\"},\"secretRef\":{\"name\":\"s\"}}]}]}}", 0, NULL);
    assert_non_null(pod);
    fielderrs l = {0};
    validate_pod_spec(&l, pod);
#define E "spec.containers[0].env"
    const char *want[] = {
        E "[2].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
        E "[3].name: Required value",
        E "[4].valueFrom.fieldRef.fieldPath: Unsupported value: \"spec.restartPolicy\": supported values: "
          "\"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", "
          "\"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"",
        E "[5].valueFrom.fieldRef.fieldPath: Invalid value: \"foo\": error converting fieldPath: field label not supported: foo",
        E "[6].valueFrom.fieldRef.fieldPath: Invalid value: \"metadata.name\": error converting fieldPath: unsupported pod version: v2",
        E "[7].valueFrom.fieldRef.fieldPath: Invalid value: \"metadata.name['x']\": error converting fieldPath: field label does not support subscript: metadata.name['x']",
        E "[8].valueFrom.fieldRef: Invalid value: \"-bad\": name part " QNAME_MSG,
        E "[10].valueFrom.fieldRef.fieldPath: Unsupported value: \"metadata.labels\": supported values: "
          "\"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", "
          "\"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"",
        E "[11].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        E "[12].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
        E "[13].valueFrom: Invalid value: \"\": may not have more than one field specified at a time",
        E "[14].valueFrom.resourceFieldRef.resource: Unsupported value: \"limits.gpu\": supported values: \"limits.cpu\", "
          "\"limits.ephemeral-storage\", \"limits.memory\", \"requests.cpu\", \"requests.ephemeral-storage\", \"requests.memory\"",
        E "[15].valueFrom.resourceFieldRef.divisor: Invalid value: \"limits.cpu\": only divisor's values 1m and 1 are supported with the cpu resource",
        E "[17].valueFrom.resourceFieldRef.divisor: Invalid value: \"limits.memory\": only divisor's values 1, 1k, 1M, 1G, 1T, 1P, "
          "1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource",
        E "[18].valueFrom.configMapKeyRef.name: Invalid value: \"Cfg\": " SUBDOMAIN_MSG,
        E "[18].valueFrom.configMapKeyRef.key: Invalid value: \"a/b\": a valid config key must consist of alphanumeric "
          "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        E "[19].valueFrom.configMapKeyRef.key: Required value",
        E "[20].valueFrom.secretKeyRef.key: Invalid value: \"..x\": must not start with '..'",
        E "From[0].prefix: Invalid value: \"P=\": a valid environment variable name must consist only of printable ASCII characters other than '='",
        E "From: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`",
        E "From[2].configMapRef.name: Required value",
        E "From: Invalid value: \"\": may not have more than one field specified at a time",
    };
#undef E
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        expect(&l, i, want[i]);
    assert_int_equal(l.n, sizeof want / sizeof *want);
    fe_free(&l);
    json_decref(pod);
}

/* A fieldRef without apiVersion gets "v1" and a resourceFieldRef its zero divisor, as Go
 * writes them back; the pod is then valid. */
static void test_pod_env_defaults(void **state)
{
    (void)state;
    json_t *pod = json_loads("{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"env\":["
                             "{\"name\":\"N\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}},"
                             "{\"name\":\"M\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.memory\"}}}]}]}}",
                             0, NULL);
    validate_core_defaults("pods", pod);
    json_t *env = json_object_get(json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0), "env");
    json_t *fr = json_object_get(json_object_get(json_array_get(env, 0), "valueFrom"), "fieldRef");
    json_t *rr = json_object_get(json_object_get(json_array_get(env, 1), "valueFrom"), "resourceFieldRef");
    assert_string_equal(json_string_value(json_object_get(fr, "apiVersion")), "v1");
    assert_string_equal(json_string_value(json_object_get(rr, "divisor")), "0");
    fielderrs l = {0};
    validate_pod_spec(&l, pod);
    expect_none(&l);
    json_decref(pod);
}

/* GetPodQOS: requests default from limits (SetDefaults_Pod) before the class is taken. */
static void test_pod_qos(void **state)
{
    (void)state;
    struct { const char *containers, *want; } cases[] = {
        {"[{\"name\":\"a\"}]", "BestEffort"},
        {"[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}]", "Guaranteed"},
        {"[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},"
         "\"requests\":{\"cpu\":\"1000m\",\"memory\":\"1024Mi\"}}}]", "Guaranteed"},
        {"[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},"
         "\"requests\":{\"cpu\":\"500m\"}}}]", "Burstable"},
        {"[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\"}}}]", "Burstable"},
        {"[{\"name\":\"a\",\"resources\":{\"requests\":{\"memory\":\"1Gi\"}}}]", "Burstable"},
        {"[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}},{\"name\":\"b\"}]",
         "Burstable"},
        {"[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"0\"},\"limits\":{\"nvidia.com/gpu\":1}}}]",
         "BestEffort"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *text;
        assert_true(asprintf(&text, "{\"spec\":{\"containers\":%s}}", cases[i].containers) > 0);
        json_t *pod = json_loads(text, 0, NULL);
        assert_non_null(pod);
        validate_core_defaults("pods", pod);
        if (strcmp(validate_pod_qos(pod), cases[i].want))
            print_error("case %zu: got %s want %s\n", i, validate_pod_qos(pod), cases[i].want);
        assert_string_equal(validate_pod_qos(pod), cases[i].want);
        json_decref(pod);
        free(text);
    }
}

static void test_split_subscript(void **state)
{
    (void)state;
    char p[64], k[64];
    assert_int_equal(validate_split_subscript("metadata.labels['app']", p, sizeof p, k, sizeof k), 1);
    assert_string_equal(p, "metadata.labels");
    assert_string_equal(k, "app");
    assert_int_equal(validate_split_subscript("metadata.annotations['a.b/c']", p, sizeof p, k, sizeof k), 1);
    assert_string_equal(k, "a.b/c");
    assert_int_equal(validate_split_subscript("metadata.labels", p, sizeof p, k, sizeof k), 0);
    assert_int_equal(validate_split_subscript("['x']", p, sizeof p, k, sizeof k), 0);
    assert_int_equal(validate_split_subscript("a[']", p, sizeof p, k, sizeof k), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns1123_subdomain),
        cmocka_unit_test(test_dns1123_label),
        cmocka_unit_test(test_dns1035_label),
        cmocka_unit_test(test_qualified_name),
        cmocka_unit_test(test_label_value),
        cmocka_unit_test(test_meta_name),
        cmocka_unit_test(test_meta_generate_name),
        cmocka_unit_test(test_meta_labels_annotations),
        cmocka_unit_test(test_meta_finalizers),
        cmocka_unit_test(test_meta_owner_refs),
        cmocka_unit_test(test_minimal_job_clean),
        cmocka_unit_test(test_schema_types),
        cmocka_unit_test(test_schema_run_elastic),
        cmocka_unit_test(test_schema_required_and_nulls),
        cmocka_unit_test(test_webhook_name),
        cmocka_unit_test(test_webhook_managed_by),
        cmocka_unit_test(test_webhook_elastic),
        cmocka_unit_test(test_webhook_replica_specs),
        cmocka_unit_test(test_webhook_all_collected),
        cmocka_unit_test(test_schema_tables_sorted),
        cmocka_unit_test(test_prune_unknown_fields),
        cmocka_unit_test(test_prune_many_members),
        cmocka_unit_test(test_core_prune_document_order),
        cmocka_unit_test(test_pod_env),
        cmocka_unit_test(test_pod_env_defaults),
        cmocka_unit_test(test_split_subscript),
        cmocka_unit_test(test_pod_qos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
