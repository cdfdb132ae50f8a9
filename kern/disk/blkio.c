/*
 * Block requests: the one table of every disk transfer in the kernel, on
 * behalf of envs (sys_disk_io, sys_disk_wait, sys_disk_flush) and of the
 * kernel itself (XN's metadata cache, mount).
 *
 * A request moves one DISK_BLOCK_SIZE block between the disk and one
 * physical page, or (sys_disk_iov) up to DISK_IOV_MAX consecutive blocks
 * and as many pages, as one device request: an env's own user pages (zero
 * copy: the device reads or writes them directly) or a kernel page. From
 * submission until the device is done each page is pinned (pmap.c): if its
 * owner frees it, dies, or the abort protocol takes it meanwhile, the
 * kernel keeps the page unbound and frees it when the transfer ends, so
 * the device never writes into a page that has changed hands. The device
 * is notified once per batch: after a system call's request, and after a
 * completion has refilled its slots from the queue (run_queue). Requests beyond the device's VBLK_SLOTS wait in
 * a FIFO queue here, so an env may keep up to DISK_REQS_PER_ENV requests
 * outstanding and no env can take more than that share of the table.
 *
 * An env names a request by the id sys_disk_io returned (slot and a
 * sequence number, so a stale id finds nothing). A finished request stays
 * in the table until its env collects the status with sys_disk_wait; an
 * env waiting for it sleeps and is woken by the completion (value
 * DISK_WAIT_DONE). The env dying drops its finished and queued requests;
 * those with the device finish unowned.
 *
 * Authority is XN's (xn_io_check): this file only checks the page.
 *
 * Locking: the big kernel lock (system calls and IRQ_DISK alike).
 */
#include <inc/error.h>
#include <inc/page.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/arch/lapic.h>
#include <kern/arch/x86.h>
#include <kern/env/env.h>
#include <kern/mem/pmap.h>
#include <kern/mem/stlb.h>
#include <kern/mem/vm.h>
#include <kern/dev/virtio_blk.h>
#include <kern/disk/bcache.h>
#include <kern/disk/disk.h>
#include <common/string.h>

#define SECTORS_PER_BLOCK (DISK_BLOCK_SIZE / VBLK_SECTOR)
#define OP_FLUSH DISK_KOP_FLUSH
#define KERNEL_RESERVE 16 /* requests envs can never take: the kernel's write-backs */

enum req_state { R_FREE = 0, R_QUEUED, R_DEVICE, R_DONE };

struct req {
	uint8_t r_state;       /* enum req_state */
	uint8_t r_op;          /* DISK_OP_*, OP_FLUSH */
	uint16_t r_seq;        /* bumped at each reuse: ids of old requests die */
	envid_t r_env;         /* the env's, 0: the kernel's or abandoned */
	int r_status;          /* R_DONE: 0 or -E_IO */
	uint8_t r_n;            /* blocks (pages): 1, up to DISK_IOV_MAX for disk_iov */
	uint64_t r_block;       /* the first */
	ppn_t r_ppn[DISK_IOV_MAX];
	disk_kdone_fn *r_kdone; /* kernel requests: called at completion */
	uint64_t r_karg;
	uint16_t r_cache;      /* registry entry + 1 of a data block's copy (sys_disk_cache) */
	bool r_waited;         /* its env sleeps in sys_disk_wait for it */
	uint64_t r_serial;     /* submission number: a job's drain waits for the older ones */
	uint64_t r_wait_until; /* ... with this env_sleep_until */
};

struct disk_info disk_stats;
static struct req reqs[DISK_REQS];
static uint16_t queue[DISK_REQS]; /* R_QUEUED requests, oldest first */
static unsigned qhead, qlen;
static unsigned per_env[NENV];    /* requests each env slot holds */
static unsigned env_total;        /* ... and all envs together */
static uint64_t serial;           /* requests submitted so far */
static bool wake_at_completion;   /* restart sleepers wait for room in the table */

bool disk_present(void)
{
	return virtio_blk_present();
}

uint64_t disk_blocks(void)
{
	return virtio_blk_sectors() / SECTORS_PER_BLOCK;
}

static uint64_t req_id(const struct req *r)
{
	return (uint64_t)r->r_seq * DISK_REQS + (uint64_t)(r - reqs);
}

_Static_assert(DISK_IOV_MAX == VBLK_SEGS_MAX, "a disk_iov is one device request");
_Static_assert(DISK_BLOCK_SIZE == PAGE_SIZE, "a block is a page");

static int to_device(struct req *r)
{
	enum vblk_op op = r->r_op == OP_FLUSH       ? VBLK_FLUSH
			  : r->r_op == DISK_OP_READ ? VBLK_READ
						    : VBLK_WRITE;
	physaddr_t pa[DISK_IOV_MAX];
	for (unsigned i = 0; i < r->r_n; i++)
		pa[i] = (physaddr_t)r->r_ppn[i] << PAGE_SHIFT;
	int s = virtio_blk_submit(op, r->r_block * SECTORS_PER_BLOCK, pa,
				  op == VBLK_FLUSH ? 0 : r->r_n, req_id(r));
	if (s == 0)
		r->r_state = R_DEVICE;
	return s;
}

static void completed(uint64_t tag, int status);

/* Start queued requests while the device has room; notify it once unless
 * told not to (a DISK_OP_MORE call: the batch's last call, disk_wait or
 * disk_tick notifies it). */
static void run_queue_kick(bool kick)
{
	while (qlen) {
		struct req *r = &reqs[queue[qhead]];
		int s = to_device(r);
		if (s == -E_AGAIN)
			break;
		qhead = (qhead + 1) % DISK_REQS;
		qlen--;
		if (s < 0) {
			/* checked at submission; a kernel write to a read-only
			 * disk would end here: it fails, the kernel goes on */
			cprintf("disk: the device refused a request: %e\n", s);
			r->r_state = R_DEVICE;
			completed(req_id(r), -E_IO);
		}
	}
	if (kick)
		virtio_blk_kick();
}

static void run_queue(void)
{
	run_queue_kick(true);
}

void disk_tick(void)
{
	virtio_blk_kick(); /* a DISK_OP_MORE caller that never came back */
}

static unsigned reqs_used; /* requests not R_FREE */

static struct req *req_new(void)
{
	for (struct req *r = reqs; r < reqs + DISK_REQS; r++)
		if (r->r_state == R_FREE) {
			reqs_used++;
			r->r_seq++;
			r->r_kdone = NULL;
			r->r_cache = 0;
			r->r_waited = false;
			r->r_env = 0;
			r->r_n = 1;
			return r;
		}
	return NULL;
}

static void req_free(struct req *r)
{
	if (r->r_env) {
		per_env[ENVX(r->r_env)]--;
		env_total--;
	}
	r->r_state = R_FREE;
	r->r_env = 0;
	reqs_used--;
}

static void pin_all(const struct req *r)
{
	for (unsigned i = 0; r->r_op != OP_FLUSH && i < r->r_n; i++)
		page_pin(r->r_ppn[i]);
}

static void unpin_all(const struct req *r)
{
	for (unsigned i = 0; r->r_op != OP_FLUSH && i < r->r_n; i++)
		page_unpin(r->r_ppn[i]);
}

/* Queue r (filled in) and start what the device can take. */
static void submit(struct req *r, bool kick)
{
	pin_all(r);
	r->r_state = R_QUEUED;
	r->r_serial = serial++;
	queue[(qhead + qlen) % DISK_REQS] = (uint16_t)(r - reqs);
	qlen++;
	run_queue_kick(kick);
	disk_stats.di_queued = qlen;
}

uint64_t disk_serial(void)
{
	return serial;
}

bool disk_pending_before(uint64_t mark)
{
	for (struct req *r = reqs; r < reqs + DISK_REQS; r++)
		if ((r->r_state == R_QUEUED || r->r_state == R_DEVICE) && r->r_serial < mark)
			return true;
	return false;
}

void disk_wake_at_completion(void)
{
	wake_at_completion = true;
}

static void finish(struct req *r, int status);

/* Writes the device has completed, and how many of them the last flush
 * sent covers: a flush with none since is not sent (disk_kernel_flush). */
static uint64_t writes_completed, writes_at_flush;

/* The driver's completion: then whatever waited for any request to end. */
static void completed(uint64_t tag, int status)
{
	struct req *r = &reqs[tag % DISK_REQS];
	if (r->r_state != R_DEVICE || req_id(r) != tag)
		panic("completed: request %lu is not with the device", tag);
	if (r->r_op == DISK_OP_WRITE)
		writes_completed++;
	else if (r->r_op == OP_FLUSH && status < 0)
		writes_at_flush = UINT64_MAX; /* it covered nothing: the next one goes */
	finish(r, status);
	if (wake_at_completion) {
		wake_at_completion = false;
		disk_wake_restart();
	}
	xn_job_poke();
}

static void finish(struct req *r, int status)
{
	unpin_all(r);
	if (status < 0) {
		disk_stats.di_errors++;
		cprintf("disk: %s of block %lu (%u) failed\n",
			r->r_op == DISK_OP_READ    ? "read"
			: r->r_op == DISK_OP_WRITE ? "write"
						   : "flush",
			r->r_block, r->r_n);
	}
	r->r_status = status;
	r->r_state = R_DONE;
	if (r->r_kdone) {
		disk_kdone_fn *fn = r->r_kdone;
		uint64_t arg = r->r_karg;
		req_free(r);
		fn(arg, status);
		return;
	}
	for (unsigned i = 0; r->r_op == DISK_OP_WRITE && status == 0 && i < r->r_n; i++)
		xn_block_written(r->r_block + i);
	if (r->r_cache)
		bc_data_done(r->r_cache - 1u, r->r_block, r->r_ppn[0], r->r_op, status);
	struct env *e = r->r_env ? env_lookup(r->r_env) : NULL;
	if (!e) {
		req_free(r); /* abandoned: its env died */
		return;
	}
	if (r->r_waited && e->env_info->env_status == ENV_BLOCKED &&
	    e->env_sleep_until == r->r_wait_until) {
		long v = status < 0 ? status : DISK_WAIT_DONE;
		req_free(r);
		sched_wake(e, v);
	}
}

/*
 * Polling before the CPU halts (sched_idle_register). When nothing is
 * runnable and requests are with the device, the CPU watches the device's
 * ring for up to IDLE_POLL_US before it halts, and a completion found is
 * handled as its interrupt's would be (the interrupt, when it comes, finds
 * nothing). Under QEMU a halted CPU is woken from another host thread, a
 * cost a lone request pays on top of the device's own work; a CPU with
 * nothing else to do loses nothing by watching instead. Long requests
 * still end in a halt, and the interrupt ends that. The poll runs with
 * interrupts off and the big lock held, so it stops as soon as another
 * interrupt (the network's, the clock's) waits, and the halt takes it.
 * One CPU's design: with CPUs beside it, 200 µs holding the big lock would
 * keep them out of the kernel, so the poll must then drop the lock (and
 * take it again to deliver what it found).
 */
#define IDLE_POLL_US 200

static bool idle_poll(void)
{
	if (!virtio_blk_in_flight())
		return false;
	virtio_blk_kick(); /* what a DISK_OP_MORE batch left untold */
	/* no interrupts meanwhile: one raised now would be taken as soon as
	 * the woken env runs, only to find its completion handled */
	virtio_blk_interrupts(false);
	uint64_t end = rdtsc() + tsc_hz / 1000000 * IDLE_POLL_US;
	bool found;
	while (!(found = virtio_blk_reap()) && rdtsc() < end && !lapic_irq_pending())
		__asm__ volatile("pause");
	virtio_blk_interrupts(true);
	if (!found && !virtio_blk_reap())
		return false; /* the next completion interrupts the halt */
	run_queue();
	disk_stats.di_queued = qlen;
	disk_stats.di_idle_polled++;
	return true;
}

void disk_irq(void)
{
	virtio_blk_irq();
	run_queue();
	disk_stats.di_queued = qlen;
}

static int kernel_request(int op, uint64_t block, ppn_t ppn, disk_kdone_fn *done, uint64_t arg)
{
	struct req *r = req_new();
	if (!r)
		return -E_FULL;
	r->r_op = (uint8_t)op;
	r->r_block = block;
	r->r_ppn[0] = ppn;
	r->r_kdone = done;
	r->r_karg = arg;
	if (op == DISK_OP_READ)
		disk_stats.di_reads++;
	else if (op == DISK_OP_WRITE)
		disk_stats.di_writes++;
	else
		disk_stats.di_flushes++;
	submit(r, true);
	return 0;
}

int disk_kernel_io(int op, uint64_t block, ppn_t ppn, disk_kdone_fn *done, uint64_t arg)
{
	return kernel_request(op, block, ppn, done, arg);
}

int disk_kernel_flush(disk_kdone_fn *done, uint64_t arg)
{
	if (!virtio_blk_has_flush())
		return 0; /* write-through: completed writes are on the medium */
	if (writes_completed == writes_at_flush)
		return 0; /* every completed write is behind a flush already sent */
	int r = kernel_request(OP_FLUSH, 0, 0, done, arg);
	if (r >= 0)
		writes_at_flush = writes_completed;
	return r < 0 ? r : 1;
}

static void sync_done(uint64_t arg, int status)
{
	*(int *)arg = status;
}

/* Spin until *status is set (it starts at 1). */
static int spin_for(volatile int *status)
{
	while (*status == 1) {
		if (!virtio_blk_poll())
			panic("disk: the device stopped answering");
		run_queue();
	}
	return *status;
}

int disk_kernel_io_sync(int op, uint64_t block, ppn_t ppn)
{
	volatile int status = 1;
	int r = kernel_request(op, block, ppn, sync_done, (uint64_t)&status);
	return r < 0 ? r : spin_for(&status);
}

int disk_kernel_flush_sync(void)
{
	if (!virtio_blk_has_flush())
		return 0; /* write-through: completed writes are on the medium */
	volatile int status = 1;
	int r = kernel_request(OP_FLUSH, 0, 0, sync_done, (uint64_t)&status);
	return r < 0 ? r : spin_for(&status);
}

void disk_kernel_drain(void)
{
	while (virtio_blk_in_flight() || qlen) {
		if (!virtio_blk_poll())
			panic("disk: the device stopped answering");
		run_queue();
	}
}

void disk_init(void)
{
	virtio_blk_init();
	virtio_blk_set_done(completed);
	if (!virtio_blk_present())
		return;
	sched_idle_register(idle_poll);
	disk_stats.di_blocks = disk_blocks();
	disk_stats.di_flush = virtio_blk_has_flush();
	disk_stats.di_read_only = virtio_blk_read_only();
	xn_init();
}

void disk_env_gone(struct env *e, enum env_end how UNUSED)
{
	kwait_env_gone(e);
	/* queued ones never reach the device: unpin them now */
	unsigned kept = 0;
	for (unsigned i = 0; i < qlen; i++) {
		uint16_t x = queue[(qhead + i) % DISK_REQS];
		struct req *r = &reqs[x];
		if (r->r_env == e->env_id) {
			unpin_all(r);
			req_free(r);
		} else {
			queue[(qhead + kept++) % DISK_REQS] = x;
		}
	}
	qlen = kept;
	disk_stats.di_queued = qlen;
	for (struct req *r = reqs; r < reqs + DISK_REQS; r++) {
		if (r->r_env != e->env_id || r->r_kdone)
			continue;
		if (r->r_state == R_DONE) {
			req_free(r);
		} else if (r->r_state == R_DEVICE) {
			per_env[ENVX(r->r_env)]--;
			env_total--;
			r->r_env = 0; /* finishes unowned; its page stays pinned till then */
		}
	}
}

/* --- system calls ------------------------------------------------------------ */

long sys_disk_info(uint64_t out)
{
	if (!disk_present())
		return -E_NOT_FOUND;
	disk_stats.di_in_flight = virtio_blk_in_flight();
	disk_stats.di_kicks = virtio_blk_kicks();
	disk_stats.di_iov_max = virtio_blk_max_segs();
	disk_stats.di_indirect = virtio_blk_indirect();
	if (copy_to_user(curenv->env_vm, out, &disk_stats, sizeof(disk_stats)) < 0)
		return -E_FAULT;
	return 0;
}

/* Is there room for one more request of e's? */
static bool env_room(struct env *e)
{
	return per_env[ENVX(e->env_id)] < DISK_REQS_PER_ENV &&
	       env_total < DISK_REQS - KERNEL_RESERVE && reqs_used < DISK_REQS;
}

/* No request for e although it is under its own share: XN's write-back
 * (which takes every free request it can) or other envs hold the table.
 * While any request is with the device or queued for it, e sleeps until
 * one ends and issues its call again (it has changed nothing yet), so a
 * sync elsewhere never fails a transfer. Only a table held by finished
 * requests that nobody collects (no completion to come) answers E_FULL,
 * as does e's own share: its own requests to wait for. */
static void wait_for_room(struct env *e)
{
	if (env_room(e) || per_env[ENVX(e->env_id)] >= DISK_REQS_PER_ENV)
		return;
	if (!virtio_blk_in_flight() && !qlen)
		return;
	virtio_blk_kick(); /* DISK_OP_MORE requests left untold end too */
	disk_wake_at_completion();
	disk_sleep_restart();
}

/* Start op on the n pages ppn[] (blocks block..block+n-1) for e (checked);
 * cache: registry entry + 1, or 0; kick: notify the device now (else a
 * DISK_OP_MORE batch's later call does). The id, or -E_FULL. */
static long env_request(struct env *e, int op, uint64_t block, const ppn_t *ppn, unsigned n,
			unsigned cache, bool kick)
{
	if (!env_room(e))
		return -E_FULL;
	struct req *r = req_new();
	if (!r)
		return -E_FULL;
	r->r_op = (uint8_t)op;
	r->r_block = block;
	r->r_n = (uint8_t)n;
	for (unsigned i = 0; i < n; i++)
		r->r_ppn[i] = ppn[i];
	r->r_env = e->env_id;
	r->r_cache = (uint16_t)cache;
	per_env[ENVX(e->env_id)]++;
	env_total++;
	if (op == DISK_OP_READ)
		disk_stats.di_reads += n;
	else
		disk_stats.di_writes += n;
	submit(r, kick);
	return (long)req_id(r);
}

/* The page e binds at va, checked for a transfer of op: its number, or
 * -E_FAULT (nothing bound, or read-only for a read) / -E_PERM (not a user
 * page e owns). */
static long env_page(struct env *e, int op, uint64_t va)
{
	const struct binding *b = stlb_lookup(e->env_vm, va);
	if (!b || (op == DISK_OP_READ && !(b->b_rights & BIND_WRITE)))
		return -E_FAULT;
	if (pages[b->b_ppn].pg_type != PAGE_USER || pages[b->b_ppn].pg_owner != e->env_id)
		return -E_PERM;
	return (long)b->b_ppn;
}

/* disk_io and disk_iov: op (DISK_OP_MORE or'd in, perhaps) on the n
 * pages e binds at va[] and blocks block..block+n-1, every argument checked
 * before anything starts. */
static long transfer(struct env *e, uint64_t op, uint64_t block, const uint64_t *va, uint64_t n,
		     uint64_t cap)
{
	ppn_t ppn[DISK_IOV_MAX];
	bool more = op & DISK_OP_MORE;
	op &= ~(uint64_t)DISK_OP_MORE;
	if (op != DISK_OP_READ && op != DISK_OP_WRITE)
		return -E_INVAL;
	for (unsigned i = 0; i < n; i++)
		if (va[i] % PAGE_SIZE || va[i] >= UTOP)
			return -E_INVAL;
	if (!disk_present())
		return -E_NOT_FOUND;
	if (n > virtio_blk_max_segs())
		return -E_INVAL; /* a device with a tiny queue and no indirect descriptors */
	if (block >= disk_blocks() || n > disk_blocks() - block)
		return -E_RANGE;
	for (unsigned i = 0; i < n; i++) {
		long p = env_page(e, (int)op, va[i]);
		if (p < 0)
			return p;
		ppn[i] = (ppn_t)p;
	}
	long c = xn_io_check(e, (int)op, block, n, cap);
	if (c < 0)
		return c;
	if (op == DISK_OP_WRITE && disk_stats.di_read_only)
		return -E_PERM;
	for (unsigned i = 0; op == DISK_OP_WRITE && i < n; i++)
		if (xn_block_syncing(block + i))
			disk_sleep_restart(); /* its tree's sync may be zeroing it: after that */
	wait_for_room(e);
	return env_request(e, (int)op, block, ppn, (unsigned)n, 0, !more);
}

long sys_disk_io(uint64_t op, uint64_t block, uint64_t va, uint64_t cap)
{
	return transfer(curenv, op, block, &va, 1, cap);
}

long sys_disk_iov(uint64_t op, uint64_t block, uint64_t uvas, uint64_t n, uint64_t cap)
{
	struct env *e = curenv;
	uint64_t va[DISK_IOV_MAX];
	if (n == 0 || n > DISK_IOV_MAX)
		return -E_INVAL;
	if (copy_from_user(e->env_vm, va, uvas, n * sizeof(va[0])) < 0)
		return -E_FAULT;
	long id = transfer(e, op, block, va, n, cap);
	if (id >= 0)
		disk_stats.di_iov++;
	return id;
}

long sys_disk_wait(uint64_t id, uint64_t ticks)
{
	struct env *e = curenv;
	struct req *r = &reqs[id % DISK_REQS];
	if (!disk_present())
		return -E_NOT_FOUND;
	if (r->r_state == R_FREE || req_id(r) != id || r->r_env != e->env_id || r->r_kdone)
		return -E_NOT_FOUND;
	if (r->r_state == R_DONE) {
		int s = r->r_status;
		req_free(r);
		return s < 0 ? s : DISK_WAIT_DONE;
	}
	virtio_blk_kick(); /* it may wait untold in the ring (DISK_OP_MORE) */
	if (e->env_pct_qlen)
		return DISK_WAIT_TRANSFER;
	if (ticks == 0)
		return DISK_WAIT_TIMEOUT;
	sched_sleep(e, ticks);
	r->r_waited = true;
	r->r_wait_until = e->env_sleep_until;
	sched_yield();
}

/* Both sleep while the device works (xn_sync.c's job); a flush of XN
 * writes the metadata of the trees the caller's keys reach. */
long sys_disk_flush(void)
{
	if (!disk_present())
		return -E_NOT_FOUND;
	return xn_flush(false);
}

long sys_disk_flush_data(void)
{
	if (!disk_present())
		return -E_NOT_FOUND;
	return xn_flush(true);
}

long sys_disk_cache(uint64_t op, uint64_t block, uint64_t va, uint64_t cap)
{
	struct env *e = curenv;
	if (op > DISK_CACHE_DROP)
		return -E_INVAL;
	if (!disk_present() || disk_stats.di_xn != XN_STATE_MOUNTED)
		return -E_NOT_FOUND;
	if (block >= disk_blocks())
		return -E_RANGE;
	long c;
	if (op == DISK_CACHE_READ || op == DISK_CACHE_ADOPT) {
		if (va % PAGE_SIZE || va >= UTOP)
			return -E_INVAL;
		long p = env_page(e, DISK_OP_READ, va); /* writable either way */
		if (p < 0)
			return p;
		ppn_t ppn = (ppn_t)p;
		struct page_info *pg = &pages[ppn];
		if (pg->pg_flags & (PG_PINNED | PG_CACHED))
			return -E_BUSY; /* in a transfer, or some block's copy already */
		int access = op == DISK_CACHE_READ ? DISK_OP_READ : DISK_OP_WRITE;
		if ((c = xn_io_check(e, access, block, 1, cap)) < 0)
			return c;
		int root = xn_data_root(block);
		if (root < 0)
			return -E_INVAL; /* metadata is cached by the kernel (disk_bind) */
		if (op == DISK_CACHE_READ && !env_room(e))
			return -E_FULL;
		long idx = bc_data_insert(block, (uint16_t)root, ppn,
					  op == DISK_CACHE_READ ? BC_IN_FLIGHT : BC_DIRTY);
		if (idx < 0 || op == DISK_CACHE_ADOPT)
			return idx < 0 ? idx : 0;
		long id = env_request(e, DISK_OP_READ, block, &ppn, 1, (unsigned)idx + 1, true);
		if (id < 0)
			bc_data_drop(bc_data_find(block));
		return id;
	}
	struct bc_entry *be = bc_data_find(block);
	if (!be)
		return -E_NOT_FOUND;
	if (op == DISK_CACHE_DROP) {
		if (pages[be->be_ppn].pg_owner != e->env_id)
			return -E_PERM;
		if (be->be_state & BC_IN_FLIGHT)
			return -E_BUSY;
		bc_data_drop(be);
		return 0;
	}
	if ((c = xn_io_check(e, DISK_OP_WRITE, block, 1, cap)) < 0)
		return c;
	if (disk_stats.di_read_only)
		return -E_PERM;
	if (!(be->be_state & (BC_CLEAN | BC_DIRTY)))
		return -E_BUSY; /* still being read */
	if (op == DISK_CACHE_DIRTY) {
		bc_data_set(be, (uint16_t)((be->be_state & BC_IN_FLIGHT) | BC_DIRTY));
		return 0;
	}
	if (be->be_state & BC_IN_FLIGHT)
		return -E_BUSY; /* one write at a time */
	if (xn_block_syncing(block))
		disk_sleep_restart(); /* as sys_disk_io's writes */
	ppn_t ppn = be->be_ppn;
	long id = env_request(e, DISK_OP_WRITE, block, &ppn, 1, bc_index(be) + 1, true);
	if (id >= 0)
		bc_data_set(be, BC_IN_FLIGHT | BC_CLEAN); /* clean once it lands, unless changed */
	return id;
}
