/*
 * FPU/SSE state belongs to each env: the kernel hands the registers over
 * lazily (#NM on first use after a switch), and nothing one env leaves in
 * them is seen by another - across yields, preemption and fork.
 */
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

static void set_xmm(uint64_t v)
{
	__asm__ volatile("movq %0, %%xmm0\n\tmovq %0, %%xmm7\n\tmovq %0, %%xmm15"
			 :
			 : "r"(v)
			 : "xmm0", "xmm7", "xmm15");
}

static bool xmm_is(uint64_t v)
{
	uint64_t a, b, c;
	__asm__ volatile("movq %%xmm0, %0\n\tmovq %%xmm7, %1\n\tmovq %%xmm15, %2"
			 : "=r"(a), "=r"(b), "=r"(c));
	return a == v && b == v && c == v;
}

/* Yield back and forth with the other env many times, checking ours. */
static bool churn(uint64_t mine, envid_t other)
{
	set_xmm(mine);
	bool ok = true;
	for (int i = 0; i < 200 && ok; i++) {
		if (other)
			sys_yield_to(other);
		else
			sys_yield();
		ok = xmm_is(mine);
	}
	return ok;
}

int main(void)
{
	envid_t me = thisenv_id;
	long pid = fork();
	if (pid == 0) {
		exit(churn(0x2222222222222222UL, me) ? 0 : 1);
	}
	check("parent-keeps-xmm", churn(0x1111111111111111UL, (envid_t)pid));
	check_eq("child-keeps-xmm", wait(pid), 0);

	/* a spinning neighbour preempted by the timer, not yielding */
	long spin = sys_env_create("spin", "", CAP_SELF);
	set_xmm(0x3333333333333333UL);
	uint64_t until = ukinfo->ki_ticks + 5;
	bool ok = true;
	while (ukinfo->ki_ticks < until && ok)
		ok = xmm_is(0x3333333333333333UL);
	check("kept-across-preemption", ok);
	sys_env_destroy((envid_t)spin, CAP_SELF);
	sys_env_wait((envid_t)spin);

	/* x87 control word too */
	uint16_t cw = 0x27f, got = 0;
	__asm__ volatile("fldcw %0" : : "m"(cw));
	sys_yield();
	__asm__ volatile("fnstcw %0" : "=m"(got));
	check("x87-control-word-kept", got == cw);
	return test_finish();
}
