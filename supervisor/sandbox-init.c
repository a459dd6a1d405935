/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
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

typedef struct TaskArgs {
        const SandboxSpec *spec;
        int err_fd;
} TaskArgs;

/* Runs in a vfork()-style child sharing init's memory until execve(): it
 * touches only its own stack, the fd table and signal state it owns. */
static int exec_task(void *arg) {
        const SandboxSpec *spec = ((const TaskArgs *) arg)->spec;
        int err_fd = ((const TaskArgs *) arg)->err_fd;
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        sigset_t none;
        int e;

        /* A clean slate: the caller may have ignored SIGPIPE, we blocked some. */
        for (int sig = 1; sig < NSIG; sig++)
                (void) sigaction(sig, &dfl, NULL);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) setpgid(0, 0);
        cloexec_all_from_3();

        environ = spec->envp;
        execvp(spec->argv[0], spec->argv);
        e = errno;
        (void) !write(err_fd, &e, sizeof e);
        _exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
}

void sandbox_init_main(const InitContext *ctx) {
        const SandboxSpec *spec = ctx->spec;
        SyncMsg go, msg = { .type = SYNC_STARTED };
        struct sigaction sa = { .sa_handler = forward };
        const char *what = NULL;
        int fd = ctx->sync_fd, pipefd[2], r, e;
        sigset_t fwd;
        double t;
        pid_t pid;
        ssize_t n;

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
        r = fsview_build(spec, ctx->sources, &what);
        if (r < 0)
                fail(fd, PHASE_MOUNT, r, what);
        r = net_loopback_up();
        if (r < 0)
                fail(fd, PHASE_MOUNT, r, "bring up lo");
        msg.phase_ms[PHASE_MOUNT] = now_ms() - t;

        t = now_ms();
        r = privileges_drop(spec->uid, spec->gid, &what);
        if (r < 0)
                fail(fd, PHASE_PRIVILEGES, r, what);
        /* A credential change cleared the parent-death signal. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        msg.phase_ms[PHASE_PRIVILEGES] = now_ms() - t;

        t = now_ms();
        r = syscall_filter_install(ctx->filter);
        if (r < 0)
                fail(fd, PHASE_SECCOMP, r, "install the seccomp filter");
        msg.phase_ms[PHASE_SECCOMP] = now_ms() - t;

        t = now_ms();
        sigemptyset(&fwd);
        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++) {
                sigaddset(&fwd, forwarded[i]);
                (void) sigaction(forwarded[i], &sa, NULL);
        }
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                fail(fd, PHASE_EXEC, errno, "create the exec pipe");
        {
                /* CLONE_VM|CLONE_VFORK: no copy of init's page tables, which
                 * on some hypervisors costs more than the whole exec. */
                static char stack[64 * 1024] __attribute__((aligned(16)));
                TaskArgs ta = { .spec = spec, .err_fd = pipefd[1] };
                pid = clone(exec_task, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &ta);
        }
        if (pid < 0)
                fail(fd, PHASE_EXEC, errno, "start the task");
        task_pid = pid;
        (void) setpgid(pid, pid);
        (void) close(pipefd[1]);
        (void) sigprocmask(SIG_UNBLOCK, &fwd, NULL);
        /* With CLONE_VFORK execve() has happened (or failed) by now; the
         * pipe says which. */

        /* EOF means execve() succeeded (the write end was close-on-exec). */
        do
                n = read(pipefd[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        (void) close(pipefd[0]);
        if (n == (ssize_t) sizeof e) {
                SyncMsg err = { .type = SYNC_SETUP_ERROR, .err = e, .phase = PHASE_EXEC };
                (void) snprintf(err.what, sizeof err.what, "execute '%s'", spec->argv[0]);
                (void) sync_send(fd, &err);
        } else {
                msg.phase_ms[PHASE_EXEC] = now_ms() - t;
                (void) sync_send(fd, &msg); /* #2 */
        }

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
