/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#define SECRET_STORE_DEFAULT "/etc/stockade/secrets"
#define SECRET_MAX_BYTES (64u << 10)

/* Reads secret NAME from a store directory that only root can read: the
 * directory and the file must be owned by root with no group or other
 * access, else the secret is refused (a store others can read or swap is
 * no store). On failure err holds one line. The caller wipes and frees
 * *ret (explicit_bzero). */
int secret_load(const char *store, const char *name, char **ret, size_t *ret_len, char *err, size_t errlen);
