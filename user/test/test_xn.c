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
#include <inc/disk.h>
#include <inc/kinfo.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include "xntable.h"
#include "xnudf.h"

extern const uint8_t bpfobj_xn_table_udf[], bpfobj_xn_table_udf_end[];
extern const uint8_t bpfobj_xn_ptr_udf[], bpfobj_xn_ptr_udf_end[];
extern const uint8_t bpfobj_xn_bad_udf[], bpfobj_xn_bad_udf_end[];

#define D XN_TYPE_DATA
#define NDATA 4 /* data blocks each child's tree holds */

/* Blocks XN keeps for itself: the superblock, the free map (a bit a
 * block), the written map (a byte a block), the catalogue and the type
 * blocks. */
static uint64_t xn_own(const struct disk_info *di)
{
	uint64_t fmb = (di->di_xn_blocks + DISK_BLOCK_SIZE * 8 - 1) / (DISK_BLOCK_SIZE * 8);
	uint64_t wmb = (di->di_xn_blocks + DISK_BLOCK_SIZE - 1) / DISK_BLOCK_SIZE;
	return 1 + fmb + wmb + 1 + XN_TYPES_MAX;
}

static struct disk_info di;
static uint64_t next_free; /* data blocks are taken from the top of the disk down */

static uint8_t *page_new(void)
{
	uint8_t *p = vm_alloc_shared(PAGE_SIZE);
	assert(p);
	return p;
}

/* An address with nothing bound, for disk_bind. */
static uint64_t hole(void)
{
	uint8_t *p = page_new();
	vm_unmap((uint64_t)p, PAGE_SIZE);
	return (uint64_t)p;
}

static void stamp(uint8_t *p, uint64_t block, uint64_t tag)
{
	uint64_t *w = (uint64_t *)p;
	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		w[i] = block * 0x9e3779b97f4a7c15UL + tag + i;
}

static bool stamped(const uint8_t *p, uint64_t block, uint64_t tag)
{
	const uint64_t *w = (const uint64_t *)p;
	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		if (w[i] != block * 0x9e3779b97f4a7c15UL + tag + i)
			return false;
	return true;
}

/* Set entry i of the pointer array at block to target. */
static long ptr_set(uint64_t block, unsigned i, uint32_t target, uint32_t op, struct xn_extent decl,
		    uint64_t cap)
{
	struct xn_write w[1] = { { i * 4, 4, (uint64_t)&target } };
	return update(block, op, decl, w, 1, cap);
}

static long register_type(const char *section)
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

/* --- types ------------------------------------------------------------------------- */

static long t_table, t_ptr, t_loop, t_shift, t_greedy;

static void types(void)
{
	struct xn_type_def d = { "x", NULL, 0, 0, NULL };
	check_eq("xn.type-def-fault", sys_xn_type_register((const struct xn_type_def *)8),
		 -E_FAULT);
	check_eq("xn.type-empty", sys_xn_type_register(&d), -E_INVAL);
	d.td_len = XN_UDF_MAX_INSNS + 1;
	check_eq("xn.type-too-long", sys_xn_type_register(&d), -E_INVAL);
	d.td_len = 3;
	d.td_insns = (const struct bpf_insn *)0x10;
	check_eq("xn.type-insns-fault", sys_xn_type_register(&d), -E_FAULT);

	/* reads the clock: not deterministic, so the verifier refuses it */
	static struct bpf_insn insns[XN_UDF_MAX_INSNS];
	uint32_t len;
	int r = bpf_elf_load(bpfobj_xn_bad_udf, (size_t)(bpfobj_xn_bad_udf_end - bpfobj_xn_bad_udf),
			     "clock", insns, XN_UDF_MAX_INSNS, &len, xnudf_resolve, NULL);
	check_eq("xn.type-clock-loads", r, 0);
	struct bpf_load_error err = { 0, 0, { 0 } };
	struct xn_type_def clock = { "clock", insns, len, 0, &err };
	check_eq("xn.type-clock-refused", sys_xn_type_register(&clock), -E_REFUSED);
	check("xn.type-clock-reason", err.le_msg[0] != 0);
	printf("test_xn: the clock UDF: insn %u: %s\n", err.le_insn, err.le_msg);

	t_table = register_type("table");
	check("xn.type-table", t_table >= 1 && t_table <= XN_TYPES_MAX);
	check_eq("xn.type-same-program-same-id", register_type("table"), t_table);
	t_ptr = register_type("ptr");
	t_loop = register_type("loop");
	t_shift = register_type("shift");
	t_greedy = register_type("greedy");
	check("xn.type-others", t_ptr > 0 && t_loop > 0 && t_shift > 0 && t_greedy > 0 &&
					t_ptr != t_table && t_loop != t_shift);
}

/* Fill the type table with distinct programs that claim nothing. */
static void types_full(void)
{
	long r = 0;
	unsigned made = 0;
	for (int k = 0; k < XN_TYPES_MAX + 2 && r >= 0; k++) {
		struct bpf_insn p[3] = {
			{ BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0,
			  1000 + k }, /* makes each distinct */
			{ BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0 },
			{ BPF_JMP | BPF_EXIT, 0, 0, 0, 0 },
		};
		struct xn_type_def d = { "none", p, 3, 0, NULL };
		r = sys_xn_type_register(&d);
		made += r > 0;
	}
	check_eq("xn.type-table-full", r, -E_FULL);
	check("xn.type-fillers", made == XN_TYPES_MAX - 5);
}

/* --- roots --------------------------------------------------------------------------- */

static struct xn_root_info rt; /* "t": the table-format tree the update tests use */

static void roots(void)
{
	char long_name[XN_NAME_MAX + 4];
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	check_eq("xn.root-name-fault", sys_xn_root_create((const char *)8, t_table, CAP_SELF),
		 -E_FAULT);
	check_eq("xn.root-name-long", sys_xn_root_create(long_name, t_table, CAP_SELF), -E_TOO_BIG);
	check_eq("xn.root-name-empty", sys_xn_root_create("", t_table, CAP_SELF), -E_INVAL);
	check_eq("xn.root-type-data", sys_xn_root_create("t", D, CAP_SELF), -E_INVAL);
	check_eq("xn.root-type-unknown", sys_xn_root_create("t", XN_TYPES_MAX + 1, CAP_SELF),
		 -E_INVAL);
	check_eq("xn.root-bad-cap", sys_xn_root_create("t", t_table, CAP_RING - 1), -E_BAD_CAP);
	uint64_t t0 = rdtsc();
	check_eq("xn.root-loop-refused", sys_xn_root_create("loop", t_loop, CAP_SELF), -E_REFUSED);
	printf("test_xn: the looping UDF was cut off after %lu us\n",
	       (rdtsc() - t0) * 1000000 / ukinfo->ki_tsc_hz);
	check_eq("xn.root-greedy-refused", sys_xn_root_create("greedy", t_greedy, CAP_SELF),
		 -E_REFUSED);
	long at = sys_xn_root_create("t", t_table, CAP_SELF);
	check("xn.root-create", at >= 0);
	check_eq("xn.root-exists", sys_xn_root_create("t", t_ptr, CAP_SELF), -E_BUSY);
	check_eq("xn.root-lookup", sys_xn_root_lookup("t", &rt), at);
	check("xn.root-lookup-fields", rt.ri_type == (uint32_t)t_table && rt.ri_guard.c_valid &&
					       rt.ri_block >= 1 + 1 + 1 + XN_TYPES_MAX);
	struct xn_root_info ri;
	check_eq("xn.root-lookup-missing", sys_xn_root_lookup("nope", &ri), -E_NOT_FOUND);
	check_eq("xn.root-lookup-empty", sys_xn_root_lookup("", &ri), -E_INVAL);
	check_eq("xn.root-lookup-fault", sys_xn_root_lookup("t", (struct xn_root_info *)8),
		 -E_FAULT);
	check_eq("xn.root-lookup-long", sys_xn_root_lookup(long_name, &ri), -E_TOO_BIG);
	sys_disk_info(&di);
	check_eq("xn.root-count", di.di_xn_roots, 1);
}

static void roots_full(void)
{
	long r = 0;
	for (int i = 0; i < XN_ROOTS_MAX + 1 && r >= 0; i++) {
		char name[16];
		snprintf(name, sizeof(name), "fill%d", i);
		r = sys_xn_root_create(name, t_table, CAP_SELF);
	}
	check_eq("xn.root-catalogue-full", r, -E_FULL);
}

/* --- updates --------------------------------------------------------------------------- */

static void update_errors(const struct table *view)
{
	uint32_t v = 1;
	struct xn_write w = { 0, 4, (uint64_t)&v };
	struct xn_extent none = { 0, 0, 0 }, x = { next_free, 1, D };
	uint64_t b = rt.ri_block;
	check_eq("xn.update-fault", sys_xn_update((const struct xn_update *)8, CAP_SELF), -E_FAULT);
	check_eq("xn.update-op", update(b, 3, none, &w, 1, CAP_SELF), -E_INVAL);
	check_eq("xn.update-no-writes", update(b, XN_OP_NONE, none, &w, 0, CAP_SELF), -E_INVAL);
	check_eq("xn.update-many-writes",
		 update(b, XN_OP_NONE, none, &w, XN_WRITES_MAX + 1, CAP_SELF), -E_INVAL);
	check_eq("xn.update-writes-fault", update(b, XN_OP_NONE, none, (void *)8, 1, CAP_SELF),
		 -E_FAULT);
	struct xn_write bad[] = { { 4096, 1, (uint64_t)&v },
				  { 4094, 4, (uint64_t)&v },
				  { 0, 0, (uint64_t)&v },
				  { 8, UINT32_MAX, (uint64_t)&v } };
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
		check_eq("xn.update-write-outside",
			 update(b, XN_OP_NONE, none, &bad[i], 1, CAP_SELF), -E_INVAL);
	struct xn_write unreadable = { 0, 4, 8 };
	check_eq("xn.update-src-fault", update(b, XN_OP_NONE, none, &unreadable, 1, CAP_SELF),
		 -E_FAULT);
	check_eq("xn.update-not-in-tree", update(next_free, XN_OP_NONE, none, &w, 1, CAP_SELF),
		 -E_RANGE);
	check_eq("xn.update-past-disk", update(di.di_blocks + 5, XN_OP_NONE, none, &w, 1, CAP_SELF),
		 -E_RANGE);
	check_eq("xn.update-bad-cap", update(b, XN_OP_NONE, none, &w, 1, CAP_RING - 1), -E_BAD_CAP);
	struct xn_extent bad_ext[] = {
		{ next_free, 0, D },                 /* empty */
		{ di.di_xn_blocks, 1, D },           /* past XN's blocks */
		{ next_free, 2, D },                 /* runs off the end */
		{ next_free, 1, XN_TYPES_MAX + 1 },  /* no such type */
		{ next_free - 3, 2, (uint32_t)t_table }, /* metadata comes one block at a time */
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad_ext); i++)
		check_eq("xn.update-bad-extent",
			 tab_append(b, view, bad_ext[i], XN_OP_ALLOC, bad_ext[i], CAP_SELF),
			 -E_INVAL);
	/* XN's own blocks and the root itself are in use */
	struct xn_extent own = { 1, 1, D }, self = { b, 1, D };
	check_eq("xn.update-alloc-xn-block", tab_append(b, view, own, XN_OP_ALLOC, own, CAP_SELF),
		 -E_BUSY);
	check_eq("xn.update-alloc-in-use", tab_append(b, view, self, XN_OP_ALLOC, self, CAP_SELF),
		 -E_BUSY);
	/* free what the block does not claim */
	check_eq("xn.update-free-unclaimed", update(b, XN_OP_FREE, x, &w, 1, CAP_SELF), -E_INVAL);
	/* a pointer added without being declared */
	check_eq("xn.update-undeclared", tab_append(b, view, x, XN_OP_NONE, none, CAP_SELF),
		 -E_REFUSED);
	/* declared one block, pointed at the next */
	struct xn_extent x2 = { next_free - 1, 1, D };
	check_eq("xn.update-retargeted", tab_append(b, view, x2, XN_OP_ALLOC, x, CAP_SELF),
		 -E_REFUSED);
	check_eq("xn.update-none-yet", view->count, 0);
}

static void updates(void)
{
	uint64_t va = hole();
	check_eq("xn.bind", sys_disk_bind(rt.ri_block, va, CAP_SELF), 0);
	const struct table *view = (const struct table *)va;
	check_eq("xn.bind-zero-root", view->count, 0);
	update_errors(view);

	sys_disk_info(&di);
	uint64_t free0 = di.di_xn_free, checked0 = di.di_xn_checked;
	/* data: allocate, write, read back, free */
	struct xn_extent x = { next_free--, 1, D };
	check_eq("xn.update-alloc", tab_append(rt.ri_block, view, x, XN_OP_ALLOC, x, CAP_SELF), 0);
	check("xn.update-seen-in-bound-page",
	      view->count == 1 && view->ent[0].x_start == x.x_start);
	check_eq("xn.update-alloc-twice",
		 tab_append(rt.ri_block, view, x, XN_OP_ALLOC, x, CAP_SELF), -E_BUSY);
	uint8_t *p = page_new();
	stamp(p, x.x_start, 7);
	check_eq("xn.io-write-data", io(DISK_OP_WRITE, x.x_start, p, CAP_SELF), 0);
	memset(p, 0, PAGE_SIZE);
	check_eq("xn.io-read-data", io(DISK_OP_READ, x.x_start, p, CAP_SELF), 0);
	check("xn.io-data-back", stamped(p, x.x_start, 7));
	/* disk_flush_data: the write's note in the written map reaches the
	 * disk, the dirty metadata (the root's new entry) does not */
	sys_disk_info(&di);
	uint64_t dirty = di.di_cache_dirty;
	check_eq("xn.flush-data", sys_disk_flush_data(), 0);
	sys_disk_info(&di);
	check("xn.flush-data-writes-no-metadata", dirty > 0 && di.di_cache_dirty == dirty);
	uint8_t *wm = page_new();
	check_eq("xn.flush-data-read-super", io(DISK_OP_READ, 0, wm, CAP_SELF), 0);
	uint64_t wblock = ((struct xn_super *)wm)->s_written + x.x_start / PAGE_SIZE;
	check_eq("xn.flush-data-read-written-map", io(DISK_OP_READ, wblock, wm, CAP_SELF), 0);
	check_eq("xn.flush-data-noted-written", wm[x.x_start % PAGE_SIZE], (long)rt.ri_index + 1);
	sys_disk_info(&di);
	check_eq("xn.update-free-count", (long)di.di_xn_free, (long)free0 - 1);
	check("xn.update-checked-counted", di.di_xn_checked > checked0);

	/* metadata: a child table, a data block under it; the child cannot be
	 * freed while it claims something */
	struct xn_extent c = { next_free--, 1, (uint32_t)t_table };
	check_eq("xn.update-alloc-meta", tab_append(rt.ri_block, view, c, XN_OP_ALLOC, c, CAP_SELF),
		 0);
	check_eq("xn.io-write-meta", io(DISK_OP_WRITE, c.x_start, p, CAP_SELF), -E_PERM);
	uint64_t cva = hole();
	check_eq("xn.bind-child", sys_disk_bind(c.x_start, cva, CAP_SELF), 0);
	const struct table *cview = (const struct table *)cva;
	check_eq("xn.bind-child-zeroed", cview->count, 0);
	struct xn_extent g = { next_free--, 1, D };
	check_eq("xn.update-alloc-grandchild",
		 tab_append(c.x_start, cview, g, XN_OP_ALLOC, g, CAP_SELF), 0);
	check_eq("xn.update-free-nonempty-meta", tab_pop(rt.ri_block, view, CAP_SELF), -E_BUSY);
	check_eq("xn.update-free-grandchild", tab_pop(c.x_start, cview, CAP_SELF), 0);
	check_eq("xn.update-free-meta", tab_pop(rt.ri_block, view, CAP_SELF), 0);
	/* the freed metadata block's page left this address space */
	check("xn.bind-gone-after-free", sys_page_lookup(cva) < 0);
	check_eq("xn.bind-freed", sys_disk_bind(c.x_start, cva, CAP_SELF), -E_RANGE);

	/* types that cannot be children: one loops, one claims when zero */
	struct xn_extent lo = { next_free, 1, (uint32_t)t_loop },
			 gr = { next_free, 1, (uint32_t)t_greedy };
	check_eq("xn.update-loop-child",
		 tab_append(rt.ri_block, view, lo, XN_OP_ALLOC, lo, CAP_SELF), -E_REFUSED);
	check_eq("xn.update-greedy-child",
		 tab_append(rt.ri_block, view, gr, XN_OP_ALLOC, gr, CAP_SELF), -E_REFUSED);

	/* bytes the UDF does not read change freely; a read-only key changes nothing */
	uint32_t pad = 0x5a5a5a5a;
	struct xn_write wp = { 4, 4, (uint64_t)&pad };
	struct xn_extent none = { 0, 0, 0 };
	check_eq("xn.update-bytes-only", update(rt.ri_block, XN_OP_NONE, none, &wp, 1, CAP_SELF),
		 0);
	check_eq("xn.update-bytes-seen", view->pad[0], 0x5a5a5a5a);
	long ro = sys_cap_derive(CAP_SELF, 9, CAP_R, NULL, 0);
	check_eq("xn.derive-read-only", ro, 0);
	check_eq("xn.update-read-only-key", update(rt.ri_block, XN_OP_NONE, none, &wp, 1, 9),
		 -E_PERM);
	check_eq("xn.io-read-only-key-write", io(DISK_OP_WRITE, x.x_start, p, 9), -E_PERM);
	check_eq("xn.io-read-only-key-read", io(DISK_OP_READ, x.x_start, p, 9), 0);
	check_eq("xn.bind-read-only-key", sys_disk_bind(rt.ri_block, hole(), 9), 0);
	sys_cap_drop(9);

	/* the lying UDF: honest with one entry, shifted with two */
	long s = sys_xn_root_create("s", t_shift, CAP_SELF);
	struct xn_root_info rs;
	check("xn.root-shift", s >= 0 && sys_xn_root_lookup("s", &rs) == s);
	uint64_t sva = hole();
	sys_disk_bind(rs.ri_block, sva, CAP_SELF);
	const struct table *sview = (const struct table *)sva;
	struct xn_extent s1 = { next_free--, 1, D }, s2 = { next_free--, 1, D };
	check_eq("xn.shift-first-honest",
		 tab_append(rs.ri_block, sview, s1, XN_OP_ALLOC, s1, CAP_SELF), 0);
	check_eq("xn.shift-lie-caught",
		 tab_append(rs.ri_block, sview, s2, XN_OP_ALLOC, s2, CAP_SELF), -E_REFUSED);
	/* (had it declared the block its lie adds, and had that block been free,
	 * the change would stand: the UDF's answer is what the tree owns) */
	check_eq("xn.flush", sys_disk_flush(), 0);
	sys_disk_info(&di);
	check_eq("xn.flushed-clean", (long)di.di_cache_dirty, 0);
}

/* --- disk_io and bind under XN ------------------------------------------------------------ */

static void io_rules(void)
{
	uint8_t *p = page_new();
	check_eq("xn.io-read-super", io(DISK_OP_READ, 0, p, CAP_SELF), 0);
	check("xn.io-super-magic", ((struct xn_super *)p)->s_magic == XN_MAGIC);
	check_eq("xn.io-write-super", io(DISK_OP_WRITE, 0, p, CAP_SELF), -E_PERM);
	check_eq("xn.io-write-free", io(DISK_OP_WRITE, next_free, p, CAP_SELF), -E_PERM);
	check_eq("xn.io-read-free", io(DISK_OP_READ, next_free, p, CAP_SELF), 0);
	check_eq("xn.io-write-root", io(DISK_OP_WRITE, rt.ri_block, p, CAP_SELF), -E_PERM);
	check_eq("xn.bind-unaligned", sys_disk_bind(rt.ri_block, hole() + 8, CAP_SELF), -E_INVAL);
	check_eq("xn.bind-above-utop", sys_disk_bind(rt.ri_block, UTOP, CAP_SELF), -E_INVAL);
	check_eq("xn.bind-free-block", sys_disk_bind(next_free, hole(), CAP_SELF), -E_RANGE);
	check_eq("xn.bind-xn-block", sys_disk_bind(0, hole(), CAP_SELF), -E_RANGE);
	check_eq("xn.bind-bad-cap", sys_disk_bind(rt.ri_block, hole(), CAP_RING - 1), -E_BAD_CAP);
	const struct table *view = NULL;
	uint64_t va = hole();
	if (sys_disk_bind(rt.ri_block, va, CAP_SELF) == 0)
		view = (const struct table *)va;
	check("xn.bind-again", view && view->count == 1);
	if (view)
		check_eq("xn.bind-data-uncached",
			 sys_disk_bind(view->ent[0].x_start, hole(), CAP_SELF), -E_NOT_FOUND);
}

/* --- two distrustful envs ------------------------------------------------------------------ */

#define KEY_TAG 0xd15c /* the first component of the keys distrust() derives */

/* The key the parent grants (it may arrive after we start): the slot
 * holding a key named KEY_TAG, x, or (len 0) the root name's read-only
 * key. Other keys may be in the ring too. */
static uint64_t granted_key(unsigned len)
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
static void probe_all(const char *who, const bool *mine, uint64_t key)
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
	printf("test_xn: %s probed %lu blocks, %u of them its own\n", who, di.di_blocks, allowed);
}

/* Build a tree with NDATA stamped data blocks in format fmt; mark mine[]. */
static uint64_t make_tree(const char *who, const char *fmt, uint64_t key, bool *mine,
			  uint64_t first)
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

static void check_own(const char *who, uint64_t root, const bool *mine, uint64_t key)
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
static void steal(const char *who, const char *fmt, uint64_t root, uint64_t theirs, uint64_t key)
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

static bool mine[1 << 16];

static long run_child(const char *args, uint64_t key_slot);

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
static int cache_reader(int argc, char **argv)
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

static void cache(void)
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
		make_tree("alice", "table", key, mine, di.di_xn_blocks - 200);
		return test_finish();
	}
	if (strcmp(argv[1], "bob-make") == 0) {
		uint64_t root = make_tree("bob", "ptr", key, mine, di.di_xn_blocks - 300);
		probe_all("bob", mine, key);
		steal("bob", "ptr", root, theirs, key);
		check_own("bob", root, mine, key);
		return test_finish();
	}
	if (strcmp(argv[1], "alice-check") == 0) {
		struct xn_root_info ri;
		check_eq("alice.lookup", sys_xn_root_lookup("alice", &ri) >= 0, 1);
		/* what alice owns, from her own metadata */
		uint64_t va = hole();
		check_eq("alice.bind-again", sys_disk_bind(ri.ri_block, va, key), 0);
		const struct table *t = (const struct table *)va;
		mine[ri.ri_block] = true;
		for (uint32_t i = 0; i < t->count; i++)
			mine[t->ent[i].x_start] = true;
		check_own("alice", ri.ri_block, mine, key);
		probe_all("alice", mine, key);
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

static long run_child(const char *args, uint64_t key_slot)
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

static unsigned pinned_pages(void)
{
	unsigned n = 0;
	for (uint64_t p = 0; p < ukinfo->ki_npages; p++)
		n += (upages[p].pg_flags & (PG_PINNED | PG_ORPHAN)) != 0;
	return n;
}

static void distrust(void)
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
