/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A worker: forked from the daemon for one admitted request, it owns that
 * request's sandbox_run() on a copy of the supervisor state, with the
 * tenant's cgroup subtree and identity, and talks to the daemon over one
 * control line (proto frames): signals and cancel in, started and result
 * out. The client's connection stays with the daemon. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "daemon.h"
#include "exit-status.h"
#include "run-exec.h"
#include "run-journal.h"

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
        int r;

        for (;;) {
                json_object *msg = NULL, *v = NULL;
                int fds[PROTO_MAX_FDS];
                size_t n_fds = 0;
                char err[128];
                const char *t;
                int ret = 0;

                r = proto_reader_feed(&w->rd, fd, &mid);
                if (r == 0)
                        return 0;
                if (r < 0) /* the daemon is gone: nobody will hear the result */
                        return -ESHUTDOWN;
                if (proto_reader_take(&w->rd, &msg, fds, &n_fds, err, sizeof err) < 0)
                        return -ESHUTDOWN;
                for (size_t i = 0; i < n_fds; i++)
                        (void) close(fds[i]);
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

/* The worker must hold nothing of other requests: a client whose
 * connection a worker kept open would never see it close. */
static void close_daemon_fds(Daemon *d, Conn *self) {
        for (Conn *o = d->conns; o; o = o->next) {
                if (o == self)
                        continue;
                o->fd = safe_close(o->fd);
                o->ctl_fd = safe_close(o->ctl_fd);
                o->worker_pidfd = safe_close(o->worker_pidfd);
                for (int i = 0; i < 3; i++)
                        o->stdio[i] = safe_close(o->stdio[i]);
                for (size_t i = 0; i < o->opts.n_fds; i++)
                        o->opts.fds[i] = safe_close(o->opts.fds[i]);
        }
        self->fd = safe_close(self->fd);
        d->listen_fd = safe_close(d->listen_fd);
        d->signal_fd = safe_close(d->signal_fd);
        d->epoll_fd = safe_close(d->epoll_fd);
}

static struct json_object *admission_extra(const Conn *c, double queued_ms) {
        json_object *x = json_object_new_object(), *caller = json_object_new_object();

        if (!x || !caller) {
                json_object_put(x);
                json_object_put(caller);
                return NULL;
        }
        (void) json_object_object_add(caller, "uid", json_object_new_int64(c->uid));
        (void) json_object_object_add(caller, "gid", json_object_new_int64(c->gid));
        (void) json_object_object_add(caller, "pid", json_object_new_int64(c->pid));
        (void) json_object_object_add(x, "caller", caller);
        (void) json_object_object_add(x, "via", json_object_new_string("stockaded"));
        (void) json_object_object_add(x, "steps", admission_steps_to_json(&c->adm));
        (void) json_object_object_add(x, "code_origin_label",
                                      json_object_new_string(c->opts.code_origin ? c->opts.code_origin : "user"));
        (void) json_object_object_add(x, "attempt", json_object_new_int64(c->opts.attempt ? c->opts.attempt : 1));
        (void) json_object_object_add(x, "retry_of",
                                      c->opts.retry_of ? json_object_new_string(c->opts.retry_of) : NULL);
        (void) json_object_object_add(x, "queued_ms", json_object_new_double(queued_ms));
        return x;
}

_noreturn_ static void worker_main(Daemon *d, Conn *c, int ctl) {
        const DaemonConfig *cfg = &d->policy->config;
        const Tenant *tn = c->adm.tenant;
        DaemonTenantGroup *g = daemon_group(d, c->tenant);
        Worker w = { .ctl = ctl, .rd = PROTO_READER_NULL };
        RunControl rc = { .fd = ctl, .control = worker_control, .started = worker_started, .userdata = &w };
        double queued_ms = c->t_queued_ms > 0 ? daemon_now_ms() - c->t_queued_ms : 0;
        RunAdmission adm = { .tenant = c->tenant, .reason = c->adm.reason, .policy_ms = c->adm.policy_ms };
        RunOptions *opts = &c->opts;
        SandboxResult res;
        Supervisor sup;
        char err[512];
        sigset_t none;
        int status;

        /* A daemon killed outright takes its workers, and so their tasks, along. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        close_daemon_fds(d, c);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) signal(SIGPIPE, SIG_IGN);
        for (int i = 0; i < 3; i++)
                if (c->stdio[i] != i && (dup2(c->stdio[i], i) < 0 || close(c->stdio[i]) < 0))
                        _exit(EXIT_WRAPPER_FAILED);

        /* The daemon's configuration, not the client, decides these. */
        free(opts->journal);
        opts->journal = strdup(cfg->journal_dir);
        opts->journal_fsync = cfg->journal_fsync;
        opts->no_journal = false;
        free(opts->secret_store);
        opts->secret_store = cfg->secret_store ? strdup(cfg->secret_store) : NULL;
        opts->uid = tn->run_uid;
        opts->gid = tn->run_gid;
        adm.extra = admission_extra(c, queued_ms);

        if (run_apply_profile(opts, &c->profile->prof, c->meta.env, err, sizeof err) < 0) {
                Journal *j = NULL;
                /* Refused after admission (a secret that cannot be read, a
                 * bad override): on record like any refusal. */
                if (open_journal(opts, &j) >= 0)
                        (void) run_journal_admission(j, &opts->spec, c->tenant, false, err, c->adm.policy_ms, adm.extra);
                (void) journal_close(j);
                send_error(ctl, EXIT_WRAPPER_FAILED, err);
                _exit(EXIT_WRAPPER_FAILED);
        }
        opts->spec.filter = &c->profile->filter;

        sup = d->sup;
        sup.layout = g->layout; /* this process's copy: tasks go into the tenant's subtree */
        sup.n_tasks = 0;
        (void) sandbox_block_relayed_signals(NULL);
        sandbox_result_init(&res);
        status = run_supervised(&sup, opts, &c->profile->prof, c->t_accept, &adm, &rc, &res);
        send_result(ctl, opts, &res, status);
        /* Only what outlives this process is cleaned: the network wall's
         * host rules and the BPF links. */
        supervisor_net_done(&sup.net);
        supervisor_shape_done(&sup.shape);
        _exit(0);
}

int worker_spawn(Conn *c) {
        Daemon *d = c->d;
        int sv[2], pidfd, r;
        pid_t pid;

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
                worker_main(d, c, sv[1]);
        }
        (void) close(sv[1]);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
                r = -errno;
                (void) kill(pid, SIGKILL);
                (void) close(sv[0]);
                return r;
        }
        (void) fcntl(sv[0], F_SETFL, O_NONBLOCK);
        c->worker = pid;
        c->worker_pidfd = pidfd;
        c->ctl_fd = sv[0];
        c->ctl_rd = PROTO_READER_NULL;
        /* The worker owns the stdio and the bind sources now. */
        for (int i = 0; i < 3; i++)
                c->stdio[i] = safe_close(c->stdio[i]);
        run_options_done(&c->opts);
        run_request_meta_done(&c->meta);
        c->have_request = false;
        if ((r = daemon_watch(d, c->ctl_fd, c, WATCH_CTL)) < 0 || (r = daemon_watch(d, pidfd, c, WATCH_PIDFD)) < 0)
                return r;
        return 0;
}
