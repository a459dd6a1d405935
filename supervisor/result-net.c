/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "profile.h"
#include "result-net.h"

static void add(json_object *o, const char *k, json_object *v) {
        (void) json_object_object_add(o, k, v);
}

static json_object *addr_json(int family, const uint8_t addr[16]) {
        char buf[INET6_ADDRSTRLEN];
        if (family != AF_INET && family != AF_INET6)
                return NULL;
        if (!inet_ntop(family, addr, buf, sizeof buf))
                return NULL;
        return json_object_new_string(buf);
}

static json_object *proto_json(uint8_t proto) {
        switch (proto) {
        case IPPROTO_TCP: return json_object_new_string("tcp");
        case IPPROTO_UDP: return json_object_new_string("udp");
        case IPPROTO_ICMP: return json_object_new_string("icmp");
        case IPPROTO_ICMPV6: return json_object_new_string("icmpv6");
        default: return json_object_new_int(proto);
        }
}

static json_object *opt_string(const char *s) {
        return s && *s ? json_object_new_string(s) : NULL;
}

json_object *net_summary_to_json(const NetSummary *s) {
        json_object *o, *a, *dests, *dns;

        if (!s->enforced)
                return NULL;
        o = json_object_new_object();
        add(o, "mode", json_object_new_string(s->audit ? "audit" : "enforce"));
        a = json_object_new_object();
        add(a, "task4", opt_string(s->task4));
        add(a, "gateway4", opt_string(s->gateway4));
        add(a, "task6", opt_string(s->task6));
        add(a, "gateway6", opt_string(s->gateway6));
        add(a, "ipv6_beyond_host", json_object_new_boolean(s->ipv6_beyond_host));
        add(o, "addresses", a);
        add(o, "allowed", json_object_new_int64((int64_t) s->allowed));
        add(o, "denied", json_object_new_int64((int64_t) s->denied));
        add(o, "events_lost", json_object_new_int64((int64_t) s->lost));
        add(o, "records_suppressed", json_object_new_int64((int64_t) s->records_suppressed));
        dns = json_object_new_object();
        add(dns, "allowed", json_object_new_int64((int64_t) s->dns_allowed));
        add(dns, "refused", json_object_new_int64((int64_t) s->dns_refused));
        add(dns, "failed", json_object_new_int64((int64_t) s->dns_failed));
        add(o, "dns", dns);
        dests = json_object_new_array();
        for (size_t i = 0; i < s->n_dest; i++) {
                const NetDestCount *d = &s->dest[i];
                json_object *e = json_object_new_object();
                add(e, "address", addr_json(d->family, d->addr));
                add(e, "port", json_object_new_int(d->port));
                add(e, "proto", proto_json(d->proto));
                add(e, "allowed", json_object_new_int64((int64_t) d->allowed));
                add(e, "denied", json_object_new_int64((int64_t) d->denied));
                add(e, "bytes_sent", json_object_new_int64((int64_t) d->bytes_sent));
                add(e, "packets_sent", json_object_new_int64((int64_t) d->packets_sent));
                add(e, "bytes_received", json_object_new_int64((int64_t) d->bytes_received));
                add(e, "packets_received", json_object_new_int64((int64_t) d->packets_received));
                (void) json_object_array_add(dests, e);
        }
        add(o, "destinations", dests);
        add(o, "destinations_overflow", json_object_new_int64((int64_t) s->dest_overflow));
        return o;
}

static json_object *rule_json(const NetEvent *ev, const SandboxSpec *spec) {
        const NetRule *r;
        char buf[INET6_ADDRSTRLEN + 8];

        if (ev->rule == NET_RULE_DNS)
                return json_object_new_string("resolver");
        if (ev->rule < 0 || (size_t) ev->rule >= spec->n_net_allow)
                return NULL;
        r = &spec->net_allow[ev->rule];
        if (r->host)
                return json_object_new_string(r->host);
        if (!inet_ntop(r->family, r->addr, buf, sizeof buf))
                return NULL;
        (void) snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "/%u", r->prefix);
        return json_object_new_string(buf);
}

void net_event_add_json(const NetEvent *ev, const SandboxSpec *spec, json_object *o) {
        add(o, "hook", json_object_new_string(ev->hook));
        add(o, "verdict", json_object_new_string(ev->verdict));
        add(o, "rule", rule_json(ev, spec));
        add(o, "rule_index", ev->rule >= 0 ? json_object_new_int(ev->rule) : NULL);
        if (ev->name) {
                add(o, "name", json_object_new_string(ev->name));
                add(o, "qtype", json_object_new_int(ev->qtype));
                add(o, "rcode", json_object_new_int(ev->rcode));
                add(o, "addresses", json_object_new_int64((int64_t) ev->n_addresses));
                return;
        }
        add(o, "pid", ev->pid ? json_object_new_int64(ev->pid) : NULL);
        add(o, "comm", opt_string(ev->comm));
        add(o, "family", json_object_new_string(ev->family == AF_INET6 ? "ipv6" : "ipv4"));
        add(o, "proto", proto_json(ev->proto));
        add(o, "address", addr_json(ev->family, ev->addr));
        add(o, "port", json_object_new_int(ev->port));
}
