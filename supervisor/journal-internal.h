/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between journal.c (writer), journal-verify.c (reader) and
 * journal-record.c (the canonical form). Not a public API. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal-def.h"

struct json_object;

/* The keys every record must have, borrowed from obj. */
typedef struct JournalRecord {
        struct json_object *obj; /* owned */
        uint64_t seq;
        const char *type;
        const char *prev;
        const char *hash;
} JournalRecord;

void journal_record_done(JournalRecord *r);

/* Parses one line (without '\n') as a record with the required keys.
 * Returns 0, or -EINVAL with a reason in err (-ENOMEM). Does not check the hash. */
int journal_record_parse(const char *line, size_t len, JournalRecord *ret, char *err, size_t errlen);

/* Whether the line ends in ,"hash":"<hex>"} with hex == SHA-256 of its
 * canonical bytes. computed (may be NULL) gets the SHA-256. */
bool journal_record_hash_ok(const char *line, size_t len, char computed[65]);

/* The seq and hash of a line in exactly the writer's canonical shape whose
 * hash checks out, without a JSON parser: the tail a writer chains onto.
 * -EINVAL for anything else (the caller then parses it properly). */
int journal_record_peek(const char *line, size_t len, uint64_t *ret_seq, char ret_hash[65]);

/* Builds one line, '\n' terminated, in the documented key order. Refuses
 * fields that use a reserved key (-EINVAL) and lines over JOURNAL_LINE_MAX
 * (-E2BIG). Does not take ownership of fields (json-c keeps its
 * serialisation in it until it is freed). */
int journal_record_build(uint64_t seq, const char *ts, const char *request_id, const char *type,
                         struct json_object *fields, const char *prev, char **ret_line, size_t *ret_len,
                         char ret_hash[65]);

/* RFC 3339 UTC with microseconds, now. */
void journal_timestamp(char ret[JOURNAL_TS_LEN + 1]);
struct timespec;
/* Pure: RFC 3339 UTC with microseconds for a CLOCK_REALTIME value. */
void journal_timestamp_at(const struct timespec *ts, char ret[JOURNAL_TS_LEN + 1]);

/* Segment numbers present in a directory, sorted; returns the count or -errno. */
int journal_segments_list(int dirfd, unsigned **ret);
void journal_segment_name(unsigned n, char ret[JOURNAL_SEGMENT_NAME_MAX]);
/* Parses "journal-NNNNNN.jsonl"; 0 and *ret, or -EINVAL. */
int journal_segment_parse_name(const char *name, unsigned *ret);
