/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The resolved, validated description of one task: what the launch code
 * consumes. Filled by the CLI today and by profiles later; nothing in here
 * knows where a value came from. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SANDBOX_UNLIMITED UINT64_MAX
#define SANDBOX_REQUEST_ID_MAX 128

typedef enum BindMode {
        BIND_RO,
        BIND_RW,
} BindMode;

typedef struct BindSpec {
        char *source; /* host path, absolute */
        char *dest;   /* path inside the sandbox, absolute */
        BindMode mode;
} BindSpec;

typedef struct SandboxLimits {
        uint64_t memory_bytes;   /* SANDBOX_UNLIMITED for none */
        uint64_t swap_bytes;     /* 0: no swap */
        uint64_t cpu_millicores; /* 1000 = one core; 0 = no ceiling */
        uint64_t pids;           /* 0 = no ceiling */
        uint64_t timeout_usec;   /* wall clock; 0 = none */
        uint64_t cpu_time_usec;  /* whole sandbox; 0 = none */
        uint64_t tmpfs_bytes;    /* size of /tmp and /dev/shm */
        uint64_t nofile;         /* RLIMIT_NOFILE; 0 = inherit */
        uint64_t fsize_bytes;    /* RLIMIT_FSIZE; 0 = none */
        uint64_t output_bytes;   /* stdout+stderr cap; 0 = none (stdio passed through as is) */
} SandboxLimits;

typedef enum SecretTarget {
        SECRET_TARGET_ENV,
        SECRET_TARGET_FILE,
} SecretTarget;

/* A secret's value as read by the supervisor for this task. */
typedef struct SandboxSecret {
        char *name;
        SecretTarget as;
        char *target; /* variable name or absolute path inside */
        char *value;
        size_t len;
        char sha256[65];
} SandboxSecret;

struct SyscallFilter;

typedef enum CodeOrigin {
        CODE_COMMAND, /* argv given after -- */
        CODE_SCRIPT,  /* a file run through its interpreter */
} CodeOrigin;

typedef struct SandboxSpec {
        char request_id[SANDBOX_REQUEST_ID_MAX + 1];

        /* What to execute inside: argv[0] is resolved against PATH inside. */
        char **argv;
        char **envp; /* the complete environment of the task */

        CodeOrigin origin;
        char *script_host_path; /* CODE_SCRIPT: where it was read from */
        char *script_path;      /* where the task sees it */
        char *script_data;      /* its bytes as hashed: exactly these run */
        size_t script_len;
        char script_sha256[65];

        SandboxLimits limits;

        BindSpec *binds;
        size_t n_binds;
        char *workdir; /* bound read-write at the same path; the start directory */
        char *workdir_source; /* where it is bound from, when not workdir itself (a daemon
                               * client's fd, "/proc/self/fd/N"); NULL: workdir */

        uid_t uid;
        gid_t gid;

        char **system_dirs; /* shown read-only; NULL: the built-in list */
        char **hide;        /* masked on top of the built-in masks */

        SandboxSecret *secrets;
        size_t n_secrets;

        /* The compiled seccomp policy, not owned; audit when it has an audit program. */
        const struct SyscallFilter *filter;

        /* Where the policy came from, for the record. */
        char *profile_name;
        char profile_sha256[65];
        const char *task_class; /* "interactive" or "batch" */
        const char *mode;       /* "enforce" or "audit" */
        const char *network;    /* "none" (loopback only) or "allowlist" */
        /* network.allow of an allowlist task, not owned (the profile's). */
        const struct NetRule *net_allow;
        size_t n_net_allow;
        bool shape;               /* observe.shape */
        char **shape_watch;       /* observe.watch (+ hidden paths), NULL-terminated; owned */
        uint32_t shape_event_budget; /* observe.event_budget */
        /* The task's oom_score_adj, set before it may exec, when the
         * supervisor's own is not the one it should inherit (stockaded's
         * workers leave the OOM killer's list); else inherited. */
        bool set_oom_score_adj;
        int oom_score_adj;
} SandboxSpec;

void sandbox_spec_done(SandboxSpec *spec);
void sandbox_limits_default(SandboxLimits *ret);
