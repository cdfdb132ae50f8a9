/*
 * The system calls' argument checks not covered by test_pages and test_env:
 * console calls, upcall registration, machine control and unknown numbers.
 */
#include <inc/syscall_floor.h>
#include <lib/base/test.h>

int main(void)
{
	check_eq("cputs", sys_cputs("", 0), 0);
	check_eq("cputs-null", sys_cputs(NULL, 1), -E_FAULT);
	check_eq("cputs-kernel", sys_cputs((const char *)0xffffffff80200000UL, 4), -E_FAULT);
	check_eq("cputs-physmap", sys_cputs((const char *)0xffff800000000000UL, 4), -E_FAULT);
	check_eq("cputs-wrap", sys_cputs("x", (uint64_t)-1), -E_FAULT);
	check_eq("cputs-past-end", sys_cputs((const char *)(UTOP - 2), 8), -E_FAULT);

	/* testrun gave us the console, as the monitor does for a foreground
	 * program (just after creating us: a tick may come between): no input
	 * is waiting */
	uint64_t until = ukinfo->ki_ticks + 5 * ukinfo->ki_tick_hz;
	while (ukinfo->ki_console != thisenv_id && ukinfo->ki_ticks < until)
		sys_yield();
	check("console-held", ukinfo->ki_console == thisenv_id);
	check_eq("cgetc-nonblock-empty", sys_cgetc(CGETC_NONBLOCK), -E_AGAIN);
	check_eq("cgetc-bad-flags", sys_cgetc(0x80), -E_INVAL);
	check_eq("cons-grant-bad-env", sys_cons_grant(0x7ffffff), -E_BAD_ENV);
	check_eq("cons-grant-negative", sys_cons_grant(-5), -E_BAD_ENV);
	long child = sys_env_create("spin", "", CAP_SELF);
	check_eq("cons-grant-child", sys_cons_grant((envid_t)child), 0);
	check("console-moved", ukinfo->ki_console == child);
	check_eq("cgetc-not-holder", sys_cgetc(0), -E_PERM);
	check_eq("cons-grant-not-holder", sys_cons_grant(thisenv_id), -E_PERM);
	sys_env_destroy((envid_t)child, CAP_SELF);
	check("console-back-on-death", ukinfo->ki_console == thisenv_id);
	sys_env_wait((envid_t)child);

	check_eq("upcall-bad-kind", sys_env_set_upcall(UPCALL_KINDS, 0x400000, 0, 4096),
		 -E_INVAL);
	check_eq("upcall-kernel-entry",
		 sys_env_set_upcall(UPCALL_EXCEPTION, 0xffffffff80200000UL, 0, 4096), -E_INVAL);
	check_eq("upcall-stack-above-utop",
		 sys_env_set_upcall(UPCALL_EXCEPTION, 0x400000, UTOP, UTOP + 4096), -E_INVAL);
	check_eq("upcall-stack-inverted",
		 sys_env_set_upcall(UPCALL_EXCEPTION, 0x400000, 8192, 4096), -E_INVAL);
	check_eq("upcall-stack-unaligned",
		 sys_env_set_upcall(UPCALL_EXCEPTION, 0x400000, 4096, 8200), -E_INVAL);
	check_eq("upcall-stack-tiny",
		 sys_env_set_upcall(UPCALL_EXCEPTION, 0x400000, 4096, 4096 + 64), -E_INVAL);
	check_eq("upcall-clear", sys_env_set_upcall(UPCALL_EXCEPTION, 0, 0, 0), 0);

	check_eq("machine-exit-not-first", sys_machine_exit(3), -E_PERM);
	check_eq("machine-reboot-not-first", sys_machine_reboot(), -E_PERM);

	check_eq("unknown-syscall", exo_syscall(NSYSCALLS, 0, 0, 0, 0, 0), -E_NO_SYS);
	check_eq("huge-syscall", exo_syscall((uint64_t)-1, 0, 0, 0, 0, 0), -E_NO_SYS);
	check_eq("getenvid", sys_getenvid(), thisenv_id);
	/* the benchmark floors: no kernel work, nothing changed */
	check_eq("floor-syscall", exo_syscall(SYS_FLOOR, 0, 0, 0, 0, 0), SYS_FLOOR);
	uint64_t before = thisenv->env_upcalls;
	__asm__ volatile("int %0" : : "i"(T_FLOOR) : "memory");
	check("floor-int-no-upcall", thisenv->env_upcalls == before);
	check_eq("yield", sys_yield(), 0);

	/* the exposed info page describes this machine */
	check("kinfo-tsc", ukinfo->ki_tsc_hz > 1000000);
	check("kinfo-npages", ukinfo->ki_npages > 1000);
	check("kinfo-progs", ukinfo->ki_nprogs > 3);
	uint64_t t = ukinfo->ki_ticks;
	while (ukinfo->ki_ticks == t)
		sys_yield();
	check("kinfo-ticks-advance", ukinfo->ki_ticks > t);
	return test_finish();
}
