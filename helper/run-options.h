/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "sandbox.h"

typedef struct RunOptions {
        SandboxSpec spec;
        char *result_json;
        bool verbose;
} RunOptions;

/* Parses "run"'s arguments (argv[0] is "run") into opts, building the task's
 * environment from host_env. Pure apart from realpath()/stat() of the paths
 * given. On failure err holds one line naming the problem and the fix. */
int run_options_parse(int argc, char **argv, char **host_env, RunOptions *opts, char *err, size_t errlen);
void run_options_done(RunOptions *opts);

/* [A-Za-z0-9._:-]{1,128} */
bool request_id_valid(const char *id);
int request_id_generate(char ret[SANDBOX_REQUEST_ID_MAX + 1]);

extern const char run_usage[];
