/* store — the durable object log with an in-memory MVCC index (contract: store.h).
 *
 * Memory layout
 *
 *   skip list (byte order of key)          entry.head ─► newest ─prev─► older ─prev─► ... ─► NULL
 *   ┌──────┐   ┌──────┐   ┌──────┐                     [pending ... pending][committed ... committed]
 *   │ head │──►│ a/.. │──►│ b/.. │──► ...
 *   └──────┘   └──────┘   └──────┘        ring: committed records with rv > compact_rev, rv order
 *
 * A record's life (one per store_write):
 *
 *   store_write ──► QUEUED ──stage──► STAGED ──writer takes──► WRITTEN ──finish: ok──► COMMITTED
 *   (chain head,   (s->queue)        (s->staged)  the batch    (s->done)               (ring,
 *    rev_assigned++)  │                  │                        │          callbacks, listeners)
 *                     └──────────────────┴────────────────────────┴──finish: failed──► ROLLED BACK
 *                                     (popped off its chain, cb(STORE_ERR_IO), rev reset) ──compact──► dropped
 * The writer, a thread of its own:
 *
 *   loop:    store_write ─► queue ─(turn's end: store_flush, or the idle kick)─► stage: the
 *            queue goes into the staged batch, which grows until the writer takes it
 *   writer:  IDLE ──staged──► WRITING (BEGIN, INSERTs, COMMIT with its fdatasync) ──► DONE list,
 *            eventfd ──► IDLE, or at once the next staged batch
 *            IDLE ──catchup (a pool checkpoint left a little over)──► checkpoint ──► IDLE
 *   loop:    on_done: finish() each done batch, in order
 *
 * So a commit starts as soon as the last one ended, not when the loop next gets to it, while
 * batches stay one SQLite transaction (and one fdatasync) each, written one at a time in order.
 *
 * Invariants (beyond store.h):
 *  1. Only the writer thread touches s->db between store_open and store_close (which joins it
 *     after it wrote everything staged). s->staged, s->done, s->writing, s->poisoned and
 *     s->catchup are under s->mu; s->wal_pages is atomic; everything else is the loop's.
 *  1a. A failed batch poisons the writer: it fails every later batch unwritten, so no later
 *     revision commits around the hole, until the loop (fail_from) has taken all of them, the
 *     staged batch and the queue, and rolled every pending record back.
 *  2. rev <= rev_assigned; records with rv <= rev are committed, the others pending. All pending
 *     records sit above all committed ones in every chain, newest first.
 *  3. References: an entry owns its head, a record owns its prev, the ring owns each of its
 *     records, a queued/staged/written op owns its record. A record held from outside keeps its older
 *     versions alive even after compaction unlinked them.
 *  4. Compaction to C (C <= rev) keeps, per key, every version with rv > C plus the newest version
 *     with rv <= C unless it is a tombstone; the ring keeps rv > C. Hence a list at R is exact iff
 *     R >= compact_rev, and changes after A are complete iff A >= compact_rev.
 *  5. SQLite holds the same history: the SQL compaction (superseded rows and tombstones with
 *     id <= C, plus meta.compact_rev = C) runs in its own transaction on the writer, after the
 *     batch's records; it may lag the in-memory compaction (then a restart keeps more history).
 *  6. After a restart rev = max(MAX(id), meta.compact_rev), so revisions never go back even when
 *     compaction emptied the log.
 *  7. No entry is unlinked while user code runs from store_list/store_changes_since/finish:
 *     compaction requested there is deferred (s->busy) until it returns.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sqlite3.h>
#include "store.h"
#include "jsonio.h"
#include "walbuf.h"

#define SL_MAXLVL 24
#define DEFAULT_RETAIN 10000
#define DEFAULT_COMPACT_MS 60000
#define BUSY_TIMEOUT_MS 5000

typedef struct entry {
    store_rec *head;          /* newest version, pending or committed; never NULL while linked */
    const char *key;          /* inside this allocation */
    uint64_t hash;            /* of key, for the hash index */
    int level;
    struct entry *next[];     /* level forward pointers */
} entry;

typedef struct op {
    store_rec *rec;           /* one reference */
    uint64_t prev_rv;         /* rv of the version it replaced (0 = none); computed on the loop */
    store_write_cb cb;
    void *arg;
} op;

typedef struct opvec {
    op *v;
    size_t n, cap;
} opvec;

typedef struct batch {
    struct batch *next;       /* in s->done */
    opvec ops;                /* records to insert, rv order */
    uint64_t cmp_from, cmp_to;/* SQL compaction of (cmp_from, cmp_to]; none when cmp_to == 0 */
    int rc, cmp_rc;           /* SQLite result codes of the two transactions */
    double secs;
    char err[200];
} batch;

typedef struct listener {
    store_commit_fn fn;
    void *arg;
} listener;

struct store {
    uv_loop_t *loop;
    store_batch_fn batch_fn;   /* per committed batch (metrics) */
    store_tag_fn tag_fn;       /* store_on_tag */
    void *tag_arg;
    void *batch_arg;
    sqlite3 *db;
    sqlite3 *ckdb;            /* the checkpointer's own connection (see "checkpoints") */
    struct ckpt *ckpt;        /* the checkpoint running, or NULL */
    int wal_pages;            /* WAL size after the last commit (writer thread → loop) */
    int catchup;              /* under mu: CATCHUP_* (the writer finishes a checkpoint, see there) */
    sqlite3_stmt *st_begin, *st_commit, *st_rollback, *st_ins, *st_cdel_prev, *st_cdel_tomb,
        *st_meta;

    entry *sl;                /* skip list head sentinel (SL_MAXLVL levels, no key) */
    int sl_level;
    entry **hx;               /* hash index of the skip list's entries (see "hash index") */
    size_t hx_cap, hx_n;
    uint64_t rng;

    uint64_t rev;             /* last committed revision */
    uint64_t rev_assigned;    /* last assigned revision (pending included) */
    uint64_t compact_rev;     /* in memory */
    uint64_t sql_compact_rev; /* in SQLite (meta) */
    uint64_t sql_compact_want;/* target for the next SQL compaction */
    uint64_t deferred_compact;

    store_rec **ring;         /* circular; committed records with rv > compact_rev */
    size_t ring_head, ring_len, ring_cap;

    opvec queue;              /* written, not yet in a batch */
    uv_idle_t *kick;          /* stages the queue on the next loop turn */
    uv_timer_t *timer;        /* automatic compaction, unref'ed */
    /* The writer finished a batch: it writes done_fd (an eventfd) after it lets go of mu; the
     * loop polls it. Not a uv_async_t: on one CPU the loop wakes inside uv_async_send, before
     * the writer marks the send complete, and then spins (~25 us) until the writer runs again. */
    uv_poll_t *done_poll;     /* ref'ed while batches are out */
    int done_fd;
    size_t out;               /* batches staged, being written or done, not yet finished */
    uint64_t cmp_staged;      /* the highest SQL compaction handed to the writer */
    uv_thread_t writer;
    int has_writer;
    /* Under mu (with cv: the writer waits for work, the loop for an idle writer): */
    uv_mutex_t mu;
    uv_cond_t cv;
    batch *staged;            /* the next batch, still growing; the writer takes it when idle */
    batch *done, **done_tail; /* written, in order, for the loop */
    int writing;              /* the writer holds a batch */
    int poisoned;             /* a batch failed: the writer fails the ones after it unwritten */
    int stop;                 /* store_close: write what is staged, then end */
    size_t expect;            /* writes the last finished batch answered (see writer_main) */
    uint64_t wait_ns;         /* how long the writer may wait for them: its last commit's time */

    listener *lis;
    size_t nlis;
    uint64_t retain;
    int busy;                 /* depth of user callbacks run from the store */
    int closing;
    uint64_t live;            /* committed live keys */
    store_stats st;
};

/* s->catchup: a pool checkpoint left a little over; the writer is copying it back */
enum { CATCHUP_NONE, CATCHUP_ASKED, CATCHUP_RUNNING };

static void kick_cb(uv_idle_t *h);
static void catch_up(store_t *s);

static char *fmt(const char *f, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, f);
    if (vasprintf(&out, f, ap) < 0)
        out = NULL;
    va_end(ap);
    return out;
}

/* ---- records ---------------------------------------------------------------------------- */

/* New record with refs = 1; takes data (malloc'ed) and labels' reference. */
static store_rec *rec_new(const char *key, char *data, size_t len, json_t *labels, int deleted,
                          uint64_t rv)
{
    size_t klen = strlen(key);
    store_rec *r = malloc(sizeof *r + klen + 1);
    if (!r) {
        free(data);
        json_decref(labels);
        return NULL;
    }
    r->refs = 1;
    r->rv = rv;
    r->deleted = deleted;
    r->committed = 0;
    r->key = (char *)(r + 1);
    memcpy(r->key, key, klen + 1);
    r->data = data;
    r->len = len;
    r->labels = labels;
    r->tags = 0;
    r->prev = NULL;
    return r;
}

void store_rec_ref(const store_rec *r)
{
    if (r)
        ((store_rec *)r)->refs++;
}

/* Iterative: dropping the last reference to a long chain must not recurse. */
void store_rec_unref(const store_rec *cr)
{
    store_rec *r = (store_rec *)cr;
    while (r) {
        assert(r->refs > 0);
        if (--r->refs > 0)
            return;
        store_rec *p = r->prev;
        json_decref(r->labels);
        free(r->data);
        free(r);
        r = p;
    }
}

/* The previous version as the listeners see it: live, or NULL (create, or after a tombstone). */
static const store_rec *live_prev(const store_rec *r)
{
    return r->prev && !r->prev->deleted ? r->prev : NULL;
}

/* ---- hash index ------------------------------------------------------------------------
 *
 * Point lookups (get, the create's name and namespace checks, every write's entry) go through a
 * hash index of the skip list's entries: open addressing, linear probing, a power-of-two table
 * at most half full, deletion by backward shift. A skip list search made ~30 key comparisons,
 * each a cache miss, at 150,000 keys, and a create made four searches; the skip list stays for
 * everything ordered (lists, prefixes, pages). */

static uint64_t key_hash(const char *k)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static entry *hx_find(const store_t *s, const char *key, uint64_t h)
{
    if (!s->hx_cap)
        return NULL;
    size_t mask = s->hx_cap - 1;
    for (size_t i = h & mask; s->hx[i]; i = (i + 1) & mask)
        if (s->hx[i]->hash == h && !strcmp(s->hx[i]->key, key))
            return s->hx[i];
    return NULL;
}

static void hx_place(entry **t, size_t cap, entry *e)
{
    size_t i = e->hash & (cap - 1);
    while (t[i])
        i = (i + 1) & (cap - 1);
    t[i] = e;
}

/* Room for one more entry; -1 when the table cannot grow. */
static int hx_reserve(store_t *s)
{
    if ((s->hx_n + 1) * 2 <= s->hx_cap)
        return 0;
    size_t cap = s->hx_cap ? s->hx_cap * 2 : 1024;
    entry **t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < s->hx_cap; i++)
        if (s->hx[i])
            hx_place(t, cap, s->hx[i]);
    free(s->hx);
    s->hx = t;
    s->hx_cap = cap;
    return 0;
}

static void hx_remove(store_t *s, const entry *e)
{
    size_t mask = s->hx_cap - 1, i = e->hash & mask;
    while (s->hx[i] != e)
        i = (i + 1) & mask;
    /* backward shift: pull up every later entry of the run that may sit at i */
    for (size_t j = (i + 1) & mask; s->hx[j]; j = (j + 1) & mask) {
        size_t home = s->hx[j]->hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            s->hx[i] = s->hx[j];
            i = j;
        }
    }
    s->hx[i] = NULL;
    s->hx_n--;
}

/* ---- skip list -------------------------------------------------------------------------- */

static int sl_level_rand(store_t *s)
{
    uint64_t x = s->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->rng = x;
    int lvl = 1;
    while (lvl < SL_MAXLVL && (x & 3) == 0) { /* p = 1/4 */
        lvl++;
        x >>= 2;
    }
    return lvl;
}

/* First entry with key >= key; update[] (optional) gets the last entry < key on each level. */
static entry *sl_search(store_t *s, const char *key, entry **update)
{
    entry *x = s->sl;
    for (int i = s->sl_level - 1; i >= 0; i--) {
        while (x->next[i] && strcmp(x->next[i]->key, key) < 0)
            x = x->next[i];
        if (update)
            update[i] = x;
    }
    return x->next[0];
}

static entry *sl_find(store_t *s, const char *key)
{
    return hx_find(s, key, key_hash(key));
}

/* Entry for key, created (empty head) if absent; NULL on allocation failure. */
static entry *sl_get_or_insert(store_t *s, const char *key)
{
    uint64_t h = key_hash(key);
    entry *e = hx_find(s, key, h);
    if (e)
        return e;
    if (hx_reserve(s) < 0)
        return NULL;
    entry *update[SL_MAXLVL];
    sl_search(s, key, update);
    int lvl = sl_level_rand(s);
    size_t klen = strlen(key);
    e = malloc(sizeof *e + (size_t)lvl * sizeof(entry *) + klen + 1);
    if (!e)
        return NULL;
    char *k = (char *)&e->next[lvl];
    memcpy(k, key, klen + 1);
    e->key = k;
    e->hash = h;
    e->head = NULL;
    e->level = lvl;
    for (int i = s->sl_level; i < lvl; i++)
        update[i] = s->sl;
    if (lvl > s->sl_level)
        s->sl_level = lvl;
    for (int i = 0; i < lvl; i++) {
        e->next[i] = update[i]->next[i];
        update[i]->next[i] = e;
    }
    hx_place(s->hx, s->hx_cap, e);
    s->hx_n++;
    return e;
}

/* Unlink and free e; its chain must already be empty. */
static void sl_remove(store_t *s, entry *e)
{
    entry *update[SL_MAXLVL];
    entry *x = sl_search(s, e->key, update);
    assert(x == e && !e->head);
    (void)x;
    hx_remove(s, e);
    for (int i = 0; i < e->level; i++)
        if (update[i]->next[i] == e)
            update[i]->next[i] = e->next[i];
    while (s->sl_level > 1 && !s->sl->next[s->sl_level - 1])
        s->sl_level--;
    free(e);
}

/* ---- history ring ----------------------------------------------------------------------- */

static store_rec *ring_at(const store_t *s, size_t i)
{
    return s->ring[(s->ring_head + i) % s->ring_cap];
}

static int ring_push(store_t *s, store_rec *r)
{
    if (s->ring_len == s->ring_cap) {
        size_t cap = s->ring_cap ? s->ring_cap * 2 : 1024;
        store_rec **n = malloc(cap * sizeof *n);
        if (!n)
            return -1;
        for (size_t i = 0; i < s->ring_len; i++)
            n[i] = ring_at(s, i);
        free(s->ring);
        s->ring = n;
        s->ring_cap = cap;
        s->ring_head = 0;
    }
    s->ring[(s->ring_head + s->ring_len++) % s->ring_cap] = r;
    store_rec_ref(r);
    return 0;
}

/* Index of the first ring record with rv > after (ring_len if none). */
static size_t ring_find_after(const store_t *s, uint64_t after)
{
    size_t lo = 0, hi = s->ring_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ring_at(s, mid)->rv <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- compaction in memory --------------------------------------------------------------- */

/* Drop e's versions superseded at or below c, and its newest version <= c if a tombstone. */
static void chain_truncate(store_t *s, entry *e, uint64_t c)
{
    store_rec **link = &e->head;
    while (*link && (*link)->rv > c)
        link = &(*link)->prev;
    store_rec *b = *link;
    if (!b)
        return;
    if (b->deleted) {
        *link = NULL;              /* the link's reference to b (and b's to its prev) go */
        store_rec_unref(b);
    } else if (b->prev) {
        store_rec *p = b->prev;
        b->prev = NULL;
        store_rec_unref(p);
    }
    if (!e->head)
        sl_remove(s, e);
}

/* Only keys written after the previous compaction can hold droppable versions: those are the
 * ring's records up to c. */
static void compact_mem(store_t *s, uint64_t c)
{
    assert(c <= s->rev && !s->busy);
    while (s->ring_len && ring_at(s, 0)->rv <= c) {
        store_rec *r = ring_at(s, 0);
        s->ring_head = (s->ring_head + 1) % s->ring_cap;
        s->ring_len--;
        entry *e = sl_find(s, r->key);
        if (e)
            chain_truncate(s, e, c);
        store_rec_unref(r);
    }
    if (c > s->compact_rev)
        s->compact_rev = c;
}

static void kick(store_t *s)
{
    if (!s->closing && !uv_is_active((uv_handle_t *)s->kick))
        uv_idle_start(s->kick, kick_cb);
}

void store_compact(store_t *s, uint64_t rv)
{
    if (s->closing)
        return;
    if (rv > s->rev)
        rv = s->rev;
    if (s->busy) {
        if (rv > s->deferred_compact)
            s->deferred_compact = rv;
        return;
    }
    if (rv <= s->compact_rev)
        return;
    compact_mem(s, rv);
    if (rv > s->sql_compact_want)
        s->sql_compact_want = rv;
    kick(s);
}

/* Leave a section that ran user code; run the compaction it asked for. */
static void leave(store_t *s)
{
    assert(s->busy > 0);
    if (--s->busy == 0 && s->deferred_compact) {
        uint64_t c = s->deferred_compact;
        s->deferred_compact = 0;
        store_compact(s, c);
    }
}

static void timer_cb(uv_timer_t *t)
{
    store_t *s = t->data;
    if (s->rev > s->retain)
        store_compact(s, s->rev - s->retain);
}

/* ---- the writer ------------------------------------------------------------------------- */

static int opvec_push(opvec *v, op o)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        op *n = realloc(v->v, cap * sizeof *n);
        if (!n)
            return -1;
        v->v = n;
        v->cap = cap;
    }
    v->v[v->n++] = o;
    return 0;
}

static void opvec_release(opvec *v)
{
    for (size_t i = 0; i < v->n; i++)
        store_rec_unref(v->v[i].rec);
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

/* sqlite3_step to completion and reset; SQLITE_OK or the error. */
static int run_stmt(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int txn_end(store_t *s, int rc, char *err, size_t errlen)
{
    if (rc == SQLITE_OK)
        rc = run_stmt(s->st_commit);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
        if (!sqlite3_get_autocommit(s->db))
            run_stmt(s->st_rollback);
    }
    return rc;
}

/* Writer thread: touches only s->db, the statements and the batch's (immutable) records. */
static void batch_write(store_t *s, batch *b)
{
    if (b->ops.n) {
        uint64_t t0 = uv_hrtime();
        int rc = run_stmt(s->st_begin);
        for (size_t i = 0; i < b->ops.n && rc == SQLITE_OK; i++) {
            const op *o = &b->ops.v[i];
            const store_rec *r = o->rec;
            sqlite3_bind_int64(s->st_ins, 1, (sqlite3_int64)r->rv);
            sqlite3_bind_text(s->st_ins, 2, r->key, -1, SQLITE_STATIC);
            sqlite3_bind_int(s->st_ins, 3, r->deleted);
            sqlite3_bind_int64(s->st_ins, 4, (sqlite3_int64)o->prev_rv);
            sqlite3_bind_blob(s->st_ins, 5, r->data, (int)r->len, SQLITE_STATIC);
            rc = run_stmt(s->st_ins);
        }
        sqlite3_clear_bindings(s->st_ins);
        b->rc = txn_end(s, rc, b->err, sizeof b->err);
        b->secs = (double)(uv_hrtime() - t0) / 1e9;
    }
    if (b->cmp_to) {
        int rc = run_stmt(s->st_begin);
        sqlite3_stmt *del[] = {s->st_cdel_prev, s->st_cdel_tomb};
        for (size_t i = 0; i < 2 && rc == SQLITE_OK; i++) {
            sqlite3_bind_int64(del[i], 1, (sqlite3_int64)b->cmp_from);
            sqlite3_bind_int64(del[i], 2, (sqlite3_int64)b->cmp_to);
            rc = run_stmt(del[i]);
        }
        if (rc == SQLITE_OK) {
            sqlite3_bind_int64(s->st_meta, 1, (sqlite3_int64)b->cmp_to);
            rc = run_stmt(s->st_meta);
        }
        char err[200];
        b->cmp_rc = txn_end(s, rc, err, sizeof err);
        if (b->cmp_rc != SQLITE_OK && !b->err[0])
            snprintf(b->err, sizeof b->err, "%s", err);
    }
}

/* The writer thread: takes the staged batch whenever it is idle, so that the next commit starts
 * as soon as the last one ends (not when the loop next gets to it), and hands written batches
 * back in order. After a failed batch it fails every later one without writing it, until the
 * loop has rolled them all back: a later batch's revisions must not commit around a hole. */
#define WAIT_MAX_NS 1000000 /* 1 ms */

/* Any thread: wake the loop for the done list. Called with mu released, so that the loop,
 * if it runs at once on this CPU, finds mu free. */
static void notify_done(store_t *s)
{
    uint64_t one = 1;
    while (write(s->done_fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
    /* EAGAIN: the counter is at its maximum, so the loop is woken already */
}

static void writer_main(void *arg)
{
    store_t *s = arg;
    pthread_setname_np(pthread_self(), "store-writer");
    uv_mutex_lock(&s->mu);
    for (;;) {
        while (!s->staged && !s->stop && s->catchup != CATCHUP_ASKED)
            uv_cond_wait(&s->cv, &s->mu);
        if (s->catchup == CATCHUP_ASKED) {
            if (!s->poisoned && !s->stop) {
                s->catchup = CATCHUP_RUNNING; /* no pool checkpoint starts meanwhile */
                uv_mutex_unlock(&s->mu);
                catch_up(s);
                uv_mutex_lock(&s->mu);
            }
            s->catchup = CATCHUP_NONE;
            continue;
        }
        /* Clients answered by the last batch tend to write again at once, a few at a time as
         * their next requests come in. Taking the first of them alone would make the rest wait
         * for a whole commit (its fdatasync costs about the same for one record as for twenty):
         * while the staged batch is smaller than the last one answered, wait for it to fill, at
         * most as long as the last commit took. A wait that runs out lowers the expectation to
         * what came, so writers that do not come back cost one wait. A lone writer (expect 1)
         * never waits. */
        if (s->staged && s->staged->ops.n < s->expect && !s->stop) {
            uint64_t deadline = uv_hrtime() + s->wait_ns;
            while (s->staged && s->staged->ops.n < s->expect && !s->stop) {
                uint64_t now = uv_hrtime();
                if (now >= deadline || uv_cond_timedwait(&s->cv, &s->mu, deadline - now)) {
                    if (s->staged)
                        s->expect = s->staged->ops.n;
                    break;
                }
            }
            if (!s->staged)
                continue; /* fail_from took it */
        }
        batch *b = s->staged;
        if (!b)
            break; /* stop, and nothing left to write */
        s->staged = NULL;
        s->writing = 1;
        int poisoned = s->poisoned;
        uv_mutex_unlock(&s->mu);
        if (poisoned) {
            b->rc = b->cmp_rc = SQLITE_ABORT;
            snprintf(b->err, sizeof b->err, "an earlier commit failed");
        } else {
            batch_write(s, b);
        }
        uv_mutex_lock(&s->mu);
        if (b->ops.n) {
            uint64_t ns = (uint64_t)(b->secs * 1e9);
            s->wait_ns = ns < WAIT_MAX_NS ? ns : WAIT_MAX_NS;
        }
        if (b->ops.n && b->rc != SQLITE_OK)
            s->poisoned = 1;
        s->writing = 0;
        *s->done_tail = b;
        s->done_tail = &b->next;
        uv_cond_broadcast(&s->cv);
        uv_mutex_unlock(&s->mu);
        notify_done(s);
        uv_mutex_lock(&s->mu);
    }
    uv_mutex_unlock(&s->mu);
}

/* Undo every pending record, newest first, and fail their writes in revision order. sets: the
 * vectors that hold them all, in revision order (the queue last); each is released. */
static void rollback_pending(store_t *s, opvec **sets, size_t nsets)
{
    for (size_t k = nsets; k-- > 0;) {
        opvec *v = sets[k];
        for (size_t i = v->n; i-- > 0;) {
            store_rec *r = v->v[i].rec;
            entry *e = sl_find(s, r->key);
            assert(e && e->head == r);
            e->head = r->prev;     /* r's reference to prev moves back to the entry */
            r->prev = NULL;
            store_rec_unref(r);    /* the entry's reference; the op still holds one */
            if (!e->head)
                sl_remove(s, e);
        }
    }
    __atomic_store_n(&s->rev_assigned, s->rev, __ATOMIC_RELAXED);
    for (size_t k = 0; k < nsets; k++) {
        opvec *v = sets[k];
        for (size_t i = 0; i < v->n; i++)
            if (v->v[i].cb)
                v->v[i].cb(v->v[i].arg, STORE_ERR_IO, v->v[i].rec);
        opvec_release(v);
    }
}

static void batch_free(store_t *s, batch *b)
{
    opvec_release(&b->ops);
    free(b);
    if (--s->out == 0)
        uv_unref((uv_handle_t *)s->done_poll);
}

/* b failed: every record after it is pending too, in batches the writer failed or will fail
 * unwritten (it is poisoned), in the staged batch and in the queue. Wait for the writer to be
 * idle, take them all, roll everything back and let the writer go on. */
static void fail_from(store_t *s, batch *b)
{
    uv_mutex_lock(&s->mu);
    while (s->writing)
        uv_cond_wait(&s->cv, &s->mu);
    *s->done_tail = s->staged; /* the staged batch comes after every written one */
    batch *later = s->done;
    s->done = s->staged = NULL;
    s->done_tail = &s->done;
    s->poisoned = 0;
    uv_mutex_unlock(&s->mu);
    size_t n = 2;
    for (batch *t = later; t; t = t->next)
        n++;
    opvec **sets = malloc(n * sizeof *sets);
    if (!sets)
        abort(); /* a few pointers; nothing sensible is left to do without them */
    n = 0;
    sets[n++] = &b->ops;
    for (batch *t = later; t; t = t->next)
        sets[n++] = &t->ops;
    sets[n++] = &s->queue;
    rollback_pending(s, sets, n);
    free(sets);
    memset(&s->queue, 0, sizeof s->queue);
    while (later) {
        batch *t = later;
        later = t->next;
        batch_free(s, t);
    }
    /* their SQL compaction did not run either: the next one starts from what did */
    s->sql_compact_want = s->cmp_staged = s->sql_compact_rev;
}

/* On the loop: publish a finished batch. Runs user callbacks; compaction they ask is deferred. */
static void finish(store_t *s, batch *b)
{
    opvec *v = &b->ops;
    s->busy++;
    if (v->n && b->rc == SQLITE_OK) {
        s->st.commits++;
        s->st.syncs++;
        s->st.records += v->n;
        if (v->n > s->st.max_batch)
            s->st.max_batch = v->n;
        s->st.commit_seconds += b->secs;
        if (s->batch_fn)
            s->batch_fn(s->batch_arg, b->secs, v->n, 1);
        for (size_t i = 0; i < v->n; i++) {
            store_rec *r = v->v[i].rec;
            assert(r->rv == s->rev + 1);
            r->committed = 1;
            s->rev = r->rv;
            int was_live = live_prev(r) != NULL;
            s->live += !r->deleted && !was_live;
            s->live -= r->deleted && was_live;
            if (ring_push(s, r) < 0)
                fprintf(stderr, "store: out of memory for history at rv %" PRIu64 "\n", r->rv);
        }
        for (size_t i = 0; i < v->n; i++)
            if (v->v[i].cb)
                v->v[i].cb(v->v[i].arg, 0, v->v[i].rec);
        for (size_t i = 0; i < v->n; i++) {
            const store_rec *r = v->v[i].rec, *p = live_prev(r);
            for (size_t l = 0; l < s->nlis; l++)
                s->lis[l].fn(s->lis[l].arg, r, p);
        }
    } else if (v->n) {
        fprintf(stderr, "store: commit of %zu records (rv %" PRIu64 "..%" PRIu64 ") failed: %s\n",
                v->n, v->v[0].rec->rv, v->v[v->n - 1].rec->rv, b->err);
        fail_from(s, b);
    }
    if (b->cmp_to) {
        if (b->cmp_rc == SQLITE_OK) {
            s->st.syncs++;
            s->sql_compact_rev = b->cmp_to;
        } else {
            /* dropped: the next compaction's range (from sql_compact_rev) covers this one */
            fprintf(stderr, "store: compaction to %" PRIu64 " failed: %s\n", b->cmp_to, b->err);
            s->sql_compact_want = s->cmp_staged = s->sql_compact_rev;
        }
    }
    opvec_release(v);
    leave(s);
}

/* ---- checkpoints ---------------------------------------------------------------------------
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses its threshold: that commit's
 * writers wait for store.db to be written and synced (~5 ms here) and no batch can start. Instead
 * the writer only reports the WAL's size (the WAL hook, which also turns the automatic checkpoint
 * off), and past CKPT_PAGES a PASSIVE checkpoint runs on a pool thread through a connection of
 * its own, beside the commits (WAL mode lets a checkpointer and a writer run together).
 *
 * The writer's next transaction starts the WAL over from its beginning only once everything in
 * it has been copied back, and under steady writes that never happens by itself: the commits
 * made while a checkpoint runs are always left over, so the WAL grew past its preallocated size
 * (18 MB to 24 MB in 6 s at one connection) and every commit appended (fdatasync ~170 µs against
 * ~105 µs for an overwrite, on this disk). So when a checkpoint ends with at most CATCHUP_PAGES
 * left over, the writer copies those back itself, between two batches (a few ms at most, once
 * per WAL), and its next transaction restarts the WAL. With more left over, the next pool
 * checkpoint copies them: each takes time in proportion to what it copies, so they shrink. */
#define CKPT_PAGES 4000 /* ~16 MB of 4 KiB pages */
#define CATCHUP_PAGES 1024

typedef struct ckpt {
    uv_work_t req;
    store_t *s;
    int done, orphaned, rc;
    int nlog, nckpt;          /* frames in the WAL, frames copied back */
    char err[200];
} ckpt;

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    __atomic_store_n(&((store_t *)arg)->wal_pages, pages, __ATOMIC_RELAXED);
    return SQLITE_OK;
}

static void ckpt_work(uv_work_t *req)
{
    ckpt *c = (ckpt *)req;
    store_t *s = c->s;
    c->rc = sqlite3_wal_checkpoint_v2(s->ckdb, NULL, SQLITE_CHECKPOINT_PASSIVE, &c->nlog, &c->nckpt);
    if (c->rc != SQLITE_OK)
        snprintf(c->err, sizeof c->err, "%s", sqlite3_errmsg(s->ckdb));
    uv_mutex_lock(&s->mu);
    c->done = 1;
    int left = __atomic_load_n(&s->wal_pages, __ATOMIC_RELAXED) - c->nckpt;
    if (c->rc == SQLITE_OK && left > 0 && left <= CATCHUP_PAGES)
        s->catchup = CATCHUP_ASKED;
    /* under mu, unlike the other wakeups: once it sees c->done, ckpt_wait may free the store */
    uv_cond_broadcast(&s->cv); /* the writer waits on cv too */
    uv_mutex_unlock(&s->mu);
}

/* Writer thread, between batches, mu released: copy back what the last pool checkpoint left. */
static void catch_up(store_t *s)
{
    int nlog = 0, nckpt = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
    if (rc == SQLITE_OK && nckpt == nlog)
        __atomic_store_n(&s->wal_pages, 0, __ATOMIC_RELAXED); /* the next commit restarts it */
    else if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        fprintf(stderr, "store: checkpoint failed: %s\n", sqlite3_errmsg(s->db));
}

static void ckpt_after(uv_work_t *req, int status)
{
    ckpt *c = (ckpt *)req;
    (void)status;
    if (!c->orphaned) {
        c->s->ckpt = NULL;
        /* BUSY: a reader or the writer held what it needed; the next commit asks again */
        if (c->rc != SQLITE_OK && c->rc != SQLITE_BUSY)
            fprintf(stderr, "store: checkpoint failed: %s\n", c->err);
    }
    free(c);
}

static void maybe_checkpoint(store_t *s)
{
    if (s->ckpt || s->closing || !s->ckdb || __atomic_load_n(&s->wal_pages, __ATOMIC_RELAXED) < CKPT_PAGES)
        return;
    uv_mutex_lock(&s->mu);
    int catchup = s->catchup != CATCHUP_NONE; /* the writer finishes the last one first */
    uv_mutex_unlock(&s->mu);
    if (catchup)
        return;
    ckpt *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->s = s;
    s->ckpt = c;
    if (uv_queue_work(s->loop, &c->req, ckpt_work, ckpt_after) != 0) {
        s->ckpt = NULL;
        free(c);
    }
}

/* The WAL is written with zeros up to the size it reaches between checkpoints, once, at open.
 * A commit that appends to a file makes fdatasync write the file's size and block map too (an
 * inode and a bitmap, on ext4 without a journal as here: measured 420-520 µs against 280-300 µs
 * for the same frames written over old ones); zeros written ahead turn every later commit into
 * an overwrite (etcd preallocates its WAL segments for the same reason). SQLite reads the WAL
 * only up to the first frame whose salt and checksum do not follow the header's, and a zero
 * frame never does, so the zeros are never taken for frames (and a WAL restarted after a
 * checkpoint is overwritten the same way). ~40 ms at open here. Skipped silently when the WAL is
 * not open or cannot be written: only speed is lost. */
#define WAL_PREALLOC ((sqlite3_int64)(CKPT_PAGES + CKPT_PAGES / 10) * (4096 + 24))

static void wal_preallocate(store_t *s)
{
    sqlite3_file *f = NULL;
    sqlite3_int64 size;
    if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK || !f ||
        !f->pMethods || f->pMethods->xFileSize(f, &size) != SQLITE_OK || size >= WAL_PREALLOC)
        return;
    static const char zeros[1 << 16];
    for (sqlite3_int64 off = size, n; off < WAL_PREALLOC; off += n) {
        n = WAL_PREALLOC - off;
        if (n > (sqlite3_int64)sizeof zeros)
            n = sizeof zeros;
        if (f->pMethods->xWrite(f, zeros, (int)n, off) != SQLITE_OK)
            return;
    }
    f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
}

static void ckpt_wait(store_t *s)
{
    ckpt *c = s->ckpt;
    if (!c)
        return;
    uv_mutex_lock(&s->mu);
    while (!c->done)
        uv_cond_wait(&s->cv, &s->mu);
    uv_mutex_unlock(&s->mu);
    c->orphaned = 1; /* ckpt_after frees it when the loop runs */
    s->ckpt = NULL;
}

/* On the loop: finish what the writer handed back, in order. */
static void finish_done(store_t *s)
{
    for (;;) {
        uv_mutex_lock(&s->mu);
        batch *b = s->done;
        if (b && !(s->done = b->next))
            s->done_tail = &s->done;
        if (b && b->ops.n)
            s->expect = b->ops.n;
        uv_mutex_unlock(&s->mu);
        if (!b)
            break;
        finish(s, b);
        batch_free(s, b);
    }
    maybe_checkpoint(s);
}

static void on_done(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    store_t *s = h->data;
    uint64_t n;
    while (read(s->done_fd, &n, sizeof n) < 0 && errno == EINTR)
        ; /* EAGAIN: a spurious wakeup, or drained by an earlier call */
    finish_done(s);
}

/* On the loop, at the end of a turn: hand the queue (and a compaction due) to the writer, in
 * the staged batch, which grows until the writer takes it. */
static void stage(store_t *s)
{
    int cmp = s->sql_compact_want > s->cmp_staged;
    if (s->closing || (!s->queue.n && !cmp))
        return;
    uv_mutex_lock(&s->mu);
    batch *b = s->staged;
    int fresh = b == NULL;
    if (fresh && !(b = calloc(1, sizeof *b))) {
        uv_mutex_unlock(&s->mu);
        kick(s); /* try again next turn */
        return;
    }
    if (!b->ops.n) {
        free(b->ops.v);
        b->ops = s->queue;
        memset(&s->queue, 0, sizeof s->queue);
    }
    for (size_t i = 0; i < s->queue.n; i++)
        if (opvec_push(&b->ops, s->queue.v[i]) < 0) {
            /* what did not fit stays queued, in order, for the next turn */
            memmove(s->queue.v, s->queue.v + i, (s->queue.n - i) * sizeof *s->queue.v);
            s->queue.n -= i;
            kick(s);
            goto staged;
        }
    s->queue.n = 0;
staged:
    if (cmp) {
        b->cmp_from = s->sql_compact_rev; /* ranges may overlap: the deletes are idempotent */
        b->cmp_to = s->cmp_staged = s->sql_compact_want;
    }
    s->staged = b;
    uv_mutex_unlock(&s->mu);
    /* after the unlock: a writer woken on this CPU would otherwise run only to block on mu */
    uv_cond_broadcast(&s->cv);
    if (fresh && s->out++ == 0)
        uv_ref((uv_handle_t *)s->done_poll);
}

static void kick_cb(uv_idle_t *h)
{
    uv_idle_stop(h);
    stage(h->data);
}

void store_flush(store_t *s)
{
    uv_idle_stop(s->kick);
    stage(s);
}

/* ---- writes ----------------------------------------------------------------------------- */

/* metadata.labels: shared (incref) when the caller owns the only tree, else a deep copy; NULL if
 * absent or empty. */
static json_t *labels_of(json_t *meta, int shareable)
{
    json_t *l = json_object_get(meta, "labels");
    if (!json_is_object(l) || json_object_size(l) == 0)
        return NULL;
    return shareable ? json_incref(l) : json_deep_copy(l);
}

void store_on_tag(store_t *s, store_tag_fn fn, void *arg)
{
    s->tag_fn = fn;
    s->tag_arg = arg;
}

void store_on_batch(store_t *s, store_batch_fn fn, void *arg)
{
    s->batch_fn = fn;
    s->batch_arg = arg;
}

/* Where metadata.resourceVersion's value lies in a record's bytes (compact JSON): [*vs, *ve)
 * between its quotes. A scan that knows strings and nesting, so a "resourceVersion" key or text
 * anywhere else is not taken for it. -1 if not found. */
static int find_rv(const char *d, size_t n, size_t *vs, size_t *ve)
{
    int depth = 0, meta_next = 0, in_meta = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = d[i];
        if (ch == '"') {
            size_t start = ++i;
            while (i < n && d[i] != '"')
                i += d[i] == '\\' ? 2 : 1;
            if (i >= n)
                return -1;
            size_t klen = i - start;
            if (i + 2 >= n || d[i + 1] != ':')
                continue; /* a value */
            if (depth == 1 && klen == 8 && !memcmp(d + start, "metadata", 8))
                meta_next = d[i + 2] == '{';
            else if (in_meta && depth == 2 && klen == 15 && !memcmp(d + start, "resourceVersion", 15) &&
                     d[i + 2] == '"') {
                size_t j = i + 3;
                while (j < n && d[j] >= '0' && d[j] <= '9')
                    j++;
                if (j >= n || d[j] != '"')
                    return -1;
                *vs = i + 3;
                *ve = j;
                return 0;
            }
        } else if (ch == '{' || ch == '[') {
            depth++;
            in_meta = in_meta || (meta_next && depth == 2);
            meta_next = 0;
        } else if (ch == '}' || ch == ']') {
            if (in_meta && depth == 2)
                return -1; /* metadata without a resourceVersion */
            depth--;
        }
    }
    return -1;
}

/* A tombstone's bytes: the last state with metadata.resourceVersion = rv, by splicing the new
 * revision into the stored bytes (no parse, no dump). NULL if they do not look as expected. */
static char *tombstone_bytes(const store_rec *latest, uint64_t rv, size_t *len)
{
    size_t vs, ve;
    if (find_rv(latest->data, latest->len, &vs, &ve) < 0)
        return NULL;
    char rvs[24];
    int rl = snprintf(rvs, sizeof rvs, "%" PRIu64, rv);
    *len = latest->len - (ve - vs) + (size_t)rl;
    char *d = malloc(*len + 1);
    if (!d)
        return NULL;
    memcpy(d, latest->data, vs);
    memcpy(d + vs, rvs, (size_t)rl);
    memcpy(d + vs + rl, latest->data + ve, latest->len - ve);
    d[*len] = 0;
    return d;
}

/* obj (stolen) as a record's bytes: metadata.resourceVersion set to rvs, compact, sorted keys.
 * With labels (a live object, not a tombstone) also its labels and its tags. NULL if it cannot
 * be serialised (*labels is still the caller's to free). Touches nothing of the store but its
 * tagger: store_prepare runs it off the loop. */
static char *record_bytes(store_t *s, const char *key, json_t *obj, const char *rvs, size_t *len,
                          json_t **labels, unsigned *tags)
{
    json_t *meta = json_object_get(obj, "metadata");
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(obj, "metadata", meta);
    }
    json_object_set_new(meta, "resourceVersion", json_string(rvs));
    if (labels) {
        /* The labels object can move to the record when nothing but this tree holds it. */
        json_t *l = json_object_get(meta, "labels");
        *labels = labels_of(meta, obj->refcount == 1 && l && l->refcount == 1);
        *tags = s->tag_fn ? s->tag_fn(s->tag_arg, key, obj) : 0;
    }
    char *data = jsonio_dump(obj, JSON_COMPACT | JSON_SORT_KEYS, len);
    json_decref(obj);
    return data;
}

/* Queue r as its key's newest version; e: the key's entry when the caller found it already.
 * 0 on failure (r freed). */
static uint64_t enqueue_rec(store_t *s, entry *e, store_rec *r, store_write_cb cb, void *arg,
                            const store_rec **out)
{
    if (!e && !(e = sl_get_or_insert(s, r->key))) {
        store_rec_unref(r);
        return 0;
    }
    op o = {r, e->head ? e->head->rv : 0, cb, arg};
    if (opvec_push(&s->queue, o) < 0) {
        store_rec_unref(r);
        if (!e->head)
            sl_remove(s, e);
        return 0;
    }
    store_rec_ref(r);          /* the op's; the one from rec_new is the entry's */
    r->prev = e->head;         /* the entry's reference to the old head moves to r */
    e->head = r;
    __atomic_store_n(&s->rev_assigned, r->rv, __ATOMIC_RELAXED); /* store_prepare reads it */
    kick(s);
    if (out)
        *out = r;
    return r->rv;
}

uint64_t store_write(store_t *s, const char *key, json_t *obj, store_write_cb cb, void *arg,
                     const store_rec **out)
{
    if (out)
        *out = NULL;
    entry *e = sl_find(s, key);
    store_rec *latest = e ? e->head : NULL;
    json_t *labels = NULL;
    int deleted = obj == NULL;
    if (s->closing || (obj && !json_is_object(obj))) {
        json_decref(obj);
        return 0;
    }
    uint64_t rv = s->rev_assigned + 1;
    char *data = NULL;
    size_t len;
    unsigned tags = 0;
    if (deleted) {
        if (!latest || latest->deleted)
            return 0;
        labels = json_incref(latest->labels);
        tags = latest->tags;
        data = tombstone_bytes(latest, rv, &len);
        if (data)
            goto have_data;
        obj = jsonio_parse(latest->data, latest->len, 0, NULL);
        if (!json_is_object(obj)) {
            json_decref(obj);
            json_decref(labels);
            return 0;
        }
    }
    char rvs[24];
    snprintf(rvs, sizeof rvs, "%" PRIu64, rv);
    data = record_bytes(s, key, obj, rvs, &len, deleted ? NULL : &labels, &tags);
    if (!data) {
        json_decref(labels);
        return 0;
    }
have_data:;
    store_rec *r = rec_new(key, data, len, labels, deleted, rv);
    if (!r)
        return 0;
    r->tags = tags;
    return enqueue_rec(s, e, r, cb, arg, out);
}

/* ---- writes prepared off the loop ----------------------------------------------------------
 *
 * The costly part of a write is the tree's: serialising it and freeing it. store_prepare does
 * both on any thread, with a placeholder where the revision goes; store_write_prepared, on the
 * loop, only writes the revision into the bytes. The placeholder is as wide as the next revision
 * is likely to be (zeros), so the revision usually goes over it in place. */

int store_prepare(store_t *s, const char *key, json_t *obj, store_prep *p)
{
    memset(p, 0, sizeof *p);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return -1;
    }
    char ph[24];
    int w = snprintf(ph, sizeof ph, "%" PRIu64, __atomic_load_n(&s->rev_assigned, __ATOMIC_RELAXED) + 1);
    memset(ph, '0', (size_t)w);
    p->data = record_bytes(s, key, obj, ph, &p->len, &p->labels, &p->tags);
    if (!p->data || find_rv(p->data, p->len, &p->rv_at, &p->rv_end) < 0) {
        store_prep_free(p);
        return -1;
    }
    return 0;
}

void store_prep_free(store_prep *p)
{
    free(p->data);
    json_decref(p->labels);
    memset(p, 0, sizeof *p);
}

uint64_t store_write_prepared(store_t *s, const char *key, store_prep *p, store_write_cb cb,
                              void *arg, const store_rec **out)
{
    if (out)
        *out = NULL;
    if (s->closing || !p->data) {
        store_prep_free(p);
        return 0;
    }
    uint64_t rv = s->rev_assigned + 1;
    char rvs[24];
    size_t rl = (size_t)snprintf(rvs, sizeof rvs, "%" PRIu64, rv), ph = p->rv_end - p->rv_at;
    char *data = p->data;
    size_t len = p->len;
    if (rl != ph) {
        len = p->len - ph + rl;
        if (!(data = malloc(len + 1))) {
            store_prep_free(p);
            return 0;
        }
        memcpy(data, p->data, p->rv_at);
        memcpy(data + p->rv_at + rl, p->data + p->rv_end, p->len - p->rv_end);
        data[len] = 0;
        free(p->data);
    }
    memcpy(data + p->rv_at, rvs, rl);
    store_rec *r = rec_new(key, data, len, p->labels, 0, rv);
    unsigned tags = p->tags;
    memset(p, 0, sizeof *p); /* taken (rec_new frees what it took on failure) */
    if (!r)
        return 0;
    r->tags = tags;
    return enqueue_rec(s, NULL, r, cb, arg, out);
}

void store_on_commit(store_t *s, store_commit_fn fn, void *arg)
{
    listener *n = realloc(s->lis, (s->nlis + 1) * sizeof *n);
    if (!n) {
        fprintf(stderr, "store: out of memory adding a commit listener\n");
        abort();
    }
    s->lis = n;
    s->lis[s->nlis++] = (listener){fn, arg};
}

void store_off_commit(store_t *s)
{
    s->nlis = 0;
    s->batch_fn = NULL;
    s->tag_fn = NULL;
}

/* ---- reads ------------------------------------------------------------------------------ */

uint64_t store_rev(const store_t *s) { return s->rev; }
uint64_t store_compact_rev(const store_t *s) { return s->compact_rev; }

/* Newest committed version of e with rv <= at (tombstones included), or NULL. */
static const store_rec *version_at(const entry *e, uint64_t at)
{
    const store_rec *r = e->head;
    while (r && (!r->committed || r->rv > at))
        r = r->prev;
    return r;
}

const store_rec *store_get(store_t *s, const char *key)
{
    entry *e = sl_find(s, key);
    const store_rec *r = e ? version_at(e, s->rev) : NULL;
    return r && !r->deleted ? r : NULL;
}

const store_rec *store_latest(store_t *s, const char *key)
{
    entry *e = sl_find(s, key);
    return e && !e->head->deleted ? e->head : NULL;
}

/* First entry under prefix, strictly after start_after when that is inside or past it. */
static entry *range_start(store_t *s, const char *prefix, const char *start_after)
{
    if (start_after && strcmp(start_after, prefix) >= 0) {
        entry *e = sl_search(s, start_after, NULL);
        return e && !strcmp(e->key, start_after) ? e->next[0] : e;
    }
    return sl_search(s, prefix, NULL);
}

int store_list(store_t *s, const char *prefix, const char *start_after, uint64_t at_rv,
               store_iter_fn fn, void *arg)
{
    if (!prefix)
        prefix = "";
    if (at_rv && at_rv < s->compact_rev)
        return STORE_ERR_COMPACTED;
    uint64_t at = at_rv ? at_rv : s->rev;
    size_t plen = strlen(prefix);
    s->busy++;
    for (entry *e = range_start(s, prefix, start_after); e; e = e->next[0]) {
        /* a walk over 100,000 entries spread over the heap waits on memory: ask for the next
         * entry's key and newest record while this one is handled */
        entry *n = e->next[0];
        if (n) {
            __builtin_prefetch(n->key);
            __builtin_prefetch(n->head);
            if (n->next[0])
                __builtin_prefetch(n->next[0]);
        }
        if (strncmp(e->key, prefix, plen))
            break;
        const store_rec *r = version_at(e, at);
        if (r && !r->deleted && fn(arg, r))
            break;
    }
    leave(s);
    return 0;
}

size_t store_count(store_t *s, const char *prefix)
{
    if (!prefix)
        prefix = "";
    if (!*prefix)
        return (size_t)s->live;
    size_t plen = strlen(prefix), n = 0;
    for (entry *e = sl_search(s, prefix, NULL); e && !strncmp(e->key, prefix, plen);
         e = e->next[0]) {
        const store_rec *r = version_at(e, s->rev);
        n += r && !r->deleted;
    }
    return n;
}

int store_changes_since(store_t *s, uint64_t after, store_change_fn fn, void *arg)
{
    if (after < s->compact_rev)
        return STORE_ERR_COMPACTED;
    s->busy++;
    for (size_t i = ring_find_after(s, after); i < s->ring_len; i++) {
        const store_rec *r = ring_at(s, i);
        if (fn(arg, r, live_prev(r)))
            break;
    }
    leave(s);
    return 0;
}

void store_stats_get(const store_t *s, store_stats *out)
{
    *out = s->st;
    out->objects = s->live;
}

/* ---- open / close ----------------------------------------------------------------------- */

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS log(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    " deleted INTEGER NOT NULL, prev_revision INTEGER NOT NULL, value BLOB);"
    /* No index on name: nothing reads by name (the index is in memory), and an index ordered
     * by name put one more page, at a random place, into every commit. Data dirs from before
     * have it; it goes. */
    "DROP INDEX IF EXISTS log_name_id;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);";

static int prepare(store_t *s, sqlite3_stmt **st, const char *sql, char **errmsg)
{
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK)
        return 0;
    *errmsg = fmt("prepare %s: %s", sql, sqlite3_errmsg(s->db));
    return -1;
}

static int db_setup(store_t *s, const char *path, char **errmsg)
{
    /* the writer's connection gathers each commit's WAL frames into one write (walbuf.h) */
    if (walbuf_register() != SQLITE_OK) {
        *errmsg = fmt("store: cannot register the %s VFS", WALBUF_VFS);
        return -1;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, WALBUF_VFS)) {
        *errmsg = fmt("open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        return -1;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    sqlite3_stmt *st;
    if (prepare(s, &st, "PRAGMA journal_mode=WAL", errmsg))
        return -1;
    int ok = sqlite3_step(st) == SQLITE_ROW &&
             !strcmp((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    if (!ok) {
        *errmsg = fmt("%s: cannot enable WAL: %s", path, sqlite3_errmsg(s->db));
        return -1;
    }
    char *err = NULL;
    if (sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, &err) ||
        sqlite3_exec(s->db, schema, NULL, NULL, &err)) {
        *errmsg = fmt("%s: %s", path, err ? err : sqlite3_errmsg(s->db));
        sqlite3_free(err);
        return -1;
    }
    sqlite3_wal_hook(s->db, wal_hook, s);
    wal_preallocate(s);
    if (sqlite3_open_v2(path, &s->ckdb, SQLITE_OPEN_READWRITE, WALBUF_VFS) != SQLITE_OK) {
        *errmsg = fmt("open %s for checkpoints: %s", path, s->ckdb ? sqlite3_errmsg(s->ckdb) : "out of memory");
        return -1;
    }
    sqlite3_busy_timeout(s->ckdb, BUSY_TIMEOUT_MS);
    /* a connection knows the file is in WAL mode only once it has read it */
    if (sqlite3_exec(s->ckdb, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) {
        *errmsg = fmt("%s: checkpoint connection: %s", path, sqlite3_errmsg(s->ckdb));
        return -1;
    }
    if (prepare(s, &s->st_begin, "BEGIN IMMEDIATE", errmsg) ||
        prepare(s, &s->st_commit, "COMMIT", errmsg) ||
        prepare(s, &s->st_rollback, "ROLLBACK", errmsg) ||
        prepare(s, &s->st_ins, "INSERT INTO log(id, name, deleted, prev_revision, value)"
                               " VALUES(?1, ?2, ?3, ?4, ?5)", errmsg) ||
        /* superseded: named as prev_revision by a row inside the compacted range */
        prepare(s, &s->st_cdel_prev, "DELETE FROM log WHERE id IN (SELECT prev_revision FROM log"
                                     " WHERE id > ?1 AND id <= ?2 AND prev_revision != 0)", errmsg) ||
        prepare(s, &s->st_cdel_tomb, "DELETE FROM log WHERE id > ?1 AND id <= ?2 AND deleted != 0",
                errmsg) ||
        prepare(s, &s->st_meta, "INSERT OR REPLACE INTO meta(key, value) VALUES('compact_rev', ?1)",
                errmsg))
        return -1;
    return 0;
}

/* Rebuild chains and ring from every row: the table holds exactly the retained history. */
static int load(store_t *s, char **errmsg)
{
    sqlite3_stmt *st;
    uint64_t maxid = 0, crev = 0;
    if (prepare(s, &st, "SELECT value FROM meta WHERE key = 'compact_rev'", errmsg))
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        crev = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (prepare(s, &st, "SELECT id, name, deleted, value FROM log ORDER BY id", errmsg))
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
        const char *key = (const char *)sqlite3_column_text(st, 1);
        const void *val = sqlite3_column_blob(st, 3);
        size_t len = (size_t)sqlite3_column_bytes(st, 3);
        char *data = malloc(len + 1);
        if (!data || !key)
            goto oom;
        memcpy(data, val ? val : "", len);
        data[len] = 0;
        json_t *doc = jsonio_parse(data, len, 0, NULL), *labels = NULL;
        if (doc)
            labels = labels_of(json_object_get(doc, "metadata"), doc->refcount == 1);
        json_decref(doc);
        store_rec *r = rec_new(key, data, len, labels, sqlite3_column_int(st, 2) != 0, id);
        entry *e = r ? sl_get_or_insert(s, key) : NULL;
        if (!e || ring_push(s, r) < 0) {
            store_rec_unref(r);
            goto oom;
        }
        r->committed = 1;
        r->prev = e->head;
        e->head = r;
        maxid = id;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        *errmsg = fmt("load: %s", sqlite3_errmsg(s->db));
        return -1;
    }
    s->rev = s->rev_assigned = maxid > crev ? maxid : crev;
    s->sql_compact_rev = s->sql_compact_want = crev;
    if (crev)
        compact_mem(s, crev);
    for (entry *e = s->sl->next[0]; e; e = e->next[0])
        s->live += !e->head->deleted;
    return 0;
oom:
    sqlite3_finalize(st);
    *errmsg = fmt("load: out of memory");
    return -1;
}

static void handle_free_cb(uv_handle_t *h) { free(h); }

static void free_all(store_t *s)
{
    for (entry *e = s->sl ? s->sl->next[0] : NULL, *n; e; e = n) {
        n = e->next[0];
        store_rec_unref(e->head);
        free(e);
    }
    free(s->sl);
    free(s->hx);
    for (size_t i = 0; i < s->ring_len; i++)
        store_rec_unref(ring_at(s, i));
    free(s->ring);
    opvec_release(&s->queue);
    sqlite3_stmt *sts[] = {s->st_begin, s->st_commit, s->st_rollback, s->st_ins,
                           s->st_cdel_prev, s->st_cdel_tomb, s->st_meta};
    for (size_t i = 0; i < sizeof sts / sizeof sts[0]; i++)
        sqlite3_finalize(sts[i]);
    if (s->ckdb && sqlite3_close(s->ckdb) != SQLITE_OK)
        fprintf(stderr, "store: close: %s\n", sqlite3_errmsg(s->ckdb));
    if (s->db && sqlite3_close(s->db) != SQLITE_OK)
        fprintf(stderr, "store: close: %s\n", sqlite3_errmsg(s->db));
    if (s->kick)
        uv_close((uv_handle_t *)s->kick, handle_free_cb);
    if (s->done_poll)
        uv_close((uv_handle_t *)s->done_poll, handle_free_cb);
    if (s->done_fd >= 0)
        close(s->done_fd); /* the poll handle is closed (stopped) above */
    if (s->timer)
        uv_close((uv_handle_t *)s->timer, handle_free_cb);
    free(s->lis);
    uv_cond_destroy(&s->cv);
    uv_mutex_destroy(&s->mu);
    free(s);
}

int store_open(uv_loop_t *loop, const char *path, const store_opts *opts, store_t **out,
               char **errmsg)
{
    char *dummy = NULL;
    if (!errmsg)
        errmsg = &dummy;
    *errmsg = NULL;
    *out = NULL;
    store_t *s = calloc(1, sizeof *s);
    if (!s || uv_mutex_init(&s->mu)) {
        free(s);
        *errmsg = fmt("store: out of memory");
        return -1;
    }
    if (uv_cond_init(&s->cv)) {
        uv_mutex_destroy(&s->mu);
        free(s);
        *errmsg = fmt("store: cannot create condition variable");
        return -1;
    }
    s->loop = loop;
    s->done_fd = -1;
    s->rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)s;
    s->sl_level = 1;
    s->retain = opts && opts->retain_revisions ? opts->retain_revisions : DEFAULT_RETAIN;
    unsigned ms = opts && opts->compact_interval_ms ? opts->compact_interval_ms : DEFAULT_COMPACT_MS;
    s->sl = calloc(1, sizeof *s->sl + SL_MAXLVL * sizeof(entry *));
    s->kick = malloc(sizeof *s->kick);
    s->timer = malloc(sizeof *s->timer);
    s->done_poll = malloc(sizeof *s->done_poll);
    s->done_tail = &s->done;
    s->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!s->sl || !s->kick || !s->timer || !s->done_poll || s->done_fd < 0 ||
        uv_poll_init(loop, s->done_poll, s->done_fd)) {
        free(s->kick);
        free(s->timer);
        free(s->done_poll);
        s->kick = NULL;
        s->timer = NULL;
        s->done_poll = NULL;
        free_all(s);
        *errmsg = fmt("store: out of memory");
        return -1;
    }
    uv_idle_init(loop, s->kick);
    s->kick->data = s;
    uv_timer_init(loop, s->timer);
    s->timer->data = s;
    s->done_poll->data = s;
    uv_poll_start(s->done_poll, UV_READABLE, on_done);
    uv_unref((uv_handle_t *)s->done_poll); /* ref'ed while batches are out */
    if (db_setup(s, path, errmsg) || load(s, errmsg)) {
        free_all(s);
        free(dummy);
        return -1;
    }
    s->cmp_staged = s->sql_compact_rev;
    if (uv_thread_create(&s->writer, writer_main, s)) {
        free_all(s);
        *errmsg = fmt("store: cannot start the writer thread");
        return -1;
    }
    s->has_writer = 1;
    uv_timer_start(s->timer, timer_cb, ms, ms);
    uv_unref((uv_handle_t *)s->timer);
    *out = s;
    return 0;
}

void store_close(store_t *s)
{
    if (!s)
        return;
    assert(!s->busy && "store_close from a store callback");
    s->closing = 1;
    uv_timer_stop(s->timer);
    uv_idle_stop(s->kick);
    if (s->has_writer) {
        /* what was handed to the writer is written; what is only queued fails */
        uv_mutex_lock(&s->mu);
        s->stop = 1;
        uv_cond_broadcast(&s->cv);
        uv_mutex_unlock(&s->mu);
        uv_thread_join(&s->writer);
        s->has_writer = 0;
        finish_done(s);
    }
    if (s->queue.n) {
        opvec *q = &s->queue;
        rollback_pending(s, &q, 1);
    }
    ckpt_wait(s);
    free_all(s);
}
