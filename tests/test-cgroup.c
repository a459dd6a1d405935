/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "cgroup.h"

/* This build machine: cgroup2 without controllers, v1 for the rest. */
static const char hybrid_mountinfo[] =
        "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
        "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
        "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
static const char hybrid_cgroup[] =
        "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/11af\n2:cpuacct:/\n1:cpu:/\n0::/\n";

/* A systemd host in pure v2 mode, service with its own cgroup. */
static const char v2_mountinfo[] =
        "25 1 0:23 / / rw - ext4 /dev/sda1 rw\n"
        "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n";
static const char v2_cgroup[] = "0::/system.slice/stockaded.service\n";

START_TEST(test_parse_hybrid) {
        CgroupLayout l;
        ck_assert_int_eq(cgroup_layout_parse(hybrid_mountinfo, hybrid_cgroup, &l), 0);
        ck_assert_str_eq(l.v2_dir, "/sys/fs/cgroup/unified");
        ck_assert_str_eq(l.v1_dir[CG_MEMORY], "/sys/fs/cgroup/memory/process_api/11af");
        ck_assert_str_eq(l.v1_dir[CG_CPU], "/sys/fs/cgroup/cpu");
        ck_assert_str_eq(l.v1_dir[CG_PIDS], "/sys/fs/cgroup/pids");

        strcpy(l.v2_controllers, "hugetlb");
        cgroup_layout_choose(&l);
        ck_assert_int_eq(l.version[CG_MEMORY], CGV_1);
        ck_assert_int_eq(l.version[CG_CPU], CGV_1);
        ck_assert_int_eq(l.version[CG_PIDS], CGV_1);
        ck_assert_str_eq(cgroup_layout_backend(&l), "hybrid");
        cgroup_layout_done(&l);
}
END_TEST

START_TEST(test_parse_v2) {
        CgroupLayout l;
        ck_assert_int_eq(cgroup_layout_parse(v2_mountinfo, v2_cgroup, &l), 0);
        ck_assert_str_eq(l.v2_dir, "/sys/fs/cgroup/system.slice/stockaded.service");
        for (int c = 0; c < _CG_MAX; c++)
                ck_assert_ptr_null(l.v1_dir[c]);
        strcpy(l.v2_controllers, "cpuset cpu io memory hugetlb pids rdma misc");
        cgroup_layout_choose(&l);
        for (int c = 0; c < _CG_MAX; c++)
                ck_assert_int_eq(l.version[c], CGV_2);
        ck_assert_str_eq(cgroup_layout_backend(&l), "v2");
        cgroup_layout_done(&l);
}
END_TEST

/* Mixed: v2 offers memory and pids, cpu only in v1 (co-mounted with cpuacct). */
START_TEST(test_choose_mixed_and_missing) {
        static const char mi[] =
                "1 0 0:1 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
                "2 0 0:2 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
        static const char pc[] = "3:cpu,cpuacct:/a\n0::/a\n";
        CgroupLayout l;
        ck_assert_int_eq(cgroup_layout_parse(mi, pc, &l), 0);
        ck_assert_str_eq(l.v1_dir[CG_CPU], "/sys/fs/cgroup/cpu,cpuacct/a");
        strcpy(l.v2_controllers, "memory pids");
        cgroup_layout_choose(&l);
        ck_assert_int_eq(l.version[CG_MEMORY], CGV_2);
        ck_assert_int_eq(l.version[CG_CPU], CGV_1);
        ck_assert_int_eq(l.version[CG_PIDS], CGV_2);

        /* "pidsx" is not "pids": whole-word matching only. */
        strcpy(l.v2_controllers, "memory pidsx");
        cgroup_layout_choose(&l);
        ck_assert_int_eq(l.version[CG_PIDS], CGV_NONE);
        ck_assert_ptr_nonnull(strstr(l.why[CG_PIDS], "pids controller"));
        cgroup_layout_done(&l);
}
END_TEST

/* Inside a container the mount's root is our cgroup; mountinfo escapes spaces. */
START_TEST(test_parse_mount_root_and_escapes) {
        static const char mi[] = "1 0 0:1 /outer /sys/fs/cgroup\\040x rw - cgroup2 cgroup2 rw\n";
        CgroupLayout l;
        ck_assert_int_eq(cgroup_layout_parse(mi, "0::/outer/inner\n", &l), 0);
        ck_assert_str_eq(l.v2_dir, "/sys/fs/cgroup x/inner");
        cgroup_layout_done(&l);
        /* Our cgroup outside the mounted subtree: unusable, not guessed. */
        ck_assert_int_eq(cgroup_layout_parse(mi, "0::/elsewhere\n", &l), 0);
        ck_assert_ptr_null(l.v2_dir);
        cgroup_layout_done(&l);
}
END_TEST

static int make_fake_group(char *dir, const char *const *files) {
        ck_assert_ptr_nonnull(mkdtemp(dir));
        int fd = open(dir, O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        for (; *files; files++) {
                int f = openat(fd, *files, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
                ck_assert_int_ge(f, 0);
                close(f);
        }
        return fd;
}

static void expect_file(int dirfd, const char *name, const char *want) {
        char buf[128];
        ck_assert_int_ge(read_file_at(dirfd, name, buf, sizeof buf), 0);
        ck_assert_msg(strcmp(buf, want) == 0, "%s is '%s', want '%s'", name, buf, want);
}

static void remove_fake(const char *dir, int fd, const char *const *files) {
        for (; *files; files++)
                unlinkat(fd, *files, 0);
        close(fd);
        rmdir(dir);
}

START_TEST(test_apply_limits_v2) {
        static const char *const files[] = { "memory.max", "memory.swap.max", "cpu.max", "pids.max", NULL };
        char dir[] = "/tmp/stockade-cg-XXXXXX";
        Cgroup cg = CGROUP_NULL;
        SandboxLimits lim = { .memory_bytes = 64ULL << 20, .cpu_millicores = 250, .pids = 20 };
        const char *what = "unset";

        cg.v2_fd = make_fake_group(dir, files);
        for (int c = 0; c < _CG_MAX; c++)
                cg.version[c] = CGV_2;
        ck_assert_int_eq(cgroup_apply_limits(&cg, &lim, &what), 0);
        ck_assert_ptr_null(what);
        expect_file(cg.v2_fd, "memory.max", "67108864");
        expect_file(cg.v2_fd, "memory.swap.max", "0");
        expect_file(cg.v2_fd, "cpu.max", "25000 100000");
        expect_file(cg.v2_fd, "pids.max", "20");
        ck_assert(cg.swap_off);
        remove_fake(dir, cg.v2_fd, files);
}
END_TEST

START_TEST(test_apply_limits_v1) {
        static const char *const mem[] = { "memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
                                           "memory.swappiness", NULL };
        static const char *const cpu[] = { "cpu.cfs_period_us", "cpu.cfs_quota_us", NULL };
        static const char *const pids[] = { "pids.max", NULL };
        char d1[] = "/tmp/stockade-cg-XXXXXX", d2[] = "/tmp/stockade-cg-XXXXXX", d3[] = "/tmp/stockade-cg-XXXXXX";
        Cgroup cg = CGROUP_NULL;
        SandboxLimits lim = { .memory_bytes = 64ULL << 20, .cpu_millicores = 1500, .pids = 7 };
        const char *what;

        cg.v1_fd[CG_MEMORY] = make_fake_group(d1, mem);
        cg.v1_fd[CG_CPU] = make_fake_group(d2, cpu);
        cg.v1_fd[CG_PIDS] = make_fake_group(d3, pids);
        for (int c = 0; c < _CG_MAX; c++)
                cg.version[c] = CGV_1;
        ck_assert_int_eq(cgroup_apply_limits(&cg, &lim, &what), 0);
        expect_file(cg.v1_fd[CG_MEMORY], "memory.limit_in_bytes", "67108864");
        expect_file(cg.v1_fd[CG_MEMORY], "memory.memsw.limit_in_bytes", "67108864");
        expect_file(cg.v1_fd[CG_CPU], "cpu.cfs_period_us", "100000");
        expect_file(cg.v1_fd[CG_CPU], "cpu.cfs_quota_us", "150000");
        expect_file(cg.v1_fd[CG_PIDS], "pids.max", "7");
        ck_assert(cg.swap_off);
        remove_fake(d1, cg.v1_fd[CG_MEMORY], mem);
        remove_fake(d2, cg.v1_fd[CG_CPU], cpu);
        remove_fake(d3, cg.v1_fd[CG_PIDS], pids);
}
END_TEST

/* A ceiling the kernel does not offer fails closed and names the wall. */
START_TEST(test_apply_limits_missing_file) {
        static const char *const files[] = { "memory.max", "memory.swap.max", "cpu.max", NULL };
        char dir[] = "/tmp/stockade-cg-XXXXXX";
        Cgroup cg = CGROUP_NULL;
        SandboxLimits lim = { .memory_bytes = 64ULL << 20, .cpu_millicores = 1000, .pids = 20 };
        const char *what = NULL;

        cg.v2_fd = make_fake_group(dir, files);
        for (int c = 0; c < _CG_MAX; c++)
                cg.version[c] = CGV_2;
        ck_assert_int_eq(cgroup_apply_limits(&cg, &lim, &what), -ENOENT);
        ck_assert_str_eq(what, "pids");
        remove_fake(dir, cg.v2_fd, files);
}
END_TEST

static Suite *cgroup_suite(void) {
        Suite *s = suite_create("cgroup");
        TCase *tc = tcase_create("layout");
        tcase_add_test(tc, test_parse_hybrid);
        tcase_add_test(tc, test_parse_v2);
        tcase_add_test(tc, test_choose_mixed_and_missing);
        tcase_add_test(tc, test_parse_mount_root_and_escapes);
        tcase_add_test(tc, test_apply_limits_v2);
        tcase_add_test(tc, test_apply_limits_v1);
        tcase_add_test(tc, test_apply_limits_missing_file);
        suite_add_tcase(s, tc);
        return s;
}

#include "check-main.h"
CHECK_MAIN(cgroup_suite)
