/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "cgroup.h"
#include "config.h"
#include "doctor.h"

#if HAVE_LIBBPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#endif

_printf_(5, 6) static void add(DoctorReport *r, const char *name, bool ok, bool required, const char *fmt, ...) {
        DoctorCheck *c;
        va_list ap;

        if (r->n >= DOCTOR_MAX_CHECKS)
                return;
        c = &r->checks[r->n++];
        (void) snprintf(c->name, sizeof c->name, "%s", name);
        c->ok = ok;
        c->required = required;
        va_start(ap, fmt);
        (void) vsnprintf(c->detail, sizeof c->detail, fmt, ap);
        va_end(ap);
}

static void probe_namespaces(DoctorReport *r) {
        static const struct {
                const char *file, *name;
                bool required;
        } ns[] = {
                { "pid", "namespace pid", true },       { "mnt", "namespace mount", true },
                { "net", "namespace net", true },       { "ipc", "namespace ipc", true },
                { "uts", "namespace uts", true },       { "cgroup", "namespace cgroup", true },
                { "user", "namespace user", false },
        };
        char path[64];
        for (size_t i = 0; i < ELEMENTSOF(ns); i++) {
                (void) snprintf(path, sizeof path, "/proc/self/ns/%s", ns[i].file);
                bool ok = access(path, F_OK) >= 0;
                add(r, ns[i].name, ok, ns[i].required, ok ? "supported" : "not in this kernel");
        }
}

static void probe_process(DoctorReport *r) {
        int fd = (int) syscall(SYS_pidfd_open, getpid(), 0);
        add(r, "pidfd", fd >= 0, true, fd >= 0 ? "pidfd_open works" : "pidfd_open: %s", strerror(errno));
        if (fd >= 0)
                (void) close(fd);

        /* A NULL clone_args with size 0 is rejected with EINVAL where clone3 exists. */
        long c = syscall(SYS_clone3, NULL, 0);
        bool ok = c < 0 && errno != ENOSYS;
        add(r, "clone3", ok, false,
            ok ? "clone3 with CLONE_INTO_CGROUP" : "no clone3: tasks join their v2 cgroup by write (slower)");
}

static void probe_cgroups(DoctorReport *r) {
        CgroupLayout l = {};

        if (cgroup_layout_detect(&l, /* enable_controllers= */ false) < 0) {
                add(r, "cgroups", false, true, "cannot read /proc/self/cgroup or mountinfo");
                return;
        }
        add(r, "cgroup v2", l.v2_dir != NULL, true, "%s%s", l.v2_dir ? l.v2_dir : "no cgroup2 mount",
            l.v2_dir ? " (placement, kill, cpu accounting)" : "");
        for (int c = 0; c < _CG_MAX; c++) {
                char name[48];
                (void) snprintf(name, sizeof name, "cgroup %s", cgroup_controller_to_string((CgroupController) c));
                if (l.version[c] == CGV_2)
                        add(r, name, true, true, "v2 in %s", l.v2_dir);
                else if (l.version[c] == CGV_1)
                        add(r, name, true, true, "v1 in %s (hybrid host)", l.v1_dir[c]);
                else
                        add(r, name, false, true, "%s", l.why[c]);
        }
        if (l.v2_dir) {
                /* The root group has no cgroup.kill even where children do. */
                struct utsname u;
                unsigned maj = 0, min = 0;
                bool kill_ok = uname(&u) >= 0 && sscanf(u.release, "%u.%u", &maj, &min) == 2 &&
                               (maj > 5 || (maj == 5 && min >= 14));
                add(r, "cgroup.kill", kill_ok, false, "%s",
                    kill_ok ? "available (Linux 5.14+)" : "missing: sandboxes are killed process by process");
        }
        add(r, "cgroup backend", true, false, "%s", cgroup_layout_backend(&l));
        cgroup_layout_done(&l);
}

static void probe_seccomp(DoctorReport *r) {
        char actions[256] = "";
        bool filter = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 &&
                      read_file_at(AT_FDCWD, "/proc/sys/kernel/seccomp/actions_avail", actions, sizeof actions) > 0;
        actions[strcspn(actions, "\n")] = 0;
        add(r, "seccomp filter", filter, true, filter ? "actions: %s" : "seccomp filters unavailable", actions);
        add(r, "seccomp user_notif", strstr(actions, "user_notif") != NULL, false,
            "for audit mode (exact would-be denials)");
}

static void probe_mount_api(DoctorReport *r) {
        long m = syscall(SYS_mount_setattr, -1, "", 0, NULL, 0);
        bool ok = m < 0 && errno != ENOSYS;
        add(r, "mount_setattr", ok, false,
            ok ? "recursive read-only binds" : "before 5.12: only top mounts of binds are read-only");
}

#if HAVE_LIBBPF
/* libbpf's generic probe guesses from verifier messages for BTF-attached
 * types; load a real two-instruction program against the kernel's BTF. */
static void probe_btf_prog(DoctorReport *r, const char *name, enum bpf_prog_type type,
                           enum bpf_attach_type attach, const char *target, const char *use) {
        const struct bpf_insn insns[] = {
                { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
                { .code = BPF_JMP | BPF_EXIT },
        };
        int id = libbpf_find_vmlinux_btf_id(target, attach), fd;

        if (id < 0) {
                add(r, name, false, false, "no BTF for %s (%s)", target, use);
                return;
        }
        LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach, .attach_btf_id = (__u32) id);
        fd = bpf_prog_load(type, NULL, "GPL", insns, ELEMENTSOF(insns), &opts);
        add(r, name, fd >= 0, false, "%s (%s)", fd >= 0 ? "loads" : strerror(errno), use);
        if (fd >= 0)
                (void) close(fd);
}
#endif

static void probe_bpf(DoctorReport *r) {
        struct statfs sf;
        bool btf = access("/sys/kernel/btf/vmlinux", R_OK) >= 0;
        add(r, "BTF", btf, false, btf ? "/sys/kernel/btf/vmlinux" : "no kernel BTF: CO-RE programs cannot load");
        bool fs = statfs("/sys/fs/bpf", &sf) >= 0 && sf.f_type == BPF_FS_MAGIC;
        add(r, "bpffs", fs, false, fs ? "mounted at /sys/fs/bpf" : "not mounted at /sys/fs/bpf (mountable on demand)");
#if HAVE_LIBBPF
        /* Failed probes are answers here, not errors to print. */
        (void) libbpf_set_print(NULL);
        static const struct {
                enum bpf_prog_type t;
                const char *name, *use;
        } types[] = {
                { BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "bpf cgroup/connect", "egress allowlist" },
                { BPF_PROG_TYPE_CGROUP_SKB, "bpf cgroup_skb", "egress second wall" },
        };
        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                int ok = libbpf_probe_bpf_prog_type(types[i].t, NULL);
                add(r, types[i].name, ok > 0, false, "%s (%s)",
                    ok > 0 ? "loads" : ok == 0 ? "refused by this kernel" : "probe failed", types[i].use);
        }
        probe_btf_prog(r, "bpf tp_btf", BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, "sys_enter",
                       "syscall and process shape");
        probe_btf_prog(r, "bpf lsm", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, "bpf_lsm_file_open",
                       "not used; reported for completeness");
        int rb = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
        add(r, "bpf ringbuf", rb > 0, false, rb > 0 ? "available" : "unavailable");
#else
        add(r, "bpf", false, false, "built without libbpf");
#endif
}

void doctor_probe(DoctorReport *ret) {
        ret->n = 0;
        probe_namespaces(ret);
        probe_process(ret);
        probe_cgroups(ret);
        probe_seccomp(ret);
        probe_mount_api(ret);
        probe_bpf(ret);
}

bool doctor_run_can_work(const DoctorReport *r) {
        for (size_t i = 0; i < r->n; i++)
                if (r->checks[i].required && !r->checks[i].ok)
                        return false;
        return true;
}
