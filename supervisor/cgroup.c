/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "cgroup.h"

#define CPU_PERIOD_USEC 100000ULL

static int open_dir(const char *path) {
        int fd = open(path, O_DIRECTORY | O_CLOEXEC | O_RDONLY);
        return fd < 0 ? -errno : fd;
}

/* mkdir + open; EEXIST is an error: a name is never reused while in use. */
static int make_group(const char *parent, const char *name, char **ret_path) {
        _cleanup_free_ char *path = NULL;
        int fd;

        if (asprintf(&path, "%s/%s", parent, name) < 0)
                return -ENOMEM;
        if (mkdir(path, 0755) < 0)
                return -errno;
        fd = open_dir(path);
        if (fd < 0) {
                (void) rmdir(path);
                return fd;
        }
        *ret_path = TAKE_PTR(path);
        return fd;
}

static bool host_has_swap(void) {
        char buf[512], *nl;
        /* /proc/swaps is a header line plus one line per active device. */
        if (read_file_at(AT_FDCWD, "/proc/swaps", buf, sizeof buf) < 0)
                return true;
        nl = strchr(buf, '\n');
        return nl && nl[1] != 0;
}

/* swap_off records that the task can use no swap at all. */
static int limit_memory(Cgroup *cg, const SandboxLimits *lim) {
        int r;

        if (cg->version[CG_MEMORY] == CGV_2) {
                if (lim->memory_bytes != SANDBOX_UNLIMITED) {
                        r = write_u64_at(cg->v2_fd, "memory.max", lim->memory_bytes);
                        if (r < 0)
                                return r;
                }
                r = write_u64_at(cg->v2_fd, "memory.swap.max", lim->swap_bytes);
                if (r >= 0)
                        cg->swap_off = lim->swap_bytes == 0;
                else if (r == -ENOENT)
                        cg->swap_off = !host_has_swap(); /* no swap accounting */
                else
                        return r;
                return 0;
        }

        int fd = cg->v1_fd[CG_MEMORY];
        if (lim->memory_bytes != SANDBOX_UNLIMITED) {
                r = write_u64_at(fd, "memory.limit_in_bytes", lim->memory_bytes);
                if (r < 0)
                        return r;
                /* memsw is memory+swap: equal to the memory limit means no swap. */
                if (lim->memory_bytes <= UINT64_MAX - lim->swap_bytes) {
                        r = write_u64_at(fd, "memory.memsw.limit_in_bytes", lim->memory_bytes + lim->swap_bytes);
                        if (r >= 0)
                                cg->swap_off = lim->swap_bytes == 0;
                        else if (r != -ENOENT)
                                return r;
                }
        }
        if (!cg->swap_off)
                cg->swap_off = !host_has_swap();
        /* On top, where swap is not wanted: the kernel still may swap at 0. */
        if (lim->swap_bytes == 0)
                (void) write_string_at(fd, "memory.swappiness", "0");
        return 0;
}

static int limit_cpu(Cgroup *cg, const SandboxLimits *lim) {
        uint64_t quota;
        char buf[64];
        int r;

        if (lim->cpu_millicores == 0)
                return 0;
        quota = lim->cpu_millicores * CPU_PERIOD_USEC / 1000;
        if (cg->version[CG_CPU] == CGV_2) {
                (void) snprintf(buf, sizeof buf, "%" PRIu64 " %llu", quota, CPU_PERIOD_USEC);
                return write_string_at(cg->v2_fd, "cpu.max", buf);
        }
        r = write_u64_at(cg->v1_fd[CG_CPU], "cpu.cfs_period_us", CPU_PERIOD_USEC);
        if (r < 0)
                return r;
        return write_u64_at(cg->v1_fd[CG_CPU], "cpu.cfs_quota_us", quota);
}

static int limit_pids(Cgroup *cg, const SandboxLimits *lim) {
        int fd = cg->version[CG_PIDS] == CGV_2 ? cg->v2_fd : cg->v1_fd[CG_PIDS];
        if (lim->pids == 0)
                return 0;
        return write_u64_at(fd, "pids.max", lim->pids);
}

int cgroup_apply_limits(Cgroup *cg, const SandboxLimits *lim, const char **reterr_what) {
        int r;

        *reterr_what = "memory";
        r = limit_memory(cg, lim);
        if (r < 0)
                return r;
        *reterr_what = "cpu";
        r = limit_cpu(cg, lim);
        if (r < 0)
                return r;
        *reterr_what = "pids";
        r = limit_pids(cg, lim);
        if (r < 0)
                return r;
        *reterr_what = NULL;
        return 0;
}

int cgroup_create(const CgroupLayout *l, const char *name, const SandboxLimits *lim, Cgroup *ret,
                  const char **reterr_what) {
        Cgroup cg = CGROUP_NULL;
        int r;

        *reterr_what = "cgroup v2 placement";
        if (strlen(name) >= sizeof cg.name)
                return -ENAMETOOLONG;
        strcpy(cg.name, name);

        if (!l->v2_dir)
                return -EOPNOTSUPP;
        r = make_group(l->v2_dir, name, &cg.v2_path);
        if (r < 0)
                return r;
        cg.v2_fd = r;

        for (int c = 0; c < _CG_MAX; c++) {
                cg.version[c] = l->version[c];
                if (l->version[c] == CGV_NONE) {
                        *reterr_what = cgroup_controller_to_string((CgroupController) c);
                        r = -EOPNOTSUPP;
                        goto fail;
                }
                if (l->version[c] != CGV_1)
                        continue;
                /* Controllers co-mounted in one v1 hierarchy share a group. */
                for (int p = 0; p < c; p++)
                        if (cg.v1_path[p] && streq(l->v1_dir[p], l->v1_dir[c])) {
                                cg.v1_fd[c] = fcntl(cg.v1_fd[p], F_DUPFD_CLOEXEC, 3);
                                cg.v1_path[c] = strdup(cg.v1_path[p]);
                                break;
                        }
                if (!cg.v1_path[c]) {
                        r = make_group(l->v1_dir[c], name, &cg.v1_path[c]);
                        if (r < 0) {
                                *reterr_what = cgroup_controller_to_string((CgroupController) c);
                                goto fail;
                        }
                        cg.v1_fd[c] = r;
                }
                if (cg.v1_fd[c] < 0 || !cg.v1_path[c]) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        r = cgroup_apply_limits(&cg, lim, reterr_what);
        if (r < 0)
                goto fail;

        *reterr_what = NULL;
        *ret = cg;
        return 0;
fail:
        cgroup_destroy(&cg);
        return r;
}

int cgroup_attach_v1(Cgroup *cg, pid_t pid) {
        char buf[16];
        (void) snprintf(buf, sizeof buf, "%d", (int) pid);
        for (int c = 0; c < _CG_MAX; c++) {
                if (cg->version[c] != CGV_1 || cg->v1_fd[c] < 0)
                        continue;
                int r = write_string_at(cg->v1_fd[c], "cgroup.procs", buf);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cgroup_cpu_usec(Cgroup *cg, uint64_t *ret) {
        return read_keyed_u64_at(cg->v2_fd, "cpu.stat", "usage_usec", ret);
}

int cgroup_read_usage(Cgroup *cg, CgroupUsage *ret) {
        CgroupUsage u = { .memory_peak = UINT64_MAX, .pids_peak = UINT64_MAX };
        char stat[2048];
        int memfd = cg->version[CG_MEMORY] == CGV_2 ? cg->v2_fd : cg->v1_fd[CG_MEMORY];
        int pidfd = cg->version[CG_PIDS] == CGV_2 ? cg->v2_fd : cg->v1_fd[CG_PIDS];

        if (read_file_at(cg->v2_fd, "cpu.stat", stat, sizeof stat) >= 0) {
                (void) keyed_u64_find(stat, "usage_usec", &u.cpu_usec);
                (void) keyed_u64_find(stat, "user_usec", &u.cpu_user_usec);
                (void) keyed_u64_find(stat, "system_usec", &u.cpu_system_usec);
        }
        if (cg->version[CG_MEMORY] == CGV_2) {
                (void) read_u64_at(memfd, "memory.peak", &u.memory_peak);
                if (read_file_at(memfd, "memory.events", stat, sizeof stat) >= 0) {
                        (void) keyed_u64_find(stat, "oom_kill", &u.oom_kills);
                        (void) keyed_u64_find(stat, "max", &u.memory_limit_hits);
                }
        } else {
                (void) read_u64_at(memfd, "memory.max_usage_in_bytes", &u.memory_peak);
                (void) read_keyed_u64_at(memfd, "memory.oom_control", "oom_kill", &u.oom_kills);
                /* v1's memory.failcnt stays 0 on current kernels: a peak at
                 * the limit is the sign the ceiling was reached. */
                uint64_t limit;
                if (read_u64_at(memfd, "memory.limit_in_bytes", &limit) >= 0 && u.memory_peak != UINT64_MAX &&
                    u.memory_peak >= limit)
                        u.memory_limit_hits = 1;
        }
        (void) read_u64_at(pidfd, "pids.peak", &u.pids_peak);
        (void) read_keyed_u64_at(pidfd, "pids.events", "max", &u.pids_max_hits);
        *ret = u;
        return 0;
}

static int kill_listed(int dirfd) {
        char buf[8192];
        int r = read_file_at(dirfd, "cgroup.procs", buf, sizeof buf), n = 0;
        if (r < 0)
                return r;
        for (char *p = buf, *end; *p; p = end) {
                long pid = strtol(p, &end, 10);
                if (end == p)
                        break;
                if (pid > 1 && kill((pid_t) pid, SIGKILL) >= 0)
                        n++;
                while (*end == '\n')
                        end++;
        }
        return n;
}

int cgroup_kill(Cgroup *cg) {
        int r = -EBADF;

        if (cg->v2_fd >= 0) {
                r = write_string_at(cg->v2_fd, "cgroup.kill", "1");
                if (r >= 0)
                        return 0;
                /* Kernels before 5.14 have no cgroup.kill. */
                r = kill_listed(cg->v2_fd);
        }
        for (int c = 0; c < _CG_MAX; c++)
                if (cg->v1_fd[c] >= 0)
                        (void) kill_listed(cg->v1_fd[c]);
        return r < 0 ? r : 0;
}

/* Exited processes leave their cgroup a moment after the parent sees the
 * exit; retry EBUSY for up to ~2 s, killing again in between. */
static void remove_group(Cgroup *cg, const char *path) {
        struct timespec ts = { 0, 200 * 1000 };

        for (int i = 0; i < 40; i++) {
                if (rmdir(path) >= 0 || errno == ENOENT)
                        return;
                if (errno != EBUSY) {
                        log_warning("cannot remove cgroup '%s': %m", path);
                        return;
                }
                (void) cgroup_kill(cg);
                (void) nanosleep(&ts, NULL);
                if (ts.tv_nsec < 100 * 1000 * 1000)
                        ts.tv_nsec *= 2;
        }
        log_warning("cgroup '%s' still busy, left behind", path);
}

void cgroup_destroy(Cgroup *cg) {
        if (cg->v2_fd >= 0 || cg->v1_path[0] || cg->v1_path[1] || cg->v1_path[2])
                (void) cgroup_kill(cg);
        for (int c = 0; c < _CG_MAX; c++) {
                if (cg->v1_path[c])
                        remove_group(cg, cg->v1_path[c]);
                cg->v1_fd[c] = safe_close(cg->v1_fd[c]);
                free(cg->v1_path[c]);
                cg->v1_path[c] = NULL;
        }
        if (cg->v2_path)
                remove_group(cg, cg->v2_path);
        cg->v2_fd = safe_close(cg->v2_fd);
        free(cg->v2_path);
        cg->v2_path = NULL;
}

/* A stale group's own children first: rmdir refuses a group that has any. */
static void remove_tree(int parent_fd, const char *name, bool v2) {
        _cleanup_close_ int g = openat(parent_fd, name, O_DIRECTORY | O_CLOEXEC);
        DIR *d;
        struct dirent *de;

        if (g < 0)
                return;
        if (v2)
                (void) write_string_at(g, "cgroup.kill", "1");
        d = fdopendir(fcntl(g, F_DUPFD_CLOEXEC, 3));
        if (d) {
                while ((de = readdir(d)))
                        if (de->d_type == DT_DIR && !streq(de->d_name, ".") && !streq(de->d_name, ".."))
                                remove_tree(g, de->d_name, v2);
                closedir(d);
        }
        for (int i = 0; i < 20; i++) {
                /* Killed processes leave the group a moment later. */
                if (unlinkat(parent_fd, name, AT_REMOVEDIR) >= 0 || errno != EBUSY)
                        return;
                (void) usleep(10000);
        }
}

static void sweep_dir(const char *dir, bool v2) {
        _cleanup_close_ int dfd = -EBADF;
        DIR *d;
        struct dirent *de;

        if (!dir)
                return;
        dfd = open_dir(dir);
        if (dfd < 0)
                return;
        d = fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 3));
        if (!d)
                return;
        while ((de = readdir(d))) {
                long pid;
                char *end;
                if (de->d_type != DT_DIR || strncmp(de->d_name, "stockade-", 9) != 0)
                        continue;
                pid = strtol(de->d_name + 9, &end, 10);
                if (end == de->d_name + 9 || *end != '-' || pid <= 0)
                        continue;
                if (pid == getpid() || kill((pid_t) pid, 0) >= 0 || errno != ESRCH)
                        continue;
                remove_tree(dfd, de->d_name, v2);
                log_debug("swept stale cgroup %s/%s", dir, de->d_name);
        }
        closedir(d);
}

void cgroup_sweep_stale(const CgroupLayout *l) {
        sweep_dir(l->v2_dir, true);
        for (int c = 0; c < _CG_MAX; c++)
                if (l->version[c] == CGV_1)
                        sweep_dir(l->v1_dir[c], false);
}
