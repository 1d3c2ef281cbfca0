/* Unit tests for src/selector.c: label selectors (labels.Parse) and field selectors. */
#include "unit.h"
#include <jansson.h>
#include "selector.h"

#define NAME_PART_RE "name part must consist of alphanumeric characters, '-', '_' or '.', and must " \
    "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "   \
    "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define VALUE_RE "a valid label must be an empty string or consist of alphanumeric characters, '-', " \
    "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "        \
    "'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static const char *const meta_fields[] = {"metadata.name", "metadata.namespace", NULL};

/* Does selector s match the labels given as JSON text (NULL = no labels at all)? */
static int lmatch(const char *s, const char *labels_json)
{
    labelsel *sel = NULL;
    char *err = NULL;
    if (labelsel_parse(s, &sel, &err) != 0) {
        fail_msg("parse of '%s' failed: %s", s, err);
    }
    json_t *labels = labels_json ? json_loads(labels_json, 0, NULL) : NULL;
    assert_true(!labels_json || labels);
    int m = labelsel_match(sel, labels);
    json_decref(labels);
    labelsel_free(sel);
    return m;
}

static void lerr(const char *s, const char *want)
{
    labelsel *sel = (labelsel *)1;
    char *err = NULL;
    assert_int_equal(labelsel_parse(s, &sel, &err), -1);
    assert_null(sel);
    assert_non_null(err);
    assert_string_equal(err, want);
    free(err);
}

static void test_label_empty(void **state)
{
    const char *empties[] = {NULL, "", "   ", " \t\r\n "};
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        labelsel *sel = NULL;
        char *err = NULL;
        assert_int_equal(labelsel_parse(empties[i], &sel, &err), 0);
        assert_non_null(sel);
        assert_null(err);
        assert_true(labelsel_empty(sel));
        assert_true(labelsel_match(sel, NULL));
        labelsel_free(sel);
    }
    assert_true(labelsel_empty(NULL));
    assert_true(labelsel_match(NULL, NULL));
    labelsel_free(NULL);

    labelsel *sel = NULL;
    char *err = NULL;
    assert_int_equal(labelsel_parse("a", &sel, &err), 0);
    assert_false(labelsel_empty(sel));
    labelsel_free(sel);
}

static void test_label_equality(void **state)
{
    assert_true(lmatch("team=a", "{\"team\":\"a\"}"));
    assert_false(lmatch("team=a", "{\"team\":\"b\"}"));
    assert_false(lmatch("team=a", "{}"));
    assert_false(lmatch("team=a", NULL));
    assert_true(lmatch("team==a", "{\"team\":\"a\"}"));
    assert_false(lmatch("team==a", "{\"team\":\"ab\"}"));
    assert_true(lmatch("team!=a", "{\"team\":\"b\"}"));
    assert_false(lmatch("team!=a", "{\"team\":\"a\"}"));
    assert_true(lmatch("team!=a", "{}"));   /* absent label: != matches */
    assert_true(lmatch("team!=a", NULL));
    /* the empty value */
    assert_true(lmatch("team=", "{\"team\":\"\"}"));
    assert_false(lmatch("team=", "{}"));
    assert_true(lmatch("team=,x", "{\"team\":\"\",\"x\":\"1\"}"));
    assert_true(lmatch("team!=", "{\"team\":\"a\"}"));
}

static void test_label_sets(void **state)
{
    assert_true(lmatch("team in (a,b)", "{\"team\":\"b\"}"));
    assert_false(lmatch("team in (a,b)", "{\"team\":\"c\"}"));
    assert_false(lmatch("team in (a,b)", "{}"));
    assert_true(lmatch("team notin (a,b)", "{\"team\":\"c\"}"));
    assert_false(lmatch("team notin (a,b)", "{\"team\":\"a\"}"));
    assert_true(lmatch("team notin (a,b)", "{}")); /* absent label: notin matches */
    assert_true(lmatch("team notin (a,b)", NULL));
    /* empty values: "()", "(,x)", "(x,)", "(x,,y)" */
    assert_true(lmatch("team in ()", "{\"team\":\"\"}"));
    assert_false(lmatch("team in ()", "{\"team\":\"a\"}"));
    assert_true(lmatch("team in (,x)", "{\"team\":\"\"}"));
    assert_true(lmatch("team in (,x)", "{\"team\":\"x\"}"));
    assert_true(lmatch("team in (x,)", "{\"team\":\"\"}"));
    assert_true(lmatch("team in (x,,y)", "{\"team\":\"\"}"));
    assert_true(lmatch("team in (x,,y)", "{\"team\":\"y\"}"));
    /* "in" and "notin" are identifiers where a key or value is expected */
    assert_true(lmatch("in in (in,notin)", "{\"in\":\"notin\"}"));
    assert_true(lmatch("notin notin (in)", "{\"notin\":\"x\"}"));
    assert_true(lmatch("notin", "{\"notin\":\"x\"}"));
    assert_true(lmatch("a=in", "{\"a\":\"in\"}"));
}

static void test_label_exists(void **state)
{
    assert_true(lmatch("team", "{\"team\":\"\"}"));
    assert_false(lmatch("team", "{\"other\":\"x\"}"));
    assert_false(lmatch("team", NULL));
    assert_true(lmatch("!team", "{\"other\":\"x\"}"));
    assert_true(lmatch("!team", NULL));
    assert_false(lmatch("!team", "{\"team\":\"a\"}"));
    assert_true(lmatch("! team", "{}")); /* whitespace after '!' */
    assert_true(lmatch("example.com/team", "{\"example.com/team\":\"a\"}"));
    assert_true(lmatch("example.com/team=a,!kubernetes.io/x", "{\"example.com/team\":\"a\"}"));
}

static void test_label_gt_lt(void **state)
{
    assert_true(lmatch("n>5", "{\"n\":\"6\"}"));
    assert_false(lmatch("n>5", "{\"n\":\"5\"}"));
    assert_false(lmatch("n>5", "{}"));
    assert_false(lmatch("n>5", "{\"n\":\"abc\"}")); /* a label that is no integer never matches */
    assert_true(lmatch("n<5", "{\"n\":\"-7\"}"));
    assert_false(lmatch("n<5", "{\"n\":\"5\"}"));
    assert_true(lmatch("n<5", "{\"n\":\"+4\"}"));
    assert_true(lmatch("n > 10 , n < 20", "{\"n\":\"15\"}"));
    assert_false(lmatch("n>0", "{\"n\":\"99999999999999999999\"}")); /* out of int64 */
}

static void test_label_and_whitespace(void **state)
{
    const char *l = "{\"team\":\"a\",\"env\":\"prod\",\"tier\":\"web\"}";
    assert_true(lmatch("team=a,env=prod", l));
    assert_false(lmatch("team=a,env=dev", l));
    assert_true(lmatch("  team  =  a  ,\tenv  in  (  prod  ,  dev  )  ,  tier  ,  !gpu  ", l));
    assert_true(lmatch("team==a,env!=dev,tier notin (db)", l));
    assert_false(lmatch("team=a,gpu", l));
    assert_true(lmatch("team in(a),env notin(x)", l)); /* no space before '(' */
    assert_true(lmatch("team!=b,env==prod", l));
}

static void test_label_parse_errors(void **state)
{
    lerr("team in (", "unable to parse requirement: found '', expected: ',', ')' or identifier");
    lerr("team in", "unable to parse requirement: found '' expected: '('");
    lerr("team in b", "unable to parse requirement: found 'b' expected: '('");
    lerr("team in (a", "unable to parse requirement: found '', expected: ',' or ')'");
    lerr("team in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'");
    lerr("team in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier");
    lerr("team in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier");
    lerr("a=b,", "found '', expected: identifier after ','");
    lerr("a,,b", "found ',', expected: identifier after ','");
    lerr("=x", "found '=', expected: !, identifier, or 'end of string'");
    lerr(",", "found ',', expected: !, identifier, or 'end of string'");
    lerr("(a)", "found '(', expected: !, identifier, or 'end of string'");
    lerr("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
    lerr("a!b", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt");
    lerr("a=b c", "found 'c', expected: ',' or 'end of string'");
    lerr("a=(", "unable to parse requirement: found '(', expected: identifier");
    lerr("!", "unable to parse requirement: found '', expected: identifier");
    lerr("!=a", "found '!=', expected: !, identifier, or 'end of string'");
    lerr("! =a", "unable to parse requirement: found '=', expected: identifier");
    lerr("!a=b", "found '=', expected: ',' or 'end of string'");
    lerr("a>x", "unable to parse requirement: values[0]: Invalid value: \"x\": "
                "for 'Gt', 'Lt' operators, the value must be an integer");
    lerr("a<", "unable to parse requirement: values[0]: Invalid value: \"\": "
               "for 'Gt', 'Lt' operators, the value must be an integer");
    /* an integer that is no valid label value, and a value that is neither: */
    lerr("a>-5", "unable to parse requirement: values[0][a]: Invalid value: \"-5\": " VALUE_RE);
    lerr("a>x_", "unable to parse requirement: [values[0]: Invalid value: \"x_\": for 'Gt', 'Lt' "
                 "operators, the value must be an integer, values[0][a]: Invalid value: \"x_\": " VALUE_RE "]");
}

static void test_label_validation_errors(void **state)
{
    lerr("a@b=c", "unable to parse requirement: <nil>: Invalid value: \"a@b\": " NAME_PART_RE);
    lerr("a\"b", "unable to parse requirement: <nil>: Invalid value: \"a\\\"b\": " NAME_PART_RE);
    lerr("-a", "unable to parse requirement: <nil>: Invalid value: \"-a\": " NAME_PART_RE);
    lerr("/a", "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be non-empty");
    lerr("a/", "unable to parse requirement: <nil>: Invalid value: \"a/\": name part must be non-empty; "
               NAME_PART_RE);
    lerr("Example.com/a",
         "unable to parse requirement: <nil>: Invalid value: \"Example.com/a\": prefix part a lowercase "
         "RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
         "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "
         "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    lerr("a/b/c=d",
         "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist of "
         "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character "
         "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
         "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' "
         "(e.g. 'example.com/MyName')");

    char key[80], sel[200], want[1024];
    memset(key, 'k', 64);
    key[64] = '\0';
    snprintf(want, sizeof want, "unable to parse requirement: <nil>: Invalid value: \"%s\": "
             "name part must be no more than 63 characters", key);
    lerr(key, want);
    key[63] = '\0';
    assert_true(lmatch(key, "{\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\":\"\"}"));

    char val[80];
    memset(val, 'v', 64);
    val[64] = '\0';
    snprintf(sel, sizeof sel, "team=%s", val);
    snprintf(want, sizeof want, "unable to parse requirement: values[0][team]: Invalid value: \"%s\": "
             "must be no more than 63 characters", val);
    lerr(sel, want);
    val[63] = '\0';
    snprintf(sel, sizeof sel, "team=%s", val);
    assert_false(lmatch(sel, "{\"team\":\"x\"}"));
    /* too long and badly formed: one error, both messages */
    memset(val, 'v', 64);
    val[63] = '-';
    val[64] = '\0';
    snprintf(sel, sizeof sel, "team=%s", val);
    snprintf(want, sizeof want, "unable to parse requirement: values[0][team]: Invalid value: \"%s\": "
             "must be no more than 63 characters; " VALUE_RE, val);
    lerr(sel, want);

    lerr("team=-a", "unable to parse requirement: values[0][team]: Invalid value: \"-a\": " VALUE_RE);
    /* values are indexed in sorted order; two bad values aggregate */
    lerr("team in (z, b_, a)", "unable to parse requirement: values[1][team]: Invalid value: \"b_\": " VALUE_RE);
    lerr("team notin (c., b_)", "unable to parse requirement: [values[0][team]: Invalid value: \"b_\": "
                                VALUE_RE ", values[1][team]: Invalid value: \"c.\": " VALUE_RE "]");
}

/* ---- field selectors ---- */

static fieldsel *fparse(const char *s, const char *const *allowed)
{
    fieldsel *sel = NULL;
    char *err = NULL;
    if (fieldsel_parse(s, allowed, &sel, &err) != 0) {
        fail_msg("parse of '%s' failed: %s", s, err);
    }
    assert_null(err);
    return sel;
}

static int fmatch(const char *s, const char *obj_json)
{
    fieldsel *sel = fparse(s, NULL);
    json_t *obj = json_loads(obj_json, 0, NULL);
    assert_non_null(obj);
    int m = fieldsel_match(sel, obj);
    json_decref(obj);
    fieldsel_free(sel);
    return m;
}

static void ferr(const char *s, const char *const *allowed, const char *want)
{
    fieldsel *sel = (fieldsel *)1;
    char *err = NULL;
    assert_int_equal(fieldsel_parse(s, allowed, &sel, &err), -1);
    assert_null(sel);
    assert_non_null(err);
    assert_string_equal(err, want);
    free(err);
}

static void test_field_empty(void **state)
{
    const char *empties[] = {NULL, "", ",", ",,"};
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        fieldsel *sel = fparse(empties[i], meta_fields);
        assert_non_null(sel);
        assert_true(fieldsel_empty(sel));
        assert_true(fieldsel_match(sel, NULL));
        assert_null(fieldsel_exact(sel, "metadata.name"));
        fieldsel_free(sel);
    }
    assert_true(fieldsel_empty(NULL));
    assert_true(fieldsel_match(NULL, NULL));
    fieldsel_free(NULL);
}

static void test_field_match(void **state)
{
    const char *o = "{\"metadata\":{\"name\":\"job-1\",\"namespace\":\"ns\"},"
                    "\"involvedObject\":{\"uid\":\"u-1\",\"name\":\"a,b=c\\\\d\"},"
                    "\"status\":{\"phase\":\"Running\"},\"spec\":{\"replicas\":3,\"suspend\":true}}";
    assert_true(fmatch("metadata.name=job-1", o));
    assert_true(fmatch("metadata.name==job-1", o));
    assert_false(fmatch("metadata.name=job-2", o));
    assert_true(fmatch("metadata.name!=job-2", o));
    assert_false(fmatch("metadata.name!=job-1", o));
    assert_true(fmatch("metadata.name=job-1,metadata.namespace=ns", o));
    assert_false(fmatch("metadata.name=job-1,metadata.namespace=other", o));
    assert_true(fmatch("involvedObject.uid=u-1,status.phase=Running", o));
    assert_true(fmatch("spec.replicas=3,spec.suspend=true", o));
    /* missing fields read as "" */
    assert_true(fmatch("status.reason=", o));
    assert_true(fmatch("status.reason!=x", o));
    assert_false(fmatch("status.reason=x", o));
    assert_true(fmatch("metadata.name.deeper=", o));
    /* but the Go bools among the selectable fields print "false" when absent */
    assert_true(fmatch("spec.unschedulable=false", o));
    assert_false(fmatch("spec.unschedulable=", o));
    assert_true(fmatch("spec.hostNetwork!=true", o));
    assert_true(fmatch("spec.unschedulable=true", "{\"spec\":{\"unschedulable\":true}}"));
    /* escapes */
    assert_true(fmatch("involvedObject.name=a\\,b\\=c\\\\d", o));
    assert_false(fmatch("involvedObject.name!=a\\,b\\=c\\\\d", o));
    /* no trimming: the space belongs to the value */
    assert_false(fmatch("metadata.name= job-1", o));
}

static void test_field_errors(void **state)
{
    ferr("spec.x=1", meta_fields, "field label not supported: spec.x");
    ferr("metadata.name=a,status.phase!=b", meta_fields, "field label not supported: status.phase");
    ferr("metadata.name =a", meta_fields, "field label not supported: metadata.name ");
    ferr("=a", meta_fields, "field label not supported: ");
    ferr("foo", meta_fields, "invalid selector: 'foo'; can't understand 'foo'");
    ferr("metadata.name=a,foo", meta_fields, "invalid selector: 'metadata.name=a,foo'; can't understand 'foo'");
    /* terms are parsed (sorted) before any field is checked */
    ferr("spec.x=1,zzz", meta_fields, "invalid selector: 'spec.x=1,zzz'; can't understand 'zzz'");
    ferr("zz,aa", NULL, "invalid selector: 'zz,aa'; can't understand 'aa'");
    ferr("metadata.name=a\\x", meta_fields, "invalid field selector: invalid escape sequence: \\x");
    ferr("metadata.name=a\\", meta_fields, "invalid field selector: invalid escape sequence: \\");
    ferr("metadata.name=a=b", meta_fields, "invalid field selector: unescaped character in value: 61");
    ferr("metadata.name===b", meta_fields, "invalid field selector: unescaped character in value: 61");
}

static void test_field_exact(void **state)
{
    fieldsel *sel = fparse("metadata.namespace!=x,metadata.name==a\\,b", meta_fields);
    assert_false(fieldsel_empty(sel));
    assert_string_equal(fieldsel_exact(sel, "metadata.name"), "a,b");
    assert_null(fieldsel_exact(sel, "metadata.namespace")); /* != is no exact match */
    assert_null(fieldsel_exact(sel, "status.phase"));
    fieldsel_free(sel);

    sel = fparse("metadata.name=job", meta_fields);
    assert_string_equal(fieldsel_exact(sel, "metadata.name"), "job");
    fieldsel_free(sel);

    sel = fparse("metadata.name!=job", meta_fields);
    assert_null(fieldsel_exact(sel, "metadata.name"));
    fieldsel_free(sel);

    sel = fparse("metadata.name=", meta_fields);
    assert_string_equal(fieldsel_exact(sel, "metadata.name"), "");
    fieldsel_free(sel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_empty),
        cmocka_unit_test(test_label_equality),
        cmocka_unit_test(test_label_sets),
        cmocka_unit_test(test_label_exists),
        cmocka_unit_test(test_label_gt_lt),
        cmocka_unit_test(test_label_and_whitespace),
        cmocka_unit_test(test_label_parse_errors),
        cmocka_unit_test(test_label_validation_errors),
        cmocka_unit_test(test_field_empty),
        cmocka_unit_test(test_field_match),
        cmocka_unit_test(test_field_errors),
        cmocka_unit_test(test_field_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
