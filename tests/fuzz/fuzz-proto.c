/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: stockaded's socket (supervisor/daemon-proto.c) and the
 * "run" request decoder (supervisor/run-request.c). The input is the byte
 * stream a client would write: it goes through a socketpair into
 * proto_reader_feed()/proto_reader_take(), frame after frame, and every
 * "run" message into run_request_decode() with two bind fds at hand (a
 * directory and a regular file). Beyond "no crash, no leak, no fd leak":
 * a refusal always says why, and a request that decodes encodes and
 * decodes again to the same thing. */
#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon-proto.h"
#include "run-request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* run-options.c parses --net-pool with it; nothing here parses a command
 * line, and net-host.c would bring libnl along. */
int net_pool_parse(const char *v4cidr, const char *v6cidr, NetPool *ret) {
        (void) v4cidr;
        (void) v6cidr;
        (void) ret;
        return -EOPNOTSUPP;
}

static int bind_fds[2] = { -1, -1 };

static void open_bind_fds(void) {
        if (bind_fds[0] >= 0)
                return;
        bind_fds[0] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        bind_fds[1] = memfd_create("fuzz-proto", MFD_CLOEXEC);
        if (bind_fds[0] < 0 || bind_fds[1] < 0)
                abort();
}

static bool same(const RunOptions *a, const RunOptions *b) {
        if (strcmp(a->spec.request_id, b->spec.request_id) != 0 || a->spec.origin != b->spec.origin ||
            a->limits_set != b->limits_set || memcmp(&a->limits, &b->limits, sizeof a->limits) != 0 ||
            a->n_binds != b->n_binds || a->n_pass_env != b->n_pass_env || a->n_set_env != b->n_set_env ||
            a->verbose != b->verbose || a->attempt != b->attempt)
                return false;
        for (size_t i = 0; a->spec.argv[i] || b->spec.argv[i]; i++)
                if (!a->spec.argv[i] || !b->spec.argv[i] || strcmp(a->spec.argv[i], b->spec.argv[i]) != 0)
                        return false;
        for (size_t i = 0; i < a->n_binds; i++)
                if (strcmp(a->binds[i].dest, b->binds[i].dest) != 0 || a->binds[i].mode != b->binds[i].mode)
                        return false;
        if (a->spec.origin == CODE_SCRIPT &&
            (a->spec.script_len != b->spec.script_len || strcmp(a->spec.script_sha256, b->spec.script_sha256) != 0 ||
             memcmp(a->spec.script_data, b->spec.script_data, a->spec.script_len) != 0))
                return false;
        return true;
}

/* Encodes what decoded and decodes it again. The encoder opens the
 * sources as the client would: here the decoder's "/proc/self/fd/N". */
static void roundtrip(const RunOptions *o, const RunRequestMeta *m) {
        json_object *msg = NULL;
        int *fds = NULL;
        size_t n = 0;
        char err[512];
        RunOptions o2;
        RunRequestMeta m2;

        if (run_request_encode(o, m, &msg, &fds, &n, err, sizeof err) < 0) {
                /* The workdir is opened by its path, which need not exist here. */
                if (!err[0] || !o->workdir)
                        abort();
                return;
        }
        if (run_request_decode(msg, fds, n, &o2, &m2, err, sizeof err) < 0 || !same(o, &o2))
                abort();
        run_options_done(&o2);
        run_request_meta_done(&m2);
        for (size_t i = 0; i < n; i++)
                close(fds[i]);
        free(fds);
        json_object_put(msg);
}

static void handle(json_object *msg) {
        const char *type = proto_type(msg);
        RunOptions o;
        RunRequestMeta m;
        char err[512];

        if (!type || strcmp(type, "run") != 0)
                return;
        if (run_request_decode(msg, bind_fds, 2, &o, &m, err, sizeof err) < 0) {
                if (!err[0])
                        abort();
                return;
        }
        roundtrip(&o, &m);
        run_options_done(&o);
        run_request_meta_done(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ProtoReader r = PROTO_READER_NULL;
        size_t off = 0;
        bool shut = false;
        int sv[2];

        open_bind_fds();
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                abort();
        for (;;) {
                json_object *msg = NULL;
                int fds[PROTO_MAX_FDS];
                size_t n_fds = 0;
                char err[512] = "";
                bool mid;
                int k;

                /* Write what fits, read what came: inputs may be larger
                 * than the socket buffer. */
                if (off < size) {
                        ssize_t w = send(sv[0], data + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (w > 0)
                                off += (size_t) w;
                        else if (errno != EAGAIN)
                                abort();
                } else if (!shut) {
                        (void) shutdown(sv[0], SHUT_WR);
                        shut = true;
                }
                k = proto_reader_feed(&r, sv[1], &mid);
                if (k == 0) {
                        if (shut)
                                abort(); /* the end of the stream must be seen */
                        continue;
                }
                if (k < 0)
                        break;
                k = proto_reader_take(&r, &msg, fds, &n_fds, err, sizeof err);
                if (k < 0) {
                        if (!err[0] || msg)
                                abort();
                        continue;
                }
                if (n_fds != 0)
                        abort(); /* none were sent */
                handle(msg);
                json_object_put(msg);
        }
        proto_reader_done(&r);
        close(sv[0]);
        close(sv[1]);
        return 0;
}
