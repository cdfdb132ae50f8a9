/*
 * The buffer-cache registry: a kernel table of cached disk blocks, each
 * (block -> physical page, state), mapped read-only at UBCACHE in every
 * address space as the page table of owners is at UPAGES. A library OS
 * looks a block up there without a system call; sys_disk_bind binds the
 * cached page into its address space, read-only, if its key reaches the
 * block, so envs that read the same metadata share one copy.
 *
 * What it caches: XN's metadata blocks, the blocks UDFs read and updates
 * change. The kernel holds the only writable copy (metadata changes only
 * through sys_xn_update), so the pages are the kernel's (PAGE_KERNEL,
 * counted as pool pages: taken once, reused). A dirty entry is written back
 * only by xn_sync.c's passes, which decide the order (xn.c); a clean entry
 * is evicted when the table is full, after its page is unbound from every
 * env that bound it (a binding of a cached block is a cache, like the
 * hardware page tables: the env binds it again after the next lookup).
 * When every entry is dirty, the tree that needs the room has its own
 * blocks written back (xn_make_room); if none of them is its, the call
 * gets -E_FULL: another tree's uncommitted blocks are never written for it.
 *
 * A miss in a system call does not spin: the read is started into the
 * entry (BC_IN_FLIGHT alone: not valid yet, never evicted), and the call
 * sleeps and is issued again once it completes (kwait.c), finding the
 * block cached; a failed read is reported to the next call that asks for
 * the block. Mount and format read with the CPU spinning (bc_spin). A call
 * names the blocks it will need after its first change (bc_hold): those
 * are not evicted, so it never has to wait once it has changed anything.
 *
 * Data blocks are cached here too, in pages of the envs that brought them
 * in (sys_disk_cache): an env reads a block into its own page and
 * registers it; others with a key reaching the block bind that page
 * (disk_bind: writable only with CAP_W), so two envs with one file open
 * share one copy. The page stays its owner's: counted against its limit,
 * asked back by visible revocation like any other, and when it leaves
 * the owner (freed, revoked, repossessed, the owner dead: pmap calls
 * page_uncache, PG_CACHED) or the block is freed, the entry goes and
 * every binding of the page with it. Data entries are never evicted by
 * the kernel; they may hold at most BC_DATA_MAX entries (BC_DATA_PER_ENV
 * of one env's pages), so metadata always finds room, and each is charged
 * to the owner's family (QUOTA_DCACHE), so a family of many envs cannot
 * fill them all and keep every other env from caching.
 *
 * Locking: the big kernel lock.
 */
#include <inc/error.h>
#include <inc/kinfo.h>
#include <kern/arch/console.h>
#include <kern/env/env.h>
#include <kern/mem/account.h>
#include <kern/mem/pmap.h>
#include <kern/mem/stlb.h>
#include <kern/disk/bcache.h>
#include <kern/disk/disk.h>
#include <common/string.h>

extern struct kern_info kinfo;

static struct bc_entry registry[BC_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static unsigned ndirty;
static unsigned evict_hand; /* where the next eviction looks first */
static unsigned ndata;      /* data entries */
static uint8_t data_of_env[NENV];
/* The family account each data entry is charged to (QUOTA_DCACHE): kept,
 * since the owner may be gone when the entry goes; an account lives while
 * it is charged. */
static struct account *data_acct[BC_ENTRIES];

static void page_uncached(ppn_t ppn);

bool bc_spin;        /* mount and format: read by spinning */
static uint64_t held[2] = { UINT64_MAX, UINT64_MAX }; /* not to evict (bc_hold) */
static uint64_t reading[BC_ENTRIES]; /* the block an entry's read is for */
static uint64_t failed_block = UINT64_MAX; /* its read failed: tell the next asker */
static int failed_err;

void bc_hold(uint64_t a, uint64_t b)
{
	held[0] = a;
	held[1] = b;
}

static bool evictable(const struct bc_entry *b)
{
	return b->be_state == BC_CLEAN && b->be_block != held[0] && b->be_block != held[1];
}

void bc_init(void)
{
	pmap_expose(UBCACHE, registry, sizeof(registry));
	page_uncache = page_uncached;
}

/* Entries by block: a chain per bucket of the entries whose be_block
 * hashes there, whatever their state (find skips empty ones), so only the
 * three places that set be_block keep it (set_block). Index + 1; 0 ends. */
#define BUCKETS 1024
static uint16_t bucket_head[BUCKETS];
static uint16_t chain_next[BC_ENTRIES];
static bool chained[BC_ENTRIES];

static unsigned bucket_of(uint64_t block)
{
	return (unsigned)((block * 0x9e3779b97f4a7c15ull) >> 54) % BUCKETS;
}

static void set_block(struct bc_entry *b, uint64_t block)
{
	unsigned i = (unsigned)(b - registry);
	if (chained[i]) {
		uint16_t *link = &bucket_head[bucket_of(b->be_block)];
		while (*link != i + 1)
			link = &chain_next[*link - 1];
		*link = chain_next[i];
	}
	b->be_block = block;
	unsigned h = bucket_of(block);
	chain_next[i] = bucket_head[h];
	bucket_head[h] = (uint16_t)(i + 1);
	chained[i] = true;
}

static struct bc_entry *find(uint64_t block)
{
	for (unsigned i = bucket_head[bucket_of(block)]; i; i = chain_next[i - 1]) {
		struct bc_entry *b = &registry[i - 1];
		if (b->be_state && b->be_block == block)
			return b;
	}
	return NULL;
}

bool bc_lookup(uint64_t block, ppn_t *ppn)
{
	struct bc_entry *b = find(block);
	if (b)
		*ppn = b->be_ppn;
	return b != NULL;
}

/* Make b an empty entry, its page unbound from every env but its owner (a
 * metadata entry keeps its kernel page for the next block; a data entry's
 * page stays its owner's, bound where the owner had it). */
static void forget(struct bc_entry *b)
{
	if (b->be_state & BC_DATA) {
		envid_t owner = pages[b->be_ppn].pg_owner;
		struct env *oe = owner > 0 ? env_lookup(owner) : NULL;
		struct vmspace *keep = oe ? oe->env_vm : NULL, *vs;
		while ((vs = stlb_other_binder(b->be_ppn, keep)))
			stlb_unbind_page(b->be_ppn, vs);
		pages[b->be_ppn].pg_flags &= (uint8_t)~PG_CACHED;
		if (owner > 0 && data_of_env[ENVX(owner)])
			data_of_env[ENVX(owner)]--;
		ndata--;
		if (data_acct[b - registry]) {
			acct_release(data_acct[b - registry], QUOTA_DCACHE, 1);
			data_acct[b - registry] = NULL;
		}
		b->be_ppn = 0; /* not a kernel page to reuse */
		b->be_state = 0;
		return;
	}
	stlb_unbind_page(b->be_ppn, NULL);
	if (b->be_state & BC_DIRTY)
		ndirty--;
	if (b->be_state & BC_IN_FLIGHT) {
		/* the device still writes or reads its page: the entry stays
		 * taken, for no block, until the request ends */
		b->be_state = BC_IN_FLIGHT;
		set_block(b, UINT64_MAX);
		return;
	}
	b->be_state = 0;
}

/* An entry to fill for a block of tree root: an empty one, or a clean one
 * evicted. Every entry dirty: tree root's own are written back and the
 * call waits for them (it has changed nothing yet), or -E_FULL. */
static struct bc_entry *slot(uint16_t root, int *err)
{
	for (int tries = 0; tries < 2; tries++) {
		/* an empty entry, one with a kernel page first */
		struct bc_entry *empty = NULL;
		for (struct bc_entry *b = registry; b < registry + BC_ENTRIES; b++)
			if (!b->be_state && (!empty || b->be_ppn))
				empty = b;
		if (empty)
			return empty;
		for (unsigned i = 0; i < BC_ENTRIES; i++) {
			struct bc_entry *b = &registry[(evict_hand + i) % BC_ENTRIES];
			if (evictable(b)) {
				evict_hand = (evict_hand + i + 1) % BC_ENTRIES;
				forget(b);
				return b;
			}
		}
		long r = bc_spin ? -E_NO_MEM : xn_make_room(root);
		if (r == XN_JOB_WAITING)
			disk_sleep_restart();
		if (r < 0) {
			*err = (int)r;
			return NULL;
		}
	}
	*err = -E_FULL;
	return NULL;
}

static struct bc_entry *fill(uint64_t block, uint16_t root, int *err)
{
	struct bc_entry *b = slot(root, err);
	if (!b)
		return NULL;
	if (!b->be_ppn) {
		long ppn = page_take(NULL, PAGE_KERNEL, PPN_ANY);
		if (ppn < 0) {
			*err = -E_NO_MEM;
			return NULL;
		}
		b->be_ppn = (uint32_t)ppn;
		kinfo.ki_pool_pages++;
	}
	set_block(b, block);
	b->be_root = root;
	return b;
}

static void read_done(uint64_t idx, int status)
{
	struct bc_entry *b = &registry[idx];
	if (b->be_state == BC_IN_FLIGHT && b->be_block == reading[idx] && status == 0) {
		b->be_state = BC_CLEAN;
	} else {
		if (b->be_block == reading[idx] && status < 0) {
			failed_block = reading[idx];
			failed_err = status;
		}
		b->be_state = 0; /* failed, or forgotten while it was read */
	}
	disk_wake_restart();
}

void *bc_get(uint64_t block, uint16_t root, int *err)
{
	struct bc_entry *b = find(block);
	if (b && root)
		b->be_root = root; /* read by mount's walk, before its tree was known */
	if (b && b->be_state == BC_IN_FLIGHT) {
		if (bc_spin)
			disk_kernel_drain();
		else
			disk_sleep_restart(); /* being read for another call */
	}
	if (b)
		return page_kva(b->be_ppn);
	if (failed_block == block) {
		failed_block = UINT64_MAX;
		*err = failed_err;
		return NULL;
	}
	if (!(b = fill(block, root, err)))
		return NULL;
	b->be_state = BC_IN_FLIGHT;
	if (bc_spin) {
		int r = disk_kernel_io_sync(DISK_OP_READ, block, b->be_ppn);
		b->be_state = r < 0 ? 0 : BC_CLEAN;
		*err = r;
		return r < 0 ? NULL : page_kva(b->be_ppn);
	}
	reading[b - registry] = block;
	if (disk_kernel_io(DISK_OP_READ, block, b->be_ppn, read_done, (uint64_t)(b - registry)) <
	    0) {
		b->be_state = 0;
		disk_wake_at_completion(); /* the request table is full: look again then */
	}
	disk_sleep_restart();
}

void *bc_new(uint64_t block, uint16_t root, int *err)
{
	struct bc_entry *b = find(block);
	if (b)
		forget(b);
	if (!(b = fill(block, root, err)))
		return NULL;
	memset(page_kva(b->be_ppn), 0, PAGE_SIZE);
	b->be_state = BC_DIRTY;
	ndirty++;
	return page_kva(b->be_ppn);
}

void bc_mark_dirty(uint64_t block)
{
	struct bc_entry *b = find(block);
	if (b && !(b->be_state & BC_DIRTY)) {
		/* changed while being written: dirty again once the write ends */
		b->be_state = (uint16_t)((b->be_state & BC_IN_FLIGHT) | BC_DIRTY);
		ndirty++;
	}
}

void bc_drop(uint64_t block)
{
	struct bc_entry *b = find(block);
	if (b)
		forget(b);
}

void bc_reset(void)
{
	for (struct bc_entry *b = registry; b < registry + BC_ENTRIES; b++)
		if (b->be_state)
			forget(b);
}

unsigned bc_dirty_count(void)
{
	return ndirty;
}

unsigned bc_dirty_count_if(bool (*in)(uint64_t block))
{
	unsigned n = 0;
	for (struct bc_entry *b = registry; b < registry + BC_ENTRIES; b++)
		n += b->be_state == BC_DIRTY && in(b->be_block);
	return n;
}

static bc_written_fn *written_to;
static uint64_t writing[BC_ENTRIES]; /* the block an entry's write is of */

static void written(uint64_t arg, int status)
{
	struct bc_entry *b = &registry[arg];
	uint64_t block = writing[arg];
	bool clean = false;
	if (b->be_block != block) {
		b->be_state = 0; /* forgotten while it was written */
	} else if (status < 0 || (b->be_state & BC_DIRTY)) {
		if (!(b->be_state & BC_DIRTY))
			ndirty++;
		b->be_state = BC_DIRTY; /* still to write */
	} else {
		b->be_state = BC_CLEAN;
		clean = true;
	}
	written_to(block, status, clean);
}

long bc_write_pass(bool (*ready)(uint64_t block, const void *page), bc_written_fn *done, bool *full)
{
	long n = 0;
	written_to = done;
	for (struct bc_entry *b = registry; b < registry + BC_ENTRIES; b++) {
		if (b->be_state != BC_DIRTY || !ready(b->be_block, page_kva(b->be_ppn)))
			continue;
		if (disk_kernel_io(DISK_OP_WRITE, b->be_block, b->be_ppn, written,
				   (uint64_t)(b - registry)) < 0) {
			*full = true;
			break; /* the table is full: the rest at the next pass */
		}
		writing[b - registry] = b->be_block;
		b->be_state = BC_IN_FLIGHT | BC_CLEAN;
		ndirty--;
		n++;
	}
	return n;
}

/* --- data blocks --------------------------------------------------------------- */

long bc_data_insert(uint64_t block, uint16_t root, ppn_t ppn, uint16_t state)
{
	envid_t owner = pages[ppn].pg_owner;
	if (find(block))
		return -E_BUSY;
	if (ndata >= BC_DATA_MAX || owner <= 0 || data_of_env[ENVX(owner)] >= BC_DATA_PER_ENV)
		return -E_FULL;
	struct env *oe = env_lookup(owner);
	if (!oe)
		return -E_FULL;
	struct account *acct = oe->env_vm->vs_acct;
	struct bc_entry *b = NULL;
	for (struct bc_entry *e = registry; e < registry + BC_ENTRIES; e++)
		if (!e->be_state && (!b || !e->be_ppn))
			b = e; /* prefer one without a kernel page: metadata reuses those */
	if (!b)
		return -E_FULL;
	/* the owner's family pays for the entry: a family of many envs cannot
	 * take every one (its default share is 3/4 of its creator's) */
	if (!acct_charge(acct, QUOTA_DCACHE, 1))
		return -E_QUOTA;
	data_acct[b - registry] = acct;
	if (b->be_ppn) {
		/* give its kernel page back to the pool: the entry holds an env's page now */
		page_give_back(b->be_ppn);
		kinfo.ki_pool_pages--;
	}
	set_block(b, block);
	b->be_root = root;
	b->be_ppn = (uint32_t)ppn;
	b->be_state = (uint16_t)(BC_DATA | state);
	pages[ppn].pg_flags |= PG_CACHED;
	data_of_env[ENVX(owner)]++;
	ndata++;
	return b - registry;
}

unsigned bc_index(const struct bc_entry *b)
{
	return (unsigned)(b - registry);
}

struct bc_entry *bc_data_find(uint64_t block)
{
	struct bc_entry *b = find(block);
	return b && (b->be_state & BC_DATA) ? b : NULL;
}

void bc_data_set(struct bc_entry *b, uint16_t state)
{
	b->be_state = (uint16_t)(BC_DATA | state);
}

void bc_data_drop(struct bc_entry *b)
{
	forget(b);
}

void bc_data_done(unsigned idx, uint64_t block, ppn_t ppn, int op, int status)
{
	struct bc_entry *b = &registry[idx % BC_ENTRIES];
	if (!(b->be_state & BC_DATA) || !(b->be_state & BC_IN_FLIGHT) || b->be_block != block ||
	    b->be_ppn != ppn)
		return; /* dropped meanwhile */
	if (op == DISK_OP_READ) {
		if (status < 0)
			forget(b); /* nothing valid to share */
		else
			bc_data_set(b, BC_CLEAN);
		return;
	}
	/* a write: dirty again if it was changed meanwhile, or if it failed */
	bool dirty = (b->be_state & BC_DIRTY) || status < 0;
	bc_data_set(b, dirty ? BC_DIRTY : BC_CLEAN);
}

static void page_uncached(ppn_t ppn)
{
	for (struct bc_entry *b = registry; b < registry + BC_ENTRIES; b++)
		if ((b->be_state & BC_DATA) && b->be_ppn == ppn) {
			forget(b);
			return;
		}
	pages[ppn].pg_flags &= (uint8_t)~PG_CACHED;
}
