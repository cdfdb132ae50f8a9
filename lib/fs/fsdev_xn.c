/*
 * lib/fs's device hooks (fsdev.h) over the kernel's XN (doc/disk.md): the
 * file system in the guest runs on these, as it runs on the XN model
 * (xnsim.c) on the host.
 *
 *   map          metadata: a copy of the kernel's cached block, fetched once
 *                through disk_bind (so it includes changes not yet on disk)
 *                and then kept current by applying our own accepted updates;
 *                data: the data cache (fsdev_xn_data.c)
 *   write_data   into the data cache, whose consecutive blocks go out
 *                gathered, one disk_iov for up to DISK_IOV_MAX of them
 *                (barrier sends them and waits)
 *   prefetch     the data cache's read-ahead: disk_iov reads, not waited for
 *   update/move  xn_update / xn_move, then the same bytes applied here
 *   writeback    nothing to start: the kernel writes metadata home at the
 *                next disk_flush, in XN's order, and data is already going
 *   barrier      wait for every write, then xn_root_sync of our tree
 *                (disk_flush before the root is known)
 *   data_barrier wait for every write, then disk_flush_data (no metadata)
 *   is_free      a copy of XN's map of allocatable blocks (xn_free_map),
 *                refreshed at each barrier, blocks we allocate taken out
 *   root         xn_root_lookup; root_create: xn_root_create, then the first
 *                contents as an update
 *
 * The types: lib/fs's three UDFs are carried in every program as BPF objects
 * (user/bpf/fs_udf_*.c, bpfobjs.S) and registered under the ids the UDFs
 * name (format.h); the kernel keeps them on disk.
 *
 * Ownership: the copies of metadata blocks, the data cache and the free map
 * are right only while nobody else changes the tree. Several envs share a
 * tree by taking turns (lib/posix/fsshare.c): a turn that follows another
 * env's changes first calls fsdev_xn_forget, so every copy is fetched again
 * from the kernel's cache (disk_bind) or the disk. XN still checks every
 * change, so a writer that breaks the turns could only break this tree,
 * never another's.
 * The file system's journal relies on metadata not reaching home before its
 * commit: the kernel writes a tree's dirty metadata only at a sync of that
 * tree (ours: xn_root_sync, which writes no other tree's), at a disk_flush
 * or when its cache is full of dirty and data entries (a transaction
 * touches at most FS_TXN_MAX_BLOCKS, which fit beside BC_DATA_MAX data
 * entries). An env of another family that calls disk_flush itself, rather
 * than syncing its own tree, would still break that (doc/fs.md).
 *
 * Kernel errors become errno values: a refused change is -EPERM, as on the
 * model; E_NO_MEM -ENOMEM; the rest -EIO. E_FULL from the cache (other
 * trees' uncommitted blocks fill it), or from the request table (the
 * data cache's), is waited out, up to 5 s, then -EIO (fsdev_xn_room_wait).
 */
#include <lib/fs/fsdev_xn_int.h>
#include <lib/fs/errno.h>

#include <inc/disk.h>
#include <inc/error.h>
#include <lib/base/bpf_elf.h>
#include <lib/base/libos.h>
#include <lib/base/syscall.h>
#include <lib/base/vm.h>
#include <common/string.h>

static int errno_of(long e)
{
	switch (e) {
	case -E_REFUSED:
	case -E_BUSY:
	case -E_PERM:
	case -E_INVAL:
	case -E_RANGE:
	case -E_BAD_CAP: return -EPERM;
	case -E_NO_MEM:
	case -E_FULL: return -ENOMEM;
	default: return -EIO;
	}
}

/* The kernel's cache full of other trees' uncommitted blocks: E_FULL, and
 * the call changed nothing. They go when their trees sync, which their
 * owners do in their own time (lib/posix commits within HOLD_SECONDS), so
 * a call that needs an entry waits for one rather than fail the file
 * operation: ROOM_WAIT_MS sleeps, for at most ROOM_WAIT_MAX_MS, then -EIO.
 * A wait that ran out makes the calls of the next ROOM_WAIT_MAX_MS that
 * find no room fail at once, so one file operation (several calls) waits
 * 5 s in all, not 5 s a call. */
#define ROOM_WAIT_MS 10
#define ROOM_WAIT_MAX_MS 5000

bool fsdev_xn_room_wait(struct xdev *x, uint64_t *until)
{
	uint64_t hz = ukinfo->ki_tick_hz, now = ukinfo->ki_ticks;
	uint64_t max = hz * ROOM_WAIT_MAX_MS / 1000;
	if (!*until) {
		if (x->room_gave_up && now - x->room_gave_up < max)
			return false;
		*until = now + max;
	} else if (now >= *until) {
		x->room_gave_up = now;
		return false;
	}
	uint64_t t = hz * ROOM_WAIT_MS / 1000;
	sys_env_sleep(t ? t : 1);
	return true;
}

/* --- XN's free map ----------------------------------------------------------- */

static int refresh_free(struct xdev *x)
{
	long r = sys_xn_free_map(0, x->nblocks, x->free_bits);
	return r < 0 ? errno_of(r) : 0;
}

static bool bit_free(const struct xdev *x, uint64_t b)
{
	return x->free_bits[b / 8] >> (b % 8) & 1;
}

static void take(struct xdev *x, uint64_t start, uint64_t len)
{
	for (uint64_t b = start; b < start + len && b < x->nblocks; b++)
		x->free_bits[b / 8] &= (uint8_t)~(1u << (b % 8));
}

static bool xn_is_free(void *ctx, uint64_t start, uint64_t len)
{
	struct xdev *x = ctx;
	if (start < x->first_data || start >= x->nblocks || len > x->nblocks - start)
		return false;
	for (uint64_t b = start; b < start + len; b++)
		if (!bit_free(x, b))
			return false;
	return true;
}

static uint64_t xn_next_free(void *ctx, uint64_t start, uint64_t end)
{
	struct xdev *x = ctx;
	uint64_t b = MAX(start, x->first_data), stop = MIN(end, x->nblocks);
	while (b < stop) {
		uint64_t word;
		if (b % 64 == 0 && stop - b >= 64 &&
		    (memcpy(&word, x->free_bits + b / 8, sizeof(word)), word == 0)) {
			b += 64; /* none free here */
			continue;
		}
		if (bit_free(x, b))
			return b;
		b++;
	}
	return end;
}

/* --- metadata copies ------------------------------------------------------------ */

static struct meta *meta_slot(struct xdev *x, uint64_t blk)
{
	size_t mask = x->meta_cap - 1;
	for (size_t i = (size_t)(blk * 2654435761u) & mask;; i = (i + 1) & mask)
		if (x->meta[i].blk == blk || x->meta[i].blk == NO_BLOCK)
			return &x->meta[i];
}

static struct meta *meta_find(struct xdev *x, uint64_t blk)
{
	struct meta *m = meta_slot(x, blk);
	return m->blk == blk ? m : NULL;
}

/* A new zeroed copy for blk (which has none). */
static uint8_t *meta_add(struct xdev *x, uint64_t blk)
{
	if (2 * (x->nmeta + 1) > x->meta_cap) {
		size_t cap = 2 * x->meta_cap, oldcap = x->meta_cap;
		struct meta *old = x->meta, *nm = malloc(cap * sizeof(*nm));
		if (!nm)
			return NULL;
		for (size_t i = 0; i < cap; i++)
			nm[i].blk = NO_BLOCK;
		x->meta = nm, x->meta_cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].blk != NO_BLOCK)
				*meta_slot(x, old[i].blk) = old[i];
		free(old);
	}
	uint8_t *page = calloc(1, FS_BLOCK);
	if (!page)
		return NULL;
	struct meta *m = meta_slot(x, blk);
	m->blk = blk, m->page = page;
	x->nmeta++;
	return page;
}

/* Forget blk's copy (freed): re-insert the run after it (linear probing). */
static void meta_drop(struct xdev *x, uint64_t blk)
{
	struct meta *m = meta_find(x, blk);
	if (!m)
		return;
	free(m->page);
	m->blk = NO_BLOCK;
	x->nmeta--;
	size_t mask = x->meta_cap - 1;
	for (size_t i = ((size_t)(m - x->meta) + 1) & mask; x->meta[i].blk != NO_BLOCK;
	     i = (i + 1) & mask) {
		struct meta e = x->meta[i];
		x->meta[i].blk = NO_BLOCK;
		*meta_slot(x, e.blk) = e;
	}
}

/* --- data ------------------------------------------------------------------------ */

/* For fsdev_xn_data.c (fsdev_xn_int.h). */
int fsdev_xn_errno(long e)
{
	return errno_of(e);
}

struct meta *fsdev_xn_meta_find(struct xdev *x, uint64_t blk)
{
	return meta_find(x, blk);
}

static int xn_write_data(void *ctx, uint64_t blk, const void *data)
{
	return xd_write(ctx, blk, data);
}

static long xn_prefetch(void *ctx, uint64_t blk, uint64_t count)
{
	return xd_prefetch(ctx, blk, count);
}

/* --- map -------------------------------------------------------------------------- */

static const void *xn_map(void *ctx, uint64_t blk)
{
	struct xdev *x = ctx;
	if (blk >= x->nblocks)
		return NULL;
	struct meta *m = meta_find(x, blk);
	if (m)
		return m->page;
	const void *d = xd_cached(x, blk);
	if (d)
		return d;
	/* metadata: the kernel's cached page, which disk_bind binds. A data
	 * block binds only where some env put a copy in the registry
	 * (disk_cache); this device puts none there (the envs sharing a tree
	 * commit their data writes before another takes a turn), so for data
	 * disk_bind answers E_NOT_FOUND (or E_AGAIN while a copy is read in)
	 * and the block is read from the disk */
	uint64_t until = 0;
	long r;
	while ((r = sys_disk_bind(blk, (uint64_t)x->bind_va, x->cap)) == -E_FULL &&
	       fsdev_xn_room_wait(x, &until))
		;
	if (r == -E_NOT_FOUND || r == -E_AGAIN)
		r = -E_INVAL;
	if (r == 0) {
		uint8_t *page = meta_add(x, blk);
		if (page)
			memcpy(page, x->bind_va, FS_BLOCK);
		sys_page_unbind(0, (uint64_t)x->bind_va, 0);
		x->st.meta_reads++;
		return page;
	}
	if (r != -E_INVAL)
		return NULL; /* in no tree, or not ours */
	return xd_read(x, blk);
}

/* --- updates ---------------------------------------------------------------------- */

/* The update in XN's terms. lib/fs's ranges all point into one image of the
 * block (its diff of a copy), so more than XN_WRITES_MAX of them become one
 * covering range of that image. */
static int to_xn(const struct fsdev_update *u, struct xn_update *xu, struct xn_write *w)
{
	uint32_t n = u->u_nranges;
	if (n == 0)
		return -EINVAL; /* XN wants a write; a claim changes with bytes */
	if (n <= XN_WRITES_MAX) {
		for (uint32_t i = 0; i < n; i++)
			w[i] = (struct xn_write){ u->u_ranges[i].off, u->u_ranges[i].len,
						  (uint64_t)u->u_ranges[i].data };
	} else {
		const struct fsdev_range *a = &u->u_ranges[0], *z = &u->u_ranges[n - 1];
		const uint8_t *base = (const uint8_t *)a->data - a->off;
		for (uint32_t i = 0; i < n; i++)
			if ((const uint8_t *)u->u_ranges[i].data - u->u_ranges[i].off != base)
				return -EINVAL;
		w[0] = (struct xn_write){ a->off, (uint32_t)(z->off + z->len - a->off),
					  (uint64_t)(base + a->off) };
		n = 1;
	}
	uint32_t op = u->u_op == FSDEV_ALLOC  ? XN_OP_ALLOC
		      : u->u_op == FSDEV_FREE ? XN_OP_FREE
					      : XN_OP_NONE; /* WRITE, and INIT of a zeroed block */
	*xu = (struct xn_update){
		u->u_blk, op, n, { u->u_start, (uint32_t)u->u_len, u->u_type }, w
	};
	return 0;
}

/* Our copy of an update's block after XN accepted it. */
static void apply_here(struct xdev *x, const struct fsdev_update *u)
{
	struct meta *m = meta_find(x, u->u_blk);
	uint8_t *page = m ? m->page : meta_add(x, u->u_blk);
	if (!page)
		return; /* out of memory: the next map() reads it again */
	if (u->u_op == FSDEV_INIT)
		memset(page, 0, FS_BLOCK);
	for (uint32_t i = 0; i < u->u_nranges; i++)
		memcpy(page + u->u_ranges[i].off, u->u_ranges[i].data, u->u_ranges[i].len);
}

/* What an accepted ALLOC or FREE does to our caches and map. */
static void claims_changed(struct xdev *x, const struct fsdev_update *u, bool moved)
{
	if (moved || (u->u_op != FSDEV_ALLOC && u->u_op != FSDEV_FREE))
		return;
	for (uint64_t b = u->u_start; b < u->u_start + u->u_len; b++) {
		if (u->u_op == FSDEV_ALLOC) {
			take(x, b, 1);
			if (u->u_type != FS_T_DATA && !meta_find(x, b))
				meta_add(x, b); /* XN hands it out zeroed */
		} else {
			meta_drop(x, b);
			xd_drop(x, b);
		}
	}
}

static int xn_update(void *ctx, const struct fsdev_update *u)
{
	struct xdev *x = ctx;
	struct xn_update xu;
	struct xn_write w[XN_WRITES_MAX];
	if (u->u_op == FSDEV_INIT && u->u_nranges == 0)
		return meta_find(x, u->u_blk) ? 0 : -EPERM; /* stays zero */
	int r = to_xn(u, &xu, w);
	if (r < 0)
		return r;
	if (u->u_op == FSDEV_FREE)
		xd_send(x); /* gathered writes leave while their blocks are ours */
	uint64_t until = 0;
	long k;
	while ((k = sys_xn_update(&xu, x->cap)) == -E_FULL && fsdev_xn_room_wait(x, &until))
		;
	if (k < 0) {
		x->st.refused++;
		if (k == -E_BUSY && u->u_op == FSDEV_ALLOC)
			refresh_free(x); /* another tree took it meanwhile */
		return k == -E_FULL ? -EIO : errno_of(k);
	}
	x->st.updates++;
	claims_changed(x, u, false);
	apply_here(x, u);
	return 0;
}

static int xn_move(void *ctx, const struct fsdev_update *from, const struct fsdev_update *to)
{
	struct xdev *x = ctx;
	struct xn_update xf, xt;
	struct xn_write wf[XN_WRITES_MAX], wt[XN_WRITES_MAX];
	int r = to_xn(from, &xf, wf);
	if (r == 0)
		r = to_xn(to, &xt, wt);
	if (r < 0)
		return r;
	uint64_t until = 0;
	long k;
	while ((k = sys_xn_move(&xf, &xt, x->cap)) == -E_FULL && fsdev_xn_room_wait(x, &until))
		;
	if (k < 0) {
		x->st.refused++;
		return k == -E_FULL ? -EIO : errno_of(k);
	}
	x->st.moves++;
	apply_here(x, from);
	apply_here(x, to);
	return 0;
}

static int xn_writeback(void *ctx, uint64_t blk)
{
	struct xdev *x = ctx;
	return blk < x->nblocks ? 0 : -EINVAL;
}

static int xn_barrier(void *ctx)
{
	struct xdev *x = ctx;
	int r = xd_wait_all(x);
	long k = x->tree[0] ? sys_xn_root_sync(x->tree, x->cap) : sys_disk_flush();
	x->st.flushes++;
	if (r == 0 && k < 0)
		r = -EIO;
	int f = refresh_free(x);
	return r ? r : f;
}

static int xn_data_barrier(void *ctx)
{
	struct xdev *x = ctx;
	int r = xd_wait_all(x);
	long k = sys_disk_flush_data();
	x->st.flushes++;
	return r ? r : k < 0 ? -EIO : 0;
}

/* --- roots ------------------------------------------------------------------------ */

static int xn_root(void *ctx, const char *name, uint64_t *blk, uint32_t *type)
{
	struct xdev *x = ctx;
	struct xn_root_info ri;
	long r = sys_xn_root_lookup(name, &ri);
	if (r == -E_NOT_FOUND)
		return -ENOENT;
	if (r < 0)
		return -EIO;
	*blk = ri.ri_block, *type = ri.ri_type;
	strlcpy(x->tree, name, sizeof(x->tree));
	return 0;
}

/* XN places a new root at its first free block; lib/fs asks for one place,
 * so the two must agree before the root is made. */
static int xn_root_create(void *ctx, const char *name, uint64_t blk, uint32_t type,
			  const void *image)
{
	struct xdev *x = ctx;
	uint64_t first = x->first_data;
	while (first < x->nblocks && !bit_free(x, first))
		first++;
	if (first != blk)
		return -EBUSY;
	long r = sys_xn_root_create(name, type, x->cap);
	if (r < 0)
		return r == -E_BUSY ? -EEXIST : errno_of(r);
	strlcpy(x->tree, name, sizeof(x->tree));
	take(x, blk, 1);
	if (!meta_add(x, blk))
		return -ENOMEM;
	/* the first contents: a change from zeros that claims nothing */
	const uint8_t *img = image;
	uint32_t lo = 0, hi = FS_BLOCK;
	while (lo < FS_BLOCK && !img[lo])
		lo++;
	while (hi > lo && !img[hi - 1])
		hi--;
	if (lo == hi)
		return 0;
	struct fsdev_range rg = { (uint16_t)lo, (uint16_t)(hi - lo), img + lo };
	struct fsdev_update u = { blk, FSDEV_WRITE, type, 0, 0, 1, &rg };
	return xn_update(x, &u);
}

/* --- set-up ----------------------------------------------------------------------- */

extern const char bpfobj_fs_udf_super[], bpfobj_fs_udf_super_end[];
extern const char bpfobj_fs_udf_dir[], bpfobj_fs_udf_dir_end[];
extern const char bpfobj_fs_udf_extmap[], bpfobj_fs_udf_extmap_end[];

static int udf_region(void *arg UNUSED, const char *name)
{
	return strcmp(name, "region0") == 0 ? 0 : strcmp(name, "region1") == 0 ? 1 : -1;
}

static int register_type(const char *name, const char *img, const char *end, uint32_t id)
{
	static struct bpf_insn insns[XN_UDF_MAX_INSNS];
	uint32_t len;
	int r = bpf_elf_load(img, (size_t)(end - img), NULL, insns, XN_UDF_MAX_INSNS, &len,
			     udf_region, NULL);
	if (r < 0)
		return -EIO;
	struct xn_type_def d = { { 0 }, insns, len, id, NULL };
	strlcpy(d.td_name, name, sizeof(d.td_name));
	long k = sys_xn_type_register(&d);
	if (k == -E_BUSY)
		return -EBUSY;
	if (k < 0)
		return k == -E_NOT_FOUND ? -ENODEV : -EIO;
	return k == id ? 0 : -EIO;
}

static int xn_close_mem(struct xdev *x)
{
	for (size_t i = 0; x->meta && i < x->meta_cap; i++)
		if (x->meta[i].blk != NO_BLOCK)
			free(x->meta[i].page);
	free(x->meta);
	free(x->free_bits);
	xd_close(x);
	free(x);
	return 0;
}

int fsdev_xn_open(struct fsdev *dev, uint64_t cap)
{
	struct disk_info di;
	if (sys_disk_info(&di) < 0 || di.di_xn != XN_STATE_MOUNTED)
		return -ENODEV;
	int r;
	if ((r = register_type("cffs-super", bpfobj_fs_udf_super, bpfobj_fs_udf_super_end,
			       FS_T_SUPER)) < 0 ||
	    (r = register_type("cffs-dir", bpfobj_fs_udf_dir, bpfobj_fs_udf_dir_end, FS_T_DIR)) <
		    0 ||
	    (r = register_type("cffs-extmap", bpfobj_fs_udf_extmap, bpfobj_fs_udf_extmap_end,
			       FS_T_EXTMAP)) < 0)
		return r;
	struct xdev *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->cap = cap;
	x->nblocks = di.di_xn_blocks;
	/* XN's layout follows from the size (kern/disk/xn.c, sys_xn_format) */
	uint64_t fmb = (x->nblocks + FS_BLOCK * 8 - 1) / (FS_BLOCK * 8);
	uint64_t wmb = (x->nblocks + FS_BLOCK - 1) / FS_BLOCK;
	x->first_data = 1 + fmb + 1 + XN_TYPES_MAX + wmb;
	x->free_bits = calloc(1, (size_t)(x->nblocks + 7) / 8);
	x->meta_cap = 256;
	x->meta = malloc(x->meta_cap * sizeof(*x->meta));
	x->bind_va = vm_alloc(FS_BLOCK);
	if (!x->free_bits || !x->meta || xd_open(x) < 0 || !x->bind_va) {
		xn_close_mem(x);
		return -ENOMEM;
	}
	for (size_t i = 0; i < x->meta_cap; i++)
		x->meta[i].blk = NO_BLOCK;
	if ((r = refresh_free(x)) < 0) {
		xn_close_mem(x);
		return r;
	}
	*dev = (struct fsdev){ .d_ctx = x,
			       .d_nblocks = x->nblocks,
			       .d_reserved = x->first_data,
			       .map = xn_map,
			       .write_data = xn_write_data,
			       .update = xn_update,
			       .move = xn_move,
			       .writeback = xn_writeback,
			       .barrier = xn_barrier,
			       .data_barrier = xn_data_barrier,
			       .is_free = xn_is_free,
			       .next_free = xn_next_free,
			       .root = xn_root,
			       .root_create = xn_root_create,
			       .prefetch = xn_prefetch };
	return 0;
}

int fsdev_xn_drain(struct fsdev *dev)
{
	struct xdev *x = dev->d_ctx;
	int e = xd_wait_all(x);
	if (e && !x->werr)
		x->werr = e; /* still the next barrier's to report */
	return e;
}

int fsdev_xn_close(struct fsdev *dev)
{
	struct xdev *x = dev->d_ctx;
	int r = xn_barrier(x);
	xn_close_mem(x);
	dev->d_ctx = NULL;
	return r;
}

int fsdev_xn_forget(struct fsdev *dev)
{
	struct xdev *x = dev->d_ctx;
	int r = xd_forget(x);
	for (size_t i = 0; i < x->meta_cap; i++)
		if (x->meta[i].blk != NO_BLOCK) {
			free(x->meta[i].page);
			x->meta[i].blk = NO_BLOCK;
		}
	x->nmeta = 0;
	int f = refresh_free(x);
	x->st.forgets++;
	return r ? r : f;
}

const struct fsdev_xn_stats *fsdev_xn_stats(const struct fsdev *dev)
{
	const struct xdev *x = dev->d_ctx;
	return &x->st;
}
