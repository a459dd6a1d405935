/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <seccomp.h>
#include <stddef.h>
#include <string.h>

#include "basic/macro.h"
#include "syscall-groups.h"

#define G(...) ((const char *const[]) { __VA_ARGS__, NULL })

static const SyscallGroup groups[] = {
        { "@default", "what every process needs to start, run and exit",
          G("access", "arch_prctl", "brk", "clock_getres", "clock_gettime", "clock_nanosleep", "close",
            "execve", "exit", "exit_group", "faccessat", "faccessat2", "fstat", "futex", "get_robust_list",
            "getegid", "geteuid", "getgid", "getgroups", "getpgid", "getpgrp", "getpid", "getppid",
            "getrandom", "getresgid", "getresuid", "getrlimit", "getsid", "gettid", "gettimeofday", "getuid",
            "membarrier", "mmap", "mprotect", "munmap", "nanosleep", "newfstatat", "open", "openat",
            "pause", "pread64", "prlimit64", "read", "restart_syscall", "rseq", "rt_sigreturn",
            "sched_getaffinity", "sched_yield", "set_robust_list", "set_tid_address", "time") },
        { "@basic-io", "reading and writing open files",
          G("close", "close_range", "dup", "dup2", "dup3", "lseek", "pread64", "preadv", "preadv2",
            "pwrite64", "pwritev", "pwritev2", "read", "readv", "write", "writev") },
        { "@clock", "setting the system clock",
          G("adjtimex", "clock_adjtime", "clock_settime", "settimeofday") },
        { "@debug", "debugging, tracing and reading other processes",
          G("kcmp", "lookup_dcookie", "perf_event_open", "pidfd_getfd", "process_vm_readv",
            "process_vm_writev", "ptrace") },
        { "@file-system", "files and directories",
          G("access", "chdir", "chmod", "close", "creat", "faccessat", "faccessat2", "fallocate", "fchdir",
            "fchmod", "fchmodat", "fcntl", "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "fstat",
            "fstatfs", "ftruncate", "futimesat", "getcwd", "getdents", "getdents64", "getxattr",
            "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "lgetxattr", "link",
            "linkat", "listxattr", "llistxattr", "lremovexattr", "lsetxattr", "lstat", "mkdir", "mkdirat",
            "mknod", "mknodat", "mmap", "munmap", "newfstatat", "open", "openat", "openat2", "readlink",
            "readlinkat", "removexattr", "rename", "renameat", "renameat2", "rmdir", "setxattr", "stat",
            "statfs", "statx", "symlink", "symlinkat", "truncate", "unlink", "unlinkat", "utime",
            "utimensat", "utimes") },
        { "@io-uring", "io_uring, a second syscall interface filters cannot see into",
          G("io_uring_enter", "io_uring_register", "io_uring_setup") },
        { "@ipc", "SysV IPC, POSIX message queues, pipes",
          G("ipc", "memfd_create", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
            "mq_timedsend", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd", "pipe", "pipe2", "semctl",
            "semget", "semop", "semtimedop", "shmat", "shmctl", "shmdt", "shmget") },
        { "@keyring", "the kernel keyring",
          G("add_key", "keyctl", "request_key") },
        { "@module", "loading and unloading kernel modules",
          G("delete_module", "finit_module", "init_module") },
        { "@mount", "mounting and changing the root",
          G("chroot", "fsconfig", "fsmount", "fsopen", "fspick", "mount", "mount_setattr", "move_mount",
            "open_tree", "pivot_root", "umount", "umount2") },
        { "@network-io", "sockets",
          G("accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
            "recvfrom", "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
            "socket", "socketpair") },
        { "@privileged", "what only a privileged process may do",
          G("@clock", "@module", "@raw-io", "@reboot", "@swap", "acct", "bpf", "capset", "chown", "chroot",
            "fanotify_init", "fanotify_mark", "fchown", "fchownat", "lchown", "nfsservctl",
            "open_by_handle_at", "pivot_root", "quotactl", "setdomainname", "setfsuid", "setgroups",
            "sethostname", "setresuid", "setreuid", "setuid", "vhangup") },
        { "@process", "creating, signalling and waiting for processes",
          G("capget", "clone", "clone3", "execveat", "fork", "getrusage", "kill", "pidfd_open",
            "pidfd_send_signal", "prctl", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "setns", "tgkill", "times",
            "tkill", "unshare", "vfork", "wait4", "waitid") },
        { "@raw-io", "raw I/O ports and PCI configuration",
          G("ioperm", "iopl", "pciconfig_iobase", "pciconfig_read", "pciconfig_write") },
        { "@reboot", "rebooting and loading a new kernel",
          G("kexec_file_load", "kexec_load", "reboot") },
        { "@signal", "signal handling",
          G("rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigsuspend", "rt_sigtimedwait",
            "sigaltstack", "signalfd", "signalfd4") },
        { "@swap", "enabling and disabling swap",
          G("swapoff", "swapon") },
        { "@timer", "timers and alarms",
          G("alarm", "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun",
            "timer_gettime", "timer_settime", "timerfd_create", "timerfd_gettime", "timerfd_settime") },
};

const SyscallGroup *syscall_group_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                if (streq(groups[i].name, name))
                        return &groups[i];
        return NULL;
}

const SyscallGroup *syscall_group_all(size_t *ret_n) {
        *ret_n = ELEMENTSOF(groups);
        return groups;
}

bool syscall_name_known(const char *name) {
        return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}
