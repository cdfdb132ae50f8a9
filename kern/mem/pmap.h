#ifndef EXO_KERN_PMAP_H
#define EXO_KERN_PMAP_H

#include <inc/page.h>
#include <kern/arch/mmu.h>

struct vmspace;

extern struct page_info *pages;  /* the exposed table, pages_total entries */
extern uint64_t pages_total;
extern uint64_t pages_free;
extern pte_t *kern_pml4;
extern physaddr_t kern_cr3;
extern uint64_t pte_nx;          /* PTE_NX if the CPU has it, else 0 */
extern pte_t exposed_pml4e;      /* PML4 slot 255 of every address space */
extern uint32_t *page_binds;     /* per page: first binding (stlb.c) */
extern uint32_t *page_guards;    /* per page: guard id (cap.c), 0: none */
/* Drops a guard id's reference when its page is freed (set by cap.c). */
extern void (*page_guard_release)(uint32_t guard);

#define PPN_NONE UINT32_MAX

void pmap_init(void);
/* Map [kva, kva + bytes) read-only for user space at uva in the exposed
 * window every address space shares (inc/memlayout.h). Boot only. */
void pmap_expose(uint64_t uva, const void *kva, uint64_t bytes);
/* The same for one page, at any time (a table that grows: the binding
 * pool): 0, or -E_NO_MEM without a page for a table (nothing mapped). */
int pmap_expose_page(uint64_t uva, const void *kva);

/*
 * Take page ppn (or any free page if ppn == PPN_ANY) for owner with the given
 * type, zero-filled, charged to owner's family (account.c). owner NULL means
 * the kernel. Returns ppn or -E_BUSY / -E_NO_MEM (none free) / -E_QUOTA (the
 * family is at its page quota) / -E_INVAL.
 */
long page_take(struct vmspace *owner, uint8_t type, uint64_t ppn);
/* Return an unbound page to the free list. */
void page_give_back(ppn_t ppn);
/* Move page ppn off vs's list and counts / onto them (a page changing
 * hands: the env layer's page_release). */
void page_disown(struct vmspace *vs, ppn_t ppn);
void page_adopt(struct vmspace *vs, ppn_t ppn);
/* Device I/O: while pinned (counted), page ppn is not freed, passed on or
 * repossessed. page_give_back and page_release of a pinned page orphan it
 * instead (the kernel keeps it, unbound); the last page_unpin of an orphan
 * frees it. */
/* Set by kern/disk: page ppn (PG_CACHED) is leaving its owner - freed,
 * revoked, its owner gone - so it stops being a cached disk block. */
extern void (*page_uncache)(ppn_t ppn);
void page_pin(ppn_t ppn);
void page_unpin(ppn_t ppn);
/* Every page owned by vs, in turn: next(vs, ppn) with ppn = PPN_NONE starts. */
ppn_t page_owned_next(const struct vmspace *vs, ppn_t ppn);

/* Make device memory [pa, pa + len) reachable at KADDR(pa), uncached, where
 * the direct map does not already cover it (a 64-bit PCI BAR above 4 GiB).
 * Boot only, before the first env: the tables it adds hang below the shared
 * PHYSMAP slot, so every address space sees them. 0, or -E_INVAL beyond
 * PHYSMAP_SIZE, -E_NO_MEM without a page for a table. */
int pmap_map_mmio(physaddr_t pa, uint64_t len);

static inline void *page_kva(ppn_t ppn)
{
	return KADDR((physaddr_t)ppn << PAGE_SHIFT);
}

#endif
