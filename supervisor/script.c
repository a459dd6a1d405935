/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

int script_resolve(const char *host_path, char *const *args, SandboxSpec *spec, char *err, size_t errlen) {
        _cleanup_free_ char *real = NULL, *interp = NULL, *arg = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *base;
        struct stat st;
        void *map = NULL;
        size_t nargs = 0, k = 0;
        char **argv;
        int r;

        real = realpath(host_path, NULL);
        if (!real) {
                r = -errno;
                (void) snprintf(err, errlen, "cannot find script '%s': %s", host_path, strerror(-r));
                return r;
        }
        fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0) {
                r = -errno;
                (void) snprintf(err, errlen, "cannot read script '%s': %s", host_path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                (void) snprintf(err, errlen, "script '%s' is not a regular file", host_path);
                return -EINVAL;
        }
        if ((uint64_t) st.st_size > SCRIPT_MAX_BYTES) {
                (void) snprintf(err, errlen, "script '%s' is larger than %u MiB", host_path, SCRIPT_MAX_BYTES >> 20);
                return -EFBIG;
        }
        if (st.st_size > 0) {
                map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
                if (map == MAP_FAILED) {
                        r = -errno;
                        (void) snprintf(err, errlen, "cannot read script '%s': %s", host_path, strerror(-r));
                        return r;
                }
        }
        r = sha256_hex(map ? map : "", (size_t) st.st_size, spec->script_sha256);
        base = strrchr(real, '/') + 1;
        if (r >= 0)
                r = script_interpreter(map ? map : "", (size_t) st.st_size > 4096 ? 4096 : (size_t) st.st_size,
                                       base, &interp, &arg);
        if (map)
                (void) munmap(map, (size_t) st.st_size);
        if (r == -ENOEXEC) {
                (void) snprintf(err, errlen,
                                "cannot tell how to run '%s': give it a #! line or a known extension, "
                                "or use 'stockade run -- INTERPRETER %s'", host_path, host_path);
                return r;
        }
        if (r < 0) {
                (void) snprintf(err, errlen, "cannot hash script '%s': %s", host_path, strerror(-r));
                return r;
        }

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
        spec->origin = CODE_SCRIPT;
        return 0;
}
