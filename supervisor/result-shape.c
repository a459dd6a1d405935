/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "result-shape.h"
#if HAVE_SHAPE
#include "bpf-shape.h"
#endif

static void add(json_object *o, const char *k, json_object *v) {
        (void) json_object_object_add(o, k, v);
}

static json_object *u64(uint64_t v) {
        return json_object_new_int64((int64_t) v);
}

static const char *errno_name(int err) {
        const char *n = err > 0 ? strerrorname_np(err) : NULL;
        return n ? n : "other";
}

static json_object *errnos_json(const ShapeErrnoCount *e, size_t n) {
        json_object *o = json_object_new_object();
        for (size_t i = 0; i < n; i++)
                if (e[i].count > 0)
                        add(o, errno_name(e[i].err), u64(e[i].count));
        return o;
}

static json_object *syscall_name(int nr) {
#if HAVE_SHAPE
        const char *n = nr >= 0 ? shape_syscall_name(nr) : NULL;
        return n ? json_object_new_string(n) : NULL;
#else
        (void) nr;
        return NULL;
#endif
}

json_object *shape_summary_to_json(const ShapeSummary *s) {
        json_object *o, *sys, *top, *x;

        if (!s->recorded && !s->error[0])
                return NULL;
        o = json_object_new_object();
        if (!s->recorded) {
                add(o, "error", json_object_new_string(s->error));
                return o;
        }
        sys = json_object_new_object();
        add(sys, "total", u64(s->calls));
        add(sys, "errors", u64(s->errors));
        top = json_object_new_array();
        for (size_t i = 0; i < s->n_top; i++) {
                const ShapeSyscallRow *r = &s->top[i];
                json_object *row = json_object_new_object();
                add(row, "name", syscall_name(r->nr));
                add(row, "nr", r->nr >= 0 ? json_object_new_int(r->nr) : NULL);
                add(row, "calls", u64(r->calls));
                add(row, "errors", u64(r->errors));
                add(row, "errnos", errnos_json(r->errnos, 2));
                (void) json_object_array_add(top, row);
        }
        add(sys, "top", top);
        x = json_object_new_object();
        add(x, "calls", u64(s->other_calls));
        add(x, "errors", u64(s->other_errors));
        add(sys, "others", x);
        add(o, "syscalls", sys);
        add(o, "errnos", errnos_json(s->errnos, s->n_errnos));
        x = json_object_new_object();
        add(x, "opens", u64(s->opens));
        add(o, "files", x);
        x = json_object_new_object();
        add(x, "forks", u64(s->forks));
        add(x, "execs", u64(s->execs));
        add(x, "exits", u64(s->exits));
        add(x, "threads", u64(s->threads));
        add(o, "processes", x);
        x = json_object_new_object();
        add(x, "emitted", u64(s->emitted));
        add(x, "dropped", u64(s->dropped));
        add(x, "lost", u64(s->lost));
        add(x, "budget", u64(s->budget));
        add(o, "events", x);
        return o;
}

#if HAVE_SHAPE
static json_object *opt_pid(uint32_t pid) {
        return pid ? json_object_new_int64(pid) : NULL;
}

void proc_event_add_json(const ShapeEvent *ev, double t_ms, json_object *o) {
        add(o, "event", json_object_new_string(shape_event_kind_to_string(ev->kind) ?: "unknown"));
        add(o, "pid", json_object_new_int64(ev->pid));
        add(o, "ns_pid", opt_pid(ev->ns_pid));
        add(o, "comm", json_object_new_string(ev->comm));
        add(o, "t_ms", json_object_new_double(t_ms));
        switch (ev->kind) {
        case SHAPE_EVENT_FORK:
                add(o, "child_pid", json_object_new_int64(ev->fork.child_pid));
                add(o, "child_ns_pid", opt_pid(ev->fork.child_ns_pid));
                break;
        case SHAPE_EVENT_EXEC: {
                json_object *argv = json_object_new_array();
                bool cut = false;
                add(o, "filename", json_object_new_string(ev->exec.filename));
                add(o, "filename_truncated", json_object_new_boolean(ev->exec.filename_truncated));
                for (size_t i = 0; i < ev->exec.n_argv && i < SHAPE_ARGV_MAX; i++) {
                        (void) json_object_array_add(argv, json_object_new_string(ev->exec.argv[i]));
                        cut = cut || ev->exec.argv_truncated[i];
                }
                add(o, "argv", argv);
                add(o, "argv_truncated", json_object_new_boolean(cut || ev->exec.argc > ev->exec.n_argv));
                add(o, "argc", json_object_new_int64(ev->exec.argc));
                break;
        }
        case SHAPE_EVENT_EXIT:
                add(o, "code", WIFEXITED(ev->exit.status) ? json_object_new_int(WEXITSTATUS(ev->exit.status)) : NULL);
                add(o, "signal", WIFSIGNALED(ev->exit.status) ? json_object_new_int(WTERMSIG(ev->exit.status)) : NULL);
                break;
        case SHAPE_EVENT_OPEN:
                add(o, "path", json_object_new_string(ev->open.path));
                add(o, "path_truncated", json_object_new_boolean(ev->open.path_truncated));
                add(o, "syscall", syscall_name(ev->open.syscall_nr));
                add(o, "flags", json_object_new_int64(ev->open.flags));
                break;
        default:
                break;
        }
}
#else
void proc_event_add_json(const struct ShapeEvent *ev, double t_ms, json_object *o) {
        (void) ev;
        (void) t_ms;
        (void) o;
}
#endif
