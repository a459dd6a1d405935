/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writes the seed corpus of fuzz-dns (tests/fuzz/dns-seeds/) in the input format fuzz-dns.c
 * describes, from real queries and replies built with ldns. Not built by meson; run by hand
 * when the format changes:
 *
 *   cc -o /tmp/gen-dns-seeds tests/fuzz/gen-dns-seeds.c -lldns && /tmp/gen-dns-seeds tests/fuzz/dns-seeds
 */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *outdir;

static ldns_pkt *query(const char *name, ldns_rr_type type, uint16_t id, bool edns) {
        ldns_pkt *q = NULL;

        if (ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK)
                abort();
        ldns_pkt_set_id(q, id);
        if (edns) {
                ldns_pkt_set_edns_udp_size(q, 1232);
                ldns_pkt_set_edns_do(q, true);
        }
        return q;
}

static ldns_pkt *reply(const char *name, ldns_rr_type type, uint16_t id, ldns_pkt_rcode rcode, bool edns,
                       const char *const *rrs) {
        ldns_pkt *r = query(name, type, id, edns);

        ldns_pkt_set_qr(r, true);
        ldns_pkt_set_ra(r, true);
        ldns_pkt_set_rcode(r, (uint8_t) rcode);
        for (; rrs && *rrs; rrs++) {
                ldns_pkt_section s = LDNS_SECTION_ANSWER;
                const char *t = *rrs;
                ldns_rr *rr = NULL;

                if (!strncmp(t, "NS ", 3))
                        s = LDNS_SECTION_AUTHORITY, t += 3;
                else if (!strncmp(t, "AR ", 3))
                        s = LDNS_SECTION_ADDITIONAL, t += 3;
                if (ldns_rr_new_frm_str(&rr, t, 0, NULL, NULL) != LDNS_STATUS_OK || !ldns_pkt_push_rr(r, s, rr))
                        abort();
        }
        return r;
}

static void put(FILE *f, const ldns_pkt *p) {
        uint8_t *w = NULL;
        size_t n;

        if (ldns_pkt2wire(&w, p, &n) != LDNS_STATUS_OK || fwrite(w, 1, n, f) != n)
                abort();
        free(w);
}

/* mode 0: query + reply; the reply's id is the one the proxy "chose". */
static void seed_pair(const char *file, ldns_pkt *q, ldns_pkt *r) {
        char path[4096];
        uint8_t *w = NULL, hdr[3] = { 0 };
        size_t n;
        FILE *f;

        (void) snprintf(path, sizeof path, "%s/%s", outdir, file);
        f = fopen(path, "we");
        if (!f || ldns_pkt2wire(&w, q, &n) != LDNS_STATUS_OK)
                abort();
        hdr[1] = (uint8_t) (n >> 8);
        hdr[2] = (uint8_t) n;
        fwrite(hdr, 1, 3, f);
        fwrite(w, 1, n, f);
        if (r)
                put(f, r);
        fclose(f);
        free(w);
        ldns_pkt_free(q);
        ldns_pkt_free(r);
}

/* mode 1 (plus flag bits): a reply alone. */
static void seed_reply(const char *file, uint8_t mode, ldns_pkt *r) {
        char path[4096];
        FILE *f;

        (void) snprintf(path, sizeof path, "%s/%s", outdir, file);
        f = fopen(path, "we");
        if (!f)
                abort();
        fputc(mode, f);
        put(f, r);
        fclose(f);
        ldns_pkt_free(r);
}

int main(int argc, char **argv) {
        if (argc != 2)
                return 2;
        outdir = argv[1];

        seed_pair("pair-a", query("example.com", LDNS_RR_TYPE_A, 0x1234, false),
                  reply("example.com", LDNS_RR_TYPE_A, 0x9876, LDNS_RCODE_NOERROR, false, (const char *[]) {
                          "example.com. 300 IN A 192.0.2.1", "example.com. 300 IN A 192.0.2.2", NULL }));
        seed_pair("pair-aaaa-cname", query("www.example.org", LDNS_RR_TYPE_AAAA, 7, true),
                  reply("www.example.org", LDNS_RR_TYPE_AAAA, 0x4242, LDNS_RCODE_NOERROR, true, (const char *[]) {
                          "www.example.org. 3600 IN CNAME edge.cdn.test.",
                          "edge.cdn.test. 20 IN CNAME e1.cdn.test.",
                          "e1.cdn.test. 0 IN AAAA 2001:db8::1",
                          "evil.test. 60 IN AAAA 2001:db8::666", NULL }));
        seed_pair("pair-refused", query("unlisted.test", LDNS_RR_TYPE_A, 1, false), NULL);
        seed_pair("pair-nxdomain", query("x.example.org", LDNS_RR_TYPE_A, 2, true),
                  reply("x.example.org", LDNS_RR_TYPE_A, 0x0102, LDNS_RCODE_NXDOMAIN, true, (const char *[]) {
                          "NS example.org. 300 IN SOA ns.example.org. host.example.org. 1 7200 900 1209600 300", NULL }));
        seed_pair("pair-https", query("example.com", LDNS_RR_TYPE_MX, 3, true),
                  reply("example.com", LDNS_RR_TYPE_MX, 0x0303, LDNS_RCODE_NOERROR, true, (const char *[]) {
                          "example.com. 300 IN MX 10 mx.example.com.",
                          "AR mx.example.com. 300 IN A 192.0.2.25",
                          "AR mx.example.com. 300 IN AAAA 2001:db8::25", NULL }));
        seed_reply("reply-chain", 1, reply("a.b.c", LDNS_RR_TYPE_A, 0x1111, LDNS_RCODE_NOERROR, false, (const char *[]) {
                           "a.b.c. 60 IN CNAME b.c.", "b.c. 60 IN CNAME a.b.c.", "a.b.c. 60 IN A 198.51.100.1",
                           "b.c. 5 IN A 198.51.100.2", "b.c. 5 IN A 198.51.100.2", "AR x. 1 IN A 198.51.100.3", NULL }));
        seed_reply("reply-edns-wild", 1 | 2 | 4, reply("host.example.net", LDNS_RR_TYPE_AAAA, 0x2222,
                           LDNS_RCODE_NOERROR, true, (const char *[]) {
                           "host.example.net. 86400 IN AAAA 2001:db8::10", NULL }));
        {
                ldns_pkt *r = reply("big.example.com", LDNS_RR_TYPE_A, 0x3333, LDNS_RCODE_NOERROR, false, NULL);
                /* More than DNS_PROXY_ADDRESSES_MAX. */
                for (int i = 0; i < 70; i++) {
                        char s[128];
                        ldns_rr *rr = NULL;
                        (void) snprintf(s, sizeof s, "big.example.com. 30 IN A 203.0.113.%d", i);
                        if (ldns_rr_new_frm_str(&rr, s, 0, NULL, NULL) != LDNS_STATUS_OK)
                                abort();
                        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
                }
                seed_reply("reply-big", 1, r);
        }
        {
                /* An error without the question, as some servers send. */
                ldns_pkt *r = ldns_pkt_new();
                ldns_pkt_set_id(r, 0x0404);
                ldns_pkt_set_qr(r, true);
                ldns_pkt_set_rcode(r, LDNS_RCODE_SERVFAIL);
                seed_pair("pair-noquestion", query("example.com", LDNS_RR_TYPE_A, 4, false), r);
        }
        {
                ldns_pkt *r = reply("tc.example.com", LDNS_RR_TYPE_A, 0x4444, LDNS_RCODE_NOERROR, false, NULL);
                ldns_pkt_set_tc(r, true);
                seed_reply("reply-tc", 1, r);
        }
        return 0;
}
