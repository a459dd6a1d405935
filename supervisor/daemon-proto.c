/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <json.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "daemon-proto.h"

static void close_fds(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                fds[i] = safe_close(fds[i]);
}

/* Back to "no frame": the body freed, fds not taken closed. */
static void reader_reset(ProtoReader *r) {
        close_fds(r->fds, r->n_fds);
        free(r->buf);
        *r = PROTO_READER_NULL;
}

void proto_reader_done(ProtoReader *r) {
        if (r)
                reader_reset(r);
}

static bool reader_complete(const ProtoReader *r) {
        return r->buf && r->got == r->len;
}

/* Collects the SCM_RIGHTS of one recvmsg() into r->fds. Every fd that
 * arrived is either kept or closed, also on failure. */
static int collect_fds(ProtoReader *r, struct msghdr *mh) {
        int k = 0;

        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                size_t n;
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                        if (k == 0 && r->n_fds < PROTO_MAX_FDS)
                                r->fds[r->n_fds++] = fd;
                        else {
                                (void) safe_close(fd);
                                k = -EBADMSG;
                        }
                }
        }
        /* The kernel drops what did not fit in the control buffer (and
         * closes it): the frame's fd list is incomplete, so refuse it. */
        if (mh->msg_flags & MSG_CTRUNC)
                k = -EBADMSG;
        if (k < 0) {
                close_fds(r->fds, r->n_fds);
                r->n_fds = 0;
        }
        return k;
}

int proto_reader_feed(ProtoReader *r, int fd, bool *mid_frame) {
        /* Room for the fds and an SCM_CREDENTIALS the peer did not ask
         * for (SO_PASSCRED), so that only a real excess truncates. */
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS) + CMSG_SPACE(sizeof(struct ucred))];
        } control;

        if (mid_frame)
                *mid_frame = false;

        while (!reader_complete(r)) {
                struct iovec iov;
                struct msghdr mh = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof control.buf,
                };
                ssize_t n;
                int k;

                if (r->hdr_got == sizeof r->hdr && !r->buf) {
                        uint32_t len = (uint32_t) r->hdr[0] << 24 | (uint32_t) r->hdr[1] << 16 |
                                       (uint32_t) r->hdr[2] << 8 | (uint32_t) r->hdr[3];
                        /* Checked before anything is allocated for it. */
                        if (len == 0 || len > PROTO_MAX_FRAME)
                                return -EMSGSIZE;
                        r->buf = malloc((size_t) len + 1);
                        if (!r->buf)
                                return -ENOMEM;
                        r->len = len;
                        r->got = 0;
                        continue;
                }

                /* Never ask for more than the rest of this frame: the next
                 * frame's fds ride on its first byte. */
                if (r->hdr_got < sizeof r->hdr)
                        iov = (struct iovec) { r->hdr + r->hdr_got, sizeof r->hdr - r->hdr_got };
                else
                        iov = (struct iovec) { r->buf + r->got, r->len - r->got };

                n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        return -errno;
                }
                k = collect_fds(r, &mh);
                if (k < 0)
                        return k;
                if (n == 0) {
                        if (mid_frame)
                                *mid_frame = r->hdr_got > 0 || r->n_fds > 0;
                        return -ECONNRESET;
                }

                if (r->hdr_got < sizeof r->hdr)
                        r->hdr_got += (size_t) n;
                else
                        r->got += (size_t) n;
        }
        r->buf[r->len] = 0;
        return 1;
}

static int bad(char *err, size_t errlen, const char *fmt, ...) _printf_(3, 4);
static int bad(char *err, size_t errlen, const char *fmt, ...) {
        va_list ap;
        if (err && errlen > 0) {
                va_start(ap, fmt);
                (void) vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return -EBADMSG;
}

/* A whole JSON object in exactly len bytes: no NUL, nothing after it but
 * white space, valid UTF-8. */
static int parse_object(const char *buf, size_t len, json_object **ret, char *err, size_t errlen) {
        json_tokener *tok;
        json_object *o;
        enum json_tokener_error e;
        size_t end;

        if (memchr(buf, 0, len))
                return bad(err, errlen, "frame holds a NUL byte");
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, buf, (int) len);
        e = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (e != json_tokener_success) {
                json_object_put(o);
                if (e == json_tokener_continue)
                        return bad(err, errlen, "frame is not one whole JSON value");
                return bad(err, errlen, "frame is not JSON: %s at byte %zu", json_tokener_error_desc(e), end);
        }
        for (size_t i = end; i < len; i++)
                if (!strchr(" \t\r\n", buf[i])) {
                        json_object_put(o);
                        return bad(err, errlen, "frame has bytes after its JSON value (at byte %zu)", i);
                }
        if (!json_object_is_type(o, json_type_object)) { /* a JSON null is o == NULL */
                json_object_put(o);
                return bad(err, errlen, "frame is not a JSON object");
        }
        *ret = o;
        return 0;
}

int proto_reader_take(ProtoReader *r, json_object **ret_msg, int *ret_fds, size_t *ret_n_fds, char *err,
                      size_t errlen) {
        json_object *msg = NULL, *v, *t;
        int k;

        if (err && errlen > 0)
                err[0] = 0;
        if (!reader_complete(r))
                return -EINVAL;

        k = parse_object(r->buf, r->len, &msg, err, errlen);
        if (k < 0)
                goto fail;
        if (!json_object_object_get_ex(msg, "v", &v) || !json_object_is_type(v, json_type_int)) {
                k = bad(err, errlen, "message has no integer \"v\"");
                goto fail;
        }
        if (json_object_get_int64(v) != PROTO_VERSION) {
                k = bad(err, errlen, "message is of protocol version %" PRId64 "; this side speaks %d",
                        json_object_get_int64(v), PROTO_VERSION);
                goto fail;
        }
        if (!json_object_object_get_ex(msg, "type", &t) || !json_object_is_type(t, json_type_string)) {
                k = bad(err, errlen, "message has no string \"type\"");
                goto fail;
        }

        if (ret_n_fds)
                *ret_n_fds = ret_fds ? r->n_fds : 0;
        if (ret_fds) {
                memcpy(ret_fds, r->fds, r->n_fds * sizeof(int));
                r->n_fds = 0;
        }
        reader_reset(r); /* closes the fds when the caller did not want them */
        *ret_msg = msg;
        return 0;
fail:
        json_object_put(msg);
        reader_reset(r);
        return k;
}

static int wait_for(int fd, short events) {
        struct pollfd p = { .fd = fd, .events = events };
        for (;;) {
                int n = poll(&p, 1, -1);
                if (n > 0)
                        return 0;
                if (n < 0 && errno != EINTR)
                        return -errno;
        }
}

int proto_send(int fd, json_object *msg, const int *fds, size_t n_fds) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
        } control = {};
        const char *body;
        size_t len, off = 0;
        uint8_t hdr[4];
        json_object *v;

        if (n_fds > PROTO_MAX_FDS)
                return -EINVAL;
        v = json_object_new_int(PROTO_VERSION);
        if (!v || json_object_object_add(msg, "v", v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        body = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
        if (!body)
                return -ENOMEM;
        len = strlen(body);
        if (len == 0 || len > PROTO_MAX_FRAME)
                return -EMSGSIZE;
        hdr[0] = (uint8_t) (len >> 24);
        hdr[1] = (uint8_t) (len >> 16);
        hdr[2] = (uint8_t) (len >> 8);
        hdr[3] = (uint8_t) len;

        while (off < sizeof hdr + len) {
                struct iovec iov[2];
                struct msghdr mh = {};
                size_t k = 0;
                ssize_t n;

                if (off < sizeof hdr)
                        iov[k++] = (struct iovec) { hdr + off, sizeof hdr - off };
                iov[k++] = (struct iovec) { (char *) body + (off > sizeof hdr ? off - sizeof hdr : 0),
                                            len - (off > sizeof hdr ? off - sizeof hdr : 0) };
                mh.msg_iov = iov;
                mh.msg_iovlen = k;
                /* The fds go with the frame's first byte, so only until
                 * something was sent. */
                if (off == 0 && n_fds > 0) {
                        struct cmsghdr *c;
                        mh.msg_control = control.buf;
                        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                        c = CMSG_FIRSTHDR(&mh);
                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SCM_RIGHTS;
                        c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                        memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
                }
                n = sendmsg(fd, &mh, MSG_NOSIGNAL);
                if (n < 0) {
                        int k2;
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                return -errno;
                        k2 = wait_for(fd, POLLOUT);
                        if (k2 < 0)
                                return k2;
                        continue;
                }
                off += (size_t) n;
        }
        return 0;
}

int proto_recv(int fd, json_object **ret_msg, int *ret_fds, size_t *ret_n_fds, char *err, size_t errlen) {
        _cleanup_(proto_reader_done) ProtoReader r = PROTO_READER_NULL;
        int k;

        if (err && errlen > 0)
                err[0] = 0;
        for (;;) {
                k = proto_reader_feed(&r, fd, /* mid_frame= */ NULL);
                if (k < 0)
                        return k;
                if (k > 0)
                        break;
                /* A non-blocking socket: wait for the rest. */
                k = wait_for(fd, POLLIN);
                if (k < 0)
                        return k;
        }
        return proto_reader_take(&r, ret_msg, ret_fds, ret_n_fds, err, errlen);
}

json_object *proto_message(const char *type) {
        json_object *o = json_object_new_object(), *t;

        if (!o)
                return NULL;
        t = json_object_new_string(type);
        if (!t || json_object_object_add(o, "type", t) < 0) {
                json_object_put(t);
                json_object_put(o);
                return NULL;
        }
        return o;
}

const char *proto_type(json_object *msg) {
        json_object *t;

        if (!msg || !json_object_object_get_ex(msg, "type", &t) || !json_object_is_type(t, json_type_string))
                return NULL;
        return json_object_get_string(t);
}

int proto_reader_next(ProtoReader *r, int fd, json_object **ret_msg, int *ret_fds, size_t *ret_n_fds,
                      bool *mid_frame, char *err, size_t errlen) {
        int fds[PROTO_MAX_FDS];
        size_t n_fds = 0;
        int k;

        k = proto_reader_feed(r, fd, mid_frame);
        if (k < 0)
                (void) snprintf(err, errlen, "%s",
                                k == -ECONNRESET ? (*mid_frame ? "the peer disconnected inside a frame"
                                                                : "the peer disconnected")
                                : k == -EMSGSIZE ? "a frame length of 0 or over the 4 MiB limit"
                                : k == -EBADMSG  ? "too many or truncated file descriptors"
                                                 : strerror(-k));
        if (k <= 0)
                return k;
        k = proto_reader_take(r, ret_msg, ret_fds ? ret_fds : fds, ret_n_fds ? ret_n_fds : &n_fds, err, errlen);
        if (k < 0)
                return k;
        if (!ret_fds)
                for (size_t i = 0; i < n_fds; i++)
                        (void) close(fds[i]);
        return 1;
}
