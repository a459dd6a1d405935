/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-netplumb: what the allowlist network costs a task start and end.
 *
 *   plumb          net_link_plumb(): veth pair into the task's netns, lo,
 *                  eth0, four addresses, two default routes
 *   unplumb        net_link_unplumb(): the host end deleted
 *   plumb+unplumb  the two back to back
 *   host open      net_host_open() once (dlopen of libnftables, the table,
 *                  the sysctls): a per-supervisor cost, not per task
 *
 * Runs in a network namespace of its own (the machine's network is not
 * touched); each iteration gets a fresh task netns, whose creation is not
 * timed. After a warm-up, N iterations (default 200) give p50/p95/p99 in
 * milliseconds; the run stops early after 60 s.
 *
 * Usage: bench-netplumb [--iterations N]
 * Exit status: 0; 1 when a step fails; 2 on bad usage; 77 without root.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net-host.h"
#include "netlink.h"

#define DEFAULT_ITERATIONS 200
#define MAX_ITERATIONS     10000
#define WARMUP             10
#define MAX_SECONDS        60.0

enum { PART_PLUMB, PART_UNPLUMB, PART_BOTH, _PART_MAX };

static const char *const part_names[_PART_MAX] = { "plumb", "unplumb", "plumb+unplumb" };

static double now_ms(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

/* Nearest rank on sorted samples. */
static double percentile(const double *sorted, size_t n, double pct) {
        size_t rank = (size_t) (pct / 100.0 * (double) n + 0.999999);
        return sorted[rank == 0 ? 0 : rank - 1];
}

/* A fresh netns held by the returned fd; the caller's stays current. */
static int new_netns(void) {
        int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), fd = -1;

        if (self < 0)
                return -errno;
        if (unshare(CLONE_NEWNET) >= 0) {
                fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
                if (setns(self, CLONE_NEWNET) < 0)
                        abort();
        }
        close(self);
        return fd < 0 ? -errno : fd;
}

static int once(const NetPool *pool, double t[_PART_MAX]) {
        NetLink l;
        const char *what = NULL;
        double t0, t1, t2;
        int task = new_netns(), r;

        if (task < 0) {
                fprintf(stderr, "bench-netplumb: netns: %s\n", strerror(-task));
                return task;
        }
        t0 = now_ms();
        r = net_link_plumb(pool, task, &l, &what);
        t1 = now_ms();
        if (r >= 0)
                net_link_unplumb(&l);
        t2 = now_ms();
        close(task);
        if (r < 0) {
                fprintf(stderr, "bench-netplumb: plumb: %s: %s\n", what ?: "?", strerror(-r));
                return r;
        }
        if (t) {
                t[PART_PLUMB] = t1 - t0;
                t[PART_UNPLUMB] = t2 - t1;
                t[PART_BOTH] = t2 - t0;
        }
        return 0;
}

int main(int argc, char **argv) {
        double *samples[_PART_MAX] = {}, start, t0, host_ms;
        long n = DEFAULT_ITERATIONS, done = 0;
        NetPool pool;
        NetHost *h = NULL;
        const char *what = NULL;
        int r;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
                        char *end;
                        n = strtol(argv[++i], &end, 10);
                        if (*end || n < 1 || n > MAX_ITERATIONS) {
                                fprintf(stderr, "bench-netplumb: --iterations takes 1..%d\n", MAX_ITERATIONS);
                                return 2;
                        }
                } else {
                        fprintf(stderr, "usage: bench-netplumb [--iterations N]\n");
                        return 2;
                }
        }
        if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
                printf("bench netplumb: skipped, needs root (a network namespace of its own)\n");
                return 77;
        }
        for (int k = 0; k < _PART_MAX; k++) {
                samples[k] = calloc((size_t) n, sizeof(double));
                if (!samples[k]) {
                        fprintf(stderr, "bench-netplumb: out of memory\n");
                        return 2;
                }
        }
        net_pool_default(&pool);

        t0 = now_ms();
        r = net_host_open(&pool, &h, &what);
        host_ms = now_ms() - t0;
        if (r < 0) {
                fprintf(stderr, "bench-netplumb: host: %s: %s\n", what ?: "?", strerror(-r));
                return 1;
        }
        for (int i = 0; i < WARMUP; i++)
                if (once(&pool, NULL) < 0)
                        return 1;
        start = now_ms();
        for (; done < n && now_ms() - start < MAX_SECONDS * 1e3; done++) {
                double t[_PART_MAX];
                if (once(&pool, t) < 0)
                        return 1;
                for (int k = 0; k < _PART_MAX; k++)
                        samples[k][done] = t[k];
        }
        h = net_host_close(h);

        printf("bench netplumb: %ld iterations of net_link_plumb() + net_link_unplumb()\n", done);
        printf("  %-13s %.3f ms (once per supervisor)\n", "host open", host_ms);
        for (int k = 0; k < _PART_MAX; k++) {
                qsort(samples[k], (size_t) done, sizeof(double), cmp_double);
                printf("  %-13s p50 %.3f ms  p95 %.3f ms  p99 %.3f ms\n", part_names[k],
                       percentile(samples[k], (size_t) done, 50), percentile(samples[k], (size_t) done, 95),
                       percentile(samples[k], (size_t) done, 99));
        }
        printf("bench netplumb plumb+unplumb p50_ms=%.3f\n", percentile(samples[PART_BOTH], (size_t) done, 50));
        for (int k = 0; k < _PART_MAX; k++)
                free(samples[k]);
        return 0;
}
