// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The egress wall: which destinations a task's sockets may reach.
 *
 * Hooks (loaded once per supervisor, linked to every task's cgroup v2 dir):
 *   cgroup/connect4, connect6   connect() (TCP, connected UDP, ping, SCTP)
 *   cgroup/sendmsg4, sendmsg6   sendto()/sendmsg() with an address on UDP
 *   cgroup_skb/egress           every packet the task's sockets send: the
 *                               second wall, for what the sock_addr hooks
 *                               never see (raw sockets, unconnected ping
 *                               sockets, anything a future kernel adds)
 *   Verdict: 1 lets it through, 0 denies (connect/sendmsg fail with EPERM;
 *   a dropped packet makes the send fail with EPERM too).
 *
 * Maps:
 *   egress_tasks   hash, cgroup id -> struct egress_task (flags, counters).
 *                  No entry (or no TRACKED flag) for a socket in a cgroup
 *                  we are attached to: deny. Fail closed.
 *   egress_rules   LPM trie, {prefixlen, cgroup id, addr (IPv4 v4-mapped)}
 *                  -> up to EGRESS_MAX_RANGES {ports, protos, rule, expiry}.
 *                  The longest prefix wins, so userspace folds into each
 *                  prefix the ranges of every rule whose CIDR contains it.
 *                  Sentinel: every task has a key ::ffff:0:0/96 (ranges of
 *                  IPv4 rules only), so an IPv6 rule like ::/0 never
 *                  admits IPv4. A range is {ports, protos, rule id, expiry
 *                  in CLOCK_BOOTTIME ns, 0 = never}: no timer needed.
 *   egress_events  ring buffer of struct egress_event; a full ring bumps the
 *                  task's lost counter (or lost_untracked).
 *
 * Always allowed: loopback (127/8, ::1, and 0.0.0.0/:: which connect()
 * takes for loopback): it ends in the task's own network namespace.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "egress.h"

/* Not in vmlinux.h: these are preprocessor constants in the uapi. */
#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define IP_OFFSET_MASK 0x1fff
#define V6_NEXTHDR_HOP 0
#define V6_NEXTHDR_ROUTING 43
#define V6_NEXTHDR_FRAGMENT 44
#define V6_NEXTHDR_AUTH 51
#define V6_NEXTHDR_DEST 60
#define V6_MAX_EXT_HDRS 6
#define PROTO_MPTCP 262

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 4096);
        __type(key, __u64);
        __type(value, struct egress_task);
} egress_tasks SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_LPM_TRIE);
        __uint(max_entries, 65536);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __type(key, struct egress_key);
        __type(value, struct egress_value);
} egress_rules SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, 256 * 1024);
} egress_events SEC(".maps");

/* Events lost for sockets without a task entry (nowhere else to count them). */
__u64 lost_untracked = 0;

struct dest {
        __u8 addr[16]; /* IPv6, or IPv4 v4-mapped */
        __u16 port;
        __u8 proto;    /* IPPROTO_* */
        __u8 protobit; /* EGRESS_PROTO_*, 0 for protocols no rule can name */
};

static __always_inline void set_v4(struct dest *d, __u32 ip4_be) {
        __builtin_memset(d->addr, 0, 10);
        d->addr[10] = 0xff;
        d->addr[11] = 0xff;
        __builtin_memcpy(&d->addr[12], &ip4_be, 4);
}

static __always_inline bool is_v4(const struct dest *d) {
        for (int i = 0; i < 10; i++)
                if (d->addr[i])
                        return false;
        return d->addr[10] == 0xff && d->addr[11] == 0xff;
}

static __always_inline bool is_loopback(const struct dest *d) {
        bool zero12 = true;

        if (is_v4(d))
                return d->addr[12] == 127 ||
                       (d->addr[12] | d->addr[13] | d->addr[14] | d->addr[15]) == 0;
        for (int i = 0; i < 12; i++)
                if (d->addr[i])
                        zero12 = false;
        return zero12 && d->addr[12] == 0 && d->addr[13] == 0 && d->addr[14] == 0 && d->addr[15] <= 1;
}

static __always_inline __u8 protobit_of(__u32 type, __u32 proto) {
        if (type == SOCK_STREAM && (proto == IPPROTO_TCP || proto == PROTO_MPTCP))
                return EGRESS_PROTO_TCP;
        if (type == SOCK_DGRAM && proto == IPPROTO_UDP)
                return EGRESS_PROTO_UDP;
        return 0;
}

/* The task owning cgroup id cgid, or, when a task made sub-groups of its
 * own, the deepest ancestor that is a task. The programs run for every
 * descendant of the group they are linked to, so without the walk a
 * sub-group would be denied everything (safe, but surprising). */
static __always_inline struct egress_task *task_lookup(__u64 cgid, struct __sk_buff *skb, __u64 *ret_id) {
        struct egress_task *t;

        t = bpf_map_lookup_elem(&egress_tasks, &cgid);
        if (!t) {
                for (int level = EGRESS_MAX_CGROUP_LEVEL; level >= 0; level--) {
                        __u64 id = skb ? bpf_skb_ancestor_cgroup_id(skb, level)
                                       : bpf_get_current_ancestor_cgroup_id(level);
                        if (id == 0 || id == cgid)
                                continue;
                        t = bpf_map_lookup_elem(&egress_tasks, &id);
                        if (t) {
                                cgid = id;
                                break;
                        }
                }
        }
        *ret_id = cgid;
        return t;
}

static __always_inline bool tracked(const struct egress_task *t) {
        return t && (t->flags & EGRESS_TASK_TRACKED);
}

/* First folded range that admits the destination; rule id in *ret_rule.
 * ignore_expiry: see the skb hook. */
static __always_inline bool rules_allow(__u64 cgid, const struct dest *d, bool ignore_expiry, __u32 *ret_rule) {
        struct egress_key key = { .prefixlen = 64 + 128, .cgroup_id = cgid };
        struct egress_value *v;
        __u64 now;

        if (d->protobit == 0)
                return false;
        __builtin_memcpy(key.addr, d->addr, 16);
        v = bpf_map_lookup_elem(&egress_rules, &key);
        if (!v)
                return false;

        now = bpf_ktime_get_boot_ns();
        for (int i = 0; i < EGRESS_MAX_RANGES; i++) {
                const struct egress_range *r = &v->ranges[i];

                if (i >= v->n_ranges)
                        break;
                if (!(r->protos & d->protobit) || d->port < r->port_lo || d->port > r->port_hi)
                        continue;
                if (r->expires_ns != 0 && r->expires_ns <= now && !ignore_expiry)
                        continue;
                *ret_rule = r->rule_id;
                return true;
        }
        return false;
}

static __always_inline void emit(struct egress_task *t, __u64 cgid, const struct dest *d, __u8 verdict, __u8 hook,
                                 __u32 rule_id) {
        struct egress_event *e;

        e = bpf_ringbuf_reserve(&egress_events, sizeof(*e), 0);
        if (!e) {
                __sync_fetch_and_add(t ? &t->lost : &lost_untracked, 1);
                return;
        }
        e->cgroup_id = cgid;
        e->pid = bpf_get_current_pid_tgid() >> 32;
        e->rule_id = rule_id;
        bpf_get_current_comm(e->comm, sizeof(e->comm));
        if (is_v4(d)) {
                e->family = AF_INET;
                __builtin_memcpy(e->addr, &d->addr[12], 4);
                __builtin_memset(&e->addr[4], 0, 12);
        } else {
                e->family = AF_INET6;
                __builtin_memcpy(e->addr, d->addr, 16);
        }
        e->port = d->port;
        e->proto = d->proto;
        e->verdict = verdict;
        e->hook = hook;
        e->_pad[0] = e->_pad[1] = 0;
        bpf_ringbuf_submit(e, 0);
}

/* The sock_addr hooks: one decision per connect()/sendmsg(), each reported. */
static __always_inline int judge_sock_addr(struct bpf_sock_addr *ctx, struct dest *d, __u8 hook) {
        struct egress_task *t;
        __u32 rule_id = 0;
        __u64 cgid;

        d->port = bpf_ntohs((__u16) ctx->user_port);
        d->proto = ctx->protocol == PROTO_MPTCP ? IPPROTO_TCP : (__u8) ctx->protocol;
        d->protobit = protobit_of(ctx->type, ctx->protocol);

        t = task_lookup(bpf_get_current_cgroup_id(), NULL, &cgid);
        if (is_loopback(d)) {
                if (tracked(t))
                        __sync_fetch_and_add(&t->allowed, 1);
                emit(t, cgid, d, EGRESS_VERDICT_ALLOW, hook, 0);
                return 1;
        }
        if (!tracked(t)) {
                emit(t, cgid, d, EGRESS_VERDICT_DENY, hook, 0);
                return 0;
        }
        if (rules_allow(cgid, d, false, &rule_id)) {
                __sync_fetch_and_add(&t->allowed, 1);
                emit(t, cgid, d, EGRESS_VERDICT_ALLOW, hook, rule_id);
                return 1;
        }
        __sync_fetch_and_add(&t->denied, 1);
        if (t->flags & EGRESS_TASK_AUDIT) {
                emit(t, cgid, d, EGRESS_VERDICT_AUDIT_DENY, hook, 0);
                return 1;
        }
        emit(t, cgid, d, EGRESS_VERDICT_DENY, hook, 0);
        return 0;
}

static __always_inline int judge4(struct bpf_sock_addr *ctx, __u8 hook) {
        struct dest d = {};

        set_v4(&d, ctx->user_ip4);
        return judge_sock_addr(ctx, &d, hook);
}

/* An IPv6 socket reaching ::ffff:a.b.c.d runs only the v6 hooks (the kernel
 * hands such connects to the IPv4 code after the hook); the trie keeps IPv4
 * v4-mapped, so the lookup judges it as IPv4 without a special case. */
static __always_inline int judge6(struct bpf_sock_addr *ctx, __u8 hook) {
        struct dest d = {};
        __u32 w;

        /* Context fields need constant offsets: no loop. */
        w = ctx->user_ip6[0];
        __builtin_memcpy(&d.addr[0], &w, 4);
        w = ctx->user_ip6[1];
        __builtin_memcpy(&d.addr[4], &w, 4);
        w = ctx->user_ip6[2];
        __builtin_memcpy(&d.addr[8], &w, 4);
        w = ctx->user_ip6[3];
        __builtin_memcpy(&d.addr[12], &w, 4);
        return judge_sock_addr(ctx, &d, hook);
}

SEC("cgroup/connect4")
int egress_connect4(struct bpf_sock_addr *ctx) {
        return judge4(ctx, EGRESS_HOOK_CONNECT4);
}

SEC("cgroup/connect6")
int egress_connect6(struct bpf_sock_addr *ctx) {
        return judge6(ctx, EGRESS_HOOK_CONNECT6);
}

SEC("cgroup/sendmsg4")
int egress_sendmsg4(struct bpf_sock_addr *ctx) {
        return judge4(ctx, EGRESS_HOOK_SENDMSG4);
}

SEC("cgroup/sendmsg6")
int egress_sendmsg6(struct bpf_sock_addr *ctx) {
        return judge6(ctx, EGRESS_HOOK_SENDMSG6);
}

struct iphdr4 {
        __u8 ihl_version;
        __u8 tos;
        __u16 tot_len;
        __u16 id;
        __u16 frag_off;
        __u8 ttl;
        __u8 protocol;
        __u16 check;
        __u32 saddr;
        __u32 daddr;
};

struct iphdr6 {
        __u32 vtc_flow;
        __u16 payload_len;
        __u8 nexthdr;
        __u8 hop_limit;
        __u8 saddr[16];
        __u8 daddr[16];
};

/* Fills d from the packet; false when the headers cannot be read. */
static __always_inline bool parse_packet(struct __sk_buff *skb, struct dest *d) {
        __u32 l4_off;
        bool first_frag = true;
        __u16 ports[2];

        if (skb->protocol == bpf_htons(ETH_P_IP)) {
                struct iphdr4 ip;

                if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET) < 0)
                        return false;
                set_v4(d, ip.daddr);
                d->proto = ip.protocol;
                l4_off = (ip.ihl_version & 0x0f) * 4;
                first_frag = (bpf_ntohs(ip.frag_off) & IP_OFFSET_MASK) == 0;
        } else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
                struct iphdr6 ip6;
                __u8 nexthdr;

                if (bpf_skb_load_bytes_relative(skb, 0, &ip6, sizeof(ip6), BPF_HDR_START_NET) < 0)
                        return false;
                __builtin_memcpy(d->addr, ip6.daddr, 16);
                nexthdr = ip6.nexthdr;
                l4_off = sizeof(ip6);
                for (int i = 0; i < V6_MAX_EXT_HDRS; i++) {
                        __u8 ext[2];
                        __u16 frag[2];

                        if (nexthdr != V6_NEXTHDR_HOP && nexthdr != V6_NEXTHDR_ROUTING &&
                            nexthdr != V6_NEXTHDR_FRAGMENT && nexthdr != V6_NEXTHDR_AUTH &&
                            nexthdr != V6_NEXTHDR_DEST)
                                break;
                        if (bpf_skb_load_bytes_relative(skb, l4_off, ext, sizeof(ext), BPF_HDR_START_NET) < 0)
                                return false;
                        if (nexthdr == V6_NEXTHDR_FRAGMENT) {
                                if (bpf_skb_load_bytes_relative(skb, l4_off, frag, sizeof(frag),
                                                                BPF_HDR_START_NET) < 0)
                                        return false;
                                first_frag = (bpf_ntohs(frag[1]) & 0xfff8) == 0;
                                l4_off += 8;
                        } else if (nexthdr == V6_NEXTHDR_AUTH)
                                l4_off += (ext[1] + 2) * 4;
                        else
                                l4_off += (ext[1] + 1) * 8;
                        nexthdr = ext[0];
                }
                d->proto = nexthdr;
        } else
                return false;

        /* Sockets the hooks know of: the skb's protocol is that of the packet
         * (a raw socket may write a UDP header; it is judged as UDP). */
        if (d->proto == IPPROTO_TCP)
                d->protobit = EGRESS_PROTO_TCP;
        else if (d->proto == IPPROTO_UDP)
                d->protobit = EGRESS_PROTO_UDP;
        else
                return true;

        /* A later fragment has no ports: judged as port 0, which only an
         * any-port rule admits. */
        if (first_frag) {
                if (bpf_skb_load_bytes_relative(skb, l4_off, ports, sizeof(ports), BPF_HDR_START_NET) < 0)
                        return false;
                d->port = bpf_ntohs(ports[1]);
        }
        return true;
}

/* The second wall. The task is the socket's cgroup (bpf_skb_cgroup_id):
 * packets may leave from softirq or a timer (TCP retransmits, ACKs), where
 * the current task is whoever was interrupted, and the kernel picks the
 * programs to run from the same socket cgroup, so both agree. Only drops are
 * reported: an allowed stream would flood the ring with every packet.
 *
 * Expiry of DNS-learned ranges is ignored for TCP/UDP sockets here: their
 * destinations were judged, expiry included, when connect()/sendmsg() ran,
 * and a flow admitted before the TTL ran out must not be cut mid-stream.
 * Raw and ping sockets were never judged, so for them expiry counts. */
SEC("cgroup_skb/egress")
int egress_skb(struct __sk_buff *skb) {
        struct dest d = {};
        struct egress_task *t;
        struct bpf_sock *sk;
        bool judged_by_hooks = false;
        __u32 rule_id = 0;
        __u64 cgid;

        if (!parse_packet(skb, &d))
                d.protobit = 0; /* unreadable: nothing can match, judged below */
        else if (is_loopback(&d))
                return 1;

        sk = skb->sk;
        if (sk) {
                sk = bpf_sk_fullsock(sk);
                if (sk && protobit_of(sk->type, sk->protocol) != 0)
                        judged_by_hooks = true;
        }

        t = task_lookup(bpf_skb_cgroup_id(skb), skb, &cgid);
        if (!tracked(t)) {
                emit(t, cgid, &d, EGRESS_VERDICT_DENY, EGRESS_HOOK_SKB, 0);
                return 0;
        }
        if (rules_allow(cgid, &d, judged_by_hooks, &rule_id))
                return 1;

        if (t->flags & EGRESS_TASK_AUDIT) {
                /* A flow the hooks let through in audit mode was reported
                 * there, once; not again for each of its packets. */
                if (judged_by_hooks)
                        return 1;
                __sync_fetch_and_add(&t->denied, 1);
                emit(t, cgid, &d, EGRESS_VERDICT_AUDIT_DENY, EGRESS_HOOK_SKB, 0);
                return 1;
        }
        __sync_fetch_and_add(&t->denied, 1);
        emit(t, cgid, &d, EGRESS_VERDICT_DENY, EGRESS_HOOK_SKB, 0);
        return 0;
}
