/* gc — the garbage collector and the namespace controller, on the loop.
 *
 * Objects being deleted with a GC finalizer (`orphan`, `foregroundDeletion`) have it removed
 * once their dependents are handled (none exist until the job controller creates pods); an
 * object whose last finalizer goes away is removed. A terminating namespace has its contents
 * deleted (background) and disappears once empty. */
#ifndef TJ_GC_H
#define TJ_GC_H
#include "api.h"

gc_t *gc_new(api_t *api);
void gc_free(gc_t *g);
/* DELETE of a namespace: mark it Terminating (or 403 for default/kube-system) and answer r. */
void gc_delete_namespace(apireq *r, const store_rec *rec, const delopts *o);
/* The grace period a DELETE gave an owner: its dependents' processes get it (a later DELETE may
 * only shorten it). */
void gc_note_grace(gc_t *g, const char *uid, int64_t grace);
#endif
