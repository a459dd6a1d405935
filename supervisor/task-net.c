/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "bpf-egress.h"
#include "dns-proxy.h"
#include "supervisor.h"
#include "task-net.h"

/* Beyond this many net records a task's decisions are only counted (in
 * the exit record's summary): a task looping over sendto() must not turn
 * the journal into its own output channel. */
#define TASK_NET_RECORDS_MAX 10000

#define DNS_TTL_CAP_DEFAULT 300

void supervisor_net_init(SupervisorNet *n) {
        *n = (SupervisorNet) { .dns_ttl_cap_sec = DNS_TTL_CAP_DEFAULT };
        net_pool_default(&n->pool);
}

int supervisor_net_open(SupervisorNet *n, const char **reterr_what) {
        double t0 = monotonic_ms(), t1, t2, t3;
        int r;

        if (n->opened)
                return 0;
        t1 = monotonic_ms();
        *reterr_what = "load the egress programs";
        r = egress_open(&n->egress);
        if (r < 0)
                goto fail;
        t2 = monotonic_ms();
        r = net_host_open(&n->pool, &n->host, reterr_what);
        if (r < 0)
                goto fail;
        t3 = monotonic_ms();
        *reterr_what = "start the resolver";
        r = dns_proxy_new(n->dns_upstream, n->dns_ttl_cap_sec, &n->dns);
        if (r < 0)
                goto fail;
        n->opened = true;
        log_debug("network wall ready in %.1f ms: programs %.1f (%s), host rules %.1f, resolver %.1f",
                  monotonic_ms() - t0, t2 - t1, egress_cached(n->egress) ? "cached" : "loaded", t3 - t2,
                  monotonic_ms() - t3);
        *reterr_what = NULL;
        return 0;
fail:
        supervisor_net_done(n);
        return r;
}

void supervisor_net_done(SupervisorNet *n) {
        /* Links and tables of supervisors that were killed, found by name and
         * owner: here, off every task's start (a stale link only takes a
         * slot, which allocation skips). */
        if (n->opened)
                net_sweep_stale();
        n->dns = dns_proxy_free(n->dns);
        n->host = net_host_close(n->host);
        n->egress = egress_close(n->egress);
        n->opened = false;
}

static TaskNet *task_by_cgroup(SupervisorNet *sn, uint64_t id) {
        for (TaskNet *t = sn->tasks; t; t = t->next)
                if (t->cgroup_id == id)
                        return t;
        return NULL;
}

static NetDestCount *summary_dest(NetSummary *s, int family, const uint8_t addr[16], uint16_t port, uint8_t proto) {
        NetDestCount *d = NULL;

        for (size_t i = 0; i < s->n_dest && !d; i++)
                if (s->dest[i].family == family && s->dest[i].port == port && s->dest[i].proto == proto &&
                    memcmp(s->dest[i].addr, addr, 16) == 0)
                        d = &s->dest[i];
        if (!d) {
                if (s->n_dest >= NET_DEST_MAX)
                        return NULL;
                d = &s->dest[s->n_dest++];
                *d = (NetDestCount) { .family = family, .port = port, .proto = proto };
                memcpy(d->addr, addr, 16);
        }
        return d;
}

static void summary_count(NetSummary *s, int family, const uint8_t addr[16], uint16_t port, uint8_t proto, bool allowed) {
        NetDestCount *d = summary_dest(s, family, addr, port, proto);

        if (!d) {
                s->dest_overflow++;
                return;
        }
        if (allowed)
                d->allowed++;
        else
                d->denied++;
}

static void emit(TaskNet *t, const NetEvent *ev) {
        if (!t->event_fn)
                return;
        if (t->events >= TASK_NET_RECORDS_MAX) {
                t->summary->records_suppressed++;
                return;
        }
        t->events++;
        t->event_fn(t->spec, ev, t->userdata);
}

/* Rule ids in the kernel are 1 + the index in network.allow; the
 * resolver's own entry has an id past the task's rules. */
static int rule_index(const TaskNet *t, uint32_t rule_id) {
        if (rule_id == 0)
                return -1;
        if (rule_id > t->spec->n_net_allow)
                return NET_RULE_DNS;
        return (int) rule_id - 1;
}

static void on_egress_event(const struct egress_event *e, void *userdata) {
        SupervisorNet *sn = userdata;
        TaskNet *t = task_by_cgroup(sn, e->cgroup_id);
        NetEvent ev;

        if (!t)
                return; /* a task already gone: its counters were taken */
        ev = (NetEvent) { .hook = egress_hook_to_string(e->hook) ?: "unknown",
                          .verdict = egress_verdict_to_string(e->verdict) ?: "unknown", .pid = e->pid,
                          .family = e->family, .proto = e->proto, .port = e->port,
                          .rule = rule_index(t, e->rule_id) };
        memcpy(ev.comm, e->comm, sizeof ev.comm);
        ev.comm[sizeof ev.comm - 1] = 0;
        memcpy(ev.addr, e->addr, sizeof ev.addr);
        summary_count(t->summary, e->family, e->addr, e->port, e->proto, e->verdict == EGRESS_VERDICT_ALLOW);
        emit(t, &ev);
}

int supervisor_net_ring_fd(SupervisorNet *sn) {
        return sn->egress ? egress_ring_fd(sn->egress) : -EBADF;
}

int supervisor_net_dns_fd(SupervisorNet *sn) {
        return sn->dns ? dns_proxy_fd(sn->dns) : -EBADF;
}

void supervisor_net_dispatch_ring(SupervisorNet *sn) {
        if (sn->egress && egress_consume(sn->egress, on_egress_event, sn) < 0)
                log_debug("egress ring buffer: cannot consume");
}

void supervisor_net_dispatch_dns(SupervisorNet *sn) {
        if (sn->dns)
                (void) dns_proxy_dispatch(sn->dns);
}

/* An answer for an allowed name: the wall opens for that address, with the
 * rule's ports, until the record's TTL runs out. */
static int dns_allow(void *userdata, const NetRule *rule, int index, uint32_t ttl_sec) {
        TaskNet *t = userdata;
        struct timespec now;

        if (clock_gettime(CLOCK_BOOTTIME, &now) < 0)
                return -errno;
        return egress_task_allow(t->sn->egress, t->egress, rule, (uint32_t) index + 1,
                                 ((uint64_t) now.tv_sec + ttl_sec) * 1000000000ULL + (uint64_t) now.tv_nsec);
}

static void dns_event(void *userdata, const DnsEvent *d) {
        TaskNet *t = userdata;
        /* allowed: the name matched a rule; the answer may still have failed. */
        const char *verdict = !d->allowed ? "refused" : d->rcode == 0 ? "allow" : "error";
        NetEvent ev = { .hook = "dns", .verdict = verdict, .family = AF_UNSPEC, .proto = IPPROTO_UDP, .port = 53,
                        .rule = d->rule_index, .name = d->name, .qtype = d->qtype, .rcode = d->rcode,
                        .n_addresses = d->n_addresses };

        if (!d->allowed)
                t->summary->dns_refused++;
        else if (d->rcode == 0)
                t->summary->dns_allowed++;
        else
                t->summary->dns_failed++;
        emit(t, &ev);
}

static bool has_host_rules(const SandboxSpec *spec) {
        for (size_t i = 0; i < spec->n_net_allow; i++)
                if (spec->net_allow[i].host)
                        return true;
        return false;
}

/* The task's resolver is the supervisor, on the gateway address: port 53,
 * UDP and TCP (TCP is refused by the proxy, quickly, rather than timing out). */
static int allow_resolver(TaskNet *t) {
        NetRule r4 = { .family = AF_INET, .prefix = 32, .port_lo = 53, .port_hi = 53,
                       .protos = NET_PROTO_UDP | NET_PROTO_TCP };
        NetRule r6 = { .family = AF_INET6, .prefix = 128, .port_lo = 53, .port_hi = 53,
                       .protos = NET_PROTO_UDP | NET_PROTO_TCP };
        uint32_t id = (uint32_t) t->spec->n_net_allow + 1;
        int r;

        memcpy(r4.addr, &t->link.host4, 4);
        memcpy(r6.addr, &t->link.host6, 16);
        r = egress_task_allow(t->sn->egress, t->egress, &r4, id, 0);
        if (r >= 0)
                r = egress_task_allow(t->sn->egress, t->egress, &r6, id, 0);
        return r;
}

int task_net_prepare(SupervisorNet *sn, const SandboxSpec *spec, int cgroup_fd, NetSummary *summary,
                     NetEventFn event_fn, void *userdata, TaskNet *t, const char **reterr_what) {
        bool audit = spec->mode && streq(spec->mode, "audit");
        double t0;
        int r;

        *t = (TaskNet) { .sn = sn, .spec = spec, .summary = summary, .event_fn = event_fn, .userdata = userdata };
        /* Before clone, like all heavy work: after it every page the
         * supervisor writes is a copy-on-write fault, which made loading the
         * programs and the host rules ~2x, and the attach ~4x, slower here.
         * The task's cgroup exists already (it is cloned into it). */
        r = supervisor_net_open(sn, reterr_what);
        if (r < 0)
                return r;
        t0 = monotonic_ms();
        *reterr_what = "read the task's cgroup id";
        r = cgroup_fd_id(cgroup_fd, &t->cgroup_id);
        if (r < 0)
                return r;
        *reterr_what = "attach the egress programs";
        r = egress_task_add(sn->egress, cgroup_fd, t->cgroup_id, spec->net_allow, spec->n_net_allow, audit, &t->egress);
        if (r < 0)
                return r;
        t->next = sn->tasks;
        sn->tasks = t;
        log_debug("egress policy attached in %.1f ms", monotonic_ms() - t0);
        *reterr_what = NULL;
        return 0;
}

int task_net_attach(TaskNet *t, int netns_fd, char *resolv_conf, size_t resolv_len, const char **reterr_what) {
        SupervisorNet *sn = t->sn;
        const SandboxSpec *spec = t->spec;
        bool audit = spec->mode && streq(spec->mode, "audit");
        double t0 = monotonic_ms(), t2;
        int r;

        /* The peer is created inside the task's netns: moving a device
         * between namespaces waits for RCU and cost 20-40 ms here. */
        r = net_link_plumb(&sn->pool, netns_fd, &t->link, reterr_what);
        if (r < 0)
                return r;
        t->plumbed = true;
        t2 = monotonic_ms();
        *reterr_what = "allow the task's resolver";
        r = allow_resolver(t);
        if (r < 0)
                return r;
        if (has_host_rules(spec)) {
                DnsTaskCallbacks cb = { .allow = dns_allow, .event = dns_event, .userdata = t };
                *reterr_what = "start the task's resolver";
                r = dns_task_add(sn->dns, &t->link.host4, &t->link.host6, spec->net_allow, spec->n_net_allow, &cb,
                                 &t->dns);
                if (r < 0)
                        return r;
        }
        t->summary->enforced = true;
        t->summary->audit = audit;
        t->summary->ipv6_beyond_host = net_host_ipv6_forwarding(sn->host);
        (void) inet_ntop(AF_INET, &t->link.task4, t->summary->task4, sizeof t->summary->task4);
        (void) inet_ntop(AF_INET, &t->link.host4, t->summary->gateway4, sizeof t->summary->gateway4);
        (void) inet_ntop(AF_INET6, &t->link.task6, t->summary->task6, sizeof t->summary->task6);
        (void) inet_ntop(AF_INET6, &t->link.host6, t->summary->gateway6, sizeof t->summary->gateway6);
        /* Without hostname rules there is no resolver: names fail fast. */
        if (t->dns)
                (void) snprintf(resolv_conf, resolv_len, "# stockade: the task's resolver\nnameserver %s\nnameserver %s\n",
                                t->summary->gateway4, t->summary->gateway6);
        else
                (void) snprintf(resolv_conf, resolv_len, "# stockade: no hostname rules, no resolver\n");
        log_debug("task network attached in %.1f ms: veth %.1f, resolver %.1f", monotonic_ms() - t0, t2 - t0,
                  monotonic_ms() - t2);
        *reterr_what = NULL;
        return 0;
}

void task_net_done(TaskNet *t) {
        SupervisorNet *sn = t->sn;

        if (!sn)
                return;
        if (t->egress) {
                EgressCounters c = {};
                /* What is still in the ring buffer belongs to this run's record. */
                supervisor_net_dispatch_ring(sn);
                _cleanup_free_ EgressTraffic *rows = NULL;
                size_t n = 0;

                if (egress_task_counters(sn->egress, t->egress, &c) >= 0) {
                        t->summary->allowed = c.allowed;
                        t->summary->denied = c.denied;
                        t->summary->lost = c.lost;
                }
                /* Bytes that left and came back, per destination, from the skb programs. */
                if (egress_task_traffic(sn->egress, t->egress, &rows, &n) >= 0)
                        for (size_t i = 0; i < n; i++) {
                                NetDestCount *d = summary_dest(t->summary, rows[i].family, rows[i].addr, rows[i].port,
                                                               rows[i].proto);
                                if (!d) {
                                        t->summary->dest_overflow++;
                                        continue;
                                }
                                if (rows[i].received) {
                                        d->bytes_received += rows[i].bytes;
                                        d->packets_received += rows[i].packets;
                                } else {
                                        d->bytes_sent += rows[i].bytes;
                                        d->packets_sent += rows[i].packets;
                                }
                        }
        }
        for (TaskNet **p = &sn->tasks; *p; p = &(*p)->next)
                if (*p == t) {
                        *p = t->next;
                        break;
                }
        t->dns = dns_task_remove(sn->dns, t->dns);
        t->egress = egress_task_remove(sn->egress, t->egress);
        /* Deleting a veth waits for RCU grace periods (~30 ms here); when
         * the task's namespace is gone the kernel removes the pair by itself,
         * batched, off our path. Only a namespace still alive needs it. */
        if (t->plumbed && !t->netns_gone)
                net_link_unplumb(&t->link);
        t->plumbed = false;
        t->sn = NULL;
}
