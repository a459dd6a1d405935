/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* stockaded's configuration (stockaded(8), CONFIGURATION): where it listens
 * and journals, and the tenants it serves. Parsed from YAML with libyaml;
 * every problem is reported as file:line:column: message, and a config
 * with any problem is refused as a whole (the daemon keeps the old one). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "journal.h"

#define DAEMON_CONFIG_DEFAULT "/etc/stockade/stockaded.yaml"
#define DAEMON_SOCKET_DEFAULT "/run/stockade/stockade.sock"

/* One code origin label a tenant may submit (code_origins: in YAML). */
typedef struct TenantOrigin {
        char *label;    /* e.g. "generated", "user", "vendor" */
        char **sha256;  /* NULL: any code; else only these SHA-256 (64 lowercase hex), NULL-terminated */
} TenantOrigin;

typedef struct Tenant {
        char *name;                 /* [A-Za-z0-9._-]{1,64} */
        uid_t *uids;                /* callers (SO_PEERCRED uid) that are this tenant */
        size_t n_uids;
        gid_t *gids;                /* ... or whose primary or supplementary gid is one of these */
        size_t n_gids;
        char **profiles;            /* allowed profile names or absolute paths, NULL-terminated, non-empty */
        char **task_classes;        /* allowed classes ("interactive", "batch"); NULL: both */
        TenantOrigin *origins;      /* allowed code origins; none listed: every label, any code */
        size_t n_origins;
        char **secrets;             /* secret names a profile may grant this tenant; NULL: none */

        /* Quotas. */
        unsigned max_concurrent;    /* running at once; default 8 */
        unsigned rate_per_minute;   /* admitted in any 60 s; 0: no rate limit */
        unsigned max_queued;        /* waiting for a slot; 0: refuse when full */
        uint64_t queue_timeout_usec; /* longest wait in the queue; default 30 s */

        /* The tenant's cgroup subtree (v2, or v1 on hybrid hosts). */
        uint64_t cpu_weight;        /* 1..10000, default 100 */
        uint64_t memory_max;        /* bytes; UINT64_MAX: none */
        uint64_t pids_max;          /* 0: none */

        /* Identity of its tasks: a uid/gid of the daemon's run_uids range. */
        uid_t run_uid;
        gid_t run_gid;
} Tenant;

typedef struct DaemonConfig {
        char *path;                 /* the file read */
        char sha256[65];            /* of its bytes: the journal's config hash */

        char *socket_path;          /* default DAEMON_SOCKET_DEFAULT */
        char *socket_group;         /* group allowed to connect (mode 0660); NULL: root only (0600) */
        char *journal_dir;          /* default JOURNAL_DIR_DEFAULT */
        JournalFsync journal_fsync; /* default batch */
        char *secret_store;         /* NULL: the default store */
        uint64_t grace_usec;        /* SIGTERM: how long running tasks may finish; default 10 s */
        uint64_t request_timeout_usec; /* a client must send its whole request within this; default 5 s */

        /* Tasks run as uids of [run_uid_first, run_uid_first + run_uid_count);
         * each tenant gets its own: run_uid: in the tenant, or the range's
         * first + the tenant's index. Default 200000, 1000. */
        uid_t run_uid_first;
        uint32_t run_uid_count;

        Tenant *tenants;
        size_t n_tenants;
} DaemonConfig;

typedef struct DaemonConfigError {
        char file[256];
        unsigned line, column; /* 0 when the problem is not at a place */
        char message[256];
} DaemonConfigError;

/* Reads and validates path. On failure ret is untouched and err says why
 * (the first problem; the return value is -EINVAL for a bad config, or
 * -errno when the file cannot be read). */
int daemon_config_load(const char *path, DaemonConfig *ret, DaemonConfigError *err);
void daemon_config_done(DaemonConfig *c);

/* The tenant of a caller: the first tenant listing uid, else the first
 * listing gid or one of groups. NULL: unknown. */
const Tenant *daemon_config_tenant(const DaemonConfig *c, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups);
const Tenant *daemon_config_tenant_by_name(const DaemonConfig *c, const char *name);
