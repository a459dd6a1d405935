/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* journal-append DIR: appends records to the journal in DIR through the
 * journal API (journal_append()), so that they are chained and hashed like
 * any other. Reads one JSON object a line from stdin:
 *
 *   {"type": "proc", "request_id": "req-1", "fields": {"event": "exec", ...}}
 *
 * request_id may be null or absent, fields absent (no event fields). Used by
 * the integration tests to make journals with records that no run writes
 * (yet). Exits 0, or 1 naming the first line it could not append. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "journal.h"

int main(int argc, char **argv) {
        JournalOptions opts = { .fsync = JOURNAL_FSYNC_NEVER }; /* no FS_APPEND_FL: tests delete it */
        _cleanup_free_ char *buf = NULL;
        Journal *j = NULL;
        size_t cap = 0, line = 0;
        ssize_t n;
        int r, ret = 0;

        if (argc != 2) {
                fprintf(stderr, "usage: journal-append DIR < records.jsonl\n");
                return 2;
        }
        r = journal_open(argv[1], &opts, &j, NULL);
        if (r < 0) {
                fprintf(stderr, "journal-append: %s: %s\n", argv[1], strerror(-r));
                return 1;
        }
        while ((n = getline(&buf, &cap, stdin)) > 0) {
                json_object *o, *type, *rid, *fields;
                const char *request_id = NULL;

                line++;
                if (strspn(buf, " \t\r\n") == (size_t) n)
                        continue; /* blank */
                o = json_tokener_parse(buf);
                if (!o || !json_object_is_type(o, json_type_object) ||
                    !json_object_object_get_ex(o, "type", &type) || !json_object_is_type(type, json_type_string)) {
                        fprintf(stderr, "journal-append: stdin:%zu: not an object with a string \"type\"\n", line);
                        json_object_put(o);
                        ret = 1;
                        break;
                }
                if (json_object_object_get_ex(o, "request_id", &rid) && json_object_is_type(rid, json_type_string))
                        request_id = json_object_get_string(rid);
                if (!json_object_object_get_ex(o, "fields", &fields) || !fields)
                        fields = NULL;
                if (fields && !json_object_is_type(fields, json_type_object)) {
                        fprintf(stderr, "journal-append: stdin:%zu: \"fields\" is not an object\n", line);
                        json_object_put(o);
                        ret = 1;
                        break;
                }
                if (!fields) {
                        fields = json_object_new_object();
                        if (!fields) {
                                json_object_put(o);
                                ret = 1;
                                break;
                        }
                        json_object_object_add(o, "fields", fields); /* o owns it now */
                }
                r = journal_append(j, json_object_get_string(type), request_id, fields, NULL);
                json_object_put(o);
                if (r < 0) {
                        fprintf(stderr, "journal-append: stdin:%zu: %s\n", line, strerror(-r));
                        ret = 1;
                        break;
                }
        }
        j = journal_close(j);
        return ret;
}
