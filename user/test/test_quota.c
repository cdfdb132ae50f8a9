/*
 * Family quotas (inc/quota.h): the defaults a new env gets, that a family's
 * charges reach every ancestor's account, the errors of env_set_quota and
 * env_quota, and that an account outlives its env while descendants do.
 */
#include <inc/slice.h>
#include <lib/base/test.h>

static struct quota_info q(envid_t id)
{
	struct quota_info qi;
	memset(&qi, 0xff, sizeof(qi));
	sys_env_quota(id, &qi);
	return qi;
}

static uint64_t share(uint64_t limit)
{
	return limit / QUOTA_SHARE_DEN * QUOTA_SHARE_NUM +
	       limit % QUOTA_SHARE_DEN * QUOTA_SHARE_NUM / QUOTA_SHARE_DEN;
}

int main(void)
{
	struct quota_info me = q(0);
	check("read-own", me.qi_used[QUOTA_ENVS] >= 1 && me.qi_used[QUOTA_PAGES] > 0);
	check_eq("read-unwritable", sys_env_quota(0, (struct quota_info *)16), -E_FAULT);
	check_eq("read-no-env", sys_env_quota(0x7ffffc00, &me), -E_BAD_ENV);

	/* A child: the default share of each of our limits, charged to us. */
	long child = sys_env_fork(CAP_SELF);
	check("fork", child > 0);
	struct quota_info after = q(0), c = q((envid_t)child);
	bool defaults = true;
	for (unsigned k = 0; k < QUOTA_KINDS; k++)
		defaults &= c.qi_limit[k] ==
			    (k == QUOTA_PAGES ? me.qi_limit[k] : share(me.qi_limit[k]));
	check("child-default-share", defaults);
	check_eq("child-counts-one-env", (long)c.qi_used[QUOTA_ENVS], 1);
	check_eq("child-charged-to-us", (long)(after.qi_used[QUOTA_ENVS] - me.qi_used[QUOTA_ENVS]),
		 1);
	check("child-pages-charged-to-us",
	      after.qi_used[QUOTA_PAGES] >= me.qi_used[QUOTA_PAGES] + c.qi_used[QUOTA_PAGES]);

	/* Errors of env_set_quota. */
	check_eq("set-own", sys_env_set_quota(0, QUOTA_PAGES, 1000, CAP_SELF), -E_PERM);
	check_eq("set-own-by-id", sys_env_set_quota(thisenv_id, QUOTA_PAGES, 1000, CAP_SELF),
		 -E_PERM);
	check_eq("set-bad-kind", sys_env_set_quota((envid_t)child, QUOTA_KINDS, 1, CAP_SELF),
		 -E_INVAL);
	check_eq("set-no-env", sys_env_set_quota(0x7ffffc00, QUOTA_PAGES, 1, CAP_SELF), -E_BAD_ENV);
	check_eq("set-bad-cap", sys_env_set_quota((envid_t)child, QUOTA_PAGES, 1, 31), -E_BAD_CAP);
	uint16_t other[1] = { 0x4242 };
	check_eq("derive-unrelated", sys_cap_derive(CAP_SELF, 6, CAP_ALL, other, 1), 0);
	check_eq("set-key-not-dominating", sys_env_set_quota((envid_t)child, QUOTA_PAGES, 1, 6),
		 -E_PERM);
	sys_cap_drop(6);

	/* Slices through the child: its family stops at what we set. */
	check_eq("set-slices", sys_env_set_quota((envid_t)child, QUOTA_SLICES, 2, CAP_SELF), 0);
	check_eq("read-back", (long)q((envid_t)child).qi_limit[QUOTA_SLICES], 2);
	long s1 = sys_slice_alloc(0, SLICE_ANY, (envid_t)child, CAP_SELF);
	long s2 = sys_slice_alloc(0, SLICE_ANY, (envid_t)child, CAP_SELF);
	check("slices-within-quota", s1 >= 0 && s2 >= 0);
	check_eq("slice-over-quota", sys_slice_alloc(0, SLICE_ANY, (envid_t)child, CAP_SELF),
		 -E_QUOTA);
	check_eq("slices-counted", (long)q((envid_t)child).qi_used[QUOTA_SLICES], 2);
	check_eq("slice-free", sys_slice_free(0, (uint64_t)s1, CAP_SELF), 0);
	check_eq("slice-again", sys_slice_alloc(0, (uint64_t)s1, (envid_t)child, CAP_SELF), s1);

	/* Bindings into the child count against its family. */
	check_eq("set-bindings", sys_env_set_quota((envid_t)child, QUOTA_BINDINGS, 3, CAP_SELF), 0);
	long ppn = sys_page_alloc(PPN_ANY, CAP_SELF);
	long r = 0;
	int bound = 0;
	for (; bound < 5 &&
	       (r = sys_page_bind((envid_t)child, 0x400000UL + (uint64_t)bound * PAGE_SIZE,
				  (uint64_t)ppn, BIND_READ, CAP_SELF)) == 0;
	     bound++)
		;
	check_eq("bindings-stop-at-quota", bound, 3);
	check_eq("binding-over-quota", r, -E_QUOTA);
	check_eq("rebind-same-va-ok",
		 sys_page_bind((envid_t)child, 0x400000UL, (uint64_t)ppn, BIND_READ | BIND_WRITE,
			       CAP_SELF),
		 0);

	/* Lowering a limit below use refuses more, takes nothing. */
	check_eq("lower-below-use", sys_env_set_quota((envid_t)child, QUOTA_BINDINGS, 1, CAP_SELF),
		 0);
	check_eq("still-bound", (long)q((envid_t)child).qi_used[QUOTA_BINDINGS], 3);

	/* Everything comes back with the child. */
	struct quota_info before_end = q(0);
	check_eq("destroy", sys_env_destroy((envid_t)child, CAP_SELF), 0);
	check_eq("wait", sys_env_wait((envid_t)child), EXIT_DESTROYED);
	struct quota_info end = q(0);
	check_eq("slices-returned",
		 (long)(before_end.qi_used[QUOTA_SLICES] - end.qi_used[QUOTA_SLICES]), 2);
	check_eq("bindings-returned",
		 (long)(before_end.qi_used[QUOTA_BINDINGS] - end.qi_used[QUOTA_BINDINGS]), 3);
	check_eq("env-returned", (long)end.qi_used[QUOTA_ENVS], (long)me.qi_used[QUOTA_ENVS]);
	sys_page_free((uint64_t)ppn, CAP_SELF);

	/* An account outlives its env while its descendants live: killing the
	 * head of a family does not free its children from its limit. */
	struct quota_info base = q(0);
	child = sys_env_create("hostile", "family envs 1 3", CAP_SELF);
	check("family-start", child > 0);
	check_eq("set-envs", sys_env_set_quota((envid_t)child, QUOTA_ENVS, 3, CAP_SELF), 0);
	const volatile struct env_info *ci = &uenvs[ENVX(child)];
	uint64_t until = ukinfo->ki_ticks + 20 * ukinfo->ki_tick_hz;
	while (ci->env_status != ENV_BLOCKED && ukinfo->ki_ticks < until)
		sys_yield();
	check_eq("family-holds-3", (long)q((envid_t)child).qi_used[QUOTA_ENVS], 3);
	envid_t orphan = 0;
	for (int i = 0; i < NENV; i++)
		if (uenvs[i].env_parent_id == child && uenvs[i].env_status == ENV_BLOCKED)
			orphan = uenvs[i].env_id;
	check("grandchild-found", orphan != 0);
	check_eq("destroy-head", sys_env_destroy((envid_t)child, CAP_SELF), 0);
	check_eq("wait-head", sys_env_wait((envid_t)child), EXIT_DESTROYED);
	check_eq("orphan-alive", (long)(uenvs[ENVX(orphan)].env_status == ENV_BLOCKED), 1);
	check_eq("dead-head-still-counts",
		 (long)(q(0).qi_used[QUOTA_ENVS] - base.qi_used[QUOTA_ENVS]), 3);
	check_eq("orphan-still-bounded", (long)q(orphan).qi_limit[QUOTA_ENVS], (long)share(3));
	check_eq("destroy-orphan", sys_env_destroy(orphan, CAP_SELF), 0);
	check_eq("all-returned", (long)q(0).qi_used[QUOTA_ENVS], (long)base.qi_used[QUOTA_ENVS]);
	return test_finish();
}
