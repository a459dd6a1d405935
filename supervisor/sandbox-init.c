/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "privileges.h"
#include "sandbox-init.h"
#include "sync.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

/* Signals a user (or the supervisor) may send that the task should get. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };

static volatile pid_t task_pid;

static void forward(int sig) {
        pid_t p = task_pid;
        int saved = errno;
        if (p > 0 && kill(-p, sig) < 0)
                (void) kill(p, sig);
        errno = saved;
}

static double now_ms(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

_noreturn_ static void fail(int fd, StartPhase phase, int err, const char *what) {
        SyncMsg m = { .type = SYNC_SETUP_ERROR, .err = err < 0 ? -err : err, .phase = phase };
        (void) snprintf(m.what, sizeof m.what, "%s", what ? what : "");
        (void) sync_send(fd, &m);
        _exit(125);
}

static void cloexec_all_from_3(void) {
        if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) >= 0)
                return;
        /* Before 5.11. */
        long max = sysconf(_SC_OPEN_MAX);
        for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* Shared between init and the task child (CLONE_VM): the child writes,
 * init reads once clone() has returned (CLONE_VFORK: after execve). */
typedef struct TaskStart {
        const SandboxSpec *spec;
        int listener;          /* audit: the seccomp notification fd */
        int err;               /* errno of the step that failed, 0 when exec'd */
        StartPhase err_phase;
        const char *err_what;
        double seccomp_ms;
} TaskStart;

static int set_limit(int resource, uint64_t v) {
        struct rlimit rl = { .rlim_cur = (rlim_t) v, .rlim_max = (rlim_t) v };
        return RET_NERRNO(setrlimit(resource, &rl));
}

/* Runs in a vfork()-style child sharing init's memory and fd table until
 * execve() (CLONE_VM|CLONE_FILES|CLONE_VFORK): it touches only its own
 * stack, the TaskStart it is given, and signal state it owns. The seccomp
 * filter goes on here, last, so that init itself is never filtered and the
 * only call the filter sees before the task's own is execve(). */
static int exec_task(void *arg) {
        TaskStart *ts = arg;
        const SandboxSpec *spec = ts->spec;
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        sigset_t none;
        double t;
        int r;

        /* A clean slate: the caller may have ignored SIGPIPE, we blocked some. */
        for (int sig = 1; sig < NSIG; sig++)
                (void) sigaction(sig, &dfl, NULL);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) setpgid(0, 0);
        /* Shared table: init's fds get it too, harmless as init never execs. */
        cloexec_all_from_3();

        ts->err_phase = PHASE_EXEC;
        if (spec->limits.nofile && (r = set_limit(RLIMIT_NOFILE, spec->limits.nofile)) < 0) {
                ts->err_what = "set the open files limit";
                goto fail;
        }
        if (spec->limits.fsize_bytes && (r = set_limit(RLIMIT_FSIZE, spec->limits.fsize_bytes)) < 0) {
                ts->err_what = "set the file size limit";
                goto fail;
        }

        t = now_ms();
        ts->err_phase = PHASE_SECCOMP;
        ts->err_what = "install the seccomp filter";
        r = syscall_filter_install(spec->filter, &ts->listener);
        if (r < 0)
                goto fail;
        ts->seccomp_ms = now_ms() - t;

        ts->err_phase = PHASE_EXEC;
        ts->err_what = "execute the command";
        environ = spec->envp;
        execvp(spec->argv[0], spec->argv);
        r = -errno;
fail:
        ts->err = -r;
        _exit(ts->err == ENOENT || ts->err == ENOTDIR ? 127 : 126);
}

/* The write ends of the output pipes become the task's stdout and stderr. */
static int wire_output(const InitContext *ctx) {
        if (ctx->out_fd < 0)
                return 0;
        if (dup2(ctx->out_fd, STDOUT_FILENO) < 0 || dup2(ctx->err_fd, STDERR_FILENO) < 0)
                return -errno;
        return 0;
}

void sandbox_init_main(const InitContext *ctx) {
        const SandboxSpec *spec = ctx->spec;
        SyncMsg go, msg = { .type = SYNC_STARTED };
        struct sigaction sa = { .sa_handler = forward };
        const char *what = NULL;
        int fd = ctx->sync_fd, resolv_fd = -EBADF, r;
        TaskStart ts = { .spec = spec, .listener = -EBADF };
        sigset_t fwd;
        double t;
        pid_t pid;

        /* If the supervisor dies, so does the sandbox (and with pid 1 gone,
         * every process in it). The GO read below covers a death before this. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);

        /* #1: wait until the parent has put us in every cgroup. */
        if (sync_recv(fd, &go, 0) < 0 || go.type != SYNC_GO)
                _exit(125);

        t = now_ms();
        /* A new session: no controlling terminal to inject input into, and
         * terminal signals reach the supervisor only, which forwards them. */
        if (setsid() < 0)
                fail(fd, PHASE_MOUNT, errno, "start a new session");
        if (sethostname("stockade", 8) < 0)
                fail(fd, PHASE_MOUNT, errno, "set the hostname");
        {
                /* The view's directories and device nodes get their modes
                 * whatever the caller's umask (077 would make them
                 * unusable for the task's uid); the task gets the
                 * caller's umask back. */
                mode_t caller_umask = umask(022);
                r = fsview_build(spec, ctx->sources, ctx->resolv_conf ? &resolv_fd : NULL, &what);
                (void) umask(caller_umask);
        }
        if (r < 0)
                fail(fd, PHASE_MOUNT, r, what);
        r = net_loopback_up();
        if (r < 0)
                fail(fd, PHASE_MOUNT, r, "bring up lo");
        r = wire_output(ctx);
        if (r < 0)
                fail(fd, PHASE_MOUNT, r, "connect the output pipes");
        msg.phase_ms[PHASE_MOUNT] = now_ms() - t;

        t = now_ms();
        r = privileges_drop(spec->uid, spec->gid, &what);
        if (r < 0)
                fail(fd, PHASE_PRIVILEGES, r, what);
        /* A credential change cleared the parent-death signal. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        msg.phase_ms[PHASE_PRIVILEGES] = now_ms() - t;

        /* #1b: the supervisor built the network wall and started observing
         * meanwhile; no code of the task's runs without them. It names the
         * task's resolver. */
        if (ctx->wait_ready && (sync_recv(fd, &go, 0) < 0 || go.type != SYNC_READY))
                _exit(125);
        if (ctx->resolv_conf) {
                size_t len;
                go.what[sizeof go.what - 1] = 0;
                len = strlen(go.what);
                if (write(resolv_fd, go.what, len) != (ssize_t) len)
                        fail(fd, PHASE_PRIVILEGES, errno ?: EIO, "write /etc/resolv.conf");
                (void) close(resolv_fd);
        }

        t = now_ms();
        sigemptyset(&fwd);
        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++) {
                sigaddset(&fwd, forwarded[i]);
                (void) sigaction(forwarded[i], &sa, NULL);
        }
        {
                /* CLONE_VM|CLONE_VFORK: no copy of init's page tables, which
                 * on some hypervisors costs more than the whole exec. */
                static char stack[64 * 1024] __attribute__((aligned(16)));
                pid = clone(exec_task, stack + sizeof stack, CLONE_VM | CLONE_FILES | CLONE_VFORK | SIGCHLD, &ts);
        }
        if (pid < 0)
                fail(fd, PHASE_EXEC, errno, "start the task");
        task_pid = pid;
        (void) setpgid(pid, pid);
        (void) sigprocmask(SIG_UNBLOCK, &fwd, NULL);

        if (ts.err) {
                SyncMsg err = { .type = SYNC_SETUP_ERROR, .err = ts.err, .phase = ts.err_phase };
                if (ts.err_phase == PHASE_EXEC && streq(ts.err_what, "execute the command"))
                        (void) snprintf(err.what, sizeof err.what, "execute '%s'", spec->argv[0]);
                else
                        (void) snprintf(err.what, sizeof err.what, "%s", ts.err_what);
                (void) sync_send(fd, &err);
        } else {
                msg.phase_ms[PHASE_SECCOMP] = ts.seccomp_ms;
                msg.phase_ms[PHASE_EXEC] = now_ms() - t - ts.seccomp_ms;
                /* #2, with the audit listener when there is one. */
                (void) sync_send_fd(fd, &msg, ts.listener);
        }
        if (ts.listener >= 0)
                (void) close(ts.listener);

        /* pid 1: reap everything; report the task. */
        for (;;) {
                int st;
                pid_t w = waitpid(-1, &st, 0);
                if (w == pid) {
                        SyncMsg ex = { .type = SYNC_TASK_EXITED, .status = st };
                        (void) sync_send(fd, &ex); /* #3 */
                        _exit(0);
                }
                if (w < 0 && errno != EINTR)
                        _exit(125);
        }
}
