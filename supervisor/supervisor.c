/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "basic/log.h"
#include "supervisor.h"

double monotonic_ms(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

int supervisor_init(Supervisor *s, const char **reterr_what) {
        int r;

        *s = (Supervisor) {};
        supervisor_net_init(&s->net);
        *reterr_what = "cgroup layout";
        r = cgroup_layout_detect(&s->layout, /* enable_controllers= */ true);
        if (r < 0)
                return r;
        /* A supervisor killed with SIGKILL leaves empty groups behind. */
        cgroup_sweep_stale(&s->layout);
        *reterr_what = NULL;
        return 0;
}

void supervisor_done(Supervisor *s) {
        supervisor_net_done(&s->net);
        supervisor_shape_done(&s->shape);
        cgroup_layout_done(&s->layout);
}
