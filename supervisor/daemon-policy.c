/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's policy: its config, every profile a tenant may use (loaded
 * and compiled once per load, never per request), and the tenants' cgroup
 * subtrees. A load that fails anywhere leaves nothing half-applied. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "daemon.h"
#include "run-exec.h"

static void profile_entry_done(DaemonProfile *p) {
        free(p->name);
        syscall_filter_done(&p->filter);
        profile_done(&p->prof);
}

void daemon_policy_free(DaemonPolicy *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n_profiles; i++)
                profile_entry_done(&p->profiles[i]);
        free(p->profiles);
        daemon_config_done(&p->config);
        free(p);
}

const DaemonProfile *daemon_policy_profile(const DaemonPolicy *p, const char *name) {
        for (size_t i = 0; i < p->n_profiles; i++)
                if (streq(p->profiles[i].name, name))
                        return &p->profiles[i];
        return NULL;
}

static int add_profile(DaemonPolicy *p, const char *name, char *err, size_t errlen) {
        DaemonProfile *n, e = {};
        char why[512];
        int r;

        if (daemon_policy_profile(p, name))
                return 0;
        r = run_load_profile(name, &e.prof, &e.filter, why, sizeof why);
        if (r < 0) {
                (void) snprintf(err, errlen, "profile '%s': %s", name, why);
                profile_entry_done(&e);
                return r;
        }
        e.name = strdup(name);
        n = reallocarray(p->profiles, p->n_profiles + 1, sizeof *n);
        if (!e.name || !n) {
                if (n)
                        p->profiles = n;
                profile_entry_done(&e);
                return -ENOMEM;
        }
        p->profiles = n;
        p->profiles[p->n_profiles++] = e;
        return 0;
}

int daemon_policy_load(const char *path, DaemonPolicy **ret, char *err, size_t errlen) {
        DaemonConfigError cerr = {};
        DaemonPolicy *p;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        r = daemon_config_load(path, &p->config, &cerr);
        if (r < 0) {
                if (cerr.line > 0)
                        (void) snprintf(err, errlen, "%s:%u:%u: %s", cerr.file, cerr.line, cerr.column, cerr.message);
                else
                        (void) snprintf(err, errlen, "%s: %s", cerr.file[0] ? cerr.file : path,
                                        cerr.message[0] ? cerr.message : strerror(-r));
                free(p);
                return r;
        }
        for (size_t t = 0; t < p->config.n_tenants; t++)
                for (char **n = p->config.tenants[t].profiles; n && *n; n++) {
                        r = add_profile(p, *n, err, errlen);
                        if (r < 0) {
                                daemon_policy_free(p);
                                return r;
                        }
                }
        *ret = p;
        return 0;
}

DaemonTenantGroup *daemon_group(Daemon *d, const char *tenant) {
        for (size_t i = 0; i < d->n_groups; i++)
                if (streq(d->groups[i].tenant, tenant))
                        return &d->groups[i];
        return NULL;
}

static void group_remove(Daemon *d, size_t i) {
        cgroup_subtree_destroy(&d->groups[i].layout);
        free(d->groups[i].tenant);
        d->groups[i] = d->groups[--d->n_groups];
}

int daemon_groups_sync(Daemon *d, char *err, size_t errlen) {
        const DaemonConfig *c = &d->policy->config;

        for (size_t i = 0; i < d->n_groups; i++)
                d->groups[i].gone = !daemon_config_tenant_by_name(c, d->groups[i].tenant);
        for (size_t t = 0; t < c->n_tenants; t++) {
                const Tenant *tn = &c->tenants[t];
                CgroupSubtreeLimits lim = { .cpu_weight = tn->cpu_weight, .memory_max = tn->memory_max,
                                            .pids_max = tn->pids_max };
                DaemonTenantGroup *g = daemon_group(d, tn->name), *n;
                const char *what = NULL;
                char name[128];
                int r;

                if (g) {
                        r = cgroup_subtree_update(&g->layout, &lim, &what);
                        if (r < 0) {
                                (void) snprintf(err, errlen, "tenant '%s': cannot set its %s ceiling: %s", tn->name,
                                                what ? what : "cgroup", strerror(-r));
                                return r;
                        }
                        continue;
                }
                n = reallocarray(d->groups, d->n_groups + 1, sizeof *n);
                if (!n)
                        return -ENOMEM;
                d->groups = n;
                g = &d->groups[d->n_groups];
                *g = (DaemonTenantGroup) {};
                /* stockade-<pid>-: a dead daemon's subtrees are swept by the next. */
                (void) snprintf(name, sizeof name, "stockade-%d-tenant-%s", (int) getpid(), tn->name);
                r = cgroup_subtree_create(&d->sup.layout, name, &lim, &g->layout, &what);
                if (r < 0) {
                        (void) snprintf(err, errlen, "tenant '%s': cannot create its cgroup subtree (%s): %s",
                                        tn->name, what ? what : "?", strerror(-r));
                        return r;
                }
                g->tenant = strdup(tn->name);
                if (!g->tenant) {
                        cgroup_subtree_destroy(&g->layout);
                        return -ENOMEM;
                }
                d->n_groups++;
        }
        for (size_t i = d->n_groups; i-- > 0;)
                if (d->groups[i].gone && d->groups[i].running == 0)
                        group_remove(d, i);
        return 0;
}

void daemon_groups_release(Daemon *d, const char *tenant) {
        DaemonTenantGroup *g = daemon_group(d, tenant);

        if (!g)
                return;
        if (g->running > 0)
                g->running--;
        if (g->gone && g->running == 0)
                group_remove(d, (size_t) (g - d->groups));
}

void daemon_groups_done(Daemon *d) {
        while (d->n_groups > 0)
                group_remove(d, d->n_groups - 1);
        free(d->groups);
        d->groups = NULL;
}
