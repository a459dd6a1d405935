/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-shape: what the observation layer costs a task.
 *
 * Two workloads, each run in a fresh cgroup v2 group below ours, in rounds
 * alternating three setups in one process:
 *   bare       no task added, so no program linked (shape off everywhere)
 *   untracked  programs linked for another task; the workload's own group
 *              is not tracked (what shape costs everyone else on the host)
 *   tracked    the workload's group is a task (counting, watch list on)
 * Workloads: N getppid() calls (syscall-heavy), and python3 importing a
 * dozen stdlib modules (realistic: startup, many opens and mmaps). Prints
 * the median wall time of each setup and the overhead against bare.
 *
 * Usage: bench-shape [--calls N] [--rounds R]   (root)
 * Exit status: 0; 1 when a step fails; 2 on bad usage; 77 without root.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/macro.h"
#include "bpf-egress.h" /* cgroup_fd_id() */
#include "bench-bpffs.h"
#include "bpf-shape.h"
#include "cgroup.h"

#define DEFAULT_CALLS 2000000L
#define DEFAULT_ROUNDS 5
#define MAX_ROUNDS 64

static const char python_imports[] =
        "import json, email, email.mime.text, http.client, xml.etree.ElementTree, asyncio, decimal, "
        "sqlite3, unittest, argparse, logging, subprocess, csv, urllib.request";

enum { BARE, UNTRACKED, TRACKED, _SETUP_MAX };
static const char *const setup_names[_SETUP_MAX] = { "bare", "untracked", "tracked" };

static double now_s(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
        qsort(v, (size_t) n, sizeof *v, cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Wall time of one workload run in cgroup_fd; < 0 on failure. */
static double run_in(int cgroup_fd, long calls) {
        double t0 = now_s();
        int status;
        pid_t pid;

        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                int fd = openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, "0", 1) != 1)
                        _exit(250);
                (void) close(fd);
                if (calls > 0) {
                        for (long i = 0; i < calls; i++)
                                (void) syscall(SYS_getppid);
                        _exit(0);
                }
                execl("/usr/bin/python3", "python3", "-c", python_imports, (char *) NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -1;
        return now_s() - t0;
}

static int make_group(const char *parent, const char *name, char *path, int *ret_fd, uint64_t *ret_id) {
        (void) snprintf(path, PATH_MAX, "%s/shape-bench-%d-%s", parent, getpid(), name);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return -errno;
        *ret_fd = open(path, O_DIRECTORY | O_CLOEXEC | O_RDONLY);
        if (*ret_fd < 0)
                return -errno;
        return cgroup_fd_id(*ret_fd, ret_id);
}

/* One workload: rounds of bare / untracked / tracked. */
static int bench(Shape *s, int fd_work, uint64_t id_work, uint64_t id_other, long calls, int rounds,
                 const char *label) {
        static const char *watch[] = { "/etc/", "/proc/*/environ", "/root/." };
        const ShapeTaskOptions o = { .watch = watch, .n_watch = ELEMENTSOF(watch) };
        double t[_SETUP_MAX][MAX_ROUNDS], med[_SETUP_MAX];
        ShapeCounts *c = NULL;
        uint64_t calls_seen = 0;
        int r;

        /* A warm-up run of each: page cache, python's bytecode cache. */
        if (run_in(fd_work, calls) < 0)
                return -EIO;
        for (int i = 0; i < rounds; i++)
                for (int k = 0; k < _SETUP_MAX; k++) {
                        ShapeTask *task = NULL;

                        if (k == UNTRACKED)
                                r = shape_task_add(s, id_other, &o, &task);
                        else if (k == TRACKED)
                                r = shape_task_add(s, id_work, &o, &task);
                        else
                                r = 0;
                        if (r < 0)
                                return r;
                        t[k][i] = run_in(fd_work, calls);
                        if (k == TRACKED && i == rounds - 1) {
                                c = calloc(1, sizeof *c);
                                if (c && shape_task_read(s, task, c) == 0)
                                        calls_seen = c->calls;
                                free(c);
                        }
                        task = shape_task_remove(s, task);
                        if (t[k][i] < 0)
                                return -EIO;
                }

        for (int k = 0; k < _SETUP_MAX; k++)
                med[k] = median(t[k], rounds);
        printf("%s (%d rounds, median):\n", label, rounds);
        for (int k = 0; k < _SETUP_MAX; k++) {
                printf("  %-9s %9.1f ms", setup_names[k], med[k] * 1e3);
                if (k != BARE)
                        printf("  (%+.1f%%)", (med[k] / med[BARE] - 1) * 100);
                printf("\n");
        }
        if (calls > 0)
                printf("  per call: bare %.0f ns, untracked %+.0f ns, tracked %+.0f ns\n", med[BARE] / calls * 1e9,
                       (med[UNTRACKED] - med[BARE]) / calls * 1e9, (med[TRACKED] - med[BARE]) / calls * 1e9);
        printf("  syscalls counted in the last tracked run: %" PRIu64 "\n", calls_seen);
        return 0;
}

int main(int argc, char **argv) {
        char path_work[PATH_MAX] = "", path_other[PATH_MAX] = "";
        int rounds = DEFAULT_ROUNDS, fd_work = -EBADF, fd_other = -EBADF, r;
        long calls = DEFAULT_CALLS;
        uint64_t id_work, id_other;
        Shape *s = NULL;
        CgroupLayout l;
        double t0;

        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--calls") && i + 1 < argc)
                        calls = atol(argv[++i]);
                else if (streq(argv[i], "--rounds") && i + 1 < argc)
                        rounds = atoi(argv[++i]);
                else {
                        fprintf(stderr, "usage: %s [--calls N] [--rounds R]\n", argv[0]);
                        return 2;
                }
        }
        if (calls <= 0 || rounds <= 0 || rounds > MAX_ROUNDS) {
                fprintf(stderr, "bad --calls or --rounds\n");
                return 2;
        }
        if (geteuid() != 0) {
                printf("# SKIP needs root\n");
                return 77;
        }

        if (cgroup_layout_detect(&l, false) < 0 || !l.v2_dir) {
                fprintf(stderr, "no cgroup v2 hierarchy\n");
                return 1;
        }
        r = make_group(l.v2_dir, "work", path_work, &fd_work, &id_work);
        if (r >= 0)
                r = make_group(l.v2_dir, "other", path_other, &fd_other, &id_other);
        cgroup_layout_done(&l);
        if (r < 0) {
                fprintf(stderr, "cannot make the groups: %s\n", strerror(-r));
                goto finish;
        }

        /* The pinned cache in a bpffs of our own (nothing outlives us), or off. */
        if (private_bpffs() < 0)
                (void) setenv("STOCKADE_BPF_DIR", "", 1);
        t0 = now_s();
        r = shape_open(NULL, &s);
        if (r < 0)
                goto finish;
        printf("shape_open (load and verify%s): %.1f ms\n", shape_cached(s) ? ", but reused" : "",
               (now_s() - t0) * 1e3);
        {
                Shape *again = NULL;
                t0 = now_s();
                r = shape_open(NULL, &again);
                if (r < 0)
                        goto finish;
                printf("shape_open again (%s): %.2f ms\n",
                       shape_cached(again) ? "reused from the pinned cache" : "cache off: loaded again",
                       (now_s() - t0) * 1e3);
                again = shape_close(again);
        }

        r = bench(s, fd_work, id_work, id_other, calls, rounds, "getppid loop");
        if (r >= 0) {
                char label[64];
                (void) snprintf(label, sizeof label, "python3 stdlib imports");
                r = bench(s, fd_work, id_work, id_other, 0, rounds * 2, label);
        }
        if (r < 0)
                fprintf(stderr, "benchmark failed: %s\n", strerror(-r));

finish:
        s = shape_close(s);
        (void) safe_close(fd_work);
        (void) safe_close(fd_other);
        (void) rmdir(path_work);
        (void) rmdir(path_other);
        return r < 0 ? 1 : 0;
}
