/* base64 — see base64.h. The decoder walks quanta of four as Go's decodeQuantum does, so that a
 * bad input is refused at the same byte. */
#include <stdlib.h>
#include "base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *buf, size_t n)
{
    const unsigned char *b = buf;
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)b[i] << 16 | (i + 1 < n ? (unsigned)b[i + 1] << 8 : 0) | (i + 2 < n ? b[i + 2] : 0);
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? alphabet[v & 63] : '=';
    }
    *o = 0;
    return out;
}

static int value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static size_t skip_newlines(const char *s, size_t n, size_t si)
{
    while (si < n && (s[si] == '\n' || s[si] == '\r'))
        si++;
    return si;
}

unsigned char *base64_decode(const char *s, size_t n, size_t *len, size_t *bad)
{
    unsigned char *out = malloc(n / 4 * 3 + 4), *o = out;
    if (!out) {
        *bad = (size_t)-1;
        return NULL;
    }
    size_t si = 0;
    for (;;) {
        int q[4], j = 0;
        int last = 0; /* this quantum ended with padding: nothing may follow */
        for (; j < 4; j++) {
            if (si == n) {
                if (j == 0)
                    goto done;
                *bad = si - (size_t)j; /* a quantum cut short (padding is required) */
                goto fail;
            }
            unsigned char c = (unsigned char)s[si++];
            if (c == '\n' || c == '\r') {
                j--;
                continue;
            }
            if ((q[j] = value_of(c)) >= 0)
                continue;
            if (c != '=' || j < 2) {
                *bad = si - 1;
                goto fail;
            }
            if (j == 2) { /* "xx=" wants a second '=' */
                si = skip_newlines(s, n, si);
                if (si == n) {
                    *bad = n;
                    goto fail;
                }
                if (s[si] != '=') {
                    *bad = si - 1;
                    goto fail;
                }
                si++;
            }
            si = skip_newlines(s, n, si);
            if (si < n) {
                *bad = si;
                goto fail;
            }
            last = 1;
            break;
        }
        unsigned v = (unsigned)q[0] << 18 | (unsigned)q[1] << 12 | (j > 2 ? (unsigned)q[2] << 6 : 0) |
                     (j > 3 ? (unsigned)q[3] : 0);
        *o++ = (unsigned char)(v >> 16);
        if (j > 2)
            *o++ = (unsigned char)(v >> 8);
        if (j > 3)
            *o++ = (unsigned char)v;
        if (last)
            goto done;
    }
done:
    *o = 0;
    *len = (size_t)(o - out);
    return out;
fail:
    free(out);
    return NULL;
}
