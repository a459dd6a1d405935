/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/macro.h"
#include "secrets.h"

static int check_private(const struct stat *st, const char *what, const char *path, char *err, size_t errlen) {
        if (st->st_uid != 0 || (st->st_mode & 077)) {
                (void) snprintf(err, errlen, "secret %s '%s' is readable by others or not root's; "
                                "make it root-owned with mode %s", what, path, S_ISDIR(st->st_mode) ? "0700" : "0600");
                return -EPERM;
        }
        return 0;
}

int secret_load(const char *store, const char *name, char **ret, size_t *ret_len, char *err, size_t errlen) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        struct stat st;
        char *buf;
        ssize_t n;
        int r;

        dfd = open(store, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0 || fstat(dfd, &st) < 0) {
                r = -errno;
                (void) snprintf(err, errlen, "cannot open the secret store '%s': %s; create it (root, 0700)", store,
                                strerror(-r));
                return r;
        }
        r = check_private(&st, "store", store, err, errlen);
        if (r < 0)
                return r;
        /* The name was validated ([A-Za-z0-9_.-]); O_NOFOLLOW refuses links. */
        fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0) {
                r = -errno;
                (void) snprintf(err, errlen, "cannot read secret '%s' from '%s': %s; put it there (root, 0600)", name,
                                store, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                (void) snprintf(err, errlen, "secret '%s' in '%s' is not a regular file", name, store);
                return -EINVAL;
        }
        r = check_private(&st, "file", name, err, errlen);
        if (r < 0)
                return r;
        if ((uint64_t) st.st_size > SECRET_MAX_BYTES) {
                (void) snprintf(err, errlen, "secret '%s' is larger than %u KiB", name, SECRET_MAX_BYTES >> 10);
                return -EFBIG;
        }
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        n = read(fd, buf, (size_t) st.st_size + 1);
        if (n < 0 || n > st.st_size) {
                r = n < 0 ? -errno : -EIO;
                explicit_bzero(buf, (size_t) st.st_size + 1);
                free(buf);
                (void) snprintf(err, errlen, "cannot read secret '%s': %s", name, strerror(-r));
                return r;
        }
        buf[n] = 0;
        *ret = buf;
        *ret_len = (size_t) n;
        return 0;
}
