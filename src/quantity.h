/* quantity — resource.Quantity text ("500m", "1.5Gi", "2e3", "128974848") as a number, for the
 * values the kubelet hands to a process (resourceFieldRef). Parsing only: this server stores
 * quantities as the client wrote them. */
#ifndef TJ_QUANTITY_H
#define TJ_QUANTITY_H
#include <jansson.h>

/* The value of s: a signed decimal (digits, an optional fraction) with at most one suffix: binary
 * (Ki Mi Gi Ti Pi Ei), decimal (n u m "" k M G T P E) or an exponent (e3, E-2). 0, or -1 when s is
 * not a quantity. */
int quantity_parse(const char *s, long double *out);
/* A quantity as JSON carries it: a string as quantity_parse reads it, or a number (YAML's 1).
 * 0, or -1 when q is neither or not a quantity (*out untouched). */
int quantity_json(const json_t *q, long double *out);
/* A quantity's text as the JSON carries it: the string, or a number (YAML's 1) written into buf;
 * NULL when q is neither. */
const char *quantity_text(const json_t *q, char *buf, size_t cap);
/* What kube's downward API makes of a value against a divisor (ExtractContainerResourceValue):
 * ceil(value / divisor), the CPU in thousandths first (MilliValue). */
long long quantity_ceil_div(long double value, long double divisor, int cpu);
#endif
