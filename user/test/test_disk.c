/*
 * The disk's system calls. In a boot without a disk (testrun's) every call
 * must answer E_NOT_FOUND. With one (tools/test boots init=test_disk with
 * DISK= a scratch image, so this is the first env and holds the root key):
 *
 *   raw.*     every error of disk_io/disk_wait/disk_info, a pattern written
 *             with many requests in flight and read back, the per-env
 *             request limit (a flood gets E_FULL), a page freed while the
 *             device still writes into it (the kernel keeps it pinned, then
 *             frees it), a batch told to the device once (DISK_OP_MORE,
 *             and the clock telling what one left), and a child env
 *             without the root key refused.
 *   xn.*      (test_disk_xn) XN's ownership and checks.
 *
 * Run as "test_disk child" it is the child: it must be refused everywhere.
 */
#include <inc/disk.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>

#define NPAT 48     /* blocks of the pattern: more than one env may have in flight */
#define PAT_BASE 64 /* first block of it: clear of block 0, where XN would start */

static uint8_t *pages_now(uint64_t n)
{
	uint8_t *p = vm_alloc_shared(n * PAGE_SIZE);
	assert(p);
	return p;
}

static uint64_t ppn_of(const void *va)
{
	long r = sys_page_lookup((uint64_t)va);
	assert(r >= 0);
	return (uint64_t)r >> PAGE_SHIFT;
}

static void no_disk(void)
{
	struct disk_info di;
	check_eq("nodisk.info", sys_disk_info(&di), -E_NOT_FOUND);
	uint8_t *p = pages_now(1);
	check_eq("nodisk.io", sys_disk_io(DISK_OP_READ, 0, (uint64_t)p, CAP_SELF), -E_NOT_FOUND);
	check_eq("nodisk.wait", sys_disk_wait(0, 0), -E_NOT_FOUND);
	check_eq("nodisk.flush", sys_disk_flush(), -E_NOT_FOUND);
	check_eq("nodisk.flush-data", sys_disk_flush_data(), -E_NOT_FOUND);
}

static void fill(uint8_t *p, uint64_t block, uint64_t gen)
{
	uint64_t *w = (uint64_t *)p;
	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		w[i] = block * 0x9e3779b97f4a7c15UL ^ gen ^ i;
}

static bool same(const uint8_t *p, uint64_t block, uint64_t gen)
{
	const uint64_t *w = (const uint64_t *)p;
	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		if (w[i] != (block * 0x9e3779b97f4a7c15UL ^ gen ^ i))
			return false;
	return true;
}

static void raw_errors(struct disk_info *di)
{
	uint8_t *p = pages_now(1);
	check_eq("raw.info", sys_disk_info(di), 0);
	check("raw.info-size", di->di_blocks > PAT_BASE + NPAT);
	check_eq("raw.info-fault", sys_disk_info((struct disk_info *)(UTOP - 8)), -E_FAULT);
	check_eq("raw.io-op", sys_disk_io(7, 0, (uint64_t)p, CAP_SELF), -E_INVAL);
	check_eq("raw.io-unaligned", sys_disk_io(DISK_OP_READ, 0, (uint64_t)p + 8, CAP_SELF),
		 -E_INVAL);
	check_eq("raw.io-above-utop", sys_disk_io(DISK_OP_READ, 0, UTOP, CAP_SELF), -E_INVAL);
	check_eq("raw.io-range", sys_disk_io(DISK_OP_READ, di->di_blocks, (uint64_t)p, CAP_SELF),
		 -E_RANGE);
	check_eq("raw.io-unbound", sys_disk_io(DISK_OP_READ, 0, 0x10000000000UL, CAP_SELF),
		 -E_FAULT);
	check_eq("raw.io-read-into-readonly",
		 sys_disk_io(DISK_OP_READ, 0, (uint64_t)&raw_errors & ~(PAGE_SIZE - 1), CAP_SELF),
		 -E_FAULT);
	check_eq("raw.io-bad-cap", sys_disk_io(DISK_OP_READ, 0, (uint64_t)p, CAP_RING - 1),
		 -E_BAD_CAP);
	check_eq("raw.wait-unknown", sys_disk_wait(12345, 0), -E_NOT_FOUND);
}

/* Write the pattern with every request in flight at once, then read it back. */
static void raw_pattern(void)
{
	uint8_t *src = pages_now(NPAT), *dst = pages_now(NPAT);
	long id[NPAT];
	for (unsigned i = 0; i < NPAT; i++)
		fill(src + i * PAGE_SIZE, PAT_BASE + i, 1);
	/* the first DISK_REQS_PER_ENV go in; the next is refused until one is collected */
	unsigned in = 0, bad = 0, full = 0;
	for (unsigned i = 0; i < NPAT; i++) {
		id[i] = sys_disk_io(DISK_OP_WRITE, PAT_BASE + i, (uint64_t)(src + i * PAGE_SIZE),
				    CAP_SELF);
		if (id[i] == -E_FULL) {
			full++;
			long w = sys_disk_wait((uint64_t)id[i - DISK_REQS_PER_ENV], UINT64_MAX);
			bad += w != DISK_WAIT_DONE;
			id[i - DISK_REQS_PER_ENV] = -1;
			id[i] = sys_disk_io(DISK_OP_WRITE, PAT_BASE + i,
					    (uint64_t)(src + i * PAGE_SIZE), CAP_SELF);
		}
		bad += id[i] < 0;
		in++;
	}
	check("raw.flood-refused-past-limit", full == NPAT - DISK_REQS_PER_ENV);
	for (unsigned i = 0; i < NPAT; i++)
		if (id[i] >= 0)
			bad += sys_disk_wait((uint64_t)id[i], UINT64_MAX) != DISK_WAIT_DONE;
	check("raw.write-many", bad == 0 && in == NPAT);
	check_eq("raw.wait-reaped", sys_disk_wait((uint64_t)id[NPAT - 1], 0), -E_NOT_FOUND);
	check_eq("raw.flush", sys_disk_flush(), 0);
	check_eq("raw.flush-data", sys_disk_flush_data(), 0);

	bad = 0;
	for (unsigned i = 0; i < NPAT; i += DISK_REQS_PER_ENV) {
		unsigned n = MIN(DISK_REQS_PER_ENV, NPAT - i);
		for (unsigned j = 0; j < n; j++) {
			id[i + j] = sys_disk_io(DISK_OP_READ, PAT_BASE + i + j,
						(uint64_t)(dst + (i + j) * PAGE_SIZE), CAP_SELF);
			bad += id[i + j] < 0;
		}
		for (unsigned j = 0; j < n; j++)
			bad += sys_disk_wait((uint64_t)id[i + j], UINT64_MAX) != DISK_WAIT_DONE;
	}
	unsigned wrong = 0;
	for (unsigned i = 0; i < NPAT; i++)
		wrong += !same(dst + i * PAGE_SIZE, PAT_BASE + i, 1);
	check("raw.read-back", bad == 0 && wrong == 0);
	vm_unmap((uint64_t)src, NPAT * PAGE_SIZE);
	vm_unmap((uint64_t)dst, NPAT * PAGE_SIZE);
}

/* DISK_OP_MORE: a batch's requests wait in the ring for its last call and
 * the device is told once; one left alone is told at a clock tick. */
static void raw_more(void)
{
	uint8_t *p = pages_now(4);
	struct disk_info d0, d1;
	long id[4];
	unsigned bad = 0;
	check_eq("raw.more-info", sys_disk_info(&d0), 0);
	for (unsigned i = 0; i < 4; i++) {
		uint64_t more = i < 3 ? DISK_OP_MORE : 0;
		id[i] = sys_disk_io(DISK_OP_READ | more, PAT_BASE + i,
				    (uint64_t)(p + i * PAGE_SIZE), CAP_SELF);
		bad += id[i] < 0;
	}
	sys_disk_info(&d1);
	/* one for the batch (a clock tick in between may add one), not four */
	check("raw.more-batch-kicks", d1.di_kicks - d0.di_kicks < 4);
	for (unsigned i = 0; i < 4; i++) {
		bad += id[i] < 0 || sys_disk_wait((uint64_t)id[i], UINT64_MAX) != DISK_WAIT_DONE;
		bad += !same(p + i * PAGE_SIZE, PAT_BASE + i, 1);
	}
	check_eq("raw.more-batch", bad, 0);
	/* alone: no call of ours tells the device, the clock does */
	sys_disk_info(&d0);
	long lone = sys_disk_io(DISK_OP_READ | DISK_OP_MORE, PAT_BASE, (uint64_t)p, CAP_SELF);
	uint64_t until = ukinfo->ki_ticks + 20;
	while (ukinfo->ki_ticks < until)
		sys_yield();
	sys_disk_info(&d1);
	check("raw.more-clock-kicks", lone >= 0 && d1.di_kicks > d0.di_kicks);
	check_eq("raw.more-lone-done", lone < 0 ? lone : sys_disk_wait((uint64_t)lone, UINT64_MAX),
		 DISK_WAIT_DONE);
	check_eq("raw.more-bad-op", sys_disk_io(DISK_OP_MORE | 2, PAT_BASE, (uint64_t)p, CAP_SELF),
		 -E_INVAL);
	vm_unmap((uint64_t)p, 4 * PAGE_SIZE);
}

/* Lone requests with nothing else to run: the kernel polls the device
 * before it halts (blkio.c, idle_poll), with the device's interrupts off
 * meanwhile. Each completion is delivered once, by the poll or by the
 * interrupt (which one depends on the host's speed), and the data is
 * right either way. */
static void raw_idle_poll(void)
{
	uint8_t *p = pages_now(1);
	struct disk_info d0, d1;
	unsigned bad = 0, n = 32;
	check_eq("raw.idle-info", sys_disk_info(&d0), 0);
	for (unsigned i = 0; i < n; i++) {
		long id = sys_disk_io(DISK_OP_READ, PAT_BASE + i, (uint64_t)p, CAP_SELF);
		bad += id < 0 || sys_disk_wait((uint64_t)id, UINT64_MAX) != DISK_WAIT_DONE;
		bad += !same(p, PAT_BASE + i, 1);
	}
	sys_disk_info(&d1);
	check_eq("raw.idle-lone-reads", bad, 0);
	uint64_t polled = d1.di_idle_polled - d0.di_idle_polled;
	printf("test_disk: %lu of %u lone reads found by polling before a halt\n", polled, n);
	check("raw.idle-polled-once", polled <= n && d1.di_in_flight == 0);
	vm_unmap((uint64_t)p, PAGE_SIZE);
}

/* The page a read lands in is freed while the request may be in flight:
 * the kernel must hold it (unbound, not free) until the device is done. */
static void raw_page_given_away(void)
{
	unsigned orphaned = 0, bad = 0;
	for (unsigned round = 0; round < 8; round++) {
		uint8_t *p = pages_now(1);
		uint64_t ppn = ppn_of(p);
		long id = sys_disk_io(DISK_OP_READ, PAT_BASE, (uint64_t)p, CAP_SELF);
		long f = sys_page_free(ppn, CAP_SELF);
		/* the owner before the flags: the device may finish (and the
		 * page be freed) between the two reads, and read the other way
		 * round a clean completion would look like an orphan with the
		 * wrong owner */
		envid_t owner = upages[ppn].pg_owner;
		__asm__ volatile("" ::: "memory");
		uint8_t flags = upages[ppn].pg_flags;
		if (flags & PG_ORPHAN) {
			orphaned++;
			bad += !(flags & PG_PINNED) || owner != PAGE_OWNER_KERNEL;
		}
		bad += id < 0 || f < 0;
		/* a message may end the wait early: the request is still in flight */
		long w;
		while ((w = sys_disk_wait((uint64_t)id, UINT64_MAX)) == DISK_WAIT_TRANSFER)
			;
		bad += w != DISK_WAIT_DONE;
		/* done: the kernel let go of it */
		bad += upages[ppn].pg_type != PAGE_FREE || upages[ppn].pg_flags != 0;
		vm_unmap((uint64_t)p, PAGE_SIZE);
	}
	check("raw.page-freed-in-flight", bad == 0);
	printf("test_disk: %u of 8 pages were freed while their read was in flight\n", orphaned);
}

static void raw_child_refused(void)
{
	long id = sys_env_create("test_disk", "child", CAP_SELF);
	check("raw.child-started", id > 0);
	if (id > 0)
		check_eq("raw.child-refused", sys_env_wait((envid_t)id), 0);
}

static int child(void)
{
	uint8_t *p = pages_now(1);
	int bad = 0;
	bad += sys_disk_io(DISK_OP_READ, 0, (uint64_t)p, CAP_SELF) != -E_PERM;
	bad += sys_disk_io(DISK_OP_WRITE, PAT_BASE, (uint64_t)p, CAP_SELF) != -E_PERM;
	return bad;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();
	struct disk_info di;
	if (sys_disk_info(&di) == -E_NOT_FOUND) {
		no_disk();
		return test_finish();
	}
	raw_errors(&di);
	raw_pattern();
	raw_more();
	raw_idle_poll();
	raw_page_given_away();
	raw_child_refused();
	int r = test_finish();
	printf("test_disk: done\n");
	return r;
}
