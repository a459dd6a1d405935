/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* Child side. In this order: no_new_privs, bounding set, ambient set,
 * groups, gid, uid, then every remaining capability set cleared and
 * checked. uid must not be 0. reterr_what names the step that failed. */
int privileges_drop(uid_t uid, gid_t gid, const char **reterr_what);

/* Brings up lo in the current network namespace. */
int net_loopback_up(void);
