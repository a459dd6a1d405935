/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "basic/env-util.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "net-host.h"
#include "run-options.h"
#include "script.h"
#include "units.h"


const char run_usage[] =
        "usage: stockade run [OPTIONS] -- COMMAND [ARGS...]\n"
        "       stockade run [OPTIONS] SCRIPT [ARGS...]\n"
        "\n"
        "  --profile NAME|PATH    the policy to run under (default: default);\n"
        "                         the options below override it\n"
        "  --memory SIZE          memory ceiling, swap off (default 512MiB)\n"
        "  --cpus N               CPU ceiling in cores, e.g. 0.5 (default 1)\n"
        "  --pids N               process/thread ceiling (default 128)\n"
        "  --timeout DUR          wall-clock limit, 0 for none (default 10m)\n"
        "  --cpu-time DUR         CPU time limit for the whole sandbox (default none)\n"
        "  --tmpfs-size SIZE      size of /tmp (default 64MiB)\n"
        "  --bind SRC[:DST][:ro|rw]  show a host path inside (default read-only)\n"
        "  --workdir DIR          bind DIR read-write at the same path and start there\n"
        "  --env NAME             pass the caller's variable NAME\n"
        "  --setenv NAME=VALUE    set a variable\n"
        "  --uid N, --gid N       identity inside (default 65534)\n"
        "  --output-limit SIZE    cap stdout+stderr together; the rest is cut\n"
        "  --secret-store DIR     where the profile's secrets are read (default\n"
        "                         /etc/stockade/secrets)\n"
        "  --journal DIR          where the records go (default $STOCKADE_JOURNAL,\n"
        "                         else /var/lib/stockade/journal)\n"
        "  --no-journal           keep no records of this run\n"
        "  --journal-fsync always|batch|never  when records reach the disk\n"
        "                         (default batch: once per run, before exit)\n"
        "  --net-pool V4CIDR[,V6CIDR]  addresses of allowlist tasks' veths\n"
        "                         (default 100.64.0.0/10,fd00:5ec:ade::/48)\n"
        "  --dns-upstream ADDR[:PORT]  where hostname rules are resolved\n"
        "                         (default: the first nameserver of /etc/resolv.conf)\n"
        "  --request-id ID        [A-Za-z0-9._:-]{1,128} (default: generated)\n"
        "  --task-class CLASS     interactive or batch (default: the profile's)\n"
        "  --code-origin LABEL    where the code came from, [a-z0-9_-]{1,32} (default user)\n"
        "  --attempt N            which try of the task this is, from 1 (default 1)\n"
        "  --retry-of ID          the request id this run retries\n"
        "  --connect SOCKET       run through stockaded listening on SOCKET\n"
        "  --embedded             run in this process, without stockaded\n"
        "  --result-json FILE     write the result record there\n"
        "  -v, --verbose          log what the supervisor does\n"
        "\n"
        "SIZE: 64M, 1GiB, 512K, bytes. DUR: 500ms, 30s, 5m, 1h, seconds.\n"
        "Exit status: the task's; 128+N if killed by signal N; 124 refused by stockaded;\n"
        "125 stockade failed; 126 command not executable; 127 command not found.\n";

enum {
        OPT_MEMORY = 0x100,
        OPT_CPUS,
        OPT_PIDS,
        OPT_TIMEOUT,
        OPT_CPU_TIME,
        OPT_TMPFS_SIZE,
        OPT_BIND,
        OPT_WORKDIR,
        OPT_ENV,
        OPT_SETENV,
        OPT_UID,
        OPT_GID,
        OPT_REQUEST_ID,
        OPT_RESULT_JSON,
        OPT_PROFILE,
        OPT_OUTPUT_LIMIT,
        OPT_SECRET_STORE,
        OPT_JOURNAL,
        OPT_NO_JOURNAL,
        OPT_JOURNAL_FSYNC,
        OPT_NET_POOL,
        OPT_DNS_UPSTREAM,
        OPT_TASK_CLASS,
        OPT_CODE_ORIGIN,
        OPT_ATTEMPT,
        OPT_RETRY_OF,
        OPT_CONNECT,
        OPT_EMBEDDED,
};

static const struct option options[] = {
        { "memory", required_argument, NULL, OPT_MEMORY },
        { "cpus", required_argument, NULL, OPT_CPUS },
        { "pids", required_argument, NULL, OPT_PIDS },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "cpu-time", required_argument, NULL, OPT_CPU_TIME },
        { "tmpfs-size", required_argument, NULL, OPT_TMPFS_SIZE },
        { "bind", required_argument, NULL, OPT_BIND },
        { "workdir", required_argument, NULL, OPT_WORKDIR },
        { "env", required_argument, NULL, OPT_ENV },
        { "setenv", required_argument, NULL, OPT_SETENV },
        { "uid", required_argument, NULL, OPT_UID },
        { "gid", required_argument, NULL, OPT_GID },
        { "request-id", required_argument, NULL, OPT_REQUEST_ID },
        { "result-json", required_argument, NULL, OPT_RESULT_JSON },
        { "profile", required_argument, NULL, OPT_PROFILE },
        { "output-limit", required_argument, NULL, OPT_OUTPUT_LIMIT },
        { "secret-store", required_argument, NULL, OPT_SECRET_STORE },
        { "journal", required_argument, NULL, OPT_JOURNAL },
        { "no-journal", no_argument, NULL, OPT_NO_JOURNAL },
        { "journal-fsync", required_argument, NULL, OPT_JOURNAL_FSYNC },
        { "net-pool", required_argument, NULL, OPT_NET_POOL },
        { "dns-upstream", required_argument, NULL, OPT_DNS_UPSTREAM },
        { "task-class", required_argument, NULL, OPT_TASK_CLASS },
        { "code-origin", required_argument, NULL, OPT_CODE_ORIGIN },
        { "attempt", required_argument, NULL, OPT_ATTEMPT },
        { "retry-of", required_argument, NULL, OPT_RETRY_OF },
        { "connect", required_argument, NULL, OPT_CONNECT },
        { "embedded", no_argument, NULL, OPT_EMBEDDED },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        {},
};

bool request_id_valid(const char *id) {
        size_t n = strlen(id);
        if (n == 0 || n > SANDBOX_REQUEST_ID_MAX)
                return false;
        for (const char *p = id; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("._:-", *p))
                        return false;
        return true;
}

bool code_origin_valid(const char *s) {
        size_t n = strlen(s);
        /* The labels stockaded.yaml's code_origins accepts. */
        if (n == 0 || n > 64)
                return false;
        for (const char *p = s; *p; p++)
                if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') &&
                    *p != '_' && *p != '-' && *p != '.')
                        return false;
        return true;
}

const char *task_class_lookup(const char *s) {
        if (streq(s, "interactive"))
                return "interactive";
        if (streq(s, "batch"))
                return "batch";
        return NULL;
}

int request_id_generate(char ret[SANDBOX_REQUEST_ID_MAX + 1]) {
        unsigned char b[16];
        if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b)
                return -errno;
        for (size_t i = 0; i < sizeof b; i++)
                (void) snprintf(ret + 2 * i, 3, "%02x", b[i]);
        return 0;
}

/* An absolute path inside the sandbox: no "." or ".." components, not "/",
 * and not over the walls the supervisor builds itself. */
bool run_dest_valid(const char *p) {
        static const char *const reserved[] = { "/proc", "/dev", SCRIPT_DIR };
        if (p[0] != '/' || p[1] == 0 || strlen(p) >= PATH_MAX)
                return false;
        for (const char *c = p; *c;) {
                const char *e;
                while (*c == '/')
                        c++;
                e = strchrnul(c, '/');
                if ((e - c == 1 && c[0] == '.') || (e - c == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                c = e;
        }
        for (size_t i = 0; i < ELEMENTSOF(reserved); i++) {
                size_t l = strlen(reserved[i]);
                if (strncmp(p, reserved[i], l) == 0 && (p[l] == 0 || p[l] == '/'))
                        return false;
        }
        return true;
}

/* Collapses repeated and trailing slashes. */
static void path_simplify(char *p) {
        char *w = p;
        for (char *r = p; *r; r++)
                if (!(*r == '/' && w > p && w[-1] == '/'))
                        *w++ = *r;
        if (w > p + 1 && w[-1] == '/')
                w--;
        *w = 0;
}

static int add_bind(RunOptions *o, const char *arg, char *err, size_t errlen) {
        _cleanup_free_ char *copy = strdup(arg), *src = NULL, *dst = NULL;
        char *parts[3] = {}, *save = NULL;
        size_t n = 0;
        BindMode mode = BIND_RO;
        BindSpec *nb;

        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
                if (n == 3)
                        return errbuf_set(err, errlen, "--bind '%s': too many ':'; use SRC[:DST][:ro|rw]", arg);
                parts[n++] = t;
        }
        if (n == 0)
                return errbuf_set(err, errlen, "--bind needs a path; use SRC[:DST][:ro|rw]");
        if (n >= 2 && (streq(parts[n - 1], "ro") || streq(parts[n - 1], "rw"))) {
                mode = streq(parts[n - 1], "rw") ? BIND_RW : BIND_RO;
                n--;
        } else if (n == 3)
                return errbuf_set(err, errlen, "--bind '%s': unknown mode; end it with :ro or :rw", arg);

        src = realpath(parts[0], NULL);
        if (!src)
                return errbuf_set(err, errlen, "--bind: cannot use '%s': %s; give an existing host path", parts[0],
                            strerror(errno));
        dst = strdup(n == 2 ? parts[1] : src);
        if (!dst)
                return -ENOMEM;
        path_simplify(dst);
        if (!run_dest_valid(dst))
                return errbuf_set(err, errlen,
                            "--bind: bad destination '%s'; give an absolute path without '.' or '..', "
                            "not /, /proc, /dev or " SCRIPT_DIR, dst);
        nb = reallocarray(o->binds, o->n_binds + 1, sizeof *nb);
        if (!nb)
                return -ENOMEM;
        o->binds = nb;
        nb[o->n_binds++] = (BindSpec) { .source = TAKE_PTR(src), .dest = TAKE_PTR(dst), .mode = mode };
        return 0;
}

/* The ranges of the limits, shared with run-request.c's decoder. */
bool run_limit_valid(unsigned which, uint64_t v) {
        switch (which) {
        case SET_MEMORY:
                return v >= (4u << 20);
        case SET_CPUS:
                return v >= 10; /* parse_cpus(): 1% of a core */
        case SET_PIDS:
                return v >= 1 && v <= 4194304;
        case SET_TMPFS:
                return v >= 4096;
        case SET_TIMEOUT:
        case SET_CPU_TIME:
        case SET_OUTPUT:
                return true;
        default:
                return false;
        }
}

static int parse_id(const char *opt, const char *arg, unsigned *ret, char *err, size_t errlen) {
        uint64_t v;
        if (parse_u64(arg, &v) < 0 || v >= 0xFFFFFFFFu)
                return errbuf_set(err, errlen, "%s '%s' is not a numeric id; give a number such as 65534", opt, arg);
        if (v == 0)
                return errbuf_set(err, errlen, "%s 0: the task must not run as root; pick an unprivileged id", opt);
        *ret = (unsigned) v;
        return 0;
}

static int set_str(char **p, const char *v) {
        free(*p);
        *p = strdup(v);
        return *p ? 0 : -ENOMEM;
}

int run_options_parse(int argc, char **argv, RunOptions *o, char *err, size_t errlen) {
        bool dashdash;
        int c, r = 0;

        *o = (RunOptions) { .uid = 65534, .gid = 65534, .journal_fsync = JOURNAL_FSYNC_BATCH, .attempt = 1 };
        err[0] = 0;

        o->pass_env = calloc((size_t) argc + 1, sizeof(char *));
        o->set_env = calloc((size_t) argc + 1, sizeof(char *));
        if (!o->pass_env || !o->set_env) {
                r = -ENOMEM;
                goto out;
        }

        optind = 0; /* full reset: parse may run more than once per process */
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:vh", options, NULL)) >= 0) {
                SandboxLimits *l = &o->limits;
                const char *a = optarg;
                switch (c) {
                case OPT_MEMORY:
                        if (parse_size(a, &l->memory_bytes) < 0 || !run_limit_valid(SET_MEMORY, l->memory_bytes))
                                r = errbuf_set(err, errlen, "--memory '%s' is not a size of at least 4M; write it like 64M or 1GiB", a);
                        o->limits_set |= SET_MEMORY;
                        break;
                case OPT_CPUS:
                        if (parse_cpus(a, &l->cpu_millicores) < 0)
                                r = errbuf_set(err, errlen, "--cpus '%s' is not a number of cores; write a decimal of at least 0.01, like 0.5", a);
                        o->limits_set |= SET_CPUS;
                        break;
                case OPT_PIDS:
                        if (parse_u64(a, &l->pids) < 0 || !run_limit_valid(SET_PIDS, l->pids))
                                r = errbuf_set(err, errlen, "--pids '%s' is out of range; give a number from 1 to 4194304", a);
                        o->limits_set |= SET_PIDS;
                        break;
                case OPT_TIMEOUT:
                        if (parse_duration(a, &l->timeout_usec) < 0)
                                r = errbuf_set(err, errlen, "--timeout '%s' is not a duration; write it like 500ms, 30s or 5m", a);
                        o->limits_set |= SET_TIMEOUT;
                        break;
                case OPT_CPU_TIME:
                        if (parse_duration(a, &l->cpu_time_usec) < 0)
                                r = errbuf_set(err, errlen, "--cpu-time '%s' is not a duration; write it like 500ms, 30s or 5m", a);
                        o->limits_set |= SET_CPU_TIME;
                        break;
                case OPT_TMPFS_SIZE:
                        if (parse_size(a, &l->tmpfs_bytes) < 0 || !run_limit_valid(SET_TMPFS, l->tmpfs_bytes))
                                r = errbuf_set(err, errlen, "--tmpfs-size '%s' is not a size; write it like 64M", a);
                        o->limits_set |= SET_TMPFS;
                        break;
                case OPT_OUTPUT_LIMIT:
                        if (parse_size(a, &l->output_bytes) < 0)
                                r = errbuf_set(err, errlen, "--output-limit '%s' is not a size; write it like 1M (0 for none)", a);
                        o->limits_set |= SET_OUTPUT;
                        break;
                case OPT_BIND:
                        r = add_bind(o, a, err, errlen);
                        break;
                case OPT_WORKDIR: {
                        struct stat st;
                        free(o->workdir);
                        o->workdir = realpath(a, NULL);
                        if (!o->workdir || stat(o->workdir, &st) < 0 || !S_ISDIR(st.st_mode))
                                r = errbuf_set(err, errlen, "--workdir '%s' is not an existing directory; create it or give another", a);
                        else if (!run_dest_valid(o->workdir))
                                r = errbuf_set(err, errlen, "--workdir '%s' would cover a wall; pick a directory outside /, /proc and /dev", a);
                        break;
                }
                case OPT_ENV:
                        if (!env_name_valid(a, strlen(a)))
                                r = errbuf_set(err, errlen, "--env '%s' is not a variable name; use letters, digits and _", a);
                        o->pass_env[o->n_pass_env++] = (char *) a;
                        break;
                case OPT_SETENV: {
                        const char *eq = strchr(a, '=');
                        if (!eq || !env_name_valid(a, (size_t) (eq - a)))
                                r = errbuf_set(err, errlen, "--setenv '%s' has no value; write NAME=VALUE", a);
                        o->set_env[o->n_set_env++] = (char *) a;
                        break;
                }
                case OPT_UID:
                        r = parse_id("--uid", a, &o->uid, err, errlen);
                        o->uid_set = true;
                        break;
                case OPT_GID:
                        r = parse_id("--gid", a, &o->gid, err, errlen);
                        o->gid_set = true;
                        break;
                case OPT_REQUEST_ID:
                        if (!request_id_valid(a))
                                r = errbuf_set(err, errlen, "--request-id '%s' is not valid; use 1 to 128 of A-Z a-z 0-9 . _ : -", a);
                        else
                                (void) snprintf(o->spec.request_id, sizeof o->spec.request_id, "%s", a);
                        break;
                case OPT_RESULT_JSON:
                        r = set_str(&o->result_json, a);
                        break;
                case OPT_PROFILE:
                        if (!*a)
                                r = errbuf_set(err, errlen, "--profile needs a name or a path; see 'stockade profile list'");
                        else
                                r = set_str(&o->profile, a);
                        break;
                case OPT_SECRET_STORE:
                        r = set_str(&o->secret_store, a);
                        break;
                case OPT_JOURNAL:
                        r = set_str(&o->journal, a);
                        break;
                case OPT_NO_JOURNAL:
                        o->no_journal = true;
                        break;
                case OPT_NET_POOL: {
                        _cleanup_free_ char *v4 = strdup(a);
                        char *v6;
                        if (!v4) {
                                r = -ENOMEM;
                                break;
                        }
                        v6 = strchr(v4, ',');
                        if (v6)
                                *v6++ = 0;
                        if (net_pool_parse(v4, v6, &o->net_pool) < 0)
                                r = errbuf_set(err, errlen, "--net-pool '%s' is not V4CIDR[,V6CIDR] with room for /30 and /64 subnets", a);
                        else
                                o->net_pool_set = true;
                        break;
                }
                case OPT_DNS_UPSTREAM:
                        r = set_str(&o->dns_upstream, a);
                        break;
                case OPT_JOURNAL_FSYNC:
                        if (streq(a, "always"))
                                o->journal_fsync = JOURNAL_FSYNC_ALWAYS;
                        else if (streq(a, "batch"))
                                o->journal_fsync = JOURNAL_FSYNC_BATCH;
                        else if (streq(a, "never"))
                                o->journal_fsync = JOURNAL_FSYNC_NEVER;
                        else
                                r = errbuf_set(err, errlen, "--journal-fsync '%s' is unknown; use always, batch or never", a);
                        break;
                case OPT_TASK_CLASS:
                        o->task_class = task_class_lookup(a);
                        if (!o->task_class)
                                r = errbuf_set(err, errlen, "--task-class '%s' is unknown; use interactive or batch", a);
                        break;
                case OPT_CODE_ORIGIN:
                        if (!code_origin_valid(a))
                                r = errbuf_set(err, errlen, "--code-origin '%s' is not a label; use 1 to 64 of A-Z a-z 0-9 . _ -", a);
                        else
                                r = set_str(&o->code_origin, a);
                        break;
                case OPT_ATTEMPT: {
                        uint64_t v;
                        if (parse_u64(a, &v) < 0 || v == 0 || v > UINT_MAX)
                                r = errbuf_set(err, errlen, "--attempt '%s' is not a try number; give 1 for the first", a);
                        else
                                o->attempt = (unsigned) v;
                        break;
                }
                case OPT_RETRY_OF:
                        if (!request_id_valid(a))
                                r = errbuf_set(err, errlen, "--retry-of '%s' is not a request id; use 1 to 128 of A-Z a-z 0-9 . _ : -", a);
                        else
                                r = set_str(&o->retry_of, a);
                        break;
                case OPT_CONNECT:
                        if (!*a)
                                r = errbuf_set(err, errlen, "--connect needs the path of stockaded's socket");
                        else
                                r = set_str(&o->connect, a);
                        break;
                case OPT_EMBEDDED:
                        o->embedded = true;
                        break;
                case 'v':
                        o->verbose = true;
                        break;
                case 'h':
                        r = errbuf_set(err, errlen, "help");
                        break;
                case ':':
                        r = errbuf_set(err, errlen, "option '%s' needs a value; see 'stockade run --help'", argv[optind - 1]);
                        break;
                case '?':
                default:
                        r = errbuf_set(err, errlen, "unknown option '%s'; see 'stockade run --help'", argv[optind - 1]);
                        break;
                }
                if (r < 0)
                        goto out;
        }

        dashdash = optind > 0 && optind <= argc && streq(argv[optind - 1], "--");
        if (optind >= argc) {
                r = errbuf_set(err, errlen, "no command given; use 'stockade run -- COMMAND [ARGS...]' or 'stockade run SCRIPT'");
                goto out;
        }

        if (!o->spec.request_id[0]) {
                r = request_id_generate(o->spec.request_id);
                if (r < 0)
                        goto out;
        }

        if (dashdash) {
                size_t n = (size_t) (argc - optind);
                o->spec.origin = CODE_COMMAND;
                o->spec.argv = calloc(n + 1, sizeof(char *));
                if (!o->spec.argv) {
                        r = -ENOMEM;
                        goto out;
                }
                for (size_t i = 0; i < n; i++)
                        if (!(o->spec.argv[i] = strdup(argv[optind + (int) i]))) {
                                r = -ENOMEM;
                                goto out;
                        }
        } else {
                char msg[512];
                r = script_resolve(argv[optind], argv + optind + 1, &o->spec, msg, sizeof msg);
                if (r < 0) {
                        if (r == -ENOMEM)
                                goto out;
                        r = errbuf_set(err, errlen, "%s", msg);
                        goto out;
                }
        }
        r = 0;
out:
        if (r == -ENOMEM && !err[0])
                (void) errbuf_set(err, errlen, "out of memory");
        if (r < 0)
                run_options_done(o);
        return r;
}

int run_options_apply(RunOptions *o, char **host_env) {
        SandboxSpec *spec = &o->spec;
        SandboxLimits *l = &spec->limits;
        int r;

        if (o->limits_set & SET_MEMORY)
                l->memory_bytes = o->limits.memory_bytes;
        if (o->limits_set & SET_CPUS)
                l->cpu_millicores = o->limits.cpu_millicores;
        if (o->limits_set & SET_PIDS)
                l->pids = o->limits.pids;
        if (o->limits_set & SET_TIMEOUT)
                l->timeout_usec = o->limits.timeout_usec;
        if (o->limits_set & SET_CPU_TIME)
                l->cpu_time_usec = o->limits.cpu_time_usec;
        if (o->limits_set & SET_TMPFS)
                l->tmpfs_bytes = o->limits.tmpfs_bytes;
        if (o->limits_set & SET_OUTPUT)
                l->output_bytes = o->limits.output_bytes;

        /* Command-line binds come after the profile's: a same destination
         * is bound again on top, so the command line wins. */
        if (o->n_binds > 0) {
                BindSpec *nb = reallocarray(spec->binds, spec->n_binds + o->n_binds, sizeof *nb);
                if (!nb)
                        return -ENOMEM;
                spec->binds = nb;
                for (size_t i = 0; i < o->n_binds; i++)
                        nb[spec->n_binds++] = o->binds[i];
                free(o->binds);
                o->binds = NULL;
                o->n_binds = 0;
        }
        if (o->workdir) {
                /* A decoded request's workdir is bound from the caller's
                 * fd, never from the path as the daemon sees it. */
                free(spec->workdir);
                free(spec->workdir_source);
                spec->workdir = TAKE_PTR(o->workdir);
                spec->workdir_source = TAKE_PTR(o->workdir_source);
        }
        for (size_t i = 0; i < o->n_pass_env; i++) {
                const char *v = NULL;
                size_t l2 = strlen(o->pass_env[i]);
                for (char **e = host_env; e && *e && !v; e++)
                        if (strncmp(*e, o->pass_env[i], l2) == 0 && (*e)[l2] == '=')
                                v = *e + l2 + 1;
                if (v && (r = env_set(&spec->envp, o->pass_env[i], l2, v)) < 0)
                        return r;
        }
        for (size_t i = 0; i < o->n_set_env; i++) {
                const char *eq = strchr(o->set_env[i], '=');
                if ((r = env_set(&spec->envp, o->set_env[i], (size_t) (eq - o->set_env[i]), eq + 1)) < 0)
                        return r;
        }
        if (o->task_class)
                spec->task_class = o->task_class;
        spec->uid = o->uid;
        spec->gid = o->gid;
        return 0;
}

void run_options_done(RunOptions *o) {
        sandbox_spec_done(&o->spec);
        for (size_t i = 0; i < o->n_binds; i++) {
                free(o->binds[i].source);
                free(o->binds[i].dest);
        }
        free(o->binds);
        free(o->workdir);
        if (o->env_owned) {
                for (size_t i = 0; o->pass_env && i < o->n_pass_env; i++)
                        free(o->pass_env[i]);
                for (size_t i = 0; o->set_env && i < o->n_set_env; i++)
                        free(o->set_env[i]);
        }
        free(o->pass_env);
        free(o->set_env);
        for (size_t i = 0; i < o->n_fds; i++)
                (void) safe_close(o->fds[i]);
        free(o->fds);
        free(o->workdir_source);
        free(o->code_origin);
        free(o->retry_of);
        free(o->connect);
        free(o->profile);
        free(o->secret_store);
        free(o->journal);
        free(o->dns_upstream);
        free(o->result_json);
        *o = (RunOptions) {};
}
