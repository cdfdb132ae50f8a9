/*
 * x86-64 four-level paging: entry bits, index extraction, and the conversions
 * between physical addresses and the kernel's direct map (PHYSMAP).
 */
#ifndef EXO_KERN_MMU_H
#define EXO_KERN_MMU_H

#include <inc/memlayout.h>
#include <inc/types.h>

#define PTE_P 0x001UL    /* present */
#define PTE_W 0x002UL    /* writable */
#define PTE_U 0x004UL    /* user */
#define PTE_PWT 0x008UL
#define PTE_PCD 0x010UL  /* cache disable: MMIO */
#define PTE_A 0x020UL
#define PTE_D 0x040UL
#define PTE_PS 0x080UL   /* large page (in PDPT/PD entries) */
#define PTE_G 0x100UL    /* global: survives CR3 loads */
#define PTE_NX (1UL << 63)
#define PTE_ADDR_MASK 0x000ffffffffff000UL

#define PTE_ADDR(pte) ((pte) & PTE_ADDR_MASK)

/* Index of va in the table at level lvl (3 = PML4 ... 0 = page table). */
#define PT_INDEX(va, lvl) (((uint64_t)(va) >> (12 + 9 * (lvl))) & 511)
#define NPTENTRIES 512

typedef uint64_t pte_t;

/* Kernel virtual address of physical address pa, through the direct map. */
#define KADDR(pa) ((void *)((uint64_t)(pa) + PHYSMAP))
/* Physical address of a direct-map or kernel-image address. */
static inline physaddr_t PADDR(const void *kva)
{
	uint64_t va = (uint64_t)kva;
	return va >= KERNBASE ? va - KERNBASE : va - PHYSMAP;
}

#endif
