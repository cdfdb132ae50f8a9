/*
 * Keys are charged on their own (QUOTA_KEYS). A child family given a key
 * limit tries to exhaust it - its head and two children each derive keys
 * into every empty slot of their rings at once - and must stop at exactly
 * its limit, each grabber stopped by E_QUOTA, while a sibling family (and
 * we) still derive keys. Then what moves the count: a key replacing one
 * costs nothing, a drop gives one back, a grant is charged to the holder
 * (E_QUOTA when the holder's family is full), and a dead family's keys all
 * come back.
 */
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

#define HOG_KIDS 2     /* the family's head grabs too: three grabbers */
#define HOG_ROOM 40    /* keys the family may add once its limit is set */
#define SIBLING_KEYS 8 /* what the sibling derives while the hog is full */

/* The words parent, hog and its children share. */
enum {
	GO,         /* the hog's limit is set: start */
	GRAB,       /* the hog's children exist: grab */
	DONE,       /* grabbers finished */
	KID,        /* KID + i: the hog's children's ids */
	GOT = KID + HOG_KIDS,     /* GOT + who: keys each grabber derived */
	ERR = GOT + HOG_KIDS + 1, /* ERR + who: what stopped it (0: its ring filled) */
	SIB_GOT = ERR + HOG_KIDS + 1,
	SIB_ERR,
};

static volatile uint64_t *shared;

static struct quota_info q(envid_t id)
{
	struct quota_info qi;
	memset(&qi, 0, sizeof(qi));
	sys_env_quota(id, &qi);
	return qi;
}

static long keys_used(envid_t id)
{
	return (long)q(id).qi_used[QUOTA_KEYS];
}

static bool slot_empty(uint64_t slot)
{
	struct cap c;
	return sys_cap_read(0, slot, &c) == 0 && !c.c_valid;
}

/* Derive keys into every empty slot until refused: (count, error). */
static void derive_all(uint64_t tag, volatile uint64_t *got, volatile uint64_t *err)
{
	uint64_t n = 0;
	long r = 0;
	for (uint64_t slot = 1; slot < CAP_RING && r == 0; slot++) {
		if (!slot_empty(slot))
			continue;
		uint16_t name[2] = { (uint16_t)tag, (uint16_t)slot };
		if ((r = sys_cap_derive(CAP_SELF, slot, CAP_R, name, 2)) == 0)
			n++;
	}
	*got = n;
	*err = (uint64_t)-r;
}

static void __attribute__((noreturn)) hold_forever(void)
{
	for (;;)
		sys_env_sleep(UINT64_MAX);
}

static void __attribute__((noreturn)) hog(void)
{
	while (shared[GO] == 0)
		sys_yield();
	for (int i = 0; i < HOG_KIDS; i++) {
		long kid = fork();
		if (kid == 0) {
			while (shared[GRAB] == 0)
				sys_yield();
			derive_all(0x100 + (uint64_t)i, &shared[GOT + 1 + i], &shared[ERR + 1 + i]);
			__atomic_fetch_add(&shared[DONE], 1, __ATOMIC_SEQ_CST);
			hold_forever();
		}
		shared[KID + i] = (uint64_t)kid;
	}
	shared[GRAB] = 1;
	derive_all(0x100 + HOG_KIDS, &shared[GOT], &shared[ERR]);
	__atomic_fetch_add(&shared[DONE], 1, __ATOMIC_SEQ_CST);
	hold_forever();
}

static void family_exhausts_its_limit(void)
{
	long base = keys_used(0);
	long id = fork();
	if (id == 0)
		hog();
	check("hog-start", id > 0);
	long limit = keys_used((envid_t)id) + HOG_ROOM;
	check_eq("hog-set-limit",
		 sys_env_set_quota((envid_t)id, QUOTA_KEYS, (uint64_t)limit, CAP_SELF), 0);
	shared[GO] = 1;
	uint64_t until = ukinfo->ki_ticks + 30 * ukinfo->ki_tick_hz;
	while (shared[DONE] < HOG_KIDS + 1 && ukinfo->ki_ticks < until)
		sys_yield();
	check_eq("hog-grabbers-done", (long)shared[DONE], HOG_KIDS + 1);
	check_eq("hog-held-its-limit", keys_used((envid_t)id), limit);
	bool stopped_by_quota = false, other_error = false;
	for (int who = 0; who <= HOG_KIDS; who++) {
		stopped_by_quota |= shared[ERR + who] == E_QUOTA;
		other_error |= shared[ERR + who] != 0 && shared[ERR + who] != E_QUOTA;
	}
	check("hog-stopped-by-e-quota", stopped_by_quota);
	check("hog-no-other-error", !other_error);

	/* A sibling family and we still derive while the hog is full. */
	long sib = fork();
	if (sib == 0) {
		uint64_t n = 0;
		long r = 0;
		for (uint64_t slot = 1; slot < CAP_RING && n < SIBLING_KEYS && r == 0; slot++) {
			if (!slot_empty(slot))
				continue;
			uint16_t name[1] = { (uint16_t)(0x200 + slot) };
			if ((r = sys_cap_derive(CAP_SELF, slot, CAP_R, name, 1)) == 0)
				n++;
		}
		shared[SIB_GOT] = n;
		shared[SIB_ERR] = (uint64_t)-r;
		exit(0);
	}
	check_eq("sibling-exit", wait(sib), 0);
	check_eq("sibling-derived-all", (long)shared[SIB_GOT], SIBLING_KEYS);
	check_eq("sibling-no-error", (long)shared[SIB_ERR], 0);
	uint16_t mine[1] = { 0x300 };
	check_eq("we-still-derive", sys_cap_derive(CAP_SELF, 30, CAP_R, mine, 1), 0);
	sys_cap_drop(30);

	/* The hog family's keys all come back with it (head first: its
	 * children are orphans then, freed as they die). */
	sys_env_destroy((envid_t)id, CAP_SELF);
	check_eq("hog-reaped", sys_env_wait((envid_t)id), EXIT_DESTROYED);
	for (int i = 0; i < HOG_KIDS; i++)
		sys_env_destroy((envid_t)shared[KID + i], CAP_SELF);
	check_eq("hog-keys-returned", keys_used(0), base);
}

static void what_moves_the_count(void)
{
	long base = keys_used(0);
	uint16_t name[1] = { 0x400 };
	check("slot-29-empty", slot_empty(29));
	check_eq("derive", sys_cap_derive(CAP_SELF, 29, CAP_ALL, name, 1), 0);
	check_eq("derive-charged", keys_used(0), base + 1);
	check_eq("weaken-in-place", sys_cap_derive(29, 29, CAP_R, name, 0), 0);
	check_eq("replacing-is-free", keys_used(0), base + 1);
	check_eq("drop", sys_cap_drop(29), 0);
	check_eq("drop-gives-back", keys_used(0), base);
	check_eq("drop-empty", sys_cap_drop(29), 0);
	check_eq("drop-empty-is-free", keys_used(0), base);

	/* A grant is the holder's: charged to the child's family (and so to
	 * ours, above it); refused when the child's family is full. */
	long kid = sys_env_fork(CAP_SELF);
	check("kid", kid > 0);
	long kid_base = keys_used((envid_t)kid);
	check_eq("kid-own-key", kid_base, 1);
	long slot = sys_cap_grant(CAP_SELF, (envid_t)kid);
	check("grant", slot > 0);
	check_eq("grant-charged-to-holder", keys_used((envid_t)kid), kid_base + 1);
	check_eq("grant-charged-above", keys_used(0), base + 2);
	check_eq("kid-limit", sys_env_set_quota((envid_t)kid, QUOTA_KEYS, 2, CAP_SELF), 0);
	check_eq("grant-over-quota", sys_cap_grant(CAP_SELF, (envid_t)kid), -E_QUOTA);
	check_eq("grant-refused-nothing-charged", keys_used((envid_t)kid), 2);
	sys_env_destroy((envid_t)kid, CAP_SELF);
	sys_env_wait((envid_t)kid);
	check_eq("kid-keys-returned", keys_used(0), base);
}

int main(void)
{
	shared = vm_alloc_shared(PAGE_SIZE);
	check("root-limit-every-ring",
	      q(0).qi_limit[QUOTA_KEYS] > 0 && q(0).qi_limit[QUOTA_KEYS] <= NENV * CAP_RING);
	what_moves_the_count();
	family_exhausts_its_limit();
	return test_finish();
}
