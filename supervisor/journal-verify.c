/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading and verifying a journal (stockade-journal(5), "VERIFICATION"). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/macro.h"
#include "basic/sha256.h"
#include "journal-internal.h"
#include "journal.h"

static const char *const damage_names[_JOURNAL_DAMAGE_MAX] = {
        [JOURNAL_INTACT] = "intact",       [JOURNAL_EDITED] = "edited",
        [JOURNAL_DELETED] = "deleted",     [JOURNAL_REORDERED] = "reordered",
        [JOURNAL_TRUNCATED] = "truncated", [JOURNAL_INSERTED] = "inserted",
        [JOURNAL_MALFORMED] = "malformed",
};

const char *journal_damage_to_string(JournalDamage d) {
        if ((int) d < 0 || d >= _JOURNAL_DAMAGE_MAX)
                return NULL;
        return damage_names[d];
}

/* The files to walk: every segment of a directory in order, or one file. */
typedef struct Segments {
        char **paths;
        unsigned *numbers; /* 0 when the name is not a segment name */
        size_t n;
        bool dir;
} Segments;

static void segments_done(Segments *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->paths[i]);
        free(s->paths);
        free(s->numbers);
        *s = (Segments) {};
}

static int segments_load(const char *path, Segments *ret) {
        _cleanup_(segments_done) Segments s = {};
        _cleanup_free_ unsigned *list = NULL;
        _cleanup_close_ int dfd = -EBADF;
        struct stat st;
        int n;

        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode)) {
                _cleanup_free_ char *copy = strdup(path);
                unsigned k = 0;
                s.paths = calloc(1, sizeof *s.paths);
                s.numbers = calloc(1, sizeof *s.numbers);
                if (!copy || !s.paths || !s.numbers || !(s.paths[0] = strdup(path)))
                        return -ENOMEM;
                (void) journal_segment_parse_name(basename(copy), &k);
                s.numbers[0] = k;
                s.n = 1;
                *ret = s;
                s = (Segments) {};
                return 0;
        }
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        n = journal_segments_list(dfd, &list);
        if (n < 0)
                return n;
        s.dir = true;
        s.paths = calloc((size_t) n + 1, sizeof *s.paths);
        if (!s.paths)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                char name[JOURNAL_SEGMENT_NAME_MAX];
                journal_segment_name(list[i], name);
                if (asprintf(&s.paths[i], "%s/%s", path, name) < 0)
                        return -ENOMEM;
                s.n++;
        }
        s.numbers = TAKE_PTR(list);
        *ret = s;
        s = (Segments) {};
        return 0;
}

typedef struct Verifier {
        JournalVerdict *v;
        bool have_prev;
        uint64_t last_seq;
        char last_hash[65], last_prev[65];
        /* a run of lines that are not records, waiting for its recovery record */
        bool torn;
        uint64_t torn_line, torn_offset, torn_length;
        char torn_error[128];
        Sha256 torn_sha;
        /* a seq ahead of the expected one: deleted, unless the missing one follows (reordered) */
        bool gap;
        uint64_t gap_line, gap_seq, gap_expected;
        char gap_file[4096];
} Verifier;

_printf_(6, 7) static int damage(Verifier *vf, JournalDamage d, const char *file, uint64_t line, uint64_t seq,
                                 const char *fmt, ...) {
        va_list ap;
        vf->v->damage = d;
        (void) snprintf(vf->v->file, sizeof vf->v->file, "%s", file);
        vf->v->line = line;
        vf->v->seq = seq;
        va_start(ap, fmt);
        (void) vsnprintf(vf->v->detail, sizeof vf->v->detail, fmt, ap);
        va_end(ap);
        return 1;
}

static bool field_is(json_object *o, const char *k, const char *s) {
        json_object *x;
        return json_object_object_get_ex(o, k, &x) && json_object_is_type(x, json_type_string) &&
               streq(json_object_get_string(x), s);
}

static bool field_is_int(json_object *o, const char *k, uint64_t n) {
        json_object *x;
        return json_object_object_get_ex(o, k, &x) && json_object_is_type(x, json_type_int) &&
               json_object_get_int64(x) >= 0 && (uint64_t) json_object_get_int64(x) == n;
}

/* One valid-looking record. Returns 1 on damage (verdict set), 0 to go on. */
static int check_record(Verifier *vf, const Segments *segs, size_t idx, bool first_in_segment,
                        const JournalRecord *rec, const char *line, size_t len, bool has_nl, uint64_t lineno) {
        const char *file = segs->paths[idx];
        _cleanup_free_ char *copy = strdup(file);
        const char *name = copy ? basename(copy) : file;
        uint64_t e = vf->last_seq + 1;

        if (vf->torn) {
                char hex[65];
                sha256_final_hex(&vf->torn_sha, hex);
                if (!streq(rec->type, JOURNAL_TYPE_RECOVERY) ||
                    !field_is(rec->obj, JOURNAL_FIELD_TORN_SEGMENT, name) ||
                    !field_is_int(rec->obj, JOURNAL_FIELD_TORN_OFFSET, vf->torn_offset) ||
                    !field_is_int(rec->obj, JOURNAL_FIELD_TORN_LENGTH, vf->torn_length) ||
                    !field_is(rec->obj, JOURNAL_FIELD_TORN_SHA256, hex))
                        return damage(vf, JOURNAL_MALFORMED, file, vf->torn_line, e, "%s", vf->torn_error);
                vf->torn = false;
        }
        if (!journal_record_hash_ok(line, len, NULL))
                return damage(vf, JOURNAL_EDITED, file, lineno, rec->seq, "hash does not match the record's bytes");
        if (!has_nl)
                return damage(vf, JOURNAL_TRUNCATED, file, lineno, rec->seq, "last line has no final newline");
        if (vf->gap) {
                if (rec->seq == vf->gap_expected)
                        return damage(vf, JOURNAL_REORDERED, vf->gap_file, vf->gap_line, vf->gap_seq,
                                      "seq %llu comes before seq %llu", (unsigned long long) vf->gap_seq,
                                      (unsigned long long) vf->gap_expected);
                return damage(vf, JOURNAL_DELETED, vf->gap_file, vf->gap_line, vf->gap_seq,
                              "seq %llu..%llu missing, the chain breaks here",
                              (unsigned long long) vf->gap_expected, (unsigned long long) vf->gap_seq - 1);
        }
        if (!vf->have_prev) {
                bool origin = !segs->dir || segs->numbers[idx] == 1;
                if (segs->dir && origin && rec->seq != 1)
                        return damage(vf, JOURNAL_DELETED, file, lineno, rec->seq,
                                      "the journal starts at seq %llu, not 1", (unsigned long long) rec->seq);
                if (segs->dir && origin && !streq(rec->prev, JOURNAL_HASH_ZERO))
                        return damage(vf, JOURNAL_INSERTED, file, lineno, rec->seq,
                                      "the first record's prev is not the zero hash");
        } else if (rec->seq == e && !streq(rec->prev, vf->last_hash)) {
                return damage(vf, JOURNAL_INSERTED, file, lineno, rec->seq,
                              "prev does not match the hash of seq %llu", (unsigned long long) vf->last_seq);
        } else if (rec->seq > e && streq(rec->prev, vf->last_hash)) {
                return damage(vf, JOURNAL_INSERTED, file, lineno, rec->seq, "seq jumps from %llu but prev links",
                              (unsigned long long) vf->last_seq);
        } else if (rec->seq > e) {
                if (first_in_segment && streq(rec->type, JOURNAL_TYPE_SEGMENT))
                        return damage(vf, JOURNAL_TRUNCATED, file, lineno, rec->seq,
                                      "the previous segment was cut short: seq %llu..%llu missing",
                                      (unsigned long long) e, (unsigned long long) rec->seq - 1);
                vf->gap = true;
                vf->gap_line = lineno;
                vf->gap_seq = rec->seq;
                vf->gap_expected = e;
                (void) snprintf(vf->gap_file, sizeof vf->gap_file, "%s", file);
                return 0;
        } else if (rec->seq < e) {
                if (rec->seq == vf->last_seq && streq(rec->prev, vf->last_prev))
                        return damage(vf, JOURNAL_INSERTED, file, lineno, rec->seq,
                                      "a second record with seq %llu and the same prev",
                                      (unsigned long long) rec->seq);
                return damage(vf, JOURNAL_REORDERED, file, lineno, rec->seq, "seq %llu after seq %llu",
                              (unsigned long long) rec->seq, (unsigned long long) vf->last_seq);
        }

        if (segs->dir && idx > 0 && first_in_segment) {
                char prev_name[JOURNAL_SEGMENT_NAME_MAX];
                journal_segment_name(segs->numbers[idx - 1], prev_name);
                if (streq(rec->type, JOURNAL_TYPE_SEGMENT) &&
                    !field_is(rec->obj, JOURNAL_FIELD_PREV_SEGMENT, prev_name))
                        return damage(vf, JOURNAL_DELETED, file, lineno, rec->seq,
                                      "segment link does not name %s", prev_name);
                if (!streq(rec->type, JOURNAL_TYPE_SEGMENT) && !streq(rec->type, JOURNAL_TYPE_RECOVERY))
                        return damage(vf, JOURNAL_INSERTED, file, lineno, rec->seq,
                                      "first record of a segment is not a segment record");
        } else if (!first_in_segment && streq(rec->type, JOURNAL_TYPE_SEGMENT))
                return damage(vf, JOURNAL_INSERTED, file, lineno, rec->seq, "segment record inside a segment");

        memcpy(vf->last_prev, rec->prev, 65);
        memcpy(vf->last_hash, rec->hash, 65);
        vf->last_seq = rec->seq;
        vf->have_prev = true;
        vf->v->records++;
        return 0;
}

static int verify_file(Verifier *vf, const Segments *segs, size_t idx) {
        const char *file = segs->paths[idx];
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t cap = 0;
        uint64_t lineno = 0, offset = 0;
        bool first = true;
        ssize_t n;
        int r;

        f = fopen(file, "re");
        if (!f)
                return -errno;
        while ((errno = 0, n = getline(&buf, &cap, f)) > 0) {
                JournalRecord rec = {};
                bool has_nl = buf[n - 1] == '\n';
                size_t len = (size_t) n - has_nl;
                char err[128];

                lineno++;
                if (journal_record_parse(buf, len, &rec, err, sizeof err) < 0) {
                        if (vf->gap)
                                return damage(vf, JOURNAL_DELETED, vf->gap_file, vf->gap_line, vf->gap_seq,
                                              "seq %llu..%llu missing", (unsigned long long) vf->gap_expected,
                                              (unsigned long long) vf->gap_seq - 1);
                        if (!vf->torn) {
                                vf->torn = true;
                                vf->torn_line = lineno;
                                vf->torn_offset = offset;
                                vf->torn_length = len;
                                (void) snprintf(vf->torn_error, sizeof vf->torn_error, "%s", err);
                                sha256_init(&vf->torn_sha);
                        } else {
                                sha256_update(&vf->torn_sha, "\n", 1);
                                vf->torn_length += 1 + len;
                        }
                        sha256_update(&vf->torn_sha, buf, len);
                        offset += (uint64_t) n;
                        continue;
                }
                r = check_record(vf, segs, idx, first, &rec, buf, len, has_nl, lineno);
                journal_record_done(&rec);
                if (r != 0)
                        return r;
                first = false;
                offset += (uint64_t) n;
        }
        if (errno != 0)
                return -errno;
        vf->v->segments++;
        if (vf->torn)
                return damage(vf, JOURNAL_TRUNCATED, file, vf->torn_line, vf->last_seq + 1,
                              idx + 1 < segs->n ? "segment ends in a torn record with no recovery record"
                                                : "torn last line with no recovery record (%s)",
                              vf->torn_error);
        if (lineno == 0 && idx + 1 < segs->n)
                return damage(vf, JOURNAL_TRUNCATED, file, 1, vf->last_seq + 1, "empty segment");
        return 0;
}

int journal_verify(const char *dir_or_file, JournalVerdict *ret) {
        _cleanup_(segments_done) Segments segs = {};
        Verifier vf = {};
        int r;

        if (!dir_or_file || !ret)
                return -EINVAL;
        *ret = (JournalVerdict) { .damage = JOURNAL_INTACT };
        vf.v = ret;
        r = segments_load(dir_or_file, &segs);
        if (r < 0)
                return r;
        for (size_t i = 0; i < segs.n; i++) {
                if (segs.dir && i > 0 && segs.numbers[i] != segs.numbers[i - 1] + 1) {
                        char missing[JOURNAL_SEGMENT_NAME_MAX];
                        journal_segment_name(segs.numbers[i - 1] + 1, missing);
                        (void) damage(&vf, JOURNAL_DELETED, segs.paths[i], 1, vf.last_seq + 1,
                                      "segment %s is missing", missing);
                        return 0;
                }
                r = verify_file(&vf, &segs, i);
                if (r < 0)
                        return r;
                if (r > 0)
                        return 0;
        }
        if (vf.gap)
                (void) damage(&vf, JOURNAL_DELETED, vf.gap_file, vf.gap_line, vf.gap_seq, "seq %llu..%llu missing",
                              (unsigned long long) vf.gap_expected, (unsigned long long) vf.gap_seq - 1);
        return 0;
}

int journal_foreach(const char *dir_or_file, JournalRecordFn fn, void *userdata) {
        _cleanup_(segments_done) Segments segs = {};
        int r;

        r = segments_load(dir_or_file, &segs);
        if (r < 0)
                return r;
        for (size_t i = 0; i < segs.n; i++) {
                _cleanup_fclose_ FILE *f = fopen(segs.paths[i], "re");
                _cleanup_free_ char *buf = NULL;
                size_t cap = 0;
                ssize_t n;

                if (!f)
                        return -errno;
                while ((n = getline(&buf, &cap, f)) > 0) {
                        JournalRecord rec = {};
                        size_t len = (size_t) n - (buf[n - 1] == '\n');
                        char err[128];

                        if (journal_record_parse(buf, len, &rec, err, sizeof err) < 0)
                                continue; /* torn bytes: verify reports them */
                        r = fn(rec.obj, buf, len, userdata);
                        journal_record_done(&rec);
                        if (r != 0)
                                return r;
                }
        }
        return 0;
}
