/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Small-file helpers for kernel interfaces (cgroupfs, procfs): one
 * open/read-or-write/close, relative to a directory fd, no stdio buffering. */

int write_string_at(int dirfd, const char *name, const char *value);
int write_u64_at(int dirfd, const char *name, uint64_t value);

/* Reads at most size-1 bytes and NUL-terminates; returns the length. */
int read_file_at(int dirfd, const char *name, char *buf, size_t size);

/* Reads a whole file into a malloc'd string, capped at max bytes. */
int read_full_file(const char *path, size_t max, char **ret);

/* The value of "key N" in a flat keyed file (cpu.stat, memory.events). */
int read_keyed_u64_at(int dirfd, const char *name, const char *key, uint64_t *ret);

/* A file holding a single integer ("max" is UINT64_MAX). */
int read_u64_at(int dirfd, const char *name, uint64_t *ret);

/* Finds "key N" in text already read. */
int keyed_u64_find(const char *text, const char *key, uint64_t *ret);
