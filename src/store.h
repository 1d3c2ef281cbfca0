/* store — the durable object log (kine's model) with an in-memory MVCC index.
 *
 * One append-only SQLite table; row id = global revision = resourceVersion. Every create,
 * update and delete is an INSERT. The loop thread owns every structure here: all functions
 * are called on the loop thread. Commits run on the store's writer thread, one batch at a time:
 * whatever was written while a batch commits forms the next batch (group commit: one
 * transaction, one fsync per batch). A write's callback runs on the loop after its batch is
 * durable.
 *
 *   write ──► PENDING (visible to store_latest, not to reads) ──commit ok──► COMMITTED
 *                                     └──commit failed──► rolled back (with every later pending write)
 *
 * Invariants:
 *  1. Revisions are assigned in call order, strictly increasing; commits complete in revision order.
 *  2. Reads (store_get, store_list, store_changes_since) see committed records only.
 *  3. A record is immutable once created; it lives while referenced (store_rec_ref/unref).
 *  4. Keys are "<resource>/<namespace>/<name>"; cluster-scoped objects have an empty namespace
 *     ("namespaces//default"). Lists iterate in byte order of the key.
 */
#ifndef TJ_STORE_H
#define TJ_STORE_H
#include <stdint.h>
#include <stddef.h>
#include <uv.h>
#include <jansson.h>

#define STORE_ERR_COMPACTED (-410)  /* asked for a revision older than the retained history */
#define STORE_ERR_IO        (-500)  /* SQLite failed */

typedef struct store store_t;

typedef struct store_rec {
    int refs;
    uint64_t rv;          /* revision that wrote this version */
    int deleted;          /* tombstone: data is the last state with metadata.resourceVersion = rv */
    int committed;        /* durable */
    char *key;
    char *data;           /* compact JSON (sorted keys), metadata.resourceVersion == rv */
    size_t len;
    json_t *labels;       /* metadata.labels (object) or NULL; for selector matching */
    unsigned tags;        /* what the taggers (store_on_tag) said of the tree it was written
                           * from; 0 for records loaded at start */
    struct store_rec *prev; /* older version of the same key (maybe a tombstone), or NULL; compaction
                             * sets it to NULL when it drops the older versions */
} store_rec;

typedef struct store_opts {
    uint64_t retain_revisions;   /* history kept in memory and SQLite; 0 = default 10000 */
    unsigned compact_interval_ms;/* 0 = default 60000; compaction runs on a loop timer */
} store_opts;

typedef struct store_stats {
    uint64_t commits;        /* batches committed */
    uint64_t records;        /* records committed */
    uint64_t syncs;          /* transactions that ended in a durable commit (one sync each) */
    uint64_t max_batch;
    double commit_seconds;   /* total time spent in commits */
    uint64_t objects;        /* live (non-deleted) keys */
} store_stats;

/* Open (creating if needed) the SQLite database at path, load every live object into memory.
 * On error returns <0 and sets *errmsg (malloc'ed). */
int store_open(uv_loop_t *loop, const char *path, const store_opts *opts, store_t **out, char **errmsg);
/* Waits for the writer to commit what was handed to it (their callbacks run), then closes.
 * Writes not yet handed over (queued this turn) fail with STORE_ERR_IO. Not from inside a store callback. Its libuv handles close
 * asynchronously: run the loop once more before uv_loop_close. */
void store_close(store_t *s);

uint64_t store_rev(const store_t *s);          /* latest committed revision (a list's resourceVersion) */
/* History is kept for every revision R >= compact_rev: a list at R, or the changes after R, is
 * answerable iff R >= compact_rev (compacting to C keeps the state as of C). 0 = never compacted. */
uint64_t store_compact_rev(const store_t *s);

/* Latest committed live version of key, or NULL. Borrowed: valid until the next loop turn;
 * store_rec_ref() to keep it. */
const store_rec *store_get(store_t *s, const char *key);
/* Latest version including pending writes (for write preconditions), or NULL if absent/deleted. */
const store_rec *store_latest(store_t *s, const char *key);

/* Iterate committed live objects whose key starts with prefix, in key order, starting strictly
 * after start_after (NULL = from the beginning), as of revision at_rv (0 = current committed;
 * above it = the current state). fn returns non-zero to stop. Returns 0, or STORE_ERR_COMPACTED
 * if at_rv != 0 and at_rv < compact_rev. */
typedef int (*store_iter_fn)(void *arg, const store_rec *r);
int store_list(store_t *s, const char *prefix, const char *start_after, uint64_t at_rv,
               store_iter_fn fn, void *arg);
/* Number of committed live keys under prefix (current revision). */
size_t store_count(store_t *s, const char *prefix);

/* Write a new version of key. obj != NULL: create/update; the store sets
 * metadata.resourceVersion to the new revision (as a decimal string) in obj, serialises it
 * (compact, sorted keys) and takes ownership of obj's reference. obj == NULL: delete; the
 * tombstone carries the previous data with metadata.resourceVersion rewritten.
 * *out (optional) receives the pending record (borrowed; ref it to keep it).
 * cb (optional) runs on the loop once the record is durable (err 0) or failed (err < 0).
 * Returns the new revision, or 0 on immediate failure (delete of a missing key). */
typedef void (*store_write_cb)(void *arg, int err, const store_rec *rec);
uint64_t store_write(store_t *s, const char *key, json_t *obj, store_write_cb cb, void *arg,
                     const store_rec **out);

/* A create or update made ready off the loop: store_prepare (any thread; reads nothing of the
 * store but its tagger) does store_write's work on the tree (labels, tags, the stored bytes,
 * with a placeholder for the revision) and takes obj's reference; 0, or -1 (obj freed).
 * store_write_prepared (loop) then writes it as store_write would have, and takes p's contents.
 * A prepared write not written is freed with store_prep_free. */
typedef struct store_prep {
    char *data;
    size_t len, rv_at, rv_end; /* the placeholder: data[rv_at, rv_end) */
    json_t *labels;
    unsigned tags;
} store_prep;
int store_prepare(store_t *s, const char *key, json_t *obj, store_prep *p);
uint64_t store_write_prepared(store_t *s, const char *key, store_prep *p, store_write_cb cb,
                              void *arg, const store_rec **out);
void store_prep_free(store_prep *p);

/* Hand what was written so far to the writer now instead of at the end of the loop turn. */
void store_flush(store_t *s);

/* Called on the loop for every record, in revision order, right after its batch commits.
 * prev = the previous committed version of the key (NULL on create). Several listeners allowed. */
typedef void (*store_commit_fn)(void *arg, const store_rec *rec, const store_rec *prev);
void store_on_commit(store_t *s, store_commit_fn fn, void *arg);
/* Called in store_write with the tree about to be stored: returns bits for rec->tags, so that a
 * commit listener can skip a record without parsing its bytes. One tagger. */
typedef unsigned (*store_tag_fn)(void *arg, const char *key, const json_t *obj);
void store_on_tag(store_t *s, store_tag_fn fn, void *arg);
/* Drop every commit listener and the batch hook (shutdown: their owners are going away). */
void store_off_commit(store_t *s);

/* Called on the loop once per committed batch: its commit time, its records, whether it ended
 * in a sync (always, for a committed batch). One hook. */
typedef void (*store_batch_fn)(void *arg, double seconds, size_t records, int synced);
void store_on_batch(store_t *s, store_batch_fn fn, void *arg);

/* Every committed record with rv > after, in revision order, with its previous live version
 * (NULL on create, including a create after a tombstone; same rule for store_on_commit). fn
 * returns non-zero to stop. Returns STORE_ERR_COMPACTED if after < compact_rev. */
typedef int (*store_change_fn)(void *arg, const store_rec *rec, const store_rec *prev);
int store_changes_since(store_t *s, uint64_t after, store_change_fn fn, void *arg);

/* Drop history at or below rv (clamped to store_rev): versions superseded at or below rv and
 * tombstones at or below rv; in memory now, in SQLite by the writer, with the next batch. */
void store_compact(store_t *s, uint64_t rv);

void store_stats_get(const store_t *s, store_stats *out);
void store_rec_ref(const store_rec *r);
void store_rec_unref(const store_rec *r);
#endif
