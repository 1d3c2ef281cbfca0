/* Unit tests for src/fielderr.c: apimachinery field.ErrorList texts. */
#include "unit.h"
#include "fielderr.h"

/* Message of the only error in l, then the list is freed. */
static char *only_msg(fielderrs *l)
{
    assert_int_equal(l->n, 1);
    char *m = fe_cause_message(&l->v[0]);
    fe_free(l);
    return m;
}

#define ASSERT_STR_FREE(expr, want)    \
    do {                               \
        char *got_ = (expr);           \
        assert_string_equal(got_, want); \
        free(got_);                    \
    } while (0)

static void test_type_texts(void **state)
{
    (void)state;
    assert_string_equal(fe_type_text(FE_REQUIRED), "Required value");
    assert_string_equal(fe_type_text(FE_INVALID), "Invalid value");
    assert_string_equal(fe_type_text(FE_NOT_SUPPORTED), "Unsupported value");
    assert_string_equal(fe_type_text(FE_FORBIDDEN), "Forbidden");
    assert_string_equal(fe_type_text(FE_TOO_LONG), "Too long");
    assert_string_equal(fe_type_text(FE_DUPLICATE), "Duplicate value");
    assert_string_equal(fe_type_text(FE_NOT_FOUND), "Not found");
    assert_string_equal(fe_type_text(FE_TYPE_INVALID), "Invalid value");
    assert_string_equal(fe_type_reason(FE_REQUIRED), "FieldValueRequired");
    assert_string_equal(fe_type_reason(FE_INVALID), "FieldValueInvalid");
    assert_string_equal(fe_type_reason(FE_NOT_SUPPORTED), "FieldValueNotSupported");
    assert_string_equal(fe_type_reason(FE_FORBIDDEN), "FieldValueForbidden");
    assert_string_equal(fe_type_reason(FE_TOO_LONG), "FieldValueTooLong");
    assert_string_equal(fe_type_reason(FE_DUPLICATE), "FieldValueDuplicate");
    assert_string_equal(fe_type_reason(FE_NOT_FOUND), "FieldValueNotFound");
    assert_string_equal(fe_type_reason(FE_TYPE_INVALID), "FieldValueTypeInvalid");
}

static void test_cause_messages(void **state)
{
    (void)state;
    fielderrs l = {0};

    fe_add(&l, FE_REQUIRED, "metadata.name", NULL, "name or generateName is required");
    ASSERT_STR_FREE(only_msg(&l), "Required value: name or generateName is required");

    fe_add(&l, FE_REQUIRED, "spec.pytorchReplicaSpecs", NULL, NULL);
    ASSERT_STR_FREE(only_msg(&l), "Required value");

    /* Required/Forbidden/TooLong never print a value, as ErrorBody. */
    fe_add(&l, FE_REQUIRED, "x", "\"v\"", "d");
    ASSERT_STR_FREE(only_msg(&l), "Required value: d");
    fe_add(&l, FE_FORBIDDEN, "metadata.finalizers", "\"v\"",
           "no new finalizers can be added if the object is being deleted, found new finalizers %s",
           "[]string{\"a/b\"}");
    ASSERT_STR_FREE(only_msg(&l), "Forbidden: no new finalizers can be added if the object is being "
                                  "deleted, found new finalizers []string{\"a/b\"}");
    fe_add(&l, FE_TOO_LONG, "metadata.annotations", "\"v\"", "must have at most %d bytes", 262144);
    ASSERT_STR_FREE(only_msg(&l), "Too long: must have at most 262144 bytes");

    char *v = fe_str("Bad_Name");
    fe_add(&l, FE_INVALID, "metadata.name", v, "bad");
    free(v);
    ASSERT_STR_FREE(only_msg(&l), "Invalid value: \"Bad_Name\": bad");

    fe_add(&l, FE_INVALID, "metadata.resourceVersion", "0", "must be specified for an update");
    ASSERT_STR_FREE(only_msg(&l), "Invalid value: 0: must be specified for an update");

    fe_add(&l, FE_NOT_SUPPORTED, "propagationPolicy", "\"foreground\"",
           "supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"");
    ASSERT_STR_FREE(only_msg(&l), "Unsupported value: \"foreground\": supported values: "
                                  "\"Foreground\", \"Background\", \"Orphan\", \"nil\"");

    fe_add(&l, FE_TYPE_INVALID, "spec.x", "\"string\"", "spec.x in body must be of type integer: \"string\"");
    ASSERT_STR_FREE(only_msg(&l), "Invalid value: \"string\": spec.x in body must be of type integer: \"string\"");

    /* Value without detail; empty detail prints nothing either. */
    fe_add(&l, FE_DUPLICATE, "a", "\"x\"", NULL);
    ASSERT_STR_FREE(only_msg(&l), "Duplicate value: \"x\"");
    fe_add(&l, FE_NOT_FOUND, "a", "\"x\"", "%s", "");
    ASSERT_STR_FREE(only_msg(&l), "Not found: \"x\"");
    fe_add(&l, FE_INVALID, "a", NULL, "no value");
    ASSERT_STR_FREE(only_msg(&l), "Invalid value: no value");
}

static void test_go_quote(void **state)
{
    (void)state;
    ASSERT_STR_FREE(fe_str("plain"), "\"plain\"");
    ASSERT_STR_FREE(fe_str(""), "\"\"");
    ASSERT_STR_FREE(fe_str(NULL), "\"\"");
    ASSERT_STR_FREE(fe_str("a\"b\\c"), "\"a\\\"b\\\\c\"");
    ASSERT_STR_FREE(fe_str("\a\b\f\n\r\t\v"), "\"\\a\\b\\f\\n\\r\\t\\v\"");
    ASSERT_STR_FREE(fe_str("\x01\x1b\x7f"), "\"\\x01\\x1b\\x7f\"");
    ASSERT_STR_FREE(fe_str("'single' <>&"), "\"'single' <>&\"");
    /* printable non-ASCII stays verbatim */
    ASSERT_STR_FREE(fe_str("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"),
                    "\"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"");
    /* invalid UTF-8 bytes → \xNN each */
    ASSERT_STR_FREE(fe_str("a\xff\xc3(b"), "\"a\\xff\\xc3(b\"");
    ASSERT_STR_FREE(fe_str("\xed\xa0\x80"), "\"\\xed\\xa0\\x80\""); /* encoded surrogate */
    ASSERT_STR_FREE(fe_str("\xc0\xaf"), "\"\\xc0\\xaf\"");           /* overlong '/' */
    /* non-printable runes: \u for the BMP, \U beyond */
    ASSERT_STR_FREE(fe_str("\xc2\x85"), "\"\\u0085\"");             /* C1 NEL */
    ASSERT_STR_FREE(fe_str("a\xc2\xa0" "b"), "\"a\\u00a0b\"");       /* NBSP */
    ASSERT_STR_FREE(fe_str("\xc2\xad"), "\"\\u00ad\"");             /* soft hyphen */
    ASSERT_STR_FREE(fe_str("\xe2\x80\x8b"), "\"\\u200b\"");         /* zero width space */
    ASSERT_STR_FREE(fe_str("\xe2\x80\xa8"), "\"\\u2028\"");
    ASSERT_STR_FREE(fe_str("\xef\xbb\xbf"), "\"\\ufeff\"");         /* BOM */
    ASSERT_STR_FREE(fe_str("\xee\x80\x80"), "\"\\ue000\"");         /* private use */
    ASSERT_STR_FREE(fe_str("\xf3\xa0\x80\x81"), "\"\\U000e0001\""); /* language tag */
    ASSERT_STR_FREE(fe_str("\xf4\x8f\xbf\xbf"), "\"\\U0010ffff\"");
}

static void test_json_values(void **state)
{
    (void)state;
    json_t *v;
#define J(text, want)                                         \
    do {                                                      \
        v = json_loads(text, JSON_DECODE_ANY, NULL);          \
        assert_non_null(v);                                   \
        ASSERT_STR_FREE(fe_json(v), want);                    \
        json_decref(v);                                       \
    } while (0)
    J("\"Bad_Name\"", "\"Bad_Name\"");
    J("\"tab\\there\"", "\"tab\\there\"");
    J("42", "42");
    J("-7", "-7");
    J("true", "true");
    J("false", "false");
    J("null", "\"null\""); /* a nil BadValue prints as the quoted string "null" */
    /* top-level floats: fmt %v */
    J("1.5", "1.5");
    J("100000.0", "100000");
    J("1000000.0", "1e+06");
    J("1234567.0", "1.234567e+06");
    J("0.0001", "0.0001");
    J("0.00001", "1e-05");
    J("0.1", "0.1");
    /* composites: encoding/json */
    J("[\"true\"]", "[\"true\"]");
    J("[]", "[]");
    J("{}", "{}");
    J("[\"orphan\",\"foregroundDeletion\"]", "[\"orphan\",\"foregroundDeletion\"]");
    J("{\"b\":1,\"a\":[true,null,2.5]}", "{\"b\":1,\"a\":[true,null,2.5]}");
    J("[\"<a&b>\",\"q\\\"\\\\\",\"\\u0001\\n\\b\\f\"]",
      "[\"\\u003ca\\u0026b\\u003e\",\"q\\\"\\\\\",\"\\u0001\\n\\b\\f\"]");
    J("[\"\\u2028\",\"\\u00e9\"]", "[\"\\u2028\",\"\xc3\xa9\"]");
    J("[1000000.0, 1e21, 1e-7, 0.000001, 123456789.0, -0.5]",
      "[1000000,1e+21,1e-7,0.000001,123456789,-0.5]");
#undef J
    ASSERT_STR_FREE(fe_json(NULL), "\"null\"");
}

static void test_aggregate(void **state)
{
    (void)state;
    fielderrs l = {0};
    ASSERT_STR_FREE(fe_aggregate(&l), "");
    ASSERT_STR_FREE(fe_aggregate(NULL), "");

    fe_add(&l, FE_NOT_SUPPORTED, "dryRun", "[\"true\"]", "supported values: \"All\"");
    ASSERT_STR_FREE(fe_aggregate(&l), "dryRun: Unsupported value: [\"true\"]: supported values: \"All\"");

    fe_add(&l, FE_REQUIRED, "metadata.name", NULL, "name or generateName is required");
    ASSERT_STR_FREE(fe_aggregate(&l), "[dryRun: Unsupported value: [\"true\"]: supported values: \"All\", "
                                      "metadata.name: Required value: name or generateName is required]");

    /* ToAggregate drops repeated messages (same field and body); causes keep them all. */
    fe_add(&l, FE_REQUIRED, "metadata.name", NULL, "name or generateName is required");
    fe_add(&l, FE_FORBIDDEN, "x", NULL, "f");
    ASSERT_STR_FREE(fe_aggregate(&l),
                    "[dryRun: Unsupported value: [\"true\"]: supported values: \"All\", "
                    "metadata.name: Required value: name or generateName is required, x: Forbidden: f]");
    json_t *c = fe_causes(&l);
    assert_int_equal(json_array_size(c), 4);
    json_decref(c);
    fe_free(&l);

    /* Duplicates only: one message left, so no brackets. */
    fe_add(&l, FE_REQUIRED, "a", NULL, NULL);
    fe_add(&l, FE_REQUIRED, "a", NULL, NULL);
    ASSERT_STR_FREE(fe_aggregate(&l), "a: Required value");
    fe_free(&l);
    assert_int_equal(l.n, 0);
    assert_null(l.v);
}

static void test_causes(void **state)
{
    (void)state;
    fielderrs l = {0};
    char *v = fe_str("Bad_Name");
    fe_add(&l, FE_INVALID, "metadata.name", v, "bad");
    free(v);
    fe_add(&l, FE_REQUIRED, "", NULL, "no field");
    json_t *c = fe_causes(&l);
    char *s = json_dumps(c, JSON_COMPACT);
    assert_string_equal(s, "[{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: \\\"Bad_Name\\\": bad\","
                           "\"field\":\"metadata.name\"},"
                           "{\"reason\":\"FieldValueRequired\",\"message\":\"Required value: no field\"}]");
    free(s);
    json_decref(c);
    fe_free(&l);

    c = fe_causes(&l);
    assert_int_equal(json_array_size(c), 0);
    json_decref(c);
}

static void test_many_errors(void **state)
{
    (void)state;
    fielderrs l = {0};
    for (int i = 0; i < 100; i++)
        fe_add(&l, FE_INVALID, "spec.x", "1", "n=%d", i);
    assert_int_equal(l.n, 100);
    assert_string_equal(l.v[99].detail, "n=99");
    char *agg = fe_aggregate(&l);
    assert_true(agg[0] == '[' && agg[strlen(agg) - 1] == ']');
    assert_non_null(strstr(agg, "spec.x: Invalid value: 1: n=0, spec.x: Invalid value: 1: n=1, "));
    free(agg);
    fe_free(&l);
}

/* fmt's %v of a decoded patch map, as kube prints a strategic merge patch in its strict error. */
static void test_gov(void **state)
{
    (void)state;
    json_t *v = json_loads("{\"spec\":{\"b\":[1,2.5,\"s\",true,null,1000000.0,{}],\"a\":{\"z\":\"y x\"}}}", 0, NULL);
    char *t = fe_gov(v);
    assert_string_equal(t, "map[spec:map[a:map[z:y x] b:[1 2.5 s true <nil> 1e+06 map[]]]]");
    free(t);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_texts),
        cmocka_unit_test(test_cause_messages),
        cmocka_unit_test(test_go_quote),
        cmocka_unit_test(test_json_values),
        cmocka_unit_test(test_aggregate),
        cmocka_unit_test(test_causes),
        cmocka_unit_test(test_many_errors),
        cmocka_unit_test(test_gov),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
