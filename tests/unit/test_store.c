/* Unit tests for src/store.c: revisions, commit visibility, group commit, lists, MVCC, changes,
 * compaction, restart, commit failure and scale. Each test gets its own temp dir and loop. */
#include "unit.h"
#include <dirent.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <unistd.h>
#include <sqlite3.h>
#include <uv.h>
#include <jansson.h>
#include "store.h"

typedef struct fx {
    char dir[64];
    char path[96];
    uv_loop_t loop;
    store_t *s;
} fx;

static void fx_open(fx *f, const store_opts *o)
{
    char *err = NULL;
    int rc = store_open(&f->loop, f->path, o, &f->s, &err);
    if (rc)
        fprintf(stderr, "store_open: %s\n", err);
    assert_int_equal(rc, 0);
    assert_null(err);
}

/* Close and drain the loop so the store's handles and orphaned batch are freed. */
static void fx_close(fx *f)
{
    store_close(f->s);
    f->s = NULL;
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/test_store.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    fx_open(f, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (f->s)
        fx_close(f);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    DIR *d = opendir(f->dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        char p[400];
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", f->dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void run(fx *f) { uv_run(&f->loop, UV_RUN_DEFAULT); }

static json_t *obj(const char *name, const char *app)
{
    json_t *o = json_pack("{s:s, s:{s:s}}", "kind", "Pod", "metadata", "name", name);
    if (app)
        json_object_set_new(json_object_get(o, "metadata"), "labels", json_pack("{s:s}", "app", app));
    return o;
}

static uint64_t put(fx *f, const char *key, const char *app)
{
    const char *slash = strrchr(key, '/');
    return store_write(f->s, key, obj(slash ? slash + 1 : key, app), NULL, NULL, NULL);
}

static uint64_t rv_of(const store_rec *r)
{
    json_t *o = json_loadb(r->data, r->len, 0, NULL);
    assert_non_null(o);
    const char *s = json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
    assert_non_null(s);
    uint64_t v = strtoull(s, NULL, 10);
    json_decref(o);
    return v;
}

/* ---- collectors ---- */

typedef struct seen {
    uint64_t rv[4096], prev[4096];
    int err[4096];
    char key[4096][48];
    int n, stop_at;
} seen;

static void write_cb(void *arg, int err, const store_rec *r)
{
    seen *s = arg;
    s->rv[s->n] = r->rv;
    s->err[s->n++] = err;
}

static int list_cb(void *arg, const store_rec *r)
{
    seen *s = arg;
    snprintf(s->key[s->n], sizeof s->key[0], "%s", r->key);
    s->rv[s->n++] = r->rv;
    assert_false(r->deleted);
    assert_true(r->committed);
    return s->stop_at && s->n >= s->stop_at;
}

static int change_cb(void *arg, const store_rec *r, const store_rec *p)
{
    seen *s = arg;
    snprintf(s->key[s->n], sizeof s->key[0], "%s", r->key);
    s->prev[s->n] = p ? p->rv : 0;
    s->err[s->n] = r->deleted;
    s->rv[s->n++] = r->rv;
    return s->stop_at && s->n >= s->stop_at;
}

static void commit_cb(void *arg, const store_rec *r, const store_rec *p) { change_cb(arg, r, p); }

/* ---- tests ---- */

static void test_crud(void **state)
{
    fx *f = *state;
    assert_int_equal(store_rev(f->s), 0);
    assert_int_equal(put(f, "pods/default/a", "web"), 1);
    run(f);
    const store_rec *r = store_get(f->s, "pods/default/a");
    assert_non_null(r);
    assert_int_equal(r->rv, 1);
    assert_int_equal(rv_of(r), 1);
    assert_non_null(strstr(r->data, "\"resourceVersion\":\"1\""));
    assert_string_equal(json_string_value(json_object_get(r->labels, "app")), "web");
    assert_int_equal(store_rev(f->s), 1);

    assert_int_equal(put(f, "pods/default/a", "db"), 2);
    run(f);
    r = store_get(f->s, "pods/default/a");
    assert_int_equal(r->rv, 2);
    assert_int_equal(rv_of(r), 2);
    assert_non_null(r->prev);
    assert_int_equal(r->prev->rv, 1);

    const store_rec *t = NULL;
    assert_int_equal(store_write(f->s, "pods/default/a", NULL, NULL, NULL, &t), 3);
    assert_non_null(t);
    assert_true(t->deleted);
    assert_int_equal(rv_of(t), 3);
    assert_non_null(strstr(t->data, "\"name\":\"a\""));
    assert_string_equal(json_string_value(json_object_get(t->labels, "app")), "db");
    run(f);
    assert_null(store_get(f->s, "pods/default/a"));
    assert_null(store_latest(f->s, "pods/default/a"));
    assert_int_equal(store_write(f->s, "pods/default/a", NULL, NULL, NULL, NULL), 0);
    assert_int_equal(store_write(f->s, "pods/default/zz", NULL, NULL, NULL, NULL), 0);
    assert_int_equal(store_write(f->s, "pods/default/bad", json_string("x"), NULL, NULL, NULL), 0);
    assert_int_equal(store_rev(f->s), 3);
    /* re-create after delete; metadata missing is created */
    assert_int_equal(store_write(f->s, "pods/default/a", json_object(), NULL, NULL, NULL), 4);
    run(f);
    r = store_get(f->s, "pods/default/a");
    assert_string_equal(r->data, "{\"metadata\":{\"resourceVersion\":\"4\"}}");
    assert_null(r->labels);
    store_stats st;
    store_stats_get(f->s, &st);
    assert_int_equal(st.objects, 1);
    assert_int_equal(st.records, 4);
}

static void test_pending_invisible(void **state)
{
    fx *f = *state;
    seen w = {0}, c = {0};
    assert_int_equal(store_write(f->s, "pods/ns/x", obj("x", NULL), write_cb, &w, NULL), 1);
    assert_null(store_get(f->s, "pods/ns/x"));
    assert_non_null(store_latest(f->s, "pods/ns/x"));
    assert_int_equal(store_count(f->s, "pods/"), 0);
    assert_int_equal(store_count(f->s, ""), 0);
    assert_int_equal(store_rev(f->s), 0);
    seen l = {0};
    assert_int_equal(store_list(f->s, "pods/", NULL, 0, list_cb, &l), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(store_changes_since(f->s, 0, change_cb, &c), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(w.n, 0);
    run(f);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.err[0], 0);
    assert_non_null(store_get(f->s, "pods/ns/x"));
    assert_int_equal(store_count(f->s, "pods/"), 1);
    assert_int_equal(store_rev(f->s), 1);

    /* an update pending over a committed version: get shows the old one */
    put(f, "pods/ns/x", "new");
    assert_int_equal(store_get(f->s, "pods/ns/x")->rv, 1);
    assert_int_equal(store_latest(f->s, "pods/ns/x")->rv, 2);
    run(f);
    assert_int_equal(store_get(f->s, "pods/ns/x")->rv, 2);
}

static seen *gc_seen;
static void chain_cb(void *arg, int err, const store_rec *r)
{
    fx *f = arg;
    write_cb(gc_seen, err, r);
    if (r->rv == 1) /* written while the first batch has finished: a later batch */
        for (int i = 0; i < 10; i++)
            store_write(f->s, "pods/late/x", obj("x", NULL), write_cb, gc_seen, NULL);
}

static void test_group_commit(void **state)
{
    fx *f = *state;
    static seen w, c;
    memset(&w, 0, sizeof w);
    memset(&c, 0, sizeof c);
    gc_seen = &w;
    store_on_commit(f->s, commit_cb, &c);
    char key[64];
    store_write(f->s, "pods/a/first", obj("first", NULL), chain_cb, f, NULL);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "pods/a/o%04d", i);
        store_write(f->s, key, obj(key, NULL), write_cb, &w, NULL);
    }
    run(f);
    assert_int_equal(w.n, 1011);
    assert_int_equal(c.n, 1011);
    for (int i = 0; i < w.n; i++) {
        assert_int_equal(w.err[i], 0);
        assert_int_equal(w.rv[i], i + 1);
        assert_int_equal(c.rv[i], i + 1);
    }
    store_stats st;
    store_stats_get(f->s, &st);
    assert_int_equal(st.records, 1011);
    assert_int_equal(st.commits, 2); /* 1001 from one loop turn, then the 10 from the callback */
    assert_int_equal(st.syncs, 2);
    assert_int_equal(st.max_batch, 1001);
    assert_true(st.commit_seconds > 0);
    assert_int_equal(st.objects, 1002);
    assert_int_equal(store_rev(f->s), 1011);
}

static void test_list_pagination(void **state)
{
    fx *f = *state;
    const char *pfx[] = {"pods/ns1/", "pods/ns2/", "pods/ns10/", "pytorchjobs/ns1/", "pod"};
    char key[64];
    /* insert in a scrambled order */
    for (int i = 0; i < 1500; i++) {
        int j = (i * 7919) % 1500;
        snprintf(key, sizeof key, "%s%04d", pfx[j % 4], j / 4);
        put(f, key, NULL);
    }
    put(f, pfx[4], NULL);
    run(f);
    assert_int_equal(store_count(f->s, "pods/ns1/"), 375);
    assert_int_equal(store_count(f->s, "pods/"), 1125);
    assert_int_equal(store_count(f->s, ""), 1501);
    assert_int_equal(store_count(f->s, "nothing/"), 0);

    static seen all, page;
    memset(&all, 0, sizeof all);
    char last[64] = "";
    for (;;) {
        memset(&page, 0, sizeof page);
        page.stop_at = 100;
        assert_int_equal(store_list(f->s, "pods/ns1/", last[0] ? last : NULL, 0, list_cb, &page), 0);
        for (int i = 0; i < page.n; i++)
            strcpy(all.key[all.n++], page.key[i]);
        if (page.n < 100)
            break;
        strcpy(last, page.key[page.n - 1]);
    }
    assert_int_equal(all.n, 375);
    for (int i = 0; i < all.n; i++) {
        snprintf(key, sizeof key, "pods/ns1/%04d", i);
        assert_string_equal(all.key[i], key);
    }
    /* byte order across prefixes; "pods/ns10/" sorts before "pods/ns2/" */
    memset(&page, 0, sizeof page);
    store_list(f->s, "pods/", NULL, 0, list_cb, &page);
    assert_int_equal(page.n, 1125);
    for (int i = 1; i < page.n; i++)
        assert_true(strcmp(page.key[i - 1], page.key[i]) < 0);
    assert_string_equal(page.key[375], "pods/ns10/0000");
    /* start_after before the prefix, or not a key itself */
    memset(&page, 0, sizeof page);
    store_list(f->s, "pods/ns2/", "a", 0, list_cb, &page);
    assert_int_equal(page.n, 375);
    memset(&page, 0, sizeof page);
    store_list(f->s, "pods/ns2/", "pods/ns2/0100x", 0, list_cb, &page);
    assert_int_equal(page.n, 274);
    assert_string_equal(page.key[0], "pods/ns2/0101");
    memset(&page, 0, sizeof page);
    store_list(f->s, "pods/ns2/", "pods/ns3", 0, list_cb, &page);
    assert_int_equal(page.n, 0);
}

static void test_mvcc(void **state)
{
    fx *f = *state;
    put(f, "p/a", "1");          /* 1 */
    put(f, "p/b", "1");          /* 2 */
    put(f, "p/c", "1");          /* 3 */
    run(f);
    put(f, "p/a", "2");          /* 4 */
    store_write(f->s, "p/b", NULL, NULL, NULL, NULL); /* 5 */
    put(f, "p/d", "1");          /* 6 */
    run(f);
    put(f, "p/e", NULL);         /* 7, pending */
    struct { uint64_t at; const char *keys; uint64_t rvs[4]; } cases[] = {
        {1, "p/a", {1}},
        {3, "p/a p/b p/c", {1, 2, 3}},
        {4, "p/a p/b p/c", {4, 2, 3}},
        {5, "p/a p/c", {4, 3}},
        {0, "p/a p/c p/d", {4, 3, 6}},
        {99, "p/a p/c p/d", {4, 3, 6}}, /* beyond: current committed, not the pending p/e */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        seen l = {0};
        assert_int_equal(store_list(f->s, "p/", NULL, cases[k].at, list_cb, &l), 0);
        char joined[64] = "";
        for (int i = 0; i < l.n; i++) {
            strcat(joined, i ? " " : "");
            strcat(joined, l.key[i]);
            assert_int_equal(l.rv[i], cases[k].rvs[i]);
        }
        assert_string_equal(joined, cases[k].keys);
    }
    run(f);
}

static void test_changes_since(void **state)
{
    fx *f = *state;
    put(f, "p/a", NULL);                               /* 1 */
    put(f, "p/a", NULL);                               /* 2 */
    store_write(f->s, "p/a", NULL, NULL, NULL, NULL);  /* 3 */
    put(f, "p/a", NULL);                               /* 4: create after delete */
    put(f, "p/b", NULL);                               /* 5 */
    run(f);
    put(f, "p/c", NULL);                               /* 6 pending */
    seen c = {0};
    assert_int_equal(store_changes_since(f->s, 0, change_cb, &c), 0);
    assert_int_equal(c.n, 5);
    uint64_t prev[] = {0, 1, 2, 0, 0};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(c.rv[i], i + 1);
        assert_int_equal(c.prev[i], prev[i]);
        assert_int_equal(c.err[i], i == 2); /* deleted flag */
    }
    memset(&c, 0, sizeof c);
    store_changes_since(f->s, 3, change_cb, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.rv[0], 4);
    memset(&c, 0, sizeof c);
    c.stop_at = 1;
    store_changes_since(f->s, 1, change_cb, &c);
    assert_int_equal(c.n, 1);
    memset(&c, 0, sizeof c);
    store_changes_since(f->s, 5, change_cb, &c);
    assert_int_equal(c.n, 0);
    run(f);
}

static int count_rows(const char *path, const char *where)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM log %s", where);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void test_compaction(void **state)
{
    fx *f = *state;
    for (int i = 0; i < 5; i++)
        put(f, "p/a", NULL);                           /* 1..5 */
    put(f, "p/b", NULL);                               /* 6 */
    store_write(f->s, "p/b", NULL, NULL, NULL, NULL);  /* 7 */
    put(f, "p/c", NULL);                               /* 8 */
    put(f, "p/a", NULL);                               /* 9 */
    run(f);
    const store_rec *a9 = store_get(f->s, "p/a");
    store_rec_ref(a9);
    store_compact(f->s, 7);
    assert_int_equal(store_compact_rev(f->s), 7);
    seen l = {0};
    assert_int_equal(store_list(f->s, "p/", NULL, 6, list_cb, &l), STORE_ERR_COMPACTED);
    assert_int_equal(store_changes_since(f->s, 6, change_cb, &l), STORE_ERR_COMPACTED);
    assert_int_equal(store_list(f->s, "p/", NULL, 7, list_cb, &l), 0);
    assert_int_equal(l.n, 1); /* as of 7: p/a@5 only */
    assert_int_equal(l.rv[0], 5);
    memset(&l, 0, sizeof l);
    assert_int_equal(store_changes_since(f->s, 7, change_cb, &l), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.prev[1], 5); /* p/a@9 still has its prev */
    assert_null(a9->prev->prev);   /* superseded at <= 7: dropped */
    memset(&l, 0, sizeof l);
    store_list(f->s, "p/", NULL, 0, list_cb, &l);
    assert_int_equal(l.n, 2);

    run(f); /* SQL compaction */
    assert_int_equal(count_rows(f->path, ""), 3);        /* 5, 8, 9 */
    assert_int_equal(count_rows(f->path, "WHERE id IN (5, 8, 9)"), 3);

    /* clamp to the current revision; tombstone at the head is removed with its key */
    store_write(f->s, "p/c", NULL, NULL, NULL, NULL);  /* 10 */
    run(f);
    store_compact(f->s, 1000);
    assert_int_equal(store_compact_rev(f->s), 10);
    assert_null(store_latest(f->s, "p/c"));
    assert_int_equal(store_list(f->s, "p/", NULL, 10, list_cb, &l), 0);
    assert_int_equal(store_list(f->s, "p/", NULL, 9, list_cb, &l), STORE_ERR_COMPACTED);
    assert_null(a9->prev);
    store_rec_unref(a9);
    run(f);
    assert_int_equal(count_rows(f->path, ""), 1);
    fx_close(f);
    fx_open(f, NULL);
    assert_int_equal(store_rev(f->s), 10);            /* the log ends at 9 */
    assert_int_equal(store_compact_rev(f->s), 10);
    assert_int_equal(put(f, "p/d", NULL), 11);
    run(f);
}

static void noop_timer(uv_timer_t *t) { (void)t; }

static void test_auto_compaction(void **state)
{
    fx *f = *state;
    fx_close(f);
    store_opts o = {.retain_revisions = 5, .compact_interval_ms = 5};
    fx_open(f, &o);
    /* the compaction timer alone must not keep the loop alive */
    uint64_t t0 = uv_now(&f->loop);
    run(f);
    assert_true(uv_now(&f->loop) - t0 < 100);
    for (int i = 0; i < 20; i++)
        put(f, "p/a", NULL);
    run(f);
    uv_timer_t tick;
    uv_timer_init(&f->loop, &tick);
    uint64_t deadline = uv_now(&f->loop) + 5000;
    while (store_compact_rev(f->s) == 0 && uv_now(&f->loop) < deadline) {
        uv_timer_start(&tick, noop_timer, 2, 0);
        uv_run(&f->loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&tick, NULL);
    assert_int_equal(store_compact_rev(f->s), 15);
    run(f);
}

static void test_restart(void **state)
{
    fx *f = *state;
    char key[64];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "pods/ns%d/o%03d", i % 3, i);
        put(f, key, i % 2 ? "odd" : NULL);
    }
    for (int i = 0; i < 300; i += 7) {
        snprintf(key, sizeof key, "pods/ns%d/o%03d", i % 3, i);
        put(f, key, "upd");
    }
    for (int i = 0; i < 300; i += 5) {
        snprintf(key, sizeof key, "pods/ns%d/o%03d", i % 3, i);
        store_write(f->s, key, NULL, NULL, NULL, NULL);
    }
    run(f);
    uint64_t rev = store_rev(f->s);
    static seen before, after;
    memset(&before, 0, sizeof before);
    memset(&after, 0, sizeof after);
    store_list(f->s, "", NULL, 0, list_cb, &before);
    char **data = calloc((size_t)before.n, sizeof *data);
    for (int i = 0; i < before.n; i++)
        data[i] = strdup(store_get(f->s, before.key[i])->data);
    store_stats st;
    store_stats_get(f->s, &st);
    fx_close(f);

    fx_open(f, NULL);
    assert_int_equal(store_rev(f->s), rev);
    store_list(f->s, "", NULL, 0, list_cb, &after);
    assert_int_equal(after.n, before.n);
    assert_int_equal(after.n, 240);
    for (int i = 0; i < after.n; i++) {
        const store_rec *r = store_get(f->s, before.key[i]);
        assert_non_null(r);
        assert_string_equal(r->data, data[i]);
        assert_int_equal(r->rv, before.rv[i]);
        free(data[i]);
    }
    free(data);
    store_stats st2;
    store_stats_get(f->s, &st2);
    assert_int_equal(st2.objects, st.objects);
    assert_string_equal(json_string_value(json_object_get(store_get(f->s, "pods/ns1/o001")->labels, "app")),
                        "odd");
    /* history survives too: the full change log and MVCC at an old revision */
    seen c = {0};
    assert_int_equal(store_list(f->s, "pods/ns0/", NULL, 3, list_cb, &c), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(put(f, "pods/ns9/new", NULL), rev + 1);
    run(f);
    assert_int_equal(store_rev(f->s), rev + 1);
}

static void test_commit_listener(void **state)
{
    fx *f = *state;
    seen c1 = {0}, c2 = {0};
    store_on_commit(f->s, commit_cb, &c1);
    store_on_commit(f->s, commit_cb, &c2);
    put(f, "p/a", NULL);                               /* 1 create */
    run(f);
    put(f, "p/a", NULL);                               /* 2 update */
    store_write(f->s, "p/a", NULL, NULL, NULL, NULL);  /* 3 delete */
    put(f, "p/a", NULL);                               /* 4 create again */
    assert_int_equal(c1.n, 1);
    run(f);
    assert_int_equal(c1.n, 4);
    assert_int_equal(c2.n, 4);
    uint64_t prev[] = {0, 1, 2, 0};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(c1.rv[i], i + 1);
        assert_int_equal(c1.prev[i], prev[i]);
        assert_int_equal(c2.prev[i], prev[i]);
    }
    assert_int_equal(c1.err[2], 1);
}

/* The tagger sees each tree as it is written (deletes too) and its bits land on the record. */
typedef struct tagseen {
    int n;
    unsigned tags[16];
} tagseen;

static unsigned tagger(void *arg, const char *key, const json_t *obj)
{
    (void)key;
    const char *app = json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), "app"));
    (*(int *)arg)++;
    return app && !strcmp(app, "web") ? 4u : 0u;
}

static void tag_cb(void *arg, const store_rec *r, const store_rec *p)
{
    tagseen *t = arg;
    (void)p;
    t->tags[t->n++] = r->tags;
}

static void test_tags(void **state)
{
    fx *f = *state;
    int calls = 0;
    tagseen t = {0};
    store_on_tag(f->s, tagger, &calls);
    store_on_commit(f->s, tag_cb, &t);
    put(f, "p/a", "web");
    put(f, "p/b", NULL);
    run(f);
    put(f, "p/a", "db");
    store_write(f->s, "p/b", NULL, NULL, NULL, NULL); /* a tombstone keeps its last state's tags */
    put(f, "p/c", "web");
    run(f);
    assert_int_equal(store_get(f->s, "p/c")->tags, 4);
    store_write(f->s, "p/c", NULL, NULL, NULL, NULL);
    run(f);
    assert_int_equal(calls, 4); /* tombstones are not tagged again */
    assert_int_equal(t.n, 6);
    unsigned want[] = {4, 0, 0, 0, 4, 4};
    for (int i = 0; i < 6; i++)
        assert_int_equal(t.tags[i], want[i]);
    /* the labels moved to the record outlive the tree */
    assert_string_equal(json_string_value(json_object_get(store_get(f->s, "p/a")->labels, "app")), "db");
    store_off_commit(f->s); /* drops the tagger too */
    put(f, "p/d", "web");
    run(f);
    assert_int_equal(calls, 4);
    assert_int_equal(store_get(f->s, "p/d")->tags, 0);
}

/* A tombstone is the last state with only metadata.resourceVersion changed, even when the text
 * "resourceVersion" appears as other keys and inside values (its bytes are spliced, not
 * re-encoded). */
static void test_tombstone_bytes(void **state)
{
    fx *f = *state;
    static const char *const docs[] = {
        "{'kind':'Pod','metadata':{'name':'t0'}}",
        "{'apiVersion':'v1','kind':'Pod','metadata':{'annotations':{'resourceVersion':'x\\\"resourceVersion\\\":\\\"5\\\"',"
        "'a\\\\':'}{]['},'labels':{'resourceVersion':'7'},'managedFields':[{'fieldsV1':{'f:metadata':"
        "{'resourceVersion':{}}}}],'name':'t1'},'spec':{'metadata':{'resourceVersion':'9'},"
        "'resourceVersion':'11'},'status':{'resourceVersion':'12'}}",
        "{'aaa':{'metadata':{'resourceVersion':'3'}},'kind':'Pod','metadata':{'name':'t2','uid':'u'}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        char text[1024], key[32];
        snprintf(text, sizeof text, "%s", docs[i]);
        for (char *c = text; *c; c++)
            if (*c == '\'')
                *c = '"';
        json_error_t je;
        json_t *o = json_loads(text, 0, &je);
        assert_non_null(o);
        snprintf(key, sizeof key, "p/t%zu", i);
        assert_true(store_write(f->s, key, o, NULL, NULL, NULL) > 0);
        run(f);
        const store_rec *live = store_get(f->s, key), *t = NULL;
        uint64_t rv = store_write(f->s, key, NULL, NULL, NULL, &t);
        assert_true(rv > 0);
        json_t *want = json_loadb(live->data, live->len, 0, NULL), *got = json_loadb(t->data, t->len, 0, NULL);
        assert_non_null(got);
        char rvs[24];
        snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)rv);
        json_object_set_new(json_object_get(want, "metadata"), "resourceVersion", json_string(rvs));
        assert_true(json_equal(want, got));
        char *dump = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(t->data, dump); /* the same bytes a re-encoding gives */
        assert_int_equal(t->len, strlen(dump));
        free(dump);
        json_decref(want);
        json_decref(got);
        run(f);
    }
}

/* The WAL is checkpointed beside the commits, not inside them: after ~40 MB of writes in many
 * batches it has been started over (it stays near the checkpoint threshold instead of growing
 * with every write), and everything is there after a restart. */
static void test_wal_checkpointed(void **state)
{
    fx *f = *state;
    enum { N = 10000 };
    static char big[4000];
    memset(big, 'x', sizeof big - 1);
    char key[64];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "p/k%05d", i);
        assert_true(store_write(f->s, key, json_pack("{s:{s:s},s:s}", "metadata", "name", key + 2, "data", big),
                            NULL, NULL, NULL) > 0);
        if (i % 50 == 49)
            run(f); /* a commit per 50 writes */
    }
    run(f);
    char wal[128];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    /* 10,000 rows of 4 KB are ~10,000+ pages; without checkpoints the WAL would hold them all */
    assert_true(st.st_size < 6000 * 4120);
    fx_close(f);
    fx_open(f, NULL);
    assert_int_equal(store_count(f->s, "p/"), N);
    snprintf(key, sizeof key, "p/k%05d", N - 1);
    assert_non_null(store_get(f->s, key));
}

/* Writes that never pause: every pool checkpoint leaves over the commits made while it ran, so
 * without the writer's catch-up the WAL never started over and grew by every byte written
 * (64 MB here); with it the WAL keeps to about its preallocated size (~18 MB). */
static void test_wal_restarts_under_steady_writes(void **state)
{
    fx *f = *state;
    enum { N = 16000, BATCH = 20 };
    static char big[4000];
    memset(big, 'x', sizeof big - 1);
    static seen w;
    memset(&w, 0, sizeof w);
    char key[64];
    int acked = 0;
    for (int i = 0; i < N; i += BATCH) {
        for (int j = i; j < i + BATCH; j++) {
            snprintf(key, sizeof key, "p/k%05d", j);
            assert_true(store_write(f->s, key, json_pack("{s:{s:s},s:s}", "metadata", "name", key + 2, "data", big),
                                    write_cb, &w, NULL) > 0);
        }
        /* one loop turn at a time until this batch is answered: a checkpoint in the pool does
         * not hold the writes up */
        while (w.n < BATCH)
            uv_run(&f->loop, UV_RUN_ONCE);
        for (int j = 0; j < w.n; j++)
            assert_int_equal(w.err[j], 0);
        acked += w.n;
        w.n = 0;
    }
    assert_int_equal(acked, N);
    char wal[128];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    assert_true(st.st_size < 32 << 20);
    run(f);
    fx_close(f);
    fx_open(f, NULL);
    assert_int_equal(store_count(f->s, "p/"), N);
}

/* The WAL is written ahead with zeros at open (commits then overwrite instead of growing the
 * file), and the zeros are never read as frames: a copy of the files taken while the store is
 * open (as a crash leaves them, the WAL not checkpointed, no shared-memory index) opens with
 * every committed write, and takes new ones. */
static void test_wal_preallocated(void **state)
{
    fx *f = *state;
    char wal[128];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    assert_true(st.st_size >= 16 << 20);
    char key[64];
    for (int i = 0; i < 120; i++) {
        snprintf(key, sizeof key, "p/k%03d", i);
        put(f, key, "a");
        if (i % 40 == 39)
            run(f);
    }
    run(f);
    uint64_t rev = store_rev(f->s);
    assert_int_equal(stat(wal, &st), 0);
    assert_true(st.st_size >= 16 << 20); /* written over, not grown */
    fx c = {0};
    snprintf(c.dir, sizeof c.dir, "%s", f->dir);
    snprintf(c.path, sizeof c.path, "%s/crash.db", f->dir);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp %s %s && cp %s %s-wal", f->path, c.path, wal, c.path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(uv_loop_init(&c.loop), 0);
    fx_open(&c, NULL);
    assert_int_equal(store_rev(c.s), rev);
    assert_int_equal(store_count(c.s, "p/"), 120);
    assert_int_equal(put(&c, "p/new", "b"), rev + 1);
    run(&c);
    assert_int_equal(store_rev(c.s), rev + 1);
    fx_close(&c);
    assert_int_equal(uv_loop_close(&c.loop), 0);
}

/* Writes 2..n (of n callbacks, the first one committed at 1) all failed, in order, and the
 * revision went back to 1. */
static void expect_rolled_back(fx *f, const seen *w, int n)
{
    assert_int_equal(w->n, n);
    for (int i = 1; i < n; i++) {
        assert_int_equal(w->err[i], STORE_ERR_IO);
        assert_int_equal(w->rv[i], i + 1);
    }
    assert_int_equal(store_rev(f->s), 1);
}

/* Take away the conflicting row (and close the other connection): the store writes again, and
 * key gets revision 2, the one the failed batch had handed out first after 1. */
static void write_after_conflict(fx *f, sqlite3 *db, int conflict_id, const char *key, seen *w)
{
    char sql[64];
    snprintf(sql, sizeof sql, "DELETE FROM log WHERE id = %d", conflict_id);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    int n = w->n;
    assert_int_equal(store_write(f->s, key, obj(strrchr(key, '/') + 1, NULL), write_cb, w, NULL), 2);
    run(f);
    assert_int_equal(w->err[n], 0);
    assert_int_equal(store_get(f->s, key)->rv, 2);
}

static void test_commit_failure(void **state)
{
    fx *f = *state;
    seen w = {0};
    store_write(f->s, "p/a", obj("a", "v1"), write_cb, &w, NULL);     /* 1 */
    run(f);
    /* another connection takes revision 3: the batch holding 2..4 fails on INSERT */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO log VALUES(3, 'x', 0, 0, NULL)", NULL, NULL, NULL),
                     SQLITE_OK);
    store_write(f->s, "p/a", obj("a", "v2"), write_cb, &w, NULL);     /* 2 */
    store_write(f->s, "p/b", obj("b", NULL), write_cb, &w, NULL);     /* 3 */
    store_write(f->s, "p/a", NULL, write_cb, &w, NULL);               /* 4 */
    assert_null(store_latest(f->s, "p/a"));
    run(f);
    expect_rolled_back(f, &w, 4);
    assert_int_equal(store_latest(f->s, "p/a")->rv, 1);
    assert_null(store_latest(f->s, "p/b"));
    assert_int_equal(store_count(f->s, ""), 1);
    seen c = {0};
    store_changes_since(f->s, 0, change_cb, &c);
    assert_int_equal(c.n, 1);
    store_stats st;
    store_stats_get(f->s, &st);
    assert_int_equal(st.commits, 1);
    /* the revision counter went back; after the conflict is gone, writes go through */
    write_after_conflict(f, db, 3, "p/b", &w);
}

/* A write prepared off the loop is stored as store_write would have stored it: the same bytes
 * with the revision written over the placeholder (in place when as wide, spliced when not), the
 * labels and the tags; a prepared write dropped unwritten frees everything. */
static void test_prepared(void **state)
{
    fx *f = *state;
    int calls = 0;
    store_on_tag(f->s, tagger, &calls);
    store_prep p;
    assert_int_equal(store_prepare(f->s, "p/a", obj("a", "web"), &p), 0);
    assert_int_equal(p.rv_end - p.rv_at, 1); /* the next revision, 1, is one digit */
    assert_memory_equal(p.data + p.rv_at, "0", 1);
    seen w = {0};
    assert_int_equal(store_write_prepared(f->s, "p/a", &p, write_cb, &w, NULL), 1);
    assert_null(p.data);
    run(f);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.err[0], 0);
    const store_rec *a = store_get(f->s, "p/a");
    assert_int_equal(rv_of(a), 1);
    assert_int_equal(a->tags, 4);
    assert_string_equal(json_string_value(json_object_get(a->labels, "app")), "web");
    /* the same object through store_write: the same bytes but for the revision */
    put(f, "p/b", "web");
    run(f);
    const store_rec *b = store_get(f->s, "p/b");
    char *want = strdup(b->data);
    char *at = strstr(want, "\"name\":\"b\"");
    assert_non_null(at);
    at[8] = 'a';
    char *rv = strstr(want, "\"resourceVersion\":\"2\"");
    assert_non_null(rv);
    rv[19] = '1';
    assert_string_equal(a->data, want);
    free(want);
    /* prepared at 2, written at 10 and more: the placeholder is spliced out */
    assert_int_equal(store_prepare(f->s, "p/c", obj("c", NULL), &p), 0);
    for (int i = 0; i < 8; i++)
        put(f, "p/x", NULL);
    assert_int_equal(store_write_prepared(f->s, "p/c", &p, NULL, NULL, NULL), 11);
    run(f);
    const store_rec *c = store_get(f->s, "p/c");
    assert_int_equal(rv_of(c), 11);
    assert_int_equal(c->len, strlen(c->data));
    assert_null(c->labels);
    json_t *o = json_loadb(c->data, c->len, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "metadata"), "name")), "c");
    json_decref(o);
    assert_int_equal(store_prepare(f->s, "p/d", obj("d", "db"), &p), 0);
    store_prep_free(&p);
    assert_null(store_get(f->s, "p/d"));
    assert_int_equal(store_prepare(f->s, "p/e", json_array(), &p), -1);
}

static void sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }

static int rows_in(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int n = -1;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM log", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* The writer takes what is handed to it without the loop: two batches, handed over one after
 * the other, are both committed while the loop does not run; their callbacks come in order on
 * the loop's next turn. */
static void test_writer_pipelined(void **state)
{
    fx *f = *state;
    seen w = {0};
    store_write(f->s, "p/a", obj("a", NULL), write_cb, &w, NULL);
    store_flush(f->s);
    store_write(f->s, "p/b", obj("b", NULL), write_cb, &w, NULL);
    store_write(f->s, "p/c", obj("c", NULL), write_cb, &w, NULL);
    store_flush(f->s);
    int rows = 0;
    for (int i = 0; i < 500 && (rows = rows_in(f->path)) < 3; i++)
        sleep_ms(10);
    assert_int_equal(rows, 3);
    assert_int_equal(w.n, 0);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(w.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(w.err[i], 0);
        assert_int_equal(w.rv[i], i + 1);
    }
    assert_int_equal(store_rev(f->s), 3);
    run(f); /* nothing left out: the loop ends */
}

/* A batch fails while a later one is already handed over: the later one fails too, unwritten
 * (no revision commits around the hole), and so does the queue; then writes go on. */
static void test_commit_failure_pipelined(void **state)
{
    fx *f = *state;
    seen w = {0};
    store_write(f->s, "p/a", obj("a", NULL), write_cb, &w, NULL);     /* 1 */
    run(f);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO log VALUES(2, 'x', 0, 0, NULL)", NULL, NULL, NULL),
                     SQLITE_OK);
    store_write(f->s, "p/b", obj("b", NULL), write_cb, &w, NULL);     /* 2: fails on INSERT */
    store_flush(f->s);
    store_write(f->s, "p/c", obj("c", NULL), write_cb, &w, NULL);     /* 3: handed over too */
    store_flush(f->s);
    sleep_ms(50); /* the writer gets to both */
    store_write(f->s, "p/d", obj("d", NULL), write_cb, &w, NULL);     /* 4: queued */
    run(f);
    expect_rolled_back(f, &w, 4);
    assert_null(store_latest(f->s, "p/c"));
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM log WHERE id > 2", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0); /* 3 was never written */
    sqlite3_finalize(st);
    write_after_conflict(f, db, 2, "p/c", &w);
}

static int count_cb(void *arg, const store_rec *r)
{
    size_t *n = arg;
    (*n)++;
    return 0;
}

/* The hash index under point lookups stays exact through many entries coming and going (the
 * table grows several times; compaction removes the tombstoned keys, in the middle of probe
 * runs): every key is found or not as the skip list's order says. */
static void test_hash_index(void **state)
{
    fx *f = *state;
    enum { N = 6000 };
    char key[32];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "p/k%05d", i);
        put(f, key, NULL);
    }
    run(f);
    for (int i = 0; i < N; i += 3) {
        snprintf(key, sizeof key, "p/k%05d", i);
        store_write(f->s, key, NULL, NULL, NULL, NULL);
    }
    run(f);
    store_compact(f->s, store_rev(f->s)); /* the tombstones' entries go */
    run(f);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "p/k%05d", i);
        if (i % 3 == 0)
            assert_null(store_latest(f->s, key));
        else
            assert_non_null(store_get(f->s, key));
    }
    for (int i = 0; i < N; i += 6) { /* back again */
        snprintf(key, sizeof key, "p/k%05d", i);
        put(f, key, NULL);
    }
    run(f);
    size_t n = 0;
    assert_int_equal(store_list(f->s, "p/", NULL, 0, count_cb, &n), 0);
    assert_int_equal(n, N - N / 3 + N / 6);
    assert_int_equal(store_count(f->s, "p/"), N - N / 3 + N / 6);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "p/k%05d", i);
        assert_true((store_get(f->s, key) != NULL) == (i % 3 != 0 || i % 6 == 0));
    }
}

static void test_close_pending(void **state)
{
    fx *f = *state;
    seen w = {0};
    store_write(f->s, "p/a", obj("a", NULL), write_cb, &w, NULL);     /* 1 */
    /* one turn: the idle kick starts the batch; it may or may not finish this turn */
    uv_run(&f->loop, UV_RUN_NOWAIT);
    store_write(f->s, "p/b", obj("b", NULL), write_cb, &w, NULL);     /* 2: never in a batch */
    fx_close(f);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.rv[0], 1);
    assert_int_equal(w.err[0], 0);
    assert_int_equal(w.err[1], STORE_ERR_IO);
    fx_open(f, NULL);
    assert_non_null(store_get(f->s, "p/a"));
    assert_null(store_get(f->s, "p/b"));
    assert_int_equal(store_rev(f->s), 1);
}


typedef struct pager { size_t n; char last[64]; } pager;
static int page_cb(void *arg, const store_rec *r)
{
    pager *p = arg;
    p->n++;
    if (p->n % 500 == 0) {
        snprintf(p->last, sizeof p->last, "%s", r->key);
        return 1;
    }
    return 0;
}

static double secs(void) { return (double)uv_hrtime() / 1e9; }

static void test_scale(void **state)
{
    fx *f = *state;
    enum { N = 100000 };
    char key[64];
    double t0 = secs();
    for (int i = 0; i < N; i++) {
        int j = (int)(((uint64_t)i * 48271u) % N); /* scrambled insertion order */
        snprintf(key, sizeof key, "pytorchjobs/ns%02d/job-%06d", j % 20, j);
        json_t *o = json_pack("{s:s, s:{s:s, s:s, s:{s:s}}, s:{s:i}}", "kind", "PyTorchJob",
                              "metadata", "name", key + 17, "namespace", "x", "labels", "team", "a",
                              "spec", "replicas", j);
        assert_true(store_write(f->s, key, o, NULL, NULL, NULL) > 0);
    }
    double t1 = secs();
    run(f);
    double t2 = secs();
    assert_int_equal(store_count(f->s, ""), N);

    pager p = {0};
    for (;;) {
        size_t before = p.n;
        store_list(f->s, "pytorchjobs/", p.last[0] ? p.last : NULL, 0, page_cb, &p);
        if (p.n - before < 500)
            break;
    }
    double t3 = secs();
    assert_int_equal(p.n, N);
    size_t n = 0;
    store_list(f->s, "pytorchjobs/ns07/", NULL, 0, count_cb, &n);
    assert_int_equal(n, N / 20);
    fx_close(f);
    double t4 = secs();
    fx_open(f, NULL);
    double t5 = secs();
    assert_int_equal(store_count(f->s, "pytorchjobs/"), N);
    double list_rate = N / (t3 - t2);
    fprintf(stderr,
            "# scale: %d creates queued %.3fs (%.0f/s), committed %.3fs; paged list %.4fs "
            "(%.0f obj/s); close %.3fs; reopen+load %.3fs\n",
            N, t1 - t0, N / (t1 - t0), t2 - t1, t3 - t2, list_rate, t4 - t3, t5 - t4);
    assert_true(list_rate > 200000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_invisible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_pagination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mvcc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_since, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tombstone_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_checkpointed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_preallocated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_restarts_under_steady_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_listener, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_failure_pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scale, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
