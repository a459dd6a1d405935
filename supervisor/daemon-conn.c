/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One client connection through its life: the request arrives (bounded in
 * size and time), is admitted, queued or refused, runs in a worker, and
 * is answered. Whatever the client does (garbage, a huge length, half a
 * request, vanishing mid-run), the connection ends cleanly, the decision
 * is on record, and no other connection notices. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "daemon.h"
#include "exit-status.h"

static void conn_link(Daemon *d, Conn *c) {
        c->next = d->conns;
        if (d->conns)
                d->conns->prev = c;
        d->conns = c;
        d->n_conns++;
}

void conn_free(Conn *c) {
        Daemon *d = c->d;

        if (c->prev)
                c->prev->next = c->next;
        else if (d->conns == c)
                d->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        d->n_conns--;
        if (c->fd >= 0)
                daemon_unwatch(d, c->fd);
        if (c->ctl_fd >= 0)
                daemon_unwatch(d, c->ctl_fd);
        if (c->worker_pidfd >= 0)
                daemon_unwatch(d, c->worker_pidfd);
        c->fd = safe_close(c->fd);
        c->ctl_fd = safe_close(c->ctl_fd);
        c->worker_pidfd = safe_close(c->worker_pidfd);
        for (size_t i = 0; i < c->n_raw_fds; i++)
                c->raw_fds[i] = safe_close(c->raw_fds[i]);
        json_object_put(c->req);
        proto_reader_done(&c->rd);
        proto_reader_done(&c->ctl_rd);
        free(c->groups);
        if (c->have_request) {
                run_options_done(&c->opts);
                run_request_meta_done(&c->meta);
        }
        free(c);
        if (d->accept_paused && d->listen_fd >= 0 && daemon_watch(d, d->listen_fd, NULL, WATCH_LISTEN) >= 0)
                d->accept_paused = false;
}

/* Sized by the kernel: a caller may be in up to NGROUPS_MAX groups. */
static int peer_groups(int fd, gid_t **ret, size_t *ret_n) {
        socklen_t len = 64 * sizeof(gid_t);

        for (int attempt = 0; attempt < 3; attempt++) {
                gid_t *g = malloc(len ? len : sizeof(gid_t));
                socklen_t got = len;
                if (!g)
                        return -ENOMEM;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &got) >= 0) {
                        *ret = g;
                        *ret_n = got / sizeof(gid_t);
                        return 0;
                }
                free(g);
                if (errno != ERANGE)
                        return -errno;
                len = got; /* the size needed */
        }
        return -ERANGE;
}

void conn_accept(Daemon *d) {
        for (;;) {
                struct ucred cred;
                socklen_t len = sizeof cred;
                Conn *c;
                int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

                if (fd < 0) {
                        if (errno == EMFILE || errno == ENFILE) {
                                /* The pending connection would wake the loop
                                 * forever: stop listening until one closes. */
                                log_warning_errno(-errno, "accept: %m; pausing until a connection closes");
                                daemon_unwatch(d, d->listen_fd);
                                d->accept_paused = true;
                        } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                log_warning_errno(-errno, "accept: %m");
                        return;
                }
                if (d->n_conns >= DAEMON_MAX_CONNS) {
                        /* Each connection may hold a frame of up to 4 MiB
                         * while it arrives: their number is bounded. */
                        log_warning("%u connections open: refusing a new one", d->n_conns);
                        (void) close(fd);
                        continue;
                }
                c = calloc(1, sizeof *c);
                if (!c || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                        free(c);
                        (void) close(fd);
                        continue;
                }
                *c = (Conn) { .d = d, .fd = fd, .ctl_fd = -EBADF, .worker_pidfd = -EBADF,
                              .rd = PROTO_READER_NULL,
                              .ctl_rd = PROTO_READER_NULL, .uid = cred.uid, .gid = cred.gid, .pid = cred.pid,
                              .t_accept = daemon_now_ms() };
                /* Identity comes from the kernel, never from the request. */
                if (peer_groups(fd, &c->groups, &c->n_groups) < 0) {
                        log_warning("cannot read the groups of caller uid %u: refused", (unsigned) cred.uid);
                        free(c);
                        (void) close(fd);
                        continue;
                }
                c->deadline_ms = c->t_accept + (double) d->policy->config.request_timeout_usec / 1000.0;
                conn_link(d, c);
                if (daemon_watch(d, fd, c, WATCH_CONN) < 0)
                        conn_free(c);
        }
}

static int send_msg(Conn *c, json_object *m) {
        int r;
        if (!m)
                return -ENOMEM;
        r = c->client_gone ? -EPIPE : proto_send(c->fd, m, NULL, 0);
        json_object_put(m);
        return r;
}

static json_object *caller_json(const Conn *c) {
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        (void) json_object_object_add(o, "uid", json_object_new_int64(c->uid));
        (void) json_object_object_add(o, "gid", json_object_new_int64(c->gid));
        (void) json_object_object_add(o, "pid", json_object_new_int64(c->pid));
        return o;
}

/* A refusal: to the client (when it still listens), and on record. */
static void refuse_status(Conn *c, AdmissionStep step, const char *step_name, const char *reason, int status);

static void refuse(Conn *c, AdmissionStep step, const char *step_name, const char *reason) {
        refuse_status(c, step, step_name, reason, EXIT_REFUSED);
}

static void refuse_status(Conn *c, AdmissionStep step, const char *step_name, const char *reason, int status) {
        const char *rid = c->have_request ? c->opts.spec.request_id : NULL;
        json_object *rec = json_object_new_object(), *m = proto_message("refused");

        if (m) {
                (void) json_object_object_add(m, "reason", json_object_new_string(reason));
                (void) json_object_object_add(m, "step", json_object_new_string(step_name));
                (void) json_object_object_add(m, "status", json_object_new_int(status));
                (void) send_msg(c, m);
        }
        if (rec) {
                (void) json_object_object_add(rec, "decision", json_object_new_string("deny"));
                (void) json_object_object_add(rec, "reason", json_object_new_string(reason));
                (void) json_object_object_add(rec, "step", json_object_new_string(step_name));
                (void) json_object_object_add(rec, "tenant", c->tenant[0] ? json_object_new_string(c->tenant) : NULL);
                (void) json_object_object_add(rec, "caller", caller_json(c));
                (void) json_object_object_add(rec, "via", json_object_new_string("stockaded"));
                if (step < _ADM_STEP_MAX || c->adm.steps[ADM_TENANT].done) {
                        (void) json_object_object_add(rec, "steps", admission_steps_to_json(&c->adm));
                        (void) json_object_object_add(rec, "policy_ms", json_object_new_double(c->adm.policy_ms));
                }
                if (c->have_request) {
                        (void) json_object_object_add(rec, "profile",
                                                      json_object_new_string(c->opts.profile ? c->opts.profile : "default"));
                        (void) json_object_object_add(rec, "attempt", json_object_new_int64(c->opts.attempt));
                }
                daemon_journal(c->d, "admission", rid, rec);
        }
        json_object_put(rec);
        c->answered = true;
        log_info("refused request %s of uid %u (pid %d): %s", rid ? rid : "(none)", (unsigned) c->uid, (int) c->pid,
                 reason);
}

static void start_worker(Conn *c) {
        DaemonTenantGroup *g = daemon_group(c->d, c->tenant);
        int r;

        c->state = CONN_RUNNING;
        c->d->n_running++;
        if (g)
                g->running++;
        r = g ? worker_spawn(c) : -ENOENT;
        if (r < 0) {
                json_object *m = proto_message("error");
                char why[160];
                (void) snprintf(why, sizeof why, "stockaded cannot start a worker: %s", strerror(-r));
                if (m) {
                        (void) json_object_object_add(m, "reason", json_object_new_string(why));
                        (void) json_object_object_add(m, "status", json_object_new_int(EXIT_WRAPPER_FAILED));
                        (void) send_msg(c, m);
                }
                c->answered = true;
                log_error("%s", why);
                c->d->n_running--;
                admission_finished(&c->d->admission, c->tenant);
                daemon_groups_release(c->d, c->tenant);
                conn_free(c);
        }
}

static void admit(Conn *c) {
        Daemon *d = c->d;
        const DaemonProfile *p = daemon_policy_profile(d->policy, c->opts.profile ? c->opts.profile : "default");
        char **secrets = NULL;
        AdmissionRequest req = {
                .uid = c->uid, .gid = c->gid, .groups = c->groups, .n_groups = c->n_groups,
                .profile = c->opts.profile ? c->opts.profile : "default",
                .code_origin = c->opts.code_origin,
                .code_sha256 = c->opts.spec.origin == CODE_SCRIPT ? c->opts.spec.script_sha256 : NULL,
        };

        if (p) {
                req.task_class = c->opts.task_class ? c->opts.task_class
                                                    : profile_class_to_string(p->prof.class_);
                secrets = calloc(p->prof.n_secrets + 1, sizeof *secrets);
                for (size_t i = 0; secrets && i < p->prof.n_secrets; i++)
                        secrets[i] = p->prof.secrets[i].name;
                req.secrets = secrets;
        } else
                req.task_class = c->opts.task_class;

        if (d->stopping) {
                refuse(c, _ADM_STEP_MAX, "shutdown", "stockaded is shutting down");
                free(secrets);
                conn_free(c);
                return;
        }
        admission_decide(&d->admission, &req, daemon_now_ms(), &c->adm);
        free(secrets);
        if (c->adm.tenant)
                (void) snprintf(c->tenant, sizeof c->tenant, "%s", c->adm.tenant->name);
        c->profile = p;

        switch (c->adm.verdict) {
        case ADMIT_DENY:
                refuse(c, c->adm.refused_at, admission_step_to_string(c->adm.refused_at), c->adm.reason);
                conn_free(c);
                return;
        case ADMIT_QUEUE: {
                json_object *m = proto_message("queued");
                const Tenant *t = c->adm.tenant;
                c->state = CONN_QUEUED;
                c->t_queued_ms = daemon_now_ms();
                c->deadline_ms = c->t_queued_ms + (double) t->queue_timeout_usec / 1000.0;
                if (m) {
                        (void) json_object_object_add(m, "position",
                                                      json_object_new_int((int) admission_queued(&d->admission, c->tenant)));
                        (void) send_msg(c, m);
                }
                return;
        }
        case ADMIT_RUN:
        default:
                start_worker(c);
                return;
        }
}

/* Starts queued requests, oldest first, while their tenants have room. */
void conn_dispatch_queues(Daemon *d) {
        Conn *oldest;
        double pass = daemon_now_ms();

        /* A tenant whose rate window is full is skipped for this pass
         * (its requests wait for their deadline or the next dispatch);
         * the other tenants' queues still move. */
        for (Conn *c = d->conns; c; c = c->next)
                c->dispatch_skip = false;
        do {
                oldest = NULL;
                for (Conn *c = d->conns; c; c = c->next)
                        if (c->state == CONN_QUEUED && !c->dispatch_skip &&
                            (!oldest || c->t_queued_ms < oldest->t_queued_ms) &&
                            admission_running(&d->admission, c->tenant) <
                                    (c->adm.tenant ? c->adm.tenant->max_concurrent : 0))
                                oldest = c;
                if (!oldest)
                        break;
                if (admission_try_dequeue(&d->admission, oldest->tenant, pass))
                        start_worker(oldest);
                else
                        for (Conn *c = d->conns; c; c = c->next)
                                if (streq(c->tenant, oldest->tenant))
                                        c->dispatch_skip = true;
        } while (oldest);
}

/* A read-write bind lets the task change the source as the tenant's uid;
 * the client opened it read-only, which proves only read access. So the
 * caller must own what it binds read-write (root may bind anything). */
static int check_rw_sources(const Conn *c, char *err, size_t errlen) {
        struct stat st;

        if (c->uid == 0)
                return 0;
        for (size_t i = 0; i < c->opts.n_binds; i++) {
                const BindSpec *b = &c->opts.binds[i];
                if (b->mode != BIND_RW)
                        continue;
                if (stat(b->source, &st) < 0 || st.st_uid != c->uid) {
                        (void) snprintf(err, errlen, "--bind ...:%s:rw: the caller (uid %u) does not own its source",
                                        b->dest, (unsigned) c->uid);
                        return -EPERM;
                }
        }
        if (c->opts.workdir_source && (stat(c->opts.workdir_source, &st) < 0 || st.st_uid != c->uid)) {
                (void) snprintf(err, errlen, "--workdir %s: the caller (uid %u) does not own it", c->opts.workdir,
                                (unsigned) c->uid);
                return -EPERM;
        }
        return 0;
}

static void on_request(Conn *c, json_object *msg, int *fds, size_t n_fds) {
        char err[512];
        int r;

        if (!streq_ptr(proto_type(msg), "run") || n_fds < 3) {
                for (size_t i = 0; i < n_fds; i++)
                        (void) close(fds[i]);
                refuse(c, _ADM_STEP_MAX, "protocol",
                       n_fds < 3 ? "bad request: a run request carries stdin, stdout and stderr"
                                 : "bad request: expected a run request");
                conn_free(c);
                return;
        }
        /* Kept as received for the worker, which decodes them itself. */
        for (size_t i = 0; i < n_fds; i++)
                c->raw_fds[i] = fds[i];
        c->n_raw_fds = n_fds;
        c->req = json_object_get(msg);
        r = run_request_decode(msg, fds + 3, n_fds - 3, &c->opts, &c->meta, err, sizeof err);
        if (r < 0) {
                char reason[600];
                (void) snprintf(reason, sizeof reason, "bad request: %s", err);
                refuse(c, _ADM_STEP_MAX, "protocol", reason);
                conn_free(c);
                return;
        }
        c->have_request = true;
        if (check_rw_sources(c, err, sizeof err) < 0) {
                refuse(c, _ADM_STEP_MAX, "binds", err);
                conn_free(c);
                return;
        }
        admit(c);
}

/* Returns true when c was freed. */
static bool on_client_message(Conn *c, json_object *msg) {
        json_object *v = NULL;

        /* ^C on a request still waiting withdraws it: nothing ran, and the
         * client ends as a task killed by that signal would. */
        if (c->state == CONN_QUEUED && streq_ptr(proto_type(msg), "signal") &&
            json_object_object_get_ex(msg, "signo", &v)) {
                int signo = json_object_get_int(v);
                char reason[96];
                (void) snprintf(reason, sizeof reason, "withdrawn by the client (signal %d) while queued", signo);
                admission_unqueue(&c->d->admission, c->tenant);
                refuse_status(c, ADM_QUOTA, "withdrawn", reason, signo > 0 && signo < 64 ? 128 + signo : EXIT_REFUSED);
                conn_free(c);
                return true;
        }

        if (c->state == CONN_RUNNING && streq_ptr(proto_type(msg), "signal") && c->ctl_fd >= 0 &&
            json_object_object_get_ex(msg, "signo", &v)) {
                json_object *m = proto_message("signal");
                if (m) {
                        (void) json_object_object_add(m, "signo", json_object_new_int(json_object_get_int(v)));
                        (void) proto_send(c->ctl_fd, m, NULL, 0);
                        json_object_put(m);
                }
        }
        return false;
}

static void send_cancel(Conn *c, const char *why) {
        json_object *m;

        if (c->cancel_sent || c->ctl_fd < 0)
                return;
        m = proto_message("cancel");
        if (!m)
                return;
        (void) json_object_object_add(m, "why", json_object_new_string(why));
        if (proto_send(c->ctl_fd, m, NULL, 0) >= 0)
                c->cancel_sent = true;
        json_object_put(m);
}

static void client_gone(Conn *c, const char *what) {
        c->client_gone = true;
        daemon_unwatch(c->d, c->fd);
        switch (c->state) {
        case CONN_READING: {
                char reason[160];
                (void) snprintf(reason, sizeof reason, "bad request: %s", what);
                refuse(c, _ADM_STEP_MAX, "protocol", reason);
                conn_free(c);
                return;
        }
        case CONN_QUEUED:
                admission_unqueue(&c->d->admission, c->tenant);
                refuse(c, ADM_QUOTA, "client_gone", "the client disconnected while its request was queued");
                conn_free(c);
                return;
        case CONN_RUNNING:
        default:
                /* The task dies with its client; the exit record says so. */
                send_cancel(c, "client_gone");
                return;
        }
}

/* Returns true while c is alive and still waiting for (the rest of) its
 * request. */
static bool conn_read(Conn *c, unsigned events) {
        for (;;) {
                json_object *msg = NULL;
                int fds[PROTO_MAX_FDS];
                size_t n_fds = 0;
                bool mid = false, freed;
                char err[256];
                int r = proto_reader_next(&c->rd, c->fd, &msg, fds, &n_fds, &mid, err, sizeof err);

                if (r == 0)
                        break;
                if (r == -ECONNRESET || r == -EPIPE) {
                        client_gone(c, mid ? "the client sent half a request and disconnected"
                                           : "the client disconnected before sending a request");
                        return false;
                }
                if (r < 0) {
                        if (c->state == CONN_READING) {
                                char full[300];
                                (void) snprintf(full, sizeof full, "bad request: %s", err);
                                refuse(c, _ADM_STEP_MAX, "protocol", full);
                                conn_free(c);
                        } else
                                client_gone(c, err);
                        return false;
                }
                if (c->state == CONN_READING) {
                        on_request(c, msg, fds, n_fds);
                        json_object_put(msg);
                        return false; /* c may be gone */
                }
                for (size_t i = 0; i < n_fds; i++)
                        (void) close(fds[i]);
                freed = on_client_message(c, msg);
                json_object_put(msg);
                if (freed)
                        return false;
        }
        if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
                client_gone(c, "the client disconnected");
                return false;
        }
        return c->state == CONN_READING;
}

void conn_on_readable(Conn *c, unsigned events) {
        (void) conn_read(c, events);
}

/* Frames from the worker: started, result, error; forwarded as they are. */
static void drain_ctl(Conn *c) {
        for (;;) {
                json_object *msg = NULL;
                bool mid = false;
                char err[128];
                const char *t;
                int r = proto_reader_next(&c->ctl_rd, c->ctl_fd, &msg, NULL, NULL, &mid, err, sizeof err);

                if (r == 0)
                        return;
                if (r < 0) { /* the worker ended, or broke its side: its pidfd tells */
                        daemon_unwatch(c->d, c->ctl_fd);
                        c->ctl_fd = safe_close(c->ctl_fd);
                        return;
                }
                t = proto_type(msg);
                if (t && (streq(t, "result") || streq(t, "error")))
                        c->answered = true;
                if (t && !c->client_gone)
                        (void) proto_send(c->fd, msg, NULL, 0);
                json_object_put(msg);
        }
}

void conn_on_ctl(Conn *c, unsigned events) {
        (void) events;
        drain_ctl(c);
}

/* A worker that died with its task left the task's entry in the shared
 * observation map, under the daemon's owner id: dropped once its cgroup
 * is gone, or the entries would fill the map over a long life. */
static void sweep_shape(Daemon *d) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!d->shape_held || !d->sup.layout.v2_dir)
                return;
        fd = open(d->sup.layout.v2_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        r = fd < 0 ? -errno : supervisor_shape_sweep(&d->sup.shape, fd);
        if (r < 0)
                log_warning_errno(r, "cannot sweep the observation entries of a lost worker: %m");
        else if (r > 0)
                log_info("swept the observation entries of %d task(s) of a lost worker", r);
}

void conn_on_worker_exit(Conn *c) {
        Daemon *d = c->d;
        siginfo_t si = {};

        (void) waitid(P_PIDFD, (id_t) c->worker_pidfd, &si, WEXITED);
        /* Whatever the worker said before it ended is in the socket. */
        if (c->ctl_fd >= 0) {
                (void) fcntl(c->ctl_fd, F_SETFL, 0);
                drain_ctl(c);
        }
        if (!c->answered) {
                json_object *m = proto_message("error"), *rec = json_object_new_object();
                char why[160];
                (void) snprintf(why, sizeof why, "the worker of this request ended (%s %d) without a result",
                                si.si_code == CLD_EXITED ? "status" : "signal", si.si_status);
                log_error("request of uid %u: %s", (unsigned) c->uid, why);
                if (m) {
                        (void) json_object_object_add(m, "reason", json_object_new_string(why));
                        (void) json_object_object_add(m, "status", json_object_new_int(EXIT_WRAPPER_FAILED));
                        (void) send_msg(c, m);
                }
                if (rec) {
                        (void) json_object_object_add(rec, "event", json_object_new_string("worker_lost"));
                        (void) json_object_object_add(rec, "reason", json_object_new_string(why));
                        (void) json_object_object_add(rec, "tenant", json_object_new_string(c->tenant));
                        daemon_journal(d, "supervisor", NULL, rec);
                        json_object_put(rec);
                }
                /* Its task groups are named after it: swept now it is gone. */
                DaemonTenantGroup *g = daemon_group(d, c->tenant);
                if (g)
                        cgroup_sweep_stale(&g->layout);
                sweep_shape(d);
        }
        d->n_running--;
        admission_finished(&d->admission, c->tenant);
        daemon_groups_release(d, c->tenant);
        conn_free(c);
        conn_dispatch_queues(d);
}

void conn_check_deadlines(Daemon *d, double now) {
        Conn *next;

        for (Conn *c = d->conns; c; c = next) {
                next = c->next;
                if (c->deadline_ms <= 0 || now < c->deadline_ms)
                        continue;
                if (c->state == CONN_READING) {
                        /* What the client sent in time but a busy loop has
                         * not read yet is not the client's fault: read it. */
                        if (!conn_read(c, 0))
                                continue;
                        refuse(c, _ADM_STEP_MAX, "protocol", "bad request: not complete within the request timeout");
                        conn_free(c);
                } else if (c->state == CONN_QUEUED) {
                        char reason[200];
                        admission_unqueue(&d->admission, c->tenant);
                        (void) snprintf(reason, sizeof reason,
                                        "tenant '%s': no slot within the queue timeout (%.0f ms waited)", c->tenant,
                                        now - c->t_queued_ms);
                        refuse(c, ADM_QUOTA, "quota", reason);
                        conn_free(c);
                }
        }
}

double conn_next_deadline(Daemon *d) {
        double next = 0;
        for (Conn *c = d->conns; c; c = c->next)
                if (c->state != CONN_RUNNING && c->deadline_ms > 0 && (next == 0 || c->deadline_ms < next))
                        next = c->deadline_ms;
        return next;
}

void conn_refuse_queued(Daemon *d, const char *reason) {
        Conn *next;
        for (Conn *c = d->conns; c; c = next) {
                next = c->next;
                if (c->state == CONN_RUNNING)
                        continue;
                if (c->state == CONN_QUEUED)
                        admission_unqueue(&d->admission, c->tenant);
                refuse(c, _ADM_STEP_MAX, "shutdown", reason);
                conn_free(c);
        }
}

void conn_repoint_queued(Daemon *d) {
        Conn *next;
        for (Conn *c = d->conns; c; c = next) {
                next = c->next;
                if (c->state != CONN_QUEUED)
                        continue;
                c->profile = daemon_policy_profile(d->policy, c->opts.profile ? c->opts.profile : "default");
                c->adm.tenant = daemon_config_tenant_by_name(&d->policy->config, c->tenant);
                if (c->profile && c->adm.tenant)
                        continue;
                admission_unqueue(&d->admission, c->tenant);
                refuse(c, ADM_PROFILE, "reload", "a reload removed this request's tenant or profile while it was queued");
                conn_free(c);
        }
}

void conn_kill_workers(Daemon *d) {
        for (Conn *c = d->conns; c; c = c->next)
                if (c->state == CONN_RUNNING && c->worker_pidfd >= 0)
                        (void) syscall(SYS_pidfd_send_signal, c->worker_pidfd, SIGKILL, NULL, 0);
}

void conn_cancel_running(Daemon *d, const char *why) {
        for (Conn *c = d->conns; c; c = c->next)
                if (c->state == CONN_RUNNING)
                        send_cancel(c, why);
}
