/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>

#include "sandbox.h"

/* Host paths the child shows, as detached mount trees (open_tree clones)
 * made by the parent before clone: symlinks resolve on the host side, the
 * mode (ro, nosuid, nodev) is set on the tree, and nothing can be swapped
 * between the check and the mount. */
typedef struct FsviewSources {
        int *bind_fds;   /* one per spec->binds[i] */
        int workdir_fd;
} FsviewSources;

#define FSVIEW_SOURCES_NULL ((FsviewSources) { .workdir_fd = -EBADF })

/* Parent side: opens every source; reterr_path names the one that failed. */
int fsview_sources_open(const SandboxSpec *spec, FsviewSources *ret, const char **reterr_path);
void fsview_sources_done(FsviewSources *s, size_t n_binds);

/* Child side, in fresh mount and pid namespaces, as root: builds the root
 * described in stockade(1) and pivots into it. With ret_resolv_fd, an empty
 * file is shown read-only as /etc/resolv.conf and *ret_resolv_fd is a
 * writable descriptor of it, for init to fill. reterr_what names the step. */
int fsview_build(const SandboxSpec *spec, const FsviewSources *src, int *ret_resolv_fd, const char **reterr_what);
