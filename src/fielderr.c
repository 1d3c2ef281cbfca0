/* fielderr — apimachinery's field.ErrorList in C.
 *
 * Mirrors k8s.io/apimachinery/pkg/util/validation/field/errors.go:
 *
 *   Error()      = "<field>: " + ErrorBody()
 *   ErrorBody()  = "<Type text>[: <value>][: <detail>]"
 *                  The value part is never printed for Required, Forbidden and TooLong (their
 *                  BadValue is "" or "<value omitted>"), whatever the caller passes.
 *   ToAggregate  = drop errors whose Error() text was already seen, then
 *                  utilerrors.NewAggregate: one error → its text, several → "[e1, e2]".
 *
 * Value rendering (ErrorBody's type switch, JSON branch of apimachinery ≥ 1.34):
 *   string          → Go %q (strconv.Quote)
 *   int64, bool     → %v
 *   float64         → %v (strconv 'g', shortest)
 *   nil             → the string "null", quoted: "\"null\""
 *   anything else   → encoding/json.Marshal (compact, HTML-escaped)
 *
 * Allocation failure aborts, and so does a text past FE_TEXT_MAX: losing a field error would turn
 * an invalid object into a valid one. */
#include "fielderr.h"
#include "strconv.h"
#include "sbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---------------------------------------------------------------------- */

static void oom(void)
{
    fputs("fielderr: out of memory\n", stderr);
    abort();
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        oom();
    return d;
}

/* Every text built here: a rendered value, a message, an aggregate. Far above anything a request
 * body (3 MiB) can produce, even quoted; passing it is handled like an allocation failure. */
#define FE_TEXT_MAX (256u << 20)

/* The buffer's string (never NULL). */
static char *take(sbuf *b)
{
    char *s = sbuf_take(b);
    if (!s)
        oom();
    return s;
}

/* ---- UTF-8 as Go's unicode/utf8 decodes it ------------------------------------------------ */

/* Decodes one rune from s[0..len). Returns its width; on an invalid sequence returns 1 and sets
 * *bad (Go: RuneError with width 1). */
static size_t utf8_rune(const unsigned char *s, size_t len, uint32_t *r, int *bad)
{
    unsigned char c = s[0];
    *bad = 0;
    if (c < 0x80) {
        *r = c;
        return 1;
    }
    size_t w = strconv_utf8_len(s, len);
    if (!w) {
        *bad = 1;
        return 1;
    }
    if (w == 2)
        *r = ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
    else if (w == 3)
        *r = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    else
        *r = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
             ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    return w;
}

/* Approximates Go's unicode.IsPrint (L, M, N, P, S and U+0020). Exact for ASCII and Latin-1; beyond
 * that the non-printable classes that matter in practice (spaces other than U+0020, format
 * characters, private use, non-characters) are listed; unassigned code points count as printable,
 * where Go would escape them. */
static int go_isprint(uint32_t r)
{
    static const uint32_t ranges[][2] = {
        {0x0000, 0x001F}, {0x007F, 0x00A0}, {0x00AD, 0x00AD}, {0x0600, 0x0605},
        {0x061C, 0x061C}, {0x06DD, 0x06DD}, {0x070F, 0x070F}, {0x0890, 0x0891},
        {0x08E2, 0x08E2}, {0x1680, 0x1680}, {0x180E, 0x180E}, {0x2000, 0x200F},
        {0x2028, 0x202F}, {0x205F, 0x2064}, {0x2066, 0x206F}, {0x3000, 0x3000},
        {0xD800, 0xF8FF}, {0xFDD0, 0xFDEF}, {0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFB},
        {0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},
        {0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F}, {0xF0000, 0x10FFFF},
    };
    if ((r & 0xFFFE) == 0xFFFE) /* U+xxFFFE / U+xxFFFF are non-characters */
        return 0;
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (r >= ranges[i][0] && r <= ranges[i][1])
            return 0;
    return 1;
}

/* strconv.Quote: double-quoted, \a \b \f \n \r \t \v, \xNN for other controls and invalid bytes,
 * \uNNNN / \UNNNNNNNN for non-printable runes, printable runes verbatim. */
static void sb_go_quote(sbuf *b, const char *str, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    sbuf_putc(b, '"');
    for (size_t i = 0; i < len;) {
        uint32_t r;
        int bad;
        size_t w = utf8_rune(s + i, len - i, &r, &bad);
        if (bad) {
            char esc[5] = {'\\', 'x', hex[s[i] >> 4], hex[s[i] & 0xF], 0};
            sbuf_puts(b, esc);
            i += 1;
            continue;
        }
        if (r == '"' || r == '\\') {
            sbuf_putc(b, '\\');
            sbuf_putc(b, (char)r);
        } else if (go_isprint(r)) {
            sbuf_add(b, (const char *)s + i, w);
        } else {
            switch (r) {
            case '\a': sbuf_puts(b, "\\a"); break;
            case '\b': sbuf_puts(b, "\\b"); break;
            case '\f': sbuf_puts(b, "\\f"); break;
            case '\n': sbuf_puts(b, "\\n"); break;
            case '\r': sbuf_puts(b, "\\r"); break;
            case '\t': sbuf_puts(b, "\\t"); break;
            case '\v': sbuf_puts(b, "\\v"); break;
            default:
                if (r < ' ' || r == 0x7F)
                    sbuf_printf(b, "\\x%c%c", hex[r >> 4], hex[r & 0xF]);
                else if (r < 0x10000)
                    sbuf_printf(b, "\\u%04x", (unsigned)r);
                else
                    sbuf_printf(b, "\\U%08x", (unsigned)r);
            }
        }
        i += w;
    }
    sbuf_putc(b, '"');
}

/* ---- numbers as Go prints them ------------------------------------------------------------ */

/* Shortest decimal digits that round-trip d (d finite, > 0): digits "d1d2..dn" (no trailing
 * zeros), decimal point position dp (value = 0.d1d2..dn × 10^dp). */
static void shortest_digits(double d, char *dig, int *nd, int *dp)
{
    char buf[48];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    int n = 0;
    const char *c = buf;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9')
            dig[n++] = *c;
    int e = *c == 'e' ? atoi(c + 1) : 0;
    while (n > 1 && dig[n - 1] == '0')
        n--;
    dig[n] = '\0';
    *nd = n;
    *dp = e + 1;
}

static void fmt_e(sbuf *b, const char *dig, int nd, int dp)
{
    sbuf_putc(b, dig[0]);
    if (nd > 1) {
        sbuf_putc(b, '.');
        sbuf_add(b, dig + 1, (size_t)nd - 1);
    }
    int e = dp - 1;
    sbuf_printf(b, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
}

static void fmt_f(sbuf *b, const char *dig, int nd, int dp)
{
    if (dp <= 0) {
        sbuf_puts(b, "0.");
        for (int i = 0; i < -dp; i++)
            sbuf_putc(b, '0');
        sbuf_add(b, dig, (size_t)nd);
    } else if (dp >= nd) {
        sbuf_add(b, dig, (size_t)nd);
        for (int i = nd; i < dp; i++)
            sbuf_putc(b, '0');
    } else {
        sbuf_add(b, dig, (size_t)dp);
        sbuf_putc(b, '.');
        sbuf_add(b, dig + dp, (size_t)(nd - dp));
    }
}

/* json=0: fmt's %v (strconv 'g' with shortest digits: %e form when exp < -4 || exp >= 6).
 * json=1: encoding/json (%f form unless |d| < 1e-6 or >= 1e21; then %e with "e-07" → "e-7"). */
static void sb_go_float(sbuf *b, double d, int json)
{
    if (d == 0) {
        sbuf_puts(b, signbit(d) ? "-0" : "0");
        return;
    }
    if (d < 0) {
        sbuf_putc(b, '-');
        d = -d;
    }
    char dig[32];
    int nd, dp;
    shortest_digits(d, dig, &nd, &dp);
    if (json) {
        if (d < 1e-6 || d >= 1e21) {
            size_t at = sbuf_len(b);
            fmt_e(b, dig, nd, dp);
            size_t n = sbuf_len(b) - at;
            const char *t = sbuf_str(b) + at;
            if (n >= 4 && t[n - 4] == 'e' && t[n - 3] == '-' && t[n - 2] == '0') {
                char last = t[n - 1]; /* "e-07" -> "e-7" */
                sbuf_setlen(b, sbuf_len(b) - 2);
                sbuf_putc(b, last);
            }
        } else {
            fmt_f(b, dig, nd, dp);
        }
        return;
    }
    int exp = dp - 1;
    if (exp < -4 || exp >= 6)
        fmt_e(b, dig, nd, dp);
    else
        fmt_f(b, dig, nd, dp);
}

/* ---- encoding/json.Marshal of a json_t ---------------------------------------------------- */

static void sb_json_string(sbuf *b, const char *str, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    sbuf_putc(b, '"');
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            switch (c) {
            case '"': sbuf_puts(b, "\\\""); break;
            case '\\': sbuf_puts(b, "\\\\"); break;
            case '\b': sbuf_puts(b, "\\b"); break;
            case '\f': sbuf_puts(b, "\\f"); break;
            case '\n': sbuf_puts(b, "\\n"); break;
            case '\r': sbuf_puts(b, "\\r"); break;
            case '\t': sbuf_puts(b, "\\t"); break;
            case '<': case '>': case '&':
                sbuf_printf(b, "\\u00%c%c", hex[c >> 4], hex[c & 0xF]);
                break;
            default:
                if (c < 0x20)
                    sbuf_printf(b, "\\u00%c%c", hex[c >> 4], hex[c & 0xF]);
                else
                    sbuf_putc(b, (char)c);
            }
            i++;
            continue;
        }
        uint32_t r;
        int bad;
        size_t w = utf8_rune(s + i, len - i, &r, &bad);
        if (bad)
            sbuf_puts(b, "\\ufffd");
        else if (r == 0x2028 || r == 0x2029)
            sbuf_printf(b, "\\u%04x", (unsigned)r);
        else
            sbuf_add(b, (const char *)s + i, w);
        i += w;
    }
    sbuf_putc(b, '"');
}

/* Objects keep the json_t's key order: build them in Go struct field order for typed values, or
 * sorted for Go maps. */
static void sb_json(sbuf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        const json_t *x;
        int first = 1;
        sbuf_putc(b, '{');
        json_object_foreach((json_t *)v, k, x) {
            if (!first)
                sbuf_putc(b, ',');
            first = 0;
            sb_json_string(b, k, strlen(k));
            sbuf_putc(b, ':');
            sb_json(b, x);
        }
        sbuf_putc(b, '}');
        break;
    }
    case JSON_ARRAY:
        sbuf_putc(b, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                sbuf_putc(b, ',');
            sb_json(b, json_array_get(v, i));
        }
        sbuf_putc(b, ']');
        break;
    case JSON_STRING:
        sb_json_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        sbuf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        sb_go_float(b, json_real_value(v), 1);
        break;
    case JSON_TRUE:
        sbuf_puts(b, "true");
        break;
    case JSON_FALSE:
        sbuf_puts(b, "false");
        break;
    case JSON_NULL:
        sbuf_puts(b, "null");
        break;
    }
}

/* ---- public API --------------------------------------------------------------------------- */

char *fe_str(const char *s)
{
    sbuf b = SBUF_INIT(FE_TEXT_MAX);
    if (!s)
        s = "";
    sb_go_quote(&b, s, strlen(s));
    return take(&b);
}

static int cmp_keyp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* fmt's %v of v decoded into interface{} with integers kept (kjson): maps with sorted keys. */
static void sb_go_v(sbuf *b, const json_t *v, int depth)
{
    if (depth > 64) { /* deeper than any object kube decodes; the text is a message, not data */
        sbuf_puts(b, "...");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = n ? malloc(n * sizeof *keys) : NULL;
        const char *k;
        json_t *x;
        if (n && !keys)
            oom();
        json_object_foreach((json_t *)v, k, x)
            keys[i++] = k;
        if (n > 1)
            qsort(keys, n, sizeof *keys, cmp_keyp);
        sbuf_puts(b, "map[");
        for (i = 0; i < n; i++) {
            if (i)
                sbuf_putc(b, ' ');
            sbuf_puts(b, keys[i]);
            sbuf_putc(b, ':');
            sb_go_v(b, json_object_get(v, keys[i]), depth + 1);
        }
        sbuf_putc(b, ']');
        free(keys);
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        sbuf_putc(b, '[');
        json_array_foreach(v, i, x) {
            if (i)
                sbuf_putc(b, ' ');
            sb_go_v(b, x, depth + 1);
        }
        sbuf_putc(b, ']');
        break;
    }
    case JSON_STRING: sbuf_add(b, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: sbuf_printf(b, "%lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: sb_go_float(b, json_real_value(v), 0); break;
    case JSON_TRUE: sbuf_puts(b, "true"); break;
    case JSON_FALSE: sbuf_puts(b, "false"); break;
    case JSON_NULL: sbuf_puts(b, "<nil>"); break;
    }
}

char *fe_gov(const json_t *v)
{
    sbuf b = SBUF_INIT(FE_TEXT_MAX);
    sb_go_v(&b, v, 0);
    return take(&b);
}

char *fe_json(const json_t *v)
{
    sbuf b = SBUF_INIT(FE_TEXT_MAX);
    if (!v || json_is_null(v)) {
        sbuf_puts(&b, "\"null\"");
    } else if (json_is_string(v)) {
        sb_go_quote(&b, json_string_value(v), json_string_length(v));
    } else if (json_is_real(v)) {
        sb_go_float(&b, json_real_value(v), 0);
    } else {
        sb_json(&b, v);
    }
    return take(&b);
}

void fe_add(fielderrs *l, fe_type t, const char *field, const char *value, const char *detail_fmt, ...)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        fielderr *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            oom();
        l->v = v;
        l->cap = cap;
    }
    fielderr *e = &l->v[l->n];
    e->type = t;
    e->field = xstrdup(field ? field : "");
    e->value = value ? xstrdup(value) : NULL;
    e->detail = NULL;
    if (detail_fmt) {
        va_list ap;
        va_start(ap, detail_fmt);
        if (vasprintf(&e->detail, detail_fmt, ap) < 0)
            oom();
        va_end(ap);
    }
    l->n++;
}

void fe_free(fielderrs *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].field);
        free(l->v[i].value);
        free(l->v[i].detail);
    }
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

const char *fe_type_text(fe_type t)
{
    switch (t) {
    case FE_REQUIRED: return "Required value";
    case FE_INVALID: return "Invalid value";
    case FE_NOT_SUPPORTED: return "Unsupported value";
    case FE_FORBIDDEN: return "Forbidden";
    case FE_TOO_LONG: return "Too long";
    case FE_DUPLICATE: return "Duplicate value";
    case FE_NOT_FOUND: return "Not found";
    case FE_TYPE_INVALID: return "Invalid value";
    }
    return "Internal error";
}

const char *fe_type_reason(fe_type t)
{
    switch (t) {
    case FE_REQUIRED: return "FieldValueRequired";
    case FE_INVALID: return "FieldValueInvalid";
    case FE_NOT_SUPPORTED: return "FieldValueNotSupported";
    case FE_FORBIDDEN: return "FieldValueForbidden";
    case FE_TOO_LONG: return "FieldValueTooLong";
    case FE_DUPLICATE: return "FieldValueDuplicate";
    case FE_NOT_FOUND: return "FieldValueNotFound";
    case FE_TYPE_INVALID: return "FieldValueTypeInvalid";
    }
    return "InternalError";
}

/* Only these types print their bad value (ErrorBody's second case). */
static int prints_value(fe_type t)
{
    return t == FE_INVALID || t == FE_TYPE_INVALID || t == FE_NOT_SUPPORTED ||
           t == FE_NOT_FOUND || t == FE_DUPLICATE;
}

static void sb_body(sbuf *b, const fielderr *e)
{
    sbuf_puts(b, fe_type_text(e->type));
    if (e->value && prints_value(e->type)) {
        sbuf_puts(b, ": ");
        sbuf_puts(b, e->value);
    }
    if (e->detail && *e->detail) {
        sbuf_puts(b, ": ");
        sbuf_puts(b, e->detail);
    }
}

char *fe_cause_message(const fielderr *e)
{
    sbuf b = SBUF_INIT(FE_TEXT_MAX);
    sb_body(&b, e);
    return take(&b);
}

static char *full_message(const fielderr *e)
{
    sbuf b = SBUF_INIT(FE_TEXT_MAX);
    sbuf_puts(&b, e->field);
    sbuf_puts(&b, ": ");
    sb_body(&b, e);
    return take(&b);
}

char *fe_aggregate(const fielderrs *l)
{
    sbuf b = SBUF_INIT(FE_TEXT_MAX);
    if (!l || l->n == 0)
        return take(&b);
    char **msgs = calloc(l->n, sizeof *msgs);
    if (!msgs)
        oom();
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        char *m = full_message(&l->v[i]);
        int dup = 0;
        for (size_t j = 0; j < kept && !dup; j++)
            dup = strcmp(msgs[j], m) == 0;
        if (dup)
            free(m);
        else
            msgs[kept++] = m;
    }
    if (kept == 1) {
        sbuf_puts(&b, msgs[0]);
    } else {
        sbuf_putc(&b, '[');
        for (size_t i = 0; i < kept; i++) {
            if (i)
                sbuf_puts(&b, ", ");
            sbuf_puts(&b, msgs[i]);
        }
        sbuf_putc(&b, ']');
    }
    for (size_t i = 0; i < kept; i++)
        free(msgs[i]);
    free(msgs);
    return take(&b);
}

json_t *fe_causes(const fielderrs *l)
{
    json_t *a = json_array();
    if (!a)
        oom();
    for (size_t i = 0; l && i < l->n; i++) {
        char *m = fe_cause_message(&l->v[i]);
        json_t *c = json_object();
        if (!c)
            oom();
        json_object_set_new(c, "reason", json_string(fe_type_reason(l->v[i].type)));
        json_object_set_new(c, "message", json_string(m));
        if (*l->v[i].field)
            json_object_set_new(c, "field", json_string(l->v[i].field));
        json_array_append_new(a, c);
        free(m);
    }
    return a;
}
