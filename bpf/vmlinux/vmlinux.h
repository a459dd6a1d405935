/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef __VMLINUX_H__
#define __VMLINUX_H__

/* Fallback for hosts without /sys/kernel/btf/vmlinux at build time: only
 * what bpf/egress.bpf.c uses. The context structs list just the fields we
 * read; preserve_access_index makes libbpf relocate each access against the
 * running kernel's BTF (CO-RE), so the offsets here need not be the real
 * ones. Names and values are the stable uapi of <linux/bpf.h>, <linux/in.h>. */

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u64 __be64;
typedef __u32 __wsum;
typedef _Bool bool;
enum { false = 0, true = 1 };

enum bpf_map_type {
        BPF_MAP_TYPE_HASH = 1,
        BPF_MAP_TYPE_LPM_TRIE = 11,
        BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
        BPF_F_NO_PREALLOC = 1,
};

enum bpf_hdr_start_off {
        BPF_HDR_START_MAC = 0,
        BPF_HDR_START_NET = 1,
};

enum {
        IPPROTO_IP = 0,
        IPPROTO_ICMP = 1,
        IPPROTO_TCP = 6,
        IPPROTO_UDP = 17,
        IPPROTO_ICMPV6 = 58,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct bpf_sock {
        __u32 bound_dev_if;
        __u32 family;
        __u32 type;
        __u32 protocol;
};

struct __sk_buff {
        __u32 len;
        __u32 pkt_type;
        __u32 mark;
        __u32 queue_mapping;
        __u32 protocol;
        struct bpf_sock *sk;
};

struct bpf_sock_addr {
        __u32 user_family;
        __u32 user_ip4;
        __u32 user_ip6[4];
        __u32 user_port;
        __u32 family;
        __u32 type;
        __u32 protocol;
};

#pragma clang attribute pop

#endif /* __VMLINUX_H__ */
