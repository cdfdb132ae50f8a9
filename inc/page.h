/*
 * The physical page table: one struct page_info per physical page, indexed by
 * physical page number. The kernel keeps it and maps the same array read-only
 * at UPAGES in every address space, so a library OS learns who owns any page,
 * and which pages are free to ask for, without a system call.
 */
#ifndef EXO_INC_PAGE_H
#define EXO_INC_PAGE_H

#include <inc/types.h>

/* pg_owner of pages that belong to no environment. Env ids are > 0. */
#define PAGE_OWNER_NONE 0       /* free, or not RAM */
#define PAGE_OWNER_KERNEL (-1)  /* the kernel's own (image, tables, stacks) */

enum page_type {
	PAGE_RESERVED = 0, /* not usable RAM: firmware, MMIO, holes */
	PAGE_FREE,         /* can be allocated by anyone */
	PAGE_USER,         /* allocated by pg_owner: it may bind and free it */
	PAGE_PGTABLE,      /* hardware page-table page kept for pg_owner */
	PAGE_KERNEL,       /* the kernel's */
	PAGE_ENVMETA,      /* kernel state kept for pg_owner: key ring, STLB */
	PAGE_IMAGE,        /* read-only text of a boot-image program, shared by
			      every env running it; the kernel's */
};

struct page_info {
	int32_t pg_owner;  /* env id, or PAGE_OWNER_* */
	uint16_t pg_refs;  /* bindings of this page in address spaces */
	uint8_t pg_type;   /* enum page_type */
	uint8_t pg_flags;  /* PG_* */
};

/* pg_flags. A page with device I/O in flight is pinned: it cannot be freed,
 * passed on or repossessed until the device is done. If its owner lets go
 * of it meanwhile, the kernel keeps it (owner PAGE_OWNER_KERNEL, PG_ORPHAN)
 * and frees it when the last transfer ends. */
#define PG_PINNED 0x1
#define PG_ORPHAN 0x2
#define PG_CACHED 0x4 /* a data block's copy in the buffer-cache registry (inc/disk.h) */

_Static_assert(sizeof(struct page_info) == 8, "page_info is exposed ABI");

/* Argument of sys_page_alloc asking for any free page. */
#define PPN_ANY ((uint64_t)-1)

/* Rights of a binding (sys_page_bind). The kernel always adds "user". */
#define BIND_READ 0x1
#define BIND_WRITE 0x2
#define BIND_EXEC 0x4
#define BIND_ALL (BIND_READ | BIND_WRITE | BIND_EXEC)

/* One request of sys_page_bind_batch: bind ppn at va with rights, or unbind
 * va when ppn is PPN_NONE. */
#define PPN_NONE_REQ ((uint64_t)-2)
struct bind_req {
	uint64_t br_va;
	uint64_t br_ppn;
	uint64_t br_rights;
};

#define BIND_BATCH_MAX 128 /* requests per sys_page_bind_batch: 3 KiB copied in */

/* Pages per sys_page_protect: one page-table page's worth, which bounds the
 * work of one call (it runs with interrupts off). */
#define PROTECT_MAX_PAGES 512

#endif
