/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The wire of stockaded's socket (stockaded(8), PROTOCOL). A connection is
 * a SOCK_STREAM Unix socket carrying frames: a 4-byte big-endian length,
 * then that many bytes of one JSON object (UTF-8, no NUL). File
 * descriptors ride as SCM_RIGHTS on the frame's first byte. Every message
 * has "v" (PROTO_VERSION) and "type":
 *
 *   client -> daemon   "run"     the request (run-request.h), fds: stdin,
 *                                stdout, stderr, then one per bind source
 *                      "signal"  {"signo": N}: relay N to the task
 *   daemon -> client   "queued"  {"position": N}: waiting for a slot
 *                      "started" {}: the task has exec'd
 *                      "refused" {"reason", "step", "status"}: admission said no
 *                      "result"  {"status", "result": {result JSON},
 *                                 "messages": ["one line", ...]}
 *                      "error"   {"reason", "status"}: the daemon failed
 *
 * Frames over PROTO_MAX_FRAME, a bad length, a frame that is not a JSON
 * object, or a wrong "v" are refused with -EBADMSG / -EMSGSIZE and the
 * connection is closed by the daemon. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define PROTO_VERSION 1
#define PROTO_MAX_FRAME (4u << 20) /* 4 MiB: room for a script and an environment */
#define PROTO_MAX_FDS 64           /* stdio + bind sources */

/* A frame being read from a non-blocking (or blocking) socket. */
typedef struct ProtoReader {
        uint8_t hdr[4];
        size_t hdr_got;
        char *buf;          /* the frame's bytes, NUL-terminated once complete */
        size_t len, got;
        int fds[PROTO_MAX_FDS];
        size_t n_fds;       /* fds received with this frame (owned until taken) */
} ProtoReader;

#define PROTO_READER_NULL ((ProtoReader) { .len = 0 })

/* Reads what is available. Returns 1 when a frame is complete (then
 * proto_reader_take() it), 0 when more is needed (EAGAIN), -ECONNRESET on
 * end of stream (before or inside a frame: *mid_frame says which),
 * -EMSGSIZE for a length over PROTO_MAX_FRAME or zero, -EBADMSG for more
 * fds than PROTO_MAX_FDS or fds that arrived truncated, -errno otherwise. */
int proto_reader_feed(ProtoReader *r, int fd, bool *mid_frame);

/* Parses the completed frame: a JSON object with the right "v" and a
 * string "type". *ret_msg is a new reference; the frame's fds move to
 * ret_fds (*ret_n_fds of them, the caller closes them). The reader is
 * reset for the next frame. -EBADMSG with err set when the frame is bad. */
int proto_reader_take(ProtoReader *r, struct json_object **ret_msg, int *ret_fds, size_t *ret_n_fds, char *err,
                      size_t errlen);
void proto_reader_done(ProtoReader *r); /* closes fds not taken, frees */

/* Feed, then take: 1 with *ret_msg (and the frame's fds in ret_fds, or
 * closed when ret_fds is NULL), 0 when more is needed, or the negative
 * errno of either step with err saying in words what was wrong. */
int proto_reader_next(ProtoReader *r, int fd, struct json_object **ret_msg, int *ret_fds, size_t *ret_n_fds,
                      bool *mid_frame, char *err, size_t errlen);

/* Writes one frame (blocking; retries EINTR and short writes, waits on
 * EAGAIN), with fds on its first byte. msg gets "v" added. */
int proto_send(int fd, struct json_object *msg, const int *fds, size_t n_fds);

/* Blocking: reads one whole frame (for the client). */
int proto_recv(int fd, struct json_object **ret_msg, int *ret_fds, size_t *ret_n_fds, char *err, size_t errlen);

/* A new {"type": type} message. */
struct json_object *proto_message(const char *type);
const char *proto_type(struct json_object *msg); /* NULL when absent */
