/*
 * The library OS's virtual memory: its own page table, demand-zero regions,
 * protection changes, and the fault handler that ties them together.
 *
 * The kernel only keeps bindings (checked, in its software TLB); what each
 * address should hold is decided here. A page fault comes to vm_fault first:
 * copy-on-write, demand-zero, growing the page table itself; anything else
 * goes to the program's own handler (exception_set_handler).
 */
#ifndef EXO_LIB_VM_H
#define EXO_LIB_VM_H

#include <inc/types.h>
#include <inc/upcall.h>

/* Entry flags in the library OS page table (the entry is ppn << 12 | flags). */
#define VPT_P 0x001    /* bound in the kernel */
#define VPT_W 0x002    /* the program may write it */
#define VPT_X 0x004    /* the program may execute it */
#define VPT_COW 0x008  /* shared after fork: bound read-only until written */
#define VPT_RO 0x010   /* write-protected by vm_protect: faults are the program's */
#define VPT_SHARED 0x020 /* fork shares it writable instead of copy-on-write */
#define VPT_FLAGS 0xfff

#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4

/* Library OS regions of the address space. */
#define VPT_BASE 0x00007d0000000000UL     /* page-table leaves, bump-allocated */
#define VPT_MAX (1UL << 30)
#define LIBOS_TMP 0x00007d8000000000UL    /* scratch page for copies */
#define LIBOS_RVEC 0x00007d8000010000UL   /* repossession vector */
#define MMAP_BASE 0x0000600000000000UL    /* vm_alloc hands out from here */
#define MMAP_MAX (1UL << 40)
#define STACK_GROW (8UL << 20)            /* the stack may grow to 8 MiB */

void vm_init(void);
/* The entry for va, or 0. */
uint64_t vm_lookup(uint64_t va);
/* The BIND_* rights a page-table entry's flags give (copy-on-write and
 * read-only pages: no write). */
static inline unsigned vm_rights_of(uint64_t flags)
{
	unsigned r = BIND_READ;
	if ((flags & VPT_W) && !(flags & (VPT_COW | VPT_RO)))
		r |= BIND_WRITE;
	if (flags & VPT_X)
		r |= BIND_EXEC;
	return r;
}
/* Allocate a page and bind it at va with rights: its ppn, or -E_* (then
 * nothing is left allocated). */
long vm_page_new(uint64_t va, unsigned rights);
/* Bind the upcall stack [top - npages pages, top) and send upcalls of kind
 * (UPCALL_*) to entry on it: 0 or -E_*. */
int vm_upcall_route(uint64_t kind, void (*entry)(void), uint64_t top, unsigned npages);
/* Make [va, va+len) demand-zero: pages appear, zeroed, when touched. */
int vm_map_zero(uint64_t va, uint64_t len, unsigned prot);
/* Reserve len bytes of demand-zero memory; NULL if out of address space. */
void *vm_alloc(uint64_t len);
/* The same, but bound at once and shared with children after fork
 * (MAP_SHARED). */
void *vm_alloc_shared(uint64_t len);
/* Record pages another env bound for us in [va, va+len) (a parent passing
 * shared pages to its child), shared with our own children after fork.
 * -E_NOT_FOUND if a page there is not bound. */
int vm_adopt_shared(uint64_t va, uint64_t len);
/* Bind a fresh zero page at va now (prot: PROT_*); returns its ppn. */
long vm_page_alloc(uint64_t va, unsigned prot);
/* Bind fresh pages under [top - npages pages, top) where none are bound: an
 * upcall stack, bound now because the upcall cannot fault it in. */
int vm_bind_stack(uint64_t top, unsigned npages);
/* Change the protection of the bound pages of [va, va+len), batched. */
int vm_protect(uint64_t va, uint64_t len, unsigned prot);
/* Unbind and free the pages of [va, va+len). */
int vm_unmap(uint64_t va, uint64_t len);
/* Handle a page fault if it is the library OS's business. */
bool vm_fault(struct upcall_frame *uf);
/* Release up to n pages the program will not miss (revocation). Returns how
 * many were released. */
uint64_t vm_release(uint64_t n);
/* Forget pages the kernel took (repossession). */
void vm_repossessed(void);

/* Every page-table entry present: fn(va, &entry, arg). */
void vm_for_each_entry(void (*fn)(uint64_t va, uint64_t *slot, void *arg), void *arg);
/* Every leaf: fn(its address, the first va it covers, arg). */
void vm_for_each_leaf(void (*fn)(uint64_t leaf_va, uint64_t base, void *arg), void *arg);

/* Statistics, for tests and benchmarks. */
struct vm_stats {
	uint64_t demand_zero, cow_copies, cow_reuses, released, repossessed;
};
extern struct vm_stats vm_stats;

#endif
