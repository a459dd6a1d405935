/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* SHA-256 from OpenSSL's libcrypto, as 64 lowercase hex digits. */

typedef struct Sha256 {
        uint32_t state[28]; /* opaque; large enough for SHA256_CTX (checked) */
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t len);
void sha256_final_hex(Sha256 *s, char ret[65]);

/* One shot. Returns 0 (kept int for callers that may get a backend that fails). */
int sha256_hex(const void *data, size_t len, char ret[65]);
