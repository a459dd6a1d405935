/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "sandbox.h"

#define SCRIPT_MAX_BYTES (64u << 20)
#define SCRIPT_DIR "/task"

/* Script mode: fills spec->argv (interpreter, the script's path inside,
 * args), script_host_path, script_path and script_sha256. The interpreter
 * comes from the #! line, else from the extension. On failure err holds a
 * one-line message for the user. */
int script_resolve(const char *host_path, char *const *args, SandboxSpec *spec, char *err, size_t errlen);

/* Pure: interpreter argv (1 or 2 words) for a script's first bytes and name. */
int script_interpreter(const char *head, size_t len, const char *name, char **ret_interp, char **ret_arg);
