/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/env-util.h"
#include "basic/sha256.h"
#include "daemon-proto.h"
#include "run-request.h"
#include "sandbox-profile.h"

static char tmpdir[64];
static char path_script[PATH_MAX], path_file[PATH_MAX], path_dir[PATH_MAX], path_work[PATH_MAX];

/* A script with bytes that text handling would mangle. */
static const char script_bytes[] = "#!/bin/sh\necho hi\n\0\xff\xfe\x80 tail\n";
#define SCRIPT_LEN (sizeof script_bytes - 1)

static void write_file(const char *path, const void *data, size_t len) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, len), (ssize_t) len);
        close(fd);
}

static void setup(void) {
        (void) snprintf(tmpdir, sizeof tmpdir, "/tmp/test-run-request.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        (void) snprintf(path_script, sizeof path_script, "%s/job.sh", tmpdir);
        (void) snprintf(path_file, sizeof path_file, "%s/data.txt", tmpdir);
        (void) snprintf(path_dir, sizeof path_dir, "%s/dir", tmpdir);
        (void) snprintf(path_work, sizeof path_work, "%s/work", tmpdir);
        write_file(path_script, script_bytes, SCRIPT_LEN);
        write_file(path_file, "data\n", 5);
        ck_assert_int_eq(mkdir(path_dir, 0755), 0);
        ck_assert_int_eq(mkdir(path_work, 0755), 0);
}

static void teardown(void) {
        char cmd[PATH_MAX + 16];
        (void) snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        (void) !system(cmd);
}

static size_t count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        size_t n = 0;
        ck_assert_ptr_nonnull(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static int parse(RunOptions *o, char *err, size_t errlen, const char *const *words) {
        char *argv[96];
        int argc = 0;
        argv[argc++] = "run";
        for (; *words; words++)
                argv[argc++] = (char *) *words;
        argv[argc] = NULL;
        return run_options_parse(argc, argv, o, err, errlen);
}

static void same_inode(const char *a, const char *b) {
        struct stat sa, sb;
        ck_assert_msg(stat(a, &sa) == 0, "stat %s: %m", a);
        ck_assert_msg(stat(b, &sb) == 0, "stat %s: %m", b);
        ck_assert_msg(sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino, "%s and %s differ", a, b);
}

/* encode -> proto_send over a socketpair with stdio fds first ->
 * proto_reader_feed/take -> decode. */
static int through_the_wire(const RunOptions *in, const RunRequestMeta *in_meta, RunOptions *out,
                            RunRequestMeta *out_meta, char *err, size_t errlen) {
        json_object *msg = NULL, *back = NULL;
        int *bind_fds = NULL, sv[2], all[PROTO_MAX_FDS], got[PROTO_MAX_FDS], devnull;
        size_t n_bind = 0, n_got = 0;
        ProtoReader r = PROTO_READER_NULL;
        int k;

        ck_assert_int_eq(run_request_encode(in, in_meta, &msg, &bind_fds, &n_bind, err, errlen), 0);
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        all[0] = all[1] = all[2] = devnull;
        for (size_t i = 0; i < n_bind; i++)
                all[3 + i] = bind_fds[i];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        ck_assert_int_eq(proto_send(sv[0], msg, all, 3 + n_bind), 0);
        /* The client closes its fds once sent. */
        for (size_t i = 0; i < n_bind; i++)
                close(bind_fds[i]);
        free(bind_fds);
        close(devnull);
        json_object_put(msg);

        ck_assert_int_eq(proto_reader_feed(&r, sv[1], NULL), 1);
        ck_assert_int_eq(proto_reader_take(&r, &back, got, &n_got, err, errlen), 0);
        ck_assert_uint_eq(n_got, 3 + n_bind);
        ck_assert_str_eq(proto_type(back), "run");
        k = run_request_decode(back, got + 3, n_got - 3, out, out_meta, err, errlen);
        /* The daemon closes the frame's fds; the decoded ones are dups. */
        for (size_t i = 0; i < n_got; i++)
                close(got[i]);
        json_object_put(back);
        proto_reader_done(&r);
        close(sv[0]);
        close(sv[1]);
        return k;
}

START_TEST(test_roundtrip_full) {
        RunOptions in, out;
        RunRequestMeta meta = {}, got = {};
        char err[512] = "", bind1[PATH_MAX + 16], bind2[PATH_MAX + 16];
        char *env[] = { "TERM=xterm", "HOME=/root", "BAD-NAME=x", "NOEQUALS", "EMPTY=", NULL };
        size_t fds_before;

        (void) snprintf(bind1, sizeof bind1, "%s:/data/f:ro", path_file);
        (void) snprintf(bind2, sizeof bind2, "%s:/data/d:rw", path_dir);
        ck_assert_int_eq(parse(&in, err, sizeof err,
                               (const char *[]) { "--memory", "64M", "--cpus", "0.25", "--pids", "20", "--timeout",
                                                  "1s", "--cpu-time", "500ms", "--tmpfs-size", "8M", "--output-limit",
                                                  "1M", "--bind", bind1, "--bind", bind2, "--workdir", path_work,
                                                  "--env", "TERM", "--setenv", "A=b=c", "--setenv", "U=\xc3\xbc",
                                                  "--request-id", "req-1:a.b_c", "--task-class", "batch",
                                                  "--code-origin", "ci-bot", "--attempt", "2", "--retry-of", "req-0",
                                                  "--profile", "python", "-v", path_script, "arg1", "arg 2", NULL }),
                         0);
        ck_assert_int_eq(run_request_check_daemon_options(&in, err, sizeof err), 0);
        meta.env = env;
        meta.cwd = "/tmp";
        meta.attempt = 1; /* as the client fills it: --attempt wins */
        meta.code_origin = "ignored";

        fds_before = count_fds();
        ck_assert_msg(through_the_wire(&in, &meta, &out, &got, err, sizeof err) == 0, "decode: %s", err);
        /* Only the decoder's dups stay open: two binds and the workdir. */
        ck_assert_uint_eq(count_fds(), fds_before + 3);
        ck_assert_uint_eq(out.n_fds, 3);
        for (size_t i = 0; i < out.n_fds; i++)
                ck_assert(fcntl(out.fds[i], F_GETFD) & FD_CLOEXEC);

        /* argv, id, script */
        ck_assert_uint_eq(strv_length(out.spec.argv), strv_length(in.spec.argv));
        for (size_t i = 0; in.spec.argv[i]; i++)
                ck_assert_str_eq(out.spec.argv[i], in.spec.argv[i]);
        ck_assert_str_eq(out.spec.request_id, "req-1:a.b_c");
        ck_assert_int_eq(out.spec.origin, CODE_SCRIPT);
        ck_assert_uint_eq(out.spec.script_len, SCRIPT_LEN);
        ck_assert_mem_eq(out.spec.script_data, script_bytes, SCRIPT_LEN);
        ck_assert_str_eq(out.spec.script_sha256, in.spec.script_sha256);
        ck_assert_str_eq(out.spec.script_path, in.spec.script_path);
        ck_assert_str_eq(out.spec.script_host_path, in.spec.script_host_path);

        /* limits */
        ck_assert_uint_eq(out.limits_set, in.limits_set);
        ck_assert_mem_eq(&out.limits, &in.limits, sizeof in.limits);
        ck_assert_uint_eq(out.limits.cpu_millicores, 250);

        /* binds: same destinations and modes, sources that are the same files */
        ck_assert_uint_eq(out.n_binds, 2);
        for (size_t i = 0; i < 2; i++) {
                ck_assert_str_eq(out.binds[i].dest, in.binds[i].dest);
                ck_assert_int_eq(out.binds[i].mode, in.binds[i].mode);
                ck_assert(strncmp(out.binds[i].source, "/proc/self/fd/", 14) == 0);
                same_inode(out.binds[i].source, in.binds[i].source);
        }
        ck_assert_str_eq(out.workdir, in.workdir);
        ck_assert_ptr_nonnull(out.workdir_source);
        same_inode(out.workdir_source, path_work);

        /* environment and labels */
        ck_assert_uint_eq(out.n_pass_env, 1);
        ck_assert_str_eq(out.pass_env[0], "TERM");
        ck_assert_uint_eq(out.n_set_env, 2);
        ck_assert_str_eq(out.set_env[0], "A=b=c");
        ck_assert_str_eq(out.set_env[1], "U=\xc3\xbc");
        ck_assert(out.verbose);
        ck_assert_str_eq(out.profile, "python");
        ck_assert_str_eq(out.task_class, "batch");
        ck_assert_str_eq(out.code_origin, "ci-bot");
        ck_assert_uint_eq(out.attempt, 2);
        ck_assert_str_eq(out.retry_of, "req-0");
        ck_assert_str_eq(got.task_class, "batch");
        ck_assert_str_eq(got.code_origin, "ci-bot");
        ck_assert_uint_eq(got.attempt, 2);
        ck_assert_str_eq(got.retry_of, "req-0");
        ck_assert_str_eq(got.cwd, "/tmp");
        ck_assert_str_eq(env_get(got.env, "TERM"), "xterm");
        ck_assert_str_eq(env_get(got.env, "HOME"), "/root");
        ck_assert_str_eq(env_get(got.env, "EMPTY"), "");
        ck_assert_uint_eq(strv_length(got.env), 3); /* BAD-NAME and NOEQUALS were not sent */
        /* Daemon-only settings stay at their defaults. */
        ck_assert_ptr_null(out.journal);
        ck_assert_uint_eq(out.uid, 65534);
        ck_assert(!out.uid_set);

        /* run_options_apply() takes the decoded options as it takes parsed ones. */
        ck_assert_int_eq(sandbox_spec_from_profile(&out.spec, NULL, got.env, NULL, err, sizeof err), 0);
        ck_assert_int_eq(run_options_apply(&out, got.env), 0);
        ck_assert_str_eq(env_get(out.spec.envp, "TERM"), "xterm");
        ck_assert_str_eq(env_get(out.spec.envp, "A"), "b=c");
        ck_assert_str_eq(out.spec.task_class, "batch");
        ck_assert_uint_eq(out.spec.limits.memory_bytes, 64u << 20);
        {
                bool f = false, d = false;
                for (size_t i = 0; i < out.spec.n_binds; i++) {
                        const BindSpec *b = &out.spec.binds[i];
                        if (strcmp(b->dest, "/data/f") == 0) {
                                same_inode(b->source, path_file);
                                f = b->mode == BIND_RO;
                        } else if (strcmp(b->dest, "/data/d") == 0) {
                                same_inode(b->source, path_dir);
                                d = b->mode == BIND_RW;
                        }
                }
                ck_assert(f && d);
                /* The task starts in the workdir, bound from the caller's fd,
                 * never from its host path as the daemon sees it. */
                ck_assert_str_eq(out.spec.workdir, path_work);
                ck_assert_ptr_nonnull(out.spec.workdir_source);
                ck_assert(strncmp(out.spec.workdir_source, "/proc/self/fd/", 14) == 0);
                same_inode(out.spec.workdir_source, path_work);
        }

        run_options_done(&out);
        run_request_meta_done(&got);
        ck_assert_uint_eq(count_fds(), fds_before);
        run_options_done(&in);
}
END_TEST

START_TEST(test_roundtrip_command) {
        RunOptions in, out;
        RunRequestMeta got = {};
        char err[512];

        ck_assert_int_eq(parse(&in, err, sizeof err, (const char *[]) { "--", "/bin/true", NULL }), 0);
        /* No meta: the labels come from the options. */
        ck_assert_msg(through_the_wire(&in, NULL, &out, &got, err, sizeof err) == 0, "decode: %s", err);
        ck_assert_int_eq(out.spec.origin, CODE_COMMAND);
        ck_assert_ptr_null(out.spec.script_data);
        ck_assert_str_eq(out.spec.argv[0], "/bin/true");
        ck_assert_ptr_null(out.spec.argv[1]);
        ck_assert_str_eq(out.spec.request_id, in.spec.request_id);
        ck_assert_uint_eq(out.limits_set, 0);
        ck_assert_uint_eq(out.n_binds, 0);
        ck_assert_ptr_null(out.workdir);
        ck_assert_ptr_null(out.profile);
        ck_assert_ptr_null(out.task_class);
        ck_assert_uint_eq(out.attempt, 1);
        ck_assert_uint_eq(got.attempt, 1);
        ck_assert(!out.verbose);
        run_options_done(&out);
        run_request_meta_done(&got);
        run_options_done(&in);
}
END_TEST

/* ---- decoding bad requests ---- */

static int fd_file = -1, fd_dir = -1;

static void bad_setup(void) {
        setup();
        fd_file = open(path_file, O_RDONLY | O_CLOEXEC);
        fd_dir = open(path_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd_file, 0);
        ck_assert_int_ge(fd_dir, 0);
}

static void bad_teardown(void) {
        close(fd_file);
        close(fd_dir);
        teardown();
}

static const char base_json[] =
        "{\"type\":\"run\",\"v\":1,\"argv\":[\"/bin/echo\",\"hi\"],\"request_id\":\"req-1\",\"profile\":null,"
        "\"env\":{\"HOME\":\"/root\"},\"cwd\":\"/tmp\",\"task_class\":\"batch\",\"code_origin\":\"user\","
        "\"attempt\":1,\"retry_of\":null,\"script\":null,\"limits\":{\"memory\":67108864,\"cpus\":0.5},"
        "\"binds\":[{\"dest\":\"/data/f\",\"mode\":\"ro\",\"fd_index\":0}],"
        "\"workdir\":{\"path\":\"/work\",\"fd_index\":1},\"pass_env\":[\"TERM\"],\"set_env\":[\"A=b\"],"
        "\"verbose\":false,\"future_field\":{\"anything\":[1,2]}}";

/* Sets the value at a dotted path ("binds.0.dest"); value NULL deletes. */
static void set_path(json_object *o, const char *path, json_object *value) {
        char buf[128], *save = NULL, *part, *next;
        snprintf(buf, sizeof buf, "%s", path);
        part = strtok_r(buf, ".", &save);
        for (;;) {
                next = strtok_r(NULL, ".", &save);
                if (!next)
                        break;
                o = json_object_is_type(o, json_type_array) ? json_object_array_get_idx(o, (size_t) atoi(part))
                                                             : json_object_object_get(o, part);
                ck_assert_ptr_nonnull(o);
                part = next;
        }
        if (json_object_is_type(o, json_type_array))
                json_object_array_put_idx(o, (size_t) atoi(part), value);
        else if (value)
                json_object_object_add(o, part, value);
        else
                json_object_object_del(o, part);
}

static json_object *base_msg(void) {
        json_object *m = json_tokener_parse(base_json);
        ck_assert_ptr_nonnull(m);
        return m;
}

static json_object *valid_script(void) {
        static const char data[] = "echo hi\n";
        char sha[65], text[512];
        sha256_hex(data, strlen(data), sha);
        snprintf(text, sizeof text,
                 "{\"path\":\"/home/u/job.sh\",\"name\":\"job.sh\",\"data\":\"ZWNobyBoaQo=\",\"sha256\":\"%s\"}", sha);
        return json_tokener_parse(text);
}

/* Decodes m with the two test fds; on failure checks that the error names
 * want, that nothing leaked and that the outputs were not written. */
static int decode_expect(json_object *m, const char *want) {
        RunOptions o = {};
        RunRequestMeta meta = {};
        static const RunOptions zero_o;
        static const RunRequestMeta zero_m;
        char err[512] = "";
        size_t before = count_fds();
        int r = run_request_decode(m, (int[]) { fd_file, fd_dir }, 2, &o, &meta, err, sizeof err);

        if (want) {
                ck_assert_msg(r == -EBADMSG, "accepted, wanted an error about '%s' (r=%d)", want, r);
                ck_assert_msg(strstr(err, want), "error '%s' does not name '%s'", err, want);
                ck_assert_uint_eq(count_fds(), before);
                ck_assert(memcmp(&o, &zero_o, sizeof o) == 0);
                ck_assert(memcmp(&meta, &zero_m, sizeof meta) == 0);
        } else {
                ck_assert_msg(r == 0, "refused: %s", err);
                run_options_done(&o);
                run_request_meta_done(&meta);
                ck_assert_uint_eq(count_fds(), before);
        }
        json_object_put(m);
        return r;
}

START_TEST(test_base_is_valid) {
        json_object *m = base_msg();
        decode_expect(m, NULL);
        /* With a valid script, too. */
        m = base_msg();
        set_path(m, "script", valid_script());
        decode_expect(m, NULL);
        /* Optional fields may go; unknown ones are ignored. */
        m = base_msg();
        static const char *const optional[] = { "profile", "env", "cwd", "task_class", "code_origin", "attempt",
                                                "retry_of", "script", "limits", "binds", "workdir", "pass_env",
                                                "set_env", "verbose" };
        for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++)
                set_path(m, optional[i], NULL);
        decode_expect(m, NULL);
}
END_TEST

static const struct {
        const char *path;
        const char *value; /* JSON text; NULL: delete */
        const char *want;  /* in the error */
} bad_cases[] = {
        { "type", "\"signal\"", "not a \"run\" message" },
        { "argv", NULL, "'argv' is missing" },
        { "argv", "[]", "argv" },
        { "argv", "\"/bin/ls\"", "'argv' must be an array" },
        { "argv", "[\"\"]", "argv" },
        { "argv.1", "7", "'argv[1]' must be a string" },
        { "argv.1", "\"a\\u0000b\"", "'argv[1]' holds a NUL" },
        { "request_id", NULL, "'request_id' is missing" },
        { "request_id", "\"a b\"", "request_id" },
        { "request_id", "\"\"", "request_id" },
        { "request_id", "17", "'request_id' must be a string" },
        { "profile", "5", "'profile' must be a string" },
        { "profile", "\"\"", "'profile' is empty" },
        { "env", "[]", "'env' must be an object" },
        { "env", "{\"BAD-NAME\":\"x\"}", "bad variable name 'BAD-NAME'" },
        { "env", "{\"A\":1}", "'env.A' must be a string" },
        { "env", "{\"A\":\"x\\u0000y\"}", "'env.A' holds a NUL" },
        { "cwd", "\"relative\"", "'cwd'" },
        { "task_class", "\"fast\"", "'task_class'" },
        { "task_class", "1", "'task_class' must be a string" },
        { "code_origin", "\"sp ace\"", "'code_origin'" },
        { "code_origin", "\"a2345678901234567890123456789012345678901234567890123456789012345\"", "'code_origin'" },
        { "attempt", "0", "'attempt'" },
        { "attempt", "-1", "'attempt' must not be negative" },
        { "attempt", "\"1\"", "'attempt' must be an integer" },
        { "attempt", "1.5", "'attempt' must be an integer" },
        { "retry_of", "\"bad id\"", "'retry_of'" },
        { "limits", "[]", "'limits' must be an object" },
        { "limits.memory", "\"64M\"", "'limits.memory' must be an integer" },
        { "limits.memory", "1", "'limits.memory' is out of range" },
        { "limits.memory", "-67108864", "'limits.memory' must not be negative" },
        { "limits.pids", "0", "'limits.pids' is out of range" },
        { "limits.pids", "4194305", "'limits.pids' is out of range" },
        { "limits.tmpfs", "100", "'limits.tmpfs' is out of range" },
        { "limits.timeout_us", "true", "'limits.timeout_us' must be an integer" },
        { "limits.cpus", "0.001", "'limits.cpus'" },
        { "limits.cpus", "0.0105", "'limits.cpus'" },
        { "limits.cpus", "-1", "'limits.cpus'" },
        { "limits.cpus", "\"1\"", "'limits.cpus' must be a number" },
        { "limits.swap", "\"x\"", "'limits.swap' must be an integer" },
        { "binds", "{}", "'binds' must be an array" },
        { "binds.0", "\"/data\"", "'binds[0]' must be an object" },
        { "binds.0.dest", "\"data/f\"", "'binds[0].dest'" },
        { "binds.0.dest", "\"/data/../etc\"", "'binds[0].dest'" },
        { "binds.0.dest", "\"/proc/x\"", "'binds[0].dest'" },
        { "binds.0.dest", "\"/\"", "'binds[0].dest'" },
        { "binds.0.dest", NULL, "'binds[0].dest' is missing" },
        { "binds.0.mode", "\"rx\"", "'binds[0].mode'" },
        { "binds.0.mode", NULL, "'binds[0].mode' is missing" },
        { "binds.0.fd_index", "2", "'binds[0].fd_index' is 2" },
        { "binds.0.fd_index", "-1", "'binds[0].fd_index' is -1" },
        { "binds.0.fd_index", "\"0\"", "'binds[0].fd_index' must be an integer" },
        { "binds.0.fd_index", NULL, "'binds[0].fd_index' is missing" },
        { "binds.1", "{\"dest\":\"/data/g\",\"mode\":\"rw\",\"fd_index\":0}", "'binds[1].fd_index' 0 is used twice" },
        { "workdir.fd_index", "0", "'workdir.fd_index' 0 is used twice" },
        { "workdir", "\"/work\"", "'workdir' must be an object" },
        { "workdir.path", "\"work\"", "'workdir.path'" },
        { "pass_env", "[\"1X\"]", "'pass_env[0]' is not valid" },
        { "pass_env", "\"TERM\"", "'pass_env' must be an array" },
        { "set_env", "[\"NOEQ\"]", "'set_env[0]' is not valid" },
        { "set_env", "[\"=x\"]", "'set_env[0]' is not valid" },
        { "set_env", "[5]", "'set_env[0]' must be a string" },
        { "verbose", "\"yes\"", "'verbose' must be true or false" },
        { "script", "\"job.sh\"", "'script' must be an object" },
};

START_TEST(test_bad_fields) {
        for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
                json_object *m = base_msg(), *v = NULL;
                if (bad_cases[i].value) {
                        v = json_tokener_parse(bad_cases[i].value);
                        ck_assert_msg(v, "bad test value %s", bad_cases[i].value);
                }
                set_path(m, bad_cases[i].path, v);
                decode_expect(m, bad_cases[i].want);
        }
}
END_TEST

/* The workdir's fd must be a directory, a bind's a file or directory. */
START_TEST(test_bad_fd_kinds) {
        RunOptions o = {};
        RunRequestMeta meta = {};
        char err[512];
        int sv[2], p;
        json_object *m = base_msg();

        set_path(m, "workdir.fd_index", json_object_new_int(0));
        set_path(m, "binds.0.fd_index", json_object_new_int(1));
        decode_expect(m, "'workdir.fd_index': fd 0 is not a directory");

        /* A socket as a bind source. */
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        m = base_msg();
        set_path(m, "workdir", NULL);
        ck_assert_int_eq(run_request_decode(m, (int[]) { sv[0] }, 1, &o, &meta, err, sizeof err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "not a file or directory"));
        json_object_put(m);
        close(sv[0]);
        close(sv[1]);

        /* An O_PATH fd proves nothing. */
        p = open(path_file, O_PATH | O_CLOEXEC);
        ck_assert_int_ge(p, 0);
        m = base_msg();
        set_path(m, "workdir", NULL);
        ck_assert_int_eq(run_request_decode(m, (int[]) { p }, 1, &o, &meta, err, sizeof err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "O_PATH"));
        json_object_put(m);
        close(p);

        /* Extra fds nobody names are left to the caller. */
        m = base_msg();
        ck_assert_int_eq(run_request_decode(m, (int[]) { fd_file, fd_dir, fd_file }, 3, &o, &meta, err, sizeof err), 0);
        run_options_done(&o);
        run_request_meta_done(&meta);
        json_object_put(m);
}
END_TEST

START_TEST(test_bad_script) {
        static const struct {
                const char *key, *value, *want;
        } t[] = {
                { "sha256", "\"0000000000000000000000000000000000000000000000000000000000000000\"",
                  "'script.sha256' does not match" },
                { "sha256", NULL, "'script.sha256' is missing" },
                { "sha256", "\"abc\"", "'script.sha256' does not match" },
                { "data", "\"ZWNobyBoaQ==\"", "'script.sha256' does not match" }, /* other bytes than the hash names */
                { "data", "\"ZWNobyBoaQo\"", "'script.data' is not base64" },
                { "data", "\"ZWNo*yBoaQo=\"", "'script.data' is not base64" },
                { "data", "\"ZW=obyBoaQo=\"", "'script.data' is not base64" },
                { "data", "\"ZWNo\\nyBoaQo=\"", "'script.data' is not base64" },
                { "data", "7", "'script.data' must be a string" },
                { "data", NULL, "'script.data' is missing" },
                { "name", "\"../job.sh\"", "'script.name'" },
                { "name", "\"a/b\"", "'script.name'" },
                { "name", "\"..\"", "'script.name'" },
                { "name", "\"\"", "'script.name'" },
                { "path", "\"job.sh\"", "'script.path'" },
                { "path", NULL, "'script.path' is missing" },
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                json_object *m = base_msg(), *s = valid_script();
                set_path(s, t[i].key, t[i].value ? json_tokener_parse(t[i].value) : NULL);
                set_path(m, "script", s);
                decode_expect(m, t[i].want);
        }
        /* An empty script is a script. */
        {
                char sha[65], text[256];
                json_object *m = base_msg();
                sha256_hex("", 0, sha);
                snprintf(text, sizeof text, "{\"path\":\"/x/e.sh\",\"name\":\"e.sh\",\"data\":\"\",\"sha256\":\"%s\"}",
                         sha);
                set_path(m, "script", json_tokener_parse(text));
                decode_expect(m, NULL);
        }
}
END_TEST

/* Sizes: each string and the number of items are bounded. */
START_TEST(test_bounds) {
        json_object *m, *a;
        char *big = malloc((128u << 10) + 2);

        memset(big, 'x', (128u << 10) + 1);
        big[(128u << 10) + 1] = 0;
        m = base_msg();
        set_path(m, "argv.1", json_object_new_string(big));
        decode_expect(m, "'argv[1]' is longer than");
        big[128u << 10] = 0; /* exactly the bound */
        m = base_msg();
        set_path(m, "argv.1", json_object_new_string(big));
        decode_expect(m, NULL);
        free(big);

        m = base_msg();
        a = json_object_new_array();
        for (int i = 0; i < 4097; i++)
                json_object_array_add(a, json_object_new_string("x"));
        set_path(m, "argv", a);
        decode_expect(m, "'argv' has more than 4096 items");

        m = base_msg();
        a = json_object_new_array();
        for (int i = 0; i < PROTO_MAX_FDS + 1; i++)
                json_object_array_add(a, json_object_new_object());
        set_path(m, "binds", a);
        decode_expect(m, "'binds' has more than");

        m = base_msg();
        a = json_object_new_object();
        for (int i = 0; i < 4097; i++) {
                char k[16];
                snprintf(k, sizeof k, "V%d", i);
                json_object_object_add(a, k, json_object_new_string("1"));
        }
        set_path(m, "env", a);
        decode_expect(m, "'env' has more than 4096");
}
END_TEST

START_TEST(test_daemon_options) {
        static const char *const refused[][3] = {
                { "--journal", "/tmp/j", "--journal" },
                { "--no-journal", NULL, "--no-journal" },
                { "--journal-fsync", "always", "--journal-fsync" },
                { "--secret-store", "/tmp/s", "--secret-store" },
                { "--net-pool", "100.64.0.0/10", "--net-pool" },
                { "--dns-upstream", "1.1.1.1", "--dns-upstream" },
                { "--uid", "65534", "--uid" },
                { "--gid", "1000", "--gid" },
        };
        RunOptions o;
        char err[512], want[128];

        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
                const char *w[5] = { refused[i][0] };
                size_t k = 1;
                if (refused[i][1])
                        w[k++] = refused[i][1];
                w[k++] = "--";
                w[k++] = "/bin/true";
                w[k] = NULL;
                ck_assert_msg(parse(&o, err, sizeof err, w) == 0, "%s: %s", refused[i][0], err);
                ck_assert_int_eq(run_request_check_daemon_options(&o, err, sizeof err), -EINVAL);
                snprintf(want, sizeof want,
                         "%s is set by stockaded's configuration; drop it, or use --embedded as root", refused[i][2]);
                ck_assert_str_eq(err, want);
                run_options_done(&o);
        }
        /* The default fsync policy, spelled out, is no daemon setting. */
        ck_assert_int_eq(parse(&o, err, sizeof err,
                               (const char *[]) { "--journal-fsync", "batch", "--connect", "/run/s.sock", "--",
                                                  "/bin/true", NULL }),
                         0);
        ck_assert_int_eq(run_request_check_daemon_options(&o, err, sizeof err), 0);
        ck_assert_str_eq(o.connect, "/run/s.sock");
        ck_assert(!o.embedded);
        run_options_done(&o);
}
END_TEST

START_TEST(test_new_options) {
        static const char *const bad[][3] = {
                { "--task-class", "fast", "--task-class 'fast'" },
                { "--code-origin", "a/b", "--code-origin 'a/b'" },
                { "--code-origin", "", "--code-origin ''" },
                { "--attempt", "0", "--attempt '0'" },
                { "--attempt", "4294967296", "--attempt" },
                { "--attempt", "x", "--attempt 'x'" },
                { "--retry-of", "a b", "--retry-of 'a b'" },
                { "--connect", "", "--connect" },
        };
        RunOptions o;
        char err[512];

        ck_assert_int_eq(parse(&o, err, sizeof err,
                               (const char *[]) { "--task-class", "interactive", "--code-origin", "web_ui-2",
                                                  "--attempt", "3", "--retry-of", "abc", "--embedded", "--",
                                                  "/bin/true", NULL }),
                         0);
        ck_assert_str_eq(o.task_class, "interactive");
        ck_assert_str_eq(o.code_origin, "web_ui-2");
        ck_assert_uint_eq(o.attempt, 3);
        ck_assert_str_eq(o.retry_of, "abc");
        ck_assert(o.embedded);
        ck_assert_ptr_null(o.connect);
        run_options_done(&o);

        ck_assert_int_eq(parse(&o, err, sizeof err, (const char *[]) { "--", "/bin/true", NULL }), 0);
        ck_assert_uint_eq(o.attempt, 1);
        ck_assert_ptr_null(o.task_class);
        run_options_done(&o);

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                ck_assert_int_eq(parse(&o, err, sizeof err,
                                       (const char *[]) { bad[i][0], bad[i][1], "--", "/bin/true", NULL }),
                                 -EINVAL);
                ck_assert_msg(strstr(err, bad[i][2]), "'%s' lacks '%s'", err, bad[i][2]);
        }
        ck_assert_ptr_nonnull(strstr(run_usage, "--task-class"));
        ck_assert_ptr_nonnull(strstr(run_usage, "--embedded"));
}
END_TEST

START_TEST(test_encode_refuses) {
        RunOptions o;
        char err[512], fifo[PATH_MAX + 8], bind[PATH_MAX + 16];
        json_object *msg = NULL;
        int *fds = NULL;
        size_t n = 0, before;

        /* A FIFO is no bind source for the daemon (opening it would block). */
        snprintf(fifo, sizeof fifo, "%s/fifo", tmpdir);
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        snprintf(bind, sizeof bind, "%s:/data/p", fifo);
        ck_assert_int_eq(parse(&o, err, sizeof err,
                               (const char *[]) { "--bind", path_file, "--bind", bind, "--", "/bin/true", NULL }),
                         0);
        before = count_fds();
        ck_assert_int_eq(run_request_encode(&o, NULL, &msg, &fds, &n, err, sizeof err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "not a file or a directory"));
        ck_assert_uint_eq(count_fds(), before); /* the first bind's fd was closed again */
        ck_assert_ptr_null(msg);
        run_options_done(&o);

        /* Gone since it was parsed. */
        ck_assert_int_eq(parse(&o, err, sizeof err, (const char *[]) { "--bind", path_file, "--", "/bin/true", NULL }),
                         0);
        ck_assert_int_eq(unlink(path_file), 0);
        ck_assert_int_eq(run_request_encode(&o, NULL, &msg, &fds, &n, err, sizeof err), -ENOENT);
        ck_assert_ptr_nonnull(strstr(err, "--bind"));
        run_options_done(&o);

        /* Unreadable as the caller (meaningless as root). */
        if (geteuid() != 0) {
                write_file(path_file, "x", 1);
                ck_assert_int_eq(chmod(path_file, 0), 0);
                ck_assert_int_eq(
                        parse(&o, err, sizeof err, (const char *[]) { "--bind", path_file, "--", "/bin/true", NULL }),
                        0);
                ck_assert_int_eq(run_request_encode(&o, NULL, &msg, &fds, &n, err, sizeof err), -EACCES);
                ck_assert_ptr_nonnull(strstr(err, "only what you can read"));
                run_options_done(&o);
        }

        /* A script too big for a frame. */
        ck_assert_int_eq(parse(&o, err, sizeof err, (const char *[]) { path_script, NULL }), 0);
        free(o.spec.script_data);
        o.spec.script_len = PROTO_MAX_FRAME;
        o.spec.script_data = calloc(1, o.spec.script_len);
        ck_assert_int_eq(run_request_encode(&o, NULL, &msg, &fds, &n, err, sizeof err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "--embedded"));
        run_options_done(&o);
}
END_TEST

static Suite *run_request_suite(void) {
        Suite *s = suite_create("run-request");
        TCase *tc = tcase_create("wire");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_roundtrip_full);
        tcase_add_test(tc, test_roundtrip_command);
        tcase_add_test(tc, test_daemon_options);
        tcase_add_test(tc, test_new_options);
        tcase_add_test(tc, test_encode_refuses);
        suite_add_tcase(s, tc);

        tc = tcase_create("decode");
        tcase_add_checked_fixture(tc, bad_setup, bad_teardown);
        tcase_add_test(tc, test_base_is_valid);
        tcase_add_test(tc, test_bad_fields);
        tcase_add_test(tc, test_bad_fd_kinds);
        tcase_add_test(tc, test_bad_script);
        tcase_add_test(tc, test_bounds);
        suite_add_tcase(s, tc);
        return s;
}

#include "check-main.h"
CHECK_MAIN(run_request_suite)
