/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/sha256.h"
#include "daemon-config.h"

/* ---- helpers ---- */

static char tmpdir[PATH_MAX];
static char cfg_path[PATH_MAX + 32];

static void setup(void) {
        (void) snprintf(tmpdir, sizeof tmpdir, "%s/test-daemon-config-XXXXXX", getenv("TMPDIR") ?: "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        (void) snprintf(cfg_path, sizeof cfg_path, "%s/stockaded.yaml", tmpdir);
}

static void teardown(void) {
        (void) unlink(cfg_path);
        (void) rmdir(tmpdir);
}

static void write_cfg(const char *text) {
        FILE *f = fopen(cfg_path, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
        ck_assert_int_eq(fclose(f), 0);
}

static void expect_ok(const char *text, DaemonConfig *ret) {
        DaemonConfigError e = {};
        int r;

        write_cfg(text);
        r = daemon_config_load(cfg_path, ret, &e);
        ck_assert_msg(r == 0, "load failed (%d): %s:%u:%u: %s", r, e.file, e.line, e.column, e.message);
}

/* Loading fails with exactly this problem, and leaves *ret alone. */
static void expect_error(const char *text, unsigned line, unsigned column, const char *message) {
        DaemonConfig c, untouched;
        DaemonConfigError e = {};
        int r;

        write_cfg(text);
        memset(&c, 0xa5, sizeof c);
        memcpy(&untouched, &c, sizeof c);
        r = daemon_config_load(cfg_path, &c, &e);
        ck_assert_msg(r == -EINVAL, "got %d, expected -EINVAL for: %s", r, message);
        ck_assert_msg(memcmp(&c, &untouched, sizeof c) == 0, "*ret touched on failure");
        ck_assert_str_eq(e.message, message);
        ck_assert_str_eq(e.file, cfg_path);
        ck_assert_msg(e.line == line && e.column == column, "'%s' at %u:%u, expected %u:%u", e.message, e.line,
                      e.column, line, column);
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

#define SHA_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define SHA_B "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
#define SHA_B_UPPER "60303AE22B998861BCE3B28F33EEC1BE758A213C86C93C076DBE9F558C11C752"

/* ---- a good config ---- */

static const char full_yaml[] =
        "socket: /run/test/s.sock\n"
        "socket_group: stockade\n"
        "journal: /var/tmp/journal\n"
        "journal_fsync: always\n"
        "secret_store: /etc/test/secrets\n"
        "grace: 2m\n"
        "request_timeout: 250ms\n"
        "run_uids:\n"
        "  first: 300000\n"
        "  count: 50\n"
        "tenants:\n"
        "  - name: ci\n"
        "    uids: [1001, 1002]\n"
        "    gids: [2001]\n"
        "    profiles: [default, /etc/stockade/profiles/x.yaml]\n"
        "    task_classes: [batch]\n"
        "    code_origins:\n"
        "      generated: any\n"
        "      vendor: [" SHA_A ", " SHA_B_UPPER "]\n"
        "    secrets: [token, other.key]\n"
        "    max_concurrent: 3\n"
        "    rate_per_minute: 20\n"
        "    max_queued: 5\n"
        "    queue_timeout: 90s\n"
        "    cpu_weight: 250\n"
        "    memory_max: 2G\n"
        "    pids_max: 512\n"
        "    run_uid: 300007\n"
        "  - name: dev.team_2\n"
        "    gids: [3000]\n"
        "    profiles: [shell]\n";

START_TEST(test_full) {
        DaemonConfig c = {};
        const Tenant *t;
        char hash[65];

        expect_ok(full_yaml, &c);
        ck_assert_str_eq(c.path, cfg_path);
        ck_assert_int_eq(sha256_hex(full_yaml, strlen(full_yaml), hash), 0);
        ck_assert_str_eq(c.sha256, hash);
        ck_assert_str_eq(c.socket_path, "/run/test/s.sock");
        ck_assert_str_eq(c.socket_group, "stockade");
        ck_assert_str_eq(c.journal_dir, "/var/tmp/journal");
        ck_assert_int_eq(c.journal_fsync, JOURNAL_FSYNC_ALWAYS);
        ck_assert_str_eq(c.secret_store, "/etc/test/secrets");
        ck_assert_uint_eq(c.grace_usec, 120000000ULL);
        ck_assert_uint_eq(c.request_timeout_usec, 250000ULL);
        ck_assert_uint_eq(c.run_uid_first, 300000);
        ck_assert_uint_eq(c.run_uid_count, 50);
        ck_assert_uint_eq(c.n_tenants, 2);

        t = &c.tenants[0];
        ck_assert_str_eq(t->name, "ci");
        ck_assert_uint_eq(t->n_uids, 2);
        ck_assert_uint_eq(t->uids[0], 1001);
        ck_assert_uint_eq(t->uids[1], 1002);
        ck_assert_uint_eq(t->n_gids, 1);
        ck_assert_uint_eq(t->gids[0], 2001);
        ASSERT_STRV(t->profiles, "default", "/etc/stockade/profiles/x.yaml");
        ASSERT_STRV(t->task_classes, "batch");
        ck_assert_uint_eq(t->n_origins, 2);
        ck_assert_str_eq(t->origins[0].label, "generated");
        ck_assert_ptr_null(t->origins[0].sha256);
        ck_assert_str_eq(t->origins[1].label, "vendor");
        ASSERT_STRV(t->origins[1].sha256, SHA_A, SHA_B); /* lowercased */
        ASSERT_STRV(t->secrets, "token", "other.key");
        ck_assert_uint_eq(t->max_concurrent, 3);
        ck_assert_uint_eq(t->rate_per_minute, 20);
        ck_assert_uint_eq(t->max_queued, 5);
        ck_assert_uint_eq(t->queue_timeout_usec, 90000000ULL);
        ck_assert_uint_eq(t->cpu_weight, 250);
        ck_assert_uint_eq(t->memory_max, 2ULL << 30);
        ck_assert_uint_eq(t->pids_max, 512);
        ck_assert_uint_eq(t->run_uid, 300007);
        ck_assert_uint_eq(t->run_gid, 300007);

        /* The second takes first + its index. */
        t = &c.tenants[1];
        ck_assert_str_eq(t->name, "dev.team_2");
        ck_assert_uint_eq(t->n_uids, 0);
        ck_assert_uint_eq(t->run_uid, 300001);
        ck_assert_uint_eq(t->run_gid, 300001);

        daemon_config_done(&c);
        ck_assert_ptr_null(c.tenants);
        daemon_config_done(&c); /* twice is fine */
}
END_TEST

START_TEST(test_defaults) {
        DaemonConfig c = {};
        const Tenant *t;

        expect_ok("tenants:\n"
                  "  - name: a\n"
                  "    uids: [1000]\n"
                  "    profiles: [default]\n",
                  &c);
        ck_assert_str_eq(c.socket_path, DAEMON_SOCKET_DEFAULT);
        ck_assert_str_eq(c.socket_path, "/run/stockade/stockade.sock");
        ck_assert_ptr_null(c.socket_group);
        ck_assert_str_eq(c.journal_dir, JOURNAL_DIR_DEFAULT);
        ck_assert_int_eq(c.journal_fsync, JOURNAL_FSYNC_BATCH);
        ck_assert_ptr_null(c.secret_store);
        ck_assert_uint_eq(c.grace_usec, 10000000ULL);
        ck_assert_uint_eq(c.request_timeout_usec, 5000000ULL);
        ck_assert_uint_eq(c.run_uid_first, 200000);
        ck_assert_uint_eq(c.run_uid_count, 1000);
        ck_assert_uint_eq(c.n_tenants, 1);
        t = &c.tenants[0];
        ck_assert_ptr_null(t->task_classes);
        ck_assert_uint_eq(t->n_origins, 0);
        ck_assert_ptr_null(t->origins);
        ck_assert_ptr_null(t->secrets);
        ck_assert_uint_eq(t->max_concurrent, 8);
        ck_assert_uint_eq(t->rate_per_minute, 0);
        ck_assert_uint_eq(t->max_queued, 0);
        ck_assert_uint_eq(t->queue_timeout_usec, 30000000ULL);
        ck_assert_uint_eq(t->cpu_weight, 100);
        ck_assert_uint_eq(t->memory_max, UINT64_MAX);
        ck_assert_uint_eq(t->pids_max, 0);
        ck_assert_uint_eq(t->run_uid, 200000);
        ck_assert_uint_eq(t->run_gid, 200000);
        daemon_config_done(&c);

        /* An empty file, or only comments: all defaults, nobody served. */
        expect_ok("", &c);
        ck_assert_uint_eq(c.n_tenants, 0);
        ck_assert_str_eq(c.socket_path, DAEMON_SOCKET_DEFAULT);
        daemon_config_done(&c);
        expect_ok("# nothing yet\n", &c);
        ck_assert_uint_eq(c.n_tenants, 0);
        daemon_config_done(&c);

        /* memory_max: max, and the smaller units. */
        expect_ok("tenants:\n"
                  "  - {name: a, uids: [1], profiles: [p], memory_max: max, queue_timeout: 0}\n"
                  "  - {name: b, uids: [2], profiles: [p], memory_max: 512K}\n",
                  &c);
        ck_assert_uint_eq(c.tenants[0].memory_max, UINT64_MAX);
        ck_assert_uint_eq(c.tenants[0].queue_timeout_usec, 0);
        ck_assert_uint_eq(c.tenants[1].memory_max, 512ULL << 10);
        daemon_config_done(&c);
}
END_TEST

START_TEST(test_run_uid_defaults) {
        DaemonConfig c = {};

        /* Defaults are first + index, skipping uids taken explicitly (also
         * by a later tenant) and those earlier defaults got. */
        expect_ok("run_uids: {first: 5000, count: 10}\n"
                  "tenants:\n"
                  "  - {name: a, uids: [1], profiles: [p]}\n"
                  "  - {name: b, uids: [2], profiles: [p], run_uid: 5000}\n"
                  "  - {name: c, uids: [3], profiles: [p]}\n"
                  "  - {name: d, uids: [4], profiles: [p], run_uid: 5002}\n"
                  "  - {name: e, uids: [5], profiles: [p]}\n",
                  &c);
        ck_assert_uint_eq(c.tenants[0].run_uid, 5001); /* 5000 is b's */
        ck_assert_uint_eq(c.tenants[1].run_uid, 5000);
        ck_assert_uint_eq(c.tenants[2].run_uid, 5003); /* 5002 is d's */
        ck_assert_uint_eq(c.tenants[3].run_uid, 5002);
        ck_assert_uint_eq(c.tenants[4].run_uid, 5004);
        for (size_t i = 0; i < c.n_tenants; i++)
                ck_assert_uint_eq(c.tenants[i].run_gid, c.tenants[i].run_uid);
        daemon_config_done(&c);

        /* run_uids may come after the tenants; the range's last uid. */
        expect_ok("tenants:\n"
                  "  - {name: a, uids: [1], profiles: [p], run_uid: 2147483647}\n"
                  "run_uids: {first: 2147483646, count: 2}\n",
                  &c);
        ck_assert_uint_eq(c.tenants[0].run_uid, 2147483647U);
        daemon_config_done(&c);

        /* The range is too small for every tenant. */
        expect_error("run_uids: {first: 5000, count: 1}\n"
                     "tenants:\n"
                     "  - {name: a, uids: [1], profiles: [p]}\n"
                     "  - {name: b, uids: [2], profiles: [p]}\n",
                     4, 5, "tenant 'b': no free uid left in run_uids (5000..5000)");
}
END_TEST

START_TEST(test_lookup) {
        DaemonConfig c = {};
        const gid_t groups[] = { 7, 3000 };
        const gid_t other[] = { 7, 8 };

        expect_ok("tenants:\n"
                  "  - {name: bygid, gids: [1001], profiles: [p]}\n"
                  "  - {name: byuid, uids: [1001], profiles: [p]}\n"
                  "  - {name: sup, gids: [3000], profiles: [p]}\n",
                  &c);
        /* A uid match wins over an earlier tenant's gid match. */
        ck_assert_str_eq(daemon_config_tenant(&c, 1001, 1001, NULL, 0)->name, "byuid");
        ck_assert_str_eq(daemon_config_tenant(&c, 5, 1001, NULL, 0)->name, "bygid");
        ck_assert_str_eq(daemon_config_tenant(&c, 5, 6, groups, 2)->name, "sup");
        ck_assert_ptr_null(daemon_config_tenant(&c, 5, 6, other, 2));
        ck_assert_ptr_null(daemon_config_tenant(&c, 5, 6, NULL, 0));
        ck_assert_ptr_eq(daemon_config_tenant_by_name(&c, "sup"), &c.tenants[2]);
        ck_assert_ptr_null(daemon_config_tenant_by_name(&c, "nobody"));
        ck_assert_ptr_null(daemon_config_tenant_by_name(&c, NULL));
        daemon_config_done(&c);
}
END_TEST

/* ---- bad configs ---- */

#define T1 "tenants:\n  - name: a\n    uids: [1000]\n    profiles: [default]\n"

START_TEST(test_unknown_key) {
        expect_error("socket: /run/x.sock\nsockets: /run/y.sock\n", 2, 1, "unknown key 'sockets'");
        expect_error(T1 "    max_concurrency: 4\n", 5, 5, "tenants[0]: unknown key 'max_concurrency'");
        expect_error("run_uids:\n  first: 300000\n  last: 300100\n", 3, 3, "run_uids: unknown key 'last'");
        expect_error("[1, 2]\n", 1, 1, "expected a mapping at the top, got a sequence");
}
END_TEST

START_TEST(test_wrong_type) {
        expect_error("grace: [1]\n", 1, 1, "grace: expected a duration, got a sequence");
        expect_error("socket:\n", 1, 1, "socket: expected an absolute path, got null");
        expect_error("tenants: all\n", 1, 1, "tenants: expected a sequence, got a scalar");
        expect_error("tenants:\n  - a\n", 2, 5, "tenants[0]: expected a mapping, got a scalar");
        expect_error(T1 "    uids: 1000\n", 5, 5, "tenants[0]: duplicate key 'uids' (first at 3:5)");
        expect_error("tenants:\n  - name: a\n    uids: 1000\n", 3, 5, "tenants[0].uids: expected a sequence, got a scalar");
        expect_error("tenants:\n  - name: a\n    uids: [x]\n", 3, 12, "tenants[0].uids[0]: expected an integer, got 'x'");
        expect_error("tenants:\n  - name: a\n    uids: [[1]]\n", 3, 12,
                     "tenants[0].uids[0]: expected an integer, got a sequence");
        expect_error(T1 "    max_concurrent: {a: 1}\n", 5, 5, "tenants[0].max_concurrent: expected an integer, got a mapping");
        expect_error(T1 "    code_origins: [any]\n", 5, 5,
                     "tenants[0].code_origins: expected a mapping of origin labels, got a sequence");
        expect_error(T1 "    code_origins: {user: {x: 1}}\n", 5, 20,
                     "tenants[0].code_origins.user: expected 'any' or a list of SHA-256, got a mapping");
        expect_error(T1 "    code_origins: {user: all}\n", 5, 26,
                     "tenants[0].code_origins.user: expected 'any' or a list of SHA-256, got 'all'");
        expect_error("run_uids: 200000\n", 1, 1, "run_uids: expected a mapping (first, count), got a scalar");
        expect_error("journal_fsync: sometimes\n", 1, 16, "journal_fsync: expected always, batch or never, got 'sometimes'");
        expect_error("journal: var/journal\n", 1, 10, "journal: expected an absolute path, got 'var/journal'");
        expect_error("socket_group: a:b\n", 1, 15, "socket_group: expected a group name, got 'a:b'");
}
END_TEST

START_TEST(test_bad_units) {
        expect_error("grace: 10 s\n", 1, 8, "grace: expected a duration (e.g. 250ms, 5s, 2m, 1h), got '10 s'");
        expect_error("request_timeout: 1d\n", 1, 18,
                     "request_timeout: expected a duration (e.g. 250ms, 5s, 2m, 1h), got '1d'");
        expect_error("request_timeout: 0\n", 1, 18, "request_timeout: must be above 0");
        expect_error(T1 "    queue_timeout: soon\n", 5, 20,
                     "tenants[0].queue_timeout: expected a duration (e.g. 250ms, 5s, 2m, 1h), got 'soon'");
        expect_error(T1 "    memory_max: 2GB\n", 5, 17,
                     "tenants[0].memory_max: expected a size (e.g. 512M, 2G) or 'max', got '2GB'");
        expect_error(T1 "    memory_max: 0\n", 5, 17, "tenants[0].memory_max: must be above 0");
        expect_error(T1 "    max_concurrent: 0\n", 5, 21, "tenants[0].max_concurrent: 0 is out of range (1..4096)");
        expect_error(T1 "    max_concurrent: 4097\n", 5, 21, "tenants[0].max_concurrent: 4097 is out of range (1..4096)");
        expect_error(T1 "    cpu_weight: 0\n", 5, 17, "tenants[0].cpu_weight: 0 is out of range (1..10000)");
        expect_error(T1 "    cpu_weight: 10001\n", 5, 17, "tenants[0].cpu_weight: 10001 is out of range (1..10000)");
        expect_error(T1 "    rate_per_minute: -1\n", 5, 22, "tenants[0].rate_per_minute: expected an integer, got '-1'");
        expect_error(T1 "    pids_max: 99999999999999999999\n", 5, 15,
                     "tenants[0].pids_max: 99999999999999999999 is out of range (0..4194304)");
        expect_error("tenants:\n  - name: a\n    uids: [4294967295]\n", 3, 12,
                     "tenants[0].uids[0]: 4294967295 is out of range (0..4294967294)");
}
END_TEST

START_TEST(test_duplicates) {
        expect_error("grace: 1s\ngrace: 2s\n", 2, 1, "duplicate key 'grace' (first at 1:1)");
        expect_error("tenants:\n"
                     "  - {name: a, uids: [1], profiles: [p]}\n"
                     "  - {name: b, uids: [2], profiles: [p]}\n"
                     "  - {name: a, uids: [3], profiles: [p]}\n",
                     4, 12, "tenants[2].name: tenant name 'a' is used twice (first at 2:12)");
        expect_error("tenants:\n"
                     "  - {name: a, uids: [1, 1000], profiles: [p]}\n"
                     "  - {name: b, uids: [2, 1000], profiles: [p]}\n",
                     3, 25, "tenants[1].uids[1]: uid 1000 is listed by tenants 'a' and 'b'");
        expect_error("tenants:\n"
                     "  - {name: a, gids: [50], profiles: [p]}\n"
                     "  - {name: b, uids: [50], gids: [51, 50], profiles: [p]}\n",
                     3, 38, "tenants[1].gids[1]: gid 50 is listed by tenants 'a' and 'b'");
        expect_error("tenants:\n  - {name: a, uids: [1, 2, 1], profiles: [p]}\n", 2, 28,
                     "tenants[0].uids[2]: uid 1 is listed twice");
        expect_error("tenants:\n  - {name: a, uids: [1], profiles: [p, q, p]}\n", 2, 43,
                     "tenants[0].profiles[2]: 'p' is listed twice");
        expect_error(T1 "    code_origins:\n      vendor: [" SHA_A ", " SHA_A "]\n", 6, 82,
                     "tenants[0].code_origins.vendor[1]: '" SHA_A "' is listed twice");
        expect_error(T1 "    code_origins: {a: any, a: any}\n", 5, 28,
                     "tenants[0].code_origins: duplicate key 'a' (first at 5:20)");
}
END_TEST

START_TEST(test_run_uids_range) {
        expect_error("run_uids: {first: 999}\n", 1, 19, "run_uids.first: 999 is out of range (1000..2147483647)");
        expect_error("run_uids: {count: 0}\n", 1, 19, "run_uids.count: 0 is out of range (1..2147483648)");
        expect_error("run_uids: {first: 2147483000, count: 1000}\n", 1, 38,
                     "run_uids.count: the range 2147483000..2147483999 reaches past 2^31");
        expect_error("run_uids: {first: 5000, count: 10}\n"
                     "tenants:\n"
                     "  - {name: a, uids: [1], profiles: [p], run_uid: 5010}\n",
                     3, 50, "tenants[0].run_uid: run_uid 5010 is outside run_uids (5000..5009)");
        expect_error("tenants:\n"
                     "  - {name: a, uids: [1], profiles: [p], run_uid: 1000}\n",
                     2, 50, "tenants[0].run_uid: run_uid 1000 is outside run_uids (200000..200999)");
        expect_error("tenants:\n"
                     "  - {name: a, uids: [1], profiles: [p], run_uid: 200005}\n"
                     "  - {name: b, uids: [2], profiles: [p], run_uid: 200005}\n",
                     3, 50, "tenants[1].run_uid: run_uid 200005 is also tenant 'a''s");
}
END_TEST

START_TEST(test_tenant_fields) {
        expect_error("tenants:\n  - name: a\n    uids: [1]\n    profiles: []\n", 4, 5,
                     "tenants[0].profiles: empty: a tenant needs at least one profile");
        expect_error("tenants:\n  - name: a\n    uids: [1]\n", 2, 5, "tenants[0]: tenant 'a' lists no profiles");
        expect_error("tenants:\n  - uids: [1]\n    profiles: [p]\n", 2, 5, "tenants[0]: missing name");
        expect_error("tenants:\n  - name: a\n    uids: []\n    profiles: [p]\n", 2, 5,
                     "tenants[0]: tenant 'a' lists no uids or gids");
        expect_error("tenants:\n  - name: 'a b'\n", 2, 11,
                     "tenants[0].name: expected a tenant name ([A-Za-z0-9._-]{1,64}), got 'a b'");
        expect_error("tenants:\n  - name: a\n    profiles: [../etc]\n", 3, 16,
                     "tenants[0].profiles[0]: expected a profile name ([A-Za-z0-9._-]{1,64}) or an absolute path, got '../etc'");
        expect_error(T1 "    task_classes: [batch, realtime]\n", 5, 27,
                     "tenants[0].task_classes[1]: expected interactive or batch, got 'realtime'");
        expect_error(T1 "    task_classes: []\n", 5, 5, "tenants[0].task_classes: empty: omit task_classes to allow both");
        expect_error(T1 "    secrets: [a/b]\n", 5, 15,
                     "tenants[0].secrets[0]: expected a secret name ([A-Za-z0-9._-]{1,64}), got 'a/b'");
        expect_error(T1 "    code_origins: {}\n", 5, 5, "tenants[0].code_origins: empty: omit code_origins to allow every origin");
        expect_error(T1 "    code_origins: {vendor: []}\n", 5, 20,
                     "tenants[0].code_origins.vendor: empty: write 'any' to allow any code, or list SHA-256");
}
END_TEST

START_TEST(test_bad_sha256) {
        /* 63 digits, then one that is not hex. */
        expect_error(T1 "    code_origins:\n      vendor:\n        - " SHA_A "\n"
                        "        - 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0\n",
                     8, 11,
                     "tenants[0].code_origins.vendor[1]: expected a SHA-256 (64 hex digits), got "
                     "'9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0'");
        expect_error(T1 "    code_origins:\n      vendor: [9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g]\n",
                     6, 16,
                     "tenants[0].code_origins.vendor[0]: expected a SHA-256 (64 hex digits), got "
                     "'9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g'");
        expect_error(T1 "    code_origins:\n      'bad label': any\n", 6, 7,
                     "tenants[0].code_origins: expected an origin label ([A-Za-z0-9._-]{1,64}), got 'bad label'");
}
END_TEST

START_TEST(test_syntax) {
        expect_error("grace: [1s\n", 2, 1, "syntax error: did not find expected ',' or ']'");
        expect_error("grace: 1s\n---\ngrace: 2s\n", 2, 1, "the configuration is one YAML document; found a second one");
        /* A control character comes with a byte offset, turned into a place. */
        expect_error("grace: 1s\nsocket: /a\x01\n", 2, 11, "syntax error: control characters are not allowed");
}
END_TEST

START_TEST(test_first_problem) {
        /* Two problems: the one earlier in the file is reported. */
        expect_error("grace: forever\n"
                     "tenants:\n"
                     "  - {name: a, uids: [1], profiles: []}\n",
                     1, 8, "grace: expected a duration (e.g. 250ms, 5s, 2m, 1h), got 'forever'");
        expect_error("tenants:\n"
                     "  - {name: a, uids: [1], profiles: [p], unknown: 1}\n"
                     "  - {name: a, uids: [1], profiles: [p]}\n",
                     2, 41, "tenants[0]: unknown key 'unknown'");
}
END_TEST

START_TEST(test_unreadable) {
        DaemonConfig c, untouched;
        DaemonConfigError e = {};
        char path[PATH_MAX + 32];

        (void) snprintf(path, sizeof path, "%s/missing.yaml", tmpdir);
        memset(&c, 0x5a, sizeof c);
        memcpy(&untouched, &c, sizeof c);
        ck_assert_int_eq(daemon_config_load(path, &c, &e), -ENOENT);
        ck_assert(memcmp(&c, &untouched, sizeof c) == 0);
        ck_assert_str_eq(e.file, path);
        ck_assert_uint_eq(e.line, 0);
        ck_assert_uint_eq(e.column, 0);
        ck_assert_str_eq(e.message, "cannot read: No such file or directory");
        /* No error object: still refused, nothing written. */
        ck_assert_int_eq(daemon_config_load(path, &c, NULL), -ENOENT);
        write_cfg("grace: x\n");
        ck_assert_int_eq(daemon_config_load(cfg_path, &c, NULL), -EINVAL);
        ck_assert(memcmp(&c, &untouched, sizeof c) == 0);
}
END_TEST

/* contrib/stockaded.yaml, found from this file's path (absolute, or
 * relative to the build directory, which is where meson runs ninja). */
static int contrib_path(char *buf, size_t size) {
        static const char rel[] = "/../contrib/stockaded.yaml";
        char src[PATH_MAX], exe[PATH_MAX];
        ssize_t n;

        (void) snprintf(src, sizeof src, "%s", __FILE__);
        (void) snprintf(buf, size, "%s%s", dirname(src), rel);
        if (access(buf, R_OK) == 0)
                return 0;
        /* The test binary is <build>/tests/test-daemon-config. */
        n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n < 0)
                return -errno;
        exe[n] = 0;
        (void) snprintf(src, sizeof src, "%s", __FILE__);
        (void) snprintf(buf, size, "%s/../%s%s", dirname(exe), dirname(src), rel);
        return access(buf, R_OK) == 0 ? 0 : -ENOENT;
}

START_TEST(test_contrib_example) {
        DaemonConfig c = {};
        DaemonConfigError e = {};
        char path[PATH_MAX * 2];
        const Tenant *ci, *dev;

        ck_assert_int_eq(contrib_path(path, sizeof path), 0);
        ck_assert_msg(daemon_config_load(path, &c, &e) == 0, "%s:%u:%u: %s", e.file, e.line, e.column, e.message);
        ck_assert_str_eq(c.socket_group, "stockade");
        ck_assert_uint_eq(c.n_tenants, 2);
        ci = daemon_config_tenant_by_name(&c, "ci");
        dev = daemon_config_tenant_by_name(&c, "dev");
        ck_assert_ptr_nonnull(ci);
        ck_assert_ptr_nonnull(dev);
        ck_assert_ptr_eq(daemon_config_tenant(&c, 1001, 1001, NULL, 0), ci);
        ck_assert_ptr_eq(daemon_config_tenant(&c, 4242, 1100, NULL, 0), dev);
        ck_assert_uint_eq(ci->run_uid, 200010);
        ck_assert_uint_eq(dev->run_uid, 200001);
        ck_assert_uint_eq(ci->n_origins, 2);
        daemon_config_done(&c);
}
END_TEST

static Suite *daemon_config_suite(void) {
        Suite *s = suite_create("daemon-config");
        TCase *tc = tcase_create("load");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_full);
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_run_uid_defaults);
        tcase_add_test(tc, test_lookup);
        tcase_add_test(tc, test_unknown_key);
        tcase_add_test(tc, test_wrong_type);
        tcase_add_test(tc, test_bad_units);
        tcase_add_test(tc, test_duplicates);
        tcase_add_test(tc, test_run_uids_range);
        tcase_add_test(tc, test_tenant_fields);
        tcase_add_test(tc, test_bad_sha256);
        tcase_add_test(tc, test_syntax);
        tcase_add_test(tc, test_first_problem);
        tcase_add_test(tc, test_unreadable);
        tcase_add_test(tc, test_contrib_example);
        suite_add_tcase(s, tc);
        return s;
}

#include "check-main.h"
CHECK_MAIN(daemon_config_suite)
