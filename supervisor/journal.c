/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal writer: segments, the lock, rotation, torn-tail recovery.
 *
 * Lock design: every append takes flock(LOCK_EX) on DIR/journal.lock (a file
 * that is never rotated) and, under it, (1) moves to the newest segment if
 * another process rotated, (2) reads the last record's seq and hash from
 * the segment's tail on disk (never from memory: another process may have
 * appended), (3) seals a torn tail with a recovery record, (4) rotates when
 * the segment is full, (5) writes the record with one write() on an
 * O_APPEND fd. flock locks belong to the open file description, so threads
 * sharing one Journal must serialise calls themselves. The lock file also
 * holds a hint to the newest segment, so that an open need not list the
 * directory (open_newest_segment()). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "basic/sha256.h"
#include "journal-internal.h"
#include "journal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

struct Journal {
        char *dir;
        int dirfd;
        int lockfd;
        int segfd;
        unsigned segno;
        JournalOptions opts;
        bool append_only;
        bool dirty;
        uint64_t last_sync_usec;
};

/* What the end of a segment looks like. */
typedef struct Tail {
        uint64_t size;
        bool valid;           /* a valid record was found in this segment */
        uint64_t seq;         /* of the last valid record (or the chain's, see chain_tail) */
        char hash[65];
        uint64_t valid_end;   /* offset just after the last valid record's '\n' */
        bool ends_newline;
        bool unterminated_ok; /* the last line is a whole record missing only its '\n' */
} Tail;

static uint64_t now_usec(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

/* The line that ends at 'end' (exclusive, not counting its '\n'): *ret_start. */
static int line_start_before(int fd, uint64_t end, uint64_t *ret_start) {
        _cleanup_free_ char *buf = NULL;
        size_t window = 4096;

        for (;;) {
                uint64_t ws = end > window ? end - window : 0;
                size_t n = (size_t) (end - ws);
                char *nb, *p;
                ssize_t k;

                nb = realloc(buf, n ? n : 1);
                if (!nb)
                        return -ENOMEM;
                buf = nb;
                k = pread(fd, buf, n, (off_t) ws);
                if (k < 0)
                        return -errno;
                if ((size_t) k != n)
                        return -EIO; /* the file shrank: someone truncated it */
                p = memrchr(buf, '\n', n);
                if (p) {
                        *ret_start = ws + (uint64_t) (p - buf) + 1;
                        return 0;
                }
                if (ws == 0) {
                        *ret_start = 0;
                        return 0;
                }
                if (window > JOURNAL_LINE_MAX)
                        return -EBADMSG;
                window *= 4;
        }
}

static int read_range(int fd, uint64_t off, size_t n, char **ret) {
        _cleanup_free_ char *buf = malloc(n + 1);
        ssize_t k;

        if (!buf)
                return -ENOMEM;
        k = pread(fd, buf, n, (off_t) off);
        if (k < 0)
                return -errno;
        if ((size_t) k != n)
                return -EIO;
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Reads the tail: walks back over lines that are not records. */
static int tail_scan(int fd, Tail *ret) {
        Tail t = {};
        struct stat st;
        uint64_t end;
        /* Room for the records a run writes (exit ~600 bytes, admission
         * ~700, start ~950), and no more: with 4 KiB the frame reached
         * stack pages that are cold at this depth, and an open of the
         * journal took ~14 us longer (tests/bench/startup). */
        char window[1024], *nl;
        size_t w, e;
        ssize_t k;
        int r;

        if (fstat(fd, &st) < 0)
                return -errno;
        t.size = (uint64_t) st.st_size;
        if (t.size == 0) {
                t.ends_newline = true;
                *ret = t;
                return 0;
        }
        /* One read for the common case, a last line as we write them that
         * fits in the window; anything else is walked below. */
        w = t.size < sizeof window ? (size_t) t.size : sizeof window;
        k = pread(fd, window, w, (off_t) (t.size - w));
        if (k < 0)
                return -errno;
        if ((size_t) k != w)
                return -EIO; /* the file shrank: someone truncated it */
        t.ends_newline = window[w - 1] == '\n';
        end = t.ends_newline ? t.size - 1 : t.size;
        e = t.ends_newline ? w - 1 : w;
        nl = memrchr(window, '\n', e);
        if (nl || w == t.size) {
                size_t start = nl ? (size_t) (nl - window) + 1 : 0;
                if (journal_record_peek(window + start, e - start, &t.seq, t.hash) >= 0) {
                        t.valid = true;
                        t.valid_end = t.size;
                        t.unterminated_ok = !t.ends_newline;
                        *ret = t;
                        return 0;
                }
        }

        for (;;) {
                _cleanup_free_ char *line = NULL;
                JournalRecord rec = {};
                uint64_t start;
                char err[128];

                r = line_start_before(fd, end, &start);
                if (r < 0)
                        return r;
                r = read_range(fd, start, (size_t) (end - start), &line);
                if (r < 0)
                        return r;
                /* The common case, a record as we write them: no JSON parse
                 * (whose first use in a process costs more than the rest). */
                if (journal_record_peek(line, (size_t) (end - start), &t.seq, t.hash) >= 0) {
                        bool last_line = end == t.size;
                        t.valid = true;
                        t.valid_end = last_line ? t.size : end + 1;
                        t.unterminated_ok = last_line;
                        break;
                }
                if (journal_record_parse(line, (size_t) (end - start), &rec, err, sizeof err) >= 0) {
                        bool last_line = end == t.size;
                        if (!last_line || journal_record_hash_ok(line, (size_t) (end - start), NULL)) {
                                t.valid = true;
                                t.seq = rec.seq;
                                snprintf(t.hash, sizeof t.hash, "%s", rec.hash);
                                t.valid_end = last_line ? t.size : end + 1;
                                t.unterminated_ok = last_line;
                                journal_record_done(&rec);
                                break;
                        }
                        journal_record_done(&rec);
                }
                if (start == 0)
                        break;
                end = start - 1;
        }
        *ret = t;
        return 0;
}

static int open_segment(Journal *j, unsigned n, bool create) {
        char name[JOURNAL_SEGMENT_NAME_MAX];
        int fd, flags = 0;
        bool got;

        journal_segment_name(n, name);
        fd = openat(j->dirfd, name,
                    O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT | O_EXCL : 0), 0600);
        if (fd < 0 && create && errno == EEXIST)
                fd = openat(j->dirfd, name, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (create)
                (void) fsync(j->dirfd);
        got = ioctl(fd, FS_IOC_GETFLAGS, &flags) >= 0;
        if (got && !(flags & FS_APPEND_FL) && j->opts.set_append_flag) {
                flags |= FS_APPEND_FL;
                if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
                        log_debug_errno(-errno, "journal: cannot set FS_APPEND_FL on %s, ignoring: %m", name);
                /* What the file says, not what we asked for. */
                flags = 0;
                got = ioctl(fd, FS_IOC_GETFLAGS, &flags) >= 0;
        }
        j->append_only = got && (flags & FS_APPEND_FL);
        (void) safe_close(j->segfd);
        j->segfd = fd;
        j->segno = n;
        return 0;
}

/* The hint in the lock file (journal-def.h): fixed width, so that a
 * shorter one never leaves bytes of a longer one behind. */
#define HINT_LEN (10 + 1 + 20 + 1 + 9 + 1)

static void hint_format(char ret[HINT_LEN + 1], unsigned n, const struct timespec *dir_mtime) {
        (void) snprintf(ret, HINT_LEN + 1, "%010u %020lld.%09ld\n", n, (long long) dir_mtime->tv_sec,
                        dir_mtime->tv_nsec);
}

/* Lock held. The newest segment, if the hint was written when the
 * directory had the mtime it has now. */
static int hint_read(Journal *j, const struct timespec *dir_mtime, unsigned *ret) {
        char got[HINT_LEN], want[HINT_LEN + 1];
        unsigned long n = 0;

        if (pread(j->lockfd, got, sizeof got, 0) != (ssize_t) sizeof got)
                return -ENODATA;
        hint_format(want, 0, dir_mtime);
        if (memcmp(got + 10, want + 10, HINT_LEN - 10) != 0)
                return -ESTALE;
        for (size_t i = 0; i < 10; i++) {
                if (got[i] < '0' || got[i] > '9')
                        return -EBADMSG;
                n = n * 10 + (unsigned long) (got[i] - '0');
        }
        if (n < 1 || n > UINT_MAX)
                return -EBADMSG;
        *ret = (unsigned) n;
        return 0;
}

/* Lock held. Records the current segment as the newest one; dir_mtime
 * must have been read before the segments were listed, so that any change
 * after that makes the hint stale rather than wrong. NULL: the directory's
 * mtime now, for a segment we just created or catch_up() found (a newer
 * one would be found the same way). */
static void hint_write(Journal *j, const struct timespec *dir_mtime) {
        char buf[HINT_LEN + 1];
        struct stat st;

        if (!dir_mtime) {
                if (fstat(j->dirfd, &st) < 0)
                        return; /* the hint stays stale: the next open lists */
                dir_mtime = &st.st_mtim;
        }
        hint_format(buf, j->segno, dir_mtime);
        if (pwrite(j->lockfd, buf, HINT_LEN, 0) != HINT_LEN)
                log_debug_errno(errno > 0 ? -errno : -EIO, "journal: cannot write the segment hint, ignoring: %m");
}

/* Lock held: opens the newest segment, creating the first. Listing the
 * directory cost more than the rest of an open (cold readdir code in the
 * kernel and here, on every `stockade run`), so the hint is used while the
 * directory's mtime says that no file was added or removed since it was
 * written; a rotation by another writer after that is followed by
 * catch_up(). Anything else falls back to listing. */
static int open_newest_segment(Journal *j, const struct timespec *dir_mtime) {
        _cleanup_free_ unsigned *segs = NULL;
        unsigned hint;
        int r, n;

        if (hint_read(j, dir_mtime, &hint) >= 0) {
                r = open_segment(j, hint, false);
                if (r != -ENOENT)
                        return r;
        }
        n = journal_segments_list(j->dirfd, &segs);
        if (n < 0)
                return n;
        r = open_segment(j, n > 0 ? segs[n - 1] : 1, n == 0);
        if (r < 0)
                return r;
        hint_write(j, n > 0 ? dir_mtime : NULL);
        return 0;
}

/* Another process may have rotated: follow to the newest segment. */
static int catch_up(Journal *j) {
        for (bool moved = false;; moved = true) {
                char name[JOURNAL_SEGMENT_NAME_MAX];
                int r;

                journal_segment_name(j->segno + 1, name);
                if (faccessat(j->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT)
                                return -errno;
                        if (moved) /* the hint was behind: the next open need not follow too */
                                hint_write(j, NULL);
                        return 0;
                }
                r = open_segment(j, j->segno + 1, false);
                if (r < 0)
                        return r;
        }
}

/* The last valid record of the chain before segment n (seq 0 and the zero
 * hash when there is none). */
static int chain_tail_before(Journal *j, unsigned n, uint64_t *ret_seq, char ret_hash[65]) {
        for (unsigned k = n - 1; k >= 1; k--) {
                char name[JOURNAL_SEGMENT_NAME_MAX];
                _cleanup_close_ int fd = -EBADF;
                Tail t;
                int r;

                journal_segment_name(k, name);
                fd = openat(j->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0) {
                        if (errno == ENOENT)
                                break; /* older segments removed: the chain starts afresh */
                        return -errno;
                }
                r = tail_scan(fd, &t);
                if (r < 0)
                        return r;
                if (t.valid) {
                        *ret_seq = t.seq;
                        memcpy(ret_hash, t.hash, 65);
                        return 0;
                }
        }
        *ret_seq = 0;
        memcpy(ret_hash, JOURNAL_HASH_ZERO, 65);
        return 0;
}

static int sync_now(Journal *j) {
        if (j->segfd < 0 || !j->dirty)
                return 0;
        if (fdatasync(j->segfd) < 0)
                return -errno;
        j->dirty = false;
        j->last_sync_usec = now_usec();
        return 0;
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Writes one record after t (which is updated). Lock held. */
static int write_record(Journal *j, Tail *t, const char *type, const char *request_id, json_object *fields) {
        _cleanup_free_ char *line = NULL;
        char ts[JOURNAL_TS_LEN + 1], hash[65];
        size_t len;
        int r;

        journal_timestamp(ts);
        r = journal_record_build(t->seq + 1, ts, request_id, type, fields, t->hash, &line, &len, hash);
        if (r < 0)
                return r;
        r = write_all(j->segfd, line, len);
        if (r < 0)
                return r;
        t->seq++;
        memcpy(t->hash, hash, sizeof hash);
        t->size += len;
        t->valid = true;
        j->dirty = true;
        if (j->opts.fsync == JOURNAL_FSYNC_ALWAYS ||
            (j->opts.fsync == JOURNAL_FSYNC_BATCH && now_usec() - j->last_sync_usec >= j->opts.batch_interval_usec))
                return sync_now(j);
        return 0;
}

static int write_segment_header(Journal *j, Tail *t) {
        _cleanup_(json_object_putp) json_object *f = json_object_new_object();
        char prev_name[JOURNAL_SEGMENT_NAME_MAX];

        if (!f)
                return -ENOMEM;
        journal_segment_name(j->segno - 1, prev_name);
        if (json_object_object_add(f, JOURNAL_FIELD_PREV_SEGMENT, json_object_new_string(prev_name)) < 0 ||
            json_object_object_add(f, JOURNAL_FIELD_PREV_SEGMENT_SEQ, json_object_new_int64((int64_t) t->seq)) < 0 ||
            json_object_object_add(f, JOURNAL_FIELD_PREV_SEGMENT_HASH, json_object_new_string(t->hash)) < 0)
                return -ENOMEM;
        return write_record(j, t, JOURNAL_TYPE_SEGMENT, NULL, f);
}

/* Seals whatever follows the last valid record of the current segment. */
static int recover(Journal *j, Tail *t, bool *ret_recovered) {
        _cleanup_(json_object_putp) json_object *f = NULL;
        _cleanup_free_ char *torn = NULL;
        char name[JOURNAL_SEGMENT_NAME_MAX], hex[65];
        uint64_t off, len, lineno = 1;
        int r;

        if (!t->ends_newline) {
                r = write_all(j->segfd, "\n", 1);
                if (r < 0)
                        return r;
                t->size++;
                t->ends_newline = true;
                j->dirty = true;
        }
        off = t->valid ? t->valid_end : 0;
        if (t->unterminated_ok || off + 1 >= t->size) /* nothing torn, or only the missing '\n' */
                return 0;
        len = t->size - 1 - off;
        if (len > SIZE_MAX - 1)
                return -EFBIG;

        journal_segment_name(j->segno, name);
        if (off > 0) {
                _cleanup_free_ char *head = NULL;
                r = read_range(j->segfd, 0, (size_t) off, &head); /* only on recovery */
                if (r < 0)
                        return r;
                for (uint64_t i = 0; i < off; i++)
                        lineno += head[i] == '\n';
        }
        r = read_range(j->segfd, off, (size_t) len, &torn);
        if (r < 0)
                return r;
        (void) sha256_hex(torn, (size_t) len, hex);
        log_warning("journal: %s/%s: torn record at byte %llu (line %llu, %llu bytes, sha256 %s), "
                    "sealing it with a recovery record",
                    j->dir, name, (unsigned long long) off, (unsigned long long) lineno, (unsigned long long) len,
                    hex);

        if (!t->valid) {
                r = chain_tail_before(j, j->segno, &t->seq, t->hash);
                if (r < 0)
                        return r;
        }
        f = json_object_new_object();
        if (!f)
                return -ENOMEM;
        if (json_object_object_add(f, JOURNAL_FIELD_TORN_SEGMENT, json_object_new_string(name)) < 0 ||
            json_object_object_add(f, JOURNAL_FIELD_TORN_OFFSET, json_object_new_int64((int64_t) off)) < 0 ||
            json_object_object_add(f, JOURNAL_FIELD_TORN_LENGTH, json_object_new_int64((int64_t) len)) < 0 ||
            json_object_object_add(f, JOURNAL_FIELD_TORN_SHA256, json_object_new_string(hex)) < 0 ||
            json_object_object_add(f, JOURNAL_FIELD_TORN_LINE, json_object_new_int64((int64_t) lineno)) < 0)
                return -ENOMEM;
        r = write_record(j, t, JOURNAL_TYPE_RECOVERY, NULL, f);
        if (r < 0)
                return r;
        if (ret_recovered)
                *ret_recovered = true;
        return 0;
}

/* Lock held: the current segment's tail, repaired, with a header. */
static int prepare_tail(Journal *j, Tail *t, bool *ret_recovered) {
        int r;

        r = catch_up(j);
        if (r < 0)
                return r;
        r = tail_scan(j->segfd, t);
        if (r < 0)
                return r;
        if (!t->ends_newline || (t->valid ? t->valid_end : 0) < t->size) {
                r = recover(j, t, ret_recovered);
                if (r < 0)
                        return r;
        }
        if (t->size == 0) {
                /* A new segment (or one whose creator died before its header). */
                r = chain_tail_before(j, j->segno, &t->seq, t->hash);
                if (r < 0)
                        return r;
                if (j->segno > 1)
                        return write_segment_header(j, t);
        }
        return 0;
}

static int rotate(Journal *j, Tail *t) {
        int r;

        r = sync_now(j);
        if (r < 0)
                return r;
        r = open_segment(j, j->segno + 1, true);
        if (r < 0)
                return r;
        hint_write(j, NULL);
        /* The new segment is empty; the chain continues from t's seq and hash. */
        t->size = 0;
        t->valid = false;
        t->valid_end = 0;
        t->ends_newline = true;
        t->unterminated_ok = false;
        return 0;
}

static int lock_journal(Journal *j) {
        while (flock(j->lockfd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

static void unlock_journal(Journal *j) {
        (void) flock(j->lockfd, LOCK_UN);
}

int journal_append(Journal *j, const char *type, const char *request_id, json_object *fields, uint64_t *ret_seq) {
        Tail t;
        int r;

        if (!j || !type || !*type)
                return -EINVAL;
        r = lock_journal(j);
        if (r < 0)
                return r;
        r = prepare_tail(j, &t, NULL);
        if (r >= 0 && t.size >= j->opts.segment_max_bytes) {
                r = rotate(j, &t);
                if (r >= 0)
                        r = write_segment_header(j, &t);
        }
        if (r >= 0)
                r = write_record(j, &t, type, request_id, fields);
        unlock_journal(j);
        if (r < 0)
                return r;
        if (ret_seq)
                *ret_seq = t.seq;
        return 0;
}

static int mkdir_parents(const char *path) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        return 0;
}

Journal *journal_close(Journal *j) {
        if (!j)
                return NULL;
        if (j->opts.fsync != JOURNAL_FSYNC_NEVER)
                (void) journal_flush(j);
        (void) safe_close(j->segfd);
        (void) safe_close(j->lockfd);
        (void) safe_close(j->dirfd);
        free(j->dir);
        free(j);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Journal *, journal_close);

int journal_open(const char *dir, const JournalOptions *opts, Journal **ret, bool *ret_recovered) {
        _cleanup_(journal_closep) Journal *j = NULL;
        bool recovered = false;
        struct stat st;
        Tail t;
        int r;

        if (!ret)
                return -EINVAL;
        if (!dir)
                dir = JOURNAL_DIR_DEFAULT;
        if (opts && (opts->fsync < 0 || opts->fsync >= _JOURNAL_FSYNC_MAX))
                return -EINVAL;
        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        *j = (Journal) {
                .dirfd = -EBADF,
                .lockfd = -EBADF,
                .segfd = -EBADF,
                .opts = opts ? *opts : JOURNAL_OPTIONS_DEFAULT,
                .last_sync_usec = now_usec(),
        };
        if (j->opts.batch_interval_usec == 0)
                j->opts.batch_interval_usec = JOURNAL_BATCH_INTERVAL_DEFAULT_USEC;
        if (j->opts.segment_max_bytes == 0)
                j->opts.segment_max_bytes = JOURNAL_SEGMENT_MAX_DEFAULT;
        j->dir = strdup(dir);
        if (!j->dir)
                return -ENOMEM;

        /* The directory exists on every run but the first: try it first. */
        j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (j->dirfd < 0 && errno == ENOENT) {
                r = mkdir_parents(dir);
                if (r < 0)
                        return r;
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return -errno;
                j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        }
        if (j->dirfd < 0)
                return -errno;
        if (fstat(j->dirfd, &st) < 0)
                return -errno;
        if ((st.st_mode & S_IWOTH) || (st.st_uid != 0 && st.st_uid != geteuid())) {
                log_error("journal: %s is writable by others or owned by another user, refusing", dir);
                return -EPERM;
        }
        j->lockfd = openat(j->dirfd, JOURNAL_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (j->lockfd < 0)
                return -errno;

        r = lock_journal(j);
        if (r < 0)
                return r;
        r = open_newest_segment(j, &st.st_mtim);
        if (r >= 0)
                r = prepare_tail(j, &t, &recovered);
        if (r >= 0 && recovered)
                r = sync_now(j);
        unlock_journal(j);
        if (r < 0)
                return r;
        if (ret_recovered)
                *ret_recovered = recovered;
        *ret = TAKE_PTR(j);
        return 0;
}

int journal_flush(Journal *j) {
        /* Only our own appends are ours to make durable. */
        if (!j || j->segfd < 0 || !j->dirty)
                return 0;
        if (fsync(j->segfd) < 0)
                return -errno;
        j->dirty = false;
        j->last_sync_usec = now_usec();
        return 0;
}

bool journal_append_only(const Journal *j) {
        return j && j->append_only;
}

const char *journal_dir(const Journal *j) {
        return j ? j->dir : NULL;
}
