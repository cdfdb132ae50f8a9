/*
 * Environments: create, exit statuses, wait, destroy, the exposed env table,
 * id reuse, and the errors of env_create, env_destroy and env_wait.
 */
#include <lib/base/test.h>

static long run(const char *name, const char *args)
{
	long id = sys_env_create(name, args, CAP_SELF);
	if (id < 0)
		return id;
	return sys_env_wait((envid_t)id);
}

int main(void)
{
	check_eq("exit-0", run("exitwith", "0"), 0);
	check_eq("exit-42", run("exitwith", "42"), 42);
	check_eq("exit-masked", run("exitwith", "0x1ff"), 0xff);
	check_eq("args", run("exitwith", "  7  "), 7);
	check_eq("argc", run("exitwith", "1 2"), 99);
	check_eq("hello", run("hello", "a b"), 0);

	/* the exposed table shows a child as ours */
	long id = sys_env_create("spin", "", CAP_SELF);
	check("spin-start", id > 0);
	const volatile struct env_info *e = &uenvs[ENVX(id)];
	check("table-id", e->env_id == id);
	check("table-parent", e->env_parent_id == thisenv_id);
	check("table-name", strcmp((const char *)e->env_name, "spin") == 0);
	check("table-alive", e->env_status == ENV_RUNNABLE || e->env_status == ENV_RUNNING);
	check("table-pages", e->env_pages > 0);
	sys_yield();
	check_eq("destroy-child", sys_env_destroy((envid_t)id, CAP_SELF), 0);
	check("table-zombie", e->env_status == ENV_ZOMBIE && e->env_pages == 0);
	check_eq("destroy-dead", sys_env_destroy((envid_t)id, CAP_SELF), -E_BAD_ENV);
	check_eq("wait-destroyed", sys_env_wait((envid_t)id), EXIT_DESTROYED);
	check_eq("wait-reaped", sys_env_wait((envid_t)id), -E_BAD_ENV);

	/* a new env in the same slot gets a new id */
	long again = sys_env_create("nop", "", CAP_SELF);
	check("new-id", again > 0 && again != id);
	check_eq("wait-nop", sys_env_wait((envid_t)again), 0);

	/* env_create errors */
	check_eq("create-not-found", sys_env_create("no-such-program", "", CAP_SELF), -E_NOT_FOUND);
	check_eq("create-empty-name", sys_env_create("", "", CAP_SELF), -E_NOT_FOUND);
	check_eq("create-null-name", sys_env_create(NULL, "", CAP_SELF), -E_FAULT);
	check_eq("create-kernel-name",
		 sys_env_create((const char *)0xffffffff80200000UL, "", CAP_SELF), -E_FAULT);
	check_eq("create-unmapped-args", sys_env_create("nop", (const char *)0x10, CAP_SELF),
		 -E_FAULT);
	char longname[ENV_CREATE_NAME_MAX + 8];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	check_eq("create-long-name", sys_env_create(longname, "", CAP_SELF), -E_TOO_BIG);
	char *longargs = malloc(ENV_CREATE_ARGS_MAX + 8);
	memset(longargs, 'a', ENV_CREATE_ARGS_MAX + 7);
	longargs[ENV_CREATE_ARGS_MAX + 7] = '\0';
	check_eq("create-long-args", sys_env_create("nop", longargs, CAP_SELF), -E_TOO_BIG);
	free(longargs);
	check_eq("create-bad-elf", sys_env_create("badelf", "", CAP_SELF), -E_BAD_ELF);

	/* env_destroy / env_wait errors */
	check_eq("destroy-zero", sys_env_destroy(0, CAP_SELF), -E_BAD_ENV);
	check_eq("destroy-negative", sys_env_destroy(-1, CAP_SELF), -E_BAD_ENV);
	check_eq("destroy-parent", sys_env_destroy(thisenv->env_parent_id, CAP_SELF), -E_PERM);
	check_eq("wait-zero", sys_env_wait(0), -E_BAD_ENV);
	check_eq("wait-self", sys_env_wait(thisenv_id), -E_NOT_CHILD);
	check_eq("wait-parent", sys_env_wait(thisenv->env_parent_id), -E_NOT_CHILD);
	check_eq("wait-stale", sys_env_wait((envid_t)id), -E_BAD_ENV);

	/* grandchildren: destroyable by their grandparent */
	long mid = sys_env_create("spin", "", CAP_SELF);
	long grand = -1;
	/* we cannot make spin create a child, so use the kernel's rule on a
	 * sibling instead: a child cannot destroy its parent's other child. */
	check("mid-start", mid > 0);
	grand = sys_env_create("spin", "", CAP_SELF);
	check("second-start", grand > 0);
	check_eq("destroy-second", sys_env_destroy((envid_t)grand, CAP_SELF), 0);
	check_eq("destroy-mid", sys_env_destroy((envid_t)mid, CAP_SELF), 0);
	sys_env_wait((envid_t)grand);
	sys_env_wait((envid_t)mid);

	/* many envs in a row: slots and pages come back */
	uint64_t free_before = ukinfo->ki_free_pages + ukinfo->ki_pool_pages;
	bool ok = true;
	for (int i = 0; i < 40; i++)
		ok = ok && run("nop", "") == 0;
	check("forty-envs", ok);
	check_eq("forty-envs-no-leak", (long)(ukinfo->ki_free_pages + ukinfo->ki_pool_pages),
		 (long)free_before);

	/* several alive at once */
	long ids[8];
	for (int i = 0; i < 8; i++)
		ids[i] = sys_env_create("counter", "20", CAP_SELF);
	ok = true;
	for (int i = 0; i < 8; i++)
		ok = ok && ids[i] > 0 && sys_env_wait((envid_t)ids[i]) == 0;
	check("eight-concurrent", ok);

	/* tracing: bits 0 (this env) and 1 (the envs it creates) only */
	check_eq("trace-bad-bits", sys_env_trace(0, 4, CAP_SELF), -E_INVAL);
	check_eq("trace-bad-env", sys_env_trace(-1, 1, CAP_SELF), -E_BAD_ENV);
	check_eq("trace-children", sys_env_trace(0, 2, CAP_SELF), 0);
	long t = sys_env_create("counter", "1", CAP_SELF);
	check_eq("trace-children-off", sys_env_trace(0, 0, CAP_SELF), 0);
	check_eq("traced-child-runs", t > 0 ? sys_env_wait((envid_t)t) : t, 0);
	return test_finish();
}
