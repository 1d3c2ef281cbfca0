/* keyq — see keyq.h.
 *
 * Up to SCAN_MAX keys the queue is searched from end to end (a few comparisons, no set to build
 * or clear: the usual queue between two loop turns holds a handful). Past it the set is built
 * from v and kept at most half full; it is dropped with the keys at keyq_take. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "keyq.h"

enum { SCAN_MAX = 16 };

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void *xrealloc(void *p, size_t n)
{
    void *r = realloc(p, n);
    if (!r)
        abort();
    return r;
}

/* The slot holding key, or the empty one where it would go. */
static const char **slot(const keyq *q, const char *key)
{
    size_t mask = q->set_cap - 1;
    for (size_t i = hash(key) & mask;; i = (i + 1) & mask)
        if (!q->set[i] || !strcmp(q->set[i], key))
            return &q->set[i];
}

static void set_grow(keyq *q)
{
    free(q->set);
    q->set_cap = q->set_cap ? q->set_cap * 2 : 4 * SCAN_MAX;
    q->set = calloc(q->set_cap, sizeof *q->set);
    if (!q->set)
        abort();
    for (size_t i = 0; i < q->n; i++)
        *slot(q, q->v[i]) = q->v[i];
}

int keyq_push(keyq *q, const char *key)
{
    if (q->set) {
        if (*slot(q, key))
            return 0;
    } else {
        for (size_t i = 0; i < q->n; i++)
            if (!strcmp(q->v[i], key))
                return 0;
    }
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 16;
        q->v = xrealloc(q->v, q->cap * sizeof *q->v);
    }
    char *k = strdup(key);
    if (!k)
        abort();
    q->v[q->n++] = k;
    if (q->set && 2 * q->n <= q->set_cap)
        *slot(q, k) = k;
    else if (q->n > SCAN_MAX)
        set_grow(q); /* builds it, or doubles it, with k */
    return 1;
}

char **keyq_take(keyq *q, size_t *n)
{
    char **v = q->v;
    *n = q->n;
    free(q->set);
    memset(q, 0, sizeof *q);
    return v;
}

void keyq_free(keyq *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->v[i]);
    free(q->v);
    free(q->set);
    memset(q, 0, sizeof *q);
}
