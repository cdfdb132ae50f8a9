/*
 * The virtual memory map, shared by the kernel and every library OS.
 *
 * Every address space has the same upper half (the kernel) and the same
 * read-only window of exposed kernel state; everything else below UTOP belongs
 * to the environment, which binds its own pages there.
 *
 *   2^64 ┌──────────────────────────────┐
 *        │ kernel image (text, data)    │ RW/RX, kernel only; linked here so
 * KERNBASE ──────────────────────────────┤ -mcmodel=kernel works
 *        │ 0xffffffff80000000           │ maps physical [0, 1 GiB)
 *        │            ...               │
 *        ├──────────────────────────────┤ PHYSMAP + PHYSMAP_SIZE
 *        │ direct map of physical memory│ RW, NX, kernel only
 * PHYSMAP├──────────────────────────────┤ 0xffff800000000000
 *        │   (non-canonical hole)       │
 *   ULIM ├──────────────────────────────┤ 0x0000800000000000
 *        │ USTLB: struct stlb_entry[]   │ read-only to users, the binding
 *        │   (inc/stlb.h)               │ pool's pages as it grows
 *        ├ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─┤ UEXPOSED + 5 GiB
 *        │ UBCACHE: struct bc_entry[]   │ read-only to users, BC_PAGES
 *        ├ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─┤ UEXPOSED + 4 GiB
 *        │ USLICES: struct slice_vec    │ read-only to users, one page
 *        ├ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─┤ UEXPOSED + 3 GiB
 *        │ UINFO: struct kern_info      │ read-only to users, one page
 *        ├ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─┤ UEXPOSED + 2 GiB
 *        │ UENVS: struct env_info[NENV] │ read-only to users
 *        ├ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─┤ UEXPOSED + 1 GiB
 *        │ UPAGES: struct page_info[]   │ read-only to users, one per
 *        │   (one per physical page)    │ physical page
 *   UTOP ├──────────────────────────────┤ 0x00007f8000000000 = UEXPOSED
 *        │                              │
 *        │ free for the env to bind     │ the library OS decides
 *        │                              │
 * USTACKTOP ────────────────────────────┤ initial stack of a program the
 *        │ initial stack (USTACK_PAGES) │ kernel loads
 *        │            ...               │
 *        │ program image from UTEXT     │ ELF segments
 *      0 └──────────────────────────────┘
 */
#ifndef EXO_INC_MEMLAYOUT_H
#define EXO_INC_MEMLAYOUT_H

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define LARGE_PAGE_SIZE (1UL << 21)

/* Kernel half. */
#define KERNBASE 0xffffffff80000000UL
#define KERN_LOAD_PA 0x200000UL      /* where the boot loader puts the image */
#define PHYSMAP 0xffff800000000000UL
#define PHYSMAP_SIZE (512UL << 30)   /* one PML4 slot: the most RAM Exo maps */

/* User half. */
#define ULIM 0x0000800000000000UL
#define UEXPOSED 0x00007f8000000000UL /* last user PML4 slot, shared by all */
#define UPAGES (UEXPOSED)
#define UPAGES_MAX (1UL << 30)        /* bounds the page table: 128M pages */
#define UENVS (UEXPOSED + (1UL << 30))
#define UINFO (UEXPOSED + (2UL << 30))
#define UBCACHE (UEXPOSED + (4UL << 30)) /* the buffer-cache registry (inc/disk.h) */
#define UTOP UEXPOSED

#define UTEXT 0x400000UL
#define USTACKTOP 0x00007f0000000000UL
#define USTACK_PAGES 16               /* 64 KiB, enough for crt0 and main */

#endif
