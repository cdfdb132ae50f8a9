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
 */
#include <lib/fs/xnsim.h>
#include <lib/fs/errno.h>
#include <lib/fs/udf.h>

#include <common/fmt.h>
#include <common/string.h>
#include <common/xn_check.h>

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
	uint8_t *cut_image, *cut_shadow;
	uint64_t walk_errors;
	char walk_error[160];
};

static uint8_t *blkp(uint8_t *base, uint64_t b)
{
	return base + b * FS_BLOCK;
}

static void *zalloc_array(uint64_t n, size_t size)
{
	return fs_alloc((size_t)(n * size));
}

static int sim_alloc(struct xnsim **out, uint64_t nblocks, uint8_t *image, uint8_t *shadow)
{
	struct xnsim *x = fs_alloc(sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->nblocks = nblocks;
	x->disk = image ? image : zalloc_array(nblocks, FS_BLOCK);
	x->cache = zalloc_array(nblocks, FS_BLOCK);
	x->shadow = shadow ? shadow : zalloc_array(nblocks, 1);
	x->state = zalloc_array(nblocks, 1);
	x->type = zalloc_array(nblocks, 1);
	x->flags = zalloc_array(nblocks, 1);
	x->owner = zalloc_array(nblocks, 4);
	x->rel_blk = zalloc_array(nblocks, 4);
	x->rel_gen = zalloc_array(nblocks, 4);
	x->gen_cache = zalloc_array(nblocks, 4);
	x->gen_disk = zalloc_array(nblocks, 4);
	x->pfree = zalloc_array(nblocks, 4);
	*out = x;
	if (!x->disk || !x->cache || !x->shadow || !x->state || !x->type || !x->flags ||
	    !x->owner || !x->rel_blk || !x->rel_gen || !x->gen_cache || !x->gen_disk || !x->pfree) {
		xnsim_close(x);
		return -ENOMEM;
	}
	memcpy(x->cache, x->disk, (size_t)(nblocks * FS_BLOCK));
	return 0;
}

void xnsim_close(struct xnsim *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->npend; i++)
		fs_free(x->pend[i].data);
	fs_free(x->pend);
	fs_free(x->disk), fs_free(x->cache), fs_free(x->shadow);
	fs_free(x->state), fs_free(x->type), fs_free(x->flags), fs_free(x->owner);
	fs_free(x->rel_blk), fs_free(x->rel_gen), fs_free(x->gen_cache), fs_free(x->gen_disk);
	fs_free(x->pfree);
	fs_free(x->cut_image), fs_free(x->cut_shadow);
	fs_free(x);
}

static struct xn_super *super_of(uint8_t *base)
{
	return (struct xn_super *)base;
}

static struct xn_root *catalogue_of(uint8_t *base)
{
	return (struct xn_root *)blkp(base, super_of(base)->s_catalogue);
}

/* XN's layout of a disk of nblocks blocks, as sys_xn_format makes it. */
static struct xn_super layout(uint64_t nblocks)
{
	uint64_t fmb = ROUNDUP(nblocks, 8 * FS_BLOCK) / (8 * FS_BLOCK);
	uint64_t wmb = ROUNDUP(nblocks, FS_BLOCK) / FS_BLOCK;
	struct xn_super s = { .s_magic = XN_MAGIC,
			      .s_nblocks = nblocks,
			      .s_freemap = 1,
			      .s_freemap_blocks = fmb,
			      .s_catalogue = 1 + fmb };
	s.s_types = s.s_catalogue + 1;
	s.s_written = s.s_types + XN_TYPES_MAX;
	s.s_written_blocks = wmb;
	s.s_data = s.s_written + wmb;
	return s;
}

uint64_t xnsim_first_data(uint64_t nblocks)
{
	return layout(nblocks).s_data;
}

int xnsim_format(struct xnsim **out, uint64_t nblocks)
{
	struct xn_super s = layout(nblocks);
	if (nblocks < s.s_data + 8 || nblocks > XN_MAX_BLOCKS)
		return -EINVAL;
	int r = sim_alloc(out, nblocks, NULL, NULL);
	if (r < 0)
		return r;
	struct xnsim *x = *out;
	*super_of(x->disk) = s;
	x->first_data = s.s_data;
	for (uint64_t b = 0; b < x->first_data; b++)
		x->state[b] = XS_XN, x->shadow[b] = 1;
	memcpy(x->cache, x->disk, FS_BLOCK);
	return xnsim_sync(x);
}

void xnsim_set_guard(struct xnsim *x, const struct cap *guard)
{
	x->guard = *guard;
}

int xnsim_type_set(struct xnsim *x, uint32_t id, const char *name, const uint64_t *insns,
		   uint32_t len)
{
	if (id == 0 || id > XN_TYPES_MAX || len == 0 || len > XN_UDF_MAX_INSNS)
		return -EINVAL;
	static struct xn_type_block t;
	memset(&t, 0, sizeof(t));
	t.t_magic = XN_TYPE_MAGIC, t.t_len = len;
	strlcpy(t.t_name, name, sizeof(t.t_name));
	memcpy(t.t_insns, insns, len * sizeof(insns[0]));
	uint64_t b = super_of(x->disk)->s_types + id - 1;
	memset(blkp(x->disk, b), 0, FS_BLOCK);
	memcpy(blkp(x->disk, b), &t, sizeof(t));
	memcpy(blkp(x->cache, b), &t, sizeof(t));
	return 0;
}

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
static int64_t claims_of(struct xnsim *x, uint32_t type, const uint8_t *b, struct fs_claim *out)
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

static bool is_meta(uint32_t type)
{
	return type == FS_T_SUPER || type == FS_T_DIR || type == FS_T_EXTMAP;
}

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
static void settle_pfree(struct xnsim *x, uint64_t b)
{
	if (x->state[b] == XS_PFREE && release_durable(x, b))
		x->state[b] = XS_FREE;
}

static bool sim_is_free(void *ctx, uint64_t start, uint64_t len)
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

static int sim_barrier(void *ctx)
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

static int sim_root(void *ctx, const char *name, uint64_t *blk, uint32_t *type)
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

static int sim_root_create(void *ctx, const char *name, uint64_t blk, uint32_t type,
			   const void *image);

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

bool xnsim_cut_take(struct xnsim *x, uint8_t **image, uint8_t **shadow)
{
	if (!x->cut_image || !x->cut_shadow)
		return false;
	*image = x->cut_image, *shadow = x->cut_shadow;
	x->cut_image = x->cut_shadow = NULL;
	return true;
}

/* --- roots, open, sync --------------------------------------------------- */

int xnsim_root_create(struct xnsim *x, const char *name, uint64_t blk, uint32_t type,
		      const void *image)
{
	static struct fs_claim c[FS_MAX_CLAIMS + 1];
	uint64_t b0;
	uint32_t t0;
	if (!name[0] || strlen(name) >= XN_NAME_MAX || !is_meta(type) ||
	    sim_root(x, name, &b0, &t0) == 0 || !sim_is_free(x, blk, 1) ||
	    claims_of(x, type, image, c) != 0)
		return -EINVAL;
	struct xn_root *cat = catalogue_of(x->disk);
	int slot = -1;
	for (int i = XN_ROOTS_MAX - 1; i >= 0; i--)
		if (!cat[i].r_name[0])
			slot = i;
	if (slot < 0)
		return -ENOSPC;
	memcpy(blkp(x->disk, blk), image, FS_BLOCK);
	memcpy(blkp(x->cache, blk), image, FS_BLOCK);
	x->state[blk] = XS_CLAIMED, x->type[blk] = (uint8_t)type;
	x->flags[blk] = XF_INIT_CACHE | XF_INIT_DISK, x->shadow[blk] = 1;
	cat[slot] = (struct xn_root){ .r_guard = x->guard, .r_block = blk, .r_type = type };
	strlcpy(cat[slot].r_name, name, XN_NAME_MAX);
	memcpy(catalogue_of(x->cache), cat, FS_BLOCK);
	return 0;
}

static int sim_root_create(void *ctx, const char *name, uint64_t blk, uint32_t type,
			   const void *image)
{
	return xnsim_root_create(ctx, name, blk, type, image);
}

static void walk_error(struct xnsim *x, const char *what, uint64_t blk)
{
	if (!x->walk_errors++)
		snprintf(x->walk_error, sizeof(x->walk_error), "block %lu: %s", (unsigned long)blk,
			 what);
}

/* XN's reconstruction: every block reachable from a root through the UDFs
 * is in use, every other one free. Iterative: a stack of blocks to parse. */
static int walk(struct xnsim *x)
{
	static struct fs_claim c[FS_MAX_CLAIMS + 1];
	uint32_t *stack = zalloc_array(x->nblocks, 4);
	if (!stack)
		return -ENOMEM;
	size_t sp = 0;
	struct xn_root *cat = catalogue_of(x->disk);
	for (int i = 0; i < XN_ROOTS_MAX; i++) {
		uint64_t b = cat[i].r_block;
		if (!cat[i].r_name[0])
			continue;
		if (b < x->first_data || b >= x->nblocks || !is_meta(cat[i].r_type) ||
		    x->state[b] != XS_FREE) {
			walk_error(x, "bad root", b);
			continue;
		}
		x->state[b] = XS_CLAIMED, x->type[b] = (uint8_t)cat[i].r_type;
		stack[sp++] = (uint32_t)b;
	}
	while (sp > 0) {
		uint64_t p = stack[--sp];
		int64_t n = fs_udf(x->type[p], blkp(x->disk, p), c);
		if (n < 0) {
			walk_error(x, "malformed metadata block", p);
			continue;
		}
		for (int64_t i = 0; i < n; i++) {
			uint64_t end = (uint64_t)c[i].start + c[i].len;
			if (c[i].start < x->first_data || end > x->nblocks) {
				walk_error(x, "claims a block off the disk", p);
				continue;
			}
			for (uint64_t b = c[i].start; b < end; b++) {
				if (x->state[b] != XS_FREE) {
					walk_error(x, "claims a block claimed already", p);
					continue;
				}
				x->state[b] = XS_CLAIMED, x->type[b] = (uint8_t)c[i].type;
				x->owner[b] = (uint32_t)p;
				if (is_meta(c[i].type))
					stack[sp++] = (uint32_t)b;
			}
		}
	}
	fs_free(stack);
	return 0;
}

int xnsim_open(struct xnsim **out, uint8_t *image, uint64_t nblocks, uint8_t *shadow)
{
	struct xn_super *s = super_of(image), want = layout(nblocks);
	if (nblocks < 3 || nblocks > XN_MAX_BLOCKS || s->s_magic != XN_MAGIC ||
	    s->s_nblocks != nblocks || s->s_freemap != want.s_freemap ||
	    s->s_freemap_blocks != want.s_freemap_blocks || s->s_catalogue != want.s_catalogue ||
	    s->s_types != want.s_types || s->s_written != want.s_written ||
	    s->s_written_blocks != want.s_written_blocks || s->s_data != want.s_data) {
		fs_free(image), fs_free(shadow);
		return -EINVAL;
	}
	bool had_shadow = shadow != NULL;
	int r = sim_alloc(out, nblocks, image, shadow);
	if (r < 0)
		return r;
	struct xnsim *x = *out;
	x->first_data = want.s_data;
	for (uint64_t b = 0; b < x->first_data; b++)
		x->state[b] = XS_XN;
	if ((r = walk(x)) < 0)
		return r;
	for (uint64_t b = 0; b < nblocks; b++) {
		if (x->state[b] == XS_CLAIMED ||
		    (x->state[b] == XS_FREE && had_shadow && x->shadow[b]))
			x->flags[b] = XF_INIT_CACHE | XF_INIT_DISK;
		if (!had_shadow)
			x->shadow[b] = x->state[b] != XS_FREE;
	}
	/* A cleanly closed disk's free map must agree with the walk. */
	if (s->s_clean)
		for (uint64_t b = x->first_data; b < nblocks; b++) {
			bool used = blkp(x->disk, s->s_freemap)[b / 8] >> (b % 8) & 1;
			if (used != (x->state[b] != XS_FREE)) {
				walk_error(x, "free map disagrees with the roots", b);
				break;
			}
		}
	return 0;
}

int xnsim_sync(struct xnsim *x)
{
	int r = sim_barrier(x);
	if (r < 0)
		return r;
	uint8_t *map = blkp(x->disk, super_of(x->disk)->s_freemap);
	memset(map, 0, (size_t)(super_of(x->disk)->s_freemap_blocks * FS_BLOCK));
	for (uint64_t b = 0; b < x->nblocks; b++) {
		settle_pfree(x, b);
		if (x->state[b] != XS_FREE)
			map[b / 8] |= (uint8_t)(1u << (b % 8));
	}
	super_of(x->disk)->s_clean = 1;
	memcpy(x->cache, x->disk, (size_t)(x->first_data * FS_BLOCK));
	return 0;
}

const uint8_t *xnsim_disk(const struct xnsim *x)
{
	return x->disk;
}

uint64_t xnsim_nblocks(const struct xnsim *x)
{
	return x->nblocks;
}

uint64_t xnsim_walk_errors(const struct xnsim *x)
{
	return x->walk_errors;
}

const char *xnsim_walk_error(const struct xnsim *x)
{
	return x->walk_error;
}

uint64_t xnsim_free_blocks(const struct xnsim *x)
{
	uint64_t n = 0;
	for (uint64_t b = 0; b < x->nblocks; b++)
		n += x->state[b] == XS_FREE || x->state[b] == XS_PFREE;
	return n;
}
