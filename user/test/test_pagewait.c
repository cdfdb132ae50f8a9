/*
 * Sleeping on a word of shared memory (sys_page_sleep, sys_page_wake):
 * every error, the look-and-sleep as one step (a changed word never
 * sleeps), time-outs, and a wake reaching a sleeper through another
 * address of the same page - the pipes between siblings of a pipeline
 * are built on it (lib/posix/pipe.c; the shell's session runs them).
 */
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

#define ALIAS_VA 0x530000000000UL /* a second address for the shared page */
#define UNBOUND_VA 0x540000000000UL

int main(void)
{
	volatile uint32_t *w = vm_alloc_shared(PAGE_SIZE);
	w[0] = 7;
	uint64_t va = (uint64_t)(uintptr_t)w;

	check_eq("sleep-unaligned", sys_page_sleep(va + 1, 7, 1), -E_INVAL);
	check_eq("sleep-kernel", sys_page_sleep(0xffffffff80200000UL, 7, 1), -E_INVAL);
	check_eq("sleep-exposed", sys_page_sleep(UINFO, 0, 1), -E_INVAL);
	check_eq("sleep-unbound", sys_page_sleep(UNBOUND_VA, 0, 1), -E_FAULT);
	check_eq("wake-unaligned", sys_page_wake(va + 2), -E_INVAL);
	check_eq("wake-past-utop", sys_page_wake(UTOP), -E_INVAL);
	check_eq("wake-unbound", sys_page_wake(UNBOUND_VA), -E_FAULT);
	check_eq("wake-nobody", sys_page_wake(va), 0);

	check_eq("changed", sys_page_sleep(va, 8, UINT64_MAX), PAGE_SLEEP_CHANGED);
	check_eq("zero-ticks", sys_page_sleep(va, 7, 0), 0);
	uint64_t t0 = ukinfo->ki_ticks;
	check_eq("times-out", sys_page_sleep(va, 7, 3), 0);
	check("times-out-late-enough", ukinfo->ki_ticks - t0 >= 2);

	/* a child sleeps on w[0]; we wake it through another address of the
	 * page, and it says how its sleep ended in w[1] */
	long ppn = (long)(vm_lookup(va) >> PAGE_SHIFT);
	check_eq("alias",
		 sys_page_bind(0, ALIAS_VA, (uint64_t)ppn, BIND_READ | BIND_WRITE, CAP_SELF), 0);
	w[1] = 0;
	long pid = fork();
	if (pid == 0) {
		long r = sys_page_sleep(va, 7, 10 * ukinfo->ki_tick_hz);
		w[1] = (uint32_t)r + 100;
		exit(0);
	}
	uint64_t until = ukinfo->ki_ticks + 5 * ukinfo->ki_tick_hz;
	while ((uenvs[ENVX(pid)].env_status != ENV_BLOCKED || w[1]) && ukinfo->ki_ticks < until)
		sys_yield();
	t0 = ukinfo->ki_ticks;
	check_eq("wake-through-alias", sys_page_wake(ALIAS_VA), 1);
	check_eq("child-exit", wait(pid), 0);
	check_eq("child-woken", w[1], 100 + PAGE_SLEEP_WOKEN);
	check("woken-at-once", ukinfo->ki_ticks - t0 < 2 * ukinfo->ki_tick_hz);
	/* another word of the page is another word */
	check_eq("other-word-nobody", sys_page_wake(ALIAS_VA + 4), 0);
	sys_page_unbind(0, ALIAS_VA, CAP_SELF);
	return test_finish();
}
