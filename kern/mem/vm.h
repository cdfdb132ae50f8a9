#ifndef EXO_KERN_VM_H
#define EXO_KERN_VM_H

#include <kern/arch/mmu.h>

struct vmspace;

/*
 * The hardware page tables of an env: only a cache of its STLB (stlb.c).
 */
int vm_create(struct vmspace *vs);
/* vs is going: stop using its tables. They stay pages vs owns, for its
 * owner to give back with the rest (env.c's teardown). */
void vm_destroy(struct vmspace *vs);
/* Map ppn at va with BIND_* rights in vs's page tables. 0 or -E_NO_MEM. */
int vm_install(struct vmspace *vs, uint64_t va, ppn_t ppn, unsigned rights);
void vm_uninstall(struct vmspace *vs, uint64_t va);
/* Where vm_reprotect last walked to: neighbouring pages share a leaf
 * table, found once. Start with VM_CURSOR_INIT; good for one call's run
 * (nothing may free page tables between its uses). */
struct vm_cursor {
	uint64_t vc_base; /* va of the leaf table's first page; 1: none yet */
	uint64_t *vc_leaf; /* that table, or NULL: not there */
};
#define VM_CURSOR_INIT { 1, NULL }
/* Rewrite va's entry, if cached, for BIND_* rights (same page); returns the
 * hardware dirty bit it had, which the rewrite clears. */
bool vm_reprotect(struct vmspace *vs, struct vm_cursor *c, uint64_t va, unsigned rights);
/* Between these, changed mappings of the running env are not flushed one
 * by one: the TLB is flushed once at the end (a batch of binds). */
void vm_defer_flushes(void);
void vm_flush_deferred(void);
/* The hardware dirty bit of va's entry, if cached; clear it if clear. */
bool vm_dirty(struct vmspace *vs, uint64_t va, bool clear);
/* Throw away every page-table page of vs's user half; faults refill. */
void vm_flush(struct vmspace *vs);

/* Accessing user memory on behalf of vs's env: every page is checked against its
 * bindings (readable, or writable for copy_to_user); -E_FAULT otherwise.
 * The exposed window (UPAGES, UENVS, UINFO) is readable too. */
int copy_from_user(struct vmspace *vs, void *dst, uint64_t va, uint64_t len);
int copy_to_user(struct vmspace *vs, uint64_t va, const void *src, uint64_t len);
/* Copy a NUL-terminated string of at most max bytes (NUL included). Returns
 * its length, -E_FAULT, or -E_TOO_BIG if no NUL within max bytes. */
long copy_string_from_user(struct vmspace *vs, char *dst, uint64_t va, uint64_t max);
/* Is [va, va+len) accessible to vs (for writing if write)? */
bool vm_check(struct vmspace *vs, uint64_t va, uint64_t len, bool write);

#endif
