/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "sandbox.h"

static void strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

void sandbox_limits_default(SandboxLimits *ret) {
        /* Conservative ceilings for code nobody has reviewed; every one can be
         * raised per task. Documented in stockade(1). */
        *ret = (SandboxLimits) {
                .memory_bytes = 512ULL << 20,
                .cpu_millicores = 1000,
                .pids = 128,
                .timeout_usec = 600ULL * 1000000ULL,
                .cpu_time_usec = 0,
                .tmpfs_bytes = 64ULL << 20,
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
        memset(spec, 0, sizeof *spec);
}
