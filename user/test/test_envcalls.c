/*
 * The error paths of env_set_regs, env_start, env_exec and env_fork, and
 * three findings of issue 13: exec checks that the new program fits before
 * the old one goes; page_bind_batch is all or nothing; binding a shared
 * program text over and over cannot lock others out of starting it.
 *
 * test_envcalls exit: run as a child by this test, ends at once.
 */
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

#define VA 0x0000320000000000UL

static volatile uint64_t *shared;

/* A key whose name does not prefix anyone's but its own subtree's. */
static void derive_unrelated(uint64_t slot)
{
	uint16_t name[1] = { 0x5151 };
	sys_cap_derive(CAP_SELF, slot, CAP_ALL, name, 1);
}

static void set_regs_and_start(void)
{
	struct env_regs regs = { 0 };
	regs.r_rip = 0x400000;
	long kid = sys_env_fork(CAP_SELF);
	check("fork", kid > 0);
	check_eq("set-regs-fault", sys_env_set_regs((envid_t)kid, (struct env_regs *)16, CAP_SELF),
		 -E_FAULT);
	struct env_regs bad = regs;
	bad.r_rip = UTOP;
	check_eq("set-regs-rip", sys_env_set_regs((envid_t)kid, &bad, CAP_SELF), -E_INVAL);
	check_eq("set-regs-no-env", sys_env_set_regs(0x7ffffc00, &regs, CAP_SELF), -E_BAD_ENV);
	check_eq("set-regs-bad-cap", sys_env_set_regs((envid_t)kid, &regs, 31), -E_BAD_CAP);
	derive_unrelated(7);
	check_eq("set-regs-perm", sys_env_set_regs((envid_t)kid, &regs, 7), -E_PERM);
	check_eq("set-regs-started", sys_env_set_regs(0, &regs, CAP_SELF), -E_BUSY);
	check_eq("set-regs", sys_env_set_regs((envid_t)kid, &regs, CAP_SELF), 0);

	check_eq("start-no-env", sys_env_start(0x7ffffc00, CAP_SELF), -E_BAD_ENV);
	check_eq("start-bad-cap", sys_env_start((envid_t)kid, 31), -E_BAD_CAP);
	check_eq("start-perm", sys_env_start((envid_t)kid, 7), -E_PERM);
	check_eq("start-self-started", sys_env_start(0, CAP_SELF), -E_BUSY);
	sys_cap_drop(7);
	check_eq("destroy-unstarted", sys_env_destroy((envid_t)kid, CAP_SELF), 0);
	sys_env_wait((envid_t)kid);
	check_eq("start-dead", sys_env_start((envid_t)kid, CAP_SELF), -E_BAD_ENV);
}

static void fork_errors(void)
{
	check_eq("fork-bad-cap", sys_env_fork(31), -E_BAD_CAP);
	check_eq("derive-no-m", sys_cap_derive(CAP_SELF, 7, CAP_R | CAP_W, NULL, 0), 0);
	check_eq("fork-perm", sys_env_fork(7), -E_PERM);
	/* a name that cannot grow by two components */
	struct cap self;
	sys_cap_read(0, CAP_SELF, &self);
	uint16_t name[CAP_MAXLEN] = { 0 };
	check_eq("derive-long",
		 sys_cap_derive(CAP_SELF, 7, CAP_ALL, name, CAP_MAXLEN - 1 - self.c_len), 0);
	check_eq("fork-range", sys_env_fork(7), -E_RANGE);
	sys_cap_drop(7);

	/* a family at its env quota, then at its page quota */
	shared[0] = shared[1] = 0;
	long pid = fork();
	if (pid == 0) {
		while (shared[0] == 0)
			sys_yield();
		long r1 = sys_env_fork(CAP_SELF);
		shared[1] = 1;
		while (shared[0] == 1)
			sys_yield();
		long r2 = sys_env_fork(CAP_SELF);
		exit((r1 == -E_QUOTA ? 0 : 1) | (r2 == -E_QUOTA ? 0 : 2));
	}
	check_eq("quota-envs-1", sys_env_set_quota((envid_t)pid, QUOTA_ENVS, 1, CAP_SELF), 0);
	shared[0] = 1;
	while (shared[1] == 0)
		sys_yield();
	struct quota_info qi;
	sys_env_quota((envid_t)pid, &qi);
	sys_env_set_quota((envid_t)pid, QUOTA_ENVS, 10, CAP_SELF);
	sys_env_set_quota((envid_t)pid, QUOTA_PAGES, qi.qi_used[QUOTA_PAGES], CAP_SELF);
	shared[0] = 2;
	check_eq("fork-quota-envs-then-pages", wait(pid), 0);
}

/* Exec that would not fit is refused with nothing changed (finding 13). */
static void exec_errors(void)
{
	check_eq("exec-fault", sys_env_exec((const char *)16, NULL), -E_FAULT);
	char longname[ENV_CREATE_NAME_MAX + 8];
	memset(longname, 'x', sizeof(longname));
	longname[sizeof(longname) - 1] = '\0';
	check_eq("exec-too-big", sys_env_exec(longname, NULL), -E_TOO_BIG);
	check_eq("exec-not-found", sys_env_exec("no-such-program", NULL), -E_NOT_FOUND);
	check_eq("exec-bad-elf", sys_env_exec("badelf", NULL), -E_BAD_ELF);
	shared[0] = shared[1] = 0;
	long pid = fork();
	if (pid == 0) {
		while (shared[0] == 0)
			sys_yield();
		long r = sys_env_exec("hello", "never");
		exit(r == -E_QUOTA ? 0 : 1); /* still us: nothing changed */
	}
	struct quota_info qi;
	sys_env_quota((envid_t)pid, &qi);
	check_eq(
		"exec-quota",
		sys_env_set_quota((envid_t)pid, QUOTA_PAGES, qi.qi_used[QUOTA_PAGES] + 4, CAP_SELF),
		0);
	shared[0] = 1;
	check_eq("exec-no-room-refused-alive", wait(pid), 0);
}

/* page_bind_batch applies all or nothing (finding 13). */
static void batch_all_or_nothing(void)
{
	long kid = sys_env_fork(CAP_SELF);
	check_eq("batch-quota", sys_env_set_quota((envid_t)kid, QUOTA_BINDINGS, 3, CAP_SELF), 0);
	long ppn = sys_page_alloc(PPN_ANY, CAP_SELF);
	struct bind_req reqs[5];
	for (int i = 0; i < 5; i++)
		reqs[i] =
			(struct bind_req){ VA + (uint64_t)i * PAGE_SIZE, (uint64_t)ppn, BIND_READ };
	check_eq("batch-over-quota", sys_page_bind_batch((envid_t)kid, reqs, 5, CAP_SELF),
		 -E_QUOTA);
	check_eq("batch-none-applied", (long)uenvs[ENVX(kid)].env_bindings, 0);
	check_eq("batch-within", sys_page_bind_batch((envid_t)kid, reqs, 3, CAP_SELF), 3);
	/* rebinding bound vas needs no new room */
	for (int i = 0; i < 3; i++)
		reqs[i].br_rights = BIND_READ | BIND_WRITE;
	check_eq("batch-rebind", sys_page_bind_batch((envid_t)kid, reqs, 3, CAP_SELF), 3);
	sys_env_destroy((envid_t)kid, CAP_SELF);
	sys_env_wait((envid_t)kid);
	sys_page_free((uint64_t)ppn, CAP_SELF);
}

/* Binding our own text page to the limit leaves room for the loader
 * (finding 10): others still start this program. */
static void refs_lockout(void)
{
	long b = sys_page_lookup((uint64_t)&refs_lockout);
	check("text-bound", b > 0);
	uint64_t ppn = (uint64_t)b >> PAGE_SHIFT;
	static struct bind_req reqs[BIND_BATCH_MAX];
	uint64_t n = 0;
	long r = 0;
	while (r >= 0) {
		for (int i = 0; i < BIND_BATCH_MAX; i++)
			reqs[i] = (struct bind_req){ VA + (n + (uint64_t)i) * PAGE_SIZE, ppn,
						     BIND_READ };
		r = sys_page_bind_batch(0, reqs, BIND_BATCH_MAX, CAP_SELF);
		if (r >= 0)
			n += BIND_BATCH_MAX;
	}
	while ((r = sys_page_bind(0, VA + n * PAGE_SIZE, ppn, BIND_READ, CAP_SELF)) == 0)
		n++;
	/* past our own binding limit: on in a child, as a family would */
	long helper = sys_env_fork(CAP_SELF);
	for (uint64_t i = 0; r == -E_NO_MEM && i < 4096; i++)
		if ((r = sys_page_bind((envid_t)helper, VA + i * PAGE_SIZE, ppn, BIND_READ,
				       CAP_SELF)) == 0)
			r = -E_NO_MEM;
	check_eq("text-refs-stop", r, -E_BUSY);
	check_eq("text-refs-at-user-max", upages[ppn].pg_refs, UINT16_MAX - NENV);
	long kid = sys_env_create("test_envcalls", "exit", CAP_SELF);
	check("program-still-starts", kid > 0);
	if (kid > 0)
		check_eq("program-ran", sys_env_wait((envid_t)kid), 0);
	sys_env_destroy((envid_t)helper, CAP_SELF);
	sys_env_wait((envid_t)helper);
	for (uint64_t done = 0; done < n;) {
		uint64_t k = MIN(n - done, (uint64_t)BIND_BATCH_MAX);
		for (uint64_t i = 0; i < k; i++)
			reqs[i] = (struct bind_req){ VA + (done + i) * PAGE_SIZE, PPN_NONE_REQ, 0 };
		sys_page_bind_batch(0, reqs, k, CAP_SELF);
		done += k;
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "exit"))
		return 0;
	shared = vm_alloc_shared(PAGE_SIZE);
	set_regs_and_start();
	fork_errors();
	exec_errors();
	batch_all_or_nothing();
	refs_lockout();
	return test_finish();
}
