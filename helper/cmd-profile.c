/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stockade profile check|show|list: the profile loader from the command
 * line (stockade-profile(5)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "commands.h"
#include "profile.h"

static const char usage[] =
        "usage: stockade profile check FILE...     report every problem, one per line\n"
        "       stockade profile show NAME|FILE    print the resolved profile (canonical YAML)\n"
        "       stockade profile list              the profiles on the search path, with their source\n"
        "\n"
        "Problems are printed as FILE:LINE:COLUMN: MESSAGE. check exits 0 when every\n"
        "file is clean, 1 otherwise; show exits 1 when the profile does not load;\n"
        "all exit 125 on usage errors. See stockade-profile(5).\n";

static void print_error(FILE *f, const ProfileError *e) {
        if (e->line > 0)
                fprintf(f, "%s:%u:%u: %s\n", e->file, e->line, e->column, e->message);
        else if (e->file[0])
                fprintf(f, "%s: %s\n", e->file, e->message);
        else
                fprintf(f, "%s\n", e->message);
}

static void on_problem(const ProfileError *e, void *userdata) {
        print_error(userdata, e);
}

static int profile_check(int argc, char **argv) {
        int ret = 0;

        if (argc < 2) {
                fputs("stockade: profile check needs at least one FILE\n", stderr);
                return EXIT_WRAPPER_FAILED;
        }
        for (int i = 1; i < argc; i++) {
                int r = profile_check_file(argv[i], on_problem, stdout);

                if (r < 0) {
                        printf("%s: cannot read: %s\n", argv[i],
                               r == -EBADFD  ? "not a regular file"
                               : r == -EFBIG ? "too large"
                                             : strerror(-r));
                        ret = 1;
                } else if (r > 0)
                        ret = 1;
        }
        if (fflush(stdout) != 0)
                return EXIT_WRAPPER_FAILED;
        return ret;
}

static int profile_show(int argc, char **argv) {
        _cleanup_free_ char *text = NULL;
        Profile p = {};
        ProfileError e = {};
        int r;

        if (argc != 2) {
                fputs("stockade: profile show takes one NAME or FILE\n", stderr);
                return EXIT_WRAPPER_FAILED;
        }
        r = profile_load(argv[1], &p, &e);
        if (r < 0) {
                if (!e.message[0])
                        (void) snprintf(e.message, sizeof e.message, "cannot load '%s': %s", argv[1], strerror(-r));
                print_error(stderr, &e);
                return 1;
        }
        text = profile_to_yaml(&p);
        profile_done(&p);
        if (!text) {
                fputs("stockade: out of memory\n", stderr);
                return EXIT_WRAPPER_FAILED;
        }
        fputs(text, stdout);
        return fflush(stdout) == 0 ? 0 : EXIT_WRAPPER_FAILED;
}

static int profile_list_all(int argc, _unused_ char **argv) {
        char **names;

        if (argc != 1) {
                fputs("stockade: profile list takes no arguments\n", stderr);
                return EXIT_WRAPPER_FAILED;
        }
        names = profile_list();
        if (!names) {
                fputs("stockade: cannot list profiles: out of memory\n", stderr);
                return EXIT_WRAPPER_FAILED;
        }
        for (char **n = names; *n; n++) {
                _cleanup_free_ char *path = NULL;

                if (profile_lookup(*n, &path) < 0)
                        printf("%s\t?\n", *n);
                else
                        printf("%s\t%s\n", *n, path);
                free(*n);
        }
        free(names);
        return fflush(stdout) == 0 ? 0 : EXIT_WRAPPER_FAILED;
}

int cmd_profile(int argc, char **argv) {
        if (argc < 2) {
                fputs(usage, stderr);
                return EXIT_WRAPPER_FAILED;
        }
        if (streq(argv[1], "--help") || streq(argv[1], "-h")) {
                fputs(usage, stdout);
                return 0;
        }
        if (streq(argv[1], "check"))
                return profile_check(argc - 1, argv + 1);
        if (streq(argv[1], "show"))
                return profile_show(argc - 1, argv + 1);
        if (streq(argv[1], "list"))
                return profile_list_all(argc - 1, argv + 1);
        fprintf(stderr, "stockade: unknown profile command '%s'; see 'stockade profile --help'\n", argv[1]);
        return EXIT_WRAPPER_FAILED;
}
