/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef enum LogLevel {
        LOG_LEVEL_ERR,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
} LogLevel;

void log_set_max_level(LogLevel level);
void log_set_prefix(const char *prefix);

/* Logs and returns -|error| (so "return log_error_errno(r, ...)" works). %m
 * in the format expands to strerror(error). */
int log_internal(LogLevel level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_error(...) (void) log_internal(LOG_LEVEL_ERR, 0, __VA_ARGS__)
#define log_warning(...) (void) log_internal(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_info(...) (void) log_internal(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) (void) log_internal(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_LEVEL_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_LEVEL_WARNING, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_LEVEL_DEBUG, (e), __VA_ARGS__)

/* Writes a one-line message for the user into err (size errlen) and
 * returns -EINVAL, for parsers that report rather than log. */
int errbuf_set(char *err, size_t errlen, const char *fmt, ...) _printf_(3, 4);
