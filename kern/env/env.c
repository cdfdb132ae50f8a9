/*
 * Environments: creation from a boot-image program, destruction that returns
 * every page, parent/child bookkeeping for exit statuses, and the switch into
 * user mode.
 *
 * An env id is (generation << LOG2NENV) | slot, so a stale id never names the
 * slot's next occupant. Free slots are reused oldest first, which keeps the
 * last occupant's exit status readable in the exposed table for a while.
 *
 * Lifecycle: RUNNABLE <-> RUNNING <-> BLOCKED, then ZOMBIE (dead, owning
 * nothing, until the parent collects the status with sys_env_wait) or FREE
 * straight away if no parent is alive to care.
 *
 * Locking: envs[], env_infos[] and the free list are protected by the big
 * kernel lock. env_infos[] is also read, without it, by every library OS.
 */
#include <inc/error.h>
#include <inc/kinfo.h>
#include <inc/syscall.h>
#include <kern/env/cap.h>
#include <kern/env/console_input.h>
#include <kern/mem/account.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/env/env.h>
#include <kern/arch/fastpath.h>
#include <kern/env/loader.h>
#include <kern/arch/lock.h>
#include <kern/env/pct.h>
#include <kern/mem/pmap.h>
#include <kern/env/slice.h>
#include <kern/env/revoke.h>
#include <kern/mem/stlb.h>
#include <kern/mem/vm.h>
#include <kern/arch/x86.h>
#include <common/fmt.h>
#include <common/string.h>

struct env envs[NENV];
struct env_info env_infos[NENV] __attribute__((aligned(PAGE_SIZE)));
_Static_assert(sizeof(env_infos) % PAGE_SIZE == 0, "env_infos is exposed whole pages");
envid_t first_envid;
uint64_t env_root_quota[QUOTA_KINDS];

static struct env *free_head, **free_tail = &free_head;
static uint8_t fpu_initial[512] __attribute__((aligned(16)));

extern struct kern_info kinfo;

static void free_list_append(struct env *e)
{
	e->env_free_next = NULL;
	*free_tail = e;
	free_tail = &e->env_free_next;
}

static struct vmspace *vmspace_of(envid_t id)
{
	struct env *e = env_lookup(id);
	return e ? e->env_vm : NULL;
}

void env_init(void)
{
	for (int i = 0; i < NENV; i++) {
		envs[i].env_info = &env_infos[i];
		envs[i].env_vm = &vmspaces[i];
		vmspaces[i].vs_info = &env_infos[i];
		vmspaces[i].vs_page_list = PPN_NONE;
		free_list_append(&envs[i]);
	}
	vmspace_lookup = vmspace_of;
	pmap_expose(UENVS, env_infos, sizeof(env_infos));
	/* The state `fninit` leaves, which every new env starts from. */
	__asm__ volatile("fninit; fxsave64 %0" : "=m"(fpu_initial));
}

FASTPATH struct env *env_lookup(envid_t id)
{
	if (id <= 0)
		return NULL;
	struct env *e = &envs[ENVX(id)];
	uint32_t s = e->env_info->env_status;
	if (e->env_id != id || s == ENV_FREE || s == ENV_ZOMBIE)
		return NULL;
	return e;
}

bool env_is_ancestor(envid_t anc, const struct env *e)
{
	/* Parents are alive or 0 (orphans), so the chain has no cycles. */
	for (int depth = 0; e && depth < NENV; depth++) {
		if (e->env_id == anc)
			return true;
		e = env_lookup(e->env_info->env_parent_id);
	}
	return false;
}

void fpu_switch(void)
{
	struct cpu *c = thiscpu();
	struct env *e = c->cpu_env;
	lcr0(rcr0() & ~(uint64_t)CR0_TS);
	if (c->cpu_fpu_owner == e)
		return;
	if (c->cpu_fpu_owner)
		__asm__ volatile("fxsave64 %0" : "=m"(c->cpu_fpu_owner->env_fpu));
	__asm__ volatile("fxrstor64 %0" : : "m"(e->env_fpu));
	c->cpu_fpu_owner = e;
}

/* Make e's saved FPU image current (it may live in the registers). */
static void fpu_sync(struct env *e)
{
	struct cpu *c = thiscpu();
	if (c->cpu_fpu_owner != e)
		return;
	lcr0(rcr0() & ~(uint64_t)CR0_TS);
	__asm__ volatile("fxsave64 %0" : "=m"(e->env_fpu));
}

/* Take a free slot for a child of parent named name. The env is BLOCKED
 * (unstarted) and owns nothing yet. */
static struct env *env_alloc_slot(struct env *parent, const char *name)
{
	struct env *e = free_head;
	if (!e)
		return NULL;
	free_head = e->env_free_next;
	if (!free_head)
		free_tail = &free_head;

	uint32_t gen = ((uint32_t)e->env_id >> LOG2NENV) + 1;
	gen &= (1u << (31 - LOG2NENV)) - 1;
	if (gen == 0)
		gen = 1;
	e->env_id = (envid_t)((gen << LOG2NENV) | (uint32_t)(e - envs));
	e->env_vm->vs_id = e->env_id;

	struct env_info *info = e->env_info;
	memset(info, 0, sizeof(*info));
	info->env_id = e->env_id;
	info->env_parent_id = parent ? parent->env_id : 0;
	if (parent)
		parent->env_nchildren++;
	e->env_nchildren = 0;
	info->env_page_limit = parent ? parent->env_info->env_page_limit : UINT32_MAX;
	strlcpy(info->env_name, name, sizeof(info->env_name));

	memset(&e->env_tf, 0, sizeof(e->env_tf));
	e->env_tf.tf_cs = GD_UT;
	e->env_tf.tf_ss = GD_UD;
	e->env_tf.tf_rflags = FL_IF | 0x2; /* bit 1 is always set */
	e->env_vm->vs_page_list = PPN_NONE;
	e->env_kpage = NULL;
	e->env_vm->vs_stlb = NULL;
	e->env_vm->vs_nbindings = 0;
	memset(e->env_route, 0, sizeof(e->env_route));
	e->env_block = BLOCK_UNSTARTED;
	e->env_revoking = e->env_revoke_upcall = e->env_repossess_upcall = false;
	e->env_trace = parent && parent->env_trace_children;
	e->env_trace_children = false;
	e->env_rvec_va = e->env_rvec_n = 0;
	e->env_pinned_lo = e->env_pinned_hi = 0;
	e->env_pct_waiters = e->env_pct_qhead = e->env_pct_qlen = 0;
	e->env_pct_replied = false;
	e->env_slice_started = e->env_epilogue_sent = 0;
	e->env_overran = false;
	e->env_sleep_pred = -1;
	memset(e->env_progs, 0, sizeof(e->env_progs));
	env_set_status(e, ENV_BLOCKED);
	memcpy(e->env_fpu, fpu_initial, sizeof(fpu_initial));
	return e;
}

FASTPATH void syscall_save_caller(long result)
{
	struct env *e = curenv;
	e->env_tf = *thiscpu()->cpu_syscall_frame;
	e->env_tf.tf_rax = (uint64_t)result;
}

void page_release(ppn_t ppn)
{
	if (pages[ppn].pg_flags & PG_CACHED)
		page_uncache(ppn); /* a cached block's copy has no heir: others' bindings go */
	if (pages[ppn].pg_flags & PG_PINNED) {
		/* the device still reads or writes it: nobody else may have it;
		 * page_give_back keeps it for the kernel until the device is done */
		stlb_unbind_page(ppn, NULL);
		page_give_back(ppn);
		return;
	}
	struct env *owner = env_lookup(pages[ppn].pg_owner);
	if (owner)
		stlb_unbind_page(ppn, owner->env_vm);
	struct vmspace *heir_vm = stlb_other_binder(ppn, owner ? owner->env_vm : NULL);
	if (!heir_vm) {
		stlb_unbind_page(ppn, NULL);
		page_give_back(ppn);
		return;
	}
	/* The page lives on in heir's address space: it becomes heir's, under
	 * heir's guard so heir can manage it. */
	struct env *heir = &envs[heir_vm - vmspaces];
	if (owner)
		page_disown(owner->env_vm, ppn);
	page_adopt(heir_vm, ppn);
	long g = guard_get(&heir->env_guard, heir->env_vm->vs_acct);
	if (g > 0) {
		if (page_guards[ppn])
			guard_put(page_guards[ppn]);
		page_guards[ppn] = (uint32_t)g;
	}
}

/* Return e's slot to the free list. */
static void env_free_slot(struct env *e)
{
	struct env *parent = env_lookup(e->env_info->env_parent_id);
	if (parent)
		parent->env_nchildren--;
	env_set_status(e, ENV_FREE);
	free_list_append(e);
}

/* Undo a creation that failed half way: nobody ever saw the env. */
static void env_abandon(struct env *e)
{
	env_destroy(e, EXIT_KILLED, "could not be created");
	if (e->env_info->env_status == ENV_ZOMBIE)
		env_reap(e);
}

/*
 * A new env with an empty address space, its kernel page and its keys: a
 * child of parent under key (NULL: the first env, under the root name).
 */
static long env_new(struct env *parent, const struct cap *key, const char *name, struct env **out)
{
	struct env *e = env_alloc_slot(parent, name);
	if (!e)
		return -E_NO_FREE_ENV;
	/* Its family's account first: everything after is charged to it. */
	struct account *a =
		parent ? acct_new(parent->env_vm->vs_acct) : acct_new_root(env_root_quota);
	if (!a) {
		env_free_slot(e);
		/* the creator's family at its QUOTA_ENVS, or the table full */
		return parent && !acct_may(parent->env_vm->vs_acct, QUOTA_ENVS, 1) ? -E_QUOTA
										   : -E_NO_FREE_ENV;
	}
	e->env_vm->vs_acct = a;
	long r = page_take(e->env_vm, PAGE_ENVMETA, PPN_ANY);
	if (r >= 0) {
		e->env_kpage = page_kva((ppn_t)r);
		e->env_vm->vs_stlb = e->env_kpage->kp_stlb;
		r = vm_create(e->env_vm);
	}
	if (r >= 0) {
		if (key)
			r = cap_init_child(e, key);
		else
			cap_init_root(e);
		e->env_pct_guard = e->env_guard; /* its ancestors may call it */
	}
	if (r < 0) {
		env_abandon(e);
		return r;
	}
	*out = e;
	return 0;
}

long env_create(struct env *parent, const struct cap *key, const char *name, const char *args)
{
	const struct program *prog = program_find(name);
	if (!prog)
		return -E_NOT_FOUND;
	if (program_check(prog) < 0)
		return -E_BAD_ELF;
	struct env *e;
	long r = env_new(parent, key, name, &e);
	if (r < 0)
		return r;
	r = program_load(e, prog, args);
	if (r < 0) {
		env_abandon(e);
		return r;
	}
	if (!first_envid)
		first_envid = e->env_id;
	e->env_block = BLOCK_NONE;
	env_set_status(e, ENV_RUNNABLE);
	return e->env_id;
}

long env_fork(struct env *parent, const struct cap *key)
{
	struct env *e;
	long r = env_new(parent, key, parent->env_info->env_name, &e);
	if (r < 0)
		return r;
	/* Like a forked Unix process keeps its signal handlers: the library
	 * OS that forks binds the same handler code, exception stack,
	 * repossession vector and page table at the same addresses. */
	e->env_route[UPCALL_EXCEPTION] = parent->env_route[UPCALL_EXCEPTION];
	e->env_rvec_va = parent->env_rvec_va;
	e->env_rvec_n = parent->env_rvec_n;
	e->env_pinned_lo = parent->env_pinned_lo;
	e->env_pinned_hi = parent->env_pinned_hi;
	e->env_tf.tf_rflags = parent->env_tf.tf_rflags;
	fpu_sync(parent);
	memcpy(e->env_fpu, parent->env_fpu, sizeof(e->env_fpu));
	return e->env_id;
}

#define ENV_GONE_HOOKS 8 /* one per mechanism that keeps state for an env */
static env_gone_fn *gone_hooks[ENV_GONE_HOOKS];
static unsigned ngone_hooks;

struct env_debug_hooks env_debug;
struct env *trace_in_call;
bool (*env_pred_holds)(struct env *e);

void env_gone_register(env_gone_fn *fn)
{
	if (ngone_hooks == ENV_GONE_HOOKS)
		panic("env_gone_register: more than %d hooks", ENV_GONE_HOOKS);
	gone_hooks[ngone_hooks++] = fn;
}

/*
 * The one teardown path: every mechanism's hook, then e's memory. On exec
 * the env keeps its kernel page (keys), its page-table root and the kernel
 * state charged to it; its user pages go, kept by whoever else binds them.
 */
static void env_gone_hooks(struct env *e, enum env_end how)
{
	struct cpu *c = thiscpu();
	if (c->cpu_fpu_owner == e)
		c->cpu_fpu_owner = NULL;
	for (unsigned i = 0; i < ngone_hooks; i++)
		gone_hooks[i](e, how);
}

static void env_gone(struct env *e, enum env_end how)
{
	env_gone_hooks(e, how);
	if (how == ENV_END_EXEC) {
		stlb_clear(e->env_vm);
		vm_flush(e->env_vm);
		for (ppn_t p = page_owned_next(e->env_vm, PPN_NONE), next; p != PPN_NONE;
		     p = next) {
			next = page_owned_next(e->env_vm, p);
			if (pages[p].pg_type == PAGE_USER)
				page_release(p);
		}
		return;
	}
	/* Bindings first (they live in the kernel page), then the tables
	 * that cache them, then every page it owns - the tables among them -
	 * kept by whoever else still binds it, freed otherwise. */
	if (e->env_kpage) {
		cap_ring_release(e);
		stlb_clear(e->env_vm);
	}
	vm_destroy(e->env_vm);
	e->env_kpage = NULL;
	e->env_vm->vs_stlb = NULL;
	for (ppn_t p; (p = page_owned_next(e->env_vm, PPN_NONE)) != PPN_NONE;) {
		if (pages[p].pg_type == PAGE_USER)
			page_release(p);
		else
			page_give_back(p);
	}
}

/* What a new program starts without: the old one's upcall routes,
 * repossession vector, pinned range, queued transfers, registers, FPU. */
static void exec_reset(struct env *e, const char *name)
{
	memset(e->env_route, 0, sizeof(e->env_route));
	e->env_rvec_va = e->env_rvec_n = 0;
	e->env_pinned_lo = e->env_pinned_hi = 0;
	e->env_pct_qlen = 0;
	memset(&e->env_tf, 0, sizeof(e->env_tf));
	e->env_tf.tf_cs = GD_UT;
	e->env_tf.tf_ss = GD_UD;
	e->env_tf.tf_rflags = FL_IF | 0x2;
	memcpy(e->env_fpu, fpu_initial, sizeof(fpu_initial));
	strlcpy(e->env_info->env_name, name, sizeof(e->env_info->env_name));
}

long env_exec(struct env *e, const char *name, const char *args)
{
	const struct program *prog = program_find(name);
	if (!prog)
		return -E_NOT_FOUND;
	if (program_check(prog) < 0)
		return -E_BAD_ELF;
	long fits = program_fits(e, prog);
	if (fits < 0)
		return fits; /* known before the old image goes */
	/* Past here the old image is gone (as with Unix exec, a failure now
	 * can only end the env). It keeps its id, parent, children, keys,
	 * slots, limit and console. */
	env_gone(e, ENV_END_EXEC); /* calls to the old program go unanswered */
	exec_reset(e, name);
	int r = program_load(e, prog, args);
	if (r < 0) {
		env_destroy(e, EXIT_KILLED, "exec: no memory for the new program");
		return r;
	}
	return 0;
}

struct exec_moves {
	const struct exec_move *m;
	unsigned n;
};

static bool in_a_from_range(uint64_t va, const void *arg)
{
	const struct exec_moves *x = arg;
	for (unsigned i = 0; i < x->n; i++)
		if (va >= x->m[i].em_from && va - x->m[i].em_from < x->m[i].em_npages * PAGE_SIZE)
			return true;
	return false;
}

void env_exec_moves(struct env *e, const char *name, const struct exec_move *m, unsigned n)
{
	struct vmspace *vs = e->env_vm;
	env_gone_hooks(e, ENV_END_EXEC);
	/* What stays is in the from-ranges; no to-range overlaps another's
	 * from-range, so after this nothing is bound where a move lands. */
	struct exec_moves x = { m, n };
	stlb_clear_unless(vs, in_a_from_range, &x);
	vm_flush(vs);
	for (unsigned i = 0; i < n; i++)
		if (m[i].em_from != m[i].em_to)
			for (uint64_t k = 0; k < m[i].em_npages; k++)
				stlb_move(vs, m[i].em_from + k * PAGE_SIZE,
					  m[i].em_to + k * PAGE_SIZE);
	/* pages of ours the new program does not bind go, as env_exec's all do */
	for (ppn_t p = page_owned_next(vs, PPN_NONE), next; p != PPN_NONE; p = next) {
		next = page_owned_next(vs, p);
		if (pages[p].pg_type == PAGE_USER && !stlb_env_binds(vs, p, BIND_READ))
			page_release(p);
	}
	exec_reset(e, name);
}

/* Copy reason into env_reason; if it does not fit, cut it after the last
 * whole word and mark the cut ("..."), so no word is cut in half. */
static void set_reason(char *dst, const char *reason)
{
	size_t n = strlen(reason);
	if (n < ENV_REASON_LEN) {
		memcpy(dst, reason, n + 1);
		return;
	}
	size_t keep = ENV_REASON_LEN - 4; /* room for "..." and the NUL */
	while (keep > 0 && reason[keep] != ' ')
		keep--;
	if (keep == 0)
		keep = ENV_REASON_LEN - 4; /* one long word: cut it anyway */
	memcpy(dst, reason, keep);
	memcpy(dst + keep, "...", 4);
}

void env_reap(struct env *e)
{
	env_free_slot(e);
}

void env_destroy(struct env *e, uint32_t exit_status, const char *reason)
{
	struct cpu *c = thiscpu();
	env_gone(e, ENV_END_DESTROY);
	/* It holds nothing now; its account lives on while its descendants do. */
	acct_put(e->env_vm->vs_acct);
	e->env_vm->vs_acct = NULL;

	struct env_info *info = e->env_info;
	info->env_exit = exit_status;
	set_reason(info->env_reason, reason ? reason : "");

	/* Children outlive their parent as orphans; dead ones need no reaping,
	 * and unstarted ones (env_fork) would never run. */
	for (int i = 0; i < NENV && e->env_nchildren; i++) {
		struct env *ch = &envs[i];
		if (ch == e || ch->env_info->env_status == ENV_FREE ||
		    ch->env_info->env_parent_id != e->env_id)
			continue;
		ch->env_info->env_parent_id = 0;
		e->env_nchildren--;
		if (ch->env_info->env_status == ENV_ZOMBIE)
			env_free_slot(ch);
		else if (ch->env_info->env_status == ENV_BLOCKED &&
			 ch->env_block == BLOCK_UNSTARTED)
			env_destroy(ch, EXIT_DESTROYED, "its parent died before starting it");
	}

	if (kinfo.ki_console == e->env_id) {
		/* Never to nobody: its parent, or the first env for an orphan
		 * (it holds the machine), or whoever heads the oldest family
		 * left if that too is gone. */
		struct env *p = env_lookup(info->env_parent_id);
		if (!p)
			p = env_lookup(first_envid);
		for (int i = 0; !p && i < NENV; i++)
			if (&envs[i] != e && envs[i].env_info->env_parent_id == 0)
				p = env_lookup(envs[i].env_id);
		kinfo.ki_console = p ? p->env_id : 0;
		console_owner_changed();
	}

	struct env *parent = env_lookup(info->env_parent_id);
	if (parent) {
		env_set_status(e, ENV_ZOMBIE);
		if (parent->env_info->env_status == ENV_BLOCKED &&
		    parent->env_block == BLOCK_WAIT && parent->env_wait_for == e->env_id) {
			parent->env_tf.tf_rax = exit_status;
			parent->env_block = BLOCK_NONE;
			env_set_status(parent, ENV_RUNNABLE);
			env_reap(e);
		} else if (parent->env_info->env_status == ENV_BLOCKED &&
			   parent->env_block == BLOCK_SLEEP && parent->env_sleep_children) {
			sched_wake(parent, ENV_SLEEP_CHILD_ENDED); /* env_sleep_child */
		}
	} else {
		env_free_slot(e);
	}
	if (c->cpu_env == e) {
		c->cpu_env = NULL;
		c->cpu_vm = NULL;
	}
}

void env_kill(struct env *e, const struct trapframe *tf, const char *fmt, ...)
{
	char reason[2 * ENV_REASON_LEN]; /* the report prints it whole */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (env_debug.kill_report) /* while its address space is still there */
		env_debug.kill_report(e, tf, reason);
	env_destroy(e, EXIT_KILLED, reason);
}

FASTPATH void env_run(struct env *e)
{
	struct cpu *c = thiscpu();
	if (c->cpu_env && c->cpu_env != e && c->cpu_env->env_info->env_status == ENV_RUNNING)
		env_set_status(c->cpu_env, ENV_RUNNABLE);
	c->cpu_env = e;
	c->cpu_vm = e->env_vm;
	env_set_status(e, ENV_RUNNING);
	e->env_info->env_cpu = c->cpu_id;
	e->env_info->env_runs++;
	e->env_pct_replied = false;
	if (e->env_revoke_upcall || e->env_repossess_upcall)
		revoke_deliver(e, &e->env_tf);
	if (e->env_pct_qlen)
		pct_deliver(e, &e->env_tf);
	e->env_woken = false;
	if (e->env_route[UPCALL_SLICE].ur_entry)
		slice_prologue(e);
	if (rcr3() != e->env_vm->vs_cr3)
		lcr3(e->env_vm->vs_cr3);
	/* FPU/SSE state moves lazily: the first FPU instruction of an env that
	 * does not own the registers traps (#NM, fpu_switch). */
	uint64_t cr0 = rcr0();
	if ((c->cpu_fpu_owner == e) == !!(cr0 & CR0_TS))
		lcr0(cr0 ^ CR0_TS);
	if (e->env_trace && env_debug.call_resumed)
		env_debug.call_resumed(e); /* the result of a traced call it waited in */
	unlock_kernel();
	trap_return(&e->env_tf);
}
