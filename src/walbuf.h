/* walbuf — an SQLite VFS over the default one that gathers a commit's WAL writes into one.
 *
 * SQLite writes each WAL frame as two writes (its 24-byte header, then the page), so a commit
 * of 11 pages is 22 pwrite calls (73 µs here), in front of the commit's fdatasync. This VFS
 * buffers writes to a WAL file that continue where the last one ended, and writes them out in
 * one call before anything that needs them in the file: a sync, a read, a size, a truncate, a
 * file control, the close (one pwrite of the same 45 KB: 9 µs). Durability is unchanged: what
 * SQLite syncs is in the file when fdatasync runs. Other files are the default VFS's own. */
#ifndef TJ_WALBUF_H
#define TJ_WALBUF_H

#define WALBUF_VFS "tj-walbuf"

/* Register the VFS (not as the default); idempotent. 0, or an SQLite error code. */
int walbuf_register(void);

#endif
