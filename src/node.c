/* node — see node.h. Allocatable equals capacity: no system reservation is set aside.
 *
 * Heartbeats, as kubelet 1.32 with its Lease: every RENEW_MS the Lease's renewTime is renewed
 * (a quarter of its 40 s), and the node's status is reported again (conditions' lastHeartbeatTime)
 * every REPORT_EVERY renewals (5 min) even when nothing changed. TORCHJOBD_NODE_RENEW_MS sets
 * another renewal interval (for tests: the report follows it, 30 renewals). A condition keeps its lastTransitionTime while its
 * status holds, across restarts too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "node.h"
#include "jsonio.h"

#define KUBE_VERSION "v1.32.0-torchjob" /* /version's gitVersion */
#define RENEW_MS 10000 /* kubelet: leaseDurationSeconds 40 × renewIntervalFraction 0.25 */
#define REPORT_EVERY 30 /* renewals: kubelet's nodeStatusReportFrequency, 5 min */

struct node_hb {
    api_t *api;
    uv_timer_t timer;
    char data_dir[4096];
    unsigned renew_ms;
    unsigned renewals;
};

long double node_allocatable(const char *resource, const char *path)
{
    if (!strcmp(resource, "cpu"))
        return (long double)sysconf(_SC_NPROCESSORS_ONLN);
    if (!strcmp(resource, "memory"))
        return (long double)sysconf(_SC_PHYS_PAGES) * (long double)sysconf(_SC_PAGESIZE);
    struct statvfs fs;
    if (!strcmp(resource, "ephemeral-storage") && statvfs(path, &fs) == 0)
        return (long double)fs.f_blocks * (long double)fs.f_frsize;
    return 0;
}

/* The first line of a small file, without its newline ("" when unreadable). */
static void first_line(const char *path, char *out, size_t cap)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(out, (int)cap, f))
        out[strcspn(out, "\n")] = 0;
    fclose(f);
}

/* /etc/os-release's PRETTY_NAME, unquoted (kubelet's osImage). */
static void os_image(char *out, size_t cap)
{
    snprintf(out, cap, "Linux");
    FILE *f = fopen("/etc/os-release", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "PRETTY_NAME=", 12)) {
            char *v = line + 12;
            v[strcspn(v, "\n")] = 0;
            size_t n = strlen(v);
            if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                v[n - 1] = 0;
                v++;
            }
            snprintf(out, cap, "%.200s", v);
        }
    fclose(f);
}

static json_t *condition(const char *type, const char *status, const char *reason, const char *message,
                         const char *now)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status", status, "lastHeartbeatTime", now,
                     "lastTransitionTime", now, "reason", reason, "message", message);
}

static json_t *node_status(const char *data_dir, const char *now)
{
    char cpu[32], mem[48], disk[48], machine[128], boot[128], os[256];
    snprintf(cpu, sizeof cpu, "%.0Lf", node_allocatable("cpu", data_dir));
    snprintf(mem, sizeof mem, "%.0LfKi", node_allocatable("memory", data_dir) / 1024);
    snprintf(disk, sizeof disk, "%.0LfKi", node_allocatable("ephemeral-storage", data_dir) / 1024);
    first_line("/etc/machine-id", machine, sizeof machine);
    first_line("/proc/sys/kernel/random/boot_id", boot, sizeof boot);
    os_image(os, sizeof os);
    struct utsname u;
    if (uname(&u) < 0)
        memset(&u, 0, sizeof u);
    const char *arch = !strcmp(u.machine, "x86_64") ? "amd64" : !strcmp(u.machine, "aarch64") ? "arm64" : u.machine;
    json_t *res = json_pack("{s:s,s:s,s:s,s:s}", "cpu", cpu, "ephemeral-storage", disk, "memory", mem, "pods", "110");
    return json_pack(
        "{s:o,s:o,s:[o,o,o,o],s:[{s:s,s:s},{s:s,s:s}],s:{s:{s:i}},s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}}",
        "capacity", json_deep_copy(res), "allocatable", res, "conditions",
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", now),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", now),
        condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", now),
        condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", now),
        "addresses", "type", "InternalIP", "address", "127.0.0.1", "type", "Hostname", "address", NODE_NAME,
        "daemonEndpoints", "kubeletEndpoint", "Port", 10250,
        "nodeInfo", "machineID", machine, "systemUUID", machine, "bootID", boot, "kernelVersion", u.release,
        "osImage", os, "containerRuntimeVersion", "torchjob://" KUBE_VERSION, "kubeletVersion", KUBE_VERSION,
        "kubeProxyVersion", KUBE_VERSION, "operatingSystem", "linux", "architecture", arch);
}

/* A MicroTime: RFC 3339 with microseconds. */
static void micro_now(char out[64])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000) % 1000000);
}

/* kube-node-lease/localhost, as kubelet keeps it (holder, 40 s, renewed now; owned by the node,
 * so that it goes with it; made again if someone deleted it). */
static void node_lease(api_t *api, const char *node_uid)
{
    const char *key = "leases/kube-node-lease/" NODE_NAME;
    char renew[64];
    micro_now(renew);
    json_t *o = api_stored_json(api, key);
    if (!o) {
        char uid[37];
        api_new_uid(uid);
        char *now = api_now_rfc3339();
        o = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:s}]},s:{s:s,s:i}}", "apiVersion",
                      "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", NODE_NAME, "namespace",
                      "kube-node-lease", "uid", uid, "creationTimestamp", now, "ownerReferences", "apiVersion",
                      "v1", "kind", "Node", "name", NODE_NAME, "uid", node_uid, "spec", "holderIdentity", NODE_NAME,
                      "leaseDurationSeconds", 40);
        free(now);
    }
    json_t *spec = json_object_get(o, "spec");
    if (!json_is_object(spec))
        json_object_set_new(o, "spec", spec = json_object());
    json_object_set_new(spec, "renewTime", json_string(renew));
    store_write(api->store, key, o, NULL, NULL, NULL);
}

/* The stored node's status replaced by a fresh one; conditions whose status holds keep their
 * lastTransitionTime. */
static void set_status(json_t *o, const char *data_dir, const char *now)
{
    json_t *st = node_status(data_dir, now);
    json_t *old = json_object_get(json_object_get(o, "status"), "conditions");
    size_t i, j;
    json_t *c, *oc;
    json_array_foreach(json_object_get(st, "conditions"), i, c)
        json_array_foreach(old, j, oc)
            if (json_equal(json_object_get(oc, "type"), json_object_get(c, "type")) &&
                json_equal(json_object_get(oc, "status"), json_object_get(c, "status")) &&
                json_is_string(json_object_get(oc, "lastTransitionTime")))
                json_object_set(c, "lastTransitionTime", json_object_get(oc, "lastTransitionTime"));
    json_object_set_new(o, "status", st);
}

static const char *node_uid(const json_t *o)
{
    const char *u = json_string_value(json_object_get(json_object_get(o, "metadata"), "uid"));
    return u ? u : "";
}

static void on_heartbeat(uv_timer_t *t)
{
    node_hb *hb = t->data;
    json_t *o = api_stored_json(hb->api, "nodes//" NODE_NAME);
    if (!o)
        return; /* deleted: kubelet would register again only when it restarts */
    if (++hb->renewals % REPORT_EVERY == 0) {
        char *now = api_now_rfc3339();
        set_status(o, hb->data_dir, now);
        free(now);
        store_write(hb->api->store, "nodes//" NODE_NAME, json_incref(o), NULL, NULL, NULL);
    }
    node_lease(hb->api, node_uid(o));
    json_decref(o);
}

static void node_register(api_t *api, const char *data_dir)
{
    const char *key = "nodes//" NODE_NAME;
    char *now = api_now_rfc3339();
    json_t *o = api_stored_json(api, key);
    if (!o) {
        char uid[37];
        api_new_uid(uid);
        struct utsname u;
        const char *arch = uname(&u) == 0 && !strcmp(u.machine, "aarch64") ? "arm64" : "amd64";
        o = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s},s:{s:s,s:s}},s:{}}", "apiVersion", "v1",
                      "kind", "Node", "metadata", "name", NODE_NAME, "uid", uid, "creationTimestamp", now,
                      "labels", "beta.kubernetes.io/arch", arch, "beta.kubernetes.io/os", "linux",
                      "kubernetes.io/arch", arch, "kubernetes.io/hostname", NODE_NAME, "kubernetes.io/os", "linux",
                      "annotations", "node.alpha.kubernetes.io/ttl", "0",
                      "volumes.kubernetes.io/controller-managed-attach-detach", "true", "spec");
    }
    set_status(o, data_dir, now);
    free(now);
    char uid[64];
    snprintf(uid, sizeof uid, "%s", node_uid(o));
    store_write(api->store, key, o, NULL, NULL, NULL);
    node_lease(api, uid);
}

node_hb *node_start(api_t *api, const char *data_dir)
{
    node_register(api, data_dir);
    node_hb *hb = calloc(1, sizeof *hb);
    if (!hb)
        abort();
    hb->api = api;
    snprintf(hb->data_dir, sizeof hb->data_dir, "%s", data_dir);
    const char *ms = getenv("TORCHJOBD_NODE_RENEW_MS");
    hb->renew_ms = ms && atoi(ms) > 0 ? (unsigned)atoi(ms) : RENEW_MS;
    uv_timer_init(api->loop, &hb->timer);
    hb->timer.data = hb;
    uv_timer_start(&hb->timer, on_heartbeat, hb->renew_ms, hb->renew_ms);
    uv_unref((uv_handle_t *)&hb->timer);
    return hb;
}

static void on_hb_closed(uv_handle_t *h)
{
    free(h->data);
}

void node_stop(node_hb *hb)
{
    if (hb)
        uv_close((uv_handle_t *)&hb->timer, on_hb_closed);
}
