/* hpa — see hpa.h. pkg/apis/autoscaling/v2/defaults.go and pkg/apis/autoscaling/validation of
 * kube 1.32 (HPAScaleToZero off: minReplicas ≥ 1). Behaviour (spec.behavior) is stored as sent:
 * its defaults and rules are not applied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hpa.h"
#include "quantity.h"

#define DEFAULT_CPU_UTILIZATION 80

void hpa_defaults(json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec))
        return;
    if (!json_object_get(spec, "minReplicas") || json_is_null(json_object_get(spec, "minReplicas")))
        json_object_set_new(spec, "minReplicas", json_integer(1));
    if (json_array_size(json_object_get(spec, "metrics")) == 0)
        json_object_set_new(spec, "metrics",
                            json_pack("[{s:s,s:{s:s,s:{s:s,s:i}}}]", "type", "Resource", "resource", "name", "cpu",
                                      "target", "type", "Utilization", "averageUtilization",
                                      DEFAULT_CPU_UTILIZATION));
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* apimachinery's IsValidPathSegmentName */
static void path_segment(fielderrs *l, const char *field, const char *v)
{
    char *q = fe_str(v);
    if (!strcmp(v, ".") || !strcmp(v, ".."))
        fe_add(l, FE_INVALID, field, q, "may not be '%s'", v);
    else {
        if (strchr(v, '/'))
            fe_add(l, FE_INVALID, field, q, "may not contain '/'");
        if (strchr(v, '%'))
            fe_add(l, FE_INVALID, field, q, "may not contain '%%'");
    }
    free(q);
}

static void cross_ref(fielderrs *l, const json_t *ref)
{
    const char *kind = jstr(ref, "kind"), *name = jstr(ref, "name");
    if (!kind || !*kind)
        fe_add(l, FE_REQUIRED, "spec.scaleTargetRef.kind", NULL, NULL);
    else
        path_segment(l, "spec.scaleTargetRef.kind", kind);
    if (!name || !*name)
        fe_add(l, FE_REQUIRED, "spec.scaleTargetRef.name", NULL, NULL);
    else
        path_segment(l, "spec.scaleTargetRef.name", name);
}

/* A quantity's sign: 1, 0 or -1; 2 when it does not parse (decoding would have refused it). */
static int qsign(const json_t *q)
{
    long double v;
    if (quantity_json(q, &v) < 0)
        return 2;
    return v > 0 ? 1 : v < 0 ? -1 : 0;
}

static void metric_target(fielderrs *l, const char *path, const json_t *t)
{
    char f[160];
    const char *type = jstr(t, "type");
    if (!type || !*type) {
        snprintf(f, sizeof f, "%.120s.type", path);
        fe_add(l, FE_REQUIRED, f, NULL, "must specify a metric target type");
    }
    if (!type || (strcmp(type, "Utilization") && strcmp(type, "Value") && strcmp(type, "AverageValue"))) {
        snprintf(f, sizeof f, "%.120s.type", path);
        char *q = fe_str(type ? type : "");
        fe_add(l, FE_INVALID, f, q, "must be either Utilization, Value, or AverageValue");
        free(q);
    }
    static const char *const qs[] = {"value", "averageValue"};
    for (size_t i = 0; i < 2; i++) {
        const json_t *q = json_object_get(t, qs[i]);
        if (q && !json_is_null(q) && qsign(q) != 1) {
            snprintf(f, sizeof f, "%.120s.%s", path, qs[i]);
            char *v = fe_json(q);
            fe_add(l, FE_INVALID, f, v, "must be positive");
            free(v);
        }
    }
    const json_t *u = json_object_get(t, "averageUtilization");
    if (json_is_integer(u) && json_integer_value(u) < 1) {
        snprintf(f, sizeof f, "%.120s.averageUtilization", path);
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)json_integer_value(u));
        fe_add(l, FE_INVALID, f, v, "must be greater than 0");
    }
}

/* validateResourceSource / validateContainerResourceSource */
static void resource_source(fielderrs *l, const char *path, const json_t *src, int container)
{
    char f[160];
    const char *name = jstr(src, "name");
    if (!name || !*name) {
        snprintf(f, sizeof f, "%.120s.name", path);
        fe_add(l, FE_REQUIRED, f, NULL, "must specify a resource name");
    }
    if (container && (!jstr(src, "container") || !*jstr(src, "container"))) {
        snprintf(f, sizeof f, "%.120s.container", path);
        fe_add(l, FE_REQUIRED, f, NULL, "must specify a container");
    }
    const json_t *t = json_object_get(src, "target");
    snprintf(f, sizeof f, "%.120s.target", path);
    metric_target(l, f, t);
    const json_t *u = json_object_get(t, "averageUtilization"), *av = json_object_get(t, "averageValue");
    int has_u = u && !json_is_null(u), has_av = av && !json_is_null(av);
    if (!has_u && !has_av) {
        snprintf(f, sizeof f, "%.120s.target.averageUtilization", path);
        fe_add(l, FE_REQUIRED, f, NULL, "must set either a target raw value or a target utilization");
    }
    if (has_u && has_av) {
        snprintf(f, sizeof f, "%.120s.target.averageValue", path);
        fe_add(l, FE_FORBIDDEN, f, NULL, "may not set both a target raw value and a target utilization");
    }
}

/* Pods, Object and External sources: a metric name and a target of the right kind. */
static void named_source(fielderrs *l, const char *path, const json_t *src, const char *need)
{
    char f[160];
    const char *name = jstr(json_object_get(src, "metric"), "name");
    if (!name || !*name) {
        snprintf(f, sizeof f, "%.120s.metric.name", path);
        fe_add(l, FE_REQUIRED, f, NULL, "must specify a metric name");
    }
    const json_t *t = json_object_get(src, "target");
    snprintf(f, sizeof f, "%.120s.target", path);
    metric_target(l, f, t);
    if (need) {
        const json_t *v = json_object_get(t, need), *alt = json_object_get(t, "value");
        int any = (v && !json_is_null(v)) || (strcmp(need, "averageValue") && alt && !json_is_null(alt));
        if (!any) {
            snprintf(f, sizeof f, "%.120s.target.%s", path, need);
            fe_add(l, FE_REQUIRED, f, NULL, "must specify a positive target %s", need);
        }
    }
}

static const struct {
    const char *type, *field;
} sources[] = {
    /* validateMetricSpec's order: the first one present is the one validated */
    {"Object", "object"}, {"External", "external"}, {"Pods", "pods"}, {"Resource", "resource"},
    {"ContainerResource", "containerResource"},
};
#define NSOURCES (sizeof sources / sizeof *sources)

/* validateMetricSpec */
static void metric_spec(fielderrs *l, size_t idx, const json_t *m)
{
    char path[64], f[160];
    snprintf(path, sizeof path, "spec.metrics[%zu]", idx);
    const char *type = jstr(m, "type");
    int known = 0;
    for (size_t i = 0; i < NSOURCES; i++)
        known |= type && !strcmp(type, sources[i].type);
    snprintf(f, sizeof f, "%.120s.type", path);
    if (!type || !*type)
        fe_add(l, FE_REQUIRED, f, NULL, "must specify a metric source type");
    char *q = fe_str(type ? type : "");
    if (!known)
        fe_add(l, FE_NOT_SUPPORTED, f, q, "supported values: \"ContainerResource\", \"External\", \"Object\", "
                                          "\"Pods\", \"Resource\"");
    /* the first source present is validated; any other is refused below */
    size_t present = 0;
    for (size_t i = 0; i < NSOURCES; i++) {
        const json_t *src = json_object_get(m, sources[i].field);
        if (!src || json_is_null(src))
            continue;
        if (++present > 1)
            continue;
        snprintf(f, sizeof f, "%.120s.%s", path, sources[i].field);
        if (!strcmp(sources[i].field, "resource") || !strcmp(sources[i].field, "containerResource"))
            resource_source(l, f, src, !strcmp(sources[i].field, "containerResource"));
        else
            named_source(l, f, src, !strcmp(sources[i].field, "pods") ? "averageValue" : NULL);
    }
    const char *expected = NULL;
    for (size_t i = 0; i < NSOURCES; i++)
        if (type && !strcmp(type, sources[i].type)) {
            expected = sources[i].field;
            const json_t *src = json_object_get(m, expected);
            if (!src || json_is_null(src)) {
                snprintf(f, sizeof f, "%.120s.%s", path, expected);
                fe_add(l, FE_REQUIRED, f, NULL, "must populate information for the given metric source");
            }
        }
    if (present != 1)
        for (size_t i = 0; i < NSOURCES; i++) {
            const json_t *src = json_object_get(m, sources[i].field);
            if (!src || json_is_null(src) || (expected && !strcmp(expected, sources[i].field)))
                continue;
            snprintf(f, sizeof f, "%.120s.%s", path, sources[i].field);
            fe_add(l, FE_FORBIDDEN, f, NULL, "must populate the given metric source only");
        }
    free(q);
}

void hpa_validate(fielderrs *l, const json_t *obj)
{
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *min = json_object_get(spec, "minReplicas"), *max = json_object_get(spec, "maxReplicas");
    char v[32];
    json_int_t maxv = json_integer_value(max);
    if (json_is_integer(min) && json_integer_value(min) < 1) {
        snprintf(v, sizeof v, "%lld", (long long)json_integer_value(min));
        fe_add(l, FE_INVALID, "spec.minReplicas", v, "must be greater than or equal to 1");
    }
    if (maxv < 1) {
        snprintf(v, sizeof v, "%lld", (long long)maxv);
        fe_add(l, FE_INVALID, "spec.maxReplicas", v, "must be greater than 0");
    }
    if (json_is_integer(min) && maxv < json_integer_value(min)) {
        snprintf(v, sizeof v, "%lld", (long long)maxv);
        fe_add(l, FE_INVALID, "spec.maxReplicas", v, "must be greater than or equal to `minReplicas`");
    }
    cross_ref(l, json_object_get(spec, "scaleTargetRef"));
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(spec, "metrics"), i, m)
        metric_spec(l, i, m);
}

json_t *hpa_for_job(const char *name, const char *ns, const char *uid, long long min_replicas,
                    long long max_replicas, const json_t *metrics)
{
    json_t *o = json_pack("{s:s,s:s,s:{s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:b,s:b}]},"
                          "s:{s:{s:s,s:s,s:s},s:I,s:I}}",
                          "apiVersion", "autoscaling/v2", "kind", "HorizontalPodAutoscaler", "metadata", "name", name,
                          "namespace", ns, "ownerReferences", "apiVersion", "kubeflow.org/v1", "kind", "PyTorchJob",
                          "name", name, "uid", uid, "controller", 1, "blockOwnerDeletion", 1, "spec",
                          "scaleTargetRef", "kind", "PyTorchJob", "name", name, "apiVersion", "kubeflow.org/v1",
                          "minReplicas", (json_int_t)min_replicas, "maxReplicas", (json_int_t)max_replicas);
    if (metrics)
        json_object_set_new(json_object_get(o, "spec"), "metrics", json_deep_copy(metrics));
    hpa_defaults(o);
    return o;
}
