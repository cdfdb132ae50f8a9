/*
 * XN's ordered write-back (xn_sync, run by disk_flush and when the cache is
 * full of dirty blocks) and its data half (xn_sync_data, disk_flush_data).
 * A dirty metadata block is written only when everything it claims is
 * initialised on disk and, for a moved block, its giver's release is; freed
 * blocks become free once the writes that removed them are flushed. The
 * rules are in xn.c's opening comment and doc/disk.md.
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

/* --- ordering: the sync ----------------------------------------------------------- */

static uint64_t zero_writes;
static uint32_t *const pass_marked = walk_stack; /* free outside mount */
static uint64_t pass_len;
static bool ignore_moves; /* a sync met a cycle of moves: write anyway */
static uint16_t sync_tree; /* the tree a sync writes; 0: every tree */

/* Is the release of moved block c by its giver on disk? The giver is
 * written (not dirty), or was freed since and the block that freed it is
 * written, and so on up; a giver free again is settled. */
static bool release_durable(uint64_t c)
{
	uint64_t g = moved_from[c];
	for (int hops = 0; hops < 64 && g < nblocks; hops++) {
		if (root_of[g])
			return !(bflags[g] & B_DIRTY);
		if (!(bflags[g] & B_FREEING))
			return true;
		g = parent_of[g];
	}
	return ignore_moves;
}

/* May this dirty metadata block go to disk now? Only if everything it
 * claims is initialised there; data blocks never written get zeros now. */
static bool ready_to_write(uint64_t block, const void *page)
{
	if (block >= nblocks || !root_of[block])
		return true; /* freed meanwhile: nothing points to it any more */
	if (sync_tree && root_of[block] != sync_tree)
		return false; /* another tree's: its own sync, or the next full one */
	int n = claims_of(type_of[block], block, page, scratch);
	if (n < 0)
		return false; /* cannot happen: every accepted change was checked */
	bool ready = true;
	for (int i = 0; i < n && ready; i++)
		for (uint64_t k = 0; k < scratch[i].x_count; k++) {
			uint64_t c = scratch[i].x_start + k;
			if ((bflags[c] & B_MOVED) && !ignore_moves && !release_durable(c)) {
				ready = false;
				break;
			}
			bflags[c] &= (uint8_t)~B_MOVED;
			if (bflags[c] & B_INIT)
				continue;
			if (scratch[i].x_type == XN_TYPE_DATA &&
			    disk_kernel_io_sync(DISK_OP_WRITE, c, zero_ppn) == 0) {
				bflags[c] |= B_INIT;
				set_written(c, (uint8_t)root_of[c]);
				zero_writes++;
				continue;
			}
			ready = false;
			break;
		}
	if (ready && pass_len < XN_MAX_BLOCKS)
		pass_marked[pass_len++] = (uint32_t)block;
	return ready;
}

/* The data half of a sync. A file system that journals (lib/fs) writes
 * its data and log, then this, then its commit record: were the record to
 * land before the written map, a replay after a cut would claim blocks XN
 * takes for never written, and they would read as zeros (doc/fs.md). */
long xn_sync_data(void)
{
	disk_kernel_drain(); /* env writes in flight finish: they set their notes */
	long r = write_written_map();
	return r < 0 ? r : disk_kernel_flush_sync();
}

static bool in_sync_tree(uint64_t block)
{
	return block < nblocks && root_of[block] == sync_tree;
}

/* Dirty metadata blocks of tree (every tree's if 0): XN's own view of
 * which tree a block is in (root_of), as ready_to_write has it. */
static unsigned dirty_of(uint16_t tree)
{
	sync_tree = tree;
	return tree ? bc_dirty_count_if(in_sync_tree) : bc_dirty_count();
}

/* Write tree's dirty metadata (every tree's for 0) in XN's order, flush,
 * and settle the frees those writes made durable. Nothing a tree's
 * blocks wait for is in another tree (claims, moves and frees stay in
 * one), so the only shared steps are the env writes and the written map
 * that go first, and the device's flush. */
static long sync_trees(uint16_t tree)
{
	if (!mounted)
		return 0;
	/* env writes in flight finish first: they initialise their blocks */
	disk_kernel_drain();
	/* and are durable, with the written map, before any metadata goes: a
	 * file system's journal, written as data, precedes its home blocks */
	long r = 0;
	if (dirty_of(tree) || written_map_dirty()) {
		if ((r = write_written_map()) < 0 || (r = disk_kernel_flush_sync()) < 0)
			return r;
	}
	ignore_moves = false;
	sync_tree = tree;
	for (int pass = 0; dirty_of(tree); pass++) {
		pass_len = 0;
		long n = bc_write_pass(ready_to_write);
		if (n < 0)
			return n;
		for (uint64_t i = 0; i < pass_len; i++) {
			uint64_t b = pass_marked[i];
			bflags[b] = (uint8_t)((bflags[b] | B_INIT) & ~B_DIRTY); /* on disk now */
		}
		if (n == 0 && !ignore_moves) {
			/* only an env's own cycle of moves (A took from B, B from
			 * A) can wait on itself; it risks that tree alone */
			cprintf("xn_sync: a cycle of moves; written without their order\n");
			ignore_moves = true;
		} else if (n == 0) {
			panic("xn_sync: dirty metadata that can never be written");
		}
	}
	r = disk_kernel_flush_sync();
	if (r < 0)
		return r;
	/* every removal in these trees is on disk now: their freed blocks are free */
	for (uint64_t b = sb.s_data; b < nblocks; b++)
		if ((bflags[b] & B_FREEING) && (!tree || freed_by[b] == tree)) {
			bflags[b] = 0;
			set_written(b, 0);
			usage_changes++;
		}
	disk_stats.di_cache_dirty = bc_dirty_count();
	if ((r = write_written_map()) < 0)
		return r;
	if (usage_changes == usage_on_disk)
		return 0; /* the map on disk is current: the one flush made everything durable */
	count_free();
	if ((r = write_freemap(0)) < 0)
		return r;
	return disk_kernel_flush_sync();
}

long xn_sync(void)
{
	return sync_trees(0);
}

long sys_xn_root_sync(uint64_t uname, uint64_t cap)
{
	struct env *e = curenv;
	long r, at = mounted_root(e, uname);
	if (at < 0)
		return at;
	if ((r = tree_check(e, cap, (uint16_t)(at + 1), CAP_R)) < 0)
		return r;
	return sync_trees((uint16_t)(at + 1));
}
