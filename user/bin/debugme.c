/*
 * debugme MODE: a program to debug, for doc/debugging.md and its test
 * (tools/test-debugging).
 *
 *   debugme fault     dies on a NULL write two calls below main, so the
 *                     kernel's kill report has a backtrace to show
 *   debugme syscalls  makes a few system calls with known results (one that
 *                     waits, some that fail) and takes a breakpoint
 *                     exception, for the trace to list; exits 7
 */
#include <lib/base/libos.h>

/* Where to write: NULL, but the compiler cannot know it. */
static volatile int *volatile fault_target;

/* noinline: each keeps its own frame, so the backtrace names all three */
static void __attribute__((noinline)) fault_here(void)
{
	printf("debugme: writing to %p\n", fault_target);
	*fault_target = 1;
	printf("debugme: still alive after writing to %p\n", fault_target);
}

static void __attribute__((noinline)) fault_caller(void)
{
	fault_here();
	printf("debugme: fault_here returned\n");
}

static void on_breakpoint(struct upcall_frame *uf)
{
	(void)uf; /* int3 has already stepped past itself */
}

static int syscalls(void)
{
	const char msg[] = "debugme: traced\n";
	sys_cputs(msg, sizeof(msg) - 1);
	sys_cputs(NULL, 5);                         /* E_FAULT */
	sys_env_wait(0x7ffffc00);                   /* E_BAD_ENV */
	/* E_INVAL: */
	sys_cgetc(0xff);
	/* a child that yields many times is still running when we wait */
	long id = sys_env_create("counter", "1000", CAP_SELF);
	if (id >= 0)
		sys_env_wait((envid_t)id);          /* waits, then 0 */
	exception_set_handler(on_breakpoint);
	__asm__ volatile("int3");
	return 7;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "fault") == 0) {
		fault_caller();
		return 1;
	}
	if (strcmp(mode, "syscalls") == 0)
		return syscalls();
	printf("usage: debugme fault|syscalls\n");
	return 2;
}
