/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One main for every Check test: TAP on stdout for meson, fork mode so a
 * crash stays inside one test. */
#include <check.h>
#include <stdlib.h>

#define CHECK_MAIN(suite_fn)                                            \
        int main(void) {                                                \
                SRunner *sr = srunner_create(suite_fn());               \
                int failed;                                             \
                srunner_set_tap(sr, "-");                               \
                srunner_run_all(sr, CK_SILENT);                         \
                failed = srunner_ntests_failed(sr);                     \
                srunner_free(sr);                                       \
                return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;       \
        }
