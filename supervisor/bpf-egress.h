/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The egress wall (bpf/egress.bpf.c): per-task destination allowlists
 * enforced on connect()/sendmsg() and on every outgoing packet, with each
 * decision reported through a ring buffer.
 *
 * One Egress per supervisor holds the programs and maps; one EgressTask per
 * task holds its links to the task's cgroup v2 directory and its map
 * entries. The programs and maps are loaded once per boot and pinned in
 * bpffs ($STOCKADE_BPF_DIR, default /sys/fs/bpf/stockade; empty: off), and
 * every later Egress reuses them: the tasks of all supervisors then share
 * the maps (keyed by cgroup id), while each Egress has a ring buffer of its
 * own and receives its own tasks' events only. Without bpffs an Egress
 * loads them privately, verifying them as before. See
 * supervisor/bpf-egress.c.
 *
 * Links are bpf_links owned by our fds: if the supervisor dies the kernel
 * detaches them, and the task's sockets lose nothing but the wall's policy
 * -- so a task must not outlive its supervisor (it is killed with its
 * cgroup). Its entries in the shared maps stay behind until another
 * supervisor sweeps them (at its first task). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "egress.h" /* struct egress_event, shared with the BPF side */
#include "profile.h" /* NetRule */

typedef struct Egress Egress;
typedef struct EgressTask EgressTask;

typedef struct EgressCounters {
        uint64_t allowed; /* connect/sendmsg let through (loopback included) */
        uint64_t denied;  /* connect/sendmsg refused, or would be in audit mode, + packets dropped */
        uint64_t lost;    /* events the ring buffer had no room for */
} EgressCounters;

/* Rules and dynamic entries one task may hold (bounds the userspace folding,
 * which is quadratic in it). */
#define EGRESS_TASK_MAX_RULES 1024

/* What a task sent to one destination, as its packets left (the skb hook):
 * every packet let out to a non-loopback destination, audit mode's
 * would-be-denied included. Rows live in one LRU map of
 * EGRESS_TRAFFIC_MAX_ROWS (egress.h) shared by every Egress using the
 * pinned maps (per Egress when private): past that, the least recently
 * updated rows of all their tasks are dropped. */
typedef struct EgressTraffic {
        uint8_t family;   /* AF_INET or AF_INET6 */
        uint8_t proto;    /* IPPROTO_* */
        uint16_t port;    /* host order; 0 when the protocol has none (and for later fragments) */
        uint8_t addr[16]; /* IPv4 (mapped included) in the first 4 bytes */
        bool received;    /* from there to the task (cgroup_skb/ingress); else sent */
        uint64_t bytes;   /* IP header on, link layer off */
        uint64_t packets; /* a GSO packet counts as the segments it becomes */
} EgressTraffic;

typedef void (*EgressEventFn)(const struct egress_event *ev, void *userdata);

/* Opens the pinned programs and maps, or loads, verifies and pins them
 * when there are none for this build (under a lock: supervisors starting
 * together load them once); loads them privately when the cache is
 * unavailable. -errno, logged: only when the kernel refuses the programs,
 * never for the cache. */
int egress_open(Egress **ret);

/* Whether e reused pinned programs (rather than verifying them itself). */
bool egress_cached(const Egress *e);

/* Unpins every egress-* set under $STOCKADE_BPF_DIR (default
 * /sys/fs/bpf/stockade), any build's, and removes the directory when then
 * empty. Open Egresses keep working (they hold their fds); the next
 * egress_open() loads and pins afresh. For tests and operators. -errno. */
int egress_cache_drop(void);

/* Detaches and frees every task still added (their EgressTask pointers are
 * then invalid), closes programs and maps. NULL-safe; returns NULL. */
Egress *egress_close(Egress *e);

/* An fd that polls readable when events are pending (for the event loop). */
int egress_ring_fd(Egress *e);

/* Consumes everything pending without blocking, calling cb for each event.
 * Returns the number consumed, or -errno. */
int egress_consume(Egress *e, EgressEventFn cb, void *userdata);

/* Events lost for sockets with no task entry (the task counters cannot hold
 * them), since e was opened. With the pinned maps the counter is shared:
 * this counts such losses of every supervisor, not only e's. */
int egress_lost_untracked(Egress *e, uint64_t *ret);

/* Installs the allowlist rules[0..n_rules) for the task in cgroup_id (the
 * id of the cgroup v2 dir cgroup_fd) and links the programs to cgroup_fd.
 * The rule_id reported for rules[i] is i + 1. Hostname rules (host != NULL)
 * are skipped: their addresses arrive through egress_task_allow. audit: deny
 * nothing, report what would be denied. Does not take ownership of
 * cgroup_fd or rules. The programs know the task by that exact id: sockets
 * in groups below cgroup_fd would be denied all but loopback (a task cannot
 * make any). On any error nothing is left behind; -E2BIG when a prefix
 * would need more than EGRESS_MAX_RANGES port ranges, -EEXIST when the
 * cgroup already has a task. */
int egress_task_add(Egress *e, int cgroup_fd, uint64_t cgroup_id, const NetRule *rules, size_t n_rules,
                    bool audit, EgressTask **ret);

/* Adds one destination at run time (DNS answers): rule's addr, prefix,
 * ports and protos, reported as rule_id. expires_boot_ns is CLOCK_BOOTTIME
 * ns (0: never); the same destination added again only moves the expiry.
 * After expiry connect()/sendmsg() to it are denied, while flows admitted
 * before keep flowing. -E2BIG as for egress_task_add; then nothing changed. */
int egress_task_allow(Egress *e, EgressTask *t, const NetRule *rule, uint32_t rule_id, uint64_t expires_boot_ns);

int egress_task_counters(Egress *e, const EgressTask *t, EgressCounters *ret);

/* The task's traffic rows, in no particular order: *ret (caller frees; NULL
 * when there are none) and *ret_n. -errno. */
int egress_task_traffic(Egress *e, const EgressTask *t, EgressTraffic **ret, size_t *ret_n);

/* Detaches the links and deletes every map entry of t (traffic rows too),
 * then frees it.
 * NULL-safe; returns NULL. */
EgressTask *egress_task_remove(Egress *e, EgressTask *t);

/* The 64-bit id of the cgroup v2 directory fd (what bpf_get_current_cgroup_id
 * returns for its members). */
int cgroup_fd_id(int fd, uint64_t *ret);

/* The cgroup v2 directory of id, opened through mount_fd (any directory
 * of the cgroup2 mount). -ESTALE or -ENOENT: that cgroup is gone. */
int cgroup_open_by_id(int mount_fd, uint64_t id);

const char *egress_verdict_to_string(unsigned verdict);
const char *egress_hook_to_string(unsigned hook);
