/*
 * XN's ordered write-back, as a job the device's completions drive: the
 * sync of some trees (disk_flush: the caller's trees; xn_root_sync: one;
 * a cache full of dirty blocks: the tree that needs the room), its data
 * half (disk_flush_data), a raw disk's flush, and the catalogue's writes
 * of a root's creation or removal (xn_root.c says what they are). A dirty metadata block
 * is written only when everything it claims is initialised on disk and,
 * for a moved block, its giver's release is; freed blocks become free
 * once the writes that removed them are flushed. The rules are in xn.c's
 * opening comment and doc/disk.md.
 *
 * One job at a time. It never spins: each step submits requests and
 * returns; the completion of its last one runs the next step (in
 * IRQ_DISK, or in the call that started it). The env that asked sleeps
 * meanwhile (kwait.c) and gets the job's status as its call's result;
 * every other env runs. While a job runs, nothing may change what it is
 * writing or the order it relies on, so calls that would wait for it
 * (kwait.c's restart): a change to one of its trees (xn_update, xn_move,
 * an env's write of one of their blocks), a second job, and the calls
 * that still write XN's own blocks through io_ppn spinning (format). Other trees' changes, reads and binds go
 * on. Steps:
 *
 *   DRAIN     requests submitted before the job began complete (env writes
 *             in flight initialise their blocks)
 *   MAP       the written map's changed blocks (a sync: only if it has
 *             dirty metadata or the map changed), then FLUSH, so env writes
 *             (a journal) are durable before any metadata
 *   PASS      the trees' dirty blocks whose claims are initialised (data
 *             blocks never written get zeros first), pass after pass
 *   FLUSH     then SETTLE: the trees' frees are durable, their blocks free
 *   MAP2, FREEMAP, SUPER, FLUSH: the map, and (disk_flush only) the free
 *             map if what is in use changed since it was last written: a
 *             tree's sync leaves it, as mount rebuilds it anyway
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

#define B_ZEROING 0x10 /* a data block's zeros are being written (bflags) */

enum phase {
	J_IDLE = 0,
	J_DRAIN,
	J_MAP,
	J_MAP_FLUSH,
	J_ZERO,      /* XN_JOB_CATALOGUE: a new root block's zeros */
	J_CATALOGUE, /* ... the catalogue, then (remove) a flush */
	J_PASS,
	J_FLUSH,
	J_SETTLE,
	J_MAP2,
	J_FREEMAP,
	J_SUPER,
	J_LAST_FLUSH,
	J_END,
};

static struct {
	uint8_t phase;
	uint8_t mode;        /* enum xn_job_mode */
	uint32_t trees;      /* bit t - 1: tree t's metadata is written */
	uint64_t mark;       /* requests submitted before the job began */
	unsigned out;        /* its requests not yet completed */
	bool full;           /* the request table was full: go on at any completion */
	int status;          /* the first error */
	envid_t owner;       /* woken with the status; 0: nobody */
	uint64_t fm_next;    /* the free map's next block */
	uint64_t usage_mark; /* usage_changes the free map being written shows */
	uint64_t zero_block; /* XN_JOB_CATALOGUE: a new root's block, or UINT64_MAX */
	bool cat_flush;      /* ... flush after the catalogue (a removal's commit) */
	bool cat_sent;       /* ... the catalogue's write was sent */
	const void *src;     /* ... or (a type) these len bytes to block dst instead */
	size_t len;
	uint64_t dst;
	xn_job_finish_fn *finish; /* ... its call's last step: the result */
	bool write_map;      /* XN_JOB_SYNC: the free map too (disk_flush's) */
} job;

static uint64_t zero_writes;
static bool ignore_moves; /* a sync met a cycle of moves: write anyway */

static uint32_t tree_bit(uint16_t tree)
{
	return tree && tree <= XN_ROOTS_MAX ? 1u << (tree - 1) : 0;
}

/* Is block in the job's trees? A dirty block freed meanwhile belongs to
 * every sync (nothing points to it any more). */
static bool in_job(uint64_t block)
{
	return block >= nblocks || !root_of[block] || (job.trees & tree_bit(root_of[block]));
}

static void job_run(void);

/* A request of the job's ended. */
static void job_done(int status)
{
	job.out--;
	if (status < 0 && job.status == 0)
		job.status = status;
}

static void on_done(uint64_t arg UNUSED, int status)
{
	job_done(status);
	job_run();
}

/* Submit a request of the job's: true if it went (or, for a flush, the
 * device needs none), false if the table is full (the job goes on at the
 * next completion). */
static bool job_io(int op, uint64_t block, ppn_t ppn, disk_kdone_fn *done, uint64_t arg)
{
	int r = op == DISK_KOP_FLUSH ? disk_kernel_flush(done, arg)
				     : disk_kernel_io(op, block, ppn, done, arg);
	if (r == -E_FULL) {
		job.full = true;
		return false;
	}
	if (r > 0 || (op != DISK_KOP_FLUSH && r == 0))
		job.out++;
	return true;
}

static void zeroed(uint64_t block, int status)
{
	bflags[block] &= (uint8_t)~B_ZEROING;
	if (status == 0 && root_of[block]) {
		bflags[block] |= B_INIT;
		set_written(block, (uint8_t)root_of[block]);
		zero_writes++;
	}
	on_done(0, status);
}

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
 * claims is initialised there; data blocks never written get zeros first
 * (and the block waits for the next pass). */
static bool ready_to_write(uint64_t block, const void *page)
{
	if (block >= nblocks || !root_of[block])
		return true; /* freed meanwhile: nothing points to it any more */
	if (!in_job(block))
		return false; /* another tree's: its own sync */
	int n = claims_of(type_of[block], block, page, scratch);
	if (n < 0)
		return false; /* cannot happen: every accepted change was checked */
	bool ready = true;
	for (int i = 0; i < n; i++)
		for (uint64_t k = 0; k < scratch[i].x_count; k++) {
			uint64_t c = scratch[i].x_start + k;
			if ((bflags[c] & B_MOVED) && !ignore_moves && !release_durable(c)) {
				ready = false;
				continue;
			}
			bflags[c] &= (uint8_t)~B_MOVED;
			if (bflags[c] & B_INIT)
				continue;
			ready = false;
			if (scratch[i].x_type == XN_TYPE_DATA && !(bflags[c] & B_ZEROING) &&
			    job_io(DISK_OP_WRITE, c, zero_ppn, zeroed, c))
				bflags[c] |= B_ZEROING;
		}
	return ready;
}

/* A metadata block's write ended; clean: nothing changed it meanwhile. */
static void meta_written(uint64_t block, int status, bool clean)
{
	if (status == 0 && clean && block < nblocks)
		bflags[block] = (uint8_t)((bflags[block] | B_INIT) & ~B_DIRTY); /* on disk now */
	on_done(0, status);
}

static void map_written(uint64_t wb, int status)
{
	if (status < 0)
		written_dirty[wb] = true; /* still to write */
	on_done(0, status);
}

/* Submit the written map's next changed block: false if none is left. */
static bool map_step(void)
{
	for (uint64_t wb = 0; sb.s_written && wb < sb.s_written_blocks; wb++) {
		if (!written_dirty[wb])
			continue;
		uint64_t first = wb * WRITTEN_PER_BLOCK;
		void *p = page_kva(io_ppn);
		memset(p, 0, PAGE_SIZE);
		memcpy(p, written_by + first, MIN(WRITTEN_PER_BLOCK, nblocks - first));
		if (job_io(DISK_OP_WRITE, sb.s_written + wb, io_ppn, map_written, wb))
			written_dirty[wb] = false;
		return true;
	}
	return false;
}

static unsigned dirty_in_job(void)
{
	return bc_dirty_count_if(in_job);
}

static void job_end(long status)
{
	if (job.mode == XN_JOB_CATALOGUE && job.finish)
		status = job.finish(status, job.cat_sent);
	envid_t owner = job.owner;
	job.phase = J_IDLE;
	job.owner = 0;
	job.write_map = false;
	disk_stats.di_cache_dirty = bc_dirty_count();
	/* calls that waited for the job look again, queued before its owner:
	 * an env flushing in a loop cannot keep them waiting for ever */
	disk_wake_restart();
	disk_wake_result(owner, status);
}

/* The metadata path's passes: false when every dirty block is written. */
static bool pass_step(void)
{
	if (!dirty_in_job())
		return false;
	long n = bc_write_pass(ready_to_write, meta_written, &job.full);
	job.out += (unsigned)n;
	if (job.out || job.full)
		return true;
	/* nothing could go: only an env's own cycle of moves (A took from B,
	 * B from A) can wait on itself; it risks that tree alone */
	if (ignore_moves)
		panic("xn_sync: dirty metadata that can never be written");
	cprintf("xn_sync: a cycle of moves; written without their order\n");
	ignore_moves = true;
	return true;
}

static void settle(void)
{
	/* every removal in these trees is on disk now: their freed blocks are free */
	for (uint64_t b = sb.s_data; b < nblocks; b++)
		if ((bflags[b] & B_FREEING) && (job.trees & tree_bit(freed_by[b]))) {
			bflags[b] = 0;
			set_written(b, 0);
			usage_changes++;
		}
}

/* One free map block as the state is now, into io_ppn. */
static void freemap_block(uint64_t fb)
{
	uint8_t *p = page_kva(io_ppn);
	memset(p, 0, PAGE_SIZE);
	for (uint64_t i = 0; i < DISK_BLOCK_SIZE * 8; i++) {
		uint64_t b = fb * DISK_BLOCK_SIZE * 8 + i;
		if (b < nblocks && in_use(b))
			p[i / 8] |= (uint8_t)(1u << (i % 8));
	}
}

/* Take the job as far as it goes without waiting. */
static void job_run(void)
{
	while (job.phase != J_IDLE && job.out == 0) {
		job.full = false;
		if (job.status < 0) {
			job_end(job.status);
			return;
		}
		switch (job.phase) {
		case J_DRAIN:
			if (disk_pending_before(job.mark))
				return; /* xn_job_poke at each completion */
			job.phase = job.mode == XN_JOB_RAW ? J_LAST_FLUSH : J_MAP;
			if (job.mode == XN_JOB_SYNC && !dirty_in_job() && !written_map_dirty())
				job.phase = J_PASS;
			break;
		case J_MAP:
			if (!map_step())
				job.phase = job.mode == XN_JOB_DATA ? J_LAST_FLUSH : J_MAP_FLUSH;
			break;
		case J_MAP_FLUSH:
			if (job_io(DISK_KOP_FLUSH, 0, 0, on_done, 0))
				job.phase = job.mode == XN_JOB_CATALOGUE ? J_CATALOGUE : J_PASS;
			break;
		case J_ZERO:
			if (job.zero_block != UINT64_MAX &&
			    !job_io(DISK_OP_WRITE, job.zero_block, zero_ppn, on_done, 0))
				break;
			/* then no note of a removed tree left in the map on disk */
			job.phase = job.zero_block != UINT64_MAX && written_map_dirty()
					    ? J_MAP
					    : J_CATALOGUE;
			break;
		case J_CATALOGUE:
			memset(page_kva(io_ppn), 0, PAGE_SIZE);
			memcpy(page_kva(io_ppn), job.src ? job.src : cat,
			       job.src ? job.len : sizeof(cat));
			if (job_io(DISK_OP_WRITE, job.src ? job.dst : sb.s_catalogue, io_ppn,
				   on_done, 0)) {
				job.cat_sent = true;
				job.phase = job.cat_flush ? J_LAST_FLUSH : J_END;
			}
			break;
		case J_PASS:
			if (!pass_step())
				job.phase = J_FLUSH;
			break;
		case J_FLUSH:
			if (job_io(DISK_KOP_FLUSH, 0, 0, on_done, 0))
				job.phase = J_SETTLE;
			break;
		case J_SETTLE:
			settle();
			disk_stats.di_cache_dirty = bc_dirty_count();
			job.phase = J_MAP2;
			break;
		case J_MAP2:
			if (map_step())
				break;
			if (usage_changes == usage_on_disk) {
				job.phase = J_END; /* the map on disk is current: one flush did */
				break;
			}
			count_free();
			if (!job.write_map) {
				/* left for disk_flush to write: mount never trusts the
				 * map on disk (it walks the trees) */
				job.phase = J_END;
				break;
			}
			job.fm_next = 0;
			job.usage_mark = usage_changes;
			job.phase = J_FREEMAP;
			break;
		case J_FREEMAP:
			if (job.fm_next == sb.s_freemap_blocks) {
				job.phase = J_SUPER;
				break;
			}
			freemap_block(job.fm_next);
			if (job_io(DISK_OP_WRITE, sb.s_freemap + job.fm_next, io_ppn, on_done, 0))
				job.fm_next++;
			break;
		case J_SUPER:
			sb.s_clean = 0;
			memset(page_kva(io_ppn), 0, PAGE_SIZE);
			memcpy(page_kva(io_ppn), &sb, sizeof(sb));
			if (job_io(DISK_OP_WRITE, 0, io_ppn, on_done, 0)) {
				usage_on_disk = job.usage_mark;
				job.phase = J_LAST_FLUSH;
			}
			break;
		case J_LAST_FLUSH:
			if (job_io(DISK_KOP_FLUSH, 0, 0, on_done, 0))
				job.phase = J_END;
			break;
		case J_END: job_end(0); return;
		}
		if (job.full)
			return; /* the table is full: xn_job_poke goes on */
	}
}

void xn_job_poke(void)
{
	if (job.phase != J_IDLE && job.out == 0)
		job_run();
}

bool xn_job_busy(uint16_t tree)
{
	return job.phase != J_IDLE && (!tree || (job.trees & tree_bit(tree)));
}

bool xn_block_syncing(uint64_t block)
{
	return mounted && block < nblocks && root_of[block] && xn_job_busy(root_of[block]);
}

long xn_job_start(enum xn_job_mode mode, uint32_t trees, envid_t owner)
{
	if (job.phase != J_IDLE)
		panic("xn_job_start: a job is running");
	job.mode = (uint8_t)mode;
	job.trees = trees;
	job.mark = disk_serial();
	job.out = 0;
	job.status = 0;
	job.phase = mode == XN_JOB_RAW_FLUSH   ? J_LAST_FLUSH
		    : mode == XN_JOB_CATALOGUE ? J_ZERO
					       : J_DRAIN;
	if (mode == XN_JOB_SYNC)
		ignore_moves = false;
	job.owner = 0; /* finishing now: the caller returns the status itself */
	job_run();
	if (job.phase == J_IDLE)
		return job.status;
	job.owner = owner;
	return XN_JOB_WAITING;
}

static uint16_t room_tree;

static bool in_room_tree(uint64_t block)
{
	return block < nblocks && root_of[block] == room_tree;
}

long xn_make_room(uint16_t tree)
{
	room_tree = tree;
	if (job.phase != J_IDLE)
		return XN_JOB_WAITING; /* its writes may free entries: look again after */
	if (!mounted || !tree_bit(tree) || !bc_dirty_count_if(in_room_tree))
		return -E_FULL; /* only other trees' uncommitted blocks: not ours to write */
	long r = xn_job_start(XN_JOB_SYNC, tree_bit(tree), 0);
	return r == XN_JOB_WAITING ? r : 0;
}

/* Run a job for the calling env: its status, once it has ended. A job
 * already running: wait for it, then issue the call again. */
static long job_for_caller(enum xn_job_mode mode, uint32_t trees)
{
	if (job.phase != J_IDLE)
		disk_sleep_restart();
	long r = xn_job_start(mode, trees, curenv->env_id);
	if (r == XN_JOB_WAITING)
		disk_sleep_result();
	return r;
}

/* The catalogue's jobs set their fields only once no job runs (a running
 * one's are still in use), then start as any caller's. */
long xn_catalogue_job(uint16_t tree, uint64_t zero_block, bool flush, xn_job_finish_fn *finish)
{
	if (job.phase != J_IDLE)
		disk_sleep_restart();
	job.zero_block = zero_block;
	job.cat_flush = flush;
	job.cat_sent = false;
	job.src = NULL;
	job.finish = finish;
	return job_for_caller(XN_JOB_CATALOGUE, tree_bit(tree));
}

long xn_type_job(uint64_t block, const void *src, size_t len, xn_job_finish_fn *finish)
{
	if (job.phase != J_IDLE)
		disk_sleep_restart();
	job.zero_block = UINT64_MAX;
	job.cat_flush = true;
	job.cat_sent = false;
	job.src = src;
	job.len = len;
	job.dst = block;
	job.finish = finish;
	return job_for_caller(XN_JOB_CATALOGUE, 0);
}

bool xn_block_zeroing(uint64_t block)
{
	return job.phase != J_IDLE && job.mode == XN_JOB_CATALOGUE && job.zero_block == block;
}

/* The trees a key in e's ring reaches with CAP_R: those a flush may write. */
static uint32_t trees_of(struct env *e)
{
	uint32_t t = 0;
	for (unsigned i = 0; i < XN_ROOTS_MAX; i++)
		for (uint64_t slot = 0; cat[i].r_name[0] && slot < CAP_RING; slot++)
			if (cap_check(e, slot, &cat[i].r_guard, CAP_R) == 0) {
				t |= 1u << i;
				break;
			}
	return t;
}

long xn_flush(bool data_only)
{
	if (!mounted)
		return job_for_caller(data_only ? XN_JOB_RAW : XN_JOB_RAW_FLUSH, 0);
	if (data_only)
		return job_for_caller(XN_JOB_DATA, 0);
	if (job.phase != J_IDLE)
		disk_sleep_restart();
	job.write_map = true; /* set once no job runs: job_end clears it */
	return job_for_caller(XN_JOB_SYNC, trees_of(curenv));
}

long sys_xn_root_sync(uint64_t uname, uint64_t cap)
{
	struct env *e = curenv;
	long r, at = mounted_root(e, uname);
	if (at < 0)
		return at;
	if ((r = tree_check(e, cap, (uint16_t)(at + 1), CAP_R)) < 0)
		return r;
	return job_for_caller(XN_JOB_SYNC, tree_bit((uint16_t)(at + 1)));
}
