/* watch — watch streams over the store's commit feed (see watch.h).
 *
 * A watcher's life:
 *
 *   start ─┬─ rv unset/0, or sendInitialEvents=true (any rv) ──► LIST: synthetic ADDED for the
 *          │    objects at the start revision S, paged by key ──all listed──► [BOOKMARK
 *          │    k8s.io/initial-events-end at S, for sendInitialEvents with allowWatchBookmarks]
 *          │    ──► CHANGES after S ──────────────────────────────────────────────────────┐
 *          ├─ rv=N (sendInitialEvents unset or false) ──► CHANGES: replay after N ────────┤
 *          ├─ sendInitialEvents=false, rv unset/0 ──► CHANGES after the store's revision ─┤
 *          └─ N compacted ──► ERROR 410, end                                              │
 *     LIST and CHANGES wait (PAUSED) while the client has more than REPLAY_HIGH bytes     │
 *     queued, and go on at half of it; history compacted past them: ERROR 410, end        │
 *                                                                 reached the store's rev ▼
 *                                            LIVE: one line per matching commit
 *                                             │ timeoutSeconds, client gone, queue over cap
 *   (errors before the stream: 400/422)       ▼
 *                                            END (terminating chunk; freed)
 *
 * Invariants:
 *  1. A watcher sees every committed change after its start point exactly once, in revision
 *     order: while it replays, commits are not delivered to it live (the replay of changes
 *     reaches them), and it turns LIVE in the loop turn in which its replay reaches the store's
 *     revision; commits are delivered by the store's commit listener, on the loop too.
 *  2. An event line is encoded once per (revision, type) and the same bytes go to every
 *     watcher that gets that event type.
 *  3. A LIVE watcher whose client does not read (queued bytes over the cap) is cut off; it never
 *     slows the writers or other watchers. A replay (a namespace of 100,000 jobs is 230 MB of
 *     ADDED events) is paced by the client instead, and holds at most REPLAY_HIGH bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "watch.h"
#include "metrics.h"
#include <time.h>

typedef struct watcher watcher;

/* on_commit's scratch, kept between commits: the watchers that get an event, by chunk. */
typedef struct fanbuf {
    watcher **w, **sel;
    unsigned char *slot;
    http_req **req;
    int *res;
    size_t cap;
} fanbuf;

struct watch_hub {
    api_t *api;
    unsigned bookmark_ms;
    watcher *head;
    size_t count;
    /* encodings of the record being delivered: ADDED, MODIFIED, DELETED, as JSON and as Table */
    const store_rec *enc_rec;
    char *enc[8];
    size_t enc_len[8];
    fanbuf fan;
};

struct watcher {
    watch_hub *hub;
    watcher *prev, *next;
    http_req *http;
    const resource *res;
    char prefix[600];
    size_t prefix_len;
    char *name;          /* one object (legacy /watch/.../name) or NULL */
    labelsel *ls;
    fieldsel *fs;
    int bookmarks;
    int end_bookmark;    /* sendInitialEvents: a BOOKMARK marks the end of the initial events */
    int table;           /* events carry a one-row Table (kubectl get -w) */
    table_include inc;
    uint64_t last_rv;
    int replay;          /* REPLAY_*: LIVE, or still catching up (see the diagram) */
    int paused;          /* the replay stopped for the client to read */
    uint64_t snap_rv;    /* LIST: the revision listed */
    char *list_after;    /* LIST: the last key listed, or NULL */
    uint64_t cursor_rv;  /* CHANGES: the last revision replayed */
    uv_timer_t timeout;
    uv_timer_t bookmark;
    uv_timer_t pace;     /* a PAUSED replay looks at the client's queue again */
    int ended;
    int abort;
    int closing_handles;
};

enum { EV_ADDED, EV_MODIFIED, EV_DELETED, EV_LEFT };
enum { REPLAY_LIVE, REPLAY_LIST, REPLAY_CHANGES };
#define REPLAY_HIGH (4u << 20) /* bytes queued to the client past which a replay waits */
#define REPLAY_POLL_MS 2
static const char *const ev_name[] = {"ADDED", "MODIFIED", "DELETED"};

static char *encode(const char *type, const char *obj, size_t len, size_t *out_len)
{
    size_t tl = strlen(type);
    size_t n = 9 + tl + 12 + len + 2;
    char *s = malloc(n + 1);
    int k = snprintf(s, n + 1, "{\"type\":\"%s\",\"object\":", type);
    memcpy(s + k, obj, len);
    memcpy(s + k + len, "}\n", 2);
    *out_len = (size_t)k + len + 2;
    return s;
}

/* The event line as one HTTP chunk, so fan-out sends the same bytes to every watcher. */
static char *frame(char *line, size_t len, size_t *out_len)
{
    char head[24];
    int hl = snprintf(head, sizeof head, "%zx\r\n", len);
    char *s = malloc((size_t)hl + len + 2);
    memcpy(s, head, (size_t)hl);
    memcpy(s + hl, line, len);
    memcpy(s + hl + len, "\r\n", 2);
    free(line);
    *out_len = (size_t)hl + len + 2;
    return s;
}

/* The object part of an event: the stored bytes, or a one-row Table for kubectl. */
static char *encode_rec(const watcher *w, const char *type, const store_rec *rec, size_t *out_len)
{
    if (!w->table)
        return encode(type, rec->data, rec->len, out_len);
    json_t *o = json_loadb(rec->data, rec->len, 0, NULL);
    json_t *rows = json_array();
    json_array_append_new(rows, table_row(w->res->plural, o, w->inc, time(NULL)));
    char rv[32];
    snprintf(rv, sizeof rv, "%llu", (unsigned long long)rec->rv);
    json_t *t = table_new(w->res->plural, rows, rv, NULL, 1);
    json_decref(o);
    char *s = json_dumps(t, JSON_COMPACT);
    json_decref(t);
    char *line = encode(type, s, strlen(s), out_len);
    free(s);
    return line;
}

static void watcher_free_cb(uv_handle_t *h)
{
    watcher *w = h->data;
    if (--w->closing_handles == 0) {
        labelsel_free(w->ls);
        fieldsel_free(w->fs);
        free(w->name);
        free(w->list_after);
        free(w);
    }
}

/* End the stream (if the client is still there) and release the watcher. */
static void watcher_end(watcher *w)
{
    if (w->ended)
        return;
    w->ended = 1;
    watch_hub *h = w->hub;
    if (w->prev) w->prev->next = w->next; else h->head = w->next;
    if (w->next) w->next->prev = w->prev;
    h->count--;
    if (w->abort)
        http_abort(w->http);
    else
        http_stream_end(w->http);
    w->closing_handles = 3;
    uv_close((uv_handle_t *)&w->timeout, watcher_free_cb);
    uv_close((uv_handle_t *)&w->bookmark, watcher_free_cb);
    uv_close((uv_handle_t *)&w->pace, watcher_free_cb);
}

static void on_gone(void *arg, http_req *req)
{
    (void)req;
    watcher_end(arg);
}

static void on_timeout(uv_timer_t *t)
{
    watcher_end(t->data);
}

static void send_line(watcher *w, const char *line, size_t len)
{
    if (w->ended)
        return;
    if (http_stream_write(w->http, line, len) < 0) {
        /* Gone, or too slow: cut off (the client re-lists). Its connection is closed hard, so
         * the bytes queued for it are released now. */
        w->abort = 1;
        watcher_end(w);
    }
}

static void send_chunk(watcher *w, const char *chunk, size_t len)
{
    if (w->ended)
        return;
    if (http_stream_write_chunk(w->http, chunk, len, len) < 0) {
        w->abort = 1;
        watcher_end(w);
    }
}

/* A BOOKMARK at rv; initial_end: annotated k8s.io/initial-events-end (watch-list). */
static void send_bookmark(watcher *w, uint64_t rv, int initial_end)
{
    const resource *res = w->res;
    char line[640];
    int n = snprintf(line, sizeof line,
                     "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s%s%s\",\"metadata\":{%s\"resourceVersion\":\"%llu\"}}}\n",
                     res->kind, res->group, *res->group ? "/" : "", res->version,
                     initial_end ? "\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}," : "",
                     (unsigned long long)rv);
    send_line(w, line, (size_t)n);
}

static void on_bookmark(uv_timer_t *t)
{
    watcher *w = t->data;
    if (w->replay != REPLAY_LIVE)
        return; /* its events up to the store's revision are not all out yet */
    uint64_t rv = store_rev(w->hub->api->store);
    if (rv < w->last_rv)
        rv = w->last_rv;
    send_bookmark(w, rv, 0);
}

static int rec_in_scope(const watcher *w, const store_rec *rec)
{
    if (strncmp(rec->key, w->prefix, w->prefix_len))
        return 0;
    if (w->name) {
        const char *slash = strrchr(rec->key, '/');
        if (!slash || strcmp(slash + 1, w->name))
            return 0;
    }
    return 1;
}

/* Which event (or -1) does watcher w get for rec, given the previous version prev? */
static int event_for(const watcher *w, const store_rec *rec, const store_rec *prev)
{
    if (!rec_in_scope(w, rec))
        return -1;
    int now = !rec->deleted && api_rec_matches(rec, w->ls, w->fs);
    int before = prev && !prev->deleted && api_rec_matches(prev, w->ls, w->fs);
    if (rec->deleted)
        return api_rec_matches(rec, w->ls, w->fs) && (before || !prev) ? EV_DELETED : -1;
    if (now && before)
        return EV_MODIFIED;
    if (now)
        return EV_ADDED;
    if (before)
        return EV_LEFT; /* DELETED, carrying the state that matched (cache_watcher.go) */
    return -1;
}

/* prev's bytes with metadata.resourceVersion set to rv: the object of an EV_LEFT event. */
static store_rec *left_rec(const store_rec *rec, const store_rec *prev, store_rec *tmp)
{
    json_t *o = json_loadb(prev->data, prev->len, 0, NULL);
    char rv[32];
    snprintf(rv, sizeof rv, "%llu", (unsigned long long)rec->rv);
    json_object_set_new(json_object_get(o, "metadata"), "resourceVersion", json_string(rv));
    *tmp = *rec;
    tmp->data = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    tmp->len = strlen(tmp->data);
    json_decref(o);
    return tmp;
}

/* Drop the encodings cached for one record (after a commit's fan-out or a replay: a later
 * record could come to live at the same address). */
static void enc_reset(watch_hub *h)
{
    for (int i = 0; i < 8; i++) {
        free(h->enc[i]);
        h->enc[i] = NULL;
    }
    h->enc_rec = NULL;
}

/* Decide w's event for rec. Returns the cache slot whose chunk w is to get, or -1: no event, or
 * an event that was sent already as w's own line (Tables with the whole object). */
static int prepare(watch_hub *h, watcher *w, const store_rec *rec, const store_rec *prev)
{
    int ev = event_for(w, rec, prev);
    if (ev < 0 || rec->rv <= w->last_rv)
        return -1;
    if (h->enc_rec != rec) {
        enc_reset(h);
        h->enc_rec = rec;
    }
    /* Table rows depend on includeObject; only the default shares the cache. */
    int slot = ev == EV_LEFT ? (w->table ? 7 : 6) : ev + (w->table ? 3 : 0);
    w->last_rv = rec->rv;
    int own = w->table && w->inc != TABLE_INCLUDE_METADATA;
    if (!own && h->enc[slot])
        return slot;
    store_rec tmp;
    const store_rec *src = ev == EV_LEFT ? left_rec(rec, prev, &tmp) : rec;
    const char *type = ev_name[ev == EV_LEFT ? EV_DELETED : ev];
    size_t len;
    char *line = encode_rec(w, type, src, &len);
    if (src == &tmp)
        free(tmp.data);
    if (own) {
        send_line(w, line, len);
        free(line);
        return -1;
    }
    h->enc[slot] = frame(line, len, &h->enc_len[slot]);
    return slot;
}

static void deliver(watch_hub *h, watcher *w, const store_rec *rec, const store_rec *prev)
{
    int slot = prepare(h, w, rec, prev);
    if (slot >= 0)
        send_chunk(w, h->enc[slot], h->enc_len[slot]);
}

/* One commit to every watcher: decide each one's event on the loop, then hand each shared chunk
 * to the HTTP layer's fan-out, which spreads the TLS and socket work over the CPUs. */
static void on_commit(void *arg, const store_rec *rec, const store_rec *prev)
{
    watch_hub *h = arg;
    fanbuf *f = &h->fan;
    if (f->cap < h->count) {
        size_t cap = h->count * 2;
        free(f->w);
        free(f->slot);
        free(f->sel);
        free(f->req);
        free(f->res);
        f->w = malloc(cap * sizeof *f->w);
        f->slot = malloc(cap);
        f->sel = malloc(cap * sizeof *f->sel);
        f->req = malloc(cap * sizeof *f->req);
        f->res = malloc(cap * sizeof *f->res);
        if (!f->w || !f->slot || !f->sel || !f->req || !f->res)
            abort();
        f->cap = cap;
    }
    size_t per_slot[8] = {0}, n = 0;
    watcher *next;
    for (watcher *w = h->head; w; w = next) {
        next = w->next;
        if (w->replay != REPLAY_LIVE)
            continue; /* its replay of changes gets to rec */
        int slot = prepare(h, w, rec, prev);
        if (slot < 0)
            continue;
        f->w[n] = w;
        f->slot[n++] = (unsigned char)slot;
        per_slot[slot]++;
    }
    for (int slot = 0; slot < 8; slot++) {
        if (!per_slot[slot])
            continue;
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (f->slot[i] == slot) {
                f->sel[m] = f->w[i];
                f->req[m++] = f->w[i]->http;
            }
        http_stream_fanout(f->req, m, h->enc[slot], h->enc_len[slot], h->enc_len[slot], f->res);
        for (size_t i = 0; i < m; i++)
            if (f->res[i] < 0 && !f->sel[i]->ended) {
                f->sel[i]->abort = 1;
                watcher_end(f->sel[i]);
            }
    }
    enc_reset(h);
}

/* ---- replay ----------------------------------------------------------------------------------- */

/* Has the client enough queued that the replay should wait? */
static int replay_full(watcher *w)
{
    if (http_req_queued(w->http) <= REPLAY_HIGH)
        return 0;
    w->paused = 1;
    return 1;
}

static int replay_change(void *arg, const store_rec *rec, const store_rec *prev)
{
    watcher *w = arg;
    deliver(w->hub, w, rec, prev);
    w->cursor_rv = rec->rv;
    return w->ended || replay_full(w);
}

static int initial_added(void *arg, const store_rec *rec)
{
    watcher *w = arg;
    if (rec_in_scope(w, rec) && api_rec_matches(rec, w->ls, w->fs)) {
        size_t len;
        char *line = encode_rec(w, "ADDED", rec, &len);
        send_line(w, line, len);
        free(line);
    }
    if (w->ended)
        return 1;
    if (!replay_full(w))
        return 0;
    free(w->list_after);
    if (!(w->list_after = strdup(rec->key)))
        abort();
    return 1;
}

/* The history the watcher still needs was compacted: 410 as an ERROR event, end. */
static void end_expired(watcher *w, uint64_t rv)
{
    apierr e = {0};
    apierr_set(&e, ST_EXPIRED, "too old resource version: %llu (%llu)", (unsigned long long)rv,
               (unsigned long long)store_compact_rev(w->hub->api->store));
    json_t *sj = status_json(&e);
    char *s = json_dumps(sj, JSON_COMPACT);
    json_decref(sj);
    size_t len;
    char *line = encode("ERROR", s, strlen(s), &len);
    send_line(w, line, len);
    free(line);
    free(s);
    apierr_free(&e);
    watcher_end(w);
}

static void on_pace(uv_timer_t *t);

/* Go on with w's replay until it is LIVE, ended, or PAUSED (then the pace timer resumes it). */
static void replay_run(watcher *w)
{
    store_t *st = w->hub->api->store;
    w->paused = 0;
    if (w->replay == REPLAY_LIST && w->snap_rv) { /* at revision 0 nothing was there */
        if (store_list(st, w->prefix, w->list_after, w->snap_rv, initial_added, w) == STORE_ERR_COMPACTED) {
            end_expired(w, w->snap_rv);
            return;
        }
        if (w->ended)
            return;
        if (w->paused) {
            uv_timer_start(&w->pace, on_pace, REPLAY_POLL_MS, 0);
            return;
        }
    }
    if (w->replay == REPLAY_LIST) {
        free(w->list_after);
        w->list_after = NULL;
        w->replay = REPLAY_CHANGES;
        w->cursor_rv = w->snap_rv;
        if (w->end_bookmark) /* the initial state is out: the client's list is complete */
            send_bookmark(w, w->snap_rv, 1);
        if (w->ended)
            return;
    }
    int rc = store_changes_since(st, w->cursor_rv, replay_change, w);
    enc_reset(w->hub);
    if (rc == STORE_ERR_COMPACTED && !w->ended) {
        end_expired(w, w->cursor_rv);
        return;
    }
    if (w->ended)
        return;
    if (w->paused) {
        uv_timer_start(&w->pace, on_pace, REPLAY_POLL_MS, 0);
        return;
    }
    w->replay = REPLAY_LIVE; /* the replay reached the store's revision, in this loop turn */
}

static void on_pace(uv_timer_t *t)
{
    watcher *w = t->data;
    if (http_req_queued(w->http) > REPLAY_HIGH / 2)
        uv_timer_start(t, on_pace, REPLAY_POLL_MS, 0);
    else
        replay_run(w);
}

static void send_error_event(http_req *http, apierr *e)
{
    json_t *st = status_json(e);
    char *s = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    size_t len;
    char *line = encode("ERROR", s, strlen(s), &len);
    free(s);
    http_stream_begin(http, 200, "application/json");
    http_stream_write(http, line, len);
    free(line);
    http_stream_end(http);
    apierr_free(e);
}

void watch_start(watch_hub *h, apireq *r, labelsel *ls, fieldsel *fs, const char *rvs, int initial)
{
    store_t *st = h->api->store;
    uint64_t cur = store_rev(st);
    int from_rv = rvs && *rvs && strcmp(rvs, "0");
    uint64_t rv = from_rv ? strtoull(rvs, NULL, 10) : 0;
    /* sendInitialEvents=true: the state now (not older than rv), then changes; =false: changes
     * after rv, or after now without one; unset: the legacy rules (a state only without rv) */
    int list = initial == 1 || (initial < 0 && !from_rv);
    apierr e = {0};
    if (from_rv && rv > cur) {
        apierr_set(&e, ST_TIMEOUT, "Timeout: Too large resource version: %llu, current: %llu",
                   (unsigned long long)rv, (unsigned long long)cur);
        apierr_details(&e, NULL, NULL, NULL, NULL);
        e.causes = json_pack("[{s:s,s:s}]", "reason", "ResourceVersionTooLarge", "message", "Too large resource version");
        e.retry_after = 1;
        labelsel_free(ls);
        fieldsel_free(fs);
        send_error_event(r->http, &e);
        return;
    }
    if (from_rv && !list && rv < store_compact_rev(st)) {
        apierr_set(&e, ST_EXPIRED, "too old resource version: %llu (%llu)", (unsigned long long)rv,
                   (unsigned long long)store_compact_rev(st));
        labelsel_free(ls);
        fieldsel_free(fs);
        send_error_event(r->http, &e);
        return;
    }
    watcher *w = calloc(1, sizeof *w);
    w->hub = h;
    w->http = r->http;
    w->res = r->res;
    w->ls = ls;
    w->fs = fs;
    if (r->res->namespaced && *r->ns)
        snprintf(w->prefix, sizeof w->prefix, "%s/%s/", r->res->plural, r->ns);
    else
        snprintf(w->prefix, sizeof w->prefix, "%s/", r->res->plural);
    w->prefix_len = strlen(w->prefix);
    if (r->name)
        w->name = strdup(r->name);
    char *v = http_query_get(r->http, "allowWatchBookmarks");
    w->bookmarks = api_query_bool(v);
    free(v);
    w->table = api_table_wanted(r, &w->inc);
    uv_timer_init(h->api->loop, &w->timeout);
    uv_timer_init(h->api->loop, &w->bookmark);
    uv_timer_init(h->api->loop, &w->pace);
    w->timeout.data = w->bookmark.data = w->pace.data = w;
    w->next = h->head;
    if (h->head)
        h->head->prev = w;
    h->head = w;
    h->count++;
    http_req_on_gone(r->http, on_gone, w);
    http_stream_begin(r->http, 200, "application/json");
    w->end_bookmark = initial == 1 && w->bookmarks;
    if (!list) {
        w->last_rv = w->cursor_rv = from_rv ? rv : cur;
        w->replay = REPLAY_CHANGES;
    } else {
        w->last_rv = w->snap_rv = cur;
        w->replay = REPLAY_LIST;
    }
    replay_run(w);
    if (w->ended)
        return;
    v = http_query_get(r->http, "timeoutSeconds");
    uint64_t timeout_ms;
    if (v && *v && atoll(v) > 0)
        timeout_ms = (uint64_t)atoll(v) * 1000;
    else /* kube: a random time between the minimum request timeout and twice that */
        timeout_ms = (1800 + (uint64_t)(rand() % 1800)) * 1000;
    free(v);
    uv_timer_start(&w->timeout, on_timeout, timeout_ms, 0);
    if (w->bookmarks)
        uv_timer_start(&w->bookmark, on_bookmark, h->bookmark_ms, h->bookmark_ms);
}

watch_hub *watch_hub_new(api_t *api)
{
    watch_hub *h = calloc(1, sizeof *h);
    h->api = api;
    h->bookmark_ms = 30000;
    store_on_commit(api->store, on_commit, h);
    return h;
}

void watch_hub_free(watch_hub *h)
{
    if (!h)
        return;
    while (h->head)
        watcher_end(h->head);
    enc_reset(h);
    free(h->fan.w);
    free(h->fan.slot);
    free(h->fan.sel);
    free(h->fan.req);
    free(h->fan.res);
    free(h);
}

size_t watch_count(const watch_hub *h) { return h->count; }

void watch_set_bookmark_interval(watch_hub *h, unsigned ms) { h->bookmark_ms = ms ? ms : 30000; }

void watch_collect(watch_hub *h, metrics_sink *sink)
{
    for (watcher *w = h->head; w; w = w->next) {
        const char *v[] = {"WATCH", w->res->group, w->res->version, w->res->plural, "",
                           w->name ? "resource" : w->prefix_len > strlen(w->res->plural) + 1 ? "namespace" : "cluster",
                           "apiserver"};
        metrics_sink_add(sink, v, 1);
    }
}
