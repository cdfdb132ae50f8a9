#ifndef EXO_KERN_PAGEWAIT_H
#define EXO_KERN_PAGEWAIT_H

#include <inc/types.h>

/* Sleeping on a word of shared memory (pagewait.c, inc/syscall.def). */
long sys_page_sleep(uint64_t va, uint64_t expected, uint64_t ticks);
long sys_page_wake(uint64_t va);

#endif
