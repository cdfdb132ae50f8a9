/*
 * The XN model's state and the helpers its two files share: xnsim.c (the
 * checks and the fsdev hooks, power cuts) and xnsim_image.c (the image:
 * layout, format, open with the reconstruction walk, roots, sync). Only
 * lib/fs/xnsim*.c include this; xnsim.h is the interface.
 */
#ifndef EXO_LIB_FS_XNSIM_INT_H
#define EXO_LIB_FS_XNSIM_INT_H

#include <lib/fs/xnsim.h>
#include <lib/fs/format.h>

enum { XS_FREE = 0, XS_CLAIMED = 1, XS_PFREE = 2, XS_XN = 3 };
#define XF_INIT_CACHE 0x1
#define XF_INIT_DISK 0x2
#define XF_MOVED 0x4 /* claim waits for rel_blk's release to reach the disk */
#define XF_FRESH 0x8 /* allocated, not yet changed: may be INIT'd */

struct pending {
	uint64_t blk;
	uint32_t gen;
	uint8_t *data;
};

struct xnsim {
	uint64_t nblocks;
	uint8_t *disk, *cache, *shadow;
	uint8_t *state, *type, *flags;
	uint32_t *owner, *rel_blk, *rel_gen, *gen_cache, *gen_disk;
	struct pending *pend;
	size_t npend, pend_cap;
	struct cap guard; /* of roots created */
	uint64_t first_data; /* blocks below are XN's own */
	uint32_t *pfree;     /* blocks freed whose release may not be on disk yet */
	size_t npfree;
	uint64_t events, cut_at, cut_seed;
	uint64_t checked; /* updates and moves submitted (xnsim_checked) */
	uint8_t *cut_image, *cut_shadow;
	uint64_t walk_errors;
	char walk_error[160];
};

static inline uint8_t *blkp(uint8_t *base, uint64_t b)
{
	return base + b * FS_BLOCK;
}

static inline struct xn_super *super_of(uint8_t *base)
{
	return (struct xn_super *)base;
}

static inline struct xn_root *catalogue_of(uint8_t *base)
{
	return (struct xn_root *)blkp(base, super_of(base)->s_catalogue);
}

static inline bool is_meta(uint32_t type)
{
	return type == FS_T_SUPER || type == FS_T_DIR || type == FS_T_EXTMAP;
}

/* The claims of a block of XN type `type` with contents b, canonical; -1
 * when malformed. out must hold FS_MAX_CLAIMS + 1. */
int64_t claims_of(struct xnsim *x, uint32_t type, const uint8_t *b, struct fs_claim *out);
/* A block freed by an update becomes allocatable once that update is on disk. */
void settle_pfree(struct xnsim *x, uint64_t b);
bool sim_is_free(void *ctx, uint64_t start, uint64_t len);
int sim_root(void *ctx, const char *name, uint64_t *blk, uint32_t *type);
int sim_barrier(void *ctx);
int sim_root_create(void *ctx, const char *name, uint64_t blk, uint32_t type, const void *image);

#endif
