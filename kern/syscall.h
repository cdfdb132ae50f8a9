#ifndef EXO_KERN_SYSCALL_H
#define EXO_KERN_SYSCALL_H

#include <kern/trap.h>

/* Called by syscall_entry with the caller's registers; the result goes in
 * tf->tf_rax. */
void syscall(struct trapframe *tf);

#endif
