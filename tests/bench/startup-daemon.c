/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-startup's daemon part (startup-daemon.h): a stockaded of the
 * bench's own, throughput through it, and the admission policy_ms of its
 * journal.
 *
 * The daemon is started with fork() and execve() rather than posix_spawn()
 * only to set PR_SET_PDEATHSIG(SIGTERM) in between: a bench killed outright
 * still stops its daemon, which then removes its socket and its tenant's
 * cgroups as on any SIGTERM. It reports readiness with sd_notify's READY=1
 * (sent once it listens) on a datagram socket of ours in its directory, so
 * no probe connection of ours lands in its journal as a refused request.
 */

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "startup-daemon.h"

extern char **environ;

#define READY_TIMEOUT_S 30  /* from exec to listening */
#define STOP_GRACE "5s"     /* the config's grace: nothing runs by then anyway */
#define STOP_TIMEOUT_S 30   /* from SIGTERM to its exit; then SIGKILL */
#define CLIENT_TIMEOUT_S 60 /* one `stockade run --connect` taking longer is a hang */
#define SHOW_TIMEOUT_S 60   /* `stockade journal show` */

struct BenchDaemon {
        char *stockade;
        char *dir, *config, *socket, *journal, *log, *notify, *client_err, *admissions;
        pid_t pid;
        bool stopped;
        int stop_ret;
};

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static char *path_in(const char *dir, const char *name) {
        char *p;
        return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

static void describe(int status, char *buf, size_t size) {
        if (WIFEXITED(status))
                snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
                snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
                snprintf(buf, size, "wait status 0x%x", (unsigned) status);
}

/* The last lines of a log of ours, indented, to stderr. */
static void show_file(const char *what, const char *path) {
        FILE *f = fopen(path, "re");
        char *line = NULL, *lines[20] = { 0 };
        size_t size = 0, n = 0;

        if (!f)
                return;
        while (getline(&line, &size, f) > 0) {
                free(lines[n % 20]);
                lines[n % 20] = strdup(line);
                n++;
        }
        free(line);
        fclose(f);
        if (n == 0)
                return;
        fprintf(stderr, "bench-startup: %s (%s)%s:\n", what, path, n > 20 ? ", its last 20 lines" : "");
        for (size_t i = n > 20 ? n - 20 : 0; i < n; i++) {
                fprintf(stderr, "  %s%s", lines[i % 20] ? lines[i % 20] : "?\n",
                        lines[i % 20] && strchr(lines[i % 20], '\n') ? "" : "\n");
                free(lines[i % 20]);
                lines[i % 20] = NULL;
        }
}

static int write_config(const BenchDaemon *d, const char *extra_profile) {
        FILE *f = fopen(d->config, "wxe");
        int r = 0;

        if (!f)
                return -errno;
        fprintf(f,
                "# bench-startup's own stockaded: removed with the bench's temp directory\n"
                "socket: %s\n"
                "journal: %s\n"
                "grace: " STOP_GRACE "\n"
                "tenants:\n"
                "  - name: bench\n"
                "    uids: [0]\n"
                "    profiles: [default%s%s]\n"
                "    max_concurrent: 32\n"
                "    max_queued: 256\n",
                d->socket, d->journal, extra_profile ? ", " : "", extra_profile ? extra_profile : "");
        if (ferror(f))
                r = -EIO;
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        return r;
}

static int open_notify(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* Our environment with NOTIFY_SOCKET=path instead of any of its own. */
static char **daemon_env(const char *notify) {
        size_t n = 0, k = 0;
        char **env;

        while (environ[n])
                n++;
        env = calloc(n + 2, sizeof *env);
        if (!env)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (strncmp(environ[i], "NOTIFY_SOCKET=", 14) != 0)
                        env[k++] = environ[i];
        if (asprintf(&env[k], "NOTIFY_SOCKET=%s", notify) < 0) {
                free(env);
                return NULL;
        }
        return env;
}

/* fork + PR_SET_PDEATHSIG + execve; the child calls async-signal-safe
 * functions only. Returns the pid, or -errno. */
static pid_t spawn_daemon(const char *stockaded, char *const argv[], char *const envp[], int logfd) {
        pid_t parent = getpid(), pid;
        sigset_t none;

        sigemptyset(&none);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid > 0)
                return pid;
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(127);
        int nullfd = open("/dev/null", O_RDONLY);
        if (nullfd < 0 || dup2(nullfd, STDIN_FILENO) < 0 || dup2(logfd, STDOUT_FILENO) < 0 ||
            dup2(logfd, STDERR_FILENO) < 0)
                _exit(127);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        execve(stockaded, argv, envp);
        _exit(127);
}

/* Waits for READY=1 on fd, or the daemon's end, or the timeout. */
static int wait_ready(BenchDaemon *d, int fd) {
        double deadline = now_s() + READY_TIMEOUT_S;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char buf[512], what[128];
                int status;
                pid_t w;

                if (poll(&p, 1, 50) > 0) {
                        ssize_t len;
                        while ((len = recv(fd, buf, sizeof buf - 1, 0)) > 0) {
                                buf[len] = '\0';
                                if (strstr(buf, "READY=1"))
                                        return 0;
                        }
                }
                w = waitpid(d->pid, &status, WNOHANG);
                if (w == d->pid) {
                        describe(status, what, sizeof what);
                        fprintf(stderr, "bench-startup: FAIL stockaded %s before it listened\n", what);
                        d->stopped = true;
                        d->stop_ret = 1;
                        show_file("stockaded's log", d->log);
                        return -1;
                }
                if (now_s() > deadline) {
                        fprintf(stderr, "bench-startup: FAIL stockaded did not listen within %d s\n", READY_TIMEOUT_S);
                        return -1;
                }
        }
}

BenchDaemon *bench_daemon_start(const char *stockaded, const char *stockade, const char *dir,
                                const char *extra_profile) {
        BenchDaemon *d = calloc(1, sizeof *d);
        char **envp = NULL;
        int logfd = -1, notifyfd = -1, r;
        struct stat st;

        if (!d)
                goto oom;
        d->pid = -1;
        d->stockade = strdup(stockade);
        d->dir = strdup(dir);
        d->config = path_in(dir, "stockaded.yaml");
        d->socket = path_in(dir, "stockaded.sock");
        d->journal = path_in(dir, "journal");
        d->log = path_in(dir, "stockaded.log");
        d->notify = path_in(dir, "notify");
        d->client_err = path_in(dir, "clients.err");
        d->admissions = path_in(dir, "admissions.jsonl");
        if (!d->stockade || !d->dir || !d->config || !d->socket || !d->journal || !d->log || !d->notify ||
            !d->client_err || !d->admissions)
                goto oom;

        if (mkdir(dir, 0700) < 0) {
                fprintf(stderr, "bench-startup: mkdir %s: %s\n", dir, strerror(errno));
                goto fail;
        }
        r = write_config(d, extra_profile);
        if (r < 0) {
                fprintf(stderr, "bench-startup: cannot write %s: %s\n", d->config, strerror(-r));
                goto fail;
        }
        logfd = open(d->log, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
        if (logfd < 0) {
                fprintf(stderr, "bench-startup: cannot create %s: %s\n", d->log, strerror(errno));
                goto fail;
        }
        notifyfd = open_notify(d->notify);
        if (notifyfd < 0) {
                fprintf(stderr, "bench-startup: cannot bind %s: %s\n", d->notify, strerror(-notifyfd));
                goto fail;
        }
        envp = daemon_env(d->notify);
        if (!envp)
                goto oom;

        char *const argv[] = { (char *) stockaded, (char *) "--config", d->config, NULL };
        pid_t pid = spawn_daemon(stockaded, argv, envp, logfd);
        if (pid < 0) {
                fprintf(stderr, "bench-startup: FAIL cannot start %s: %s\n", stockaded, strerror((int) -pid));
                goto fail;
        }
        d->pid = pid;
        if (wait_ready(d, notifyfd) < 0)
                goto fail;
        if (stat(d->socket, &st) < 0 || !S_ISSOCK(st.st_mode)) {
                fprintf(stderr, "bench-startup: FAIL stockaded is ready but %s is no socket\n", d->socket);
                goto fail;
        }
        close(notifyfd);
        (void) unlink(d->notify);
        close(logfd);
        goto done;

oom:
        fprintf(stderr, "bench-startup: out of memory\n");
fail:
        if (notifyfd >= 0)
                close(notifyfd);
        if (logfd >= 0)
                close(logfd);
        bench_daemon_free(d);
        d = NULL;
done:
        if (envp) {
                /* The NOTIFY_SOCKET entry is the last one, and the only one we allocated. */
                size_t n = 0;
                while (envp[n])
                        n++;
                if (n > 0)
                        free(envp[n - 1]);
                free(envp);
        }
        return d;
}

const char *bench_daemon_socket(const BenchDaemon *d) {
        return d->socket;
}

pid_t bench_daemon_pid(const BenchDaemon *d) {
        return d->pid;
}

/* ---- throughput ---- */

struct client {
        pid_t pid;
        int pidfd;
        double t0;
};

static int spawn_client(BenchDaemon *d, const posix_spawn_file_actions_t *fa, struct client *c) {
        char *const argv[] = { d->stockade, (char *) "run", (char *) "--connect", d->socket,
                               (char *) "--", (char *) "/bin/true", NULL };
        int r = posix_spawn(&c->pid, argv[0], fa, NULL, argv, environ);

        if (r != 0) {
                fprintf(stderr, "bench-startup: FAIL throughput: cannot spawn %s: %s\n", argv[0], strerror(r));
                return -1;
        }
        c->t0 = now_s();
        c->pidfd = (int) syscall(SYS_pidfd_open, c->pid, 0);
        if (c->pidfd < 0) {
                fprintf(stderr, "bench-startup: FAIL throughput: pidfd_open: %s\n", strerror(errno));
                (void) kill(c->pid, SIGKILL);
                while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                return -1;
        }
        return 0;
}

int bench_daemon_throughput(BenchDaemon *d, unsigned clients, unsigned max_tasks, double max_s,
                            BenchThroughput *ret) {
        posix_spawn_file_actions_t fa;
        struct client *cs = calloc(clients, sizeof *cs);
        struct pollfd *pfds = calloc(clients, sizeof *pfds);
        unsigned inflight = 0, started = 0, ok = 0;
        double t_start, t_end;
        bool failed = false;
        int errfd, fa_ok = 0;

        *ret = (BenchThroughput) { .clients = clients };
        errfd = open(d->client_err, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (!cs || !pfds || errfd < 0 || posix_spawn_file_actions_init(&fa) != 0) {
                fprintf(stderr, "bench-startup: throughput: cannot set up: %s\n",
                        errfd < 0 ? strerror(errno) : "out of memory");
                free(cs);
                free(pfds);
                if (errfd >= 0)
                        close(errfd);
                return 1;
        }
        fa_ok = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0) == 0 &&
                posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0) == 0 &&
                posix_spawn_file_actions_adddup2(&fa, errfd, STDERR_FILENO) == 0;
        if (!fa_ok) {
                fprintf(stderr, "bench-startup: throughput: posix_spawn_file_actions: out of memory\n");
                posix_spawn_file_actions_destroy(&fa);
                free(cs);
                free(pfds);
                close(errfd);
                return 1;
        }

        t_start = now_s();
        while (inflight < clients && started < max_tasks) {
                if (spawn_client(d, &fa, &cs[inflight]) < 0) {
                        failed = true;
                        break;
                }
                inflight++;
                started++;
        }
        t_end = now_s();
        while (inflight > 0) {
                for (unsigned i = 0; i < inflight; i++)
                        pfds[i] = (struct pollfd) { .fd = cs[i].pidfd, .events = POLLIN };
                int n = poll(pfds, inflight, 200);
                if (n < 0 && errno != EINTR) {
                        fprintf(stderr, "bench-startup: throughput: poll: %s\n", strerror(errno));
                        failed = true; /* the hang check below still reaps every client */
                        sleep_ms(10);
                }
                double now = now_s();
                /* Backwards: a slot refilled or removed is never looked at twice. */
                for (unsigned i = inflight; i-- > 0;) {
                        struct client *c = &cs[i];
                        bool exited = n > 0 && (pfds[i].revents & (POLLIN | POLLHUP));
                        int status;
                        char what[128];

                        if (!exited && now - c->t0 > CLIENT_TIMEOUT_S) {
                                fprintf(stderr, "bench-startup: FAIL throughput (%u clients): no exit after %d s, "
                                        "killing pid %ld\n", clients, CLIENT_TIMEOUT_S, (long) c->pid);
                                (void) kill(c->pid, SIGKILL);
                                failed = true;
                                exited = true;
                        }
                        if (!exited)
                                continue;
                        while (waitpid(c->pid, &status, 0) < 0)
                                if (errno != EINTR) {
                                        status = 0x7f00; /* reported as a status below */
                                        break;
                                }
                        close(c->pidfd);
                        t_end = now_s();
                        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                                ok++;
                        else if (!failed || !WIFSIGNALED(status)) {
                                describe(status, what, sizeof what);
                                fprintf(stderr, "bench-startup: FAIL throughput (%u clients): stockade run --connect %s\n",
                                        clients, what);
                                failed = true;
                        }
                        if (!failed && started < max_tasks && t_end - t_start < max_s) {
                                if (spawn_client(d, &fa, c) == 0) {
                                        started++;
                                        continue;
                                }
                                failed = true;
                        }
                        cs[i] = cs[--inflight];
                }
        }
        posix_spawn_file_actions_destroy(&fa);
        close(errfd);
        free(cs);
        free(pfds);

        ret->tasks = ok;
        ret->seconds = t_end - t_start;
        ret->per_s = ret->seconds > 0 ? (double) ok / ret->seconds : 0;
        if (failed) {
                show_file("the clients' stderr", d->client_err);
                show_file("stockaded's log", d->log);
                return 1;
        }
        return 0;
}

/* ---- stop ---- */

int bench_daemon_stop(BenchDaemon *d) {
        double deadline;
        int status = 0;
        char what[128];

        if (d->stopped || d->pid <= 0)
                return d->stop_ret;
        d->stopped = true;
        d->stop_ret = 1;
        /* Ended on its own already (it is our child: nobody else reaps it)? */
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
                describe(status, what, sizeof what);
                fprintf(stderr, "bench-startup: FAIL stockaded (pid %ld) ended before we stopped it: %s\n",
                        (long) d->pid, what);
                show_file("stockaded's log", d->log);
                return 1;
        }
        if (kill(d->pid, SIGTERM) < 0) {
                fprintf(stderr, "bench-startup: cannot stop stockaded (pid %ld): %s\n", (long) d->pid, strerror(errno));
                /* Still ours to reap: it is our child. */
        }
        deadline = now_s() + STOP_TIMEOUT_S;
        for (;;) {
                pid_t w = waitpid(d->pid, &status, WNOHANG);
                if (w == d->pid)
                        break;
                if (w < 0 && errno != EINTR) {
                        fprintf(stderr, "bench-startup: waitpid stockaded: %s\n", strerror(errno));
                        return 1;
                }
                if (now_s() > deadline) {
                        fprintf(stderr, "bench-startup: FAIL stockaded did not exit within %d s of SIGTERM, "
                                "killing pid %ld\n", STOP_TIMEOUT_S, (long) d->pid);
                        (void) kill(d->pid, SIGKILL);
                        while (waitpid(d->pid, &status, 0) < 0 && errno == EINTR)
                                ;
                        show_file("stockaded's log", d->log);
                        return 1;
                }
                sleep_ms(10);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                describe(status, what, sizeof what);
                fprintf(stderr, "bench-startup: FAIL stockaded %s on SIGTERM (want status 0)\n", what);
                show_file("stockaded's log", d->log);
                return 1;
        }
        d->stop_ret = 0;
        return 0;
}

/* ---- the journal's admissions ---- */

int bench_daemon_policy_ms(BenchDaemon *d, double **ret, size_t *n) {
        char *const argv[] = { d->stockade, (char *) "journal", (char *) "show", (char *) "--json",
                               (char *) "--type", (char *) "admission", (char *) "--journal", d->journal, NULL };
        posix_spawn_file_actions_t fa;
        double *v = NULL, deadline;
        size_t nv = 0, cap = 0;
        char *line = NULL, what[128];
        size_t size = 0;
        int status = 0, r, bad = 0;
        pid_t pid;
        FILE *f;

        *ret = NULL;
        *n = 0;
        if (posix_spawn_file_actions_init(&fa) != 0)
                return 1;
        r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, d->admissions,
                                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (r == 0)
                r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0) {
                fprintf(stderr, "bench-startup: FAIL cannot run %s journal show: %s\n", argv[0], strerror(r));
                return 1;
        }
        deadline = now_s() + SHOW_TIMEOUT_S;
        for (;;) {
                pid_t w = waitpid(pid, &status, WNOHANG);
                if (w == pid)
                        break;
                if (w < 0 && errno != EINTR)
                        return 1;
                if (now_s() > deadline) {
                        fprintf(stderr, "bench-startup: FAIL stockade journal show: no exit after %d s\n",
                                SHOW_TIMEOUT_S);
                        (void) kill(pid, SIGKILL);
                        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                                ;
                        return 1;
                }
                sleep_ms(5);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                describe(status, what, sizeof what);
                fprintf(stderr, "bench-startup: FAIL stockade journal show --json --type admission --journal %s %s\n",
                        d->journal, what);
                return 1;
        }

        f = fopen(d->admissions, "re");
        if (!f) {
                fprintf(stderr, "bench-startup: %s: %s\n", d->admissions, strerror(errno));
                return 1;
        }
        while (getline(&line, &size, f) > 0) {
                json_object *o = json_tokener_parse(line), *x;
                const char *type = NULL, *decision = NULL;

                if (!o) {
                        bad++;
                        continue;
                }
                if (json_object_object_get_ex(o, "type", &x))
                        type = json_object_get_string(x);
                if (json_object_object_get_ex(o, "decision", &x))
                        decision = json_object_get_string(x);
                if (type && strcmp(type, "admission") == 0 && decision && strcmp(decision, "allow") == 0) {
                        if (!json_object_object_get_ex(o, "policy_ms", &x) ||
                            !(json_object_is_type(x, json_type_double) || json_object_is_type(x, json_type_int)))
                                bad++;
                        else {
                                if (nv == cap) {
                                        size_t nc = cap ? cap * 2 : 256;
                                        double *nvp = realloc(v, nc * sizeof *v);
                                        if (!nvp) {
                                                json_object_put(o);
                                                bad = -1;
                                                break;
                                        }
                                        v = nvp;
                                        cap = nc;
                                }
                                v[nv++] = json_object_get_double(x);
                        }
                }
                json_object_put(o);
        }
        free(line);
        fclose(f);
        if (bad != 0) {
                fprintf(stderr, "bench-startup: FAIL %s: %s\n", d->admissions,
                        bad < 0 ? "out of memory" : "records that are no JSON, or allow records without policy_ms");
                free(v);
                return 1;
        }
        *ret = v;
        *n = nv;
        return 0;
}

void bench_daemon_free(BenchDaemon *d) {
        if (!d)
                return;
        if (d->pid > 0)
                (void) bench_daemon_stop(d);
        if (d->notify)
                (void) unlink(d->notify);
        free(d->stockade);
        free(d->dir);
        free(d->config);
        free(d->socket);
        free(d->journal);
        free(d->log);
        free(d->notify);
        free(d->client_err);
        free(d->admissions);
        free(d);
}
