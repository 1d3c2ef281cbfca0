/* pki — the daemon's certificates, tokens and kubeconfig, created at first start; TLS context.
 *
 * Files under the data dir (all written to a temporary file, fsync'ed, renamed, dir fsync'ed):
 *
 *   ca.crt      self-signed CA "torchjob-ca", 10 years, CA:TRUE critical, keyCertSign+cRLSign
 *   ca.key      its ECDSA P-256 key (PKCS#8 PEM, 0600)
 *   server.crt  "torchjobd", 1 year, serverAuth, SANs 127.0.0.1 ::1 localhost <hostname>
 *   server.key  its ECDSA P-256 key (0600)
 *   tokens.csv  kube-apiserver token file, one admin line in the system:masters group (0600)
 *   kubeconfig  cluster/user/context "torchjob"/"admin"/"torchjob" (0600)
 *
 * Invariants:
 *   1. Existing server.crt + server.key are never rewritten; a missing server pair is issued from
 *      the existing CA when ca.crt + ca.key are present and match, so kubeconfigs stay valid.
 *   2. server.crt is written last: a crash part way leaves it missing and the next start redoes
 *      the work instead of serving a certificate without its key.
 *   3. Serials are 128 random bits, positive (Go rejects negative serials).
 *   4. ALPN never selects h2 (kubectl would speak HTTP/2 and fail): http/1.1 or no ALPN at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "auth.h"
#include "pki.h"

#define CA_DAYS 3650
#define SERVER_DAYS 365
#define NOT_BEFORE_SKEW_S (60 * 60) /* notBefore this far in the past, for clock skew */
#define CA_FILE_MAX (1u << 20)      /* a CA file larger than this is refused */

/* *err = the formatted message, followed by the OpenSSL error queue's first entry if any. */
static void set_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char **err, const char *fmt, ...)
{
    char msg[512], ossl[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    if (e) {
        ERR_error_string_n(e, ossl, sizeof ossl);
        ERR_clear_error();
    }
    if (err && asprintf(err, "%s%s%s", msg, ossl[0] ? ": " : "", ossl) < 0)
        *err = NULL;
}

static char *path_join(const char *dir, const char *name)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

static int file_exists(const char *dir, const char *name)
{
    char *p = path_join(dir, name);
    struct stat st;
    int ok = p && stat(p, &st) == 0;
    free(p);
    return ok;
}

/* Writes DIR/NAME atomically with MODE: temporary file, fsync, rename, fsync of DIR. */
static int write_atomic(const char *dir, const char *name, const void *data, size_t len,
                        mode_t mode, char **err)
{
    char *path = path_join(dir, name), *tmp = NULL;
    int fd = -1, rc = -1;
    if (!path || asprintf(&tmp, "%s/.%s.XXXXXX", dir, name) < 0) {
        tmp = NULL;
        set_err(err, "%s: out of memory", name);
        goto out;
    }
    if ((fd = mkstemp(tmp)) < 0) {
        set_err(err, "create %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (fchmod(fd, mode) < 0) {
        set_err(err, "chmod %s: %s", tmp, strerror(errno));
        goto out;
    }
    for (const char *p = data; len;) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            set_err(err, "write %s: %s", tmp, strerror(errno));
            goto out;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) < 0) {
        set_err(err, "fsync %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        set_err(err, "close %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        set_err(err, "rename %s: %s", path, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: some file systems refuse fsync on a directory */
        close(dfd);
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (tmp)
        unlink(tmp);
    free(tmp);
    free(path);
    return rc;
}

static int ensure_dir(const char *dir, char **err)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        set_err(err, "mkdir %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- certificates ---- */

static int set_serial(X509 *x)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return -1;
    b[sizeof b - 1] |= 1; /* never zero; BN_bin2bn is unsigned, so the serial is positive */
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

/* Adds an extension given in openssl's config syntax; issuer NULL = self-signed. */
static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    int ok = ext && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static int push_ip(GENERAL_NAMES *gens, const char *ip)
{
    ASN1_OCTET_STRING *oct = a2i_IPADDRESS(ip);
    GENERAL_NAME *g = GENERAL_NAME_new();
    if (!oct || !g || !sk_GENERAL_NAME_push(gens, g)) {
        ASN1_OCTET_STRING_free(oct);
        GENERAL_NAME_free(g);
        return -1;
    }
    GENERAL_NAME_set0_value(g, GEN_IPADD, oct);
    return 0;
}

static int push_dns(GENERAL_NAMES *gens, const char *name)
{
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();
    GENERAL_NAME *g = GENERAL_NAME_new();
    if (!s || !g || ASN1_STRING_set(s, name, -1) != 1 || !sk_GENERAL_NAME_push(gens, g)) {
        ASN1_IA5STRING_free(s);
        GENERAL_NAME_free(g);
        return -1;
    }
    GENERAL_NAME_set0_value(g, GEN_DNS, s);
    return 0;
}

/* A host name fit for a DNS SAN: letters, digits, '-' and '.', not "localhost" (already in). */
static int hostname_ok(const char *h)
{
    if (!h[0] || !strcmp(h, "localhost") || strlen(h) > 253)
        return 0;
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.'))
            return 0;
    return 1;
}

static int add_san(X509 *x)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    char host[256] = "";
    int rc = -1;
    if (!gens)
        return -1;
    if (gethostname(host, sizeof host) < 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    if (push_ip(gens, "127.0.0.1") < 0 || push_ip(gens, "::1") < 0 ||
        push_dns(gens, "localhost") < 0 || (hostname_ok(host) && push_dns(gens, host) < 0))
        goto out;
    if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
        goto out;
    rc = 0;
out:
    GENERAL_NAMES_free(gens);
    return rc;
}

/* A new certificate for key with subject CN=cn, valid from an hour ago for days. The issuer
 * name is taken from issuer (NULL = self). Extensions are added by the caller, then signed. */
static X509 *cert_new(EVP_PKEY *key, const char *cn, X509 *issuer, int days)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (!x || !name || X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x) < 0 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -NOT_BEFORE_SKEW_S) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_set_subject_name(x, name) != 1 ||
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1 ||
        X509_set_pubkey(x, key) != 1) {
        X509_NAME_free(name);
        X509_free(x);
        return NULL;
    }
    X509_NAME_free(name);
    return x;
}

static int make_ca(X509 **cert, EVP_PKEY **key)
{
    *cert = NULL;
    if (!(*key = EVP_EC_gen("P-256")))
        return -1;
    X509 *x = cert_new(*key, "torchjob-ca", NULL, CA_DAYS);
    if (!x || add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
        add_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        add_ext(x, NULL, NID_subject_key_identifier, "hash") < 0 ||
        X509_sign(x, *key, EVP_sha256()) <= 0) {
        X509_free(x);
        EVP_PKEY_free(*key);
        *key = NULL;
        return -1;
    }
    *cert = x;
    return 0;
}

static int make_server(X509 *ca, EVP_PKEY *ca_key, X509 **cert, EVP_PKEY **key)
{
    *cert = NULL;
    if (!(*key = EVP_EC_gen("P-256")))
        return -1;
    X509 *x = cert_new(*key, "torchjobd", ca, SERVER_DAYS);
    if (!x || add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        add_ext(x, ca, NID_key_usage, "critical,digitalSignature,keyEncipherment") < 0 ||
        add_ext(x, ca, NID_ext_key_usage, "serverAuth") < 0 ||
        add_ext(x, ca, NID_subject_key_identifier, "hash") < 0 ||
        add_ext(x, ca, NID_authority_key_identifier, "keyid:always") < 0 || add_san(x) < 0 ||
        X509_sign(x, ca_key, EVP_sha256()) <= 0) {
        X509_free(x);
        EVP_PKEY_free(*key);
        *key = NULL;
        return -1;
    }
    *cert = x;
    return 0;
}

/* PEM of a certificate (key NULL) or a private key (cert NULL) into a memory BIO; the caller
 * frees the BIO. */
static BIO *to_pem(X509 *cert, EVP_PKEY *key)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b && (cert ? PEM_write_bio_X509(b, cert)
                   : PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) == 1)
        return b;
    BIO_free(b);
    return NULL;
}

static int write_pem(const char *dir, const char *name, X509 *cert, EVP_PKEY *key, char **err)
{
    BIO *b = to_pem(cert, key);
    if (!b) {
        set_err(err, "%s: PEM encoding failed", name);
        return -1;
    }
    char *data;
    long len = BIO_get_mem_data(b, &data);
    int rc = write_atomic(dir, name, data, (size_t)len, key ? 0600 : 0644, err);
    BIO_free(b);
    return rc;
}

/* Loads DIR/ca.crt and DIR/ca.key if both exist and match. Returns 1 loaded, 0 absent, -1. */
static int load_ca(const char *dir, X509 **cert, EVP_PKEY **key, char **err)
{
    *cert = NULL;
    *key = NULL;
    if (!file_exists(dir, "ca.crt") || !file_exists(dir, "ca.key"))
        return 0;
    char *cp = path_join(dir, "ca.crt"), *kp = path_join(dir, "ca.key");
    FILE *cf = cp ? fopen(cp, "r") : NULL, *kf = kp ? fopen(kp, "r") : NULL;
    if (cf)
        *cert = PEM_read_X509(cf, NULL, NULL, NULL);
    if (kf)
        *key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
    int rc = 1;
    if (!*cert || !*key) {
        set_err(err, "%s: cannot read the CA certificate or key", dir);
        rc = -1;
    } else if (X509_check_private_key(*cert, *key) != 1) {
        set_err(err, "%s: ca.crt and ca.key do not match", dir);
        rc = -1;
    }
    if (cf)
        fclose(cf);
    if (kf)
        fclose(kf);
    free(cp);
    free(kp);
    if (rc < 0) {
        X509_free(*cert);
        EVP_PKEY_free(*key);
        *cert = NULL;
        *key = NULL;
    }
    return rc;
}

int pki_ensure_certs(const char *dir, char **err)
{
    if (file_exists(dir, "server.crt") && file_exists(dir, "server.key"))
        return 0;
    if (ensure_dir(dir, err) < 0)
        return -1;
    X509 *ca = NULL, *srv = NULL;
    EVP_PKEY *ca_key = NULL, *srv_key = NULL;
    int rc = -1, have = load_ca(dir, &ca, &ca_key, err);
    if (have < 0)
        goto out;
    if (!have) {
        if (make_ca(&ca, &ca_key) < 0) {
            set_err(err, "creating the CA certificate");
            goto out;
        }
        if (write_pem(dir, "ca.key", NULL, ca_key, err) < 0 ||
            write_pem(dir, "ca.crt", ca, NULL, err) < 0)
            goto out;
    }
    if (make_server(ca, ca_key, &srv, &srv_key) < 0) {
        set_err(err, "creating the server certificate");
        goto out;
    }
    if (write_pem(dir, "server.key", NULL, srv_key, err) < 0 ||
        write_pem(dir, "server.crt", srv, NULL, err) < 0)
        goto out;
    rc = 0;
out:
    X509_free(ca);
    X509_free(srv);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(srv_key);
    return rc;
}

/* ---- tokens ---- */

int pki_ensure_tokens(const char *dir, char **token, char **err)
{
    *token = NULL;
    if (!file_exists(dir, "tokens.csv")) {
        unsigned char rnd[32];
        char line[2 * sizeof rnd + 64];
        if (ensure_dir(dir, err) < 0)
            return -1;
        if (RAND_bytes(rnd, sizeof rnd) != 1) {
            set_err(err, "tokens.csv: no random bytes");
            return -1;
        }
        for (size_t i = 0; i < sizeof rnd; i++)
            snprintf(line + 2 * i, 3, "%02x", rnd[i]);
        OPENSSL_cleanse(rnd, sizeof rnd);
        size_t n = 2 * sizeof rnd;
        n += (size_t)snprintf(line + n, sizeof line - n, ",admin,admin,\"system:masters\"\n");
        int rc = write_atomic(dir, "tokens.csv", line, n, 0600, err);
        OPENSSL_cleanse(line, sizeof line);
        if (rc < 0)
            return -1;
    }
    char *path = path_join(dir, "tokens.csv");
    authn *a = NULL;
    if (!path) {
        set_err(err, "tokens.csv: out of memory");
        return -1;
    }
    int rc = authn_load(path, &a, err);
    if (rc == 0) {
        const char *t = authn_token_in_group(a, "system:masters");
        if (!t) {
            set_err(err, "%s: no token in group system:masters for the kubeconfig", path);
            rc = -1;
        } else if (!(*token = strdup(t))) {
            set_err(err, "tokens.csv: out of memory");
            rc = -1;
        }
    }
    authn_free(a);
    free(path);
    return rc;
}

/* ---- kubeconfig ---- */

/* Writes s as a YAML double-quoted scalar. */
static void yaml_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* Reads a whole file (at most CA_FILE_MAX bytes). *data is malloc'ed. */
static int slurp(const char *path, unsigned char **data, size_t *len, char **err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char *b = malloc(CA_FILE_MAX + 1);
    size_t n = b ? fread(b, 1, CA_FILE_MAX + 1, f) : 0;
    int bad = !b || ferror(f) || n > CA_FILE_MAX;
    fclose(f);
    if (bad) {
        free(b);
        set_err(err, "%s: unreadable or larger than %u bytes", path, CA_FILE_MAX);
        return -1;
    }
    *data = b;
    *len = n;
    return 0;
}

int pki_write_kubeconfig(const char *dir, const char *server_url, const char *ca_file,
                         const char *token, char **err)
{
    unsigned char *ca = NULL;
    size_t ca_len = 0;
    if (slurp(ca_file, &ca, &ca_len, err) < 0)
        return -1;
    unsigned char *b64 = malloc(4 * ((ca_len + 2) / 3) + 1);
    char *doc = NULL;
    size_t doc_len = 0;
    FILE *f = b64 ? open_memstream(&doc, &doc_len) : NULL;
    if (!f) {
        free(ca);
        free(b64);
        set_err(err, "kubeconfig: out of memory");
        return -1;
    }
    EVP_EncodeBlock(b64, ca, (int)ca_len);
    free(ca);
    fputs("apiVersion: v1\nkind: Config\nclusters:\n- name: torchjob\n  cluster:\n    server: ", f);
    yaml_quoted(f, server_url);
    fprintf(f, "\n    certificate-authority-data: %s\n", (char *)b64);
    fputs("users:\n- name: admin\n  user:\n    token: ", f);
    yaml_quoted(f, token);
    fputs("\ncontexts:\n- name: torchjob\n  context:\n    cluster: torchjob\n    user: admin\n"
          "    namespace: default\ncurrent-context: torchjob\npreferences: {}\n",
          f);
    free(b64);
    if (fclose(f) != 0 || !doc) {
        free(doc);
        set_err(err, "kubeconfig: out of memory");
        return -1;
    }
    int rc = ensure_dir(dir, err) < 0 ? -1 : write_atomic(dir, "kubeconfig", doc, doc_len, 0600, err);
    OPENSSL_cleanse(doc, doc_len);
    free(doc);
    return rc;
}

/* ---- TLS ---- */

/* ALPN: http/1.1 when the client offers it; otherwise no ALPN (never h2, see invariant 4). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    for (unsigned int i = 0; i < inlen;) {
        unsigned int n = in[i++];
        if (n > inlen - i)
            break;
        if (n == 8 && !memcmp(in + i, "http/1.1", 8)) {
            *out = in + i;
            *outlen = 8;
            return SSL_TLSEXT_ERR_OK;
        }
        i += n;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX *pki_server_ctx(const char *cert_file, const char *key_file, char **err)
{
    static const unsigned char sid_ctx[] = "torchjobd";
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        set_err(err, "SSL_CTX_new");
        return NULL;
    }
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        set_err(err, "TLS 1.2 minimum");
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        set_err(err, "%s", cert_file);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        set_err(err, "%s", key_file);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        set_err(err, "%s does not match %s", key_file, cert_file);
        goto fail;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}
