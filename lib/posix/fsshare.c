/*
 * One file tree shared by a process family: the key that reaches it and
 * the turns its members take at it (doc/fs.md, "Files for children").
 *
 * Every member runs its own lib/fs instance over fsdev_xn, which keeps
 * private copies (metadata blocks, a data cache, XN's free map). They stay
 * right because members take turns: a small coordination page, made by the
 * first member that needs it and bound by each parent into the children it
 * spawns (like a pipe's page), holds a lock and a generation number. A turn
 * (fs_share_lock .. fs_share_unlock) is one or more lib/posix file
 * operations (file.c keeps the lock across the operations that change the
 * tree until another member waits, fs_share_wanted). At the start of a
 * turn, a member that sees the generation moved since its last turn drops
 * its copies (fsdev_xn_forget) and reads them again from the kernel's
 * cache; before it lets go after changing the tree, it commits lib/fs's
 * running transaction (so the journal is clean whenever nobody holds the
 * lock, and the next member may commit its own) and bumps the generation. The lock's word holds the holder's env id; a waiter
 * sleeps on it (page_sleep, bounded) and takes it over when the holder has
 * died.
 *
 * The key: the tree's root carries a guard (tools/fs/mkfs gives Exo's disk
 * image its own name, FS_TREE_GUARD there); a parent whose key dominates it
 * derives a key with exactly the guard's name and read/write rights
 * (cap_derive) and grants it to each child it spawns (cap_grant), which
 * mounts with it. A tree guarded by the root name itself is not shared:
 * the only key to it would reach every env and page.
 *
 * A second page holds which members have which inodes open (fshold.c).
 *
 * The page also holds the offsets of open files passed between members
 * (POSIX shares an open file's offset with the children it goes to), each
 * with a count of the members holding it; a member killed without closing
 * leaves its count behind, so a slot can leak (FS_SHARE_OFFSETS bounds
 * them; when none is free a passed file gets an offset of its own).
 *
 * Interface: fs_share_lock / fs_share_unlock around each operation (file.c),
 * fs_share_key (the slot to mount with), fs_share_joining / fs_share_mounted
 * (the first mount replays the journal, the others join), fs_share_export /
 * fs_share_import in spawn's hand-off (proc.c), fs_share_fork /
 * fs_share_after_fork around fork (fd.c, fork.c), the fs_share_offset_*
 * calls for passed files' offsets (file.c).
 *
 * Hostile stance: the page is writable by every member. A member can hold
 * the lock for ever (stalling its own family, as it could by holding any
 * shared pipe) or lie about the generation (members then use stale copies
 * and may fail or damage this tree's contents); none of it reaches another
 * family's tree, which XN guards by key, nor the kernel. A lock word naming
 * no live env is taken over.
 */
#include <lib/posix/fsshare.h>

#include <inc/cap.h>
#include <inc/disk.h>
#include <lib/base/libos.h>
#include <lib/base/vm.h>
#include <lib/posix/handoff.h>
#include <common/string.h>

#define SHARE_MAGIC 0x65726168735f7366UL /* "fs_share" */
#define TREE_KEY_SLOT (CAP_RING - 1) /* where we keep the tree's key: lib/base
					* uses the low slots (CAP_SELF, PCT keys) */

struct fs_share {
	uint32_t sh_lock;    /* the holder's env id; 0: free */
	uint32_t sh_waiting; /* someone sleeps on sh_lock */
	uint32_t sh_gen;     /* bumped by each turn that changed the tree */
	uint32_t sh_mounted; /* a member mounted: the journal was replayed */
	uint64_t sh_magic;
	/* offsets of open files passed between members (read and written in
	 * turns); refs: members holding it, 0 free */
	struct {
		uint32_t refs, pad;
		uint64_t pos;
	} sh_pos[FS_SHARE_OFFSETS];
	/* where the last FS_SHARE_MOVES renames moved an inode (written in
	 * turns): entry n % FS_SHARE_MOVES is the n-th of sh_moves */
	uint64_t sh_moves;
	struct fs_share_move sh_move[FS_SHARE_MOVES];
};
_Static_assert(sizeof(struct fs_share) <= PAGE_SIZE, "one page");

static struct fs_share *share;   /* NULL until made or handed to us */
static uint64_t mount_key = CAP_SELF;
static long tree_slot = -1;      /* our slot of the tree's own key, once made */
static struct cap tree_guard;    /* the tree's guard, once tree_slot is set */
static uint32_t seen_gen;

bool fs_share_alive(envid_t id)
{
	const volatile struct env_info *e = &uenvs[ENVX(id)];
	return id > 0 && e->env_id == id && e->env_status != ENV_ZOMBIE &&
	       e->env_status != ENV_FREE;
}

/* The coordination page: ours, or made now. */
static int share_page(void)
{
	if (share)
		return 0;
	for (int i = 0; i < POSIX_FSSHARE_PAGES; i++)
		if (vm_page_alloc(POSIX_FSSHARE_VA + i * PAGE_SIZE, PROT_READ | PROT_WRITE) < 0) {
			vm_unmap(POSIX_FSSHARE_VA, i * PAGE_SIZE);
			return -ENOMEM;
		}
	/* fork's children share them too */
	vm_adopt_shared(POSIX_FSSHARE_VA, POSIX_FSSHARE_PAGES * PAGE_SIZE);
	share = (struct fs_share *)POSIX_FSSHARE_VA;
	share->sh_magic = SHARE_MAGIC;
	return 0;
}

static long tree_key(void);

uint64_t fs_share_key(void)
{
	/* the narrowest key that reaches the tree: what we grant, and what a
	 * fork child of ours finds in the same slot */
	if (tree_slot < 0)
		tree_slot = tree_key();
	return tree_slot >= 0 ? (uint64_t)tree_slot : mount_key;
}

bool fs_share_joining(void)
{
	return share && __atomic_load_n(&share->sh_mounted, __ATOMIC_SEQ_CST);
}

void fs_share_mounted(void)
{
	__atomic_store_n(&share->sh_mounted, 1, __ATOMIC_SEQ_CST);
	seen_gen = __atomic_load_n(&share->sh_gen, __ATOMIC_SEQ_CST);
}

int fs_share_lock(bool *changed)
{
	int r = share_page();
	if (r < 0)
		return r;
	uint32_t me = (uint32_t)thisenv_id;
	bool took_over = false;
	for (;;) {
		uint32_t v = 0;
		if (__atomic_compare_exchange_n(&share->sh_lock, &v, me, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			break;
		if (v == me)
			break; /* re-entered during our own turn: waiting would never end */
		if (!fs_share_alive((envid_t)v)) {
			/* the holder died in its turn: its last changes are in the
			 * kernel's cache, uncommitted, and told nobody */
			if (__atomic_compare_exchange_n(&share->sh_lock, &v, me, false,
							__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
				took_over = true;
				break;
			}
			continue;
		}
		__atomic_store_n(&share->sh_waiting, 1, __ATOMIC_SEQ_CST);
		v = __atomic_load_n(&share->sh_lock, __ATOMIC_SEQ_CST);
		if (v != 0)
			sys_page_sleep(POSIX_FSSHARE_VA + offsetof(struct fs_share, sh_lock), v,
				       ukinfo->ki_tick_hz / 10);
	}
	uint32_t gen = __atomic_load_n(&share->sh_gen, __ATOMIC_SEQ_CST);
	*changed = gen != seen_gen || took_over;
	seen_gen = gen;
	return 0;
}

void fs_share_unlock(bool changed)
{
	if (changed)
		seen_gen = __atomic_add_fetch(&share->sh_gen, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&share->sh_lock, 0, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&share->sh_waiting, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&share->sh_waiting, 0, __ATOMIC_SEQ_CST);
		sys_page_wake(POSIX_FSSHARE_VA + offsetof(struct fs_share, sh_lock));
	}
}

bool fs_share_ready(void)
{
	return share != NULL;
}

bool fs_share_wanted(void)
{
	return share && __atomic_load_n(&share->sh_waiting, __ATOMIC_SEQ_CST);
}

/* Is there a tree of lib/fs's on a disk XN has mounted? (A program may
 * make one after start-up, so "no" is asked again at each spawn.) */
static bool have_tree(struct xn_root_info *ri)
{
	struct disk_info di;
	if (sys_disk_info(&di) < 0 || di.di_xn != XN_STATE_MOUNTED ||
	    sys_xn_root_lookup(FS_SHARE_ROOT, ri) < 0)
		return false;
	return true;
}

/* Our slot of a key naming exactly the tree's guard with read/write: the
 * one we mount with if it is that already, else derived from it. -1 if our
 * key does not reach the tree, or the tree's guard is the root name. */
static long tree_key(void)
{
	struct xn_root_info ri;
	struct cap k;
	if (!have_tree(&ri) || sys_cap_read(0, mount_key, &k) < 0 || !k.c_valid)
		return -1;
	const struct cap *g = &ri.ri_guard;
	if (g->c_len == 0 || k.c_len > g->c_len ||
	    memcmp(k.c_name, g->c_name, k.c_len * sizeof(k.c_name[0])) != 0 ||
	    (k.c_rights & (CAP_R | CAP_W)) != (CAP_R | CAP_W))
		return -1;
	tree_guard = *g;
	if (k.c_len == g->c_len && k.c_rights == (CAP_R | CAP_W))
		return (long)mount_key;
	struct cap there;
	if (sys_cap_read(0, TREE_KEY_SLOT, &there) < 0)
		return -1;
	if (there.c_valid) {
		/* derived before an execve (the kernel keeps the key ring):
		 * ours if it is exactly the tree's key; else someone else's */
		bool same = there.c_len == g->c_len && there.c_rights == (CAP_R | CAP_W) &&
			    memcmp(there.c_name, g->c_name, g->c_len * sizeof(g->c_name[0])) == 0;
		return same ? TREE_KEY_SLOT : -1;
	}
	if (sys_cap_derive(mount_key, TREE_KEY_SLOT, CAP_R | CAP_W, g->c_name + k.c_len,
			   g->c_len - k.c_len) < 0)
		return -1; /* no key to give */
	return TREE_KEY_SLOT;
}

int fs_share_export(envid_t child, int32_t *key, uint32_t *shared)
{
	struct xn_root_info ri;
	*key = -1, *shared = 0;
	if (!have_tree(&ri))
		return 0; /* no disk, no tree: nothing to share */
	if (tree_slot < 0)
		tree_slot = tree_key(); /* asked again while there is none */
	int r = share_page();
	if (r < 0)
		return r;
	long k = 0;
	for (int i = 0; i < POSIX_FSSHARE_PAGES && k >= 0; i++) {
		uint64_t va = POSIX_FSSHARE_VA + i * PAGE_SIZE;
		k = sys_page_bind(child, va, vm_lookup(va) >> PAGE_SHIFT, BIND_READ | BIND_WRITE,
				  CAP_SELF);
	}
	if (k < 0)
		return -errno_from_exo(k);
	*shared = 1;
	if (tree_slot >= 0) {
		k = sys_cap_grant((uint64_t)tree_slot, child);
		if (k < 0)
			return -errno_from_exo(k);
		*key = (int32_t)k;
	}
	return 0;
}

void fs_share_keep(int32_t *key, uint32_t *shared)
{
	/* the kernel keeps our key ring across the exec: the new program
	 * uses the slot we mount with; the page is bound where it is */
	*key = mount_key != CAP_SELF ? (int32_t)mount_key : -1;
	*shared = share != NULL;
}

void fs_share_import(int32_t key, uint32_t shared)
{
	uint16_t none = 0;
	tree_slot = -1; /* our parent's, in the memory env_create did not copy */
	if (key > 0 && key < CAP_RING) {
		mount_key = (uint64_t)key;
		/* cap_grant put it in our first free slot, which lib/base may
		 * want (a fork child's PCT key): keep it in our own slot */
		if (key != TREE_KEY_SLOT &&
		    sys_cap_derive((uint64_t)key, TREE_KEY_SLOT, CAP_R | CAP_W, &none, 0) == 0) {
			sys_cap_drop((uint64_t)key);
			mount_key = TREE_KEY_SLOT;
		}
	}
	if (shared && sys_page_lookup(POSIX_FSSHARE_VA) >= 0 &&
	    sys_page_lookup(POSIX_FSHOLD_VA) >= 0 &&
	    vm_adopt_shared(POSIX_FSSHARE_VA, POSIX_FSSHARE_PAGES * PAGE_SIZE) == 0 &&
	    ((struct fs_share *)POSIX_FSSHARE_VA)->sh_magic == SHARE_MAGIC)
		share = (struct fs_share *)POSIX_FSSHARE_VA;
}

/* --- shared offsets (in a turn) ---------------------------------------------- */

int fs_share_offset_new(uint64_t pos)
{
	for (int i = 0; share && i < FS_SHARE_OFFSETS; i++)
		if (share->sh_pos[i].refs == 0) {
			share->sh_pos[i].refs = 1;
			share->sh_pos[i].pos = pos;
			return i;
		}
	return -1;
}

uint64_t *fs_share_offset(int slot)
{
	if (!share || slot < 0 || slot >= FS_SHARE_OFFSETS || share->sh_pos[slot].refs == 0)
		return NULL;
	return &share->sh_pos[slot].pos;
}

void fs_share_offset_hold(int slot)
{
	if (fs_share_offset(slot))
		share->sh_pos[slot].refs++;
}

void fs_share_offset_put(int slot)
{
	if (fs_share_offset(slot))
		share->sh_pos[slot].refs--;
}

/* --- inodes moved by renames (in a turn) ------------------------------------------ */

void fs_share_moved(uint64_t ino, uint32_t home, uint32_t ioff)
{
	if (!share)
		return;
	share->sh_move[share->sh_moves % FS_SHARE_MOVES] =
		(struct fs_share_move){ ino, home, ioff };
	share->sh_moves++;
}

int fs_share_moves_since(uint64_t *seen, const struct fs_share_move **out)
{
	uint64_t now = share ? share->sh_moves : 0;
	if (now - *seen > FS_SHARE_MOVES) {
		*seen = now;
		return -1; /* overrun: some are lost */
	}
	int n = 0;
	for (; *seen < now; (*seen)++)
		out[n++] = &share->sh_move[*seen % FS_SHARE_MOVES];
	return n;
}

uint64_t fs_share_moves_now(void)
{
	return share ? share->sh_moves : 0;
}

/* --- fork ----------------------------------------------------------------------- */

void fs_share_fork(envid_t child)
{
	/* lands in the child's first free slot; fs_share_after_fork moves it */
	if (tree_slot < 0)
		tree_slot = tree_key();
	if (tree_slot >= 0)
		sys_cap_grant((uint64_t)tree_slot, child);
}

void fs_share_after_fork(void)
{
	struct xn_root_info ri;
	if (!have_tree(&ri))
		return;
	tree_guard = ri.ri_guard;
	uint16_t none = 0;
	/* grants fill the first free slots: ours is before the first empty one */
	for (uint64_t s = 1; s < TREE_KEY_SLOT; s++) {
		struct cap c;
		if (sys_cap_read(0, s, &c) < 0 || !c.c_valid)
			break;
		if (c.c_len != tree_guard.c_len || c.c_rights != (CAP_R | CAP_W) ||
		    memcmp(c.c_name, tree_guard.c_name, c.c_len * sizeof(c.c_name[0])) != 0)
			continue;
		if (sys_cap_derive(s, TREE_KEY_SLOT, CAP_R | CAP_W, &none, 0) == 0) {
			sys_cap_drop(s);
			tree_slot = TREE_KEY_SLOT;
		}
		break;
	}
	/* our copy of the parent's instance uses TREE_KEY_SLOT: without the
	 * key there, its calls answer -EPERM */
}
