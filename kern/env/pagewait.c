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
 * sys_page_sleep_any sleeps on several words at once (up to
 * PAGE_SLEEP_WORDS_MAX), and on console input: how poll waits for any of
 * its pipes, its sockets (a frame for the env's ring ends every sleep) and
 * the console. The kernel keeps only where the sleeper's array is and how
 * long; a wake translates each of its words again (the sleepers list is
 * short, the arrays bounded), so a sleeper that changes its array or
 * unbinds a word only changes what wakes itself. A sharer killed without
 * waking anyone would leave such a sleeper waiting for ever, so any env's
 * death ends every sys_page_sleep_any: the sleeper looks again (which
 * pipes do through the exposed env table) and sleeps again.
 *
 * Locking: under the big kernel lock.
 */
#include <inc/error.h>
#include <inc/kinfo.h>
#include <inc/memlayout.h>
#include <inc/page.h>
#include <inc/syscall.h>
#include <kern/arch/cpu.h>
#include <kern/env/console_input.h>
#include <kern/env/env.h>
#include <kern/env/pagewait.h>
#include <kern/mem/stlb.h>
#include <kern/mem/vm.h>

extern struct kern_info kinfo;

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

/* Read words[i] of e: 0 and its address, or an error. */
static long word_at(struct env *e, uint64_t words, uint64_t i, struct page_word *w)
{
	if (copy_from_user(e->env_vm, w, words + i * sizeof(*w), sizeof(*w)) < 0)
		return -E_FAULT;
	return 0;
}

long sys_page_sleep_any(uint64_t words, uint64_t n, uint64_t flags, uint64_t ticks)
{
	struct env *self = curenv;
	if (flags & ~(uint64_t)PAGE_SLEEP_CONSOLE || n > PAGE_SLEEP_WORDS_MAX)
		return -E_INVAL;
	bool changed = false;
	for (uint64_t i = 0; i < n; i++) {
		struct page_word w;
		uint64_t pa;
		uint32_t word;
		long r = word_at(self, words, i, &w);
		if (r == 0)
			r = word_paddr(self, w.pw_va, &pa);
		if (r < 0)
			return r;
		if (copy_from_user(self->env_vm, &word, w.pw_va, sizeof(word)) < 0)
			return -E_FAULT;
		changed |= word != w.pw_expected;
	}
	bool console = flags & PAGE_SLEEP_CONSOLE;
	if (console && kinfo.ki_console != self->env_id)
		return -E_PERM;
	if (self->env_pct_qlen || self->env_pct_unslept) {
		self->env_pct_unslept = false; /* as env_sleep: a message came */
		return 1;
	}
	if (changed)
		return PAGE_SLEEP_CHANGED;
	if (console && console_pending())
		return PAGE_SLEEP_INPUT;
	if (ticks == 0)
		return 0;
	sched_sleep(self, ticks);
	self->env_sleep_words = words;
	self->env_sleep_nwords = (uint32_t)n;
	self->env_sleep_any = true;
	self->env_sleep_console = console;
	sched_yield();
}

bool pagewait_watches(struct env *e, uint64_t pa)
{
	if (e->env_sleep_pa == pa)
		return true;
	for (uint32_t i = 0; i < e->env_sleep_nwords; i++) {
		struct page_word w;
		uint64_t wpa;
		if (word_at(e, e->env_sleep_words, i, &w) == 0 &&
		    word_paddr(e, w.pw_va, &wpa) == 0 && wpa == pa)
			return true;
	}
	return false;
}

void pagewait_env_gone(struct env *e, enum env_end how)
{
	if (how != ENV_END_DESTROY)
		return;
	for (int i = 0; i < NENV; i++) {
		struct env *s = &envs[i];
		if (s != e && s->env_sleep_any && s->env_info->env_status == ENV_BLOCKED &&
		    s->env_block == BLOCK_SLEEP)
			sched_wake(s, PAGE_SLEEP_WOKEN);
	}
}
