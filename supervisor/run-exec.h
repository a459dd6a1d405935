/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "journal.h"
#include "profile.h"
#include "result.h"
#include "run-options.h"

/* Runs a task whose spec is complete (profile applied, filter compiled)
 * as an embedded supervisor, journaling admission (with reason), start,
 * exit and audit records, and writing --result-json. Fills res; returns
 * the exit status for stockade. */
int run_execute(RunOptions *opts, const Profile *prof, double t_start, double policy_ms, const char *reason,
                SandboxResult *res);

/* How a request was admitted, for its admission record. */
typedef struct RunAdmission {
        const char *tenant;
        const char *reason;
        double policy_ms;
        struct json_object *extra; /* more members for the record (the daemon's steps and caller); may be NULL */
} RunAdmission;

/* A daemon worker's line to the daemon: see SandboxHooks.control. */
typedef struct RunControl {
        int fd;
        int (*control)(int fd, void *userdata);
        void (*started)(const SandboxResult *r, void *userdata); /* the task has exec'd */
        void *userdata;
} RunControl;

/* The part of run_execute below the supervisor's set-up: runs the task
 * with its records on an initialised supervisor. Returns the exit status;
 * writes no result file and prints nothing. */
struct Supervisor;
int run_supervised(struct Supervisor *sup, RunOptions *opts, const Profile *prof, double t_start,
                   const RunAdmission *adm, const RunControl *ctl, SandboxResult *res);

/* The lines that explain an outcome a limit (not the task) decided, as
 * stockade run prints them on standard error. Returns how many. */
#define RUN_EXPLAIN_LEN 512
size_t run_explain(const SandboxResult *r, const SandboxSpec *spec, char lines[][RUN_EXPLAIN_LEN], size_t max);

/* Journals a refused admission (when journaling is on). */
void run_refused(const RunOptions *opts, const char *reason, double policy_ms);

/* Opens the journal run would use: --journal, $STOCKADE_JOURNAL, else the default. */
int open_journal(const RunOptions *opts, Journal **ret);

/* Profile, then the command line over it, then the compiled filter, into
 * opts->spec. On failure err holds the one line for the user and the journal. */
int run_resolve(RunOptions *opts, Profile *prof, SyscallFilter *filter, char *err, size_t errlen);

/* The two halves of run_resolve, for a daemon that loads and compiles a
 * profile once and applies it per request. */
int run_load_profile(const char *name, Profile *prof, SyscallFilter *filter, char *err, size_t errlen);
int run_apply_profile(RunOptions *opts, const Profile *prof, char **host_env, char *err, size_t errlen);
