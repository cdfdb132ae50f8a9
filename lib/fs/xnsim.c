/*
 * xnsim: the kernel's XN, modelled over a disk image in memory, behind the
 * fsdev hooks (fsdev.h). The host tools and tests run the file system on it,
 * and it refuses what the kernel would refuse, so a file system that passes
 * here only ever makes checkable changes:
 *
 *  - an update runs the block type's UDF (udf.h) on the block before and
 *    after; the claimed set must change by exactly the extent allocated or
 *    freed (or not at all), with the types the UDF reports; an allocation
 *    must be free; a malformed result is refused;
 *  - a moved extent leaves one block and joins another in one step;
 *  - ordering: a metadata block may be written back only when every block
 *    it claims has its initialisation on disk and, for an extent moved into
 *    it, the old owner's release is on disk; a freed extent may be allocated
 *    again only when the freeing block is on disk.
 *
 * Memory model: `cache` is what the file system sees (the buffer cache);
 * `disk` is what survives a power cut. A writeback copies the block into a
 * pending list; a barrier puts the pending list on the disk (a data
 * barrier only its data writes). A power cut
 * (xnsim_cut_at) keeps the disk plus an arbitrary choice among the pending
 * writes. `shadow` records, per block, whether the disk holds a write made
 * since the block was last allocated: fsck uses it to find blocks claimed
 * but never initialised.
 *
 * Opening an image rebuilds the free map by walking every root through the
 * UDFs (XN's reconstruction after an unclean stop); damage met on the way is
 * counted, never trusted: a block claimed twice keeps its first owner.
 * Capabilities are not modelled: one library file system per image here.
 *
 * The checks on UDF answers (a set, and exactly the change asked for) are
 * the kernel's own code, common/xn_check.c; the rules this model adds on
 * top are the kernel's too (kern/disk/xn.c): an allocation must be free; a
 * metadata block freed must claim nothing; a new metadata block starts
 * zeroed and must then claim nothing; a move is one extent, claimed by the
 * giver as its type; block 0 in a UDF's answer is "no pointer".
 *
 * This file holds the checks, the hooks and the power cuts; xnsim_image.c
 * the image (layout, format, open and its walk, roots, sync); their shared
 * state is in xnsim_int.h.
 */
#include <lib/fs/xnsim.h>
#include <lib/fs/errno.h>
#include <lib/fs/udf.h>
#include <lib/fs/xnsim_int.h>

#include <common/fmt.h>
#include <common/string.h>
#include <common/xn_check.h>

/* --- claims -------------------------------------------------------------- */

/* Sorts claims by start, merges touching runs of one type; -1 if any two
 * overlap or one leaves the disk. Returns the new count. */
static struct xn_extent xbuf[FS_MAX_CLAIMS + 1], xbuf2[FS_MAX_CLAIMS + 1],
	xscratch[FS_MAX_CLAIMS + 2];

static void to_xn(struct xn_extent *x, const struct fs_claim *c, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		x[i] = (struct xn_extent){ c[i].start, c[i].len, c[i].type };
}

static int64_t canon(struct xnsim *x, struct fs_claim *c, int64_t n)
{
	if (n > FS_MAX_CLAIMS + 1)
		return -1;
	to_xn(xbuf, c, n);
	int m = xn_extents_normalise(xbuf, (int)n, x->nblocks);
	for (int i = 0; i < m; i++) {
		if (xbuf[i].x_start < x->first_data)
			return -1; /* XN's own blocks: never a tree's */
		c[i] = (struct fs_claim){ xbuf[i].x_start, xbuf[i].x_count, xbuf[i].x_type };
	}
	return m;
}

/* The claims of a block of XN type `type` with contents b, canonical; -1
 * when malformed. out must hold FS_MAX_CLAIMS + 1. */
int64_t claims_of(struct xnsim *x, uint32_t type, const uint8_t *b, struct fs_claim *out)
{
	int64_t n = fs_udf(type, b, out);
	return n < 0 ? -1 : canon(x, out, n);
}

/* The kernel's verdict (common/xn_check.c) on a change from canonical
 * claims cb to ca: op XN_OP_* of extent (start, len, type). */
static bool change_ok(struct xnsim *x, const struct fs_claim *cb, int64_t nb,
		      const struct fs_claim *ca, int64_t na, int op, uint64_t start, uint64_t len,
		      uint32_t type)
{
	to_xn(xbuf, cb, nb);
	to_xn(xbuf2, ca, na);
	struct xn_extent ext = { start, (uint32_t)len, type };
	if (op != XN_OP_NONE && (len == 0 || len > UINT32_MAX))
		return false;
	return xn_change_ok(xbuf, (int)nb, xbuf2, (int)na, op, &ext, xscratch, x->nblocks);
}

/* --- the hooks ----------------------------------------------------------- */

/* Whether the release of block b (freed, or moved away from its old owner)
 * is on disk: the releasing block's write is, or, if that block was itself
 * freed since, its own release is. */
static bool release_durable(struct xnsim *x, uint64_t b)
{
	uint64_t r = x->rel_blk[b];
	uint32_t g = x->rel_gen[b];
	for (int hops = 0; hops < 64; hops++) {
		if (x->state[r] == XS_CLAIMED)
			return x->gen_disk[r] >= g;
		if (x->state[r] != XS_PFREE)
			return true;
		g = x->rel_gen[r], r = x->rel_blk[r];
	}
	return false;
}

/* A block freed by an update becomes allocatable once that update is on disk. */
void settle_pfree(struct xnsim *x, uint64_t b)
{
	if (x->state[b] == XS_PFREE && release_durable(x, b))
		x->state[b] = XS_FREE;
}

bool sim_is_free(void *ctx, uint64_t start, uint64_t len)
{
	struct xnsim *x = ctx;
	if (start < x->first_data || start >= x->nblocks || len > x->nblocks - start)
		return false;
	for (uint64_t b = start; b < start + len; b++) {
		settle_pfree(x, b);
		if (x->state[b] != XS_FREE)
			return false;
	}
	return true;
}

static const void *sim_map(void *ctx, uint64_t blk)
{
	struct xnsim *x = ctx;
	if (blk >= x->nblocks || x->state[blk] != XS_CLAIMED)
		return NULL;
	return blkp(x->cache, blk);
}

static int sim_write_data(void *ctx, uint64_t blk, const void *data)
{
	struct xnsim *x = ctx;
	if (blk >= x->nblocks || x->state[blk] != XS_CLAIMED || x->type[blk] != FS_T_DATA)
		return -EPERM;
	memcpy(blkp(x->cache, blk), data, FS_BLOCK);
	x->flags[blk] = (uint8_t)((x->flags[blk] | XF_INIT_CACHE) & ~XF_FRESH);
	x->gen_cache[blk]++;
	return 0;
}

/* Applies an update's ranges to a copy of the block in buf. */
static int apply_ranges(const struct fsdev_update *u, uint8_t *buf)
{
	for (uint32_t i = 0; i < u->u_nranges; i++) {
		const struct fsdev_range *r = &u->u_ranges[i];
		if ((uint32_t)r->off + r->len > FS_BLOCK)
			return -EINVAL;
		memcpy(buf + r->off, r->data, r->len);
	}
	return 0;
}

/* Checks an update (decode) without changing anything; on success `after`
 * holds the new contents. `moving` is the extent a move brings in or takes
 * out (the other half is checked by the caller). */
static int check_update(struct xnsim *x, const struct fsdev_update *u, uint8_t *after)
{
	static struct fs_claim cb[FS_MAX_CLAIMS + 1], ca[FS_MAX_CLAIMS + 1];
	uint64_t b = u->u_blk;
	if (b >= x->nblocks || x->state[b] != XS_CLAIMED || !is_meta(x->type[b]))
		return -EPERM;
	if (u->u_op == FSDEV_INIT) {
		if (!(x->flags[b] & XF_FRESH) || u->u_type != x->type[b])
			return -EPERM;
		memset(after, 0, FS_BLOCK);
	} else {
		if (!(x->flags[b] & XF_INIT_CACHE))
			return -EPERM;
		memcpy(after, blkp(x->cache, b), FS_BLOCK);
	}
	if (apply_ranges(u, after) < 0)
		return -EINVAL;
	int64_t na = claims_of(x, x->type[b], after, ca);
	if (na < 0)
		return -EPERM;
	if (u->u_op == FSDEV_INIT)
		return na == 0 ? 0 : -EPERM;
	int64_t nb = claims_of(x, x->type[b], blkp(x->cache, b), cb);
	if (nb < 0)
		return -EPERM;
	int op = u->u_op == FSDEV_WRITE   ? XN_OP_NONE
		 : u->u_op == FSDEV_ALLOC ? XN_OP_ALLOC
		 : u->u_op == FSDEV_FREE  ? XN_OP_FREE
					  : -1;
	if (op < 0)
		return -EINVAL;
	return change_ok(x, cb, nb, ca, na, op, u->u_start, u->u_len, u->u_type) ? 0 : -EPERM;
}

static void commit_update(struct xnsim *x, const struct fsdev_update *u, const uint8_t *after)
{
	memcpy(blkp(x->cache, u->u_blk), after, FS_BLOCK);
	x->gen_cache[u->u_blk]++;
	x->flags[u->u_blk] &= (uint8_t)~XF_FRESH;
	if (u->u_op == FSDEV_INIT)
		x->flags[u->u_blk] |= XF_INIT_CACHE;
}

/* A metadata block may be freed only once it claims nothing (else what it
 * claims would be lost track of). */
static bool freeable(struct xnsim *x, uint64_t start, uint64_t len)
{
	static struct fs_claim c[FS_MAX_CLAIMS + 1];
	if (start >= x->nblocks || len > x->nblocks - start)
		return false;
	for (uint64_t b = start; b < start + len; b++)
		if (is_meta(x->type[b]) && (x->flags[b] & XF_INIT_CACHE) &&
		    fs_udf(x->type[b], blkp(x->cache, b), c) != 0)
			return false;
	return true;
}

static int sim_update(void *ctx, const struct fsdev_update *u)
{
	static uint8_t after[FS_BLOCK];
	struct xnsim *x = ctx;
	x->checked++;
	if (u->u_op == FSDEV_ALLOC && (!sim_is_free(x, u->u_start, u->u_len) ||
				       !(u->u_type == FS_T_DATA || is_meta(u->u_type)) ||
				       (is_meta(u->u_type) && u->u_len != 1)))
		return -EPERM;
	if (u->u_op == FSDEV_FREE && !freeable(x, u->u_start, u->u_len))
		return -EPERM;
	int r = check_update(x, u, after);
	if (r < 0)
		return r;
	commit_update(x, u, after);
	if (u->u_op == FSDEV_ALLOC) {
		for (uint64_t b = u->u_start; b < u->u_start + u->u_len; b++) {
			/* A data block written since its last free reached the disk
			 * (a power cut came before the pointer to it) is initialised;
			 * any other block is not until it is written. */
			bool written = x->flags[b] & XF_INIT_DISK;
			x->state[b] = XS_CLAIMED, x->type[b] = (uint8_t)u->u_type;
			x->owner[b] = (uint32_t)u->u_blk;
			if (!written)
				x->flags[b] = 0, x->shadow[b] = 0;
			x->flags[b] |= XF_FRESH;
		}
	} else if (u->u_op == FSDEV_FREE) {
		for (uint64_t b = u->u_start; b < u->u_start + u->u_len; b++) {
			x->state[b] = XS_PFREE, x->type[b] = 0, x->flags[b] = 0;
			x->rel_blk[b] = (uint32_t)u->u_blk, x->rel_gen[b] = x->gen_cache[u->u_blk];
			x->pfree[x->npfree++] = (uint32_t)b;
		}
	}
	return 0;
}

/* `from` frees the extent, `to` allocates it, in one step. */
static int sim_move(void *ctx, const struct fsdev_update *from, const struct fsdev_update *to)
{
	static uint8_t a1[FS_BLOCK], a2[FS_BLOCK];
	struct xnsim *x = ctx;
	x->checked++;
	if (from->u_op != FSDEV_FREE || to->u_op != FSDEV_ALLOC || from->u_blk == to->u_blk ||
	    from->u_start != to->u_start || from->u_len != to->u_len || from->u_len == 0 ||
	    from->u_start >= x->nblocks || from->u_len > x->nblocks - from->u_start)
		return -EPERM;
	for (uint64_t b = from->u_start; b < from->u_start + from->u_len; b++)
		if (x->state[b] != XS_CLAIMED || x->owner[b] != from->u_blk ||
		    x->type[b] != to->u_type)
			return -EPERM;
	int r = check_update(x, from, a1);
	if (r == 0)
		r = check_update(x, to, a2);
	if (r < 0)
		return r;
	commit_update(x, from, a1);
	commit_update(x, to, a2);
	for (uint64_t b = from->u_start; b < from->u_start + from->u_len; b++) {
		x->owner[b] = (uint32_t)to->u_blk;
		x->flags[b] |= XF_MOVED;
		x->rel_blk[b] = (uint32_t)from->u_blk, x->rel_gen[b] = x->gen_cache[from->u_blk];
	}
	return 0;
}

static void event(struct xnsim *x);

static int sim_writeback(void *ctx, uint64_t blk)
{
	static struct fs_claim c[FS_MAX_CLAIMS + 1];
	struct xnsim *x = ctx;
	if (blk >= x->nblocks || x->state[blk] != XS_CLAIMED || !(x->flags[blk] & XF_INIT_CACHE))
		return -EINVAL;
	if (is_meta(x->type[blk])) {
		int64_t n = claims_of(x, x->type[blk], blkp(x->cache, blk), c);
		if (n < 0)
			return -EIO;
		for (int64_t i = 0; i < n; i++)
			for (uint64_t b = c[i].start; b < (uint64_t)c[i].start + c[i].len; b++) {
				if (!(x->flags[b] & XF_INIT_DISK))
					return -EAGAIN;
				if (x->flags[b] & XF_MOVED) {
					if (!release_durable(x, b))
						return -EAGAIN;
					x->flags[b] &= (uint8_t)~XF_MOVED;
				}
			}
	}
	if (x->npend == x->pend_cap) {
		size_t cap = x->pend_cap ? 2 * x->pend_cap : 64;
		struct pending *p = fs_alloc(cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		if (x->npend)
			memcpy(p, x->pend, x->npend * sizeof(*p));
		fs_free(x->pend);
		x->pend = p, x->pend_cap = cap;
	}
	super_of(x->disk)->s_clean = 0; /* the free map on disk is stale from now on */
	uint8_t *copy = fs_alloc(FS_BLOCK);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, blkp(x->cache, blk), FS_BLOCK);
	x->pend[x->npend++] = (struct pending){ blk, x->gen_cache[blk], copy };
	event(x);
	return 0;
}

/* A pending write reaches the disk. */
static void land(struct xnsim *x, struct pending *p)
{
	memcpy(blkp(x->disk, p->blk), p->data, FS_BLOCK);
	fs_free(p->data);
	if (p->gen > x->gen_disk[p->blk])
		x->gen_disk[p->blk] = p->gen;
	x->shadow[p->blk] = 1;
	if (x->state[p->blk] == XS_CLAIMED)
		x->flags[p->blk] |= XF_INIT_DISK;
}

/* The pending data writes reach the disk; metadata ones stay pending (the
 * kernel's disk_flush_data writes no metadata). */
static int sim_data_barrier(void *ctx)
{
	struct xnsim *x = ctx;
	size_t k = 0;
	for (size_t i = 0; i < x->npend; i++) {
		if (x->state[x->pend[i].blk] == XS_CLAIMED && is_meta(x->type[x->pend[i].blk]))
			x->pend[k++] = x->pend[i];
		else
			land(x, &x->pend[i]);
	}
	x->npend = k;
	event(x);
	return 0;
}

int sim_barrier(void *ctx)
{
	struct xnsim *x = ctx;
	for (size_t i = 0; i < x->npend; i++)
		land(x, &x->pend[i]);
	x->npend = 0;
	/* Blocks whose free is now on disk: whatever they held is stale. */
	size_t k = 0;
	for (size_t i = 0; i < x->npfree; i++) {
		uint32_t b = x->pfree[i];
		if (x->state[b] == XS_PFREE && !release_durable(x, b))
			x->pfree[k++] = b;
		else if (x->state[b] == XS_PFREE)
			x->state[b] = XS_FREE, x->shadow[b] = 0;
		else if (x->state[b] == XS_FREE)
			x->shadow[b] = 0;
	}
	x->npfree = k;
	event(x);
	return 0;
}

int sim_root(void *ctx, const char *name, uint64_t *blk, uint32_t *type)
{
	struct xnsim *x = ctx;
	struct xn_root *cat = catalogue_of(x->cache);
	for (int i = 0; i < XN_ROOTS_MAX; i++)
		if (cat[i].r_name[0] && strncmp(cat[i].r_name, name, XN_NAME_MAX) == 0) {
			*blk = cat[i].r_block, *type = cat[i].r_type;
			return 0;
		}
	return -ENOENT;
}

static bool sim_initialised(void *ctx, uint64_t blk)
{
	struct xnsim *x = ctx;
	return blk < x->nblocks && x->shadow[blk];
}

struct fsdev xnsim_dev(struct xnsim *x)
{
	return (struct fsdev){ .d_ctx = x,
			       .d_nblocks = x->nblocks,
			       .d_reserved = x->first_data,
			       .map = sim_map,
			       .write_data = sim_write_data,
			       .update = sim_update,
			       .move = sim_move,
			       .writeback = sim_writeback,
			       .barrier = sim_barrier,
			       .data_barrier = sim_data_barrier,
			       .is_free = sim_is_free,
			       .root = sim_root,
			       .root_create = sim_root_create,
			       .initialised = sim_initialised };
}

/* --- power cuts ---------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	return *s;
}

static void capture(struct xnsim *x)
{
	uint64_t bytes = x->nblocks * FS_BLOCK;
	x->cut_image = fs_alloc((size_t)bytes);
	x->cut_shadow = fs_alloc((size_t)x->nblocks);
	if (!x->cut_image || !x->cut_shadow)
		return;
	memcpy(x->cut_image, x->disk, (size_t)bytes);
	memcpy(x->cut_shadow, x->shadow, (size_t)x->nblocks);
	uint64_t s = x->cut_seed * 2654435761u + 1;

	/* Each pending write lands or not; of several to one block, the one
	 * applied last wins, in an order the device chose: model it as each
	 * landing write overwriting in a random order. */
	for (size_t i = 0; i < x->npend; i++) {
		size_t j = (size_t)(rng_next(&s) % x->npend);
		struct pending *p = &x->pend[j];
		if (rng_next(&s) & 1) {
			memcpy(blkp(x->cut_image, p->blk), p->data, FS_BLOCK);
			x->cut_shadow[p->blk] = 1;
		}
	}
}

static void event(struct xnsim *x)
{
	if (++x->events == x->cut_at && !x->cut_image)
		capture(x);
}

void xnsim_cut_at(struct xnsim *x, uint64_t at, uint64_t seed)
{
	x->cut_at = at, x->cut_seed = seed | 1;
}

uint64_t xnsim_events(const struct xnsim *x)
{
	return x->events;
}

uint64_t xnsim_checked(const struct xnsim *x)
{
	return x->checked;
}

bool xnsim_cut_take(struct xnsim *x, uint8_t **image, uint8_t **shadow)
{
	if (!x->cut_image || !x->cut_shadow)
		return false;
	*image = x->cut_image, *shadow = x->cut_shadow;
	x->cut_image = x->cut_shadow = NULL;
	return true;
}
