/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define ENV_MAX_VARS 512

/* *envp is a malloc'd NULL-terminated "NAME=VALUE" vector (NULL: empty).
 * Sets or replaces NAME (the first nlen bytes of name). */
int env_set(char ***envp, const char *name, size_t nlen, const char *value);
const char *env_get(char *const *envp, const char *name);
bool env_name_valid(const char *s, size_t len);
void strv_free(char **v);
char **strv_copy(char *const *v);
size_t strv_length(char *const *v);
bool strv_contains(char *const *v, const char *s);
int strv_push(char ***v, char *s); /* takes s, also on failure */
int strv_extend_unique(char ***v, char *const *add);
static inline void strv_freep(char ***v) {
        strv_free(*v);
}
