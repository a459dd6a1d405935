/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The on-disk format of the journal, in one place (STYLE.md section 2). The
 * prose, with examples, is stockade-journal(5); contrib/journal-verify.py is
 * an independent re-verification written from that page alone.
 *
 * A journal is a directory of segment files journal-000001.jsonl,
 * journal-000002.jsonl, ... Each holds JSON Lines: one record a line, '\n'
 * terminated, UTF-8, at most JOURNAL_LINE_MAX bytes.
 *
 * Record layout (schema version 1): the bytes json-c gives for one object
 * holding the keys in exactly this order (it keeps insertion order),
 * serialised once with JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE.
 * The writer serialises only the event fields with json-c and writes the
 * keys it adds around them the same way (journal-record.c):
 *
 *   {"v":1,"seq":N,"ts":"...","request_id":"..."|null,"type":"...",
 *    <event fields, in the caller's order>,"prev":"<64 hex>","hash":"<64 hex>"}
 *
 * Canonical bytes: the exact bytes of the line (without its '\n') with the
 * final  ,"hash":"<64 hex>"  removed, i.e. the line minus its last
 * JOURNAL_HASH_SUFFIX_LEN bytes, plus the closing '}'. They end in
 * "prev":"<64 hex>"}. Because the line is hashed as written (never
 * re-serialised), a verifier needs no JSON canonicalisation:
 *
 *   hash = lowercase hex SHA-256(canonical bytes)
 *
 * Chain: prev is the hash of the record before it (across segments), or 64
 * zeros (JOURNAL_HASH_ZERO) for the first record of a journal; seq starts at
 * 1 and grows by one per record, across segments, header records included.
 *
 * Readers ignore record types and fields they do not know; a new field or
 * type gets an "Added in vN" comment here and in stockade-journal(5); a
 * change to the layout or canonical bytes bumps JOURNAL_SCHEMA_VERSION.
 */

#include <assert.h>

#define JOURNAL_SCHEMA_VERSION 1

#define JOURNAL_SEGMENT_PREFIX "journal-"
#define JOURNAL_SEGMENT_SUFFIX ".jsonl"
#define JOURNAL_SEGMENT_FORMAT "journal-%06u.jsonl"
#define JOURNAL_SEGMENT_NAME_MAX 32 /* "journal-" + up to 10 digits + ".jsonl" + NUL */
#define JOURNAL_LOCK_FILE "journal.lock" /* flock(LOCK_EX) around every tail read + write */
/* journal.lock also holds a hint, written under the lock and not part of
 * the record format: "<newest segment number, %010u> <the directory's
 * mtime when that was known, %020lld.%09ld>\n". A writer opening the
 * journal uses it only while the directory's mtime is the same (no file
 * added or removed since) and that segment opens, then follows newer
 * segments as after any rotation; otherwise it lists the directory. Any
 * other content (an older stockade leaves the file empty) means "list". */

#define JOURNAL_LINE_MAX (1024U * 1024U) /* a longer record is refused (-E2BIG) */
#define JOURNAL_HASH_HEX_LEN 64
#define JOURNAL_HASH_ZERO "0000000000000000000000000000000000000000000000000000000000000000"
#define JOURNAL_HASH_SUFFIX_PREFIX ",\"hash\":\""
/* ,"hash":"<64 hex>"}  — removed (all but the '}') to get the canonical bytes */
#define JOURNAL_HASH_SUFFIX_LEN (sizeof(JOURNAL_HASH_SUFFIX_PREFIX) - 1 + JOURNAL_HASH_HEX_LEN + 2)

static_assert(sizeof(JOURNAL_HASH_ZERO) == JOURNAL_HASH_HEX_LEN + 1, "zero hash has 64 digits");
static_assert(JOURNAL_HASH_SUFFIX_LEN == 75, "the documented suffix is 75 bytes");

/* --- keys every record has (in this order; prev and hash last) --- */
#define JOURNAL_KEY_V "v"                   /* Added in v1: integer, JOURNAL_SCHEMA_VERSION */
#define JOURNAL_KEY_SEQ "seq"               /* Added in v1: integer >= 1, continuous across segments */
#define JOURNAL_KEY_TS "ts"                 /* Added in v1: RFC 3339 UTC, microseconds: 2026-11-26T19:30:01.123456Z */
#define JOURNAL_KEY_REQUEST_ID "request_id" /* Added in v1: string, or null when not tied to a request */
#define JOURNAL_KEY_TYPE "type"             /* Added in v1: string, one of JOURNAL_TYPE_* (or newer) */
#define JOURNAL_KEY_PREV "prev"             /* Added in v1: 64 hex, hash of the record before */
#define JOURNAL_KEY_HASH "hash"             /* Added in v1: 64 hex, SHA-256 of the canonical bytes */

#define JOURNAL_TS_LEN 27 /* strlen("2026-11-26T19:30:01.123456Z") */

/* --- record types; the event fields are the caller's (journal_append()) --- */
#define JOURNAL_TYPE_ADMISSION "admission"   /* Added in v1: an admission decision (allow or deny) */
#define JOURNAL_TYPE_START "start"           /* Added in v1: the task was started */
#define JOURNAL_TYPE_EXIT "exit"             /* Added in v1: the task's result */
#define JOURNAL_TYPE_AUDIT "audit"           /* Added in v1: an event observed while the task ran */
#define JOURNAL_TYPE_SUPERVISOR "supervisor" /* Added in v1: supervisor life cycle, request_id null */
#define JOURNAL_TYPE_SEGMENT "segment"       /* Added in v1: first record of every segment after the first */
#define JOURNAL_TYPE_RECOVERY "recovery"     /* Added in v1: seals torn bytes left by a crash */
#define JOURNAL_TYPE_NET "net"               /* Added in v1: one network decision of an allowlist task */
#define JOURNAL_TYPE_PROC "proc"             /* Added in v1: a process or file event (observe.shape) */
#define JOURNAL_TYPE_SHAPE "shape"           /* Added in v1: a task's syscall/process/file shape, before exit */

/* Fields the journal itself writes. The fields of a request's records
 * (admission, start, exit, audit) are written by supervisor/run-journal.c
 * from the result record's schema (supervisor/result.h) and listed in
 * stockade-journal(5); the journal does not check them. */

/* segment: written by rotation as the first record of a new segment; its
 * prev is the last hash of the segment before. */
#define JOURNAL_FIELD_PREV_SEGMENT "prev_segment"           /* Added in v1: string, file name of the previous segment */
#define JOURNAL_FIELD_PREV_SEGMENT_SEQ "prev_segment_seq"   /* Added in v1: integer, its last seq */
#define JOURNAL_FIELD_PREV_SEGMENT_HASH "prev_segment_hash" /* Added in v1: 64 hex, its last hash (== prev) */

/* recovery: the torn bytes are the region [torn_offset, torn_offset +
 * torn_length) of torn_segment: one or more lines that are not records,
 * between the last valid record and this one; the '\n' that ends the region
 * (appended by the recovery when missing) is not part of it. prev is the
 * last valid record's hash. */
#define JOURNAL_FIELD_TORN_SEGMENT "torn_segment" /* Added in v1: string, file name */
#define JOURNAL_FIELD_TORN_OFFSET "torn_offset"   /* Added in v1: integer, byte offset in that file */
#define JOURNAL_FIELD_TORN_LENGTH "torn_length"   /* Added in v1: integer, bytes */
#define JOURNAL_FIELD_TORN_SHA256 "torn_sha256"   /* Added in v1: 64 hex, SHA-256 of those bytes */
#define JOURNAL_FIELD_TORN_LINE "torn_line"       /* Added in v1: integer, 1-based line where they start */
