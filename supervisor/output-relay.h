/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "basic/sha256.h"

/* With an output cap, the task's stdout and stderr are pipes to the
 * supervisor, which copies them to its own stdout and stderr up to the cap
 * (both streams together) and drains the rest, so the task never blocks on
 * a full pipe. Without a cap the task writes to the caller's fds directly. */

typedef struct OutputRelay {
        int read_fd[2];  /* the supervisor's ends: [0] stdout, [1] stderr */
        int write_fd[2]; /* the task's ends, closed here once the sandbox holds them */
        uint64_t cap;
        uint64_t bytes;  /* produced by the task, cut or not */
        uint64_t passed; /* copied to the caller */
        bool cut;
        Sha256 hash[2];  /* of everything the task wrote, per stream, cut or not */
} OutputRelay;

/* Finishes the per-stream hashes (once, at the end of the streams). */
void output_relay_hashes(OutputRelay *o, char ret_stdout[65], char ret_stderr[65]);

#define OUTPUT_RELAY_NULL \
        ((OutputRelay) { .read_fd = { -EBADF, -EBADF }, .write_fd = { -EBADF, -EBADF } })

int output_relay_open(OutputRelay *o, uint64_t cap);
void output_relay_close_write_ends(OutputRelay *o);

/* Moves what is readable on read_fd[which]; -EPIPE at end of stream.
 * Writing to the caller waits at most until deadline_ms (CLOCK_MONOTONIC,
 * 0: no deadline), so a reader that stops reading cannot hold the
 * supervisor past the task's time limit: what misses it is dropped. */
int output_relay_pump(OutputRelay *o, int which, double deadline_ms);

void output_relay_done(OutputRelay *o);
