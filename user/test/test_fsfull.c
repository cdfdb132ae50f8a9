/*
 * lib/fs when the kernel's cache is full of another tree's uncommitted
 * blocks (doc/fs.md, "On the real disk"): every call that needs a cache
 * entry answers E_FULL until that tree syncs, and fsdev_xn waits for room
 * (room_wait: 10 ms sleeps, up to 5 s) instead of failing the file call.
 * tools/test-disk boots init=test_fsfull on an image made by mkfs, as the
 * first env (its key reaches every tree):
 *
 *   fsfull.full-*     another tree ("fb", of the table type test_xn uses)
 *                     fills every cache entry with dirty blocks
 *   fsfull.waited-*   a file created then waits until a child syncs "fb"
 *                     (FLUSH_DELAY_MS later) and succeeds; its content is
 *                     there after a sync
 *   fsfull.eio-*      with nobody to sync "fb", the create answers EIO
 *                     after about 5 s; once "fb" syncs, files work again
 *
 * Child mode: "flusher" (sync "fb" once its key has come, after the delay).
 * Without a disk (the guest suite) the file calls answer ENOSYS.
 */
#include <lib/posix/posix.h>
#include <inc/disk.h>
#include <lib/base/test.h>
#include <lib/posix/proc.h>
#include <common/string.h>
#include "xntable.h"
#include "fsput.h"
#include "xnudf.h"

extern const uint8_t bpfobj_xn_table_udf[], bpfobj_xn_table_udf_end[];

#define KEY_TAG 0x7e59
#define KEY_B 12
#define FLUSH_DELAY_MS 300

static long t_table;
static uint64_t rb;
static const struct table *vb;
#define FILL_PER_TABLE 250
static uint64_t kids[BC_ENTRIES];
static unsigned nkids;

static struct disk_info info(void)
{
	struct disk_info d;
	assert(sys_disk_info(&d) == 0);
	return d;
}

static uint64_t ms_since(uint64_t t0)
{
	return (ukinfo->ki_ticks - t0) * 1000 / ukinfo->ki_tick_hz;
}

static int flusher(void)
{
	/* our parent grants tree fb's key after env_create started us */
	uint64_t end = ukinfo->ki_ticks + 60 * (uint64_t)ukinfo->ki_tick_hz;
	long key = -1;
	while (key < 0 && ukinfo->ki_ticks < end) {
		for (uint64_t slot = 1; slot < CAP_RING && key < 0; slot++) {
			struct cap c;
			if (sys_cap_read(0, slot, &c) == 0 && c.c_valid && c.c_len >= 1 &&
			    c.c_name[0] == KEY_TAG)
				key = (long)slot;
		}
		if (key < 0)
			sys_yield();
	}
	if (key < 0)
		return 2;
	sys_env_sleep(ukinfo->ki_tick_hz * FLUSH_DELAY_MS / 1000);
	return sys_xn_root_sync("fb", (uint64_t)key) == 0 ? 0 : 3;
}

/* Tree fb, before lib/fs mounts (so the free map it starts with knows fb's
 * root block is taken: XN puts it in the first free block). */
static void make_tree(void)
{
	struct bpf_load_error err;
	t_table = xnudf_register("table", bpfobj_xn_table_udf, bpfobj_xn_table_udf_end, NULL, &err);
	check("fsfull.type", t_table > 0);
	uint16_t b[2] = { KEY_TAG, 0xb };
	check_eq("fsfull.derive", sys_cap_derive(CAP_SELF, KEY_B, CAP_ALL, b, 2), 0);
	struct xn_root_info ri;
	check("fsfull.root", sys_xn_root_create("fb", t_table, KEY_B) >= 0);
	check("fsfull.root-lookup", sys_xn_root_lookup("fb", &ri) >= 0);
	rb = ri.ri_block;
	uint64_t va = hole();
	check_eq("fsfull.root-bind", sys_disk_bind(rb, va, KEY_B), 0);
	vb = (const struct table *)va;
}

/* fb's root and, one by one, children (each a new dirty entry) until every
 * entry of the cache is dirty. */
static void fill(void)
{
	check_eq("fsfull.clean", sys_disk_flush(), 0);
	/* children from the top of the disk down, where XN says free */
	uint64_t n = info().di_xn_blocks;
	static uint8_t bits[65536];
	check("fsfull.free-map", n <= sizeof(bits) * 8 && sys_xn_free_map(0, n, bits) >= 0);
	long r = touch(rb, 1, KEY_B);
	/* the root takes FILL_PER_TABLE, then each of its children in turn (a
	 * table holds 255 extents) */
	uint64_t parent = rb;
	const struct table *view = vb;
	unsigned next_parent = 0;
	for (uint64_t blk = n - 1;
	     blk > 0 && r == 0 && nkids < ARRAY_SIZE(kids) && info().di_cache_dirty < BC_ENTRIES;
	     blk--) {
		if (!(bits[blk / 8] >> (blk % 8) & 1))
			continue;
		if (view->count == FILL_PER_TABLE) {
			uint64_t va = hole();
			parent = kids[next_parent++];
			if ((r = sys_disk_bind(parent, va, KEY_B)) < 0)
				break;
			view = (const struct table *)va;
		}
		r = tab_add(parent, view, (struct xn_extent){ blk, 1, t_table }, KEY_B);
		kids[nkids++] = blk;
	}
	check_eq("fsfull.full-children", r, 0);
	check_eq("fsfull.full-all-dirty", (long)info().di_cache_dirty, BC_ENTRIES);
}

/* Every block of fb dirty again (after a sync made them clean). */
static void refill(uint32_t v)
{
	long r = touch(rb, v, KEY_B);
	for (unsigned i = 0; i < nkids && r == 0; i++)
		r = touch(kids[i], v, KEY_B);
	check_eq("fsfull.refill", r, 0);
	check_eq("fsfull.full-again", (long)info().di_cache_dirty, BC_ENTRIES);
}

int main(int argc, char **argv)
{
	struct disk_info di;
	if (sys_disk_info(&di) == -E_NOT_FOUND) {
		check_eq("fsfull.nodisk", open("/x", O_RDONLY, 0), -ENOSYS);
		return test_finish();
	}
	if (argc > 1 && strcmp(argv[1], "flusher") == 0)
		return flusher();
	make_tree();
	check_eq("fsfull.put", put("/a", "before"), 6);
	check_eq("fsfull.sync", sync(), 0);
	fill();

	long child = sys_env_create("test_fsfull", "flusher", CAP_SELF);
	check("fsfull.flusher", child > 0 && sys_cap_grant(KEY_B, (envid_t)child) >= 0);
	uint64_t t0 = ukinfo->ki_ticks;
	check_eq("fsfull.waited-create", put("/b", "after the wait"), 14);
	uint64_t waited = ms_since(t0);
	printf("fsfull: a create waited %lu ms for room (the flusher syncs after %d)\n", waited,
	       FLUSH_DELAY_MS);
	check("fsfull.waited", waited >= FLUSH_DELAY_MS / 2);
	check_eq("fsfull.waited-flusher", child > 0 ? sys_env_wait((envid_t)child) : -1, 0);
	check_eq("fsfull.waited-sync", sync(), 0);
	check("fsfull.waited-content", holds("/b", "after the wait"));

	refill(2);
	t0 = ukinfo->ki_ticks;
	check_eq("fsfull.eio-create", put("/c", "never"), -EIO);
	waited = ms_since(t0);
	printf("fsfull: with nobody to sync, EIO after %lu ms\n", waited);
	check("fsfull.eio-after-5s", waited >= 4500);
	check_eq("fsfull.eio-flush", sys_xn_root_sync("fb", KEY_B), 0);
	check_eq("fsfull.eio-then-sync", sync(), 0);
	check_eq("fsfull.eio-then-create", put("/d", "works"), 5);
	check_eq("fsfull.eio-then-sync2", sync(), 0);
	check("fsfull.eio-then-content", holds("/d", "works"));
	check("fsfull.eio-old-file", holds("/a", "before"));
	int r = test_finish();
	printf("test_fsfull: done\n");
	return r;
}
