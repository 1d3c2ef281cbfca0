/* auth — authentication by bearer token (see auth.h).
 *
 * The token file follows kube-apiserver's --token-auth-file (tokenfile.go, read with Go's
 * encoding/csv): one CSV record per line, `token,user,uid[,"g1,g2"]`, quoted fields may hold
 * commas, newlines and "" for a quote. Deviations, both more lenient: a UTF-8 BOM is skipped, and
 * lines holding only blanks are ignored like empty ones (Go would report them as 1-column records).
 * Empty group names in column 4 are dropped (Go keeps "" as a group).
 *
 * The Authorization header is read as bearertoken.go does: trim blanks, split on the first two
 * single spaces, scheme compared case-insensitively, the second part is the token; an empty token
 * ("Bearer", "Bearer  x") or another scheme (Basic, Negotiate…) counts as no credentials. In
 * kube-apiserver no authenticator matches such a request and the anonymous authenticator takes it
 * (union.NewFailOnError only fails on a *presented* bad token), so it becomes system:anonymous.
 *
 * Lookup: every entry keeps the SHA-256 of its token; a presented token is hashed once and
 * compared with CRYPTO_memcmp against all entries without stopping early, so neither the token's
 * length nor the position of the match shows in the timing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "auth.h"

#define TOKEN_FILE_MAX (4u << 20) /* a token file larger than this is refused */

typedef struct entry {
    char *token;
    unsigned char digest[32]; /* SHA-256 of token */
    unsigned line;            /* line the record starts on */
    auth_user user;
} entry;

struct authn {
    entry *v;
    size_t n, cap;
};

static char anon_name[] = "system:anonymous";
static char anon_uid[] = "";
static char anon_group[] = "system:unauthenticated";
static char *anon_groups[] = {anon_group};
static const auth_user anonymous = {anon_name, anon_uid, anon_groups, 1};

static void set_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char **err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(err, fmt, ap) < 0)
        *err = NULL;
    va_end(ap);
}

static int sha256(const char *s, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    /* The implementation is fetched once: EVP_sha256() would look it up on every request. */
    static EVP_MD *md;
    if (!md)
        md = EVP_MD_fetch(NULL, "SHA256", NULL);
    return EVP_Digest(s, len, out, &n, md ? md : EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

/* ---- CSV (Go encoding/csv rules, Comma ',', no comments, no lazy quotes) ---- */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static int buf_put(buf *b, char c)
{
    if (b->len + 1 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
    return 0;
}

typedef struct record {
    char **f;
    size_t n, cap;
} record;

static void record_clear(record *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i]);
    r->n = 0;
}

static int record_push(record *r, buf *b)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        char **f = realloc(r->f, cap * sizeof *f);
        if (!f)
            return -1;
        r->f = f;
        r->cap = cap;
    }
    r->f[r->n++] = b->p ? b->p : strdup("");
    *b = (buf){0};
    return r->f[r->n - 1] ? 0 : -1;
}

typedef struct csv {
    const char *p, *end;
    unsigned line; /* line of *p, 1-based */
} csv;

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* At a record's end: "\n", "\r\n", a last "\r" (Go drops it) or the end of input. */
static int at_eol(const csv *c)
{
    return c->p == c->end || *c->p == '\n' ||
           (*c->p == '\r' && (c->p + 1 == c->end || c->p[1] == '\n'));
}

static void skip_eol(csv *c)
{
    if (c->p < c->end && *c->p == '\r')
        c->p++;
    if (c->p < c->end && *c->p == '\n') {
        c->p++;
        c->line++;
    }
}

/* Reads the next record into *r (cleared first). Returns 1 for a record, 0 at the end of input,
 * -1 with *err. *line = the line the record starts on. */
static int csv_record(csv *c, record *r, unsigned *line, char **err)
{
    record_clear(r);
    for (;;) { /* skip empty and blank-only lines */
        const char *q = c->p;
        while (q < c->end && is_blank(*q))
            q++;
        if (q == c->end) {
            c->p = q;
            return 0;
        }
        if (*q != '\n')
            break;
        c->p = q + 1;
        c->line++;
    }
    *line = c->line;
    buf b = {0};
    for (;;) {
        if (c->p < c->end && *c->p == '"') {
            unsigned qline = c->line;
            c->p++;
            for (;;) {
                if (c->p == c->end) {
                    set_err(err, "token file: line %u: extraneous or missing \" in quoted-field", qline);
                    goto fail;
                }
                char ch = *c->p++;
                if (ch == '"') {
                    if (c->p < c->end && *c->p == '"') {
                        c->p++;
                    } else {
                        break;
                    }
                } else if (ch == '\n') {
                    c->line++;
                } else if (ch == '\r' && c->p < c->end && *c->p == '\n') {
                    continue; /* Go turns \r\n inside a quoted field into \n */
                }
                if (ch == '\0') {
                    set_err(err, "token file: line %u: NUL byte", c->line);
                    goto fail;
                }
                if (buf_put(&b, ch) < 0)
                    goto nomem;
            }
            if (!at_eol(c) && *c->p != ',') {
                set_err(err, "token file: line %u: extraneous or missing \" in quoted-field", c->line);
                goto fail;
            }
        } else {
            while (!at_eol(c) && *c->p != ',') {
                char ch = *c->p++;
                if (ch == '"') {
                    set_err(err, "token file: line %u: bare \" in non-quoted-field", c->line);
                    goto fail;
                }
                if (ch == '\0') {
                    set_err(err, "token file: line %u: NUL byte", c->line);
                    goto fail;
                }
                if (buf_put(&b, ch) < 0)
                    goto nomem;
            }
        }
        if (record_push(r, &b) < 0)
            goto nomem;
        if (at_eol(c)) {
            skip_eol(c);
            return 1;
        }
        c->p++; /* ',' */
    }
nomem:
    set_err(err, "token file: out of memory");
fail:
    free(b.p);
    return -1;
}

/* ---- entries ---- */

static void entry_free(entry *e)
{
    free(e->token);
    free(e->user.name);
    free(e->user.uid);
    for (size_t i = 0; i < e->user.ngroups; i++)
        free(e->user.groups[i]);
    free(e->user.groups);
}

static int add_group(auth_user *u, const char *g, size_t len)
{
    for (size_t i = 0; i < u->ngroups; i++)
        if (strlen(u->groups[i]) == len && !memcmp(u->groups[i], g, len))
            return 0;
    char **v = realloc(u->groups, (u->ngroups + 1) * sizeof *v);
    if (!v)
        return -1;
    u->groups = v;
    if (!(v[u->ngroups] = strndup(g, len)))
        return -1;
    u->ngroups++;
    return 0;
}

/* Builds an entry from a record of >= 3 fields with a non-empty token. */
static int entry_init(entry *e, const record *r, unsigned line)
{
    *e = (entry){.line = line};
    if (!(e->token = strdup(r->f[0])) || !(e->user.name = strdup(r->f[1])) ||
        !(e->user.uid = strdup(r->f[2])))
        return -1;
    if (sha256(e->token, strlen(e->token), e->digest) < 0)
        return -1;
    if (r->n >= 4) {
        const char *s = r->f[3];
        for (;;) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            if (len && add_group(&e->user, s, len) < 0)
                return -1;
            if (!comma)
                break;
            s = comma + 1;
        }
    }
    return add_group(&e->user, "system:authenticated", strlen("system:authenticated"));
}

/* Adds e, replacing an entry with the same token: the later line wins and takes the later place
 * in file order (authn_token_in_group looks for the first line). */
static int authn_add(authn *a, entry *e)
{
    for (size_t i = 0; i < a->n; i++) {
        if (!strcmp(a->v[i].token, e->token)) {
            entry_free(&a->v[i]);
            memmove(&a->v[i], &a->v[i + 1], (a->n - i - 1) * sizeof *a->v);
            a->n--;
            break;
        }
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        entry *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = *e;
    return 0;
}

static int read_file(const char *path, char **data, size_t *len, char **err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, "token file %s: %s", path, strerror(errno));
        return -1;
    }
    buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > TOKEN_FILE_MAX) {
            set_err(err, "token file %s: larger than %u bytes", path, TOKEN_FILE_MAX);
            goto fail;
        }
        char *p = realloc(b.p, b.len + n + 1);
        if (!p) {
            set_err(err, "token file %s: out of memory", path);
            goto fail;
        }
        b.p = p;
        memcpy(b.p + b.len, chunk, n);
        b.len += n;
    }
    if (ferror(f)) {
        set_err(err, "token file %s: read error", path);
        goto fail;
    }
    fclose(f);
    *data = b.p;
    *len = b.len;
    return 0;
fail:
    fclose(f);
    free(b.p);
    return -1;
}

int authn_load(const char *path, authn **out, char **err)
{
    char *data = NULL;
    size_t len = 0;
    *out = NULL;
    if (read_file(path, &data, &len, err) < 0)
        return -1;
    authn *a = calloc(1, sizeof *a);
    record r = {0};
    csv c = {data, data + len, 1};
    if (!a) {
        set_err(err, "token file: out of memory");
        goto fail;
    }
    if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
        c.p += 3;
    for (;;) {
        unsigned line = 0;
        int rc = csv_record(&c, &r, &line, err);
        if (rc < 0)
            goto fail;
        if (rc == 0)
            break;
        if (r.n < 3) {
            set_err(err,
                    "token file: line %u: must have at least 3 columns (token, user name, user uid), "
                    "found %zu",
                    line, r.n);
            goto fail;
        }
        if (!r.f[0][0])
            continue; /* empty token: skipped, as kube does */
        entry e;
        if (entry_init(&e, &r, line) < 0 || authn_add(a, &e) < 0) {
            entry_free(&e);
            set_err(err, "token file: out of memory");
            goto fail;
        }
    }
    record_clear(&r);
    free(r.f);
    free(data);
    *out = a;
    return 0;
fail:
    record_clear(&r);
    free(r.f);
    free(data);
    authn_free(a);
    return -1;
}

int authn_authenticate(const authn *a, const char *authorization, const auth_user **user)
{
    *user = &anonymous;
    if (!authorization)
        return 0;
    const char *s = authorization, *e = s + strlen(s);
    while (s < e && (is_blank(*s) || *s == '\n'))
        s++;
    while (e > s && (is_blank(e[-1]) || e[-1] == '\n'))
        e--;
    const char *sp = memchr(s, ' ', (size_t)(e - s));
    if (!sp || sp - s != 6 || strncasecmp(s, "bearer", 6))
        return 0; /* no credentials, or a scheme no authenticator of ours takes */
    const char *tok = sp + 1;
    const char *tend = memchr(tok, ' ', (size_t)(e - tok));
    if (!tend)
        tend = e;
    if (tend == tok)
        return 0; /* empty token = not presented */
    unsigned char d[32];
    if (sha256(tok, (size_t)(tend - tok), d) < 0)
        return -1;
    size_t hit = 0, found = 0;
    for (size_t i = 0; i < a->n; i++) {
        size_t m = (size_t)0 - (size_t)(CRYPTO_memcmp(d, a->v[i].digest, sizeof d) == 0);
        hit = (hit & ~m) | (i & m);
        found |= m;
    }
    if (!found)
        return -1;
    *user = &a->v[hit].user;
    return 0;
}

const char *authn_token_in_group(const authn *a, const char *group)
{
    for (size_t i = 0; i < a->n; i++)
        if (auth_user_in_group(&a->v[i].user, group))
            return a->v[i].token;
    return NULL;
}

int auth_user_in_group(const auth_user *u, const char *group)
{
    if (!u || !group)
        return 0;
    for (size_t i = 0; i < u->ngroups; i++)
        if (!strcmp(u->groups[i], group))
            return 1;
    return 0;
}

void authn_free(authn *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        entry_free(&a->v[i]);
    free(a->v);
    free(a);
}
