/*
 * Visible revocation: a child whose limit is lowered is asked for pages and
 * gives back the ones it will not miss; a child that cannot (its pages hold
 * data) misses the deadline, the abort protocol takes pages, records them in
 * its repossession vector, and the child repairs its page table and runs on.
 * Plus the errors of env_set_limit.
 */
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

#define PAGES 120

/* The child: touch PAGES pages (dirty or clean), say so, then wait until the
 * kernel's request has been dealt with; exit 0 if it went as expected. */
static int child(volatile uint64_t *flag, bool dirty)
{
	volatile uint8_t *mem = vm_alloc(PAGES * PAGE_SIZE);
	for (int i = 0; i < PAGES; i++) {
		if (dirty)
			mem[(uint64_t)i * PAGE_SIZE] = 1;
		else
			(void)mem[(uint64_t)i * PAGE_SIZE]; /* bound, but still all zero */
	}
	flag[0] = 1;
	uint64_t until = ukinfo->ki_ticks + 10 * ukinfo->ki_tick_hz;
	while (flag[1] == 0 && ukinfo->ki_ticks < until)
		sys_yield();
	/* the limit is now lower: what we hold must fit it */
	uint32_t limit = thisenv->env_page_limit;
	while (thisenv->env_user_pages > limit && ukinfo->ki_ticks < until)
		sys_yield();
	bool fits = thisenv->env_user_pages <= limit;
	if (!dirty)
		return fits && vm_stats.released > 0 && vm_stats.repossessed == 0 ? 0 : 2;
	/* our data pages were taken: the page table was repaired, so touching
	 * them again gives fresh zero pages */
	bool repaired = vm_stats.repossessed > 0;
	uint64_t zeros = 0;
	for (int i = 0; i < PAGES && repaired; i++)
		if (vm_lookup((uint64_t)mem + (uint64_t)i * PAGE_SIZE) == 0)
			zeros++;
	if (!(fits && repaired && zeros > 0))
		printf("revoke child: pages %u limit %u repossessed %lu zeros %lu\n",
		       thisenv->env_user_pages, limit, vm_stats.repossessed, zeros);
	return fits && repaired && zeros > 0 ? 0 : 3;
}

static long run(bool dirty, volatile uint64_t *flag)
{
	flag[0] = flag[1] = 0;
	long pid = fork();
	if (pid == 0)
		exit(child(flag, dirty));
	uint64_t until = ukinfo->ki_ticks + 10 * ukinfo->ki_tick_hz;
	while (flag[0] == 0 && ukinfo->ki_ticks < until)
		sys_yield();
	uint32_t have = uenvs[ENVX(pid)].env_user_pages;
	long r = sys_env_set_limit((envid_t)pid, have - 60, CAP_SELF);
	flag[1] = 1;
	long st = wait(pid);
	return r < 0 ? r : st;
}

/*
 * Memory pressure: a child holds dirty pages, then takes every free page
 * itself. Its failed allocation makes the kernel ask for pages back - from
 * the asker, whose family holds more than its share. It does not comply,
 * so the abort protocol takes pages (unbound ones first), and our own
 * allocation then succeeds.
 */
static void pressure(volatile uint64_t *flag)
{
	enum { HELD = 4000 };
	flag[0] = flag[1] = 0;
	long pid = fork();
	if (pid == 0) {
		volatile uint8_t *mem = vm_alloc(HELD * PAGE_SIZE);
		for (int i = 0; i < HELD; i++)
			mem[(uint64_t)i * PAGE_SIZE] = 1;
		long r;
		while ((r = sys_page_alloc(PPN_ANY, CAP_SELF)) > 0)
			;
		flag[2] = (uint64_t)-r;
		uint32_t peak = thisenv->env_user_pages;
		flag[0] = 1;
		while (flag[1] == 0)
			sys_yield();
		exit(thisenv->env_user_pages < peak ? 0 : 1);
	}
	uint64_t until = ukinfo->ki_ticks + 20 * ukinfo->ki_tick_hz;
	while (flag[0] == 0 && ukinfo->ki_ticks < until)
		sys_yield();
	check_eq("pressure-exhausted", -(long)flag[2], -E_NO_MEM);
	uint32_t held = uenvs[ENVX(pid)].env_user_pages;
	while (uenvs[ENVX(pid)].env_user_pages >= held && ukinfo->ki_ticks < until)
		sys_yield();
	check("pressure-child-gave-back", uenvs[ENVX(pid)].env_user_pages < held);
	long r = sys_page_alloc(PPN_ANY, CAP_SELF);
	check("pressure-alloc-after", r > 0);
	if (r > 0)
		sys_page_free((uint64_t)r, CAP_SELF);
	flag[1] = 1;
	check_eq("pressure-child-repaired", wait(pid), 0);
}

/* Kill id and all its descendants, deepest first. */
static void destroy_family(envid_t id)
{
	for (int i = 0; i < NENV; i++) {
		uint32_t s = uenvs[i].env_status;
		if (uenvs[i].env_parent_id == id && s != ENV_FREE && s != ENV_ZOMBIE)
			destroy_family(uenvs[i].env_id);
	}
	sys_env_destroy(id, CAP_SELF);
}

/*
 * A bystander (issue 13, finding 1): a child holds BIG dirty pages; a swarm
 * of hoarders, each a little smaller, fills memory. The hoarders' failed
 * allocations ask for pages back: from the swarm's family, which holds
 * more than its share - never from the bystander, the biggest single env.
 */
static void bystander(volatile uint64_t *flag)
{
	enum { BIG = 1000, HOARD = 900 };
	flag[0] = flag[1] = 0;
	long pid = fork();
	if (pid == 0) {
		volatile uint8_t *mem = vm_alloc(BIG * PAGE_SIZE);
		for (int i = 0; i < BIG; i++)
			mem[(uint64_t)i * PAGE_SIZE] = 1;
		flag[0] = 1;
		while (flag[1] == 0)
			sys_yield();
		exit(vm_stats.repossessed + vm_stats.released == 0 ? 0 : 1);
	}
	uint64_t until = ukinfo->ki_ticks + 20 * ukinfo->ki_tick_hz;
	while (flag[0] == 0 && ukinfo->ki_ticks < until)
		sys_yield();
	uint32_t held = uenvs[ENVX(pid)].env_user_pages;
	char args[32];
	snprintf(args, sizeof(args), "swarm %d", HOARD);
	long sw = sys_env_create("hostile", args, CAP_SELF);
	check("bystander-swarm-start", sw > 0);
	const volatile struct env_info *s = &uenvs[ENVX(sw)];
	until = ukinfo->ki_ticks + 60 * ukinfo->ki_tick_hz;
	while (s->env_status != ENV_BLOCKED && ukinfo->ki_ticks < until)
		sys_yield();
	check("bystander-swarm-filled-memory", s->env_status == ENV_BLOCKED);
	/* past every deadline the swarm's requests set */
	until = ukinfo->ki_ticks + 3 * 200;
	while (ukinfo->ki_ticks < until)
		sys_yield();
	check_eq("bystander-kept-its-pages", uenvs[ENVX(pid)].env_user_pages, held);
	destroy_family((envid_t)sw);
	check_eq("bystander-swarm-destroyed", sys_env_wait((envid_t)sw), EXIT_DESTROYED);
	flag[1] = 1;
	check_eq("bystander-never-asked", wait(pid), 0);
}

/*
 * Asking again does not put the deadline off (issue 13, finding 1): a child
 * that ignores the request is asked again every 20 ticks; the abort
 * protocol still comes at the first deadline, and the child hears of the
 * request once, not once per request.
 */
static void repeated_requests(volatile uint64_t *flag)
{
	flag[0] = flag[1] = 0;
	long pid = fork();
	if (pid == 0)
		exit(child(flag, true));
	uint64_t until = ukinfo->ki_ticks + 10 * ukinfo->ki_tick_hz;
	while (flag[0] == 0 && ukinfo->ki_ticks < until)
		sys_yield();
	const volatile struct env_info *c = &uenvs[ENVX(pid)];
	uint32_t target = c->env_user_pages - 60;
	uint32_t upcalls = c->env_upcalls;
	uint64_t start = ukinfo->ki_ticks;
	bool taken = false;
	for (int i = 0; i < 40 && !taken; i++) {
		sys_env_set_limit((envid_t)pid, target, CAP_SELF);
		flag[1] = 1;
		until = ukinfo->ki_ticks + 20;
		while (ukinfo->ki_ticks < until)
			sys_yield();
		taken = c->env_user_pages <= target;
	}
	uint64_t took = ukinfo->ki_ticks - start;
	if (!taken || took > 400)
		printf("  taken %d after %lu ticks\n", taken, took);
	check("repeat-request-deadline-kept", taken && took <= 400);
	check("repeat-request-no-flood", c->env_upcalls - upcalls < 8);
	check_eq("repeat-request-child-repaired", wait(pid), 0);
}

int main(void)
{
	volatile uint64_t *flag = vm_alloc_shared(PAGE_SIZE);
	check_eq("compliant-child-gives-back", run(false, flag), 0);
	check_eq("ignoring-child-repossessed-and-repairs", run(true, flag), 0);
	pressure(flag);
	bystander(flag);
	repeated_requests(flag);

	long kid = sys_env_create("spin", "", CAP_SELF);
	check_eq("limit-self", sys_env_set_limit(0, 100, CAP_SELF), -E_PERM);
	check_eq("limit-self-by-id", sys_env_set_limit(thisenv_id, 100, CAP_SELF), -E_PERM);
	check_eq("limit-parent", sys_env_set_limit(thisenv->env_parent_id, 100, CAP_SELF), -E_PERM);
	check_eq("limit-too-low", sys_env_set_limit((envid_t)kid, ENV_PAGES_MIN - 1, CAP_SELF),
		 -E_INVAL);
	check_eq("limit-bad-env", sys_env_set_limit(0x7fff0000, 100, CAP_SELF), -E_BAD_ENV);
	check_eq("limit-bad-cap", sys_env_set_limit((envid_t)kid, 100, 30), -E_BAD_CAP);
	check_eq("limit-child", sys_env_set_limit((envid_t)kid, 1000, CAP_SELF), 0);
	check_eq("pin-unaligned", sys_env_set_pinned(VPT_BASE + 8, 4), -E_INVAL);
	check_eq("pin-too-many", sys_env_set_pinned(VPT_BASE, ENV_PINNED_MAX + 1), -E_INVAL);
	check_eq("pin-past-utop", sys_env_set_pinned(UTOP - PAGE_SIZE, 2), -E_INVAL);
	check_eq("pin-huge", sys_env_set_pinned(PAGE_SIZE, (uint64_t)-1), -E_INVAL);
	check_eq("pin", sys_env_set_pinned(VPT_BASE, ENV_PINNED_MAX), 0);
	check_eq("rvec-unaligned", sys_env_set_rvec(LIBOS_RVEC + 1, 4), -E_INVAL);
	check_eq("rvec-too-big", sys_env_set_rvec(LIBOS_RVEC, RVEC_MAX + 1), -E_INVAL);
	check_eq("rvec-zero", sys_env_set_rvec(LIBOS_RVEC, 0), -E_INVAL);
	check_eq("rvec-unbound", sys_env_set_rvec(0x0000510000000000UL, 4), -E_FAULT);
	check_eq("rvec-beyond", sys_env_set_rvec(UTOP, 4), -E_INVAL);
	check_eq("rvec", sys_env_set_rvec(LIBOS_RVEC, RVEC_MAX), 0);
	check("limit-visible", uenvs[ENVX(kid)].env_page_limit == 1000);
	sys_env_destroy((envid_t)kid, CAP_SELF);
	sys_env_wait((envid_t)kid);

	/* at the limit, allocation fails */
	uint32_t mine = thisenv->env_user_pages;
	long f = fork();
	if (f == 0) {
		while (thisenv->env_page_limit == UINT32_MAX)
			sys_yield();
		long r = 0;
		for (int i = 0; i < 1000 && r >= 0; i++)
			r = sys_page_alloc(PPN_ANY, CAP_SELF);
		exit(r == -E_QUOTA ? 0 : 1);
	}
	sys_env_set_limit((envid_t)f, mine + 64, CAP_SELF);
	check_eq("alloc-at-limit", wait(f), 0);
	return test_finish();
}
