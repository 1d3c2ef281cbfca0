/* patch — JSON merge patch (RFC 7386), JSON patch (RFC 6902) and kube's strategic merge patch
 * over jansson values.
 * Pure functions: the target is never modified. */
#ifndef TJ_PATCH_H
#define TJ_PATCH_H
#include <jansson.h>

#define PATCH_ERR_MALFORMED (-1)  /* the patch document itself is bad → 400 */
#define PATCH_ERR_APPLY     (-2)  /* an op failed (missing path, failed test) → 422 */
#define PATCH_ERR_TOO_MANY  (-3)  /* more than PATCH_MAX_OPS operations → 413 */
#define PATCH_MAX_OPS 10000

/* RFC 7386. Returns a new reference (never NULL for valid input). A non-object patch replaces
 * the target wholesale, as the RFC says. */
json_t *patch_merge(const json_t *target, const json_t *patch);
/* RFC 6902. On success returns 0 and *out = new reference; on error returns a PATCH_ERR_* and
 * *err = a message (malloc'ed). */
int patch_json(const json_t *target, const json_t *ops, json_t **out, char **err);
/* kube's strategic merge patch of an object of a core kind (Pod, Service, Namespace, Event):
 * lists merged by their patchMergeKey, the $patch/$retainKeys/$setElementOrder/
 * $deleteFromPrimitiveList directives carried out. 0 and *out (new reference), or a PATCH_ERR_*
 * and *err (malloc'ed). */
int patch_strategic(const json_t *target, const json_t *patch, const char *kind, json_t **out,
                    char **err);
#endif
