/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* OpenSSL 3 deprecates the SHA256_* functions in favour of EVP, but an EVP
 * digest fetches it from a provider, which loads openssl.cnf and the
 * provider machinery on first use: measured 3-8 ms per process here, paid
 * by every `stockade run`. The low-level functions are the same code
 * without that, and remain in every OpenSSL 3 release. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "sha256.h"

_Static_assert(sizeof(Sha256) >= sizeof(SHA256_CTX), "Sha256 too small for SHA256_CTX");
_Static_assert(_Alignof(Sha256) >= _Alignof(SHA256_CTX), "Sha256 alignment");

void sha256_init(Sha256 *s) {
        (void) SHA256_Init((SHA256_CTX *) s);
}

void sha256_update(Sha256 *s, const void *data, size_t len) {
        (void) SHA256_Update((SHA256_CTX *) s, data, len);
}

void sha256_final_hex(Sha256 *s, char ret[65]) {
        unsigned char md[SHA256_DIGEST_LENGTH];
        static const char hex[] = "0123456789abcdef";

        (void) SHA256_Final(md, (SHA256_CTX *) s);
        for (unsigned i = 0; i < SHA256_DIGEST_LENGTH; i++) {
                ret[2 * i] = hex[md[i] >> 4];
                ret[2 * i + 1] = hex[md[i] & 15];
        }
        ret[64] = 0;
        memset(s, 0, sizeof *s);
}

int sha256_hex(const void *data, size_t len, char ret[65]) {
        Sha256 s;
        sha256_init(&s);
        sha256_update(&s, data, len);
        sha256_final_hex(&s, ret);
        return 0;
}
