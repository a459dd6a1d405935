/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/openat2.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/macro.h"
#include "fsview.h"
#include "script.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
struct mount_attr {
        uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

static int open_tree_clone(const char *path) {
        return (int) syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
}

static int attach_tree(int fd, const char *target) {
        return RET_NERRNO(syscall(SYS_move_mount, fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH));
}

static int setattr_tree(int fd, uint64_t set) {
        struct mount_attr a = { .attr_set = set };
        return RET_NERRNO(syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a));
}

/* The base tmpfs becomes "/" for a moment: it holds the host's old root at
 * /oldroot and the task's root at /newroot. It is mounted over /tmp only
 * in our private mount namespace; the host never sees it. */
#define BASE "/tmp"
#define NEWROOT "/newroot"
#define OLDROOT "/oldroot"
#define SECRETS_DIR "/run/secrets"

/* The directories shown read-only; symlinks (merged /usr) are recreated. */
static const char *const system_dirs[] = {
        "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
};

/* Files of /etc no task may read. */
static const char *const masked_globs[] = {
        "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
        "/etc/ssh/ssh_host_*_key", "/etc/sudoers", "/etc/security/opasswd",
};
/* Directories of /etc hidden behind an empty one. */
static const char *const masked_dirs[] = {
        "/etc/ssl/private", "/etc/stockade", "/etc/sudoers.d",
};

/* A detached copy of a host path, made in the supervisor's own mount
 * namespace: the kernel refuses to bind a mount of another namespace, so
 * the child cannot do this from its fresh one. It attaches the copy. */
static int clone_source(const char *path, bool ro, bool want_dir) {
        struct stat st;
        int fd, r;

        if (stat(path, &st) < 0)
                return -errno;
        if (want_dir && !S_ISDIR(st.st_mode))
                return -ENOTDIR;
        fd = open_tree_clone(path);
        if (fd < 0)
                return -errno;
        r = setattr_tree(fd, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (ro ? MOUNT_ATTR_RDONLY : 0));
        if (r < 0) {
                (void) close(fd);
                return r;
        }
        return fd;
}

int fsview_sources_open(const SandboxSpec *spec, FsviewSources *ret, const char **reterr_path) {
        FsviewSources s = FSVIEW_SOURCES_NULL;
        int r = 0;

        if (spec->n_binds > 0) {
                s.bind_fds = malloc(spec->n_binds * sizeof(int));
                if (!s.bind_fds)
                        return -ENOMEM;
                for (size_t i = 0; i < spec->n_binds; i++)
                        s.bind_fds[i] = -EBADF;
        }
        for (size_t i = 0; i < spec->n_binds; i++) {
                r = s.bind_fds[i] = clone_source(spec->binds[i].source, spec->binds[i].mode == BIND_RO, false);
                if (r < 0) {
                        *reterr_path = spec->binds[i].source;
                        goto fail;
                }
        }
        if (spec->workdir) {
                r = s.workdir_fd = clone_source(spec->workdir_source ? spec->workdir_source : spec->workdir, false, true);
                if (r < 0) {
                        *reterr_path = spec->workdir;
                        goto fail;
                }
        }
        *ret = s;
        return 0;
fail:
        fsview_sources_done(&s, spec->n_binds);
        return r;
}

void fsview_sources_done(FsviewSources *s, size_t n_binds) {
        for (size_t i = 0; s->bind_fds && i < n_binds; i++)
                s->bind_fds[i] = safe_close(s->bind_fds[i]);
        free(s->bind_fds);
        s->bind_fds = NULL;
        s->workdir_fd = safe_close(s->workdir_fd);
}

static int mount_setattr_rec(const char *path, uint64_t set) {
        struct mount_attr a = { .attr_set = set };
        if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &a, sizeof a) >= 0)
                return 0;
        if (errno != ENOSYS)
                return -errno;
        /* Before 5.12: only the top mount can be made read-only. */
        unsigned long fl = MS_REMOUNT | MS_BIND;
        if (set & MOUNT_ATTR_RDONLY)
                fl |= MS_RDONLY;
        if (set & MOUNT_ATTR_NOSUID)
                fl |= MS_NOSUID;
        if (set & MOUNT_ATTR_NODEV)
                fl |= MS_NODEV;
        return RET_NERRNO(mount(NULL, path, NULL, fl, NULL));
}

/* Bind from a host fd (or path) at target; ro makes the whole subtree
 * read-only. */
static int bind_at(const char *source, const char *target, bool ro, bool user) {
        uint64_t attrs = (ro ? MOUNT_ATTR_RDONLY : 0) | (user ? MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV : 0);
        if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
                return -errno;
        return attrs ? mount_setattr_rec(target, attrs) : 0;
}

static int mkdir_p(const char *path, mode_t mode) {
        char buf[PATH_MAX];
        size_t len = strlen(path);

        if (len >= sizeof buf)
                return -ENAMETOOLONG;
        memcpy(buf, path, len + 1);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = 0;
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* A mount point of the same kind (file or directory) as the source. */
static int make_mount_point(const char *path, bool dir) {
        char parent[PATH_MAX];
        char *slash;
        int fd, r;

        if (dir)
                return mkdir_p(path, 0755);
        if (strlen(path) >= sizeof parent)
                return -ENAMETOOLONG;
        strcpy(parent, path);
        slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = 0;
                r = mkdir_p(parent, 0755);
                if (r < 0)
                        return r;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0444);
        if (fd < 0)
                return errno == EEXIST || errno == EISDIR ? 0 : -errno;
        (void) close(fd);
        return 0;
}

static int make_parent(const char *path) {
        char parent[PATH_MAX];
        char *slash;

        if (strlen(path) >= sizeof parent)
                return -ENAMETOOLONG;
        strcpy(parent, path);
        slash = strrchr(parent, '/');
        if (!slash || slash == parent)
                return 0;
        *slash = 0;
        return mkdir_p(parent, 0755);
}

static int show_system_dirs(const SandboxSpec *spec) {
        char host[PATH_MAX], inside[PATH_MAX], link[PATH_MAX];
        const char *const *dirs = spec->system_dirs ? (const char *const *) spec->system_dirs : system_dirs;
        size_t n = spec->system_dirs ? SIZE_MAX : ELEMENTSOF(system_dirs);
        struct stat st;
        int r;

        for (size_t i = 0; i < n && dirs[i]; i++) {
                (void) snprintf(host, sizeof host, OLDROOT "%s", dirs[i]);
                (void) snprintf(inside, sizeof inside, NEWROOT "%s", dirs[i]);
                /* A nested entry (/usr/share with /usr) needs its parent made. */
                r = make_parent(inside);
                if (r < 0)
                        return r;
                if (lstat(host, &st) < 0)
                        continue;
                if (S_ISLNK(st.st_mode)) {
                        ssize_t len = readlink(host, link, sizeof link - 1);
                        if (len < 0)
                                return -errno;
                        link[len] = 0;
                        if (symlink(link, inside) < 0)
                                return -errno;
                } else if (S_ISDIR(st.st_mode)) {
                        if (mkdir(inside, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        r = bind_at(host, inside, true, false);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Masks one path of the new root: an empty unreadable file over a file,
 * an empty unreadable directory over a directory. Absent paths are fine. */
static int mask_path(const char *inside) {
        struct stat st;
        if (lstat(inside, &st) < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        if (S_ISLNK(st.st_mode))
                return -ELOOP; /* would mask wherever it points, maybe outside */
        return bind_at(S_ISDIR(st.st_mode) ? "/maskdir" : "/mask", inside, true, true);
}

static int mask_secrets(const SandboxSpec *spec) {
        char inside[PATH_MAX];
        int r;

        for (char **h = spec->hide; h && *h; h++) {
                (void) snprintf(inside, sizeof inside, NEWROOT "%s", *h);
                r = mask_path(inside);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < ELEMENTSOF(masked_globs); i++) {
                glob_t g;
                char pattern[PATH_MAX];
                (void) snprintf(pattern, sizeof pattern, NEWROOT "%s", masked_globs[i]);
                if (glob(pattern, GLOB_NOSORT, NULL, &g) != 0)
                        continue;
                for (size_t k = 0; k < g.gl_pathc; k++) {
                        r = bind_at("/mask", g.gl_pathv[k], true, true);
                        if (r < 0) {
                                globfree(&g);
                                return r;
                        }
                }
                globfree(&g);
        }
        for (size_t i = 0; i < ELEMENTSOF(masked_dirs); i++) {
                struct stat st;
                (void) snprintf(inside, sizeof inside, NEWROOT "%s", masked_dirs[i]);
                if (stat(inside, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                r = bind_at("/maskdir", inside, true, true);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int make_dev(const SandboxSpec *spec) {
        static const struct {
                const char *name;
                unsigned maj, min;
        } nodes[] = {
                { "null", 1, 3 }, { "zero", 1, 5 },    { "full", 1, 7 },
                { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
        };
        static const struct {
                const char *name, *target;
        } links[] = {
                { "ptmx", "pts/ptmx" },      { "fd", "/proc/self/fd" },
                { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
                { "stderr", "/proc/self/fd/2" },
        };
        char path[PATH_MAX], opts[64];
        int r;

        if (mkdir(NEWROOT "/dev", 0755) < 0 ||
            mount("tmpfs", NEWROOT "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=64") < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                (void) snprintf(path, sizeof path, NEWROOT "/dev/%s", nodes[i].name);
                if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) >= 0) {
                        (void) chmod(path, 0666); /* umask */
                        continue;
                }
                /* Where mknod is refused (a container host), bind the host node. */
                char host[PATH_MAX];
                (void) snprintf(host, sizeof host, OLDROOT "/dev/%s", nodes[i].name);
                r = make_mount_point(path, false);
                if (r < 0)
                        return r;
                r = bind_at(host, path, false, false);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                (void) snprintf(path, sizeof path, NEWROOT "/dev/%s", links[i].name);
                if (symlink(links[i].target, path) < 0)
                        return -errno;
        }
        if (mkdir(NEWROOT "/dev/pts", 0755) < 0 ||
            mount("devpts", NEWROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                  "newinstance,ptmxmode=0666,mode=0620") < 0)
                return -errno;
        (void) snprintf(opts, sizeof opts, "mode=1777,size=%" PRIu64, spec->limits.tmpfs_bytes);
        if (mkdir(NEWROOT "/dev/shm", 0755) < 0 ||
            mount("tmpfs", NEWROOT "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
                return -errno;
        /* Nothing may be created in /dev itself. */
        return RET_NERRNO(mount(NULL, NEWROOT "/dev", NULL,
                                MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k"));
}

static int make_proc(void) {
        if (mkdir(NEWROOT "/proc", 0555) < 0 ||
            mount("proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return -errno;
        /* Kernel tunables stay read-only even for a root that slipped through. */
        int r = bind_at(NEWROOT "/proc/sys", NEWROOT "/proc/sys", true, true);
        if (r < 0)
                return r;
        if (access(NEWROOT "/proc/sysrq-trigger", F_OK) < 0)
                return 0; /* kernel without CONFIG_MAGIC_SYSRQ */
        return bind_at(NEWROOT "/proc/sysrq-trigger", NEWROOT "/proc/sysrq-trigger", true, true);
}

static int attach_at(int fd, const char *dest, bool dir) {
        char target[PATH_MAX];
        int r;

        (void) snprintf(target, sizeof target, NEWROOT "%s", dest);
        r = make_mount_point(target, dir);
        if (r < 0)
                return r;
        return attach_tree(fd, target);
}

static int show_user_binds(const SandboxSpec *spec, const FsviewSources *src) {
        struct stat st;
        int r;

        for (size_t i = 0; i < spec->n_binds; i++) {
                if (fstat(src->bind_fds[i], &st) < 0)
                        return -errno;
                r = attach_at(src->bind_fds[i], spec->binds[i].dest, S_ISDIR(st.st_mode));
                if (r < 0)
                        return r;
        }
        if (spec->workdir) {
                r = attach_at(src->workdir_fd, spec->workdir, true);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The script, from the bytes the supervisor hashed, on a tmpfs of its own:
 * readable by the task's uid whatever its mode on the host. */
static int show_script(const SandboxSpec *spec) {
        char opts[64], path[PATH_MAX];
        size_t off = 0;
        int fd;

        if (!spec->script_path)
                return 0;
        (void) snprintf(opts, sizeof opts, "mode=0755,nr_inodes=4,size=%zu", spec->script_len + 8192);
        if (mkdir(NEWROOT SCRIPT_DIR, 0755) < 0 ||
            mount("tmpfs", NEWROOT SCRIPT_DIR, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
                return -errno;
        (void) snprintf(path, sizeof path, NEWROOT "%s", spec->script_path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0555);
        if (fd < 0)
                return -errno;
        while (off < spec->script_len) {
                ssize_t n = write(fd, spec->script_data + off, spec->script_len - off);
                if (n < 0) {
                        int e = -errno;
                        (void) close(fd);
                        return e;
                }
                off += (size_t) n;
        }
        if (close(fd) < 0)
                return -errno;
        return RET_NERRNO(mount(NULL, NEWROOT SCRIPT_DIR, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, opts));
}

/* An allowlist task's resolver is the supervisor: its /etc/resolv.conf
 * says so. The gateway is known only once the supervisor has plumbed the
 * task's veth, which runs while we build the walls: the file is shown empty
 * and read-only now, and init fills it through *ret_fd (a descriptor of the
 * writable original on the base tmpfs) before the task may exec. The host's
 * file may be a symlink (to /run/...), so the target is resolved as the
 * task would see it and the file is mounted over that. */
static int show_resolv_conf(int *ret_fd) {
        _cleanup_close_ int root = -EBADF, target = -EBADF, tree = -EBADF, fd = -EBADF;
        struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        int r;

        if (!ret_fd)
                return 0;
        fd = open("/resolv.conf", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        root = open(NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        target = (int) syscall(SYS_openat2, root, "etc/resolv.conf", &how, sizeof how);
        if (target < 0)
                return -errno;
        tree = (int) syscall(SYS_open_tree, AT_FDCWD, "/resolv.conf", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0)
                return -errno;
        r = setattr_tree(tree, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (r < 0)
                return r;
        r = RET_NERRNO(syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* File secrets, on a tmpfs at /run/secrets readable only by the task's
 * uid; a target elsewhere gets its file bound from there. */
static int show_secret_files(const SandboxSpec *spec) {
        char path[PATH_MAX], target[PATH_MAX];
        bool any = false;
        int r;

        for (size_t i = 0; i < spec->n_secrets; i++)
                any = any || spec->secrets[i].as == SECRET_TARGET_FILE;
        if (!any)
                return 0;
        r = mkdir_p(NEWROOT SECRETS_DIR, 0755);
        if (r < 0)
                return r;
        if (mount("tmpfs", NEWROOT SECRETS_DIR, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0500,size=1m,nr_inodes=256") < 0 ||
            chown(NEWROOT SECRETS_DIR, spec->uid, spec->gid) < 0)
                return -errno;
        for (size_t i = 0; i < spec->n_secrets; i++) {
                const SandboxSecret *x = &spec->secrets[i];
                size_t off = 0;
                int fd;
                if (x->as != SECRET_TARGET_FILE)
                        continue;
                (void) snprintf(path, sizeof path, NEWROOT SECRETS_DIR "/.%zu-%s", i, x->name);
                fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
                if (fd < 0)
                        return -errno;
                while (off < x->len) {
                        ssize_t n = write(fd, x->value + off, x->len - off);
                        if (n < 0) {
                                r = -errno;
                                (void) close(fd);
                                return r;
                        }
                        off += (size_t) n;
                }
                if (fchown(fd, spec->uid, spec->gid) < 0) {
                        r = -errno;
                        (void) close(fd);
                        return r;
                }
                (void) close(fd);
                (void) snprintf(target, sizeof target, NEWROOT "%s", x->target);
                if (strncmp(x->target, SECRETS_DIR "/", strlen(SECRETS_DIR) + 1) == 0 &&
                    !strchr(x->target + strlen(SECRETS_DIR) + 1, '/')) {
                        if (rename(path, target) < 0)
                                return -errno;
                        continue;
                }
                r = make_mount_point(target, false);
                if (r >= 0)
                        r = bind_at(path, target, true, true);
                if (r < 0)
                        return r;
        }
        return RET_NERRNO(mount(NULL, NEWROOT SECRETS_DIR, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                "mode=0500,size=1m,nr_inodes=256"));
}

int fsview_build(const SandboxSpec *spec, const FsviewSources *src, int *ret_resolv_fd, const char **reterr_what) {
        char opts[64];
        int r;

#define STEP(what, expr)                        \
        do {                                    \
                *reterr_what = (what);          \
                r = (expr);                     \
                if (r < 0)                      \
                        return r;               \
        } while (0)

        /* Nothing we mount may propagate back to the host. */
        STEP("make / private", RET_NERRNO(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL)));
        STEP("mount the base tmpfs", RET_NERRNO(mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV,
                                                       "mode=0755,size=1m,nr_inodes=4096")));
        STEP("enter the base tmpfs", RET_NERRNO(chdir(BASE)));
        STEP("create the base tree", RET_NERRNO(mkdir("oldroot", 0755)));
        STEP("create the base tree", RET_NERRNO(mkdir("newroot", 0755)));
        STEP("create the base tree", RET_NERRNO(mkdir("maskdir", 0000)));
        {
                int fd = open("mask", O_CREAT | O_WRONLY | O_CLOEXEC, 0000);
                STEP("create the mask file", fd < 0 ? -errno : 0);
                (void) close(fd);
        }
        STEP("pivot into the base tmpfs", RET_NERRNO(syscall(SYS_pivot_root, ".", "oldroot")));
        STEP("enter the base tmpfs", RET_NERRNO(chdir("/")));
        STEP("bind the new root", RET_NERRNO(mount(NEWROOT, NEWROOT, NULL, MS_BIND, NULL)));

        STEP("bind the system directories", show_system_dirs(spec));
        STEP("mask hidden paths", mask_secrets(spec));
        STEP("mount /proc", make_proc());
        STEP("build /dev", make_dev(spec));
        (void) snprintf(opts, sizeof opts, "mode=1777,size=%" PRIu64, spec->limits.tmpfs_bytes);
        STEP("mount /tmp", RET_NERRNO(mkdir(NEWROOT "/tmp", 01777)));
        STEP("mount /tmp", RET_NERRNO(mount("tmpfs", NEWROOT "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, opts)));
        STEP("bind user paths", show_user_binds(spec, src));
        STEP("show the script", show_script(spec));
        STEP("show secret files", show_secret_files(spec));
        STEP("show /etc/resolv.conf", show_resolv_conf(ret_resolv_fd));

        /* The root itself: no new files next to /usr and /etc. */
        STEP("make the root read-only",
             RET_NERRNO(mount(NULL, NEWROOT, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL)));
        STEP("pivot into the new root", RET_NERRNO(chdir(NEWROOT)));
        STEP("pivot into the new root", RET_NERRNO(syscall(SYS_pivot_root, ".", ".")));
        /* The old root (the host, and the base tmpfs) sits under "." now. */
        STEP("detach the host root", RET_NERRNO(umount2(".", MNT_DETACH)));
        STEP("enter the work directory", RET_NERRNO(chdir(spec->workdir ? spec->workdir : "/")));
#undef STEP
        *reterr_what = NULL;
        return 0;
}
