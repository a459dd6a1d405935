/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The built-in baseline and the merge rules of stockade-profile(5): a
 * layer (what one file sets) goes over the profile resolved from its
 * parents, field by field. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "profile-internal.h"
#include "syscall-groups.h"

int profile_defaults(Profile *ret) {
        static const char *const system_dirs[] = {
                "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
        };
        static const char *const deny[] = {
                "@mount",
                "@debug",
                "bpf",
                "perf_event_open",
                "@keyring",
                "userfaultfd",
                "@io-uring",
                "@reboot",
                "@module",
                "@swap",
                "@clock",
                "@raw-io",
                "setns",
                "acct",
                "quotactl",
                "lookup_dcookie",
                "open_by_handle_at",
                "name_to_handle_at",
                "vhangup",
        };
        static const char *const watch[] = { "/etc", "/proc/*/environ" };
        static const int families[] = { AF_UNIX, AF_INET, AF_INET6 };
        static const unsigned long ioctls[] = { TIOCSTI, TIOCLINUX };
        _cleanup_(profile_done) Profile p = {
                .class_ = PROFILE_CLASS_INTERACTIVE,
                .mode = PROFILE_MODE_ENFORCE,
                .limits = {
                        .memory_bytes = 512ULL << 20,
                        .cpu_millicores = 1000,
                        .pids = 128,
                        .timeout_usec = 10 * 60 * USEC_PER_SEC,
                        .cpu_time_usec = 0,
                        .tmpfs_bytes = 64ULL << 20,
                },
                .swap_bytes = 0,
                .nofile = 1024,
                .fsize_bytes = 0,
                .output_bytes = 0,
                .net_mode = NET_MODE_NONE,
                .seccomp = {
                        .default_action = SECCOMP_DEFAULT_ALLOW,
                        .errno_value = EPERM,
                        .restrict_socket_families = true,
                        .deny_namespaces = true,
                },
                .observe = {
                        /* Every run's record carries its shape unless a
                         * profile turns it off (stockade-profile(5) has the cost). */
                        .shape = PROFILE_OBSERVE_SHAPE_DEFAULT,
                        .event_budget = PROFILE_OBSERVE_BUDGET_DEFAULT,
                },
        };

        p.description = strdup("");
        p.system_dirs = calloc(ELEMENTSOF(system_dirs) + 1, sizeof(char *));
        p.hide = calloc(1, sizeof(char *));
        p.env_allow = calloc(1, sizeof(char *));
        p.env_set = calloc(1, sizeof(char *));
        p.seccomp.deny = calloc(ELEMENTSOF(deny), sizeof(SyscallRule));
        p.seccomp.socket_families = malloc(sizeof families);
        p.seccomp.ioctl_deny = malloc(sizeof ioctls);
        p.observe.watch = calloc(ELEMENTSOF(watch) + 1, sizeof(char *));
        if (!p.description || !p.system_dirs || !p.hide || !p.env_allow || !p.env_set || !p.seccomp.deny ||
            !p.seccomp.socket_families || !p.seccomp.ioctl_deny || !p.observe.watch)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(watch); i++) {
                p.observe.watch[i] = strdup(watch[i]);
                if (!p.observe.watch[i])
                        return -ENOMEM;
        }
        for (size_t i = 0; i < ELEMENTSOF(system_dirs); i++) {
                p.system_dirs[i] = strdup(system_dirs[i]);
                if (!p.system_dirs[i])
                        return -ENOMEM;
        }
        for (size_t i = 0; i < ELEMENTSOF(deny); i++) {
                p.seccomp.deny[i].name = strdup(deny[i]);
                if (!p.seccomp.deny[i].name)
                        return -ENOMEM;
                p.seccomp.n_deny++;
        }
        memcpy(p.seccomp.socket_families, families, sizeof families);
        p.seccomp.n_socket_families = ELEMENTSOF(families);
        memcpy(p.seccomp.ioctl_deny, ioctls, sizeof ioctls);
        p.seccomp.n_ioctl_deny = ELEMENTSOF(ioctls);
        profile_normalize(&p);

        *ret = p;
        p = (Profile){};
        return 0;
}

bool profile_observe_is_default(const ProfileObserve *o) {
        return o->shape == PROFILE_OBSERVE_SHAPE_DEFAULT && o->event_budget == PROFILE_OBSERVE_BUDGET_DEFAULT && strv_length(o->watch) == 2 &&
               streq(o->watch[0], "/etc") && streq(o->watch[1], "/proc/*/environ");
}

static int replace_string(char **dst, const char *src) {
        char *s = NULL;

        if (src) {
                s = strdup(src);
                if (!s)
                        return -ENOMEM;
        }
        free(*dst);
        *dst = s;
        return 0;
}

/* Grows an array of n elements by one; the new one is zeroed. */
static void *grow(void *array, size_t n, size_t size) {
        char *a = reallocarray(array, n + 1, size);
        if (a)
                memset(a + n * size, 0, size);
        return a;
}

static int merge_binds(Profile *r, const Profile *c) {
        for (size_t i = 0; i < c->n_binds; i++) {
                const ProfileBind *b = &c->binds[i];
                ProfileBind *t = NULL, *a;

                for (size_t j = 0; j < r->n_binds && !t; j++)
                        if (streq(r->binds[j].dest, b->dest))
                                t = &r->binds[j];
                if (!t) {
                        a = grow(r->binds, r->n_binds, sizeof *a);
                        if (!a)
                                return -ENOMEM;
                        r->binds = a;
                        t = &r->binds[r->n_binds++];
                }
                if (replace_string(&t->source, b->source) < 0 || replace_string(&t->dest, b->dest) < 0)
                        return -ENOMEM;
                t->mode = b->mode;
                t->must_exist = b->must_exist;
        }
        return 0;
}

static int merge_net_allow(Profile *r, const Profile *c) {
        for (size_t i = 0; i < c->n_net_allow; i++) {
                NetRule rule = c->net_allow[i], *a;
                bool seen = false;

                for (size_t j = 0; j < r->n_net_allow && !seen; j++)
                        seen = net_rule_equal(&r->net_allow[j], &rule);
                if (seen)
                        continue;
                if (rule.host) {
                        rule.host = strdup(rule.host);
                        if (!rule.host)
                                return -ENOMEM;
                }
                a = grow(r->net_allow, r->n_net_allow, sizeof *a);
                if (!a) {
                        free(rule.host);
                        return -ENOMEM;
                }
                r->net_allow = a;
                r->net_allow[r->n_net_allow++] = rule;
        }
        return 0;
}

static void net_allow_clear(Profile *p) {
        for (size_t i = 0; i < p->n_net_allow; i++)
                free(p->net_allow[i].host);
        free(p->net_allow);
        p->net_allow = NULL;
        p->n_net_allow = 0;
}

static size_t env_name_len(const char *s) {
        return strcspn(s, "=");
}

static int merge_env_set(Profile *r, const Profile *c) {
        for (char **e = c->env_set; e && *e; e++) {
                size_t n = env_name_len(*e);
                char **t = NULL, *s;

                for (char **x = r->env_set; x && *x && !t; x++)
                        if (env_name_len(*x) == n && strncmp(*x, *e, n) == 0)
                                t = x;
                s = strdup(*e);
                if (!s)
                        return -ENOMEM;
                if (t) {
                        free(*t);
                        *t = s;
                } else if (strv_push(&r->env_set, s) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int merge_secrets(Profile *r, const Profile *c) {
        for (size_t i = 0; i < c->n_secrets; i++) {
                const ProfileSecret *s = &c->secrets[i];
                ProfileSecret *t = NULL, *a;

                for (size_t j = 0; j < r->n_secrets && !t; j++)
                        if (streq(r->secrets[j].name, s->name))
                                t = &r->secrets[j];
                if (!t) {
                        a = grow(r->secrets, r->n_secrets, sizeof *a);
                        if (!a)
                                return -ENOMEM;
                        r->secrets = a;
                        t = &r->secrets[r->n_secrets++];
                }
                if (replace_string(&t->name, s->name) < 0 || replace_string(&t->target, s->target) < 0)
                        return -ENOMEM;
                t->as = s->as;
        }
        return 0;
}

static int merge_ioctls(SeccompPolicy *r, const SeccompPolicy *c) {
        for (size_t i = 0; i < c->n_ioctl_deny; i++) {
                unsigned long *a;
                bool seen = false;

                for (size_t j = 0; j < r->n_ioctl_deny && !seen; j++)
                        seen = r->ioctl_deny[j] == c->ioctl_deny[i];
                if (seen)
                        continue;
                a = grow(r->ioctl_deny, r->n_ioctl_deny, sizeof *a);
                if (!a)
                        return -ENOMEM;
                r->ioctl_deny = a;
                r->ioctl_deny[r->n_ioctl_deny++] = c->ioctl_deny[i];
        }
        return 0;
}

static int replace_families(SeccompPolicy *r, const SeccompPolicy *c) {
        int *a = malloc((c->n_socket_families ? c->n_socket_families : 1) * sizeof(int));

        if (!a)
                return -ENOMEM;
        if (c->n_socket_families)
                memcpy(a, c->socket_families, c->n_socket_families * sizeof(int));
        free(r->socket_families);
        r->socket_families = a;
        r->n_socket_families = c->n_socket_families;
        r->restrict_socket_families = true;
        return 0;
}

/* Is name (a syscall or @group) a member of group, directly or through
 * groups it includes? */
static bool group_contains(const char *group, const char *name, unsigned depth) {
        const SyscallGroup *g = syscall_group_find(group);

        if (!g || depth > 8)
                return false;
        for (const char *const *m = g->members; *m; m++)
                if (streq(*m, name) || ((*m)[0] == '@' && group_contains(*m, name, depth + 1)))
                        return true;
        return false;
}

static const char *denied_by(const SeccompPolicy *s, const char *name) {
        for (size_t i = 0; i < s->n_deny; i++)
                if (streq(s->deny[i].name, name) ||
                    (s->deny[i].name[0] == '@' && group_contains(s->deny[i].name, name, 0)))
                        return s->deny[i].name;
        return NULL;
}

static ssize_t rule_find(const SyscallRule *rules, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(rules[i].name, name))
                        return (ssize_t) i;
        return -1;
}

static void rule_remove(SyscallRule *rules, size_t *n, size_t i) {
        free(rules[i].name);
        memmove(rules + i, rules + i + 1, (*n - i - 1) * sizeof *rules);
        (*n)--;
}

static int rule_append(SyscallRule **rules, size_t *n, const SyscallRule *rule) {
        SyscallRule *a = grow(*rules, *n, sizeof *a);

        if (!a)
                return -ENOMEM;
        *rules = a;
        a[*n].name = strdup(rule->name);
        if (!a[*n].name)
                return -ENOMEM;
        a[*n].errno_value = rule->errno_value;
        (*n)++;
        return 0;
}

/* deny = (inherited deny + own deny) - own allow, by name. An own allow
 * entry a denied group still covers would stay denied: that is a problem.
 * allow = inherited allow - what is denied now + own allow. */
static int merge_syscalls(SeccompPolicy *r, const ProfileLayer *l, ProfileProblems *pp) {
        const SeccompPolicy *c = &l->p.seccomp;
        char shown[80], group[80];
        ssize_t k;
        int q;

        for (size_t i = 0; i < c->n_deny; i++) {
                k = rule_find(r->deny, r->n_deny, c->deny[i].name);
                if (k >= 0)
                        r->deny[k].errno_value = c->deny[i].errno_value;
                else if ((q = rule_append(&r->deny, &r->n_deny, &c->deny[i])) < 0)
                        return q;
        }
        for (size_t i = 0; i < c->n_allow; i++) {
                const char *g;

                k = rule_find(r->deny, r->n_deny, c->allow[i].name);
                if (k >= 0)
                        rule_remove(r->deny, &r->n_deny, (size_t) k);
                g = denied_by(r, c->allow[i].name);
                if (g)
                        profile_problem(pp, l->file, l->allow_marks ? l->allow_marks[i] : l->root,
                                        "seccomp.allow: '%s' stays denied: it is in the denied group '%s' "
                                        "(allow the group and deny the rest by name)",
                                        profile_shown(c->allow[i].name, shown), profile_shown(g, group));
        }
        for (size_t i = 0; i < r->n_allow;)
                if (denied_by(r, r->allow[i].name))
                        rule_remove(r->allow, &r->n_allow, i);
                else
                        i++;
        for (size_t i = 0; i < c->n_allow; i++)
                if (rule_find(r->allow, r->n_allow, c->allow[i].name) < 0 &&
                    (q = rule_append(&r->allow, &r->n_allow, &c->allow[i])) < 0)
                        return q;
        return 0;
}

#define SETS(f) profile_layer_sets(l, f)

int profile_merge_layer(Profile *r, const ProfileLayer *l, ProfileProblems *pp) {
        const Profile *c = &l->p;
        int q;

        /* Never inherited: each file names itself and its own parent. */
        if (replace_string(&r->name, c->name) < 0 || replace_string(&r->extends, c->extends) < 0)
                return -ENOMEM;
        if (SETS(PF_DESCRIPTION) && replace_string(&r->description, c->description) < 0)
                return -ENOMEM;
        if (SETS(PF_CLASS))
                r->class_ = c->class_;
        if (SETS(PF_MODE))
                r->mode = c->mode;
        if (SETS(PF_KEEP_CODE))
                r->keep_code = c->keep_code;

        if (SETS(PF_MEMORY))
                r->limits.memory_bytes = c->limits.memory_bytes;
        if (SETS(PF_SWAP))
                r->swap_bytes = c->swap_bytes;
        if (SETS(PF_CPUS))
                r->limits.cpu_millicores = c->limits.cpu_millicores;
        if (SETS(PF_PIDS))
                r->limits.pids = c->limits.pids;
        if (SETS(PF_WALL_TIME))
                r->limits.timeout_usec = c->limits.timeout_usec;
        if (SETS(PF_CPU_TIME))
                r->limits.cpu_time_usec = c->limits.cpu_time_usec;
        if (SETS(PF_TMPFS))
                r->limits.tmpfs_bytes = c->limits.tmpfs_bytes;
        if (SETS(PF_OPEN_FILES))
                r->nofile = c->nofile;
        if (SETS(PF_FILE_SIZE))
                r->fsize_bytes = c->fsize_bytes;
        if (SETS(PF_OUTPUT))
                r->output_bytes = c->output_bytes;

        if (SETS(PF_SYSTEM_DIRS)) {
                char **v = strv_copy(c->system_dirs);
                if (!v)
                        return -ENOMEM;
                strv_free(r->system_dirs);
                r->system_dirs = v;
        }
        if (SETS(PF_BINDS) && (q = merge_binds(r, c)) < 0)
                return q;
        if (SETS(PF_HIDE) && strv_extend_unique(&r->hide, c->hide) < 0)
                return -ENOMEM;
        if (SETS(PF_WORKDIR) && replace_string(&r->workdir, c->workdir) < 0)
                return -ENOMEM;

        if (SETS(PF_NET_MODE))
                r->net_mode = c->net_mode;
        if (SETS(PF_NET_ALLOW) && (q = merge_net_allow(r, c)) < 0)
                return q;
        if (SETS(PF_NET_ALLOW) && c->n_net_allow > 0 && r->net_mode != NET_MODE_ALLOWLIST)
                profile_problem(pp, l->file, l->key_marks[PF_NET_ALLOW],
                                "network.allow: only with mode: allowlist (the mode here is %s)",
                                net_mode_to_string(r->net_mode));
        /* Switched off (here or above): inherited entries mean nothing. */
        if (r->net_mode == NET_MODE_NONE)
                net_allow_clear(r);

        if (SETS(PF_ENV_ALLOW) && strv_extend_unique(&r->env_allow, c->env_allow) < 0)
                return -ENOMEM;
        if (SETS(PF_ENV_SET) && (q = merge_env_set(r, c)) < 0)
                return q;
        if (SETS(PF_SECRETS) && (q = merge_secrets(r, c)) < 0)
                return q;

        if (SETS(PF_SECCOMP_DEFAULT))
                r->seccomp.default_action = c->seccomp.default_action;
        if (SETS(PF_SECCOMP_ERRNO))
                r->seccomp.errno_value = c->seccomp.errno_value;
        if ((q = merge_syscalls(&r->seccomp, l, pp)) < 0)
                return q;
        if (SETS(PF_SOCKET_FAMILIES) && (q = replace_families(&r->seccomp, &c->seccomp)) < 0)
                return q;
        if (SETS(PF_NAMESPACES))
                r->seccomp.deny_namespaces = c->seccomp.deny_namespaces;
        if (SETS(PF_IOCTL_DENY) && (q = merge_ioctls(&r->seccomp, &c->seccomp)) < 0)
                return q;

        if (SETS(PF_OBSERVE_SHAPE))
                r->observe.shape = c->observe.shape;
        if (SETS(PF_OBSERVE_WATCH)) {
                char **v = strv_copy(c->observe.watch);
                if (!v)
                        return -ENOMEM;
                strv_free(r->observe.watch);
                r->observe.watch = v;
        }
        if (SETS(PF_OBSERVE_BUDGET))
                r->observe.event_budget = c->observe.event_budget;
        return 0;
}

static int cmp_rules(const void *a, const void *b) {
        return strcmp(((const SyscallRule *) a)->name, ((const SyscallRule *) b)->name);
}

static int cmp_env(const void *a, const void *b) {
        const char *x = *(char *const *) a, *y = *(char *const *) b;
        size_t nx = env_name_len(x), ny = env_name_len(y);
        int c = strncmp(x, y, nx < ny ? nx : ny);
        return c != 0 ? c : (nx > ny) - (nx < ny);
}

/* Sets, whose order means nothing, in one order: so that the canonical
 * form (and its hash) depends on what a profile allows, not on how its
 * files were arranged. */
void profile_normalize(Profile *p) {
        if (p->seccomp.n_deny > 1)
                qsort(p->seccomp.deny, p->seccomp.n_deny, sizeof(SyscallRule), cmp_rules);
        if (p->seccomp.n_allow > 1)
                qsort(p->seccomp.allow, p->seccomp.n_allow, sizeof(SyscallRule), cmp_rules);
        if (strv_length(p->env_set) > 1)
                qsort(p->env_set, strv_length(p->env_set), sizeof(char *), cmp_env);
}
