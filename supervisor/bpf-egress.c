/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loader of the egress wall (bpf/egress.bpf.c): the only file including its
 * skeleton and <bpf/libbpf.h>. The trie returns only the longest matching
 * prefix, so the folding of shorter rules into longer prefixes happens here,
 * from a copy of the task's rules kept in the EgressTask.
 *
 * The pinned cache. Loading verifies the five programs (~9 ms), which every
 * `stockade run` would pay again as its own supervisor. So the first
 * supervisor of a boot pins the programs and the shared maps in bpffs, and
 * later ones open them with bpf_obj_get() instead:
 *
 *   $STOCKADE_BPF_DIR (default /sys/fs/bpf/stockade; empty: no cache), 0700
 *     egress-<16 hex digits>/    0700, one per build of the BPF object: the
 *                                SHA-256 of its ELF bytes (and of
 *                                PIN_LAYOUT, the loader's side of the
 *                                contract), so an older build's programs or
 *                                maps are never reused
 *       connect4 connect6 sendmsg4 sendmsg6 skb skb_in    the programs
 *       tasks rules traffic rings bss              the maps they use
 *
 * The base directory must be on bpffs (statfs), owned by us and writable by
 * nobody else; we create it (never mount bpffs ourselves). Whatever fails on
 * the way -- no bpffs, a broken set, a failed pin -- the programs are loaded
 * privately as before, logged at debug level: the cache never fails a run.
 * flock() on the base directory orders the supervisors: shared to open a
 * complete set, exclusive to load and pin one, so that two starting at once
 * neither both load nor see half a set. A set is complete when all ten
 * objects open and every program uses exactly the pinned maps (ids from the
 * kernel), else it is replaced. The generic parts (directory checks, lock,
 * naming, pinning and checking a set) live in bpf-cache.c, shared with the
 * observation layer's loader.
 *
 * What is shared and what is not. Task entries, rules and traffic rows are
 * keyed by cgroup id and cgroups are never shared between supervisors, so
 * they share the maps as is. Events are not: each supervisor creates its
 * own ring buffer and files it in egress_rings under the cgroup id of each
 * of its tasks, where the programs look it up. The ring entry is the
 * task's ownership record: filed after the links, withdrawn last.
 *
 * Stale entries: a supervisor killed mid-task leaves its entries in the
 * shared maps (its links die with its fds). At its first task each
 * supervisor sweeps the cgroup ids of egress_rings and egress_tasks: an id
 * whose cgroup is gone (open_by_handle_at: ESTALE), or that no longer has
 * our skb program linked, is stale; its entries in every map are deleted.
 * Bounded by the map sizes, and the rules and traffic maps are only walked
 * when something is stale.
 *
 * Security: the directory is root's, 0700, and content-addressed. A root
 * process can tamper with the pinned maps (or replace the programs) -- just
 * as it can with any state of ours, ptrace us, or detach the links. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "bpf-cache.h"
#include "bpf-egress.h"
#include "egress.skel.h"

/* Mixed into the directory's hash: bump when the loader's use of the pinned
 * objects changes without the BPF object changing (names, key meanings). */
#define PIN_LAYOUT "stockade-egress-pins-1"

enum { PROG_CONNECT4, PROG_CONNECT6, PROG_SENDMSG4, PROG_SENDMSG6, PROG_SKB, PROG_SKB_IN, _PROG_MAX };
enum { MAP_TASKS, MAP_RULES, MAP_TRAFFIC, MAP_RINGS, MAP_BSS, _MAP_MAX };

static const struct {
        const char *pin;
        enum bpf_attach_type attach;
} prog_defs[_PROG_MAX] = {
        [PROG_CONNECT4] = { "connect4", BPF_CGROUP_INET4_CONNECT },
        [PROG_CONNECT6] = { "connect6", BPF_CGROUP_INET6_CONNECT },
        [PROG_SENDMSG4] = { "sendmsg4", BPF_CGROUP_UDP4_SENDMSG },
        [PROG_SENDMSG6] = { "sendmsg6", BPF_CGROUP_UDP6_SENDMSG },
        [PROG_SKB] = { "skb", BPF_CGROUP_INET_EGRESS },
        [PROG_SKB_IN] = { "skb_in", BPF_CGROUP_INET_INGRESS },
};

static const char *const map_pins[_MAP_MAX] = {
        [MAP_TASKS] = "tasks", [MAP_RULES] = "rules", [MAP_TRAFFIC] = "traffic",
        [MAP_RINGS] = "rings", [MAP_BSS] = "bss",
};

/* What the cache checks of a pinned set: the skb program uses every map. */
static const BpfCacheProg cache_progs[_PROG_MAX] = {
        [PROG_CONNECT4] = { "connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
        [PROG_CONNECT6] = { "connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
        [PROG_SENDMSG4] = { "sendmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
        [PROG_SENDMSG6] = { "sendmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
        [PROG_SKB] = { "skb", BPF_PROG_TYPE_CGROUP_SKB, .all_maps = true },
        [PROG_SKB_IN] = { "skb_in", BPF_PROG_TYPE_CGROUP_SKB },
};

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
        int links[_PROG_MAX]; /* bpf_link fds, -EBADF when not linked */
        bool ring_filed;      /* our ring is in egress_rings under cgroup_id */
        TrieRule *rules;
        size_t n_rules;
        EgressTask *next; /* in Egress.tasks */
};

struct Egress {
        /* Raw fds in both paths (pinned or freshly loaded): the skeleton
         * lives only for the load. */
        int progs[_PROG_MAX];
        int maps[_MAP_MAX];
        uint32_t skb_prog_id;  /* what the sweep looks for on a cgroup */
        uint32_t traffic_rows; /* max_entries of the traffic map */
        bool cached;           /* the programs came from the pinned cache */
        bool swept;            /* the stale sweep ran (at the first task) */
        uint64_t lost_untracked_base; /* the shared counter at open */
        int ring;              /* our own ring buffer map */
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

static void close_fds(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                fds[i] = safe_close(fds[i]);
}

/* Loads and verifies the object through the skeleton, and keeps only
 * (duplicates of) the fds. */
static int load_programs(int *progs, int *maps) {
        _cleanup_(egress__destroyp) struct egress *skel = NULL;
        int r;

        skel = egress__open();
        if (!skel)
                return log_error_errno(negative_errno(), "bpf-egress: cannot open the programs: %m");
        r = egress__load(skel);
        if (r < 0)
                return log_error_errno(r, "bpf-egress: the kernel refused the programs: %m");

        const struct bpf_program *p[_PROG_MAX] = {
                [PROG_CONNECT4] = skel->progs.egress_connect4, [PROG_CONNECT6] = skel->progs.egress_connect6,
                [PROG_SENDMSG4] = skel->progs.egress_sendmsg4, [PROG_SENDMSG6] = skel->progs.egress_sendmsg6,
                [PROG_SKB] = skel->progs.egress_skb, [PROG_SKB_IN] = skel->progs.egress_skb_in,
        };
        const struct bpf_map *m[_MAP_MAX] = {
                [MAP_TASKS] = skel->maps.egress_tasks, [MAP_RULES] = skel->maps.egress_rules,
                [MAP_TRAFFIC] = skel->maps.egress_traffic, [MAP_RINGS] = skel->maps.egress_rings,
                [MAP_BSS] = skel->maps.bss,
        };
        for (size_t i = 0; i < _PROG_MAX; i++)
                progs[i] = fcntl(bpf_program__fd(p[i]), F_DUPFD_CLOEXEC, 3);
        for (size_t i = 0; i < _MAP_MAX; i++)
                maps[i] = fcntl(bpf_map__fd(m[i]), F_DUPFD_CLOEXEC, 3);
        for (size_t i = 0; i < _PROG_MAX; i++)
                if (progs[i] < 0)
                        goto fail;
        for (size_t i = 0; i < _MAP_MAX; i++)
                if (maps[i] < 0)
                        goto fail;
        return 0;
fail:
        r = negative_errno();
        close_fds(progs, _PROG_MAX);
        close_fds(maps, _MAP_MAX);
        return log_error_errno(r, "bpf-egress: cannot keep the programs: %m");
}

static const void *elf_bytes(size_t *ret_size) {
        return egress__elf_bytes(ret_size);
}

static BpfCacheSet cache_set = {
        .name = "egress",
        .layout = PIN_LAYOUT,
        .elf_bytes = elf_bytes,
        .progs = cache_progs,
        .n_progs = _PROG_MAX,
        .maps = map_pins,
        .n_maps = _MAP_MAX,
        .load = load_programs,
};

int egress_cache_drop(void) {
        return bpf_cache_drop("egress");
}

bool egress_cached(const Egress *e) {
        return e && e->cached;
}

static int read_lost_untracked(Egress *e, uint64_t *ret) {
        struct egress__bss bss;
        uint32_t zero = 0;

        if (bpf_map_lookup_elem(e->maps[MAP_BSS], &zero, &bss) < 0)
                return -errno;
        *ret = bss.lost_untracked;
        return 0;
}

/* A ring buffer map named egress_ring. By hand: bpf_map_create() probes
 * whether the kernel takes names by loading a program first (~0.5 ms, a
 * third of a cached open); every kernel with ring buffers does. */
static int ring_create(void) {
        union bpf_attr attr = {
                .map_type = BPF_MAP_TYPE_RINGBUF,
                .max_entries = EGRESS_RING_BYTES,
                .map_name = "egress_ring",
        };
        int fd = (int) syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof attr);

        return fd < 0 ? -errno : fd;
}

int egress_open(Egress **ret) {
        _cleanup_free_ Egress *e = NULL;
        struct bpf_prog_info pinfo = {};
        struct bpf_map_info minfo = {};
        uint32_t len;
        int r;

        (void) libbpf_set_print(libbpf_log);

        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < _PROG_MAX; i++)
                e->progs[i] = -EBADF;
        for (size_t i = 0; i < _MAP_MAX; i++)
                e->maps[i] = -EBADF;
        e->ring = -EBADF;

        r = bpf_cache_load(&cache_set, e->progs, e->maps);
        if (r == -EAGAIN)
                r = load_programs(e->progs, e->maps);
        if (r < 0)
                goto fail;
        e->cached = r > 0;

        len = sizeof pinfo;
        r = bpf_obj_get_info_by_fd(e->progs[PROG_SKB], &pinfo, &len);
        if (r >= 0) {
                e->skb_prog_id = pinfo.id;
                len = sizeof minfo;
                r = bpf_obj_get_info_by_fd(e->maps[MAP_TRAFFIC], &minfo, &len);
                e->traffic_rows = minfo.max_entries;
        }
        if (r >= 0)
                r = read_lost_untracked(e, &e->lost_untracked_base);
        if (r < 0) {
                log_error_errno(r, "bpf-egress: cannot query the programs: %m");
                goto fail;
        }

        /* Our own ring, of the inner map's definition (the kernel checks). */
        e->ring = ring_create();
        if (e->ring < 0) {
                r = log_error_errno(e->ring, "bpf-egress: cannot create the ring buffer: %m");
                goto fail;
        }
        e->rb = ring_buffer__new(e->ring, on_event, e, NULL);
        if (!e->rb) {
                r = log_error_errno(negative_errno(), "bpf-egress: cannot map the ring buffer: %m");
                goto fail;
        }
        log_debug("bpf-egress: programs %s", e->cached ? "reused from the pinned cache" : "loaded");
        *ret = TAKE_PTR(e);
        return 0;
fail:
        close_fds(e->progs, _PROG_MAX);
        close_fds(e->maps, _MAP_MAX);
        e->ring = safe_close(e->ring);
        return r;
}

static void task_free(Egress *e, EgressTask *t);

Egress *egress_close(Egress *e) {
        if (!e)
                return NULL;
        while (e->tasks)
                task_free(e, e->tasks);
        ring_buffer__free(e->rb);
        e->ring = safe_close(e->ring);
        close_fds(e->progs, _PROG_MAX);
        close_fds(e->maps, _MAP_MAX);
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
        uint64_t now = 0;
        int r;

        r = read_lost_untracked(e, &now);
        if (r < 0)
                return r;
        *ret = now - e->lost_untracked_base;
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

/* The keys of t inside addr/prefix (all keys for prefix 0): folds their
 * values into *ret (one slot per rule, used by the first rule of each
 * prefix), touching no map, so that -E2BIG leaves the kernel untouched.
 * Index 0 of t->rules is the v4 barrier, see egress_task_add(). */
static bool key_in(const EgressTask *t, size_t i, const uint8_t addr[16], unsigned prefix) {
        const TrieRule *k = &t->rules[i];
        return k->prefix >= prefix && in_prefix(k->addr, addr, prefix) && first_of_prefix(t, i);
}

static int fold_keys(const EgressTask *t, const uint8_t addr[16], unsigned prefix, struct egress_value **ret) {
        _cleanup_free_ struct egress_value *vals = NULL;
        int r;

        vals = calloc(t->n_rules, sizeof *vals);
        if (!vals)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_rules; i++) {
                if (!key_in(t, i, addr, prefix))
                        continue;
                r = fold(t, t->rules[i].addr, t->rules[i].prefix, &vals[i]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(vals);
        return 0;
}

static int put_keys(Egress *e, const EgressTask *t, const uint8_t addr[16], unsigned prefix,
                    const struct egress_value *vals) {
        int r;

        for (size_t i = 0; i < t->n_rules; i++) {
                struct egress_key key = key_of(t->cgroup_id, t->rules[i].addr, t->rules[i].prefix);
                if (!key_in(t, i, addr, prefix))
                        continue;
                r = bpf_map_update_elem(e->maps[MAP_RULES], &key, &vals[i], BPF_ANY);
                if (r < 0)
                        return log_error_errno(r, "bpf-egress: cannot write a rule of cgroup %" PRIu64 ": %m",
                                               t->cgroup_id);
        }
        return 0;
}

static int write_keys(Egress *e, const EgressTask *t, const uint8_t addr[16], unsigned prefix) {
        _cleanup_free_ struct egress_value *vals = NULL;
        int r;

        r = fold_keys(t, addr, prefix, &vals);
        if (r < 0)
                return r;
        return put_keys(e, t, addr, prefix, vals);
}

/* The traffic rows of the cgroups ids[0..n_ids): keys and values, *ret_n of each. The batch
 * lookup walks the hash by bucket, so rows added or evicted meanwhile
 * neither restart nor repeat the walk (get_next_key on an evicted key
 * would start over). */
static bool id_in(const uint64_t *ids, size_t n, uint64_t id) {
        for (size_t i = 0; i < n; i++)
                if (ids[i] == id)
                        return true;
        return false;
}

static int traffic_rows(Egress *e, const uint64_t *ids, size_t n_ids, struct egress_traffic_key **ret_keys,
                        struct egress_traffic_value **ret_vals, size_t *ret_n) {
        _cleanup_free_ struct egress_traffic_key *keys = NULL;
        _cleanup_free_ struct egress_traffic_value *vals = NULL;
        int fd = e->maps[MAP_TRAFFIC], r;
        size_t max = e->traffic_rows, n = 0, m = 0;
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
                if (id_in(ids, n_ids, keys[i].cgroup_id)) {
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

        r = traffic_rows(e, &t->cgroup_id, 1, &keys, &vals, &n);
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
                                       .received = keys[i].dir == EGRESS_DIR_RECEIVED,
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

/* Whether the cgroup of id is stale: gone (the kernel finds no such id),
 * or without our skb program linked (its supervisor died: its link fds
 * went with it). Any other failure: not known to be stale. mount_fd is
 * any fd on the cgroup2 mount; handle_type what cgroupfs hands out. */
static bool cgroup_stale(const Egress *e, int mount_fd, uint64_t id) {
        _cleanup_close_ int fd = -EBADF;
        uint32_t ids[64], cnt = ELEMENTSOF(ids);

        fd = cgroup_open_by_id(mount_fd, id);
        if (fd < 0)
                return fd == -ESTALE || fd == -ENOENT;
        if (bpf_prog_query(fd, BPF_CGROUP_INET_EGRESS, 0, NULL, ids, &cnt) < 0)
                return false; /* E2BIG: many programs, ours may be among them */
        for (uint32_t i = 0; i < cnt; i++)
                if (ids[i] == e->skb_prog_id)
                        return false;
        return true;
}

/* Deletes the entries of cgroups whose supervisor is gone, from the shared
 * maps (nothing to do when they are private). Candidates are the keys of
 * egress_rings (filed after the links, withdrawn last: a task owns entries
 * only while its ring is filed) and of egress_tasks; the rules and traffic
 * maps are walked only when one is stale. Bounded by the map sizes. */
static void sweep_stale(Egress *e, int cgroup_fd) {
        enum { MAX_IDS = 4096 }; /* max_entries of egress_tasks and egress_rings */
        _cleanup_free_ uint64_t *ids = NULL;
        _cleanup_free_ struct egress_key *rkeys = NULL;
        _cleanup_free_ struct egress_traffic_key *tkeys = NULL;
        _cleanup_free_ struct egress_traffic_value *tvals = NULL;
        size_t n, n_stale = 0, n_rkeys = 0, n_tkeys = 0, rcap = 0;

        if (!e->cached)
                return;
        ids = calloc(2 * MAX_IDS, sizeof *ids);
        if (!ids)
                return;
        n = bpf_cache_map_keys(e->maps[MAP_RINGS], ids, sizeof *ids, MAX_IDS);
        n += bpf_cache_map_keys(e->maps[MAP_TASKS], ids + n, sizeof *ids, MAX_IDS);
        /* Stale ones to the front, each once. */
        for (size_t i = 0; i < n; i++)
                if (!id_in(ids, n_stale, ids[i]) && cgroup_stale(e, cgroup_fd, ids[i]))
                        ids[n_stale++] = ids[i];
        if (n_stale == 0)
                return;

        for (size_t i = 0; i < n_stale; i++) {
                (void) bpf_map_delete_elem(e->maps[MAP_TASKS], &ids[i]);
                log_debug("bpf-egress: sweeping the entries of cgroup %" PRIu64 ", whose supervisor is gone", ids[i]);
        }
        /* The trie: keys first, then deletes (get_next_key after a deleted
         * key would start over). */
        for (;;) {
                struct egress_key *grown;

                if (n_rkeys == rcap) {
                        if (rcap >= 65536) /* max_entries of egress_rules */
                                break;
                        rcap = rcap ? rcap * 2 : 256;
                        grown = reallocarray(rkeys, rcap, sizeof *rkeys);
                        if (!grown)
                                break;
                        rkeys = grown;
                }
                if (bpf_map_get_next_key(e->maps[MAP_RULES], n_rkeys ? &rkeys[n_rkeys - 1] : NULL,
                                         &rkeys[n_rkeys]) < 0)
                        break;
                n_rkeys++;
        }
        for (size_t i = 0; i < n_rkeys; i++)
                if (id_in(ids, n_stale, rkeys[i].cgroup_id))
                        (void) bpf_map_delete_elem(e->maps[MAP_RULES], &rkeys[i]);
        if (traffic_rows(e, ids, n_stale, &tkeys, &tvals, &n_tkeys) >= 0)
                for (size_t i = 0; i < n_tkeys; i++)
                        (void) bpf_map_delete_elem(e->maps[MAP_TRAFFIC], &tkeys[i]);
        /* Last, as a task's own removal does. */
        for (size_t i = 0; i < n_stale; i++)
                (void) bpf_map_delete_elem(e->maps[MAP_RINGS], &ids[i]);
}

static void task_free(Egress *e, EgressTask *t) {
        _cleanup_free_ struct egress_traffic_key *keys = NULL;
        _cleanup_free_ struct egress_traffic_value *vals = NULL;
        size_t n;

        /* Task entry first: from here the programs deny (fail closed) while
         * the links and rules go. */
        (void) bpf_map_delete_elem(e->maps[MAP_TASKS], &t->cgroup_id);
        close_fds(t->links, _PROG_MAX);
        for (size_t i = 0; i < t->n_rules; i++) {
                struct egress_key key = key_of(t->cgroup_id, t->rules[i].addr, t->rules[i].prefix);
                (void) bpf_map_delete_elem(e->maps[MAP_RULES], &key); /* ENOENT for shared prefixes */
        }
        /* With the entry and links gone nothing adds rows any more. */
        if (traffic_rows(e, &t->cgroup_id, 1, &keys, &vals, &n) >= 0)
                for (size_t i = 0; i < n; i++) /* ENOENT when the LRU evicted it meanwhile */
                        (void) bpf_map_delete_elem(e->maps[MAP_TRAFFIC], &keys[i]);
        /* Last: the ring marks the cgroup's entries as ours (see sweep_stale). */
        if (t->ring_filed)
                (void) bpf_map_delete_elem(e->maps[MAP_RINGS], &t->cgroup_id);
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
        struct egress_task info;
        _cleanup_free_ struct egress_value *vals = NULL;
        EgressTask *t;
        int r;

        if (n_rules >= EGRESS_TASK_MAX_RULES)
                return log_error_errno(-E2BIG, "bpf-egress: %zu rules, at most %d per task", n_rules,
                                       EGRESS_TASK_MAX_RULES - 1);
        if (!e->swept) {
                e->swept = true;
                sweep_stale(e, cgroup_fd);
        }
        if (bpf_map_lookup_elem(e->maps[MAP_TASKS], &cgroup_id, &info) == 0)
                return log_error_errno(-EEXIST, "bpf-egress: cgroup %" PRIu64 " already has a task", cgroup_id);
        info = (struct egress_task) { .flags = EGRESS_TASK_TRACKED | (audit ? EGRESS_TASK_AUDIT : 0) };

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->cgroup_id = cgroup_id;
        for (size_t i = 0; i < _PROG_MAX; i++)
                t->links[i] = -EBADF;
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

        /* Folded before anything reaches the kernel: -E2BIG leaves nothing. */
        r = fold_keys(t, (const uint8_t[16]) {}, 0, &vals);
        if (r == -E2BIG)
                log_error_errno(r, "bpf-egress: more than %d port ranges apply to one prefix, refusing the rules",
                                EGRESS_MAX_RANGES);
        if (r < 0)
                goto fail;

        /* Links, then the ring, then the rules, then the task entry: the
         * sweep of other supervisors takes an id with a ring but without our
         * link for a dead task's, and until the task entry exists the linked
         * programs deny all. */
        for (size_t i = 0; i < _PROG_MAX; i++) {
                t->links[i] = bpf_link_create(e->progs[i], cgroup_fd, prog_defs[i].attach, NULL);
                if (t->links[i] < 0) {
                        r = log_error_errno(t->links[i], "bpf-egress: cannot link %s to cgroup %" PRIu64 ": %m",
                                            prog_defs[i].pin, cgroup_id);
                        t->links[i] = -EBADF;
                        goto fail;
                }
        }
        r = bpf_map_update_elem(e->maps[MAP_RINGS], &cgroup_id, &e->ring, BPF_NOEXIST);
        if (r < 0) {
                log_error_errno(r, "bpf-egress: cannot file the ring of cgroup %" PRIu64 ": %m", cgroup_id);
                goto fail;
        }
        t->ring_filed = true;
        r = put_keys(e, t, (const uint8_t[16]) {}, 0, vals);
        if (r < 0)
                goto fail;

        /* Last: until the task entry exists the linked programs deny all. */
        r = bpf_map_update_elem(e->maps[MAP_TASKS], &cgroup_id, &info, BPF_NOEXIST);
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

        r = bpf_map_lookup_elem(e->maps[MAP_TASKS], &t->cgroup_id, &info);
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

int cgroup_open_by_id(int mount_fd, uint64_t id) {
        union {
                struct file_handle fh;
                char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
        } h = { .fh.handle_bytes = sizeof(uint64_t) };
        int mnt_id, fd;

        /* The handle type cgroupfs uses, from the directory we have. */
        if (name_to_handle_at(mount_fd, "", &h.fh, &mnt_id, AT_EMPTY_PATH) < 0)
                return -errno;
        h.fh.handle_bytes = sizeof(uint64_t);
        memcpy(h.fh.f_handle, &id, sizeof id);
        fd = open_by_handle_at(mount_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
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
