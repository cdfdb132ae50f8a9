/*
 * FASTPATH: the functions a system call, a protected control transfer, a
 * yield, a page binding or an exception upcall runs through, laid out
 * together right after the entry code (.text.entry, kern/arch/trapentry.S) by
 * kern/kernel.ld.
 *
 * Why: every crossing between envs writes CR3, and under QEMU's TCG a CR3
 * write empties the whole software TLB, so each distinct page the path then
 * touches costs a page walk in the emulator; TCG also chains translated
 * blocks directly only within a page. Packed, the path's code spans a few
 * pages instead of a dozen. Measured side by side (user/bench/bench.c, three
 * boots each, medians, another guest running): PCT, PCT send and pipe round
 * trips about 9% cheaper, yield 15%, prot100 8%; the exception upcall and
 * the VM trap 7-8% dearer and appel1 5%, since their path now hops between
 * trap.c, left in place, and the packed pages (marking trap() too was worse
 * still). Three quiet make bench runs since gave the exception round trip
 * 2.37k, 2.16k and 2.13k cycles (the old layout's tables: 2.0k-2.2k).
 * On hardware it only helps the i-TLB.
 *
 * Mark a function only if every crossing of some fast kind runs it: anything
 * else dilutes the pages.
 */
#ifndef EXO_KERN_FASTPATH_H
#define EXO_KERN_FASTPATH_H

#define FASTPATH __attribute__((section(".text.fastpath")))

#endif
