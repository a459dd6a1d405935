/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "commands.h"
#include "run-options.h"
#include "profile.h"
#include "sandbox-profile.h"
#include "supervisor.h"
#include "syscall-filter.h"

extern char **environ;

/* A one-line note when a limit, not the task, ended the run. */
static void explain(const SandboxResult *r, const SandboxSpec *spec) {
        const SandboxLimits *l = &spec->limits;

        switch (r->cause) {
        case CAUSE_OOM:
                log_error("task killed: out of memory (--memory %llu bytes)", (unsigned long long) l->memory_bytes);
                break;
        case CAUSE_TIMEOUT:
                log_error("task killed: timeout (--timeout %llums)", (unsigned long long) (l->timeout_usec / 1000));
                break;
        case CAUSE_CPU_TIME:
                log_error("task killed: cpu time limit (--cpu-time %llums)",
                          (unsigned long long) (l->cpu_time_usec / 1000));
                break;
        case CAUSE_PIDS_LIMIT:
                log_error("task hit the process limit (--pids %llu)", (unsigned long long) l->pids);
                break;
        case CAUSE_SECCOMP:
                log_error("task killed by the seccomp filter (a syscall its profile forbids)");
                break;
        case CAUSE_SETUP_ERROR:
                if (r->exit_status == 127)
                        log_error("%s: command not found in the sandbox", spec->argv[0]);
                else if (r->exit_status == 126)
                        log_error("%s: cannot execute in the sandbox: %s", spec->argv[0], strerror(r->error_errno));
                else
                        log_error("sandbox setup failed (%s): %s", r->error_phase, r->error_message);
                break;
        case CAUSE_OK:
        case CAUSE_EXIT_NONZERO:
        case CAUSE_SIGNAL:
        default:
                break;
        }
        if (r->output_cut)
                log_error("output cut at %llu bytes (the task wrote %llu)", (unsigned long long) l->output_bytes,
                          (unsigned long long) r->output_bytes);
        if (r->audit_mode && r->audit.total > 0)
                log_error("audit: %llu calls the profile would deny; see the result record",
                          (unsigned long long) r->audit.total);
}

/* Profile, then the command line over it, then the compiled filter. */
static int resolve(RunOptions *opts, Profile *prof, SyscallFilter *filter) {
        ProfileError perr = {};
        char err[512];
        int r;

        r = profile_load(opts->profile ? opts->profile : "default", prof, &perr);
        if (r < 0) {
                if (perr.line > 0)
                        log_error("%s:%u:%u: %s", perr.file, perr.line, perr.column, perr.message);
                else if (perr.message[0])
                        log_error("%s%s%s", perr.file, perr.file[0] ? ": " : "", perr.message);
                else
                        log_error_errno(r, "cannot load profile '%s': %m", opts->profile ? opts->profile : "default");
                return r;
        }
        r = sandbox_spec_from_profile(&opts->spec, prof, environ, opts->secret_store, err, sizeof err);
        if (r >= 0)
                r = run_options_apply(opts, environ);
        if (r < 0) {
                if (err[0])
                        log_error("%s", err);
                else
                        log_error_errno(r, "cannot prepare the task: %m");
                return r;
        }
        r = syscall_filter_compile(&prof->seccomp, prof->mode == PROFILE_MODE_AUDIT, filter, err, sizeof err);
        if (r < 0) {
                log_error("profile '%s': %s", prof->name, err);
                return r;
        }
        opts->spec.filter = filter;
        return 0;
}

int cmd_run(int argc, char **argv) {
        double t_start = monotonic_ms();
        RunOptions opts;
        Profile prof = {};
        SyscallFilter filter = {};
        Supervisor sup;
        SandboxResult res;
        const char *what = NULL;
        char err[512];
        int r, status = EXIT_WRAPPER_FAILED;

        r = run_options_parse(argc, argv, &opts, err, sizeof err);
        if (r < 0) {
                if (streq(err, "help")) {
                        fputs(run_usage, stdout);
                        return 0;
                }
                log_error("%s", err);
                return EXIT_WRAPPER_FAILED;
        }
        if (opts.verbose)
                log_set_max_level(LOG_LEVEL_DEBUG);

        if (geteuid() != 0) {
                log_error("run needs root to build the sandbox (no stockaded daemon in this release); "
                          "run it as root, e.g. with sudo");
                goto finish;
        }
        if (resolve(&opts, &prof, &filter) < 0)
                goto finish;

        /* Held from here to exit: a signal for the task is relayed to it
         * once it runs, and never cuts the result record short. */
        (void) sandbox_block_relayed_signals(NULL);
        r = supervisor_init(&sup, &what);
        if (r < 0) {
                log_error_errno(r, "cannot prepare the supervisor (%s): %m; see 'stockade doctor'", what);
                goto finish;
        }

        r = sandbox_run(&sup, &opts.spec, t_start, &res);
        if (r < 0)
                log_debug_errno(r, "supervisor failure: %m");
        explain(&res, &opts.spec);
        status = res.exit_status;

        if (opts.result_json) {
                r = sandbox_result_write(opts.result_json, &opts.spec, &res);
                if (r < 0) {
                        log_error_errno(r, "cannot write the result to '%s': %m", opts.result_json);
                        status = EXIT_WRAPPER_FAILED;
                }
        }
        log_debug("request %s: cause %s, status %d, startup %.3f ms, wall %.3f ms", opts.spec.request_id,
                  exit_cause_to_string(res.cause), res.exit_status, res.startup_ms, res.wall_ms);
        supervisor_done(&sup);
finish:
        syscall_filter_done(&filter);
        profile_done(&prof);
        run_options_done(&opts);
        return status;
}
