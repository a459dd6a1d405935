/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What one task did and which walls held it: encoded as the result JSON
 * (schema documented in stockade(1), "RESULT JSON"). New fields are added,
 * never renamed; "version" changes only on an incompatible change. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "sandbox.h"

#define RESULT_SCHEMA_VERSION 1

typedef enum ExitCause {
        CAUSE_OK,
        CAUSE_EXIT_NONZERO,
        CAUSE_SIGNAL,
        CAUSE_OOM,
        CAUSE_TIMEOUT,
        CAUSE_CPU_TIME,
        CAUSE_PIDS_LIMIT,
        CAUSE_SETUP_ERROR,
        CAUSE_SECCOMP,     /* killed by the seccomp filter (SIGSYS) */
        CAUSE_CLIENT_GONE, /* killed: the daemon's client disconnected */
        CAUSE_SHUTDOWN,    /* killed: the daemon shut down past its grace period */
        _CAUSE_MAX,
        _CAUSE_INVALID = -EINVAL,
} ExitCause;

const char *exit_cause_to_string(ExitCause c);
ExitCause exit_cause_from_string(const char *s);

typedef enum StartPhase {
        PHASE_PREPARE,  /* options resolved, seccomp compiled, script hashed */
        PHASE_CGROUP,   /* cgroups created and limited */
        PHASE_CLONE,    /* clone3 into namespaces and cgroup */
        PHASE_MOUNT,    /* filesystem view built (child) */
        PHASE_PRIVILEGES, /* uid, capabilities, no_new_privs (child) */
        PHASE_SECCOMP,  /* filter installed (child) */
        PHASE_EXEC,     /* from seccomp to the task's execve() */
        _PHASE_MAX,
} StartPhase;

const char *start_phase_to_string(StartPhase p);

/* One wall as it was actually in force for the task. */
typedef struct WallsApplied {
        bool ns_pid, ns_mount, ns_net, ns_ipc, ns_uts, ns_cgroup;
        const char *cgroup_backend; /* "v2" or "hybrid" */
        const char *memory_ctl, *cpu_ctl, *pids_ctl; /* "v1", "v2" or NULL */
        bool swap_off;
        bool v2_placement; /* task started in a v2 cgroup (CLONE_INTO_CGROUP) */
        bool seccomp;
        bool no_new_privs;
        bool caps_cleared;
        bool loopback_only;
        uid_t uid;
        gid_t gid;
} WallsApplied;

/* An allowlist task's network, from the egress wall's decisions. */
#define NET_DEST_MAX 64
typedef struct NetDestCount {
        int family;            /* AF_INET or AF_INET6 */
        uint8_t addr[16];
        uint16_t port;
        uint8_t proto;
        uint64_t allowed, denied; /* denied includes audit mode's would-be denials */
        uint64_t bytes_sent, packets_sent; /* what the packet wall let out (IP headers included) */
        uint64_t bytes_received, packets_received; /* what reached the task's sockets from there */
} NetDestCount;

typedef struct NetSummary {
        bool enforced;          /* the egress wall was attached (allowlist mode) */
        bool audit;             /* decisions recorded, not enforced */
        bool ipv6_beyond_host;  /* the host forwards IPv6 */
        char task4[16], gateway4[16], task6[46], gateway6[46];
        uint64_t allowed, denied, lost; /* the kernel's counters; lost: events the ring buffer dropped */
        uint64_t dns_allowed, dns_refused, dns_failed; /* failed: a listed name whose answer failed */
        NetDestCount dest[NET_DEST_MAX];
        size_t n_dest;
        uint64_t dest_overflow;     /* decisions about destinations beyond NET_DEST_MAX */
        uint64_t records_suppressed; /* net records beyond the per-task cap (counted here instead) */
} NetSummary;

/* A task's shape (the observation layer), summarised when it ends. */
#define SHAPE_SUMMARY_TOP 64
#define SHAPE_SUMMARY_ERRNOS 16
typedef struct ShapeErrnoCount {
        int err;          /* positive errno; 0: others */
        uint64_t count;
} ShapeErrnoCount;

typedef struct ShapeSyscallRow {
        int nr;
        uint64_t calls, errors;
        ShapeErrnoCount errnos[2];  /* the first distinct errnos it failed with */
} ShapeSyscallRow;

typedef struct ShapeSummary {
        bool recorded;              /* observe.shape was on and the programs ran */
        char error[160];            /* observe.shape was on but could not be: why */
        uint64_t calls, errors;
        ShapeSyscallRow top[SHAPE_SUMMARY_TOP]; /* most calls first */
        size_t n_top;
        uint64_t other_calls, other_errors; /* beyond the top rows */
        ShapeErrnoCount errnos[SHAPE_SUMMARY_ERRNOS]; /* task-wide, most frequent first */
        size_t n_errnos;
        uint64_t opens, forks, execs, exits, threads;
        uint64_t emitted, dropped, lost; /* events: sent, over the budget, ring full */
        uint32_t budget;
} ShapeSummary;

typedef struct SandboxResult {
        ExitCause cause;
        int exit_status;  /* what stockade run exits with */
        int task_code;    /* exit code when the task exited, else -1 */
        int task_signal;  /* signal that ended it, else 0 */

        /* setup_error details */
        char error_phase[32];
        int error_errno;
        char error_message[256];

        double phase_ms[_PHASE_MAX];
        double startup_ms; /* request arrival to the task's execve() */
        double wall_ms;    /* request arrival to the end of the sandbox */

        uint64_t cpu_usec, cpu_user_usec, cpu_system_usec;
        uint64_t memory_peak_bytes; /* UINT64_MAX when not known */
        uint64_t pids_peak;         /* UINT64_MAX when not known */

        WallsApplied walls;

        bool audit_mode;
        AuditLog audit;

        bool output_captured; /* an output cap was set, so the bytes were counted */
        uint64_t output_bytes;
        bool output_cut;
        char stdout_sha256[65], stderr_sha256[65]; /* when captured */
        NetSummary net;
        ShapeSummary shape;
} SandboxResult;

void sandbox_result_init(SandboxResult *r);

struct json_object;

/* What was asked (argv, code, profile, secrets), added to o. */
void sandbox_request_add_json(const SandboxSpec *spec, struct json_object *o);

/* The result as a json-c object (the caller puts it), or NULL on OOM. */
struct json_object *sandbox_result_to_object(const SandboxSpec *spec, const SandboxResult *r);

/* Returns a malloc'd JSON document (no trailing newline), or NULL on OOM. */
char *sandbox_result_to_json(const SandboxSpec *spec, const SandboxResult *r);

/* Writes the JSON to path atomically (temp file + rename), mode 0600. */
int sandbox_result_write(const char *path, const SandboxSpec *spec, const SandboxResult *r);
/* The same for an encoded result (a daemon client writes what it got). */
int sandbox_result_write_text(const char *path, const char *json);
