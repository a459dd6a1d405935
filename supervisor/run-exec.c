/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running one resolved task embedded, with its records: shared by run and
 * journal replay. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "exit-status.h"
#include "journal-store.h"
#include "run-exec.h"
#include "sandbox-profile.h"
#include "run-journal.h"
#include "supervisor.h"

extern char **environ;

/* One-line notes when a limit, not the task, ended the run. */
size_t run_explain(const SandboxResult *r, const SandboxSpec *spec, char lines[][RUN_EXPLAIN_LEN], size_t max) {
        const SandboxLimits *l = &spec->limits;
        size_t n = 0;

#define LINE(...) (n < max ? (void) snprintf(lines[n++], RUN_EXPLAIN_LEN, __VA_ARGS__) : (void) 0)
        switch (r->cause) {
        case CAUSE_OOM:
                LINE("task killed: out of memory (--memory %llu bytes)", (unsigned long long) l->memory_bytes);
                break;
        case CAUSE_TIMEOUT:
                LINE("task killed: timeout (--timeout %llums)", (unsigned long long) (l->timeout_usec / 1000));
                break;
        case CAUSE_CPU_TIME:
                LINE("task killed: cpu time limit (--cpu-time %llums)", (unsigned long long) (l->cpu_time_usec / 1000));
                break;
        case CAUSE_PIDS_LIMIT:
                LINE("task hit the process limit (--pids %llu)", (unsigned long long) l->pids);
                break;
        case CAUSE_SECCOMP:
                LINE("task killed by the seccomp filter (a syscall its profile forbids)");
                break;
        case CAUSE_CLIENT_GONE:
                LINE("task killed: the client that asked for it disconnected");
                break;
        case CAUSE_SHUTDOWN:
                LINE("task killed: stockaded shut down and the task outlived its grace period");
                break;
        case CAUSE_SETUP_ERROR:
                if (r->exit_status == 127)
                        LINE("%s: command not found in the sandbox", spec->argv[0]);
                else if (r->exit_status == 126)
                        LINE("%s: cannot execute in the sandbox: %s", spec->argv[0], strerror(r->error_errno));
                else
                        LINE("sandbox setup failed (%s): %s", r->error_phase, r->error_message);
                break;
        case CAUSE_OK:
        case CAUSE_EXIT_NONZERO:
        case CAUSE_SIGNAL:
        default:
                break;
        }
        if (r->output_cut)
                LINE("output cut at %llu bytes (the task wrote %llu)", (unsigned long long) l->output_bytes,
                     (unsigned long long) r->output_bytes);
        if (r->audit_mode && r->audit.total > 0)
                LINE("audit: %llu calls the profile would deny; see the result record",
                     (unsigned long long) r->audit.total);
#undef LINE
        return n;
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
        const RunAdmission *adm;
        const RunControl *ctl;
        Journal *journal;
        json_object *admission; /* put once the task runs: run_journal_admission_keep() */
} RunRecords;

static int records_admit(const SandboxSpec *spec, void *userdata) {
        RunRecords *rr = userdata;
        const RunAdmission *a = rr->adm;
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
        return run_journal_admission_keep(rr->journal, spec, a->tenant, a->reason, a->policy_ms, a->extra,
                                          &rr->admission);
}

static void records_started(const SandboxSpec *spec, const SandboxResult *r, void *userdata) {
        RunRecords *rr = userdata;
        json_object_put(rr->admission);
        rr->admission = NULL;
        if (rr->journal)
                run_journal_started(spec, r, rr->journal);
        if (rr->ctl && rr->ctl->started)
                rr->ctl->started(r, rr->ctl->userdata);
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

static int records_control(int fd, void *userdata) {
        RunRecords *rr = userdata;
        return rr->ctl->control(fd, rr->ctl->userdata);
}

int run_supervised(Supervisor *sup, RunOptions *opts, const Profile *prof, double t_start, const RunAdmission *adm,
                   const RunControl *ctl, SandboxResult *res) {
        RunRecords records = { .opts = opts, .prof = prof, .adm = adm, .ctl = ctl };
        SandboxHooks hooks = { .admit = records_admit, .started = records_started, .net = records_net,
                               .proc = records_proc, .control_fd = -1, .userdata = &records };
        int r, status;

        if (ctl && ctl->control) {
                hooks.control = records_control;
                hooks.control_fd = ctl->fd;
        }
        r = sandbox_run(sup, &opts->spec, t_start, &hooks, res);
        if (r < 0)
                log_debug_errno(r, "supervisor failure: %m");
        status = res->exit_status;

        /* The records are durable before the caller hears the outcome. */
        if (records.journal && (run_journal_exit(records.journal, &opts->spec, res) < 0 ||
                                (opts->journal_fsync != JOURNAL_FSYNC_NEVER && journal_flush(records.journal) < 0)))
                status = EXIT_WRAPPER_FAILED;
        json_object_put(records.admission);
        (void) journal_close(records.journal);
        log_debug("request %s: cause %s, status %d, startup %.3f ms, wall %.3f ms", opts->spec.request_id,
                  exit_cause_to_string(res->cause), res->exit_status, res->startup_ms, res->wall_ms);
        return status;
}

int run_execute(RunOptions *opts, const Profile *prof, double t_start, double policy_ms, const char *reason,
                SandboxResult *res) {
        char lines[4][RUN_EXPLAIN_LEN], tenant[32];
        RunAdmission adm = { .tenant = tenant, .reason = reason, .policy_ms = policy_ms };
        Supervisor sup;
        const char *what = NULL;
        int r, status;
        size_t n;

        sandbox_result_init(res);
        /* Embedded mode: the tenant is whoever invoked us. */
        (void) snprintf(tenant, sizeof tenant, "uid:%u", (unsigned) getuid());

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

        /* The request's labels, as stockaded records them. */
        adm.extra = json_object_new_object();
        if (adm.extra) {
                (void) json_object_object_add(adm.extra, "via", json_object_new_string("embedded"));
                (void) json_object_object_add(adm.extra, "code_origin_label",
                                              json_object_new_string(opts->code_origin ? opts->code_origin : "user"));
                (void) json_object_object_add(adm.extra, "attempt", json_object_new_int64(opts->attempt ? opts->attempt : 1));
                (void) json_object_object_add(adm.extra, "retry_of",
                                              opts->retry_of ? json_object_new_string(opts->retry_of) : NULL);
        }
        status = run_supervised(&sup, opts, prof, t_start, &adm, NULL, res);
        json_object_put(adm.extra);
        n = run_explain(res, &opts->spec, lines, ELEMENTSOF(lines));
        for (size_t i = 0; i < n; i++)
                log_error("%s", lines[i]);
        supervisor_done(&sup);

        if (opts->result_json) {
                r = sandbox_result_write(opts->result_json, &opts->spec, res);
                if (r < 0) {
                        log_error_errno(r, "cannot write the result to '%s': %m", opts->result_json);
                        status = EXIT_WRAPPER_FAILED;
                }
        }
        return status;
}

void run_refused(const RunOptions *opts, const char *reason, double policy_ms) {
        Journal *journal = NULL;
        char tenant[32];

        (void) snprintf(tenant, sizeof tenant, "uid:%u", (unsigned) getuid());
        /* A refusal is a decision too: on record, with its reason. */
        if (!opts->no_journal && open_journal(opts, &journal) >= 0)
                (void) run_journal_admission(journal, &opts->spec, tenant, false, reason, policy_ms, NULL);
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
