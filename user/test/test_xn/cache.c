/* test_xn: the registry for data blocks (disk_cache). */
#include "test_xn.h"

/* --- the registry for data blocks --------------------------------------------------- */

static const volatile struct bc_entry *registry_entry(uint64_t block)
{
	const volatile struct bc_entry *r = (const volatile struct bc_entry *)UBCACHE;
	for (unsigned i = 0; i < BC_ENTRIES; i++)
		if (r[i].be_state && r[i].be_block == block)
			return &r[i];
	return NULL;
}

static long wait_id(long id)
{
	return id < 0 ? id : sys_disk_wait((uint64_t)id, UINT64_MAX);
}

/* A child with a read-only key: binds the parent's copy of block (which
 * lives in page ppn and holds stamp tag) and finds it the same page. */
int cache_reader(int argc, char **argv)
{
	if (argc < 5)
		return 1;
	uint64_t block = (uint64_t)strtol(argv[2], NULL, 10),
		 ppn = (uint64_t)strtol(argv[3], NULL, 10);
	uint64_t tag = (uint64_t)strtol(argv[4], NULL, 10);
	uint64_t key = granted_key(0);
	uint64_t va = hole();
	check_eq("cache.reader-binds", sys_disk_bind(block, va, key), 0);
	long l = sys_page_lookup(va);
	check("cache.reader-shares-the-page", l >= 0 && (uint64_t)l >> PAGE_SHIFT == ppn);
	check("cache.reader-read-only", l >= 0 && !(l & BIND_WRITE));
	check("cache.reader-sees-contents", stamped((const uint8_t *)va, block, tag));
	check_eq("cache.reader-write-refused", sys_disk_cache(DISK_CACHE_WRITE, block, 0, key),
		 -E_PERM);
	check_eq("cache.reader-dirty-refused", sys_disk_cache(DISK_CACHE_DIRTY, block, 0, key),
		 -E_PERM);
	check_eq("cache.reader-drop-refused", sys_disk_cache(DISK_CACHE_DROP, block, 0, key),
		 -E_PERM);
	return test_finish();
}

void cache(void)
{
	uint64_t va = hole();
	sys_disk_bind(rt.ri_block, va, CAP_SELF);
	const struct table *view = (const struct table *)va;
	uint64_t x = view->ent[0].x_start; /* t's data block, stamped 7 by updates() */
	uint8_t *p = page_new(), *q = page_new();
	uint64_t ppn = (uint64_t)sys_page_lookup((uint64_t)p) >> PAGE_SHIFT;
	check_eq("cache.op", sys_disk_cache(9, x, (uint64_t)p, CAP_SELF), -E_INVAL);
	check_eq("cache.range",
		 sys_disk_cache(DISK_CACHE_READ, di.di_blocks, (uint64_t)p, CAP_SELF), -E_RANGE);
	check_eq("cache.unaligned", sys_disk_cache(DISK_CACHE_READ, x, (uint64_t)p + 8, CAP_SELF),
		 -E_INVAL);
	check_eq("cache.read-only-page",
		 sys_disk_cache(DISK_CACHE_READ, x, (uint64_t)&cache & ~(PAGE_SIZE - 1), CAP_SELF),
		 -E_FAULT);
	check_eq("cache.metadata",
		 sys_disk_cache(DISK_CACHE_READ, rt.ri_block, (uint64_t)p, CAP_SELF), -E_INVAL);
	check_eq("cache.free-block",
		 sys_disk_cache(DISK_CACHE_READ, next_free, (uint64_t)p, CAP_SELF), -E_INVAL);
	check_eq("cache.bad-cap", sys_disk_cache(DISK_CACHE_READ, x, (uint64_t)p, CAP_RING - 1),
		 -E_BAD_CAP);
	check_eq("cache.write-uncached", sys_disk_cache(DISK_CACHE_WRITE, x, 0, CAP_SELF),
		 -E_NOT_FOUND);
	check_eq("cache.drop-uncached", sys_disk_cache(DISK_CACHE_DROP, x, 0, CAP_SELF),
		 -E_NOT_FOUND);
	check_eq("cache.bind-uncached", sys_disk_bind(x, hole(), CAP_SELF), -E_NOT_FOUND);

	/* read it in: the registry shows it, in this env's page */
	check_eq("cache.read", wait_id(sys_disk_cache(DISK_CACHE_READ, x, (uint64_t)p, CAP_SELF)),
		 DISK_WAIT_DONE);
	const volatile struct bc_entry *be = registry_entry(x);
	check("cache.registered", be && be->be_state == (BC_DATA | BC_CLEAN) && be->be_ppn == ppn &&
					  be->be_root == rt.ri_index + 1);
	check("cache.contents", stamped(p, x, 7));
	check("cache.page-flagged", upages[ppn].pg_flags & PG_CACHED);
	check_eq("cache.read-twice", sys_disk_cache(DISK_CACHE_READ, x, (uint64_t)q, CAP_SELF),
		 -E_BUSY);
	check_eq("cache.page-taken", sys_disk_cache(DISK_CACHE_READ, x - 1, (uint64_t)p, CAP_SELF),
		 -E_BUSY);

	/* another env, with a read-only key, shares the one copy */
	check_eq("cache.derive-reader", sys_cap_derive(CAP_SELF, 12, CAP_R, NULL, 0), 0);
	char args[64];
	snprintf(args, sizeof(args), "cache-reader %lu %lu 7", x, ppn);
	check_eq("cache.reader", run_child(args, 12), 0);
	sys_cap_drop(12);

	/* a second binding here, writable; change, mark, write back */
	uint64_t v2 = hole();
	check_eq("cache.bind-writable", sys_disk_bind(x, v2, CAP_SELF), 0);
	long l = sys_page_lookup(v2);
	check("cache.bound-writable",
	      l >= 0 && (l & BIND_WRITE) && (uint64_t)l >> PAGE_SHIFT == ppn);
	stamp((uint8_t *)v2, x, 8);
	check_eq("cache.dirty", sys_disk_cache(DISK_CACHE_DIRTY, x, 0, CAP_SELF), 0);
	check("cache.dirty-shown", be->be_state == (BC_DATA | BC_DIRTY));
	check_eq("cache.write", wait_id(sys_disk_cache(DISK_CACHE_WRITE, x, 0, CAP_SELF)),
		 DISK_WAIT_DONE);
	check("cache.clean-after-write", be->be_state == (BC_DATA | BC_CLEAN));
	check_eq("cache.read-back", io(DISK_OP_READ, x, q, CAP_SELF), 0);
	check("cache.written", stamped(q, x, 8));
	stamp(q, x, 7); /* as remount expects */
	check_eq("cache.restore", io(DISK_OP_WRITE, x, q, CAP_SELF), 0);

	/* the owner frees the page: the entry and every binding go */
	check_eq("cache.free-page", sys_page_free(ppn, CAP_SELF), 0);
	check("cache.gone-with-page", registry_entry(x) == NULL);
	check("cache.bindings-gone", sys_page_lookup(v2) < 0);
	check("cache.flag-cleared", !(upages[ppn].pg_flags & PG_CACHED));

	/* adopt: a new block's contents from a page; drop; the block freed */
	struct xn_extent y = { next_free--, 1, D };
	check_eq("cache.alloc", tab_append(rt.ri_block, view, y, XN_OP_ALLOC, y, CAP_SELF), 0);
	uint8_t *r = page_new();
	stamp(r, y.x_start, 9);
	check_eq("cache.adopt", sys_disk_cache(DISK_CACHE_ADOPT, y.x_start, (uint64_t)r, CAP_SELF),
		 0);
	be = registry_entry(y.x_start);
	check("cache.adopted-dirty", be && be->be_state == (BC_DATA | BC_DIRTY));
	check_eq("cache.drop", sys_disk_cache(DISK_CACHE_DROP, y.x_start, 0, CAP_SELF), 0);
	check("cache.dropped", registry_entry(y.x_start) == NULL);
	check_eq("cache.adopt-again",
		 sys_disk_cache(DISK_CACHE_ADOPT, y.x_start, (uint64_t)r, CAP_SELF), 0);
	uint64_t v3 = hole();
	check_eq("cache.bind-adopted", sys_disk_bind(y.x_start, v3, CAP_SELF), 0);
	check_eq("cache.free-data-block", tab_pop(rt.ri_block, view, CAP_SELF), 0);
	check("cache.gone-with-block", registry_entry(y.x_start) == NULL);
	check("cache.owner-keeps-page", stamped(r, y.x_start, 9));
}
