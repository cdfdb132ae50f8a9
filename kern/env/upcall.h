#ifndef EXO_KERN_UPCALL_H
#define EXO_KERN_UPCALL_H

#include <inc/types.h>
#include <inc/upcall.h>

struct env;
struct trapframe;

/*
 * Push an upcall frame for trapno (with err and va) onto e's exception stack
 * and point tf at e's entry. NULL on success, or why it could not be done
 * (no entry, bad stack, ...): then tf is unchanged.
 */
const char *upcall_push(struct env *e, struct trapframe *tf, uint64_t trapno, uint64_t err,
			uint64_t va);

/* The same on e's PCT route (entry and stack set by UPCALL_PCT), for a
 * protected control transfer from caller with args; the entry starts as the
 * C call handler(frame, caller, args[0], args[1], args[2]). */
const char *upcall_push_pct(struct env *e, struct trapframe *tf, uint64_t trapno, envid_t caller,
			    const uint64_t args[PCT_ARGS]);
/* A callee that replied and has not run since is still inside its last call
 * frame, whose interrupted state is what it will resume: deliver the next
 * call in that same frame instead of nesting a new one. */
const char *upcall_reuse_pct(struct env *e, struct trapframe *tf, envid_t caller,
			     const uint64_t args[PCT_ARGS]);
/* The same on e's slice route (UPCALL_SLICE): T_PROLOGUE or T_EPILOGUE. */
const char *upcall_push_slice(struct env *e, struct trapframe *tf, uint64_t trapno, uint64_t err);

#endif
