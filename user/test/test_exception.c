/*
 * Exception upcalls: each kind of fault reaches the handler with the right
 * trap number, error code, address and interrupted state; the handler resumes
 * the interrupted code in user space with every register, the flags and the
 * red zone intact; handlers can fault and nest.
 */
#include <lib/base/test.h>

#define DEMAND 0x0000300000000000UL

static volatile struct upcall_frame last;
static volatile int calls, depth, max_depth;
static uint64_t resume_rip;

static volatile uint64_t entry_flags, debug_traps;

static void handler(struct upcall_frame *uf)
{
	uint64_t fl;
	__asm__ volatile("pushfq; popq %0" : "=r"(fl));
	entry_flags = fl;
	calls++;
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	memcpy((void *)&last, uf, sizeof(*uf));
	switch (uf->uf_trapno) {
	case T_DEBUG:
		/* single-stepping: stop it, or every instruction traps */
		debug_traps++;
		uf->uf_rflags &= ~0x100UL;
		break;
	case T_BRKPT:
		/* rip is already past the int3 */
		if (uf->uf_rax == 0xdeadbeef && depth == 1)
			__asm__ volatile("int3"); /* nested: fault inside the handler */
		break;
	case T_PGFLT:
		if (uf->uf_va >= DEMAND && uf->uf_va < DEMAND + (1UL << 30) &&
		    !(uf->uf_err & PF_PRESENT)) {
			page_alloc_bind(ROUNDDOWN(uf->uf_va, PAGE_SIZE)); /* demand paging */
			break;
		}
		uf->uf_rip = resume_rip;
		break;
	default:
		uf->uf_rip = resume_rip;
	}
	depth--;
}

#define AT_RESUME(insn)                                          \
	__asm__ volatile("leaq 1f(%%rip), %%rax\n\t"             \
			 "movq %%rax, %0\n\t" insn "\n1:"        \
			 : "=m"(resume_rip)                      \
			 :                                       \
			 : "rax", "rdx", "rcx", "memory")

static void check_registers_survive(void)
{
	/* Load known values, trap, and compare every register afterwards. */
	uint64_t out[14];
	__asm__ volatile("pushq %%rbp\n\t"
			 "pushq %%rbx\n\t"
			 "pushq %%rdi\n\t"
			 "movq $0x1111, %%rax\n\t"
			 "movq $0x2222, %%rbx\n\t"
			 "movq $0x3333, %%rcx\n\t"
			 "movq $0x4444, %%rdx\n\t"
			 "movq $0x5555, %%rsi\n\t"
			 "movq $0x7777, %%rbp\n\t"
			 "movq $0x8888, %%r8\n\t"
			 "movq $0x9999, %%r9\n\t"
			 "movq $0xaaaa, %%r10\n\t"
			 "movq $0xbbbb, %%r11\n\t"
			 "movq $0xcccc, %%r12\n\t"
			 "movq $0xdddd, %%r13\n\t"
			 "movq $0xeeee, %%r14\n\t"
			 "movq $0xffff, %%r15\n\t"
			 "int3\n\t"
			 "movq (%%rsp), %%rdi\n\t"
			 "movq %%rax, 0(%%rdi)\n\t"
			 "movq %%rbx, 8(%%rdi)\n\t"
			 "movq %%rcx, 16(%%rdi)\n\t"
			 "movq %%rdx, 24(%%rdi)\n\t"
			 "movq %%rsi, 32(%%rdi)\n\t"
			 "movq %%rbp, 40(%%rdi)\n\t"
			 "movq %%r8, 48(%%rdi)\n\t"
			 "movq %%r9, 56(%%rdi)\n\t"
			 "movq %%r10, 64(%%rdi)\n\t"
			 "movq %%r11, 72(%%rdi)\n\t"
			 "movq %%r12, 80(%%rdi)\n\t"
			 "movq %%r13, 88(%%rdi)\n\t"
			 "movq %%r14, 96(%%rdi)\n\t"
			 "movq %%r15, 104(%%rdi)\n\t"
			 "popq %%rdi\n\t"
			 "popq %%rbx\n\t"
			 "popq %%rbp"
			 :
			 : "D"(out)
			 : "rax", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "r12", "r13",
			   "r14", "r15", "memory");
	static const uint64_t want[14] = { 0x1111, 0x2222, 0x3333, 0x4444, 0x5555,
					   0x7777, 0x8888, 0x9999, 0xaaaa, 0xbbbb,
					   0xcccc, 0xdddd, 0xeeee, 0xffff };
	bool same = true;
	for (int i = 0; i < 14; i++)
		same = same && out[i] == want[i];
	check("registers-survive", same);
	check("handler-saw-registers", last.uf_rbx == 0x2222 && last.uf_r15 == 0xffff);
}

static void check_flags_and_redzone(void)
{
	uint64_t flags_after, red0, red1;
	/* Set CF, fill the red zone, trap, then read both back. */
	__asm__ volatile("movq $0x5a5a5a5a, %%rax\n\t"
			 "movq %%rax, -8(%%rsp)\n\t"
			 "movq %%rax, -128(%%rsp)\n\t"
			 "stc\n\t"
			 "int3\n\t"
			 "movq -8(%%rsp), %1\n\t"
			 "movq -128(%%rsp), %2\n\t"
			 "pushfq\n\t"
			 "popq %0"
			 : "=r"(flags_after), "=r"(red0), "=r"(red1)
			 :
			 : "rax", "memory", "cc");
	check("flags-survive", flags_after & 1);
	check("red-zone-survives", red0 == 0x5a5a5a5a && red1 == 0x5a5a5a5a);
}

int main(void)
{
	/* with no handler registered, the kernel kills: tested in test_hostile */
	check_eq("set-handler", exception_set_handler(handler), 0);

	calls = 0;
	__asm__ volatile("int3");
	check("breakpoint", calls == 1 && last.uf_trapno == T_BRKPT);

	/* Clean flags in the handler (issue 13, finding 9), the interrupted
	 * ones in the frame: DF set by the interrupted code stays there. */
	__asm__ volatile("std; int3; cld" ::: "memory");
	check_eq("upcall-flags-clean", (long)(entry_flags & 0x40700), 0x200);
	check("upcall-frame-keeps-df", (last.uf_rflags & 0x400) != 0);
	/* TF set: one single-step trap, handled with TF clear, not a nest of
	 * them until the stack overflows. */
	debug_traps = 0;
	__asm__ volatile("pushfq\n\t"
			 "orq $0x100, (%%rsp)\n\t"
			 "popfq\n\t"
			 "nop\n\t"
			 "nop" ::: "memory", "cc");
	check_eq("single-step-once", (long)debug_traps, 1);
	check_eq("single-step-handler-flags", (long)(entry_flags & 0x40700), 0x200);

	uint64_t rsp_before;
	__asm__ volatile("movq %%rsp, %0\n\tint3" : "=r"(rsp_before));
	check("frame-rsp", last.uf_rsp == rsp_before);

	check_registers_survive();
	check_flags_and_redzone();

	AT_RESUME("xorl %%ecx, %%ecx\n\tmovl $1, %%eax\n\tcltd\n\tidivl %%ecx");
	check("divide-error", last.uf_trapno == T_DIVIDE);

	AT_RESUME("ud2");
	check("invalid-opcode", last.uf_trapno == T_ILLOP);

	AT_RESUME("hlt");
	check("privileged-gp", last.uf_trapno == T_GPFLT && last.uf_err == 0);

	AT_RESUME("movq $0, %%rcx\n\tmovq (%%rcx), %%rcx");
	check("null-page-fault", last.uf_trapno == T_PGFLT && last.uf_va == 0 &&
					 (last.uf_err & PF_USER) && !(last.uf_err & PF_WRITE));

	/* the direct map: present, but the kernel's */
	AT_RESUME("movabsq $0xffff800000100000, %%rcx\n\tmovq (%%rcx), %%rcx");
	check("kernel-address-fault", last.uf_trapno == T_PGFLT &&
					      last.uf_va == 0xffff800000100000UL &&
					      (last.uf_err & PF_PRESENT));

	AT_RESUME("movabsq $0x800000000000, %%rcx\n\tmovq (%%rcx), %%rcx");
	check("non-canonical-gp", last.uf_trapno == T_GPFLT);

	/* demand paging: the handler binds the page and the access retries */
	volatile uint64_t *d = (volatile uint64_t *)(DEMAND + 0x123 * 8);
	calls = 0;
	uint64_t v = *d;
	check("demand-zero-read", v == 0 && calls == 1);
	*d = 42;
	check("demand-write-after", *d == 42 && calls == 1);
	d[PAGE_SIZE] = 7; /* 8 pages on */
	check("demand-second-page", d[PAGE_SIZE] == 7 && calls == 2);

	/* nested: the handler itself traps */
	max_depth = 0;
	__asm__ volatile("movl $0xdeadbeef, %%eax\n\tint3" : : : "rax", "memory");
	check("nested-exception", max_depth == 2);

	/* many round trips */
	calls = 0;
	for (int i = 0; i < 1000; i++)
		__asm__ volatile("int3");
	check("thousand-round-trips", calls == 1000);

	return test_finish();
}
