/*
 * The env system calls (inc/syscall.def): creating, replacing, ending and
 * waiting for envs, and setting up an unstarted or running one - its
 * upcall routes, registers, repossession vector, pinned range and page
 * limit. The mechanisms are env.c's, loader.c's and revoke.c's; these
 * functions only check the caller's arguments and authority, then call them.
 *
 * Authority: an env acts on itself freely; on another only with a key that
 * dominates its guard with CAP_M (other_env). Every argument comes from a
 * hostile caller and is checked before anything changes; the comment on each
 * call in inc/syscall.def lists its errors, in this order.
 *
 * Locking: under the big kernel lock (kern/syscall.c).
 */
#include <inc/cap.h>
#include <inc/error.h>
#include <inc/page.h>
#include <inc/syscall.h>
#include <inc/upcall.h>
#include <kern/arch/cpu.h>
#include <kern/arch/fastpath.h>
#include <kern/arch/x86.h>
#include <kern/env/cap.h>
#include <kern/env/env.h>
#include <kern/env/envcall.h>
#include <kern/env/revoke.h>
#include <kern/mem/vm.h>
#include <common/string.h>

/* Key slot of e that may create children: it must carry CAP_M. */
static long creator_key(struct env *e, uint64_t slot, const struct cap **key)
{
	long r = cap_key(e, slot, key);
	if (r < 0)
		return r;
	return ((*key)->c_rights & CAP_M) ? 0 : -E_PERM;
}

/* A program name and its argument string (uargs 0: none) from e. */
static long copy_name_args(struct env *e, uint64_t uname, uint64_t uargs,
			   char name[ENV_CREATE_NAME_MAX], char args[ENV_CREATE_ARGS_MAX])
{
	long r = copy_string_from_user(e->env_vm, name, uname, ENV_CREATE_NAME_MAX);
	if (r < 0)
		return r;
	args[0] = '\0';
	if (uargs && (r = copy_string_from_user(e->env_vm, args, uargs, ENV_CREATE_ARGS_MAX)) < 0)
		return r;
	return 0;
}

long sys_env_create(uint64_t uname, uint64_t uargs, uint64_t cap)
{
	struct env *e = curenv;
	char name[ENV_CREATE_NAME_MAX], args[ENV_CREATE_ARGS_MAX];
	long r = copy_name_args(e, uname, uargs, name, args);
	if (r < 0)
		return r;
	const struct cap *key;
	if ((r = creator_key(e, cap, &key)) < 0)
		return r;
	return env_create(e, key, name, args);
}

long sys_env_exec(uint64_t uname, uint64_t uargs)
{
	struct env *e = curenv;
	char name[ENV_CREATE_NAME_MAX], args[ENV_CREATE_ARGS_MAX];
	long r = copy_name_args(e, uname, uargs, name, args);
	if (r < 0)
		return r;
	r = env_exec(e, name, args);
	if (r < 0 && env_lookup(e->env_id) == e)
		return r; /* refused before anything changed */
	if (r < 0)
		sched_yield(); /* it is gone */
	env_run(e); /* the new program, from its first instruction */
}

#define FL_USER_MASK 0xcd5UL /* CF PF AF ZF SF DF OF: what user code may set */

static void set_regs(struct trapframe *tf, const struct env_regs *regs)
{
	tf->tf_rax = regs->r_rax, tf->tf_rbx = regs->r_rbx, tf->tf_rcx = regs->r_rcx;
	tf->tf_rdx = regs->r_rdx, tf->tf_rsi = regs->r_rsi, tf->tf_rdi = regs->r_rdi;
	tf->tf_rbp = regs->r_rbp, tf->tf_r8 = regs->r_r8, tf->tf_r9 = regs->r_r9;
	tf->tf_r10 = regs->r_r10, tf->tf_r11 = regs->r_r11, tf->tf_r12 = regs->r_r12;
	tf->tf_r13 = regs->r_r13, tf->tf_r14 = regs->r_r14, tf->tf_r15 = regs->r_r15;
	tf->tf_rip = regs->r_rip;
	tf->tf_rsp = regs->r_rsp;
	tf->tf_rflags = (regs->r_rflags & FL_USER_MASK) | FL_IF | 0x2;
}

static bool ranges_meet(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
	return a < b + bn * PAGE_SIZE && b < a + an * PAGE_SIZE;
}

/* Decode: every range of moves[0..n) aligned, non-empty, below UTOP and
 * bounded in all; from-ranges disjoint, to-ranges disjoint, and no to-range
 * over a from-range but its own identical one (so no move lands on a
 * binding still to be moved or kept). */
static long exec_moves_check(const struct exec_move *m, uint64_t n)
{
	uint64_t total = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t np = m[i].em_npages;
		if (np == 0 || np > EXEC_MOVE_PAGES_MAX || (total += np) > EXEC_MOVE_PAGES_MAX ||
		    m[i].em_from % PAGE_SIZE || m[i].em_to % PAGE_SIZE || m[i].em_from >= UTOP ||
		    m[i].em_to >= UTOP || np > (UTOP - m[i].em_from) / PAGE_SIZE ||
		    np > (UTOP - m[i].em_to) / PAGE_SIZE)
			return -E_INVAL;
	}
	for (uint64_t i = 0; i < n; i++)
		for (uint64_t j = 0; j < n; j++) {
			const struct exec_move *a = &m[i], *b = &m[j];
			if (i != j &&
			    (ranges_meet(a->em_from, a->em_npages, b->em_from, b->em_npages) ||
			     ranges_meet(a->em_to, a->em_npages, b->em_to, b->em_npages) ||
			     ranges_meet(a->em_to, a->em_npages, b->em_from, b->em_npages)))
				return -E_INVAL;
			if (i == j && a->em_to != a->em_from &&
			    ranges_meet(a->em_to, a->em_npages, a->em_from, a->em_npages))
				return -E_INVAL;
		}
	return 0;
}

long sys_env_exec_moves(uint64_t uname, uint64_t umoves, uint64_t n, uint64_t uregs)
{
	struct env *e = curenv;
	char name[ENV_CREATE_NAME_MAX];
	long r = copy_string_from_user(e->env_vm, name, uname, ENV_CREATE_NAME_MAX);
	if (r < 0)
		return r;
	if (n == 0 || n > EXEC_MOVES_MAX)
		return -E_INVAL;
	struct exec_move m[EXEC_MOVES_MAX];
	struct env_regs regs;
	if (copy_from_user(e->env_vm, m, umoves, n * sizeof(m[0])) < 0 ||
	    copy_from_user(e->env_vm, &regs, uregs, sizeof(regs)) < 0)
		return -E_FAULT;
	if (regs.r_rip >= UTOP || exec_moves_check(m, n) < 0)
		return -E_INVAL;
	/* Invoke: nothing below can fail. */
	env_exec_moves(e, name, m, (unsigned)n);
	set_regs(&e->env_tf, &regs);
	env_run(e); /* the new program, from its first instruction */
}

/*
 * The env a call acts on: the caller itself for 0 (or its own id), or a
 * live env whose guard the caller's key in slot cap dominates with CAP_M.
 */
FASTPATH long other_env(envid_t id, uint64_t cap, bool check_self, struct env **out)
{
	struct env *self = curenv;
	struct env *e = (id == 0) ? self : env_lookup(id);
	if (!e)
		return -E_BAD_ENV;
	if (e != self || check_self) {
		long r = cap_check(self, cap, &e->env_guard, CAP_M);
		if (r < 0)
			return r;
	}
	*out = e;
	return 0;
}

long sys_env_destroy(envid_t envid, uint64_t cap)
{
	struct env *self = curenv, *e;
	if (envid == 0)
		return -E_BAD_ENV;
	long r = other_env(envid, cap, true, &e);
	if (r < 0)
		return r;
	env_destroy(e, EXIT_DESTROYED, "");
	if (e == self)
		sched_yield();
	return 0;
}

long sys_env_exit(uint64_t code)
{
	env_destroy(curenv, (uint32_t)(code & EXIT_CODE_MASK), "");
	sched_yield();
}

long sys_env_wait(envid_t envid)
{
	struct env *self = curenv;
	if (envid <= 0)
		return -E_BAD_ENV;
	struct env *e = &envs[ENVX(envid)];
	if (e->env_id != envid || e->env_info->env_status == ENV_FREE)
		return -E_BAD_ENV;
	if (e->env_info->env_parent_id != self->env_id)
		return -E_NOT_CHILD;
	if (e->env_info->env_status == ENV_ZOMBIE) {
		uint32_t status = e->env_info->env_exit;
		env_reap(e);
		return status;
	}
	syscall_save_caller(0);
	self->env_block = BLOCK_WAIT;
	self->env_wait_for = envid;
	env_set_status(self, ENV_BLOCKED);
	sched_yield();
}

long sys_env_set_upcall(uint64_t kind, uint64_t entry, uint64_t lo, uint64_t hi)
{
	struct env *e = curenv;
	if (kind >= UPCALL_KINDS || entry >= UTOP)
		return -E_INVAL;
	if (entry != 0 && (lo >= hi || hi > UTOP || (lo | hi) % 16 != 0 ||
			   hi - lo < sizeof(struct upcall_frame) + UPCALL_REDZONE))
		return -E_INVAL;
	if (!entry)
		lo = hi = 0;
	e->env_route[kind] = (struct upcall_route){ entry, lo, hi };
	return 0;
}

long sys_env_fork(uint64_t cap)
{
	const struct cap *key;
	long r = creator_key(curenv, cap, &key);
	if (r < 0)
		return r;
	return env_fork(curenv, key);
}

/* An unstarted env the caller controls. */
static long unstarted_env(envid_t envid, uint64_t cap, struct env **out)
{
	struct env *e;
	long r = other_env(envid, cap, true, &e);
	if (r < 0)
		return r;
	if (e->env_info->env_status != ENV_BLOCKED || e->env_block != BLOCK_UNSTARTED)
		return -E_BUSY;
	*out = e;
	return 0;
}

long sys_env_set_regs(envid_t envid, uint64_t uregs, uint64_t cap)
{
	struct env_regs regs;
	if (copy_from_user(curenv->env_vm, &regs, uregs, sizeof(regs)) < 0)
		return -E_FAULT;
	if (regs.r_rip >= UTOP)
		return -E_INVAL;
	struct env *e;
	long r = unstarted_env(envid, cap, &e);
	if (r < 0)
		return r;
	set_regs(&e->env_tf, &regs);
	return 0;
}

long sys_env_set_name(envid_t envid, uint64_t uname, uint64_t cap)
{
	char name[ENV_CREATE_NAME_MAX];
	long r = copy_string_from_user(curenv->env_vm, name, uname, ENV_CREATE_NAME_MAX);
	if (r < 0)
		return r;
	struct env *e;
	if ((r = unstarted_env(envid, cap, &e)) < 0)
		return r;
	strlcpy(e->env_info->env_name, name, sizeof(e->env_info->env_name));
	return 0;
}

long sys_env_start(envid_t envid, uint64_t cap)
{
	struct env *e;
	long r = unstarted_env(envid, cap, &e);
	if (r < 0)
		return r;
	e->env_block = BLOCK_NONE;
	env_set_status(e, ENV_RUNNABLE);
	return 0;
}

long sys_env_set_rvec(uint64_t va, uint64_t n)
{
	struct env *e = curenv;
	if (va % 8 != 0 || va >= UTOP || n > RVEC_MAX)
		return -E_INVAL;
	if (va == 0 && n == 0) {
		e->env_rvec_va = e->env_rvec_n = 0;
		return 0;
	}
	if (n == 0)
		return -E_INVAL;
	if (!vm_check(e->env_vm, va, sizeof(struct rvec) + n * sizeof(struct rvec_entry), true))
		return -E_FAULT;
	e->env_rvec_va = va;
	e->env_rvec_n = n;
	return 0;
}

long sys_env_set_pinned(uint64_t va, uint64_t npages)
{
	struct env *e = curenv;
	if (va % PAGE_SIZE || npages > ENV_PINNED_MAX || va >= UTOP ||
	    npages > (UTOP - va) / PAGE_SIZE)
		return -E_INVAL;
	e->env_pinned_lo = npages ? va : 0;
	e->env_pinned_hi = npages ? va + npages * PAGE_SIZE : 0;
	return 0;
}

long sys_env_set_limit(envid_t envid, uint64_t npages, uint64_t cap)
{
	struct env *e;
	if (envid == 0 || envid == curenv->env_id)
		return -E_PERM;
	long r = other_env(envid, cap, true, &e);
	if (r < 0)
		return r;
	if (npages < ENV_PAGES_MIN)
		return -E_INVAL;
	e->env_info->env_page_limit = (uint32_t)MIN(npages, (uint64_t)UINT32_MAX);
	if (e->env_info->env_user_pages > e->env_info->env_page_limit)
		revoke_request(e, e->env_info->env_user_pages - e->env_info->env_page_limit);
	return 0;
}
