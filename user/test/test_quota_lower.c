/*
 * Lowering a family's page quota below what it holds takes the difference
 * back visibly: each env of the family is asked (T_REVOKE) for a share in
 * proportion to what it holds above its minimum, chooses what to give, and
 * the abort protocol takes the rest from one that cannot comply; meanwhile
 * every page charge of the family fails with E_QUOTA. The family: a child
 * holding dirty pages (it cannot give them up by itself) and its own child
 * holding clean ones (it can).
 */
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

#define PAGES 100 /* each member's region */
#define CUT 100   /* pages the family must give back */

enum {
	READY,      /* members with their pages touched */
	GRAND,      /* the grandchild's id */
	OVER_ALLOC, /* the child's page_alloc while its family was over */
	UNDER,      /* 1: the child saw its family back under its limit */
	RAISED,     /* 1: the limit is back up */
	AGAIN,      /* the child's page_alloc after that */
	DONE,       /* 1: the parent has looked: members may exit */
	REPOSSESSED,
	RELEASED,
};

static volatile uint64_t *shared;

static struct quota_info q(envid_t id)
{
	struct quota_info qi;
	memset(&qi, 0, sizeof(qi));
	sys_env_quota(id, &qi);
	return qi;
}

static void wait_for(unsigned word, uint64_t value, uint64_t seconds)
{
	uint64_t until = ukinfo->ki_ticks + seconds * ukinfo->ki_tick_hz;
	while (shared[word] < value && ukinfo->ki_ticks < until)
		sys_yield();
}

/* Touch PAGES pages: written (data: only the abort protocol takes them)
 * or read (still zero: the library OS gives them back when asked). */
static void touch(bool dirty)
{
	volatile uint8_t *mem = vm_alloc(PAGES * PAGE_SIZE);
	for (int i = 0; i < PAGES; i++) {
		if (dirty)
			mem[(uint64_t)i * PAGE_SIZE] = 1;
		else
			(void)mem[(uint64_t)i * PAGE_SIZE];
	}
}

static void grandchild(void)
{
	touch(false);
	__atomic_fetch_add(&shared[READY], 1, __ATOMIC_SEQ_CST);
	wait_for(DONE, 1, 30);
	shared[RELEASED] = vm_stats.released;
	exit(0);
}

static void child(void)
{
	long g = fork();
	if (g == 0)
		grandchild();
	shared[GRAND] = (uint64_t)g;
	touch(true);
	struct quota_info before = q(0);
	__atomic_fetch_add(&shared[READY], 1, __ATOMIC_SEQ_CST);
	uint64_t until = ukinfo->ki_ticks + 20 * ukinfo->ki_tick_hz;
	while (q(0).qi_limit[QUOTA_PAGES] == before.qi_limit[QUOTA_PAGES] &&
	       ukinfo->ki_ticks < until)
		sys_yield();
	/* Lowered: our dirty pages are not ours to give by ourselves, so the
	 * family stays over until the deadline passes. */
	shared[OVER_ALLOC] = (uint64_t)sys_page_alloc(PPN_ANY, CAP_SELF);
	struct quota_info now = q(0);
	while (now.qi_used[QUOTA_PAGES] > now.qi_limit[QUOTA_PAGES] && ukinfo->ki_ticks < until) {
		sys_yield();
		now = q(0);
	}
	shared[UNDER] = now.qi_used[QUOTA_PAGES] <= now.qi_limit[QUOTA_PAGES];
	wait_for(RAISED, 1, 20);
	long r = sys_page_alloc(PPN_ANY, CAP_SELF);
	shared[AGAIN] = (uint64_t)r;
	if (r >= 0)
		sys_page_free((uint64_t)r, CAP_SELF);
	shared[REPOSSESSED] = vm_stats.repossessed;
	wait_for(DONE, 1, 30);
	exit(wait(g) == 0 ? 0 : 1);
}

int main(void)
{
	shared = vm_alloc_shared(PAGE_SIZE);
	long pid = fork();
	if (pid == 0)
		child();
	wait_for(READY, 2, 20);
	check_eq("members-ready", (long)shared[READY], 2);
	envid_t kid = (envid_t)pid, grand = (envid_t)shared[GRAND];
	uint32_t kid_had = uenvs[ENVX(kid)].env_user_pages;
	uint32_t grand_had = uenvs[ENVX(grand)].env_user_pages;
	struct quota_info fam = q(kid);
	uint64_t limit = fam.qi_used[QUOTA_PAGES] - CUT;
	uint32_t my_pages = thisenv->env_user_pages;
	check_eq("lower", sys_env_set_quota(kid, QUOTA_PAGES, limit, CAP_SELF), 0);
	check("family-over-now", q(kid).qi_used[QUOTA_PAGES] > limit);

	wait_for(UNDER, 1, 20);
	check_eq("charge-while-over-refused", (long)shared[OVER_ALLOC], -E_QUOTA);
	check_eq("family-back-under", (long)shared[UNDER], 1);
	check("family-within-new-limit", q(kid).qi_used[QUOTA_PAGES] <= limit);
	/* each gave a share: the grandchild its clean pages by itself, the
	 * child (whose pages hold data) through the abort protocol */
	check("grandchild-gave", uenvs[ENVX(grand)].env_user_pages < grand_had);
	check("child-gave", uenvs[ENVX(kid)].env_user_pages < kid_had);
	check_eq("bystander-untouched", (long)thisenv->env_user_pages, (long)my_pages);

	check_eq("raise", sys_env_set_quota(kid, QUOTA_PAGES, fam.qi_limit[QUOTA_PAGES], CAP_SELF),
		 0);
	shared[RAISED] = 1;
	uint64_t until = ukinfo->ki_ticks + 20 * ukinfo->ki_tick_hz;
	while (shared[AGAIN] == 0 && ukinfo->ki_ticks < until)
		sys_yield();
	check("charge-after-raise", (long)shared[AGAIN] > 0);
	shared[DONE] = 1;
	check_eq("members-exit", wait(pid), 0);
	check("child-repossessed", shared[REPOSSESSED] > 0);
	check("grandchild-released", shared[RELEASED] > 0);
	return test_finish();
}
