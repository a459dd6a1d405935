/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "profile.h"
#include "sandbox.h"

/* Content-addressed objects kept beside the journal for replay:
 * DIR/profiles/<sha256>.yaml (every resolved profile a run used, as
 * `profile show` prints it) and DIR/code/<sha256> (a script's bytes, when
 * its profile says keep_code). Objects are written once, 0600, through a
 * temporary name and rename; a reader checks the hash before use. */

#define JOURNAL_CODE_MAX (16u << 20)

int journal_store_profile(const char *dir, const Profile *p);

/* Nothing for a command (its argv is in the admission record); a script
 * over JOURNAL_CODE_MAX is not kept (-EFBIG). */
int journal_store_code(const char *dir, const SandboxSpec *spec);

/* kind: "profiles" or "code". Fails with -EBADMSG when the bytes do not
 * hash to sha. */
int journal_load_object(const char *dir, const char *kind, const char *sha, char **ret, size_t *ret_len);
