/*
 * Traps: what happens on each exception and interrupt (the IDT that brings
 * them here is kern/arch/trap.c's).
 *
 * Exceptions raised in user mode are not handled here: they are delivered to
 * the env's own exception entry as an upcall (deliver_exception), with the
 * state the library OS needs to fix things and resume without the kernel.
 * An env that cannot take the upcall (no entry, a bad stack, a fault while its
 * stack is full) is killed with a logged reason. Exceptions in kernel mode are
 * kernel bugs: panic.
 *
 * Interrupts: the LAPIC timer ends the running env's tick; the serial line
 * feeds the console; stray legacy-PIC and spurious LAPIC vectors are ignored.
 *
 * Locking: trap() takes the big kernel lock on entry and drops it on the way
 * out (env_run, sched_halt, or the return to the interrupted kernel idle loop).
 */
#include <inc/kinfo.h>
#include <inc/syscall_floor.h>
#include <inc/upcall.h>
#include <kern/arch/console.h>
#include <kern/env/console_input.h>
#include <kern/arch/cpu.h>
#include <kern/env/env.h>
#include <kern/arch/fastpath.h>
#include <kern/arch/lapic.h>
#include <kern/arch/lock.h>
#include <kern/net/net.h>
#include <kern/disk/disk.h>
#include <kern/mem/pmap.h>
#include <kern/env/slice.h>
#include <kern/env/revoke.h>
#include <kern/mem/stlb.h>
#include <kern/arch/trap.h>
#include <kern/env/upcall.h>
#include <kern/mem/vm.h>
#include <kern/arch/x86.h>
#include <common/string.h>

extern struct kern_info kinfo;

/* Kill e (the current env) and run something else. */
static void __attribute__((noreturn)) kill_current(struct env *e, struct trapframe *tf,
						   const char *why, uint64_t va)
{
	if (tf->tf_trapno == T_PGFLT)
		env_kill(e, tf, "%s: %s at va %#lx, rip %#lx", why, trap_name(tf->tf_trapno), va,
			 tf->tf_rip);
	else
		env_kill(e, tf, "%s: %s at rip %#lx", why, trap_name(tf->tf_trapno), tf->tf_rip);
	sched_yield();
}

/* Upcall the env's exception entry; an env that cannot take it dies. */
static void __attribute__((noreturn)) deliver_exception(struct env *e, struct trapframe *tf)
{
	uint64_t va = tf->tf_trapno == T_PGFLT ? rcr2() : 0;
	const char *why = upcall_push(e, tf, tf->tf_trapno, tf->tf_err, va);
	if (why)
		kill_current(e, tf, why, va);
	unlock_kernel();
	trap_return(tf);
}

/* Save the interrupted env's registers and let the scheduler pick. */
static void __attribute__((noreturn)) preempt(struct trapframe *tf)
{
	struct env *e = curenv;
	if (e && (tf->tf_cs & 3))
		e->env_tf = *tf;
	sched_yield();
}

void trap(struct trapframe *tf)
{
	bool from_user = tf->tf_cs & 3;

	if (tf->tf_trapno == T_DBLFLT || tf->tf_trapno == T_MCHK) {
		panic_tf(tf, "trap: %s", trap_name(tf->tf_trapno));
	}
	if (tf->tf_trapno < 32 && !from_user) {
		panic_tf(tf, "trap: %s in the kernel at rip %#lx", trap_name(tf->tf_trapno),
			 tf->tf_rip);
	}
	lock_kernel();

	switch (tf->tf_trapno) {
	case IRQ_TIMER:
		lapic_eoi();
		if (thiscpu()->cpu_id == 0) {
			uint64_t now = ++kinfo.ki_ticks;
			revoke_tick(now);
			sched_tick(now);
			disk_tick();
		}
		slice_tick(tf);
	case IRQ_SERIAL:
		console_irq();
		lapic_eoi();
		preempt(tf); /* a reader may have woken: let it answer promptly */
	case IRQ_NET:
		net_irq();
		lapic_eoi();
		preempt(tf); /* a receiver may have woken, likewise */
	case IRQ_DISK:
		disk_irq();
		lapic_eoi();
		preempt(tf); /* a waiter on the disk may have woken */
	case IRQ_SPURIOUS: break; /* no EOI for spurious vectors */
	case T_NMI: cprintf("trap: NMI ignored\n"); break;
	default:
		if (tf->tf_trapno >= IRQ_PIC_BASE && tf->tf_trapno < IRQ_PIC_BASE + 16)
			break; /* stray IRQ from the masked 8259s */
		if (tf->tf_trapno == T_DEVICE) {
			fpu_switch();
			break;
		}
		if (tf->tf_trapno == T_PGFLT && stlb_refill(curenv->env_vm, rcr2(), tf->tf_err)) {
			curenv->env_info->env_refills++;
			break; /* the binding was there: the cache is warm again */
		}
		if (tf->tf_trapno < 32)
			deliver_exception(curenv, tf);
		panic("trap: unexpected vector %lu", tf->tf_trapno);
	}
	unlock_kernel();
	if (from_user)
		trap_return(tf);
	/* in the kernel's idle loop: return through trapentry.S */
}
