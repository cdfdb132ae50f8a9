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
 * only by xn_sync's passes, which decide the order (xn.c); a clean entry is
 * evicted when the table is full, after its page is unbound from every env
 * that bound it (a binding of a cached block is a cache, like the hardware
 * page tables: the env binds it again after the next lookup).
 *
 * Data blocks are not cached here: envs move them with disk_io into their
 * own pages (doc/disk.md says what is left to do).
 *
 * Locking: the big kernel lock.
 */
#include <inc/error.h>
#include <inc/kinfo.h>
#include <kern/arch/console.h>
#include <kern/mem/pmap.h>
#include <kern/mem/stlb.h>
#include <kern/disk/bcache.h>
#include <kern/disk/disk.h>
#include <common/string.h>

extern struct kern_info kinfo;

static struct bc_entry registry[BC_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static unsigned ndirty;
static unsigned evict_hand; /* where the next eviction looks first */

void bc_init(void)
{
	pmap_expose(UBCACHE, registry, sizeof(registry));
}

static struct bc_entry *find(uint64_t block)
{
	for (struct bc_entry *b = registry; b < registry + BC_ENTRIES; b++)
		if (b->be_state && b->be_block == block)
			return b;
	return NULL;
}

bool bc_lookup(uint64_t block, ppn_t *ppn)
{
	struct bc_entry *b = find(block);
	if (b)
		*ppn = b->be_ppn;
	return b != NULL;
}

/* Unbind b's page everywhere and make it an empty entry (its page kept). */
static void forget(struct bc_entry *b)
{
	stlb_unbind_page(b->be_ppn, NULL);
	if (b->be_state & BC_DIRTY)
		ndirty--;
	b->be_state = 0;
}

/* An entry to fill: an empty one, or a clean one evicted. */
static struct bc_entry *slot(int *err)
{
	for (int pass = 0; pass < 2; pass++) {
		for (struct bc_entry *b = registry; b < registry + BC_ENTRIES; b++)
			if (!b->be_state)
				return b;
		for (unsigned i = 0; i < BC_ENTRIES; i++) {
			struct bc_entry *b = &registry[(evict_hand + i) % BC_ENTRIES];
			if (b->be_state == BC_CLEAN) {
				evict_hand = (evict_hand + i + 1) % BC_ENTRIES;
				forget(b);
				return b;
			}
		}
		/* every entry dirty: write them back (in XN's order), then evict */
		if (pass == 0 && xn_sync() < 0)
			break;
	}
	*err = -E_NO_MEM;
	return NULL;
}

static struct bc_entry *fill(uint64_t block, uint16_t root, int *err)
{
	struct bc_entry *b = slot(err);
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
	b->be_block = block;
	b->be_root = root;
	return b;
}

void *bc_get(uint64_t block, uint16_t root, int *err)
{
	struct bc_entry *b = find(block);
	if (b)
		return page_kva(b->be_ppn);
	if (!(b = fill(block, root, err)))
		return NULL;
	b->be_state = BC_IN_FLIGHT;
	int r = disk_kernel_io_sync(DISK_OP_READ, block, b->be_ppn);
	if (r < 0) {
		b->be_state = 0;
		*err = r;
		return NULL;
	}
	b->be_state = BC_CLEAN;
	return page_kva(b->be_ppn);
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
		b->be_state = BC_DIRTY;
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

static int pass_status;

static void written(uint64_t arg, int status)
{
	struct bc_entry *b = &registry[arg];
	if (status < 0) {
		pass_status = status;
		b->be_state = BC_DIRTY; /* still to write */
		ndirty++;
		return;
	}
	b->be_state = BC_CLEAN;
}

long bc_write_pass(bool (*ready)(uint64_t block, const void *page))
{
	long n = 0;
	pass_status = 0;
	for (struct bc_entry *b = registry; b < registry + BC_ENTRIES; b++) {
		if (b->be_state != BC_DIRTY || !ready(b->be_block, page_kva(b->be_ppn)))
			continue;
		int r;
		while ((r = disk_kernel_io(DISK_OP_WRITE, b->be_block, b->be_ppn, written,
					   (uint64_t)(b - registry))) == -E_FULL)
			disk_kernel_drain(); /* the table is full: let some finish */
		b->be_state = BC_IN_FLIGHT;
		ndirty--;
		n++;
	}
	disk_kernel_drain();
	return pass_status < 0 ? pass_status : n;
}
