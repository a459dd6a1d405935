/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* profile_to_yaml(): the canonical form of a resolved profile, what
 * `stockade profile show` prints and what Profile.sha256 hashes. Fixed
 * key order, every key present (but observe: emit_observe()), values
 * resolved and written one way, no comments; it loads back to the same
 * profile. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile-internal.h"

static void key(ProfileWriter *w, const char *k) {
        profile_writer_scalar(w, k);
}

static void pair(ProfileWriter *w, const char *k, const char *v) {
        key(w, k);
        profile_writer_scalar(w, v);
}

static void pair_u64(ProfileWriter *w, const char *k, uint64_t v) {
        char b[PROFILE_NUMBUF];
        (void) snprintf(b, sizeof b, "%" PRIu64, v);
        pair(w, k, b);
}

static void strv(ProfileWriter *w, const char *k, char *const *v) {
        key(w, k);
        profile_writer_sequence_begin(w, false);
        for (; v && *v; v++)
                profile_writer_scalar(w, *v);
        profile_writer_sequence_end(w);
}

static void emit_limits(ProfileWriter *w, const Profile *p) {
        char b[PROFILE_NUMBUF];

        key(w, "limits");
        profile_writer_mapping_begin(w, false);
        pair(w, "memory",
             p->limits.memory_bytes == SANDBOX_UNLIMITED ? "unlimited" : format_size(p->limits.memory_bytes, b));
        pair(w, "swap", format_size(p->swap_bytes, b));
        pair(w, "cpus", format_cpus(p->limits.cpu_millicores, b));
        pair_u64(w, "pids", p->limits.pids);
        pair(w, "wall_time", format_duration(p->limits.timeout_usec, b));
        pair(w, "cpu_time", format_duration(p->limits.cpu_time_usec, b));
        pair(w, "tmpfs", format_size(p->limits.tmpfs_bytes, b));
        pair_u64(w, "open_files", p->nofile);
        pair(w, "file_size", format_size(p->fsize_bytes, b));
        pair(w, "output", format_size(p->output_bytes, b));
        profile_writer_mapping_end(w);
}

static void emit_filesystem(ProfileWriter *w, const Profile *p) {
        key(w, "filesystem");
        profile_writer_mapping_begin(w, false);
        strv(w, "system_dirs", p->system_dirs);
        key(w, "binds");
        profile_writer_sequence_begin(w, false);
        for (size_t i = 0; i < p->n_binds; i++) {
                profile_writer_mapping_begin(w, true);
                pair(w, "src", p->binds[i].source);
                pair(w, "dst", p->binds[i].dest);
                pair(w, "mode", p->binds[i].mode == BIND_RW ? "rw" : "ro");
                key(w, "must_exist");
                profile_writer_plain(w, p->binds[i].must_exist ? "true" : "false");
                profile_writer_mapping_end(w);
        }
        profile_writer_sequence_end(w);
        strv(w, "hide", p->hide);
        key(w, "workdir");
        if (p->workdir)
                profile_writer_scalar(w, p->workdir);
        else
                profile_writer_plain(w, "null");
        profile_writer_mapping_end(w);
}

static void emit_net_rule(ProfileWriter *w, const NetRule *r) {
        const unsigned both = NET_PROTO_TCP | NET_PROTO_UDP;
        char b[PROFILE_NUMBUF + 16];
        const char *target = r->host ?: format_cidr(r, b);
        bool any_port = r->port_lo == 0 && r->port_hi == 65535;

        if (any_port && r->protos == both) { /* the shorthand */
                profile_writer_scalar(w, target);
                return;
        }
        profile_writer_mapping_begin(w, true);
        pair(w, r->host ? "host" : "cidr", target);
        if (!any_port) {
                key(w, "ports");
                profile_writer_sequence_begin(w, true);
                profile_writer_scalar(w, format_ports(r, b));
                profile_writer_sequence_end(w);
        }
        if (r->protos != both)
                pair(w, "proto", r->protos == NET_PROTO_TCP ? "tcp" : "udp");
        profile_writer_mapping_end(w);
}

static void emit_network(ProfileWriter *w, const Profile *p) {
        key(w, "network");
        profile_writer_mapping_begin(w, false);
        pair(w, "mode", net_mode_to_string(p->net_mode) ?: "none");
        key(w, "allow");
        profile_writer_sequence_begin(w, false);
        for (size_t i = 0; i < p->n_net_allow; i++)
                emit_net_rule(w, &p->net_allow[i]);
        profile_writer_sequence_end(w);
        profile_writer_mapping_end(w);
}

static void emit_env(ProfileWriter *w, const Profile *p) {
        key(w, "env");
        profile_writer_mapping_begin(w, false);
        strv(w, "allow", p->env_allow);
        key(w, "set");
        profile_writer_mapping_begin(w, false);
        for (char **e = p->env_set; e && *e; e++) {
                size_t n = strcspn(*e, "=");

                profile_writer_scalar_n(w, *e, n);
                profile_writer_string(w, (*e)[n] ? *e + n + 1 : "");
        }
        profile_writer_mapping_end(w);
        profile_writer_mapping_end(w);
}

static void emit_secrets(ProfileWriter *w, const Profile *p) {
        key(w, "secrets");
        profile_writer_sequence_begin(w, false);
        for (size_t i = 0; i < p->n_secrets; i++) {
                profile_writer_mapping_begin(w, true);
                pair(w, "name", p->secrets[i].name);
                pair(w, p->secrets[i].as == SECRET_AS_ENV ? "env" : "file", p->secrets[i].target);
                profile_writer_mapping_end(w);
        }
        profile_writer_sequence_end(w);
}

static const char *errno_string(int e, char b[static PROFILE_NUMBUF]) {
        const char *n = errno_to_name(e);
        if (n)
                return n;
        (void) snprintf(b, PROFILE_NUMBUF, "%d", e);
        return b;
}

static void emit_seccomp(ProfileWriter *w, const SeccompPolicy *s) {
        char b[PROFILE_NUMBUF];

        key(w, "seccomp");
        profile_writer_mapping_begin(w, false);
        pair(w, "default", seccomp_default_to_string(s->default_action) ?: "allow");
        pair(w, "errno", errno_string(s->errno_value, b));
        key(w, "allow");
        profile_writer_sequence_begin(w, false);
        for (size_t i = 0; i < s->n_allow; i++)
                profile_writer_scalar(w, s->allow[i].name);
        profile_writer_sequence_end(w);
        key(w, "deny");
        profile_writer_sequence_begin(w, false);
        for (size_t i = 0; i < s->n_deny; i++) {
                if (s->deny[i].errno_value == 0) {
                        profile_writer_scalar(w, s->deny[i].name);
                        continue;
                }
                profile_writer_mapping_begin(w, true);
                pair(w, "syscall", s->deny[i].name);
                pair(w, "errno", errno_string(s->deny[i].errno_value, b));
                profile_writer_mapping_end(w);
        }
        profile_writer_sequence_end(w);
        key(w, "socket_families");
        profile_writer_sequence_begin(w, false);
        for (size_t i = 0; i < s->n_socket_families; i++) {
                const char *n = socket_family_to_name(s->socket_families[i]);
                if (!n)
                        (void) snprintf(b, sizeof b, "%d", s->socket_families[i]);
                profile_writer_scalar(w, n ?: b);
        }
        profile_writer_sequence_end(w);
        pair(w, "namespaces", s->deny_namespaces ? "deny" : "allow");
        key(w, "ioctl_deny");
        profile_writer_sequence_begin(w, false);
        for (size_t i = 0; i < s->n_ioctl_deny; i++) {
                const char *n = ioctl_to_name(s->ioctl_deny[i]);
                if (!n)
                        (void) snprintf(b, sizeof b, "0x%lx", s->ioctl_deny[i]);
                profile_writer_scalar(w, n ?: b);
        }
        profile_writer_sequence_end(w);
        profile_writer_mapping_end(w);
}

/* Always spelled out, all keys. It was once left out at its defaults, to
 * keep the hashes profiles had before it existed; since shape is on by
 * default, a profile without the section means something else than it
 * did then, so its hash changes with it. */
static void emit_observe(ProfileWriter *w, const Profile *p) {
        key(w, "observe");
        profile_writer_mapping_begin(w, false);
        key(w, "shape");
        profile_writer_plain(w, p->observe.shape ? "true" : "false");
        strv(w, "watch", p->observe.watch);
        pair_u64(w, "event_budget", p->observe.event_budget);
        profile_writer_mapping_end(w);
}

char *profile_to_yaml(const Profile *p) {
        _cleanup_(profile_writer_freep) ProfileWriter *w = NULL;
        char *text = NULL;

        if (!p || profile_writer_new(&w) < 0)
                return NULL;
        profile_writer_mapping_begin(w, false);
        pair_u64(w, "version", PROFILE_VERSION);
        pair(w, "name", p->name);
        key(w, "description");
        profile_writer_string(w, p->description);
        key(w, "extends");
        if (p->extends)
                profile_writer_scalar(w, p->extends);
        else
                profile_writer_plain(w, "null");
        pair(w, "class", profile_class_to_string(p->class_) ?: "interactive");
        pair(w, "mode", profile_mode_to_string(p->mode) ?: "enforce");
        key(w, "keep_code");
        profile_writer_plain(w, p->keep_code ? "true" : "false");
        emit_limits(w, p);
        emit_filesystem(w, p);
        emit_network(w, p);
        emit_env(w, p);
        emit_secrets(w, p);
        emit_seccomp(w, &p->seccomp);
        emit_observe(w, p);
        profile_writer_mapping_end(w);
        if (profile_writer_finish(w, &text) < 0)
                return NULL;
        return text;
}
