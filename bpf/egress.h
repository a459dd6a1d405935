/* SPDX-License-Identifier: LGPL-2.1-or-later OR BSD-2-Clause */
#pragma once

/* Records and map layouts shared by bpf/egress.bpf.c and
 * supervisor/bpf-egress.c. Fixed-width fields only: the same bytes are read
 * by the kernel and by userspace. */

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Ranges one LPM entry can carry: the rules whose CIDR contains the prefix,
 * folded together by userspace (the trie returns only the longest match). */
#define EGRESS_MAX_RANGES 8

/* Bits of a port range's protos (the values of NET_PROTO_* in profile.h). */
#define EGRESS_PROTO_TCP (1u << 0)
#define EGRESS_PROTO_UDP (1u << 1)

enum {
        EGRESS_VERDICT_ALLOW = 1,
        EGRESS_VERDICT_DENY = 2,
        EGRESS_VERDICT_AUDIT_DENY = 3, /* would have been denied; audit mode let it through */
};

enum {
        EGRESS_HOOK_CONNECT4 = 1,
        EGRESS_HOOK_CONNECT6 = 2,
        EGRESS_HOOK_SENDMSG4 = 3,
        EGRESS_HOOK_SENDMSG6 = 4,
        EGRESS_HOOK_SKB = 5,
};

/* egress_task.flags */
enum {
        EGRESS_TASK_TRACKED = 1u << 0,
        EGRESS_TASK_AUDIT = 1u << 1,
};

/* Value of the task map (hash, key: the task's cgroup id). The counters are
 * bumped with atomics by every CPU. */
struct egress_task {
        __u32 flags;
        __u32 _pad;
        __u64 allowed; /* connect/sendmsg allowed */
        __u64 denied;  /* connect/sendmsg denied (or would be, in audit mode) + packets dropped */
        __u64 lost;    /* events that did not fit in the ring buffer */
};

/* Key of the LPM trie. IPv4 is stored v4-mapped (::ffff:a.b.c.d) so one trie
 * serves both families; prefixlen counts the 64 cgroup-id bits, so a /24 in
 * IPv4 is 64 + 96 + 24. Packed: the trie matches raw bytes after prefixlen. */
struct egress_key {
        __u32 prefixlen;
        __u64 cgroup_id;
        __u8 addr[16];
} __attribute__((packed));

struct egress_range {
        __u64 expires_ns; /* CLOCK_BOOTTIME; 0: permanent */
        __u32 rule_id;
        __u16 port_lo, port_hi;
        __u8 protos;      /* EGRESS_PROTO_* */
        __u8 _pad[7];
};

struct egress_value {
        __u32 n_ranges;
        __u32 _pad;
        struct egress_range ranges[EGRESS_MAX_RANGES];
};

/* Size of each supervisor's ring buffer (the inner map of egress_rings:
 * userspace creates rings of exactly this size). A power of 2, pages. */
#define EGRESS_RING_BYTES (256 * 1024)

/* One decision, through the ring buffer of the task's supervisor. */
struct egress_event {
        __u64 cgroup_id;
        __u32 pid;        /* tgid of the caller; 0 (and comm empty) for the skb hook */
        __u32 rule_id;    /* 1-based index of the matching rule, 0: none */
        char comm[16];
        __u8 addr[16];    /* IPv4 (mapped included) in the first 4 bytes */
        __u16 port;       /* host order; 0 when the protocol has none */
        __u8 family;      /* AF_INET or AF_INET6 */
        __u8 proto;       /* IPPROTO_* */
        __u8 verdict;     /* EGRESS_VERDICT_* */
        __u8 hook;        /* EGRESS_HOOK_* */
        __u8 _pad[2];
};

/* Rows of the traffic map, for all tasks of every supervisor sharing the
 * pinned maps (of one supervisor when they are private). */
#define EGRESS_TRAFFIC_MAX_ROWS 8192

/* Key of the traffic map (LRU hash): what a task sent to one destination,
 * as seen by the skb hook. The padding is zeroed: the hash compares bytes. */
struct egress_traffic_key {
        __u64 cgroup_id;
        __u8 addr[16];    /* IPv6, or IPv4 v4-mapped: the remote end */
        __u16 port;       /* host order, the remote port; 0 when the protocol has none */
        __u8 proto;       /* IPPROTO_* */
        __u8 dir;         /* EGRESS_DIR_*: what the task sent, or received from there */
        __u8 _pad[4];
};

enum { EGRESS_DIR_SENT = 0, EGRESS_DIR_RECEIVED = 1 };

struct egress_traffic_value {
        __u64 bytes;      /* skb->len: IP header on, link layer off */
        __u64 packets;    /* segments: a GSO packet counts as the ones it becomes */
};
