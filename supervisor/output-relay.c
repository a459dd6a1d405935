/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "basic/macro.h"
#include "output-relay.h"
#include "supervisor.h"

int output_relay_open(OutputRelay *o, uint64_t cap) {
        int p[2][2];

        *o = OUTPUT_RELAY_NULL;
        o->cap = cap;
        if (pipe2(p[0], O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(p[1], O_CLOEXEC) < 0) {
                int e = -errno;
                (void) close(p[0][0]);
                (void) close(p[0][1]);
                return e;
        }
        for (int i = 0; i < 2; i++) {
                sha256_init(&o->hash[i]);
                o->read_fd[i] = p[i][0];
                o->write_fd[i] = p[i][1];
                (void) fcntl(o->read_fd[i], F_SETFL, O_NONBLOCK);
        }
        return 0;
}

void output_relay_close_write_ends(OutputRelay *o) {
        for (int i = 0; i < 2; i++)
                o->write_fd[i] = safe_close(o->write_fd[i]);
}

static int write_until(int fd, const char *buf, size_t len, double deadline_ms) {
        while (len > 0) {
                struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                int timeout = -1;
                ssize_t n;

                if (deadline_ms > 0) {
                        double left = deadline_ms - monotonic_ms();
                        if (left <= 0)
                                return -ETIME;
                        timeout = (int) left + 1;
                }
                n = poll(&pfd, 1, timeout);
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n <= 0)
                        continue;
                /* At most PIPE_BUF: a pipe that polled writable takes it whole. */
                n = write(fd, buf, len < PIPE_BUF ? len : PIPE_BUF);
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return -errno;
                }
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

int output_relay_pump(OutputRelay *o, int which, double deadline_ms) {
        char buf[16384];

        for (;;) {
                ssize_t n = read(o->read_fd[which], buf, sizeof buf);
                size_t pass;

                if (n < 0)
                        return errno == EAGAIN ? 0 : errno == EINTR ? 0 : -errno;
                if (n == 0)
                        return -EPIPE;
                o->bytes += (uint64_t) n;
                sha256_update(&o->hash[which], buf, (size_t) n);
                pass = o->passed >= o->cap ? 0 : (size_t) (o->cap - o->passed < (uint64_t) n ? o->cap - o->passed : (uint64_t) n);
                if (pass < (size_t) n)
                        o->cut = true;
                if (pass > 0) {
                        /* A caller that went away or stalls loses output, not the task. */
                        (void) write_until(which == 0 ? STDOUT_FILENO : STDERR_FILENO, buf, pass, deadline_ms);
                        o->passed += pass;
                }
        }
}

void output_relay_hashes(OutputRelay *o, char ret_stdout[65], char ret_stderr[65]) {
        sha256_final_hex(&o->hash[0], ret_stdout);
        sha256_final_hex(&o->hash[1], ret_stderr);
}

void output_relay_done(OutputRelay *o) {
        for (int i = 0; i < 2; i++) {
                o->read_fd[i] = safe_close(o->read_fd[i]);
                o->write_fd[i] = safe_close(o->write_fd[i]);
        }
}
