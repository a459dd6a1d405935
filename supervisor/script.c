/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/macro.h"
#include "basic/sha256.h"
#include "script.h"

static const struct {
        const char *ext, *interp;
} by_extension[] = {
        { ".py", "python3" }, { ".sh", "/bin/sh" }, { ".bash", "bash" }, { ".js", "node" },
        { ".mjs", "node" },   { ".pl", "perl" },    { ".rb", "ruby" },   { ".lua", "lua" },
};

int script_interpreter(const char *head, size_t len, const char *name, char **ret_interp, char **ret_arg) {
        const char *dot;

        *ret_interp = *ret_arg = NULL;
        if (len >= 2 && head[0] == '#' && head[1] == '!') {
                /* As the kernel reads it: one interpreter word, then the
                 * rest of the line (trimmed) as a single optional argument. */
                const char *p = head + 2, *end = head + len, *nl = memchr(p, '\n', len - 2), *w;
                if (nl)
                        end = nl;
                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                w = p;
                while (p < end && *p != ' ' && *p != '\t')
                        p++;
                if (p == w || *w != '/')
                        return -ENOEXEC;
                *ret_interp = strndup(w, (size_t) (p - w));
                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
                        end--;
                if (end > p)
                        *ret_arg = strndup(p, (size_t) (end - p));
                if (!*ret_interp || (end > p && !*ret_arg)) {
                        free(*ret_interp);
                        free(*ret_arg);
                        *ret_interp = *ret_arg = NULL;
                        return -ENOMEM;
                }
                return 0;
        }
        dot = strrchr(name, '.');
        for (size_t i = 0; dot && i < ELEMENTSOF(by_extension); i++)
                if (streq(dot, by_extension[i].ext)) {
                        *ret_interp = strdup(by_extension[i].interp);
                        return *ret_interp ? 0 : -ENOMEM;
                }
        return -ENOEXEC;
}

/* Reads the whole script: its bytes are hashed and then shown to the task
 * from memory, so what ran is exactly what the record's SHA-256 names. */
static int read_script(int fd, size_t size_hint, char **ret, size_t *ret_len) {
        size_t cap = size_hint + 1, len = 0;
        char *buf = malloc(cap);

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;
                if (len == cap) {
                        char *nb;
                        if (cap > SCRIPT_MAX_BYTES) {
                                free(buf);
                                return -EFBIG;
                        }
                        nb = realloc(buf, cap * 2);
                        if (!nb) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = nb;
                        cap *= 2;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int e = -errno;
                        free(buf);
                        return e;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len > SCRIPT_MAX_BYTES) {
                free(buf);
                return -EFBIG;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

int script_resolve(const char *host_path, char *const *args, SandboxSpec *spec, char *err, size_t errlen) {
        _cleanup_free_ char *real = NULL, *interp = NULL, *arg = NULL, *data = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *base;
        struct stat st;
        size_t len = 0, nargs = 0, k = 0;
        char **argv;
        int r;

        real = realpath(host_path, NULL);
        if (!real) {
                r = -errno;
                (void) snprintf(err, errlen, "cannot find script '%s' (%s); check the path, or run a command "
                                "with 'stockade run -- COMMAND'", host_path, strerror(-r));
                return r;
        }
        fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0) {
                r = -errno;
                (void) snprintf(err, errlen, "cannot read script '%s' (%s); check its permissions", host_path,
                                strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                (void) snprintf(err, errlen, "'%s' is not a regular file; give a script file", host_path);
                return -EINVAL;
        }
        r = read_script(fd, (size_t) st.st_size, &data, &len);
        if (r < 0) {
                (void) snprintf(err, errlen, "cannot read script '%s' (%s); scripts may be up to %u MiB",
                                host_path, strerror(-r), SCRIPT_MAX_BYTES >> 20);
                return r;
        }
        r = sha256_hex(data, len, spec->script_sha256);
        if (r < 0) {
                (void) snprintf(err, errlen, "cannot hash script '%s' (%s); install libcrypto (libssl3)",
                                host_path, strerror(-r));
                return r;
        }
        base = strrchr(real, '/') + 1;
        r = script_interpreter(data, len > 4096 ? 4096 : len, base, &interp, &arg);
        if (r == -ENOEXEC) {
                (void) snprintf(err, errlen,
                                "cannot tell how to run '%s'; give it a #! line or a known extension, "
                                "or use 'stockade run -- INTERPRETER %s'", host_path, host_path);
                return r;
        }
        if (r < 0)
                return r;

        for (char *const *a = args; a && *a; a++)
                nargs++;
        argv = calloc(nargs + 4, sizeof(char *));
        if (!argv || asprintf(&spec->script_path, SCRIPT_DIR "/%s", base) < 0) {
                free(argv);
                return -ENOMEM;
        }
        argv[k++] = TAKE_PTR(interp);
        if (arg)
                argv[k++] = TAKE_PTR(arg);
        argv[k++] = strdup(spec->script_path);
        for (size_t i = 0; i < nargs; i++)
                argv[k++] = strdup(args[i]);
        spec->argv = argv;
        for (size_t i = 0; i < k; i++)
                if (!argv[i])
                        return -ENOMEM;
        spec->script_host_path = TAKE_PTR(real);
        spec->script_data = TAKE_PTR(data);
        spec->script_len = len;
        spec->origin = CODE_SCRIPT;
        return 0;
}
