/* websocket — RFC 6455 on the server side: the handshake's accept key, a streaming decoder of
 * the client's (masked) frames and an encoder of ours (unmasked). Knows nothing of sockets or of
 * what the messages mean (see podexec.c for Kubernetes' channel protocols). */
#ifndef TJ_WEBSOCKET_H
#define TJ_WEBSOCKET_H
#include <stddef.h>
#include <stdint.h>

enum { WS_CONT = 0, WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };
/* Close codes we send. */
enum { WS_NORMAL = 1000, WS_PROTOCOL_ERROR = 1002, WS_TOO_BIG = 1009 };

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + RFC 6455's GUID)), 28
 * characters and a NUL. -1 when the key is not 16 bytes in base64, as RFC 6455 requires. */
int ws_accept_key(const char *key, char out[29]);

typedef struct ws_events {
    /* A piece of a data message (op WS_TEXT or WS_BINARY), unmasked; first = 1 on the first
     * piece of a message (which may be empty), fin = 1 on its last. */
    void (*data)(void *arg, int op, int first, int fin, const char *p, size_t n);
    /* A whole control frame: WS_PING, WS_PONG or WS_CLOSE, payload ≤ 125 bytes. */
    void (*control)(void *arg, int op, const char *p, size_t n);
} ws_events;

/* The decoder's state: zero it to start. Messages are delivered in pieces as frames arrive, so
 * a message of any length needs no buffer; a frame's declared length is still capped. */
typedef struct ws_parser {
    unsigned char hdr[14];
    size_t have;          /* header bytes so far */
    int in_payload;
    int op, fin;
    unsigned char mask[4];
    uint64_t left, pos;   /* payload bytes still to come; bytes of it unmasked so far */
    int msg_op;           /* opcode of the data message in progress, 0 when none */
    int msg_started;      /* its first piece was delivered */
    unsigned char ctl[125];
    size_t ctl_len;
    int failed;           /* the close code of the first error; nothing is decoded after it */
} ws_parser;

/* Decode data[0..len) (unmasked in place): events for each piece. Returns 0, or the close code
 * to send (WS_PROTOCOL_ERROR: unmasked client frame, reserved bits, bad opcode or continuation,
 * fragmented or long control frame; WS_TOO_BIG: a frame over max_frame bytes). */
int ws_parse(ws_parser *p, char *data, size_t len, uint64_t max_frame, const ws_events *ev, void *arg);

/* Header of an unmasked final frame of op with n payload bytes: 2, 4 or 10 bytes into out. */
size_t ws_frame_header(unsigned char out[10], int op, uint64_t n);
#endif
