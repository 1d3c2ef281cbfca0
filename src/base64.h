/* base64 — Go's encoding/base64 StdEncoding, the form of a Secret's data and a ConfigMap's
 * binaryData in JSON. */
#ifndef TJ_BASE64_H
#define TJ_BASE64_H
#include <stddef.h>

/* Padded base64 of buf[0..n), malloc'd and NUL-terminated; NULL when memory runs out. */
char *base64_encode(const void *buf, size_t n);
/* StdEncoding.DecodeString of s[0..n) (CR and LF ignored, padding required): the bytes, malloc'd
 * with a NUL after them, length in *len; or NULL with *bad at the offset Go's CorruptInputError
 * names ("illegal base64 data at input byte N"), or NULL with *bad = (size_t)-1 out of memory. */
unsigned char *base64_decode(const char *s, size_t n, size_t *len, size_t *bad);
#endif
