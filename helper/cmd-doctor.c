/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "doctor.h"

int cmd_doctor(int argc, char **argv) {
        DoctorReport rep;
        bool ok;

        if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                puts("usage: stockade doctor\n\nPrints, per mechanism, whether this host supports it and "
                     "which backend run uses.\nExit 0 when run can work here.");
                return 0;
        }
        if (argc > 1) {
                fprintf(stderr, "stockade: doctor takes no arguments; see 'stockade doctor --help'\n");
                return EXIT_WRAPPER_FAILED;
        }
        doctor_probe(&rep);
        for (size_t i = 0; i < rep.n; i++) {
                const DoctorCheck *c = &rep.checks[i];
                printf("%-22s %-4s %s%s\n", c->name, c->ok ? "yes" : "no", c->detail,
                       !c->ok && c->required ? "  [required]" : "");
        }
        ok = doctor_run_can_work(&rep);
        printf("\nrun: %s\n", ok ? "can work on this host" : "cannot work: see the [required] lines above");
        return ok ? 0 : 1;
}
