/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The first layer of the envelope in the daemon: for each request, in
 * order and each timed, tenant known -> profile allowed -> task class
 * allowed -> code origin allowed -> secrets granted -> quotas. Pure apart
 * from the clock: the caller passes "now" (CLOCK_MONOTONIC ms), so tests
 * drive time. Quota state is kept per tenant name and survives reloads. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "daemon-config.h"

struct json_object;

typedef enum AdmissionStep {
        ADM_TENANT,
        ADM_PROFILE,
        ADM_TASK_CLASS,
        ADM_CODE_ORIGIN,
        ADM_SECRETS,
        ADM_QUOTA,
        _ADM_STEP_MAX,
} AdmissionStep;

const char *admission_step_to_string(AdmissionStep s); /* "tenant", "profile", "task_class", "code_origin", "secrets", "quota" */

typedef struct AdmissionRequest {
        uid_t uid;
        gid_t gid;
        const gid_t *groups; /* supplementary (SO_PEERGROUPS) */
        size_t n_groups;
        const char *profile;      /* as asked; NULL: "default" */
        const char *task_class;   /* the profile's, or the request's override */
        const char *code_origin;  /* the caller's label; NULL: "user" */
        const char *code_sha256;  /* 64 hex of the script; NULL for a command (a pinned origin refuses it) */
        char *const *secrets;     /* secret names the profile gives the task, NULL-terminated; NULL: none */
} AdmissionRequest;

typedef enum AdmissionVerdict {
        ADMIT_RUN,   /* start now: a slot is taken (admission_finished() gives it back) */
        ADMIT_QUEUE, /* wait: a queue place is taken; admission_dequeue() when a slot frees */
        ADMIT_DENY,
} AdmissionVerdict;

typedef struct AdmissionStepResult {
        bool done;       /* the step ran (steps after a refusal do not) */
        bool ok;
        double ms;
        char detail[160]; /* what it found, e.g. "tenant 'ci' (uid 1000)" or why it refused */
} AdmissionStepResult;

typedef struct AdmissionDecision {
        AdmissionVerdict verdict;
        const Tenant *tenant;        /* NULL when unknown */
        AdmissionStep refused_at;    /* when ADMIT_DENY */
        char reason[256];            /* one line for the caller and the journal */
        AdmissionStepResult steps[_ADM_STEP_MAX];
        double policy_ms;            /* the whole decision */
} AdmissionDecision;

typedef struct TenantQuota TenantQuota; /* per tenant name: running, queued, rate window */

typedef struct Admission {
        const DaemonConfig *config; /* not owned */
        TenantQuota *quotas;
        size_t n_quotas;
} Admission;

int admission_init(Admission *a, const DaemonConfig *config);
/* Points at a new config; counters carry over by tenant name (a tenant
 * that is gone keeps its counters until its last task ends). */
int admission_reload(Admission *a, const DaemonConfig *config);
void admission_done(Admission *a);

void admission_decide(Admission *a, const AdmissionRequest *req, double now_ms, AdmissionDecision *ret);

/* A queued request of tenant: true when it may start now (its queue place
 * becomes a slot and counts for the rate). */
bool admission_try_dequeue(Admission *a, const char *tenant, double now_ms);
/* A queued request left the queue without running (timeout, client gone). */
void admission_unqueue(Admission *a, const char *tenant);
/* A running task of tenant ended: its slot is free. */
void admission_finished(Admission *a, const char *tenant);

unsigned admission_running(const Admission *a, const char *tenant);
unsigned admission_queued(const Admission *a, const char *tenant);

/* The steps for the journal's admission record: [{"step", "ok", "ms",
 * "detail"}, ...] of the steps that ran. */
struct json_object *admission_steps_to_json(const AdmissionDecision *d);
