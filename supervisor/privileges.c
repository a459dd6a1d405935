/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <net/if.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "basic/macro.h"
#include "privileges.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cap_t, cap_free);

static int caps_all_clear(void) {
        _cleanup_(cap_freep) cap_t now = NULL, empty = NULL;

        now = cap_get_proc();
        empty = cap_init();
        if (!now || !empty)
                return -ENOMEM;
        if (cap_compare(now, empty) != 0)
                return -EPERM;
        for (cap_value_t c = 0; c < (cap_value_t) cap_max_bits(); c++)
                if (cap_get_bound(c) > 0)
                        return -EPERM;
        if (cap_get_ambient(CAP_SYS_ADMIN) > 0)
                return -EPERM;
        return 0;
}

int privileges_drop(uid_t uid, gid_t gid, const char **reterr_what) {
        _cleanup_(cap_freep) cap_t empty = NULL;
        int r;

#define STEP(what, expr)                        \
        do {                                    \
                *reterr_what = (what);          \
                r = (expr);                     \
                if (r < 0)                      \
                        return r;               \
        } while (0)

        STEP("refuse uid 0", uid == 0 ? -EPERM : 0);
        /* First, so that nothing below can be undone by a setuid binary. */
        STEP("set no_new_privs", RET_NERRNO(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)));
        /* The bounding set needs CAP_SETPCAP, which we still have now. */
        for (cap_value_t c = 0; c < (cap_value_t) cap_max_bits(); c++)
                STEP("clear the bounding set", RET_NERRNO(cap_drop_bound(c)));
        STEP("clear the ambient set", RET_NERRNO(cap_reset_ambient()));
        STEP("clear supplementary groups", RET_NERRNO(setgroups(0, NULL)));
        STEP("set the gid", RET_NERRNO(setresgid(gid, gid, gid)));
        STEP("set the uid", RET_NERRNO(setresuid(uid, uid, uid)));
        empty = cap_init();
        STEP("clear capabilities", empty ? 0 : -ENOMEM);
        STEP("clear capabilities", RET_NERRNO(cap_set_proc(empty)));
        STEP("verify capabilities", caps_all_clear());
#undef STEP
        *reterr_what = NULL;
        return 0;
}

int net_loopback_up(void) {
        _cleanup_close_ int fd = -EBADF;
        struct ifreq ifr = {};

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        strcpy(ifr.ifr_name, "lo");
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        return RET_NERRNO(ioctl(fd, SIOCSIFFLAGS, &ifr));
}
