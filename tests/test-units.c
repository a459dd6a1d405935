/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "units.h"

START_TEST(test_size_ok) {
        static const struct {
                const char *in;
                uint64_t out;
        } t[] = {
                { "0", 0 },
                { "512", 512 },
                { "512B", 512 },
                { "64K", 64ULL << 10 },
                { "64k", 64ULL << 10 },
                { "64KiB", 64ULL << 10 },
                { "64M", 64ULL << 20 },
                { "64MiB", 64ULL << 20 },
                { "2G", 2ULL << 30 },
                { "2GiB", 2ULL << 30 },
                { "1T", 1ULL << 40 },
                { "16777215T", 16777215ULL << 40 },
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                uint64_t v = 1;
                ck_assert_msg(parse_size(t[i].in, &v) == 0, "parse_size(%s)", t[i].in);
                ck_assert_uint_eq(v, t[i].out);
        }
}
END_TEST

START_TEST(test_size_bad) {
        static const char *const bad[] = {
                "", "12XB", "M", "-1", "1.5G", " 1M", "1M ", "1MB", "1KB", "0x10", "1e6", "99999999999999999999",
                "16777216T",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                uint64_t v = 42;
                ck_assert_msg(parse_size(bad[i], &v) < 0, "parse_size(%s) accepted", bad[i]);
                ck_assert_uint_eq(v, 42); /* untouched on failure */
        }
        ck_assert_int_eq(parse_size(NULL, &(uint64_t) { 0 }), -EINVAL);
        ck_assert_int_eq(parse_size("16777216T", &(uint64_t) { 0 }), -ERANGE);
}
END_TEST

START_TEST(test_duration) {
        uint64_t v;
        ck_assert_int_eq(parse_duration("1s", &v), 0);
        ck_assert_uint_eq(v, 1000000);
        ck_assert_int_eq(parse_duration("30", &v), 0);
        ck_assert_uint_eq(v, 30000000);
        ck_assert_int_eq(parse_duration("250ms", &v), 0);
        ck_assert_uint_eq(v, 250000);
        ck_assert_int_eq(parse_duration("2m", &v), 0);
        ck_assert_uint_eq(v, 120000000);
        ck_assert_int_eq(parse_duration("1h", &v), 0);
        ck_assert_uint_eq(v, 3600000000ULL);
        ck_assert_int_eq(parse_duration("0", &v), 0);
        ck_assert_uint_eq(v, 0);
        ck_assert_int_lt(parse_duration("1.5s", &v), 0);
        ck_assert_int_lt(parse_duration("1d", &v), 0);
        ck_assert_int_lt(parse_duration("s", &v), 0);
        ck_assert_int_lt(parse_duration("-5s", &v), 0);
        ck_assert_int_eq(parse_duration("99999999999999999h", &v), -ERANGE);
}
END_TEST

START_TEST(test_cpus) {
        uint64_t v;
        ck_assert_int_eq(parse_cpus("1", &v), 0);
        ck_assert_uint_eq(v, 1000);
        ck_assert_int_eq(parse_cpus("0.5", &v), 0);
        ck_assert_uint_eq(v, 500);
        ck_assert_int_eq(parse_cpus("1.25", &v), 0);
        ck_assert_uint_eq(v, 1250);
        ck_assert_int_eq(parse_cpus("0.01", &v), 0);
        ck_assert_uint_eq(v, 10);
        ck_assert_int_eq(parse_cpus("0.001", &v), -ERANGE);
        ck_assert_int_eq(parse_cpus("0", &v), -ERANGE);
        ck_assert_int_lt(parse_cpus("0.1234", &v), 0);
        ck_assert_int_lt(parse_cpus("abc", &v), 0);
        ck_assert_int_lt(parse_cpus("1.", &v), 0);
        ck_assert_int_lt(parse_cpus(".5", &v), 0);
        ck_assert_int_lt(parse_cpus("50%", &v), 0);
}
END_TEST

START_TEST(test_u64) {
        uint64_t v;
        ck_assert_int_eq(parse_u64("18446744073709551615", &v), 0);
        ck_assert_uint_eq(v, UINT64_MAX);
        ck_assert_int_eq(parse_u64("18446744073709551616", &v), -ERANGE);
        ck_assert_int_lt(parse_u64("+1", &v), 0);
        ck_assert_int_lt(parse_u64("", &v), 0);
}
END_TEST

static Suite *units_suite(void) {
        Suite *s = suite_create("units");
        TCase *tc = tcase_create("parse");
        tcase_add_test(tc, test_size_ok);
        tcase_add_test(tc, test_size_bad);
        tcase_add_test(tc, test_duration);
        tcase_add_test(tc, test_cpus);
        tcase_add_test(tc, test_u64);
        suite_add_tcase(s, tc);
        return s;
}

#include "check-main.h"
CHECK_MAIN(units_suite)
