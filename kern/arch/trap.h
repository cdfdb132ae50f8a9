/*
 * Interrupt vectors, the kernel's trap frame, and trap handling entry points.
 */
#ifndef EXO_KERN_TRAP_H
#define EXO_KERN_TRAP_H

#define IRQ_PIC_BASE 32   /* the masked 8259s, remapped: only spurious IRQs */
#define IRQ_TIMER 64      /* LAPIC timer */
#define IRQ_SERIAL 65     /* COM1, ISA IRQ 4 through the IOAPIC */
#define IRQ_NET 66        /* the NIC, by MSI-X (virtio_net.c) */
#define IRQ_DISK 67       /* the disk, by MSI-X (virtio_blk.c) */
#define IRQ_SPURIOUS 255  /* LAPIC spurious vector */
#define T_SYSCALL_MARK 256 /* tf_trapno of a frame built by syscall_entry */

#define GD_KT 0x08        /* kernel code */
#define GD_KD 0x10        /* kernel data */
#define GD_UD 0x1b        /* user data (RPL 3); sysret needs it right below */
#define GD_UT 0x23        /* user code (RPL 3) */
#define GD_TSS 0x28       /* two slots */

/* Offsets into struct trapframe, for assembly. */
#define TF_RAX 0
#define TF_RCX 16
#define TF_R11 80
#define TF_TRAPNO 120
#define TF_ERR 128
#define TF_RIP 136
#define TF_CS 144
#define TF_RFLAGS 152
#define TF_RSP 160
#define TF_SS 168
#define TF_SIZE 176

#ifndef __ASSEMBLER__
#include <inc/types.h>

/* Saved user (or kernel) state at a trap, laid out as trapentry.S pushes it. */
struct trapframe {
	uint64_t tf_rax, tf_rbx, tf_rcx, tf_rdx, tf_rsi, tf_rdi, tf_rbp;
	uint64_t tf_r8, tf_r9, tf_r10, tf_r11, tf_r12, tf_r13, tf_r14, tf_r15;
	uint64_t tf_trapno, tf_err;
	/* pushed by the CPU */
	uint64_t tf_rip, tf_cs, tf_rflags, tf_rsp, tf_ss;
};

_Static_assert(__builtin_offsetof(struct trapframe, tf_rax) == TF_RAX, "");
_Static_assert(__builtin_offsetof(struct trapframe, tf_rcx) == TF_RCX, "");
_Static_assert(__builtin_offsetof(struct trapframe, tf_r11) == TF_R11, "");
_Static_assert(__builtin_offsetof(struct trapframe, tf_trapno) == TF_TRAPNO, "");
_Static_assert(__builtin_offsetof(struct trapframe, tf_err) == TF_ERR, "");
_Static_assert(__builtin_offsetof(struct trapframe, tf_rip) == TF_RIP, "");
_Static_assert(__builtin_offsetof(struct trapframe, tf_cs) == TF_CS, "");
_Static_assert(__builtin_offsetof(struct trapframe, tf_rflags) == TF_RFLAGS, "");
_Static_assert(__builtin_offsetof(struct trapframe, tf_rsp) == TF_RSP, "");
_Static_assert(__builtin_offsetof(struct trapframe, tf_ss) == TF_SS, "");
_Static_assert(sizeof(struct trapframe) == TF_SIZE, "");

void trap_init(void);
void trap_init_percpu(void);
void trap(struct trapframe *tf);
void print_trapframe(const struct trapframe *tf);
/* "page fault", "general protection", ... for an exception vector. */
const char *trap_name(uint64_t n);
/* Return to user mode with the state in tf. Never returns. */
void trap_return(const struct trapframe *tf) __attribute__((noreturn));

#endif
#endif
