/*
 * The console always has a live holder (issue 13, finding 7): input passes
 * to the holder's parent when it dies, and to the first env when it has
 * none (an orphan), so nobody can take it to the grave.
 */
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

static bool gone(envid_t id)
{
	const volatile struct env_info *e = &uenvs[ENVX(id)];
	return e->env_id != id || e->env_status == ENV_ZOMBIE || e->env_status == ENV_FREE;
}

int main(void)
{
	envid_t first = thisenv->env_parent_id; /* testrun, the first env */
	/* testrun grants it just after creating us */
	uint64_t start = ukinfo->ki_ticks + 5 * ukinfo->ki_tick_hz;
	while (ukinfo->ki_console != thisenv_id && ukinfo->ki_ticks < start)
		sys_yield();
	check_eq("we-hold-it", ukinfo->ki_console, thisenv_id);

	/* A child holder dies: its parent - we - gets it back. */
	long pid = fork();
	if (pid == 0) {
		uint64_t until = ukinfo->ki_ticks + 5 * ukinfo->ki_tick_hz;
		while (ukinfo->ki_console != thisenv_id && ukinfo->ki_ticks < until)
			sys_yield();
		exit(ukinfo->ki_console == thisenv_id ? 0 : 1);
	}
	check_eq("grant-child", sys_cons_grant((envid_t)pid), 0);
	check_eq("child-held-it", wait(pid), 0);
	check_eq("back-to-parent", ukinfo->ki_console, thisenv_id);

	/* The holder is an orphan when it dies: the first env gets it. */
	volatile uint64_t *grandchild = vm_alloc_shared(PAGE_SIZE);
	pid = fork();
	if (pid == 0) {
		long g = fork();
		if (g == 0) {
			uint64_t until = ukinfo->ki_ticks + 10 * ukinfo->ki_tick_hz;
			while (!(ukinfo->ki_console == thisenv_id && thisenv->env_parent_id == 0) &&
			       ukinfo->ki_ticks < until)
				sys_yield();
			exit(0); /* an orphan holding the console */
		}
		*grandchild = (uint64_t)g;
		uint64_t until = ukinfo->ki_ticks + 5 * ukinfo->ki_tick_hz;
		while (ukinfo->ki_console != thisenv_id && ukinfo->ki_ticks < until)
			sys_yield();
		exit(sys_cons_grant((envid_t)g) == 0 ? 0 : 1);
	}
	check_eq("grant-again", sys_cons_grant((envid_t)pid), 0);
	check_eq("middle-passed-it-on", wait(pid), 0);
	envid_t g = (envid_t)*grandchild;
	uint64_t until = ukinfo->ki_ticks + 10 * ukinfo->ki_tick_hz;
	while (!gone(g) && ukinfo->ki_ticks < until)
		sys_yield();
	check("orphan-holder-died", gone(g));
	check_eq("falls-back-to-first-env", ukinfo->ki_console, first);
	return test_finish();
}
