/*
 * Upcalls: handing an event to an env by resuming it at its exception entry
 * on its exception stack, with a struct upcall_frame (inc/upcall.h) holding
 * the state it was interrupted in. Exceptions (trap.c) and revocation
 * (revoke.c) both come this way.
 *
 * An upcall starts with clean flags, UPCALL_RFLAGS (inc/upcall.h):
 * interrupts on, DF, TF, AC and the arithmetic flags clear, whatever the
 * interrupted code had (it is in the frame). A handler entered with DF set
 * would break the C calling convention, and one entered with TF set would
 * single-step itself into a fault inside every fault.
 *
 * Everything about the target is checked against the env's bindings before
 * anything is written: an env whose entry or stack is unusable gets an error
 * string back here, and its caller decides what to do (kill it, for faults).
 *
 * Locking: under the big kernel lock.
 */
#include <inc/page.h>
#include <inc/upcall.h>
#include <kern/env/env.h>
#include <kern/arch/fastpath.h>
#include <kern/mem/stlb.h>
#include <kern/arch/trap.h>
#include <kern/env/upcall.h>
#include <kern/arch/x86.h>
#include <kern/mem/vm.h>

/* What to call each kind of upcall's entry and stack in the reasons an
 * env dies for. */
static const struct route_words {
	const char *no_entry, *overflow, *bad_entry, *bad_stack;
} words[UPCALL_KINDS] = {
	[UPCALL_EXCEPTION] = {
		"no exception entry",
		"exception stack overflow (fault while handling a fault?)",
		"exception entry not mapped executable",
		"exception stack not mapped writable",
	},
	[UPCALL_PCT] = {
		"no PCT entry",
		"PCT stack overflow (calls nested too deep)",
		"PCT entry not mapped executable",
		"PCT stack not mapped writable",
	},
	[UPCALL_SLICE] = {
		"no slice entry",
		"slice upcall stack overflow",
		"slice entry not mapped executable",
		"slice upcall stack not mapped writable",
	},
};

FASTPATH static const char *push(struct env *e, struct trapframe *tf, unsigned kind,
			uint64_t trapno, uint64_t err, uint64_t va)
{
	const struct upcall_route *rt = &e->env_route[kind];
	const struct route_words *w = &words[kind];
	if (!rt->ur_entry)
		return w->no_entry;

	/* A fault on the stack itself nests below the red zone. The page under
	 * the stack is its guard: a handler whose stack ran into it is still on
	 * the stack, and out of room. */
	uint64_t sp = rt->ur_hi;
	if (tf->tf_rsp > rt->ur_lo - PAGE_SIZE && tf->tf_rsp <= rt->ur_hi)
		sp = tf->tf_rsp - UPCALL_REDZONE - UPCALL_RESUME_SLOT;
	sp = ROUNDDOWN(sp - sizeof(struct upcall_frame), 16);
	if (sp < rt->ur_lo || sp > rt->ur_hi)
		return w->overflow;

	struct upcall_frame uf = {
		.uf_trapno = trapno,
		.uf_err = err,
		.uf_va = va,
		.uf_rax = tf->tf_rax, .uf_rbx = tf->tf_rbx, .uf_rcx = tf->tf_rcx,
		.uf_rdx = tf->tf_rdx, .uf_rsi = tf->tf_rsi, .uf_rdi = tf->tf_rdi,
		.uf_rbp = tf->tf_rbp, .uf_r8 = tf->tf_r8, .uf_r9 = tf->tf_r9,
		.uf_r10 = tf->tf_r10, .uf_r11 = tf->tf_r11, .uf_r12 = tf->tf_r12,
		.uf_r13 = tf->tf_r13, .uf_r14 = tf->tf_r14, .uf_r15 = tf->tf_r15,
		.uf_rip = tf->tf_rip,
		.uf_rflags = tf->tf_rflags,
		.uf_rsp = tf->tf_rsp,
	};
	const struct binding *entry = stlb_lookup(e->env_vm, rt->ur_entry);
	if (!entry || !(entry->b_rights & BIND_EXEC))
		return w->bad_entry;
	if (copy_to_user(e->env_vm, sp, &uf, sizeof(uf)) < 0)
		return w->bad_stack;

	if (e->env_trace && env_debug.upcall)
		env_debug.upcall(e, trapno, err, va, tf->tf_rip);
	tf->tf_rip = rt->ur_entry;
	tf->tf_rsp = sp;
	tf->tf_rdi = sp;
	tf->tf_rflags = UPCALL_RFLAGS;
	e->env_info->env_upcalls++;
	return NULL;
}

FASTPATH const char *upcall_push(struct env *e, struct trapframe *tf, uint64_t trapno, uint64_t err,
			uint64_t va)
{
	return push(e, tf, UPCALL_EXCEPTION, trapno, err, va);
}

FASTPATH const char *upcall_push_pct(struct env *e, struct trapframe *tf, uint64_t trapno,
			    envid_t caller, const uint64_t args[PCT_ARGS])
{
	const char *why = push(e, tf, UPCALL_PCT, trapno, 0, (uint64_t)caller);
	if (!why) {
		e->env_pct_frame = tf->tf_rsp;
		e->env_pct_frame_caller = trapno == T_PCT_CALL ? caller : 0;
		/* the handler's C arguments: (frame, caller, a0, a1, a2) */
		tf->tf_rsi = (uint64_t)caller;
		tf->tf_rdx = args[0];
		tf->tf_rcx = args[1];
		tf->tf_r8 = args[2];
	}
	return why;
}

FASTPATH const char *upcall_reuse_pct(struct env *e, struct trapframe *tf, envid_t caller,
			     const uint64_t args[PCT_ARGS])
{
	/* The frame keeps the state the first call interrupted; only its header
	 * changes. */
	uint64_t hdr[3] = { T_PCT_CALL, 0, (uint64_t)caller };
	if (copy_to_user(e->env_vm, e->env_pct_frame, hdr, sizeof(hdr)) < 0)
		return words[UPCALL_PCT].bad_stack;
	if (e->env_trace && env_debug.upcall)
		env_debug.upcall(e, T_PCT_CALL, 0, (uint64_t)caller, tf->tf_rip);
	e->env_pct_frame_caller = caller;
	tf->tf_rip = e->env_route[UPCALL_PCT].ur_entry;
	tf->tf_rflags = UPCALL_RFLAGS;
	tf->tf_rsp = e->env_pct_frame;
	tf->tf_rdi = e->env_pct_frame;
	tf->tf_rsi = (uint64_t)caller;
	tf->tf_rdx = args[0];
	tf->tf_rcx = args[1];
	tf->tf_r8 = args[2];
	e->env_info->env_upcalls++;
	return NULL;
}

const char *upcall_push_slice(struct env *e, struct trapframe *tf, uint64_t trapno, uint64_t err)
{
	return push(e, tf, UPCALL_SLICE, trapno, err, 0);
}
