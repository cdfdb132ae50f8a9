/*
 * diskstorm: the power-cut test's guest side (tools/crashtest). Run as the
 * first env with a disk. Each boot:
 *
 *   1. formats the disk if XN is not on it (first boot), registers the
 *      table type (user/bpf/xn_table_udf.c) and finds or makes root "storm";
 *   2. checks what the last boot - killed at a random moment - left:
 *      the root's table is a valid set, every data block it claims holds
 *      either a stamp naming that block (written by a storm) or zeros (XN
 *      initialised it), never the image's random garbage (a pointer that
 *      reached the disk before its block), and the kernel's rebuilt free
 *      count is exactly what the table does not claim (nothing leaked,
 *      nothing owned twice: the kernel also reports damage at mount);
 *      prints PASS:/FAIL: lines and "diskstorm: checked";
 *   3. storms: allocates and frees data blocks through checked updates,
 *      writes stamps (before or after the pointer, at random), syncs now
 *      and then, until the host kills QEMU. Every 16 operations a second
 *      root, "eph", is made (with a data block or two) or emptied and
 *      removed: a cut during a removal must leave the root whole or gone,
 *      its blocks never leaked nor owned twice (the same checks cover
 *      its table when it is there).
 *
 * Argument: a seed for the storm.
 */
#include <inc/disk.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <common/xorshift.h>
#include "xnudf.h"

extern const uint8_t bpfobj_xn_table_udf[], bpfobj_xn_table_udf_end[];

#define STAMP_MAGIC 0x504d415453444953UL /* "SIDSTAMP" */
#define MAX_ENTRIES 200

struct table {
	uint32_t count;
	uint32_t pad[3];
	struct xn_extent ent[255];
};

static uint64_t rng;
static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

static uint8_t *io;                 /* a page for data blocks */
static const struct table *tab;     /* the root block, bound from the cache */
static struct xn_root_info root;
static uint64_t eph_va;             /* where "eph"'s root block is bound */
static long table_type;
static struct disk_info di;

static uint64_t stamp_sum(const uint64_t *w)
{
	uint64_t s = 0;
	for (unsigned i = 0; i < PAGE_SIZE / 8 - 1; i++)
		s = s * 31 + w[i];
	return s;
}

static void stamp_into(uint8_t *page, uint64_t block, uint64_t gen)
{
	uint64_t *w = (uint64_t *)page;
	w[0] = STAMP_MAGIC;
	w[1] = block;
	for (unsigned i = 2; i < PAGE_SIZE / 8 - 1; i++)
		w[i] = gen * 0x9e3779b97f4a7c15UL + i;
	w[PAGE_SIZE / 8 - 1] = stamp_sum(w);
}

static void stamp(uint64_t block, uint64_t gen)
{
	stamp_into(io, block, gen);
}

/* Pages for writes left in flight, each reused only once its write ended. */
#define NFLIGHT 8
static uint8_t *flight;
static long flight_id[NFLIGHT];
static unsigned flight_next;

/* 0 stamped for block, 1 zeros, -1 anything else. */
static int stamp_ok(uint64_t block)
{
	const uint64_t *w = (const uint64_t *)io;
	if (w[0] == STAMP_MAGIC && w[1] == block && w[PAGE_SIZE / 8 - 1] == stamp_sum(w))
		return 0;
	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		if (w[i])
			return -1;
	return 1;
}

static long io_sync(uint64_t op, uint64_t block)
{
	long id = sys_disk_io(op, block, (uint64_t)io, CAP_SELF);
	if (id < 0)
		return id;
	return sys_disk_wait((uint64_t)id, UINT64_MAX);
}

struct tally {
	uint64_t claimed, garbage, zeros, bad;
};

/* Count what table t claims (and its root block) into *c, reading each
 * data block: a stamp or zeros, never the image's garbage. */
static void tally_table(const struct table *t, struct tally *c)
{
	uint32_t n = t->count;
	c->claimed++;
	c->bad += n > MAX_ENTRIES;
	for (uint32_t i = 0; i < n && i < 255; i++) {
		const struct xn_extent *x = &t->ent[i];
		if (x->x_type != XN_TYPE_DATA || x->x_count != 1) {
			c->bad++;
			continue;
		}
		c->claimed++;
		if (io_sync(DISK_OP_READ, x->x_start) != DISK_WAIT_DONE) {
			c->bad++;
			continue;
		}
		int s = stamp_ok(x->x_start);
		c->garbage += s < 0;
		c->zeros += s > 0;
	}
}

static void check_invariants(void)
{
	struct tally c = { 0, 0, 0, 0 };
	uint32_t n = tab->count;
	check("crash.table-count", n <= MAX_ENTRIES);
	tally_table(tab, &c);
	struct xn_root_info eph;
	bool have_eph = sys_xn_root_lookup("eph", &eph) >= 0;
	bool eph_bound = have_eph && sys_disk_bind(eph.ri_block, eph_va, CAP_SELF) == 0;
	check("crash.eph-whole-or-gone", !have_eph || eph_bound);
	if (eph_bound)
		tally_table((const struct table *)eph_va, &c);
	uint64_t claimed = c.claimed, garbage = c.garbage, zeros = c.zeros, bad = c.bad;
	check_eq("crash.entries-well-formed", (long)bad, 0);
	check_eq("crash.no-uninitialised-block", (long)garbage, 0);
	sys_disk_info(&di);
	uint64_t fmb = (di.di_xn_blocks + DISK_BLOCK_SIZE * 8 - 1) / (DISK_BLOCK_SIZE * 8);
	uint64_t wmb = (di.di_xn_blocks + DISK_BLOCK_SIZE - 1) / DISK_BLOCK_SIZE; /* written map */
	uint64_t data = 1 + fmb + 1 + XN_TYPES_MAX + wmb;
	check_eq("crash.free-count-exact", (long)di.di_xn_free,
		 (long)(di.di_xn_blocks - data - claimed));
	printf("diskstorm: mount %lu: %u entries (%lu zero), %lu free, %lu free-map bits rebuilt; "
	       "eph %s\n",
	       di.di_xn_mounts, n, zeros, di.di_xn_free, di.di_xn_recovered,
	       have_eph ? "there" : "gone");
}

static long update_at(uint64_t block, uint32_t op, struct xn_extent ext, uint32_t new_count,
		      uint32_t slot)
{
	struct xn_write w[2];
	unsigned nw = 0;
	if (op == XN_OP_ALLOC) {
		w[nw++] = (struct xn_write){ (uint32_t)(16 + slot * sizeof(ext)), sizeof(ext),
					     (uint64_t)&ext };
	}
	w[nw++] = (struct xn_write){ 0, 4, (uint64_t)&new_count };
	struct xn_update u = { block, op, nw, ext, w };
	return sys_xn_update(&u, CAP_SELF);
}

static long update(uint32_t op, struct xn_extent ext, uint32_t new_count, uint32_t slot)
{
	return update_at(root.ri_block, op, ext, new_count, slot);
}

/* Make "eph" with a data block or two (written), or empty it and remove it. */
static void eph_step(uint64_t lo, uint64_t gen)
{
	struct xn_root_info ri;
	long r;
	if (sys_xn_root_lookup("eph", &ri) < 0) {
		if ((r = sys_xn_root_create("eph", (uint64_t)table_type, CAP_SELF)) < 0 ||
		    (r = sys_xn_root_lookup("eph", &ri)) < 0)
			panic("storm: eph: %le", r);
		for (uint32_t k = 0; k < 1 + rnd() % 2; k++) {
			uint64_t b = lo + rnd() % (di.di_xn_blocks - lo);
			struct xn_extent x = { b, 1, XN_TYPE_DATA };
			if ((r = update_at(ri.ri_block, XN_OP_ALLOC, x, k + 1, k)) == -E_BUSY)
				break;
			if (r < 0)
				panic("storm: eph alloc %lu: %le", b, r);
			stamp(b, gen + k);
			if (io_sync(DISK_OP_WRITE, b) != DISK_WAIT_DONE)
				panic("storm: eph write %lu", b);
		}
		return;
	}
	if ((r = sys_disk_bind(ri.ri_block, eph_va, CAP_SELF)) < 0)
		panic("storm: eph bind: %le", r);
	const struct table *t = (const struct table *)eph_va;
	for (uint32_t n = t->count; n > 0; n--)
		if ((r = update_at(ri.ri_block, XN_OP_FREE, t->ent[n - 1], n - 1, n - 1)) < 0)
			panic("storm: eph free: %le", r);
	if ((r = sys_xn_root_remove("eph", CAP_SELF)) < 0)
		panic("storm: eph remove: %le", r);
}

static void storm(void)
{
	uint64_t gen = rnd(), ops = 0;
	uint64_t lo = di.di_xn_blocks - di.di_xn_free; /* roughly where free space starts */
	for (;;) {
		uint32_t n = tab->count;
		bool grow = n == 0 || (n < MAX_ENTRIES && rnd() % 3 != 0);
		if (grow) {
			uint64_t b = lo + rnd() % (di.di_xn_blocks - lo);
			struct xn_extent x = { b, 1, XN_TYPE_DATA };
			bool data_first = rnd() & 1;
			long r;
			if (data_first) {
				/* the block is not ours yet: allocate, then write, then point */
				r = update(XN_OP_ALLOC, x, n + 1, n);
				if (r == 0) {
					stamp(b, gen++);
					r = io_sync(DISK_OP_WRITE, b) == DISK_WAIT_DONE ? 0 : -1;
				}
			} else {
				r = update(XN_OP_ALLOC, x, n + 1, n);
				if (r == 0) {
					unsigned f = flight_next++ % NFLIGHT;
					uint8_t *pg = flight + f * PAGE_SIZE;
					if (flight_id[f] >= 0)
						sys_disk_wait((uint64_t)flight_id[f], UINT64_MAX);
					stamp_into(pg, b, gen++);
					/* left in flight: the kernel must order it before the pointer */
					flight_id[f] = sys_disk_io(DISK_OP_WRITE, b, (uint64_t)pg,
								   CAP_SELF);
				}
			}
			if (r < 0 && r != -E_BUSY)
				panic("storm: alloc %lu: %le", b, r);
		} else {
			struct xn_extent x = tab->ent[n - 1];
			long r = update(XN_OP_FREE, x, n - 1, n - 1);
			if (r < 0)
				panic("storm: free %lu: %le", x.x_start, r);
		}
		if (++ops % 16 == 0)
			sys_disk_flush();
		if (ops % 16 == 8)
			eph_step(lo, gen++ << 8);
		if (ops % 512 == 0)
			printf("diskstorm: %lu operations\n", ops);
	}
}

int main(int argc, char **argv)
{
	rng = argc > 1 ? (uint64_t)strtol(argv[1], NULL, 10) * 2654435761UL + 1
		       : 88172645463325252UL;
	io = vm_alloc_shared(PAGE_SIZE);
	flight = vm_alloc_shared(NFLIGHT * PAGE_SIZE);
	assert(flight);
	for (unsigned i = 0; i < NFLIGHT; i++)
		flight_id[i] = -1;
	uint8_t *view = vm_alloc_shared(PAGE_SIZE);
	assert(io && view);
	vm_unmap((uint64_t)view,
		 PAGE_SIZE); /* only the address: disk_bind puts the cache page there */
	if (sys_disk_info(&di) < 0)
		panic("diskstorm: no disk");
	if (di.di_xn != XN_STATE_MOUNTED) {
		long r = sys_xn_format(CAP_SELF);
		if (r < 0)
			panic("diskstorm: format: %le", r);
		printf("diskstorm: formatted\n");
	}
	struct bpf_load_error err;
	long type =
		xnudf_register("table", bpfobj_xn_table_udf, bpfobj_xn_table_udf_end, NULL, &err);
	table_type = type;
	uint8_t *ev = vm_alloc_shared(PAGE_SIZE);
	assert(ev);
	vm_unmap((uint64_t)ev, PAGE_SIZE);
	eph_va = (uint64_t)ev;
	if (type < 0)
		panic("diskstorm: table type: %le (%s)", type, err.le_msg);
	if (sys_xn_root_lookup("storm", &root) < 0) {
		long r = sys_xn_root_create("storm", (uint64_t)type, CAP_SELF);
		if (r < 0 || sys_xn_root_lookup("storm", &root) < 0)
			panic("diskstorm: root: %le", r);
		sys_disk_flush();
	}
	long r = sys_disk_bind(root.ri_block, (uint64_t)view, CAP_SELF);
	if (r < 0)
		panic("diskstorm: bind the root: %le", r);
	tab = (const struct table *)view;
	check_invariants();
	printf("diskstorm: checked\n");
	if (argc > 2 && strcmp(argv[2], "check") == 0)
		return test_finish();
	storm();
	return 0;
}
