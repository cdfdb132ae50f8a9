/*
 * The exception upcall trampoline and the return path that resumes the
 * interrupted code without entering the kernel (see inc/upcall.h).
 *
 * On entry %rsp = %rdi = the struct upcall_frame the kernel wrote; every other
 * register still holds the interrupted code's value (and is also saved in the
 * frame), so the trampoline may use them freely.
 *
 * Resuming must restore all registers, %rflags, %rsp and %rip at once. The
 * trick: store the target %rip on the interrupted stack just below its red
 * zone, point %rsp at it, and `ret $128`, which pops %rip and then steps %rsp
 * back over the red zone to exactly its old value. Only movs and the final
 * ret follow popfq, so the restored flags survive.
 */
#include <inc/upcall.h>

	.text
	.globl upcall_entry
upcall_entry:
	movq %rsp, %rbx             /* the frame; %rbx is callee-saved */
	andq $-16, %rsp
	call *exception_handler(%rip)
	movq %rbx, %rdi
	/* fall through */

/* void upcall_resume(const struct upcall_frame *uf) -- never returns */
	.globl upcall_resume
upcall_resume:
	/* The one store that can fault (the target stack may be a page not yet
	 * bound) happens while %rsp is still ours, so the fault nests safely. */
	movq UF_RSP(%rdi), %rax
	subq $(UPCALL_REDZONE + UPCALL_RESUME_SLOT), %rax
	movq UF_RIP(%rdi), %rcx
	movq %rcx, (%rax)
	movq %rax, UF_RSP(%rdi)
	movq %rdi, %rsp
	movq UF_RAX + 8(%rsp), %rbx
	movq UF_RAX + 16(%rsp), %rcx
	movq UF_RAX + 24(%rsp), %rdx
	movq UF_RAX + 32(%rsp), %rsi
	movq UF_RAX + 40(%rsp), %rdi
	movq UF_RAX + 48(%rsp), %rbp
	movq UF_RAX + 56(%rsp), %r8
	movq UF_RAX + 64(%rsp), %r9
	movq UF_RAX + 72(%rsp), %r10
	movq UF_RAX + 80(%rsp), %r11
	movq UF_RAX + 88(%rsp), %r12
	movq UF_RAX + 96(%rsp), %r13
	movq UF_RAX + 104(%rsp), %r14
	movq UF_RAX + 112(%rsp), %r15
	movq UF_RAX(%rsp), %rax
	leaq UF_RFLAGS(%rsp), %rsp
	popfq
	movq (%rsp), %rsp
	ret $UPCALL_REDZONE

/*
 * The protected-control-transfer entry: like upcall_entry, but on the PCT
 * stack, and %rsi, %rdx, %rcx, %r8 already hold the caller's id and the three
 * arguments, so pct_dispatch(frame, caller, a0, a1, a2) is called with the
 * registers as the kernel left them.
 */
	.globl pct_entry
pct_entry:
	movq %rdi, %rbx             /* the frame */
	andq $-16, %rsp
	call pct_dispatch
	movq %rbx, %rdi
	jmp upcall_resume

/*
 * int upcall_save(struct upcall_frame *f): save the caller's state in *f as
 * an upcall frame - callee-saved registers, the stack pointer and return
 * address, flags - with uf_rax = 1, and return 0. upcall_resume(f) later
 * returns from this same call with 1, on whatever stack it runs: a thread
 * switch, or (as env_regs) where a forked child starts. Caller-saved
 * registers are dead across a call, so nothing else is needed.
 */
#define UF_RBX (UF_RAX + 8)
#define UF_RBP (UF_RAX + 48)
#define UF_R12 (UF_RAX + 88)
#define UF_R13 (UF_RAX + 96)
#define UF_R14 (UF_RAX + 104)
#define UF_R15 (UF_RAX + 112)

	.globl upcall_save
upcall_save:
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
