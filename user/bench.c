/*
 * bench [ROUNDS]: Exo's microbenchmarks, run in an env. Each prints one line
 *   BENCH <name> <median cycles> <min cycles> <rounds>
 * measured with rdtsc around single operations (the median of ROUNDS), which
 * the host's bench script reads. A small ROUNDS is a smoke run.
 */
#include <lib/libos.h>

#define MAX_ROUNDS 20000
#define SCRATCH 0x0000400000000000UL

static uint64_t samples[MAX_ROUNDS];

static void sort(uint64_t *a, int n)
{
	/* shell sort: no recursion, good enough for 20k samples */
	for (int gap = n / 2; gap > 0; gap /= 2)
		for (int i = gap; i < n; i++)
			for (int j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
				uint64_t t = a[j];
				a[j] = a[j - gap];
				a[j - gap] = t;
			}
}

static void report(const char *name, int n)
{
	sort(samples, n);
	printf("BENCH %s %lu %lu %d\n", name, samples[n / 2], samples[0], n);
}

static void on_breakpoint(struct upcall_frame *uf)
{
	(void)uf;
}

static volatile uint64_t sink;

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 0) : 2000;
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 2000;

	/* the cost of reading the clock itself */
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		samples[i] = rdtsc() - t0;
	}
	report("rdtsc", rounds);

	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		sys_getenvid();
		samples[i] = rdtsc() - t0;
	}
	report("null_syscall", rounds);

	exception_set_handler(on_breakpoint);
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		__asm__ volatile("int3");
		samples[i] = rdtsc() - t0;
	}
	report("exception_roundtrip", rounds);

	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		long ppn = sys_page_alloc(PPN_ANY, CAP_SELF);
		sys_page_free((uint64_t)ppn, CAP_SELF);
		samples[i] = rdtsc() - t0;
	}
	report("page_alloc_free", rounds);

	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		long ppn = sys_page_alloc(PPN_ANY, CAP_SELF);
		sys_page_bind(0, SCRATCH, (uint64_t)ppn, BIND_READ | BIND_WRITE, CAP_SELF);
		*(volatile uint64_t *)SCRATCH = 1;
		sys_page_unbind(0, SCRATCH, CAP_SELF);
		sys_page_free((uint64_t)ppn, CAP_SELF);
		samples[i] = rdtsc() - t0;
	}
	report("page_alloc_bind_touch_unbind_free", rounds);

	int env_rounds = rounds / 10 > 0 ? rounds / 10 : 1;
	for (int i = 0; i < env_rounds; i++) {
		uint64_t t0 = rdtsc();
		long id = sys_env_create("nop", "", CAP_SELF);
		sys_env_wait((envid_t)id);
		samples[i] = rdtsc() - t0;
	}
	report("env_create_run_exit_wait", env_rounds);

	printf("BENCH done tsc_hz %lu\n", ukinfo->ki_tsc_hz);
	return 0;
}
