/* selector — label and field selectors (apimachinery's labels.Parse and fields.ParseSelector). */
#ifndef TJ_SELECTOR_H
#define TJ_SELECTOR_H
#include <jansson.h>

typedef struct labelsel labelsel;
/* Parse s (NULL or "" = match everything). On a syntax or validation error returns -1 and
 * *err = kube's message (malloc'ed), e.g. "unable to parse requirement: ...". */
int labelsel_parse(const char *s, labelsel **out, char **err);
/* labels: the object's metadata.labels (object) or NULL. */
int labelsel_match(const labelsel *sel, const json_t *labels);
int labelsel_empty(const labelsel *sel);
void labelsel_free(labelsel *sel);

typedef struct fieldsel fieldsel;
/* allowed: NULL-terminated list of supported field paths ("metadata.name", "metadata.namespace",
 * "involvedObject.name", ...). Unknown field → -1, *err = "field label not supported: spec.x".
 * Unparseable → -1, *err = "invalid selector: '<s>'; can't understand '<term>'". */
int fieldsel_parse(const char *s, const char *const *allowed, fieldsel **out, char **err);
/* obj: the whole object; a field path is walked through nested objects; missing = "". */
int fieldsel_match(const fieldsel *sel, const json_t *obj);
int fieldsel_empty(const fieldsel *sel);
/* The value of a `field=value` / `field==value` requirement on field, or NULL. Borrowed. */
const char *fieldsel_exact(const fieldsel *sel, const char *field);
void fieldsel_free(fieldsel *sel);
#endif
