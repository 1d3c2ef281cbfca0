/* auth — authentication by bearer token (kube-apiserver's --token-auth-file format). */
#ifndef TJ_AUTH_H
#define TJ_AUTH_H
#include <stddef.h>

typedef struct auth_user {
    char *name;
    char *uid;
    char **groups;    /* includes system:authenticated / system:unauthenticated */
    size_t ngroups;
} auth_user;

typedef struct authn authn;
/* Parse a token file: `token,user,uid[,"g1,g2"]` per line; <3 columns → error; empty token
 * skipped; duplicate token → later wins. Returns 0 or -1 with *err (malloc'ed). */
int authn_load(const char *path, authn **out, char **err);
/* authorization: the Authorization header value or NULL. Returns 0 and *user (borrowed,
 * lives as long as a) for a known token or for no credentials (system:anonymous, group
 * system:unauthenticated); -1 for a presented but unknown token (→ 401). Tokens compared in
 * constant time. Scheme "Bearer" case-insensitive; an empty token counts as none. */
int authn_authenticate(const authn *a, const char *authorization, const auth_user **user);
int auth_user_in_group(const auth_user *u, const char *group);
/* The token of the first record (file order; a duplicate token takes its later line) whose
 * groups include group, or NULL. Borrowed, lives as long as a. */
const char *authn_token_in_group(const authn *a, const char *group);
void authn_free(authn *a);
#endif
