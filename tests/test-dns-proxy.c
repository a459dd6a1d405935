/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The DNS proxy: the pure decisions first, then real sockets. Every socket test runs in its own
 * network namespace (Check forks each test), with test addresses from 100.127.0.0/16 and
 * fd00:5ec::/64 only, so the machine's network is never touched. Upstream is dnsmasq, or a tiny
 * ldns server of our own where dnsmasq cannot misbehave on demand. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/macro.h"
#include "check-main.h"
#include "dns-proxy.h"

#define GW1 "100.127.0.1"
#define GW2 "100.127.0.2"
#define GW1_V6 "fd00:5ec::1"
#define DNSMASQ_ADDR "100.127.0.53"
#define SILENT_ADDR "100.127.0.54"
#define SPOOF_ADDR "100.127.0.55"
#define UPSTREAM_PORT 5353

DEFINE_TRIVIAL_CLEANUP_FUNC(ldns_pkt *, ldns_pkt_free);

/* ---- fixtures ---- */

static pid_t child_pid = -1;

static bool require_root(void) {
        const char *e = getenv("STOCKADE_TESTS_REQUIRE_ROOT");
        return e && streq(e, "1");
}

/* Our own network namespace with the test addresses; false: skip (no privileges). */
static bool net_up(void) {
        const char *addrs = "dev X";
        char cmd[512];

        if (unshare(CLONE_NEWNET) < 0) {
                ck_assert_msg(!require_root(), "unshare(CLONE_NEWNET): %s", strerror(errno));
                fprintf(stderr, "# SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
                return false;
        }
        ck_assert_int_eq(system("ip link set lo up"), 0);
        /* A dummy interface when the kernel has them, lo otherwise: the proxy does not care. */
        if (system("ip link add dns0 type dummy 2>/dev/null && ip link set dns0 up") == 0)
                addrs = "dev dns0";
        else
                addrs = "dev lo";
        (void) snprintf(cmd, sizeof cmd,
                        "ip addr add " GW1 "/32 %1$s && ip addr add " GW2 "/32 %1$s && "
                        "ip addr add " DNSMASQ_ADDR "/32 %1$s && ip addr add " SILENT_ADDR "/32 %1$s && "
                        "ip addr add " SPOOF_ADDR "/32 %1$s && ip addr add 100.127.0.56/32 %1$s && "
                        "ip -6 addr add " GW1_V6 "/128 %1$s nodad",
                        addrs);
        ck_assert_int_eq(system(cmd), 0);
        return true;
}

static void child_stop(void) {
        if (child_pid > 0) {
                (void) kill(child_pid, SIGKILL);
                (void) waitpid(child_pid, NULL, 0);
        }
        child_pid = -1;
}

static void sa_in(struct sockaddr_storage *ss, socklen_t *len, const char *addr, uint16_t port) {
        memset(ss, 0, sizeof *ss);
        if (strchr(addr, ':')) {
                struct sockaddr_in6 *sa = (struct sockaddr_in6 *) ss;
                sa->sin6_family = AF_INET6;
                sa->sin6_port = htons(port);
                ck_assert_int_eq(inet_pton(AF_INET6, addr, &sa->sin6_addr), 1);
                *len = sizeof *sa;
        } else {
                struct sockaddr_in *sa = (struct sockaddr_in *) ss;
                sa->sin_family = AF_INET;
                sa->sin_port = htons(port);
                ck_assert_int_eq(inet_pton(AF_INET, addr, &sa->sin_addr), 1);
                *len = sizeof *sa;
        }
}

static int udp_socket(const char *peer) {
        int fd = socket(strchr(peer, ':') ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        return fd;
}

static void query_wire(const char *name, ldns_rr_type type, uint16_t id, bool edns, uint8_t **ret, size_t *ret_size) {
        _cleanup_(ldns_pkt_freep) ldns_pkt *q = NULL;

        ck_assert_int_eq(ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN, LDNS_RD), LDNS_STATUS_OK);
        ldns_pkt_set_id(q, id);
        if (edns)
                ldns_pkt_set_edns_udp_size(q, 1232);
        ck_assert_int_eq(ldns_pkt2wire(ret, q, ret_size), LDNS_STATUS_OK);
}

/* Waits up to timeout_ms for a datagram on fd, running the proxy (when given) meanwhile. */
static ldns_pkt *wait_reply(DnsProxy *p, int fd, int timeout_ms) {
        struct timespec start, now;

        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &start), 0);
        for (;;) {
                struct pollfd pfd[2] = {
                        { .fd = fd, .events = POLLIN },
                        { .fd = p ? dns_proxy_fd(p) : -1, .events = POLLIN },
                };
                int elapsed;

                ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &now), 0);
                elapsed = (int) ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
                if (elapsed >= timeout_ms)
                        return NULL;
                ck_assert_int_ge(poll(pfd, 2, timeout_ms - elapsed), 0);
                if (pfd[1].revents & POLLIN)
                        ck_assert_int_eq(dns_proxy_dispatch(p), 0);
                if (pfd[0].revents & POLLIN) {
                        uint8_t buf[65536];
                        ldns_pkt *r = NULL;
                        ssize_t n = recv(fd, buf, sizeof buf, 0);

                        ck_assert_int_gt(n, 0);
                        ck_assert_int_eq(ldns_wire2pkt(&r, buf, (size_t) n), LDNS_STATUS_OK);
                        return r;
                }
        }
}

static void send_to(int fd, const char *addr, uint16_t port, const void *buf, size_t size) {
        struct sockaddr_storage ss;
        socklen_t len;

        sa_in(&ss, &len, addr, port);
        ck_assert_int_eq(sendto(fd, buf, size, 0, (struct sockaddr *) &ss, len), (ssize_t) size);
}

static ldns_pkt *ask(DnsProxy *p, int fd, const char *gw, const char *name, ldns_rr_type type, uint16_t id) {
        _cleanup_free_ uint8_t *w = NULL;
        size_t n;

        query_wire(name, type, id, /* edns= */ true, &w, &n);
        send_to(fd, gw, DNS_PROXY_PORT, w, n);
        return wait_reply(p, fd, 5000);
}

static void dnsmasq_start(void) {
        static const char *const argv[] = {
                "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--bind-interfaces", "--listen-address=" DNSMASQ_ADDR, "--port=5353", "--pid-file=",
                "--user=root", "--local-ttl=600",
                "--address=/allowed.test/100.127.9.9", "--address=/allowed.test/fd00:5ec::99",
                "--address=/wild.test/100.127.9.30",
                "--host-record=target.test,100.127.9.10,fd00:5ec::10",
                "--host-record=other.test,100.127.9.20",
                "--cname=alias.test,target.test",
                "--cname=chain.test,alias.test",
                NULL,
        };
        int fd;

        child_pid = fork();
        ck_assert_int_ge(child_pid, 0);
        if (child_pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                /* Dies with the test, whatever assertion ends it. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (null >= 0 && !getenv("TEST_DNS_VERBOSE")) {
                        (void) dup2(null, STDOUT_FILENO);
                        (void) dup2(null, STDERR_FILENO);
                }
                execvp("dnsmasq", (char **) argv);
                _exit(127);
        }

        /* Ready when it answers. */
        fd = udp_socket(DNSMASQ_ADDR);
        for (int i = 0; i < 50; i++) {
                _cleanup_free_ uint8_t *w = NULL;
                _cleanup_(ldns_pkt_freep) ldns_pkt *r = NULL;
                size_t n;

                query_wire("allowed.test", LDNS_RR_TYPE_A, 1, false, &w, &n);
                send_to(fd, DNSMASQ_ADDR, UPSTREAM_PORT, w, n);
                r = wait_reply(NULL, fd, 100);
                if (r) {
                        close(fd);
                        return;
                }
                ck_assert_int_eq(waitpid(child_pid, NULL, WNOHANG), 0);
        }
        ck_abort_msg("dnsmasq did not come up");
}

static bool have_dnsmasq(void) {
        if (system("command -v dnsmasq >/dev/null 2>&1") == 0)
                return true;
        ck_assert_msg(!require_root(), "dnsmasq not installed");
        fprintf(stderr, "# SKIP: dnsmasq not installed\n");
        return false;
}

/* ---- what the callbacks saw ---- */

typedef struct Seen {
        int client_fd; /* the answer must not be waiting there yet when allow runs */
        bool allow_after_answer;
        int fail_allow;
        DnsProxy *proxy; /* with remove_in_allow: the task removes itself from allow */
        DnsTask **task;
        bool remove_in_allow;

        NetRule allowed[80];
        uint32_t ttl[80];
        int rule_index[80];
        size_t n_allowed;

        DnsEvent events[32];
        char names[32][256];
        size_t n_events;
} Seen;

static int seen_allow(void *userdata, const NetRule *rule, int rule_index, uint32_t ttl_sec) {
        Seen *s = userdata;
        int pending = 0;

        if (s->client_fd >= 0 && ioctl(s->client_fd, FIONREAD, &pending) == 0 && pending > 0)
                s->allow_after_answer = true;
        ck_assert_ptr_null(rule->host);
        ck_assert_uint_lt(s->n_allowed, ELEMENTSOF(s->allowed));
        s->allowed[s->n_allowed] = *rule;
        s->ttl[s->n_allowed] = ttl_sec;
        s->rule_index[s->n_allowed] = rule_index;
        s->n_allowed++;
        if (s->remove_in_allow) {
                *s->task = dns_task_remove(s->proxy, *s->task);
                return 0;
        }
        return s->fail_allow;
}

static void seen_event(void *userdata, const DnsEvent *ev) {
        Seen *s = userdata;

        ck_assert_uint_lt(s->n_events, ELEMENTSOF(s->events));
        s->events[s->n_events] = *ev;
        (void) snprintf(s->names[s->n_events], sizeof s->names[0], "%s", ev->name);
        s->events[s->n_events].name = s->names[s->n_events];
        s->n_events++;
}

static DnsTask *task_add(DnsProxy *p, const char *gw4, const char *gw6, const NetRule *rules, size_t n, Seen *s) {
        DnsTaskCallbacks cb = { .allow = seen_allow, .event = seen_event, .userdata = s };
        struct in_addr a4;
        struct in6_addr a6;
        DnsTask *t = NULL;

        if (gw4)
                ck_assert_int_eq(inet_pton(AF_INET, gw4, &a4), 1);
        if (gw6)
                ck_assert_int_eq(inet_pton(AF_INET6, gw6, &a6), 1);
        ck_assert_int_eq(dns_task_add(p, gw4 ? &a4 : NULL, gw6 ? &a6 : NULL, rules, n, &cb, &t), 0);
        return t;
}

static NetRule host_rule(const char *host, uint16_t lo, uint16_t hi, unsigned protos) {
        return (NetRule) { .host = (char *) host, .port_lo = lo, .port_hi = hi, .protos = protos };
}

static void assert_v4(const NetRule *r, const char *addr) {
        uint8_t a[16] = {};

        ck_assert_int_eq(inet_pton(AF_INET, addr, a), 1);
        ck_assert_int_eq(r->family, AF_INET);
        ck_assert_uint_eq(r->prefix, 32);
        ck_assert_mem_eq(r->addr, a, 16);
}

static void assert_answer_a(const ldns_pkt *r, const char *addr) {
        ldns_rr_list *l = ldns_pkt_rr_list_by_type(r, LDNS_RR_TYPE_A, LDNS_SECTION_ANSWER);
        char *s;

        ck_assert_ptr_nonnull(l);
        ck_assert_uint_eq(ldns_rr_list_rr_count(l), 1);
        s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(l, 0), 0));
        ck_assert_str_eq(s, addr);
        free(s);
        ldns_rr_list_deep_free(l);
}

static void assert_question(const ldns_pkt *r, const char *name, ldns_rr_type type) {
        const ldns_rr *q;
        char *s;

        ck_assert_uint_eq(ldns_pkt_qdcount(r), 1);
        q = ldns_rr_list_rr(ldns_pkt_question(r), 0);
        s = ldns_rdf2str(ldns_rr_owner(q));
        ck_assert_str_eq(s, name);
        free(s);
        ck_assert_int_eq(ldns_rr_get_type(q), type);
}

/* ---- pure ---- */

START_TEST(test_name_match) {
        ck_assert_int_eq(dns_name_match("example.org", "example.org"), 1);
        ck_assert_int_eq(dns_name_match("example.org", "Example.ORG."), 1);
        ck_assert_int_eq(dns_name_match("example.org.", "example.org"), 1);
        ck_assert_int_eq(dns_name_match("example.org", "a.example.org"), 0);
        ck_assert_int_eq(dns_name_match("example.org", "example.org.evil"), 0);
        ck_assert_int_eq(dns_name_match("example.org", "xexample.org"), 0);
        ck_assert_int_eq(dns_name_match("*.example.org", "a.example.org"), 1);
        ck_assert_int_eq(dns_name_match("*.example.org", "A.B.Example.Org."), 1);
        ck_assert_int_eq(dns_name_match("*.example.org", "example.org"), 0);
        ck_assert_int_eq(dns_name_match("*.example.org", "xexample.org"), 0);
        ck_assert_int_eq(dns_name_match("*.example.org", "a.example.org.evil"), 0);
        /* A label holding a dot is not two labels. */
        ck_assert_int_eq(dns_name_match("a.example.org", "a\\.example.org"), 0);
        ck_assert_int_eq(dns_name_match("*.", "anything"), 0);
        ck_assert_int_eq(dns_name_match("example.org", ""), 0);
        ck_assert_int_eq(dns_name_match(NULL, "example.org"), 0);

        NetRule rules[] = {
                { .family = AF_INET, .prefix = 8 }, /* a CIDR: never a name */
                host_rule("exact.test", 443, 443, NET_PROTO_TCP),
                host_rule("*.wild.test", 1, 65535, NET_PROTO_TCP | NET_PROTO_UDP),
        };
        ck_assert_int_eq(dns_rules_match(rules, ELEMENTSOF(rules), "exact.test"), 1);
        ck_assert_int_eq(dns_rules_match(rules, ELEMENTSOF(rules), "a.wild.test"), 2);
        ck_assert_int_eq(dns_rules_match(rules, ELEMENTSOF(rules), "wild.test"), -1);
        ck_assert_int_eq(dns_rules_match(rules, ELEMENTSOF(rules), "other.test"), -1);
}
END_TEST

START_TEST(test_upstream_parse) {
        struct sockaddr_storage ss;
        socklen_t len;
        char buf[INET6_ADDRSTRLEN];

        ck_assert_int_eq(dns_upstream_parse("192.0.2.1", &ss, &len), 0);
        ck_assert_int_eq(ss.ss_family, AF_INET);
        ck_assert_uint_eq(ntohs(((struct sockaddr_in *) &ss)->sin_port), 53);
        ck_assert_int_eq(dns_upstream_parse("192.0.2.1:5353", &ss, &len), 0);
        ck_assert_uint_eq(ntohs(((struct sockaddr_in *) &ss)->sin_port), 5353);
        ck_assert_int_eq(dns_upstream_parse("fd00:5ec::53", &ss, &len), 0);
        ck_assert_int_eq(ss.ss_family, AF_INET6);
        ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *) &ss)->sin6_port), 53);
        ck_assert_int_eq(dns_upstream_parse("[fd00:5ec::53]:5353", &ss, &len), 0);
        ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *) &ss)->sin6_port), 5353);
        ck_assert_ptr_nonnull(inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, buf, sizeof buf));
        ck_assert_str_eq(buf, "fd00:5ec::53");

        ck_assert_int_eq(dns_upstream_parse("", &ss, &len), -EINVAL);
        ck_assert_int_eq(dns_upstream_parse("192.0.2.1:0", &ss, &len), -EINVAL);
        ck_assert_int_eq(dns_upstream_parse("192.0.2.1:65536", &ss, &len), -EINVAL);
        ck_assert_int_eq(dns_upstream_parse("192.0.2.1:", &ss, &len), -EINVAL);
        ck_assert_int_eq(dns_upstream_parse("[fd00::1]", &ss, &len), 0);
        ck_assert_int_eq(dns_upstream_parse("[fd00::1]x", &ss, &len), -EINVAL);
        ck_assert_int_eq(dns_upstream_parse("[fd00::1", &ss, &len), -EINVAL);
        ck_assert_int_eq(dns_upstream_parse("example.com", &ss, &len), -EINVAL);

        {
                char path[] = "/tmp/test-dns-resolv-XXXXXX";
                int fd = mkstemp(path);
                FILE *f;

                ck_assert_int_ge(fd, 0);
                f = fdopen(fd, "w");
                fputs("# comment\nsearch example\nnameserver bogus\nnameserver fd00:5ec::53\nnameserver 192.0.2.1\n", f);
                fclose(f);
                ck_assert_int_eq(dns_upstream_from_resolv_conf(path, &ss, &len), 0);
                ck_assert_int_eq(ss.ss_family, AF_INET6);
                f = fopen(path, "w");
                fputs("search example\n", f);
                fclose(f);
                ck_assert_int_eq(dns_upstream_from_resolv_conf(path, &ss, &len), -ENOENT);
                unlink(path);
        }
}
END_TEST

START_TEST(test_decide) {
        NetRule rules[] = { host_rule("allowed.test", 443, 443, NET_PROTO_TCP) };
        _cleanup_free_ uint8_t *w = NULL;
        _cleanup_(ldns_pkt_freep) ldns_pkt *r = NULL, *fwd = NULL;
        DnsDecision d;
        size_t n;

        /* Unlisted: REFUSED, same id, question echoed. */
        query_wire("Unlisted.TEST", LDNS_RR_TYPE_A, 0x1234, true, &w, &n);
        ck_assert_int_eq(dns_query_decide(rules, 1, w, n, 7, &d), DNS_ACTION_RESPOND);
        ck_assert_int_eq(ldns_wire2pkt(&r, d.wire, d.wire_size), LDNS_STATUS_OK);
        ck_assert_uint_eq(ldns_pkt_id(r), 0x1234);
        ck_assert(ldns_pkt_qr(r));
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
        assert_question(r, "Unlisted.TEST.", LDNS_RR_TYPE_A);
        ck_assert_str_eq(d.event.name, "unlisted.test");
        ck_assert(!d.event.allowed);
        ck_assert_int_eq(d.event.rule_index, -1);
        dns_decision_done(&d);
        free(TAKE_PTR(w));
        ldns_pkt_free(TAKE_PTR(r));

        /* Listed: forwarded with the new id and the same question; the task's id kept. */
        query_wire("allowed.test.", LDNS_RR_TYPE_AAAA, 0x4321, true, &w, &n);
        ck_assert_int_eq(dns_query_decide(rules, 1, w, n, 0xbeef, &d), DNS_ACTION_FORWARD);
        ck_assert_int_eq(ldns_wire2pkt(&fwd, d.wire, d.wire_size), LDNS_STATUS_OK);
        ck_assert_uint_eq(ldns_pkt_id(fwd), 0xbeef);
        ck_assert(!ldns_pkt_qr(fwd));
        ck_assert(ldns_pkt_rd(fwd));
        ck_assert(ldns_pkt_edns(fwd));
        assert_question(fwd, "allowed.test.", LDNS_RR_TYPE_AAAA);
        ck_assert(d.event.allowed);
        ck_assert_int_eq(d.event.rule_index, 0);
        ck_assert_uint_eq(d.event.qtype, LDNS_RR_TYPE_AAAA);
        dns_decision_done(&d);
        free(TAKE_PTR(w));

        /* Zone transfers and other classes: refused even for a listed name. */
        query_wire("allowed.test", LDNS_RR_TYPE_AXFR, 1, false, &w, &n);
        ck_assert_int_eq(dns_query_decide(rules, 1, w, n, 1, &d), DNS_ACTION_RESPOND);
        ck_assert_int_eq(d.event.rcode, LDNS_RCODE_REFUSED);
        dns_decision_done(&d);
        free(TAKE_PTR(w));

        /* Garbage, short packets, answers: dropped. */
        ck_assert_int_eq(dns_query_decide(rules, 1, "\x01\x02\x03", 3, 1, &d), DNS_ACTION_DROP);
        dns_decision_done(&d);
        ck_assert_int_eq(dns_query_decide(rules, 1, "0123456789abcdefghijklmnop", 26, 1, &d), DNS_ACTION_DROP);
        dns_decision_done(&d);
        {
                _cleanup_(ldns_pkt_freep) ldns_pkt *q = NULL;
                ck_assert_int_eq(ldns_pkt_query_new_frm_str(&q, "allowed.test", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_QR), LDNS_STATUS_OK);
                ck_assert_int_eq(ldns_pkt2wire(&w, q, &n), LDNS_STATUS_OK);
                ck_assert_int_eq(dns_query_decide(rules, 1, w, n, 1, &d), DNS_ACTION_DROP);
                dns_decision_done(&d);
                free(TAKE_PTR(w));
        }
        /* No question: FORMERR. */
        {
                _cleanup_(ldns_pkt_freep) ldns_pkt *q = ldns_pkt_new();
                ldns_pkt_set_id(q, 99);
                ck_assert_int_eq(ldns_pkt2wire(&w, q, &n), LDNS_STATUS_OK);
                ck_assert_int_eq(dns_query_decide(rules, 1, w, n, 1, &d), DNS_ACTION_RESPOND);
                ck_assert_int_eq(d.event.rcode, LDNS_RCODE_FORMERR);
                dns_decision_done(&d);
                free(TAKE_PTR(w));
        }
}
END_TEST

static ldns_pkt *reply_new(uint16_t id, const char *qname, ldns_rr_type qtype, const char *const *rrs) {
        ldns_pkt *r = NULL;

        ck_assert_int_eq(ldns_pkt_query_new_frm_str(&r, qname, qtype, LDNS_RR_CLASS_IN, LDNS_QR | LDNS_RD | LDNS_RA), LDNS_STATUS_OK);
        ldns_pkt_set_id(r, id);
        for (; rrs && *rrs; rrs++) {
                ldns_rr *rr = NULL;
                ldns_pkt_section section = LDNS_SECTION_ANSWER;
                const char *s = *rrs;

                if (strncmp(s, "ADD ", 4) == 0) {
                        section = LDNS_SECTION_ADDITIONAL;
                        s += 4;
                }
                ck_assert_int_eq(ldns_rr_new_frm_str(&rr, s, 0, NULL, NULL), LDNS_STATUS_OK);
                ck_assert(ldns_pkt_push_rr(r, section, rr));
        }
        return r;
}

static int reply_run(const DnsDecision *d, const NetRule *rule, ldns_pkt *reply, Seen *s, ldns_pkt **ret, int *ret_rcode) {
        _cleanup_free_ uint8_t *w = NULL, *out = NULL;
        size_t n, out_size = 0, n_addr = 0;
        int r;

        ck_assert_int_eq(ldns_pkt2wire(&w, reply, &n), LDNS_STATUS_OK);
        r = dns_reply_handle(d, rule, 60, w, n, seen_allow, s, &out, &out_size, ret_rcode, &n_addr);
        if (r >= 0) {
                ck_assert_int_eq(ldns_wire2pkt(ret, out, out_size), LDNS_STATUS_OK);
                ck_assert_uint_le(out_size, d->max_udp_size);
                ck_assert_uint_eq(n_addr, s->n_allowed);
        }
        return r;
}

START_TEST(test_reply) {
        NetRule rules[] = { host_rule("allowed.test", 8000, 8080, NET_PROTO_UDP) };
        _cleanup_free_ uint8_t *w = NULL;
        Seen s = { .client_fd = -1 };
        DnsDecision d;
        ldns_pkt *reply, *out = NULL;
        int rcode;
        size_t n;

        query_wire("allowed.test", LDNS_RR_TYPE_A, 0x1111, false, &w, &n);
        ck_assert_int_eq(dns_query_decide(rules, 1, w, n, 0x2222, &d), DNS_ACTION_FORWARD);

        /* Wrong id, wrong question, not a response: not the answer. */
        reply = reply_new(0x2223, "allowed.test", LDNS_RR_TYPE_A, (const char *[]) { "allowed.test. 30 IN A 100.127.6.6", NULL });
        ck_assert_int_eq(reply_run(&d, rules, reply, &s, &out, &rcode), -EBADMSG);
        ldns_pkt_free(reply);
        reply = reply_new(0x2222, "evil.test", LDNS_RR_TYPE_A, (const char *[]) { "evil.test. 30 IN A 100.127.6.6", NULL });
        ck_assert_int_eq(reply_run(&d, rules, reply, &s, &out, &rcode), -EBADMSG);
        ldns_pkt_free(reply);
        reply = reply_new(0x2222, "allowed.test", LDNS_RR_TYPE_AAAA, NULL);
        ck_assert_int_eq(reply_run(&d, rules, reply, &s, &out, &rcode), -EBADMSG);
        ldns_pkt_free(reply);
        ck_assert_uint_eq(s.n_allowed, 0);

        /* The chain's addresses open (once each), with the floor; anything else is dropped. */
        reply = reply_new(0x2222, "ALLOWED.test", LDNS_RR_TYPE_A, (const char *[]) {
                "allowed.test. 3600 IN CNAME a.cdn.test.",
                "a.cdn.test. 10 IN CNAME b.cdn.test.",
                "b.cdn.test. 0 IN A 100.127.9.1",
                "b.cdn.test. 0 IN A 100.127.9.1",
                "b.cdn.test. 900 IN A 100.127.9.2",
                "evil.test. 900 IN A 100.127.6.6",
                "ADD other.test. 900 IN A 100.127.6.7",
                "ADD other.test. 900 IN TXT \"kept\"",
                NULL });
        ck_assert_int_eq(reply_run(&d, rules, reply, &s, &out, &rcode), 0);
        ldns_pkt_free(reply);
        ck_assert_int_eq(rcode, LDNS_RCODE_NOERROR);
        ck_assert_uint_eq(s.n_allowed, 2);
        assert_v4(&s.allowed[0], "100.127.9.1");
        ck_assert_uint_eq(s.ttl[0], DNS_PROXY_TTL_FLOOR_SEC);
        assert_v4(&s.allowed[1], "100.127.9.2");
        ck_assert_uint_eq(s.ttl[1], 60);
        ck_assert_uint_eq(s.allowed[1].port_lo, 8000);
        ck_assert_uint_eq(s.allowed[1].port_hi, 8080);
        ck_assert_uint_eq(s.allowed[1].protos, NET_PROTO_UDP);
        ck_assert_int_eq(s.rule_index[1], 0);
        ck_assert_uint_eq(ldns_pkt_id(out), 0x1111);
        ck_assert_uint_eq(ldns_pkt_ancount(out), 5); /* 2 CNAME, 3 A */
        ck_assert_uint_eq(ldns_pkt_arcount(out), 1); /* the TXT */
        for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_pkt_answer(out)); i++)
                ck_assert_uint_le(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(out), i)), 60);
        ldns_pkt_free(TAKE_PTR(out));

        /* The allow callback failing fails the answer. */
        s = (Seen) { .client_fd = -1, .fail_allow = -ENOSPC };
        reply = reply_new(0x2222, "allowed.test", LDNS_RR_TYPE_A, (const char *[]) { "allowed.test. 30 IN A 100.127.9.9", NULL });
        ck_assert_int_eq(reply_run(&d, rules, reply, &s, &out, &rcode), -ENOSPC);
        ldns_pkt_free(reply);
        {
                _cleanup_free_ uint8_t *sf = NULL;
                _cleanup_(ldns_pkt_freep) ldns_pkt *p = NULL;
                size_t sfn;

                ck_assert_int_eq(dns_servfail(&d, &sf, &sfn), 0);
                ck_assert_int_eq(ldns_wire2pkt(&p, sf, sfn), LDNS_STATUS_OK);
                ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
                ck_assert_uint_eq(ldns_pkt_id(p), 0x1111);
                assert_question(p, "allowed.test.", LDNS_RR_TYPE_A);
        }

        /* Too big for the task's 512 bytes (no EDNS): truncated, question only. */
        s = (Seen) { .client_fd = -1 };
        reply = reply_new(0x2222, "allowed.test", LDNS_RR_TYPE_A, NULL);
        for (int i = 0; i < 60; i++) {
                char rr[128];
                ldns_rr *x = NULL;
                (void) snprintf(rr, sizeof rr, "allowed.test. 30 IN A 100.127.8.%d", i);
                ck_assert_int_eq(ldns_rr_new_frm_str(&x, rr, 0, NULL, NULL), LDNS_STATUS_OK);
                ck_assert(ldns_pkt_push_rr(reply, LDNS_SECTION_ANSWER, x));
        }
        ck_assert_int_eq(reply_run(&d, rules, reply, &s, &out, &rcode), 0);
        ldns_pkt_free(reply);
        ck_assert(ldns_pkt_tc(out));
        ck_assert_uint_eq(ldns_pkt_ancount(out), 0);
        ck_assert_uint_eq(s.n_allowed, 60);
        ldns_pkt_free(TAKE_PTR(out));

        /* A query type other than A/AAAA opens nothing, and its answer carries no address. */
        dns_decision_done(&d);
        free(TAKE_PTR(w));
        s = (Seen) { .client_fd = -1 };
        query_wire("allowed.test", LDNS_RR_TYPE_MX, 5, true, &w, &n);
        ck_assert_int_eq(dns_query_decide(rules, 1, w, n, 6, &d), DNS_ACTION_FORWARD);
        reply = reply_new(6, "allowed.test", LDNS_RR_TYPE_MX, (const char *[]) {
                "allowed.test. 30 IN MX 10 mx.allowed.test.",
                "ADD mx.allowed.test. 30 IN A 100.127.6.6",
                NULL });
        ck_assert_int_eq(reply_run(&d, rules, reply, &s, &out, &rcode), 0);
        ldns_pkt_free(reply);
        ck_assert_uint_eq(s.n_allowed, 0);
        ck_assert_uint_eq(ldns_pkt_ancount(out), 1);
        ck_assert_uint_eq(ldns_pkt_arcount(out), 0);
        ck_assert_uint_eq(ldns_pkt_id(out), 5);
        ldns_pkt_free(TAKE_PTR(out));
        dns_decision_done(&d);
}
END_TEST

/* ---- real sockets ---- */

START_TEST(test_allowed) {
        _cleanup_(dns_proxy_freep) DnsProxy *p = NULL;
        NetRule rules[] = {
                host_rule("unused.test", 1, 1, NET_PROTO_TCP),
                host_rule("allowed.test", 443, 443, NET_PROTO_TCP),
        };
        Seen s = {};
        DnsTask *t;
        ldns_pkt *r;
        DnsProxyStats st;
        int fd, fd6;

        if (!have_dnsmasq() || !net_up())
                return;
        dnsmasq_start();
        ck_assert_int_eq(dns_proxy_new(DNSMASQ_ADDR ":5353", 60, &p), 0);
        t = task_add(p, GW1, GW1_V6, rules, ELEMENTSOF(rules), &s);
        s.client_fd = fd = udp_socket(GW1);

        r = ask(p, fd, GW1, "allowed.test", LDNS_RR_TYPE_A, 0xa1);
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_eq(ldns_pkt_id(r), 0xa1);
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
        assert_question(r, "allowed.test.", LDNS_RR_TYPE_A);
        assert_answer_a(r, "100.127.9.9");
        /* dnsmasq says 600 s: capped, in the wall and in what the task caches. */
        ck_assert_uint_le(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r), 0)), 60);
        ldns_pkt_free(r);
        ck_assert(!s.allow_after_answer);
        ck_assert_uint_eq(s.n_allowed, 1);
        assert_v4(&s.allowed[0], "100.127.9.9");
        ck_assert_uint_eq(s.allowed[0].port_lo, 443);
        ck_assert_uint_eq(s.allowed[0].port_hi, 443);
        ck_assert_uint_eq(s.allowed[0].protos, NET_PROTO_TCP);
        ck_assert_uint_eq(s.ttl[0], 60);
        ck_assert_int_eq(s.rule_index[0], 1);
        ck_assert_uint_eq(s.n_events, 1);
        ck_assert_str_eq(s.events[0].name, "allowed.test");
        ck_assert(s.events[0].allowed);
        ck_assert_int_eq(s.events[0].rule_index, 1);
        ck_assert_int_eq(s.events[0].rcode, 0);
        ck_assert_uint_eq(s.events[0].n_addresses, 1);
        ck_assert_uint_eq(s.events[0].qtype, LDNS_RR_TYPE_A);

        /* AAAA, over the IPv6 listener. */
        fd6 = udp_socket(GW1_V6);
        s.client_fd = fd6;
        r = ask(p, fd6, GW1_V6, "Allowed.Test", LDNS_RR_TYPE_AAAA, 0xa2);
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_eq(ldns_pkt_id(r), 0xa2);
        ck_assert_uint_eq(ldns_pkt_ancount(r), 1);
        ldns_pkt_free(r);
        ck_assert(!s.allow_after_answer);
        ck_assert_uint_eq(s.n_allowed, 2);
        ck_assert_int_eq(s.allowed[1].family, AF_INET6);
        ck_assert_uint_eq(s.allowed[1].prefix, 128);
        {
                uint8_t a[16];
                ck_assert_int_eq(inet_pton(AF_INET6, "fd00:5ec::99", a), 1);
                ck_assert_mem_eq(s.allowed[1].addr, a, 16);
        }
        ck_assert_str_eq(s.events[1].name, "allowed.test");

        /* Another type for the allowed name: forwarded, opens nothing. */
        r = ask(p, fd6, GW1_V6, "allowed.test", LDNS_RR_TYPE_TXT, 0xa3);
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_eq(ldns_pkt_id(r), 0xa3);
        ldns_pkt_free(r);
        ck_assert_uint_eq(s.n_allowed, 2);
        ck_assert_uint_eq(s.n_events, 3);
        ck_assert(s.events[2].allowed);

        dns_proxy_get_stats(p, &st);
        ck_assert_uint_eq(st.forwarded, 3);
        ck_assert_uint_eq(st.refused, 0);
        close(fd);
        close(fd6);
        (void) dns_task_remove(p, t);
        child_stop();
}
END_TEST

START_TEST(test_wildcard_and_refused) {
        _cleanup_(dns_proxy_freep) DnsProxy *p = NULL;
        NetRule rules[] = { host_rule("*.wild.test", 80, 80, NET_PROTO_TCP) };
        Seen s = {};
        DnsProxyStats st;
        ldns_pkt *r;
        int fd;

        if (!have_dnsmasq() || !net_up())
                return;
        dnsmasq_start();
        ck_assert_int_eq(dns_proxy_new(DNSMASQ_ADDR ":5353", 0, &p), 0);
        (void) task_add(p, GW1, NULL, rules, 1, &s);
        s.client_fd = fd = udp_socket(GW1);

        r = ask(p, fd, GW1, "a.wild.test", LDNS_RR_TYPE_A, 1);
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
        assert_answer_a(r, "100.127.9.30");
        ldns_pkt_free(r);
        r = ask(p, fd, GW1, "b.c.wild.test", LDNS_RR_TYPE_A, 2);
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
        assert_answer_a(r, "100.127.9.30");
        ldns_pkt_free(r);
        ck_assert_uint_eq(s.n_allowed, 2);
        /* Default cap 300 s (dnsmasq says 600). */
        ck_assert_uint_eq(s.ttl[0], DNS_PROXY_TTL_CAP_DEFAULT_SEC);

        /* The apex is not a subdomain; unlisted names are refused as a proper response. */
        r = ask(p, fd, GW1, "wild.test", LDNS_RR_TYPE_A, 3);
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_eq(ldns_pkt_id(r), 3);
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
        assert_question(r, "wild.test.", LDNS_RR_TYPE_A);
        ldns_pkt_free(r);
        r = ask(p, fd, GW1, "Unlisted.Test", LDNS_RR_TYPE_AAAA, 0x7777);
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_eq(ldns_pkt_id(r), 0x7777);
        ck_assert(ldns_pkt_qr(r));
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
        assert_question(r, "Unlisted.Test.", LDNS_RR_TYPE_AAAA);
        ck_assert_uint_eq(ldns_pkt_ancount(r), 0);
        ldns_pkt_free(r);
        ck_assert_uint_eq(s.n_allowed, 2);
        ck_assert_uint_eq(s.n_events, 4);
        ck_assert_str_eq(s.events[2].name, "wild.test");
        ck_assert(!s.events[3].allowed);
        ck_assert_int_eq(s.events[3].rule_index, -1);
        ck_assert_int_eq(s.events[3].rcode, LDNS_RCODE_REFUSED);
        ck_assert_str_eq(s.events[3].name, "unlisted.test");
        ck_assert_uint_eq(s.events[3].qtype, LDNS_RR_TYPE_AAAA);

        dns_proxy_get_stats(p, &st);
        ck_assert_uint_eq(st.refused, 2);
        close(fd);
        child_stop();
}
END_TEST

START_TEST(test_garbage) {
        _cleanup_(dns_proxy_freep) DnsProxy *p = NULL;
        NetRule rules[] = { host_rule("allowed.test", 443, 443, NET_PROTO_TCP) };
        static const uint8_t junk[][40] = {
                { 0x00 },
                { 0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 'a' },
                { 0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x0c, 0, 1, 0, 1 },
                { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
        };
        Seen s = {};
        DnsProxyStats st;
        ldns_pkt *r;
        int fd;

        if (!have_dnsmasq() || !net_up())
                return;
        dnsmasq_start();
        ck_assert_int_eq(dns_proxy_new(DNSMASQ_ADDR ":5353", 0, &p), 0);
        (void) task_add(p, GW1, NULL, rules, 1, &s);
        s.client_fd = fd = udp_socket(GW1);

        for (size_t i = 0; i < ELEMENTSOF(junk); i++)
                send_to(fd, GW1, DNS_PROXY_PORT, junk[i], i == 0 ? 1 : sizeof junk[i]);
        send_to(fd, GW1, DNS_PROXY_PORT, "", 0);
        ck_assert_ptr_null(wait_reply(p, fd, 300));
        dns_proxy_get_stats(p, &st);
        ck_assert_uint_eq(st.dropped, ELEMENTSOF(junk) + 1);
        ck_assert_uint_eq(s.n_events, 0);

        r = ask(p, fd, GW1, "allowed.test", LDNS_RR_TYPE_A, 9);
        ck_assert_ptr_nonnull(r);
        assert_answer_a(r, "100.127.9.9");
        ldns_pkt_free(r);
        close(fd);
        child_stop();
}
END_TEST

START_TEST(test_timeout_and_overflow) {
        _cleanup_(dns_proxy_freep) DnsProxy *p = NULL;
        NetRule rules[] = { host_rule("allowed.test", 443, 443, NET_PROTO_TCP) };
        Seen s = { .client_fd = -1 };
        DnsProxyStats st;
        struct sockaddr_storage ss;
        socklen_t len;
        ldns_pkt *r;
        size_t servfail = 0;
        int fd, silent;

        if (!net_up())
                return;
        /* Bound, so no ICMP unreachable; never read. */
        silent = udp_socket(SILENT_ADDR);
        sa_in(&ss, &len, SILENT_ADDR, UPSTREAM_PORT);
        ck_assert_int_eq(bind(silent, (struct sockaddr *) &ss, len), 0);

        ck_assert_int_eq(dns_proxy_new(SILENT_ADDR ":5353", 0, &p), 0);
        ck_assert_int_eq(dns_proxy_set_timeout(p, 300 * USEC_PER_MSEC), 0);
        (void) task_add(p, GW1, NULL, rules, 1, &s);
        fd = udp_socket(GW1);

        r = ask(p, fd, GW1, "allowed.test", LDNS_RR_TYPE_A, 0x55);
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_eq(ldns_pkt_id(r), 0x55);
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_SERVFAIL);
        assert_question(r, "allowed.test.", LDNS_RR_TYPE_A);
        ldns_pkt_free(r);
        ck_assert_uint_eq(s.n_events, 1);
        ck_assert_int_eq(s.events[0].rcode, LDNS_RCODE_SERVFAIL);
        ck_assert(s.events[0].allowed);
        dns_proxy_get_stats(p, &st);
        ck_assert_uint_eq(st.timeouts, 1);

        /* One task cannot have more than DNS_PROXY_TASK_PENDING_MAX waiting: the rest fail at
         * once. A long timeout, so that only those answers come. */
        ck_assert_int_eq(dns_proxy_set_timeout(p, 30 * USEC_PER_SEC), 0);
        for (unsigned i = 0; i < DNS_PROXY_TASK_PENDING_MAX + 6; i++) {
                _cleanup_free_ uint8_t *w = NULL;
                size_t n;

                query_wire("allowed.test", LDNS_RR_TYPE_A, (uint16_t) i, true, &w, &n);
                send_to(fd, GW1, DNS_PROXY_PORT, w, n);
        }
        while ((r = wait_reply(p, fd, 150))) {
                ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_SERVFAIL);
                ck_assert_uint_ge(ldns_pkt_id(r), DNS_PROXY_TASK_PENDING_MAX);
                servfail++;
                ldns_pkt_free(r);
        }
        ck_assert_uint_eq(servfail, 6);
        close(fd);
        close(silent);
}
END_TEST

/* A resolver that first tries every way of being fooled: a wrong id, the right id from another
 * port, the right id for another question; then answers properly. */
static void spoof_server(void) {
        struct sockaddr_storage ss, from;
        socklen_t len, from_len;
        uint8_t buf[4096];
        int fd = udp_socket(SPOOF_ADDR), other = udp_socket(SPOOF_ADDR);

        sa_in(&ss, &len, SPOOF_ADDR, UPSTREAM_PORT);
        if (bind(fd, (struct sockaddr *) &ss, len) < 0)
                _exit(1);
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) {
                ldns_pkt *q = NULL, *r;
                const ldns_rr *qrr;
                char *name;
                ssize_t n;
                struct {
                        uint16_t id_delta;
                        int fd;
                        const char *qname;
                        const char *addr;
                } plan[] = {
                        { 1, fd, NULL, "100.127.6.6" },
                        { 0, other, NULL, "100.127.6.7" },
                        { 0, fd, "spoof.test.", "100.127.6.8" },
                        { 0, fd, NULL, "100.127.9.9" },
                };

                from_len = sizeof from;
                n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *) &from, &from_len);
                if (n <= 0 || ldns_wire2pkt(&q, buf, (size_t) n) != LDNS_STATUS_OK)
                        continue;
                qrr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
                name = ldns_rdf2str(ldns_rr_owner(qrr));
                for (size_t i = 0; i < ELEMENTSOF(plan); i++) {
                        const char *qn = plan[i].qname ?: name;
                        char rrs[256];
                        ldns_rr *rr = NULL;
                        uint8_t *w = NULL;
                        size_t wn;

                        r = NULL;
                        (void) ldns_pkt_query_new_frm_str(&r, qn, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_QR | LDNS_RA | LDNS_RD);
                        ldns_pkt_set_id(r, (uint16_t) (ldns_pkt_id(q) + plan[i].id_delta));
                        (void) snprintf(rrs, sizeof rrs, "%s 30 IN A %s", qn, plan[i].addr);
                        (void) ldns_rr_new_frm_str(&rr, rrs, 0, NULL, NULL);
                        (void) ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
                        (void) ldns_pkt2wire(&w, r, &wn);
                        (void) sendto(plan[i].fd, w, wn, 0, (struct sockaddr *) &from, from_len);
                        free(w);
                        ldns_pkt_free(r);
                }
                free(name);
                ldns_pkt_free(q);
        }
}

START_TEST(test_spoofed_replies) {
        _cleanup_(dns_proxy_freep) DnsProxy *p = NULL;
        NetRule rules[] = { host_rule("allowed.test", 443, 443, NET_PROTO_TCP) };
        Seen s = {};
        DnsProxyStats st;
        ldns_pkt *r;
        int fd;

        if (!net_up())
                return;
        child_pid = fork();
        ck_assert_int_ge(child_pid, 0);
        if (child_pid == 0) {
                spoof_server();
                _exit(0);
        }

        ck_assert_int_eq(dns_proxy_new(SPOOF_ADDR ":5353", 0, &p), 0);
        (void) task_add(p, GW1, NULL, rules, 1, &s);
        s.client_fd = fd = udp_socket(GW1);

        /* The server may not be bound yet: then the proxy sees ECONNREFUSED and SERVFAILs; retry. */
        for (int i = 0; i < 50; i++) {
                r = ask(p, fd, GW1, "allowed.test", LDNS_RR_TYPE_A, 0x99);
                ck_assert_ptr_nonnull(r);
                if (ldns_pkt_get_rcode(r) != LDNS_RCODE_SERVFAIL)
                        break;
                ldns_pkt_free(r);
                r = NULL;
                s.n_events = 0;
                (void) poll(NULL, 0, 20);
        }
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
        assert_answer_a(r, "100.127.9.9");
        ldns_pkt_free(r);
        ck_assert_uint_eq(s.n_allowed, 1);
        assert_v4(&s.allowed[0], "100.127.9.9");
        dns_proxy_get_stats(p, &st);
        /* The wrong id and the wrong question; the wrong port never got past the kernel. */
        ck_assert_uint_ge(st.upstream_ignored, 2);
        close(fd);
        child_stop();
}
END_TEST

START_TEST(test_two_tasks) {
        _cleanup_(dns_proxy_freep) DnsProxy *p = NULL;
        NetRule rules1[] = { host_rule("allowed.test", 443, 443, NET_PROTO_TCP) };
        NetRule rules2[] = { host_rule("other.test", 22, 22, NET_PROTO_TCP) };
        Seen s1 = {}, s2 = {};
        ldns_pkt *r;
        int fd;

        if (!have_dnsmasq() || !net_up())
                return;
        dnsmasq_start();
        ck_assert_int_eq(dns_proxy_new(DNSMASQ_ADDR ":5353", 0, &p), 0);
        (void) task_add(p, GW1, NULL, rules1, 1, &s1);
        (void) task_add(p, GW2, NULL, rules2, 1, &s2);
        fd = udp_socket(GW1);
        s1.client_fd = s2.client_fd = fd;

        r = ask(p, fd, GW1, "allowed.test", LDNS_RR_TYPE_A, 1);
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
        ldns_pkt_free(r);
        r = ask(p, fd, GW1, "other.test", LDNS_RR_TYPE_A, 2);
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
        ldns_pkt_free(r);
        r = ask(p, fd, GW2, "other.test", LDNS_RR_TYPE_A, 3);
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
        assert_answer_a(r, "100.127.9.20");
        ldns_pkt_free(r);
        r = ask(p, fd, GW2, "allowed.test", LDNS_RR_TYPE_A, 4);
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
        ldns_pkt_free(r);

        ck_assert_uint_eq(s1.n_allowed, 1);
        assert_v4(&s1.allowed[0], "100.127.9.9");
        ck_assert_uint_eq(s1.allowed[0].port_lo, 443);
        ck_assert_uint_eq(s2.n_allowed, 1);
        assert_v4(&s2.allowed[0], "100.127.9.20");
        ck_assert_uint_eq(s2.allowed[0].port_lo, 22);
        ck_assert_uint_eq(s1.n_events, 2);
        ck_assert(s1.events[0].allowed && !s1.events[1].allowed);
        ck_assert_str_eq(s1.events[1].name, "other.test");
        ck_assert_uint_eq(s2.n_events, 2);
        ck_assert(s2.events[0].allowed && !s2.events[1].allowed);
        ck_assert_str_eq(s2.events[1].name, "allowed.test");
        close(fd);
        child_stop();
}
END_TEST

START_TEST(test_cname_chain) {
        _cleanup_(dns_proxy_freep) DnsProxy *p = NULL;
        NetRule rules[] = { host_rule("chain.test", 443, 443, NET_PROTO_TCP) };
        Seen s = {};
        ldns_pkt *r;
        int fd;

        if (!have_dnsmasq() || !net_up())
                return;
        dnsmasq_start();
        ck_assert_int_eq(dns_proxy_new(DNSMASQ_ADDR ":5353", 0, &p), 0);
        (void) task_add(p, GW1, NULL, rules, 1, &s);
        s.client_fd = fd = udp_socket(GW1);

        /* chain.test -> alias.test -> target.test A 100.127.9.10 */
        r = ask(p, fd, GW1, "chain.test", LDNS_RR_TYPE_A, 1);
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
        ck_assert_uint_eq(ldns_pkt_ancount(r), 3);
        assert_answer_a(r, "100.127.9.10");
        ldns_pkt_free(r);
        ck_assert_uint_eq(s.n_allowed, 1);
        assert_v4(&s.allowed[0], "100.127.9.10");
        ck_assert_int_eq(s.rule_index[0], 0);
        ck_assert_uint_eq(s.events[0].n_addresses, 1);

        /* The chain's end needs no rule of its own when reached through it, but it is not
         * listed by itself. */
        r = ask(p, fd, GW1, "target.test", LDNS_RR_TYPE_A, 2);
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
        ldns_pkt_free(r);
        ck_assert_uint_eq(s.n_allowed, 1);
        close(fd);
        child_stop();
}
END_TEST

START_TEST(test_allow_fails) {
        _cleanup_(dns_proxy_freep) DnsProxy *p = NULL;
        NetRule rules[] = { host_rule("allowed.test", 443, 443, NET_PROTO_TCP) };
        Seen s = { .fail_allow = -ENOSPC };
        DnsTask *t;
        ldns_pkt *r;
        int fd;

        if (!have_dnsmasq() || !net_up())
                return;
        dnsmasq_start();
        ck_assert_int_eq(dns_proxy_new(DNSMASQ_ADDR ":5353", 0, &p), 0);
        t = task_add(p, GW1, NULL, rules, 1, &s);
        s.client_fd = fd = udp_socket(GW1);

        r = ask(p, fd, GW1, "allowed.test", LDNS_RR_TYPE_A, 0x42);
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_eq(ldns_pkt_id(r), 0x42);
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_SERVFAIL);
        ck_assert_uint_eq(ldns_pkt_ancount(r), 0);
        ldns_pkt_free(r);
        ck_assert_uint_eq(s.n_events, 1);
        ck_assert_int_eq(s.events[0].rcode, LDNS_RCODE_SERVFAIL);

        /* A task removed from its own allow callback: no answer, no crash, the proxy goes on. */
        s = (Seen) { .client_fd = fd, .remove_in_allow = true, .proxy = p, .task = &t };
        r = ask(p, fd, GW1, "allowed.test", LDNS_RR_TYPE_A, 0x43);
        ck_assert_ptr_null(r);
        ck_assert_ptr_null(t);
        ck_assert_uint_eq(s.n_allowed, 1);
        ck_assert_uint_eq(s.n_events, 0);
        s = (Seen) { .client_fd = fd };
        (void) task_add(p, GW1, NULL, rules, 1, &s);
        r = ask(p, fd, GW1, "allowed.test", LDNS_RR_TYPE_A, 0x44);
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
        ldns_pkt_free(r);
        close(fd);
        child_stop();
}
END_TEST

static Suite *dns_proxy_suite(void) {
        Suite *s = suite_create("dns-proxy");
        TCase *tc = tcase_create("pure");
        tcase_add_test(tc, test_name_match);
        tcase_add_test(tc, test_upstream_parse);
        tcase_add_test(tc, test_decide);
        tcase_add_test(tc, test_reply);
        suite_add_tcase(s, tc);

        tc = tcase_create("sockets");
        tcase_add_test(tc, test_allowed);
        tcase_add_test(tc, test_wildcard_and_refused);
        tcase_add_test(tc, test_garbage);
        tcase_add_test(tc, test_timeout_and_overflow);
        tcase_add_test(tc, test_spoofed_replies);
        tcase_add_test(tc, test_two_tasks);
        tcase_add_test(tc, test_cname_chain);
        tcase_add_test(tc, test_allow_fails);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(dns_proxy_suite)
