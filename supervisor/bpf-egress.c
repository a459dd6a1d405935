/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loader of the egress wall (bpf/egress.bpf.c): the only file including its
 * skeleton and <bpf/libbpf.h>. The trie returns only the longest matching
 * prefix, so the folding of shorter rules into longer prefixes happens here,
 * from a copy of the task's rules kept in the EgressTask. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "bpf-egress.h"
#include "egress.skel.h"

enum { PROG_CONNECT4, PROG_CONNECT6, PROG_SENDMSG4, PROG_SENDMSG6, PROG_SKB, _PROG_MAX };

/* A rule as the trie sees it: IPv4 v4-mapped, prefix out of 128. */
typedef struct TrieRule {
        uint8_t addr[16];
        uint8_t prefix;
        uint8_t protos;
        uint16_t port_lo, port_hi;
        uint32_t rule_id;
        uint64_t expires_ns;
} TrieRule;

struct EgressTask {
        uint64_t cgroup_id;
        struct bpf_link *links[_PROG_MAX];
        TrieRule *rules;
        size_t n_rules;
        EgressTask *next; /* in Egress.tasks */
};

struct Egress {
        struct egress *skel;
        struct ring_buffer *rb;
        EgressTask *tasks;
        EgressEventFn cb; /* set for the duration of egress_consume() */
        void *userdata;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct egress *, egress__destroy);

/* ::ffff:0:0/96, where IPv4 lives in the trie. */
static const uint8_t v4_mapped_prefix[12] = { [10] = 0xff, [11] = 0xff };

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap) {
        char buf[1024];
        size_t l;

        (void) vsnprintf(buf, sizeof buf, fmt, ap);
        l = strlen(buf);
        while (l > 0 && buf[l - 1] == '\n')
                buf[--l] = 0;
        /* libbpf warns only when something failed; the rest is chatter. */
        (void) log_internal(level == LIBBPF_WARN ? LOG_LEVEL_WARNING : LOG_LEVEL_DEBUG, 0, "bpf-egress: %s", buf);
        return 0;
}

static int on_event(void *ctx, void *data, size_t size) {
        Egress *e = ctx;
        struct egress_event ev;

        if (size < sizeof ev || !e->cb)
                return 0;
        memcpy(&ev, data, sizeof ev);
        e->cb(&ev, e->userdata);
        return 0;
}

int egress_open(Egress **ret) {
        _cleanup_(egress__destroyp) struct egress *skel = NULL;
        _cleanup_free_ Egress *e = NULL;
        int r;

        (void) libbpf_set_print(libbpf_log);

        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;

        skel = egress__open();
        if (!skel)
                return log_error_errno(negative_errno(), "bpf-egress: cannot open the programs: %m");
        r = egress__load(skel);
        if (r < 0)
                return log_error_errno(r, "bpf-egress: the kernel refused the programs: %m");

        e->rb = ring_buffer__new(bpf_map__fd(skel->maps.egress_events), on_event, e, NULL);
        if (!e->rb)
                return log_error_errno(negative_errno(), "bpf-egress: cannot map the ring buffer: %m");

        e->skel = TAKE_PTR(skel);
        *ret = TAKE_PTR(e);
        return 0;
}

static void task_free(Egress *e, EgressTask *t);

Egress *egress_close(Egress *e) {
        if (!e)
                return NULL;
        while (e->tasks)
                task_free(e, e->tasks);
        ring_buffer__free(e->rb);
        egress__destroy(e->skel);
        free(e);
        return NULL;
}

int egress_ring_fd(Egress *e) {
        return ring_buffer__epoll_fd(e->rb);
}

int egress_consume(Egress *e, EgressEventFn cb, void *userdata) {
        int r;

        e->cb = cb;
        e->userdata = userdata;
        r = ring_buffer__consume(e->rb);
        e->cb = NULL;
        e->userdata = NULL;
        return r;
}

int egress_lost_untracked(Egress *e, uint64_t *ret) {
        *ret = __atomic_load_n(&e->skel->bss->lost_untracked, __ATOMIC_RELAXED);
        return 0;
}

static bool in_prefix(const uint8_t *addr, const uint8_t *net, unsigned prefix) {
        unsigned bytes = prefix / 8, bits = prefix % 8;

        if (memcmp(addr, net, bytes) != 0)
                return false;
        return bits == 0 || ((addr[bytes] ^ net[bytes]) & (0xff00 >> bits) & 0xff) == 0;
}

static void mask_prefix(uint8_t addr[16], unsigned prefix) {
        for (unsigned i = 0; i < 16; i++) {
                unsigned keep = prefix > i * 8 ? prefix - i * 8 : 0;
                addr[i] &= keep >= 8 ? 0xff : (uint8_t) (0xff00 >> keep);
        }
}

static int trie_rule_from(const NetRule *n, uint32_t rule_id, uint64_t expires_ns, TrieRule *ret) {
        TrieRule t = { .rule_id = rule_id, .expires_ns = expires_ns, .port_lo = n->port_lo, .port_hi = n->port_hi };

        t.protos = n->protos & (EGRESS_PROTO_TCP | EGRESS_PROTO_UDP);
        if (t.protos == 0 || t.port_lo > t.port_hi)
                return -EINVAL;
        if (n->family == AF_INET && n->prefix <= 32) {
                memcpy(t.addr, v4_mapped_prefix, 12);
                memcpy(t.addr + 12, n->addr, 4);
                t.prefix = 96 + n->prefix;
        } else if (n->family == AF_INET6 && n->prefix <= 128) {
                memcpy(t.addr, n->addr, 16);
                t.prefix = n->prefix;
        } else
                return -EINVAL;
        mask_prefix(t.addr, t.prefix);
        *ret = t;
        return 0;
}

static struct egress_key key_of(uint64_t cgroup_id, const uint8_t addr[16], unsigned prefix) {
        struct egress_key k = { .prefixlen = 64 + prefix, .cgroup_id = cgroup_id };
        memcpy(k.addr, addr, 16);
        return k;
}

static int cmp_specific_first(const void *a, const void *b) {
        const TrieRule *x = *(const TrieRule *const *) a, *y = *(const TrieRule *const *) b;

        if (x->prefix != y->prefix)
                return x->prefix > y->prefix ? -1 : 1;
        return x->rule_id < y->rule_id ? -1 : x->rule_id > y->rule_id;
}

/* r is redundant behind c when c admits everything r does, for as long. */
static bool range_covers(const struct egress_range *c, const TrieRule *r) {
        return c->port_lo <= r->port_lo && c->port_hi >= r->port_hi && (c->protos & r->protos) == r->protos &&
               (c->expires_ns == 0 || (r->expires_ns != 0 && c->expires_ns >= r->expires_ns));
}

/* The value for prefix addr/prefix: the ranges of every rule whose CIDR
 * contains it, most specific rule first (its id is the one reported). In
 * the v4-mapped space only rules inside it count: an IPv6 rule such as ::/0
 * does not admit IPv4. */
static int fold(const EgressTask *t, const uint8_t addr[16], unsigned prefix, struct egress_value *ret) {
        _cleanup_free_ const TrieRule **c = NULL;
        bool mapped = prefix >= 96 && memcmp(addr, v4_mapped_prefix, 12) == 0;
        size_t n = 0;

        c = calloc(t->n_rules + 1, sizeof *c);
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_rules; i++) {
                const TrieRule *r = &t->rules[i];
                if (r->protos != 0 && r->prefix <= prefix && (!mapped || r->prefix >= 96) &&
                    in_prefix(addr, r->addr, r->prefix))
                        c[n++] = r;
        }
        qsort(c, n, sizeof *c, cmp_specific_first);

        *ret = (struct egress_value) {};
        for (size_t i = 0; i < n; i++) {
                bool redundant = false;
                struct egress_range *slot;

                for (unsigned j = 0; j < ret->n_ranges && !redundant; j++)
                        redundant = range_covers(&ret->ranges[j], c[i]);
                if (redundant)
                        continue;
                if (ret->n_ranges >= EGRESS_MAX_RANGES)
                        return -E2BIG;
                slot = &ret->ranges[ret->n_ranges++];
                *slot = (struct egress_range) {
                        .expires_ns = c[i]->expires_ns,
                        .rule_id = c[i]->rule_id,
                        .port_lo = c[i]->port_lo,
                        .port_hi = c[i]->port_hi,
                        .protos = c[i]->protos,
                };
        }
        return 0;
}

/* Rule i is the first with its prefix (so each key is written once). */
static bool first_of_prefix(const EgressTask *t, size_t i) {
        for (size_t j = 0; j < i; j++)
                if (t->rules[j].prefix == t->rules[i].prefix && memcmp(t->rules[j].addr, t->rules[i].addr, 16) == 0)
                        return false;
        return true;
}

/* Writes every key of t inside addr/prefix (all keys for prefix 0), folding
 * first so that -E2BIG leaves the map untouched. Index 0 of t->rules is the
 * v4 barrier, see egress_task_add(). */
static int write_keys(Egress *e, const EgressTask *t, const uint8_t addr[16], unsigned prefix) {
        _cleanup_free_ struct egress_value *vals = NULL;
        int fd = bpf_map__fd(e->skel->maps.egress_rules), r;

        vals = calloc(t->n_rules, sizeof *vals);
        if (!vals)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_rules; i++) {
                const TrieRule *k = &t->rules[i];
                if (k->prefix < prefix || !in_prefix(k->addr, addr, prefix) || !first_of_prefix(t, i))
                        continue;
                r = fold(t, k->addr, k->prefix, &vals[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < t->n_rules; i++) {
                const TrieRule *k = &t->rules[i];
                struct egress_key key = key_of(t->cgroup_id, k->addr, k->prefix);
                if (k->prefix < prefix || !in_prefix(k->addr, addr, prefix) || !first_of_prefix(t, i))
                        continue;
                r = bpf_map_update_elem(fd, &key, &vals[i], BPF_ANY);
                if (r < 0)
                        return log_error_errno(r, "bpf-egress: cannot write a rule of cgroup %" PRIu64 ": %m",
                                               t->cgroup_id);
        }
        return 0;
}

/* The traffic rows of cgroup_id: keys and values, *ret_n of each. The batch
 * lookup walks the hash by bucket, so rows added or evicted meanwhile
 * neither restart nor repeat the walk (get_next_key on an evicted key
 * would start over). */
static int traffic_rows(Egress *e, uint64_t cgroup_id, struct egress_traffic_key **ret_keys,
                        struct egress_traffic_value **ret_vals, size_t *ret_n) {
        _cleanup_free_ struct egress_traffic_key *keys = NULL;
        _cleanup_free_ struct egress_traffic_value *vals = NULL;
        int fd = bpf_map__fd(e->skel->maps.egress_traffic), r;
        size_t max = bpf_map__max_entries(e->skel->maps.egress_traffic), n = 0, m = 0;
        uint32_t batch = 0;
        bool first = true;

        /* Room for the whole map: a bucket never outgrows what is left. */
        keys = calloc(max, sizeof *keys);
        vals = calloc(max, sizeof *vals);
        if (!keys || !vals)
                return -ENOMEM;
        while (n < max) {
                uint32_t count = (uint32_t) (max - n);

                r = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys + n, vals + n, &count, NULL);
                if (r < 0 && r != -ENOENT)
                        return r;
                n += count;
                if (r == -ENOENT) /* the end */
                        break;
                first = false;
        }
        for (size_t i = 0; i < n; i++)
                if (keys[i].cgroup_id == cgroup_id) {
                        keys[m] = keys[i];
                        vals[m++] = vals[i];
                }
        *ret_keys = TAKE_PTR(keys);
        *ret_vals = TAKE_PTR(vals);
        *ret_n = m;
        return 0;
}

int egress_task_traffic(Egress *e, const EgressTask *t, EgressTraffic **ret, size_t *ret_n) {
        _cleanup_free_ struct egress_traffic_key *keys = NULL;
        _cleanup_free_ struct egress_traffic_value *vals = NULL;
        EgressTraffic *rows = NULL;
        size_t n;
        int r;

        r = traffic_rows(e, t->cgroup_id, &keys, &vals, &n);
        if (r < 0)
                return log_debug_errno(r, "bpf-egress: cannot read the traffic of cgroup %" PRIu64 ": %m",
                                       t->cgroup_id);
        if (n > 0) {
                rows = calloc(n, sizeof *rows);
                if (!rows)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                EgressTraffic *x = &rows[i];

                *x = (EgressTraffic) { .proto = keys[i].proto, .port = keys[i].port,
                                       .bytes = vals[i].bytes, .packets = vals[i].packets };
                if (memcmp(keys[i].addr, v4_mapped_prefix, 12) == 0) {
                        x->family = AF_INET;
                        memcpy(x->addr, keys[i].addr + 12, 4);
                } else {
                        x->family = AF_INET6;
                        memcpy(x->addr, keys[i].addr, 16);
                }
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

static void task_free(Egress *e, EgressTask *t) {
        int rules_fd = bpf_map__fd(e->skel->maps.egress_rules);
        _cleanup_free_ struct egress_traffic_key *keys = NULL;
        _cleanup_free_ struct egress_traffic_value *vals = NULL;
        size_t n;

        /* Task entry first: from here the programs deny (fail closed) while
         * the links and rules go. */
        (void) bpf_map_delete_elem(bpf_map__fd(e->skel->maps.egress_tasks), &t->cgroup_id);
        for (size_t i = 0; i < _PROG_MAX; i++)
                (void) bpf_link__destroy(t->links[i]);
        for (size_t i = 0; i < t->n_rules; i++) {
                struct egress_key key = key_of(t->cgroup_id, t->rules[i].addr, t->rules[i].prefix);
                (void) bpf_map_delete_elem(rules_fd, &key); /* ENOENT for shared prefixes */
        }
        /* Last: with the entry and links gone nothing adds rows any more. */
        if (traffic_rows(e, t->cgroup_id, &keys, &vals, &n) >= 0)
                for (size_t i = 0; i < n; i++) /* ENOENT when the LRU evicted it meanwhile */
                        (void) bpf_map_delete_elem(bpf_map__fd(e->skel->maps.egress_traffic), &keys[i]);
        for (EgressTask **p = &e->tasks; *p; p = &(*p)->next)
                if (*p == t) {
                        *p = t->next;
                        break;
                }
        free(t->rules);
        free(t);
}

int egress_task_add(Egress *e, int cgroup_fd, uint64_t cgroup_id, const NetRule *rules, size_t n_rules,
                    bool audit, EgressTask **ret) {
        struct egress_task info = { .flags = EGRESS_TASK_TRACKED | (audit ? EGRESS_TASK_AUDIT : 0) };
        struct bpf_program *progs[_PROG_MAX] = {
                e->skel->progs.egress_connect4, e->skel->progs.egress_connect6, e->skel->progs.egress_sendmsg4,
                e->skel->progs.egress_sendmsg6, e->skel->progs.egress_skb,
        };
        int tasks_fd = bpf_map__fd(e->skel->maps.egress_tasks), r;
        EgressTask *t;

        if (n_rules >= EGRESS_TASK_MAX_RULES)
                return log_error_errno(-E2BIG, "bpf-egress: %zu rules, at most %d per task", n_rules,
                                       EGRESS_TASK_MAX_RULES - 1);
        if (bpf_map_lookup_elem(tasks_fd, &cgroup_id, &info) == 0)
                return log_error_errno(-EEXIST, "bpf-egress: cgroup %" PRIu64 " already has a task", cgroup_id);
        info = (struct egress_task) { .flags = EGRESS_TASK_TRACKED | (audit ? EGRESS_TASK_AUDIT : 0) };

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->cgroup_id = cgroup_id;
        t->rules = calloc(n_rules + 1, sizeof *t->rules);
        if (!t->rules) {
                free(t);
                return -ENOMEM;
        }
        t->next = e->tasks;
        e->tasks = t;

        /* The barrier: ::ffff:0:0/96 always has a key of its own, so that an
         * IPv4 destination never falls through to a shorter IPv6 prefix.
         * Protocol-less, it admits nothing by itself. */
        memcpy(t->rules[0].addr, v4_mapped_prefix, 12);
        t->rules[0].prefix = 96;
        t->n_rules = 1;
        for (size_t i = 0; i < n_rules; i++) {
                if (rules[i].host)
                        continue;
                r = trie_rule_from(&rules[i], i + 1, 0, &t->rules[t->n_rules]);
                if (r < 0) {
                        log_error_errno(r, "bpf-egress: rule %zu is not a valid CIDR rule", i + 1);
                        goto fail;
                }
                t->n_rules++;
        }

        r = write_keys(e, t, (const uint8_t[16]) {}, 0);
        if (r == -E2BIG)
                log_error_errno(r, "bpf-egress: more than %d port ranges apply to one prefix, refusing the rules",
                                EGRESS_MAX_RANGES);
        if (r < 0)
                goto fail;

        for (size_t i = 0; i < _PROG_MAX; i++) {
                t->links[i] = bpf_program__attach_cgroup(progs[i], cgroup_fd);
                if (!t->links[i]) {
                        r = log_error_errno(negative_errno(), "bpf-egress: cannot link %s to cgroup %" PRIu64 ": %m",
                                            bpf_program__name(progs[i]), cgroup_id);
                        goto fail;
                }
        }

        /* Last: until the task entry exists the linked programs deny all. */
        r = bpf_map_update_elem(tasks_fd, &cgroup_id, &info, BPF_NOEXIST);
        if (r < 0) {
                log_error_errno(r, "bpf-egress: cannot add cgroup %" PRIu64 ": %m", cgroup_id);
                goto fail;
        }
        *ret = t;
        return 0;

fail:
        task_free(e, t);
        return r;
}

int egress_task_allow(Egress *e, EgressTask *t, const NetRule *rule, uint32_t rule_id, uint64_t expires_boot_ns) {
        TrieRule n, *grown, *same = NULL;
        uint64_t old_expiry = 0;
        int r;

        r = trie_rule_from(rule, rule_id, expires_boot_ns, &n);
        if (r < 0)
                return log_error_errno(r, "bpf-egress: dynamic rule %" PRIu32 " is not a valid CIDR rule", rule_id);

        for (size_t i = 1; i < t->n_rules && !same; i++) {
                TrieRule *x = &t->rules[i];
                if (x->prefix == n.prefix && memcmp(x->addr, n.addr, 16) == 0 && x->port_lo == n.port_lo &&
                    x->port_hi == n.port_hi && x->protos == n.protos && x->rule_id == n.rule_id)
                        same = x;
        }
        if (same) {
                if (same->expires_ns == 0)
                        return 0; /* permanent already */
                old_expiry = same->expires_ns;
                same->expires_ns = expires_boot_ns;
        } else {
                if (t->n_rules >= EGRESS_TASK_MAX_RULES)
                        return log_error_errno(-E2BIG, "bpf-egress: cgroup %" PRIu64 " holds %d rules already",
                                               t->cgroup_id, EGRESS_TASK_MAX_RULES);
                grown = reallocarray(t->rules, t->n_rules + 1, sizeof *t->rules);
                if (!grown)
                        return -ENOMEM;
                t->rules = grown;
                t->rules[t->n_rules++] = n;
        }

        r = write_keys(e, t, n.addr, n.prefix);
        if (r == -E2BIG) {
                /* Folding failed before any write: undo and refuse. */
                if (same)
                        same->expires_ns = old_expiry;
                else
                        t->n_rules--;
                return log_error_errno(r, "bpf-egress: more than %d port ranges would apply to rule %" PRIu32,
                                       EGRESS_MAX_RANGES, rule_id);
        }
        return r;
}

int egress_task_counters(Egress *e, const EgressTask *t, EgressCounters *ret) {
        struct egress_task info;
        int r;

        r = bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.egress_tasks), &t->cgroup_id, &info);
        if (r < 0)
                return r;
        *ret = (EgressCounters) { .allowed = info.allowed, .denied = info.denied, .lost = info.lost };
        return 0;
}

EgressTask *egress_task_remove(Egress *e, EgressTask *t) {
        if (t)
                task_free(e, t);
        return NULL;
}

int cgroup_fd_id(int fd, uint64_t *ret) {
        union {
                struct file_handle fh;
                char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
        } h = { .fh.handle_bytes = sizeof(uint64_t) };
        int mnt_id;

        /* cgroupfs hands out the kernfs node id, the id BPF sees, as handle. */
        if (name_to_handle_at(fd, "", &h.fh, &mnt_id, AT_EMPTY_PATH) < 0)
                return -errno;
        if (h.fh.handle_bytes != sizeof(uint64_t))
                return -EOPNOTSUPP;
        memcpy(ret, h.fh.f_handle, sizeof(uint64_t));
        return 0;
}

const char *egress_verdict_to_string(unsigned verdict) {
        switch (verdict) {
        case EGRESS_VERDICT_ALLOW:
                return "allow";
        case EGRESS_VERDICT_DENY:
                return "deny";
        case EGRESS_VERDICT_AUDIT_DENY:
                return "audit_deny";
        default:
                return NULL;
        }
}

const char *egress_hook_to_string(unsigned hook) {
        static const char *const names[] = {
                [EGRESS_HOOK_CONNECT4] = "connect4", [EGRESS_HOOK_CONNECT6] = "connect6",
                [EGRESS_HOOK_SENDMSG4] = "sendmsg4", [EGRESS_HOOK_SENDMSG6] = "sendmsg6",
                [EGRESS_HOOK_SKB] = "skb",
        };
        return hook < ELEMENTSOF(names) ? names[hook] : NULL;
}
