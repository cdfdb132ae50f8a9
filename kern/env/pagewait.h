#ifndef EXO_KERN_PAGEWAIT_H
#define EXO_KERN_PAGEWAIT_H

#include <inc/types.h>
#include <kern/env/env.h>

/* Sleeping on a word of shared memory (pagewait.c, inc/syscall.def). */
long sys_page_sleep(uint64_t va, uint64_t expected, uint64_t ticks);
long sys_page_wake(uint64_t va);
long sys_page_sleep_any(uint64_t words, uint64_t n, uint64_t flags, uint64_t ticks);
/* Take sleeping e's words out of the wake index (its sleep ends). */
void pagewait_unwatch(struct env *e);
/* An env died: end every page_sleep_any, whose words it may have shared;
 * an env died or exec'd: its words' page goes. */
void pagewait_env_gone(struct env *e, enum env_end how);

#endif
