/* test_xn: types, roots, updates and what disk_io may touch under XN. */
#include "test_xn.h"

/* --- types ------------------------------------------------------------------------- */

long t_table, t_ptr, t_loop, t_shift, t_greedy;

void types(void)
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
void types_full(void)
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

struct xn_root_info rt;

void roots(void)
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

void roots_full(void)
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

void updates(void)
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

void io_rules(void)
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
