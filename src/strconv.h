/* strconv — the text forms Kubernetes' Go code reads and writes: strconv.ParseInt-style
 * integers, RFC 3339 timestamps and UTF-8. One implementation each, shared by the API, the
 * selectors, the controller and the JSON reader. */
#ifndef TJ_STRCONV_H
#define TJ_STRCONV_H
#include <stddef.h>
#include <time.h>

/* strconv.ParseInt(s, 10, 64): optional sign, decimal digits only, in range. 0 or -1 (also for
 * NULL or ""). */
int strconv_int64(const char *s, long long *out);
/* "2026-01-02T03:04:05Z" (UTC, whole seconds) into buf. Returns buf. */
char *strconv_rfc3339(time_t t, char buf[32]);
/* RFC 3339 with an optional fraction (dropped) and Z or a numeric offset; nothing may follow.
 * 0, or -EINVAL. */
int strconv_parse_rfc3339(const char *s, time_t *out);
/* Length of the UTF-8 sequence at p (p[0] >= 0x80; avail bytes there), or 0 where it is not
 * valid RFC 3629 UTF-8 (as Go's unicode/utf8 and jansson both decide): no overlong forms, no
 * surrogates, nothing past U+10FFFF, nothing cut short. */
size_t strconv_utf8_len(const unsigned char *p, size_t avail);
#endif
