/* selector — label selectors (apimachinery labels.Parse) and field selectors
 * (fields.ParseSelector plus the apiserver's field-label conversion).
 *
 * Label selectors are parsed in two phases, exactly as upstream does it, because the error
 * texts depend on the phase that notices the problem:
 *
 *   "team in (a,b)"  --lex-->  ID(team) IN "(" ID(a) "," ID(b) ")" EOS  --parse-->  requirements
 *
 *   selector    ::= requirement | requirement "," selector
 *   requirement ::= ["!"] KEY [ ("in"|"notin") "(" values ")" | ("="|"=="|"!="|">"|"<") VALUE ]
 *
 * 1. The lexer never fails in practice: identifiers run up to whitespace or one of =!(),<>,
 *    operators are the longest known token ("!=" over "!").
 * 2. The parser looks one token ahead. Where it expects a value, the keywords "in" and "notin"
 *    are identifiers ("x in (in)" is valid).
 * 3. Keys are validated as soon as they are read (path "<nil>", as upstream passes no path);
 *    values after the whole requirement is read (paths "values[i][key]", i over the sorted,
 *    de-duplicated values). The texts are validate.c's, the value quoted by fielderr.c's fe_str.
 *
 * Field selectors: terms split at unescaped commas and sorted; each term is split at its first
 * "!=", "==" or "="; the value is unescaped (\\ \, \=). All terms are parsed before any field is
 * checked against the allowed list, so a syntax error wins over an unsupported field.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "selector.h"
#include "strconv.h"
#include "fielderr.h"
#include "sbuf.h"
#include "validate.h"

/* Error texts. Selectors arrive in the request head (capped at 1 MiB), so only an error that
 * quotes many values, escaped, gets near this; past it the caller gets "out of memory". */
#define SEL_TEXT_MAX (1u << 20)

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there are not one. */
static size_t utf8_len(const unsigned char *s, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2, v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, v = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, v = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
        (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/* One field.Invalid error rendered as Error(): "<path>: Invalid value: <%q value>: <detail>". */
static char *invalid_error(const char *path, const char *value, const char *detail)
{
    sbuf b = SBUF_INIT(SEL_TEXT_MAX);
    char *q = fe_str(value);
    sbuf_printf(&b, "%s: Invalid value: %s: %s", path, q, detail);
    free(q);
    return sbuf_take(&b);
}


/* ---- label selectors: lexer -------------------------------------------------------------- */

typedef enum {
    T_ERROR, T_EOS, T_CLOSEPAR, T_COMMA, T_NOT, T_DEQ, T_EQ, T_GT, T_ID, T_IN, T_LT, T_NEQ,
    T_NOTIN, T_OPENPAR,
} token;

static const struct {
    const char *lit;
    token tok;
} keywords[] = {
    {")", T_CLOSEPAR}, {",", T_COMMA}, {"!", T_NOT}, {"==", T_DEQ}, {"=", T_EQ}, {">", T_GT},
    {"in", T_IN},      {"<", T_LT},    {"!=", T_NEQ}, {"notin", T_NOTIN}, {"(", T_OPENPAR},
};

static token keyword(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strlen(keywords[i].lit) == n && !memcmp(keywords[i].lit, s, n))
            return keywords[i].tok;
    return T_ERROR;
}

typedef struct {
    token tok;
    char *lit;
} item;

typedef struct {
    const char *s;
    size_t len, pos;
} lexer;

static int is_ws(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static int is_special(int c)
{
    return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static int lx_read(lexer *l) { return l->pos < l->len ? (unsigned char)l->s[l->pos++] : 0; }

/* One token; lit is malloc'ed (NULL on allocation failure). */
static token lx_next(lexer *l, char **lit)
{
    int ch;
    do
        ch = lx_read(l);
    while (is_ws(ch));
    if (ch == 0) {
        *lit = strdup("");
        return T_EOS;
    }
    l->pos--;
    size_t start = l->pos;
    if (!is_special(ch)) {
        while ((ch = lx_read(l)) != 0 && !is_special(ch) && !is_ws(ch))
            ;
        if (ch != 0)
            l->pos--;
        size_t n = l->pos - start;
        *lit = strndup(l->s + start, n);
        token t = keyword(l->s + start, n);
        return t == T_IN || t == T_NOTIN ? t : T_ID;
    }
    /* The longest run of special characters that is still a known operator. */
    token last = T_ERROR;
    size_t lastlen = 0;
    while ((ch = lx_read(l)) != 0) {
        if (!is_special(ch)) {
            l->pos--;
            break;
        }
        token t = keyword(l->s + start, l->pos - start);
        if (t != T_ERROR) {
            last = t;
            lastlen = l->pos - start;
        } else if (last != T_ERROR) {
            l->pos--;
            break;
        }
    }
    if (last == T_ERROR) { /* unreachable: every single special character is a token */
        *lit = xprintf("error expected: keyword found '%.*s'", (int)(l->pos - start), l->s + start);
        return T_ERROR;
    }
    *lit = strndup(l->s + start, lastlen);
    return last;
}

/* ---- label selectors: parser ------------------------------------------------------------- */

typedef enum { L_IN, L_NOTIN, L_EQ, L_DEQ, L_NEQ, L_GT, L_LT, L_EXISTS, L_NOTEXISTS } lop;

typedef struct {
    char *key;
    lop op;
    char **vals; /* sorted, unique */
    size_t nvals;
    long long num; /* L_GT / L_LT */
} lreq;

struct labelsel {
    lreq *reqs; /* sorted by key */
    size_t n;
};

typedef struct {
    item *it;
    size_t n, pos;
} parser;

/* In a values context "in" and "notin" are plain identifiers. */
static token ctx(token t, int values) { return values && (t == T_IN || t == T_NOTIN) ? T_ID : t; }

static token peek(const parser *p, int values, const char **lit)
{
    assert(p->pos < p->n);
    if (lit)
        *lit = p->it[p->pos].lit;
    return ctx(p->it[p->pos].tok, values);
}

static token take(parser *p, int values, const char **lit)
{
    token t = peek(p, values, lit);
    if (p->pos + 1 < p->n) /* EOS is last; consuming it leaves the parser on it */
        p->pos++;
    return t;
}

static void req_free(lreq *r)
{
    free(r->key);
    for (size_t i = 0; i < r->nvals; i++)
        free(r->vals[i]);
    free(r->vals);
}

/* Insert v into r's sorted value set (sets.String). */
static int add_value(lreq *r, const char *v)
{
    size_t i = 0;
    while (i < r->nvals && strcmp(r->vals[i], v) < 0)
        i++;
    if (i < r->nvals && !strcmp(r->vals[i], v))
        return 0;
    char **nv = realloc(r->vals, (r->nvals + 1) * sizeof *nv);
    if (!nv)
        return -1;
    r->vals = nv;
    char *d = strdup(v);
    if (!d)
        return -1;
    memmove(&r->vals[i + 1], &r->vals[i], (r->nvals - i) * sizeof *nv);
    r->vals[i] = d;
    r->nvals++;
    return 0;
}

#define OOM(msg) (*(msg) = NULL, -1)

/* parseValues: "(" [values] ")". */
static int parse_values(parser *p, lreq *r, char **msg)
{
    const char *lit;
    if (take(p, 1, &lit) != T_OPENPAR)
        return *msg = xprintf("found '%s' expected: '('", lit), -1;
    token t = peek(p, 1, &lit);
    if (t == T_CLOSEPAR) { /* "()" is the empty value */
        take(p, 1, NULL);
        return add_value(r, "") ? OOM(msg) : 0;
    }
    if (t != T_ID && t != T_COMMA)
        return *msg = xprintf("found '%s', expected: ',', ')' or identifier", lit), -1;
    for (;;) { /* parseIdentifiersList: possibly empty identifiers between commas */
        t = take(p, 1, &lit);
        if (t == T_ID) {
            if (add_value(r, lit))
                return OOM(msg);
            t = peek(p, 1, &lit);
            if (t == T_COMMA)
                continue;
            if (t == T_CLOSEPAR)
                break;
            return *msg = xprintf("found '%s', expected: ',' or ')'", lit), -1;
        } else if (t == T_COMMA) {
            if (r->nvals == 0 && add_value(r, "")) /* "(," */
                return OOM(msg);
            t = peek(p, 1, NULL);
            if (t == T_CLOSEPAR) { /* ",)" */
                if (add_value(r, ""))
                    return OOM(msg);
                break;
            }
            if (t == T_COMMA) { /* ",," */
                take(p, 1, NULL);
                if (add_value(r, ""))
                    return OOM(msg);
            }
        } else {
            return *msg = xprintf("found '%s', expected: ',', or identifier", lit), -1;
        }
    }
    take(p, 1, NULL); /* the ')' just seen */
    return 0;
}

/* parseExactValue: one identifier, or nothing before ',' / end (the empty value). */
static int parse_exact(parser *p, lreq *r, char **msg)
{
    const char *lit;
    token t = peek(p, 1, NULL);
    if (t == T_EOS || t == T_COMMA)
        return add_value(r, "") ? OOM(msg) : 0;
    if (take(p, 1, &lit) != T_ID)
        return *msg = xprintf("found '%s', expected: identifier", lit), -1;
    return add_value(r, lit) ? OOM(msg) : 0;
}

/* NewRequirement's checks that a parsed requirement can still fail: integer values for gt/lt
 * and label-value syntax. Errors are de-duplicated and aggregated ("[e1, e2]" when several). */
static int check_requirement(lreq *r, char **msg)
{
    char **e = calloc(2 * r->nvals + 1, sizeof *e); /* at most two errors per value */
    size_t nerr = 0;
    int oom = !e;
    for (size_t i = 0; !oom && (r->op == L_GT || r->op == L_LT) && i < r->nvals; i++) {
        if (strconv_int64(r->vals[i], &r->num) == 0)
            continue;
        char path[32];
        snprintf(path, sizeof path, "values[%zu]", i);
        e[nerr] = invalid_error(path, r->vals[i], "for 'Gt', 'Lt' operators, the value must be an integer");
        oom = !e[nerr++];
    }
    for (size_t i = 0; !oom && i < r->nvals; i++) {
        char *detail = validate_label_value_msg(r->vals[i], "; ");
        if (!detail)
            continue;
        char *path = xprintf("values[%zu][%s]", i, r->key);
        e[nerr] = path ? invalid_error(path, r->vals[i], detail) : NULL;
        oom = !e[nerr++];
        free(detail);
        free(path);
    }
    *msg = NULL;
    if (!oom && nerr > 0) {
        sbuf b = SBUF_INIT(SEL_TEXT_MAX);
        size_t shown = 0;
        for (size_t i = 0; i < nerr; i++) {
            int dup = 0;
            for (size_t j = 0; j < i && !dup; j++)
                dup = !strcmp(e[i], e[j]);
            if (!dup) {
                sbuf_puts(&b, shown++ ? ", " : "");
                sbuf_puts(&b, e[i]);
            }
        }
        char *joined = sbuf_take(&b);
        *msg = shown > 1 && joined ? xprintf("[%s]", joined) : joined;
        if (shown > 1)
            free(joined);
    }
    for (size_t i = 0; e && i < nerr; i++)
        free(e[i]);
    free(e);
    return oom || nerr > 0 ? -1 : 0;
}

/* parseRequirement; *msg (malloc'ed, NULL on allocation failure) is the unwrapped reason. */
static int parse_requirement(parser *p, lreq *r, char **msg)
{
    const char *lit;
    int negated = 0;
    token t = take(p, 1, &lit);
    if (t == T_NOT) {
        negated = 1;
        t = take(p, 1, &lit);
    }
    if (t != T_ID)
        return *msg = xprintf("found '%s', expected: identifier", lit), -1;
    char *detail = validate_qualified_name_msg(lit, "; ");
    if (detail) {
        *msg = invalid_error("<nil>", lit, detail);
        free(detail);
        return -1;
    }
    if (!(r->key = strdup(lit)))
        return OOM(msg);
    t = peek(p, 1, NULL);
    if (negated || t == T_EOS || t == T_COMMA) {
        /* "!k" ends the requirement even when more follows: "!a=b" fails in the caller */
        r->op = negated ? L_NOTEXISTS : L_EXISTS;
        return 0;
    }
    switch (take(p, 0, &lit)) {
    case T_IN: r->op = L_IN; break;
    case T_NOTIN: r->op = L_NOTIN; break;
    case T_EQ: r->op = L_EQ; break;
    case T_DEQ: r->op = L_DEQ; break;
    case T_NEQ: r->op = L_NEQ; break;
    case T_GT: r->op = L_GT; break;
    case T_LT: r->op = L_LT; break;
    default:
        return *msg = xprintf("found '%s', expected: in, notin, =, ==, !=, gt, lt", lit), -1;
    }
    int rc = r->op == L_IN || r->op == L_NOTIN ? parse_values(p, r, msg) : parse_exact(p, r, msg);
    return rc ? rc : check_requirement(r, msg);
}

static int cmp_req(const void *a, const void *b)
{
    return strcmp(((const lreq *)a)->key, ((const lreq *)b)->key);
}

void labelsel_free(labelsel *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->n; i++)
        req_free(&sel->reqs[i]);
    free(sel->reqs);
    free(sel);
}

/* Tokens of s into *items (EOS last); -1 on allocation failure. */
static int lex_all(const char *s, item **items, size_t *n)
{
    lexer l = {s, strlen(s), 0};
    size_t cap = 8;
    *n = 0;
    if (!(*items = malloc(cap * sizeof **items)))
        return -1;
    for (;;) {
        char *lit;
        token t = lx_next(&l, &lit);
        if (!lit)
            return -1;
        if (*n == cap) {
            item *ni = realloc(*items, 2 * cap * sizeof *ni);
            if (!ni) {
                free(lit);
                return -1;
            }
            *items = ni;
            cap *= 2;
        }
        (*items)[(*n)++] = (item){t, lit};
        if (t == T_EOS)
            return 0;
    }
}

/* The Parser.parse loop. On error *msg is the final message (malloc'ed, NULL if out of memory). */
static int parse_selector(parser *p, labelsel *sel, char **msg)
{
    size_t cap = 0;
    for (;;) {
        const char *lit;
        token t = peek(p, 1, &lit);
        if (t == T_EOS)
            return 0;
        if (t != T_ID && t != T_NOT)
            return *msg = xprintf("found '%s', expected: !, identifier, or 'end of string'", lit), -1;
        if (sel->n == cap) {
            size_t ncap = cap ? 2 * cap : 4;
            lreq *nr = realloc(sel->reqs, ncap * sizeof *nr);
            if (!nr)
                return OOM(msg);
            sel->reqs = nr;
            cap = ncap;
        }
        lreq *r = &sel->reqs[sel->n++];
        memset(r, 0, sizeof *r);
        char *why = NULL;
        if (parse_requirement(p, r, &why)) {
            *msg = why ? xprintf("unable to parse requirement: %s", why) : NULL;
            free(why);
            return -1;
        }
        t = take(p, 1, &lit);
        if (t == T_EOS)
            return 0;
        if (t != T_COMMA)
            return *msg = xprintf("found '%s', expected: ',' or 'end of string'", lit), -1;
        t = peek(p, 1, &lit);
        if (t != T_ID && t != T_NOT)
            return *msg = xprintf("found '%s', expected: identifier after ','", lit), -1;
    }
}

int labelsel_parse(const char *s, labelsel **out, char **err)
{
    *out = NULL;
    *err = NULL;
    labelsel *sel = calloc(1, sizeof *sel);
    int rc = sel ? 0 : -1;
    if (sel && s && *s) {
        parser p = {0};
        rc = lex_all(s, &p.it, &p.n);
        if (rc == 0)
            rc = parse_selector(&p, sel, err);
        for (size_t i = 0; i < p.n; i++)
            free(p.it[i].lit);
        free(p.it);
        if (rc == 0 && sel->n > 1)
            qsort(sel->reqs, sel->n, sizeof *sel->reqs, cmp_req);
    }
    if (rc) {
        labelsel_free(sel);
        if (!*err) /* the only failure without a message */
            *err = strdup("out of memory");
        return -1;
    }
    *out = sel;
    return 0;
}

static int has_value(const lreq *r, const char *v)
{
    for (size_t i = 0; i < r->nvals; i++)
        if (!strcmp(r->vals[i], v))
            return 1;
    return 0;
}

static int req_match(const lreq *r, const json_t *labels)
{
    json_t *lv = json_is_object(labels) ? json_object_get(labels, r->key) : NULL;
    const char *v = lv && json_is_string(lv) ? json_string_value(lv) : "";
    long long n;
    switch (r->op) {
    case L_IN:
    case L_EQ:
    case L_DEQ: return lv && has_value(r, v);
    case L_NOTIN:
    case L_NEQ: return !lv || !has_value(r, v);
    case L_EXISTS: return lv != NULL;
    case L_NOTEXISTS: return lv == NULL;
    case L_GT: return lv && strconv_int64(v, &n) == 0 && n > r->num;
    case L_LT: return lv && strconv_int64(v, &n) == 0 && n < r->num;
    }
    return 0;
}

int labelsel_match(const labelsel *sel, const json_t *labels)
{
    for (size_t i = 0; sel && i < sel->n; i++)
        if (!req_match(&sel->reqs[i], labels))
            return 0;
    return 1;
}

int labelsel_empty(const labelsel *sel) { return !sel || sel->n == 0; }

/* ---- field selectors --------------------------------------------------------------------- */

typedef struct {
    char *field;
    char *value; /* unescaped */
    int neg;     /* "!=" */
} fterm;

struct fieldsel {
    fterm *terms; /* in the sorted order of their source text */
    size_t n;
};

void fieldsel_free(fieldsel *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->n; i++) {
        free(sel->terms[i].field);
        free(sel->terms[i].value);
    }
    free(sel->terms);
    free(sel);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* splitTerms: copies of the terms between unescaped commas (escapes kept). */
static char **split_terms(const char *s, size_t *n)
{
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    char **terms = calloc(cap, sizeof *terms);
    if (!terms)
        return NULL;
    size_t start = 0, i = 0;
    int in_slash = 0;
    *n = 0;
    for (;; i++) {
        if (s[i] && in_slash) {
            in_slash = 0;
        } else if (s[i] == '\\') {
            in_slash = 1;
        } else if (s[i] == ',' || !s[i]) {
            if (!(terms[(*n)++] = strndup(s + start, i - start)))
                goto fail;
            start = i + 1;
            if (!s[i])
                return terms;
        }
    }
fail:
    for (size_t k = 0; k < *n; k++)
        free(terms[k]);
    free(terms);
    return NULL;
}

/* UnescapeValue; *err set (malloc'ed) on a bad escape or a bare ',' / '='. */
static char *unescape(const char *s, char **err)
{
    size_t n = strlen(s), o = 0;
    char *v = malloc(n + 1);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') {
            unsigned char d = (unsigned char)s[i + 1];
            if (d == '\\' || d == ',' || d == '=') {
                v[o++] = (char)d;
                i++;
                continue;
            }
            uint32_t cp;
            size_t len = d ? utf8_len((const unsigned char *)s + i + 1, &cp) : 0;
            if (d && !len)
                len = 1; /* Go would print U+FFFD here; keep the raw byte */
            *err = xprintf("invalid field selector: invalid escape sequence: \\%.*s", (int)len, s + i + 1);
            free(v);
            return NULL;
        }
        if (c == ',' || c == '=') { /* Go prints the rune as a number */
            *err = xprintf("invalid field selector: unescaped character in value: %d", c);
            free(v);
            return NULL;
        }
        v[o++] = (char)c;
    }
    v[o] = '\0';
    return v;
}

/* splitTerm: the first "!=", "==" or "=" (in that preference at each position). */
static int split_term(const char *term, fterm *t, char **err)
{
    for (size_t i = 0; term[i]; i++) {
        size_t oplen = !strncmp(term + i, "!=", 2) || !strncmp(term + i, "==", 2) ? 2
                       : term[i] == '=' ? 1 : 0;
        if (!oplen)
            continue;
        t->neg = term[i] == '!';
        if (!(t->field = strndup(term, i)))
            return -1;
        if (!(t->value = unescape(term + i + oplen, err)))
            return -1;
        return 0;
    }
    return 1;
}

/* Parse s into sel: every term first, then the field-label check. */
static int fieldsel_fill(fieldsel *sel, const char *s, const char *const *allowed, char **err)
{
    size_t nparts = 0;
    char **parts = split_terms(s, &nparts);
    if (!parts)
        return -1;
    qsort(parts, nparts, sizeof *parts, cmp_str);
    int rc = (sel->terms = calloc(nparts, sizeof *sel->terms)) ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < nparts; i++) {
        if (!parts[i][0])
            continue;
        rc = split_term(parts[i], &sel->terms[sel->n++], err);
        if (rc > 0)
            *err = xprintf("invalid selector: '%s'; can't understand '%s'", s, parts[i]);
    }
    for (size_t i = 0; rc == 0 && allowed && i < sel->n; i++) {
        size_t k = 0;
        while (allowed[k] && strcmp(allowed[k], sel->terms[i].field))
            k++;
        if (!allowed[k]) {
            *err = xprintf("field label not supported: %s", sel->terms[i].field);
            rc = -1;
        }
    }
    for (size_t i = 0; i < nparts; i++)
        free(parts[i]);
    free(parts);
    return rc;
}

int fieldsel_parse(const char *s, const char *const *allowed, fieldsel **out, char **err)
{
    *out = NULL;
    *err = NULL;
    fieldsel *sel = calloc(1, sizeof *sel);
    int rc = sel ? 0 : -1;
    if (sel && s && *s)
        rc = fieldsel_fill(sel, s, allowed, err);
    if (rc) {
        fieldsel_free(sel);
        if (!*err) /* the only failure without a message */
            *err = strdup("out of memory");
        return -1;
    }
    *out = sel;
    return 0;
}

/* The value of a dotted path in obj: strings as they are, integers in decimal, booleans as
 * "true"/"false"; anything else or missing is "" (a missing Go bool field: "false"). buf holds
 * rendered numbers. */
static const char *field_value(const json_t *obj, const char *path, char *buf, size_t bufsz)
{
    if (!strcmp(path, "source")) { /* an event's: source.component, else reportingComponent */
        const char *c = json_string_value(json_object_get(json_object_get(obj, "source"), "component"));
        if (c && *c)
            return c;
        c = json_string_value(json_object_get(obj, "reportingComponent"));
        return c ? c : "";
    }
    /* Go bools the selectable fields print with fmt.Sprint: absent is "false" */
    int go_bool = !strcmp(path, "spec.unschedulable") || !strcmp(path, "spec.hostNetwork");
    const json_t *v = obj;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(v) || !(v = json_object_getn(v, p, n)))
            return go_bool ? "false" : "";
        if (!dot)
            break;
        p = dot + 1;
    }
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, bufsz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    return "";
}

int fieldsel_match(const fieldsel *sel, const json_t *obj)
{
    char buf[32];
    for (size_t i = 0; sel && i < sel->n; i++) {
        const fterm *t = &sel->terms[i];
        int eq = !strcmp(field_value(obj, t->field, buf, sizeof buf), t->value);
        if (eq == t->neg)
            return 0;
    }
    return 1;
}

int fieldsel_empty(const fieldsel *sel) { return !sel || sel->n == 0; }

const char *fieldsel_exact(const fieldsel *sel, const char *field)
{
    for (size_t i = 0; sel && i < sel->n; i++)
        if (!sel->terms[i].neg && !strcmp(sel->terms[i].field, field))
            return sel->terms[i].value;
    return NULL;
}
