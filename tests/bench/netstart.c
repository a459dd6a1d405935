/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-netstart: what a task pays for the network wall, in one long-lived
 * supervisor (the daemon's model: programs, host rules and resolver are
 * opened once, on the first allowlist task).
 *
 * Runs /bin/true through sandbox_run() with the default profile (network
 * mode none) and with an allowlist profile, alternating, and reports the
 * startup_ms each run's result gives (request to the task's execve) and
 * the wall time of the whole run. The first allowlist run, which opens the
 * supervisor's network wall, is reported on its own line and not counted.
 *
 * Everything runs in a network namespace of the bench's own (unshare), so
 * the veths, the nft table and ip_forward never touch the machine's.
 *
 * Usage: bench-netstart [--iterations N] [--enforce]
 *   --enforce  exit 1 when allowlist startup p50 is 2x none's or more
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench-bpffs.h"

#include "basic/env-util.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "net-host.h"
#include "profile.h"
#include "sandbox-profile.h"
#include "supervisor.h"
#include "syscall-filter.h"

extern char **environ;

#define MAX_ITERATIONS 1000

static const char allow_profile[] =
        "version: 1\n"
        "name: bench-net\n"
        "extends: default\n"
        "network:\n"
        "  mode: allowlist\n"
        "  allow:\n"
        "    - { cidr: 100.127.255.2/32, ports: [8080], proto: tcp }\n"
        "    - { host: allowed.test, ports: [443], proto: tcp }\n";

typedef struct Variant {
        const char *name;
        Profile prof;
        SyscallFilter filter;
        SandboxSpec spec;
        double startup[MAX_ITERATIONS], wall[MAX_ITERATIONS];
        size_t n;
} Variant;

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p) {
        qsort(v, n, sizeof *v, cmp_double);
        return v[(size_t) (p / 100.0 * (double) (n - 1) + 0.5)];
}

static int lo_up(void) {
        struct ifreq ifr = {};
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

        if (fd < 0)
                return -errno;
        strcpy(ifr.ifr_name, "lo");
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                r = -errno;
        ifr.ifr_flags |= IFF_UP;
        if (r == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                r = -errno;
        close(fd);
        return r;
}

static int prepare(Variant *v, const char *profile) {
        ProfileError perr = {};
        char why[256];
        int r;

        r = profile_load(profile, &v->prof, &perr);
        if (r < 0) {
                fprintf(stderr, "bench-netstart: profile %s: %s\n", profile, perr.message);
                return r;
        }
        r = sandbox_spec_from_profile(&v->spec, &v->prof, environ, NULL, why, sizeof why);
        if (r >= 0)
                r = syscall_filter_compile(&v->prof.seccomp, false, &v->filter, why, sizeof why);
        if (r < 0) {
                fprintf(stderr, "bench-netstart: %s: %s\n", profile, why);
                return r;
        }
        v->spec.filter = &v->filter;
        v->spec.uid = 65534; /* what run_options_apply() gives every run */
        v->spec.gid = 65534;
        v->spec.argv = strv_copy((char *const[]) { (char *) "/bin/true", NULL });
        if (!v->spec.argv)
                return -ENOMEM;
        (void) snprintf(v->spec.request_id, sizeof v->spec.request_id, "bench-%s", v->name);
        return 0;
}

static int run_one(Supervisor *s, Variant *v, bool keep) {
        SandboxResult res;
        int r = sandbox_run(s, &v->spec, 0, NULL, &res);

        if (r < 0 || res.cause != CAUSE_OK) {
                fprintf(stderr, "bench-netstart: %s: run failed: %s (%s)\n", v->name, exit_cause_to_string(res.cause),
                        res.error_message);
                return -1;
        }
        if (keep && v->n < MAX_ITERATIONS) {
                v->startup[v->n] = res.startup_ms;
                v->wall[v->n] = res.wall_ms;
                v->n++;
        }
        return 0;
}

int main(int argc, char **argv) {
        Variant none = { .name = "none" }, allow = { .name = "allowlist" };
        unsigned iterations = 100;
        bool enforce = false;
        char dir[] = "/tmp/bench-netstart.XXXXXX", path[64];
        Supervisor sup;
        const char *what = NULL;
        double t, p50_none, p50_allow;
        FILE *f;
        int ret = 2;

        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--iterations") && i + 1 < argc)
                        iterations = (unsigned) strtoul(argv[++i], NULL, 10);
                else if (streq(argv[i], "--enforce"))
                        enforce = true;
                else {
                        fprintf(stderr, "usage: bench-netstart [--iterations N] [--enforce]\n");
                        return 2;
                }
        }
        if (iterations < 1 || iterations > MAX_ITERATIONS)
                iterations = 100;
        if (geteuid() != 0) {
                fprintf(stderr, "bench-netstart: needs root\n");
                return 77;
        }
        if (private_bpffs() < 0)
                (void) setenv("STOCKADE_BPF_DIR", "", 1);
        if (unshare(CLONE_NEWNET) < 0 || lo_up() < 0) {
                fprintf(stderr, "bench-netstart: cannot make a network namespace of its own: %m\n");
                return 77;
        }
        if (!mkdtemp(dir))
                return 2;
        (void) snprintf(path, sizeof path, "%s/bench-net.yaml", dir);
        f = fopen(path, "we");
        if (!f || fputs(allow_profile, f) < 0 || fclose(f) != 0)
                goto out;
        if (prepare(&none, "default") < 0 || prepare(&allow, path) < 0)
                goto out;
        if (supervisor_init(&sup, &what) < 0) {
                fprintf(stderr, "bench-netstart: supervisor: %s\n", what);
                goto out;
        }
        sup.net.dns_upstream = "127.0.0.1";
        (void) net_pool_parse("100.64.0.0/16", NULL, &sup.net.pool);

        t = monotonic_ms();
        if (run_one(&sup, &allow, false) < 0)
                goto done;
        printf("bench netstart first allowlist run (opens the supervisor's network wall): %.1f ms\n",
               monotonic_ms() - t);
        if (run_one(&sup, &none, false) < 0)
                goto done;

        ret = 1;
        for (unsigned i = 0; i < iterations; i++)
                if (run_one(&sup, i % 2 ? &none : &allow, true) < 0 || run_one(&sup, i % 2 ? &allow : &none, true) < 0)
                        goto done;

        p50_none = pct(none.startup, none.n, 50);
        p50_allow = pct(allow.startup, allow.n, 50);
        printf("variant     startup_p50  startup_p95  wall_p50  wall_p95   (ms, %u runs each)\n", iterations);
        printf("none        %11.3f  %11.3f  %8.3f  %8.3f\n", p50_none, pct(none.startup, none.n, 95),
               pct(none.wall, none.n, 50), pct(none.wall, none.n, 95));
        printf("allowlist   %11.3f  %11.3f  %8.3f  %8.3f\n", p50_allow, pct(allow.startup, allow.n, 95),
               pct(allow.wall, allow.n, 50), pct(allow.wall, allow.n, 95));
        printf("bench netstart allow_vs_none_startup_p50=%.2fx (target < 2x)\n", p50_allow / p50_none);
        ret = enforce && p50_allow >= 2 * p50_none ? 1 : 0;
done:
        supervisor_done(&sup);
out:
        (void) unlink(path);
        (void) rmdir(dir);
        syscall_filter_done(&none.filter);
        syscall_filter_done(&allow.filter);
        sandbox_spec_done(&none.spec);
        sandbox_spec_done(&allow.spec);
        profile_done(&none.prof);
        profile_done(&allow.prof);
        return ret;
}
