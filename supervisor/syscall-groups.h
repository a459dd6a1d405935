/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Named sets of syscalls for profiles, in the spirit of systemd's
 * SystemCallFilter groups. Names not on the running architecture are
 * skipped when a filter is compiled. */

typedef struct SyscallGroup {
        const char *name;        /* "@mount" */
        const char *description;
        const char *const *members; /* NULL-terminated; may name other @groups */
} SyscallGroup;

const SyscallGroup *syscall_group_find(const char *name);
const SyscallGroup *syscall_group_all(size_t *ret_n);

/* A syscall name libseccomp knows on some architecture. */
bool syscall_name_known(const char *name);

/* Always allowed when a profile's default is not "allow": what ld.so, libc
 * start-up and exit need, so a strict allowlist still gets to main(). */
#define SYSCALL_GROUP_DEFAULT "@default"
