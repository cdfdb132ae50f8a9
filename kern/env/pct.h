#ifndef EXO_KERN_PCT_H
#define EXO_KERN_PCT_H

#include <inc/types.h>
#include <kern/env/env.h>

struct trapframe;

/* The system calls of pct.c (declared for kern/syscall.c's dispatch). */
long sys_pct_call(envid_t envid, uint64_t cap, uint64_t a0, uint64_t a1, uint64_t a2);
long sys_pct_reply(envid_t caller, uint64_t value);
long sys_pct_send(envid_t envid, uint64_t cap, uint64_t a0, uint64_t a1, uint64_t a2);
long sys_pct_set_guard(uint64_t slot);
long sys_env_sleep(uint64_t ticks);
long sys_yield_to(envid_t envid);

/* Queue an asynchronous message for t from `from` (0: the kernel) and end
 * its sleep: 0, -E_NO_ENTRY (no PCT entry) or -E_FULL. */
long pct_post(struct env *t, envid_t from, uint64_t a0, uint64_t a1, uint64_t a2);
/* Before e returns to user mode: deliver its oldest waiting message. */
void pct_deliver(struct env *e, struct trapframe *tf);
/* e is dying: fail the calls blocked on it. */
void pct_env_gone(struct env *e, enum env_end how);

#endif
