#ifndef EXO_KERN_UPCALL_H
#define EXO_KERN_UPCALL_H

#include <inc/types.h>

struct env;
struct trapframe;

/*
 * Push an upcall frame for trapno (with err and va) onto e's exception stack
 * and point tf at e's entry. NULL on success, or why it could not be done
 * (no entry, bad stack, ...): then tf is unchanged.
 */
const char *upcall_push(struct env *e, struct trapframe *tf, uint64_t trapno, uint64_t err,
			uint64_t va);

#endif
