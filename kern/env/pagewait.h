#ifndef EXO_KERN_PAGEWAIT_H
#define EXO_KERN_PAGEWAIT_H

#include <inc/types.h>
#include <kern/env/env.h>

/* Sleeping on a word of shared memory (pagewait.c, inc/syscall.def). */
long sys_page_sleep(uint64_t va, uint64_t expected, uint64_t ticks);
long sys_page_wake(uint64_t va);
long sys_page_sleep_any(uint64_t words, uint64_t n, uint64_t flags, uint64_t ticks);
/* Does sleeping e watch the word at physical address pa (page_sleep or
 * page_sleep_any)? For sched_wake_word. */
bool pagewait_watches(struct env *e, uint64_t pa);
/* An env died: end every page_sleep_any, whose words it may have shared. */
void pagewait_env_gone(struct env *e, enum env_end how);

#endif
