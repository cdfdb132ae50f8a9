/*
 * testrun: the in-guest test runner, started as the first env by the host's
 * harness (init=testrun). Runs each test program in its own env - the ones
 * named on the command line, or every test_* program in the boot image - and
 * for each prints one PASS/FAIL line for its exit status and one for pages
 * leaked (free pages before and after must match once it is reaped). A test
 * that runs past its deadline is destroyed and fails. Ends QEMU with status
 * 0 if everything passed.
 */
#include <lib/base/libos.h>

#define DEADLINE_SECONDS 60 /* per test program; TCG makes them slow */

static int failures;

static bool alive(envid_t id)
{
	const volatile struct env_info *e = &uenvs[ENVX(id)];
	return e->env_id == id && e->env_status != ENV_ZOMBIE && e->env_status != ENV_FREE;
}

static void run_test(const char *name)
{
	/* pages the kernel keeps in its pools were not leaked: count them */
	uint64_t free_before = ukinfo->ki_free_pages + ukinfo->ki_pool_pages;
	long id = sys_env_create(name, "", CAP_SELF);
	if (id < 0) {
		printf("FAIL: guest.%s: cannot start: %le\n", name, id);
		failures++;
		return;
	}
	/* like a foreground program at the monitor, the test holds the console;
	 * it comes back to us when the test dies */
	sys_cons_grant((envid_t)id);
	uint64_t deadline = ukinfo->ki_ticks + (uint64_t)DEADLINE_SECONDS * ukinfo->ki_tick_hz;
	bool late = false;
	while (alive((envid_t)id)) {
		if (ukinfo->ki_ticks > deadline) {
			sys_env_destroy((envid_t)id, CAP_SELF);
			late = true;
			break;
		}
		sys_yield();
	}
	long status = sys_env_wait((envid_t)id);
	if (late) {
		printf("FAIL: guest.%s: still running after %d s\n", name, DEADLINE_SECONDS);
		failures++;
	} else if (status != 0) {
		if (status & EXIT_KILLED)
			printf("FAIL: guest.%s: killed by the kernel: %s\n", name,
			       (const char *)uenvs[ENVX(id)].env_reason);
		else
			printf("FAIL: guest.%s: exit status %#lx\n", name, status);
		failures++;
	} else {
		printf("PASS: guest.%s\n", name);
	}
	uint64_t free_after = ukinfo->ki_free_pages + ukinfo->ki_pool_pages;
	if (free_after != free_before) {
		printf("FAIL: guest.%s.no-leak: %ld pages not returned\n", name,
		       (long)(free_before - free_after));
		failures++;
	} else {
		printf("PASS: guest.%s.no-leak\n", name);
	}
}

int main(int argc, char **argv)
{
	printf("testrun: %lu MiB, tsc %lu MHz\n", ukinfo->ki_npages * PAGE_SIZE >> 20,
	       ukinfo->ki_tsc_hz / 1000000);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			run_test(argv[i]);
	} else {
		for (uint32_t i = 0; i < ukinfo->ki_nprogs; i++) {
			const char *name = (const char *)ukinfo->ki_progs[i];
			if (strncmp(name, "test_", 5) == 0)
				run_test(name);
		}
	}
	printf("testrun: done, %d failed\n", failures);
	sys_machine_exit(failures ? 1 : 0);
	return 1;
}
