/*
 * Choosing what runs: a FIFO run queue of RUNNABLE envs, round robin, each
 * env running until it blocks, yields or the timer ends its tick. With nothing
 * runnable the CPU halts until an interrupt.
 *
 * The time-slice vector (slice.c) comes first: the owner of the current
 * slot runs when it is ready; this queue fills the rest of the time.
 *
 * env_set_status is the one place an env's status changes, so the queue is
 * always exactly the RUNNABLE envs.
 *
 * Locking: the run queue is protected by the big kernel lock.
 */
#include <inc/kinfo.h>
#include <inc/syscall.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/env/env.h>
#include <kern/arch/fastpath.h>
#include <kern/arch/lock.h>
#include <kern/mem/pmap.h>
#include <kern/env/slice.h>
#include <kern/env/pagewait.h>
#include <kern/arch/x86.h>

extern struct kern_info kinfo;

/* Doubly linked through env_rq_next/env_rq_prev: O(1) add and remove. */
static struct env *runq_head, *runq_tail;

static void runq_add(struct env *e)
{
	e->env_rq_next = NULL;
	e->env_rq_prev = runq_tail;
	if (runq_tail)
		runq_tail->env_rq_next = e;
	else
		runq_head = e;
	runq_tail = e;
}

static void runq_remove(struct env *e)
{
	if (e->env_rq_prev)
		e->env_rq_prev->env_rq_next = e->env_rq_next;
	else
		runq_head = e->env_rq_next;
	if (e->env_rq_next)
		e->env_rq_next->env_rq_prev = e->env_rq_prev;
	else
		runq_tail = e->env_rq_prev;
	e->env_rq_next = e->env_rq_prev = NULL;
}

FASTPATH void env_set_status(struct env *e, enum env_status s)
{
	uint32_t old = e->env_info->env_status;
	if (old == (uint32_t)s)
		return;
	if (old == ENV_RUNNABLE)
		runq_remove(e);
	e->env_info->env_status = s;
	if (s == ENV_RUNNABLE)
		runq_add(e);
}

/*
 * Sleepers: a list of the envs in BLOCK_SLEEP, checked every tick. Short:
 * only envs that chose to sleep are on it. A sleeper whose predicate ran
 * goes to the back, so when predicates are paid from a budget one family's
 * sleepers share (dlcode.c, account.c) they take turns, oldest waiting
 * first, rather than the front of the list taking it every tick.
 */
static struct env *sleepers, *sleepers_tail;

static void sleepers_remove(struct env *e)
{
	if (e->env_sleep_prev)
		e->env_sleep_prev->env_sleep_next = e->env_sleep_next;
	else
		sleepers = e->env_sleep_next;
	if (e->env_sleep_next)
		e->env_sleep_next->env_sleep_prev = e->env_sleep_prev;
	else
		sleepers_tail = e->env_sleep_prev;
}

static void sleepers_append(struct env *e)
{
	e->env_sleep_next = NULL;
	e->env_sleep_prev = sleepers_tail;
	if (sleepers_tail)
		sleepers_tail->env_sleep_next = e;
	else
		sleepers = e;
	sleepers_tail = e;
}

FASTPATH void sched_sleep(struct env *e, uint64_t ticks)
{
	syscall_save_caller(0);
	uint64_t until = ticks > UINT64_MAX - kinfo.ki_ticks ? UINT64_MAX : kinfo.ki_ticks + ticks;
	e->env_block = BLOCK_SLEEP;
	e->env_sleep_pred = -1;
	e->env_sleep_children = false;
	e->env_sleep_any = false;
	e->env_sleep_console = false;
	e->env_sleep_until = until;
	sleepers_append(e);
	env_set_status(e, ENV_BLOCKED);
}

FASTPATH void sched_wake(struct env *e, long value)
{
	if (e->env_info->env_status != ENV_BLOCKED || e->env_block != BLOCK_SLEEP)
		return;
	sleepers_remove(e);
	if (e->env_nwatches)
		pagewait_unwatch(e);
	e->env_tf.tf_rax = (uint64_t)value;
	e->env_block = BLOCK_NONE;
	e->env_sleep_pred = -1;
	e->env_woken = true;
	env_set_status(e, ENV_RUNNABLE);
}

/* Has a child of e died, unreaped? A scan of the table: env_sleep_child
 * is a shell's wait, not a hot path. */
static bool zombie_child(const struct env *e)
{
	for (int i = 0; i < NENV; i++)
		if (envs[i].env_info->env_status == ENV_ZOMBIE &&
		    envs[i].env_info->env_parent_id == e->env_id)
			return true;
	return false;
}

long sys_env_sleep_child(uint64_t ticks)
{
	struct env *self = curenv;
	if (self->env_pct_qlen || self->env_pct_unslept) {
		self->env_pct_unslept = false; /* as env_sleep: a message came */
		return 1;
	}
	if (zombie_child(self))
		return ENV_SLEEP_CHILD_ENDED;
	if (ticks == 0)
		return 0;
	sched_sleep(self, ticks);
	self->env_sleep_children = true; /* env_gone wakes it */
	sched_yield();
}

void sched_tick(uint64_t now)
{
	/* Each sleeper once: the ones moved to the back are not met again. */
	struct env *last = sleepers_tail;
	for (struct env *e = sleepers, *next; e; e = next) {
		next = e == last ? NULL : e->env_sleep_next;
		uint32_t runs = e->env_info->env_pred_runs;
		if (e->env_sleep_pred >= 0 && env_pred_holds(e)) {
			sched_wake(e, 2); /* its downloaded predicate holds */
		} else if (now >= e->env_sleep_until) {
			sched_wake(e, 0);
		} else if (e->env_info->env_pred_runs != runs && e != sleepers_tail) {
			sleepers_remove(e); /* it had its turn */
			sleepers_append(e);
		}
	}
}

static void sched_halt(void) __attribute__((noreturn));

/*
 * The scheduler's lists, checked each time the CPU goes idle (a broken one
 * would otherwise show only as a guest that stops forever): every env on
 * the run queue is RUNNABLE, every env on the sleepers list is blocked in
 * BLOCK_SLEEP with no message waiting (a message ends a sleep). Only the
 * lists are walked, so the idle path stays proportional to the live envs;
 * env_set_status, the one writer of a status, keeps the queue exact. A
 * break is a kernel bug.
 */
static void sched_check(void)
{
	int n = 0;
	for (struct env *e = runq_head; e; e = e->env_rq_next)
		if (e->env_info->env_status != ENV_RUNNABLE || ++n > NENV)
			panic("sched_check: env %08x queued but in status %u", e->env_id,
			      e->env_info->env_status);
	n = 0;
	for (struct env *e = sleepers; e; e = e->env_sleep_next) {
		if (e->env_info->env_status != ENV_BLOCKED || e->env_block != BLOCK_SLEEP ||
		    ++n > NENV)
			panic("sched_check: env %08x on the sleepers list but in status %u, block %d",
			      e->env_id, e->env_info->env_status, e->env_block);
		if (e->env_pct_qlen)
			panic("sched_check: env %08x sleeps with %u messages waiting", e->env_id,
			      e->env_pct_qlen);
	}
}

FASTPATH void sched_yield(void)
{
	if (trace_in_call && env_debug.call_left)
		env_debug.call_left(); /* a traced system call gives up the CPU */
	struct cpu *c = thiscpu();
	struct env *cur = c->cpu_env;
	if (cur && cur->env_info->env_status == ENV_RUNNING)
		env_set_status(cur, ENV_RUNNABLE);
	if (c->cpu_epilogue_env == cur && cur)
		c->cpu_epilogue_env = NULL; /* it yielded (or blocked) in time */
	struct env *owner = slice_pick();
	if (owner)
		env_run(owner); /* the slot's owner comes first */
	if (runq_head)
		env_run(runq_head); /* takes it off the queue: RUNNING */
	sched_halt();
}

static sched_idle_fn *idle_poll; /* one, set at boot: no CPU reads it before */

void sched_idle_register(sched_idle_fn *fn)
{
	idle_poll = fn;
}

static void sched_halt(void)
{
	struct cpu *c = thiscpu();
	c->cpu_env = NULL;
	c->cpu_vm = NULL;
	sched_check();
	bool any = false;
	for (int i = 0; i < NENV && !any; i++) {
		uint32_t s = env_infos[i].env_status;
		any = s == ENV_BLOCKED || s == ENV_RUNNABLE || s == ENV_RUNNING;
	}
	if (!any) {
		cprintf("exo: no environment left to run; halting\n");
		outw(0xf4, 0); /* QEMU's isa-debug-exit, if present */
		halt_forever();
	}
	/* Before halting, the disk's poll: what it completes may wake an env */
	while (idle_poll && idle_poll()) {
		struct env *owner = slice_pick();
		if (owner)
			env_run(owner);
		if (runq_head)
			env_run(runq_head);
	}
	unlock_kernel();
	/* Wait on a fresh stack: the interrupt's trap() schedules and never
	 * returns here. */
	__asm__ volatile("movq %0, %%rsp\n\t"
			 "xorl %%ebp, %%ebp\n\t"
			 "1: sti\n\t"
			 "hlt\n\t"
			 "jmp 1b"
			 :
			 : "r"(c->cpu_kstack_top)
			 : "memory");
	__builtin_unreachable();
}
