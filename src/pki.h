/* pki — the daemon's certificates, tokens and kubeconfig, created at first start; TLS context. */
#ifndef TJ_PKI_H
#define TJ_PKI_H
#include <openssl/ssl.h>

/* Create DIR/ca.crt, DIR/ca.key, DIR/server.crt, DIR/server.key if missing (ECDSA P-256;
 * server SANs 127.0.0.1, ::1, localhost and hostname). Keys 0600. Returns 0 or -1 with *err. */
int pki_ensure_certs(const char *dir, char **err);
/* Create DIR/tokens.csv with one admin line `<token>,admin,admin,"system:masters"` (token:
 * 32 random bytes hex) if the file is missing. *token = the admin token (the first line whose
 * groups include system:masters). Returns 0 or -1 with *err. */
int pki_ensure_tokens(const char *dir, char **token, char **err);
/* Write DIR/kubeconfig: cluster "torchjob" (server, certificate-authority-data = base64 of
 * ca_file), user "admin" (token), context "torchjob" (namespace default), current-context. */
int pki_write_kubeconfig(const char *dir, const char *server_url, const char *ca_file,
                         const char *token, char **err);
/* Server TLS context: TLS 1.2+, ALPN selects http/1.1 only (never h2). */
SSL_CTX *pki_server_ctx(const char *cert_file, const char *key_file, char **err);
#endif
