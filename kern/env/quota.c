/*
 * The family-quota system calls: a creator sets what its child's family -
 * the child and all its descendants - may hold (env_set_quota), and anyone
 * reads a family's limits and use (env_quota). The accounts themselves,
 * and the model, are kern/mem/account.c's (doc/design.md, "Accounting by
 * family").
 *
 * Authority: setting needs a key dominating the env's guard with CAP_M, and
 * never applies to the caller itself - a family cannot raise its own
 * limits; its charges still meet every ancestor's limit whatever its own
 * says. Reading needs nothing, as the env table is public.
 *
 * Lowering a limit below what the family holds: every charge of the kind
 * fails with E_QUOTA until the family is back under (acct_may refuses an
 * account over its limit). For pages the kernel also takes the difference
 * back, the exokernel way - visibly: each live env of the family is asked,
 * through the revocation protocol (revoke.c: a T_REVOKE upcall, a
 * deadline, then the abort protocol), for a share of the excess in
 * proportion to the user pages it holds above its guaranteed minimum
 * (ENV_PAGES_MIN), and each chooses which pages to give. What no env can
 * give without going below its minimum stays: the family is then over its
 * limit until it frees pages itself. Other kinds are not taken back: the
 * kernel cannot pick a family's bindings, slots, filters or keys without
 * deciding its policy, and none of them grows while the family is over.
 *
 * Locking: under the big kernel lock.
 */
#include <inc/error.h>
#include <inc/quota.h>
#include <kern/arch/cpu.h>
#include <kern/env/cap.h>
#include <kern/env/env.h>
#include <kern/env/quota.h>
#include <kern/env/revoke.h>
#include <kern/mem/account.h>
#include <kern/mem/vm.h>
#include <common/string.h>

/* User pages live env e of family a could give back above its minimum
 * (0 if it is not in a or not alive). */
static uint64_t spare_pages(const struct account *a, const struct env *e)
{
	uint32_t s = e->env_info->env_status;
	if (s == ENV_FREE || s == ENV_ZOMBIE || !acct_in_family(a, e->env_vm->vs_acct))
		return 0;
	uint32_t have = e->env_info->env_user_pages;
	return have > ENV_PAGES_MIN ? have - ENV_PAGES_MIN : 0;
}

/* Family a holds more pages than its limit: ask its envs for the excess,
 * each in proportion to what it could give. */
static void ask_family_for_pages(const struct account *a)
{
	uint64_t used = a->a_used[QUOTA_PAGES], limit = a->a_limit[QUOTA_PAGES];
	if (used <= limit)
		return;
	uint64_t excess = used - limit, spare = 0;
	for (int i = 0; i < NENV; i++)
		spare += spare_pages(a, &envs[i]);
	if (spare == 0)
		return; /* everyone at its minimum: charges fail until it frees */
	/* Each its share, rounded down (both factors at most the machine's
	 * pages: no overflow); what rounding left, a page more each from the
	 * first with more to give. */
	uint64_t want = MIN(excess, spare), rounded = 0;
	for (int i = 0; i < NENV; i++)
		rounded += spare_pages(a, &envs[i]) * want / spare;
	uint64_t left = want - rounded;
	for (int i = 0; i < NENV; i++) {
		uint64_t have = spare_pages(a, &envs[i]), n = have * want / spare;
		if (left && have > n) {
			n++;
			left--;
		}
		if (n)
			revoke_request(&envs[i], n);
	}
}

long sys_env_set_quota(envid_t envid, uint64_t kind, uint64_t limit, uint64_t cap)
{
	struct env *self = curenv;
	if (kind >= QUOTA_KINDS)
		return -E_INVAL;
	if (envid == 0 || envid == self->env_id)
		return -E_PERM;
	struct env *e = env_lookup(envid);
	if (!e)
		return -E_BAD_ENV;
	long r = cap_check(self, cap, &e->env_guard, CAP_M);
	if (r < 0)
		return r;
	acct_set_limit(e->env_vm->vs_acct, (unsigned)kind, limit);
	if (kind == QUOTA_PAGES)
		ask_family_for_pages(e->env_vm->vs_acct);
	return 0;
}

long sys_env_quota(envid_t envid, uint64_t out)
{
	struct env *e = envid == 0 ? curenv : env_lookup(envid);
	if (!e)
		return -E_BAD_ENV;
	const struct account *a = e->env_vm->vs_acct;
	struct quota_info qi;
	memcpy(qi.qi_limit, a->a_limit, sizeof(qi.qi_limit));
	memcpy(qi.qi_used, a->a_used, sizeof(qi.qi_used));
	qi.qi_code_units = a->a_code_units;
	qi.qi_code_denied = a->a_code_denied;
	if (copy_to_user(curenv->env_vm, out, &qi, sizeof(qi)) < 0)
		return -E_FAULT;
	return 0;
}
