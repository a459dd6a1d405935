/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A resolved profile: plain data, every default filled in, every `extends`
 * merged, every value validated. Only profile-parse.c knows YAML; the
 * launch code never sees a Profile, only the SandboxSpec built from it.
 * The format is documented in stockade-profile(5). */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox.h"

#define PROFILE_VERSION 1

typedef enum ProfileClass {
        PROFILE_CLASS_INTERACTIVE,
        PROFILE_CLASS_BATCH,
        _PROFILE_CLASS_MAX,
        _PROFILE_CLASS_INVALID = -EINVAL,
} ProfileClass;

typedef enum ProfileMode {
        PROFILE_MODE_ENFORCE,
        PROFILE_MODE_AUDIT,
        _PROFILE_MODE_MAX,
        _PROFILE_MODE_INVALID = -EINVAL,
} ProfileMode;

typedef enum NetMode {
        NET_MODE_NONE,
        NET_MODE_ALLOWLIST,
        _NET_MODE_MAX,
        _NET_MODE_INVALID = -EINVAL,
} NetMode;

#define NET_PROTO_TCP (1u << 0)
#define NET_PROTO_UDP (1u << 1)

/* One network.allow entry: a CIDR or a hostname, with ports and protocols. */
typedef struct NetRule {
        char *host;          /* lowercase hostname ("*.example.com" allowed), or NULL for a CIDR */
        int family;          /* AF_INET or AF_INET6 when host is NULL */
        uint8_t addr[16];    /* network address, host bits zero */
        uint8_t prefix;      /* 0..32 or 0..128 */
        uint16_t port_lo, port_hi; /* 0..65535 for "any" */
        unsigned protos;     /* NET_PROTO_* bits, never 0 */
} NetRule;

typedef enum SeccompDefault {
        SECCOMP_DEFAULT_ALLOW,
        SECCOMP_DEFAULT_ERRNO,
        SECCOMP_DEFAULT_KILL,
        SECCOMP_DEFAULT_LOG,
        _SECCOMP_DEFAULT_MAX,
        _SECCOMP_DEFAULT_INVALID = -EINVAL,
} SeccompDefault;

/* A syscall name or an @group, with the errno a denial returns
 * (0: the policy's errno). */
typedef struct SyscallRule {
        char *name;
        int errno_value;
} SyscallRule;

typedef struct SeccompPolicy {
        SeccompDefault default_action;
        int errno_value;             /* for default: errno and rules without their own; EPERM */
        SyscallRule *allow;          /* exceptions to a non-allow default */
        size_t n_allow;
        SyscallRule *deny;           /* denied whatever the default */
        size_t n_deny;
        bool restrict_socket_families; /* when true only socket_families may be created */
        int *socket_families;        /* AF_* values */
        size_t n_socket_families;
        bool deny_namespaces;        /* unshare/clone with namespace flags, setns; clone3 gets ENOSYS */
        unsigned long *ioctl_deny;   /* ioctl request numbers denied */
        size_t n_ioctl_deny;
} SeccompPolicy;

typedef enum SecretDelivery {
        SECRET_AS_ENV,
        SECRET_AS_FILE,
} SecretDelivery;

/* A secret the task may receive: the value is read by the supervisor from
 * the secret store at run time, never stored in the profile. */
typedef struct ProfileSecret {
        char *name;      /* [A-Za-z0-9_.-]{1,64}: the store's file name */
        SecretDelivery as;
        char *target;    /* env var name, or absolute file path inside */
} ProfileSecret;

typedef struct ProfileBind {
        char *source;
        char *dest;
        BindMode mode;
        bool must_exist; /* false: a missing source is skipped */
} ProfileBind;

/* observe: the observation layer (stockade-profile(5)). */
#define PROFILE_OBSERVE_WATCH_MAX      8        /* patterns, hidden paths included */
#define PROFILE_OBSERVE_PREFIX_MAX     64       /* bytes before the '*', or of a whole prefix */
#define PROFILE_OBSERVE_SUFFIX_MAX     16       /* bytes after the '*' */
#define PROFILE_OBSERVE_SHAPE_DEFAULT  true
#define PROFILE_OBSERVE_BUDGET_DEFAULT 100000
#define PROFILE_OBSERVE_BUDGET_MAX     10000000

typedef struct ProfileObserve {
        bool shape;            /* record the task's syscall, process and file shape */
        char **watch;          /* "PREFIX" or "PREFIX*SUFFIX": opens that become events; NULL-terminated */
        uint64_t event_budget; /* process and file events recorded before they are only counted */
} ProfileObserve;

typedef struct Profile {
        char *name;
        char *description;
        char *extends;       /* the parent's name as written, or NULL */
        char *path;          /* the file it came from ("builtin:NAME" for embedded ones) */

        ProfileClass class_;
        ProfileMode mode;
        bool keep_code;         /* keep the task's code in the journal, for replay */

        SandboxLimits limits;   /* memory, cpus, pids, timeout, cpu time, tmpfs */
        uint64_t swap_bytes;    /* 0: no swap (the only value the walls enforce today) */
        uint64_t nofile;        /* RLIMIT_NOFILE; 0 = inherit */
        uint64_t fsize_bytes;   /* RLIMIT_FSIZE; 0 = unlimited */
        uint64_t output_bytes;  /* stdout+stderr cap; 0 = unlimited */

        char **system_dirs;     /* shown read-only; NULL-terminated */
        ProfileBind *binds;
        size_t n_binds;
        char **hide;            /* paths masked inside; NULL-terminated */
        char *workdir;

        NetMode net_mode;
        NetRule *net_allow;
        size_t n_net_allow;

        char **env_allow;       /* names or fnmatch(3) globs passed from the caller */
        char **env_set;         /* "NAME=VALUE" */

        ProfileSecret *secrets;
        size_t n_secrets;

        SeccompPolicy seccomp;

        ProfileObserve observe;

        char sha256[65];        /* of the canonical resolved form (profile_to_yaml) */
} Profile;

/* Where a problem is: file:line:column, 1-based; line 0 when not in a file. */
typedef struct ProfileError {
        char file[256];
        unsigned line, column;
        char message[256];
} ProfileError;

/* Loads NAME (searched in /etc/stockade/profiles, then the data dir, then
 * the profiles built into the binary) or a path (anything containing '/'
 * or ending in .yaml), resolves extends, applies defaults and validates.
 * On failure reterr says where and why, and *ret is untouched. */
int profile_load(const char *name_or_path, Profile *ret, ProfileError *reterr);

/* Same from a buffer (unit tests, fuzzing); parents are looked up as above. */
int profile_load_string(const char *text, size_t len, const char *filename, Profile *ret, ProfileError *reterr);

/* Checks one file and reports every problem found (not just the first) via
 * the callback; returns the number of problems, or -errno. */
typedef void (*ProfileProblemFn)(const ProfileError *e, void *userdata);
int profile_check_file(const char *path, ProfileProblemFn fn, void *userdata);

/* The fully resolved profile as YAML (what `profile show` prints and what
 * sha256 is computed over). malloc'd. */
char *profile_to_yaml(const Profile *p);

/* Names of the profiles found on the search path and built in, sorted,
 * without duplicates. NULL-terminated, malloc'd. */
char **profile_list(void);

/* Where NAME would be loaded from: a path, or "builtin:NAME". -ENOENT when
 * it is nowhere on the search path. */
int profile_lookup(const char *name, char **ret_path);

void profile_done(Profile *p);

const char *profile_class_to_string(ProfileClass c);
const char *profile_mode_to_string(ProfileMode m);
const char *net_mode_to_string(NetMode m);
const char *seccomp_default_to_string(SeccompDefault d);
