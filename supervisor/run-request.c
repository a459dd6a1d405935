/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/env-util.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/sha256.h"
#include "daemon-proto.h"
#include "run-request.h"
#include "script.h"

/* Bounds of what a request may carry, on top of PROTO_MAX_FRAME. */
#define REQ_MAX_STRING (128u << 10) /* one argument or variable */
#define REQ_MAX_ITEMS 4096u         /* argv, env, pass_env, set_env */
/* The largest script whose base64 fits a frame. */
#define REQ_MAX_SCRIPT (PROTO_MAX_FRAME / 4 * 3)

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

void run_request_meta_done(RunRequestMeta *m) {
        if (!m)
                return;
        strv_free(m->env);
        free(m->cwd);
        free(m->task_class);
        free(m->code_origin);
        free(m->retry_of);
        *m = (RunRequestMeta) {};
}

int run_request_check_daemon_options(const RunOptions *o, char *err, size_t errlen) {
        const char *opt = NULL;

        if (o->journal)
                opt = "--journal";
        else if (o->no_journal)
                opt = "--no-journal";
        else if (o->journal_fsync != JOURNAL_FSYNC_BATCH)
                opt = "--journal-fsync";
        else if (o->secret_store)
                opt = "--secret-store";
        else if (o->net_pool_set)
                opt = "--net-pool";
        else if (o->dns_upstream)
                opt = "--dns-upstream";
        else if (o->uid_set)
                opt = "--uid";
        else if (o->gid_set)
                opt = "--gid";
        if (opt)
                return errbuf_set(err, errlen,
                                  "%s is set by stockaded's configuration; drop it, or use --embedded as root", opt);
        return 0;
}

/* ---- encoding ---- */

/* Adds key: value to o, taking value (NULL is JSON null). */
static int add(json_object *o, const char *key, json_object *value) {
        if (json_object_object_add(o, key, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

static int add_str(json_object *o, const char *key, const char *s) {
        json_object *v = NULL;
        if (s && !(v = json_object_new_string(s)))
                return -ENOMEM;
        return add(o, key, v);
}

static int push(json_object *a, json_object *v) {
        if (!v || json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *strv_to_json(char *const *v, size_t n) {
        _cleanup_(json_object_putp) json_object *a = json_object_new_array_ext((int) n);
        if (!a)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (push(a, json_object_new_string(v[i])) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

static int encode_env(char *const *env, json_object **ret, char *err, size_t errlen) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        size_t n = 0;

        if (!o)
                return -ENOMEM;
        for (char *const *e = env; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                _cleanup_free_ char *name = NULL;
                /* What the daemon would refuse cannot be passed on anyway. */
                if (!eq || !env_name_valid(*e, (size_t) (eq - *e)) || strlen(eq + 1) > REQ_MAX_STRING)
                        continue;
                if (++n > REQ_MAX_ITEMS)
                        return errbuf_set(err, errlen, "the environment has more than %u variables; unset some",
                                          REQ_MAX_ITEMS);
                name = strndup(*e, (size_t) (eq - *e));
                if (!name || add_str(o, name, eq + 1) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

static int encode_script(const SandboxSpec *spec, json_object **ret, char *err, size_t errlen) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ unsigned char *b64 = NULL;
        const char *name;

        if (spec->script_len > REQ_MAX_SCRIPT)
                return errbuf_set(err, errlen,
                                  "script '%s' is %zu bytes; stockaded takes up to %u, so use --embedded for it",
                                  spec->script_host_path, spec->script_len, REQ_MAX_SCRIPT);
        name = spec->script_path ? strrchr(spec->script_path, '/') : NULL;
        if (!name || !spec->script_host_path || (!spec->script_data && spec->script_len > 0))
                return errbuf_set(err, errlen, "script mode without a script");
        b64 = malloc(4 * ((spec->script_len + 2) / 3) + 1);
        o = json_object_new_object();
        if (!b64 || !o)
                return -ENOMEM;
        (void) EVP_EncodeBlock(b64, (const unsigned char *) (spec->script_data ? spec->script_data : ""),
                               (int) spec->script_len);
        if (add_str(o, "path", spec->script_host_path) < 0 || add_str(o, "name", name + 1) < 0 ||
            add_str(o, "data", (const char *) b64) < 0 || add_str(o, "sha256", spec->script_sha256) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int encode_limits(const RunOptions *opts, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        const SandboxLimits *l = &opts->limits;
        unsigned set = opts->limits_set;

        if (!o)
                return -ENOMEM;
        if ((set & SET_MEMORY) && add(o, "memory", json_object_new_uint64(l->memory_bytes)) < 0)
                return -ENOMEM;
        if (set & SET_CPUS) {
                /* Cores, written exactly as the millicores say ("0.5", not
                 * 0.50000000000000001). */
                char ds[32];
                int n = snprintf(ds, sizeof ds, "%" PRIu64 ".%03" PRIu64, l->cpu_millicores / 1000,
                                 l->cpu_millicores % 1000);
                while (n > 0 && ds[n - 1] == '0')
                        ds[--n] = 0;
                if (n > 0 && ds[n - 1] == '.')
                        ds[--n] = 0;
                if (add(o, "cpus", json_object_new_double_s((double) l->cpu_millicores / 1000.0, ds)) < 0)
                        return -ENOMEM;
        }
        if ((set & SET_PIDS) && add(o, "pids", json_object_new_uint64(l->pids)) < 0)
                return -ENOMEM;
        if ((set & SET_TIMEOUT) && add(o, "timeout_us", json_object_new_uint64(l->timeout_usec)) < 0)
                return -ENOMEM;
        if ((set & SET_CPU_TIME) && add(o, "cpu_time_us", json_object_new_uint64(l->cpu_time_usec)) < 0)
                return -ENOMEM;
        if ((set & SET_TMPFS) && add(o, "tmpfs", json_object_new_uint64(l->tmpfs_bytes)) < 0)
                return -ENOMEM;
        if ((set & SET_OUTPUT) && add(o, "output", json_object_new_uint64(l->output_bytes)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* Opens a bind source as the caller: the daemon binds what this fd
 * names, so reading it here is the proof that the caller may. Only files
 * and directories: opening a FIFO or a device could block or act. */
static int open_source(const char *what, const char *path, bool want_dir, char *err, size_t errlen) {
        struct stat st, st2;
        int fd;

        if (stat(path, &st) < 0) {
                int r = -errno;
                (void) errbuf_set(err, errlen, "%s '%s': %s; give an existing path", what, path, strerror(-r));
                return r;
        }
        if (want_dir && !S_ISDIR(st.st_mode))
                return errbuf_set(err, errlen, "%s '%s' is not a directory", what, path);
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
                return errbuf_set(err, errlen, "%s '%s' is not a file or a directory; stockaded binds only those, "
                                  "use --embedded as root for others", what, path);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
        if (fd < 0) {
                int r = -errno;
                (void) errbuf_set(err, errlen, "%s '%s': cannot open it (%s); stockaded binds only what you can read",
                                  what, path, strerror(-r));
                return r;
        }
        if (fstat(fd, &st2) < 0 || (st2.st_mode & S_IFMT) != (st.st_mode & S_IFMT)) {
                (void) close(fd);
                return errbuf_set(err, errlen, "%s '%s' changed while it was opened; try again", what, path);
        }
        return fd;
}

typedef struct FdList {
        int *fds;
        size_t n;
} FdList;

static void fd_list_done(FdList *l) {
        for (size_t i = 0; i < l->n; i++)
                (void) safe_close(l->fds[i]);
        free(l->fds);
        *l = (FdList) {};
}

static int encode_binds(const RunOptions *opts, json_object *msg, FdList *fds, char *err, size_t errlen) {
        _cleanup_(json_object_putp) json_object *binds = json_object_new_array();
        int r;

        if (!binds)
                return -ENOMEM;
        fds->fds = calloc(opts->n_binds + 1, sizeof(int));
        if (!fds->fds)
                return -ENOMEM;
        /* stdin, stdout and stderr come first. */
        if (opts->n_binds + (opts->workdir ? 1 : 0) + 3 > PROTO_MAX_FDS)
                return errbuf_set(err, errlen, "too many --bind options for stockaded (at most %d)",
                                  PROTO_MAX_FDS - 3 - (opts->workdir ? 1 : 0));
        for (size_t i = 0; i < opts->n_binds; i++) {
                const BindSpec *b = &opts->binds[i];
                json_object *o;
                r = open_source("--bind", b->source, false, err, errlen);
                if (r < 0)
                        return r;
                fds->fds[fds->n++] = r;
                o = json_object_new_object();
                if (push(binds, o) < 0 || add_str(o, "dest", b->dest) < 0 ||
                    add_str(o, "mode", b->mode == BIND_RW ? "rw" : "ro") < 0 ||
                    add(o, "fd_index", json_object_new_int((int) i)) < 0)
                        return -ENOMEM;
        }
        if (add(msg, "binds", TAKE_PTR(binds)) < 0)
                return -ENOMEM;

        if (opts->workdir) {
                json_object *o = json_object_new_object();
                if (!o || add(msg, "workdir", o) < 0)
                        return -ENOMEM;
                r = open_source("--workdir", opts->workdir, true, err, errlen);
                if (r < 0)
                        return r;
                fds->fds[fds->n++] = r;
                if (add_str(o, "path", opts->workdir) < 0 ||
                    add(o, "fd_index", json_object_new_int((int) fds->n - 1)) < 0)
                        return -ENOMEM;
        } else if (add(msg, "workdir", NULL) < 0)
                return -ENOMEM;
        return 0;
}

int run_request_encode(const RunOptions *opts, const RunRequestMeta *meta, json_object **ret_msg, int **ret_fds,
                       size_t *ret_n_fds, char *err, size_t errlen) {
        _cleanup_(json_object_putp) json_object *msg = NULL, *x = NULL;
        _cleanup_(fd_list_done) FdList fds = {};
        const SandboxSpec *spec = &opts->spec;
        const char *task_class, *code_origin, *retry_of;
        unsigned attempt;
        int r;

        err[0] = 0;
        if (!spec->argv || !spec->argv[0])
                return errbuf_set(err, errlen, "no command given");
        if (strv_length(spec->argv) > REQ_MAX_ITEMS)
                return errbuf_set(err, errlen, "more than %u arguments; stockaded takes no more", REQ_MAX_ITEMS);

        /* The command line first; meta fills in what it left unset. */
        task_class = opts->task_class ? opts->task_class : meta ? meta->task_class : NULL;
        code_origin = opts->code_origin ? opts->code_origin : meta ? meta->code_origin : NULL;
        retry_of = opts->retry_of ? opts->retry_of : meta ? meta->retry_of : NULL;
        attempt = opts->attempt > 1 ? opts->attempt : meta && meta->attempt > 0 ? meta->attempt : 1;

        msg = proto_message("run");
        if (!msg)
                return -ENOMEM;
        x = strv_to_json(spec->argv, strv_length(spec->argv));
        if (!x || add(msg, "argv", TAKE_PTR(x)) < 0)
                return -ENOMEM;
        if (add_str(msg, "request_id", spec->request_id) < 0 || add_str(msg, "profile", opts->profile) < 0)
                return -ENOMEM;
        r = encode_env(meta ? meta->env : NULL, &x, err, errlen);
        if (r < 0)
                return r;
        if (add(msg, "env", TAKE_PTR(x)) < 0 || add_str(msg, "cwd", meta ? meta->cwd : NULL) < 0 ||
            add_str(msg, "task_class", task_class) < 0 || add_str(msg, "code_origin", code_origin) < 0 ||
            add(msg, "attempt", json_object_new_uint64(attempt)) < 0 || add_str(msg, "retry_of", retry_of) < 0)
                return -ENOMEM;

        if (spec->origin == CODE_SCRIPT) {
                r = encode_script(spec, &x, err, errlen);
                if (r < 0)
                        return r;
        }
        if (add(msg, "script", TAKE_PTR(x)) < 0)
                return -ENOMEM;
        r = encode_limits(opts, &x);
        if (r < 0 || add(msg, "limits", TAKE_PTR(x)) < 0)
                return -ENOMEM;
        r = encode_binds(opts, msg, &fds, err, errlen);
        if (r < 0)
                return r;
        x = strv_to_json(opts->pass_env, opts->n_pass_env);
        if (!x || add(msg, "pass_env", TAKE_PTR(x)) < 0)
                return -ENOMEM;
        x = strv_to_json(opts->set_env, opts->n_set_env);
        if (!x || add(msg, "set_env", TAKE_PTR(x)) < 0)
                return -ENOMEM;
        if (add(msg, "verbose", json_object_new_boolean(opts->verbose)) < 0)
                return -ENOMEM;

        *ret_msg = TAKE_PTR(msg);
        *ret_n_fds = fds.n;
        *ret_fds = fds.n > 0 ? TAKE_PTR(fds.fds) : NULL;
        fds.n = 0;
        return 0;
}

/* ---- decoding ---- */

static int fail(char *err, size_t errlen, const char *fmt, ...) _printf_(3, 4);
static int fail(char *err, size_t errlen, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        (void) vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

static const char *type_name(json_type t) {
        switch (t) {
        case json_type_string:
                return "a string";
        case json_type_int:
                return "an integer";
        case json_type_double:
                return "a number";
        case json_type_boolean:
                return "true or false";
        case json_type_array:
                return "an array";
        case json_type_object:
                return "an object";
        case json_type_null:
        default:
                return "null";
        }
}

/* Looks up pfx+key in obj: 1 with *ret when present and of type t (an
 * integer counts as a number), 0 when absent or null (where allowed),
 * -EBADMSG naming the field otherwise. */
static int get(json_object *obj, const char *pfx, const char *key, json_type t, bool required, json_object **ret,
               char *err, size_t errlen) {
        json_object *v = NULL;

        if (!json_object_object_get_ex(obj, key, &v) || !v) {
                if (required)
                        return fail(err, errlen, "field '%s%s' is missing; it must be %s", pfx, key, type_name(t));
                return 0;
        }
        if (!json_object_is_type(v, t) && !(t == json_type_double && json_object_is_type(v, json_type_int)))
                return fail(err, errlen, "field '%s%s' must be %s%s", pfx, key, type_name(t),
                            required ? "" : " or null");
        *ret = v;
        return 1;
}

/* A copy of a JSON string: no NUL inside, at most max bytes. */
static int dup_string(json_object *v, const char *what, size_t max, char **ret, char *err, size_t errlen) {
        const char *s = json_object_get_string(v);
        size_t len = (size_t) json_object_get_string_len(v);

        if (strlen(s) != len)
                return fail(err, errlen, "field '%s' holds a NUL byte", what);
        if (len > max)
                return fail(err, errlen, "field '%s' is longer than %zu bytes", what, max);
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* get() + dup_string() for an optional (nullable) string. */
static int get_string(json_object *obj, const char *pfx, const char *key, bool required, size_t max, char **ret,
                      char *err, size_t errlen) {
        json_object *v = NULL;
        char what[64];
        int r = get(obj, pfx, key, json_type_string, required, &v, err, errlen);
        if (r <= 0)
                return r;
        (void) snprintf(what, sizeof what, "%s%s", pfx, key);
        r = dup_string(v, what, max, ret, err, errlen);
        return r < 0 ? r : 1;
}

static int get_u64(json_object *obj, const char *pfx, const char *key, uint64_t *ret, char *err, size_t errlen) {
        json_object *v = NULL;
        int r = get(obj, pfx, key, json_type_int, false, &v, err, errlen);
        if (r <= 0)
                return r;
        /* json-c keeps values above INT64_MAX as unsigned; below 0 the
         * signed view is negative. */
        if (json_object_get_int64(v) < 0)
                return fail(err, errlen, "field '%s%s' must not be negative", pfx, key);
        *ret = json_object_get_uint64(v);
        return 1;
}

static int decode_strv(json_object *a, const char *what, bool (*valid)(const char *), char ***ret, size_t *ret_n,
                       char *err, size_t errlen) {
        size_t n = json_object_array_length(a);
        char **v;
        int r;

        if (n > REQ_MAX_ITEMS)
                return fail(err, errlen, "field '%s' has more than %u items", what, REQ_MAX_ITEMS);
        v = calloc(n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                char name[64];
                (void) snprintf(name, sizeof name, "%s[%zu]", what, i);
                if (!json_object_is_type(e, json_type_string)) {
                        r = fail(err, errlen, "field '%s' must be a string", name);
                        goto fail;
                }
                r = dup_string(e, name, REQ_MAX_STRING, &v[i], err, errlen);
                if (r < 0)
                        goto fail;
                if (valid && !valid(v[i])) {
                        r = fail(err, errlen, "field '%s' is not valid", name);
                        goto fail;
                }
        }
        *ret = v;
        if (ret_n)
                *ret_n = n;
        return 0;
fail:
        strv_free(v);
        return r;
}

static bool name_ok(const char *s) {
        return env_name_valid(s, strlen(s));
}

static bool assignment_ok(const char *s) {
        const char *eq = strchr(s, '=');
        return eq && env_name_valid(s, (size_t) (eq - s));
}

static bool absolute_ok(const char *s) {
        return s[0] == '/' && strlen(s) < PATH_MAX;
}

static int decode_env(json_object *o, char ***ret, char *err, size_t errlen) {
        _cleanup_(strv_freep) char **v = NULL;
        size_t n = 0;

        if ((size_t) json_object_object_length(o) > REQ_MAX_ITEMS)
                return fail(err, errlen, "field 'env' has more than %u variables", REQ_MAX_ITEMS);
        v = calloc((size_t) json_object_object_length(o) + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        json_object_object_foreach(o, key, val) {
                _cleanup_free_ char *value = NULL;
                char what[64];
                if (!env_name_valid(key, strlen(key)))
                        return fail(err, errlen, "field 'env' has a bad variable name '%.32s'", key);
                (void) snprintf(what, sizeof what, "env.%.32s", key);
                if (!json_object_is_type(val, json_type_string))
                        return fail(err, errlen, "field '%s' must be a string", what);
                int r = dup_string(val, what, REQ_MAX_STRING, &value, err, errlen);
                if (r < 0)
                        return r;
                if (asprintf(&v[n], "%s=%s", key, value) < 0) {
                        v[n] = NULL;
                        return -ENOMEM;
                }
                n++;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

static bool base64_ok(const char *s, size_t len) {
        size_t pad = 0;

        if (len % 4 != 0)
                return false;
        if (len > 0 && s[len - 1] == '=')
                pad++;
        if (len > 1 && s[len - 2] == '=')
                pad++;
        for (size_t i = 0; i < len - pad; i++)
                if (!(s[i] >= 'A' && s[i] <= 'Z') && !(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9') &&
                    s[i] != '+' && s[i] != '/')
                        return false;
        return true;
}

static bool script_name_ok(const char *s) {
        return s[0] && strlen(s) <= NAME_MAX && !strchr(s, '/') && !streq(s, ".") && !streq(s, "..");
}

static int decode_script(json_object *o, SandboxSpec *spec, char *err, size_t errlen) {
        _cleanup_free_ char *name = NULL, *sha = NULL;
        _cleanup_free_ unsigned char *data = NULL;
        json_object *d;
        const char *b64;
        size_t len, pad = 0;
        int n, r;

        r = get_string(o, "script.", "path", true, PATH_MAX, &spec->script_host_path, err, errlen);
        if (r < 0)
                return r;
        if (!absolute_ok(spec->script_host_path))
                return fail(err, errlen, "field 'script.path' is not an absolute path");
        r = get_string(o, "script.", "name", true, NAME_MAX, &name, err, errlen);
        if (r < 0)
                return r;
        if (!script_name_ok(name))
                return fail(err, errlen, "field 'script.name' is not a file name");
        r = get_string(o, "script.", "sha256", true, 64, &sha, err, errlen);
        if (r < 0)
                return r;
        r = get(o, "script.", "data", json_type_string, true, &d, err, errlen);
        if (r < 0)
                return r;
        b64 = json_object_get_string(d);
        len = (size_t) json_object_get_string_len(d);
        if (strlen(b64) != len || !base64_ok(b64, len))
                return fail(err, errlen, "field 'script.data' is not base64");
        if (len > INT_MAX)
                return fail(err, errlen, "field 'script.data' is too long");
        data = malloc(len / 4 * 3 + 1);
        if (!data)
                return -ENOMEM;
        n = EVP_DecodeBlock(data, (const unsigned char *) b64, (int) len);
        if (n < 0)
                return fail(err, errlen, "field 'script.data' is not base64");
        /* EVP_DecodeBlock() counts the padding as zero bytes. */
        if (len > 0 && b64[len - 1] == '=')
                pad++;
        if (len > 1 && b64[len - 2] == '=')
                pad++;
        if ((size_t) n < pad)
                return fail(err, errlen, "field 'script.data' is not base64");
        spec->script_len = (size_t) n - pad;
        data[spec->script_len] = 0;

        /* The record names the code by this hash, so it is computed here
         * from the bytes that will run; the client's is only compared. */
        r = sha256_hex(data, spec->script_len, spec->script_sha256);
        if (r < 0)
                return r;
        if (!streq(sha, spec->script_sha256))
                return fail(err, errlen, "field 'script.sha256' does not match the script's bytes");
        if (asprintf(&spec->script_path, SCRIPT_DIR "/%s", name) < 0) {
                spec->script_path = NULL;
                return -ENOMEM;
        }
        spec->script_data = (char *) TAKE_PTR(data);
        spec->origin = CODE_SCRIPT;
        return 0;
}

static int decode_limits(json_object *o, RunOptions *opts, char *err, size_t errlen) {
        static const struct {
                const char *key;
                unsigned set;
                size_t offset;
        } table[] = {
                { "memory", SET_MEMORY, offsetof(SandboxLimits, memory_bytes) },
                { "pids", SET_PIDS, offsetof(SandboxLimits, pids) },
                { "timeout_us", SET_TIMEOUT, offsetof(SandboxLimits, timeout_usec) },
                { "cpu_time_us", SET_CPU_TIME, offsetof(SandboxLimits, cpu_time_usec) },
                { "tmpfs", SET_TMPFS, offsetof(SandboxLimits, tmpfs_bytes) },
                { "output", SET_OUTPUT, offsetof(SandboxLimits, output_bytes) },
        };
        json_object *v = NULL;
        uint64_t u;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                r = get_u64(o, "limits.", table[i].key, &u, err, errlen);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (!run_limit_valid(table[i].set, u))
                        return fail(err, errlen, "field 'limits.%s' is out of range", table[i].key);
                memcpy((char *) &opts->limits + table[i].offset, &u, sizeof u);
                opts->limits_set |= table[i].set;
        }
        /* No command-line option sets swap, so there is nothing to carry;
         * still a known field, so still checked. */
        r = get_u64(o, "limits.", "swap", &u, err, errlen);
        if (r < 0)
                return r;

        r = get(o, "limits.", "cpus", json_type_double, false, &v, err, errlen);
        if (r < 0)
                return r;
        if (r > 0) {
                double d = json_object_get_double(v) * 1000.0, m = round(d);
                /* At most three decimals, as --cpus takes them. */
                if (!isfinite(d) || m < 0 || m > 9007199254740992.0 || fabs(d - m) > 1e-6 ||
                    !run_limit_valid(SET_CPUS, (uint64_t) m))
                        return fail(err, errlen, "field 'limits.cpus' is out of range or has more than 3 decimals");
                opts->limits.cpu_millicores = (uint64_t) m;
                opts->limits_set |= SET_CPUS;
        }
        return 0;
}

/* Takes the bind_fds[fd_index] of pfx: checks it, dup's it into opts->fds
 * and returns its "/proc/self/fd/N". */
static int take_fd(json_object *o, const char *pfx, const int *bind_fds, size_t n_bind_fds, bool *used, bool want_dir,
                   RunOptions *opts, char **ret_source, char *err, size_t errlen) {
        json_object *v = NULL;
        int64_t idx;
        struct stat st;
        int fl, fd, r;

        r = get(o, pfx, "fd_index", json_type_int, true, &v, err, errlen);
        if (r < 0)
                return r;
        idx = json_object_get_int64(v);
        if (idx < 0 || (uint64_t) idx >= n_bind_fds)
                return fail(err, errlen, "field '%sfd_index' is %" PRId64 ", but %zu fds came with the request", pfx,
                            idx, n_bind_fds);
        if (used[idx])
                return fail(err, errlen, "field '%sfd_index' %" PRId64 " is used twice", pfx, idx);
        used[idx] = true;

        /* An O_PATH fd proves nothing about reading; only files and
         * directories are bound. */
        fl = fcntl(bind_fds[idx], F_GETFL);
        if (fl < 0 || fstat(bind_fds[idx], &st) < 0)
                return fail(err, errlen, "field '%sfd_index': fd %" PRId64 " is not open", pfx, idx);
        if (fl & O_PATH)
                return fail(err, errlen, "field '%sfd_index': fd %" PRId64 " is an O_PATH fd; open it for reading", pfx,
                            idx);
        if (want_dir ? !S_ISDIR(st.st_mode) : !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
                return fail(err, errlen, "field '%sfd_index': fd %" PRId64 " is not a %s", pfx, idx,
                            want_dir ? "directory" : "file or directory");

        fd = fcntl(bind_fds[idx], F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        opts->fds[opts->n_fds++] = fd;
        if (asprintf(ret_source, "/proc/self/fd/%d", fd) < 0) {
                *ret_source = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int decode_binds(json_object *a, const int *bind_fds, size_t n_bind_fds, bool *used, RunOptions *opts,
                        char *err, size_t errlen) {
        size_t n = json_object_array_length(a);

        if (n > PROTO_MAX_FDS)
                return fail(err, errlen, "field 'binds' has more than %d items", PROTO_MAX_FDS);
        opts->binds = calloc(n, sizeof(BindSpec));
        if (n > 0 && !opts->binds)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *b = json_object_array_get_idx(a, i);
                BindSpec *bs = &opts->binds[i];
                _cleanup_free_ char *mode = NULL;
                char pfx[32];
                int r;

                (void) snprintf(pfx, sizeof pfx, "binds[%zu].", i);
                if (!json_object_is_type(b, json_type_object))
                        return fail(err, errlen, "field 'binds[%zu]' must be an object", i);
                opts->n_binds = i + 1; /* from here on run_options_done() frees it */
                r = get_string(b, pfx, "dest", true, PATH_MAX, &bs->dest, err, errlen);
                if (r < 0)
                        return r;
                if (!run_dest_valid(bs->dest))
                        return fail(err, errlen,
                                    "field '%sdest' '%.64s' is not an absolute path without '.' or '..', "
                                    "or it covers /, /proc, /dev or " SCRIPT_DIR, pfx, bs->dest);
                r = get_string(b, pfx, "mode", true, 2, &mode, err, errlen);
                if (r < 0)
                        return r;
                if (!streq(mode, "ro") && !streq(mode, "rw"))
                        return fail(err, errlen, "field '%smode' must be \"ro\" or \"rw\"", pfx);
                bs->mode = streq(mode, "rw") ? BIND_RW : BIND_RO;
                r = take_fd(b, pfx, bind_fds, n_bind_fds, used, false, opts, &bs->source, err, errlen);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int decode(json_object *msg, const int *bind_fds, size_t n_bind_fds, RunOptions *o, RunRequestMeta *m,
                  char *err, size_t errlen) {
        bool used[PROTO_MAX_FDS] = {};
        _cleanup_free_ char *rid = NULL, *tc = NULL;
        json_object *v = NULL;
        uint64_t u;
        int r;

        if (!json_object_is_type(msg, json_type_object) || !proto_type(msg) || !streq(proto_type(msg), "run"))
                return fail(err, errlen, "not a \"run\" message");
        if (n_bind_fds > PROTO_MAX_FDS)
                return fail(err, errlen, "more than %d fds came with the request", PROTO_MAX_FDS);
        o->fds = calloc(n_bind_fds + 1, sizeof(int));
        if (!o->fds)
                return -ENOMEM;

        r = get(msg, "", "argv", json_type_array, true, &v, err, errlen);
        if (r < 0)
                return r;
        r = decode_strv(v, "argv", NULL, &o->spec.argv, NULL, err, errlen);
        if (r < 0)
                return r;
        if (!o->spec.argv[0] || !o->spec.argv[0][0])
                return fail(err, errlen, "field 'argv' must start with a non-empty command");

        r = get_string(msg, "", "request_id", true, SANDBOX_REQUEST_ID_MAX, &rid, err, errlen);
        if (r < 0)
                return r;
        if (!request_id_valid(rid))
                return fail(err, errlen, "field 'request_id' is not 1 to 128 of A-Z a-z 0-9 . _ : -");
        memcpy(o->spec.request_id, rid, strlen(rid) + 1);

        r = get_string(msg, "", "profile", false, PATH_MAX, &o->profile, err, errlen);
        if (r < 0)
                return r;
        if (o->profile && !o->profile[0])
                return fail(err, errlen, "field 'profile' is empty");

        r = get(msg, "", "env", json_type_object, false, &v, err, errlen);
        if (r < 0)
                return r;
        if (r > 0 && (r = decode_env(v, &m->env, err, errlen)) < 0)
                return r;

        r = get_string(msg, "", "cwd", false, PATH_MAX, &m->cwd, err, errlen);
        if (r < 0)
                return r;
        if (m->cwd && !absolute_ok(m->cwd))
                return fail(err, errlen, "field 'cwd' is not an absolute path");

        r = get_string(msg, "", "task_class", false, 16, &tc, err, errlen);
        if (r < 0)
                return r;
        if (tc) {
                o->task_class = task_class_lookup(tc);
                if (!o->task_class)
                        return fail(err, errlen, "field 'task_class' must be \"interactive\" or \"batch\"");
                m->task_class = TAKE_PTR(tc);
        }

        r = get_string(msg, "", "code_origin", false, 64, &m->code_origin, err, errlen);
        if (r < 0)
                return r;
        if (m->code_origin) {
                if (!code_origin_valid(m->code_origin))
                        return fail(err, errlen, "field 'code_origin' is not 1 to 64 of A-Z a-z 0-9 . _ -");
                o->code_origin = strdup(m->code_origin);
                if (!o->code_origin)
                        return -ENOMEM;
        }

        r = get_u64(msg, "", "attempt", &u, err, errlen);
        if (r < 0)
                return r;
        if (r > 0) {
                if (u == 0 || u > UINT_MAX)
                        return fail(err, errlen, "field 'attempt' must be 1 or more");
                o->attempt = m->attempt = (unsigned) u;
        }

        r = get_string(msg, "", "retry_of", false, SANDBOX_REQUEST_ID_MAX, &m->retry_of, err, errlen);
        if (r < 0)
                return r;
        if (m->retry_of) {
                if (!request_id_valid(m->retry_of))
                        return fail(err, errlen, "field 'retry_of' is not a request id");
                o->retry_of = strdup(m->retry_of);
                if (!o->retry_of)
                        return -ENOMEM;
        }

        r = get(msg, "", "script", json_type_object, false, &v, err, errlen);
        if (r < 0)
                return r;
        if (r > 0 && (r = decode_script(v, &o->spec, err, errlen)) < 0)
                return r;

        r = get(msg, "", "limits", json_type_object, false, &v, err, errlen);
        if (r < 0)
                return r;
        if (r > 0 && (r = decode_limits(v, o, err, errlen)) < 0)
                return r;

        r = get(msg, "", "binds", json_type_array, false, &v, err, errlen);
        if (r < 0)
                return r;
        if (r > 0 && (r = decode_binds(v, bind_fds, n_bind_fds, used, o, err, errlen)) < 0)
                return r;

        r = get(msg, "", "workdir", json_type_object, false, &v, err, errlen);
        if (r < 0)
                return r;
        if (r > 0) {
                r = get_string(v, "workdir.", "path", true, PATH_MAX, &o->workdir, err, errlen);
                if (r < 0)
                        return r;
                if (!run_dest_valid(o->workdir))
                        return fail(err, errlen,
                                    "field 'workdir.path' is not an absolute path outside /, /proc and /dev");
                r = take_fd(v, "workdir.", bind_fds, n_bind_fds, used, true, o, &o->workdir_source, err, errlen);
                if (r < 0)
                        return r;
        }

        r = get(msg, "", "pass_env", json_type_array, false, &v, err, errlen);
        if (r < 0)
                return r;
        if (r > 0 && (r = decode_strv(v, "pass_env", name_ok, &o->pass_env, &o->n_pass_env, err, errlen)) < 0)
                return r;
        r = get(msg, "", "set_env", json_type_array, false, &v, err, errlen);
        if (r < 0)
                return r;
        if (r > 0 && (r = decode_strv(v, "set_env", assignment_ok, &o->set_env, &o->n_set_env, err, errlen)) < 0)
                return r;

        r = get(msg, "", "verbose", json_type_boolean, false, &v, err, errlen);
        if (r < 0)
                return r;
        if (r > 0)
                o->verbose = json_object_get_boolean(v);
        return 0;
}

int run_request_decode(json_object *msg, const int *bind_fds, size_t n_bind_fds, RunOptions *opts,
                       RunRequestMeta *meta, char *err, size_t errlen) {
        RunOptions o = { .uid = 65534, .gid = 65534, .journal_fsync = JOURNAL_FSYNC_BATCH, .attempt = 1,
                         .env_owned = true };
        RunRequestMeta m = { .attempt = 1 };
        int r;

        err[0] = 0;
        r = decode(msg, bind_fds, n_bind_fds, &o, &m, err, errlen);
        if (r < 0) {
                if (r == -ENOMEM)
                        (void) snprintf(err, errlen, "out of memory");
                else if (!err[0])
                        (void) snprintf(err, errlen, "bad run request: %s", strerror(-r));
                run_options_done(&o);
                run_request_meta_done(&m);
                return r;
        }
        *opts = o;
        *meta = m;
        return 0;
}
