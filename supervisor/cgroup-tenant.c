/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tenant's cgroup subtree in the daemon: one group per tenant below the
 * supervisor's own in every hierarchy the layout uses, carrying the
 * tenant's cpu weight and memory/pids ceilings. Its tasks' groups are
 * created inside it, so one tenant's burst is bounded by its own subtree
 * whatever each task's limits say. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "cgroup.h"

static int ensure_dir(const char *parent, const char *name, char **ret) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", parent, name) < 0)
                return -ENOMEM;
        /* EEXIST: a reload re-applies the limits of a subtree it made. */
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return -errno;
        *ret = TAKE_PTR(path);
        return 0;
}

static int write_limits(const CgroupLayout *sub, const CgroupSubtreeLimits *lim, const char **reterr_what) {
        _cleanup_close_ int v2 = open(sub->v2_dir, O_DIRECTORY | O_CLOEXEC | O_RDONLY);
        int r;

        if (v2 < 0)
                return -errno;
        for (int c = 0; c < _CG_MAX; c++) {
                const char *ctl = cgroup_controller_to_string((CgroupController) c);
                _cleanup_close_ int v1 = -EBADF;
                int fd = v2;

                *reterr_what = ctl;
                if (sub->version[c] == CGV_1) {
                        v1 = open(sub->v1_dir[c], O_DIRECTORY | O_CLOEXEC | O_RDONLY);
                        if (v1 < 0)
                                return -errno;
                        fd = v1;
                }
                switch (c) {
                case CG_CPU:
                        if (sub->version[c] == CGV_2)
                                r = write_u64_at(fd, "cpu.weight", lim->cpu_weight);
                        else /* v1 shares: 1024 is the default weight of 100 */
                                r = write_u64_at(fd, "cpu.shares", lim->cpu_weight * 1024 / 100 < 2 ? 2 : lim->cpu_weight * 1024 / 100);
                        break;
                case CG_MEMORY:
                        if (sub->version[c] == CGV_2)
                                r = lim->memory_max == UINT64_MAX ? write_string_at(fd, "memory.max", "max")
                                                                  : write_u64_at(fd, "memory.max", lim->memory_max);
                        else if (lim->memory_max == UINT64_MAX)
                                r = write_string_at(fd, "memory.limit_in_bytes", "-1");
                        else
                                r = write_u64_at(fd, "memory.limit_in_bytes", lim->memory_max);
                        break;
                case CG_PIDS:
                        r = lim->pids_max == 0 ? write_string_at(fd, "pids.max", "max")
                                               : write_u64_at(fd, "pids.max", lim->pids_max);
                        break;
                default:
                        r = 0;
                }
                if (r < 0)
                        return r;
        }
        *reterr_what = NULL;
        return 0;
}

/* The task groups below need the controllers the layout uses in v2. */
static int enable_controllers(const CgroupLayout *sub) {
        _cleanup_close_ int fd = open(sub->v2_dir, O_DIRECTORY | O_CLOEXEC | O_RDONLY);

        if (fd < 0)
                return -errno;
        for (int c = 0; c < _CG_MAX; c++) {
                char op[32];
                int r;
                if (sub->version[c] != CGV_2)
                        continue;
                (void) snprintf(op, sizeof op, "+%s", cgroup_controller_to_string((CgroupController) c));
                r = write_string_at(fd, "cgroup.subtree_control", op);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The tenant's own leaf for the daemon's workers that supervise its
 * tasks, so that work is charged to the tenant, beside its task groups
 * (a v2 group with controllers for its children holds no processes). */
#define WORKERS_LEAF "workers"

static int each_dir(const CgroupLayout *sub, int (*fn)(const char *dir)) {
        int r = fn(sub->v2_dir);
        for (int c = 0; r >= 0 && c < _CG_MAX; c++) {
                bool seen = false;
                if (!sub->v1_dir[c])
                        continue;
                for (int p = 0; p < c; p++)
                        seen = seen || (sub->v1_dir[p] && streq(sub->v1_dir[p], sub->v1_dir[c]));
                if (!seen)
                        r = fn(sub->v1_dir[c]);
        }
        return r;
}

static int mkdir_leaf(const char *dir) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/" WORKERS_LEAF, dir) < 0)
                return -ENOMEM;
        return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int rmdir_leaf(const char *dir) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/" WORKERS_LEAF, dir) < 0)
                return -ENOMEM;
        if (rmdir(p) < 0 && errno != ENOENT)
                log_warning("cannot remove cgroup '%s': %m", p);
        return 0;
}

static int enter_leaf(const char *dir) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        if (asprintf(&p, "%s/" WORKERS_LEAF, dir) < 0)
                return -ENOMEM;
        fd = open(p, O_DIRECTORY | O_CLOEXEC | O_RDONLY);
        if (fd < 0)
                return -errno;
        return write_string_at(fd, "cgroup.procs", "0");
}

static int make_workers_leaf(const CgroupLayout *sub) {
        return each_dir(sub, mkdir_leaf);
}

int cgroup_subtree_enter(const CgroupLayout *sub) {
        return each_dir(sub, enter_leaf);
}

int cgroup_subtree_create(const CgroupLayout *l, const char *name, const CgroupSubtreeLimits *lim, CgroupLayout *ret,
                          const char **reterr_what) {
        CgroupLayout sub = { .v2_controllers = "" };
        int r;

        *reterr_what = "cgroup v2 placement";
        if (!l->v2_dir)
                return -EOPNOTSUPP;
        memcpy(sub.version, l->version, sizeof sub.version);
        memcpy(sub.v2_controllers, l->v2_controllers, sizeof sub.v2_controllers);
        r = ensure_dir(l->v2_dir, name, &sub.v2_dir);
        for (int c = 0; r >= 0 && c < _CG_MAX; c++)
                if (l->version[c] == CGV_1) {
                        *reterr_what = cgroup_controller_to_string((CgroupController) c);
                        r = ensure_dir(l->v1_dir[c], name, &sub.v1_dir[c]);
                }
        if (r >= 0) {
                *reterr_what = "the workers' group";
                r = make_workers_leaf(&sub);
        }
        if (r >= 0) {
                *reterr_what = "cgroup.subtree_control";
                r = enable_controllers(&sub);
        }
        if (r >= 0)
                r = write_limits(&sub, lim, reterr_what);
        if (r < 0) {
                cgroup_subtree_destroy(&sub);
                return r;
        }
        *reterr_what = NULL;
        *ret = sub;
        return 0;
}

int cgroup_subtree_update(CgroupLayout *sub, const CgroupSubtreeLimits *lim, const char **reterr_what) {
        return write_limits(sub, lim, reterr_what);
}

void cgroup_subtree_destroy(CgroupLayout *sub) {
        /* Its task groups and workers are gone by now (each run removes
         * its own groups); a group still busy is logged and left to the
         * sweep. */
        if (sub->v2_dir)
                (void) each_dir(sub, rmdir_leaf);
        if (sub->v2_dir && rmdir(sub->v2_dir) < 0 && errno != ENOENT)
                log_warning("cannot remove tenant cgroup '%s': %m", sub->v2_dir);
        for (int c = 0; c < _CG_MAX; c++) {
                bool shared = false;
                for (int p = 0; p < c; p++)
                        shared = shared || (sub->v1_dir[p] && sub->v1_dir[c] && streq(sub->v1_dir[p], sub->v1_dir[c]));
                if (sub->v1_dir[c] && !shared && rmdir(sub->v1_dir[c]) < 0 && errno != ENOENT)
                        log_warning("cannot remove tenant cgroup '%s': %m", sub->v1_dir[c]);
        }
        cgroup_layout_done(sub);
}
