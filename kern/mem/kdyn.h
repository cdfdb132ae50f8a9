#ifndef EXO_KERN_KDYN_H
#define EXO_KERN_KDYN_H

#include <inc/types.h>

struct vmspace;

/* Kernel memory made of pages charged to an env, contiguous in the kernel's
 * dynamic region (the last GiB), mapped in every address space. */
#define KDYN_BASE 0xffffffffc0000000UL
#define KDYN_PAGES (1u << 18) /* the whole GiB */

/* npages fresh zeroed pages owned by owner (PAGE_ENVMETA; NULL: the kernel,
 * PAGE_KERNEL), mapped read-write
 * and never executable. NULL (no memory, no address space). */
void *kdyn_alloc(struct vmspace *owner, unsigned npages);
/* Make a block read-only and executable, for code written into it: it is
 * never writable and executable at once at this address. */
void kdyn_make_exec(void *va, unsigned npages);
/* Unmap a block and give its pages back. */
void kdyn_free(void *va, unsigned npages);

#endif
