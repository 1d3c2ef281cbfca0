/* quantity — see quantity.h. The grammar is apimachinery's ParseQuantity:
 *
 *   <quantity> ::= <signedNumber><suffix>
 *   <signedNumber> ::= [+-] <digits> [ . <digits> ] | [+-] . <digits>
 *   <suffix> ::= Ki | Mi | Gi | Ti | Pi | Ei | n | u | m | "" | k | M | G | T | P | E | (e|E) [+-] <digits>
 *
 * A long double carries 64 bits of mantissa: exact for every integer a memory limit is written
 * with, and for CPU down to the nano unit. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "quantity.h"

/* m × 10^e10 × 2^e2, rounded once: m is a whole number (exact below 2^64) and 10^k is exact up to
 * k = 27, so two texts of the same value ("1", "1000m") give the same number. */
static long double scaled(long double m, int e10, int e2)
{
    long double p = powl(10, e10 < 0 ? -e10 : e10);
    return ldexpl(e10 < 0 ? m / p : m * p, e2);
}

int quantity_parse(const char *s, long double *out)
{
    if (!s || !*s)
        return -1;
    const char *p = s;
    int neg = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    long double m = 0;
    int digits = 0, frac = 0;
    for (; isdigit((unsigned char)*p); p++, digits++)
        m = m * 10 + (*p - '0');
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++, digits++, frac++)
            m = m * 10 + (*p - '0');
    if (!digits)
        return -1;
    if (neg)
        m = -m;
    static const struct { const char *sfx; int e10, e2; } table[] = {
        {"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
        {"n", -9, 0}, {"u", -6, 0}, {"m", -3, 0}, {"k", 3, 0}, {"M", 6, 0}, {"G", 9, 0},
        {"T", 12, 0}, {"P", 15, 0}, {"E", 18, 0}, {"", 0, 0},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (!strcmp(p, table[i].sfx)) {
            *out = scaled(m, table[i].e10 - frac, table[i].e2);
            return 0;
        }
    if (*p != 'e' && *p != 'E')
        return -1;
    p++;
    int eneg = 0, e = 0, edigits = 0;
    if (*p == '+' || *p == '-')
        eneg = *p++ == '-';
    for (; isdigit((unsigned char)*p) && e < 100000; p++, edigits++)
        e = e * 10 + (*p - '0');
    if (!edigits || *p)
        return -1;
    *out = scaled(m, (eneg ? -e : e) - frac, 0);
    return 0;
}

int quantity_json(const json_t *q, long double *out)
{
    if (json_is_integer(q)) {
        *out = (long double)json_integer_value(q);
        return 0;
    }
    return json_is_string(q) ? quantity_parse(json_string_value(q), out) : -1;
}

long long quantity_ceil_div(long double value, long double divisor, int cpu)
{
    if (divisor == 0)
        divisor = 1;
    /* MilliValue/Value round up to whole units first, then the division rounds up again */
    long double q = cpu ? ceill(value * 1000 - 1e-9L) / ceill(divisor * 1000 - 1e-9L)
                        : ceill(value - 1e-9L) / ceill(divisor - 1e-9L);
    return (long long)ceill(q - 1e-12L);
}

const char *quantity_text(const json_t *q, char *buf, size_t cap)
{
    if (json_is_string(q))
        return json_string_value(q);
    if (json_is_integer(q)) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(q));
        return buf;
    }
    return NULL;
}
