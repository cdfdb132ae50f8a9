/*
 * Sleeping on a word of shared memory (sys_page_sleep, sys_page_wake):
 * every error, the look-and-sleep as one step (a changed word never
 * sleeps), time-outs, and a wake reaching a sleeper through another
 * address of the same page - the pipes between siblings of a pipeline
 * are built on it (lib/posix/pipe.c; the shell's session runs them).
 * Then sys_page_sleep_any, poll's sleep (lib/posix/poll.c): its errors,
 * a wake on any of its words, and any env's death ending it; the wake
 * index: many sleepers on many words, each woken only by its own, and
 * wakes elsewhere that compare no more than their own bucket's watches
 * (ki_wake_looks); and E_QUOTA for the page that records the words.
 */
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

#define ALIAS_VA 0x530000000000UL /* a second address for the shared page */
#define UNBOUND_VA 0x540000000000UL

/* Fork a child that sleeps on words (w[0] and w[2]) and stores how its
 * sleep ended in w[1] + 100; wait until it sleeps. */
static long sleeper(volatile uint32_t *w, const struct page_word *words)
{
	w[1] = 0;
	long pid = fork();
	if (pid == 0) {
		long r = sys_page_sleep_any(words, 2, 0, 10 * ukinfo->ki_tick_hz);
		w[1] = (uint32_t)r + 100;
		exit(0);
	}
	uint64_t until = ukinfo->ki_ticks + 5 * ukinfo->ki_tick_hz;
	while ((uenvs[ENVX(pid)].env_status != ENV_BLOCKED || w[1]) && ukinfo->ki_ticks < until)
		sys_yield();
	return pid;
}

static void sleep_any(volatile uint32_t *w)
{
	uint64_t va = (uint64_t)(uintptr_t)w;
	w[0] = 7, w[2] = 9;
	struct page_word words[PAGE_SLEEP_WORDS_MAX + 1];
	for (int i = 0; i <= PAGE_SLEEP_WORDS_MAX; i++)
		words[i] = (struct page_word){ va, 7, 0 };
	words[1].pw_va = va + 8, words[1].pw_expected = 9;

	check_eq("any-flags", sys_page_sleep_any(words, 2, 0x2, 1), -E_INVAL);
	check_eq("any-too-many", sys_page_sleep_any(words, PAGE_SLEEP_WORDS_MAX + 1, 0, 1),
		 -E_INVAL);
	check_eq("any-most", sys_page_sleep_any(words + 1, PAGE_SLEEP_WORDS_MAX, 0, 0), 0);
	check_eq("any-words-unreadable", sys_page_sleep_any((void *)UNBOUND_VA, 1, 0, 1), -E_FAULT);
	struct page_word bad[2] = { words[0], { va + 1, 0, 0 } };
	check_eq("any-unaligned", sys_page_sleep_any(bad, 2, 0, 1), -E_INVAL);
	bad[1].pw_va = UTOP;
	check_eq("any-past-utop", sys_page_sleep_any(bad, 2, 0, 1), -E_INVAL);
	bad[1].pw_va = UNBOUND_VA;
	check_eq("any-unbound", sys_page_sleep_any(bad, 2, 0, 1), -E_FAULT);
	/* an error anywhere wins over a changed word before it */
	bad[0].pw_expected = 8;
	check_eq("any-checked-first", sys_page_sleep_any(bad, 2, 0, 1), -E_FAULT);
	check_eq("any-none", sys_page_sleep_any(NULL, 0, 0, 0), 0);
	check_eq("any-none-times-out", sys_page_sleep_any(NULL, 0, 0, 2), 0);
	check_eq("any-zero-ticks", sys_page_sleep_any(words, 2, 0, 0), 0);
	words[1].pw_expected = 10;
	check_eq("any-second-changed", sys_page_sleep_any(words, 2, 0, UINT64_MAX),
		 PAGE_SLEEP_CHANGED);
	words[1].pw_expected = 9;
	uint64_t t0 = ukinfo->ki_ticks;
	check_eq("any-times-out", sys_page_sleep_any(words, 2, 0, 3), 0);
	check("any-times-out-late-enough", ukinfo->ki_ticks - t0 >= 2);

	/* the console: only its holder may wait for input (a forked child
	 * never holds it) */
	long pid = fork();
	if (pid == 0)
		exit(sys_page_sleep_any(NULL, 0, PAGE_SLEEP_CONSOLE, 0) == -E_PERM ? 0 : 1);
	check_eq("any-console-not-held", wait(pid), 0);

	/* a wake on the second word ends it */
	pid = sleeper(w, words);
	check_eq("any-wake-second", sys_page_wake(va + 8), 1);
	check_eq("any-child-exit", wait(pid), 0);
	check_eq("any-child-woken", w[1], 100 + PAGE_SLEEP_WOKEN);
	/* so does any env's death: here a child that only exits */
	pid = sleeper(w, words);
	long other = fork();
	if (other == 0)
		exit(0);
	check_eq("any-other-exit", wait(other), 0);
	check_eq("any-death-child-exit", wait(pid), 0);
	check_eq("any-death-woken", w[1], 100 + PAGE_SLEEP_WOKEN);
}

/* SLEEPERS children each sleep on PAGE_SLEEP_WORDS_MAX words of their own
 * (together a page of words); wakes on words nobody watches compare a few
 * watches each, not the thousand the sleepers hold; a wake on one of a
 * child's words wakes that child and no other. A woken child then waits
 * on a release word with page_sleep, which no death ends (a death ends
 * every page_sleep_any), so the others stay asleep until woken. */
#define SLEEPERS 8
static void many(void)
{
	volatile uint32_t *words = vm_alloc_shared(2 * PAGE_SIZE);
	volatile uint32_t *ctl = words + PAGE_SIZE / sizeof(uint32_t);
	volatile uint32_t *release = &ctl[PAGE_SIZE / sizeof(uint32_t) - 1];
	enum { N = PAGE_SLEEP_WORDS_MAX };
	_Static_assert(SLEEPERS * N * sizeof(uint32_t) == PAGE_SIZE, "one page of words");
	long pids[SLEEPERS];
	*release = 0;
	for (int c = 0; c < SLEEPERS; c++) {
		ctl[c] = 0;
		pids[c] = fork();
		if (pids[c] == 0) {
			struct page_word pw[N];
			for (int i = 0; i < N; i++)
				pw[i] = (struct page_word){ (uint64_t)(uintptr_t)&words[c * N + i],
							    0, 0 };
			long r = sys_page_sleep_any(pw, N, 0, 30 * ukinfo->ki_tick_hz);
			ctl[c] = (uint32_t)r + 100;
			while (!*release)
				sys_page_sleep((uint64_t)(uintptr_t)release, 0, ukinfo->ki_tick_hz);
			exit(0);
		}
	}
	bool all_asleep = true;
	uint64_t until = ukinfo->ki_ticks + 10 * ukinfo->ki_tick_hz;
	for (int c = 0; c < SLEEPERS; c++) {
		while (uenvs[ENVX(pids[c])].env_status != ENV_BLOCKED && ukinfo->ki_ticks < until)
			sys_yield();
		all_asleep &= uenvs[ENVX(pids[c])].env_status == ENV_BLOCKED && !ctl[c];
	}
	check("many-asleep", all_asleep);
	/* words of the control page nobody watches: their buckets only */
	uint64_t looks = ukinfo->ki_wake_looks;
	long woken = 0;
	for (int i = SLEEPERS; i < SLEEPERS + N; i++)
		woken += sys_page_wake((uint64_t)(uintptr_t)&ctl[i]);
	looks = ukinfo->ki_wake_looks - looks;
	printf("pagewait: %d wakes elsewhere compared %lu watches (%d sleepers, %d words each)\n",
	       N, looks, SLEEPERS, N);
	check_eq("many-elsewhere-nobody", woken, 0);
	check("many-elsewhere-cheap", looks < (uint64_t)N * 8);
	/* each child by a word of its own (child c's (c * 17 % N)-th), child 3
	 * first: it alone wakes */
	bool each = true;
	for (int k = 0; k < SLEEPERS; k++) {
		int c = (k + 3) % SLEEPERS;
		looks = ukinfo->ki_wake_looks;
		long n = sys_page_wake((uint64_t)(uintptr_t)&words[c * N + c * 17 % N]);
		looks = ukinfo->ki_wake_looks - looks;
		while (!ctl[c] && ukinfo->ki_ticks < until)
			sys_yield();
		bool others = true;
		for (int o = 0; o < SLEEPERS; o++)
			others &= (o - 3 + SLEEPERS) % SLEEPERS <= k || !ctl[o];
		if (k == 0) {
			check_eq("many-own-word", n, 1);
			check("many-own-word-cheap", looks < 16);
			check_eq("many-own-woken", ctl[c], 100 + PAGE_SLEEP_WOKEN);
			check("many-others-asleep", others);
		} else {
			each &= n == 1 && ctl[c] == 100 + PAGE_SLEEP_WOKEN && others;
		}
	}
	check("many-each-own", each);
	*release = 1;
	sys_page_wake((uint64_t)(uintptr_t)release);
	bool exits = true;
	for (int c = 0; c < SLEEPERS; c++)
		exits &= wait(pids[c]) == 0;
	check("many-exits", exits);
	vm_unmap((uint64_t)(uintptr_t)words, 2 * PAGE_SIZE);
}

/* The page recording a sleep on several words is charged to the sleeper:
 * a child whose family is at its page limit gets E_QUOTA, and sleeps once
 * the limit allows it. */
static void quota(volatile uint32_t *w)
{
	uint64_t va = (uint64_t)(uintptr_t)w;
	struct page_word two[2] = { { va + 16, 5, 0 }, { va + 20, 6, 0 } };
	w[4] = 5, w[5] = 6, w[6] = 0, w[7] = 0, w[8] = 0;
	long pid = fork();
	if (pid == 0) {
		w[6] = 1; /* everything touched: no page needed from here */
		while (w[7] == 0)
			sys_yield();
		w[8] = (uint32_t)sys_page_sleep_any(two, 2, 0, 1);
		w[6] = 2;
		while (w[7] == 1)
			sys_yield();
		w[8] = (uint32_t)sys_page_sleep_any(two, 2, 0, 1);
		w[6] = 3;
		exit(0);
	}
	uint64_t until = ukinfo->ki_ticks + 10 * ukinfo->ki_tick_hz;
	while (w[6] != 1 && ukinfo->ki_ticks < until)
		sys_yield();
	struct quota_info qi;
	check_eq("quota-read", sys_env_quota((envid_t)pid, &qi), 0);
	check_eq("quota-limit",
		 sys_env_set_quota((envid_t)pid, QUOTA_PAGES, qi.qi_used[QUOTA_PAGES], CAP_SELF),
		 0);
	w[7] = 1;
	while (w[6] != 2 && ukinfo->ki_ticks < until)
		sys_yield();
	check_eq("quota-refused", (int32_t)w[8], -E_QUOTA);
	check_eq("quota-raised",
		 sys_env_set_quota((envid_t)pid, QUOTA_PAGES, qi.qi_limit[QUOTA_PAGES], CAP_SELF),
		 0);
	w[7] = 2;
	check_eq("quota-child", wait(pid), 0);
	check_eq("quota-then-sleeps", w[8], 0); /* a tick, timed out */
}

int main(void)
{
	volatile uint32_t *w = vm_alloc_shared(PAGE_SIZE);
	w[0] = 7;
	uint64_t va = (uint64_t)(uintptr_t)w;

	check_eq("sleep-unaligned", sys_page_sleep(va + 1, 7, 1), -E_INVAL);
	check_eq("sleep-kernel", sys_page_sleep(0xffffffff80200000UL, 7, 1), -E_INVAL);
	check_eq("sleep-exposed", sys_page_sleep(UINFO, 0, 1), -E_INVAL);
	check_eq("sleep-unbound", sys_page_sleep(UNBOUND_VA, 0, 1), -E_FAULT);
	check_eq("wake-unaligned", sys_page_wake(va + 2), -E_INVAL);
	check_eq("wake-past-utop", sys_page_wake(UTOP), -E_INVAL);
	check_eq("wake-unbound", sys_page_wake(UNBOUND_VA), -E_FAULT);
	check_eq("wake-nobody", sys_page_wake(va), 0);

	check_eq("changed", sys_page_sleep(va, 8, UINT64_MAX), PAGE_SLEEP_CHANGED);
	check_eq("zero-ticks", sys_page_sleep(va, 7, 0), 0);
	uint64_t t0 = ukinfo->ki_ticks;
	check_eq("times-out", sys_page_sleep(va, 7, 3), 0);
	check("times-out-late-enough", ukinfo->ki_ticks - t0 >= 2);

	/* a child sleeps on w[0]; we wake it through another address of the
	 * page, and it says how its sleep ended in w[1] */
	long ppn = (long)(vm_lookup(va) >> PAGE_SHIFT);
	check_eq("alias",
		 sys_page_bind(0, ALIAS_VA, (uint64_t)ppn, BIND_READ | BIND_WRITE, CAP_SELF), 0);
	w[1] = 0;
	long pid = fork();
	if (pid == 0) {
		long r = sys_page_sleep(va, 7, 10 * ukinfo->ki_tick_hz);
		w[1] = (uint32_t)r + 100;
		exit(0);
	}
	uint64_t until = ukinfo->ki_ticks + 5 * ukinfo->ki_tick_hz;
	while ((uenvs[ENVX(pid)].env_status != ENV_BLOCKED || w[1]) && ukinfo->ki_ticks < until)
		sys_yield();
	t0 = ukinfo->ki_ticks;
	check_eq("wake-through-alias", sys_page_wake(ALIAS_VA), 1);
	check_eq("child-exit", wait(pid), 0);
	check_eq("child-woken", w[1], 100 + PAGE_SLEEP_WOKEN);
	check("woken-at-once", ukinfo->ki_ticks - t0 < 2 * ukinfo->ki_tick_hz);
	/* another word of the page is another word */
	check_eq("other-word-nobody", sys_page_wake(ALIAS_VA + 4), 0);
	sys_page_unbind(0, ALIAS_VA, CAP_SELF);
	sleep_any(w);
	many();
	quota(w);
	return test_finish();
}
