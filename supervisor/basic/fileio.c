/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

int write_string_at(int dirfd, const char *name, const char *value) {
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(value);
        ssize_t n;

        fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        /* Kernel attribute files take one write; a short write is an error. */
        n = write(fd, value, len);
        if (n < 0)
                return -errno;
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

int write_u64_at(int dirfd, const char *name, uint64_t value) {
        char buf[24];
        (void) snprintf(buf, sizeof buf, "%" PRIu64, value);
        return write_string_at(dirfd, name, buf);
}

int read_file_at(int dirfd, const char *name, char *buf, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        size_t off = 0;

        if (size == 0)
                return -EINVAL;
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        while (off < size - 1) {
                ssize_t n = read(fd, buf + off, size - 1 - off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                off += (size_t) n;
        }
        buf[off] = 0;
        return (int) off;
}

int read_full_file(const char *path, size_t max, char **ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t off = 0, cap = 4096;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;
                if (off + 1 >= cap) {
                        char *nb;
                        if (cap >= max)
                                return -EFBIG;
                        cap = cap * 2 > max ? max : cap * 2;
                        nb = realloc(buf, cap);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                n = read(fd, buf + off, cap - 1 - off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                off += (size_t) n;
        }
        buf[off] = 0;
        *ret = TAKE_PTR(buf);
        return (int) off;
}

int keyed_u64_find(const char *text, const char *key, uint64_t *ret) {
        size_t klen = strlen(key);

        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
                        char *end;
                        errno = 0;
                        unsigned long long v = strtoull(p + klen + 1, &end, 10);
                        if (errno != 0 || end == p + klen + 1)
                                return -EINVAL;
                        *ret = v;
                        return 0;
                }
        }
        return -ENOENT;
}

int read_keyed_u64_at(int dirfd, const char *name, const char *key, uint64_t *ret) {
        char buf[4096];
        int r = read_file_at(dirfd, name, buf, sizeof buf);
        if (r < 0)
                return r;
        return keyed_u64_find(buf, key, ret);
}

int read_u64_at(int dirfd, const char *name, uint64_t *ret) {
        char buf[64], *end;
        int r = read_file_at(dirfd, name, buf, sizeof buf);
        if (r < 0)
                return r;
        if (strncmp(buf, "max", 3) == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        errno = 0;
        unsigned long long v = strtoull(buf, &end, 10);
        if (errno != 0 || end == buf)
                return -EINVAL;
        *ret = v;
        return 0;
}
