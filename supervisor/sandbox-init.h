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
        bool wait_net;      /* allowlist mode: /etc/resolv.conf from SYNC_NET_READY, no exec before it */
} InitContext;

/* Runs as pid 1 of the sandbox's pid namespace, right after clone: builds
 * the walls, forks and execs the task, reaps orphans, forwards signals and
 * reports the task's status to the supervisor. Never returns; never logs
 * (errors travel over sync_fd). */
_noreturn_ void sandbox_init_main(const InitContext *ctx);
