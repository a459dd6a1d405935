/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: profile_load_string() on arbitrary bytes (see run.sh).
 * Beyond "no crash, no leak": a failure always says why, and whatever
 * loads round-trips: its canonical form loads back to the same hash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Profile p = {}, q = {};
        ProfileError e = {};
        char *text;

        if (profile_load_string((const char *) data, size, "fuzz.yaml", &p, &e) < 0) {
                if (!e.message[0])
                        abort();
                return 0;
        }
        text = profile_to_yaml(&p);
        if (!text)
                abort();
        if (profile_load_string(text, strlen(text), "fuzz.yaml", &q, &e) < 0 || strcmp(p.sha256, q.sha256) != 0)
                abort();
        free(text);
        profile_done(&p);
        profile_done(&q);
        return 0;
}
