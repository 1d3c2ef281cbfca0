/* metrics — a Prometheus registry rendered as text exposition 0.0.4, and torchjobd's metric set.
 *
 * Each family keeps its series in a table: an open-addressing hash map keyed by the label-value
 * tuple (FNV-1a over the values, each followed by a NUL, so the encoding is unambiguous) for
 * lookup, and an array in creation order that owns the series and is sorted lazily at render.
 * A callback family builds a throwaway table of the same kind (a sink) at each render.
 *
 * Invariants:
 *  1. t->n <= f->max_series for every table, except a label-less family's single series.
 *  2. A series' values array holds f->nlabels strings and a terminating NULL, in its allocation.
 *  3. A histogram series' buckets[] are per-bucket counts (bucket nb = +Inf); they sum to count.
 *  4. t->sorted is cleared by every insert; render sorts only then.
 */
#include "metrics.h"
#include "sbuf.h"
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double metrics_apiserver_buckets[] = {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8,
                                            1.0,   1.25,  1.5,  2,   3,   4,   5,   6,
                                            8,     10,    15,   20,  30,  45,  60};
const size_t metrics_apiserver_nbuckets =
    sizeof metrics_apiserver_buckets / sizeof metrics_apiserver_buckets[0];

#define DROPPED_NAME "metrics_series_dropped_total"
#define DROPPED_HELP                                                                            \
    "Observations dropped because their metric had reached its cap on distinct label sets."

typedef struct series {
    uint64_t hash;
    double value;        /* counter/gauge value; histogram sum */
    uint64_t count;      /* histogram observations */
    const char **values; /* nlabels strings + NULL, inside this allocation (invariant 2) */
    uint64_t buckets[];  /* histogram: nb + 1 per-bucket counts, the last one +Inf */
} series;

typedef struct table {
    series **slots;   /* open addressing, cap a power of two, at most 3/4 full */
    size_t cap;
    series **order;   /* every series, owned; creation order until sorted */
    size_t n, order_cap;
    int sorted;
} table;

struct metrics_family {
    metrics_family *next;
    metrics_type type;
    char *name, *help;
    size_t nlabels;
    char *labels[METRICS_MAX_LABELS];
    double *bounds;      /* histogram: nb finite bounds, strictly increasing */
    size_t nb;
    size_t max_series;
    uint64_t dropped;
    table t;             /* unused by callback families */
    int is_callback;
    metrics_collect_fn collect;
    void *collect_arg;
};

struct metrics {
    metrics_family *head, *tail;
};

struct metrics_sink {
    metrics_family *f;
    table t;
};

/* ---- output ------------------------------------------------------------------------------- */

/* The whole exposition. torchjobd's own set stays near 10 MiB even with both request families
 * full (2,000 series of 26 lines each); past this cap metrics_render fails as on allocation. */
#define RENDER_MAX (64u << 20)

/* Label values escape backslash, double quote and newline; HELP text only backslash and
 * newline. */
static void put_escaped(sbuf *b, const char *s, int quote)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        if (*s == '\\') {
            rep = "\\\\";
        } else if (*s == '\n') {
            rep = "\\n";
        } else if (*s == '"' && quote) {
            rep = "\\\"";
        }
        if (rep) {
            sbuf_add(b, run, (size_t)(s - run));
            sbuf_puts(b, rep);
            run = s + 1;
        }
    }
    sbuf_add(b, run, (size_t)(s - run));
}

/* %.15g, or more digits until the text reads back as v; Prometheus' spellings of the
 * non-finite values. */
static void fmt_double(char out[40], double v)
{
    if (isnan(v)) {
        strcpy(out, "NaN");
    } else if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, 40, "%.*g", prec, v);
            if (strtod(out, NULL) == v) {
                break;
            }
        }
    }
}

static void put_double(sbuf *b, double v)
{
    char tmp[40];
    fmt_double(tmp, v);
    sbuf_puts(b, tmp);
}

static void put_u64(sbuf *b, uint64_t v) { sbuf_printf(b, "%" PRIu64, v); }

/* ---- series tables ------------------------------------------------------------------------- */

static const char *val(const char *const *values, size_t i)
{
    return values && values[i] ? values[i] : "";
}

static uint64_t hash_values(const char *const *values, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)val(values, i);; p++) {
            h = (h ^ *p) * 1099511628211ULL;
            if (!*p) {
                break;
            }
        }
    }
    return h;
}

static int series_matches(const series *s, uint64_t h, const char *const *values, size_t n)
{
    if (s->hash != h) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s->values[i], val(values, i)) != 0) {
            return 0;
        }
    }
    return 1;
}

static series *table_find(const table *t, uint64_t h, const char *const *values, size_t n)
{
    if (!t->cap) {
        return NULL;
    }
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)h & mask; t->slots[i]; i = (i + 1) & mask) {
        if (series_matches(t->slots[i], h, values, n)) {
            return t->slots[i];
        }
    }
    return NULL;
}

static void slot_place(series **slots, size_t cap, series *s)
{
    size_t mask = cap - 1;
    size_t i = (size_t)s->hash & mask;
    while (slots[i]) {
        i = (i + 1) & mask;
    }
    slots[i] = s;
}

/* Adds s (not yet present) to t. 0, or -1 on allocation failure (t unchanged). */
static int table_insert(table *t, series *s)
{
    if ((t->n + 1) * 4 > t->cap * 3) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        series **slots = calloc(cap, sizeof *slots);
        if (!slots) {
            return -1;
        }
        for (size_t i = 0; i < t->n; i++) {
            slot_place(slots, cap, t->order[i]);
        }
        free(t->slots);
        t->slots = slots;
        t->cap = cap;
    }
    if (t->n == t->order_cap) {
        size_t cap = t->order_cap ? t->order_cap * 2 : 16;
        series **order = realloc(t->order, cap * sizeof *order);
        if (!order) {
            return -1;
        }
        t->order = order;
        t->order_cap = cap;
    }
    slot_place(t->slots, t->cap, s);
    t->order[t->n++] = s;
    t->sorted = 0;
    return 0;
}

static void table_clear(table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->order[i]);
    }
    free(t->order);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static series *series_new(const metrics_family *f, uint64_t h, const char *const *values)
{
    size_t nbk = f->type == METRICS_HISTOGRAM ? f->nb + 1 : 0;
    size_t size = sizeof(series) + nbk * sizeof(uint64_t) + (f->nlabels + 1) * sizeof(char *);
    for (size_t i = 0; i < f->nlabels; i++) {
        size += strlen(val(values, i)) + 1;
    }
    series *s = calloc(1, size);
    if (!s) {
        return NULL;
    }
    s->hash = h;
    s->values = (const char **)(s->buckets + nbk);
    char *p = (char *)(s->values + f->nlabels + 1);
    for (size_t i = 0; i < f->nlabels; i++) {
        size_t n = strlen(val(values, i)) + 1;
        memcpy(p, val(values, i), n);
        s->values[i] = p;
        p += n;
    }
    s->values[f->nlabels] = NULL;
    return s;
}

/* The series of values in t, created if absent and under the cap; NULL (counted in f->dropped)
 * past the cap or on allocation failure. */
static series *table_get(metrics_family *f, table *t, const char *const *values)
{
    uint64_t h = hash_values(values, f->nlabels);
    series *s = table_find(t, h, values, f->nlabels);
    if (s) {
        return s;
    }
    if (t->n >= f->max_series && f->nlabels > 0) {
        f->dropped++;
        return NULL;
    }
    s = series_new(f, h, values);
    if (!s || table_insert(t, s) != 0) {
        free(s);
        f->dropped++;
        return NULL;
    }
    return s;
}

static int cmp_series(const void *a, const void *b)
{
    const char *const *va = (*(const series *const *)a)->values;
    const char *const *vb = (*(const series *const *)b)->values;
    for (; *va; va++, vb++) {
        int c = strcmp(*va, *vb);
        if (c) {
            return c;
        }
    }
    return 0;
}

/* ---- registration -------------------------------------------------------------------------- */

static int valid_name(const char *s, int colon)
{
    if (!s || !*s) {
        return 0;
    }
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (colon && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

static void family_free(metrics_family *f)
{
    table_clear(&f->t);
    for (size_t i = 0; i < f->nlabels; i++) {
        free(f->labels[i]);
    }
    free(f->bounds);
    free(f->name);
    free(f->help);
    free(f);
}

metrics *metrics_new(void)
{
    return calloc(1, sizeof(metrics));
}

void metrics_free(metrics *r)
{
    if (!r) {
        return;
    }
    for (metrics_family *f = r->head, *next; f; f = next) {
        next = f->next;
        family_free(f);
    }
    free(r);
}

static metrics_family *family_add(metrics *r, metrics_type type, const char *name,
                                  const char *help, const char *const *labels,
                                  const double *bounds, size_t nb, int is_callback)
{
    assert(r);
    if (!valid_name(name, 1) || strcmp(name, DROPPED_NAME) == 0) {
        return NULL;
    }
    for (metrics_family *g = r->head; g; g = g->next) {
        if (strcmp(g->name, name) == 0) {
            return NULL;
        }
    }
    size_t nl = 0;
    for (; labels && labels[nl]; nl++) {
        const char *l = labels[nl];
        if (nl == METRICS_MAX_LABELS || !valid_name(l, 0) || strncmp(l, "__", 2) == 0 ||
            (type == METRICS_HISTOGRAM && strcmp(l, "le") == 0)) {
            return NULL;
        }
        for (size_t j = 0; j < nl; j++) {
            if (strcmp(labels[j], l) == 0) {
                return NULL;
            }
        }
    }
    if (type == METRICS_HISTOGRAM) {
        if (nb > 0 && isinf(bounds[nb - 1]) && bounds[nb - 1] > 0) {
            nb--;  /* +Inf is always there */
        }
        if (nb > METRICS_MAX_BUCKETS) {
            return NULL;
        }
        for (size_t i = 0; i < nb; i++) {
            if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
                return NULL;
            }
        }
    }

    metrics_family *f = calloc(1, sizeof *f);
    if (!f) {
        return NULL;
    }
    f->type = type;
    f->is_callback = is_callback;
    f->max_series = METRICS_MAX_SERIES;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    int bad = !f->name || !f->help;
    for (size_t i = 0; i < nl; i++) {
        if (!(f->labels[i] = strdup(labels[i]))) {
            bad = 1;
        }
        f->nlabels = i + 1;
    }
    if (type == METRICS_HISTOGRAM && nb > 0) {
        if ((f->bounds = malloc(nb * sizeof(double)))) {
            memcpy(f->bounds, bounds, nb * sizeof(double));
        } else {
            bad = 1;
        }
    }
    f->nb = nb;
    /* A label-less family renders its single series from the start. */
    if (!bad && nl == 0 && !is_callback && !table_get(f, &f->t, NULL)) {
        bad = 1;
    }
    if (bad) {
        family_free(f);
        return NULL;
    }
    if (r->tail) {
        r->tail->next = f;
    } else {
        r->head = f;
    }
    r->tail = f;
    return f;
}

metrics_family *metrics_counter(metrics *r, const char *name, const char *help,
                                const char *const *labels)
{
    return family_add(r, METRICS_COUNTER, name, help, labels, NULL, 0, 0);
}

metrics_family *metrics_gauge(metrics *r, const char *name, const char *help,
                              const char *const *labels)
{
    return family_add(r, METRICS_GAUGE, name, help, labels, NULL, 0, 0);
}

metrics_family *metrics_histogram(metrics *r, const char *name, const char *help,
                                  const char *const *labels, const double *bounds, size_t nb)
{
    return family_add(r, METRICS_HISTOGRAM, name, help, labels, bounds, nb, 0);
}

metrics_family *metrics_callback(metrics *r, metrics_type type, const char *name,
                                 const char *help, const char *const *labels,
                                 metrics_collect_fn fn, void *arg)
{
    if (type != METRICS_COUNTER && type != METRICS_GAUGE) {
        return NULL;
    }
    metrics_family *f = family_add(r, type, name, help, labels, NULL, 0, 1);
    if (f) {
        metrics_family_set_collect(f, fn, arg);
    }
    return f;
}

void metrics_family_set_collect(metrics_family *f, metrics_collect_fn fn, void *arg)
{
    assert(f && f->is_callback);
    if (f && f->is_callback) {
        f->collect = fn;
        f->collect_arg = arg;
    }
}

void metrics_family_set_max_series(metrics_family *f, size_t max)
{
    assert(f && max >= 1);
    f->max_series = max ? max : 1;
}

uint64_t metrics_family_dropped(const metrics_family *f)
{
    return f->dropped;
}

/* ---- observations -------------------------------------------------------------------------- */

void metrics_sink_add(metrics_sink *s, const char *const *values, double v)
{
    series *x = table_get(s->f, &s->t, values);
    if (x) {
        x->value += v;
    }
}

void metrics_add(metrics_family *f, const char *const *values, double v)
{
    assert(f && !f->is_callback && f->type != METRICS_HISTOGRAM);
    if (!f || f->is_callback || f->type == METRICS_HISTOGRAM) {
        return;
    }
    if (f->type == METRICS_COUNTER && !(v >= 0)) {
        return;  /* counters only go up */
    }
    series *s = table_get(f, &f->t, values);
    if (s) {
        s->value += v;
    }
}

void metrics_inc(metrics_family *f, const char *const *values)
{
    metrics_add(f, values, 1);
}

void metrics_set(metrics_family *f, const char *const *values, double v)
{
    assert(f && !f->is_callback && f->type == METRICS_GAUGE);
    if (!f || f->is_callback || f->type != METRICS_GAUGE) {
        return;
    }
    series *s = table_get(f, &f->t, values);
    if (s) {
        s->value = v;
    }
}

void metrics_observe(metrics_family *f, const char *const *values, double v)
{
    assert(f && f->type == METRICS_HISTOGRAM);
    if (!f || f->type != METRICS_HISTOGRAM) {
        return;
    }
    series *s = table_get(f, &f->t, values);
    if (!s) {
        return;
    }
    size_t lo = 0, hi = f->nb;  /* first bound >= v; NaN lands in +Inf, like client_golang */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v <= f->bounds[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    s->buckets[lo]++;
    s->count++;
    s->value += v;
}

double metrics_value(const metrics_family *f, const char *const *values)
{
    const series *s = table_find(&f->t, hash_values(values, f->nlabels), values, f->nlabels);
    if (!s) {
        return 0;
    }
    return f->type == METRICS_HISTOGRAM ? (double)s->count : s->value;
}

/* ---- exposition ---------------------------------------------------------------------------- */

static const char *type_name(metrics_type t)
{
    switch (t) {
    case METRICS_COUNTER:
        return "counter";
    case METRICS_GAUGE:
        return "gauge";
    case METRICS_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

/* name + suffix + {labels[,le="..."]} + ' ' */
static void put_series_head(sbuf *b, const metrics_family *f, const series *s, const char *suffix,
                            const char *le)
{
    sbuf_puts(b, f->name);
    sbuf_puts(b, suffix);
    if (f->nlabels || le) {
        sbuf_putc(b, '{');
        for (size_t i = 0; i < f->nlabels; i++) {
            if (i) {
                sbuf_putc(b, ',');
            }
            sbuf_puts(b, f->labels[i]);
            sbuf_puts(b, "=\"");
            put_escaped(b, s->values[i], 1);
            sbuf_putc(b, '"');
        }
        if (le) {
            sbuf_puts(b, f->nlabels ? ",le=\"" : "le=\"");
            sbuf_puts(b, le);
            sbuf_putc(b, '"');
        }
        sbuf_putc(b, '}');
    }
    sbuf_putc(b, ' ');
}

static void render_family(sbuf *b, const metrics_family *f, table *t)
{
    sbuf_puts(b, "# HELP ");
    sbuf_puts(b, f->name);
    sbuf_putc(b, ' ');
    put_escaped(b, f->help, 0);
    sbuf_puts(b, "\n# TYPE ");
    sbuf_puts(b, f->name);
    sbuf_putc(b, ' ');
    sbuf_puts(b, type_name(f->type));
    sbuf_putc(b, '\n');

    if (!t->sorted && t->n > 1) {
        qsort(t->order, t->n, sizeof *t->order, cmp_series);
        t->sorted = 1;
    }
    for (size_t k = 0; k < t->n; k++) {
        const series *s = t->order[k];
        if (f->type != METRICS_HISTOGRAM) {
            put_series_head(b, f, s, "", NULL);
            put_double(b, s->value);
            sbuf_putc(b, '\n');
            continue;
        }
        uint64_t cum = 0;
        for (size_t i = 0; i < f->nb; i++) {
            char le[40];
            fmt_double(le, f->bounds[i]);
            cum += s->buckets[i];
            put_series_head(b, f, s, "_bucket", le);
            put_u64(b, cum);
            sbuf_putc(b, '\n');
        }
        assert(cum + s->buckets[f->nb] == s->count);
        put_series_head(b, f, s, "_bucket", "+Inf");
        put_u64(b, s->count);
        sbuf_putc(b, '\n');
        put_series_head(b, f, s, "_sum", NULL);
        put_double(b, s->value);
        sbuf_putc(b, '\n');
        put_series_head(b, f, s, "_count", NULL);
        put_u64(b, s->count);
        sbuf_putc(b, '\n');
    }
}

static int cmp_family_name(const void *a, const void *b)
{
    return strcmp((*(const metrics_family *const *)a)->name,
                  (*(const metrics_family *const *)b)->name);
}

static int render_dropped(sbuf *b, metrics *r)
{
    size_t n = 0;
    for (metrics_family *f = r->head; f; f = f->next) {
        n += f->dropped > 0;
    }
    if (!n) {
        return 0;
    }
    metrics_family **v = malloc(n * sizeof *v);
    if (!v) {
        return -1;
    }
    n = 0;
    for (metrics_family *f = r->head; f; f = f->next) {
        if (f->dropped) {
            v[n++] = f;
        }
    }
    qsort(v, n, sizeof *v, cmp_family_name);
    sbuf_puts(b, "# HELP " DROPPED_NAME " " DROPPED_HELP "\n# TYPE " DROPPED_NAME " counter\n");
    for (size_t i = 0; i < n; i++) {
        sbuf_puts(b, DROPPED_NAME "{metric=\"");
        put_escaped(b, v[i]->name, 1);  /* names need no escaping; kept for form */
        sbuf_puts(b, "\"} ");
        put_u64(b, v[i]->dropped);
        sbuf_putc(b, '\n');
    }
    free(v);
    return 0;
}

char *metrics_render(metrics *r, size_t *len)
{
    sbuf b = SBUF_INIT(RENDER_MAX);
    for (metrics_family *f = r->head; f && !sbuf_error(&b); f = f->next) {
        if (!f->is_callback) {
            render_family(&b, f, &f->t);
            continue;
        }
        metrics_sink sink = {.f = f};
        if (f->collect) {
            f->collect(f->collect_arg, &sink);
        }
        render_family(&b, f, &sink.t);
        table_clear(&sink.t);
    }
    int rc = render_dropped(&b, r);
    size_t n = sbuf_len(&b);
    char *text = rc == 0 ? sbuf_take(&b) : NULL;  /* "" for an empty registry */
    sbuf_free(&b);
    if (text && len) {
        *len = n;
    }
    return text;
}

/* ---- torchjobd's metric set ---------------------------------------------------------------- */

struct tj_metrics {
    metrics *r;
    metrics_family *req_total, *req_dur, *longrunning, *objects, *procs;
    metrics_family *jobs[TJ_JOB_RESTARTED + 1];
    metrics_family *commits, *fsyncs, *commit_dur, *batch;
};

static const double commit_buckets[] = {0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064,
                                        0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192};
static const double batch_buckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

static const struct {
    const char *name, *help;
} job_metric[] = {
    [TJ_JOB_CREATED] = {"training_operator_jobs_created_total", "Counts number of jobs created"},
    [TJ_JOB_DELETED] = {"training_operator_jobs_deleted_total", "Counts number of jobs deleted"},
    [TJ_JOB_SUCCESSFUL] = {"training_operator_jobs_successful_total",
                           "Counts number of jobs successful"},
    [TJ_JOB_FAILED] = {"training_operator_jobs_failed_total", "Counts number of jobs failed"},
    [TJ_JOB_RESTARTED] = {"training_operator_jobs_restarted_total",
                          "Counts number of jobs restarted"},
};

tj_metrics *tj_metrics_new(void)
{
    static const char *const req_labels[] = {"verb",  "group",     "version", "resource",
                                             "subresource", "scope", "component", "code", NULL};
    static const char *const dur_labels[] = {"verb",  "group", "version",   "resource",
                                             "subresource", "scope", "component", NULL};
    static const char *const obj_labels[] = {"resource", NULL};
    static const char *const job_labels[] = {"job_namespace", "framework", NULL};

    tj_metrics *m = calloc(1, sizeof *m);
    if (!m || !(m->r = metrics_new())) {
        free(m);
        return NULL;
    }
    metrics *r = m->r;
    int ok = 1;
#define REG(field, call) ok = ok && ((m->field = (call)) != NULL)
    REG(req_total, metrics_counter(r, "apiserver_request_total",
                                   "[STABLE] Counter of apiserver requests broken out for each "
                                   "verb, group, version, resource, scope, component, and HTTP "
                                   "response code.",
                                   req_labels));
    REG(req_dur, metrics_histogram(r, "apiserver_request_duration_seconds",
                                   "[STABLE] Response latency distribution in seconds for each "
                                   "verb, group, version, resource, subresource, scope and "
                                   "component.",
                                   dur_labels, metrics_apiserver_buckets,
                                   metrics_apiserver_nbuckets));
    REG(longrunning, metrics_callback(r, METRICS_GAUGE, "apiserver_longrunning_requests",
                                      "[ALPHA] Gauge of all active long-running apiserver "
                                      "requests broken out by verb, group, version, resource, "
                                      "scope and component. Not all requests are tracked this "
                                      "way.",
                                      dur_labels, NULL, NULL));
    REG(objects, metrics_callback(r, METRICS_GAUGE, "apiserver_storage_objects",
                                  "[STABLE] Number of stored objects at the time of last check "
                                  "split by kind.",
                                  obj_labels, NULL, NULL));
    for (int e = TJ_JOB_CREATED; e <= TJ_JOB_RESTARTED; e++) {
        REG(jobs[e], metrics_counter(r, job_metric[e].name, job_metric[e].help, job_labels));
    }
    REG(commits, metrics_counter(r, "torchjob_store_commits_total",
                                 "Store batches committed, one SQLite transaction each.", NULL));
    REG(fsyncs, metrics_counter(r, "torchjob_store_fsyncs_total",
                                "Store commits that ended in an fsync.", NULL));
    REG(commit_dur, metrics_histogram(r, "torchjob_store_commit_duration_seconds",
                                      "Time to commit one store batch, in seconds.", NULL,
                                      commit_buckets,
                                      sizeof commit_buckets / sizeof commit_buckets[0]));
    REG(batch, metrics_histogram(r, "torchjob_store_commit_batch_size",
                                 "Records per committed store batch.", NULL, batch_buckets,
                                 sizeof batch_buckets / sizeof batch_buckets[0]));
    REG(procs, metrics_callback(r, METRICS_GAUGE, "torchjob_processes_live",
                                "Pod processes currently running.", NULL, NULL, NULL));
#undef REG
    if (!ok) {
        tj_metrics_free(m);
        return NULL;
    }
    metrics_family_set_max_series(m->req_total, TJ_METRICS_REQUEST_SERIES);
    metrics_family_set_max_series(m->req_dur, TJ_METRICS_REQUEST_SERIES);
    return m;
}

void tj_metrics_free(tj_metrics *m)
{
    if (m) {
        metrics_free(m->r);
        free(m);
    }
}

metrics *tj_metrics_registry(tj_metrics *m)
{
    return m->r;
}

void tj_metrics_set_collector(tj_metrics *m, tj_gauge g, metrics_collect_fn fn, void *arg)
{
    switch (g) {
    case TJ_GAUGE_LONGRUNNING:
        metrics_family_set_collect(m->longrunning, fn, arg);
        break;
    case TJ_GAUGE_STORAGE_OBJECTS:
        metrics_family_set_collect(m->objects, fn, arg);
        break;
    case TJ_GAUGE_PROCESSES_LIVE:
        metrics_family_set_collect(m->procs, fn, arg);
        break;
    }
}

void tj_metrics_request(tj_metrics *m, const char *verb, const char *group, const char *version,
                        const char *resource, const char *subresource, const char *scope,
                        int code, double seconds)
{
    char codebuf[16];
    snprintf(codebuf, sizeof codebuf, "%d", code);
    const char *v[] = {verb, group, version, resource, subresource, scope, "apiserver", codebuf};
    metrics_inc(m->req_total, v);
    metrics_observe(m->req_dur, v, seconds);  /* the first seven: dur_labels */
}

void tj_metrics_store_commit(tj_metrics *m, double seconds, size_t batch, int fsynced)
{
    metrics_inc(m->commits, NULL);
    if (fsynced) {
        metrics_inc(m->fsyncs, NULL);
    }
    metrics_observe(m->commit_dur, NULL, seconds);
    metrics_observe(m->batch, NULL, (double)batch);
}

void tj_metrics_job(tj_metrics *m, tj_job_event ev, const char *ns)
{
    assert(ev >= TJ_JOB_CREATED && ev <= TJ_JOB_RESTARTED);
    if (ev < TJ_JOB_CREATED || ev > TJ_JOB_RESTARTED) {
        return;
    }
    const char *v[] = {ns, "pytorch"};
    metrics_inc(m->jobs[ev], v);
}

char *tj_metrics_render(tj_metrics *m, size_t *len)
{
    return metrics_render(m->r, len);
}
