/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stockade journal replay: re-runs a recorded request with its recorded
 * profile, in audit mode, and sets the two outcomes side by side. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "commands.h"
#include "journal-store.h"
#include "run-exec.h"
#include "sandbox-profile.h"
#include "script.h"
#include "supervisor.h"
#include "syscall-filter.h"

extern char **environ;

typedef struct Found {
        const char *request_id;
        json_object *admission, *exit, *audit; /* owned references */
} Found;

static int collect(json_object *rec, const char *line, size_t len, void *userdata) {
        Found *f = userdata;
        json_object *v = NULL, **slot = NULL;
        const char *type;

        (void) line;
        (void) len;
        if (!json_object_object_get_ex(rec, "request_id", &v) || !json_object_is_type(v, json_type_string) ||
            !streq(json_object_get_string(v), f->request_id))
                return 0;
        if (!json_object_object_get_ex(rec, "type", &v))
                return 0;
        type = json_object_get_string(v);
        if (streq(type, "admission"))
                slot = &f->admission;
        else if (streq(type, "exit"))
                slot = &f->exit;
        else if (streq(type, "audit"))
                slot = &f->audit;
        if (slot) {
                json_object_put(*slot);
                *slot = json_object_get(rec);
        }
        return 0;
}

/* A string at a dotted path, or NULL. */
static const char *get(json_object *o, const char *path) {
        char buf[128], *save = NULL;
        (void) snprintf(buf, sizeof buf, "%s", path);
        for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
                if (!json_object_object_get_ex(o, k, &o))
                        return NULL;
        return o && !json_object_is_type(o, json_type_null) ? json_object_get_string(o) : NULL;
}

static int spec_from_admission(json_object *adm, const char *dir, SandboxSpec *spec, char *err, size_t errlen) {
        json_object *argv = NULL;
        const char *origin = get(adm, "code.origin");
        size_t n;
        int r;

        if (!json_object_object_get_ex(adm, "argv", &argv) || !json_object_is_type(argv, json_type_array) ||
            (n = json_object_array_length(argv)) == 0)
                return errbuf_set(err, errlen, "the admission record has no argv");
        spec->argv = calloc(n + 1, sizeof(char *));
        if (!spec->argv)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(spec->argv[i] = strdup(json_object_get_string(json_object_array_get_idx(argv, i)))))
                        return -ENOMEM;
        if (!origin || !streq(origin, "script")) {
                spec->origin = CODE_COMMAND;
                return 0;
        }

        const char *sha = get(adm, "code.sha256"), *path = get(adm, "code.path");
        if (!sha || !path)
                return errbuf_set(err, errlen, "the admission record names a script without its hash");
        r = journal_load_object(dir, "code", sha, &spec->script_data, &spec->script_len);
        if (r == -ENOENT)
                return errbuf_set(err, errlen, "the script %s was not kept (its profile did not say keep_code: true)",
                                  sha);
        if (r < 0)
                return errbuf_set(err, errlen, "cannot read the kept script %s: %s", sha, strerror(-r));
        spec->origin = CODE_SCRIPT;
        (void) snprintf(spec->script_sha256, sizeof spec->script_sha256, "%s", sha);
        spec->script_host_path = strdup(path);
        for (size_t i = 0; i < n && !spec->script_path; i++)
                if (strncmp(spec->argv[i], SCRIPT_DIR "/", strlen(SCRIPT_DIR) + 1) == 0)
                        spec->script_path = strdup(spec->argv[i]);
        if (!spec->script_host_path || !spec->script_path)
                return errbuf_set(err, errlen, "the recorded argv does not name the script's path");
        return 0;
}

static void side_by_side(const char *what, const char *old, const char *new) {
        fprintf(stderr, "  %-16s %-66s %s\n", what, old ? old : "-", new ? new : "-");
}

/* Prints the comparison on stderr (stdout is the task's); true when the
 * outcomes agree. */
static bool compare(const Found *f, const SandboxSpec *spec, const SandboxResult *res) {
        _cleanup_free_ char *json = NULL;
        json_object *now;
        char old_exit[64], new_exit[64];
        bool same = true;

        now = sandbox_result_to_object(spec, res);
        if (!now)
                return false;
        (void) snprintf(old_exit, sizeof old_exit, "%s (%s)", get(f->exit, "exit.status") ?: "?",
                        get(f->exit, "exit.cause") ?: "?");
        (void) snprintf(new_exit, sizeof new_exit, "%s (%s)", get(now, "exit.status") ?: "?",
                        get(now, "exit.cause") ?: "?");
        fprintf(stderr, "replay of %s as %s:\n", f->request_id, spec->request_id);
        side_by_side("", "recorded", "replay");
        side_by_side("exit", old_exit, new_exit);
        same = same && streq(old_exit, new_exit);
        for (int i = 0; i < 2; i++) {
                const char *k = i == 0 ? "output.stdout_sha256" : "output.stderr_sha256";
                const char *o = get(f->exit, k), *n = get(now, k);
                side_by_side(i == 0 ? "stdout sha256" : "stderr sha256", o, n);
                /* Unrecorded (the run had no output cap) is not a difference. */
                same = same && (!o || (n && streq(o, n)));
        }
        {
                json_object *a = NULL;
                char buf[64];
                size_t was = 0;
                if (f->audit && json_object_object_get_ex(f->audit, "audit", &a) &&
                    json_object_object_get_ex(a, "total", &a))
                        was = (size_t) json_object_get_int64(a);
                (void) snprintf(buf, sizeof buf, "%llu", (unsigned long long) res->audit.total);
                char wbuf[32];
                (void) snprintf(wbuf, sizeof wbuf, "%zu", was);
                side_by_side("would-deny", f->audit ? wbuf : "- (not audited)", buf);
                for (size_t i = 0; i < res->audit.n && i < 8; i++) {
                        char line[96];
                        (void) snprintf(line, sizeof line, "nr %d x%llu (pid %d)", res->audit.e[i].nr,
                                        (unsigned long long) res->audit.e[i].count, (int) res->audit.e[i].pid);
                        side_by_side("", "", line);
                }
        }
        fprintf(stderr, "  %s\n", same ? "same outcome" : "DIFFERENT outcome");
        json_object_put(now);
        return same;
}

int cmd_journal_replay(int argc, char **argv) {
        static const struct option options[] = {
                { "journal", required_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        double t_start = monotonic_ms();
        RunOptions opts = { .uid = 65534, .gid = 65534 };
        Found f = {};
        Profile prof = {};
        ProfileError perr = {};
        SyscallFilter filter = {};
        SandboxResult res;
        _cleanup_free_ char *yaml = NULL;
        const char *dir = NULL, *psha;
        size_t ylen = 0;
        char err[1024], why[512];
        int c, r, status = EXIT_WRAPPER_FAILED;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
                if (c == 'j')
                        dir = optarg;
                else if (c == 'h') {
                        puts("usage: stockade journal replay [--journal DIR] REQUEST_ID");
                        return 0;
                } else {
                        log_error("journal replay: bad arguments; see 'stockade journal --help'");
                        return EXIT_WRAPPER_FAILED;
                }
        }
        if (optind != argc - 1) {
                log_error("journal replay needs exactly one REQUEST_ID; see 'stockade journal --help'");
                return EXIT_WRAPPER_FAILED;
        }
        if (geteuid() != 0) {
                log_error("journal replay runs a sandbox and needs root");
                return EXIT_WRAPPER_FAILED;
        }
        if (!dir)
                dir = getenv("STOCKADE_JOURNAL");
        if (!dir || !*dir)
                dir = JOURNAL_DIR_DEFAULT;
        f.request_id = argv[optind];

        r = journal_foreach(dir, collect, &f);
        if (r < 0) {
                log_error_errno(r, "cannot read the journal '%s': %m", dir);
                goto finish;
        }
        if (!f.admission || !get(f.admission, "decision") || !streq(get(f.admission, "decision"), "allow")) {
                log_error("no admitted request '%s' in '%s'", f.request_id, dir);
                goto finish;
        }

        psha = get(f.admission, "profile.sha256");
        r = psha ? journal_load_object(dir, "profiles", psha, &yaml, &ylen) : -ENOENT;
        if (r < 0) {
                log_error("the profile of '%s' is not kept in '%s' (%s)", f.request_id, dir, strerror(-r));
                goto finish;
        }
        r = profile_load_string(yaml, ylen, "journal profile", &prof, &perr);
        if (r < 0) {
                log_error("the kept profile of '%s' no longer loads: %s", f.request_id, perr.message);
                goto finish;
        }
        if (!streq(prof.sha256, psha))
                log_warning("the kept profile resolves differently now (a parent changed): %s, was %s", prof.sha256,
                            psha);
        /* Replay denies nothing and reports what enforce would have. */
        prof.mode = PROFILE_MODE_AUDIT;

        opts.journal = strdup(dir);
        if (!opts.journal || request_id_generate(opts.spec.request_id) < 0) {
                log_error("out of memory");
                goto finish;
        }
        r = spec_from_admission(f.admission, dir, &opts.spec, err, sizeof err);
        if (r >= 0)
                r = sandbox_spec_from_profile(&opts.spec, &prof, environ, NULL, why, sizeof why);
        if (r < 0) {
                log_error("cannot replay '%s': %s", f.request_id, err[0] ? err : why);
                goto finish;
        }
        (void) run_options_apply(&opts, environ);
        /* Relay the output so that its hashes can be compared. */
        if (opts.spec.limits.output_bytes == 0)
                opts.spec.limits.output_bytes = 64ULL << 20;
        r = syscall_filter_compile(&prof.seccomp, true, &filter, why, sizeof why);
        if (r < 0) {
                log_error("profile '%s': %s", prof.name, why);
                goto finish;
        }
        opts.spec.filter = &filter;

        (void) snprintf(why, sizeof why, "replay of %s", f.request_id);
        status = run_execute(&opts, &prof, t_start, 0, why, &res);
        if (status != EXIT_WRAPPER_FAILED || res.cause != CAUSE_SETUP_ERROR)
                status = compare(&f, &opts.spec, &res) ? 0 : 1;
finish:
        json_object_put(f.admission);
        json_object_put(f.exit);
        json_object_put(f.audit);
        syscall_filter_done(&filter);
        profile_done(&prof);
        run_options_done(&opts);
        return status;
}
