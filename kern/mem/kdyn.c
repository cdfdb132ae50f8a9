/*
 * The kernel's dynamic region: blocks of pages that must be contiguous for
 * the kernel (a downloaded program and its compiled code), charged to the
 * env they serve (PAGE_ENVMETA, so its page count and leak checks see them).
 *
 * The region is PDPT slot 511 under the kernel's PML4 entry 511, whose PDPT
 * every address space shares, so a mapping made here is seen everywhere at
 * once. Addresses are handed out first fit from a bitmap.
 *
 * Compiled code is written while the block is read-write (never
 * executable), then switched to read-execute (never writable): at no time is
 * an address both. (The direct map's alias of the page stays writable to
 * the kernel only, as for every page.)
 *
 * Locking: under the big kernel lock.
 */
#include <inc/error.h>
#include <inc/kinfo.h>
#include <inc/page.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/mem/vmspace.h>
#include <kern/mem/kdyn.h>
#include <kern/mem/pmap.h>
#include <kern/arch/x86.h>

extern struct kern_info kinfo;

static uint64_t used[KDYN_PAGES / 64];

/* The leaf entry for va, making tables as needed (kernel pages). */
static pte_t *walk(uint64_t va)
{
	pte_t *table = kern_pml4;
	for (int lvl = 3; lvl > 0; lvl--) {
		pte_t *e = &table[PT_INDEX(va, lvl)];
		if (!(*e & PTE_P)) {
			long ppn = page_take(NULL, PAGE_KERNEL, PPN_ANY);
			if (ppn < 0)
				return NULL;
			*e = ((physaddr_t)ppn << PAGE_SHIFT) | PTE_P | PTE_W;
			kinfo.ki_pool_pages++; /* kept, and reused, for ever */
		}
		table = KADDR(PTE_ADDR(*e));
	}
	return &table[PT_INDEX(va, 0)];
}

static bool is_used(unsigned i)
{
	return used[i / 64] & (1UL << (i % 64));
}

static void mark(unsigned i, unsigned n, bool on)
{
	for (unsigned k = i; k < i + n; k++) {
		if (on)
			used[k / 64] |= 1UL << (k % 64);
		else
			used[k / 64] &= ~(1UL << (k % 64));
	}
}

void *kdyn_alloc(struct vmspace *owner, unsigned npages)
{
	if (npages == 0 || npages > 4096)
		return NULL;
	unsigned start = 0, run = 0;
	for (unsigned i = 0; i < KDYN_PAGES && run < npages; i++) {
		if (is_used(i)) {
			run = 0;
			start = i + 1;
		} else {
			run++;
		}
	}
	if (run < npages)
		return NULL;
	uint64_t va = KDYN_BASE + (uint64_t)start * PAGE_SIZE;
	for (unsigned k = 0; k < npages; k++) {
		pte_t *pte = walk(va + (uint64_t)k * PAGE_SIZE);
		long ppn = !pte ? -E_NO_MEM
				: page_take(owner, owner ? PAGE_ENVMETA : PAGE_KERNEL, PPN_ANY);
		if (ppn < 0) {
			kdyn_free((void *)va, k);
			return NULL;
		}
		*pte = ((physaddr_t)ppn << PAGE_SHIFT) | PTE_P | PTE_W | pte_nx;
	}
	mark(start, npages, true);
	return (void *)va;
}

void kdyn_make_exec(void *va, unsigned npages)
{
	for (unsigned k = 0; k < npages; k++) {
		uint64_t a = (uint64_t)va + (uint64_t)k * PAGE_SIZE;
		pte_t *pte = walk(a);
		*pte = PTE_ADDR(*pte) | PTE_P;
		invlpg(a);
	}
}

void kdyn_free(void *va, unsigned npages)
{
	for (unsigned k = 0; k < npages; k++) {
		uint64_t a = (uint64_t)va + (uint64_t)k * PAGE_SIZE;
		pte_t *pte = walk(a);
		if (pte && (*pte & PTE_P)) {
			ppn_t ppn = PTE_ADDR(*pte) >> PAGE_SHIFT;
			*pte = 0;
			invlpg(a);
			page_give_back(ppn);
		}
	}
	mark((unsigned)(((uint64_t)va - KDYN_BASE) / PAGE_SIZE), npages, false);
}
