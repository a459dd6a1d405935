/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The syntax of single profile values, read and written: names, paths,
 * errno and socket family names, ioctl requests, CIDRs, hostnames, ports,
 * sizes, durations and cores. No YAML here and no key paths: callers
 * phrase the messages. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "profile-internal.h"
#include "units.h"

const char *profile_shown(const char *s, char buf[static 80]) {
        size_t n = 0;

        for (; s[n] && n < 64; n++)
                buf[n] = (unsigned char) s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
        if (s[n]) {
                /* Cut on a UTF-8 character boundary. */
                while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                        n--;
                memcpy(buf + n, "...", 4);
        } else
                buf[n] = 0;
        return buf;
}

static bool all_in(const char *s, const char *set) {
        for (; *s; s++)
                if (!strchr(set, *s))
                        return false;
        return true;
}

#define LOWER  "abcdefghijklmnopqrstuvwxyz"
#define UPPER  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"

bool profile_name_valid(const char *s) {
        size_t n = strlen(s);
        return n >= 1 && n <= 64 && strchr(LOWER DIGITS, s[0]) && all_in(s, LOWER DIGITS "._-");
}

bool env_glob_valid(const char *s) {
        size_t n = strlen(s);
        return n >= 1 && n <= 256 && all_in(s, UPPER LOWER DIGITS "_*?[]");
}

bool secret_name_valid(const char *s) {
        size_t n = strlen(s);
        /* A file name in the secret store: never "." or "..". */
        return n >= 1 && n <= 64 && all_in(s, UPPER LOWER DIGITS "_.-") && !streq(s, ".") && !streq(s, "..");
}

const char *path_problem(const char *s) {
        if (s[0] != '/')
                return "is not an absolute path";
        if (strlen(s) >= PATH_MAX)
                return "is too long";
        for (const char *p = s; *p;) {
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return "contains '..'";
                p += n;
        }
        return NULL;
}

_Static_assert(PROFILE_OBSERVE_PREFIX_MAX == 64 && PROFILE_OBSERVE_SUFFIX_MAX == 16,
               "the messages of watch_pattern_problem() name the limits");

const char *watch_pattern_problem(const char *s) {
        const char *star = strchr(s, '*'), *why = path_problem(s);

        if (why)
                return why;
        if (!star)
                return strlen(s) > PROFILE_OBSERVE_PREFIX_MAX ? "is longer than 64 bytes" : NULL;
        if (strchr(star + 1, '*'))
                return "has more than one '*'";
        if ((size_t) (star - s) > PROFILE_OBSERVE_PREFIX_MAX)
                return "has more than 64 bytes before the '*'";
        if (!star[1])
                return "ends in '*' (write the prefix alone)";
        if (strlen(star + 1) > PROFILE_OBSERVE_SUFFIX_MAX)
                return "has more than 16 bytes after the '*'";
        return NULL;
}

/* ---- errno ---- */

int errno_from_name(const char *s) {
        static const struct {
                const char *name;
                int value;
        } aliases[] = {
                { "EWOULDBLOCK", EWOULDBLOCK },
                { "EDEADLOCK", EDEADLOCK },
                { "ENOTSUP", ENOTSUP },
        };

        if (s[0] != 'E')
                return -EINVAL;
        for (int e = 1; e < 256; e++) {
                const char *n = strerrorname_np(e);
                if (n && streq(n, s))
                        return e;
        }
        for (size_t i = 0; i < ELEMENTSOF(aliases); i++)
                if (streq(aliases[i].name, s))
                        return aliases[i].value;
        return -EINVAL;
}

const char *errno_to_name(int e) {
        return e > 0 ? strerrorname_np(e) : NULL;
}

/* ---- socket families ---- */

static const struct {
        const char *name;
        int af;
} families[] = {
        { "unix", AF_UNIX },
        { "inet", AF_INET },
        { "inet6", AF_INET6 },
        { "netlink", AF_NETLINK },
        { "packet", AF_PACKET },
        { "key", AF_KEY },
        { "alg", AF_ALG },
        { "vsock", AF_VSOCK },
        { "bluetooth", AF_BLUETOOTH },
        { "can", AF_CAN },
        { "xdp", AF_XDP },
        { "tipc", AF_TIPC },
        { "rds", AF_RDS },
        { "appletalk", AF_APPLETALK },
        { "ax25", AF_AX25 },
        { "x25", AF_X25 },
        { "ipx", AF_IPX },
        { "llc", AF_LLC },
        { "mpls", AF_MPLS },
        { "nfc", AF_NFC },
        { "qipcrtr", AF_QIPCRTR },
        { "smc", AF_SMC },
        { "kcm", AF_KCM },
        { "rxrpc", AF_RXRPC },
        { "phonet", AF_PHONET },
        { "ieee802154", AF_IEEE802154 },
        { "caif", AF_CAIF },
        { "isdn", AF_ISDN },
        { "pppox", AF_PPPOX },
        { "atmpvc", AF_ATMPVC },
        { "atmsvc", AF_ATMSVC },
        { "netrom", AF_NETROM },
        { "rose", AF_ROSE },
        { "ib", AF_IB },
};

int socket_family_from_name(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(families); i++)
                if (streq(families[i].name, s))
                        return families[i].af;
        return -EINVAL;
}

const char *socket_family_to_name(int af) {
        for (size_t i = 0; i < ELEMENTSOF(families); i++)
                if (families[i].af == af)
                        return families[i].name;
        return NULL;
}

/* ---- ioctl requests ---- */

static const struct {
        const char *name;
        unsigned long req;
} ioctls[] = {
        { "TIOCSTI", TIOCSTI },     /* pushes input into the terminal */
        { "TIOCLINUX", TIOCLINUX }, /* console selection and more */
        { "TIOCCONS", TIOCCONS },   /* redirects the console */
        { "TIOCSETD", TIOCSETD },   /* line disciplines: kernel attack surface */
        { "TIOCSSERIAL", TIOCSSERIAL }, { "TIOCSCTTY", TIOCSCTTY },
};

int ioctl_from_string(const char *s, unsigned long *ret) {
        if (isdigit((unsigned char) s[0])) {
                unsigned long long v;
                char *end;

                errno = 0;
                v = strtoull(s, &end, 0);
                if (errno != 0 || *end || v > UINT32_MAX)
                        return -EINVAL;
                *ret = (unsigned long) v;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(ioctls); i++)
                if (streq(ioctls[i].name, s)) {
                        *ret = ioctls[i].req;
                        return 0;
                }
        return -EINVAL;
}

const char *ioctl_to_name(unsigned long req) {
        for (size_t i = 0; i < ELEMENTSOF(ioctls); i++)
                if (ioctls[i].req == req)
                        return ioctls[i].name;
        return NULL;
}

/* ---- network ---- */

bool net_looks_like_address(const char *s) {
        return strchr(s, '/') || strchr(s, ':') || (*s && all_in(s, DIGITS "."));
}

int net_cidr_parse(const char *s, NetRule *r) {
        char addr[INET6_ADDRSTRLEN];
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t) (slash - s) : strlen(s);
        uint8_t buf[16] = {};
        uint64_t prefix;
        unsigned max;
        int family;

        if (n == 0 || n >= sizeof addr)
                return -EINVAL;
        memcpy(addr, s, n);
        addr[n] = 0;
        family = strchr(addr, ':') ? AF_INET6 : AF_INET;
        max = family == AF_INET6 ? 128 : 32;
        if (inet_pton(family, addr, buf) != 1)
                return -EINVAL;
        prefix = max;
        if (slash) {
                if (strlen(slash + 1) > 3 || parse_u64(slash + 1, &prefix) < 0 || prefix > max)
                        return -EINVAL;
        }
        for (unsigned bit = (unsigned) prefix; bit < max; bit++)
                if (buf[bit / 8] & (0x80 >> (bit % 8)))
                        return -EADDRNOTAVAIL;
        r->family = family;
        memcpy(r->addr, buf, sizeof r->addr);
        r->prefix = (uint8_t) prefix;
        return 0;
}

int net_host_normalize(const char *s, char **ret) {
        _cleanup_free_ char *h = NULL;
        const char *p, *last = NULL;
        size_t n = strlen(s);

        if (n == 0 || n > 253)
                return -EINVAL;
        h = strdup(s);
        if (!h)
                return -ENOMEM;
        for (char *c = h; *c; c++)
                *c = (char) tolower((unsigned char) *c);

        p = h;
        if (p[0] == '*' && p[1] == '.') /* "*.example.com" */
                p += 2;
        for (;;) {
                size_t len = strcspn(p, ".");

                if (len == 0 || len > 63 || p[0] == '-' || p[len - 1] == '-')
                        return -EINVAL;
                for (size_t i = 0; i < len; i++)
                        if (!strchr(LOWER DIGITS "-", p[i]))
                                return -EINVAL;
                last = p;
                if (!p[len])
                        break;
                p += len + 1;
        }
        /* An all-numeric last label would be an address. */
        if (all_in(last, DIGITS))
                return -EINVAL;
        *ret = TAKE_PTR(h);
        return 0;
}

static int parse_port(const char *s, uint16_t *ret) {
        uint64_t v;

        if (strlen(s) > 5 || parse_u64(s, &v) < 0 || v < 1 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

int net_port_range_parse(const char *s, uint16_t *ret_lo, uint16_t *ret_hi) {
        const char *dash = strchr(s, '-');
        uint16_t lo, hi;
        char a[8];

        if (!dash) {
                if (parse_port(s, &lo) < 0)
                        return -EINVAL;
                *ret_lo = *ret_hi = lo;
                return 0;
        }
        if ((size_t) (dash - s) >= sizeof a)
                return -EINVAL;
        memcpy(a, s, (size_t) (dash - s));
        a[dash - s] = 0;
        if (parse_port(a, &lo) < 0 || parse_port(dash + 1, &hi) < 0 || lo > hi)
                return -EINVAL;
        *ret_lo = lo;
        *ret_hi = hi;
        return 0;
}

bool net_rule_equal(const NetRule *a, const NetRule *b) {
        if (!!a->host != !!b->host || (a->host && !streq(a->host, b->host)))
                return false;
        if (!a->host && (a->family != b->family || a->prefix != b->prefix || memcmp(a->addr, b->addr, 16) != 0))
                return false;
        return a->port_lo == b->port_lo && a->port_hi == b->port_hi && a->protos == b->protos;
}

/* ---- numbers written back ---- */

const char *format_size(uint64_t v, char buf[static PROFILE_NUMBUF]) {
        static const struct {
                const char *suffix;
                unsigned shift;
        } units[] = { { "TiB", 40 }, { "GiB", 30 }, { "MiB", 20 }, { "KiB", 10 } };

        if (v > 0)
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (v % (1ULL << units[i].shift) == 0) {
                                (void) snprintf(buf, PROFILE_NUMBUF, "%" PRIu64 "%s", v >> units[i].shift,
                                                units[i].suffix);
                                return buf;
                        }
        (void) snprintf(buf, PROFILE_NUMBUF, "%" PRIu64, v);
        return buf;
}

const char *format_duration(uint64_t usec, char buf[static PROFILE_NUMBUF]) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "h", 3600 * USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "s", USEC_PER_SEC },
                { "ms", USEC_PER_MSEC },
                { "us", 1 },
        };

        if (usec > 0)
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (usec % units[i].usec == 0) {
                                (void) snprintf(buf, PROFILE_NUMBUF, "%" PRIu64 "%s", usec / units[i].usec,
                                                units[i].suffix);
                                return buf;
                        }
        (void) snprintf(buf, PROFILE_NUMBUF, "0");
        return buf;
}

const char *format_cpus(uint64_t m, char buf[static PROFILE_NUMBUF]) {
        if (m % 1000 == 0)
                (void) snprintf(buf, PROFILE_NUMBUF, "%" PRIu64, m / 1000);
        else if (m % 100 == 0)
                (void) snprintf(buf, PROFILE_NUMBUF, "%" PRIu64 ".%" PRIu64, m / 1000, m % 1000 / 100);
        else if (m % 10 == 0)
                (void) snprintf(buf, PROFILE_NUMBUF, "%" PRIu64 ".%02" PRIu64, m / 1000, m % 1000 / 10);
        else
                (void) snprintf(buf, PROFILE_NUMBUF, "%" PRIu64 ".%03" PRIu64, m / 1000, m % 1000);
        return buf;
}

const char *format_cidr(const NetRule *r, char buf[static PROFILE_NUMBUF + 16]) {
        char a[INET6_ADDRSTRLEN] = "?";

        (void) inet_ntop(r->family, r->addr, a, sizeof a);
        (void) snprintf(buf, PROFILE_NUMBUF + 16, "%s/%u", a, (unsigned) r->prefix);
        return buf;
}

const char *format_ports(const NetRule *r, char buf[static PROFILE_NUMBUF]) {
        if (r->port_lo == r->port_hi)
                (void) snprintf(buf, PROFILE_NUMBUF, "%u", (unsigned) r->port_lo);
        else
                (void) snprintf(buf, PROFILE_NUMBUF, "%u-%u", (unsigned) r->port_lo, (unsigned) r->port_hi);
        return buf;
}

