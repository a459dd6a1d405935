/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admission.h"
#include "daemon-config.h"

#define SHA_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define SHA_A_UPPER "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
#define SHA_B "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

/* ---- helpers ---- */

static char tmpdir[PATH_MAX];

static void setup(void) {
        (void) snprintf(tmpdir, sizeof tmpdir, "%s/test-admission-XXXXXX", getenv("TMPDIR") ?: "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
        char path[PATH_MAX + 32];
        (void) snprintf(path, sizeof path, "%s/c.yaml", tmpdir);
        (void) unlink(path);
        (void) rmdir(tmpdir);
}

static void load(const char *text, DaemonConfig *ret) {
        char path[PATH_MAX + 32];
        DaemonConfigError e = {};
        FILE *f;
        int r;

        (void) snprintf(path, sizeof path, "%s/c.yaml", tmpdir);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
        ck_assert_int_eq(fclose(f), 0);
        r = daemon_config_load(path, ret, &e);
        ck_assert_msg(r == 0, "config: %s:%u:%u: %s", e.file, e.line, e.column, e.message);
}

static const char policy_yaml[] =
        "tenants:\n"
        "  - name: ci\n"
        "    uids: [1001]\n"
        "    profiles: [default, python]\n"
        "    task_classes: [batch]\n"
        "    code_origins:\n"
        "      generated: any\n"
        "      vendor: [" SHA_A "]\n"
        "    secrets: [token]\n"
        "  - name: dev\n"
        "    gids: [3000]\n"
        "    profiles: [shell, /etc/stockade/profiles/x.yaml]\n";

/* A request of ci that passes every policy step. */
static AdmissionRequest ci_request(void) {
        return (AdmissionRequest) {
                .uid = 1001,
                .gid = 1001,
                .profile = "python",
                .task_class = "batch",
                .code_origin = "generated",
        };
}

static void assert_steps(const AdmissionDecision *d, AdmissionStep last, bool last_ok) {
        for (AdmissionStep s = 0; s < _ADM_STEP_MAX; s++) {
                ck_assert_msg(d->steps[s].done == (s <= last), "step %s done=%d", admission_step_to_string(s),
                              d->steps[s].done);
                if (s < last)
                        ck_assert_msg(d->steps[s].ok, "step %s not ok: %s", admission_step_to_string(s),
                                      d->steps[s].detail);
                if (s <= last)
                        ck_assert(d->steps[s].ms >= 0);
        }
        ck_assert(d->steps[last].ok == last_ok);
        ck_assert(d->policy_ms >= 0);
}

/* The request is refused at step, with exactly this reason. */
static void expect_deny(Admission *a, const AdmissionRequest *req, AdmissionStep step, const char *reason) {
        AdmissionDecision d;

        admission_decide(a, req, 0, &d);
        ck_assert_msg(d.verdict == ADMIT_DENY, "admitted, expected: %s", reason);
        ck_assert_msg(d.refused_at == step, "refused at %s, expected %s (%s)", admission_step_to_string(d.refused_at),
                      admission_step_to_string(step), d.reason);
        ck_assert_str_eq(d.reason, reason);
        ck_assert_str_eq(d.steps[step].detail, reason);
        assert_steps(&d, step, false);
}

static AdmissionVerdict decide(Admission *a, const AdmissionRequest *req, double now_ms, AdmissionDecision *d) {
        admission_decide(a, req, now_ms, d);
        return d->verdict;
}

/* ---- policy steps ---- */

START_TEST(test_step_names) {
        static const char *const want[] = { "tenant", "profile", "task_class", "code_origin", "secrets", "quota" };
        for (AdmissionStep s = 0; s < _ADM_STEP_MAX; s++)
                ck_assert_str_eq(admission_step_to_string(s), want[s]);
        ck_assert_ptr_null(admission_step_to_string(_ADM_STEP_MAX));
        ck_assert_ptr_null(admission_step_to_string((AdmissionStep) -1));
}
END_TEST

START_TEST(test_admit) {
        DaemonConfig c = {};
        Admission a;
        AdmissionDecision d;
        AdmissionRequest req = ci_request();

        load(policy_yaml, &c);
        ck_assert_int_eq(admission_init(&a, &c), 0);
        ck_assert_int_eq(decide(&a, &req, 0, &d), ADMIT_RUN);
        ck_assert_ptr_eq(d.tenant, &c.tenants[0]);
        assert_steps(&d, ADM_QUOTA, true);
        ck_assert_str_eq(d.steps[ADM_TENANT].detail, "tenant 'ci' (uid 1001)");
        ck_assert_str_eq(d.steps[ADM_PROFILE].detail, "profile 'python'");
        ck_assert_uint_eq(admission_running(&a, "ci"), 1);

        /* dev by a supplementary group; NULL fields take their defaults
         * and dev restricts neither class nor origin. */
        {
                const gid_t groups[] = { 10, 3000 };
                AdmissionRequest r = {
                        .uid = 4000,
                        .gid = 4000,
                        .groups = groups,
                        .n_groups = 2,
                        .profile = "/etc/stockade/profiles/x.yaml",
                        .code_origin = "anything",
                };
                ck_assert_int_eq(decide(&a, &r, 0, &d), ADMIT_RUN);
                ck_assert_str_eq(d.tenant->name, "dev");
                ck_assert_str_eq(d.steps[ADM_TASK_CLASS].detail, "task class 'interactive'");
        }
        admission_done(&a);
        daemon_config_done(&c);
}
END_TEST

START_TEST(test_refusals) {
        DaemonConfig c = {};
        Admission a;
        AdmissionRequest req;
        char *const bad_secrets[] = { "token", "db-password", NULL };
        char *const good_secrets[] = { "token", NULL };

        load(policy_yaml, &c);
        ck_assert_int_eq(admission_init(&a, &c), 0);

        req = ci_request();
        req.uid = 5000;
        req.gid = 5001;
        expect_deny(&a, &req, ADM_TENANT, "uid 5000 (gid 5001) is no tenant of this daemon");

        req = ci_request();
        req.profile = "shell";
        expect_deny(&a, &req, ADM_PROFILE, "tenant 'ci' may not use profile 'shell'");
        req.profile = NULL; /* "default" is listed for ci, not for dev */
        req.secrets = good_secrets;
        {
                AdmissionDecision d;
                ck_assert_int_eq(decide(&a, &req, 0, &d), ADMIT_RUN);
                ck_assert_str_eq(d.steps[ADM_PROFILE].detail, "profile 'default'");
        }
        {
                AdmissionRequest r = { .uid = 1, .gid = 3000 };
                expect_deny(&a, &r, ADM_PROFILE, "tenant 'dev' may not use profile 'default'");
        }

        req = ci_request();
        req.task_class = "interactive";
        expect_deny(&a, &req, ADM_TASK_CLASS, "tenant 'ci' may not run task class 'interactive'");
        req.task_class = NULL; /* "interactive" */
        expect_deny(&a, &req, ADM_TASK_CLASS, "tenant 'ci' may not run task class 'interactive'");

        req = ci_request();
        req.code_origin = "user";
        expect_deny(&a, &req, ADM_CODE_ORIGIN, "tenant 'ci' may not submit code of origin 'user'");
        req.code_origin = NULL; /* "user" */
        expect_deny(&a, &req, ADM_CODE_ORIGIN, "tenant 'ci' may not submit code of origin 'user'");
        req.code_origin = "vendor";
        req.code_sha256 = NULL; /* a command */
        expect_deny(&a, &req, ADM_CODE_ORIGIN,
                    "tenant 'ci': origin 'vendor' is pinned and takes only scripts whose SHA-256 is listed, "
                    "not a command");
        req.code_sha256 = SHA_B;
        expect_deny(&a, &req, ADM_CODE_ORIGIN, "tenant 'ci': script sha256 " SHA_B " is not listed for origin 'vendor'");
        req.code_sha256 = SHA_A_UPPER; /* compared without case */
        {
                AdmissionDecision d;
                ck_assert_int_eq(decide(&a, &req, 0, &d), ADMIT_RUN);
        }

        req = ci_request();
        req.secrets = bad_secrets;
        expect_deny(&a, &req, ADM_SECRETS, "tenant 'ci' is not granted secret 'db-password'");
        {
                /* dev lists no secrets at all. */
                AdmissionRequest r = { .uid = 1, .gid = 3000, .profile = "shell", .secrets = good_secrets };
                expect_deny(&a, &r, ADM_SECRETS, "tenant 'dev' is not granted secret 'token'");
        }

        /* Only admissions took slots. */
        ck_assert_uint_eq(admission_running(&a, "ci"), 2);
        ck_assert_uint_eq(admission_running(&a, "dev"), 0);
        admission_done(&a);
        daemon_config_done(&c);
}
END_TEST

START_TEST(test_order) {
        DaemonConfig c = {};
        Admission a;
        AdmissionRequest req;
        char *const bad_secrets[] = { "nope", NULL };

        load(policy_yaml, &c);
        ck_assert_int_eq(admission_init(&a, &c), 0);

        /* Profile, class, origin and secrets all wrong: the profile refuses. */
        req = (AdmissionRequest) {
                .uid = 1001,
                .gid = 1001,
                .profile = "shell",
                .task_class = "interactive",
                .code_origin = "user",
                .secrets = bad_secrets,
        };
        expect_deny(&a, &req, ADM_PROFILE, "tenant 'ci' may not use profile 'shell'");
        req.profile = "default";
        expect_deny(&a, &req, ADM_TASK_CLASS, "tenant 'ci' may not run task class 'interactive'");
        req.task_class = "batch";
        expect_deny(&a, &req, ADM_CODE_ORIGIN, "tenant 'ci' may not submit code of origin 'user'");
        req.code_origin = "generated";
        expect_deny(&a, &req, ADM_SECRETS, "tenant 'ci' is not granted secret 'nope'");

        /* An unknown caller with everything else wrong too. */
        req.uid = 9;
        req.gid = 9;
        expect_deny(&a, &req, ADM_TENANT, "uid 9 (gid 9) is no tenant of this daemon");
        admission_done(&a);
        daemon_config_done(&c);
}
END_TEST

/* ---- quotas ---- */

START_TEST(test_concurrency_queue) {
        DaemonConfig c = {};
        Admission a;
        AdmissionDecision d;
        AdmissionRequest req = { .uid = 1, .gid = 1, .profile = "p" };

        load("tenants:\n  - {name: q, uids: [1], profiles: [p], max_queued: 2}\n", &c);
        ck_assert_int_eq(admission_init(&a, &c), 0);

        for (unsigned i = 0; i < 8; i++) {
                ck_assert_int_eq(decide(&a, &req, i, &d), ADMIT_RUN);
                assert_steps(&d, ADM_QUOTA, true);
        }
        ck_assert_uint_eq(admission_running(&a, "q"), 8);
        ck_assert_int_eq(decide(&a, &req, 10, &d), ADMIT_QUEUE);
        assert_steps(&d, ADM_QUOTA, true);
        ck_assert_int_eq(decide(&a, &req, 11, &d), ADMIT_QUEUE);
        ck_assert_uint_eq(admission_queued(&a, "q"), 2);

        ck_assert_int_eq(decide(&a, &req, 12, &d), ADMIT_DENY);
        ck_assert_int_eq(d.refused_at, ADM_QUOTA);
        ck_assert_str_eq(d.reason, "tenant 'q': 8 tasks running (max_concurrent 8) and the queue is full (max_queued 2)");
        assert_steps(&d, ADM_QUOTA, false);
        ck_assert_uint_eq(admission_running(&a, "q"), 8);
        ck_assert_uint_eq(admission_queued(&a, "q"), 2);

        /* No slot: the queue waits. A slot frees: one moves up. */
        ck_assert(!admission_try_dequeue(&a, "q", 13));
        admission_finished(&a, "q");
        ck_assert_uint_eq(admission_running(&a, "q"), 7);
        ck_assert(admission_try_dequeue(&a, "q", 14));
        ck_assert_uint_eq(admission_running(&a, "q"), 8);
        ck_assert_uint_eq(admission_queued(&a, "q"), 1);
        ck_assert(!admission_try_dequeue(&a, "q", 15));

        /* A queued one gives up; the queue has room again. */
        admission_unqueue(&a, "q");
        ck_assert_uint_eq(admission_queued(&a, "q"), 0);
        admission_unqueue(&a, "q"); /* never below zero */
        ck_assert_uint_eq(admission_queued(&a, "q"), 0);
        ck_assert(!admission_try_dequeue(&a, "q", 16)); /* nothing queued */
        ck_assert_int_eq(decide(&a, &req, 17, &d), ADMIT_QUEUE);

        for (unsigned i = 0; i < 10; i++)
                admission_finished(&a, "q");
        ck_assert_uint_eq(admission_running(&a, "q"), 0);
        ck_assert_uint_eq(admission_running(&a, "nobody"), 0);
        ck_assert_uint_eq(admission_queued(&a, "nobody"), 0);
        ck_assert(!admission_try_dequeue(&a, "nobody", 0));
        admission_finished(&a, "nobody");
        admission_done(&a);
        daemon_config_done(&c);
}
END_TEST

START_TEST(test_no_queue) {
        DaemonConfig c = {};
        Admission a;
        AdmissionDecision d;
        AdmissionRequest req = { .uid = 1, .gid = 1, .profile = "p" };

        load("tenants:\n  - {name: one, uids: [1], profiles: [p], max_concurrent: 1}\n", &c);
        ck_assert_int_eq(admission_init(&a, &c), 0);
        ck_assert_int_eq(decide(&a, &req, 0, &d), ADMIT_RUN);
        ck_assert_int_eq(decide(&a, &req, 0, &d), ADMIT_DENY);
        ck_assert_str_eq(d.reason,
                         "tenant 'one': 1 tasks running (max_concurrent 1) and the queue is full (max_queued 0)");
        admission_done(&a);
        daemon_config_done(&c);
}
END_TEST

START_TEST(test_rate_window) {
        DaemonConfig c = {};
        Admission a;
        AdmissionDecision d;
        AdmissionRequest req = { .uid = 1, .gid = 1, .profile = "p" };

        load("tenants:\n  - {name: r, uids: [1], profiles: [p], rate_per_minute: 3, max_queued: 5}\n", &c);
        ck_assert_int_eq(admission_init(&a, &c), 0);

        ck_assert_int_eq(decide(&a, &req, 0, &d), ADMIT_RUN);
        ck_assert_int_eq(decide(&a, &req, 1000, &d), ADMIT_RUN);
        ck_assert_int_eq(decide(&a, &req, 2000, &d), ADMIT_RUN);
        /* A fourth at 10 s: refused although slots and queue places are free. */
        ck_assert_int_eq(decide(&a, &req, 10000, &d), ADMIT_DENY);
        ck_assert_int_eq(d.refused_at, ADM_QUOTA);
        ck_assert_str_eq(d.reason, "tenant 'r': rate quota reached (3 per minute)");
        ck_assert_uint_eq(admission_queued(&a, "r"), 0);
        /* Just before the first leaves the window. */
        ck_assert_int_eq(decide(&a, &req, 59999, &d), ADMIT_DENY);
        /* At 61 s those of 0 s and 1 s have left it: one more fits ... */
        ck_assert_int_eq(decide(&a, &req, 61000, &d), ADMIT_RUN);
        /* ... and a second (2 s and 61 s in the window) ... */
        ck_assert_int_eq(decide(&a, &req, 61500, &d), ADMIT_RUN);
        /* ... but not a third. */
        ck_assert_int_eq(decide(&a, &req, 61600, &d), ADMIT_DENY);
        ck_assert_str_eq(d.reason, "tenant 'r': rate quota reached (3 per minute)");
        ck_assert_int_eq(decide(&a, &req, 62000, &d), ADMIT_RUN); /* 2 s left at 62 s */
        ck_assert_uint_eq(admission_running(&a, "r"), 6);
        admission_done(&a);
        daemon_config_done(&c);
}
END_TEST

START_TEST(test_dequeue_rate) {
        DaemonConfig c = {};
        Admission a;
        AdmissionDecision d;
        AdmissionRequest req = { .uid = 1, .gid = 1, .profile = "p" };

        load("tenants:\n"
             "  - {name: r, uids: [1], profiles: [p], max_concurrent: 1, rate_per_minute: 2, max_queued: 5}\n",
             &c);
        ck_assert_int_eq(admission_init(&a, &c), 0);

        ck_assert_int_eq(decide(&a, &req, 0, &d), ADMIT_RUN);
        ck_assert_int_eq(decide(&a, &req, 1000, &d), ADMIT_QUEUE);
        ck_assert_int_eq(decide(&a, &req, 1500, &d), ADMIT_QUEUE);
        ck_assert_uint_eq(admission_queued(&a, "r"), 2);

        admission_finished(&a, "r");
        ck_assert(admission_try_dequeue(&a, "r", 2000)); /* the 2nd admission of the minute */
        ck_assert_uint_eq(admission_queued(&a, "r"), 1);
        admission_finished(&a, "r");
        /* A free slot, but the rate is spent until the admission of 0 s ages out. */
        ck_assert(!admission_try_dequeue(&a, "r", 3000));
        ck_assert(!admission_try_dequeue(&a, "r", 59999));
        ck_assert_uint_eq(admission_queued(&a, "r"), 1);
        ck_assert_uint_eq(admission_running(&a, "r"), 0);
        ck_assert(admission_try_dequeue(&a, "r", 60000));
        ck_assert_uint_eq(admission_queued(&a, "r"), 0);
        ck_assert_uint_eq(admission_running(&a, "r"), 1);
        /* The dequeue counted for the rate: 2 s and 60 s are in the window. */
        admission_finished(&a, "r");
        ck_assert_int_eq(decide(&a, &req, 60001, &d), ADMIT_DENY);
        ck_assert_str_eq(d.reason, "tenant 'r': rate quota reached (2 per minute)");
        admission_done(&a);
        daemon_config_done(&c);
}
END_TEST

START_TEST(test_reload) {
        DaemonConfig c1 = {}, c2 = {}, c3 = {};
        Admission a;
        AdmissionDecision d;
        AdmissionRequest ra = { .uid = 1, .gid = 1, .profile = "p" };
        AdmissionRequest rb = { .uid = 2, .gid = 2, .profile = "p" };

        load("tenants:\n"
             "  - {name: a, uids: [1], profiles: [p], max_concurrent: 2, max_queued: 1, rate_per_minute: 3}\n"
             "  - {name: b, uids: [2], profiles: [p], max_concurrent: 1}\n"
             "  - {name: gone, uids: [3], profiles: [p]}\n",
             &c1);
        ck_assert_int_eq(admission_init(&a, &c1), 0);
        ck_assert_int_eq(decide(&a, &ra, 0, &d), ADMIT_RUN);
        ck_assert_int_eq(decide(&a, &ra, 1, &d), ADMIT_RUN);
        ck_assert_int_eq(decide(&a, &ra, 2, &d), ADMIT_QUEUE);
        ck_assert_int_eq(decide(&a, &rb, 3, &d), ADMIT_RUN);
        {
                AdmissionRequest rg = { .uid = 3, .gid = 3, .profile = "p" };
                ck_assert_int_eq(decide(&a, &rg, 4, &d), ADMIT_RUN);
        }

        /* Reordered, a's limits changed, gone removed, new added; uid 1 is now b's. */
        load("tenants:\n"
             "  - {name: new, uids: [9], profiles: [p]}\n"
             "  - {name: b, uids: [1, 2], profiles: [p], max_concurrent: 1}\n"
             "  - {name: a, uids: [5], profiles: [p], max_concurrent: 3, max_queued: 1, rate_per_minute: 3}\n",
             &c2);
        ck_assert_int_eq(admission_reload(&a, &c2), 0);
        daemon_config_done(&c1); /* admission keeps no pointer into the old config */
        ck_assert_ptr_eq(a.config, &c2);
        ck_assert_uint_eq(admission_running(&a, "a"), 2);
        ck_assert_uint_eq(admission_queued(&a, "a"), 1);
        ck_assert_uint_eq(admission_running(&a, "b"), 1);
        ck_assert_uint_eq(admission_running(&a, "new"), 0);
        ck_assert_uint_eq(admission_running(&a, "gone"), 1); /* until its task ends */

        /* b is full: uid 1 is b's now and counts against b's kept counter. */
        ck_assert_int_eq(decide(&a, &ra, 5, &d), ADMIT_DENY);
        ck_assert_str_eq(d.tenant->name, "b");
        ck_assert_str_eq(d.reason, "tenant 'b': 1 tasks running (max_concurrent 1) and the queue is full (max_queued 0)");

        /* a's window (admissions at 0 and 1) survived: one more run, then the rate. */
        {
                AdmissionRequest r5 = { .uid = 5, .gid = 5, .profile = "p" };
                ck_assert_int_eq(decide(&a, &r5, 10, &d), ADMIT_RUN);
                ck_assert_uint_eq(admission_running(&a, "a"), 3);
                admission_finished(&a, "a");
                ck_assert(!admission_try_dequeue(&a, "a", 20)); /* 3 in the window */
                ck_assert(admission_try_dequeue(&a, "a", 60000)); /* 0 aged out */
                ck_assert_uint_eq(admission_running(&a, "a"), 3);
        }

        /* A gone tenant with no queue starts nothing, and is forgotten
         * after its last task ended and the next reload. */
        ck_assert(!admission_try_dequeue(&a, "gone", 100000));
        admission_finished(&a, "gone");
        ck_assert_uint_eq(admission_running(&a, "gone"), 0);
        load("tenants:\n  - {name: a, uids: [5], profiles: [p], max_concurrent: 3}\n", &c3);
        ck_assert_int_eq(admission_reload(&a, &c3), 0);
        ck_assert_uint_eq(a.n_quotas, 2); /* a, and b with a task still running */
        ck_assert_uint_eq(admission_running(&a, "b"), 1);
        ck_assert_uint_eq(admission_running(&a, "a"), 3);
        /* a lost its rate limit: nothing holds it back but max_concurrent. */
        admission_finished(&a, "a");
        {
                AdmissionRequest r5 = { .uid = 5, .gid = 5, .profile = "p" };
                ck_assert_int_eq(decide(&a, &r5, 60001, &d), ADMIT_RUN);
        }

        admission_done(&a);
        daemon_config_done(&c2);
        daemon_config_done(&c3);
}
END_TEST

START_TEST(test_steps_json) {
        DaemonConfig c = {};
        Admission a;
        AdmissionDecision d;
        AdmissionRequest req = ci_request();
        struct json_object *j, *o, *v;

        load(policy_yaml, &c);
        ck_assert_int_eq(admission_init(&a, &c), 0);

        req.task_class = "interactive";
        admission_decide(&a, &req, 0, &d);
        j = admission_steps_to_json(&d);
        ck_assert_ptr_nonnull(j);
        ck_assert(json_object_is_type(j, json_type_array));
        ck_assert_uint_eq(json_object_array_length(j), 3); /* tenant, profile, task_class */
        for (size_t i = 0; i < 3; i++) {
                o = json_object_array_get_idx(j, i);
                ck_assert(json_object_object_get_ex(o, "step", &v));
                ck_assert_str_eq(json_object_get_string(v), admission_step_to_string((AdmissionStep) i));
                ck_assert(json_object_object_get_ex(o, "ok", &v));
                ck_assert(json_object_is_type(v, json_type_boolean));
                ck_assert(json_object_get_boolean(v) == (i < 2));
                ck_assert(json_object_object_get_ex(o, "ms", &v));
                ck_assert(json_object_is_type(v, json_type_double));
                ck_assert(json_object_get_double(v) >= 0);
                ck_assert(json_object_object_get_ex(o, "detail", &v));
                ck_assert_str_eq(json_object_get_string(v), d.steps[i].detail);
                ck_assert_int_eq(json_object_object_length(o), 4);
        }
        o = json_object_array_get_idx(j, 2);
        ck_assert(json_object_object_get_ex(o, "detail", &v));
        ck_assert_str_eq(json_object_get_string(v), "tenant 'ci' may not run task class 'interactive'");
        json_object_put(j);

        req = ci_request();
        admission_decide(&a, &req, 0, &d);
        j = admission_steps_to_json(&d);
        ck_assert_uint_eq(json_object_array_length(j), _ADM_STEP_MAX);
        json_object_put(j);
        admission_done(&a);
        daemon_config_done(&c);
}
END_TEST

static Suite *admission_suite(void) {
        Suite *s = suite_create("admission");
        TCase *tc = tcase_create("policy");
        TCase *tq = tcase_create("quota");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_step_names);
        tcase_add_test(tc, test_admit);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_order);
        tcase_add_test(tc, test_steps_json);
        suite_add_tcase(s, tc);

        tcase_add_checked_fixture(tq, setup, teardown);
        tcase_add_test(tq, test_concurrency_queue);
        tcase_add_test(tq, test_no_queue);
        tcase_add_test(tq, test_rate_window);
        tcase_add_test(tq, test_dequeue_rate);
        tcase_add_test(tq, test_reload);
        suite_add_tcase(s, tq);
        return s;
}

#include "check-main.h"
CHECK_MAIN(admission_suite)
