/*
 * XN's system calls and the hostile cases (doc/disk.md). In testrun's boot
 * (no disk) every XN call must answer E_NOT_FOUND. tools/test also boots
 * init=test_xn on a fresh scratch image, so this is the first env and holds
 * the root key; then:
 *
 *   xn.before-*   every XN call on a raw disk: E_NOT_FOUND; format's errors.
 *   xn.type-*     type registration's errors; a UDF that reads the clock is
 *                 refused by the verifier, with the reason; one that loops,
 *                 one that lies, one that is greedy register (they are
 *                 valid programs) and are caught when run; the table full.
 *   xn.root-*     root creation and lookup errors; roots whose UDF loops or
 *                 claims something when zero are refused.
 *   xn.update-*   every field of xn_update checked; allocation and freeing
 *                 of data and metadata; the lying UDF caught; a read-only
 *                 key refused; the bound cache page seeing every change.
 *   xn.io-*       what disk_io may touch once XN is on the disk.
 *   alice.*, bob.*  two children holding unrelated keys (derived by this
 *                 env, granted to one child each), one with the table
 *                 format and one with the pointer-array format on the same
 *                 disk. Each tries every block it does not own (read,
 *                 write, bind, update), to point its own metadata at the
 *                 other's blocks, and to allocate them: all refused; each
 *                 finds its own data intact afterwards.
 *   alice.flood   a child floods the request table, then dies with its
 *                 requests in flight: the kernel keeps their pages until
 *                 the device is done and frees them (xn.orphans-freed).
 *
 *   remount.*     a second boot on the same image (init=test_xn -- remount):
 *                 the mount's walk, through both formats' UDFs, finds both
 *                 trees whole and the free count exact.
 *
 * Child modes: "test_xn refused", "test_xn alice-make|bob-make|alice-check
 * BLOCK" (the other tree's data block to try to steal).
 */
#include "test_xn.h"

struct disk_info di;
uint64_t next_free;
bool owned[1 << 16];

/* Blocks XN keeps for itself: the superblock, the free map (a bit a
 * block), the written map (a byte a block), the catalogue and the type
 * blocks. */
uint64_t xn_own(const struct disk_info *d)
{
	uint64_t fmb = (d->di_xn_blocks + DISK_BLOCK_SIZE * 8 - 1) / (DISK_BLOCK_SIZE * 8);
	uint64_t wmb = (d->di_xn_blocks + DISK_BLOCK_SIZE - 1) / DISK_BLOCK_SIZE;
	return 1 + fmb + wmb + 1 + XN_TYPES_MAX;
}

uint8_t *page_new(void)
{
	uint8_t *p = vm_alloc_shared(PAGE_SIZE);
	assert(p);
	return p;
}

void stamp(uint8_t *p, uint64_t block, uint64_t tag)
{
	uint64_t *w = (uint64_t *)p;
	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		w[i] = block * 0x9e3779b97f4a7c15UL + tag + i;
}

bool stamped(const uint8_t *p, uint64_t block, uint64_t tag)
{
	const uint64_t *w = (const uint64_t *)p;
	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		if (w[i] != block * 0x9e3779b97f4a7c15UL + tag + i)
			return false;
	return true;
}

/* Set entry i of the pointer array at block to target. */
long ptr_set(uint64_t block, unsigned i, uint32_t target, uint32_t op, struct xn_extent decl,
	     uint64_t cap)
{
	struct xn_write w[1] = { { i * 4, 4, (uint64_t)&target } };
	return update(block, op, decl, w, 1, cap);
}

long register_type(const char *section)
{
	struct bpf_load_error err;
	const uint8_t *img = bpfobj_xn_bad_udf, *end = bpfobj_xn_bad_udf_end;
	if (strcmp(section, "table") == 0) {
		img = bpfobj_xn_table_udf;
		end = bpfobj_xn_table_udf_end;
		section = NULL;
	} else if (strcmp(section, "ptr") == 0) {
		img = bpfobj_xn_ptr_udf;
		end = bpfobj_xn_ptr_udf_end;
		section = NULL;
	}
	return xnudf_register(section ? section : "fmt", img, end, section, &err);
}

/* --- no disk, and a raw one ------------------------------------------------------ */

static void every_call_not_found(const char *prefix)
{
	char name[48];
	struct xn_root_info ri;
	struct xn_extent x = { 100, 1, D };
	uint32_t v = 0;
	struct xn_write w = { 0, 4, (uint64_t)&v };
	snprintf(name, sizeof(name), "%s-type", prefix);
	check_eq(name, register_type("table"), -E_NOT_FOUND);
	snprintf(name, sizeof(name), "%s-root-create", prefix);
	check_eq(name, sys_xn_root_create("r", 1, CAP_SELF), -E_NOT_FOUND);
	snprintf(name, sizeof(name), "%s-root-lookup", prefix);
	check_eq(name, sys_xn_root_lookup("r", &ri), -E_NOT_FOUND);
	snprintf(name, sizeof(name), "%s-update", prefix);
	check_eq(name, update(30, XN_OP_ALLOC, x, &w, 1, CAP_SELF), -E_NOT_FOUND);
	snprintf(name, sizeof(name), "%s-bind", prefix);
	check_eq(name, sys_disk_bind(30, hole(), CAP_SELF), -E_NOT_FOUND);
}

static void no_disk(void)
{
	every_call_not_found("nodisk");
	check_eq("nodisk.format", sys_xn_format(CAP_SELF), -E_NOT_FOUND);
}

static void format(void)
{
	check_eq("xn.before-state", di.di_xn, XN_STATE_RAW);
	every_call_not_found("xn.before");
	check_eq("xn.format-bad-cap", sys_xn_format(CAP_RING - 1), -E_BAD_CAP);
	check_eq("xn.format-bad-slot", sys_xn_format(CAP_RING + 5), -E_BAD_CAP);
	long id = sys_env_create("test_xn", "refused", CAP_SELF);
	check("xn.refused-child-started", id > 0);
	if (id > 0)
		check_eq("xn.refused-child", sys_env_wait((envid_t)id), 0);
	check_eq("xn.format", sys_xn_format(CAP_SELF), 0);
	check_eq("xn.format-info", sys_disk_info(&di), 0);
	check_eq("xn.format-state", di.di_xn, XN_STATE_MOUNTED);
	check_eq("xn.format-free", (long)di.di_xn_free, (long)(di.di_xn_blocks - xn_own(&di)));
	check_eq("xn.format-no-roots", di.di_xn_roots, 0);
	next_free = di.di_xn_blocks - 1;
}

/* The second boot (tools/test): the mount's walk through both formats'
 * UDFs must find both trees whole and nothing leaked. */
static void remount(void)
{
	struct xn_root_info ra, rb;
	sys_disk_info(&di);
	check_eq("remount.state", di.di_xn, XN_STATE_MOUNTED);
	check_eq("remount.roots", di.di_xn_roots, XN_ROOTS_MAX);
	check("remount.lookup",
	      sys_xn_root_lookup("alice", &ra) >= 0 && sys_xn_root_lookup("bob", &rb) >= 0);
	uint64_t va = hole(), vb = hole();
	check_eq("remount.bind-alice", sys_disk_bind(ra.ri_block, va, CAP_SELF), 0);
	check_eq("remount.bind-bob", sys_disk_bind(rb.ri_block, vb, CAP_SELF), 0);
	const struct table *ta = (const struct table *)va;
	const uint32_t *pb = (const uint32_t *)vb;
	uint8_t *p = page_new();
	unsigned bad = ta->count != NDATA;
	for (unsigned i = 0; i < NDATA; i++) {
		bad += io(DISK_OP_READ, ta->ent[i].x_start, p, CAP_SELF) != 0 ||
		       !stamped(p, ta->ent[i].x_start, ra.ri_block);
		bad += io(DISK_OP_READ, pb[i], p, CAP_SELF) != 0 || !stamped(p, pb[i], rb.ri_block);
	}
	check_eq("remount.both-formats-intact", bad, 0);
	/* in trees: t (root, one data block), s (root, one), alice and bob
	 * (root, NDATA each), and the fillers' roots */
	uint64_t claimed = 2 + 2 + 2 * (1 + NDATA) + (XN_ROOTS_MAX - 4);
	check_eq("remount.free-exact", (long)di.di_xn_free,
		 (long)(di.di_xn_blocks - xn_own(&di) - claimed));
}

static int child(int argc, char **argv)
{
	if (strcmp(argv[1], "remount") == 0) {
		remount();
		int r = test_finish();
		printf("test_xn: done\n");
		return r;
	}
	sys_disk_info(&di);
	next_free = di.di_xn_blocks / 2;
	if (strcmp(argv[1], "refused") == 0) {
		uint8_t *p = page_new();
		check_eq("refused.format", sys_xn_format(CAP_SELF), -E_PERM);
		check_eq("refused.read", sys_disk_io(DISK_OP_READ, 0, (uint64_t)p, CAP_SELF),
			 -E_PERM);
		return test_finish();
	}
	if (strcmp(argv[1], "cache-reader") == 0)
		return cache_reader(argc, argv);
	uint64_t key = granted_key(2);
	uint64_t theirs = argc > 2 ? (uint64_t)strtol(argv[2], NULL, 10) : 0;
	if (strcmp(argv[1], "alice-make") == 0) {
		make_tree("alice", "table", key, owned, di.di_xn_blocks - 200);
		return test_finish();
	}
	if (strcmp(argv[1], "bob-make") == 0) {
		uint64_t root = make_tree("bob", "ptr", key, owned, di.di_xn_blocks - 300);
		probe_all("bob", owned, key);
		steal("bob", "ptr", root, theirs, key);
		check_own("bob", root, owned, key);
		return test_finish();
	}
	if (strcmp(argv[1], "alice-check") == 0) {
		struct xn_root_info ri;
		check_eq("alice.lookup", sys_xn_root_lookup("alice", &ri) >= 0, 1);
		/* what alice owns, from her own metadata */
		uint64_t va = hole();
		check_eq("alice.bind-again", sys_disk_bind(ri.ri_block, va, key), 0);
		const struct table *t = (const struct table *)va;
		owned[ri.ri_block] = true;
		for (uint32_t i = 0; i < t->count; i++)
			owned[t->ent[i].x_start] = true;
		check_own("alice", ri.ri_block, owned, key);
		probe_all("alice", owned, key);
		steal("alice", "table", ri.ri_block, theirs, key);
		/* the flood: the per-env limit, then death with requests in flight */
		uint8_t *pages = vm_alloc_shared(40 * PAGE_SIZE);
		unsigned in = 0;
		long r = 0;
		for (unsigned i = 0; i < 40 && r >= 0; i++) {
			r = sys_disk_io(DISK_OP_READ, t->ent[i % NDATA].x_start,
					(uint64_t)(pages + i * PAGE_SIZE), key);
			in += r >= 0;
		}
		check_eq("alice.flood-limit", r, -E_FULL);
		check_eq("alice.flood-accepted", in, DISK_REQS_PER_ENV);
		int fails = test_finish();
		sys_env_exit((uint64_t)fails); /* with every request still outstanding */
	}
	printf("test_xn: unknown mode %s\n", argv[1]);
	return 1;
}

long run_child(const char *args, uint64_t key_slot)
{
	long id = sys_env_create("test_xn", args, CAP_SELF);
	if (id < 0)
		return id;
	long g = sys_cap_grant(key_slot, (envid_t)id);
	if (g < 0) {
		sys_env_destroy((envid_t)id, CAP_SELF);
		sys_env_wait((envid_t)id);
		return g;
	}
	return sys_env_wait((envid_t)id);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return child(argc, argv);
	if (sys_disk_info(&di) == -E_NOT_FOUND) {
		no_disk();
		return test_finish();
	}
	format();
	types();
	roots();
	updates();
	io_rules();
	cache();
	distrust();
	types_full();
	roots_full();
	int r = test_finish();
	printf("test_xn: done\n");
	return r;
}
