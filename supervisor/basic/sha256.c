/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <stdio.h>

#include "log.h"
#include "sha256.h"

/* The soname matching the headers we were built against. */
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define LIBCRYPTO_SONAME "libcrypto.so." STRINGIFY(OPENSSL_SHLIB_VERSION)

/* The prototype from <openssl/sha.h>, without a link-time reference. */
typedef __typeof__(&SHA256) sha256_fn;

static sha256_fn load(void) {
        static sha256_fn fn;
        static int failed;
        void *h;

        if (fn || failed)
                return fn;
        h = dlopen(LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (h)
                fn = (sha256_fn) dlsym(h, "SHA256");
        if (!fn) {
                log_debug("cannot load %s: %s", LIBCRYPTO_SONAME, dlerror());
                failed = 1;
        }
        return fn;
}

int sha256_hex(const void *data, size_t len, char ret[65]) {
        unsigned char md[SHA256_DIGEST_LENGTH];
        sha256_fn fn = load();

        if (!fn)
                return -ELIBACC;
        if (!fn(data, len, md))
                return -EIO;
        for (unsigned i = 0; i < SHA256_DIGEST_LENGTH; i++)
                (void) snprintf(ret + 2 * i, 3, "%02x", md[i]);
        return 0;
}
