/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the profile loader's files (profile*.c), its unit test and its
 * fuzzer; nothing else includes this.
 *
 *   profile-parse.c   the only file that knows libyaml: text -> ProfileDoc
 *                     (a read-only node tree with positions), and the
 *                     ProfileWriter the canonical form is emitted through
 *   profile-layer.c   ProfileDoc -> ProfileLayer: one file's values, which
 *                     of them it sets, and where (network and seccomp in
 *                     profile-layer-rules.c; the schema walker both use in
 *                     profile-walk.c)
 *   profile-values.c  the syntax of single values (CIDRs, hosts, errno and
 *                     socket family names, sizes, ...), both directions
 *   profile-merge.c   built-in defaults; merging a layer over a resolved
 *                     profile; the checks that need the merged result
 *   profile-emit.c    profile_to_yaml(): the canonical form
 *   profile.c         the search path, extends chains, load/check/list */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/env-util.h"
#include "basic/macro.h"
#include "profile.h"

#define PROFILE_FILE_MAX       (1024 * 1024) /* bytes in one profile file */
#define PROFILE_SCALAR_MAX     4096          /* bytes in one value */
#define PROFILE_LIST_MAX       1024          /* entries in one list of one file */
#define PROFILE_EXTENDS_MAX    16            /* parents above a profile */
#define PROFILE_PROBLEMS_MAX   100           /* reported per check; the count goes on */
#define PROFILE_SYSCONF_DIR    "/etc/stockade/profiles"
#define PROFILE_BUILTIN_PREFIX "builtin:"

/* 1-based; line 0: not in a file. */
typedef struct ProfileMark {
        unsigned line, column;
} ProfileMark;

/* Where problems go: every one to fn (when set), the first kept. */
typedef struct ProfileProblems {
        ProfileProblemFn fn;
        void *userdata;
        unsigned n;
        ProfileError first;
} ProfileProblems;

void profile_problem(ProfileProblems *pp, const char *file, ProfileMark mark, const char *fmt, ...) _printf_(4, 5);
void profile_problemv(ProfileProblems *pp, const char *file, ProfileMark mark, const char *fmt, va_list ap)
        _printf_(4, 0);

/* A user-supplied string made fit for a one-line message: at most 64 bytes,
 * control characters shown as '?'. Returns buf. */
const char *profile_shown(const char *s, char buf[static 80]);

/* ---- profile-parse.c: the YAML document ---- */

typedef struct ProfileDoc ProfileDoc;

typedef enum ProfileNodeKind {
        PROFILE_NODE_NULL, /* a plain empty, ~ or null scalar */
        PROFILE_NODE_SCALAR,
        PROFILE_NODE_MAPPING,
        PROFILE_NODE_SEQUENCE,
} ProfileNodeKind;

/* Parses one YAML document. A syntax error is reported to pp with
 * libyaml's mark and gives -EINVAL; -ENOMEM on allocation failure. */
int profile_doc_parse(const char *text, size_t len, const char *file, ProfileProblems *pp, ProfileDoc **ret);
ProfileDoc *profile_doc_free(ProfileDoc *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(ProfileDoc *, profile_doc_free);

/* Nodes are small integers, 0 for none. Aliases share nodes: walk the
 * tree only along a fixed schema, never recursively. */
int profile_doc_root(const ProfileDoc *d);
ProfileNodeKind profile_node_kind(const ProfileDoc *d, int node);
ProfileMark profile_node_mark(const ProfileDoc *d, int node);
/* A scalar's text (NUL-terminated; may hold NULs before len), or NULL. */
const char *profile_node_text(const ProfileDoc *d, int node, size_t *ret_len);
/* Items of a sequence, pairs of a mapping. */
size_t profile_node_size(const ProfileDoc *d, int node);
int profile_node_item(const ProfileDoc *d, int node, size_t i);
int profile_node_key(const ProfileDoc *d, int node, size_t i);
int profile_node_value(const ProfileDoc *d, int node, size_t i);

/* Block-style YAML built by calls; the first failure sticks and is
 * returned by _finish. Scalars go out plain when that reads back as the
 * same string, double-quoted otherwise. */
typedef struct ProfileWriter ProfileWriter;
int profile_writer_new(ProfileWriter **ret);
ProfileWriter *profile_writer_free(ProfileWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(ProfileWriter *, profile_writer_free);
void profile_writer_mapping_begin(ProfileWriter *w, bool flow);
void profile_writer_mapping_end(ProfileWriter *w);
void profile_writer_sequence_begin(ProfileWriter *w, bool flow);
void profile_writer_sequence_end(ProfileWriter *w);
void profile_writer_scalar(ProfileWriter *w, const char *s); /* NULL: "" */
void profile_writer_scalar_n(ProfileWriter *w, const char *s, size_t n);
/* Free text: also quoted when it would read as a number elsewhere. */
void profile_writer_string(ProfileWriter *w, const char *s);
/* Always plain: true, false, null. */
void profile_writer_plain(ProfileWriter *w, const char *s);
/* Ends the document; the text is malloc'd. */
int profile_writer_finish(ProfileWriter *w, char **ret);

/* ---- profile-layer.c: one file ---- */

typedef enum ProfileField {
        PF_NAME,
        PF_DESCRIPTION,
        PF_EXTENDS,
        PF_CLASS,
        PF_MODE,
        PF_MEMORY,
        PF_SWAP,
        PF_CPUS,
        PF_PIDS,
        PF_WALL_TIME,
        PF_CPU_TIME,
        PF_TMPFS,
        PF_OPEN_FILES,
        PF_FILE_SIZE,
        PF_OUTPUT,
        PF_SYSTEM_DIRS,
        PF_BINDS,
        PF_HIDE,
        PF_WORKDIR,
        PF_NET_MODE,
        PF_NET_ALLOW,
        PF_ENV_ALLOW,
        PF_ENV_SET,
        PF_SECRETS,
        PF_SECCOMP_DEFAULT,
        PF_SECCOMP_ERRNO,
        PF_SECCOMP_ALLOW,
        PF_SECCOMP_DENY,
        PF_SOCKET_FAMILIES,
        PF_NAMESPACES,
        PF_IOCTL_DENY,
        PF_KEEP_CODE, /* Added in v1 after the first release of the format */
        PF_OBSERVE_SHAPE, /* observe: added in v1 too */
        PF_OBSERVE_WATCH,
        PF_OBSERVE_BUDGET,
        _PF_MAX,
} ProfileField;

_Static_assert(_PF_MAX <= 64, "ProfileLayer.set has one bit per field");

/* What one file says. p holds the values of the fields in set (lists
 * exactly as the file gives them, duplicates dropped); everything else in
 * p is zero. */
typedef struct ProfileLayer {
        char *file; /* as problems name it */
        Profile p;
        uint64_t set;                     /* 1 << ProfileField */
        ProfileMark key_marks[_PF_MAX];   /* where the key is */
        ProfileMark value_marks[_PF_MAX]; /* where its value starts */
        ProfileMark root;
        ProfileMark *allow_marks; /* of p.seccomp.allow[i] */
} ProfileLayer;

static inline bool profile_layer_sets(const ProfileLayer *l, ProfileField f) {
        return (l->set >> f) & 1;
}

/* Reports every problem of the file to pp. Returns 0, -EINVAL when there
 * were problems (ret then holds what could be read: free it all the same),
 * or -ENOMEM. */
int profile_layer_parse(const char *text, size_t len, const char *file, ProfileProblems *pp, ProfileLayer *ret);
void profile_layer_done(ProfileLayer *l);

/* ---- profile-merge.c ---- */

/* The built-in baseline (stockade-profile(5), DEFAULTS). */
int profile_defaults(Profile *ret);
/* Applies l over the resolved r; problems that need the merged result go
 * to pp. -ENOMEM or 0 (check pp->n). */
int profile_merge_layer(Profile *r, const ProfileLayer *l, ProfileProblems *pp);
/* Does o hold the built-in defaults of observe? */
bool profile_observe_is_default(const ProfileObserve *o);
/* Puts the lists whose order carries no meaning in canonical order. */
void profile_normalize(Profile *p);

/* ---- profile-values.c ---- */

bool profile_name_valid(const char *s);
bool env_glob_valid(const char *s);
bool secret_name_valid(const char *s);
/* Absolute, no ".." component, shorter than PATH_MAX. NULL or why not. */
const char *path_problem(const char *s);
/* An observe.watch pattern: an absolute PREFIX, or PREFIX*SUFFIX with one
 * '*' (PROFILE_OBSERVE_PREFIX_MAX / _SUFFIX_MAX bytes). NULL or why not,
 * written to follow the quoted pattern. */
const char *watch_pattern_problem(const char *s);

int errno_from_name(const char *s); /* > 0, or -EINVAL */
const char *errno_to_name(int e);   /* NULL when unknown */
int socket_family_from_name(const char *s);
const char *socket_family_to_name(int af);
int ioctl_from_string(const char *s, unsigned long *ret);
const char *ioctl_to_name(unsigned long req);

/* Does the text look like an address rather than a hostname? */
bool net_looks_like_address(const char *s);
/* -EINVAL: not a CIDR; -EADDRNOTAVAIL: host bits set. Fills family, addr,
 * prefix of r. */
int net_cidr_parse(const char *s, NetRule *r);
/* Lowercases into a new string; -EINVAL when not an RFC 1123 name. */
int net_host_normalize(const char *s, char **ret);
int net_port_range_parse(const char *s, uint16_t *ret_lo, uint16_t *ret_hi);
bool net_rule_equal(const NetRule *a, const NetRule *b);

#define PROFILE_NUMBUF 48
const char *format_size(uint64_t v, char buf[static PROFILE_NUMBUF]);
const char *format_duration(uint64_t usec, char buf[static PROFILE_NUMBUF]);
const char *format_cpus(uint64_t millicores, char buf[static PROFILE_NUMBUF]);
const char *format_cidr(const NetRule *r, char buf[static PROFILE_NUMBUF + 16]);
const char *format_ports(const NetRule *r, char buf[static PROFILE_NUMBUF]);

/* NULL-terminated string arrays (char **), as in Profile: basic/env-util.h. */

/* ---- profiles-builtin.c, generated from the shipped profiles ---- */

typedef struct ProfileBuiltin {
        const char *name;
        const char *text;
        size_t len;
} ProfileBuiltin;

extern const ProfileBuiltin profile_builtins[];
extern const size_t profile_builtins_n;
