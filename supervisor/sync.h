/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Messages between the supervisor and the sandbox's init over a
 * SOCK_SEQPACKET pair: one message per datagram, so no framing.
 *
 *   #1 parent -> init  SYNC_GO           after v1 cgroup placement
 *  #1b parent -> init  SYNC_READY        with a network wall or shape: they stand, the task may exec;
 *                                        what: the task's /etc/resolv.conf (allowlist mode)
 *   #2 init -> parent  SYNC_STARTED      the task has exec'd (phase timings)
 *      init -> parent  SYNC_SETUP_ERROR  a wall could not be built, or exec failed
 *   #3 init -> parent  SYNC_TASK_EXITED  the task's wait status; init exits next
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "result.h"

typedef enum SyncType {
        SYNC_GO = 1,
        SYNC_STARTED,
        SYNC_SETUP_ERROR,
        SYNC_TASK_EXITED,
        SYNC_READY,
} SyncType;

typedef struct SyncMsg {
        uint32_t type;
        int32_t err;     /* SETUP_ERROR: positive errno */
        int32_t status;  /* TASK_EXITED: wait status */
        uint32_t phase;  /* SETUP_ERROR: StartPhase that failed */
        double phase_ms[_PHASE_MAX];
        char what[192];  /* SETUP_ERROR: the step, NUL-terminated */
} SyncMsg;

static inline int sync_send(int fd, const SyncMsg *m) {
        ssize_t n;
        do
                n = send(fd, m, sizeof *m, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return n == (ssize_t) sizeof *m ? 0 : -EIO;
}

/* A message carrying one fd (SCM_RIGHTS), or none when fd < 0. */
static inline int sync_send_fd(int sock, const SyncMsg *m, int fd) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } c = {};
        struct iovec iov = { .iov_base = (void *) m, .iov_len = sizeof *m };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (fd < 0)
                return sync_send(sock, m);
        mh.msg_control = c.buf;
        mh.msg_controllen = sizeof c.buf;
        c.h.cmsg_level = SOL_SOCKET;
        c.h.cmsg_type = SCM_RIGHTS;
        c.h.cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(&c.h), &fd, sizeof(int));
        do
                n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return n == (ssize_t) sizeof *m ? 0 : -EIO;
}

/* Like sync_recv(), and *ret_fd gets a passed fd (close-on-exec) or -EBADF. */
static inline int sync_recv_fd(int sock, SyncMsg *m, int flags, int *ret_fd) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } c;
        struct iovec iov = { .iov_base = m, .iov_len = sizeof *m };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf };
        ssize_t n;

        *ret_fd = -EBADF;
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -EPIPE;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
                if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS && h->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(ret_fd, CMSG_DATA(h), sizeof(int));
        if (n != (ssize_t) sizeof *m || (mh.msg_flags & MSG_CTRUNC)) {
                if (*ret_fd >= 0)
                        (void) close(*ret_fd);
                *ret_fd = -EBADF;
                return -EBADMSG;
        }
        m->what[sizeof m->what - 1] = 0;
        return 0;
}

/* 0 on a message, -EPIPE on EOF (the peer is gone), -EAGAIN when flags
 * has MSG_DONTWAIT and nothing is queued. */
static inline int sync_recv(int fd, SyncMsg *m, int flags) {
        ssize_t n;
        do
                n = recv(fd, m, sizeof *m, MSG_CMSG_CLOEXEC | flags);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -EPIPE;
        if (n != (ssize_t) sizeof *m)
                return -EBADMSG;
        m->what[sizeof m->what - 1] = 0;
        return 0;
}
