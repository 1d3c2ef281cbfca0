/* protobuf — the Kubernetes protobuf encoding (application/vnd.kubernetes.protobuf) of the few
 * kinds a client sends that way to this server: kubectl's typed clients POST the self reviews
 * (SelfSubjectAccessReview, SelfSubjectRulesReview, SelfSubjectReview) as protobuf. */
#ifndef TJ_PROTOBUF_H
#define TJ_PROTOBUF_H
#include <stddef.h>
#include <jansson.h>

#define PROTOBUF_MEDIA_TYPE "application/vnd.kubernetes.protobuf"

/* Decode a body: the "k8s\0" magic, the runtime.Unknown envelope, then the object of the kind it
 * names, into the JSON object the same request in JSON would have carried (apiVersion, kind,
 * then the fields; zero times as null). Returns 0 and *out (new reference), or -1 and *err
 * (malloc'ed) for a body that is not that, or a kind not known here. */
int protobuf_decode(const void *data, size_t len, json_t **out, char **err);
#endif
