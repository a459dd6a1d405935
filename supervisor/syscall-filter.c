/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "syscall-filter.h"
#include "syscall-groups.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

/* Native syscall numbers on the architectures we build for stay below this. */
#define NR_MAX 1024

DEFINE_TRIVIAL_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release);

static const unsigned long ns_flags[] = {
        CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
        CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME,
};

typedef enum Verdict {
        V_NONE,
        V_ALLOW,
        V_DENY,
} Verdict;

typedef struct Table {
        Verdict v[NR_MAX];
        int err[NR_MAX]; /* V_DENY: errno; 0 for the policy's */
} Table;

static int native_nr(const char *name) {
        int nr = seccomp_syscall_resolve_name(name);
        /* Negative: not a syscall of this architecture (a pseudo number). */
        return nr >= 0 && nr < NR_MAX ? nr : -1;
}

/* Marks every syscall a name or @group stands for; depth bounds group nesting. */
static int mark(Table *t, const char *name, Verdict v, int e, int depth, char *err, size_t errlen) {
        if (name[0] == '@') {
                const SyscallGroup *g = syscall_group_find(name);
                if (!g)
                        return errbuf_set(err, errlen, "seccomp: unknown syscall group '%s'", name);
                if (depth > 4)
                        return errbuf_set(err, errlen, "seccomp: groups nested too deep at '%s'", name);
                for (const char *const *m = g->members; *m; m++) {
                        int r = mark(t, *m, v, e, depth + 1, err, errlen);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        if (!syscall_name_known(name))
                return errbuf_set(err, errlen, "seccomp: unknown syscall '%s'", name);
        int nr = native_nr(name);
        if (nr < 0)
                return 0;
        /* A denial always beats an allowance. */
        if (v == V_DENY || t->v[nr] != V_DENY) {
                t->v[nr] = v;
                t->err[nr] = e;
        }
        return 0;
}

static uint32_t deny_action(const SeccompPolicy *p, int e, bool audit) {
        if (audit)
                return SCMP_ACT_NOTIFY;
        return SCMP_ACT_ERRNO((uint32_t) (e > 0 ? e : p->errno_value));
}

static uint32_t default_action(const SeccompPolicy *p, bool audit) {
        switch (p->default_action) {
        case SECCOMP_DEFAULT_ERRNO:
                return audit ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO((uint32_t) p->errno_value);
        case SECCOMP_DEFAULT_KILL:
                return audit ? SCMP_ACT_NOTIFY : SCMP_ACT_KILL_PROCESS;
        case SECCOMP_DEFAULT_LOG:
                return SCMP_ACT_LOG;
        case SECCOMP_DEFAULT_ALLOW:
        default:
                return SCMP_ACT_ALLOW;
        }
}

static bool default_allows(const SeccompPolicy *p) {
        return p->default_action == SECCOMP_DEFAULT_ALLOW || p->default_action == SECCOMP_DEFAULT_LOG;
}

static int new_ctx(uint32_t def, scmp_filter_ctx *ret) {
        scmp_filter_ctx ctx = seccomp_init(def);
        int r;

        if (!ctx)
                return -ENOMEM;
        /* i386 and x32 calls would bypass rules written for native numbers. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        /* no_new_privs is set by the caller, in the documented order. */
        if (r >= 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0) {
                seccomp_release(ctx);
                return r;
        }
        *ret = ctx;
        return 0;
}

/* A rule whose action is the default's is refused by libseccomp (and moot). */
static int rule(scmp_filter_ctx ctx, uint32_t def, uint32_t action, int nr, unsigned n, const struct scmp_arg_cmp *cmp) {
        if (action == def)
                return 0;
        return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

static struct scmp_arg_cmp cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b) {
        return (struct scmp_arg_cmp) { .arg = arg, .op = op, .datum_a = a, .datum_b = b };
}

/* The argument rules: conditional denials, in a program whose default
 * lets everything else through. */
static int add_arg_rules(scmp_filter_ctx ctx, uint32_t def, const SeccompPolicy *p, const Table *t, bool audit) {
        int r;

        if (p->restrict_socket_families && t->v[SCMP_SYS(socket)] != V_DENY) {
                uint32_t a = deny_action(p, 0, audit);
                for (int fam = 0; fam < AF_MAX; fam++) {
                        bool ok = false;
                        for (size_t i = 0; i < p->n_socket_families; i++)
                                ok = ok || p->socket_families[i] == fam;
                        if (ok)
                                continue;
                        struct scmp_arg_cmp c = cmp(0, SCMP_CMP_EQ, (scmp_datum_t) fam, 0);
                        if ((r = rule(ctx, def, a, SCMP_SYS(socket), 1, &c)) < 0)
                                return r;
                }
                struct scmp_arg_cmp c = cmp(0, SCMP_CMP_GE, AF_MAX, 0);
                if ((r = rule(ctx, def, a, SCMP_SYS(socket), 1, &c)) < 0)
                        return r;
        }
        if (p->deny_namespaces) {
                uint32_t a = deny_action(p, 0, audit);
                for (size_t i = 0; i < ELEMENTSOF(ns_flags); i++) {
                        struct scmp_arg_cmp c = cmp(0, SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]);
                        if (t->v[SCMP_SYS(unshare)] != V_DENY && (r = rule(ctx, def, a, SCMP_SYS(unshare), 1, &c)) < 0)
                                return r;
                        if (t->v[SCMP_SYS(clone)] != V_DENY && (r = rule(ctx, def, a, SCMP_SYS(clone), 1, &c)) < 0)
                                return r;
                }
        }
        for (size_t i = 0; i < p->n_ioctl_deny && t->v[SCMP_SYS(ioctl)] != V_DENY; i++) {
                struct scmp_arg_cmp c = cmp(1, SCMP_CMP_MASKED_EQ, 0xffffffffUL, p->ioctl_deny[i] & 0xffffffffUL);
                if ((r = rule(ctx, def, deny_action(p, 0, audit), SCMP_SYS(ioctl), 1, &c)) < 0)
                        return r;
        }
        return 0;
}

static bool has_arg_rules(const SeccompPolicy *p) {
        return p->restrict_socket_families || p->deny_namespaces || p->n_ioctl_deny > 0;
}

static int export(scmp_filter_ctx ctx, SeccompProgram *ret) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        void *buf;
        int r;

        fd = memfd_create("stockade-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
            st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return -E2BIG;
        buf = malloc((size_t) st.st_size);
        if (!buf)
                return -ENOMEM;
        if (pread(fd, buf, (size_t) st.st_size, 0) != st.st_size) {
                free(buf);
                return -EIO;
        }
        ret->insns = buf;
        ret->n_insns = (size_t) st.st_size / sizeof(struct sock_filter);
        return 0;
}

/* The syscall table program: default action, allowances, denials; and,
 * where the default lets calls through, the argument rules too. */
static int build_main(const SeccompPolicy *p, const Table *t, bool with_args, SeccompProgram *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        uint32_t def = default_action(p, false);
        int r;

        r = new_ctx(def, &ctx);
        if (r < 0)
                return r;
        for (int nr = 0; nr < NR_MAX; nr++) {
                r = 0;
                if (t->v[nr] == V_DENY)
                        r = rule(ctx, def, deny_action(p, t->err[nr], false), nr, 0, NULL);
                else if (t->v[nr] == V_ALLOW && !default_allows(p))
                        r = rule(ctx, def, SCMP_ACT_ALLOW, nr, 0, NULL);
                if (r < 0)
                        return r;
        }
        if (p->deny_namespaces) {
                /* clone3 hides its flags in memory: ENOSYS sends libc back to clone. */
                if (t->v[SCMP_SYS(clone3)] != V_DENY &&
                    (r = rule(ctx, def, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL)) < 0)
                        return r;
                if ((r = rule(ctx, def, deny_action(p, t->err[SCMP_SYS(setns)], false), SCMP_SYS(setns), 0, NULL)) < 0)
                        return r;
        }
        if (with_args) {
                r = add_arg_rules(ctx, def, p, t, false);
                if (r < 0)
                        return r;
        }
        return export(ctx, ret);
}

static int build_args(const SeccompPolicy *p, const Table *t, SeccompProgram *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r = new_ctx(SCMP_ACT_ALLOW, &ctx);
        if (r < 0)
                return r;
        r = add_arg_rules(ctx, SCMP_ACT_ALLOW, p, t, false);
        if (r < 0)
                return r;
        return export(ctx, ret);
}

/* Audit: one program that notifies on every call an enforce program might
 * not allow: denied syscalls, the default, and each argument-checked
 * syscall (userspace then runs the enforce programs on the actual args). */
static int build_audit(const SeccompPolicy *p, const Table *t, SeccompProgram *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        uint32_t def = default_action(p, true);
        int r;

        r = new_ctx(def, &ctx);
        if (r < 0)
                return r;
        for (int nr = 0; nr < NR_MAX; nr++) {
                bool argchecked = (nr == SCMP_SYS(socket) && p->restrict_socket_families) ||
                                  ((nr == SCMP_SYS(unshare) || nr == SCMP_SYS(clone) || nr == SCMP_SYS(clone3) ||
                                    nr == SCMP_SYS(setns)) && p->deny_namespaces) ||
                                  (nr == SCMP_SYS(ioctl) && p->n_ioctl_deny > 0);
                uint32_t a;
                if (t->v[nr] == V_DENY || argchecked)
                        a = SCMP_ACT_NOTIFY;
                else if (t->v[nr] == V_ALLOW && !default_allows(p))
                        a = SCMP_ACT_ALLOW;
                else
                        continue;
                /* execve must get through unasked: the task's own start
                 * happens before the supervisor holds the listener. */
                if (nr == SCMP_SYS(execve))
                        a = SCMP_ACT_ALLOW;
                r = rule(ctx, def, a, nr, 0, NULL);
                if (r < 0)
                        return r;
        }
        if (def != SCMP_ACT_ALLOW && def != SCMP_ACT_LOG && (r = rule(ctx, def, SCMP_ACT_ALLOW, SCMP_SYS(execve), 0, NULL)) < 0)
                return r;
        return export(ctx, ret);
}

int syscall_filter_compile(const SeccompPolicy *p, bool audit, SyscallFilter *ret, char *err, size_t errlen) {
        _cleanup_free_ Table *t = calloc(1, sizeof(Table));
        SyscallFilter f = {};
        int r;

        err[0] = 0;
        if (!t)
                return -ENOMEM;
        if (!default_allows(p)) {
                r = mark(t, SYSCALL_GROUP_DEFAULT, V_ALLOW, 0, 0, err, errlen);
                for (size_t i = 0; r >= 0 && i < p->n_allow; i++)
                        r = mark(t, p->allow[i].name, V_ALLOW, 0, 0, err, errlen);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < p->n_deny; i++) {
                r = mark(t, p->deny[i].name, V_DENY, p->deny[i].errno_value, 0, err, errlen);
                if (r < 0)
                        return r;
        }
        /* The task could not even start (or stop) without these. */
        static const char *const needed[] = { "execve", "exit", "exit_group" };
        for (size_t i = 0; i < ELEMENTSOF(needed); i++) {
                int nr = native_nr(needed[i]);
                if (nr >= 0 && t->v[nr] == V_DENY)
                        return errbuf_set(err, errlen, "seccomp: '%s' cannot be denied: the task needs it to start and end",
                                    needed[i]);
        }

        /* With a permissive default, conditional denials live in the main
         * program; otherwise in a second, default-allow one. */
        bool separate = has_arg_rules(p) && !default_allows(p);
        r = build_main(p, t, !separate, &f.enforce[0]);
        if (r >= 0) {
                f.n_enforce = 1;
                if (separate) {
                        r = build_args(p, t, &f.enforce[1]);
                        if (r >= 0)
                                f.n_enforce = 2;
                }
        }
        if (r >= 0 && audit)
                r = build_audit(p, t, &f.audit);
        if (r < 0) {
                syscall_filter_done(&f);
                if (!err[0])
                        (void) errbuf_set(err, errlen, "seccomp: cannot compile the policy: %s", strerror(-r));
                return r;
        }
        *ret = f;
        return 0;
}

void syscall_filter_done(SyscallFilter *f) {
        for (size_t i = 0; i < ELEMENTSOF(f->enforce); i++) {
                free(f->enforce[i].insns);
                f->enforce[i] = (SeccompProgram) {};
        }
        f->n_enforce = 0;
        free(f->audit.insns);
        f->audit = (SeccompProgram) {};
}

static int install_one(const SeccompProgram *p, unsigned long flags) {
        struct sock_fprog prog = { .len = (unsigned short) p->n_insns, .filter = p->insns };
        return RET_NERRNO((int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog));
}

int syscall_filter_install(const SyscallFilter *f, int *ret_listener) {
        int r;

        *ret_listener = -EBADF;
        if (f->audit.n_insns > 0) {
                r = install_one(&f->audit, SECCOMP_FILTER_FLAG_NEW_LISTENER);
                if (r < 0)
                        return r;
                *ret_listener = r;
                return 0;
        }
        /* Stacked: the kernel runs both and keeps the stricter verdict. */
        for (size_t i = f->n_enforce; i > 0; i--) {
                r = install_one(&f->enforce[i - 1], 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

uint32_t syscall_filter_evaluate(const SyscallFilter *f, const struct seccomp_data *d) {
        uint32_t best = SECCOMP_RET_ALLOW;
        /* The kernel's precedence: the lowest action, read as signed. */
        for (size_t i = 0; i < f->n_enforce; i++) {
                uint32_t v = seccomp_program_run(&f->enforce[i], d);
                if ((int32_t) (v & SECCOMP_RET_ACTION_FULL) < (int32_t) (best & SECCOMP_RET_ACTION_FULL))
                        best = v;
        }
        return best;
}
