/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "audit.h"
#include "basic/fileio.h"
#include "basic/macro.h"

/* The pid the task sees: the last NSpid field of /proc/PID/status. */
static pid_t ns_pid(pid_t host_pid) {
        char path[64], buf[2048], *p;
        (void) snprintf(path, sizeof path, "/proc/%d/status", (int) host_pid);
        if (read_file_at(AT_FDCWD, path, buf, sizeof buf) < 0 || !(p = strstr(buf, "\nNSpid:")))
                return host_pid;
        p += 7;
        char *end = strchr(p, '\n');
        if (end)
                *end = 0;
        char *last = strrchr(p, '\t');
        return (pid_t) strtol(last ? last + 1 : p, NULL, 10);
}

static void record(AuditLog *log, int nr, pid_t pid, uint32_t action) {
        log->total++;
        for (size_t i = 0; i < log->n; i++)
                if (log->e[i].nr == nr && log->e[i].pid == pid) {
                        log->e[i].count++;
                        return;
                }
        if (log->n == AUDIT_MAX_ENTRIES) {
                log->dropped++;
                return;
        }
        log->e[log->n++] = (AuditEntry) { .nr = nr, .pid = pid, .action = action, .count = 1 };
}

int audit_handle_one(int listener, const SyscallFilter *f, AuditLog *log) {
        struct seccomp_notif n = {};
        struct seccomp_notif_resp resp = {};
        uint32_t verdict, action;

        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0)
                return -errno;

        verdict = syscall_filter_evaluate(f, &n.data);
        action = verdict & SECCOMP_RET_ACTION_FULL;
        if (action != SECCOMP_RET_ALLOW && action != SECCOMP_RET_LOG)
                record(log, n.data.nr, ns_pid((pid_t) n.pid), action);

        /* Audit denies nothing: the call goes on as if never stopped. */
        resp.id = n.id;
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0)
                return -errno;
        return 0;
}
