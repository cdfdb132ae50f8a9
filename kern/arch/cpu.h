/*
 * Per-CPU state. Each CPU reaches its own struct cpu through %gs (the kernel's
 * GS base points at it while in the kernel; `swapgs` on every entry from and
 * exit to user mode), so no per-CPU field needs a lock: only its CPU touches it.
 */
#ifndef EXO_KERN_CPU_H
#define EXO_KERN_CPU_H

#define CPU_SELF 0
#define CPU_KSTACK_TOP 8
#define CPU_USER_RSP 16

#define NCPU 8                  /* CPUs Exo will run on; more are ignored */
#define KSTACK_SIZE (16 * 1024) /* kernel stack per CPU: traps never nest deep */
#define ISTACK_SIZE 4096        /* double-fault and NMI stacks */

#ifndef __ASSEMBLER__
#include <inc/types.h>

struct env;
struct vmspace;
struct trapframe;

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct cpu {
	struct cpu *cpu_self;       /* %gs:0, so C can find the struct */
	uint64_t cpu_kstack_top;    /* %gs:8, the syscall entry's stack */
	uint64_t cpu_user_rsp;      /* %gs:16, scratch for the syscall entry */
	struct env *cpu_env;        /* env running here, or NULL when idle */
	struct vmspace *cpu_vm;     /* its address space (kern/mem/vm.c) */
	struct env *cpu_fpu_owner;  /* whose FPU/SSE state is in the registers */
	struct trapframe *cpu_syscall_frame; /* the system call in progress */
	bool cpu_tlb_defer, cpu_tlb_pending; /* vm.c: batched TLB flushes */
	uint64_t cpu_slice_given;     /* slice.c: slice number + 1 given away */
	struct env *cpu_epilogue_env; /* slice.c: in its slice-end budget */
	uint64_t cpu_epilogue_deadline;
	uint32_t cpu_id;            /* index into cpus[] */
	uint32_t cpu_apic_id;
	uint64_t cpu_gdt[7];
	struct tss cpu_tss;
};

_Static_assert(__builtin_offsetof(struct cpu, cpu_kstack_top) == CPU_KSTACK_TOP, "");
_Static_assert(__builtin_offsetof(struct cpu, cpu_user_rsp) == CPU_USER_RSP, "");

extern struct cpu cpus[NCPU];
extern unsigned ncpu;

static inline struct cpu *thiscpu(void)
{
	struct cpu *c;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}

#define curenv (thiscpu()->cpu_env)

void cpu_init(unsigned id, uint32_t apic_id);
#endif

#endif
