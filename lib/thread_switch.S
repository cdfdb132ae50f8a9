/*
 * int thread_save(struct upcall_frame *f): save the caller's state in *f as
 * an upcall frame - callee-saved registers, the stack pointer and return
 * address, flags - with uf_rax = 1, and return 0. upcall_resume(f) later
 * returns from this same call with 1, whichever stack it runs on. Caller-
 * saved registers are dead across a call, so nothing else is needed.
 */
#include <inc/upcall.h>

#define UF_RBX (UF_RAX + 8)
#define UF_RBP (UF_RAX + 48)
#define UF_R12 (UF_RAX + 88)
#define UF_R13 (UF_RAX + 96)
#define UF_R14 (UF_RAX + 104)
#define UF_R15 (UF_RAX + 112)

	.text
	.globl thread_save
thread_save:
	movq $1, UF_RAX(%rdi)
	movq %rbx, UF_RBX(%rdi)
	movq %rbp, UF_RBP(%rdi)
	movq %r12, UF_R12(%rdi)
	movq %r13, UF_R13(%rdi)
	movq %r14, UF_R14(%rdi)
	movq %r15, UF_R15(%rdi)
	movq (%rsp), %rax
	movq %rax, UF_RIP(%rdi)
	leaq 8(%rsp), %rax
	movq %rax, UF_RSP(%rdi)
	pushfq
	popq %rax
	movq %rax, UF_RFLAGS(%rdi)
	xorl %eax, %eax
	ret
