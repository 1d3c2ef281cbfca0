/* openapi — the OpenAPI v3 document of one group-version: paths generated from the resource
 * table, components.schemas from the built-in schemas (PyTorchJob, core/v1 Namespace, Pod,
 * Service, Event, meta/v1) plus generic ones for table kinds without a built-in schema.
 * Internal to discovery, which serialises each document once at start. */
#ifndef TJ_OPENAPI_H
#define TJ_OPENAPI_H
#include <jansson.h>

/* The document for group ("" for core) / version, or NULL when no table resource belongs to
 * that group-version or an allocation failed. The caller owns the returned reference. */
json_t *openapi_v3_doc(const char *group, const char *version);
#endif
