#ifndef EXO_KERN_PAGECALL_H
#define EXO_KERN_PAGECALL_H

#include <inc/types.h>

/* The page and binding system calls (inc/syscall.def), for kern/syscall.c. */
long sys_page_alloc(uint64_t ppn, uint64_t cap);
long sys_page_free(uint64_t ppn, uint64_t cap);
long sys_page_bind(envid_t envid, uint64_t va, uint64_t ppn, uint64_t rights, uint64_t cap);
long sys_page_unbind(envid_t envid, uint64_t va, uint64_t cap);
long sys_page_bind_batch(envid_t envid, uint64_t ureqs, uint64_t n, uint64_t cap);
long sys_page_protect(envid_t envid, uint64_t va, uint64_t npages, uint64_t rights, uint64_t cap);
long sys_vm_flush(envid_t envid, uint64_t cap);
long sys_page_dirty(uint64_t va, uint64_t clear);
long sys_page_lookup(uint64_t va);

#endif
