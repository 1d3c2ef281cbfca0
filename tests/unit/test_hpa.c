/* hpa: SetDefaults_HorizontalPodAutoscaler, ValidateHorizontalPodAutoscaler's spec rules and
 * training-operator's desiredHPA. */
#include "unit.h"
#include "hpa.h"

/* The aggregate message of obj's errors ("" when valid). */
static char *errors_of(const char *json)
{
    json_t *o = json_loads(json, 0, NULL);
    assert_non_null(o);
    fielderrs l = {0};
    hpa_validate(&l, o);
    char *m = fe_aggregate(&l);
    fe_free(&l);
    json_decref(o);
    return m;
}

#define ASSERT_ERRORS(json, want)                  \
    do {                                           \
        char *m_ = errors_of(json);                \
        if (strcmp(m_, want))                      \
            print_error("got  %s\nwant %s\n", m_, want); \
        assert_string_equal(m_, want);             \
        free(m_);                                  \
    } while (0)

static void test_defaults(void **state)
{
    (void)state;
    json_t *o = json_loads("{\"spec\":{\"maxReplicas\":3,\"scaleTargetRef\":{\"kind\":\"K\",\"name\":\"n\"}}}", 0, NULL);
    hpa_defaults(o);
    json_t *want = json_loads("{\"spec\":{\"maxReplicas\":3,\"minReplicas\":1,\"scaleTargetRef\":{\"kind\":\"K\","
                              "\"name\":\"n\"},\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\","
                              "\"target\":{\"type\":\"Utilization\",\"averageUtilization\":80}}}]}}", 0, NULL);
    assert_true(json_equal(o, want));
    json_decref(want);
    /* what is set stays */
    json_object_set_new(json_object_get(o, "spec"), "minReplicas", json_integer(2));
    json_object_set_new(json_object_get(o, "spec"), "metrics",
                        json_loads("[{\"type\":\"Pods\"}]", 0, NULL));
    hpa_defaults(o);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "spec"), "minReplicas")), 2);
    assert_int_equal(json_array_size(json_object_get(json_object_get(o, "spec"), "metrics")), 1);
    json_decref(o);
}

static void test_validate_spec(void **state)
{
    (void)state;
    ASSERT_ERRORS("{\"spec\":{\"minReplicas\":1,\"maxReplicas\":3,\"scaleTargetRef\":{\"kind\":\"PyTorchJob\","
                  "\"name\":\"j\"},\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":"
                  "{\"type\":\"Utilization\",\"averageUtilization\":60}}}]}}",
                  "");
    ASSERT_ERRORS("{\"spec\":{\"minReplicas\":4,\"maxReplicas\":3,\"scaleTargetRef\":{\"name\":\"..\"}}}",
                  "[spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`, "
                  "spec.scaleTargetRef.kind: Required value, spec.scaleTargetRef.name: Invalid value: \"..\": "
                  "may not be '..']");
    ASSERT_ERRORS("{\"spec\":{\"minReplicas\":0,\"maxReplicas\":0,\"scaleTargetRef\":{\"kind\":\"a%b\",\"name\":\"x\"}}}",
                  "[spec.minReplicas: Invalid value: 0: must be greater than or equal to 1, spec.maxReplicas: "
                  "Invalid value: 0: must be greater than 0, spec.scaleTargetRef.kind: Invalid value: \"a%b\": may "
                  "not contain '%']");
}

static void test_validate_metrics(void **state)
{
    (void)state;
    const char *pre = "{\"spec\":{\"maxReplicas\":1,\"scaleTargetRef\":{\"kind\":\"K\",\"name\":\"n\"},\"metrics\":[";
    char buf[2048];
    snprintf(buf, sizeof buf, "%s{\"type\":\"Resource\"}]}}", pre);
    ASSERT_ERRORS(buf, "spec.metrics[0].resource: Required value: must populate information for the given metric "
                       "source");
    snprintf(buf, sizeof buf, "%s{}]}}", pre);
    ASSERT_ERRORS(buf, "[spec.metrics[0].type: Required value: must specify a metric source type, "
                       "spec.metrics[0].type: Unsupported value: \"\": supported values: \"ContainerResource\", "
                       "\"External\", \"Object\", \"Pods\", \"Resource\"]");
    snprintf(buf, sizeof buf, "%s{\"type\":\"Resource\",\"resource\":{\"target\":{\"type\":\"Ratio\"}}}]}}", pre);
    ASSERT_ERRORS(buf, "[spec.metrics[0].resource.name: Required value: must specify a resource name, "
                       "spec.metrics[0].resource.target.type: Invalid value: \"Ratio\": must be either Utilization, "
                       "Value, or AverageValue, spec.metrics[0].resource.target.averageUtilization: Required value: "
                       "must set either a target raw value or a target utilization]");
    snprintf(buf, sizeof buf,
             "%s{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\","
             "\"averageUtilization\":0,\"averageValue\":\"1\"}}}]}}", pre);
    ASSERT_ERRORS(buf, "[spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than "
                       "0, spec.metrics[0].resource.target.averageValue: Forbidden: may not set both a target raw "
                       "value and a target utilization]");
    /* two sources: the first in kube's order (object, external, pods, resource, …) is checked,
     * and the one the type does not name is refused */
    snprintf(buf, sizeof buf,
             "%s{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\","
             "\"averageUtilization\":0}},\"pods\":{\"metric\":{\"name\":\"q\"},\"target\":{\"type\":"
             "\"AverageValue\",\"averageValue\":\"1\"}}}]}}", pre);
    ASSERT_ERRORS(buf, "spec.metrics[0].pods: Forbidden: must populate the given metric source only");
    snprintf(buf, sizeof buf,
             "%s{\"type\":\"Pods\",\"pods\":{\"metric\":{\"name\":\"qps\"},\"target\":{\"type\":\"AverageValue\","
             "\"averageValue\":\"0\"}}}]}}", pre);
    ASSERT_ERRORS(buf, "spec.metrics[0].pods.target.averageValue: Invalid value: \"0\": must be positive");
}

static void test_for_job(void **state)
{
    (void)state;
    json_t *m = json_loads("[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\","
                           "\"averageUtilization\":60}}}]", 0, NULL);
    json_t *h = hpa_for_job("j", "ns", "u-1", 1, 3, m);
    json_t *want = json_loads(
        "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"j\","
        "\"namespace\":\"ns\",\"ownerReferences\":[{\"apiVersion\":\"kubeflow.org/v1\",\"kind\":\"PyTorchJob\","
        "\"name\":\"j\",\"uid\":\"u-1\",\"controller\":true,\"blockOwnerDeletion\":true}]},\"spec\":{"
        "\"scaleTargetRef\":{\"kind\":\"PyTorchJob\",\"name\":\"j\",\"apiVersion\":\"kubeflow.org/v1\"},"
        "\"minReplicas\":1,\"maxReplicas\":3,\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\","
        "\"target\":{\"type\":\"Utilization\",\"averageUtilization\":60}}}]}}", 0, NULL);
    assert_true(json_equal(h, want));
    fielderrs l = {0};
    hpa_validate(&l, h);
    assert_int_equal(l.n, 0);
    json_decref(h);
    json_decref(want);
    json_decref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_validate_spec),
        cmocka_unit_test(test_validate_metrics),
        cmocka_unit_test(test_for_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
