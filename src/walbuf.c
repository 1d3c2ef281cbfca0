/* walbuf — see walbuf.h.
 *
 *   a WAL file:  EMPTY ──xWrite──► HOLDING [off, off+len) ──xWrite at off+len, fits──► HOLDING
 *                  ▲                   │
 *                  └── flush (one write through the default VFS) ◄── any other xWrite, xSync,
 *                      xRead, xFileSize, xTruncate, xFileControl, xClose, the buffer full
 *
 *   a database file: every write goes through at once; each PACE bytes written, the kernel is
 *   told to start writing the file back (sync_file_range, SYNC_FILE_RANGE_WRITE: it does not
 *   wait, and it is no sync: SQLite still syncs the file where it always does).
 *
 * The memory SQLite gives a file is this VFS's szOsFile: a walfile header followed by room for
 * the default VFS's own file. A WAL or database file is the header (with our methods) wrapping
 * the real file placed after it; any other file is opened straight into the memory and is the
 * real file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "walbuf.h"

enum { WALBUF_MAX = 1 << 20 }; /* what a WAL file holds at most before it writes */
enum { PACE = 256 * 1024 };     /* a database file's writes between two writeback kicks */

typedef struct walfile {
    sqlite3_file base;
    sqlite3_file *real;
    int is_db;         /* a database file (paced), else a WAL file (gathered) */
    /* WAL: */
    char *buf;
    size_t len, cap;
    sqlite3_int64 off; /* where buf goes in the file */
    /* database: */
    size_t since;      /* bytes written since the last kick */
    int fd;            /* our own descriptor of the file for sync_file_range, -1 until needed */
    char path[4096];
} walfile;

static sqlite3_vfs walbuf_vfs;
static unsigned long kicks; /* writeback kicks issued (walbuf_kicks) */
static sqlite3_vfs *base_vfs;

/* The default VFS takes at most 128 KiB - 1 in one write (its seekAndWrite masks the count
 * with 0x1ffff; SQLite's own writes are pages), so the buffer goes out in pieces of 64 KiB. */
enum { PIECE = 64 * 1024 };

static int flush(walfile *w)
{
    int rc = SQLITE_OK;
    for (size_t done = 0; done < w->len && rc == SQLITE_OK; done += PIECE) {
        size_t n = w->len - done < PIECE ? w->len - done : PIECE;
        rc = w->real->pMethods->xWrite(w->real, w->buf + done, (int)n, w->off + (sqlite3_int64)done);
    }
    w->len = 0;
    return rc;
}

static int wb_close(sqlite3_file *f)
{
    walfile *w = (walfile *)f;
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    int rc = flush(w);
    int rc2 = w->real->pMethods->xClose(w->real);
    free(w->buf);
    w->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xRead(w->real, p, n, off);
}

/* A checkpoint writes ~10 MB into the database file and then syncs it: all of it goes to the
 * disk at once, and every commit's fdatasync issued meanwhile waits behind it (tens of ms here).
 * Started a piece at a time as it is written, the same bytes reach the disk alongside the
 * commits instead. */
static int db_write(walfile *w, const void *p, int n, sqlite3_int64 off)
{
    int rc = w->real->pMethods->xWrite(w->real, p, n, off);
    if (rc != SQLITE_OK)
        return rc;
    w->since += (size_t)n;
    if (w->since >= PACE) {
        w->since = 0;
        if (w->fd < 0)
            w->fd = open(w->path, O_RDONLY | O_CLOEXEC);
        if (w->fd >= 0 && sync_file_range(w->fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0)
            __atomic_add_fetch(&kicks, 1, __ATOMIC_RELAXED); /* a failure costs only speed */
    }
    return SQLITE_OK;
}

static int wb_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    walfile *w = (walfile *)f;
    if (w->is_db)
        return db_write(w, p, n, off);
    size_t amt = (size_t)n;
    if (w->len && (off != w->off + (sqlite3_int64)w->len || w->len + amt > WALBUF_MAX)) {
        int rc = flush(w);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (amt >= PIECE) /* not SQLite's: as it came */
        return w->real->pMethods->xWrite(w->real, p, n, off);
    if (w->len + amt > w->cap) {
        size_t cap = w->cap ? w->cap : 64 * 1024;
        while (cap < w->len + amt)
            cap *= 2;
        char *b = realloc(w->buf, cap);
        if (!b) { /* no room to hold it: write it as SQLite asked */
            int rc = flush(w);
            return rc != SQLITE_OK ? rc : w->real->pMethods->xWrite(w->real, p, n, off);
        }
        w->buf = b;
        w->cap = cap;
    }
    if (!w->len)
        w->off = off;
    memcpy(w->buf + w->len, p, amt);
    w->len += amt;
    return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int wb_sync(sqlite3_file *f, int flags)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xSync(w->real, flags);
}

static int wb_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

static int wb_lock(sqlite3_file *f, int l)
{
    walfile *w = (walfile *)f;
    return w->real->pMethods->xLock(w->real, l);
}

static int wb_unlock(sqlite3_file *f, int l)
{
    walfile *w = (walfile *)f;
    return w->real->pMethods->xUnlock(w->real, l);
}

static int wb_check_reserved(sqlite3_file *f, int *out)
{
    walfile *w = (walfile *)f;
    return w->real->pMethods->xCheckReservedLock(w->real, out);
}

static int wb_file_control(sqlite3_file *f, int op, void *arg)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileControl(w->real, op, arg);
}

static int wb_sector_size(sqlite3_file *f)
{
    walfile *w = (walfile *)f;
    return w->real->pMethods->xSectorSize(w->real);
}

static int wb_device_chars(sqlite3_file *f)
{
    walfile *w = (walfile *)f;
    return w->real->pMethods->xDeviceCharacteristics(w->real);
}

static int wb_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    walfile *w = (walfile *)f;
    return w->real->pMethods->xShmMap(w->real, pg, pgsz, extend, pp);
}

static int wb_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    walfile *w = (walfile *)f;
    return w->real->pMethods->xShmLock(w->real, offset, n, flags);
}

static void wb_shm_barrier(sqlite3_file *f)
{
    walfile *w = (walfile *)f;
    w->real->pMethods->xShmBarrier(w->real);
}

static int wb_shm_unmap(sqlite3_file *f, int del)
{
    walfile *w = (walfile *)f;
    return w->real->pMethods->xShmUnmap(w->real, del);
}

static int wb_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFetch(w->real, off, n, pp);
}

static int wb_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    walfile *w = (walfile *)f;
    return w->real->pMethods->xUnfetch(w->real, off, p);
}

static const sqlite3_io_methods wb_methods = {
    3, wb_close, wb_read, wb_write, wb_truncate, wb_sync, wb_file_size, wb_lock, wb_unlock,
    wb_check_reserved, wb_file_control, wb_sector_size, wb_device_chars, wb_shm_map, wb_shm_lock,
    wb_shm_barrier, wb_shm_unmap, wb_fetch, wb_unfetch,
};

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    if (!(flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_DB)) || !name ||
        strlen(name) >= sizeof ((walfile *)0)->path)
        return base_vfs->xOpen(base_vfs, name, f, flags, out_flags);
    walfile *w = (walfile *)f;
    memset(w, 0, sizeof *w);
    w->is_db = !(flags & SQLITE_OPEN_WAL);
    w->fd = -1;
    memcpy(w->path, name, strlen(name) + 1);
    w->real = (sqlite3_file *)(w + 1);
    int rc = base_vfs->xOpen(base_vfs, name, w->real, flags, out_flags);
    if (rc != SQLITE_OK || !w->real->pMethods || w->real->pMethods->iVersion < 3) {
        if (rc == SQLITE_OK && w->real->pMethods)
            w->real->pMethods->xClose(w->real);
        w->base.pMethods = NULL;
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
    w->base.pMethods = &wb_methods;
    return SQLITE_OK;
}

int walbuf_register(void)
{
    if (sqlite3_vfs_find(WALBUF_VFS))
        return SQLITE_OK;
    base_vfs = sqlite3_vfs_find(NULL);
    if (!base_vfs)
        return SQLITE_ERROR;
    walbuf_vfs = *base_vfs;
    walbuf_vfs.zName = WALBUF_VFS;
    walbuf_vfs.szOsFile = (int)sizeof(walfile) + base_vfs->szOsFile;
    walbuf_vfs.xOpen = wb_open;
    walbuf_vfs.pNext = NULL;
    return sqlite3_vfs_register(&walbuf_vfs, 0);
}

unsigned long walbuf_kicks(void) { return __atomic_load_n(&kicks, __ATOMIC_RELAXED); }
