/* table — meta.k8s.io/v1 Table answers, what `kubectl get` asks for with
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (client-compat.md §3, §9).
 *
 * Columns and cells follow the apiserver: k8s.io/kubernetes/pkg/printers/internalversion for
 * pods, services, events and namespaces, the CRD table convertor for pytorchjobs. Every column,
 * priority 1 included, is always rendered (the apiserver prints with Wide=true); kubectl hides
 * priority > 0 unless `-o wide`. Nothing here touches the store: callers pass parsed objects. */
#ifndef TJ_TABLE_H
#define TJ_TABLE_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>

/* What rows[].object carries (the includeObject query parameter). */
typedef enum table_include {
    TABLE_INCLUDE_METADATA,  /* default: PartialObjectMetadata (the object's metadata) */
    TABLE_INCLUDE_OBJECT,    /* the whole object */
    TABLE_INCLUDE_NONE,      /* no "object" key */
} table_include;

/* 1 when the Accept header prefers a Table (application/json;as=Table;g=meta.k8s.io with v=v1 or
 * v=v1beta1) over plain JSON, else 0 (also for NULL). Media ranges we cannot serve (protobuf,
 * yaml, other `as=` kinds) are skipped, never refused; the highest q wins, the first on a tie.
 * The answer is always a meta.k8s.io/v1 Table. */
int table_wanted(const char *accept);

/* includeObject: NULL or "" → METADATA; "Metadata", "Object", "None" (exact case, as upstream).
 * 0, or -1 for anything else (the caller answers 400). */
int table_include_parse(const char *s, table_include *out);

/* The columnDefinitions for a resource plural: "pytorchjobs", "namespaces", "pods", "services",
 * "events"; any other plural (or NULL) gets Name, Age. New reference. */
json_t *table_columns(const char *plural);

/* One row {"cells":[...],"object":...} (pods in phase Succeeded/Failed also carry kube's
 * "conditions") for obj, a parsed object of that plural; ages are measured from now. New
 * reference; NULL when obj is not an object or on allocation failure. obj is not modified. */
json_t *table_row(const char *plural, const json_t *obj, table_include inc, time_t now);

/* The whole Table: {"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion",
 * "continue"},"columnDefinitions":[...],"rows":[...]}. rows is stolen (NULL = no rows);
 * resource_version and cont are left out when NULL or "". with_columns = 0 gives
 * "columnDefinitions":[] (watch events after the first). New reference; NULL on allocation
 * failure (rows released all the same). */
json_t *table_new(const char *plural, json_t *rows, const char *resource_version, const char *cont,
                  int with_columns);

/* k8s.io/apimachinery/pkg/util/duration.HumanDuration of ms milliseconds: "25s", "3m10s", "70m",
 * "3h1m", "2d1h", "367d", "2y1d", "<invalid>" below -1s. Writes at most n bytes (NUL included;
 * TABLE_DURATION_MAX always suffices) and returns buf. */
#define TABLE_DURATION_MAX 32
char *table_human_duration(int64_t ms, char *buf, size_t n);
#endif
