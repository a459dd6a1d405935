/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loader of the observation layer (bpf/shape.bpf.c): the only file
 * including its skeleton. It compiles watch patterns into the word masks
 * the program compares under, decodes ring records into ShapeEvent, and
 * keeps the programs linked exactly while tasks are added. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "bpf-shape.h"
#include "shape.skel.h"

#define DEFAULT_RING_BYTES (1024 * 1024)
#define DEFAULT_MAX_TASKS 256

/* x86_64 numbers of the open family (what ShapeCounts.opens sums). */
static const int open_nrs[] = { 2 /* open */, 85 /* creat */, 257 /* openat */, 437 /* openat2 */ };

enum { PROG_SYS_ENTER, PROG_SYS_EXIT, PROG_FORK, PROG_EXEC, PROG_EXIT, _PROG_MAX };

struct ShapeTask {
        uint64_t cgroup_id;
        ShapeTask *next; /* in Shape.tasks */
};

struct Shape {
        struct shape *skel;
        struct ring_buffer *rb;
        struct bpf_link *links[_PROG_MAX]; /* all set while n_tasks > 0, else all NULL */
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

static struct bpf_program *prog_of(Shape *s, unsigned i) {
        struct bpf_program *progs[_PROG_MAX] = {
                s->skel->progs.shape_sys_enter, s->skel->progs.shape_sys_exit, s->skel->progs.shape_fork,
                s->skel->progs.shape_exec,      s->skel->progs.shape_exit,
        };
        return progs[i];
}

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

/* ---- open/close -------------------------------------------------------- */

int shape_open(const ShapeOptions *o, Shape **ret) {
        _cleanup_(shape__destroyp) struct shape *skel = NULL;
        _cleanup_free_ Shape *s = NULL;
        size_t ring = o && o->ring_bytes ? o->ring_bytes : DEFAULT_RING_BYTES;
        uint32_t max_tasks = o && o->max_tasks ? o->max_tasks : DEFAULT_MAX_TASKS;
        long page = sysconf(_SC_PAGESIZE);
        LIBBPF_LOG_SCOPE;
        int r;

        if (ring < (size_t) page || (ring & (ring - 1)) != 0 || ring > UINT32_MAX)
                return log_error_errno(-EINVAL, "bpf-shape: ring buffer of %zu bytes is not a power of 2 >= %ld",
                                       ring, page);

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->max_tasks = max_tasks;

        skel = shape__open();
        if (!skel)
                return log_error_errno(negative_errno(), "bpf-shape: cannot open the programs: %m");
        r = bpf_map__set_max_entries(skel->maps.shape_events, (uint32_t) ring);
        if (r >= 0)
                r = bpf_map__set_max_entries(skel->maps.shape_tasks, max_tasks);
        if (r < 0)
                return log_error_errno(r, "bpf-shape: cannot size the maps: %m");
        /* Loaded unlinked (no shape__attach()): linking waits for the first task. */
        r = shape__load(skel);
        if (r < 0)
                return log_error_errno(r, "bpf-shape: the kernel refused the programs: %m");

        s->rb = ring_buffer__new(bpf_map__fd(skel->maps.shape_events), on_event, s, NULL);
        if (!s->rb)
                return log_error_errno(negative_errno(), "bpf-shape: cannot map the ring buffer: %m");

        s->skel = TAKE_PTR(skel);
        *ret = TAKE_PTR(s);
        return 0;
}

static void unlink_all(Shape *s) {
        for (unsigned i = 0; i < _PROG_MAX; i++)
                s->links[i] = (bpf_link__destroy(s->links[i]), NULL);
}

static int link_all(Shape *s) {
        LIBBPF_LOG_SCOPE;

        for (unsigned i = 0; i < _PROG_MAX; i++) {
                s->links[i] = bpf_program__attach(prog_of(s, i));
                if (!s->links[i]) {
                        int r = negative_errno();
                        s->links[i] = NULL;
                        unlink_all(s);
                        return log_error_errno(r, "bpf-shape: cannot link %s: %m", bpf_program__name(prog_of(s, i)));
                }
        }
        return 0;
}

static void task_free(Shape *s, ShapeTask *t) {
        (void) bpf_map_delete_elem(bpf_map__fd(s->skel->maps.shape_tasks), &t->cgroup_id);
        for (ShapeTask **p = &s->tasks; *p; p = &(*p)->next)
                if (*p == t) {
                        *p = t->next;
                        break;
                }
        free(t);
        if (--s->n_tasks == 0)
                unlink_all(s);
}

Shape *shape_close(Shape *s) {
        if (!s)
                return NULL;
        while (s->tasks)
                task_free(s, s->tasks);
        unlink_all(s);
        ring_buffer__free(s->rb);
        shape__destroy(s->skel);
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

int shape_task_add(Shape *s, uint64_t cgroup_id, const ShapeTaskOptions *o, ShapeTask **ret) {
        _cleanup_free_ struct shape_task *v = NULL;
        _cleanup_free_ ShapeTask *t = NULL;
        int fd = bpf_map__fd(s->skel->maps.shape_tasks), r;
        size_t n_watch = o ? o->n_watch : 0;

        if (n_watch > SHAPE_MAX_WATCH)
                return log_error_errno(-E2BIG, "bpf-shape: %zu watch patterns, at most %d", n_watch,
                                       SHAPE_MAX_WATCH);
        if (s->n_tasks >= s->max_tasks)
                return log_error_errno(-ENOSPC, "bpf-shape: %u tasks observed already", s->n_tasks);

        /* Zeroed: every counter starts at 0. */
        v = calloc(1, sizeof *v);
        t = calloc(1, sizeof *t);
        if (!v || !t)
                return -ENOMEM;
        v->event_budget = o && o->event_budget ? o->event_budget : SHAPE_EVENT_BUDGET_DEFAULT;
        v->n_watch = (uint32_t) n_watch;
        for (size_t i = 0; i < n_watch; i++) {
                r = watch_compile(o->watch[i], &v->watch[i]);
                if (r < 0)
                        return log_error_errno(r, "bpf-shape: bad watch pattern '%s' (PREFIX[*SUFFIX], %d/%d bytes)",
                                               o->watch[i], SHAPE_WATCH_PREFIX_MAX, SHAPE_WATCH_SUFFIX_MAX);
        }

        r = bpf_map_update_elem(fd, &cgroup_id, v, BPF_NOEXIST);
        if (r == -EEXIST)
                return log_error_errno(r, "bpf-shape: cgroup %" PRIu64 " already has a task", cgroup_id);
        if (r < 0)
                return log_error_errno(r, "bpf-shape: cannot add cgroup %" PRIu64 ": %m", cgroup_id);

        /* Entry first, links second: the task's first events are not lost
         * to a lookup that misses. */
        if (s->n_tasks == 0) {
                r = link_all(s);
                if (r < 0) {
                        (void) bpf_map_delete_elem(fd, &cgroup_id);
                        return r;
                }
        }
        s->n_tasks++;
        t->cgroup_id = cgroup_id;
        t->next = s->tasks;
        s->tasks = t;
        *ret = TAKE_PTR(t);
        return 0;
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
        r = bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.shape_tasks), &t->cgroup_id, v);
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
                n += s->links[i] != NULL;
        return n;
}

int shape_prog_ids(Shape *s, uint32_t *ret_ids, size_t n) {
        size_t i;

        for (i = 0; i < _PROG_MAX && i < n; i++) {
                struct bpf_prog_info info = {};
                uint32_t len = sizeof info;
                int r;

                r = bpf_obj_get_info_by_fd(bpf_program__fd(prog_of(s, (unsigned) i)), &info, &len);
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
