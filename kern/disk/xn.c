/*
 * XN: persistent, capability-checked ownership of disk blocks, with the
 * metadata formats left to library file systems (Kaashoek et al., SOSP'97).
 *
 * On disk (inc/disk.h): the superblock (block 0), a free map (one bit a
 * block), the root catalogue (named roots, each with its guard and type)
 * and one block per registered metadata type holding its UDF. Everything
 * from s_data on belongs to the trees hanging off the roots.
 *
 * A library file system registers each metadata type with a UDF (a
 * BPF_KIND_UDF program, verified and compiled like every downloaded
 * program, stored on disk so the kernel can read the trees after a reboot):
 * given a block of that type it lists the extents the block claims, each
 * with a type (data, or a metadata type). A change to a metadata block is
 * a list of byte-range writes (sys_xn_update); the kernel applies them to
 * a copy, runs the UDF before and after, and accepts the change only if
 * the claimed set is unchanged, grew by exactly the free extent being
 * allocated or shrank by exactly the extent being freed (xn_check.c).
 *
 * Authority: each tree is guarded by its root's guard; a key dominating it
 * (CAP_R, CAP_W) reaches every block the tree claims - a capability for a
 * metadata block that claims a block is one for that block. Only data
 * blocks are written directly (disk_io); metadata only through updates.
 * Without XN's format the disk is raw: only the root name reaches it.
 *
 * Ordering (xn_sync.c's job, the only write-back of metadata): a metadata block is
 * written only once every block it claims is initialised on disk (child
 * metadata written first, data blocks never written get zeros), so no
 * pointer reaches the disk before its target; a freed extent stays in use
 * (B_FREEING) until the sync that writes its parent's new contents has
 * completed and been flushed, so it is never reused while the old pointer
 * may still be on disk. Mount rebuilds the free map from the roots through
 * the UDFs (xn_walk.c), so an unclean shutdown loses nothing and leaks
 * nothing; the free map on disk is only written at sync, for inspection.
 *
 * Moves (sys_xn_move): one metadata block gives up an extent and another
 * of the same tree claims it, in one step; on disk the receiver is written
 * only once the giver's release is (B_MOVED, moved_from), so a power cut
 * never leaves both claiming it.
 *
 * The written map (s_written): which tree wrote each block since it was
 * last freed, on disk before any metadata of the sync that follows the
 * write, or at disk_flush_data (its data-only job: a journal's barrier before its
 * commit record, which is data too and must not land first). A block a tree allocates again after a power cut (a journal
 * replayed) keeps what that tree wrote there; for any other tree it is
 * uninitialised and gets zeros, as before.
 *
 * Hostile input: UDFs are run with a budget (a loop that does not end is
 * cut off, the change refused), their answers are checked as sets, their
 * output buffer is zeroed before each run (nothing from an earlier run can
 * leak in) and they have no helpers (they cannot observe anything but the
 * block). Every field an env passes is checked before anything changes.
 *
 * A sync costs the dirty blocks' writes and one device flush; the free map
 * and superblock are written (and flushed again) only if what is in use
 * changed since they last were.
 *
 * Files: this one (format, mount and recovery, types, authority, the free
 * map, binding); xn_root.c (the root catalogue's calls); xn_update.c
 * (sys_xn_update, sys_xn_move); xn_sync.c (the ordered write-back);
 * xn_int.h (their shared state).
 *
 * Locking: the big kernel lock. A system call never spins on the device for
 * a cache miss, the write-back, the catalogue or a type: it sleeps
 * (kwait.c, xn_sync.c). Mount and format still spin (format waits for a
 * running job first: they share io_ppn).
 */
#include <inc/bpf.h>
#include <inc/error.h>
#include <inc/page.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/bpf/bpf.h>
#include <kern/bpf/dlcode.h>
#include <kern/env/cap.h>
#include <kern/env/env.h>
#include <kern/mem/pmap.h>
#include <kern/mem/stlb.h>
#include <kern/mem/vm.h>
#include <kern/disk/bcache.h>
#include <kern/disk/disk.h>
#include <common/xn_check.h>
#include <kern/disk/xn_walk.h>
#include <common/string.h>
#include <kern/disk/xn_int.h>

struct xn_super sb;
bool mounted;
uint64_t nblocks;
struct xn_root cat[XN_ROOTS_MAX];
struct xn_type_block types[XN_TYPES_MAX + 1]; /* index = type id; 0 unused */
struct kprog *udf[XN_TYPES_MAX + 1];
uint16_t root_of[XN_MAX_BLOCKS];
uint8_t type_of[XN_MAX_BLOCKS];
uint32_t parent_of[XN_MAX_BLOCKS];
uint8_t bflags[XN_MAX_BLOCKS];
uint32_t walk_stack[XN_MAX_BLOCKS];
uint8_t written_by[XN_MAX_BLOCKS];   /* the written map, as on disk soon */
bool written_dirty[WRITTEN_MAP_BLOCKS]; /* its blocks changed since written */
uint32_t moved_from[XN_MAX_BLOCKS]; /* for B_MOVED blocks: the giver */
uint8_t freed_by[XN_MAX_BLOCKS];    /* for B_FREEING blocks: the tree that freed it */
ppn_t undo_ppn;  /* a move's giver as it was, should the receiver fail */
ppn_t copy2_ppn; /* a move's second new contents */
ppn_t io_ppn;    /* a kernel page for XN's own blocks */
ppn_t zero_ppn;  /* zeros, for data blocks never written */
ppn_t copy_ppn;  /* an update's new contents, before they are accepted */
static struct xn_extent out_buf[XN_UDF_MAX_EXTENTS] __attribute__((aligned(16)));
struct xn_extent before[XN_UDF_MAX_EXTENTS + 1], after[XN_UDF_MAX_EXTENTS + 1];
struct xn_extent scratch[XN_UDF_MAX_EXTENTS + 1];

static const struct cap raw_guard = { .c_valid = 1, .c_len = 0, .c_rights = CAP_ALL };
uint64_t usage_changes, usage_on_disk;

static struct claims_entry {
	uint64_t block;
	uint64_t used; /* 0: empty; else when last used (least recently used out) */
	int count;
	struct xn_extent set[XN_UDF_MAX_EXTENTS];
} claims_cache[CLAIMS_CACHED];
static uint64_t claims_clock;

static struct claims_entry *claims_find(uint64_t block)
{
	for (unsigned i = 0; i < CLAIMS_CACHED; i++)
		if (claims_cache[i].used && claims_cache[i].block == block)
			return &claims_cache[i];
	return NULL;
}

int claims_cached(uint64_t block, struct xn_extent *out)
{
	struct claims_entry *c = claims_find(block);
	if (!c)
		return -1;
	c->used = ++claims_clock;
	memcpy(out, c->set, (size_t)c->count * sizeof(out[0]));
	return c->count;
}

void claims_remember(uint64_t block, const struct xn_extent *set, int n)
{
	struct claims_entry *c = claims_find(block);
	if (!c) {
		c = &claims_cache[0];
		for (unsigned i = 1; i < CLAIMS_CACHED; i++)
			if (claims_cache[i].used < c->used)
				c = &claims_cache[i];
	}
	c->block = block;
	c->used = ++claims_clock;
	c->count = n;
	memcpy(c->set, set, (size_t)n * sizeof(set[0]));
}

void claims_forget(uint64_t block)
{
	struct claims_entry *c = claims_find(block);
	if (c)
		c->used = 0;
}

void claims_forget_all(void)
{
	for (unsigned i = 0; i < CLAIMS_CACHED; i++)
		claims_cache[i].used = 0;
}

void count_free(void)
{
	uint64_t n = 0;
	for (uint64_t b = 0; b < nblocks; b++)
		n += !in_use(b);
	disk_stats.di_xn_free = n;
	unsigned roots = 0;
	for (unsigned i = 0; i < XN_ROOTS_MAX; i++)
		roots += cat[i].r_name[0] != 0;
	disk_stats.di_xn_roots = roots;
}

/* --- UDFs ---------------------------------------------------------------------- */

static struct kprog *load_udf(const struct xn_type_block *t, struct bpf_verify_error *verr,
			      long *err)
{
	struct bpf_region regions[2] = {
		{ 0, DISK_BLOCK_SIZE, page_kva(io_ppn), BPF_REGION_READ },
		{ 0, sizeof(out_buf), out_buf, BPF_REGION_READ | BPF_REGION_WRITE },
	};
	return dlcode_load_kernel(BPF_KIND_UDF, (const struct bpf_insn *)t->t_insns, t->t_len,
				  regions, 2, verr, err);
}

/* What block (of type, contents page) claims, normalised into out: the
 * count, or -1 (unknown type, the run failed, or not a set). */
int claims_of(uint32_t type, uint64_t block, const void *page, struct xn_extent *out)
{
	if (type == XN_TYPE_DATA || type > XN_TYPES_MAX || !udf[type])
		return -1;
	struct bpf_udf_ctx ctx = { block, type, nblocks, 0 };
	void *regions[2] = { (void *)page, out_buf };
	memset(out_buf, 0, sizeof(out_buf));
	disk_stats.di_xn_udf_runs++;
	bool ok;
	uint64_t n = dlcode_run_kernel(udf[type], &ctx, regions, &ok);
	if (!ok || n > XN_UDF_MAX_EXTENTS)
		return -1;
	memcpy(out, out_buf, n * sizeof(out[0]));
	return xn_extents_normalise(out, (int)n, nblocks);
}

/* --- XN's own blocks ------------------------------------------------------------ */

static int read_own(uint64_t block)
{
	return disk_kernel_io_sync(DISK_OP_READ, block, io_ppn);
}

static int write_own(uint64_t block, const void *data, size_t len)
{
	void *p = page_kva(io_ppn);
	memset(p, 0, PAGE_SIZE);
	memcpy(p, data, len);
	return disk_kernel_io_sync(DISK_OP_WRITE, block, io_ppn);
}

int write_catalogue(void)
{
	return write_own(sb.s_catalogue, cat, sizeof(cat));
}

/* The free map and superblock as they are now. */
int write_freemap(uint64_t clean)
{
	uint8_t *p = page_kva(io_ppn);
	for (uint64_t fb = 0; fb < sb.s_freemap_blocks; fb++) {
		memset(p, 0, PAGE_SIZE);
		for (uint64_t i = 0; i < DISK_BLOCK_SIZE * 8; i++) {
			uint64_t b = fb * DISK_BLOCK_SIZE * 8 + i;
			if (b < nblocks && in_use(b))
				p[i / 8] |= (uint8_t)(1u << (i % 8));
		}
		int r = disk_kernel_io_sync(DISK_OP_WRITE, sb.s_freemap + fb, io_ppn);
		if (r < 0)
			return r;
	}
	sb.s_clean = clean;
	usage_on_disk = usage_changes;
	return write_own(0, &sb, sizeof(sb));
}

/* --- the written map --------------------------------------------------------------- */

static int read_written_map(void)
{
	memset(written_by, 0, sizeof(written_by));
	memset(written_dirty, 0, sizeof(written_dirty));
	for (uint64_t wb = 0; sb.s_written && wb < sb.s_written_blocks; wb++) {
		int r = read_own(sb.s_written + wb);
		if (r < 0)
			return r;
		uint64_t first = wb * WRITTEN_PER_BLOCK;
		memcpy(written_by + first, page_kva(io_ppn),
		       MIN(WRITTEN_PER_BLOCK, nblocks - first));
	}
	return 0;
}

void set_written(uint64_t b, uint8_t root)
{
	if (written_by[b] != root) {
		written_by[b] = root;
		written_dirty[b / WRITTEN_PER_BLOCK] = true;
	}
}

bool written_map_dirty(void)
{
	for (unsigned wb = 0; wb < WRITTEN_MAP_BLOCKS; wb++)
		if (written_dirty[wb])
			return true;
	return false;
}

/* --- mount ---------------------------------------------------------------------- */

static int walk_read(void *arg UNUSED, uint64_t block, void *buf)
{
	int err;
	void *p = bc_get(block, 0, &err);
	if (!p)
		return err;
	memcpy(buf, p, DISK_BLOCK_SIZE);
	return 0;
}

static int walk_claims(void *arg UNUSED, uint32_t type, uint64_t block, const void *buf,
		       struct xn_extent *out)
{
	return claims_of(type, block, buf, out);
}

static uint8_t walk_buf[DISK_BLOCK_SIZE] __attribute__((aligned(PAGE_SIZE)));

static void unload_types(void)
{
	for (unsigned t = 1; t <= XN_TYPES_MAX; t++)
		if (udf[t]) {
			dlcode_unload_kernel(udf[t]);
			udf[t] = NULL;
		}
	memset(types, 0, sizeof(types));
}

/* Read XN's structures from disk and rebuild the ownership state. */
static int mount(void)
{
	int r = read_own(0);
	if (r < 0)
		return r;
	memcpy(&sb, page_kva(io_ppn), sizeof(sb));
	if (sb.s_magic != XN_MAGIC || sb.s_nblocks == 0 || sb.s_nblocks > XN_MAX_BLOCKS ||
	    sb.s_nblocks > disk_blocks() || sb.s_data >= sb.s_nblocks ||
	    sb.s_types + XN_TYPES_MAX > sb.s_data || sb.s_catalogue >= sb.s_data ||
	    sb.s_freemap + sb.s_freemap_blocks > sb.s_data ||
	    (sb.s_written && (sb.s_written_blocks * WRITTEN_PER_BLOCK < sb.s_nblocks ||
			      sb.s_written + sb.s_written_blocks > sb.s_data ||
			      sb.s_written_blocks > WRITTEN_MAP_BLOCKS)))
		return -E_NOT_FOUND;
	nblocks = sb.s_nblocks;
	if ((r = read_written_map()) < 0)
		return r;
	if ((r = read_own(sb.s_catalogue)) < 0)
		return r;
	memcpy(cat, page_kva(io_ppn), sizeof(cat));
	for (unsigned i = 0; i < XN_ROOTS_MAX; i++)
		cat[i].r_name[XN_NAME_MAX - 1] = 0;
	/* notes of a tree whose removal landed before the written map did */
	for (uint64_t b = 0; b < nblocks; b++)
		if (written_by[b] &&
		    (written_by[b] > XN_ROOTS_MAX || !cat[written_by[b] - 1].r_name[0]))
			set_written(b, 0);
	unload_types();
	for (unsigned t = 1; t <= XN_TYPES_MAX; t++) {
		if ((r = read_own(sb.s_types + t - 1)) < 0)
			return r;
		memcpy(&types[t], page_kva(io_ppn), sizeof(types[t]));
		if (types[t].t_magic != XN_TYPE_MAGIC)
			continue;
		struct bpf_verify_error verr;
		long err;
		if (types[t].t_len > XN_UDF_MAX_INSNS ||
		    !(udf[t] = load_udf(&types[t], &verr, &err)))
			cprintf("xn: type %u's UDF does not load (%e); its trees are not walked\n",
				t, types[t].t_len > XN_UDF_MAX_INSNS ? -E_TOO_BIG : err);
	}
	/* the walk: who claims what */
	claims_forget_all();
	memset(root_of, 0, sizeof(root_of));
	memset(bflags, 0, sizeof(bflags));
	struct xn_walk_hooks h = { NULL, walk_read, walk_claims };
	struct xn_walk_mem m = { root_of, type_of, parent_of, walk_stack, walk_buf, before };
	struct xn_walk_result res;
	bc_spin = true; /* no env may sleep here: boot, or format's own call */
	xn_walk(&h, &m, nblocks, sb.s_data, cat, XN_ROOTS_MAX, &res);
	bc_spin = false;
	for (uint64_t b = 0; b < nblocks; b++)
		if (root_of[b])
			bflags[b] = B_INIT; /* on disk: it was read or pointed to there */
	/* compare with the free map on disk: what an unclean shutdown left stale */
	uint64_t differ = 0;
	for (uint64_t fb = 0; fb < sb.s_freemap_blocks; fb++) {
		if ((r = read_own(sb.s_freemap + fb)) < 0)
			return r;
		const uint8_t *p = page_kva(io_ppn);
		for (uint64_t i = 0; i < DISK_BLOCK_SIZE * 8; i++) {
			uint64_t b = fb * DISK_BLOCK_SIZE * 8 + i;
			if (b < nblocks && (bool)(p[i / 8] & (1u << (i % 8))) != in_use(b))
				differ++;
		}
	}
	sb.s_mounts++;
	mounted = true;
	disk_stats.di_xn = XN_STATE_MOUNTED;
	disk_stats.di_xn_blocks = nblocks;
	disk_stats.di_xn_mounts = sb.s_mounts;
	disk_stats.di_xn_recovered = differ;
	count_free();
	if (!disk_stats.di_read_only &&
	    ((r = write_freemap(0)) < 0 || (r = disk_kernel_flush_sync()) < 0))
		return r; /* a read-only disk keeps its map: mount never trusts it anyway */
	unsigned ntypes = 0, native = 0;
	for (unsigned t = 1; t <= XN_TYPES_MAX; t++)
		if (udf[t])
			ntypes++, native += dlcode_native(udf[t]);
	cprintf("xn: mounted, %lu blocks, %u roots, %u types (%u compiled), %lu in trees (%lu "
		"metadata), %lu free; free map on disk %s (%lu blocks differed)%s\n",
		nblocks, disk_stats.di_xn_roots, ntypes, native, res.claimed, res.metadata,
		disk_stats.di_xn_free, differ ? "rebuilt" : "was right", differ,
		res.twice || res.bad_udf || res.bad_roots ? "; DAMAGE: claims ignored" : "");
	if (res.twice || res.bad_udf || res.bad_roots)
		cprintf("xn: %lu double claims, %lu unreadable metadata blocks, %lu bad roots\n",
			res.twice, res.bad_udf, res.bad_roots);
	return 0;
}

void xn_init(void)
{
	long a = page_take(NULL, PAGE_KERNEL, PPN_ANY), z = page_take(NULL, PAGE_KERNEL, PPN_ANY);
	long c = page_take(NULL, PAGE_KERNEL, PPN_ANY), c2 = page_take(NULL, PAGE_KERNEL, PPN_ANY);
	long u = page_take(NULL, PAGE_KERNEL, PPN_ANY);
	if (a < 0 || z < 0 || c < 0 || c2 < 0 || u < 0)
		panic("xn_init: out of memory");
	io_ppn = (ppn_t)a;
	zero_ppn = (ppn_t)z;
	copy_ppn = (ppn_t)c;
	copy2_ppn = (ppn_t)c2;
	undo_ppn = (ppn_t)u;
	bc_init();
	disk_stats.di_xn = XN_STATE_RAW;
	int r = mount();
	if (r == -E_NOT_FOUND)
		cprintf("xn: the disk has no XN format; raw access only\n");
	else if (r < 0)
		cprintf("xn: mount failed: %e; raw access only\n", r);
}

/* --- authority ------------------------------------------------------------------- */

long tree_check(struct env *e, uint64_t cap, uint16_t root, unsigned rights)
{
	return cap_check(e, cap, &cat[root - 1].r_guard, rights);
}

long xn_io_check(struct env *e, int op, uint64_t block, uint64_t n, uint64_t cap)
{
	unsigned rights = op == DISK_OP_READ ? CAP_R : CAP_W;
	if (!mounted)
		return cap_check(e, cap, &raw_guard, rights);
	/* the key is checked once per guard: a run of one tree's blocks (the
	 * usual request) costs one capability check, not one a block */
	uint16_t reached = 0; /* a tree the key was found to reach */
	bool raw_reached = false;
	for (uint64_t b = block; b < block + n; b++) {
		uint16_t root = b < nblocks ? root_of[b] : 0;
		long r = 0;
		if (!root) {
			/* XN's own blocks, free blocks, blocks past XN: raw reading only */
			if (!raw_reached && (r = cap_check(e, cap, &raw_guard, rights)) < 0)
				return r;
			raw_reached = true;
			if (op != DISK_OP_READ)
				return -E_PERM;
			continue;
		}
		if (root != reached && (r = tree_check(e, cap, root, rights)) < 0)
			return r;
		reached = root;
		if (op == DISK_OP_WRITE && type_of[b] != XN_TYPE_DATA)
			return -E_PERM; /* metadata changes only through xn_update */
	}
	return 0;
}

int xn_data_root(uint64_t block)
{
	if (!mounted || block >= nblocks || !root_of[block] || type_of[block] != XN_TYPE_DATA)
		return -1;
	return root_of[block];
}

void xn_block_written(uint64_t block)
{
	if (mounted && block < nblocks && root_of[block]) {
		bflags[block] |= B_INIT;
		set_written(block, (uint8_t)root_of[block]);
	}
}

/* --- system calls ----------------------------------------------------------------- */

long need_mounted(void)
{
	if (!disk_present())
		return -E_NOT_FOUND;
	return mounted ? 0 : -E_NOT_FOUND;
}

long sys_xn_format(uint64_t cap)
{
	struct env *e = curenv;
	if (!disk_present())
		return -E_NOT_FOUND;
	long r = cap_check(e, cap, &raw_guard, CAP_W | CAP_M);
	if (r < 0)
		return r;
	if (disk_stats.di_read_only)
		return -E_PERM;
	if (xn_job_busy(0))
		disk_sleep_restart(); /* it writes through io_ppn */
	uint64_t n = MIN(disk_blocks(), (uint64_t)XN_MAX_BLOCKS);
	uint64_t fmb = (n + DISK_BLOCK_SIZE * 8 - 1) / (DISK_BLOCK_SIZE * 8);
	uint64_t wmb = (n + WRITTEN_PER_BLOCK - 1) / WRITTEN_PER_BLOCK;
	uint64_t data = 1 + fmb + 1 + XN_TYPES_MAX + wmb;
	if (n < data + 8)
		return -E_RANGE; /* too small to hold anything */
	disk_kernel_drain();
	bc_reset();
	unload_types();
	mounted = false;
	claims_forget_all();
	memset(&sb, 0, sizeof(sb));
	sb.s_magic = XN_MAGIC;
	sb.s_nblocks = n;
	sb.s_freemap = 1;
	sb.s_freemap_blocks = fmb;
	sb.s_catalogue = 1 + fmb;
	sb.s_types = sb.s_catalogue + 1;
	sb.s_written = sb.s_types + XN_TYPES_MAX;
	sb.s_written_blocks = wmb;
	sb.s_data = data;
	memset(cat, 0, sizeof(cat));
	memset(root_of, 0, sizeof(root_of));
	memset(bflags, 0, sizeof(bflags));
	nblocks = n;
	if ((r = write_catalogue()) < 0)
		return r;
	for (unsigned t = 0; t < XN_TYPES_MAX + wmb; t++)
		if ((r = write_own(sb.s_types + t, "", 0)) < 0)
			return r; /* empty type blocks, an empty written map */
	if ((r = write_freemap(0)) < 0 || (r = disk_kernel_flush_sync()) < 0)
		return r;
	return mount();
}

/* A type registration in progress (one job at a time). */
static struct xn_type_block type_new;
static unsigned type_slot;
static struct kprog *type_prog;

/* Its block written and flushed: the type is there for trees to use. */
static long type_written(long status, bool cat_sent UNUSED)
{
	if (status < 0) {
		dlcode_unload_kernel(type_prog);
		return status;
	}
	types[type_slot] = type_new;
	udf[type_slot] = type_prog;
	return type_slot;
}

long sys_xn_type_register(uint64_t udef)
{
	struct env *e = curenv;
	struct xn_type_def d;
	if (copy_from_user(e->env_vm, &d, udef, sizeof(d)) < 0)
		return -E_FAULT;
	if (d.td_len == 0 || d.td_len > XN_UDF_MAX_INSNS || d.td_id > XN_TYPES_MAX)
		return -E_INVAL;
	long r = need_mounted();
	if (r < 0)
		return r;
	static struct xn_type_block t;
	memset(&t, 0, sizeof(t));
	t.t_magic = XN_TYPE_MAGIC;
	t.t_len = d.td_len;
	memcpy(t.t_name, d.td_name, sizeof(t.t_name) - 1);
	if (copy_from_user(e->env_vm, t.t_insns, (uint64_t)d.td_insns, d.td_len * 8) < 0)
		return -E_FAULT;
	/* the same program registered before (another env, an earlier boot) */
	unsigned slot = 0;
	for (unsigned i = 1; i <= XN_TYPES_MAX; i++) {
		if (types[i].t_magic == XN_TYPE_MAGIC && types[i].t_len == t.t_len &&
		    memcmp(types[i].t_insns, t.t_insns, t.t_len * 8) == 0 &&
		    (d.td_id == 0 || d.td_id == i))
			return i;
		if (!slot && types[i].t_magic != XN_TYPE_MAGIC && (d.td_id == 0 || d.td_id == i))
			slot = i;
	}
	if (!slot)
		return d.td_id ? -E_BUSY : -E_FULL;
	if (disk_stats.di_read_only)
		return -E_PERM; /* a new type must be on disk before any tree uses it */
	if (xn_job_busy(0))
		disk_sleep_restart(); /* one job at a time; nothing changed yet */
	struct bpf_verify_error verr;
	struct kprog *kp = load_udf(&t, &verr, &r);
	if (!kp) {
		if (r == -E_REFUSED && d.td_error) {
			struct bpf_load_error le = { verr.e_insn, (int32_t)verr.e_reason, { 0 } };
			strlcpy(le.le_msg, verr.e_msg, sizeof(le.le_msg));
			copy_to_user(e->env_vm, (uint64_t)d.td_error, &le, sizeof(le));
		}
		return r;
	}
	/* on disk before any tree can use it: the walk after a crash needs it */
	type_new = t;
	type_slot = slot;
	type_prog = kp;
	return xn_type_job(sb.s_types + slot - 1, &type_new, sizeof(type_new), type_written);
}

long sys_xn_free_map(uint64_t first, uint64_t count, uint64_t uout)
{
	struct env *e = curenv;
	long r = need_mounted();
	if (r < 0)
		return r;
	if (count == 0 || first >= nblocks || count > nblocks - first)
		return -E_RANGE;
	static uint8_t bits[XN_MAX_BLOCKS / 8];
	memset(bits, 0, (count + 7) / 8);
	for (uint64_t i = 0; i < count; i++)
		if (!in_use(first + i))
			bits[i / 8] |= (uint8_t)(1u << (i % 8));
	if (copy_to_user(e->env_vm, uout, bits, (count + 7) / 8) < 0)
		return -E_FAULT;
	return 0;
}

long sys_disk_bind(uint64_t block, uint64_t va, uint64_t cap)
{
	struct env *e = curenv;
	if (va % PAGE_SIZE || va >= UTOP)
		return -E_INVAL;
	long r = need_mounted();
	if (r < 0)
		return r;
	if (block >= nblocks || !root_of[block])
		return -E_RANGE;
	if ((r = tree_check(e, cap, root_of[block], CAP_R)) < 0)
		return r;
	if (xn_block_zeroing(block))
		disk_sleep_restart(); /* a new root: what is on disk is not its yet */
	if (type_of[block] == XN_TYPE_DATA) {
		/* a copy some env registered (sys_disk_cache): writable with CAP_W */
		struct bc_entry *be = bc_data_find(block);
		if (!be)
			return -E_NOT_FOUND;
		if (!(be->be_state & (BC_CLEAN | BC_DIRTY)))
			return -E_AGAIN; /* still being read: nothing to see yet */
		unsigned rights = BIND_READ;
		if (tree_check(e, cap, root_of[block], CAP_W) == 0 && !disk_stats.di_read_only)
			rights |= BIND_WRITE;
		return stlb_bind(e->env_vm, va, be->be_ppn, rights);
	}
	int err;
	if (!bc_get(block, root_of[block], &err))
		return err;
	ppn_t ppn;
	bc_lookup(block, &ppn);
	return stlb_bind(e->env_vm, va, ppn, BIND_READ);
}
