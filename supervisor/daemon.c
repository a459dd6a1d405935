/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stockaded's loop: the socket, signals (SIGTERM stops, SIGHUP reloads),
 * readiness for systemd, the daemon's own records, and the order of a
 * clean shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "daemon.h"

/* After the grace period's kill, how long workers get to report. */
#define FORCE_AFTER_MS 5000.0
/* The daemon's own records reach the disk within this (journal_fsync batch). */
#define JOURNAL_BATCH_MS 1000.0

double daemon_now_ms(void) {
        return monotonic_ms();
}

/* epoll data: a pointer with its tag in the low bits (Conn is aligned). */
int daemon_watch(Daemon *d, int fd, void *ptr, unsigned tag) {
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t) (uintptr_t) ptr | tag };
        if (tag == WATCH_CONN)
                ev.events |= EPOLLRDHUP;
        return epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void daemon_unwatch(Daemon *d, int fd) {
        if (fd >= 0 && d->epoll_fd >= 0)
                (void) epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
}

void daemon_journal(Daemon *d, const char *type, const char *request_id, json_object *fields) {
        int r;

        if (!d->journal)
                return;
        /* Written before the caller hears anything; made durable within
         * the batch interval by the loop (daemon_journal_tick), so a flood
         * of bad clients does not cost an fsync each. */
        r = journal_append(d->journal, type, request_id, fields, NULL);
        if (r >= 0 && d->policy->config.journal_fsync == JOURNAL_FSYNC_BATCH && d->journal_dirty_ms == 0)
                d->journal_dirty_ms = daemon_now_ms();
        if (r < 0)
                log_error_errno(r, "cannot append a %s record to the journal: %m", type);
}

/* The batch fsync of the daemon's own records. */
static void journal_tick(Daemon *d, double now, bool force) {
        int r;

        if (d->journal_dirty_ms == 0 || (!force && now - d->journal_dirty_ms < JOURNAL_BATCH_MS))
                return;
        d->journal_dirty_ms = 0;
        r = journal_flush(d->journal);
        if (r < 0)
                log_error_errno(r, "cannot flush the journal: %m");
}

static void supervisor_record(Daemon *d, const char *event, const char *reason) {
        json_object *rec = json_object_new_object();

        if (!rec)
                return;
        (void) json_object_object_add(rec, "event", json_object_new_string(event));
        (void) json_object_object_add(rec, "daemon", json_object_new_string("stockaded"));
        (void) json_object_object_add(rec, "pid", json_object_new_int64(getpid()));
        (void) json_object_object_add(rec, "config", json_object_new_string(d->config_path));
        (void) json_object_object_add(rec, "config_sha256", json_object_new_string(d->policy->config.sha256));
        if (reason)
                (void) json_object_object_add(rec, "reason", json_object_new_string(reason));
        daemon_journal(d, "supervisor", NULL, rec);
        json_object_put(rec);
}

/* sd_notify(3)'s protocol: one datagram to $NOTIFY_SOCKET. */
static void notify(const char *state) {
        const char *path = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t len;
        int fd;

        if (!path || (path[0] != '/' && path[0] != '@') || (len = strlen(path)) >= sizeof sa.sun_path)
                return;
        memcpy(sa.sun_path, path, len);
        if (sa.sun_path[0] == '@')
                sa.sun_path[0] = 0;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return;
        (void) sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *) &sa,
                      (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len));
        (void) close(fd);
}

static int open_socket(Daemon *d) {
        const DaemonConfig *c = &d->policy->config;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_free_ char *dir = strdup(c->socket_path);
        gid_t gid = 0;
        int fd, r;

        if (!dir)
                return -ENOMEM;
        if (strlen(c->socket_path) >= sizeof sa.sun_path)
                return log_error_errno(-ENAMETOOLONG, "socket path '%s' is too long", c->socket_path);
        if (c->socket_group) {
                struct group *g = getgrnam(c->socket_group);
                if (!g)
                        return log_error_errno(-ENOENT, "socket_group '%s' does not exist", c->socket_group);
                gid = g->gr_gid;
        }
        if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "cannot create the socket's directory: %m");
        strcpy(sa.sun_path, c->socket_path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* A socket file that refuses connections is a dead daemon's. */
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) >= 0) {
                (void) close(fd);
                return log_error_errno(-EADDRINUSE, "another stockaded listens on %s", c->socket_path);
        }
        if (errno == ECONNREFUSED)
                (void) unlink(c->socket_path);
        (void) close(fd);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* Created with no access at all, opened up only once owned right. */
        mode_t old = umask(0777);
        r = bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ? -errno : 0;
        (void) umask(old);
        if (r >= 0 && (chown(c->socket_path, 0, gid) < 0 || chmod(c->socket_path, c->socket_group ? 0660 : 0600) < 0))
                r = -errno;
        if (r >= 0 && listen(fd, SOMAXCONN) < 0)
                r = -errno;
        if (r < 0) {
                (void) close(fd);
                (void) unlink(c->socket_path);
                return log_error_errno(r, "cannot listen on %s: %m", c->socket_path);
        }
        d->socket_path = strdup(c->socket_path);
        d->listen_fd = fd;
        return 0;
}

static int open_journal_of(Daemon *d) {
        const DaemonConfig *c = &d->policy->config;
        JournalOptions jo = { .fsync = c->journal_fsync, .batch_interval_usec = 1000000,
                              .segment_max_bytes = 64ULL << 20, .set_append_flag = true };
        bool recovered = false;
        int r = journal_open(c->journal_dir, &jo, &d->journal, &recovered);

        if (r < 0)
                return log_error_errno(r, "cannot open the journal '%s': %m", c->journal_dir);
        if (recovered)
                log_warning("journal '%s': a torn last record was found and sealed", c->journal_dir);
        return 0;
}

/* The observation programs, linked once for the daemon's life as soon as
 * a profile it serves records shapes: its workers' tasks then pay only
 * their map entry, not four links made and removed per task (bpf-shape.h).
 * Spares forked afterwards share the links and make rings of their own. */
static void hold_shape(Daemon *d) {
        bool wanted = false;
        int r;

        if (d->shape_held)
                return;
        for (size_t i = 0; i < d->policy->n_profiles && !wanted; i++)
                wanted = d->policy->profiles[i].prof.observe.shape;
        if (!wanted)
                return;
        r = supervisor_shape_hold(&d->sup.shape);
        if (r < 0) {
                /* Each worker then tries on its own, per task. */
                log_warning_errno(r, "cannot keep the observation programs linked: %m");
                return;
        }
        d->shape_held = true;
}

static void reload(Daemon *d) {
        DaemonPolicy *p = NULL, *old = d->policy;
        char err[768] = "";
        int r;

        notify("RELOADING=1");
        r = daemon_policy_load(d->config_path, &p, err, sizeof err);
        if (r >= 0 && (!streq(p->config.socket_path, old->config.socket_path) ||
                       !streq(p->config.journal_dir, old->config.journal_dir) ||
                       !streq(p->config.socket_group ? p->config.socket_group : "",
                              old->config.socket_group ? old->config.socket_group : ""))) {
                (void) snprintf(err, sizeof err, "socket, socket_group and journal cannot change on reload; "
                                                 "restart stockaded");
                r = -EINVAL;
        }
        if (r >= 0) {
                d->policy = p;
                r = daemon_groups_sync(d, err, sizeof err);
                if (r >= 0)
                        r = admission_reload(&d->admission, &p->config);
                if (r < 0) {
                        /* Back to the old policy; subtrees made for it stay valid. */
                        d->policy = old;
                        (void) daemon_groups_sync(d, NULL, 0);
                        (void) admission_reload(&d->admission, &old->config);
                        daemon_policy_free(p);
                        p = NULL;
                        if (!err[0])
                                (void) snprintf(err, sizeof err, "%s", strerror(-r));
                }
        }
        if (r < 0) {
                log_error("reload refused, the running configuration stays: %s", err);
                supervisor_record(d, "reload_refused", err);
        } else {
                /* Queued requests point into the old policy: repointed, or
                 * refused when the reload took their tenant or profile
                 * away. Running ones live in their workers' copies. */
                conn_repoint_queued(d);
                spare_drop(d); /* it holds a copy of the old policy */
                daemon_policy_free(old);
                hold_shape(d);
                log_info("configuration reloaded from %s", d->config_path);
                supervisor_record(d, "reload", NULL);
        }
        notify("READY=1");
}

static void begin_stop(Daemon *d) {
        if (d->stopping)
                return;
        d->stopping = true;
        d->stop_deadline_ms = daemon_now_ms() + (double) d->policy->config.grace_usec / 1000.0;
        notify("STOPPING=1");
        log_info("stopping: %u tasks running get %.1f s to finish", d->n_running,
                 (double) d->policy->config.grace_usec / 1e6);
        /* No new callers; the path goes first so clients fail fast. */
        if (d->socket_path)
                (void) unlink(d->socket_path);
        spare_drop(d);
        daemon_unwatch(d, d->listen_fd);
        d->listen_fd = safe_close(d->listen_fd);
        conn_refuse_queued(d, "stockaded is shutting down");
}

static void on_signal(Daemon *d) {
        struct signalfd_siginfo si;

        while (read(d->signal_fd, &si, sizeof si) == (ssize_t) sizeof si) {
                if (si.ssi_signo == SIGHUP && !d->stopping)
                        reload(d);
                else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
                        begin_stop(d);
        }
}

static int loop(Daemon *d) {
        for (;;) {
                /* One event a turn: a handler may free any connection
                 * (a queue dispatch starts or refuses others), so nothing
                 * of a batch could be trusted after it; epoll is
                 * level-triggered, nothing waiting is lost. */
                struct epoll_event evs[1];
                double now = daemon_now_ms(), next = conn_next_deadline(d);
                int timeout = -1, n;

                if (d->stopping && !d->stop_forced) {
                        double at = d->stop_deadline_ms + (d->stop_killed ? FORCE_AFTER_MS : 0);
                        next = next > 0 && next < at ? next : at;
                }
                if (d->stopping && d->n_conns == 0)
                        return 0;
                if (d->journal_dirty_ms > 0) {
                        double at = d->journal_dirty_ms + JOURNAL_BATCH_MS;
                        next = next > 0 && next < at ? next : at;
                }
                if (next > 0)
                        timeout = next <= now ? 0 : (int) (next - now) + 1;
                /* Nothing waiting: time to fork the next spare, off the
                 * path of any request. */
                if (d->spare_ctl < 0 && !d->stopping) {
                        n = epoll_wait(d->epoll_fd, evs, ELEMENTSOF(evs), 0);
                        if (n == 0 && (n = spare_spawn(d)) < 0)
                                log_warning_errno(n, "cannot fork a spare worker: %m");
                        if (n <= 0)
                                n = epoll_wait(d->epoll_fd, evs, ELEMENTSOF(evs), timeout);
                } else
                        n = epoll_wait(d->epoll_fd, evs, ELEMENTSOF(evs), timeout);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (int i = 0; i < n; i++) {
                        uint64_t u = evs[i].data.u64;
                        unsigned tag = (unsigned) (u & 7);
                        Conn *c = (Conn *) (uintptr_t) (u & ~(uint64_t) 7);

                        switch (tag) {
                        case WATCH_LISTEN:
                                if (!d->stopping)
                                        conn_accept(d);
                                break;
                        case WATCH_SIGNAL:
                                on_signal(d);
                                break;
                        case WATCH_CONN:
                                conn_on_readable(c, evs[i].events);
                                break;
                        case WATCH_CTL:
                                conn_on_ctl(c, evs[i].events);
                                break;
                        case WATCH_PIDFD:
                                conn_on_worker_exit(c);
                                break;
                        default:
                                break;
                        }
                }
                now = daemon_now_ms();
                journal_tick(d, now, false);
                conn_check_deadlines(d, now);
                if (d->stopping && !d->stop_killed && now >= d->stop_deadline_ms) {
                        d->stop_killed = true;
                        log_warning("grace period over: killing %u tasks", d->n_running);
                        conn_cancel_running(d, "shutdown");
                } else if (d->stopping && d->stop_killed && !d->stop_forced &&
                           now >= d->stop_deadline_ms + FORCE_AFTER_MS) {
                        /* A worker that did not end its task when told to is
                         * killed; its task dies with it (parent-death signal)
                         * and its groups are swept when its pidfd reports. */
                        d->stop_forced = true;
                        log_warning("%u workers still running after the kill: SIGKILL", d->n_running);
                        conn_kill_workers(d);
                }
        }
}

int daemon_run(const char *config_path) {
        Daemon d = { .config_path = config_path, .epoll_fd = -EBADF, .listen_fd = -EBADF, .signal_fd = -EBADF,
                     .spare_pidfd = -EBADF, .spare_ctl = -EBADF };
        const char *what = NULL;
        char err[768];
        sigset_t mask;
        int r;

        (void) signal(SIGPIPE, SIG_IGN);
        /* Descriptors 0-2 exist, so a received fd never lands on them. */
        for (int fd = 0; fd < 3; fd++)
                if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
                        return log_error_errno(-EBADF, "cannot open /dev/null");

        r = daemon_policy_load(config_path, &d.policy, err, sizeof err);
        if (r < 0) {
                log_error("%s", err);
                return r;
        }
        r = supervisor_init(&d.sup, &what);
        if (r < 0) {
                log_error_errno(r, "cannot prepare the supervisor (%s): %m; see 'stockade doctor'", what);
                goto out;
        }
        r = open_journal_of(&d);
        if (r < 0)
                goto out;
        r = daemon_groups_sync(&d, err, sizeof err);
        if (r < 0) {
                log_error("%s", err);
                goto out;
        }
        r = admission_init(&d.admission, &d.policy->config);
        if (r < 0)
                goto out;
        hold_shape(&d);

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        d.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        d.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (d.signal_fd < 0 || d.epoll_fd < 0) {
                r = -errno;
                goto out;
        }
        r = open_socket(&d);
        if (r < 0)
                goto out;
        if ((r = daemon_watch(&d, d.listen_fd, NULL, WATCH_LISTEN)) < 0 ||
            (r = daemon_watch(&d, d.signal_fd, NULL, WATCH_SIGNAL)) < 0)
                goto out;

        supervisor_record(&d, "start", NULL);
        journal_tick(&d, daemon_now_ms(), true);
        log_info("listening on %s (%zu tenants)", d.socket_path, d.policy->config.n_tenants);
        notify("READY=1");
        r = loop(&d);
        supervisor_record(&d, "stop", r < 0 ? strerror(-r) : NULL);
        journal_tick(&d, daemon_now_ms(), true);
out:
        spare_drop(&d);
        while (d.conns)
                conn_free(d.conns);
        if (d.socket_path && d.listen_fd >= 0)
                (void) unlink(d.socket_path);
        free(d.socket_path);
        safe_close(d.listen_fd);
        safe_close(d.signal_fd);
        safe_close(d.epoll_fd);
        admission_done(&d.admission);
        daemon_groups_done(&d);
        supervisor_done(&d.sup);
        if (d.journal)
                (void) journal_close(d.journal);
        daemon_policy_free(d.policy);
        return r < 0 ? r : 0;
}
