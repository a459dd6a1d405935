/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rule lists of a profile file: network (mode, allow) and seccomp
 * (default, errno, allow, deny, socket_families, namespaces, ioctl_deny). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile-walk.h"
#include "syscall-groups.h"

/* A network.allow mapping entry, before its ports are expanded. */
typedef struct NetEntry {
        char *host;
        NetRule cidr;
        bool has_cidr, has_host, has_ports;
        uint16_t ports[PROFILE_LIST_MAX][2];
        size_t n_ports;
        unsigned protos;
} NetEntry;

/* ---- network ---- */

static int on_net_mode(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const char *const names[] = { [NET_MODE_NONE] = "none", [NET_MODE_ALLOWLIST] = "allowlist" };
        int v;

        if (layer_pick(w, path, key, value, names, ELEMENTSOF(names), &v) < 0)
                return 0;
        w->l->p.net_mode = (NetMode) v;
        layer_set(w, PF_NET_MODE, key, value);
        return 0;
}

/* A CIDR or hostname in t, into e; reported at the node. 0 or 1. */
static int net_target(Walk *w, const char *path, int node, const char *t, bool as_cidr, NetEntry *e) {
        char shown[80];
        int r;

        if (as_cidr) {
                r = net_cidr_parse(t, &e->cidr);
                if (r == -EADDRNOTAVAIL) {
                        layer_problem(w, layer_mark(w, node), path, "bad CIDR '%s' (host bits set)",
                                      profile_shown(t, shown));
                        return 1;
                }
                if (r < 0) {
                        layer_problem(w, layer_mark(w, node), path, "bad CIDR '%s'", profile_shown(t, shown));
                        return 1;
                }
                e->has_cidr = true;
                return 0;
        }
        free(e->host);
        e->host = NULL;
        r = net_host_normalize(t, &e->host);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                layer_problem(w, layer_mark(w, node), path,
                              "bad host '%s' (RFC 1123: labels of letters, digits and '-', optionally \"*.\" first)",
                              profile_shown(t, shown));
                return 1;
        }
        e->has_host = true;
        return 0;
}

static int on_net_entry_key(Walk *w, const char *path, int key, int value, int arg) {
        static const char *const protos[] = { "tcp", "udp" };
        NetEntry *e = w->target;
        char ip[PATH_LEN], shown[80];
        const char *t;
        int v, r;

        switch (arg) {
        case 0: /* cidr */
        case 1: /* host */
                t = layer_scalar(w, path, layer_mark(w, key), value, arg == 0 ? "a CIDR" : "a hostname");
                if (!t)
                        return 0;
                r = net_target(w, path, value, t, arg == 0, e);
                return r < 0 ? r : 0;
        case 2: /* ports */
                if (!layer_want_sequence(w, path, key, value))
                        return 0;
                e->has_ports = true;
                if (profile_node_size(w->doc, value) == 0)
                        layer_problem(w, layer_mark(w, key), path, "empty; leave it out for any port");
                for (size_t i = 0; i < profile_node_size(w->doc, value); i++) {
                        int item = profile_node_item(w->doc, value, i);

                        t = layer_scalar(w, layer_indexed(ip, path, i), layer_mark(w, item), item,
                                         "a port or LOW-HIGH");
                        if (!t)
                                continue;
                        if (net_port_range_parse(t, &e->ports[e->n_ports][0], &e->ports[e->n_ports][1]) < 0) {
                                layer_problem(w, layer_mark(w, item), ip, "bad port '%s' (1-65535, or LOW-HIGH)",
                                              profile_shown(t, shown));
                                continue;
                        }
                        e->n_ports++;
                }
                return 0;
        default: /* proto */
                e->protos = 0;
                if (layer_kind(w, value) != PROFILE_NODE_SEQUENCE) {
                        if (layer_pick(w, path, key, value, protos, ELEMENTSOF(protos), &v) == 0)
                                e->protos = 1u << v;
                        return 0;
                }
                if (!layer_want_sequence(w, path, key, value))
                        return 0;
                for (size_t i = 0; i < profile_node_size(w->doc, value); i++) {
                        int item = profile_node_item(w->doc, value, i);
                        if (layer_pick(w, layer_indexed(ip, path, i), item, item, protos, ELEMENTSOF(protos), &v) == 0)
                                e->protos |= 1u << v;
                }
                if (profile_node_size(w->doc, value) == 0)
                        layer_problem(w, layer_mark(w, key), path, "empty; give tcp, udp or both");
                return 0;
        }
}

static int push_net_rule(ProfileLayer *l, const NetEntry *e, uint16_t lo, uint16_t hi) {
        NetRule rule = { .port_lo = lo, .port_hi = hi, .protos = e->protos }, *a;

        if (e->has_host)
                rule.host = e->host;
        else {
                rule.family = e->cidr.family;
                memcpy(rule.addr, e->cidr.addr, sizeof rule.addr);
                rule.prefix = e->cidr.prefix;
        }
        for (size_t i = 0; i < l->p.n_net_allow; i++)
                if (net_rule_equal(&l->p.net_allow[i], &rule))
                        return 0;
        if (l->p.n_net_allow >= PROFILE_LIST_MAX * 4)
                return 1; /* see on_net_allow */
        a = reallocarray(l->p.net_allow, l->p.n_net_allow + 1, sizeof(NetRule));
        if (!a)
                return -ENOMEM;
        l->p.net_allow = a;
        if (rule.host) {
                rule.host = strdup(rule.host);
                if (!rule.host)
                        return -ENOMEM;
        }
        l->p.net_allow[l->p.n_net_allow++] = rule;
        return 0;
}

static int on_net_allow(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const KeyHandler keys[] = {
                { "cidr", on_net_entry_key, 0 },
                { "host", on_net_entry_key, 1 },
                { "ports", on_net_entry_key, 2 },
                { "proto", on_net_entry_key, 3 },
        };
        ProfileLayer *l = w->l;
        unsigned before = w->pp->n;

        if (!layer_want_sequence(w, path, key, value))
                return 0;

        for (size_t i = 0; i < profile_node_size(w->doc, value); i++) {
                _cleanup_free_ NetEntry *e = NULL;
                int item = profile_node_item(w->doc, value, i);
                unsigned errors = w->pp->n;
                char ip[PATH_LEN];
                const char *t;
                int r = 0;

                e = calloc(1, sizeof *e);
                if (!e)
                        return -ENOMEM;
                e->protos = NET_PROTO_TCP | NET_PROTO_UDP;
                layer_indexed(ip, path, i);
                if (layer_kind(w, item) == PROFILE_NODE_MAPPING) {
                        r = layer_entry(w, ip, item, keys, ELEMENTSOF(keys), e);
                        if (r >= 0 && w->pp->n == errors) {
                                if (!e->has_cidr && !e->has_host)
                                        layer_problem(w, layer_mark(w, item), ip, "give cidr or host");
                                else if (e->has_cidr && e->has_host)
                                        layer_problem(w, layer_mark(w, item), ip, "give cidr or host, not both");
                        }
                } else {
                        t = layer_scalar(w, ip, layer_mark(w, item), item, "a CIDR, a hostname or a mapping");
                        if (t)
                                r = net_target(w, ip, item, t, net_looks_like_address(t), e);
                        if (r > 0) /* reported */
                                r = 0;
                }
                if (r >= 0 && w->pp->n == errors) {
                        if (!e->has_ports)
                                r = push_net_rule(l, e, 0, 65535);
                        for (size_t j = 0; r == 0 && j < e->n_ports; j++)
                                r = push_net_rule(l, e, e->ports[j][0], e->ports[j][1]);
                        /* Every entry times its ports: capped, or a small file could ask for millions. */
                        if (r > 0)
                                layer_problem(w, layer_mark(w, item), ip, "more than %d rules in all",
                                              PROFILE_LIST_MAX * 4);
                }
                free(e->host);
                if (r < 0)
                        return r;
                if (r > 0)
                        break;
        }
        if (w->pp->n == before)
                layer_set(w, PF_NET_ALLOW, key, value);
        return 0;
}

/* ---- seccomp ---- */

static int on_seccomp_default(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const char *const names[] = {
                [SECCOMP_DEFAULT_ALLOW] = "allow",
                [SECCOMP_DEFAULT_ERRNO] = "errno",
                [SECCOMP_DEFAULT_KILL] = "kill",
                [SECCOMP_DEFAULT_LOG] = "log",
        };
        int v;

        if (layer_pick(w, path, key, value, names, ELEMENTSOF(names), &v) < 0)
                return 0;
        w->l->p.seccomp.default_action = (SeccompDefault) v;
        layer_set(w, PF_SECCOMP_DEFAULT, key, value);
        return 0;
}

/* An errno name at node: > 0, or 0 after a problem. */
static int errno_of(Walk *w, const char *path, ProfileMark at, int node) {
        const char *t = layer_scalar(w, path, at, node, "an errno name");
        char shown[80];
        int e;

        if (!t)
                return 0;
        e = errno_from_name(t);
        if (e < 0) {
                layer_problem(w, layer_mark(w, node), path, "unknown errno name '%s'", profile_shown(t, shown));
                return 0;
        }
        return e;
}

static int on_seccomp_errno(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        int e = errno_of(w, path, layer_mark(w, key), value);

        if (e > 0) {
                w->l->p.seccomp.errno_value = e;
                layer_set(w, PF_SECCOMP_ERRNO, key, value);
        }
        return 0;
}

static bool syscall_known(Walk *w, const char *path, int node, const char *t) {
        char shown[80];

        if (t[0] == '@') {
                if (syscall_group_find(t))
                        return true;
                layer_problem(w, layer_mark(w, node), path, "unknown syscall group '%s'", profile_shown(t, shown));
                return false;
        }
        if (syscall_name_known(t))
                return true;
        layer_problem(w, layer_mark(w, node), path, "unknown syscall '%s'", profile_shown(t, shown));
        return false;
}

static int on_seccomp_allow(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        SeccompPolicy *s = &w->l->p.seccomp;
        unsigned before = w->pp->n;
        size_t n;

        if (!layer_want_sequence(w, path, key, value))
                return 0;
        n = profile_node_size(w->doc, value);
        s->allow = calloc(n ? n : 1, sizeof(SyscallRule));
        w->l->allow_marks = calloc(n ? n : 1, sizeof(ProfileMark));
        if (!s->allow || !w->l->allow_marks)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int item = profile_node_item(w->doc, value, i);
                char ip[PATH_LEN];
                const char *t =
                        layer_scalar(w, layer_indexed(ip, path, i), layer_mark(w, item), item, "a syscall or @group");
                bool seen = false;

                if (!t || !syscall_known(w, ip, item, t))
                        continue;
                for (size_t j = 0; j < s->n_allow && !seen; j++)
                        seen = streq(s->allow[j].name, t);
                if (seen)
                        continue;
                s->allow[s->n_allow].name = strdup(t);
                if (!s->allow[s->n_allow].name)
                        return -ENOMEM;
                w->l->allow_marks[s->n_allow++] = layer_mark(w, item);
        }
        if (w->pp->n == before)
                layer_set(w, PF_SECCOMP_ALLOW, key, value);
        return 0;
}

static int on_deny_key(Walk *w, const char *path, int key, int value, int arg) {
        SyscallRule *rule = w->target;
        const char *t;

        if (arg == 1) {
                rule->errno_value = errno_of(w, path, layer_mark(w, key), value);
                return 0;
        }
        t = layer_scalar(w, path, layer_mark(w, key), value, "a syscall or @group");
        if (!t || !syscall_known(w, path, value, t))
                return 0;
        free(rule->name);
        rule->name = strdup(t);
        return rule->name ? 0 : -ENOMEM;
}

static int on_seccomp_deny(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const KeyHandler keys[] = {
                { "syscall", on_deny_key, 0 },
                { "errno", on_deny_key, 1 },
        };
        SeccompPolicy *s = &w->l->p.seccomp;
        unsigned before = w->pp->n;
        size_t n;

        if (!layer_want_sequence(w, path, key, value))
                return 0;
        n = profile_node_size(w->doc, value);
        s->deny = calloc(n ? n : 1, sizeof(SyscallRule));
        w->deny_origin = calloc(n ? n : 1, sizeof(SyscallOrigin));
        if (!s->deny || !w->deny_origin)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int item = profile_node_item(w->doc, value, i);
                SyscallRule rule = {};
                unsigned errors = w->pp->n;
                char ip[PATH_LEN], shown[80];
                const char *t;
                bool seen = false;
                int r;

                layer_indexed(ip, path, i);
                if (layer_kind(w, item) == PROFILE_NODE_MAPPING) {
                        r = layer_entry(w, ip, item, keys, ELEMENTSOF(keys), &rule);
                        if (r < 0) {
                                free(rule.name);
                                return r;
                        }
                        if (w->pp->n == errors && !rule.name)
                                layer_problem(w, layer_mark(w, item), ip, "syscall: missing");
                } else {
                        t = layer_scalar(w, ip, layer_mark(w, item), item, "a syscall, @group or mapping");
                        if (t && syscall_known(w, ip, item, t)) {
                                rule.name = strdup(t);
                                if (!rule.name)
                                        return -ENOMEM;
                        }
                }
                if (w->pp->n != errors || !rule.name) {
                        free(rule.name);
                        continue;
                }
                for (size_t j = 0; j < s->n_deny && !seen; j++)
                        if (streq(s->deny[j].name, rule.name)) {
                                seen = true;
                                if (s->deny[j].errno_value != rule.errno_value)
                                        layer_problem(w, layer_mark(w, item), ip,
                                                      "'%s' is already listed with another errno",
                                                      profile_shown(rule.name, shown));
                        }
                if (seen) {
                        free(rule.name);
                        continue;
                }
                w->deny_origin[s->n_deny] = (SyscallOrigin){ .mark = layer_mark(w, item), .index = i };
                s->deny[s->n_deny++] = rule;
        }
        if (w->pp->n == before)
                layer_set(w, PF_SECCOMP_DENY, key, value);
        return 0;
}

static int on_socket_families(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        SeccompPolicy *s = &w->l->p.seccomp;
        unsigned before = w->pp->n;
        size_t n;

        if (!layer_want_sequence(w, path, key, value))
                return 0;
        n = profile_node_size(w->doc, value);
        s->socket_families = calloc(n ? n : 1, sizeof(int));
        if (!s->socket_families)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int item = profile_node_item(w->doc, value, i), af;
                char ip[PATH_LEN], shown[80];
                const char *t =
                        layer_scalar(w, layer_indexed(ip, path, i), layer_mark(w, item), item, "a socket family");
                bool seen = false;

                if (!t)
                        continue;
                af = socket_family_from_name(t);
                if (af < 0) {
                        layer_problem(w, layer_mark(w, item), ip, "unknown socket family '%s'",
                                      profile_shown(t, shown));
                        continue;
                }
                for (size_t j = 0; j < s->n_socket_families; j++)
                        seen = seen || s->socket_families[j] == af;
                if (!seen)
                        s->socket_families[s->n_socket_families++] = af;
        }
        if (w->pp->n == before) {
                s->restrict_socket_families = true;
                layer_set(w, PF_SOCKET_FAMILIES, key, value);
        }
        return 0;
}

static int on_namespaces(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const char *const names[] = { "deny", "allow" };
        int v;

        if (layer_pick(w, path, key, value, names, ELEMENTSOF(names), &v) < 0)
                return 0;
        w->l->p.seccomp.deny_namespaces = v == 0;
        layer_set(w, PF_NAMESPACES, key, value);
        return 0;
}

static int on_ioctl_deny(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        SeccompPolicy *s = &w->l->p.seccomp;
        unsigned before = w->pp->n;
        size_t n;

        if (!layer_want_sequence(w, path, key, value))
                return 0;
        n = profile_node_size(w->doc, value);
        s->ioctl_deny = calloc(n ? n : 1, sizeof(unsigned long));
        if (!s->ioctl_deny)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int item = profile_node_item(w->doc, value, i);
                char ip[PATH_LEN], shown[80];
                const char *t = layer_scalar(w, layer_indexed(ip, path, i), layer_mark(w, item), item,
                                             "an ioctl name or number");
                unsigned long req;
                bool seen = false;

                if (!t)
                        continue;
                if (ioctl_from_string(t, &req) < 0) {
                        layer_problem(w, layer_mark(w, item), ip,
                                      "unknown ioctl '%s' (a name like TIOCSTI, or a number)", profile_shown(t, shown));
                        continue;
                }
                for (size_t j = 0; j < s->n_ioctl_deny; j++)
                        seen = seen || s->ioctl_deny[j] == req;
                if (!seen)
                        s->ioctl_deny[s->n_ioctl_deny++] = req;
        }
        if (w->pp->n == before)
                layer_set(w, PF_IOCTL_DENY, key, value);
        return 0;
}

int layer_on_network(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const KeyHandler keys[] = {
                { "mode", on_net_mode, 0 },
                { "allow", on_net_allow, 0 },
        };
        return layer_section(w, path, key, value, keys, ELEMENTSOF(keys));
}

int layer_on_seccomp(Walk *w, const char *path, int key, int value, _unused_ int arg) {
        static const KeyHandler keys[] = {
                { "default", on_seccomp_default, 0 },
                { "errno", on_seccomp_errno, 0 },
                { "allow", on_seccomp_allow, 0 },
                { "deny", on_seccomp_deny, 0 },
                { "socket_families", on_socket_families, 0 },
                { "namespaces", on_namespaces, 0 },
                { "ioctl_deny", on_ioctl_deny, 0 },
        };
        const SeccompPolicy *s = &w->l->p.seccomp;
        char shown[80];
        int r;

        r = layer_section(w, path, key, value, keys, ELEMENTSOF(keys));
        if (r < 0)
                return r;
        /* The same name allowed and denied by one file. */
        for (size_t i = 0; i < s->n_deny && w->deny_origin; i++)
                for (size_t j = 0; j < s->n_allow; j++)
                        if (streq(s->deny[i].name, s->allow[j].name))
                                layer_problem(w, w->deny_origin[i].mark, NULL,
                                              "seccomp.deny[%zu]: '%s' is also in seccomp.allow",
                                              w->deny_origin[i].index, profile_shown(s->deny[i].name, shown));
        return 0;
}
