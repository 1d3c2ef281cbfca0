/* jsonio — the JSON text our objects are read from and written to, faster than jansson's own
 * json_loadb/json_dumps and byte-for-byte the same: a single-pass parser and a buffer dumper for
 * the common subset, handing everything else (and every error) to jansson so that results, error
 * texts and positions stay jansson's. */
#ifndef TJ_JSONIO_H
#define TJ_JSONIO_H
#include <stddef.h>
#include <jansson.h>

/* json_loadb(buf, len, flags, err), the same tree (types, values, key order) and the same error.
 * Fast for flags 0 and JSON_REJECT_DUPLICATES; other flags go straight to json_loadb. The caller
 * owns the returned reference. */
json_t *jsonio_parse(const char *buf, size_t len, size_t flags, json_error_t *err);
/* json_dumps(o, flags), byte for byte. Fast for JSON_COMPACT with or without JSON_SORT_KEYS
 * (JSON_PRESERVE_ORDER and, on a container, JSON_ENCODE_ANY accepted); anything else is
 * json_dumps. Returns a malloc'd, NUL-terminated string the caller frees (NULL where json_dumps
 * fails); its strlen goes to *len_out when len_out is not NULL (0 on failure). */
char *jsonio_dump(const json_t *o, size_t flags, size_t *len_out);
/* Compact JSON text (jsonio_dump's, or bytes stored from it) indented by two spaces, as
 * json_dumps(json_loadb(text), JSON_INDENT(2)) writes it with the keys in the order they come
 * (Go's json.Indent, which kube-apiserver's ?pretty uses), without building a tree: a list of
 * 100,000 objects is indented in its own size plus the output's. Whitespace outside strings is
 * dropped; the text is not checked. Returns malloc'd, NUL-terminated text (length in *len_out),
 * or NULL when memory runs out. */
char *jsonio_indent(const char *text, size_t len, size_t *len_out);
/* The keys repeated within one object of JSON text buf (valid JSON, as a parse without
 * JSON_REJECT_DUPLICATES took it): fn(arg, offset of the repeat's opening quote, path) for every
 * occurrence after an object's first of the same key; the path as kube's strict decoding writes it
 * ("metadata.name", "spec.containers[0].env[1].name"). The calls come object by object, innermost
 * first: sort by offset for the document's order. 0, or -1 (text it could not follow, or out of
 * memory). */
typedef void (*jsonio_dup_fn)(void *arg, size_t offset, const char *path);
int jsonio_duplicates(const char *buf, size_t len, jsonio_dup_fn fn, void *arg);
#endif
