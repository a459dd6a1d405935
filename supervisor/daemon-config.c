/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stockaded's own configuration file (stockaded(8), CONFIGURATION): libyaml's
 * document tree walked along a fixed schema. Self-contained on purpose: the
 * profile walker's machinery (layers, merging, many problems at once) is
 * more than this small file needs, and the daemon wants only the first
 * problem, file:line:column, and the old config kept. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "daemon-config.h"
#include "fileio.h"
#include "macro.h"
#include "sha256.h"
#include "units.h"

/* Caps on what a user controls (STYLE 5). */
#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_SCALAR_MAX 4096
#define CONFIG_LIST_MAX 4096
#define CONFIG_NAME_MAX 64
#define CONFIG_SOCKET_PATH_MAX 107 /* sizeof(sockaddr_un.sun_path) - 1 */

#define RUN_UID_FIRST_DEFAULT 200000U
#define RUN_UID_COUNT_DEFAULT 1000U
#define RUN_UID_FIRST_MIN 1000U
#define RUN_UID_END_MAX (UINT64_C(1) << 31)

#define MAX_CONCURRENT_DEFAULT 8U
#define MAX_CONCURRENT_MAX 4096U
#define RATE_PER_MINUTE_MAX 100000U /* admission keeps one timestamp per admission in the window */
#define MAX_QUEUED_MAX 65536U
#define CPU_WEIGHT_DEFAULT 100U
#define CPU_WEIGHT_MAX 10000U
#define PIDS_MAX_MAX 4194304U /* the kernel's PID_MAX_LIMIT */

#define GRACE_DEFAULT_USEC (10 * USEC_PER_SEC)
#define REQUEST_TIMEOUT_DEFAULT_USEC (5 * USEC_PER_SEC)
#define QUEUE_TIMEOUT_DEFAULT_USEC (30 * USEC_PER_SEC)

#define PATH_LEN 128

/* Caller ids are read into uint32_t lists whatever the libc calls them. */
_Static_assert(sizeof(uid_t) == sizeof(uint32_t) && (uid_t) -1 > 0, "uid_t is not a 32-bit unsigned");
_Static_assert(sizeof(gid_t) == sizeof(uint32_t) && (gid_t) -1 > 0, "gid_t is not a 32-bit unsigned");

typedef struct Ctx {
        yaml_document_t *doc;
        const char *file;
        DaemonConfigError *err;
} Ctx;

/* What the cross-tenant checks need to point at, kept beside the Tenant. */
typedef struct TenantMarks {
        const yaml_node_t *node;    /* the tenant's mapping */
        const yaml_node_t *name;    /* name's value */
        const yaml_node_t *uids;    /* the sequences, or NULL */
        const yaml_node_t *gids;
        const yaml_node_t *run_uid; /* run_uid's value, NULL: not set */
} TenantMarks;

static void parser_done(yaml_parser_t *p) {
        yaml_parser_delete(p);
}

static void error_set(DaemonConfigError *err, const char *file, unsigned line, unsigned column, const char *fmt, ...)
        _printf_(5, 6);
static void error_set(DaemonConfigError *err, const char *file, unsigned line, unsigned column, const char *fmt, ...) {
        va_list ap;

        if (!err)
                return;
        *err = (DaemonConfigError) { .line = line, .column = column };
        (void) snprintf(err->file, sizeof err->file, "%s", file ?: "");
        va_start(ap, fmt);
        (void) vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
}

/* Records the problem at node (NULL: not at a place), prefixed with the key
 * path, and returns -EINVAL. */
static int fail(Ctx *c, const yaml_node_t *at, const char *path, const char *fmt, ...) _printf_(4, 5);
static int fail(Ctx *c, const yaml_node_t *at, const char *path, const char *fmt, ...) {
        char msg[256];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        error_set(c->err, c->file, at ? (unsigned) at->start_mark.line + 1 : 0,
                  at ? (unsigned) at->start_mark.column + 1 : 0, "%s%s%s", path ?: "", path && *path ? ": " : "",
                  msg);
        return -EINVAL;
}

/* ---- nodes ---- */

typedef enum Kind {
        KIND_NULL,
        KIND_SCALAR,
        KIND_SEQUENCE,
        KIND_MAPPING,
} Kind;

static yaml_node_t *node(Ctx *c, int i) {
        return yaml_document_get_node(c->doc, i);
}

static Kind kind(const yaml_node_t *n) {
        const char *v;

        if (!n)
                return KIND_NULL;
        switch (n->type) {
        case YAML_MAPPING_NODE:
                return KIND_MAPPING;
        case YAML_SEQUENCE_NODE:
                return KIND_SEQUENCE;
        case YAML_SCALAR_NODE:
                if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                        return KIND_SCALAR;
                v = (const char *) n->data.scalar.value;
                if (n->data.scalar.length == 0 || streq(v, "~") || streq(v, "null") || streq(v, "Null") ||
                    streq(v, "NULL"))
                        return KIND_NULL;
                return KIND_SCALAR;
        case YAML_NO_NODE:
        default:
                return KIND_NULL;
        }
}

static const char *kind_name(Kind k) {
        switch (k) {
        case KIND_SCALAR:
                return "a scalar";
        case KIND_SEQUENCE:
                return "a sequence";
        case KIND_MAPPING:
                return "a mapping";
        case KIND_NULL:
        default:
                return "null";
        }
}

static size_t seq_size(const yaml_node_t *n) {
        return (size_t) (n->data.sequence.items.top - n->data.sequence.items.start);
}

static size_t map_size(const yaml_node_t *n) {
        return (size_t) (n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

/* Key paths for messages ("tenants[2].uids[0]"); a long one is cut short,
 * which is fine for a message. */
static const char *path_key(char buf[static PATH_LEN], const char *path, const char *key) {
        if (snprintf(buf, PATH_LEN, "%s%s%s", path, *path ? "." : "", key) >= PATH_LEN)
                buf[PATH_LEN - 1] = 0;
        return buf;
}

static const char *path_index(char buf[static PATH_LEN], const char *path, size_t i) {
        if (snprintf(buf, PATH_LEN, "%s[%zu]", path, i) >= PATH_LEN)
                buf[PATH_LEN - 1] = 0;
        return buf;
}

/* A scalar's text, or NULL after a problem. A wrong type is reported at
 * `at` (the key of a mapping entry, or the list item itself). */
static const char *scalar(Ctx *c, const char *path, const yaml_node_t *at, const yaml_node_t *n, const char *what) {
        Kind k = kind(n);
        const char *t;

        if (k != KIND_SCALAR) {
                (void) fail(c, at, path, "expected %s, got %s", what, kind_name(k));
                return NULL;
        }
        t = (const char *) n->data.scalar.value;
        if (strlen(t) != n->data.scalar.length) {
                (void) fail(c, n, path, "contains a NUL character");
                return NULL;
        }
        if (n->data.scalar.length > CONFIG_SCALAR_MAX) {
                (void) fail(c, n, path, "longer than %d bytes", CONFIG_SCALAR_MAX);
                return NULL;
        }
        return t;
}

static int want_sequence(Ctx *c, const char *path, const yaml_node_t *key, const yaml_node_t *n) {
        Kind k = kind(n);

        if (k != KIND_SEQUENCE)
                return fail(c, key, path, "expected a sequence, got %s", kind_name(k));
        if (seq_size(n) > CONFIG_LIST_MAX)
                return fail(c, n, path, "more than %d entries", CONFIG_LIST_MAX);
        return 0;
}

/* Checks a mapping's keys against keys[] (scalar, known, not repeated) and
 * calls fn for each entry with the key's index in keys[]. */
typedef int (*EntryFn)(Ctx *c, const char *path, size_t which, const yaml_node_t *key, const yaml_node_t *value,
                       void *userdata);

static int walk_mapping(Ctx *c, const char *path, const yaml_node_t *map, const char *const *keys, EntryFn fn,
                        void *userdata) {
        size_t n = map_size(map);

        for (size_t i = 0; i < n; i++) {
                const yaml_node_pair_t *p = map->data.mapping.pairs.start + i;
                const yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
                const char *name;
                size_t which;
                int r;

                if (kind(k) != KIND_SCALAR)
                        return fail(c, k, path, "expected a key, got %s", kind_name(kind(k)));
                name = (const char *) k->data.scalar.value;
                for (size_t j = 0; j < i; j++) {
                        const yaml_node_t *o = node(c, map->data.mapping.pairs.start[j].key);
                        if (kind(o) == KIND_SCALAR && o->data.scalar.length == k->data.scalar.length &&
                            memcmp(o->data.scalar.value, k->data.scalar.value, k->data.scalar.length) == 0)
                                return fail(c, k, path, "duplicate key '%.64s' (first at %zu:%zu)", name,
                                            o->start_mark.line + 1, o->start_mark.column + 1);
                }
                for (which = 0; keys[which]; which++)
                        if (strlen(name) == k->data.scalar.length && streq(keys[which], name))
                                break;
                if (!keys[which])
                        return fail(c, k, path, "unknown key '%.64s'", name);
                r = fn(c, path, which, k, v, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- values ---- */

static bool name_valid(const char *s, size_t max) {
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '.' || *p == '_' || *p == '-'))
                        return false;
        return true;
}

static int get_string(Ctx *c, const char *path, const yaml_node_t *key, const yaml_node_t *v, const char *what,
                      char **ret) {
        const char *t = scalar(c, path, key, v, what);
        char *s;

        if (!t)
                return -EINVAL;
        s = strdup(t);
        if (!s)
                return -ENOMEM;
        free(*ret);
        *ret = s;
        return 0;
}

static int get_abs_path(Ctx *c, const char *path, const yaml_node_t *key, const yaml_node_t *v, size_t max,
                        char **ret) {
        const char *t = scalar(c, path, key, v, "an absolute path");

        if (!t)
                return -EINVAL;
        if (t[0] != '/')
                return fail(c, v, path, "expected an absolute path, got '%.64s'", t);
        if (strlen(t) > max)
                return fail(c, v, path, "longer than %zu bytes", max);
        return get_string(c, path, key, v, "an absolute path", ret);
}

static int get_uint(Ctx *c, const char *path, const yaml_node_t *key, const yaml_node_t *v, uint64_t min,
                    uint64_t max, uint64_t *ret) {
        const char *t = scalar(c, path, key, v, "an integer");
        uint64_t x;
        int r;

        if (!t)
                return -EINVAL;
        r = parse_u64(t, &x);
        if (r == -ERANGE || (r >= 0 && (x < min || x > max)))
                return fail(c, v, path, "%.32s is out of range (%" PRIu64 "..%" PRIu64 ")", t, min, max);
        if (r < 0)
                return fail(c, v, path, "expected an integer, got '%.64s'", t);
        *ret = x;
        return 0;
}

static int get_duration(Ctx *c, const char *path, const yaml_node_t *key, const yaml_node_t *v, uint64_t *ret) {
        const char *t = scalar(c, path, key, v, "a duration");
        int r;

        if (!t)
                return -EINVAL;
        r = parse_duration(t, ret);
        if (r == -ERANGE)
                return fail(c, v, path, "duration '%.64s' is too long", t);
        if (r < 0)
                return fail(c, v, path, "expected a duration (e.g. 250ms, 5s, 2m, 1h), got '%.64s'", t);
        return 0;
}

/* ---- top level ---- */

enum {
        TOP_SOCKET,
        TOP_SOCKET_GROUP,
        TOP_JOURNAL,
        TOP_JOURNAL_FSYNC,
        TOP_SECRET_STORE,
        TOP_GRACE,
        TOP_REQUEST_TIMEOUT,
        TOP_RUN_UIDS,
        TOP_TENANTS,
};
static const char *const top_keys[] = {
        [TOP_SOCKET] = "socket",
        [TOP_SOCKET_GROUP] = "socket_group",
        [TOP_JOURNAL] = "journal",
        [TOP_JOURNAL_FSYNC] = "journal_fsync",
        [TOP_SECRET_STORE] = "secret_store",
        [TOP_GRACE] = "grace",
        [TOP_REQUEST_TIMEOUT] = "request_timeout",
        [TOP_RUN_UIDS] = "run_uids",
        [TOP_TENANTS] = "tenants",
        NULL,
};

enum {
        RUN_FIRST,
        RUN_COUNT,
};
static const char *const run_uids_keys[] = {
        [RUN_FIRST] = "first",
        [RUN_COUNT] = "count",
        NULL,
};

enum {
        T_NAME,
        T_UIDS,
        T_GIDS,
        T_PROFILES,
        T_TASK_CLASSES,
        T_CODE_ORIGINS,
        T_SECRETS,
        T_MAX_CONCURRENT,
        T_RATE_PER_MINUTE,
        T_MAX_QUEUED,
        T_QUEUE_TIMEOUT,
        T_CPU_WEIGHT,
        T_MEMORY_MAX,
        T_PIDS_MAX,
        T_RUN_UID,
};
static const char *const tenant_keys[] = {
        [T_NAME] = "name",
        [T_UIDS] = "uids",
        [T_GIDS] = "gids",
        [T_PROFILES] = "profiles",
        [T_TASK_CLASSES] = "task_classes",
        [T_CODE_ORIGINS] = "code_origins",
        [T_SECRETS] = "secrets",
        [T_MAX_CONCURRENT] = "max_concurrent",
        [T_RATE_PER_MINUTE] = "rate_per_minute",
        [T_MAX_QUEUED] = "max_queued",
        [T_QUEUE_TIMEOUT] = "queue_timeout",
        [T_CPU_WEIGHT] = "cpu_weight",
        [T_MEMORY_MAX] = "memory_max",
        [T_PIDS_MAX] = "pids_max",
        [T_RUN_UID] = "run_uid",
        NULL,
};

typedef struct RunUids {
        DaemonConfig *cfg;
        const yaml_node_t *first, *count; /* values, for later problems */
} RunUids;

typedef struct Top {
        DaemonConfig *cfg;
        TenantMarks *marks; /* one per tenant, owned */
        RunUids run;
        const yaml_node_t *run_uids; /* run_uids' key, NULL: not set */
} Top;

static void strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

static void tenant_done(Tenant *t) {
        free(t->name);
        free(t->uids);
        free(t->gids);
        strv_free(t->profiles);
        strv_free(t->task_classes);
        for (size_t i = 0; i < t->n_origins; i++) {
                free(t->origins[i].label);
                strv_free(t->origins[i].sha256);
        }
        free(t->origins);
        strv_free(t->secrets);
        *t = (Tenant) {};
}

void daemon_config_done(DaemonConfig *c) {
        if (!c)
                return;
        free(c->path);
        free(c->socket_path);
        free(c->socket_group);
        free(c->journal_dir);
        free(c->secret_store);
        for (size_t i = 0; i < c->n_tenants; i++)
                tenant_done(&c->tenants[i]);
        free(c->tenants);
        *c = (DaemonConfig) {};
}

static bool strv_contains(char *const *v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (streq(v[i], s))
                        return true;
        return false;
}

/* A list of strings, each checked by check (which reports), no repeats.
 * An empty list is refused with empty_msg when that is set. */
typedef int (*ItemCheck)(Ctx *c, const char *path, const yaml_node_t *item, const char *text);

static int get_strv(Ctx *c, const char *path, const yaml_node_t *key, const yaml_node_t *v, const char *what,
                    ItemCheck check, const char *empty_msg, char ***ret) {
        char **list = NULL;
        size_t n;
        int r;

        r = want_sequence(c, path, key, v);
        if (r < 0)
                return r;
        n = seq_size(v);
        if (n == 0 && empty_msg)
                return fail(c, key, path, "%s", empty_msg);
        list = calloc(n + 1, sizeof *list);
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const yaml_node_t *item = node(c, v->data.sequence.items.start[i]);
                char p[PATH_LEN];
                const char *t;

                path_index(p, path, i);
                t = scalar(c, p, item, item, what);
                if (!t) {
                        r = -EINVAL;
                        break;
                }
                if (check) {
                        r = check(c, p, item, t);
                        if (r < 0)
                                break;
                }
                if (strv_contains(list, i, t)) {
                        r = fail(c, item, p, "'%.64s' is listed twice", t);
                        break;
                }
                list[i] = strdup(t);
                if (!list[i]) {
                        r = -ENOMEM;
                        break;
                }
        }
        if (r < 0) {
                strv_free(list);
                return r;
        }
        strv_free(*ret);
        *ret = list;
        return 0;
}

static int get_id_list(Ctx *c, const char *path, const yaml_node_t *key, const yaml_node_t *v, const char *what,
                       uint32_t **ret, size_t *ret_n) {
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n;
        int r;

        r = want_sequence(c, path, key, v);
        if (r < 0)
                return r;
        n = seq_size(v);
        ids = calloc(n ?: 1, sizeof *ids);
        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const yaml_node_t *item = node(c, v->data.sequence.items.start[i]);
                char p[PATH_LEN];
                uint64_t x;

                path_index(p, path, i);
                /* (uid_t) -1 means "no id" to the kernel. */
                r = get_uint(c, p, item, item, 0, UINT32_MAX - 1, &x);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (ids[j] == x)
                                return fail(c, item, p, "%s %" PRIu64 " is listed twice", what, x);
                ids[i] = (uint32_t) x;
        }
        free(*ret);
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

static int check_profile(Ctx *c, const char *path, const yaml_node_t *item, const char *t) {
        if (t[0] == '/')
                return 0;
        if (!name_valid(t, CONFIG_NAME_MAX) || streq(t, ".") || streq(t, ".."))
                return fail(c, item, path,
                            "expected a profile name ([A-Za-z0-9._-]{1,64}) or an absolute path, got '%.64s'", t);
        return 0;
}

static int check_task_class(Ctx *c, const char *path, const yaml_node_t *item, const char *t) {
        if (!streq(t, "interactive") && !streq(t, "batch"))
                return fail(c, item, path, "expected interactive or batch, got '%.64s'", t);
        return 0;
}

static int check_secret(Ctx *c, const char *path, const yaml_node_t *item, const char *t) {
        if (!name_valid(t, CONFIG_NAME_MAX))
                return fail(c, item, path, "expected a secret name ([A-Za-z0-9._-]{1,64}), got '%.64s'", t);
        return 0;
}

static int check_sha256(Ctx *c, const char *path, const yaml_node_t *item, const char *t) {
        size_t n = strlen(t);

        for (size_t i = 0; i < n; i++)
                if (!isxdigit((unsigned char) t[i]))
                        n = 0;
        if (n != 64)
                return fail(c, item, path, "expected a SHA-256 (64 hex digits), got '%.72s'", t);
        return 0;
}

static int get_origins(Ctx *c, const char *path, const yaml_node_t *key, const yaml_node_t *v, Tenant *t) {
        size_t n;

        if (kind(v) != KIND_MAPPING)
                return fail(c, key, path, "expected a mapping of origin labels, got %s", kind_name(kind(v)));
        n = map_size(v);
        if (n == 0)
                return fail(c, key, path, "empty: omit code_origins to allow every origin");
        if (n > CONFIG_LIST_MAX)
                return fail(c, v, path, "more than %d entries", CONFIG_LIST_MAX);
        t->origins = calloc(n, sizeof *t->origins);
        if (!t->origins)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                const yaml_node_pair_t *pair = v->data.mapping.pairs.start + i;
                const yaml_node_t *k = node(c, pair->key), *val = node(c, pair->value);
                TenantOrigin *o = &t->origins[t->n_origins];
                char p[PATH_LEN];
                const char *label;
                int r;

                label = scalar(c, path, k, k, "an origin label");
                if (!label)
                        return -EINVAL;
                if (!name_valid(label, CONFIG_NAME_MAX))
                        return fail(c, k, path, "expected an origin label ([A-Za-z0-9._-]{1,64}), got '%.64s'",
                                    label);
                for (size_t j = 0; j < t->n_origins; j++)
                        if (streq(t->origins[j].label, label)) {
                                const yaml_node_t *o1 = node(c, v->data.mapping.pairs.start[j].key);
                                return fail(c, k, path, "duplicate key '%s' (first at %zu:%zu)", label,
                                            o1->start_mark.line + 1, o1->start_mark.column + 1);
                        }
                o->label = strdup(label);
                if (!o->label)
                        return -ENOMEM;
                t->n_origins++;

                path_key(p, path, label);
                if (kind(val) == KIND_SCALAR) {
                        if (!streq((const char *) val->data.scalar.value, "any"))
                                return fail(c, val, p, "expected 'any' or a list of SHA-256, got '%.64s'",
                                            (const char *) val->data.scalar.value);
                        continue;
                }
                if (kind(val) != KIND_SEQUENCE)
                        return fail(c, k, p, "expected 'any' or a list of SHA-256, got %s", kind_name(kind(val)));
                r = get_strv(c, p, k, val, "a SHA-256", check_sha256,
                             "empty: write 'any' to allow any code, or list SHA-256", &o->sha256);
                if (r < 0)
                        return r;
                for (char **s = o->sha256; *s; s++)
                        for (char *q = *s; *q; q++)
                                *q = (char) tolower((unsigned char) *q);
                /* Repeats that differ only in case. */
                for (size_t a = 0; o->sha256[a]; a++)
                        for (size_t b = 0; b < a; b++)
                                if (streq(o->sha256[a], o->sha256[b])) {
                                        char pi[PATH_LEN];
                                        const yaml_node_t *item = node(c, val->data.sequence.items.start[a]);
                                        return fail(c, item, path_index(pi, p, a), "'%s' is listed twice",
                                                    o->sha256[a]);
                                }
        }
        return 0;
}

typedef struct TenantWalk {
        Tenant *t;
        TenantMarks *m;
} TenantWalk;

static int tenant_entry(Ctx *c, const char *path, size_t which, const yaml_node_t *key, const yaml_node_t *v,
                        void *userdata) {
        TenantWalk *tw = userdata;
        Tenant *t = tw->t;
        char p[PATH_LEN];
        uint64_t x;
        int r;

        path_key(p, path, tenant_keys[which]);
        switch (which) {
        case T_NAME: {
                const char *s = scalar(c, p, key, v, "a tenant name");
                if (!s)
                        return -EINVAL;
                if (!name_valid(s, CONFIG_NAME_MAX))
                        return fail(c, v, p, "expected a tenant name ([A-Za-z0-9._-]{1,64}), got '%.64s'", s);
                tw->m->name = v;
                return get_string(c, p, key, v, "a tenant name", &t->name);
        }
        case T_UIDS:
                tw->m->uids = v;
                return get_id_list(c, p, key, v, "uid", (uint32_t **) &t->uids, &t->n_uids);
        case T_GIDS:
                tw->m->gids = v;
                return get_id_list(c, p, key, v, "gid", (uint32_t **) &t->gids, &t->n_gids);
        case T_PROFILES:
                return get_strv(c, p, key, v, "a profile name or path", check_profile,
                                "empty: a tenant needs at least one profile", &t->profiles);
        case T_TASK_CLASSES:
                return get_strv(c, p, key, v, "a task class", check_task_class,
                                "empty: omit task_classes to allow both", &t->task_classes);
        case T_CODE_ORIGINS:
                return get_origins(c, p, key, v, t);
        case T_SECRETS:
                return get_strv(c, p, key, v, "a secret name", check_secret, /* empty_msg= */ NULL, &t->secrets);
        case T_MAX_CONCURRENT:
                r = get_uint(c, p, key, v, 1, MAX_CONCURRENT_MAX, &x);
                if (r >= 0)
                        t->max_concurrent = (unsigned) x;
                return r;
        case T_RATE_PER_MINUTE:
                r = get_uint(c, p, key, v, 0, RATE_PER_MINUTE_MAX, &x);
                if (r >= 0)
                        t->rate_per_minute = (unsigned) x;
                return r;
        case T_MAX_QUEUED:
                r = get_uint(c, p, key, v, 0, MAX_QUEUED_MAX, &x);
                if (r >= 0)
                        t->max_queued = (unsigned) x;
                return r;
        case T_QUEUE_TIMEOUT:
                return get_duration(c, p, key, v, &t->queue_timeout_usec);
        case T_CPU_WEIGHT:
                return get_uint(c, p, key, v, 1, CPU_WEIGHT_MAX, &t->cpu_weight);
        case T_MEMORY_MAX: {
                const char *s = scalar(c, p, key, v, "a size or 'max'");
                if (!s)
                        return -EINVAL;
                if (streq(s, "max")) {
                        t->memory_max = UINT64_MAX;
                        return 0;
                }
                r = parse_size(s, &x);
                if (r == -ERANGE)
                        return fail(c, v, p, "size '%.64s' is too large", s);
                if (r < 0)
                        return fail(c, v, p, "expected a size (e.g. 512M, 2G) or 'max', got '%.64s'", s);
                if (x == 0)
                        return fail(c, v, p, "must be above 0");
                t->memory_max = x;
                return 0;
        }
        case T_PIDS_MAX:
                return get_uint(c, p, key, v, 0, PIDS_MAX_MAX, &t->pids_max);
        case T_RUN_UID:
                r = get_uint(c, p, key, v, 0, UINT32_MAX - 1, &x);
                if (r < 0)
                        return r;
                t->run_uid = (uid_t) x;
                tw->m->run_uid = v;
                return 0;
        default:
                return -EINVAL;
        }
}

static int parse_tenant(Ctx *c, const char *path, const yaml_node_t *v, Tenant *t, TenantMarks *m) {
        TenantWalk tw = { .t = t, .m = m };
        int r;

        if (kind(v) != KIND_MAPPING)
                return fail(c, v, path, "expected a mapping, got %s", kind_name(kind(v)));
        *t = (Tenant) {
                .max_concurrent = MAX_CONCURRENT_DEFAULT,
                .queue_timeout_usec = QUEUE_TIMEOUT_DEFAULT_USEC,
                .cpu_weight = CPU_WEIGHT_DEFAULT,
                .memory_max = UINT64_MAX,
        };
        m->node = v;
        r = walk_mapping(c, path, v, tenant_keys, tenant_entry, &tw);
        if (r < 0)
                return r;
        if (!t->name)
                return fail(c, v, path, "missing name");
        if (t->n_uids == 0 && t->n_gids == 0)
                return fail(c, v, path, "tenant '%s' lists no uids or gids", t->name);
        if (!t->profiles)
                return fail(c, v, path, "tenant '%s' lists no profiles", t->name);
        return 0;
}

/* A new tenant against those before it: names and caller ids are unique. */
static int check_tenant_unique(Ctx *c, const char *path, const Tenant *tenants, const TenantMarks *marks, size_t i) {
        const Tenant *t = &tenants[i];
        const TenantMarks *m = &marks[i];
        char p[PATH_LEN], pi[PATH_LEN];

        for (size_t j = 0; j < i; j++)
                if (streq(tenants[j].name, t->name))
                        return fail(c, m->name, path_key(p, path, "name"),
                                    "tenant name '%s' is used twice (first at %zu:%zu)", t->name,
                                    marks[j].name->start_mark.line + 1, marks[j].name->start_mark.column + 1);

        for (size_t k = 0; k < t->n_uids; k++)
                for (size_t j = 0; j < i; j++)
                        for (size_t l = 0; l < tenants[j].n_uids; l++)
                                if (tenants[j].uids[l] == t->uids[k])
                                        return fail(c, node(c, m->uids->data.sequence.items.start[k]),
                                                    path_index(pi, path_key(p, path, "uids"), k),
                                                    "uid %u is listed by tenants '%s' and '%s'",
                                                    (unsigned) t->uids[k], tenants[j].name, t->name);
        for (size_t k = 0; k < t->n_gids; k++)
                for (size_t j = 0; j < i; j++)
                        for (size_t l = 0; l < tenants[j].n_gids; l++)
                                if (tenants[j].gids[l] == t->gids[k])
                                        return fail(c, node(c, m->gids->data.sequence.items.start[k]),
                                                    path_index(pi, path_key(p, path, "gids"), k),
                                                    "gid %u is listed by tenants '%s' and '%s'",
                                                    (unsigned) t->gids[k], tenants[j].name, t->name);
        return 0;
}

static int parse_tenants(Ctx *c, const yaml_node_t *key, const yaml_node_t *v, Top *top) {
        DaemonConfig *cfg = top->cfg;
        size_t n;
        int r;

        r = want_sequence(c, "tenants", key, v);
        if (r < 0)
                return r;
        n = seq_size(v);
        cfg->tenants = calloc(n ?: 1, sizeof *cfg->tenants);
        top->marks = calloc(n ?: 1, sizeof *top->marks);
        if (!cfg->tenants || !top->marks)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const yaml_node_t *item = node(c, v->data.sequence.items.start[i]);
                char p[PATH_LEN];

                path_index(p, "tenants", i);
                /* Counted before parsing, so that a half-filled one is freed. */
                cfg->n_tenants++;
                r = parse_tenant(c, p, item, &cfg->tenants[i], &top->marks[i]);
                if (r < 0)
                        return r;
                r = check_tenant_unique(c, p, cfg->tenants, top->marks, i);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int run_uids_entry(Ctx *c, const char *path, size_t which, const yaml_node_t *key, const yaml_node_t *v,
                          void *userdata) {
        RunUids *ru = userdata;
        char p[PATH_LEN];
        uint64_t x;
        int r;

        path_key(p, path, run_uids_keys[which]);
        switch (which) {
        case RUN_FIRST:
                r = get_uint(c, p, key, v, RUN_UID_FIRST_MIN, RUN_UID_END_MAX - 1, &x);
                if (r < 0)
                        return r;
                ru->cfg->run_uid_first = (uid_t) x;
                ru->first = v;
                return 0;
        case RUN_COUNT:
                r = get_uint(c, p, key, v, 1, RUN_UID_END_MAX, &x);
                if (r < 0)
                        return r;
                ru->cfg->run_uid_count = (uint32_t) x;
                ru->count = v;
                return 0;
        default:
                return -EINVAL;
        }
}

static int top_entry(Ctx *c, const char *path, size_t which, const yaml_node_t *key, const yaml_node_t *v,
                     void *userdata) {
        Top *top = userdata;
        DaemonConfig *cfg = top->cfg;
        const char *p = top_keys[which], *s;

        (void) path;
        switch (which) {
        case TOP_SOCKET:
                return get_abs_path(c, p, key, v, CONFIG_SOCKET_PATH_MAX, &cfg->socket_path);
        case TOP_SOCKET_GROUP:
                s = scalar(c, p, key, v, "a group name");
                if (!s)
                        return -EINVAL;
                /* Resolved by the daemon at bind time; here only its shape. */
                if (!*s || strlen(s) > 256 || strpbrk(s, ": \t\n/"))
                        return fail(c, v, p, "expected a group name, got '%.64s'", s);
                return get_string(c, p, key, v, "a group name", &cfg->socket_group);
        case TOP_JOURNAL:
                return get_abs_path(c, p, key, v, PATH_MAX, &cfg->journal_dir);
        case TOP_JOURNAL_FSYNC:
                s = scalar(c, p, key, v, "always, batch or never");
                if (!s)
                        return -EINVAL;
                if (streq(s, "always"))
                        cfg->journal_fsync = JOURNAL_FSYNC_ALWAYS;
                else if (streq(s, "batch"))
                        cfg->journal_fsync = JOURNAL_FSYNC_BATCH;
                else if (streq(s, "never"))
                        cfg->journal_fsync = JOURNAL_FSYNC_NEVER;
                else
                        return fail(c, v, p, "expected always, batch or never, got '%.64s'", s);
                return 0;
        case TOP_SECRET_STORE:
                return get_abs_path(c, p, key, v, PATH_MAX, &cfg->secret_store);
        case TOP_GRACE:
                return get_duration(c, p, key, v, &cfg->grace_usec);
        case TOP_REQUEST_TIMEOUT: {
                int r = get_duration(c, p, key, v, &cfg->request_timeout_usec);
                if (r >= 0 && cfg->request_timeout_usec == 0)
                        return fail(c, v, p, "must be above 0");
                return r;
        }
        case TOP_RUN_UIDS:
                if (kind(v) != KIND_MAPPING)
                        return fail(c, key, p, "expected a mapping (first, count), got %s", kind_name(kind(v)));
                top->run_uids = key;
                top->run.cfg = cfg;
                return walk_mapping(c, p, v, run_uids_keys, run_uids_entry, &top->run);
        case TOP_TENANTS:
                return parse_tenants(c, key, v, top);
        default:
                return -EINVAL;
        }
}

/* After the whole file: the run uid range, then each tenant's run uid in it,
 * explicit ones first, then the defaults (first + index, skipping taken). */
static int assign_run_uids(Ctx *c, Top *top) {
        DaemonConfig *cfg = top->cfg;
        uint64_t first = cfg->run_uid_first, end = first + cfg->run_uid_count;

        if (end > RUN_UID_END_MAX)
                return fail(c, top->run.count ?: top->run.first, top->run.count ? "run_uids.count" : "run_uids.first",
                            "the range %" PRIu64 "..%" PRIu64 " reaches past 2^31", first, end - 1);

        for (size_t i = 0; i < cfg->n_tenants; i++) {
                Tenant *t = &cfg->tenants[i];
                char p[PATH_LEN], pk[PATH_LEN];

                if (!top->marks[i].run_uid)
                        continue;
                path_key(pk, path_index(p, "tenants", i), "run_uid");
                if (t->run_uid < first || t->run_uid >= end)
                        return fail(c, top->marks[i].run_uid, pk,
                                    "run_uid %u is outside run_uids (%" PRIu64 "..%" PRIu64 ")", (unsigned) t->run_uid,
                                    first, end - 1);
                for (size_t j = 0; j < i; j++)
                        if (top->marks[j].run_uid && cfg->tenants[j].run_uid == t->run_uid)
                                return fail(c, top->marks[i].run_uid, pk, "run_uid %u is also tenant '%s''s",
                                            (unsigned) t->run_uid, cfg->tenants[j].name);
        }

        for (size_t i = 0; i < cfg->n_tenants; i++) {
                Tenant *t = &cfg->tenants[i];
                uint64_t u = first + i;
                bool taken;

                if (top->marks[i].run_uid)
                        continue;
                do {
                        taken = false;
                        for (size_t j = 0; j < cfg->n_tenants && !taken; j++)
                                if (j != i && (top->marks[j].run_uid || j < i) && cfg->tenants[j].run_uid == u)
                                        taken = true;
                        if (taken)
                                u++;
                } while (taken && u < end);
                if (u >= end)
                        return fail(c, top->marks[i].node, NULL,
                                    "tenant '%s': no free uid left in run_uids (%" PRIu64 "..%" PRIu64 ")", t->name,
                                    first, end - 1);
                t->run_uid = (uid_t) u;
        }

        for (size_t i = 0; i < cfg->n_tenants; i++)
                cfg->tenants[i].run_gid = (gid_t) cfg->tenants[i].run_uid;
        return 0;
}

static int report_parser_error(Ctx *c, const yaml_parser_t *p, const char *text, size_t len) {
        const char *problem = p->problem ?: "unknown error";

        switch (p->error) {
        case YAML_MEMORY_ERROR:
                return -ENOMEM;
        case YAML_READER_ERROR: {
                /* Bad UTF-8 and control characters come with a byte offset,
                 * not a mark: count lines and characters up to it. */
                unsigned line = 1, column = 1;

                for (size_t i = 0; i < p->problem_offset && i < len; i++)
                        if (text[i] == '\n') {
                                line++;
                                column = 1;
                        } else if (((unsigned char) text[i] & 0xc0) != 0x80)
                                column++;
                error_set(c->err, c->file, line, column, "syntax error: %s", problem);
                return -EINVAL;
        }
        default:
                error_set(c->err, c->file, (unsigned) p->problem_mark.line + 1, (unsigned) p->problem_mark.column + 1,
                          "syntax error: %s", problem);
                return -EINVAL;
        }
}

static void document_done(yaml_document_t **d) {
        if (*d)
                yaml_document_delete(*d);
}

static int parse_text(const char *text, size_t len, Ctx *c, DaemonConfig *cfg) {
        _cleanup_(parser_done) yaml_parser_t parser = {};
        yaml_document_t doc, extra;
        _cleanup_(document_done) yaml_document_t *docp = NULL;
        _cleanup_free_ TenantMarks *marks = NULL;
        Top top = { .cfg = cfg };
        const yaml_node_t *root;
        int r;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);
        if (!yaml_parser_load(&parser, &doc))
                return report_parser_error(c, &parser, text, len);
        docp = &doc;
        c->doc = &doc;

        root = yaml_document_get_root_node(&doc);
        if (root) {
                if (!yaml_parser_load(&parser, &extra))
                        return report_parser_error(c, &parser, text, len);
                if (yaml_document_get_root_node(&extra)) {
                        error_set(c->err, c->file, (unsigned) extra.start_mark.line + 1,
                                  (unsigned) extra.start_mark.column + 1,
                                  "the configuration is one YAML document; found a second one");
                        yaml_document_delete(&extra);
                        return -EINVAL;
                }
                yaml_document_delete(&extra);
        }

        /* An empty file is a config of defaults (and no tenants). */
        if (root && kind(root) != KIND_NULL) {
                if (kind(root) != KIND_MAPPING)
                        return fail(c, root, NULL, "expected a mapping at the top, got %s", kind_name(kind(root)));
                r = walk_mapping(c, "", root, top_keys, top_entry, &top);
                marks = top.marks;
                if (r < 0)
                        return r;
        }
        return assign_run_uids(c, &top);
}

int daemon_config_load(const char *path, DaemonConfig *ret, DaemonConfigError *err) {
        _cleanup_(daemon_config_done) DaemonConfig cfg = {};
        _cleanup_free_ char *text = NULL;
        Ctx c = { .file = path, .err = err };
        int r;
        size_t len;

        if (!path || !ret)
                return -EINVAL;
        r = read_full_file(path, CONFIG_FILE_MAX, &text);
        if (r < 0) {
                if (r == -EFBIG)
                        error_set(err, path, 0, 0, "larger than %d bytes", CONFIG_FILE_MAX);
                else
                        error_set(err, path, 0, 0, "cannot read: %s", strerror(-r));
                return r;
        }
        len = (size_t) r;

        cfg = (DaemonConfig) {
                .journal_fsync = JOURNAL_FSYNC_BATCH,
                .grace_usec = GRACE_DEFAULT_USEC,
                .request_timeout_usec = REQUEST_TIMEOUT_DEFAULT_USEC,
                .run_uid_first = RUN_UID_FIRST_DEFAULT,
                .run_uid_count = RUN_UID_COUNT_DEFAULT,
        };
        (void) sha256_hex(text, len, cfg.sha256);

        r = parse_text(text, len, &c, &cfg);
        if (r == -ENOMEM)
                error_set(err, path, 0, 0, "out of memory");
        if (r < 0)
                return r;

        cfg.path = strdup(path);
        if (!cfg.socket_path)
                cfg.socket_path = strdup(DAEMON_SOCKET_DEFAULT);
        if (!cfg.journal_dir)
                cfg.journal_dir = strdup(JOURNAL_DIR_DEFAULT);
        if (!cfg.path || !cfg.socket_path || !cfg.journal_dir) {
                error_set(err, path, 0, 0, "out of memory");
                return -ENOMEM;
        }

        *ret = cfg;
        cfg = (DaemonConfig) {};
        return 0;
}

static bool ids_contain(const uint32_t *ids, size_t n, uint32_t id) {
        for (size_t i = 0; i < n; i++)
                if (ids[i] == id)
                        return true;
        return false;
}

const Tenant *daemon_config_tenant(const DaemonConfig *c, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_tenants; i++)
                if (ids_contain(c->tenants[i].uids, c->tenants[i].n_uids, uid))
                        return &c->tenants[i];
        for (size_t i = 0; i < c->n_tenants; i++) {
                const Tenant *t = &c->tenants[i];

                if (ids_contain(t->gids, t->n_gids, gid))
                        return t;
                for (size_t k = 0; groups && k < n_groups; k++)
                        if (ids_contain(t->gids, t->n_gids, groups[k]))
                                return t;
        }
        return NULL;
}

const Tenant *daemon_config_tenant_by_name(const DaemonConfig *c, const char *name) {
        if (!c || !name)
                return NULL;
        for (size_t i = 0; i < c->n_tenants; i++)
                if (streq(c->tenants[i].name, name))
                        return &c->tenants[i];
        return NULL;
}
