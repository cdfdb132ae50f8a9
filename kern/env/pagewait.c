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
 * the console. A sharer killed without waking anyone would leave such a
 * sleeper waiting for ever, so any env's death ends every
 * sys_page_sleep_any: the sleeper looks again (which pipes do through the
 * exposed env table) and sleeps again.
 *
 * The wake index: a sleeper's words are translated to physical addresses
 * when it goes to sleep and hashed into one table of watches, so a wake
 * compares only the watches in its word's bucket - it pays for the
 * sleepers of its own word (and the rare collision), not for every
 * sleeper's every word (ki_wake_looks counts the comparisons, for the
 * tests). A sleep ends (sched_wake) by taking its watches out again. A
 * page unbound or freed while its watcher sleeps is still watched at its
 * old address: a wake there only ends the sleep early, as any may.
 * page_sleep's one word, and page_sleep_any's when there is one, live in
 * the env; more live in one page charged to the sleeper (PAGE_ENVMETA),
 * taken at its first such sleep and kept until it dies or execs.
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
#include <kern/mem/account.h>
#include <kern/mem/kdyn.h>
#include <kern/mem/stlb.h>
#include <kern/mem/vm.h>

extern struct kern_info kinfo;

#define WATCH_BUCKETS 4096 /* the wake index's chains: ~4 per env slot */
_Static_assert(PAGE_SLEEP_WORDS_MAX * sizeof(struct page_watch) <= PAGE_SIZE,
	       "a sleeper's watches fit its page");

static struct page_watch *watch_buckets[WATCH_BUCKETS];

static struct page_watch **bucket_of(uint64_t pa)
{
	return &watch_buckets[((pa >> 2) * 0x9e3779b97f4a7c15ULL) >> 52];
}
_Static_assert(WATCH_BUCKETS == 1 << 12, "bucket_of keeps 12 bits");

static void watch(struct env *e, struct page_watch *w, uint64_t pa)
{
	struct page_watch **b = bucket_of(pa);
	*w = (struct page_watch){ pa, e, *b, b };
	if (*b)
		(*b)->w_pprev = &w->w_next;
	*b = w;
	e->env_nwatches++;
}

void pagewait_unwatch(struct env *e)
{
	uint32_t n = e->env_nwatches;
	struct page_watch *ws = n == 1 ? &e->env_watch1 : e->env_watches;
	for (uint32_t i = 0; i < n; i++) {
		struct page_watch *w = &ws[i];
		*w->w_pprev = w->w_next;
		if (w->w_next)
			w->w_next->w_pprev = w->w_pprev;
	}
	e->env_nwatches = 0;
}

/* End the sleep of every env watching the word at physical address pa:
 * how many. The bucket is walked once to gather them (waking one takes
 * its watches out of the chain being walked), then they are woken. */
static unsigned wake_word(uint64_t pa)
{
	struct env *first = NULL;
	unsigned n = 0;
	for (struct page_watch *w = *bucket_of(pa); w; w = w->w_next) {
		kinfo.ki_wake_looks++;
		struct env *e = w->w_env;
		if (w->w_pa != pa || e->env_wake_next || e == first)
			continue; /* another word, or already gathered */
		e->env_wake_next = first ? first : e; /* e ends the list */
		first = e;
	}
	for (struct env *e = first, *next; e; e = next) {
		next = e->env_wake_next == e ? NULL : e->env_wake_next;
		e->env_wake_next = NULL;
		sched_wake(e, PAGE_SLEEP_WOKEN);
		n++;
	}
	return n;
}

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
	watch(self, &self->env_watch1, pa);
	sched_yield();
}

long sys_page_wake(uint64_t va)
{
	uint64_t pa;
	long r = word_paddr(curenv, va, &pa);
	if (r < 0)
		return r;
	return wake_word(pa);
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
	if (n > 1 && !self->env_watches) {
		self->env_watches = kdyn_alloc(self->env_vm, 1);
		if (!self->env_watches) /* charged: the family's quota, or the machine */
			return acct_may(self->env_vm->vs_acct, QUOTA_PAGES, 1) ? -E_NO_MEM
									       : -E_QUOTA;
	}
	sched_sleep(self, ticks);
	for (uint64_t i = 0; i < n; i++) {
		struct page_word w;
		uint64_t pa = 0;
		word_at(self, words, i, &w); /* checked above, and nothing ran since */
		word_paddr(self, w.pw_va, &pa);
		watch(self, n == 1 ? &self->env_watch1 : &self->env_watches[i], pa);
	}
	self->env_sleep_any = true;
	self->env_sleep_console = console;
	sched_yield();
}

void pagewait_env_gone(struct env *e, enum env_end how)
{
	if (e->env_nwatches)
		pagewait_unwatch(e);
	if (e->env_watches) {
		kdyn_free(e->env_watches, 1);
		e->env_watches = NULL;
	}
	if (how != ENV_END_DESTROY)
		return;
	for (int i = 0; i < NENV; i++) {
		struct env *s = &envs[i];
		if (s != e && s->env_sleep_any && s->env_info->env_status == ENV_BLOCKED &&
		    s->env_block == BLOCK_SLEEP)
			sched_wake(s, PAGE_SLEEP_WOKEN);
	}
}
