/* websocket — see websocket.h. The decoder, per frame:
 *
 *   HEADER (2 bytes, then 0/2/8 of length, then the 4-byte mask) ──complete──► PAYLOAD
 *      ▲                                                                          │ left == 0
 *      └──────────── data: the piece delivered; control: the frame delivered ◄───┘
 *
 * Invariants:
 *  1. A data message's pieces come in order, the first with first = 1 and the last with fin = 1;
 *     control frames may come between them (RFC 6455 5.4) and are delivered whole.
 *  2. After an error nothing more is decoded: the caller closes with the code returned.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "base64.h"
#include "websocket.h"

int ws_accept_key(const char *key, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    size_t klen = key ? strlen(key) : 0, raw_len = 0, bad = 0;
    unsigned char *raw = klen ? base64_decode(key, klen, &raw_len, &bad) : NULL;
    int ok = raw && raw_len == 16;
    free(raw);
    if (!ok)
        return -1;
    char buf[128];
    if (klen + sizeof guid > sizeof buf)
        return -1;
    memcpy(buf, key, klen);
    memcpy(buf + klen, guid, sizeof guid - 1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (EVP_Digest(buf, klen + sizeof guid - 1, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
        return -1;
    char *b = base64_encode(md, 20);
    if (!b)
        return -1;
    memcpy(out, b, 28);
    out[28] = 0;
    free(b);
    return 0;
}

size_t ws_frame_header(unsigned char out[10], int op, uint64_t n)
{
    out[0] = (unsigned char)(0x80 | (op & 0x0f));
    if (n < 126) {
        out[1] = (unsigned char)n;
        return 2;
    }
    if (n <= 0xffff) {
        out[1] = 126;
        out[2] = (unsigned char)(n >> 8);
        out[3] = (unsigned char)n;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (unsigned char)(n >> (56 - 8 * i));
    return 10;
}

static int fail(ws_parser *p, int code)
{
    p->failed = code;
    return code;
}

/* Bytes of header a frame needs, from its first two bytes. */
static size_t header_len(const unsigned char *h)
{
    size_t n = 2 + 4; /* client frames are masked */
    if ((h[1] & 0x7f) == 126)
        n += 2;
    else if ((h[1] & 0x7f) == 127)
        n += 8;
    return n;
}

/* The header is whole: check it and start the payload. */
static int begin_frame(ws_parser *p, uint64_t max_frame)
{
    const unsigned char *h = p->hdr;
    if (h[0] & 0x70)
        return fail(p, WS_PROTOCOL_ERROR); /* no extension was negotiated */
    p->fin = h[0] >> 7;
    p->op = h[0] & 0x0f;
    uint64_t n = h[1] & 0x7f;
    size_t off = 2;
    if (n == 126) {
        n = (uint64_t)h[2] << 8 | h[3];
        off = 4;
    } else if (n == 127) {
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | h[2 + i];
        off = 10;
        if (n >> 63)
            return fail(p, WS_PROTOCOL_ERROR);
    }
    memcpy(p->mask, h + off, 4);
    switch (p->op) {
    case WS_CLOSE: case WS_PING: case WS_PONG:
        if (!p->fin || n > 125)
            return fail(p, WS_PROTOCOL_ERROR);
        p->ctl_len = 0;
        break;
    case WS_TEXT: case WS_BINARY:
        if (p->msg_op)
            return fail(p, WS_PROTOCOL_ERROR); /* a new message inside a fragmented one */
        p->msg_op = p->op;
        p->msg_started = 0;
        break;
    case WS_CONT:
        if (!p->msg_op)
            return fail(p, WS_PROTOCOL_ERROR);
        break;
    default:
        return fail(p, WS_PROTOCOL_ERROR);
    }
    if (n > max_frame)
        return fail(p, WS_TOO_BIG);
    p->left = n;
    p->pos = 0;
    p->in_payload = 1;
    return 0;
}

/* The frame's payload is all in: deliver what is owed at its end. */
static void end_frame(ws_parser *p, const ws_events *ev, void *arg)
{
    p->in_payload = 0;
    p->have = 0;
    if (p->op >= WS_CLOSE) {
        ev->control(arg, p->op, (const char *)p->ctl, p->ctl_len);
        return;
    }
    if (!p->msg_started || p->fin) {
        /* an empty frame still marks a message's start or end */
        ev->data(arg, p->msg_op, !p->msg_started, p->fin, "", 0);
        p->msg_started = 1;
    }
    if (p->fin)
        p->msg_op = 0;
}

int ws_parse(ws_parser *p, char *data, size_t len, uint64_t max_frame, const ws_events *ev, void *arg)
{
    if (p->failed)
        return p->failed;
    size_t i = 0;
    while (i < len || (p->in_payload && p->left == 0)) {
        if (!p->in_payload) {
            size_t need = p->have < 2 ? 2 : header_len(p->hdr);
            while (p->have < need && i < len) {
                p->hdr[p->have++] = (unsigned char)data[i++];
                if (p->have == 2) {
                    if (!(p->hdr[1] & 0x80))
                        return fail(p, WS_PROTOCOL_ERROR); /* a client must mask */
                    need = header_len(p->hdr);
                }
            }
            if (p->have < need)
                return 0;
            int rc = begin_frame(p, max_frame);
            if (rc)
                return rc;
            continue;
        }
        size_t n = len - i;
        if (n > p->left)
            n = (size_t)p->left;
        char *piece = data + i;
        for (size_t k = 0; k < n; k++)
            piece[k] ^= (char)p->mask[(p->pos + k) & 3];
        p->pos += n;
        p->left -= n;
        i += n;
        if (p->op >= WS_CLOSE) {
            memcpy(p->ctl + p->ctl_len, piece, n);
            p->ctl_len += n;
        } else if (n > 0) {
            int fin = p->fin && p->left == 0;
            ev->data(arg, p->msg_op, !p->msg_started, fin, piece, n);
            p->msg_started = 1;
            if (fin) {
                p->msg_op = 0;
                p->in_payload = 0;
                p->have = 0;
                continue;
            }
        }
        if (p->left == 0)
            end_frame(p, ev, arg);
    }
    return 0;
}
