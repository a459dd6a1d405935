/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The egress wall against the running kernel (root only). Each test runs in
 * a network namespace of its own with a dummy interface holding addresses
 * from 100.127.0.0/16 and fd00:5ec::/64, a server process (outside the
 * task cgroups) echoing one byte on a few ports, and task cgroups created
 * below our own v2 cgroup; probes run in children moved into those. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "bpf-egress.h"
#include "cgroup.h"
#include "bpf-fixture.h"
#include "check-main.h"

static const uint16_t server_ports[] = { 80, 443, 8080 };
static pid_t server_pid;

/* ---- fixture ---------------------------------------------------------- */

static void cleanup_test(void) {
        if (server_pid > 0) {
                (void) kill(server_pid, SIGKILL);
                (void) waitpid(server_pid, NULL, 0);
                server_pid = 0;
        }
        remove_test_cgroups();
}

static void teardown_bpf_dir(void) {
        (void) egress_cache_drop();
        remove_tree(bpf_dir); /* anything else a failed test put there */
}

static void setup_kernel(void) {
        sweep_stale_cgroups("egress-test-");
        setup_bpf_dir("stockade-test");
}

static void teardown_kernel(void) {
        sweep_stale_cgroups("egress-test-");
        teardown_bpf_dir();
}

_noreturn_ static void serve(int ready_fd) {
        struct pollfd p[ELEMENTSOF(server_ports)];

        for (size_t i = 0; i < ELEMENTSOF(server_ports); i++) {
                struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(server_ports[i]) };
                int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), off = 0, on = 1;
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
                if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof a) < 0 || listen(fd, 64) < 0)
                        _exit(EXIT_FAILURE);
                p[i] = (struct pollfd) { .fd = fd, .events = POLLIN };
        }
        (void) close(ready_fd); /* the parent reads EOF: listening */
        for (;;) {
                if (poll(p, ELEMENTSOF(p), -1) < 0)
                        continue;
                for (size_t i = 0; i < ELEMENTSOF(p); i++) {
                        char c;
                        int fd;
                        if (!(p[i].revents & POLLIN))
                                continue;
                        fd = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
                        if (fd < 0)
                                continue;
                        if (read(fd, &c, 1) == 1 && write(fd, &c, 1) != 1)
                                c = 0; /* the probe sees it */
                        (void) close(fd);
                }
        }
}

/* A private network: lo, a dummy interface with the test addresses, ping
 * sockets for root, and the echo server. Dies with the test process. */
static void setup_network(void) {
        int pfd[2];
        char c;

        ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
        /* A dummy interface, or a veth pair where the kernel lacks dummy. */
        ck_assert_int_eq(system("ip link set lo up && "
                                "{ ip link add eg0 type dummy 2>/dev/null || "
                                "{ ip link add eg0 type veth peer name eg0p && ip link set eg0p up; }; } && "
                                "ip link set eg0 up && "
                                "ip addr add 100.127.0.1/16 dev eg0 && ip addr add 100.127.0.2/16 dev eg0 && "
                                "ip addr add 100.127.0.3/16 dev eg0 && ip addr add 100.127.1.1/16 dev eg0 && "
                                "ip addr add fd00:5ec::1/64 dev eg0 nodad && ip addr add fd00:5ec::2/64 dev eg0 nodad"),
                         0);
        ck_assert_int_eq(write_string_at(AT_FDCWD, "/proc/sys/net/ipv4/ping_group_range", "0 0"), 0);

        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        server_pid = fork();
        ck_assert_int_ge(server_pid, 0);
        if (server_pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                (void) close(pfd[0]);
                serve(pfd[1]);
        }
        (void) close(pfd[1]);
        ck_assert_int_eq(read(pfd[0], &c, 1), 0); /* EOF: listening (or dead: the probes see it) */
        (void) close(pfd[0]);
}

/* A new group below our own cgroup v2 dir; returns its dirfd. */
static int make_cgroup(uint64_t *ret_id) {
        return make_test_cgroup("egress-test-", ret_id);
}

static NetRule rule(const char *cidr, uint16_t lo, uint16_t hi, unsigned protos) {
        NetRule r = { .port_lo = lo, .port_hi = hi, .protos = protos };
        char a[64], *slash;

        (void) snprintf(a, sizeof a, "%s", cidr);
        slash = strchr(a, '/');
        ck_assert_ptr_nonnull(slash);
        *slash = 0;
        r.prefix = (uint8_t) atoi(slash + 1);
        r.family = strchr(a, ':') ? AF_INET6 : AF_INET;
        ck_assert_int_eq(inet_pton(r.family, a, r.addr), 1);
        return r;
}

/* ---- probes (run inside a task cgroup) -------------------------------- */

typedef enum ProbeKind {
        TCP_ECHO,
        UDP_SEND,
        PING,
        RAW_UDP,
        RAW6_FRAG_FIRST, /* IPv6 by hand: hop-by-hop, destination options, fragment 0, UDP */
        RAW6_FRAG_LATER, /* the same with fragment offset 8: no ports */
        RAW6_AH,         /* hop-by-hop, authentication header, UDP */
} ProbeKind;

static socklen_t sockaddr_of(const char *addr, uint16_t port, struct sockaddr_storage *ss) {
        struct sockaddr_in *in = (struct sockaddr_in *) ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;

        memset(ss, 0, sizeof *ss);
        if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons(port);
                return sizeof *in;
        }
        ck_assert_int_eq(inet_pton(AF_INET6, addr, &in6->sin6_addr), 1);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        return sizeof *in6;
}

/* An IPv6 packet through an IPPROTO_RAW socket (the header is ours): the
 * extension headers the skb hook must skip to find the UDP port. */
static int send_raw6(ProbeKind kind, const struct sockaddr_in6 *dst, uint16_t port) {
        /* IPv6, hop-by-hop 8, then AH 12 or destination options 8 + fragment 8, UDP 8 + 2 of payload. */
        uint8_t p[40 + 8 + 16 + 10] = {}, *x = p + 40;
        struct ip6_hdr *h = (struct ip6_hdr *) p;
        struct sockaddr_in6 to = *dst;
        size_t len;
        int fd;

        h->ip6_flow = htonl(6u << 28);
        h->ip6_hops = 64;
        h->ip6_nxt = 0; /* hop-by-hop */
        ck_assert_int_eq(inet_pton(AF_INET6, "fd00:5ec::2", &h->ip6_src), 1);
        h->ip6_dst = dst->sin6_addr;
        /* Hop-by-hop: next, 0 (8 bytes), PadN of 4. */
        x[0] = kind == RAW6_AH ? 51 : 60, x[2] = 1, x[3] = 4, x += 8;
        if (kind == RAW6_AH) {
                /* AH: next, 1 (3 words of 4, ICV-less), reserved, SPI, sequence. */
                x[0] = IPPROTO_UDP, x[1] = 1, x[7] = 1, x[11] = 1, x += 12;
        } else {
                /* Destination options, then the fragment header (offset in 8-byte units, id). */
                x[0] = 44, x[2] = 1, x[3] = 4, x += 8;
                x[0] = IPPROTO_UDP, x[3] = kind == RAW6_FRAG_LATER ? 1 << 3 : 0, x[7] = 7, x += 8;
        }
        x[0] = 0x0f, x[1] = 0xa0; /* source port 4000 */
        x[2] = (uint8_t) (port >> 8), x[3] = (uint8_t) port, x[5] = 10, x[8] = 'x', x[9] = 'x';
        x += 10;
        len = (size_t) (x - p);
        h->ip6_plen = htons((uint16_t) (len - 40));

        to.sin6_port = 0;
        fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
        if (fd < 0 || sendto(fd, p, len, 0, (struct sockaddr *) &to, sizeof to) < 0)
                return errno;
        return 0;
}

/* 0 or the errno the operation failed with. */
static int probe_op(ProbeKind kind, const char *addr, uint16_t port) {
        struct sockaddr_storage ss;
        socklen_t len = sockaddr_of(addr, port, &ss);
        int fd, r = 0;
        char c = 'x';

        switch (kind) {
        case TCP_ECHO:
                fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (connect(fd, (struct sockaddr *) &ss, len) < 0 || write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1)
                        r = errno ? errno : EIO;
                break;
        case UDP_SEND:
                fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (sendto(fd, &c, 1, 0, (struct sockaddr *) &ss, len) < 0)
                        r = errno;
                break;
        case PING: {
                struct icmphdr h = { .type = ICMP_ECHO, .un.echo.id = htons(1), .un.echo.sequence = htons(1) };
                fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
                if (fd < 0 || sendto(fd, &h, sizeof h, 0, (struct sockaddr *) &ss, len) < 0)
                        r = errno;
                break;
        }
        case RAW_UDP: {
                /* A UDP header written by hand: the sock_addr hooks never run for raw sockets. */
                uint16_t udp[5] = { htons(4000), htons(port), htons(10), 0, 0x7878 };
                fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
                ((struct sockaddr_in *) &ss)->sin_port = 0;
                if (fd < 0 || sendto(fd, udp, sizeof udp, 0, (struct sockaddr *) &ss, len) < 0)
                        r = errno;
                break;
        }
        case RAW6_FRAG_FIRST:
        case RAW6_FRAG_LATER:
        case RAW6_AH:
                ck_assert_int_eq(ss.ss_family, AF_INET6);
                r = send_raw6(kind, (struct sockaddr_in6 *) &ss, port);
                break;
        default:
                r = EINVAL;
        }
        return r;
}

static int probe_in(int cgroup_fd, ProbeKind kind, const char *addr, uint16_t port) {
        int status;
        pid_t pid;

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int fd = openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, "0", 1) != 1)
                        _exit(250);
                alarm(10);
                _exit(probe_op(kind, addr, port));
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_ne(WEXITSTATUS(status), 250);
        return WEXITSTATUS(status);
}

/* ---- events and kernel state ------------------------------------------ */

typedef struct Events {
        struct egress_event ev[256];
        size_t n;
} Events;

static void collect(const struct egress_event *ev, void *userdata) {
        Events *evs = userdata;
        if (evs->n < ELEMENTSOF(evs->ev))
                evs->ev[evs->n++] = *ev;
}

/* The last event of hook for addr:port, or NULL. */
static const struct egress_event *find_event(const Events *evs, uint64_t cgid, uint8_t hook, const char *addr,
                                             uint16_t port) {
        struct sockaddr_storage ss;
        const uint8_t *a;

        (void) sockaddr_of(addr, port, &ss);
        a = ss.ss_family == AF_INET ? (const uint8_t *) &((struct sockaddr_in *) &ss)->sin_addr
                                    : (const uint8_t *) &((struct sockaddr_in6 *) &ss)->sin6_addr;
        for (size_t i = evs->n; i > 0; i--) {
                const struct egress_event *e = &evs->ev[i - 1];
                if (e->cgroup_id == cgid && e->hook == hook && e->port == port &&
                    memcmp(e->addr, a, ss.ss_family == AF_INET ? 4 : 16) == 0)
                        return e;
        }
        return NULL;
}

static const enum bpf_attach_type attach_types[] = {
        BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET6_CONNECT, BPF_CGROUP_UDP4_SENDMSG,
        BPF_CGROUP_UDP6_SENDMSG,  BPF_CGROUP_INET_EGRESS,  BPF_CGROUP_INET_INGRESS,
};

/* The programs linked to each task's cgroup: connect4/6, sendmsg4/6, the
 * packet wall and the ingress counter. */
#define N_PROGS 6

static unsigned attached_progs(int cgroup_fd) {
        unsigned total = 0;

        for (size_t i = 0; i < ELEMENTSOF(attach_types); i++) {
                __u32 ids[16], cnt = ELEMENTSOF(ids);
                ck_assert_int_eq(bpf_prog_query(cgroup_fd, attach_types[i], 0, NULL, ids, &cnt), 0);
                total += cnt;
        }
        return total;
}

/* Entries keyed by cgid in every egress map of the kernel (of any process:
 * no other instance can know our fresh cgroup's id). */
static unsigned map_entries_of(uint64_t cgid) {
        unsigned found = 0;
        __u32 id = 0;

        while (bpf_map_get_next_id(id, &id) == 0) {
                struct bpf_map_info info = {};
                __u32 len = sizeof info;
                uint8_t key[64], next[64];
                void *prev = NULL;
                int fd;

                fd = bpf_map_get_fd_by_id(id);
                if (fd < 0)
                        continue;
                if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 || info.key_size > sizeof key ||
                    (strcmp(info.name, "egress_rules") != 0 && strcmp(info.name, "egress_tasks") != 0 &&
                     strcmp(info.name, "egress_traffic") != 0 && strcmp(info.name, "egress_rings") != 0)) {
                        (void) close(fd);
                        continue;
                }
                while (bpf_map_get_next_key(fd, prev, next) == 0) {
                        uint64_t k;
                        /* egress_rules: after prefixlen; egress_tasks,
                         * egress_traffic and egress_rings: first. */
                        memcpy(&k, strcmp(info.name, "egress_rules") == 0 ? next + 4 : next, sizeof k);
                        found += k == cgid;
                        memcpy(key, next, info.key_size);
                        prev = key;
                }
                (void) close(fd);
        }
        return found;
}

/* The task's traffic row for addr:port/proto in one direction, or NULL. */
static const EgressTraffic *find_traffic_dir(const EgressTraffic *rows, size_t n, const char *addr, uint16_t port,
                                             uint8_t proto, bool received) {
        struct sockaddr_storage ss;
        const uint8_t *a;

        (void) sockaddr_of(addr, port, &ss);
        a = ss.ss_family == AF_INET ? (const uint8_t *) &((struct sockaddr_in *) &ss)->sin_addr
                                    : (const uint8_t *) &((struct sockaddr_in6 *) &ss)->sin6_addr;
        for (size_t i = 0; i < n; i++)
                if (rows[i].family == ss.ss_family && rows[i].port == port && rows[i].proto == proto &&
                    rows[i].received == received && memcmp(rows[i].addr, a, ss.ss_family == AF_INET ? 4 : 16) == 0)
                        return &rows[i];
        return NULL;
}

static const EgressTraffic *find_traffic(const EgressTraffic *rows, size_t n, const char *addr, uint16_t port,
                                         uint8_t proto) {
        return find_traffic_dir(rows, n, addr, port, proto, false);
}

static size_t count_sent(const EgressTraffic *rows, size_t n) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                k += !rows[i].received;
        return k;
}

static uint64_t boottime_ns(void) {
        struct timespec ts;
        ck_assert_int_eq(clock_gettime(CLOCK_BOOTTIME, &ts), 0);
        return (uint64_t) ts.tv_sec * NSEC_PER_SEC + (uint64_t) ts.tv_nsec;
}

#define TCP NET_PROTO_TCP
#define UDP NET_PROTO_UDP

/* ---- tests ------------------------------------------------------------ */

START_TEST(test_tcp_udp_v4_v6_mapped) {
        const NetRule rules[] = {
                rule("100.127.0.1/32", 80, 80, TCP),
                rule("100.127.0.1/32", 53, 53, UDP),
                rule("fd00:5ec::1/128", 443, 443, TCP),
                rule("::/0", 8080, 8080, TCP), /* IPv6 only: must not admit IPv4 */
        };
        Egress *e = NULL;
        EgressTask *t = NULL;
        EgressCounters c;
        Events evs = {};
        const struct egress_event *ev;
        EgressTraffic *rows = NULL;
        const EgressTraffic *row;
        size_t n_rows = 0;
        uint64_t id;
        int cg;

        setup_network();
        cg = make_cgroup(&id);
        ck_assert_int_eq(egress_open(&e), 0);
        ck_assert_int_eq(egress_task_add(e, cg, id, rules, ELEMENTSOF(rules), false, &t), 0);
        ck_assert_uint_eq(attached_progs(cg), N_PROGS);

        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.1", 80), 0);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.1", 443), EPERM);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.2", 80), EPERM);
        ck_assert_int_eq(probe_in(cg, UDP_SEND, "100.127.0.1", 53), 0);
        ck_assert_int_eq(probe_in(cg, UDP_SEND, "100.127.0.1", 54), EPERM);
        ck_assert_int_eq(probe_in(cg, UDP_SEND, "100.127.0.2", 53), EPERM);
        /* TCP rule, UDP packet: the protocol counts. */
        ck_assert_int_eq(probe_in(cg, UDP_SEND, "100.127.0.1", 80), EPERM);

        /* v4-mapped from an IPv6 socket is IPv4. */
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "::ffff:100.127.0.1", 80), 0);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "::ffff:100.127.0.1", 443), EPERM);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "::ffff:100.127.0.1", 8080), EPERM);
        ck_assert_int_eq(probe_in(cg, UDP_SEND, "::ffff:100.127.0.1", 53), 0);
        ck_assert_int_eq(probe_in(cg, UDP_SEND, "::ffff:100.127.0.2", 53), EPERM);

        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "fd00:5ec::1", 443), 0);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "fd00:5ec::1", 80), EPERM);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "fd00:5ec::2", 443), EPERM);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "fd00:5ec::2", 8080), 0);

        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "127.0.0.1", 443), 0);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "::1", 443), 0);
        ck_assert_int_eq(probe_in(cg, UDP_SEND, "127.0.0.53", 9), 0);

        ck_assert_int_eq(egress_consume(e, collect, &evs), 19);
        ev = find_event(&evs, id, EGRESS_HOOK_CONNECT4, "100.127.0.1", 80);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->verdict, EGRESS_VERDICT_ALLOW);
        ck_assert_uint_eq(ev->rule_id, 1);
        ck_assert_uint_eq(ev->family, AF_INET);
        ck_assert_uint_eq(ev->proto, IPPROTO_TCP);
        ck_assert_uint_ne(ev->pid, 0);
        ev = find_event(&evs, id, EGRESS_HOOK_CONNECT4, "100.127.0.1", 443);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->verdict, EGRESS_VERDICT_DENY);
        ck_assert_uint_eq(ev->rule_id, 0);
        ev = find_event(&evs, id, EGRESS_HOOK_SENDMSG4, "100.127.0.1", 53);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->verdict, EGRESS_VERDICT_ALLOW);
        ck_assert_uint_eq(ev->rule_id, 2);
        ck_assert_uint_eq(ev->proto, IPPROTO_UDP);
        ev = find_event(&evs, id, EGRESS_HOOK_SENDMSG4, "100.127.0.1", 54);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->verdict, EGRESS_VERDICT_DENY);
        ev = find_event(&evs, id, EGRESS_HOOK_CONNECT6, "100.127.0.1", 80);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->verdict, EGRESS_VERDICT_ALLOW);
        ck_assert_uint_eq(ev->family, AF_INET);
        ev = find_event(&evs, id, EGRESS_HOOK_CONNECT6, "fd00:5ec::1", 443);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->verdict, EGRESS_VERDICT_ALLOW);
        ck_assert_uint_eq(ev->rule_id, 3);
        ck_assert_uint_eq(ev->family, AF_INET6);
        ev = find_event(&evs, id, EGRESS_HOOK_CONNECT6, "fd00:5ec::2", 8080);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->rule_id, 4);

        ck_assert_int_eq(egress_task_counters(e, t, &c), 0);
        ck_assert_uint_eq(c.allowed, 9);
        ck_assert_uint_eq(c.denied, 10);
        ck_assert_uint_eq(c.lost, 0);

        /* Bytes per destination, from the skb hook: what left, nothing
         * denied, no loopback. Two one-byte datagrams (one from an IPv6
         * socket, v4-mapped) to 100.127.0.1:53: 2 x (20 + 8 + 1). */
        ck_assert_int_eq(egress_task_traffic(e, t, &rows, &n_rows), 0);
        ck_assert_uint_eq(count_sent(rows, n_rows), 4);
        row = find_traffic(rows, n_rows, "100.127.0.1", 53, IPPROTO_UDP);
        ck_assert_ptr_nonnull(row);
        ck_assert_uint_eq(row->packets, 2);
        ck_assert_uint_eq(row->bytes, 58);
        row = find_traffic(rows, n_rows, "100.127.0.1", 80, IPPROTO_TCP);
        ck_assert_ptr_nonnull(row);
        ck_assert_uint_ge(row->packets, 6); /* two connections: SYN, data, ACK each at least */
        ck_assert_uint_ge(row->bytes, 6 * 40);
        ck_assert_ptr_nonnull(find_traffic(rows, n_rows, "fd00:5ec::1", 443, IPPROTO_TCP));
        ck_assert_ptr_nonnull(find_traffic(rows, n_rows, "fd00:5ec::2", 8080, IPPROTO_TCP));
        /* And what came back, keyed by the remote end: the SYN-ACK and
         * ACKs of the two connections to :80 (cgroup_skb/ingress). */
        row = find_traffic_dir(rows, n_rows, "100.127.0.1", 80, IPPROTO_TCP, true);
        ck_assert_ptr_nonnull(row);
        ck_assert_uint_ge(row->packets, 2);
        ck_assert_uint_ge(row->bytes, 2 * 40);
        free(rows);

        t = egress_task_remove(e, t);
        ck_assert_uint_eq(attached_progs(cg), 0);
        ck_assert_uint_eq(map_entries_of(id), 0);
        e = egress_close(e);
        (void) close(cg);
}
END_TEST

/* 100.127.0.0/16:80 plus 100.127.1.0/24:443: the trie finds only the /24
 * for 100.127.1.1, which must still carry the /16's port 80. */
START_TEST(test_folding) {
        const NetRule rules[] = {
                rule("100.127.0.0/16", 80, 80, TCP),
                rule("100.127.1.0/24", 443, 443, TCP),
        };
        NetRule too_many[EGRESS_MAX_RANGES + 1];
        Egress *e = NULL;
        EgressTask *t = NULL, *t2 = NULL;
        Events evs = {};
        const struct egress_event *ev;
        uint64_t id, id2;
        int cg, cg2;

        setup_network();
        cg = make_cgroup(&id);
        ck_assert_int_eq(egress_open(&e), 0);
        ck_assert_int_eq(egress_task_add(e, cg, id, rules, ELEMENTSOF(rules), false, &t), 0);

        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.1.1", 80), 0);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.1.1", 443), 0);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.1", 80), 0);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.1", 443), EPERM);
        ck_assert_int_ge(egress_consume(e, collect, &evs), 4);
        ev = find_event(&evs, id, EGRESS_HOOK_CONNECT4, "100.127.1.1", 80);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->rule_id, 1);
        ev = find_event(&evs, id, EGRESS_HOOK_CONNECT4, "100.127.1.1", 443);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->rule_id, 2);

        /* Nine nested rules with distinct ports all apply to the /32: refused,
         * and nothing is left behind. */
        for (size_t i = 0; i < ELEMENTSOF(too_many); i++) {
                char cidr[32];
                (void) snprintf(cidr, sizeof cidr, "100.127.0.0/%zu", 24 + i);
                too_many[i] = rule(cidr, (uint16_t) (1000 + i), (uint16_t) (1000 + i), TCP);
        }
        cg2 = make_cgroup(&id2);
        ck_assert_int_eq(egress_task_add(e, cg2, id2, too_many, ELEMENTSOF(too_many), false, &t2), -E2BIG);
        ck_assert_uint_eq(attached_progs(cg2), 0);
        ck_assert_uint_eq(map_entries_of(id2), 0);
        /* Eight fit. */
        ck_assert_int_eq(egress_task_add(e, cg2, id2, too_many, EGRESS_MAX_RANGES, false, &t2), 0);
        ck_assert_int_eq(probe_in(cg2, TCP_ECHO, "100.127.0.1", 1007), ECONNREFUSED);
        ck_assert_int_eq(probe_in(cg2, TCP_ECHO, "100.127.0.1", 1008), EPERM);
        /* A ninth range by way of a dynamic entry is refused just the same. */
        ck_assert_int_eq(egress_task_allow(e, t2, &too_many[EGRESS_MAX_RANGES], 99, 0), -E2BIG);

        e = egress_close(e); /* removes both tasks */
        ck_assert_uint_eq(attached_progs(cg), 0);
        ck_assert_uint_eq(attached_progs(cg2), 0);
        ck_assert_uint_eq(map_entries_of(id), 0);
        (void) close(cg);
        (void) close(cg2);
}
END_TEST

START_TEST(test_two_tasks_and_untracked) {
        const NetRule ra[] = { rule("100.127.0.0/16", 80, 80, TCP) };
        const NetRule rb[] = { rule("100.127.0.0/16", 443, 443, TCP) };
        Egress *e = NULL;
        EgressTask *a = NULL, *b = NULL, *u = NULL;
        uint64_t ida, idb, idu;
        int cga, cgb, cgu;

        setup_network();
        cga = make_cgroup(&ida);
        cgb = make_cgroup(&idb);
        cgu = make_cgroup(&idu);
        ck_assert_int_eq(egress_open(&e), 0);
        ck_assert_int_eq(egress_task_add(e, cga, ida, ra, 1, false, &a), 0);
        ck_assert_int_eq(egress_task_add(e, cgb, idb, rb, 1, false, &b), 0);
        ck_assert_int_eq(egress_task_add(e, cga, ida, rb, 1, false, &u), -EEXIST);
        ck_assert_uint_eq(attached_progs(cga), N_PROGS);

        ck_assert_int_eq(probe_in(cga, TCP_ECHO, "100.127.0.1", 80), 0);
        ck_assert_int_eq(probe_in(cga, TCP_ECHO, "100.127.0.1", 443), EPERM);
        ck_assert_int_eq(probe_in(cgb, TCP_ECHO, "100.127.0.1", 443), 0);
        ck_assert_int_eq(probe_in(cgb, TCP_ECHO, "100.127.0.1", 80), EPERM);

        /* Programs linked to a cgroup whose id has no task entry: fail closed,
         * loopback aside. */
        ck_assert_int_eq(egress_task_add(e, cgu, idu + 100000, ra, 1, false, &u), 0);
        ck_assert_int_eq(probe_in(cgu, TCP_ECHO, "100.127.0.1", 80), EPERM);
        ck_assert_int_eq(probe_in(cgu, UDP_SEND, "100.127.0.1", 80), EPERM);
        ck_assert_int_eq(probe_in(cgu, TCP_ECHO, "127.0.0.1", 80), 0);

        a = egress_task_remove(e, a);
        ck_assert_uint_eq(attached_progs(cga), 0);
        ck_assert_uint_eq(map_entries_of(ida), 0);
        /* Without the wall the group reaches anything again. */
        ck_assert_int_eq(probe_in(cga, TCP_ECHO, "100.127.0.1", 443), 0);
        ck_assert_int_eq(probe_in(cgb, TCP_ECHO, "100.127.0.1", 80), EPERM);

        e = egress_close(e);
        ck_assert_uint_eq(attached_progs(cgb), 0);
        ck_assert_uint_eq(attached_progs(cgu), 0);
        ck_assert_uint_eq(map_entries_of(idb), 0);
        (void) close(cga);
        (void) close(cgb);
        (void) close(cgu);
}
END_TEST

START_TEST(test_audit) {
        const NetRule rules[] = { rule("100.127.0.1/32", 80, 80, TCP) };
        Egress *e = NULL;
        EgressTask *t = NULL;
        EgressCounters c;
        Events evs = {};
        const struct egress_event *ev;
        EgressTraffic *rows = NULL;
        const EgressTraffic *row;
        size_t n_rows = 0;
        uint64_t id;
        int cg;

        setup_network();
        cg = make_cgroup(&id);
        ck_assert_int_eq(egress_open(&e), 0);
        ck_assert_int_eq(egress_task_add(e, cg, id, rules, 1, true, &t), 0);

        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.1", 443), 0);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.1", 80), 0);
        ck_assert_int_eq(probe_in(cg, PING, "100.127.0.2", 0), 0);

        ck_assert_int_ge(egress_consume(e, collect, &evs), 3);
        ev = find_event(&evs, id, EGRESS_HOOK_CONNECT4, "100.127.0.1", 443);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->verdict, EGRESS_VERDICT_AUDIT_DENY);
        ck_assert_str_eq(egress_verdict_to_string(ev->verdict), "audit_deny");
        ev = find_event(&evs, id, EGRESS_HOOK_CONNECT4, "100.127.0.1", 80);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->verdict, EGRESS_VERDICT_ALLOW);
        ev = find_event(&evs, id, EGRESS_HOOK_SKB, "100.127.0.2", 0);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->verdict, EGRESS_VERDICT_AUDIT_DENY);
        /* The audited stream's packets are not reported one by one. */
        ck_assert_ptr_null(find_event(&evs, id, EGRESS_HOOK_SKB, "100.127.0.1", 443));

        ck_assert_int_eq(egress_task_counters(e, t, &c), 0);
        ck_assert_uint_eq(c.allowed, 1);
        ck_assert_uint_eq(c.denied, 2);

        /* What audit mode let out is counted as traffic too. */
        ck_assert_int_eq(egress_task_traffic(e, t, &rows, &n_rows), 0);
        ck_assert_ptr_nonnull(find_traffic(rows, n_rows, "100.127.0.1", 443, IPPROTO_TCP));
        ck_assert_ptr_nonnull(find_traffic(rows, n_rows, "100.127.0.1", 80, IPPROTO_TCP));
        row = find_traffic(rows, n_rows, "100.127.0.2", 0, IPPROTO_ICMP);
        ck_assert_ptr_nonnull(row);
        ck_assert_uint_eq(row->packets, 1);
        free(rows);
        e = egress_close(e);
        (void) close(cg);
}
END_TEST

START_TEST(test_dynamic_expiry) {
        const NetRule rules[] = { rule("100.127.0.1/32", 80, 80, TCP) };
        NetRule past = rule("100.127.0.2/32", 8080, 8080, TCP), future = rule("100.127.0.3/32", 8080, 8080, TCP);
        Egress *e = NULL;
        EgressTask *t = NULL;
        Events evs = {};
        const struct egress_event *ev;
        uint64_t id, now;
        int cg;

        setup_network();
        cg = make_cgroup(&id);
        ck_assert_int_eq(egress_open(&e), 0);
        ck_assert_int_eq(egress_task_add(e, cg, id, rules, 1, false, &t), 0);
        now = boottime_ns();
        ck_assert_int_eq(egress_task_allow(e, t, &past, 100, now - NSEC_PER_SEC), 0);
        ck_assert_int_eq(egress_task_allow(e, t, &future, 101, now + 60 * NSEC_PER_SEC), 0);

        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.2", 8080), EPERM);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.3", 8080), 0);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.1", 80), 0);

        /* Learnt again: the expiry moves, no second range. */
        ck_assert_int_eq(egress_task_allow(e, t, &past, 100, now + 60 * NSEC_PER_SEC), 0);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.2", 8080), 0);

        ck_assert_int_ge(egress_consume(e, collect, &evs), 4);
        ev = find_event(&evs, id, EGRESS_HOOK_CONNECT4, "100.127.0.3", 8080);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->rule_id, 101);
        ev = find_event(&evs, id, EGRESS_HOOK_CONNECT4, "100.127.0.2", 8080);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->verdict, EGRESS_VERDICT_ALLOW);
        ck_assert_uint_eq(ev->rule_id, 100);

        t = egress_task_remove(e, t);
        ck_assert_uint_eq(map_entries_of(id), 0);
        e = egress_close(e);
        (void) close(cg);
}
END_TEST

/* The second wall. Unconnected ping sockets and raw sockets send without
 * any sock_addr hook running (connect() on a ping socket does run
 * connect4), so what stops them is the cgroup_skb program. */
START_TEST(test_skb_wall) {
        const NetRule rules[] = { rule("100.127.0.1/32", 53, 53, UDP) };
        Egress *e = NULL;
        EgressTask *t = NULL;
        Events evs = {};
        const struct egress_event *ev;
        uint64_t id;
        int cg;

        setup_network();
        cg = make_cgroup(&id);
        /* Without the wall both paths work, so EPERM below is the wall's. */
        ck_assert_int_eq(probe_in(cg, PING, "100.127.0.1", 0), 0);
        ck_assert_int_eq(probe_in(cg, RAW_UDP, "100.127.0.1", 54), 0);

        ck_assert_int_eq(egress_open(&e), 0);
        ck_assert_int_eq(egress_task_add(e, cg, id, rules, 1, false, &t), 0);

        ck_assert_int_eq(probe_in(cg, PING, "100.127.0.1", 0), EPERM);
        ck_assert_int_eq(probe_in(cg, PING, "127.0.0.1", 0), 0);
        ck_assert_int_eq(probe_in(cg, RAW_UDP, "100.127.0.1", 53), 0);
        ck_assert_int_eq(probe_in(cg, RAW_UDP, "100.127.0.1", 54), EPERM);

        ck_assert_int_ge(egress_consume(e, collect, &evs), 2);
        ev = find_event(&evs, id, EGRESS_HOOK_SKB, "100.127.0.1", 0);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->verdict, EGRESS_VERDICT_DENY);
        ck_assert_uint_eq(ev->proto, IPPROTO_ICMP);
        ev = find_event(&evs, id, EGRESS_HOOK_SKB, "100.127.0.1", 54);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->proto, IPPROTO_UDP);
        /* Allowed packets are not reported by the skb hook. */
        ck_assert_ptr_null(find_event(&evs, id, EGRESS_HOOK_SKB, "100.127.0.1", 53));

        e = egress_close(e);
        ck_assert_uint_eq(attached_progs(cg), 0);
        ck_assert_uint_eq(map_entries_of(id), 0);
        (void) close(cg);
}
END_TEST

/* The skb hook finds the UDP port of IPv6 behind extension headers
 * (hop-by-hop, destination options, fragment, AH), and judges a later
 * fragment as port 0. */
START_TEST(test_skb_v6_ext_headers) {
        const NetRule rules[] = { rule("fd00:5ec::1/128", 53, 53, UDP) };
        Egress *e = NULL;
        EgressTask *t = NULL;
        Events evs = {};
        const struct egress_event *ev;
        EgressTraffic *rows = NULL;
        const EgressTraffic *row;
        size_t n_rows = 0;
        uint64_t id;
        int cg;

        setup_network();
        cg = make_cgroup(&id);
        ck_assert_int_eq(probe_in(cg, RAW6_FRAG_FIRST, "fd00:5ec::1", 54), 0);
        ck_assert_int_eq(probe_in(cg, RAW6_AH, "fd00:5ec::1", 54), 0);

        ck_assert_int_eq(egress_open(&e), 0);
        ck_assert_int_eq(egress_task_add(e, cg, id, rules, 1, false, &t), 0);

        ck_assert_int_eq(probe_in(cg, RAW6_FRAG_FIRST, "fd00:5ec::1", 53), 0);
        ck_assert_int_eq(probe_in(cg, RAW6_FRAG_FIRST, "fd00:5ec::1", 54), EPERM);
        ck_assert_int_eq(probe_in(cg, RAW6_AH, "fd00:5ec::1", 53), 0);
        ck_assert_int_eq(probe_in(cg, RAW6_AH, "fd00:5ec::1", 54), EPERM);
        ck_assert_int_eq(probe_in(cg, RAW6_FRAG_LATER, "fd00:5ec::1", 53), EPERM);
        ck_assert_int_eq(probe_in(cg, RAW6_FRAG_FIRST, "fd00:5ec::2", 53), EPERM);

        ck_assert_int_ge(egress_consume(e, collect, &evs), 3);
        ev = find_event(&evs, id, EGRESS_HOOK_SKB, "fd00:5ec::1", 54);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->verdict, EGRESS_VERDICT_DENY);
        ck_assert_uint_eq(ev->proto, IPPROTO_UDP);
        ck_assert_uint_eq(ev->family, AF_INET6);
        ev = find_event(&evs, id, EGRESS_HOOK_SKB, "fd00:5ec::1", 0); /* the later fragment */
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->proto, IPPROTO_UDP);
        ck_assert_ptr_nonnull(find_event(&evs, id, EGRESS_HOOK_SKB, "fd00:5ec::2", 53));
        ck_assert_ptr_null(find_event(&evs, id, EGRESS_HOOK_SKB, "fd00:5ec::1", 53));

        /* Both allowed packets: 40 + 8 + 8 + 8 + 10 and 40 + 8 + 12 + 10. */
        ck_assert_int_eq(egress_task_traffic(e, t, &rows, &n_rows), 0);
        ck_assert_uint_eq(n_rows, 1);
        row = find_traffic(rows, n_rows, "fd00:5ec::1", 53, IPPROTO_UDP);
        ck_assert_ptr_nonnull(row);
        ck_assert_uint_eq(row->packets, 2);
        ck_assert_uint_eq(row->bytes, 74 + 70);
        free(rows);

        t = egress_task_remove(e, t);
        ck_assert_uint_eq(map_entries_of(id), 0);
        e = egress_close(e);
        (void) close(cg);
}
END_TEST

/* ---- the pinned cache ------------------------------------------------- */

/* Objects pinned in the cache's egress-* directories (-1: no base dir). */
static int pinned_objects(void) {
        _cleanup_(closedirp) DIR *d = opendir(bpf_dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d))) {
                _cleanup_(closedirp) DIR *sub = NULL;
                char path[PATH_MAX + NAME_MAX + 2];
                struct dirent *x;
                struct stat st;

                if (strncmp(de->d_name, "egress-", 7) != 0)
                        continue;
                (void) snprintf(path, sizeof path, "%s/%s", bpf_dir, de->d_name);
                ck_assert_int_eq(stat(path, &st), 0);
                ck_assert_uint_eq(st.st_mode & 07777, 0700);
                sub = opendir(path);
                while (sub && (x = readdir(sub)))
                        n += x->d_name[0] != '.';
        }
        return n;
}

/* The id of the program linked to cgroup_fd for egress packets. */
static uint32_t linked_skb_prog(int cgroup_fd) {
        __u32 ids[4], cnt = ELEMENTSOF(ids);

        ck_assert_int_eq(bpf_prog_query(cgroup_fd, BPF_CGROUP_INET_EGRESS, 0, NULL, ids, &cnt), 0);
        ck_assert_uint_eq(cnt, 1);
        return ids[0];
}

/* The first open pins, a second Egress (and a second process) reuses the
 * programs, and the reused ones enforce. */
START_TEST(test_cache_pin_and_reuse) {
        const NetRule rules[] = { rule("100.127.0.1/32", 80, 80, TCP) };
        Egress *e1 = NULL, *e2 = NULL;
        EgressTask *t1 = NULL, *t2 = NULL;
        Events evs = {};
        const struct egress_event *ev;
        uint64_t id1, id2;
        int cg1, cg2, status;
        pid_t pid;

        setup_network();
        cg1 = make_cgroup(&id1);
        cg2 = make_cgroup(&id2);
        ck_assert_int_eq(egress_cache_drop(), 0);
        ck_assert_int_eq(pinned_objects(), -1);

        ck_assert_int_eq(egress_open(&e1), 0);
        ck_assert(!egress_cached(e1));
        ck_assert_int_eq(pinned_objects(), N_PROGS + 5); /* the programs and 5 maps */

        ck_assert_int_eq(egress_open(&e2), 0);
        ck_assert(egress_cached(e2));
        ck_assert_int_eq(egress_task_add(e1, cg1, id1, rules, 1, false, &t1), 0);
        ck_assert_int_eq(egress_task_add(e2, cg2, id2, rules, 1, false, &t2), 0);
        ck_assert_uint_eq(linked_skb_prog(cg1), linked_skb_prog(cg2)); /* the very same program */
        /* One task per cgroup across supervisors too (the task map is shared). */
        ck_assert_int_eq(egress_task_add(e2, cg1, id1, rules, 1, false, &(EgressTask *) { NULL }), -EEXIST);

        ck_assert_int_eq(probe_in(cg2, TCP_ECHO, "100.127.0.1", 80), 0);
        ck_assert_int_eq(probe_in(cg2, TCP_ECHO, "100.127.0.1", 443), EPERM);
        ck_assert_int_eq(probe_in(cg2, PING, "100.127.0.1", 0), EPERM);
        ck_assert_int_ge(egress_consume(e2, collect, &evs), 3);
        ev = find_event(&evs, id2, EGRESS_HOOK_CONNECT4, "100.127.0.1", 443);
        ck_assert_ptr_nonnull(ev);
        ck_assert_uint_eq(ev->verdict, EGRESS_VERDICT_DENY);

        /* A second supervisor process reuses them as well. */
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                Egress *e3 = NULL;
                _exit(egress_open(&e3) < 0 ? 2 : egress_cached(e3) ? 0 : 1);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);

        t2 = egress_task_remove(e2, t2);
        ck_assert_uint_eq(map_entries_of(id2), 0);
        e2 = egress_close(e2);
        /* e1's task is untouched by e2's going. */
        ck_assert_int_eq(probe_in(cg1, TCP_ECHO, "100.127.0.1", 80), 0);
        ck_assert_int_eq(probe_in(cg1, TCP_ECHO, "100.127.0.1", 443), EPERM);
        e1 = egress_close(e1);
        ck_assert_uint_eq(map_entries_of(id1), 0);
        ck_assert_uint_eq(attached_progs(cg1), 0);
        ck_assert_int_eq(pinned_objects(), N_PROGS + 5); /* the cache outlives its supervisors */
        (void) close(cg1);
        (void) close(cg2);
}
END_TEST

/* Two supervisors at once, each with tasks: each receives only its own
 * tasks' events. */
START_TEST(test_cache_events_per_supervisor) {
        const NetRule rules[] = { rule("100.127.0.1/32", 80, 80, TCP) };
        Egress *e1 = NULL, *e2 = NULL;
        EgressTask *a1 = NULL, *b1 = NULL, *a2 = NULL;
        Events ev1 = {}, ev2 = {};
        uint64_t ida1, idb1, ida2;
        int cga1, cgb1, cga2;

        setup_network();
        cga1 = make_cgroup(&ida1);
        cgb1 = make_cgroup(&idb1);
        cga2 = make_cgroup(&ida2);
        ck_assert_int_eq(egress_open(&e1), 0);
        ck_assert_int_eq(egress_open(&e2), 0);
        ck_assert(egress_cached(e2));
        ck_assert_int_eq(egress_task_add(e1, cga1, ida1, rules, 1, false, &a1), 0);
        ck_assert_int_eq(egress_task_add(e1, cgb1, idb1, rules, 1, true, &b1), 0);
        ck_assert_int_eq(egress_task_add(e2, cga2, ida2, rules, 1, false, &a2), 0);

        ck_assert_int_eq(probe_in(cga1, TCP_ECHO, "100.127.0.1", 80), 0);
        ck_assert_int_eq(probe_in(cgb1, TCP_ECHO, "100.127.0.1", 443), 0); /* audit */
        ck_assert_int_eq(probe_in(cga2, TCP_ECHO, "100.127.0.1", 443), EPERM);
        ck_assert_int_eq(probe_in(cga2, UDP_SEND, "100.127.0.2", 53), EPERM);

        ck_assert_int_eq(egress_consume(e1, collect, &ev1), 2);
        ck_assert_int_eq(egress_consume(e2, collect, &ev2), 2);
        for (size_t i = 0; i < ev1.n; i++)
                ck_assert(ev1.ev[i].cgroup_id == ida1 || ev1.ev[i].cgroup_id == idb1);
        for (size_t i = 0; i < ev2.n; i++)
                ck_assert_uint_eq(ev2.ev[i].cgroup_id, ida2);
        ck_assert_ptr_nonnull(find_event(&ev1, ida1, EGRESS_HOOK_CONNECT4, "100.127.0.1", 80));
        ck_assert_ptr_nonnull(find_event(&ev1, idb1, EGRESS_HOOK_CONNECT4, "100.127.0.1", 443));
        ck_assert_ptr_nonnull(find_event(&ev2, ida2, EGRESS_HOOK_CONNECT4, "100.127.0.1", 443));
        ck_assert_ptr_nonnull(find_event(&ev2, ida2, EGRESS_HOOK_SENDMSG4, "100.127.0.2", 53));

        /* Nothing more arrived late on the other ring. */
        ck_assert_int_eq(egress_consume(e1, collect, &ev1), 0);
        e1 = egress_close(e1);
        ck_assert_int_eq(probe_in(cga2, TCP_ECHO, "100.127.0.1", 80), 0);
        ck_assert_int_eq(egress_consume(e2, collect, &ev2), 1);
        e2 = egress_close(e2);
        ck_assert_uint_eq(map_entries_of(ida1) + map_entries_of(idb1) + map_entries_of(ida2), 0);
        (void) close(cga1);
        (void) close(cgb1);
        (void) close(cga2);
}
END_TEST

/* A supervisor killed with tasks leaves their entries in the shared maps;
 * the next supervisor's first task sweeps them: one cgroup still there
 * (its links died with the supervisor), one removed. */
START_TEST(test_cache_sweep_killed) {
        const NetRule rules[] = { rule("100.127.0.0/16", 80, 80, TCP), rule("fd00:5ec::/64", 443, 443, TCP) };
        Egress *e = NULL;
        EgressTask *t = NULL;
        uint64_t ida, idb, idc;
        int cga, cgb, cgc, pfd[2], status;
        char c;
        pid_t pid;

        setup_network();
        cga = make_cgroup(&ida);
        cgb = make_cgroup(&idb);
        cgc = make_cgroup(&idc);
        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                Egress *k = NULL;
                EgressTask *x = NULL, *y = NULL;
                (void) close(pfd[0]);
                if (egress_open(&k) < 0 || egress_task_add(k, cga, ida, rules, 2, false, &x) < 0 ||
                    egress_task_add(k, cgb, idb, rules, 2, false, &y) < 0)
                        _exit(1);
                /* Traffic rows too. */
                if (probe_in(cga, TCP_ECHO, "100.127.0.1", 80) != 0 || write(pfd[1], "x", 1) != 1)
                        _exit(1);
                pause();
                _exit(1);
        }
        (void) close(pfd[1]);
        ck_assert_int_eq(read(pfd[0], &c, 1), 1);
        (void) close(pfd[0]);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);

        ck_assert_uint_ge(map_entries_of(ida), 5); /* task, ring, 3 rules, traffic */
        ck_assert_uint_ge(map_entries_of(idb), 5);
        ck_assert_uint_eq(attached_progs(cga), 0);
        ck_assert_int_eq(rmdir(cgroup_paths[1]), 0); /* cgb: gone */
        /* The links are gone, the entries fail closed meanwhile: the
         * cgroup without the wall reaches anything. */
        ck_assert_int_eq(probe_in(cga, TCP_ECHO, "100.127.0.1", 443), 0);

        ck_assert_int_eq(egress_open(&e), 0);
        ck_assert(egress_cached(e));
        ck_assert_int_eq(egress_task_add(e, cgc, idc, rules, 2, false, &t), 0);
        ck_assert_uint_eq(map_entries_of(ida), 0);
        ck_assert_uint_eq(map_entries_of(idb), 0);
        ck_assert_uint_ge(map_entries_of(idc), 5 - 1); /* no traffic yet */
        /* The live task is untouched and the swept cgroup may get a task again. */
        ck_assert_int_eq(probe_in(cgc, TCP_ECHO, "100.127.0.1", 80), 0);
        ck_assert_int_eq(probe_in(cgc, TCP_ECHO, "100.127.0.1", 443), EPERM);
        t = egress_task_remove(e, t);
        ck_assert_int_eq(egress_task_add(e, cga, ida, rules, 2, false, &t), 0);
        ck_assert_int_eq(probe_in(cga, TCP_ECHO, "100.127.0.1", 443), EPERM);
        e = egress_close(e);
        ck_assert_uint_eq(map_entries_of(ida) + map_entries_of(idc), 0);
        (void) close(cga);
        (void) close(cgb);
        (void) close(cgc);
}
END_TEST

/* egress_cache_drop() unpins everything; open Egresses keep working, and
 * the next open loads and pins afresh. */
START_TEST(test_cache_drop) {
        const NetRule rules[] = { rule("100.127.0.1/32", 80, 80, TCP) };
        Egress *e1 = NULL, *e2 = NULL;
        EgressTask *t = NULL;
        uint64_t id;
        int cg;
        struct stat st;

        setup_network();
        cg = make_cgroup(&id);
        ck_assert_int_eq(egress_open(&e1), 0);
        ck_assert_int_eq(pinned_objects(), N_PROGS + 5);
        ck_assert_int_eq(egress_cache_drop(), 0);
        ck_assert_int_eq(stat(bpf_dir, &st), -1);
        ck_assert_int_eq(errno, ENOENT);
        ck_assert_int_eq(egress_cache_drop(), 0); /* nothing to drop */

        ck_assert_int_eq(egress_task_add(e1, cg, id, rules, 1, false, &t), 0);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.1", 80), 0);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.1", 443), EPERM);

        ck_assert_int_eq(egress_open(&e2), 0);
        ck_assert(!egress_cached(e2));
        ck_assert_int_eq(pinned_objects(), N_PROGS + 5);
        e2 = egress_close(e2);
        e1 = egress_close(e1);
        ck_assert_uint_eq(map_entries_of(id), 0);
        (void) close(cg);
}
END_TEST

/* Not on bpffs (or switched off): loaded privately, nothing created. */
START_TEST(test_cache_unavailable) {
        const NetRule rules[] = { rule("100.127.0.1/32", 80, 80, TCP) };
        char tmp[] = "/tmp/stockade-egress-test-XXXXXX", dir[PATH_MAX];
        Egress *e1 = NULL, *e2 = NULL;
        EgressTask *t = NULL;
        Events evs = {};
        uint64_t id;
        int cg;

        setup_network();
        cg = make_cgroup(&id);
        ck_assert_ptr_nonnull(mkdtemp(tmp));
        (void) snprintf(dir, sizeof dir, "%s/bpf", tmp);
        ck_assert_int_eq(setenv("STOCKADE_BPF_DIR", dir, 1), 0);
        ck_assert_int_eq(egress_open(&e1), 0);
        ck_assert(!egress_cached(e1));
        ck_assert_int_eq(egress_open(&e2), 0);
        ck_assert(!egress_cached(e2));
        ck_assert_int_eq(rmdir(tmp), 0); /* empty: nothing made there */
        e2 = egress_close(e2);

        ck_assert_int_eq(egress_task_add(e1, cg, id, rules, 1, false, &t), 0);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.1", 80), 0);
        ck_assert_int_eq(probe_in(cg, TCP_ECHO, "100.127.0.1", 443), EPERM);
        ck_assert_int_eq(egress_consume(e1, collect, &evs), 2);
        e1 = egress_close(e1);

        ck_assert_int_eq(setenv("STOCKADE_BPF_DIR", "", 1), 0);
        ck_assert_int_eq(egress_open(&e1), 0);
        ck_assert(!egress_cached(e1));
        e1 = egress_close(e1);
        ck_assert_uint_eq(map_entries_of(id), 0);
        (void) close(cg);
}
END_TEST

static Suite *egress_suite(void) {
        Suite *s = suite_create("egress");
        TCase *tc = tcase_create("kernel");

        tcase_set_timeout(tc, 60);
        tcase_add_unchecked_fixture(tc, setup_kernel, teardown_kernel);
        tcase_add_checked_fixture(tc, NULL, cleanup_test);
        tcase_add_test(tc, test_tcp_udp_v4_v6_mapped);
        tcase_add_test(tc, test_folding);
        tcase_add_test(tc, test_two_tasks_and_untracked);
        tcase_add_test(tc, test_audit);
        tcase_add_test(tc, test_dynamic_expiry);
        tcase_add_test(tc, test_skb_wall);
        tcase_add_test(tc, test_skb_v6_ext_headers);
        tcase_add_test(tc, test_cache_pin_and_reuse);
        tcase_add_test(tc, test_cache_events_per_supervisor);
        tcase_add_test(tc, test_cache_sweep_killed);
        tcase_add_test(tc, test_cache_drop);
        tcase_add_test(tc, test_cache_unavailable);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(egress_suite)
