/*
 * bench [ROUNDS]: Exo's microbenchmarks, run in an env. Each prints one line
 *   BENCH <name> <median cycles> <min cycles> <rounds>
 * measured with rdtsc around single operations (the median of ROUNDS), which
 * the host's bench script reads. A small ROUNDS is a smoke run.
 */
#include <inc/syscall_floor.h>
#include <lib/base/libos.h>
#include <lib/base/pct.h>
#include <lib/posix/pipe.h>
#include <lib/base/thread.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>
#include <lib/base/wakeup.h>

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

/* The faulting store of the VM benchmarks: `movb $1, (%rax)` is 3 bytes. */
static inline void store_rax(volatile char *p)
{
	__asm__ volatile("movb $1, (%%rax)" ::"a"(p) : "memory");
}

#define VM_PAGES 100 /* Appel & Li's N */
static char *vm_base;
static long vm_open;

static void on_fault_skip(struct upcall_frame *uf)
{
	uf->uf_rip += 3;
}

static void on_fault_unprotect(struct upcall_frame *uf)
{
	vm_protect(ROUNDDOWN(uf->uf_va, PAGE_SIZE), PAGE_SIZE, PROT_READ | PROT_WRITE);
}

/* appel1: protect the page left open last time, open the faulting one - in
 * one batched crossing. */
static void on_fault_appel1(struct upcall_frame *uf)
{
	uint64_t page = ROUNDDOWN(uf->uf_va, PAGE_SIZE);
	uint64_t open = (uint64_t)vm_base + (uint64_t)vm_open * PAGE_SIZE;
	vm_protect(open, PAGE_SIZE, PROT_READ);
	vm_protect(page, PAGE_SIZE, PROT_READ | PROT_WRITE);
	vm_open = (long)((page - (uint64_t)vm_base) / PAGE_SIZE);
}

static uint32_t rng = 12345;
static uint32_t next_rand(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

static void bench_vm(int rounds)
{
	char *p = vm_alloc(PAGE_SIZE);
	p[0] = 1;
	vm_protect((uint64_t)p, PAGE_SIZE, PROT_READ);
	exception_set_handler(on_fault_skip);
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		store_rax(p);
		samples[i] = rdtsc() - t0;
	}
	report("trap", rounds);

	exception_set_handler(on_fault_unprotect);
	for (int i = 0; i < rounds; i++) {
		vm_protect((uint64_t)p, PAGE_SIZE, PROT_READ);
		uint64_t t0 = rdtsc();
		store_rax(p);
		samples[i] = rdtsc() - t0;
	}
	report("fault_fixup_roundtrip", rounds);

	char *region = vm_alloc((VM_PAGES + 2) * PAGE_SIZE);
	for (int i = 0; i < VM_PAGES + 2; i++)
		region[(uint64_t)i * PAGE_SIZE] = 1;
	uint64_t one = (uint64_t)region + PAGE_SIZE * (VM_PAGES / 2);
	uint64_t hundred = (uint64_t)region + PAGE_SIZE;
	for (int i = 0; i < rounds; i++) {
		vm_protect(one, PAGE_SIZE, PROT_READ | PROT_WRITE);
		uint64_t t0 = rdtsc();
		vm_protect(one, PAGE_SIZE, PROT_READ);
		samples[i] = rdtsc() - t0;
	}
	report("prot1", rounds);
	vm_protect(one, PAGE_SIZE, PROT_READ | PROT_WRITE);
	for (int i = 0; i < rounds; i++) {
		vm_protect(hundred, VM_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE);
		uint64_t t0 = rdtsc();
		vm_protect(hundred, VM_PAGES * PAGE_SIZE, PROT_READ);
		samples[i] = rdtsc() - t0;
	}
	report("prot100", rounds);
	for (int i = 0; i < rounds; i++) {
		vm_protect(hundred, VM_PAGES * PAGE_SIZE, PROT_READ);
		uint64_t t0 = rdtsc();
		vm_protect(hundred, VM_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE);
		samples[i] = rdtsc() - t0;
	}
	report("unprot100", rounds);

	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		sys_page_dirty(one, 0);
		samples[i] = rdtsc() - t0;
	}
	report("dirty", rounds);

	vm_base = region;
	vm_open = 0;
	vm_protect((uint64_t)vm_base + PAGE_SIZE, (VM_PAGES - 1) * PAGE_SIZE, PROT_READ);
	exception_set_handler(on_fault_appel1);
	for (int i = 0; i < rounds; i++) {
		long target;
		do
			target = (long)(next_rand() % VM_PAGES);
		while (target == vm_open);
		uint64_t t0 = rdtsc();
		store_rax(vm_base + target * PAGE_SIZE);
		samples[i] = rdtsc() - t0;
	}
	report("appel1", rounds);

	int order[VM_PAGES];
	exception_set_handler(on_fault_unprotect);
	vm_protect((uint64_t)vm_base, VM_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE);
	int arounds = rounds / 10 > 0 ? rounds / 10 : 1;
	for (int i = 0; i < arounds; i++) {
		for (int k = 0; k < VM_PAGES; k++)
			order[k] = k;
		for (int k = VM_PAGES - 1; k > 0; k--) {
			int j = (int)(next_rand() % (uint32_t)(k + 1)), t = order[k];
			order[k] = order[j];
			order[j] = t;
		}
		uint64_t t0 = rdtsc();
		vm_protect((uint64_t)vm_base, VM_PAGES * PAGE_SIZE, PROT_READ);
		for (int k = 0; k < VM_PAGES; k++)
			store_rax(vm_base + (uint64_t)order[k] * PAGE_SIZE);
		samples[i] = (rdtsc() - t0) / VM_PAGES;
	}
	report("appel2", arounds);
	exception_set_handler(on_breakpoint);
}

static void bench_bind(int rounds)
{
	long ppn[VM_PAGES];
	struct bind_req reqs[VM_PAGES];
	for (int i = 0; i < VM_PAGES; i++) {
		ppn[i] = sys_page_alloc(PPN_ANY, CAP_SELF);
		reqs[i] = (struct bind_req){ SCRATCH + (uint64_t)i * PAGE_SIZE, (uint64_t)ppn[i],
					     BIND_READ | BIND_WRITE };
	}
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		sys_page_bind(0, SCRATCH, (uint64_t)ppn[0], BIND_READ | BIND_WRITE, CAP_SELF);
		sys_page_unbind(0, SCRATCH, CAP_SELF);
		samples[i] = rdtsc() - t0;
	}
	report("bind_unbind_1", rounds);
	for (int i = 0; i < rounds; i++) {
		for (int k = 0; k < VM_PAGES; k++)
			reqs[k].br_ppn = (uint64_t)ppn[k];
		uint64_t t0 = rdtsc();
		sys_page_bind_batch(0, reqs, VM_PAGES, CAP_SELF);
		for (int k = 0; k < VM_PAGES; k++)
			reqs[k].br_ppn = PPN_NONE_REQ;
		sys_page_bind_batch(0, reqs, VM_PAGES, CAP_SELF);
		samples[i] = rdtsc() - t0;
	}
	report("bind_unbind_100_batched", rounds);
	sys_page_bind(0, SCRATCH, (uint64_t)ppn[0], BIND_READ | BIND_WRITE, CAP_SELF);
	for (int i = 0; i < rounds; i++) {
		sys_vm_flush(0, CAP_SELF);
		uint64_t t0 = rdtsc();
		*(volatile uint64_t *)SCRATCH;
		samples[i] = rdtsc() - t0;
	}
	report("stlb_refill_fault", rounds);
	sys_page_unbind(0, SCRATCH, CAP_SELF);
	for (int i = 0; i < VM_PAGES; i++)
		sys_page_free((uint64_t)ppn[i], CAP_SELF);
}

static uint64_t echo(envid_t caller, uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)caller, (void)a1, (void)a2;
	return a0;
}

static volatile uint64_t *flags;

static void on_msg(envid_t from, uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)a0, (void)a1, (void)a2;
	flags[1]++;
	pct_send(from, 0, 0, 0); /* bounce it back */
}

static void on_reply_msg(envid_t from, uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)from, (void)a0, (void)a1, (void)a2;
	flags[2]++;
}

static void bench_ipc(int rounds)
{
	flags = vm_alloc_shared(PAGE_SIZE);
	long pid = fork();
	if (pid == 0) {
		pct_serve(echo, on_msg);
		flags[0] = 1;
		while (flags[3] == 0)
			sys_env_sleep(UINT64_MAX);
		exit(0);
	}
	while (flags[0] == 0)
		sys_yield();
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		pct_call((envid_t)pid, (uint64_t)i, 0, 0);
		samples[i] = rdtsc() - t0;
	}
	report("pct_roundtrip", rounds);

	/* async: send, the child's handler sends back; we sleep until ours runs */
	pct_serve(NULL, on_reply_msg);
	for (int i = 0; i < rounds; i++) {
		uint64_t before = flags[2];
		uint64_t t0 = rdtsc();
		pct_send((envid_t)pid, 0, 0, 0);
		while (flags[2] == before)
			sys_env_sleep(UINT64_MAX);
		samples[i] = rdtsc() - t0;
	}
	report("pct_send_roundtrip", rounds);
	flags[3] = 1;
	pct_send((envid_t)pid, 0, 0, 0);
	wait(pid);

	/* directed yield ping-pong: each side yields to the other */
	flags[0] = flags[3] = 0;
	envid_t me = thisenv_id;
	pid = fork();
	if (pid == 0) {
		flags[0] = 1;
		while (flags[3] == 0)
			sys_yield_to(me);
		exit(0);
	}
	while (flags[0] == 0)
		sys_yield();
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		sys_yield_to((envid_t)pid);
		samples[i] = rdtsc() - t0;
	}
	report("yield_pingpong", rounds);
	flags[3] = 1;
	wait(pid);

	/* one byte each way through library-OS pipes */
	struct pipe *down = pipe_new(), *up = pipe_new();
	pid = fork();
	if (pid == 0) {
		pipe_reader(down);
		pipe_writer(up);
		uint8_t c;
		while (pipe_read(down, &c, 1) == 1)
			pipe_write(up, &c, 1);
		exit(0);
	}
	pipe_writer(down);
	pipe_reader(up);
	for (int i = 0; i < rounds; i++) {
		uint8_t c = (uint8_t)i;
		uint64_t t0 = rdtsc();
		pipe_write(down, &c, 1);
		pipe_read(up, &c, 1);
		samples[i] = rdtsc() - t0;
	}
	report("pipe_roundtrip", rounds);
	pipe_close_write(down);
	wait(pid);
}

static volatile int thread_rounds;

static void *yielder(void *arg)
{
	(void)arg;
	for (int i = 0; i < thread_rounds; i++)
		thread_yield();
	return NULL;
}

/* Two library-OS threads yielding to each other: no kernel involved. */
static void bench_threads(int rounds)
{
	thread_rounds = rounds + 1;
	struct thread *t = thread_create(yielder, NULL);
	thread_yield(); /* let it start */
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		thread_yield(); /* to it and back */
		samples[i] = rdtsc() - t0;
	}
	report("thread_yield_roundtrip", rounds);
	thread_join(t);
}

/* A wakeup predicate that holds: the system call, the kernel's check of the
 * granted page and one run of the compiled predicate. */
static void bench_predicate(int rounds)
{
	volatile uint64_t *word = vm_alloc(PAGE_SIZE);
	word[0] = 1;
	const struct bpf_insn prog[] = {
		BPF_LD_REGION(1, 0, 0),
		BPF_LDX_MEM(BPF_DW, 0, 1, 0),
		BPF_EXIT_INSN(),
	};
	struct bpf_grant g = { (uint64_t)word, 8, BPF_REGION_READ, 0 };
	long slot = wakeup_load(prog, ARRAY_SIZE(prog), &g, 1, NULL);
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		sys_env_sleep_until((uint64_t)slot, 0, 0);
		samples[i] = rdtsc() - t0;
	}
	report("predicate_check", rounds);
	sys_bpf_unload((uint64_t)slot);
}

static void bench_fork(int rounds)
{
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		long pid = fork();
		if (pid == 0)
			exit(0);
		wait(pid);
		samples[i] = rdtsc() - t0;
	}
	report("fork_exit_wait", rounds);
	char *mib = vm_alloc(1UL << 20);
	for (uint64_t k = 0; k < (1UL << 20); k += PAGE_SIZE)
		mib[k] = 1;
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		long pid = fork();
		if (pid == 0)
			exit(0);
		wait(pid);
		samples[i] = rdtsc() - t0;
	}
	report("fork_1m_exit_wait", rounds);
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

	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		exo_syscall(SYS_FLOOR, 0, 0, 0, 0, 0);
		samples[i] = rdtsc() - t0;
	}
	report("floor_null_syscall", rounds);

	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		__asm__ volatile("int %0" : : "i"(T_FLOOR) : "memory");
		samples[i] = rdtsc() - t0;
	}
	report("floor_exception_roundtrip", rounds);

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

	bench_vm(rounds);
	bench_bind(rounds);
	bench_ipc(rounds);
	bench_threads(rounds);
	bench_predicate(rounds);

	int env_rounds = rounds / 10 > 0 ? rounds / 10 : 1;
	for (int i = 0; i < env_rounds; i++) {
		uint64_t t0 = rdtsc();
		long id = sys_env_create("nop", "", CAP_SELF);
		sys_env_wait((envid_t)id);
		samples[i] = rdtsc() - t0;
	}
	report("env_create_run_exit_wait", env_rounds);
	bench_fork(env_rounds);

	printf("BENCH done tsc_hz %lu\n", ukinfo->ki_tsc_hz);
	return 0;
}
