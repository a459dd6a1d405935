/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"

struct sock_filter;
struct seccomp_data;

typedef struct SeccompProgram {
        struct sock_filter *insns;
        size_t n_insns;
} SeccompProgram;

/* A profile's seccomp policy compiled with libseccomp: once per profile,
 * installed per task. Enforce mode needs up to two stacked programs:
 * libseccomp drops a conditional rule when the same syscall also has an
 * unconditional one, so "allow ioctl, but not TIOCSTI" under a deny-by-
 * default policy becomes an allowlist program plus a default-allow program
 * holding the argument rules; the kernel applies the stricter verdict.
 * Audit mode installs one program that sends every call the enforce
 * programs might deny to the supervisor (SECCOMP_RET_USER_NOTIF), which
 * runs the enforce programs on it to decide, exactly, and continues it. */
typedef struct SyscallFilter {
        SeccompProgram enforce[2];
        size_t n_enforce;
        SeccompProgram audit; /* n_insns > 0 only when compiled for audit */
} SyscallFilter;

/* err gets one line naming the problem. */
int syscall_filter_compile(const SeccompPolicy *policy, bool audit, SyscallFilter *ret, char *err, size_t errlen);
void syscall_filter_done(SyscallFilter *f);

/* Child side, after PR_SET_NO_NEW_PRIVS, last step before execve(). In
 * audit mode *ret_listener gets the notification fd (close-on-exec). */
int syscall_filter_install(const SyscallFilter *f, int *ret_listener);

/* The enforce verdict (SECCOMP_RET_* with data) for one call: the most
 * restrictive over the enforce programs, as the kernel computes it. */
uint32_t syscall_filter_evaluate(const SyscallFilter *f, const struct seccomp_data *d);

/* Pure: runs one classic BPF seccomp program on d. */
uint32_t seccomp_program_run(const SeccompProgram *p, const struct seccomp_data *d);
