/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "syscall-filter.h"

/* Audit mode's record: every call the enforce policy would have refused,
 * by syscall and process, counted exactly (one seccomp notification each). */

#define AUDIT_MAX_ENTRIES 256

typedef struct AuditEntry {
        int nr;          /* native syscall number */
        pid_t pid;       /* as the task sees it (its pid namespace) */
        uint32_t action; /* the enforce verdict: SECCOMP_RET_ERRNO or _KILL_PROCESS, ... */
        uint64_t count;
} AuditEntry;

typedef struct AuditLog {
        AuditEntry e[AUDIT_MAX_ENTRIES];
        size_t n;
        uint64_t total;    /* would-be denials, all of them */
        uint64_t dropped;  /* of those, ones whose (syscall, pid) found no free entry */
} AuditLog;

/* Takes one pending notification from listener, asks the enforce programs
 * of f what they would do, records a denial, and lets the call continue.
 * -ENOENT: the caller died meanwhile (not an error). */
int audit_handle_one(int listener, const SyscallFilter *f, AuditLog *log);
