/*
 * disk_iov: one request for up to DISK_IOV_MAX consecutive blocks. In a
 * boot without a disk (testrun's) the call answers E_NOT_FOUND. With one
 * (tools/test-disk boots init=test_diskiov with DISK= a raw scratch image,
 * so this is the first env and holds the root key; a second boot with
 * DISK_INDIRECT=0 and "-- direct" runs it all again on the driver's
 * fallback without indirect descriptors):
 *
 *   iov.err-*     every error, each leaving the counters and pins as they
 *                 were (nothing started)
 *   iov.rt-*      data round trips: a gathered write read back block by
 *                 block, single writes read back gathered, every n from 1
 *                 to 32, pages out of address order, one page twice
 *   iov.one-*     one request is one device request and one notification
 *   iov.pinned-*  every page pinned while the request is in flight, none
 *                 after; pages freed mid-request kept by the kernel
 *   iov.hostile-* a child with the root key that starts big reads and
 *                 writes, frees half their pages and exits: no page stays
 *                 pinned or orphaned once the device is done
 *
 * Run as "test_diskiov child" it is a child without a key to the disk;
 * as "test_diskiov hostile" the hostile child.
 */
#include <inc/disk.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>

#define BASE 256 /* first block the test writes */
#define N DISK_IOV_MAX

static struct disk_info di;
int main(int argc, char **argv);

static uint8_t *pages_now(uint64_t n)
{
	uint8_t *p = vm_alloc_shared(n * PAGE_SIZE);
	assert(p);
	for (uint64_t i = 0; i < n; i++)
		p[i * PAGE_SIZE] = 0; /* bound now */
	return p;
}

static uint64_t ppn_of(const void *va)
{
	long r = sys_page_lookup((uint64_t)va);
	assert(r >= 0);
	return (uint64_t)r >> PAGE_SHIFT;
}

static void fill(uint8_t *p, uint64_t block, uint64_t gen)
{
	uint64_t *w = (uint64_t *)p;
	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		w[i] = block * 0x9e3779b97f4a7c15UL ^ gen ^ (i * 0x100000001UL);
}

static bool same(const uint8_t *p, uint64_t block, uint64_t gen)
{
	const uint64_t *w = (const uint64_t *)p;
	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		if (w[i] != (block * 0x9e3779b97f4a7c15UL ^ gen ^ (i * 0x100000001UL)))
			return false;
	return true;
}

static long wait_done(long id)
{
	long w;
	while ((w = sys_disk_wait((uint64_t)id, UINT64_MAX)) == DISK_WAIT_TRANSFER)
		;
	return w;
}

static unsigned pinned_pages(void)
{
	unsigned n = 0;
	for (uint64_t p = 0; p < ukinfo->ki_npages; p++)
		n += (upages[p].pg_flags & (PG_PINNED | PG_ORPHAN)) != 0;
	return n;
}

static void no_disk(void)
{
	uint8_t *p = pages_now(1);
	uint64_t va = (uint64_t)p;
	check_eq("iov.nodisk", sys_disk_iov(DISK_OP_READ, 0, &va, 1, CAP_SELF), -E_NOT_FOUND);
}

static unsigned pins_before; /* pinned_pages() when *before was read (snapshot);
			      * UINT32_MAX: requests in flight, the count moves */

static void snapshot(struct disk_info *before)
{
	sys_disk_info(before);
	pins_before = pinned_pages();
}

/* One error: the call fails with want and starts nothing. */
static void err(const char *name, long got, long want, const struct disk_info *before)
{
	struct disk_info now;
	sys_disk_info(&now);
	check_eq(name, got, want);
	if (now.di_iov != before->di_iov || now.di_reads != before->di_reads ||
	    now.di_writes != before->di_writes ||
	    (pins_before != UINT32_MAX && pinned_pages() != pins_before))
		check(name, false);
}

static void errors(void)
{
	uint8_t *p = pages_now(N);
	uint64_t va[N + 1];
	for (unsigned i = 0; i <= N; i++)
		va[i] = (uint64_t)(p + (i % N) * PAGE_SIZE);
	struct disk_info b;
	snapshot(&b);
	check_eq("iov.info-max", di.di_iov_max, DISK_IOV_MAX);
	err("iov.err-op", sys_disk_iov(7, BASE, va, 1, CAP_SELF), -E_INVAL, &b);
	err("iov.err-n-zero", sys_disk_iov(DISK_OP_READ, BASE, va, 0, CAP_SELF), -E_INVAL, &b);
	err("iov.err-n-big", sys_disk_iov(DISK_OP_READ, BASE, va, N + 1, CAP_SELF), -E_INVAL, &b);
	err("iov.err-array-null", sys_disk_iov(DISK_OP_READ, BASE, NULL, 1, CAP_SELF), -E_FAULT,
	    &b);
	err("iov.err-array-kernel",
	    sys_disk_iov(DISK_OP_READ, BASE, (const uint64_t *)0xffff800000100000UL, 2, CAP_SELF),
	    -E_FAULT, &b);
	/* the array's third entry on a page that is not bound */
	uint8_t *q = pages_now(2);
	vm_unmap((uint64_t)(q + PAGE_SIZE), PAGE_SIZE);
	uint64_t *edge = (uint64_t *)(q + PAGE_SIZE) - 2;
	edge[0] = va[0], edge[1] = va[1];
	err("iov.err-array-crosses", sys_disk_iov(DISK_OP_READ, BASE, edge, 3, CAP_SELF), -E_FAULT,
	    &b);
	uint64_t keep = va[5];
	va[5] = keep + 8;
	err("iov.err-unaligned", sys_disk_iov(DISK_OP_READ, BASE, va, N, CAP_SELF), -E_INVAL, &b);
	va[5] = UTOP;
	err("iov.err-above-utop", sys_disk_iov(DISK_OP_READ, BASE, va, N, CAP_SELF), -E_INVAL, &b);
	va[5] = 0x10000000000UL;
	err("iov.err-unbound", sys_disk_iov(DISK_OP_READ, BASE, va, N, CAP_SELF), -E_FAULT, &b);
	va[5] = (uint64_t)&errors & ~(PAGE_SIZE - 1);
	err("iov.err-read-into-readonly", sys_disk_iov(DISK_OP_READ, BASE, va, N, CAP_SELF),
	    -E_FAULT, &b);
	va[5] = (uint64_t)main & ~(PAGE_SIZE - 1); /* bound: the boot image's page, not ours */
	err("iov.err-write-not-owned", sys_disk_iov(DISK_OP_WRITE, BASE, va, N, CAP_SELF), -E_PERM,
	    &b);
	va[5] = keep;
	err("iov.err-range-end", sys_disk_iov(DISK_OP_READ, di.di_blocks - 1, va, 2, CAP_SELF),
	    -E_RANGE, &b);
	err("iov.err-range-past", sys_disk_iov(DISK_OP_READ, di.di_blocks, va, 1, CAP_SELF),
	    -E_RANGE, &b);
	err("iov.err-range-wrap", sys_disk_iov(DISK_OP_READ, UINT64_MAX - 1, va, 4, CAP_SELF),
	    -E_RANGE, &b);
	err("iov.err-bad-cap", sys_disk_iov(DISK_OP_READ, BASE, va, N, CAP_RING - 1), -E_BAD_CAP,
	    &b);
	err("iov.err-empty-slot", sys_disk_iov(DISK_OP_READ, BASE, va, N, CAP_RING - 2), -E_BAD_CAP,
	    &b);

	/* E_FULL: DISK_REQS_PER_ENV requests of two blocks each, then one more */
	long id[DISK_REQS_PER_ENV];
	unsigned in = 0, bad = 0;
	for (unsigned i = 0; i < DISK_REQS_PER_ENV; i++) {
		id[i] = sys_disk_iov(DISK_OP_READ, BASE + 2 * i, va, 2, CAP_SELF);
		in += id[i] >= 0;
	}
	snapshot(&b);
	pins_before = UINT32_MAX; /* ours finish meanwhile */
	err("iov.err-full", sys_disk_iov(DISK_OP_READ, BASE, va, 2, CAP_SELF), -E_FULL, &b);
	check_eq("iov.full-accepted", in, DISK_REQS_PER_ENV);
	for (unsigned i = 0; i < DISK_REQS_PER_ENV; i++)
		bad += id[i] >= 0 && wait_done(id[i]) != DISK_WAIT_DONE;
	check_eq("iov.full-done", bad, 0);
	vm_unmap((uint64_t)p, N * PAGE_SIZE);
	vm_unmap((uint64_t)q, PAGE_SIZE);
}

static void round_trips(void)
{
	uint8_t *src = pages_now(N), *dst = pages_now(N);
	uint64_t va[N];
	unsigned bad = 0;

	/* one gathered write, from pages in reverse address order */
	for (unsigned i = 0; i < N; i++) {
		va[i] = (uint64_t)(src + (N - 1 - i) * PAGE_SIZE);
		fill((uint8_t *)va[i], BASE + i, 1);
	}
	long id = sys_disk_iov(DISK_OP_WRITE, BASE, va, N, CAP_SELF);
	check("iov.rt-write-started", id >= 0);
	check_eq("iov.rt-write-done", wait_done(id), DISK_WAIT_DONE);
	for (unsigned i = 0; i < N; i++) {
		long r = sys_disk_io(DISK_OP_READ, BASE + i, (uint64_t)(dst + i * PAGE_SIZE),
				     CAP_SELF);
		bad += r < 0 || wait_done(r) != DISK_WAIT_DONE;
		bad += !same(dst + i * PAGE_SIZE, BASE + i, 1);
	}
	check_eq("iov.rt-gathered-write-read-singly", bad, 0);

	/* single writes, one gathered read into pages in reverse order */
	bad = 0;
	for (unsigned i = 0; i < N; i++) {
		fill(src + i * PAGE_SIZE, BASE + i, 2);
		long r = sys_disk_io(DISK_OP_WRITE, BASE + i, (uint64_t)(src + i * PAGE_SIZE),
				     CAP_SELF);
		bad += r < 0 || wait_done(r) != DISK_WAIT_DONE;
	}
	memset(dst, 0, N * PAGE_SIZE);
	for (unsigned i = 0; i < N; i++)
		va[i] = (uint64_t)(dst + (N - 1 - i) * PAGE_SIZE);
	id = sys_disk_iov(DISK_OP_READ, BASE, va, N, CAP_SELF);
	bad += id < 0 || wait_done(id) != DISK_WAIT_DONE;
	for (unsigned i = 0; i < N; i++)
		bad += !same((uint8_t *)va[i], BASE + i, 2);
	check_eq("iov.rt-single-writes-gathered-read", bad, 0);

	/* every n, at blocks that straddle the previous runs */
	bad = 0;
	uint64_t at = BASE + 64;
	for (unsigned n = 1; n <= N; n++, at += n) {
		for (unsigned i = 0; i < n; i++) {
			va[i] = (uint64_t)(src + i * PAGE_SIZE);
			fill(src + i * PAGE_SIZE, at + i, 3 + n);
		}
		long w = sys_disk_iov(DISK_OP_WRITE, at, va, n, CAP_SELF);
		bad += w < 0 || wait_done(w) != DISK_WAIT_DONE;
		memset(dst, 0, n * PAGE_SIZE);
		for (unsigned i = 0; i < n; i++)
			va[i] = (uint64_t)(dst + i * PAGE_SIZE);
		long r = sys_disk_iov(DISK_OP_READ, at, va, n, CAP_SELF);
		bad += r < 0 || wait_done(r) != DISK_WAIT_DONE;
		for (unsigned i = 0; i < n; i++)
			bad += !same(dst + i * PAGE_SIZE, at + i, 3 + n);
	}
	check_eq("iov.rt-every-n", bad, 0);

	/* one page twice: both blocks get it */
	fill(src, 7, 9);
	va[0] = va[1] = (uint64_t)src;
	id = sys_disk_iov(DISK_OP_WRITE, BASE, va, 2, CAP_SELF);
	bad = id < 0 || wait_done(id) != DISK_WAIT_DONE;
	va[0] = (uint64_t)dst, va[1] = (uint64_t)(dst + PAGE_SIZE);
	id = sys_disk_iov(DISK_OP_READ, BASE, va, 2, CAP_SELF);
	bad += id < 0 || wait_done(id) != DISK_WAIT_DONE;
	bad += !same(dst, 7, 9) || !same(dst + PAGE_SIZE, 7, 9);
	check_eq("iov.rt-page-twice", bad, 0);

	/* the last block of the disk */
	fill(src, di.di_blocks - 1, 11);
	va[0] = (uint64_t)src;
	id = sys_disk_iov(DISK_OP_WRITE, di.di_blocks - 1, va, 1, CAP_SELF);
	bad = id < 0 || wait_done(id) != DISK_WAIT_DONE;
	va[0] = (uint64_t)dst;
	id = sys_disk_iov(DISK_OP_READ, di.di_blocks - 1, va, 1, CAP_SELF);
	bad += id < 0 || wait_done(id) != DISK_WAIT_DONE || !same(dst, di.di_blocks - 1, 11);
	check_eq("iov.rt-last-block", bad, 0);
	vm_unmap((uint64_t)src, N * PAGE_SIZE);
	vm_unmap((uint64_t)dst, N * PAGE_SIZE);
}

/* One request: one device request, one notification, 32 blocks counted. */
static void one_request(void)
{
	uint8_t *p = pages_now(N);
	uint64_t va[N];
	for (unsigned i = 0; i < N; i++)
		va[i] = (uint64_t)(p + i * PAGE_SIZE);
	struct disk_info b, a;
	sys_disk_info(&b);
	long id = sys_disk_iov(DISK_OP_READ, BASE, va, N, CAP_SELF);
	check_eq("iov.one-done", wait_done(id), DISK_WAIT_DONE);
	sys_disk_info(&a);
	check_eq("iov.one-kick", (long)(a.di_kicks - b.di_kicks), 1);
	check_eq("iov.one-counted", (long)(a.di_iov - b.di_iov), 1);
	check_eq("iov.one-blocks", (long)(a.di_reads - b.di_reads), N);
	vm_unmap((uint64_t)p, N * PAGE_SIZE);
}

static void pinned(void)
{
	unsigned bad = 0, all_pinned = 0, orphaned = 0;
	for (unsigned round = 0; round < 8; round++) {
		uint8_t *p = pages_now(N);
		uint64_t va[N], ppn[N];
		for (unsigned i = 0; i < N; i++)
			va[i] = (uint64_t)(p + i * PAGE_SIZE), ppn[i] = ppn_of(p + i * PAGE_SIZE);
		long id = sys_disk_iov(round % 2 ? DISK_OP_WRITE : DISK_OP_READ, BASE, va, N,
				       CAP_SELF);
		/* pinned together, unpinned together: once one is seen
		 * unpinned, the request is done and none is pinned after it */
		unsigned seen = 0;
		bool done = false;
		for (unsigned i = 0; i < N; i++) {
			bool pin = upages[ppn[i]].pg_flags & PG_PINNED;
			bad += pin && done;
			done = done || !pin;
			seen += pin;
		}
		all_pinned += seen == N;
		bad += id < 0 || wait_done(id) != DISK_WAIT_DONE;
		for (unsigned i = 0; i < N; i++)
			bad += (upages[ppn[i]].pg_flags & PG_PINNED) != 0;
		/* again, freeing every page while the device may still use it */
		id = sys_disk_iov(DISK_OP_READ, BASE, va, N, CAP_SELF);
		for (unsigned i = 0; i < N; i++)
			bad += sys_page_free(ppn[i], CAP_SELF) < 0;
		for (unsigned i = 0; i < N; i++) {
			envid_t owner = upages[ppn[i]].pg_owner;
			__asm__ volatile("" ::: "memory");
			uint8_t flags = upages[ppn[i]].pg_flags;
			if (flags & PG_ORPHAN) {
				orphaned++;
				bad += !(flags & PG_PINNED) || owner != PAGE_OWNER_KERNEL;
			}
		}
		bad += id < 0 || wait_done(id) != DISK_WAIT_DONE;
		for (unsigned i = 0; i < N; i++)
			bad += upages[ppn[i]].pg_type != PAGE_FREE || upages[ppn[i]].pg_flags != 0;
		vm_unmap((uint64_t)p, N * PAGE_SIZE);
	}
	check_eq("iov.pinned-in-flight", bad, 0);
	check_eq("iov.pinned-none-left", pinned_pages(), 0);
	printf("test_diskiov: %u of 8 requests seen with all pages pinned, %u pages orphaned "
	       "while in flight\n",
	       all_pinned, orphaned);
}

static uint64_t granted_root_key(void)
{
	for (unsigned tries = 0; tries < 100000; tries++) {
		for (uint64_t s = 1; s < CAP_RING; s++) {
			struct cap c;
			if (sys_cap_read(0, s, &c) == 0 && c.c_valid && c.c_len == 0)
				return s;
		}
		sys_yield();
	}
	return CAP_RING;
}

/* The hostile child: big requests, half their pages freed, gone. */
static int hostile(void)
{
	uint64_t key = granted_root_key();
	uint8_t *p = pages_now(2 * N);
	uint64_t va[N];
	int bad = 0;
	for (unsigned r = 0; r < 4; r++) {
		for (unsigned i = 0; i < N; i++)
			va[i] = (uint64_t)(p + ((r % 2) * N + i) * PAGE_SIZE);
		bad += sys_disk_iov(r < 2 ? DISK_OP_READ : DISK_OP_WRITE, BASE + r * N, va, N,
				    key) < 0;
	}
	for (unsigned i = 0; i < 2 * N; i += 2)
		bad += sys_page_free(ppn_of(p + i * PAGE_SIZE), CAP_SELF) < 0;
	sys_env_exit((uint64_t)bad); /* with every request outstanding */
	return bad;
}

static void hostile_child(void)
{
	long id = sys_env_create("test_diskiov", "hostile", CAP_SELF);
	check("iov.hostile-started", id > 0);
	if (id <= 0)
		return;
	check("iov.hostile-granted", sys_cap_grant(CAP_SELF, (envid_t)id) >= 0);
	check_eq("iov.hostile-submitted", sys_env_wait((envid_t)id), 0);
	/* the device finishes what the dead child started */
	struct disk_info now;
	for (unsigned i = 0; i < 100000; i++) {
		sys_disk_info(&now);
		if (now.di_in_flight == 0 && now.di_queued == 0)
			break;
		sys_yield();
	}
	check("iov.hostile-drained", now.di_in_flight == 0 && now.di_queued == 0);
	check_eq("iov.hostile-no-page-pinned", pinned_pages(), 0);
}

static void child_refused(void)
{
	long id = sys_env_create("test_diskiov", "child", CAP_SELF);
	check("iov.child-started", id > 0);
	if (id > 0)
		check_eq("iov.child-refused", sys_env_wait((envid_t)id), 0);
}

static int child(void)
{
	uint8_t *p = pages_now(2);
	uint64_t va[2] = { (uint64_t)p, (uint64_t)(p + PAGE_SIZE) };
	int bad = 0;
	bad += sys_disk_iov(DISK_OP_READ, BASE, va, 2, CAP_SELF) != -E_PERM;
	bad += sys_disk_iov(DISK_OP_WRITE, BASE, va, 2, CAP_SELF) != -E_PERM;
	return bad;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();
	if (argc > 1 && strcmp(argv[1], "hostile") == 0)
		return hostile();
	if (sys_disk_info(&di) == -E_NOT_FOUND) {
		no_disk();
		return test_finish();
	}
	bool direct = argc > 1 && strcmp(argv[1], "direct") == 0;
	check_eq("iov.info-indirect", di.di_indirect, !direct);
	errors();
	round_trips();
	one_request();
	pinned();
	hostile_child();
	child_refused();
	int r = test_finish();
	printf("test_diskiov: done\n");
	return r;
}
