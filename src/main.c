/* main — flags → config, first-start set-up of DIR, wiring of the modules, the loop, and an
 * ordered shutdown on SIGTERM/SIGINT. Owns every singleton; no module reaches up. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "api.h"
#include "auth.h"
#include "discovery.h"
#include "gc.h"
#include "kubelet.h"
#include "podexec.h"
#include "node.h"
#include "events.h"
#include "jobctl.h"
#include "metrics.h"
#include "http.h"
#include "pki.h"
#include "store.h"
#include "svcalloc.h"
#include "watch.h"

typedef struct config {
    const char *data_dir;
    char listen_addr[256];
    int port;
    const char *tls_cert, *tls_key;
    unsigned request_timeout_s;
    unsigned bookmark_interval_s;
    unsigned compact_interval_s;
    unsigned long retain_revisions;
    unsigned restart_backoff_s;
} config;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: torchjobd [flags]\n"
            "\n"
            "Serves the Kubeflow PyTorchJob API (kubeflow.org/v1) over HTTPS and runs the jobs.\n"
            "\n"
            "flags:\n"
            "  --data-dir DIR           everything lives here: store, certificates, tokens, kubeconfig\n"
            "                           (default ./var)\n"
            "  --listen ADDR:PORT       address to serve HTTPS on (default 127.0.0.1:6443;\n"
            "                           IPv6 as [::1]:6443)\n"
            "  --tls-cert FILE          serve this certificate instead of DIR/server.crt\n"
            "  --tls-key FILE           the key of --tls-cert\n"
            "  --request-timeout SECS   a request must arrive whole within SECS, idle keep-alive\n"
            "                           connections close after it (default 60)\n"
            "  --watch-bookmark-interval SECS\n"
            "                           BOOKMARK events for allowWatchBookmarks watches (default 30)\n"
            "  --compact-interval SECS  how often the store's history is compacted (default 60)\n"
            "  --retain-revisions N     revisions kept for watch resume and consistent pages\n"
            "                           (default 10000); older ones answer 410 Expired\n"
            "  --restart-backoff SECS   first delay before a pod's container restarts in place;\n"
            "                           doubles per restart up to 300 (default 10, as kubelet)\n"
            "  -h, --help               this text\n"
            "\n"
            "At first start DIR gets ca.crt, server.crt/.key, tokens.csv (the admin bearer token) and\n"
            "kubeconfig: KUBECONFIG=DIR/kubeconfig kubectl get pytorchjobs\n");
}

static int parse_listen(const char *s, config *c)
{
    const char *colon;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return -1;
        size_t n = (size_t)(end - s - 1);
        if (n >= sizeof c->listen_addr)
            return -1;
        memcpy(c->listen_addr, s + 1, n);
        c->listen_addr[n] = 0;
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s || (size_t)(colon - s) >= sizeof c->listen_addr)
            return -1;
        memcpy(c->listen_addr, s, (size_t)(colon - s));
        c->listen_addr[colon - s] = 0;
        if (strchr(c->listen_addr, ':'))
            return -1;
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 0 || p > 65535)
        return -1;
    c->port = (int)p;
    return 0;
}

static int parse_flags(int argc, char **argv, config *c)
{
    static const struct option opts[] = {
        {"data-dir", required_argument, 0, 'd'},
        {"listen", required_argument, 0, 'l'},
        {"tls-cert", required_argument, 0, 'c'},
        {"tls-key", required_argument, 0, 'k'},
        {"request-timeout", required_argument, 0, 't'},
        {"watch-bookmark-interval", required_argument, 0, 'b'},
        {"compact-interval", required_argument, 0, 'C'},
        {"retain-revisions", required_argument, 0, 'R'},
        {"restart-backoff", required_argument, 0, 'B'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    c->data_dir = "./var";
    snprintf(c->listen_addr, sizeof c->listen_addr, "127.0.0.1");
    c->port = 6443;
    c->request_timeout_s = 60;
    c->bookmark_interval_s = 30;
    c->compact_interval_s = 60;
    c->retain_revisions = 10000;
    c->restart_backoff_s = 10;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            if (!*optarg) {
                fprintf(stderr, "torchjobd: --data-dir needs a directory\n");
                return -1;
            }
            c->data_dir = optarg;
            break;
        case 'l':
            if (parse_listen(optarg, c) < 0) {
                fprintf(stderr, "torchjobd: invalid --listen %s: want ADDR:PORT, e.g. 127.0.0.1:6443\n", optarg);
                return -1;
            }
            break;
        case 'c': c->tls_cert = optarg; break;
        case 'k': c->tls_key = optarg; break;
        case 't': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v <= 0 || v > 86400) {
                fprintf(stderr, "torchjobd: invalid --request-timeout %s: want seconds, 1..86400\n", optarg);
                return -1;
            }
            c->request_timeout_s = (unsigned)v;
            break;
        }
        case 'B':
        case 'b':
        case 'C':
        case 'R': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v <= 0 || (ch != 'R' && v > 86400)) {
                fprintf(stderr, "torchjobd: invalid --%s %s: want a positive integer\n",
                        ch == 'b' ? "watch-bookmark-interval" : ch == 'C' ? "compact-interval" :
                        ch == 'B' ? "restart-backoff" : "retain-revisions", optarg);
                return -1;
            }
            if (ch == 'b')
                c->bookmark_interval_s = (unsigned)v;
            else if (ch == 'C')
                c->compact_interval_s = (unsigned)v;
            else if (ch == 'B')
                c->restart_backoff_s = (unsigned)v;
            else
                c->retain_revisions = (unsigned long)v;
            break;
        }
        case 'h':
            usage(stdout);
            exit(0);
        case ':':
            fprintf(stderr, "torchjobd: flag %s needs a value\n", argv[optind - 1]);
            return -1;
        default:
            fprintf(stderr, "torchjobd: unknown flag %s (see --help)\n", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "torchjobd: unexpected argument %s (see --help)\n", argv[optind]);
        return -1;
    }
    if (!!c->tls_cert != !!c->tls_key) {
        fprintf(stderr, "torchjobd: --tls-cert and --tls-key go together\n");
        return -1;
    }
    return 0;
}

/* ---- first start --------------------------------------------------------------------------- */

static void ensure_namespace(api_t *api, const char *name)
{
    char key[300];
    snprintf(key, sizeof key, "namespaces//%s", name);
    if (store_latest(api->store, key))
        return;
    char uid[37];
    api_new_uid(uid);
    char *now = api_now_rfc3339();
    json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:{s:s}}, s:{s:[s]}, s:{s:s}}", "apiVersion", "v1",
                          "kind", "Namespace", "metadata", "name", name, "uid", uid, "creationTimestamp", now,
                          "labels", "kubernetes.io/metadata.name", name, "spec", "finalizers", "kubernetes",
                          "status", "phase", "Active");
    free(now);
    store_write(api->store, key, o, NULL, NULL, NULL);
}

/* ---- metrics collectors ---- */

static void collect_watchers(void *arg, metrics_sink *s)
{
    api_t *api = arg;
    if (api->watch)
        watch_collect(api->watch, s);
}

static void collect_objects(void *arg, metrics_sink *s)
{
    api_t *api = arg;
    for (size_t i = 0; i < nresources; i++) {
        if (resources[i].ephemeral)
            continue;
        char prefix[128];
        snprintf(prefix, sizeof prefix, "%s/", resources[i].plural);
        const char *v[] = {resources[i].plural};
        metrics_sink_add(s, v, (double)store_count(api->store, prefix));
    }
}

static void collect_processes(void *arg, metrics_sink *s)
{
    api_t *api = arg;
    metrics_sink_add(s, NULL, api->kubelet ? (double)kubelet_live(api->kubelet) : 0);
}

static void on_batch(void *arg, double secs, size_t n, int synced)
{
    tj_metrics_store_commit(arg, secs, n, synced);
}

/* ---- shutdown ------------------------------------------------------------------------------- */

typedef struct daemon {
    uv_loop_t *loop;
    uv_signal_t sigterm, sigint;
    http_server *http;
    api_t api;
    kubelet_t *kubelet;
    events_t *events;
    jobctl_t *jobctl;
    node_hb *node;
    int stopping;
} daemon_t;

static void on_signal(uv_signal_t *s, int signum)
{
    daemon_t *d = s->data;
    if (d->stopping)
        return;
    d->stopping = 1;
    fprintf(stderr, "torchjobd: signal %d, stopping\n", signum);
    /* The writes still committing must not reach the modules freed below. */
    store_off_commit(d->api.store);
    http_server_stop(d->http);
    watch_hub_free(d->api.watch);
    d->api.watch = NULL;
    gc_free(d->api.gc);
    d->api.gc = NULL;
    svcalloc_free(d->api.svcalloc);
    d->api.svcalloc = NULL;
    jobctl_free(d->jobctl);
    d->jobctl = NULL;
    events_stop(d->events);
    node_stop(d->node);
    d->node = NULL;
    podexec_free(d->api.exec); /* its sessions' processes go before the pods' */
    d->api.exec = NULL;
    kubelet_free(d->kubelet);
    d->kubelet = NULL;
    d->api.kubelet = NULL;
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
}

int main(int argc, char **argv)
{
    config cfg;
    if (parse_flags(argc, argv, &cfg) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    /* Every connection and watcher is a descriptor: take the hard limit (10,000 watchers). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    if (mkdir(cfg.data_dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "torchjobd: cannot create data dir %s: %s\n", cfg.data_dir, strerror(errno));
        return 1;
    }
    char *err = NULL, *token = NULL;
    char path[4096], cert[4096], keyf[4096], ca[4096];
    if (!cfg.tls_cert && pki_ensure_certs(cfg.data_dir, &err) < 0) {
        fprintf(stderr, "torchjobd: certificates: %s\n", err);
        return 1;
    }
    if (pki_ensure_tokens(cfg.data_dir, &token, &err) < 0) {
        fprintf(stderr, "torchjobd: tokens: %s\n", err);
        return 1;
    }
    snprintf(cert, sizeof cert, "%s/server.crt", cfg.data_dir);
    snprintf(keyf, sizeof keyf, "%s/server.key", cfg.data_dir);
    snprintf(ca, sizeof ca, "%s/ca.crt", cfg.data_dir);
    SSL_CTX *ssl = pki_server_ctx(cfg.tls_cert ? cfg.tls_cert : cert, cfg.tls_key ? cfg.tls_key : keyf, &err);
    if (!ssl) {
        fprintf(stderr, "torchjobd: tls: %s\n", err);
        return 1;
    }
    daemon_t d = {0};
    d.loop = uv_default_loop();
    d.api.loop = d.loop;
    snprintf(path, sizeof path, "%s/tokens.csv", cfg.data_dir);
    if (authn_load(path, &d.api.authn, &err) < 0) {
        fprintf(stderr, "torchjobd: %s\n", err);
        return 1;
    }
    snprintf(path, sizeof path, "%s/store.db", cfg.data_dir);
    store_opts so = {.retain_revisions = cfg.retain_revisions,
                     .compact_interval_ms = cfg.compact_interval_s * 1000};
    if (store_open(d.loop, path, &so, &d.api.store, &err) < 0) {
        fprintf(stderr, "torchjobd: store %s: %s\n", path, err);
        return 1;
    }
    d.api.metrics = tj_metrics_new();
    tj_metrics_set_collector(d.api.metrics, TJ_GAUGE_LONGRUNNING, collect_watchers, &d.api);
    tj_metrics_set_collector(d.api.metrics, TJ_GAUGE_STORAGE_OBJECTS, collect_objects, &d.api);
    tj_metrics_set_collector(d.api.metrics, TJ_GAUGE_PROCESSES_LIVE, collect_processes, &d.api);
    store_on_batch(d.api.store, on_batch, d.api.metrics);
    ensure_namespace(&d.api, "default");
    ensure_namespace(&d.api, "kube-system");
    ensure_namespace(&d.api, "kube-public");
    ensure_namespace(&d.api, "kube-node-lease");
    d.node = node_start(&d.api, cfg.data_dir);
    d.api.watch = watch_hub_new(&d.api);
    watch_set_bookmark_interval(d.api.watch, cfg.bookmark_interval_s * 1000);
    d.api.gc = gc_new(&d.api);
    d.api.svcalloc = svcalloc_new(d.api.store);
    snprintf(path, sizeof path, "%s/logs", cfg.data_dir);
    mkdir(path, 0755);
    char shim[4096];
    ssize_t sl = readlink("/proc/self/exe", shim, sizeof shim - 32);
    if (sl > 0) {
        shim[sl] = 0;
        char *slash = strrchr(shim, '/');
        strcpy(slash ? slash + 1 : shim, "torchjob-logshim");
    }
    kubelet_opts ko = {.log_dir = path, .backoff_initial_ms = cfg.restart_backoff_s * 1000,
                       .shim = sl > 0 && access(shim, X_OK) == 0 ? shim : NULL};
    if (!ko.shim)
        fprintf(stderr, "torchjobd: torchjob-logshim not found next to the daemon; pod logs carry no timestamps\n");
    d.events = events_new(&d.api); /* before the kubelet: the pods it adopts get events */
    d.kubelet = kubelet_new(&d.api, d.events, &ko);
    d.api.kubelet = d.kubelet;
    d.api.exec = podexec_new(&d.api);
    kubelet_on_run_end(d.kubelet, podexec_run_ended, d.api.exec);
    d.jobctl = jobctl_new(&d.api, d.events);

    http_limits lim = {
        .max_header_bytes = 1 << 20,
        .max_body_bytes = 3 << 20,
        .request_timeout_ms = cfg.request_timeout_s * 1000,
        .max_conn_queue = 16 << 20,
    };
    if (http_server_start(d.loop, cfg.listen_addr, cfg.port, ssl, &lim, api_handle, &d.api, &d.http, &err) < 0) {
        fprintf(stderr, "torchjobd: %s\n", err);
        return 1;
    }
    char addr[300], url[400];
    const char *host = !strcmp(cfg.listen_addr, "0.0.0.0") ? "127.0.0.1" : !strcmp(cfg.listen_addr, "::") ? "::1" : cfg.listen_addr;
    if (strchr(host, ':'))
        snprintf(addr, sizeof addr, "[%s]:%d", host, cfg.port);
    else
        snprintf(addr, sizeof addr, "%s:%d", host, cfg.port);
    snprintf(url, sizeof url, "https://%s", addr);
    discovery_init(addr);
    if (pki_write_kubeconfig(cfg.data_dir, url, ca, token, &err) < 0) {
        fprintf(stderr, "torchjobd: kubeconfig: %s\n", err);
        return 1;
    }
    http_server_on_done(d.http, api_request_done);
    http_server_on_prepare(d.http, api_prepare);
    http_server_on_handled(d.http, api_handled);
    uv_signal_init(d.loop, &d.sigterm);
    uv_signal_init(d.loop, &d.sigint);
    d.sigterm.data = d.sigint.data = &d;
    uv_signal_start(&d.sigterm, on_signal, SIGTERM);
    uv_signal_start(&d.sigint, on_signal, SIGINT);
    fprintf(stderr, "torchjobd: serving %s (data dir %s); KUBECONFIG=%s/kubeconfig\n", url, cfg.data_dir, cfg.data_dir);

    uv_run(d.loop, UV_RUN_DEFAULT);

    store_close(d.api.store);
    uv_run(d.loop, UV_RUN_DEFAULT);
    events_free(d.events);
    tj_metrics_free(d.api.metrics);
    authn_free(d.api.authn);
    discovery_free();
    SSL_CTX_free(ssl);
    free(token);
    uv_loop_close(d.loop);
    fprintf(stderr, "torchjobd: stopped\n");
    return 0;
}
