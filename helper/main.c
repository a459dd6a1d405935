/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "basic/log.h"
#include "commands.h"
#include "config.h"

static const char usage[] =
        "usage: stockade COMMAND [ARGS...]\n"
        "\n"
        "  run [OPTIONS] -- COMMAND [ARGS...]   run a command in a fresh sandbox\n"
        "  run [OPTIONS] SCRIPT [ARGS...]       run a script through its interpreter\n"
        "  doctor                               what this kernel and host support\n"
        "  profile check|show|list              check, show or list sandbox profiles\n"
        "  journal verify|show|follow           verify, read or follow the journal\n"
        "\n"
        "Exit status of run: the task's; 128+N if killed by signal N; 125 stockade\n"
        "failed; 126 command not executable; 127 command not found.\n"
        "'stockade run --help' lists the run options. See stockade(1).\n";

static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
} commands[] = {
        { "run", cmd_run },
        { "doctor", cmd_doctor },
        { "profile", cmd_profile },
        { "journal", cmd_journal },
};

int main(int argc, char **argv) {
        if (argc < 2) {
                fputs(usage, stderr);
                return EXIT_WRAPPER_FAILED;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                fputs(usage, stdout);
                return 0;
        }
        if (strcmp(argv[1], "--version") == 0) {
                printf("stockade %s\n", PACKAGE_VERSION);
                return 0;
        }
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                if (strcmp(argv[1], commands[i].name) == 0)
                        return commands[i].fn(argc - 1, argv + 1);
        log_error("unknown command '%s'; see 'stockade --help'", argv[1]);
        return EXIT_WRAPPER_FAILED;
}
