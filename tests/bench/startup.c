/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-startup: sequential start-to-exit latency of
 *
 *   bare        posix_spawn("/bin/true") + waitpid          (baseline)
 *   stockade    stockade run --embedded -- /bin/true       (journaled, into a temporary journal)
 *   stk-nojrnl  stockade run --embedded --no-journal -- /bin/true
 *                                                           (also the row net-none: network mode none)
 *   stk-noshape stockade run --embedded --profile <default with observe.shape: false> -- /bin/true
 *                                                           (journaled: what recording the shape costs)
 *   bwrap       bwrap --unshare-all ... -- /bin/true        (only when bwrap is on PATH)
 *   net-allow   stockade run --embedded --no-journal --profile <allowlist profile> --net-pool ...
 *               --dns-upstream 127.0.0.1:53 -- /bin/true   (unless --no-net)
 *   daemon      stockade run --connect SOCK -- /bin/true   (when $STOCKADED is set: through a
 *               stockaded of our own, journaled into its own temporary journal)
 *   dmn-noshape the same with the profile of stk-noshape
 *
 * The default profile records each task's shape (observe.shape); the
 * -noshape rows show what that costs a start, embedded (the programs
 * linked for the one task) and through the daemon (which keeps them
 * linked).
 *
 * The in-process variants say --embedded, so that a stockaded listening on
 * the default socket (or $STOCKADE_SOCKET) can never take their runs.
 *
 * All variants are measured in one process, interleaved round-robin (one run
 * of each per round, with the starting variant rotated every round) so that
 * machine noise hits them equally.  The children get /dev/null as stdin,
 * stdout and stderr and inherit our environment.
 *
 * Two numbers per run, and they do not include the same things:
 *
 *   end-to-end (p50_ms): CLOCK_MONOTONIC from just before posix_spawn() to
 *     just after waitpid() returns: exec and dynamic linking of stockade,
 *     the run itself, and everything after the task exits (cgroup removal,
 *     the exit record, the result record).
 *   startup_ms: the run's own timings.startup_ms from its result record
 *     (--result-json), stockade variants only: from the start of `stockade
 *     run` (after its exec) to the task's execve(): profile, policy,
 *     admission record, cgroups, clone, network wall, mounts.
 *
 * daemon: the daemon (startup-daemon.c) is started once, before the first
 * round, on a config in our temp directory: its socket and journal there,
 * one tenant for uid 0 (profiles [default], max_concurrent 32, max_queued
 * 256).  Its row is end-to-end like the others (the client's exec, connect,
 * the request, the daemon's worker fork and the run, the answer); its
 * startup_ms runs from the daemon's accept() of the connection to the
 * task's execve().  Compared with the stockade row (embedded, journaled):
 * target daemon/stockade end-to-end p50 within 1.3x.  After the rounds:
 * throughput, tasks/s with 8 and with 32 `stockade run --connect` kept in
 * flight (each replaced as it exits; 200 tasks or 20 s, whichever first),
 * then the daemon is stopped with SIGTERM (it must exit 0), and the
 * policy_ms of every admission record with decision allow in its journal
 * gives the admission p50/p99 (target: p99 under 1 ms).
 *
 * net-allow: every `stockade run` is a supervisor of its own, and a
 * supervisor builds its network side (egress BPF programs loaded and
 * verified, nftables table, DNS proxy) lazily, for its first allowlist
 * task.  So here both numbers of net-allow include that once-per-supervisor
 * cost on top of what each task pays (a veth pair, its rules); a long-lived
 * supervisor would pay it once, and bench-netplumb measures the per-task
 * part alone.  The allowlist profile has a hostname rule, so the DNS proxy
 * starts too; its upstream is 127.0.0.1:53 so that the host's resolv.conf
 * is never read, and nothing is ever queried.
 *
 * Allowlist runs create veths and nftables tables and set ip_forward in the
 * network namespace stockade runs in.  The machine's own network must stay
 * as it is, so with the net rows on we first move into a network namespace
 * of our own (unshare, with lo up), and every variant runs there, bare and
 * bwrap included so the rows stay comparable; whatever is left in it goes
 * when we exit.
 *
 * Usage: bench-startup [--iterations N] [--enforce] [--no-net] [--stockade PATH | PATH]
 *   stockade is taken from the argument, else $STOCKADE, else "stockade" on PATH;
 *   stockaded from $STOCKADED (the daemon rows are skipped without it).
 *
 * Exit status: 0 on success; 1 when any run (warm-up included) cannot be
 * spawned, hangs for more than a minute, does not exit with status 0 or
 * leaves no startup_ms in its result record (the variant, phase and run
 * number are printed), when a supervisor we ran left its cgroup behind,
 * when stockaded does not start, fails a throughput run, does not exit 0
 * on SIGTERM or leaves a journal we cannot read, and, with --enforce only,
 * when a target is missed: journal overhead on startup_ms p50 under 5%,
 * net-allow/net-none startup_ms p50 under 2x, daemon/stockade end-to-end
 * p50 within 1.3x, admission policy_ms p99 under 1 ms (without --enforce
 * they are only reported: one busy neighbour on the machine moves them);
 * 2 on bad usage or setup errors.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/fs.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-bpffs.h"
#include "startup-daemon.h"

extern char **environ;

#define DEFAULT_ITERATIONS 200
#define MAX_ITERATIONS 2000
#define WARMUP_ROUNDS 10
#ifndef RUN_TIMEOUT_S
#define RUN_TIMEOUT_S 60 /* a single run taking longer than this is a hang */
#endif
#define JOURNAL_OVERHEAD_TARGET_PCT 5.0
#define NET_ALLOW_RATIO_TARGET 2.0
#define NET_POOL "100.64.0.0/16,fd00:5ec:ade::/48"
#define DAEMON_RATIO_TARGET 1.3   /* daemon/stockade end-to-end p50, at most */
#define POLICY_P99_TARGET_MS 1.0  /* admission policy_ms p99, under */
#define THROUGHPUT_TASKS 200      /* per client count ... */
#define THROUGHPUT_MAX_S 20.0     /* ... or this long, whichever first */

enum { V_BARE, V_STOCKADE, V_NOJOURNAL, V_NOSHAPE, V_BWRAP, V_NETALLOW, V_DAEMON, V_DMN_NOSHAPE, V_MAX };

struct stats {
        double p50, p95, p99, mean;
};

struct variant {
        const char *name;
        char *const *argv;
        const char *result_json; /* stockade variants: where the run leaves its result record */
        bool enabled;
        double *samples; /* end-to-end milliseconds, MAX_ITERATIONS entries */
        double *startup; /* timings.startup_ms of the same runs, stockade variants only */
        size_t n;
        struct stats e2e, st;
};

/* Every stockade we ran (it names its cgroups stockade-<pid>-<n>). */
static pid_t *spawned;
static size_t n_spawned, max_spawned;

static volatile sig_atomic_t alarm_fired;

static void on_alarm(int sig) {
        (void) sig;
        alarm_fired = 1;
}

static void usage(FILE *f) {
        fprintf(f,
                "usage: bench-startup [--iterations N] [--enforce] [--no-net] [--stockade PATH | PATH]\n"
                "  Measures start-to-exit latency of /bin/true run bare, under\n"
                "  'stockade run --embedded --' (journaled, not journaled, allowlist\n"
                "  network), through stockaded ('stockade run --connect', when\n"
                "  $STOCKADED names the daemon) and under bwrap (when installed), and\n"
                "  stockade's own startup_ms; the daemon's throughput and admission time.\n"
                "  --iterations N   measured runs per variant (1..%d, default %d),\n"
                "                   after %d warm-up rounds\n"
                "  --enforce        exit 1 when the journal overhead on startup_ms p50 is\n"
                "                   >= %.0f%%, net-allow/net-none startup_ms p50 >= %.0fx,\n"
                "                   daemon/stockade end-to-end p50 > %.1fx or the daemon's\n"
                "                   admission policy_ms p99 >= %.0f ms\n"
                "  --no-net         no allowlist network rows (and no network namespace)\n"
                "  --stockade PATH  the stockade binary (default: $STOCKADE, else PATH lookup)\n",
                MAX_ITERATIONS, DEFAULT_ITERATIONS, WARMUP_ROUNDS, JOURNAL_OVERHEAD_TARGET_PCT,
                NET_ALLOW_RATIO_TARGET, DAEMON_RATIO_TARGET, POLICY_P99_TARGET_MS);
}

static double elapsed_ms(const struct timespec *a, const struct timespec *b) {
        return (double) (b->tv_sec - a->tv_sec) * 1e3 + (double) (b->tv_nsec - a->tv_nsec) / 1e6;
}

/* Find an executable NAME on $PATH (or return a copy of NAME when it has a slash). */
static char *find_exe(const char *name) {
        if (strchr(name, '/'))
                return access(name, X_OK) == 0 ? strdup(name) : NULL;

        const char *path = getenv("PATH");
        if (!path || !*path)
                path = "/usr/local/bin:/usr/bin:/bin";

        const char *p = path;
        for (;;) {
                const char *colon = strchr(p, ':');
                size_t len = colon ? (size_t) (colon - p) : strlen(p);
                char buf[PATH_MAX];
                int r;

                if (len == 0)
                        r = snprintf(buf, sizeof buf, "./%s", name);
                else
                        r = snprintf(buf, sizeof buf, "%.*s/%s", (int) len, p, name);
                if (r > 0 && (size_t) r < sizeof buf) {
                        struct stat st;
                        if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
                                return strdup(buf);
                }
                if (!colon)
                        return NULL;
                p = colon + 1;
        }
}

static int parse_iterations(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v < 1 || v > MAX_ITERATIONS)
                return -1;
        *ret = (unsigned) v;
        return 0;
}

static void describe_status(int status, char *buf, size_t size) {
        if (WIFEXITED(status))
                snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
                snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
                snprintf(buf, size, "wait status 0x%x", (unsigned) status);
}

static void note_pid(pid_t pid) {
        if (n_spawned < max_spawned)
                spawned[n_spawned++] = pid;
}

static void note_spawned(const struct variant *v, pid_t pid) {
        if (v->result_json)
                note_pid(pid);
}

/*
 * Run one variant once.  Returns 0 and stores the latency in *ms on a clean
 * exit; 1 (message printed) when it could not be spawned or hung; 3 (message
 * printed) when it ran and did not exit with status 0.
 */
static int run_once(const struct variant *v, const posix_spawn_file_actions_t *fa,
                    const char *phase, unsigned iteration, double *ms) {
        struct timespec t0, t1;
        pid_t pid;
        int status, r;
        char what[128];

        alarm_fired = 0;
        alarm(RUN_TIMEOUT_S);

        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = posix_spawn(&pid, v->argv[0], fa, NULL, v->argv, environ);
        if (r != 0) {
                alarm(0);
                fprintf(stderr, "bench-startup: FAIL %s %s run %u: cannot spawn %s: %s\n",
                        v->name, phase, iteration, v->argv[0], strerror(r));
                return 1;
        }
        for (;;) {
                pid_t w = waitpid(pid, &status, 0);
                if (w == pid)
                        break;
                if (w < 0 && errno == EINTR) {
                        if (!alarm_fired)
                                continue;
                        alarm(0);
                        fprintf(stderr, "bench-startup: FAIL %s %s run %u: no exit after %d s, killing pid %ld\n",
                                v->name, phase, iteration, RUN_TIMEOUT_S, (long) pid);
                        (void) kill(pid, SIGKILL);
                        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                                ;
                        note_spawned(v, pid);
                        return 1;
                }
                alarm(0);
                fprintf(stderr, "bench-startup: FAIL %s %s run %u: waitpid: %s\n",
                        v->name, phase, iteration, strerror(errno));
                return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        alarm(0);
        note_spawned(v, pid);

        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                describe_status(status, what, sizeof what);
                fprintf(stderr, "bench-startup: FAIL %s %s run %u: %s\n", v->name, phase, iteration, what);
                return 3;
        }

        *ms = elapsed_ms(&t0, &t1);
        return 0;
}

/* timings.startup_ms of the run that just ended.  The file is removed after
 * reading: a run that writes none must not be credited with its
 * predecessor's. */
static int read_startup_ms(const struct variant *v, const char *phase, unsigned iteration, double *ms) {
        json_object *root = json_object_from_file(v->result_json), *tm, *val;
        int r = -1;

        if (!root)
                fprintf(stderr, "bench-startup: FAIL %s %s run %u: cannot read the result record %s: %s\n",
                        v->name, phase, iteration, v->result_json, json_util_get_last_err());
        else if (!json_object_object_get_ex(root, "timings", &tm) ||
                 !json_object_object_get_ex(tm, "startup_ms", &val) ||
                 !(json_object_is_type(val, json_type_double) || json_object_is_type(val, json_type_int)))
                fprintf(stderr, "bench-startup: FAIL %s %s run %u: no timings.startup_ms in %s\n",
                        v->name, phase, iteration, v->result_json);
        else {
                *ms = json_object_get_double(val);
                r = 0;
        }
        json_object_put(root);
        (void) unlink(v->result_json);
        return r;
}

/* After a failed run: run the variant once more, untimed, with its stderr
 * shown, so that the log says why it failed (the timed runs discard it). */
static void show_failure(const struct variant *v) {
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int status;

        fprintf(stderr, "bench-startup: running %s once more with its stderr shown:\n", v->name);
        fflush(stderr);
        if (posix_spawn_file_actions_init(&fa) != 0)
                return;
        if (posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0) == 0 &&
            posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO) == 0 &&
            posix_spawn(&pid, v->argv[0], &fa, NULL, v->argv, environ) == 0) {
                alarm_fired = 0;
                alarm(RUN_TIMEOUT_S);
                while (waitpid(pid, &status, 0) < 0) {
                        if (errno != EINTR)
                                break;
                        if (alarm_fired) {
                                (void) kill(pid, SIGKILL);
                                alarm_fired = 0;
                        }
                }
                alarm(0);
                note_spawned(v, pid);
        }
        posix_spawn_file_actions_destroy(&fa);
}

/* ioctl rather than `ip link`: nothing beyond libc, and no child to time. */
static int loopback_up(void) {
        struct ifreq ifr;
        int fd, r = 0;

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        memset(&ifr, 0, sizeof ifr);
        memcpy(ifr.ifr_name, "lo", sizeof "lo");
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                r = -errno;
        else if (!(ifr.ifr_flags & IFF_UP)) {
                ifr.ifr_flags |= IFF_UP;
                if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                        r = -errno;
        }
        close(fd);
        return r;
}

static int write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        int r = 0;

        if (!f)
                return -errno;
        if (fputs(text, f) == EOF)
                r = -EIO;
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        return r;
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw) {
        (void) ftw;
        if (type == FTW_F && S_ISREG(st->st_mode)) {
                /* Journal segments are append-only (FS_APPEND_FL) where the
                 * file system allows it: clear it or unlink() fails. */
                int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), flags = 0;
                if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) >= 0 && (flags & FS_APPEND_FL)) {
                        flags &= ~FS_APPEND_FL;
                        (void) ioctl(fd, FS_IOC_SETFLAGS, &flags);
                }
                if (fd >= 0)
                        close(fd);
        }
        if (remove(p) < 0)
                fprintf(stderr, "bench-startup: cannot remove %s: %s\n", p, strerror(errno));
        return 0;
}

/* The hierarchy's mount point for a /proc/self/cgroup line's controllers, or
 * NULL.  v1 hierarchies are told apart by their controllers in the super
 * options (a mount of "cpu,cpuacct" serves both); v2 has none. */
static char *cgroup_dir(const char *controllers, const char *path) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char *line = NULL, *ret = NULL;
        size_t size = 0;

        if (!f)
                return NULL;
        while (!ret && getline(&line, &size, f) > 0) {
                char root[PATH_MAX], mnt[PATH_MAX], fstype[32], opts[512];
                const char *sep = strstr(line, " - ");
                bool match = true;

                if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
                    sscanf(sep + 3, "%31s %*s %511s", fstype, opts) != 2)
                        continue;
                if (!*controllers)
                        match = strcmp(fstype, "cgroup2") == 0;
                else if (strcmp(fstype, "cgroup") != 0)
                        match = false;
                else {
                        char want[256], *save = NULL;
                        (void) snprintf(want, sizeof want, "%s", controllers);
                        for (char *c = strtok_r(want, ",", &save); c && match; c = strtok_r(NULL, ",", &save)) {
                                char *o, *osave = NULL, have[512];
                                bool found = false;
                                (void) snprintf(have, sizeof have, "%s", opts);
                                for (o = strtok_r(have, ",", &osave); o && !found; o = strtok_r(NULL, ",", &osave))
                                        found = strcmp(o, c) == 0;
                                match = found;
                        }
                }
                if (!match)
                        continue;
                /* Our path is relative to the hierarchy's root; the mount may show only part of it. */
                size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
                if (strncmp(path, root, rl) != 0 || (path[rl] != '/' && path[rl] != '\0'))
                        continue;
                if (asprintf(&ret, "%s%s", mnt, strcmp(path + rl, "/") == 0 ? "" : path + rl) < 0)
                        ret = NULL;
        }
        free(line);
        fclose(f);
        return ret;
}

static bool ours(pid_t pid) {
        for (size_t i = 0; i < n_spawned; i++)
                if (spawned[i] == pid)
                        return true;
        return false;
}

static int rmdir_one(const char *p, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        if (type == FTW_DP && rmdir(p) < 0)
                fprintf(stderr, "bench-startup: cannot remove the leftover cgroup %s: %s\n", p, strerror(errno));
        return 0;
}

/* Cgroups stockade-<pid>-<n> that a supervisor we ran left below our own
 * cgroup, and stockade-<pid>-tenant-<name> (with the task groups below) of
 * the stockaded we ran, in every hierarchy.  Only our children's pids
 * count: our cgroup may be shared (or the root), and other supervisors'
 * runs are not ours.  ONLY > 0: that pid's alone, and they are removed
 * (empty ones only: cgroupfs refuses the others), once the daemon that
 * made them is gone without removing them itself. */
static unsigned scan_cgroups(pid_t only) {
        FILE *f = fopen("/proc/self/cgroup", "re");
        char *line = NULL, **found = NULL;
        size_t size = 0, n_found = 0;
        unsigned n = 0;

        if (!f) {
                fprintf(stderr, "bench-startup: /proc/self/cgroup: %s\n", strerror(errno));
                return 0;
        }
        while (getline(&line, &size, f) > 0) {
                char *controllers = strchr(line, ':'), *path, *dir;
                DIR *d;
                struct dirent *de;

                if (!controllers || !(path = strchr(++controllers, ':')))
                        continue;
                *path++ = '\0';
                path[strcspn(path, "\n")] = '\0';
                dir = cgroup_dir(controllers, path);
                if (!dir || !(d = opendir(dir))) {
                        free(dir);
                        continue;
                }
                while ((de = readdir(d))) {
                        int pid, end = 0;

                        if (sscanf(de->d_name, "stockade-%d-%n", &pid, &end) != 1 || end == 0 ||
                            (only > 0 ? (pid_t) pid != only : !ours((pid_t) pid)))
                                continue;
                        fprintf(stderr, "bench-startup: leftover cgroup %s/%s%s\n", dir, de->d_name,
                                only > 0 ? ": removing it" : "");
                        n++;
                        char **nf = only > 0 ? realloc(found, (n_found + 1) * sizeof *found) : NULL;
                        if (nf) {
                                found = nf;
                                if (asprintf(&found[n_found], "%s/%s", dir, de->d_name) >= 0)
                                        n_found++;
                        }
                }
                closedir(d);
                free(dir);
        }
        free(line);
        fclose(f);
        /* After the listing: nothing is removed under a readdir(). */
        for (size_t i = 0; i < n_found; i++) {
                (void) nftw(found[i], rmdir_one, 16, FTW_DEPTH | FTW_PHYS);
                free(found[i]);
        }
        free(found);
        return n;
}

static unsigned leftover_cgroups(void) {
        return scan_cgroups(0);
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

/* Percentile with linear interpolation between closest ranks; s sorted, n >= 1. */
static double percentile(const double *s, size_t n, double p) {
        double rank = p / 100.0 * (double) (n - 1);
        size_t lo = (size_t) rank;
        double frac = rank - (double) lo;

        if (lo + 1 >= n)
                return s[n - 1];
        return s[lo] + (s[lo + 1] - s[lo]) * frac;
}

static void summarize(double *samples, size_t n, struct stats *st) {
        double sum = 0;

        qsort(samples, n, sizeof samples[0], cmp_double);
        for (size_t i = 0; i < n; i++)
                sum += samples[i];
        st->mean = sum / (double) n;
        st->p50 = percentile(samples, n, 50);
        st->p95 = percentile(samples, n, 95);
        st->p99 = percentile(samples, n, 99);
}

static void print_ratio(double a, double b) {
        if (b > 0)
                printf(" %9.2fx", a / b);
        else
                printf(" %10s", "-");
}

static double ratio(double a, double b) {
        return b > 0 ? a / b : 0;
}

int main(int argc, char **argv) {
        unsigned iterations = DEFAULT_ITERATIONS;
        const char *stockade_arg = NULL;
        char *stockade = NULL, *bwrap = NULL, *stockaded = NULL;
        BenchDaemon *dmn = NULL;
        static const unsigned tput_clients[] = { 8, 32 };
        BenchThroughput tput[sizeof tput_clients / sizeof tput_clients[0]] = { 0 };
        double *policy = NULL, daemon_ratio = 0;
        size_t n_policy = 0;
        struct stats pol = { 0 };
        char no_daemon_why[PATH_MAX + 64] = "";
        posix_spawn_file_actions_t fa;
        struct variant vs[V_MAX] = { 0 };
        struct sigaction sa;
        bool enforce = false, net = true;
        const char *no_net_why = "--no-net";
        int devnull, ret = 2;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                        usage(stdout);
                        return 0;
                } else if (strcmp(a, "--iterations") == 0 || strcmp(a, "-n") == 0) {
                        if (i + 1 >= argc || parse_iterations(argv[i + 1], &iterations) < 0) {
                                fprintf(stderr, "bench-startup: %s needs an integer 1..%d\n", a, MAX_ITERATIONS);
                                return 2;
                        }
                        i++;
                } else if (strncmp(a, "--iterations=", 13) == 0) {
                        if (parse_iterations(a + 13, &iterations) < 0) {
                                fprintf(stderr, "bench-startup: --iterations needs an integer 1..%d\n", MAX_ITERATIONS);
                                return 2;
                        }
                } else if (strcmp(a, "--enforce") == 0) {
                        enforce = true;
                } else if (strcmp(a, "--no-net") == 0) {
                        net = false;
                } else if (strcmp(a, "--stockade") == 0) {
                        if (i + 1 >= argc) {
                                fprintf(stderr, "bench-startup: --stockade needs a path\n");
                                return 2;
                        }
                        stockade_arg = argv[++i];
                } else if (strncmp(a, "--stockade=", 11) == 0) {
                        stockade_arg = a + 11;
                } else if (a[0] == '-') {
                        fprintf(stderr, "bench-startup: unknown option %s\n", a);
                        usage(stderr);
                        return 2;
                } else if (!stockade_arg) {
                        stockade_arg = a;
                } else {
                        fprintf(stderr, "bench-startup: unexpected argument %s\n", a);
                        usage(stderr);
                        return 2;
                }
        }

        if (!stockade_arg) {
                stockade_arg = getenv("STOCKADE");
                if (stockade_arg && !*stockade_arg)
                        stockade_arg = NULL;
        }
        stockade = find_exe(stockade_arg ? stockade_arg : "stockade");
        if (!stockade) {
                fprintf(stderr, "bench-startup: stockade binary %s not found or not executable; "
                        "pass its path as an argument or set STOCKADE\n",
                        stockade_arg ? stockade_arg : "'stockade' (searched on PATH)");
                return 2;
        }
        bwrap = find_exe("bwrap");
        const char *stockaded_env = getenv("STOCKADED");
        if (!stockaded_env || !*stockaded_env)
                (void) snprintf(no_daemon_why, sizeof no_daemon_why, "STOCKADED is not set");
        else if (!(stockaded = find_exe(stockaded_env)))
                (void) snprintf(no_daemon_why, sizeof no_daemon_why, "STOCKADED=%s is not executable",
                                stockaded_env);

        /* Before anything is spawned: every variant runs in the same namespace. */
        if (net) {
                if (unshare(CLONE_NEWNET) < 0) {
                        printf("bench-startup: cannot enter a network namespace of our own (%s): "
                               "the net rows are skipped\n", strerror(errno));
                        no_net_why = "no network namespace of our own";
                        net = false;
                } else {
                        int r = loopback_up();
                        if (r >= 0 && private_bpffs() < 0)
                                printf("bench-startup: no bpffs of our own: the net row loads its programs every run\n");
                        if (r < 0) {
                                fprintf(stderr, "bench-startup: cannot bring lo up in our network namespace: %s\n",
                                        strerror(-r));
                                free(stockade);
                                free(bwrap);
                                free(stockaded);
                                return 2;
                        }
                }
        }

        /* One directory for all we write: the journal of the journaled runs,
         * the result records, the allowlist profile, and the daemon's
         * config, socket, journal and log (in daemon/). */
        char tmp_dir[] = "/tmp/bench-startup.XXXXXX";
        char journal_dir[sizeof tmp_dir + 16], profile_path[sizeof tmp_dir + 16], daemon_dir[sizeof tmp_dir + 16];
        char res_stockade[sizeof tmp_dir + 32], res_nojournal[sizeof tmp_dir + 32], res_netallow[sizeof tmp_dir + 32];
        char res_daemon[sizeof tmp_dir + 32], res_noshape[sizeof tmp_dir + 32], res_dmn_noshape[sizeof tmp_dir + 32];
        char noshape_path[sizeof tmp_dir + 16];
        if (!mkdtemp(tmp_dir)) {
                fprintf(stderr, "bench-startup: mkdtemp: %s\n", strerror(errno));
                free(stockade);
                free(bwrap);
                free(stockaded);
                return 2;
        }
        (void) snprintf(journal_dir, sizeof journal_dir, "%s/journal", tmp_dir);
        (void) snprintf(profile_path, sizeof profile_path, "%s/bench-net.yaml", tmp_dir);
        (void) snprintf(res_stockade, sizeof res_stockade, "%s/result-stockade.json", tmp_dir);
        (void) snprintf(res_nojournal, sizeof res_nojournal, "%s/result-nojournal.json", tmp_dir);
        (void) snprintf(res_netallow, sizeof res_netallow, "%s/result-netallow.json", tmp_dir);
        (void) snprintf(daemon_dir, sizeof daemon_dir, "%s/daemon", tmp_dir);
        (void) snprintf(res_daemon, sizeof res_daemon, "%s/result-daemon.json", tmp_dir);
        (void) snprintf(res_noshape, sizeof res_noshape, "%s/result-noshape.json", tmp_dir);
        (void) snprintf(res_dmn_noshape, sizeof res_dmn_noshape, "%s/result-dmn-noshape.json", tmp_dir);
        (void) snprintf(noshape_path, sizeof noshape_path, "%s/noshape.yaml", tmp_dir);
        if (mkdir(journal_dir, 0700) < 0) {
                fprintf(stderr, "bench-startup: mkdir %s: %s\n", journal_dir, strerror(errno));
                goto out;
        }
        {
                int r = write_file(noshape_path, "version: 1\n"
                                                 "name: noshape\n"
                                                 "extends: default\n"
                                                 "observe:\n"
                                                 "  shape: false\n");
                if (r < 0) {
                        fprintf(stderr, "bench-startup: cannot write %s: %s\n", noshape_path, strerror(-r));
                        goto out;
                }
        }
        if (net) {
                int r = write_file(profile_path,
                                   "version: 1\n"
                                   "name: bench-net\n"
                                   "extends: default\n"
                                   "network:\n"
                                   "  mode: allowlist\n"
                                   "  allow:\n"
                                   "    - { cidr: 100.127.255.2/32, ports: [8080], proto: tcp }\n"
                                   "    - { host: allowed.test, ports: [443], proto: tcp }\n");
                if (r < 0) {
                        fprintf(stderr, "bench-startup: cannot write %s: %s\n", profile_path, strerror(-r));
                        goto out;
                }
        }
        /* In our namespaces like every variant; it stops when we exit. */
        if (stockaded) {
                dmn = bench_daemon_start(stockaded, stockade, daemon_dir, noshape_path);
                if (!dmn) {
                        ret = 1;
                        goto out;
                }
        }

        char *const bare_argv[] = { (char *) "/bin/true", NULL };
        /* stockade journals every run: into a temporary journal here, and
         * once more without one, to show what the records cost. */
        (void) setenv("STOCKADE_JOURNAL", journal_dir, 1);
        char *const stockade_argv[] = { stockade, (char *) "run", (char *) "--embedded",
                                        (char *) "--result-json", res_stockade,
                                        (char *) "--", (char *) "/bin/true", NULL };
        char *const nojournal_argv[] = { stockade, (char *) "run", (char *) "--embedded", (char *) "--no-journal",
                                         (char *) "--result-json", res_nojournal,
                                         (char *) "--", (char *) "/bin/true", NULL };
        char *const noshape_argv[] = { stockade, (char *) "run", (char *) "--embedded",
                                       (char *) "--profile", noshape_path,
                                       (char *) "--result-json", res_noshape,
                                       (char *) "--", (char *) "/bin/true", NULL };
        /* --no-journal like net-none (stk-nojrnl), so that the ratio is the network's alone. */
        char *const netallow_argv[] = { stockade, (char *) "run", (char *) "--embedded", (char *) "--no-journal",
                                        (char *) "--profile", profile_path,
                                        (char *) "--net-pool", (char *) NET_POOL,
                                        (char *) "--dns-upstream", (char *) "127.0.0.1:53",
                                        (char *) "--result-json", res_netallow,
                                        (char *) "--", (char *) "/bin/true", NULL };
        /* The daemon journals into its own journal (its config's). */
        char *const daemon_argv[] = { stockade, (char *) "run", (char *) "--connect",
                                      dmn ? (char *) bench_daemon_socket(dmn) : (char *) "-",
                                      (char *) "--result-json", res_daemon,
                                      (char *) "--", (char *) "/bin/true", NULL };
        char *const dmn_noshape_argv[] = { stockade, (char *) "run", (char *) "--connect",
                                           dmn ? (char *) bench_daemon_socket(dmn) : (char *) "-",
                                           (char *) "--profile", noshape_path,
                                           (char *) "--result-json", res_dmn_noshape,
                                           (char *) "--", (char *) "/bin/true", NULL };
        char *const bwrap_argv[] = {
                bwrap ? bwrap : (char *) "bwrap",
                (char *) "--unshare-all", (char *) "--die-with-parent",
                (char *) "--ro-bind", (char *) "/", (char *) "/",
                (char *) "--dev", (char *) "/dev",
                (char *) "--proc", (char *) "/proc",
                (char *) "--", (char *) "/bin/true", NULL,
        };

        vs[V_BARE] = (struct variant) { .name = "bare", .argv = bare_argv, .enabled = true };
        vs[V_STOCKADE] = (struct variant) { .name = "stockade", .argv = stockade_argv,
                                            .result_json = res_stockade, .enabled = true };
        vs[V_NOJOURNAL] = (struct variant) { .name = "stk-nojrnl", .argv = nojournal_argv,
                                             .result_json = res_nojournal, .enabled = true };
        vs[V_NOSHAPE] = (struct variant) { .name = "stk-noshape", .argv = noshape_argv,
                                           .result_json = res_noshape, .enabled = true };
        vs[V_BWRAP] = (struct variant) { .name = "bwrap", .argv = bwrap_argv, .enabled = bwrap != NULL };
        vs[V_NETALLOW] = (struct variant) { .name = "net-allow", .argv = netallow_argv,
                                            .result_json = res_netallow, .enabled = net };
        vs[V_DAEMON] = (struct variant) { .name = "daemon", .argv = daemon_argv,
                                          .result_json = res_daemon, .enabled = dmn != NULL };
        vs[V_DMN_NOSHAPE] = (struct variant) { .name = "dmn-noshape", .argv = dmn_noshape_argv,
                                               .result_json = res_dmn_noshape, .enabled = dmn != NULL };

        for (int k = 0; k < V_MAX; k++) {
                if (!vs[k].enabled)
                        continue;
                vs[k].samples = calloc(MAX_ITERATIONS, sizeof(double));
                vs[k].startup = calloc(MAX_ITERATIONS, sizeof(double));
                if (!vs[k].samples || !vs[k].startup) {
                        fprintf(stderr, "bench-startup: out of memory\n");
                        goto out;
                }
        }
        /* Each run once per round, show_failure() once at most, the daemon. */
        max_spawned = (size_t) (WARMUP_ROUNDS + iterations) * V_MAX + 2;
        spawned = calloc(max_spawned, sizeof *spawned);
        if (!spawned) {
                fprintf(stderr, "bench-startup: out of memory\n");
                goto out;
        }
        if (dmn)
                note_pid(bench_daemon_pid(dmn));

        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0) {
                fprintf(stderr, "bench-startup: /dev/null: %s\n", strerror(errno));
                goto out;
        }
        if (posix_spawn_file_actions_init(&fa) != 0 ||
            posix_spawn_file_actions_adddup2(&fa, devnull, STDIN_FILENO) != 0 ||
            posix_spawn_file_actions_adddup2(&fa, devnull, STDOUT_FILENO) != 0 ||
            posix_spawn_file_actions_adddup2(&fa, devnull, STDERR_FILENO) != 0) {
                fprintf(stderr, "bench-startup: posix_spawn_file_actions: out of memory\n");
                goto out;
        }

        /* No SA_RESTART: the alarm must interrupt waitpid() for the hang check. */
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGALRM, &sa, NULL) < 0) {
                fprintf(stderr, "bench-startup: sigaction: %s\n", strerror(errno));
                goto out;
        }

        printf("bench-startup: %u iterations per variant after %d warm-up rounds, round-robin\n",
               iterations, WARMUP_ROUNDS);
        printf("  bare:       /bin/true\n");
        printf("  stockade:   %s run --embedded --result-json FILE -- /bin/true   (journal: %s)\n", stockade,
               journal_dir);
        printf("  stk-nojrnl: %s run --embedded --no-journal --result-json FILE -- /bin/true\n", stockade);
        printf("  stk-noshape: %s run --embedded --profile %s --result-json FILE -- /bin/true   (observe.shape: false)\n",
               stockade, noshape_path);
        if (bwrap)
                printf("  bwrap:      %s --unshare-all --die-with-parent --ro-bind / / --dev /dev --proc /proc -- /bin/true\n",
                       bwrap);
        else
                printf("  bwrap:      not installed (not on PATH), skipped\n");
        if (net) {
                printf("  net-allow:  %s run --embedded --no-journal --profile %s --net-pool %s "
                       "--dns-upstream 127.0.0.1:53 --result-json FILE -- /bin/true\n", stockade, profile_path, NET_POOL);
                printf("  net-none:   the stk-nojrnl runs (default profile: network mode none)\n");
                printf("  all variants run in a network namespace of the bench's own (lo up)\n");
        } else
                printf("  net-allow:  skipped (%s)\n", no_net_why);
        if (dmn) {
                printf("  daemon:     %s run --connect %s --result-json FILE -- /bin/true\n", stockade,
                       bench_daemon_socket(dmn));
                printf("              through %s --config %s/stockaded.yaml (pid %ld; journal: %s/journal)\n",
                       stockaded, daemon_dir, (long) bench_daemon_pid(dmn), daemon_dir);
        } else
                printf("  daemon:     skipped (%s)\n", no_daemon_why);
        fflush(stdout);

        ret = 0;
        for (unsigned round = 0; round < WARMUP_ROUNDS + iterations && ret == 0; round++) {
                bool warm = round < WARMUP_ROUNDS;
                unsigned it = warm ? round + 1 : round - WARMUP_ROUNDS + 1;
                const char *phase = warm ? "warm-up" : "measured";

                for (unsigned j = 0; j < V_MAX && ret == 0; j++) {
                        struct variant *v = &vs[(round + j) % V_MAX];
                        double ms, st = 0;

                        if (!v->enabled)
                                continue;
                        if (v->result_json)
                                (void) unlink(v->result_json);
                        ret = run_once(v, &fa, phase, it, &ms);
                        if (ret == 0 && v->result_json && read_startup_ms(v, phase, it, &st) < 0)
                                ret = 1;
                        if (ret == 0 && !warm) {
                                v->samples[v->n] = ms;
                                v->startup[v->n++] = st;
                        }
                        if (ret == 3) {
                                show_failure(v);
                                ret = 1;
                        }
                }
        }
        posix_spawn_file_actions_destroy(&fa);
        if (ret != 0) {
                fprintf(stderr, "bench-startup: aborted\n");
                goto out;
        }

        /* The daemon's own numbers: throughput, then its journal once it is
         * stopped (every record of it written). */
        if (dmn) {
                for (size_t k = 0; k < sizeof tput_clients / sizeof tput_clients[0] && ret == 0; k++)
                        ret = bench_daemon_throughput(dmn, tput_clients[k], THROUGHPUT_TASKS, THROUGHPUT_MAX_S,
                                                      &tput[k]);
                if (bench_daemon_stop(dmn) != 0)
                        ret = 1;
                if (ret == 0)
                        ret = bench_daemon_policy_ms(dmn, &policy, &n_policy);
                if (ret == 0 && n_policy == 0) {
                        fprintf(stderr, "bench-startup: FAIL no admission record with decision allow "
                                "in the daemon's journal\n");
                        ret = 1;
                }
                if (ret != 0) {
                        fprintf(stderr, "bench-startup: aborted\n");
                        goto out;
                }
                summarize(policy, n_policy, &pol);
        }

        for (int k = 0; k < V_MAX; k++)
                if (vs[k].enabled) {
                        summarize(vs[k].samples, vs[k].n, &vs[k].e2e);
                        if (vs[k].result_json)
                                summarize(vs[k].startup, vs[k].n, &vs[k].st);
                }

        printf("\nend-to-end (spawn to reaped)\n");
        printf("%-11s %9s %9s %9s %9s %10s %10s", "variant", "p50_ms", "p95_ms", "p99_ms", "mean_ms",
               "p50/bare", "p95/bare");
        if (bwrap)
                printf(" %10s %10s", "p50/bwrap", "p95/bwrap");
        printf("\n");
        for (int k = 0; k < V_MAX; k++) {
                const struct variant *v = &vs[k];

                if (!v->enabled)
                        continue;
                printf("%-11s %9.3f %9.3f %9.3f %9.3f", v->name, v->e2e.p50, v->e2e.p95, v->e2e.p99, v->e2e.mean);
                print_ratio(v->e2e.p50, vs[V_BARE].e2e.p50);
                print_ratio(v->e2e.p95, vs[V_BARE].e2e.p95);
                if (bwrap) {
                        print_ratio(v->e2e.p50, vs[V_BWRAP].e2e.p50);
                        print_ratio(v->e2e.p95, vs[V_BWRAP].e2e.p95);
                }
                printf("\n");
        }

        printf("\nstartup_ms (stockade's own: start of `stockade run` to the task's execve)\n");
        printf("%-11s %9s %9s %9s %9s\n", "variant", "p50_ms", "p95_ms", "p99_ms", "mean_ms");
        for (int k = 0; k < V_MAX; k++) {
                const struct variant *v = &vs[k];

                if (v->enabled && v->result_json)
                        printf("%-11s %9.3f %9.3f %9.3f %9.3f\n", v->name, v->st.p50, v->st.p95, v->st.p99, v->st.mean);
        }

        double journal_pct = (ratio(vs[V_STOCKADE].st.p50, vs[V_NOJOURNAL].st.p50) - 1) * 100;
        {
                const struct variant *on = &vs[V_STOCKADE], *off = &vs[V_NOSHAPE];

                printf("\nobserve.shape (default on) vs off, both journaled: what recording costs a start\n");
                printf("%-12s %14s %14s\n", "", "e2e_p50_ms", "startup_p50_ms");
                printf("%-12s %+14.3f %+14.3f\n", "embedded", on->e2e.p50 - off->e2e.p50, on->st.p50 - off->st.p50);
                if (dmn)
                        printf("%-12s %+14.3f %+14.3f   (the daemon keeps the programs linked)\n", "daemon",
                               vs[V_DAEMON].e2e.p50 - vs[V_DMN_NOSHAPE].e2e.p50,
                               vs[V_DAEMON].st.p50 - vs[V_DMN_NOSHAPE].st.p50);
        }
        double net_st = 0, net_e2e = 0;
        if (net) {
                const struct variant *none = &vs[V_NOJOURNAL], *allow = &vs[V_NETALLOW];

                net_st = ratio(allow->st.p50, none->st.p50);
                net_e2e = ratio(allow->e2e.p50, none->e2e.p50);
                printf("\nnetwork, both --no-journal (net-none is the stk-nojrnl runs: network mode none)\n");
                printf("%-10s %14s %14s\n", "variant", "e2e_p50_ms", "startup_p50_ms");
                printf("%-10s %14.3f %14.3f\n", "net-none", none->e2e.p50, none->st.p50);
                printf("%-10s %14.3f %14.3f\n", "net-allow", allow->e2e.p50, allow->st.p50);
                printf("%-10s %13.2fx %13.2fx\n", "allow/none", net_e2e, net_st);
                printf("net-allow includes its supervisor's one-time network setup (BPF load, nft table,\n"
                       "DNS proxy) in both numbers: each `stockade run` is a supervisor of its own\n");
        }

        if (dmn) {
                const struct variant *dv = &vs[V_DAEMON], *ev = &vs[V_STOCKADE];

                daemon_ratio = ratio(dv->e2e.p50, ev->e2e.p50);
                printf("\ndaemon (stockaded of our own) vs stockade (embedded, journaled)\n");
                printf("%-10s %14s %14s %14s %14s\n", "variant", "e2e_p50_ms", "e2e_p95_ms", "e2e_p99_ms",
                       "startup_p50_ms");
                printf("%-10s %14.3f %14.3f %14.3f %14.3f\n", "stockade", ev->e2e.p50, ev->e2e.p95, ev->e2e.p99,
                       ev->st.p50);
                printf("%-10s %14.3f %14.3f %14.3f %14.3f\n", "daemon", dv->e2e.p50, dv->e2e.p95, dv->e2e.p99,
                       dv->st.p50);
                printf("%-10s %13.2fx %13.2fx %13.2fx %13.2fx   (e2e p50 target: within %.1fx)\n", "dmn/stk",
                       daemon_ratio, ratio(dv->e2e.p95, ev->e2e.p95), ratio(dv->e2e.p99, ev->e2e.p99),
                       ratio(dv->st.p50, ev->st.p50), DAEMON_RATIO_TARGET);
                printf("the daemon's startup_ms runs from its accept() of the connection to the task's execve\n");
                printf("\nthroughput through the daemon (/bin/true; each client replaced as it exits; "
                       "%d tasks or %.0f s)\n", THROUGHPUT_TASKS, THROUGHPUT_MAX_S);
                printf("%-10s %8s %10s %10s\n", "clients", "tasks", "seconds", "tasks/s");
                for (size_t k = 0; k < sizeof tput_clients / sizeof tput_clients[0]; k++)
                        printf("%-10u %8u %10.3f %10.1f\n", tput[k].clients, tput[k].tasks, tput[k].seconds,
                               tput[k].per_s);
                printf("\nadmission policy_ms (the daemon's journal: %zu admission records with decision allow)\n",
                       n_policy);
                printf("p50 %.4f ms  p95 %.4f ms  p99 %.4f ms  mean %.4f ms   (target: p99 under %.0f ms)\n",
                       pol.p50, pol.p95, pol.p99, pol.mean, POLICY_P99_TARGET_MS);
        }

        printf("\n");
        for (int k = 0; k < V_MAX; k++) {
                const struct variant *v = &vs[k];

                if (v->enabled)
                        printf("bench startup %s p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f\n",
                               v->name, v->e2e.p50, v->e2e.p95, v->e2e.p99);
        }
        for (int k = 0; k < V_MAX; k++) {
                const struct variant *v = &vs[k];

                if (v->enabled && v->result_json)
                        printf("bench startup %s startup_p50_ms=%.3f startup_p95_ms=%.3f\n",
                               v->name, v->st.p50, v->st.p95);
        }
        printf("bench startup journal_overhead_startup_p50=%+.1f%% (target < %.0f%%)\n", journal_pct,
               JOURNAL_OVERHEAD_TARGET_PCT);
        printf("bench startup shape_cost_embedded_startup_p50_ms=%+.3f\n", vs[V_STOCKADE].st.p50 - vs[V_NOSHAPE].st.p50);
        if (dmn)
                printf("bench startup shape_cost_daemon_startup_p50_ms=%+.3f\n",
                       vs[V_DAEMON].st.p50 - vs[V_DMN_NOSHAPE].st.p50);
        if (net) {
                printf("bench startup net-none p50_ms=%.3f startup_p50_ms=%.3f (= stk-nojrnl)\n",
                       vs[V_NOJOURNAL].e2e.p50, vs[V_NOJOURNAL].st.p50);
                printf("bench startup net_allow_vs_none_startup_p50=%.2fx (target < %.0fx)\n", net_st,
                       NET_ALLOW_RATIO_TARGET);
                printf("bench startup net_allow_vs_none_e2e_p50=%.2fx\n", net_e2e);
        }
        if (dmn) {
                printf("bench startup daemon_vs_embedded_e2e_p50=%.2fx (target <= %.1fx)\n", daemon_ratio,
                       DAEMON_RATIO_TARGET);
                for (size_t k = 0; k < sizeof tput_clients / sizeof tput_clients[0]; k++)
                        printf("bench startup daemon_throughput_%u_clients=%.1f tasks/s (%u tasks in %.3f s)\n",
                               tput[k].clients, tput[k].per_s, tput[k].tasks, tput[k].seconds);
                printf("bench startup daemon_policy_p50_ms=%.4f daemon_policy_p99_ms=%.4f (target p99 < %.0f ms)\n",
                       pol.p50, pol.p99, POLICY_P99_TARGET_MS);
        } else
                printf("bench startup daemon skipped (%s)\n", no_daemon_why);

        /* Every target missed, by name. */
        char missed[256] = "";
        const struct { bool miss; const char *name; } targets[] = {
                { journal_pct >= JOURNAL_OVERHEAD_TARGET_PCT, "journal_overhead_startup_p50" },
                { net && net_st >= NET_ALLOW_RATIO_TARGET, "net_allow_vs_none_startup_p50" },
                { dmn && daemon_ratio > DAEMON_RATIO_TARGET, "daemon_vs_embedded_e2e_p50" },
                { dmn && pol.p99 >= POLICY_P99_TARGET_MS, "daemon_policy_p99_ms" },
        };
        for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++)
                if (targets[k].miss) {
                        size_t len = strlen(missed);
                        (void) snprintf(missed + len, sizeof missed - len, "%s%s", len ? ", " : "", targets[k].name);
                }
        if (missed[0] && enforce) {
                fprintf(stderr, "bench-startup: FAIL target missed (--enforce): %s\n", missed);
                ret = 1;
        } else if (missed[0])
                printf("bench-startup: target missed (%s); reported only (pass --enforce to fail)\n", missed);

        unsigned left = leftover_cgroups();
        if (left > 0) {
                fprintf(stderr, "bench-startup: FAIL %u cgroup(s) left behind by our stockade runs\n", left);
                ret = 1;
        }

out:
        /* Stopped (if the bench ended early) before its directory goes;
         * what a daemon that did not stop cleanly left in the cgroup
         * hierarchies goes too (reported above on the normal path). */
        if (dmn) {
                pid_t dpid = bench_daemon_pid(dmn);
                (void) bench_daemon_stop(dmn);
                bench_daemon_free(dmn);
                (void) scan_cgroups(dpid);
        }
        free(policy);
        (void) nftw(tmp_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        for (int k = 0; k < V_MAX; k++) {
                free(vs[k].samples);
                free(vs[k].startup);
        }
        free(spawned);
        fflush(stdout);
        free(stockade);
        free(bwrap);
        free(stockaded);
        return ret;
}
