/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "basic/macro.h"
#include "fsview.h"
#include "sandbox.h"
#include "syscall-filter.h"

typedef struct InitContext {
        const SandboxSpec *spec;
        const FsviewSources *sources;
        int sync_fd;
        int out_fd, err_fd; /* write ends of the output pipes, or -EBADF: stdio as inherited */
        bool wait_ready;    /* no exec before SYNC_READY (the network wall) */
        bool resolv_conf;   /* allowlist mode: /etc/resolv.conf comes with SYNC_READY */
} InitContext;

/* Runs as pid 1 of the sandbox's pid namespace, right after clone: builds
 * the walls, forks and execs the task, reaps orphans, forwards signals and
 * reports the task's status to the supervisor. Never returns; never logs
 * (errors travel over sync_fd). */
_noreturn_ void sandbox_init_main(const InitContext *ctx);
