// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The egress wall: which destinations a task's sockets may reach.
 *
 * Hooks (loaded once per boot and pinned, or once per supervisor when bpffs
 * is not available; linked to every task's cgroup v2 dir):
 *   cgroup/connect4, connect6   connect() (TCP, connected UDP, ping, SCTP)
 *   cgroup/sendmsg4, sendmsg6   sendto()/sendmsg() with an address on UDP
 *   cgroup_skb/egress           every packet the task's sockets send: the
 *                               second wall, for what the sock_addr hooks
 *                               never see (raw sockets, unconnected ping
 *                               sockets, anything a future kernel adds)
 *   cgroup_skb/ingress          every packet that reaches the task's
 *                               sockets: counted per remote end, never
 *                               judged (replies to allowed flows)
 *   Verdict: 1 lets it through, 0 denies (connect/sendmsg fail with EPERM;
 *   a dropped packet makes the send fail with EPERM too).
 *
 * Maps:
 *   egress_tasks   hash, cgroup id -> struct egress_task (flags, counters).
 *                  No entry (or no TRACKED flag) for the exact cgroup of a
 *                  socket in a cgroup we are attached to: deny. Fail closed.
 *   egress_rules   LPM trie, {prefixlen, cgroup id, addr (IPv4 v4-mapped)}
 *                  -> up to EGRESS_MAX_RANGES {ports, protos, rule, expiry}.
 *                  The longest prefix wins, so userspace folds into each
 *                  prefix the ranges of every rule whose CIDR contains it.
 *                  Sentinel: every task has a key ::ffff:0:0/96 (ranges of
 *                  IPv4 rules only), so an IPv6 rule like ::/0 never
 *                  admits IPv4. A range is {ports, protos, rule id, expiry
 *                  in CLOCK_BOOTTIME ns, 0 = never}: no timer needed.
 *   egress_rings   hash of maps, cgroup id -> ring buffer of struct
 *                  egress_event, one ring per supervisor filed under each of
 *                  its tasks. No ring, or a full one, bumps the task's lost
 *                  counter (or lost_untracked).
 *   egress_traffic LRU hash, {cgroup id, addr, port, proto, dir} -> bytes
 *                  and packets the egress skb hook let out (dir sent) or the
 *                  ingress one saw arrive (dir received), loopback aside.
 *
 * Always allowed: loopback (127/8, ::1, and 0.0.0.0/:: which connect()
 * takes for loopback): it ends in the task's own network namespace.
 *
 * Verification cost: the programs are verified once per boot (at each
 * supervisor start when the pinned cache is unavailable), so keep it low:
 * the work lives in a few global (non-static, __noinline) functions, which
 * the verifier checks once each, on their own, instead of once per path of
 * each caller. Their pointer arguments may be NULL as far as the verifier
 * knows, hence the checks. IPv4 is turned into v4-mapped IPv6 first, so one
 * judge serves both families.
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
#define IP_OFFSET_MASK 0x1fff
#define V6_NEXTHDR_HOP 0
#define V6_NEXTHDR_ROUTING 43
#define V6_NEXTHDR_FRAGMENT 44
#define V6_NEXTHDR_AUTH 51
#define V6_NEXTHDR_DEST 60
#define V6_MAX_EXT_HDRS 6
#define PROTO_MPTCP 262
/* uapi values the fallback bpf/vmlinux/vmlinux.h does not carry. */
#define MAP_TYPE_LRU_HASH 9 /* BPF_MAP_TYPE_LRU_HASH */
#define UPDATE_NOEXIST 1    /* BPF_NOEXIST */
#define MAP_TYPE_HASH_OF_MAPS 13 /* BPF_MAP_TYPE_HASH_OF_MAPS */

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

/* The ring of each task's supervisor, by the task's cgroup id: the
 * programs and the other maps may be shared by every supervisor of the
 * machine (pinned, see supervisor/bpf-egress.c), the events must not be.
 * Each supervisor creates its own ring (of this inner definition: the
 * kernel requires the same max_entries) and files it under the cgroup id of
 * each of its tasks. */
struct egress_ring {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, EGRESS_RING_BYTES);
};

struct {
        __uint(type, MAP_TYPE_HASH_OF_MAPS);
        __uint(max_entries, 4096);
        __type(key, __u64);
        __array(values, struct egress_ring);
} egress_rings SEC(".maps");

struct {
        __uint(type, MAP_TYPE_LRU_HASH);
        __uint(max_entries, EGRESS_TRAFFIC_MAX_ROWS);
        __type(key, struct egress_traffic_key);
        __type(value, struct egress_traffic_value);
} egress_traffic SEC(".maps");

/* Events lost for sockets without a task entry (nowhere else to count them). */
__u64 lost_untracked = 0;

/* The context fields read, at their offsets in <linux/bpf.h>: uapi, which
 * only ever appends. Read through these, not the vmlinux.h types: those
 * carry preserve_access_index, and a single CO-RE relocation makes libbpf
 * parse the whole kernel BTF (5 MB, ~50 ms here) at every load, for offsets
 * that cannot move. The program signatures keep the real context types (the
 * verifier recognizes a global function's context argument by type name). */
struct skb_ctx {
        __u32 len;
        __u32 _pad0[3];
        __u32 protocol;
        __u32 _pad1[36];
        __u32 gso_segs;
        struct bpf_sock *sk;
};
_Static_assert(__builtin_offsetof(struct skb_ctx, protocol) == 16, "__sk_buff.protocol");
_Static_assert(__builtin_offsetof(struct skb_ctx, gso_segs) == 164, "__sk_buff.gso_segs");
_Static_assert(__builtin_offsetof(struct skb_ctx, sk) == 168, "__sk_buff.sk");

struct sock_addr_ctx {
        __u32 user_family;
        __u32 user_ip4;
        __u32 user_ip6[4];
        __u32 user_port;
        __u32 family;
        __u32 type;
        __u32 protocol;
};
_Static_assert(__builtin_offsetof(struct sock_addr_ctx, protocol) == 36, "bpf_sock_addr.protocol");

struct sock_ctx {
        __u32 bound_dev_if;
        __u32 family;
        __u32 type;
        __u32 protocol;
};

#define SKB(skb) ((const struct skb_ctx *) (skb))
#define SOCK_ADDR(ctx) ((const struct sock_addr_ctx *) (ctx))

struct dest {
        union {
                __u8 addr[16]; /* IPv6, or IPv4 v4-mapped */
                __u32 addr32[4];
        };
        __u16 port;
        __u8 proto;    /* IPPROTO_* */
        __u8 protobit; /* EGRESS_PROTO_*, 0 for protocols no rule can name */
};

/* judge_skb() flags */
enum {
        SKB_PARSED = 1u << 0,          /* d holds the packet's destination */
        SKB_JUDGED_BY_HOOKS = 1u << 1, /* a TCP/UDP socket: connect/sendmsg judged it */
};

static __always_inline void set_v4(struct dest *d, __u32 ip4_be) {
        d->addr32[0] = 0;
        d->addr32[1] = 0;
        d->addr32[2] = bpf_htonl(0xffff);
        d->addr32[3] = ip4_be;
}

static __always_inline bool is_v4(const struct dest *d) {
        return (d->addr32[0] | d->addr32[1]) == 0 && d->addr32[2] == bpf_htonl(0xffff);
}

static __always_inline bool is_loopback(const struct dest *d) {
        if (is_v4(d))
                return d->addr[12] == 127 || d->addr32[3] == 0;
        return (d->addr32[0] | d->addr32[1] | d->addr32[2]) == 0 &&
               (d->addr32[3] == 0 || d->addr32[3] == bpf_htonl(1));
}

static __always_inline __u8 protobit_of(__u32 type, __u32 proto) {
        if (type == SOCK_STREAM && (proto == IPPROTO_TCP || proto == PROTO_MPTCP))
                return EGRESS_PROTO_TCP;
        if (type == SOCK_DGRAM && proto == IPPROTO_UDP)
                return EGRESS_PROTO_UDP;
        return 0;
}

static __always_inline bool tracked(const struct egress_task *t) {
        return t && (t->flags & EGRESS_TASK_TRACKED);
}

/* The task of a cgroup, by its exact id: no walk up the ancestors. Linked
 * programs run for the groups below the task's too, but a task cannot make
 * any: it has no capabilities, runs in a cgroup namespace of its own, and no
 * cgroupfs is mounted in its sandbox. Were a sub-group to appear anyway, its
 * sockets would find no entry and be denied (fail closed). */
static __always_inline struct egress_task *task_of(__u64 cgid) {
        return bpf_map_lookup_elem(&egress_tasks, &cgid);
}

/* The rule id of the first folded range that admits the destination, or -1.
 * ignore_expiry: see the skb hook. */
__noinline long rules_match(__u64 cgid, const struct dest *d, __u32 ignore_expiry) {
        struct egress_key key = { .prefixlen = 64 + 128, .cgroup_id = cgid };
        struct egress_value *v;
        __u32 n, port, protobit;
        __u64 cutoff;

        if (!d || d->protobit == 0)
                return -1;
        __builtin_memcpy(key.addr, d->addr, 16);
        v = bpf_map_lookup_elem(&egress_rules, &key);
        if (!v)
                return -1;

        /* One comparison per test, so that each range adds few verifier
         * paths: a range is expired when 0 < expires_ns <= cutoff (never,
         * with cutoff 0), and port_lo <= port <= port_hi is one unsigned
         * comparison (userspace guarantees port_lo <= port_hi). */
        cutoff = ignore_expiry ? 0 : bpf_ktime_get_boot_ns();
        n = v->n_ranges;
        port = d->port;
        protobit = d->protobit;
        for (__u32 i = 0; i < EGRESS_MAX_RANGES; i++) {
                const struct egress_range *r = &v->ranges[i];

                if (i >= n)
                        break;
                if (!(r->protos & protobit))
                        continue;
                if (port - r->port_lo > (__u32) (r->port_hi - r->port_lo))
                        continue;
                if (r->expires_ns - 1 < cutoff)
                        continue;
                return r->rule_id;
        }
        return -1;
}

/* One event into the ring of cgid's supervisor; -1 when it has none or it is full.
 * Inlined with a constant who: cgroup_skb programs may not call the
 * current-task helpers before Linux 6.x (6.1 refuses them even in a branch
 * never taken), so the packet wall's events carry no pid or comm. */
static __always_inline int emit(__u64 cgid, const struct dest *d, __u32 verdict, __u32 hook, __u32 rule_id,
                                const bool who) {
        struct egress_event *e;

        void *ring;

        if (!d)
                return 0;
        ring = bpf_map_lookup_elem(&egress_rings, &cgid);
        if (!ring) /* no task (or its ring not filed yet): lost */
                return -1;
        e = bpf_ringbuf_reserve(ring, sizeof(*e), 0);
        if (!e)
                return -1;
        e->cgroup_id = cgid;
        e->rule_id = rule_id;
        if (who) {
                e->pid = bpf_get_current_pid_tgid() >> 32;
                bpf_get_current_comm(e->comm, sizeof(e->comm));
        } else {
                e->pid = 0;
                __builtin_memset(e->comm, 0, sizeof(e->comm));
        }
        if (is_v4(d)) {
                e->family = AF_INET;
                __builtin_memcpy(e->addr, &d->addr32[3], 4);
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
        return 0;
}

static __always_inline void report(struct egress_task *t, __u64 cgid, const struct dest *d, __u32 verdict,
                                   __u32 hook, __u32 rule_id, const bool who) {
        if (emit(cgid, d, verdict, hook, rule_id, who) < 0)
                __sync_fetch_and_add(t ? &t->lost : &lost_untracked, 1);
}

/* The sock_addr hooks: one decision per connect()/sendmsg(), each reported.
 * d: the destination, v4-mapped for IPv4 sockets. Returns the verdict. */
__noinline int judge_sock_addr(const struct dest *d, __u32 hook) {
        __u64 cgid = bpf_get_current_cgroup_id();
        struct egress_task *t;
        __u32 verdict = EGRESS_VERDICT_DENY, rule_id = 0;
        int pass = 0;
        long rule;

        if (!d)
                return 0;
        t = task_of(cgid);
        if (is_loopback(d)) {
                if (tracked(t))
                        __sync_fetch_and_add(&t->allowed, 1);
                verdict = EGRESS_VERDICT_ALLOW;
                pass = 1;
        } else if (tracked(t)) {
                rule = rules_match(cgid, d, 0);
                if (rule >= 0) {
                        __sync_fetch_and_add(&t->allowed, 1);
                        verdict = EGRESS_VERDICT_ALLOW;
                        rule_id = rule;
                        pass = 1;
                } else {
                        __sync_fetch_and_add(&t->denied, 1);
                        if (t->flags & EGRESS_TASK_AUDIT) {
                                verdict = EGRESS_VERDICT_AUDIT_DENY;
                                pass = 1;
                        }
                }
        }
        report(t, cgid, d, verdict, hook, rule_id, true);
        return pass;
}

static __always_inline void sock_addr_dest(struct bpf_sock_addr *ctx, struct dest *d) {
        __u32 proto = SOCK_ADDR(ctx)->protocol;

        d->port = bpf_ntohs((__u16) SOCK_ADDR(ctx)->user_port);
        d->proto = proto == PROTO_MPTCP ? IPPROTO_TCP : (__u8) proto;
        d->protobit = protobit_of(SOCK_ADDR(ctx)->type, proto);
}

static __always_inline int judge4(struct bpf_sock_addr *ctx, __u32 hook) {
        struct dest d = {};

        set_v4(&d, SOCK_ADDR(ctx)->user_ip4);
        sock_addr_dest(ctx, &d);
        return judge_sock_addr(&d, hook) & 1;
}

/* An IPv6 socket reaching ::ffff:a.b.c.d runs only the v6 hooks (the kernel
 * hands such connects to the IPv4 code after the hook); the trie keeps IPv4
 * v4-mapped, so the lookup judges it as IPv4 without a special case. */
static __always_inline int judge6(struct bpf_sock_addr *ctx, __u32 hook) {
        struct dest d = {};

        /* Context fields need constant offsets: no loop. */
        d.addr32[0] = SOCK_ADDR(ctx)->user_ip6[0];
        d.addr32[1] = SOCK_ADDR(ctx)->user_ip6[1];
        d.addr32[2] = SOCK_ADDR(ctx)->user_ip6[2];
        d.addr32[3] = SOCK_ADDR(ctx)->user_ip6[3];
        sock_addr_dest(ctx, &d);
        return judge_sock_addr(&d, hook) & 1;
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
        __u32 saddr[4];
        __u32 daddr[4];
};

/* The IPv6 extension headers skipped to find the transport header. */
#define V6_EXT_MASK                                                                                     \
        ((1ULL << V6_NEXTHDR_HOP) | (1ULL << V6_NEXTHDR_ROUTING) | (1ULL << V6_NEXTHDR_FRAGMENT) |     \
         (1ULL << V6_NEXTHDR_AUTH) | (1ULL << V6_NEXTHDR_DEST))

/* Fills d from the packet, read with bpf_skb_load_bytes_relative() into the
 * stack; 0 when the headers cannot be read. */
__noinline int parse_packet(struct __sk_buff *skb, struct dest *d, __u32 ingress) {
        __u32 l4_off, frag = 0; /* fragment offset: the ports are in fragment 0 only */
        __u16 ports[2];
        __u8 nexthdr;

        if (!d)
                return 0;
        if (SKB(skb)->protocol == bpf_htons(ETH_P_IP)) {
                struct iphdr4 ip;

                if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET) < 0)
                        return 0;
                set_v4(d, ingress ? ip.saddr : ip.daddr);
                nexthdr = ip.protocol;
                l4_off = (ip.ihl_version & 0x0f) * 4;
                frag = bpf_ntohs(ip.frag_off) & IP_OFFSET_MASK;
        } else if (SKB(skb)->protocol == bpf_htons(ETH_P_IPV6)) {
                struct iphdr6 ip6;

                if (bpf_skb_load_bytes_relative(skb, 0, &ip6, sizeof(ip6), BPF_HDR_START_NET) < 0)
                        return 0;
                if (ingress) {
                        d->addr32[0] = ip6.saddr[0];
                        d->addr32[1] = ip6.saddr[1];
                        d->addr32[2] = ip6.saddr[2];
                        d->addr32[3] = ip6.saddr[3];
                } else {
                        d->addr32[0] = ip6.daddr[0];
                        d->addr32[1] = ip6.daddr[1];
                        d->addr32[2] = ip6.daddr[2];
                        d->addr32[3] = ip6.daddr[3];
                }
                nexthdr = ip6.nexthdr;
                l4_off = sizeof(ip6);
                for (int i = 0; i < V6_MAX_EXT_HDRS; i++) {
                        /* next header, length, and for a fragment header
                         * the offset and flags */
                        __u8 ext[4];
                        __u64 bit;
                        __u32 is_frag, is_auth, len, len_auth;

                        if (nexthdr >= 64)
                                break;
                        bit = 1ULL << nexthdr;
                        if (!(bit & V6_EXT_MASK))
                                break;
                        if (bpf_skb_load_bytes_relative(skb, l4_off, ext, sizeof(ext), BPF_HDR_START_NET) < 0)
                                return 0;
                        /* The length by kind without branches, so that each
                         * header adds one verifier path, not three: a
                         * fragment header is 8 bytes, AH counts 4-byte words
                         * minus 2, the others 8-byte words minus 1. The
                         * barriers keep clang from turning the masks back
                         * into branches. */
                        is_frag = (bit >> V6_NEXTHDR_FRAGMENT) & 1;
                        is_auth = (bit >> V6_NEXTHDR_AUTH) & 1;
                        barrier_var(is_frag);
                        barrier_var(is_auth);
                        len = (ext[1] + 1) * 8;
                        len_auth = (ext[1] + 2) * 4;
                        len ^= (len ^ len_auth) & -is_auth;
                        len ^= (len ^ 8) & -is_frag;
                        frag |= ((ext[2] << 8 | ext[3]) & 0xfff8) & -is_frag;
                        l4_off += len;
                        nexthdr = ext[0];
                }
        } else
                return 0;

        d->proto = nexthdr;
        /* Sockets the hooks know of: the skb's protocol is that of the packet
         * (a raw socket may write a UDP header; it is judged as UDP). */
        if (nexthdr == IPPROTO_TCP)
                d->protobit = EGRESS_PROTO_TCP;
        else if (nexthdr == IPPROTO_UDP)
                d->protobit = EGRESS_PROTO_UDP;
        else
                return 1;

        /* A later fragment has no ports: judged as port 0, which only an
         * any-port rule admits. */
        if (frag == 0) {
                if (bpf_skb_load_bytes_relative(skb, l4_off, ports, sizeof(ports), BPF_HDR_START_NET) < 0)
                        return 0;
                d->port = bpf_ntohs(ingress ? ports[0] : ports[1]);
        }
        return 1;
}

/* Bytes and packets a task sent to one destination. The LRU evicts the
 * least recently bumped rows when full. */
__noinline int count_traffic(struct __sk_buff *skb, __u64 cgid, const struct dest *d, __u32 dir) {
        struct egress_traffic_key k;
        struct egress_traffic_value *v, init;
        __u32 segs;

        if (!d)
                return 0;
        __builtin_memset(&k, 0, sizeof(k));
        k.cgroup_id = cgid;
        __builtin_memcpy(k.addr, d->addr, 16);
        k.port = d->port;
        k.proto = d->proto;
        k.dir = dir ? EGRESS_DIR_RECEIVED : EGRESS_DIR_SENT;
        segs = SKB(skb)->gso_segs;
        if (segs == 0)
                segs = 1;

        v = bpf_map_lookup_elem(&egress_traffic, &k);
        if (!v) {
                init = (struct egress_traffic_value) { .bytes = SKB(skb)->len, .packets = segs };
                if (bpf_map_update_elem(&egress_traffic, &k, &init, UPDATE_NOEXIST) == 0)
                        return 0;
                v = bpf_map_lookup_elem(&egress_traffic, &k); /* another CPU added it */
                if (!v)
                        return 0;
        }
        __sync_fetch_and_add(&v->bytes, SKB(skb)->len);
        __sync_fetch_and_add(&v->packets, segs);
        return 0;
}

/* The second wall. The task is the socket's cgroup (bpf_skb_cgroup_id):
 * packets may leave from softirq or a timer (TCP retransmits, ACKs), where
 * the current task is whoever was interrupted, and the kernel picks the
 * programs to run from the same socket cgroup, so both agree. Only drops are
 * reported: an allowed stream would flood the ring with every packet; what
 * leaves is counted per destination in egress_traffic instead.
 *
 * Expiry of DNS-learned ranges is ignored for TCP/UDP sockets here: their
 * destinations were judged, expiry included, when connect()/sendmsg() ran,
 * and a flow admitted before the TTL ran out must not be cut mid-stream.
 * Raw and ping sockets were never judged, so for them expiry counts. */
__noinline int judge_skb(struct __sk_buff *skb, const struct dest *d, __u32 flags) {
        struct egress_task *t;
        __u32 verdict = EGRESS_VERDICT_DENY;
        int pass = 0;
        __u64 cgid;

        if (!d)
                return 0;
        if ((flags & SKB_PARSED) && is_loopback(d))
                return 1;

        cgid = bpf_skb_cgroup_id(skb);
        t = task_of(cgid);
        if (tracked(t)) {
                if (rules_match(cgid, d, flags & SKB_JUDGED_BY_HOOKS) >= 0)
                        pass = 1;
                else if (t->flags & EGRESS_TASK_AUDIT) {
                        pass = 1;
                        /* A flow the hooks let through in audit mode was
                         * reported there, once; not again for each of its
                         * packets. */
                        if (!(flags & SKB_JUDGED_BY_HOOKS)) {
                                __sync_fetch_and_add(&t->denied, 1);
                                report(t, cgid, d, EGRESS_VERDICT_AUDIT_DENY, EGRESS_HOOK_SKB, 0, false);
                        }
                }
                if (pass) {
                        if (flags & SKB_PARSED)
                                count_traffic(skb, cgid, d, EGRESS_DIR_SENT);
                        return 1;
                }
                __sync_fetch_and_add(&t->denied, 1);
        }
        report(t, cgid, d, verdict, EGRESS_HOOK_SKB, 0, false);
        return 0;
}

SEC("cgroup_skb/egress")
int egress_skb(struct __sk_buff *skb) {
        struct dest d = {};
        const struct sock_ctx *sk;
        __u32 flags = 0;

        if (parse_packet(skb, &d, 0))
                flags |= SKB_PARSED;
        else
                d.protobit = 0; /* unreadable: nothing can match, judged below */

        sk = (const struct sock_ctx *) SKB(skb)->sk;
        if (sk) {
                sk = (const struct sock_ctx *) bpf_sk_fullsock((struct bpf_sock *) sk);
                if (sk && protobit_of(sk->type, sk->protocol) != 0)
                        flags |= SKB_JUDGED_BY_HOOKS;
        }
        return judge_skb(skb, &d, flags) & 1;
}

/* What a tracked task received, per remote end: counted, never judged (the
 * wall is on the way out; a reply to an allowed flow arrives here). The
 * socket's cgroup, as on egress: ingress runs when the packet reaches the
 * socket. */
SEC("cgroup_skb/ingress")
int egress_skb_in(struct __sk_buff *skb) {
        struct dest d = {};
        __u64 cgid;

        if (!parse_packet(skb, &d, 1) || is_loopback(&d))
                return 1;
        cgid = bpf_skb_cgroup_id(skb);
        if (tracked(task_of(cgid)))
                count_traffic(skb, cgid, &d, EGRESS_DIR_RECEIVED);
        return 1;
}
