/*
 * XN's reconstruction walk, pure: from the catalogue's roots through every
 * metadata block's UDF, who claims each block. Shared by the kernel's
 * mount (xn.c) and the host tests (test/test_xn_walk.c).
 */
#ifndef EXO_KERN_DISK_XN_WALK_H
#define EXO_KERN_DISK_XN_WALK_H

#include <inc/disk.h>

#define XN_PARENT_ROOT UINT32_MAX /* parent[] of a root block: the catalogue */

struct xn_walk_hooks {
	void *arg;
	/* Read block into buf (DISK_BLOCK_SIZE bytes): 0, or < 0. */
	int (*read)(void *arg, uint64_t block, void *buf);
	/* What metadata block `block` of type `type`, whose bytes are buf,
	 * claims: the number of extents put in out (XN_UDF_MAX_EXTENTS room),
	 * or < 0 if the type is unknown or its UDF failed. */
	int (*claims)(void *arg, uint32_t type, uint64_t block, const void *buf,
		      struct xn_extent *out);
};

/* The caller's memory: arrays of nblocks entries (root_of zeroed), a block
 * buffer and room for one UDF answer. */
struct xn_walk_mem {
	uint16_t *root_of;     /* out: catalogue index + 1 of the claiming tree, 0: free */
	uint8_t *type_of;      /* out: XN_TYPE_DATA or the metadata type */
	uint32_t *parent;      /* out: the metadata block claiming it, or XN_PARENT_ROOT */
	uint32_t *stack;       /* metadata blocks still to read */
	void *buf;
	struct xn_extent *ext;
};

struct xn_walk_result {
	uint64_t claimed;      /* blocks in some tree, metadata included */
	uint64_t metadata;     /* metadata blocks read */
	uint64_t twice;        /* claims of a block already claimed (or reserved): ignored */
	uint64_t bad_udf;      /* metadata blocks whose claims could not be read */
	uint64_t bad_roots;    /* catalogue entries naming an impossible root block */
};

/* Walk every tree of roots[0..nroots) (entries with an empty name are
 * skipped). Blocks below first_data belong to XN itself and are never
 * claimed. Bounded: each block is claimed and read at most once. */
void xn_walk(const struct xn_walk_hooks *h, struct xn_walk_mem *m, uint64_t nblocks,
	     uint64_t first_data, const struct xn_root *roots, int nroots,
	     struct xn_walk_result *res);

#endif
