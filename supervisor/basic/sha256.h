/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* SHA-256 from OpenSSL's libcrypto, loaded on first use: linked in, its
 * relocations alone cost ~3 ms on every exec of stockade, and most runs
 * hash nothing. Returns 0 and 64 hex digits, or -errno (-ELIBACC when
 * libcrypto cannot be loaded). */
int sha256_hex(const void *data, size_t len, char ret[65]);
