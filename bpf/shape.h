/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
#pragma once

/* Records and map layouts shared by bpf/shape.bpf.c and
 * supervisor/bpf-shape.c. Fixed-width fields only: the same bytes are read
 * by the kernel and by userspace. */

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Syscall numbers counted one by one; anything at or above (x32, compat
 * ia32 calls, numbers from a future kernel) is counted in SHAPE_NR_OTHER. */
#define SHAPE_NR_MAX 512
#define SHAPE_NR_OTHER (SHAPE_NR_MAX - 1)

/* Per syscall, the first SHAPE_ERRNO_SLOTS distinct errnos it failed with
 * get a count of their own; later distinct errnos only count in errors
 * (and in the task-wide histogram). */
#define SHAPE_ERRNO_SLOTS 2

/* Task-wide errno histogram buckets: 1..133 as is, the kernel-internal
 * 512..537 (ERESTARTSYS, ENOTSUPP, ...) at 134..159, anything else in 0. */
#define SHAPE_ERRNO_BUCKETS 160
#define SHAPE_ERRNO_USER_MAX 133
#define SHAPE_ERRNO_KERNEL_BASE 512

/* The file watch list of a task: up to SHAPE_MAX_WATCH "PREFIX" or
 * "PREFIX*SUFFIX" patterns, compared a word at a time under masks that
 * userspace precomputes (so the program has no byte loops). */
#define SHAPE_MAX_WATCH 8
#define SHAPE_WATCH_PREFIX_MAX 64
#define SHAPE_WATCH_SUFFIX_MAX 16

/* Entries of the task and ring maps: tasks of all supervisors sharing the
 * pinned maps (entries exist only for tracked tasks: no preallocation). */
#define SHAPE_TASKS_MAX 4096
/* max_entries of the rings' inner map definition. Each supervisor makes its
 * own ring of the size it wants: the kernel compares the inner maps' type,
 * key/value size and flags only. */
#define SHAPE_RING_TEMPLATE_BYTES (1024 * 1024)

/* Bounded copies in events (each including its NUL). */
#define SHAPE_PATH_MAX 256
#define SHAPE_ARGS_MAX 512 /* the first bytes of the NUL-separated argv block */
#define SHAPE_COMM_LEN 16

enum {
        SHAPE_KIND_FORK = 0,
        SHAPE_KIND_EXEC = 1,
        SHAPE_KIND_EXIT = 2,
        SHAPE_KIND_OPEN = 3,
        SHAPE_KIND_MAX = 4,
};

struct shape_watch {
        __u64 prefix[SHAPE_WATCH_PREFIX_MAX / 8];      /* zero-padded */
        __u64 prefix_mask[SHAPE_WATCH_PREFIX_MAX / 8]; /* 0xff in each byte of the prefix */
        __u64 suffix[SHAPE_WATCH_SUFFIX_MAX / 8];      /* right-aligned, zero-padded in front */
        __u64 suffix_mask[SHAPE_WATCH_SUFFIX_MAX / 8];
        __u32 suffix_len;                              /* 0: prefix only */
        __u32 _pad;
};

struct shape_syscall {
        __u64 calls;                           /* counted on entry */
        __u64 errors;                          /* returned -1..-4095 */
        __u64 errno_count[SHAPE_ERRNO_SLOTS];
        __u32 errno_val[SHAPE_ERRNO_SLOTS];    /* 0: slot still free */
};

/* Value of the task map (hash, key: the task's cgroup id). Userspace
 * writes it zeroed but for the configuration (flags, budget, watch list);
 * every counter is then bumped with atomics by every CPU. */
struct shape_task {
        __u64 owner;           /* id of the supervisor owning the task: the programs
                                * count only in the instance linked by it (the link's
                                * cookie), since each link runs the shared program */
        __u32 event_budget;    /* events the task may emit; further ones only count as dropped */
        __u32 n_watch;
        __u64 event_attempts;  /* events wanted: the budget gate */
        __u64 emitted[SHAPE_KIND_MAX];
        __u64 dropped[SHAPE_KIND_MAX]; /* over budget */
        __u64 lost[SHAPE_KIND_MAX];    /* the ring buffer was full */
        __u64 threads;         /* clone(CLONE_THREAD): counted, no event */
        struct shape_watch watch[SHAPE_MAX_WATCH];
        __u64 errnos[SHAPE_ERRNO_BUCKETS];
        struct shape_syscall sys[SHAPE_NR_MAX];
};

/* Every record starts with this. pid is the process (tgid) as the host
 * sees it, ns_pid the same process in the task's own pid namespace (the
 * innermost one of the process; 0 when not visible there). */
struct shape_event_hdr {
        __u64 cgroup_id;
        __u64 time_ns;         /* CLOCK_MONOTONIC */
        __u32 kind;            /* SHAPE_KIND_* */
        __u32 pid;
        __u32 ns_pid;
        __u32 _pad;
        char comm[SHAPE_COMM_LEN];
};

/* hdr.pid/ns_pid: the forking process (parent). */
struct shape_fork_event {
        struct shape_event_hdr hdr;
        __u32 child_pid;
        __u32 child_ns_pid;
};

struct shape_exec_event {
        struct shape_event_hdr hdr;
        __u32 argc;
        __u32 args_len;        /* bytes of args copied (<= SHAPE_ARGS_MAX) */
        __u64 args_total;      /* bytes of the whole argv block */
        __s32 filename_len;    /* bpf_probe_read_kernel_str() result, NUL included */
        __u32 _pad;
        char filename[SHAPE_PATH_MAX];
        char args[SHAPE_ARGS_MAX];
};

/* The process is gone (its last thread exited). */
struct shape_exit_event {
        struct shape_event_hdr hdr;
        __u32 exit_code;       /* wait(2) status: code << 8, or the signal (| 0x80 for a core) */
        __u32 _pad;
};

struct shape_open_event {
        struct shape_event_hdr hdr;
        __u32 nr;              /* open, creat, openat or openat2 */
        __u32 flags;           /* O_* as passed (0 for openat2, whose flags sit in a struct) */
        __s32 path_len;        /* bpf_probe_read_user_str() result, NUL included */
        __u32 _pad;
        char path[SHAPE_PATH_MAX];
};
