/*
 * Bringing up one CPU: its GDT and TSS, the %gs base that points at its
 * struct cpu, the MSRs that route `syscall` to the kernel, and the FPU/SSE
 * control bits.
 *
 * Locking: cpu_init runs on the CPU it sets up, before that CPU takes the
 * kernel lock; it writes only its own cpus[] entry. `ncpu` is written by the
 * boot CPU before others start.
 */
#include <kern/arch/cpu.h>
#include <kern/arch/console.h>
#include <kern/arch/trap.h>
#include <kern/arch/x86.h>
#include <common/string.h>
#include <kern/arch/lock.h>

struct spinlock kernel_lock; /* the big kernel lock (lock.h) */

struct cpu cpus[NCPU];
unsigned ncpu = 1;

static uint8_t kstacks[NCPU][KSTACK_SIZE] __attribute__((aligned(16)));
static uint8_t dfstacks[NCPU][ISTACK_SIZE] __attribute__((aligned(16)));
static uint8_t nmistacks[NCPU][ISTACK_SIZE] __attribute__((aligned(16)));

extern void syscall_entry(void);

/* Segment descriptors: code/data are flat; only their type and DPL matter. */
#define SEG_KCODE 0x00af9a000000ffffUL
#define SEG_KDATA 0x00cf92000000ffffUL
#define SEG_UDATA 0x00cff2000000ffffUL
#define SEG_UCODE 0x00affa000000ffffUL

static void set_tss_descriptor(uint64_t *slot, struct tss *tss)
{
	uint64_t base = (uint64_t)tss, limit = sizeof(*tss) - 1;
	slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89UL << 40) |
		  (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	slot[1] = base >> 32;
}

void cpu_init(unsigned id, uint32_t apic_id)
{
	struct cpu *c = &cpus[id];

	c->cpu_self = c;
	c->cpu_id = id;
	c->cpu_apic_id = apic_id;
	c->cpu_kstack_top = (uint64_t)&kstacks[id][KSTACK_SIZE];

	memset(&c->cpu_tss, 0, sizeof(c->cpu_tss));
	c->cpu_tss.rsp[0] = c->cpu_kstack_top;
	c->cpu_tss.ist[0] = (uint64_t)&dfstacks[id][ISTACK_SIZE];
	c->cpu_tss.ist[1] = (uint64_t)&nmistacks[id][ISTACK_SIZE];
	c->cpu_tss.iomap_base = sizeof(c->cpu_tss); /* no I/O bitmap: no port access */

	/* Order fixed by sysret: user data at STAR[63:48]+8, user code at +16. */
	c->cpu_gdt[0] = 0;
	c->cpu_gdt[GD_KT >> 3] = SEG_KCODE;
	c->cpu_gdt[GD_KD >> 3] = SEG_KDATA;
	c->cpu_gdt[GD_UD >> 3] = SEG_UDATA;
	c->cpu_gdt[GD_UT >> 3] = SEG_UCODE;
	set_tss_descriptor(&c->cpu_gdt[GD_TSS >> 3], &c->cpu_tss);

	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = { sizeof(c->cpu_gdt) - 1, (uint64_t)c->cpu_gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ds\n\t"
			 "movw %w2, %%es\n\t"
			 "movw %w2, %%ss\n\t"
			 "movw %w3, %%fs\n\t"
			 "movw %w3, %%gs\n\t"
			 "ltr %w4"
			 :
			 : "m"(gdtr), "i"(GD_KT), "r"(GD_KD), "r"(0), "r"(GD_TSS)
			 : "rax", "memory");
	wrmsr(MSR_GS_BASE, (uint64_t)c);
	wrmsr(MSR_KERNEL_GS_BASE, 0);

	/* syscall: CS = GD_KT, SS = GD_KT + 8; sysret: CS = GD_UD + 8 | 3 ... */
	wrmsr(MSR_STAR, ((uint64_t)(GD_UD - 8) << 48) | ((uint64_t)GD_KT << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	/* The kernel runs with interrupts off, string ops forward, no AC/TF. */
	wrmsr(MSR_SFMASK, FL_IF | FL_TF | FL_DF | FL_AC | FL_NT | FL_IOPL);

	uint32_t edx;
	cpuid(0x80000001, 0, NULL, NULL, NULL, &edx);
	uint64_t efer = rdmsr(MSR_EFER) | EFER_SCE;
	if (edx & (1u << 20))
		efer |= EFER_NXE;
	wrmsr(MSR_EFER, efer);

	/* FPU/SSE for user code; the kernel itself is built without them. */
	lcr0((rcr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	lcr4(rcr4() | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_PGE);
	__asm__ volatile("fninit");
}
