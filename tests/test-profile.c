/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/sha256.h"
#include "profile-internal.h"
#include "profile.h"
#include "sandbox-profile.h"

/* ---- helpers ---- */

static int load(const char *text, Profile *ret, ProfileError *reterr) {
        return profile_load_string(text, strlen(text), "p.yaml", ret, reterr);
}

/* Loading fails with exactly this problem, and leaves *ret alone. */
static void expect_error_in(const char *file, const char *text, const char *where, unsigned line, unsigned column,
                            const char *message) {
        Profile p, untouched;
        ProfileError e = {};
        int r;

        memset(&p, 0xa5, sizeof p);
        memcpy(&untouched, &p, sizeof p);
        r = profile_load_string(text, strlen(text), file, &p, &e);
        ck_assert_msg(r < 0, "loaded although it should fail with: %s", message);
        ck_assert_msg(memcmp(&p, &untouched, sizeof p) == 0, "*ret touched on failure");
        ck_assert_str_eq(e.message, message);
        ck_assert_str_eq(e.file, where);
        ck_assert_uint_eq(e.line, line);
        ck_assert_uint_eq(e.column, column);
}

static void expect_error(const char *text, unsigned line, unsigned column, const char *message) {
        expect_error_in("p.yaml", text, "p.yaml", line, column, message);
}

static void expect_ok(const char *text, Profile *ret) {
        ProfileError e = {};
        int r = load(text, ret, &e);
        ck_assert_msg(r == 0, "load failed: %s:%u:%u: %s", e.file, e.line, e.column, e.message);
}

static bool has_rule(const SyscallRule *rules, size_t n, const char *name, int errno_value) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(rules[i].name, name) == 0)
                        return rules[i].errno_value == errno_value;
        return false;
}

static bool has_name(const SyscallRule *rules, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(rules[i].name, name) == 0)
                        return true;
        return false;
}

static void assert_strv(char **v, const char *const *want, size_t n) {
        ck_assert_ptr_nonnull(v);
        for (size_t i = 0; i < n; i++) {
                ck_assert_ptr_nonnull(v[i]);
                ck_assert_str_eq(v[i], want[i]);
        }
        ck_assert_ptr_null(v[n]);
}

#define ASSERT_STRV(v, ...)                                              \
        do {                                                             \
                static const char *const want_[] = { __VA_ARGS__ };      \
                assert_strv((v), want_, sizeof want_ / sizeof want_[0]); \
        } while (0)

/* ---- a temp dir for multi-file tests (one per test case) ---- */

static char tmpdir[64];

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st, (void) type, (void) ftw;
        return remove(path);
}

static void tmpdir_setup(void) {
        strcpy(tmpdir, "/tmp/test-profile-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmpdir_teardown(void) {
        if (tmpdir[0])
                (void) nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        tmpdir[0] = 0;
}

static const char *write_file(const char *name, const char *text) {
        static char path[256];
        FILE *f;

        (void) snprintf(path, sizeof path, "%s/%s", tmpdir, name);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fputs(text, f) >= 0, 1);
        ck_assert_int_eq(fclose(f), 0);
        return path;
}

static const char *tmp_path(const char *name) {
        static char path[256];
        (void) snprintf(path, sizeof path, "%s/%s", tmpdir, name);
        return path;
}

/* ---- every error class, with its message and position ---- */

START_TEST(test_error_unknown_key) {
        expect_error("version: 1\n"
                     "name: p\n"
                     "limits:\n"
                     "  memroy: 1\n",
                     4, 3, "limits: unknown key 'memroy'");
        expect_error("version: 1\n"
                     "name: p\n"
                     "colour: blue\n",
                     3, 1, "unknown key 'colour'");
        expect_error("version: 1\n"
                     "name: p\n"
                     "filesystem:\n"
                     "  binds:\n"
                     "    - { src: /a, dest: /b }\n",
                     5, 18, "filesystem.binds[0]: unknown key 'dest'");
}
END_TEST

START_TEST(test_error_wrong_type) {
        expect_error("version: 1\n"
                     "seccomp:\n"
                     "  - read\n"
                     "name: p\n",
                     2, 1, "seccomp: expected a mapping, got a sequence");
        expect_error("version: 1\n"
                     "name: p\n"
                     "limits:\n"
                     "  memory: [1GiB]\n",
                     4, 3, "limits.memory: expected a size, got a sequence");
        expect_error("version: 1\n"
                     "name: p\n"
                     "filesystem:\n"
                     "  hide: /etc/shadow\n",
                     4, 3, "filesystem.hide: expected a sequence, got a scalar");
        expect_error("version: 1\n"
                     "name: p\n"
                     "seccomp:\n"
                     "  deny:\n"
                     "    - [ptrace]\n",
                     5, 7, "seccomp.deny[0]: expected a syscall, @group or mapping, got a sequence");
        expect_error("version: 1\n"
                     "name: p\n"
                     "description:\n",
                     3, 1, "description: expected a string, got null");
        expect_error("- version\n", 1, 1, "expected a mapping of keys at the top, got a sequence");
}
END_TEST

START_TEST(test_error_bad_unit) {
        expect_error("version: 1\n"
                     "name: p\n"
                     "limits:\n"
                     "  pids: 5\n"
                     "  memory: 12XB\n",
                     5, 11, "limits.memory: '12XB' is not a size; write it like 64MiB or 1GiB");
        expect_error("version: 1\n"
                     "name: p\n"
                     "limits:\n"
                     "  wall_time: 10 min\n",
                     4, 14, "limits.wall_time: '10 min' is not a duration; write it like 30s, 10m or 2h");
        expect_error("version: 1\n"
                     "name: p\n"
                     "limits:\n"
                     "  memory: 1MiB\n",
                     4, 11, "limits.memory: '1MiB' is below the minimum of 4MiB");
        expect_error("version: 1\n"
                     "name: p\n"
                     "limits:\n"
                     "  pids: 0\n",
                     4, 9, "limits.pids: '0' is out of range (1-4194304)");
        expect_error("version: 1\n"
                     "name: p\n"
                     "limits:\n"
                     "  cpus: 0.001\n",
                     4, 9, "limits.cpus: '0.001' is out of range: at least 0.01 cores");
        expect_error("version: 1\n"
                     "name: p\n"
                     "limits:\n"
                     "  open_files: 8\n",
                     4, 15, "limits.open_files: '8' is out of range (16-1048576)");
}
END_TEST

START_TEST(test_error_unknown_syscall) {
        expect_error("version: 1\n"
                     "name: p\n"
                     "seccomp:\n"
                     "  default: allow\n"
                     "  errno: EPERM\n"
                     "  deny:\n"
                     "    - \"@mount\"\n"
                     "    - ptrace\n"
                     "    - ptrce\n",
                     9, 7, "seccomp.deny[2]: unknown syscall 'ptrce'");
        expect_error("version: 1\n"
                     "name: p\n"
                     "seccomp:\n"
                     "  allow: [read, wirte]\n",
                     4, 17, "seccomp.allow[1]: unknown syscall 'wirte'");
        expect_error("version: 1\n"
                     "name: p\n"
                     "seccomp:\n"
                     "  deny:\n"
                     "    - { syscall: ptrce, errno: EACCES }\n",
                     5, 18, "seccomp.deny[0].syscall: unknown syscall 'ptrce'");
        expect_error("version: 1\n"
                     "name: p\n"
                     "seccomp:\n"
                     "  errno: EWHATEVER\n",
                     4, 10, "seccomp.errno: unknown errno name 'EWHATEVER'");
}
END_TEST

START_TEST(test_error_unknown_group) {
        expect_error("version: 1\n"
                     "name: p\n"
                     "seccomp:\n"
                     "  default: allow\n"
                     "  errno: EPERM\n"
                     "  deny:\n"
                     "    - \"@mount\"\n"
                     "    - ptrace\n"
                     "    - \"@mounts\"\n",
                     9, 7, "seccomp.deny[2]: unknown syscall group '@mounts'");
}
END_TEST

START_TEST(test_error_bad_cidr) {
        static const char head[] = "version: 1\n"
                                   "name: p\n"
                                   "description: cidr\n"
                                   "class: interactive\n"
                                   "mode: enforce\n"
                                   "limits:\n"
                                   "  memory: 1GiB\n"
                                   "  pids: 64\n"
                                   "network:\n"
                                   "  mode: allowlist\n"
                                   "  allow:\n";
        static const struct {
                const char *entry, *message;
                unsigned column;
        } t[] = {
                { "    - 10.0.0.1/8\n", "network.allow[0]: bad CIDR '10.0.0.1/8' (host bits set)", 7 },
                { "    - 10.0.0.0/33\n", "network.allow[0]: bad CIDR '10.0.0.0/33'", 7 },
                { "    - 10.0.0/8\n", "network.allow[0]: bad CIDR '10.0.0/8'", 7 },
                { "    - 2001:db8::1/32\n", "network.allow[0]: bad CIDR '2001:db8::1/32' (host bits set)", 7 },
                { "    - \"2001:db8::/129\"\n", "network.allow[0]: bad CIDR '2001:db8::/129'", 7 },
                { "    - { cidr: 10.0.0.0/-1 }\n", "network.allow[0].cidr: bad CIDR '10.0.0.0/-1'", 15 },
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                char text[1024];
                (void) snprintf(text, sizeof text, "%s%s", head, t[i].entry);
                expect_error(text, 12, t[i].column, t[i].message);
        }
}
END_TEST

START_TEST(test_error_bad_host) {
        static const char *const bad[] = { "exa_mple.com",    "-x.example.com", "example..com",
                                           "a.*.example.com", "example.com.",   "x.123" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                char text[512], msg[256];
                (void) snprintf(text, sizeof text,
                                "version: 1\nname: p\nnetwork:\n  mode: allowlist\n  allow:\n    - \"%s\"\n", bad[i]);
                (void) snprintf(msg, sizeof msg,
                                "network.allow[0]: bad host '%s' (RFC 1123: labels of letters, digits and '-', "
                                "optionally \"*.\" first)",
                                bad[i]);
                expect_error(text, 6, 7, msg);
        }
        expect_error("version: 1\nname: p\nnetwork:\n  mode: allowlist\n  allow:\n    - { host: a_b, ports: [443] }\n",
                     6, 15,
                     "network.allow[0].host: bad host 'a_b' (RFC 1123: labels of letters, digits and '-', "
                     "optionally \"*.\" first)");
        expect_error("version: 1\nname: p\nnetwork:\n  mode: allowlist\n  allow:\n    - { host: a.b, ports: [0] }\n", 6,
                     28, "network.allow[0].ports[0]: bad port '0' (1-65535, or LOW-HIGH)");
}
END_TEST

START_TEST(test_error_duplicate_key) {
        expect_error("version: 1\n"
                     "name: p\n"
                     "limits:\n"
                     "  memory: 1GiB\n"
                     "  pids: 5\n"
                     "  memory: 2GiB\n",
                     6, 3, "limits: duplicate key 'memory'");
        expect_error("version: 1\n"
                     "name: p\n"
                     "name: q\n",
                     3, 1, "duplicate key 'name'");
        expect_error("version: 1\n"
                     "name: p\n"
                     "env:\n"
                     "  set: { A: 1, B: 2, A: 3 }\n",
                     4, 22, "env.set: duplicate key 'A'");
}
END_TEST

START_TEST(test_error_version) {
        expect_error("name: p\n", 1, 1, "version: missing");
        expect_error("", 1, 1, "version: missing");
        expect_error("version: 2\nname: p\n", 1, 10, "version: 2 is not supported (this stockade reads version 1)");
        /* Nothing else is reported for a version this code cannot read. */
        expect_error("version: 3\nname: p\nfuture: yes\n", 1, 10,
                     "version: 3 is not supported (this stockade reads version 1)");
        expect_error("version: 1\nlimits: {}\n", 1, 1, "name: missing");
}
END_TEST

START_TEST(test_error_same_name_allow_deny) {
        expect_error("version: 1\n"
                     "name: p\n"
                     "seccomp:\n"
                     "  allow: [bpf]\n"
                     "  deny: [read, bpf]\n",
                     5, 16, "seccomp.deny[1]: 'bpf' is also in seccomp.allow");
        /* Allowing what a denied group still covers would do nothing. */
        expect_error("version: 1\n"
                     "name: p\n"
                     "seccomp:\n"
                     "  allow: [ptrace]\n",
                     4, 11,
                     "seccomp.allow: 'ptrace' stays denied: it is in the denied group '@debug' (allow the group and "
                     "deny the rest by name)");
}
END_TEST

START_TEST(test_error_yaml_syntax) {
        expect_error("version: 1\n"
                     "name: p\n"
                     "limits: {memory: 1\n",
                     4, 1,
                     "syntax error: did not find expected ',' or '}' (while parsing a flow mapping started at 3:9)");
        expect_error("version: 1\n"
                     "name: p\n"
                     "  bad: indent\n",
                     3, 6, "syntax error: mapping values are not allowed in this context");
        expect_error("version: 1\nname: \"a\xff\"\n", 2, 9, "syntax error: invalid leading UTF-8 octet (0xff)");
        expect_error("version: 1\nname: *nope\n", 2, 7, "syntax error: found undefined alias");
        expect_error("version: 1\nname: p\n---\nversion: 1\n", 3, 1,
                     "a profile is one YAML document; found a second one");
}
END_TEST

START_TEST(test_error_other) {
        expect_error("version: 1\nname: p\nnetwork:\n  allow: [192.0.2.0/24]\n", 4, 3,
                     "network.allow: only with mode: allowlist (the mode here is none)");
        expect_error("version: 1\nname: P\n", 2, 7, "name: 'P' is not a valid name ([a-z0-9][a-z0-9._-]{0,63})");
        expect_error("version: 1\nname: p\nfilesystem:\n  hide: [etc/x]\n", 4, 10,
                     "filesystem.hide[0]: 'etc/x' is not an absolute path");
        expect_error("version: 1\nname: p\nfilesystem:\n  workdir: /srv/../etc\n", 4, 12,
                     "filesystem.workdir: '/srv/../etc' contains '..'");
        expect_error("version: 1\nname: p\nsecrets:\n  - { name: k, env: K, file: /k }\n", 4, 5,
                     "secrets[0]: give exactly one of env or file");
        expect_error("version: 1\nname: p\nsecrets: [\"..\"]\n", 3, 11,
                     "secrets[0]: '..' is not a secret name ([A-Za-z0-9_.-]{1,64}, not . or ..)");
        expect_error("version: 1\nname: p\nclass: fast\n", 3, 8, "class: 'fast' is not interactive or batch");
        expect_error("version: 1\nname: p\nseccomp:\n  socket_families: [inet, ipv9]\n", 4, 27,
                     "seccomp.socket_families[1]: unknown socket family 'ipv9'");
        expect_error("version: 1\nname: p\nseccomp:\n  ioctl_deny: [TIOCFOO]\n", 4, 16,
                     "seccomp.ioctl_deny[0]: unknown ioctl 'TIOCFOO' (a name like TIOCSTI, or a number)");
        expect_error("version: 1\nname: p\ndescription: \"a\\0b\"\n", 3, 14, "description: contains a NUL character");
        expect_error("version: 1\nname: p\nenv:\n  set: { \"X-Y\": 1 }\n", 4, 10,
                     "env.set: 'X-Y' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
}
END_TEST

/* ---- extends: cycles, missing parents, depth ---- */

START_TEST(test_error_extends_cycle) {
        char x[256];

        (void) snprintf(x, sizeof x, "%s", write_file("x.yaml", "version: 1\nname: default\nextends: ./y.yaml\n"));
        (void) write_file("y.yaml", "version: 1\nname: a\nextends: ./x.yaml\n");
        {
                char y[256];
                Profile p = {};
                ProfileError e = {};

                (void) snprintf(y, sizeof y, "%s/y.yaml", tmpdir);
                ck_assert_int_lt(profile_load(x, &p, &e), 0);
                ck_assert_str_eq(e.file, y);
                ck_assert_uint_eq(e.line, 3);
                ck_assert_uint_eq(e.column, 10);
                ck_assert_str_eq(e.message, "extends: cycle default -> a -> default");
        }
        /* Extending itself. */
        (void) snprintf(x, sizeof x, "%s", write_file("self.yaml", "version: 1\nname: self\nextends: ./self.yaml\n"));
        {
                Profile p = {};
                ProfileError e = {};
                ck_assert_int_lt(profile_load(x, &p, &e), 0);
                ck_assert_str_eq(e.message, "extends: cycle self -> self");
        }
}
END_TEST

START_TEST(test_error_missing_parent) {
        expect_error("version: 1\nname: p\nextends: nope\n", 3, 10, "extends: profile 'nope' not found");
        expect_error("version: 1\nname: p\nextends: ./nope.yaml\n", 3, 10, "extends: profile './nope.yaml' not found");
        expect_error("version: 1\nname: p\nextends: Not_A_Name\n", 3, 10,
                     "extends: 'Not_A_Name' is neither a profile name nor a path (a path contains '/')");
}
END_TEST

START_TEST(test_error_in_parent) {
        char parent[256];
        const char *child;
        Profile p = {};
        ProfileError e = {};

        (void) snprintf(parent, sizeof parent, "%s",
                        write_file("parent.yaml", "version: 1\nname: parent\n"
                                                  "limits:\n  memory: lots\n"));
        child = write_file("child.yaml", "version: 1\nname: child\nextends: ./parent.yaml\n");
        ck_assert_int_lt(profile_load(child, &p, &e), 0);
        /* Reported with the parent's name and position. */
        ck_assert_str_eq(e.file, parent);
        ck_assert_uint_eq(e.line, 4);
        ck_assert_uint_eq(e.column, 11);
        ck_assert_str_eq(e.message, "limits.memory: 'lots' is not a size; write it like 64MiB or 1GiB");
}
END_TEST

START_TEST(test_error_extends_depth) {
        char name[32], text[256];
        Profile p = {};
        ProfileError e = {};

        /* 0 extends 1 extends ... extends 17: 17 parents above 0. */
        for (int i = 0; i <= 17; i++) {
                (void) snprintf(name, sizeof name, "l%d.yaml", i);
                if (i < 17)
                        (void) snprintf(text, sizeof text, "version: 1\nname: l%d\nextends: ./l%d.yaml\n", i, i + 1);
                else
                        (void) snprintf(text, sizeof text, "version: 1\nname: l%d\n", i);
                (void) write_file(name, text);
        }
        ck_assert_int_lt(profile_load(tmp_path("l0.yaml"), &p, &e), 0);
        ck_assert_str_eq(e.message, "extends: more than 16 levels of parents");
        ck_assert_str_eq(e.file, tmp_path("l16.yaml"));
        /* 16 levels are fine. */
        ck_assert_int_eq(profile_load(tmp_path("l1.yaml"), &p, &e), 0);
        ck_assert_str_eq(p.name, "l1");
        profile_done(&p);
}
END_TEST

/* Every problem of a file, not just the first. */
static void collect(const ProfileError *e, void *userdata) {
        char *buf = userdata;
        (void) snprintf(buf + strlen(buf), 4096 - strlen(buf), "%s:%u:%u: %s\n", e->file, e->line, e->column,
                        e->message);
}

START_TEST(test_check_reports_all) {
        char out[4096] = "", want[4096];
        const char *path = write_file("bad.yaml", "version: 1\n"
                                                  "name: bad\n"
                                                  "limits:\n"
                                                  "  memroy: 1\n"
                                                  "  memory: 12XB\n"
                                                  "seccomp:\n"
                                                  "  deny: [ptrce]\n"
                                                  "extends: nope\n");
        ck_assert_int_eq(profile_check_file(path, collect, out), 4);
        (void) snprintf(want, sizeof want,
                        "%1$s:4:3: limits: unknown key 'memroy'\n"
                        "%1$s:5:11: limits.memory: '12XB' is not a size; write it like 64MiB or 1GiB\n"
                        "%1$s:7:10: seccomp.deny[0]: unknown syscall 'ptrce'\n"
                        "%1$s:8:10: extends: profile 'nope' not found\n",
                        path);
        ck_assert_str_eq(out, want);

        path = write_file("good.yaml", "version: 1\nname: good\nextends: default\n");
        ck_assert_int_eq(profile_check_file(path, collect, out), 0);
        ck_assert_int_eq(profile_check_file(tmp_path("missing.yaml"), collect, out), -ENOENT);
        ck_assert_int_lt(profile_check_file(tmpdir, collect, out), 0);
}
END_TEST

/* ---- defaults ---- */

START_TEST(test_defaults) {
        Profile p = {};

        expect_ok("version: 1\nname: minimal\n", &p);
        ck_assert_str_eq(p.name, "minimal");
        ck_assert_str_eq(p.description, "");
        ck_assert_ptr_null(p.extends);
        ck_assert_str_eq(p.path, "p.yaml");
        ck_assert_int_eq(p.class_, PROFILE_CLASS_INTERACTIVE);
        ck_assert_int_eq(p.mode, PROFILE_MODE_ENFORCE);
        ck_assert_uint_eq(p.limits.memory_bytes, 512ULL << 20);
        ck_assert_uint_eq(p.swap_bytes, 0);
        ck_assert_uint_eq(p.limits.cpu_millicores, 1000);
        ck_assert_uint_eq(p.limits.pids, 128);
        ck_assert_uint_eq(p.limits.timeout_usec, 600ULL * 1000000);
        ck_assert_uint_eq(p.limits.cpu_time_usec, 0);
        ck_assert_uint_eq(p.limits.tmpfs_bytes, 64ULL << 20);
        ck_assert_uint_eq(p.nofile, 1024);
        ck_assert_uint_eq(p.fsize_bytes, 0);
        ck_assert_uint_eq(p.output_bytes, 0);
        ASSERT_STRV(p.system_dirs, "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc");
        ck_assert_uint_eq(p.n_binds, 0);
        ASSERT_STRV(p.hide);
        ck_assert_ptr_null(p.workdir);
        ck_assert_int_eq(p.net_mode, NET_MODE_NONE);
        ck_assert_uint_eq(p.n_net_allow, 0);
        ASSERT_STRV(p.env_allow);
        ASSERT_STRV(p.env_set);
        ck_assert_uint_eq(p.n_secrets, 0);
        ck_assert_int_eq(p.seccomp.default_action, SECCOMP_DEFAULT_ALLOW);
        ck_assert_int_eq(p.seccomp.errno_value, EPERM);
        ck_assert_uint_eq(p.seccomp.n_allow, 0);
        ck_assert_uint_eq(p.seccomp.n_deny, 19);
        {
                static const char *const deny[] = {
                        "@mount",
                        "@debug",
                        "bpf",
                        "perf_event_open",
                        "@keyring",
                        "userfaultfd",
                        "@io-uring",
                        "@reboot",
                        "@module",
                        "@swap",
                        "@clock",
                        "@raw-io",
                        "setns",
                        "acct",
                        "quotactl",
                        "lookup_dcookie",
                        "open_by_handle_at",
                        "name_to_handle_at",
                        "vhangup",
                };
                for (size_t i = 0; i < sizeof deny / sizeof deny[0]; i++)
                        ck_assert_msg(has_rule(p.seccomp.deny, p.seccomp.n_deny, deny[i], 0), "%s", deny[i]);
        }
        ck_assert(p.seccomp.restrict_socket_families);
        ck_assert_uint_eq(p.seccomp.n_socket_families, 3);
        ck_assert_int_eq(p.seccomp.socket_families[0], AF_UNIX);
        ck_assert_int_eq(p.seccomp.socket_families[1], AF_INET);
        ck_assert_int_eq(p.seccomp.socket_families[2], AF_INET6);
        ck_assert(p.seccomp.deny_namespaces);
        ck_assert_uint_eq(p.seccomp.n_ioctl_deny, 2);
        ck_assert_uint_eq(p.seccomp.ioctl_deny[0], TIOCSTI);
        ck_assert_uint_eq(p.seccomp.ioctl_deny[1], TIOCLINUX);
        ck_assert_uint_eq(strlen(p.sha256), 64);
        profile_done(&p);
}
END_TEST

START_TEST(test_values) {
        Profile p = {};

        expect_ok("version: 1\n"
                  "name: values\n"
                  "mode: audit\n"
                  "limits: { memory: unlimited, cpus: \"0.25\", wall_time: 90s, file_size: unlimited, swap: 1G }\n"
                  "filesystem:\n"
                  "  workdir: /srv/work\n"
                  "  binds: [{ src: /srv/data, dst: /data, mode: rw, must_exist: false }]\n"
                  "network:\n"
                  "  mode: allowlist\n"
                  "  allow:\n"
                  "    - 10.0.0.0/8\n"
                  "    - API.Example.COM\n"
                  "    - { cidr: \"2001:db8::/32\", ports: [443, \"8000-8100\"], proto: [tcp] }\n"
                  "    - { host: \"*.example.org\", proto: udp }\n"
                  "secrets:\n"
                  "  - deploy_key\n"
                  "  - { name: openai_key, env: OPENAI_API_KEY }\n"
                  "seccomp:\n"
                  "  default: errno\n"
                  "  errno: EWOULDBLOCK\n"
                  "  allow: [\"@default\", \"@basic-io\", read]\n"
                  "  deny: [{ syscall: kcmp, errno: EACCES }]\n"
                  "  namespaces: allow\n"
                  "  ioctl_deny: [0x5401, 21505]\n",
                  &p);
        ck_assert_int_eq(p.mode, PROFILE_MODE_AUDIT);
        ck_assert_uint_eq(p.limits.memory_bytes, SANDBOX_UNLIMITED);
        ck_assert_uint_eq(p.limits.cpu_millicores, 250);
        ck_assert_uint_eq(p.limits.timeout_usec, 90ULL * 1000000);
        ck_assert_uint_eq(p.fsize_bytes, 0);
        ck_assert_uint_eq(p.swap_bytes, 1ULL << 30);
        ck_assert_str_eq(p.workdir, "/srv/work");
        ck_assert_uint_eq(p.n_binds, 1);
        ck_assert_str_eq(p.binds[0].source, "/srv/data");
        ck_assert_str_eq(p.binds[0].dest, "/data");
        ck_assert_int_eq(p.binds[0].mode, BIND_RW);
        ck_assert(!p.binds[0].must_exist);

        ck_assert_int_eq(p.net_mode, NET_MODE_ALLOWLIST);
        ck_assert_uint_eq(p.n_net_allow, 5); /* the ports of one entry make two rules */
        ck_assert_ptr_null(p.net_allow[0].host);
        ck_assert_int_eq(p.net_allow[0].family, AF_INET);
        ck_assert_uint_eq(p.net_allow[0].prefix, 8);
        ck_assert_uint_eq(p.net_allow[0].addr[0], 10);
        ck_assert_uint_eq(p.net_allow[0].port_lo, 0);
        ck_assert_uint_eq(p.net_allow[0].port_hi, 65535);
        ck_assert_uint_eq(p.net_allow[0].protos, NET_PROTO_TCP | NET_PROTO_UDP);
        ck_assert_str_eq(p.net_allow[1].host, "api.example.com");
        ck_assert_int_eq(p.net_allow[2].family, AF_INET6);
        ck_assert_uint_eq(p.net_allow[2].prefix, 32);
        ck_assert_uint_eq(p.net_allow[2].port_lo, 443);
        ck_assert_uint_eq(p.net_allow[2].port_hi, 443);
        ck_assert_uint_eq(p.net_allow[2].protos, NET_PROTO_TCP);
        ck_assert_uint_eq(p.net_allow[3].port_lo, 8000);
        ck_assert_uint_eq(p.net_allow[3].port_hi, 8100);
        ck_assert_str_eq(p.net_allow[4].host, "*.example.org");
        ck_assert_uint_eq(p.net_allow[4].protos, NET_PROTO_UDP);

        ck_assert_uint_eq(p.n_secrets, 2);
        ck_assert_str_eq(p.secrets[0].name, "deploy_key");
        ck_assert_int_eq(p.secrets[0].as, SECRET_AS_FILE);
        ck_assert_str_eq(p.secrets[0].target, "/run/secrets/deploy_key");
        ck_assert_str_eq(p.secrets[1].name, "openai_key");
        ck_assert_int_eq(p.secrets[1].as, SECRET_AS_ENV);
        ck_assert_str_eq(p.secrets[1].target, "OPENAI_API_KEY");

        ck_assert_int_eq(p.seccomp.default_action, SECCOMP_DEFAULT_ERRNO);
        ck_assert_int_eq(p.seccomp.errno_value, EAGAIN);
        ck_assert_uint_eq(p.seccomp.n_allow, 3);
        ck_assert(has_rule(p.seccomp.deny, p.seccomp.n_deny, "kcmp", EACCES));
        ck_assert(!p.seccomp.deny_namespaces);
        ck_assert_uint_eq(p.seccomp.n_ioctl_deny, 3); /* TIOCSTI, TIOCLINUX, and 0x5401 = 21505 once */
        ck_assert_uint_eq(p.seccomp.ioctl_deny[2], 0x5401);
        profile_done(&p);
}
END_TEST

/* ---- extends merging ---- */

static const char base_yaml[] = "version: 1\n"
                                "name: base\n"
                                "description: the base\n"
                                "class: batch\n"
                                "limits:\n"
                                "  memory: 2GiB\n"
                                "  pids: 300\n"
                                "filesystem:\n"
                                "  system_dirs: [/usr, /etc]\n"
                                "  binds:\n"
                                "    - { src: /srv/a, dst: /data }\n"
                                "    - { src: /srv/b }\n"
                                "  hide: [/etc/a, /etc/b]\n"
                                "  workdir: /srv/work\n"
                                "network:\n"
                                "  mode: allowlist\n"
                                "  allow: [192.0.2.0/24, api.example.com]\n"
                                "env:\n"
                                "  allow: [TERM, \"LC_*\"]\n"
                                "  set: { A: \"1\", B: \"2\" }\n"
                                "secrets:\n"
                                "  - s1\n"
                                "  - { name: s2, env: S2 }\n"
                                "seccomp:\n"
                                "  errno: EACCES\n"
                                "  allow: [bpf]\n"
                                "  deny: [ptrace, { syscall: kcmp, errno: EACCES }]\n"
                                "  socket_families: [unix, inet]\n"
                                "  ioctl_deny: [0x5401]\n";

static const char child_yaml[] = "version: 1\n"
                                 "name: child\n"
                                 "extends: ./base.yaml\n"
                                 "limits:\n"
                                 "  memory: 1GiB\n"
                                 "filesystem:\n"
                                 "  binds:\n"
                                 "    - { src: /srv/c, dst: /data, mode: rw }\n"
                                 "    - { src: /srv/d, dst: /d, must_exist: false }\n"
                                 "  hide: [/etc/b, /etc/c]\n"
                                 "network:\n"
                                 "  allow: [198.51.100.0/24, api.example.com]\n"
                                 "env:\n"
                                 "  allow: [TERM, HOME]\n"
                                 "  set: { C: \"4\", B: \"3\" }\n"
                                 "secrets:\n"
                                 "  - { name: s1, env: S1 }\n"
                                 "  - s3\n"
                                 "seccomp:\n"
                                 "  allow: [\"@mount\", userfaultfd]\n"
                                 "  deny: [bpf, { syscall: kcmp, errno: ENOSYS }]\n"
                                 "  socket_families: [unix]\n"
                                 "  ioctl_deny: [TIOCSTI, 0x5402]\n";

START_TEST(test_merge) {
        Profile p = {};
        ProfileError e = {};

        (void) write_file("base.yaml", base_yaml);
        ck_assert_int_eq(profile_load(write_file("child.yaml", child_yaml), &p, &e), 0);

        /* Scalars: the child's when set, else the parent's; name never inherited. */
        ck_assert_str_eq(p.name, "child");
        ck_assert_str_eq(p.extends, "./base.yaml");
        ck_assert_str_eq(p.description, "the base");
        ck_assert_int_eq(p.class_, PROFILE_CLASS_BATCH);
        ck_assert_uint_eq(p.limits.memory_bytes, 1ULL << 30);
        ck_assert_uint_eq(p.limits.pids, 300);
        ck_assert_str_eq(p.workdir, "/srv/work");
        ck_assert_int_eq(p.seccomp.errno_value, EACCES);
        /* Replaced lists: the parent's, as the child does not set them. */
        ASSERT_STRV(p.system_dirs, "/usr", "/etc");
        /* Binds: parent's then child's, same dst replaced in place. */
        ck_assert_uint_eq(p.n_binds, 3);
        ck_assert_str_eq(p.binds[0].source, "/srv/c");
        ck_assert_str_eq(p.binds[0].dest, "/data");
        ck_assert_int_eq(p.binds[0].mode, BIND_RW);
        ck_assert_str_eq(p.binds[1].source, "/srv/b");
        ck_assert_str_eq(p.binds[1].dest, "/srv/b");
        ck_assert_str_eq(p.binds[2].dest, "/d");
        ck_assert(!p.binds[2].must_exist);
        ck_assert(p.binds[1].must_exist);
        /* Unions, parent's first, without duplicates. */
        ASSERT_STRV(p.hide, "/etc/a", "/etc/b", "/etc/c");
        ASSERT_STRV(p.env_allow, "TERM", "LC_*", "HOME");
        ck_assert_int_eq(p.net_mode, NET_MODE_ALLOWLIST);
        ck_assert_uint_eq(p.n_net_allow, 3);
        ck_assert_uint_eq(p.net_allow[0].addr[0], 192);
        ck_assert_str_eq(p.net_allow[1].host, "api.example.com");
        ck_assert_uint_eq(p.net_allow[2].addr[0], 198);
        ck_assert_uint_eq(p.seccomp.n_ioctl_deny, 4);
        ck_assert_uint_eq(p.seccomp.ioctl_deny[0], TIOCSTI);
        ck_assert_uint_eq(p.seccomp.ioctl_deny[1], TIOCLINUX);
        ck_assert_uint_eq(p.seccomp.ioctl_deny[2], 0x5401);
        ck_assert_uint_eq(p.seccomp.ioctl_deny[3], 0x5402);
        /* env.set: per name, the child wins. */
        ASSERT_STRV(p.env_set, "A=1", "B=3", "C=4");
        /* Secrets: by name, the child wins. */
        ck_assert_uint_eq(p.n_secrets, 3);
        ck_assert_str_eq(p.secrets[0].name, "s1");
        ck_assert_int_eq(p.secrets[0].as, SECRET_AS_ENV);
        ck_assert_str_eq(p.secrets[0].target, "S1");
        ck_assert_str_eq(p.secrets[1].name, "s2");
        ck_assert_str_eq(p.secrets[2].name, "s3");
        ck_assert_str_eq(p.secrets[2].target, "/run/secrets/s3");
        /* socket_families replaced. */
        ck_assert_uint_eq(p.seccomp.n_socket_families, 1);
        ck_assert_int_eq(p.seccomp.socket_families[0], AF_UNIX);

        /* deny = (inherited + own) - own allow: the child's allow removes
         * what the defaults deny; its deny of bpf takes back the parent's
         * allow; its errno for kcmp wins. */
        ck_assert(!has_name(p.seccomp.deny, p.seccomp.n_deny, "@mount"));
        ck_assert(!has_name(p.seccomp.deny, p.seccomp.n_deny, "userfaultfd"));
        ck_assert(has_rule(p.seccomp.deny, p.seccomp.n_deny, "bpf", 0));
        ck_assert(has_rule(p.seccomp.deny, p.seccomp.n_deny, "ptrace", 0));
        ck_assert(has_rule(p.seccomp.deny, p.seccomp.n_deny, "kcmp", ENOSYS));
        ck_assert(has_rule(p.seccomp.deny, p.seccomp.n_deny, "@debug", 0));
        ck_assert_uint_eq(p.seccomp.n_deny, 19 - 2 + 2);
        /* allow = inherited + own (bpf went: it is denied again). */
        ck_assert_uint_eq(p.seccomp.n_allow, 2);
        ck_assert(has_name(p.seccomp.allow, p.seccomp.n_allow, "@mount"));
        ck_assert(has_name(p.seccomp.allow, p.seccomp.n_allow, "userfaultfd"));
        profile_done(&p);

        /* The parent alone: its allow of bpf removed bpf from the defaults' deny. */
        ck_assert_int_eq(profile_load(tmp_path("base.yaml"), &p, &e), 0);
        ck_assert(!has_name(p.seccomp.deny, p.seccomp.n_deny, "bpf"));
        ck_assert(has_name(p.seccomp.allow, p.seccomp.n_allow, "bpf"));
        profile_done(&p);
}
END_TEST

START_TEST(test_merge_replace_and_network_off) {
        Profile p = {};
        ProfileError e = {};

        (void) write_file("base.yaml", base_yaml);
        (void) write_file("off.yaml", "version: 1\n"
                                      "name: off\n"
                                      "description: \"\"\n"
                                      "extends: ./base.yaml\n"
                                      "class: interactive\n"
                                      "filesystem:\n"
                                      "  system_dirs: []\n"
                                      "  workdir: null\n"
                                      "network:\n"
                                      "  mode: none\n");
        ck_assert_int_eq(profile_load(tmp_path("off.yaml"), &p, &e), 0);
        ck_assert_str_eq(p.description, "");
        ck_assert_int_eq(p.class_, PROFILE_CLASS_INTERACTIVE);
        ASSERT_STRV(p.system_dirs);
        ck_assert_ptr_null(p.workdir);
        /* Networking switched off: the inherited allowlist goes with it. */
        ck_assert_int_eq(p.net_mode, NET_MODE_NONE);
        ck_assert_uint_eq(p.n_net_allow, 0);
        profile_done(&p);

        /* A grandchild may add entries without repeating the mode. */
        (void) write_file("child.yaml", child_yaml);
        (void) write_file("grand.yaml", "version: 1\nname: grand\nextends: ./child.yaml\n"
                                        "network:\n  allow: [203.0.113.0/24]\n");
        ck_assert_int_eq(profile_load(tmp_path("grand.yaml"), &p, &e), 0);
        ck_assert_str_eq(p.name, "grand");
        ck_assert_uint_eq(p.n_net_allow, 4);
        ck_assert_uint_eq(p.limits.memory_bytes, 1ULL << 30);
        profile_done(&p);

        /* ... but not under a parent without an allowlist. */
        (void) write_file("bad.yaml", "version: 1\nname: bad\nextends: ./off.yaml\n"
                                      "network:\n  allow: [203.0.113.0/24]\n");
        ck_assert_int_lt(profile_load(tmp_path("bad.yaml"), &p, &e), 0);
        ck_assert_str_eq(e.message, "network.allow: only with mode: allowlist (the mode here is none)");
        ck_assert_uint_eq(e.line, 5);
        ck_assert_uint_eq(e.column, 3);
}
END_TEST

START_TEST(test_merge_builtin_parent) {
        Profile p = {};

        expect_ok("version: 1\nname: mine\nextends: python\nlimits:\n  pids: 64\n", &p);
        ck_assert_str_eq(p.name, "mine");
        ck_assert_str_eq(p.extends, "python");
        ck_assert_uint_eq(p.limits.memory_bytes, 1ULL << 30);
        ck_assert_uint_eq(p.limits.pids, 64);
        ASSERT_STRV(p.env_set, "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1");
        profile_done(&p);
}
END_TEST

/* ---- round trip ---- */

static void assert_same(const Profile *a, const Profile *b) {
        ck_assert_str_eq(a->name, b->name);
        ck_assert_str_eq(a->description, b->description);
        ck_assert_int_eq(!!a->extends, !!b->extends);
        if (a->extends)
                ck_assert_str_eq(a->extends, b->extends);
        ck_assert_int_eq(a->class_, b->class_);
        ck_assert_int_eq(a->mode, b->mode);
        ck_assert_mem_eq(&a->limits, &b->limits, sizeof a->limits);
        ck_assert_uint_eq(a->swap_bytes, b->swap_bytes);
        ck_assert_uint_eq(a->nofile, b->nofile);
        ck_assert_uint_eq(a->fsize_bytes, b->fsize_bytes);
        ck_assert_uint_eq(a->output_bytes, b->output_bytes);
        ck_assert_uint_eq(strv_length(a->system_dirs), strv_length(b->system_dirs));
        for (size_t i = 0; a->system_dirs[i]; i++)
                ck_assert_str_eq(a->system_dirs[i], b->system_dirs[i]);
        ck_assert_uint_eq(a->n_binds, b->n_binds);
        for (size_t i = 0; i < a->n_binds; i++) {
                ck_assert_str_eq(a->binds[i].source, b->binds[i].source);
                ck_assert_str_eq(a->binds[i].dest, b->binds[i].dest);
                ck_assert_int_eq(a->binds[i].mode, b->binds[i].mode);
                ck_assert_int_eq(a->binds[i].must_exist, b->binds[i].must_exist);
        }
        ck_assert_uint_eq(strv_length(a->hide), strv_length(b->hide));
        for (size_t i = 0; a->hide[i]; i++)
                ck_assert_str_eq(a->hide[i], b->hide[i]);
        ck_assert_int_eq(!!a->workdir, !!b->workdir);
        if (a->workdir)
                ck_assert_str_eq(a->workdir, b->workdir);
        ck_assert_int_eq(a->net_mode, b->net_mode);
        ck_assert_uint_eq(a->n_net_allow, b->n_net_allow);
        for (size_t i = 0; i < a->n_net_allow; i++)
                ck_assert(net_rule_equal(&a->net_allow[i], &b->net_allow[i]));
        ck_assert_uint_eq(strv_length(a->env_allow), strv_length(b->env_allow));
        for (size_t i = 0; a->env_allow[i]; i++)
                ck_assert_str_eq(a->env_allow[i], b->env_allow[i]);
        ck_assert_uint_eq(strv_length(a->env_set), strv_length(b->env_set));
        for (size_t i = 0; a->env_set[i]; i++)
                ck_assert_str_eq(a->env_set[i], b->env_set[i]);
        ck_assert_uint_eq(a->n_secrets, b->n_secrets);
        for (size_t i = 0; i < a->n_secrets; i++) {
                ck_assert_str_eq(a->secrets[i].name, b->secrets[i].name);
                ck_assert_int_eq(a->secrets[i].as, b->secrets[i].as);
                ck_assert_str_eq(a->secrets[i].target, b->secrets[i].target);
        }
        ck_assert_int_eq(a->seccomp.default_action, b->seccomp.default_action);
        ck_assert_int_eq(a->seccomp.errno_value, b->seccomp.errno_value);
        ck_assert_uint_eq(a->seccomp.n_allow, b->seccomp.n_allow);
        for (size_t i = 0; i < a->seccomp.n_allow; i++) {
                ck_assert_str_eq(a->seccomp.allow[i].name, b->seccomp.allow[i].name);
                ck_assert_int_eq(a->seccomp.allow[i].errno_value, b->seccomp.allow[i].errno_value);
        }
        ck_assert_uint_eq(a->seccomp.n_deny, b->seccomp.n_deny);
        for (size_t i = 0; i < a->seccomp.n_deny; i++) {
                ck_assert_str_eq(a->seccomp.deny[i].name, b->seccomp.deny[i].name);
                ck_assert_int_eq(a->seccomp.deny[i].errno_value, b->seccomp.deny[i].errno_value);
        }
        ck_assert_int_eq(a->seccomp.restrict_socket_families, b->seccomp.restrict_socket_families);
        ck_assert_uint_eq(a->seccomp.n_socket_families, b->seccomp.n_socket_families);
        ck_assert_mem_eq(a->seccomp.socket_families, b->seccomp.socket_families,
                         a->seccomp.n_socket_families * sizeof(int));
        ck_assert_int_eq(a->seccomp.deny_namespaces, b->seccomp.deny_namespaces);
        ck_assert_uint_eq(a->seccomp.n_ioctl_deny, b->seccomp.n_ioctl_deny);
        ck_assert_mem_eq(a->seccomp.ioctl_deny, b->seccomp.ioctl_deny, a->seccomp.n_ioctl_deny * sizeof(unsigned long));
        ck_assert_int_eq(a->observe.shape, b->observe.shape);
        ck_assert_uint_eq(strv_length(a->observe.watch), strv_length(b->observe.watch));
        for (size_t i = 0; a->observe.watch[i]; i++)
                ck_assert_str_eq(a->observe.watch[i], b->observe.watch[i]);
        ck_assert_uint_eq(a->observe.event_budget, b->observe.event_budget);
        ck_assert_str_eq(a->sha256, b->sha256);
}

/* profile_to_yaml(p) loads back (as `file`, so that relative extends
 * resolve the same) to the same profile with the same hash. */
static void assert_round_trip(const Profile *p, const char *file) {
        _cleanup_free_ char *y1 = profile_to_yaml(p), *y2 = NULL;
        char sha[65];
        Profile q = {};
        ProfileError e = {};
        int r;

        ck_assert_ptr_nonnull(y1);
        ck_assert(y1[0] != '#' && !strstr(y1, "\n#")); /* no comments */
        ck_assert_int_eq(sha256_hex(y1, strlen(y1), sha), 0);
        ck_assert_str_eq(sha, p->sha256);
        r = profile_load_string(y1, strlen(y1), file, &q, &e);
        ck_assert_msg(r == 0, "canonical form does not load: %s:%u:%u: %s\n%s", e.file, e.line, e.column, e.message,
                      y1);
        assert_same(p, &q);
        y2 = profile_to_yaml(&q);
        ck_assert_str_eq(y1, y2);
        profile_done(&q);
}

START_TEST(test_round_trip) {
        Profile p = {};
        ProfileError e = {};

        expect_ok("version: 1\n"
                  "name: everything\n"
                  "description: \"quotes \\\" and \\\\ and: colons, # hashes, \\ttabs,\\nnewlines, ünïcödé\"\n"
                  "class: batch\n"
                  "mode: audit\n"
                  "limits: { memory: unlimited, swap: 1536MiB, cpus: 1.5, pids: 4194304, wall_time: 90s,\n"
                  "          cpu_time: 1500ms, tmpfs: 4KiB, open_files: 16, file_size: 1000, output: 1T }\n"
                  "filesystem:\n"
                  "  system_dirs: [/usr, \"/opt/with space\"]\n"
                  "  binds: [{ src: /srv/data, dst: /data, mode: rw, must_exist: false }, { src: /a }]\n"
                  "  hide: [/etc/machine-id]\n"
                  "  workdir: /srv/work\n"
                  "network:\n"
                  "  mode: allowlist\n"
                  "  allow:\n"
                  "    - 10.0.0.0/8\n"
                  "    - \"::ffff:0:0/96\"\n"
                  "    - { cidr: \"2001:db8::/32\", ports: [443, \"8000-8100\"], proto: [tcp] }\n"
                  "    - { host: \"*.example.org\", proto: udp }\n"
                  "    - { host: pypi.org, ports: [443] }\n"
                  "env:\n"
                  "  allow: [TERM, \"LC_*\", \"X[12]?\"]\n"
                  "  set: { Z: \"true\", A: \"null\", M: \"\", N: \"1e3\", Q: \"a: b\", T: \"- x\", U: \"@x\", V: "
                  "\"*x\" }\n"
                  "secrets:\n"
                  "  - deploy_key\n"
                  "  - { name: openai_key, env: OPENAI_API_KEY }\n"
                  "seccomp:\n"
                  "  default: kill\n"
                  "  errno: EWOULDBLOCK\n"
                  "  allow: [\"@default\", \"@basic-io\", \"@mount\"]\n"
                  "  deny: [{ syscall: kcmp, errno: EACCES }, { syscall: \"@timer\", errno: EPERM }]\n"
                  "  socket_families: [netlink, unix]\n"
                  "  namespaces: allow\n"
                  "  ioctl_deny: [0x5401, 12345678]\n",
                  &p);
        assert_round_trip(&p, "p.yaml");
        profile_done(&p);

        /* A merged profile: the canonical form keeps extends and reloads
         * through its parent to the same result. */
        (void) write_file("base.yaml", base_yaml);
        ck_assert_int_eq(profile_load(write_file("child.yaml", child_yaml), &p, &e), 0);
        assert_round_trip(&p, tmp_path("again.yaml"));
        profile_done(&p);

        /* And every shipped profile. */
        for (size_t i = 0; i < profile_builtins_n; i++) {
                ck_assert_int_eq(profile_load(profile_builtins[i].name, &p, &e), 0);
                assert_round_trip(&p, "p.yaml");
                profile_done(&p);
        }
}
END_TEST

START_TEST(test_sha256_depends_on_content) {
        Profile a = {}, b = {}, c = {};

        expect_ok("version: 1\nname: x\nlimits: { memory: 1GiB }\n", &a);
        expect_ok("# a comment\nname: x\nversion: 1\nlimits:\n  memory: 1024MiB\n", &b);
        expect_ok("version: 1\nname: x\nlimits: { memory: 2GiB }\n", &c);
        ck_assert_str_eq(a.sha256, b.sha256); /* same resolved profile, however written */
        ck_assert_str_ne(a.sha256, c.sha256);
        profile_done(&a);
        profile_done(&b);
        profile_done(&c);
}
END_TEST

/* ---- shipped profiles ---- */

START_TEST(test_shipped_profiles_load) {
        static const char *const expected[] = { "batch-data", "default", "net-allowlist-example",
                                                "node",       "python",  "shell" };
        char **names = profile_list();

        ck_assert_uint_eq(profile_builtins_n, sizeof expected / sizeof expected[0]);
        for (size_t i = 0; i < profile_builtins_n; i++) {
                Profile p = {};
                ProfileError e = {};
                char file[128];
                int r;

                ck_assert_str_eq(profile_builtins[i].name, expected[i]);
                ck_assert(strv_contains(names, expected[i]));
                r = profile_load(expected[i], &p, &e);
                ck_assert_msg(r == 0, "%s: %s:%u:%u: %s", expected[i], e.file, e.line, e.column, e.message);
                ck_assert_str_eq(p.name, expected[i]);
                profile_done(&p);

                (void) snprintf(file, sizeof file, "profiles/%s.yaml", expected[i]);
                r = profile_load_string(profile_builtins[i].text, profile_builtins[i].len, file, &p, &e);
                ck_assert_msg(r == 0, "%s: %s:%u:%u: %s", expected[i], e.file, e.line, e.column, e.message);
                profile_done(&p);
        }
        for (size_t i = 0; names[i]; i++)
                free(names[i]);
        free(names);
}
END_TEST

START_TEST(test_shipped_profile_values) {
        Profile p = {};
        ProfileError e = {};
        char *path = NULL;

        ck_assert_int_eq(profile_load("default", &p, &e), 0);
        {
                Profile builtin = {};
                /* default.yaml spells out the built-in defaults. */
                expect_ok("version: 1\nname: default\n"
                          "description: \"No network, the strict seccomp baseline, small limits\"\n",
                          &builtin);
                ck_assert_str_eq(p.sha256, builtin.sha256);
                profile_done(&builtin);
        }
        profile_done(&p);

        ck_assert_int_eq(profile_load("python", &p, &e), 0);
        ck_assert_uint_eq(p.limits.memory_bytes, 1ULL << 30);
        ASSERT_STRV(p.env_set, "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1");
        ASSERT_STRV(p.env_allow);
        profile_done(&p);

        ck_assert_int_eq(profile_load("batch-data", &p, &e), 0);
        ck_assert_int_eq(p.class_, PROFILE_CLASS_BATCH);
        ck_assert_uint_eq(p.limits.memory_bytes, 4ULL << 30);
        ck_assert_uint_eq(p.limits.cpu_millicores, 2000);
        ck_assert_uint_eq(p.limits.pids, 512);
        ck_assert_uint_eq(p.limits.timeout_usec, 2ULL * 3600 * 1000000);
        ck_assert_uint_eq(p.limits.tmpfs_bytes, 1ULL << 30);
        ck_assert_uint_eq(p.output_bytes, 64ULL << 20);
        profile_done(&p);

        ck_assert_int_eq(profile_load("net-allowlist-example", &p, &e), 0);
        ck_assert_int_eq(p.net_mode, NET_MODE_ALLOWLIST);
        ck_assert_uint_gt(p.n_net_allow, 0);
        profile_done(&p);

        ck_assert_int_eq(profile_lookup("node", &path), 0);
        ck_assert_ptr_nonnull(path);
        free(path);
        ck_assert_int_eq(profile_lookup("no-such-profile", &path), -ENOENT);

        ck_assert_int_eq(profile_load("no-such-profile", &p, &e), -ENOENT);
        ck_assert_str_eq(e.message, "profile 'no-such-profile' not found");
        ck_assert_uint_eq(e.line, 0);
}
END_TEST

/* ---- hostile input ---- */

START_TEST(test_hostile) {
        static const char *const inputs[] = {
                "a: &a [*a]\n", /* a self-referencing alias */
                "version: 1\nname: &n p\nseccomp: &s { deny: *s }\n",
                "version: 1\nname: p\nlimits: &l { memory: *l }\n",
                "version: 1\nname: p\n? [a, b]\n: c\n", /* a complex key */
                "version: 1\nname: !!binary cA==\n",
                "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
                "version: 1\nname: p\nextends: /dev/zero\n",
                "version: 1\nname: p\nextends: /dev/stdin\n",
                "version: 1\nname: p\nextends: /\n",
                "\xef\xbb\xbfversion: 1\nname: p\nextends: /etc/passwd\n",
        };
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
                Profile p = {};
                ProfileError e = {};
                ck_assert_int_lt(load(inputs[i], &p, &e), 0);
                ck_assert(e.message[0]);
        }
}
END_TEST

/* keep_code: a boolean, off by default, inherited, in the canonical form. */
START_TEST(test_keep_code) {
        Profile p;
        char *yaml;

        expect_ok("version: 1\nname: a\n", &p);
        ck_assert(!p.keep_code);
        profile_done(&p);
        expect_ok("version: 1\nname: a\nkeep_code: true\n", &p);
        ck_assert(p.keep_code);
        yaml = profile_to_yaml(&p);
        ck_assert_ptr_nonnull(strstr(yaml, "keep_code: true"));
        free(yaml);
        profile_done(&p);
        expect_error("version: 1\nname: a\nkeep_code: maybe\n", 3, 12, "keep_code: 'maybe' is not true or false");
}
END_TEST

/* ---- observe ---- */

/* The shipped profiles' hashes. Every recorded run names its profile by
 * this hash, so a change to the canonical form must be deliberate: the
 * last was observe spelled out, when shape became on by default. */
START_TEST(test_shipped_sha256_pinned) {
        static const struct {
                const char *name, *sha256;
        } pinned[] = {
                { "batch-data", "f7e9e46de48befeec755a074170068eadb0b3e72d9c1ac5dc0dd4a2a03b96dba" },
                { "default", "ad5afaddeba7a7d2ea302e8fd75e47cb587df3c09e3e814f584615ac27d023ff" },
                { "net-allowlist-example", "e62b81e400c6bdb6d3ce749018effd12929277b94ee984fa86264a125908099d" },
                { "node", "52d944d6b04b17c9e847c72020dcb373394921d6e037919632ed810914e2c7d7" },
                { "python", "1c2b6e69f12cd73653f1057c3c49cc2b36f990361d4f3e21295767c730df43ad" },
                { "shell", "db64d5dc2d124b5f09f3e19a887ea7fe18dc01340f1247d8d27b9521a4964b16" },
        };
        for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++) {
                Profile p = {};
                ProfileError e = {};
                char *yaml;

                ck_assert_int_eq(profile_load(pinned[i].name, &p, &e), 0);
                ck_assert_msg(strcmp(p.sha256, pinned[i].sha256) == 0, "%s: %s", pinned[i].name, p.sha256);
                yaml = profile_to_yaml(&p);
                ck_assert_ptr_nonnull(yaml);
                ck_assert_ptr_nonnull(strstr(yaml, "\nobserve:\n  shape: true\n"));
                free(yaml);
                profile_done(&p);
        }
}
END_TEST

START_TEST(test_observe_defaults) {
        Profile p = {}, q = {};
        char *yaml;

        expect_ok("version: 1\nname: minimal\n", &p);
        ck_assert(p.observe.shape);
        ASSERT_STRV(p.observe.watch, "/etc", "/proc/*/environ");
        ck_assert_uint_eq(p.observe.event_budget, 100000);
        ck_assert(profile_observe_is_default(&p.observe));
        /* Spelled out even at the defaults: the hash says what ran. */
        yaml = profile_to_yaml(&p);
        ck_assert_ptr_nonnull(strstr(yaml, "\nobserve:\n  shape: true\n  watch:\n  - /etc\n  - /proc/*/environ\n"
                                           "  event_budget: 100000\n"));
        free(yaml);

        /* The defaults written out, or an empty section: the same profile, the same hash. */
        expect_ok("version: 1\nname: minimal\n"
                  "observe:\n"
                  "  shape: true\n"
                  "  watch: [/etc, \"/proc/*/environ\", /etc]\n"
                  "  event_budget: 100000\n",
                  &q);
        ck_assert_str_eq(p.sha256, q.sha256);
        profile_done(&q);
        expect_ok("version: 1\nname: minimal\nobserve:\n", &q);
        ck_assert_str_eq(p.sha256, q.sha256);
        profile_done(&q);
        profile_done(&p);
}
END_TEST

START_TEST(test_observe_values) {
        Profile p = {};
        char *yaml;

        expect_ok("version: 1\n"
                  "name: o\n"
                  "observe:\n"
                  "  shape: false\n"
                  "  watch:\n"
                  "    - /etc/shadow\n"
                  "    - \"/home/*/.ssh/id_ed25519\"\n"
                  "    - /etc/shadow\n"
                  "    - /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n" /* 64 bytes */
                  "    - \"/p*1234567890123456\"\n"                                            /* 16 after '*' */
                  "  event_budget: 10000000\n",
                  &p);
        ck_assert(!p.observe.shape);
        ASSERT_STRV(p.observe.watch, "/etc/shadow", "/home/*/.ssh/id_ed25519",
                    "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "/p*1234567890123456");
        ck_assert_uint_eq(p.observe.event_budget, 10000000);
        yaml = profile_to_yaml(&p);
        ck_assert_ptr_nonnull(strstr(yaml, "\nobserve:\n"
                                           "  shape: false\n"
                                           "  watch:\n"
                                           "  - /etc/shadow\n"
                                           "  - /home/*/.ssh/id_ed25519\n"));
        ck_assert_ptr_nonnull(strstr(yaml, "  event_budget: 10000000\n"));
        free(yaml);
        assert_round_trip(&p, "p.yaml");
        profile_done(&p);

        /* An empty list: no file events (but see the hidden paths). */
        expect_ok("version: 1\nname: o\nobserve: { watch: [], event_budget: 1 }\n", &p);
        ASSERT_STRV(p.observe.watch);
        ck_assert_uint_eq(p.observe.event_budget, 1);
        ck_assert(p.observe.shape); /* the default */
        assert_round_trip(&p, "p.yaml");
        profile_done(&p);
}
END_TEST

START_TEST(test_observe_errors) {
        expect_error("version: 1\nname: o\nobserve:\n  colour: blue\n", 4, 3, "observe: unknown key 'colour'");
        expect_error("version: 1\nname: o\nobserve: [shape]\n", 3, 1, "observe: expected a mapping, got a sequence");
        expect_error("version: 1\nname: o\nobserve:\n  shape: true\n  shape: false\n", 5, 3,
                     "observe: duplicate key 'shape'");
        expect_error("version: 1\nname: o\nobserve:\n  shape: yes\n", 4, 10, "observe.shape: 'yes' is not true or false");
        expect_error("version: 1\nname: o\nobserve:\n  shape: [true]\n", 4, 3,
                     "observe.shape: expected true or false, got a sequence");

        expect_error("version: 1\nname: o\nobserve:\n  watch: /etc\n", 4, 3,
                     "observe.watch: expected a sequence, got a scalar");
        expect_error("version: 1\nname: o\nobserve:\n  watch: [/etc, [/x]]\n", 4, 17,
                     "observe.watch[1]: expected a string, got a sequence");
        expect_error("version: 1\nname: o\nobserve:\n  watch: [/1, /2, /3, /4, /5, /6, /7, /8, /9]\n", 4, 43,
                     "observe.watch: more than 8 patterns");
        expect_error("version: 1\nname: o\nobserve:\n  watch:\n    - /etc\n    - etc/passwd\n", 6, 7,
                     "observe.watch[1]: 'etc/passwd' is not an absolute path");
        expect_error("version: 1\nname: o\nobserve:\n  watch: [\"*/environ\"]\n", 4, 11,
                     "observe.watch[0]: '*/environ' is not an absolute path");
        expect_error("version: 1\nname: o\nobserve:\n  watch: [/srv/../etc]\n", 4, 11,
                     "observe.watch[0]: '/srv/../etc' contains '..'");
        expect_error("version: 1\nname: o\nobserve:\n  watch: [\"/etc/\\0x\"]\n", 4, 11,
                     "observe.watch[0]: contains a NUL character");
        expect_error("version: 1\nname: o\nobserve:\n  watch: [\"/home/*/.ssh/*\"]\n", 4, 11,
                     "observe.watch[0]: '/home/*/.ssh/*' has more than one '*'");
        expect_error("version: 1\nname: o\nobserve:\n  watch: [\"/proc/*\"]\n", 4, 11,
                     "observe.watch[0]: '/proc/*' ends in '*' (write the prefix alone)");
        /* 65 bytes: shown cut at 64. */
        expect_error("version: 1\nname: o\nobserve:\n"
                     "  watch: [/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n",
                     4, 11,
                     "observe.watch[0]: '/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is longer "
                     "than 64 bytes");
        expect_error("version: 1\nname: o\nobserve:\n"
                     "  watch: [\"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa*/x\"]\n",
                     4, 11,
                     "observe.watch[0]: '/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' has more "
                     "than 64 bytes before the '*'");
        expect_error("version: 1\nname: o\nobserve:\n  watch: [\"/p*12345678901234567\"]\n", 4, 11,
                     "observe.watch[0]: '/p*12345678901234567' has more than 16 bytes after the '*'");

        expect_error("version: 1\nname: o\nobserve:\n  event_budget: 0\n", 4, 17,
                     "observe.event_budget: '0' is out of range (1-10000000)");
        expect_error("version: 1\nname: o\nobserve:\n  event_budget: 10000001\n", 4, 17,
                     "observe.event_budget: '10000001' is out of range (1-10000000)");
        expect_error("version: 1\nname: o\nobserve:\n  event_budget: lots\n", 4, 17,
                     "observe.event_budget: 'lots' is not a number");
        expect_error("version: 1\nname: o\nobserve:\n  event_budget: -1\n", 4, 17,
                     "observe.event_budget: '-1' is not a number");
        expect_error("version: 1\nname: o\nobserve:\n  event_budget: {}\n", 4, 3,
                     "observe.event_budget: expected a number, got a mapping");
}
END_TEST

/* Scalars override; watch replaces the parent's list. */
START_TEST(test_observe_merge) {
        Profile p = {};
        ProfileError e = {};

        (void) write_file("obase.yaml", "version: 1\nname: obase\n"
                                        "filesystem: { hide: [/etc/shadow] }\n"
                                        "observe:\n"
                                        "  shape: true\n"
                                        "  watch: [/etc, /srv]\n"
                                        "  event_budget: 500\n");
        (void) write_file("ochild.yaml", "version: 1\nname: ochild\nextends: ./obase.yaml\n"
                                         "observe: { event_budget: 600 }\n");
        ck_assert_int_eq(profile_load(tmp_path("ochild.yaml"), &p, &e), 0);
        ASSERT_STRV(p.observe.watch, "/etc", "/srv");
        ck_assert_uint_eq(p.observe.event_budget, 600);
        ck_assert(p.observe.shape);
        assert_round_trip(&p, tmp_path("again.yaml"));
        profile_done(&p);

        (void) write_file("ochild.yaml", "version: 1\nname: ochild\nextends: ./obase.yaml\n"
                                         "observe: { watch: [\"/proc/*/environ\"] }\n");
        ck_assert_int_eq(profile_load(tmp_path("ochild.yaml"), &p, &e), 0);
        ASSERT_STRV(p.observe.watch, "/proc/*/environ");
        ck_assert_uint_eq(p.observe.event_budget, 500);
        assert_round_trip(&p, tmp_path("again.yaml"));
        profile_done(&p);

        /* Back to the defaults in the child: the canonical form says so,
         * else it would load back through the parent to its watch list. */
        (void) write_file("ochild.yaml", "version: 1\nname: ochild\nextends: ./obase.yaml\n"
                                         "observe: { shape: true, watch: [/etc, \"/proc/*/environ\"], "
                                         "event_budget: 100000 }\n");
        ck_assert_int_eq(profile_load(tmp_path("ochild.yaml"), &p, &e), 0);
        ck_assert(profile_observe_is_default(&p.observe));
        {
                char *yaml = profile_to_yaml(&p);
                ck_assert_ptr_nonnull(strstr(yaml, "\nobserve:\n  shape: true\n  watch:\n  - /etc\n"));
                free(yaml);
        }
        assert_round_trip(&p, tmp_path("again.yaml"));
        profile_done(&p);

        /* A child of a parent without observe inherits the defaults and
         * keeps the form it had. */
        (void) write_file("plain.yaml", "version: 1\nname: plain\nextends: default\n");
        ck_assert_int_eq(profile_load(tmp_path("plain.yaml"), &p, &e), 0);
        ck_assert(profile_observe_is_default(&p.observe));
        assert_round_trip(&p, tmp_path("again.yaml"));
        profile_done(&p);
}
END_TEST

/* The spec: observe.watch, then the hidden paths while there is room. */
START_TEST(test_observe_spec) {
        SandboxSpec spec = {};
        Profile p = {};
        char err[256];

        expect_ok("version: 1\nname: o\n"
                  "filesystem:\n"
                  "  hide:\n"
                  "    - /etc/shadow\n"
                  "    - /etc\n" /* already watched */
                  "    - /srv/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n" /* > 64 bytes */
                  "    - /srv/*\n" /* a '*' in a path is no pattern */
                  "    - /root\n",
                  &p);
        ck_assert_int_eq(sandbox_spec_from_profile(&spec, &p, NULL, NULL, err, sizeof err), 0);
        ck_assert(spec.shape); /* the default */
        ck_assert_uint_eq(spec.shape_event_budget, 100000);
        ASSERT_STRV(spec.shape_watch, "/etc", "/proc/*/environ", "/etc/shadow", "/root");
        sandbox_spec_done(&spec);
        profile_done(&p);

        expect_ok("version: 1\nname: o\n"
                  "filesystem: { hide: [/h1, /h2, /h3] }\n"
                  "observe: { shape: false, watch: [/1, /2, /3, /4, /5, /6], event_budget: 7 }\n",
                  &p);
        spec = (SandboxSpec){};
        ck_assert_int_eq(sandbox_spec_from_profile(&spec, &p, NULL, NULL, err, sizeof err), 0);
        ck_assert(!spec.shape);
        ck_assert_uint_eq(spec.shape_event_budget, 7);
        ASSERT_STRV(spec.shape_watch, "/1", "/2", "/3", "/4", "/5", "/6", "/h1", "/h2"); /* 8 at most */
        sandbox_spec_done(&spec);
        profile_done(&p);
}
END_TEST

static Suite *profile_suite(void) {
        Suite *s = suite_create("profile");
        TCase *tc;

        tc = tcase_create("errors");
        tcase_add_test(tc, test_error_unknown_key);
        tcase_add_test(tc, test_error_wrong_type);
        tcase_add_test(tc, test_error_bad_unit);
        tcase_add_test(tc, test_error_unknown_syscall);
        tcase_add_test(tc, test_error_unknown_group);
        tcase_add_test(tc, test_error_bad_cidr);
        tcase_add_test(tc, test_error_bad_host);
        tcase_add_test(tc, test_error_duplicate_key);
        tcase_add_test(tc, test_error_version);
        tcase_add_test(tc, test_error_same_name_allow_deny);
        tcase_add_test(tc, test_error_yaml_syntax);
        tcase_add_test(tc, test_error_other);
        tcase_add_test(tc, test_error_missing_parent);
        tcase_add_test(tc, test_hostile);
        suite_add_tcase(s, tc);

        tc = tcase_create("files");
        /* Unchecked: made and removed by the runner itself, so that the
         * directory goes even when a test in its forked child fails. */
        tcase_add_unchecked_fixture(tc, tmpdir_setup, tmpdir_teardown);
        tcase_add_test(tc, test_error_extends_cycle);
        tcase_add_test(tc, test_error_in_parent);
        tcase_add_test(tc, test_error_extends_depth);
        tcase_add_test(tc, test_check_reports_all);
        tcase_add_test(tc, test_merge);
        tcase_add_test(tc, test_merge_replace_and_network_off);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_observe_merge);
        suite_add_tcase(s, tc);

        tc = tcase_create("resolved");
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_values);
        tcase_add_test(tc, test_merge_builtin_parent);
        tcase_add_test(tc, test_sha256_depends_on_content);
        tcase_add_test(tc, test_shipped_profiles_load);
        tcase_add_test(tc, test_shipped_profile_values);
        tcase_add_test(tc, test_keep_code);
        tcase_add_test(tc, test_shipped_sha256_pinned);
        tcase_add_test(tc, test_observe_defaults);
        tcase_add_test(tc, test_observe_values);
        tcase_add_test(tc, test_observe_errors);
        tcase_add_test(tc, test_observe_spec);
        suite_add_tcase(s, tc);
        return s;
}

#include "check-main.h"
CHECK_MAIN(profile_suite)
