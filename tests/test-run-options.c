/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run-options.h"
#include "sandbox-profile.h"

static char *host_env[] = { "SECRET_TOKEN=hunter2", "TERM=xterm", "PATH=/host/bin", NULL };

/* Parses a NULL-terminated list of words after "run". */
static int parse(RunOptions *o, char *err, size_t errlen, const char *const *words) {
        char *argv[64];
        int argc = 0;
        argv[argc++] = "run";
        for (; *words; words++)
                argv[argc++] = (char *) *words;
        argv[argc] = NULL;
        int r = run_options_parse(argc, argv, o, err, errlen);
        if (r < 0)
                return r;
        /* No profile: the built-in defaults, then the command line over them. */
        r = sandbox_spec_from_profile(&o->spec, NULL, host_env, NULL, err, errlen);
        if (r >= 0)
                r = run_options_apply(o, host_env);
        return r;
}

#include "basic/env-util.h"

START_TEST(test_defaults) {
        RunOptions o;
        char err[512];
        ck_assert_int_eq(parse(&o, err, sizeof err, (const char *[]) { "--", "/bin/true", NULL }), 0);
        ck_assert_str_eq(o.spec.argv[0], "/bin/true");
        ck_assert_ptr_null(o.spec.argv[1]);
        ck_assert_int_eq(o.spec.origin, CODE_COMMAND);
        ck_assert_uint_eq(o.spec.uid, 65534);
        ck_assert_uint_eq(o.spec.limits.memory_bytes, 512ULL << 20);
        ck_assert_uint_eq(o.spec.limits.pids, 128);
        ck_assert_uint_eq(strlen(o.spec.request_id), 32);
        /* The host environment is not passed: only the safe defaults. */
        ck_assert_str_eq(env_get(o.spec.envp, "PATH"), "/usr/local/bin:/usr/bin:/bin");
        ck_assert_ptr_null(env_get(o.spec.envp, "SECRET_TOKEN"));
        ck_assert_ptr_null(env_get(o.spec.envp, "TERM"));
        run_options_done(&o);
}
END_TEST

START_TEST(test_all_options) {
        RunOptions o;
        char err[512];
        int r = parse(&o, err, sizeof err,
                      (const char *[]) { "--memory", "64M", "--cpus", "0.5", "--pids", "20", "--timeout", "1s",
                                         "--cpu-time", "500ms", "--tmpfs-size", "8M", "--env", "SECRET_TOKEN",
                                         "--setenv", "A=b=c", "--setenv", "PATH=/x", "--uid", "1000", "--gid",
                                         "1001", "--request-id", "req-1:a.b_c", "--result-json", "/tmp/r.json",
                                         "--bind", "/usr/share:/data", "--bind", "/tmp:rw", "--", "ls", "-l",
                                         NULL });
        ck_assert_msg(r == 0, "%s", err);
        ck_assert_uint_eq(o.spec.limits.memory_bytes, 64ULL << 20);
        ck_assert_uint_eq(o.spec.limits.cpu_millicores, 500);
        ck_assert_uint_eq(o.spec.limits.pids, 20);
        ck_assert_uint_eq(o.spec.limits.timeout_usec, 1000000);
        ck_assert_uint_eq(o.spec.limits.cpu_time_usec, 500000);
        ck_assert_uint_eq(o.spec.limits.tmpfs_bytes, 8ULL << 20);
        ck_assert_str_eq(env_get(o.spec.envp, "SECRET_TOKEN"), "hunter2");
        ck_assert_str_eq(env_get(o.spec.envp, "A"), "b=c");
        ck_assert_str_eq(env_get(o.spec.envp, "PATH"), "/x");
        ck_assert_uint_eq(o.spec.uid, 1000);
        ck_assert_uint_eq(o.spec.gid, 1001);
        ck_assert_str_eq(o.spec.request_id, "req-1:a.b_c");
        ck_assert_str_eq(o.result_json, "/tmp/r.json");
        ck_assert_uint_eq(o.spec.n_binds, 2);
        ck_assert_str_eq(o.spec.binds[0].source, "/usr/share");
        ck_assert_str_eq(o.spec.binds[0].dest, "/data");
        ck_assert_int_eq(o.spec.binds[0].mode, BIND_RO);
        ck_assert_str_eq(o.spec.binds[1].dest, "/tmp");
        ck_assert_int_eq(o.spec.binds[1].mode, BIND_RW);
        ck_assert_str_eq(o.spec.argv[0], "ls");
        ck_assert_str_eq(o.spec.argv[1], "-l");
        run_options_done(&o);
}
END_TEST

/* Every bad input gets one line that names the problem; nothing parsed survives. */
START_TEST(test_bad_input) {
        static const struct {
                const char *words[6];
                const char *needle;
        } t[] = {
                { { "--memory", "12XB", "--", "true" }, "--memory '12XB'" },
                { { "--memory", "1M", "--", "true" }, "at least 4M" },
                { { "--cpus", "abc", "--", "true" }, "--cpus 'abc'" },
                { { "--pids", "0", "--", "true" }, "--pids '0'" },
                { { "--timeout", "soon", "--", "true" }, "--timeout 'soon'" },
                { { "--bogus", "--", "true" }, "unknown option '--bogus'" },
                { { "--memory" }, "needs a value" },
                { { "--" }, "no command given" },
                { { NULL }, "no command given" },
                { { "--bind", "/nonexistent-stockade", "--", "true" }, "/nonexistent-stockade" },
                { { "--bind", "/usr:relative", "--", "true" }, "bad destination" },
                { { "--bind", "/usr:/a/../etc", "--", "true" }, "bad destination" },
                { { "--bind", "/usr:/proc/x", "--", "true" }, "bad destination" },
                { { "--bind", "/usr:/", "--", "true" }, "bad destination" },
                { { "--bind", "/usr:/x:rx", "--", "true" }, ":ro or :rw" },
                { { "--uid", "0", "--", "true" }, "must not run as root" },
                { { "--gid", "x", "--", "true" }, "numeric id" },
                { { "--request-id", "bad id", "--", "true" }, "--request-id" },
                { { "--env", "1BAD", "--", "true" }, "variable name" },
                { { "--setenv", "NOEQUALS", "--", "true" }, "NAME=VALUE" },
                { { "--workdir", "/etc/passwd", "--", "true" }, "not an existing directory" },
                { { "/nonexistent-script.py" }, "cannot find script" },
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                RunOptions o;
                char err[512];
                ck_assert_msg(parse(&o, err, sizeof err, t[i].words) < 0, "case %zu accepted", i);
                ck_assert_msg(strstr(err, t[i].needle), "case %zu: '%s' lacks '%s'", i, err, t[i].needle);
                ck_assert_msg(!strchr(err, '\n'), "case %zu: more than one line", i);
                ck_assert_ptr_null(o.spec.argv);
                ck_assert_ptr_null(o.spec.binds);
        }
}
END_TEST

START_TEST(test_script_mode) {
        char path[] = "/tmp/stockade-test-XXXXXX.py", err[512];
        RunOptions o;
        int fd = mkstemps(path, 3);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "print(1)\n", 9), 9);
        close(fd);
        int r = parse(&o, err, sizeof err, (const char *[]) { path, "a1", NULL });
        unlink(path);
        ck_assert_msg(r == 0, "%s", err);
        ck_assert_int_eq(o.spec.origin, CODE_SCRIPT);
        ck_assert_str_eq(o.spec.argv[0], "python3");
        ck_assert_str_eq(o.spec.argv[1], o.spec.script_path);
        ck_assert_str_eq(o.spec.argv[2], "a1");
        ck_assert(strncmp(o.spec.script_path, "/task/stockade-test-", 20) == 0);
        /* sha256("print(1)\n") */
        ck_assert_str_eq(o.spec.script_sha256, "cc42155088fca5730758db72b2a5bca33112a941dfaa2d43098ec422ce4ea213");
        run_options_done(&o);
}
END_TEST

START_TEST(test_request_id) {
        char a[SANDBOX_REQUEST_ID_MAX + 1], b[SANDBOX_REQUEST_ID_MAX + 1], long_id[200];
        ck_assert_int_eq(request_id_generate(a), 0);
        ck_assert_int_eq(request_id_generate(b), 0);
        ck_assert_str_ne(a, b);
        ck_assert(request_id_valid(a));
        memset(long_id, 'a', 129);
        long_id[129] = 0;
        ck_assert(!request_id_valid(long_id));
        long_id[128] = 0;
        ck_assert(request_id_valid(long_id));
        ck_assert(!request_id_valid(""));
        ck_assert(!request_id_valid("a/b"));
        ck_assert(!request_id_valid("a\nb"));
}
END_TEST

static Suite *run_options_suite(void) {
        Suite *s = suite_create("run-options");
        TCase *tc = tcase_create("parse");
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_all_options);
        tcase_add_test(tc, test_bad_input);
        tcase_add_test(tc, test_script_mode);
        tcase_add_test(tc, test_request_id);
        suite_add_tcase(s, tc);
        return s;
}

#include "check-main.h"
CHECK_MAIN(run_options_suite)
