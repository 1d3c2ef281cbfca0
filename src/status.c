/* status — API errors as meta/v1 Status objects (see status.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "status.h"

static const struct { int code; const char *reason; } table[] = {
#define X(name, code, reason) {code, reason},
    STATUS_REASONS(X)
#undef X
};

int status_code(status_kind k) { return table[k].code; }
const char *status_reason(status_kind k) { return table[k].reason; }

static char *vfmt(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    return s;
}


static char *dup0(const char *s) { return s ? strdup(s) : NULL; }

void apierr_set(apierr *e, status_kind k, const char *f, ...)
{
    apierr_free(e);
    e->kind = k;
    va_list ap;
    va_start(ap, f);
    e->message = vfmt(f, ap);
    va_end(ap);
}

void apierr_details(apierr *e, const char *name, const char *group, const char *kind, const char *uid)
{
    e->has_details = 1;
    free(e->name); free(e->group); free(e->dkind); free(e->uid);
    e->name = dup0(name && *name ? name : NULL);
    e->group = dup0(group && *group ? group : NULL);
    e->dkind = dup0(kind && *kind ? kind : NULL);
    e->uid = dup0(uid && *uid ? uid : NULL);
}

void apierr_free(apierr *e)
{
    free(e->message); free(e->name); free(e->group); free(e->dkind); free(e->uid);
    free(e->continue_tok);
    json_decref(e->causes);
    memset(e, 0, sizeof *e);
}

void apierr_not_found(apierr *e, const char *gr, const char *group, const char *resource, const char *name)
{
    apierr_set(e, ST_NOT_FOUND, "%s \"%s\" not found", gr, name);
    apierr_details(e, name, group, resource, NULL);
}

void apierr_already_exists(apierr *e, const char *gr, const char *group, const char *resource,
                           const char *name, int terminating)
{
    apierr_set(e, ST_ALREADY_EXISTS, "%s%s \"%s\" already exists",
               terminating ? "object is being deleted: " : "", gr, name);
    apierr_details(e, name, group, resource, NULL);
}

void apierr_conflict_modified(apierr *e, const char *gr, const char *group, const char *resource,
                              const char *name)
{
    apierr_set(e, ST_CONFLICT,
               "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please "
               "apply your changes to the latest version and try again", gr, name);
    apierr_details(e, name, group, resource, NULL);
}

void apierr_invalid(apierr *e, const char *qualified, const char *name, const char *group,
                    const char *kind, const fielderrs *errs)
{
    char *agg = fe_aggregate(errs);
    apierr_set(e, ST_INVALID, "%s \"%s\" is invalid: %s", qualified, name ? name : "", agg);
    free(agg);
    apierr_details(e, name, group, kind, NULL);
    e->causes = fe_causes(errs);
}

void apierr_method_not_allowed(apierr *e, const char *verb, const char *gr, const char *group,
                               const char *resource)
{
    apierr_set(e, ST_METHOD_NOT_ALLOWED, "%s is not supported on resources of kind \"%s\"", verb, gr);
    apierr_details(e, NULL, group, resource, NULL);
}

void apierr_unsupported_patch(apierr *e)
{
    apierr_set(e, ST_UNSUPPORTED_MEDIA,
               "the body of the request was in an unknown format - accepted media types include: "
               "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
}

void apierr_internal(apierr *e, const char *msg)
{
    apierr_set(e, ST_INTERNAL, "Internal error occurred: %s", msg);
    apierr_details(e, NULL, NULL, NULL, NULL);
    e->causes = json_pack("[{s:s}]", "message", msg);
}

/* Status keeps kube's struct field order, so it is built with JSON_PRESERVE_ORDER in mind:
 * callers dump it without JSON_SORT_KEYS. */
json_t *status_json(const apierr *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("Status"));
    json_object_set_new(o, "apiVersion", json_string("v1"));
    json_t *md = json_object();
    if (e->continue_tok)
        json_object_set_new(md, "continue", json_string(e->continue_tok));
    json_object_set_new(o, "metadata", md);
    json_object_set_new(o, "status", json_string("Failure"));
    if (e->message && *e->message)
        json_object_set_new(o, "message", json_string(e->message));
    if (*table[e->kind].reason)
        json_object_set_new(o, "reason", json_string(table[e->kind].reason));
    if (e->has_details) {
        json_t *d = json_object();
        if (e->name) json_object_set_new(d, "name", json_string(e->name));
        if (e->group) json_object_set_new(d, "group", json_string(e->group));
        if (e->dkind) json_object_set_new(d, "kind", json_string(e->dkind));
        if (e->uid) json_object_set_new(d, "uid", json_string(e->uid));
        if (e->causes) json_object_set(d, "causes", e->causes);
        if (e->retry_after) json_object_set_new(d, "retryAfterSeconds", json_integer(e->retry_after));
        json_object_set_new(o, "details", d);
    }
    json_object_set_new(o, "code", json_integer(table[e->kind].code));
    return o;
}

json_t *status_success_json(const char *name, const char *group, const char *kind, const char *uid)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("Status"));
    json_object_set_new(o, "apiVersion", json_string("v1"));
    json_object_set_new(o, "metadata", json_object());
    json_object_set_new(o, "status", json_string("Success"));
    json_t *d = json_object();
    if (name && *name) json_object_set_new(d, "name", json_string(name));
    if (group && *group) json_object_set_new(d, "group", json_string(group));
    if (kind && *kind) json_object_set_new(d, "kind", json_string(kind));
    if (uid && *uid) json_object_set_new(d, "uid", json_string(uid));
    json_object_set_new(o, "details", d);
    return o;
}
