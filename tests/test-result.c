/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "result.h"

static json_object *get(json_object *o, const char *path) {
        char buf[256], *save = NULL;
        strcpy(buf, path);
        for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
                json_object *n = NULL;
                if (!json_object_object_get_ex(o, k, &n))
                        ck_abort_msg("missing key %s in %s", k, path);
                o = n;
        }
        return o;
}

static SandboxSpec make_spec(void) {
        static char *argv[] = { "/bin/echo", "a \"quoted\"\n\tword", NULL };
        SandboxSpec s = { .argv = argv, .uid = 65534, .gid = 65534 };
        strcpy(s.request_id, "req-42");
        sandbox_limits_default(&s.limits);
        s.limits.cpu_time_usec = 0;
        return s;
}

START_TEST(test_roundtrip) {
        SandboxSpec spec = make_spec();
        SandboxResult r;
        json_object *o;
        char *s;

        sandbox_result_init(&r);
        r.cause = CAUSE_OOM;
        r.exit_status = 137;
        r.task_signal = 9;
        r.startup_ms = 1.25;
        r.phase_ms[PHASE_MOUNT] = 0.5;
        r.memory_peak_bytes = 67108864;
        r.walls.ns_pid = r.walls.ns_net = true;
        r.walls.cgroup_backend = "hybrid";
        r.walls.memory_ctl = "v1";
        r.walls.seccomp = true;

        s = sandbox_result_to_json(&spec, &r);
        ck_assert_ptr_nonnull(s);
        ck_assert_ptr_null(strchr(s, '\n')); /* one line: JSON Lines friendly */
        o = json_tokener_parse(s);
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(json_object_get_int(get(o, "version")), RESULT_SCHEMA_VERSION);
        ck_assert_str_eq(json_object_get_string(get(o, "request_id")), "req-42");
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(get(o, "argv"), 1)),
                         "a \"quoted\"\n\tword");
        ck_assert_str_eq(json_object_get_string(get(o, "exit.cause")), "oom");
        ck_assert_int_eq(json_object_get_int(get(o, "exit.status")), 137);
        ck_assert_int_eq(json_object_get_int(get(o, "exit.signal")), 9);
        ck_assert(json_object_is_type(get(o, "exit.code"), json_type_null));
        ck_assert(json_object_is_type(get(o, "error"), json_type_null));
        ck_assert_double_eq_tol(json_object_get_double(get(o, "timings.startup_ms")), 1.25, 1e-9);
        ck_assert_double_eq_tol(json_object_get_double(get(o, "timings.phases.mount_ms")), 0.5, 1e-9);
        ck_assert_int_eq(json_object_get_int64(get(o, "usage.memory_peak_bytes")), 67108864);
        ck_assert(json_object_is_type(get(o, "usage.pids_peak"), json_type_null));
        ck_assert_int_eq(json_object_get_int64(get(o, "limits.memory_bytes")), 512LL << 20);
        ck_assert(json_object_is_type(get(o, "limits.cpu_time_ms"), json_type_null));
        ck_assert(json_object_get_boolean(get(o, "walls.namespaces.pid")));
        ck_assert(!json_object_get_boolean(get(o, "walls.namespaces.mount")));
        ck_assert_str_eq(json_object_get_string(get(o, "walls.cgroup.backend")), "hybrid");
        ck_assert_str_eq(json_object_get_string(get(o, "walls.cgroup.memory")), "v1");
        ck_assert(json_object_is_type(get(o, "walls.cgroup.cpu"), json_type_null));
        ck_assert_str_eq(json_object_get_string(get(o, "walls.seccomp")), "enforce");
        ck_assert_str_eq(json_object_get_string(get(o, "code.origin")), "command");
        json_object_put(o);
        free(s);
}
END_TEST

START_TEST(test_setup_error) {
        SandboxSpec spec = make_spec();
        SandboxResult r;
        json_object *o;
        char *s;

        sandbox_result_init(&r);
        ck_assert_int_eq(r.cause, CAUSE_SETUP_ERROR);
        ck_assert_int_eq(r.exit_status, 125);
        strcpy(r.error_phase, "mount");
        r.error_errno = 13;
        strcpy(r.error_message, "bind user paths: Permission denied");
        s = sandbox_result_to_json(&spec, &r);
        o = json_tokener_parse(s);
        ck_assert_str_eq(json_object_get_string(get(o, "exit.cause")), "setup_error");
        ck_assert_str_eq(json_object_get_string(get(o, "error.phase")), "mount");
        ck_assert_int_eq(json_object_get_int(get(o, "error.errno")), 13);
        json_object_put(o);
        free(s);
}
END_TEST

START_TEST(test_causes) {
        for (int c = 0; c < _CAUSE_MAX; c++)
                ck_assert_int_eq(exit_cause_from_string(exit_cause_to_string((ExitCause) c)), c);
        ck_assert_int_eq(exit_cause_from_string("nope"), _CAUSE_INVALID);
        ck_assert_ptr_null(exit_cause_to_string(_CAUSE_MAX));
}
END_TEST

START_TEST(test_write_file) {
        SandboxSpec spec = make_spec();
        SandboxResult r;
        char dir[] = "/tmp/stockade-result-XXXXXX", path[128], buf[8192];
        FILE *f;
        size_t n;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/r.json", dir);
        sandbox_result_init(&r);
        r.cause = CAUSE_OK;
        r.exit_status = 0;
        ck_assert_int_eq(sandbox_result_write(path, &spec, &r), 0);
        f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        ck_assert(n > 0 && buf[n - 1] == '\n');
        ck_assert_ptr_nonnull(strstr(buf, "\"cause\":\"ok\""));
        unlink(path);
        rmdir(dir);
}
END_TEST

static Suite *result_suite(void) {
        Suite *s = suite_create("result");
        TCase *tc = tcase_create("json");
        tcase_add_test(tc, test_roundtrip);
        tcase_add_test(tc, test_setup_error);
        tcase_add_test(tc, test_causes);
        tcase_add_test(tc, test_write_file);
        suite_add_tcase(s, tc);
        return s;
}

#include "check-main.h"
CHECK_MAIN(result_suite)
