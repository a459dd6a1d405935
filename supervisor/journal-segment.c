/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Segment file names: journal-NNNNNN.jsonl, numbered from 1. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "journal-internal.h"

void journal_segment_name(unsigned n, char ret[JOURNAL_SEGMENT_NAME_MAX]) {
        (void) snprintf(ret, JOURNAL_SEGMENT_NAME_MAX, JOURNAL_SEGMENT_FORMAT, n);
}

int journal_segment_parse_name(const char *name, unsigned *ret) {
        const size_t pl = strlen(JOURNAL_SEGMENT_PREFIX), sl = strlen(JOURNAL_SEGMENT_SUFFIX);
        size_t len = strlen(name);
        unsigned long n = 0;

        if (len < pl + sl + 6 || len > pl + sl + 10 || strncmp(name, JOURNAL_SEGMENT_PREFIX, pl) != 0 ||
            strcmp(name + len - sl, JOURNAL_SEGMENT_SUFFIX) != 0)
                return -EINVAL;
        for (size_t i = pl; i < len - sl; i++) {
                if (name[i] < '0' || name[i] > '9')
                        return -EINVAL;
                n = n * 10 + (unsigned long) (name[i] - '0');
        }
        if (n < 1 || n > UINT_MAX)
                return -EINVAL;
        {
                char canon[JOURNAL_SEGMENT_NAME_MAX];
                journal_segment_name((unsigned) n, canon);
                if (!streq(canon, name)) /* journal-1.jsonl, journal-0000001.jsonl */
                        return -EINVAL;
        }
        *ret = (unsigned) n;
        return 0;
}

static int cmp_unsigned(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;
        return (x > y) - (x < y);
}

/* getdents64 into a buffer on the stack, not readdir(): opendir() takes a
 * 32 KiB buffer from the heap, and every run lists the segments just
 * before the sandbox is cloned, where each page it leaves mapped is copied
 * and then faults copy-on-write (tests/bench/startup). */
int journal_segments_list(int dirfd, unsigned **ret) {
        _cleanup_free_ unsigned *list = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n = 0, alloc = 0;
        union {
                struct dirent64 de;
                char raw[2048];
        } buf;
        ssize_t got;

        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        while ((got = getdents64(fd, buf.raw, sizeof buf.raw)) > 0)
                for (ssize_t off = 0; off < got;) {
                        const struct dirent64 *de = (const struct dirent64 *) (void *) (buf.raw + off);
                        unsigned k;

                        off += de->d_reclen;
                        if (journal_segment_parse_name(de->d_name, &k) < 0)
                                continue;
                        if (n == alloc) {
                                unsigned *nl;
                                alloc = alloc ? alloc * 2 : 16;
                                nl = realloc(list, alloc * sizeof *list);
                                if (!nl)
                                        return -ENOMEM;
                                list = nl;
                        }
                        list[n++] = k;
                }
        if (got < 0)
                return -errno;
        if (n > INT_MAX)
                return -E2BIG;
        if (n > 0)
                qsort(list, n, sizeof *list, cmp_unsigned);
        *ret = TAKE_PTR(list);
        return (int) n;
}
