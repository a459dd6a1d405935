/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loader of the observation layer (bpf/shape.bpf.c): the only file
 * including its skeleton. It compiles watch patterns into the word masks
 * the program compares under, decodes ring records into ShapeEvent, and
 * keeps the programs linked exactly while tasks are added.
 *
 * The pinned cache. Loading costs 60-70 ms, mostly libbpf parsing the
 * kernel's BTF (5.5 MB) for the CO-RE relocations and the tp_btf targets,
 * which every supervisor would pay again. So, as the egress wall does
 * (bpf-egress.c has the long form; bpf-cache.c the shared machinery), the
 * first supervisor of a boot pins the programs and the shared maps in
 * $STOCKADE_BPF_DIR/shape-<hash>/ and later ones open them with
 * bpf_obj_get() -- no BTF parse: a tp_btf program's target is fixed at
 * load, so linking a pinned one is a bare BPF_LINK_CREATE:
 *
 *       sys_exit fork exec exit                the programs
 *       tasks rings scratch rodata             the maps they use
 *
 * What is shared and what is not. The task map (configuration and every
 * counter, keyed by cgroup id) is shared: cgroups are never shared between
 * supervisors. Links are per supervisor (made at its first task, closed at
 * its last), and the kernel runs a program once per link: with two
 * supervisors linked, every syscall would be counted twice. So each
 * supervisor has an owner id, stored in its tasks' entries and passed as
 * the cookie of its links; the programs count only in the run whose cookie
 * is the task's owner. The owner id is the kernel id of a tiny map only the
 * supervisor holds ("shape_owner"): unique while it lives, and gone with
 * it. Events: each supervisor has its own ring, filed in shape_rings under
 * each of its tasks' cgroup ids.
 *
 * Cookies of tp_btf links came with Linux 6.10. Without them the programs
 * are loaded privately with the owner check off (shape_by_owner = 0), as
 * before the cache: private maps hold only the supervisor's own tasks.
 *
 * Stale entries: a supervisor killed with tasks leaves their entries (its
 * links and owner map die with its fds). At its first task each supervisor
 * using the pinned maps sweeps the task entries whose owner map is gone,
 * and their rings. A task's entry is its ownership record: written first,
 * deleted last. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "bpf-cache.h"
#include "bpf-egress.h" /* cgroup_open_by_id() */
#include "bpf-shape.h"
#include "shape.skel.h"

#define DEFAULT_RING_BYTES (1024 * 1024)
#define DEFAULT_MAX_TASKS 256
/* Mixed into the directory's hash: bump when the loader's use of the pinned
 * objects changes without the BPF object changing (names, key meanings). */
#define PIN_LAYOUT "stockade-shape-pins-1"
#define OWNER_MAP_NAME "shape_owner"

/* x86_64 numbers of the open family (what ShapeCounts.opens sums). */
static const int open_nrs[] = { 2 /* open */, 85 /* creat */, 257 /* openat */, 437 /* openat2 */ };

enum { PROG_SYS_EXIT, PROG_FORK, PROG_EXEC, PROG_EXIT, _PROG_MAX };
enum { MAP_TASKS, MAP_RINGS, MAP_SCRATCH, MAP_RODATA, _MAP_MAX };

static const BpfCacheProg cache_progs[_PROG_MAX] = {
        [PROG_SYS_EXIT] = { "sys_exit", BPF_PROG_TYPE_TRACING, .all_maps = true },
        [PROG_FORK] = { "fork", BPF_PROG_TYPE_TRACING },
        [PROG_EXEC] = { "exec", BPF_PROG_TYPE_TRACING },
        [PROG_EXIT] = { "exit", BPF_PROG_TYPE_TRACING },
};

static const char *const map_pins[_MAP_MAX] = {
        [MAP_TASKS] = "tasks", [MAP_RINGS] = "rings", [MAP_SCRATCH] = "scratch", [MAP_RODATA] = "rodata",
};

struct ShapeTask {
        struct shape_task *v; /* the entry to add, until shape_task_start() */
        uint64_t cgroup_id;
        bool started;
        ShapeTask *next; /* in Shape.tasks, once started */
};

struct Shape {
        /* Raw fds in both paths (pinned or freshly loaded): the skeleton
         * lives only for the load. */
        int progs[_PROG_MAX];
        int maps[_MAP_MAX];
        bool cached;   /* the programs came from the pinned cache */
        bool by_owner; /* the programs check the links' cookies */
        bool swept;    /* the stale sweep ran (at the first task) */
        int owner_fd;  /* the owner map: its id is our owner id */
        uint64_t owner;
        int ring; /* our own ring buffer map */
        size_t ring_bytes;
        struct ring_buffer *rb;
        int links[_PROG_MAX]; /* all set while n_tasks > 0 or held, else all -EBADF */
        bool held;            /* shape_hold_links(): linked until shape_close() */
        ShapeTask *tasks;
        unsigned n_tasks, max_tasks;
        ShapeEventFn cb; /* set for the duration of shape_consume() */
        void *userdata;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct shape *, shape__destroy);

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap) {
        char buf[1024];
        size_t l;

        (void) vsnprintf(buf, sizeof buf, fmt, ap);
        l = strlen(buf);
        while (l > 0 && buf[l - 1] == '\n')
                buf[--l] = 0;
        /* libbpf warns only when something failed; the rest is chatter. */
        (void) log_internal(level == LIBBPF_WARN ? LOG_LEVEL_WARNING : LOG_LEVEL_DEBUG, 0, "bpf-shape: %s", buf);
        return 0;
}

/* libbpf has one print callback per process and bpf-egress.c sets its own:
 * ours is installed only around our calls, so each module's messages carry
 * its own prefix. */
static libbpf_print_fn_t log_push(void) {
        return libbpf_set_print(libbpf_log);
}

static void log_pop(libbpf_print_fn_t *prev) {
        (void) libbpf_set_print(*prev);
}

#define LIBBPF_LOG_SCOPE _cleanup_(log_pop) _unused_ libbpf_print_fn_t _prev_print_ = log_push()

/* ---- events ------------------------------------------------------------ */

/* A string the kernel copied with a *_str helper: len is its result (NUL
 * included). A result of the full buffer may be an exact fit as well as a
 * cut; it is reported as truncated. */
static bool copy_kstr(char *dst, size_t dst_size, const char *src, int32_t len, size_t src_size) {
        size_t n = len > 0 ? (size_t) len : 0;

        if (n > src_size)
                n = src_size;
        if (n > dst_size)
                n = dst_size;
        memcpy(dst, src, n);
        if (n == 0)
                dst[0] = 0;
        else
                dst[n - 1] = 0;
        return (size_t) len >= src_size;
}

static void decode_argv(const struct shape_exec_event *r, ShapeEvent *ev) {
        size_t len = r->args_len < SHAPE_ARGS_MAX ? r->args_len : SHAPE_ARGS_MAX, off = 0;
        bool cut = r->args_len < r->args_total; /* the block did not fit */

        ev->exec.argc = r->argc;
        for (size_t i = 0; i < SHAPE_ARGV_MAX && i < r->argc && off < len; i++) {
                const char *a = r->args + off, *nul = memchr(a, 0, len - off);
                size_t l = nul ? (size_t) (nul - a) : len - off;
                size_t keep = l < SHAPE_ARG_LEN - 1 ? l : SHAPE_ARG_LEN - 1;

                memcpy(ev->exec.argv[i], a, keep);
                ev->exec.argv[i][keep] = 0;
                ev->exec.argv_truncated[i] = keep < l || (!nul && cut);
                ev->exec.n_argv = i + 1;
                off += l + 1;
        }
}

static int on_event(void *ctx, void *data, size_t size) {
        const struct shape_event_hdr *h = data;
        Shape *s = ctx;
        ShapeEvent ev = {};

        if (size < sizeof *h || !s->cb)
                return 0;
        ev.kind = (ShapeEventKind) h->kind;
        ev.cgroup_id = h->cgroup_id;
        ev.time_ns = h->time_ns;
        ev.pid = h->pid;
        ev.ns_pid = h->ns_pid;
        memcpy(ev.comm, h->comm, sizeof ev.comm);
        ev.comm[sizeof ev.comm - 1] = 0;

        switch (h->kind) {
        case SHAPE_KIND_FORK: {
                const struct shape_fork_event *r = data;
                if (size < sizeof *r)
                        return 0;
                ev.fork.child_pid = r->child_pid;
                ev.fork.child_ns_pid = r->child_ns_pid;
                break;
        }
        case SHAPE_KIND_EXEC: {
                const struct shape_exec_event *r = data;
                if (size < sizeof *r)
                        return 0;
                ev.exec.filename_truncated = copy_kstr(ev.exec.filename, sizeof ev.exec.filename, r->filename,
                                                       r->filename_len, sizeof r->filename);
                decode_argv(r, &ev);
                break;
        }
        case SHAPE_KIND_EXIT: {
                const struct shape_exit_event *r = data;
                if (size < sizeof *r)
                        return 0;
                ev.exit.status = (int) r->exit_code;
                break;
        }
        case SHAPE_KIND_OPEN: {
                const struct shape_open_event *r = data;
                if (size < sizeof *r)
                        return 0;
                ev.open.path_truncated = copy_kstr(ev.open.path, sizeof ev.open.path, r->path, r->path_len,
                                                   sizeof r->path);
                ev.open.syscall_nr = (int) r->nr;
                ev.open.flags = r->flags;
                break;
        }
        default:
                return 0; /* a newer program's record */
        }
        s->cb(&ev, s->userdata);
        return 0;
}

/* ---- loading ----------------------------------------------------------- */

/* Loads and verifies the object through the skeleton, and keeps only
 * (duplicates of) the fds. by_owner: the programs check the links' cookies. */
static int load_set(int *progs, int *maps, bool by_owner) {
        _cleanup_(shape__destroyp) struct shape *skel = NULL;
        LIBBPF_LOG_SCOPE;
        int r;

        skel = shape__open();
        if (!skel)
                return log_error_errno(negative_errno(), "bpf-shape: cannot open the programs: %m");
        skel->rodata->shape_by_owner = by_owner;
        /* Loaded unlinked (no shape__attach()): linking waits for the first task. */
        r = shape__load(skel);
        if (r < 0)
                return log_internal(by_owner ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERR, r,
                                      "bpf-shape: the kernel refused the programs%s: %m",
                                      by_owner ? " (with the owner check)" : "");

        const struct bpf_program *p[_PROG_MAX] = {
                [PROG_SYS_EXIT] = skel->progs.shape_sys_exit, [PROG_FORK] = skel->progs.shape_fork,
                [PROG_EXEC] = skel->progs.shape_exec,
                [PROG_EXIT] = skel->progs.shape_exit,
        };
        const struct bpf_map *m[_MAP_MAX] = {
                [MAP_TASKS] = skel->maps.shape_tasks, [MAP_RINGS] = skel->maps.shape_rings,
                [MAP_SCRATCH] = skel->maps.shape_scratch, [MAP_RODATA] = skel->maps.rodata,
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
        bpf_cache_close_fds(progs, _PROG_MAX);
        bpf_cache_close_fds(maps, _MAP_MAX);
        return log_error_errno(r, "bpf-shape: cannot keep the programs: %m");
}

static int load_by_owner(int *progs, int *maps) {
        return load_set(progs, maps, true);
}

/* A pinned set is only ever made with the owner check on; make sure. */
static int check_by_owner(_unused_ const int *progs, const int *maps) {
        struct shape__rodata ro = {};
        struct bpf_map_info info = {};
        uint32_t len = sizeof info, zero = 0;

        if (bpf_obj_get_info_by_fd(maps[MAP_RODATA], &info, &len) < 0 || info.value_size != sizeof ro ||
            bpf_map_lookup_elem(maps[MAP_RODATA], &zero, &ro) < 0 || ro.shape_by_owner != 1)
                return -ESTALE;
        return 0;
}

static const void *elf_bytes(size_t *ret_size) {
        return shape__elf_bytes(ret_size);
}

static BpfCacheSet cache_set = {
        .name = "shape",
        .layout = PIN_LAYOUT,
        .elf_bytes = elf_bytes,
        .progs = cache_progs,
        .n_progs = _PROG_MAX,
        .maps = map_pins,
        .n_maps = _MAP_MAX,
        .load = load_by_owner,
        .check = check_by_owner,
};

/* Cookies of tp_btf (raw tracepoint) links: Linux 6.10. A kernel that
 * claims them but refuses the programs anyway gets a second, private load. */
static bool kernel_has_raw_tp_cookies(void) {
        struct utsname u;
        unsigned major = 0, minor = 0;

        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
                return false;
        return major > 6 || (major == 6 && minor >= 10);
}

/* A map of a given type by hand: bpf_map_create() probes whether the
 * kernel takes names by loading a program first (~0.5 ms); every kernel
 * with ring buffers does. */
static int map_create(enum bpf_map_type type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                      const char *name) {
        union bpf_attr attr = {
                .map_type = type,
                .key_size = key_size,
                .value_size = value_size,
                .max_entries = max_entries,
        };
        int fd;

        (void) snprintf(attr.map_name, sizeof attr.map_name, "%s", name);
        fd = (int) syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
        return fd < 0 ? -errno : fd;
}

static int map_id(int fd, uint64_t *ret) {
        struct bpf_map_info info = {};
        uint32_t len = sizeof info;

        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                return -errno;
        *ret = info.id;
        return 0;
}

/* Our own ring, of any size: the kernel checks the inner map's type,
 * key/value sizes and flags only. */
static int ring_new(Shape *s) {
        _cleanup_close_ int fd = -EBADF;
        struct ring_buffer *rb;

        fd = map_create(BPF_MAP_TYPE_RINGBUF, 0, 0, (uint32_t) s->ring_bytes, "shape_ring");
        if (fd < 0)
                return log_error_errno(fd, "bpf-shape: cannot create the ring buffer: %m");
        rb = ring_buffer__new(fd, on_event, s, NULL);
        if (!rb)
                return log_error_errno(negative_errno(), "bpf-shape: cannot map the ring buffer: %m");
        s->rb = rb;
        s->ring = TAKE_FD(fd);
        return 0;
}

/* ---- open/close -------------------------------------------------------- */

int shape_open(const ShapeOptions *o, Shape **ret) {
        _cleanup_free_ Shape *s = NULL;
        size_t ring = o && o->ring_bytes ? o->ring_bytes : DEFAULT_RING_BYTES;
        uint32_t max_tasks = o && o->max_tasks ? o->max_tasks : DEFAULT_MAX_TASKS;
        long page = sysconf(_SC_PAGESIZE);
        int r;

        if (ring < (size_t) page || (ring & (ring - 1)) != 0 || ring > UINT32_MAX)
                return log_error_errno(-EINVAL, "bpf-shape: ring buffer of %zu bytes is not a power of 2 >= %ld",
                                       ring, page);
        if (max_tasks > SHAPE_TASKS_MAX)
                max_tasks = SHAPE_TASKS_MAX;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->max_tasks = max_tasks;
        for (size_t i = 0; i < _PROG_MAX; i++)
                s->progs[i] = s->links[i] = -EBADF;
        for (size_t i = 0; i < _MAP_MAX; i++)
                s->maps[i] = -EBADF;
        s->owner_fd = s->ring = -EBADF;

        r = -EOPNOTSUPP;
        if (kernel_has_raw_tp_cookies()) {
                r = bpf_cache_load(&cache_set, s->progs, s->maps);
                if (r == -EAGAIN)
                        r = load_set(s->progs, s->maps, true);
                s->cached = r > 0;
                s->by_owner = r >= 0;
        }
        if (r < 0) {
                log_debug("bpf-shape: no cookies on tp_btf links, loading the programs privately");
                r = load_set(s->progs, s->maps, false);
        }
        if (r < 0)
                goto fail;

        /* The owner id: a map only we hold. */
        s->owner_fd = map_create(BPF_MAP_TYPE_ARRAY, sizeof(uint32_t), sizeof(uint32_t), 1, OWNER_MAP_NAME);
        r = s->owner_fd < 0 ? s->owner_fd : map_id(s->owner_fd, &s->owner);
        if (r < 0) {
                log_error_errno(r, "bpf-shape: cannot create the owner map: %m");
                goto fail;
        }
        s->ring_bytes = ring;
        r = ring_new(s);
        if (r < 0)
                goto fail;
        log_debug("bpf-shape: programs %s", s->cached ? "reused from the pinned cache" : "loaded");
        *ret = TAKE_PTR(s);
        return 0;
fail:
        bpf_cache_close_fds(s->progs, _PROG_MAX);
        bpf_cache_close_fds(s->maps, _MAP_MAX);
        s->owner_fd = safe_close(s->owner_fd);
        s->ring = safe_close(s->ring);
        return r;
}

bool shape_cached(const Shape *s) {
        return s && s->cached;
}

int shape_cache_drop(void) {
        return bpf_cache_drop("shape");
}

static void unlink_all(Shape *s) {
        bpf_cache_close_fds(s->links, _PROG_MAX);
}

static int link_one(Shape *s, unsigned i) {
        union bpf_attr attr = {};
        int fd;

        if (!s->by_owner)
                return bpf_raw_tracepoint_open(NULL, s->progs[i]); /* the target is fixed at load */
        /* libbpf 1.1 takes no cookie for raw tracepoints: by hand. */
        attr.link_create.prog_fd = (uint32_t) s->progs[i];
        attr.link_create.attach_type = BPF_TRACE_RAW_TP;
        attr.link_create.tracing.cookie = s->owner;
        fd = (int) syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof attr);
        return fd < 0 ? -errno : fd;
}

static int link_all(Shape *s) {
        for (unsigned i = 0; i < _PROG_MAX; i++) {
                s->links[i] = link_one(s, i);
                if (s->links[i] < 0) {
                        int r = s->links[i];
                        s->links[i] = -EBADF;
                        unlink_all(s);
                        return log_error_errno(r, "bpf-shape: cannot link %s: %m", cache_progs[i].pin);
                }
        }
        return 0;
}

static void task_free(Shape *s, ShapeTask *t) {
        if (t->started) {
                /* Links first (when last), then the ring, the entry last: it
                 * is the task's ownership record (see sweep_stale). */
                if (--s->n_tasks == 0 && !s->held)
                        unlink_all(s);
                (void) bpf_map_delete_elem(s->maps[MAP_RINGS], &t->cgroup_id);
                (void) bpf_map_delete_elem(s->maps[MAP_TASKS], &t->cgroup_id);
                for (ShapeTask **p = &s->tasks; *p; p = &(*p)->next)
                        if (*p == t) {
                                *p = t->next;
                                break;
                        }
        }
        free(t->v);
        free(t);
}

Shape *shape_close(Shape *s) {
        if (!s)
                return NULL;
        while (s->tasks)
                task_free(s, s->tasks);
        unlink_all(s);
        ring_buffer__free(s->rb);
        s->ring = safe_close(s->ring);
        s->owner_fd = safe_close(s->owner_fd);
        bpf_cache_close_fds(s->progs, _PROG_MAX);
        bpf_cache_close_fds(s->maps, _MAP_MAX);
        free(s);
        return NULL;
}

int shape_ring_fd(Shape *s) {
        return ring_buffer__epoll_fd(s->rb);
}

int shape_consume(Shape *s, ShapeEventFn cb, void *userdata) {
        int r;

        s->cb = cb;
        s->userdata = userdata;
        r = ring_buffer__consume(s->rb);
        s->cb = NULL;
        s->userdata = NULL;
        return r;
}

/* ---- tasks ------------------------------------------------------------- */

/* Whether the supervisor of owner id is gone: its owner map is (map ids
 * are handed out cyclically, so another map taking the id is checked
 * for too). Any other failure: not known to be gone. */
static bool owner_gone(uint64_t owner) {
        _cleanup_close_ int fd = -EBADF;
        struct bpf_map_info info = {};
        uint32_t len = sizeof info;

        if (owner == 0 || owner > UINT32_MAX)
                return true;
        fd = bpf_map_get_fd_by_id((uint32_t) owner);
        if (fd < 0)
                return errno == ENOENT;
        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                return false;
        return !streq(info.name, OWNER_MAP_NAME);
}

/* Deletes the entries of tasks whose supervisor is gone, from the shared
 * maps (nothing to do when they are private): their rings, then the task
 * entries. Bounded by the map size. */
static void sweep_stale(Shape *s) {
        _cleanup_free_ uint64_t *ids = NULL;
        _cleanup_free_ struct shape_task *v = NULL;
        size_t n = 0;

        if (!s->cached)
                return;
        ids = calloc(SHAPE_TASKS_MAX, sizeof *ids);
        v = malloc(sizeof *v);
        if (!ids || !v)
                return;
        n = bpf_cache_map_keys(s->maps[MAP_TASKS], ids, sizeof *ids, SHAPE_TASKS_MAX);
        for (size_t i = 0; i < n; i++) {
                if (bpf_map_lookup_elem(s->maps[MAP_TASKS], &ids[i], v) < 0 || v->owner == s->owner ||
                    !owner_gone(v->owner))
                        continue;
                log_debug("bpf-shape: sweeping the entries of cgroup %" PRIu64 ", whose supervisor is gone",
                          ids[i]);
                (void) bpf_map_delete_elem(s->maps[MAP_RINGS], &ids[i]);
                (void) bpf_map_delete_elem(s->maps[MAP_TASKS], &ids[i]);
        }
}

/* "PREFIX" or "PREFIX*SUFFIX" into the masks the program compares under.
 * Bytes land in the u64 words in memory order, as the program loads the
 * path, so the layout holds on either endianness. */
static int watch_compile(const char *pattern, struct shape_watch *ret) {
        const char *star = strchr(pattern, '*');
        size_t plen = star ? (size_t) (star - pattern) : strlen(pattern);
        const char *suffix = star ? star + 1 : "";
        size_t slen = strlen(suffix);
        uint8_t *b;

        if (strchr(suffix, '*') || plen + slen == 0)
                return -EINVAL;
        if (plen > SHAPE_WATCH_PREFIX_MAX || slen > SHAPE_WATCH_SUFFIX_MAX)
                return -E2BIG;

        *ret = (struct shape_watch) { .suffix_len = (uint32_t) slen };
        memcpy(ret->prefix, pattern, plen);
        memset(ret->prefix_mask, 0xff, plen);
        b = (uint8_t *) ret->suffix + SHAPE_WATCH_SUFFIX_MAX - slen;
        memcpy(b, suffix, slen);
        memset((uint8_t *) ret->suffix_mask + SHAPE_WATCH_SUFFIX_MAX - slen, 0xff, slen);
        return 0;
}

int shape_task_new(Shape *s, const ShapeTaskOptions *o, ShapeTask **ret) {
        _cleanup_free_ struct shape_task *v = NULL;
        _cleanup_free_ ShapeTask *t = NULL;
        size_t n_watch = o ? o->n_watch : 0;
        int r;

        if (n_watch > SHAPE_MAX_WATCH)
                return log_error_errno(-E2BIG, "bpf-shape: %zu watch patterns, at most %d", n_watch,
                                       SHAPE_MAX_WATCH);

        /* Zeroed: every counter starts at 0. */
        v = calloc(1, sizeof *v);
        t = calloc(1, sizeof *t);
        if (!v || !t)
                return -ENOMEM;
        v->owner = s->owner;
        v->event_budget = o && o->event_budget ? o->event_budget : SHAPE_EVENT_BUDGET_DEFAULT;
        v->n_watch = (uint32_t) n_watch;
        for (size_t i = 0; i < n_watch; i++) {
                r = watch_compile(o->watch[i], &v->watch[i]);
                if (r < 0)
                        return log_error_errno(r, "bpf-shape: bad watch pattern '%s' (PREFIX[*SUFFIX], %d/%d bytes)",
                                               o->watch[i], SHAPE_WATCH_PREFIX_MAX, SHAPE_WATCH_SUFFIX_MAX);
        }
        if (!s->swept) {
                s->swept = true;
                sweep_stale(s);
        }
        t->v = TAKE_PTR(v);
        *ret = TAKE_PTR(t);
        return 0;
}

int shape_task_start(Shape *s, ShapeTask *t, uint64_t cgroup_id) {
        int r;

        if (t->started)
                return -EALREADY;
        if (s->n_tasks >= s->max_tasks)
                return log_error_errno(-ENOSPC, "bpf-shape: %u tasks observed already", s->n_tasks);

        /* Entry (the ownership record) first, ring second, links last: the
         * task's first events are neither lost to a lookup that misses nor
         * filed nowhere. */
        r = bpf_map_update_elem(s->maps[MAP_TASKS], &cgroup_id, t->v, BPF_NOEXIST);
        if (r == -EEXIST)
                return log_error_errno(r, "bpf-shape: cgroup %" PRIu64 " already has a task", cgroup_id);
        if (r < 0)
                return log_error_errno(r, "bpf-shape: cannot add cgroup %" PRIu64 ": %m", cgroup_id);
        r = bpf_map_update_elem(s->maps[MAP_RINGS], &cgroup_id, &s->ring, BPF_ANY);
        if (r < 0) {
                log_error_errno(r, "bpf-shape: cannot file the ring of cgroup %" PRIu64 ": %m", cgroup_id);
                goto fail;
        }
        if (s->n_tasks == 0 && !s->held) {
                r = link_all(s);
                if (r < 0)
                        goto fail;
        }
        s->n_tasks++;
        free(t->v);
        t->v = NULL;
        t->cgroup_id = cgroup_id;
        t->started = true;
        t->next = s->tasks;
        s->tasks = t;
        return 0;
fail:
        (void) bpf_map_delete_elem(s->maps[MAP_RINGS], &cgroup_id);
        (void) bpf_map_delete_elem(s->maps[MAP_TASKS], &cgroup_id);
        return r;
}

int shape_task_add(Shape *s, uint64_t cgroup_id, const ShapeTaskOptions *o, ShapeTask **ret) {
        ShapeTask *t = NULL;
        int r;

        r = shape_task_new(s, o, &t);
        if (r < 0)
                return r;
        r = shape_task_start(s, t, cgroup_id);
        if (r < 0) {
                task_free(s, t);
                return r;
        }
        *ret = t;
        return 0;
}

int shape_hold_links(Shape *s) {
        int r;

        /* Once here, not in every forked child's first task. */
        if (!s->swept) {
                s->swept = true;
                sweep_stale(s);
        }
        if (!s->held && s->n_tasks == 0) {
                r = link_all(s);
                if (r < 0)
                        return r;
        }
        s->held = true;
        return 0;
}

int shape_own_ring(Shape *s) {
        struct ring_buffer *old_rb = s->rb;
        int old_ring = s->ring, r;

        if (s->n_tasks > 0)
                return -EBUSY;
        r = ring_new(s);
        if (r < 0)
                return r;
        /* The parent's: unmapped and closed here only. */
        ring_buffer__free(old_rb);
        (void) safe_close(old_ring);
        return 0;
}

/* Any other failure than ESTALE/ENOENT: not known to be gone. */
static bool cgroup_gone(int mount_fd, uint64_t id) {
        int fd = cgroup_open_by_id(mount_fd, id);

        if (fd >= 0)
                (void) close(fd);
        return fd == -ESTALE || fd == -ENOENT;
}

int shape_sweep_orphans(Shape *s, int cgroup2_root_fd) {
        _cleanup_free_ uint64_t *ids = NULL;
        _cleanup_free_ struct shape_task *v = NULL;
        size_t n = 0;
        int swept = 0;

        ids = calloc(SHAPE_TASKS_MAX, sizeof *ids);
        v = malloc(sizeof *v);
        if (!ids || !v)
                return -ENOMEM;
        n = bpf_cache_map_keys(s->maps[MAP_TASKS], ids, sizeof *ids, SHAPE_TASKS_MAX);
        for (size_t i = 0; i < n; i++) {
                bool ours = false;

                if (bpf_map_lookup_elem(s->maps[MAP_TASKS], &ids[i], v) < 0 || v->owner != s->owner)
                        continue;
                for (ShapeTask *t = s->tasks; t && !ours; t = t->next)
                        ours = t->cgroup_id == ids[i];
                if (ours || !cgroup_gone(cgroup2_root_fd, ids[i]))
                        continue;
                log_debug("bpf-shape: sweeping the entries of cgroup %" PRIu64 ", which is gone", ids[i]);
                (void) bpf_map_delete_elem(s->maps[MAP_RINGS], &ids[i]);
                (void) bpf_map_delete_elem(s->maps[MAP_TASKS], &ids[i]);
                swept++;
        }
        return swept;
}

static int errno_of_bucket(unsigned b) {
        if (b == 0)
                return 0;
        if (b <= SHAPE_ERRNO_USER_MAX)
                return (int) b;
        return (int) (SHAPE_ERRNO_KERNEL_BASE + b - SHAPE_ERRNO_USER_MAX - 1);
}

static int cmp_errno_count(const void *a, const void *b) {
        const ShapeErrno *x = a, *y = b;

        if (x->count != y->count)
                return x->count > y->count ? -1 : 1;
        return x->err - y->err;
}

int shape_task_read(Shape *s, const ShapeTask *t, ShapeCounts *ret) {
        _cleanup_free_ struct shape_task *v = NULL;
        ShapeErrno all[SHAPE_ERRNO_BUCKETS];
        int r;

        v = malloc(sizeof *v);
        if (!v)
                return -ENOMEM;
        r = bpf_map_lookup_elem(s->maps[MAP_TASKS], &t->cgroup_id, v);
        if (r < 0)
                return r;

        *ret = (ShapeCounts) { .threads = v->threads };
        for (size_t nr = 0; nr < SHAPE_NR_MAX; nr++) {
                const struct shape_syscall *sc = &v->sys[nr];
                ShapeSyscallCount *c = &ret->sys[nr];

                c->calls = sc->calls;
                c->errors = sc->errors;
                for (size_t k = 0; k < SHAPE_ERRNO_SLOTS; k++)
                        c->errnos[k] = (ShapeErrno) { .err = (int) sc->errno_val[k], .count = sc->errno_count[k] };
                ret->calls += c->calls;
                ret->errors += c->errors;
        }
        for (size_t i = 0; i < ELEMENTSOF(open_nrs); i++)
                ret->opens += ret->sys[open_nrs[i]].calls;
        for (unsigned b = 0; b < SHAPE_ERRNO_BUCKETS; b++)
                all[b] = (ShapeErrno) { .err = errno_of_bucket(b), .count = v->errnos[b] };
        qsort(all, ELEMENTSOF(all), sizeof all[0], cmp_errno_count);
        for (size_t i = 0; i < SHAPE_TOP_ERRNOS && all[i].count > 0; i++)
                ret->top_errnos[i] = all[i];
        for (size_t k = 0; k < _SHAPE_EVENT_MAX; k++) {
                ret->emitted[k] = v->emitted[k];
                ret->dropped[k] = v->dropped[k];
                ret->lost[k] = v->lost[k];
        }
        return 0;
}

ShapeTask *shape_task_remove(Shape *s, ShapeTask *t) {
        if (t)
                task_free(s, t);
        return NULL;
}

unsigned shape_links(Shape *s) {
        unsigned n = 0;

        for (unsigned i = 0; i < _PROG_MAX; i++)
                n += s->links[i] >= 0;
        return n;
}

int shape_prog_ids(Shape *s, uint32_t *ret_ids, size_t n) {
        size_t i;

        for (i = 0; i < _PROG_MAX && i < n; i++) {
                struct bpf_prog_info info = {};
                uint32_t len = sizeof info;
                int r;

                r = bpf_obj_get_info_by_fd(s->progs[i], &info, &len);
                if (r < 0)
                        return r;
                ret_ids[i] = info.id;
        }
        return (int) i;
}

const char *shape_syscall_name(int nr) {
        /* libseccomp hands out a fresh copy each time: keep one per number. */
        static char *names[SHAPE_NR_MAX];

        if (nr < 0 || nr >= SHAPE_NR_OTHER)
                return NULL;
        if (!names[nr])
                names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
        return names[nr];
}

const char *shape_event_kind_to_string(ShapeEventKind k) {
        static const char *const names[_SHAPE_EVENT_MAX] = {
                [SHAPE_EVENT_FORK] = "fork",
                [SHAPE_EVENT_EXEC] = "exec",
                [SHAPE_EVENT_EXIT] = "exit",
                [SHAPE_EVENT_OPEN] = "open",
        };
        return k >= 0 && k < _SHAPE_EVENT_MAX ? names[k] : NULL;
}
