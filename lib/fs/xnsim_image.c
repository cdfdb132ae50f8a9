/*
 * The XN model's disk image (see xnsim.c): XN's layout as sys_xn_format
 * lays it out, format, type blocks, roots, open (the reconstruction walk
 * that rebuilds the free map, damage counted, never trusted) and the
 * clean sync that writes the free map.
 */
#include <lib/fs/xnsim.h>
#include <lib/fs/errno.h>
#include <lib/fs/udf.h>
#include <lib/fs/xnsim_int.h>

#include <common/fmt.h>
#include <common/string.h>
#include <common/xn_check.h>

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

int sim_root_create(void *ctx, const char *name, uint64_t blk, uint32_t type, const void *image)
{
	return xnsim_root_create(ctx, name, blk, type, image);
}

/* As the kernel's xn_root_remove: the catalogue's write is the commit
 * point (here, on disk at once); after it nothing reaches the root block
 * or what its old contents on disk point to, so they are free now. */
int xnsim_root_remove(struct xnsim *x, const char *name)
{
	uint64_t blk;
	uint32_t type;
	if (!name[0] || strlen(name) >= XN_NAME_MAX)
		return -EINVAL;
	if (sim_root(x, name, &blk, &type) < 0)
		return -ENOENT;
	for (uint64_t b = x->first_data; b < x->nblocks; b++)
		if (x->state[b] == XS_CLAIMED && x->owner[b] == blk && b != blk)
			return -EBUSY; /* the tree still holds blocks */
	struct xn_root *cat = catalogue_of(x->disk);
	for (int i = 0; i < XN_ROOTS_MAX; i++)
		if (cat[i].r_name[0] && strncmp(cat[i].r_name, name, XN_NAME_MAX) == 0)
			memset(&cat[i], 0, sizeof(cat[i]));
	memcpy(catalogue_of(x->cache), cat, FS_BLOCK);
	/* its writes not yet landed are moot: the block is nobody's */
	size_t k = 0;
	for (size_t i = 0; i < x->npend; i++) {
		if (x->pend[i].blk == blk)
			fs_free(x->pend[i].data);
		else
			x->pend[k++] = x->pend[i];
	}
	x->npend = k;
	x->state[blk] = XS_FREE, x->type[blk] = 0, x->flags[blk] = 0, x->shadow[blk] = 0;
	for (uint64_t b = x->first_data; b < x->nblocks; b++)
		settle_pfree(x, b); /* a release by the root block is durable now */
	return 0;
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
