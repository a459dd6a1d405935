/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Cgroups for one task. The host's layout is detected once per supervisor
 * (cgroup_layout_detect); each task then gets its own group below the
 * supervisor's cgroup in every hierarchy that carries one of its ceilings.
 *
 * Pure v2 hosts: one v2 group holds the ceilings, the placement and the kill.
 * Hybrid hosts (cpu/memory/pids bound to v1): a v1 group per controller holds
 * the ceilings; the task is also placed in a v2 group, which gives
 * CLONE_INTO_CGROUP, cgroup.kill, cpu.stat and (later) BPF attachment. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox.h"

typedef enum CgroupController {
        CG_MEMORY,
        CG_CPU,
        CG_PIDS,
        _CG_MAX,
} CgroupController;

typedef enum CgroupVersion {
        CGV_NONE,
        CGV_1,
        CGV_2,
} CgroupVersion;

const char *cgroup_controller_to_string(CgroupController c);
const char *cgroup_version_to_string(CgroupVersion v); /* "v1", "v2", NULL */

typedef struct CgroupLayout {
        char *v2_dir;                /* the supervisor's own v2 cgroup dir, or NULL */
        char *v1_dir[_CG_MAX];       /* own v1 cgroup dir per controller, or NULL */
        char v2_controllers[256];    /* cgroup.controllers of v2_dir */
        CgroupVersion version[_CG_MAX];
        char why[_CG_MAX][160];      /* when version is CGV_NONE: the reason */
} CgroupLayout;

/* Pure: fills the directory fields from the text of /proc/self/mountinfo and
 * /proc/self/cgroup. Versions are not chosen yet. */
int cgroup_layout_parse(const char *mountinfo, const char *proc_self_cgroup, CgroupLayout *ret);

/* Pure: picks v2 for a controller when v2 offers it (v2_controllers),
 * else v1 when mounted, else none with a reason. */
void cgroup_layout_choose(CgroupLayout *l);

/* Reads the running host, chooses, and enables the v2 controllers in the
 * supervisor's own cgroup.subtree_control when they are used. */
int cgroup_layout_detect(CgroupLayout *ret, bool enable_controllers);
void cgroup_layout_done(CgroupLayout *l);

/* "v2" when every controller is v2, "hybrid" otherwise. */
const char *cgroup_layout_backend(const CgroupLayout *l);

typedef struct Cgroup {
        char name[64];
        int v2_fd;              /* the v2 group (placement, kill, cpu.stat) */
        char *v2_path;
        int v1_fd[_CG_MAX];     /* v1 groups of controllers bound to v1 */
        char *v1_path[_CG_MAX];
        CgroupVersion version[_CG_MAX];
        bool swap_off;
} Cgroup;

#define CGROUP_NULL                                                          \
        (Cgroup) {                                                           \
                .v2_fd = -EBADF, .v1_fd = { -EBADF, -EBADF, -EBADF },        \
        }

typedef struct CgroupUsage {
        uint64_t cpu_usec, cpu_user_usec, cpu_system_usec;
        uint64_t memory_peak; /* UINT64_MAX: unknown */
        uint64_t pids_peak;   /* UINT64_MAX: unknown */
        uint64_t oom_kills;      /* by any OOM killer, the host's included */
        uint64_t memory_limit_hits; /* times the group's own ceiling was reached */
        uint64_t pids_max_hits;
} CgroupUsage;

/* Creates the task's groups (named name) and writes the ceilings. A ceiling
 * that cannot be applied fails the whole call, and nothing is left behind.
 * reterr_what names the wall that failed. */
int cgroup_create(const CgroupLayout *l, const char *name, const SandboxLimits *lim, Cgroup *ret,
                  const char **reterr_what);

/* Writes the ceilings into the groups' files (pure file I/O on cg's fds). */
int cgroup_apply_limits(Cgroup *cg, const SandboxLimits *lim, const char **reterr_what);

/* Moves pid into the v1 groups (v2 placement is done by clone3). */
int cgroup_attach_v1(Cgroup *cg, pid_t pid);

int cgroup_read_usage(Cgroup *cg, CgroupUsage *ret);
int cgroup_cpu_usec(Cgroup *cg, uint64_t *ret);

/* SIGKILLs every process in the groups. */
int cgroup_kill(Cgroup *cg);

/* Kills what is left, removes every group (bounded retry) and closes fds. */
void cgroup_destroy(Cgroup *cg);

/* A daemon tenant's subtree (cgroup-tenant.c). */
typedef struct CgroupSubtreeLimits {
        uint64_t cpu_weight; /* 1..10000 (v1: cpu.shares scaled, 100 -> 1024) */
        uint64_t memory_max; /* UINT64_MAX: none */
        uint64_t pids_max;   /* 0: none */
} CgroupSubtreeLimits;

/* Creates (or, after a reload, reuses) group name below the supervisor's
 * own in every hierarchy l uses, with lim, and fills *ret with a layout
 * whose directories are the subtree's: cgroup_create() on it puts a task
 * inside. Nothing is left behind on failure. */
int cgroup_subtree_create(const CgroupLayout *l, const char *name, const CgroupSubtreeLimits *lim, CgroupLayout *ret,
                          const char **reterr_what);
int cgroup_subtree_update(CgroupLayout *sub, const CgroupSubtreeLimits *lim, const char **reterr_what);
/* Moves the calling process into the subtree's "workers" leaf in every
 * hierarchy (a daemon worker, so its work is the tenant's). */
int cgroup_subtree_enter(const CgroupLayout *sub);
/* Removes the subtree's (empty) groups and frees the layout. */
void cgroup_subtree_destroy(CgroupLayout *sub);

/* Removes groups named stockade-<pid>-* whose supervisor pid is gone, with
 * the groups inside them (a dead daemon's tenant subtrees). */
void cgroup_sweep_stale(const CgroupLayout *l);
