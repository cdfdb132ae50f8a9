/*
 * The library OS page table and page-fault handling (lib/base/vm.h).
 *
 * The page table is two levels: a directory in the program's data, hashing
 * each 2 MiB chunk of the address space to a leaf page of 512 entries
 * (ppn << 12 | VPT_* flags). Leaves are pages bound at VPT_BASE, handed out
 * in order; they are not themselves entries (fork copies them instead of
 * sharing them).
 *
 * Regions say what a missing page should become: a demand-zero page with
 * the region's protection. The heap, the stack's growth area and vm_alloc's
 * allocations are regions.
 */
#include <lib/base/libos.h>
#include <lib/base/vm.h>

struct vm_stats vm_stats;

#define DIR_SIZE 1024 /* chunks of 2 MiB: a power of two, at most 3/4 full */
#define LEAF_SHIFT 21

static struct {
	uint64_t key; /* (va >> LEAF_SHIFT) + 1; 0: empty */
	uint64_t *leaf;
} dir[DIR_SIZE];
static uint64_t nleaves;

#define MAX_REGIONS 32
static struct region {
	uint64_t lo, hi;
	unsigned prot;
	bool shared;
} regions[MAX_REGIONS];
static int nregions;
static uint64_t mmap_next = MMAP_BASE;

static uint64_t flags_of_prot(unsigned prot)
{
	return ((prot & PROT_WRITE) ? VPT_W : 0) | ((prot & PROT_EXEC) ? VPT_X : 0);
}

static unsigned dir_hash(uint64_t key)
{
	return (unsigned)((key * 0x9e3779b97f4a7c15UL) >> 54) & (DIR_SIZE - 1);
}

/* The page-table slot for va, making its leaf if create; NULL if none. */
static uint64_t *slot_for(uint64_t va, bool create)
{
	uint64_t key = (va >> LEAF_SHIFT) + 1;
	unsigned h = dir_hash(key);
	while (dir[h].key) {
		if (dir[h].key == key)
			return &dir[h].leaf[(va >> PAGE_SHIFT) & 511];
		h = (h + 1) & (DIR_SIZE - 1);
	}
	if (!create || nleaves >= DIR_SIZE * 3 / 4)
		return NULL;
	uint64_t lva = VPT_BASE + nleaves * PAGE_SIZE;
	if (vm_page_new(lva, BIND_READ | BIND_WRITE) < 0)
		return NULL;
	nleaves++;
	dir[h].key = key;
	dir[h].leaf = (uint64_t *)lva;
	return &dir[h].leaf[(va >> PAGE_SHIFT) & 511];
}

uint64_t vm_lookup(uint64_t va)
{
	uint64_t *s = slot_for(va, false);
	return s ? *s : 0;
}

void vm_for_each_entry(void (*fn)(uint64_t va, uint64_t *slot, void *arg), void *arg)
{
	for (unsigned h = 0; h < DIR_SIZE; h++) {
		if (!dir[h].key)
			continue;
		uint64_t base = (dir[h].key - 1) << LEAF_SHIFT;
		for (unsigned i = 0; i < 512; i++)
			if (dir[h].leaf[i] & VPT_P)
				fn(base + ((uint64_t)i << PAGE_SHIFT), &dir[h].leaf[i], arg);
	}
}

void vm_for_each_leaf(void (*fn)(uint64_t leaf_va, uint64_t base, void *arg), void *arg)
{
	for (unsigned h = 0; h < DIR_SIZE; h++)
		if (dir[h].key)
			fn((uint64_t)dir[h].leaf, (dir[h].key - 1) << LEAF_SHIFT, arg);
}

long vm_page_new(uint64_t va, unsigned rights)
{
	long ppn = sys_page_alloc(PPN_ANY, CAP_SELF);
	if (ppn < 0)
		return ppn;
	long r = sys_page_bind(0, va, (uint64_t)ppn, rights, CAP_SELF);
	if (r < 0) {
		sys_page_free((uint64_t)ppn, CAP_SELF);
		return r;
	}
	return ppn;
}

long vm_page_alloc(uint64_t va, unsigned prot)
{
	uint64_t *s = slot_for(va, true);
	if (!s)
		return -E_NO_MEM;
	uint64_t flags = flags_of_prot(prot) | VPT_P;
	long ppn = vm_page_new(va, vm_rights_of(flags));
	if (ppn >= 0)
		*s = ((uint64_t)ppn << PAGE_SHIFT) | flags;
	return ppn;
}

int vm_upcall_route(uint64_t kind, void (*entry)(void), uint64_t top, unsigned npages)
{
	if (vm_bind_stack(top, npages) < 0)
		return -E_NO_MEM;
	return (int)sys_env_set_upcall(kind, (uint64_t)entry, top - (uint64_t)npages * PAGE_SIZE,
				       top);
}

int vm_bind_stack(uint64_t top, unsigned npages)
{
	for (uint64_t va = top - (uint64_t)npages * PAGE_SIZE; va < top; va += PAGE_SIZE)
		if (!(vm_lookup(va) & VPT_P) && vm_page_alloc(va, PROT_READ | PROT_WRITE) < 0)
			return -E_NO_MEM;
	return 0;
}

int vm_map_zero(uint64_t va, uint64_t len, unsigned prot)
{
	if (nregions == MAX_REGIONS || va % PAGE_SIZE || len == 0 || va + len > UTOP ||
	    va + len < va)
		return -E_INVAL;
	regions[nregions++] = (struct region){ va, va + len, prot, false };
	return 0;
}

static void *alloc_region(uint64_t len, bool shared)
{
	len = ROUNDUP(len, PAGE_SIZE);
	if (len == 0 || len > MMAP_BASE + MMAP_MAX - mmap_next)
		return NULL;
	uint64_t va = mmap_next;
	if (vm_map_zero(va, len, PROT_READ | PROT_WRITE) < 0)
		return NULL;
	regions[nregions - 1].shared = shared;
	mmap_next += len + PAGE_SIZE; /* a guard page between allocations */
	return (void *)va;
}

void *vm_alloc(uint64_t len)
{
	return alloc_region(len, false);
}

void *vm_alloc_shared(uint64_t len)
{
	/* Bound now: a page first touched after a fork would be each side's
	 * own, not shared. */
	char *p = alloc_region(len, true);
	for (uint64_t off = 0; p && off < len; off += PAGE_SIZE) {
		if (vm_page_alloc((uint64_t)p + off, PROT_READ | PROT_WRITE) < 0)
			return NULL;
		*slot_for((uint64_t)p + off, false) |= VPT_SHARED;
	}
	return p;
}

/* The kernel's half of vm_protect: n pages from va get rights. */
static int protect_run(uint64_t va, uint64_t n, unsigned rights)
{
	long r = n ? sys_page_protect(0, va, n, rights, CAP_SELF) : 0;
	return r < 0 ? (int)r : 0;
}

int vm_protect(uint64_t va, uint64_t len, unsigned prot)
{
	/* Our page table first; the kernel gets each run of contiguous pages
	 * that end up with the same rights in one call (copy-on-write pages
	 * stay read-only, so a run can break there). */
	uint64_t run_va = 0, run_n = 0;
	unsigned run_rights = 0;
	int r = 0;
	for (uint64_t p = ROUNDDOWN(va, PAGE_SIZE); p < va + len && r == 0; p += PAGE_SIZE) {
		uint64_t *s = slot_for(p, false);
		if (!s || !(*s & VPT_P))
			continue;
		uint64_t f = *s & ~(uint64_t)(VPT_RO | VPT_X);
		if (!(prot & PROT_WRITE))
			f |= VPT_RO;
		if (prot & PROT_EXEC)
			f |= VPT_X;
		*s = f;
		unsigned rights = vm_rights_of(f);
		if (rights != run_rights || p != run_va + run_n * PAGE_SIZE ||
		    run_n == PROTECT_MAX_PAGES) {
			r = protect_run(run_va, run_n, run_rights);
			run_va = p;
			run_n = 0;
			run_rights = rights;
		}
		run_n++;
	}
	return r ? r : protect_run(run_va, run_n, run_rights);
}

int vm_unmap(uint64_t va, uint64_t len)
{
	for (uint64_t p = ROUNDDOWN(va, PAGE_SIZE); p < va + len; p += PAGE_SIZE) {
		uint64_t *s = slot_for(p, false);
		if (!s || !(*s & VPT_P))
			continue;
		uint64_t ppn = *s >> PAGE_SHIFT;
		*s = 0;
		sys_page_unbind(0, p, CAP_SELF);
		if (upages[ppn].pg_owner == thisenv_id)
			sys_page_free(ppn, CAP_SELF);
	}
	return 0;
}

/* A write to a copy-on-write page: copy it, unless nobody else has it. */
static bool cow(uint64_t va, uint64_t *s)
{
	uint64_t old = *s >> PAGE_SHIFT;
	uint64_t flags = (*s & VPT_FLAGS) & ~(uint64_t)VPT_COW;
	if (upages[old].pg_refs == 1 && upages[old].pg_owner == thisenv_id) {
		if (sys_page_bind(0, va, old, vm_rights_of(flags), CAP_SELF) < 0)
			return false;
		*s = (old << PAGE_SHIFT) | flags;
		vm_stats.cow_reuses++;
		return true;
	}
	long ppn = vm_page_new(LIBOS_TMP, BIND_READ | BIND_WRITE);
	if (ppn < 0)
		return false;
	memcpy((void *)LIBOS_TMP, (void *)va, PAGE_SIZE);
	struct bind_req two[2] = {
		{ va, (uint64_t)ppn, vm_rights_of(flags) },
		{ LIBOS_TMP, PPN_NONE_REQ, 0 },
	};
	if (sys_page_bind_batch(0, two, 2, CAP_SELF) < 0)
		return false;
	*s = ((uint64_t)ppn << PAGE_SHIFT) | flags;
	/* Ours but now only the other side's: let it pass to them. */
	if (upages[old].pg_owner == thisenv_id)
		sys_page_free(old, CAP_SELF);
	vm_stats.cow_copies++;
	return true;
}

static const struct region *region_of(uint64_t va)
{
	for (int i = 0; i < nregions; i++)
		if (va >= regions[i].lo && va < regions[i].hi)
			return &regions[i];
	return NULL;
}

bool vm_fault(struct upcall_frame *uf)
{
	uint64_t va = ROUNDDOWN(uf->uf_va, PAGE_SIZE);
	if (va >= UTOP)
		return false;
	uint64_t *s = slot_for(va, false);
	if (s && (*s & VPT_P)) {
		if (!(uf->uf_err & PF_PRESENT)) {
			*s = 0; /* taken from us: the kernel no longer binds it */
		} else if ((uf->uf_err & PF_WRITE) && (*s & VPT_COW) && !(*s & VPT_RO)) {
			return cow(va, s);
		} else {
			return false; /* a protection fault: the program's business */
		}
	}
	const struct region *r = region_of(va);
	if (!r)
		return false;
	if (vm_page_alloc(va, r->prot) < 0)
		return false;
	if (r->shared)
		*slot_for(va, false) |= VPT_SHARED;
	vm_stats.demand_zero++;
	return true;
}

struct release_ctx {
	uint64_t want, done;
};

static bool all_zero(const uint64_t *p)
{
	for (int i = 0; i < 512; i++)
		if (p[i])
			return false;
	return true;
}

static void release_one(uint64_t va, uint64_t *s, void *arg)
{
	struct release_ctx *c = arg;
	if (c->done >= c->want || !region_of(va) || (*s & (VPT_COW | VPT_SHARED)) ||
	    !all_zero((const uint64_t *)va))
		return;
	/* a demand-zero page still all zero: it comes back if touched again */
	uint64_t ppn = *s >> PAGE_SHIFT;
	*s = 0;
	sys_page_unbind(0, va, CAP_SELF);
	sys_page_free(ppn, CAP_SELF);
	c->done++;
}

uint64_t vm_release(uint64_t n)
{
	struct release_ctx c = { n, 0 };
	vm_for_each_entry(release_one, &c);
	vm_stats.released += c.done;
	return c.done;
}

void vm_repossessed(void)
{
	volatile struct rvec *rv = (volatile struct rvec *)LIBOS_RVEC;
	uint64_t n = MIN(rv->rv_count, (uint64_t)RVEC_MAX);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t *s = slot_for(rv->rv_entries[i].re_va, false);
		if (s && (*s >> PAGE_SHIFT) == rv->rv_entries[i].re_ppn) {
			*s = 0; /* demand-zero regions refill it when touched */
			vm_stats.repossessed++;
		}
	}
	rv->rv_count = 0;
}

extern char _end[];

/* Record what the kernel's loader bound for us. */
static void adopt(uint64_t lo, uint64_t hi)
{
	for (uint64_t va = lo; va < hi; va += PAGE_SIZE) {
		long b = sys_page_lookup(va);
		uint64_t *s;
		if (b < 0 || !(s = slot_for(va, true)))
			continue;
		uint64_t flags = VPT_P | ((b & BIND_WRITE) ? VPT_W : 0) |
				 ((b & BIND_EXEC) ? VPT_X : 0);
		*s = ((uint64_t)b & ~(uint64_t)0xfff) | flags;
	}
}

int vm_adopt_shared(uint64_t va, uint64_t len)
{
	if (va % PAGE_SIZE || va + len > UTOP || va + len < va)
		return -E_INVAL;
	adopt(va, va + len);
	for (uint64_t p = va; p < va + len; p += PAGE_SIZE) {
		uint64_t *s = slot_for(p, false);
		if (!s || !(*s & VPT_P))
			return -E_NOT_FOUND;
		*s |= VPT_SHARED;
	}
	return 0;
}

void vm_init(void)
{
	adopt(UTEXT, ROUNDUP((uint64_t)_end, PAGE_SIZE));
	adopt(USTACKTOP - USTACK_PAGES * PAGE_SIZE, USTACKTOP);
	vm_map_zero(USTACKTOP - STACK_GROW, STACK_GROW - USTACK_PAGES * PAGE_SIZE,
		    PROT_READ | PROT_WRITE);
	vm_map_zero(LIBOS_HEAP_BASE, LIBOS_HEAP_MAX, PROT_READ | PROT_WRITE);
	if (vm_page_alloc(LIBOS_RVEC, PROT_READ | PROT_WRITE) >= 0)
		sys_env_set_rvec(LIBOS_RVEC, RVEC_MAX);
	/* the page table's first leaves must survive the abort protocol */
	sys_env_set_pinned(VPT_BASE, ENV_PINNED_MAX);
}
