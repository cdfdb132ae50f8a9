/* fsbench's own parts (main.c, fsck.c). */
#ifndef EXO_USER_BENCH_FSBENCH_FSBENCH_H
#define EXO_USER_BENCH_FSBENCH_FSBENCH_H

#include <stddef.h>
#include <stdint.h>

/* lib/fs's fsck of the tree with key `key` (not sole root: the evictor's
 * tree shares the disk): 0 clean, > 0 problems (the first in msg), < 0 it
 * could not run; the files and directories it found. */
int fsbench_fsck(uint64_t key, uint64_t *files, uint64_t *dirs, char *msg, size_t size);

#endif
