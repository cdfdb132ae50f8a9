/*
 * The page and binding system calls (inc/syscall.def): taking and freeing
 * physical pages, binding them into an address space (one, a batch, or a
 * change of rights over a range), and reading a binding's state. Pages and
 * the software TLB are kern/mem's; these calls live in the env layer because
 * each one checks a capability from the caller's key ring against the
 * page's guard, and may act on another env's address space.
 *
 * Authority: a page is used under its guard (page_guards, cap.c); a page the
 * caller has bound may be bound again with no more rights, so a forked child
 * can fork in turn. A batch is checked entirely before any of it applies.
 *
 * Locking: under the big kernel lock (kern/syscall.c).
 */
#include <inc/cap.h>
#include <inc/error.h>
#include <inc/page.h>
#include <inc/syscall.h>
#include <inc/quota.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/arch/fastpath.h>
#include <kern/env/cap.h>
#include <kern/env/env.h>
#include <kern/env/envcall.h>
#include <kern/env/pagecall.h>
#include <kern/env/revoke.h>
#include <kern/mem/account.h>
#include <kern/mem/pmap.h>
#include <kern/mem/stlb.h>
#include <kern/mem/vm.h>

long sys_page_alloc(uint64_t ppn, uint64_t cap)
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
		return -E_QUOTA; /* its own limit (env_set_limit) */
	if (!acct_may(e->env_vm->vs_acct, QUOTA_PAGES, 1))
		return -E_QUOTA; /* its family is at its quota: nothing to revoke */
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

long sys_page_free(uint64_t ppn, uint64_t cap)
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

FASTPATH long sys_page_bind(envid_t envid, uint64_t va, uint64_t ppn, uint64_t rights, uint64_t cap)
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

FASTPATH long sys_page_unbind(envid_t envid, uint64_t va, uint64_t cap)
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

FASTPATH long sys_page_bind_batch(envid_t envid, uint64_t ureqs, uint64_t n, uint64_t cap)
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
		if (q->br_ppn == PPN_NONE_REQ)
			continue;
		const struct binding *b = stlb_lookup(e->env_vm, q->br_va);
		if (b && b->b_ppn == q->br_ppn)
			continue; /* only its rights change: no new reference */
		fresh += !b;
		/* The batch adds at most n references: count this page's among
		 * the requests before it only when that could reach the limit
		 * (counting them always made a fork's batches quadratic). */
		uint32_t refs = pages[q->br_ppn].pg_refs;
		if (refs + n < PAGE_REFS_USER_MAX)
			continue;
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

long sys_page_protect(envid_t envid, uint64_t va, uint64_t npages, uint64_t rights, uint64_t cap)
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

long sys_vm_flush(envid_t envid, uint64_t cap)
{
	struct env *e;
	long r = other_env(envid, cap, false, &e);
	if (r < 0)
		return r;
	vm_flush(e->env_vm);
	return 0;
}

long sys_page_dirty(uint64_t va, uint64_t clear)
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

long sys_page_lookup(uint64_t va)
{
	if (va >= UTOP)
		return -E_INVAL;
	const struct binding *b = stlb_lookup(curenv->env_vm, va);
	if (!b)
		return -E_NOT_FOUND;
	return (long)(((uint64_t)b->b_ppn << PAGE_SHIFT) | b->b_rights);
}
