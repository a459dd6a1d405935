/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One profile file's document -> ProfileLayer: what the file sets, checked
 * value by value, with where each key and value is. Walks the document
 * along the format's fixed schema (never recursively: aliases may make the
 * node graph cyclic) and reports every problem, not just the first. The
 * top-level keys, limits, filesystem, env, secrets and observe are here;
 * network and seccomp in profile-layer-rules.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile-walk.h"
#include "units.h"

static int on_version(_unused_ Walk *w, _unused_ const char *path, _unused_ int key, _unused_ int value,
                      _unused_ int arg) {
        return 0; /* checked before the walk */
}

static int on_name(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        const char *t = layer_scalar(w, path, layer_mark(w, key), value, "a string");
        char shown[80];

        if (!t)
                return 0;
        if (!profile_name_valid(t)) {
                layer_problem(w, layer_mark(w, value), path, "'%s' is not a valid name ([a-z0-9][a-z0-9._-]{0,63})",
                              profile_shown(t, shown));
                return 0;
        }
        w->l->p.name = strdup(t);
        if (!w->l->p.name)
                return -ENOMEM;
        layer_set(w, PF_NAME, key, value);
        return 0;
}

static int on_description(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        int r = layer_dup_string(w, path, key, value, &w->l->p.description);
        if (r == 0)
                layer_set(w, PF_DESCRIPTION, key, value);
        return r < 0 ? r : 0;
}

static int on_extends(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        const char *t;
        char shown[80];

        if (layer_kind(w, value) == PROFILE_NODE_NULL) { /* no parent */
                layer_set(w, PF_EXTENDS, key, value);
                return 0;
        }
        t = layer_scalar(w, path, layer_mark(w, key), value, "a profile name or a path");
        if (!t)
                return 0;
        if (!strchr(t, '/') && !profile_name_valid(t)) {
                layer_problem(w, layer_mark(w, value), path,
                              "'%s' is neither a profile name nor a path (a path contains '/')",
                              profile_shown(t, shown));
                return 0;
        }
        w->l->p.extends = strdup(t);
        if (!w->l->p.extends)
                return -ENOMEM;
        layer_set(w, PF_EXTENDS, key, value);
        return 0;
}

static int on_class(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const char *const names[] = { "interactive", "batch" };
        int v;

        if (layer_pick(w, path, key, value, names, ELEMENTSOF(names), &v) < 0)
                return 0;
        w->l->p.class_ = (ProfileClass) v;
        layer_set(w, PF_CLASS, key, value);
        return 0;
}

static int on_mode(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const char *const names[] = { "enforce", "audit" };
        int v;

        if (layer_pick(w, path, key, value, names, ELEMENTSOF(names), &v) < 0)
                return 0;
        w->l->p.mode = (ProfileMode) v;
        layer_set(w, PF_MODE, key, value);
        return 0;
}

/* A boolean the way YAML 1.1 spells it in practice; anything else is a problem. */
static int parse_bool(Walk *w, const char *path, int key, int value, bool *ret) {
        const char *t = layer_scalar(w, path, layer_mark(w, key), value, "true or false");
        if (!t)
                return -EINVAL;
        if (streq(t, "true") || streq(t, "True") || streq(t, "TRUE"))
                *ret = true;
        else if (streq(t, "false") || streq(t, "False") || streq(t, "FALSE"))
                *ret = false;
        else {
                char shown[80];
                layer_problem(w, layer_mark(w, value), path, "'%s' is not true or false", profile_shown(t, shown));
                return -EINVAL;
        }
        return 0;
}

static int on_keep_code(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        bool v;
        if (parse_bool(w, path, key, value, &v) < 0)
                return 0;
        w->l->p.keep_code = v;
        layer_set(w, PF_KEEP_CODE, key, value);
        return 0;
}

/* ---- limits ---- */

typedef enum LimitKind {
        LIMIT_SIZE,
        LIMIT_DURATION,
        LIMIT_CPUS,
        LIMIT_COUNT,
} LimitKind;

static const struct LimitSpec {
        ProfileField field;
        LimitKind kind;
        size_t offset;
        uint64_t min, max;
        bool unlimited;           /* "unlimited" is accepted */
        uint64_t unlimited_value; /* and stored as */
} limits[] = {
        { PF_MEMORY, LIMIT_SIZE, offsetof(Profile, limits.memory_bytes), 4ULL << 20, UINT64_MAX, true,
          SANDBOX_UNLIMITED },
        { PF_SWAP, LIMIT_SIZE, offsetof(Profile, swap_bytes), 0, UINT64_MAX, false, 0 },
        { PF_CPUS, LIMIT_CPUS, offsetof(Profile, limits.cpu_millicores), 10, UINT64_MAX, false, 0 },
        { PF_PIDS, LIMIT_COUNT, offsetof(Profile, limits.pids), 1, 4194304, false, 0 },
        { PF_WALL_TIME, LIMIT_DURATION, offsetof(Profile, limits.timeout_usec), 0, UINT64_MAX, false, 0 },
        { PF_CPU_TIME, LIMIT_DURATION, offsetof(Profile, limits.cpu_time_usec), 0, UINT64_MAX, false, 0 },
        { PF_TMPFS, LIMIT_SIZE, offsetof(Profile, limits.tmpfs_bytes), 4ULL << 10, UINT64_MAX, false, 0 },
        { PF_OPEN_FILES, LIMIT_COUNT, offsetof(Profile, nofile), 16, 1048576, false, 0 },
        { PF_FILE_SIZE, LIMIT_SIZE, offsetof(Profile, fsize_bytes), 0, UINT64_MAX, true, 0 },
        { PF_OUTPUT, LIMIT_SIZE, offsetof(Profile, output_bytes), 0, UINT64_MAX, false, 0 },
        /* Not a limit of the task's but a number checked the same way; the last entry. */
        { PF_OBSERVE_BUDGET, LIMIT_COUNT, offsetof(Profile, observe.event_budget), 1, PROFILE_OBSERVE_BUDGET_MAX,
          false, 0 },
};
#define LIMIT_OBSERVE_BUDGET ((int) ELEMENTSOF(limits) - 1)

static int on_limit(Walk *w, const char *path, int key, int value, int arg) {
        static const char *const what[] = {
                [LIMIT_SIZE] = "a size",
                [LIMIT_DURATION] = "a duration",
                [LIMIT_CPUS] = "a number of cores",
                [LIMIT_COUNT] = "a number",
        };
        const struct LimitSpec *s = &limits[arg];
        char shown[80], b[PROFILE_NUMBUF];
        ProfileMark at = layer_mark(w, value);
        const char *t = layer_scalar(w, path, layer_mark(w, key), value, what[s->kind]);
        uint64_t v = 0;
        int r;

        if (!t)
                return 0;
        profile_shown(t, shown);
        if (s->unlimited && streq(t, "unlimited"))
                v = s->unlimited_value;
        else
                switch (s->kind) {
                case LIMIT_SIZE:
                        r = parse_size(t, &v);
                        if (r == -ERANGE) {
                                layer_problem(w, at, path, "'%s' is too large", shown);
                                return 0;
                        }
                        if (r < 0) {
                                layer_problem(w, at, path, "'%s' is not a size; write it like 64MiB or 1GiB", shown);
                                return 0;
                        }
                        if (v < s->min) {
                                layer_problem(w, at, path, "'%s' is below the minimum of %s", shown,
                                              format_size(s->min, b));
                                return 0;
                        }
                        break;
                case LIMIT_DURATION:
                        r = parse_duration(t, &v);
                        if (r == -ERANGE) {
                                layer_problem(w, at, path, "'%s' is too long", shown);
                                return 0;
                        }
                        if (r < 0) {
                                layer_problem(w, at, path, "'%s' is not a duration; write it like 30s, 10m or 2h",
                                              shown);
                                return 0;
                        }
                        break;
                case LIMIT_CPUS:
                        r = parse_cpus(t, &v);
                        if (r == -ERANGE) {
                                layer_problem(w, at, path, "'%s' is out of range: at least 0.01 cores", shown);
                                return 0;
                        }
                        if (r < 0) {
                                layer_problem(w, at, path,
                                              "'%s' is not a number of cores; write it like 0.5, 1 or 2 (at most "
                                              "three decimals)",
                                              shown);
                                return 0;
                        }
                        break;
                case LIMIT_COUNT:
                        r = parse_u64(t, &v);
                        if (r == -EINVAL) {
                                layer_problem(w, at, path, "'%s' is not a number", shown);
                                return 0;
                        }
                        if (r < 0 || v < s->min || v > s->max) {
                                layer_problem(w, at, path, "'%s' is out of range (%" PRIu64 "-%" PRIu64 ")", shown,
                                              s->min, s->max);
                                return 0;
                        }
                        break;
                }
        memcpy((char *) &w->l->p + s->offset, &v, sizeof v);
        layer_set(w, s->field, key, value);
        return 0;
}

static int item_env_glob(Walk *w, const char *path, int item, const char *t, char **ret) {
        char shown[80];

        if (!env_glob_valid(t)) {
                layer_problem(w, layer_mark(w, item), path,
                              "'%s' is not a variable name or glob (A-Z a-z 0-9 _ * ? [ ])", profile_shown(t, shown));
                return 1;
        }
        *ret = strdup(t);
        return *ret ? 0 : -ENOMEM;
}

/* ---- filesystem ---- */

static int on_system_dirs(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        return layer_strv_list(w, path, key, value, PF_SYSTEM_DIRS, layer_item_path, &w->l->p.system_dirs);
}

static int on_hide(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        return layer_strv_list(w, path, key, value, PF_HIDE, layer_item_path, &w->l->p.hide);
}

static int on_workdir(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        int r = 0;

        if (layer_kind(w, value) != PROFILE_NODE_NULL) /* null: none */
                r = layer_dup_path(w, path, layer_mark(w, key), value, &w->l->p.workdir);
        if (r == 0)
                layer_set(w, PF_WORKDIR, key, value);
        return r < 0 ? r : 0;
}

static int on_bind_key(Walk *w, const char *path, int key, int value, int arg) {
        static const char *const modes[] = { [BIND_RO] = "ro", [BIND_RW] = "rw" };
        ProfileBind *b = w->target;
        int v, r;

        switch (arg) {
        case 0:
                r = layer_dup_path(w, path, layer_mark(w, key), value, &b->source);
                return r < 0 ? r : 0;
        case 1:
                r = layer_dup_path(w, path, layer_mark(w, key), value, &b->dest);
                return r < 0 ? r : 0;
        case 2:
                if (layer_pick(w, path, key, value, modes, ELEMENTSOF(modes), &v) == 0)
                        b->mode = (BindMode) v;
                return 0;
        default: {
                bool must;
                if (parse_bool(w, path, key, value, &must) == 0)
                        b->must_exist = must;
                return 0;
        }
        }
}

static int on_binds(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const KeyHandler keys[] = {
                { "src", on_bind_key, 0 },
                { "dst", on_bind_key, 1 },
                { "mode", on_bind_key, 2 },
                { "must_exist", on_bind_key, 3 },
        };
        ProfileLayer *l = w->l;
        unsigned before = w->pp->n;
        size_t n;

        if (!layer_want_sequence(w, path, key, value))
                return 0;
        n = profile_node_size(w->doc, value);
        l->p.binds = calloc(n ? n : 1, sizeof(ProfileBind));
        if (!l->p.binds)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int item = profile_node_item(w->doc, value, i);
                ProfileBind *b = &l->p.binds[l->p.n_binds];
                char ip[PATH_LEN], shown[80];
                unsigned errors = w->pp->n;
                int r;

                *b = (ProfileBind){ .mode = BIND_RO, .must_exist = true };
                l->p.n_binds++; /* owned from here on */
                r = layer_entry(w, layer_indexed(ip, path, i), item, keys, ELEMENTSOF(keys), b);
                if (r < 0)
                        return r;
                if (layer_kind(w, item) != PROFILE_NODE_MAPPING || w->pp->n != errors)
                        continue;
                if (!b->source) {
                        layer_problem(w, layer_mark(w, item), ip, "src: missing");
                        continue;
                }
                if (!b->dest) {
                        b->dest = strdup(b->source);
                        if (!b->dest)
                                return -ENOMEM;
                }
                for (size_t j = 0; j + 1 < l->p.n_binds; j++)
                        if (l->p.binds[j].dest && streq(l->p.binds[j].dest, b->dest)) {
                                layer_problem(w, layer_mark(w, item), ip, "'%s' is already the dst of %s[%zu]",
                                              profile_shown(b->dest, shown), path, j);
                                break;
                        }
        }
        if (w->pp->n == before)
                layer_set(w, PF_BINDS, key, value);
        return 0;
}

/* ---- env ---- */

static int on_env_allow(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        return layer_strv_list(w, path, key, value, PF_ENV_ALLOW, item_env_glob, &w->l->p.env_allow);
}

static int on_env_var(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        const char *name = profile_node_text(w->doc, key, NULL), *t;
        char vp[PATH_LEN], shown[80], *s;

        if (!env_name_valid(name, strlen(name))) {
                layer_problem(w, layer_mark(w, key), path, "'%s' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)",
                              profile_shown(name, shown));
                return 0;
        }
        t = layer_scalar(w, layer_join(vp, path, name), layer_mark(w, key), value, "a string");
        if (!t)
                return 0;
        if (asprintf(&s, "%s=%s", name, t) < 0)
                return -ENOMEM;
        return strv_push(&w->l->p.env_set, s);
}

static int on_env_set(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        unsigned before = w->pp->n;
        ProfileNodeKind k = layer_kind(w, value);
        int r;

        if (k != PROFILE_NODE_MAPPING) {
                layer_problem(w, layer_mark(w, key), path, "expected a mapping, got %s", layer_kind_name(k));
                return 0;
        }
        if (profile_node_size(w->doc, value) > PROFILE_LIST_MAX) {
                layer_problem(w, layer_mark(w, value), path, "more than %d entries", PROFILE_LIST_MAX);
                return 0;
        }
        w->l->p.env_set = calloc(1, sizeof(char *));
        if (!w->l->p.env_set)
                return -ENOMEM;
        r = layer_walk_mapping(w, path, value, NULL, 0, on_env_var);
        if (r < 0)
                return r;
        if (w->pp->n == before)
                layer_set(w, PF_ENV_SET, key, value);
        return 0;
}

/* ---- secrets ---- */

static int on_secret_key(Walk *w, const char *path, int key, int value, int arg) {
        ProfileSecret *s = w->target;
        const char *t;
        char shown[80];
        int r;

        if (arg == 2) { /* file */
                r = layer_dup_path(w, path, layer_mark(w, key), value, &s->target);
                if (r == 0)
                        s->as = SECRET_AS_FILE;
                return r < 0 ? r : 0;
        }
        t = layer_scalar(w, path, layer_mark(w, key), value, "a string");
        if (!t)
                return 0;
        if (arg == 0 ? !secret_name_valid(t) : !env_name_valid(t, strlen(t))) {
                layer_problem(w, layer_mark(w, value), path,
                              arg == 0 ? "'%s' is not a secret name ([A-Za-z0-9_.-]{1,64}, not . or ..)"
                                       : "'%s' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)",
                              profile_shown(t, shown));
                return 0;
        }
        if (arg == 0) {
                free(s->name);
                s->name = strdup(t);
                return s->name ? 0 : -ENOMEM;
        }
        free(s->target);
        s->target = strdup(t);
        s->as = SECRET_AS_ENV;
        return s->target ? 0 : -ENOMEM;
}

static int on_secrets(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const KeyHandler keys[] = {
                { "name", on_secret_key, 0 },
                { "env", on_secret_key, 1 },
                { "file", on_secret_key, 2 },
        };
        ProfileLayer *l = w->l;
        unsigned before = w->pp->n;
        size_t n;

        if (!layer_want_sequence(w, path, key, value))
                return 0;
        n = profile_node_size(w->doc, value);
        l->p.secrets = calloc(n ? n : 1, sizeof(ProfileSecret));
        if (!l->p.secrets)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int item = profile_node_item(w->doc, value, i);
                ProfileSecret *s = &l->p.secrets[l->p.n_secrets++];
                unsigned errors = w->pp->n;
                char ip[PATH_LEN], shown[80];
                const char *t;
                int r;

                layer_indexed(ip, path, i);
                if (layer_kind(w, item) == PROFILE_NODE_MAPPING) {
                        bool has_env = layer_find_key(w, item, "env"), has_file = layer_find_key(w, item, "file");

                        r = layer_entry(w, ip, item, keys, ELEMENTSOF(keys), s);
                        if (r < 0)
                                return r;
                        if (w->pp->n != errors)
                                continue;
                        if (!s->name) {
                                layer_problem(w, layer_mark(w, item), ip, "name: missing");
                                continue;
                        }
                        if (has_env == has_file) {
                                layer_problem(w, layer_mark(w, item), ip, "give exactly one of env or file");
                                continue;
                        }
                } else {
                        t = layer_scalar(w, ip, layer_mark(w, item), item, "a secret name or a mapping");
                        if (!t)
                                continue;
                        if (!secret_name_valid(t)) {
                                layer_problem(w, layer_mark(w, item), ip,
                                              "'%s' is not a secret name ([A-Za-z0-9_.-]{1,64}, not . or ..)",
                                              profile_shown(t, shown));
                                continue;
                        }
                        s->name = strdup(t);
                        s->as = SECRET_AS_FILE;
                        if (!s->name || asprintf(&s->target, "/run/secrets/%s", t) < 0) {
                                s->target = NULL;
                                return -ENOMEM;
                        }
                }
                for (size_t j = 0; j + 1 < l->p.n_secrets; j++)
                        if (l->p.secrets[j].name && streq(l->p.secrets[j].name, s->name)) {
                                layer_problem(w, layer_mark(w, item), ip, "secret '%s' is already listed",
                                              profile_shown(s->name, shown));
                                break;
                        }
        }
        if (w->pp->n == before)
                layer_set(w, PF_SECRETS, key, value);
        return 0;
}

/* ---- observe ---- */

static int on_observe_shape(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        bool v;
        if (parse_bool(w, path, key, value, &v) < 0)
                return 0;
        w->l->p.observe.shape = v;
        layer_set(w, PF_OBSERVE_SHAPE, key, value);
        return 0;
}

static int item_watch(Walk *w, const char *path, int item, const char *t, char **ret) {
        const char *why = watch_pattern_problem(t);
        char shown[80];

        if (why) {
                layer_problem(w, layer_mark(w, item), path, "'%s' %s", profile_shown(t, shown), why);
                return 1;
        }
        *ret = strdup(t);
        return *ret ? 0 : -ENOMEM;
}

static int on_observe_watch(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        if (layer_kind(w, value) == PROFILE_NODE_SEQUENCE &&
            profile_node_size(w->doc, value) > PROFILE_OBSERVE_WATCH_MAX) {
                layer_problem(w, layer_mark(w, profile_node_item(w->doc, value, PROFILE_OBSERVE_WATCH_MAX)), path,
                              "more than %d patterns", PROFILE_OBSERVE_WATCH_MAX);
                return 0;
        }
        return layer_strv_list(w, path, key, value, PF_OBSERVE_WATCH, item_watch, &w->l->p.observe.watch);
}

/* ---- sections ---- */

static int on_limits(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const KeyHandler keys[] = {
                { "memory", on_limit, 0 }, { "swap", on_limit, 1 },       { "cpus", on_limit, 2 },
                { "pids", on_limit, 3 },   { "wall_time", on_limit, 4 },  { "cpu_time", on_limit, 5 },
                { "tmpfs", on_limit, 6 },  { "open_files", on_limit, 7 }, { "file_size", on_limit, 8 },
                { "output", on_limit, 9 },
        };
        return layer_section(w, path, key, value, keys, ELEMENTSOF(keys));
}

static int on_filesystem(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const KeyHandler keys[] = {
                { "system_dirs", on_system_dirs, 0 },
                { "binds", on_binds, 0 },
                { "hide", on_hide, 0 },
                { "workdir", on_workdir, 0 },
        };
        return layer_section(w, path, key, value, keys, ELEMENTSOF(keys));
}

static int on_env(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const KeyHandler keys[] = {
                { "allow", on_env_allow, 0 },
                { "set", on_env_set, 0 },
        };
        return layer_section(w, path, key, value, keys, ELEMENTSOF(keys));
}

static int on_observe(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const KeyHandler keys[] = {
                { "shape", on_observe_shape, 0 },
                { "watch", on_observe_watch, 0 },
                { "event_budget", on_limit, LIMIT_OBSERVE_BUDGET },
        };
        return layer_section(w, path, key, value, keys, ELEMENTSOF(keys));
}

static const KeyHandler top_keys[] = {
        { "version", on_version, 0 },
        { "name", on_name, 0 },
        { "description", on_description, 0 },
        { "extends", on_extends, 0 },
        { "class", on_class, 0 },
        { "mode", on_mode, 0 },
        { "keep_code", on_keep_code, 0 },
        { "limits", on_limits, 0 },
        { "filesystem", on_filesystem, 0 },
        { "network", layer_on_network, 0 },
        { "env", on_env, 0 },
        { "secrets", on_secrets, 0 },
        { "seccomp", layer_on_seccomp, 0 },
        { "observe", on_observe, 0 },
};

/* 0: go on; 1: a version this code cannot read (stop here). */
static int check_version(Walk *w, int root) {
        int key = layer_find_key(w, root, "version"), value = 0;
        const char *t;
        char shown[80];

        if (!key) {
                layer_problem(w, w->l->root, "version", "missing");
                return 0;
        }
        for (size_t i = 0; i < profile_node_size(w->doc, root); i++)
                if (profile_node_key(w->doc, root, i) == key)
                        value = profile_node_value(w->doc, root, i);
        t = layer_scalar(w, "version", layer_mark(w, key), value, "an integer");
        if (!t)
                return 0;
        if (!streq(t, "1")) {
                layer_problem(w, layer_mark(w, value), "version",
                              "%s is not supported (this stockade reads version %d)", profile_shown(t, shown),
                              PROFILE_VERSION);
                return 1;
        }
        return 0;
}

void profile_layer_done(ProfileLayer *l) {
        if (!l)
                return;
        free(l->file);
        free(l->allow_marks);
        profile_done(&l->p);
        *l = (ProfileLayer){};
}

int profile_layer_parse(const char *text, size_t len, const char *file, ProfileProblems *pp, ProfileLayer *ret) {
        _cleanup_(profile_doc_freep) ProfileDoc *doc = NULL;
        unsigned before = pp->n;
        Walk w;
        int root, r;

        *ret = (ProfileLayer){ .root = { 1, 1 } };
        ret->file = strdup(file);
        if (!ret->file)
                return -ENOMEM;
        r = profile_doc_parse(text, len, file, pp, &doc);
        if (r < 0)
                return r;

        w = (Walk){ .doc = doc, .file = file, .pp = pp, .l = ret };
        root = profile_doc_root(doc);
        if (root > 0)
                ret->root = profile_node_mark(doc, root);
        if (root == 0 || layer_kind(&w, root) == PROFILE_NODE_NULL) {
                layer_problem(&w, ret->root, "version", "missing");
                return -EINVAL;
        }
        if (layer_kind(&w, root) != PROFILE_NODE_MAPPING) {
                layer_problem(&w, ret->root, NULL, "expected a mapping of keys at the top, got %s",
                              layer_kind_name(layer_kind(&w, root)));
                return -EINVAL;
        }
        if (check_version(&w, root) > 0)
                return -EINVAL;
        r = layer_walk_mapping(&w, "", root, top_keys, ELEMENTSOF(top_keys), NULL);
        free(w.deny_origin);
        if (r < 0)
                return r;
        if (!layer_find_key(&w, root, "name"))
                layer_problem(&w, ret->root, "name", "missing");
        return pp->n == before ? 0 : -EINVAL;
}
