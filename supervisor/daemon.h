/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* stockaded (stockaded(8)): one epoll loop that accepts requests on a Unix
 * socket, identifies callers by SO_PEERCRED, admits, queues or refuses
 * each by tenant policy, and runs each admitted task in a worker: a child
 * forked from the daemon that owns one sandbox_run() on a copy of the
 * supervisor state. A worker's failure is one request's failure; the loop
 * keeps the pidfds, the client connections, the workers' control lines,
 * the queue deadlines and the signals.
 *
 *   daemon-policy.c  the config with its loaded profiles and tenant cgroups
 *   daemon-conn.c    one client connection: read, admit, queue, answer
 *   daemon-worker.c  fork and the worker's side
 *   daemon.c         the loop, the socket, signals, shutdown, records */

#include <stdbool.h>
#include <sys/types.h>

#include "admission.h"
#include "daemon-config.h"
#include "daemon-proto.h"
#include "journal.h"
#include "profile.h"
#include "run-options.h"
#include "run-request.h"
#include "supervisor.h"
#include "syscall-filter.h"

struct json_object;

/* A profile a tenant may use: loaded and compiled once per config load. */
typedef struct DaemonProfile {
        char *name; /* as tenants list it */
        Profile prof;
        SyscallFilter filter;
} DaemonProfile;

/* A tenant's cgroup subtree; kept across reloads by name, removed when
 * the tenant is gone from the config and its last task has ended. */
typedef struct DaemonTenantGroup {
        char *tenant;
        CgroupLayout layout;
        unsigned running;
        bool gone;
} DaemonTenantGroup;

/* What SIGHUP replaces as a whole, or not at all. */
typedef struct DaemonPolicy {
        DaemonConfig config;
        DaemonProfile *profiles;
        size_t n_profiles;
} DaemonPolicy;

typedef enum ConnState {
        CONN_READING, /* the request is arriving */
        CONN_QUEUED,  /* admitted to the queue, waiting for a slot */
        CONN_RUNNING, /* a worker runs the task */
} ConnState;

typedef struct Daemon Daemon;

/* Connections open at once (reading, queued or running); beyond, new ones
 * are closed at once. */
#define DAEMON_MAX_CONNS 1024u

typedef struct Conn {
        Daemon *d;
        struct Conn *next, *prev;        /* all connections */
        struct Conn *qnext;              /* the tenant's queue, FIFO */
        ConnState state;
        int fd;
        ProtoReader rd;
        bool client_gone;                /* the client closed its end */
        double t_accept, deadline_ms;    /* reading or queue deadline */

        uid_t uid;
        gid_t gid;
        pid_t pid;
        gid_t *groups;                   /* supplementary, from SO_PEERGROUPS */
        size_t n_groups;

        /* The decoded request, held from admission until a worker takes it. */
        RunOptions opts;
        RunRequestMeta meta;
        bool have_request;
        struct json_object *req;         /* the client's run message, for the worker */
        int raw_fds[PROTO_MAX_FDS];      /* as received: stdin, stdout, stderr, bind sources */
        size_t n_raw_fds;
        const DaemonProfile *profile;    /* of the policy current at admission */
        AdmissionDecision adm;
        char tenant[65];
        double t_queued_ms;

        /* The worker. */
        pid_t worker;
        int worker_pidfd;
        int ctl_fd;                      /* proto frames both ways */
        ProtoReader ctl_rd;
        bool answered;                   /* a result, refusal or error went to the client */
        bool dispatch_skip;              /* conn_dispatch_queues(): its tenant's rate is full */
        bool cancel_sent;
} Conn;

struct Daemon {
        const char *config_path;
        DaemonPolicy *policy;            /* current */
        Admission admission;
        Supervisor sup;                  /* host probing, once */
        bool shape_held;                 /* sup.shape keeps the observation programs linked */
        DaemonTenantGroup *groups;
        size_t n_groups;
        Journal *journal;                /* the daemon's own records: life cycle, refusals */
        double journal_dirty_ms;         /* when the first record not yet fsync'ed was written; 0: none */

        int epoll_fd;
        int listen_fd;
        int signal_fd;
        char *socket_path;               /* bound by us: unlinked at exit */

        /* The spare worker: forked ahead of the next request, waiting on
         * spare_ctl for its task (daemon-worker.c). */
        pid_t spare_pid;
        int spare_pidfd;
        int spare_ctl;

        Conn *conns;
        unsigned n_conns, n_running;
        bool accept_paused;              /* out of fds: the listener is unwatched */
        bool stopping;
        double stop_deadline_ms;         /* when the grace period ends */
        bool stop_killed;                /* the running tasks were cancelled */
        bool stop_forced;                /* ... and workers that outlived that were SIGKILLed */
};

/* daemon.c */
int daemon_run(const char *config_path);
void daemon_journal(Daemon *d, const char *type, const char *request_id, struct json_object *fields);
double daemon_now_ms(void);
int daemon_watch(Daemon *d, int fd, void *ptr, unsigned tag);
void daemon_unwatch(Daemon *d, int fd);
enum { WATCH_LISTEN = 1, WATCH_SIGNAL, WATCH_CONN, WATCH_CTL, WATCH_PIDFD };

/* daemon-policy.c */
int daemon_policy_load(const char *path, DaemonPolicy **ret, char *err, size_t errlen);
void daemon_policy_free(DaemonPolicy *p);
const DaemonProfile *daemon_policy_profile(const DaemonPolicy *p, const char *name);
/* Creates or updates the subtree of every tenant of the policy; marks the
 * others gone (removed once idle). */
int daemon_groups_sync(Daemon *d, char *err, size_t errlen);
DaemonTenantGroup *daemon_group(Daemon *d, const char *tenant);
void daemon_groups_release(Daemon *d, const char *tenant); /* a task ended */
void daemon_groups_done(Daemon *d);

/* daemon-conn.c */
void conn_accept(Daemon *d);
void conn_on_readable(Conn *c, unsigned events);
void conn_on_ctl(Conn *c, unsigned events);
void conn_on_worker_exit(Conn *c);
void conn_check_deadlines(Daemon *d, double now);
double conn_next_deadline(Daemon *d);
void conn_refuse_queued(Daemon *d, const char *reason);
void conn_repoint_queued(Daemon *d); /* after a reload */
void conn_cancel_running(Daemon *d, const char *why);
void conn_kill_workers(Daemon *d);
void conn_free(Conn *c);
void conn_dispatch_queues(Daemon *d);

/* daemon-worker.c */
int worker_spawn(Conn *c);   /* hands c's task to the spare (forking one if there is none) */
int spare_spawn(Daemon *d);  /* forks the spare when there is none */
void spare_drop(Daemon *d);  /* ends the spare (a reload: its policy is old) */
