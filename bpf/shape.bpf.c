// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The observation layer: the shape of what a task does (syscalls by number
 * and result, its process tree, the files it opens), per task keyed by the
 * id of its cgroup v2 dir.
 *
 * Hooks (tp_btf; loaded once per boot and pinned, see supervisor/bpf-shape.c;
 * linked by each supervisor only while it tracks at least one task, so a
 * supervisor whose tasks have shape off pays nothing at all):
 *   sys_exit              count the call, and -1..-4095 returns by syscall
 *                         and by errno; opens also go through the watch list.
 *                         One program per syscall: calls that never return
 *                         (exit, exit_group) are not counted.
 *   sched_process_fork    fork event (processes; threads only count), keyed by
 *                         the child's cgroup so clone(CLONE_INTO_CGROUP) of a
 *                         task's first process is seen
 *   sched_process_exec    exec event: filename and the first bytes of argv
 *   sched_process_exit    exit event, once per process (its last thread)
 *
 * Shared programs, one link per supervisor: each supervisor links the
 * same programs with its owner id as the link's cookie, and the kernel runs
 * a program once per link. So every hook returns early unless the cookie of
 * the link it runs for is the owner of the task found (shape_by_owner, set
 * at load; off only on kernels without tp_btf cookies, where each supervisor
 * loads the programs privately and its task map holds only its own tasks).
 *
 * Maps:
 *   shape_tasks    hash, cgroup id -> struct shape_task: owner, configuration
 *                  (event budget, watch list) and every counter of the task,
 *                  bumped with atomics. One lookup per syscall and link: a
 *                  process outside any tracked cgroup pays that and nothing
 *                  more.
 *                  BPF_F_NO_PREALLOC: entries (~23 KiB) exist only for
 *                  tracked tasks, and a removed entry is freed after an RCU
 *                  grace period, so an in-flight program never counts into
 *                  the next task's entry.
 *   shape_rings    hash of maps, cgroup id -> the ring buffer (of struct
 *                  shape_*_event) of the task's supervisor, filed by it, so
 *                  events reach only the supervisor owning the task. Events
 *                  beyond the task's budget bump dropped[kind]; no ring or a
 *                  full one lost[kind]. Counters never depend on the ring.
 *   shape_scratch  per-CPU path buffer for the watch list match, with 16
 *                  zero bytes in front so the suffix window never needs a
 *                  bounds branch.
 *
 * Processes in sub-groups of a task's cgroup are not seen: an ancestor walk
 * would cost every process on the host more lookups per syscall.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "shape.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_ERRNO 4095
#define MAX_PID_LEVEL 32 /* MAX_PID_NS_LEVEL */

#if defined(__TARGET_ARCH_x86)
#define TS_COMPAT 0x0002
#define NR_OPEN 2
#define NR_CREAT 85
#define NR_OPENAT 257
#define NR_OPENAT2 437
#define syscall_nr_of(regs) ((regs)->orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define NR_OPEN -1
#define NR_CREAT -1
#define NR_OPENAT 56
#define NR_OPENAT2 437
#define syscall_nr_of(regs) ((regs)->syscallno)
#else
#error "shape.bpf.c: syscall numbers and registers of this architecture are missing"
#endif
#define CREAT_FLAGS 01101 /* O_CREAT|O_WRONLY|O_TRUNC */

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, SHAPE_TASKS_MAX);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __type(key, __u64);
        __type(value, struct shape_task);
} shape_tasks SEC(".maps");

/* The inner definition: each supervisor creates its own ring. */
struct shape_ring {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, SHAPE_RING_TEMPLATE_BYTES);
};

struct {
        __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
        __uint(max_entries, SHAPE_TASKS_MAX);
        __type(key, __u64);
        __array(values, struct shape_ring);
} shape_rings SEC(".maps");

/* Set by the loader: the link's cookie must be the task's owner. */
const volatile __u32 shape_by_owner = 0;

struct scratch {
        __u64 zero[SHAPE_WATCH_SUFFIX_MAX / 8]; /* never written */
        char path[SHAPE_PATH_MAX];
};

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct scratch);
} shape_scratch SEC(".maps");

/* Syscall index of the current task: compat (ia32) calls use another
 * numbering, so they are lumped with unknown numbers. */
static __always_inline __u32 nr_index(long nr) {
#if defined(__TARGET_ARCH_x86)
        if (bpf_get_current_task_btf()->thread_info.status & TS_COMPAT)
                return SHAPE_NR_OTHER;
#endif
        return (unsigned long) nr < SHAPE_NR_OTHER ? (__u32) nr : SHAPE_NR_OTHER;
}

/* The budget gate: the attempt counter decides, so concurrent emitters on
 * several CPUs never exceed the budget between them. */
static __always_inline bool gate(struct shape_task *t, __u32 kind) {
        if (__sync_fetch_and_add(&t->event_attempts, 1) < t->event_budget)
                return true;
        __sync_fetch_and_add(&t->dropped[kind], 1);
        return false;
}

/* Whether this run of the program is the one of the task's owner (see above). */
static __always_inline bool ours(void *ctx, const struct shape_task *t) {
        return !shape_by_owner || bpf_get_attach_cookie(ctx) == t->owner;
}

static __always_inline void *reserve(struct shape_task *t, __u64 cgid, __u64 size, __u32 kind) {
        void *ring = bpf_map_lookup_elem(&shape_rings, &cgid);
        void *e = NULL;

        if (ring) /* else the task's ring is not filed (yet): lost */
                e = bpf_ringbuf_reserve(ring, size, 0);
        if (!e)
                __sync_fetch_and_add(&t->lost[kind], 1);
        else
                __sync_fetch_and_add(&t->emitted[kind], 1);
        return e;
}

static __always_inline void fill_hdr(struct shape_event_hdr *h, __u64 cgid, __u32 kind, __u32 pid,
                                     __u32 ns_pid) {
        h->cgroup_id = cgid;
        h->time_ns = bpf_ktime_get_ns();
        h->kind = kind;
        h->pid = pid;
        h->ns_pid = ns_pid;
        h->_pad = 0;
        bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* pid's number in ns, which sits at level of the hierarchy; 0 when pid is
 * not visible there. Probe reads: the numbers[] index is not constant. */
static __always_inline __u32 pid_nr_in(struct pid *pid, __u32 level, struct pid_namespace *ns) {
        struct upid u = {};

        if (!pid || level >= MAX_PID_LEVEL || BPF_CORE_READ(pid, level) < level)
                return 0;
        bpf_probe_read_kernel(&u, sizeof(u), (char *) pid + bpf_core_field_offset(struct pid, numbers) +
                                                     level * sizeof(struct upid));
        return u.ns == ns ? (__u32) u.nr : 0;
}

/* The process of task p in its own (innermost) pid namespace; *ret_level
 * and *ret_ns say which namespace that is. */
static __always_inline __u32 ns_tgid(struct task_struct *p, __u32 *ret_level, struct pid_namespace **ret_ns) {
        struct pid *pid = BPF_CORE_READ(p, group_leader, thread_pid);
        struct upid u = {};
        __u32 level;

        if (!pid)
                return 0;
        level = BPF_CORE_READ(pid, level);
        if (level >= MAX_PID_LEVEL)
                return 0;
        bpf_probe_read_kernel(&u, sizeof(u), (char *) pid + bpf_core_field_offset(struct pid, numbers) +
                                                     level * sizeof(struct upid));
        *ret_level = level;
        *ret_ns = u.ns;
        return (__u32) u.nr;
}

/* ---- syscalls ---------------------------------------------------------- */

struct match_ctx {
        struct shape_task *t;
        struct scratch *s;
        __u32 end; /* length of the path, NUL excluded */
        __u32 hit;
};

/* bpf_loop() callback: watch entry i against the path. Branch-free word
 * compares under userspace-made masks, so the verifier walks it once. */
static long match_one(__u32 i, void *ctx) {
        struct match_ctx *m = ctx;
        const struct shape_watch *w;
        const __u64 *p, *q;
        __u64 diff = 0;

        if (i >= SHAPE_MAX_WATCH)
                return 1;
        w = &m->t->watch[i];
        p = (const __u64 *) m->s->path;
        for (int k = 0; k < SHAPE_WATCH_PREFIX_MAX / 8; k++)
                diff |= (p[k] ^ w->prefix[k]) & w->prefix_mask[k];
        if (diff)
                return 0;
        if (w->suffix_len) {
                /* The 16 bytes that end at the NUL: zero[] covers short paths,
                 * and no suffix byte is zero. */
                q = (const __u64 *) ((char *) m->s + (m->end & (SHAPE_PATH_MAX - 1)));
                diff = ((q[0] ^ w->suffix[0]) & w->suffix_mask[0]) | ((q[1] ^ w->suffix[1]) & w->suffix_mask[1]);
                if (diff)
                        return 0;
        }
        m->hit = 1;
        return 1;
}

static __noinline int watch_open(struct shape_task *t, __u64 cgid, __u32 nr, const char *upath, __u32 flags) {
        struct match_ctx m = { .t = t };
        struct shape_open_event *e;
        __u32 zero = 0, tgid, n;
        long len;

        m.s = bpf_map_lookup_elem(&shape_scratch, &zero);
        if (!m.s)
                return 0;
        len = bpf_probe_read_user_str(m.s->path, SHAPE_PATH_MAX, upath);
        if (len <= 0)
                return 0; /* not resident or bad pointer: the count still has it */
        m.end = (__u32) len - 1;
        bpf_loop(t->n_watch, match_one, &m, 0);
        if (!m.hit || !gate(t, SHAPE_KIND_OPEN))
                return 0;
        e = reserve(t, cgid, sizeof(*e), SHAPE_KIND_OPEN);
        if (!e)
                return 0;
        tgid = bpf_get_current_pid_tgid() >> 32;
        {
                struct pid_namespace *ns = NULL;
                __u32 level = 0;
                fill_hdr(&e->hdr, cgid, SHAPE_KIND_OPEN, tgid, ns_tgid(bpf_get_current_task_btf(), &level, &ns));
        }
        e->nr = nr;
        e->flags = flags;
        e->path_len = (__s32) len;
        e->_pad = 0;
        /* Only the path's own bytes: the scratch tail holds older paths. */
        n = (__u32) len;
        barrier_var(n);
        if (n > SHAPE_PATH_MAX)
                n = SHAPE_PATH_MAX;
        bpf_probe_read_kernel(e->path, n, m.s->path);
        bpf_ringbuf_submit(e, 0);
        return 0;
}

/* Errno slot of sc for err: the one holding it, else the first free one
 * (claimed with a compare-and-swap: two CPUs may race for it). */
static __always_inline void count_errno_slot(struct shape_syscall *sc, __u32 err) {
        for (int k = 0; k < SHAPE_ERRNO_SLOTS; k++) {
                __u32 v = sc->errno_val[k];

                if (v == 0) {
                        v = __sync_val_compare_and_swap(&sc->errno_val[k], 0, err);
                        if (v == 0)
                                v = err;
                }
                if (v == err) {
                        __sync_fetch_and_add(&sc->errno_count[k], 1);
                        return;
                }
        }
}

/* Every count of a syscall is taken at its exit, by one program: a second
 * one at entry cost each traced syscall another program run. At exit the
 * saved user registers still hold the arguments (only ax has the result),
 * so the watch list sees the path an open was asked for. */
SEC("tp_btf/sys_exit")
int BPF_PROG(shape_sys_exit, struct pt_regs *regs, long ret) {
        __u64 cgid = bpf_get_current_cgroup_id();
        struct shape_task *t;
        struct shape_syscall *sc;
        __u32 err, bucket, nr;

        t = bpf_map_lookup_elem(&shape_tasks, &cgid);
        if (!t || !ours(ctx, t))
                return 0;
        nr = nr_index(syscall_nr_of(regs));
        sc = &t->sys[nr];
        __sync_fetch_and_add(&sc->calls, 1);
        if ((unsigned long) ret >= (unsigned long) -MAX_ERRNO) {
                err = (__u32) -ret;
                __sync_fetch_and_add(&sc->errors, 1);
                if (err <= SHAPE_ERRNO_USER_MAX)
                        bucket = err;
                else if (err >= SHAPE_ERRNO_KERNEL_BASE)
                        bucket = err - SHAPE_ERRNO_KERNEL_BASE + SHAPE_ERRNO_USER_MAX + 1;
                else
                        bucket = 0;
                /* One bound the verifier can see, whatever clang made of the above. */
                barrier_var(bucket);
                if (bucket >= SHAPE_ERRNO_BUCKETS)
                        bucket = 0;
                __sync_fetch_and_add(&t->errnos[bucket], 1);
                count_errno_slot(sc, err);
        }
        if (t->n_watch == 0)
                return 0;
        if (nr == NR_OPENAT)
                return watch_open(t, cgid, nr, (const char *) PT_REGS_PARM2(regs), PT_REGS_PARM3(regs));
        if (nr == NR_OPENAT2)
                return watch_open(t, cgid, nr, (const char *) PT_REGS_PARM2(regs), 0);
        if (nr == NR_OPEN)
                return watch_open(t, cgid, nr, (const char *) PT_REGS_PARM1(regs), PT_REGS_PARM2(regs));
        if (nr == NR_CREAT)
                return watch_open(t, cgid, nr, (const char *) PT_REGS_PARM1(regs), CREAT_FLAGS);
        return 0;
}

/* ---- the process tree -------------------------------------------------- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(shape_fork, struct task_struct *parent, struct task_struct *child) {
        struct pid_namespace *ns = NULL;
        struct shape_fork_event *e;
        struct shape_task *t;
        __u32 level = 0;
        __u64 cgid;

        /* The child's group: with CLONE_INTO_CGROUP it differs from ours. */
        cgid = BPF_CORE_READ(child, cgroups, dfl_cgrp, kn, id);
        t = bpf_map_lookup_elem(&shape_tasks, &cgid);
        if (!t || !ours(ctx, t))
                return 0;
        if (child->pid != child->tgid) {
                __sync_fetch_and_add(&t->threads, 1);
                return 0;
        }
        if (!gate(t, SHAPE_KIND_FORK))
                return 0;
        e = reserve(t, cgid, sizeof(*e), SHAPE_KIND_FORK);
        if (!e)
                return 0;
        e->child_pid = child->tgid;
        e->child_ns_pid = ns_tgid(child, &level, &ns);
        fill_hdr(&e->hdr, cgid, SHAPE_KIND_FORK, parent->tgid,
                 pid_nr_in(BPF_CORE_READ(parent, group_leader, thread_pid), level, ns));
        bpf_ringbuf_submit(e, 0);
        return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(shape_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
        __u64 cgid = bpf_get_current_cgroup_id();
        struct pid_namespace *ns = NULL;
        struct shape_exec_event *e;
        struct shape_task *t;
        __u64 start, total;
        __u32 level = 0, n;

        t = bpf_map_lookup_elem(&shape_tasks, &cgid);
        if (!t || !ours(ctx, t) || !gate(t, SHAPE_KIND_EXEC))
                return 0;
        e = reserve(t, cgid, sizeof(*e), SHAPE_KIND_EXEC);
        if (!e)
                return 0;
        fill_hdr(&e->hdr, cgid, SHAPE_KIND_EXEC, p->tgid, ns_tgid(p, &level, &ns));
        e->argc = (__u32) BPF_CORE_READ(bprm, argc);
        e->filename_len = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
        e->_pad = 0;
        /* The new image's argv block, just copied in by execve: resident. */
        start = BPF_CORE_READ(p, mm, arg_start);
        total = BPF_CORE_READ(p, mm, arg_end) - start;
        n = (__u32) total;
        barrier_var(n);
        if (n > SHAPE_ARGS_MAX)
                n = SHAPE_ARGS_MAX;
        if (bpf_probe_read_user(e->args, n, (const void *) start) < 0)
                n = 0;
        e->args_len = n;
        e->args_total = total;
        bpf_ringbuf_submit(e, 0);
        return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(shape_exit, struct task_struct *p) {
        struct pid_namespace *ns = NULL;
        struct shape_exit_event *e;
        struct shape_task *t;
        __u32 level = 0;
        __u64 cgid;

        /* One event per process: the thread that takes signal->live to 0
         * (decremented before the tracepoint) is the last one. */
        if (BPF_CORE_READ(p, signal, live.counter) != 0)
                return 0;
        cgid = bpf_get_current_cgroup_id();
        t = bpf_map_lookup_elem(&shape_tasks, &cgid);
        if (!t || !ours(ctx, t) || !gate(t, SHAPE_KIND_EXIT))
                return 0;
        e = reserve(t, cgid, sizeof(*e), SHAPE_KIND_EXIT);
        if (!e)
                return 0;
        fill_hdr(&e->hdr, cgid, SHAPE_KIND_EXIT, p->tgid, ns_tgid(p, &level, &ns));
        e->exit_code = (__u32) p->exit_code;
        e->_pad = 0;
        bpf_ringbuf_submit(e, 0);
        return 0;
}
