/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "net-host.h"
#include "sandbox.h"

enum {
        SET_MEMORY = 1 << 0,
        SET_CPUS = 1 << 1,
        SET_PIDS = 1 << 2,
        SET_TIMEOUT = 1 << 3,
        SET_CPU_TIME = 1 << 4,
        SET_TMPFS = 1 << 5,
        SET_OUTPUT = 1 << 6,
};

typedef struct RunOptions {
        /* argv, the script and the request id come from the command line;
         * the rest of the spec from the profile, then run_options_apply(). */
        SandboxSpec spec;
        char *profile;       /* --profile NAME|PATH; NULL: "default" */
        char *secret_store;  /* --secret-store DIR; NULL: the default store */
        char *result_json;
        char *journal;       /* --journal DIR; NULL: $STOCKADE_JOURNAL, else the default */
        bool no_journal;     /* --no-journal */
        JournalFsync journal_fsync; /* --journal-fsync; default batch */
        NetPool net_pool;    /* --net-pool, when net_pool_set */
        bool net_pool_set;
        char *dns_upstream;  /* --dns-upstream; NULL: /etc/resolv.conf */
        bool verbose;

        /* Command-line overrides of the profile. */
        SandboxLimits limits;
        unsigned limits_set; /* SET_* */
        BindSpec *binds;     /* added after the profile's */
        size_t n_binds;
        char *workdir;
        char **pass_env;     /* --env NAMEs, pointing into argv */
        size_t n_pass_env;
        char **set_env;      /* --setenv NAME=VALUEs, pointing into argv */
        size_t n_set_env;
        uid_t uid;
        gid_t gid;
        bool uid_set, gid_set; /* --uid / --gid given (the daemon refuses them) */

        /* Labels of the request (stockaded's admission, the record). */
        const char *task_class; /* --task-class: static "interactive" or "batch"; NULL: the profile's */
        char *code_origin;      /* --code-origin; NULL: "user" */
        unsigned attempt;       /* --attempt, >= 1 */
        char *retry_of;         /* --retry-of REQUEST_ID; NULL: none */

        /* How the client runs it: through stockaded or in-process. */
        char *connect;          /* --connect SOCKET; NULL: the default socket */
        bool embedded;          /* --embedded */

        /* Set by run_request_decode(): pass_env and set_env strings are
         * owned, and each bind source (and workdir_source) is
         * "/proc/self/fd/N" of one of fds, owned and closed by
         * run_options_done(), so keep opts alive until the sources are
         * opened (fsview_sources_open()). */
        bool env_owned;
        int *fds;
        size_t n_fds;
        char *workdir_source;   /* NULL: workdir itself is the source */
} RunOptions;

/* Parses "run"'s arguments (argv[0] is "run"). Pure apart from realpath()
 * and reading a script. On failure err holds one line naming the problem
 * and the fix. */
int run_options_parse(int argc, char **argv, RunOptions *opts, char *err, size_t errlen);

/* Applies the overrides to opts->spec, once the profile has filled it. */
int run_options_apply(RunOptions *opts, char **host_env);

void run_options_done(RunOptions *opts);

/* [A-Za-z0-9._:-]{1,128} */
bool request_id_valid(const char *id);
/* [a-z0-9_-]{1,32} */
bool code_origin_valid(const char *s);
/* The static "interactive" or "batch" for s, else NULL. */
const char *task_class_lookup(const char *s);
/* A bind destination (or workdir) inside: absolute, no "." or "..", not
 * "/" and not under /proc, /dev or the script directory. */
bool run_dest_valid(const char *p);
/* Whether v is in the range the command line accepts for the SET_* limit which. */
bool run_limit_valid(unsigned which, uint64_t v);
int request_id_generate(char ret[SANDBOX_REQUEST_ID_MAX + 1]);

extern const char run_usage[];
