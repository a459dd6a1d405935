/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The canonical form of a record (journal-def.h, stockade-journal(5)). */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "basic/sha256.h"
#include "journal-internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_tokener *, json_tokener_free);

static const char *const reserved_keys[] = {
        JOURNAL_KEY_V,    JOURNAL_KEY_SEQ,  JOURNAL_KEY_TS,   JOURNAL_KEY_REQUEST_ID,
        JOURNAL_KEY_TYPE, JOURNAL_KEY_PREV, JOURNAL_KEY_HASH,
};

void journal_record_done(JournalRecord *r) {
        if (r->obj)
                json_object_put(r->obj);
        *r = (JournalRecord) {};
}

static bool is_hex64(const char *s) {
        if (!s || strlen(s) != JOURNAL_HASH_HEX_LEN)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

int journal_record_parse(const char *line, size_t len, JournalRecord *ret, char *err, size_t errlen) {
        _cleanup_(json_tokener_freep) struct json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *v, *seq, *type, *prev, *hash;
        int64_t s;

        if (len > JOURNAL_LINE_MAX || len > INT32_MAX)
                return errbuf_set(err, errlen, "line longer than %u bytes", JOURNAL_LINE_MAX);
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        o = json_tokener_parse_ex(tok, line, (int) len);
        if (!o || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len)
                return errbuf_set(err, errlen, "not a JSON object");
        if (!json_object_is_type(o, json_type_object))
                return errbuf_set(err, errlen, "not a JSON object");
        if (!json_object_object_get_ex(o, JOURNAL_KEY_V, &v) || !json_object_is_type(v, json_type_int))
                return errbuf_set(err, errlen, "no integer \"v\"");
        if (!json_object_object_get_ex(o, JOURNAL_KEY_SEQ, &seq) || !json_object_is_type(seq, json_type_int) ||
            (s = json_object_get_int64(seq)) < 1)
                return errbuf_set(err, errlen, "no positive integer \"seq\"");
        if (!json_object_object_get_ex(o, JOURNAL_KEY_TYPE, &type) || !json_object_is_type(type, json_type_string))
                return errbuf_set(err, errlen, "no string \"type\"");
        if (!json_object_object_get_ex(o, JOURNAL_KEY_PREV, &prev) || !is_hex64(json_object_get_string(prev)))
                return errbuf_set(err, errlen, "no 64-hex \"prev\"");
        if (!json_object_object_get_ex(o, JOURNAL_KEY_HASH, &hash) || !is_hex64(json_object_get_string(hash)))
                return errbuf_set(err, errlen, "no 64-hex \"hash\"");
        *ret = (JournalRecord) {
                .seq = (uint64_t) s,
                .type = json_object_get_string(type),
                .prev = json_object_get_string(prev),
                .hash = json_object_get_string(hash),
                .obj = TAKE_PTR(o),
        };
        return 0;
}

bool journal_record_hash_ok(const char *line, size_t len, char computed[65]) {
        const size_t plen = sizeof(JOURNAL_HASH_SUFFIX_PREFIX) - 1;
        const char *suffix;
        char hex[65];
        Sha256 s;

        if (len < JOURNAL_HASH_SUFFIX_LEN + 1)
                return false;
        suffix = line + len - JOURNAL_HASH_SUFFIX_LEN;
        sha256_init(&s);
        sha256_update(&s, line, len - JOURNAL_HASH_SUFFIX_LEN);
        sha256_update(&s, "}", 1);
        sha256_final_hex(&s, hex);
        if (computed)
                memcpy(computed, hex, sizeof hex);
        return memcmp(suffix, JOURNAL_HASH_SUFFIX_PREFIX, plen) == 0 &&
               memcmp(suffix + plen, hex, JOURNAL_HASH_HEX_LEN) == 0 &&
               memcmp(suffix + plen + JOURNAL_HASH_HEX_LEN, "\"}", 2) == 0;
}

int journal_record_peek(const char *line, size_t len, uint64_t *ret_seq, char ret_hash[65]) {
        static const char head[] = "{\"v\":1,\"seq\":";
        const size_t hl = sizeof head - 1, plen = sizeof(JOURNAL_HASH_SUFFIX_PREFIX) - 1;
        uint64_t seq = 0;
        size_t i;

        if (len < hl + 2 || memcmp(line, head, hl) != 0)
                return -EINVAL;
        for (i = hl; i < len && line[i] >= '0' && line[i] <= '9' && i - hl < 19; i++)
                seq = seq * 10 + (uint64_t) (line[i] - '0');
        if (i == hl || i >= len || line[i] != ',' || seq == 0)
                return -EINVAL;
        if (!journal_record_hash_ok(line, len, NULL))
                return -EINVAL;
        memcpy(ret_hash, line + len - JOURNAL_HASH_SUFFIX_LEN + plen, JOURNAL_HASH_HEX_LEN);
        ret_hash[JOURNAL_HASH_HEX_LEN] = 0;
        *ret_seq = seq;
        return 0;
}

static bool key_reserved(const char *k) {
        for (size_t i = 0; i < ELEMENTSOF(reserved_keys); i++)
                if (streq(k, reserved_keys[i]))
                        return true;
        return false;
}

/* Where a line is written; p NULL counts the bytes only. */
typedef struct Out {
        char *p;
        size_t n;
} Out;

static void out_bytes(Out *o, const char *s, size_t len) {
        if (o->p)
                memcpy(o->p + o->n, s, len);
        o->n += len;
}

static void out_str(Out *o, const char *s) {
        out_bytes(o, s, strlen(s));
}

static void out_uint(Out *o, uint64_t u) {
        char num[24];
        (void) snprintf(num, sizeof num, "%" PRIu64, u);
        out_str(o, num);
}

/* A JSON string exactly as json-c writes it with
 * JSON_C_TO_STRING_NOSLASHESCAPE: the short escapes, \u00xx for the other
 * control characters, every other byte as it is (test-journal compares the
 * two for every byte). */
static void out_json_string(Out *o, const char *s) {
        static const char hex[] = "0123456789abcdef";

        out_bytes(o, "\"", 1);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                const char *esc = NULL;
                switch (*p) {
                case '"':
                        esc = "\\\"";
                        break;
                case '\\':
                        esc = "\\\\";
                        break;
                case '\b':
                        esc = "\\b";
                        break;
                case '\f':
                        esc = "\\f";
                        break;
                case '\n':
                        esc = "\\n";
                        break;
                case '\r':
                        esc = "\\r";
                        break;
                case '\t':
                        esc = "\\t";
                        break;
                default:
                        break;
                }
                if (esc)
                        out_bytes(o, esc, 2);
                else if (*p < 0x20) {
                        char u[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };
                        out_bytes(o, u, sizeof u);
                } else
                        out_bytes(o, (const char *) p, 1);
        }
        out_bytes(o, "\"", 1);
}

/* The canonical bytes: the keys we add, written as json-c writes them, then
 * the event fields' own serialisation (body, without its braces), then prev. */
static void out_canonical(Out *o, uint64_t seq, const char *ts, const char *request_id, const char *type,
                          const char *body, size_t body_len, const char *prev) {
        out_str(o, "{\"" JOURNAL_KEY_V "\":");
        out_uint(o, JOURNAL_SCHEMA_VERSION);
        out_str(o, ",\"" JOURNAL_KEY_SEQ "\":");
        out_uint(o, seq);
        out_str(o, ",\"" JOURNAL_KEY_TS "\":");
        out_json_string(o, ts);
        out_str(o, ",\"" JOURNAL_KEY_REQUEST_ID "\":");
        if (request_id)
                out_json_string(o, request_id);
        else
                out_str(o, "null");
        out_str(o, ",\"" JOURNAL_KEY_TYPE "\":");
        out_json_string(o, type);
        if (body_len > 0) {
                out_bytes(o, ",", 1);
                out_bytes(o, body, body_len);
        }
        out_str(o, ",\"" JOURNAL_KEY_PREV "\":\"");
        out_bytes(o, prev, JOURNAL_HASH_HEX_LEN);
        out_str(o, "\"}");
}

int journal_record_build(uint64_t seq, const char *ts, const char *request_id, const char *type,
                         json_object *fields, const char *prev, char **ret_line, size_t *ret_len,
                         char ret_hash[65]) {
        _cleanup_free_ char *line = NULL;
        const char *body = NULL;
        size_t body_len = 0, n;
        Out o = {};
        char hex[65];

        if (!ts || !type || !*type || !prev || !is_hex64(prev) || seq < 1 || seq > INT64_MAX)
                return -EINVAL;
        if (fields && !json_object_is_type(fields, json_type_object))
                return -EINVAL;
        if (fields) {
                json_object_object_foreach(fields, k, v) {
                        (void) v;
                        if (key_reserved(k))
                                return -EINVAL;
                }
                /* Only the caller's object goes through json-c. Wrapping it
                 * in an object of our own cost more objects and a copy of
                 * every key: garbage that a run's sandbox init then walks,
                 * at a copy-on-write fault a page (tests/bench/startup). */
                body = json_object_to_json_string_ext(fields, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                if (!body)
                        return -ENOMEM;
                body_len = strlen(body);
                if (body_len < 2 || body[0] != '{' || body[body_len - 1] != '}')
                        return -EINVAL;
                body++;
                body_len -= 2;
        }

        out_canonical(&o, seq, ts, request_id, type, body, body_len, prev);
        n = o.n;
        if (n + JOURNAL_HASH_SUFFIX_LEN > JOURNAL_LINE_MAX)
                return -E2BIG;
        /* The line: the canonical bytes minus their '}', then ,"hash":"<hex>"}\n */
        line = malloc(n - 1 + JOURNAL_HASH_SUFFIX_LEN + 2);
        if (!line)
                return -ENOMEM;
        o = (Out) { .p = line };
        out_canonical(&o, seq, ts, request_id, type, body, body_len, prev);
        assert(o.n == n);
        (void) sha256_hex(line, n, hex);

        (void) snprintf(line + n - 1, JOURNAL_HASH_SUFFIX_LEN + 2, JOURNAL_HASH_SUFFIX_PREFIX "%s\"}\n", hex);
        *ret_len = n - 1 + JOURNAL_HASH_SUFFIX_LEN + 1;
        *ret_line = TAKE_PTR(line);
        memcpy(ret_hash, hex, sizeof hex);
        return 0;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian), the
 * well-known era-based arithmetic. glibc's gmtime_r() would do, but it
 * loads the time zone database on first use, and every stockade run pays
 * that on its way to the first record. */
static void civil_from_days(int64_t z, int *ret_y, unsigned *ret_m, unsigned *ret_d) {
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        unsigned doe = (unsigned) (z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t y = (int64_t) yoe + era * 400;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        unsigned d = doy - (153 * mp + 2) / 5 + 1;
        unsigned m = mp < 10 ? mp + 3 : mp - 9;
        *ret_y = (int) (y + (m <= 2));
        *ret_m = m;
        *ret_d = d;
}

void journal_timestamp(char ret[JOURNAL_TS_LEN + 1]) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        journal_timestamp_at(&ts, ret);
}

void journal_timestamp_at(const struct timespec *t, char ret[JOURNAL_TS_LEN + 1]) {
        struct timespec ts = *t;
        char buf[96];
        int64_t days, secs;
        unsigned mon, day;
        int year;

        days = (int64_t) ts.tv_sec / 86400;
        secs = (int64_t) ts.tv_sec % 86400;
        if (secs < 0) {
                secs += 86400;
                days--;
        }
        civil_from_days(days, &year, &mon, &day);
        (void) snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06ldZ", year, mon, day, (int) (secs / 3600),
                        (int) (secs / 60 % 60), (int) (secs % 60), ts.tv_nsec / 1000);
        memcpy(ret, buf, JOURNAL_TS_LEN);
        ret[JOURNAL_TS_LEN] = 0;
}
