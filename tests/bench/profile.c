/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-profile: what resolving a profile costs a task start.
 *
 *   load       profile_load("python"): search path, two files (python
 *              extends default), merge, canonical form, SHA-256
 *   compile    syscall_filter_compile() of its seccomp policy (enforce)
 *   both       the two back to back, as `stockade run --profile python` does
 *
 * Each iteration times the parts and the whole with CLOCK_MONOTONIC; after
 * a warm-up, N iterations (default 2000) give p50/p95/p99 in milliseconds.
 *
 * Usage: bench-profile [--iterations N] [--profile NAME]
 * Exit status: 0; 1 when p95 of load+compile exceeds 1 ms or a step
 * fails; 2 on bad usage.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "profile.h"
#include "syscall-filter.h"

#define DEFAULT_ITERATIONS 2000
#define MAX_ITERATIONS     1000000
#define WARMUP             50
#define BUDGET_MS          1.0

enum { PART_LOAD, PART_COMPILE, PART_BOTH, _PART_MAX };

static const char *const part_names[_PART_MAX] = { "load", "compile", "load+compile" };

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

/* One load and compile; the times go to t[], when given. */
static int once(const char *name, double t[_PART_MAX]) {
        Profile p = {};
        ProfileError e = {};
        SyscallFilter f = {};
        char err[256] = "";
        double t0, t1, t2;
        int r;

        t0 = now_ms();
        r = profile_load(name, &p, &e);
        t1 = now_ms();
        if (r < 0) {
                fprintf(stderr, "bench-profile: %s:%u:%u: %s\n", e.file, e.line, e.column, e.message);
                return r;
        }
        r = syscall_filter_compile(&p.seccomp, false, &f, err, sizeof err);
        t2 = now_ms();
        if (r < 0)
                fprintf(stderr, "bench-profile: compiling %s: %s\n", name, err[0] ? err : strerror(-r));
        syscall_filter_done(&f);
        profile_done(&p);
        if (t) {
                t[PART_LOAD] = t1 - t0;
                t[PART_COMPILE] = t2 - t1;
                t[PART_BOTH] = t2 - t0;
        }
        return r;
}

int main(int argc, char **argv) {
        const char *name = "python";
        double *samples[_PART_MAX] = {}, stats[_PART_MAX][3];
        long n = DEFAULT_ITERATIONS;
        int ret = 0;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
                        char *end;
                        n = strtol(argv[++i], &end, 10);
                        if (*end || n < 1 || n > MAX_ITERATIONS) {
                                fprintf(stderr, "bench-profile: --iterations takes 1..%d\n", MAX_ITERATIONS);
                                return 2;
                        }
                } else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc)
                        name = argv[++i];
                else {
                        fprintf(stderr, "usage: bench-profile [--iterations N] [--profile NAME]\n");
                        return 2;
                }
        }

        for (int k = 0; k < _PART_MAX; k++) {
                samples[k] = calloc((size_t) n, sizeof(double));
                if (!samples[k]) {
                        fprintf(stderr, "bench-profile: out of memory\n");
                        return 2;
                }
        }
        /* Warm-up: libcrypto is loaded on first use, caches fill. */
        for (int i = 0; i < WARMUP; i++)
                if (once(name, NULL) < 0)
                        return 1;
        for (long i = 0; i < n; i++) {
                double t[_PART_MAX];
                if (once(name, t) < 0)
                        return 1;
                for (int k = 0; k < _PART_MAX; k++)
                        samples[k][i] = t[k];
        }

        printf("bench profile: %ld iterations of profile_load(\"%s\") + syscall_filter_compile()\n", n, name);
        for (int k = 0; k < _PART_MAX; k++) {
                qsort(samples[k], (size_t) n, sizeof(double), cmp_double);
                stats[k][0] = percentile(samples[k], (size_t) n, 50);
                stats[k][1] = percentile(samples[k], (size_t) n, 95);
                stats[k][2] = percentile(samples[k], (size_t) n, 99);
                printf("  %-13s p50 %.3f ms  p95 %.3f ms  p99 %.3f ms\n", part_names[k], stats[k][0], stats[k][1],
                       stats[k][2]);
                free(samples[k]);
        }
        printf("bench profile load+compile p95_ms=%.3f\n", stats[PART_BOTH][1]);
        if (stats[PART_BOTH][1] > BUDGET_MS) {
                printf("bench profile: p95 %.3f ms is over the budget of %.1f ms\n", stats[PART_BOTH][1], BUDGET_MS);
                ret = 1;
        }
        return ret;
}
