/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The host side of the allowlist network, once per supervisor: the address
 * pool the tasks' veths are carved from, IPv4 forwarding, and one nftables
 * table (inet stockade_<pid>) that masquerades the pool when it leaves the
 * host and keeps tasks from reaching each other or being reached from
 * outside. libnftables is dlopen()ed on first use, so runs without a
 * network never load it.
 *
 * What this changes on the host (stockade(1)):
 *   - net.ipv4.ip_forward is set to 1 when it was 0, and left at 1: other
 *     supervisors running at the same time rely on it, and none of them can
 *     know whether it is the last one. The kernel then also forwards on
 *     every IPv4 interface and stops accepting ICMP redirects.
 *   - net.ipv6.conf.all.forwarding is never touched: turning it on makes the
 *     host stop accepting router advertisements on every interface. Tasks
 *     reach IPv6 beyond the host only when the host already forwards IPv6
 *     (net_host_ipv6_forwarding()).
 *   - the table inet stockade_<pid> exists while the supervisor runs. Its
 *     accepts only end OUR chains: a drop in another table (a host firewall
 *     with a forward policy of drop, e.g. iptables-nft "FORWARD DROP") still
 *     wins, and then tasks reach nothing beyond the host. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "basic/macro.h"

typedef struct NetPool {
        struct in_addr base4;
        unsigned prefix4;      /* default 100.64.0.0/10, carved into /30s */
        struct in6_addr base6;
        unsigned prefix6;      /* default fd00:5ec:ade::/48, carved into /64s */
} NetPool;

void net_pool_default(NetPool *ret) _nonnull_(1);

/* "100.64.0.0/10" and "fd00:5ec:ade::/48"; NULL keeps that family's default.
 * -EINVAL for a malformed address, host bits set, v4 prefix not in 1..30 or
 * v6 prefix not in 1..64. */
int net_pool_parse(const char *v4cidr, const char *v6cidr, NetPool *ret) _nonnull_(3);

/* How many task slots the pool holds (the smaller of its /30 and /64 counts). */
unsigned net_pool_slots(const NetPool *pool) _nonnull_(1);

/* The CIDR strings of the pool, for rules and messages. */
void net_pool_format(const NetPool *pool, char *ret4, size_t len4, char *ret6, size_t len6) _nonnull_(1, 2, 4);

/* The owner of what a supervisor leaves in the netns (a veth's alias, a
 * table's comment): "stockade pid=P start=S pidns=N", S the process start
 * time (field 22 of /proc/P/stat), N the inode of its pid namespace, so that
 * neither pid reuse nor a supervisor in another pid namespace that shares
 * this netns is mistaken for the owner. */
int net_owner_format(char *buf, size_t len) _nonnull_(1);
/* Pure: -EINVAL when s is not an owner string. */
int net_owner_parse(const char *s, pid_t *ret_pid, unsigned long long *ret_start, unsigned long long *ret_pidns)
        _nonnull_(1, 2, 3, 4);
/* True only when s is an owner string of our pid namespace whose process is
 * known to be gone: in doubt, what it owns stays. */
bool net_owner_gone(const char *s) _nonnull_(1);
int net_process_start_time(pid_t pid, unsigned long long *ret) _nonnull_(2);

typedef struct NetHost NetHost;

/* Turns on IPv4 forwarding when off and installs the table. Does not take
 * ownership of pool (it is copied). reterr_what names the failed step. */
int net_host_open(const NetPool *pool, NetHost **ret, const char **reterr_what) _nonnull_(1, 2, 3);

/* Removes the table; NULL-safe; returns NULL. */
NetHost *net_host_close(NetHost *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(NetHost *, net_host_close);

/* Whether the host forwarded IPv6 when the table was installed. */
bool net_host_ipv6_forwarding(const NetHost *h) _nonnull_(1);
/* Whether net_host_open() turned IPv4 forwarding on (it was off). */
bool net_host_changed_ipv4_forwarding(const NetHost *h) _nonnull_(1);
const NetPool *net_host_pool(const NetHost *h) _nonnull_(1);
/* "inet stockade_<pid>" */
const char *net_host_table(const NetHost *h) _nonnull_(1);

/* Removes what dead supervisors left behind in this network namespace: host
 * ends of veths whose owner is gone (net_link_sweep_stale()) and nftables
 * tables stockade_<pid> of pids that no longer run. Loads libnftables, so
 * call it where a network is about to be set up. Failures are logged at
 * debug level and ignored. */
void net_sweep_stale(void);
