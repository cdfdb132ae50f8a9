#ifndef EXO_KERN_SYSCALL_H
#define EXO_KERN_SYSCALL_H

#include <kern/arch/trap.h>

/* Called by syscall_entry with the caller's registers; the result goes in
 * tf->tf_rax. */
void syscall(struct trapframe *tf);
/* Run the call tf names with tf's arguments; its result. (trace.c too) */
long syscall_dispatch(struct trapframe *tf);

#endif
