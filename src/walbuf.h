/* walbuf — the store's SQLite VFS: the default one, with two write patterns changed.
 *
 * WAL files: SQLite writes each WAL frame as two writes (its 24-byte header, then the page), so
 * a commit of 11 pages is 22 pwrite calls (73 µs here), in front of the commit's fdatasync. The
 * writes that continue where the last one ended are held and written out in one call before
 * anything that needs them in the file: a sync, a read, a size, a truncate, a file control, the
 * close (one pwrite of the same 45 KB: 9 µs). Durability is unchanged: what SQLite syncs is in
 * the file when fdatasync runs.
 *
 * Database files (written by checkpoints): the kernel is asked to start writing back every
 * 256 KiB written, so that a checkpoint's ~10 MB do not all go to the disk at its final sync,
 * with the commits' fdatasyncs queued behind them. Not a sync: SQLite syncs where it did.
 *
 * Other files are the default VFS's own. */
#ifndef TJ_WALBUF_H
#define TJ_WALBUF_H

#define WALBUF_VFS "tj-walbuf"

/* Register the VFS (not as the default); idempotent. 0, or an SQLite error code. */
int walbuf_register(void);
/* Writeback kicks issued so far for database files (for tests and curiosity). */
unsigned long walbuf_kicks(void);

#endif
