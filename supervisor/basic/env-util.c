/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env-util.h"
#include "macro.h"

bool env_name_valid(const char *s, size_t len) {
        if (len == 0 || !(isalpha((unsigned char) s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 1; i < len; i++)
                if (!isalnum((unsigned char) s[i]) && s[i] != '_')
                        return false;
        return true;
}

int env_set(char ***envp, const char *name, size_t nlen, const char *value) {
        size_t n = 0;
        char *s;

        if (asprintf(&s, "%.*s=%s", (int) nlen, name, value) < 0)
                return -ENOMEM;
        for (char **e = *envp; e && *e; e++, n++)
                if (strncmp(*e, name, nlen) == 0 && (*e)[nlen] == '=') {
                        free(*e);
                        *e = s;
                        return 0;
                }
        if (n >= ENV_MAX_VARS) {
                free(s);
                return -E2BIG;
        }
        return strv_push(envp, s);
}

const char *env_get(char *const *envp, const char *name) {
        size_t l = strlen(name);
        for (char *const *e = envp; e && *e; e++)
                if (strncmp(*e, name, l) == 0 && (*e)[l] == '=')
                        return *e + l + 1;
        return NULL;
}

void strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

char **strv_copy(char *const *v) {
        size_t n = 0;
        char **c;

        if (!v)
                return NULL;
        while (v[n])
                n++;
        c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!(c[i] = strdup(v[i]))) {
                        strv_free(c);
                        return NULL;
                }
        return c;
}

size_t strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

bool strv_contains(char *const *v, const char *s) {
        for (; v && *v; v++)
                if (streq(*v, s))
                        return true;
        return false;
}

int strv_push(char ***v, char *s) {
        size_t n = strv_length(*v);
        char **nv;

        if (!s)
                return -ENOMEM;
        nv = reallocarray(*v, n + 2, sizeof(char *));
        if (!nv) {
                free(s);
                return -ENOMEM;
        }
        nv[n] = s;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

int strv_extend_unique(char ***v, char *const *add) {
        for (; add && *add; add++)
                if (!strv_contains(*v, *add) && strv_push(v, strdup(*add)) < 0)
                        return -ENOMEM;
        return 0;
}
