/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The schema walker (profile-walk.c) shared by profile-layer.c and
 * profile-layer-rules.c; nothing else includes this.
 *
 * Handlers get the key path ("limits.memory"), the key and the value
 * node. A value of the wrong type is reported at its key (or, in a list,
 * at the item); a bad value at the value itself. Handlers return -ENOMEM
 * or 0: problems are counted in w->pp, never returned. */

#include "profile-internal.h"

#define PATH_LEN 160

typedef struct SyscallOrigin {
        ProfileMark mark;
        size_t index;
} SyscallOrigin;

typedef struct Walk {
        const ProfileDoc *doc;
        const char *file;
        ProfileProblems *pp;
        ProfileLayer *l;
        void *target;               /* the list entry being filled */
        SyscallOrigin *deny_origin; /* of l->p.seccomp.deny[i] */
        int sorting;                /* the mapping whose keys are being sorted */
} Walk;

typedef int (*KeyFn)(Walk *w, const char *path, int key, int value, int arg);

typedef struct KeyHandler {
        const char *key;
        KeyFn fn;
        int arg;
} KeyHandler;

/* Checks one list item: 0 and *ret set, 1 after a problem, or -ENOMEM. */
typedef int (*ItemFn)(Walk *w, const char *path, int item, const char *text, char **ret);

/* "path: message" at `at` (just "message" for the top level). */
void layer_problem(Walk *w, ProfileMark at, const char *path, const char *fmt, ...) _printf_(4, 5);

ProfileMark layer_mark(Walk *w, int node);
ProfileNodeKind layer_kind(Walk *w, int node);
const char *layer_kind_name(ProfileNodeKind k); /* "a mapping", ... */
const char *layer_join(char buf[static PATH_LEN], const char *path, const char *key);
const char *layer_indexed(char buf[static PATH_LEN], const char *path, size_t i);
/* Records that the file sets f, and where. */
void layer_set(Walk *w, ProfileField f, int key, int value);

/* The text of a scalar; NULL after a problem ("expected <what>, got ...",
 * at `at`). */
const char *layer_scalar(Walk *w, const char *path, ProfileMark at, int node, const char *what);
bool layer_want_sequence(Walk *w, const char *path, int key, int value);

/* Calls the handler of each key of a mapping; duplicate and unknown keys
 * are problems. any, when set, takes every key (an open mapping). */
int layer_walk_mapping(Walk *w, const char *path, int node, const KeyHandler *h, size_t n_h, KeyFn any);
/* A mapping-valued key; null counts as empty. */
int layer_section(Walk *w, const char *path, int key, int value, const KeyHandler *h, size_t n_h);
/* A list item that must be a mapping: its handlers see target in w->target. */
int layer_entry(Walk *w, const char *path, int item, const KeyHandler *h, size_t n_h, void *target);
int layer_find_key(Walk *w, int mapping, const char *key);

/* One of names: *ret is its index; -EINVAL after a problem. */
int layer_pick(Walk *w, const char *path, int key, int value, const char *const *names, size_t n, int *ret);
/* 0 and *ret replaced, 1 after a problem, -ENOMEM. */
int layer_dup_string(Walk *w, const char *path, int key, int value, char **ret);
int layer_dup_path(Walk *w, const char *path, ProfileMark at, int node, char **ret);

/* A list of strings, each checked, duplicates dropped; *ret replaced and
 * f set only when every item is good. */
int layer_strv_list(Walk *w, const char *path, int key, int value, ProfileField f, ItemFn check, char ***ret);
int layer_item_path(Walk *w, const char *path, int item, const char *t, char **ret);

/* profile-layer-rules.c */
int layer_on_network(Walk *w, const char *path, int key, int value, int arg);
int layer_on_seccomp(Walk *w, const char *path, int key, int value, int arg);
