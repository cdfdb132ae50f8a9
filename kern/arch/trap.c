/*
 * The interrupt descriptor table: which entry stub (trapentry.S) each
 * vector goes to, with what privilege and which interrupt stack; and the
 * names and printout of a trap frame. What a trap then does is decided at
 * the top of the kernel (kern/trap.c), which every layer may reach.
 */
#include <inc/syscall_floor.h>
#include <inc/upcall.h>
#include <kern/arch/console.h>
#include <kern/arch/trap.h>
#include <kern/arch/x86.h>
#include <common/string.h>

struct gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, reserved;
};

static struct gate idt[256];

#define GATE_INTERRUPT 0x8e /* present, DPL 0, interrupts off on entry */

static void set_gate(int vec, void (*fn)(void), int dpl, int ist)
{
	uint64_t off = (uint64_t)fn;
	idt[vec] = (struct gate){
		.off_lo = off & 0xffff,
		.sel = GD_KT,
		.ist = (uint8_t)ist,
		.type = (uint8_t)(GATE_INTERRUPT | (dpl << 5)),
		.off_mid = (off >> 16) & 0xffff,
		.off_hi = (uint32_t)(off >> 32),
	};
}

/* The entry stubs of trapentry.S, one per vector it lists. */
/* clang-format off */
#define V(n) extern void vector##n(void);
V(0) V(1) V(2) V(3) V(4) V(5) V(6) V(7) V(8) V(9) V(10) V(11) V(12) V(13) V(14) V(15)
V(16) V(17) V(18) V(19) V(20) V(21) V(22) V(23) V(24) V(25) V(26) V(27) V(28) V(29)
V(30) V(31) V(32) V(33) V(34) V(35) V(36) V(37) V(38) V(39) V(40) V(41) V(42) V(43)
V(44) V(45) V(46) V(47) V(64) V(65) V(66) V(67) V(255) V(_floor)
#undef V

static void (*const exception_vectors[32])(void) = {
	vector0,  vector1,  vector2,  vector3,  vector4,  vector5,  vector6,  vector7,
	vector8,  vector9,  vector10, vector11, vector12, vector13, vector14, vector15,
	vector16, vector17, vector18, vector19, vector20, vector21, vector22, vector23,
	vector24, vector25, vector26, vector27, vector28, vector29, vector30, vector31,
};
/* clang-format on */

static void (*const pic_vectors[16])(void) = {
	vector32, vector33, vector34, vector35, vector36, vector37, vector38, vector39,
	vector40, vector41, vector42, vector43, vector44, vector45, vector46, vector47,
};

void trap_init(void)
{
	for (int i = 0; i < 32; i++)
		set_gate(i, exception_vectors[i], 0, 0);
	/* int3 and into may be used on purpose by user code */
	set_gate(T_BRKPT, vector3, 3, 0);
	set_gate(T_OFLOW, vector4, 3, 0);
	set_gate(T_DBLFLT, vector8, 0, 1);
	set_gate(T_NMI, vector2, 0, 2);
	for (int i = 0; i < 16; i++)
		set_gate(IRQ_PIC_BASE + i, pic_vectors[i], 0, 0);
	set_gate(IRQ_TIMER, vector64, 0, 0);
	set_gate(IRQ_SERIAL, vector65, 0, 0);
	set_gate(IRQ_NET, vector66, 0, 0);
	set_gate(IRQ_DISK, vector67, 0, 0);
	set_gate(IRQ_SPURIOUS, vector255, 0, 0);
	set_gate(T_FLOOR, vector_floor, 3, 0); /* benchmarks: int + iretq only */
}

void trap_init_percpu(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

const char *trap_name(uint64_t n)
{
	static const char *const names[] = {
		"divide error",
		"debug",
		"NMI",
		"breakpoint",
		"overflow",
		"BOUND range",
		"invalid opcode",
		"device not available",
		"double fault",
		"reserved",
		"invalid TSS",
		"segment not present",
		"stack fault",
		"general protection",
		"page fault",
		"reserved",
		"x87 FPU error",
		"alignment check",
		"machine check",
		"SIMD exception",
		"virtualization",
		"control protection",
	};
	if (n < ARRAY_SIZE(names))
		return names[n];
	if (n == T_SYSCALL_MARK)
		return "system call";
	return n < 32 ? "reserved exception" : "interrupt";
}

void print_trapframe(const struct trapframe *tf)
{
	cprintf("trap %lu (%s) err %#lx\n", tf->tf_trapno, trap_name(tf->tf_trapno), tf->tf_err);
	cprintf("  rip %016lx cs %04lx rflags %08lx rsp %016lx ss %04lx\n", tf->tf_rip, tf->tf_cs,
		tf->tf_rflags, tf->tf_rsp, tf->tf_ss);
	cprintf("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", tf->tf_rax, tf->tf_rbx,
		tf->tf_rcx, tf->tf_rdx);
	cprintf("  rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n", tf->tf_rsi, tf->tf_rdi,
		tf->tf_rbp, tf->tf_r8);
	cprintf("  r9  %016lx r10 %016lx r11 %016lx r12 %016lx\n", tf->tf_r9, tf->tf_r10,
		tf->tf_r11, tf->tf_r12);
	cprintf("  r13 %016lx r14 %016lx r15 %016lx cr2 %016lx\n", tf->tf_r13, tf->tf_r14,
		tf->tf_r15, rcr2());
}
