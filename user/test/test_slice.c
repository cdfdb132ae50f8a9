/*
 * The time-slice vector: taking and freeing slots and every denial, slots
 * freed with their owner, an env that never yields is preempted while
 * others keep getting their time, and the slice-end upcall: an owner that
 * yields in its budget is never charged, one that does not is preempted,
 * charged an overrun and told so at its next slice start.
 */
#include <lib/base/slice.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

static volatile uint64_t *shared;

static void polite_epilogue(bool overran)
{
	(void)overran;
	shared[1]++;
	sys_yield();
}

static void greedy_epilogue(bool overran)
{
	(void)overran;
	shared[1]++;
	uint64_t until = ukinfo->ki_ticks + 3 * EPILOGUE_TICKS;
	while (ukinfo->ki_ticks < until)
		; /* ignores the request */
}

static void note_prologue(bool overran)
{
	shared[2]++;
	if (overran)
		shared[3]++;
}

/* A child that owns a slot, hears about its slices, and spins. */
static long owner(slice_fn epilogue)
{
	shared[0] = shared[1] = shared[2] = shared[3] = 0;
	long pid = fork();
	if (pid == 0) {
		slice_upcalls(note_prologue, epilogue);
		shared[0] = 1;
		for (;;)
			__asm__ volatile("pause");
	}
	while (shared[0] == 0)
		sys_yield();
	check_eq("give-slot", sys_slice_alloc(0, 5, (envid_t)pid, CAP_SELF), 5);
	return pid;
}

/* Sleep through a few rounds of the vector. */
static void rounds(int n)
{
	sys_env_sleep((uint64_t)n * NSLICES * SLICE_TICKS);
}

int main(void)
{
	shared = vm_alloc_shared(PAGE_SIZE);
	check("vector-shape",
	      uslices->sv_nslots == NSLICES && uslices->sv_slice_ticks == SLICE_TICKS);

	check_eq("alloc", sys_slice_alloc(0, 3, 0, CAP_SELF), 3);
	check("alloc-visible", uslices->sv_owner[0][3] == thisenv_id && thisenv->env_slices == 1);
	check_eq("alloc-taken", sys_slice_alloc(0, 3, 0, CAP_SELF), -E_BUSY);
	long any = sys_slice_alloc(0, SLICE_ANY, 0, CAP_SELF);
	check("alloc-any", any >= 0 && any < NSLICES && any != 3);
	check_eq("alloc-bad-cpu", sys_slice_alloc(ukinfo->ki_ncpu, 1, 0, CAP_SELF), -E_INVAL);
	check_eq("alloc-bad-slot", sys_slice_alloc(0, NSLICES, 0, CAP_SELF), -E_INVAL);
	check_eq("alloc-bad-env", sys_slice_alloc(0, 1, 0x7fff0000, CAP_SELF), -E_BAD_ENV);
	check_eq("alloc-bad-cap", sys_slice_alloc(0, 1, 0, 30), -E_BAD_CAP);
	check_eq("alloc-for-parent", sys_slice_alloc(0, 1, thisenv->env_parent_id, CAP_SELF),
		 -E_PERM);
	long r = 0;
	int got = 2;
	while ((r = sys_slice_alloc(0, SLICE_ANY, 0, CAP_SELF)) >= 0)
		got++;
	check_eq("alloc-limit", r, -E_FULL);
	check_eq("alloc-limit-count", got, SLICES_MAX_PER_ENV);
	for (unsigned s = 0; s < NSLICES; s++)
		if (uslices->sv_owner[0][s] == thisenv_id)
			sys_slice_free(0, s, CAP_SELF);
	check("all-freed", thisenv->env_slices == 0);
	check_eq("free-empty", sys_slice_free(0, 3, CAP_SELF), -E_NOT_FOUND);
	check_eq("free-bad-slot", sys_slice_free(0, NSLICES, CAP_SELF), -E_INVAL);

	/* slots die with their owner */
	long kid = sys_env_create("spin", "", CAP_SELF);
	check_eq("give-child", sys_slice_alloc(0, 7, (envid_t)kid, CAP_SELF), 7);
	sys_env_destroy((envid_t)kid, CAP_SELF);
	sys_env_wait((envid_t)kid);
	check("freed-with-owner", uslices->sv_owner[0][7] == 0);

	/* a spinner with half the slots: we still run */
	long hog = sys_env_create("spin", "", CAP_SELF);
	for (int i = 0; i < SLICES_MAX_PER_ENV; i++)
		sys_slice_alloc(0, SLICE_ANY, (envid_t)hog, CAP_SELF);
	uint64_t runs = thisenv->env_runs, hog_runs = uenvs[ENVX(hog)].env_runs;
	uint64_t until = ukinfo->ki_ticks + 3 * NSLICES * SLICE_TICKS;
	uint64_t spins = 0;
	while (ukinfo->ki_ticks < until)
		spins++;
	check("hog-ran", uenvs[ENVX(hog)].env_runs > hog_runs);
	check("we-ran-meanwhile", thisenv->env_runs > runs && spins > 0);
	check("hog-not-charged", uenvs[ENVX(hog)].env_overruns == 0);
	sys_env_destroy((envid_t)hog, CAP_SELF);
	sys_env_wait((envid_t)hog);

	/* a polite owner yields in its epilogue: never charged */
	long p = owner(polite_epilogue);
	rounds(4);
	check("polite-prologues", shared[2] >= 2);
	check("polite-epilogues", shared[1] >= 2);
	check("polite-no-overrun", uenvs[ENVX(p)].env_overruns == 0 && shared[3] == 0);
	sys_env_destroy((envid_t)p, CAP_SELF);
	wait(p);

	/* a greedy one ignores it: preempted, charged, told */
	long g = owner(greedy_epilogue);
	rounds(4);
	check("greedy-epilogues", shared[1] >= 2);
	check("greedy-charged", uenvs[ENVX(g)].env_overruns >= 1);
	check("greedy-told", shared[3] >= 1);
	sys_env_destroy((envid_t)g, CAP_SELF);
	wait(g);
	return test_finish();
}
