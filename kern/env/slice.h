#ifndef EXO_KERN_SLICE_H
#define EXO_KERN_SLICE_H

#include <inc/slice.h>
#include <kern/env/env.h>

struct trapframe;

extern struct slice_vec *const slice_vec;

void slice_init(void);
/* The timer ticked on this CPU (tf: what it interrupted). Runs the slot's
 * owner, upcalls slice ends, charges overruns, or lets the scheduler pick. */
void slice_tick(struct trapframe *tf) __attribute__((noreturn));
/* The env sched_yield should run next on this CPU, or NULL for the run
 * queue: the owner of the current slot, if it is ready and has not given
 * the slot away. */
struct env *slice_pick(void);
/* e gives away the rest of its slot (yield, yield_to). */
void slice_yielded(struct env *e);
/* e is about to run: deliver its slice-start upcall if one is due. */
void slice_prologue(struct env *e);
/* e is dying: free its slots. */
void slice_env_gone(struct env *e, enum env_end how);

long sys_slice_alloc(uint64_t cpu, uint64_t slot, envid_t envid, uint64_t cap);
long sys_slice_free(uint64_t cpu, uint64_t slot, uint64_t cap);

#endif
