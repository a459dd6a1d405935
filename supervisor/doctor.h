/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* What this kernel and host support, mechanism by mechanism. Probes only
 * read or try harmless calls: nothing on the host is changed. */

typedef struct DoctorCheck {
        char name[48];
        bool ok;
        bool required; /* run cannot work without it */
        char detail[256];
} DoctorCheck;

#define DOCTOR_MAX_CHECKS 48

typedef struct DoctorReport {
        DoctorCheck checks[DOCTOR_MAX_CHECKS];
        size_t n;
} DoctorReport;

void doctor_probe(DoctorReport *ret);
bool doctor_run_can_work(const DoctorReport *r);
