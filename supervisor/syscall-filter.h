/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

struct sock_filter;

/* A compiled seccomp program: built once per supervisor with libseccomp,
 * installed per task with one prctl() in the child. */
typedef struct SyscallFilter {
        struct sock_filter *insns;
        size_t n_insns;
} SyscallFilter;

/* The built-in policy of stockade(1), "THE SANDBOX". */
int syscall_filter_compile_default(SyscallFilter *ret);
void syscall_filter_done(SyscallFilter *f);

/* Child side, after PR_SET_NO_NEW_PRIVS. Returns 0 or -errno. */
int syscall_filter_install(const SyscallFilter *f);
