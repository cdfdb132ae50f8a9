/*
 * Every way into the kernel from an interrupt, an exception or `syscall`, and
 * the way back out. Each path builds the same struct trapframe (kern/arch/trap.h)
 * on the CPU's kernel stack, so C sees one layout whatever the entry.
 *
 * %gs: user mode runs with its own GS base and the kernel's parked in
 * KERNEL_GS_BASE; every entry from ring 3 does `swapgs` first and every exit
 * to ring 3 does it last. Entries from ring 0 (interrupts while the idle loop
 * halts) must not swap, so the interrupt path tests the saved %cs.
 */
#include <kern/arch/cpu.h>
#include <kern/arch/trap.h>
#include <inc/syscall_floor.h>

#define PUSH_GPRS \
	pushq %r15; pushq %r14; pushq %r13; pushq %r12; pushq %r11; \
	pushq %r10; pushq %r9; pushq %r8; pushq %rbp; pushq %rdi;   \
	pushq %rsi; pushq %rdx; pushq %rcx; pushq %rbx; pushq %rax

#define POP_GPRS \
	popq %rax; popq %rbx; popq %rcx; popq %rdx; popq %rsi;      \
	popq %rdi; popq %rbp; popq %r8; popq %r9; popq %r10;        \
	popq %r11; popq %r12; popq %r13; popq %r14; popq %r15

/* Vectors where the CPU pushes no error code get a zero, so frames match. */
#define TRAP_NOERR(vec) \
	.globl vector##vec; vector##vec: pushq $0; pushq $vec; jmp alltraps
#define TRAP_ERR(vec) \
	.globl vector##vec; vector##vec: pushq $vec; jmp alltraps

	/* first in the kernel's text, before the fast path (kern/arch/fastpath.h) */
	.section .text.entry, "ax"
	.balign 16
TRAP_NOERR(0)
TRAP_NOERR(1)
TRAP_NOERR(2)
TRAP_NOERR(3)
TRAP_NOERR(4)
TRAP_NOERR(5)
TRAP_NOERR(6)
TRAP_NOERR(7)
TRAP_ERR(8)
TRAP_NOERR(9)
TRAP_ERR(10)
TRAP_ERR(11)
TRAP_ERR(12)
TRAP_ERR(13)
TRAP_ERR(14)
TRAP_NOERR(15)
TRAP_NOERR(16)
TRAP_ERR(17)
TRAP_NOERR(18)
TRAP_NOERR(19)
TRAP_NOERR(20)
TRAP_ERR(21)
TRAP_NOERR(22)
TRAP_NOERR(23)
TRAP_NOERR(24)
TRAP_NOERR(25)
TRAP_NOERR(26)
TRAP_NOERR(27)
TRAP_NOERR(28)
TRAP_ERR(29)
TRAP_ERR(30)
TRAP_NOERR(31)
TRAP_NOERR(32)
TRAP_NOERR(33)
TRAP_NOERR(34)
TRAP_NOERR(35)
TRAP_NOERR(36)
TRAP_NOERR(37)
TRAP_NOERR(38)
TRAP_NOERR(39)
TRAP_NOERR(40)
TRAP_NOERR(41)
TRAP_NOERR(42)
TRAP_NOERR(43)
TRAP_NOERR(44)
TRAP_NOERR(45)
TRAP_NOERR(46)
TRAP_NOERR(47)
TRAP_NOERR(64)
TRAP_NOERR(65)
TRAP_NOERR(66)
TRAP_NOERR(67)
TRAP_NOERR(255)

alltraps:
	testb $3, 24(%rsp)      /* %cs of the interrupted code */
	jz 1f
	swapgs
1:	PUSH_GPRS
	cld
	movq %rsp, %rdi
	call trap
	/* trap() returns only for interrupts taken in the kernel itself. */
	movq %rsp, %rdi
	/* fall through */

/* void trap_return(const struct trapframe *tf) */
	.globl trap_return
trap_return:
	movq %rdi, %rsp
	POP_GPRS
	addq $16, %rsp          /* trapno, err */
	testb $3, 8(%rsp)
	jz 1f
	swapgs
1:	iretq

/*
 * `syscall`: %rcx = user %rip, %r11 = user %rflags, interrupts masked by
 * SFMASK. Save the user stack, switch to the CPU's kernel stack, and build a
 * trapframe so a call that blocks or switches envs can save it whole.
 */
	.globl syscall_entry
syscall_entry:
	cmpq $SYS_FLOOR, %rax
	je 3f
	swapgs
	movq %rsp, %gs:CPU_USER_RSP
	movq %gs:CPU_KSTACK_TOP, %rsp
	pushq $GD_UD
	pushq %gs:CPU_USER_RSP
	pushq %r11
	pushq $GD_UT
	pushq %rcx
	pushq $0
	pushq $T_SYSCALL_MARK
	PUSH_GPRS
	movq %rsp, %rdi
	call syscall
	/* Fast return to the caller with its registers as it left them. */
	POP_GPRS
	/* sysret with a non-canonical %rcx would fault in ring 0: use iretq. */
	movq 16(%rsp), %rcx
	movq %rcx, %r11
	sarq $47, %r11
	jnz 2f
	movq 32(%rsp), %r11     /* %rflags */
	movq 40(%rsp), %rsp
	swapgs
	sysretq
2:	addq $16, %rsp
	swapgs
	iretq

/* The floor of a system call (SYS_FLOOR): back to user mode at once,
 * touching nothing, for the benchmarks' "bare mechanism" figure. */
3:	sysretq

/* The floor of an exception: int $T_FLOOR enters here and returns at once. */
	.globl vector_floor
vector_floor:
	iretq
