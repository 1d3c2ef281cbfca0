/* keyq — a queue of distinct keys (the controllers' work queues: client-go's workqueue
 * without its rate limits).
 *
 *   keyq q = {0};
 *   keyq_push(&q, "pytorchjobs/ns/a");   1: queued
 *   keyq_push(&q, "pytorchjobs/ns/a");   0: already queued, nothing changes
 *   char **v = keyq_take(&q, &n);        every key in the order first pushed; q is empty again
 *
 * Membership is a hash lookup, so queueing every stored job (a controller adopting them after a
 * restart, a collection of owners being deleted) costs time in proportion to the keys, not to
 * their square. Not thread-safe; aborts when memory runs out (a few pointers per key). */
#ifndef TJ_KEYQ_H
#define TJ_KEYQ_H
#include <stddef.h>

typedef struct keyq {
    char **v;          /* the keys, in order; owned */
    size_t n, cap;
    const char **set;  /* open addressing over v's strings; NULL while n is small */
    size_t set_cap;    /* a power of two, at least 2 * n, or 0 */
} keyq;

/* Queue a copy of key unless it is queued already: 1 if queued, 0 if it was there. */
int keyq_push(keyq *q, const char *key);
/* Hand over the keys (malloc'ed, each and the array; NULL when there are none) and empty q. */
char **keyq_take(keyq *q, size_t *n);
/* Free every key still queued. */
void keyq_free(keyq *q);
#endif
