/*
 * Hostile envs: each misbehaviour of user/hostile kills only the offender,
 * with the reason logged, while a well-behaved neighbour keeps running and
 * every page comes back (testrun checks the count after we exit).
 */
#include <lib/base/test.h>

static bool alive(envid_t id)
{
	const volatile struct env_info *e = &uenvs[ENVX(id)];
	return e->env_id == id && e->env_status != ENV_ZOMBIE && e->env_status != ENV_FREE;
}

static bool contains(const char *s, const char *sub)
{
	size_t n = strlen(sub);
	for (; *s; s++)
		if (strncmp(s, sub, n) == 0)
			return true;
	return false;
}

static void expect_killed(const char *mode, const char *reason)
{
	char name[64];
	long id = sys_env_create("hostile", mode, CAP_SELF);
	if (id < 0) {
		snprintf(name, sizeof(name), "%s.start", mode);
		check_eq(name, id, 0);
		return;
	}
	long status = sys_env_wait((envid_t)id);
	snprintf(name, sizeof(name), "%s.killed", mode);
	check_eq(name, status, EXIT_KILLED);
	snprintf(name, sizeof(name), "%s.reason", mode);
	const char *why = (const char *)uenvs[ENVX(id)].env_reason;
	bool ok = contains(why, reason);
	if (!ok)
		printf("  reason was: '%s', wanted '%s'\n", why, reason);
	check(name, ok);
}

int main(void)
{
	uint64_t runs_before;
	long neighbour = sys_env_create("counter", "400", CAP_SELF);
	check("neighbour-start", neighbour > 0);
	runs_before = uenvs[ENVX(neighbour)].env_runs;

	expect_killed("null", "no exception entry");
	expect_killed("kernel-read", "no exception entry");
	expect_killed("physmap-write", "no exception entry");
	expect_killed("no-xstack", "exception stack not mapped writable");
	expect_killed("ro-xstack", "exception stack not mapped writable");
	expect_killed("bad-entry", "exception entry not mapped executable");
	expect_killed("data-entry", "exception entry not mapped executable");
	expect_killed("recursive-fault", "exception stack overflow");
	expect_killed("soft-int", "general protection");
	expect_killed("io-port", "general protection");
	expect_killed("cr3", "general protection");

	/* A fault loop is an env spinning in user mode: preemptible and
	 * killable, never a kernel hang. */
	long loop = sys_env_create("hostile", "fault-loop", CAP_SELF);
	check("fault-loop.start", loop > 0);
	uint64_t until = ukinfo->ki_ticks + 5;
	while (ukinfo->ki_ticks < until)
		sys_yield();
	check("fault-loop.still-spinning", alive((envid_t)loop));
	check_eq("fault-loop.destroy", sys_env_destroy((envid_t)loop, CAP_SELF), 0);
	check_eq("fault-loop.status", sys_env_wait((envid_t)loop), EXIT_DESTROYED);

	long fuzz = sys_env_create("hostile", "syscall-fuzz", CAP_SELF);
	check_eq("syscall-fuzz.survives", sys_env_wait((envid_t)fuzz), 0);

	check("neighbour-ran-meanwhile", uenvs[ENVX(neighbour)].env_runs > runs_before);
	check_eq("neighbour-finished", sys_env_wait((envid_t)neighbour), 0);
	return test_finish();
}
