/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "journal.h"
#include "result.h"
#include "sandbox.h"
#include "task-net.h"

/* The records one request leaves, all carrying its request id:
 * admission (allow or deny, with the reason and policy_ms), start (when the
 * task has exec'd: phases, walls, limits), exit (cause, usage, output) and,
 * in audit mode, audit (the would-be denials). Schema: journal-def.h. */

struct json_object;
/* extra (may be NULL): more members for the record, e.g. the daemon's
 * admission steps and caller; copied by reference. */
int run_journal_admission(Journal *j, const SandboxSpec *spec, const char *tenant, bool allowed, const char *reason,
                          double policy_ms, struct json_object *extra);

/* An allowed admission, for a caller about to clone the sandbox: the
 * record's objects are not freed here but handed over in *ret_record, for
 * the caller to put once the task runs, and before extra (whose keys it
 * shares). Freed just before clone, they were garbage in malloc's bins that
 * the sandbox init walks, at a copy-on-write fault a page, on its way to
 * the task (tests/bench/startup). */
int run_journal_admission_keep(Journal *j, const SandboxSpec *spec, const char *tenant, const char *reason,
                               double policy_ms, struct json_object *extra, struct json_object **ret_record);

/* A SandboxHooks.started callback; userdata is the Journal. Failures are
 * logged: the exit record still follows. */
void run_journal_started(const SandboxSpec *spec, const SandboxResult *r, void *userdata);

int run_journal_exit(Journal *j, const SandboxSpec *spec, const SandboxResult *r);

/* One network decision of an allowlist task: a net record. Failures are
 * logged; the exit record's summary still counts the decision. */
void run_journal_net(const SandboxSpec *spec, const NetEvent *ev, Journal *j);

/* One process or file event of a task with observe.shape: a proc record. */
struct ShapeEvent;
void run_journal_proc(const SandboxSpec *spec, const struct ShapeEvent *ev, double t_ms, Journal *j);
