/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One task's lifecycle on the parent side: cgroups, clone3 into the
 * namespaces, the event loop that watches it, and the result. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "audit.h"
#include "fsview.h"
#include "output-relay.h"
#include "sandbox-init.h"
#include "supervisor.h"
#include "sync.h"

#define NS_FLAGS (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)

/* The signals the supervisor relays to the sandbox's init. */
static const int relayed[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

typedef struct Run {
        Cgroup cg;
        int sync_fd;
        int pidfd;
        int listener;      /* audit mode: seccomp notifications, from init */
        OutputRelay out;   /* with an output cap */
        double deadline_ms; /* when --timeout fires; 0: none */
        const SyscallFilter *filter;
        const SandboxSpec *spec;
        const SandboxHooks *hooks;
        Supervisor *sup;
        TaskNet net;       /* allowlist mode */
        TaskShape shape;   /* observe.shape */
        pid_t pid;
        bool got_started, got_exit, timed_out, cpu_killed, init_gone;
        int canceled; /* -ECONNRESET or -ESHUTDOWN from the control hook */
        int task_status;
        siginfo_t init_info;
        SyncMsg error; /* type != 0 when init reported a setup error */
} Run;

static int pidfd_signal(int pidfd, int sig) {
        return RET_NERRNO(syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0));
}

_printf_(4, 5) static void set_error(SandboxResult *r, const char *phase, int err, const char *fmt, ...) {
        char msg[192];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        r->cause = CAUSE_SETUP_ERROR;
        r->exit_status = 125;
        r->error_errno = err < 0 ? -err : err;
        (void) snprintf(r->error_phase, sizeof r->error_phase, "%s", phase);
        (void) snprintf(r->error_message, sizeof r->error_message, "%s: %s", msg, strerror(r->error_errno));
}

static void record_walls(const Supervisor *s, const Run *run, const SandboxSpec *spec, SandboxResult *r,
                         bool v2_placement) {
        WallsApplied *w = &r->walls;

        w->ns_pid = w->ns_mount = w->ns_net = w->ns_ipc = w->ns_uts = w->ns_cgroup = true;
        w->cgroup_backend = cgroup_layout_backend(&s->layout);
        w->memory_ctl = cgroup_version_to_string(run->cg.version[CG_MEMORY]);
        w->cpu_ctl = cgroup_version_to_string(run->cg.version[CG_CPU]);
        w->pids_ctl = cgroup_version_to_string(run->cg.version[CG_PIDS]);
        w->swap_off = run->cg.swap_off;
        w->v2_placement = v2_placement;
        w->uid = spec->uid;
        w->gid = spec->gid;
}

/* The walls the child builds are in force once it reports STARTED: every
 * step before that is checked and fails the task otherwise. */
static void record_child_walls(SandboxResult *r) {
        r->walls.seccomp = r->walls.no_new_privs = r->walls.caps_cleared = r->walls.loopback_only = true;
}

static pid_t clone_into(const Run *run, int *ret_pidfd, bool *ret_v2_placement) {
        struct clone_args args = {
                .flags = CLONE_PIDFD | CLONE_INTO_CGROUP | NS_FLAGS,
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t) run->cg.v2_fd,
        };
        pid_t pid = (pid_t) syscall(SYS_clone3, &args, sizeof args);

        if (pid >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EINVAL)) {
                *ret_v2_placement = true;
                return pid;
        }
        /* Before 5.7: plain clone, then join the v2 group before GO. */
        *ret_v2_placement = false;
        pid = (pid_t) syscall(SYS_clone, (unsigned long) (NS_FLAGS | SIGCHLD), NULL, NULL, NULL, 0UL);
        if (pid > 0) {
                *ret_pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
                if (*ret_pidfd < 0) {
                        int e = errno;
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, NULL, 0);
                        errno = e;
                        return -1;
                }
        }
        return pid;
}

/* Allowlist mode, while init builds the walls: the task's veth and its
 * resolver (the egress policy is on its cgroup since before clone). Init
 * waits for READY before the task may exec, so it never runs without them. */
static int network_wall(Run *run, SandboxResult *r, char *resolv_conf, size_t resolv_len) {
        _cleanup_close_ int netns = -EBADF;
        const char *what = NULL;
        char path[64];
        int ret;

        (void) snprintf(path, sizeof path, "/proc/%d/ns/net", (int) run->pid);
        netns = open(path, O_RDONLY | O_CLOEXEC);
        if (netns < 0) {
                ret = -errno;
                set_error(r, "network", ret, "cannot open the task's network namespace");
                return ret;
        }
        ret = task_net_attach(&run->net, netns, resolv_conf, resolv_len, &what);
        if (ret < 0)
                set_error(r, "network", ret, "cannot build the network wall (%s)", what ? what : "?");
        return ret;
}

static int set_oom_score_adj(pid_t pid, int adj) {
        char path[64], value[16];
        _cleanup_close_ int fd = -EBADF;

        (void) snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int) pid);
        (void) snprintf(value, sizeof value, "%d", adj);
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return write(fd, value, strlen(value)) < 0 ? -errno : 0;
}

static void kill_sandbox(Run *run) {
        (void) cgroup_kill(&run->cg);
        (void) pidfd_signal(run->pidfd, SIGKILL);
}

static void handle_sync(Run *run, SandboxResult *r, double t_start) {
        SyncMsg m;
        int fd;

        /* Drain what is queued; never block the event loop. */
        while (sync_recv_fd(run->sync_fd, &m, MSG_DONTWAIT, &fd) >= 0) {
                switch (m.type) {
                case SYNC_STARTED:
                        run->got_started = true;
                        for (int p = PHASE_MOUNT; p < _PHASE_MAX; p++)
                                r->phase_ms[p] = m.phase_ms[p];
                        r->startup_ms = monotonic_ms() - t_start;
                        record_child_walls(r);
                        if (fd >= 0 && run->listener < 0)
                                run->listener = TAKE_FD(fd);
                        if (run->hooks && run->hooks->started)
                                run->hooks->started(run->spec, r, run->hooks->userdata);
                        break;
                case SYNC_SETUP_ERROR:
                        if (run->error.type == 0)
                                run->error = m;
                        break;
                case SYNC_TASK_EXITED:
                        run->got_exit = true;
                        run->task_status = m.status;
                        break;
                default:
                        break;
                }
                fd = safe_close(fd);
        }
}

static int timer_arm(uint64_t first_usec, uint64_t interval_usec) {
        struct itimerspec its = {
                .it_value = { (time_t) (first_usec / 1000000), (long) (first_usec % 1000000) * 1000 },
                .it_interval = { (time_t) (interval_usec / 1000000), (long) (interval_usec % 1000000) * 1000 },
        };
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (timerfd_settime(fd, 0, &its, NULL) < 0) {
                int e = -errno;
                (void) close(fd);
                return e;
        }
        return fd;
}

static int epoll_add(int ep, int fd, int tag) {
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t) tag };
        return fd < 0 ? 0 : RET_NERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
}

enum { EV_SYNC, EV_PIDFD, EV_SIGNAL, EV_TIMEOUT, EV_CPU, EV_LISTENER, EV_STDOUT, EV_STDERR, EV_NET_RING, EV_NET_DNS,
       EV_SHAPE_RING, EV_CONTROL };

/* The observe phase: one epoll loop until the sandbox's init has exited. */
static int observe(Run *run, const SandboxSpec *spec, int sigfd, SandboxResult *r, double t_start) {
        _cleanup_close_ int ep = -EBADF, tfd = -EBADF, cfd = -EBADF;
        const SandboxLimits *l = &spec->limits;
        bool listening = false, shape_watched = false;
        int e;

        ep = epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0)
                return -errno;
        if (l->timeout_usec) {
                run->deadline_ms = monotonic_ms() + (double) l->timeout_usec / 1000.0;
                tfd = timer_arm(l->timeout_usec, 0);
                if (tfd < 0)
                        return tfd;
        }
        if (l->cpu_time_usec) {
                /* Poll the group's CPU time often enough to stop within ~10% of the budget. */
                uint64_t iv = l->cpu_time_usec / 10;
                iv = iv < 10000 ? 10000 : iv > 100000 ? 100000 : iv;
                cfd = timer_arm(iv, iv);
                if (cfd < 0)
                        return cfd;
        }
        if ((e = epoll_add(ep, run->sync_fd, EV_SYNC)) < 0 || (e = epoll_add(ep, run->pidfd, EV_PIDFD)) < 0 ||
            (e = epoll_add(ep, sigfd, EV_SIGNAL)) < 0 || (e = epoll_add(ep, tfd, EV_TIMEOUT)) < 0 ||
            (e = epoll_add(ep, cfd, EV_CPU)) < 0 || (e = epoll_add(ep, run->out.read_fd[0], EV_STDOUT)) < 0 ||
            (e = epoll_add(ep, run->out.read_fd[1], EV_STDERR)) < 0)
                return e;
        if (run->net.sn && ((e = epoll_add(ep, supervisor_net_ring_fd(run->net.sn), EV_NET_RING)) < 0 ||
                            (e = epoll_add(ep, supervisor_net_dns_fd(run->net.sn), EV_NET_DNS)) < 0))
                return e;
        if (run->hooks && run->hooks->control && (e = epoll_add(ep, run->hooks->control_fd, EV_CONTROL)) < 0)
                return e;

        while (!run->init_gone) {
                struct epoll_event evs[8];
                int n = epoll_wait(ep, evs, ELEMENTSOF(evs), -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (int i = 0; i < n; i++) {
                        switch (evs[i].data.u32) {
                        case EV_SYNC:
                                handle_sync(run, r, t_start);
                                if (run->listener >= 0 && !listening) {
                                        listening = true;
                                        (void) epoll_add(ep, run->listener, EV_LISTENER);
                                }
                                /* Events are read (and journaled) once the task
                                 * runs: before, the supervisor's work would slow
                                 * init's on a busy machine. They wait in the ring;
                                 * a task that never starts has them read at the end. */
                                if (run->got_started && run->shape.task && !shape_watched) {
                                        shape_watched = true;
                                        (void) epoll_add(ep, supervisor_shape_ring_fd(run->shape.ss), EV_SHAPE_RING);
                                        supervisor_shape_dispatch(run->shape.ss);
                                }
                                if (evs[i].events & (EPOLLHUP | EPOLLERR))
                                        (void) epoll_ctl(ep, EPOLL_CTL_DEL, run->sync_fd, NULL);
                                break;
                        case EV_LISTENER:
                                /* HUP: every process under the filter is gone. */
                                if ((evs[i].events & EPOLLIN) && audit_handle_one(run->listener, run->filter, &r->audit) >= 0)
                                        break;
                                if (evs[i].events & (EPOLLHUP | EPOLLERR))
                                        (void) epoll_ctl(ep, EPOLL_CTL_DEL, run->listener, NULL);
                                break;
                        case EV_STDOUT:
                        case EV_STDERR: {
                                int which = evs[i].data.u32 == EV_STDOUT ? 0 : 1;
                                if (output_relay_pump(&run->out, which, run->deadline_ms) == -EPIPE)
                                        (void) epoll_ctl(ep, EPOLL_CTL_DEL, run->out.read_fd[which], NULL);
                                break;
                        }
                        case EV_PIDFD:
                                if (waitid(P_PIDFD, (id_t) run->pidfd, &run->init_info, WEXITED) >= 0)
                                        run->init_gone = true;
                                break;
                        case EV_SIGNAL: {
                                struct signalfd_siginfo si;
                                while (read(sigfd, &si, sizeof si) == (ssize_t) sizeof si)
                                        (void) pidfd_signal(run->pidfd, (int) si.ssi_signo);
                                break;
                        }
                        case EV_TIMEOUT:
                                if (!run->timed_out && !run->cpu_killed) {
                                        run->timed_out = true;
                                        kill_sandbox(run);
                                }
                                (void) epoll_ctl(ep, EPOLL_CTL_DEL, tfd, NULL);
                                break;
                        case EV_CPU: {
                                uint64_t ticks, used;
                                (void) !read(cfd, &ticks, sizeof ticks);
                                if (cgroup_cpu_usec(&run->cg, &used) >= 0 && used >= l->cpu_time_usec &&
                                    !run->timed_out && !run->cpu_killed) {
                                        run->cpu_killed = true;
                                        kill_sandbox(run);
                                }
                                break;
                        }
                        case EV_NET_RING:
                                supervisor_net_dispatch_ring(run->net.sn);
                                break;
                        case EV_NET_DNS:
                                supervisor_net_dispatch_dns(run->net.sn);
                                break;
                        case EV_SHAPE_RING:
                                supervisor_shape_dispatch(run->shape.ss);
                                break;
                        case EV_CONTROL: {
                                int c = run->hooks->control(run->hooks->control_fd, run->hooks->userdata);
                                if (c > 0)
                                        (void) pidfd_signal(run->pidfd, c);
                                else if (c < 0) {
                                        (void) epoll_ctl(ep, EPOLL_CTL_DEL, run->hooks->control_fd, NULL);
                                        if (!run->timed_out && !run->cpu_killed && !run->canceled) {
                                                run->canceled = c == -ESHUTDOWN ? c : -ECONNRESET;
                                                kill_sandbox(run);
                                        }
                                }
                                break;
                        }
                        default:
                                break;
                        }
                }
        }
        /* init sent TASK_EXITED before exiting: it is queued by now. */
        handle_sync(run, r, t_start);
        /* Everything that could write is dead: drain to end of stream. */
        for (int which = 0; which < 2; which++)
                if (run->out.read_fd[which] >= 0) {
                        (void) fcntl(run->out.read_fd[which], F_SETFL, 0);
                        while (output_relay_pump(&run->out, which, run->deadline_ms) == 0)
                                ;
                }
        return 0;
}

static void classify(const Run *run, const CgroupUsage *u, SandboxResult *r) {
        int st = run->task_status;

        if (run->error.type) {
                const SyncMsg *m = &run->error;
                r->cause = CAUSE_SETUP_ERROR;
                r->error_errno = m->err;
                (void) snprintf(r->error_phase, sizeof r->error_phase, "%s", start_phase_to_string(m->phase));
                /* "_ms" is for timing keys only. */
                r->error_phase[strcspn(r->error_phase, "_")] = 0;
                (void) snprintf(r->error_message, sizeof r->error_message, "%s: %s", m->what, strerror(m->err));
                if (m->phase == PHASE_EXEC)
                        r->exit_status = m->err == ENOENT || m->err == ENOTDIR ? 127 : 126;
                else
                        r->exit_status = 125;
                if (run->got_exit && WIFEXITED(st))
                        r->task_code = WEXITSTATUS(st);
                return;
        }

        if (run->got_exit) {
                if (WIFEXITED(st)) {
                        r->task_code = WEXITSTATUS(st);
                        r->exit_status = r->task_code;
                } else if (WIFSIGNALED(st)) {
                        r->task_signal = WTERMSIG(st);
                        r->exit_status = 128 + r->task_signal;
                }
        } else if (run->init_info.si_code == CLD_KILLED || run->init_info.si_code == CLD_DUMPED) {
                /* init itself was killed (a limit kill, or the OOM killer). */
                r->task_signal = run->init_info.si_status;
                r->exit_status = 128 + r->task_signal;
        } else {
                r->task_code = run->init_info.si_status;
                r->exit_status = 125;
        }

        if (run->canceled)
                r->cause = run->canceled == -ESHUTDOWN ? CAUSE_SHUTDOWN : CAUSE_CLIENT_GONE;
        else if (run->timed_out)
                r->cause = CAUSE_TIMEOUT;
        else if (run->cpu_killed)
                r->cause = CAUSE_CPU_TIME;
        else if (r->task_code == 0)
                r->cause = CAUSE_OK;
        else if (r->task_signal == SIGSYS)
                r->cause = CAUSE_SECCOMP;
        else if (u->oom_kills > 0 && u->memory_limit_hits > 0)
                /* Killed at its own ceiling; a kill by the host's OOM killer
                 * (the machine out of memory) stays a plain signal. */
                r->cause = CAUSE_OOM;
        else if (u->pids_max_hits > 0)
                r->cause = CAUSE_PIDS_LIMIT;
        else if (r->task_signal)
                r->cause = CAUSE_SIGNAL;
        else
                r->cause = CAUSE_EXIT_NONZERO;
}

int sandbox_block_relayed_signals(sigset_t *ret_old) {
        sigset_t set;
        sigemptyset(&set);
        for (size_t i = 0; i < ELEMENTSOF(relayed); i++)
                sigaddset(&set, relayed[i]);
        return RET_NERRNO(sigprocmask(SIG_BLOCK, &set, ret_old));
}

static int block_relayed(sigset_t *ret_old) {
        sigset_t set;
        int r = sandbox_block_relayed_signals(ret_old);
        if (r < 0)
                return r;
        sigemptyset(&set);
        for (size_t i = 0; i < ELEMENTSOF(relayed); i++)
                sigaddset(&set, relayed[i]);
        return RET_NERRNO(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

int sandbox_run(Supervisor *s, const SandboxSpec *spec, double t_start, const SandboxHooks *hooks, SandboxResult *r) {
        Run run = { .cg = CGROUP_NULL, .sync_fd = -EBADF, .pidfd = -EBADF, .listener = -EBADF,
                    .out = OUTPUT_RELAY_NULL, .filter = spec->filter, .spec = spec, .hooks = hooks, .sup = s };
        bool allowlist = spec->network && streq(spec->network, "allowlist");
        FsviewSources src = FSVIEW_SOURCES_NULL;
        _cleanup_close_ int sigfd = -EBADF;
        char name[64];
        const char *what = NULL;
        double t;
        bool v2_placement = false;
        sigset_t oldmask;
        int sv[2], ret = 0;
        CgroupUsage usage = { .memory_peak = UINT64_MAX, .pids_peak = UINT64_MAX };

        sandbox_result_init(r);
        if (t_start <= 0)
                t_start = monotonic_ms();
        if (!spec->filter) {
                set_error(r, "prepare", EINVAL, "no seccomp policy was compiled for this task");
                return -EINVAL;
        }
        r->audit_mode = spec->filter->audit.n_insns > 0;

        /* Blocked before anything is created: a ^C or SIGTERM from here on
         * is relayed to the task, and cleanup always runs. */
        sigfd = block_relayed(&oldmask);
        if (sigfd < 0) {
                set_error(r, "prepare", sigfd, "cannot set up signal relaying");
                return sigfd;
        }

        ret = fsview_sources_open(spec, &src, &what);
        if (ret < 0) {
                set_error(r, "prepare", ret, "cannot open '%s'", what);
                ret = 0;
                goto out;
        }

        /* No record, no run: the admission is on record before the sandbox
         * exists. Here, not while init builds the walls: after clone every
         * page the supervisor writes is a copy-on-write fault, which on some
         * hypervisors made the same record cost 8x more (tests/bench/startup). */
        if (hooks && hooks->admit) {
                double ta = monotonic_ms();
                ret = hooks->admit(spec, hooks->userdata);
                log_debug("admission recorded in %.3f ms", monotonic_ms() - ta);
                if (ret < 0) {
                        set_error(r, "admission", ret, "cannot record the admission");
                        ret = 0;
                        goto out;
                }
        }
        r->phase_ms[PHASE_PREPARE] = monotonic_ms() - t_start;

        t = monotonic_ms();
        (void) snprintf(name, sizeof name, "stockade-%d-%u", (int) getpid(), s->n_tasks++);
        ret = cgroup_create(&s->layout, name, &spec->limits, &run.cg, &what);
        if (ret < 0) {
                /* Fail closed: a ceiling we cannot enforce is a wall missing. */
                set_error(r, "cgroup", ret, "cannot set up the %s cgroup wall", what);
                ret = 0;
                goto out;
        }
        r->phase_ms[PHASE_CGROUP] = monotonic_ms() - t;

        if (spec->limits.output_bytes > 0 && (ret = output_relay_open(&run.out, spec->limits.output_bytes)) < 0) {
                set_error(r, "prepare", ret, "cannot create the output pipes");
                goto out;
        }
        if (allowlist) {
                const SandboxHooks *h = hooks;
                ret = task_net_prepare(&s->net, spec, run.cg.v2_fd, &r->net, h ? h->net : NULL,
                                       h ? h->userdata : NULL, &run.net, &what);
                if (ret < 0) {
                        set_error(r, "network", ret, "cannot build the network wall (%s)", what ? what : "?");
                        ret = 0;
                        goto out;
                }
        }
        /* Observation is evidence, not a wall: a kernel that refuses the
         * programs costs the record its shape (the result says why), not
         * the task its run. */
        ret = task_shape_prepare(&s->shape, spec, t_start, hooks ? hooks->proc : NULL, hooks ? hooks->userdata : NULL,
                                 &run.shape, &what);
        if (ret < 0) {
                (void) snprintf(r->shape.error, sizeof r->shape.error, "%s: %s", what ? what : "observe",
                                strerror(-ret));
                log_warning("observe.shape: cannot %s; the task runs, its record has no shape", r->shape.error);
                ret = 0;
        }
        /* Counting starts before clone: the task's cgroup exists, and init
         * is born into it (CLONE_INTO_CGROUP), so nothing the task does
         * escapes the count and init need not wait for a go-ahead. A map
         * that refuses the entry (full, say) costs the record its shape,
         * as above. */
        ret = task_shape_attach(&run.shape, run.cg.v2_fd, &what);
        if (ret < 0) {
                (void) snprintf(r->shape.error, sizeof r->shape.error, "%s: %s", what ? what : "observe",
                                strerror(-ret));
                log_warning("observe.shape: cannot %s; the task runs, its record has no shape", r->shape.error);
                task_shape_done(&run.shape, &r->shape);
                ret = 0;
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
                ret = -errno;
                set_error(r, "clone", ret, "cannot create the sync socket");
                goto out;
        }
        run.sync_fd = sv[0];

        t = monotonic_ms();
        run.pid = clone_into(&run, &run.pidfd, &v2_placement);
        if (run.pid < 0) {
                ret = -errno;
                set_error(r, "clone", ret, "cannot clone into new namespaces");
                (void) close(sv[1]);
                goto out;
        }
        if (run.pid == 0) {
                InitContext ctx = { .spec = spec, .sources = &src, .sync_fd = sv[1],
                                    .resolv_conf = allowlist, .wait_ready = allowlist,
                                    .out_fd = run.out.write_fd[0], .err_fd = run.out.write_fd[1] };
                (void) close(sv[0]);
                sandbox_init_main(&ctx);
        }
        (void) close(sv[1]);
        output_relay_close_write_ends(&run.out);

        ret = cgroup_attach_v1(&run.cg, run.pid);
        if (ret >= 0 && !v2_placement) {
                char pidbuf[16];
                (void) snprintf(pidbuf, sizeof pidbuf, "%d", (int) run.pid);
                ret = write_string_at(run.cg.v2_fd, "cgroup.procs", pidbuf);
        }
        if (ret < 0) {
                set_error(r, "cgroup", ret, "cannot place the task in its cgroups");
                kill_sandbox(&run);
                (void) waitid(P_PIDFD, (id_t) run.pidfd, &run.init_info, WEXITED);
                ret = 0;
                goto out;
        }
        if (spec->set_oom_score_adj && (ret = set_oom_score_adj(run.pid, spec->oom_score_adj)) < 0) {
                set_error(r, "clone", ret, "cannot set the task's oom_score_adj");
                kill_sandbox(&run);
                (void) waitid(P_PIDFD, (id_t) run.pidfd, &run.init_info, WEXITED);
                ret = 0;
                goto out;
        }
        {
                SyncMsg go = { .type = SYNC_GO };
                (void) sync_send(run.sync_fd, &go); /* #1 */
        }
        r->phase_ms[PHASE_CLONE] = monotonic_ms() - t;
        if (allowlist) {
                SyncMsg ready = { .type = SYNC_READY };
                ret = network_wall(&run, r, ready.what, sizeof ready.what);
                if (ret < 0) {
                        kill_sandbox(&run);
                        (void) waitid(P_PIDFD, (id_t) run.pidfd, &run.init_info, WEXITED);
                        ret = 0;
                        goto out;
                }
                (void) sync_send(run.sync_fd, &ready); /* #1b */
        }
        record_walls(s, &run, spec, r, v2_placement);

        ret = observe(&run, spec, sigfd, r, t_start);
        if (ret < 0) {
                kill_sandbox(&run);
                (void) waitid(P_PIDFD, (id_t) run.pidfd, &run.init_info, WEXITED);
                set_error(r, "observe", ret, "lost track of the task");
                goto out;
        }
        r->wall_ms = monotonic_ms() - t_start;

        (void) cgroup_read_usage(&run.cg, &usage);
        r->cpu_usec = usage.cpu_usec;
        r->cpu_user_usec = usage.cpu_user_usec;
        r->cpu_system_usec = usage.cpu_system_usec;
        r->memory_peak_bytes = usage.memory_peak;
        r->pids_peak = usage.pids_peak;
        classify(&run, &usage, r);
        if (!run.got_started && r->cause != CAUSE_SETUP_ERROR && !run.timed_out && !run.cpu_killed && !run.canceled)
                set_error(r, "start", EPROTO, "the sandbox ended before the task started");
        if (!run.got_started)
                r->walls.seccomp = r->walls.no_new_privs = r->walls.caps_cleared = r->walls.loopback_only = false;

        if (run.out.cap > 0) {
                r->output_captured = true;
                r->output_bytes = run.out.bytes;
                r->output_cut = run.out.cut;
                output_relay_hashes(&run.out, r->stdout_sha256, r->stderr_sha256);
        }

out:
        /* Every path here has reaped init once it was cloned. */
        run.net.netns_gone = run.pid > 0;
        task_net_done(&run.net);
        task_shape_done(&run.shape, &r->shape);
        output_relay_done(&run.out);
        run.listener = safe_close(run.listener);
        run.pidfd = safe_close(run.pidfd);
        run.sync_fd = safe_close(run.sync_fd);
        cgroup_destroy(&run.cg);
        fsview_sources_done(&src, spec->n_binds);
        (void) sigprocmask(SIG_SETMASK, &oldmask, NULL);
        return ret < 0 ? ret : 0;
}
