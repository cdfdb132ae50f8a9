#ifndef EXO_KERN_SELFTEST_H
#define EXO_KERN_SELFTEST_H

/* Boot-time checks of the kernel's own invariants; panics on a failure. */
void selftest_run(void);

#endif
