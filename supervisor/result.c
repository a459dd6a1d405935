/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/macro.h"
#include "result.h"
#include "result-net.h"
#include "result-shape.h"

static const char *const cause_names[_CAUSE_MAX] = {
        [CAUSE_OK] = "ok",
        [CAUSE_EXIT_NONZERO] = "exit_nonzero",
        [CAUSE_SIGNAL] = "signal",
        [CAUSE_OOM] = "oom",
        [CAUSE_TIMEOUT] = "timeout",
        [CAUSE_CPU_TIME] = "cpu_time",
        [CAUSE_PIDS_LIMIT] = "pids_limit",
        [CAUSE_SETUP_ERROR] = "setup_error",
        [CAUSE_SECCOMP] = "seccomp",
        [CAUSE_CLIENT_GONE] = "client_gone",
        [CAUSE_SHUTDOWN] = "shutdown",
};

static const char *const phase_names[_PHASE_MAX] = {
        [PHASE_PREPARE] = "prepare_ms",
        [PHASE_CGROUP] = "cgroup_ms",
        [PHASE_CLONE] = "clone_ms",
        [PHASE_MOUNT] = "mount_ms",
        [PHASE_PRIVILEGES] = "privileges_ms",
        [PHASE_SECCOMP] = "seccomp_ms",
        [PHASE_EXEC] = "exec_ms",
};

const char *exit_cause_to_string(ExitCause c) {
        if (c < 0 || c >= _CAUSE_MAX)
                return NULL;
        return cause_names[c];
}

ExitCause exit_cause_from_string(const char *s) {
        for (int i = 0; i < _CAUSE_MAX; i++)
                if (s && streq(s, cause_names[i]))
                        return (ExitCause) i;
        return _CAUSE_INVALID;
}

const char *start_phase_to_string(StartPhase p) {
        if (p < 0 || p >= _PHASE_MAX)
                return NULL;
        return phase_names[p];
}

void sandbox_result_init(SandboxResult *r) {
        *r = (SandboxResult) {
                .cause = CAUSE_SETUP_ERROR,
                .exit_status = 125,
                .task_code = -1,
                .memory_peak_bytes = UINT64_MAX,
                .pids_peak = UINT64_MAX,
        };
}

/* json-c adds an object only when the value could be built; a NULL value
 * from an allocation failure becomes JSON null, which the final
 * serialisation check then catches as OOM only if the root itself failed.
 * That is acceptable for a result record: fields are never silently wrong,
 * at worst null. */
static void add(json_object *o, const char *k, json_object *v) {
        (void) json_object_object_add(o, k, v);
}

static json_object *ms(double v) {
        /* Three decimals: microsecond resolution, stable output. */
        char buf[32];
        (void) snprintf(buf, sizeof buf, "%.3f", v);
        return json_object_new_double_s(v, buf);
}

static json_object *u64_or_null(uint64_t v) {
        return v == UINT64_MAX ? NULL : json_object_new_uint64(v);
}

static json_object *strv_to_json(char *const *v) {
        json_object *a = json_object_new_array();
        for (; v && *v; v++)
                (void) json_object_array_add(a, json_object_new_string(*v));
        return a;
}

static json_object *walls_to_json(const WallsApplied *w, bool audit, const char *network, const NetSummary *net) {
        json_object *o = json_object_new_object(), *ns = json_object_new_object(),
                    *cg = json_object_new_object();

        add(ns, "pid", json_object_new_boolean(w->ns_pid));
        add(ns, "mount", json_object_new_boolean(w->ns_mount));
        add(ns, "net", json_object_new_boolean(w->ns_net));
        add(ns, "ipc", json_object_new_boolean(w->ns_ipc));
        add(ns, "uts", json_object_new_boolean(w->ns_uts));
        add(ns, "cgroup", json_object_new_boolean(w->ns_cgroup));
        add(o, "namespaces", ns);

        add(cg, "backend", w->cgroup_backend ? json_object_new_string(w->cgroup_backend) : NULL);
        add(cg, "memory", w->memory_ctl ? json_object_new_string(w->memory_ctl) : NULL);
        add(cg, "cpu", w->cpu_ctl ? json_object_new_string(w->cpu_ctl) : NULL);
        add(cg, "pids", w->pids_ctl ? json_object_new_string(w->pids_ctl) : NULL);
        add(cg, "swap_off", json_object_new_boolean(w->swap_off));
        add(cg, "v2_placement", json_object_new_boolean(w->v2_placement));
        add(o, "cgroup", cg);

        add(o, "seccomp", json_object_new_string(!w->seccomp ? "none" : audit ? "audit" : "enforce"));
        add(o, "no_new_privs", json_object_new_boolean(w->no_new_privs));
        add(o, "capabilities", json_object_new_string(w->caps_cleared ? "none" : "unknown"));
        add(o, "network", json_object_new_string(net->enforced ? "allowlist" : w->loopback_only ? "loopback" : "unknown"));
        add(o, "network_requested", json_object_new_string(network ? network : "none"));
        add(o, "uid", json_object_new_int64(w->uid));
        add(o, "gid", json_object_new_int64(w->gid));
        return o;
}

static json_object *profile_to_json(const SandboxSpec *spec) {
        json_object *o;
        if (!spec->profile_name)
                return NULL;
        o = json_object_new_object();
        add(o, "name", json_object_new_string(spec->profile_name));
        add(o, "sha256", json_object_new_string(spec->profile_sha256));
        add(o, "class", spec->task_class ? json_object_new_string(spec->task_class) : NULL);
        add(o, "mode", spec->mode ? json_object_new_string(spec->mode) : NULL);
        return o;
}

/* Names and hashes only: a value never reaches a record. */
static json_object *secrets_to_json(const SandboxSpec *spec) {
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < spec->n_secrets; i++) {
                const SandboxSecret *x = &spec->secrets[i];
                json_object *o = json_object_new_object();
                add(o, "name", json_object_new_string(x->name));
                add(o, "sha256", json_object_new_string(x->sha256));
                add(o, "as", json_object_new_string(x->as == SECRET_TARGET_ENV ? "env" : "file"));
                add(o, "target", json_object_new_string(x->target));
                (void) json_object_array_add(a, o);
        }
        return a;
}

static json_object *output_to_json(const SandboxSpec *spec, const SandboxResult *r) {
        json_object *o = json_object_new_object();
        add(o, "limit_bytes", spec->limits.output_bytes ? json_object_new_uint64(spec->limits.output_bytes) : NULL);
        add(o, "bytes", r->output_captured ? json_object_new_uint64(r->output_bytes) : NULL);
        add(o, "cut", json_object_new_boolean(r->output_cut));
        add(o, "stdout_sha256", r->output_captured ? json_object_new_string(r->stdout_sha256) : NULL);
        add(o, "stderr_sha256", r->output_captured ? json_object_new_string(r->stderr_sha256) : NULL);
        return o;
}

static const char *verdict_name(uint32_t action) {
        switch (action) {
        case SECCOMP_RET_KILL_PROCESS:
        case SECCOMP_RET_KILL_THREAD:
                return "kill";
        case SECCOMP_RET_ERRNO:
                return "errno";
        case SECCOMP_RET_TRAP:
                return "trap";
        default:
                return "deny";
        }
}

static json_object *audit_to_json(const AuditLog *log) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();
        for (size_t i = 0; i < log->n; i++) {
                const AuditEntry *e = &log->e[i];
                json_object *x = json_object_new_object();
                char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, e->nr);
                char num[32];
                (void) snprintf(num, sizeof num, "%d", e->nr);
                add(x, "syscall", json_object_new_string(name ? name : num));
                free(name);
                add(x, "nr", json_object_new_int(e->nr));
                add(x, "pid", json_object_new_int(e->pid));
                add(x, "count", json_object_new_uint64(e->count));
                add(x, "would", json_object_new_string(verdict_name(e->action)));
                (void) json_object_array_add(a, x);
        }
        add(o, "would_deny", a);
        add(o, "total", json_object_new_uint64(log->total));
        add(o, "dropped", json_object_new_uint64(log->dropped));
        return o;
}

static json_object *limits_to_json(const SandboxLimits *l) {
        json_object *o = json_object_new_object();

        add(o, "memory_bytes", u64_or_null(l->memory_bytes));
        add(o, "cpus", l->cpu_millicores ? json_object_new_double(l->cpu_millicores / 1000.0) : NULL);
        add(o, "pids", l->pids ? json_object_new_uint64(l->pids) : NULL);
        add(o, "timeout_ms", l->timeout_usec ? json_object_new_uint64(l->timeout_usec / 1000) : NULL);
        add(o, "cpu_time_ms", l->cpu_time_usec ? json_object_new_uint64(l->cpu_time_usec / 1000) : NULL);
        add(o, "tmpfs_bytes", json_object_new_uint64(l->tmpfs_bytes));
        add(o, "swap_bytes", json_object_new_uint64(l->swap_bytes));
        add(o, "open_files", l->nofile ? json_object_new_uint64(l->nofile) : NULL);
        add(o, "file_size_bytes", l->fsize_bytes ? json_object_new_uint64(l->fsize_bytes) : NULL);
        add(o, "output_bytes", l->output_bytes ? json_object_new_uint64(l->output_bytes) : NULL);
        return o;
}

void sandbox_request_add_json(const SandboxSpec *spec, json_object *o) {
        json_object *code = json_object_new_object();

        add(o, "argv", strv_to_json(spec->argv));
        add(code, "origin", json_object_new_string(spec->origin == CODE_SCRIPT ? "script" : "command"));
        if (spec->origin == CODE_SCRIPT) {
                add(code, "path", json_object_new_string(spec->script_host_path));
                add(code, "sha256", json_object_new_string(spec->script_sha256));
        }
        add(o, "code", code);
        add(o, "profile", profile_to_json(spec));
        add(o, "secrets", secrets_to_json(spec));
}

json_object *sandbox_result_to_object(const SandboxSpec *spec, const SandboxResult *r) {
        json_object *root = json_object_new_object();
        json_object *ex, *tm, *ph, *us;

        if (!root)
                return NULL;

        add(root, "version", json_object_new_int(RESULT_SCHEMA_VERSION));
        add(root, "request_id", json_object_new_string(spec->request_id));
        sandbox_request_add_json(spec, root);

        ex = json_object_new_object();
        add(ex, "cause", json_object_new_string(exit_cause_to_string(r->cause)));
        add(ex, "status", json_object_new_int(r->exit_status));
        add(ex, "code", r->task_code >= 0 ? json_object_new_int(r->task_code) : NULL);
        add(ex, "signal", r->task_signal > 0 ? json_object_new_int(r->task_signal) : NULL);
        add(root, "exit", ex);

        if (r->cause == CAUSE_SETUP_ERROR) {
                json_object *e = json_object_new_object();
                add(e, "phase", json_object_new_string(r->error_phase));
                add(e, "errno", json_object_new_int(r->error_errno));
                add(e, "message", json_object_new_string(r->error_message));
                add(root, "error", e);
        } else
                add(root, "error", NULL);

        tm = json_object_new_object();
        add(tm, "startup_ms", ms(r->startup_ms));
        add(tm, "wall_ms", ms(r->wall_ms));
        ph = json_object_new_object();
        for (int i = 0; i < _PHASE_MAX; i++)
                add(ph, phase_names[i], ms(r->phase_ms[i]));
        add(tm, "phases", ph);
        add(root, "timings", tm);

        us = json_object_new_object();
        add(us, "cpu_ms", ms(r->cpu_usec / 1000.0));
        add(us, "cpu_user_ms", ms(r->cpu_user_usec / 1000.0));
        add(us, "cpu_system_ms", ms(r->cpu_system_usec / 1000.0));
        add(us, "memory_peak_bytes", u64_or_null(r->memory_peak_bytes));
        add(us, "pids_peak", u64_or_null(r->pids_peak));
        add(root, "usage", us);

        add(root, "limits", limits_to_json(&spec->limits));
        add(root, "walls", walls_to_json(&r->walls, r->audit_mode, spec->network, &r->net));
        add(root, "net", net_summary_to_json(&r->net));
        add(root, "shape", shape_summary_to_json(&r->shape));
        add(root, "output", output_to_json(spec, r));
        add(root, "audit", r->audit_mode ? audit_to_json(&r->audit) : NULL);
        return root;
}

char *sandbox_result_to_json(const SandboxSpec *spec, const SandboxResult *r) {
        json_object *root = sandbox_result_to_object(spec, r);
        const char *t;
        char *s;

        if (!root)
                return NULL;
        t = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        s = t ? strdup(t) : NULL;
        json_object_put(root);
        return s;
}

int sandbox_result_write(const char *path, const SandboxSpec *spec, const SandboxResult *r) {
        _cleanup_free_ char *json = sandbox_result_to_json(spec, r);

        if (!json)
                return -ENOMEM;
        return sandbox_result_write_text(path, json);
}

int sandbox_result_write_text(const char *path, const char *json) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len, off = 0;

        if (asprintf(&tmp, "%s.tmp.%d", path, (int) getpid()) < 0)
                return -ENOMEM;

        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;

        len = strlen(json);
        while (off < len) {
                ssize_t n = write(fd, json + off, len - off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int e = -errno;
                        (void) unlink(tmp);
                        return e;
                }
                off += (size_t) n;
        }
        if (write(fd, "\n", 1) != 1 || fsync(fd) < 0 || rename(tmp, path) < 0) {
                int e = negative_errno();
                (void) unlink(tmp);
                return e;
        }
        return 0;
}
