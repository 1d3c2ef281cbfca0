/* podlog — pod logs over HTTP: GET …/pods/{pod}/log (container, follow, tailLines, timestamps,
 * sinceSeconds, sinceTime, previous, limitBytes) and GET …/pytorchjobs/{job}/log?pod=…, which
 * serves a job's pod logs after the pods are gone, until the job itself is deleted. */
#ifndef TJ_PODLOG_H
#define TJ_PODLOG_H
#include "api.h"

void podlog_serve(apireq *r);
void podlog_serve_job(apireq *r);
#endif
