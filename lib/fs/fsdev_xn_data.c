/*
 * fsdev_xn's file-data cache (fsdev_xn_int.h): DATA_SLOTS pages of data
 * blocks, the disk reached with disk_iov, many blocks a request.
 *
 *   writes   write_data copies the block into a slot and, when it follows
 *            the gathered run's last block, adds it to the run (SL_DIRTY);
 *            a run of DISK_IOV_MAX, a write elsewhere, a barrier, a free
 *            or a need for the slot sends it as one disk_iov. A send the
 *            kernel refuses, or a write the device fails, is kept in
 *            x->werr and returned by the next write_data or barrier, so a
 *            write is never lost without the file system hearing of it.
 *   reads    map() of a block not here reads it alone and waits; prefetch
 *            (lib/fs's hint: the blocks of one extent a read needs next, in
 *            order) issues the first AHEAD_MAX of them as disk_iov reads
 *            without waiting, and map() waits only for the request that
 *            brings the block it wants while the rest are still coming. As
 *            map() reaches the hinted blocks, the next DISK_IOV_MAX are
 *            issued whenever fewer than that are left in flight ahead, so
 *            a long read keeps 32 to 64 blocks coming.
 *
 * A slot in a request (SL_WRITING, SL_READING) is never handed to another
 * block until that request is waited for; eviction takes the least
 * recently used slot that is not in the gathered run. Requests are waited
 * for in any order (disk_wait takes an id), the oldest first when one more
 * is needed than IO_MAX allows.
 *
 * Ownership: as fsdev_xn.c's (one env's copy, forgotten when another env
 * changed the tree).
 */
#include <lib/fs/fsdev_xn_int.h>
#include <lib/fs/errno.h>

#include <inc/error.h>
#include <lib/base/libos.h>
#include <lib/base/syscall.h>
#include <lib/base/vm.h>
#include <common/string.h>

_Static_assert(DATA_SLOTS <= 255 && IO_MAX <= 127, "slot and io indices are bytes");
_Static_assert(AHEAD_MAX + DISK_IOV_MAX < DATA_SLOTS, "room beside read-ahead and run");

static int wait_id(long id)
{
	long r = sys_disk_wait((uint64_t)id, UINT64_MAX);
	while (r == DISK_WAIT_TRANSFER || r == DISK_WAIT_TIMEOUT)
		r = sys_disk_wait((uint64_t)id, UINT64_MAX);
	return r == DISK_WAIT_DONE ? 0 : -EIO;
}

/* Wait for request i and settle its slots. A failed read leaves its slots
 * empty (map() reads again and reports it); a failed write is kept. */
static int io_wait(struct xdev *x, int i)
{
	struct xio *q = &x->io[i];
	int r = wait_id(q->id);
	for (unsigned k = 0; k < q->n; k++) {
		struct slot *sl = &x->slots[q->slot[k]];
		bool writing = sl->state == SL_WRITING;
		if (r == 0) {
			sl->state = SL_CLEAN;
		} else {
			sl->state = SL_EMPTY, sl->blk = NO_BLOCK;
			if (writing && !x->werr)
				x->werr = -EIO;
		}
		sl->io = -1;
	}
	q->id = -1;
	return r;
}

/* Wait for our oldest request: false if we have none. */
static bool io_wait_oldest(struct xdev *x)
{
	int old = -1;
	for (int i = 0; i < IO_MAX; i++)
		if (x->io[i].id >= 0 && (old < 0 || x->io[i].serial < x->io[old].serial))
			old = i;
	if (old < 0)
		return false;
	io_wait(x, old);
	return true;
}

/* A free entry of io[], waiting for the oldest request if need be. */
static int io_entry(struct xdev *x)
{
	for (;;) {
		for (int i = 0; i < IO_MAX; i++)
			if (x->io[i].id < 0)
				return i;
		io_wait_oldest(x);
	}
}

/* Start op on the n slots s[] (blocks blk..blk+n-1): 0 or the kernel's
 * error. No request to be had (E_FULL: our share of the kernel's table
 * taken, or the table held by others) is waited out like a full cache:
 * our own requests first, then fsdev_xn_room_wait's sleeps. */
static long io_start(struct xdev *x, int op, uint64_t blk, const uint8_t *s, unsigned n)
{
	int i = io_entry(x);
	uint64_t va[DISK_IOV_MAX];
	for (unsigned k = 0; k < n; k++)
		va[k] = (uint64_t)x->slots[s[k]].page;
	uint64_t until = 0;
	long id;
	while ((id = sys_disk_iov((uint64_t)op, blk, va, n, x->cap)) == -E_FULL &&
	       (io_wait_oldest(x) || fsdev_xn_room_wait(x, &until)))
		;
	if (id < 0)
		return id;
	struct xio *q = &x->io[i];
	q->id = id, q->serial = ++x->io_serial, q->n = (uint8_t)n;
	for (unsigned k = 0; k < n; k++) {
		q->slot[k] = s[k];
		x->slots[s[k]].io = (int8_t)i;
		x->slots[s[k]].state = op == DISK_OP_READ ? SL_READING : SL_WRITING;
	}
	return 0;
}

void xd_send(struct xdev *x)
{
	unsigned n = x->nrun;
	if (n == 0)
		return;
	x->nrun = 0;
	long r = io_start(x, DISK_OP_WRITE, x->run_start, x->run, n);
	if (r < 0) {
		for (unsigned k = 0; k < n; k++) /* not on disk: not a copy of it */
			x->slots[x->run[k]].state = SL_EMPTY, x->slots[x->run[k]].blk = NO_BLOCK;
		if (!x->werr)
			x->werr = fsdev_xn_errno(r);
		return;
	}
	x->st.data_write_reqs++;
}

/* Slot s no longer in a request. */
static int settle(struct xdev *x, int s)
{
	struct slot *sl = &x->slots[s];
	if (sl->state == SL_DIRTY)
		xd_send(x);
	if (sl->state == SL_WRITING || sl->state == SL_READING)
		return io_wait(x, sl->io);
	return 0;
}

static int slot_find(struct xdev *x, uint64_t blk)
{
	for (int i = 0; i < DATA_SLOTS; i++)
		if (x->slots[i].blk == blk)
			return i;
	return -1;
}

/* An empty slot: the least recently used one not in the run, settled. */
static int slot_new(struct xdev *x)
{
	int s = -1;
	for (int i = 0; i < DATA_SLOTS; i++)
		if (x->slots[i].state != SL_DIRTY && (s < 0 || x->slots[i].used < x->slots[s].used))
			s = i;
	settle(x, s); /* a failure is kept (write) or forgotten (read) */
	x->slots[s].blk = NO_BLOCK, x->slots[s].state = SL_EMPTY;
	x->slots[s].used = ++x->tick;
	return s;
}

/* A read is about to land in slot s's page: make it ours and writable
 * first. After a fork the page is shared copy-on-write, bound read-only
 * (disk_iov refuses it, and the device must not write where the other
 * process sees it); a write to it makes our copy. */
static void slot_for_read(struct xdev *x, int s)
{
	*(volatile uint8_t *)x->slots[s].page = 0;
}

static void issue_ahead(struct xdev *x, uint64_t blk, uint64_t count);

const void *xd_cached(struct xdev *x, uint64_t blk)
{
	if (blk < x->ahead_end && x->ahead_end < x->hint_end &&
	    x->ahead_end - blk <= DISK_IOV_MAX && blk + AHEAD_MAX > x->ahead_end) {
		uint64_t from = x->ahead_end;
		uint64_t n = MIN(x->hint_end - from, (uint64_t)DISK_IOV_MAX);
		x->ahead_end = from + n;
		issue_ahead(x, from, n);
	}
	int s = slot_find(x, blk);
	if (s < 0)
		return NULL;
	if (x->slots[s].state == SL_READING)
		io_wait(x, x->slots[s].io);
	if (x->slots[s].state == SL_EMPTY)
		return NULL; /* its read failed: read it again */
	x->slots[s].used = ++x->tick;
	return x->slots[s].page;
}

const void *xd_read(struct xdev *x, uint64_t blk)
{
	int s = slot_new(x);
	slot_for_read(x, s);
	uint8_t one = (uint8_t)s;
	x->slots[s].blk = blk;
	if (io_start(x, DISK_OP_READ, blk, &one, 1) < 0) {
		x->slots[s].blk = NO_BLOCK;
		return NULL;
	}
	x->st.data_reads++;
	x->st.data_read_reqs++;
	if (io_wait(x, x->slots[s].io) < 0)
		return NULL;
	return x->slots[s].page;
}

int xd_write(struct xdev *x, uint64_t blk, const void *data)
{
	int s = slot_find(x, blk);
	if (s >= 0 && x->slots[s].state == SL_DIRTY && !x->werr) {
		memcpy(x->slots[s].page, data, FS_BLOCK); /* written again before it left */
		x->slots[s].used = ++x->tick;
		x->st.data_writes++;
		return 0;
	}
	if (x->nrun && (blk != x->run_start + x->nrun || x->nrun == DISK_IOV_MAX))
		xd_send(x);
	if (x->werr) { /* an earlier gathered write failed: say so, take nothing */
		int e = x->werr;
		x->werr = 0;
		return e;
	}
	s = slot_find(x, blk); /* the send may have emptied it */
	if (s >= 0) {
		settle(x, s);
		x->slots[s].used = ++x->tick;
	} else {
		s = slot_new(x);
	}
	struct slot *sl = &x->slots[s];
	memcpy(sl->page, data, FS_BLOCK);
	sl->blk = blk, sl->state = SL_DIRTY;
	if (x->nrun == 0)
		x->run_start = blk;
	x->run[x->nrun++] = (uint8_t)s;
	x->st.data_writes++;
	if (x->nrun == DISK_IOV_MAX)
		xd_send(x);
	return 0;
}

/* Is blk in the kernel's registry (a metadata block, or a data block some
 * env registered)? Then map() must bind it, not read the disk. */
static bool registered(uint64_t blk)
{
	const volatile struct bc_entry *reg = (const volatile struct bc_entry *)UBCACHE;
	for (int i = 0; i < BC_ENTRIES; i++)
		if (reg[i].be_state && reg[i].be_block == blk)
			return true;
	return false;
}

/* Read-ahead: the data blocks [blk, blk + count) of one extent, which
 * map() will ask for next, issued as disk_iov reads of the blocks we do
 * not hold (runs of up to DISK_IOV_MAX), AHEAD_MAX blocks at most; map()
 * waits for each when it needs it. Blocks we hold or that map() would
 * bind from the registry are left to map(). Returns how many blocks from
 * blk on it covered. */
long xd_prefetch(struct xdev *x, uint64_t blk, uint64_t count)
{
	if (count == 0 || blk < x->first_data || blk >= x->nblocks || count > x->nblocks - blk)
		return -EINVAL;
	uint64_t now = MIN(count, (uint64_t)AHEAD_MAX);
	x->hint_end = blk + count;
	x->ahead_end = blk + now;
	issue_ahead(x, blk, now);
	return (long)now; /* and map() issues more of the hint as it goes */
}

/* Issue disk_iov reads of the blocks of [blk, blk + count) we do not hold. */
static void issue_ahead(struct xdev *x, uint64_t blk, uint64_t count)
{
	uint8_t s[DISK_IOV_MAX];
	unsigned n = 0;
	uint64_t start = blk;
	for (uint64_t b = blk; b <= blk + count; b++) {
		bool want = b < blk + count && slot_find(x, b) < 0 && !fsdev_xn_meta_find(x, b) &&
			    !registered(b);
		if (n && (!want || n == DISK_IOV_MAX)) {
			if (io_start(x, DISK_OP_READ, start, s, n) < 0) {
				for (unsigned k = 0; k < n; k++) /* map() reads them itself */
					x->slots[s[k]].blk = NO_BLOCK;
			} else {
				x->st.data_reads += n;
				x->st.data_read_reqs++;
			}
			n = 0;
		}
		if (want) {
			if (n == 0)
				start = b;
			int k = slot_new(x);
			slot_for_read(x, k);
			x->slots[k].blk = b;
			s[n++] = (uint8_t)k;
		}
	}
}

void xd_drop(struct xdev *x, uint64_t blk)
{
	int s = slot_find(x, blk);
	if (s < 0)
		return;
	settle(x, s);
	x->slots[s].blk = NO_BLOCK, x->slots[s].state = SL_EMPTY;
}

int xd_wait_all(struct xdev *x)
{
	xd_send(x);
	for (int i = 0; i < IO_MAX; i++)
		if (x->io[i].id >= 0)
			io_wait(x, i);
	int e = x->werr;
	x->werr = 0;
	return e;
}

int xd_forget(struct xdev *x)
{
	int r = xd_wait_all(x);
	x->ahead_end = x->hint_end = 0;
	for (int i = 0; i < DATA_SLOTS; i++)
		x->slots[i].blk = NO_BLOCK, x->slots[i].state = SL_EMPTY;
	return r;
}

int xd_open(struct xdev *x)
{
	x->slot_pages = vm_alloc((uint64_t)DATA_SLOTS * FS_BLOCK);
	if (!x->slot_pages)
		return -ENOMEM;
	for (int i = 0; i < DATA_SLOTS; i++) {
		x->slots[i] = (struct slot){ NO_BLOCK, SL_EMPTY, -1, 0,
					     x->slot_pages + (size_t)i * FS_BLOCK };
		memset(x->slots[i].page, 0, FS_BLOCK); /* bound now: DMA needs it */
	}
	for (int i = 0; i < IO_MAX; i++)
		x->io[i].id = -1;
	return 0;
}

void xd_close(struct xdev *x)
{
	if (x->slot_pages)
		vm_unmap((uint64_t)x->slot_pages, (uint64_t)DATA_SLOTS * FS_BLOCK);
	x->slot_pages = NULL;
}
