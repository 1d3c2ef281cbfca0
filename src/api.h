/* api — the Kubernetes API verbs over the store: the request entry point, routing, authn/authz,
 * get/list (api.c), create/update/patch (api_write.c), the scale subresource (api_scale.c),
 * delete/deletecollection (api_delete.c). Everything runs on the loop thread. */
#ifndef TJ_API_H
#define TJ_API_H
#include <stdint.h>
#include <time.h>
#include <jansson.h>
#include "http.h"
#include "store.h"
#include "auth.h"
#include "resource.h"
#include "status.h"
#include "selector.h"
#include "table.h"

typedef struct watch_hub watch_hub;
typedef struct gc gc_t;
typedef struct kubelet kubelet_t;
typedef struct tj_metrics tj_metrics;
typedef struct svcalloc svcalloc_t;

typedef struct api {
    uv_loop_t *loop;
    store_t *store;
    authn *authn;
    watch_hub *watch;
    gc_t *gc;
    kubelet_t *kubelet;
    struct podexec *exec; /* pods/exec sessions */
    tj_metrics *metrics;
    svcalloc_t *svcalloc; /* services' cluster IPs and node ports */
    uint64_t requests;
} api_t;

/* One parsed API request (after routing). */
typedef struct apireq {
    api_t *api;
    http_req *http;
    const auth_user *user;
    const resource *res;
    char *ns;             /* "" when none */
    char *name;           /* NULL for collections */
    char *sub;            /* subresource or NULL */
    unsigned verb;        /* VERB_* */
    int pretty;           /* pretty=true/false or User-Agent rule */
    char *headers;        /* extra response headers ("Warning: 299 - ...\r\n"), or NULL */
} apireq;

/* The http handler: api_t is ctx. */
void api_handle(void *ctx, http_req *req);
/* http_server_on_prepare's hook: decodes JSON bodies of creates and updates off the loop. */
void api_prepare(void *ctx, http_req *req);
/* The http handled hook: the turn's writes go to the store's writer now, while their answers
 * and everything else of the turn are still to be sent. */
void api_handled(void *ctx);
/* The http done hook: records the request's metrics. */
void api_request_done(void *ctx, http_req *req);

/* --- shared between the api_*.c files --- */
void api_send_json(apireq *r, int code, json_t *obj, int sorted);   /* steals obj */
void api_send_bytes(apireq *r, int code, const char *data, size_t len); /* stored JSON bytes */
void api_send_error(apireq *r, apierr *e);                         /* frees e */
/* Add a `Warning: 299 - "text"` header to r's answer. */
void api_warn(apireq *r, const char *text);
void api_key(char *buf, size_t cap, const resource *res, const char *ns, const char *name);
/* The committed object r names (new reference), or NULL once its 404 is answered. */
json_t *api_read_object(apireq *r);
int api_query_bool(const char *v);  /* kube truthiness: absent=0, ""=1, "0"/"false"=0, else 1 */
/* dryRun values: 0 ok (*dry = 1 when All), -1 invalid (fills fielderrs). */
int api_dry_run(char **vals, size_t n, int *dry, fielderrs *fe);
char *api_now_rfc3339(void);
char *api_rfc3339(time_t t);           /* "2026-01-02T03:04:05Z", malloc'ed */
time_t api_parse_rfc3339(const char *s); /* 0 when unparseable */
void api_new_uid(char out[37]);
/* Content-Type ct is the media type want (parameters after ';' ignored, case-insensitive). */
int api_media_is(const char *ct, const char *want);
/* arr (a JSON array) holds the string s. */
int api_str_in(const json_t *arr, const char *s);
/* The request body as JSON (YAML for application/yaml and apply-patch+yaml); 0, or -1 with
 * *err (malloc'ed decoder text). */
int api_body_json(http_req *h, json_t **out, char **err);
/* The keys the request's JSON body repeated (kube's "duplicate field" paths, in the body's
 * order), moved to *out (empty when none, or when taken already: they are reported once). */
struct fieldpaths;
void api_take_body_dups(http_req *h, struct fieldpaths *out);
/* Parse a request body as a JSON object for create/update; 0 or -1 with e set (400/415). */
/* A body of a built-in kind whose values do not fit its Go struct (labels, annotations, a
 * service's selector and port, a pod's nodeSelector): -1 and Go's json error in msg. */
int api_core_type_error(const resource *res, const json_t *obj, char *msg, size_t cap);
int api_decode_body(apireq *r, json_t **out, apierr *e, int for_patch);
/* The options (dryRun, fieldManager, fieldValidation, checked as kube's optkind) and the typed
 * body (kind and apiVersion defaulted from the URL, then checked) of a POST or PUT: 0 with *dry
 * and *obj (new reference), or -1 after answering. */
int api_typed_request(apireq *r, const char *optkind, int *dry, json_t **obj);
/* A POST of a self review (r->res->ephemeral): answered from the authorizer, nothing stored
 * (api_review.c). */
void api_review(apireq *r);
/* Is the namespace present and not terminating? 0 ok; -1 sets 404/403 into e. */
int api_check_namespace(apireq *r, const char *verb_for_msg, const char *name, apierr *e);

/* Does r ask for a Table? (*inc: includeObject) */
int api_table_wanted(apireq *r, table_include *inc);
void api_get(apireq *r);
void api_list(apireq *r);
void api_create(apireq *r);
void api_update(apireq *r);
void api_patch(apireq *r);
void api_delete(apireq *r);
void api_deletecollection(apireq *r);

/* The single-object delete algorithm (spec §3.3), shared by delete, deletecollection, gc. */
typedef struct delopts {
    int has_grace; int64_t grace;
    int has_orphan; int orphan;
    int has_policy; char policy[16];
    int dry_run;
    char *pre_uid, *pre_rv;
} delopts;

/* Write obj (stolen; NULL = delete) under key and answer once it is durable: with the stored
 * bytes (reply NULL) or with reply (stolen). code: HTTP status of the answer. Returns the revision. */
uint64_t api_write_respond(apireq *r, const char *key, json_t *obj, int code, json_t *reply, int reply_sorted);
/* The same, answering with body (stolen: malloc'ed compact JSON, len bytes) once it is durable. */
uint64_t api_write_respond_bytes(apireq *r, const char *key, json_t *obj, int code, char *body, size_t len);
/* The stored object of a record, parsed; new reference. */
json_t *api_rec_json(const store_rec *rec);
/* The live object stored under key, parsed; NULL when there is none (or only its tombstone). */
json_t *api_stored_json(api_t *api, const char *key);
/* A create made ready off the loop (api_write.c): api_precreate_new runs, on any thread, the
 * create's rules that need nothing but the request, for a POST of obj (stolen) into res's
 * collection in ns; NULL when the request is left to the ordinary path (it would fail one of
 * them, or is a dry run or has a generated name). api_create uses it when the request routes to
 * that collection. */
typedef struct api_precreate api_precreate;
api_precreate *api_precreate_new(api_t *api, const http_req *h, const resource *res,
                                 const char *ns, json_t *obj);
void api_precreate_free(api_precreate *pc);
/* The request's prepared create (taken: the caller frees it), or NULL. */
api_precreate *api_take_precreate(http_req *h);
/* Create obj (stolen) in r's collection: the POST algorithm, shared with apply-on-missing. */
void api_do_create(apireq *r, json_t *obj, int dry);
/* The validation a POST of obj into res's collection gets (ObjectMeta, the kind's own checks,
 * the PyTorchJob webhook), for a writer inside the server (the job controller): 0, or -1 with e
 * set to the error the POST would answer (422 "Pod \"x\" is invalid: …", or the webhook's 403).
 * Warnings are dropped. obj gets what a POST's object gets first: kube's defaulting and the new
 * status (a pod's spec defaults, node and Pending; a service's), a PyTorchJob the schema's. */
int api_validate_create(const resource *res, json_t *obj, apierr *e);
/* The update algorithm shared by PUT, PATCH and the status subresource: new_obj (stolen) is the
 * desired object; old the current record. */
void api_do_update(apireq *r, const store_rec *old, json_t *new_obj, int dry, int rv_required);

/* The scale subresource (api_scale.c) of a resource with res->scale. */
/* obj's autoscaling/v1 Scale (new reference; *found: the spec replicas path holds a value, found
 * may be NULL), or NULL with *err (malloc'ed) where a path crosses a value of the wrong type. */
json_t *api_scale_of(const resource *res, const json_t *obj, int *found, char **err);
/* The Scale a PATCH applies to (absent spec replicas marked), or NULL with e. New reference. */
json_t *api_scale_for_patch(const resource *res, const json_t *obj, apierr *e);
void api_scale_get(apireq *r);
/* A Scale body decoded as kube decodes it (400 for a wrong kind or type): 0 and *replicas, or -1
 * with e. */
int api_scale_decode(const json_t *scale, int64_t *replicas, apierr *e);
/* The object a write of scale (a Scale body, or a patched Scale) asks for: cur (the stored
 * object) with the spec replicas set and the Scale's preconditions; new reference, or NULL with
 * e (400, or 500). is_put: the Scale's uid is a precondition too. */
json_t *api_scale_apply(apireq *r, const json_t *cur, const json_t *scale, int is_put, apierr *e);
/* ValidateScaleSpec (spec) and ValidateScaleStatus (status) of obj into fe. */
void api_scale_validate(const resource *res, const json_t *obj, int spec, int status,
                        fielderrs *fe);

/* ListOptions shared by LIST, WATCH and DELETECOLLECTION (validated as kube's). */
typedef struct listopts {
    labelsel *ls;
    fieldsel *fs;
    long long limit;
    char *cont;
    char *rv;
    char *rvmatch;
    int watch;
    int initial;          /* sendInitialEvents: -1 unset, 0 false, 1 true (watch only) */
} listopts;
int api_listopts_parse(apireq *r, listopts *o, apierr *e);
/* kube's continue token for a list at rv resuming after key suffix start (malloc'ed), and back. */
char *api_make_continue(uint64_t rv, const char *start);
int api_parse_continue(const char *tok, uint64_t *rv, char **start, apierr *e);
void api_continue_expired(apireq *r, const char *start, apierr *e);
void api_listopts_free(listopts *o);
int api_rec_matches(const store_rec *rec, const labelsel *ls, const fieldsel *fs);

int api_delopts_parse(apireq *r, delopts *o, apierr *e);
void api_delopts_free(delopts *o);
enum { DEL_NOTHING, DEL_UPDATE, DEL_REMOVE };
/* Decide what deleting rec with o means (spec §3.3): *obj = the object to answer with (new
 * reference), *write = DEL_*. Returns 0, or -1 with e (409 preconditions). */
int api_delete_decide(const resource *res, const store_rec *rec, const delopts *o, json_t **obj,
                      int *write, apierr *e);
#endif
