/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Parsers for the units users write on the command line and in profiles.
 * All return 0 or -EINVAL / -ERANGE and write *ret only on success. */

/* "512", "64K", "64KiB", "1M", "2GiB", "1T": powers of 1024. */
int parse_size(const char *s, uint64_t *ret);

/* "250ms", "5s", "2m", "1h", "30" (seconds). Result in microseconds. */
int parse_duration(const char *s, uint64_t *ret_usec);

/* "0.5", "2", "1.25": cores, at most three decimals. Result in 1/1000 core. */
int parse_cpus(const char *s, uint64_t *ret_millicores);

/* A plain unsigned decimal integer. */
int parse_u64(const char *s, uint64_t *ret);
