/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * probe: a small program the integration tests run INSIDE the sandbox to
 * look at the walls from the task's side.  One binary, one subcommand per
 * run; results are printed as simple "key=value" lines on stdout.  Exit
 * status is 0 unless a subcommand says otherwise; usage errors exit 2.
 *
 * The probe is also safe to run outside a sandbox (as root): every attempt
 * that could change the host is made harmless (junk magic for reboot(),
 * CLOCK_MONOTONIC for clock_settime(), /dev/null for TIOCSTI, a private
 * temporary mount point, ptrace/clone3 in a throw-away child).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <termios.h>

extern char **environ;

#ifndef AF_NETLINK
#define AF_NETLINK 16
#endif
#ifndef AF_PACKET
#define AF_PACKET 17
#endif

/* ------------------------------------------------------------------ */

static const char *errname(int e) {
        static char buf[32];
        const char *n;

        if (e == 0)
                return "OK";
        n = strerrorname_np(e);
        if (n)
                return n;
        snprintf(buf, sizeof buf, "E%d", e);
        return buf;
}

/* Print "name=OK" when r >= 0, else "name=E<NAME>" from errno. */
static void report(const char *name, long r) {
        int e = errno;

        printf("%s=%s\n", name, r >= 0 ? "OK" : errname(e));
        fflush(stdout);
}

static int parse_int(const char *s, long *out) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0')
                return -1;
        *out = v;
        return 0;
}

static int parse_double(const char *s, double *out) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || v < 0)
                return -1;
        *out = v;
        return 0;
}

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

static int usage(void) {
        fputs("usage: probe caps | syscalls | x32 | i386 | fd N | ifaces | pids | ids\n"
              "             | alloc MIB | forkbomb N | daemonize FILE SECS | spin SECS\n"
              "             | write PATH | read PATH | env | kill-self SIG | exit N\n",
              stderr);
        return 2;
}

/* ------------------------------------------------------------------ */
/* caps: capability sets and no_new_privs from /proc/self/status       */

static int cmd_caps(void) {
        static const char *const keys[] = {
                "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs",
        };
        char line[512];
        FILE *f = fopen("/proc/self/status", "re");

        if (!f) {
                printf("caps=%s\n", errname(errno));
                return 1;
        }
        while (fgets(line, sizeof line, f)) {
                for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
                        size_t l = strlen(keys[i]);
                        char *v;

                        if (strncmp(line, keys[i], l) != 0 || line[l] != ':')
                                continue;
                        v = line + l + 1;
                        v += strspn(v, " \t");
                        v[strcspn(v, "\n")] = '\0';
                        printf("%s=%s\n", keys[i], v);
                }
        }
        fclose(f);
        return 0;
}

/* ids: who the task runs as */
static int cmd_ids(void) {
        printf("uid=%u\neuid=%u\ngid=%u\negid=%u\n",
               (unsigned) getuid(), (unsigned) geteuid(), (unsigned) getgid(), (unsigned) getegid());
        printf("groups=%d\n", getgroups(0, NULL));
        return 0;
}

/* ------------------------------------------------------------------ */
/* syscalls: try the calls the seccomp filter must refuse               */

/* Run fn in a throw-away child; the child exits with 0 on success or
 * 100+errno on failure.  Returns the errno (0 = OK). */
static int in_child(int (*fn)(void)) {
        int status;
        pid_t p;

        fflush(stdout);
        p = fork();
        if (p < 0)
                return errno;
        if (p == 0) {
                int r = fn();
                _exit(r < 0 ? 100 + (errno & 0x7f) : 0);
        }
        if (waitpid(p, &status, 0) < 0)
                return errno;
        if (!WIFEXITED(status))
                return EINTR;
        return WEXITSTATUS(status) == 0 ? 0 : WEXITSTATUS(status) - 100;
}

static int do_traceme(void) {
        return (int) ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static int do_unshare_user(void) {
        return unshare(CLONE_NEWUSER);
}

static void report_errno(const char *name, int e) {
        printf("%s=%s\n", name, errname(e));
        fflush(stdout);
}

static int cmd_syscalls(void) {
        char tmpl[] = "/tmp/probe-mnt.XXXXXX";
        const char *dir = mkdtemp(tmpl);
        long r;
        int fd, e;

        if (!dir)
                dir = "/tmp";

        /* mount / umount2 */
        r = mount("none", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m");
        report("mount", r);
        r = umount2(dir, MNT_DETACH);
        report("umount2", r);
        if (dir == tmpl)
                rmdir(dir);

        /* new mount API */
        r = syscall(SYS_fsopen, "tmpfs", 0);
        report("fsopen", r);
        if (r >= 0)
                close((int) r);

        r = syscall(SYS_pivot_root, "/nonexistent-new", "/nonexistent-old");
        report("pivot_root", r);

        /* ptrace in a child: if it worked, the parent would become our tracer */
        report_errno("ptrace", in_child(do_traceme));

        {
                char a[8] = "abcdefg", b[8];
                struct iovec local = { b, sizeof b }, remote = { a, sizeof a };

                r = syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0);
                report("process_vm_readv", r);
        }

        {
                union bpf_attr attr;
                uint64_t junk[4] = { 0 };

                memset(&attr, 0, sizeof attr);
                attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
                attr.insn_cnt = 1;
                attr.insns = (uint64_t) (uintptr_t) junk;
                attr.license = (uint64_t) (uintptr_t) "GPL";
                r = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
                report("bpf", r);
                if (r >= 0)
                        close((int) r);
        }

        r = unshare(CLONE_NEWNS);
        report("unshare_newns", r);
        r = unshare(CLONE_NEWNET);
        report("unshare_newnet", r);

        fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        r = setns(fd, CLONE_NEWNET);
        report("setns", r);
        if (fd >= 0)
                close(fd);

        r = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0 /* NETLINK_ROUTE */);
        report("socket_netlink", r);
        if (r >= 0)
                close((int) r);
        r = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        report("socket_packet", r);
        if (r >= 0)
                close((int) r);
        r = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        report("socket_inet", r);
        if (r >= 0)
                close((int) r);
        r = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        report("socket_inet6", r);
        if (r >= 0)
                close((int) r);
        r = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        report("socket_unix", r);
        if (r >= 0)
                close((int) r);

        /* KEYCTL_GET_KEYRING_ID = 0, KEY_SPEC_SESSION_KEYRING = -3, create = 0 */
        r = syscall(SYS_keyctl, 0, -3, 0);
        report("keyctl", r);
        r = syscall(SYS_add_key, "user", "probe", "x", 1, -3 /* KEY_SPEC_SESSION_KEYRING */);
        report("add_key", r);

        r = syscall(SYS_userfaultfd, O_CLOEXEC);
        report("userfaultfd", r);
        if (r >= 0)
                close((int) r);

        {
                /* struct io_uring_params is 120 bytes; zeroed is a valid request */
                unsigned char params[120];

                memset(params, 0, sizeof params);
                r = syscall(SYS_io_uring_setup, 1, params);
                report("io_uring_setup", r);
                if (r >= 0)
                        close((int) r);
        }

        {
                struct perf_event_attr pa;

                memset(&pa, 0, sizeof pa);
                pa.size = sizeof pa;
                pa.type = PERF_TYPE_SOFTWARE;
                pa.config = PERF_COUNT_SW_CPU_CLOCK;
                pa.disabled = 1;
                pa.exclude_kernel = 1;
                pa.exclude_hv = 1;
                r = syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0);
                report("perf_event_open", r);
                if (r >= 0)
                        close((int) r);
        }

        /* junk magic numbers: EINVAL for root outside a sandbox, never a reboot */
        r = syscall(SYS_reboot, 0, 0, 0x0badc0deL, NULL);
        report("reboot", r);

        {
                /* CLOCK_MONOTONIC cannot be set: EINVAL outside a sandbox */
                struct timespec ts;

                clock_gettime(CLOCK_MONOTONIC, &ts);
                r = syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts);
                report("clock_settime", r);
        }

        {
                /* /dev/null is no tty: ENOTTY outside a sandbox, nothing injected */
                char c = 'x';
                int nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);

                r = ioctl(nfd, TIOCSTI, &c);
                report("tiocsti", r);
                if (nfd >= 0)
                        close(nfd);
        }

        {
                struct clone_args ca;

                memset(&ca, 0, sizeof ca);
                ca.exit_signal = SIGCHLD;
                fflush(stdout);
                r = syscall(SYS_clone3, &ca, sizeof ca);
                e = errno;
                if (r == 0)
                        _exit(0);
                if (r > 0)
                        waitpid((pid_t) r, NULL, 0);
                errno = e;
                report("clone3", r);
        }

        /* a user namespace needs no capability: only seccomp can refuse it */
        report_errno("unshare_newuser", in_child(do_unshare_user));

        return 0;
}

/* ------------------------------------------------------------------ */
/* foreign ABIs: the filter must kill the process                       */

static int cmd_x32(void) {
        long r;

        /* __X32_SYSCALL_BIT | getpid */
        r = syscall(0x40000000L | SYS_getpid);
        printf("x32=alive\nx32_ret=%ld\nx32_errno=%s\n", r, r < 0 ? errname(errno) : "OK");
        return 0;
}

static int cmd_i386(void) {
#if defined(__x86_64__) || defined(__i386__)
        long ret;

        __asm__ volatile("int $0x80"
                         : "=a"(ret)
                         : "a"(20L) /* __NR_getpid on i386 */
                         : "memory", "cc"
#if defined(__x86_64__)
                           , "r8", "r9", "r10", "r11"
#endif
        );
        printf("i386=alive\ni386_ret=%ld\n", ret);
        return 0;
#else
        puts("i386=unsupported");
        return 0;
#endif
}

/* ------------------------------------------------------------------ */

static int cmd_fd(const char *arg) {
        DIR *d;
        struct dirent *de;
        long n;
        bool first = true;

        if (parse_int(arg, &n) < 0 || n < 0 || n > 1048576)
                return usage();
        printf("fd%ld=%s\n", n, fcntl((int) n, F_GETFD) < 0 ? "closed" : "open");

        /* the descriptor opendir() uses itself is not listed */
        d = opendir("/proc/self/fd");
        if (!d) {
                printf("fds=%s\n", errname(errno));
                return 1;
        }
        fputs("fds=", stdout);
        while ((de = readdir(d))) {
                long v;

                if (parse_int(de->d_name, &v) < 0 || v == dirfd(d))
                        continue;
                printf("%s%ld", first ? "" : ",", v);
                first = false;
        }
        putchar('\n');
        closedir(d);
        return 0;
}

static int cmp_long(const void *a, const void *b) {
        long x = *(const long *) a, y = *(const long *) b;

        return (x > y) - (x < y);
}

static void print_sorted(const char *key, long *v, size_t n) {
        qsort(v, n, sizeof v[0], cmp_long);
        printf("%s=", key);
        for (size_t i = 0; i < n; i++)
                printf("%s%ld", i ? "," : "", v[i]);
        putchar('\n');
}

/* Interfaces without netlink (AF_NETLINK is refused inside): the names in
 * /proc/net/dev (the network namespace of the reader) plus a SIOCGIFNAME
 * scan of the interface indexes. */
#define MAX_IFACES 64

static void add_iface(char names[][IFNAMSIZ], size_t *n, const char *name) {
        for (size_t i = 0; i < *n; i++)
                if (strcmp(names[i], name) == 0)
                        return;
        if (*n < MAX_IFACES) {
                snprintf(names[*n], IFNAMSIZ, "%s", name);
                (*n)++;
        }
}

static int cmd_ifaces(void) {
        static char names[MAX_IFACES][IFNAMSIZ];
        struct ifreq ifr;
        size_t n = 0;
        char line[512];
        FILE *f;
        int s;

        s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0) {
                printf("ifaces=%s\n", errname(errno));
                return 1;
        }

        f = fopen("/proc/net/dev", "re");
        if (f) {
                while (fgets(line, sizeof line, f)) {
                        char *colon = strchr(line, ':'), *name = line;

                        if (!colon)
                                continue; /* the two header lines */
                        *colon = '\0';
                        name += strspn(name, " ");
                        add_iface(names, &n, name);
                }
                fclose(f);
        }
        for (int idx = 1; idx <= 4096; idx++) {
                memset(&ifr, 0, sizeof ifr);
                ifr.ifr_ifindex = idx;
                if (ioctl(s, SIOCGIFNAME, &ifr) == 0)
                        add_iface(names, &n, ifr.ifr_name);
        }

        fputs("ifaces=", stdout);
        for (size_t i = 0; i < n; i++)
                printf("%s%s", i ? "," : "", names[i]);
        putchar('\n');

        memset(&ifr, 0, sizeof ifr);
        snprintf(ifr.ifr_name, IFNAMSIZ, "lo");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                printf("lo_up=%s\n", errname(errno));
        else
                printf("lo_up=%d\n", (ifr.ifr_flags & IFF_UP) ? 1 : 0);
        close(s);
        return 0;
}

static int cmd_pids(void) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        long *v = NULL;
        size_t n = 0, cap = 0;

        if (!d) {
                printf("pids=%s\n", errname(errno));
                return 1;
        }
        while ((de = readdir(d))) {
                long p;

                if (parse_int(de->d_name, &p) < 0)
                        continue;
                if (n == cap) {
                        long *nv;

                        cap = cap ? cap * 2 : 64;
                        nv = realloc(v, cap * sizeof *v);
                        if (!nv) {
                                free(v);
                                closedir(d);
                                return 1;
                        }
                        v = nv;
                }
                v[n++] = p;
        }
        closedir(d);
        print_sorted("pids", v, n);
        printf("self=%ld\n", (long) getpid());
        printf("ppid=%ld\n", (long) getppid());
        free(v);
        return 0;
}

/* ------------------------------------------------------------------ */
/* resource eaters                                                      */

#define MIB (1024UL * 1024UL)
static char *alloc_chunks[1 << 20];
static volatile unsigned long alloc_sink;

static int cmd_alloc(const char *arg) {
        long mib;

        if (parse_int(arg, &mib) < 0 || mib < 0 || mib > (long) (sizeof alloc_chunks / sizeof alloc_chunks[0]))
                return usage();
        for (long i = 0; i < mib; i++) {
                char *p = malloc(MIB);

                if (!p) {
                        printf("alloc=%s\nalloc_mib=%ld\n", errname(errno), i);
                        return 1;
                }
                memset(p, (int) (i & 0x7f) | 1, MIB);
                alloc_chunks[i] = p;
                alloc_sink += (unsigned char) p[(size_t) i % MIB];
        }
        printf("alloc=done\nalloc_mib=%ld\n", mib);
        return 0;
}

static int cmd_forkbomb(const char *arg) {
        long n, k;

        if (parse_int(arg, &n) < 0 || n < 0)
                return usage();
        fflush(stdout);
        for (k = 0; k < n; k++) {
                pid_t p = fork();

                if (p < 0) {
                        int e = errno;

                        printf("forked=%ld\nfork_errno=%s\n", k, errname(e));
                        return 1;
                }
                if (p == 0) {
                        for (;;)
                                pause();
                }
        }
        printf("forked=%ld\n", k);
        return 0;
}

static int cmd_daemonize(const char *file, const char *secs_arg) {
        double secs;
        pid_t p;

        if (parse_double(secs_arg, &secs) < 0)
                return usage();
        fflush(stdout);
        p = fork();
        if (p < 0) {
                printf("daemonize=%s\n", errname(errno));
                return 1;
        }
        if (p == 0) {
                /* first child: new session, fork the daemon, exit */
                setsid();
                p = fork();
                if (p < 0)
                        _exit(1);
                if (p == 0) {
                        double end = now_s() + secs;
                        long n = 0;
                        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

                        if (nul >= 0) {
                                dup2(nul, 0);
                                dup2(nul, 1);
                                dup2(nul, 2);
                        }
                        while (now_s() < end) {
                                char line[64];
                                int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
                                int l = snprintf(line, sizeof line, "tick %ld pid %ld\n", n++, (long) getpid());

                                if (fd >= 0) {
                                        if (write(fd, line, (size_t) l) < 0) {
                                                /* nothing to report to */
                                        }
                                        close(fd);
                                }
                                sleep_ms(100);
                        }
                        _exit(0);
                }
                _exit(0);
        }
        waitpid(p, NULL, 0);
        puts("daemonize=started");
        fflush(stdout);
        for (;;)
                pause();
}

static int cmd_spin(const char *arg) {
        volatile unsigned long x = 0;
        double secs, end;

        if (parse_double(arg, &secs) < 0)
                return usage();
        end = now_s() + secs;
        while (now_s() < end)
                for (int i = 0; i < 10000; i++)
                        x++;
        puts("spin=done");
        return 0;
}

/* ------------------------------------------------------------------ */

static int cmd_write(const char *path) {
        static const char data[] = "written by probe\n";
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0 || write(fd, data, sizeof data - 1) != (ssize_t) (sizeof data - 1)) {
                printf("write=%s\n", errname(errno));
                if (fd >= 0)
                        close(fd);
                return 0;
        }
        if (close(fd) < 0) {
                printf("write=%s\n", errname(errno));
                return 0;
        }
        puts("write=OK");
        return 0;
}

static int cmd_read(const char *path) {
        char buf[4096];
        long total = 0;
        ssize_t n;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0) {
                printf("read=%s\n", errname(errno));
                return 0;
        }
        while ((n = read(fd, buf, sizeof buf)) > 0)
                total += n;
        if (n < 0)
                printf("read=%s\n", errname(errno));
        else
                printf("read=OK\nbytes=%ld\n", total);
        close(fd);
        return 0;
}

static int cmd_env(void) {
        for (char **e = environ; e && *e; e++)
                puts(*e);
        return 0;
}

static int cmd_kill_self(const char *arg) {
        long sig;

        if (parse_int(arg, &sig) < 0 || sig <= 0 || sig >= NSIG)
                return usage();
        fflush(stdout);
        signal((int) sig, SIG_DFL);
        {
                sigset_t set;

                sigemptyset(&set);
                sigaddset(&set, (int) sig);
                sigprocmask(SIG_UNBLOCK, &set, NULL);
        }
        raise((int) sig);
        puts("kill-self=survived");
        return 1;
}

static int cmd_exit(const char *arg) {
        long n;

        if (parse_int(arg, &n) < 0)
                return usage();
        fflush(stdout);
        exit((int) (n & 0xff));
}

int main(int argc, char *argv[]) {
        const char *c;

        if (argc < 2)
                return usage();
        c = argv[1];

#define IS(name, nargs) (strcmp(c, name) == 0 && argc == 2 + (nargs))
        if (IS("caps", 0))
                return cmd_caps();
        if (IS("ids", 0))
                return cmd_ids();
        if (IS("syscalls", 0))
                return cmd_syscalls();
        if (IS("x32", 0))
                return cmd_x32();
        if (IS("i386", 0))
                return cmd_i386();
        if (IS("fd", 1))
                return cmd_fd(argv[2]);
        if (IS("ifaces", 0))
                return cmd_ifaces();
        if (IS("pids", 0))
                return cmd_pids();
        if (IS("alloc", 1))
                return cmd_alloc(argv[2]);
        if (IS("forkbomb", 1))
                return cmd_forkbomb(argv[2]);
        if (IS("daemonize", 2))
                return cmd_daemonize(argv[2], argv[3]);
        if (IS("spin", 1))
                return cmd_spin(argv[2]);
        if (IS("write", 1))
                return cmd_write(argv[2]);
        if (IS("read", 1))
                return cmd_read(argv[2]);
        if (IS("env", 0))
                return cmd_env();
        if (IS("kill-self", 1))
                return cmd_kill_self(argv[2]);
        if (IS("exit", 1))
                return cmd_exit(argv[2]);
#undef IS
        return usage();
}
