#ifndef EXO_KERN_ENVCALL_H
#define EXO_KERN_ENVCALL_H

#include <inc/types.h>

struct env;

/* The env a call acts on: the caller itself for 0 (or its own id, unless
 * check_self), or a live env whose guard the caller's key in slot cap
 * dominates with CAP_M. 0 with *out set, -E_BAD_ENV, -E_BAD_CAP or -E_PERM. */
long other_env(envid_t id, uint64_t cap, bool check_self, struct env **out);

/* The env system calls (inc/syscall.def), for kern/syscall.c. */
long sys_env_create(uint64_t uname, uint64_t uargs, uint64_t cap);
long sys_env_exec(uint64_t uname, uint64_t uargs);
long sys_env_exec_moves(uint64_t uname, uint64_t umoves, uint64_t n, uint64_t uregs);
long sys_env_set_name(envid_t envid, uint64_t uname, uint64_t cap);
long sys_env_destroy(envid_t envid, uint64_t cap);
long sys_env_exit(uint64_t code);
long sys_env_wait(envid_t envid);
long sys_env_set_upcall(uint64_t kind, uint64_t entry, uint64_t lo, uint64_t hi);
long sys_env_fork(uint64_t cap);
long sys_env_set_regs(envid_t envid, uint64_t uregs, uint64_t cap);
long sys_env_start(envid_t envid, uint64_t cap);
long sys_env_set_rvec(uint64_t va, uint64_t n);
long sys_env_set_pinned(uint64_t va, uint64_t npages);
long sys_env_set_limit(envid_t envid, uint64_t npages, uint64_t cap);

#endif
