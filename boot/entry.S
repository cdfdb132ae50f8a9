/*
 * The first code that runs: from the boot loader's 32-bit protected mode to the
 * kernel's 64-bit C entry, kmain(boot_protocol, boot_info_pa).
 *
 * Two boot protocols lead here, both entering in 32-bit protected mode with
 * paging off and the image loaded at its physical addresses:
 *   - PVH (QEMU -kernel, Xen): %ebx = physical address of struct hvm_start_info.
 *     QEMU boots an ELF64 directly only when it carries the PVH entry note.
 *   - Multiboot2 (GRUB, `make iso`): %eax = 0x36d76289, %ebx = the boot info.
 *
 * Both jump to a common path that turns on PAE paging with a boot page table
 * mapping the first GiB twice - at 0 (identity, for the instructions that
 * switch modes) and at KERNBASE (where the kernel is linked) - enters long
 * mode and jumps to the kernel's higher half. kmain replaces these tables.
 *
 * Everything in this file before `boot_high` runs at physical addresses, so it
 * lives in the .boot sections which the linker script places at their load
 * addresses.
 */
#include <inc/memlayout.h>
#include <kern/arch/bootproto.h>

#define CR0_PE 0x00000001
#define CR0_WP 0x00010000
#define CR0_PG 0x80000000
#define CR4_PAE 0x00000020
#define MSR_EFER 0xc0000080
#define EFER_LME 0x00000100
#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_PS 0x80

/* Multiboot2 header: magic, architecture (i386), length, checksum, tags. */
	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long 0xe85250d6
	.long 0
	.long mb2_header_end - mb2_header
	.long -(0xe85250d6 + (mb2_header_end - mb2_header))
	.balign 8
	.word 3, 0              /* entry address tag: where to start in 32-bit */
	.long 12
	.long mb2_entry
	.balign 8
	.word 0, 0              /* end tag */
	.long 8
mb2_header_end:

/* PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY = 18). */
	.section .note.Xen, "a"
	.balign 4
	.long 4, 4, 18
	.asciz "Xen"
	.balign 4
	.long pvh_entry

	.section .boot.text, "ax"
	.code32
	.globl pvh_entry
pvh_entry:
	cli
	movl $BOOT_PVH, %edi
	movl %ebx, %esi
	jmp common32

	.globl mb2_entry
mb2_entry:
	cli
	movl $BOOT_UNKNOWN, %edi
	cmpl $0x36d76289, %eax
	jne 1f
	movl $BOOT_MULTIBOOT2, %edi
1:	movl %ebx, %esi
	/* fall through */

common32:
	lgdt boot_gdtdesc
	movl $0x10, %eax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PE | CR0_PG | CR0_WP), %eax
	movl %eax, %cr0
	ljmp $0x08, $entry64

	.code64
entry64:
	movl $0x10, %eax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorl %eax, %eax
	movw %ax, %fs
	movw %ax, %gs
	movabsq $boot_high, %rax
	jmp *%rax

/* A GDT with one 64-bit code segment (0x08) and one data segment (0x10). */
	.section .boot.data, "aw"
	.balign 16
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff
	.quad 0x00cf92000000ffff
boot_gdtdesc:
	.word boot_gdtdesc - boot_gdt - 1
	.long boot_gdt

/* Boot page tables: [0, 1 GiB) at 0 and at KERNBASE, with 2 MiB pages. */
	.balign 4096
boot_pml4:
	.quad boot_pdpt_low + (PTE_P | PTE_W)
	.fill 510, 8, 0
	.quad boot_pdpt_high + (PTE_P | PTE_W)
boot_pdpt_low:
	.quad boot_pd + (PTE_P | PTE_W)
	.fill 511, 8, 0
boot_pdpt_high:
	.fill 510, 8, 0
	.quad boot_pd + (PTE_P | PTE_W)
	.quad 0
boot_pd:
	.set i, 0
	.rept 512
	.quad (i << 21) + (PTE_P | PTE_W | PTE_PS)
	.set i, i + 1
	.endr

/* From here on the code runs at its linked (higher-half) address. */
	.text
	.code64
boot_high:
	movl %edi, %r12d        /* zero-extends: the upper halves are undefined */
	movl %esi, %r13d
	/* The loaders zero .bss, but nothing requires them to: do it here. */
	movabsq $__bss_start, %rdi
	movabsq $__bss_end, %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	cld
	rep stosb
	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp         /* ends the frame-pointer chain for backtraces */
	movq %r12, %rdi
	movq %r13, %rsi
	call kmain
1:	cli
	hlt
	jmp 1b

	.bss
	.balign 4096
	.globl boot_stack, boot_stack_top
boot_stack:
	.space 16384
boot_stack_top:
