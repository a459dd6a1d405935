/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "cgroup.h"

static const char *const controller_names[_CG_MAX] = {
        [CG_MEMORY] = "memory",
        [CG_CPU] = "cpu",
        [CG_PIDS] = "pids",
};

const char *cgroup_controller_to_string(CgroupController c) {
        return c >= 0 && c < _CG_MAX ? controller_names[c] : NULL;
}

const char *cgroup_version_to_string(CgroupVersion v) {
        switch (v) {
        case CGV_1:
                return "v1";
        case CGV_2:
                return "v2";
        case CGV_NONE:
        default:
                return NULL;
        }
}

/* Is word an element of the comma-separated list? */
static bool list_has(const char *list, const char *word, char sep) {
        size_t wl = strlen(word);
        for (const char *p = list; p && *p;) {
                const char *e = strchr(p, sep);
                size_t l = e ? (size_t) (e - p) : strlen(p);
                if (l == wl && strncmp(p, word, wl) == 0)
                        return true;
                p = e ? e + 1 : NULL;
        }
        return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
        char *w = s;
        for (char *r = s; *r; r++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
                        r += 3;
                } else
                        *w++ = *r;
        }
        *w = 0;
}

/* Joins a mount point, the mount's root within the hierarchy and our own
 * path in it. NULL when our cgroup is not below what is mounted there. */
static char *join_own_dir(const char *mnt, const char *root, const char *own) {
        size_t rl = strlen(root);
        const char *rest;
        char *s;

        if (streq(root, "/"))
                rest = own;
        else if (strncmp(own, root, rl) == 0 && (own[rl] == '/' || own[rl] == 0))
                rest = own + rl;
        else
                return NULL;
        while (*rest == '/')
                rest++;
        if (asprintf(&s, "%s%s%s", mnt, *rest ? "/" : "", rest) < 0)
                return NULL;
        return s;
}

/* Our own path in the hierarchy that carries controller (NULL: v2). */
static const char *own_path(char *const *lines, size_t n, const char *controller) {
        for (size_t i = 0; i < n; i++) {
                const char *l = lines[i], *c1 = strchr(l, ':'), *c2;
                if (!c1 || !(c2 = strchr(c1 + 1, ':')))
                        continue;
                if (!controller) {
                        if (strncmp(l, "0::", 3) == 0)
                                return c2 + 1;
                } else {
                        char ctl[128];
                        size_t len = (size_t) (c2 - c1 - 1);
                        if (len == 0 || len >= sizeof ctl)
                                continue;
                        memcpy(ctl, c1 + 1, len);
                        ctl[len] = 0;
                        if (list_has(ctl, controller, ','))
                                return c2 + 1;
                }
        }
        return NULL;
}

int cgroup_layout_parse(const char *mountinfo, const char *proc_self_cgroup, CgroupLayout *ret) {
        _cleanup_free_ char *mi = NULL, *pc = NULL;
        char *lines[64];
        size_t n = 0;
        CgroupLayout l = {};

        pc = strdup(proc_self_cgroup);
        mi = strdup(mountinfo);
        if (!pc || !mi)
                return -ENOMEM;
        for (char *save = NULL, *t = strtok_r(pc, "\n", &save); t && n < ELEMENTSOF(lines);
             t = strtok_r(NULL, "\n", &save))
                lines[n++] = t;

        for (char *save = NULL, *line = strtok_r(mi, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *f[16], *sep = strstr(line, " - "), *tail, *s2 = NULL;
                size_t nf = 0;
                const char *fstype, *superopts;

                if (!sep)
                        continue;
                *sep = 0;
                tail = sep + 3;
                for (char *t = strtok_r(line, " ", &s2); t && nf < ELEMENTSOF(f); t = strtok_r(NULL, " ", &s2))
                        f[nf++] = t;
                if (nf < 5)
                        continue;
                fstype = strtok_r(tail, " ", &s2);
                (void) strtok_r(NULL, " ", &s2); /* source */
                superopts = strtok_r(NULL, " ", &s2);
                if (!fstype)
                        continue;
                unescape_octal(f[3]);
                unescape_octal(f[4]);

                if (streq(fstype, "cgroup2") && !l.v2_dir) {
                        const char *own = own_path(lines, n, NULL);
                        if (own)
                                l.v2_dir = join_own_dir(f[4], f[3], own);
                } else if (streq(fstype, "cgroup") && superopts) {
                        for (int c = 0; c < _CG_MAX; c++) {
                                const char *own;
                                if (l.v1_dir[c] || !list_has(superopts, controller_names[c], ','))
                                        continue;
                                own = own_path(lines, n, controller_names[c]);
                                if (own)
                                        l.v1_dir[c] = join_own_dir(f[4], f[3], own);
                        }
                }
        }
        *ret = l;
        return 0;
}

void cgroup_layout_choose(CgroupLayout *l) {
        for (int c = 0; c < _CG_MAX; c++) {
                l->why[c][0] = 0;
                if (l->v2_dir && list_has(l->v2_controllers, controller_names[c], ' '))
                        l->version[c] = CGV_2;
                else if (l->v1_dir[c])
                        l->version[c] = CGV_1;
                else {
                        l->version[c] = CGV_NONE;
                        (void) snprintf(l->why[c], sizeof l->why[c],
                                        "the %s controller is neither in cgroup v2 (%s) nor mounted as v1",
                                        controller_names[c], l->v2_dir ? l->v2_dir : "not mounted");
                }
        }
}

const char *cgroup_layout_backend(const CgroupLayout *l) {
        for (int c = 0; c < _CG_MAX; c++)
                if (l->version[c] != CGV_2)
                        return "hybrid";
        return "v2";
}

/* On pure v2 the controllers must be enabled for our children. That fails
 * with EBUSY when our own cgroup holds processes and is not the root: then
 * the supervisor needs a delegated cgroup of its own (stockade(1)). */
/* The kernel's no-internal-processes rule refuses controllers for the
 * children of a cgroup that holds processes (EBUSY). When the only process
 * in ours is this supervisor (a service in a delegated cgroup of its own,
 * e.g. systemd's Delegate=yes), it steps into a leaf child, LEAF_NAME, and
 * the task groups are created beside it. */
#define LEAF_NAME "stockade-supervisor"

static int step_into_leaf(int fd) {
        _cleanup_close_ int leaf = -EBADF;
        char procs[256], *end;
        long pid;
        int r;

        r = read_file_at(fd, "cgroup.procs", procs, sizeof procs);
        if (r < 0)
                return r;
        pid = strtol(procs, &end, 10);
        while (*end == '\n' || *end == ' ')
                end++;
        if (end == procs || pid != (long) getpid() || *end)
                return -EBUSY; /* others live here: not ours to rearrange */
        if (mkdirat(fd, LEAF_NAME, 0755) < 0 && errno != EEXIST)
                return -errno;
        leaf = openat(fd, LEAF_NAME, O_DIRECTORY | O_CLOEXEC | O_RDONLY);
        if (leaf < 0)
                return -errno;
        /* "0" is the writer itself. */
        return write_string_at(leaf, "cgroup.procs", "0");
}

static void enable_v2_controllers(CgroupLayout *l) {
        _cleanup_close_ int fd = -EBADF;
        char subtree[256];
        bool stepped = false;

        fd = open(l->v2_dir, O_DIRECTORY | O_CLOEXEC | O_RDONLY);
        if (fd < 0)
                return;
        if (read_file_at(fd, "cgroup.subtree_control", subtree, sizeof subtree) < 0)
                subtree[0] = 0;
        subtree[strcspn(subtree, "\n")] = 0;

        for (int c = 0; c < _CG_MAX; c++) {
                char op[32];
                int r;
                if (l->version[c] != CGV_2 || list_has(subtree, controller_names[c], ' '))
                        continue;
                (void) snprintf(op, sizeof op, "+%s", controller_names[c]);
                r = write_string_at(fd, "cgroup.subtree_control", op);
                if (r == -EBUSY && !stepped) {
                        stepped = true;
                        if (step_into_leaf(fd) >= 0)
                                r = write_string_at(fd, "cgroup.subtree_control", op);
                }
                if (r < 0) {
                        l->version[c] = l->v1_dir[c] ? CGV_1 : CGV_NONE;
                        if (l->version[c] == CGV_NONE)
                                (void) snprintf(l->why[c], sizeof l->why[c],
                                                "cannot enable %s in %s/cgroup.subtree_control: %s "
                                                "(run stockade alone in a delegated cgroup of its own)",
                                                controller_names[c], l->v2_dir, strerror(-r));
                }
        }
}

int cgroup_layout_detect(CgroupLayout *ret, bool enable_controllers) {
        _cleanup_free_ char *mi = NULL, *pc = NULL;
        CgroupLayout l;
        int r;

        r = read_full_file("/proc/self/mountinfo", 1 << 22, &mi);
        if (r < 0)
                return log_debug_errno(r, "cannot read /proc/self/mountinfo: %m");
        r = read_full_file("/proc/self/cgroup", 1 << 16, &pc);
        if (r < 0)
                return log_debug_errno(r, "cannot read /proc/self/cgroup: %m");
        r = cgroup_layout_parse(mi, pc, &l);
        if (r < 0)
                return r;

        l.v2_controllers[0] = 0;
        if (l.v2_dir) {
                _cleanup_close_ int fd = open(l.v2_dir, O_DIRECTORY | O_CLOEXEC | O_RDONLY);
                if (fd < 0 || read_file_at(fd, "cgroup.controllers", l.v2_controllers,
                                           sizeof l.v2_controllers) < 0)
                        l.v2_controllers[0] = 0;
                l.v2_controllers[strcspn(l.v2_controllers, "\n")] = 0;
        }
        cgroup_layout_choose(&l);
        if (l.v2_dir && enable_controllers)
                enable_v2_controllers(&l);
        *ret = l;
        return 0;
}

void cgroup_layout_done(CgroupLayout *l) {
        if (!l)
                return;
        free(l->v2_dir);
        l->v2_dir = NULL;
        for (int c = 0; c < _CG_MAX; c++) {
                free(l->v1_dir[c]);
                l->v1_dir[c] = NULL;
        }
}
