/* pfor — see pfor.h.
 *
 *   helper:  IDLE ──gen changed, run open──► RUN (take blocks until none left) ──► IDLE
 *   caller:  publish job, open, gen++, wake helpers ─► take blocks too ─► close the run ─►
 *            wait for the helpers that joined it ─► return
 *
 * Items are handed out in blocks (1 to 16, by n) through one atomic counter, so a slow thread
 * takes fewer. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>
#include "pfor.h"

enum { PFOR_MAX = 3, BLOCK = 16 };

struct pfor {
    uv_mutex_t mu;
    uv_cond_t go, done;
    uv_thread_t th[PFOR_MAX];
    int nth;
    unsigned gen;
    int stopping;
    int open;          /* the current run takes helpers */
    int busy;          /* helpers that joined the current run and are not done */
    pfor_fn fn;
    void *arg;
    size_t n;
    size_t block;      /* items taken at a time */
    size_t next;       /* atomic */
};

static void drain(pfor *p)
{
    size_t i, b = p->block;
    while ((i = __atomic_fetch_add(&p->next, b, __ATOMIC_RELAXED)) < p->n) {
        size_t end = i + b < p->n ? i + b : p->n;
        for (; i < end; i++)
            p->fn(p->arg, i);
    }
}

static void helper(void *arg)
{
    pfor *p = arg;
    pthread_setname_np(pthread_self(), "pfor");
    unsigned seen = 0;
    uv_mutex_lock(&p->mu);
    for (;;) {
        /* join only a run still open: one that closed while this thread was not scheduled is
         * done without it */
        while (!p->stopping && (p->gen == seen || !p->open))
            uv_cond_wait(&p->go, &p->mu);
        if (p->stopping)
            break;
        seen = p->gen;
        p->busy++;
        uv_mutex_unlock(&p->mu);
        drain(p);
        uv_mutex_lock(&p->mu);
        if (--p->busy == 0)
            uv_cond_signal(&p->done);
    }
    uv_mutex_unlock(&p->mu);
}

pfor *pfor_new(int helpers)
{
    if (helpers < 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        helpers = cpus > 1 ? (int)cpus - 1 : 0;
    }
    if (helpers > PFOR_MAX)
        helpers = PFOR_MAX;
    pfor *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    uv_mutex_init(&p->mu);
    uv_cond_init(&p->go);
    uv_cond_init(&p->done);
    for (int i = 0; i < helpers; i++) {
        if (uv_thread_create(&p->th[p->nth], helper, p) != 0)
            break;
        p->nth++;
    }
    return p;
}

void pfor_free(pfor *p)
{
    if (!p)
        return;
    uv_mutex_lock(&p->mu);
    p->stopping = 1;
    uv_cond_broadcast(&p->go);
    uv_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nth; i++)
        uv_thread_join(&p->th[i]);
    uv_cond_destroy(&p->go);
    uv_cond_destroy(&p->done);
    uv_mutex_destroy(&p->mu);
    free(p);
}

int pfor_helpers(const pfor *p) { return p ? p->nth : 0; }

void pfor_run(pfor *p, size_t n, pfor_fn fn, void *arg)
{
    if (!p || p->nth == 0 || n < 2) {
        for (size_t i = 0; i < n; i++)
            fn(arg, i);
        return;
    }
    uv_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    /* blocks small enough that every thread gets some (a few dozen answers of ~20 µs each are
     * worth sharing), large enough that the counter is not fought over */
    p->block = n / (4 * (size_t)(p->nth + 1));
    if (p->block < 1)
        p->block = 1;
    if (p->block > BLOCK)
        p->block = BLOCK;
    p->next = 0;
    p->open = 1;
    p->gen++;
    uv_mutex_unlock(&p->mu);
    /* after the unlock: a helper woken on this CPU would otherwise run only to block on mu */
    uv_cond_broadcast(&p->go);
    drain(p);
    /* The caller never waits for a helper that has not started (on a busy machine it may not be
     * scheduled for milliseconds): the run closes, and only helpers holding items are waited for. */
    uv_mutex_lock(&p->mu);
    p->open = 0;
    while (p->busy)
        uv_cond_wait(&p->done, &p->mu);
    uv_mutex_unlock(&p->mu);
}
