/*
 * The file system's device hooks (fsdev.h) over the kernel's XN system
 * calls: what lib/fs runs on in the guest. See fsdev_xn.c.
 */
#ifndef EXO_LIB_FS_FSDEV_XN_H
#define EXO_LIB_FS_FSDEV_XN_H

#include <lib/fs/fsdev.h>

struct fsdev_xn_stats {
	uint64_t updates, moves;   /* accepted xn_update / xn_move calls */
	uint64_t refused;          /* updates XN refused */
	uint64_t data_writes, data_reads, meta_reads; /* blocks */
	uint64_t data_write_reqs, data_read_reqs;    /* disk_iov requests that moved them */
	uint64_t flushes;          /* disk_flush calls (barriers) */
	uint64_t forgets;          /* fsdev_xn_forget calls */
};

/* Registers lib/fs's three metadata types with XN (their UDFs are carried
 * in the program as BPF objects; registering one again is harmless) and
 * fills *dev with hooks that use key `cap` for every block of the tree.
 * 0, or a negative errno: -ENODEV no disk with XN mounted, -EBUSY one of
 * lib/fs's type ids holds another format's UDF, -ENOMEM, -EIO. */
int fsdev_xn_open(struct fsdev *dev, uint64_t cap);
/* Waits for every write, flushes, and frees the hooks' memory. */
int fsdev_xn_close(struct fsdev *dev);
/* Another env changed the tree: wait for our writes, drop every copy of a
 * metadata block and every cached data block, and read XN's free map again,
 * so the next map() sees the kernel's current blocks. 0 or -EIO. */
int fsdev_xn_forget(struct fsdev *dev);
/* Waits for every write in flight, without a flush: a fork child copies
 * this state and must not find one of our requests in it. 0 or -EIO. */
int fsdev_xn_drain(struct fsdev *dev);
const struct fsdev_xn_stats *fsdev_xn_stats(const struct fsdev *dev);

#endif
