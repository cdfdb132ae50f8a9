/*
 * Quotas by family: what an env and all its descendants may hold together.
 *
 * Every kernel resource an env can consume is charged to its family's
 * account and to the account of every ancestor's family above it, so an
 * env cannot escape a limit by creating children: its children charge the
 * same accounts. The first env's account holds the whole machine; a new
 * env's limits start at QUOTA_SHARE_NUM / QUOTA_SHARE_DEN of its creator's
 * (so one child family never takes everything its parent has) - but for
 * pages, which revocation can take back, where it starts with its creator's
 * whole limit - and the creator may set them (sys_env_set_quota) as soon as
 * the child exists.
 * doc/design.md, "Accounting by family", explains the model.
 */
#ifndef EXO_INC_QUOTA_H
#define EXO_INC_QUOTA_H

#include <inc/types.h>

enum quota_kind {
	QUOTA_PAGES = 0,  /* physical pages owned: user pages, page tables,
			     kernel pages kept for it, downloaded code */
	QUOTA_GUARDS,     /* entries of the page-guard table its page_allocs made */
	QUOTA_BINDINGS,   /* software-TLB bindings (the global pool) */
	QUOTA_SLICES,     /* time-slice slots, on all CPUs together */
	QUOTA_FILTERS,    /* packet-filter trie: 1 + atoms per filter */
	QUOTA_RINGS,      /* network receive rings */
	QUOTA_PROGS,      /* downloaded programs loaded */
	QUOTA_ENVS,       /* env slots, and accounts of dead envs that still
			     have live descendants or charges */
	QUOTA_KEYS,       /* keys held in its envs' key rings, each env's own
			     key (CAP_SELF at creation) included */
	QUOTA_DCACHE,     /* entries of the disk's data-cache registry its
			     envs' pages hold (sys_disk_cache) */
	QUOTA_KINDS
};

/* A new family's default limit: this share of its creator's limit. */
#define QUOTA_SHARE_NUM 3
#define QUOTA_SHARE_DEN 4

/* A family's limits and what it holds now (sys_env_quota). */
struct quota_info {
	uint64_t qi_limit[QUOTA_KINDS];
	uint64_t qi_used[QUOTA_KINDS];   /* the family's, descendants included */
	uint64_t qi_code_units;          /* budget units its downloaded code spent
					    in the kernel (predicates, handlers) */
	uint64_t qi_code_denied;         /* runs skipped: its per-tick share was spent */
};

#endif
