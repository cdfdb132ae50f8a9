/*
 * Upcalls: handing an event to an env by resuming it at its exception entry
 * on its exception stack, with a struct upcall_frame (inc/upcall.h) holding
 * the state it was interrupted in. Exceptions (trap.c) and revocation
 * (revoke.c) both come this way.
 *
 * Everything about the target is checked against the env's bindings before
 * anything is written: an env whose entry or stack is unusable gets an error
 * string back here, and its caller decides what to do (kill it, for faults).
 *
 * Locking: under the big kernel lock.
 */
#include <inc/page.h>
#include <inc/upcall.h>
#include <kern/env.h>
#include <kern/stlb.h>
#include <kern/trace.h>
#include <kern/trap.h>
#include <kern/upcall.h>
#include <kern/vm.h>

const char *upcall_push(struct env *e, struct trapframe *tf, uint64_t trapno, uint64_t err,
			uint64_t va)
{
	if (!e->env_upcall_entry)
		return "no exception entry";

	/* A fault on the exception stack itself nests below the red zone. The
	 * page under the stack is its guard: a handler whose stack ran into it
	 * is still on the exception stack, and out of room. */
	uint64_t sp = e->env_xstack_hi;
	if (tf->tf_rsp > e->env_xstack_lo - PAGE_SIZE && tf->tf_rsp <= e->env_xstack_hi)
		sp = tf->tf_rsp - UPCALL_REDZONE - UPCALL_RESUME_SLOT;
	sp = ROUNDDOWN(sp - sizeof(struct upcall_frame), 16);
	if (sp < e->env_xstack_lo || sp > e->env_xstack_hi)
		return "exception stack overflow (fault while handling a fault?)";

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
	const struct binding *entry = stlb_lookup(e, e->env_upcall_entry);
	if (!entry || !(entry->b_rights & BIND_EXEC))
		return "exception entry not mapped executable";
	if (copy_to_user(e, sp, &uf, sizeof(uf)) < 0)
		return "exception stack not mapped writable";

	if (e->env_trace)
		trace_upcall(e, trapno, err, va, tf->tf_rip);
	tf->tf_rip = e->env_upcall_entry;
	tf->tf_rsp = sp;
	tf->tf_rdi = sp;
	e->env_info->env_upcalls++;
	return NULL;
}
