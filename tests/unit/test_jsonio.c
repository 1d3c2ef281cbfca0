/* jsonio: differential tests against the installed jansson. Every parse must give jansson's tree
 * (types, values, key order) or jansson's error (text, line, column, position); every dump must
 * be jansson's bytes. The fast path is watched by interposing json_loadb and json_dumps (the
 * test's definitions win over libjansson's and forward to it), so the tests also check that the
 * documents we care about never reach jansson and that the unusual ones do. */
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <jansson.h>
#include "unit.h"
#include "jsonio.h"

/*** interposition ***/

static int loadb_calls, dumps_calls;

json_t *json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
    static json_t *(*real)(const char *, size_t, size_t, json_error_t *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "json_loadb");
    loadb_calls++;
    return real(buf, len, flags, err);
}

char *json_dumps(const json_t *o, size_t flags)
{
    static char *(*real)(const json_t *, size_t);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "json_dumps");
    dumps_calls++;
    return real(o, flags);
}

/*** helpers ***/

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t below(size_t n)
{
    return (size_t)(rnd() % n);
}

/* Same types, same values (reals bit for bit), same key order at every level. */
static int same_tree(const json_t *a, const json_t *b)
{
    if (!a || !b || json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        void *ia = json_object_iter((json_t *)a), *ib = json_object_iter((json_t *)b);
        for (; ia && ib; ia = json_object_iter_next((json_t *)a, ia), ib = json_object_iter_next((json_t *)b, ib)) {
            size_t la = json_object_iter_key_len(ia), lb = json_object_iter_key_len(ib);
            if (la != lb || memcmp(json_object_iter_key(ia), json_object_iter_key(ib), la) ||
                !same_tree(json_object_iter_value(ia), json_object_iter_value(ib)))
                return 0;
        }
        return !ia && !ib;
    }
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_tree(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
    case JSON_INTEGER:
        return json_integer_value(a) == json_integer_value(b);
    case JSON_REAL: {
        double x = json_real_value(a), y = json_real_value(b);
        return !memcmp(&x, &y, sizeof x);
    }
    default:
        return 1;
    }
}

typedef struct {
    int ok, fast; /* parsed; parsed without asking jansson */
} outcome;

/* Parses with both and asserts they agree on everything. */
static outcome check_parse(const char *buf, size_t len, size_t flags)
{
    json_error_t ej, ei;
    memset(&ej, 0x5A, sizeof ej);
    memset(&ei, 0xA5, sizeof ei);
    json_t *j = json_loadb(buf, len, flags, &ej);
    loadb_calls = 0;
    json_t *i = jsonio_parse(buf, len, flags, &ei);
    outcome r = {i != NULL, loadb_calls == 0};
    if ((j == NULL) != (i == NULL) || (j && !same_tree(j, i)) || ej.line != ei.line || ej.column != ei.column ||
        ej.position != ei.position || strcmp(ej.source, ei.source) || strcmp(ej.text, ei.text)) {
        fprintf(stderr, "mismatch on %zu bytes, flags %zu: '%.*s'\n  jansson %s: %d:%d@%d %s\n  jsonio  %s: %d:%d@%d %s\n",
                len, flags, (int)(len > 300 ? 300 : len), buf, j ? "ok" : "error", ej.line, ej.column, ej.position,
                ej.text, i ? "ok" : "error", ei.line, ei.column, ei.position, ei.text);
        fail();
    }
    if (!i)
        assert_false(r.fast); /* errors are always jansson's */
    json_decref(j);
    json_decref(i);
    return r;
}

/* Dumps with both and asserts the same bytes (or the same failure); returns whether the fast
 * path wrote it alone. */
static int check_dump(const json_t *o, size_t flags)
{
    char *j = json_dumps(o, flags);
    size_t len = 12345;
    dumps_calls = 0;
    char *i = jsonio_dump(o, flags, &len);
    int fast = dumps_calls == 0;
    if ((j == NULL) != (i == NULL) || (j && (strcmp(j, i) || len != strlen(j)))) {
        fprintf(stderr, "dump mismatch, flags %#zx:\n  jansson %s\n  jsonio  %s\n", flags, j ? j : "(null)",
                i ? i : "(null)");
        fail();
    }
    if (!i)
        assert_int_equal(len, 0);
    free(j);
    free(i);
    return fast;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char *s = malloc(*len + 1);
    memcpy(s, buf, *len);
    s[*len] = 0;
    return s;
}

/*** (a) fixtures ***/

#define DOC(s) {s, sizeof s - 1}
typedef struct {
    const char *s;
    size_t len;
} doc;

static const char POD[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"mnist-ddp-worker-0\",\"namespace\":\"default\","
    "\"uid\":\"6f1c1a3e-2b7d-4c55-9b1a-0d6f3c2a9e11\",\"resourceVersion\":\"18446744073709551615\","
    "\"creationTimestamp\":\"2026-12-04T16:54:07Z\",\"labels\":{\"training.kubeflow.org/job-name\":\"mnist-ddp\","
    "\"training.kubeflow.org/replica-type\":\"worker\",\"training.kubeflow.org/replica-index\":\"0\"},"
    "\"ownerReferences\":[{\"apiVersion\":\"kubeflow.org/v1\",\"kind\":\"PyTorchJob\",\"name\":\"mnist-ddp\","
    "\"uid\":\"0b7f\",\"controller\":true,\"blockOwnerDeletion\":true}]},\"spec\":{\"restartPolicy\":\"OnFailure\","
    "\"containers\":[{\"name\":\"pytorch\",\"image\":\"python:3.11\",\"command\":[\"python3\",\"-c\","
    "\"import os; print(os.environ[\\\"RANK\\\"])\\n\"],\"env\":[{\"name\":\"MASTER_PORT\",\"value\":\"23456\"},"
    "{\"name\":\"WORLD_SIZE\",\"value\":\"4\"},{\"name\":\"PYTHONUNBUFFERED\",\"value\":\"1\"}],\"resources\":"
    "{\"limits\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"}}}]},\"status\":{\"phase\":\"Running\",\"conditions\":["
    "{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":null}],\"containerStatuses\":[{\"name\":"
    "\"pytorch\",\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{\"startedAt\":\"2026-12-04T16:54:09Z\"}}}],"
    "\"startTime\":\"2026-12-04T16:54:08Z\"}}";

static const char STATUS[] =
    "{\n  \"kind\": \"Status\",\n  \"apiVersion\": \"v1\",\n  \"metadata\": {},\n  \"status\": \"Failure\",\n"
    "  \"message\": \"pytorchjobs.kubeflow.org \\\"x\\\" not found\",\n  \"reason\": \"NotFound\",\n"
    "  \"details\": {\"name\": \"x\", \"group\": \"kubeflow.org\", \"kind\": \"pytorchjobs\"},\n  \"code\": 404\n}\n";

static const doc fixtures[] = {
    DOC("{}"), DOC("[]"), DOC(" \t\r\n{} \r\n\t "), DOC("{\"a\":1}"), DOC("[1,2,3]"), DOC("[[],{},[[]],{\"\":{}}]"),
    DOC(POD), DOC(STATUS),
    /* strings: every escape class */
    DOC("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]"), DOC("[\"plain/slash\"]"), DOC("[\"\\u0041\\u00e9\\u20AC\\uffff\"]"),
    DOC("[\"\\uD83D\\uDE00\"]"), DOC("[\"\\ud83d\\ude00x\"]"), DOC("[\"\\uD83D\"]"), DOC("[\"\\uDE00\"]"),
    DOC("[\"\\uD83D\\u0041\"]"), DOC("[\"\\uD83Dx\"]"), DOC("[\"\\uD83D\\\"]"), DOC("[\"\\u0000\"]"),
    DOC("{\"a\\u0000b\":1}"), DOC("[\"\\u00G0\"]"), DOC("[\"\\u12\"]"), DOC("[\"\\u12"), DOC("[\"\\x\"]"),
    DOC("[\"\\"), DOC("[\"abc"), DOC("[\"\\u0001\\u001f\\u007f\\u0080\"]"), DOC("[\"a\\\\\"]"),
    DOC("{\"k\\n\\\"ey\":\"v\\tal\",\"k2\":\"\\/\"}"),
    /* raw UTF-8, valid and not */
    DOC("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]"), DOC("{\"\xc3\xa9\":\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"}"),
    DOC("[\"\xc0\x80\"]"), DOC("[\"\xc1\xbf\"]"), DOC("[\"\xed\xa0\x80\"]"), DOC("[\"\xf4\x90\x80\x80\"]"),
    DOC("[\"\xf5\x80\x80\x80\"]"), DOC("[\"\x80\"]"), DOC("[\"\xe2\x82\"]"), DOC("[\"\xe2\x82"), DOC("[\xc3\xa9]"),
    DOC("[\"\xe0\x9f\xbf\"]"), DOC("[\"\xf0\x8f\xbf\xbf\"]"), DOC("\xef\xbb\xbf{}"), DOC("[\"\xff\"]"),
    /* control characters */
    DOC("[\"a\x01\"]"), DOC("[\"a\nb\"]"), DOC("[\"a\tb\"]"), DOC("[\"a\x7f\"]"), DOC("[\"a\x1f\"]"),
    /* numbers */
    DOC("[0]"), DOC("[-0]"), DOC("[01]"), DOC("[-01]"), DOC("[-]"), DOC("[-a]"), DOC("[+1]"), DOC("[1x]"),
    DOC("[9223372036854775807]"), DOC("[-9223372036854775808]"), DOC("[9223372036854775808]"),
    DOC("[-9223372036854775809]"), DOC("[18446744073709551616]"), DOC("[123456789012345678901234567890]"),
    DOC("[1.5]"), DOC("[-0.0]"), DOC("[0.1]"), DOC("[1e5]"), DOC("[1E+5]"), DOC("[1e-5]"), DOC("[1.]"), DOC("[.5]"),
    DOC("[1.e5]"), DOC("[1e]"), DOC("[1e+]"), DOC("[1e400]"), DOC("[-1e400]"), DOC("[1e-400]"), DOC("[2.5e-320]"),
    DOC("[1.7976931348623157e308]"), DOC("[123456789012345678901234567890.5]"), DOC("[0.30000000000000004]"),
    DOC("[1.00000000000000000000000000000000000000000000000000000000000000000001]"), DOC("[1.5.3]"),
    DOC("[1,-2,3.25,-4e-2]"), DOC("[1 2]"),
    /* literals */
    DOC("[true,false,null]"), DOC("[tru]"), DOC("[truex]"), DOC("[nul]"), DOC("[True]"), DOC("[null1]"),
    DOC("[true"), DOC("[fals"),
    /* top level */
    DOC("1"), DOC("\"s\""), DOC("true"), DOC("null"), DOC(""), DOC("   "), DOC("{} x"), DOC("{}{}"), DOC("{},"),
    DOC("{\"a\":1}\n\n x"), DOC("\n\n  [1,\n 2,\n @]"),
    /* structure */
    DOC("[1,]"), DOC("[,1]"), DOC("[1"), DOC("["), DOC("{"), DOC("{\"a\"}"), DOC("{\"a\":}"), DOC("{a:1}"),
    DOC("{\"a\":1,}"), DOC("{\"a\" : 1 , \"b\" :\n2}"), DOC("{\"a\":1 \"b\":2}"), DOC("{1:2}"), DOC("]"), DOC("}"),
    DOC("{\"a\":[}"), DOC("[{]"),
    /* duplicate keys: the later value in the earlier's place */
    DOC("{\"a\":1,\"b\":2,\"a\":3}"), DOC("{\"a\":{\"x\":1},\"a\":[2]}"), DOC("{\"\":1,\"\":2}"),
    DOC("{\"a\\u0062\":1,\"ab\":2}"), DOC("[{\"k\":1,\"k\":1}]"),
    /* NUL bytes in the input */
    DOC("{\"a\":1}\0"), DOC("[\"a\0b\"]"), DOC("\0"), DOC("[1,\0]"),
};

static void run_fixture(const char *s, size_t len, int *fast)
{
    size_t flags[] = {0, JSON_REJECT_DUPLICATES};
    for (size_t f = 0; f < 2; f++) {
        outcome r = check_parse(s, len, flags[f]);
        *fast += r.fast;
        if (r.ok) {
            json_t *o = json_loadb(s, len, flags[f], NULL);
            check_dump(o, JSON_COMPACT);
            check_dump(o, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(o);
        }
    }
}

static void test_fixtures(void **state)
{
    (void)state;
    int fast = 0;
    for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++)
        run_fixture(fixtures[i].s, fixtures[i].len, &fast);
    assert_true(fast > 40);
}

/* The documents the daemon actually handles never reach jansson. */
static void test_fast_path_taken(void **state)
{
    (void)state;
    size_t len;
    char *job = read_file("bench/job.json", &len);
    const doc common[] = {{job, len}, DOC(POD), DOC(STATUS), DOC("[\"\\u00e9\\uD83D\\uDE00\\n\", -0, 1.5e3]")};
    for (size_t i = 0; i < sizeof common / sizeof *common; i++) {
        assert_true(check_parse(common[i].s, common[i].len, 0).fast);
        assert_true(check_parse(common[i].s, common[i].len, JSON_REJECT_DUPLICATES).fast);
        /* a real is written by json_dumps, the rest of its document by us */
        int reals = i == 3;
        json_t *o = jsonio_parse(common[i].s, common[i].len, 0, NULL);
        assert_int_equal(check_dump(o, JSON_COMPACT | JSON_SORT_KEYS), !reals);
        assert_int_equal(check_dump(o, JSON_COMPACT), !reals);
        assert_int_equal(check_dump(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY), !reals);
        json_decref(o);
    }
    /* and the ones it should not take go to jansson, which answers */
    const doc odd[] = {DOC("{\"a\":1,\"a\":2}"), DOC("[\"\\u0000\"]"), DOC("[99999999999999999999]"), DOC("[1e999]"),
                       DOC("[\"\xc0\x80\"]"), DOC("7")};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++)
        assert_false(check_parse(odd[i].s, odd[i].len, JSON_REJECT_DUPLICATES).fast);
    /* a duplicate without JSON_REJECT_DUPLICATES is ours: the later value, the earlier place */
    json_t *o = jsonio_parse("{\"a\":1,\"b\":2,\"a\":3}", 19, 0, NULL);
    const char *k;
    json_t *v;
    const char *order[] = {"a", "b"};
    json_int_t vals[] = {3, 2};
    size_t n = 0;
    json_object_foreach(o, k, v) {
        assert_string_equal(k, order[n]);
        assert_int_equal(json_integer_value(v), vals[n]);
        n++;
    }
    assert_int_equal(n, 2);
    json_decref(o);
    /* errors: jansson's text and position */
    json_error_t e;
    assert_null(jsonio_parse("{\"a\":1,\"a\":2}", 13, JSON_REJECT_DUPLICATES, &e));
    assert_string_equal(e.text, "duplicate object key near '\"a\"'");
    assert_int_equal(e.position, 10);
    assert_null(jsonio_parse("[01]", 4, 0, &e));
    assert_string_equal(e.text, "invalid token near '0'");
    assert_null(jsonio_parse("", 0, 0, &e));
    assert_string_equal(e.text, "'[' or '{' expected near end of file");
    assert_non_null(o = jsonio_parse(" {} ", 4, 0, &e));
    assert_int_equal(e.position, 4);
    assert_string_equal(e.source, "<buffer>");
    json_decref(o);
    /* other flags are jansson's */
    loadb_calls = 0;
    assert_non_null(o = jsonio_parse("\"s\"", 3, JSON_DECODE_ANY, NULL));
    assert_int_equal(loadb_calls, 1);
    json_decref(o);
    free(job);
}

static void nest(char *buf, size_t depth, const char *open, const char *mid, const char *close, size_t *len)
{
    size_t n = 0, lo = strlen(open), lc = strlen(close);
    for (size_t i = 0; i < depth; i++, n += lo)
        memcpy(buf + n, open, lo);
    memcpy(buf + n, mid, strlen(mid));
    n += strlen(mid);
    for (size_t i = 0; i < depth; i++, n += lc)
        memcpy(buf + n, close, lc);
    *len = n;
}

static void test_depth(void **state)
{
    (void)state;
    static char buf[2100 * 8];
    size_t len, depths[] = {1, 100, 2047, 2048, 2049, 2100};
    const char *mids[] = {"", "1", "\"s\"", "{}"};
    for (size_t d = 0; d < sizeof depths / sizeof *depths; d++)
        for (size_t m = 0; m < sizeof mids / sizeof *mids; m++) {
            nest(buf, depths[d], "[", mids[m], "]", &len);
            outcome r = check_parse(buf, len, 0);
            assert_int_equal(r.ok, depths[d] + (mids[m][0] != 0) <= 2048);
            nest(buf, depths[d], "{\"k\":", mids[m][0] ? mids[m] : "1", "}", &len);
            check_parse(buf, len, JSON_REJECT_DUPLICATES);
        }
    /* a deep tree built by hand is dumped by jansson, the same */
    json_t *root = json_array(), *cur = root;
    for (int i = 0; i < 3000; i++) {
        json_t *next = i % 2 ? json_array() : json_object();
        if (json_is_array(cur))
            json_array_append_new(cur, next);
        else
            json_object_set_new(cur, "k", next);
        cur = next;
    }
    assert_false(check_dump(root, JSON_COMPACT | JSON_SORT_KEYS));
    json_decref(root);
    /* a cycle: jansson refuses it, and so do we, without running off the stack */
    json_t *a = json_array(), *b = json_object();
    json_array_append(a, b);
    json_object_set(b, "back", a);
    char *s = jsonio_dump(a, JSON_COMPACT, &len);
    assert_null(s);
    check_dump(a, JSON_COMPACT | JSON_SORT_KEYS);
    json_object_clear(b);
    json_decref(b);
    json_decref(a);
}

/*** (b) random trees ***/

static const char *key_pool[] = {"", "a", "ab", "a\x01", "b", "B", "aa", "apiVersion", "kind", "metadata",
                                 "\xc3\xa9", "\xe2\x82\xac", "z\"q", "back\\slash", "tab\t", "\x7f", "/",
                                 "\xf0\x9f\x98\x80", "A", "a b", "spec", "status", "~", "0", "10", "9"};

static void random_string(char *buf, size_t *len, size_t max)
{
    static const char *pieces[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xed\x9f\xbf",
                                   "\xee\x80\x80", "\xf4\x8f\xbf\xbf", "\"", "\\", "/", "\x7f", "\b", "\f", "\n",
                                   "\r", "\t", "abcdefgh", "registry.example.com/ml"};
    size_t n = 0, want = below(max);
    while (n < want) {
        size_t r = below(10);
        if (r < 5)
            buf[n++] = (char)(0x20 + below(0x5F));
        else if (r < 7)
            buf[n++] = (char)(1 + below(0x1F)); /* NUL: test_dump_odd_strings */
        else {
            const char *p = pieces[below(sizeof pieces / sizeof *pieces)];
            memcpy(buf + n, p, strlen(p));
            n += strlen(p);
        }
    }
    *len = n;
}

static json_t *random_scalar(void)
{
    char buf[128];
    size_t len;
    static const json_int_t ints[] = {0, 1, -1, 9, 10, -10, 1000000007, INT64_MAX, INT64_MIN, INT64_MAX - 1,
                                      INT64_MIN + 1, 4294967296LL, -2147483649LL};
    static const double reals[] = {0.0, -0.0, 0.1, 1.5, -2.25, 1e300, -1e-300, 5e-324, DBL_MAX, 123456789.0,
                                   1e21, 1e-7, 3.0, 0.30000000000000004};
    switch (below(9)) {
    case 0:
        return json_true();
    case 1:
        return json_false();
    case 2:
        return json_null();
    case 3:
        return json_integer(ints[below(sizeof ints / sizeof *ints)]);
    case 4:
        return json_integer((json_int_t)rnd() >> below(64));
    case 5:
        if (below(4) == 0) {
            double d;
            uint64_t bits = rnd();
            memcpy(&d, &bits, sizeof d);
            if (isfinite(d))
                return json_real(d);
        }
        return json_real(reals[below(sizeof reals / sizeof *reals)]);
    default:
        random_string(buf, &len, 40);
        return json_stringn(buf, len);
    }
}

static json_t *random_tree(int depth)
{
    if (depth <= 0 || below(3) == 0)
        return random_scalar();
    size_t n = below(below(8) == 0 ? 40 : 6);
    if (below(2)) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, random_tree(depth - 1));
        return a;
    }
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        char key[64];
        size_t klen;
        if (below(3)) {
            const char *k = key_pool[below(sizeof key_pool / sizeof *key_pool)];
            klen = strlen(k);
            memcpy(key, k, klen);
        } else
            random_string(key, &klen, 12);
        json_object_setn_new(o, key, klen, random_tree(depth - 1));
    }
    return o;
}

static void test_random_trees(void **state)
{
    (void)state;
    int fast = 0;
    for (int i = 0; i < 4000; i++) {
        json_t *t = random_tree(1 + (int)below(6));
        if (!json_is_object(t) && !json_is_array(t)) {
            check_dump(t, JSON_COMPACT); /* both refuse a bare scalar */
            check_dump(t, JSON_COMPACT | JSON_ENCODE_ANY);
            json_decref(t);
            continue;
        }
        size_t flagsets[] = {JSON_COMPACT, JSON_COMPACT | JSON_SORT_KEYS, JSON_COMPACT | JSON_SORT_KEYS | JSON_PRESERVE_ORDER};
        for (size_t f = 0; f < 3; f++)
            fast += check_dump(t, flagsets[f]);
        if (i % 50 == 0) { /* flags that are jansson's alone */
            check_dump(t, JSON_INDENT(2) | JSON_SORT_KEYS);
            check_dump(t, JSON_COMPACT | JSON_ENSURE_ASCII);
            check_dump(t, JSON_COMPACT | JSON_ESCAPE_SLASH);
            check_dump(t, JSON_COMPACT | JSON_REAL_PRECISION(5));
        }
        /* re-parse what was written: the same tree from both, equal to the original */
        size_t len;
        char *s = jsonio_dump(t, JSON_COMPACT | JSON_SORT_KEYS, &len);
        assert_non_null(s);
        check_parse(s, len, JSON_REJECT_DUPLICATES);
        json_t *back = jsonio_parse(s, len, 0, NULL);
        assert_true(json_equal(back, t));
        json_decref(back);
        free(s);
        json_decref(t);
    }
    assert_true(fast > 3000);
}

/* jsonio_indent(compact text) is json_dumps(tree, JSON_INDENT(2)) with the text's key order. */
static void check_indent(const char *text, size_t len, const json_t *t, size_t sort)
{
    char *want = json_dumps(t, JSON_INDENT(2) | sort);
    assert_non_null(want);
    size_t got_len = 0;
    char *got = jsonio_indent(text, len, &got_len);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(got_len, strlen(want));
    free(got);
    free(want);
}

static void test_indent(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{}", "[]", "[{}]", "[[]]", "{\"a\":[]}", "{\"a\":{}}", "[1,2,3]", "[true,false,null]",
        "{\"a\":1,\"b\":[1,{\"c\":\"d\"}],\"e\":{\"f\":{\"g\":[[],{}]}}}",
        "{\"k:{[,\":\"v,]}:\\\"\\\\\",\"x\":-1.5e-07}",
        "[\"\\u0001\\n\\t\",\"\u00e9\u6f22\",\"\\\\\",\"a\\\"b\"]",
        "{\"z\":0,\"a\":1}", /* the text's order, not sorted */
        "[-0,1.25,1e+300,12345678901234]",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        json_t *t = json_loads(docs[i], 0, NULL);
        assert_non_null(t);
        char *compact = json_dumps(t, JSON_COMPACT);
        check_indent(compact, strlen(compact), t, 0);
        /* whitespace in the text is dropped: an indented text indents the same */
        char *wide = json_dumps(t, JSON_INDENT(5));
        check_indent(wide, strlen(wide), t, 0);
        free(wide);
        free(compact);
        json_decref(t);
    }
    for (int i = 0; i < 2000; i++) {
        json_t *t = random_tree(1 + (int)below(6));
        if (json_is_object(t) || json_is_array(t)) {
            size_t len;
            char *compact = jsonio_dump(t, JSON_COMPACT | JSON_SORT_KEYS, &len);
            check_indent(compact, len, t, JSON_SORT_KEYS);
            free(compact);
            compact = jsonio_dump(t, JSON_COMPACT, &len);
            check_indent(compact, len, t, 0);
            free(compact);
        }
        json_decref(t);
    }
}

/* Invalid UTF-8 and NUL bytes put in by hand: jansson refuses a value, half-writes a key. */
static void test_dump_odd_strings(void **state)
{
    (void)state;
    const char *bad[] = {"\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "ab\xe2\x82", "\xff", "x\xf0\x9f\x98"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "v", json_stringn_nocheck(bad[i], strlen(bad[i])));
        assert_false(check_dump(o, JSON_COMPACT)); /* NULL from both */
        json_object_clear(o);
        json_object_setn_new_nocheck(o, bad[i], strlen(bad[i]), json_integer(1));
        json_object_set_new(o, "a", json_true());
        check_dump(o, JSON_COMPACT);
        check_dump(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
    }
    json_t *o = json_object();
    json_object_setn_new(o, "a\0b", 3, json_stringn("x\0y", 3));
    json_object_setn_new(o, "a", 1, json_integer(1));
    json_object_setn_new(o, "a\0", 2, json_integer(2));
    assert_true(check_dump(o, JSON_COMPACT | JSON_SORT_KEYS));
    char *s = jsonio_dump(o, JSON_COMPACT | JSON_SORT_KEYS, NULL);
    assert_string_equal(s, "{\"a\":1,\"a\\u0000\":2,\"a\\u0000b\":\"x\\u0000y\"}");
    free(s);
    json_decref(o);
    assert_null(jsonio_dump(NULL, JSON_COMPACT, NULL));
}

/*** (c) mutations ***/

static size_t mutate(const char *src, size_t len, char *dst, size_t cap)
{
    static const char interesting[] = "\"\\,:{}[]0-.eE +tfn\x80\xc3\xa9\x01\nu";
    static const char *snippets[] = {"\\u0000", "\\uD800", "\\u00e9", "1e999", "99999999999999999999", ",", "\"a\":1,",
                                     "[", "{", "\xf0\x9f", "-0", "null", "\"\""};
    memcpy(dst, src, len);
    size_t n = len, edits = 1 + below(3);
    for (size_t e = 0; e < edits && n > 0; e++) {
        size_t at = below(n);
        switch (below(6)) {
        case 0:
            dst[at] = (char)below(256);
            break;
        case 1:
            dst[at] = interesting[below(sizeof interesting - 1)];
            break;
        case 2:
            n = below(n + 1);
            break;
        case 3:
            memmove(dst + at, dst + at + 1, n - at - 1);
            n--;
            break;
        default: {
            const char *sn = snippets[below(sizeof snippets / sizeof *snippets)];
            size_t sl = strlen(sn);
            if (n + sl > cap)
                break;
            memmove(dst + at + sl, dst + at, n - at);
            memcpy(dst + at, sn, sl);
            n += sl;
        }
        }
    }
    return n;
}

static void test_mutations(void **state)
{
    (void)state;
    size_t joblen;
    char *job = read_file("bench/job.json", &joblen);
    static char buf[1 << 14];
    int ok = 0, failed = 0;
    for (int i = 0; i < 6000; i++) {
        const char *src;
        size_t len;
        char *owned = NULL;
        size_t pick = below(4);
        if (pick == 0) {
            src = job;
            len = joblen;
        } else if (pick == 1) {
            src = POD;
            len = sizeof POD - 1;
        } else if (pick == 2) {
            const doc *d = &fixtures[below(sizeof fixtures / sizeof *fixtures)];
            src = d->s;
            len = d->len;
        } else {
            json_t *t = random_tree(4);
            owned = json_dumps(t, JSON_COMPACT | JSON_ENCODE_ANY);
            json_decref(t);
            src = owned;
            len = strlen(owned);
        }
        if (len > sizeof buf / 2) {
            free(owned);
            continue;
        }
        size_t n = mutate(src, len, buf, sizeof buf);
        outcome r = check_parse(buf, n, i % 2 ? JSON_REJECT_DUPLICATES : 0);
        ok += r.ok;
        failed += !r.ok;
        free(owned);
    }
    /* both sides of the line were exercised */
    assert_true(ok > 500);
    assert_true(failed > 2000);
    free(job);
}

/* Repeated keys, with kube's strict-decoding paths; calls come innermost object first. */
static void collect_dup(void *arg, size_t off, const char *path)
{
    char *buf = arg;
    size_t n = strlen(buf);
    snprintf(buf + n, 1024 - n, "%s%zu:%s", n ? " " : "", off, path);
}

static void test_duplicates(void **state)
{
    (void)state;
    char got[1024] = "";
    const char *t = "{\"a\":1,\"m\":{\"x\":[{\"k\":1,\"k\":2,\"k\":3}],\"y\":\"\\u00e9\\\"\",\"x\":null},"
                    "\"a\":{\"z\":{}}, \"\\u0061\" : 3}";
    assert_int_equal(jsonio_duplicates(t, strlen(t), collect_dup, got), 0);
    assert_string_equal(got, "24:m.x[0].k 30:m.x[0].k 53:m.x 63:a 77:a");
    got[0] = 0;
    t = "[{\"a\":1},{\"b\":[1,2,{\"c\":{},\"c\":[]}]}] ";
    assert_int_equal(jsonio_duplicates(t, strlen(t), collect_dup, got), 0);
    assert_string_equal(got, "27:[1].b[2].c");
    got[0] = 0;
    t = "{\"a\":1,\"b\":\"a\"}";
    assert_int_equal(jsonio_duplicates(t, strlen(t), collect_dup, got), 0);
    assert_string_equal(got, "");
    assert_int_equal(jsonio_duplicates("{\"a\":", 5, collect_dup, got), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),       cmocka_unit_test(test_fast_path_taken),
        cmocka_unit_test(test_depth),          cmocka_unit_test(test_random_trees),
        cmocka_unit_test(test_dump_odd_strings), cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_indent),         cmocka_unit_test(test_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
