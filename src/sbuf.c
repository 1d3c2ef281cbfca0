/* sbuf — a growable byte buffer with a maximum set at creation (see sbuf.h).
 *
 * Memory grows by doubling from SBUF_FIRST bytes and is clamped to max, so a buffer whose max is
 * a power of two never allocates past it and one that stays small never allocates much. */
#include "sbuf.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SBUF_FIRST 64

void sbuf_init(sbuf *b, size_t max)
{
    assert(max >= 1);
    *b = (sbuf){.max = max ? max : 1};
}

static int fail(sbuf *b, int err)
{
    if (!b->err)
        b->err = err;
    return b->err;
}

/* Room for n more bytes and the NUL, or the error. */
static int grow(sbuf *b, size_t n)
{
    assert(b->len < b->max);
    if (n > b->max - 1 - b->len)
        return fail(b, -E2BIG);
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : SBUF_FIRST;
    while (cap < need)
        cap = cap > b->max / 2 ? b->max : cap * 2;
    if (cap > b->max)
        cap = b->max;
    char *p = realloc(b->p, cap);
    if (!p)
        return fail(b, -ENOMEM);
    b->p = p;
    b->cap = cap;
    return 0;
}

int sbuf_add(sbuf *b, const void *s, size_t n)
{
    if (b->err)
        return b->err;
    if (grow(b, n))
        return b->err;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int sbuf_putc(sbuf *b, char c) { return sbuf_add(b, &c, 1); }

int sbuf_puts(sbuf *b, const char *s) { return sbuf_add(b, s, strlen(s)); }

int sbuf_vprintf(sbuf *b, const char *fmt, va_list ap)
{
    if (b->err)
        return b->err;
    /* First into the room there is; if that was too small, grow to the exact size and again. */
    va_list again;
    va_copy(again, ap);
    size_t room = b->cap - b->len;
    int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
    if (n >= 0 && (size_t)n >= room) {
        if (b->p)
            b->p[b->len] = '\0'; /* undo the truncated attempt (invariant 2) */
        if (grow(b, (size_t)n) == 0)
            n = vsnprintf(b->p + b->len, (size_t)n + 1, fmt, again);
        else
            n = -1;
    }
    va_end(again);
    if (n < 0) {
        if (b->p)
            b->p[b->len] = '\0';
        return fail(b, -ENOMEM); /* grow's error if it set one; vsnprintf's own is rare */
    }
    b->len += (size_t)n;
    return 0;
}

int sbuf_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sbuf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *sbuf_str(const sbuf *b) { return b->p ? b->p : ""; }

size_t sbuf_len(const sbuf *b) { return b->len; }

int sbuf_error(const sbuf *b) { return b->err; }

void sbuf_setlen(sbuf *b, size_t len)
{
    assert(len <= b->len);
    if (len > b->len)
        return;
    b->len = len;
    if (b->p)
        b->p[len] = '\0';
}

void sbuf_reset(sbuf *b) { sbuf_setlen(b, 0); }

char *sbuf_take(sbuf *b)
{
    char *s = b->err ? NULL : b->p ? b->p : strdup("");
    if (b->err)
        free(b->p);
    sbuf_init(b, b->max);
    return s;
}

void sbuf_free(sbuf *b)
{
    free(b->p);
    sbuf_init(b, b->max);
}
