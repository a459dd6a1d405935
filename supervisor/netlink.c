/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "netlink.h"

/* Probing stops after this many taken slots: a pool that full is better
 * reported than walked (each probe is a netlink round trip). */
#define SLOT_TRIES_MAX 1024U

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_sock *, nl_socket_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cache *, nl_cache_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_addr *, nl_addr_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_addr *, rtnl_addr_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_route *, rtnl_route_put);

/* libnl folds the kernel's errno into -NLE_*, losing some detail (ENOENT and
 * ESRCH both become NLE_OBJ_NOTFOUND); this maps back to the closest errno. */
static int nl_to_errno(int nlerr) {
        switch (nlerr < 0 ? -nlerr : nlerr) {
        case 0:
                return 0;
        case NLE_INTR:
                return -EINTR;
        case NLE_BAD_SOCK:
                return -EBADF;
        case NLE_AGAIN:
                return -EAGAIN;
        case NLE_NOMEM:
                return -ENOMEM;
        case NLE_EXIST:
                return -EEXIST;
        case NLE_INVAL:
        case NLE_AF_MISMATCH:
                return -EINVAL;
        case NLE_RANGE:
                return -ERANGE;
        case NLE_MSGSIZE:
                return -EMSGSIZE;
        case NLE_OPNOTSUPP:
        case NLE_MSGTYPE_NOSUPPORT:
                return -EOPNOTSUPP;
        case NLE_AF_NOSUPPORT:
                return -EAFNOSUPPORT;
        case NLE_OBJ_NOTFOUND:
                return -ENOENT;
        case NLE_NOADDR:
                return -EADDRNOTAVAIL;
        case NLE_BUSY:
                return -EBUSY;
        case NLE_PROTO_MISMATCH:
                return -EPROTONOSUPPORT;
        case NLE_NOACCESS:
                return -EACCES;
        case NLE_PERM:
                return -EPERM;
        case NLE_NODEV:
                return -ENODEV;
        default:
                return -EIO;
        }
}

static int open_socket(struct nl_sock **ret) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = nl_socket_alloc();
        int r;

        if (!sk)
                return -ENOMEM;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                return nl_to_errno(r);
        *ret = TAKE_PTR(sk);
        return 0;
}

/* A netlink socket stays bound to the netns it was created in, so one made
 * inside the task's netns configures it from here without a helper process.
 * Coming back cannot be allowed to fail: every later syscall of this thread
 * would act on the task's netns, so the process aborts instead. */
static int open_socket_in_netns(int netns_fd, struct nl_sock **ret) {
        _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        int r;

        if (self < 0)
                return -errno;
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return -errno;
        r = open_socket(ret);
        if (setns(self, CLONE_NEWNET) < 0) {
                (void) log_error_errno(errno, "netlink: cannot return to the supervisor's network namespace: %m");
                abort();
        }
        return r;
}

int net_link_addresses(const NetPool *pool, unsigned slot, NetLink *ret) {
        NetLink l = { .slot = slot, .prefix4 = 30, .prefix6 = 64 };
        uint64_t net6;
        uint32_t net4;

        if (slot >= net_pool_slots(pool))
                return -ERANGE;

        net4 = ntohl(pool->base4.s_addr) + (slot << 2);
        l.host4.s_addr = htonl(net4 | 1);
        l.task4.s_addr = htonl(net4 | 2);

        /* The slot fills the bits between the pool's prefix and /64, which
         * net_pool_parse() made sure are zero in the base. */
        net6 = 0;
        for (int i = 0; i < 8; i++)
                net6 = (net6 << 8) | pool->base6.s6_addr[i];
        net6 += (uint64_t) slot;
        l.host6 = pool->base6;
        for (int i = 7; i >= 0; i--, net6 >>= 8)
                l.host6.s6_addr[i] = (uint8_t) net6;
        memset(l.host6.s6_addr + 8, 0, 8);
        l.task6 = l.host6;
        l.host6.s6_addr[15] = 1;
        l.task6.s6_addr[15] = 2;

        (void) snprintf(l.host_ifname, sizeof l.host_ifname, NET_LINK_PREFIX "%u", slot);
        *ret = l;
        return 0;
}

static int get_link(struct nl_sock *sk, int ifindex, const char *name, struct rtnl_link **ret) {
        return nl_to_errno(rtnl_link_get_kernel(sk, ifindex, name, ret));
}

/* The peer is created straight inside the task's netns under its final
 * name, so it never holds a name in ours and needs no rename. */
static int add_pair(struct nl_sock *sk, const char *host_ifname, int task_netns_fd) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = rtnl_link_veth_alloc();
        _cleanup_(rtnl_link_putp) struct rtnl_link *peer = NULL;

        if (!link)
                return -ENOMEM;
        /* The peer comes with a reference of its own (libnl's
         * NL_CAPABILITY_ROUTE_LINK_VETH_GET_PEER_OWN_REFERENCE). */
        peer = rtnl_link_veth_get_peer(link);
        if (!peer)
                return -ENOMEM;
        rtnl_link_set_name(link, host_ifname);
        rtnl_link_set_name(peer, NET_LINK_TASK_IFNAME);
        rtnl_link_set_ns_fd(peer, task_netns_fd);
        return nl_to_errno(rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL));
}

static unsigned slot_hint;
static bool slot_hint_set;

/* The kernel is the allocator: names are unique per netns, so of several
 * supervisors racing for a slot exactly one create succeeds. Probing starts
 * at a pid-derived offset so that concurrent supervisors start apart, then
 * continues after the last slot this process got. */
static int create_pair(struct nl_sock *sk, const NetPool *pool, int task_netns_fd, NetLink *ret,
                       const char **reterr_what) {
        unsigned n = net_pool_slots(pool), tries, start;
        int r;

        *reterr_what = "address pool";
        if (n == 0)
                return -EINVAL;
        start = slot_hint_set ? slot_hint : (unsigned) (((uint64_t) getpid() * 2654435761U) % n);
        tries = n < SLOT_TRIES_MAX ? n : SLOT_TRIES_MAX;

        *reterr_what = "veth";
        for (unsigned i = 0; i < tries; i++) {
                NetLink l;
                r = net_link_addresses(pool, (start + i) % n, &l);
                if (r < 0)
                        return r;
                r = add_pair(sk, l.host_ifname, task_netns_fd);
                if (r == -EEXIST) {
                        /* Either name may clash; only ours means "taken". */
                        if (if_nametoindex(l.host_ifname) > 0)
                                continue;
                        *reterr_what = "veth: '" NET_LINK_TASK_IFNAME "' exists in the task's network namespace";
                        return r;
                }
                if (r < 0)
                        return r;
                slot_hint = (l.slot + 1) % n;
                slot_hint_set = true;
                *ret = l;
                return 0;
        }
        *reterr_what = "address pool exhausted";
        return -EADDRNOTAVAIL;
}

static int set_link(struct nl_sock *sk, struct rtnl_link *cur, const char *alias) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *change = rtnl_link_alloc();

        if (!change)
                return -ENOMEM;
        if (alias)
                rtnl_link_set_ifalias(change, alias);
        rtnl_link_set_flags(change, IFF_UP);
        return nl_to_errno(rtnl_link_change(sk, cur, change, 0));
}

static int link_up(struct nl_sock *sk, const char *name, const char *alias, int *ret_ifindex) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *cur = NULL;
        int r;

        r = get_link(sk, 0, name, &cur);
        if (r < 0)
                return r;
        r = set_link(sk, cur, alias);
        if (r < 0)
                return r;
        if (ret_ifindex)
                *ret_ifindex = rtnl_link_get_ifindex(cur);
        return 0;
}

static int add_address(struct nl_sock *sk, int ifindex, int family, const void *a, unsigned prefixlen) {
        _cleanup_(rtnl_addr_putp) struct rtnl_addr *addr = rtnl_addr_alloc();
        _cleanup_(nl_addr_putp) struct nl_addr *local = NULL;
        int r;

        local = nl_addr_build(family, a, family == AF_INET ? 4 : 16);
        if (!addr || !local)
                return -ENOMEM;
        nl_addr_set_prefixlen(local, (int) prefixlen);
        rtnl_addr_set_ifindex(addr, ifindex);
        rtnl_addr_set_family(addr, family);
        r = rtnl_addr_set_local(addr, local);
        if (r < 0)
                return nl_to_errno(r);
        /* The /64 is ours alone: duplicate detection would only hold the
         * address tentative (unusable) for a second or more. */
        if (family == AF_INET6)
                rtnl_addr_set_flags(addr, IFA_F_NODAD);
        return nl_to_errno(rtnl_addr_add(sk, addr, NLM_F_CREATE | NLM_F_EXCL));
}

static int add_default_route(struct nl_sock *sk, int ifindex, int family, const void *gateway) {
        static const uint8_t any[16] = {};
        size_t len = family == AF_INET ? 4 : 16;
        _cleanup_(rtnl_route_putp) struct rtnl_route *route = rtnl_route_alloc();
        _cleanup_(nl_addr_putp) struct nl_addr *dst = nl_addr_build(family, any, len);
        _cleanup_(nl_addr_putp) struct nl_addr *gw = nl_addr_build(family, gateway, len);
        struct rtnl_nexthop *nh;
        int r;

        if (!route || !dst || !gw)
                return -ENOMEM;
        nl_addr_set_prefixlen(dst, 0);
        r = rtnl_route_set_family(route, (uint8_t) family);
        if (r >= 0)
                r = rtnl_route_set_dst(route, dst);
        if (r < 0)
                return nl_to_errno(r);
        rtnl_route_set_table(route, RT_TABLE_MAIN);
        rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
        rtnl_route_set_protocol(route, RTPROT_STATIC);

        nh = rtnl_route_nh_alloc();
        if (!nh)
                return -ENOMEM;
        rtnl_route_nh_set_ifindex(nh, ifindex);
        rtnl_route_nh_set_gateway(nh, gw);
        rtnl_route_add_nexthop(route, nh); /* the route owns nh now */
        return nl_to_errno(rtnl_route_add(sk, route, NLM_F_CREATE | NLM_F_EXCL));
}

/* Deletes the host end only if the index still names it: when the task's
 * netns dies it takes the pair with it, and the index may name another
 * link by now. */
static int delete_host_end(struct nl_sock *sk, const NetLink *l) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *cur = NULL;
        const char *name;
        int r;

        r = get_link(sk, l->host_ifindex, NULL, &cur);
        if (r == -ENOENT || r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        name = rtnl_link_get_name(cur);
        if (!name || !streq(name, l->host_ifname))
                return 0;
        r = nl_to_errno(rtnl_link_delete(sk, cur));
        return r == -ENOENT || r == -ENODEV ? 0 : r;
}

/* Order matters for IPv6: the prefix route and the addresses become usable
 * only once the link has carrier, and a veth has carrier when both ends are
 * up. So both ends go up before any address is added. */
static int configure(struct nl_sock *sk, int task_netns_fd, NetLink *l, const char **reterr_what) {
        _cleanup_(nl_socket_freep) struct nl_sock *tsk = NULL;
        char alias[128];
        int task_ifindex = 0, r;

        *reterr_what = "owner alias";
        r = net_owner_format(alias, sizeof alias);
        if (r < 0)
                return r;
        *reterr_what = "host end up";
        r = link_up(sk, l->host_ifname, alias, &l->host_ifindex);
        if (r < 0)
                return r;

        *reterr_what = "netlink socket in the task's network namespace";
        r = open_socket_in_netns(task_netns_fd, &tsk);
        if (r < 0)
                return r;
        *reterr_what = "lo up";
        r = link_up(tsk, "lo", /* alias= */ NULL, /* ret_ifindex= */ NULL);
        if (r < 0)
                return r;
        *reterr_what = NET_LINK_TASK_IFNAME " up";
        r = link_up(tsk, NET_LINK_TASK_IFNAME, /* alias= */ NULL, &task_ifindex);
        if (r < 0)
                return r;

        *reterr_what = "host end address";
        r = add_address(sk, l->host_ifindex, AF_INET, &l->host4, l->prefix4);
        if (r >= 0)
                r = add_address(sk, l->host_ifindex, AF_INET6, &l->host6, l->prefix6);
        if (r < 0)
                return r;
        *reterr_what = "task address";
        r = add_address(tsk, task_ifindex, AF_INET, &l->task4, l->prefix4);
        if (r >= 0)
                r = add_address(tsk, task_ifindex, AF_INET6, &l->task6, l->prefix6);
        if (r < 0)
                return r;
        *reterr_what = "task default route";
        r = add_default_route(tsk, task_ifindex, AF_INET, &l->host4);
        if (r >= 0)
                r = add_default_route(tsk, task_ifindex, AF_INET6, &l->host6);
        return r;
}

int net_link_plumb(const NetPool *pool, int task_netns_fd, NetLink *ret, const char **reterr_what) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        NetLink l;
        int r;

        *reterr_what = "netlink socket";
        r = open_socket(&sk);
        if (r < 0)
                return r;
        r = create_pair(sk, pool, task_netns_fd, &l, reterr_what);
        if (r < 0)
                return r;
        r = configure(sk, task_netns_fd, &l, reterr_what);
        if (r < 0) {
                if (l.host_ifindex > 0)
                        (void) delete_host_end(sk, &l);
                else {
                        /* Failed before the index was known: by name. */
                        _cleanup_(rtnl_link_putp) struct rtnl_link *cur = NULL;
                        if (get_link(sk, 0, l.host_ifname, &cur) >= 0)
                                (void) rtnl_link_delete(sk, cur);
                }
                return r;
        }
        *reterr_what = NULL;
        *ret = l;
        return 0;
}

void net_link_unplumb(NetLink *l) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        int r;

        if (l->host_ifindex <= 0)
                return;
        r = open_socket(&sk);
        if (r >= 0)
                r = delete_host_end(sk, l);
        if (r < 0)
                (void) log_debug_errno(r, "netlink: cannot delete '%s', ignoring: %m", l->host_ifname);
        l->host_ifindex = 0;
}

int net_link_sweep_stale(void) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
        int r, n = 0;

        r = open_socket(&sk);
        if (r < 0)
                return r;
        r = nl_to_errno(rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache));
        if (r < 0)
                return r;
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_link *link = (struct rtnl_link *) o;
                const char *name = rtnl_link_get_name(link), *alias = rtnl_link_get_ifalias(link);

                if (!name || strncmp(name, NET_LINK_PREFIX, strlen(NET_LINK_PREFIX)) != 0)
                        continue;
                if (!alias || !net_owner_gone(alias))
                        continue;
                r = nl_to_errno(rtnl_link_delete(sk, link));
                if (r < 0 && r != -ENOENT && r != -ENODEV) {
                        (void) log_debug_errno(r, "netlink: cannot delete stale '%s', ignoring: %m", name);
                        continue;
                }
                log_debug("netlink: deleted stale '%s' (%s)", name, alias);
                n++;
        }
        return n;
}
