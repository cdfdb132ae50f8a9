/*
 * Program entry. The kernel's loader starts a program with %rdi = argc,
 * %rsi = argv and a stack; libos_start sets up the library OS and calls main.
 */
	.section .text.start, "ax"
	.globl _start
_start:
	xorl %ebp, %ebp         /* ends the frame-pointer chain */
	andq $-16, %rsp
	call libos_start
	ud2
