/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "basic/sha256.h"
#include "journal-store.h"

static bool sha_valid(const char *sha) {
        if (strlen(sha) != 64)
                return false;
        for (const char *p = sha; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

static int object_name(const char *kind, const char *sha, char *buf, size_t size) {
        if (!sha_valid(sha))
                return -EINVAL;
        (void) snprintf(buf, size, "%s/%s%s", kind, sha, streq(kind, "profiles") ? ".yaml" : "");
        return 0;
}

static int store(const char *dir, const char *kind, const char *sha, const void *data, size_t len) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        char name[128], tmp[160];
        size_t off = 0;
        int r;

        r = object_name(kind, sha, name, sizeof name);
        if (r < 0)
                return r;
        dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        if (faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                return 0; /* content-addressed: already there is already right */
        if (mkdirat(dfd, kind, 0700) < 0 && errno != EEXIST)
                return -errno;
        (void) snprintf(tmp, sizeof tmp, "%s/.%s.%d.tmp", kind, sha, (int) getpid());
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        while (off < len) {
                ssize_t n = write(fd, (const char *) data + off, len - off);
                if (n < 0) {
                        r = -errno;
                        (void) unlinkat(dfd, tmp, 0);
                        return r;
                }
                off += (size_t) n;
        }
        if (fsync(fd) < 0 || renameat(dfd, tmp, dfd, name) < 0) {
                r = -errno;
                (void) unlinkat(dfd, tmp, 0);
                return r;
        }
        return 0;
}

int journal_store_profile(const char *dir, const Profile *p) {
        /* Not PATH_MAX: a frame that deep reaches stack pages no other
         * part of a run has warmed, which measurably slowed this call; a
         * longer journal path only skips the shortcut. */
        char name[128], path[512];
        _cleanup_free_ char *yaml = NULL;

        /* The common case, every run of a profile after its first, costs
         * one lookup: no YAML emission, not even an open of the directory. */
        if (object_name("profiles", p->sha256, name, sizeof name) < 0)
                return -EINVAL;
        if ((size_t) snprintf(path, sizeof path, "%s/%s", dir, name) < sizeof path &&
            faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                return 0;
        yaml = profile_to_yaml(p);
        if (!yaml)
                return -ENOMEM;
        return store(dir, "profiles", p->sha256, yaml, strlen(yaml));
}

int journal_store_code(const char *dir, const SandboxSpec *spec) {
        if (spec->origin != CODE_SCRIPT || !spec->script_data)
                return 0;
        if (spec->script_len > JOURNAL_CODE_MAX)
                return -EFBIG;
        return store(dir, "code", spec->script_sha256, spec->script_data, spec->script_len);
}

int journal_load_object(const char *dir, const char *kind, const char *sha, char **ret, size_t *ret_len) {
        _cleanup_free_ char *path = NULL, *data = NULL;
        char name[128], got[65];
        int r, n;

        r = object_name(kind, sha, name, sizeof name);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        n = read_full_file(path, JOURNAL_CODE_MAX + 1, &data);
        if (n < 0)
                return n;
        (void) sha256_hex(data, (size_t) n, got);
        if (!streq(got, sha))
                return -EBADMSG;
        *ret = TAKE_PTR(data);
        *ret_len = (size_t) n;
        return 0;
}
