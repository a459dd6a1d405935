/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pinned program cache shared by the BPF loaders (bpf-egress.c,
 * bpf-shape.c): a set of programs and maps, loaded and verified once per
 * boot, pinned in bpffs and opened with bpf_obj_get() by later supervisors.
 *
 *   $STOCKADE_BPF_DIR (default /sys/fs/bpf/stockade; empty or relative:
 *   no cache), 0700, on bpffs, ours
 *     <name>-<16 hex digits>/   0700, one per build of a BPF object: the
 *                               SHA-256 of its ELF bytes and of the
 *                               loader's layout tag
 *       <program pins> <map pins>
 *
 * flock() on the base directory orders the supervisors: shared to open a
 * complete set, exclusive to load and pin one (waits capped, then the set
 * is loaded privately). A set is complete when every object opens, every
 * program has the expected type and uses only maps of the set (those marked
 * all_maps every one of them), and the loader's own check passes; else it
 * is replaced. See supervisor/bpf-egress.c for the long form. */

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct BpfCacheProg {
        const char *pin;
        enum bpf_prog_type type;
        bool all_maps; /* uses every map of the set (a completeness check) */
} BpfCacheProg;

typedef struct BpfCacheSet {
        const char *name;   /* "egress": the log prefix bpf-egress, the directories egress-* */
        const char *layout; /* mixed into the hash: bump when the pins' meaning changes */
        const void *(*elf_bytes)(size_t *ret_size);
        const BpfCacheProg *progs;
        size_t n_progs;
        const char *const *maps; /* pin names */
        size_t n_maps;
        /* Loads and verifies the set privately, filling progs[] and maps[]
         * (in the order above) with fds of our own. -errno, logged. */
        int (*load)(int *progs, int *maps);
        /* Optional: whether an opened set is the one expected (0), beyond
         * the generic checks; -ESTALE replaces it. */
        int (*check)(const int *progs, const int *maps);
        char subdir_cache[64]; /* "<name>-<hash>", computed once */
} BpfCacheSet;

/* The base directory, or NULL when the cache is off. */
const char *bpf_cache_base(void);

/* Fills progs[] and maps[] from the cache, or loads the set (set->load)
 * and pins it there. 1: reused, 0: loaded (pinned, or privately when
 * pinning failed), -EAGAIN: the cache is unavailable and nothing was loaded
 * (load privately), another -errno: set->load failed. */
int bpf_cache_load(BpfCacheSet *set, int *progs, int *maps);

/* Unpins every <name>-* set (of any build) and removes the base directory
 * when it is left empty. Open users keep their objects. -errno. */
int bpf_cache_drop(const char *name);

void bpf_cache_close_fds(int *fds, size_t n);

/* Up to max keys of the hash map fd (whole keys of key_size bytes): all of
 * them first, so that the caller may then delete (get_next_key after a
 * deleted key would start over). */
size_t bpf_cache_map_keys(int fd, void *keys, size_t key_size, size_t max);
