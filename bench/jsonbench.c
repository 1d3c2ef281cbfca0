/* jsonbench — microseconds per parse and per dump of one document (bench/job.json unless given),
 * jansson against src/jsonio.c, on one core. `make jsonbench`; not part of `make test`.
 * Each figure is the best of 5 rounds of about 0.1 s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "jsonio.h"

typedef enum { LOADB, PARSE, LOADB_DUP, PARSE_DUP, DUMPS_SORTED, DUMP_SORTED, DUMPS, DUMP } op;

static const char *buf;
static size_t len;
static json_t *tree;
static volatile size_t sink;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void once(op o)
{
    json_t *j = NULL;
    char *s = NULL;
    size_t n = 0;
    switch (o) {
    case LOADB: j = json_loadb(buf, len, 0, NULL); break;
    case PARSE: j = jsonio_parse(buf, len, 0, NULL); break;
    case LOADB_DUP: j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL); break;
    case PARSE_DUP: j = jsonio_parse(buf, len, JSON_REJECT_DUPLICATES, NULL); break;
    case DUMPS_SORTED: s = json_dumps(tree, JSON_COMPACT | JSON_SORT_KEYS); n = strlen(s); break;
    case DUMP_SORTED: s = jsonio_dump(tree, JSON_COMPACT | JSON_SORT_KEYS, &n); break;
    case DUMPS: s = json_dumps(tree, JSON_COMPACT); n = strlen(s); break;
    case DUMP: s = jsonio_dump(tree, JSON_COMPACT, &n); break;
    }
    if (!j && !s) {
        fprintf(stderr, "jsonbench: operation %d failed\n", (int)o);
        exit(1);
    }
    sink += n + (j ? json_object_size(j) : 0);
    json_decref(j);
    free(s);
}

static double usec_per_op(op o)
{
    size_t n = 1;
    double best = 1e9;
    for (;;) { /* calibrate to ~0.1 s */
        double t = now();
        for (size_t i = 0; i < n; i++)
            once(o);
        if (now() - t > 0.02)
            break;
        n *= 2;
    }
    n *= 5;
    for (int round = 0; round < 5; round++) {
        double t = now();
        for (size_t i = 0; i < n; i++)
            once(o);
        double us = (now() - t) * 1e6 / n;
        if (us < best)
            best = us;
    }
    return best;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "bench/job.json";
    FILE *f = fopen(path, "rb");
    static char data[1 << 20];
    if (!f) {
        perror(path);
        return 1;
    }
    len = fread(data, 1, sizeof data, f);
    fclose(f);
    buf = data;
    json_error_t e;
    if (!(tree = json_loadb(buf, len, 0, &e))) {
        fprintf(stderr, "%s: %s\n", path, e.text);
        return 1;
    }
    static const struct {
        const char *what;
        op jansson, ours;
    } rows[] = {
        {"parse", LOADB, PARSE},
        {"parse JSON_REJECT_DUPLICATES", LOADB_DUP, PARSE_DUP},
        {"dump COMPACT|SORT_KEYS", DUMPS_SORTED, DUMP_SORTED},
        {"dump COMPACT", DUMPS, DUMP},
    };
    printf("%s, %zu bytes: microseconds per operation (best of 5)\n", path, len);
    printf("%-30s %10s %10s %8s\n", "", "jansson", "jsonio", "speedup");
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        double a = usec_per_op(rows[i].jansson), b = usec_per_op(rows[i].ours);
        printf("%-30s %10.2f %10.2f %7.1fx\n", rows[i].what, a, b, a / b);
    }
    json_decref(tree);
    return 0;
}
