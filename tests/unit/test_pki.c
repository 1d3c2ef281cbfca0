/* Unit tests for src/pki.c: certificates, tokens file, kubeconfig, TLS context and ALPN. */
#include "unit.h"
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "pki.h"

static char dir[64];

static int setup(void **state)
{
    strcpy(dir, "/tmp/test_pki.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *path_of(const char *name)
{
    static char p[4][128];
    static int i;
    char *s = p[i++ % 4];
    snprintf(s, sizeof p[0], "%s/%s", dir, name);
    return s;
}

/* Whole file as a NUL-terminated string (malloc'ed). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return s;
}

static X509 *read_cert(const char *name)
{
    FILE *f = fopen(path_of(name), "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    return x;
}

static mode_t mode_of(const char *name)
{
    struct stat st;
    assert_int_equal(stat(path_of(name), &st), 0);
    return st.st_mode & 07777;
}

static void ensure_certs(void)
{
    char *err = NULL;
    int rc = pki_ensure_certs(dir, &err);
    if (rc)
        fail_msg("pki_ensure_certs: %s", err ? err : "(null)");
}

static void test_certs_created(void **state)
{
    ensure_certs();
    assert_int_equal(mode_of("ca.key"), 0600);
    assert_int_equal(mode_of("server.key"), 0600);
    assert_int_equal(mode_of("ca.crt"), 0644);
    assert_int_equal(mode_of("server.crt"), 0644);

    /* a second call rewrites nothing */
    char *crt = slurp(path_of("server.crt"), NULL), *key = slurp(path_of("server.key"), NULL);
    struct stat before, after;
    assert_int_equal(stat(path_of("server.crt"), &before), 0);
    ensure_certs();
    assert_int_equal(stat(path_of("server.crt"), &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    char *crt2 = slurp(path_of("server.crt"), NULL), *key2 = slurp(path_of("server.key"), NULL);
    assert_string_equal(crt, crt2);
    assert_string_equal(key, key2);
    free(crt2);
    free(key2);

    /* no temporary files left behind */
    char cmd[160];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s | grep '^\\.')\"", dir);
    assert_int_equal(system(cmd), 0);

    /* a lost server pair is issued again by the same CA */
    char *ca = slurp(path_of("ca.crt"), NULL);
    assert_int_equal(unlink(path_of("server.crt")), 0);
    ensure_certs();
    char *ca2 = slurp(path_of("ca.crt"), NULL), *crt3 = slurp(path_of("server.crt"), NULL);
    assert_string_equal(ca, ca2);
    assert_string_not_equal(crt, crt3);
    free(ca);
    free(ca2);
    free(crt3);
    free(crt);
    free(key);
}

static void assert_p256(X509 *x)
{
    EVP_PKEY *k = X509_get0_pubkey(x);
    char group[64];
    size_t n = 0;
    assert_non_null(k);
    assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
    assert_int_equal(EVP_PKEY_get_group_name(k, group, sizeof group, &n), 1);
    assert_string_equal(group, "prime256v1");
}

static void test_chain_verifies(void **state)
{
    ensure_certs();
    X509 *ca = read_cert("ca.crt"), *srv = read_cert("server.crt");

    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_int_equal(X509_STORE_add_cert(store, ca), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, srv, NULL), 1);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_X509_STRICT);
    int ok = X509_verify_cert(ctx);
    if (ok != 1)
        fail_msg("verify: %s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);

    /* CA and server shapes */
    assert_int_equal(X509_check_ca(ca), 1);
    assert_int_equal(X509_check_ca(srv), 0);
    assert_true(X509_get_extension_flags(ca) & EXFLAG_SS);
    assert_true(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
    assert_true(X509_get_key_usage(ca) & KU_CRL_SIGN);
    assert_non_null(X509_get0_subject_key_id(ca));
    assert_true(X509_get_extended_key_usage(srv) & XKU_SSL_SERVER);
    assert_true(X509_get_key_usage(srv) & KU_DIGITAL_SIGNATURE);
    assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(srv),
                                           X509_get0_subject_key_id(ca)),
                     0);
    assert_p256(ca);
    assert_p256(srv);
    char cn[64];
    X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof cn);
    assert_string_equal(cn, "torchjob-ca");
    X509_NAME_get_text_by_NID(X509_get_subject_name(srv), NID_commonName, cn, sizeof cn);
    assert_string_equal(cn, "torchjobd");

    /* serial: positive, random 128 bits */
    const ASN1_INTEGER *serial = X509_get0_serialNumber(srv);
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    assert_false(BN_is_negative(bn));
    assert_true(BN_num_bits(bn) > 96 && BN_num_bits(bn) <= 128);
    BN_free(bn);

    /* validity: started in the past, about a year / ten years long */
    int days = 0, secs = 0;
    assert_true(X509_cmp_current_time(X509_get0_notBefore(srv)) < 0);
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(srv), X509_get0_notAfter(srv)), 1);
    assert_true(days >= 365 && days <= 366);
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(ca), X509_get0_notAfter(ca)), 1);
    assert_true(days >= 3650 && days <= 3651);

    /* SANs */
    assert_int_equal(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "::1", 0), 1);
    assert_int_equal(X509_check_host(srv, "localhost", 0, 0, NULL), 1);
    char host[256] = "";
    gethostname(host, sizeof host);
    if (host[0] && strcmp(host, "localhost") && !strpbrk(host, "_ "))
        assert_int_equal(X509_check_host(srv, host, 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(srv, "example.com", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ip_asc(srv, "10.0.0.1", 0), 0);

    X509_free(ca);
    X509_free(srv);
}

static void test_chain_openssl_cli(void **state)
{
    ensure_certs();
    char cmd[256];
    snprintf(cmd, sizeof cmd, "openssl verify -purpose sslserver -CAfile %s %s >/dev/null",
             path_of("ca.crt"), path_of("server.crt"));
    if (system("command -v openssl >/dev/null") == 0)
        assert_int_equal(system(cmd), 0);
    /* Python's ssl: the chain and the host name, as a client would check them */
    if (access("/usr/bin/python3", X_OK) == 0) {
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c 'import ssl,sys; c=ssl.create_default_context(cafile=sys.argv[1]);"
                 " c.load_cert_chain(sys.argv[2], sys.argv[3])' %s %s %s",
                 path_of("ca.crt"), path_of("server.crt"), path_of("server.key"));
        assert_int_equal(system(cmd), 0);
    }
}

static void test_tokens(void **state)
{
    char *token = NULL, *err = NULL;
    assert_int_equal(pki_ensure_tokens(dir, &token, &err), 0);
    assert_non_null(token);
    assert_int_equal(strlen(token), 64);
    assert_int_equal(strspn(token, "0123456789abcdef"), 64);
    assert_int_equal(mode_of("tokens.csv"), 0600);
    char *file = slurp(path_of("tokens.csv"), NULL), want[128];
    snprintf(want, sizeof want, "%s,admin,admin,\"system:masters\"\n", token);
    assert_string_equal(file, want);
    free(file);

    /* re-read: the same token */
    char *again = NULL;
    assert_int_equal(pki_ensure_tokens(dir, &again, &err), 0);
    assert_string_equal(token, again);
    free(again);
    free(token);

    /* an operator's file: the first record in system:masters */
    FILE *f = fopen(path_of("tokens.csv"), "w");
    fputs("view,bob,1,\"viewers\"\nroot-tok,root,2,\"ops,system:masters\"\nlast,x,3,system:masters\n", f);
    fclose(f);
    assert_int_equal(pki_ensure_tokens(dir, &token, &err), 0);
    assert_string_equal(token, "root-tok");
    free(token);

    /* none in system:masters, or a broken file → error */
    f = fopen(path_of("tokens.csv"), "w");
    fputs("view,bob,1,\"viewers\"\n", f);
    fclose(f);
    assert_int_equal(pki_ensure_tokens(dir, &token, &err), -1);
    assert_null(token);
    assert_non_null(err);
    free(err);
    err = NULL;
    f = fopen(path_of("tokens.csv"), "w");
    fputs("short,line\n", f);
    fclose(f);
    assert_int_equal(pki_ensure_tokens(dir, &token, &err), -1);
    assert_non_null(strstr(err, "line 1"));
    free(err);
}

static void test_kubeconfig(void **state)
{
    ensure_certs();
    char *err = NULL;
    int rc = pki_write_kubeconfig(dir, "https://127.0.0.1:6443", path_of("ca.crt"), "tok\"en", &err);
    if (rc)
        fail_msg("pki_write_kubeconfig: %s", err);
    assert_int_equal(mode_of("kubeconfig"), 0600);

    size_t ca_len;
    char *ca = slurp(path_of("ca.crt"), &ca_len);
    unsigned char *b64 = malloc(4 * ((ca_len + 2) / 3) + 1);
    EVP_EncodeBlock(b64, (unsigned char *)ca, (int)ca_len);
    char *want = NULL;
    assert_true(asprintf(&want,
                         "apiVersion: v1\n"
                         "kind: Config\n"
                         "clusters:\n"
                         "- name: torchjob\n"
                         "  cluster:\n"
                         "    server: \"https://127.0.0.1:6443\"\n"
                         "    certificate-authority-data: %s\n"
                         "users:\n"
                         "- name: admin\n"
                         "  user:\n"
                         "    token: \"tok\\\"en\"\n"
                         "contexts:\n"
                         "- name: torchjob\n"
                         "  context:\n"
                         "    cluster: torchjob\n"
                         "    user: admin\n"
                         "    namespace: default\n"
                         "current-context: torchjob\n"
                         "preferences: {}\n",
                         (char *)b64) > 0);
    char *got = slurp(path_of("kubeconfig"), NULL);
    assert_string_equal(got, want);
    free(got);
    free(want);
    free(b64);
    free(ca);

    /* parses as YAML to the same values, when PyYAML is at hand */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import yaml' 2>/dev/null || exit 0; /usr/bin/python3 -c '"
             "import yaml,sys,base64; d=yaml.safe_load(open(sys.argv[1])); "
             "c=d[\"clusters\"][0][\"cluster\"]; "
             "assert base64.b64decode(c[\"certificate-authority-data\"])==open(sys.argv[2],\"rb\").read(); "
             "assert d[\"users\"][0][\"user\"][\"token\"]==\"tok\\\"en\"; "
             "assert d[\"contexts\"][0][\"context\"][\"namespace\"]==\"default\"' %s %s",
             path_of("kubeconfig"), path_of("ca.crt"));
    assert_int_equal(system(cmd), 0);

    assert_int_equal(pki_write_kubeconfig(dir, "https://x", "/nonexistent/ca.crt", "t", &err), -1);
    assert_non_null(err);
    free(err);
}

/* ---- TLS over an in-memory BIO pair ---- */

typedef struct hs {
    SSL_CTX *sctx, *cctx;
    SSL *srv, *cli;
} hs;

/* Handshake between the daemon's context and a verifying client offering alpn (wire format,
 * NULL = no ALPN) with max_version (0 = any). Returns 1 when both sides finished. */
static int handshake(hs *h, const unsigned char *alpn, unsigned alpn_len, int max_version)
{
    char *err = NULL;
    ensure_certs();
    h->sctx = pki_server_ctx(path_of("server.crt"), path_of("server.key"), &err);
    if (!h->sctx)
        fail_msg("pki_server_ctx: %s", err);
    h->cctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(h->cctx);
    assert_int_equal(SSL_CTX_load_verify_locations(h->cctx, path_of("ca.crt"), NULL), 1);
    SSL_CTX_set_verify(h->cctx, SSL_VERIFY_PEER, NULL);
    if (max_version)
        SSL_CTX_set_max_proto_version(h->cctx, max_version);
    if (max_version && max_version < TLS1_2_VERSION)
        SSL_CTX_set_security_level(h->cctx, 0);
    h->srv = SSL_new(h->sctx);
    h->cli = SSL_new(h->cctx);
    assert_int_equal(SSL_set1_host(h->cli, "localhost"), 1);
    if (alpn)
        assert_int_equal(SSL_set_alpn_protos(h->cli, alpn, alpn_len), 0);
    BIO *bc, *bs;
    assert_int_equal(BIO_new_bio_pair(&bc, 0, &bs, 0), 1);
    SSL_set_bio(h->cli, bc, bc);
    SSL_set_bio(h->srv, bs, bs);
    SSL_set_connect_state(h->cli);
    SSL_set_accept_state(h->srv);
    int cdone = 0, sdone = 0;
    for (int i = 0; i < 100 && !(cdone && sdone); i++) {
        if (!cdone) {
            int r = SSL_do_handshake(h->cli);
            if (r == 1)
                cdone = 1;
            else if (SSL_get_error(h->cli, r) != SSL_ERROR_WANT_READ)
                break;
        }
        if (!sdone) {
            int r = SSL_do_handshake(h->srv);
            if (r == 1)
                sdone = 1;
            else if (SSL_get_error(h->srv, r) != SSL_ERROR_WANT_READ)
                break;
        }
    }
    ERR_clear_error();
    return cdone && sdone;
}

static void hs_free(hs *h)
{
    SSL_free(h->cli);
    SSL_free(h->srv);
    SSL_CTX_free(h->cctx);
    SSL_CTX_free(h->sctx);
}

static void assert_alpn(const SSL *s, const char *want)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(s, &p, &n);
    if (!want) {
        assert_int_equal(n, 0);
        return;
    }
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
}

static void test_alpn_http11(void **state)
{
    static const unsigned char kubectl[] = "\x02h2\x08http/1.1";
    hs h;
    assert_true(handshake(&h, kubectl, sizeof kubectl - 1, 0));
    assert_alpn(h.cli, "http/1.1");
    assert_alpn(h.srv, "http/1.1");
    assert_int_equal(SSL_get_verify_result(h.cli), X509_V_OK);
    assert_int_equal(SSL_version(h.cli), TLS1_3_VERSION);

    /* data flows both ways */
    char buf[16];
    assert_int_equal(SSL_write(h.cli, "ping", 4), 4);
    assert_int_equal(SSL_read(h.srv, buf, sizeof buf), 4);
    assert_memory_equal(buf, "ping", 4);
    hs_free(&h);
}

static void test_alpn_h2_only(void **state)
{
    static const unsigned char h2[] = "\x02h2";
    hs h;
    assert_true(handshake(&h, h2, sizeof h2 - 1, 0));
    assert_alpn(h.cli, NULL);
    hs_free(&h);

    assert_true(handshake(&h, NULL, 0, 0));
    assert_alpn(h.cli, NULL);
    hs_free(&h);
}

static void test_tls_versions(void **state)
{
    static const unsigned char kubectl[] = "\x02h2\x08http/1.1";
    hs h;
    assert_true(handshake(&h, kubectl, sizeof kubectl - 1, TLS1_2_VERSION));
    assert_int_equal(SSL_version(h.cli), TLS1_2_VERSION);
    assert_alpn(h.cli, "http/1.1");
    hs_free(&h);

    assert_false(handshake(&h, kubectl, sizeof kubectl - 1, TLS1_1_VERSION));
    hs_free(&h);
}

static void test_server_ctx_errors(void **state)
{
    char *err = NULL;
    ensure_certs();
    assert_null(pki_server_ctx(path_of("server.crt"), path_of("ca.key"), &err));
    assert_non_null(err);
    free(err);
    err = NULL;
    assert_null(pki_server_ctx("/nonexistent/server.crt", path_of("server.key"), &err));
    assert_non_null(err);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certs_created),
        cmocka_unit_test(test_chain_verifies),
        cmocka_unit_test(test_chain_openssl_cli),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_kubeconfig),
        cmocka_unit_test(test_alpn_http11),
        cmocka_unit_test(test_alpn_h2_only),
        cmocka_unit_test(test_tls_versions),
        cmocka_unit_test(test_server_ctx_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
