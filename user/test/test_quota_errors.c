/*
 * E_QUOTA at every charge point: a child family whose creator has set one
 * of its limits to exactly what it holds asks for one more of that kind,
 * itself, and must hear E_QUOTA - "your family is at a limit set for it" -
 * not the code for a machine that is out (E_NO_MEM, E_FULL,
 * E_NO_FREE_ENV). The difference matters: E_NO_MEM means the kernel is
 * asking others for pages back and a retry may work; E_QUOTA means nothing
 * will change until the family gives something back itself.
 */
#include <inc/dpf.h>
#include <inc/slice.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>
#include <lib/base/wakeup.h>

#define VA 0x0000330000000000UL /* clear of lib/posix's fixed addresses */

static volatile uint64_t *shared; /* [0] go, [1] ready, [2] result */

/* r0 = 0 */
static const struct bpf_insn never[] = { BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN() };

/* What the child does before its creator sets the limit: everything the
 * attempt needs but the one charge (and every page it will write, so no
 * copy-on-write fault needs a page once the limit is set). */
static long prepare(unsigned kind)
{
	if (kind == QUOTA_BINDINGS || kind == QUOTA_RINGS) {
		long ppn = sys_page_alloc(PPN_ANY, CAP_SELF);
		if (ppn < 0)
			return ppn;
		if (kind == QUOTA_RINGS)
			return sys_page_bind(0, VA, (uint64_t)ppn, BIND_READ | BIND_WRITE,
					     CAP_SELF);
		return ppn;
	}
	if (kind == QUOTA_GUARDS) {
		uint16_t name[1] = { 0x6a6a };
		return sys_cap_derive(CAP_SELF, 5, CAP_ALL, name, 1);
	}
	return 0;
}

/* The one charge past the limit (how: the call that makes it, when a kind
 * has more than one). */
static long attempt(unsigned kind, long prepared, int how)
{
	switch (kind) {
	case QUOTA_KEYS: {
		if (how == 1)
			return sys_env_fork(CAP_SELF); /* the child's own key */
		uint16_t name[1] = { 0x6b6b };
		return sys_cap_derive(CAP_SELF, 6, CAP_R, name, 1); /* an empty slot */
	}
	case QUOTA_PAGES: return sys_page_alloc(PPN_ANY, CAP_SELF);
	case QUOTA_GUARDS: return sys_page_alloc(PPN_ANY, 5); /* a name no page has yet */
	case QUOTA_BINDINGS:
		return sys_page_bind(0, VA + PAGE_SIZE, (uint64_t)prepared, BIND_READ, CAP_SELF);
	case QUOTA_SLICES: return sys_slice_alloc(0, SLICE_ANY, 0, CAP_SELF);
	case QUOTA_FILTERS: {
		struct dpf_filter f = { .df_natoms = 1 };
		f.df_atoms[0] = DPF_EQ(12, 2, 0xffff, 0x88b6); /* a local experimental type */
		return sys_net_filter_add(&f, CAP_SELF);
	}
	case QUOTA_RINGS: return sys_net_ring_attach((void *)VA, 1);
	case QUOTA_PROGS: return wakeup_load(never, ARRAY_SIZE(never), NULL, 0, NULL);
	case QUOTA_ENVS: return sys_env_fork(CAP_SELF);
	}
	return -E_INVAL;
}

static void refused(const char *name, unsigned kind, int how)
{
	shared[0] = shared[1] = shared[2] = 0;
	long pid = fork();
	if (pid == 0) {
		long p = prepare(kind);
		shared[2] = (uint64_t)p;
		shared[1] = 1;
		while (shared[0] == 0)
			sys_yield();
		if (p >= 0)
			shared[2] = (uint64_t)attempt(kind, p, how);
		shared[1] = 2;
		for (;;) /* exit could need a page the limit refuses: be destroyed */
			sys_env_sleep(UINT64_MAX);
	}
	while (shared[1] == 0)
		sys_yield();
	struct quota_info qi;
	sys_env_quota((envid_t)pid, &qi);
	sys_env_set_quota((envid_t)pid, kind, qi.qi_used[kind], CAP_SELF);
	shared[0] = 1;
	uint64_t until = ukinfo->ki_ticks + 20 * ukinfo->ki_tick_hz;
	while (shared[1] != 2 && ukinfo->ki_ticks < until)
		sys_yield();
	check_eq(name, (long)shared[2], -E_QUOTA);
	sys_env_quota((envid_t)pid, &qi);
	char held[64];
	snprintf(held, sizeof(held), "%s.nothing-charged", name);
	check(held, qi.qi_used[kind] <= qi.qi_limit[kind]);
	sys_env_destroy((envid_t)pid, CAP_SELF);
	sys_env_wait((envid_t)pid);
}

int main(void)
{
	shared = vm_alloc_shared(PAGE_SIZE);
	refused("pages", QUOTA_PAGES, 0);
	refused("guards", QUOTA_GUARDS, 0);
	refused("bindings", QUOTA_BINDINGS, 0);
	refused("slices", QUOTA_SLICES, 0);
	refused("filters", QUOTA_FILTERS, 0);
	refused("rings", QUOTA_RINGS, 0);
	refused("progs", QUOTA_PROGS, 0);
	refused("envs", QUOTA_ENVS, 0);
	refused("keys", QUOTA_KEYS, 0);
	refused("keys-own-key-of-a-child", QUOTA_KEYS, 1);

	/* The env's own page limit (env_set_limit) is a limit its creator set
	 * too: E_QUOTA as well (test_revoke's alloc-at-limit). And the
	 * machine's own limits still say so: a key ring with no free slot
	 * is E_FULL, not E_QUOTA (test_caps). */
	return test_finish();
}
