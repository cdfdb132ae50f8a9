/*
 * System calls: the dispatch generated from inc/syscall.def, and each call's
 * implementation. Every call first checks all its arguments and the caller's
 * authority (returning -E_* and changing nothing), then acts. The comment on
 * each call in inc/syscall.def lists its errors; these functions are in the
 * same order.
 *
 * A call that blocks or gives up the CPU saves the caller's registers from
 * the frame syscall_entry built (save_caller) and enters the scheduler; the
 * result reaches the caller through its saved %rax when it next runs.
 *
 * Locking: syscall() holds the big kernel lock from entry to exit.
 */
#include <inc/cap.h>
#include <inc/error.h>
#include <inc/kinfo.h>
#include <inc/page.h>
#include <inc/syscall.h>
#include <inc/upcall.h>
#include <kern/env/cap.h>
#include <kern/arch/console.h>
#include <kern/env/console_input.h>
#include <kern/arch/cpu.h>
#include <kern/arch/entropy.h>
#include <kern/env/env.h>
#include <kern/arch/fastpath.h>
#include <kern/arch/lock.h>
#include <kern/net/net.h>
#include <kern/disk/disk.h>
#include <kern/net/netfilter.h>
#include <kern/bpf/dlcode.h>
#include <kern/env/pct.h>
#include <kern/env/quota.h>
#include <kern/env/pagewait.h>
#include <kern/mem/pmap.h>
#include <kern/mem/account.h>
#include <kern/env/slice.h>
#include <kern/env/revoke.h>
#include <kern/mem/stlb.h>
#include <kern/syscall.h>
#include <kern/debug/trace.h>
#include <kern/mem/vm.h>
#include <kern/arch/x86.h>
#include <common/string.h>

extern struct kern_info kinfo;

FASTPATH static long sys_getenvid(void)
{
	return curenv->env_id;
}

static long sys_cputs(uint64_t s, uint64_t len)
{
	struct env *e = curenv;
	if (!vm_check(e->env_vm, s, len, 0))
		return -E_FAULT;
	char buf[256];
	for (uint64_t done = 0; done < len;) {
		uint64_t n = MIN(len - done, sizeof(buf));
		copy_from_user(e->env_vm, buf, s + done, n);
		cputs_kernel(buf, n);
		done += n;
	}
	return 0;
}

static long sys_cgetc(uint64_t flags)
{
	struct env *e = curenv;
	if (flags & ~(uint64_t)CGETC_NONBLOCK)
		return -E_INVAL;
	if (kinfo.ki_console != e->env_id)
		return -E_PERM;
	int c = console_getc();
	if (c >= 0)
		return c;
	if (flags & CGETC_NONBLOCK)
		return -E_AGAIN;
	syscall_save_caller(0);
	e->env_block = BLOCK_CONSOLE;
	env_set_status(e, ENV_BLOCKED);
	sched_yield();
}

static long sys_cons_grant(envid_t envid)
{
	struct env *e = curenv;
	if (kinfo.ki_console != e->env_id)
		return -E_PERM;
	if (envid == 0)
		envid = e->env_info->env_parent_id;
	struct env *to = env_lookup(envid);
	if (!to)
		return -E_BAD_ENV;
	kinfo.ki_console = to->env_id;
	console_owner_changed();
	return 0;
}

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

static long sys_env_create(uint64_t uname, uint64_t uargs, uint64_t cap)
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

static long sys_env_exec(uint64_t uname, uint64_t uargs)
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

static long sys_env_exec_moves(uint64_t uname, uint64_t umoves, uint64_t n, uint64_t uregs)
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
FASTPATH static long other_env(envid_t id, uint64_t cap, bool check_self, struct env **out)
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

static long sys_env_destroy(envid_t envid, uint64_t cap)
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

static long sys_env_exit(uint64_t code)
{
	env_destroy(curenv, (uint32_t)(code & EXIT_CODE_MASK), "");
	sched_yield();
}

static long sys_env_wait(envid_t envid)
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

static long sys_env_set_upcall(uint64_t kind, uint64_t entry, uint64_t lo, uint64_t hi)
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

static long sys_yield(void)
{
	slice_yielded(curenv);
	syscall_save_caller(0);
	sched_yield();
}

static long sys_page_alloc(uint64_t ppn, uint64_t cap)
{
	struct env *e = curenv;
	if (ppn != PPN_ANY && ppn >= pages_total)
		return -E_INVAL;
	const struct cap *key;
	long r = cap_key(e, cap, &key);
	if (r < 0)
		return r;
	if (ppn != PPN_ANY && pages[ppn].pg_type != PAGE_FREE)
		return -E_BUSY;
	if (e->env_info->env_user_pages >= e->env_info->env_page_limit)
		return -E_NO_MEM;
	if (!acct_may(e->env_vm->vs_acct, QUOTA_PAGES, 1))
		return -E_NO_MEM; /* its family is at its quota: nothing to revoke */
	long g = guard_get(key, e->env_vm->vs_acct);
	if (g < 0)
		return g;
	r = page_take(e->env_vm, PAGE_USER, ppn);
	if (r < 0) {
		guard_put((uint32_t)g);
		if (r == -E_NO_MEM)
			revoke_for_memory(e); /* ask someone for pages back */
		return r;
	}
	page_guards[r] = (uint32_t)g;
	return r;
}

/* May e's key in slot cap do `rights` to user page ppn? */
FASTPATH static long check_page(struct env *e, uint64_t ppn, uint64_t cap, unsigned rights)
{
	if (ppn >= pages_total)
		return -E_INVAL;
	if (pages[ppn].pg_type != PAGE_USER) {
		const struct cap *key;
		long r = cap_key(e, cap, &key);
		return r < 0 ? r : -E_PERM;
	}
	return cap_check(e, cap, guard_of(page_guards[ppn]), rights);
}

static long sys_page_free(uint64_t ppn, uint64_t cap)
{
	long r = check_page(curenv, ppn, cap, CAP_M);
	if (r < 0)
		return r;
	page_release(ppn);
	return 0;
}

FASTPATH static long check_user_page_va(uint64_t va)
{
	return (va % PAGE_SIZE != 0 || va >= UTOP) ? -E_INVAL : 0;
}

/* Everything page_bind checks but the target env. */
FASTPATH static long check_bind(uint64_t va, uint64_t ppn, uint64_t rights, uint64_t cap)
{
	long r = check_user_page_va(va);
	if (r < 0)
		return r;
	if ((rights & ~(uint64_t)BIND_ALL) || !(rights & BIND_READ))
		return -E_INVAL;
	r = check_page(curenv, ppn, cap, (rights & BIND_WRITE) ? CAP_R | CAP_W : CAP_R);
	/* A binding is authority too: what the caller has bound it may pass on,
	 * with no more rights (so a forked child can fork again). */
	uint8_t type = pages[ppn].pg_type;
	if (r == -E_PERM && (type == PAGE_USER || (type == PAGE_IMAGE && !(rights & BIND_WRITE))) &&
	    stlb_env_binds(curenv->env_vm, ppn, (unsigned)rights))
		r = 0;
	return r;
}

/* Would binding ppn at va in vs add a reference to ppn? */
FASTPATH static bool adds_ref(struct vmspace *vs, uint64_t va, uint64_t ppn)
{
	const struct binding *b = stlb_lookup(vs, va);
	return !b || b->b_ppn != ppn;
}

FASTPATH static long sys_page_bind(envid_t envid, uint64_t va, uint64_t ppn, uint64_t rights,
				   uint64_t cap)
{
	struct env *e;
	long r = other_env(envid, cap, false, &e);
	if (r < 0)
		return r;
	if ((r = check_bind(va, ppn, rights, cap)) < 0)
		return r;
	if (pages[ppn].pg_refs >= PAGE_REFS_USER_MAX && adds_ref(e->env_vm, va, ppn))
		return -E_BUSY; /* the rest is the loader's */
	return stlb_bind(e->env_vm, va, ppn, (unsigned)rights);
}

FASTPATH static long sys_page_unbind(envid_t envid, uint64_t va, uint64_t cap)
{
	struct env *e;
	long r = other_env(envid, cap, false, &e);
	if (r < 0)
		return r;
	if ((r = check_user_page_va(va)) < 0)
		return r;
	stlb_unbind(e->env_vm, va);
	return 0;
}

FASTPATH static long sys_page_bind_batch(envid_t envid, uint64_t ureqs, uint64_t n, uint64_t cap)
{
	struct env *e;
	long r = other_env(envid, cap, false, &e);
	if (r < 0)
		return r;
	if (n > BIND_BATCH_MAX)
		return -E_INVAL;
	struct bind_req reqs[BIND_BATCH_MAX];
	if (copy_from_user(curenv->env_vm, reqs, ureqs, n * sizeof(reqs[0])) < 0)
		return -E_FAULT;
	/* Pages of a batch mostly share one guard: check each (guard, rights)
	 * pair against the key once. */
	uint32_t ok_guard = 0;
	uint64_t ok_rights = 0;
	for (uint64_t i = 0; i < n; i++) {
		const struct bind_req *q = &reqs[i];
		if (q->br_ppn == PPN_NONE_REQ) {
			r = check_user_page_va(q->br_va);
		} else if (ok_guard && q->br_ppn < pages_total &&
			   page_guards[q->br_ppn] == ok_guard &&
			   pages[q->br_ppn].pg_type == PAGE_USER && q->br_rights == ok_rights &&
			   q->br_va % PAGE_SIZE == 0 && q->br_va < UTOP) {
			r = 0;
		} else {
			r = check_bind(q->br_va, q->br_ppn, q->br_rights, cap);
			if (r == 0 && pages[q->br_ppn].pg_type == PAGE_USER &&
			    cap_check(curenv, cap, guard_of(page_guards[q->br_ppn]),
				      (q->br_rights & BIND_WRITE) ? CAP_R | CAP_W : CAP_R) == 0) {
				ok_guard = page_guards[q->br_ppn];
				ok_rights = q->br_rights;
			}
		}
		if (r < 0)
			return r;
	}
	/* What applying could fail for, checked for all first: room for the
	 * new bindings (each bind of a va not bound now counts, as if no
	 * request freed any), and each page's references. */
	uint32_t fresh = 0;
	for (uint64_t i = 0; i < n; i++) {
		const struct bind_req *q = &reqs[i];
		if (q->br_ppn == PPN_NONE_REQ || !adds_ref(e->env_vm, q->br_va, q->br_ppn))
			continue;
		if (!stlb_lookup(e->env_vm, q->br_va))
			fresh++;
		uint32_t refs = pages[q->br_ppn].pg_refs;
		for (uint64_t j = 0; j < i; j++)
			refs += reqs[j].br_ppn == q->br_ppn;
		if (refs >= PAGE_REFS_USER_MAX)
			return -E_BUSY;
	}
	if ((r = stlb_reserve(e->env_vm, fresh)) < 0)
		return r;
	bool defer = n > 16; /* past this, one full flush beats n invlpg */
	if (defer)
		vm_defer_flushes();
	for (uint64_t i = 0; i < n; i++) {
		if (reqs[i].br_ppn == PPN_NONE_REQ)
			stlb_unbind(e->env_vm, reqs[i].br_va);
		else if ((r = stlb_bind(e->env_vm, reqs[i].br_va, reqs[i].br_ppn,
					(unsigned)reqs[i].br_rights)) < 0)
			panic("page_bind_batch: request %lu failed (%ld) after the checks", i, r);
	}
	if (defer)
		vm_flush_deferred();
	return (long)n;
}

static long sys_page_protect(envid_t envid, uint64_t va, uint64_t npages, uint64_t rights,
			     uint64_t cap)
{
	struct env *e;
	long r = other_env(envid, cap, false, &e);
	if (r < 0)
		return r;
	if (va % PAGE_SIZE || va >= UTOP || npages > PROTECT_MAX_PAGES ||
	    npages > (UTOP - va) / PAGE_SIZE)
		return -E_INVAL;
	if ((rights & ~(uint64_t)BIND_ALL) || !(rights & BIND_READ))
		return -E_INVAL;
	/* Check every bound page, remembering the bindings for the second
	 * pass; the pages of one range mostly share a guard, checked once. */
	uint32_t found[PROTECT_MAX_PAGES];
	uint64_t n = 0;
	uint32_t ok_guard = 0;
	for (uint64_t i = 0; i < npages; i++) {
		uint32_t b = stlb_find(e->env_vm, va + i * PAGE_SIZE);
		if (!b)
			continue;
		ppn_t ppn = stlb_binding(b)->b_ppn;
		if (!(ok_guard && page_guards[ppn] == ok_guard &&
		      pages[ppn].pg_type == PAGE_USER)) {
			r = check_bind(va + i * PAGE_SIZE, ppn, rights, cap);
			if (r < 0)
				return r;
			if (pages[ppn].pg_type == PAGE_USER &&
			    cap_check(curenv, cap, guard_of(page_guards[ppn]),
				      (rights & BIND_WRITE) ? CAP_R | CAP_W : CAP_R) == 0)
				ok_guard = page_guards[ppn];
		}
		found[n++] = b;
	}
	bool defer = n > 16; /* past this, one full flush beats n invlpg */
	if (defer)
		vm_defer_flushes();
	struct vm_cursor cursor = VM_CURSOR_INIT;
	for (uint64_t i = 0; i < n; i++)
		stlb_protect(e->env_vm, found[i], (unsigned)rights, &cursor);
	if (defer)
		vm_flush_deferred();
	return (long)n;
}

static long sys_vm_flush(envid_t envid, uint64_t cap)
{
	struct env *e;
	long r = other_env(envid, cap, false, &e);
	if (r < 0)
		return r;
	vm_flush(e->env_vm);
	return 0;
}

static long sys_env_fork(uint64_t cap)
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

static long sys_env_set_regs(envid_t envid, uint64_t uregs, uint64_t cap)
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

static long sys_env_set_name(envid_t envid, uint64_t uname, uint64_t cap)
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

static long sys_env_start(envid_t envid, uint64_t cap)
{
	struct env *e;
	long r = unstarted_env(envid, cap, &e);
	if (r < 0)
		return r;
	e->env_block = BLOCK_NONE;
	env_set_status(e, ENV_RUNNABLE);
	return 0;
}

static long sys_cap_derive(uint64_t src, uint64_t dst, uint64_t rights, uint64_t uname,
			   uint64_t ncomp)
{
	struct env *e = curenv;
	const struct cap *key;
	long r = cap_key(e, src, &key);
	if (r < 0)
		return r;
	if (dst >= CAP_RING)
		return -E_BAD_CAP;
	if (rights & ~(uint64_t)key->c_rights)
		return -E_PERM;
	if (ncomp > (uint64_t)(CAP_MAXLEN - key->c_len))
		return -E_RANGE;
	struct cap c = *key;
	if (copy_from_user(e->env_vm, &c.c_name[key->c_len], uname, ncomp * sizeof(c.c_name[0])) <
	    0)
		return -E_FAULT;
	c.c_len = (uint8_t)(key->c_len + ncomp);
	c.c_rights = (uint8_t)rights;
	e->env_kpage->kp_ring[dst] = c;
	return 0;
}

/* Does one of self's keys name e (dominate its guard), whatever its rights? */
static bool holds_key_to(struct env *self, const struct env *e)
{
	for (unsigned i = 0; i < CAP_RING; i++)
		if (cap_dominates(&self->env_kpage->kp_ring[i], &e->env_guard))
			return true;
	return false;
}

static long sys_cap_grant(uint64_t src, envid_t envid)
{
	const struct cap *key;
	long r = cap_key(curenv, src, &key);
	if (r < 0)
		return r;
	struct env *to = env_lookup(envid);
	if (!to)
		return -E_BAD_ENV;
	/* Only envs it has a relation to may fill its ring: a key naming it
	 * (its ancestors hold one; it can hand one out, even with no rights). */
	if (!holds_key_to(curenv, to))
		return -E_PERM;
	for (unsigned i = 0; i < CAP_RING; i++)
		if (!to->env_kpage->kp_ring[i].c_valid) {
			to->env_kpage->kp_ring[i] = *key;
			return i;
		}
	return -E_FULL;
}

static long sys_cap_drop(uint64_t slot)
{
	if (slot >= CAP_RING)
		return -E_BAD_CAP;
	memset(&curenv->env_kpage->kp_ring[slot], 0, sizeof(struct cap));
	return 0;
}

static long sys_cap_read(envid_t envid, uint64_t slot, uint64_t out)
{
	struct env *self = curenv;
	if (slot >= CAP_RING)
		return -E_BAD_CAP;
	struct env *e = envid == 0 ? self : env_lookup(envid);
	if (!e)
		return -E_BAD_ENV;
	if (e != self && !holds_key_to(self, e))
		return -E_PERM;
	if (copy_to_user(self->env_vm, out, &e->env_kpage->kp_ring[slot], sizeof(struct cap)) < 0)
		return -E_FAULT;
	return 0;
}

static long sys_env_set_rvec(uint64_t va, uint64_t n)
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

static long sys_env_set_pinned(uint64_t va, uint64_t npages)
{
	struct env *e = curenv;
	if (va % PAGE_SIZE || npages > ENV_PINNED_MAX || va >= UTOP ||
	    npages > (UTOP - va) / PAGE_SIZE)
		return -E_INVAL;
	e->env_pinned_lo = npages ? va : 0;
	e->env_pinned_hi = npages ? va + npages * PAGE_SIZE : 0;
	return 0;
}

static long sys_page_dirty(uint64_t va, uint64_t clear)
{
	struct env *e = curenv;
	if (va >= UTOP || clear > 1)
		return -E_INVAL;
	struct binding *b = (struct binding *)stlb_lookup(e->env_vm, va);
	if (!b)
		return -E_NOT_FOUND;
	bool dirty = (b->b_flags & BINDING_DIRTY) ||
		     vm_dirty(e->env_vm, ROUNDDOWN(va, PAGE_SIZE), clear);
	if (clear)
		b->b_flags &= (uint8_t)~BINDING_DIRTY;
	return dirty;
}

static long sys_page_lookup(uint64_t va)
{
	if (va >= UTOP)
		return -E_INVAL;
	const struct binding *b = stlb_lookup(curenv->env_vm, va);
	if (!b)
		return -E_NOT_FOUND;
	return (long)(((uint64_t)b->b_ppn << PAGE_SHIFT) | b->b_rights);
}

static long sys_env_set_limit(envid_t envid, uint64_t npages, uint64_t cap)
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

static long sys_machine_exit(uint64_t code)
{
	if (curenv->env_id != first_envid)
		return -E_PERM;
	cprintf("exo: machine exit %lu\n", code);
	outl(0xf4, (uint32_t)code); /* QEMU isa-debug-exit; no-op elsewhere */
	cprintf("exo: halted\n");
	halt_forever();
}

static long sys_machine_reboot(void)
{
	if (curenv->env_id != first_envid)
		return -E_PERM;
	cprintf("exo: rebooting\n");
	outb(0xcf9, 0x06);  /* PCI reset control: full reset */
	outb(0x64, 0xfe);   /* 8042 reset line, for older machines */
	halt_forever();
}

static long sys_env_trace(envid_t envid, uint64_t on, uint64_t cap)
{
	if (on > 3)
		return -E_INVAL;
	struct env *e;
	long r = other_env(envid, cap, false, &e);
	if (r < 0)
		return r;
	trace_set(e, on & 1);
	e->env_trace_children = on & 2;
	return 0;
}

static long sys_entropy_get(uint64_t buf, uint64_t len)
{
	if (len > ENTROPY_GET_MAX)
		return -E_INVAL;
	if (!vm_check(curenv->env_vm, buf, len, true))
		return -E_FAULT;
	uint8_t bytes[ENTROPY_GET_MAX];
	entropy_fill(bytes, len);
	long r = copy_to_user(curenv->env_vm, buf, bytes, len);
	memset(bytes, 0, sizeof(bytes)); /* leave no copy on the kernel stack */
	return r < 0 ? -E_FAULT : (long)len;
}

/* The dispatcher: one case per entry of inc/syscall.def. Inlined into
 * syscall(), so the untraced path has no extra call; trace.c has its own
 * copy through syscall_dispatch. */
static inline __attribute__((always_inline)) long dispatch(struct trapframe *tf)
{
	long r;
	switch (tf->tf_rax) {
#define A1 tf->tf_rdi
#define A2 tf->tf_rsi
#define A3 tf->tf_rdx
#define A4 tf->tf_r10
#define A5 tf->tf_r8
#define SYS0(n) \
	case SYS_##n: r = sys_##n(); break;
#define SYS1(n, t1, a1) \
	case SYS_##n: r = sys_##n(A1); break;
#define SYS2(n, t1, a1, t2, a2) \
	case SYS_##n: r = sys_##n(A1, A2); break;
#define SYS3(n, t1, a1, t2, a2, t3, a3) \
	case SYS_##n: r = sys_##n(A1, A2, A3); break;
#define SYS4(n, t1, a1, t2, a2, t3, a3, t4, a4) \
	case SYS_##n: r = sys_##n(A1, A2, A3, A4); break;
#define SYS5(n, t1, a1, t2, a2, t3, a3, t4, a4, t5, a5) \
	case SYS_##n: r = sys_##n(A1, A2, A3, A4, A5); break;
#include <inc/syscall.def>
	default: r = -E_NO_SYS;
	}
	return r;
}

FASTPATH long syscall_dispatch(struct trapframe *tf)
{
	return dispatch(tf);
}

void syscall(struct trapframe *tf)
{
	lock_kernel();
	thiscpu()->cpu_syscall_frame = tf;
	/* Tracing (kern/debug/trace.c) costs this one predictable branch when off. */
	if (__builtin_expect(curenv->env_trace, 0))
		tf->tf_rax = (uint64_t)trace_syscall(tf, syscall_dispatch);
	else
		tf->tf_rax = (uint64_t)dispatch(tf);
	unlock_kernel();
}
