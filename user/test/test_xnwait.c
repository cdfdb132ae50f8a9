/*
 * The kernel's own disk I/O without spinning, and write-back that stays
 * inside the caller's trees (doc/disk.md, "Waiting for the device").
 * tools/test-disk boots init=test_xnwait on a fresh scratch image (the
 * first env: it holds the root key):
 *
 *   xnwait.runs-*     another env runs while one waits in disk_flush: a
 *                     child that spins until it sees us BLOCKED (we block
 *                     in nothing else) exits within ROUNDS flushes. With
 *                     the kernel spinning on the device it never did (40
 *                     flushes, the child destroyed): we were never
 *                     asleep. Every flush counts a sleep (di_sleeps). The
 *                     child's run count across each flush is printed
 *                     only: the disk's interrupt after a spinning call
 *                     also lets it run before we look.
 *   xnwait.scope-*    disk_flush by a child holding only tree A's key
 *                     writes A's dirty block and not B's (B's stays dirty
 *                     and old on disk); ours (the root key) writes B's.
 *   xnwait.full-*     the cache full of dirty blocks of tree B and two of
 *                     A: an allocation in A writes back A's two, not B's
 *                     (B's root still old on disk); tree C, with nothing
 *                     dirty, gets E_FULL from disk_bind, xn_update and
 *                     xn_move, and no block is written for it; after a
 *                     flush C's calls work.
 *   xnwait.type-*, xnwait.create-*, xnwait.remove-*: a type's
 *                     registration and a root's creation and removal sleep
 *                     while their blocks are written (di_sleeps).
 *   xnwait.miss-*     a cache miss in disk_bind sleeps: three binds of
 *                     evicted blocks each count a sleep (di_sleeps; the
 *                     old kernel spun and had no sleeps to count).
 *
 * Child modes: "spinner PARENT", "flusher".
 */
#include <inc/disk.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include "xntable.h"
#include "xnudf.h"

extern const uint8_t bpfobj_xn_table_udf[], bpfobj_xn_table_udf_end[];

#define D XN_TYPE_DATA
#define KEY_TAG 0x7e58
#define KEY_A 10
#define KEY_B 11
#define KEY_C 12
#define ROUNDS 40 /* flushes the spinner has to see one of */

static long t_table;
static uint64_t next_free;

static struct disk_info info(void)
{
	struct disk_info d;
	assert(sys_disk_info(&d) == 0);
	return d;
}

/* A new root of ours: its block in *block, its view bound read-only. */
static const struct table *new_root(const char *name, uint64_t key, uint64_t *block)
{
	struct xn_root_info ri;
	if (sys_xn_root_create(name, t_table, key) < 0 || sys_xn_root_lookup(name, &ri) < 0)
		return NULL;
	uint64_t va = hole();
	*block = ri.ri_block;
	return sys_disk_bind(ri.ri_block, va, key) < 0 ? NULL : (const struct table *)va;
}

/* The pad word of block as it is on disk (not in the cache). */
static long on_disk_pad(uint64_t block, uint64_t key)
{
	static uint8_t *p;
	if (!p)
		p = vm_alloc_shared(PAGE_SIZE);
	long r = io(DISK_OP_READ, block, p, key);
	return r < 0 ? r : (long)((const struct table *)p)->pad[0];
}

static long spawn(const char *args, uint64_t key)
{
	long id = sys_env_create("test_xnwait", args, CAP_SELF);
	if (id > 0 && key && sys_cap_grant(key, (envid_t)id) < 0)
		return -1;
	return id;
}

/* Let a new child reach its loop: yielding never blocks us. */
static void warm_up(void)
{
	for (int i = 0; i < 5; i++)
		sys_yield();
}

static bool gone(long id)
{
	const volatile struct env_info *ei = &uenvs[ENVX((envid_t)id)];
	return ei->env_id != (envid_t)id || ei->env_status == ENV_ZOMBIE ||
	       ei->env_status == ENV_FREE;
}

/* --- another env runs while we wait ------------------------------------------------- */

static void runs_during_flush(void)
{
	uint64_t root;
	const struct table *v = new_root("wr", KEY_A, &root);
	check("xnwait.runs-root", v != NULL);
	char args[32];
	snprintf(args, sizeof(args), "spinner %u", thisenv_id);
	long child = spawn(args, 0);
	check("xnwait.runs-spawn", child > 0);
	if (!v || child <= 0)
		return;
	const volatile struct env_info *ce = &uenvs[ENVX((envid_t)child)];
	warm_up();
	/* we never block but in disk_flush here, so the spinner ends only if
	 * it ran while we were asleep in one */
	int rounds = 0, grew = 0, slept = 0;
	long bad = 0;
	while (rounds < ROUNDS && !gone(child) && bad == 0) {
		bad = touch(root, (uint32_t)rounds, KEY_A);
		uint64_t runs0 = ce->env_runs, s0 = info().di_sleeps;
		if (bad == 0)
			bad = sys_disk_flush();
		grew += ce->env_runs != runs0;
		slept += info().di_sleeps > s0;
		rounds++;
	}
	check_eq("xnwait.runs-touch-and-flush", bad, 0);
	check_eq("xnwait.runs-every-flush-slept", slept, rounds);
	printf("test_xnwait: spinner ended after %d flushes, ran during %d\n", rounds, grew);
	check("xnwait.runs-child-saw-us-asleep", gone(child));
	if (!gone(child))
		sys_env_destroy((envid_t)child, CAP_SELF);
	check_eq("xnwait.runs-child-status", sys_env_wait((envid_t)child), 0);
	check_eq("xnwait.runs-on-disk", on_disk_pad(root, KEY_A), rounds - 1);
}

static int spinner(envid_t parent)
{
	const volatile struct env_info *pe = &uenvs[ENVX(parent)];
	while (pe->env_status != ENV_BLOCKED)
		__asm__ volatile("pause");
	return 0;
}

/* --- a flush writes the caller's trees --------------------------------------------- */

static void flush_scope(void)
{
	uint64_t ra, rb;
	const struct table *va = new_root("sa", KEY_A, &ra), *vb = new_root("sb", KEY_B, &rb);
	check("xnwait.scope-roots", va && vb);
	if (!va || !vb)
		return;
	check_eq("xnwait.scope-clean", sys_disk_flush(), 0);
	check_eq("xnwait.scope-touch-a", touch(ra, 0xa1, KEY_A), 0);
	check_eq("xnwait.scope-touch-b", touch(rb, 0xb1, KEY_B), 0);
	check_eq("xnwait.scope-dirty", (long)info().di_cache_dirty, 2);
	long child = spawn("flusher", KEY_A);
	check("xnwait.scope-spawn", child > 0);
	if (child > 0)
		check_eq("xnwait.scope-child", sys_env_wait((envid_t)child), 0);
	check_eq("xnwait.scope-b-still-dirty", (long)info().di_cache_dirty, 1);
	check_eq("xnwait.scope-a-on-disk", on_disk_pad(ra, KEY_A), 0xa1);
	check_eq("xnwait.scope-b-not-on-disk", on_disk_pad(rb, KEY_B), 0);
	check_eq("xnwait.scope-ours", sys_disk_flush(), 0);
	check_eq("xnwait.scope-none-dirty", (long)info().di_cache_dirty, 0);
	check_eq("xnwait.scope-b-on-disk", on_disk_pad(rb, KEY_B), 0xb1);
}

static int flusher(void)
{
	/* env_create starts us before our parent's cap_grant of tree A's
	 * key lands: a loaded host ran us first, and our flush then reached
	 * no tree (it returned 0, having written nothing). Wait for it. */
	uint64_t end = ukinfo->ki_ticks + 60 * (uint64_t)ukinfo->ki_tick_hz;
	bool keyed = false;
	while (!keyed && ukinfo->ki_ticks < end) {
		for (uint64_t slot = 1; slot < CAP_RING && !keyed; slot++) {
			struct cap c;
			keyed = sys_cap_read(0, slot, &c) == 0 && c.c_valid && c.c_len >= 1 &&
				c.c_name[0] == KEY_TAG;
		}
		if (!keyed)
			sys_yield();
	}
	check("flusher.key-granted", keyed);
	check_eq("flusher.flush", sys_disk_flush(), 0);
	return test_finish();
}

/* --- a full cache ------------------------------------------------------------------ */

/* Move x, the last of from_count extents of table `from`, to the end of
 * table `to` (to_count extents now). Counts, not views: a full cache
 * leaves no view bound. */
static long move_last(uint64_t from, uint32_t from_count, struct xn_extent x, uint64_t to,
		      uint32_t to_count, uint64_t cap)
{
	uint32_t fc = from_count - 1, tc = to_count + 1;
	struct xn_write wf[1] = { { 0, 4, (uint64_t)&fc } };
	struct xn_write wt[2] = { { (uint32_t)(16 + to_count * sizeof(x)), sizeof(x),
				    (uint64_t)&x },
				  { 0, 4, (uint64_t)&tc } };
	struct xn_update uf = { from, XN_OP_FREE, 1, x, wf }, ut = { to, XN_OP_ALLOC, 2, x, wt };
	return sys_xn_move(&uf, &ut, cap);
}

/* want new dirty blocks of tree B: tables under B's root, then under its
 * first children in turn (a table holds 255 extents). 0 or -E_*. */
#define FILL_PER_TABLE 250
static long fill_dirty(uint64_t rb, const struct table *vb, unsigned want)
{
	uint64_t parent = rb;
	const struct table *view = vb;
	unsigned next_parent = 0;
	long r = 0;
	while (want > 0 && r == 0) {
		if (view->count == FILL_PER_TABLE) {
			if (next_parent == vb->count)
				return -E_NO_MEM;
			parent = vb->ent[next_parent++].x_start;
			uint64_t va = hole();
			if ((r = sys_disk_bind(parent, va, KEY_B)) < 0)
				return r;
			view = (const struct table *)va;
			continue;
		}
		r = tab_add(parent, view, (struct xn_extent){ next_free--, 1, t_table }, KEY_B);
		want--;
	}
	return r;
}

static void full_cache(void)
{
	uint64_t ra, rb, rc;
	const struct table *va = new_root("fa", KEY_A, &ra), *vb = new_root("fb", KEY_B, &rb),
			   *vc = new_root("fc", KEY_C, &rc);
	check("xnwait.full-roots", va && vb && vc);
	if (!va || !vb || !vc)
		return;
	/* A: a child table; C: a child table and a data block in its root */
	uint64_t a1 = next_free--, c1 = next_free--, cd = next_free--;
	check_eq("xnwait.full-a-child",
		 tab_add(ra, va, (struct xn_extent){ a1, 1, t_table }, KEY_A), 0);
	check_eq("xnwait.full-c-child",
		 tab_add(rc, vc, (struct xn_extent){ c1, 1, t_table }, KEY_C), 0);
	check_eq("xnwait.full-c-data", tab_add(rc, vc, (struct xn_extent){ cd, 1, D }, KEY_C), 0);
	check_eq("xnwait.full-clean", sys_disk_flush(), 0);
	/* two of A's dirty, then B's root and children up to a full cache */
	check_eq("xnwait.full-touch-a", touch(ra, 0xa2, KEY_A), 0);
	check_eq("xnwait.full-touch-a1", touch(a1, 0xa3, KEY_A), 0);
	check_eq("xnwait.full-touch-b", touch(rb, 0xb2, KEY_B), 0);
	check_eq("xnwait.full-b-children", fill_dirty(rb, vb, BC_ENTRIES - 3), 0);
	struct disk_info d = info();
	check_eq("xnwait.full-all-dirty", (long)d.di_cache_dirty, BC_ENTRIES);
	/* C has nothing dirty to write: refused, nothing written */
	uint64_t w0 = d.di_writes;
	check_eq("xnwait.full-c-bind", sys_disk_bind(c1, hole(), KEY_C), -E_FULL);
	check_eq("xnwait.full-c-update", touch(c1, 0xc1, KEY_C), -E_FULL);
	struct xn_extent xd = { cd, 1, D };
	check_eq("xnwait.full-c-move", move_last(rc, 2, xd, c1, 0, KEY_C), -E_FULL);
	d = info();
	check_eq("xnwait.full-c-wrote-nothing", (long)(d.di_writes - w0), 0);
	check_eq("xnwait.full-c-still-all-dirty", (long)d.di_cache_dirty, BC_ENTRIES);
	check_eq("xnwait.full-c-child-untouched", on_disk_pad(c1, KEY_C), 0);
	/* A needs an entry for a new child: A's own two are written, B's not */
	check_eq("xnwait.full-a-alloc",
		 tab_add(ra, va, (struct xn_extent){ next_free--, 1, t_table }, KEY_A), 0);
	check_eq("xnwait.full-a-root-on-disk", on_disk_pad(ra, KEY_A), 0xa2);
	check_eq("xnwait.full-a-child-on-disk", on_disk_pad(a1, KEY_A), 0xa3);
	check_eq("xnwait.full-b-not-on-disk", on_disk_pad(rb, KEY_B), 0);
	/* A's two clean now; its root dirty again and its new child */
	check_eq("xnwait.full-b-still-dirty", (long)info().di_cache_dirty, BC_ENTRIES);
	/* everything written: C's calls find room */
	check_eq("xnwait.full-flush", sys_disk_flush(), 0);
	check_eq("xnwait.full-b-on-disk", on_disk_pad(rb, KEY_B), 0xb2);
	/* a cache miss sleeps too (these blocks were evicted): counted */
	uint64_t missed[3] = { a1, rc, c1 }, keys[3] = { KEY_A, KEY_C, KEY_C };
	for (int i = 0; i < 3; i++) {
		uint64_t s0 = info().di_sleeps;
		check_eq("xnwait.miss-bind", sys_disk_bind(missed[i], hole(), keys[i]), 0);
		check("xnwait.miss-slept", info().di_sleeps > s0);
	}
	check_eq("xnwait.full-c-bind-after", sys_disk_bind(c1, hole(), KEY_C), 0);
	check_eq("xnwait.full-c-move-after", move_last(rc, 2, xd, c1, 0, KEY_C), 0);
	check_eq("xnwait.full-c-update-after", touch(c1, 0xc1, KEY_C), 0);
	check_eq("xnwait.full-final-flush", sys_disk_flush(), 0);
	check_eq("xnwait.full-c-on-disk", on_disk_pad(c1, KEY_C), 0xc1);
}

/* Creating and removing a root write the catalogue asleep too. */
static void catalogue_sleeps(void)
{
	uint64_t s0 = info().di_sleeps, root;
	const struct table *v = new_root("cr", KEY_A, &root);
	check("xnwait.create", v != NULL && v->count == 0 && v->pad[0] == 0);
	check("xnwait.create-slept", info().di_sleeps > s0);
	s0 = info().di_sleeps;
	check_eq("xnwait.remove", sys_xn_root_remove("cr", KEY_A), 0);
	check("xnwait.remove-slept", info().di_sleeps > s0);
	struct xn_root_info ri;
	check_eq("xnwait.remove-gone", sys_xn_root_lookup("cr", &ri), -E_NOT_FOUND);
}

static void setup(void)
{
	check_eq("xnwait.format", sys_xn_format(CAP_SELF), 0);
	struct bpf_load_error err;
	uint64_t s0 = info().di_sleeps;
	t_table = xnudf_register("table", bpfobj_xn_table_udf, bpfobj_xn_table_udf_end, NULL, &err);
	check("xnwait.type", t_table > 0);
	check("xnwait.type-slept", info().di_sleeps > s0); /* its block and a flush */
	s0 = info().di_sleeps;
	check_eq("xnwait.type-again",
		 xnudf_register("table", bpfobj_xn_table_udf, bpfobj_xn_table_udf_end, NULL, &err),
		 t_table);
	check_eq("xnwait.type-again-no-io", (long)(info().di_sleeps - s0), 0);
	next_free = info().di_xn_blocks - 1;
	uint16_t a[2] = { KEY_TAG, 0xa }, b[2] = { KEY_TAG, 0xb }, c[2] = { KEY_TAG, 0xc };
	check_eq("xnwait.derive-a", sys_cap_derive(CAP_SELF, KEY_A, CAP_ALL, a, 2), 0);
	check_eq("xnwait.derive-b", sys_cap_derive(CAP_SELF, KEY_B, CAP_ALL, b, 2), 0);
	check_eq("xnwait.derive-c", sys_cap_derive(CAP_SELF, KEY_C, CAP_ALL, c, 2), 0);
}

int main(int argc, char **argv)
{
	struct disk_info di;
	if (sys_disk_info(&di) == -E_NOT_FOUND) {
		check_eq("nodisk.xnwait-flush", sys_disk_flush(), -E_NOT_FOUND);
		check_eq("nodisk.xnwait-flush-data", sys_disk_flush_data(), -E_NOT_FOUND);
		return test_finish();
	}
	if (argc > 2 && strcmp(argv[1], "spinner") == 0)
		return spinner((envid_t)strtol(argv[2], NULL, 10));
	if (argc > 1 && strcmp(argv[1], "flusher") == 0)
		return flusher();
	setup();
	runs_during_flush();
	catalogue_sleeps();
	flush_scope();
	full_cache();
	int r = test_finish();
	printf("test_xnwait: done\n");
	return r;
}
