#ifndef EXO_KERN_REVOKE_H
#define EXO_KERN_REVOKE_H

#include <inc/types.h>

struct env;
struct trapframe;

#define REVOKE_DEADLINE_TICKS 200 /* 200 ms at 1000 Hz to comply */

/* Ask e to give back n pages by the deadline (visible revocation). */
void revoke_request(struct env *e, uint64_t n);
/* The kernel needs pages and found none free: ask the biggest env but
 * requester for some back. */
void revoke_for_memory(struct env *requester);
/* Timer tick: run the abort protocol on envs past their deadline. */
void revoke_tick(uint64_t now);
/* Before e returns to user mode: deliver pending revocation and
 * repossession upcalls into tf (e's saved registers). */
void revoke_deliver(struct env *e, struct trapframe *tf);

#endif
