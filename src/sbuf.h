/* sbuf — a growable byte buffer with a maximum set at creation (curl's dynbuf).
 *
 *   sbuf b = SBUF_INIT(64u << 10);       the cap: the most bytes it may ever hold, NUL included
 *   sbuf_puts(&b, "a=");  sbuf_printf(&b, "%d", 1);
 *   char *s = sbuf_take(&b);              "a=1", malloc'ed; NULL if anything above failed
 *
 * Invariants:
 *   1. len < cap <= max once anything is allocated; p[len] is always '\0' then.
 *   2. err is sticky: the first failure (-ENOMEM from the allocator, -E2BIG when an append would
 *      pass max) turns every later append into a no-op returning it. Only sbuf_take and
 *      sbuf_free clear it. A failed append leaves the text as it was before that append.
 *   3. The buffer owns p; sbuf_take hands it over and leaves an empty buffer with the same max.
 *
 * Not thread-safe; one owner at a time. */
#ifndef TJ_SBUF_H
#define TJ_SBUF_H
#include <stdarg.h>
#include <stddef.h>

typedef struct sbuf {
    char *p;    /* NULL until the first append that needs memory */
    size_t len; /* bytes of text, without the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* the cap, NUL included (invariant 1) */
    int err;    /* 0, -ENOMEM or -E2BIG (invariant 2) */
} sbuf;

/* An empty buffer that may grow to max bytes, NUL included (max >= 1). Allocates nothing.
 * SBUF_INIT(max) is the same as an initializer: `sbuf b = SBUF_INIT(1u << 20);`. */
void sbuf_init(sbuf *b, size_t max);
#define SBUF_INIT(max_) {.p = NULL, .len = 0, .cap = 0, .max = (max_), .err = 0}

/* Appenders: 0, or the buffer's (sticky) negative error. */
int sbuf_add(sbuf *b, const void *s, size_t n);
int sbuf_putc(sbuf *b, char c);
int sbuf_puts(sbuf *b, const char *s);
int sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sbuf_vprintf(sbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* The text so far ("" when empty), borrowed until the next append, take or free. */
const char *sbuf_str(const sbuf *b);
size_t sbuf_len(const sbuf *b);
/* 0, or the first error (-ENOMEM, -E2BIG). */
int sbuf_error(const sbuf *b);

/* Cut the text to its first len bytes (len <= sbuf_len). Keeps the memory and any error. */
void sbuf_setlen(sbuf *b, size_t len);
/* sbuf_setlen(b, 0). */
void sbuf_reset(sbuf *b);

/* The text as a malloc'ed NUL-terminated string the caller frees ("" when empty), or NULL after
 * an error. Either way the buffer is left empty, error cleared, same max. */
char *sbuf_take(sbuf *b);
/* Frees the memory and leaves the buffer empty, error cleared, same max (reusable). */
void sbuf_free(sbuf *b);
#endif
