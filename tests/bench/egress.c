/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-egress: what the egress wall adds to connect().
 *
 * In a network namespace of its own, with 100.127.0.1 on lo and a listener
 * on it, the benchmark times N TCP connect() calls (client closed with RST,
 * so no TIME_WAIT piles up; accept() runs outside the timing) from inside a
 * fresh cgroup v2 group, in rounds alternating bare and with the egress
 * programs linked and an allowlist of R rules that admits the destination. Prints p50/p95
 * of both in microseconds and the p50 difference.
 *
 * Usage: bench-egress [--iterations N] [--rules R]   (root)
 * Exit status: 0; 1 when a step fails; 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "bpf-egress.h"
#include "cgroup.h"

#define DEFAULT_ITERATIONS 20000
#define WARMUP 200
#define ROUNDS 10

static double now_us(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* Times n connects to lfd's address; samples in us. */
static int run(int lfd, const struct sockaddr_in *dst, double *samples, int n) {
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };

        for (int i = -WARMUP; i < n; i++) {
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), afd;
                double t0, t1;

                if (fd < 0)
                        return -errno;
                t0 = now_us();
                if (connect(fd, (const struct sockaddr *) dst, sizeof *dst) < 0) {
                        (void) close(fd);
                        return -errno;
                }
                t1 = now_us();
                (void) setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
                (void) close(fd);
                afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (afd >= 0)
                        (void) close(afd);
                if (i >= 0)
                        samples[i] = t1 - t0;
        }
        return 0;
}

int main(int argc, char **argv) {
        struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(8080) };
        int iterations = DEFAULT_ITERATIONS, n_rules = 16, lfd, cgfd, on = 1, r;
        char path[PATH_MAX], parent[PATH_MAX];
        double *bare, *walled;
        NetRule *rules;
        CgroupLayout l;
        Egress *e = NULL;
        EgressTask *t = NULL;
        uint64_t id;

        /* connect() latency only: no programs pinned for other supervisors. */
        (void) setenv("STOCKADE_BPF_DIR", "", 1);
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--iterations") && i + 1 < argc)
                        iterations = atoi(argv[++i]);
                else if (streq(argv[i], "--rules") && i + 1 < argc)
                        n_rules = atoi(argv[++i]);
                else {
                        fprintf(stderr, "usage: %s [--iterations N] [--rules R]\n", argv[0]);
                        return 2;
                }
        }
        if (iterations < ROUNDS || iterations > 10000000 || n_rules < 1 || n_rules > 1000)
                return 2;

        if (unshare(CLONE_NEWNET) < 0 || system("ip link set lo up && ip addr add 100.127.0.1/32 dev lo") != 0) {
                fprintf(stderr, "cannot set up a network namespace (root?)\n");
                return 1;
        }
        inet_pton(AF_INET, "100.127.0.1", &dst.sin_addr);
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        (void) setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &dst, sizeof dst) < 0 || listen(lfd, 128) < 0)
                return 1;

        if (cgroup_layout_detect(&l, false) < 0 || !l.v2_dir)
                return 1;
        (void) snprintf(parent, sizeof parent, "%s", l.v2_dir);
        (void) snprintf(path, sizeof path, "%s/bench-egress-%d", l.v2_dir, getpid());
        cgroup_layout_done(&l);
        if (mkdir(path, 0755) < 0 || (cgfd = open(path, O_DIRECTORY | O_CLOEXEC)) < 0 ||
            cgroup_fd_id(cgfd, &id) < 0 || write_string_at(cgfd, "cgroup.procs", "0") < 0) {
                fprintf(stderr, "cannot create %s: %m\n", path);
                (void) rmdir(path);
                return 1;
        }

        bare = calloc(iterations, sizeof *bare);
        walled = calloc(iterations, sizeof *walled);
        rules = calloc(n_rules, sizeof *rules);
        if (!bare || !walled || !rules)
                return 1;
        /* The destination's rule last, among /24s of other ranges. */
        for (int i = 0; i < n_rules; i++) {
                rules[i] = (NetRule) { .family = AF_INET, .prefix = 24, .port_lo = 443, .port_hi = 443,
                                       .protos = NET_PROTO_TCP };
                rules[i].addr[0] = 10;
                rules[i].addr[1] = (uint8_t) (i / 256);
                rules[i].addr[2] = (uint8_t) i;
        }
        rules[n_rules - 1] = (NetRule) { .family = AF_INET, .prefix = 32, .port_lo = 8080, .port_hi = 8080,
                                         .protos = NET_PROTO_TCP };
        memcpy(rules[n_rules - 1].addr, &dst.sin_addr, 4);

        /* Rounds alternate bare and walled, so that warm-up, frequency
         * scaling and neighbours weigh on both alike. */
        r = egress_open(&e);
        for (int round = 0, chunk = iterations / ROUNDS; r >= 0 && round < ROUNDS; round++) {
                r = run(lfd, &dst, bare + round * chunk, chunk);
                if (r >= 0)
                        r = egress_task_add(e, cgfd, id, rules, n_rules, false, &t);
                if (r >= 0)
                        r = run(lfd, &dst, walled + round * chunk, chunk);
                /* Drained each round: the ring never fills, no loss path timed. */
                (void) egress_consume(e, NULL, NULL);
                t = egress_task_remove(e, t);
        }
        e = egress_close(e);
        iterations = iterations / ROUNDS * ROUNDS;
        qsort(bare, iterations, sizeof *bare, cmp_double);
        qsort(walled, iterations, sizeof *walled, cmp_double);

        /* Leave the group before removing it. */
        {
                int pfd = open(parent, O_DIRECTORY | O_CLOEXEC);
                (void) write_string_at(pfd, "cgroup.procs", "0");
                (void) close(pfd);
        }
        (void) close(cgfd);
        (void) rmdir(path);
        if (r < 0) {
                fprintf(stderr, "bench-egress: %s\n", strerror(-r));
                return 1;
        }

        printf("connect() over lo, %d iterations, %d rules\n", iterations, n_rules);
        printf("  bare     p50 %7.2f us  p95 %7.2f us\n", bare[iterations / 2], bare[iterations * 95 / 100]);
        printf("  walled   p50 %7.2f us  p95 %7.2f us\n", walled[iterations / 2], walled[iterations * 95 / 100]);
        printf("  added    p50 %7.2f us\n", walled[iterations / 2] - bare[iterations / 2]);
        free(bare);
        free(walled);
        free(rules);
        return 0;
}
