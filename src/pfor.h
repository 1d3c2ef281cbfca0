/* pfor — a parallel for over [0, n) on the calling thread plus a few helper threads.
 *
 * For work the loop thread would otherwise do alone and that splits into independent items
 * (the watch fan-out: one TLS record and one socket write per watcher). The caller takes part
 * and returns only when every item is done, so while pfor_run runs nothing else touches the
 * loop's state: each item may touch what belongs to it (its own connection) and nothing
 * shared. With no helpers (one CPU) it is a plain loop. */
#ifndef TJ_PFOR_H
#define TJ_PFOR_H
#include <stddef.h>

typedef struct pfor pfor;
typedef void (*pfor_fn)(void *arg, size_t i);

/* helpers < 0: one fewer than the online CPUs, at most 3. */
pfor *pfor_new(int helpers);
void pfor_free(pfor *p);
int pfor_helpers(const pfor *p);
/* fn(arg, i) for every i < n, in any order and on any of the threads. */
void pfor_run(pfor *p, size_t n, pfor_fn fn, void *arg);
#endif
