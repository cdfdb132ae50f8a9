/*
 * The software TLB as user space sees it: the kernel's pool of bindings,
 * mapped read-only at USTLB in every address space (as the page table is
 * at UPAGES), so a library OS or a tool lists any env's bindings - virtual
 * page, physical page, rights - without a system call.
 *
 * The pool grows a page at a time and never shrinks: ukinfo->ki_stlb_pages
 * pages are mapped, each holding STLB_PER_PAGE entries, and binding number
 * i (from 1) is entry (i - 1) % STLB_PER_PAGE of page (i - 1) /
 * STLB_PER_PAGE. An entry is live while b_rights is not 0 (every binding
 * has BIND_READ); b_env is the binder's env slot (ENVX), so check the env
 * table's id there. The links are indices into the same pool (0 ends a
 * chain): b_env_next chains an env's hash bucket (or the free list),
 * b_page_next / b_page_prev the bindings of one physical page. No kernel
 * address is in
 * it.
 *
 * The kernel changes entries while they are read: a reader copies an entry
 * and trusts what it copied only as a snapshot (an entry can be freed or
 * reused between two reads).
 */
#ifndef EXO_INC_STLB_H
#define EXO_INC_STLB_H

#include <inc/memlayout.h>
#include <inc/types.h>

struct stlb_entry {
	uint64_t b_va;         /* page-aligned virtual address */
	uint32_t b_ppn;        /* physical page bound there */
	uint16_t b_env;        /* ENVX of the binder */
	uint8_t b_rights;      /* BIND_* (inc/page.h); 0: a free entry */
	uint8_t b_flags;       /* BINDING_DIRTY */
	uint32_t b_env_next;   /* next in the env's bucket (index + 1; 0 ends) */
	uint32_t b_page_next;  /* next binding of the same page */
	uint32_t b_page_prev;  /* previous one (0: it heads the page's chain):
				  removing a binding never walks a page's chain,
				  which one env can make 65,535 long */
	uint32_t b_reserved;   /* keeps entries 8-byte aligned */
};

#define BINDING_DIRTY 0x1 /* written through, as the page tables showed */

#define USTLB (UEXPOSED + (5UL << 30))
#define STLB_PER_PAGE (PAGE_SIZE / sizeof(struct stlb_entry))

_Static_assert(sizeof(struct stlb_entry) == 32, "stlb_entry is exposed ABI");

/* Entry k (from 0: binding number k + 1) of the exposed pool; k below
 * ki_stlb_pages * STLB_PER_PAGE. */
static inline const volatile struct stlb_entry *ustlb_entry(uint64_t k)
{
	return (const volatile struct stlb_entry *)(USTLB + k / STLB_PER_PAGE * PAGE_SIZE) +
	       k % STLB_PER_PAGE;
}

#endif
