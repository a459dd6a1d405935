/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading profiles: the search path, extends chains (cycles, depth,
 * missing parents), checking, listing, the hash, and the destructor. The
 * file format itself is profile-layer.c's, the merge rules
 * profile-merge.c's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/sha256.h"
#include "config.h"
#include "profile-internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

#ifndef PROFILE_DATADIR
#define PROFILE_DATADIR "/usr/share/stockade/profiles"
#endif

void profile_problemv(ProfileProblems *pp, const char *file, ProfileMark mark, const char *fmt, va_list ap) {
        ProfileError e = { .line = mark.line, .column = mark.column };

        (void) snprintf(e.file, sizeof e.file, "%s", file ?: "");
        (void) vsnprintf(e.message, sizeof e.message, fmt, ap);
        if (pp->n == 0)
                pp->first = e;
        if (pp->n < UINT_MAX)
                pp->n++;
        if (pp->fn && pp->n <= PROFILE_PROBLEMS_MAX)
                pp->fn(&e, pp->userdata);
}

void profile_problem(ProfileProblems *pp, const char *file, ProfileMark mark, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        profile_problemv(pp, file, mark, fmt, ap);
        va_end(ap);
}

/* ---- sources: where a profile's text comes from ---- */

typedef struct Source {
        char *text;
        size_t len;
        char *file; /* what problems name: the path, or "builtin:NAME" */
        char *id;   /* what cycles compare: the real path, or "builtin:NAME" */
} Source;

static void source_done(Source *s) {
        free(s->text);
        free(s->file);
        free(s->id);
        *s = (Source){};
}

static const char *read_error(int r) {
        switch (r) {
        case -EBADFD:
                return "not a regular file";
        case -EFBIG:
                return "larger than 1 MiB";
        default:
                return strerror(-r);
        }
}

/* Regular files only, opened without blocking: "extends: /dev/stdin" or a
 * FIFO must not hang the loader. */
static int read_profile_file(const char *path, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (st.st_size > PROFILE_FILE_MAX)
                return -EFBIG;
        buf = malloc(PROFILE_FILE_MAX + 2);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, PROFILE_FILE_MAX + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > PROFILE_FILE_MAX)
                        return -EFBIG;
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static int source_from_path(const char *path, Source *ret) {
        _cleanup_(source_done) Source s = {};
        char real[PATH_MAX];
        int r;

        r = read_profile_file(path, &s.text, &s.len);
        if (r < 0)
                return r;
        s.file = strdup(path);
        s.id = strdup(realpath(path, real) ? real : path);
        if (!s.file || !s.id)
                return -ENOMEM;
        *ret = s;
        s = (Source){};
        return 0;
}

static const ProfileBuiltin *builtin_find(const char *name) {
        for (size_t i = 0; i < profile_builtins_n; i++)
                if (streq(profile_builtins[i].name, name))
                        return &profile_builtins[i];
        return NULL;
}

/* NAME on the search path: -ENOENT when nowhere; any other error of a
 * file that exists stops the search. */
static int source_from_name(const char *name, Source *ret) {
        static const char *const dirs[] = { PROFILE_SYSCONF_DIR, PROFILE_DATADIR };
        _cleanup_(source_done) Source s = {};
        const ProfileBuiltin *b;

        if (!profile_name_valid(name))
                return -ENOENT;
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *path = NULL;
                int r;

                if (asprintf(&path, "%s/%s.yaml", dirs[i], name) < 0)
                        return -ENOMEM;
                r = source_from_path(path, ret);
                if (r != -ENOENT)
                        return r;
        }
        b = builtin_find(name);
        if (!b)
                return -ENOENT;
        s.text = malloc(b->len + 1);
        if (!s.text)
                return -ENOMEM;
        memcpy(s.text, b->text, b->len + 1);
        s.len = b->len;
        if (asprintf(&s.file, PROFILE_BUILTIN_PREFIX "%s", name) < 0) {
                s.file = NULL;
                return -ENOMEM;
        }
        s.id = strdup(s.file);
        if (!s.id)
                return -ENOMEM;
        *ret = s;
        s = (Source){};
        return 0;
}

int profile_lookup(const char *name, char **ret_path) {
        _cleanup_(source_done) Source s = {};
        int r;

        r = source_from_name(name, &s);
        if (r < 0)
                return r;
        *ret_path = TAKE_PTR(s.file);
        return 0;
}

/* ---- extends chains ---- */

typedef struct Chain {
        ProfileLayer layers[PROFILE_EXTENDS_MAX + 1];
        char *ids[PROFILE_EXTENDS_MAX + 1];
        size_t n;
} Chain;

static void chain_done(Chain *c) {
        for (size_t i = 0; i < c->n; i++) {
                profile_layer_done(&c->layers[i]);
                free(c->ids[i]);
        }
        c->n = 0;
}

/* Parses src into the next layer. by_name: the name it was found by,
 * which the file's name must match. -ENOMEM or 0 (problems in pp). */
static int chain_push(Chain *c, Source *src, const char *by_name, ProfileProblems *pp) {
        ProfileLayer *l = &c->layers[c->n];
        char a[80], b[80];
        int r;

        r = profile_layer_parse(src->text, src->len, src->file, pp, l);
        c->ids[c->n++] = TAKE_PTR(src->id); /* the layer is owned from here on, also on failure */
        if (r == -ENOMEM)
                return r;
        if (by_name && l->p.name && !streq(l->p.name, by_name))
                profile_problem(pp, l->file, l->value_marks[PF_NAME],
                                "name: '%s' does not match the name it was found by ('%s')",
                                profile_shown(l->p.name, a), profile_shown(by_name, b));
        return 0;
}

static int locate_parent(const ProfileLayer *l, Source *ret, ProfileProblems *pp) {
        const char *ref = l->p.extends, *slash;
        ProfileMark at = l->value_marks[PF_EXTENDS];
        _cleanup_free_ char *path = NULL;
        char shown[80];
        int r;

        if (!strchr(ref, '/'))
                r = source_from_name(ref, ret);
        else {
                if (ref[0] != '/' && strncmp(l->file, PROFILE_BUILTIN_PREFIX, strlen(PROFILE_BUILTIN_PREFIX)) == 0) {
                        profile_problem(pp, l->file, at, "extends: a built-in profile cannot extend a relative path");
                        return -EINVAL;
                }
                while (ref[0] == '.' && ref[1] == '/') /* "./x.yaml": no "/./" in the names problems show */
                        ref += 2 + strspn(ref + 2, "/");
                slash = strrchr(l->file, '/');
                if (ref[0] == '/' || !slash)
                        path = strdup(ref);
                else if (asprintf(&path, "%.*s/%s", (int) (slash - l->file), l->file, ref) < 0)
                        path = NULL;
                if (!path)
                        return -ENOMEM;
                r = source_from_path(path, ret);
        }
        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT)
                profile_problem(pp, l->file, at, "extends: profile '%s' not found", profile_shown(l->p.extends, shown));
        else if (r < 0)
                profile_problem(pp, l->file, at, "extends: cannot read '%s': %s", profile_shown(l->p.extends, shown),
                                read_error(r));
        return r;
}

static const char *layer_label(const ProfileLayer *l) {
        return l->p.name ?: l->file;
}

static void report_cycle(const Chain *c, size_t from, ProfileProblems *pp) {
        const ProfileLayer *last = &c->layers[c->n - 1];
        char text[200] = "";

        for (size_t i = from; i < c->n; i++)
                (void) snprintf(text + strlen(text), sizeof text - strlen(text), "%s -> ", layer_label(&c->layers[i]));
        (void) snprintf(text + strlen(text), sizeof text - strlen(text), "%s", layer_label(&c->layers[from]));
        profile_problem(pp, last->file, last->value_marks[PF_EXTENDS], "extends: cycle %s", text);
}

/* Reads the parents of the top layer, up to the first problem in the
 * chain itself (a missing parent, a cycle, too many levels). */
static int chain_extend(Chain *c, ProfileProblems *pp) {
        while (c->layers[c->n - 1].p.extends) {
                const ProfileLayer *l = &c->layers[c->n - 1];
                _cleanup_(source_done) Source src = {};
                const char *by_name;
                int r;

                if (c->n > PROFILE_EXTENDS_MAX) {
                        profile_problem(pp, l->file, l->value_marks[PF_EXTENDS],
                                        "extends: more than %d levels of parents", PROFILE_EXTENDS_MAX);
                        return 0;
                }
                r = locate_parent(l, &src, pp);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return 0;
                for (size_t i = 0; i < c->n; i++)
                        if (streq(c->ids[i], src.id)) {
                                report_cycle(c, i, pp);
                                return 0;
                        }
                by_name = strchr(l->p.extends, '/') ? NULL : l->p.extends;
                r = chain_push(c, &src, by_name, pp);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The whole load: parse, follow extends, merge over the defaults, check,
 * hash. Problems go to pp; -EINVAL when there were any. */
static int resolve(Source *top, const char *by_name, ProfileProblems *pp, Profile *ret) {
        _cleanup_(chain_done) Chain c = {};
        _cleanup_(profile_done) Profile p = {};
        _cleanup_free_ char *text = NULL;
        unsigned before = pp->n;
        int r;

        r = chain_push(&c, top, by_name, pp);
        if (r < 0)
                return r;
        r = chain_extend(&c, pp);
        if (r < 0)
                return r;
        if (pp->n != before)
                return -EINVAL;

        r = profile_defaults(&p);
        if (r < 0)
                return r;
        for (size_t i = c.n; i > 0; i--) {
                r = profile_merge_layer(&p, &c.layers[i - 1], pp);
                if (r < 0)
                        return r;
        }
        if (pp->n != before)
                return -EINVAL;
        profile_normalize(&p);
        p.path = strdup(top->file);
        if (!p.path)
                return -ENOMEM;

        text = profile_to_yaml(&p);
        if (!text)
                return -ENOMEM;
        r = sha256_hex(text, strlen(text), p.sha256);
        if (r < 0) {
                profile_problem(pp, top->file, (ProfileMark){}, "cannot compute SHA-256: %s", strerror(-r));
                return r;
        }
        *ret = p;
        p = (Profile){};
        return 0;
}

static void set_error(ProfileError *reterr, const ProfileProblems *pp, const char *file, int r) {
        if (!reterr)
                return;
        if (pp->n > 0) {
                *reterr = pp->first;
                return;
        }
        *reterr = (ProfileError){};
        (void) snprintf(reterr->file, sizeof reterr->file, "%s", file ?: "");
        (void) snprintf(reterr->message, sizeof reterr->message, "%s", read_error(r));
}

int profile_load_string(const char *text, size_t len, const char *filename, Profile *ret, ProfileError *reterr) {
        _cleanup_(source_done) Source src = {};
        ProfileProblems pp = {};
        char real[PATH_MAX];
        int r;

        filename = filename ?: "<string>";
        if (len > PROFILE_FILE_MAX) {
                set_error(reterr, &pp, filename, -EFBIG);
                return -EFBIG;
        }
        src.text = malloc(len + 1);
        src.file = strdup(filename);
        src.id = strdup(realpath(filename, real) ? real : filename);
        if (!src.text || !src.file || !src.id) {
                set_error(reterr, &pp, filename, -ENOMEM);
                return -ENOMEM;
        }
        if (len > 0)
                memcpy(src.text, text, len);
        src.text[len] = 0;
        src.len = len;

        r = resolve(&src, NULL, &pp, ret);
        if (r < 0)
                set_error(reterr, &pp, filename, r);
        return r;
}

static bool is_path(const char *s) {
        size_t n = strlen(s);
        return strchr(s, '/') || (n >= 5 && streq(s + n - 5, ".yaml"));
}

int profile_load(const char *name_or_path, Profile *ret, ProfileError *reterr) {
        _cleanup_(source_done) Source src = {};
        ProfileProblems pp = {};
        char shown[80];
        int r;

        if (is_path(name_or_path)) {
                r = source_from_path(name_or_path, &src);
                if (r < 0) {
                        set_error(reterr, &pp, name_or_path, r);
                        return r;
                }
                r = resolve(&src, NULL, &pp, ret);
        } else {
                r = source_from_name(name_or_path, &src);
                if (r == -ENOENT) {
                        profile_problem(&pp, "", (ProfileMark){}, "profile '%s' not found",
                                        profile_shown(name_or_path, shown));
                        set_error(reterr, &pp, NULL, r);
                        return r;
                }
                if (r < 0) {
                        set_error(reterr, &pp, name_or_path, r);
                        return r;
                }
                r = resolve(&src, name_or_path, &pp, ret);
        }
        if (r < 0)
                set_error(reterr, &pp, name_or_path, r);
        return r;
}

int profile_check_file(const char *path, ProfileProblemFn fn, void *userdata) {
        _cleanup_(source_done) Source src = {};
        _cleanup_(profile_done) Profile p = {};
        ProfileProblems pp = { .fn = fn, .userdata = userdata };
        int r;

        r = source_from_path(path, &src);
        if (r < 0)
                return r;
        r = resolve(&src, NULL, &pp, &p);
        if (r == -ENOMEM)
                return r;
        return (int) (pp.n > INT_MAX ? INT_MAX : pp.n);
}

/* ---- listing ---- */

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int list_dir(const char *dir, char ***names) {
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 : -errno;
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                char *name;

                if (n <= 5 || !streq(de->d_name + n - 5, ".yaml"))
                        continue;
                name = strndup(de->d_name, n - 5);
                if (!name)
                        return -ENOMEM;
                if (!profile_name_valid(name) || strv_contains(*names, name)) {
                        free(name);
                        continue;
                }
                if (strv_push(names, name) < 0)
                        return -ENOMEM;
        }
        return 0;
}

char **profile_list(void) {
        _cleanup_(strv_freep) char **names = calloc(1, sizeof(char *));

        if (!names || list_dir(PROFILE_SYSCONF_DIR, &names) < 0 || list_dir(PROFILE_DATADIR, &names) < 0)
                return NULL;
        for (size_t i = 0; i < profile_builtins_n; i++)
                if (!strv_contains(names, profile_builtins[i].name) &&
                    strv_push(&names, strdup(profile_builtins[i].name)) < 0)
                        return NULL;
        qsort(names, strv_length(names), sizeof(char *), cmp_str);
        return TAKE_PTR(names);
}

/* ---- the rest of the API ---- */

void profile_done(Profile *p) {
        if (!p)
                return;
        free(p->name);
        free(p->description);
        free(p->extends);
        free(p->path);
        strv_free(p->system_dirs);
        for (size_t i = 0; p->binds && i < p->n_binds; i++) {
                free(p->binds[i].source);
                free(p->binds[i].dest);
        }
        free(p->binds);
        strv_free(p->hide);
        free(p->workdir);
        for (size_t i = 0; p->net_allow && i < p->n_net_allow; i++)
                free(p->net_allow[i].host);
        free(p->net_allow);
        strv_free(p->env_allow);
        strv_free(p->env_set);
        for (size_t i = 0; p->secrets && i < p->n_secrets; i++) {
                free(p->secrets[i].name);
                free(p->secrets[i].target);
        }
        free(p->secrets);
        for (size_t i = 0; p->seccomp.allow && i < p->seccomp.n_allow; i++)
                free(p->seccomp.allow[i].name);
        free(p->seccomp.allow);
        for (size_t i = 0; p->seccomp.deny && i < p->seccomp.n_deny; i++)
                free(p->seccomp.deny[i].name);
        free(p->seccomp.deny);
        free(p->seccomp.socket_families);
        free(p->seccomp.ioctl_deny);
        strv_free(p->observe.watch);
        *p = (Profile){};
}

#define TO_STRING(fn, type, max, ...)                              \
        const char *fn(type v) {                                   \
                static const char *const table[max] = __VA_ARGS__; \
                return v >= 0 && v < max ? table[v] : NULL;        \
        }

TO_STRING(profile_class_to_string, ProfileClass, _PROFILE_CLASS_MAX,
          { [PROFILE_CLASS_INTERACTIVE] = "interactive", [PROFILE_CLASS_BATCH] = "batch" })
TO_STRING(profile_mode_to_string, ProfileMode, _PROFILE_MODE_MAX,
          { [PROFILE_MODE_ENFORCE] = "enforce", [PROFILE_MODE_AUDIT] = "audit" })
TO_STRING(net_mode_to_string, NetMode, _NET_MODE_MAX, { [NET_MODE_NONE] = "none", [NET_MODE_ALLOWLIST] = "allowlist" })
TO_STRING(seccomp_default_to_string, SeccompDefault, _SECCOMP_DEFAULT_MAX,
          { [SECCOMP_DEFAULT_ALLOW] = "allow",
            [SECCOMP_DEFAULT_ERRNO] = "errno",
            [SECCOMP_DEFAULT_KILL] = "kill",
            [SECCOMP_DEFAULT_LOG] = "log" })
