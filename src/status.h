/* status — every API error is one of these, rendered as a meta/v1 Status.
 *
 * The reasons and HTTP codes come from one table (STATUS_REASONS) so that the code and
 * the reason of an error cannot drift apart. Messages are built by the constructors below,
 * which hold the exact kube-apiserver texts. */
#ifndef TJ_STATUS_H
#define TJ_STATUS_H
#include <jansson.h>
#include "fielderr.h"

#define STATUS_REASONS(X)                                  \
    X(BAD_REQUEST, 400, "BadRequest")                      \
    X(UNAUTHORIZED, 401, "Unauthorized")                   \
    X(FORBIDDEN, 403, "Forbidden")                         \
    X(NOT_FOUND, 404, "NotFound")                          \
    X(METHOD_NOT_ALLOWED, 405, "MethodNotAllowed")         \
    X(NOT_ACCEPTABLE, 406, "NotAcceptable")                \
    X(ALREADY_EXISTS, 409, "AlreadyExists")                \
    X(CONFLICT, 409, "Conflict")                           \
    X(GONE, 410, "Gone")                                   \
    X(EXPIRED, 410, "Expired")                             \
    X(TOO_LARGE, 413, "RequestEntityTooLarge")             \
    X(UNSUPPORTED_MEDIA, 415, "UnsupportedMediaType")      \
    X(INVALID, 422, "Invalid")                             \
    X(TOO_MANY, 429, "TooManyRequests")                    \
    X(HEADERS_TOO_LARGE, 431, "RequestHeaderFieldsTooLarge") \
    X(INTERNAL, 500, "InternalError")                      \
    X(UNKNOWN, 500, "")                                    \
    X(UNAVAILABLE, 503, "ServiceUnavailable")              \
    X(TIMEOUT, 504, "Timeout")

typedef enum {
#define X(name, code, reason) ST_##name,
    STATUS_REASONS(X)
#undef X
    ST__COUNT
} status_kind;

typedef struct apierr {
    status_kind kind;
    char *message;
    int has_details;      /* emit "details" */
    char *name, *group, *dkind, *uid; /* details fields, NULL = omitted */
    json_t *causes;       /* details.causes, owned, NULL = omitted */
    int retry_after;      /* details.retryAfterSeconds, 0 = omitted */
    char *continue_tok;   /* metadata.continue for 410 on lists */
} apierr;

int status_code(status_kind k);
const char *status_reason(status_kind k);

/* Fill e (zeroed first) with kind and a printf message. */
void apierr_set(apierr *e, status_kind k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void apierr_details(apierr *e, const char *name, const char *group, const char *kind, const char *uid);
void apierr_free(apierr *e);

/* Common constructors with kube's exact texts. gr = "pytorchjobs.kubeflow.org" or "pods";
 * group = "kubeflow.org" or ""; resource = "pytorchjobs". */
void apierr_not_found(apierr *e, const char *gr, const char *group, const char *resource, const char *name);
void apierr_already_exists(apierr *e, const char *gr, const char *group, const char *resource,
                           const char *name, int terminating);
void apierr_conflict_modified(apierr *e, const char *gr, const char *group, const char *resource,
                              const char *name);
/* 422: "<qualified> \"<name>\" is invalid: <aggregate>", details {name?, group, kind, causes}.
 * qualified = "PyTorchJob.kubeflow.org" (GK) or "DeleteOptions.meta.k8s.io"; name may be "". */
void apierr_invalid(apierr *e, const char *qualified, const char *name, const char *group,
                    const char *kind, const fielderrs *errs);
void apierr_method_not_allowed(apierr *e, const char *verb, const char *gr, const char *group,
                               const char *resource);
void apierr_unsupported_patch(apierr *e);
void apierr_internal(apierr *e, const char *msg);

/* The Status object for an error; new reference. Keys in kube's fixed order. */
json_t *status_json(const apierr *e);
/* The Success Status for an immediate delete; new reference. */
json_t *status_success_json(const char *name, const char *group, const char *kind, const char *uid);
#endif
