/* test_xn: two distrustful envs with unrelated keys, one format each. */
#include "test_xn.h"

/* --- two distrustful envs ------------------------------------------------------------------ */

#define KEY_TAG 0xd15c /* the first component of the keys distrust() derives */

/* The key the parent grants (it may arrive after we start): the slot
 * holding a key named KEY_TAG, x, or (len 0) the root name's read-only
 * key. Other keys may be in the ring too. */
uint64_t granted_key(unsigned len)
{
	for (;;) {
		for (uint64_t s = 1; s < CAP_RING; s++) {
			struct cap c;
			if (sys_cap_read(0, s, &c) == 0 && c.c_valid && c.c_len == len &&
			    (len ? c.c_name[0] == KEY_TAG : c.c_rights == CAP_R))
				return s;
		}
		sys_yield();
	}
}

/* Every block outside my tree (mine[] marks it) refuses me. */
void probe_all(const char *who, const bool *mine, uint64_t key)
{
	uint8_t *p = page_new();
	unsigned wrong = 0, allowed = 0;
	uint64_t va = hole();
	uint32_t v = 0;
	struct xn_write w = { 0, 4, (uint64_t)&v };
	struct xn_extent none = { 0, 0, 0 };
	for (uint64_t b = 0; b < di.di_blocks; b++) {
		if (mine[b]) {
			allowed++;
			continue;
		}
		wrong += sys_disk_io(DISK_OP_READ, b, (uint64_t)p, key) != -E_PERM;
		wrong += sys_disk_io(DISK_OP_WRITE, b, (uint64_t)p, key) != -E_PERM;
		long r = sys_disk_bind(b, va, key);
		wrong += r != -E_PERM && r != -E_RANGE;
		r = update(b, XN_OP_NONE, none, &w, 1, key);
		wrong += r != -E_PERM && r != -E_RANGE;
	}
	char name[48];
	snprintf(name, sizeof(name), "%s.others-blocks-refused", who);
	check_eq(name, wrong, 0);
	/* a disk_iov run is checked block by block, whoever its first block
	 * is: one that runs from my block into one that is not mine is
	 * refused; one wholly mine is not (XN checks a tree's key once a run) */
	uint64_t two[2] = { (uint64_t)p, (uint64_t)page_new() };
	unsigned crossing = 0, whole = 0;
	wrong = 0;
	for (uint64_t b = 0; b + 1 < di.di_blocks; b++) {
		if (mine[b] != mine[b + 1]) {
			crossing++;
			wrong += sys_disk_iov(DISK_OP_READ, b, two, 2, key) != -E_PERM;
			wrong += sys_disk_iov(DISK_OP_WRITE, b, two, 2, key) != -E_PERM;
		} else if (mine[b] && mine[b + 1]) {
			long id = sys_disk_iov(DISK_OP_READ, b, two, 2, key);
			whole++;
			wrong +=
				id < 0 || sys_disk_wait((uint64_t)id, UINT64_MAX) != DISK_WAIT_DONE;
		}
	}
	snprintf(name, sizeof(name), "%s.runs-into-others-refused", who);
	check(name, wrong == 0 && crossing > 0 && whole > 0);
	printf("test_xn: %s probed %lu blocks, %u of them its own\n", who, di.di_blocks, allowed);
}

/* Build a tree with NDATA stamped data blocks in format fmt; mark mine[]. */
uint64_t make_tree(const char *who, const char *fmt, uint64_t key, bool *mine, uint64_t first)
{
	char name[48];
	long type = register_type(fmt);
	snprintf(name, sizeof(name), "%s.type", who);
	check(name, type > 0);
	long r = sys_xn_root_create(who, (uint64_t)type, key);
	snprintf(name, sizeof(name), "%s.root", who);
	check(name, r >= 0);
	struct xn_root_info ri;
	sys_xn_root_lookup(who, &ri);
	mine[ri.ri_block] = true;
	uint64_t va = hole();
	snprintf(name, sizeof(name), "%s.bind-own-root", who);
	check_eq(name, sys_disk_bind(ri.ri_block, va, key), 0);
	uint8_t *p = page_new();
	unsigned bad = 0;
	for (unsigned i = 0; i < NDATA; i++) {
		struct xn_extent x = { first - i, 1, D };
		if (strcmp(fmt, "table") == 0)
			r = tab_append(ri.ri_block, (const struct table *)va, x, XN_OP_ALLOC, x,
				       key);
		else
			r = ptr_set(ri.ri_block, i, (uint32_t)x.x_start, XN_OP_ALLOC, x, key);
		stamp(p, x.x_start, ri.ri_block);
		bad += r != 0 || io(DISK_OP_WRITE, x.x_start, p, key) != 0;
		mine[x.x_start] = true;
	}
	snprintf(name, sizeof(name), "%s.own-blocks", who);
	check_eq(name, bad, 0);
	snprintf(name, sizeof(name), "%s.flush", who);
	check_eq(name, sys_disk_flush(), 0);
	return ri.ri_block;
}

void check_own(const char *who, uint64_t root, const bool *mine, uint64_t key)
{
	uint8_t *p = page_new();
	unsigned bad = 0, n = 0;
	for (uint64_t b = 0; b < di.di_blocks; b++) {
		if (!mine[b] || b == root)
			continue;
		n++;
		bad += io(DISK_OP_READ, b, p, key) != 0 || !stamped(p, b, root);
	}
	char name[48];
	snprintf(name, sizeof(name), "%s.own-data-intact", who);
	check(name, bad == 0 && n == NDATA);
}

/* Point my own metadata at the other's block, every way. */
void steal(const char *who, const char *fmt, uint64_t root, uint64_t theirs, uint64_t key)
{
	char name[64];
	uint64_t va = hole();
	sys_disk_bind(root, va, key);
	const struct table *view = (const struct table *)va;
	struct xn_extent t = { theirs, 1, D }, f = { next_free, 1, D }, none = { 0, 0, 0 };
	bool table = strcmp(fmt, "table") == 0;
	long r1 = table ? tab_append(root, view, t, XN_OP_ALLOC, t, key)
			: ptr_set(root, 100, (uint32_t)theirs, XN_OP_ALLOC, t, key);
	long r2 = table ? tab_append(root, view, t, XN_OP_NONE, none, key)
			: ptr_set(root, 100, (uint32_t)theirs, XN_OP_NONE, none, key);
	long r3 = table ? tab_append(root, view, t, XN_OP_ALLOC, f, key)
			: ptr_set(root, 100, (uint32_t)theirs, XN_OP_ALLOC, f, key);
	snprintf(name, sizeof(name), "%s.steal-declared", who);
	check_eq(name, r1, -E_BUSY);
	snprintf(name, sizeof(name), "%s.steal-undeclared", who);
	check_eq(name, r2, -E_REFUSED);
	snprintf(name, sizeof(name), "%s.steal-as-free-block", who);
	check_eq(name, r3, -E_REFUSED);
}

static unsigned pinned_pages(void)
{
	unsigned n = 0;
	for (uint64_t p = 0; p < ukinfo->ki_npages; p++)
		n += (upages[p].pg_flags & (PG_PINNED | PG_ORPHAN)) != 0;
	return n;
}

void distrust(void)
{
	/* two keys neither of which dominates the other */
	uint16_t a_name[2] = { KEY_TAG, 0xa }, b_name[2] = { KEY_TAG, 0xb };
	check_eq("xn.derive-a", sys_cap_derive(CAP_SELF, 10, CAP_ALL, a_name, 2), 0);
	check_eq("xn.derive-b", sys_cap_derive(CAP_SELF, 11, CAP_ALL, b_name, 2), 0);
	check_eq("xn.alice-make", run_child("alice-make", 10), 0);
	struct xn_root_info ra, rb;
	check("xn.alice-root", sys_xn_root_lookup("alice", &ra) >= 0);
	/* the parent's key dominates both trees: it reads alice's table */
	uint64_t va = hole();
	check_eq("xn.parent-binds-alice", sys_disk_bind(ra.ri_block, va, CAP_SELF), 0);
	const struct table *ta = (const struct table *)va;
	check_eq("xn.alice-entries", ta->count, NDATA);
	char args[48];
	snprintf(args, sizeof(args), "bob-make %lu", ta->ent[0].x_start);
	check_eq("xn.bob-make", run_child(args, 11), 0);
	check("xn.bob-root", sys_xn_root_lookup("bob", &rb) >= 0);
	uint64_t vb = hole();
	check_eq("xn.parent-binds-bob", sys_disk_bind(rb.ri_block, vb, CAP_SELF), 0);
	const uint32_t *pb = (const uint32_t *)vb;
	check("xn.bob-entries", pb[0] && pb[NDATA - 1] && !pb[NDATA]);
	snprintf(args, sizeof(args), "alice-check %u", pb[0]);
	check_eq("xn.alice-check", run_child(args, 10), 0);
	/* alice died with DISK_REQS_PER_ENV reads outstanding; once the device
	 * is done (the flush drains it) none of their pages may stay held */
	unsigned held = pinned_pages();
	check_eq("xn.drain", sys_disk_flush(), 0);
	check_eq("xn.orphans-freed", pinned_pages(), 0);
	printf("test_xn: %u pages were still held right after alice died\n", held);
	sys_disk_info(&di);
	check_eq("xn.roots-now", di.di_xn_roots, 4);
}
