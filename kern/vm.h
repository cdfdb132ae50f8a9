#ifndef EXO_KERN_VM_H
#define EXO_KERN_VM_H

#include <kern/mmu.h>

struct env;

int vm_create(struct env *e);
void vm_destroy(struct env *e);
/* Bind page ppn at va with BIND_* rights; replaces what was there. */
int vm_bind(struct env *e, uint64_t va, ppn_t ppn, unsigned rights);
void vm_unbind(struct env *e, uint64_t va);
/* The leaf entry mapping va, or NULL if no page table covers it. */
pte_t *vm_lookup(struct env *e, uint64_t va);

/* Accessing user memory on behalf of e: every page is checked present, user
 * (and writable for copy_to_user) in e's page table; -E_FAULT otherwise. */
int copy_from_user(struct env *e, void *dst, uint64_t va, uint64_t len);
int copy_to_user(struct env *e, uint64_t va, const void *src, uint64_t len);
/* Copy a NUL-terminated string of at most max bytes (NUL included). Returns
 * its length, -E_FAULT, or -E_TOO_BIG if no NUL within max bytes. */
long copy_string_from_user(struct env *e, char *dst, uint64_t va, uint64_t max);
/* Is [va, va+len) mapped with at least the given PTE bits? */
bool vm_check(struct env *e, uint64_t va, uint64_t len, pte_t need);

#endif
