/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/macro.h"
#include "basic/sha256.h"
#include "check-main.h"
#include "journal-internal.h"
#include "journal.h"

#define ZERO JOURNAL_HASH_ZERO

static char tmpdir[PATH_MAX];
static char jdir[PATH_MAX + 8];
static uint64_t base; /* make_journal(): seqs continue over calls within one test */

static void setup(void) {
        strcpy(tmpdir, "/tmp/test-journal-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        (void) snprintf(jdir, sizeof jdir, "%s/j", tmpdir);
        base = 0;
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw) {
        (void) ftw;
        if (type == FTW_F && S_ISREG(st->st_mode)) {
                /* test_append_flag sets FS_APPEND_FL: clear it or remove() fails */
                int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), flags = 0;
                if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) >= 0 && (flags & FS_APPEND_FL)) {
                        flags &= ~FS_APPEND_FL;
                        (void) ioctl(fd, FS_IOC_SETFLAGS, &flags);
                }
                if (fd >= 0)
                        close(fd);
        }
        return remove(p);
}

static void teardown(void) {
        (void) nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static JournalOptions test_opts(void) {
        /* set_append_flag stays false: we must be able to delete tmpdir. */
        return (JournalOptions) { .fsync = JOURNAL_FSYNC_NEVER };
}

static json_object *fields(int n) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "n", json_object_new_int(n));
        json_object_object_add(o, "msg", json_object_new_string("hello \"world\"/x"));
        return o;
}

/* n records, one segment. */
static void make_journal(int n) {
        Journal *j = NULL;
        JournalOptions o = test_opts();
        ck_assert_int_eq(journal_open(jdir, &o, &j, NULL), 0);
        for (int i = 0; i < n; i++) {
                json_object *f = fields(i);
                uint64_t seq = 0;
                ck_assert_int_eq(journal_append(j, i == 0 ? "admission" : "audit", "req-1", f, &seq), 0);
                ck_assert_uint_eq(seq, base + (uint64_t) i + 1);
                json_object_put(f);
        }
        j = journal_close(j);
        base += (uint64_t) n;
}

static char *seg_path(unsigned n) {
        static char p[PATH_MAX + 64];
        char name[JOURNAL_SEGMENT_NAME_MAX];
        journal_segment_name(n, name);
        (void) snprintf(p, sizeof p, "%s/%s", jdir, name);
        return p;
}

/* --- file surgery: lines of segment 1 --- */
static char *lines[4096];
static size_t nlines;

static void load_lines(void) {
        FILE *f = fopen(seg_path(1), "re");
        char *buf = NULL;
        size_t cap = 0;
        ck_assert_ptr_nonnull(f);
        nlines = 0;
        while (getline(&buf, &cap, f) > 0)
                lines[nlines++] = strdup(buf);
        free(buf);
        fclose(f);
}

static void store_lines(void) {
        FILE *f = fopen(seg_path(1), "we");
        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; i < nlines; i++) {
                fputs(lines[i], f);
                free(lines[i]);
        }
        fclose(f);
}

static char *script_path(void) {
        static char p[PATH_MAX];
        char src[PATH_MAX];
        const char *root = getenv("MESON_SOURCE_ROOT");
        if (root)
                (void) snprintf(p, sizeof p, "%s/contrib/journal-verify.py", root);
        else {
                /* __FILE__ is relative to the build directory, which is where meson runs tests */
                (void) snprintf(src, sizeof src, "%s", __FILE__);
                (void) snprintf(p, sizeof p, "%s/../contrib/journal-verify.py", dirname(src));
        }
        return p;
}

/* The contrib script must agree with journal_verify(): same verdict, same FILE:LINE. */
static void script_agrees(const char *path, const JournalVerdict *v) {
        char cmd[3 * PATH_MAX], out[8192] = "", expect[PATH_MAX + 32];
        FILE *p;
        int st;

        if (system("command -v python3 >/dev/null 2>&1") != 0)
                return; /* no python3: skip this part */
        ck_assert_msg(access(script_path(), R_OK) == 0, "%s: %m", script_path());
        (void) snprintf(cmd, sizeof cmd, "python3 %s %s", script_path(), path);
        p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        (void) !fgets(out, sizeof out, p);
        st = pclose(p);
        ck_assert(WIFEXITED(st));
        if (v->damage == JOURNAL_INTACT) {
                ck_assert_msg(WEXITSTATUS(st) == 0, "script says damaged: %s", out);
                return;
        }
        ck_assert_int_eq(WEXITSTATUS(st), 1);
        (void) snprintf(expect, sizeof expect, "%s:%llu: seq ", v->file, (unsigned long long) v->line);
        ck_assert_msg(strncmp(out, expect, strlen(expect)) == 0, "script: %s, journal_verify: %s %s", out, expect,
                      v->detail);
}

static void expect_damage(JournalDamage d, uint64_t line) {
        JournalVerdict v;
        ck_assert_int_eq(journal_verify(jdir, &v), 0);
        ck_assert_msg(v.damage == d, "expected %s, got %s at line %llu: %s", journal_damage_to_string(d),
                      journal_damage_to_string(v.damage), (unsigned long long) v.line, v.detail);
        ck_assert_uint_eq(v.line, line);
        ck_assert_str_eq(v.file, seg_path(1));
        script_agrees(jdir, &v);
}

static void expect_intact(void) {
        JournalVerdict v;
        ck_assert_int_eq(journal_verify(jdir, &v), 0);
        ck_assert_msg(v.damage == JOURNAL_INTACT, "%s at %s:%llu: %s", journal_damage_to_string(v.damage), v.file,
                      (unsigned long long) v.line, v.detail);
        script_agrees(jdir, &v);
}

START_TEST(test_canonical) {
        /* The hash of a known line (also computed with python3 hashlib). */
        const char *canon = "{\"v\":1,\"seq\":1,\"ts\":\"2026-11-26T19:30:01.123456Z\",\"request_id\":null,"
                            "\"type\":\"supervisor\",\"event\":\"started\",\"path\":\"/a/b\",\"prev\":\"" ZERO "\"}";
        const char *want = "456ffc972c4a43eaaad30aa2db98986c86d0ea04d1ec471dc0fda35e141314ea";
        json_object *f = json_object_new_object();
        char *line = NULL, hash[65], expect[1024];
        size_t len;
        JournalRecord rec = {};
        char err[128];

        json_object_object_add(f, "event", json_object_new_string("started"));
        json_object_object_add(f, "path", json_object_new_string("/a/b"));
        ck_assert_int_eq(journal_record_build(1, "2026-11-26T19:30:01.123456Z", NULL, "supervisor", f, ZERO, &line,
                                              &len, hash),
                         0);
        ck_assert_str_eq(hash, want);
        (void) snprintf(expect, sizeof expect, "%.*s,\"hash\":\"%s\"}\n", (int) strlen(canon) - 1, canon, want);
        ck_assert_str_eq(line, expect);
        ck_assert_uint_eq(len, strlen(expect));
        ck_assert(journal_record_hash_ok(line, len - 1, NULL));
        ck_assert_int_eq(journal_record_parse(line, len - 1, &rec, err, sizeof err), 0);
        ck_assert_uint_eq(rec.seq, 1);
        ck_assert_str_eq(rec.hash, want);
        journal_record_done(&rec);
        line[20] ^= 1;
        ck_assert(!journal_record_hash_ok(line, len - 1, NULL));
        free(line);

        /* Reserved keys are refused. */
        json_object_object_add(f, "seq", json_object_new_int(3));
        ck_assert_int_eq(journal_record_build(1, "x", NULL, "t", f, ZERO, &line, &len, hash), -EINVAL);
        json_object_put(f);
}
END_TEST

/* The line as the writer used to make it: one json-c object holding every
 * key, serialised once. journal_record_build() must give the same bytes. */
static char *line_via_json_c(uint64_t seq, const char *ts, const char *request_id, const char *type,
                             json_object *f, const char *prev) {
        json_object *o = json_object_new_object();
        char *canon, hex[65], *line = NULL;

        json_object_object_add(o, "v", json_object_new_int(1));
        json_object_object_add(o, "seq", json_object_new_int64((int64_t) seq));
        json_object_object_add(o, "ts", json_object_new_string(ts));
        json_object_object_add(o, "request_id", request_id ? json_object_new_string(request_id) : NULL);
        json_object_object_add(o, "type", json_object_new_string(type));
        if (f) {
                json_object_object_foreach(f, k, v)
                        json_object_object_add(o, k, json_object_get(v));
        }
        json_object_object_add(o, "prev", json_object_new_string(prev));
        canon = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        ck_assert_ptr_nonnull(canon);
        (void) sha256_hex(canon, strlen(canon), hex);
        canon[strlen(canon) - 1] = 0;
        ck_assert_int_ge(asprintf(&line, "%s,\"hash\":\"%s\"}\n", canon, hex), 0);
        free(canon);
        return line;
}

static void build_matches(uint64_t seq, const char *ts, const char *request_id, const char *type, json_object *f) {
        char *line = NULL, *want, hash[65];
        size_t len;

        ck_assert_int_eq(journal_record_build(seq, ts, request_id, type, f, ZERO, &line, &len, hash), 0);
        want = line_via_json_c(seq, ts, request_id, type, f, ZERO);
        ck_assert_str_eq(line, want);
        ck_assert_uint_eq(len, strlen(want));
        ck_assert(journal_record_hash_ok(line, len - 1, NULL));
        free(want);
        free(line);
}

START_TEST(test_build_matches_json_c) {
        json_object *f = json_object_new_object(), *empty = json_object_new_object(), *g;
        char s[4];

        json_object_object_add(f, "argv", json_object_new_string("/bin/true"));
        json_object_object_add(f, "policy_ms", json_object_new_double(0.0421));
        json_object_object_add(f, "nothing", NULL);
        g = json_object_new_array();
        json_object_array_add(g, json_object_new_string("a/b\"c\\\x01\x7f\xc3\xa9"));
        json_object_object_add(f, "list", g);
        build_matches(1, "2026-11-26T19:30:01.123456Z", "req-1", "admission", f);
        build_matches(INT64_MAX, "2026-11-26T19:30:01.123456Z", NULL, "exit", NULL);
        build_matches(7, "2026-11-26T19:30:01.123456Z", NULL, "exit", empty);
        /* Every byte, escaped or not, in each string the journal writes itself. */
        for (int c = 1; c < 256; c++) {
                (void) snprintf(s, sizeof s, "x%cy", c);
                build_matches(2, s, s, s, f);
        }
        json_object_put(f);
        json_object_put(empty);
}
END_TEST

static int count_cb(json_object *rec, const char *line, size_t len, void *userdata) {
        (void) rec;
        (void) line;
        (void) len;
        (*(int *) userdata)++;
        return 0;
}

START_TEST(test_roundtrip) {
        JournalVerdict v;
        struct stat st;
        int n = 0;
        char *l;

        make_journal(10);
        ck_assert_int_eq(stat(jdir, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0700);
        ck_assert_int_eq(stat(seg_path(1), &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_int_eq(journal_verify(jdir, &v), 0);
        ck_assert_int_eq(v.damage, JOURNAL_INTACT);
        ck_assert_uint_eq(v.records, 10);
        ck_assert_uint_eq(v.segments, 1);
        ck_assert_int_eq(journal_foreach(jdir, count_cb, &n), 0);
        ck_assert_int_eq(n, 10);
        load_lines();
        l = lines[0];
        ck_assert_msg(strncmp(l, "{\"v\":1,\"seq\":1,\"ts\":\"", 21) == 0, "%s", l);
        ck_assert_msg(l[21 + 10] == 'T' && l[21 + 26] == 'Z' && l[21 + 27] == '"', "ts: %s", l);
        ck_assert_msg(strstr(l, ",\"request_id\":\"req-1\",\"type\":\"admission\",\"n\":0,") != NULL, "%s", l);
        ck_assert_msg(strstr(l, "\"msg\":\"hello \\\"world\\\"/x\",\"prev\":\"" ZERO "\",\"hash\":\"") != NULL, "%s", l);
        store_lines();
        expect_intact();
        /* A single segment file verifies too. */
        ck_assert_int_eq(journal_verify(seg_path(1), &v), 0);
        ck_assert_int_eq(v.damage, JOURNAL_INTACT);

        /* Reopening continues the chain. */
        make_journal(3);
        ck_assert_int_eq(journal_verify(jdir, &v), 0);
        ck_assert_int_eq(v.damage, JOURNAL_INTACT);
        ck_assert_uint_eq(v.records, 13);
}
END_TEST

START_TEST(test_refuse_open_dir) {
        Journal *j = NULL;
        JournalOptions o = test_opts();
        ck_assert_int_eq(mkdir(jdir, 0777), 0);
        ck_assert_int_eq(chmod(jdir, 0777), 0);
        ck_assert_int_eq(journal_open(jdir, &o, &j, NULL), -EPERM);
        ck_assert_ptr_null(j);
}
END_TEST

START_TEST(test_rotation) {
        Journal *j = NULL;
        JournalOptions o = test_opts();
        JournalVerdict v;
        FILE *f;
        char buf[4096];

        o.segment_max_bytes = 1024;
        ck_assert_int_eq(journal_open(jdir, &o, &j, NULL), 0);
        for (int i = 0; i < 60; i++) {
                json_object *fl = fields(i);
                ck_assert_int_eq(journal_append(j, "audit", i % 2 ? NULL : "req-2", fl, NULL), 0);
                json_object_put(fl);
        }
        j = journal_close(j);
        ck_assert_int_eq(journal_verify(jdir, &v), 0);
        ck_assert_msg(v.damage == JOURNAL_INTACT, "%s:%llu %s", v.file, (unsigned long long) v.line, v.detail);
        ck_assert_uint_gt(v.segments, 3);
        ck_assert_uint_eq(v.records, 60 + v.segments - 1);
        f = fopen(seg_path(2), "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
        fclose(f);
        ck_assert_msg(strstr(buf, "\"type\":\"segment\",\"prev_segment\":\"journal-000001.jsonl\"") != NULL, "%s", buf);
        script_agrees(jdir, &v);

        /* A segment removed from the middle is found. */
        ck_assert_int_eq(unlink(seg_path(2)), 0);
        ck_assert_int_eq(journal_verify(jdir, &v), 0);
        ck_assert_int_eq(v.damage, JOURNAL_DELETED);
        ck_assert_str_eq(v.file, seg_path(3));
}
END_TEST

START_TEST(test_damage_edit) {
        char *p;
        make_journal(20);
        load_lines();
        p = strstr(lines[4], "hello");
        ck_assert_ptr_nonnull(p);
        p[4] = 'p';
        store_lines();
        expect_damage(JOURNAL_EDITED, 5);
}
END_TEST

START_TEST(test_damage_delete) {
        make_journal(20);
        load_lines();
        free(lines[6]);
        memmove(lines + 6, lines + 7, (nlines - 7) * sizeof *lines);
        nlines--;
        store_lines();
        expect_damage(JOURNAL_DELETED, 7);
}
END_TEST

START_TEST(test_damage_swap) {
        char *t;
        make_journal(20);
        load_lines();
        t = lines[6];
        lines[6] = lines[7];
        lines[7] = t;
        store_lines();
        expect_damage(JOURNAL_REORDERED, 7);
}
END_TEST

START_TEST(test_damage_truncate) {
        int fd;
        struct stat st;
        make_journal(20);
        ck_assert_int_eq(stat(seg_path(1), &st), 0);
        fd = open(seg_path(1), O_WRONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, st.st_size - 40), 0);
        close(fd);
        expect_damage(JOURNAL_TRUNCATED, 20);
}
END_TEST

START_TEST(test_damage_truncate_newline) {
        int fd;
        struct stat st;
        make_journal(20);
        ck_assert_int_eq(stat(seg_path(1), &st), 0);
        fd = open(seg_path(1), O_WRONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, st.st_size - 1), 0);
        close(fd);
        expect_damage(JOURNAL_TRUNCATED, 20);
}
END_TEST

START_TEST(test_damage_insert) {
        JournalRecord rec = {};
        json_object *f = json_object_new_object();
        char err[128], hash[65], *forged = NULL;
        size_t len;

        make_journal(20);
        load_lines();
        /* A well-forged copy of seq 5: right prev, own hash recomputed. */
        ck_assert_int_eq(journal_record_parse(lines[4], strlen(lines[4]) - 1, &rec, err, sizeof err), 0);
        json_object_object_add(f, "msg", json_object_new_string("forged"));
        ck_assert_int_eq(journal_record_build(5, "2026-01-01T00:00:00.000000Z", "req-1", "audit", f, rec.prev,
                                              &forged, &len, hash),
                         0);
        journal_record_done(&rec);
        json_object_put(f);
        memmove(lines + 6, lines + 5, (nlines - 5) * sizeof *lines);
        lines[5] = forged;
        nlines++;
        store_lines();
        expect_damage(JOURNAL_INSERTED, 6);
}
END_TEST

START_TEST(test_damage_garbage) {
        make_journal(20);
        load_lines();
        free(lines[9]);
        lines[9] = strdup("not json\n");
        store_lines();
        expect_damage(JOURNAL_MALFORMED, 10);
}
END_TEST

typedef struct Found {
        int recovery;
        int64_t torn_offset, torn_line, torn_length;
} Found;

static int find_recovery(json_object *rec, const char *line, size_t len, void *userdata) {
        Found *f = userdata;
        json_object *t, *x;
        (void) line;
        (void) len;
        if (json_object_object_get_ex(rec, "type", &t) && streq(json_object_get_string(t), "recovery")) {
                f->recovery++;
                json_object_object_get_ex(rec, "torn_offset", &x);
                f->torn_offset = json_object_get_int64(x);
                json_object_object_get_ex(rec, "torn_line", &x);
                f->torn_line = json_object_get_int64(x);
                json_object_object_get_ex(rec, "torn_length", &x);
                f->torn_length = json_object_get_int64(x);
        }
        return 0;
}

START_TEST(test_torn_tail_recovery) {
        static const char torn[] = "{\"v\":1,\"seq\":6,\"ts\":\"2026-";
        Journal *j = NULL;
        JournalOptions o = test_opts();
        JournalVerdict v;
        Found found = {};
        struct stat st;
        bool recovered = false;
        int fd;

        make_journal(5);
        ck_assert_int_eq(stat(seg_path(1), &st), 0);
        fd = open(seg_path(1), O_WRONLY | O_APPEND | O_CLOEXEC);
        ck_assert_int_eq(write(fd, torn, strlen(torn)), (ssize_t) strlen(torn));
        close(fd);
        expect_damage(JOURNAL_TRUNCATED, 6);

        ck_assert_int_eq(journal_open(jdir, &o, &j, &recovered), 0);
        ck_assert(recovered);
        json_object *f = fields(99);
        ck_assert_int_eq(journal_append(j, "exit", "req-1", f, NULL), 0);
        json_object_put(f);
        j = journal_close(j);

        expect_intact();
        ck_assert_int_eq(journal_verify(jdir, &v), 0);
        ck_assert_uint_eq(v.records, 7); /* 5 + recovery + exit */
        ck_assert_int_eq(journal_foreach(jdir, find_recovery, &found), 0);
        ck_assert_int_eq(found.recovery, 1);
        ck_assert_int_eq(found.torn_offset, st.st_size);
        ck_assert_int_eq(found.torn_line, 6);
        ck_assert_int_eq(found.torn_length, (int64_t) strlen(torn));

        /* Reopening a sealed journal recovers nothing more. */
        recovered = true;
        ck_assert_int_eq(journal_open(jdir, &o, &j, &recovered), 0);
        ck_assert(!recovered);
        j = journal_close(j);

        /* The torn bytes are still there, untouched, as their own line. */
        load_lines();
        ck_assert_uint_eq(nlines, 8);
        ck_assert_str_eq(lines[5], "{\"v\":1,\"seq\":6,\"ts\":\"2026-\n");
        store_lines();
}
END_TEST

START_TEST(test_long_last_record) {
        /* A last record longer than the window tail_scan() reads at once:
         * reopening and appending must still find it and chain onto it,
         * whole or torn after it. */
        static const char torn[] = "{\"v\":1,\"seq\":";
        char *big = malloc(20000);
        Journal *j = NULL;
        JournalOptions o = test_opts();
        JournalVerdict v;
        bool recovered = true;
        int fd;

        ck_assert_ptr_nonnull(big);
        memset(big, 'x', 19999);
        big[19999] = 0;
        for (int round = 0; round < 3; round++) {
                json_object *f = json_object_new_object();
                json_object_object_add(f, "big", json_object_new_string(big));
                ck_assert_int_eq(journal_open(jdir, &o, &j, &recovered), 0);
                ck_assert_int_eq(recovered, round == 2);
                ck_assert_int_eq(journal_append(j, "audit", "req-1", f, NULL), 0);
                ck_assert_int_eq(journal_append(j, "audit", "req-1", f, NULL), 0);
                j = journal_close(j);
                json_object_put(f);
                if (round == 1) {
                        fd = open(seg_path(1), O_WRONLY | O_APPEND | O_CLOEXEC);
                        ck_assert_int_ge(fd, 0);
                        ck_assert_int_eq(write(fd, torn, strlen(torn)), (ssize_t) strlen(torn));
                        close(fd);
                }
        }
        free(big);
        ck_assert_int_eq(journal_verify(jdir, &v), 0);
        ck_assert_msg(v.damage == JOURNAL_INTACT, "%s:%llu %s", v.file, (unsigned long long) v.line, v.detail);
        ck_assert_uint_eq(v.records, 7); /* 3 x 2, and the recovery record */
        script_agrees(jdir, &v);
}
END_TEST

/* The hint in journal.lock as journal.c writes it, for the directory's
 * mtime now (mtime_now) or one that is not its mtime. */
static void put_hint(unsigned seg, bool mtime_now) {
        char path[PATH_MAX + 32], buf[64];
        struct stat st;
        int fd;

        ck_assert_int_eq(stat(jdir, &st), 0);
        if (!mtime_now)
                st.st_mtim.tv_sec--;
        (void) snprintf(buf, sizeof buf, "%010u %020lld.%09ld\n", seg, (long long) st.st_mtim.tv_sec,
                        st.st_mtim.tv_nsec);
        (void) snprintf(path, sizeof path, "%s/journal.lock", jdir);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(pwrite(fd, buf, strlen(buf), 0), (ssize_t) strlen(buf));
        close(fd);
}

/* One record through a fresh open; it must land in the newest segment and
 * continue the chain. */
static void append_lands_last(uint64_t *records) {
        JournalOptions o = test_opts();
        Journal *j = NULL;
        JournalVerdict v;
        unsigned *segs = NULL;
        uint64_t seq = 0;
        char want[64], path[PATH_MAX + 32], *last = NULL;
        unsigned hint = 0;
        int dfd, n;
        FILE *f;

        o.segment_max_bytes = 1024 * 1024;
        ck_assert_int_eq(journal_open(jdir, &o, &j, NULL), 0);
        ck_assert_int_eq(journal_append(j, "hinted", NULL, NULL, &seq), 0);
        j = journal_close(j);
        ck_assert_uint_eq(seq, *records + 1);
        *records = seq;

        dfd = open(jdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(dfd, 0);
        n = journal_segments_list(dfd, &segs);
        close(dfd);
        ck_assert_int_gt(n, 0);
        f = fopen(seg_path(segs[n - 1]), "re");
        ck_assert_ptr_nonnull(f);
        for (size_t cap = 0; getline(&last, &cap, f) > 0;)
                ;
        fclose(f);
        (void) snprintf(want, sizeof want, "{\"v\":1,\"seq\":%llu,", (unsigned long long) seq);
        ck_assert_msg(strncmp(last, want, strlen(want)) == 0, "%s", last);
        free(last);

        /* ... and the hint names it for the next open. */
        (void) snprintf(path, sizeof path, "%s/journal.lock", jdir);
        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fscanf(f, "%u", &hint), 1);
        fclose(f);
        ck_assert_uint_eq(hint, segs[n - 1]);
        free(segs);

        ck_assert_int_eq(journal_verify(jdir, &v), 0);
        ck_assert_msg(v.damage == JOURNAL_INTACT, "%s:%llu %s", v.file, (unsigned long long) v.line, v.detail);
        ck_assert_uint_eq(v.records, *records);
}

START_TEST(test_segment_hint) {
        /* A hint is never taken on trust: stale, wrong or garbage, the
         * record still goes to the newest segment. */
        JournalOptions o = test_opts();
        Journal *j = NULL;
        JournalVerdict v;
        uint64_t records;
        char path[PATH_MAX + 32];
        int fd;

        o.segment_max_bytes = 1024;
        ck_assert_int_eq(journal_open(jdir, &o, &j, NULL), 0);
        for (int i = 0; i < 30; i++) {
                json_object *f = fields(i);
                ck_assert_int_eq(journal_append(j, "audit", NULL, f, NULL), 0);
                json_object_put(f);
        }
        j = journal_close(j);
        ck_assert_int_eq(journal_verify(jdir, &v), 0);
        ck_assert_uint_gt(v.segments, 3);
        records = v.records;

        append_lands_last(&records);                /* as rotation left it */
        put_hint(1, true);                          /* another writer rotated since */
        append_lands_last(&records);
        put_hint((unsigned) v.segments + 5, true);  /* the hinted segment is gone */
        append_lands_last(&records);
        put_hint(2, false);                         /* the directory changed since */
        append_lands_last(&records);
        (void) snprintf(path, sizeof path, "%s/journal.lock", jdir);
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "garbage\n", 8), 8);
        close(fd);
        append_lands_last(&records);
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);    /* as an older stockade leaves it */
        ck_assert_int_ge(fd, 0);
        close(fd);
        append_lands_last(&records);
        ck_assert_int_eq(journal_verify(jdir, &v), 0);
        script_agrees(jdir, &v);
}
END_TEST

START_TEST(test_append_flag) {
        Journal *j = NULL;
        JournalOptions o = test_opts();
        json_object *f = fields(1);
        int fd;

        o.set_append_flag = true;
        ck_assert_int_eq(journal_open(jdir, &o, &j, NULL), 0);
        ck_assert_int_eq(journal_append(j, "audit", NULL, f, NULL), 0);
        json_object_put(f);
        if (!journal_append_only(j)) { /* tmpfs, or no CAP_LINUX_IMMUTABLE */
                j = journal_close(j);
                return;
        }
        /* Appending works; overwriting does not. */
        fd = open(seg_path(1), O_WRONLY | O_CLOEXEC);
        ck_assert_int_lt(fd, 0);
        ck_assert_int_eq(errno, EPERM);
        j = journal_close(j);
        expect_intact();
}
END_TEST

#define WORKERS 8
#define PER_WORKER 500

typedef struct Tally {
        int per[WORKERS];
        bool order_ok;
        uint64_t last_seq;
        bool seq_ok;
} Tally;

static int tally_cb(json_object *rec, const char *line, size_t len, void *userdata) {
        Tally *t = userdata;
        json_object *x, *w, *n;
        (void) line;
        (void) len;
        json_object_object_get_ex(rec, "seq", &x);
        if ((uint64_t) json_object_get_int64(x) != t->last_seq + 1)
                t->seq_ok = false;
        t->last_seq = (uint64_t) json_object_get_int64(x);
        json_object_object_get_ex(rec, "type", &x);
        if (!streq(json_object_get_string(x), "test"))
                return 0;
        json_object_object_get_ex(rec, "w", &w);
        json_object_object_get_ex(rec, "n", &n);
        int wi = json_object_get_int(w);
        if (wi < 0 || wi >= WORKERS || json_object_get_int(n) != t->per[wi])
                t->order_ok = false;
        else
                t->per[wi]++;
        return 0;
}

START_TEST(test_parallel_writers) {
        JournalVerdict v;
        Tally t = { .order_ok = true, .seq_ok = true };
        pid_t pids[WORKERS];

        make_journal(1); /* create the directory before the race */
        for (int w = 0; w < WORKERS; w++) {
                pids[w] = fork();
                ck_assert_int_ge(pids[w], 0);
                if (pids[w] == 0) {
                        Journal *j = NULL;
                        JournalOptions o = test_opts();
                        o.segment_max_bytes = 128 * 1024;
                        if (journal_open(jdir, &o, &j, NULL) < 0)
                                _exit(2);
                        for (int i = 0; i < PER_WORKER; i++) {
                                json_object *f = json_object_new_object();
                                json_object_object_add(f, "w", json_object_new_int(w));
                                json_object_object_add(f, "n", json_object_new_int(i));
                                if (journal_append(j, "test", "req-par", f, NULL) < 0)
                                        _exit(3);
                                json_object_put(f);
                                /* Opens too race with rotations (the segment hint). */
                                if (i % 100 == 99) {
                                        j = journal_close(j);
                                        if (journal_open(jdir, &o, &j, NULL) < 0)
                                                _exit(2);
                                }
                        }
                        (void) journal_close(j);
                        _exit(0);
                }
        }
        for (int w = 0; w < WORKERS; w++) {
                int st;
                ck_assert_int_eq(waitpid(pids[w], &st, 0), pids[w]);
                ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "worker %d: %d", w, st);
        }
        ck_assert_int_eq(journal_verify(jdir, &v), 0);
        ck_assert_msg(v.damage == JOURNAL_INTACT, "%s:%llu %s", v.file, (unsigned long long) v.line, v.detail);
        ck_assert_int_eq(journal_foreach(jdir, tally_cb, &t), 0);
        ck_assert(t.seq_ok);
        ck_assert(t.order_ok);
        for (int w = 0; w < WORKERS; w++)
                ck_assert_int_eq(t.per[w], PER_WORKER);
        ck_assert_uint_eq(v.records, 1 + WORKERS * PER_WORKER + v.segments - 1);
        ck_assert_uint_eq(t.last_seq, v.records);
        ck_assert_uint_gt(v.segments, 1);
        script_agrees(jdir, &v);
}
END_TEST

START_TEST(test_timestamps) {
        static const struct {
                time_t sec;
                long nsec;
                const char *want;
        } t[] = {
                { 0, 0, "1970-01-01T00:00:00.000000Z" },
                { 951782400, 123456789, "2000-02-29T00:00:00.123456Z" },
                { 951868799, 0, "2000-02-29T23:59:59.000000Z" },
                { 1795718950, 999999000, "2026-11-26T18:49:10.999999Z" },
                { 4102444799, 0, "2099-12-31T23:59:59.000000Z" },
                { -1, 0, "1969-12-31T23:59:59.000000Z" },
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                struct timespec ts = { .tv_sec = t[i].sec, .tv_nsec = t[i].nsec };
                char got[JOURNAL_TS_LEN + 1];
                journal_timestamp_at(&ts, got);
                ck_assert_str_eq(got, t[i].want);
        }
}
END_TEST

static Suite *journal_suite(void) {
        Suite *s = suite_create("journal");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_canonical);
        tcase_add_test(tc, test_build_matches_json_c);
        tcase_add_test(tc, test_roundtrip);
        tcase_add_test(tc, test_refuse_open_dir);
        tcase_add_test(tc, test_rotation);
        tcase_add_test(tc, test_damage_edit);
        tcase_add_test(tc, test_damage_delete);
        tcase_add_test(tc, test_damage_swap);
        tcase_add_test(tc, test_damage_truncate);
        tcase_add_test(tc, test_damage_truncate_newline);
        tcase_add_test(tc, test_damage_insert);
        tcase_add_test(tc, test_damage_garbage);
        tcase_add_test(tc, test_torn_tail_recovery);
        tcase_add_test(tc, test_long_last_record);
        tcase_add_test(tc, test_segment_hint);
        tcase_add_test(tc, test_parallel_writers);
        tcase_add_test(tc, test_append_flag);
        tcase_add_test(tc, test_timestamps);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(journal_suite)
