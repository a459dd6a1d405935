/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The observation layer (bpf/shape.bpf.c): per task, syscall counts by
 * number and result, the process tree (fork/exec/exit events) and the files
 * it opens (a count, and events for paths on a watch list).
 *
 * One Shape per supervisor holds the programs and maps; one ShapeTask per
 * observed task holds its map entry, keyed by the id of the task's cgroup
 * v2 dir (cgroup_fd_id() in bpf-egress.h). The programs and maps are loaded
 * once per boot and pinned in bpffs ($STOCKADE_BPF_DIR, default
 * /sys/fs/bpf/stockade; empty: off), as the egress wall's are, and every
 * later Shape reuses them: the tasks of all supervisors then share the task
 * map, while each Shape has its own links and ring buffer, counts only its
 * own tasks and receives only their events. Without bpffs (or on kernels
 * before 6.10, without cookies on tp_btf links) a Shape loads them
 * privately. See supervisor/bpf-shape.c.
 *
 * The programs are linked only while at least one task is added: the first
 * shape_task_add() links them, the last shape_task_remove() unlinks them,
 * so tasks with shape off cost nothing -- unless a long-lived supervisor
 * holds them (shape_hold_links()). A syscall of a process in no tracked
 * cgroup costs one map lookup per linked Shape.
 *
 * What is not seen (stockade(1) has the long form):
 *  - anything before shape_task_add() for the cgroup id, and processes in
 *    sub-groups of the task's cgroup;
 *  - calls served by the vDSO (clock_gettime, gettimeofday, time, getcpu):
 *    they never enter the kernel;
 *  - paths are the ones passed to open*(), unresolved: a relative path, or
 *    one through a symlink or a dirfd, is matched as written; a path not
 *    resident in memory at entry is counted but not matched;
 *  - events beyond the task's budget (counted as dropped) or that find the
 *    ring full (counted as lost); the counters themselves are never lost;
 *  - a syscall restarted after a signal counts twice, once as an error
 *    (ERESTARTSYS and friends, errno 512..).
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shape.h" /* SHAPE_* bounds, shared with the BPF side */

typedef struct Shape Shape;
typedef struct ShapeTask ShapeTask;

typedef struct ShapeOptions {
        size_t ring_bytes; /* ring buffer size, a power of 2 >= page size; 0: 1 MiB */
        uint32_t max_tasks; /* tasks added at once to this Shape; 0: 256, at most SHAPE_TASKS_MAX
                             * (which also bounds the tasks of all Shapes sharing the pinned maps) */
} ShapeOptions;

/* Event budget of a task when ShapeTaskOptions.event_budget is 0. */
#define SHAPE_EVENT_BUDGET_DEFAULT 100000U

typedef struct ShapeTaskOptions {
        /* Watch list, at most SHAPE_MAX_WATCH patterns: "PREFIX" matches a
         * path that starts with PREFIX (<= 64 bytes); "PREFIX*SUFFIX" one
         * that also ends with SUFFIX (<= 16 bytes), e.g. /proc/ * /environ
         * (without the spaces) for every process's environment.
         * Byte-wise, no path semantics: "/etc" also matches "/etcetera". */
        const char *const *watch;
        size_t n_watch;
        uint32_t event_budget; /* events (all kinds) the task may emit; 0: the default */
} ShapeTaskOptions;

typedef enum ShapeEventKind {
        SHAPE_EVENT_FORK = SHAPE_KIND_FORK,
        SHAPE_EVENT_EXEC = SHAPE_KIND_EXEC,
        SHAPE_EVENT_EXIT = SHAPE_KIND_EXIT,
        SHAPE_EVENT_OPEN = SHAPE_KIND_OPEN,
        _SHAPE_EVENT_MAX = SHAPE_KIND_MAX,
        _SHAPE_EVENT_INVALID = -EINVAL,
} ShapeEventKind;

#define SHAPE_ARGV_MAX 4   /* argv[0..3] of an exec */
#define SHAPE_ARG_LEN 128  /* bytes kept of each, NUL included */

/* One decoded event. pid is the process as the host sees it, ns_pid the
 * same process in the task's pid namespace (0: not visible there, e.g. a
 * parent outside it). Strings are NUL-terminated; *_truncated says a string
 * was cut. Valid for the duration of the callback only. */
typedef struct ShapeEvent {
        ShapeEventKind kind;
        uint64_t cgroup_id;
        uint64_t time_ns; /* CLOCK_MONOTONIC */
        uint32_t pid, ns_pid;
        char comm[SHAPE_COMM_LEN];
        union {
                struct {
                        uint32_t child_pid, child_ns_pid; /* pid/ns_pid: the parent */
                } fork;
                struct {
                        char filename[SHAPE_PATH_MAX];
                        bool filename_truncated;
                        uint32_t argc;   /* of the whole argv */
                        size_t n_argv;   /* entries of argv[] filled, <= SHAPE_ARGV_MAX */
                        char argv[SHAPE_ARGV_MAX][SHAPE_ARG_LEN];
                        bool argv_truncated[SHAPE_ARGV_MAX];
                } exec;
                struct {
                        int status; /* as from wait(2): WIFEXITED() etc. apply */
                } exit;
                struct {
                        char path[SHAPE_PATH_MAX];
                        bool path_truncated;
                        int syscall_nr;
                        uint32_t flags; /* O_*; 0 for openat2 */
                } open;
        };
} ShapeEvent;

typedef void (*ShapeEventFn)(const ShapeEvent *ev, void *userdata);

/* Top errnos kept per task in ShapeCounts. */
#define SHAPE_TOP_ERRNOS 16

typedef struct ShapeErrno {
        int err;        /* 1..133, or the kernel-internal 512.. (ERESTARTSYS...); 0: any other */
        uint64_t count;
} ShapeErrno;

typedef struct ShapeSyscallCount {
        uint64_t calls;  /* entered */
        uint64_t errors; /* returned an error; calls - errors returned ok or did not return */
        ShapeErrno errnos[SHAPE_ERRNO_SLOTS]; /* the first distinct errnos seen, count 0: unused */
} ShapeSyscallCount;

typedef struct ShapeCounts {
        ShapeSyscallCount sys[SHAPE_NR_MAX]; /* by syscall number; SHAPE_NR_OTHER: the rest */
        uint64_t calls, errors;              /* sums over sys[] */
        uint64_t opens;                      /* open, creat, openat, openat2 entered */
        uint64_t threads;                    /* threads created (no event) */
        ShapeErrno top_errnos[SHAPE_TOP_ERRNOS]; /* most frequent first, count 0: unused */
        uint64_t emitted[_SHAPE_EVENT_MAX];  /* by ShapeEventKind */
        uint64_t dropped[_SHAPE_EVENT_MAX];  /* over the budget */
        uint64_t lost[_SHAPE_EVENT_MAX];     /* the ring buffer was full */
} ShapeCounts;

/* Opens the pinned programs and maps, or loads, verifies and pins them
 * when there are none for this build (under a lock: supervisors starting
 * together load them once); loads them privately when the cache is
 * unavailable. Links nothing. o may be NULL (defaults). -errno, logged:
 * only when the kernel refuses the programs, never for the cache. */
int shape_open(const ShapeOptions *o, Shape **ret);

/* Whether s reused pinned programs (rather than loading them itself). */
bool shape_cached(const Shape *s);

/* Unpins every shape set of the cache (of any build); open Shapes keep
 * theirs, the next shape_open() loads and pins afresh. For tests and
 * operators. -errno. */
int shape_cache_drop(void);

/* Unlinks and frees every task still added (their ShapeTask pointers are
 * then invalid), closes programs and maps. NULL-safe; returns NULL. */
Shape *shape_close(Shape *s);

/* An fd that polls readable when events are pending (for the event loop). */
int shape_ring_fd(Shape *s);

/* Consumes everything pending without blocking, calling cb for each event.
 * Returns the number consumed, or -errno. */
int shape_consume(Shape *s, ShapeEventFn cb, void *userdata);

/* Starts observing the task in cgroup_id with options o (NULL: no watch
 * list, the default budget); links the programs if it is the first task.
 * Does not take ownership of o or its strings. -EINVAL for a bad pattern,
 * -E2BIG for too many or too long ones, -EEXIST when the cgroup already has
 * a task, -ENOSPC beyond ShapeOptions.max_tasks. On error nothing is left.
 * The same as shape_task_new() then shape_task_start(). */
int shape_task_add(Shape *s, uint64_t cgroup_id, const ShapeTaskOptions *o, ShapeTask **ret);

/* The half of shape_task_add() that needs no cgroup: checks and compiles
 * o and allocates the task's entry, without telling the kernel (and
 * sweeps stale entries, once per Shape). A supervisor does this before
 * clone, where its page writes are cheap. Free with shape_task_remove(). */
int shape_task_new(Shape *s, const ShapeTaskOptions *o, ShapeTask **ret);
/* The other half: adds t's entry for cgroup_id, files the ring, links the
 * programs if t is the first task and they are not held. On error t stays
 * new (start it again or remove it). */
int shape_task_start(Shape *s, ShapeTask *t, uint64_t cgroup_id);

/* Links the programs now and keeps them linked, tasks or not, until
 * shape_close(): for a long-lived supervisor (stockaded), so that its tasks
 * pay neither the links (~0.5 ms each under load: every one patches the
 * kernel's text) nor their removal. Every syscall on the host then pays
 * the tracepoint (see bench-shape) while the links live. Forked children
 * share them: their tasks are counted under the same owner id. */
int shape_hold_links(Shape *s);

/* In a child forked from the Shape's owner, before its first task:
 * replaces the ring buffer shared with the parent by one of its own, so
 * that each process receives the events of its own tasks only. -EBUSY
 * with tasks added. */
int shape_own_ring(Shape *s);

/* Deletes the entries of this owner's tasks whose cgroup no longer exists
 * and that s does not know (a forked child that died with its task).
 * cgroup2_root_fd: a directory of the cgroup2 mount. Returns how many, or
 * -errno. */
int shape_sweep_orphans(Shape *s, int cgroup2_root_fd);

/* A snapshot of the task's counters (they keep counting). */
int shape_task_read(Shape *s, const ShapeTask *t, ShapeCounts *ret);

/* Stops observing: deletes the map entry (read the counters first), frees
 * t, and unlinks the programs if it was the last task (and they are not
 * held); a task never started is only freed. Events of the task
 * still in the ring are delivered by the next shape_consume(). NULL-safe;
 * returns NULL. */
ShapeTask *shape_task_remove(Shape *s, ShapeTask *t);

/* How many programs are linked right now: 0 with no task and no hold, all
 * of them otherwise. */
unsigned shape_links(Shape *s);

/* The kernel ids of the loaded programs, for diagnostics (bpftool) and the
 * tests. Returns how many were written (at most n) or -errno. */
int shape_prog_ids(Shape *s, uint32_t *ret_ids, size_t n);

/* x86_64 name of syscall nr (libseccomp's table), or NULL. The string is
 * cached for the life of the process. */
const char *shape_syscall_name(int nr);

const char *shape_event_kind_to_string(ShapeEventKind k);
