/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stockaded(8): the privileged supervisor daemon. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "basic/log.h"
#include "daemon.h"

static const char usage[] =
        "usage: stockaded [--config FILE] [--check] [-v]\n"
        "Runs sandboxed tasks for the callers of its socket (stockaded(8)).\n"
        "  --config FILE   the configuration (default " DAEMON_CONFIG_DEFAULT ")\n"
        "  --check         load and validate the configuration and its profiles, then exit\n"
        "  -v, --verbose   log what the supervisor does\n";

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "check", no_argument, NULL, 'C' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config = DAEMON_CONFIG_DEFAULT;
        bool check = false;
        int c;

        while ((c = getopt_long(argc, argv, "vh", opts, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config = optarg;
                        break;
                case 'C':
                        check = true;
                        break;
                case 'v':
                        log_set_max_level(LOG_LEVEL_DEBUG);
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return 2;
                }
        if (optind < argc) {
                fputs(usage, stderr);
                return 2;
        }
        if (check) {
                DaemonPolicy *p = NULL;
                char err[768];
                if (daemon_policy_load(config, &p, err, sizeof err) < 0) {
                        log_error("%s", err);
                        return 1;
                }
                printf("%s: %zu tenants, %zu profiles, sha256 %s\n", config, p->config.n_tenants, p->n_profiles,
                       p->config.sha256);
                daemon_policy_free(p);
                return 0;
        }
        if (geteuid() != 0) {
                log_error("stockaded builds sandboxes and needs root");
                return 1;
        }
        return daemon_run(config) < 0 ? 1 : 0;
}
