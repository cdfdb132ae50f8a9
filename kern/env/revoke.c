/*
 * Visible revocation and the abort protocol.
 *
 * When the kernel wants pages back from an env - its creator lowered its
 * limit, or an allocation found no free page - it does not pick them: it
 * asks. The env gets a T_REVOKE upcall saying how many pages to release and
 * by which tick, and chooses which to free. Only if the deadline passes with
 * the env still over its target does the kernel take pages itself (the
 * abort protocol): it breaks their bindings, frees them, writes each one in
 * the env's repossession vector and upcalls T_REPOSSESS so the library OS can
 * repair its page table.
 *
 * Limits and targets count user pages (env_user_pages); the page tables and
 * kernel page an env costs are bounded by its bindings. What the kernel takes
 * first: the page-table cache (dropping it loses nothing), then user pages
 * nobody binds, then bound data pages, then anything else. Never the pages under the exception stack or the
 * repossession vector: the guaranteed minimum the env needs to hear about
 * and recover from the loss.
 *
 * Locking: under the big kernel lock.
 */
#include <inc/kinfo.h>
#include <inc/page.h>
#include <inc/upcall.h>
#include <kern/arch/console.h>
#include <kern/env/env.h>
#include <kern/mem/account.h>
#include <kern/mem/pmap.h>
#include <kern/env/revoke.h>
#include <kern/mem/stlb.h>
#include <kern/env/upcall.h>
#include <kern/mem/vm.h>

extern struct kern_info kinfo;

static unsigned outstanding; /* envs with env_revoking set */

void revoke_request(struct env *e, uint64_t n)
{
	uint32_t held = e->env_info->env_user_pages;
	uint32_t target = n >= held ? 0 : held - (uint32_t)n;
	if (!e->env_revoking) {
		e->env_revoking = true;
		outstanding++;
		e->env_revoke_target = target;
		/* One deadline per request outstanding: asking again does not
		 * put it off, or a stream of requests would put it off for ever. */
		e->env_revoke_deadline = kinfo.ki_ticks + REVOKE_DEADLINE_TICKS;
		e->env_revoke_upcall = true;
	} else if (target < e->env_revoke_target) {
		e->env_revoke_target = target;
		e->env_revoke_upcall = true; /* it is asked for more: tell it */
	}
}

/* The live env whose account a is, or NULL (dead, its family lives on). */
static struct env *env_of(const struct account *a)
{
	for (int i = 0; i < NENV; i++) {
		uint32_t s = env_infos[i].env_status;
		if (envs[i].env_vm->vs_acct == a && s != ENV_FREE && s != ENV_ZOMBIE)
			return &envs[i];
	}
	return NULL;
}

/* Pages e could give back without going below its guaranteed minimum. */
static uint32_t above_minimum(const struct env *e)
{
	uint32_t have = e->env_info->env_user_pages;
	return have > ENV_PAGES_MIN ? have - ENV_PAGES_MIN : 0;
}

/*
 * Whom to ask for pages when memory runs out: walk down the family tree
 * from the root. At each family, the candidates are the env that heads it
 * (its own user pages) and each child family (all its pages). The asker's
 * own line comes first if it holds more than an equal share of the family
 * it is in; otherwise the candidate holding most is taken. So pages come
 * from the families holding more than their share, never from a small
 * bystander because it happens to be the biggest single env.
 */
static struct env *pick_victim(struct env *requester)
{
	struct account *at = NULL;
	for (struct account *a = accounts; a < accounts + NACCOUNTS; a++)
		if (a->a_inuse && !a->a_parent)
			at = a;
	const struct account *mine = requester->env_vm->vs_acct;
	for (int depth = 0; at && depth <= CAP_MAXLEN; depth++) {
		struct env *head = env_of(at);
		uint64_t nfam = head ? 1 : 0;
		struct account *best = NULL, *asker_line = NULL;
		uint64_t best_used = head ? above_minimum(head) : 0;
		for (struct account *c = accounts; c < accounts + NACCOUNTS; c++) {
			if (!c->a_inuse || c->a_parent != at)
				continue;
			nfam++;
			if (acct_in_family(c, mine))
				asker_line = c;
			if (c->a_used[QUOTA_PAGES] > best_used) {
				best = c;
				best_used = c->a_used[QUOTA_PAGES];
			}
		}
		uint64_t fair = at->a_used[QUOTA_PAGES] / nfam;
		if (asker_line && asker_line->a_used[QUOTA_PAGES] > fair)
			best = asker_line; /* the asker's family holds more than its share */
		else if (head == requester && head->env_info->env_user_pages > fair &&
			 above_minimum(head))
			return head; /* so does the asker itself */
		if (!best)
			return head && above_minimum(head) ? head : NULL;
		at = best;
	}
	return NULL;
}

void revoke_for_memory(struct env *requester)
{
	struct env *victim = pick_victim(requester);
	if (!victim)
		return;
	uint32_t n = MAX(victim->env_info->env_user_pages / 8, 16u);
	revoke_request(victim, MIN(n, above_minimum(victim)));
}

static void finish(struct env *e)
{
	e->env_revoking = false;
	e->env_revoke_upcall = false;
	outstanding--;
}

/* Is page ppn, bound at va in e, part of e's guaranteed minimum? */
static bool guaranteed(struct env *e, uint64_t va)
{
	if (va >= e->env_route[UPCALL_EXCEPTION].ur_lo && va < e->env_route[UPCALL_EXCEPTION].ur_hi)
		return true;
	if (va >= e->env_pinned_lo && va < e->env_pinned_hi)
		return true;
	uint64_t vlo = ROUNDDOWN(e->env_rvec_va, PAGE_SIZE);
	uint64_t vhi = e->env_rvec_va + sizeof(struct rvec) + e->env_rvec_n * sizeof(struct rvec_entry);
	return e->env_rvec_n && va >= vlo && va < vhi;
}

/* Where e binds ppn (the first binding of it in e), or 0. */
static uint64_t bound_at(struct env *e, ppn_t ppn)
{
	for (uint32_t i = page_binds[ppn]; i;) {
		const struct binding *b = stlb_binding(i);
		if (&envs[b->b_env] == e)
			return b->b_va;
		i = b->b_page_next;
	}
	return 0;
}

/* Record a taken page in e's vector. */
static void record(struct env *e, ppn_t ppn, uint64_t va)
{
	if (!e->env_rvec_n)
		return;
	struct rvec hdr;
	if (copy_from_user(e->env_vm, &hdr, e->env_rvec_va, sizeof(hdr)) < 0)
		return;
	if (hdr.rv_count < e->env_rvec_n) {
		struct rvec_entry ent = { ppn, va };
		uint64_t at = e->env_rvec_va + sizeof(hdr) + hdr.rv_count * sizeof(ent);
		if (copy_to_user(e->env_vm, at, &ent, sizeof(ent)) < 0)
			return;
		hdr.rv_count++;
	} else {
		hdr.rv_lost++;
	}
	copy_to_user(e->env_vm, e->env_rvec_va, &hdr, sizeof(hdr));
}

/* Take user pages from e until it is at its target; pass 0 takes unbound
 * pages, pass 1 bound non-executable ones, pass 2 the rest. */
static void take_pages(struct env *e)
{
	for (int pass = 0; pass < 3; pass++) {
		ppn_t p = page_owned_next(e->env_vm, PPN_NONE);
		while (p != PPN_NONE && e->env_info->env_user_pages > e->env_revoke_target) {
			ppn_t next = page_owned_next(e->env_vm, p);
			uint64_t va = bound_at(e, p);
			bool take = pages[p].pg_type == PAGE_USER && !(va && guaranteed(e, va));
			if (take && pass == 0)
				take = pages[p].pg_refs == 0;
			if (take && pass == 1) {
				const struct binding *b = va ? stlb_lookup(e->env_vm, va) : NULL;
				take = b && !(b->b_rights & BIND_EXEC);
			}
			if (take) {
				stlb_unbind_page(p, NULL);
				page_give_back(p);
				record(e, p, va);
				e->env_repossess_upcall = true;
			}
			p = next;
		}
	}
}

static void abort_protocol(struct env *e)
{
	cprintf("[env %08x %s] missed its revocation deadline: %u pages over, taking them\n",
		e->env_id, e->env_info->env_name,
		e->env_info->env_user_pages - e->env_revoke_target);
	vm_flush(e->env_vm);
	take_pages(e);
	finish(e);
}

void revoke_tick(uint64_t now)
{
	if (!outstanding)
		return;
	for (int i = 0; i < NENV; i++) {
		struct env *e = &envs[i];
		if (!e->env_revoking)
			continue;
		uint32_t s = e->env_info->env_status;
		if (s == ENV_FREE || s == ENV_ZOMBIE)
			finish(e);
		else if (e->env_info->env_user_pages <= e->env_revoke_target)
			finish(e); /* it complied */
		else if (now >= e->env_revoke_deadline)
			abort_protocol(e);
	}
}

void revoke_deliver(struct env *e, struct trapframe *tf)
{
	if (e->env_repossess_upcall) {
		struct rvec hdr = { 0, 0 };
		if (e->env_rvec_n)
			copy_from_user(e->env_vm, &hdr, e->env_rvec_va, sizeof(hdr));
		/* No entry or an unusable stack: it learns from its vector later. */
		upcall_push(e, tf, T_REPOSSESS, 0, hdr.rv_count);
		e->env_repossess_upcall = false;
	}
	if (e->env_revoke_upcall) {
		uint32_t have = e->env_info->env_user_pages;
		uint64_t n = have > e->env_revoke_target ? have - e->env_revoke_target : 0;
		if (n)
			upcall_push(e, tf, T_REVOKE, e->env_revoke_deadline, n);
		e->env_revoke_upcall = false;
	}
}
