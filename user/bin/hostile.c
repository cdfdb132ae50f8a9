/*
 * hostile MODE: misbehaves in one way; test_hostile checks that the kernel
 * kills it (or that it survives its own abuse) while other envs run on.
 */
#include <lib/base/libos.h>

static void loop_handler(struct upcall_frame *uf)
{
	(void)uf; /* fixes nothing: the fault repeats forever */
}

static void faulting_handler(struct upcall_frame *uf)
{
	(void)uf;
	*(volatile int *)0 = 1; /* faults again, nesting until the stack is full */
}

static uint64_t rng = 0x9e3779b97f4a7c15UL;

static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Arguments worth trying: edges of every range the kernel checks. */
static uint64_t nasty_value(void)
{
	static const uint64_t v[] = {
		0, 1, 7, 4095, 4096, (uint64_t)-1, (uint64_t)-4096, 0x7fffffff,
		0x80000000, UTOP, UTOP - PAGE_SIZE, UTOP - 1, UPAGES, UENVS, UINFO, ULIM,
		ULIM - 1, 0xffff800000000000UL, 0xffffffff80000000UL, 0xffffffff80200000UL,
		0x400000, 0x0000200000000000UL, PPN_ANY, 1UL << 63,
	};
	uint64_t r = next_random();
	return (r & 1) ? v[(r >> 1) % ARRAY_SIZE(v)] : next_random();
}

/* Random system calls with hostile arguments. Calls that would end this env
 * on purpose are skipped; binds are kept off the program's own pages so it
 * survives to report. */
static int syscall_fuzz(void)
{
	for (int i = 0; i < 3000; i++) {
		uint64_t num = next_random() % (NSYSCALLS + 4);
		uint64_t a[5];
		for (int j = 0; j < 5; j++)
			a[j] = nasty_value();
		if (num == SYS_env_exit || num == SYS_cgetc || num == SYS_machine_exit ||
		    num == SYS_machine_reboot)
			continue; /* refused to a child anyway; as the first env they end the run */
		if (num == SYS_env_destroy && (envid_t)a[0] == thisenv_id)
			continue;
		if (num == SYS_env_sleep)
			a[0] %= 3; /* sleeping for ever is allowed, but ends the test */
		/* console output only from unmapped addresses: no junk on the line */
		if (num == SYS_cputs && a[0] < ULIM)
			a[0] = 0x0000500000000000UL + (a[0] & 0xffffff);
		/* (envid, va, ...): keep its own binds and protections off its own pages */
		if ((num == SYS_page_bind || num == SYS_page_unbind || num == SYS_page_protect) &&
		    a[1] < UTOP)
			a[1] = 0x0000200000000000UL + (a[1] % (1UL << 30));
		exo_syscall(num, a[0], a[1], a[2], a[3], a[4]);
	}
	printf("hostile: survived 3000 random system calls\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "null")) {
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "kernel-read")) {
		(void)*(volatile uint64_t *)0xffffffff80200000UL;
	} else if (!strcmp(mode, "physmap-write")) {
		*(volatile uint64_t *)0xffff800000100000UL = 0;
	} else if (!strcmp(mode, "no-xstack")) {
		/* entry fine, stack never bound */
		sys_env_set_upcall(UPCALL_EXCEPTION, (uint64_t)loop_handler, 0x0000500000000000UL,
				   0x0000500000002000UL);
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "ro-xstack")) {
		long ppn = sys_page_alloc(PPN_ANY, CAP_SELF);
		sys_page_bind(0, 0x0000500000000000UL, (uint64_t)ppn, BIND_READ, CAP_SELF);
		sys_env_set_upcall(UPCALL_EXCEPTION, (uint64_t)loop_handler, 0x0000500000000000UL,
				   0x0000500000001000UL);
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "bad-entry")) {
		exception_set_handler(loop_handler);
		sys_env_set_upcall(UPCALL_EXCEPTION, 0x0000600000000000UL,
				   LIBOS_XSTACK_TOP - LIBOS_XSTACK_PAGES * PAGE_SIZE, LIBOS_XSTACK_TOP);
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "data-entry")) {
		/* entry on a non-executable page */
		static uint8_t data[64];
		exception_set_handler(loop_handler);
		sys_env_set_upcall(UPCALL_EXCEPTION, (uint64_t)data,
				   LIBOS_XSTACK_TOP - LIBOS_XSTACK_PAGES * PAGE_SIZE, LIBOS_XSTACK_TOP);
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "recursive-fault")) {
		exception_set_handler(faulting_handler);
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "fault-loop")) {
		exception_set_handler(loop_handler);
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "soft-int")) {
		__asm__ volatile("int $0x40"); /* the timer's vector: DPL 0 */
	} else if (!strcmp(mode, "io-port")) {
		__asm__ volatile("outb %%al, $0x80" : : "a"(0));
	} else if (!strcmp(mode, "cr3")) {
		__asm__ volatile("movq %%cr3, %%rax" : : : "rax");
	} else if (!strcmp(mode, "syscall-fuzz")) {
		return syscall_fuzz();
	} else {
		printf("hostile: unknown mode '%s'\n", mode);
		return 2;
	}
	printf("hostile: %s: still alive\n", mode);
	return 1;
}
