/* Unit tests for src/protobuf.c: the Kubernetes protobuf envelope and the self review kinds. */
#include "unit.h"
#include <jansson.h>
#include "protobuf.h"

/* A SelfSubjectAccessReview as kubectl auth can-i sends it: empty ObjectMeta (a zero
 * creationTimestamp), spec.resourceAttributes{namespace default, verb create, group
 * kubeflow.org, resource pytorchjobs}, empty status. */
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

static void test_ssar(void **state)
{
    json_t *o = NULL;
    char *err = NULL;
    assert_int_equal(protobuf_decode(ssar, sizeof ssar, &o, &err), 0);
    char *s = json_dumps(o, JSON_COMPACT);
    assert_string_equal(s, "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":"
                           "\"SelfSubjectAccessReview\",\"metadata\":{\"creationTimestamp\":null},"
                           "\"spec\":{\"resourceAttributes\":{\"namespace\":\"default\",\"verb\":"
                           "\"create\",\"group\":\"kubeflow.org\",\"resource\":\"pytorchjobs\"}},"
                           "\"status\":{}}");
    free(s);
    json_decref(o);
}

static void test_errors(void **state)
{
    json_t *o = NULL;
    char *err = NULL;
    assert_int_equal(protobuf_decode("{}", 2, &o, &err), -1);
    assert_non_null(strstr(err, "expected prefix"));
    free(err);
    /* cut short inside the raw object */
    assert_int_equal(protobuf_decode(ssar, sizeof ssar - 10, &o, &err), -1);
    assert_null(o);
    free(err);
    /* a kind not known here */
    static const unsigned char pod[] = {'k', '8', 's', 0, 0x0a, 0x09, 0x0a, 0x02, 'v', '1',
                                        0x12, 0x03, 'P', 'o', 'd', 0x12, 0x00};
    assert_int_equal(protobuf_decode(pod, sizeof pod, &o, &err), -1);
    assert_string_equal(err, "no kind \"Pod\" is registered for version \"v1\"");
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ssar),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
