/* status: Status objects with kube-apiserver's field order, reasons and message texts. */
#include "unit.h"
#include "status.h"

static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void test_reason_table(void **state)
{
    (void)state;
    assert_int_equal(status_code(ST_NOT_FOUND), 404);
    assert_string_equal(status_reason(ST_NOT_FOUND), "NotFound");
    assert_int_equal(status_code(ST_INVALID), 422);
    assert_string_equal(status_reason(ST_EXPIRED), "Expired");
    assert_int_equal(status_code(ST_UNKNOWN), 500);
    assert_string_equal(status_reason(ST_UNKNOWN), "");
}

static void test_not_found_shape(void **state)
{
    (void)state;
    apierr e = {0};
    apierr_not_found(&e, "pytorchjobs.kubeflow.org", "kubeflow.org", "pytorchjobs", "x");
    char *s = dump(status_json(&e));
    assert_string_equal(s, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                           "\"message\":\"pytorchjobs.kubeflow.org \\\"x\\\" not found\",\"reason\":\"NotFound\","
                           "\"details\":{\"name\":\"x\",\"group\":\"kubeflow.org\",\"kind\":\"pytorchjobs\"},\"code\":404}");
    free(s);
    apierr_free(&e);
}

static void test_unauthorized_has_no_details(void **state)
{
    (void)state;
    apierr e = {0};
    apierr_set(&e, ST_UNAUTHORIZED, "Unauthorized");
    char *s = dump(status_json(&e));
    assert_string_equal(s, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                           "\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}");
    free(s);
    apierr_free(&e);
}

static void test_unknown_reason_omitted(void **state)
{
    (void)state;
    apierr e = {0};
    apierr_set(&e, ST_UNKNOWN, "resourceVersion should not be set on objects to be created");
    char *s = dump(status_json(&e));
    assert_null(strstr(s, "\"reason\""));
    assert_non_null(strstr(s, "\"code\":500"));
    free(s);
    apierr_free(&e);
}

static void test_invalid_and_conflict_texts(void **state)
{
    (void)state;
    fielderrs fe = {0};
    char *v = fe_str("foreground");
    fe_add(&fe, FE_NOT_SUPPORTED, "propagationPolicy", v, "supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"");
    free(v);
    apierr e = {0};
    apierr_invalid(&e, "DeleteOptions.meta.k8s.io", "", "meta.k8s.io", "DeleteOptions", &fe);
    assert_string_equal(e.message, "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: "
                                   "\"foreground\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"");
    char *s = dump(status_json(&e));
    assert_non_null(strstr(s, "\"details\":{\"group\":\"meta.k8s.io\",\"kind\":\"DeleteOptions\",\"causes\":[{"));
    free(s);
    fe_free(&fe);
    apierr_conflict_modified(&e, "pytorchjobs.kubeflow.org", "kubeflow.org", "pytorchjobs", "j1");
    assert_string_equal(e.message, "Operation cannot be fulfilled on pytorchjobs.kubeflow.org \"j1\": the object has been "
                                   "modified; please apply your changes to the latest version and try again");
    apierr_already_exists(&e, "pytorchjobs.kubeflow.org", "kubeflow.org", "pytorchjobs", "j1", 1);
    assert_string_equal(e.message, "object is being deleted: pytorchjobs.kubeflow.org \"j1\" already exists");
    apierr_free(&e);
}

static void test_success_status(void **state)
{
    (void)state;
    char *s = dump(status_success_json("job1", "kubeflow.org", "pytorchjobs", "u-1"));
    assert_string_equal(s, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\","
                           "\"details\":{\"name\":\"job1\",\"group\":\"kubeflow.org\",\"kind\":\"pytorchjobs\",\"uid\":\"u-1\"}}");
    free(s);
    s = dump(status_success_json("ev", "", "events", NULL));
    assert_string_equal(s, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\","
                           "\"details\":{\"name\":\"ev\",\"kind\":\"events\"}}");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_table),
        cmocka_unit_test(test_not_found_shape),
        cmocka_unit_test(test_unauthorized_has_no_details),
        cmocka_unit_test(test_unknown_reason_omitted),
        cmocka_unit_test(test_invalid_and_conflict_texts),
        cmocka_unit_test(test_success_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
