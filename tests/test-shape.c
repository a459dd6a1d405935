/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The observation layer against the running kernel (root only). Task
 * cgroups are created below our own v2 cgroup; workloads run in children
 * that move themselves into one before doing anything we count. */
#include <bpf/bpf.h>
#include <linux/magic.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "bpf-egress.h" /* cgroup_fd_id() */
#include "bpf-shape.h"
#include "cgroup.h"
#include "bpf-fixture.h"
#include "check-main.h"

/* The shape programs each supervisor links: sys_exit, fork, exec, exit. */
#define N_PROGS 4

#define NR_GETPID 39
#define NR_GETPPID 110
#define NR_CLONE 56
#define NR_OPENAT 257

/* ---- fixture ---------------------------------------------------------- */

static void cleanup_test(void) {
        remove_test_cgroups();
}

static void setup_kernel(void) {
        sweep_stale_cgroups("shape-test-");
        setup_bpf_dir("stockade-shape-test");
}

static void teardown_kernel(void) {
        sweep_stale_cgroups("shape-test-");
        (void) shape_cache_drop();
        remove_tree(bpf_dir); /* anything else a failed test put there */
}

/* A new group below our own cgroup v2 dir; returns its dirfd. */
static int make_cgroup(uint64_t *ret_id) {
        return make_test_cgroup("shape-test-", ret_id);
}

static double now_s(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* ---- workloads (run inside a task cgroup) ----------------------------- */

typedef void (*WorkFn)(int out_fd, long arg);

/* Forks a child that joins cgroup_fd, then runs fn; out_fd (may be -1)
 * stays open in it. */
static pid_t start_in(int cgroup_fd, WorkFn fn, long arg, int out_fd) {
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int fd = openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, "0", 1) != 1)
                        _exit(250);
                (void) close(fd);
                alarm(120);
                fn(out_fd, arg);
                _exit(0);
        }
        return pid;
}

static void wait_ok(pid_t pid) {
        int status;

        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "workload failed: status %#x", status);
}

static void run_in(int cgroup_fd, WorkFn fn, long arg) {
        wait_ok(start_in(cgroup_fd, fn, arg, -1));
}

static void work_getpid(_unused_ int out_fd, long n) {
        for (long i = 0; i < n; i++)
                (void) syscall(SYS_getpid);
}

static void work_getppid(_unused_ int out_fd, long n) {
        for (long i = 0; i < n; i++)
                (void) syscall(SYS_getppid);
}

static void work_forks(_unused_ int out_fd, long n) {
        for (long i = 0; i < n; i++) {
                pid_t p = fork();
                if (p < 0)
                        _exit(1);
                if (p == 0)
                        _exit(0);
                if (waitpid(p, NULL, 0) != p)
                        _exit(1);
        }
}

#define LONG_ARG_LEN 200

/* The scenario of test_task_shape; the pids of its three children go to
 * out_fd: exit 3, exit 4, exec /bin/true. */
static void work_scenario(int out_fd, _unused_ long arg) {
        char long_arg[LONG_ARG_LEN + 1];
        pid_t kids[3];
        int fd;

        fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                _exit(1);
        (void) close(fd);
        fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC); /* watched: /proc/ * /environ */
        if (fd >= 0)
                (void) close(fd);
        fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC); /* not watched */
        if (fd >= 0)
                (void) close(fd);
        for (int i = 0; i < 50; i++)
                if (open("/nonexistent", O_RDONLY | O_CLOEXEC) >= 0 || errno != ENOENT)
                        _exit(1);
        for (int i = 0; i < 200; i++)
                (void) syscall(SYS_getpid);

        memset(long_arg, 'x', LONG_ARG_LEN);
        long_arg[LONG_ARG_LEN] = 0;
        for (int i = 0; i < 3; i++) {
                kids[i] = fork();
                if (kids[i] < 0)
                        _exit(1);
                if (kids[i] == 0) {
                        if (i == 2) {
                                char *const argv[] = { "true", "one", long_arg, "three", "four", NULL };
                                execv("/bin/true", argv);
                                _exit(127);
                        }
                        _exit(3 + i);
                }
        }
        for (int i = 0; i < 3; i++)
                if (waitpid(kids[i], NULL, 0) != kids[i])
                        _exit(1);
        if (write(out_fd, kids, sizeof kids) != sizeof kids)
                _exit(1);
}

/* ---- events and kernel state ------------------------------------------ */

typedef struct Events {
        ShapeEvent ev[512];
        size_t n;
} Events;

static void collect(const ShapeEvent *ev, void *userdata) {
        Events *evs = userdata;
        if (evs->n < ELEMENTSOF(evs->ev))
                evs->ev[evs->n++] = *ev;
}

static const ShapeEvent *find(const Events *evs, ShapeEventKind kind, uint32_t pid) {
        for (size_t i = 0; i < evs->n; i++)
                if (evs->ev[i].kind == kind && evs->ev[i].pid == pid)
                        return &evs->ev[i];
        return NULL;
}

static const ShapeEvent *find_fork_of(const Events *evs, uint32_t child) {
        for (size_t i = 0; i < evs->n; i++)
                if (evs->ev[i].kind == SHAPE_EVENT_FORK && evs->ev[i].fork.child_pid == child)
                        return &evs->ev[i];
        return NULL;
}

static const ShapeEvent *find_open(const Events *evs, const char *path) {
        for (size_t i = 0; i < evs->n; i++)
                if (evs->ev[i].kind == SHAPE_EVENT_OPEN && streq(evs->ev[i].open.path, path))
                        return &evs->ev[i];
        return NULL;
}

/* Links in the kernel (of any process) whose program is one of ids[0..n). */
static unsigned kernel_links_to(const uint32_t *ids, int n) {
        unsigned found = 0;
        uint32_t id = 0;

        while (bpf_link_get_next_id(id, &id) == 0) {
                struct bpf_link_info info = {};
                uint32_t len = sizeof info;
                int fd = bpf_link_get_fd_by_id(id);

                if (fd < 0)
                        continue;
                if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
                        for (int i = 0; i < n; i++)
                                found += info.prog_id == ids[i];
                (void) close(fd);
        }
        return found;
}

static unsigned kernel_links_of(Shape *s) {
        uint32_t ids[8];
        int n = shape_prog_ids(s, ids, ELEMENTSOF(ids));

        ck_assert_int_eq(n, N_PROGS);
        return kernel_links_to(ids, n);
}

static uint64_t errno_count(const ShapeSyscallCount *c, int err) {
        for (size_t k = 0; k < SHAPE_ERRNO_SLOTS; k++)
                if (c->errnos[k].err == err)
                        return c->errnos[k].count;
        return 0;
}

/* ---- tests ------------------------------------------------------------ */

START_TEST(test_links_follow_tasks) {
        Shape *s = NULL;
        ShapeTask *a = NULL, *b = NULL;
        double t0;
        uint64_t ida, idb;
        int cga, cgb;

        cga = make_cgroup(&ida);
        cgb = make_cgroup(&idb);
        t0 = now_s();
        ck_assert_int_eq(shape_open(NULL, &s), 0);
        fprintf(stderr, "# shape_open: %.1f ms\n", (now_s() - t0) * 1e3);
        ck_assert_uint_eq(kernel_links_of(s), 0);
        ck_assert_uint_eq(shape_links(s), 0);

        ck_assert_int_eq(shape_task_add(s, ida, NULL, &a), 0);
        ck_assert_uint_eq(kernel_links_of(s), N_PROGS);
        ck_assert_int_eq(shape_task_add(s, idb, NULL, &b), 0);
        ck_assert_uint_eq(kernel_links_of(s), N_PROGS);
        a = shape_task_remove(s, a);
        ck_assert_uint_eq(kernel_links_of(s), N_PROGS);
        b = shape_task_remove(s, b);
        ck_assert_uint_eq(kernel_links_of(s), 0);
        ck_assert_uint_eq(shape_links(s), 0);

        /* Again, and shape_close() with a task still added. */
        ck_assert_int_eq(shape_task_add(s, ida, NULL, &a), 0);
        ck_assert_uint_eq(kernel_links_of(s), N_PROGS);
        {
                uint32_t ids[N_PROGS];
                ck_assert_int_eq(shape_prog_ids(s, ids, N_PROGS), N_PROGS);
                s = shape_close(s);
                ck_assert_uint_eq(kernel_links_to(ids, N_PROGS), 0);
        }
        (void) close(cga);
        (void) close(cgb);
}
END_TEST

START_TEST(test_bad_options) {
        const char *too_long = "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        const char *nine[9] = { "/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h", "/i" };
        const char *bad[] = { "", "/a*b*c" };
        Shape *s = NULL;
        ShapeTask *t = NULL, *u = NULL;
        uint64_t id;
        int cg;

        cg = make_cgroup(&id);
        ck_assert_int_eq(shape_open(NULL, &s), 0);
        ck_assert_int_eq(shape_task_add(s, id, &(ShapeTaskOptions) { .watch = nine, .n_watch = 9 }, &t), -E2BIG);
        ck_assert_int_eq(shape_task_add(s, id, &(ShapeTaskOptions) { .watch = &too_long, .n_watch = 1 }, &t), -E2BIG);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_int_eq(shape_task_add(s, id, &(ShapeTaskOptions) { .watch = &bad[i], .n_watch = 1 }, &t),
                                 -EINVAL);
        /* Nothing was left behind: no links, and the id is free. */
        ck_assert_uint_eq(kernel_links_of(s), 0);
        ck_assert_int_eq(shape_task_add(s, id, &(ShapeTaskOptions) { .watch = nine, .n_watch = 8 }, &t), 0);
        ck_assert_int_eq(shape_task_add(s, id, NULL, &u), -EEXIST);
        ck_assert_uint_eq(kernel_links_of(s), N_PROGS);
        s = shape_close(s);
        (void) close(cg);
}
END_TEST

START_TEST(test_task_shape) {
        const char *watch[] = { "/etc/", "/proc/*/environ", "/nonexistent-but-watched" };
        ShapeTaskOptions o = { .watch = watch, .n_watch = ELEMENTSOF(watch) };
        Shape *s = NULL;
        ShapeTask *t = NULL;
        _cleanup_free_ ShapeCounts *c = NULL;
        _cleanup_free_ Events *evs = NULL;
        const ShapeEvent *ev;
        pid_t child, kids[3];
        int cg, pfd[2];
        uint64_t id;

        c = calloc(1, sizeof *c);
        evs = calloc(1, sizeof *evs);
        ck_assert(c && evs);
        cg = make_cgroup(&id);
        ck_assert_int_eq(shape_open(NULL, &s), 0);
        ck_assert_int_eq(shape_task_add(s, id, &o, &t), 0);

        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        child = start_in(cg, work_scenario, 0, pfd[1]);
        (void) close(pfd[1]);
        ck_assert_int_eq(read(pfd[0], kids, sizeof kids), sizeof kids);
        (void) close(pfd[0]);
        wait_ok(child);

        ck_assert_int_gt(shape_consume(s, collect, evs), 0);
        ck_assert_int_eq(shape_task_read(s, t, c), 0);

        /* Syscall counts: ours, plus what the kids and /bin/true add. */
        ck_assert_uint_ge(c->sys[NR_GETPID].calls, 200);
        ck_assert_uint_lt(c->sys[NR_GETPID].calls, 210);
        ck_assert_uint_eq(c->sys[NR_GETPID].errors, 0);
        ck_assert_str_eq(shape_syscall_name(NR_GETPID), "getpid");
        ck_assert_uint_ge(c->sys[NR_OPENAT].errors, 50);
        ck_assert_uint_ge(errno_count(&c->sys[NR_OPENAT], ENOENT), 50);
        ck_assert_int_eq(c->top_errnos[0].err, ENOENT);
        ck_assert_uint_ge(c->top_errnos[0].count, 50);
        ck_assert_uint_ge(c->opens, 53);
        ck_assert_uint_ge(c->sys[NR_CLONE].calls + c->sys[435 /* clone3 */].calls, 3);
        ck_assert_uint_ge(c->calls, c->errors);

        /* Files: the watched ones, and only those. */
        ev = find_open(evs, "/etc/passwd");
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->pid, (uint32_t) child);
        ck_assert_uint_eq(ev->ns_pid, (uint32_t) child); /* no pid namespace of its own */
        ck_assert_int_eq(ev->open.syscall_nr, NR_OPENAT);
        ck_assert_uint_eq(ev->open.flags & O_ACCMODE, O_RDONLY);
        ck_assert(!ev->open.path_truncated);
        ck_assert_ptr_nonnull(find_open(evs, "/proc/self/environ"));
        ck_assert_ptr_null(find_open(evs, "/proc/self/status"));
        ck_assert_ptr_null(find_open(evs, "/nonexistent"));

        /* The tree: three forks by the child, their exits, one exec. */
        for (int i = 0; i < 3; i++) {
                ev = find_fork_of(evs, (uint32_t) kids[i]);
                ck_assert_ptr_nonnull(ev);
                ck_assert_uint_eq(ev->pid, (uint32_t) child);
                ck_assert_uint_eq(ev->ns_pid, (uint32_t) child);
                ck_assert_uint_eq(ev->fork.child_ns_pid, (uint32_t) kids[i]);
                ev = find(evs, SHAPE_EVENT_EXIT, (uint32_t) kids[i]);
                ck_assert_ptr_nonnull(ev);
                ck_assert(WIFEXITED(ev->exit.status));
                ck_assert_int_eq(WEXITSTATUS(ev->exit.status), i == 2 ? 0 : 3 + i);
        }
        ev = find(evs, SHAPE_EVENT_EXIT, (uint32_t) child);
        ck_assert_ptr_nonnull(ev);
        ck_assert_int_eq(ev->exit.status, 0);
        ev = find(evs, SHAPE_EVENT_EXEC, (uint32_t) kids[2]);
        ck_assert_ptr_nonnull(ev);
        ck_assert_str_eq(ev->exec.filename, "/bin/true");
        ck_assert(!ev->exec.filename_truncated);
        ck_assert_str_eq(ev->comm, "true");
        ck_assert_uint_eq(ev->exec.argc, 5);
        ck_assert_uint_eq(ev->exec.n_argv, 4);
        ck_assert_str_eq(ev->exec.argv[0], "true");
        ck_assert_str_eq(ev->exec.argv[1], "one");
        ck_assert_uint_eq(strlen(ev->exec.argv[2]), SHAPE_ARG_LEN - 1);
        ck_assert(ev->exec.argv_truncated[2]);
        ck_assert(!ev->exec.argv_truncated[1]);
        ck_assert_str_eq(ev->exec.argv[3], "three");
        /* The child's own fork happened before it joined: not seen. */
        ck_assert_ptr_null(find_fork_of(evs, (uint32_t) child));

        ck_assert_uint_eq(c->emitted[SHAPE_EVENT_FORK], 3);
        ck_assert_uint_eq(c->emitted[SHAPE_EVENT_EXIT], 4);
        ck_assert_uint_eq(c->emitted[SHAPE_EVENT_EXEC], 1);
        /* Ours, and /etc/ld.so.cache from the dynamic loader of /bin/true. */
        ck_assert_uint_ge(c->emitted[SHAPE_EVENT_OPEN], 2);
        for (size_t k = 0; k < _SHAPE_EVENT_MAX; k++) {
                ck_assert_uint_eq(c->dropped[k], 0);
                ck_assert_uint_eq(c->lost[k], 0);
        }

        t = shape_task_remove(s, t);
        ck_assert_uint_eq(kernel_links_of(s), 0);
        s = shape_close(s);
        (void) close(cg);
}
END_TEST

/* Two tasks at once never see each other's calls; an untracked group
 * nothing at all. */
START_TEST(test_two_tasks) {
        Shape *s = NULL;
        ShapeTask *a = NULL, *b = NULL;
        ShapeCounts *ca = NULL, *cb = NULL;
        uint64_t ida, idb, idu;
        int cga, cgb, cgu;
        pid_t pa, pb, pu;

        ca = calloc(1, sizeof *ca);
        cb = calloc(1, sizeof *cb);
        ck_assert(ca && cb);
        cga = make_cgroup(&ida);
        cgb = make_cgroup(&idb);
        cgu = make_cgroup(&idu);
        ck_assert_int_eq(shape_open(NULL, &s), 0);
        ck_assert_int_eq(shape_task_add(s, ida, NULL, &a), 0);
        ck_assert_int_eq(shape_task_add(s, idb, NULL, &b), 0);

        pa = start_in(cga, work_getpid, 30000, -1);
        pb = start_in(cgb, work_getppid, 50000, -1);
        pu = start_in(cgu, work_getpid, 70000, -1);
        wait_ok(pa);
        wait_ok(pb);
        wait_ok(pu);

        ck_assert_int_eq(shape_task_read(s, a, ca), 0);
        ck_assert_int_eq(shape_task_read(s, b, cb), 0);
        ck_assert_uint_ge(ca->sys[NR_GETPID].calls, 30000);
        ck_assert_uint_lt(ca->sys[NR_GETPID].calls, 30010);
        ck_assert_uint_lt(ca->sys[NR_GETPPID].calls, 10);
        ck_assert_uint_ge(cb->sys[NR_GETPPID].calls, 50000);
        ck_assert_uint_lt(cb->sys[NR_GETPPID].calls, 50010);
        ck_assert_uint_lt(cb->sys[NR_GETPID].calls, 10);
        ck_assert_uint_lt(ca->calls, 30000 + 200);
        ck_assert_uint_lt(cb->calls, 50000 + 200);

        s = shape_close(s);
        free(ca);
        free(cb);
        (void) close(cga);
        (void) close(cgb);
        (void) close(cgu);
}
END_TEST

/* Beyond the budget events only count as dropped; a full ring counts them
 * as lost; the syscall counters go on regardless. */
START_TEST(test_budget_and_lost) {
        ShapeTaskOptions o = { .event_budget = 10 };
        Shape *s = NULL, *small = NULL;
        ShapeTask *t = NULL, *u = NULL;
        ShapeCounts *c = NULL;
        Events *evs = NULL;
        uint64_t id, id2;
        uint64_t sum;
        int cg, cg2;

        c = calloc(1, sizeof *c);
        evs = calloc(1, sizeof *evs);
        ck_assert(c && evs);
        cg = make_cgroup(&id);
        cg2 = make_cgroup(&id2);

        ck_assert_int_eq(shape_open(NULL, &s), 0);
        ck_assert_int_eq(shape_task_add(s, id, &o, &t), 0);
        run_in(cg, work_forks, 30);
        ck_assert_int_eq(shape_consume(s, collect, evs), 10);
        ck_assert_int_eq(shape_task_read(s, t, c), 0);
        /* 30 forks + 30 exits of the kids + the exit of the workload. */
        ck_assert_uint_eq(c->emitted[SHAPE_EVENT_FORK] + c->emitted[SHAPE_EVENT_EXIT], 10);
        ck_assert_uint_eq(c->dropped[SHAPE_EVENT_FORK] + c->dropped[SHAPE_EVENT_EXIT], 61 - 10);
        ck_assert_uint_eq(c->emitted[SHAPE_EVENT_FORK] + c->dropped[SHAPE_EVENT_FORK], 30);
        ck_assert_uint_ge(c->sys[NR_CLONE].calls + c->sys[435].calls, 30);
        s = shape_close(s);

        /* One page of ring: room for a few dozen records, then losses. */
        ck_assert_int_eq(shape_open(&(ShapeOptions) { .ring_bytes = (size_t) sysconf(_SC_PAGESIZE) }, &small), 0);
        ck_assert_int_eq(shape_task_add(small, id2, NULL, &u), 0);
        run_in(cg2, work_forks, 200);
        ck_assert_int_eq(shape_task_read(small, u, c), 0);
        ck_assert_uint_gt(c->lost[SHAPE_EVENT_FORK] + c->lost[SHAPE_EVENT_EXIT], 0);
        ck_assert_uint_gt(c->emitted[SHAPE_EVENT_FORK], 0);
        ck_assert_uint_eq(c->emitted[SHAPE_EVENT_FORK] + c->lost[SHAPE_EVENT_FORK], 200);
        sum = c->emitted[SHAPE_EVENT_EXIT] + c->lost[SHAPE_EVENT_EXIT];
        ck_assert_uint_eq(sum, 201);
        evs->n = 0;
        ck_assert_int_eq(shape_consume(small, collect, evs),
                         (int) (c->emitted[SHAPE_EVENT_FORK] + c->emitted[SHAPE_EVENT_EXIT]));
        small = shape_close(small);
        free(c);
        free(evs);
        (void) close(cg);
        (void) close(cg2);
}
END_TEST

/* A syscall storm: counts exact, and the consumer loop (here polling the
 * ring fd with a 10 ms timeout meanwhile) never stalls. */
#ifndef HEAVY_CALLS
#define HEAVY_CALLS 10000000L
#endif

START_TEST(test_heavy) {
        Shape *s = NULL;
        ShapeTask *t = NULL;
        ShapeCounts *c = NULL;
        Events *evs = NULL;
        double t0, worst = 0;
        uint64_t id;
        pid_t pid;
        int cg, status, r;

        c = calloc(1, sizeof *c);
        evs = calloc(1, sizeof *evs);
        ck_assert(c && evs);
        cg = make_cgroup(&id);
        ck_assert_int_eq(shape_open(NULL, &s), 0);
        ck_assert_int_eq(shape_task_add(s, id, NULL, &t), 0);

        t0 = now_s();
        pid = start_in(cg, work_getppid, HEAVY_CALLS, -1);
        for (;;) {
                struct pollfd p = { .fd = shape_ring_fd(s), .events = POLLIN };
                double l0 = now_s();

                (void) poll(&p, 1, 10);
                evs->n = 0;
                ck_assert_int_ge(shape_consume(s, collect, evs), 0);
                ck_assert_int_eq(shape_task_read(s, t, c), 0);
                if (now_s() - l0 > worst)
                        worst = now_s() - l0;
                r = waitpid(pid, &status, WNOHANG);
                ck_assert_int_ge(r, 0);
                if (r == pid)
                        break;
        }
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ck_assert_int_eq(shape_task_read(s, t, c), 0);
        fprintf(stderr, "# %ld getppid in %.2f s, worst consumer turn %.1f ms\n", HEAVY_CALLS, now_s() - t0,
                worst * 1e3);
        ck_assert_uint_ge(c->sys[NR_GETPPID].calls, HEAVY_CALLS);
        ck_assert_uint_lt(c->sys[NR_GETPPID].calls, HEAVY_CALLS + 10);
        ck_assert_double_lt(worst, 0.5);
        s = shape_close(s);
        free(c);
        free(evs);
        (void) close(cg);
}
END_TEST

/* ---- the pinned cache ------------------------------------------------- */

/* The cache needs cookies on tp_btf links (Linux 6.10): before, every Shape
 * loads privately and only test_cache_off applies. */
static bool cache_expected(void) {
        struct utsname u;
        unsigned major = 0, minor = 0;

        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
                return false;
        if (major > 6 || (major == 6 && minor >= 10))
                return true;
        fprintf(stderr, "# kernel %s: no cookies on tp_btf links, no cache to test\n", u.release);
        return false;
}

/* The shape-* set directory of the cache ("" when there is none), and how
 * many objects it holds (-1: no base dir). */
static int pinned_objects(char *ret_dir, size_t size) {
        _cleanup_(closedirp) DIR *d = opendir(bpf_dir);
        struct dirent *de;
        int n = 0;

        if (ret_dir)
                ret_dir[0] = 0;
        if (!d)
                return -1;
        while ((de = readdir(d))) {
                _cleanup_(closedirp) DIR *sub = NULL;
                char path[PATH_MAX + NAME_MAX + 2];
                struct dirent *x;
                struct stat st;

                if (strncmp(de->d_name, "shape-", 6) != 0)
                        continue;
                (void) snprintf(path, sizeof path, "%s/%s", bpf_dir, de->d_name);
                ck_assert_int_eq(stat(path, &st), 0);
                ck_assert_uint_eq(st.st_mode & 07777, 0700);
                if (ret_dir)
                        (void) snprintf(ret_dir, size, "%s", path);
                sub = opendir(path);
                while (sub && (x = readdir(sub)))
                        n += x->d_name[0] != '.';
        }
        return n;
}

/* Whether the pinned map name has an entry for id. */
static bool pinned_has(const char *name, uint64_t id) {
        char dir[PATH_MAX + NAME_MAX + 2], path[PATH_MAX + NAME_MAX + 16];
        _cleanup_free_ struct shape_task *v = NULL;
        int fd, r;

        ck_assert_int_gt(pinned_objects(dir, sizeof dir), 0);
        (void) snprintf(path, sizeof path, "%s/%s", dir, name);
        fd = bpf_obj_get(path);
        ck_assert_int_ge(fd, 0);
        v = calloc(1, sizeof *v);
        ck_assert_ptr_nonnull(v);
        if (streq(name, "rings")) {
                uint32_t inner_id;
                r = bpf_map_lookup_elem(fd, &id, &inner_id);
        } else
                r = bpf_map_lookup_elem(fd, &id, v);
        (void) close(fd);
        return r == 0;
}

static bool same_progs(Shape *a, Shape *b) {
        uint32_t x[N_PROGS], y[N_PROGS];

        ck_assert_int_eq(shape_prog_ids(a, x, N_PROGS), N_PROGS);
        ck_assert_int_eq(shape_prog_ids(b, y, N_PROGS), N_PROGS);
        return memcmp(x, y, sizeof x) == 0;
}

static int open_in_child_cached(void) {
        int status;
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                Shape *x = NULL;
                _exit(shape_open(NULL, &x) < 0 ? 2 : shape_cached(x) ? 0 : 1);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

/* The first open pins, a second Shape (and a second process) reuses the
 * programs, and the reused ones count exactly. */
START_TEST(test_cache_pin_and_reuse) {
        Shape *s1 = NULL, *s2 = NULL;
        ShapeTask *t = NULL;
        _cleanup_free_ ShapeCounts *c = NULL;
        _cleanup_free_ Events *evs = NULL;
        uint64_t id;
        int cg;

        if (!cache_expected())
                return;

        c = calloc(1, sizeof *c);
        evs = calloc(1, sizeof *evs);
        ck_assert(c && evs);
        cg = make_cgroup(&id);
        ck_assert_int_eq(shape_cache_drop(), 0);
        ck_assert_int_eq(pinned_objects(NULL, 0), -1);

        ck_assert_int_eq(shape_open(NULL, &s1), 0);
        ck_assert(!shape_cached(s1));
        ck_assert_int_eq(pinned_objects(NULL, 0), N_PROGS + 4); /* the programs and 4 maps */
        ck_assert_int_eq(shape_open(NULL, &s2), 0);
        ck_assert(shape_cached(s2));
        ck_assert(same_progs(s1, s2));
        ck_assert_int_eq(open_in_child_cached(), 0);

        ck_assert_int_eq(shape_task_add(s2, id, NULL, &t), 0);
        ck_assert_uint_eq(kernel_links_of(s2), N_PROGS);
        /* One task per cgroup across supervisors (the task map is shared). */
        ck_assert_int_eq(shape_task_add(s1, id, NULL, &(ShapeTask *) { NULL }), -EEXIST);
        ck_assert_uint_eq(shape_links(s1), 0);
        run_in(cg, work_getpid, 30000);
        ck_assert_int_eq(shape_task_read(s2, t, c), 0);
        ck_assert_uint_ge(c->sys[NR_GETPID].calls, 30000);
        ck_assert_uint_lt(c->sys[NR_GETPID].calls, 30010);
        ck_assert_int_eq(shape_consume(s2, collect, evs), 1); /* the workload's exit */
        ck_assert_int_eq(shape_consume(s1, collect, evs), 0);
        ck_assert_uint_eq(c->emitted[SHAPE_EVENT_EXIT], 1);

        t = shape_task_remove(s2, t);
        ck_assert(!pinned_has("tasks", id));
        ck_assert(!pinned_has("rings", id));
        ck_assert_uint_eq(kernel_links_of(s2), 0);
        s2 = shape_close(s2);
        s1 = shape_close(s1);
        ck_assert_int_eq(pinned_objects(NULL, 0), N_PROGS + 4); /* the cache outlives its supervisors */
        (void) close(cg);
}
END_TEST

/* Two supervisors at once, one task each, both linked to the very same
 * programs: each counts its own task's calls exactly once and receives only
 * its own task's events; a third, untracked group counts nowhere. */
START_TEST(test_cache_two_supervisors) {
        Shape *s1 = NULL, *s2 = NULL;
        ShapeTask *a = NULL, *b = NULL;
        _cleanup_free_ ShapeCounts *ca = NULL, *cb = NULL;
        _cleanup_free_ Events *ev1 = NULL, *ev2 = NULL;
        uint64_t ida, idb, idu;
        int cga, cgb, cgu;
        pid_t pa, pb, pu;

        if (!cache_expected())
                return;

        ca = calloc(1, sizeof *ca);
        cb = calloc(1, sizeof *cb);
        ev1 = calloc(1, sizeof *ev1);
        ev2 = calloc(1, sizeof *ev2);
        ck_assert(ca && cb && ev1 && ev2);
        cga = make_cgroup(&ida);
        cgb = make_cgroup(&idb);
        cgu = make_cgroup(&idu);
        ck_assert_int_eq(shape_open(NULL, &s1), 0);
        ck_assert_int_eq(shape_open(NULL, &s2), 0);
        ck_assert(shape_cached(s2));
        ck_assert(same_progs(s1, s2));
        ck_assert_int_eq(shape_task_add(s1, ida, NULL, &a), 0);
        ck_assert_int_eq(shape_task_add(s2, idb, NULL, &b), 0);
        ck_assert_uint_eq(kernel_links_of(s1), 2 * N_PROGS); /* each program linked twice */

        pa = start_in(cga, work_getpid, 30000, -1);
        pb = start_in(cgb, work_getpid, 50000, -1);
        pu = start_in(cgu, work_getpid, 70000, -1);
        wait_ok(pa);
        wait_ok(pb);
        wait_ok(pu);
        run_in(cga, work_forks, 7);
        run_in(cgb, work_forks, 3);

        ck_assert_int_eq(shape_task_read(s1, a, ca), 0);
        ck_assert_int_eq(shape_task_read(s2, b, cb), 0);
        ck_assert_uint_ge(ca->sys[NR_GETPID].calls, 30000);
        ck_assert_uint_lt(ca->sys[NR_GETPID].calls, 30010);
        ck_assert_uint_ge(cb->sys[NR_GETPID].calls, 50000);
        ck_assert_uint_lt(cb->sys[NR_GETPID].calls, 50010);
        ck_assert_uint_lt(ca->calls, 30000 + 400);
        ck_assert_uint_lt(cb->calls, 50000 + 400);
        /* Events once each: 7 forks, their exits and two workloads' exits. */
        ck_assert_uint_eq(ca->emitted[SHAPE_EVENT_FORK], 7);
        ck_assert_uint_eq(ca->emitted[SHAPE_EVENT_EXIT], 7 + 2);
        ck_assert_uint_eq(cb->emitted[SHAPE_EVENT_FORK], 3);
        ck_assert_uint_eq(cb->emitted[SHAPE_EVENT_EXIT], 3 + 2);
        ck_assert_int_eq(shape_consume(s1, collect, ev1), 7 + 9);
        ck_assert_int_eq(shape_consume(s2, collect, ev2), 3 + 5);
        for (size_t i = 0; i < ev1->n; i++)
                ck_assert_uint_eq(ev1->ev[i].cgroup_id, ida);
        for (size_t i = 0; i < ev2->n; i++)
                ck_assert_uint_eq(ev2->ev[i].cgroup_id, idb);

        /* s1 goes: s2 goes on counting, alone. */
        s1 = shape_close(s1);
        ck_assert(!pinned_has("tasks", ida));
        ck_assert_uint_eq(kernel_links_of(s2), N_PROGS);
        run_in(cgb, work_getpid, 1000);
        ck_assert_int_eq(shape_task_read(s2, b, cb), 0);
        ck_assert_uint_ge(cb->sys[NR_GETPID].calls, 51000);
        ck_assert_uint_lt(cb->sys[NR_GETPID].calls, 51020);
        s2 = shape_close(s2);
        (void) close(cga);
        (void) close(cgb);
        (void) close(cgu);
}
END_TEST

/* A supervisor killed with tasks leaves their entries in the shared maps;
 * the next supervisor's first task sweeps them, and a live one's entries
 * stay. */
START_TEST(test_cache_sweep_killed) {
        Shape *s = NULL, *live = NULL;
        ShapeTask *t = NULL, *l = NULL;
        uint64_t ida, idb, idc, idl;
        int cga, cgb, cgc, cgl, pfd[2], status;
        char c;
        pid_t pid;

        if (!cache_expected())
                return;

        cga = make_cgroup(&ida);
        cgb = make_cgroup(&idb);
        cgc = make_cgroup(&idc);
        cgl = make_cgroup(&idl);
        ck_assert_int_eq(shape_open(NULL, &live), 0);
        ck_assert_int_eq(shape_task_add(live, idl, NULL, &l), 0);
        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                Shape *k = NULL;
                ShapeTask *x = NULL, *y = NULL;
                (void) close(pfd[0]);
                if (shape_open(NULL, &k) < 0 || !shape_cached(k) || shape_task_add(k, ida, NULL, &x) < 0 ||
                    shape_task_add(k, idb, NULL, &y) < 0 || write(pfd[1], "x", 1) != 1)
                        _exit(1);
                pause();
                _exit(1);
        }
        (void) close(pfd[1]);
        ck_assert_int_eq(read(pfd[0], &c, 1), 1);
        (void) close(pfd[0]);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);

        ck_assert(pinned_has("tasks", ida) && pinned_has("rings", ida));
        ck_assert(pinned_has("tasks", idb) && pinned_has("rings", idb));
        /* live's sweep ran at its own first task, before: no new sweep. */
        ck_assert_int_eq(shape_open(NULL, &s), 0);
        ck_assert(shape_cached(s));
        ck_assert_int_eq(shape_task_add(s, idc, NULL, &t), 0);
        ck_assert(!pinned_has("tasks", ida) && !pinned_has("rings", ida));
        ck_assert(!pinned_has("tasks", idb) && !pinned_has("rings", idb));
        ck_assert(pinned_has("tasks", idl) && pinned_has("rings", idl));
        ck_assert(pinned_has("tasks", idc) && pinned_has("rings", idc));
        /* The swept cgroup may get a task again. */
        t = shape_task_remove(s, t);
        ck_assert_int_eq(shape_task_add(s, ida, NULL, &t), 0);
        s = shape_close(s);
        live = shape_close(live);
        ck_assert(!pinned_has("tasks", ida) && !pinned_has("tasks", idl));
        (void) close(cga);
        (void) close(cgb);
        (void) close(cgc);
        (void) close(cgl);
}
END_TEST

/* A forked child of a Shape holding its links: a ring of its own, a task
 * counted through the parent's links, only its own events. Returns 0 or
 * the number of the check that failed. */
static int held_child(Shape *s, int cg, uint64_t id, long n, int go_fd) {
        _cleanup_free_ ShapeCounts *c = calloc(1, sizeof *c);
        _cleanup_free_ Events *evs = calloc(1, sizeof *evs);
        uint32_t ids[N_PROGS];
        ShapeTask *t = NULL;
        pid_t pid[2];
        char x;

        if (!c || !evs)
                return 1;
        if (shape_own_ring(s) < 0 || shape_task_new(s, NULL, &t) < 0)
                return 2;
        /* Both children's tasks are added before either works ... */
        if (shape_task_start(s, t, id) < 0 || write(go_fd, "x", 1) != 1 || read(go_fd, &x, 1) != 1)
                return 3;
        if (shape_prog_ids(s, ids, N_PROGS) != N_PROGS || kernel_links_to(ids, N_PROGS) != N_PROGS)
                return 4; /* the parent's links and no others */
        pid[0] = start_in(cg, work_getppid, n, -1);
        pid[1] = start_in(cg, work_forks, 5, -1);
        if (waitpid(pid[0], NULL, 0) != pid[0] || waitpid(pid[1], NULL, 0) != pid[1])
                return 5;
        /* ... and both are done before either reads its ring: a ring shared
         * with the other would hand the first reader both tasks' events. */
        if (write(go_fd, "x", 1) != 1 || read(go_fd, &x, 1) != 1)
                return 3;
        (void) shape_consume(s, collect, evs);
        if (!find(evs, SHAPE_EVENT_EXIT, (uint32_t) pid[0]) || !find(evs, SHAPE_EVENT_EXIT, (uint32_t) pid[1]))
                return 6;
        for (size_t i = 0; i < evs->n; i++)
                if (evs->ev[i].cgroup_id != id)
                        return 7; /* the other child's task */
        if (shape_task_read(s, t, c) < 0 || c->sys[NR_GETPPID].calls < (uint64_t) n ||
            c->sys[NR_GETPPID].calls > (uint64_t) n + 50)
                return 8;
        t = shape_task_remove(s, t);
        if (shape_links(s) != N_PROGS)
                return 9; /* held: the last task does not unlink */
        s = shape_close(s);
        return 0;
}

/* stockaded's way: one Shape holds the links for its life, forked workers
 * add tasks under its owner id with rings of their own, and the entries of
 * a worker that died with its task are swept once its cgroup is gone. */
START_TEST(test_held_links) {
        static const long calls[2] = { 3000, 7000 };
        Shape *s = NULL;
        ShapeTask *t = NULL;
        uint64_t id[3];
        int cg[3], go[2][2], status;
        pid_t pid[2], dead;
        char x;

        for (int i = 0; i < 3; i++)
                cg[i] = make_cgroup(&id[i]);
        ck_assert_int_eq(shape_open(NULL, &s), 0);
        ck_assert_int_eq(shape_hold_links(s), 0);
        ck_assert_uint_eq(kernel_links_of(s), N_PROGS);
        ck_assert_int_eq(shape_hold_links(s), 0); /* idempotent */
        ck_assert_uint_eq(kernel_links_of(s), N_PROGS);

        for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go[i]), 0);
                pid[i] = fork();
                ck_assert_int_ge(pid[i], 0);
                if (pid[i] == 0)
                        _exit(held_child(s, cg[i], id[i], calls[i], go[i][1]));
        }
        for (int round = 0; round < 2; round++) {
                for (int i = 0; i < 2; i++)
                        ck_assert_int_eq(read(go[i][0], &x, 1), 1);
                for (int i = 0; i < 2; i++)
                        ck_assert_int_eq(write(go[i][0], "x", 1), 1);
        }
        for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
                ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker %d failed check %d", i,
                              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                (void) close(go[i][0]);
                (void) close(go[i][1]);
        }
        /* The workers are gone, the links stay with their holder. */
        ck_assert_uint_eq(kernel_links_of(s), N_PROGS);
        ck_assert_uint_eq(shape_links(s), N_PROGS);

        /* A worker killed with its task leaves the entry ... */
        ck_assert_int_eq(pipe2(go[0], O_CLOEXEC), 0);
        dead = fork();
        ck_assert_int_ge(dead, 0);
        if (dead == 0) {
                if (shape_own_ring(s) < 0 || shape_task_add(s, id[2], NULL, &t) < 0 || write(go[0][1], "x", 1) != 1)
                        _exit(1);
                pause();
                _exit(1);
        }
        (void) close(go[0][1]);
        ck_assert_int_eq(read(go[0][0], &x, 1), 1);
        (void) close(go[0][0]);
        ck_assert_int_eq(kill(dead, SIGKILL), 0);
        ck_assert_int_eq(waitpid(dead, &status, 0), dead);
        {
                _cleanup_close_ int root = open(cgroup_paths[2], O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                ck_assert_int_ge(root, 0);
                /* ... kept while its cgroup exists, which the holder may yet reuse ... */
                ck_assert_int_eq(shape_sweep_orphans(s, root), 0);
                ck_assert_int_eq(shape_task_add(s, id[2], NULL, &t), -EEXIST);
                /* ... and swept once the cgroup is gone. */
                (void) close(cg[2]);
                ck_assert_int_eq(rmdir(cgroup_paths[2]), 0);
                ck_assert_int_eq(shape_sweep_orphans(s, root), 1);
        }
        if (cache_expected())
                ck_assert(!pinned_has("tasks", id[2]) && !pinned_has("rings", id[2]));
        ck_assert_int_eq(shape_sweep_orphans(s, cg[0]), 0);
        {
                uint32_t ids[N_PROGS];
                ck_assert_int_eq(shape_prog_ids(s, ids, N_PROGS), N_PROGS);
                s = shape_close(s);
                ck_assert_uint_eq(kernel_links_to(ids, N_PROGS), 0);
        }
        (void) close(cg[0]);
        (void) close(cg[1]);
}
END_TEST

/* The cache switched off (or not on bpffs): private programs, nothing
 * pinned, and two private Shapes at once still count exactly. */
START_TEST(test_cache_off) {
        char tmp[] = "/tmp/stockade-shape-test-XXXXXX", dir[PATH_MAX];
        Shape *s1 = NULL, *s2 = NULL;
        ShapeTask *a = NULL, *b = NULL;
        _cleanup_free_ ShapeCounts *ca = NULL, *cb = NULL;
        _cleanup_free_ Events *evs = NULL;
        uint64_t ida, idb;
        int cga, cgb;

        ca = calloc(1, sizeof *ca);
        cb = calloc(1, sizeof *cb);
        evs = calloc(1, sizeof *evs);
        ck_assert(ca && cb && evs);
        cga = make_cgroup(&ida);
        cgb = make_cgroup(&idb);

        ck_assert_ptr_nonnull(mkdtemp(tmp));
        (void) snprintf(dir, sizeof dir, "%s/bpf", tmp);
        ck_assert_int_eq(setenv("STOCKADE_BPF_DIR", dir, 1), 0);
        ck_assert_int_eq(shape_open(NULL, &s1), 0);
        ck_assert(!shape_cached(s1));
        ck_assert_int_eq(rmdir(tmp), 0); /* empty: nothing made there */

        ck_assert_int_eq(setenv("STOCKADE_BPF_DIR", "", 1), 0);
        ck_assert_int_eq(shape_open(NULL, &s2), 0);
        ck_assert(!shape_cached(s2));
        ck_assert(!same_progs(s1, s2));
        ck_assert_int_eq(shape_task_add(s1, ida, NULL, &a), 0);
        ck_assert_int_eq(shape_task_add(s2, idb, NULL, &b), 0);
        run_in(cga, work_getpid, 20000);
        run_in(cgb, work_getppid, 40000);
        ck_assert_int_eq(shape_task_read(s1, a, ca), 0);
        ck_assert_int_eq(shape_task_read(s2, b, cb), 0);
        ck_assert_uint_ge(ca->sys[NR_GETPID].calls, 20000);
        ck_assert_uint_lt(ca->sys[NR_GETPID].calls, 20010);
        ck_assert_uint_ge(cb->sys[NR_GETPPID].calls, 40000);
        ck_assert_uint_lt(cb->sys[NR_GETPPID].calls, 40010);
        ck_assert_int_eq(shape_consume(s1, collect, evs), 1);
        ck_assert_uint_eq(evs->ev[0].cgroup_id, ida);
        s1 = shape_close(s1);
        s2 = shape_close(s2);
        (void) close(cga);
        (void) close(cgb);
}
END_TEST

/* shape_open() in a fresh process (what each `stockade run` pays). */
static double open_in_fresh_process(const char *bpf_dir_env) {
        double t0, t1;
        int pfd[2], status;
        pid_t pid;

        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                Shape *x = NULL;
                double dt;
                (void) setenv("STOCKADE_BPF_DIR", bpf_dir_env, 1);
                t0 = now_s();
                if (shape_open(NULL, &x) < 0)
                        _exit(1);
                dt = now_s() - t0;
                if (write(pfd[1], &dt, sizeof dt) != sizeof dt)
                        _exit(1);
                _exit(shape_cached(x) ? 3 : 4);
        }
        (void) close(pfd[1]);
        ck_assert_int_eq(read(pfd[0], &t1, sizeof t1), sizeof t1);
        (void) close(pfd[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status) == 3 ? t1 : -t1; /* negative: not cached */
}

static double getppid_ns(int cg, long n) {
        double t0 = now_s();
        run_in(cg, work_getppid, n);
        return (now_s() - t0) * 1e9 / (double) n;
}

/* Prints what the cache saves at open, and what a syscall costs with one
 * vs two supervisors' links (each program runs once per link). */
START_TEST(test_cache_timings) {
        double unc, cached, priv, bare, best[4] = { 1e9, 1e9, 1e9, 1e9 };
        const long calls = 1000000;
        Shape *s1 = NULL, *s2 = NULL;
        ShapeTask *a = NULL, *b = NULL;
        uint64_t ida, idb, idu;
        int cga, cgb, cgu;

        if (!cache_expected())
                return;

        ck_assert_int_eq(shape_cache_drop(), 0);
        unc = open_in_fresh_process(bpf_dir);
        ck_assert_double_lt(unc, 0); /* loaded and pinned */
        cached = 1e9;
        for (int i = 0; i < 5; i++) {
                double x = open_in_fresh_process(bpf_dir);
                ck_assert_double_gt(x, 0);
                cached = x < cached ? x : cached;
        }
        priv = open_in_fresh_process("");
        ck_assert_double_lt(priv, 0);
        fprintf(stderr, "# shape_open in a fresh process: %.1f ms loading and pinning, %.2f ms cached (best of 5), "
                        "%.1f ms private\n", -unc * 1e3, cached * 1e3, -priv * 1e3);
        ck_assert_double_lt(cached, -unc);

        cga = make_cgroup(&ida);
        cgb = make_cgroup(&idb);
        cgu = make_cgroup(&idu);
        ck_assert_int_eq(shape_open(NULL, &s1), 0);
        ck_assert_int_eq(shape_open(NULL, &s2), 0);
        bare = getppid_ns(cgu, calls); /* nothing linked */
        ck_assert_int_eq(shape_task_add(s1, ida, NULL, &a), 0);
        for (int round = 0; round < 3; round++) {
                double x;
                /* One supervisor linked: tracked, untracked. */
                x = getppid_ns(cga, calls);
                best[0] = x < best[0] ? x : best[0];
                x = getppid_ns(cgu, calls);
                best[1] = x < best[1] ? x : best[1];
                /* Two: s2 tracks another group. */
                ck_assert_int_eq(shape_task_add(s2, idb, NULL, &b), 0);
                x = getppid_ns(cga, calls);
                best[2] = x < best[2] ? x : best[2];
                x = getppid_ns(cgu, calls);
                best[3] = x < best[3] ? x : best[3];
                b = shape_task_remove(s2, b);
        }
        fprintf(stderr, "# getppid: %.0f ns with nothing linked; best of 3 with one supervisor linked: %.0f ns "
                        "tracked, %.0f ns untracked; two linked: %.0f ns tracked, %.0f ns untracked\n", bare,
                best[0], best[1], best[2], best[3]);
        s1 = shape_close(s1);
        s2 = shape_close(s2);
        (void) close(cga);
        (void) close(cgb);
        (void) close(cgu);
}
END_TEST

static Suite *shape_suite(void) {
        Suite *s = suite_create("shape");
        TCase *tc = tcase_create("kernel");

        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, setup_kernel, teardown_kernel);
        tcase_add_checked_fixture(tc, NULL, cleanup_test);
        tcase_add_test(tc, test_links_follow_tasks);
        tcase_add_test(tc, test_bad_options);
        tcase_add_test(tc, test_task_shape);
        tcase_add_test(tc, test_two_tasks);
        tcase_add_test(tc, test_budget_and_lost);
        tcase_add_test(tc, test_heavy);
        tcase_add_test(tc, test_cache_pin_and_reuse);
        tcase_add_test(tc, test_cache_two_supervisors);
        tcase_add_test(tc, test_cache_sweep_killed);
        tcase_add_test(tc, test_cache_off);
        tcase_add_test(tc, test_held_links);
        tcase_add_test(tc, test_cache_timings);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(shape_suite)
