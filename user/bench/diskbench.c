/*
 * diskbench [ROUNDS]: the disk rows of `make bench` (tools/bench boots it as
 * the first env, with DISK= a fresh scratch image, so it holds the root key).
 * Each prints one line, as user/bench/bench.c does:
 *   BENCH <name> <median cycles> <min cycles> <samples>
 *
 *   disk_rand_read_qd32    4 KiB reads of random blocks, 32 in flight: a
 *   disk_rand_write_qd32   sample is one batch of 32 (submitted back to back,
 *   disk_seq_read_qd32     then collected) divided by 32, i.e. the cost of
 *   disk_seq_write_qd32    one request at full queue depth; 1e9/ns is IOPS,
 *                          4096 * that is the sequential rows' bytes/s
 *   disk_read_qd1          one 4 KiB read of a random block, submitted and
 *   disk_write_qd1         waited for alone: a request's latency
 *   disk_seq_read_128k_qd8   128 KiB requests (disk_iov of 32 blocks; Linux:
 *   disk_seq_write_128k_qd8  one O_DIRECT request of 128 KiB) of consecutive
 *                          blocks, 8 in flight: a sample is one batch of 8
 *                          divided by 8, the cost of one 128 KiB request
 *   xn_update              one checked metadata update (the table UDF run
 *                          before and after), in the cache, no I/O
 *   xn_update_flush        a checked update made durable: xn_update, then
 *                          disk_flush (XN writes the block in its order and
 *                          flushes the device)
 *   disk_write_flush       the unchecked equivalent: one 4 KiB data block
 *                          written with disk_io, then disk_flush
 *
 * The last two are Exo's "checked against unchecked" pair (issue 15's target:
 * at most 1.2x); Linux has no equivalent. The data blocks are one extent of
 * the root "bench" in XN's table format (user/bpf/xn_table_udf.c), so the
 * writes are the ones a library file system would make: checked by XN's
 * ownership, not by a raw-disk key. It ends with "BENCH done tsc_hz N".
 */
#include <inc/disk.h>
#include <lib/base/libos.h>
#include <lib/base/vm.h>
#include "../test/xnudf.h"

extern const uint8_t bpfobj_xn_table_udf[], bpfobj_xn_table_udf_end[];

#define QD 32
#define BIG_QD 8 /* 128 KiB requests in flight */
#define MAX_SAMPLES 4000
#define SPAN 2048 /* data blocks the I/O rows range over (8 MiB) */

static uint64_t samples[MAX_SAMPLES];
static uint8_t *pages;
static uint8_t *big_pages; /* BIG_QD * DISK_IOV_MAX */
static uint64_t first; /* the data extent's first block */

struct table {
	uint32_t count;
	uint32_t pad[3];
	struct xn_extent ent[255];
};

static void sort(uint64_t *a, int n)
{
	for (int gap = n / 2; gap > 0; gap /= 2)
		for (int i = gap; i < n; i++)
			for (int j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
				uint64_t t = a[j];
				a[j] = a[j - gap];
				a[j - gap] = t;
			}
}

static void report(const char *name, int n)
{
	sort(samples, n);
	printf("BENCH %s %lu %lu %d\n", name, samples[n / 2], samples[0], n);
}

static uint64_t rng = 88172645463325252UL;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fail(const char *what, long r)
{
	printf("diskbench: %s: %le\n", what, r);
	sys_env_exit(1);
}

static void wait_ok(long id)
{
	if (id < 0)
		fail("disk_io", id);
	long w = sys_disk_wait((uint64_t)id, UINT64_MAX);
	if (w != DISK_WAIT_DONE)
		fail("disk_wait", w);
}

/* batches of QD requests; seq: consecutive blocks, else random */
static void batches(const char *name, uint64_t op, bool seq, int n)
{
	long id[QD];
	uint64_t next = 0;
	for (int s = 0; s < n; s++) {
		uint64_t t0 = rdtsc();
		for (int i = 0; i < QD; i++) {
			uint64_t b = seq ? next++ % SPAN : rnd() % SPAN;
			/* the device is told once, at the batch's last */
			uint64_t more = i < QD - 1 ? DISK_OP_MORE : 0;
			id[i] = sys_disk_io(op | more, first + b, (uint64_t)(pages + i * PAGE_SIZE),
					    CAP_SELF);
		}
		for (int i = 0; i < QD; i++)
			wait_ok(id[i]);
		samples[s] = (rdtsc() - t0) / QD;
	}
	report(name, n);
}

/* batches of BIG_QD requests of DISK_IOV_MAX consecutive blocks */
static void big(const char *name, uint64_t op, int n)
{
	long id[BIG_QD];
	uint64_t next = 0, va[BIG_QD][DISK_IOV_MAX];
	for (int i = 0; i < BIG_QD; i++)
		for (int k = 0; k < DISK_IOV_MAX; k++)
			va[i][k] =
				(uint64_t)(big_pages + ((size_t)i * DISK_IOV_MAX + k) * PAGE_SIZE);
	for (int s = 0; s < n; s++) {
		uint64_t t0 = rdtsc();
		for (int i = 0; i < BIG_QD; i++) {
			uint64_t more = i < BIG_QD - 1 ? DISK_OP_MORE : 0;
			id[i] = sys_disk_iov(op | more, first + next, va[i], DISK_IOV_MAX,
					     CAP_SELF);
			next = (next + DISK_IOV_MAX) % SPAN;
		}
		for (int i = 0; i < BIG_QD; i++)
			wait_ok(id[i]);
		samples[s] = (rdtsc() - t0) / BIG_QD;
	}
	report(name, n);
}

static void single(const char *name, uint64_t op, int n)
{
	for (int s = 0; s < n; s++) {
		uint64_t t0 = rdtsc();
		wait_ok(sys_disk_io(op, first + rnd() % SPAN, (uint64_t)pages, CAP_SELF));
		samples[s] = rdtsc() - t0;
	}
	report(name, n);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 2000;
	if (rounds < 3)
		rounds = 3;
	if (rounds > MAX_SAMPLES)
		rounds = MAX_SAMPLES;
	struct disk_info di;
	long r = sys_disk_info(&di);
	if (r < 0)
		fail("no disk (boot with DISK=)", r);
	if ((r = sys_xn_format(CAP_SELF)) < 0)
		fail("xn_format", r);
	struct bpf_load_error err;
	long type =
		xnudf_register("table", bpfobj_xn_table_udf, bpfobj_xn_table_udf_end, NULL, &err);
	if (type < 0)
		fail("the table type", type);
	struct xn_root_info root;
	if ((r = sys_xn_root_create("bench", (uint64_t)type, CAP_SELF)) < 0 ||
	    (r = sys_xn_root_lookup("bench", &root)) < 0)
		fail("the root", r);
	sys_disk_info(&di);
	if (di.di_xn_blocks < root.ri_block + 2 + SPAN)
		fail("the disk is too small for the span", -E_RANGE);
	first = root.ri_block + 1;
	/* the data extent, and a second entry the update rows flip */
	struct xn_extent x = { first, SPAN, XN_TYPE_DATA };
	uint32_t one = 1;
	struct xn_write w[2] = { { 16, sizeof(x), (uint64_t)&x }, { 0, 4, (uint64_t)&one } };
	struct xn_update u = { root.ri_block, XN_OP_ALLOC, 2, x, w };
	if ((r = sys_xn_update(&u, CAP_SELF)) < 0)
		fail("allocating the data extent", r);
	pages = vm_alloc_shared(QD * PAGE_SIZE);
	if (!pages)
		fail("pages", -E_NO_MEM);
	memset(pages, 0x5a, QD * PAGE_SIZE);
	big_pages = vm_alloc_shared((uint64_t)BIG_QD * DISK_IOV_MAX * PAGE_SIZE);
	if (!big_pages)
		fail("pages", -E_NO_MEM);
	memset(big_pages, 0xa5, (size_t)BIG_QD * DISK_IOV_MAX * PAGE_SIZE);
	/* every block written once, so reads see data, not XN's zeros */
	for (uint64_t b = 0; b < SPAN; b += QD) {
		long id[QD];
		for (int i = 0; i < QD; i++)
			id[i] = sys_disk_io(DISK_OP_WRITE, first + b + i,
					    (uint64_t)(pages + i * PAGE_SIZE), CAP_SELF);
		for (int i = 0; i < QD; i++)
			wait_ok(id[i]);
	}
	if ((r = sys_disk_flush()) < 0)
		fail("disk_flush", r);

	int nb = rounds / 8 > 3 ? rounds / 8 : 3; /* a batch is 32 requests */
	batches("disk_rand_read_qd32", DISK_OP_READ, false, nb);
	batches("disk_rand_write_qd32", DISK_OP_WRITE, false, nb);
	batches("disk_seq_read_qd32", DISK_OP_READ, true, nb);
	batches("disk_seq_write_qd32", DISK_OP_WRITE, true, nb);
	single("disk_read_qd1", DISK_OP_READ, rounds);
	single("disk_write_qd1", DISK_OP_WRITE, rounds);
	big("disk_seq_read_128k_qd8", DISK_OP_READ, nb);
	big("disk_seq_write_128k_qd8", DISK_OP_WRITE, nb);

	/* checked updates: bytes the UDF does not read (the table's pad), so the
	 * claimed set stays the same and the UDF's whole answer is compared */
	for (int s = 0; s < rounds; s++) {
		uint32_t v = (uint32_t)s;
		struct xn_write pw = { 4, 4, (uint64_t)&v };
		struct xn_update pu = { root.ri_block, XN_OP_NONE, 1, { 0, 0, 0 }, &pw };
		uint64_t t0 = rdtsc();
		r = sys_xn_update(&pu, CAP_SELF);
		samples[s] = rdtsc() - t0;
		if (r < 0)
			fail("xn_update", r);
	}
	report("xn_update", rounds);
	int nf = rounds / 4 > 3 ? rounds / 4 : 3;
	for (int s = 0; s < nf; s++) {
		uint32_t v = (uint32_t)s;
		struct xn_write pw = { 4, 4, (uint64_t)&v };
		struct xn_update pu = { root.ri_block, XN_OP_NONE, 1, { 0, 0, 0 }, &pw };
		uint64_t t0 = rdtsc();
		r = sys_xn_update(&pu, CAP_SELF);
		long f = sys_disk_flush();
		samples[s] = rdtsc() - t0;
		if (r < 0 || f < 0)
			fail("xn_update + disk_flush", r < 0 ? r : f);
	}
	report("xn_update_flush", nf);
	for (int s = 0; s < nf; s++) {
		uint64_t t0 = rdtsc();
		wait_ok(sys_disk_io(DISK_OP_WRITE, first, (uint64_t)pages, CAP_SELF));
		long f = sys_disk_flush();
		samples[s] = rdtsc() - t0;
		if (f < 0)
			fail("disk_flush", f);
	}
	report("disk_write_flush", nf);
	printf("BENCH done tsc_hz %lu\n", ukinfo->ki_tsc_hz);
	return 0;
}
