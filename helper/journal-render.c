/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The text rendering of `stockade journal show`: see journal-render.h and
 * stockade-journal(5) for the proc and shape records it reads. */
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "journal-def.h"
#include "journal-render.h"

#define NONE SIZE_MAX
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define ERRNOS_PER_SYSCALL 3
#define ERRNOS_TASK_WIDE 5
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define TREE_INDENT_MAX 40 /* levels; deeper nodes are shown at this indentation */

/* ---- field access: NULL or false for absent, null and mistyped fields ---- */

static json_object *field(json_object *o, const char *k) {
        json_object *x;

        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, k, &x))
                return NULL;
        return x; /* NULL for a JSON null too */
}

static const char *field_str(json_object *o, const char *k) {
        json_object *x = field(o, k);
        return x && json_object_is_type(x, json_type_string) ? json_object_get_string(x) : NULL;
}

static bool field_int(json_object *o, const char *k, int64_t *ret) {
        json_object *x = field(o, k);

        if (x && json_object_is_type(x, json_type_int)) {
                *ret = json_object_get_int64(x);
                return true;
        }
        if (x && json_object_is_type(x, json_type_double)) {
                double d = json_object_get_double(x);
                if (isfinite(d) && fabs(d) < 9e18) {
                        *ret = (int64_t) d;
                        return true;
                }
        }
        return false;
}

static bool field_true(json_object *o, const char *k) {
        json_object *x = field(o, k);
        return x && json_object_is_type(x, json_type_boolean) && json_object_get_boolean(x);
}

/* The integer field as text, or "-". */
typedef struct NumStr {
        char s[24];
} NumStr;

static NumStr num(json_object *o, const char *k) {
        NumStr n = { "-" };
        int64_t v;

        if (field_int(o, k, &v))
                (void) snprintf(n.s, sizeof n.s, "%" PRId64, v);
        return n;
}

/* ---- strings from the task: escaped, so that they cannot drive a terminal ---- */

/* Prints s with backslash, C0 and C1 controls and DEL escaped; quote (if
 * not 0) is written shell-style as '\''. */
static void put_escaped_q(FILE *f, const char *s, char quote) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (quote && *p == (unsigned char) quote)
                        fputs("'\\''", f);
                else if (*p == '\\')
                        fputs("\\\\", f);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p == '\t')
                        fputs("\\t", f);
                else if (*p < 0x20 || *p == 0x7f)
                        fprintf(f, "\\x%02x", *p);
                else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) /* U+0080..U+009F, e.g. CSI */
                        fprintf(f, "\\u%04x", *++p);
                else
                        fputc(*p, f);
        }
}

static void put_escaped(FILE *f, const char *s) {
        put_escaped_q(f, s, 0);
}

/* An argv element: as is when plain, else in single quotes. */
static void put_arg(FILE *f, const char *s) {
        bool plain = *s;

        for (const char *p = s; *p && plain; p++)
                plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                        strchr("_@%+=:,./-", *p);
        if (plain) {
                fputs(s, f);
                return;
        }
        fputc('\'', f);
        put_escaped_q(f, s, '\'');
        fputc('\'', f);
}

/* s escaped into a malloc'd string, for padded columns; NULL on ENOMEM. */
static char *escaped(const char *s) {
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);

        if (!m)
                return NULL;
        put_escaped(m, s);
        if (fclose(m) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* ---- proc records, one line each ---- */

/* The namespace pid when known, else the host pid, else "-". */
static void put_pid(FILE *f, json_object *rec, const char *ns_key, const char *host_key) {
        int64_t v;

        if (field_int(rec, ns_key, &v) || field_int(rec, host_key, &v))
                fprintf(f, "%" PRId64, v);
        else
                fputc('-', f);
}

/* A string field, "..." when it was cut, or "-". */
static void put_cut(FILE *f, json_object *rec, const char *key, const char *truncated_key) {
        const char *s = field_str(rec, key);

        if (!s) {
                fputc('-', f);
                return;
        }
        put_escaped(f, s);
        if (field_true(rec, truncated_key))
                fputs("...", f);
}

/* code N, signal N (SIGNAME), both, or "-" (exit records). */
static void put_exit_status(FILE *f, json_object *rec) {
        int64_t code, sig;
        bool has_code = field_int(rec, "code", &code), has_sig = field_int(rec, "signal", &sig);

        if (has_code)
                fprintf(f, "code %" PRId64, code);
        if (has_sig) {
                const char *name = sig > 0 && sig < 65 ? sigabbrev_np((int) sig) : NULL;
                fprintf(f, "%ssignal %" PRId64, has_code ? " " : "", sig);
                if (name)
                        fprintf(f, " (SIG%s)", name);
        }
        if (!has_code && !has_sig)
                fputc('-', f);
}

/* [argv0 argv1 ...], "..." when cut or when argc says there were more. */
static void put_argv(FILE *f, json_object *rec) {
        json_object *av = field(rec, "argv");
        bool more = field_true(rec, "argv_truncated");
        size_t n = 0;
        int64_t argc;

        if (av && json_object_is_type(av, json_type_array)) {
                n = json_object_array_length(av);
                fputc('[', f);
                for (size_t i = 0; i < n; i++) {
                        json_object *a = json_object_array_get_idx(av, i);
                        if (i)
                                fputc(' ', f);
                        if (a && json_object_is_type(a, json_type_string))
                                put_arg(f, json_object_get_string(a));
                        else
                                fputc('-', f);
                }
        } else
                fputs("[-", f);
        if (field_int(rec, "argc", &argc) && argc > (int64_t) n)
                more = true;
        if (more)
                fputs(n ? " ..." : "...", f);
        fputc(']', f);
        if (field_int(rec, "argc", &argc) && argc != (int64_t) n)
                fprintf(f, " (argc %" PRId64 ")", argc);
}

static void put_open_flags(FILE *f, int64_t flags) {
        static const struct {
                int64_t bits;
                const char *name;
        } names[] = {
                /* O_TMPFILE and O_SYNC contain other bits: before them. */
                { O_TMPFILE, "O_TMPFILE" },   { O_SYNC, "O_SYNC" },         { O_DSYNC, "O_DSYNC" },
                { O_CREAT, "O_CREAT" },       { O_EXCL, "O_EXCL" },         { O_NOCTTY, "O_NOCTTY" },
                { O_TRUNC, "O_TRUNC" },       { O_APPEND, "O_APPEND" },     { O_NONBLOCK, "O_NONBLOCK" },
                { O_DIRECTORY, "O_DIRECTORY" }, { O_NOFOLLOW, "O_NOFOLLOW" }, { O_NOATIME, "O_NOATIME" },
                { O_CLOEXEC, "O_CLOEXEC" },   { O_PATH, "O_PATH" },
        };
        int64_t acc = flags & O_ACCMODE, rest = flags & ~(int64_t) O_ACCMODE;

        fputs(acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY" : acc == O_RDWR ? "O_RDWR" : "O_ACCMODE", f);
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if ((rest & names[i].bits) == names[i].bits) {
                        fprintf(f, "|%s", names[i].name);
                        rest &= ~names[i].bits;
                }
        if (rest)
                fprintf(f, "|0x%" PRIx64, (uint64_t) rest);
}

static void render_proc(FILE *f, json_object *rec) {
        const char *ev = field_str(rec, "event");
        json_object *tm = field(rec, "t_ms");
        char t[32] = "-";

        if (tm && (json_object_is_type(tm, json_type_int) || json_object_is_type(tm, json_type_double))) {
                double d = json_object_get_double(tm);
                if (isfinite(d) && fabs(d) < 1e12)
                        (void) snprintf(t, sizeof t, "%+.1fms", d);
        }
        fprintf(f, "  %10s  ", t);
        if (ev && streq(ev, "fork")) {
                fputs("fork  ", f);
                put_pid(f, rec, "ns_pid", "pid");
                fputs(" -> ", f);
                put_pid(f, rec, "child_ns_pid", "child_pid");
        } else if (ev && streq(ev, "exec")) {
                fputs("exec  pid ", f);
                put_pid(f, rec, "ns_pid", "pid");
                fputs("  ", f);
                put_cut(f, rec, "filename", "filename_truncated");
                fputs("  ", f);
                put_argv(f, rec);
        } else if (ev && streq(ev, "exit")) {
                fputs("exit  ", f);
                put_pid(f, rec, "ns_pid", "pid");
                fputc(' ', f);
                put_exit_status(f, rec);
        } else if (ev && streq(ev, "open")) {
                const char *sc = field_str(rec, "syscall");
                int64_t flags;

                fputs("open  pid ", f);
                put_pid(f, rec, "ns_pid", "pid");
                fputs("  ", f);
                put_cut(f, rec, "path", "path_truncated");
                fputs(" (", f);
                put_escaped(f, sc ? sc : "-");
                if (field_int(rec, "flags", &flags)) {
                        fputs(", ", f);
                        put_open_flags(f, flags);
                }
                fputc(')', f);
        } else {
                fputs("proc  ", f);
                put_escaped(f, ev ? ev : "-");
                fputs("  pid ", f);
                put_pid(f, rec, "ns_pid", "pid");
        }
        fputc('\n', f);
}

static bool is_header_key(const char *k) {
        return streq(k, JOURNAL_KEY_V) || streq(k, JOURNAL_KEY_SEQ) || streq(k, JOURNAL_KEY_TS) ||
               streq(k, JOURNAL_KEY_REQUEST_ID) || streq(k, JOURNAL_KEY_TYPE) || streq(k, JOURNAL_KEY_PREV) ||
               streq(k, JOURNAL_KEY_HASH);
}

void journal_render_record(FILE *f, json_object *rec) {
        const char *ts = field_str(rec, JOURNAL_KEY_TS), *type = field_str(rec, JOURNAL_KEY_TYPE);

        if (type && streq(type, JOURNAL_TYPE_PROC)) {
                render_proc(f, rec);
                return;
        }
        fprintf(f, "  %s  #%-6s %-10s", ts ? ts : "?", num(rec, JOURNAL_KEY_SEQ).s, type ? type : "?");
        if (type && streq(type, JOURNAL_TYPE_SHAPE)) {
                /* The counts only: the table comes after the request's records. */
                json_object *sc = field(rec, "syscalls"), *fl = field(rec, "files"), *pr = field(rec, "processes"),
                            *ev = field(rec, "events");
                fprintf(f, " syscalls=%s errors=%s opens=%s forks=%s execs=%s exits=%s events=%s dropped=%s lost=%s\n",
                        num(sc, "total").s, num(sc, "errors").s, num(fl, "opens").s, num(pr, "forks").s,
                        num(pr, "execs").s, num(pr, "exits").s, num(ev, "emitted").s, num(ev, "dropped").s,
                        num(ev, "lost").s);
                return;
        }
        if (!json_object_is_type(rec, json_type_object)) {
                fputc('\n', f);
                return;
        }
        json_object_object_foreach(rec, k, v) {
                if (is_header_key(k))
                        continue;
                fputc(' ', f);
                put_escaped(f, k);
                fputc('=', f);
                if (v && json_object_is_type(v, json_type_string))
                        put_escaped(f, json_object_get_string(v)); /* may come from the task */
                else /* JSON escapes its strings' control characters */
                        fputs(json_object_to_json_string_ext(v, JSON_FLAGS), f);
        }
        fputc('\n', f);
}

/* ---- the process tree ---- */

typedef struct Ident {
        bool has_host, has_ns;
        int64_t host, ns;
} Ident;

typedef struct Proc {
        bool key_host; /* keyed by the host pid (else the namespace pid) */
        int64_t key;
        bool has_ns;
        int64_t shown; /* the namespace pid, else the host pid */
        json_object *exec, *exit; /* the last exec and the exit record */
        const char *comm;
        size_t parent, first_child, last_child, next_sibling;
} Proc;

typedef struct Tree {
        Proc *procs;
        size_t n, alloc;
        size_t *slots; /* open addressing: 1 + index of the newest Proc with that key, 0 empty */
        size_t n_slots, used;
} Tree;

static bool ident_get(json_object *rec, const char *host_key, const char *ns_key, Ident *ret) {
        *ret = (Ident) {};
        ret->has_host = field_int(rec, host_key, &ret->host);
        ret->has_ns = field_int(rec, ns_key, &ret->ns);
        return ret->has_host || ret->has_ns;
}

static size_t slot_of(const Tree *t, bool key_host, int64_t key) {
        uint64_t h = (uint64_t) key ^ (key_host ? 0 : 0x9e3779b97f4a7c15ULL);

        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        for (size_t s = h & (t->n_slots - 1);; s = (s + 1) & (t->n_slots - 1)) {
                size_t i = t->slots[s];
                if (i == 0 || (t->procs[i - 1].key_host == key_host && t->procs[i - 1].key == key))
                        return s;
        }
}

static size_t tree_lookup(const Tree *t, const Ident *id) {
        bool key_host = id->has_host;
        size_t s;

        if (t->n_slots == 0)
                return NONE;
        s = slot_of(t, key_host, key_host ? id->host : id->ns);
        return t->slots[s] ? t->slots[s] - 1 : NONE;
}

static size_t tree_new(Tree *t, const Ident *id) {
        Proc *p;
        size_t s;

        if (t->n == t->alloc) {
                size_t na = t->alloc ? t->alloc * 2 : 64;
                Proc *np = realloc(t->procs, na * sizeof *np);
                if (!np)
                        return NONE;
                t->procs = np;
                t->alloc = na;
        }
        if ((t->used + 1) * 2 > t->n_slots) { /* grow and rehash; later Procs overwrite earlier ones */
                size_t ns = t->n_slots ? t->n_slots * 2 : 128;
                size_t *nsl = calloc(ns, sizeof *nsl);
                if (!nsl)
                        return NONE;
                free(t->slots);
                t->slots = nsl;
                t->n_slots = ns;
                t->used = 0;
                for (size_t i = 0; i < t->n; i++) {
                        s = slot_of(t, t->procs[i].key_host, t->procs[i].key);
                        t->used += t->slots[s] == 0;
                        t->slots[s] = i + 1;
                }
        }
        p = &t->procs[t->n];
        *p = (Proc) {
                .key_host = id->has_host,
                .key = id->has_host ? id->host : id->ns,
                .has_ns = id->has_ns,
                .shown = id->has_ns ? id->ns : id->host,
                .parent = NONE,
                .first_child = NONE,
                .last_child = NONE,
                .next_sibling = NONE,
        };
        s = slot_of(t, p->key_host, p->key);
        t->used += t->slots[s] == 0;
        t->slots[s] = ++t->n;
        return t->n - 1;
}

/* The live Proc of that pid, or a new one (first sight, or the pid was
 * used again after an exit). */
static size_t tree_ensure(Tree *t, const Ident *id, json_object *rec) {
        size_t i = tree_lookup(t, id);
        const char *comm = field_str(rec, "comm");

        if (i == NONE || t->procs[i].exit)
                i = tree_new(t, id);
        if (i == NONE)
                return NONE;
        if (id->has_ns && !t->procs[i].has_ns) {
                t->procs[i].has_ns = true;
                t->procs[i].shown = id->ns;
        }
        if (!t->procs[i].comm)
                t->procs[i].comm = comm;
        return i;
}

static bool tree_is_ancestor(const Tree *t, size_t a, size_t b) {
        for (size_t i = b; i != NONE; i = t->procs[i].parent)
                if (i == a)
                        return true;
        return false;
}

static void tree_fork(Tree *t, json_object *rec) {
        Ident pid, cid;
        size_t p, c;

        if (!ident_get(rec, "pid", "ns_pid", &pid) || !ident_get(rec, "child_pid", "child_ns_pid", &cid))
                return;
        p = tree_ensure(t, &pid, rec);
        if (p == NONE)
                return;
        /* A child seen before its fork (events of two CPUs) is adopted; a
         * pid that already has a parent, or has exited, was used again. */
        c = tree_lookup(t, &cid);
        if (c == NONE || t->procs[c].parent != NONE || t->procs[c].exit || tree_is_ancestor(t, c, p))
                c = tree_new(t, &cid);
        if (c == NONE)
                return;
        if (cid.has_ns && !t->procs[c].has_ns) {
                t->procs[c].has_ns = true;
                t->procs[c].shown = cid.ns;
        }
        if (!t->procs[c].comm) /* a child starts with its parent's comm */
                t->procs[c].comm = field_str(rec, "comm");
        t->procs[c].parent = p;
        if (t->procs[p].last_child == NONE)
                t->procs[p].first_child = c;
        else
                t->procs[t->procs[p].last_child].next_sibling = c;
        t->procs[p].last_child = c;
}

static void tree_add(Tree *t, json_object *rec) {
        const char *ev = field_str(rec, "event");
        Ident id;
        size_t i;

        if (!ev)
                return;
        if (streq(ev, "fork")) {
                tree_fork(t, rec);
                return;
        }
        if (!ident_get(rec, "pid", "ns_pid", &id))
                return;
        i = tree_ensure(t, &id, rec);
        if (i == NONE)
                return;
        if (streq(ev, "exec")) {
                t->procs[i].exec = rec;
                if (field_str(rec, "comm"))
                        t->procs[i].comm = field_str(rec, "comm");
        } else if (streq(ev, "exit"))
                t->procs[i].exit = rec;
}

static void tree_print_node(FILE *f, const Proc *p, size_t depth) {
        fprintf(f, "    %*s%" PRId64 "  ", (int) (2 * MIN(depth, (size_t) TREE_INDENT_MAX)), "", p->shown);
        if (p->exec)
                put_cut(f, p->exec, "filename", "filename_truncated");
        else if (p->comm) {
                fputc('(', f);
                put_escaped(f, p->comm);
                fputc(')', f);
        } else
                fputc('-', f);
        if (p->exit) {
                fputs("  exit ", f);
                put_exit_status(f, p->exit);
        } else
                fputs("  (no exit seen)", f);
        fputc('\n', f);
}

static void tree_print(FILE *f, const Tree *t) {
        fprintf(f, "\n  Process tree (%zu process%s):\n", t->n, t->n == 1 ? "" : "es");
        if (t->n == 0)
                fputs("    no process events\n", f);
        for (size_t r = 0; r < t->n; r++) {
                size_t i = r, depth = 0;

                if (t->procs[r].parent != NONE)
                        continue;
                /* Depth first without recursion: a fork chain may be 100000 deep. */
                for (;;) {
                        tree_print_node(f, &t->procs[i], depth);
                        if (t->procs[i].first_child != NONE) {
                                i = t->procs[i].first_child;
                                depth++;
                                continue;
                        }
                        while (i != r && t->procs[i].next_sibling == NONE) {
                                i = t->procs[i].parent;
                                depth--;
                        }
                        if (i == r)
                                break;
                        i = t->procs[i].next_sibling;
                }
        }
}

/* ---- the syscall table, from a shape record ---- */

typedef struct Counted {
        const char *name;
        json_object *o;
        int64_t n;
        size_t idx;
} Counted;

static int counted_cmp(const void *a, const void *b) {
        const Counted *x = a, *y = b;

        if (x->n != y->n)
                return x->n > y->n ? -1 : 1;
        return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* {"ENOENT": 3, ...} as "ENOENT 3, EACCES 1, +2 more", most first; "-" when empty. */
static void put_errnos(FILE *f, json_object *o, size_t max) {
        size_t n = 0, k = 0;
        _cleanup_free_ Counted *c = NULL;

        if (o && json_object_is_type(o, json_type_object))
                n = (size_t) json_object_object_length(o);
        if (n == 0 || !(c = calloc(n, sizeof *c))) {
                fputc('-', f);
                return;
        }
        json_object_object_foreach(o, name, cnt) {
                if (k == n)
                        break;
                c[k] = (Counted) { .name = name, .n = -1, .idx = k };
                if (cnt && (json_object_is_type(cnt, json_type_int) || json_object_is_type(cnt, json_type_double)))
                        c[k].n = json_object_get_int64(cnt);
                k++;
        }
        qsort(c, k, sizeof *c, counted_cmp);
        for (size_t i = 0; i < k && i < max; i++) {
                fputs(i ? ", " : "", f);
                put_escaped(f, c[i].name);
                if (c[i].n >= 0)
                        fprintf(f, " %" PRId64, c[i].n);
                else
                        fputs(" -", f);
        }
        if (k > max)
                fprintf(f, ", +%zu more", k - max);
}

static void table_row(FILE *f, const char *name, const char *calls, const char *errors) {
        _cleanup_free_ char *e = escaped(name);
        fprintf(f, "    %-24s %10s %9s  ", e ? e : "?", calls, errors);
}

static void render_shape(FILE *f, json_object *shape, unsigned top, bool label) {
        json_object *sc = field(shape, "syscalls"), *rows = field(sc, "top"), *others = field(sc, "others"),
                    *ev = field(shape, "events"), *files = field(shape, "files"), *procs = field(shape, "processes");
        size_t n = rows && json_object_is_type(rows, json_type_array) ? json_object_array_length(rows) : 0, shown;
        _cleanup_free_ Counted *c = n ? calloc(n, sizeof *c) : NULL;
        int64_t rest_calls = 0, rest_errors = 0, v, dropped = 0, lost = 0;
        bool rest = false;

        fputs("\n  Syscalls", f);
        if (label)
                fprintf(f, " (shape record #%s)", num(shape, JOURNAL_KEY_SEQ).s);
        fputs(":\n", f);
        if (!c)
                n = 0;
        for (size_t i = 0; i < n; i++) {
                c[i] = (Counted) { .o = json_object_array_get_idx(rows, i), .n = -1, .idx = i };
                (void) field_int(c[i].o, "calls", &c[i].n);
        }
        if (n > 1)
                qsort(c, n, sizeof *c, counted_cmp); /* by calls, as written; a writer's slip does not reorder the top */
        shown = MIN(n, (size_t) top);
        table_row(f, "syscall", "calls", "errors");
        fputs("errnos\n", f);
        for (size_t i = 0; i < shown; i++) {
                const char *name = field_str(c[i].o, "name");
                char nr[32];

                if (!name) {
                        (void) snprintf(nr, sizeof nr, "nr %s", num(c[i].o, "nr").s);
                        name = nr;
                }
                table_row(f, name, num(c[i].o, "calls").s, num(c[i].o, "errors").s);
                put_errnos(f, field(c[i].o, "errnos"), ERRNOS_PER_SYSCALL);
                fputc('\n', f);
        }
        /* The rows beyond --top and what the record counts as others, in one line. */
        for (size_t i = shown; i < n; i++) {
                rest = true;
                if (field_int(c[i].o, "calls", &v))
                        rest_calls += v;
                if (field_int(c[i].o, "errors", &v))
                        rest_errors += v;
        }
        if (field_int(others, "calls", &v) && v > 0) {
                rest = true;
                rest_calls += v;
        }
        if (field_int(others, "errors", &v) && v > 0) {
                rest = true;
                rest_errors += v;
        }
        if (rest) {
                char calls[24], errors[24];
                (void) snprintf(calls, sizeof calls, "%" PRId64, rest_calls);
                (void) snprintf(errors, sizeof errors, "%" PRId64, rest_errors);
                table_row(f, "(other syscalls)", calls, errors);
                fputs("-\n", f);
        }
        table_row(f, "total", num(sc, "total").s, num(sc, "errors").s);
        put_errnos(f, field(shape, "errnos"), ERRNOS_TASK_WIDE);
        fputc('\n', f);

        fprintf(f, "    files: %s opens\n", num(files, "opens").s);
        fprintf(f, "    processes: %s forks, %s execs, %s exits, %s threads\n", num(procs, "forks").s,
                num(procs, "execs").s, num(procs, "exits").s, num(procs, "threads").s);
        fprintf(f, "    events: %s emitted, %s dropped, %s lost, budget %s\n", num(ev, "emitted").s,
                num(ev, "dropped").s, num(ev, "lost").s, num(ev, "budget").s);
        if (field_int(ev, "dropped", &dropped) && dropped > 0)
                fprintf(f,
                        "    warning: %" PRId64 " events were dropped (over the task's budget of %s events):\n"
                        "      the process events above are incomplete; the counts are complete\n",
                        dropped, num(ev, "budget").s);
        if (field_int(ev, "lost", &lost) && lost > 0)
                fprintf(f,
                        "    warning: %" PRId64 " events were lost (the ring buffer was full):\n"
                        "      the process events above are incomplete; the counts are complete\n",
                        lost);
}

void journal_render_summary(FILE *f, json_object *const *recs, size_t n, unsigned top) {
        Tree t = {};
        size_t n_proc = 0, n_shape = 0;

        for (size_t i = 0; i < n; i++) {
                const char *type = field_str(recs[i], JOURNAL_KEY_TYPE);
                if (type && streq(type, JOURNAL_TYPE_PROC)) {
                        n_proc++;
                        tree_add(&t, recs[i]);
                } else if (type && streq(type, JOURNAL_TYPE_SHAPE))
                        n_shape++;
        }
        if (n_proc + n_shape == 0)
                return;
        tree_print(f, &t);
        for (size_t i = 0; i < n; i++) {
                const char *type = field_str(recs[i], JOURNAL_KEY_TYPE);
                if (type && streq(type, JOURNAL_TYPE_SHAPE))
                        render_shape(f, recs[i], top, n_shape > 1);
        }
        if (n_shape == 0)
                fputs("\n  Syscalls: no shape record\n", f);
        free(t.procs);
        free(t.slots);
}
