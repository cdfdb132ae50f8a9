/*
 * long fork_capture(struct env_regs *r): like setjmp, for a child env. Saves
 * the callee-saved registers, the stack pointer and the return address in *r
 * with r_rax = 1, and returns 0. An env started from *r (sys_env_set_regs)
 * returns from this same call with 1; everything else the compiler keeps
 * across a call is dead here, so nothing more needs saving.
 */
#include <inc/env.h>

	.text
	.globl fork_capture
fork_capture:
	movq $1, R_RAX(%rdi)
	movq %rbx, R_RBX(%rdi)
	movq %rbp, R_RBP(%rdi)
	movq %r12, R_R12(%rdi)
	movq %r13, R_R13(%rdi)
	movq %r14, R_R14(%rdi)
	movq %r15, R_R15(%rdi)
	movq (%rsp), %rax
	movq %rax, R_RIP(%rdi)
	leaq 8(%rsp), %rax
	movq %rax, R_RSP(%rdi)
	xorl %eax, %eax
	ret
