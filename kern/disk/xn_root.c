/*
 * XN's root catalogue: named trees, each with its guard (keys dominating
 * it reach the whole tree), root block and type. sys_xn_root_create and
 * sys_xn_root_lookup. The catalogue is one block (XN_ROOTS_MAX entries),
 * written through at every change; mount reads it and walks each tree
 * from its root (xn.c). Names are not authority.
 */
#include <inc/error.h>
#include <inc/page.h>
#include <kern/arch/cpu.h>
#include <kern/env/cap.h>
#include <kern/env/env.h>
#include <kern/mem/pmap.h>
#include <kern/mem/vm.h>
#include <kern/disk/bcache.h>
#include <kern/disk/disk.h>
#include <kern/disk/xn_int.h>
#include <kern/disk/xn_walk.h>
#include <common/string.h>

/* The catalogue entry named by the user string at uname, or -E_*. */
long root_named(struct env *e, uint64_t uname, char name[XN_NAME_MAX])
{
	long n = copy_string_from_user(e->env_vm, name, uname, XN_NAME_MAX);
	if (n < 0)
		return n;
	if (n == 0)
		return -E_INVAL;
	for (unsigned i = 0; i < XN_ROOTS_MAX; i++)
		if (strcmp(cat[i].r_name, name) == 0)
			return i;
	return -E_NOT_FOUND;
}

long mounted_root(struct env *e, uint64_t uname)
{
	char name[XN_NAME_MAX];
	long r = need_mounted();
	return r < 0 ? r : root_named(e, uname, name);
}

/* The catalogue job in progress (one at a time): what its last step needs. */
static struct {
	unsigned at;      /* the catalogue slot */
	uint64_t block;   /* the root block */
	struct xn_root old; /* a removal's entry, put back if the write fails */
} pending;

/* A creation's writes ended. Once its zeros (and the map) were written
 * and the catalogue's write sent, the root stays, as it did when this
 * spun: a failed catalogue write leaves it to the next one. Before that
 * it goes again. */
static long created(long status, bool cat_sent)
{
	uint64_t b = pending.block;
	if (status < 0 && !cat_sent) {
		memset(&cat[pending.at], 0, sizeof(cat[pending.at]));
		root_of[b] = 0;
		usage_changes++;
	} else {
		bflags[b] = B_INIT;
	}
	count_free();
	return status < 0 ? status : (long)pending.at;
}

static long removed(long status, bool cat_sent);

long sys_xn_root_create(uint64_t uname, uint64_t type, uint64_t cap)
{
	struct env *e = curenv;
	char name[XN_NAME_MAX];
	long r = need_mounted();
	if (r < 0)
		return r;
	long at = root_named(e, uname, name);
	if (at >= 0)
		return -E_BUSY;
	if (at != -E_NOT_FOUND)
		return at;
	if (type == XN_TYPE_DATA || type > XN_TYPES_MAX || !udf[type])
		return -E_INVAL;
	const struct cap *key;
	if ((r = cap_key(e, cap, &key)) < 0)
		return r;
	unsigned slot = 0;
	while (slot < XN_ROOTS_MAX && cat[slot].r_name[0])
		slot++;
	if (slot == XN_ROOTS_MAX)
		return -E_FULL;
	uint64_t b = sb.s_data;
	while (b < nblocks && in_use(b))
		b++;
	if (b == nblocks)
		return -E_NO_MEM;
	if (disk_stats.di_read_only)
		return -E_PERM;
	if (xn_job_busy(0))
		disk_sleep_restart(); /* the writes below go through io_ppn */
	/* a fresh root claims nothing */
	memset(page_kva(copy_ppn), 0, PAGE_SIZE);
	if (claims_of((uint32_t)type, b, page_kva(copy_ppn), after) != 0)
		return -E_REFUSED;
	/* the tree is in memory at once (its block taken, its name known;
	 * changes to it wait for the job), and on disk in this order: the root
	 * block's zeros, then no note of a removed tree in this slot
	 * (xn_root_remove clears them in memory) left in the written map on
	 * disk to be taken for this one's, flushed, then the catalogue */
	struct xn_root *rt = &cat[slot];
	memset(rt, 0, sizeof(*rt));
	strlcpy(rt->r_name, name, sizeof(rt->r_name));
	rt->r_guard = *key;
	rt->r_block = b;
	rt->r_type = (uint32_t)type;
	root_of[b] = (uint16_t)(slot + 1);
	type_of[b] = (uint8_t)type;
	parent_of[b] = XN_PARENT_ROOT;
	bflags[b] = 0; /* B_INIT once its zeros are written (created) */
	usage_changes++;
	pending.at = slot;
	pending.block = b;
	return xn_catalogue_job((uint16_t)(slot + 1), b, false, created);
}

long sys_xn_root_lookup(uint64_t uname, uint64_t out)
{
	struct env *e = curenv;
	long at = mounted_root(e, uname);
	if (at < 0)
		return at;
	struct xn_root_info ri = { (uint64_t)at, cat[at].r_block, cat[at].r_type, 0,
				   cat[at].r_guard };
	if (copy_to_user(e->env_vm, out, &ri, sizeof(ri)) < 0)
		return -E_FAULT;
	return at;
}

/* Removal is the catalogue entry going, durably: that write is the one
 * commit point. Before it, the tree is whole; after it, nothing on disk
 * reaches the root block or anything its old contents may still point to
 * (mount walks from the catalogue), so they are free at once, and blocks
 * the tree freed whose release was not yet written (B_FREEING) too. The
 * rule is the one for freeing any metadata block: it must claim nothing,
 * so a tree is emptied through checked updates first and no block it
 * claimed is ever lost track of. "Nothing" is what XN holds the tree to
 * own (root_of), not a UDF run: a root whose UDF no longer loads was
 * walked as claiming nothing at mount, and can be removed. Its notes in
 * the written map are cleared so that a tree made later in the same slot
 * cannot read what it wrote (xn_root_create writes the map before its own
 * catalogue entry; a mount clears notes of slots without a root). */
long sys_xn_root_remove(uint64_t uname, uint64_t cap)
{
	struct env *e = curenv;
	long r, at = mounted_root(e, uname);
	if (at < 0)
		return at;
	uint16_t tree = (uint16_t)(at + 1);
	if ((r = tree_check(e, cap, tree, CAP_W | CAP_M)) < 0)
		return r;
	if (disk_stats.di_read_only)
		return -E_PERM;
	uint64_t b = cat[at].r_block;
	for (uint64_t k = sb.s_data; k < nblocks; k++)
		if (root_of[k] == tree && k != b)
			return -E_BUSY; /* free what it claims first */
	if (xn_job_busy(0))
		disk_sleep_restart(); /* the catalogue goes through io_ppn */
	pending.at = (unsigned)at;
	pending.block = b;
	pending.old = cat[at];
	memset(&cat[at], 0, sizeof(cat[at]));
	return xn_catalogue_job(tree, UINT64_MAX, true, removed);
}

/* A removal's catalogue write and flush ended. */
static long removed(long status, bool cat_sent UNUSED)
{
	unsigned at = pending.at;
	uint16_t tree = (uint16_t)(at + 1);
	uint64_t b = pending.block;
	if (status < 0) {
		cat[at] = pending.old; /* on disk it may be either: both are whole */
		return status;
	}
	bc_drop(b);
	claims_forget(b);
	root_of[b] = 0;
	bflags[b] = 0;
	for (uint64_t k = sb.s_data; k < nblocks; k++) {
		if ((bflags[k] & B_FREEING) && freed_by[k] == tree)
			bflags[k] = 0;
		if (written_by[k] == tree)
			set_written(k, 0);
	}
	usage_changes++;
	disk_stats.di_cache_dirty = bc_dirty_count();
	count_free();
	return 0;
}
