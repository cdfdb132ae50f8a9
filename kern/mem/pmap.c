/*
 * Physical memory: the kernel's own page tables, and the page table of
 * owners that is Exo's record of who holds every physical page.
 *
 * pages[ppn] (struct page_info, inc/page.h) says who owns page ppn, what it
 * is used for and how many bindings point at it. The same array is mapped
 * read-only at UPAGES in every address space (pmap_expose), so a
 * library OS can pick a specific free page and ask for it by name.
 *
 * Private to the kernel are two link arrays threading every page onto exactly
 * one list: the free list, or its owner's list (so destroying an env visits
 * only its own pages). Kernel pages are on no list. Two more per-page arrays
 * belong to other mechanisms: page_binds (the STLB's reverse map) and
 * page_guards (each user page's guard, cap.c).
 *
 * A page outlives its owner while other envs bind it (a copy-on-write child
 * sharing its parent's pages): page_release hands it to one of them.
 *
 * Kernel address space: the direct map of all physical memory at PHYSMAP (1 GiB
 * pages where the CPU has them), and the kernel image at KERNBASE with 4 KiB
 * pages so text is never writable and data never executable. Its upper-half
 * PML4 entries are copied into every env's PML4; the lower-level tables are
 * shared and never change after boot.
 *
 * Locking: the page table, the lists and pages_free are protected by the big
 * kernel lock (kern/arch/lock.h). Library OSes read pages[] without it: they may
 * see a stale entry, and the system call that acts on it checks again.
 */
#include <inc/env.h>
#include <inc/error.h>
#include <inc/kinfo.h>
#include <kern/arch/bootinfo.h>
#include <kern/arch/console.h>
#include <kern/mem/account.h>
#include <kern/mem/pmap.h>
#include <kern/mem/vmspace.h>
#include <kern/mem/stlb.h>
#include <kern/arch/x86.h>
#include <common/string.h>

struct page_info *pages;
uint64_t pages_total;
uint64_t pages_free;
pte_t *kern_pml4;
physaddr_t kern_cr3;
uint64_t pte_nx;
pte_t exposed_pml4e;
uint32_t *page_binds;
uint32_t *page_guards;
void (*page_guard_release)(uint32_t guard);
void (*page_uncache)(ppn_t ppn);

static uint32_t *link_next, *link_prev;
static uint16_t *pin_count; /* per page: device transfers in flight (page_pin) */
static uint32_t free_head = PPN_NONE, free_tail = PPN_NONE;

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __kernel_end[];
extern struct kern_info kinfo;

/*
 * Early allocation, before pages[] exists: a bump pointer over the usable
 * range that holds the kernel image. Pages taken here become PAGE_KERNEL.
 */
static physaddr_t early_next, early_limit;
static bool early_direct;  /* false: reach pages via the boot identity map */

/* The boot module's pages, [lo, hi): neither early_alloc's nor free. */
static physaddr_t module_lo, module_hi;

static void *early_alloc(uint64_t bytes)
{
	bytes = ROUNDUP(bytes, PAGE_SIZE);
	/* GRUB may put the module right after the kernel: step over it */
	if (early_next < module_hi && early_next + bytes > module_lo)
		early_next = MAX(early_next, module_hi);
	if (early_next + bytes > early_limit)
		panic("pmap_init: not enough memory after the kernel image");
	physaddr_t pa = early_next;
	early_next += bytes;
	void *p = early_direct ? KADDR(pa) : (void *)pa;
	memset(p, 0, bytes);
	return p;
}

static physaddr_t early_pa(const void *p)
{
	return early_direct ? PADDR(p) : (physaddr_t)p;
}

static void setup_early_alloc(void)
{
	if (boot_info.mod_len) {
		module_lo = ROUNDDOWN(boot_info.mod_pa, PAGE_SIZE);
		module_hi = ROUNDUP(boot_info.mod_pa + boot_info.mod_len, PAGE_SIZE);
	}
	physaddr_t start = ROUNDUP(PADDR(__kernel_end), PAGE_SIZE);
	for (uint32_t i = 0; i < boot_info.nranges; i++) {
		const struct mem_range *r = &boot_info.ranges[i];
		if (r->usable && r->base <= start && start < r->base + r->len) {
			early_next = start;
			early_limit = ROUNDDOWN(r->base + r->len, PAGE_SIZE);
			/* the boot identity map reaches only the first GiB */
			early_limit = MIN(early_limit, 1UL << 30);
			return;
		}
	}
	panic("pmap_init: the kernel image is not in usable RAM");
}

/* Leaf entry for va in a table hierarchy built with early_alloc. */
static pte_t *early_walk(pte_t *pml4, uint64_t va, int leaf_level)
{
	pte_t *table = pml4;
	for (int lvl = 3; lvl > leaf_level; lvl--) {
		pte_t *e = &table[PT_INDEX(va, lvl)];
		if (!(*e & PTE_P)) {
			pte_t *next = early_alloc(PAGE_SIZE);
			*e = early_pa(next) | PTE_P | PTE_W;
		}
		physaddr_t pa = PTE_ADDR(*e);
		table = early_direct ? KADDR(pa) : (pte_t *)pa;
	}
	return &table[PT_INDEX(va, leaf_level)];
}

static void map_kernel_range(pte_t *pml4, const char *start, const char *end, pte_t perm)
{
	for (uint64_t va = (uint64_t)start; va < (uint64_t)end; va += PAGE_SIZE)
		*early_walk(pml4, va, 0) = (va - KERNBASE) | perm | PTE_P | PTE_G;
}

static void build_kernel_tables(uint64_t ram_top)
{
	uint32_t edx;
	cpuid(0x80000001, 0, NULL, NULL, NULL, &edx);
	bool gib_pages = edx & (1u << 26);
	pte_nx = (rdmsr(MSR_EFER) & EFER_NXE) ? PTE_NX : 0;

	kern_pml4 = early_alloc(PAGE_SIZE);

	/* Direct map. Caching: MTRRs set by firmware already make MMIO uncached. */
	uint64_t top = ROUNDUP(MAX(ram_top, 4UL << 30), 1UL << 30);
	top = MIN(top, PHYSMAP_SIZE);
	pte_t flags = PTE_P | PTE_W | PTE_G | PTE_PS | pte_nx;
	for (uint64_t pa = 0; pa < top;) {
		if (gib_pages) {
			*early_walk(kern_pml4, PHYSMAP + pa, 2) = pa | flags;
			pa += 1UL << 30;
		} else {
			*early_walk(kern_pml4, PHYSMAP + pa, 1) = pa | flags;
			pa += LARGE_PAGE_SIZE;
		}
	}

	map_kernel_range(kern_pml4, __text_start, __text_end, 0);
	map_kernel_range(kern_pml4, __rodata_start, __rodata_end, pte_nx);
	map_kernel_range(kern_pml4, __data_start, __kernel_end, PTE_W | pte_nx);

	kern_cr3 = early_pa(kern_pml4);
	lcr3(kern_cr3);
	early_direct = true;
	kern_pml4 = KADDR(kern_cr3);
}

static void list_push(uint32_t *head, ppn_t ppn)
{
	link_prev[ppn] = PPN_NONE;
	link_next[ppn] = *head;
	if (*head != PPN_NONE)
		link_prev[*head] = (uint32_t)ppn;
	*head = (uint32_t)ppn;
}

/* Freed pages go to the back of the free list: a page freed just now is
 * handed out last. Under an emulator that caches translated code per page
 * this matters a lot (reusing a page that held code right away makes the
 * emulator throw that code away on the first write); on hardware it spreads
 * wear and costs nothing. */
static void free_push_tail(ppn_t ppn)
{
	link_next[ppn] = PPN_NONE;
	link_prev[ppn] = free_tail;
	if (free_tail != PPN_NONE)
		link_next[free_tail] = (uint32_t)ppn;
	else
		free_head = (uint32_t)ppn;
	free_tail = (uint32_t)ppn;
}

static void list_remove(uint32_t *head, ppn_t ppn)
{
	if (link_prev[ppn] != PPN_NONE)
		link_next[link_prev[ppn]] = link_next[ppn];
	else
		*head = link_next[ppn];
	if (link_next[ppn] != PPN_NONE)
		link_prev[link_next[ppn]] = link_prev[ppn];
}

void pmap_init(void)
{
	uint64_t ram_top = 0;
	for (uint32_t i = 0; i < boot_info.nranges; i++) {
		const struct mem_range *r = &boot_info.ranges[i];
		if (r->usable)
			ram_top = MAX(ram_top, r->base + r->len);
	}
	ram_top = MIN(ram_top, PHYSMAP_SIZE);
	pages_total = MIN(ram_top >> PAGE_SHIFT, UPAGES_MAX / sizeof(struct page_info));

	setup_early_alloc();
	build_kernel_tables(ram_top);

	pages = early_alloc(pages_total * sizeof(struct page_info));
	link_next = early_alloc(pages_total * sizeof(uint32_t));
	link_prev = early_alloc(pages_total * sizeof(uint32_t));
	page_binds = early_alloc(pages_total * sizeof(uint32_t));
	page_guards = early_alloc(pages_total * sizeof(uint32_t));
	pin_count = early_alloc(pages_total * sizeof(uint16_t));

	/* pages[] starts all PAGE_RESERVED (zero). Free the usable RAM above
	 * 1 MiB (below it: firmware, and later the SMP trampoline), but for
	 * the kernel's and the boot module's pages. */
	physaddr_t kernel_lo = KERN_LOAD_PA, kernel_hi = early_next;
	for (uint32_t i = 0; i < boot_info.nranges; i++) {
		const struct mem_range *r = &boot_info.ranges[i];
		if (!r->usable)
			continue;
		ppn_t lo = ROUNDUP(r->base, PAGE_SIZE) >> PAGE_SHIFT;
		ppn_t hi = MIN(ROUNDDOWN(r->base + r->len, PAGE_SIZE) >> PAGE_SHIFT, pages_total);
		lo = MAX(lo, (ppn_t)(0x100000 >> PAGE_SHIFT));
		for (ppn_t p = lo; p < hi; p++) {
			physaddr_t pa = p << PAGE_SHIFT;
			if (pages[p].pg_type != PAGE_RESERVED)
				continue; /* overlapping map entries */
			if ((pa >= kernel_lo && pa < kernel_hi) ||
			    (pa >= module_lo && pa < module_hi)) {
				pages[p].pg_type = PAGE_KERNEL;
				pages[p].pg_owner = PAGE_OWNER_KERNEL;
				continue;
			}
			pages[p].pg_type = PAGE_FREE;
			pages_free++;
		}
	}
	/* Ranges may come unsorted: thread the list from the top down so it
	 * hands out low pages first. */
	for (ppn_t p = pages_total; p-- > 0;) {
		if (pages[p].pg_type != PAGE_FREE)
			continue;
		if (free_tail == PPN_NONE)
			free_tail = (uint32_t)p; /* the first pushed ends the list */
		list_push(&free_head, p);
	}

	pmap_expose(UPAGES, pages, pages_total * sizeof(struct page_info));
	cprintf("pmap: %lu MiB RAM, %lu pages free, kernel %lu KiB, boot module %lu KiB\n",
		(pages_total << PAGE_SHIFT) >> 20, pages_free, (kernel_hi - kernel_lo) >> 10,
		(module_hi - module_lo) >> 10);
}

/* Eight bytes a step: under emulation rep stosb costs one step a byte. */
static void zero_page(void *kva)
{
	uint64_t n = PAGE_SIZE / 8;
	__asm__ volatile("rep stosq" : "+D"(kva), "+c"(n) : "a"(0UL) : "memory");
}

long page_take(struct vmspace *owner, uint8_t type, uint64_t ppn)
{
	if (ppn == PPN_ANY) {
		if (free_head == PPN_NONE)
			return -E_NO_MEM;
		ppn = free_head;
	} else if (ppn >= pages_total) {
		return -E_INVAL;
	} else if (pages[ppn].pg_type != PAGE_FREE) {
		return -E_BUSY;
	}
	if (owner && owner->vs_acct && !acct_may(owner->vs_acct, QUOTA_PAGES, 1))
		return -E_QUOTA; /* its family is at its page quota */
	if (free_tail == ppn)
		free_tail = link_prev[ppn];
	list_remove(&free_head, ppn);
	pages_free--;
	zero_page(page_kva(ppn));
	pages[ppn].pg_type = type;
	pages[ppn].pg_refs = 0;
	if (owner)
		page_adopt(owner, ppn); /* its list, counts and the charge checked above */
	else
		pages[ppn].pg_owner = PAGE_OWNER_KERNEL;
	kinfo.ki_free_pages = pages_free;
	return (long)ppn;
}

static void orphan(ppn_t ppn);

void page_give_back(ppn_t ppn)
{
	struct page_info *pg = &pages[ppn];
	if (ppn >= pages_total || pg->pg_type == PAGE_FREE || pg->pg_type == PAGE_RESERVED ||
	    pg->pg_refs != 0)
		panic("page_give_back: page %lu type %u refs %u", ppn, pg->pg_type, pg->pg_refs);
	if (pg->pg_flags & PG_CACHED)
		page_uncache(ppn);
	if (pin_count[ppn]) {
		orphan(ppn);
		return;
	}
	if (pg->pg_owner > 0) {
		struct vmspace *vs = vmspace_lookup(pg->pg_owner);
		if (!vs)
			panic("page_give_back: page %lu owner %d is gone", ppn, pg->pg_owner);
		page_disown(vs, ppn);
	}
	if (page_guards[ppn]) {
		page_guard_release(page_guards[ppn]);
		page_guards[ppn] = 0;
	}
	pg->pg_owner = PAGE_OWNER_NONE;
	pg->pg_type = PAGE_FREE;
	pg->pg_flags = 0;
	free_push_tail(ppn);
	pages_free++;
	kinfo.ki_free_pages = pages_free;
}

void page_disown(struct vmspace *vs, ppn_t ppn)
{
	list_remove(&vs->vs_page_list, ppn);
	if (vs->vs_acct)
		acct_release(vs->vs_acct, QUOTA_PAGES, 1);
	vs->vs_info->env_pages--;
	if (pages[ppn].pg_type == PAGE_USER)
		vs->vs_info->env_user_pages--;
}

void page_adopt(struct vmspace *vs, ppn_t ppn)
{
	pages[ppn].pg_owner = vs->vs_id;
	list_push(&vs->vs_page_list, ppn);
	if (vs->vs_acct)
		acct_force(vs->vs_acct, QUOTA_PAGES, 1); /* it exists: charged whatever the limit */
	vs->vs_info->env_pages++;
	if (pages[ppn].pg_type == PAGE_USER)
		vs->vs_info->env_user_pages++;
}

/* --- pinning (device I/O in flight); see pmap.h ----------------------- */

/* A pinned page its owner let go of: the kernel's until the device is done. */
static void orphan(ppn_t ppn)
{
	struct page_info *pg = &pages[ppn];
	if (pg->pg_flags & PG_ORPHAN)
		return;
	if (pg->pg_owner > 0) {
		struct vmspace *vs = vmspace_lookup(pg->pg_owner);
		if (!vs)
			panic("orphan: page %lu owner %d is gone", ppn, pg->pg_owner);
		page_disown(vs, ppn);
	}
	if (page_guards[ppn]) {
		page_guard_release(page_guards[ppn]);
		page_guards[ppn] = 0;
	}
	pg->pg_owner = PAGE_OWNER_KERNEL;
	pg->pg_type = PAGE_KERNEL;
	pg->pg_flags |= PG_ORPHAN;
}

void page_pin(ppn_t ppn)
{
	if (ppn >= pages_total || pin_count[ppn] == UINT16_MAX)
		panic("page_pin: page %lu", ppn);
	pin_count[ppn]++;
	pages[ppn].pg_flags |= PG_PINNED;
}

void page_unpin(ppn_t ppn)
{
	if (ppn >= pages_total || pin_count[ppn] == 0)
		panic("page_unpin: page %lu not pinned", ppn);
	if (--pin_count[ppn])
		return;
	pages[ppn].pg_flags &= (uint8_t)~PG_PINNED;
	if (pages[ppn].pg_flags & PG_ORPHAN) {
		pages[ppn].pg_flags = 0;
		page_give_back(ppn);
	}
}

ppn_t page_owned_next(const struct vmspace *vs, ppn_t ppn)
{
	return ppn == PPN_NONE ? vs->vs_page_list : link_next[ppn];
}

/*
 * The exposed window, PML4 slot 255: one PDPT shared by every address space,
 * in which each layer maps its tables user-readable, never writable
 * (UPAGES here, UENVS and USLICES by the env layer, UINFO by main).
 */
static pte_t *exposed_walk(pte_t *pdpt, uint64_t va)
{
	pte_t *table = pdpt;
	for (int lvl = 2; lvl > 0; lvl--) {
		pte_t *e = &table[PT_INDEX(va, lvl)];
		if (!(*e & PTE_P)) {
			long ppn = page_take(NULL, PAGE_KERNEL, PPN_ANY);
			if (ppn < 0)
				return NULL;
			*e = ((physaddr_t)ppn << PAGE_SHIFT) | PTE_P | PTE_U;
		}
		table = KADDR(PTE_ADDR(*e));
	}
	return &table[PT_INDEX(va, 0)];
}

int pmap_expose_page(uint64_t uva, const void *kva)
{
	if (uva < UEXPOSED || uva + PAGE_SIZE > ULIM || (uint64_t)kva % PAGE_SIZE ||
	    uva % PAGE_SIZE || !exposed_pml4e)
		panic("pmap_expose_page: %#lx", uva);
	pte_t *pte = exposed_walk(KADDR(PTE_ADDR(exposed_pml4e)), uva);
	if (!pte)
		return -E_NO_MEM; /* a table taken on the way stays: it will serve */
	*pte = PADDR(kva) | PTE_P | PTE_U | pte_nx;
	return 0;
}

void pmap_expose(uint64_t uva, const void *kva, uint64_t bytes)
{
	if (uva < UEXPOSED || uva + bytes > ULIM || (uint64_t)kva % PAGE_SIZE)
		panic("pmap_expose: %#lx", uva);
	if (!exposed_pml4e) {
		long ppn = page_take(NULL, PAGE_KERNEL, PPN_ANY);
		if (ppn < 0)
			panic("pmap_expose: out of memory");
		exposed_pml4e = ((physaddr_t)ppn << PAGE_SHIFT) | PTE_P | PTE_U;
	}
	pte_t *pdpt = KADDR(PTE_ADDR(exposed_pml4e));
	for (uint64_t off = 0; off < bytes; off += PAGE_SIZE) {
		pte_t *pte = exposed_walk(pdpt, uva + off);
		if (!pte)
			panic("pmap_expose: out of memory");
		*pte = PADDR((const char *)kva + off) | PTE_P | PTE_U | pte_nx;
	}
}

/*
 * Device memory outside the direct map. The direct map stops at max(RAM,
 * 4 GiB), but firmware may put a 64-bit PCI BAR higher. Such a range gets
 * 4 KiB entries (cache-disabled, write-through: PCD|PWT) at its KADDR,
 * below the PHYSMAP slot every address space shares; pages already mapped
 * (by a large direct-map page) are left alone.
 */
int pmap_map_mmio(physaddr_t pa, uint64_t len)
{
	physaddr_t lo = ROUNDDOWN(pa, PAGE_SIZE), hi = ROUNDUP(pa + len, PAGE_SIZE);
	if (hi < lo || hi > PHYSMAP_SIZE)
		return -E_INVAL;
	for (physaddr_t p = lo; p < hi; p += PAGE_SIZE) {
		uint64_t va = (uint64_t)KADDR(p);
		pte_t *table = kern_pml4;
		int lvl = 3;
		for (; lvl > 0; lvl--) {
			pte_t *e = &table[PT_INDEX(va, lvl)];
			if ((*e & PTE_P) && (*e & PTE_PS))
				break; /* a large page maps it already */
			if (!(*e & PTE_P)) {
				long ppn = page_take(NULL, PAGE_KERNEL, PPN_ANY);
				if (ppn < 0)
					return -E_NO_MEM;
				*e = ((physaddr_t)ppn << PAGE_SHIFT) | PTE_P | PTE_W;
			}
			table = KADDR(PTE_ADDR(*e));
		}
		if (lvl > 0)
			continue;
		pte_t *e = &table[PT_INDEX(va, 0)];
		if (!(*e & PTE_P))
			*e = p | PTE_P | PTE_W | PTE_G | PTE_PCD | PTE_PWT | pte_nx;
		invlpg(va);
	}
	return 0;
}
