/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "commands.h"
#include "daemon-config.h"
#include "run-client.h"
#include "run-exec.h"
#include "sandbox-profile.h"
#include "supervisor.h"
#include "syscall-filter.h"

extern char **environ;

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

        /* Through stockaded when asked, or when it listens and we were not
         * asked to run embedded; embedded as root otherwise. */
        if (!opts.embedded) {
                const char *sock = opts.connect ? opts.connect : getenv("STOCKADE_SOCKET");
                if (!sock || !*sock)
                        sock = DAEMON_SOCKET_DEFAULT;
                if (opts.connect || access(sock, F_OK) >= 0) {
                        status = run_client(&opts, sock);
                        goto finish;
                }
        }
        if (geteuid() != 0) {
                log_error("no stockaded listens on %s, and running without it needs root; start stockaded, "
                          "give --connect SOCKET, or run as root",
                          getenv("STOCKADE_SOCKET") && *getenv("STOCKADE_SOCKET") ? getenv("STOCKADE_SOCKET")
                                                                                 : DAEMON_SOCKET_DEFAULT);
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
