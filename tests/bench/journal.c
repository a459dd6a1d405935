/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-journal: what journaling costs.
 *
 *   append batch    records/s with JOURNAL_FSYNC_BATCH (1 s interval)
 *   append always   records/s with JOURNAL_FSYNC_ALWAYS (fdatasync each)
 *   verify          journal_verify() throughput in MB/s over the batch journal
 *
 * Usage: bench-journal [--records N] [--dir PARENT]
 * Prints one "bench journal ..." line per figure. Exit 0; 1 when a step
 * fails or the journal does not verify; 2 on bad usage.
 */
#include <errno.h>
#include <ftw.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"

static double now_s(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) type;
        (void) ftw;
        return remove(p);
}

static int append_n(const char *dir, JournalFsync policy, long n, double *ret_rate, uint64_t *ret_bytes) {
        JournalOptions o = { .fsync = policy }; /* set_append_flag off: we delete the journal */
        Journal *j = NULL;
        double t0, t1;
        int r;

        r = journal_open(dir, &o, &j, NULL);
        if (r < 0)
                return r;
        t0 = now_s();
        for (long i = 0; i < n; i++) {
                json_object *f = json_object_new_object();
                json_object_object_add(f, "decision", json_object_new_string("allow"));
                json_object_object_add(f, "profile", json_object_new_string("python"));
                json_object_object_add(f, "n", json_object_new_int64(i));
                r = journal_append(j, "admission", "req-0123456789abcdef", f, NULL);
                json_object_put(f);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = journal_flush(j);
        t1 = now_s();
        j = journal_close(j);
        if (r < 0)
                return r;
        *ret_rate = (double) n / (t1 - t0);
        if (ret_bytes) {
                char p[PATH_MAX];
                struct stat st;
                (void) snprintf(p, sizeof p, "%s/journal-000001.jsonl", dir);
                *ret_bytes = stat(p, &st) == 0 ? (uint64_t) st.st_size : 0;
        }
        return 0;
}

int main(int argc, char **argv) {
        const char *parent = "/tmp";
        long n = 100000, n_always;
        char tmp[PATH_MAX], d1[PATH_MAX + 8], d2[PATH_MAX + 8];
        JournalVerdict v;
        double rate, t0, t1;
        uint64_t bytes = 0;
        int r, ret = 0;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
                        n = strtol(argv[++i], NULL, 10);
                else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
                        parent = argv[++i];
                else {
                        fprintf(stderr, "usage: bench-journal [--records N] [--dir PARENT]\n");
                        return 2;
                }
        }
        if (n < 1)
                return 2;
        n_always = n / 20 > 0 ? n / 20 : 1;
        (void) snprintf(tmp, sizeof tmp, "%s/bench-journal-XXXXXX", parent);
        if (!mkdtemp(tmp)) {
                perror("mkdtemp");
                return 1;
        }
        (void) snprintf(d1, sizeof d1, "%s/batch", tmp);
        (void) snprintf(d2, sizeof d2, "%s/always", tmp);

        r = append_n(d1, JOURNAL_FSYNC_BATCH, n, &rate, &bytes);
        if (r < 0) {
                fprintf(stderr, "append batch: %s\n", strerror(-r));
                ret = 1;
                goto out;
        }
        printf("bench journal append fsync=batch records=%ld rate=%.0f records/s\n", n, rate);

        r = append_n(d2, JOURNAL_FSYNC_ALWAYS, n_always, &rate, NULL);
        if (r < 0) {
                fprintf(stderr, "append always: %s\n", strerror(-r));
                ret = 1;
                goto out;
        }
        printf("bench journal append fsync=always records=%ld rate=%.0f records/s\n", n_always, rate);

        t0 = now_s();
        r = journal_verify(d1, &v);
        t1 = now_s();
        if (r < 0 || v.damage != JOURNAL_INTACT) {
                fprintf(stderr, "verify: %s %s\n", r < 0 ? strerror(-r) : journal_damage_to_string(v.damage), v.detail);
                ret = 1;
                goto out;
        }
        printf("bench journal verify bytes=%llu records=%llu rate=%.1f MB/s\n", (unsigned long long) bytes,
               (unsigned long long) v.records, (double) bytes / 1e6 / (t1 - t0));
out:
        (void) nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return ret;
}
