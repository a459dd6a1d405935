/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "basic/macro.h"
#include "units.h"

int parse_u64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        for (; isdigit((unsigned char) *s); s++) {
                unsigned d = (unsigned) (*s - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        if (*s)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Splits "123suffix" into the number and the suffix; no sign, no spaces. */
static int split_number(const char *s, uint64_t *ret_num, const char **ret_suffix) {
        uint64_t v = 0;
        const char *p = s;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                unsigned d = (unsigned) (*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret_num = v;
        *ret_suffix = p;
        return 0;
}

static int mul_checked(uint64_t a, uint64_t b, uint64_t *ret) {
        if (b && a > UINT64_MAX / b)
                return -ERANGE;
        *ret = a * b;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                unsigned shift;
        } table[] = {
                { "", 0 },    { "B", 0 },    { "K", 10 },   { "k", 10 },   { "KiB", 10 },
                { "M", 20 },  { "m", 20 },   { "MiB", 20 }, { "G", 30 },   { "g", 30 },
                { "GiB", 30 }, { "T", 40 },  { "t", 40 },   { "TiB", 40 },
        };
        const char *suffix;
        uint64_t n;
        int r;

        r = split_number(s, &n, &suffix);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(suffix, table[i].suffix))
                        return mul_checked(n, 1ULL << table[i].shift, ret);
        return -EINVAL;
}

int parse_duration(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } table[] = {
                { "", USEC_PER_SEC },  { "s", USEC_PER_SEC },      { "ms", USEC_PER_MSEC },
                { "us", 1 },           { "m", 60 * USEC_PER_SEC }, { "min", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
        };
        const char *suffix;
        uint64_t n;
        int r;

        r = split_number(s, &n, &suffix);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(suffix, table[i].suffix))
                        return mul_checked(n, table[i].usec, ret_usec);
        return -EINVAL;
}

int parse_cpus(const char *s, uint64_t *ret_millicores) {
        uint64_t whole, frac = 0, v;
        const char *rest;
        int r, digits = 0;

        r = split_number(s, &whole, &rest);
        if (r < 0)
                return r;
        if (*rest == '.') {
                rest++;
                for (; isdigit((unsigned char) *rest); rest++, digits++) {
                        if (digits >= 3)
                                return -EINVAL;
                        frac = frac * 10 + (uint64_t) (*rest - '0');
                }
                if (digits == 0)
                        return -EINVAL;
                for (int i = digits; i < 3; i++)
                        frac *= 10;
        }
        if (*rest)
                return -EINVAL;
        r = mul_checked(whole, 1000, &v);
        if (r < 0)
                return r;
        if (v > UINT64_MAX - frac)
                return -ERANGE;
        v += frac;
        /* Below 1% of a core the CFS quota gets too small to schedule. */
        if (v < 10)
                return -ERANGE;
        *ret_millicores = v;
        return 0;
}
