/*
 * Sleeping predicates cannot starve the machine (issue 13, finding 2):
 * children sleeping on a predicate that never holds and runs to its whole
 * budget every time are paid for by their family's budget units, so an
 * env spinning next to them keeps most of the CPU; the units show in their
 * family's account. And a predicate that reads only its granted memory is
 * not run again while that memory stays as it was.
 */
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>
#include <lib/base/wakeup.h>

#define SLEEPERS 4
#define TICKS 200

/* Loops counted while TICKS ticks pass. */
static uint64_t spin(void)
{
	uint64_t n = 0, until = ukinfo->ki_ticks + TICKS;
	while (ukinfo->ki_ticks < until)
		n++;
	return n;
}

/* r0 = (u64 at region 0 offset 0) != 0: memory only, no context */
static const struct bpf_insn flag_set[] = {
	BPF_LD_REGION(1, 0, 0),        BPF_LDX_MEM(BPF_DW, 2, 1, 0), BPF_MOV64_IMM(0, 0),
	BPF_JMP_IMM(BPF_JEQ, 2, 0, 1), BPF_MOV64_IMM(0, 1),          BPF_EXIT_INSN(),
};

/* Sleeping on flag_set while the flag stays 0: the kernel runs it only
 * when the word may have changed; a change still wakes the sleeper. */
static void runs_only_on_change(void)
{
	volatile uint64_t *shared = vm_alloc_shared(PAGE_SIZE);
	struct bpf_grant g = { (uint64_t)shared, 64, BPF_REGION_READ, 0 };
	long f = wakeup_load(flag_set, ARRAY_SIZE(flag_set), &g, 1, NULL);
	check("flag-predicate-loaded", f >= 0);
	envid_t me = thisenv_id;
	long pid = fork();
	if (pid == 0) {
		uint64_t until = ukinfo->ki_ticks + 200;
		while (ukinfo->ki_ticks < until)
			sys_yield();
		shared[2] = uenvs[ENVX(me)].env_pred_runs - shared[3];
		shared[0] = 1;
		exit(0);
	}
	shared[3] = thisenv->env_pred_runs;
	check_eq("change-still-wakes", sys_env_sleep_until((uint64_t)f, 0, 10000), 2);
	wait(pid);
	printf("  predicate runs in 200 ticks of an unchanged flag: %lu\n", shared[2]);
	check("unchanged-memory-not-rerun", shared[2] <= 3);
}

int main(void)
{
	/* reads the tick count (so it may change every tick), then loops */
	const struct bpf_insn forever[] = {
		BPF_LDX_MEM(BPF_DW, 0, 1, 0),
		BPF_ALU64_IMM(BPF_ADD, 0, 1),
		BPF_JMP_IMM(BPF_JNE, 0, 0, -2), /* runs to its budget */
		BPF_EXIT_INSN(),
	};
	uint64_t alone = spin();
	long kids[SLEEPERS];
	for (int i = 0; i < SLEEPERS; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			long f = wakeup_load(forever, ARRAY_SIZE(forever), NULL, 0, NULL);
			if (f < 0)
				exit(1);
			for (;;)
				sys_env_sleep_until((uint64_t)f, 0, UINT64_MAX);
		}
	}
	/* let them all get to sleep */
	uint64_t until = ukinfo->ki_ticks + 20;
	while (ukinfo->ki_ticks < until)
		sys_yield();
	uint64_t crowded = spin();
	printf("  spinning alone %lu, next to %d looping predicates %lu\n", alone, SLEEPERS,
	       crowded);
	check("spinner-keeps-most-of-the-cpu", crowded >= alone / 4);
	struct quota_info qi;
	check_eq("quota-read", sys_env_quota((envid_t)kids[0], &qi), 0);
	printf("  units %lu denied %lu\n", qi.qi_code_units, qi.qi_code_denied);
	check("predicate-time-charged", qi.qi_code_units > 0);
	check("predicate-runs-bounded", qi.qi_code_denied > 0);
	for (int i = 0; i < SLEEPERS; i++) {
		sys_env_destroy((envid_t)kids[i], CAP_SELF);
		wait(kids[i]);
	}
	runs_only_on_change();
	return test_finish();
}
