/* yamljson — YAML request bodies (application/yaml, apply-patch+yaml) decoded into JSON values,
 * with the YAML 1.1 scalar rules Kubernetes' decoder (sigs.k8s.io/yaml) applies. */
#ifndef TJ_YAMLJSON_H
#define TJ_YAMLJSON_H
#include <stddef.h>
#include <jansson.h>

/* The first document of buf as a new JSON value, or NULL with *err (malloc'ed). Mapping keys
 * become strings; plain scalars resolve to null, booleans, integers and floats; quoted ones stay
 * strings. Anchors/aliases are refused. */
json_t *yamljson_parse(const char *buf, size_t len, char **err);
#endif
