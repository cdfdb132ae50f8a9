/*
 * Sleeping on a word of shared memory, and waking its sleepers: the kernel
 * half of a futex, for envs that share a page (a pipe's ring between two
 * processes of a pipeline, which PCT cannot reach: keys reach parents and
 * children, not siblings).
 *
 * sys_page_sleep(va, expected, ticks) sleeps only if the 32-bit word at va
 * still holds expected - checked under the kernel lock, so a waker that
 * changes the word and then calls sys_page_wake cannot slip in between the
 * sleeper's look and its sleep - and names the word by its physical
 * address, so sharers that bind the page at different addresses meet.
 * sys_page_wake(va) ends the sleep of every env sleeping on that word.
 *
 * Authority: none beyond the binding. A waker binds the page, so it could
 * change the word anyway; a wake only ends a sleep early, and sleepers loop
 * on their condition (every sleep here may end early: a transfer, its time).
 * Nothing is kept but the sleeper's own state: no table to fill.
 *
 * Locking: under the big kernel lock.
 */
#include <inc/error.h>
#include <inc/memlayout.h>
#include <inc/page.h>
#include <inc/syscall.h>
#include <kern/arch/cpu.h>
#include <kern/env/env.h>
#include <kern/env/pagewait.h>
#include <kern/mem/stlb.h>
#include <kern/mem/vm.h>

/* The physical address of the word at va in e, which e binds readable:
 * 0 and an error if not. */
static long word_paddr(struct env *e, uint64_t va, uint64_t *pa)
{
	if (va % sizeof(uint32_t) || va >= UTOP)
		return -E_INVAL;
	const struct stlb_entry *b = stlb_lookup(e->env_vm, va);
	if (!b)
		return -E_FAULT;
	*pa = ((uint64_t)b->b_ppn << PAGE_SHIFT) | (va % PAGE_SIZE);
	return 0;
}

long sys_page_sleep(uint64_t va, uint64_t expected, uint64_t ticks)
{
	struct env *self = curenv;
	uint64_t pa;
	long r = word_paddr(self, va, &pa);
	if (r < 0)
		return r;
	uint32_t word;
	if (copy_from_user(self->env_vm, &word, va, sizeof(word)) < 0)
		return -E_FAULT;
	if (self->env_pct_qlen || self->env_pct_unslept) {
		self->env_pct_unslept = false; /* as env_sleep: a message came */
		return 1;
	}
	if (word != (uint32_t)expected)
		return PAGE_SLEEP_CHANGED;
	if (ticks == 0)
		return 0;
	sched_sleep(self, ticks);
	self->env_sleep_pa = pa;
	sched_yield();
}

long sys_page_wake(uint64_t va)
{
	uint64_t pa;
	long r = word_paddr(curenv, va, &pa);
	if (r < 0)
		return r;
	return sched_wake_word(pa, PAGE_SLEEP_WOKEN);
}
