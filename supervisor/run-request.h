/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A "run" request (daemon-proto.h) <-> RunOptions. The client parses its
 * command line with run_options_parse() as the caller (so paths resolve
 * and scripts are read with the caller's rights), then encodes what was
 * parsed; the daemon decodes into a RunOptions and applies the profile
 * as embedded mode does. Fields (stockaded(8), PROTOCOL):
 *
 *   argv [str], request_id str, profile str|null, env {NAME: VALUE},
 *   cwd str, task_class str|null, code_origin str|null, attempt int,
 *   retry_of str|null, script {path, name, data (base64), sha256}|null,
 *   limits {memory, swap, cpus, pids, timeout_us, cpu_time_us, tmpfs,
 *   output} (only those set on the command line), binds [{dest, mode,
 *   fd_index}], workdir {path, fd_index}|null, pass_env [NAME],
 *   set_env [NAME=VALUE], verbose bool.
 *
 * Options that belong to the daemon's configuration (--journal,
 * --no-journal, --journal-fsync, --secret-store, --net-pool,
 * --dns-upstream, --uid, --gid) are not encoded: the client refuses them
 * before connecting (run_request_check_daemon_options). */

#include <stddef.h>

#include "run-options.h"

struct json_object;

/* Extra request fields beyond RunOptions. */
typedef struct RunRequestMeta {
        char **env;          /* the caller's environment, "NAME=VALUE", NULL-terminated */
        char *cwd;
        char *task_class;    /* --task-class, NULL: the profile's */
        char *code_origin;   /* --code-origin, NULL: "user" */
        unsigned attempt;    /* --attempt, default 1 */
        char *retry_of;      /* --retry-of REQUEST_ID, NULL: none */
} RunRequestMeta;

void run_request_meta_done(RunRequestMeta *m);

/* 0, or -EINVAL with err naming the option that only the daemon's config may set. */
int run_request_check_daemon_options(const RunOptions *opts, char *err, size_t errlen);

/* Encodes opts + meta as a "run" message. The bind sources (and the
 * workdir) are opened by the caller (O_RDONLY|O_CLOEXEC, plus O_DIRECTORY
 * for directories, as itself: proof that it may read them) and passed as
 * fds: *ret_fds gets them in fd_index order (the caller closes
 * them after sending). */
int run_request_encode(const RunOptions *opts, const RunRequestMeta *meta, struct json_object **ret_msg,
                       int **ret_fds, size_t *ret_n_fds, char *err, size_t errlen);

/* Decodes a "run" message into opts (run_options_done() frees) and meta.
 * fds are the frame's fds after stdin/stdout/stderr; each bind source
 * becomes "/proc/self/fd/N" of an fd the decoder dup's (O_CLOEXEC) and
 * records in opts. Bad or missing fields: -EBADMSG with err naming the
 * field. */
int run_request_decode(struct json_object *msg, const int *bind_fds, size_t n_bind_fds, RunOptions *opts,
                       RunRequestMeta *meta, char *err, size_t errlen);
