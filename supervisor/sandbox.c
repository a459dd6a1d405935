/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "basic/env-util.h"
#include "sandbox.h"


void sandbox_limits_default(SandboxLimits *ret) {
        /* Conservative ceilings for code nobody has reviewed; every one can be
         * raised per task. Documented in stockade(1). */
        *ret = (SandboxLimits) {
                .memory_bytes = 512ULL << 20,
                .swap_bytes = 0,
                .cpu_millicores = 1000,
                .pids = 128,
                .timeout_usec = 600ULL * 1000000ULL,
                .cpu_time_usec = 0,
                .tmpfs_bytes = 64ULL << 20,
                .nofile = 1024,
                .fsize_bytes = 0,
                .output_bytes = 0,
        };
}

void sandbox_spec_done(SandboxSpec *spec) {
        if (!spec)
                return;
        strv_free(spec->argv);
        strv_free(spec->envp);
        free(spec->script_host_path);
        free(spec->script_path);
        free(spec->script_data);
        for (size_t i = 0; i < spec->n_binds; i++) {
                free(spec->binds[i].source);
                free(spec->binds[i].dest);
        }
        free(spec->binds);
        free(spec->workdir);
        free(spec->workdir_source);
        strv_free(spec->system_dirs);
        strv_free(spec->hide);
        for (size_t i = 0; i < spec->n_secrets; i++) {
                SandboxSecret *x = &spec->secrets[i];
                free(x->name);
                free(x->target);
                if (x->value)
                        explicit_bzero(x->value, x->len);
                free(x->value);
        }
        free(spec->secrets);
        free(spec->profile_name);
        strv_free(spec->shape_watch);
        memset(spec, 0, sizeof *spec);
}
