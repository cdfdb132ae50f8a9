/*
 * Removing XN roots and syncing one tree (doc/disk.md). In testrun's boot
 * (no disk) both calls must answer E_NOT_FOUND. tools/test-disk boots
 * init=test_xnroot on a fresh scratch image (the first env: it holds the
 * root key), then again with "-- remount":
 *
 *   xnroot.raw-*      both calls on a raw disk: E_NOT_FOUND.
 *   xnroot.remove-*   every error of xn_root_remove, each leaving the root,
 *                     its tree and the free count as they were; a root
 *                     removed once it is empty: gone, its blocks free at
 *                     once; a new root in the same catalogue slot finds
 *                     zeros, not the removed tree's data.
 *   xnroot.sync-*     every error of xn_root_sync; two trees with dirty
 *                     metadata: one's sync writes exactly its own blocks
 *                     (device writes counted in disk_info), the other's
 *                     stay dirty in the cache and old on disk; a block
 *                     freed by one tree becomes free at its own sync, not
 *                     at the other's.
 *   xnroot.dcache-*   the data registry charged to families: a child
 *                     family (a lead and four flooders, enough to fill
 *                     BC_DATA_MAX at BC_DATA_PER_ENV each) floods it: three
 *                     fill the family's default share (3/4), the fourth is
 *                     refused E_QUOTA; with all of them alive, another
 *                     family caches at once; every entry goes when the
 *                     flooders die.
 *   xnroot.claims-*   XN keeps a few blocks' last UDF answers: updates
 *                     going round four blocks run the UDF once each (on
 *                     the new contents), and the kept answer still judges
 *                     (a byte change that drops a claim is refused).
 *   remount.*         the second boot: the removed root is still gone,
 *                     the others whole, the free count exact.
 *   readonly.*        a third boot with the disk read-only: xn_root_remove
 *                     (and every other call that would write) E_PERM,
 *                     changing nothing; reads, binds and flushes work.
 *
 * Child modes: "floodlead FIRST", "flood FIRST", "victim BLOCK".
 */
#include <inc/disk.h>
#include <inc/quota.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include "xntable.h"
#include "xnudf.h"

extern const uint8_t bpfobj_xn_table_udf[], bpfobj_xn_table_udf_end[];
extern const uint8_t bpfobj_xn_ptr_udf[], bpfobj_xn_ptr_udf_end[];

#define D XN_TYPE_DATA
#define KEY_TAG 0x7e57 /* the first component of the keys this test derives */
#define KEY_A 10       /* slots of the derived keys */
#define KEY_B 11
#define KEY_A_RW 12 /* A's name without CAP_M */

static struct disk_info di;
static long t_table;
static uint64_t next_free; /* blocks are taken from the top of the disk down */

static struct disk_info info(void)
{
	struct disk_info d;
	assert(sys_disk_info(&d) == 0);
	return d;
}

/* The root named name: its block bound read-only at a fresh address. */
static const struct table *view_of(const char *name, struct xn_root_info *ri)
{
	if (sys_xn_root_lookup(name, ri) < 0)
		return NULL;
	uint64_t va = hole();
	if (sys_disk_bind(ri->ri_block, va, CAP_SELF) < 0)
		return NULL;
	return (const struct table *)va;
}

static void every_call_not_found(const char *prefix)
{
	char name[48];
	snprintf(name, sizeof(name), "%s-remove", prefix);
	check_eq(name, sys_xn_root_remove("r", CAP_SELF), -E_NOT_FOUND);
	snprintf(name, sizeof(name), "%s-sync", prefix);
	check_eq(name, sys_xn_root_sync("r", CAP_SELF), -E_NOT_FOUND);
}

static void setup(void)
{
	every_call_not_found("xnroot.raw");
	check_eq("xnroot.format", sys_xn_format(CAP_SELF), 0);
	struct bpf_load_error err;
	t_table = xnudf_register("table", bpfobj_xn_table_udf, bpfobj_xn_table_udf_end, NULL, &err);
	check("xnroot.type", t_table > 0);
	di = info();
	next_free = di.di_xn_blocks - 1;
	uint16_t a[2] = { KEY_TAG, 0xa }, b[2] = { KEY_TAG, 0xb };
	check_eq("xnroot.derive-a", sys_cap_derive(CAP_SELF, KEY_A, CAP_ALL, a, 2), 0);
	check_eq("xnroot.derive-b", sys_cap_derive(CAP_SELF, KEY_B, CAP_ALL, b, 2), 0);
	check_eq("xnroot.derive-a-rw", sys_cap_derive(KEY_A, KEY_A_RW, CAP_R | CAP_W, NULL, 0), 0);
}

/* --- removal --------------------------------------------------------------------- */

static void remove_errors(void)
{
	char long_name[XN_NAME_MAX + 4];
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	uint64_t free0 = info().di_xn_free;
	long at = sys_xn_root_create("ra", t_table, KEY_A);
	check("xnroot.remove-create", at >= 0);
	struct xn_root_info ri;
	const struct table *view = view_of("ra", &ri);
	check("xnroot.remove-view", view != NULL);
	if (!view)
		return;
	struct xn_extent x = { next_free--, 1, D };
	check_eq("xnroot.remove-alloc", tab_add(ri.ri_block, view, x, KEY_A), 0);
	di = info();
	uint64_t free1 = di.di_xn_free;
	uint32_t roots1 = di.di_xn_roots;

	check_eq("xnroot.remove-name-fault", sys_xn_root_remove((const char *)8, CAP_SELF),
		 -E_FAULT);
	check_eq("xnroot.remove-name-long", sys_xn_root_remove(long_name, CAP_SELF), -E_TOO_BIG);
	check_eq("xnroot.remove-name-empty", sys_xn_root_remove("", CAP_SELF), -E_INVAL);
	check_eq("xnroot.remove-missing", sys_xn_root_remove("nope", CAP_SELF), -E_NOT_FOUND);
	check_eq("xnroot.remove-bad-cap", sys_xn_root_remove("ra", CAP_RING - 1), -E_BAD_CAP);
	check_eq("xnroot.remove-bad-slot", sys_xn_root_remove("ra", CAP_RING + 3), -E_BAD_CAP);
	check_eq("xnroot.remove-other-key", sys_xn_root_remove("ra", KEY_B), -E_PERM);
	check_eq("xnroot.remove-no-manage-right", sys_xn_root_remove("ra", KEY_A_RW), -E_PERM);
	check_eq("xnroot.remove-not-empty", sys_xn_root_remove("ra", KEY_A), -E_BUSY);
	/* nothing changed by any of them */
	struct xn_root_info again;
	di = info();
	check("xnroot.remove-errors-change-nothing",
	      sys_xn_root_lookup("ra", &again) == at && again.ri_block == ri.ri_block &&
		      di.di_xn_free == free1 && di.di_xn_roots == roots1 && view->count == 1 &&
		      view->ent[0].x_start == x.x_start);

	/* emptied, it goes: the root block and the data block just freed
	 * (its release not yet written) are free at once */
	uint8_t *p = vm_alloc_shared(PAGE_SIZE);
	assert(p);
	memset(p, 0x5a, PAGE_SIZE);
	check_eq("xnroot.remove-write-data", io(DISK_OP_WRITE, x.x_start, p, KEY_A), 0);
	check_eq("xnroot.remove-flush", sys_disk_flush(), 0); /* the note is on disk */
	check_eq("xnroot.remove-free-data", tab_pop(ri.ri_block, view, KEY_A), 0);
	check_eq("xnroot.remove", sys_xn_root_remove("ra", KEY_A), 0);
	check_eq("xnroot.remove-gone", sys_xn_root_lookup("ra", &again), -E_NOT_FOUND);
	check_eq("xnroot.remove-twice", sys_xn_root_remove("ra", KEY_A), -E_NOT_FOUND);
	di = info();
	check_eq("xnroot.remove-roots", di.di_xn_roots, roots1 - 1);
	check_eq("xnroot.remove-free-count", (long)di.di_xn_free, (long)free0);
	check_eq("xnroot.remove-unbinds", sys_disk_bind(ri.ri_block, hole(), CAP_SELF), -E_RANGE);

	/* the same slot again, with the block the removed tree wrote: zeros */
	long at2 = sys_xn_root_create("ra2", t_table, KEY_A);
	check_eq("xnroot.remove-slot-reused", at2, at);
	const struct table *v2 = view_of("ra2", &again);
	check("xnroot.remove-view2", v2 != NULL);
	if (!v2)
		return;
	check_eq("xnroot.remove-realloc", tab_add(again.ri_block, v2, x, KEY_A), 0);
	check_eq("xnroot.remove-realloc-flush", sys_xn_root_sync("ra2", KEY_A), 0);
	memset(p, 0xff, PAGE_SIZE);
	check_eq("xnroot.remove-read", io(DISK_OP_READ, x.x_start, p, KEY_A), 0);
	bool zeros = true;
	for (unsigned i = 0; i < PAGE_SIZE; i++)
		zeros &= p[i] == 0;
	check("xnroot.remove-no-old-data", zeros);
}

/* --- per-tree sync ------------------------------------------------------------- */

static void sync_errors(void)
{
	char long_name[XN_NAME_MAX + 4];
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	check_eq("xnroot.sync-name-fault", sys_xn_root_sync((const char *)8, KEY_A), -E_FAULT);
	check_eq("xnroot.sync-name-long", sys_xn_root_sync(long_name, KEY_A), -E_TOO_BIG);
	check_eq("xnroot.sync-name-empty", sys_xn_root_sync("", KEY_A), -E_INVAL);
	check_eq("xnroot.sync-missing", sys_xn_root_sync("nope", KEY_A), -E_NOT_FOUND);
	check_eq("xnroot.sync-bad-cap", sys_xn_root_sync("sa", CAP_RING - 1), -E_BAD_CAP);
	check_eq("xnroot.sync-other-key", sys_xn_root_sync("sa", KEY_B), -E_PERM);
}

static void sync_one_tree(void)
{
	check("xnroot.sync-create-a", sys_xn_root_create("sa", t_table, KEY_A) >= 0);
	check("xnroot.sync-create-b", sys_xn_root_create("sb", t_table, KEY_B) >= 0);
	struct xn_root_info ra, rb;
	const struct table *va = view_of("sa", &ra), *vb = view_of("sb", &rb);
	check("xnroot.sync-views", va && vb);
	if (!va || !vb)
		return;
	sync_errors();
	/* B: three metadata children and two data blocks; A: one data block */
	uint64_t kids[3];
	for (int i = 0; i < 3; i++) {
		struct xn_extent m = { next_free--, 1, (uint32_t)t_table };
		kids[i] = m.x_start;
		check_eq("xnroot.sync-b-child", tab_add(rb.ri_block, vb, m, KEY_B), 0);
	}
	struct xn_extent da = { next_free--, 1, D }, db1 = { next_free--, 1, D },
			 db2 = { next_free--, 1, D };
	check_eq("xnroot.sync-a-data", tab_add(ra.ri_block, va, da, KEY_A), 0);
	check_eq("xnroot.sync-b-data1", tab_add(rb.ri_block, vb, db1, KEY_B), 0);
	check_eq("xnroot.sync-b-data2", tab_add(rb.ri_block, vb, db2, KEY_B), 0);
	check_eq("xnroot.sync-clean-start", sys_disk_flush(), 0);
	di = info();
	check_eq("xnroot.sync-all-clean", (long)di.di_cache_dirty, 0);

	/* byte changes: A's root; B's root and its three children */
	check_eq("xnroot.sync-touch-a", touch(ra.ri_block, 0xa1, KEY_A), 0);
	check_eq("xnroot.sync-touch-b", touch(rb.ri_block, 0xb1, KEY_B), 0);
	for (int i = 0; i < 3; i++)
		check_eq("xnroot.sync-touch-b-child", touch(kids[i], 0xb2, KEY_B), 0);
	di = info();
	check_eq("xnroot.sync-dirty-both", (long)di.di_cache_dirty, 5);
	uint64_t w0 = di.di_writes;
	check_eq("xnroot.sync-a", sys_xn_root_sync("sa", KEY_A), 0);
	di = info();
	check_eq("xnroot.sync-a-writes-its-own", (long)(di.di_writes - w0), 1);
	check_eq("xnroot.sync-b-still-dirty", (long)di.di_cache_dirty, 4);
	uint8_t *p = vm_alloc_shared(PAGE_SIZE);
	assert(p);
	check_eq("xnroot.sync-read-a", io(DISK_OP_READ, ra.ri_block, p, KEY_A), 0);
	check_eq("xnroot.sync-a-on-disk", ((const struct table *)p)->pad[0], 0xa1);
	check_eq("xnroot.sync-read-b", io(DISK_OP_READ, rb.ri_block, p, KEY_B), 0);
	check_eq("xnroot.sync-b-not-on-disk", ((const struct table *)p)->pad[0], 0);
	w0 = di.di_writes;
	check_eq("xnroot.sync-b", sys_xn_root_sync("sb", KEY_B), 0);
	di = info();
	check_eq("xnroot.sync-b-writes-its-own", (long)(di.di_writes - w0), 4);
	check_eq("xnroot.sync-none-dirty", (long)di.di_cache_dirty, 0);
	check_eq("xnroot.sync-read-b2", io(DISK_OP_READ, rb.ri_block, p, KEY_B), 0);
	check_eq("xnroot.sync-b-on-disk", ((const struct table *)p)->pad[0], 0xb1);

	/* frees: each tree's freed block is free after its own sync only */
	uint64_t free0 = info().di_xn_free;
	check_eq("xnroot.sync-free-a", tab_pop(ra.ri_block, va, KEY_A), 0);
	check_eq("xnroot.sync-free-b", tab_pop(rb.ri_block, vb, KEY_B), 0);
	check_eq("xnroot.sync-freeing-in-use", (long)info().di_xn_free, (long)free0);
	check_eq("xnroot.sync-a-frees", sys_xn_root_sync("sa", KEY_A), 0);
	check_eq("xnroot.sync-a-freed-its-own", (long)info().di_xn_free, (long)free0 + 1);
	uint8_t bit = 0xff;
	check_eq("xnroot.sync-free-map", sys_xn_free_map(db2.x_start, 1, &bit), 0);
	check_eq("xnroot.sync-b-block-not-free", bit & 1, 0);
	check_eq("xnroot.sync-b-frees", sys_xn_root_sync("sb", KEY_B), 0);
	check_eq("xnroot.sync-b-freed", (long)info().di_xn_free, (long)free0 + 2);
	/* a reader's key is enough: it writes nothing but what is dirty */
	check_eq("xnroot.derive-a-r", sys_cap_derive(KEY_A, 13, CAP_R, NULL, 0), 0);
	check_eq("xnroot.sync-read-key", sys_xn_root_sync("sa", 13), 0);
}

/* --- the data registry, charged to families -------------------------------------- */

#define FLOODERS (BC_DATA_MAX / BC_DATA_PER_ENV) /* enough to fill the registry */

/* The key the parent grants (it may arrive after we start). */
/* XN keeps the last answers of a few blocks (CLAIMS_CACHED in
 * kern/disk/xn_int.h), so a file system going round a handful of blocks
 * pays one UDF run an update, not two. The tree is removed again. */
static void claims_kept(void)
{
	check("xnroot.claims-create", sys_xn_root_create("sc", t_table, KEY_A) >= 0);
	struct xn_root_info rc;
	const struct table *vc = view_of("sc", &rc);
	check("xnroot.claims-view", vc != NULL);
	if (!vc)
		return;
	uint64_t blocks[4] = { rc.ri_block };
	for (int i = 1; i < 4; i++) {
		struct xn_extent m = { next_free--, 1, (uint32_t)t_table };
		blocks[i] = m.x_start;
		check_eq("xnroot.claims-child", tab_add(rc.ri_block, vc, m, KEY_A), 0);
	}
	for (int i = 0; i < 4; i++)
		check_eq("xnroot.claims-first-round", touch(blocks[i], 0xc0, KEY_A), 0);
	uint64_t runs0 = info().di_xn_udf_runs;
	for (uint32_t round = 1; round <= 2; round++)
		for (int i = 0; i < 4; i++)
			check_eq("xnroot.claims-touch", touch(blocks[i], 0xc0 + round, KEY_A), 0);
	check_eq("xnroot.claims-one-run-each", (long)(info().di_xn_udf_runs - runs0), 8);
	/* judged against the kept answer: three claims, not two */
	uint32_t fewer = vc->count - 1;
	struct xn_write w[1] = { { 0, 4, (uint64_t)&fewer } };
	check_eq("xnroot.claims-still-judged",
		 update(rc.ri_block, XN_OP_NONE, (struct xn_extent){ 0, 0, 0 }, w, 1, KEY_A),
		 -E_REFUSED);
	for (int i = 0; i < 3; i++)
		check_eq("xnroot.claims-free-child", tab_pop(rc.ri_block, vc, KEY_A), 0);
	check_eq("xnroot.claims-remove", sys_xn_root_remove("sc", KEY_A), 0);
}

static uint64_t granted_key(void)
{
	for (;;) {
		for (uint64_t s = 1; s < CAP_RING; s++) {
			struct cap c;
			if (sys_cap_read(0, s, &c) == 0 && c.c_valid && c.c_len == 2 &&
			    c.c_name[0] == KEY_TAG)
				return s;
		}
		sys_yield();
	}
}

/* Register a fresh page of ours as the copy of each of blocks first.. (at
 * most n): how many, and the error that stopped it (0: none) in *err. */
static unsigned adopt(uint64_t first, unsigned n, uint64_t key, long *err)
{
	unsigned k;
	uint8_t *pages = vm_alloc_shared((uint64_t)n * PAGE_SIZE); /* one region: they are few */
	*err = pages ? 0 : -E_NO_MEM;
	for (k = 0; pages && k < n; k++) {
		uint8_t *p = pages + (uint64_t)k * PAGE_SIZE;
		memset(p, (int)k, PAGE_SIZE);
		long r = sys_disk_cache(DISK_CACHE_ADOPT, first + k, (uint64_t)p, key);
		if (r < 0) {
			*err = r;
			break;
		}
	}
	return k;
}

static long dcache_used(envid_t id)
{
	struct quota_info qi;
	return sys_env_quota(id, &qi) < 0 ? -1 : (long)qi.qi_used[QUOTA_DCACHE];
}

static long spawn(const char *args, uint64_t key)
{
	long id = sys_env_create("test_xnroot", args, CAP_SELF);
	if (id > 0 && sys_cap_grant(key, (envid_t)id) < 0)
		return -1;
	return id;
}

/* Wait (30 s at most) until env id sleeps: a flooder's last step. */
static bool wait_blocked(long id)
{
	const volatile struct env_info *ei = &uenvs[ENVX((envid_t)id)];
	for (int t = 0; t < 3000; t++) {
		if (ei->env_id == (envid_t)id && ei->env_status == ENV_BLOCKED)
			return true;
		sys_env_sleep(10);
	}
	return false;
}

static int dcache_child(int argc, char **argv)
{
	uint64_t first = argc > 2 ? (uint64_t)strtol(argv[2], NULL, 10) : 0;
	uint64_t key = granted_key();
	long err;
	if (strcmp(argv[1], "flood") == 0) {
		/* take our whole share, or what the family has left (want), then
		 * hold it until destroyed */
		long want = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
		check_eq("flood.cached", adopt(first, BC_DATA_PER_ENV, key, &err), want);
		check_eq("flood.stopped-by", err, want == BC_DATA_PER_ENV ? 0 : -E_QUOTA);
		for (;;)
			sys_env_sleep(UINT64_MAX);
	}
	if (strcmp(argv[1], "victim") == 0) {
		check_eq("victim.caches", adopt(first, 1, key, &err), 1);
		return test_finish();
	}
	/* the lead: children flood one after another; the family's share is
	 * full after three, so the fourth gets nothing (E_QUOTA) */
	struct quota_info qi;
	sys_env_quota(0, &qi);
	long share = (long)qi.qi_limit[QUOTA_DCACHE];
	check_eq("flood.family-share", share, BC_DATA_MAX * QUOTA_SHARE_NUM / QUOTA_SHARE_DEN);
	for (unsigned i = 0; i < FLOODERS; i++) {
		char args[64];
		long want = MIN(BC_DATA_PER_ENV, share - (long)i * BC_DATA_PER_ENV);
		snprintf(args, sizeof(args), "flood %lu %ld", first + i * BC_DATA_PER_ENV,
			 MAX(want, 0));
		long id = spawn(args, key);
		check("flood.spawn", id > 0 && wait_blocked(id));
	}
	check_eq("flood.family-full", dcache_used(0), share);
	return test_finish();
}

static unsigned data_entries(void)
{
	const volatile struct bc_entry *r = (const volatile struct bc_entry *)UBCACHE;
	unsigned n = 0;
	for (unsigned i = 0; i < BC_ENTRIES; i++)
		n += (r[i].be_state & BC_DATA) != 0;
	return n;
}

static void dcache_flood(void)
{
	check("xnroot.dcache-create", sys_xn_root_create("dc", t_table, KEY_A) >= 0);
	struct xn_root_info ri;
	const struct table *v = view_of("dc", &ri);
	check("xnroot.dcache-view", v != NULL);
	if (!v)
		return;
	unsigned nb = (FLOODERS + 1) * BC_DATA_PER_ENV;
	uint64_t first = next_free - nb + 1;
	next_free -= nb;
	check_eq("xnroot.dcache-alloc",
		 tab_add(ri.ri_block, v, (struct xn_extent){ first, nb, D }, KEY_A), 0);
	check_eq("xnroot.dcache-empty", data_entries(), 0);
	char args[48];
	snprintf(args, sizeof(args), "floodlead %lu", first);
	long lead = spawn(args, KEY_A);
	check("xnroot.dcache-lead-started", lead > 0);
	if (lead > 0)
		check_eq("xnroot.dcache-lead", sys_env_wait((envid_t)lead), 0);
	/* the lead is gone; its children hold their entries */
	unsigned held = data_entries();
	check_eq("xnroot.dcache-flooders-hold", held,
		 BC_DATA_MAX * QUOTA_SHARE_NUM / QUOTA_SHARE_DEN);
	snprintf(args, sizeof(args), "victim %lu", first + FLOODERS * BC_DATA_PER_ENV);
	long victim = spawn(args, KEY_A);
	check("xnroot.dcache-victim-started", victim > 0);
	if (victim > 0)
		check_eq("xnroot.dcache-victim", sys_env_wait((envid_t)victim), 0);
	/* the flooders (orphans now) go, and their entries with them */
	for (unsigned i = 0; i < NENV; i++)
		if (uenvs[i].env_id && uenvs[i].env_id != thisenv_id &&
		    (uenvs[i].env_status == ENV_RUNNABLE || uenvs[i].env_status == ENV_RUNNING ||
		     uenvs[i].env_status == ENV_BLOCKED) &&
		    strcmp((const char *)uenvs[i].env_name, "test_xnroot") == 0)
			sys_env_destroy(uenvs[i].env_id, CAP_SELF);
	for (int t = 0; t < 3000 && data_entries(); t++)
		sys_env_sleep(10);
	check_eq("xnroot.dcache-freed", data_entries(), 0);
	check_eq("xnroot.dcache-uncharged", dcache_used(0), 0);
}

static void remount(void)
{
	struct xn_root_info ri;
	check_eq("remount.removed-gone", sys_xn_root_lookup("ra", &ri), -E_NOT_FOUND);
	const struct table *v2 = view_of("ra2", &ri), *va = view_of("sa", &ri),
			   *vb = view_of("sb", &ri);
	check("remount.roots-whole", v2 && va && vb && v2->count == 1 && va->count == 0 &&
					     vb->count == 4 && va->pad[0] == 0xa1 &&
					     vb->pad[0] == 0xb1);
	di = info();
	check_eq("remount.roots", di.di_xn_roots, 4);
	/* a tree whose blocks the mount's walk read: its sync finds them */
	struct xn_root_info rs;
	long at = sys_xn_root_lookup("sa", &rs);
	check_eq("remount.sync-touch", touch(rs.ri_block, 0xa2, CAP_SELF), 0);
	uint64_t w0 = info().di_writes;
	check_eq("remount.sync", sys_xn_root_sync("sa", CAP_SELF), 0);
	di = info();
	check_eq("remount.sync-writes-it", (long)(di.di_writes - w0), 1);
	check_eq("remount.sync-leaves-none-dirty", (long)di.di_cache_dirty, 0);
	const volatile struct bc_entry *reg = (const volatile struct bc_entry *)UBCACHE;
	long tree = -1;
	for (unsigned i = 0; i < BC_ENTRIES; i++)
		if (reg[i].be_state && reg[i].be_block == rs.ri_block)
			tree = reg[i].be_root;
	check_eq("remount.registry-names-tree", tree, at + 1);
	/* XN's own blocks, four roots, ra2's data block, sb's three children
	 * and its one data block, dc's extent */
	uint64_t fmb = (di.di_xn_blocks + DISK_BLOCK_SIZE * 8 - 1) / (DISK_BLOCK_SIZE * 8);
	uint64_t wmb = (di.di_xn_blocks + DISK_BLOCK_SIZE - 1) / DISK_BLOCK_SIZE;
	uint64_t own = 1 + fmb + wmb + 1 + XN_TYPES_MAX;
	check_eq("remount.free-exact", (long)di.di_xn_free,
		 (long)(di.di_xn_blocks - own - 4 - 5 - (FLOODERS + 1) * BC_DATA_PER_ENV));
}

static void read_only(void)
{
	di = info();
	check_eq("readonly.disk", (long)di.di_read_only, 1);
	check_eq("readonly.mounted", (long)di.di_xn, XN_STATE_MOUNTED);
	struct xn_root_info ri;
	const struct table *v = view_of("sa", &ri);
	check("readonly.bind", v != NULL && v->pad[0] == 0xa2);
	uint64_t free0 = di.di_xn_free, w0 = di.di_writes;
	check_eq("readonly.remove", sys_xn_root_remove("sa", CAP_SELF), -E_PERM);
	check("readonly.remove-kept", sys_xn_root_lookup("sa", &ri) >= 0);
	check_eq("readonly.create", sys_xn_root_create("ro", (uint64_t)ri.ri_type, CAP_SELF),
		 -E_PERM);
	check_eq("readonly.update", touch(ri.ri_block, 0xa3, CAP_SELF), -E_PERM);
	uint32_t pad = 0;
	struct xn_write w[1] = { { 4, 4, (uint64_t)&pad } };
	struct xn_extent x = { ri.ri_block + 1, 1, D };
	struct xn_update from = { ri.ri_block, XN_OP_FREE, 1, x, w },
			 to = { ri.ri_block, XN_OP_ALLOC, 1, x, w };
	check_eq("readonly.move", sys_xn_move(&from, &to, CAP_SELF), -E_PERM);
	check_eq("readonly.format", sys_xn_format(CAP_SELF), -E_PERM);
	struct bpf_load_error err;
	check_eq("readonly.type-new",
		 xnudf_register("ptr", bpfobj_xn_ptr_udf, bpfobj_xn_ptr_udf_end, NULL, &err),
		 -E_PERM);
	check_eq("readonly.type-known",
		 xnudf_register("table", bpfobj_xn_table_udf, bpfobj_xn_table_udf_end, NULL, &err),
		 (long)ri.ri_type);
	uint8_t *p = vm_alloc_shared(PAGE_SIZE);
	assert(p);
	check_eq("readonly.read", io(DISK_OP_READ, ri.ri_block, p, CAP_SELF), 0);
	check_eq("readonly.read-old", ((const struct table *)p)->pad[0], 0xa2);
	check_eq("readonly.write", sys_disk_io(DISK_OP_WRITE, ri.ri_block, (uint64_t)p, CAP_SELF),
		 -E_PERM);
	check_eq("readonly.flush", sys_disk_flush(), 0);
	di = info();
	check_eq("readonly.nothing-written", (long)(di.di_writes - w0), 0);
	check_eq("readonly.free-kept", (long)di.di_xn_free, (long)free0);
	check("readonly.root-kept", view_of("sa", &ri) != NULL && di.di_xn_roots == 4);
}

int main(int argc, char **argv)
{
	if (sys_disk_info(&di) == -E_NOT_FOUND) {
		every_call_not_found("nodisk.xnroot");
		return test_finish();
	}
	if (argc > 1 && strcmp(argv[1], "remount") == 0) {
		remount();
	} else if (argc > 1 && strcmp(argv[1], "readonly") == 0) {
		read_only();
	} else if (argc > 1) {
		return dcache_child(argc, argv);
	} else {
		setup();
		remove_errors();
		sync_one_tree();
		claims_kept();
		dcache_flood();
		check_eq("xnroot.final-flush", sys_disk_flush(), 0);
	}
	int r = test_finish();
	printf("test_xnroot: done\n");
	return r;
}
