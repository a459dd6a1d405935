/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "commands.h"
#include "run-exec.h"
#include "sandbox-profile.h"
#include "supervisor.h"
#include "syscall-filter.h"

extern char **environ;

/* Profile, then the command line over it, then the compiled filter. On
 * failure err holds the one line for the user and the journal. */
int run_resolve(RunOptions *opts, Profile *prof, SyscallFilter *filter, char *err, size_t errlen) {
        ProfileError perr = {};
        char why[256];
        int r;

        err[0] = 0;
        r = profile_load(opts->profile ? opts->profile : "default", prof, &perr);
        if (r < 0) {
                if (perr.line > 0)
                        (void) snprintf(err, errlen, "%s:%u:%u: %s", perr.file, perr.line, perr.column, perr.message);
                else if (perr.message[0])
                        (void) snprintf(err, errlen, "%s%s%s", perr.file, perr.file[0] ? ": " : "", perr.message);
                else
                        (void) snprintf(err, errlen, "cannot load profile '%s': %s",
                                        opts->profile ? opts->profile : "default", strerror(-r));
                return r;
        }
        r = sandbox_spec_from_profile(&opts->spec, prof, environ, opts->secret_store, why, sizeof why);
        if (r >= 0)
                r = run_options_apply(opts, environ);
        if (r < 0) {
                (void) snprintf(err, errlen, "%s", why[0] ? why : strerror(-r));
                return r;
        }
        r = syscall_filter_compile(&prof->seccomp, prof->mode == PROFILE_MODE_AUDIT, filter, why, sizeof why);
        if (r < 0) {
                (void) snprintf(err, errlen, "profile '%s': %s", prof->name, why);
                return r;
        }
        opts->spec.filter = filter;
        return 0;
}

int cmd_run(int argc, char **argv) {
        double t_start = monotonic_ms(), t_policy;
        RunOptions opts;
        Profile prof = {};
        SyscallFilter filter = {};
        SandboxResult res;
        char err[1024];
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

        t_policy = monotonic_ms();
        r = run_resolve(&opts, &prof, &filter, err, sizeof err);
        t_policy = monotonic_ms() - t_policy;
        if (r < 0) {
                log_error("%s", err);
                run_refused(&opts, err, t_policy);
                goto finish;
        }
        status = run_execute(&opts, &prof, t_start, t_policy, "root on the host (embedded supervisor)", &res);
finish:
        syscall_filter_done(&filter);
        profile_done(&prof);
        run_options_done(&opts);
        return status;
}
