/*
 * Post-mortem reports: what the console shows when the kernel panics or
 * kills an env, so the cause can be found from the serial log alone.
 *
 * A kernel backtrace walks the frame-pointer chain (the kernel is built with
 * -fno-omit-frame-pointer) and names each return address with ksym_lookup.
 * Every frame pointer is checked to lie on a kernel stack (they are all in
 * .bss) and to move up the stack before it is read, so a corrupt chain ends
 * the walk instead of faulting inside a panic.
 *
 * An env's kill report is one paragraph: who, why, where it faulted, and its
 * user-space backtrace, walked through copy_from_user (user code is built
 * with frame pointers too) and named from its program's ELF symbols. It is
 * written before the env's pages are taken away, and printed in one piece so
 * another CPU's output cannot split it.
 *
 * Locking: report_kill runs under the big kernel lock (its buffer is
 * shared); the kernel backtrace runs in a panic, with other output stopped.
 */
#include <inc/upcall.h>
#include <kern/arch/console.h>
#include <kern/env/env.h>
#include <kern/debug/ksym.h>
#include <kern/env/loader.h>
#include <kern/debug/report.h>
#include <kern/arch/cpu.h>
#include <kern/arch/trap.h>
#include <kern/mem/vm.h>
#include <kern/arch/x86.h>
#include <common/fmt.h>

#define KERN_FRAMES_MAX 32 /* deeper kernel stacks are a bug of their own */
#define USER_FRAMES_MAX 16 /* enough to see how a program got there */

extern char __bss_start[], __bss_end[];

/* Can a kernel frame record (saved %rbp, return %rip) be read at rbp? */
static bool kernel_frame_ok(uint64_t rbp)
{
	return rbp % 8 == 0 && rbp >= (uint64_t)__bss_start && rbp + 16 <= (uint64_t)__bss_end;
}

static void print_kernel_frame(uint64_t rip, bool is_return)
{
	/* a return address may be just past a call that does not return:
	 * name the function the call was in */
	struct sym s;
	if (ksym_lookup(is_return ? rip - 1 : rip, &s))
		cprintf("  %#018lx %s+%#lx\n", rip, s.s_name, s.s_off + (is_return ? 1 : 0));
	else
		cprintf("  %#018lx ?\n", rip);
}

void backtrace_kernel(uint64_t rip, uint64_t rbp)
{
	cprintf("backtrace:\n");
	if (rip)
		print_kernel_frame(rip, false);
	for (int depth = 0; depth < KERN_FRAMES_MAX && kernel_frame_ok(rbp); depth++) {
		const uint64_t *frame = (const uint64_t *)rbp;
		if (frame[1] < KERNBASE)
			break; /* entered from user mode, or the boot code */
		print_kernel_frame(frame[1], true);
		if (frame[0] <= rbp)
			break; /* frames only move up the stack */
		rbp = frame[0];
	}
}

void textbuf_add(struct textbuf *b, const char *fmt, ...)
{
	if (b->tb_len >= sizeof(b->tb_buf) - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->tb_buf + b->tb_len, sizeof(b->tb_buf) - b->tb_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->tb_len = MIN(b->tb_len + (size_t)n, sizeof(b->tb_buf) - 1);
}

static struct textbuf para; /* the kill report being written */
#define para_add(...) textbuf_add(&para, __VA_ARGS__)

/* "0x401234 main+0x14", naming addr from prog's symbols where it can. */
static void para_add_user_addr(const struct program *prog, uint64_t addr, bool is_return)
{
	struct sym s;
	uint64_t at = is_return ? addr - 1 : addr, off = is_return ? 1 : 0;
	if (prog && program_sym_lookup(prog, at, &s))
		para_add("%#lx %s+%#lx", addr, s.s_name, s.s_off + off);
	else if (ksym_lookup(at, &s)) /* a jump into the kernel's text */
		para_add("%#lx %s+%#lx (kernel)", addr, s.s_name, s.s_off + off);
	else
		para_add("%#lx ?", addr);
}

/* After a panic's message: what was running, the registers, a backtrace. */
static void panic_report(const struct trapframe *tf)
{
	struct cpu *c = thiscpu();
	struct env *e = c->cpu_env;
	if (e)
		cprintf("current env %08x (%s) on cpu %u\n", e->env_id, e->env_info->env_name,
			c->cpu_id);
	else
		cprintf("no current env on cpu %u\n", c->cpu_id);
	if (tf)
		print_trapframe(tf);
	if (tf && !(tf->tf_cs & 3))
		backtrace_kernel(tf->tf_rip, tf->tf_rbp); /* from where it trapped */
	else
		backtrace_kernel(0, read_rbp());
}

void report_init(void)
{
	env_debug.kill_report = report_kill;
	console_set_panic_report(panic_report);
}

void report_kill(struct env *e, const struct trapframe *tf, const char *reason)
{
	const char *name = e->env_info->env_name;
	para.tb_len = 0;
	if (!console_at_line_start())
		para_add("\n");
	para_add("[env %08x %s] killed: %s\n", e->env_id, name, reason);
	if (!tf) {
		cprintf("%s", para.tb_buf);
		return;
	}
	const struct program *prog = program_find(name);
	para_add("  %s (trap %lu, err %#lx) at rip ", trap_name(tf->tf_trapno), tf->tf_trapno,
		 tf->tf_err);
	para_add_user_addr(prog, tf->tf_rip, false);
	if (tf->tf_trapno == T_PGFLT)
		para_add(", fault address %#lx", rcr2()); /* no fault since: still valid */
	para_add("\n  rsp %#lx rbp %#lx rflags %#lx\n  backtrace:\n    ", tf->tf_rsp, tf->tf_rbp,
		 tf->tf_rflags);
	para_add_user_addr(prog, tf->tf_rip, false);
	para_add("\n");
	/* At a function's first instruction nothing is pushed yet: its caller
	 * is the return address on top of the stack, and %rbp is the caller's
	 * frame, which the walk below goes on from. */
	struct sym at;
	uint64_t ret;
	if (prog && program_sym_lookup(prog, tf->tf_rip, &at) && at.s_off == 0 &&
	    copy_from_user(e->env_vm, &ret, tf->tf_rsp, sizeof(ret)) == 0) {
		para_add("    ");
		para_add_user_addr(prog, ret, true);
		para_add("\n");
	}
	uint64_t rbp = tf->tf_rbp;
	for (int depth = 0; depth < USER_FRAMES_MAX && rbp % 8 == 0; depth++) {
		uint64_t frame[2]; /* saved %rbp, return %rip */
		if (copy_from_user(e->env_vm, frame, rbp, sizeof(frame)) < 0 || frame[1] == 0)
			break;
		para_add("    ");
		para_add_user_addr(prog, frame[1], true);
		para_add("\n");
		if (frame[0] <= rbp)
			break;
		rbp = frame[0];
	}
	if (!prog)
		para_add("  (no program named '%s' in the boot archive: no symbols; doc/boot.md)\n",
			 name);
	cprintf("%s", para.tb_buf);
}

/* Read through this pointer to fault in the kernel: volatile so that the
 * compiler cannot see it is (nearly) NULL and turn the load into a trap. */
static volatile uint64_t *volatile panic_test_ptr = (uint64_t *)8;

static void __attribute__((noinline, noreturn)) panic_test_fault(void)
{
	cprintf("panic_test: reading %p in the kernel\n", panic_test_ptr);
	uint64_t v = *panic_test_ptr;
	/* a call that does not return has no epilogue to hoist the load past:
	 * it faults with this function's frame set up */
	panic("panic_test: read %#lx without a fault", v);
}

void panic_test(const char *mode)
{
	if (mode[0] == 'f')
		panic_test_fault();
	panic("panic_test: panic requested on the kernel command line");
}
