/* discovery — /api, /apis, /apis/<group>[/<version>], /version and /openapi/v3 documents,
 * generated from the resource table once at start and served as stored bytes. */
#ifndef TJ_DISCOVERY_H
#define TJ_DISCOVERY_H
#include <stddef.h>

typedef struct discovery_doc {
    int status;             /* 200, or 404 */
    const char *ctype;      /* Content-Type */
    const char *body;       /* borrowed; valid until discovery_free */
    size_t len;
} discovery_doc;

/* Build every document. server_addr: "127.0.0.1:6443" (for serverAddressByClientCIDRs). */
int discovery_init(const char *server_addr);
/* If path (without query) is a discovery/version/openapi path, fill *doc and return 1; else 0.
 * accept: the request's Accept header (may be NULL); it chooses aggregated (v2 or v2beta1, when
 * it carries as=APIGroupDiscoveryList) or legacy answers for /api and /apis. /openapi/v2 → 404
 * (doc->status 404, plain text "404 page not found"). */
int discovery_lookup(const char *path, const char *accept, discovery_doc *doc);
void discovery_free(void);
#endif
