/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stockade run as a client of stockaded: the same command line, parsed
 * here as the caller; the request, our stdio and the bind sources go to
 * the daemon; signals are relayed; the answer becomes our exit status,
 * our stderr lines and the --result-json file, as in embedded mode. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "commands.h"
#include "daemon-proto.h"
#include "result.h"
#include "run-client.h"
#include "run-request.h"

extern char **environ;

static const int relayed[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                (void) close(fd);
                return r;
        }
        return fd;
}

/* The answer: our exit status, printed lines and result file. */
static int on_answer(const RunOptions *opts, json_object *msg, const char *type) {
        json_object *v = NULL;
        int status = EXIT_WRAPPER_FAILED;

        if (json_object_object_get_ex(msg, "status", &v) && json_object_is_type(v, json_type_int))
                status = json_object_get_int(v);
        if (status < 0 || status > 255)
                status = EXIT_WRAPPER_FAILED;
        if (streq(type, "refused") || streq(type, "error")) {
                const char *reason = json_object_object_get_ex(msg, "reason", &v) ? json_object_get_string(v) : NULL;
                log_error("%s%s", streq(type, "refused") ? "stockaded refused the request: " : "stockaded: ",
                          reason ? reason : "(no reason given)");
                return status;
        }
        if (json_object_object_get_ex(msg, "messages", &v) && json_object_is_type(v, json_type_array))
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        log_error("%s", json_object_get_string(json_object_array_get_idx(v, i)));
        if (opts->result_json) {
                json_object *res = NULL;
                const char *text;
                int r;
                if (!json_object_object_get_ex(msg, "result", &res) || !json_object_is_type(res, json_type_object)) {
                        log_error("stockaded sent no result record");
                        return EXIT_WRAPPER_FAILED;
                }
                text = json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                r = text ? sandbox_result_write_text(opts->result_json, text) : -ENOMEM;
                if (r < 0) {
                        log_error_errno(r, "cannot write the result to '%s': %m", opts->result_json);
                        return EXIT_WRAPPER_FAILED;
                }
        }
        return status;
}

static int send_signal(int fd, int signo) {
        json_object *m = proto_message("signal");
        int r;

        if (!m)
                return -ENOMEM;
        (void) json_object_object_add(m, "signo", json_object_new_int(signo));
        r = proto_send(fd, m, NULL, 0);
        json_object_put(m);
        return r;
}

/* Until the answer: frames from the daemon, signals from our caller. */
static int converse(const RunOptions *opts, int fd, int sigfd) {
        ProtoReader rd = PROTO_READER_NULL;
        int status = -1;

        while (status < 0) {
                struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = sigfd, .events = POLLIN } };
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        status = EXIT_WRAPPER_FAILED;
                        break;
                }
                if (p[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sigfd, &si, sizeof si) == (ssize_t) sizeof si)
                                (void) send_signal(fd, (int) si.ssi_signo);
                }
                if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                for (;;) {
                        json_object *msg = NULL;
                        bool mid = false;
                        char err[256];
                        const char *t;
                        int r = proto_reader_next(&rd, fd, &msg, NULL, NULL, &mid, err, sizeof err);

                        if (r == 0)
                                break;
                        if (r == -ECONNRESET) {
                                log_error("stockaded closed the connection without an answer");
                                status = EXIT_WRAPPER_FAILED;
                                break;
                        }
                        if (r < 0) {
                                log_error("stockaded sent a bad answer: %s", err);
                                status = EXIT_WRAPPER_FAILED;
                                break;
                        }
                        t = proto_type(msg);
                        if (t && (streq(t, "result") || streq(t, "refused") || streq(t, "error")))
                                status = on_answer(opts, msg, t);
                        else if (t && streq(t, "queued"))
                                log_debug("queued by stockaded");
                        else if (t && streq(t, "started"))
                                log_debug("the task started");
                        json_object_put(msg);
                        if (status >= 0)
                                break;
                }
        }
        proto_reader_done(&rd);
        return status;
}

int run_client(RunOptions *opts, const char *socket_path) {
        RunRequestMeta meta = { .env = environ, .attempt = 1 };
        _cleanup_close_ int fd = -EBADF, sigfd = -EBADF;
        json_object *msg = NULL;
        int *bind_fds = NULL, fds[PROTO_MAX_FDS];
        size_t n_bind = 0, n = 0;
        char err[512], cwd[4096];
        sigset_t set;
        int r, status = EXIT_WRAPPER_FAILED;

        if (run_request_check_daemon_options(opts, err, sizeof err) < 0) {
                log_error("%s", err);
                return EXIT_WRAPPER_FAILED;
        }
        /* A caller may have closed its stdio; the daemon needs three fds.
         * Before anything else opens one, so none takes 0, 1 or 2. */
        for (int i = 0; i < 3; i++)
                if (fcntl(i, F_GETFD) < 0 && open("/dev/null", O_RDWR) != i) {
                        log_error("cannot open /dev/null");
                        return EXIT_WRAPPER_FAILED;
                }
        meta.cwd = getcwd(cwd, sizeof cwd) ? cwd : NULL;
        r = run_request_encode(opts, &meta, &msg, &bind_fds, &n_bind, err, sizeof err);
        if (r < 0) {
                log_error("%s", err[0] ? err : strerror(-r));
                return EXIT_WRAPPER_FAILED;
        }
        if (n_bind + 3 > PROTO_MAX_FDS) {
                log_error("too many --bind options for stockaded (at most %d)", PROTO_MAX_FDS - 3);
                goto out;
        }

        /* Blocked before connecting: a ^C from now on reaches the task. */
        sigemptyset(&set);
        for (size_t i = 0; i < ELEMENTSOF(relayed); i++)
                sigaddset(&set, relayed[i]);
        (void) sigprocmask(SIG_BLOCK, &set, NULL);
        sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

        fd = connect_to(socket_path);
        if (fd < 0) {
                log_error_errno(fd, "cannot reach stockaded at %s: %m; is it running? (as root, --embedded runs "
                                    "without it)", socket_path);
                goto out;
        }
        fds[n++] = 0;
        fds[n++] = 1;
        fds[n++] = 2;
        for (size_t i = 0; i < n_bind; i++)
                fds[n++] = bind_fds[i];
        r = proto_send(fd, msg, fds, n);
        if (r < 0) {
                log_error_errno(r, "cannot send the request to stockaded: %m");
                goto out;
        }
        for (size_t i = 0; i < n_bind; i++)
                bind_fds[i] = safe_close(bind_fds[i]);
        (void) fcntl(fd, F_SETFL, O_NONBLOCK);
        status = converse(opts, fd, sigfd);
out:
        for (size_t i = 0; i < n_bind; i++)
                (void) safe_close(bind_fds[i]);
        free(bind_fds);
        json_object_put(msg);
        return status;
}
