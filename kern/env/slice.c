/*
 * The time-slice vector (inc/slice.h): who owns each slot of each CPU's
 * time, and the slice-start and slice-end upcalls that let an owner manage
 * its own time.
 *
 * The current slot is a function of the tick count, so every CPU agrees on
 * it without talking. At each tick: an owner inside its slot keeps the CPU;
 * at the end of its slot it is upcalled (T_EPILOGUE) and given
 * EPILOGUE_TICKS whole ticks to yield; an owner still running after that is preempted,
 * its registers saved by the kernel, and charged an overrun. Anything else
 * running is preempted every tick in favour of the slot's owner or, in a
 * slot nobody owns (or whose owner is blocked or gave the rest away), of the
 * next env in the round-robin run queue (sched.c).
 *
 * Authority: a slot is given to an env by a key dominating that env's guard
 * with CAP_M (an env can take slots for itself and its descendants); no env
 * may hold more than SLICES_MAX_PER_ENV slots of a CPU, and a family no more
 * than its QUOTA_SLICES on all CPUs together (so an env and its children
 * cannot take a whole CPU by each taking their own maximum).
 *
 * Locking: under the big kernel lock; the vector is read by user space
 * without it.
 */
#include <inc/error.h>
#include <inc/kinfo.h>
#include <inc/upcall.h>
#include <kern/env/cap.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/env/env.h>
#include <kern/arch/fastpath.h>
#include <kern/arch/lock.h>
#include <kern/mem/account.h>
#include <kern/env/slice.h>
#include <kern/mem/pmap.h>
#include <kern/env/upcall.h>

extern struct kern_info kinfo;

/* Alone on its page: the page is mapped to users. */
static union {
	struct slice_vec v;
	uint8_t page[PAGE_SIZE];
} vec_page __attribute__((aligned(PAGE_SIZE)));

struct slice_vec *const slice_vec = &vec_page.v;

void slice_init(void)
{
	pmap_expose(USLICES, slice_vec, PAGE_SIZE);
	slice_vec->sv_slice_ticks = SLICE_TICKS;
	slice_vec->sv_nslots = NSLICES;
}

static uint64_t slice_number(void)
{
	return kinfo.ki_ticks / SLICE_TICKS;
}

static struct env *owner_of(unsigned cpu, uint64_t slice)
{
	envid_t id = slice_vec->sv_owner[cpu][slice % NSLICES];
	return id ? env_lookup(id) : NULL;
}

FASTPATH struct env *slice_pick(void)
{
	struct cpu *c = thiscpu();
	uint64_t now = slice_number();
	struct env *o = owner_of(c->cpu_id, now);
	if (!o || o->env_info->env_status != ENV_RUNNABLE || c->cpu_slice_given == now + 1)
		return NULL;
	return o;
}

FASTPATH void slice_yielded(struct env *e)
{
	struct cpu *c = thiscpu();
	if (c->cpu_epilogue_env == e)
		c->cpu_epilogue_env = NULL; /* it did as asked */
	if (owner_of(c->cpu_id, slice_number()) == e)
		c->cpu_slice_given = slice_number() + 1;
}

void slice_prologue(struct env *e)
{
	uint64_t now = slice_number();
	if (!e->env_route[UPCALL_SLICE].ur_entry || e->env_slice_started == now + 1 ||
	    owner_of(thiscpu()->cpu_id, now) != e)
		return;
	e->env_slice_started = now + 1;
	/* An env that cannot take it loses the upcall, not its slot. */
	if (upcall_push_slice(e, &e->env_tf, T_PROLOGUE, e->env_overran) == NULL)
		e->env_overran = false;
}

void slice_tick(struct trapframe *tf)
{
	struct cpu *c = thiscpu();
	struct env *cur = c->cpu_env;
	uint64_t now = slice_number();
	slice_vec->sv_current[c->cpu_id] = (uint32_t)(now % NSLICES);
	if (cur && (tf->tf_cs & 3)) {
		if (c->cpu_epilogue_env == cur) {
			if (kinfo.ki_ticks < c->cpu_epilogue_deadline) {
				unlock_kernel();
				trap_return(tf); /* still within its budget */
			}
			/* Overrun: preempted, charged, told next time. */
			c->cpu_epilogue_env = NULL;
			cur->env_info->env_overruns++;
			cur->env_overran = true;
		} else if (owner_of(c->cpu_id, now) == cur && c->cpu_slice_given != now + 1) {
			/* Its own slot, perhaps just begun while it ran. */
			if (cur->env_route[UPCALL_SLICE].ur_entry &&
			    cur->env_slice_started != now + 1 &&
			    upcall_push_slice(cur, tf, T_PROLOGUE, cur->env_overran) == NULL)
				cur->env_overran = false;
			cur->env_slice_started = now + 1;
			unlock_kernel();
			trap_return(tf);
		} else if (cur->env_route[UPCALL_SLICE].ur_entry && now > 0 &&
			   owner_of(c->cpu_id, now - 1) == cur && cur->env_epilogue_sent != now) {
			/* Its slot just ended: ask it to yield. */
			cur->env_epilogue_sent = now;
			if (!upcall_push_slice(cur, tf, T_EPILOGUE, 0)) {
				c->cpu_epilogue_env = cur;
				/* whole ticks: the current one may be all but over */
				c->cpu_epilogue_deadline = kinfo.ki_ticks + EPILOGUE_TICKS + 1;
				unlock_kernel();
				trap_return(tf);
			}
		}
		cur->env_tf = *tf;
	}
	sched_yield();
}

/* The CPU and slot a call names, checked. */
static long check_slot(uint64_t cpu, uint64_t slot)
{
	return cpu >= ncpu || cpu >= SLICE_CPUS || slot >= NSLICES ? -E_INVAL : 0;
}

long sys_slice_alloc(uint64_t cpu, uint64_t slot, envid_t envid, uint64_t cap)
{
	struct env *self = curenv;
	if (check_slot(cpu, slot == SLICE_ANY ? 0 : slot) < 0)
		return -E_INVAL;
	struct env *e = envid ? env_lookup(envid) : self;
	if (!e)
		return -E_BAD_ENV;
	long r = cap_check(self, cap, &e->env_guard, CAP_M);
	if (r < 0)
		return r;
	envid_t *owners = slice_vec->sv_owner[cpu];
	unsigned held = 0;
	for (unsigned i = 0; i < NSLICES; i++)
		held += owners[i] == e->env_id;
	if (held >= SLICES_MAX_PER_ENV)
		return -E_FULL;
	if (slot == SLICE_ANY) {
		for (slot = 0; slot < NSLICES && owners[slot]; slot++)
			;
		if (slot == NSLICES)
			return -E_FULL;
	} else if (owners[slot] && env_lookup(owners[slot])) {
		return -E_BUSY;
	}
	if (!acct_charge(e->env_vm->vs_acct, QUOTA_SLICES, 1))
		return -E_QUOTA; /* its family holds its share of the slots */
	owners[slot] = e->env_id;
	e->env_info->env_slices++;
	return (long)slot;
}

long sys_slice_free(uint64_t cpu, uint64_t slot, uint64_t cap)
{
	if (check_slot(cpu, slot) < 0)
		return -E_INVAL;
	struct env *e = env_lookup(slice_vec->sv_owner[cpu][slot]);
	if (!e)
		return -E_NOT_FOUND;
	long r = cap_check(curenv, cap, &e->env_guard, CAP_M);
	if (r < 0)
		return r;
	slice_vec->sv_owner[cpu][slot] = 0;
	e->env_info->env_slices--;
	acct_release(e->env_vm->vs_acct, QUOTA_SLICES, 1);
	return 0;
}

void slice_env_gone(struct env *e, enum env_end how)
{
	if (how == ENV_END_EXEC)
		return; /* a new program keeps its slots */
	for (unsigned cpu = 0; cpu < SLICE_CPUS && e->env_info->env_slices; cpu++)
		for (unsigned s = 0; s < NSLICES; s++)
			if (slice_vec->sv_owner[cpu][s] == e->env_id) {
				slice_vec->sv_owner[cpu][s] = 0;
				e->env_info->env_slices--;
				acct_release(e->env_vm->vs_acct, QUOTA_SLICES, 1);
			}
	struct cpu *c = thiscpu();
	if (c->cpu_epilogue_env == e)
		c->cpu_epilogue_env = NULL;
}
