/* Unit tests for src/table.c: Accept negotiation, HumanDuration, and the Table columns and rows
 * of pytorchjobs, namespaces, pods, services and events. */
#include "unit.h"
#include <jansson.h>
#include "table.h"

/* 2023-11-14T22:13:20Z: every timestamp below is written relative to it. */
#define NOW ((time_t)1700000000)

#define TABLE_ACCEPT "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;" \
                     "v=v1beta1;g=meta.k8s.io,application/json"

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("bad test JSON at line %d: %s", e.line, e.text);
    return j;
}

/* The row of obj (JSON text), which must render. */
static json_t *row_of(const char *plural, const char *obj_text, table_include inc)
{
    json_t *obj = load(obj_text);
    json_t *row = table_row(plural, obj, inc, NOW);
    assert_non_null(row);
    json_decref(obj);
    return row;
}

/* row.cells equals want (JSON text). */
static void check_cells(const json_t *row, const char *want_text)
{
    json_t *want = load(want_text);
    const json_t *cells = json_object_get(row, "cells");
    if (!json_equal(cells, want)) {
        char *got = json_dumps(cells, JSON_COMPACT);
        fail_msg("cells %s, want %s", got, want_text);
    }
    json_decref(want);
}

/* The cells of the row of obj for plural are want. */
static void cells_are(const char *plural, const char *obj_text, const char *want_text)
{
    json_t *row = row_of(plural, obj_text, TABLE_INCLUDE_NONE);
    check_cells(row, want_text);
    json_decref(row);
}

/* ---- Accept ---- */

static void test_wanted(void **state)
{
    /* The three real headers of client-compat.md. */
    assert_int_equal(table_wanted(TABLE_ACCEPT), 1);
    assert_int_equal(table_wanted("application/json"), 0);
    assert_int_equal(table_wanted("application/vnd.kubernetes.protobuf,application/json"), 0);
    /* And neighbours. */
    assert_int_equal(table_wanted(NULL), 0);
    assert_int_equal(table_wanted(""), 0);
    assert_int_equal(table_wanted("application/json, */*"), 0);
    assert_int_equal(table_wanted("application/json;as=Table;v=v1beta1;g=meta.k8s.io"), 1);
    assert_int_equal(table_wanted(" Application/JSON ; as=Table ; v=v1 ; g=meta.k8s.io "), 1);
    assert_int_equal(table_wanted("application/json;as=\"Table\";v=v1;g=\"meta.k8s.io\""), 1);
    /* A protobuf Table is skipped, the JSON one after it is served. */
    assert_int_equal(table_wanted("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,"
                                  "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"), 1);
    /* Other `as=` kinds, groups or versions are not Tables we serve; plain JSON wins. */
    assert_int_equal(table_wanted("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,"
                                  "application/json"), 0);
    assert_int_equal(table_wanted("application/json;as=Table;v=v1;g=example.com,application/json"), 0);
    assert_int_equal(table_wanted("application/json;as=Table;v=v2;g=meta.k8s.io,application/json"), 0);
    assert_int_equal(table_wanted("application/json;as=Table;g=meta.k8s.io"), 0);
    assert_int_equal(table_wanted("application/yaml;as=Table;v=v1;g=meta.k8s.io"), 0);
    /* The first acceptable range wins, unless q says otherwise. */
    assert_int_equal(table_wanted("application/json,application/json;as=Table;v=v1;g=meta.k8s.io"), 0);
    assert_int_equal(table_wanted("application/json;q=0.5,"
                                  "application/json;as=Table;v=v1;g=meta.k8s.io;q=0.9"), 1);
    assert_int_equal(table_wanted("application/json;as=Table;v=v1;g=meta.k8s.io;q=0,"
                                  "application/json"), 0);
}

static void test_include_parse(void **state)
{
    table_include inc = TABLE_INCLUDE_NONE;
    assert_int_equal(table_include_parse(NULL, &inc), 0);
    assert_int_equal(inc, TABLE_INCLUDE_METADATA);
    inc = TABLE_INCLUDE_NONE;
    assert_int_equal(table_include_parse("", &inc), 0);
    assert_int_equal(inc, TABLE_INCLUDE_METADATA);
    assert_int_equal(table_include_parse("Object", &inc), 0);
    assert_int_equal(inc, TABLE_INCLUDE_OBJECT);
    assert_int_equal(table_include_parse("None", &inc), 0);
    assert_int_equal(inc, TABLE_INCLUDE_NONE);
    assert_int_equal(table_include_parse("Metadata", &inc), 0);
    assert_int_equal(inc, TABLE_INCLUDE_METADATA);
    assert_int_equal(table_include_parse("object", &inc), -1);
    assert_int_equal(table_include_parse("All", &inc), -1);
}

/* ---- HumanDuration: the cases of apimachinery's duration_test.go ---- */

#define S 1000LL
#define M (60 * S)
#define H (60 * M)
#define D (24 * H)
#define Y (365 * D)

static void test_human_duration(void **state)
{
    static const struct { long long ms; const char *want; } cases[] = {
        /* TestHumanDuration */
        {S, "1s"}, {70 * S, "70s"}, {190 * S, "3m10s"}, {70 * M, "70m"}, {47 * H, "47h"},
        {49 * H, "2d1h"}, {(8 * 24 + 2) * H, "8d"}, {367 * D, "367d"},
        {(365 * 2 * 24 + 25) * H, "2y1d"}, {(365 * 8 * 24 + 2) * H, "8y"},
        /* TestHumanDurationBoundaries (1ns below -2s is -1999ms here) */
        {-2 * S, "<invalid>"}, {-2 * S + 1, "0s"}, {0, "0s"}, {S - 1, "0s"},
        {2 * M - 1, "119s"}, {2 * M, "2m"}, {2 * M + S, "2m1s"}, {10 * M - 1, "9m59s"},
        {10 * M, "10m"}, {10 * M + S, "10m"}, {3 * H - 1, "179m"}, {3 * H, "3h"},
        {3 * H + M, "3h1m"}, {8 * H - 1, "7h59m"}, {8 * H, "8h"}, {8 * H + 59 * M, "8h"},
        {2 * D - 1, "47h"}, {2 * D, "2d"}, {2 * D + H, "2d1h"}, {8 * D - 1, "7d23h"},
        {8 * D, "8d"}, {8 * D + 23 * H, "8d"}, {2 * Y - 1, "729d"}, {2 * Y, "2y"},
        {2 * Y + 23 * H, "2y"}, {2 * Y + 23 * H + 59 * M, "2y"}, {2 * Y + D - 1, "2y"},
        {2 * Y + D, "2y1d"}, {3 * Y, "3y"}, {4 * Y, "4y"}, {5 * Y, "5y"}, {6 * Y, "6y"},
        {7 * Y, "7y"}, {8 * Y - 1, "7y364d"}, {8 * Y, "8y"}, {8 * Y + 364 * D, "8y"},
        {9 * Y, "9y"},
        /* And the spec's examples. */
        {25 * S, "25s"}, {5 * M, "5m"}, {3 * H + 5 * M, "3h5m"}, {2 * M + 3 * S, "2m3s"},
    };
    char buf[TABLE_DURATION_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        table_human_duration(cases[i].ms, buf, sizeof buf);
        if (strcmp(buf, cases[i].want))
            fail_msg("HumanDuration(%lldms) = %s, want %s", cases[i].ms, buf, cases[i].want);
    }
    /* A short buffer is never overrun. */
    char tiny[3];
    assert_string_equal(table_human_duration(3 * H + M, tiny, sizeof tiny), "3h");
}

/* ---- columns ---- */

/* The column names (JSON array text) and priorities of plural. */
static void columns_are(const char *plural, const char *names, const char *priorities)
{
    json_t *cols = table_columns(plural);
    json_t *want_names = load(names), *want_prio = load(priorities);
    assert_non_null(cols);
    assert_int_equal(json_array_size(cols), json_array_size(want_names));
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c) {
        assert_string_equal(json_string_value(json_object_get(c, "name")),
                            json_string_value(json_array_get(want_names, i)));
        assert_int_equal(json_integer_value(json_object_get(c, "priority")),
                         json_integer_value(json_array_get(want_prio, i)));
        /* Every definition carries all five fields, as the Go struct has no omitempty. */
        assert_true(json_is_string(json_object_get(c, "type")));
        assert_true(json_is_string(json_object_get(c, "format")));
        const char *desc = json_string_value(json_object_get(c, "description"));
        assert_non_null(desc);
        assert_true(strlen(desc) > 10);
    }
    json_decref(cols);
    json_decref(want_names);
    json_decref(want_prio);
}

static const char *col_field(const json_t *cols, size_t i, const char *field)
{
    return json_string_value(json_object_get(json_array_get(cols, i), field));
}

static void test_columns(void **state)
{
    /* the training-operator CRD's printer columns, and no more (-o wide shows the same) */
    columns_are("pytorchjobs", "[\"Name\",\"State\",\"Age\"]", "[0,0,0]");
    columns_are("namespaces", "[\"Name\",\"Status\",\"Age\"]", "[0,0,0]");
    columns_are("pods", "[\"Name\",\"Ready\",\"Status\",\"Restarts\",\"Age\",\"IP\",\"Node\","
                "\"Nominated Node\",\"Readiness Gates\"]", "[0,0,0,0,0,1,1,1,1]");
    columns_are("services", "[\"Name\",\"Type\",\"Cluster-IP\",\"External-IP\",\"Port(s)\",\"Age\","
                "\"Selector\"]", "[0,0,0,0,0,0,1]");
    columns_are("events", "[\"Last Seen\",\"Type\",\"Reason\",\"Object\",\"Subobject\",\"Source\","
                "\"Message\",\"First Seen\",\"Count\",\"Name\"]", "[0,0,0,0,1,1,0,1,1,1]");
    columns_are("widgets", "[\"Name\",\"Age\"]", "[0,0]");
    columns_are(NULL, "[\"Name\",\"Age\"]", "[0,0]");

    json_t *cols = table_columns("pytorchjobs");
    assert_string_equal(col_field(cols, 0, "format"), "name");
    assert_string_equal(col_field(cols, 0, "type"), "string");
    assert_string_equal(col_field(cols, 1, "format"), "");
    assert_string_equal(col_field(cols, 1, "description"),
                        "Custom resource definition column (in JSONPath format): "
                        ".status.conditions[-1:].type");
    assert_string_equal(col_field(cols, 2, "type"), "date");
    json_decref(cols);
    cols = table_columns("pods");
    assert_string_equal(col_field(cols, 0, "format"), "name");
    assert_string_equal(col_field(cols, 3, "type"), "string");  /* "3 (5s ago)" */
    assert_string_equal(col_field(cols, 4, "type"), "string");
    json_decref(cols);
}

/* ---- rows ---- */

#define PJ_META "\"metadata\":{\"name\":\"demo\",\"namespace\":\"default\"," \
                "\"creationTimestamp\":\"2023-11-14T22:12:55Z\"}"

static void test_pytorchjob_rows(void **state)
{
    cells_are("pytorchjobs",
              "{\"apiVersion\":\"kubeflow.org/v1\",\"kind\":\"PyTorchJob\"," PJ_META ","
              "\"spec\":{\"pytorchReplicaSpecs\":{\"Master\":{\"replicas\":1},\"Worker\":{\"replicas\":3}}},"
              "\"status\":{\"conditions\":[{\"type\":\"Created\",\"status\":\"True\"},"
              "{\"type\":\"Running\",\"status\":\"True\"}],"
              "\"replicaStatuses\":{\"Master\":{\"active\":1},\"Worker\":{\"active\":2,\"succeeded\":1}}}}",
              "[\"demo\",\"Running\",\"25s\"]");
    /* No status: State is null (the CRD convertor's missing cell). */
    cells_are("pytorchjobs",
              "{" PJ_META ",\"spec\":{\"pytorchReplicaSpecs\":{\"Master\":{},\"Worker\":{\"replicas\":2}}}}",
              "[\"demo\",null,\"25s\"]");
    cells_are("pytorchjobs", "{" PJ_META ",\"status\":{\"conditions\":[]}}",
              "[\"demo\",null,\"25s\"]");
    cells_are("pytorchjobs",
              "{" PJ_META ",\"status\":{\"conditions\":[{\"type\":\"Created\"},{\"type\":\"Running\"},"
              "{\"type\":\"Failed\",\"reason\":\"x\"}],\"replicaStatuses\":{\"Worker\":{\"failed\":1}}}}",
              "[\"demo\",\"Failed\",\"25s\"]");
    /* Ages in other units; a missing or broken creationTimestamp gives null. */
    cells_are("pytorchjobs",
              "{\"metadata\":{\"name\":\"old\",\"creationTimestamp\":\"2023-11-14T19:08:20Z\"}}",
              "[\"old\",null,\"3h5m\"]");
    cells_are("pytorchjobs", "{\"metadata\":{\"name\":\"x\"}}", "[\"x\",null,null]");
    cells_are("pytorchjobs", "{\"metadata\":{\"name\":\"x\",\"creationTimestamp\":\"yesterday\"}}",
              "[\"x\",null,null]");
}

static void test_time_formats(void **state)
{
    static const struct { const char *ts, *age; } cases[] = {
        {"2023-11-14T22:08:20Z", "5m"},
        {"2023-11-14T22:11:17Z", "2m3s"},
        {"2023-11-15T00:12:55+02:00", "25s"},        /* an offset */
        {"2023-11-14T21:12:55-01:00", "25s"},
        {"2023-11-14T22:12:55.999999Z", "24s"},      /* MicroTime: 24.000001s */
        {"2023-11-14T22:12:55.5Z", "24s"},
        {"2023-11-14t22:12:55z", "25s"},
        {"2023-11-14T22:13:21Z", "0s"},              /* the clock skew allowance */
        {"2023-11-14T22:13:30Z", "<invalid>"},
        {"2021-11-13T22:13:20Z", "2y1d"},
        {"1970-01-01T00:00:00Z", "53y"},
        {"0001-01-01T00:00:00Z", "<unknown>"},       /* Go's zero time */
        {"2023-11-14 22:12:55Z", "<unknown>"},
        {"2023-11-14T22:12:55", "<unknown>"},
        {"2023-11-14T22:12:55Zjunk", "<unknown>"},
        {"2023-13-14T22:12:55Z", "<unknown>"},
        {"2023-11-14T22:12:55.Z", "<unknown>"},
        {"", "<unknown>"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *ns = json_pack("{s:{s:s,s:s},s:{s:s}}", "metadata", "name", "n",
                               "creationTimestamp", cases[i].ts, "status", "phase", "Active");
        json_t *row = table_row("namespaces", ns, TABLE_INCLUDE_NONE, NOW);
        assert_non_null(row);
        const char *age = json_string_value(json_array_get(json_object_get(row, "cells"), 2));
        if (!age || strcmp(age, cases[i].age))
            fail_msg("age of %s = %s, want %s", cases[i].ts, age ? age : "(null)", cases[i].age);
        json_decref(row);
        json_decref(ns);
    }
}

static void test_namespace_rows(void **state)
{
    cells_are("namespaces",
              "{\"metadata\":{\"name\":\"default\",\"creationTimestamp\":\"2023-11-12T22:13:20Z\"},"
              "\"status\":{\"phase\":\"Active\"}}",
              "[\"default\",\"Active\",\"2d\"]");
    cells_are("namespaces",
              "{\"metadata\":{\"name\":\"gone\",\"creationTimestamp\":\"2023-11-14T22:08:20Z\","
              "\"deletionTimestamp\":\"2023-11-14T22:13:00Z\"},\"status\":{\"phase\":\"Terminating\"}}",
              "[\"gone\",\"Terminating\",\"5m\"]");
    /* Core kinds say "<unknown>" for a missing time. */
    cells_are("namespaces", "{\"metadata\":{\"name\":\"bare\"}}", "[\"bare\",\"\",\"<unknown>\"]");
}

#define POD_META(extra) "\"metadata\":{\"name\":\"demo-master-0\",\"namespace\":\"default\"," \
                        "\"creationTimestamp\":\"2023-11-14T22:12:54Z\"" extra "}"
#define POD_SPEC "\"spec\":{\"nodeName\":\"node-1\",\"containers\":[{\"name\":\"pytorch\"}]}"

static void test_pod_rows(void **state)
{
    /* Running and ready: the probe's cells, with Restarts as kube's string. */
    cells_are("pods",
              "{" POD_META("") "," POD_SPEC ",\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.5\","
              "\"podIPs\":[{\"ip\":\"10.0.0.5\"}],\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
              "\"containerStatuses\":[{\"name\":\"pytorch\",\"ready\":true,\"restartCount\":0,"
              "\"state\":{\"running\":{\"startedAt\":\"2023-11-14T22:12:56Z\"}}}]}}",
              "[\"demo-master-0\",\"1/1\",\"Running\",\"0\",\"26s\",\"10.0.0.5\",\"node-1\","
              "\"<none>\",\"<none>\"]");
    /* Completed: the terminated container's reason. */
    cells_are("pods",
              "{" POD_META("") "," POD_SPEC ",\"status\":{\"phase\":\"Succeeded\",\"podIP\":\"10.0.0.5\","
              "\"containerStatuses\":[{\"name\":\"pytorch\",\"ready\":false,\"restartCount\":0,"
              "\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\","
              "\"finishedAt\":\"2023-11-14T22:13:10Z\"}}}]}}",
              "[\"demo-master-0\",\"0/1\",\"Completed\",\"0\",\"26s\",\"10.0.0.5\",\"node-1\","
              "\"<none>\",\"<none>\"]");
    /* Error, and a terminated container without a reason. */
    cells_are("pods",
              "{" POD_META("") "," POD_SPEC ",\"status\":{\"phase\":\"Failed\",\"containerStatuses\":"
              "[{\"name\":\"pytorch\",\"state\":{\"terminated\":{\"exitCode\":1,\"reason\":\"Error\"}}}]}}",
              "[\"demo-master-0\",\"0/1\",\"Error\",\"0\",\"26s\",\"<none>\",\"node-1\",\"<none>\","
              "\"<none>\"]");
    cells_are("pods",
              "{" POD_META("") "," POD_SPEC ",\"status\":{\"phase\":\"Failed\",\"containerStatuses\":"
              "[{\"name\":\"pytorch\",\"state\":{\"terminated\":{\"exitCode\":137}}}]}}",
              "[\"demo-master-0\",\"0/1\",\"ExitCode:137\",\"0\",\"26s\",\"<none>\",\"node-1\","
              "\"<none>\",\"<none>\"]");
    cells_are("pods",
              "{" POD_META("") "," POD_SPEC ",\"status\":{\"phase\":\"Failed\",\"containerStatuses\":"
              "[{\"name\":\"pytorch\",\"state\":{\"terminated\":{\"exitCode\":0,\"signal\":9}}}]}}",
              "[\"demo-master-0\",\"0/1\",\"Signal:9\",\"0\",\"26s\",\"<none>\",\"node-1\","
              "\"<none>\",\"<none>\"]");
    /* CrashLoopBackOff after 3 restarts, the last one 5s ago. */
    cells_are("pods",
              "{" POD_META("") "," POD_SPEC ",\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.6\","
              "\"containerStatuses\":[{\"name\":\"pytorch\",\"ready\":false,\"restartCount\":3,"
              "\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\",\"message\":\"back-off\"}},"
              "\"lastState\":{\"terminated\":{\"exitCode\":1,\"reason\":\"Error\","
              "\"finishedAt\":\"2023-11-14T22:13:15Z\"}}}]}}",
              "[\"demo-master-0\",\"0/1\",\"CrashLoopBackOff\",\"3 (5s ago)\",\"26s\",\"10.0.0.6\","
              "\"node-1\",\"<none>\",\"<none>\"]");
    /* Restarts without a known last termination: the bare count. */
    cells_are("pods",
              "{" POD_META("") "," POD_SPEC ",\"status\":{\"phase\":\"Running\",\"containerStatuses\":"
              "[{\"name\":\"pytorch\",\"ready\":true,\"restartCount\":2,\"state\":{\"running\":{}}}]}}",
              "[\"demo-master-0\",\"1/1\",\"Running\",\"2\",\"26s\",\"<none>\",\"node-1\",\"<none>\","
              "\"<none>\"]");
    /* Terminating: a deletionTimestamp on a pod that has not finished; restarts are kept. */
    cells_are("pods",
              "{" POD_META(",\"deletionTimestamp\":\"2023-11-14T22:13:50Z\"") "," POD_SPEC ","
              "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"pytorch\","
              "\"ready\":true,\"restartCount\":1,\"state\":{\"running\":{}},\"lastState\":"
              "{\"terminated\":{\"exitCode\":1,\"finishedAt\":\"2023-11-14T21:13:20Z\"}}}]}}",
              "[\"demo-master-0\",\"1/1\",\"Terminating\",\"1 (60m ago)\",\"26s\",\"<none>\","
              "\"node-1\",\"<none>\",\"<none>\"]");
    /* ... but a finished pod keeps its reason while being deleted. */
    cells_are("pods",
              "{" POD_META(",\"deletionTimestamp\":\"2023-11-14T22:13:50Z\"") "," POD_SPEC ","
              "\"status\":{\"phase\":\"Succeeded\",\"containerStatuses\":[{\"name\":\"pytorch\","
              "\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}]}}",
              "[\"demo-master-0\",\"0/1\",\"Completed\",\"0\",\"26s\",\"<none>\",\"node-1\","
              "\"<none>\",\"<none>\"]");
    /* Pending, nothing reported yet; no node. */
    cells_are("pods",
              "{" POD_META("") ",\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},"
              "\"status\":{\"phase\":\"Pending\"}}",
              "[\"demo-master-0\",\"0/2\",\"Pending\",\"0\",\"26s\",\"<none>\",\"<none>\",\"<none>\","
              "\"<none>\"]");
    /* status.reason overrides the phase (e.g. Evicted). */
    cells_are("pods",
              "{" POD_META("") "," POD_SPEC ",\"status\":{\"phase\":\"Failed\",\"reason\":\"Evicted\"}}",
              "[\"demo-master-0\",\"0/1\",\"Evicted\",\"0\",\"26s\",\"<none>\",\"node-1\",\"<none>\","
              "\"<none>\"]");
    /* Two containers, one completed and one still running: Running again (pod Ready). */
    cells_are("pods",
              "{" POD_META("") ",\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},"
              "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
              "\"containerStatuses\":[{\"name\":\"a\",\"state\":{\"terminated\":{\"exitCode\":0,"
              "\"reason\":\"Completed\"}}},{\"name\":\"b\",\"ready\":true,\"state\":{\"running\":{}}}]}}",
              "[\"demo-master-0\",\"1/2\",\"Running\",\"0\",\"26s\",\"<none>\",\"<none>\",\"<none>\","
              "\"<none>\"]");
    /* An init container still running: Init:0/1; a failed one: Init:Error. */
    cells_are("pods",
              "{" POD_META("") ",\"spec\":{\"initContainers\":[{\"name\":\"init\"}],"
              "\"containers\":[{\"name\":\"pytorch\"}]},\"status\":{\"phase\":\"Pending\","
              "\"initContainerStatuses\":[{\"name\":\"init\",\"restartCount\":0,\"state\":{\"running\":{}}}],"
              "\"containerStatuses\":[{\"name\":\"pytorch\",\"state\":{\"waiting\":"
              "{\"reason\":\"PodInitializing\"}}}]}}",
              "[\"demo-master-0\",\"0/1\",\"Init:0/1\",\"0\",\"26s\",\"<none>\",\"<none>\",\"<none>\","
              "\"<none>\"]");
    cells_are("pods",
              "{" POD_META("") ",\"spec\":{\"initContainers\":[{\"name\":\"init\"}],"
              "\"containers\":[{\"name\":\"pytorch\"}]},\"status\":{\"phase\":\"Pending\","
              "\"initContainerStatuses\":[{\"name\":\"init\",\"restartCount\":2,\"state\":"
              "{\"terminated\":{\"exitCode\":1,\"reason\":\"Error\"}},\"lastState\":{\"terminated\":"
              "{\"exitCode\":1,\"finishedAt\":\"2023-11-14T22:13:10Z\"}}}]}}",
              "[\"demo-master-0\",\"0/1\",\"Init:Error\",\"2 (10s ago)\",\"26s\",\"<none>\","
              "\"<none>\",\"<none>\",\"<none>\"]");
    /* A started sidecar (restartPolicy Always) counts as a container. */
    cells_are("pods",
              "{" POD_META("") ",\"spec\":{\"initContainers\":[{\"name\":\"side\",\"restartPolicy\":\"Always\"}],"
              "\"containers\":[{\"name\":\"pytorch\"}]},\"status\":{\"phase\":\"Running\","
              "\"initContainerStatuses\":[{\"name\":\"side\",\"started\":true,\"ready\":true,"
              "\"state\":{\"running\":{}}}],\"containerStatuses\":[{\"name\":\"pytorch\",\"ready\":true,"
              "\"state\":{\"running\":{}}}]}}",
              "[\"demo-master-0\",\"2/2\",\"Running\",\"0\",\"26s\",\"<none>\",\"<none>\",\"<none>\","
              "\"<none>\"]");
    /* Readiness gates and a nominated node. */
    cells_are("pods",
              "{" POD_META("") ",\"spec\":{\"containers\":[{\"name\":\"c\"}],\"readinessGates\":"
              "[{\"conditionType\":\"example.com/a\"},{\"conditionType\":\"example.com/b\"}]},"
              "\"status\":{\"phase\":\"Pending\",\"nominatedNodeName\":\"node-2\",\"conditions\":"
              "[{\"type\":\"example.com/a\",\"status\":\"True\"},{\"type\":\"example.com/b\","
              "\"status\":\"False\"}]}}",
              "[\"demo-master-0\",\"0/1\",\"Pending\",\"0\",\"26s\",\"<none>\",\"<none>\",\"node-2\","
              "\"1/2\"]");
}

static void test_pod_row_conditions(void **state)
{
    json_t *row = row_of("pods", "{" POD_META("") "," POD_SPEC ",\"status\":{\"phase\":\"Succeeded\"}}",
                         TABLE_INCLUDE_NONE);
    json_t *want = load("[{\"type\":\"Completed\",\"status\":\"True\",\"reason\":\"Succeeded\","
                        "\"message\":\"The pod has completed successfully.\"}]");
    assert_true(json_equal(json_object_get(row, "conditions"), want));
    json_decref(want);
    json_decref(row);
    row = row_of("pods", "{" POD_META("") "," POD_SPEC ",\"status\":{\"phase\":\"Failed\"}}",
                 TABLE_INCLUDE_NONE);
    assert_string_equal(json_string_value(json_object_get(json_array_get(
                            json_object_get(row, "conditions"), 0), "reason")), "Failed");
    json_decref(row);
    row = row_of("pods", "{" POD_META("") "," POD_SPEC ",\"status\":{\"phase\":\"Running\"}}",
                 TABLE_INCLUDE_NONE);
    assert_null(json_object_get(row, "conditions"));
    json_decref(row);
}

#define SVC_META "\"metadata\":{\"name\":\"demo-master-0\",\"namespace\":\"default\"," \
                 "\"creationTimestamp\":\"2023-11-14T22:12:54Z\"}"

static void test_service_rows(void **state)
{
    cells_are("services",
              "{" SVC_META ",\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"10.96.0.12\","
              "\"clusterIPs\":[\"10.96.0.12\"],\"ports\":[{\"name\":\"pytorchjob-port\",\"port\":23456,"
              "\"protocol\":\"TCP\",\"targetPort\":23456}],\"selector\":{"
              "\"training.kubeflow.org/replica-type\":\"master\",\"training.kubeflow.org/job-name\":\"demo\","
              "\"training.kubeflow.org/replica-index\":\"0\"}}}",
              "[\"demo-master-0\",\"ClusterIP\",\"10.96.0.12\",\"<none>\",\"23456/TCP\",\"26s\","
              "\"training.kubeflow.org/job-name=demo,training.kubeflow.org/replica-index=0,"
              "training.kubeflow.org/replica-type=master\"]");
    /* Headless, no type, no ports, no selector; clusterIP only (no clusterIPs); default TCP. */
    cells_are("services",
              "{" SVC_META ",\"spec\":{\"clusterIP\":\"None\"}}",
              "[\"demo-master-0\",\"ClusterIP\",\"None\",\"<none>\",\"<none>\",\"26s\",\"<none>\"]");
    cells_are("services",
              "{" SVC_META ",\"spec\":{\"ports\":[{\"port\":80},{\"port\":53,\"protocol\":\"UDP\"}],"
              "\"externalIPs\":[\"1.2.3.4\",\"5.6.7.8\"]}}",
              "[\"demo-master-0\",\"ClusterIP\",\"<none>\",\"1.2.3.4,5.6.7.8\",\"80/TCP,53/UDP\","
              "\"26s\",\"<none>\"]");
    cells_are("services",
              "{" SVC_META ",\"spec\":{\"type\":\"NodePort\",\"clusterIPs\":[\"10.96.0.3\"],"
              "\"ports\":[{\"port\":80,\"nodePort\":30080,\"protocol\":\"TCP\"}],\"selector\":{\"app\":\"x\"}}}",
              "[\"demo-master-0\",\"NodePort\",\"10.96.0.3\",\"<none>\",\"80:30080/TCP\",\"26s\","
              "\"app=x\"]");
    cells_are("services",
              "{" SVC_META ",\"spec\":{\"type\":\"LoadBalancer\",\"clusterIPs\":[\"10.96.0.4\"]}}",
              "[\"demo-master-0\",\"LoadBalancer\",\"10.96.0.4\",\"<pending>\",\"<none>\",\"26s\","
              "\"<none>\"]");
    cells_are("services",
              "{" SVC_META ",\"spec\":{\"type\":\"LoadBalancer\",\"externalIPs\":[\"9.9.9.9\"]},"
              "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"5.5.5.5\"},{\"hostname\":\"lb.example\"},"
              "{\"ip\":\"5.5.5.5\"}]}}}",
              "[\"demo-master-0\",\"LoadBalancer\",\"<none>\",\"5.5.5.5,lb.example,9.9.9.9\",\"<none>\","
              "\"26s\",\"<none>\"]");
    cells_are("services",
              "{" SVC_META ",\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"db.example.com\"}}",
              "[\"demo-master-0\",\"ExternalName\",\"<none>\",\"db.example.com\",\"<none>\",\"26s\","
              "\"<none>\"]");
}

static void test_event_rows(void **state)
{
    cells_are("events",
              "{\"metadata\":{\"name\":\"demo.17a3f\",\"namespace\":\"default\"},"
              "\"involvedObject\":{\"apiVersion\":\"kubeflow.org/v1\",\"kind\":\"PyTorchJob\","
              "\"name\":\"demo\",\"namespace\":\"default\",\"uid\":\"u1\"},"
              "\"reason\":\"PyTorchJobRunning\",\"message\":\"  PyTorchJob demo is running.\\n\","
              "\"type\":\"Normal\",\"source\":{\"component\":\"pytorchjob-controller\"},\"count\":2,"
              "\"firstTimestamp\":\"2023-11-14T22:08:20Z\",\"lastTimestamp\":\"2023-11-14T22:12:55Z\"}",
              "[\"25s\",\"Normal\",\"PyTorchJobRunning\",\"pytorchjob/demo\",\"\","
              "\"pytorchjob-controller\",\"PyTorchJob demo is running.\",\"5m\",2,\"demo.17a3f\"]");
    /* A pod's container: fieldPath, source host; no count means 1. */
    cells_are("events",
              "{\"metadata\":{\"name\":\"p.1\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"demo-master-0\","
              "\"fieldPath\":\"spec.containers{pytorch}\"},\"reason\":\"Started\",\"message\":\"Started\","
              "\"type\":\"Normal\",\"source\":{\"component\":\"kubelet\",\"host\":\"node-1\"},"
              "\"firstTimestamp\":\"2023-11-14T22:13:00Z\",\"lastTimestamp\":\"2023-11-14T22:13:00Z\"}",
              "[\"20s\",\"Normal\",\"Started\",\"pod/demo-master-0\",\"spec.containers{pytorch}\","
              "\"kubelet, node-1\",\"Started\",\"20s\",1,\"p.1\"]");
    /* New-API style: eventTime only, reportingComponent/Instance, a series. */
    cells_are("events",
              "{\"metadata\":{\"name\":\"e\"},\"involvedObject\":{\"kind\":\"Namespace\"},"
              "\"reason\":\"R\",\"type\":\"Warning\",\"eventTime\":\"2023-11-14T22:03:20.000000Z\","
              "\"reportingComponent\":\"torchjobd\",\"reportingInstance\":\"host-a\","
              "\"series\":{\"count\":7,\"lastObservedTime\":\"2023-11-14T22:13:10.500000Z\"}}",
              "[\"9s\",\"Warning\",\"R\",\"namespace\",\"\",\"torchjobd, host-a\",\"\",\"10m\",7,\"e\"]");
    /* lastTimestamp missing → First Seen; nothing at all → <unknown>. */
    cells_are("events",
              "{\"metadata\":{\"name\":\"e\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"p\"},"
              "\"firstTimestamp\":\"2023-11-14T22:10:20Z\",\"lastTimestamp\":null,\"count\":0}",
              "[\"3m\",\"\",\"\",\"pod/p\",\"\",\"\",\"\",\"3m\",1,\"e\"]");
    cells_are("events", "{\"metadata\":{\"name\":\"e\"}}",
              "[\"<unknown>\",\"\",\"\",\"\",\"\",\"\",\"\",\"<unknown>\",1,\"e\"]");
}

static void test_default_rows(void **state)
{
    cells_are("widgets", "{\"metadata\":{\"name\":\"w\",\"creationTimestamp\":\"2023-11-14T22:08:20Z\"}}",
              "[\"w\",\"5m\"]");
    cells_are(NULL, "{\"metadata\":{\"name\":\"w\"}}", "[\"w\",null]");
    /* Not an object: no row. */
    json_t *arr = json_array();
    assert_null(table_row("pods", arr, TABLE_INCLUDE_METADATA, NOW));
    assert_null(table_row("pods", NULL, TABLE_INCLUDE_METADATA, NOW));
    json_decref(arr);
    /* An object of the wrong shape still renders, with blanks. */
    cells_are("pods", "{\"metadata\":[],\"spec\":\"x\",\"status\":7}",
              "[\"\",\"0/0\",\"\",\"0\",\"<unknown>\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
}

/* ---- rows[].object ---- */

#define FULL_PJ "{\"apiVersion\":\"kubeflow.org/v1\",\"kind\":\"PyTorchJob\",\"metadata\":{" \
    "\"name\":\"demo\",\"namespace\":\"default\",\"uid\":\"u-1\",\"resourceVersion\":\"1004\","  \
    "\"generation\":2,\"creationTimestamp\":\"2023-11-14T22:12:55Z\",\"labels\":{\"app\":\"x\"},"  \
    "\"annotations\":{\"a\":\"b\"},\"finalizers\":[\"f\"],"                                       \
    "\"managedFields\":[{\"manager\":\"kubectl\",\"operation\":\"Apply\"}]},"                       \
    "\"spec\":{\"pytorchReplicaSpecs\":{}},\"status\":{\"conditions\":[{\"type\":\"Created\"}]}}"

static void test_include_object(void **state)
{
    json_t *obj = load(FULL_PJ);

    /* Metadata: PartialObjectMetadata with the whole metadata but managedFields. */
    json_t *row = table_row("pytorchjobs", obj, TABLE_INCLUDE_METADATA, NOW);
    assert_non_null(row);
    json_t *want = load("{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\","
                        "\"metadata\":{\"name\":\"demo\",\"namespace\":\"default\",\"uid\":\"u-1\","
                        "\"resourceVersion\":\"1004\",\"generation\":2,"
                        "\"creationTimestamp\":\"2023-11-14T22:12:55Z\",\"labels\":{\"app\":\"x\"},"
                        "\"annotations\":{\"a\":\"b\"},\"finalizers\":[\"f\"]}}");
    if (!json_equal(json_object_get(row, "object"), want))
        fail_msg("object %s", json_dumps(json_object_get(row, "object"), JSON_COMPACT));
    check_cells(row, "[\"demo\",\"Created\",\"25s\"]");
    json_decref(want);
    json_decref(row);
    /* The input is untouched. */
    assert_non_null(json_object_get(json_object_get(obj, "metadata"), "managedFields"));

    /* Object: a copy of the whole object. */
    row = table_row("pytorchjobs", obj, TABLE_INCLUDE_OBJECT, NOW);
    assert_true(json_equal(json_object_get(row, "object"), obj));
    assert_ptr_not_equal(json_object_get(row, "object"), obj);
    json_decref(row);

    /* None: no object key at all. */
    row = table_row("pytorchjobs", obj, TABLE_INCLUDE_NONE, NOW);
    assert_null(json_object_get(row, "object"));
    assert_int_equal(json_object_size(row), 1);
    json_decref(row);
    json_decref(obj);

    /* No metadata at all: an empty one. */
    obj = load("{\"kind\":\"X\"}");
    row = table_row("widgets", obj, TABLE_INCLUDE_METADATA, NOW);
    assert_int_equal(json_object_size(json_object_get(json_object_get(row, "object"), "metadata")), 0);
    json_decref(row);
    json_decref(obj);
}

/* ---- the whole Table ---- */

static void test_table_new(void **state)
{
    json_t *obj = load(FULL_PJ);
    json_t *rows = json_array();
    json_array_append_new(rows, table_row("pytorchjobs", obj, TABLE_INCLUDE_METADATA, NOW));
    json_t *t = table_new("pytorchjobs", rows, "1015", "eyJ2IjoxfQ", 1);
    assert_non_null(t);
    assert_string_equal(json_string_value(json_object_get(t, "kind")), "Table");
    assert_string_equal(json_string_value(json_object_get(t, "apiVersion")), "meta.k8s.io/v1");
    json_t *want_meta = load("{\"resourceVersion\":\"1015\",\"continue\":\"eyJ2IjoxfQ\"}");
    assert_true(json_equal(json_object_get(t, "metadata"), want_meta));
    json_decref(want_meta);
    json_t *cols = table_columns("pytorchjobs");
    assert_true(json_equal(json_object_get(t, "columnDefinitions"), cols));
    json_decref(cols);
    assert_ptr_equal(json_object_get(t, "rows"), rows);  /* stolen, not copied */
    assert_int_equal(json_array_size(rows), 1);
    /* It serialises as kubectl expects (row cells and PartialObjectMetadata). */
    char *text = json_dumps(t, JSON_COMPACT);
    assert_non_null(strstr(text, "\"cells\":[\"demo\",\"Created\",\"25s\"]"));
    assert_non_null(strstr(text, "\"kind\":\"PartialObjectMetadata\""));
    free(text);
    json_decref(t);
    json_decref(obj);

    /* A watch event after the first: no columns; no continue; NULL rows → []. */
    t = table_new("pods", NULL, "7", "", 0);
    assert_non_null(t);
    want_meta = load("{\"resourceVersion\":\"7\"}");
    assert_true(json_equal(json_object_get(t, "metadata"), want_meta));
    json_decref(want_meta);
    assert_true(json_is_array(json_object_get(t, "columnDefinitions")));
    assert_int_equal(json_array_size(json_object_get(t, "columnDefinitions")), 0);
    assert_true(json_is_array(json_object_get(t, "rows")));
    assert_int_equal(json_array_size(json_object_get(t, "rows")), 0);
    json_decref(t);

    /* No resourceVersion: an empty metadata object. */
    t = table_new("events", json_array(), NULL, NULL, 1);
    assert_int_equal(json_object_size(json_object_get(t, "metadata")), 0);
    assert_int_equal(json_array_size(json_object_get(t, "columnDefinitions")), 10);
    json_decref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wanted),
        cmocka_unit_test(test_include_parse),
        cmocka_unit_test(test_human_duration),
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_pytorchjob_rows),
        cmocka_unit_test(test_time_formats),
        cmocka_unit_test(test_namespace_rows),
        cmocka_unit_test(test_pod_rows),
        cmocka_unit_test(test_pod_row_conditions),
        cmocka_unit_test(test_service_rows),
        cmocka_unit_test(test_event_rows),
        cmocka_unit_test(test_default_rows),
        cmocka_unit_test(test_include_object),
        cmocka_unit_test(test_table_new),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
