/* watch — watch streams over the store's change feed: one JSON event per line, chunked.
 * Events are encoded once per change and the same bytes go to every matching watcher. */
#ifndef TJ_WATCH_H
#define TJ_WATCH_H
#include "api.h"
#include "selector.h"

watch_hub *watch_hub_new(api_t *api);
void watch_hub_free(watch_hub *w);
/* Start a watch for r (collection of r->res in r->ns; r->name set = one object). Takes ownership
 * of ls and fs. rv: the resourceVersion parameter or NULL; initial: sendInitialEvents (-1 unset,
 * 0, 1). Answers r->http (stream or error). */
void watch_start(watch_hub *w, apireq *r, labelsel *ls, fieldsel *fs, const char *rv, int initial);
size_t watch_count(const watch_hub *w);
void watch_set_bookmark_interval(watch_hub *w, unsigned ms);
/* Metrics collector: +1 per open watch, labelled like apiserver_longrunning_requests. */
typedef struct metrics_sink metrics_sink;
void watch_collect(watch_hub *w, metrics_sink *sink);
#endif
