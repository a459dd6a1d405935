/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/env-util.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/sha256.h"
#include "sandbox-profile.h"
#include "secrets.h"

static int add_binds(SandboxSpec *spec, const Profile *p, char *err, size_t errlen) {
        for (size_t i = 0; i < p->n_binds; i++) {
                const ProfileBind *b = &p->binds[i];
                char *src = realpath(b->source, NULL);
                BindSpec *nb;

                if (!src) {
                        if (!b->must_exist && errno == ENOENT)
                                continue;
                        return errbuf_set(err, errlen, "profile '%s': bind source '%s': %s", p->name, b->source,
                                    strerror(errno));
                }
                nb = reallocarray(spec->binds, spec->n_binds + 1, sizeof *nb);
                if (!nb) {
                        free(src);
                        return -ENOMEM;
                }
                spec->binds = nb;
                nb[spec->n_binds] = (BindSpec) { .source = src, .dest = strdup(b->dest), .mode = b->mode };
                if (!nb[spec->n_binds++].dest)
                        return -ENOMEM;
        }
        return 0;
}

static int build_env(SandboxSpec *spec, const Profile *p, char **host_env) {
        int r;

        if ((r = env_set(&spec->envp, "PATH", 4, "/usr/local/bin:/usr/bin:/bin")) < 0 ||
            (r = env_set(&spec->envp, "LANG", 4, "C.UTF-8")) < 0 || (r = env_set(&spec->envp, "HOME", 4, "/tmp")) < 0)
                return r;
        if (!p)
                return 0;
        for (char **h = host_env; h && *h; h++) {
                const char *eq = strchr(*h, '=');
                char name[256];
                if (!eq || (size_t) (eq - *h) >= sizeof name)
                        continue;
                memcpy(name, *h, (size_t) (eq - *h));
                name[eq - *h] = 0;
                for (char **g = p->env_allow; g && *g; g++)
                        if (fnmatch(*g, name, 0) == 0) {
                                r = env_set(&spec->envp, name, strlen(name), eq + 1);
                                if (r < 0)
                                        return r;
                                break;
                        }
        }
        for (char **s = p->env_set; s && *s; s++) {
                const char *eq = strchr(*s, '=');
                if (!eq)
                        continue;
                r = env_set(&spec->envp, *s, (size_t) (eq - *s), eq + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int load_secrets(SandboxSpec *spec, const Profile *p, const char *store, char *err, size_t errlen) {
        if (p->n_secrets == 0)
                return 0;
        spec->secrets = calloc(p->n_secrets, sizeof(SandboxSecret));
        if (!spec->secrets)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_secrets; i++) {
                const ProfileSecret *ps = &p->secrets[i];
                SandboxSecret *x = &spec->secrets[spec->n_secrets++];
                int r;

                x->as = ps->as == SECRET_AS_ENV ? SECRET_TARGET_ENV : SECRET_TARGET_FILE;
                x->name = strdup(ps->name);
                x->target = strdup(ps->target);
                if (!x->name || !x->target)
                        return -ENOMEM;
                r = secret_load(store ? store : SECRET_STORE_DEFAULT, ps->name, &x->value, &x->len, err, errlen);
                if (r < 0)
                        return r;
                r = sha256_hex(x->value, x->len, x->sha256);
                if (r < 0)
                        return errbuf_set(err, errlen, "cannot hash secret '%s': %s", ps->name, strerror(-r));
                if (x->as == SECRET_TARGET_ENV) {
                        /* A trailing newline is the file's, not the value's. */
                        size_t len = x->len;
                        if (len > 0 && x->value[len - 1] == '\n')
                                len--;
                        if (memchr(x->value, 0, len))
                                return errbuf_set(err, errlen, "secret '%s' holds a NUL byte; deliver it as a file", ps->name);
                        char save = x->value[len];
                        x->value[len] = 0;
                        r = env_set(&spec->envp, x->target, strlen(x->target), x->value);
                        x->value[len] = save;
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* observe.watch, then the profile's hidden paths while there is room: an
 * attempt to open what the profile hides is worth an event. A hidden path
 * that is no valid watch prefix (too long, or with a '*') is left out. */
static int build_watch(SandboxSpec *spec, const Profile *p) {
        _cleanup_(strv_freep) char **v = strv_copy(p->observe.watch);
        size_t n;

        if (!v)
                return -ENOMEM;
        n = strv_length(v);
        for (char **h = p->hide; h && *h && n < PROFILE_OBSERVE_WATCH_MAX; h++) {
                char *s;

                /* Already absolute and without "..": hide entries are checked paths. */
                if (strlen(*h) > PROFILE_OBSERVE_PREFIX_MAX || strchr(*h, '*') || strv_contains(v, *h))
                        continue;
                s = strdup(*h);
                if (!s || strv_push(&v, s) < 0)
                        return -ENOMEM;
                n++;
        }
        strv_free(spec->shape_watch);
        spec->shape_watch = TAKE_PTR(v);
        return 0;
}

int sandbox_spec_from_profile(SandboxSpec *spec, const Profile *p, char **host_env, const char *secret_store,
                              char *err, size_t errlen) {
        int r;

        err[0] = 0;
        sandbox_limits_default(&spec->limits);
        r = build_env(spec, p, host_env);
        if (r < 0 || !p)
                return r;

        spec->limits = p->limits;
        spec->limits.swap_bytes = p->swap_bytes;
        spec->limits.nofile = p->nofile;
        spec->limits.fsize_bytes = p->fsize_bytes;
        spec->limits.output_bytes = p->output_bytes;

        if (p->system_dirs && !(spec->system_dirs = strv_copy(p->system_dirs)))
                return -ENOMEM;
        if (p->hide && !(spec->hide = strv_copy(p->hide)))
                return -ENOMEM;
        r = add_binds(spec, p, err, errlen);
        if (r < 0)
                return r;
        if (p->workdir) {
                struct stat st;
                free(spec->workdir);
                spec->workdir = realpath(p->workdir, NULL);
                if (!spec->workdir || stat(spec->workdir, &st) < 0 || !S_ISDIR(st.st_mode))
                        return errbuf_set(err, errlen, "profile '%s': workdir '%s' is not an existing directory", p->name,
                                    p->workdir);
        }
        r = load_secrets(spec, p, secret_store, err, errlen);
        if (r < 0)
                return r;

        spec->profile_name = strdup(p->name);
        if (!spec->profile_name)
                return -ENOMEM;
        memcpy(spec->profile_sha256, p->sha256, sizeof spec->profile_sha256);
        spec->task_class = profile_class_to_string(p->class_);
        spec->mode = profile_mode_to_string(p->mode);
        spec->network = net_mode_to_string(p->net_mode);
        if (p->net_mode == NET_MODE_ALLOWLIST) {
                spec->net_allow = p->net_allow;
                spec->n_net_allow = p->n_net_allow;
        }
        spec->shape = p->observe.shape;
        spec->shape_event_budget = (uint32_t) p->observe.event_budget; /* at most 10^7 */
        return build_watch(spec, p);
}
