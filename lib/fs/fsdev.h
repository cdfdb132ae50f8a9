/*
 * The block-device hooks the file system runs on: the one place it touches
 * the machine. The operations mirror the kernel's XN (issue 15, doc/fs.md):
 *
 *   map         a read-only view of a block as cached (the kernel's buffer-
 *               cache registry is mapped read-only into every env)
 *   write_data  replace a whole data block claimed as FS_T_DATA
 *   update      change a metadata block by a list of byte-range writes;
 *               XN runs the block type's UDF before and after and accepts
 *               only if the claimed set grew by exactly u_ext (ALLOC, of type
 *               u_type), shrank by exactly it (FREE), or did not change
 *               (WRITE). INIT fills a block just allocated as metadata: the
 *               ranges are applied to a zeroed block, which must claim nothing
 *   move        two updates applied atomically: `from` gives up the extent,
 *               `to` claims it (Xok's sys_xn_move): how an embedded inode and
 *               the blocks it claims change directory block
 *   writeback   start writing a cached block to disk; -EAGAIN when XN's
 *               ordering forbids it now (it claims a block not yet
 *               initialised on disk, or one whose previous owner's release is
 *               not yet on disk): write those first, barrier, retry
 *   barrier     every writeback started before is on disk (the kernel's XN
 *               may write other dirty metadata then too)
 *   data_barrier  every data write (write_data, and writeback of a data
 *               block) started before is on disk, as is the device's note
 *               that it was written (XN's written map, which lets a replay
 *               claim it again), and no metadata block is written: the
 *               journal's barrier before its commit record
 *   next_free   the first block in [start, end) is_free would answer true
 *               for, alone, or end: the allocator's scan (optional)
 *   is_free     may the extent be allocated now (free, and not freed by a
 *               write that is not yet on disk)
 *   root        the root catalogue: a named root's block and type
 *
 * Every function returns 0 or a negative errno (errno.h); XN's refusal of an
 * update is -EPERM. The implementations: lib/fs/xnsim.c (an XN model over a
 * memory image, for the host tools and tests) and, in the guest, one over
 * the kernel's XN system calls.
 */
#ifndef EXO_LIB_FS_FSDEV_H
#define EXO_LIB_FS_FSDEV_H

#include <lib/fs/format.h>

enum fsdev_op { FSDEV_WRITE = 0, FSDEV_ALLOC = 1, FSDEV_FREE = 2, FSDEV_INIT = 3 };

struct fsdev_range {
	uint16_t off, len;
	const void *data;
};

struct fsdev_update {
	uint64_t u_blk;
	uint32_t u_op;   /* enum fsdev_op */
	uint32_t u_type; /* ALLOC: the XN type of the new extent; INIT: the block's type */
	uint64_t u_start, u_len; /* ALLOC/FREE: the extent */
	uint32_t u_nranges;
	const struct fsdev_range *u_ranges;
};

struct fsdev {
	void *d_ctx;
	uint64_t d_nblocks;
	uint64_t d_reserved; /* blocks below this are the device's own (XN's) */
	const void *(*map)(void *ctx, uint64_t blk); /* NULL: out of range or I/O error */
	int (*write_data)(void *ctx, uint64_t blk, const void *data);
	int (*update)(void *ctx, const struct fsdev_update *u);
	int (*move)(void *ctx, const struct fsdev_update *from, const struct fsdev_update *to);
	int (*writeback)(void *ctx, uint64_t blk);
	int (*barrier)(void *ctx);
	int (*data_barrier)(void *ctx);
	bool (*is_free)(void *ctx, uint64_t start, uint64_t len);
	uint64_t (*next_free)(void *ctx, uint64_t start, uint64_t end); /* NULL: is_free */
	int (*root)(void *ctx, const char *name, uint64_t *blk, uint32_t *type);
	/* mkfs: create the named root at blk, its first contents `image` */
	int (*root_create)(void *ctx, const char *name, uint64_t blk, uint32_t type,
			   const void *image);
	/* fsck only: whether a claimed block was ever initialised (NULL: unknown) */
	bool (*initialised)(void *ctx, uint64_t blk);
	uint64_t (*now)(void *ctx); /* ns since the epoch, for timestamps (NULL: 0) */
	/* read-ahead (NULL: none): data blocks [blk, blk + count) of one extent
	 * will be mapped next, in order; start reading them together. Returns
	 * how many from blk on it covered (>= 1), or a negative errno - only a
	 * hint: map still reads, and reports, whatever did not arrive */
	long (*prefetch)(void *ctx, uint64_t blk, uint64_t count);
	/* not the device's but the tree's sharers' (NULL: no other instance):
	 * does another instance on this tree still have inode ino open? An
	 * inode that lost its last name stays an orphan while it does, instead
	 * of being freed (lib/posix's family, doc/fs.md "Open files") */
	bool (*held)(void *ctx, uint64_t ino);
};

/* Memory for the file system's own tables; each platform supplies these
 * (lib/fs/mem.c in the guest, the host program's malloc in tools and tests). */
void *fs_alloc(size_t size); /* zeroed; NULL when out of memory */
void fs_free(void *p);

#endif
