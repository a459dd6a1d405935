/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* bench-startup's daemon part: a stockaded of the bench's own, on a
 * temporary config (socket and journal in the bench's temp directory, one
 * tenant for uid 0), for the "daemon" row, the throughput runs and the
 * admission policy_ms of its journal. startup.c times the daemon row
 * itself, interleaved with its other variants; this file owns the daemon's
 * life and the measurements that are the daemon's alone.
 *
 * Every function prints why it failed (prefix "bench-startup:"). */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct BenchDaemon BenchDaemon;

/* Writes DIR/stockaded.yaml (DIR is created, 0700, and must not exist),
 * starts STOCKADED on it and waits until it listens (its READY=1 on a
 * notify socket of ours). STOCKADE is the client binary (stockade run
 * --connect, stockade journal show). The daemon gets SIGTERM when we die.
 * Its one tenant (uid 0) may use the profile default, and extra_profile
 * (a path) unless NULL. Returns NULL on failure; whatever was started is
 * stopped again. */
BenchDaemon *bench_daemon_start(const char *stockaded, const char *stockade, const char *dir,
                                const char *extra_profile);

const char *bench_daemon_socket(const BenchDaemon *d);
pid_t bench_daemon_pid(const BenchDaemon *d);

typedef struct BenchThroughput {
        unsigned clients;  /* `stockade run --connect` kept in flight */
        unsigned tasks;    /* runs that exited 0 */
        double seconds;    /* from the first spawn to the last reap */
        double per_s;      /* tasks / seconds */
} BenchThroughput;

/* Keeps exactly CLIENTS `stockade run --connect SOCK -- /bin/true` running,
 * each replaced as it exits, until MAX_TASKS were started or MAX_S seconds
 * have passed (whichever first), then waits for the last. Returns 0, or 1
 * when a run failed or hung (every client is reaped either way). */
int bench_daemon_throughput(BenchDaemon *d, unsigned clients, unsigned max_tasks, double max_s,
                            BenchThroughput *ret);

/* SIGTERM, then waits for the daemon (killed after a timeout). Returns 0
 * when it exited with status 0, 1 otherwise (its log is shown). Idempotent:
 * a second call returns the first's verdict. */
int bench_daemon_stop(BenchDaemon *d);

/* policy_ms of every admission record with decision "allow" in the
 * daemon's journal (read with `stockade journal show --json --type
 * admission`). *ret is malloc()ed; returns 0, or 1 when the journal could
 * not be read. */
int bench_daemon_policy_ms(BenchDaemon *d, double **ret, size_t *n);

/* Stops the daemon if still running (error paths) and frees D. The
 * directory stays for the caller to remove. */
void bench_daemon_free(BenchDaemon *d);
