/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-proto.h"

static void pair(int sv[2]) {
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void set_nonblock(int fd) {
        ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

static size_t count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        size_t n = 0;
        ck_assert_ptr_nonnull(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static void write_all(int fd, const void *p, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                ck_assert_int_gt(n, 0);
                p = (const char *) p + n;
                len -= (size_t) n;
        }
}

static void put_header(uint8_t hdr[4], uint32_t len) {
        hdr[0] = (uint8_t) (len >> 24);
        hdr[1] = (uint8_t) (len >> 16);
        hdr[2] = (uint8_t) (len >> 8);
        hdr[3] = (uint8_t) len;
}

/* A raw frame: a header saying len, then body (len bytes of it). */
static void write_frame(int fd, const char *body, size_t len) {
        uint8_t hdr[4];
        put_header(hdr, (uint32_t) len);
        write_all(fd, hdr, sizeof hdr);
        write_all(fd, body, len);
}

/* Sends bytes with fds attached (SCM_RIGHTS). */
static ssize_t send_with_fds(int fd, const void *p, size_t len, const int *fds, size_t n_fds) {
        char control[CMSG_SPACE(sizeof(int) * 253)] = {};
        struct iovec iov = { (void *) p, len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (n_fds > 0) {
                struct cmsghdr *c;
                mh.msg_control = control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

/* Feeds a whole frame from a blocking socket and takes it. */
static int read_one(int fd, json_object **ret, int *fds, size_t *n_fds, char *err, size_t errlen) {
        ProtoReader r = PROTO_READER_NULL;
        bool mid = false;
        int k = proto_reader_feed(&r, fd, &mid);
        if (k == 1)
                k = proto_reader_take(&r, ret, fds, n_fds, err, errlen);
        proto_reader_done(&r);
        return k;
}

static int read_raw(const char *body, size_t len, char *err, size_t errlen) {
        int sv[2];
        json_object *msg = NULL;
        int fds[PROTO_MAX_FDS];
        size_t n = 0;
        int k;

        pair(sv);
        write_frame(sv[0], body, len);
        k = read_one(sv[1], &msg, fds, &n, err, errlen);
        json_object_put(msg);
        close(sv[0]);
        close(sv[1]);
        return k;
}

static bool same_file(int a, int b) {
        struct stat sa, sb;
        ck_assert_int_eq(fstat(a, &sa), 0);
        ck_assert_int_eq(fstat(b, &sb), 0);
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

START_TEST(test_roundtrip) {
        int sv[2], fds[2], got[PROTO_MAX_FDS];
        size_t n = 99;
        char err[256] = "";
        json_object *msg = proto_message("started"), *back = NULL, *v;

        pair(sv);
        fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        fds[1] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fds[0], 0);
        ck_assert_int_ge(fds[1], 0);
        json_object_object_add(msg, "request_id", json_object_new_string("r-1"));
        json_object_object_add(msg, "text", json_object_new_string("ünïcode \"quoted\" \n"));
        ck_assert_int_eq(proto_send(sv[0], msg, fds, 2), 0);
        /* "v" was added to the message itself. */
        ck_assert(json_object_object_get_ex(msg, "v", &v));
        ck_assert_int_eq(json_object_get_int(v), PROTO_VERSION);

        ck_assert_int_eq(read_one(sv[1], &back, got, &n, err, sizeof err), 0);
        ck_assert_str_eq(proto_type(back), "started");
        ck_assert_str_eq(json_object_get_string(json_object_object_get(back, "request_id")), "r-1");
        ck_assert_str_eq(json_object_get_string(json_object_object_get(back, "text")), "ünïcode \"quoted\" \n");
        ck_assert_uint_eq(n, 2);
        ck_assert(same_file(got[0], fds[0]));
        ck_assert(same_file(got[1], fds[1]));
        /* MSG_CMSG_CLOEXEC */
        ck_assert(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
        ck_assert(fcntl(got[1], F_GETFD) & FD_CLOEXEC);

        close(got[0]);
        close(got[1]);
        close(fds[0]);
        close(fds[1]);
        json_object_put(msg);
        json_object_put(back);
        close(sv[0]);
        close(sv[1]);
}
END_TEST

/* Two frames back to back, the fds on the second: they must not be
 * credited to the first. */
START_TEST(test_fds_stay_with_their_frame) {
        int sv[2], fd, got[PROTO_MAX_FDS];
        size_t n = 99;
        char err[256];
        json_object *a = proto_message("one"), *b = proto_message("two"), *back = NULL;
        ProtoReader r = PROTO_READER_NULL;

        pair(sv);
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ck_assert_int_eq(proto_send(sv[0], a, NULL, 0), 0);
        ck_assert_int_eq(proto_send(sv[0], b, &fd, 1), 0);

        ck_assert_int_eq(proto_reader_feed(&r, sv[1], NULL), 1);
        ck_assert_int_eq(proto_reader_take(&r, &back, got, &n, err, sizeof err), 0);
        ck_assert_str_eq(proto_type(back), "one");
        ck_assert_uint_eq(n, 0);
        json_object_put(back);

        ck_assert_int_eq(proto_reader_feed(&r, sv[1], NULL), 1);
        ck_assert_int_eq(proto_reader_take(&r, &back, got, &n, err, sizeof err), 0);
        ck_assert_str_eq(proto_type(back), "two");
        ck_assert_uint_eq(n, 1);
        ck_assert(same_file(got[0], fd));
        close(got[0]);
        json_object_put(back);
        proto_reader_done(&r);

        close(fd);
        json_object_put(a);
        json_object_put(b);
        close(sv[0]);
        close(sv[1]);
}
END_TEST

/* A non-blocking reader fed one byte at a time resumes mid-header and
 * mid-body. */
START_TEST(test_byte_at_a_time) {
        static const char body[] = "{\"type\":\"queued\",\"position\":3,\"v\":1}";
        int sv[2], fd, got[PROTO_MAX_FDS];
        uint8_t frame[4 + sizeof body - 1];
        ProtoReader r = PROTO_READER_NULL;
        json_object *back = NULL;
        size_t n = 0;
        char err[256];
        bool mid = true;

        pair(sv);
        set_nonblock(sv[1]);
        put_header(frame, sizeof body - 1);
        memcpy(frame + 4, body, sizeof body - 1);
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        ck_assert_int_eq(proto_reader_feed(&r, sv[1], &mid), 0); /* nothing yet */
        ck_assert(!mid);
        for (size_t i = 0; i < sizeof frame; i++) {
                ck_assert_int_eq(send_with_fds(sv[0], frame + i, 1, &fd, i == 0 ? 1 : 0), 1);
                int k = proto_reader_feed(&r, sv[1], &mid);
                ck_assert_int_eq(k, i + 1 == sizeof frame ? 1 : 0);
                if (i < 3)
                        ck_assert_ptr_null(r.buf); /* no body buffer before the length is known */
        }
        ck_assert_int_eq(proto_reader_take(&r, &back, got, &n, err, sizeof err), 0);
        ck_assert_str_eq(proto_type(back), "queued");
        ck_assert_int_eq(json_object_get_int(json_object_object_get(back, "position")), 3);
        ck_assert_uint_eq(n, 1);
        ck_assert(same_file(got[0], fd));
        close(got[0]);
        json_object_put(back);

        /* The reader was reset: the peer closing now is a clean end. */
        close(sv[0]);
        ck_assert_int_eq(proto_reader_feed(&r, sv[1], &mid), -ECONNRESET);
        ck_assert(!mid);
        proto_reader_done(&r);
        close(fd);
        close(sv[1]);
}
END_TEST

START_TEST(test_length_zero) {
        int sv[2];
        uint8_t hdr[4] = {};
        ProtoReader r = PROTO_READER_NULL;

        pair(sv);
        write_all(sv[0], hdr, 4);
        ck_assert_int_eq(proto_reader_feed(&r, sv[1], NULL), -EMSGSIZE);
        ck_assert_ptr_null(r.buf);
        proto_reader_done(&r);
        close(sv[0]);
        close(sv[1]);
}
END_TEST

/* 100 MB announced: refused from the header alone, nothing allocated and
 * nothing of the body read. */
START_TEST(test_length_huge) {
        int sv[2], avail = 0;
        uint8_t hdr[4];
        ProtoReader r = PROTO_READER_NULL;

        pair(sv);
        put_header(hdr, 100u << 20);
        write_all(sv[0], hdr, 4);
        write_all(sv[0], "{\"v\":1}", 7);
        ck_assert_int_eq(proto_reader_feed(&r, sv[1], NULL), -EMSGSIZE);
        ck_assert_ptr_null(r.buf);
        ck_assert_int_eq(ioctl(sv[1], FIONREAD, &avail), 0);
        ck_assert_int_eq(avail, 7);
        /* Asking again gives the same answer, still without reading. */
        ck_assert_int_eq(proto_reader_feed(&r, sv[1], NULL), -EMSGSIZE);
        proto_reader_done(&r);

        close(sv[0]);
        close(sv[1]);

        /* One over the limit is refused; the limit itself is taken. */
        pair(sv);
        set_nonblock(sv[1]);
        put_header(hdr, PROTO_MAX_FRAME + 1u);
        write_all(sv[0], hdr, 4);
        ck_assert_int_eq(proto_reader_feed(&r, sv[1], NULL), -EMSGSIZE);
        ck_assert_ptr_null(r.buf);
        proto_reader_done(&r);
        close(sv[0]);
        close(sv[1]);
        pair(sv);
        set_nonblock(sv[1]);
        put_header(hdr, PROTO_MAX_FRAME);
        write_all(sv[0], hdr, 4);
        ck_assert_int_eq(proto_reader_feed(&r, sv[1], NULL), 0);
        ck_assert_ptr_nonnull(r.buf);
        ck_assert_uint_eq(r.len, PROTO_MAX_FRAME);
        proto_reader_done(&r);
        close(sv[0]);
        close(sv[1]);
}
END_TEST

START_TEST(test_eof) {
        int sv[2];
        uint8_t hdr[4];
        ProtoReader r = PROTO_READER_NULL;
        bool mid = false;

        /* Half a header. */
        pair(sv);
        put_header(hdr, 10);
        write_all(sv[0], hdr, 2);
        close(sv[0]);
        ck_assert_int_eq(proto_reader_feed(&r, sv[1], &mid), -ECONNRESET);
        ck_assert(mid);
        proto_reader_done(&r);
        close(sv[1]);

        /* Half a body, on a non-blocking socket: first "more", then EOF. */
        pair(sv);
        set_nonblock(sv[1]);
        write_all(sv[0], hdr, 4);
        write_all(sv[0], "{\"v\":", 5);
        mid = false;
        ck_assert_int_eq(proto_reader_feed(&r, sv[1], &mid), 0);
        ck_assert_ptr_nonnull(r.buf);
        close(sv[0]);
        ck_assert_int_eq(proto_reader_feed(&r, sv[1], &mid), -ECONNRESET);
        ck_assert(mid);
        proto_reader_done(&r);
        ck_assert_ptr_null(r.buf);
        close(sv[1]);

        /* Nothing at all: a clean end. */
        pair(sv);
        close(sv[0]);
        mid = true;
        ck_assert_int_eq(proto_reader_feed(&r, sv[1], &mid), -ECONNRESET);
        ck_assert(!mid);
        proto_reader_done(&r);
        close(sv[1]);
}
END_TEST

START_TEST(test_bad_json) {
        static const struct {
                const char *body;
                size_t len; /* 0: strlen */
                const char *why;
        } t[] = {
                { "[1,2]", 0, "not a JSON object" },
                { "42", 0, "one whole JSON value" },
                { "\"str\"", 0, "not a JSON object" },
                { "null", 0, "one whole JSON value" },
                { "null ", 0, "not a JSON object" },
                { "{\"v\":1,\"type\":\"x\"}xyz", 0, "byte 18" }, /* trailing garbage */
                { "{\"v\":1,\"type\":\"x\"}{}", 0, "byte 18" },
                { "{\"v\":1,\"type\":\"x\"\0}", 19, "NUL" },
                { "{\"v\":1,\"type\":\"x\"", 0, "one whole JSON value" },
                { "{\"v\":1,\"type\":'x'}", 0, "not JSON" },
                { "{\"v\":1,\"type\":\"x\",}", 0, "not JSON" },
                { "{\"v\":1,\"type\":\"\xff\xfe\"}", 0, "not JSON" },
                { "{\"type\":\"x\"}", 0, "\"v\"" },
                { "{\"v\":\"1\",\"type\":\"x\"}", 0, "\"v\"" },
                { "{\"v\":2,\"type\":\"x\"}", 0, "version 2" },
                { "{\"v\":1}", 0, "\"type\"" },
                { "{\"v\":1,\"type\":7}", 0, "\"type\"" },
                { "{\"v\":1,\"type\":null}", 0, "\"type\"" },
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                char err[256] = "";
                size_t len = t[i].len ? t[i].len : strlen(t[i].body);
                ck_assert_msg(read_raw(t[i].body, len, err, sizeof err) == -EBADMSG, "accepted: %s", t[i].body);
                ck_assert_msg(strstr(err, t[i].why), "'%s': error '%s' lacks '%s'", t[i].body, err, t[i].why);
        }
        /* White space after the object is not garbage. */
        ck_assert_int_eq(read_raw("{\"v\":1,\"type\":\"x\"}\n", 19, NULL, 0), 0);
}
END_TEST

/* A frame with fds that is refused closes them. */
START_TEST(test_bad_frame_closes_fds) {
        static const char body[] = "[]";
        int sv[2], fd, got[PROTO_MAX_FDS];
        uint8_t frame[4 + 2];
        size_t before, n = 0;
        char err[256];
        json_object *msg = NULL;
        ProtoReader r = PROTO_READER_NULL;

        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        pair(sv);
        before = count_fds();
        put_header(frame, 2);
        memcpy(frame + 4, body, 2);
        ck_assert_int_eq(send_with_fds(sv[0], frame, sizeof frame, (int[]) { fd, fd, fd }, 3), (ssize_t) sizeof frame);
        ck_assert_int_eq(proto_reader_feed(&r, sv[1], NULL), 1);
        ck_assert_uint_eq(count_fds(), before + 3);
        ck_assert_int_eq(proto_reader_take(&r, &msg, got, &n, err, sizeof err), -EBADMSG);
        ck_assert_ptr_null(msg);
        ck_assert_uint_eq(count_fds(), before);
        proto_reader_done(&r);
        close(fd);
        close(sv[0]);
        close(sv[1]);
}
END_TEST

/* More than PROTO_MAX_FDS: -EBADMSG and none of them stays open. */
START_TEST(test_too_many_fds) {
        int sv[2], fd, many[PROTO_MAX_FDS + 1];
        uint8_t frame[4 + 7];
        size_t before;
        ProtoReader r = PROTO_READER_NULL;
        json_object *msg = proto_message("x");

        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        for (size_t i = 0; i < sizeof many / sizeof many[0]; i++)
                many[i] = fd;
        pair(sv);
        before = count_fds();
        put_header(frame, 7);
        memcpy(frame + 4, "{\"v\":1}", 7);
        ck_assert_int_eq(send_with_fds(sv[0], frame, sizeof frame, many, PROTO_MAX_FDS + 1), (ssize_t) sizeof frame);
        ck_assert_int_eq(proto_reader_feed(&r, sv[1], NULL), -EBADMSG);
        ck_assert_uint_eq(r.n_fds, 0);
        ck_assert_uint_eq(count_fds(), before);
        proto_reader_done(&r);

        /* Exactly PROTO_MAX_FDS is fine; the sender refuses one more. */
        ck_assert_int_eq(proto_send(sv[0], msg, many, PROTO_MAX_FDS + 1), -EINVAL);
        ck_assert_int_eq(proto_send(sv[0], msg, many, PROTO_MAX_FDS), 0);
        close(sv[0]);
        close(sv[1]);

        /* A truncated control message (more than the reader's buffer). */
        pair(sv);
        {
                int lots[200];
                for (size_t i = 0; i < 200; i++)
                        lots[i] = fd;
                ck_assert_int_eq(send_with_fds(sv[0], frame, sizeof frame, lots, 200), (ssize_t) sizeof frame);
        }
        before = count_fds();
        r = PROTO_READER_NULL;
        ck_assert_int_eq(proto_reader_feed(&r, sv[1], NULL), -EBADMSG);
        ck_assert_uint_eq(count_fds(), before);
        proto_reader_done(&r);
        close(sv[0]);
        close(sv[1]);
        close(fd);
        json_object_put(msg);
}
END_TEST

/* A 3 MiB frame through a non-blocking sender (short writes, EAGAIN,
 * poll) to a blocking proto_recv() in another process. */
START_TEST(test_large_nonblocking_send) {
        size_t big = 3u << 20;
        int sv[2];
        pid_t pid;
        char *s = malloc(big + 1);

        ck_assert_ptr_nonnull(s);
        for (size_t i = 0; i < big; i++)
                s[i] = (char) ('a' + i % 26);
        s[big] = 0;
        pair(sv);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                json_object *m = proto_message("result");
                close(sv[1]);
                set_nonblock(sv[0]);
                json_object_object_add(m, "blob", json_object_new_string(s));
                _exit(proto_send(sv[0], m, NULL, 0) == 0 ? 0 : 1);
        }
        close(sv[0]);
        {
                json_object *back = NULL;
                int fds[PROTO_MAX_FDS], status;
                size_t n = 9;
                char err[256];
                ck_assert_int_eq(proto_recv(sv[1], &back, fds, &n, err, sizeof err), 0);
                ck_assert_str_eq(proto_type(back), "result");
                ck_assert_str_eq(json_object_get_string(json_object_object_get(back, "blob")), s);
                ck_assert_uint_eq(n, 0);
                json_object_put(back);
                ck_assert_int_eq(waitpid(pid, &status, 0), pid);
                ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        /* And too big to send at all. */
        {
                char *huge = malloc(PROTO_MAX_FRAME + 1);
                json_object *m = proto_message("result");
                memset(huge, 'x', PROTO_MAX_FRAME);
                huge[PROTO_MAX_FRAME] = 0;
                json_object_object_add(m, "blob", json_object_new_string(huge));
                ck_assert_int_eq(proto_send(sv[1], m, NULL, 0), -EMSGSIZE);
                json_object_put(m);
                free(huge);
        }
        close(sv[1]);
        free(s);
}
END_TEST

/* proto_recv() on a non-blocking socket waits for the rest. */
START_TEST(test_recv_nonblocking) {
        int sv[2];
        pid_t pid;
        json_object *back = NULL;
        char err[256];
        int status;

        pair(sv);
        set_nonblock(sv[1]);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                static const char body[] = "{\"v\":1,\"type\":\"error\",\"reason\":\"slow\"}";
                uint8_t hdr[4];
                put_header(hdr, sizeof body - 1);
                (void) !write(sv[0], hdr, 3);
                usleep(20000);
                (void) !write(sv[0], hdr + 3, 1);
                (void) !write(sv[0], body, 10);
                usleep(20000);
                (void) !write(sv[0], body + 10, sizeof body - 11);
                _exit(0);
        }
        close(sv[0]);
        ck_assert_int_eq(proto_recv(sv[1], &back, NULL, NULL, err, sizeof err), 0);
        ck_assert_str_eq(proto_type(back), "error");
        json_object_put(back);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        /* Then the end of the stream. */
        ck_assert_int_eq(proto_recv(sv[1], &back, NULL, NULL, err, sizeof err), -ECONNRESET);
        close(sv[1]);
}
END_TEST

START_TEST(test_message_helpers) {
        json_object *m = proto_message("signal"), *o = json_object_new_object();
        ck_assert_str_eq(proto_type(m), "signal");
        ck_assert_ptr_null(proto_type(o));
        ck_assert_ptr_null(proto_type(NULL));
        json_object_object_add(o, "type", json_object_new_int(3));
        ck_assert_ptr_null(proto_type(o));
        json_object_put(m);
        json_object_put(o);
}
END_TEST

static Suite *daemon_proto_suite(void) {
        Suite *s = suite_create("daemon-proto");
        TCase *tc = tcase_create("frames");
        tcase_add_test(tc, test_roundtrip);
        tcase_add_test(tc, test_fds_stay_with_their_frame);
        tcase_add_test(tc, test_byte_at_a_time);
        tcase_add_test(tc, test_length_zero);
        tcase_add_test(tc, test_length_huge);
        tcase_add_test(tc, test_eof);
        tcase_add_test(tc, test_bad_json);
        tcase_add_test(tc, test_bad_frame_closes_fds);
        tcase_add_test(tc, test_too_many_fds);
        tcase_add_test(tc, test_large_nonblocking_send);
        tcase_add_test(tc, test_recv_nonblocking);
        tcase_add_test(tc, test_message_helpers);
        suite_add_tcase(s, tc);
        return s;
}

#include "check-main.h"
CHECK_MAIN(daemon_proto_suite)
