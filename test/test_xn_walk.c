/*
 * Host tests for XN's reconstruction walk (kern/disk/xn_walk.c), the code
 * that rebuilds who owns which block at every mount, trusting nothing the
 * disk says.
 *
 * The disk is an array of blocks in memory (some can be made unreadable)
 * and the UDFs are C functions over two formats: the table format of
 * user/bpf/xn_table_udf.c (extents of any type, so trees nest) and the
 * pointer-array format of user/bpf/xn_ptr_udf.c (block numbers of data
 * blocks), plus UDFs that fail, answer too much or answer garbage. The
 * tests build trees, then damage them the ways a crash or a hostile disk
 * could: two trees claiming one block, claims of XN's own blocks, cycles,
 * bad catalogue entries, a pointer to a block never initialised (random
 * bytes), a stale free map; then seeded random disks, checking that the
 * walk ends, reads each block at most once and leaves a consistent owner
 * map whatever it was fed.
 */
#include "check.h"

#include <stdint.h>

/* xn_walk.c uses no libc name, so the host's memset and memcpy serve here */
#include <kern/disk/xn_walk.h>
#include <common/xorshift.h>

#define NBLK 256
#define FIRST 8 /* blocks below belong to XN itself */
#define D XN_TYPE_DATA
#define T_TABLE 1
#define T_PTR 2
#define T_FAILS 3
#define T_TOO_MANY 4
#define T_UNKNOWN 5 /* no UDF registered */

static uint8_t disk[NBLK][DISK_BLOCK_SIZE];
static bool unreadable[NBLK];
static unsigned reads[NBLK];
static struct xn_root cat[XN_ROOTS_MAX];

static uint16_t root_of[NBLK];
static uint8_t type_of[NBLK];
static uint32_t parent[NBLK];
static uint32_t stack[NBLK];
static uint8_t buf[DISK_BLOCK_SIZE];
static struct xn_extent out[XN_UDF_MAX_EXTENTS + 1];
static struct xn_walk_result res;

struct table {
	uint32_t count;
	uint32_t pad[3];
	struct xn_extent ent[255];
};

static int fake_read(void *arg UNUSED, uint64_t block, void *to)
{
	if (block >= NBLK)
		return -1; /* the walk must never ask for this */
	reads[block]++;
	if (unreadable[block])
		return -5;
	memcpy(to, disk[block], DISK_BLOCK_SIZE);
	return 0;
}

static int fake_claims(void *arg UNUSED, uint32_t type, uint64_t block UNUSED, const void *b,
		       struct xn_extent *x)
{
	switch (type) {
	case T_TABLE: {
		const struct table *t = b;
		uint32_t n = t->count > 255 ? 255 : t->count;
		for (uint32_t i = 0; i < n; i++)
			x[i] = t->ent[i];
		return (int)n;
	}
	case T_PTR: {
		const uint32_t *p = b;
		int n = 0;
		for (int i = 0; i < 1024 && n < XN_UDF_MAX_EXTENTS; i++)
			if (p[i])
				x[n++] = (struct xn_extent){ p[i], 1, D };
		return n;
	}
	case T_FAILS: return -1;
	case T_TOO_MANY:
		for (int i = 0; i <= XN_UDF_MAX_EXTENTS; i++)
			x[i] = (struct xn_extent){ FIRST, 1, D };
		return XN_UDF_MAX_EXTENTS + 1;
	default: return -1;
	}
}

static const struct xn_walk_hooks hooks = { NULL, fake_read, fake_claims };

static void fresh(void)
{
	memset(disk, 0, sizeof(disk));
	memset(unreadable, 0, sizeof(unreadable));
	memset(cat, 0, sizeof(cat));
}

static void walk(void)
{
	memset(root_of, 0, sizeof(root_of));
	memset(reads, 0, sizeof(reads));
	struct xn_walk_mem m = { root_of, type_of, parent, stack, buf, out };
	xn_walk(&hooks, &m, NBLK, FIRST, cat, XN_ROOTS_MAX, &res);
}

static void root(int i, const char *name, uint64_t block, uint32_t type)
{
	strcpy(cat[i].r_name, name);
	cat[i].r_block = block;
	cat[i].r_type = type;
}

static void table_add(uint64_t block, uint64_t start, uint32_t count, uint32_t type)
{
	struct table *t = (struct table *)disk[block];
	t->ent[t->count++] = (struct xn_extent){ start, count, type };
}

static void ptr_add(uint64_t block, uint32_t target)
{
	uint32_t *p = (uint32_t *)disk[block];
	int i = 0;
	while (p[i])
		i++;
	p[i] = target;
}

static unsigned owned_by(uint16_t r)
{
	unsigned n = 0;
	for (int b = 0; b < NBLK; b++)
		n += root_of[b] == r;
	return n;
}

static bool clean(void)
{
	return res.twice == 0 && res.bad_udf == 0 && res.bad_roots == 0;
}

/* --- well-formed trees --------------------------------------------------------- */

TEST(walk, an_empty_catalogue_claims_nothing)
{
	fresh();
	walk();
	CHECK_EQ(res.claimed, 0);
	CHECK_EQ(res.metadata, 0);
	CHECK(clean());
	CHECK_EQ(owned_by(0), NBLK);
	for (int b = 0; b < NBLK; b++)
		CHECK_EQ(reads[b], 0);
}

TEST(walk, a_nested_tree_is_claimed_exactly)
{
	fresh();
	root(0, "fs", 10, T_TABLE);
	table_add(10, 20, 4, D);      /* 20..23 data */
	table_add(10, 11, 1, T_TABLE); /* a child table */
	table_add(10, 12, 1, T_PTR);   /* a child pointer array */
	table_add(11, 30, 2, D);
	table_add(11, 13, 1, T_TABLE); /* a grandchild, empty */
	ptr_add(12, 40);
	ptr_add(12, 41);
	ptr_add(12, 45);
	walk();
	CHECK(clean());
	CHECK_EQ(res.metadata, 4);
	CHECK_EQ(res.claimed, 4 + 4 + 2 + 3);
	CHECK_EQ(owned_by(1), res.claimed);
	CHECK_EQ(parent[10], XN_PARENT_ROOT);
	CHECK_EQ(type_of[10], T_TABLE);
	for (int b = 20; b < 24; b++) {
		CHECK_EQ(parent[b], 10);
		CHECK_EQ(type_of[b], D);
	}
	CHECK_EQ(parent[11], 10);
	CHECK_EQ(type_of[12], T_PTR);
	CHECK_EQ(parent[13], 11);
	CHECK_EQ(type_of[13], T_TABLE);
	CHECK_EQ(parent[31], 11);
	CHECK_EQ(parent[45], 12);
	CHECK_EQ(root_of[44], 0);
	for (int b = 0; b < NBLK; b++)
		CHECK_MSG(reads[b] == (b >= 10 && b <= 13), "block %d read %u times", b, reads[b]);
}

TEST(walk, two_formats_side_by_side)
{
	fresh();
	root(0, "tables", 10, T_TABLE);
	root(5, "pointers", 50, T_PTR);
	table_add(10, 20, 10, D);
	for (uint32_t b = 60; b < 70; b++)
		ptr_add(50, b);
	walk();
	CHECK(clean());
	CHECK_EQ(owned_by(1), 11);
	CHECK_EQ(owned_by(6), 11);
	CHECK_EQ(root_of[65], 6);
	CHECK_EQ(root_of[25], 1);
}

TEST(walk, a_deep_chain_through_the_whole_disk)
{
	fresh();
	root(0, "chain", FIRST, T_TABLE);
	for (uint64_t b = FIRST; b + 1 < NBLK; b++)
		table_add(b, b + 1, 1, T_TABLE);
	walk();
	CHECK(clean());
	CHECK_EQ(res.metadata, NBLK - FIRST);
	CHECK_EQ(res.claimed, NBLK - FIRST);
	CHECK_EQ(parent[NBLK - 1], NBLK - 2);
}

TEST(walk, a_wide_tree_fills_the_stack_once)
{
	fresh();
	root(0, "wide", FIRST, T_TABLE);
	/* every other block a child table */
	for (uint64_t b = FIRST + 1; b < NBLK; b++)
		table_add(FIRST, b, 1, T_TABLE);
	walk();
	CHECK(clean());
	CHECK_EQ(res.metadata, NBLK - FIRST);
	for (uint64_t b = FIRST + 1; b < NBLK; b++)
		CHECK_EQ(parent[b], FIRST);
}

/* --- damage --------------------------------------------------------------------- */

TEST(damage, a_block_claimed_by_two_trees_has_one_owner)
{
	fresh();
	root(0, "a", 10, T_TABLE);
	root(1, "b", 11, T_PTR);
	table_add(10, 20, 3, D);
	ptr_add(11, 21); /* a's block */
	ptr_add(11, 30);
	walk();
	CHECK_EQ(res.twice, 1);
	/* whichever claim the walk met first stands, and only that one */
	CHECK(root_of[21] == 1 || root_of[21] == 2);
	CHECK_EQ(parent[21], root_of[21] == 1 ? 10 : 11);
	CHECK_EQ(root_of[30], 2);
	CHECK_EQ(res.claimed, 2 + 3 + 1);
}

TEST(damage, a_block_claimed_twice_in_one_tree_counts_once)
{
	fresh();
	root(0, "a", 10, T_TABLE);
	table_add(10, 11, 1, T_TABLE);
	table_add(10, 20, 1, D);
	table_add(11, 20, 1, D); /* again, from the child */
	walk();
	CHECK_EQ(res.twice, 1);
	CHECK_EQ(parent[20], 10);
	CHECK_EQ(res.claimed, 3);
}

TEST(damage, claims_of_xns_own_blocks_are_ignored)
{
	fresh();
	root(0, "a", 10, T_TABLE);
	table_add(10, 0, 2, D); /* from block 0: "no pointer", dropped unseen */
	table_add(10, 1, 1, D); /* XN's own: the free map */
	table_add(10, FIRST - 1, 1, T_TABLE);
	table_add(10, 20, 1, D);
	walk();
	CHECK_EQ(res.twice, 2);
	for (int b = 0; b < FIRST; b++)
		CHECK_EQ(root_of[b], 0);
	CHECK_EQ(res.claimed, 2);
	CHECK_EQ(reads[FIRST - 1], 0); /* never walked into */
}

TEST(damage, cycles_end)
{
	fresh();
	root(0, "a", 10, T_TABLE);
	table_add(10, 11, 1, T_TABLE);
	table_add(11, 10, 1, T_TABLE); /* back to the root */
	table_add(11, 11, 1, T_TABLE); /* itself */
	root(1, "b", 12, T_TABLE);
	table_add(12, 11, 1, T_TABLE); /* into the other tree */
	walk();
	CHECK_EQ(res.twice, 3);
	CHECK_EQ(res.metadata, 3);
	for (int b = 10; b <= 12; b++)
		CHECK_EQ(reads[b], 1);
}

TEST(damage, bad_catalogue_entries)
{
	fresh();
	root(0, "data", 10, D);
	root(1, "type", 11, XN_TYPES_MAX + 1);
	root(2, "far", NBLK, T_TABLE);
	root(3, "farther", UINT64_MAX, T_TABLE);
	root(4, "own", 1, T_TABLE);
	root(5, "good", 12, T_TABLE);
	root(6, "same", 12, T_TABLE); /* a second root on the same block */
	cat[7].r_block = 13;          /* nameless: a free entry, skipped */
	cat[7].r_type = T_TABLE;
	walk();
	CHECK_EQ(res.bad_roots, 6);
	CHECK_EQ(res.claimed, 1);
	CHECK_EQ(root_of[12], 6);
	CHECK_EQ(root_of[13], 0);
}

TEST(damage, unreadable_and_failing_metadata)
{
	fresh();
	root(0, "a", 10, T_TABLE);
	table_add(10, 11, 1, T_TABLE);
	table_add(10, 12, 1, T_FAILS);
	table_add(10, 13, 1, T_TOO_MANY);
	table_add(10, 14, 1, T_UNKNOWN);
	table_add(10, 15, 1, T_TABLE);
	unreadable[11] = true;
	table_add(11, 30, 1, D); /* never seen */
	table_add(15, 31, 1, D); /* still walked */
	walk();
	CHECK_EQ(res.bad_udf, 4);
	CHECK_EQ(root_of[30], 0);
	CHECK_EQ(root_of[31], 1);
	/* the blocks themselves stay claimed: their parent is whole */
	for (int b = 11; b <= 15; b++)
		CHECK_EQ(root_of[b], 1);
	CHECK_EQ(owned_by(1), 7);
}

TEST(damage, an_answer_that_is_no_set)
{
	fresh();
	root(0, "a", 10, T_TABLE);
	table_add(10, 11, 1, T_TABLE);
	table_add(11, 20, 3, D);
	table_add(11, 22, 3, D); /* overlaps */
	table_add(10, 12, 1, T_TABLE);
	table_add(12, 40, 1, XN_TYPES_MAX + 1); /* no such type */
	table_add(12, 41, 1, D);
	table_add(10, 13, 1, T_TABLE);
	table_add(13, NBLK - 1, 2, D); /* off the disk */
	walk();
	CHECK_EQ(res.bad_udf, 3);
	for (int b = 20; b < 25; b++)
		CHECK_EQ(root_of[b], 0);
	CHECK_EQ(root_of[40], 0);
	CHECK_EQ(root_of[41], 1); /* its well-typed neighbour stands */
	CHECK_EQ(root_of[NBLK - 1], 0);
}

static uint64_t rng;
static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

static void garbage(uint64_t block)
{
	uint64_t *w = (uint64_t *)disk[block];
	for (int i = 0; i < DISK_BLOCK_SIZE / 8; i++)
		w[i] = rnd();
}

TEST(damage, a_pointer_to_a_block_never_initialised)
{
	/* what XN's write ordering exists to prevent: the pointer reached the
	 * disk, the block it names did not. The walk must see nonsense, not
	 * trust it: no claim through it, no crash, the rest intact. */
	rng = 12345;
	fresh();
	root(0, "a", 10, T_TABLE);
	table_add(10, 11, 1, T_TABLE);
	table_add(10, 12, 1, T_PTR);
	table_add(10, 20, 2, D);
	garbage(11);
	garbage(12);
	walk();
	CHECK_EQ(res.bad_udf, 2);
	CHECK_EQ(res.claimed, 5);
	CHECK_EQ(owned_by(1), 5);
}

TEST(damage, a_stale_free_map_is_rebuilt)
{
	/* the map on disk after the last sync; then allocations and frees whose
	 * pointers reached the disk, and a crash before the map was written */
	fresh();
	root(0, "a", 10, T_TABLE);
	table_add(10, 20, 5, D);
	table_add(10, 30, 5, D);
	walk();
	bool stale[NBLK];
	for (int b = 0; b < NBLK; b++)
		stale[b] = b < FIRST || root_of[b];
	/* freed 30..34 (the table shrank), allocated 40..41 */
	struct table *t = (struct table *)disk[10];
	t->ent[1] = (struct xn_extent){ 40, 2, D };
	walk();
	CHECK(clean());
	unsigned leaked = 0, wrongly_free = 0;
	for (int b = FIRST; b < NBLK; b++) {
		leaked += stale[b] && !root_of[b];
		wrongly_free += !stale[b] && root_of[b];
	}
	CHECK_EQ(leaked, 5);
	CHECK_EQ(wrongly_free, 2);
	CHECK_EQ(owned_by(1), 1 + 5 + 2);
}

/* --- random disks ------------------------------------------------------------------ */

/* A disk of random trees in both formats, with random damage: shared
 * blocks, cycles, garbage, unreadable blocks, bad roots. */
static void random_disk(void)
{
	fresh();
	int nroots = 1 + (int)(rnd() % 6);
	for (int r = 0; r < nroots; r++) {
		int slot = (int)(rnd() % XN_ROOTS_MAX);
		uint64_t b = rnd() % 5 == 0 ? rnd() % (NBLK + 4) : FIRST + rnd() % (NBLK - FIRST);
		root(slot, "r", b, (uint32_t)(rnd() % 4 == 0 ? rnd() % 7 : 1 + rnd() % 2));
	}
	for (uint64_t b = FIRST; b < NBLK; b++) {
		switch (rnd() % 16) {
		case 0: garbage(b); break;
		case 1: unreadable[b] = rnd() % 4 == 0; break;
		default: {
			int n = (int)(rnd() % 6);
			for (int i = 0; i < n; i++) {
				if (rnd() % 2)
					table_add(b, rnd() % NBLK, (uint32_t)(1 + rnd() % 3),
						  (uint32_t)(rnd() % 8 == 0   ? rnd() % 6
							     : rnd() % 3 == 0 ? D
									      : 1 + rnd() % 2));
				else
					((uint32_t *)disk[b])[512 + i] = (uint32_t)(rnd() % NBLK);
			}
		}
		}
	}
}

TEST(random, the_owner_map_is_consistent_whatever_the_disk)
{
	rng = 0x9e3779b97f4a7c15UL;
	uint64_t damaged = 0, claimed = 0;
	for (int iter = 0; iter < 400; iter++) {
		random_disk();
		walk();
		damaged += !clean();
		claimed += res.claimed;
		uint64_t owned = 0, meta = 0;
		for (uint64_t b = 0; b < NBLK; b++) {
			CHECK_MSG(reads[b] <= 1, "iteration %d: block %lu read %u times", iter,
				  (unsigned long)b, reads[b]);
			if (!root_of[b]) {
				CHECK_EQ(reads[b], 0); /* only claimed blocks are walked */
				continue;
			}
			owned++;
			CHECK(b >= FIRST);
			CHECK(root_of[b] <= XN_ROOTS_MAX && cat[root_of[b] - 1].r_name[0]);
			if (type_of[b] != D) {
				meta++;
				CHECK_EQ(reads[b], 1); /* every claimed metadata block walked */
			} else {
				CHECK_EQ(reads[b], 0);
			}
			if (parent[b] == XN_PARENT_ROOT) {
				CHECK_EQ(cat[root_of[b] - 1].r_block, b);
			} else {
				/* claimed by a metadata block of the same tree */
				CHECK(parent[b] < NBLK && root_of[parent[b]] == root_of[b] &&
				      type_of[parent[b]] != D);
			}
		}
		CHECK_EQ(owned, res.claimed);
		CHECK_EQ(meta, res.metadata);
	}
	/* the generator must make both damaged and sizeable trees, or this proves little */
	CHECK_MSG(damaged > 100 && claimed > 3000, "%lu damaged, %lu claimed",
		  (unsigned long)damaged, (unsigned long)claimed);
}
