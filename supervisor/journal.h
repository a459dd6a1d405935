/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The journal: append-only JSON Lines, one record a line, hash-chained
 * across segment files. The record schema lives in journal-def.h and the
 * format, including the canonical bytes a hash covers, in
 * stockade-journal(5). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define JOURNAL_DIR_DEFAULT "/var/lib/stockade/journal"

typedef enum JournalFsync {
        JOURNAL_FSYNC_ALWAYS, /* after every record */
        JOURNAL_FSYNC_BATCH,  /* at most every interval, and at journal_flush()/close */
        JOURNAL_FSYNC_NEVER,
        _JOURNAL_FSYNC_MAX,
        _JOURNAL_FSYNC_INVALID = -22,
} JournalFsync;

typedef struct JournalOptions {
        JournalFsync fsync;
        uint64_t batch_interval_usec; /* JOURNAL_FSYNC_BATCH: default 1 s */
        uint64_t segment_max_bytes;   /* rotate when a segment grows past it; default 64 MiB */
        /* Added: set FS_APPEND_FL on segments we create or open, where the
         * filesystem and our capabilities allow it (CAP_LINUX_IMMUTABLE).
         * true for the daemon and the CLI (JOURNAL_OPTIONS_DEFAULT, or opts
         * NULL); false in a zero-initialised struct, which is what tests use
         * so that they can delete their temporary journals afterwards. */
        bool set_append_flag;
} JournalOptions;

#define JOURNAL_BATCH_INTERVAL_DEFAULT_USEC (1000000ULL)
#define JOURNAL_SEGMENT_MAX_DEFAULT (64ULL * 1024 * 1024)
#define JOURNAL_OPTIONS_DEFAULT                                                  \
        ((JournalOptions) {                                                      \
                .fsync = JOURNAL_FSYNC_ALWAYS,                                   \
                .batch_interval_usec = JOURNAL_BATCH_INTERVAL_DEFAULT_USEC,      \
                .segment_max_bytes = JOURNAL_SEGMENT_MAX_DEFAULT,                \
                .set_append_flag = true,                                         \
        })

typedef struct Journal Journal;

/* opts may be NULL for JOURNAL_OPTIONS_DEFAULT; zero batch_interval_usec
 * and segment_max_bytes mean their defaults.
 * Opens (creating it 0700 when missing) the journal directory and its
 * current segment. A torn last line left by a crash is reported through
 * ret_recovered (may be NULL) and sealed by a `recovery` record; nothing
 * valid is rewritten. Several processes may have the same journal open:
 * appends take an exclusive lock, so records never interleave and the
 * chain stays whole. */
int journal_open(const char *dir, const JournalOptions *opts, Journal **ret, bool *ret_recovered);

/* Appends one record: the caller's object holds the event's fields; the
 * journal adds v, seq, ts, request_id, type, prev and hash, in that order
 * before the event fields... (see stockade-journal(5) for the exact layout).
 * request_id may be NULL for records not tied to a request (supervisor).
 * Does not take ownership of fields. ret_seq (may be NULL) gets the seq. */
int journal_append(Journal *j, const char *type, const char *request_id, struct json_object *fields,
                   uint64_t *ret_seq);

/* Makes everything appended so far durable (fsync), whatever the policy. */
int journal_flush(Journal *j);

/* Whether FS_APPEND_FL could be set on the current segment. */
bool journal_append_only(const Journal *j);
const char *journal_dir(const Journal *j);

Journal *journal_close(Journal *j); /* flushes; returns NULL */

/* --- reading and verifying --- */

typedef enum JournalDamage {
        JOURNAL_INTACT,
        JOURNAL_EDITED,     /* a record's bytes do not match its hash */
        JOURNAL_DELETED,    /* a seq is missing (and the chain breaks there) */
        JOURNAL_REORDERED,  /* seqs out of order */
        JOURNAL_TRUNCATED,  /* a torn last line without a recovery record, or a segment cut short */
        JOURNAL_INSERTED,   /* a record whose prev/seq do not fit between its neighbours */
        JOURNAL_MALFORMED,  /* not JSON, or required fields missing */
        _JOURNAL_DAMAGE_MAX,
} JournalDamage;

const char *journal_damage_to_string(JournalDamage d);

typedef struct JournalVerdict {
        JournalDamage damage;
        char file[4096];   /* the segment of the first bad record */
        uint64_t line;     /* 1-based line in that file */
        uint64_t seq;      /* the seq there, or the one expected */
        char detail[256];
        uint64_t records;  /* records checked */
        uint64_t segments;
} JournalVerdict;

/* Walks every segment of a journal directory (or one segment file) in
 * order; returns 0 and damage INTACT, or 0 with the first damage found, or
 * -errno when it cannot read at all. */
int journal_verify(const char *dir_or_file, JournalVerdict *ret);

/* Iterates records in order over every segment; fn gets each record as a
 * parsed object (borrowed) and the raw line. A non-zero return stops. */
typedef int (*JournalRecordFn)(struct json_object *rec, const char *line, size_t len, void *userdata);
int journal_foreach(const char *dir_or_file, JournalRecordFn fn, void *userdata);
