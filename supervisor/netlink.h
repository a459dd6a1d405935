/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Per-task network plumbing over rtnetlink (libnl-route-3); this is the only
 * module that includes <netlink/...>.
 *
 * Each allowlist task gets a veth pair. The host end stays in the
 * supervisor's netns, named NET_LINK_PREFIX + slot, where the slot indexes
 * a /30 and a /64 of the pool: host end .1 and ::1, task end .2 and ::2. The
 * kernel is the slot allocator: link names are unique per netns, so a
 * create that fails with EEXIST means another supervisor (or an earlier
 * task) holds the slot. The owner (net_owner_format()) is written into the
 * host end's alias so that links left by a dead supervisor can be told from
 * live ones. */

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/types.h>

#include "basic/macro.h"
#include "net-host.h"

#define NET_LINK_PREFIX "stkv"
#define NET_LINK_TASK_IFNAME "eth0"

typedef struct NetLink {
        char host_ifname[16];          /* NET_LINK_PREFIX + decimal slot */
        int host_ifindex;              /* 0: not plumbed */
        unsigned slot;                 /* index of the /30 (and /64) in the pool */
        struct in_addr host4, task4;
        unsigned prefix4;              /* 30 */
        struct in6_addr host6, task6;
        unsigned prefix6;              /* 64 */
} NetLink;

/* Pure: the addresses of slot in pool. -ERANGE when the pool has no such slot. */
int net_link_addresses(const NetPool *pool, unsigned slot, NetLink *ret) _nonnull_(1, 3);

/* Creates the veth pair, the peer directly inside task_netns_fd as eth0,
 * then brings up lo and both ends, adds the addresses (IPv6 without DAD, so
 * they are usable at once) and the task's default routes via the host end.
 * Does not take ownership of task_netns_fd. On error nothing is left (the
 * host end is deleted, the peer goes with it) and reterr_what names the
 * step; -EADDRNOTAVAIL when no slot was free within the bounded tries.
 * The calling thread is in its own netns again on return, or the process
 * aborts (it cannot go on in the task's). */
int net_link_plumb(const NetPool *pool, int task_netns_fd, NetLink *ret, const char **reterr_what)
        _nonnull_(1, 3, 4);

/* Deletes the host end (the peer goes with it); idempotent; a link already
 * gone (the task's netns died, which takes the pair with it) is fine. */
void net_link_unplumb(NetLink *l) _nonnull_(1);

/* Deletes the host ends in this netns whose alias names an owner that is
 * gone (no such pid, or the pid now has another start time). Links without
 * the prefix or without our alias are never touched, nor those of owners in
 * another pid namespace (their pids mean nothing here). Returns how many were
 * deleted, or -errno when the links could not be listed. */
int net_link_sweep_stale(void);
