/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/sha256.h"
#include "script.h"

static void expect(const char *head, const char *name, const char *interp, const char *arg) {
        char *i = NULL, *a = NULL;
        ck_assert_int_eq(script_interpreter(head, strlen(head), name, &i, &a), 0);
        ck_assert_str_eq(i, interp);
        if (arg)
                ck_assert_str_eq(a, arg);
        else
                ck_assert_ptr_null(a);
        free(i);
        free(a);
}

START_TEST(test_shebang) {
        expect("#!/bin/sh\necho\n", "x", "/bin/sh", NULL);
        expect("#! /usr/bin/env python3\n", "x.sh", "/usr/bin/env", "python3");
        expect("#!/usr/bin/perl -w -T \r\n", "x", "/usr/bin/perl", "-w -T");
        expect("#!/bin/bash", "x", "/bin/bash", NULL); /* no newline */
}
END_TEST

START_TEST(test_extension) {
        expect("print(1)\n", "job.py", "python3", NULL);
        expect("echo hi\n", "job.sh", "/bin/sh", NULL);
        expect("console.log(1)\n", "a.b.js", "node", NULL);
        expect("", "empty.rb", "ruby", NULL);
}
END_TEST

START_TEST(test_unknown) {
        char *i = (char *) 1, *a = (char *) 1;
        ck_assert_int_eq(script_interpreter("data", 4, "file.txt", &i, &a), -ENOEXEC);
        ck_assert_ptr_null(i);
        ck_assert_int_eq(script_interpreter("data", 4, "noext", &i, &a), -ENOEXEC);
        /* A relative interpreter would be looked up nowhere sensible. */
        ck_assert_int_eq(script_interpreter("#!sh\n", 5, "x.sh", &i, &a), -ENOEXEC);
        ck_assert_int_eq(script_interpreter("#!\n", 3, "x.sh", &i, &a), -ENOEXEC);
}
END_TEST

START_TEST(test_sha256) {
        char h[65];
        ck_assert_int_eq(sha256_hex("", 0, h), 0);
        ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        ck_assert_int_eq(sha256_hex("abc", 3, h), 0);
        ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

static Suite *script_suite(void) {
        Suite *s = suite_create("script");
        TCase *tc = tcase_create("interpreter");
        tcase_add_test(tc, test_shebang);
        tcase_add_test(tc, test_extension);
        tcase_add_test(tc, test_unknown);
        tcase_add_test(tc, test_sha256);
        suite_add_tcase(s, tc);
        return s;
}

#include "check-main.h"
CHECK_MAIN(script_suite)
