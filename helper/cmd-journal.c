/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stockade journal verify|show|follow: the journal reader (stockade-journal(5)). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "basic/macro.h"
#include "commands.h"
#include "journal-def.h"
#include "journal-internal.h"
#include "journal-render.h"
#include "journal.h"

static const char usage[] =
        "usage: stockade journal verify [--journal DIR] [DIR|FILE]\n"
        "       stockade journal show [--request-id R] [--since T] [--until T] [--type X] [--top N] [--json] [DIR]\n"
        "       stockade journal follow [DIR]\n"
        "       stockade journal replay [--journal DIR] REQUEST_ID\n"
        "\n"
        "DIR defaults to " JOURNAL_DIR_DEFAULT ". verify exits 0 when the chain is intact,\n"
        "1 with FILE:LINE: seq N: KIND: DETAIL for the first bad record. show prints a\n"
        "timeline per request (--json: the raw records); --since/--until compare with\n"
        "ts as strings (a prefix such as 2026-11-26 works; --until is exclusive).\n"
        "With --request-id, the request's process tree and syscall table follow its\n"
        "records (--top N syscalls, default 15).\n"
        "follow streams new records until SIGINT/SIGTERM. replay re-runs a recorded\n"
        "request in audit mode and compares the outcomes (0 same, 1 different).\n"
        "Usage errors exit 125.\n"
        "See stockade-journal(5).\n";

typedef struct Args {
        const char *path;
        const char *request_id, *since, *until, *type;
        unsigned top;
        bool json;
} Args;

static int parse_args(int argc, char **argv, bool filters, Args *ret) {
        static const struct option opts[] = {
                { "journal", required_argument, NULL, 'j' },    { "request-id", required_argument, NULL, 'r' },
                { "since", required_argument, NULL, 's' },      { "until", required_argument, NULL, 'u' },
                { "type", required_argument, NULL, 't' },       { "json", no_argument, NULL, 'J' },
                { "top", required_argument, NULL, 'n' },        { "help", no_argument, NULL, 'h' },
                {},
        };
        Args a = { .path = JOURNAL_DIR_DEFAULT, .top = JOURNAL_RENDER_TOP_DEFAULT };
        int c;

        optind = 1;
        opterr = 1;
        while ((c = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
                if (c == 'j')
                        a.path = optarg;
                else if (c == 'h') {
                        fputs(usage, stdout);
                        return 0;
                } else if (!filters || c == '?')
                        return -EINVAL;
                else if (c == 'r')
                        a.request_id = optarg;
                else if (c == 's')
                        a.since = optarg;
                else if (c == 'u')
                        a.until = optarg;
                else if (c == 't')
                        a.type = optarg;
                else if (c == 'J')
                        a.json = true;
                else if (c == 'n') {
                        char *end;
                        unsigned long v;

                        errno = 0;
                        v = strtoul(optarg, &end, 10);
                        if (errno || end == optarg || *end || optarg[0] == '-' || v > 100000)
                                return -EINVAL;
                        a.top = (unsigned) v;
                }
        }
        if (optind < argc)
                a.path = argv[optind++];
        if (optind < argc)
                return -EINVAL;
        *ret = a;
        return 1;
}

static int journal_verify_cmd(const Args *a) {
        JournalVerdict v;
        int r = journal_verify(a->path, &v);

        if (r < 0) {
                fprintf(stderr, "stockade: journal verify: %s: %s\n", a->path, strerror(-r));
                return EXIT_WRAPPER_FAILED;
        }
        if (v.damage != JOURNAL_INTACT) {
                printf("%s:%llu: seq %llu: %s: %s\n", v.file, (unsigned long long) v.line, (unsigned long long) v.seq,
                       journal_damage_to_string(v.damage), v.detail);
                return 1;
        }
        printf("%s: intact, %llu records in %llu segments\n", a->path, (unsigned long long) v.records,
               (unsigned long long) v.segments);
        return 0;
}

static const char *str_field(json_object *o, const char *k) {
        json_object *x;
        if (!json_object_object_get_ex(o, k, &x) || !json_object_is_type(x, json_type_string))
                return NULL;
        return json_object_get_string(x);
}

typedef struct Shown {
        const Args *args;
        json_object **recs;
        size_t n, alloc;
} Shown;

static int collect(json_object *rec, const char *line, size_t len, void *userdata) {
        Shown *s = userdata;
        const char *rid = str_field(rec, JOURNAL_KEY_REQUEST_ID), *ts = str_field(rec, JOURNAL_KEY_TS),
                   *type = str_field(rec, JOURNAL_KEY_TYPE);

        if (s->args->request_id && (!rid || !streq(rid, s->args->request_id)))
                return 0;
        if (s->args->type && (!type || !streq(type, s->args->type)))
                return 0;
        if (s->args->since && (!ts || strcmp(ts, s->args->since) < 0))
                return 0;
        if (s->args->until && (!ts || strcmp(ts, s->args->until) >= 0))
                return 0;
        if (s->args->json) {
                fwrite(line, 1, len, stdout);
                fputc('\n', stdout);
                return 0;
        }
        if (s->n == s->alloc) {
                size_t na = s->alloc ? s->alloc * 2 : 256;
                json_object **nr = realloc(s->recs, na * sizeof *nr);
                if (!nr)
                        return -ENOMEM;
                s->recs = nr;
                s->alloc = na;
        }
        s->recs[s->n++] = json_object_get(rec);
        return 0;
}

static int journal_show_cmd(const Args *a) {
        Shown s = { .args = a };
        int r = journal_foreach(a->path, collect, &s);

        if (r < 0) {
                fprintf(stderr, "stockade: journal show: %s: %s\n", a->path, strerror(-r));
                r = EXIT_WRAPPER_FAILED;
        } else if (!a->json) {
                /* One block per request, in order of its first record; then the rest. */
                bool *done = calloc(s.n ? s.n : 1, sizeof *done);
                if (!done)
                        return EXIT_WRAPPER_FAILED;
                for (size_t i = 0; i < s.n; i++) {
                        const char *rid = str_field(s.recs[i], JOURNAL_KEY_REQUEST_ID);
                        if (done[i])
                                continue;
                        printf("%srequest %s\n", i ? "\n" : "", rid ? rid : "(none: supervisor and journal records)");
                        for (size_t k = i; k < s.n; k++) {
                                const char *rk = str_field(s.recs[k], JOURNAL_KEY_REQUEST_ID);
                                if (done[k] || !(rid ? rk && streq(rk, rid) : !rk))
                                        continue;
                                done[k] = true;
                                journal_render_record(stdout, s.recs[k]);
                        }
                }
                free(done);
                /* One request: its process tree and syscall table. */
                if (a->request_id)
                        journal_render_summary(stdout, s.recs, s.n, a->top);
                r = 0;
        }
        for (size_t i = 0; i < s.n; i++)
                json_object_put(s.recs[i]);
        free(s.recs);
        return r;
}

/* follow: the newest segment from its end, then what is appended. */
static int newest_segment(const char *dir, unsigned *ret) {
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ unsigned *list = NULL;
        int n;

        if (dfd < 0)
                return -errno;
        n = journal_segments_list(dfd, &list);
        if (n < 0)
                return n;
        *ret = n > 0 ? list[n - 1] : 0;
        return 0;
}

/* Prints the complete lines of dir/segment n from *offset on. */
static int drain(const char *dir, unsigned n, uint64_t *offset) {
        char name[JOURNAL_SEGMENT_NAME_MAX], path[4096 + JOURNAL_SEGMENT_NAME_MAX];
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t cap = 0;
        ssize_t k;

        journal_segment_name(n, name);
        (void) snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        if (fseeko(f, (off_t) *offset, SEEK_SET) < 0)
                return -errno;
        while ((k = getline(&buf, &cap, f)) > 0) {
                if (buf[k - 1] != '\n')
                        break; /* not complete yet */
                fwrite(buf, 1, (size_t) k, stdout);
                *offset += (uint64_t) k;
        }
        fflush(stdout);
        return 0;
}

static int journal_follow_cmd(const Args *a) {
        _cleanup_close_ int ifd = -EBADF, sfd = -EBADF;
        uint64_t offset = 0;
        unsigned cur = 0;
        struct stat st;
        sigset_t mask;
        int r;

        r = newest_segment(a->path, &cur);
        if (r < 0) {
                fprintf(stderr, "stockade: journal follow: %s: %s\n", a->path, strerror(-r));
                return EXIT_WRAPPER_FAILED;
        }
        if (cur > 0) {
                char name[JOURNAL_SEGMENT_NAME_MAX], path[4096 + JOURNAL_SEGMENT_NAME_MAX];
                journal_segment_name(cur, name);
                (void) snprintf(path, sizeof path, "%s/%s", a->path, name);
                if (stat(path, &st) == 0)
                        offset = (uint64_t) st.st_size;
        } else
                cur = 1;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0 ||
            (ifd = inotify_init1(IN_CLOEXEC)) < 0 ||
            inotify_add_watch(ifd, a->path, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF) < 0) {
                fprintf(stderr, "stockade: journal follow: %s: %m\n", a->path);
                return EXIT_WRAPPER_FAILED;
        }
        for (;;) {
                struct pollfd p[2] = { { .fd = ifd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
                char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
                unsigned newest = 0;

                /* Drain the current segment, then move on while newer ones exist (rotation). */
                for (;;) {
                        r = drain(a->path, cur, &offset);
                        if (r < 0)
                                break;
                        r = newest_segment(a->path, &newest);
                        if (r < 0 || newest <= cur)
                                break;
                        r = drain(a->path, cur, &offset); /* what came before the rotation */
                        cur++;
                        offset = 0;
                }
                if (r < 0) {
                        fprintf(stderr, "stockade: journal follow: %s\n", strerror(-r));
                        return EXIT_WRAPPER_FAILED;
                }
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return EXIT_WRAPPER_FAILED;
                }
                if (p[1].revents)
                        return 0;
                if (p[0].revents && read(ifd, ev, sizeof ev) < 0 && errno != EAGAIN && errno != EINTR)
                        return EXIT_WRAPPER_FAILED;
        }
}

int cmd_journal(int argc, char **argv) {
        Args a;
        int r;

        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                fputs(usage, argc < 2 ? stderr : stdout);
                return argc < 2 ? EXIT_WRAPPER_FAILED : 0;
        }
        if (streq(argv[1], "replay"))
                return cmd_journal_replay(argc - 1, argv + 1);
        r = parse_args(argc - 1, argv + 1, streq(argv[1], "show"), &a);
        if (r == 0)
                return 0;
        if (r < 0) {
                fprintf(stderr, "stockade: journal %s: bad arguments; see 'stockade journal --help'\n", argv[1]);
                return EXIT_WRAPPER_FAILED;
        }
        if (streq(argv[1], "verify"))
                return journal_verify_cmd(&a);
        if (streq(argv[1], "show"))
                return journal_show_cmd(&a);
        if (streq(argv[1], "follow"))
                return journal_follow_cmd(&a);
        fprintf(stderr, "stockade: unknown journal command '%s'; see 'stockade journal --help'\n", argv[1]);
        return EXIT_WRAPPER_FAILED;
}
