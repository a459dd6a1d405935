/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The text rendering of `stockade journal show` (stockade-journal(5)): one
 * timeline line a record (proc records compactly), and after a request's
 * records its process tree and syscall table. Records are parsed journal
 * records (json-c objects); unknown fields are ignored, missing or
 * mistyped ones print as "-", and nothing a record holds can make these
 * crash. Strings from the task (paths, argv, comm) are printed with control
 * characters escaped, so that a task cannot write to the reader's terminal. */

#include <stddef.h>
#include <stdio.h>

struct json_object;

#define JOURNAL_RENDER_TOP_DEFAULT 15U /* rows of the syscall table */

/* One timeline line (with its '\n'). */
void journal_render_record(FILE *f, struct json_object *rec);

/* The blocks that follow one request's records: "Process tree" (from its
 * proc records) and "Syscalls" (from its shape records, top rows of the
 * table). Prints nothing when the records hold neither kind. */
void journal_render_summary(FILE *f, struct json_object *const *recs, size_t n, unsigned top);
