/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running one resolved task embedded, with its records: shared by run and
 * journal replay. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "exit-status.h"
#include "journal-store.h"
#include "run-exec.h"
#include "sandbox-profile.h"
#include "run-journal.h"
#include "supervisor.h"

extern char **environ;

/* A one-line note when a limit, not the task, ended the run. */
static void explain(const SandboxResult *r, const SandboxSpec *spec) {
        const SandboxLimits *l = &spec->limits;

        switch (r->cause) {
        case CAUSE_OOM:
                log_error("task killed: out of memory (--memory %llu bytes)", (unsigned long long) l->memory_bytes);
                break;
        case CAUSE_TIMEOUT:
                log_error("task killed: timeout (--timeout %llums)", (unsigned long long) (l->timeout_usec / 1000));
                break;
        case CAUSE_CPU_TIME:
                log_error("task killed: cpu time limit (--cpu-time %llums)",
                          (unsigned long long) (l->cpu_time_usec / 1000));
                break;
        case CAUSE_PIDS_LIMIT:
                log_error("task hit the process limit (--pids %llu)", (unsigned long long) l->pids);
                break;
        case CAUSE_SECCOMP:
                log_error("task killed by the seccomp filter (a syscall its profile forbids)");
                break;
        case CAUSE_SETUP_ERROR:
                if (r->exit_status == 127)
                        log_error("%s: command not found in the sandbox", spec->argv[0]);
                else if (r->exit_status == 126)
                        log_error("%s: cannot execute in the sandbox: %s", spec->argv[0], strerror(r->error_errno));
                else
                        log_error("sandbox setup failed (%s): %s", r->error_phase, r->error_message);
                break;
        case CAUSE_OK:
        case CAUSE_EXIT_NONZERO:
        case CAUSE_SIGNAL:
        default:
                break;
        }
        if (r->output_cut)
                log_error("output cut at %llu bytes (the task wrote %llu)", (unsigned long long) l->output_bytes,
                          (unsigned long long) r->output_bytes);
        if (r->audit_mode && r->audit.total > 0)
                log_error("audit: %llu calls the profile would deny; see the result record",
                          (unsigned long long) r->audit.total);
}

int open_journal(const RunOptions *opts, Journal **ret) {
        const char *dir = opts->journal ? opts->journal : getenv("STOCKADE_JOURNAL");
        /* batch: the request's records are made durable once, at its end,
         * before the caller hears the outcome (journal_flush). */
        JournalOptions jo = { .fsync = opts->journal_fsync, .batch_interval_usec = 1000000,
                              .segment_max_bytes = 64ULL << 20, .set_append_flag = true };
        bool recovered = false;
        int r;

        *ret = NULL;
        if (opts->no_journal)
                return 0;
        if (!dir || !*dir)
                dir = JOURNAL_DIR_DEFAULT;
        r = journal_open(dir, &jo, ret, &recovered);
        if (r < 0)
                return log_error_errno(r, "cannot open the journal '%s': %m; give --journal DIR, or --no-journal", dir);
        if (recovered)
                log_warning("journal '%s': a torn last record was found and sealed; see 'stockade journal verify'", dir);
        if (!journal_append_only(*ret))
                log_debug("journal '%s': this filesystem cannot mark segments append-only", dir);
        return 0;
}

/* The request's records: the journal opens on the first record (the admit
 * hook on the allowed path, or the refusal). */
typedef struct RunRecords {
        const RunOptions *opts;
        const Profile *prof;
        const char *reason;
        Journal *journal;
        const char *tenant;
        double policy_ms;
} RunRecords;

static int records_admit(const SandboxSpec *spec, void *userdata) {
        RunRecords *rr = userdata;
        int r;

        if (rr->opts->no_journal)
                return 0;
        if (!rr->journal && (r = open_journal(rr->opts, &rr->journal)) < 0)
                return r;
        /* What replay needs: the resolved profile always, the code when asked. */
        r = journal_store_profile(journal_dir(rr->journal), rr->prof);
        if (r >= 0 && rr->prof->keep_code)
                r = journal_store_code(journal_dir(rr->journal), spec);
        if (r < 0)
                return log_error_errno(r, "cannot keep the profile or code of request %s in the journal: %m",
                                       spec->request_id);
        return run_journal_admission(rr->journal, spec, rr->tenant, true, rr->reason, rr->policy_ms);
}

static void records_started(const SandboxSpec *spec, const SandboxResult *r, void *userdata) {
        RunRecords *rr = userdata;
        if (rr->journal)
                run_journal_started(spec, r, rr->journal);
}

static void records_net(const SandboxSpec *spec, const NetEvent *ev, void *userdata) {
        RunRecords *rr = userdata;
        if (rr->journal)
                run_journal_net(spec, ev, rr->journal);
}

static void records_proc(const SandboxSpec *spec, const struct ShapeEvent *ev, double t_ms, void *userdata) {
        RunRecords *rr = userdata;
        if (rr->journal)
                run_journal_proc(spec, ev, t_ms, rr->journal);
}

int run_execute(RunOptions *opts, const Profile *prof, double t_start, double policy_ms, const char *reason,
                SandboxResult *res) {
        RunRecords records = { .opts = opts, .prof = prof, .reason = reason, .policy_ms = policy_ms };
        Journal *journal;
        Supervisor sup;
        const char *what = NULL;
        char tenant[32];
        int r, status;

        sandbox_result_init(res);
        /* Embedded mode: the tenant is whoever invoked us. */
        (void) snprintf(tenant, sizeof tenant, "uid:%u", (unsigned) getuid());
        records.tenant = tenant;

        /* Held from here to exit: a signal for the task is relayed to it
         * once it runs, and never cuts the result record short. */
        (void) sandbox_block_relayed_signals(NULL);
        r = supervisor_init(&sup, &what);
        if (r < 0) {
                log_error_errno(r, "cannot prepare the supervisor (%s): %m; see 'stockade doctor'", what);
                return EXIT_WRAPPER_FAILED;
        }

        if (opts->net_pool_set)
                sup.net.pool = opts->net_pool;
        sup.net.dns_upstream = opts->dns_upstream;
        SandboxHooks hooks = { .admit = records_admit, .started = records_started, .net = records_net,
                               .proc = records_proc, .userdata = &records };
        r = sandbox_run(&sup, &opts->spec, t_start, &hooks, res);
        if (r < 0)
                log_debug_errno(r, "supervisor failure: %m");
        explain(res, &opts->spec);
        status = res->exit_status;
        supervisor_done(&sup);
        journal = records.journal;

        /* The records are durable before the caller hears the outcome. */
        if (journal && (run_journal_exit(journal, &opts->spec, res) < 0 ||
                        (opts->journal_fsync != JOURNAL_FSYNC_NEVER && journal_flush(journal) < 0)))
                status = EXIT_WRAPPER_FAILED;
        (void) journal_close(journal);

        if (opts->result_json) {
                r = sandbox_result_write(opts->result_json, &opts->spec, res);
                if (r < 0) {
                        log_error_errno(r, "cannot write the result to '%s': %m", opts->result_json);
                        status = EXIT_WRAPPER_FAILED;
                }
        }
        log_debug("request %s: cause %s, status %d, startup %.3f ms, wall %.3f ms", opts->spec.request_id,
                  exit_cause_to_string(res->cause), res->exit_status, res->startup_ms, res->wall_ms);
        return status;
}

void run_refused(const RunOptions *opts, const char *reason, double policy_ms) {
        Journal *journal = NULL;
        char tenant[32];

        (void) snprintf(tenant, sizeof tenant, "uid:%u", (unsigned) getuid());
        /* A refusal is a decision too: on record, with its reason. */
        if (!opts->no_journal && open_journal(opts, &journal) >= 0)
                (void) run_journal_admission(journal, &opts->spec, tenant, false, reason, policy_ms);
        (void) journal_close(journal);
}

/* The profile's spec, then the command line over it, with the caller's
 * environment host_env (the embedded caller's own, or the one a daemon
 * client sent). */
int run_apply_profile(RunOptions *opts, const Profile *prof, char **host_env, char *err, size_t errlen) {
        char why[256] = "";
        int r;

        r = sandbox_spec_from_profile(&opts->spec, prof, host_env, opts->secret_store, why, sizeof why);
        if (r >= 0)
                r = run_options_apply(opts, host_env);
        if (r < 0)
                (void) snprintf(err, errlen, "%s", why[0] ? why : strerror(-r));
        return r;
}

int run_load_profile(const char *name, Profile *prof, SyscallFilter *filter, char *err, size_t errlen) {
        ProfileError perr = {};
        char why[256];
        int r;

        err[0] = 0;
        r = profile_load(name, prof, &perr);
        if (r < 0) {
                if (perr.line > 0)
                        (void) snprintf(err, errlen, "%s:%u:%u: %s", perr.file, perr.line, perr.column, perr.message);
                else if (perr.message[0])
                        (void) snprintf(err, errlen, "%s%s%s", perr.file, perr.file[0] ? ": " : "", perr.message);
                else
                        (void) snprintf(err, errlen, "cannot load profile '%s': %s", name, strerror(-r));
                return r;
        }
        r = syscall_filter_compile(&prof->seccomp, prof->mode == PROFILE_MODE_AUDIT, filter, why, sizeof why);
        if (r < 0) {
                (void) snprintf(err, errlen, "profile '%s': %s", prof->name, why);
                return r;
        }
        return 0;
}

int run_resolve(RunOptions *opts, Profile *prof, SyscallFilter *filter, char *err, size_t errlen) {
        int r;

        r = run_load_profile(opts->profile ? opts->profile : "default", prof, filter, err, errlen);
        if (r >= 0)
                r = run_apply_profile(opts, prof, environ, err, errlen);
        if (r < 0)
                return r;
        opts->spec.filter = filter;
        return 0;
}
