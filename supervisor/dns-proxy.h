/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The per-task DNS proxy that makes hostname rules (network.allow entries
 * with a host) enforceable. Each task's resolv.conf points at its veth
 * gateway; the proxy listens there, refuses every name no hostname rule
 * matches, forwards the others to the supervisor's resolver and, before
 * relaying the answer, opens each answered A/AAAA address in the task's
 * egress wall through DnsTaskCallbacks.allow. What this does and does not
 * guarantee is spelled out at the top of dns-proxy.c (for
 * stockade-profile(5)).
 *
 * In the supervisor only dns-proxy.c includes <ldns/ldns.h>. Nothing here is thread-safe; it
 * all runs on the supervisor's event loop. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "macro.h"
#include "profile.h"

#define DNS_PROXY_TTL_CAP_DEFAULT_SEC 300u
/* Raised to this so the connect() that follows the answer finds the address
 * open even when the record's TTL is 0. */
#define DNS_PROXY_TTL_FLOOR_SEC 5u
#define DNS_PROXY_TIMEOUT_DEFAULT_USEC (2 * USEC_PER_SEC)
#define DNS_PROXY_PENDING_MAX 256u
/* Per task, so that one task cannot starve the others' lookups. */
#define DNS_PROXY_TASK_PENDING_MAX 64u
/* Addresses opened per answer; more are dropped from the answer relayed. */
#define DNS_PROXY_ADDRESSES_MAX 64u
#define DNS_PROXY_PORT 53

typedef struct DnsProxy DnsProxy; /* one per supervisor */
typedef struct DnsTask DnsTask;   /* one per task */

typedef struct DnsEvent {
        const char *name;   /* the queried name, lowercase, no trailing dot, RFC 1035 escapes */
        uint16_t qtype;
        bool allowed;       /* matched a hostname rule (zone transfers, non-IN: still REFUSED) */
        int rule_index;     /* index into the task's rules, -1 when none */
        int rcode;          /* what the task got back (0 NOERROR, 5 REFUSED, 2 SERVFAIL...) */
        size_t n_addresses; /* A/AAAA inserted */
} DnsEvent;

typedef struct DnsTaskCallbacks {
        /* Insert one answered address (rule: a copy of the matched hostname rule with host=NULL,
         * family/addr/prefix set to the single address, ports/protos from the rule);
         * ttl already capped. Return <0 to fail the answer (SERVFAIL to the task). */
        int (*allow)(void *userdata, const NetRule *rule, int rule_index, uint32_t ttl_sec);
        /* Once per query that got an answer from the proxy (not for dropped packets). */
        void (*event)(void *userdata, const DnsEvent *ev);
        void *userdata;
} DnsTaskCallbacks;

/* Counters, for `stockade doctor` and the tests. */
typedef struct DnsProxyStats {
        uint64_t queries;          /* well-formed queries from tasks */
        uint64_t refused;          /* ... answered REFUSED (no rule matched) */
        uint64_t forwarded;        /* ... sent upstream */
        uint64_t servfail;         /* SERVFAIL sent: timeout, upstream error, overflow, allow failed */
        uint64_t dropped;          /* malformed or unexpected packets from tasks, never answered */
        uint64_t upstream_ignored; /* replies that did not match their query (spoofed, stale, bad) */
        uint64_t timeouts;
} DnsProxyStats;

/* upstream: NULL = first nameserver of /etc/resolv.conf (IPv4 or IPv6, port 53);
 * "ADDR" or "ADDR:PORT" or "[V6]:PORT". ttl_cap_sec: 0 = DNS_PROXY_TTL_CAP_DEFAULT_SEC;
 * values below DNS_PROXY_TTL_FLOOR_SEC are raised to it. */
int dns_proxy_new(const char *upstream, uint32_t ttl_cap_sec, DnsProxy **ret);
/* NULL-safe, returns NULL; answers nothing further. Not from inside a callback. */
DnsProxy *dns_proxy_free(DnsProxy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(DnsProxy *, dns_proxy_free);

/* How long to wait for upstream before answering SERVFAIL; default 2 s. */
int dns_proxy_set_timeout(DnsProxy *p, uint64_t usec) _nonnull_(1);
void dns_proxy_get_stats(const DnsProxy *p, DnsProxyStats *ret) _nonnull_(1, 2);

/* One pollable fd for everything (an internal epoll fd containing the listening sockets, the
 * upstream sockets and a timerfd for timeouts): the caller adds it to its own epoll loop and calls
 * dns_proxy_dispatch() when it is readable. Owned by the proxy. */
int dns_proxy_fd(DnsProxy *p) _nonnull_(1);
/* Handles everything ready, never blocks. Callbacks run from here; they may call
 * dns_task_remove() (for any task), not dns_proxy_free(). */
int dns_proxy_dispatch(DnsProxy *p) _nonnull_(1);

/* Listen on listen_addr:53 (UDP) — the task's gateway; IPv4 and optionally IPv6 (NULL to skip;
 * at least one). rules/n_rules: the task's full allow list (only entries with host != NULL matter);
 * kept by reference, must outlive the DnsTask. cb is copied. */
int dns_task_add(DnsProxy *p, const struct in_addr *listen4, const struct in6_addr *listen6,
                 const NetRule *rules, size_t n_rules, const DnsTaskCallbacks *cb, DnsTask **ret);
/* Closes its sockets, drops its pending queries (no answer, no event). NULL-safe, returns NULL. */
DnsTask *dns_task_remove(DnsProxy *p, DnsTask *t);

/* Pure helpers, exported for tests and the fuzzer. */

/* 1 match, 0 not. Case-insensitive, trailing dots ignored; "*.example.org" matches every name
 * strictly below example.org, an exact host only itself. Unparsable names match nothing. */
int dns_name_match(const char *rule_host, const char *qname);

/* Index of the first hostname rule matching qname, -1 when none. */
int dns_rules_match(const NetRule *rules, size_t n_rules, const char *qname);

typedef enum DnsAction {
        DNS_ACTION_DROP,    /* malformed or not a query: send nothing */
        DNS_ACTION_RESPOND, /* send d->wire back to the task (REFUSED, FORMERR, NOTIMP) */
        DNS_ACTION_FORWARD, /* send d->wire upstream; answer with dns_reply_handle() */
        _DNS_ACTION_MAX,
        _DNS_ACTION_INVALID = -EINVAL,
} DnsAction;

struct ldns_struct_pkt;

/* The decision on one packet from a task, and, for DNS_ACTION_FORWARD, what is needed to check
 * and relay the reply. */
typedef struct DnsDecision {
        DnsAction action;
        uint8_t *wire; /* RESPOND: the response to the task; FORWARD: the query for upstream */
        size_t wire_size;
        DnsEvent event; /* RESPOND and FORWARD: event.name points into name */
        char name[1024];
        uint16_t upstream_id;
        uint16_t max_udp_size;         /* the largest response the task accepts */
        struct ldns_struct_pkt *query; /* the task's query, parsed */
} DnsDecision;

void dns_decision_done(DnsDecision *d);

/* Handle one packet from a task as the proxy would, without sockets. The query forwarded upstream
 * gets the id upstream_id. Returns the action (also in ret->action) or -ENOMEM; ret is always
 * initialised and must be released with dns_decision_done(). */
int dns_query_decide(const NetRule *rules, size_t n_rules, const void *packet, size_t size,
                     uint16_t upstream_id, DnsDecision *ret) _nonnull_(3, 6);

typedef int (*DnsAllowFn)(void *userdata, const NetRule *rule, int rule_index, uint32_t ttl_sec);

/* Handle one reply from upstream to the query d forwarded (d->action == DNS_ACTION_FORWARD):
 * checks that it answers that query (id, question), calls allow for each address it opens (rule:
 * the matched hostname rule; TTL capped to ttl_cap_sec and raised to the floor) and builds the
 * response for the task. Returns 0 with the response, -EBADMSG for a reply that is not the answer
 * (malformed, other id or question: ignore it and keep waiting), -ENOMEM, or the allow
 * callback's error (answer the task with dns_servfail()). *ret_rcode and *ret_n_addresses are
 * set whenever allow may have been called. */
int dns_reply_handle(const DnsDecision *d, const NetRule *rule, uint32_t ttl_cap_sec,
                     const void *packet, size_t size, DnsAllowFn allow, void *userdata,
                     uint8_t **ret_wire, size_t *ret_size, int *ret_rcode, size_t *ret_n_addresses);

/* SERVFAIL for the task's query in d (d->action == DNS_ACTION_FORWARD). */
int dns_servfail(const DnsDecision *d, uint8_t **ret_wire, size_t *ret_size);

/* Parses "ADDR", "ADDR:PORT", "[V6]:PORT" (port 53 when not given). */
int dns_upstream_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);
/* The first nameserver of a resolv.conf(5), as dns_upstream_parse() returns it. */
int dns_upstream_from_resolv_conf(const char *path, struct sockaddr_storage *ret, socklen_t *ret_len);
