/*
 * File contents: the map from file blocks to disk blocks (extents: four in
 * the inode, then a chain of extent-map blocks), reading, writing with
 * allocation, and truncation; and the block allocator.
 *
 * Allocation follows C-FFS's grouping: a file's first block goes right
 * after its directory block (so a directory's small files sit together on
 * disk and are read together), later ones right after the file's last
 * extent, which grows in place while the next block is free. Every change
 * to the map is one XN update claiming or releasing exactly one extent.
 *
 * Extent slots: a slot whose len is 0 is free. Slots are not kept sorted;
 * lookups scan the slots (few for a file written in order). Holes read as
 * zeros and are never allocated; bytes past the size in the last block are
 * kept zero, so growing a file exposes only zeros.
 */
#include <lib/fs/fsint.h>

#include <common/string.h>

struct fs_inode *inode_at(const uint8_t *b, uint32_t ioff)
{
	return (struct fs_inode *)(b + ioff);
}

uint64_t fs_now(struct fs *fs)
{
	return fs->dev.now ? fs->dev.now(fs->dev.d_ctx) : 0;
}

/* The first block in [start, end) that may be allocated, or end. */
static uint64_t free_from(struct fs *fs, uint64_t start, uint64_t end)
{
	if (fs->dev.next_free)
		return fs->dev.next_free(fs->dev.d_ctx, start, end);
	while (start < end && !fs->dev.is_free(fs->dev.d_ctx, start, 1))
		start++;
	return start;
}

/* How many blocks from b on (b free, b < nb) are free, up to want. */
static uint32_t free_run(struct fs *fs, uint64_t b, uint64_t want)
{
	uint64_t nb = fs->dev.d_nblocks;
	uint64_t end = want < nb - b ? b + want : nb;
	uint64_t used = b + 1;
	while (used < end && fs->dev.is_free(fs->dev.d_ctx, used, 1))
		used++;
	return (uint32_t)(used - b);
}

uint32_t alloc_run(struct fs *fs, uint32_t goal, uint32_t want, uint32_t *n)
{
	uint64_t nb = fs->dev.d_nblocks;
	*n = 0;
	if (goal == 0 || goal >= nb)
		goal = 1;
	/* from goal to the end, then from block 1 back up to goal */
	uint64_t b = free_from(fs, goal, nb);
	if (b == nb && (b = free_from(fs, 1, goal)) == goal)
		return 0;
	*n = free_run(fs, b, want);
	return (uint32_t)b;
}

/* For a write of want blocks: a free run of at least min(want,
 * BIG_RUN_MIN) blocks within BIG_RUN_SCAN blocks of goal, as alloc_run
 * answers (at most want of it); 0 and *n = 0 if there is none. A big
 * write that took the first free block would fill the small holes freed
 * files leave between directory blocks, an extent (and an XN update) every
 * few blocks. */
#define BIG_WRITE 16 /* blocks: a write this big looks for a big run */
#define BIG_RUN_MIN 64
#define BIG_RUN_SCAN 16384
static uint32_t alloc_big_run(struct fs *fs, uint32_t goal, uint32_t want, uint32_t *n)
{
	uint64_t nb = fs->dev.d_nblocks, need = MIN(want, BIG_RUN_MIN);
	*n = 0;
	if (goal == 0 || goal >= nb)
		goal = 1;
	for (uint64_t i = 0; i < MIN(nb, BIG_RUN_SCAN);) {
		uint64_t from = (goal + i) % nb, b = free_from(fs, MAX(from, 1), nb);
		if (b == nb) { /* wrap to block 1 */
			i += nb - from;
			continue;
		}
		i += b - from;
		if (i >= MIN(nb, BIG_RUN_SCAN))
			break;
		uint32_t k = free_run(fs, b, want);
		if (k >= need) {
			*n = k;
			return (uint32_t)b;
		}
		i += k; /* past this hole */
	}
	return 0;
}

/* Where an extent slot is: block and byte offset of its struct fs_extent. */
struct slot {
	uint32_t blk, off;
};

/* Visits every extent slot of an inode: the inline ones, then each extent
 * map's. fn returns non-zero to stop (that value is returned). */
typedef int slot_fn(struct fs *fs, struct slot s, const struct fs_extent *e, void *arg);

static int each_slot(struct fs *fs, struct fs_node *n, slot_fn *fn, void *arg)
{
	const uint8_t *b = meta_map(fs, n->home);
	if (!b)
		return -EIO;
	const struct fs_inode *in = inode_at(b, n->ioff);
	uint32_t next = MIN(in->next, FS_INLINE_EXTENTS), map = in->extmap;
	for (uint32_t i = 0; i < next; i++) {
		uint32_t off = n->ioff + offsetof(struct fs_inode, ext) + 16 * i;
		int r = fn(fs, (struct slot){ n->home, off }, &in->ext[i], arg);
		if (r)
			return r;
	}
	for (uint32_t hops = 0; map; hops++) {
		const struct fs_extmap *m = (const void *)meta_map(fs, map);
		if (!m || m->tag != FS_TAG_EXTMAP || m->count > FS_EXTMAP_N ||
		    hops > fs->dev.d_nblocks)
			return -EUCLEAN;
		for (uint32_t i = 0; i < m->count; i++) {
			uint32_t off = offsetof(struct fs_extmap, ext) + 16 * i;
			int r = fn(fs, (struct slot){ map, off }, &m->ext[i], arg);
			if (r)
				return r;
		}
		map = m->next;
	}
	return 0;
}

struct find {
	uint64_t lblk;
	uint32_t phys;      /* the block mapping lblk, 0: a hole */
	uint64_t next_lblk; /* first mapped file block after lblk (UINT64_MAX: none) */
	uint64_t run;       /* blocks of phys's extent from lblk on */
	struct slot grow;   /* an extent ending just before lblk, blk 0: none */
	uint32_t grow_end;  /* its disk end */
	uint32_t last_end;  /* disk end of the extent with the highest lblk */
	uint64_t last_lblk;
};

static int find_fn(struct fs *fs, struct slot s, const struct fs_extent *e, void *arg)
{
	struct find *f = arg;
	(void)fs;
	if (!e->len)
		return 0;
	if (f->lblk >= e->lblk && f->lblk - e->lblk < e->len) {
		f->phys = e->start + (uint32_t)(f->lblk - e->lblk);
		f->run = e->len - (f->lblk - e->lblk);
		return 1;
	}
	if (e->lblk > f->lblk && e->lblk < f->next_lblk)
		f->next_lblk = e->lblk;
	if (e->lblk + e->len == f->lblk)
		f->grow = s, f->grow_end = e->start + e->len;
	if (e->lblk >= f->last_lblk)
		f->last_lblk = e->lblk, f->last_end = e->start + e->len;
	return 0;
}

static int find(struct fs *fs, struct fs_node *n, uint64_t lblk, struct find *f)
{
	*f = (struct find){ .lblk = lblk, .next_lblk = UINT64_MAX };
	int r = each_slot(fs, n, find_fn, f);
	return r < 0 ? r : 0;
}

static int free_slot_fn(struct fs *fs, struct slot s, const struct fs_extent *e, void *arg)
{
	(void)fs;
	if (e->len)
		return 0;
	*(struct slot *)arg = s;
	return 1;
}

/* A free extent slot, adding an extent-map block if every one is used. */
static int get_slot(struct fs *fs, struct fs_node *n, struct slot *s)
{
	const uint8_t *b = meta_map(fs, n->home);
	if (!b)
		return -EIO;
	const struct fs_inode *in = inode_at(b, n->ioff);
	if (in->next < FS_INLINE_EXTENTS) { /* a fresh inline slot */
		uint32_t i = in->next;
		uint8_t *c = meta_edit(fs, n->home, 1);
		inode_at(c, n->ioff)->next = i + 1;
		*s = (struct slot){ n->home, n->ioff + offsetof(struct fs_inode, ext) + 16 * i };
		return meta_put(fs, n->home, c, FSDEV_WRITE, 0, 0, 0);
	}
	int r = each_slot(fs, n, free_slot_fn, s);
	if (r)
		return r < 0 ? r : 0;
	/* Every slot used: extend the last map, or chain a new one. */
	uint32_t last = in->extmap, prev_blk = n->home;
	uint32_t ptr_off = n->ioff + offsetof(struct fs_inode, extmap);
	for (uint32_t hops = 0; last; hops++) {
		const struct fs_extmap *m = (const void *)meta_map(fs, last);
		if (!m || hops > fs->dev.d_nblocks)
			return -EUCLEAN;
		if (m->count < FS_EXTMAP_N) {
			uint8_t *c = meta_edit(fs, last, 1);
			((struct fs_extmap *)c)->count++;
			*s = (struct slot){ last, offsetof(struct fs_extmap, ext) + 16 * m->count };
			return meta_put(fs, last, c, FSDEV_WRITE, 0, 0, 0);
		}
		prev_blk = last, ptr_off = offsetof(struct fs_extmap, next);
		last = m->next;
	}
	uint32_t got, nb = alloc_run(fs, n->home, 1, &got);
	if (!got)
		return -ENOSPC;
	uint8_t *c = meta_edit(fs, prev_blk, 1);
	memcpy(c + ptr_off, &nb, 4);
	if ((r = meta_put(fs, prev_blk, c, FSDEV_ALLOC, FS_T_EXTMAP, nb, 1)) < 0)
		return r;
	struct fs_extmap *m = (void *)fs->tmp;
	memset(m, 0, FS_BLOCK);
	m->tag = FS_TAG_EXTMAP, m->count = 1;
	if ((r = meta_init(fs, nb, FS_T_EXTMAP, fs->tmp)) < 0)
		return r;
	*s = (struct slot){ nb, offsetof(struct fs_extmap, ext) };
	return 0;
}

/* Maps file blocks [lblk, lblk + want) that are a hole, as far as one
 * extent goes: *got blocks from disk block *phys. */
/* An allocation about to be put on the inode's own block (its inline
 * extents) carries the size the write will reach through the new blocks,
 * and the write's mtime: one XN update where the size's own change, at the
 * write's end, would be a second (a create's 4 KiB write). The blocks are
 * written in the same transaction; *sized says what size it set. */
static void size_with(struct fs *fs, struct fs_node *n, uint32_t blk, uint8_t *c, uint64_t lblk,
		      uint32_t k, uint64_t end, uint64_t *sized)
{
	if (blk != n->home || !end)
		return;
	struct fs_inode *in = inode_at(c, n->ioff);
	uint64_t reach = MIN(end, (lblk + k) << FS_BLOCK_SHIFT);
	if (in->size < reach)
		in->size = reach;
	in->mtime = in->ctime = fs_now(fs);
	*sized = in->size;
}

/* New blocks for file block lblk on (want at most); end: where the write
 * that needs them ends (0: no size to carry; size_with). */
static int allocate(struct fs *fs, struct fs_node *n, uint64_t lblk, uint64_t want,
		    const struct find *f, uint32_t *phys, uint32_t *got, uint64_t end,
		    uint64_t *sized)
{
	want = MIN(want, f->next_lblk - lblk);
	want = MIN(want, (uint64_t)1 << 16);
	*got = 0;
	uint32_t k = 0, big = 0, big_start = 0;
	if (f->grow.blk && fs->dev.is_free(fs->dev.d_ctx, f->grow_end, 1)) {
		k = 1;
		while (k < want && fs->dev.is_free(fs->dev.d_ctx, f->grow_end + k, 1))
			k++;
	}
	/* a big write goes where it fits whole rather than into a small hole
	 * (a small one fills holes near its directory, as C-FFS groups) */
	if (want >= BIG_WRITE && want > k && k < BIG_RUN_MIN)
		big_start = alloc_big_run(fs, f->last_end ? f->last_end : n->home, (uint32_t)want,
					  &big);
	if (k && big <= k) {
		uint8_t *c = meta_edit(fs, f->grow.blk, 1);
		((struct fs_extent *)(c + f->grow.off))->len += k;
		size_with(fs, n, f->grow.blk, c, lblk, k, end, sized);
		int r = meta_put(fs, f->grow.blk, c, FSDEV_ALLOC, FS_T_DATA, f->grow_end, k);
		*phys = f->grow_end, *got = r < 0 ? 0 : k;
		return r;
	}
	uint32_t goal = f->last_end ? f->last_end : n->home;
	if (!big && (alloc_run(fs, goal, 1, &k), !k))
		return -ENOSPC;
	struct slot s;
	int r = get_slot(fs, n, &s); /* may take a block for an extent map */
	if (r < 0)
		return r;
	/* get_slot may have taken a block of the big run: look again */
	uint32_t start = big ? alloc_big_run(fs, big_start, (uint32_t)want, &k)
			     : alloc_run(fs, goal, (uint32_t)want, &k);
	if (!k)
		start = alloc_run(fs, goal, (uint32_t)want, &k);
	if (!k)
		return -ENOSPC;
	uint8_t *c = meta_edit(fs, s.blk, 1);
	*(struct fs_extent *)(c + s.off) = (struct fs_extent){ lblk, start, k };
	size_with(fs, n, s.blk, c, lblk, k, end, sized);
	if ((r = meta_put(fs, s.blk, c, FSDEV_ALLOC, FS_T_DATA, start, k)) < 0)
		return r;
	*phys = start, *got = k;
	return 0;
}

long file_read(struct fs *fs, struct fs_node *n, void *buf, size_t len, uint64_t off)
{
	const uint8_t *hb = meta_map(fs, n->home);
	if (!hb)
		return -EIO;
	uint64_t size = inode_at(hb, n->ioff)->size;
	if (off >= size)
		return 0;
	len = (size_t)MIN((uint64_t)len, size - off);
	size_t done = 0;
	uint64_t last = (off + len - 1) >> FS_BLOCK_SHIFT, ahead = 0; /* read ahead below ahead */
	while (done < len) {
		uint64_t pos = off + done, lblk = pos >> FS_BLOCK_SHIFT;
		uint32_t in = pos & (FS_BLOCK - 1);
		size_t k = MIN(len - done, (size_t)(FS_BLOCK - in));
		struct find f;
		int r = find(fs, n, lblk, &f);
		if (r < 0)
			return r;
		/* a read of several blocks: ask the device for the rest of this
		 * extent that the read needs at once, not a block at a time */
		if (f.phys && lblk >= ahead && last > lblk && fs->dev.prefetch) {
			long got = fs->dev.prefetch(fs->dev.d_ctx, f.phys,
						    MIN(last - lblk + 1, f.run));
			ahead = lblk + (got > 0 ? (uint64_t)got : 1);
		}
		const uint8_t *b = f.phys ? meta_map(fs, f.phys) : fs->zero;
		if (!b)
			return -EIO;
		memcpy((uint8_t *)buf + done, b + in, k);
		done += k;
	}
	return (long)done;
}

static int touch(struct fs *fs, struct fs_node *n, uint64_t size)
{
	uint8_t *c = meta_edit(fs, n->home, 2);
	if (!c)
		return -EIO;
	struct fs_inode *in = inode_at(c, n->ioff);
	in->size = size;
	in->mtime = in->ctime = fs_now(fs);
	return meta_put(fs, n->home, c, FSDEV_WRITE, 0, 0, 0);
}

#define FS_FILE_MAX (1ull << 52) /* bytes: file blocks stay far from overflow */

long file_write(struct fs *fs, struct fs_node *n, const void *buf, size_t len, uint64_t off)
{
	if (off >= FS_FILE_MAX || len > FS_FILE_MAX - off)
		return -EFBIG;
	const uint8_t *hb = meta_map(fs, n->home);
	if (!hb)
		return -EIO;
	uint64_t size = inode_at(hb, n->ioff)->size, sized = 0;
	size_t done = 0;
	int r = 0;
	while (done < len) {
		if ((r = txn_room(fs)) < 0)
			break;
		uint64_t pos = off + done, lblk = pos >> FS_BLOCK_SHIFT;
		uint32_t in = pos & (FS_BLOCK - 1);
		struct find f;
		if ((r = find(fs, n, lblk, &f)) < 0)
			break;
		uint32_t phys = f.phys, got = 1;
		bool fresh = !phys;
		if (fresh) {
			uint64_t want = (len - done + in + FS_BLOCK - 1) >> FS_BLOCK_SHIFT;
			if ((r = allocate(fs, n, lblk, want, &f, &phys, &got, off + len, &sized)) <
			    0)
				break;
		}
		/* Fill the blocks of this run. */
		for (uint32_t i = 0; i < got && done < len; i++) {
			pos = off + done, in = pos & (FS_BLOCK - 1);
			size_t k = MIN(len - done, (size_t)(FS_BLOCK - in));
			if (fresh)
				memset(fs->tmp, 0, FS_BLOCK);
			else if (k < FS_BLOCK)
				memcpy(fs->tmp, meta_map(fs, phys + i), FS_BLOCK);
			memcpy(fs->tmp + in, (const uint8_t *)buf + done, k);
			if ((r = data_write(fs, phys + i, fs->tmp)) < 0)
				break;
			done += k;
		}
		if (r < 0)
			break;
	}
	/* the size an allocation carried may run past what a failed write
	 * wrote: set it from what was */
	if (done > 0 || sized) {
		uint64_t want = done > 0 ? MAX(size, off + done) : size;
		int t = sized == want ? 0 : touch(fs, n, want);
		if (t < 0)
			return t;
	}
	return done > 0 ? (long)done : r;
}

struct cut {
	uint64_t keep; /* file blocks kept */
	struct slot s;
	struct fs_extent e;
};

static int cut_fn(struct fs *fs, struct slot s, const struct fs_extent *e, void *arg)
{
	struct cut *c = arg;
	(void)fs;
	if (!e->len || e->lblk + e->len <= c->keep)
		return 0;
	c->s = s, c->e = *e;
	return 1;
}

static int trailing_maps(struct fs *fs, struct fs_node *n);

int file_truncate(struct fs *fs, struct fs_node *n, uint64_t size)
{
	if (size >= FS_FILE_MAX)
		return -EFBIG;
	const uint8_t *hb = meta_map(fs, n->home);
	if (!hb)
		return -EIO;
	uint64_t old = inode_at(hb, n->ioff)->size;
	struct cut c = { .keep = (size + FS_BLOCK - 1) >> FS_BLOCK_SHIFT };
	int r;
	for (;;) { /* release one extent (or its tail) per update */
		if ((r = txn_room(fs)) < 0)
			return r;
		r = each_slot(fs, n, cut_fn, &c);
		if (r <= 0)
			break;
		uint8_t *cp = meta_edit(fs, c.s.blk, 1);
		struct fs_extent *e = (void *)(cp + c.s.off);
		uint32_t drop =
			c.e.lblk >= c.keep ? c.e.len : (uint32_t)(c.e.lblk + c.e.len - c.keep);
		uint32_t start = c.e.start + c.e.len - drop;
		if (drop == e->len)
			*e = (struct fs_extent){ 0, 0, 0 };
		else
			e->len -= drop;
		if ((r = meta_put(fs, c.s.blk, cp, FSDEV_FREE, FS_T_DATA, start, drop)) < 0)
			return r;
	}
	if (r < 0 || (r = trailing_maps(fs, n)) < 0)
		return r;
	if (size < old && (size & (FS_BLOCK - 1))) { /* zero the tail of the last block */
		struct find f;
		if ((r = find(fs, n, size >> FS_BLOCK_SHIFT, &f)) < 0)
			return r;
		if (f.phys) {
			memcpy(fs->tmp, meta_map(fs, f.phys), FS_BLOCK);
			memset(fs->tmp + (size & (FS_BLOCK - 1)), 0,
			       FS_BLOCK - (size & (FS_BLOCK - 1)));
			if ((r = data_write(fs, f.phys, fs->tmp)) < 0)
				return r;
		}
	}
	return touch(fs, n, size);
}

/* Frees extent-map blocks at the end of the chain that hold no extent. */
static int trailing_maps(struct fs *fs, struct fs_node *n)
{
	for (;;) {
		const uint8_t *hb = meta_map(fs, n->home);
		uint32_t prev = n->home, ptr_off = n->ioff + offsetof(struct fs_inode, extmap);
		uint32_t cur = inode_at(hb, n->ioff)->extmap;
		if (!cur)
			return 0;
		for (uint32_t hops = 0;; hops++) {
			const struct fs_extmap *m = (const void *)meta_map(fs, cur);
			if (!m || hops > fs->dev.d_nblocks)
				return -EUCLEAN;
			if (!m->next)
				break;
			prev = cur, ptr_off = offsetof(struct fs_extmap, next), cur = m->next;
		}
		const struct fs_extmap *m = (const void *)meta_map(fs, cur);
		for (uint32_t i = 0; i < m->count; i++)
			if (m->ext[i].len)
				return 0;
		int r = txn_room(fs);
		if (r < 0)
			return r;
		uint8_t *c = meta_edit(fs, prev, 1);
		memset(c + ptr_off, 0, 4);
		if ((r = meta_put(fs, prev, c, FSDEV_FREE, FS_T_EXTMAP, cur, 1)) < 0)
			return r;
	}
}

static int count_fn(struct fs *fs, struct slot s, const struct fs_extent *e, void *arg)
{
	(void)fs, (void)s;
	*(uint64_t *)arg += e->len;
	return 0;
}

uint64_t file_blocks(struct fs *fs, uint32_t home, uint32_t ioff)
{
	struct fs_node n = { .home = home, .ioff = ioff };
	uint64_t total = 0;
	each_slot(fs, &n, count_fn, &total);
	return total;
}
