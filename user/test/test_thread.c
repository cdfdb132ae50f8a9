/*
 * Library-OS threads: create and join, cooperative yield, mutual exclusion,
 * condition variables (a bounded buffer), and preemption by the slice-end
 * upcall of threads that never yield.
 */
#include <lib/base/slice.h>
#include <lib/base/test.h>
#include <lib/base/thread.h>

static struct mutex m = MUTEX_INIT;
static struct cond not_empty = COND_INIT, not_full = COND_INIT;
static long counter;

static void *adder(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++) {
		mutex_lock(&m);
		long v = counter;
		thread_yield(); /* inside the lock: others must wait */
		counter = v + 1;
		mutex_unlock(&m);
	}
	return (void *)n;
}

#define SLOTS 4
static long buf[SLOTS];
static int head, count;

static void *producer(void *arg)
{
	long n = (long)arg;
	for (long i = 1; i <= n; i++) {
		mutex_lock(&m);
		while (count == SLOTS)
			cond_wait(&not_full, &m);
		buf[(head + count++) % SLOTS] = i;
		cond_signal(&not_empty);
		mutex_unlock(&m);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	long n = (long)arg, sum = 0;
	for (long i = 0; i < n; i++) {
		mutex_lock(&m);
		while (count == 0)
			cond_wait(&not_empty, &m);
		sum += buf[head];
		head = (head + 1) % SLOTS;
		count--;
		cond_signal(&not_full);
		mutex_unlock(&m);
	}
	return (void *)sum;
}

/* A thread that uses 16 KiB of its stack. */
static void *stack_user(void *arg)
{
	volatile char big[16384];
	for (size_t i = 0; i < sizeof(big); i += 512)
		big[i] = (char)(long)arg;
	return (void *)(long)big[sizeof(big) - 512];
}

/* malloc and free from two preempted threads at once: every block keeps
 * its owner's pattern (issue 13, finding 13). */
static volatile uint64_t heap_errors, heap_rounds[2];

static void *heap_churner(void *arg)
{
	long me = (long)arg;
	uint8_t *live[16] = { 0 };
	size_t size[16] = { 0 };
	uint64_t rng = 0x9e3779b97f4a7c15UL * (uint64_t)(me + 1);
	uint64_t until = ukinfo->ki_ticks + 4 * NSLICES * SLICE_TICKS;
	while (ukinfo->ki_ticks < until) {
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		unsigned k = rng % 16;
		if (live[k]) {
			for (size_t i = 0; i < size[k]; i++)
				if (live[k][i] != (uint8_t)(0xa0 + me))
					heap_errors++;
			free(live[k]);
		}
		size[k] = 16 + (rng >> 8) % 240;
		live[k] = malloc(size[k]);
		if (!live[k]) {
			heap_errors++;
			break;
		}
		memset(live[k], 0xa0 + (int)me, size[k]);
		heap_rounds[me]++;
	}
	for (int k = 0; k < 16; k++)
		free(live[k]);
	return NULL;
}

static volatile uint64_t spins[2], seen_other[2];

static void *spinner(void *arg)
{
	long i = (long)arg;
	uint64_t until = ukinfo->ki_ticks + 4 * NSLICES * SLICE_TICKS;
	while (ukinfo->ki_ticks < until)
		spins[i]++; /* never yields */
	seen_other[i] = spins[1 - i];
	return NULL;
}

int main(void)
{
	struct thread *t[4];
	for (long i = 0; i < 4; i++)
		t[i] = thread_create(adder, (void *)(50 + i));
	long total = 0;
	for (int i = 0; i < 4; i++)
		total += (long)thread_join(t[i]);
	check_eq("join-results", total, 50 + 51 + 52 + 53);
	check_eq("mutex-counter", counter, total);
	check("switched", thread_switches > 100);

	struct thread *p = thread_create(producer, (void *)200);
	struct thread *c = thread_create(consumer, (void *)200);
	check_eq("bounded-buffer", (long)thread_join(c), 200 * 201 / 2);
	thread_join(p);

	/* preemption: two threads that never yield both make progress */
	check("slot", sys_slice_alloc(0, SLICE_ANY, 0, CAP_SELF) >= 0);
	check_eq("preemptive", threads_preemptive(), 0);
	struct thread *s0 = thread_create(spinner, (void *)0);
	struct thread *s1 = thread_create(spinner, (void *)1);
	thread_join(s0);
	thread_join(s1);
	/* without preemption the first would finish before the second began */
	check("spinners-interleaved", seen_other[0] > 0 && spins[1] > 0);
	check("preempted", thread_preemptions > 0);

	/* a long free list of small blocks: malloc walks it, so a slice end
	 * is likely to land inside malloc */
	static void *frag[3000];
	for (int i = 0; i < 3000; i++)
		frag[i] = malloc(16);
	for (int i = 0; i < 3000; i += 2)
		free(frag[i]);
	uint64_t before = thread_preemptions;
	struct thread *h0 = thread_create(heap_churner, (void *)0);
	struct thread *h1 = thread_create(heap_churner, (void *)1);
	thread_join(h0);
	thread_join(h1);
	check("heap-threads-preempted", thread_preemptions > before && heap_rounds[1] > 0);
	check_eq("heap-safe-under-preemption", (long)heap_errors, 0);
	for (int i = 1; i < 3000; i += 2)
		free(frag[i]);

	/* joined threads give their stacks back: 200 of them in turn */
	uint32_t pages = thisenv->env_user_pages;
	long ok = 0;
	for (long i = 0; i < 200; i++) {
		struct thread *u = thread_create(stack_user, (void *)(i & 0x7f));
		if (!u)
			break;
		ok += (long)thread_join(u) == (i & 0x7f);
	}
	check_eq("thread-churn", ok, 200);
	check("joined-stacks-freed", thisenv->env_user_pages < pages + 32);
	return test_finish();
}
