/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "syscall-filter.h"

static SyscallRule R(const char *name, int e) {
        return (SyscallRule) { .name = (char *) name, .errno_value = e };
}

static int families[] = { AF_UNIX, AF_INET, AF_INET6 };
static unsigned long ioctls[] = { TIOCSTI, TIOCLINUX };

/* The strict baseline of the default profile, in C. */
static SeccompPolicy baseline(SyscallRule *deny, size_t n_deny) {
        return (SeccompPolicy) {
                .default_action = SECCOMP_DEFAULT_ALLOW,
                .errno_value = EPERM,
                .deny = deny,
                .n_deny = n_deny,
                .restrict_socket_families = true,
                .socket_families = families,
                .n_socket_families = 3,
                .deny_namespaces = true,
                .ioctl_deny = ioctls,
                .n_ioctl_deny = 2,
        };
}

static uint32_t eval(const SyscallFilter *f, int nr, uint64_t a0, uint64_t a1) {
        struct seccomp_data d = { .nr = nr, .arch = AUDIT_ARCH_X86_64, .args = { a0, a1 } };
        return syscall_filter_evaluate(f, &d);
}

#define ERRNO(e) (SECCOMP_RET_ERRNO | (e))

START_TEST(test_baseline) {
        SyscallRule deny[] = { R("@mount", 0), R("ptrace", EACCES), R("@io-uring", 0) };
        SeccompPolicy p = baseline(deny, 3);
        SyscallFilter f;
        char err[256];

        ck_assert_msg(syscall_filter_compile(&p, false, &f, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(f.n_enforce, 1); /* permissive default: one program */
        ck_assert_uint_eq(eval(&f, __NR_read, 0, 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(eval(&f, __NR_mount, 0, 0), ERRNO(EPERM));
        ck_assert_uint_eq(eval(&f, __NR_pivot_root, 0, 0), ERRNO(EPERM));
        ck_assert_uint_eq(eval(&f, __NR_ptrace, 0, 0), ERRNO(EACCES));
        ck_assert_uint_eq(eval(&f, __NR_io_uring_setup, 0, 0), ERRNO(EPERM));
        ck_assert_uint_eq(eval(&f, __NR_socket, AF_INET, 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(eval(&f, __NR_socket, AF_UNIX, 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(eval(&f, __NR_socket, AF_NETLINK, 0), ERRNO(EPERM));
        ck_assert_uint_eq(eval(&f, __NR_socket, AF_PACKET, 0), ERRNO(EPERM));
        ck_assert_uint_eq(eval(&f, __NR_socket, 4242, 0), ERRNO(EPERM));
        ck_assert_uint_eq(eval(&f, __NR_ioctl, 0, TCGETS), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(eval(&f, __NR_ioctl, 0, TIOCSTI), ERRNO(EPERM));
        /* The upper half of the request word is ignored, as the kernel does. */
        ck_assert_uint_eq(eval(&f, __NR_ioctl, 0, 0xffffffff00000000ULL | TIOCSTI), ERRNO(EPERM));
        ck_assert_uint_eq(eval(&f, __NR_unshare, CLONE_NEWNET, 0), ERRNO(EPERM));
        ck_assert_uint_eq(eval(&f, __NR_unshare, CLONE_FILES, 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(eval(&f, __NR_clone, CLONE_NEWUSER | SIGCHLD, 0), ERRNO(EPERM));
        ck_assert_uint_eq(eval(&f, __NR_clone, CLONE_VM | SIGCHLD, 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(eval(&f, __NR_clone3, 0, 0), ERRNO(ENOSYS));
        ck_assert_uint_eq(eval(&f, __NR_setns, 0, 0), ERRNO(EPERM));
        /* Foreign ABIs: i386 by arch, x32 by number. */
        struct seccomp_data i386 = { .nr = 20, .arch = AUDIT_ARCH_I386 };
        ck_assert_uint_eq(syscall_filter_evaluate(&f, &i386) & SECCOMP_RET_ACTION_FULL, SECCOMP_RET_KILL_PROCESS);
        ck_assert_uint_eq(eval(&f, 0x40000000 | __NR_getpid, 0, 0) & SECCOMP_RET_ACTION_FULL, SECCOMP_RET_KILL_PROCESS);
        syscall_filter_done(&f);
}
END_TEST

/* Deny by default with an allowlist: argument rules for allowed syscalls
 * need the second program (libseccomp would drop them). */
START_TEST(test_allowlist_with_arg_rules) {
        SyscallRule allow[] = { R("@basic-io", 0), R("ioctl", 0), R("socket", 0), R("@process", 0) };
        SeccompPolicy p = baseline(NULL, 0);
        SyscallFilter f;
        char err[256];

        p.default_action = SECCOMP_DEFAULT_ERRNO;
        p.errno_value = EACCES;
        p.allow = allow;
        p.n_allow = 4;
        ck_assert_msg(syscall_filter_compile(&p, false, &f, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(f.n_enforce, 2);
        ck_assert_uint_eq(eval(&f, __NR_write, 0, 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(eval(&f, __NR_execve, 0, 0), SECCOMP_RET_ALLOW);   /* @default */
        ck_assert_uint_eq(eval(&f, __NR_openat, 0, 0), SECCOMP_RET_ALLOW);   /* @default */
        ck_assert_uint_eq(eval(&f, __NR_mkdir, 0, 0), ERRNO(EACCES));        /* not allowed */
        ck_assert_uint_eq(eval(&f, __NR_ioctl, 0, TCGETS), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(eval(&f, __NR_ioctl, 0, TIOCSTI), ERRNO(EACCES));
        ck_assert_uint_eq(eval(&f, __NR_socket, AF_INET6, 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(eval(&f, __NR_socket, AF_NETLINK, 0), ERRNO(EACCES));
        ck_assert_uint_eq(eval(&f, __NR_clone, CLONE_NEWPID, 0), ERRNO(EACCES));
        ck_assert_uint_eq(eval(&f, __NR_clone, SIGCHLD, 0), SECCOMP_RET_ALLOW);
        syscall_filter_done(&f);
}
END_TEST

START_TEST(test_kill_and_log_defaults) {
        SeccompPolicy p = baseline(NULL, 0);
        SyscallFilter f;
        char err[256];

        p.default_action = SECCOMP_DEFAULT_KILL;
        ck_assert_int_eq(syscall_filter_compile(&p, false, &f, err, sizeof err), 0);
        ck_assert_uint_eq(eval(&f, __NR_mkdir, 0, 0), SECCOMP_RET_KILL_PROCESS);
        ck_assert_uint_eq(eval(&f, __NR_read, 0, 0), SECCOMP_RET_ALLOW);
        syscall_filter_done(&f);

        p.default_action = SECCOMP_DEFAULT_LOG;
        ck_assert_int_eq(syscall_filter_compile(&p, false, &f, err, sizeof err), 0);
        ck_assert_uint_eq(eval(&f, __NR_mkdir, 0, 0), SECCOMP_RET_LOG);
        ck_assert_uint_eq(eval(&f, __NR_socket, AF_NETLINK, 0), ERRNO(EPERM));
        syscall_filter_done(&f);
}
END_TEST

START_TEST(test_audit_program) {
        SyscallRule deny[] = { R("@mount", 0) };
        SeccompPolicy p = baseline(deny, 1);
        SyscallFilter f;
        SeccompProgram *a = &f.audit;
        char err[256];
        struct seccomp_data d = { .arch = AUDIT_ARCH_X86_64 };

        ck_assert_int_eq(syscall_filter_compile(&p, true, &f, err, sizeof err), 0);
        ck_assert_uint_gt(f.audit.n_insns, 0);
        d.nr = __NR_mount;
        ck_assert_uint_eq(seccomp_program_run(a, &d), SECCOMP_RET_USER_NOTIF);
        d.nr = __NR_read;
        ck_assert_uint_eq(seccomp_program_run(a, &d), SECCOMP_RET_ALLOW);
        /* Argument-checked calls go to userspace, which asks the enforce programs. */
        d.nr = __NR_socket;
        d.args[0] = AF_INET;
        ck_assert_uint_eq(seccomp_program_run(a, &d), SECCOMP_RET_USER_NOTIF);
        ck_assert_uint_eq(syscall_filter_evaluate(&f, &d), SECCOMP_RET_ALLOW);
        d.nr = __NR_execve;
        ck_assert_uint_eq(seccomp_program_run(a, &d), SECCOMP_RET_ALLOW);
        syscall_filter_done(&f);
}
END_TEST

START_TEST(test_bad_policies) {
        SyscallRule bad1[] = { R("ptrce", 0) };
        SyscallRule bad2[] = { R("@mounts", 0) };
        SyscallRule bad3[] = { R("execve", 0) };
        SyscallRule bad4[] = { R("exit_group", 0) };
        SyscallFilter f;
        char err[256];
        SeccompPolicy p = baseline(bad1, 1);

        ck_assert_int_eq(syscall_filter_compile(&p, false, &f, err, sizeof err), -EINVAL);
        ck_assert_str_eq(err, "seccomp: unknown syscall 'ptrce'");
        p.deny = bad2;
        ck_assert_int_eq(syscall_filter_compile(&p, false, &f, err, sizeof err), -EINVAL);
        ck_assert_str_eq(err, "seccomp: unknown syscall group '@mounts'");
        p.deny = bad3;
        ck_assert_int_eq(syscall_filter_compile(&p, false, &f, err, sizeof err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "'execve' cannot be denied"));
        p.deny = bad4;
        ck_assert_int_eq(syscall_filter_compile(&p, false, &f, err, sizeof err), -EINVAL);
}
END_TEST

static Suite *filter_suite(void) {
        Suite *s = suite_create("syscall-filter");
        TCase *tc = tcase_create("compile");
        tcase_add_test(tc, test_baseline);
        tcase_add_test(tc, test_allowlist_with_arg_rules);
        tcase_add_test(tc, test_kill_and_log_defaults);
        tcase_add_test(tc, test_audit_program);
        tcase_add_test(tc, test_bad_policies);
        suite_add_tcase(s, tc);
        return s;
}

#include "check-main.h"
CHECK_MAIN(filter_suite)
