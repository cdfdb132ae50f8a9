/*
 * XN's checked changes to metadata blocks: sys_xn_update (byte-range
 * writes and at most one claim change, judged by the type's UDF before and
 * after, common/xn_check.c) and sys_xn_move (an extent leaving one block
 * and joining another of the same tree in one step). Every argument is
 * checked before anything changes; an accepted change lives in the cache
 * (bcache.c) until xn_sync.c writes it in XN's order. The rules are in
 * xn.c's opening comment and doc/disk.md.
 */
#include <inc/error.h>
#include <inc/page.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/env/cap.h>
#include <kern/env/env.h>
#include <kern/mem/pmap.h>
#include <kern/mem/vm.h>
#include <kern/disk/bcache.h>
#include <kern/disk/disk.h>
#include <kern/disk/xn_int.h>
#include <common/xn_check.h>
#include <common/string.h>

/* Check an update's extent against the state: 0 or -E_*. */
static long check_extent(const struct xn_update *u)
{
	const struct xn_extent *x = &u->u_ext;
	if (x->x_count == 0 || x->x_start >= nblocks || x->x_count > nblocks - x->x_start ||
	    x->x_type > XN_TYPES_MAX || (x->x_type != XN_TYPE_DATA && !udf[x->x_type]) ||
	    (x->x_type != XN_TYPE_DATA && x->x_count != 1))
		return -E_INVAL;
	for (uint64_t b = x->x_start; b < x->x_start + x->x_count; b++) {
		if (u->u_op == XN_OP_ALLOC && in_use(b))
			return -E_BUSY;
		if (u->u_op == XN_OP_FREE &&
		    (root_of[b] != root_of[u->u_block] || parent_of[b] != u->u_block ||
		     type_of[b] != x->x_type || (bflags[b] & B_FREEING)))
			return -E_INVAL;
	}
	if (u->u_op == XN_OP_ALLOC && x->x_type != XN_TYPE_DATA) {
		/* a new metadata block starts zeroed: it must claim nothing */
		memset(page_kva(copy_ppn), 0, PAGE_SIZE);
		if (claims_of(x->x_type, x->x_start, page_kva(copy_ppn), scratch) != 0)
			return -E_REFUSED;
	}
	if (u->u_op == XN_OP_FREE && x->x_type != XN_TYPE_DATA) {
		int err;
		void *p = bc_get(x->x_start, root_of[x->x_start], &err);
		if (!p)
			return err;
		if (claims_of(x->x_type, x->x_start, p, scratch) != 0)
			return -E_BUSY; /* free its children first */
	}
	return 0;
}

/* An update and its writes, copied in and checked for form: 0 or -E_*. */
static long update_decode(struct env *e, uint64_t uupd, struct xn_update *u, struct xn_write *w)
{
	if (copy_from_user(e->env_vm, u, uupd, sizeof(*u)) < 0)
		return -E_FAULT;
	if (u->u_op > XN_OP_FREE || u->u_nwrites == 0 || u->u_nwrites > XN_WRITES_MAX)
		return -E_INVAL;
	if (copy_from_user(e->env_vm, w, (uint64_t)u->u_writes, u->u_nwrites * sizeof(w[0])) < 0)
		return -E_FAULT;
	for (unsigned i = 0; i < u->u_nwrites; i++)
		if (w[i].w_len == 0 || w[i].w_off >= DISK_BLOCK_SIZE ||
		    w[i].w_len > DISK_BLOCK_SIZE - w[i].w_off)
			return -E_INVAL;
	return 0;
}

/* May e change u->u_block at all? 0 or -E_*. */
static long update_reach(struct env *e, const struct xn_update *u, uint64_t cap)
{
	long r = need_mounted();
	if (r < 0)
		return r;
	if (u->u_block >= nblocks || !root_of[u->u_block])
		return -E_RANGE;
	if ((r = tree_check(e, cap, root_of[u->u_block], CAP_W)) < 0)
		return r;
	if (type_of[u->u_block] == XN_TYPE_DATA)
		return -E_INVAL; /* data blocks are written with disk_io */
	if (disk_stats.di_read_only)
		return -E_PERM; /* it could never be written back */
	if (xn_job_busy(root_of[u->u_block]))
		disk_sleep_restart(); /* its tree is being written back: after that */
	return 0;
}

/* The block's new contents in next, and the UDF's verdict on the change:
 * the number of claims after it (in after[]), or -E_* with nothing changed.
 * The claims before come from the last update's answer when it was to the
 * same block: a file system updates one block many times running. */
static long update_check(struct env *e, const struct xn_update *u, const struct xn_write *w,
			 uint8_t *next)
{
	int err;
	uint8_t *cur = bc_get(u->u_block, root_of[u->u_block], &err);
	if (!cur)
		return err;
	memcpy(next, cur, PAGE_SIZE);
	for (unsigned i = 0; i < u->u_nwrites; i++)
		if (copy_from_user(e->env_vm, next + w[i].w_off, w[i].w_src, w[i].w_len) < 0)
			return -E_FAULT;
	/* the check: before and after, through the type's UDF */
	disk_stats.di_xn_checked++;
	uint32_t type = type_of[u->u_block];
	int nb = claims_cached(u->u_block, before);
	if (nb < 0)
		nb = claims_of(type, u->u_block, cur, before);
	int na = nb < 0 ? -1 : claims_of(type, u->u_block, next, after);
	if (na < 0 ||
	    !xn_change_ok(before, nb, after, na, (int)u->u_op, &u->u_ext, scratch, nblocks)) {
		disk_stats.di_xn_refused++;
		return -E_REFUSED;
	}
	return na;
}

/* Put checked contents in the cache: 0, or -E_* (the block could not be
 * brought back into a full cache) with nothing changed. Only the nw ranges
 * w names differ (next holds their final bytes); w NULL: all of it. */
static long update_apply(uint64_t block, const uint8_t *next, const struct xn_write *w, unsigned nw)
{
	int err;
	uint8_t *cur = bc_get(block, root_of[block], &err);
	if (!cur)
		return err;
	if (!w)
		memcpy(cur, next, PAGE_SIZE);
	for (unsigned i = 0; w && i < nw; i++)
		memcpy(cur + w[i].w_off, next + w[i].w_off, w[i].w_len);
	bc_mark_dirty(block);
	bflags[block] |= B_DIRTY;
	return 0;
}

/* After an accepted change; set_changed: blocks were allocated or freed,
 * so the free map on disk is stale. An allocation takes `taken` free
 * blocks; a free gives none back yet (its blocks stay in use, freeing,
 * until the removal is on disk: xn_sync.c counts again then). Counted, not
 * walked: a walk of every block (count_free) cost more than the whole
 * update's check on a 256 MiB disk under TCG. */
static void counts_changed(bool set_changed, uint64_t taken)
{
	disk_stats.di_cache_dirty = bc_dirty_count();
	if (set_changed) {
		usage_changes++;
		disk_stats.di_xn_free -= taken;
	}
}

static long update(uint64_t uupd, uint64_t cap);
static long move(uint64_t ufrom, uint64_t uto, uint64_t cap);

/* Both hold their blocks in the cache (bc_hold) only while they run. */
long sys_xn_update(uint64_t uupd, uint64_t cap)
{
	long r = update(uupd, cap);
	bc_hold(UINT64_MAX, UINT64_MAX);
	return r;
}

long sys_xn_move(uint64_t ufrom, uint64_t uto, uint64_t cap)
{
	long r = move(ufrom, uto, cap);
	bc_hold(UINT64_MAX, UINT64_MAX);
	return r;
}

static long update(uint64_t uupd, uint64_t cap)
{
	struct env *e = curenv;
	struct xn_update u;
	struct xn_write w[XN_WRITES_MAX];
	long r = update_decode(e, uupd, &u, w);
	if (r < 0 || (r = update_reach(e, &u, cap)) < 0)
		return r;
	bc_hold(u.u_block, UINT64_MAX); /* bc_new below must not evict it */
	if (u.u_op != XN_OP_NONE && (r = check_extent(&u)) < 0)
		return r;
	uint8_t *next = page_kva(copy_ppn);
	long na = update_check(e, &u, w, next);
	if (na < 0)
		return na;
	/* accepted: from here nothing fails but a full cache for a new block */
	const struct xn_extent *x = &u.u_ext;
	int err;
	if (u.u_op == XN_OP_ALLOC && x->x_type != XN_TYPE_DATA &&
	    !bc_new(x->x_start, root_of[u.u_block], &err))
		return err;
	if ((r = update_apply(u.u_block, next, w, u.u_nwrites)) < 0)
		return r;
	claims_remember(u.u_block, after, (int)na);
	uint8_t tree = (uint8_t)root_of[u.u_block];
	for (uint64_t b = x->x_start; u.u_op != XN_OP_NONE && b < x->x_start + x->x_count; b++) {
		if (x->x_type != XN_TYPE_DATA)
			claims_forget(b);
		if (u.u_op == XN_OP_ALLOC) {
			root_of[b] = root_of[u.u_block];
			type_of[b] = (uint8_t)x->x_type;
			parent_of[b] = (uint32_t)u.u_block;
			/* not initialised on disk yet, unless this tree wrote it
			 * since it was last freed (a journal replayed after a cut) */
			bflags[b] = x->x_type != XN_TYPE_DATA ? B_DIRTY
				    : written_by[b] == tree   ? B_INIT
							      : 0;
		} else {
			bc_drop(b); /* a data block's shared copy too: the tree lets go */
			root_of[b] = 0;
			bflags[b] = B_FREEING;
			freed_by[b] = tree;
		}
	}
	counts_changed(u.u_op != XN_OP_NONE, u.u_op == XN_OP_ALLOC ? x->x_count : 0);
	return 0;
}

/* A move's extent: claimed by `from` now as its type, whole. 0 or -E_*. */
static long check_move(const struct xn_update *from, const struct xn_update *to)
{
	const struct xn_extent *x = &from->u_ext;
	if (from->u_op != XN_OP_FREE || to->u_op != XN_OP_ALLOC || from->u_block == to->u_block ||
	    root_of[from->u_block] != root_of[to->u_block] || x->x_start != to->u_ext.x_start ||
	    x->x_count != to->u_ext.x_count || x->x_type != to->u_ext.x_type)
		return -E_INVAL;
	if (x->x_count == 0 || x->x_start >= nblocks || x->x_count > nblocks - x->x_start ||
	    x->x_type > XN_TYPES_MAX || (x->x_type != XN_TYPE_DATA && x->x_count != 1))
		return -E_INVAL;
	for (uint64_t b = x->x_start; b < x->x_start + x->x_count; b++)
		if (root_of[b] != root_of[from->u_block] || parent_of[b] != from->u_block ||
		    type_of[b] != x->x_type || (bflags[b] & B_FREEING))
			return -E_INVAL;
	return 0;
}

static long move(uint64_t ufrom, uint64_t uto, uint64_t cap)
{
	struct env *e = curenv;
	struct xn_update from, to;
	struct xn_write wf[XN_WRITES_MAX], wt[XN_WRITES_MAX];
	long r = update_decode(e, ufrom, &from, wf);
	if (r < 0 || (r = update_decode(e, uto, &to, wt)) < 0)
		return r;
	if ((r = update_reach(e, &from, cap)) < 0 || (r = update_reach(e, &to, cap)) < 0)
		return r;
	if ((r = check_move(&from, &to)) < 0)
		return r;
	bc_hold(from.u_block, to.u_block); /* each read must not evict the other */
	uint8_t *next_from = page_kva(copy_ppn), *next_to = page_kva(copy2_ppn);
	if ((r = update_check(e, &from, wf, next_from)) < 0 ||
	    (r = update_check(e, &to, wt, next_to)) < 0)
		return r;
	/* both blocks change: what the checks said of each is not kept */
	claims_forget(from.u_block);
	claims_forget(to.u_block);
	/* both accepted: the giver first (dirty now, so the cache keeps it),
	 * then the receiver; should the receiver's block not come back into
	 * the cache, the giver is put back as it was */
	int err;
	uint8_t *old = bc_get(from.u_block, root_of[from.u_block], &err);
	if (!old)
		return err;
	memcpy(page_kva(undo_ppn), old, PAGE_SIZE);
	if ((r = update_apply(from.u_block, next_from, NULL, 0)) < 0)
		return r;
	if ((r = update_apply(to.u_block, next_to, NULL, 0)) < 0) {
		update_apply(from.u_block, page_kva(undo_ppn), NULL, 0);
		return r;
	}
	for (uint64_t b = from.u_ext.x_start; b < from.u_ext.x_start + from.u_ext.x_count; b++) {
		parent_of[b] = (uint32_t)to.u_block;
		moved_from[b] = (uint32_t)from.u_block;
		bflags[b] |= B_MOVED;
	}
	counts_changed(false, 0); /* the same blocks are in use */
	return 0;
}
