/* kubepb — Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf) decoded into
 * the JSON object the same Go object would have been sent as, so the JSON create/update path
 * runs on it unchanged. kubectl's typed clients send `kubectl create namespace` and `kubectl
 * create service …` this way and do not fall back to JSON after a 415 (client-compat.md).
 *
 * Only decoding, only the kinds kubectl sends this way to this server: core/v1 Namespace and
 * Service, and the self reviews of `kubectl auth can-i` / `whoami` (authorization/v1
 * SelfSubjectAccessReview and SelfSubjectRulesReview, authentication/v1 SelfSubjectReview).
 * Answers stay JSON and nothing advertises protobuf. The body is untrusted: every length is
 * checked against the buffer, nesting is capped, unknown fields are skipped by wire type. */
#ifndef TJ_KUBEPB_H
#define TJ_KUBEPB_H
#include <stddef.h>
#include <jansson.h>

#define KUBEPB_MEDIA "application/vnd.kubernetes.protobuf"

/* buf: the 4-byte magic "k8s\0", then a runtime.Unknown {typeMeta{apiVersion, kind}, raw,
 * contentEncoding, contentType} whose raw is the object's message. On success *out is a new JSON
 * object {"kind", "apiVersion", "metadata", "spec", "status"} holding what encoding/json would
 * write for the decoded Go struct (omitempty zero values left out, pointers kept when set; a
 * zero metav1.Time is left out rather than null). Returns 0; -EINVAL for a malformed body;
 * -ENOTSUP for a well-formed envelope of a type this module does not decode. On error *err is
 * a malloc'ed message (Go protobuf's wording where there is one), owned by the caller. */
int kubepb_decode(const void *buf, size_t len, json_t **out, char **err);

/* Does kubepb_decode decode this apiVersion and kind? */
int kubepb_decodes(const char *api_version, const char *kind);
#endif
