/* websocket: the accept key, the client frame decoder (masks, fragments, split reads, control
 * frames between fragments, errors) and our frame headers. */
#include "unit.h"
#include "websocket.h"

typedef struct got {
    char data[8192];
    size_t len;
    int firsts, fins, last_op;
    int ctl_op[8];
    char ctl[8][126];
    size_t nctl;
    char order[64]; /* 'd' per data piece, 'c' per control frame */
    size_t norder;
} got;

static void on_data(void *arg, int op, int first, int fin, const char *p, size_t n)
{
    got *g = arg;
    memcpy(g->data + g->len, p, n);
    g->len += n;
    g->firsts += first;
    g->fins += fin;
    g->last_op = op;
    g->order[g->norder++] = 'd';
}

static void on_control(void *arg, int op, const char *p, size_t n)
{
    got *g = arg;
    g->ctl_op[g->nctl] = op;
    memcpy(g->ctl[g->nctl], p, n);
    g->ctl[g->nctl][n] = 0;
    g->nctl++;
    g->order[g->norder++] = 'c';
}

static const ws_events events = {on_data, on_control};

/* A masked client frame of op with payload[0..n) into out: its length. */
static size_t client_frame(unsigned char *out, int fin, int op, const char *payload, size_t n)
{
    static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t h = 0;
    out[h++] = (unsigned char)((fin ? 0x80 : 0) | op);
    if (n < 126) {
        out[h++] = (unsigned char)(0x80 | n);
    } else if (n <= 0xffff) {
        out[h++] = 0x80 | 126;
        out[h++] = (unsigned char)(n >> 8);
        out[h++] = (unsigned char)n;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            out[h++] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    }
    memcpy(out + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        out[h + i] = (unsigned char)payload[i] ^ mask[i & 3];
    return h + n;
}

static void test_accept_key(void **state)
{
    (void)state;
    char out[29];
    /* RFC 6455, section 1.3 */
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(ws_accept_key("", out), -1);
    assert_int_equal(ws_accept_key("c2hvcnQ=", out), -1); /* 5 bytes, not 16 */
    assert_int_equal(ws_accept_key("not base64!!", out), -1);
}

static void test_single_and_split(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = client_frame(buf, 1, WS_BINARY, "\x01hello", 6);
    /* byte by byte: the header and payload arrive in pieces */
    ws_parser p = {0};
    got g = {0};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ws_parse(&p, (char *)buf + i, 1, 1 << 20, &events, &g), 0);
    assert_int_equal(g.len, 6);
    assert_memory_equal(g.data, "\x01hello", 6);
    assert_int_equal(g.firsts, 1);
    assert_int_equal(g.fins, 1);
    assert_int_equal(g.last_op, WS_BINARY);
    /* two frames in one read */
    memset(&p, 0, sizeof p);
    memset(&g, 0, sizeof g);
    n = client_frame(buf, 1, WS_BINARY, "\x00" "ab", 3);
    n += client_frame(buf + n, 1, WS_TEXT, "cd", 2);
    assert_int_equal(ws_parse(&p, (char *)buf, n, 1 << 20, &events, &g), 0);
    assert_int_equal(g.len, 5);
    assert_memory_equal(g.data, "\x00" "abcd", 5);
    assert_int_equal(g.firsts, 2);
    assert_int_equal(g.fins, 2);
    assert_int_equal(g.last_op, WS_TEXT);
}

static void test_lengths(void **state)
{
    (void)state;
    static unsigned char buf[70000 + 16];
    static char payload[70000];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (char)(i * 7);
    size_t sizes[] = {0, 125, 126, 65535, 65536, 70000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = client_frame(buf, 1, WS_BINARY, payload, sizes[s]);
        ws_parser p = {0};
        got *g = calloc(1, sizeof *g + 70000);
        size_t total = 0;
        /* deliver in reads of 1000: check the pieces add up, in order */
        for (size_t off = 0; off < n; off += 1000) {
            size_t k = n - off < 1000 ? n - off : 1000;
            g->len = 0;
            assert_int_equal(ws_parse(&p, (char *)buf + off, k, 1 << 20, &events, g), 0);
            if (g->len) {
                assert_memory_equal(g->data, payload + total, g->len);
                total += g->len;
            }
        }
        assert_int_equal(total, sizes[s]);
        assert_int_equal(g->firsts, 1);
        assert_int_equal(g->fins, 1);
        free(g);
    }
}

static void test_fragments_and_control(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = client_frame(buf, 0, WS_BINARY, "\x00" "one", 4);
    n += client_frame(buf + n, 1, WS_PING, "hb", 2); /* a ping between fragments */
    n += client_frame(buf + n, 0, WS_CONT, "", 0);
    n += client_frame(buf + n, 1, WS_CONT, "two", 3);
    n += client_frame(buf + n, 1, WS_CLOSE, "\x03\xe8", 2);
    ws_parser p = {0};
    got g = {0};
    assert_int_equal(ws_parse(&p, (char *)buf, n, 1 << 20, &events, &g), 0);
    assert_int_equal(g.len, 7);
    assert_memory_equal(g.data, "\x00" "onetwo", 7);
    assert_int_equal(g.firsts, 1);
    assert_int_equal(g.fins, 1);
    assert_int_equal(g.nctl, 2);
    assert_int_equal(g.ctl_op[0], WS_PING);
    assert_string_equal(g.ctl[0], "hb");
    assert_int_equal(g.ctl_op[1], WS_CLOSE);
    g.order[g.norder] = 0;
    assert_string_equal(g.order, "dcdc");
    /* an empty final message still starts and ends */
    memset(&p, 0, sizeof p);
    memset(&g, 0, sizeof g);
    n = client_frame(buf, 1, WS_BINARY, "", 0);
    assert_int_equal(ws_parse(&p, (char *)buf, n, 1 << 20, &events, &g), 0);
    assert_int_equal(g.firsts, 1);
    assert_int_equal(g.fins, 1);
}

static void test_errors(void **state)
{
    (void)state;
    unsigned char buf[512];
    ws_parser p = {0};
    got g = {0};
    /* unmasked */
    unsigned char unmasked[] = {0x82, 0x01, 0x00};
    assert_int_equal(ws_parse(&p, (char *)unmasked, sizeof unmasked, 1 << 20, &events, &g), WS_PROTOCOL_ERROR);
    assert_int_equal(ws_parse(&p, (char *)unmasked, sizeof unmasked, 1 << 20, &events, &g), WS_PROTOCOL_ERROR);
    /* continuation with no message */
    memset(&p, 0, sizeof p);
    size_t n = client_frame(buf, 1, WS_CONT, "x", 1);
    assert_int_equal(ws_parse(&p, (char *)buf, n, 1 << 20, &events, &g), WS_PROTOCOL_ERROR);
    /* a new message inside a fragmented one */
    memset(&p, 0, sizeof p);
    n = client_frame(buf, 0, WS_BINARY, "x", 1);
    n += client_frame(buf + n, 1, WS_BINARY, "y", 1);
    assert_int_equal(ws_parse(&p, (char *)buf, n, 1 << 20, &events, &g), WS_PROTOCOL_ERROR);
    /* fragmented or long control frames */
    memset(&p, 0, sizeof p);
    n = client_frame(buf, 0, WS_PING, "x", 1);
    assert_int_equal(ws_parse(&p, (char *)buf, n, 1 << 20, &events, &g), WS_PROTOCOL_ERROR);
    memset(&p, 0, sizeof p);
    char big[200] = {0};
    n = client_frame(buf, 1, WS_PING, big, sizeof big);
    assert_int_equal(ws_parse(&p, (char *)buf, n, 1 << 20, &events, &g), WS_PROTOCOL_ERROR);
    /* reserved bits, unknown opcodes */
    memset(&p, 0, sizeof p);
    n = client_frame(buf, 1, WS_BINARY, "x", 1);
    buf[0] |= 0x40;
    assert_int_equal(ws_parse(&p, (char *)buf, n, 1 << 20, &events, &g), WS_PROTOCOL_ERROR);
    memset(&p, 0, sizeof p);
    n = client_frame(buf, 1, 3, "x", 1);
    assert_int_equal(ws_parse(&p, (char *)buf, n, 1 << 20, &events, &g), WS_PROTOCOL_ERROR);
    /* over the frame cap */
    memset(&p, 0, sizeof p);
    n = client_frame(buf, 1, WS_BINARY, big, sizeof big);
    assert_int_equal(ws_parse(&p, (char *)buf, n, 100, &events, &g), WS_TOO_BIG);
}

static void test_frame_header(void **state)
{
    (void)state;
    unsigned char h[10];
    assert_int_equal(ws_frame_header(h, WS_BINARY, 5), 2);
    assert_int_equal(h[0], 0x82);
    assert_int_equal(h[1], 5);
    assert_int_equal(ws_frame_header(h, WS_CLOSE, 126), 4);
    assert_int_equal(h[0], 0x88);
    assert_int_equal(h[1], 126);
    assert_int_equal(h[2] << 8 | h[3], 126);
    assert_int_equal(ws_frame_header(h, WS_BINARY, 65536), 10);
    assert_int_equal(h[1], 127);
    assert_int_equal(h[7], 1);
    assert_int_equal(h[8], 0);
    assert_int_equal(h[9], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key),
        cmocka_unit_test(test_single_and_split),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_fragments_and_control),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_frame_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
