/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The egress programs are pinned in bpffs and reused across supervisors
 * (supervisor/bpf-egress.c): the benches measure that steady state, with a
 * bpffs of their own in a mount namespace of their own, so nothing they pin
 * outlives them. Children inherit both. */

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>

static inline int private_bpffs(void) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") < 0)
                return -errno;
        return setenv("STOCKADE_BPF_DIR", "/sys/fs/bpf/stockade", 1) < 0 ? -errno : 0;
}
