/*
 * Protected control transfer: the IPC primitive. A synchronous call switches
 * straight to the callee - its address space, its PCT entry, on its PCT
 * stack - with the arguments in registers and the caller's id supplied by
 * the kernel, donating the caller's time; the callee's reply switches back
 * the same way. Nothing is queued and the scheduler is not consulted.
 *
 * The callee is entered like an upcall (upcall.c): its interrupted state is
 * saved in a frame on its PCT stack, so it may be taken mid-computation, and
 * it resumes that state itself after replying. pct_reply ends the handler
 * that makes it: if the callee has not run since, the next call is delivered
 * in the same frame (a server taking call after call never unwinds). A callee that is in the
 * middle of a blocking call of its own (waiting for a reply, a child, input)
 * cannot be entered: the caller gets E_AGAIN.
 *
 * An asynchronous transfer (pct_send) is queued, at most PCT_QUEUE per
 * target, and delivered the next time the target runs; it also ends the
 * target's sleep. The kernel posts such messages too (pct_post, sender 0):
 * a packet handler's notify. Sleep (sys_env_sleep) lasts until a tick or a
 * transfer, so an idle server costs nothing. A message whose handler ran
 * while the env was awake makes its next sleep return at once: code that
 * looks for a handler's effect and then sleeps cannot lose one that landed
 * in between (the handler is an upcall, like a signal).
 *
 * Authority: a caller's key must dominate the callee's PCT guard - by
 * default the callee's own guard (its ancestors may call it); the callee can
 * widen it to a name whose keys it hands out (pct_set_guard).
 *
 * Locking: under the big kernel lock.
 */
#include <inc/error.h>
#include <inc/upcall.h>
#include <kern/env/cap.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/env/env.h>
#include <kern/arch/fastpath.h>
#include <kern/env/pct.h>
#include <kern/env/slice.h>
#include <kern/env/upcall.h>

/* Everything pct_call and pct_send check about the target. */
FASTPATH static long check_target(envid_t envid, uint64_t cap, bool calling, struct env **out)
{
	struct env *self = curenv;
	struct env *t = env_lookup(envid);
	if (!t)
		return -E_BAD_ENV;
	if (t == self && calling)
		return -E_INVAL; /* it would wait for its own reply forever */
	if (!t->env_route[UPCALL_PCT].ur_entry)
		return -E_NO_ENTRY;
	long r = cap_check(self, cap, &t->env_pct_guard, 0);
	if (r < 0)
		return r;
	*out = t;
	return 0;
}

FASTPATH long sys_pct_call(envid_t envid, uint64_t cap, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct env *self = curenv, *callee;
	long r = check_target(envid, cap, true, &callee);
	if (r < 0)
		return r;
	uint32_t st = callee->env_info->env_status;
	bool sleeping = st == ENV_BLOCKED && callee->env_block == BLOCK_SLEEP;
	if (st != ENV_RUNNABLE && !sleeping)
		return -E_AGAIN;

	if (sleeping)
		sched_wake(callee, 1); /* its sleep ends: woken by a transfer */
	uint64_t args[PCT_ARGS] = { a0, a1, a2 };
	const char *why =
		callee->env_pct_replied
			? upcall_reuse_pct(callee, &callee->env_tf, self->env_id, args)
			: upcall_push_pct(callee, &callee->env_tf, T_PCT_CALL, self->env_id, args);
	callee->env_pct_replied = false;
	if (why) {
		env_kill(callee, NULL, "%s", why);
		return -E_BAD_ENV;
	}
	syscall_save_caller(0);
	self->env_block = BLOCK_PCT;
	self->env_pct_peer = callee->env_id;
	callee->env_pct_waiters++;
	env_set_status(self, ENV_BLOCKED);
	env_run(callee);
}

FASTPATH long sys_pct_reply(envid_t caller, uint64_t value)
{
	struct env *self = curenv;
	struct env *c = env_lookup(caller);
	if (!c)
		return -E_BAD_ENV;
	if (c->env_info->env_status != ENV_BLOCKED || c->env_block != BLOCK_PCT ||
	    c->env_pct_peer != self->env_id)
		return -E_INVAL;
	c->env_tf.tf_rax = value;
	c->env_block = BLOCK_NONE;
	self->env_pct_waiters--;
	syscall_save_caller(0);
	env_set_status(self, ENV_RUNNABLE);
	/* A reply from the handler of the last call frame ends that handler:
	 * the next call may reuse the frame (upcall_reuse_pct). */
	self->env_pct_replied = self->env_pct_frame_caller == caller &&
				self->env_tf.tf_rsp < self->env_pct_frame &&
				self->env_tf.tf_rsp > self->env_route[UPCALL_PCT].ur_lo;
	env_run(c); /* the rest of the time goes back with the reply */
}

FASTPATH long sys_pct_send(envid_t envid, uint64_t cap, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct env *t;
	long r = check_target(envid, cap, false, &t);
	if (r < 0)
		return r;
	return pct_post(t, curenv->env_id, a0, a1, a2);
}

FASTPATH long pct_post(struct env *t, envid_t from, uint64_t a0, uint64_t a1, uint64_t a2)
{
	if (!t->env_route[UPCALL_PCT].ur_entry)
		return -E_NO_ENTRY;
	if (t->env_pct_qlen == PCT_QUEUE)
		return -E_FULL;
	struct pct_msg *m = &t->env_pct_q[(t->env_pct_qhead + t->env_pct_qlen++) % PCT_QUEUE];
	m->m_from = from;
	m->m_args[0] = a0;
	m->m_args[1] = a1;
	m->m_args[2] = a2;
	sched_wake(t, 1);
	return 0;
}

long sys_pct_set_guard(uint64_t slot)
{
	struct env *self = curenv;
	const struct cap *key;
	long r = cap_key(self, slot, &key);
	if (r < 0)
		return r;
	self->env_pct_guard = *key;
	return 0;
}

FASTPATH long sys_env_sleep(uint64_t ticks)
{
	struct env *self = curenv;
	if (self->env_pct_qlen || self->env_pct_unslept) {
		/* a transfer is waiting, or one ran its handler since the last
		 * sleep: perhaps just after the caller looked for its effect */
		self->env_pct_unslept = false;
		return 1;
	}
	if (ticks == 0)
		return 0;
	sched_sleep(self, ticks);
	sched_yield();
}

FASTPATH long sys_yield_to(envid_t envid)
{
	struct env *self = curenv;
	struct env *t = envid ? env_lookup(envid) : NULL;
	if (envid && !t)
		return -E_BAD_ENV;
	if (t && t != self && t->env_info->env_status != ENV_RUNNABLE)
		return -E_AGAIN;
	slice_yielded(self);
	syscall_save_caller(0);
	if (!t || t == self)
		sched_yield();
	env_set_status(self, ENV_RUNNABLE);
	env_run(t);
}

FASTPATH void pct_deliver(struct env *e, struct trapframe *tf)
{
	struct pct_msg *m = &e->env_pct_q[e->env_pct_qhead];
	const char *why = upcall_push_pct(e, tf, T_PCT_SEND, m->m_from, m->m_args);
	if (why) {
		/* It cannot take messages: drop them rather than kill it here. */
		cprintf("[env %08x %s] %d messages dropped: %s\n", e->env_id, e->env_info->env_name,
			e->env_pct_qlen, why);
		e->env_pct_qlen = 0;
		return;
	}
	e->env_pct_qhead = (e->env_pct_qhead + 1) % PCT_QUEUE;
	e->env_pct_qlen--;
	/* Delivered as its sleep ends, the handler runs before the code after
	 * env_sleep can look: that sleep has done its job. Delivered anywhere
	 * else, the code may be between its look and its next sleep. */
	if (!e->env_woken)
		e->env_pct_unslept = true;
}

void pct_env_gone(struct env *e, enum env_end how UNUSED)
{
	if (e->env_info->env_status == ENV_BLOCKED && e->env_block == BLOCK_PCT) {
		struct env *peer = env_lookup(e->env_pct_peer);
		if (peer)
			peer->env_pct_waiters--;
	}
	for (int i = 0; i < NENV && e->env_pct_waiters; i++) {
		struct env *c = &envs[i];
		if (c->env_info->env_status == ENV_BLOCKED && c->env_block == BLOCK_PCT &&
		    c->env_pct_peer == e->env_id) {
			c->env_tf.tf_rax = (uint64_t)-E_BAD_ENV; /* the callee died */
			c->env_block = BLOCK_NONE;
			e->env_pct_waiters--;
			env_set_status(c, ENV_RUNNABLE);
		}
	}
	if (e->env_info->env_status == ENV_BLOCKED && e->env_block == BLOCK_SLEEP)
		sched_wake(e, 0);
}
