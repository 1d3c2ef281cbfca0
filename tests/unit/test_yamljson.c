/* yamljson: YAML request bodies decoded the way sigs.k8s.io/yaml does. */
#include "unit.h"
#include "yamljson.h"

static json_t *parse(const char *y)
{
    char *err = NULL;
    json_t *v = yamljson_parse(y, strlen(y), &err);
    if (!v)
        fail_msg("parse failed: %s", err ? err : "?");
    free(err);
    return v;
}

static void assert_json(const char *yaml, const char *want)
{
    json_t *v = parse(yaml);
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
    assert_non_null(w);
    if (!json_equal(v, w)) {
        char *got = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        fail_msg("yaml %s: got %s want %s", yaml, got, want);
    }
    json_decref(v);
    json_decref(w);
}

static void test_scalars(void **state)
{
    (void)state;
    assert_json("a: 1\nb: -2\nc: 0x10\nd: 1.5\ne: true\nf: no\ng: ~\nh: null\ni: \"1\"\nj: '2'\nk: text\n",
                "{\"a\":1,\"b\":-2,\"c\":16,\"d\":1.5,\"e\":true,\"f\":false,\"g\":null,\"h\":null,\"i\":\"1\",\"j\":\"2\",\"k\":\"text\"}");
    assert_json("v: 1e3\nw: .inf\nx: 1.2.3\n", "{\"v\":1000.0,\"w\":\".inf\",\"x\":\"1.2.3\"}");
}

static void test_nesting(void **state)
{
    (void)state;
    assert_json("apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata:\n  name: j\n  labels: {a: b}\n"
                "spec:\n  list: [1, two, {x: z}, {q: y}]\n  nested:\n  - name: pytorch\n    command: [\"sh\", \"-c\", \"echo $X\"]\n",
                "{\"apiVersion\":\"kubeflow.org/v1\",\"kind\":\"PyTorchJob\",\"metadata\":{\"name\":\"j\",\"labels\":{\"a\":\"b\"}},"
                "\"spec\":{\"list\":[1,\"two\",{\"x\":\"z\"},{\"q\":true}],\"nested\":[{\"name\":\"pytorch\",\"command\":[\"sh\",\"-c\",\"echo $X\"]}]}}");
}

static void test_json_is_yaml(void **state)
{
    (void)state;
    assert_json("{\"propagationPolicy\": \"Foreground\", \"dryRun\": [\"All\"]}",
                "{\"propagationPolicy\":\"Foreground\",\"dryRun\":[\"All\"]}");
    assert_json("[]", "[]");
    assert_json("", "null");
}

static void test_errors(void **state)
{
    (void)state;
    char *err = NULL;
    assert_null(yamljson_parse("a: [1, 2", 8, &err));
    assert_non_null(err);
    assert_true(strstr(err, "yaml: line") == err);
    free(err);
    err = NULL;
    const char *alias = "a: &x 1\nb: *x\n";
    assert_null(yamljson_parse(alias, strlen(alias), &err));
    assert_string_equal(err, "yaml: aliases are not supported");
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_json_is_yaml),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
