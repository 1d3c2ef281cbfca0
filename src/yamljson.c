/* yamljson — YAML → JSON through libyaml's event parser (see yamljson.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include "yamljson.h"

#define MAX_DEPTH 256

/* sigs.k8s.io/yaml resolves plain scalars like YAML 1.1 as go-yaml does. */
static json_t *scalar(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(v, n);
    if (n == 0 || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"))
        return json_null();
    static const char *const t[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"};
    static const char *const f[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        if (!strcmp(v, t[i]))
            return json_true();
        if (!strcmp(v, f[i]))
            return json_false();
    }
    char *end;
    errno = 0;
    long long ll = strtoll(v, &end, 0);
    if (*end == 0 && errno == 0 && (v[0] != '0' || n == 1 || v[1] == 'x' || v[1] == 'X'))
        return json_integer(ll);
    if (v[0] == '0' && n > 1 && *end == 0 && errno == 0)
        return json_integer(ll); /* YAML 1.1 octal */
    errno = 0;
    double d = strtod(v, &end);
    if (*end == 0 && errno == 0 && strpbrk(v, "0123456789") && !strpbrk(v, "xXpP") &&
        strcasecmp(v, "nan") && strcasecmp(v, "inf") && strcasecmp(v, "infinity"))
        return json_real(d);
    return json_stringn(v, n);
}

typedef struct frame {
    json_t *node;
    json_t *key; /* pending mapping key */
} frame;

json_t *yamljson_parse(const char *buf, size_t len, char **err)
{
    yaml_parser_t p;
    yaml_event_t ev;
    frame st[MAX_DEPTH];
    int depth = 0, done = 0;
    json_t *root = NULL;
    *err = NULL;
    if (!yaml_parser_initialize(&p)) {
        *err = strdup("yaml: cannot initialise parser");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            if (asprintf(err, "yaml: line %zu: %s", p.problem_mark.line + 1, p.problem ? p.problem : "error") < 0)
                *err = NULL;
            break;
        }
        json_t *val = NULL;
        int push = 0;
        switch (ev.type) {
        case YAML_SCALAR_EVENT:
            val = scalar(&ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            val = json_array();
            push = 1;
            break;
        case YAML_MAPPING_START_EVENT:
            val = json_object();
            push = 1;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            if (depth == 0)
                done = 1;
            break;
        case YAML_ALIAS_EVENT:
            *err = strdup("yaml: aliases are not supported");
            done = -1;
            break;
        case YAML_DOCUMENT_END_EVENT:
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (done < 0)
            break;
        if (!val)
            continue;
        if (depth == 0) {
            root = val;
            if (!push) {
                done = 1;
                continue;
            }
        } else {
            frame *top = &st[depth - 1];
            if (json_is_array(top->node)) {
                json_array_append(top->node, val);
            } else if (!top->key) {
                if (json_is_string(val))
                    top->key = json_incref(val);
                else if (json_is_null(val))
                    top->key = json_string("null");
                else {
                    char *s = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
                    top->key = json_string(s ? s : "");
                    free(s);
                }
                if (push) { /* a collection as a key */
                    json_decref(val);
                    *err = strdup("yaml: complex mapping keys are not supported");
                    break;
                }
                json_decref(val);
                continue;
            } else {
                json_object_set(top->node, json_string_value(top->key), val);
                json_decref(top->key);
                top->key = NULL;
            }
            if (!push)
                json_decref(val);
        }
        if (push) {
            if (depth == MAX_DEPTH) {
                *err = strdup("yaml: nesting too deep");
                if (depth > 0)
                    json_decref(val);
                break;
            }
            st[depth].node = val;
            st[depth].key = NULL;
            depth++;
            if (depth > 1)
                json_decref(val); /* the parent holds it */
        }
    }
    for (int i = 0; i < depth && i < MAX_DEPTH; i++)
        json_decref(st[i].key);
    yaml_parser_delete(&p);
    if (*err) {
        json_decref(root);
        return NULL;
    }
    if (!root)
        root = json_null();
    return root;
}
