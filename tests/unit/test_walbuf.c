/* Unit tests for src/walbuf.c: a commit's WAL frames reach the file in one write (counted by a
 * VFS registered below walbuf as the default), what is written reads back, after a reopen and
 * from a second connection, big transactions go out in pieces the default VFS accepts, and a
 * checkpoint through it starts the database file's writeback as it goes. */
#include "unit.h"
#include <unistd.h>
#include <sqlite3.h>
#include "walbuf.h"

/* ---- a counting VFS under walbuf: the default VFS, with the WAL's writes and syncs counted */

static sqlite3_vfs count_vfs, *unix_vfs;
static sqlite3_io_methods count_methods;
static const sqlite3_io_methods *unix_methods;
static int wal_writes, wal_syncs, wal_big;

static int c_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    wal_writes++;
    wal_big += n >= 128 * 1024;
    return unix_methods->xWrite(f, p, n, off);
}

static int c_sync(sqlite3_file *f, int flags)
{
    wal_syncs++;
    return unix_methods->xSync(f, flags);
}

static int c_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)v;
    int rc = unix_vfs->xOpen(unix_vfs, name, f, flags, out);
    if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL)) {
        unix_methods = f->pMethods;
        count_methods = *f->pMethods;
        count_methods.xWrite = c_write;
        count_methods.xSync = c_sync;
        f->pMethods = &count_methods;
    }
    return rc;
}

static int setup_vfs(void **state)
{
    (void)state;
    unix_vfs = sqlite3_vfs_find(NULL);
    count_vfs = *unix_vfs;
    count_vfs.zName = "count";
    count_vfs.xOpen = c_open;
    count_vfs.pNext = NULL;
    assert_int_equal(sqlite3_vfs_register(&count_vfs, 1), SQLITE_OK); /* the default: walbuf wraps it */
    assert_int_equal(walbuf_register(), SQLITE_OK);
    assert_int_equal(walbuf_register(), SQLITE_OK); /* once is enough */
    return 0;
}

typedef struct fx {
    char dir[64], path[96];
    sqlite3 *db;
} fx;

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", sql, err);
    assert_int_equal(rc, SQLITE_OK);
}

static sqlite3 *open_db(const char *path, const char *vfs)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
                     SQLITE_OK);
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0");
    return db;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/test_walbuf.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    f->db = open_db(f->path, WALBUF_VFS);
    exec(f->db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (f->db)
        sqlite3_close(f->db);
    char p[128];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static int count_rows(sqlite3 *db, int *bytes)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), total(length(v)) FROM t", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    if (bytes)
        *bytes = (int)sqlite3_column_double(st, 1);
    sqlite3_finalize(st);
    return n;
}

static void insert(sqlite3 *db, int rows, int size)
{
    char sql[128];
    exec(db, "BEGIN");
    for (int i = 0; i < rows; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO t(v) VALUES(randomblob(%d))", size);
        exec(db, sql);
    }
    exec(db, "COMMIT");
}

/* A commit of ~20 pages is one write of the WAL and one sync; SQLite alone makes two writes a
 * page. */
static void test_one_write_per_commit(void **state)
{
    fx *f = *state;
    insert(f->db, 1, 100); /* the WAL's header and first frames */
    for (int k = 0; k < 5; k++) {
        wal_writes = wal_syncs = 0;
        insert(f->db, 20, 2000);
        assert_int_equal(wal_syncs, 1);
        assert_int_equal(wal_writes, 1);
    }
    assert_int_equal(count_rows(f->db, NULL), 101);
}

/* What was written reads back: through a second connection of the default VFS (the
 * checkpointer's kind) while the first is open, and after a reopen. */
static void test_reads_back(void **state)
{
    fx *f = *state;
    insert(f->db, 30, 3000);
    sqlite3 *other = open_db(f->path, NULL);
    int bytes = 0;
    assert_int_equal(count_rows(other, &bytes), 30);
    assert_int_equal(bytes, 30 * 3000);
    assert_int_equal(sqlite3_wal_checkpoint_v2(other, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(other);
    insert(f->db, 5, 3000); /* after a checkpoint: the WAL starts over */
    sqlite3_close(f->db);
    f->db = open_db(f->path, WALBUF_VFS);
    assert_int_equal(count_rows(f->db, &bytes), 35);
    assert_int_equal(bytes, 35 * 3000);
}

/* A transaction bigger than what the default VFS takes in one write (128 KiB) goes out in
 * pieces, and whole. */
static void test_big_transaction(void **state)
{
    fx *f = *state;
    wal_big = 0;
    insert(f->db, 1500, 2000);
    assert_int_equal(wal_big, 0);
    sqlite3_close(f->db);
    f->db = open_db(f->path, WALBUF_VFS);
    int bytes = 0;
    assert_int_equal(count_rows(f->db, &bytes), 1500);
    assert_int_equal(bytes, 1500 * 2000);
}

/* A checkpoint through walbuf (the store's checkpointer connection) that copies ~3 MB kicks
 * the writeback every 256 KiB, and the database holds everything once the WAL is gone. */
static void test_checkpoint_paced(void **state)
{
    fx *f = *state;
    insert(f->db, 1500, 2000);
    sqlite3 *ck = open_db(f->path, WALBUF_VFS);
    unsigned long k0 = walbuf_kicks();
    int nlog = 0, nckpt = 0;
    assert_int_equal(sqlite3_wal_checkpoint_v2(ck, NULL, SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt),
                     SQLITE_OK);
    assert_int_equal(nlog, nckpt);
    assert_true(walbuf_kicks() - k0 >= 8); /* ~3 MB in pieces of 256 KiB */
    sqlite3_close(ck);
    sqlite3_close(f->db);
    char wal[128];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    unlink(wal); /* truncated: the database alone must hold it all */
    f->db = open_db(f->path, NULL);
    int bytes = 0;
    assert_int_equal(count_rows(f->db, &bytes), 1500);
    assert_int_equal(bytes, 1500 * 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_write_per_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_paced, setup, teardown),
    };
    return cmocka_run_group_tests(tests, setup_vfs, NULL);
}
