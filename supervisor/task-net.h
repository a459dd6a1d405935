/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The network wall of one allowlist task: its veth and addresses
 * (netlink.c), its egress policy in the kernel (bpf-egress.c), its resolver
 * (dns-proxy.c), and what it tried. The supervisor-wide parts (programs,
 * host rules, the proxy) are opened once, on the first such task, and live
 * in SupervisorNet. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "net-host.h"
#include "netlink.h"
#include "result.h"
#include "sandbox.h"

struct Egress;
struct EgressTask;
struct DnsProxy;
struct DnsTask;
struct egress_event;

/* One decision, as the journal's net record and the hooks see it. */
typedef struct NetEvent {
        const char *hook;     /* connect4, connect6, sendmsg4, sendmsg6, skb (the packet wall), dns */
        const char *verdict;  /* allow, deny, audit_deny (would deny; audit mode); dns: allow, refused, error */
        uint32_t pid;         /* 0 when not known (dns) */
        char comm[16];
        int family;           /* AF_INET or AF_INET6; AF_UNSPEC for a dns query */
        uint8_t proto;        /* IPPROTO_TCP, IPPROTO_UDP, ... */
        uint8_t addr[16];
        uint16_t port;
        int rule;             /* index into network.allow, -1 none; NET_RULE_DNS: the task's resolver */
        const char *name;     /* dns: the queried name */
        uint16_t qtype;       /* dns */
        int rcode;            /* dns: what the task got back */
        size_t n_addresses;   /* dns: answers that opened the wall */
} NetEvent;

#define NET_RULE_DNS (-2)

typedef struct SupervisorNet {
        NetPool pool;
        const char *dns_upstream;   /* NULL: the first nameserver of /etc/resolv.conf */
        uint32_t dns_ttl_cap_sec;
        bool opened;
        NetHost *host;
        struct Egress *egress;
        struct DnsProxy *dns;
        struct TaskNet *tasks;      /* the running allowlist tasks, for routing ring buffer events */
} SupervisorNet;

void supervisor_net_init(SupervisorNet *n);
/* Loads the programs, applies the host rules and starts the resolver, once;
 * what names the part that failed. */
int supervisor_net_open(SupervisorNet *n, const char **reterr_what);
void supervisor_net_done(SupervisorNet *n);

typedef void (*NetEventFn)(const SandboxSpec *spec, const NetEvent *ev, void *userdata);

typedef struct TaskNet {
        SupervisorNet *sn;
        const SandboxSpec *spec;
        uint64_t cgroup_id;
        NetLink link;
        bool plumbed;
        bool netns_gone;            /* the sandbox's init was reaped: the kernel removes the veth */
        struct EgressTask *egress;
        struct DnsTask *dns;
        NetSummary *summary;        /* in the task's result */
        NetEventFn event_fn;
        void *userdata;
        uint64_t events;            /* records passed to event_fn */
        struct TaskNet *next;
} TaskNet;

#define TASK_NET_NULL ((TaskNet) {})

/* Before clone: the supervisor's network wall, opened once (programs, host
 * rules, resolver), and the egress policy on the task's cgroup (cgroup_fd,
 * a v2 directory, which the task is cloned into). On error what names the
 * part and task_net_done() removes what was made. */
int task_net_prepare(SupervisorNet *sn, const SandboxSpec *spec, int cgroup_fd, NetSummary *summary,
                     NetEventFn event_fn, void *userdata, TaskNet *ret, const char **reterr_what);

/* While init builds the walls, and before the task may exec: its veth into
 * its netns (netns_fd), its resolver on the gateway; resolv_conf gets the
 * file the task is shown. On error task_net_done() removes what was made. */
int task_net_attach(TaskNet *t, int netns_fd, char *resolv_conf, size_t resolv_len, const char **reterr_what);

/* The fds the task's event loop watches: the ring buffer and the resolver.
 * Both are shared by the supervisor's tasks; events are routed by cgroup. */
int supervisor_net_ring_fd(SupervisorNet *sn);
int supervisor_net_dns_fd(SupervisorNet *sn);
void supervisor_net_dispatch_ring(SupervisorNet *sn);
void supervisor_net_dispatch_dns(SupervisorNet *sn);

/* Takes the last events and the kernel's counters into the summary, then
 * removes every link, address, map entry and socket of the task. */
void task_net_done(TaskNet *t);
