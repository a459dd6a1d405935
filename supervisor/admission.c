/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Admission: the daemon's first yes or no. Policy steps read the config
 * only; the quota step keeps per-tenant counters here, keyed by tenant name
 * so that a reload (a new DaemonConfig, new Tenant pointers) keeps them.
 * Time comes from the caller, so the rate window is testable. */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admission.h"
#include "macro.h"

#define RATE_WINDOW_MS 60000.0

struct TenantQuota {
        char *name;
        unsigned running;
        unsigned queued;

        /* When the admissions of the last minute started, oldest first: a
         * ring of at most rate_per_minute entries (none without a rate). */
        double *ring;
        unsigned ring_cap;
        unsigned ring_head;
        unsigned ring_len;
};

static const char *const step_names[_ADM_STEP_MAX] = {
        [ADM_TENANT] = "tenant",
        [ADM_PROFILE] = "profile",
        [ADM_TASK_CLASS] = "task_class",
        [ADM_CODE_ORIGIN] = "code_origin",
        [ADM_SECRETS] = "secrets",
        [ADM_QUOTA] = "quota",
};

const char *admission_step_to_string(AdmissionStep s) {
        if ((int) s < 0 || s >= _ADM_STEP_MAX)
                return NULL;
        return step_names[s];
}

/* ---- quota state ---- */

static void quota_done(TenantQuota *q) {
        free(q->name);
        free(q->ring);
        *q = (TenantQuota) {};
}

static TenantQuota *quota_find(const Admission *a, const char *name) {
        if (!a || !name)
                return NULL;
        for (size_t i = 0; i < a->n_quotas; i++)
                if (streq(a->quotas[i].name, name))
                        return &a->quotas[i];
        return NULL;
}

static void ring_drop_oldest(TenantQuota *q) {
        q->ring_head = (q->ring_head + 1) % q->ring_cap;
        q->ring_len--;
}

/* Resizes the window to cap entries, keeping the newest. */
static int ring_resize(TenantQuota *q, unsigned cap) {
        double *n = NULL;
        unsigned keep;

        if (cap == q->ring_cap)
                return 0;
        keep = q->ring_len < cap ? q->ring_len : cap;
        if (cap > 0) {
                n = calloc(cap, sizeof *n);
                if (!n)
                        return -ENOMEM;
                for (unsigned i = 0; i < keep; i++)
                        n[i] = q->ring[(q->ring_head + q->ring_len - keep + i) % q->ring_cap];
        }
        free(q->ring);
        q->ring = n;
        q->ring_cap = cap;
        q->ring_head = 0;
        q->ring_len = keep;
        return 0;
}

/* Admissions in the minute before now (forgetting older ones). */
static unsigned ring_count(TenantQuota *q, double now_ms) {
        while (q->ring_len > 0 && now_ms - q->ring[q->ring_head] >= RATE_WINDOW_MS)
                ring_drop_oldest(q);
        return q->ring_len;
}

static void ring_push(TenantQuota *q, double now_ms) {
        if (q->ring_cap == 0)
                return;
        if (q->ring_len == q->ring_cap)
                ring_drop_oldest(q);
        q->ring[(q->ring_head + q->ring_len) % q->ring_cap] = now_ms;
        q->ring_len++;
}

static bool rate_allows(TenantQuota *q, const Tenant *t, double now_ms) {
        return t->rate_per_minute == 0 || ring_count(q, now_ms) < t->rate_per_minute;
}

static int quota_init(TenantQuota *q, const Tenant *t) {
        *q = (TenantQuota) {};
        q->name = strdup(t->name);
        if (!q->name)
                return -ENOMEM;
        if (ring_resize(q, t->rate_per_minute) < 0) {
                quota_done(q);
                return -ENOMEM;
        }
        return 0;
}

static TenantQuota *quota_get(Admission *a, const Tenant *t) {
        TenantQuota *q = quota_find(a, t->name), *n;

        if (q)
                return q;
        /* Not there from init/reload (a Tenant of another config): add it. */
        n = reallocarray(a->quotas, a->n_quotas + 1, sizeof *a->quotas);
        if (!n)
                return NULL;
        a->quotas = n;
        if (quota_init(&a->quotas[a->n_quotas], t) < 0)
                return NULL;
        return &a->quotas[a->n_quotas++];
}

static void quotas_free(TenantQuota *q, size_t n) {
        for (size_t i = 0; i < n; i++)
                quota_done(&q[i]);
        free(q);
}

int admission_init(Admission *a, const DaemonConfig *config) {
        if (!a || !config)
                return -EINVAL;
        *a = (Admission) {};
        return admission_reload(a, config);
}

int admission_reload(Admission *a, const DaemonConfig *config) {
        TenantQuota *n;
        size_t k = 0;

        if (!a || !config)
                return -EINVAL;
        n = calloc(config->n_tenants + a->n_quotas + 1, sizeof *n);
        if (!n)
                return -ENOMEM;

        /* First pass allocates whatever a kept quota needs, so a failure
         * leaves a untouched. */
        for (size_t i = 0; i < config->n_tenants; i++) {
                const Tenant *t = &config->tenants[i];
                TenantQuota *old = quota_find(a, t->name);

                if (old) {
                        double *ring = t->rate_per_minute ? calloc(t->rate_per_minute, sizeof *ring) : NULL;
                        char *name = strdup(t->name);

                        if ((t->rate_per_minute && !ring) || !name) {
                                free(ring);
                                free(name);
                                quotas_free(n, k);
                                return -ENOMEM;
                        }
                        n[k] = (TenantQuota) {
                                .name = name,
                                .running = old->running,
                                .queued = old->queued,
                                .ring = ring,
                                .ring_cap = t->rate_per_minute,
                        };
                        /* The newest timestamps carry over into the new window. */
                        {
                                unsigned keep = old->ring_len < n[k].ring_cap ? old->ring_len : n[k].ring_cap;
                                for (unsigned j = 0; j < keep; j++)
                                        ring[j] = old->ring[(old->ring_head + old->ring_len - keep + j) %
                                                            old->ring_cap];
                                n[k].ring_len = keep;
                        }
                } else if (quota_init(&n[k], t) < 0) {
                        quotas_free(n, k);
                        return -ENOMEM;
                }
                k++;
        }

        /* A tenant that is gone keeps its counters while tasks of it run or
         * wait; its rate window no longer matters. */
        for (size_t i = 0; i < a->n_quotas; i++) {
                TenantQuota *old = &a->quotas[i];

                if (daemon_config_tenant_by_name(config, old->name))
                        continue;
                if (old->running == 0 && old->queued == 0)
                        continue;
                n[k] = (TenantQuota) {
                        .name = strdup(old->name),
                        .running = old->running,
                        .queued = old->queued,
                };
                if (!n[k].name) {
                        quotas_free(n, k);
                        return -ENOMEM;
                }
                k++;
        }

        quotas_free(a->quotas, a->n_quotas);
        a->quotas = n;
        a->n_quotas = k;
        a->config = config;
        return 0;
}

void admission_done(Admission *a) {
        if (!a)
                return;
        quotas_free(a->quotas, a->n_quotas);
        *a = (Admission) {};
}

/* ---- the decision ---- */

static double mono_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

static bool strv_has(char *const *v, const char *s) {
        for (; v && *v; v++)
                if (streq(*v, s))
                        return true;
        return false;
}

typedef struct Step {
        AdmissionDecision *d;
        AdmissionStep s;
        double start;
} Step;

static Step step_begin(AdmissionDecision *d, AdmissionStep s) {
        return (Step) { .d = d, .s = s, .start = mono_ms() };
}

static void step_end(Step *st, bool ok, const char *fmt, ...) _printf_(3, 4);
static void step_end(Step *st, bool ok, const char *fmt, ...) {
        AdmissionStepResult *r = &st->d->steps[st->s];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(r->detail, sizeof r->detail, fmt, ap);
        va_end(ap);
        r->done = true;
        r->ok = ok;
        r->ms = mono_ms() - st->start;
}

/* A refusal: the reason in full, the step's detail as much as fits. */
static void step_refuse(Step *st, const char *fmt, ...) _printf_(2, 3);
static void step_refuse(Step *st, const char *fmt, ...) {
        AdmissionDecision *d = st->d;
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(d->reason, sizeof d->reason, fmt, ap);
        va_end(ap);
        d->verdict = ADMIT_DENY;
        d->refused_at = st->s;
        step_end(st, false, "%s", d->reason);
}

/* Each returns false after refusing. */

static bool check_tenant(AdmissionDecision *d, const Admission *a, const AdmissionRequest *req) {
        Step st = step_begin(d, ADM_TENANT);

        d->tenant = daemon_config_tenant(a->config, req->uid, req->gid, req->groups, req->n_groups);
        if (!d->tenant) {
                step_refuse(&st, "uid %u (gid %u) is no tenant of this daemon", (unsigned) req->uid,
                            (unsigned) req->gid);
                return false;
        }
        step_end(&st, true, "tenant '%s' (uid %u)", d->tenant->name, (unsigned) req->uid);
        return true;
}

static bool check_profile(AdmissionDecision *d, const AdmissionRequest *req) {
        Step st = step_begin(d, ADM_PROFILE);
        const char *profile = req->profile ?: "default";

        if (!strv_has(d->tenant->profiles, profile)) {
                step_refuse(&st, "tenant '%s' may not use profile '%s'", d->tenant->name, profile);
                return false;
        }
        step_end(&st, true, "profile '%s'", profile);
        return true;
}

static bool check_task_class(AdmissionDecision *d, const AdmissionRequest *req) {
        Step st = step_begin(d, ADM_TASK_CLASS);
        const char *class = req->task_class ?: "interactive";

        if (d->tenant->task_classes && !strv_has(d->tenant->task_classes, class)) {
                step_refuse(&st, "tenant '%s' may not run task class '%s'", d->tenant->name, class);
                return false;
        }
        step_end(&st, true, "task class '%s'", class);
        return true;
}

static bool check_code_origin(AdmissionDecision *d, const AdmissionRequest *req) {
        Step st = step_begin(d, ADM_CODE_ORIGIN);
        const Tenant *t = d->tenant;
        const char *label = req->code_origin ?: "user";
        const TenantOrigin *o = NULL;

        if (t->n_origins == 0) {
                step_end(&st, true, "origin '%s' (tenant lists no origins)", label);
                return true;
        }
        for (size_t i = 0; i < t->n_origins && !o; i++)
                if (streq(t->origins[i].label, label))
                        o = &t->origins[i];
        if (!o) {
                step_refuse(&st, "tenant '%s' may not submit code of origin '%s'", t->name, label);
                return false;
        }
        if (!o->sha256) {
                step_end(&st, true, "origin '%s' (any code)", label);
                return true;
        }
        if (!req->code_sha256) {
                step_refuse(&st,
                            "tenant '%s': origin '%s' is pinned and takes only scripts whose SHA-256 is listed, "
                            "not a command",
                            t->name, label);
                return false;
        }
        for (char **s = o->sha256; *s; s++)
                if (strcasecmp(*s, req->code_sha256) == 0) {
                        step_end(&st, true, "origin '%s' (sha256 %.16s... listed)", label, *s);
                        return true;
                }
        step_refuse(&st, "tenant '%s': script sha256 %.64s is not listed for origin '%s'", t->name, req->code_sha256,
                    label);
        return false;
}

static bool check_secrets(AdmissionDecision *d, const AdmissionRequest *req) {
        Step st = step_begin(d, ADM_SECRETS);
        size_t n = 0;

        for (char *const *s = req->secrets; s && *s; s++, n++)
                if (!strv_has(d->tenant->secrets, *s)) {
                        step_refuse(&st, "tenant '%s' is not granted secret '%s'", d->tenant->name, *s);
                        return false;
                }
        step_end(&st, true, "%zu secret%s granted", n, n == 1 ? "" : "s");
        return true;
}

static void check_quota(AdmissionDecision *d, Admission *a, double now_ms) {
        Step st = step_begin(d, ADM_QUOTA);
        const Tenant *t = d->tenant;
        TenantQuota *q = quota_get(a, t);
        bool rate_ok;

        if (!q) {
                step_refuse(&st, "tenant '%s': out of memory keeping its quota", t->name);
                return;
        }
        rate_ok = rate_allows(q, t, now_ms);
        if (q->running < t->max_concurrent && rate_ok) {
                q->running++;
                ring_push(q, now_ms);
                d->verdict = ADMIT_RUN;
                step_end(&st, true, "run: %u of %u slots taken", q->running, t->max_concurrent);
                return;
        }
        if (!rate_ok) {
                step_refuse(&st, "tenant '%s': rate quota reached (%u per minute)", t->name, t->rate_per_minute);
                return;
        }
        if (q->queued < t->max_queued) {
                q->queued++;
                d->verdict = ADMIT_QUEUE;
                step_end(&st, true, "queued: %u running (max_concurrent %u), %u of %u queue places taken", q->running,
                         t->max_concurrent, q->queued, t->max_queued);
                return;
        }
        step_refuse(&st, "tenant '%s': %u tasks running (max_concurrent %u) and the queue is full (max_queued %u)",
                    t->name, q->running, t->max_concurrent, t->max_queued);
}

void admission_decide(Admission *a, const AdmissionRequest *req, double now_ms, AdmissionDecision *ret) {
        double start = mono_ms();

        *ret = (AdmissionDecision) { .verdict = ADMIT_DENY };
        if (check_tenant(ret, a, req) && check_profile(ret, req) && check_task_class(ret, req) &&
            check_code_origin(ret, req) && check_secrets(ret, req))
                check_quota(ret, a, now_ms);
        ret->policy_ms = mono_ms() - start;
}

bool admission_try_dequeue(Admission *a, const char *tenant, double now_ms) {
        TenantQuota *q = quota_find(a, tenant);
        const Tenant *t = daemon_config_tenant_by_name(a ? a->config : NULL, tenant);

        /* A tenant dropped by a reload starts nothing new, queued or not. */
        if (!q || !t || q->queued == 0)
                return false;
        if (q->running >= t->max_concurrent || !rate_allows(q, t, now_ms))
                return false;
        q->queued--;
        q->running++;
        ring_push(q, now_ms);
        return true;
}

void admission_unqueue(Admission *a, const char *tenant) {
        TenantQuota *q = quota_find(a, tenant);

        if (q && q->queued > 0)
                q->queued--;
}

void admission_finished(Admission *a, const char *tenant) {
        TenantQuota *q = quota_find(a, tenant);

        if (q && q->running > 0)
                q->running--;
}

unsigned admission_running(const Admission *a, const char *tenant) {
        const TenantQuota *q = quota_find(a, tenant);
        return q ? q->running : 0;
}

unsigned admission_queued(const Admission *a, const char *tenant) {
        const TenantQuota *q = quota_find(a, tenant);
        return q ? q->queued : 0;
}

struct json_object *admission_steps_to_json(const AdmissionDecision *d) {
        struct json_object *arr = json_object_new_array();

        if (!arr)
                return NULL;
        for (AdmissionStep s = 0; s < _ADM_STEP_MAX; s++) {
                const AdmissionStepResult *r = &d->steps[s];
                struct json_object *o;

                if (!r->done)
                        continue;
                o = json_object_new_object();
                if (!o || json_object_object_add(o, "step", json_object_new_string(step_names[s])) < 0 ||
                    json_object_object_add(o, "ok", json_object_new_boolean(r->ok)) < 0 ||
                    json_object_object_add(o, "ms", json_object_new_double(r->ms)) < 0 ||
                    json_object_object_add(o, "detail", json_object_new_string(r->detail)) < 0 ||
                    json_object_array_add(arr, o) < 0) {
                        json_object_put(o);
                        json_object_put(arr);
                        return NULL;
                }
        }
        return arr;
}
