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
 * Locking: under the big kernel lock.
 */
#include <inc/error.h>
#include <inc/quota.h>
#include <kern/arch/cpu.h>
#include <kern/env/cap.h>
#include <kern/env/env.h>
#include <kern/env/quota.h>
#include <kern/mem/account.h>
#include <kern/mem/vm.h>
#include <common/string.h>

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
