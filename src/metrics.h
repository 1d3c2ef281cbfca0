/* metrics — a Prometheus registry and its text exposition (format 0.0.4), plus torchjobd's
 * metric set (tj_metrics) on top of it.
 *
 * Loop thread only: nothing here locks. Work done on another thread (the store's commit) is
 * reported when the loop finishes it (the store's batch hook, on the loop).
 *
 * A family is one metric name with fixed label names; a series is one tuple of label values
 * within it. Label values are given per observation as an array of exactly the family's label
 * count (NULL elements and a NULL array read as ""). Series are created on first use and never
 * removed; each family has a cap on distinct series (METRICS_MAX_SERIES unless set), beyond which
 * observations for new tuples are dropped and counted in
 * metrics_series_dropped_total{metric="<family>"}, rendered after every family once non-zero.
 *
 * Exposition: families in registration order, each with # HELP and # TYPE, then its series
 * sorted by label values (tuple-wise, byte order). Labels appear in declaration order. A family
 * without labels has its one series from registration, so it renders 0 before any observation.
 * Histograms render cumulative name_bucket{...,le="b"} lines ending with le="+Inf" (= _count),
 * then name_sum and name_count. Numbers print as %.15g, or with up to 17 digits where needed to
 * read back as the same double; +Inf, -Inf and NaN as Prometheus spells them.
 */
#ifndef TJ_METRICS_H
#define TJ_METRICS_H
#include <stddef.h>
#include <stdint.h>

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_MAX_LABELS   16     /* label names per family */
#define METRICS_MAX_BUCKETS  64     /* finite bucket bounds per histogram */
#define METRICS_MAX_SERIES   10000  /* default cap on distinct series per family */

typedef struct metrics metrics;
typedef struct metrics_family metrics_family;
typedef struct metrics_sink metrics_sink;

typedef enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM } metrics_type;

/* kube-apiserver's apiserver_request_duration_seconds buckets (23 bounds). */
extern const double metrics_apiserver_buckets[];
extern const size_t metrics_apiserver_nbuckets;

metrics *metrics_new(void);   /* NULL on allocation failure */
void metrics_free(metrics *r);  /* frees every family; NULL is fine */

/* Register a family. name: [a-zA-Z_:][a-zA-Z0-9_:]*; labels: NULL-terminated array of label
 * names ([a-zA-Z_][a-zA-Z0-9_]*, not starting "__", distinct, not "le" for a histogram), NULL for
 * none; help: any text (copied). Returns the family, owned by the registry, or NULL on an
 * invalid or duplicate name or allocation failure. */
metrics_family *metrics_counter(metrics *r, const char *name, const char *help,
                                const char *const *labels);
metrics_family *metrics_gauge(metrics *r, const char *name, const char *help,
                              const char *const *labels);
/* bounds: nb strictly increasing finite upper bounds (copied; a trailing +Inf is implied). */
metrics_family *metrics_histogram(metrics *r, const char *name, const char *help,
                                  const char *const *labels, const double *bounds, size_t nb);

/* A counter or gauge whose series are produced at every render by fn (NULL = none yet; see
 * metrics_family_set_collect). fn calls metrics_sink_add for each series; adds to the same
 * label values sum (so fn may add 1 per watcher). Series are not kept between renders. */
typedef void (*metrics_collect_fn)(void *arg, metrics_sink *s);
metrics_family *metrics_callback(metrics *r, metrics_type type, const char *name,
                                 const char *help, const char *const *labels,
                                 metrics_collect_fn fn, void *arg);
void metrics_family_set_collect(metrics_family *f, metrics_collect_fn fn, void *arg);
void metrics_sink_add(metrics_sink *s, const char *const *values, double v);

void metrics_family_set_max_series(metrics_family *f, size_t max);  /* >= 1; existing series stay */
uint64_t metrics_family_dropped(const metrics_family *f);  /* observations dropped by the cap */

/* Observations. A call of the wrong kind for the family is a bug (asserts; ignored in release).
 * Counters ignore negative and NaN additions. */
void metrics_inc(metrics_family *f, const char *const *values);                 /* counter, gauge */
void metrics_add(metrics_family *f, const char *const *values, double v);       /* counter, gauge */
void metrics_set(metrics_family *f, const char *const *values, double v);       /* gauge */
void metrics_observe(metrics_family *f, const char *const *values, double v);   /* histogram */

/* Current value of a counter/gauge series, or a histogram series' count; 0 if the series does
 * not exist. For tests and debugging. */
double metrics_value(const metrics_family *f, const char *const *values);

/* The whole exposition. Returns a malloc'ed NUL-terminated text the caller frees, its length in
 * *len (optional); NULL on allocation failure or past 64 MiB. Runs the callbacks. */
char *metrics_render(metrics *r, size_t *len);

/* ---- torchjobd's metric set ---------------------------------------------------------------- *
 *
 * apiserver_request_total{verb,group,version,resource,subresource,scope,component,code}  counter
 * apiserver_request_duration_seconds{verb,group,version,resource,subresource,scope,component}
 *                                                          histogram, kube-apiserver's buckets
 * apiserver_longrunning_requests{verb,group,version,resource,subresource,scope,component}
 *                                                          gauge, TJ_GAUGE_LONGRUNNING
 * apiserver_storage_objects{resource}                      gauge, TJ_GAUGE_STORAGE_OBJECTS
 * training_operator_jobs_{created,deleted,successful,failed,restarted}_total{job_namespace,framework}
 *                                                          counters, framework="pytorch"
 * torchjob_store_commits_total                             counter (batches committed)
 * torchjob_store_fsyncs_total                              counter
 * torchjob_store_commit_duration_seconds                   histogram, 0.001 * 2^k, k = 0..13
 * torchjob_store_commit_batch_size                         histogram, 1, 2, 4, ..., 1024
 * torchjob_processes_live                                  gauge, TJ_GAUGE_PROCESSES_LIVE
 * (then metrics_series_dropped_total{metric}, once anything was dropped)
 */
typedef struct tj_metrics tj_metrics;

#define TJ_METRICS_REQUEST_SERIES 2000  /* cap per apiserver_request_* family */

typedef enum tj_job_event {
    TJ_JOB_CREATED,
    TJ_JOB_DELETED,
    TJ_JOB_SUCCESSFUL,
    TJ_JOB_FAILED,
    TJ_JOB_RESTARTED,
} tj_job_event;

/* Gauges filled by a collector at scrape time. The collector calls metrics_sink_add with: */
typedef enum tj_gauge {
    TJ_GAUGE_LONGRUNNING,      /* {verb,group,version,resource,subresource,scope,component}:
                                * +1 per open watch, verb "WATCH", component "apiserver" */
    TJ_GAUGE_STORAGE_OBJECTS,  /* {resource}: live objects of that resource, e.g. "pytorchjobs" */
    TJ_GAUGE_PROCESSES_LIVE,   /* no labels (values NULL): live pod processes */
} tj_gauge;

tj_metrics *tj_metrics_new(void);  /* NULL on allocation failure */
void tj_metrics_free(tj_metrics *m);
metrics *tj_metrics_registry(tj_metrics *m);  /* borrowed: to register more families */
void tj_metrics_set_collector(tj_metrics *m, tj_gauge g, metrics_collect_fn fn, void *arg);

/* One finished request. verb: kube's upper-case verb (GET, LIST, WATCH, POST, PUT, PATCH,
 * DELETE, DELETECOLLECTION); group "" for the core group; subresource "" for none; scope
 * "resource" | "namespace" | "cluster"; code: the HTTP status; seconds: time to the response
 * (NULL strings read as ""). */
void tj_metrics_request(tj_metrics *m, const char *verb, const char *group, const char *version,
                        const char *resource, const char *subresource, const char *scope,
                        int code, double seconds);
/* One committed batch: its duration, its record count, and whether it ended in an fsync. */
void tj_metrics_store_commit(tj_metrics *m, double seconds, size_t batch, int fsynced);
/* A PyTorchJob event in namespace ns (training-operator's job counters). */
void tj_metrics_job(tj_metrics *m, tj_job_event ev, const char *ns);

/* metrics_render of the whole set; the caller frees the result. */
char *tj_metrics_render(tj_metrics *m, size_t *len);
#endif
