/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the DNS proxy's whole parsing path, without sockets (see run.sh).
 *
 * Input: one mode byte, then
 *   mode bit 0 clear: a 2-byte big-endian length, a query from a task of that length, and the
 *     rest as upstream's reply to it (its first two bytes are taken as the id the proxy chose,
 *     so that the reply path is reached at all);
 *   mode bit 0 set: an upstream reply alone; the query it answers is built from its question
 *     (bit 1: with EDNS), and the task's only rule is that name (bit 2: as a wildcard of its
 *     parent), so that mutations of the answer sections reach the address walk.
 *   mode bit 3 set (and bit 0 clear): the rest is an upstream address for dns_upstream_parse().
 * Bits 4-7 make the allow callback fail on that call (0: never).
 *
 * Beyond "no crash, no leak": whatever the proxy sends is a message ldns parses, answers carry
 * the task's id and fit its buffer, queries upstream carry the chosen id, and every address
 * opened has the matched rule's ports with a TTL between the floor and the cap. */
#include <ldns/ldns.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "dns-proxy.h"

#define TTL_CAP 120u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Allow {
        unsigned calls;
        unsigned fail_at;
        const NetRule *rule;
} Allow;

static int check_allow(void *userdata, const NetRule *rule, int rule_index, uint32_t ttl_sec) {
        Allow *a = userdata;

        if (rule->host || rule_index < 0 || ttl_sec < DNS_PROXY_TTL_FLOOR_SEC || ttl_sec > TTL_CAP ||
            rule->port_lo != a->rule->port_lo || rule->port_hi != a->rule->port_hi ||
            rule->protos != a->rule->protos)
                abort();
        if (!((rule->family == AF_INET && rule->prefix == 32) || (rule->family == AF_INET6 && rule->prefix == 128)))
                abort();
        if (++a->calls > DNS_PROXY_ADDRESSES_MAX)
                abort();
        return a->calls == a->fail_at ? -ENOSPC : 0;
}

static void check_response(const uint8_t *wire, size_t size, uint16_t id, size_t max) {
        ldns_pkt *p = NULL;

        if (!wire || size > max || ldns_wire2pkt(&p, wire, size) != LDNS_STATUS_OK)
                abort();
        if (!ldns_pkt_qr(p) || ldns_pkt_id(p) != id)
                abort();
        ldns_pkt_free(p);
}

static void run(const NetRule *rules, size_t n_rules, const uint8_t *query, size_t query_size,
                const uint8_t *reply, size_t reply_size, uint16_t upstream_id, unsigned fail_at) {
        DnsDecision d;
        int r;

        r = dns_query_decide(rules, n_rules, query, query_size, upstream_id, &d);
        if (r < 0 || r != (int) d.action)
                abort();
        if (r == DNS_ACTION_RESPOND) {
                ldns_pkt *q = NULL;

                if (ldns_wire2pkt(&q, query, query_size) != LDNS_STATUS_OK)
                        abort();
                check_response(d.wire, d.wire_size, ldns_pkt_id(q), 65535);
                ldns_pkt_free(q);
        } else if (r == DNS_ACTION_FORWARD) {
                ldns_pkt *fwd = NULL;
                uint8_t *wire = NULL, *sf = NULL;
                size_t wire_size = 0, sf_size = 0, n_addr = 0;
                int rcode = -1;
                Allow a;

                if (!d.query || d.event.rule_index < 0 || (size_t) d.event.rule_index >= n_rules ||
                    ldns_wire2pkt(&fwd, d.wire, d.wire_size) != LDNS_STATUS_OK ||
                    ldns_pkt_id(fwd) != upstream_id || ldns_pkt_qr(fwd) || ldns_pkt_qdcount(fwd) != 1)
                        abort();
                ldns_pkt_free(fwd);

                a = (Allow) { .fail_at = fail_at, .rule = &rules[d.event.rule_index] };
                r = dns_reply_handle(&d, &rules[d.event.rule_index], TTL_CAP, reply, reply_size,
                                     check_allow, &a, &wire, &wire_size, &rcode, &n_addr);
                if (r >= 0)
                        check_response(wire, wire_size, ldns_pkt_id(d.query), d.max_udp_size);
                else if (r != -EBADMSG && r != -ENOSPC)
                        abort();
                if (r != -EBADMSG && n_addr != a.calls - (r == -ENOSPC))
                        abort();
                free(wire);

                if (dns_servfail(&d, &sf, &sf_size) < 0)
                        abort();
                check_response(sf, sf_size, ldns_pkt_id(d.query), d.max_udp_size);
                free(sf);
        }
        dns_decision_done(&d);
}

static void run_reply_only(uint8_t mode, const uint8_t *reply, size_t reply_size, unsigned fail_at) {
        ldns_pkt *rp = NULL, *q = NULL;
        const ldns_rr *qrr;
        ldns_rdf *name;
        char *host = NULL;
        uint8_t *qwire = NULL;
        size_t qsize = 0;
        NetRule rule = { .port_lo = 443, .port_hi = 443, .protos = NET_PROTO_TCP };

        if (ldns_wire2pkt(&rp, reply, reply_size) != LDNS_STATUS_OK)
                goto out;
        if (ldns_rr_list_rr_count(ldns_pkt_question(rp)) < 1)
                goto out;
        qrr = ldns_rr_list_rr(ldns_pkt_question(rp), 0);

        name = ldns_rdf_clone(ldns_rr_owner(qrr));
        if (!name)
                goto out;
        q = ldns_pkt_query_new(name, ldns_rr_get_type(qrr), ldns_rr_get_class(qrr), LDNS_RD);
        if (!q) {
                ldns_rdf_deep_free(name);
                goto out;
        }
        ldns_pkt_set_id(q, 0x5eed);
        if (mode & 2)
                ldns_pkt_set_edns_udp_size(q, 4096);
        if (ldns_pkt2wire(&qwire, q, &qsize) != LDNS_STATUS_OK)
                goto out;

        host = ldns_rdf2str(ldns_rr_owner(qrr));
        if (!host)
                goto out;
        if (mode & 4) {
                /* "*." + the parent: matches the name when it has a parent to match under. */
                const char *dot = strchr(host, '.');
                char *w;

                if (!dot || !dot[1])
                        goto out;
                if (asprintf(&w, "*.%s", dot + 1) < 0)
                        goto out;
                free(host);
                host = w;
        }
        rule.host = host;
        run(&rule, 1, qwire, qsize, reply, reply_size, ldns_pkt_id(rp), fail_at);

out:
        free(host);
        free(qwire);
        ldns_pkt_free(q);
        ldns_pkt_free(rp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const NetRule rules[] = {
                { .family = AF_INET, .prefix = 8, .port_lo = 1, .port_hi = 65535, .protos = NET_PROTO_TCP },
                { .host = (char *) "example.com", .port_lo = 443, .port_hi = 443, .protos = NET_PROTO_TCP },
                { .host = (char *) "*.example.org", .port_lo = 53, .port_hi = 53, .protos = NET_PROTO_UDP },
                { .host = (char *) "a", .port_lo = 1, .port_hi = 65535, .protos = NET_PROTO_TCP | NET_PROTO_UDP },
        };
        uint8_t mode;
        unsigned fail_at;

        if (size < 1)
                return 0;
        mode = data[0];
        fail_at = mode >> 4;
        data++;
        size--;

        if (mode & 1) {
                run_reply_only(mode, data, size, fail_at);
                return 0;
        }
        if (mode & 8) {
                struct sockaddr_storage ss;
                socklen_t len = 0;
                char *s = strndup((const char *) data, size);

                if (s && dns_upstream_parse(s, &ss, &len) >= 0 &&
                    !((ss.ss_family == AF_INET && len == sizeof(struct sockaddr_in)) ||
                      (ss.ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6))))
                        abort();
                free(s);
                return 0;
        }
        if (size >= 2) {
                size_t qlen = (size_t) data[0] << 8 | data[1];
                const uint8_t *reply;
                size_t reply_size;
                uint16_t id;

                data += 2;
                size -= 2;
                if (qlen > size)
                        qlen = size;
                reply = data + qlen;
                reply_size = size - qlen;
                id = reply_size >= 2 ? (uint16_t) (reply[0] << 8 | reply[1]) : 0;
                run(rules, sizeof rules / sizeof rules[0], data, qlen, reply, reply_size, id, fail_at);
        }
        return 0;
}
