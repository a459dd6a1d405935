/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-startup: sequential start-to-exit latency of
 *
 *   bare      posix_spawn("/bin/true") + waitpid          (baseline)
 *   stockade  stockade run -- /bin/true
 *   bwrap     bwrap --unshare-all ... -- /bin/true        (only when bwrap is on PATH)
 *
 * All variants are measured in one process, interleaved round-robin (one run
 * of each per round, with the starting variant rotated every round) so that
 * machine noise hits them equally.  Every run is timed with CLOCK_MONOTONIC
 * from just before posix_spawn() to just after waitpid() returns.  The
 * children get /dev/null as stdin, stdout and stderr and inherit our
 * environment.
 *
 * Usage: bench-startup [--iterations N] [--stockade PATH | PATH]
 *   stockade is taken from the argument, else $STOCKADE, else "stockade" on PATH.
 *
 * Exit status: 0 on success; 1 when any run (warm-up included) cannot be
 * spawned, hangs for more than a minute or does not exit with status 0 (the
 * variant, phase and run number are printed); 2 on bad usage or setup errors.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_ITERATIONS 200
#define MAX_ITERATIONS 2000
#define WARMUP_ROUNDS 10
#ifndef RUN_TIMEOUT_S
#define RUN_TIMEOUT_S 60 /* a single run taking longer than this is a hang */
#endif

enum { V_BARE, V_STOCKADE, V_NOJOURNAL, V_BWRAP, V_MAX };

struct variant {
        const char *name;
        char *const *argv;
        bool enabled;
        double *samples; /* milliseconds, MAX_ITERATIONS entries */
        size_t n;
        double p50, p95, p99, mean;
};

static volatile sig_atomic_t alarm_fired;

static void on_alarm(int sig) {
        (void) sig;
        alarm_fired = 1;
}

static void usage(FILE *f) {
        fprintf(f,
                "usage: bench-startup [--iterations N] [--stockade PATH | PATH]\n"
                "  Measures start-to-exit latency of /bin/true run bare, under\n"
                "  'stockade run --' and under bwrap (when installed).\n"
                "  --iterations N   measured runs per variant (1..%d, default %d),\n"
                "                   after %d warm-up rounds\n"
                "  --stockade PATH  the stockade binary (default: $STOCKADE, else PATH lookup)\n",
                MAX_ITERATIONS, DEFAULT_ITERATIONS, WARMUP_ROUNDS);
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
                        return 1;
                }
                alarm(0);
                fprintf(stderr, "bench-startup: FAIL %s %s run %u: waitpid: %s\n",
                        v->name, phase, iteration, strerror(errno));
                return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        alarm(0);

        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                describe_status(status, what, sizeof what);
                fprintf(stderr, "bench-startup: FAIL %s %s run %u: %s\n", v->name, phase, iteration, what);
                return 3;
        }

        *ms = elapsed_ms(&t0, &t1);
        return 0;
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
        }
        posix_spawn_file_actions_destroy(&fa);
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

static void summarize(struct variant *v) {
        double sum = 0;

        qsort(v->samples, v->n, sizeof v->samples[0], cmp_double);
        for (size_t i = 0; i < v->n; i++)
                sum += v->samples[i];
        v->mean = sum / (double) v->n;
        v->p50 = percentile(v->samples, v->n, 50);
        v->p95 = percentile(v->samples, v->n, 95);
        v->p99 = percentile(v->samples, v->n, 99);
}

static void print_ratio(double a, double b) {
        if (b > 0)
                printf(" %9.2fx", a / b);
        else
                printf(" %10s", "-");
}

int main(int argc, char **argv) {
        unsigned iterations = DEFAULT_ITERATIONS;
        const char *stockade_arg = NULL;
        char *stockade = NULL, *bwrap = NULL;
        posix_spawn_file_actions_t fa;
        struct variant vs[V_MAX] = { 0 };
        struct sigaction sa;
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

        char *const bare_argv[] = { (char *) "/bin/true", NULL };
        /* stockade journals every run: into a temporary journal here, and
         * once more without one, to show what the records cost. */
        char journal_dir[] = "/tmp/bench-startup-journal.XXXXXX";
        if (!mkdtemp(journal_dir)) {
                fprintf(stderr, "bench-startup: mkdtemp: %s\n", strerror(errno));
                free(stockade);
                free(bwrap);
                return 2;
        }
        (void) setenv("STOCKADE_JOURNAL", journal_dir, 1);
        char *const stockade_argv[] = { stockade, (char *) "run", (char *) "--", (char *) "/bin/true", NULL };
        char *const nojournal_argv[] = { stockade, (char *) "run", (char *) "--no-journal", (char *) "--",
                                         (char *) "/bin/true", NULL };
        char *const bwrap_argv[] = {
                bwrap ? bwrap : (char *) "bwrap",
                (char *) "--unshare-all", (char *) "--die-with-parent",
                (char *) "--ro-bind", (char *) "/", (char *) "/",
                (char *) "--dev", (char *) "/dev",
                (char *) "--proc", (char *) "/proc",
                (char *) "--", (char *) "/bin/true", NULL,
        };

        vs[V_BARE] = (struct variant) { .name = "bare", .argv = bare_argv, .enabled = true };
        vs[V_STOCKADE] = (struct variant) { .name = "stockade", .argv = stockade_argv, .enabled = true };
        vs[V_NOJOURNAL] = (struct variant) { .name = "stk-nojrnl", .argv = nojournal_argv, .enabled = true };
        vs[V_BWRAP] = (struct variant) { .name = "bwrap", .argv = bwrap_argv, .enabled = bwrap != NULL };

        for (int k = 0; k < V_MAX; k++) {
                if (!vs[k].enabled)
                        continue;
                vs[k].samples = calloc(MAX_ITERATIONS, sizeof(double));
                if (!vs[k].samples) {
                        fprintf(stderr, "bench-startup: out of memory\n");
                        goto out;
                }
        }

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
        printf("  bare:     /bin/true\n");
        printf("  stockade: %s run -- /bin/true\n", stockade);
        if (bwrap)
                printf("  bwrap:    %s --unshare-all --die-with-parent --ro-bind / / --dev /dev --proc /proc -- /bin/true\n",
                       bwrap);
        else
                printf("  bwrap:    not installed (not on PATH), skipped\n");
        fflush(stdout);

        ret = 0;
        for (unsigned round = 0; round < WARMUP_ROUNDS + iterations && ret == 0; round++) {
                bool warm = round < WARMUP_ROUNDS;
                unsigned it = warm ? round + 1 : round - WARMUP_ROUNDS + 1;

                for (unsigned j = 0; j < V_MAX && ret == 0; j++) {
                        struct variant *v = &vs[(round + j) % V_MAX];
                        double ms;

                        if (!v->enabled)
                                continue;
                        ret = run_once(v, &fa, warm ? "warm-up" : "measured", it, &ms);
                        if (ret == 0 && !warm)
                                v->samples[v->n++] = ms;
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

        for (int k = 0; k < V_MAX; k++)
                if (vs[k].enabled)
                        summarize(&vs[k]);

        printf("\n%-9s %9s %9s %9s %9s %10s %10s", "variant", "p50_ms", "p95_ms", "p99_ms", "mean_ms",
               "p50/bare", "p95/bare");
        if (bwrap)
                printf(" %10s %10s", "p50/bwrap", "p95/bwrap");
        printf("\n");
        for (int k = 0; k < V_MAX; k++) {
                const struct variant *v = &vs[k];

                if (!v->enabled)
                        continue;
                printf("%-9s %9.3f %9.3f %9.3f %9.3f", v->name, v->p50, v->p95, v->p99, v->mean);
                print_ratio(v->p50, vs[V_BARE].p50);
                print_ratio(v->p95, vs[V_BARE].p95);
                if (bwrap) {
                        print_ratio(v->p50, vs[V_BWRAP].p50);
                        print_ratio(v->p95, vs[V_BWRAP].p95);
                }
                printf("\n");
        }
        printf("\n");
        for (int k = 0; k < V_MAX; k++) {
                const struct variant *v = &vs[k];

                if (v->enabled)
                        printf("bench startup %s p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f\n",
                               v->name, v->p50, v->p95, v->p99);
        }

out:
        {
                /* Segments are append-only (FS_APPEND_FL) where supported. */
                char cmd[256];
                (void) snprintf(cmd, sizeof cmd, "chattr -R -a %s 2>/dev/null; rm -rf %s", journal_dir, journal_dir);
                if (system(cmd) != 0)
                        fprintf(stderr, "bench-startup: could not remove %s\n", journal_dir);
        }
        for (int k = 0; k < V_MAX; k++)
                free(vs[k].samples);
        fflush(stdout);
        free(stockade);
        free(bwrap);
        return ret;
}
