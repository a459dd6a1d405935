/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A worker: forked from the daemon ahead of need (a spare, so the fork is
 * off every request's path), it waits for one admitted request, then owns
 * that request's sandbox_run() on its copy of the supervisor state, with
 * the tenant's cgroup subtree and identity. It talks to the daemon over
 * one control line (proto frames): the task and later signals and cancel
 * in, started and result out. The client's connection stays with the
 * daemon. A reload replaces the spare, whose copy of the policy is old. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "daemon.h"
#include "exit-status.h"
#include "run-exec.h"
#include "run-journal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; glibc 2.36's headers predate it */
#endif

typedef struct Worker {
        int ctl;
        ProtoReader rd;
} Worker;

static bool relayable(int sig) {
        static const int ok[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                if (ok[i] == sig)
                        return true;
        return false;
}

/* RunControl.control: what the daemon said. */
static int worker_control(int fd, void *userdata) {
        Worker *w = userdata;
        bool mid = false;

        for (;;) {
                json_object *msg = NULL, *v = NULL;
                char err[128];
                const char *t;
                int ret = 0, r = proto_reader_next(&w->rd, fd, &msg, NULL, NULL, &mid, err, sizeof err);

                if (r == 0)
                        return 0;
                if (r < 0) /* the daemon is gone: nobody will hear the result */
                        return -ESHUTDOWN;
                t = proto_type(msg);
                if (t && streq(t, "signal") && json_object_object_get_ex(msg, "signo", &v) &&
                    relayable(json_object_get_int(v)))
                        ret = json_object_get_int(v);
                else if (t && streq(t, "cancel") && json_object_object_get_ex(msg, "why", &v))
                        ret = streq(json_object_get_string(v), "client_gone") ? -ECONNRESET : -ESHUTDOWN;
                json_object_put(msg);
                if (ret != 0)
                        return ret;
        }
}

static void worker_started(const SandboxResult *r, void *userdata) {
        Worker *w = userdata;
        json_object *m = proto_message("started");

        (void) r;
        if (m)
                (void) proto_send(w->ctl, m, NULL, 0);
        json_object_put(m);
}

static void send_result(int ctl, const RunOptions *opts, const SandboxResult *res, int status) {
        char lines[4][RUN_EXPLAIN_LEN];
        json_object *m = proto_message("result"), *msgs = json_object_new_array();
        size_t n = run_explain(res, &opts->spec, lines, ELEMENTSOF(lines));

        for (size_t i = 0; msgs && i < n; i++)
                (void) json_object_array_add(msgs, json_object_new_string(lines[i]));
        if (m && msgs) {
                (void) json_object_object_add(m, "status", json_object_new_int(status));
                (void) json_object_object_add(m, "result", sandbox_result_to_object(&opts->spec, res));
                (void) json_object_object_add(m, "messages", msgs);
                msgs = NULL;
                (void) proto_send(ctl, m, NULL, 0);
        }
        json_object_put(msgs);
        json_object_put(m);
}

static void send_error(int ctl, int status, const char *reason) {
        json_object *m = proto_message("error");

        if (!m)
                return;
        (void) json_object_object_add(m, "reason", json_object_new_string(reason));
        (void) json_object_object_add(m, "status", json_object_new_int(status));
        (void) proto_send(ctl, m, NULL, 0);
        json_object_put(m);
}

/* The spare must hold nothing of other requests: a client whose
 * connection a worker kept open would never see it close. */
static void close_daemon_fds(Daemon *d) {
        for (Conn *o = d->conns; o; o = o->next) {
                o->fd = safe_close(o->fd);
                o->ctl_fd = safe_close(o->ctl_fd);
                o->worker_pidfd = safe_close(o->worker_pidfd);
                for (size_t i = 0; i < o->n_raw_fds; i++)
                        o->raw_fds[i] = safe_close(o->raw_fds[i]);
                for (size_t i = 0; i < o->opts.n_fds; i++)
                        o->opts.fds[i] = safe_close(o->opts.fds[i]);
        }
        d->spare_ctl = safe_close(d->spare_ctl);
        d->spare_pidfd = safe_close(d->spare_pidfd);
        d->listen_fd = safe_close(d->listen_fd);
        d->signal_fd = safe_close(d->signal_fd);
        d->epoll_fd = safe_close(d->epoll_fd);
}

static double get_double(json_object *o, const char *key) {
        json_object *v = NULL;
        return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0;
}

static const char *get_string(json_object *o, const char *key) {
        json_object *v = NULL;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

/* What the admission record adds in daemon mode. */
static json_object *admission_extra(json_object *task, const RunOptions *opts, double queued_ms) {
        json_object *x = json_object_new_object(), *v = NULL;

        if (!x)
                return NULL;
        if (json_object_object_get_ex(task, "caller", &v))
                (void) json_object_object_add(x, "caller", json_object_get(v));
        (void) json_object_object_add(x, "via", json_object_new_string("stockaded"));
        if (json_object_object_get_ex(task, "steps", &v))
                (void) json_object_object_add(x, "steps", json_object_get(v));
        (void) json_object_object_add(x, "code_origin_label",
                                      json_object_new_string(opts->code_origin ? opts->code_origin : "user"));
        (void) json_object_object_add(x, "attempt", json_object_new_int64(opts->attempt ? opts->attempt : 1));
        (void) json_object_object_add(x, "retry_of", opts->retry_of ? json_object_new_string(opts->retry_of) : NULL);
        (void) json_object_object_add(x, "queued_ms", json_object_new_double(queued_ms));
        return x;
}

/* The task, from the daemon's "task" message: runs it, answers, exits. */
_noreturn_ static void worker_run(Daemon *d, int ctl, json_object *task, int *fds, size_t n_fds) {
        const DaemonConfig *cfg = &d->policy->config;
        const char *tenant = get_string(task, "tenant"), *reason = get_string(task, "reason");
        const Tenant *tn = tenant ? daemon_config_tenant_by_name(cfg, tenant) : NULL;
        DaemonTenantGroup *g = tenant ? daemon_group(d, tenant) : NULL;
        const DaemonProfile *prof;
        Worker w = { .ctl = ctl, .rd = PROTO_READER_NULL };
        RunControl rc = { .fd = ctl, .control = worker_control, .started = worker_started, .userdata = &w };
        RunAdmission adm = { .tenant = tenant, .reason = reason ? reason : "", .policy_ms = get_double(task, "policy_ms") };
        RunOptions opts = {};
        RunRequestMeta meta = {};
        json_object *req = NULL;
        SandboxResult res;
        Supervisor sup;
        char err[512];
        int status;

        if (n_fds < 3 || !json_object_object_get_ex(task, "request", &req) ||
            run_request_decode(req, fds + 3, n_fds - 3, &opts, &meta, err, sizeof err) < 0) {
                send_error(ctl, EXIT_WRAPPER_FAILED, "the worker got a bad task");
                _exit(EXIT_WRAPPER_FAILED);
        }
        prof = daemon_policy_profile(d->policy, opts.profile ? opts.profile : "default");
        if (!tn || !g || !prof) {
                /* The daemon replaces spares on reload: this is a bug. */
                send_error(ctl, EXIT_WRAPPER_FAILED, "the worker's policy lacks the task's tenant or profile");
                _exit(EXIT_WRAPPER_FAILED);
        }
        /* From here on this process works for the tenant: its CPU, memory
         * and pids count in the tenant's subtree, not the daemon's. */
        if (cgroup_subtree_enter(&g->layout) < 0) {
                send_error(ctl, EXIT_WRAPPER_FAILED, "the worker cannot join its tenant's cgroup subtree");
                _exit(EXIT_WRAPPER_FAILED);
        }
        for (int i = 0; i < 3; i++)
                if (fds[i] != i && (dup2(fds[i], i) < 0 || close(fds[i]) < 0))
                        _exit(EXIT_WRAPPER_FAILED);
        for (size_t i = 3; i < n_fds; i++)
                (void) close(fds[i]); /* the decoder holds its own copies */

        /* The daemon's configuration, not the client, decides these. */
        free(opts.journal);
        opts.journal = strdup(cfg->journal_dir);
        if (!opts.journal) { /* NULL would mean $STOCKADE_JOURNAL or the default: never that */
                send_error(ctl, EXIT_WRAPPER_FAILED, "the worker is out of memory");
                _exit(EXIT_WRAPPER_FAILED);
        }
        opts.journal_fsync = cfg->journal_fsync;
        opts.no_journal = false;
        free(opts.secret_store);
        opts.secret_store = cfg->secret_store ? strdup(cfg->secret_store) : NULL;
        opts.uid = tn->run_uid;
        opts.gid = tn->run_gid;
        adm.extra = admission_extra(task, &opts, get_double(task, "queued_ms"));

        if (run_apply_profile(&opts, &prof->prof, meta.env, err, sizeof err) < 0) {
                Journal *j = NULL;
                /* Refused after admission (a secret that cannot be read, a
                 * bad override): on record like any refusal. */
                if (open_journal(&opts, &j) >= 0)
                        (void) run_journal_admission(j, &opts.spec, tenant, false, err, adm.policy_ms, adm.extra);
                (void) journal_close(j);
                send_error(ctl, EXIT_WRAPPER_FAILED, err);
                _exit(EXIT_WRAPPER_FAILED);
        }
        opts.spec.filter = &prof->filter;

        /* The worker shares its tenant's memory ceiling with the task (it
         * sits in the subtree's workers leaf), and the kernel's OOM killer
         * picks the biggest: a worker bigger than a small task (under ASan,
         * or holding many events) was picked, and its request ended with no
         * result. The task goes first instead, at any ceiling: killing it
         * frees the memory, and the supervision must outlive it to record
         * it. (Raising a score needs no privilege; lowering the worker's
         * would need CAP_SYS_RESOURCE.) */
        opts.spec.set_oom_score_adj = true;
        opts.spec.oom_score_adj = 1000;
        sup = d->sup;
        sup.layout = g->layout; /* this process's copy: tasks go into the tenant's subtree */
        sup.n_tasks = 0;
        (void) sandbox_block_relayed_signals(NULL);
        sandbox_result_init(&res);
        status = run_supervised(&sup, &opts, &prof->prof, get_double(task, "t_accept_ms"), &adm, &rc, &res);
        send_result(ctl, &opts, &res, status);
        /* Only what outlives this process is cleaned: the network wall's
         * host rules and the BPF links. */
        supervisor_net_done(&sup.net);
        supervisor_shape_done(&sup.shape);
        _exit(0);
}

/* After fork every page a process writes is first copied (copy-on-write),
 * and on some hypervisors each such fault costs tens of microseconds: a
 * worker paid ~2 ms of them between receiving its task and building the
 * sandbox. A spare takes those faults while it waits: every private
 * writable mapping of reasonable size is populated for writing now. */
static void prefault_writable(void) {
        char line[512];
        FILE *f = fopen("/proc/self/maps", "re");

        if (!f)
                return;
        while (fgets(line, sizeof line, f)) {
                unsigned long lo, hi;
                char perms[8];
                if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || !streq(perms, "rw-p") ||
                    hi - lo > (16UL << 20))
                        continue;
                /* EINVAL before Linux 5.14: the faults come later, as before. */
                (void) madvise((void *) lo, hi - lo, MADV_POPULATE_WRITE);
        }
        fclose(f);
}

_noreturn_ static void spare_main(Daemon *d, int ctl) {
        json_object *task = NULL;
        int fds[PROTO_MAX_FDS];
        size_t n_fds = 0;
        char err[128];
        sigset_t none;

        /* A daemon killed outright takes its workers, and so their tasks, along. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        close_daemon_fds(d);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) signal(SIGPIPE, SIG_IGN);
        /* The daemon's ring would mix every worker's events: one of our
         * own, or no shared Shape at all (the task then opens its own). */
        if (supervisor_shape_fork(&d->sup.shape) < 0)
                supervisor_shape_done(&d->sup.shape);
        prefault_writable();

        /* End of stream: the daemon replaced or no longer needs us. */
        if (proto_recv(ctl, &task, fds, &n_fds, err, sizeof err) < 0 || !streq_ptr(proto_type(task), "task"))
                _exit(0);
        (void) fcntl(ctl, F_SETFL, O_NONBLOCK);
        worker_run(d, ctl, task, fds, n_fds);
}

int spare_spawn(Daemon *d) {
        int sv[2], pidfd, r;
        pid_t pid;

        if (d->spare_ctl >= 0)
                return 0;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                r = -errno;
                (void) close(sv[0]);
                (void) close(sv[1]);
                return r;
        }
        if (pid == 0) {
                (void) close(sv[0]);
                d->spare_ctl = -EBADF; /* sv[0], closed above: not ours to close again */
                spare_main(d, sv[1]);
        }
        (void) close(sv[1]);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
                r = -errno;
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                (void) close(sv[0]);
                return r;
        }
        d->spare_pid = pid;
        d->spare_pidfd = pidfd;
        d->spare_ctl = sv[0];
        return 0;
}

void spare_drop(Daemon *d) {
        if (d->spare_ctl < 0)
                return;
        /* End of stream tells the spare to go. */
        d->spare_ctl = safe_close(d->spare_ctl);
        (void) waitid(P_PIDFD, (id_t) d->spare_pidfd, &(siginfo_t) {}, WEXITED);
        d->spare_pidfd = safe_close(d->spare_pidfd);
        d->spare_pid = 0;
}

static json_object *task_message(const Conn *c) {
        json_object *m = proto_message("task"), *caller = json_object_new_object();

        if (!m || !caller) {
                json_object_put(m);
                json_object_put(caller);
                return NULL;
        }
        (void) json_object_object_add(caller, "uid", json_object_new_int64(c->uid));
        (void) json_object_object_add(caller, "gid", json_object_new_int64(c->gid));
        (void) json_object_object_add(caller, "pid", json_object_new_int64(c->pid));
        (void) json_object_object_add(m, "caller", caller);
        (void) json_object_object_add(m, "request", json_object_get(c->req));
        (void) json_object_object_add(m, "tenant", json_object_new_string(c->tenant));
        (void) json_object_object_add(m, "reason", json_object_new_string(c->adm.reason));
        (void) json_object_object_add(m, "policy_ms", json_object_new_double(c->adm.policy_ms));
        (void) json_object_object_add(m, "steps", admission_steps_to_json(&c->adm));
        (void) json_object_object_add(m, "t_accept_ms", json_object_new_double(c->t_accept));
        (void) json_object_object_add(m, "queued_ms",
                                      json_object_new_double(c->t_queued_ms > 0 ? daemon_now_ms() - c->t_queued_ms : 0));
        return m;
}

int worker_spawn(Conn *c) {
        Daemon *d = c->d;
        json_object *m;
        int r = -EPIPE;

        m = task_message(c);
        if (!m)
                return -ENOMEM;
        /* The spare may have died meanwhile: then a fresh one, once. */
        for (int attempt = 0; attempt < 2 && r == -EPIPE; attempt++) {
                if ((r = spare_spawn(d)) < 0)
                        break;
                r = proto_send(d->spare_ctl, m, c->raw_fds, c->n_raw_fds);
                if (r == -EPIPE || r == -ECONNRESET) {
                        spare_drop(d);
                        r = -EPIPE;
                }
        }
        json_object_put(m);
        if (r < 0)
                return r;

        /* The spare is this request's worker now. */
        c->worker = d->spare_pid;
        c->worker_pidfd = d->spare_pidfd;
        c->ctl_fd = d->spare_ctl;
        c->ctl_rd = PROTO_READER_NULL;
        d->spare_ctl = d->spare_pidfd = -EBADF;
        d->spare_pid = 0;
        (void) fcntl(c->ctl_fd, F_SETFL, O_NONBLOCK);
        for (size_t i = 0; i < c->n_raw_fds; i++)
                c->raw_fds[i] = safe_close(c->raw_fds[i]);
        c->n_raw_fds = 0;
        json_object_put(c->req);
        c->req = NULL;
        run_options_done(&c->opts);
        run_request_meta_done(&c->meta);
        c->have_request = false;
        if ((r = daemon_watch(d, c->ctl_fd, c, WATCH_CTL)) < 0 ||
            (r = daemon_watch(d, c->worker_pidfd, c, WATCH_PIDFD)) < 0) {
                /* Unwatched, the worker would run outside every count:
                 * it goes, with its task (parent-death signal). */
                (void) syscall(SYS_pidfd_send_signal, c->worker_pidfd, SIGKILL, NULL, 0);
                (void) waitid(P_PIDFD, (id_t) c->worker_pidfd, &(siginfo_t) {}, WEXITED);
                daemon_unwatch(d, c->ctl_fd);
                daemon_unwatch(d, c->worker_pidfd);
                c->ctl_fd = safe_close(c->ctl_fd);
                c->worker_pidfd = safe_close(c->worker_pidfd);
                return r;
        }
        /* The next spare is forked when the loop is idle (daemon.c). */
        return 0;
}
