/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-task DNS proxy: hostname rules (network.allow entries with a host) made enforceable.
 *
 * The egress wall only knows addresses. A task's resolv.conf points at its veth gateway, where
 * this proxy listens; the wall lets the task reach nothing else on port 53. A query for a name
 * that matches one of the task's hostname rules is forwarded to the supervisor's resolver, and
 * every A/AAAA address of the answer is inserted into the task's allow map (with that rule's
 * ports and protocols) before the answer is relayed, so the connect() that follows finds it
 * open. Every other name gets REFUSED and never leaves the machine.
 *
 * For stockade-profile(5), what a hostname rule does and does not guarantee:
 *
 *  - It opens addresses, not names. Whatever else lives on an opened address (a CDN edge, a
 *    shared load balancer, virtual hosts, another name that resolves to the same address) is
 *    reachable too, for the lifetime of the entry, with the rule's ports and protocols. A rule
 *    for one name on a shared CDN effectively opens that CDN node.
 *  - The addresses opened are those the supervisor's resolver returns for the name, following
 *    the CNAME chain in the answer: a CNAME target needs no rule of its own, but a name the task
 *    looks up separately does (an SRV, MX or HTTPS target, a CNAME target whose addresses the
 *    resolver left out of the answer).
 *  - Only answers to A and AAAA queries open anything. For a matching name every other query
 *    type (HTTPS, SVCB, TXT, MX...) is forwarded too and relayed, but A/AAAA records are removed
 *    from every section of what the task gets back unless they were opened: every address the
 *    task is told about is reachable. Address hints inside HTTPS/SVCB records are not opened.
 *    Zone transfers and meta types are refused, and so is any class but IN.
 *  - An entry lives for the record's TTL, capped (the supervisor's DNS TTL cap, default 300 s) and
 *    raised to at least 5 s so that a TTL of 0 still lets the connect through. The TTLs of the
 *    answer relayed are capped the same way, so a task that caches what it is told does not use
 *    an address after its entry expired; a task that caches longer than it is told (some
 *    language runtimes) can find its address closed and must look it up again. Whether an
 *    expired entry also cuts established connections is up to the egress wall.
 *  - At most 64 addresses per answer are opened; the rest are dropped from the answer.
 *  - UDP only. When the resolver's answer does not fit (TC bit), or does not fit the size the
 *    task advertised, the task gets a truncated answer and its resolver retries over TCP, which
 *    the proxy does not serve: names whose answers exceed 1232 bytes (512 without EDNS) do not
 *    resolve. Plain A/AAAA answers are far below that.
 *  - Upstream gets a fresh query (the task's name, type, class, RD/CD/AD and DO bits, EDNS
 *    buffer size), never the task's packet: no EDNS options such as client subnet or cookies,
 *    no TSIG. Upstream answers are matched on socket (a connected socket per query, so a random
 *    source port), source address, a random id and the question; anything else is ignored.
 *    The name itself still goes out: under a wildcard rule a task can encode data in the
 *    labels it looks up and so talk to that domain's authoritative servers.
 *  - A lookup that upstream does not answer in 2 s gets SERVFAIL, as does one that finds 256
 *    queries (64 for this task) already waiting.
 *
 * Messages are parsed and built with ldns only, never by hand. */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "dns-proxy.h"
#include "log.h"
#include "macro.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78 /* linux/in6.h, Linux 4.15 */
#endif

/* The EDNS buffer size asked of upstream at most (the DNS flag day 2020 value: no IP
 * fragmentation on common paths). */
#define DNS_EDNS_UDP_SIZE 1232
#define DNS_UDP_SIZE_MIN 512
/* Longer chains are answered but only the first links count. */
#define DNS_CNAME_CHAIN_MAX 16
/* Packets read from one socket in one dispatch, so one busy task cannot starve the rest. */
#define DNS_READ_BURST 32

DEFINE_TRIVIAL_CLEANUP_FUNC(ldns_pkt *, ldns_pkt_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ldns_rdf *, ldns_rdf_deep_free);

/* ---- names ---- */

static int rule_match_dname(const char *rule_host, const ldns_rdf *qname) {
        _cleanup_(ldns_rdf_deep_freep) ldns_rdf *r = NULL;
        bool wildcard = false;

        if (!rule_host || !qname)
                return 0;
        if (rule_host[0] == '*' && rule_host[1] == '.') {
                wildcard = true;
                rule_host += 2;
        }
        if (!rule_host[0])
                return 0;
        r = ldns_dname_new_frm_str(rule_host);
        if (!r)
                return 0;
        if (wildcard)
                /* "*." on the root would be every name: never what a profile means. */
                return ldns_dname_label_count(r) > 0 && ldns_dname_is_subdomain(qname, r);
        /* ldns compares labels case-insensitively. */
        return ldns_dname_compare(qname, r) == 0;
}

int dns_name_match(const char *rule_host, const char *qname) {
        _cleanup_(ldns_rdf_deep_freep) ldns_rdf *q = NULL;

        if (!rule_host || !qname || !qname[0])
                return 0;
        q = ldns_dname_new_frm_str(qname);
        return rule_match_dname(rule_host, q);
}

static int rules_match_dname(const NetRule *rules, size_t n_rules, const ldns_rdf *qname) {
        for (size_t i = 0; i < n_rules && i < INT32_MAX; i++)
                if (rules[i].host && rule_match_dname(rules[i].host, qname))
                        return (int) i;
        return -1;
}

int dns_rules_match(const NetRule *rules, size_t n_rules, const char *qname) {
        _cleanup_(ldns_rdf_deep_freep) ldns_rdf *q = NULL;

        if (!qname || !qname[0])
                return -1;
        q = ldns_dname_new_frm_str(qname);
        if (!q)
                return -1;
        return rules_match_dname(rules, n_rules, q);
}

/* Presentation form, lowercase, no trailing dot ("" for the root). */
static void dname_to_event_name(const ldns_rdf *dname, char *buf, size_t size) {
        _cleanup_(ldns_rdf_deep_freep) ldns_rdf *c = NULL;
        _cleanup_free_ char *s = NULL;
        size_t n;

        buf[0] = 0;
        c = ldns_rdf_clone(dname);
        if (!c)
                return;
        ldns_dname2canonical(c);
        s = ldns_rdf2str(c);
        if (!s)
                return;
        n = strlen(s);
        if (n > 0 && s[n - 1] == '.' && (n < 2 || s[n - 2] != '\\'))
                s[--n] = 0;
        (void) snprintf(buf, size, "%s", s);
}

/* ---- messages ---- */

static int pkt_to_wire(const ldns_pkt *pkt, uint8_t **ret_wire, size_t *ret_size) {
        uint8_t *w = NULL;
        size_t n = 0;

        if (ldns_pkt2wire(&w, pkt, &n) != LDNS_STATUS_OK || !w) {
                free(w);
                return -ENOMEM;
        }
        *ret_wire = w;
        *ret_size = n;
        return 0;
}

static const ldns_rr *pkt_question(const ldns_pkt *pkt) {
        if (ldns_pkt_qdcount(pkt) != 1 || ldns_rr_list_rr_count(ldns_pkt_question(pkt)) != 1)
                return NULL;
        return ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
}

/* A response to query q with no records but the question (when q has exactly one). */
static ldns_pkt *response_new(const ldns_pkt *q, ldns_pkt_rcode rcode) {
        _cleanup_(ldns_pkt_freep) ldns_pkt *r = NULL;
        const ldns_rr *qrr;

        r = ldns_pkt_new();
        if (!r)
                return NULL;
        ldns_pkt_set_id(r, ldns_pkt_id(q));
        ldns_pkt_set_qr(r, true);
        ldns_pkt_set_opcode(r, ldns_pkt_get_opcode(q));
        ldns_pkt_set_rd(r, ldns_pkt_rd(q));
        ldns_pkt_set_cd(r, ldns_pkt_cd(q));
        ldns_pkt_set_ra(r, true);
        ldns_pkt_set_rcode(r, (uint8_t) rcode);

        qrr = pkt_question(q);
        if (qrr) {
                ldns_rr *c = ldns_rr_clone(qrr);

                if (!c)
                        return NULL;
                if (!ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, c)) {
                        ldns_rr_free(c);
                        return NULL;
                }
        }
        /* RFC 6891 6.1.1: a responder that speaks EDNS answers an EDNS query with an OPT. */
        if (ldns_pkt_edns(q))
                ldns_pkt_set_edns_udp_size(r, DNS_EDNS_UDP_SIZE);
        return TAKE_PTR(r);
}

static int response_wire(const ldns_pkt *q, ldns_pkt_rcode rcode, bool tc, uint8_t **ret_wire, size_t *ret_size) {
        _cleanup_(ldns_pkt_freep) ldns_pkt *r = NULL;

        r = response_new(q, rcode);
        if (!r)
                return -ENOMEM;
        ldns_pkt_set_tc(r, tc);
        return pkt_to_wire(r, ret_wire, ret_size);
}

void dns_decision_done(DnsDecision *d) {
        if (!d)
                return;
        free(d->wire);
        d->wire = NULL;
        d->wire_size = 0;
        ldns_pkt_free(d->query);
        d->query = NULL;
}

static bool qtype_refused(ldns_rr_type t) {
        switch ((int) t) {
        case LDNS_RR_TYPE_OPT:
        case LDNS_RR_TYPE_TKEY:
        case LDNS_RR_TYPE_TSIG:
        case LDNS_RR_TYPE_IXFR:
        case LDNS_RR_TYPE_AXFR:
        case LDNS_RR_TYPE_MAILB:
        case LDNS_RR_TYPE_MAILA:
                return true;
        default:
                return false;
        }
}

static int decide_respond(DnsDecision *d, const ldns_pkt *q, ldns_pkt_rcode rcode) {
        int r;

        r = response_wire(q, rcode, /* tc= */ false, &d->wire, &d->wire_size);
        if (r < 0)
                return r;
        d->event.rcode = (int) rcode;
        d->action = DNS_ACTION_RESPOND;
        return d->action;
}

int dns_query_decide(const NetRule *rules, size_t n_rules, const void *packet, size_t size,
                     uint16_t upstream_id, DnsDecision *ret) {
        _cleanup_(ldns_pkt_freep) ldns_pkt *q = NULL, *fwd = NULL;
        _cleanup_(ldns_rdf_deep_freep) ldns_rdf *name = NULL;
        const ldns_rr *qrr;
        ldns_rr_type qtype;
        uint16_t flags = 0;
        int idx, r;

        *ret = (DnsDecision) {
                .action = DNS_ACTION_DROP,
                .event.rule_index = -1,
        };
        ret->event.name = ret->name;

        /* Malformed: no answer at all, as a resolver would do with noise. */
        if (size < LDNS_HEADER_SIZE || size > LDNS_MAX_PACKETLEN)
                return DNS_ACTION_DROP;
        if (ldns_wire2pkt(&q, packet, size) != LDNS_STATUS_OK || !q)
                return DNS_ACTION_DROP;
        /* Never answer an answer: that is how two resolvers end up ping-ponging. */
        if (ldns_pkt_qr(q))
                return DNS_ACTION_DROP;

        if (ldns_pkt_get_opcode(q) != LDNS_PACKET_QUERY)
                return decide_respond(ret, q, LDNS_RCODE_NOTIMPL);
        qrr = pkt_question(q);
        if (!qrr)
                return decide_respond(ret, q, LDNS_RCODE_FORMERR);

        qtype = ldns_rr_get_type(qrr);
        ret->event.qtype = (uint16_t) qtype;
        dname_to_event_name(ldns_rr_owner(qrr), ret->name, sizeof ret->name);

        idx = rules_match_dname(rules, n_rules, ldns_rr_owner(qrr));
        ret->event.rule_index = idx;
        ret->event.allowed = idx >= 0;
        if (idx < 0 || ldns_rr_get_class(qrr) != LDNS_RR_CLASS_IN || qtype_refused(qtype))
                return decide_respond(ret, q, LDNS_RCODE_REFUSED);

        /* A fresh query rather than the task's packet re-IDed: only what upstream needs leaves. */
        if (ldns_pkt_rd(q))
                flags |= LDNS_RD;
        if (ldns_pkt_cd(q))
                flags |= LDNS_CD;
        if (ldns_pkt_ad(q))
                flags |= LDNS_AD;
        name = ldns_rdf_clone(ldns_rr_owner(qrr));
        if (!name)
                return -ENOMEM;
        fwd = ldns_pkt_query_new(name, qtype, LDNS_RR_CLASS_IN, flags);
        if (!fwd)
                return -ENOMEM;
        name = NULL; /* owned by fwd now */
        ldns_pkt_set_id(fwd, upstream_id);

        ret->max_udp_size = DNS_UDP_SIZE_MIN;
        if (ldns_pkt_edns(q)) {
                uint16_t s = ldns_pkt_edns_udp_size(q);

                s = s < DNS_UDP_SIZE_MIN ? DNS_UDP_SIZE_MIN : s;
                ret->max_udp_size = s;
                ldns_pkt_set_edns_udp_size(fwd, s > DNS_EDNS_UDP_SIZE ? DNS_EDNS_UDP_SIZE : s);
                ldns_pkt_set_edns_do(fwd, ldns_pkt_edns_do(q));
        }

        r = pkt_to_wire(fwd, &ret->wire, &ret->wire_size);
        if (r < 0)
                return r;
        ret->upstream_id = upstream_id;
        ret->query = TAKE_PTR(q);
        ret->action = DNS_ACTION_FORWARD;
        return ret->action;
}

int dns_servfail(const DnsDecision *d, uint8_t **ret_wire, size_t *ret_size) {
        if (!d || !d->query)
                return -EINVAL;
        return response_wire(d->query, LDNS_RCODE_SERVFAIL, /* tc= */ false, ret_wire, ret_size);
}

static bool is_address_rr(const ldns_rr *rr) {
        ldns_rr_type t = ldns_rr_get_type(rr);
        return t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA;
}

/* The single address of an A/AAAA record, or false when its rdata is not one. */
static bool rr_address(const ldns_rr *rr, int *ret_family, uint8_t ret_addr[static 16]) {
        const ldns_rdf *rd;

        if (ldns_rr_rd_count(rr) != 1)
                return false;
        rd = ldns_rr_rdf(rr, 0);
        if (!rd)
                return false;
        memset(ret_addr, 0, 16);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_A &&
            ldns_rdf_size(rd) == 4) {
                *ret_family = AF_INET;
                memcpy(ret_addr, ldns_rdf_data(rd), 4);
                return true;
        }
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA && ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_AAAA &&
            ldns_rdf_size(rd) == 16) {
                *ret_family = AF_INET6;
                memcpy(ret_addr, ldns_rdf_data(rd), 16);
                return true;
        }
        return false;
}

/* The names the answer's CNAME chain from qname goes through, qname first. Pointers into the
 * packet. */
static size_t cname_chain(const ldns_pkt *reply, const ldns_rdf *qname,
                          const ldns_rdf *chain[static DNS_CNAME_CHAIN_MAX + 1]) {
        const ldns_rr_list *answer = ldns_pkt_answer(reply);
        size_t n = 0, count = ldns_rr_list_rr_count(answer);

        chain[n++] = qname;
        while (n <= DNS_CNAME_CHAIN_MAX) {
                const ldns_rdf *next = NULL;

                for (size_t i = 0; i < count && !next; i++) {
                        const ldns_rr *rr = ldns_rr_list_rr(answer, i);
                        const ldns_rdf *target;

                        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME ||
                            ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || ldns_rr_rd_count(rr) != 1)
                                continue;
                        target = ldns_rr_rdf(rr, 0);
                        if (!target || ldns_rdf_get_type(target) != LDNS_RDF_TYPE_DNAME ||
                            ldns_dname_compare(ldns_rr_owner(rr), chain[n - 1]) != 0)
                                continue;
                        next = target;
                }
                if (!next)
                        break;
                for (size_t j = 0; j < n; j++)
                        if (ldns_dname_compare(chain[j], next) == 0)
                                return n; /* a loop: stop where it closes */
                chain[n++] = next;
        }
        return n;
}

static bool in_chain(const ldns_rdf *name, const ldns_rdf *const *chain, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (ldns_dname_compare(name, chain[i]) == 0)
                        return true;
        return false;
}

typedef struct Opened {
        int family;
        uint8_t addr[16];
} Opened;

typedef struct ReplyWalk {
        const NetRule *rule;
        int rule_index;
        uint32_t ttl_cap;
        DnsAllowFn allow;
        void *userdata;
        const ldns_rdf *chain[DNS_CNAME_CHAIN_MAX + 1];
        size_t n_chain;
        bool may_open; /* an A/AAAA IN query that got NOERROR */
        Opened opened[DNS_PROXY_ADDRESSES_MAX];
        size_t n_opened;
} ReplyWalk;

/* 1 keep rr, 0 drop it, <0 the allow callback failed. */
static int walk_rr(ReplyWalk *w, ldns_rr *rr, ldns_pkt_section section) {
        NetRule a;
        uint32_t ttl, wall_ttl;
        int family, r;
        uint8_t addr[16];

        ttl = ldns_rr_ttl(rr);
        if (ttl > w->ttl_cap)
                ldns_rr_set_ttl(rr, w->ttl_cap);
        if (!is_address_rr(rr))
                return 1;
        if (section != LDNS_SECTION_ANSWER || !w->may_open || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
            !in_chain(ldns_rr_owner(rr), w->chain, w->n_chain) || !rr_address(rr, &family, addr))
                return 0;

        for (size_t i = 0; i < w->n_opened; i++)
                if (w->opened[i].family == family && memcmp(w->opened[i].addr, addr, 16) == 0)
                        return 1; /* already open (round-robin duplicates) */
        if (w->n_opened >= DNS_PROXY_ADDRESSES_MAX)
                return 0;

        wall_ttl = ttl < w->ttl_cap ? ttl : w->ttl_cap;
        if (wall_ttl < DNS_PROXY_TTL_FLOOR_SEC)
                wall_ttl = DNS_PROXY_TTL_FLOOR_SEC;
        a = *w->rule;
        a.host = NULL;
        a.family = family;
        memcpy(a.addr, addr, sizeof a.addr);
        a.prefix = family == AF_INET ? 32 : 128;
        r = w->allow ? w->allow(w->userdata, &a, w->rule_index, wall_ttl) : 0;
        if (r < 0)
                return r;
        w->opened[w->n_opened].family = family;
        memcpy(w->opened[w->n_opened].addr, addr, 16);
        w->n_opened++;
        return 1;
}

static int walk_section(ReplyWalk *w, ldns_pkt *reply, ldns_pkt_section section) {
        ldns_rr_list *list;
        size_t n, k = 0;
        int r = 0;

        switch (section) {
        case LDNS_SECTION_ANSWER:
                list = ldns_pkt_answer(reply);
                break;
        case LDNS_SECTION_AUTHORITY:
                list = ldns_pkt_authority(reply);
                break;
        case LDNS_SECTION_ADDITIONAL:
                list = ldns_pkt_additional(reply);
                break;
        default:
                return -EINVAL;
        }
        if (!list)
                return 0;

        /* Compact in place: the records kept move down, the others are freed. */
        n = ldns_rr_list_rr_count(list);
        for (size_t i = 0; i < n; i++) {
                ldns_rr *rr = ldns_rr_list_rr(list, i);
                int keep = r < 0 ? 1 : walk_rr(w, rr, section);

                if (keep < 0) {
                        r = keep;
                        keep = 1;
                }
                if (keep)
                        (void) ldns_rr_list_set_rr(list, rr, k++);
                else
                        ldns_rr_free(rr);
        }
        ldns_rr_list_set_rr_count(list, k);
        ldns_pkt_set_section_count(reply, section, (uint16_t) k);
        return r;
}

int dns_reply_handle(const DnsDecision *d, const NetRule *rule, uint32_t ttl_cap_sec,
                     const void *packet, size_t size, DnsAllowFn allow, void *userdata,
                     uint8_t **ret_wire, size_t *ret_size, int *ret_rcode, size_t *ret_n_addresses) {
        _cleanup_(ldns_pkt_freep) ldns_pkt *reply = NULL;
        _cleanup_free_ ReplyWalk *w = NULL;
        const ldns_rr *qrr, *rrr;
        ldns_pkt_rcode rcode;
        uint8_t *wire = NULL;
        size_t wire_size = 0;
        int r;

        if (!d || d->action != DNS_ACTION_FORWARD || !d->query || !rule || !ret_wire || !ret_size)
                return -EINVAL;
        qrr = pkt_question(d->query);
        if (!qrr)
                return -EINVAL;

        if (size < LDNS_HEADER_SIZE || size > LDNS_MAX_PACKETLEN)
                return -EBADMSG;
        if (ldns_wire2pkt(&reply, packet, size) != LDNS_STATUS_OK || !reply)
                return -EBADMSG;
        if (!ldns_pkt_qr(reply) || ldns_pkt_id(reply) != d->upstream_id ||
            ldns_pkt_get_opcode(reply) != LDNS_PACKET_QUERY)
                return -EBADMSG;
        rcode = ldns_pkt_get_rcode(reply);

        rrr = pkt_question(reply);
        if (!rrr) {
                /* Some servers drop the question from errors; the socket and the id matched. */
                if (ldns_pkt_qdcount(reply) != 0 || rcode == LDNS_RCODE_NOERROR)
                        return -EBADMSG;
                r = response_wire(d->query, rcode, ldns_pkt_tc(reply), ret_wire, ret_size);
                if (r < 0)
                        return r;
                if (ret_rcode)
                        *ret_rcode = (int) rcode;
                if (ret_n_addresses)
                        *ret_n_addresses = 0;
                return 0;
        }
        if (ldns_rr_get_type(rrr) != ldns_rr_get_type(qrr) || ldns_rr_get_class(rrr) != ldns_rr_get_class(qrr) ||
            ldns_dname_compare(ldns_rr_owner(rrr), ldns_rr_owner(qrr)) != 0)
                return -EBADMSG;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->rule = rule;
        w->rule_index = d->event.rule_index;
        w->ttl_cap = ttl_cap_sec;
        w->allow = allow;
        w->userdata = userdata;
        w->may_open = rcode == LDNS_RCODE_NOERROR && ldns_rr_get_class(qrr) == LDNS_RR_CLASS_IN &&
                      (ldns_rr_get_type(qrr) == LDNS_RR_TYPE_A || ldns_rr_get_type(qrr) == LDNS_RR_TYPE_AAAA);
        w->n_chain = cname_chain(reply, ldns_rr_owner(qrr), w->chain);

        /* The answer first: a failing allow stops the opening, the rest is only filtered. The
         * chain points into the answer section, which stays intact until it is walked. */
        if (ret_rcode)
                *ret_rcode = (int) LDNS_RCODE_SERVFAIL;
        r = walk_section(w, reply, LDNS_SECTION_ANSWER);
        if (ret_n_addresses)
                *ret_n_addresses = w->n_opened;
        if (r < 0)
                return r;
        w->n_chain = 0;
        r = walk_section(w, reply, LDNS_SECTION_AUTHORITY);
        if (r < 0)
                return r;
        r = walk_section(w, reply, LDNS_SECTION_ADDITIONAL);
        if (r < 0)
                return r;

        ldns_pkt_set_id(reply, ldns_pkt_id(d->query));
        r = pkt_to_wire(reply, &wire, &wire_size);
        if (r < 0)
                return r;
        if (wire_size > d->max_udp_size) {
                /* What the task would get cut: the TC bit sends it to TCP (see the top). */
                free(wire);
                wire = NULL;
                r = response_wire(d->query, rcode, /* tc= */ true, &wire, &wire_size);
                if (r < 0)
                        return r;
        }
        if (ret_rcode)
                *ret_rcode = (int) rcode;
        *ret_wire = wire;
        *ret_size = wire_size;
        return 0;
}

/* ---- upstream address ---- */

static int parse_port(const char *s, uint16_t *ret) {
        unsigned long v;
        char *end;

        if (!s[0] || strlen(s) > 5 || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end || v < 1 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

static int parse_in6(const char *s, struct sockaddr_in6 *sa) {
        char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
        char *pct;

        if (strlen(s) >= sizeof buf)
                return -EINVAL;
        strcpy(buf, s);
        pct = strchr(buf, '%');
        if (pct) {
                /* fe80::1%eth0: link-local resolvers need their interface. */
                uint16_t dummy;
                *pct++ = 0;
                sa->sin6_scope_id = if_nametoindex(pct);
                if (sa->sin6_scope_id == 0) {
                        if (parse_port(pct, &dummy) < 0)
                                return -EINVAL;
                        sa->sin6_scope_id = dummy;
                }
        }
        if (inet_pton(AF_INET6, buf, &sa->sin6_addr) != 1)
                return -EINVAL;
        return 0;
}

int dns_upstream_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        struct sockaddr_storage ss = {};
        uint16_t port = DNS_PROXY_PORT;
        const char *colon;

        if (!s || !ret || !ret_len)
                return -EINVAL;

        if (s[0] == '[') {
                struct sockaddr_in6 *sa = (struct sockaddr_in6 *) &ss;
                const char *close = strchr(s, ']');
                char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
                size_t n;

                if (!close)
                        return -EINVAL;
                n = (size_t) (close - s - 1);
                if (n == 0 || n >= sizeof host)
                        return -EINVAL;
                memcpy(host, s + 1, n);
                host[n] = 0;
                if (close[1] == ':') {
                        if (parse_port(close + 2, &port) < 0)
                                return -EINVAL;
                } else if (close[1])
                        return -EINVAL;
                sa->sin6_family = AF_INET6;
                if (parse_in6(host, sa) < 0)
                        return -EINVAL;
                sa->sin6_port = htons(port);
                *ret_len = sizeof *sa;
        } else if ((colon = strchr(s, ':')) && strchr(colon + 1, ':')) {
                /* Two colons or more: a bare IPv6 address, port 53. */
                struct sockaddr_in6 *sa = (struct sockaddr_in6 *) &ss;

                sa->sin6_family = AF_INET6;
                if (parse_in6(s, sa) < 0)
                        return -EINVAL;
                sa->sin6_port = htons(port);
                *ret_len = sizeof *sa;
        } else {
                struct sockaddr_in *sa = (struct sockaddr_in *) &ss;
                char host[INET_ADDRSTRLEN];
                size_t n = colon ? (size_t) (colon - s) : strlen(s);

                if (n == 0 || n >= sizeof host)
                        return -EINVAL;
                memcpy(host, s, n);
                host[n] = 0;
                if (colon && parse_port(colon + 1, &port) < 0)
                        return -EINVAL;
                sa->sin_family = AF_INET;
                if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
                        return -EINVAL;
                sa->sin_port = htons(port);
                *ret_len = sizeof *sa;
        }
        *ret = ss;
        return 0;
}

int dns_upstream_from_resolv_conf(const char *path, struct sockaddr_storage *ret, socklen_t *ret_len) {
        _cleanup_fclose_ FILE *f = NULL;
        char line[512];

        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f)) {
                char *save = NULL, *key, *value;

                key = strtok_r(line, " \t\r\n", &save);
                if (!key || key[0] == '#' || key[0] == ';' || !streq(key, "nameserver"))
                        continue;
                value = strtok_r(NULL, " \t\r\n", &save);
                /* resolv.conf takes bare addresses only; ports and brackets are ours. */
                if (!value || strchr(value, '[') || (strchr(value, ':') == strrchr(value, ':') && strchr(value, ':')))
                        continue;
                if (dns_upstream_parse(value, ret, ret_len) >= 0)
                        return 0;
                log_debug("dns-proxy: ignoring nameserver '%s' in %s", value, path);
        }
        return -ENOENT;
}

/* ---- the proxy ---- */

/* epoll keys: kind, generation, slot. A stale event (its socket closed and the slot reused
 * earlier in the same batch) finds another generation and is skipped. */
enum {
        KEY_TIMER = 1,
        KEY_LISTEN4,
        KEY_LISTEN6,
        KEY_UPSTREAM,
};
#define KEY(kind, gen, slot) (((uint64_t) (kind) << 56) | ((uint64_t) (gen) << 24) | (uint64_t) (slot))
#define KEY_KIND(k) ((unsigned) ((k) >> 56))
#define KEY_GEN(k) ((uint32_t) ((k) >> 24))
#define KEY_SLOT(k) ((size_t) ((k) & 0xffffff))
#define TASK_SLOTS_MAX 0xffffffu

struct DnsTask {
        DnsProxy *proxy;
        size_t slot;
        uint32_t gen;
        int fd4, fd6;
        const NetRule *rules;
        size_t n_rules;
        DnsTaskCallbacks cb;
        size_t n_pending;
};

typedef struct DnsPending {
        bool used;
        bool busy;     /* its reply is being handled: callbacks may run */
        bool orphaned; /* its task went away while busy */
        uint32_t gen;
        DnsTask *task; /* valid while used and not orphaned */
        int fd;        /* connected to upstream */
        bool via6;     /* came in on the task's IPv6 socket */
        struct sockaddr_storage client;
        socklen_t client_len;
        uint64_t deadline;
        DnsDecision d;
} DnsPending;

struct DnsProxy {
        int epoll_fd;
        int timer_fd;
        struct sockaddr_storage upstream;
        socklen_t upstream_len;
        uint32_t ttl_cap;
        uint64_t timeout_usec;
        uint32_t gen;

        DnsTask **tasks;
        size_t n_task_slots;

        DnsPending pending[DNS_PROXY_PENDING_MAX];
        size_t n_pending;

        DnsProxyStats stats;
        uint8_t buf[LDNS_MAX_PACKETLEN + 1];
};

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static uint32_t next_gen(DnsProxy *p) {
        if (++p->gen == 0)
                p->gen = 1;
        return p->gen;
}

static uint16_t random_id(void) {
        uint16_t id;

        /* Off-path spoofing must guess this and the source port. */
        if (getrandom(&id, sizeof id, GRND_NONBLOCK) == sizeof id)
                return id;
        return (uint16_t) random();
}

static DnsTask *task_lookup(DnsProxy *p, size_t slot, uint32_t gen) {
        if (slot >= p->n_task_slots || !p->tasks[slot] || p->tasks[slot]->gen != gen)
                return NULL;
        return p->tasks[slot];
}

static void pending_release(DnsProxy *p, DnsPending *pe) {
        if (!pe->used)
                return;
        /* Closing the socket takes it out of the epoll set (it was never dup'ed). */
        pe->fd = safe_close(pe->fd);
        if (pe->task && pe->task->n_pending > 0)
                pe->task->n_pending--;
        dns_decision_done(&pe->d);
        *pe = (DnsPending) { .fd = -EBADF };
        p->n_pending--;
}

static int epoll_add(DnsProxy *p, int fd, uint64_t key) {
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = key };
        return RET_NERRNO(epoll_ctl(p->epoll_fd, EPOLL_CTL_ADD, fd, &ev));
}

int dns_proxy_new(const char *upstream, uint32_t ttl_cap_sec, DnsProxy **ret) {
        _cleanup_(dns_proxy_freep) DnsProxy *p = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->epoll_fd = p->timer_fd = -EBADF;
        for (size_t i = 0; i < ELEMENTSOF(p->pending); i++)
                p->pending[i].fd = -EBADF;
        p->timeout_usec = DNS_PROXY_TIMEOUT_DEFAULT_USEC;
        p->ttl_cap = ttl_cap_sec == 0 ? DNS_PROXY_TTL_CAP_DEFAULT_SEC : ttl_cap_sec;
        if (p->ttl_cap < DNS_PROXY_TTL_FLOOR_SEC)
                p->ttl_cap = DNS_PROXY_TTL_FLOOR_SEC;

        if (upstream)
                r = dns_upstream_parse(upstream, &p->upstream, &p->upstream_len);
        else
                r = dns_upstream_from_resolv_conf("/etc/resolv.conf", &p->upstream, &p->upstream_len);
        if (r < 0)
                return log_debug_errno(r, "dns-proxy: no usable upstream resolver '%s': %m",
                                       upstream ?: "/etc/resolv.conf");

        p->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (p->epoll_fd < 0)
                return -errno;
        p->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (p->timer_fd < 0)
                return -errno;
        r = epoll_add(p, p->timer_fd, KEY(KEY_TIMER, 0, 0));
        if (r < 0)
                return r;

        *ret = TAKE_PTR(p);
        return 0;
}

DnsProxy *dns_proxy_free(DnsProxy *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_task_slots; i++)
                if (p->tasks[i])
                        (void) dns_task_remove(p, p->tasks[i]);
        for (size_t i = 0; i < ELEMENTSOF(p->pending); i++)
                pending_release(p, &p->pending[i]);
        free(p->tasks);
        safe_close(p->timer_fd);
        safe_close(p->epoll_fd);
        free(p);
        return NULL;
}

int dns_proxy_set_timeout(DnsProxy *p, uint64_t usec) {
        if (usec == 0)
                return -EINVAL;
        p->timeout_usec = usec;
        return 0;
}

void dns_proxy_get_stats(const DnsProxy *p, DnsProxyStats *ret) {
        *ret = p->stats;
}

int dns_proxy_fd(DnsProxy *p) {
        return p->epoll_fd;
}

static int listen_socket(int family, const void *addr) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_storage ss = {};
        socklen_t len;
        int one = 1;

        fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (family == AF_INET6) {
                struct sockaddr_in6 *sa = (struct sockaddr_in6 *) &ss;

                if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
                        return -errno;
                /* The gateway address may still be tentative (DAD) or not yet configured. */
                if (setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one) < 0 &&
                    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one) < 0)
                        return -errno;
                sa->sin6_family = AF_INET6;
                sa->sin6_port = htons(DNS_PROXY_PORT);
                memcpy(&sa->sin6_addr, addr, sizeof sa->sin6_addr);
                len = sizeof *sa;
        } else {
                struct sockaddr_in *sa = (struct sockaddr_in *) &ss;

                if (setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one) < 0)
                        return -errno;
                sa->sin_family = AF_INET;
                sa->sin_port = htons(DNS_PROXY_PORT);
                memcpy(&sa->sin_addr, addr, sizeof sa->sin_addr);
                len = sizeof *sa;
        }
        if (bind(fd, (struct sockaddr *) &ss, len) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static void task_free(DnsTask *t) {
        if (!t)
                return;
        safe_close(t->fd4);
        safe_close(t->fd6);
        free(t);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(DnsTask *, task_free);

int dns_task_add(DnsProxy *p, const struct in_addr *listen4, const struct in6_addr *listen6,
                 const NetRule *rules, size_t n_rules, const DnsTaskCallbacks *cb, DnsTask **ret) {
        _cleanup_(task_freep) DnsTask *t = NULL;
        size_t slot;
        int r;

        if (!p || (!listen4 && !listen6) || (!rules && n_rules > 0) || !cb || !cb->allow || !ret)
                return -EINVAL;

        for (slot = 0; slot < p->n_task_slots; slot++)
                if (!p->tasks[slot])
                        break;
        if (slot == p->n_task_slots) {
                size_t n = p->n_task_slots ? p->n_task_slots * 2 : 16;
                DnsTask **a;

                if (n > TASK_SLOTS_MAX)
                        return -ENOSPC;
                a = reallocarray(p->tasks, n, sizeof *a);
                if (!a)
                        return -ENOMEM;
                memset(a + p->n_task_slots, 0, (n - p->n_task_slots) * sizeof *a);
                p->tasks = a;
                p->n_task_slots = n;
        }

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        *t = (DnsTask) {
                .proxy = p,
                .slot = slot,
                .gen = next_gen(p),
                .fd4 = -EBADF,
                .fd6 = -EBADF,
                .rules = rules,
                .n_rules = n_rules,
                .cb = *cb,
        };
        if (listen4) {
                r = t->fd4 = listen_socket(AF_INET, listen4);
                if (r >= 0)
                        r = epoll_add(p, t->fd4, KEY(KEY_LISTEN4, t->gen, slot));
                if (r < 0)
                        return log_debug_errno(r, "dns-proxy: cannot listen on the task's IPv4 gateway: %m");
        }
        if (listen6) {
                r = t->fd6 = listen_socket(AF_INET6, listen6);
                if (r >= 0)
                        r = epoll_add(p, t->fd6, KEY(KEY_LISTEN6, t->gen, slot));
                if (r < 0)
                        return log_debug_errno(r, "dns-proxy: cannot listen on the task's IPv6 gateway: %m");
        }
        p->tasks[slot] = t;
        *ret = TAKE_PTR(t);
        return 0;
}

DnsTask *dns_task_remove(DnsProxy *p, DnsTask *t) {
        if (!p || !t)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(p->pending); i++) {
                DnsPending *pe = &p->pending[i];

                if (!pe->used || pe->task != t)
                        continue;
                if (pe->busy) {
                        /* Its handler is up the stack; it frees the entry when it returns. */
                        pe->orphaned = true;
                        pe->task = NULL;
                } else
                        pending_release(p, pe);
        }
        if (t->slot < p->n_task_slots && p->tasks[t->slot] == t)
                p->tasks[t->slot] = NULL;
        task_free(t);
        return NULL;
}

static void task_send(DnsTask *t, bool via6, const struct sockaddr_storage *to, socklen_t to_len,
                      const uint8_t *wire, size_t size) {
        int fd = via6 ? t->fd6 : t->fd4;

        /* Non-blocking: a full socket buffer loses the answer and the task's resolver retries. */
        if (sendto(fd, wire, size, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *) to, to_len) < 0)
                log_debug_errno(-errno, "dns-proxy: cannot answer the task, ignoring: %m");
}

static void task_event(DnsTask *t, const DnsDecision *d, int rcode, size_t n_addresses) {
        DnsEvent ev;

        if (!t->cb.event)
                return;
        ev = d->event;
        ev.name = d->name; /* d may have moved since event.name was set */
        ev.rcode = rcode;
        ev.n_addresses = n_addresses;
        t->cb.event(t->cb.userdata, &ev);
}

/* Takes the entry out of the table, answers the task (wire, or SERVFAIL when NULL) if it is still
 * there and reports the event. */
static void pending_finish(DnsProxy *p, DnsPending *pe, const uint8_t *wire, size_t size, int rcode,
                           size_t n_addresses) {
        _cleanup_free_ uint8_t *servfail = NULL;
        DnsTask *t = pe->orphaned ? NULL : pe->task;
        size_t slot;
        uint32_t gen;
        DnsDecision d;
        struct sockaddr_storage client = pe->client;
        socklen_t client_len = pe->client_len;
        bool via6 = pe->via6;

        /* Move the decision out, so that callbacks removing the task cannot free it. */
        d = pe->d;
        pe->d = (DnsDecision) {};
        pending_release(p, pe);
        if (!t) {
                dns_decision_done(&d);
                return;
        }
        slot = t->slot;
        gen = t->gen;

        if (!wire) {
                size_t n = 0;

                rcode = LDNS_RCODE_SERVFAIL;
                if (dns_servfail(&d, &servfail, &n) >= 0) {
                        wire = servfail;
                        size = n;
                }
                p->stats.servfail++;
        }
        if (wire)
                task_send(t, via6, &client, client_len, wire, size);
        if (task_lookup(p, slot, gen))
                task_event(t, &d, rcode, n_addresses);
        dns_decision_done(&d);
}

static bool sockaddr_equal(const struct sockaddr_storage *a, socklen_t a_len, const struct sockaddr_storage *b) {
        if (a->ss_family != b->ss_family)
                return false;
        if (a->ss_family == AF_INET) {
                const struct sockaddr_in *x = (const struct sockaddr_in *) a, *y = (const struct sockaddr_in *) b;
                return a_len >= sizeof *x && x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
        }
        if (a->ss_family == AF_INET6) {
                const struct sockaddr_in6 *x = (const struct sockaddr_in6 *) a, *y = (const struct sockaddr_in6 *) b;
                return a_len >= sizeof *x && x->sin6_port == y->sin6_port &&
                       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
        }
        return false;
}

typedef struct AllowCtx {
        DnsProxy *proxy;
        size_t slot;
        uint32_t gen;
} AllowCtx;

static int allow_trampoline(void *userdata, const NetRule *rule, int rule_index, uint32_t ttl_sec) {
        AllowCtx *c = userdata;
        DnsTask *t = task_lookup(c->proxy, c->slot, c->gen);

        /* An earlier callback may have removed the task (and freed what its userdata points to). */
        if (!t)
                return -ESRCH;
        return t->cb.allow(t->cb.userdata, rule, rule_index, ttl_sec);
}

static void handle_upstream(DnsProxy *p, size_t slot, uint32_t gen) {
        DnsPending *pe;

        if (slot >= ELEMENTSOF(p->pending))
                return;
        pe = &p->pending[slot];

        for (unsigned i = 0; i < DNS_READ_BURST; i++) {
                _cleanup_free_ uint8_t *wire = NULL;
                struct sockaddr_storage from = {};
                socklen_t from_len = sizeof from;
                size_t size = 0, n_addresses = 0;
                int rcode = LDNS_RCODE_SERVFAIL, r;
                NetRule rule;
                AllowCtx ctx;
                ssize_t n;

                if (!pe->used || pe->gen != gen || pe->orphaned || !pe->task)
                        return;
                n = recvfrom(pe->fd, p->buf, sizeof p->buf, MSG_DONTWAIT, (struct sockaddr *) &from, &from_len);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        /* ECONNREFUSED (ICMP port unreachable) and the like: no answer is coming. */
                        log_debug_errno(-errno, "dns-proxy: upstream failed: %m");
                        pending_finish(p, pe, NULL, 0, LDNS_RCODE_SERVFAIL, 0);
                        return;
                }
                /* The socket is connected, so the kernel filtered already; checked anyway. */
                if (!sockaddr_equal(&from, from_len, &p->upstream)) {
                        p->stats.upstream_ignored++;
                        continue;
                }

                rule = pe->task->rules[pe->d.event.rule_index];
                rule.host = NULL;
                ctx = (AllowCtx) { .proxy = p, .slot = pe->task->slot, .gen = pe->task->gen };
                pe->busy = true;
                r = dns_reply_handle(&pe->d, &rule, p->ttl_cap, p->buf, (size_t) n, allow_trampoline, &ctx,
                                     &wire, &size, &rcode, &n_addresses);
                pe->busy = false;
                if (r == -EBADMSG && !pe->orphaned) {
                        p->stats.upstream_ignored++;
                        continue;
                }
                if (r < 0) {
                        log_debug_errno(r, "dns-proxy: answering '%s' failed: %m", pe->d.name);
                        pending_finish(p, pe, NULL, 0, LDNS_RCODE_SERVFAIL, n_addresses);
                } else
                        pending_finish(p, pe, wire, size, rcode, n_addresses);
                return;
        }
}

static void handle_query(DnsProxy *p, DnsTask *t, bool via6, size_t size, const struct sockaddr_storage *from,
                         socklen_t from_len) {
        _cleanup_close_ int fd = -EBADF;
        DnsDecision d;
        DnsPending *pe = NULL;
        int r;

        r = dns_query_decide(t->rules, t->n_rules, p->buf, size, random_id(), &d);
        if (r < 0) {
                dns_decision_done(&d);
                return;
        }
        if (r == DNS_ACTION_DROP) {
                p->stats.dropped++;
                dns_decision_done(&d);
                return;
        }
        p->stats.queries++;
        if (r == DNS_ACTION_RESPOND) {
                if (d.event.rcode == LDNS_RCODE_REFUSED)
                        p->stats.refused++;
                task_send(t, via6, from, from_len, d.wire, d.wire_size);
                task_event(t, &d, d.event.rcode, 0);
                dns_decision_done(&d);
                return;
        }

        if (p->n_pending < ELEMENTSOF(p->pending) && t->n_pending < DNS_PROXY_TASK_PENDING_MAX)
                for (size_t i = 0; i < ELEMENTSOF(p->pending); i++)
                        if (!p->pending[i].used) {
                                pe = &p->pending[i];
                                break;
                        }

        if (pe) {
                fd = socket(p->upstream.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *) &p->upstream, p->upstream_len) < 0 ||
                    send(fd, d.wire, d.wire_size, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
                        log_debug_errno(-errno, "dns-proxy: cannot query upstream: %m");
                        pe = NULL;
                }
        }
        if (pe) {
                uint32_t gen = next_gen(p);

                if (epoll_add(p, fd, KEY(KEY_UPSTREAM, gen, (size_t) (pe - p->pending))) < 0)
                        pe = NULL;
                else {
                        *pe = (DnsPending) {
                                .used = true,
                                .gen = gen,
                                .task = t,
                                .fd = TAKE_FD(fd),
                                .via6 = via6,
                                .client_len = from_len,
                                .deadline = now_usec() + p->timeout_usec,
                                .d = d,
                        };
                        memcpy(&pe->client, from, from_len);
                        p->n_pending++;
                        t->n_pending++;
                        p->stats.forwarded++;
                        return;
                }
        }

        /* Too many waiting, or upstream unreachable: fail now rather than let the task wait. */
        {
                _cleanup_free_ uint8_t *wire = NULL;
                size_t n = 0;
                size_t slot = t->slot;
                uint32_t gen = t->gen;

                p->stats.servfail++;
                if (dns_servfail(&d, &wire, &n) >= 0)
                        task_send(t, via6, from, from_len, wire, n);
                if (task_lookup(p, slot, gen))
                        task_event(t, &d, LDNS_RCODE_SERVFAIL, 0);
                dns_decision_done(&d);
        }
}

static void handle_listen(DnsProxy *p, size_t slot, uint32_t gen, bool via6) {
        for (unsigned i = 0; i < DNS_READ_BURST; i++) {
                DnsTask *t = task_lookup(p, slot, gen);
                struct sockaddr_storage from = {};
                socklen_t from_len = sizeof from;
                ssize_t n;

                /* Looked up again each time: an event callback may have removed it. */
                if (!t)
                        return;
                n = recvfrom(via6 ? t->fd6 : t->fd4, p->buf, sizeof p->buf, MSG_DONTWAIT,
                             (struct sockaddr *) &from, &from_len);
                if (n < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                log_debug_errno(-errno, "dns-proxy: reading a query failed, ignoring: %m");
                        return;
                }
                if (from_len > sizeof from) {
                        p->stats.dropped++;
                        continue;
                }
                handle_query(p, t, via6, (size_t) n, &from, from_len);
        }
}

static void expire_pending(DnsProxy *p) {
        uint64_t now = now_usec();

        for (size_t i = 0; i < ELEMENTSOF(p->pending); i++) {
                DnsPending *pe = &p->pending[i];

                if (!pe->used || pe->busy || pe->deadline > now)
                        continue;
                p->stats.timeouts++;
                pending_finish(p, pe, NULL, 0, LDNS_RCODE_SERVFAIL, 0);
        }
}

static void timer_update(DnsProxy *p) {
        struct itimerspec its = {};
        uint64_t next = UINT64_MAX;

        for (size_t i = 0; i < ELEMENTSOF(p->pending); i++)
                if (p->pending[i].used && p->pending[i].deadline < next)
                        next = p->pending[i].deadline;
        if (next != UINT64_MAX) {
                /* 0 would disarm the timer. */
                if (next == 0)
                        next = 1;
                its.it_value.tv_sec = (time_t) (next / USEC_PER_SEC);
                its.it_value.tv_nsec = (long) ((next % USEC_PER_SEC) * NSEC_PER_USEC);
        }
        if (timerfd_settime(p->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
                log_debug_errno(-errno, "dns-proxy: cannot arm the timeout timer, ignoring: %m");
}

int dns_proxy_dispatch(DnsProxy *p) {
        struct epoll_event events[64];
        int n;

        n = epoll_wait(p->epoll_fd, events, ELEMENTSOF(events), 0);
        if (n < 0)
                return errno == EINTR ? 0 : -errno;

        for (int i = 0; i < n; i++) {
                uint64_t key = events[i].data.u64;

                switch (KEY_KIND(key)) {
                case KEY_TIMER: {
                        uint64_t expirations;
                        /* Only to clear the readiness; expire_pending() below does the work. */
                        if (read(p->timer_fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
                                log_debug_errno(-errno, "dns-proxy: reading the timer failed, ignoring: %m");
                        break;
                }
                case KEY_LISTEN4:
                case KEY_LISTEN6:
                        handle_listen(p, KEY_SLOT(key), KEY_GEN(key), KEY_KIND(key) == KEY_LISTEN6);
                        break;
                case KEY_UPSTREAM:
                        handle_upstream(p, KEY_SLOT(key), KEY_GEN(key));
                        break;
                default:
                        break;
                }
        }
        /* Every pass, not only on the timer: cheap (256 slots) and nothing is missed. */
        expire_pending(p);
        timer_update(p);
        return 0;
}
