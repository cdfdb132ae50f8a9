#ifndef EXO_KERN_TRACE_H
#define EXO_KERN_TRACE_H

#include <inc/types.h>

struct env;
struct trapframe;

/* Switch tracing of e on or off. */
void trace_set(struct env *e, bool on);
/* Set the env layer's debugging hooks (env_debug) to the functions below. */
void trace_init(void);
/* Dispatch a system call of a traced env (curenv->env_trace) through
 * dispatch, and log it. */
long trace_syscall(struct trapframe *tf, long (*dispatch)(struct trapframe *tf));
/* The traced call in progress gives up the CPU without returning through
 * the dispatcher (it waits, yields or ends its env): log what is known.
 * Called by sched_yield when trace_in_call is set. */
void trace_leave(void);
/* e, a traced env, is about to run: log the result of a call it waited in. */
void trace_resume(struct env *e);
/* An upcall (trapno, with err and va) interrupting e at rip was delivered. */
void trace_upcall(struct env *e, uint64_t trapno, uint64_t err, uint64_t va, uint64_t rip);

#endif
