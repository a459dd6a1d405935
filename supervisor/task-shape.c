/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "task-shape.h"

#if HAVE_SHAPE
#include "bpf-egress.h" /* cgroup_fd_id() */
#include "bpf-shape.h"

int task_shape_prepare(SupervisorShape *ss, const SandboxSpec *spec, double t_start_ms, ProcEventFn fn,
                       void *userdata, TaskShape *t, const char **reterr_what) {
        ShapeTaskOptions o = { .event_budget = spec->shape_event_budget };
        size_t n = 0;
        int r;

        /* t->ss stays NULL for a task that is not observed. */
        *t = (TaskShape) { .spec = spec, .t_start_ms = t_start_ms, .event_fn = fn, .userdata = userdata };
        if (!spec->shape)
                return 0;
        /* Before clone, like all heavy work (see launch.c): everything but
         * what needs the task's cgroup. */
        if (!ss->shape) {
                *reterr_what = "load the observation programs";
                r = shape_open(NULL, &ss->shape);
                if (r < 0)
                        return r;
        }
        while (spec->shape_watch && spec->shape_watch[n])
                n++;
        o.watch = (const char *const *) spec->shape_watch;
        o.n_watch = n;
        *reterr_what = "compile the watch list";
        r = shape_task_new(ss->shape, &o, &t->task);
        if (r < 0)
                return r;
        t->ss = ss;
        *reterr_what = NULL;
        return 0;
}

int task_shape_attach(TaskShape *t, int cgroup_fd, const char **reterr_what) {
        int r;

        if (!t->ss)
                return 0;
        *reterr_what = "read the task's cgroup id";
        r = cgroup_fd_id(cgroup_fd, &t->cgroup_id);
        if (r < 0)
                return r;
        *reterr_what = "start observing the task";
        r = shape_task_start(t->ss->shape, t->task, t->cgroup_id);
        if (r < 0)
                return r;
        t->attached = true;
        t->next = t->ss->tasks;
        t->ss->tasks = t;
        *reterr_what = NULL;
        return 0;
}

int supervisor_shape_ring_fd(SupervisorShape *ss) {
        return ss->shape ? shape_ring_fd(ss->shape) : -EBADF;
}

static void on_event(const ShapeEvent *ev, void *userdata) {
        SupervisorShape *ss = userdata;

        for (TaskShape *t = ss->tasks; t; t = t->next)
                if (t->cgroup_id == ev->cgroup_id) {
                        if (t->event_fn)
                                t->event_fn(t->spec, ev, (double) ev->time_ns / 1e6 - t->t_start_ms, t->userdata);
                        return;
                }
}

void supervisor_shape_dispatch(SupervisorShape *ss) {
        if (ss->shape && shape_consume(ss->shape, on_event, ss) < 0)
                log_debug("observation ring buffer: cannot consume");
}

static int cmp_calls(const void *a, const void *b) {
        const ShapeSyscallRow *x = a, *y = b;
        return (x->calls < y->calls) - (x->calls > y->calls);
}

static void summarise(const ShapeCounts *c, uint32_t budget, ShapeSummary *s) {
        _cleanup_free_ ShapeSyscallRow *rows = calloc(SHAPE_NR_MAX, sizeof *rows);
        size_t n = 0;

        *s = (ShapeSummary) { .recorded = true, .calls = c->calls, .errors = c->errors, .opens = c->opens,
                              .threads = c->threads, .budget = budget };
        if (!rows)
                return;
        for (int nr = 0; nr < SHAPE_NR_MAX; nr++) {
                const ShapeSyscallCount *x = &c->sys[nr];
                if (x->calls == 0 && x->errors == 0)
                        continue;
                rows[n] = (ShapeSyscallRow) { .nr = nr == SHAPE_NR_OTHER ? -1 : nr, .calls = x->calls,
                                              .errors = x->errors };
                for (size_t i = 0; i < 2 && i < SHAPE_ERRNO_SLOTS; i++)
                        rows[n].errnos[i] = (ShapeErrnoCount) { x->errnos[i].err, x->errnos[i].count };
                n++;
        }
        qsort(rows, n, sizeof *rows, cmp_calls);
        for (size_t i = 0; i < n; i++) {
                if (i < SHAPE_SUMMARY_TOP) {
                        s->top[s->n_top++] = rows[i];
                        continue;
                }
                s->other_calls += rows[i].calls;
                s->other_errors += rows[i].errors;
        }
        for (size_t i = 0; i < SHAPE_TOP_ERRNOS && i < SHAPE_SUMMARY_ERRNOS && c->top_errnos[i].count; i++)
                s->errnos[s->n_errnos++] = (ShapeErrnoCount) { c->top_errnos[i].err, c->top_errnos[i].count };
        s->forks = c->emitted[SHAPE_EVENT_FORK] + c->dropped[SHAPE_EVENT_FORK] + c->lost[SHAPE_EVENT_FORK];
        s->execs = c->emitted[SHAPE_EVENT_EXEC] + c->dropped[SHAPE_EVENT_EXEC] + c->lost[SHAPE_EVENT_EXEC];
        s->exits = c->emitted[SHAPE_EVENT_EXIT] + c->dropped[SHAPE_EVENT_EXIT] + c->lost[SHAPE_EVENT_EXIT];
        for (int k = 0; k < _SHAPE_EVENT_MAX; k++) {
                s->emitted += c->emitted[k];
                s->dropped += c->dropped[k];
                s->lost += c->lost[k];
        }
}

void task_shape_done(TaskShape *t, ShapeSummary *summary) {
        SupervisorShape *ss = t->ss;

        if (!ss || !t->task)
                return;
        if (!t->attached) {
                t->task = shape_task_remove(ss->shape, t->task);
                t->ss = NULL;
                return;
        }
        /* What is still in the ring buffer belongs to this run's record. */
        supervisor_shape_dispatch(ss);
        {
                _cleanup_free_ ShapeCounts *c = calloc(1, sizeof *c);
                if (c && shape_task_read(ss->shape, t->task, c) >= 0)
                        summarise(c, t->spec->shape_event_budget ?: SHAPE_EVENT_BUDGET_DEFAULT, summary);
        }
        for (TaskShape **p = &ss->tasks; *p; p = &(*p)->next)
                if (*p == t) {
                        *p = t->next;
                        break;
                }
        t->task = shape_task_remove(ss->shape, t->task);
        t->ss = NULL;
        t->attached = false;
}

int supervisor_shape_hold(SupervisorShape *ss) {
        int r;

        if (!ss->shape) {
                r = shape_open(NULL, &ss->shape);
                if (r < 0)
                        return r;
        }
        return shape_hold_links(ss->shape);
}

int supervisor_shape_fork(SupervisorShape *ss) {
        return ss->shape ? shape_own_ring(ss->shape) : 0;
}

int supervisor_shape_sweep(SupervisorShape *ss, int cgroup2_fd) {
        return ss->shape && cgroup2_fd >= 0 ? shape_sweep_orphans(ss->shape, cgroup2_fd) : 0;
}

void supervisor_shape_done(SupervisorShape *ss) {
        ss->shape = shape_close(ss->shape);
}

#else /* !HAVE_SHAPE: built without the host's BTF, so without the programs */

int task_shape_prepare(SupervisorShape *ss, const SandboxSpec *spec, double t_start_ms, ProcEventFn fn,
                       void *userdata, TaskShape *t, const char **reterr_what) {
        (void) ss;
        *t = (TaskShape) { .spec = spec, .t_start_ms = t_start_ms, .event_fn = fn, .userdata = userdata };
        *reterr_what = "this build has no observation programs (no BTF at build time)";
        return spec->shape ? -EOPNOTSUPP : 0;
}

int task_shape_attach(TaskShape *t, int cgroup_fd, const char **reterr_what) {
        (void) t;
        (void) cgroup_fd;
        *reterr_what = NULL;
        return 0;
}

int supervisor_shape_ring_fd(SupervisorShape *ss) {
        (void) ss;
        return -EBADF;
}

void supervisor_shape_dispatch(SupervisorShape *ss) {
        (void) ss;
}

void task_shape_done(TaskShape *t, ShapeSummary *summary) {
        (void) t;
        (void) summary;
}

int supervisor_shape_hold(SupervisorShape *ss) {
        (void) ss;
        return -EOPNOTSUPP;
}

int supervisor_shape_fork(SupervisorShape *ss) {
        (void) ss;
        return 0;
}

int supervisor_shape_sweep(SupervisorShape *ss, int cgroup2_fd) {
        (void) ss;
        (void) cgroup2_fd;
        return 0;
}

void supervisor_shape_done(SupervisorShape *ss) {
        (void) ss;
}
#endif
