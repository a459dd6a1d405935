/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pinned program cache of the BPF loaders; see bpf-cache.h, and
 * supervisor/bpf-egress.c for why and how. Generic over the set: directory
 * checks, the lock, the content-addressed name, pinning and opening a set
 * of named objects, and checking an opened set against the kernel. */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "basic/sha256.h"
#include "bpf-cache.h"

#define BPF_CACHE_DIR_DEFAULT "/sys/fs/bpf/stockade"
#define SET_MAX_OBJECTS 16

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

void bpf_cache_close_fds(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                fds[i] = safe_close(fds[i]);
}

size_t bpf_cache_map_keys(int fd, void *keys, size_t key_size, size_t max) {
        size_t n = 0;

        while (n < max && bpf_map_get_next_key(fd, n == 0 ? NULL : (char *) keys + (n - 1) * key_size,
                                               (char *) keys + n * key_size) == 0)
                n++;
        return n;
}

/* "<name>-" and the first 16 hex digits of SHA-256(object || layout). */
static const char *subdir_name(BpfCacheSet *set) {
        char hex[65];
        const void *elf;
        size_t sz;
        Sha256 h;

        if (!set->subdir_cache[0]) { /* the object is constant: hashed once */
                elf = set->elf_bytes(&sz);
                sha256_init(&h);
                sha256_update(&h, elf, sz);
                sha256_update(&h, set->layout, strlen(set->layout) + 1);
                sha256_final_hex(&h, hex);
                (void) snprintf(set->subdir_cache, sizeof set->subdir_cache, "%s-%.16s", set->name, hex);
        }
        return set->subdir_cache;
}

const char *bpf_cache_base(void) {
        const char *d = getenv("STOCKADE_BPF_DIR");

        if (!d)
                return BPF_CACHE_DIR_DEFAULT;
        return d[0] == '/' ? d : NULL; /* empty (or relative): off */
}

/* Ours, and writable by nobody else. */
static int check_private(const BpfCacheSet *set, int fd, const char *what) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0022))
                return log_debug_errno(-EPERM, "bpf-%s: %s is not a private directory of ours", set->name, what);
        return 0;
}

/* Opens the base directory, creating it (0700) when its parent is on bpffs.
 * -EOPNOTSUPP when it is not on bpffs. */
static int open_base(const BpfCacheSet *set, const char *base, int *ret) {
        _cleanup_close_ int fd = -EBADF;
        struct statfs sfs;
        int r;

        if (statfs(base, &sfs) < 0) {
                char parent[PATH_MAX], *slash;

                if (errno != ENOENT)
                        return -errno;
                if (snprintf(parent, sizeof parent, "%s", base) >= (int) sizeof parent)
                        return -ENAMETOOLONG;
                slash = strrchr(parent, '/');
                if (!slash)
                        return -EINVAL;
                slash[slash == parent] = 0; /* "/x" -> "/" */
                if (statfs(parent, &sfs) < 0)
                        return -errno;
                if (sfs.f_type != BPF_FS_MAGIC)
                        return -EOPNOTSUPP;
                if (mkdir(base, 0700) < 0 && errno != EEXIST)
                        return -errno;
        } else if (sfs.f_type != BPF_FS_MAGIC)
                return -EOPNOTSUPP;

        fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstatfs(fd, &sfs) < 0)
                return -errno;
        if (sfs.f_type != BPF_FS_MAGIC)
                return -EOPNOTSUPP;
        r = check_private(set, fd, base);
        if (r < 0)
                return r;
        *ret = TAKE_FD(fd);
        return 0;
}

static int pin_path(char *buf, size_t size, const char *base, const char *sub, const char *name) {
        if (snprintf(buf, size, "%s/%s/%s", base, sub, name) >= (int) size)
                return -ENAMETOOLONG;
        return 0;
}

/* Opens a complete pinned set, checked against the kernel. -ENOENT when
 * some object is missing, -ESTALE when the set is inconsistent. */
static int cache_get(const BpfCacheSet *set, const char *base, const char *sub, int *progs, int *maps) {
        uint32_t map_ids[SET_MAX_OBJECTS];
        char path[PATH_MAX];
        int r;

        for (size_t i = 0; i < set->n_progs; i++)
                progs[i] = -EBADF;
        for (size_t i = 0; i < set->n_maps; i++)
                maps[i] = -EBADF;

        for (size_t i = 0; i < set->n_maps; i++) {
                struct bpf_map_info info = {};
                uint32_t len = sizeof info;

                r = pin_path(path, sizeof path, base, sub, set->maps[i]);
                if (r < 0)
                        goto fail;
                maps[i] = bpf_obj_get(path);
                if (maps[i] < 0) {
                        r = maps[i];
                        maps[i] = -EBADF;
                        goto fail;
                }
                if (bpf_obj_get_info_by_fd(maps[i], &info, &len) < 0) {
                        r = -ESTALE; /* not a map */
                        goto fail;
                }
                map_ids[i] = info.id;
        }
        for (size_t i = 0; i < set->n_progs; i++) {
                uint32_t used[SET_MAX_OBJECTS] = {}, n_found = 0;
                struct bpf_prog_info info = {};
                uint32_t len = sizeof info;

                r = pin_path(path, sizeof path, base, sub, set->progs[i].pin);
                if (r < 0)
                        goto fail;
                progs[i] = bpf_obj_get(path);
                if (progs[i] < 0) {
                        r = progs[i];
                        progs[i] = -EBADF;
                        goto fail;
                }
                info.nr_map_ids = ELEMENTSOF(used);
                info.map_ids = (uint64_t) (uintptr_t) used;
                r = -ESTALE;
                if (bpf_obj_get_info_by_fd(progs[i], &info, &len) < 0 || info.type != set->progs[i].type ||
                    info.nr_map_ids > ELEMENTSOF(used))
                        goto fail;
                for (uint32_t j = 0; j < info.nr_map_ids; j++) {
                        bool known = false;
                        for (size_t k = 0; k < set->n_maps; k++)
                                known = known || used[j] == map_ids[k];
                        if (!known)
                                goto fail;
                        n_found++;
                }
                if (set->progs[i].all_maps && n_found != set->n_maps)
                        goto fail;
        }
        if (set->check) {
                r = set->check(progs, maps);
                if (r < 0)
                        goto fail;
        }
        return 0;
fail:
        bpf_cache_close_fds(progs, set->n_progs);
        bpf_cache_close_fds(maps, set->n_maps);
        return r;
}

/* Empties and removes parent_fd's subdirectory sub (pinned objects unlink like
 * files; their users keep them through their fds). */
static int remove_pin_dir(int parent_fd, const char *sub) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd, r = 0;

        fd = openat(parent_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                (void) close(fd);
                return r;
        }
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
                    unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
        if (unlinkat(parent_fd, sub, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

/* Pins the freshly loaded set into base/sub, replacing whatever is there.
 * Called under the exclusive lock. On failure nothing is left pinned. */
static int cache_put(const BpfCacheSet *set, int base_fd, const char *base, const char *sub, const int *progs,
                     const int *maps) {
        _cleanup_close_ int fd = -EBADF;
        char path[PATH_MAX];
        int r;

        r = remove_pin_dir(base_fd, sub); /* a broken or partial set */
        if (r < 0)
                return r;
        if (mkdirat(base_fd, sub, 0700) < 0)
                return -errno;
        fd = openat(base_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        r = check_private(set, fd, sub);
        if (r < 0)
                goto fail;
        /* Maps first, programs last: a reader missing any object takes the
         * exclusive lock, so order is only for a supervisor killed midway. */
        for (size_t i = 0; i < set->n_maps; i++) {
                r = pin_path(path, sizeof path, base, sub, set->maps[i]);
                if (r >= 0)
                        r = bpf_obj_pin(maps[i], path);
                if (r < 0)
                        goto fail;
        }
        for (size_t i = 0; i < set->n_progs; i++) {
                r = pin_path(path, sizeof path, base, sub, set->progs[i].pin);
                if (r >= 0)
                        r = bpf_obj_pin(progs[i], path);
                if (r < 0)
                        goto fail;
        }
        return 0;
fail:
        (void) remove_pin_dir(base_fd, sub);
        return r;
}

/* flock() with a bound: a supervisor stopped while holding the lock must
 * not stop every other one (they then load privately). Loading takes
 * ~10-70 ms, so polling each millisecond costs nothing worth a timer. */
#define CACHE_LOCK_TIMEOUT_MS 2000

static int lock_bounded(int fd, int op) {
        for (unsigned i = 0;; i++) {
                if (flock(fd, op | LOCK_NB) == 0)
                        return 0;
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return -errno;
                if (i >= CACHE_LOCK_TIMEOUT_MS)
                        return -ETIMEDOUT;
                (void) usleep(1000);
        }
}

/* The set's directory, when there is one, must be private too; one that
 * is not is replaced. */
static int check_subdir(int base_fd, const char *sub) {
        struct stat st;

        if (fstatat(base_fd, sub, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077))
                return -ESTALE;
        return 0;
}

int bpf_cache_load(BpfCacheSet *set, int *progs, int *maps) {
        _cleanup_close_ int base_fd = -EBADF;
        const char *base = bpf_cache_base(), *sub;
        int r;

        if (set->n_progs > SET_MAX_OBJECTS || set->n_maps > SET_MAX_OBJECTS)
                return -EAGAIN;
        if (!base) {
                log_debug("bpf-%s: STOCKADE_BPF_DIR is empty, the programs are not cached", set->name);
                return -EAGAIN;
        }
        r = open_base(set, base, &base_fd);
        if (r < 0) {
                log_debug_errno(r, "bpf-%s: no program cache in %s%s: %m", set->name, base,
                                r == -EOPNOTSUPP ? " (not on bpffs)" : "");
                return -EAGAIN;
        }
        sub = subdir_name(set);

        /* Shared: a complete set is only read. */
        r = lock_bounded(base_fd, LOCK_SH);
        if (r < 0) {
                log_debug_errno(r, "bpf-%s: cannot lock %s: %m", set->name, base);
                return -EAGAIN;
        }
        r = check_subdir(base_fd, sub);
        if (r >= 0)
                r = cache_get(set, base, sub, progs, maps);
        if (r >= 0)
                return 1;

        /* Exclusive to load and pin. Let go of the shared lock first (two
         * upgrading at once would wait for each other), so whoever got the
         * exclusive one first may have pinned meanwhile: look again. */
        (void) flock(base_fd, LOCK_UN);
        r = lock_bounded(base_fd, LOCK_EX);
        if (r < 0) {
                log_debug_errno(r, "bpf-%s: cannot lock %s: %m", set->name, base);
                return -EAGAIN;
        }
        r = check_subdir(base_fd, sub);
        if (r >= 0)
                r = cache_get(set, base, sub, progs, maps);
        if (r >= 0)
                return 1;
        if (r != -ENOENT)
                log_debug_errno(r, "bpf-%s: replacing the pinned set %s/%s: %m", set->name, base, sub);

        r = set->load(progs, maps);
        if (r < 0)
                return r; /* the lock goes with base_fd */
        r = cache_put(set, base_fd, base, sub, progs, maps);
        if (r < 0)
                log_debug_errno(r, "bpf-%s: cannot pin the programs in %s/%s, keeping them private: %m",
                                set->name, base, sub);
        else
                log_debug("bpf-%s: programs pinned in %s/%s", set->name, base, sub);
        return 0;
}

int bpf_cache_drop(const char *name) {
        _cleanup_close_ int base_fd = -EBADF;
        _cleanup_(closedirp) DIR *d = NULL;
        const char *base = bpf_cache_base();
        size_t name_len = strlen(name);
        struct dirent *de;
        int fd, r = 0, q;

        if (!base)
                return 0;
        fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                (void) close(fd);
                return r;
        }
        /* Only ever bpffs: the cache is never made elsewhere, and this
         * unlinks whatever <name>-* holds. */
        {
                struct statfs sfs;
                if (fstatfs(dirfd(d), &sfs) < 0)
                        return -errno;
                if (sfs.f_type != BPF_FS_MAGIC)
                        return 0;
        }
        base_fd = fcntl(dirfd(d), F_DUPFD_CLOEXEC, 3);
        if (base_fd < 0)
                return -errno;
        r = lock_bounded(base_fd, LOCK_EX);
        if (r < 0)
                return r;
        /* Every build's set, not only ours. */
        while ((de = readdir(d)))
                if (strncmp(de->d_name, name, name_len) == 0 && de->d_name[name_len] == '-' &&
                    (q = remove_pin_dir(dirfd(d), de->d_name)) < 0 && r == 0)
                        r = q;
        /* The base too when nothing else lives there (it is shared with
         * the other caches: ENOTEMPTY is fine). */
        if (r == 0 && rmdir(base) < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
                r = -errno;
        return r;
}
