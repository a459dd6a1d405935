/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <json-c/json.h>

#include "basic/log.h"
#include "result-net.h"
#include "result-shape.h"
#include "run-journal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* Moves the named members of the result object into a record. */
static void take(json_object *from, json_object *to, const char *const *keys) {
        for (; *keys; keys++) {
                json_object *v = NULL;
                if (json_object_object_get_ex(from, *keys, &v))
                        (void) json_object_object_add(to, *keys, json_object_get(v));
        }
}

/* Adds without copying key, which must outlive o: records are built on the
 * way to every task, and each copy was one more allocation and, once the
 * record was freed, one more chunk of garbage in malloc's bins
 * (run_journal_admission_keep() says why that matters). */
static void add_key_ref(json_object *o, const char *key, json_object *v) {
        (void) json_object_object_add_ex(o, key, v, JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

static int append(Journal *j, const char *type, const SandboxSpec *spec, json_object *rec) {
        int r = journal_append(j, type, spec->request_id, rec, NULL);
        if (r < 0)
                return log_error_errno(r, "cannot append the %s record of request %s to the journal: %m", type,
                                       spec->request_id);
        return 0;
}

static int admission(Journal *j, const SandboxSpec *spec, const char *tenant, bool allowed, const char *reason,
                     double policy_ms, json_object *extra, json_object **ret_record) {
        _cleanup_(json_object_putp) json_object *rec = json_object_new_object();
        int r;

        if (!rec)
                return -ENOMEM;
        add_key_ref(rec, "decision", json_object_new_string(allowed ? "allow" : "deny"));
        add_key_ref(rec, "reason", json_object_new_string(reason));
        add_key_ref(rec, "tenant", json_object_new_string(tenant));
        add_key_ref(rec, "policy_ms", json_object_new_double(policy_ms));
        sandbox_request_add_json(spec, rec);
        if (extra) {
                /* extra, and so its keys, outlives rec */
                json_object_object_foreach(extra, k, v)
                        add_key_ref(rec, k, json_object_get(v));
        }
        /* Evidence of how well the evidence itself is kept. */
        add_key_ref(rec, "journal_append_only", json_object_new_boolean(journal_append_only(j)));
        r = append(j, "admission", spec, rec);
        if (r >= 0 && ret_record)
                *ret_record = TAKE_PTR(rec);
        return r;
}

int run_journal_admission(Journal *j, const SandboxSpec *spec, const char *tenant, bool allowed, const char *reason,
                          double policy_ms, json_object *extra) {
        return admission(j, spec, tenant, allowed, reason, policy_ms, extra, /* ret_record= */ NULL);
}

int run_journal_admission_keep(Journal *j, const SandboxSpec *spec, const char *tenant, const char *reason,
                               double policy_ms, json_object *extra, json_object **ret_record) {
        return admission(j, spec, tenant, /* allowed= */ true, reason, policy_ms, extra, ret_record);
}

void run_journal_started(const SandboxSpec *spec, const SandboxResult *r, void *userdata) {
        _cleanup_(json_object_putp) json_object *rec = json_object_new_object();
        _cleanup_(json_object_putp) json_object *all = sandbox_result_to_object(spec, r);
        json_object *tm = NULL;

        if (!rec || !all)
                return;
        if (json_object_object_get_ex(all, "timings", &tm)) {
                json_object *v = NULL;
                if (json_object_object_get_ex(tm, "startup_ms", &v))
                        (void) json_object_object_add(rec, "startup_ms", json_object_get(v));
                if (json_object_object_get_ex(tm, "phases", &v))
                        (void) json_object_object_add(rec, "phases", json_object_get(v));
        }
        take(all, rec, (const char *const[]) { "walls", "limits", NULL });
        (void) append(userdata, "start", spec, rec);
}

int run_journal_exit(Journal *j, const SandboxSpec *spec, const SandboxResult *r) {
        _cleanup_(json_object_putp) json_object *rec = json_object_new_object();
        _cleanup_(json_object_putp) json_object *all = sandbox_result_to_object(spec, r);
        json_object *tm = NULL, *v = NULL;
        int ret;

        if (!rec || !all)
                return -ENOMEM;
        if (r->audit_mode) {
                _cleanup_(json_object_putp) json_object *au = json_object_new_object();
                if (!au)
                        return -ENOMEM;
                take(all, au, (const char *const[]) { "audit", NULL });
                ret = append(j, "audit", spec, au);
                if (ret < 0)
                        return ret;
        }
        if (r->shape.recorded || r->shape.error[0]) {
                _cleanup_(json_object_putp) json_object *sh = shape_summary_to_json(&r->shape);
                if (!sh)
                        return -ENOMEM;
                ret = append(j, "shape", spec, sh);
                if (ret < 0)
                        return ret;
        }
        take(all, rec, (const char *const[]) { "exit", "error", "usage", "output", "net", NULL });
        if (json_object_object_get_ex(all, "timings", &tm) && json_object_object_get_ex(tm, "wall_ms", &v))
                (void) json_object_object_add(rec, "wall_ms", json_object_get(v));
        return append(j, "exit", spec, rec);
}

void run_journal_net(const SandboxSpec *spec, const NetEvent *ev, Journal *j) {
        _cleanup_(json_object_putp) json_object *rec = json_object_new_object();

        if (!rec)
                return;
        net_event_add_json(ev, spec, rec);
        (void) append(j, "net", spec, rec);
}

void run_journal_proc(const SandboxSpec *spec, const struct ShapeEvent *ev, double t_ms, Journal *j) {
        _cleanup_(json_object_putp) json_object *rec = json_object_new_object();

        if (!rec)
                return;
        proc_event_add_json(ev, t_ms, rec);
        (void) append(j, "proc", spec, rec);
}
