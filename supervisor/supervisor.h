/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The engine's front door: what is paid once per supervisor process
 * (host probing, the compiled seccomp program) and the lifecycle of one
 * task: launch -> observe -> result. */

#include <signal.h>

#include "cgroup.h"
#include "result.h"
#include "sandbox.h"
#include "syscall-filter.h"
#include "task-net.h"
#include "task-shape.h"

typedef struct Supervisor {
        CgroupLayout layout;
        unsigned n_tasks;
        SupervisorNet net; /* opened on the first allowlist task */
        SupervisorShape shape; /* opened on the first task with observe.shape */
} Supervisor;

/* Probes the host once. On failure
 * reterr_what names what is missing. */
int supervisor_init(Supervisor *s, const char **reterr_what);
void supervisor_done(Supervisor *s);

/* Called from the supervisor's event loop as the task's life goes on, so
 * records can be streamed rather than written at the end. Optional. */
typedef struct SandboxHooks {
        /* Before the sandbox is created; a negative return fails the run
         * (setup_error) and nothing is created. */
        int (*admit)(const SandboxSpec *spec, void *userdata);
        /* The task has exec'd: timings and walls in r are final. */
        void (*started)(const SandboxSpec *spec, const SandboxResult *r, void *userdata);
        /* A network decision of an allowlist task (egress wall or resolver). */
        void (*net)(const SandboxSpec *spec, const NetEvent *ev, void *userdata);
        /* A process or file event of a task with observe.shape. */
        ProcEventFn proc;
        /* An fd the observe loop also watches (a daemon's line to the
         * client side), or -1; with the hooks zero-initialised, set it to
         * -1 explicitly or leave control NULL. When it is readable,
         * control() returns a signal to relay to the task, 0 for nothing,
         * -ECONNRESET when the client is gone or -ESHUTDOWN when the daemon
         * is shutting down: the sandbox is killed and the cause says which. */
        int control_fd;
        int (*control)(int fd, void *userdata);
        void *userdata;
} SandboxHooks;

/* Runs one task to completion and fills ret (always, also on setup
 * errors). t_start_ms (CLOCK_MONOTONIC) is when the request arrived, for
 * startup_ms; pass 0 to count from this call. Returns 0, or -errno when the
 * supervisor itself failed (ret then describes a setup_error). */
int sandbox_run(Supervisor *s, const SandboxSpec *spec, double t_start_ms, const SandboxHooks *hooks,
                SandboxResult *ret);

/* Blocks the signals a supervisor relays to its task (INT, TERM, HUP,
 * QUIT, USR1, USR2, WINCH). A caller that blocks them early keeps a signal
 * sent before the task exists pending, and sandbox_run() relays it. */
int sandbox_block_relayed_signals(sigset_t *ret_old);

double monotonic_ms(void);
