/* jsonio — JSON text in and out, exactly as jansson 2.14 reads and writes it, faster (jsonio.h).
 *
 * The parser is one recursive descent over the buffer that builds jansson values with the calls
 * jansson's own parser makes (json_object_setn_new_nocheck, so a repeated key replaces the
 * earlier value where the earlier one stood, as in jansson). It never reports an error itself.
 * Whatever it does not take — any syntax error, a \u0000, a lone surrogate, invalid UTF-8, an
 * integer outside int64, a real it cannot convert the way jansson does, nesting past
 * JSON_PARSER_MAX_DEPTH, a repeated key under JSON_REJECT_DUPLICATES — drops the partial tree and
 * hands the whole buffer to json_loadb, which then answers, error text and position included.
 *
 * The dumper writes into one growing buffer. It hands the whole document to json_dumps when it
 * meets invalid UTF-8 (jansson refuses it in values and writes half of it in keys), nesting past
 * JSON_PARSER_MAX_DEPTH (a cycle, which jansson refuses) or a failed allocation; a real is
 * written by json_dumps itself.
 *
 * Invariant: a document either parses/dumps on the fast path to exactly jansson's result, or
 * goes to jansson. tests/unit/test_jsonio.c checks this differentially. */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "jsonio.h"
#include "strconv.h"

#define MAX_DEPTH JSON_PARSER_MAX_DEPTH
#define IS_WS(c) ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Might one of the 8 bytes be '"', '\\', below 0x20 or above 0x7F? Never "no" when one is; a
 * "yes" (possibly false, after a borrow) only sends the caller to look byte by byte. */
static inline int word_special(const unsigned char *p)
{
    uint64_t w, q, b;
    memcpy(&w, p, 8);
    q = w ^ (ONES * '"');
    b = w ^ (ONES * '\\');
    return (((q - ONES) & ~q) | ((b - ONES) & ~b) | (w - ONES * 0x20) | w) & HIGHS ? 1 : 0;
}

static inline int plain_byte(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/*** parse ***/

typedef struct {
    const unsigned char *p, *end;
    int reject_dups;
    /* Unescaped strings. A stack: a key's bytes stay reserved while its value is parsed. Starts
     * in the caller's frame (heap = 0) and moves to the heap when it must grow. */
    char *arena;
    size_t top, cap;
    int heap;
} parser;

static int arena_reserve(parser *ps, size_t n)
{
    if (ps->cap - ps->top >= n)
        return 0;
    size_t cap = ps->cap * 2;
    while (cap - ps->top < n)
        cap *= 2;
    char *a = ps->heap ? realloc(ps->arena, cap) : malloc(cap);
    if (!a)
        return -1;
    if (!ps->heap)
        memcpy(a, ps->arena, ps->top);
    ps->arena = a;
    ps->cap = cap;
    ps->heap = 1;
    return 0;
}

static inline void skip_ws(parser *ps)
{
    while (ps->p < ps->end && IS_WS(*ps->p))
        ps->p++;
}

static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (IS_DIGIT(c))
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/* One \uXXXX escape (or surrogate pair) at p (the backslash), q the closing quote: UTF-8 to *t.
 * Returns the escape's length, 0 for anything jansson refuses (\u0000 included: our flags never
 * carry JSON_ALLOW_NUL, and a NUL in a key is always refused). */
static size_t unicode_escape(const unsigned char *p, const unsigned char *q, char **t)
{
    if (q - p < 6)
        return 0;
    int v = hex4(p + 2);
    size_t used = 6;
    if (v <= 0 || (v >= 0xDC00 && v <= 0xDFFF))
        return 0;
    if (v >= 0xD800 && v <= 0xDBFF) {
        if (q - p < 12 || p[6] != '\\' || p[7] != 'u')
            return 0;
        int v2 = hex4(p + 8);
        if (v2 < 0xDC00 || v2 > 0xDFFF)
            return 0;
        v = ((v - 0xD800) << 10) + (v2 - 0xDC00) + 0x10000;
        used = 12;
    }
    unsigned char *o = (unsigned char *)*t;
    if (v < 0x80)
        *o++ = (unsigned char)v;
    else if (v < 0x800) {
        *o++ = 0xC0 | (v >> 6);
        *o++ = 0x80 | (v & 0x3F);
    } else if (v < 0x10000) {
        *o++ = 0xE0 | (v >> 12);
        *o++ = 0x80 | ((v >> 6) & 0x3F);
        *o++ = 0x80 | (v & 0x3F);
    } else {
        *o++ = 0xF0 | (v >> 18);
        *o++ = 0x80 | ((v >> 12) & 0x3F);
        *o++ = 0x80 | ((v >> 6) & 0x3F);
        *o++ = 0x80 | (v & 0x3F);
    }
    *t = (char *)o;
    return used;
}

/* One escape at p (the backslash), q the closing quote: its bytes to *t, the escape's length, or
 * 0 for one jansson refuses. */
static size_t unescape_one(const unsigned char *p, const unsigned char *q, char **t)
{
    switch (p[1]) {
    case '"': case '\\': case '/': *(*t)++ = (char)p[1]; return 2;
    case 'b': *(*t)++ = '\b'; return 2;
    case 'f': *(*t)++ = '\f'; return 2;
    case 'n': *(*t)++ = '\n'; return 2;
    case 'r': *(*t)++ = '\r'; return 2;
    case 't': *(*t)++ = '\t'; return 2;
    case 'u': return unicode_escape(p, q, t);
    default: return 0;
    }
}

/* The string whose opening quote is at ps->p. On success ps->p is past the closing quote and the
 * contents are (*s, *n): in the input when nothing needed unescaping (*in_arena 0), else at
 * ps->arena + ps->top, not reserved (*in_arena 1). -1: not ours to take. */
static int scan_string(parser *ps, const char **s, size_t *n, int *in_arena)
{
    const unsigned char *start = ps->p + 1, *p = start, *end = ps->end;
    for (;;) {
        while (end - p >= 8 && !word_special(p))
            p += 8;
        while (p < end && plain_byte(*p))
            p++;
        if (p >= end || *p < 0x20)
            return -1;
        if (*p == '"') {
            *s = (const char *)start;
            *n = (size_t)(p - start);
            *in_arena = 0;
            ps->p = p + 1;
            return 0;
        }
        if (*p == '\\')
            break;
        size_t k = strconv_utf8_len(p, (size_t)(end - p));
        if (!k)
            return -1;
        p += k;
    }
    /* Escapes: find the closing quote (an escape never contains one), then unescape into the
     * arena; the result is never longer than the source. */
    const unsigned char *q = p;
    while (q < end && *q != '"') {
        if (*q == '\\' && end - q < 2)
            return -1;
        q += *q == '\\' ? 2 : 1;
    }
    if (q >= end)
        return -1;
    if (arena_reserve(ps, (size_t)(q - start)) < 0)
        return -1;
    char *t0 = ps->arena + ps->top, *t = t0;
    memcpy(t, start, (size_t)(p - start));
    t += p - start;
    while (p < q) {
        unsigned char c = *p;
        if (c == '\\') {
            size_t used = unescape_one(p, q, &t);
            if (!used)
                return -1;
            p += used;
        } else if (c < 0x20) {
            return -1;
        } else if (c < 0x80) {
            *t++ = (char)*p++;
        } else {
            size_t k = strconv_utf8_len(p, (size_t)(q - p));
            if (!k)
                return -1;
            memcpy(t, p, k);
            t += k;
            p += k;
        }
    }
    *s = t0;
    *n = (size_t)(t - t0);
    *in_arena = 1;
    ps->p = q + 1;
    return 0;
}

/* A real as jansson reads one: its lexer's grammar, then strtod with '.' as the decimal point
 * (jansson swaps in the locale's point; we leave other locales to it), overflow refused. */
static json_t *parse_real(parser *ps, const unsigned char *start, const unsigned char *p)
{
    const unsigned char *end = ps->end;
    if (*p == '.') {
        p++;
        if (p >= end || !IS_DIGIT(*p))
            return NULL;
        while (p < end && IS_DIGIT(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !IS_DIGIT(*p))
            return NULL;
        while (p < end && IS_DIGIT(*p))
            p++;
    }
    char text[64], *tend;
    size_t n = (size_t)(p - start);
    const char *point = localeconv()->decimal_point;
    if (n >= sizeof text || point[0] != '.' || point[1])
        return NULL;
    memcpy(text, start, n);
    text[n] = 0;
    errno = 0;
    double d = strtod(text, &tend);
    if (tend != text + n || ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE))
        return NULL;
    ps->p = p;
    return json_real(d);
}

static json_t *parse_number(parser *ps)
{
    const unsigned char *start = ps->p, *p = start, *end = ps->end;
    int neg = *p == '-', over = 0;
    uint64_t v = 0;
    if (neg)
        p++;
    if (p >= end)
        return NULL;
    if (*p == '0') {
        p++;
        if (p < end && IS_DIGIT(*p))
            return NULL;
    } else if (IS_DIGIT(*p)) {
        do {
            unsigned d = *p++ - '0';
            if (v > (UINT64_MAX - d) / 10)
                over = 1;
            v = v * 10 + d;
        } while (p < end && IS_DIGIT(*p));
    } else
        return NULL;
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
        return parse_real(ps, start, p);
    if (over || v > (uint64_t)INT64_MAX + neg)
        return NULL;
    ps->p = p;
    return json_integer(!neg ? (json_int_t)v : v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)v);
}

/* true, false, null — and not a longer identifier, which jansson reads whole and refuses. */
static json_t *parse_literal(parser *ps, const char *word, size_t n, json_t *value)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
        return NULL;
    if ((size_t)(ps->end - ps->p) > n && IS_ALPHA(ps->p[n]))
        return NULL;
    ps->p += n;
    return value;
}

static json_t *parse_value(parser *ps, size_t depth);

/* After a member or element: 1 at the closing bracket (consumed), 0 after a comma (consumed,
 * with the whitespace after it), -1 for anything else. */
static int after_member(parser *ps, char close)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return -1;
    if (*ps->p == (unsigned char)close) {
        ps->p++;
        return 1;
    }
    if (*ps->p != ',')
        return -1;
    ps->p++;
    skip_ws(ps);
    return 0;
}

static json_t *parse_object(parser *ps, size_t depth)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return obj;
    }
    for (;;) {
        const char *key;
        size_t klen, mark = ps->top;
        int in_arena;
        if (ps->p >= ps->end || *ps->p != '"' || scan_string(ps, &key, &klen, &in_arena) < 0)
            break;
        if (in_arena)
            ps->top += klen;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            ps->top = mark;
            break;
        }
        ps->p++;
        skip_ws(ps);
        json_t *v = parse_value(ps, depth + 1);
        if (in_arena)
            key = ps->arena + mark;
        ps->top = mark;
        size_t before = json_object_size(obj);
        if (!v || json_object_setn_new_nocheck(obj, key, klen, v) < 0)
            break;
        if (ps->reject_dups && json_object_size(obj) == before)
            break;
        int k = after_member(ps, '}');
        if (k > 0)
            return obj;
        if (k < 0)
            break;
    }
    json_decref(obj);
    return NULL;
}

static json_t *parse_array(parser *ps, size_t depth)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return arr;
    }
    for (;;) {
        json_t *v = parse_value(ps, depth + 1);
        if (!v || json_array_append_new(arr, v) < 0)
            break;
        int k = after_member(ps, ']');
        if (k > 0)
            return arr;
        if (k < 0)
            break;
    }
    json_decref(arr);
    return NULL;
}

/* The value at ps->p (no whitespace before it), depth counted as jansson does: the top value is
 * 1, and every value, scalars too, past JSON_PARSER_MAX_DEPTH is an error. */
static json_t *parse_value(parser *ps, size_t depth)
{
    if (depth > MAX_DEPTH || ps->p >= ps->end)
        return NULL;
    switch (*ps->p) {
    case '{':
        return parse_object(ps, depth);
    case '[':
        return parse_array(ps, depth);
    case '"': {
        const char *s;
        size_t n;
        int in_arena;
        if (scan_string(ps, &s, &n, &in_arena) < 0)
            return NULL;
        return json_stringn_nocheck(s, n);
    }
    case 't':
        return parse_literal(ps, "true", 4, json_true());
    case 'f':
        return parse_literal(ps, "false", 5, json_false());
    case 'n':
        return parse_literal(ps, "null", 4, json_null());
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return parse_number(ps);
    default:
        return NULL;
    }
}

json_t *jsonio_parse(const char *buf, size_t len, size_t flags, json_error_t *err)
{
    if (!buf || (flags & ~(size_t)JSON_REJECT_DUPLICATES) || len > INT_MAX)
        return json_loadb(buf, len, flags, err);
    char stack[512];
    parser ps = {(const unsigned char *)buf, (const unsigned char *)buf + len,
                 (flags & JSON_REJECT_DUPLICATES) != 0, stack, 0, sizeof stack, 0};
    json_t *o = NULL;
    skip_ws(&ps);
    /* Without JSON_DECODE_ANY jansson takes only an object or an array at the top. */
    if (ps.p < ps.end && (*ps.p == '{' || *ps.p == '[') && (o = parse_value(&ps, 1))) {
        skip_ws(&ps);
        if (ps.p != ps.end) {
            json_decref(o);
            o = NULL;
        }
    }
    if (ps.heap)
        free(ps.arena);
    if (!o)
        return json_loadb(buf, len, flags, err);
    if (err) {
        /* What json_loadb leaves in it on success. */
        err->line = -1;
        err->column = -1;
        err->position = (int)len;
        strcpy(err->source, "<buffer>");
        err->text[0] = 0;
    }
    return o;
}

/*** dump ***/

typedef struct {
    char *buf;
    size_t len, cap;
    int bad; /* only json_dumps may write (or refuse) this document */
} outbuf;

static int ob_grow(outbuf *b, size_t n)
{
    size_t cap = b->cap * 2;
    while (cap - b->len < n)
        cap *= 2;
    char *nb = realloc(b->buf, cap);
    if (!nb) {
        b->bad = 1;
        return -1;
    }
    b->buf = nb;
    b->cap = cap;
    return 0;
}

static inline int ob_reserve(outbuf *b, size_t n)
{
    return b->cap - b->len >= n ? 0 : ob_grow(b, n);
}

static inline void ob_put(outbuf *b, const void *s, size_t n)
{
    if (ob_reserve(b, n) < 0)
        return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}

static inline void ob_putc(outbuf *b, char c)
{
    if (ob_reserve(b, 1) < 0)
        return;
    b->buf[b->len++] = c;
}

/* jansson's dump_string without JSON_ENSURE_ASCII or JSON_ESCAPE_SLASH: '"', '\\' and the
 * control characters escaped (\b \f \n \r \t by name, the rest as \u00XX in upper case), '/',
 * 0x7F and valid UTF-8 as they are. Invalid UTF-8 makes the document json_dumps's. */
static void dump_string(outbuf *b, const char *str, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)str, *end = p + len, *run = p;
    if (ob_reserve(b, len + 2) < 0)
        return;
    b->buf[b->len++] = '"';
    for (;;) {
        while (end - p >= 8 && !word_special(p))
            p += 8;
        while (p < end && plain_byte(*p))
            p++;
        if (p >= end)
            break;
        unsigned char c = *p;
        if (c >= 0x80) {
            size_t k = strconv_utf8_len(p, (size_t)(end - p));
            if (!k) {
                b->bad = 1;
                return;
            }
            p += k;
            continue;
        }
        ob_put(b, run, (size_t)(p - run));
        char esc[6] = {'\\', 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        ob_put(b, esc, n);
        run = ++p;
    }
    ob_put(b, run, (size_t)(p - run));
    ob_putc(b, '"');
}

static void dump_int(outbuf *b, json_int_t v)
{
    char tmp[24], *e = tmp + sizeof tmp, *q = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do
        *--q = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--q = '-';
    ob_put(b, q, (size_t)(e - q));
}

/* jansson's own formatting (precision, ".0", exponent trimming, locale) for the one node. */
static void dump_real(outbuf *b, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) {
        b->bad = 1;
        return;
    }
    ob_put(b, s, strlen(s));
    free(s);
}

typedef struct {
    const char *key;
    size_t len;
    json_t *val;
} member;

/* jansson's compare_keys: bytes, then the shorter first. Keys are unique, so any sort agrees. */
static int member_cmp(const void *x, const void *y)
{
    const member *a = x, *c = y;
    int r = memcmp(a->key, c->key, a->len < c->len ? a->len : c->len);
    if (r)
        return r;
    return a->len < c->len ? -1 : a->len > c->len;
}

static void dump_value(outbuf *b, const json_t *v, int sorted, size_t depth);

static void dump_object(outbuf *b, const json_t *o, int sorted, size_t depth)
{
    void *it = json_object_iter((json_t *)o);
    ob_putc(b, '{');
    if (!sorted) {
        for (int first = 1; it && !b->bad; it = json_object_iter_next((json_t *)o, it), first = 0) {
            if (!first)
                ob_putc(b, ',');
            dump_string(b, json_object_iter_key(it), json_object_iter_key_len(it));
            ob_putc(b, ':');
            dump_value(b, json_object_iter_value(it), sorted, depth + 1);
        }
    } else if (it) {
        member stack[32], *m = stack;
        size_t n = json_object_size(o), i = 0;
        if (n > sizeof stack / sizeof *stack && !(m = malloc(n * sizeof *m))) {
            b->bad = 1;
            return;
        }
        for (; it && i < n; it = json_object_iter_next((json_t *)o, it), i++)
            m[i] = (member){json_object_iter_key(it), json_object_iter_key_len(it), json_object_iter_value(it)};
        if (n <= 8) {
            for (size_t j = 1; j < n; j++) {
                member t = m[j];
                size_t k = j;
                for (; k > 0 && member_cmp(&m[k - 1], &t) > 0; k--)
                    m[k] = m[k - 1];
                m[k] = t;
            }
        } else
            qsort(m, n, sizeof *m, member_cmp);
        for (i = 0; i < n && !b->bad; i++) {
            if (i)
                ob_putc(b, ',');
            dump_string(b, m[i].key, m[i].len);
            ob_putc(b, ':');
            dump_value(b, m[i].val, sorted, depth + 1);
        }
        if (m != stack)
            free(m);
    }
    ob_putc(b, '}');
}

static void dump_value(outbuf *b, const json_t *v, int sorted, size_t depth)
{
    if (!v || depth > MAX_DEPTH) {
        b->bad = 1;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        dump_object(b, v, sorted, depth);
        break;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        ob_putc(b, '[');
        for (size_t i = 0; i < n && !b->bad; i++) {
            if (i)
                ob_putc(b, ',');
            dump_value(b, json_array_get(v, i), sorted, depth + 1);
        }
        ob_putc(b, ']');
        break;
    }
    case JSON_STRING:
        dump_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        dump_int(b, json_integer_value(v));
        break;
    case JSON_REAL:
        dump_real(b, v);
        break;
    case JSON_TRUE:
        ob_put(b, "true", 4);
        break;
    case JSON_FALSE:
        ob_put(b, "false", 5);
        break;
    case JSON_NULL:
        ob_put(b, "null", 4);
        break;
    default:
        b->bad = 1;
    }
}

static char *dump_by_jansson(const json_t *o, size_t flags, size_t *len_out)
{
    char *s = json_dumps(o, flags);
    if (len_out)
        *len_out = s ? strlen(s) : 0;
    return s;
}

char *jsonio_dump(const json_t *o, size_t flags, size_t *len_out)
{
    const size_t ours = JSON_COMPACT | JSON_SORT_KEYS | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;
    if (!(flags & JSON_COMPACT) || (flags & ~ours) || !(json_is_object(o) || json_is_array(o)))
        return dump_by_jansson(o, flags, len_out);
    outbuf b = {malloc(4096), 0, 4096, 0};
    if (!b.buf)
        return dump_by_jansson(o, flags, len_out);
    dump_value(&b, o, (flags & JSON_SORT_KEYS) != 0, 1);
    ob_putc(&b, 0);
    if (b.bad) {
        free(b.buf);
        return dump_by_jansson(o, flags, len_out);
    }
    b.len--;
    if (b.cap - b.len > 64) {
        char *s = realloc(b.buf, b.len + 1);
        if (s)
            b.buf = s;
    }
    if (len_out)
        *len_out = b.len;
    return b.buf;
}

/*** indent ***/

static void ob_newline(outbuf *b, size_t depth)
{
    if (ob_reserve(b, 1 + 2 * depth) < 0)
        return;
    b->buf[b->len++] = '\n';
    memset(b->buf + b->len, ' ', 2 * depth);
    b->len += 2 * depth;
}

char *jsonio_indent(const char *text, size_t len, size_t *len_out)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    size_t cap = len + len / 2 + 64;
    outbuf b = {malloc(cap), 0, cap, 0};
    if (!b.buf)
        return NULL;
    size_t depth = 0;
    while (p < end && !b.bad) {
        unsigned char c = *p;
        if (c == '"') { /* a string, escapes and all, in one piece */
            const unsigned char *q = p + 1;
            for (;;) {
                while (end - q >= 8 && !word_special(q))
                    q += 8;
                while (q < end && *q != '"' && *q != '\\')
                    q++;
                if (q >= end)
                    break;
                if (*q == '"') {
                    q++;
                    break;
                }
                q += end - q >= 2 ? 2 : 1; /* an escape: its second byte may be a quote */
            }
            ob_put(&b, p, (size_t)(q - p));
            p = q;
            continue;
        }
        switch (c) {
        case '{':
        case '[':
            if (p + 1 < end && p[1] == (c == '{' ? '}' : ']')) { /* empty: as it is */
                ob_put(&b, p, 2);
                p += 2;
                continue;
            }
            ob_putc(&b, (char)c);
            ob_newline(&b, ++depth);
            break;
        case '}':
        case ']':
            ob_newline(&b, depth ? --depth : 0);
            ob_putc(&b, (char)c);
            break;
        case ',':
            ob_putc(&b, ',');
            ob_newline(&b, depth);
            break;
        case ':':
            ob_put(&b, ": ", 2);
            break;
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            break;
        default: { /* a number or a literal, up to the next structural byte */
            const unsigned char *q = p + 1;
            while (q < end && *q != ',' && *q != '}' && *q != ']' && *q != ':' && *q != '"' &&
                   !IS_WS(*q) && *q != '{' && *q != '[')
                q++;
            ob_put(&b, p, (size_t)(q - p));
            p = q;
            continue;
        }
        }
        p++;
    }
    ob_putc(&b, 0);
    if (b.bad) {
        free(b.buf);
        return NULL;
    }
    if (len_out)
        *len_out = b.len - 1;
    return b.buf;
}

/*** duplicate keys ***/

/* A scan of valid JSON text for keys repeated within one object (jsonio_duplicates). The path of
 * the value being scanned is kept in one growing buffer; each object's keys are decoded once,
 * sorted to find the repeats, and reported with their offsets. */
typedef struct dscan {
    const unsigned char *p, *end, *start;
    char *path;
    size_t plen, pcap;
    jsonio_dup_fn fn;
    void *arg;
    int depth;
} dscan;

typedef struct dkey {
    char *s;      /* decoded, malloc'ed */
    size_t n;
    size_t off;   /* of the key's opening quote */
    size_t order; /* position in the object */
} dkey;

static int path_push(dscan *d, const char *s, size_t n, int index, size_t idx)
{
    char num[32];
    if (index)
        n = (size_t)snprintf(num, sizeof num, "[%zu]", idx), s = num;
    size_t need = d->plen + n + 2;
    if (need > d->pcap) {
        size_t cap = d->pcap ? d->pcap : 256;
        while (cap < need)
            cap *= 2;
        char *p = realloc(d->path, cap);
        if (!p)
            return -1;
        d->path = p;
        d->pcap = cap;
    }
    if (!index && d->plen)
        d->path[d->plen++] = '.';
    memcpy(d->path + d->plen, s, n);
    d->plen += n;
    d->path[d->plen] = 0;
    return 0;
}

/* The string at d->p (its opening quote), decoded into a new buffer when out is not NULL. */
static int dscan_string(dscan *d, char **out, size_t *n)
{
    const unsigned char *q = d->p + 1;
    while (q < d->end && *q != '"')
        q += *q == '\\' ? 2 : 1;
    if (q >= d->end)
        return -1;
    if (out) {
        char *t = malloc((size_t)(q - d->p)), *o = t;
        if (!t)
            return -1;
        for (const unsigned char *s = d->p + 1; s < q;) {
            if (*s != '\\') {
                *o++ = (char)*s++;
                continue;
            }
            size_t used = unescape_one(s, q, &o);
            if (!used) { /* text the lenient parse took: only a \u0000 could land here */
                *o++ = '?';
                used = 6;
            }
            s += used;
        }
        *out = t;
        *n = (size_t)(o - t);
    }
    d->p = q + 1;
    return 0;
}

static void dscan_ws(dscan *d)
{
    while (d->p < d->end && IS_WS(*d->p))
        d->p++;
}

static void path_pop(dscan *d, size_t base)
{
    d->plen = base;
    d->path[base] = 0;
}

/* After a member or an element: 1 another follows (its comma taken), 0 the container ends (its
 * closer taken), -1 neither. */
static int dscan_next(dscan *d, unsigned char closer)
{
    dscan_ws(d);
    if (d->p < d->end && (*d->p == ',' || *d->p == closer))
        return *d->p++ == ',';
    return -1;
}

static int cmp_dkey(const void *a, const void *b)
{
    const dkey *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, n);
    if (c)
        return c;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int dscan_value(dscan *d);

static int dscan_object(dscan *d)
{
    dkey *keys = NULL;
    size_t nk = 0, ck = 0, base = d->plen;
    int rc = -1;
    d->p++;
    dscan_ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        return 0;
    }
    for (;;) {
        dscan_ws(d);
        if (d->p >= d->end || *d->p != '"')
            goto out;
        if (nk == ck) {
            ck = ck ? ck * 2 : 8;
            dkey *k = realloc(keys, ck * sizeof *k);
            if (!k)
                goto out;
            keys = k;
        }
        dkey *k = &keys[nk];
        k->off = (size_t)(d->p - d->start);
        k->order = nk;
        if (dscan_string(d, &k->s, &k->n) < 0)
            goto out;
        nk++;
        dscan_ws(d);
        if (d->p >= d->end || *d->p != ':')
            goto out;
        d->p++;
        if (path_push(d, k->s, k->n, 0, 0) < 0 || dscan_value(d) < 0)
            goto out;
        path_pop(d, base);
        int next = dscan_next(d, '}');
        if (next < 0)
            goto out;
        if (!next)
            break;
    }
    qsort(keys, nk, sizeof *keys, cmp_dkey);
    for (size_t i = 1; i < nk; i++) {
        if (keys[i].n != keys[i - 1].n || memcmp(keys[i].s, keys[i - 1].s, keys[i].n))
            continue;
        if (path_push(d, keys[i].s, keys[i].n, 0, 0) < 0)
            goto out;
        d->fn(d->arg, keys[i].off, d->path);
        path_pop(d, base);
    }
    rc = 0;
out:
    for (size_t i = 0; i < nk; i++)
        free(keys[i].s);
    free(keys);
    return rc;
}

static int dscan_value(dscan *d)
{
    dscan_ws(d);
    if (d->p >= d->end || ++d->depth > MAX_DEPTH)
        return -1;
    int rc = 0;
    if (*d->p == '{') {
        rc = dscan_object(d);
    } else if (*d->p == '[') {
        size_t base = d->plen, i = 0;
        d->p++;
        dscan_ws(d);
        if (d->p < d->end && *d->p == ']')
            d->p++;
        else
            for (int next = 1; next > 0; i++) {
                if (path_push(d, NULL, 0, 1, i) < 0 || dscan_value(d) < 0) {
                    rc = -1;
                    break;
                }
                path_pop(d, base);
                if ((next = dscan_next(d, ']')) < 0)
                    rc = -1;
            }
    } else if (*d->p == '"') {
        rc = dscan_string(d, NULL, NULL);
    } else {
        while (d->p < d->end && *d->p != ',' && *d->p != ']' && *d->p != '}' && !IS_WS(*d->p))
            d->p++;
    }
    d->depth--;
    return rc;
}

int jsonio_duplicates(const char *buf, size_t len, jsonio_dup_fn fn, void *arg)
{
    dscan d = {(const unsigned char *)buf, (const unsigned char *)buf + len,
               (const unsigned char *)buf, NULL, 0, 0, fn, arg, 0};
    if (path_push(&d, "", 0, 0, 0) < 0)
        return -1;
    int rc = dscan_value(&d);
    free(d.path);
    return rc;
}
