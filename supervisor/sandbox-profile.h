/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "profile.h"
#include "sandbox.h"

/* Fills a task's spec from a resolved profile (NULL: the built-in
 * defaults): ceilings, filesystem view, environment (cleared, then PATH,
 * LANG, HOME, what env.allow lets through from host_env, env.set), the
 * profile's secrets read from secret_store, and where it all came from.
 * argv, the script and the request id are the caller's. The seccomp
 * filter is compiled by the caller. On failure err holds one line. */
int sandbox_spec_from_profile(SandboxSpec *spec, const Profile *p, char **host_env, const char *secret_store,
                              char *err, size_t errlen);
