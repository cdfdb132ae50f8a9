#ifndef EXO_KERN_QUOTA_H
#define EXO_KERN_QUOTA_H

#include <inc/types.h>

/* The family-quota system calls (inc/syscall.def), for kern/syscall.c. */
long sys_env_set_quota(envid_t envid, uint64_t kind, uint64_t limit, uint64_t cap);
long sys_env_quota(envid_t envid, uint64_t out);

#endif
