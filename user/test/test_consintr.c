/*
 * The console's interrupt character (sys_cons_set_intr): every error, who
 * may set it (only the holder, naming an env its key reaches), and that
 * env_sleep_child ends when a child dies - at once while one is unreaped -
 * which is how the shell waits for a job without polling. The byte itself
 * arriving needs the serial line: tools/test's shell session types Ctrl-C
 * at a spinning job (the shell is told, kills the job, says 130).
 */
#include <lib/base/pct.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

#define EMPTY_SLOT 30 /* a key slot nothing here fills */

static bool gone(envid_t id)
{
	const volatile struct env_info *e = &uenvs[ENVX(id)];
	return e->env_id != id || e->env_status == ENV_ZOMBIE || e->env_status == ENV_FREE;
}

static void intr_checks(void)
{
	/* testrun grants us the console just after creating us, and we may
	 * run first (a tick can fall between the two): wait for it */
	uint64_t until = ukinfo->ki_ticks + 30 * ukinfo->ki_tick_hz;
	while (ukinfo->ki_console != thisenv_id && ukinfo->ki_ticks < until)
		sys_yield();
	check_eq("we-hold-it", ukinfo->ki_console, thisenv_id);
	check_eq("off-when-none", sys_cons_set_intr(CONS_INTR_OFF, 0, 0), 0);
	check_eq("byte-too-big", sys_cons_set_intr(0x101, 0, CAP_SELF), -E_INVAL);
	check_eq("byte-huge", sys_cons_set_intr(UINT64_MAX, 0, CAP_SELF), -E_INVAL);
	check_eq("no-such-env", sys_cons_set_intr(3, 0x7ffffff, CAP_SELF), -E_BAD_ENV);

	/* a child with no PCT entry: nothing to deliver to */
	long bare = sys_env_create("spin", "", CAP_SELF);
	check("bare-child", bare > 0);
	check_eq("no-entry", sys_cons_set_intr(3, (envid_t)bare, CAP_SELF), -E_NO_ENTRY);
	sys_env_destroy((envid_t)bare, CAP_SELF);
	sys_env_wait((envid_t)bare);
	check_eq("dead-env", sys_cons_set_intr(3, (envid_t)bare, CAP_SELF), -E_BAD_ENV);

	/* a forked child serves PCT: reachable with our key, not with one
	 * naming a sibling's subtree, nor with an empty slot */
	pct_serve(NULL, NULL);
	long pid = fork();
	if (pid == 0) {
		for (;;)
			sys_env_sleep(UINT64_MAX);
	}
	check("forked", pid > 0);
	/* its PCT entry is set as it starts: wait until it sleeps */
	until = ukinfo->ki_ticks + 30 * ukinfo->ki_tick_hz;
	while (uenvs[ENVX(pid)].env_status != ENV_BLOCKED && ukinfo->ki_ticks < until)
		sys_yield();
	uint16_t other = 0x5a5;
	check_eq("derive-stranger-key",
		 sys_cap_derive(CAP_SELF, 20, CAP_R | CAP_W | CAP_M, &other, 1), 0);
	check_eq("bad-cap", sys_cons_set_intr(3, (envid_t)pid, EMPTY_SLOT), -E_BAD_CAP);
	check_eq("key-does-not-reach", sys_cons_set_intr(3, (envid_t)pid, 20), -E_PERM);
	check_eq("set-for-child", sys_cons_set_intr(3, (envid_t)pid, CAP_SELF), 0);
	check_eq("set-for-self", sys_cons_set_intr(3, 0, CAP_SELF), 0);

	/* only the holder may change it: the setting stays while the child
	 * holds the console, and the console comes back when it dies */
	check_eq("grant", sys_cons_grant((envid_t)pid), 0);
	check_eq("not-holder", sys_cons_set_intr(CONS_INTR_OFF, 0, 0), -E_PERM);
	check_eq("not-holder-set", sys_cons_set_intr(3, 0, CAP_SELF), -E_PERM);
	sys_env_destroy((envid_t)pid, CAP_SELF);
	check_eq("console-back", ukinfo->ki_console, thisenv_id);
	check_eq("off", sys_cons_set_intr(CONS_INTR_OFF, 0, 0), 0);
	sys_env_wait((envid_t)pid);
	sys_cap_drop(20);
}

static void child_death_wakes_sleep(void)
{
	/* dies while we sleep: the sleep ends then, not at its 10 s bound */
	long child = sys_env_create("sleep", "1", CAP_SELF);
	check("sleeper-child", child > 0);
	uint64_t t0 = ukinfo->ki_ticks, hz = ukinfo->ki_tick_hz;
	long r = 0;
	while (r != ENV_SLEEP_CHILD_ENDED && ukinfo->ki_ticks - t0 < 10 * hz)
		r = sys_env_sleep_child(10 * hz);
	check_eq("death-ends-sleep", r, ENV_SLEEP_CHILD_ENDED);
	check("death-ends-sleep-soon", ukinfo->ki_ticks - t0 < 5 * hz);
	check("death-ends-sleep-dead", gone((envid_t)child));
	/* unreaped, it ends every such sleep at once; reaped, none */
	check_eq("zombie-at-once", sys_env_sleep_child(10 * hz), ENV_SLEEP_CHILD_ENDED);
	sys_env_wait((envid_t)child);
	check_eq("reaped-no-more", sys_env_sleep_child(0), 0);

	/* dies while we are awake: the next sleep returns at once; a plain
	 * env_sleep does not care */
	child = sys_env_create("true", "", CAP_SELF);
	while (!gone((envid_t)child))
		sys_yield();
	check_eq("plain-sleep-unaffected", sys_env_sleep(1), 0);
	t0 = ukinfo->ki_ticks;
	check_eq("death-before-sleep", sys_env_sleep_child(10 * hz), ENV_SLEEP_CHILD_ENDED);
	check("death-before-sleep-at-once", ukinfo->ki_ticks - t0 < hz);
	sys_env_wait((envid_t)child);
}

int main(void)
{
	intr_checks();
	child_death_wakes_sleep();
	return test_finish();
}
