/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static LogLevel max_level = LOG_LEVEL_WARNING;
static const char *log_prefix = "stockade";

void log_set_max_level(LogLevel level) {
        max_level = level;
}

void log_set_prefix(const char *prefix) {
        log_prefix = prefix;
}

int log_internal(LogLevel level, int error, const char *fmt, ...) {
        int e = error < 0 ? -error : error;

        if (level <= max_level) {
                char buf[2048];
                va_list ap;

                /* glibc's %m reads errno, so point it at the error we log. */
                errno = e;
                va_start(ap, fmt);
                (void) vsnprintf(buf, sizeof buf, fmt, ap);
                va_end(ap);
                (void) fprintf(stderr, "%s: %s\n", log_prefix, buf);
        }
        return -e;
}

int errbuf_set(char *err, size_t errlen, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        (void) vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        return -EINVAL;
}
