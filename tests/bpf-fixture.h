/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Fixtures of the tests of the BPF layers (test-egress.c, test-shape.c):
 * test cgroups of dead test processes, and a bpffs of the tests' own for
 * the pinned program cache. */

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "bpf-egress.h" /* cgroup_fd_id() */
#include "cgroup.h"
#include "check.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* The test's groups, "<prefix><pid>-<n>" below our own cgroup v2 dir. */
static char cgroup_paths[8][PATH_MAX];
static size_t n_cgroups;

/* A new group; returns its dirfd, its id in *ret_id. */
static inline int make_test_cgroup(const char *prefix, uint64_t *ret_id) {
        CgroupLayout l;
        int fd, r;

        ck_assert_uint_lt(n_cgroups, ELEMENTSOF(cgroup_paths));
        ck_assert_int_eq(cgroup_layout_detect(&l, false), 0);
        r = l.v2_dir ? snprintf(cgroup_paths[n_cgroups], PATH_MAX, "%s/%s%d-%zu", l.v2_dir, prefix, getpid(), n_cgroups)
                     : -1;
        cgroup_layout_done(&l);
        ck_assert_msg(r > 0, "no cgroup v2 hierarchy");
        ck_assert_int_eq(mkdir(cgroup_paths[n_cgroups], 0755), 0);
        fd = open(cgroup_paths[n_cgroups++], O_DIRECTORY | O_CLOEXEC | O_RDONLY);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(cgroup_fd_id(fd, ret_id), 0);
        return fd;
}

/* Workloads are reaped before a test returns, so the groups are empty. */
static inline void remove_test_cgroups(void) {
        for (size_t i = 0; i < n_cgroups; i++)
                (void) rmdir(cgroup_paths[i]);
        n_cgroups = 0;
}

/* The pid in "<prefix><pid>...", when the name has the prefix. */
static inline int name_pid(const char *name, const char *prefix, int *ret) {
        size_t n = strlen(prefix);
        return strncmp(name, prefix, n) == 0 && sscanf(name + n, "%d", ret) == 1 ? 0 : -EINVAL;
}

/* Check ends a failed test with _exit() (no atexit): the parent sweeps the
 * groups named "<prefix><pid>-..." of test processes that are gone,
 * killing what was left inside. */
static inline void sweep_stale_cgroups(const char *prefix) {
        _cleanup_(closedirp) DIR *d = NULL;
        CgroupLayout l;
        struct dirent *de;

        if (cgroup_layout_detect(&l, false) < 0)
                return;
        d = l.v2_dir ? opendir(l.v2_dir) : NULL;
        while (d && (de = readdir(d))) {
                char path[PATH_MAX], kill_file[NAME_MAX + 16];
                int pid;

                if (name_pid(de->d_name, prefix, &pid) < 0 || kill(pid, 0) == 0 || errno != ESRCH)
                        continue;
                (void) snprintf(path, sizeof path, "%s/%s", l.v2_dir, de->d_name);
                (void) snprintf(kill_file, sizeof kill_file, "%s/cgroup.kill", de->d_name);
                (void) write_string_at(dirfd(d), kill_file, "1");
                for (int i = 0; i < 50 && rmdir(path) < 0 && errno == EBUSY; i++)
                        (void) usleep(10 * 1000); /* bounded: the kill is asynchronous */
        }
        cgroup_layout_done(&l);
}

static inline void remove_tree(const char *path) {
        _cleanup_(closedirp) DIR *d = opendir(path);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                char sub[PATH_MAX + NAME_MAX + 2];
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) >= (int) sizeof sub)
                        continue;
                if (de->d_type == DT_DIR)
                        remove_tree(sub);
                else
                        (void) unlink(sub);
        }
        (void) rmdir(path);
}

/* The pinned program cache goes to a bpffs of our own: the runner (where
 * unchecked fixtures run) moves to a private mount namespace and mounts a
 * fresh bpffs over /sys/fs/bpf, so whatever the tests pin dies with the
 * runner, however it ends. Where that is impossible, a directory of the
 * host's bpffs named "<name>-<pid>", removed at teardown (and, should the
 * runner die, by the next run's setup). Tests run in children: they
 * inherit both the namespace and STOCKADE_BPF_DIR. */
static char bpf_dir[PATH_MAX];

static inline void setup_bpf_dir(const char *name) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct statfs sfs;
        struct dirent *de;
        char prefix[NAME_MAX];

        if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
            mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") == 0) {
                (void) snprintf(bpf_dir, sizeof bpf_dir, "/sys/fs/bpf/%s", name);
                (void) setenv("STOCKADE_BPF_DIR", bpf_dir, 1);
                return;
        }
        /* The host's bpffs, if mounted: sweep what dead runners left. */
        (void) snprintf(prefix, sizeof prefix, "%s-", name);
        d = statfs("/sys/fs/bpf", &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC ? opendir("/sys/fs/bpf") : NULL;
        while (d && (de = readdir(d))) {
                char path[32 + NAME_MAX];
                int pid;
                if (name_pid(de->d_name, prefix, &pid) < 0 || kill(pid, 0) == 0 || errno != ESRCH)
                        continue;
                (void) snprintf(path, sizeof path, "/sys/fs/bpf/%s", de->d_name);
                remove_tree(path);
        }
        (void) snprintf(bpf_dir, sizeof bpf_dir, "/sys/fs/bpf/%s-%d", name, getpid());
        (void) setenv("STOCKADE_BPF_DIR", bpf_dir, 1);
}
