/*
 * Copy-on-write fork in the library OS: children see the parent's memory as
 * it was and their writes stay their own (and the other way round), many
 * children and deep chains work, a child outlives its parent with its pages
 * intact, and every page comes back (testrun counts them after we exit).
 */
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

static volatile uint64_t global = 1;
static char bss_buf[3 * PAGE_SIZE];

#define MIB (1UL << 20)

static int deep(int depth)
{
	if (depth == 0)
		return 0;
	long pid = fork();
	if (pid == 0) {
		global += 1;
		exit(deep(depth - 1) == 0 && global == 2 + (uint64_t)(8 - depth) ? 0 : 1);
	}
	if (pid < 0)
		return 1;
	long st = wait(pid);
	return st == 0 && global == 1 + (uint64_t)(8 - depth) ? 0 : 1;
}

int main(void)
{
	/* basic: separate copies after the fork */
	char *heap = malloc(64);
	strlcpy(heap, "parent", 64);
	bss_buf[PAGE_SIZE] = 'p';
	long pid = fork();
	if (pid == 0) {
		/* its own id from its first instruction: the copy-on-write
		 * handler decides with it whose a page is */
		if (thisenv_id != (envid_t)sys_getenvid())
			exit(2);
		bool saw = global == 1 && strcmp(heap, "parent") == 0 && bss_buf[PAGE_SIZE] == 'p';
		global = 99;
		strlcpy(heap, "child", 64);
		bss_buf[PAGE_SIZE] = 'c';
		exit(saw ? 42 : 1);
	}
	check("fork-returns-id", pid > 0);
	check_eq("child-saw-parent-memory", wait(pid), 42);
	check("parent-global-kept", global == 1);
	check("parent-heap-kept", strcmp(heap, "parent") == 0);
	check("parent-bss-kept", bss_buf[PAGE_SIZE] == 'p');
	check("cow-copies-happened", vm_stats.cow_copies + vm_stats.cow_reuses > 0);

	/* the parent writes first; the child must still see the old value */
	volatile uint64_t *shared = vm_alloc_shared(PAGE_SIZE);
	shared[0] = 0;
	pid = fork();
	if (pid == 0) {
		while (shared[0] == 0)
			sys_yield();
		exit(global == 1 ? 7 : 1);
	}
	global = 5;
	shared[0] = 1; /* a shared page: the child sees this write */
	check_eq("child-unaffected-by-parent-write", wait(pid), 7);
	global = 1;

	/* 1 MiB touched, then forked: the child checks and rewrites it all */
	uint8_t *big = vm_alloc(MIB);
	for (uint64_t i = 0; i < MIB; i += 512)
		big[i] = (uint8_t)(i >> 9);
	pid = fork();
	if (pid == 0) {
		bool ok = true;
		for (uint64_t i = 0; i < MIB; i += 512)
			ok = ok && big[i] == (uint8_t)(i >> 9);
		for (uint64_t i = 0; i < MIB; i += 512)
			big[i] = 0xee;
		exit(ok ? 0 : 1);
	}
	check_eq("child-saw-1mib", wait(pid), 0);
	bool kept = true;
	for (uint64_t i = 0; i < MIB; i += 512)
		kept = kept && big[i] == (uint8_t)(i >> 9);
	check("parent-1mib-kept", kept);

	/* many children at once */
	long kids[16];
	for (int i = 0; i < 16; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			global = 100 + (uint64_t)i;
			exit((int)(global - 100));
		}
	}
	bool all = true;
	for (int i = 0; i < 16; i++)
		all = all && kids[i] > 0 && wait(kids[i]) == i;
	check("sixteen-children", all);

	/* exec: the child becomes another program, keeping its id */
	pid = fork();
	if (pid == 0) {
		if (exec("no-such-program", "") != -E_NOT_FOUND)
			exit(1);
		exec("exitwith", "7");
		exit(2);
	}
	check_eq("exec-keeps-id", wait(pid), 7);
	check("exec-name", strcmp((const char *)uenvs[ENVX(pid)].env_name, "exitwith") == 0);

	/* a chain eight deep: each child forks the next */
	check_eq("deep-chain", deep(8), 0);

	/* a grandchild outlives its parent: the pages pass to it */
	shared[1] = 0;
	shared[2] = 0;
	pid = fork();
	if (pid == 0) {
		long g = fork();
		if (g == 0) {
			envid_t mid = thisenv->env_parent_id;
			while (uenvs[ENVX(mid)].env_id == mid &&
			       uenvs[ENVX(mid)].env_status != ENV_ZOMBIE &&
			       uenvs[ENVX(mid)].env_status != ENV_FREE)
				sys_yield();
			bool ok = strcmp(heap, "parent") == 0 && big[512] == 1 && global == 1;
			big[1024] = 3; /* copy-on-write still works */
			shared[2] = ok && big[1024] == 3 ? 0x600d : 0xbad;
			exit(0);
		}
		shared[1] = (uint64_t)g;
		exit(g > 0 ? 0 : 1);
	}
	check_eq("middle-exits", wait(pid), 0);
	uint64_t until = ukinfo->ki_ticks + 10 * ukinfo->ki_tick_hz;
	while (shared[2] == 0 && ukinfo->ki_ticks < until)
		sys_yield();
	check("orphan-keeps-pages", shared[2] == 0x600d);
	/* an unstarted child dies with its parent: nobody would ever start it */
	shared[3] = 0;
	pid = fork();
	if (pid == 0) {
		shared[3] = (uint64_t)sys_env_fork(CAP_SELF);
		exit(0);
	}
	check_eq("unstarted-parent-exits", wait(pid), 0);
	envid_t u = (envid_t)shared[3];
	check("unstarted-made", u > 0);
	check("unstarted-destroyed",
	      uenvs[ENVX(u)].env_status == ENV_FREE && uenvs[ENVX(u)].env_exit == EXIT_DESTROYED);

	/* wait for the orphan to be gone before testrun counts pages */
	envid_t g = (envid_t)shared[1];
	while (uenvs[ENVX(g)].env_id == g && uenvs[ENVX(g)].env_status != ENV_FREE &&
	       ukinfo->ki_ticks < until)
		sys_yield();
	return test_finish();
}
