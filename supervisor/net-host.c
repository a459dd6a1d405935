/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "net-host.h"
#include "netlink.h"

#define IPV4_FORWARD "/proc/sys/net/ipv4/ip_forward"
#define IPV6_FORWARD "/proc/sys/net/ipv6/conf/all/forwarding"
#define TABLE_PREFIX "stockade_"

struct NetHost {
        NetPool pool;
        char table[64]; /* "inet stockade_<pid>" */
        bool ipv6_forwarding;
        bool changed_ipv4_forwarding;
};

void net_pool_default(NetPool *ret) {
        *ret = (NetPool) { .prefix4 = 10, .prefix6 = 48 };
        (void) inet_pton(AF_INET, "100.64.0.0", &ret->base4);
        (void) inet_pton(AF_INET6, "fd00:5ec:ade::", &ret->base6);
}

/* "ADDR/LEN" with no bits set past LEN. */
static int parse_cidr(const char *s, int family, void *ret_addr, unsigned *ret_prefix) {
        unsigned max = family == AF_INET ? 32 : 128, prefix;
        uint8_t addr[16];
        char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
        unsigned long v;

        if (strlen(s) >= sizeof buf)
                return -EINVAL;
        strcpy(buf, s);
        slash = strchr(buf, '/');
        if (!slash || slash[1] < '0' || slash[1] > '9')
                return -EINVAL;
        *slash = 0;
        errno = 0;
        v = strtoul(slash + 1, &end, 10);
        if (errno != 0 || *end != 0 || v > max)
                return -EINVAL;
        prefix = (unsigned) v;
        if (inet_pton(family, buf, addr) != 1)
                return -EINVAL;
        for (unsigned bit = prefix; bit < max; bit++)
                if (addr[bit / 8] & (0x80 >> (bit % 8)))
                        return -EINVAL;
        memcpy(ret_addr, addr, max / 8);
        *ret_prefix = prefix;
        return 0;
}

int net_pool_parse(const char *v4cidr, const char *v6cidr, NetPool *ret) {
        NetPool p;
        int r;

        net_pool_default(&p);
        if (v4cidr) {
                r = parse_cidr(v4cidr, AF_INET, &p.base4, &p.prefix4);
                if (r < 0)
                        return r;
        }
        if (v6cidr) {
                r = parse_cidr(v6cidr, AF_INET6, &p.base6, &p.prefix6);
                if (r < 0)
                        return r;
        }
        /* A task needs a whole /30 and /64; a pool of prefix 0 would be the
         * whole address space, surely a typo. */
        if (p.prefix4 < 1 || p.prefix4 > 30 || p.prefix6 < 1 || p.prefix6 > 64)
                return -EINVAL;
        *ret = p;
        return 0;
}

unsigned net_pool_slots(const NetPool *pool) {
        unsigned bits4, bits6, bits;

        if (pool->prefix4 < 1 || pool->prefix4 > 30 || pool->prefix6 < 1 || pool->prefix6 > 64)
                return 0;
        bits4 = 30 - pool->prefix4;
        bits6 = 64 - pool->prefix6;
        bits = bits4 < bits6 ? bits4 : bits6;
        /* More veths than any kernel holds; keeps the slot an unsigned and
         * the host end's name within IFNAMSIZ. */
        if (bits > 24)
                bits = 24;
        return 1U << bits;
}

void net_pool_format(const NetPool *pool, char *ret4, size_t len4, char *ret6, size_t len6) {
        char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];

        (void) inet_ntop(AF_INET, &pool->base4, a4, sizeof a4);
        (void) inet_ntop(AF_INET6, &pool->base6, a6, sizeof a6);
        (void) snprintf(ret4, len4, "%s/%u", a4, pool->prefix4);
        (void) snprintf(ret6, len6, "%s/%u", a6, pool->prefix6);
}

int net_process_start_time(pid_t pid, unsigned long long *ret) {
        char path[64], buf[1024], *p;
        unsigned long long start;
        int r;

        (void) snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        r = read_file_at(AT_FDCWD, path, buf, sizeof buf);
        if (r < 0)
                return r;
        /* comm (field 2) may hold spaces and ')': the fields resume after
         * the last ')'. state is field 3, starttime field 22. */
        p = strrchr(buf, ')');
        if (!p)
                return -EIO;
        p++;
        for (int field = 3; field < 22; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EIO;
        }
        if (sscanf(p, " %llu", &start) != 1)
                return -EIO;
        *ret = start;
        return 0;
}

static int own_pidns(unsigned long long *ret) {
        struct stat st;
        if (stat("/proc/self/ns/pid", &st) < 0)
                return -errno;
        *ret = (unsigned long long) st.st_ino;
        return 0;
}

int net_owner_format(char *buf, size_t len) {
        unsigned long long start, pidns;
        int r;

        r = net_process_start_time(getpid(), &start);
        if (r < 0)
                return r;
        r = own_pidns(&pidns);
        if (r < 0)
                return r;
        if ((size_t) snprintf(buf, len, "stockade pid=%d start=%llu pidns=%llu", (int) getpid(), start, pidns) >= len)
                return -ENOBUFS;
        return 0;
}

int net_owner_parse(const char *s, pid_t *ret_pid, unsigned long long *ret_start, unsigned long long *ret_pidns) {
        unsigned long long start, pidns;
        int pid, n = 0;

        if (sscanf(s, "stockade pid=%d start=%llu pidns=%llu%n", &pid, &start, &pidns, &n) != 3 || s[n] != 0 ||
            pid <= 0)
                return -EINVAL;
        *ret_pid = pid;
        *ret_start = start;
        *ret_pidns = pidns;
        return 0;
}

bool net_owner_gone(const char *s) {
        unsigned long long start, pidns, own = 0, now;
        pid_t pid;
        int r;

        if (net_owner_parse(s, &pid, &start, &pidns) < 0)
                return false;
        if (own_pidns(&own) < 0 || own != pidns)
                return false;
        r = net_process_start_time(pid, &now);
        if (r == -ENOENT || r == -ESRCH)
                return true;
        return r >= 0 && now != start; /* the pid was reused */
}

/* libnftables, resolved on first use. The handle stays for the process's
 * life: unloading buys nothing and would race a later net_host_open(). We
 * declare the few prototypes ourselves: <nftables/libnftables.h> defines
 * _GNU_SOURCE unconditionally, which clashes with our -D_GNU_SOURCE. */
struct nft_ctx;
static struct {
        bool loaded;
        struct nft_ctx *(*ctx_new)(uint32_t flags);
        void (*ctx_free)(struct nft_ctx *ctx);
        int (*buffer_output)(struct nft_ctx *ctx);
        int (*buffer_error)(struct nft_ctx *ctx);
        const char *(*get_output_buffer)(struct nft_ctx *ctx);
        const char *(*get_error_buffer)(struct nft_ctx *ctx);
        int (*run_cmd_from_buffer)(struct nft_ctx *ctx, const char *buf);
} nft;

static int nft_load(void) {
        void *dl;
        int fd;

        if (nft.loaded)
                return 0;
        /* libnftables ends the whole process (exit(3), mnl.c) when the
         * kernel offers no nfnetlink: ask first, and fail like any wall. */
        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
        if (fd < 0) {
                log_debug("net-host: no nfnetlink in this kernel: %m");
                return -errno;
        }
        (void) close(fd);
        dl = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!dl) {
                log_debug("net-host: cannot load libnftables.so.1: %s", dlerror());
                return -EOPNOTSUPP;
        }
#define SYM(field, name)                                        \
        do {                                                    \
                *(void **) &nft.field = dlsym(dl, name);        \
                if (!nft.field) {                               \
                        log_debug("net-host: %s", dlerror());   \
                        (void) dlclose(dl);                     \
                        return -EOPNOTSUPP;                     \
                }                                               \
        } while (0)
        SYM(ctx_new, "nft_ctx_new");
        SYM(ctx_free, "nft_ctx_free");
        SYM(buffer_output, "nft_ctx_buffer_output");
        SYM(buffer_error, "nft_ctx_buffer_error");
        SYM(get_output_buffer, "nft_ctx_get_output_buffer");
        SYM(get_error_buffer, "nft_ctx_get_error_buffer");
        SYM(run_cmd_from_buffer, "nft_run_cmd_from_buffer");
#undef SYM
        nft.loaded = true;
        return 0;
}

/* Runs one batch (atomic in the kernel). nft reports failure as text
 * only: it goes to the debug log and the caller gets a synthetic -EIO. */
static int nft_run(const char *cmds, char **ret_output) {
        struct nft_ctx *ctx;
        int r;

        r = nft_load();
        if (r < 0)
                return r;
        ctx = nft.ctx_new(/* NFT_CTX_DEFAULT */ 0);
        if (!ctx)
                return -ENOMEM;
        if (nft.buffer_output(ctx) < 0 || nft.buffer_error(ctx) < 0) {
                nft.ctx_free(ctx);
                return -ENOMEM;
        }
        r = nft.run_cmd_from_buffer(ctx, cmds) == 0 ? 0 : -EIO;
        if (r < 0)
                log_debug("net-host: nft failed: %s", nft.get_error_buffer(ctx) ?: "");
        else if (ret_output) {
                *ret_output = strdup(nft.get_output_buffer(ctx) ?: "");
                if (!*ret_output)
                        r = -ENOMEM;
        }
        nft.ctx_free(ctx);
        return r;
}

/* One batch that replaces a table left by an earlier supervisor of the same
 * pid ("add" makes the "delete" safe when there is none).
 *
 * postrouting: what the pool sends out of a non-pool interface leaves with
 * the host's address (masquerade), so the rest of the network needs no
 * route back to the pool.
 * forward: tasks may not talk to each other through the host, and nothing
 * beyond the host may open a connection to a task. The accepts only end
 * this chain; a drop in another table's forward hook (a host firewall)
 * still wins, and then tasks reach nothing beyond the host. The wildcard
 * covers every supervisor's veths, which is what each of them wants. */
static int format_table(const NetHost *h, const char *owner, char **ret) {
        char p4[INET_ADDRSTRLEN + 4], p6[INET6_ADDRSTRLEN + 4];

        net_pool_format(&h->pool, p4, sizeof p4, p6, sizeof p6);
        if (asprintf(ret,
                     "add table %1$s\n"
                     "delete table %1$s\n"
                     "table %1$s {\n"
                     "  comment \"%2$s\"\n"
                     "  chain postrouting {\n"
                     "    type nat hook postrouting priority srcnat; policy accept;\n"
                     "    oifname \"" NET_LINK_PREFIX "*\" return\n"
                     "    ip saddr %3$s masquerade\n"
                     "    ip6 saddr %4$s masquerade\n"
                     "  }\n"
                     "  chain forward {\n"
                     "    type filter hook forward priority filter; policy accept;\n"
                     "    iifname \"" NET_LINK_PREFIX "*\" oifname \"" NET_LINK_PREFIX "*\" drop\n"
                     "    iifname \"" NET_LINK_PREFIX "*\" accept\n"
                     "    oifname \"" NET_LINK_PREFIX "*\" ct state established,related accept\n"
                     "    oifname \"" NET_LINK_PREFIX "*\" drop\n"
                     "  }\n"
                     "}\n",
                     h->table, owner, p4, p6) < 0)
                return -ENOMEM;
        return 0;
}

static bool sysctl_on(const char *path) {
        char buf[16];
        return read_file_at(AT_FDCWD, path, buf, sizeof buf) > 0 && buf[0] != '0';
}

int net_host_open(const NetPool *pool, NetHost **ret, const char **reterr_what) {
        _cleanup_(net_host_closep) NetHost *h = NULL;
        _cleanup_free_ char *cmds = NULL, *drop = NULL;
        char owner[128];
        int r;

        *reterr_what = "address pool";
        if (net_pool_slots(pool) == 0)
                return -EINVAL;
        *reterr_what = "libnftables";
        r = nft_load();
        if (r < 0)
                return r;

        *reterr_what = "nftables table";
        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->pool = *pool;
        (void) snprintf(h->table, sizeof h->table, "inet " TABLE_PREFIX "%d", (int) getpid());
        r = net_owner_format(owner, sizeof owner);
        if (r < 0)
                return r;
        r = format_table(h, owner, &cmds);
        if (r < 0)
                return r;
        r = nft_run(cmds, /* ret_output= */ NULL);
        if (r < 0) {
                h->table[0] = 0; /* nothing to remove */
                return r;
        }

        /* Tasks send from the pool through this host: without forwarding
         * nothing reaches beyond it. It stays on at exit, since other
         * supervisors may rely on it and none knows whether it is the last. */
        *reterr_what = "net.ipv4.ip_forward";
        if (!sysctl_on(IPV4_FORWARD)) {
                r = write_string_at(AT_FDCWD, IPV4_FORWARD, "1");
                if (r < 0)
                        return r;
                h->changed_ipv4_forwarding = true;
                log_info("net-host: turned on net.ipv4.ip_forward for the task network; it stays on");
        }
        /* Not turned on: all.forwarding=1 makes every interface stop
         * accepting router advertisements, which can cut the host off. */
        h->ipv6_forwarding = sysctl_on(IPV6_FORWARD);

        *reterr_what = NULL;
        *ret = TAKE_PTR(h);
        return 0;
}

NetHost *net_host_close(NetHost *h) {
        _cleanup_free_ char *cmd = NULL;

        if (!h)
                return NULL;
        if (h->table[0] && asprintf(&cmd, "delete table %s\n", h->table) >= 0) {
                int r = nft_run(cmd, /* ret_output= */ NULL);
                if (r < 0)
                        (void) log_debug_errno(r, "net-host: cannot delete table '%s', ignoring: %m", h->table);
        }
        free(h);
        return NULL;
}

bool net_host_ipv6_forwarding(const NetHost *h) {
        return h->ipv6_forwarding;
}

bool net_host_changed_ipv4_forwarding(const NetHost *h) {
        return h->changed_ipv4_forwarding;
}

const NetPool *net_host_pool(const NetHost *h) {
        return &h->pool;
}

const char *net_host_table(const NetHost *h) {
        return h->table;
}

/* A table's owner: its comment, or for a table without one (made by
 * hand?) only its pid, which must then be gone. */
static bool table_stale(const char *name, int pid) {
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        char *c, *q;

        if (pid == getpid())
                return false;
        if (asprintf(&cmd, "list table inet %s\n", name) < 0 || nft_run(cmd, &out) < 0)
                return false;
        c = strstr(out, "comment \"");
        if (!c)
                return kill(pid, 0) < 0 && errno == ESRCH;
        c += strlen("comment \"");
        q = strchr(c, '"');
        if (!q)
                return false;
        *q = 0;
        return net_owner_gone(c);
}

static void sweep_tables(void) {
        _cleanup_free_ char *out = NULL;
        char *line, *save = NULL;

        if (nft_run("list tables inet\n", &out) < 0)
                return;
        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                _cleanup_free_ char *cmd = NULL;
                char name[64], *end;
                long pid;

                if (sscanf(line, "table inet %63s", name) != 1 || strncmp(name, TABLE_PREFIX, strlen(TABLE_PREFIX)) != 0)
                        continue;
                pid = strtol(name + strlen(TABLE_PREFIX), &end, 10);
                if (end == name + strlen(TABLE_PREFIX) || *end != 0 || pid <= 0 || pid > INT32_MAX)
                        continue;
                if (!table_stale(name, (int) pid))
                        continue;
                if (asprintf(&cmd, "delete table inet %s\n", name) >= 0 && nft_run(cmd, NULL) >= 0)
                        log_debug("net-host: deleted stale table inet %s", name);
        }
}

void net_sweep_stale(void) {
        int r = net_link_sweep_stale();
        if (r < 0)
                (void) log_debug_errno(r, "net-host: cannot sweep stale links, ignoring: %m");
        sweep_tables();
}
