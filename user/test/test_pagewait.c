/*
 * Sleeping on a word of shared memory (sys_page_sleep, sys_page_wake):
 * every error, the look-and-sleep as one step (a changed word never
 * sleeps), time-outs, and a wake reaching a sleeper through another
 * address of the same page - the pipes between siblings of a pipeline
 * are built on it (lib/posix/pipe.c; the shell's session runs them).
 * Then sys_page_sleep_any, poll's sleep (lib/posix/poll.c): its errors,
 * a wake on any of its words, and any env's death ending it.
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
	return test_finish();
}
